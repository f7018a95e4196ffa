"""A count and its noun agree in English: "1 candidate meets", "1 rule", "1 record" ("1 candidates", "1 rules" and
"1 records" were printed). The console script run in a subprocess, the pages' words and the limits' words."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from api_helpers import free_port
from socialcredit.identifiers import make_ric
from socialcredit.languages import grouped, yuan

CLI = shutil.which("socialcredit", path=str(Path(sys.executable).parent)) or "socialcredit"


def sc(*args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"COLUMNS": "200"}
    return subprocess.run([CLI, *args], capture_output=True, text=True, env=env, timeout=120, check=False)


@pytest.mark.parametrize(
    ("n", "noun", "plural", "text"),
    [
        (0, "row", None, "0 rows"),
        (1, "row", None, "1 row"),
        (2, "row", None, "2 rows"),
        (1, "entry", "entries", "1 entry"),
        (12, "entry", "entries", "12 entries"),
    ],
)
def test_counted_agrees_with_its_count(n: int, noun: str, plural: str | None, text: str) -> None:
    from socialcredit.languages import counted

    assert counted(n, noun, plural) == text
    assert counted(1234, "record", grouped=True) == "1,234 records"


@pytest.mark.parametrize(
    ("n", "text", "en", "zh"),
    [
        (3000, "3,000", "3,000 yuan", "3,000 元"),
        (87952, "87,952", "87,952 yuan", "87,952 元"),
        (39367.29, "39,367.29", "39,367.29 yuan", "39,367.29 元"),
        (12000.004, "12,000", "12,000 yuan", "12,000 元"),  # less than half a fen: a whole sum
        (3000.5, "3,000.50", "3,000.50 yuan", "3,000.50 元"),
        (999, "999", "999 yuan", "999 元"),
    ],
)
def test_a_number_and_a_sum_are_written_as_the_pages_write_them(n: float, text: str, en: str, zh: str) -> None:
    """One helper for the pages' format, the command line's and the API's texts: "87,952" (the command line wrote
    "87 952 yuan" and "排名 3000" until 2026-12-06)."""
    assert (grouped(n), yuan(n), yuan(n, "zh")) == (text, en, zh)


def test_matches_say_one_candidate_and_one_interest(tmp_path: Path) -> None:
    db = str(tmp_path / "m.duckdb")

    def mm(*args: str) -> subprocess.CompletedProcess[str]:
        return sc("matchmaking", *args, "--db", db)

    about = ["--district", "海淀区", "--education", "bachelor", "--job", "employed", "--income", "10k_20k"]
    him = make_ric("110108", dt.date(1994, 3, 15), 1)
    her = make_ric("110105", dt.date(1995, 6, 1), 2)
    assert mm("register", "--subject", him, "--name", "王磊", *about, "--interest", "tea").returncode == 0
    assert mm("register", "--subject", her, "--name", "李娜", *about, "--interest", "tea").returncode == 0
    assert mm("prefs", "1", "--seeks", "F,M", "--age", "18-60", "--any-district").returncode == 0
    # neither client shares a tier: the registry is not asked
    url = f"http://127.0.0.1:{free_port()}"
    ranked = mm("matches", "1", "--lang", "en", "--registry-url", url, "--key", "sc_0_x")
    assert ranked.returncode == 0, ranked.stderr
    assert ranked.stdout.splitlines()[0] == "1 candidate meets both sides' preferences; best 1:"
    assert "1 of 1 interest shared: tea" in ranked.stdout


def test_policy_check_counts_one_rule_and_one_service(tmp_path: Path) -> None:
    policy = tmp_path / "one.yaml"
    policy.write_text(
        """\
id: one
version: "1"
name: {zh: 一, en: one}
scale: {base: 100, min: 0, max: 200}
tiers:
  - {id: low, min: 0}
dimensions:
  - {id: civic, name: {zh: 公益, en: civic}}
rules:
  - id: tax.paid
    record_type: tax_payment
    when: "status == 'paid'"
    dimension: civic
    points: 1
    reason: {code: TAX_PAID, zh: 按时纳税, en: taxes paid}
services:
  - id: anything
    name: {zh: 任何, en: anything}
    grant_if: "score >= 0"
    refusal: {zh: 不予办理。, en: Refused.}
""",
        encoding="utf-8",
    )
    checked = sc("policy", "check", str(policy), "--db", str(tmp_path / "none.duckdb"))
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith(f"{policy}: policy one version 1 is valid: 1 rule, 0 lists, 1 service (sha256 ")


@pytest.mark.parametrize(
    ("key", "values", "one", "two"),
    [
        ("records_caption", {}, "1 record", "2 records"),
        ("inquiries_caption", {}, "1 inquiry", "2 inquiries"),
        ("search_found", {"q": "x"}, "“x”: 1 subject found", "“x”: 2 subjects found"),
        ("public_found", {"q": "x"}, "“x”: 1 published entry", "“x”: 2 published entries"),
        (
            "cases_past_due",
            {},
            "1 more listing has passed its effective date: the next daily job (socialcredit due run) puts it in "
            "effect; it is not counted as in grace.",
            "2 more listings have passed their effective date: the next daily job (socialcredit due run) puts them in "
            "effect; they are not counted as in grace.",
        ),
    ],
)
def test_the_pages_count_in_the_singular_for_one(key: str, values: dict[str, str], one: str, two: str) -> None:
    from socialcredit.web.i18n import translate

    assert translate("en", key, n=1, **values) == one
    assert translate("en", key, n=2, **values) == two


def test_a_change_of_one_point_on_the_history_page() -> None:
    from socialcredit.web.i18n import translate

    assert translate("en", "history_score_change", d="+1") == "+1 point since the run before"
    assert translate("en", "history_score_change", d="−2") == "−2 points since the run before"
    assert translate("en", "points_value", points="-1") == "-1 point"
