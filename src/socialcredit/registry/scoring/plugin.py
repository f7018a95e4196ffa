"""Scoring's built-in plugin (socialcredit.registry.hooks): a committed batch is folded into the scoring states.

Inside the batch's transaction, every kept state (registry/scoring/state.py) takes the batch's record versions,
so the batch and what it does to every policy's state commit together, or neither does. A finished run names the
catalog version it was scored with (``run_catalogs``), inside the run's transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from socialcredit.registry.hooks import hookimpl
from socialcredit.registry.scoring.state import fold_all

if TYPE_CHECKING:  # pragma: no cover - types only
    from socialcredit.registry.scoring.runs import RunSummary
    from socialcredit.store import Store

__all__ = ["records_ingested", "run_finished"]


@hookimpl(tryfirst=True)
def records_ingested(store: Store, source_id: str, batch_id: int, today: dt.date) -> None:
    """Fold the batch (and anything committed before it) into every kept scoring state."""
    fold_all(store)


@hookimpl
def run_finished(store: Store, run: RunSummary) -> None:
    """Name the catalog version the run was scored with: a store read by a program with another catalog says which
    record types and fields its runs counted."""
    if store.schema_version() < 24:  # a store of an older schema (the migrations' own tests score on them)
        return
    store.execute("INSERT OR REPLACE INTO run_catalogs VALUES (?, ?)", [run.run_id, store.catalog_version])
