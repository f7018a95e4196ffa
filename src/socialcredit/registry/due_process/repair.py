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
from socialcredit.policy import LoadedPolicy
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.common import check_text, iso
from socialcredit.registry.due_process.notifications import notify
from socialcredit.registry.due_process.severity import SEVERITY_ORDER, record_severity
from socialcredit.registry.records.origin import origin_reference
from socialcredit.registry.records.versions import latest_record, subjects_record
from socialcredit.registry.scoring.policies import policies_in_use
from socialcredit.store import Store

__all__ = [
    "REPAIR_STATUSES",
    "apply_for_repair",
    "close_forwarded_repair",
    "decide_repair",
    "list_repairs",
    "open_received_repair",
    "report_fulfilment",
]

REPAIR_STATUSES = ("pending", "approved", "refused")
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
)


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {k: iso(row[k]) for k in _KEYS}


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
    fulfilled_on = fulfilled_on or today
    if fulfilled_on > today:
        raise WorkflowInputError(
            f"fulfilled_on {fulfilled_on} is in the future", field="fulfilled_on", code="future_date"
        )
    try:
        record = latest_record(store, source_id, record_id)
    except NotFoundError as exc:
        raise WorkflowInputError(str(exc), field="record_id", code="unknown_record") from None
    note_text = check_text(note, "note", required=False)
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
            f"Source {source_id} reports the obligation of record {record_id} fulfilled on {fulfilled_on}. You may "
            "apply for credit repair once its minimum publication period has passed.",
            f"来源 {source_id} 报告记录 {record_id} 所涉义务已于 {fulfilled_on} 履行。最短公示期满后可申请信用修复。",
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
        )
    # The strictest class decides when a repair may be asked for.
    lp, sev = max(graded, key=lambda g: SEVERITY_ORDER[g[1] or "minor"])
    assert sev is not None
    return lp, sev


def _eligible(
    store: Store, record: dict[str, Any], policy_id: str | None, today: dt.date
) -> tuple[LoadedPolicy, str, dt.date]:
    """This region's rules for a repair of ``record`` applied for on ``today``: the policy and severity class, and
    the day it may be applied for; WorkflowError when too early or the obligation is not reported fulfilled."""
    source_id, record_id = record["source_id"], record["record_id"]
    loaded, severity = _policy_and_severity(store, record, policy_id)
    cls = loaded.policy.severities.get(severity)  # type: ignore[call-overload]
    # Publication starts when a listing caused by the record took effect; a record that listed no one, at its event.
    started = store.one(
        "SELECT min(effective_on) FROM listings WHERE policy_id = ? AND source_id = ? AND record_id = ? "
        "AND status NOT IN ('pending', 'resolved')",
        [loaded.policy.id, source_id, record_id],
    )
    start: dt.date = started or record["event_date"]
    eligible = start + dt.timedelta(days=cls.min_publication_days if cls else 0)
    if today < eligible:
        raise WorkflowError(
            f"a {severity} breach is published for at least {cls.min_publication_days if cls else 0} days (from "
            f"{start.isoformat()}); you may apply for repair from {eligible.isoformat()}",
            field="record_id",
            code="too_early",
        )
    if not store.one("SELECT count(*) FROM fulfilments WHERE source_id = ? AND record_id = ?", [source_id, record_id]):
        raise WorkflowError(
            f"source {source_id} has not reported the obligation of record {record_id!r} fulfilled; fulfil it (pay "
            "the judgment, settle the tax) and ask the source to report it, then apply",
            field="record_id",
            code="not_fulfilled",
        )
    return loaded, severity, eligible


def _open_repair(store: Store, record_id: str, source_id: str) -> Any:
    return store.one(
        "SELECT repair_id FROM repairs WHERE source_id = ? AND record_id = ? AND status IN ('pending', 'approved')",
        [source_id, record_id],
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
) -> dict[str, Any]:
    """Apply for repair of one record; refused before the minimum publication period or without fulfilment. A
    record another region shared is forwarded there: that region's rules decide it, not this one's."""
    today = resolve_today(today)
    text = check_text(statement, "statement")
    record = subjects_record(store, subject_id, source_id, record_id)
    if record["withdrawn"]:
        raise WorkflowError(
            f"record {record_id!r} is withdrawn; it no longer counts", field="record_id", code="record_withdrawn"
        )
    open_repair = _open_repair(store, record_id, source_id)
    if open_repair is not None:
        raise WorkflowError(
            f"record {record_id!r} already has repair application {open_repair}",
            field="record_id",
            code="already_applied",
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
            "INSERT INTO repairs VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, NULL, NULL, NULL, ?, NULL, now())",
            [rid, subject_id, source_id, record_id, loaded.policy.id, severity, text, today, eligible, actor],
        )
        detail: dict[str, Any] = {"repair_id": rid, "source": source_id, "record_id": record_id, "severity": severity}
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
        policy, severity, eligible = "", None, applied_on
        try:
            if record["withdrawn"]:
                raise WorkflowError(f"record {record_id!r} is withdrawn; it no longer counts")
            loaded, severity, eligible = _eligible(store, record, None, applied_on)
            policy = loaded.policy.id
        except WorkflowError as exc:
            refusal = str(exc)
        rid = store.take_ids("repair", 1)
        store.execute(
            "INSERT INTO repairs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, now())",
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
            ],
        )
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
    store: Store, repair_id: int, outcome: str, reason: str, actor: str, *, today: dt.date
) -> bool:
    """Decide a forwarded repair with the origin region's decision (``approved`` or ``refused``); an approved one
    ends what listings of the record are still active here. False if it was decided already. Call inside a
    transaction."""
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
    with store.transaction():
        _decide(store, row, outcome, why, actor, today)
    return _get(store, repair_id)


def _decide(store: Store, row: dict[str, Any], outcome: str, why: str, actor: str, today: dt.date) -> None:
    """Record a decision (inside a transaction): an approved repair ends the record's listings; told, audited."""
    repair_id = int(row["repair_id"])
    seq = store.take_ids("seq", 1) if outcome == "approved" else None
    store.execute(
        "UPDATE repairs SET status = ?, decided_on = ?, decided_seq = ?, decision_reason = ?, decided_by = ? "
        "WHERE repair_id = ?",
        [outcome, today, seq, why, actor, repair_id],
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
        f"您的信用修复申请 {repair_id}（记录 {row['record_id']}）{zh}。理由：{why}",
        today,
    )
    append_audit(store, actor, "repair_" + outcome, row["subject_id"], {"repair_id": repair_id, "reason": why})


def list_repairs(store: Store, *, subject_id: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
    if status is not None and status not in REPAIR_STATUSES:
        raise WorkflowInputError(
            f"status must be one of {', '.join(REPAIR_STATUSES)}, not {status!r}", field="status", code="bad_status"
        )
    where, params = [], []
    for col, value in (("subject_id", subject_id), ("status", status)):
        if value is not None:
            where.append(f"{col} = ?")
            params.append(value)
    sql = "SELECT * FROM repairs" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY repair_id DESC"
    return [_public(r) for r in store.rows(sql, params)]
