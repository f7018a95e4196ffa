"""A live pass and a score run agree: any set of subjects rescored live on an unchanged store gets the rows the run
gave them (score, tier, dimensions, rank and percentile from the histogram, reasons), and the lists and grants a
decision from the run serves them, whichever of their blacklistings are in effect.

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
from socialcredit.registry.due_process.listings import effective_results
from socialcredit.registry.scoring.facts import facts_of, grants_with
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
@given(
    picks=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=40),
    known=st.sets(st.integers(min_value=0, max_value=40), max_size=40),
)
def test_any_subjects_rescored_live_get_the_rows_of_the_run(scored: World, picks: list[int], known: set[int]) -> None:
    """Whichever of them the pass is given the keys of (as a changed record carries its subject's), the others
    looked up."""
    store, snap = scored.store, scored.snap
    subjects = list(dict.fromkeys(scored.ids[i % len(scored.ids)] for i in picks))
    named = {subjects[i % len(subjects)] for i in known}
    keys = {
        str(s): int(k)
        for s, k in store.execute(
            "SELECT subject_id, subject_key FROM subject_keys WHERE subject_id IN (SELECT unnest(?))", [sorted(named)]
        ).fetchall()
    }
    assert sorted(keys) == sorted(named)
    old = snap.old_scores(subjects)
    out = rescore(store, snap.loaded, snap.as_of, subjects, snap.histogram, old, fold=False, keys=keys)
    assert out is not None
    _watermark, rows, histogram = out
    assert sorted(rows) == sorted(subjects)
    assert histogram.equals(snap.histogram)  # nobody moved
    for sid in subjects:
        live, stored = rows[sid].result, scored.rows[sid]
        assert {k: live[k] for k in _COMPARED} == {k: stored[k] for k in _COMPARED}, sid
        assert rows[sid].reasons == scored.reasons.get(sid, []), sid


class _RolledBack(Exception):
    """Ends a transaction whose changes a test only looks at."""


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    picks=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=40),
    waiting=st.sets(st.integers(min_value=0, max_value=50), max_size=8),
)
def test_live_grants_are_those_a_decision_from_the_run_serves(
    scored: World, picks: list[int], waiting: set[int]
) -> None:
    """Grants come from the compiled stages for every subject of a pass at once; a subject whose blacklisting is set
    back into its notice period (drawn) has them evaluated again on the lists decisions see. Either way they are the
    grants the run's snapshot serves (``effective_results``, in SQL) and those of the services' conditions evaluated
    in Python on the live row's facts."""
    store, snap = scored.store, scored.snap
    listed = [sid for sid in scored.ids if scored.rows[sid]["lists"]]
    assert listed, "the world has subjects on a list"
    pending = sorted({listed[i % len(listed)] for i in waiting})
    subjects = list(dict.fromkeys([*(scored.ids[i % len(scored.ids)] for i in picks), *listed]))
    run = store.rows("SELECT * FROM score_runs WHERE run_id = ?", [snap.run_id])[0]
    try:
        with store.transaction():
            store.execute(
                "UPDATE listings SET status = 'pending' WHERE policy_id = ? AND subject_id IN (SELECT unnest(?))",
                [snap.policy.id, pending],
            )
            out = rescore(
                store, snap.loaded, snap.as_of, subjects, snap.histogram, snap.old_scores(subjects), fold=False
            )
            adjusted = effective_results(store, run).to_pylist()
            raise _RolledBack
    except _RolledBack:
        pass
    assert out is not None
    rows = out[1]
    served = {str(a["subject_id"]): (list(a["lists"]), int(a["grants"])) for a in adjusted}
    assert sorted(served) == pending  # the run's own grants stand for every other subject
    for sid in subjects:
        live = rows[sid].result
        assert (live["lists"], live["grants"]) == served.get(
            sid, (scored.rows[sid]["lists"], scored.rows[sid]["grants"])
        )
        assert live["grants"] == grants_with(snap.loaded, facts_of(snap.loaded, live, snap.as_of)), sid
    for sid in pending:
        assert "blacklist" not in rows[sid].result["lists"]
