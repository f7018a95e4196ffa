"""Due process across borders: disputes forwarded to the region that recorded the record, answers sent back,
the origin's listing dates and ends, and the certification a record brought back after a dispute needs.

Three payload sections travel beside ``records`` and ``list_entries`` (docs/regions.md, "Due process across
borders"); a bundle without them (from before them) imports as before:

* ``disputes`` — disputes filed here of records another region recorded, addressed to that region (``to``): the
  origin's source, record id and subject id, the filing date, the text and the deadline. The origin region opens
  each with the furnisher that owns the record, with the same deadline, under its own rules.
* ``answers`` — the outcome of disputes another region forwarded here (``verified``, ``corrected``, ``withdrawn``
  or ``lapsed``), with the record's version after it; the region that filed it closes its dispute with it.
* ``listings`` — this region's listings of its own shared records (a full picture, like ``list_entries``): notice
  date, grace, effective date, whether in grace, and how and when an ended one ended. The importer's listing of the
  same record keeps those dates, and ends the day the origin's ended.

Three more carry repairs and what residents add to forwarded disputes:

* ``repairs`` — repair applications filed here of records another region recorded (``to``), with the filing
  date and the statement; the origin region decides each under its own rules (``open_received_repair``).
* ``repair_answers`` — the decision (``approved`` or ``refused``, the day, the reason, in English and Chinese) on
  applications another region forwarded here; the region that filed it decides its application with it. The end of
  the listing travels in ``listings`` as any other end does.
* ``dispute_information`` — information a resident added here to a dispute already forwarded: the origin keeps it
  and extends the deadline as it would have had it been added there that day.

Records carry ``certified``: true for a version its source certified accurate after a dispute withdrew the record.
An importer applies a version that would bring back a record withdrawn here after a dispute only if it is certified.

``export_sections`` and ``mark_sent`` are the exporter's hooks, ``validate`` and ``apply`` the importer's (``apply``
inside the import's transaction, after the bundle's records are kept in ``region_records`` and before they are
applied).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from socialcredit.clock import resolve_today
from socialcredit.errors import BundleError, SocialCreditError
from socialcredit.identifiers import fold_record_id
from socialcredit.policy.model import MAX_DAYS
from socialcredit.regions.validate import shown
from socialcredit.registry import (
    add_received_information,
    append_audit,
    close_forwarded,
    close_forwarded_repair,
    dispute_periods,
    end_for_origin,
    get_policy,
    notify,
    open_received,
    open_received_repair,
    recertified_words,
)
from socialcredit.store import Store
from socialcredit.textcheck import control_character

__all__ = ["SECTIONS", "apply", "certified_versions", "export_sections", "mark_sent", "validate"]

SECTIONS = ("disputes", "answers", "listings", "repairs", "repair_answers", "dispute_information")
_ANSWER_STATUSES = ("verified", "corrected", "withdrawn", "lapsed")
_LISTING_STATUSES = ("pending", "effective", "resolved", "delisted", "publication_ended", "repaired", "overridden")
_ACTIVE = ("pending", "effective")
_REPAIR_OUTCOMES = ("approved", "refused")

# field: (type, required) — "text" non-empty text (lines of plain text), "id" non-empty printable text, "date" ISO
# date, "int" whole number, "bool", "opt_text"/"opt_date"
_FIELDS: dict[str, dict[str, str]] = {
    "disputes": {
        "to": "region",
        "dispute_id": "int",
        "source_id": "id",
        "record_id": "id",
        "subject_id": "id",
        "filed_on": "date",
        "deadline": "date",
        "reason": "text",
        "evidence": "opt_text",
    },
    "answers": {
        "to": "region",
        "dispute_id": "int",
        "source_id": "id",
        "record_id": "id",
        "outcome": "outcome",
        "answered_on": "date",
        "note": "opt_text",
        "version": "int",
        "withdrawn": "bool",
    },
    "listings": {
        "subject_id": "id",
        "list_id": "id",
        "criterion_id": "id",
        "source_id": "id",
        "record_id": "id",
        "noticed_on": "date",
        "effective_on": "date",
        "grace_days": "int",
        "in_grace": "bool",
        "status": "listing_status",
        "closed_on": "opt_date",
    },
    "repairs": {
        "to": "region",
        "repair_id": "int",
        "source_id": "id",
        "record_id": "id",
        "subject_id": "id",
        "applied_on": "date",
        "statement": "text",
    },
    "repair_answers": {
        "to": "region",
        "repair_id": "int",
        "source_id": "id",
        "record_id": "id",
        "outcome": "repair_outcome",
        "decided_on": "date",
        "reason": "text",
        "reason_zh": "opt_text",  # the reason in Chinese (bundles before 2026-12-05 carry the English only)
    },
    "dispute_information": {
        "to": "region",
        "dispute_id": "int",
        "added_on": "date",
        "text": "text",
    },
}


def _bad(section: str, i: int, field: str, value: Any, what: str) -> BundleError:
    return BundleError(f"malformed: {section}[{i}].{field} {shown(value)} {what}")  # cut at 40 characters


def _check(section: str, i: int, field: str, kind: str, value: Any) -> None:
    if kind in ("opt_text", "opt_date") and value is None:
        return
    if kind in ("text", "opt_text", "id"):
        if not isinstance(value, str) or not value:
            raise _bad(section, i, field, value, "is not a non-empty text")
        # an id is printable text; a person's or an operator's text may run over lines and hold tabs (as
        # registry.check_text takes it), never another control character nor a bidirectional control
        control = control_character(value, "" if kind == "id" else "\n\r\t")
        if control is not None:
            rule = "an identifier is printable text" if kind == "id" else "a text is plain text"
            where = f"{section}[{i}].{field} {shown(value)}"  # quoted as the records' checks quote (40 characters)
            raise BundleError(f"malformed: {where} has a control character (U+{ord(control):04X}); {rule}")
    elif kind == "region":
        if not (isinstance(value, str) and len(value) == 6 and value.isdigit()):
            raise _bad(section, i, field, value, "is not a six-digit region code")
    elif kind in ("date", "opt_date"):
        try:
            dt.date.fromisoformat(value if isinstance(value, str) else "")
        except ValueError:
            raise _bad(section, i, field, value, "is not a date") from None
    elif kind == "int":
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise _bad(section, i, field, value, "is not a whole number")
    elif kind == "bool":
        if not isinstance(value, bool):
            raise _bad(section, i, field, value, "is not true or false")
    elif kind == "outcome":
        if value not in _ANSWER_STATUSES:
            raise _bad(section, i, field, value, f"is not one of {', '.join(_ANSWER_STATUSES)}")
    elif kind == "repair_outcome":
        if value not in _REPAIR_OUTCOMES:
            raise _bad(section, i, field, value, f"is not one of {', '.join(_REPAIR_OUTCOMES)}")
    elif kind == "listing_status" and value not in _LISTING_STATUSES:
        raise _bad(section, i, field, value, f"is not one of {', '.join(_LISTING_STATUSES)}")


def validate(payload: dict[str, Any]) -> None:
    """Refuse (BundleError ``malformed: …``) a payload whose cross-border sections, or records' ``certified``, are
    wrong; a payload without the sections (a bundle from before them) passes."""
    for section, fields in _FIELDS.items():
        if section not in payload:
            continue
        items = payload[section]
        if not isinstance(items, list):
            raise BundleError(f"malformed: {section} must be a list")
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise BundleError(f"malformed: {section}[{i}] is not an object")
            absent = [f for f, kind in fields.items() if f not in item and not kind.startswith("opt_")]
            if absent:
                raise BundleError(f"malformed: {section}[{i}] has no {', '.join(absent)}")
            for f, kind in fields.items():
                _check(section, i, f, kind, item.get(f))
            if section == "listings":
                noticed, effective = (
                    dt.date.fromisoformat(item["noticed_on"]),
                    dt.date.fromisoformat(item["effective_on"]),
                )
                if effective < noticed:
                    raise _bad(section, i, "effective_on", item["effective_on"], "is before noticed_on")
                if item["status"] not in _ACTIVE and item.get("closed_on") is None:
                    raise BundleError(f"malformed: {section}[{i}] is {item['status']} but has no closed_on")
    if "dispute_rules" in payload:
        _check_rules(payload["dispute_rules"])
    records = payload.get("records")
    for i, item in enumerate(records if isinstance(records, list) else []):
        if isinstance(item, dict) and "certified" in item and not isinstance(item["certified"], bool):
            raise _bad("records", i, "certified", item["certified"], "is not true or false")


def _check_rules(rules: Any) -> None:
    """The filing region's published answer periods: whole numbers of days from 1, the extended one not shorter."""
    if not isinstance(rules, dict):
        raise BundleError("malformed: dispute_rules is not an object")
    for name in ("answer_days", "extended_answer_days"):
        value = rules.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_DAYS:
            raise BundleError(
                f"malformed: dispute_rules.{name} {shown(value)} is not a whole number from 1 to {MAX_DAYS}"
            )
    if rules["extended_answer_days"] < rules["answer_days"]:
        raise BundleError(
            f"malformed: dispute_rules.extended_answer_days {rules['extended_answer_days']} is less than answer_days "
            f"{rules['answer_days']}"
        )


# --- export -----------------------------------------------------------------------------------------------


def certified_versions(store: Store, since: int, watermark: int) -> set[tuple[str, str, int]]:
    """(source, record id, version) of the versions in (since, watermark] that brought back a record withdrawn after a
    dispute: ingest accepts such a version only with the source's certification (certified=true)."""
    return {
        (str(s), str(r), int(v))
        for s, r, v in store.execute(
            """SELECT r.source_id, r.record_id, r.version FROM records r
            JOIN records p ON p.record_key = r.prev_key
            WHERE r.record_key > ? AND r.record_key <= ? AND r.origin_region IS NULL AND NOT r.withdrawn
              AND p.withdrawn AND EXISTS (
                SELECT 1 FROM disputes d WHERE d.source_id = r.source_id AND d.record_id = r.record_id
                  AND d.status IN ('withdrawn', 'lapsed') AND d.closed_seq < r.record_key)""",
            [since, watermark],
        ).fetchall()
    }


def export_sections(store: Store, policy_id: str, lists: list[str], record_types: list[str]) -> dict[str, Any]:
    """The cross-border sections of this region's next bundle: disputes to forward, answers to send back, the
    listings of its own shared records."""
    disputes = [
        {
            "to": r["region"],
            "dispute_id": int(r["dispute_id"]),
            "source_id": r["origin_source_id"],
            "record_id": r["origin_record_id"],
            "subject_id": r["origin_subject_id"],
            "filed_on": r["opened_at"].isoformat(),
            "deadline": r["deadline"].isoformat(),
            "reason": r["reason"],
            "evidence": r["evidence"],
        }
        for r in store.rows(
            """SELECT x.*, d.opened_at, d.deadline, d.reason, d.evidence FROM region_disputes x
            JOIN disputes d USING (dispute_id)
            WHERE x.direction = 'forwarded' AND x.sent_in IS NULL ORDER BY x.dispute_id"""
        )
    ]
    answers = []
    for r in store.rows(
        """SELECT x.*, d.status, d.note, d.answered_at,
               (SELECT max(n.created_on) FROM notifications n WHERE n.kind = 'dispute_lapsed'
                  AND n.ref_id = d.dispute_id) AS lapsed_on,
               (SELECT arg_max(struct_pack(version := v.version, withdrawn := v.withdrawn), v.version)
                FROM records v WHERE v.source_id = d.source_id AND v.record_id = d.record_id) AS latest
        FROM region_disputes x JOIN disputes d USING (dispute_id)
        WHERE x.direction = 'received' AND x.sent_in IS NULL AND d.status <> 'open'
          AND NOT EXISTS (SELECT 1 FROM dispute_reviews v WHERE v.dispute_id = d.dispute_id AND v.decision IS NULL)
        ORDER BY x.dispute_id"""
    ):
        on = r["answered_at"] or r["lapsed_on"]
        answers.append(
            {
                "to": r["region"],
                "dispute_id": int(r["remote_dispute_id"]),
                "source_id": r["origin_source_id"],
                "record_id": r["origin_record_id"],
                "outcome": r["status"],
                "answered_on": on.isoformat(),
                "note": r["note"],
                "version": int(r["latest"]["version"]),
                "withdrawn": bool(r["latest"]["withdrawn"]),
            }
        )
    listings = []
    if lists and record_types:
        for r in store.rows(
            f"""SELECT l.* FROM listings l
            WHERE l.policy_id = ? AND l.list_id IN ({", ".join("?" for _ in lists)}) AND l.record_id <> ''
              AND EXISTS (SELECT 1 FROM records r WHERE r.source_id = l.source_id AND r.record_id = l.record_id
                            AND r.origin_region IS NULL AND r.record_type IN ({", ".join("?" for _ in record_types)}))
            QUALIFY row_number() OVER (PARTITION BY subject_id, list_id, criterion_id, source_id, record_id
                                       ORDER BY listing_id DESC) = 1
            ORDER BY l.listing_id""",
            [policy_id, *lists, *record_types],
        ):
            listings.append(
                {
                    "subject_id": r["subject_id"],
                    "list_id": r["list_id"],
                    "criterion_id": r["criterion_id"],
                    "source_id": r["source_id"],
                    "record_id": r["record_id"],
                    "noticed_on": r["noticed_on"].isoformat(),
                    "effective_on": r["effective_on"].isoformat(),
                    "grace_days": (r["effective_on"] - r["noticed_on"]).days,
                    "in_grace": r["status"] == "pending",
                    "status": r["status"],
                    "closed_on": r["closed_on"].isoformat() if r["closed_on"] else None,
                }
            )
    # The filing region owns a forwarded dispute's deadline under its rules, published beside the disputes
    rules = {}
    if disputes:
        answer_days, extended = dispute_periods(store)
        rules = {"dispute_rules": {"answer_days": answer_days, "extended_answer_days": extended}}
    return {"disputes": disputes, "answers": answers, "listings": listings, **rules, **_repair_sections(store)}


def _repair_sections(store: Store) -> dict[str, Any]:
    repairs = [
        {
            "to": r["region"],
            "repair_id": int(r["repair_id"]),
            "source_id": r["origin_source_id"],
            "record_id": r["origin_record_id"],
            "subject_id": r["origin_subject_id"],
            "applied_on": r["applied_on"].isoformat(),
            "statement": r["statement"],
        }
        for r in store.rows(
            """SELECT x.*, p.applied_on, p.statement FROM region_repairs x JOIN repairs p USING (repair_id)
            WHERE x.direction = 'forwarded' AND x.sent_in IS NULL ORDER BY x.repair_id"""
        )
    ]
    repair_answers = [
        {
            "to": r["region"],
            "repair_id": int(r["remote_repair_id"]),
            "source_id": r["origin_source_id"],
            "record_id": r["origin_record_id"],
            "outcome": r["status"],
            "decided_on": r["decided_on"].isoformat(),
            "reason": r["decision_reason"],
            # in both languages, as list entries' reasons travel (an operator's reason is the same in both)
            "reason_zh": r["decision_reason_zh"] or r["decision_reason"],
        }
        for r in store.rows(
            """SELECT x.*, p.status, p.decided_on, p.decision_reason, p.decision_reason_zh FROM region_repairs x
            JOIN repairs p USING (repair_id)
            WHERE x.direction = 'received' AND x.sent_in IS NULL AND p.status IN ('approved', 'refused')
            ORDER BY x.repair_id"""
        )
    ]
    information = [
        {
            "to": r["region"],
            "dispute_id": int(r["dispute_id"]),
            "added_on": r["added_on"].isoformat(),
            "text": r["text"],
        }
        for r in store.rows(
            """SELECT x.region, i.dispute_id, i.added_on, i.text FROM region_dispute_information i
            JOIN region_disputes x ON x.dispute_id = i.dispute_id AND x.direction = 'forwarded'
            WHERE i.sent_in IS NULL ORDER BY i.dispute_id, i.added_on, i.text"""
        )
    ]
    return {"repairs": repairs, "repair_answers": repair_answers, "dispute_information": information}


def mark_sent(store: Store, sequence: int, sections: dict[str, Any]) -> None:
    """Note that bundle ``sequence`` carried these disputes and answers. Call inside the export's transaction."""
    for item in sections.get("disputes", []):
        store.execute(
            "UPDATE region_disputes SET sent_in = ? WHERE direction = 'forwarded' AND dispute_id = ?",
            [sequence, item["dispute_id"]],
        )
    for item in sections.get("answers", []):
        # an answer names the dispute by the filing region's id: two regions' ids may be the same number
        store.execute(
            "UPDATE region_disputes SET sent_in = ? WHERE direction = 'received' AND region = ? "
            "AND remote_dispute_id = ? AND sent_in IS NULL",
            [sequence, item["to"], item["dispute_id"]],
        )

    for item in sections.get("repairs", []):
        store.execute(
            "UPDATE region_repairs SET sent_in = ? WHERE direction = 'forwarded' AND repair_id = ?",
            [sequence, item["repair_id"]],
        )
    for item in sections.get("repair_answers", []):
        store.execute(
            "UPDATE region_repairs SET sent_in = ? WHERE direction = 'received' AND region = ? "
            "AND remote_repair_id = ? AND sent_in IS NULL",
            [sequence, item["to"], item["repair_id"]],
        )
    if sections.get("dispute_information"):
        store.execute(
            "UPDATE region_dispute_information SET sent_in = ? WHERE sent_in IS NULL AND dispute_id IN "
            "(SELECT dispute_id FROM region_disputes WHERE direction = 'forwarded')",
            [sequence],
        )


# --- import -----------------------------------------------------------------------------------------------


def apply(store: Store, origin: str, payload: dict[str, Any], actor: str) -> dict[str, int]:
    """Apply a bundle's cross-border sections from region ``origin`` (validated): open the disputes addressed here,
    close the disputes answered there, keep the origin's listing dates and end what it ended, and hold back any
    uncertified version that would bring back a record withdrawn here after a dispute. Call inside the import's
    transaction, after its records are in ``region_records``. Returns counts."""
    code = str(store.one("SELECT value FROM store_info WHERE key = 'region_code'"))
    counts = {
        "disputes_opened": 0,
        "deadlines_clamped": 0,
        "answers_applied": 0,
        "listings_ended": 0,
        "dispute_information_added": 0,
        "repairs_opened": 0,
        "repair_decisions_applied": 0,
        "records_held_back": 0,
    }
    rules = payload.get("dispute_rules")
    periods = (rules["answer_days"], rules["extended_answer_days"]) if rules else None
    for item in payload.get("disputes", []):
        if item["to"] == code:
            opened, clamped = _open(store, origin, item, actor, periods)
            counts["disputes_opened"] += opened
            counts["deadlines_clamped"] += clamped
    for item in payload.get("answers", []):
        if item["to"] == code:
            counts["answers_applied"] += _answer(store, origin, item, actor)
    if "listings" in payload:
        sequence = int(payload["sequence"])
        store.execute("DELETE FROM region_listings WHERE origin_region = ?", [origin])
        for item in payload["listings"]:
            store.execute(
                "INSERT INTO region_listings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    origin,
                    item["subject_id"],
                    item["list_id"],
                    item["criterion_id"],
                    item["source_id"],
                    item["record_id"],
                    item["noticed_on"],
                    item["effective_on"],
                    item["grace_days"],
                    item["status"],
                    item.get("closed_on"),
                    sequence,
                ],
            )
            if item["status"] not in _ACTIVE:
                counts["listings_ended"] += end_for_origin(
                    store,
                    origin,
                    item["source_id"],
                    item["record_id"],
                    item["status"],
                    dt.date.fromisoformat(item["closed_on"]),
                    actor,
                )
    for item in payload.get("dispute_information", []):
        if item["to"] == code:
            counts["dispute_information_added"] += _information(store, origin, item, actor, periods)
    for item in payload.get("repairs", []):
        if item["to"] == code:
            counts["repairs_opened"] += _open_repair(store, origin, item, actor)
    # after the listings: their end travels there, with its own notice; a decision ends what is still active
    for item in payload.get("repair_answers", []):
        if item["to"] == code:
            counts["repair_decisions_applied"] += _repair_answer(store, origin, item)
    counts["records_held_back"] = _hold_back_uncertified(store, origin, payload, actor)
    return counts


def _information(
    store: Store, origin: str, item: dict[str, Any], actor: str, periods: tuple[int, int] | None = None
) -> int:
    """Add to the dispute ``origin`` forwarded here what the resident added there, extending its deadline under the
    filing region's rules (``periods``, as the first deadline); 0 if none open takes it."""
    found = store.one(
        "SELECT dispute_id FROM region_disputes WHERE direction = 'received' AND region = ? AND remote_dispute_id = ?",
        [origin, item["dispute_id"]],
    )
    on = dt.date.fromisoformat(item["added_on"])
    if found is not None and add_received_information(
        store, int(found), item["text"], added_on=on, actor=actor, periods=periods
    ):
        return 1
    append_audit(
        store,
        actor,
        "region_dispute_information_not_added",
        None,
        {"origin": origin, "remote_dispute_id": item["dispute_id"], "added_on": on},
    )
    return 0


def _open_repair(store: Store, origin: str, item: dict[str, Any], actor: str) -> int:
    """Open here a repair application ``origin`` forwarded; 0 if opened before or it names no record of this
    region (audited). The record is named in either width (identifiers.fold_record_id)."""
    item = _folded(item)
    known = store.one(
        "SELECT repair_id FROM region_repairs WHERE direction = 'received' AND region = ? AND remote_repair_id = ?",
        [origin, item["repair_id"]],
    )
    if known is not None:
        return 0
    rows = store.rows(
        "SELECT * FROM records WHERE source_id = ? AND record_id = ? ORDER BY version DESC LIMIT 1",
        [item["source_id"], item["record_id"]],
    )
    if not _sent(store, rows, item):
        append_audit(
            store,
            actor,
            "region_repair_unknown_record",
            None,
            {"origin": origin, "repair_id": item["repair_id"], "record": f"{item['source_id']}/{item['record_id']}"},
        )
        return 0
    repair_id = open_received_repair(
        store,
        origin,
        item["repair_id"],
        rows[0],
        item["statement"],
        applied_on=dt.date.fromisoformat(item["applied_on"]),
        actor=actor,
    )
    append_audit(
        store,
        actor,
        "region_repair_received",
        item["subject_id"],
        {"origin": origin, "remote_repair_id": item["repair_id"], "repair_id": repair_id},
    )
    return 1


def _folded(item: dict[str, Any]) -> dict[str, Any]:
    """A forwarded dispute or repair with its record id folded as this store holds ids: another region (one on a
    release before the fold, or a person's typing) may name ``（2024）京01民初1号`` for ``(2024)京01民初1号``."""
    record_id = item.get("record_id")
    return {**item, "record_id": fold_record_id(record_id)} if isinstance(record_id, str) else item


def _sent(store: Store, rows: list[dict[str, Any]], item: dict[str, Any]) -> bool:
    """Whether the record another region names (its latest version here, in ``rows``) is one this region sent: its
    own record, of the person named, of a type one of its policies shares, recorded before its last bundle. Another
    region can dispute or ask to repair only what it received: not a record this region never shared."""
    if not rows or rows[0]["origin_region"] is not None or rows[0]["subject_id"] != item["subject_id"]:
        return False
    shared: set[str] = set()
    for policy_id, version in store.execute("SELECT policy_id, version FROM policies").fetchall():
        try:
            exchange = get_policy(store, str(policy_id), str(version)).policy.exchange
        except SocialCreditError:  # a version the current catalog cannot read shares nothing now
            continue
        if exchange is not None:
            shared.update(exchange.shareable_record_types)
    if not shared:
        return False
    return bool(
        store.one(
            f"""SELECT count(*) FROM records WHERE source_id = ? AND record_id = ? AND origin_region IS NULL
            AND record_type IN ({", ".join("?" for _ in shared)})
            AND record_key <= (SELECT coalesce(max(watermark), 0) FROM region_exports)""",
            [item["source_id"], item["record_id"], *sorted(shared)],
        )
    )


def _repair_answer(store: Store, origin: str, item: dict[str, Any]) -> int:
    """Decide the repair forwarded to ``origin`` with its decision; 0 if there is none pending."""
    found = store.one(
        "SELECT repair_id FROM region_repairs WHERE direction = 'forwarded' AND region = ? AND repair_id = ?",
        [origin, item["repair_id"]],
    )
    if found is None:
        return 0
    on = dt.date.fromisoformat(item["decided_on"])
    reason = (
        f"decided in region {origin} on {on.isoformat()}: {item['reason']}",
        f"地区 {origin} 已于 {on.isoformat()} 决定：{item.get('reason_zh') or item['reason']}",
    )
    return int(close_forwarded_repair(store, int(found), item["outcome"], reason, f"region:{origin}", today=on))


def _deadline(
    store: Store, origin: str, item: dict[str, Any], actor: str, periods: tuple[int, int] | None
) -> tuple[dt.date, bool]:
    """A forwarded dispute's deadline, within the filing region's published rules (``periods``: its answer days and
    extended answer days; this region's own for a bundle from before they travelled): from the filing date plus the
    answer days to the filing date plus the extended answer days. One outside them is clamped to the nearer end and
    audited (``region_dispute_deadline_clamped``). Returns the deadline and whether it was clamped."""
    filed = dt.date.fromisoformat(item["filed_on"])
    sent = dt.date.fromisoformat(item["deadline"])
    answer_days, extended = periods or dispute_periods(store)
    earliest, latest = filed + dt.timedelta(days=answer_days), filed + dt.timedelta(days=extended)
    deadline = min(max(sent, earliest), latest)
    if deadline == sent:
        return deadline, False
    append_audit(
        store,
        actor,
        "region_dispute_deadline_clamped",
        item["subject_id"],
        {
            "origin": origin,
            "remote_dispute_id": item["dispute_id"],
            "filed_on": filed,
            "deadline_sent": sent,
            "deadline": deadline,
            "answer_days": answer_days,
            "extended_answer_days": extended,
            "rules": "the filing region's" if periods else "this region's (the bundle published none)",
        },
    )
    return deadline, True


def _open(
    store: Store, origin: str, item: dict[str, Any], actor: str, periods: tuple[int, int] | None = None
) -> tuple[int, int]:
    """Open here a dispute ``origin`` forwarded, its deadline within the filing region's rules (``_deadline``);
    returns (1 if opened, 1 if its deadline was clamped): (0, 0) if it was opened before or names no record of this
    region. The record is named in either width (identifiers.fold_record_id)."""
    item = _folded(item)
    known = store.one(
        "SELECT dispute_id FROM region_disputes WHERE direction = 'received' AND region = ? AND remote_dispute_id = ?",
        [origin, item["dispute_id"]],
    )
    if known is not None:
        return 0, 0
    rows = store.rows(
        "SELECT subject_id, origin_region FROM records WHERE source_id = ? AND record_id = ? "
        "ORDER BY version DESC LIMIT 1",
        [item["source_id"], item["record_id"]],
    )
    if not _sent(store, rows, item):
        append_audit(
            store,
            actor,
            "region_dispute_unknown_record",
            None,
            {"origin": origin, "dispute_id": item["dispute_id"], "record": f"{item['source_id']}/{item['record_id']}"},
        )
        return 0, 0
    deadline, clamped = _deadline(store, origin, item, actor, periods)
    dispute_id = open_received(
        store,
        item["subject_id"],
        item["source_id"],
        item["record_id"],
        item["reason"],
        item.get("evidence"),
        filed_on=dt.date.fromisoformat(item["filed_on"]),
        deadline=deadline,
        actor=f"region:{origin}",
    )
    store.execute(
        "INSERT INTO region_disputes VALUES (?, 'received', ?, ?, ?, ?, ?, NULL) ON CONFLICT DO NOTHING",
        [dispute_id, origin, item["dispute_id"], item["source_id"], item["record_id"], item["subject_id"]],
    )
    append_audit(
        store,
        actor,
        "region_dispute_received",
        item["subject_id"],
        {"origin": origin, "remote_dispute_id": item["dispute_id"], "dispute_id": dispute_id},
    )
    return 1, int(clamped)


def _answer(store: Store, origin: str, item: dict[str, Any], actor: str) -> int:
    """Close the dispute forwarded to ``origin`` with its answer; 0 if there is none open."""
    found = store.one(
        "SELECT dispute_id FROM region_disputes WHERE direction = 'forwarded' AND region = ? AND dispute_id = ?",
        [origin, item["dispute_id"]],
    )
    if found is None:
        return 0
    on = dt.date.fromisoformat(item["answered_on"])
    said = item.get("note")
    note = (
        f"Answered in region {origin} on {on.isoformat()}" + (f": {said}" if said else "."),
        f"地区 {origin} 已于 {on.isoformat()} 答复" + (f"：{said}" if said else "。"),
    )
    if close_forwarded(store, int(found), item["outcome"], note, f"region:{origin}", today=on):
        return 1
    # closed here before it came (lapsed at the deadline here): the record stays as the lapse left it
    status = store.one("SELECT status FROM disputes WHERE dispute_id = ?", [int(found)])
    append_audit(
        store,
        actor,
        "region_dispute_answer_late",
        None,
        {"origin": origin, "dispute_id": int(found), "outcome": item["outcome"], "answered_on": on, "status": status},
    )
    return 0


def _hold_back_uncertified(store: Store, origin: str, payload: dict[str, Any], actor: str) -> int:
    """Keep out of ``records`` each incoming version that would bring back a record withdrawn here after a dispute
    without its source's certification (marked applied, never copied); tell the resident of a certified one."""
    incoming = [r for r in payload.get("records", []) if not r.get("withdrawn")]
    if not incoming:
        return 0
    store.con.register(
        "_returning",
        pa.table(
            {
                "source_id": [r["source_id"] for r in incoming],
                "record_id": [f"{origin}/{r['record_id']}" for r in incoming],
                "origin_record_id": [r["record_id"] for r in incoming],
                "version": pa.array([int(r["version"]) for r in incoming], pa.int32()),
                "certified": [r.get("certified") is True for r in incoming],
            }
        ),
    )
    try:
        # Only records withdrawn here after a dispute: most bundles bring back none, and this is one query.
        rows = store.rows(
            """SELECT i.*, r.subject_id, d.dispute_id FROM _returning i
            JOIN (SELECT source_id, record_id, subject_id, withdrawn FROM records
                  WHERE origin_region = $origin
                  QUALIFY row_number() OVER (PARTITION BY source_id, record_id ORDER BY version DESC) = 1) r
              USING (source_id, record_id)
            JOIN (SELECT source_id, record_id, max(dispute_id) AS dispute_id FROM disputes
                  WHERE status IN ('withdrawn', 'lapsed') GROUP BY ALL) d USING (source_id, record_id)
            WHERE r.withdrawn ORDER BY i.record_id, i.version""",
            {"origin": origin},
        )
    finally:
        store.con.unregister("_returning")
    held = 0
    for row in rows:
        subject = str(row["subject_id"])
        if row["certified"]:
            notify(
                store,
                subject,
                "record_recertified",
                int(row["dispute_id"]),
                *recertified_words(store, str(row["source_id"]), str(row["record_id"]), origin),
                resolve_today(),
            )
            continue
        store.execute(
            "UPDATE region_records SET applied = true WHERE origin_region = ? AND source_id = ? AND record_id = ? "
            "AND version = ? AND sequence = ?",
            [origin, row["source_id"], row["origin_record_id"], row["version"], int(payload["sequence"])],
        )
        append_audit(
            store,
            actor,
            "region_record_held_back",
            subject,
            {
                "origin": origin,
                "record_id": f"{row['source_id']}/{row['record_id']}",
                "version": row["version"],
                "reason": "withdrawn here after a dispute; it comes back only with the source's certification",
            },
        )
        held += 1
    return held
