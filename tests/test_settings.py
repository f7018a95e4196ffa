"""One settings object: every SOCIALCREDIT_* variable the package reads is a documented field, read at call time."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from socialcredit.clock import resolve_today
from socialcredit.errors import SocialCreditError
from socialcredit.matchmaking.settings import DEFAULT_MATCH_DB, DEFAULT_REGISTRY_URL
from socialcredit.settings import Settings, env_name, get_settings
from socialcredit.store import DEFAULT_DB, KEY_ENV

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "settings.md"
# A row of the table in docs/settings.md: | `SOCIALCREDIT_X` | default | meaning |
ROW = re.compile(r"^\|\s*`(SOCIALCREDIT_[A-Z_]+)`\s*\|([^|]*)\|([^|]*)\|", re.MULTILINE)
# Read by the test suite only (docs/settings.md says so), not by the package.
TEST_ONLY = {"SOCIALCREDIT_REQUIRE_SPARK", "SOCIALCREDIT_REQUIRE_BROWSER", "SOCIALCREDIT_SCREENSHOTS"}


def _documented() -> dict[str, tuple[str, str]]:
    return {m[1]: (m[2].strip(), m[3].strip()) for m in ROW.finditer(DOC.read_text(encoding="utf-8"))}


def test_every_field_has_a_description() -> None:
    undescribed = [name for name, f in Settings.model_fields.items() if not (f.description or "").strip()]
    assert undescribed == [], f"settings fields without a description: {undescribed}"


def test_docs_table_lists_every_field_and_no_other() -> None:
    fields = {env_name(name) for name in Settings.model_fields}
    documented = _documented()
    assert sorted(fields - documented.keys()) == [], "settings missing from docs/settings.md"
    assert sorted(documented.keys() - fields) == [], "docs/settings.md names variables that are not settings"
    assert all(meaning for _default, meaning in documented.values())


def test_docs_defaults_match_the_fields() -> None:
    documented = _documented()
    for name, f in Settings.model_fields.items():
        shown = documented[env_name(name)][0]
        assert shown == ("unset" if f.default is None else f"`{f.default}`"), name


def test_every_variable_named_in_the_package_is_a_setting() -> None:
    src = ROOT / "src" / "socialcredit"
    name = re.compile(r"\bSOCIALCREDIT_[A-Z][A-Z_]*\b(?!\*)")  # not a family such as SOCIALCREDIT_REQUIRE_*
    named = {m for p in src.rglob("*.py") for m in name.findall(p.read_text("utf-8"))}
    fields = {env_name(name) for name in Settings.model_fields}
    assert sorted(named - fields - TEST_ONLY) == [], "the package names variables that are not settings"


def test_defaults_agree_with_the_constants_that_name_them(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SOCIALCREDIT_DB", "SOCIALCREDIT_MATCHMAKING_DB", "SOCIALCREDIT_REGISTRY_URL"):
        monkeypatch.delenv(name, raising=False)
    s = get_settings()
    assert (s.db, s.matchmaking_db, s.registry_url) == (DEFAULT_DB, DEFAULT_MATCH_DB, DEFAULT_REGISTRY_URL)
    # The constants themselves, as the docs name them (the store's DEFAULT_DB is the settings' own object).
    assert (Path("socialcredit.duckdb"), "SOCIALCREDIT_DB_KEY") == (DEFAULT_DB, KEY_ENV)


def test_read_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOCIALCREDIT_TODAY", raising=False)
    monkeypatch.setenv("SOCIALCREDIT_MEMORY_LIMIT", "1GB")
    assert get_settings().today is None
    assert get_settings().memory_limit == "1GB"
    monkeypatch.setenv("SOCIALCREDIT_TODAY", "2026-02-01")
    assert get_settings().today == dt.date(2026, 2, 1)
    assert resolve_today() == dt.date(2026, 2, 1)
    assert resolve_today(dt.date(2025, 1, 1)) == dt.date(2025, 1, 1)
    monkeypatch.setenv("SOCIALCREDIT_TODAY", "")  # empty is unset
    assert resolve_today() == dt.date.today()


def test_a_bad_value_is_a_plain_error_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for bad, said in [
        ("2026-13-01", "is not a date: a year has 12 months"),
        ("2026-02-30", "is not a date: February 2026 has 28 days"),
        ("1767225600", "is not a date of the form YYYY-MM-DD"),
        ("tomorrow", "is not a date of the form YYYY-MM-DD"),
        ("2026-W50-1", "is not a date of the form YYYY-MM-DD"),  # was taken (Python's fromisoformat), as 20261230
        # outside the registry's dates: the daily job of 9999-12-31 purged every record
        ("9999-12-31", "is out of range: the registry's dates run from 1990-01-01 to 2199-12-31"),
        ("1989-12-31", "is out of range: the registry's dates run from 1990-01-01 to 2199-12-31"),
    ]:
        monkeypatch.setenv("SOCIALCREDIT_TODAY", bad)
        with pytest.raises(SocialCreditError) as info:
            resolve_today()
        assert str(info.value) == f"SOCIALCREDIT_TODAY={bad!r} {said}"


def test_a_number_out_of_bounds_is_said_after_a_colon(monkeypatch: pytest.MonkeyPatch) -> None:
    # pydantic's own sentence followed the value without a break: "SOCIALCREDIT_MAX_NESTING='-1' Input should be …"
    monkeypatch.setenv("SOCIALCREDIT_MAX_NESTING", "-1")
    with pytest.raises(SocialCreditError) as info:
        get_settings()
    assert str(info.value) == "SOCIALCREDIT_MAX_NESTING='-1': Input should be greater than or equal to 4"


def test_keys_are_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCIALCREDIT_DB_KEY", "s3cret-key")
    monkeypatch.setenv("SOCIALCREDIT_MATCHMAKING_KEY", "sc_matchmaking")
    monkeypatch.setenv("SOCIALCREDIT_NEW_DB_KEY", "n3xt-key")
    s = get_settings()
    assert (s.key(), s.new_key()) == ("s3cret-key", "n3xt-key")
    assert all(secret not in repr(s) for secret in ("s3cret-key", "sc_matchmaking", "n3xt-key"))


def test_a_name_in_any_case_and_values_from_their_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """The variables' text is validated by a plain pydantic model (not pydantic-settings, as before): a name in
    lower case is read too, and a number and a yes or no are read from their text."""
    monkeypatch.setenv("socialcredit_max_nesting", "5")
    monkeypatch.setenv("SOCIALCREDIT_SMTP_STARTTLS", "true")
    monkeypatch.setenv("SOCIALCREDIT_OUTBOX_PAGE", "0")
    monkeypatch.setenv("SOCIALCREDIT_SMTP_PORT", "")  # empty is unset: the default
    s = get_settings()
    assert (s.max_nesting, s.smtp_starttls, s.outbox_page, s.smtp_port) == (5, True, False, 25)
