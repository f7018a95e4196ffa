"""Credit repair: after the minimum publication period of its severity class, a subject whose obligation is
fulfilled (the source reports it: judgment paid, tax settled) applies; an operator approves or refuses, with a
reason. An approved repair ends the listings the record caused (``repaired``) and the record no longer counts
(``registry/scoring/holds.py``); it stays in the subject's file, marked repaired. At the maximum publication period a
listing ends by itself (``registry/due_process/listings.py``).

A repair of a record another region shared (``records.origin_region``) is **forwarded** to that region, which
decides it under its own rules (its publication periods, its source's fulfilment report): no operator here decides
it, and the decision comes back in that region's next bundle (``regions/crossborder.py``, which also opens the
applications other regions forward here: ``open_received_repair``, and closes the forwarded ones:
``close_forwarded_repair``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from socialcredit.clock import resolve_today
from socialcredit.errors import NotFoundError, WorkflowError, WorkflowInputError
from socialcredit.identifiers import fold_record_id
from socialcredit.policy import LoadedPolicy
from socialcredit.registry.access.audit import append_audit, kept_words
from socialcredit.registry.common import bad_status, check_text, iso, newest_first
from socialcredit.registry.due_process.notifications import notify, source_names
from socialcredit.registry.due_process.severity import SEVERITY_ORDER, record_severity
from socialcredit.registry.records.origin import origin_reference
from socialcredit.registry.records.versions import latest_record, subjects_record
from socialcredit.registry.scoring.policies import policies_in_use
from socialcredit.store import Store

__all__ = [
    "ANSWER_DAYS",
    "REPAIR_STAGES",
    "REPAIR_STATUSES",
    "apply_for_repair",
    "close_forwarded_repair",
    "decide_repair",
    "flag_overdue_repairs",
    "get_repair",
    "list_repairs",
    "open_received_repair",
    "repair_eligibility",
    "report_fulfilment",
    "start_review",
]

REPAIR_STATUSES = ("pending", "approved", "refused")
# What a resident reads: an application is submitted, then under review once an operator takes it, then granted or
# refused (the stored statuses stay pending / approved / refused).
REPAIR_STAGES = ("submitted", "under_review", "granted", "refused")
# The registry answers an application, with reasons, within this many days of it being made; the daily job flags
# one still unanswered after that (``flag_overdue_repairs``).
ANSWER_DAYS = 15
_KEYS = (
    "repair_id",
    "subject_id",
    "source_id",
    "record_id",
    "policy_id",
    "severity",
    "statement",
    "status",
    "applied_on",
    "eligible_from",
    "decided_on",
    "decision_reason",
    # the reason in Chinese (the same when an operator wrote it; this region's refusal on arrival of a forwarded
    # application in Chinese; None when none was kept: before migration 41, or such a refusal before 2026-12-05)
    "decision_reason_zh",
    "commitment",
    "evidence",
    "answer_due",
    "review_started_on",
    "overdue_on",
    "representative_id",
)


def _stage(row: dict[str, Any]) -> str:
    if row["status"] == "approved":
        return "granted"
    if row["status"] == "refused":
        return "refused"
    return "under_review" if row.get("review_started_on") else "submitted"


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {**{k: iso(row.get(k)) for k in _KEYS}, "stage": _stage(row)}


def report_fulfilment(
    store: Store,
    source_id: str,
    record_id: str,
    *,
    fulfilled_on: dt.date | None = None,
    note: str | None = None,
    actor: str = "cli",
    today: dt.date | None = None,
) -> dict[str, Any]:
    """A source reports that the obligation behind one of its records is fulfilled (judgment paid, tax settled)."""
    today = resolve_today(today)
    record_id = fold_record_id(record_id)
    fulfilled_on = fulfilled_on or today
    if fulfilled_on > today:
        raise WorkflowInputError(
            f"fulfilled_on {fulfilled_on} is in the future",
            field="fulfilled_on",
            code="future_date",
            zh=f"履行日期 {fulfilled_on} 晚于今天",
        )
    try:
        record = latest_record(store, source_id, record_id)
    except NotFoundError as exc:
        raise WorkflowInputError(str(exc), field="record_id", code="unknown_record", zh=exc.zh) from None
    note_text = check_text(note, "note", required=False)
    name_en, name_zh = source_names(store, source_id)
    with store.transaction():
        fid = store.take_ids("fulfilment", 1)
        store.execute(
            "INSERT INTO fulfilments VALUES (?, ?, ?, ?, ?, ?, ?, now())",
            [fid, source_id, record_id, record["subject_id"], fulfilled_on, note_text, actor],
        )
        append_audit(
            store,
            actor,
            "fulfilment_reported",
            record["subject_id"],
            {"fulfilment_id": fid, "source": source_id, "record_id": record_id, "fulfilled_on": fulfilled_on},
        )
        notify(
            store,
            record["subject_id"],
            "fulfilment",
            fid,
            f"The {name_en} report the obligation of record {record_id} fulfilled on {fulfilled_on}. You may "
            "apply for credit repair once its minimum publication period has passed.",
            f"{name_zh}报告记录 {record_id} 所涉义务已于 {fulfilled_on} 履行。最短公示期满后可申请信用修复。",
            today,
        )
    return {"fulfilment_id": fid, "source_id": source_id, "record_id": record_id, "fulfilled_on": iso(fulfilled_on)}


def _policy_and_severity(store: Store, record: dict[str, Any], policy_id: str | None) -> tuple[LoadedPolicy, str]:
    candidates = [lp for lp in policies_in_use(store) if policy_id is None or lp.policy.id == policy_id]
    if policy_id is not None and not candidates:
        raise WorkflowInputError(f"no scored policy {policy_id!r}", field="policy_id", code="unknown_policy")
    graded = [(lp, record_severity(lp, record)) for lp in candidates]
    graded = [(lp, s) for lp, s in graded if s is not None]
    if not graded:
        raise WorkflowError(
            f"record {record['record_id']!r} is not a breach with a severity class under "
            + (policy_id or "any policy in use")
            + "; there is nothing to repair",
            field="record_id",
            code="nothing_to_repair",
            zh=f"记录 {record['record_id']} 在所用政策下不属于有严重程度等级的失信行为，无需修复",
        )
    # The strictest class decides when a repair may be asked for.
    lp, sev = max(graded, key=lambda g: SEVERITY_ORDER[g[1] or "minor"])
    assert sev is not None
    return lp, sev


def _publication(
    store: Store, record: dict[str, Any], policy_id: str | None
) -> tuple[LoadedPolicy, str, dt.date, int, dt.date, dt.date | None]:
    """The policy and severity class that decide a repair of ``record``, when its publication started, the minimum
    publication days, the first day repair may be asked, and the day its publication ends by itself (None: the class
    sets no maximum)."""
    loaded, severity = _policy_and_severity(store, record, policy_id)
    cls = loaded.policy.severities.get(severity)  # type: ignore[call-overload]
    # Publication starts when a listing caused by the record took effect; a record that listed no one, at its event.
    started = store.one(
        "SELECT min(effective_on) FROM listings WHERE policy_id = ? AND source_id = ? AND record_id = ? "
        "AND status NOT IN ('pending', 'resolved')",
        [loaded.policy.id, record["source_id"], record["record_id"]],
    )
    start: dt.date = started or record["event_date"]
    min_days = cls.min_publication_days if cls else 0
    ends = start + dt.timedelta(days=cls.max_publication_days) if cls else None
    return loaded, severity, start, min_days, start + dt.timedelta(days=min_days), ends


def _fulfilled_on(store: Store, source_id: str, record_id: str) -> dt.date | None:
    found = store.one(
        "SELECT max(fulfilled_on) FROM fulfilments WHERE source_id = ? AND record_id = ?", [source_id, record_id]
    )
    return found if isinstance(found, dt.date) else None


def repair_eligibility(
    store: Store,
    subject_id: str,
    source_id: str,
    record_id: str,
    *,
    today: dt.date | None = None,
    policy_id: str | None = None,
    record: dict[str, Any] | None = None,
    actor: str | None = None,
    purpose: str | None = None,
) -> dict[str, Any]:
    """Whether the resident may apply for repair of one of their records today, and why (not): the severity class
    and its policy, the first day repair may be asked (``eligible_from``), the day publication ends by itself
    (``ends_on``), whether the source reported the obligation fulfilled (``fulfilled_on``), an application already
    open, and ``eligible`` with the ``blockers`` (codes: nothing_to_repair, record_withdrawn, too_early,
    not_fulfilled, already_applied; a record of another region is decided there: ``forwarded_to``). ``record`` is
    the record's latest version when the caller has read it already (it must be the subject's). With ``actor``, a
    look-up audited as ``read_record`` (the source, the record and ``purpose``; ``repair eligibility``), as the
    record's page is."""
    today = resolve_today(today)
    record_id = fold_record_id(record_id)
    if record is None or record["subject_id"] != subject_id:
        record = subjects_record(store, subject_id, source_id, record_id)
    if actor is not None:
        with store.transaction():
            detail = {"source_id": source_id, "record_id": record_id, "purpose": purpose}
            append_audit(store, actor, "read_record", subject_id, detail)
    out: dict[str, Any] = {
        "source_id": source_id,
        "record_id": record_id,
        "policy_id": None,
        "severity": None,
        "published_from": None,
        "min_publication_days": None,
        "eligible_from": None,
        "ends_on": None,
        "fulfilled_on": iso(_fulfilled_on(store, source_id, record_id)),
        "open_repair": None,
        "forwarded_to": record.get("origin_region") or None,
        "blockers": [],
    }
    try:
        loaded, severity, start, min_days, eligible, ends = _publication(store, record, policy_id)
    except WorkflowError as exc:
        out["blockers"].append(exc.code)
    else:
        out.update(
            policy_id=loaded.policy.id,
            severity=severity,
            published_from=iso(start),
            min_publication_days=min_days,
            eligible_from=iso(eligible),
            ends_on=iso(ends),
        )
        if today < eligible and not out["forwarded_to"]:
            out["blockers"].append("too_early")
    if record["withdrawn"]:
        out["blockers"].append("record_withdrawn")
    if out["fulfilled_on"] is None and not out["forwarded_to"]:
        out["blockers"].append("not_fulfilled")
    open_repair = _open_repair(store, record_id, source_id)
    if open_repair is not None:
        out["open_repair"] = int(open_repair)
        out["blockers"].append("already_applied")
    out["eligible"] = not out["blockers"]
    return out


_SEVERITY_ZH = {"minor": "轻微", "general": "一般", "serious": "严重"}


def _eligible(
    store: Store, record: dict[str, Any], policy_id: str | None, today: dt.date
) -> tuple[LoadedPolicy, str, dt.date]:
    """This region's rules for a repair of ``record`` applied for on ``today``: the policy and severity class, and
    the day it may be applied for; WorkflowError when too early or the obligation is not reported fulfilled."""
    source_id, record_id = record["source_id"], record["record_id"]
    loaded, severity, start, min_days, eligible, _ends = _publication(store, record, policy_id)
    if today < eligible:
        raise WorkflowError(
            f"a {severity} breach is published for at least {min_days} days (from "
            f"{start.isoformat()}); you may apply for repair from {eligible.isoformat()}",
            field="record_id",
            code="too_early",
            zh=f"{_SEVERITY_ZH.get(severity, severity)}失信行为至少公示 {min_days} 天（自 {start.isoformat()} 起）；"
            f"可自 {eligible.isoformat()} 起申请信用修复",
        )
    if not store.one("SELECT count(*) FROM fulfilments WHERE source_id = ? AND record_id = ?", [source_id, record_id]):
        raise WorkflowError(
            f"source {source_id} has not reported the obligation of record {record_id!r} fulfilled; fulfil it (pay "
            "the judgment, settle the tax) and ask the source to report it, then apply",
            field="record_id",
            code="not_fulfilled",
            zh=f"{source_names(store, source_id)[1]}尚未报告记录 {record_id} 所涉义务已履行；请履行义务（履行判决、"
            "补缴税款）并请来源报告后再申请",
        )
    return loaded, severity, eligible


_COLUMNS = (
    "repair_id, subject_id, source_id, record_id, policy_id, severity, statement, status, applied_on, eligible_from, "
    "decided_on, decided_seq, decision_reason, applied_by, decided_by, recorded_at, commitment, evidence, answer_due, "
    "representative_id"
)


def _open_repair(store: Store, record_id: str, source_id: str) -> Any:
    return store.one(
        "SELECT repair_id FROM repairs WHERE source_id = ? AND record_id = ? AND status IN ('pending', 'approved')",
        [source_id, record_id],
    )


def _withdrawn(record_id: str) -> WorkflowError:
    return WorkflowError(
        f"record {record_id!r} is withdrawn; it no longer counts",
        field="record_id",
        code="record_withdrawn",
        zh=f"记录 {record_id} 已撤回，不再计入",
    )


def apply_for_repair(
    store: Store,
    subject_id: str,
    source_id: str,
    record_id: str,
    statement: str,
    actor: str = "cli",
    *,
    today: dt.date | None = None,
    policy_id: str | None = None,
    commitment: str | None = None,
    evidence: str | None = None,
    representative_id: str | None = None,
) -> dict[str, Any]:
    """Apply for repair of one record; refused before the minimum publication period or without fulfilment. A
    record another region shared is forwarded there: that region's rules decide it, not this one's.
    ``representative_id``: the legal representative applying for the organisation ``subject_id`` (the caller has
    checked the role).

    ``commitment`` is the resident's written commitment (信用承诺) to keep their obligations; ``evidence`` what they
    offer in support. The registry answers by ``answer_due`` (``ANSWER_DAYS`` after the application)."""
    today = resolve_today(today)
    record_id = fold_record_id(record_id)
    text = check_text(statement, "statement")
    promise = check_text(commitment, "commitment", required=False)
    shown = check_text(evidence, "evidence", required=False)
    record = subjects_record(store, subject_id, source_id, record_id)
    if record["withdrawn"]:
        raise _withdrawn(record_id)
    open_repair = _open_repair(store, record_id, source_id)
    if open_repair is not None:
        raise WorkflowError(
            f"record {record_id!r} already has repair application {open_repair}",
            field="record_id",
            code="already_applied",
            zh=f"记录 {record_id!r} 已有信用修复申请 {open_repair}",
        )
    origin = record.get("origin_region")
    if origin:
        # The origin region's publication periods and its source's fulfilment report decide; not checked here.
        loaded, severity = _policy_and_severity(store, record, policy_id)
        eligible = today
    else:
        loaded, severity, eligible = _eligible(store, record, policy_id, today)
    with store.transaction():
        rid = store.take_ids("repair", 1)
        store.execute(
            f"INSERT INTO repairs ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, NULL, NULL, NULL, ?, "
            "NULL, now(), ?, ?, ?, ?)",
            [
                rid,
                subject_id,
                source_id,
                record_id,
                loaded.policy.id,
                severity,
                text,
                today,
                eligible,
                actor,
                promise,
                shown,
                today + dt.timedelta(days=ANSWER_DAYS),
                representative_id,
            ],
        )
        detail: dict[str, Any] = {"repair_id": rid, "source": source_id, "record_id": record_id, "severity": severity}
        if representative_id is not None:
            detail["representative"] = representative_id
        if origin:
            _forward(store, rid, str(origin), source_id, record_id)
            detail["forwarded_to"] = origin
            notify(
                store,
                subject_id,
                "repair_forwarded",
                rid,
                f"Your repair application {rid} (record {record_id}) was received; the record was recorded in region "
                f"{origin}: the application is forwarded there and decided under its rules.",
                f"您的信用修复申请 {rid}（记录 {record_id}）已受理；该记录由地区 {origin} 记录：申请已转交该地区，"
                "按其规则决定。",
                today,
            )
        append_audit(store, actor, "repair_applied", subject_id, detail)
    return _get(store, rid)


def _forward(store: Store, repair_id: int, origin: str, source_id: str, record_id: str) -> None:
    """Mark a repair of another region's record as forwarded to it; its next bundle carries it there."""
    origin_record_id, origin_subject = origin_reference(store, origin, source_id, record_id)
    store.execute(
        "INSERT INTO region_repairs VALUES (?, 'forwarded', ?, NULL, ?, ?, ?, NULL)",
        [repair_id, origin, source_id, origin_record_id, origin_subject],
    )


def _forwarded_to(store: Store, repair_id: int) -> str | None:
    found = store.one("SELECT region FROM region_repairs WHERE repair_id = ? AND direction = 'forwarded'", [repair_id])
    return None if found is None else str(found)


def open_received_repair(
    store: Store,
    origin: str,
    remote_repair_id: int,
    record: dict[str, Any],
    statement: str,
    *,
    applied_on: dt.date,
    actor: str,
) -> int:
    """Open here a repair application region ``origin`` forwarded (of ``record``, one of this region's own): this
    region's rules apply as on the day it was filed there; one they refuse is refused at once, with their reason,
    and that answer goes back. An application already open for the record is that one. Returns its id. Call inside
    a transaction."""
    source_id, record_id, subject_id = record["source_id"], record["record_id"], record["subject_id"]
    existing = _open_repair(store, record_id, source_id)
    if existing is not None:
        rid = int(existing)
    else:
        refusal: str | None = None
        refusal_zh: str | None = None
        policy, severity, eligible = "", None, applied_on
        try:
            if record["withdrawn"]:
                raise _withdrawn(record_id)
            loaded, severity, eligible = _eligible(store, record, None, applied_on)
            policy = loaded.policy.id
        except WorkflowError as exc:
            refusal, refusal_zh = str(exc), exc.said_in("zh")
        rid = store.take_ids("repair", 1)
        store.execute(
            f"INSERT INTO repairs ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, now(), NULL, "
            f"NULL, CAST(? AS DATE) + {ANSWER_DAYS}, NULL)",
            [
                rid,
                subject_id,
                source_id,
                record_id,
                policy,
                severity,
                statement,
                "refused" if refusal else "pending",
                applied_on,
                eligible,
                applied_on if refusal else None,
                refusal,
                f"region:{origin}",
                "registry" if refusal else None,
                applied_on,
            ],
        )
        if refusal_zh is not None:  # this region's refusal, in both languages as every decision's reason is
            store.execute("UPDATE repairs SET decision_reason_zh = ? WHERE repair_id = ?", [refusal_zh, rid])
        append_audit(
            store,
            actor,
            "repair_applied",
            subject_id,
            {"repair_id": rid, "source": source_id, "record_id": record_id, "origin": origin, "refused": refusal},
        )
    store.execute(
        "INSERT INTO region_repairs VALUES (?, 'received', ?, ?, ?, ?, ?, NULL) ON CONFLICT DO NOTHING",
        [rid, origin, remote_repair_id, source_id, record_id, subject_id],
    )
    return rid


def close_forwarded_repair(
    store: Store, repair_id: int, outcome: str, reason: tuple[str, str], actor: str, *, today: dt.date
) -> bool:
    """Decide a forwarded repair with the origin region's decision (``approved`` or ``refused``; ``reason``: English
    and Chinese); an approved one ends what listings of the record are still active here. False if it was decided
    already. Call inside a transaction."""
    rows = store.rows("SELECT * FROM repairs WHERE repair_id = ?", [repair_id])
    if not rows or rows[0]["status"] != "pending":
        return False
    _decide(store, rows[0], outcome, reason, actor, today)
    return True


def _get(store: Store, repair_id: int) -> dict[str, Any]:
    rows = store.rows("SELECT * FROM repairs WHERE repair_id = ?", [repair_id])
    if not rows:
        raise NotFoundError(f"no repair application {repair_id}")
    return _public(rows[0])


def get_repair(store: Store, repair_id: int) -> dict[str, Any]:
    """One application, with ``forwarded_to`` (the region deciding it, if another region recorded the record)."""
    return {**_get(store, repair_id), "forwarded_to": _forwarded_to(store, repair_id)}


def _not_before_application(repair_id: int, today: dt.date, applied_on: dt.date, what: str) -> None:
    """Refuse a step on an application dated before it was made: the registry's clock moved back (``--today``,
    ``$SOCIALCREDIT_TODAY``), and the record would say it was decided before it was asked."""
    if today < applied_on:
        raise WorkflowError(
            f"repair application {repair_id} was made on {applied_on.isoformat()}; {what} cannot be dated "
            f"{today.isoformat()}, before that",
            field="today",
            code="before_application",
        )


def start_review(store: Store, repair_id: int, actor: str, *, today: dt.date | None = None) -> dict[str, Any]:
    """An operator takes a submitted application under review (the resident is told); an application already under
    review, or decided, is left as it is."""
    today = resolve_today(today)
    row = _get(store, repair_id)
    if row["status"] != "pending" or row["review_started_on"] is not None:
        return row
    if _forwarded_to(store, repair_id) is not None:
        raise WorkflowError(
            f"repair application {repair_id} was forwarded to the region that recorded the record; it is reviewed "
            "there",
            field="repair_id",
            code="repair_forwarded",
        )
    _not_before_application(repair_id, today, dt.date.fromisoformat(str(row["applied_on"])), "its review")
    with store.transaction():
        store.execute(
            "UPDATE repairs SET review_started_on = ?, review_started_by = ? WHERE repair_id = ?",
            [today, actor, repair_id],
        )
        notify(
            store,
            row["subject_id"],
            "repair_under_review",
            repair_id,
            f"Your repair application {repair_id} (record {row['record_id']}) is under review; the answer, with its "
            f"reasons, is due by {row['answer_due']}.",
            f"您的信用修复申请 {repair_id}（记录 {row['record_id']}）正在审核；"
            f"将于 {row['answer_due']} 前答复并说明理由。",
            today,
        )
        append_audit(store, actor, "repair_review_started", row["subject_id"], {"repair_id": repair_id})
    return _get(store, repair_id)


def flag_overdue_repairs(store: Store, today: dt.date) -> list[int]:
    """The daily job: flag every application still unanswered after its ``answer_due`` (once), tell its resident,
    and audit the list; returns the ids flagged. Applications forwarded to another region are that region's to
    answer and are not flagged here. An application is overdue from the day after its ``answer_due``, whichever day
    the job runs: ``overdue_on`` and the notice are dated that day (until 2026-12-05 a job that skipped days dated
    them the day it next ran)."""
    with store.transaction():
        rows = store.execute(
            """UPDATE repairs SET overdue_on = answer_due + 1
            WHERE status = 'pending' AND answer_due < $today AND overdue_on IS NULL
              AND repair_id NOT IN (SELECT repair_id FROM region_repairs WHERE direction = 'forwarded')
            RETURNING repair_id, subject_id, record_id, answer_due""",
            {"today": today},
        ).fetchall()
        rows = sorted(rows)
        for repair_id, subject_id, record_id, due in rows:
            notify(
                store,
                str(subject_id),
                "repair_overdue",
                int(repair_id),
                f"Your repair application {repair_id} (record {record_id}) was not answered by {due.isoformat()}; the "
                "registry has flagged it as overdue to the operators, who must answer it first.",
                f"您的信用修复申请 {repair_id}（记录 {record_id}）未在 {due.isoformat()} 前获得答复；"
                "登记机构已将其标记为逾期，运营人员须优先答复。",
                due + dt.timedelta(days=1),
            )
        if rows:
            append_audit(
                store, "registry", "repairs_overdue", None, {"on": today, "repairs": [int(r[0]) for r in rows]}
            )
    return [int(r[0]) for r in rows]


def decide_repair(
    store: Store,
    repair_id: int,
    outcome: str,
    reason: str,
    actor: str,
    *,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """An operator approves (``approved``) or refuses (``refused``) a pending application, giving a reason."""
    today = resolve_today(today)
    if outcome not in ("approved", "refused"):
        raise WorkflowInputError(
            f"outcome must be approved or refused, not {outcome!r}", field="outcome", code="bad_outcome"
        )
    why = check_text(reason, "reason")
    assert why is not None
    rows = store.rows("SELECT * FROM repairs WHERE repair_id = ?", [repair_id])
    if not rows:
        raise NotFoundError(f"no repair application {repair_id}")
    row = rows[0]
    if row["status"] != "pending":
        raise WorkflowError(
            f"repair application {repair_id} was decided already ({row['status']})",
            field="repair_id",
            code="already_decided",
        )
    forwarded = _forwarded_to(store, repair_id)
    if forwarded is not None:
        raise WorkflowError(
            f"repair application {repair_id} was forwarded to region {forwarded}, which recorded the record; it is "
            "decided there, under its rules, and the decision arrives in that region's next bundle",
            field="repair_id",
            code="repair_forwarded",
        )
    _not_before_application(repair_id, today, row["applied_on"], "its decision")
    with store.transaction():
        _decide(store, row, outcome, (why, why), actor, today)
    return _get(store, repair_id)


def _decide(
    store: Store, row: dict[str, Any], outcome: str, reason: tuple[str, str], actor: str, today: dt.date
) -> None:
    """Record a decision (inside a transaction): an approved repair ends the record's listings; told, audited
    (``reason``: English and Chinese, both stored; an operator's own reason is the same in both)."""
    why, why_zh = reason
    repair_id = int(row["repair_id"])
    seq = store.take_ids("seq", 1) if outcome == "approved" else None
    store.execute(
        "UPDATE repairs SET status = ?, decided_on = ?, decided_seq = ?, decision_reason = ?, decision_reason_zh = ?, "
        "decided_by = ? WHERE repair_id = ?",
        [outcome, today, seq, why, why_zh, actor, repair_id],
    )
    if outcome == "approved":
        store.execute(
            "UPDATE listings SET status = 'repaired', closed_on = ? WHERE source_id = ? AND record_id = ? "
            "AND status IN ('pending', 'effective')",
            [today, row["source_id"], row["record_id"]],
        )
    en = "approved: the record no longer counts and its listings end" if outcome == "approved" else "refused"
    zh = "已批准：该记录不再计入，相关名单停止公示" if outcome == "approved" else "未获批准"
    notify(
        store,
        row["subject_id"],
        "repair_" + outcome,
        repair_id,
        f"Your repair application {repair_id} (record {row['record_id']}) was {en}. Reason: {why}",
        f"您的信用修复申请 {repair_id}（记录 {row['record_id']}）{zh}。理由：{why_zh}",
        today,
    )
    append_audit(
        store,
        actor,
        "repair_" + outcome,
        row["subject_id"],
        {"repair_id": repair_id, "reason": kept_words("repairs.decision_reason", why)},
    )


def list_repairs(
    store: Store,
    *,
    subject_id: str | None = None,
    status: str | None = None,
    actor: str | None = None,
    after: int | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Repair applications, newest first, filtered by subject and status, a page of them with ``after`` (the last
    repair_id of the page before) and ``limit``; with ``actor``, a look-up audited as ``read_repairs`` (the status
    asked, how many it named)."""
    if status is not None and status not in REPAIR_STATUSES:
        raise bad_status(status, REPAIR_STATUSES)
    filters = (("subject_id", subject_id), ("status", status))
    rows = store.rows(*newest_first("repairs", "repair_id", filters, after=after, limit=limit))
    if actor is not None:
        with store.transaction():
            append_audit(store, actor, "read_repairs", subject_id, {"status": status, "entries": len(rows)})
    return [_public(r) for r in rows]
