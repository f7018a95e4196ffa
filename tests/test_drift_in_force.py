"""The lab's drift (registry/reporting/drift.py: latest_drift) is between a policy's last two ordinary runs: a
what-if made after them is no change of the scores in force (tests/due_world.py, Beijing, the registry's clock of
2026-04-10). Runs 1 and 2 as of 2026-04-10 on the same records; run 3 a what-if as of 2027-03-01, when B's speeding
ticket T1 of 2026-02-01 no longer counts (365 days): compared with it, traffic.minor's hit rate falls from 1 in 3 to
none, an alert, though nothing in force moved."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from due_world import build, score_on_its_day
from socialcredit.clock import TODAY_ENV
from socialcredit.registry.reporting.drift import latest_drift
from socialcredit.registry.scoring.policies import resolve_policy


def test_latest_drift_leaves_a_what_if_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TODAY_ENV, "2026-04-10")
    store = build(tmp_path)
    try:
        beijing = resolve_policy(store, "beijing")
        for as_of in (dt.date(2026, 4, 10), dt.date(2026, 4, 10), dt.date(2027, 3, 1)):
            score_on_its_day(store, beijing, as_of)
        assert store.execute("SELECT run_id, standing FROM score_runs ORDER BY run_id").fetchall() == [
            (1, "ordinary"),
            (2, "ordinary"),
            (3, "what_if"),
        ]
        [drift] = latest_drift(store)
        assert (drift["policy"], drift["run_a"]["run_id"], drift["run_b"]["run_id"]) == ("beijing", 1, 2)
        assert (drift["score"]["psi"], drift["alerts"]) == (0.0, [])
    finally:
        store.close()
