"""The operator dashboard's policy-lab panels: the disparity audit's flagged groups of a run, and drift alerts
between each policy's last two runs (docs/policy-lab.md). Both are kept per run in memory: a finished run never
changes, so the dashboard computes them once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from socialcredit.errors import NotFoundError
from socialcredit.registry.common import finished_runs
from socialcredit.registry.due_process.public_lists import Held
from socialcredit.registry.reporting.dashboard import held_subjects as dashboard_held
from socialcredit.registry.reporting.dashboard import unapplied_subjects
from socialcredit.registry.reporting.disparity import audit_counts, audit_of, left_out_counts
from socialcredit.registry.reporting.drift import latest_drift
from socialcredit.store import Store

__all__ = ["PANEL_ROWS", "applied_audit", "lab_panels"]

PANEL_ROWS = 12  # the most extreme flagged groups shown; `policy lint --db` lists every one
_KEPT = 32
_AUDITS: dict[tuple[Any, ...], dict[str, Any]] = {}  # the plain counts (disparity.audit_counts), by finished run
_DRIFTS: dict[tuple[tuple[Any, ...], ...], list[dict[str, Any]]] = {}


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> Any:
    if len(cache) >= _KEPT:
        cache.pop(next(iter(cache)))
    cache[key] = value
    return value


def applied_audit(
    store: Store, run_id: int, held: Held | None = None, *, held_subjects: Mapping[str, list[str]] | None = None
) -> dict[str, Any]:
    """The disparity audit of run ``run_id`` with its blacklists counted as the dashboard's figures by district,
    profession and age band count them (``dashboard.unapplied_subjects``): of its policy's run in force, not the
    subjects in their notice period, nor those whose listing ended since the run; the held, whom decisions no longer
    apply, counted and said apart (``unapplied``'s ``held``): ``held_subjects`` (``dashboard.runs``'
    ``held_subjects``, when the caller has them) or found with ``held`` (``Service.held_listings``). Of any other
    run, whom it listed. Refusal rates per service count the lists as the run found them. Until 2026-12-07 the audit
    counted every subject the run listed. The run's plain counts (``disparity.audit_counts``) are kept per finished
    run; what the left-out subjects add is taken off them (``disparity.left_out_counts``, a query over those alone)."""
    runs = store.rows("SELECT run_id, policy_id, watermark FROM score_runs WHERE run_id = ?", [run_id])
    if not runs:
        raise NotFoundError(f"no score run {run_id}")
    unapplied = unapplied_subjects(store, runs[0], None)
    if unapplied:  # its policy's run in force: the held said apart
        if held_subjects is None and held is not None:
            held_subjects = dashboard_held(store, runs[0], held)
        for list_id, subjects in (held_subjects or {}).items():
            unapplied.setdefault(list_id, {})["held"] = list(subjects)
    finished = finished_runs(store)  # each run by its finish too: copies of one store number their runs alike
    run = next((r for r in finished if r[1] == run_id), None)
    counts = (_AUDITS.get(run) if run else None) or audit_counts(store, run_id)
    if run:  # an unfinished run may still change
        _remember(_AUDITS, run, counts)
    return audit_of(counts, left_out_counts(store, run_id, unapplied) if unapplied else None)


def lab_panels(
    store: Store, run_id: int, held: Held | None = None, *, held_subjects: Mapping[str, list[str]] | None = None
) -> dict[str, Any]:
    """``disparity``: the run's flagged groups (warnings first, at most :data:`PANEL_ROWS`), how many there are in
    all, and how many of whom the run listed it leaves out as decisions do not count them (``applied_audit``);
    ``drift``: every policy's drift between its last two runs, with its alerts."""
    finished = finished_runs(store)
    audit = applied_audit(store, run_id, held, held_subjects=held_subjects)
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
            "overall": audit["overall"],
            "unapplied": audit["unapplied"],
        },
        "drift": drifts,
    }
