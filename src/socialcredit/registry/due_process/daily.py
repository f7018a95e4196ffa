"""The daily due-process job (``socialcredit due run``, run once a day by the operator's scheduler).

In order: overdue disputes are resolved for the resident (their records withdrawn), residents are told of a
policy's mandatory enrollment within its notice period, records past retention are purged, listings whose notice
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
from socialcredit.registry.hooks import plugin_manager
from socialcredit.store import Store

__all__ = ["run_daily"]


def run_daily(store: Store, today: dt.date | None = None) -> dict[str, Any]:
    """Run the daily job on the registry's date; returns what each step did.

    Keys: ``lapsed_disputes`` (ids), ``notified_of_mandatory_enrollment`` (residents), ``purged`` (counts), then
    whatever the plugins' ``due_process_daily`` return (a plugin's key never replaces the job's own).
    """
    day = resolve_today(today)
    result: dict[str, Any] = {
        "lapsed_disputes": lapse_overdue(store, day),
        "notified_of_mandatory_enrollment": notify_mandatory(store, day),
        "purged": purge_expired(store, day),
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
