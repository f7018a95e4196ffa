"""The operator dashboard's policy-lab panels: the disparity audit's flagged groups of a run, and drift alerts
between each policy's last two runs (docs/policy-lab.md). Both are kept per run in memory: a finished run never
changes, so the dashboard computes them once."""

from __future__ import annotations

from typing import Any

from socialcredit.registry.common import finished_runs
from socialcredit.registry.reporting.disparity import disparity_audit
from socialcredit.registry.reporting.drift import latest_drift
from socialcredit.store import Store

__all__ = ["PANEL_ROWS", "lab_panels"]

PANEL_ROWS = 12  # the most extreme flagged groups shown; `policy lint --db` lists every one
_KEPT = 32
_AUDITS: dict[tuple[Any, ...], dict[str, Any]] = {}
_DRIFTS: dict[tuple[tuple[Any, ...], ...], list[dict[str, Any]]] = {}


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> Any:
    if len(cache) >= _KEPT:
        cache.pop(next(iter(cache)))
    cache[key] = value
    return value


def lab_panels(store: Store, run_id: int) -> dict[str, Any]:
    """``disparity``: the run's flagged groups (warnings first, at most :data:`PANEL_ROWS`), how many there are in
    all; ``drift``: every policy's drift between its last two runs, with its alerts."""
    finished = finished_runs(store)  # each run by its finish too: copies of one store number their runs alike
    run = next((r for r in finished if r[1] == run_id), None)
    audit = (_AUDITS.get(run) if run else None) or disparity_audit(store, run_id)
    if run:  # an unfinished run may still change
        _remember(_AUDITS, run, audit)
    drifts = _DRIFTS.get(finished)
    if drifts is None:
        drifts = _remember(_DRIFTS, finished, latest_drift(store))
    flagged = audit["flagged"]
    return {
        "disparity": {
            "run_id": run_id,
            "rows": flagged[:PANEL_ROWS],
            "flagged": len(flagged),
            "warnings": sum(f["level"] == "warning" for f in flagged),
        },
        "drift": drifts,
    }
