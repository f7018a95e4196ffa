"""A live pass and a score run agree: any set of subjects rescored live on an unchanged store gets the rows the run
gave them (score, tier, dimensions, rank and percentile from the histogram, reasons).

The live pass reads only its subjects' rows of the state and runs the compiled stages over them; these subjects are
drawn by hypothesis, so a stage that depended on rows outside the pass (or dropped a restriction it needed) would
give another row for some draw.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api_helpers import scored_example
from socialcredit.registry.decisions.live import rescore
from socialcredit.registry.decisions.snapshot import Snapshot
from socialcredit.store import Store


class World:
    """The scored store, its snapshot and the run's rows (a short repr: hypothesis prints it on a failure)."""

    def __init__(self, store: Store, snap: Snapshot, rows: dict[str, Any], reasons: dict[str, Any]) -> None:
        self.store, self.snap, self.rows, self.reasons = store, snap, rows, reasons
        self.ids = sorted(rows)

    def __repr__(self) -> str:
        return f"World(run {self.snap.run_id}, {len(self.ids)} subjects)"


_COMPARED = ("kind", "profession", "age", "dims", "total", "score", "tier", "tier_rank", "rank", "percentile")


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp: Path = tmp_path_factory.mktemp("live-agrees")
    store = scored_example(tmp)
    snap = Snapshot.load(store, "beijing", explain=True)
    run = {str(r["subject_id"]): r for r in store.rows("SELECT * FROM run_results WHERE run_id = ?", [snap.run_id])}
    # Every rule that gave or took points, as run_reasons ranks them (a live row holds them all: a refusal tells the
    # rules that lowered the score most); the first four are the run's principal reasons.
    reasons: dict[str, list[tuple[str, float]]] = {}
    ranked = (
        "SELECT subject_id, rule_id, points FROM run_rule_points WHERE run_id = ? AND points <> 0 "
        "ORDER BY subject_id, abs(points) DESC, rule_id"
    )
    for r in store.rows(ranked, [snap.run_id]):
        reasons.setdefault(str(r["subject_id"]), []).append((str(r["rule_id"]), float(r["points"])))
    principal: dict[str, list[tuple[str, float]]] = {}
    for r in store.rows("SELECT * FROM run_reasons WHERE run_id = ? ORDER BY subject_id, position", [snap.run_id]):
        principal.setdefault(str(r["subject_id"]), []).append((str(r["rule_id"]), float(r["points"])))
    assert {sid: ranked_points[:4] for sid, ranked_points in reasons.items()} == principal
    yield World(store, snap, run, reasons)
    store.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=40))
def test_any_subjects_rescored_live_get_the_rows_of_the_run(scored: World, picks: list[int]) -> None:
    store, snap = scored.store, scored.snap
    subjects = list(dict.fromkeys(scored.ids[i % len(scored.ids)] for i in picks))
    out = rescore(store, snap.loaded, snap.as_of, subjects, snap.histogram, snap.old_scores(subjects), fold=False)
    assert out is not None
    _watermark, rows, histogram = out
    assert sorted(rows) == sorted(subjects)
    assert histogram.equals(snap.histogram)  # nobody moved
    for sid in subjects:
        live, stored = rows[sid].result, scored.rows[sid]
        assert {k: live[k] for k in _COMPARED} == {k: stored[k] for k in _COMPARED}, sid
        assert rows[sid].reasons == scored.reasons.get(sid, []), sid
