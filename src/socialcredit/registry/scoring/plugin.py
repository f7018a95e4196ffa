"""Scoring's built-in plugin (socialcredit.registry.hooks): a committed batch is folded into the scoring states.

Inside the batch's transaction, every kept state (registry/scoring/state.py) takes the batch's record versions,
so the batch and what it does to every policy's state commit together, or neither does.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from socialcredit.registry.hooks import hookimpl
from socialcredit.registry.scoring.state import fold_all

if TYPE_CHECKING:  # pragma: no cover - types only
    from socialcredit.store import Store

__all__ = ["records_ingested"]


@hookimpl(tryfirst=True)
def records_ingested(store: Store, source_id: str, batch_id: int, today: dt.date) -> None:
    """Fold the batch (and anything committed before it) into every kept scoring state."""
    fold_all(store)
