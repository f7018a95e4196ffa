"""The score history of a resident scored by a what-if between two ordinary runs (registry/reporting/history.py):
the changes run between the ordinary runs, the live view is of the run in force, and the what-if is shown marked.

tests/due_world.py's Beijing on the registry's clock of 2026-04-20; 张三 (A) has the unfulfilled judgment J1
(court.unfulfilled −100, no decay, the blacklist):
* run 1, 2026-02-01: 900.
* run 2, 2026-04-02, after a speeding ticket T2 of 2026-03-01 (traffic.minor −5, counted for 365 days): 895.
* run 3, a what-if as of 2027-06-01 (after today): T2 no longer counts: 900.
* run 4, 2026-04-20, after the court records J1 fulfilled: 1000 − 5 = 995, +100 from run 2 (not +95 from the
  what-if), off the blacklist.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, cast

import pytest

from api_helpers import serve
from due_world import JUDGMENT, A, build, ingest, score_on_its_day, write_csv
from page_text import visible_text
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.decisions.live import LiveView
from socialcredit.registry.reporting.history import score_history
from socialcredit.registry.reporting.resident_file import export_file
from socialcredit.registry.scoring.policies import resolve_policy
from web_helpers import sign_in

D = dt.date


def _view(score_now: int, watermark: int) -> LiveView:
    return LiveView(
        result={"score": score_now, "tier": "B", "lists": ["blacklist"]},
        reasons=[],
        entries=[],
        rank=3,
        percentile=0.5,
        watermark=watermark,
    )


def _runs(history: dict[str, Any]) -> list[tuple[Any, ...]]:
    [policy] = history["policies"]
    return [
        (r["run_id"], r["standing"], r["score"], r["change"] and (r["change"]["from_run_id"], r["change"]["score"]))
        for r in policy["runs"]
    ]


def test_a_what_if_is_marked_and_the_changes_and_live_view_stand_on_the_run_in_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TODAY_ENV, "2026-04-20")
    store = build(tmp_path)
    try:
        beijing = resolve_policy(store, "beijing")
        score_on_its_day(store, beijing, D(2026, 2, 1))
        ticket = [["T2", A, "traffic_ticket", "2026-03-01", "speeding", "200", "paid"]]
        header = ["record_id", "subject_id", "record_type", "event_date", "offence", "fine", "status"]
        ingest(store, write_csv(tmp_path / "ticket.csv", header, ticket), "traffic_police", D(2026, 3, 1))
        score_on_its_day(store, beijing, D(2026, 4, 2))
        score_on_its_day(store, beijing, D(2027, 6, 1))
        # the service's snapshots hold the run in force, run 2: A rescored live at 890
        live = {2: _view(890, 99)}
        history = score_history(store, A, live=cast(Any, live))
        assert _runs(history) == [
            (3, "what_if", 900, (2, 5)),
            (2, "ordinary", 895, (1, -5)),
            (1, "ordinary", 900, None),
        ]
        [policy] = history["policies"]
        assert policy["in_force"] == 2
        assert policy["live"] is not None
        assert (policy["live"]["run_id"], policy["live"]["score"], policy["live"]["change"]["score"]) == (2, 890, -5)
        paid = [["J1", A, "court_judgment", "2026-01-10", "civil", "12000", "fulfilled", "true", "true"]]
        ingest(store, write_csv(tmp_path / "paid.csv", [*JUDGMENT, "correction"], paid), "courts", D(2026, 4, 10))
        score_on_its_day(store, beijing, D(2026, 4, 20))
        history = score_history(store, A, lang="zh")
        assert _runs(history) == [
            (4, "ordinary", 995, (2, 100)),
            (3, "what_if", 900, (2, 5)),
            (2, "ordinary", 895, (1, -5)),
            (1, "ordinary", 900, None),
        ]
        [policy] = history["policies"]
        assert [x["list"] for x in policy["runs"][0]["change"]["lists_left"]] == ["blacklist"]
        assert (policy["in_force"], policy["live"]) == (4, None)
        # the resident's own file: every run with its standing
        exported = export_file(store, A)
        assert [(r["run_id"], r["standing"]) for r in exported["run_results"]] == [
            (1, "ordinary"),
            (2, "ordinary"),
            (3, "what_if"),
            (4, "ordinary"),
        ]
        # the page marks the what-if, in both languages
        resident = issue_key(store, "resident", "张三", subject=A).token
        with serve(create_app(tmp_path / "due.duckdb", store=store)) as client:
            sign_in(client, resident)
            en = visible_text(client.get("/me/history?lang=en").text)
            zh = visible_text(client.get("/me/history?lang=zh").text)
        said = "what-if (dated ahead): no decision or list stands on this run; its change is from the run before it."
        assert en.count(said) == 1
        assert (
            zh.count("假设评分（日期在当日之后）：决定和名单都不以这次评分为准；这里的变化是与它之前的评分相比。") == 1
        )
    finally:
        store.close()
