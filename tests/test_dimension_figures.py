"""A dimension's points, floor and cap are written one way for people on every face (policy/words.py ``figure``):
a whole number without ".0", else at most two decimals without trailing zeros, with the minus sign of the text
around it. Until 2026-12-07 one dimension read -200 in `show`'s points, -200.0…200.0 as its cap, -200.0 on the
pages' score cards, and a cap of -200.126 as written on the policy pages and in `policy explain`. A policy's own
numbers (a floor or cap) keep every digit, as its rules' points and tier bounds do, so that a resident can check a
score by hand (its review: the cap read -200.13); a dimension's points are rounded as the JSON's.

World (tests/due_world.py): 张三 (A) scored under a Sesame whose credit history may fall to -200.126 (his judgment
costs 200 points there, within it).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from api_helpers import serving
from cli_helpers import CLI
from due_world import A, build, score_on_its_day
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.policy import builtin_policy, parse_policy
from socialcredit.policy.words import figure
from socialcredit.policy.words import policy_text as words
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.common import shown_points
from socialcredit.registry.scoring.policies import publish_policy
from web_helpers import sign_in

CREDIT = "{id: credit_history, name: {zh: 信用历史, en: credit history}, min: -200, max: 200}"


@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False))
def test_a_figure_reads_back_as_the_points_shown(value: float) -> None:
    """Every face's figure is the number the JSON shows (``shown_points``), written without ".0" or trailing zeros."""
    text = figure(value, minus="-")
    assert float(text) == shown_points(value)
    whole, _, decimals = text.lstrip("-").partition(".")
    assert whole.isdigit() and len(decimals) <= 2 and not decimals.endswith("0")
    assert figure(value) == text.replace("-", "\u2212")  # the true minus the policy pages write
    assert figure(value, grouped=True).replace(",", "") == figure(value)


@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False))
def test_a_policys_own_number_reads_back_exactly(value: float) -> None:
    """A floor or cap (``exact``) reads back as the very number the policy wrote, grouped or not."""
    assert float(figure(value, minus="-", exact=True)) == value
    assert figure(value, grouped=True, exact=True).replace(",", "") == figure(value, exact=True)


def test_not_a_number_is_written_not_raised() -> None:
    """A NaN reaching a face reads NaN, as ``shown_points`` hands it on (it raised decimal.InvalidOperation)."""
    assert (figure(float("nan")), figure(float("nan"), exact=True)) == ("NaN", "NaN")
    assert figure(shown_points(float("nan")), minus="-") == "NaN"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "SOCIALCREDIT_DB_KEY"} | {"COLUMNS": "200"}


def test_one_dimension_reads_alike_on_every_face(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TODAY_ENV, "2026-04-03")
    text = builtin_policy("sesame").text.replace('version: "2026.1"', 'version: "2026.9"', 1)
    assert CREDIT in text
    text = text.replace(CREDIT, CREDIT.replace("min: -200,", "min: -200.126,"), 1)
    (tmp_path / "sesame.yaml").write_text(text, encoding="utf-8")
    store = build(tmp_path)
    loaded = parse_policy(text, "sesame.yaml", store.catalog)
    assert publish_policy(store, loaded)
    score_on_its_day(store, loaded, dt.date(2026, 4, 2))
    # the public policy page's words (and `policy explain`'s)
    lead = next(s.lead for s in words(loaded, "en").sections if s.key == "dimension:credit_history")
    assert (
        lead
        == "The points of these rules are added up; together they count no less than −200.126 and no more than +200."
    )
    lead_zh = next(s.lead for s in words(loaded, "zh").sections if s.key == "dimension:credit_history")
    assert lead_zh == "以下各条规则的分数相加，合计最低−200.126分、最高+200分。"
    # the operators' pages: the policy's and the resident's file
    operator = issue_key(store, "operator", "operations").token
    app = create_app(store.path, store=store)
    with serving(app) as base, httpx.Client(base_url=base, timeout=60) as client:
        sign_in(client, operator)
        policy_page = client.get("/ops/policies/sesame", params={"lang": "en"}).text
        file_page = client.get(f"/ops/subjects/{A}", params={"lang": "en"}).text
    db = store.path
    store.close()
    assert "credit history <small>capped at -200.126 … 200</small>" in policy_page
    assert "<tr><td>credit history</td><td>-200</td><td>-200.126 … 200</td></tr>" in file_page
    assert "<title>credit history: -200</title>" in file_page  # the chart's bar, as the table beside it
    # the console: `show` and `policy explain --codes`
    shown = subprocess.run(
        [CLI, "show", A, "--policy", "sesame", "--db", str(db)], capture_output=True, text=True, env=_env(), check=True
    ).stdout.splitlines()
    assert [line.split() for line in shown if line.startswith(" credit history")] == [
        ["credit", "history", "-200", "-200.126…200"]
    ]
    explained = subprocess.run(
        [CLI, "policy", "explain", str(tmp_path / "sesame.yaml"), "--codes"],
        capture_output=True,
        text=True,
        env=_env(),
        check=True,
    ).stdout
    assert "\ncredit history (credit_history), capped at -200.126 … 200\n" in explained
