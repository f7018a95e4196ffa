"""Due process's built-in plugin (socialcredit.registry.hooks): what a score run and an ingested batch start.

* Before a run at the present watermark, the disputes whose deadline passed by the run's as-of date lapse
  (``disputes.lapse_overdue``), as the daily job of that day would have lapsed them: a run's result does not
  depend on how often the daily job ran.
* After a run, its blacklist entries become notices and, after the grace period, effective listings
  (``listings.record_listings``), inside the run's transaction: the run is committed with them or not at all. It
  runs first (``tryfirst``), so every other plugin sees the listings recorded.
* After a batch, each resident whose record, withdrawn after a dispute, came back certified is told
  (``disputes.notify_recertified``), inside the batch's transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from socialcredit.clock import resolve_today
from socialcredit.registry.due_process.disputes import lapse_overdue, notify_recertified
from socialcredit.registry.due_process.listings import complete_missed, record_listings
from socialcredit.registry.hooks import hookimpl

if TYPE_CHECKING:  # pragma: no cover - types only
    from socialcredit.registry.scoring.runs import RunSummary
    from socialcredit.store import Store

__all__ = ["records_ingested", "run_finished", "run_starting"]


@hookimpl
def run_starting(store: Store, as_of: dt.date) -> None:
    """Lapse the disputes overdue by the run's date (each as of the day after its deadline), so the run does not
    count a record whose dispute the source did not answer in time, whichever day the daily job last ran. Not past
    the registry's today: a run dated ahead (a what-if) does not close a dispute its source may still answer."""
    lapse_overdue(store, min(as_of, resolve_today()))


@hookimpl(tryfirst=True)
def run_finished(store: Store, run: RunSummary, today: dt.date) -> None:
    """Record the run's notices and listings, given on the registry's ``today`` when it is made (first those of the
    policy's previous run, if a crash under an earlier version left it without them: ``listings.complete_missed``)."""
    complete_missed(store, run.policy_id, before=run.run_id, today=today)
    record_listings(store, run.run_id, today=today)


@hookimpl
def records_ingested(store: Store, source_id: str, batch_id: int, today: dt.date) -> None:
    """Tell residents of records re-certified in this batch."""
    notify_recertified(store, source_id, batch_id, today)
