"""`policy impact` on the same state: the published policy read from the scoring state kept for it at ingest
(folded up to the watermark as a run folds it), the candidate from a state built for its text at the same
watermark (registry/reporting/impact.py). The report must be the one a comparison on the records gives, count for
count and subject for subject, at several as-of dates, after random streams of corrections, withdrawals, disputes,
repairs, consents and purges (the streams of tests/test_state.py); and its published side must be what a stored
run of that policy at that date says."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab_world import AS_OF, CANDIDATE, P, build, current
from scoring_helpers import days_before
from socialcredit.clock import TODAY_ENV
from socialcredit.policy import LoadedPolicy, parse_policy
from socialcredit.registry.due_process import disputes
from socialcredit.registry.records.versions import withdraw_record
from socialcredit.registry.reporting.impact import impact
from socialcredit.registry.scoring.policies import publish_policy
from socialcredit.registry.scoring.runs import score
from socialcredit.registry.scoring.state import state_info
from socialcredit.store import Store
from test_state import PERSONS, PROPERTY_AS_OF, Stream, as_of_st, operations, property_policy, rows_st, template

__all__ = ["template"]  # the stream's registry, a fixture of tests/test_state.py


def candidate_of(current: LoadedPolicy, counts_while_open: bool) -> LoadedPolicy:
    """Another version of the stream's policy: a heavier late-tax rule, a higher floor, and the other answer to
    whether a disputed record counts while open (so its state holds other records than the published one's)."""
    text = (
        current.text.replace("points: -8", "points: -20", 1)
        .replace("score < 85", "score < 95", 1)
        .replace('version: "1"', 'version: "2"', 1)
        .replace(
            f"counts_while_open: {str(counts_while_open).lower()}",
            f"counts_while_open: {str(not counts_while_open).lower()}",
        )
    )
    assert text.count('version: "2"') == 1 and "points: -20" in text and "score < 95" in text
    return parse_policy(text, "candidate.yaml")


def without_read(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k != "read"}


def assert_current_side_is_the_stored_run(store: Store, report: dict[str, Any], run_id: int) -> None:
    """The report's published side against a stored run of it at the same date and watermark: the tiers, the
    size of every list, and every changed subject's tier, lists, services and rule points."""
    run = {str(r["subject_id"]): r for r in store.rows("SELECT * FROM run_results WHERE run_id = ?", [run_id])}
    tiers: Counter[str] = Counter()
    for m in report["tiers"]["matrix"]:
        tiers[m["from"]] += m["n"]
    assert tiers == Counter(str(r["tier"]) for r in run.values())
    listed = {
        (str(r["subject_id"]), str(r["list_id"]))
        for r in store.rows("SELECT DISTINCT subject_id, list_id FROM run_list_entries WHERE run_id = ?", [run_id])
    }
    lists = [x["list"] for x in report["lists"]]
    assert [x["before"] for x in report["lists"]] == [sum(1 for _, x in listed if x == name) for name in lists]
    services = [s["service"] for s in report["services"]]
    for row in report["changes"]:
        sid = str(row["sid"])
        assert row["tier_a"] == run[sid]["tier"]
        assert [row[f"a_l{i}"] for i in range(len(lists))] == [(sid, name) in listed for name in lists]
        for j, _service in enumerate(services):
            assert row[f"a_g{j}"] == bool(int(run[sid]["grants"]) >> j & 1)
    points = {
        (str(r["subject_id"]), str(r["rule_id"])): round(float(r["points"]), 6)
        for r in store.rows("SELECT subject_id, rule_id, points FROM run_rule_points WHERE run_id = ?", [run_id])
    }
    for change in report["point_changes"]:
        assert change["before"] == points.get((str(change["sid"]), str(change["rule_id"])))


@pytest.mark.slow
@settings(
    # four streams, not eight: one costs several CPU seconds (a stream sent, scored, then two impacts and a run at
    # each of two or three dates)
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    kind=st.sampled_from(["all", "person"]),
    counts_while_open=st.booleans(),
    first=rows_st,
    ops=st.lists(operations, min_size=1, max_size=8),
    dates=st.lists(as_of_st, min_size=2, max_size=3, unique=True),
)
def test_impact_on_the_state_equals_impact_on_the_records(
    template: Path,
    kind: str,
    counts_while_open: bool,
    first: list[tuple[int, int, int, int, bool]],
    ops: list[tuple[Any, ...]],
    dates: list[dt.date],
) -> None:
    current = property_policy(kind, counts_while_open, None)
    candidate = candidate_of(current, counts_while_open)
    with tempfile.TemporaryDirectory() as folder:
        stream = Stream(Path(folder), template)
        store = stream.store
        try:
            stream.send(first)
            publish_policy(store, current)
            score(store, current, PROPERTY_AS_OF)  # the state is built here, then kept through the stream
            for op in ops:
                stream.apply(op)
            for as_of in dates:
                on_state = impact(store, current, candidate, as_of, changes=True)
                assert on_state["read"] == {"current": "kept state", "candidate": "scratch state"}
                on_records = impact(store, current, candidate, as_of, changes=True, from_records=True)
                assert on_records["read"] == {"current": "records", "candidate": "records"}
                assert without_read(on_state) == without_read(on_records)
                run = score(store, current, as_of)
                assert run.source == "state"
                assert_current_side_is_the_stored_run(store, on_state, run.run_id)
            # nothing was kept for the candidate: it is not published
            assert state_info(store, candidate) is None
            assert store.one("SELECT count(*) FROM policies WHERE version = '2'") == 0
        finally:
            store.close()


def test_a_dispute_left_unanswered_past_its_deadline_counts_neither_in_the_report_nor_in_the_run(
    template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the property above: a record under an open dispute counts while it is open (counts_while_open), but
    a run at a date past the dispute's deadline first lapses it (the source did not answer in time: the record is
    withdrawn) and counts nothing. The report read the record as counting: its published side said 2.95 points of
    volunteering the run at that date did not give. It now writes what the date decides first, as the run does."""
    current = property_policy("person", True, None)
    candidate = candidate_of(current, True)
    stream = Stream(tmp_path, template)
    store = stream.store
    try:
        stream.send([(1, 0, 10, 8, False)])  # R1, a volunteering record of the first person, 10 days old
        publish_policy(store, current)
        score(store, current, PROPERTY_AS_OF)
        disputes.file_dispute(
            store, PERSONS[0], "civil_affairs", "R1", "Wrong.", actor="resident", today=PROPERTY_AS_OF
        )
        as_of = dt.date(2026, 6, 1)  # months past the dispute's deadline; the registry's today too
        monkeypatch.setenv(TODAY_ENV, as_of.isoformat())
        on_state = impact(store, current, candidate, as_of, changes=True)
        assert store.one("SELECT status FROM disputes") == "lapsed"
        on_records = impact(store, current, candidate, as_of, changes=True, from_records=True)
        assert without_read(on_state) == without_read(on_records)
        assert on_state["point_changes"] == []  # the record counts on neither side
        run = score(store, current, as_of)
        assert store.one("SELECT count(*) FROM run_rule_points WHERE run_id = ?", [run.run_id]) == 0
        assert_current_side_is_the_stored_run(store, on_state, run.run_id)
    finally:
        store.close()


def test_impact_reads_the_kept_state_folded_up_to_the_watermark(tmp_path: Path) -> None:
    """The hand-made world (tests/lab_world.py), scored once under CURRENT (its state built), then P2's paid tax of
    amount 1 corrected to amount 2 (folded at ingest) and P4's one tax of amount 2 withdrawn (not folded until the
    state is next read). By hand, under CURRENT: P2 100 − 15 = 85 and P6 70 are blacklisted (floor 100), P4 back at
    100 is not; under CANDIDATE (floor 80) only P6 is: one leaves."""
    reg = build(tmp_path)
    store = reg.store
    try:
        publish_policy(store, current())
        score(store, current(), AS_OF)
        row = {"record_id": "T1-2-0", "subject_id": P[2], "record_type": "tax_payment", "event_date": days_before(10)}
        fixed = reg.ingest(
            "tax_bureau", [{**row, "amount": 2, "status": "paid", "correction": "true", "certified": "true"}]
        )
        assert fixed.errors == []
        withdraw_record(store, "tax_bureau", "T2-4-0", actor="source", today=AS_OF)
        info = state_info(store, current())
        assert info is not None and info.watermark < int(store.one("SELECT value FROM counters WHERE name = 'seq'"))
        candidate = parse_policy(CANDIDATE, "candidate.yaml")
        on_state = impact(store, current(), candidate, AS_OF, changes=True)
        assert on_state["read"] == {"current": "kept state", "candidate": "scratch state"}
        blacklist = next(x for x in on_state["lists"] if x["list"] == "blacklist")
        assert (blacklist["before"], blacklist["after"], blacklist["left"], blacklist["entered"]) == (2, 1, 1, 0)
        assert [(c["sid"], c["a_l0"], c["b_l0"]) for c in on_state["changes"] if c["a_l0"] != c["b_l0"]] == [
            (P[2], True, False)
        ]
        info = state_info(store, current())
        assert info is not None and info.watermark == on_state["watermark"]  # folded, as a run folds it
        on_records = impact(store, current(), candidate, AS_OF, changes=True, from_records=True)
        assert without_read(on_state) == without_read(on_records)
        run = score(store, current(), AS_OF)
        assert run.source == "state"
        assert_current_side_is_the_stored_run(store, on_state, run.run_id)
    finally:
        store.close()
