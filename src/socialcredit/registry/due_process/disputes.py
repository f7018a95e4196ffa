"""Disputes: a subject says a record is wrong; the source answers in time, or the subject wins.

* Filed on day D, a dispute must be answered on or before D + 30 days (the policy's ``disputes.answer_days``);
  D + 45 (``extended_answer_days``) when the subject adds information within the first 30 days.
* The source answers ``verified`` (the record stands), ``corrected`` (it sent a corrected version, which counts
  as corrected) or ``withdrawn`` (the record is withdrawn: a new version that no run counts).
* Not answered by the deadline, it is resolved for the subject (``lapsed``): the record is withdrawn the same way.
* A record withdrawn after a dispute comes back only with the source's certification (ingest ``certified=true``),
  and the subject is told.
* While open, the record is marked disputed in every output, and counts or not as the policy's
  ``disputes.counts_while_open`` says (``registry/scoring/holds.py``).
* A dispute of a record another region shared (``records.origin_region``) is **forwarded** to that region: it holds
  the record here like any dispute, but no source here answers it; the origin region's furnisher answers it there,
  and the answer closes it here. One whose answer has not arrived by the deadline lapses here as a local one does
  (``regions/crossborder.py`` carries them, and opens the disputes other regions forward here: ``open_received``).

* The subject may **withdraw** an open dispute (status ``retracted``): the record stays as it is, and the hold ends
  as when a dispute is answered.
* An operator may **escalate** an open dispute (or one the source verified) to a human review; while under review,
  the source no longer answers it. The reviewer decides ``upheld`` (the record stands), ``corrected`` (a corrected
  version the source sent counts) or ``withdrawn`` (the record is withdrawn), with written reasons: the decision and
  its reasons are audited, told to the subject and shown on the dispute.

Every step is audited; the subject is notified of every outcome.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from socialcredit.clock import resolve_today
from socialcredit.errors import NotFoundError, WorkflowError, WorkflowInputError, quoted
from socialcredit.identifiers import fold_record_id
from socialcredit.registry.access.audit import append_audit, audited_refusal, kept_words
from socialcredit.registry.common import bad_status, check_text, iso, newest_first
from socialcredit.registry.due_process.acting import acting_on
from socialcredit.registry.due_process.evidence import list_evidence
from socialcredit.registry.due_process.notifications import notify, source_names
from socialcredit.registry.records.origin import origin_reference
from socialcredit.registry.records.versions import latest_record, subjects_record, withdraw_version
from socialcredit.registry.scoring.policies import policies_in_use
from socialcredit.registry.words import STATUS_WORDS
from socialcredit.store import Store

__all__ = [
    "OUTCOMES",
    "REVIEW_DECISIONS",
    "STATUSES",
    "DisputedAgainError",
    "add_information",
    "add_received_information",
    "answer_dispute",
    "close_forwarded",
    "decide_review",
    "dispute_periods",
    "dispute_review",
    "escalate_dispute",
    "file_dispute",
    "get_dispute",
    "lapse_overdue",
    "list_disputes",
    "not_before",
    "notify_recertified",
    "open_received",
    "recertified_words",
    "status_zh",
    "withdraw_dispute",
]

OUTCOMES = ("verified", "corrected", "withdrawn")
REVIEW_DECISIONS = ("upheld", "corrected", "withdrawn")
# The status a decided review gives a dispute that was still open.
_REVIEW_STATUS = {"upheld": "verified", "corrected": "corrected", "withdrawn": "withdrawn"}
_REVIEW_TEXT = {
    "upheld": ("the record stands", "记录维持不变"),
    "corrected": ("the corrected version of the record counts", "按更正后的记录计算"),
    "withdrawn": ("the record is withdrawn and no longer counts", "该记录已撤回，不再计入"),
}
STATUSES = ("open", "verified", "corrected", "withdrawn", "lapsed", "retracted")

_OUTCOME_TEXT = {
    "verified": ("the source checked the record and confirmed it; it stands", "来源核实该记录无误，记录保留"),
    "corrected": ("the source corrected the record; the corrected version counts", "来源已更正该记录，按更正后计算"),
    "withdrawn": ("the source withdrew the record; it no longer counts", "来源已撤回该记录，不再计入"),
    "lapsed": (
        "the source did not answer in time; the dispute is resolved in your favour and the record no longer counts",
        "来源未在期限内答复，异议按有利于您的方式处理，该记录不再计入",
    ),
    "retracted": ("you withdrew the dispute; the record stays as it is", "您已撤回该异议，记录保持不变"),
}


def recertified_words(store: Store, source_id: str, record_id: str, origin: str | None = None) -> tuple[str, str]:
    """The notification (English, Chinese) that a record withdrawn after a dispute was sent again, certified: its
    source by the catalog's name, as every notice of a dispute names it, and of region ``origin`` when another
    region's source sent it (regions/crossborder.py)."""
    en, zh = source_names(store, source_id)
    zh = "来源" + zh
    if origin:
        en, zh = f"{en} of region {origin}", f"地区 {origin} 的{zh}"
    return (
        f"Record {record_id} was sent again by {en}, certifying that it is accurate; it counts again. You may dispute "
        "it again.",
        f"{zh}重新报送并书面确认记录 {record_id} 准确，该记录重新计入。您可再次提出异议。",
    )


def dispute_periods(store: Store) -> tuple[int, int]:
    """The shortest answer periods among the policies in use (a record may count under several): ``answer_days``
    and ``extended_answer_days``. A region's bundle publishes them beside the disputes it forwards."""
    policies = [lp.policy.disputes for lp in policies_in_use(store)]
    return min(d.answer_days for d in policies), min(d.extended_answer_days for d in policies)


def _forwarded_to(store: Store, dispute_id: int) -> str | None:
    """The region a dispute was forwarded to (the region that recorded its record), or None for a local one."""
    region = store.one(
        "SELECT region FROM region_disputes WHERE dispute_id = ? AND direction = 'forwarded'", [dispute_id]
    )
    return None if region is None else str(region)


def _row(store: Store, dispute_id: int) -> dict[str, Any]:
    rows = store.rows("SELECT * FROM disputes WHERE dispute_id = ?", [dispute_id])
    if not rows:
        raise NotFoundError(f"no dispute {dispute_id}", zh=f"没有异议 {dispute_id}")
    return rows[0]


def _public(row: dict[str, Any], info: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    out = {
        k: iso(row[k])
        for k in (
            "dispute_id",
            "subject_id",
            "source_id",
            "record_id",
            "record_type",
            "reason",
            "evidence",
            "status",
            "opened_at",
            "deadline",
            "answered_at",
            "note",
        )
    }
    # the note in Chinese (the same as ``note`` when a person wrote it; None for a dispute closed before it was kept)
    out["note_zh"] = row.get("note_zh")
    out["representative_id"] = row.get("representative_id")  # who acted for the organisation, if anyone
    out["retracted_by_representative"] = row.get("retracted_by_representative")
    if info is not None:
        out["information"] = info
    return out


def _information(store: Store, dispute_id: int) -> list[dict[str, Any]]:
    return [
        {"added_at": iso(r["added_at"]), "text": r["text"], "representative_id": r["representative_id"]}
        for r in store.rows(
            "SELECT added_at, text, representative_id FROM dispute_information WHERE dispute_id = ? "
            "ORDER BY recorded_at",
            [dispute_id],
        )
    ]


def get_dispute(store: Store, dispute_id: int) -> dict[str, Any]:
    """One dispute with the information the subject added, its evidence files and its review (None if never
    escalated)."""
    out = _public(_row(store, dispute_id), _information(store, dispute_id))
    out["files"] = list_evidence(store, dispute_id)
    out["review"] = dispute_review(store, dispute_id)
    return out


def dispute_review(store: Store, dispute_id: int) -> dict[str, Any] | None:
    """The escalation of a dispute to a human review and the reviewer's decision, or None."""
    rows = store.rows("SELECT * FROM dispute_reviews WHERE dispute_id = ?", [dispute_id])
    if not rows:
        return None
    r = rows[0]
    return {
        k: iso(r[k])
        for k in (
            "escalated_on",
            "escalated_by",
            "escalation_reason",
            "decision",
            "reasons",
            "decided_on",
            "decided_by",
        )
    }


def file_dispute(
    store: Store,
    subject_id: str,
    source_id: str,
    record_id: str,
    reason: str,
    evidence: str | None = None,
    actor: str = "cli",
    *,
    today: dt.date | None = None,
    representative_id: str | None = None,
    lang: str | None = None,
) -> dict[str, Any]:
    """Open a dispute of one of the subject's records; returns it (with its deadline). ``representative_id``: the
    legal representative filing it for the organisation ``subject_id`` (the caller has checked the role). ``lang``
    (en or zh): the answer has the notice sent to the subject in that language too (``notice``)."""
    today = resolve_today(today)
    # a refused filing is audited too, with the refusal's code, which says no more of another person's record than
    # the refusal does (``unknown_record`` whether it is theirs or no one's). The record id once it is established as
    # the filer's, and its source; before that only their lengths: what was typed may be any words (a phone number, a
    # name), and an entry of the chain holds no one's words (docs/audit.md; until 2026-12-06 their first 64
    # characters were kept)
    asked: dict[str, Any] = {"source": kept_words(None, source_id), "record_id": kept_words(None, record_id)}
    if representative_id is not None:
        asked["representative"] = representative_id
    with audited_refusal(store, actor, "dispute_filed", asked, subject_id=subject_id, said=lambda exc: exc.code):
        record_id = fold_record_id(record_id)  # either width names the record (identifiers.fold_record_id)
        reason_text = check_text(reason, "reason")
        evidence_text = check_text(evidence, "evidence", required=False)
        record = subjects_record(store, subject_id, source_id, record_id)
        asked["source"], asked["record_id"] = source_id, record_id
        if record["withdrawn"]:
            raise WorkflowError(
                f"record {record_id!r} of source {source_id} is withdrawn already; it does not count",
                field="record_id",
                code="record_withdrawn",
                zh=f"来源 {source_id} 的记录 {record_id!r} 已撤回，不再计入",
            )
        open_id = store.one(
            "SELECT dispute_id FROM disputes WHERE source_id = ? AND record_id = ? AND status = 'open'",
            [source_id, record_id],
        )
        if open_id is not None:
            raise WorkflowError(
                f"record {record_id!r} of source {source_id} is already disputed (dispute {open_id}); add information "
                "to that dispute instead",
                field="record_id",
                code="already_disputed",
                zh=f"来源 {source_id} 的记录 {record_id!r} 已有异议（异议 {open_id}）；请向该异议补充材料",
            )
        reviewed = _under_review(store, source_id, record_id)
        if reviewed is not None:
            raise WorkflowError(
                f"record {record_id!r} of source {source_id} is under human review (dispute {reviewed}); the reviewer "
                "decides it, and you may dispute it again once the review is decided",
                field="record_id",
                code="under_review",
                zh=f"来源 {source_id} 的记录 {record_id!r} 正在人工复核（异议 {reviewed}）；由复核人决定，"
                "复核决定后可再提出异议",
            )
    days, _ = dispute_periods(store)
    deadline = today + dt.timedelta(days=days)
    origin = record.get("origin_region")
    with store.transaction():
        dispute_id = _insert_open(
            store,
            subject_id,
            source_id,
            record_id,
            record["record_type"],
            reason_text,
            evidence_text,
            today,
            deadline,
            actor,
            representative_id,
        )
        detail: dict[str, Any] = {
            "dispute_id": dispute_id,
            "source": source_id,
            "record_id": record_id,
            "deadline": deadline,
        }
        if representative_id is not None:
            detail["representative"] = representative_id
        en = f"the source must answer by {deadline.isoformat()}."
        zh = f"来源须于 {deadline.isoformat()} 前答复。"
        if origin:
            _forward(store, dispute_id, str(origin), source_id, record_id)
            detail["forwarded_to"] = origin
            en = (
                f"the record was recorded in region {origin}: the dispute is forwarded there, and its source must "
                f"answer by {deadline.isoformat()}."
            )
            zh = f"该记录由地区 {origin} 记录：异议已转交该地区，其来源须于 {deadline.isoformat()} 前答复。"
        append_audit(store, actor, "dispute_filed", subject_id, detail)
        source_en, source_zh = source_names(store, source_id)
        notice = {
            "en": f"Your dispute {dispute_id} of record {record_id} ({source_en}) was received; {en}",
            "zh": f"您对记录 {record_id}（{source_zh}）的异议 {dispute_id} 已受理；{zh}",
        }
        notify(store, subject_id, "dispute_filed", dispute_id, notice["en"], notice["zh"], today)
    filed = get_dispute(store, dispute_id)
    if lang is not None:
        filed["notice"] = notice[lang]
    return filed


def _under_review(store: Store, source_id: str, record_id: str) -> int | None:
    """The dispute of a record escalated to a human review not yet decided, if any: while it is, the reviewer alone
    decides the record, and no other dispute of it is opened or escalated (two outcomes could then contradict each
    other: one withdrawing the record, the other telling the resident it stands)."""
    found = store.one(
        "SELECT min(d.dispute_id) FROM disputes d JOIN dispute_reviews v USING (dispute_id) "
        "WHERE d.source_id = ? AND d.record_id = ? AND v.decision IS NULL",
        [source_id, record_id],
    )
    return None if found is None else int(found)


def _insert_open(
    store: Store,
    subject_id: str,
    source_id: str,
    record_id: str,
    record_type: str,
    reason: str | None,
    evidence: str | None,
    opened_on: dt.date,
    deadline: dt.date,
    actor: str,
    representative_id: str | None = None,
) -> int:
    """Write an open dispute (filed here, or received from another region); returns its id. Inside a transaction.
    ``representative_id``: the person who filed it for the organisation ``subject_id``."""
    dispute_id = store.take_ids("dispute", 1)
    seq = store.take_ids("seq", 1)
    store.execute(
        "INSERT INTO disputes (dispute_id, seq, subject_id, source_id, record_id, record_type, reason, evidence, "
        "status, opened_at, deadline, filed_by, recorded_at, representative_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, now(), ?)",
        [
            dispute_id,
            seq,
            subject_id,
            source_id,
            record_id,
            record_type,
            reason,
            evidence,
            opened_on,
            deadline,
            actor,
            representative_id,
        ],
    )
    return dispute_id


def _forward(store: Store, dispute_id: int, origin: str, source_id: str, record_id: str) -> None:
    """Mark a dispute of another region's record as forwarded to it; its next bundle carries it there."""
    origin_record_id, origin_subject = origin_reference(store, origin, source_id, record_id)
    store.execute(
        "INSERT INTO region_disputes VALUES (?, 'forwarded', ?, NULL, ?, ?, ?, NULL)",
        [dispute_id, origin, source_id, origin_record_id, origin_subject],
    )


def open_received(
    store: Store,
    subject_id: str,
    source_id: str,
    record_id: str,
    reason: str,
    evidence: str | None,
    *,
    filed_on: dt.date,
    deadline: dt.date,
    actor: str,
) -> int:
    """Open here a dispute another region forwarded (one of this region's own records, disputed there): the same
    deadline, the source here answers it, this region's rules apply. Returns its id; an open dispute of the record
    already is that dispute, and so is one under human review (as ``file_dispute`` refuses a second dispute then: the
    reviewer alone decides the record, and the other region hears the review's outcome). Call inside a
    transaction."""
    record_id = fold_record_id(record_id)  # as the other region names it: in either width
    open_id = store.one(
        "SELECT dispute_id FROM disputes WHERE source_id = ? AND record_id = ? AND status = 'open'",
        [source_id, record_id],
    )
    if open_id is not None:
        return int(open_id)
    reviewed = _under_review(store, source_id, record_id)
    if reviewed is not None:
        return reviewed
    record = latest_record(store, source_id, record_id)
    dispute_id = _insert_open(
        store, subject_id, source_id, record_id, record["record_type"], reason, evidence, filed_on, deadline, actor
    )
    append_audit(
        store,
        actor,
        "dispute_filed",
        subject_id,
        {"dispute_id": dispute_id, "source": source_id, "record_id": record_id, "deadline": deadline},
    )
    source_en, source_zh = source_names(store, source_id)
    notify(
        store,
        subject_id,
        "dispute_filed",
        dispute_id,
        f"Your dispute of record {record_id} ({source_en}), filed in another region on {filed_on.isoformat()}, was "
        f"received here as dispute {dispute_id}; the source must answer by {deadline.isoformat()}.",
        f"您于 {filed_on.isoformat()} 在其他地区对记录 {record_id}（{source_zh}）提出的异议已转来，编号 {dispute_id}；"
        f"来源须于 {deadline.isoformat()} 前答复。",
        filed_on,
    )
    return dispute_id


def close_forwarded(
    store: Store, dispute_id: int, status: str, note: tuple[str, str], actor: str, *, today: dt.date
) -> bool:
    """Close a forwarded dispute with the origin region's answer (``status``: an outcome or ``lapsed``; ``note``:
    English and Chinese); a withdrawn or lapsed one withdraws the record here too. False if it was closed already.
    Call inside a transaction."""
    row = _row(store, dispute_id)
    if row["status"] != "open":
        return False
    if status in ("withdrawn", "lapsed"):
        record = latest_record(store, row["source_id"], row["record_id"])
        if not record["withdrawn"]:
            withdraw_version(store, record)
    _close(store, row, status, note, actor, today)
    return True


def add_information(
    store: Store,
    dispute_id: int,
    text: str,
    actor: str,
    *,
    today: dt.date | None = None,
    representative_id: str | None = None,
) -> dict[str, Any]:
    """The subject adds information; within the first ``answer_days`` days this extends the deadline.
    ``representative_id``: the legal representative adding it for the organisation that is the dispute's subject
    (the caller has checked it: ``acting.acting_on``)."""
    today = resolve_today(today)
    info = check_text(text, "text")
    assert info is not None
    row = _row(store, dispute_id)
    if row["status"] != "open":
        raise WorkflowError(
            f"dispute {dispute_id} is closed ({row['status']}); file a new dispute if the record is still wrong",
            field="dispute_id",
            code="dispute_closed",
            zh=f"异议 {dispute_id} 已结束（{status_zh(row['status'])}）；记录如仍有误，请另提异议",
        )
    not_before(dispute_id, today, row["opened_at"], "information added to it")
    if today > row["deadline"]:
        raise WorkflowError(
            f"dispute {dispute_id} passed its deadline {row['deadline'].isoformat()}; it is being resolved for you",
            field="dispute_id",
            code="deadline_passed",
            zh=f"异议 {dispute_id} 已过答复期限 {row['deadline'].isoformat()}；将按有利于您的方式处理",
        )
    with store.transaction():
        _add_information(store, row, today, info, actor, representative_id)
        if _forwarded_to(store, dispute_id) is not None:
            # the origin region answers it: the next bundle carries this there, where it extends the deadline alike
            store.execute("INSERT INTO region_dispute_information VALUES (?, ?, ?, NULL)", [dispute_id, today, info])
    return get_dispute(store, dispute_id)


def _add_information(
    store: Store,
    row: dict[str, Any],
    today: dt.date,
    info: str,
    actor: str,
    representative_id: str | None = None,
    periods: tuple[int, int] | None = None,
) -> dt.date:
    """Keep the information; within the first ``answer_days`` days it extends the deadline to ``extended_answer_days``
    after the opening (``periods``: those two, of the region where the dispute was filed; this region's by default).
    Returns the deadline. Call inside a transaction."""
    days, extended = periods or dispute_periods(store)
    opened: dt.date = row["opened_at"]
    extend = today <= opened + dt.timedelta(days=days)
    deadline: dt.date = max(row["deadline"], opened + dt.timedelta(days=extended)) if extend else row["deadline"]
    dispute_id = row["dispute_id"]
    store.execute(
        "INSERT INTO dispute_information (dispute_id, added_at, text, actor, recorded_at, representative_id) "
        "VALUES (?, ?, ?, ?, now(), ?)",
        [dispute_id, today, info, actor, representative_id],
    )
    store.execute("UPDATE disputes SET deadline = ? WHERE dispute_id = ?", [deadline, dispute_id])
    detail: dict[str, Any] = {"dispute_id": dispute_id, "deadline": deadline, "extended": deadline != row["deadline"]}
    if representative_id is not None:
        detail["representative"] = representative_id
    append_audit(store, actor, "dispute_information", row["subject_id"], detail)
    return deadline


def add_received_information(
    store: Store,
    dispute_id: int,
    text: str,
    *,
    added_on: dt.date,
    actor: str,
    periods: tuple[int, int] | None = None,
) -> bool:
    """Information the resident added in another region to a dispute that region forwarded here (``dispute_id``
    is this region's): kept, and it extends the deadline as if added here on ``added_on``, under the filing region's
    rules (``periods``: its answer days and extended answer days, as its bundle publishes them; this region's own for
    a bundle from before they travelled), as the first deadline is. False when the dispute is closed or ``added_on``
    is past its deadline. Call inside a transaction."""
    row = _row(store, dispute_id)
    if row["status"] != "open" or added_on > row["deadline"]:
        return False
    _add_information(store, row, added_on, text, actor, periods=periods)
    return True


def _close(
    store: Store,
    row: dict[str, Any],
    status: str,
    note: tuple[str, str],
    actor: str,
    today: dt.date,
    representative_id: str | None = None,
) -> None:
    """Close a dispute (inside a transaction): status, the change number, the subject told, audited
    (``note``: English and Chinese, both stored; free text from a person is the same in both;
    ``representative_id``: who withdrew it for the organisation)."""
    note_en, note_zh = note
    closed_seq = store.take_ids("seq", 1)
    answered = today if status != "lapsed" else None
    store.execute(
        "UPDATE disputes SET status = ?, answered_at = ?, closed_seq = ?, note = ?, note_zh = ?, answered_by = ? "
        "WHERE dispute_id = ?",
        [status, answered, closed_seq, note_en, note_zh, actor, row["dispute_id"]],
    )
    en, zh = _OUTCOME_TEXT[status]
    source_en, source_zh = source_names(store, row["source_id"])
    notify(
        store,
        row["subject_id"],
        "dispute_" + status,
        row["dispute_id"],
        f"Dispute {row['dispute_id']} of record {row['record_id']} ({source_en}): {en}. {note_en}",
        f"异议 {row['dispute_id']}（记录 {row['record_id']}，{source_zh}）：{zh}。{note_zh}",
        today,
    )
    detail = {
        "dispute_id": row["dispute_id"],
        "source": row["source_id"],
        "record_id": row["record_id"],
        "note": kept_words("disputes.note", note_en),
    }
    if status == "lapsed":  # as of the day after the deadline, whichever day it was done
        detail["lapsed_on"] = today.isoformat()
    if representative_id is not None:
        detail["representative"] = representative_id
    append_audit(store, actor, "dispute_" + status, row["subject_id"], detail)


class DisputedAgainError(WorkflowError):
    """An escalation refused (``disputed_again``): another dispute of the record is open, ``other``, which a page
    names as the message does."""

    def __init__(self, message: str, other: int) -> None:
        super().__init__(message, field="dispute_id", code="disputed_again")
        self.other = other


# What is disputed, in Chinese (``not_before``'s noun)
_NOUN_ZH = {"dispute": "异议", "link dispute": "身份关联异议"}


def not_before(
    dispute_id: int, today: dt.date, since: dt.date, what: str, event: str = "filed", *, noun: str = "dispute"
) -> None:
    """Refuse a step on a dispute dated before the dispute was filed (or escalated: ``event``): the registry's
    clock moved back (``--today``, ``$SOCIALCREDIT_TODAY``), and the record would say it was answered before it was
    asked. ``noun``: what is disputed ("link dispute" for a contested link, ``regions/contest.py``)."""
    if today < since:
        raise WorkflowError(
            f"{noun} {dispute_id} was {event} on {since.isoformat()}; {what} cannot be dated {today.isoformat()}, "
            "before that",
            field="today",
            code="before_filing" if event == "filed" else "before_escalation",
            zh=f"{_NOUN_ZH.get(noun, noun)} {dispute_id} 于 {since.isoformat()} "
            f"{'提出' if event == 'filed' else '提交复核'}；此操作不能早于该日，不能记为 {today.isoformat()}",
        )


def status_zh(status: str) -> str:
    """A dispute's ``status`` in Chinese words, as the pages say it (``dispute_status_*``, registry/words.py)."""
    return STATUS_WORDS["dispute_status"].get(status, (status,))[0]


def _disputed_record(
    store: Store, row: dict[str, Any], outcome: str, field: str, then: tuple[str, str]
) -> dict[str, Any]:
    """The disputed record's latest version; ``corrected`` needs a version received since the dispute was filed
    (``then``, in English and Chinese, says what to do first)."""
    record = latest_record(store, row["source_id"], row["record_id"])
    if outcome == "corrected" and record["record_key"] < row["seq"]:
        raise WorkflowError(
            f"no corrected version of record {row['record_id']!r} was received since the dispute was filed; {then[0]}",
            field=field,
            code="no_correction",
            zh=f"提出异议以来未收到记录 {row['record_id']!r} 的更正版本；{then[1]}",
        )
    return record


def answer_dispute(
    store: Store,
    dispute_id: int,
    outcome: str,
    note: str,
    actor: str,
    *,
    today: dt.date | None = None,
    source_id: str | None = None,
) -> dict[str, Any]:
    """The source's answer (``source_id``, when given, must be the dispute's source: a furnisher's scope)."""
    today = resolve_today(today)
    if outcome not in OUTCOMES:
        raise WorkflowInputError(
            f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}",
            field="outcome",
            code="bad_outcome",
            zh=f"答复结果须为 {'、'.join(OUTCOMES)} 之一，而不是 {outcome!r}",
        )
    note_text = check_text(note, "note")
    assert note_text is not None
    row = _row(store, dispute_id)
    if source_id is not None and row["source_id"] != source_id:
        raise NotFoundError(
            f"source {source_id} has no dispute {dispute_id}", zh=f"来源 {source_id} 没有异议 {dispute_id}"
        )
    if row["status"] != "open":
        raise WorkflowError(
            f"dispute {dispute_id} is closed already ({row['status']})",
            field="dispute_id",
            code="dispute_closed",
            zh=f"异议 {dispute_id} 已结束（{status_zh(row['status'])}）",
        )
    review = dispute_review(store, dispute_id)
    if review is not None and review["decision"] is None:
        raise WorkflowError(
            f"dispute {dispute_id} is under human review since {review['escalated_on']}; the reviewer decides it",
            field="dispute_id",
            code="dispute_escalated",
            zh=f"异议 {dispute_id} 自 {review['escalated_on']} 起由人工复核；由复核人决定",
        )
    forwarded = _forwarded_to(store, dispute_id)
    if forwarded is not None:
        raise WorkflowError(
            f"dispute {dispute_id} was forwarded to region {forwarded}, which recorded the record; its source answers "
            "it there, and the answer arrives in that region's next bundle",
            field="dispute_id",
            code="dispute_forwarded",
            zh=f"异议 {dispute_id} 已转交记录所在地区 {forwarded}；由其来源在该地区答复，"
            "答复随该地区的下一个数据包送达",
        )
    not_before(dispute_id, today, row["opened_at"], "an answer")
    if today > row["deadline"]:
        # this dispute only: the daily job (or a run dated after their deadlines) lapses the others
        _lapse(store, row, "registry")
        raise WorkflowError(
            f"the answer to dispute {dispute_id} was due by {row['deadline'].isoformat()}; it was resolved for the "
            "subject and the record no longer counts (send it again with certified=true if it is accurate)",
            field="dispute_id",
            code="deadline_passed",
            zh=f"异议 {dispute_id} 的答复期限为 {row['deadline'].isoformat()}；已按有利于当事人的方式处理，"
            "该记录不再计入（如记录准确，请以 certified=true 重新报送）",
        )
    then = (
        "send it (correction=true) first, then answer 'corrected'",
        "请先报送更正版本（correction=true），再答复 'corrected'",
    )
    record = _disputed_record(store, row, outcome, "outcome", then)
    with store.transaction():
        if outcome == "withdrawn" and not record["withdrawn"]:
            withdraw_version(store, record)
        _close(store, row, outcome, (note_text, note_text), actor, today)
    return get_dispute(store, dispute_id)


def withdraw_dispute(
    store: Store,
    dispute_id: int,
    person_id: str,
    actor: str,
    *,
    reason: str | None = None,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """``person_id`` withdraws an open dispute (``retracted``): the record stays as it is and its hold ends, as
    when a dispute is answered. The subject may, or, for an organisation, its legal representative on ``today``
    (kept as ``retracted_by_representative``); anyone else's is not found."""
    today = resolve_today(today)
    note = check_text(reason, "reason", required=False)
    row = _row(store, dispute_id)
    acting = acting_on(store, person_id, str(row["subject_id"]), today)
    if acting is None:
        raise NotFoundError(f"no dispute {dispute_id}", field="dispute_id")
    if _forwarded_to(store, dispute_id) is None:
        row = _overdue_lapsed(store, row, today)  # resolved for the resident already: nothing left to withdraw
    if row["status"] != "open":
        raise WorkflowError(
            f"dispute {dispute_id} is closed already ({row['status']}); only an open dispute may be withdrawn",
            field="dispute_id",
            code="dispute_closed",
            zh=f"异议 {dispute_id} 已结束（{status_zh(row['status'])}）；只有未结束的异议可以撤回",
        )
    if (region := _forwarded_to(store, dispute_id)) is not None:
        raise WorkflowError(
            f"dispute {dispute_id} was forwarded to region {region}, which answers it; it cannot be withdrawn here",
            field="dispute_id",
            code="dispute_forwarded",
        )
    not_before(dispute_id, today, row["opened_at"], "its withdrawal")
    with store.transaction():
        _close(store, row, "retracted", (note or "", note or ""), actor, today, acting.representative_id)
        if acting.representative_id is not None:
            store.execute(
                "UPDATE disputes SET retracted_by_representative = ? WHERE dispute_id = ?",
                [acting.representative_id, dispute_id],
            )
    return get_dispute(store, dispute_id)


def escalate_dispute(
    store: Store, dispute_id: int, reason: str, actor: str, *, today: dt.date | None = None
) -> dict[str, Any]:
    """An operator sends a dispute to a human review (an open one, or one the source verified); from then on the
    reviewer decides it, not the source. Once a dispute."""
    today = resolve_today(today)
    reason_text = check_text(reason, "reason")
    row = _row(store, dispute_id)
    if _forwarded_to(store, dispute_id) is None:
        row = _overdue_lapsed(store, row, today)  # resolved for the resident already: nothing left to review
    if row["status"] not in ("open", "verified"):
        raise WorkflowError(
            f"dispute {dispute_id} is closed ({row['status']}); only an open dispute or one the source verified may "
            "be escalated",
            field="dispute_id",
            code="dispute_closed",
            zh=f"异议 {dispute_id} 已结束（{status_zh(row['status'])}）；"
            "只有未结束的异议或来源已核实的异议可以提交复核",
        )
    if (region := _forwarded_to(store, dispute_id)) is not None:
        raise WorkflowError(
            f"dispute {dispute_id} was forwarded to region {region}, which answers it; escalate it there",
            field="dispute_id",
            code="dispute_forwarded",
        )
    if dispute_review(store, dispute_id) is not None:
        raise WorkflowError(f"dispute {dispute_id} was escalated already", field="dispute_id", code="already_escalated")
    not_before(dispute_id, today, row["opened_at"], "its escalation")
    other = store.one(
        "SELECT min(dispute_id) FROM disputes WHERE source_id = ? AND record_id = ? AND status = 'open' "
        "AND dispute_id <> ?",
        [row["source_id"], row["record_id"], dispute_id],
    )
    if other is not None:
        raise DisputedAgainError(
            f"record {row['record_id']!r} of source {row['source_id']} is disputed again (dispute {other}, open); "
            "escalate that dispute instead",
            int(other),
        )
    with store.transaction():
        store.execute(
            "INSERT INTO dispute_reviews VALUES (?, ?, ?, ?, NULL, NULL, NULL, NULL, now())",
            [dispute_id, today, actor, reason_text],
        )
        append_audit(
            store,
            actor,
            "dispute_escalated",
            row["subject_id"],
            {"dispute_id": dispute_id, "reason": kept_words("dispute_reviews.escalation_reason", reason_text)},
        )
        source_en, source_zh = source_names(store, row["source_id"])
        notify(
            store,
            row["subject_id"],
            "dispute_escalated",
            dispute_id,
            f"Dispute {dispute_id} of record {row['record_id']} ({source_en}) was sent to a human review: "
            f"{reason_text}",
            f"异议 {dispute_id}（记录 {row['record_id']}，{source_zh}）已转交人工复核：{reason_text}",
            today,
        )
    return get_dispute(store, dispute_id)


def decide_review(
    store: Store, dispute_id: int, decision: str, reasons: str, actor: str, *, today: dt.date | None = None
) -> dict[str, Any]:
    """The reviewer's decision on an escalated dispute, with written reasons: ``upheld`` (the record stands),
    ``corrected`` (the corrected version the source sent counts) or ``withdrawn`` (the record is withdrawn). An open
    dispute is closed by it; on the record: audited, told to the subject, shown on the dispute."""
    today = resolve_today(today)
    if decision not in REVIEW_DECISIONS:
        raise WorkflowInputError(
            f"decision must be one of {', '.join(REVIEW_DECISIONS)}, not {quoted(decision)}",
            field="decision",
            code="bad_decision",
            zh=f"复核决定须为 {'、'.join(REVIEW_DECISIONS)} 之一，而不是 {quoted(decision)}",
        )
    reasons_text = check_text(reasons, "reasons")
    assert reasons_text is not None
    row = _row(store, dispute_id)
    review = dispute_review(store, dispute_id)
    if review is None:
        raise WorkflowError(
            f"dispute {dispute_id} was not escalated to a review; escalate it first",
            field="dispute_id",
            code="not_escalated",
            zh=f"异议 {dispute_id} 未转交人工复核；请先转交",
        )
    if review["decision"] is not None:
        raise WorkflowError(
            f"the review of dispute {dispute_id} was decided already ({review['decision']} on {review['decided_on']})",
            field="dispute_id",
            code="review_decided",
            zh=f"异议 {dispute_id} 的复核已有结论（{review['decided_on']}：{_REVIEW_TEXT[review['decision']][1]}）",
        )
    # an escalated dispute still lapses at its deadline if no one decided by then, whether or not the job ran since
    row = _overdue_lapsed(store, row, today)
    if row["status"] not in ("open", "verified"):
        raise WorkflowError(
            f"dispute {dispute_id} was closed ({row['status']}) while under review; nothing is left to decide",
            field="dispute_id",
            code="dispute_closed",
            zh=f"异议 {dispute_id} 在复核期间已结束（{status_zh(row['status'])}）；已无可决定之事",
        )

    escalated = dt.date.fromisoformat(str(review["escalated_on"]))
    not_before(dispute_id, today, escalated, "the review's decision", "escalated")
    then = (
        "the source sends it (correction=true) before the review decides 'corrected'",
        "须由来源先报送更正版本（correction=true），复核才能决定 'corrected'",
    )
    record = _disputed_record(store, row, decision, "decision", then)
    with store.transaction():
        if decision == "withdrawn" and not record["withdrawn"]:
            withdraw_version(store, record)
        store.execute(
            "UPDATE dispute_reviews SET decision = ?, reasons = ?, decided_on = ?, decided_by = ? WHERE dispute_id = ?",
            [decision, reasons_text, today, actor, dispute_id],
        )
        en, zh = _REVIEW_TEXT[decision]
        if row["status"] == "open":
            _close(store, row, _REVIEW_STATUS[decision], (reasons_text, reasons_text), actor, today)
        elif decision != "upheld":  # a verified dispute the review overturns
            store.execute(
                "UPDATE disputes SET status = ?, note = ?, note_zh = ? WHERE dispute_id = ?",
                [_REVIEW_STATUS[decision], reasons_text, reasons_text, dispute_id],
            )
        append_audit(
            store,
            actor,
            "dispute_reviewed",
            row["subject_id"],
            {
                "dispute_id": dispute_id,
                "decision": decision,
                "reasons": kept_words("dispute_reviews.reasons", reasons_text),
            },
        )
        notify(
            store,
            row["subject_id"],
            "dispute_reviewed",
            dispute_id,
            f"The human review of dispute {dispute_id} decided: {en}. Reasons: {reasons_text}",
            f"异议 {dispute_id} 的人工复核结论：{zh}。理由：{reasons_text}",
            today,
        )
    return get_dispute(store, dispute_id)


def lapse_overdue(store: Store, today: dt.date | None = None, actor: str = "registry") -> list[int]:
    """Resolve for the subject every open dispute whose deadline has passed by ``today``: its record is withdrawn.

    Each lapses as of the day after its deadline, whichever day this runs: the notice and the audit entry are dated
    that day, and a dispute lapses the same way whether the daily job ran every day or skipped some (a score run
    dated after the deadline lapses it first too: ``plugin.run_starting``)."""
    today = resolve_today(today)
    # A forwarded dispute lapses here too, at the deadline here: its answer must have arrived by then (the origin
    # region may never send one, e.g. when it does not trust this region's bundles), as a local source's must.
    overdue = store.rows(
        "SELECT d.* FROM disputes d WHERE d.status = 'open' AND d.deadline < ? ORDER BY d.deadline, d.dispute_id",
        [today],
    )
    for row in overdue:
        _lapse(store, row, actor)
    return sorted(int(r["dispute_id"]) for r in overdue)


def _lapse(store: Store, row: dict[str, Any], actor: str) -> None:
    """Resolve one open dispute past its deadline for the subject, as of the day after the deadline: its record is
    withdrawn, the subject told, audited (``lapsed_on``)."""
    forwarded_to = _forwarded_to(store, int(row["dispute_id"]))
    record = latest_record(store, row["source_id"], row["record_id"])
    deadline = row["deadline"].isoformat()
    lapsed_on: dt.date = row["deadline"] + dt.timedelta(days=1)
    note = (f"Not answered by {deadline}.", f"截至 {deadline} 未获答复。")
    if forwarded_to is not None:
        note = (
            f"Not answered by {deadline}: no answer from region {forwarded_to}, which recorded the record, arrived by "
            "then.",
            f"截至 {deadline} 未获答复：记录该记录的地区 {forwarded_to} 未在此前传来答复。",
        )
    with store.transaction():
        if not record["withdrawn"]:
            withdraw_version(store, record)
        _close(store, row, "lapsed", note, actor, lapsed_on)


def _overdue_lapsed(store: Store, row: dict[str, Any], today: dt.date) -> dict[str, Any]:
    """An open dispute past its deadline by ``today`` lapses now, as the daily job of the day after its deadline
    would have lapsed it (a step on it must not depend on whether the job ran since); returns the dispute's row as
    it stands."""
    if row["status"] == "open" and row["deadline"] < today:
        _lapse(store, row, "registry")
        return _row(store, int(row["dispute_id"]))
    return row


def list_disputes(
    store: Store,
    *,
    subject_id: str | None = None,
    source_id: str | None = None,
    status: str | None = None,
    actor: str | None = None,
    purpose: str | None = None,
    after: int | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Disputes, newest first, filtered by subject, source and status, a page of them with ``after`` (the last
    dispute_id of the page before) and ``limit``; with ``actor``, a look-up audited as ``read_disputes`` (the
    filters, how many it named, and ``purpose`` when given: the look-up of one subject's file it is part of)."""
    if status is not None and status not in STATUSES:
        raise bad_status(status, STATUSES)
    filters = (("subject_id", subject_id), ("source_id", source_id), ("status", status))
    rows = store.rows(*newest_first("disputes", "dispute_id", filters, after=after, limit=limit))
    if actor is not None:
        with store.transaction():
            detail: dict[str, Any] = {"source_id": source_id, "status": status, "entries": len(rows)}
            if purpose is not None:
                detail["purpose"] = purpose
            append_audit(store, actor, "read_disputes", subject_id, detail)
    return [_public(r) for r in rows]


def notify_recertified(store: Store, source_id: str, batch_id: int, today: dt.date) -> int:
    """Tell each subject whose record, withdrawn after a dispute, came back certified in this batch."""
    # Most sources have no such dispute: then no batch of theirs brings a record back, and the batch is not read.
    if not store.one(
        "SELECT count(*) FROM disputes WHERE source_id = ? AND status IN ('withdrawn', 'lapsed')", [source_id]
    ):
        return 0
    rows = store.rows(
        """SELECT DISTINCT r.subject_id, r.record_id, d.dispute_id FROM records r
           JOIN disputes d USING (source_id, record_id)
           WHERE r.batch_id = ? AND r.source_id = ? AND NOT r.withdrawn AND d.status IN ('withdrawn', 'lapsed')
           QUALIFY row_number() OVER (PARTITION BY r.record_id ORDER BY d.dispute_id DESC) = 1""",
        [batch_id, source_id],
    )
    for r in rows:
        notify(
            store,
            r["subject_id"],
            "record_recertified",
            r["dispute_id"],
            *recertified_words(store, source_id, r["record_id"]),
            today,
        )
        append_audit(store, f"source:{source_id}", "record_recertified", r["subject_id"], {"record_id": r["record_id"]})
    return len(rows)
