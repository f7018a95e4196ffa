"""The operator dashboard's policy-lab panels: the disparity audit's flagged groups of a run, and drift alerts
between each policy's last two runs (docs/policy-lab.md). Both are kept per run in memory: a finished run never
changes, so the dashboard computes them once."""

from __future__ import annotations

from typing import Any

from socialcredit.registry.reporting.disparity import disparity_audit
from socialcredit.registry.reporting.drift import latest_drift
from socialcredit.store import Store

__all__ = ["PANEL_ROWS", "lab_panels"]

PANEL_ROWS = 12  # the most extreme flagged groups shown; `policy lint --db` lists every one
_KEPT = 32
_AUDITS: dict[tuple[str, int], dict[str, Any]] = {}
_DRIFTS: dict[tuple[str, tuple[int, ...]], list[dict[str, Any]]] = {}


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> Any:
    if len(cache) >= _KEPT:
        cache.pop(next(iter(cache)))
    cache[key] = value
    return value


def lab_panels(store: Store, run_id: int) -> dict[str, Any]:
    """``disparity``: the run's flagged groups (warnings first, at most :data:`PANEL_ROWS`), how many there are in
    all; ``drift``: every policy's drift between its last two runs, with its alerts."""
    key = (store.store_id, run_id)
    audit = _AUDITS.get(key) or _remember(_AUDITS, key, disparity_audit(store, run_id))
    finished = tuple(
        int(r[0])
        for r in store.execute("SELECT run_id FROM score_runs WHERE finished_at IS NOT NULL ORDER BY 1").fetchall()
    )
    dkey = (store.store_id, finished)
    drifts = _DRIFTS.get(dkey)
    if drifts is None:
        drifts = _remember(_DRIFTS, dkey, latest_drift(store))
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
