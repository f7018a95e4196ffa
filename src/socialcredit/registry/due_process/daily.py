"""The daily due-process job (``socialcredit due run``, run once a day by the operator's scheduler).

In order: overdue disputes are resolved for the resident (their records withdrawn), residents are told of a
policy's mandatory enrollment within its notice period, records past retention are purged, the listings a run not in
force moved are put back (``withdrawals.put_back_listings``, as ``due put-back-listings``), listings whose notice
period is over take effect, listings past their longest publication end, and repair applications unanswered past
their deadline are flagged; then the ``due_process_daily`` hook lets plugins do their own daily work
(docs/hooks.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from socialcredit.clock import resolve_today
from socialcredit.registry.due_process.disputes import lapse_overdue
from socialcredit.registry.due_process.enrollment import notify_mandatory
from socialcredit.registry.due_process.listings import activate_due, end_publication_due
from socialcredit.registry.due_process.repair import flag_overdue_repairs
from socialcredit.registry.due_process.retention import purge_expired
from socialcredit.registry.due_process.withdrawals import put_back_listings
from socialcredit.registry.hooks import plugin_manager
from socialcredit.store import Store

__all__ = ["PUT_BACK_KEY", "run_daily"]

# ``store_info``: the day the daily job found no listing left that a run not in force moved, neither put back nor
# left as it is (a listing left as the run in force gives it today is judged again when a newer run comes in force).
# Only a release before 2026-12-05 let a run not in force move listings, so none can be left later: from then on the
# job does not look again (its search reads the audit log's entries of listings put in effect).
PUT_BACK_KEY = "listings_put_back_on"


def _put_back(store: Store, day: dt.date, channel: str) -> list[int]:
    """Put back the listings a run not in force moved, until none is left; the ids of those put back."""
    if store.one("SELECT count(*) FROM store_info WHERE key = ?", [PUT_BACK_KEY]):
        return []
    left: list[int] = []
    done = put_back_listings(store, day, channel=channel, left=left)
    # nothing left: none put back (a second call would find nothing either: each is put back once) and none left as
    # it is today (a newer run in force may re-date it)
    if not done and not left:
        with store.transaction():
            store.execute("INSERT OR IGNORE INTO store_info VALUES (?, ?)", [PUT_BACK_KEY, day.isoformat()])
    return [int(x["listing_id"]) for x in done]


def run_daily(store: Store, today: dt.date | None = None, *, channel: str = "outbox") -> dict[str, Any]:
    """Run the daily job on the registry's date; returns what each step did.

    Keys: ``lapsed_disputes`` (ids), ``notified_of_mandatory_enrollment`` (residents), ``purged`` (counts),
    ``listings_put_back`` (ids; the resident's message queued on ``channel``), ``listings_effective``,
    ``publication_ended``, ``overdue_repairs``, then whatever the plugins' ``due_process_daily`` return (a plugin's
    key never replaces the job's own).
    """
    day = resolve_today(today)
    result: dict[str, Any] = {
        "lapsed_disputes": lapse_overdue(store, day),
        "notified_of_mandatory_enrollment": notify_mandatory(store, day),
        "purged": purge_expired(store, day),
        # before the day's listings take effect: a listing put back in its notice period is not put in effect by
        # the early day a run not in force gave it
        "listings_put_back": _put_back(store, day, channel),
        # listings whose notice period is over take effect on their date; repair applications unanswered past
        # their deadline are flagged
        "listings_effective": activate_due(store, day),
        # and listings past their longest publication end on their date
        "publication_ended": end_publication_due(store, day),
        "overdue_repairs": flag_overdue_repairs(store, day),
    }
    for part in plugin_manager().hook.due_process_daily(store=store, today=day):
        for key, value in (part or {}).items():
            result.setdefault(key, value)
    return result
