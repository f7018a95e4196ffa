"""A contested link answered by a person, or lapsed in the person's favour (docs/regions.md, "The link, shown and
contested").

The person files the dispute through the registry (``registry/due_process/links.py``: deadline, audit, notice); an
operator answers here — ``uphold`` (the link stands) or ``unlink`` (it is reversed: its records are withdrawn and the
listings they caused end at once, ``exchange.reverse_in_transaction``) — in one transaction with the dispute's
close. The daily due-process job (the ``due_process_daily`` hook below) lapses every link dispute past its deadline
the same way: the link is reversed, as a record's dispute lapses into a withdrawn record. As a record's dispute, it
lapses as of the day after its deadline, whichever day that is done, and a score run dated after the deadline lapses
it first (the ``run_starting`` hook below), so the run does not count the link's records.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from socialcredit.clock import resolve_today
from socialcredit.errors import RegionError, WorkflowError
from socialcredit.registry import (
    close_link_dispute,
    get_link_dispute,
    hookimpl,
    not_before,
    overdue_link_disputes,
)
from socialcredit.store import Store

__all__ = ["ANSWERS", "answer_link_dispute", "due_process_daily", "lapse_link_disputes", "run_starting"]

ANSWERS = ("uphold", "unlink")


def _identity(store: Store, identity_id: int) -> dict[str, Any]:
    return store.rows("SELECT * FROM region_identities WHERE identity_id = ?", [identity_id])[0]


def answer_link_dispute(
    store: Store, dispute_id: int, answer: str, reason: str, actor: str = "cli", *, today: dt.date | None = None
) -> dict[str, Any]:
    """An operator's answer to a contested link: ``uphold`` or ``unlink``, with the reason the person is told."""
    from socialcredit.regions.exchange import reverse_in_transaction  # here: the daily run imports no exchange

    today = resolve_today(today)
    if answer not in ANSWERS:
        raise RegionError(
            f"answer must be one of {', '.join(ANSWERS)}, not {answer!r}",
            zh=f"答复须为 {'、'.join(ANSWERS)} 之一，而不是 {answer!r}",
        )
    note = (reason or "").strip()
    if not note:
        raise RegionError(
            "a reason is required: the person is told why (--reason TEXT)",
            zh="须写明理由：当事人会被告知原因（--reason TEXT）",
        )
    d = get_link_dispute(store, dispute_id)
    if d["status"] != "open":
        raise WorkflowError(
            f"link dispute {dispute_id} is closed already ({d['status']})",
            field="dispute_id",
            code="dispute_closed",
            zh=f"身份关联异议 {dispute_id} 已结束（{d['status']}）",
        )
    not_before(dispute_id, today, dt.date.fromisoformat(d["opened_at"]), "an answer", noun="link dispute")
    if today > dt.date.fromisoformat(d["deadline"]):
        # this dispute only: the daily job (or a run dated after their deadlines) lapses the others
        for row in overdue_link_disputes(store, today):
            if int(row["dispute_id"]) == dispute_id:
                _lapse(store, row, "registry")
        raise WorkflowError(
            f"the answer to link dispute {dispute_id} was due by {d['deadline']}; it lapsed in the person's favour and "
            "the link was reversed",
            field="dispute_id",
            code="deadline_passed",
            zh=f"身份关联异议 {dispute_id} 的答复期限为 {d['deadline']}；已按有利于当事人的方式处理，该关联已撤销",
        )
    ident = _identity(store, int(d["identity_id"]))
    with store.transaction():
        if answer == "unlink":
            if ident["status"] in ("linked", "exact"):
                reverse_in_transaction(store, ident, actor, f"link dispute {dispute_id}: {note}", today)
            return close_link_dispute(store, dispute_id, "unlinked", note, actor, today)
        return close_link_dispute(store, dispute_id, "upheld", note, actor, today)


def lapse_link_disputes(store: Store, today: dt.date | None = None, actor: str = "registry") -> list[int]:
    """Resolve for the person every open link dispute past its deadline by ``today``: the link is reversed.

    Each lapses as of the day after its deadline, whichever day this runs (as a record's dispute:
    ``disputes.lapse_overdue``): the listings it ends, the notice and the audit entry are dated that day."""
    today = resolve_today(today)
    overdue = overdue_link_disputes(store, today)
    for row in overdue:
        _lapse(store, row, actor)
    return [int(r["dispute_id"]) for r in overdue]


def _lapse(store: Store, row: dict[str, Any], actor: str) -> None:
    """Resolve one open link dispute past its deadline for the person, as of the day after the deadline."""
    from socialcredit.regions.exchange import reverse_in_transaction  # here: the daily run imports no exchange

    lapsed_on: dt.date = row["deadline"] + dt.timedelta(days=1)
    ident = _identity(store, int(row["identity_id"]))
    note = f"Not answered by {row['deadline'].isoformat()}."
    note_zh = f"截至 {row['deadline'].isoformat()} 未获答复。"  # as a lapsed dispute of a record says it
    with store.transaction():
        if ident["status"] in ("linked", "exact"):
            reverse_in_transaction(store, ident, actor, f"link dispute {row['dispute_id']} lapsed", lapsed_on)
        close_link_dispute(store, int(row["dispute_id"]), "lapsed", note, actor, lapsed_on, note_zh=note_zh)


@hookimpl
def due_process_daily(store: Store, today: dt.date) -> dict[str, Any]:
    """The daily job lapses overdue link disputes (``lapsed_link_disputes``: their ids)."""
    return {"lapsed_link_disputes": lapse_link_disputes(store, today)}


@hookimpl
def run_starting(store: Store, as_of: dt.date) -> None:
    """Lapse the link disputes overdue by the run's date (each as of the day after its deadline), so the run does
    not count the records of a link no one answered for in time, whichever day the daily job last ran. Not past the
    registry's today: a run dated ahead (a what-if) does not close a dispute an operator may still answer."""
    lapse_link_disputes(store, min(as_of, resolve_today()))
