"""Two copies of one store file share a store_id and their first run ids: what the registry keeps in memory per run
(a run's size, the dashboard's disparity audit and drift) must not carry one copy's figures into the other."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from scoring_helpers import Registry, open_registry, person
from socialcredit.policy import builtin_policy
from socialcredit.registry.reporting.disparity import disparity_audit
from socialcredit.registry.reporting.drift import latest_drift
from socialcredit.registry.reporting.lab_panels import lab_panels
from socialcredit.registry.reporting.report import subject_report
from socialcredit.store import open_store

A, B, C = person(1), person(2), person(3)


def _of(registry: Registry, run_id: int) -> Any:
    (score,) = [s for s in subject_report(registry.store, A, policy_ids=["beijing"])["scores"] if s["run_id"] == run_id]
    return score["of"]


def test_copies_of_one_store_keep_their_own_run_figures(tmp_path: Path) -> None:
    first = open_registry(tmp_path / "a")
    first.register({A: None, B: None})
    base = first.score(builtin_policy("beijing")).run_id
    first.store.close()
    shutil.copytree(tmp_path / "a", tmp_path / "b")  # the store with its signing key and checkpoints
    one = Registry(open_store(tmp_path / "a" / "registry.duckdb"), tmp_path / "a")
    other = Registry(open_store(tmp_path / "b" / "registry.duckdb"), tmp_path / "b")
    try:
        assert one.store.store_id == other.store.store_id
        assert (_of(one, base), _of(other, base)) == (2, 2)
        # each copy goes its own way: the same next run id, two subjects scored in one, three in the other
        other.register({C: None})
        run_one, run_other = one.score(builtin_policy("beijing")).run_id, other.score(builtin_policy("beijing")).run_id
        assert run_one == run_other == base + 1
        assert _of(one, run_one) == 2
        assert _of(other, run_other) == 3  # was 2: the first copy's figure
        # the dashboard's panels, asked of one copy first, then of the other: each its own copy's, as computed afresh
        for registry, run_id in ((one, run_one), (other, run_other)):
            panels = lab_panels(registry.store, run_id)
            assert panels["drift"] == latest_drift(registry.store)
            assert panels["disparity"]["flagged"] == len(disparity_audit(registry.store, run_id)["flagged"])
    finally:
        one.store.close()
        other.store.close()
