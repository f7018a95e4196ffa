"""Retention: a record stops counting on the day its age reaches a rule's expiry (the compiler's rule); once no
rule or list criterion of any policy in use can count it, it is kept ``retention.purge_after_days`` more days and
then deleted for good — every version, and every dispute (with the information, evidence files and review added to
it), repair, fulfilment, listing (with an operator's override of it) and notification about it, the copies and
listings another region reported of it, and its rows in the kept scoring states — so it never appears again in a
report, an export or a run. The purge is audited (counts only: the audit log must not keep what was deleted); the
audit entries written before about the record stay, as the hash chain needs every entry: they name the rows by
number and, since 2026-12-05, hold no one's words (``audit.kept_words``), which went with the rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlglot
import sqlglot.expressions as exp

from socialcredit.catalog import load_catalog
from socialcredit.clock import resolve_today
from socialcredit.policy import LoadedPolicy
from socialcredit.policy.model import RELATION_RECORD_TYPE
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.due_process.severity import limit_days
from socialcredit.registry.relations import OwnedRelations
from socialcredit.registry.scoring.policies import policies_in_use
from socialcredit.registry.scoring.state import forget_records
from socialcredit.store import Store, unnote_role_records

__all__ = ["purge_expired"]

# The latest version of every record: its type and event date decide when the record may go.
_LATEST = """SELECT * FROM records
QUALIFY row_number() OVER (PARTITION BY source_id, record_id ORDER BY version DESC) = 1"""
# A row is about a record to purge (every table below has source_id and record_id).
_HIT = "(source_id, record_id) IN (SELECT source_id, record_id FROM sc_purge)"
# The copies, as received, of purged records another region shared (records.record_id is '<region>/<its id>').
_REGION_COPIES = """DELETE FROM region_records rr WHERE EXISTS (
    SELECT 1 FROM records r JOIN sc_purge p ON p.source_id = r.source_id AND p.record_id = r.record_id
    WHERE r.origin_region = rr.origin_region AND r.source_id = rr.source_id
      AND r.record_id = rr.origin_region || '/' || rr.record_id)"""
# The listings here of purged records another region shared, as that region reported them (region_listings: its
# subject's identity number, the record's id there, the dates); like region_records, the record's id there is
# '<region>/<its id>' here.
_REGION_LISTINGS = """DELETE FROM region_listings rl WHERE EXISTS (
    SELECT 1 FROM records r JOIN sc_purge p ON p.source_id = r.source_id AND p.record_id = r.record_id
    WHERE r.origin_region = rl.origin_region AND r.source_id = rl.source_id
      AND r.record_id = rl.origin_region || '/' || rl.record_id)"""
# The notifications about a dispute, listing, repair or fulfilment, by kind.
_NOTICE_KINDS = {
    "dispute": "kind LIKE 'dispute_%' OR kind = 'record_recertified'",
    "listing": "kind LIKE 'listing_%'",
    "repair": "kind LIKE 'repair_%'",
    "fulfilment": "kind = 'fulfilment'",
}
# What belongs to a dispute, by its number: the information added, the evidence files, the human review, and what
# waits to be sent to the region a forwarded dispute went to.
_DISPUTE_PARTS = (
    "dispute_information",
    "dispute_evidence",
    "dispute_reviews",
    "region_dispute_information",
    "region_disputes",  # a dispute as sent to or received from another region: the record's id, the identity number
)
_REFS = {"dispute": "disputes", "listing": "listings", "repair": "repairs", "fulfilment": "fulfilments"}


def _expired(policies: list[LoadedPolicy], keep: int, record_types: list[str] | None = None) -> exp.Query:
    """(source_id, record_id) of every record no policy can count any more, ``keep`` days past; binds ``$today``."""
    selects: list[exp.Query] = []
    for record_type in record_types if record_types is not None else load_catalog().record_types:
        limits = [limit_days(lp, record_type) for lp in policies]
        days = exp.Greatest(this=limits[0], expressions=limits[1:], ignore_nulls=True)
        until = exp.Add(
            this=exp.column("event_date"),
            expression=exp.Cast(
                this=exp.Add(this=days, expression=exp.Literal.number(keep)), to=exp.DataType.build("INTEGER")
            ),
        )
        select: exp.Select = (
            exp.select("source_id", "record_id")
            .from_("latest", copy=False)
            .where(exp.column("record_type").eq(exp.Literal.string(record_type)), copy=False)
            .where(exp.LTE(this=until, expression=exp.Placeholder(this="today")), copy=False)
        )
        if record_type == RELATION_RECORD_TYPE:
            select = _roles_read(policies, keep, select)
        selects.append(select)
    # built in place (copy=False): each copying union copied the whole query so far, one more part each time (most
    # of the daily job's cost on a small store)
    query = exp.union(*selects, distinct=False, copy=False) if len(selects) > 1 else selects[0]
    return query.with_("latest", as_=sqlglot.parse_one(_LATEST, read="duckdb"), copy=False)


def _roles_read(policies: list[LoadedPolicy], keep: int, select: exp.Select) -> exp.Select:
    """``select`` of the role records past retention, but for those a list criterion reads through an organisation
    (``via``: its roles), which no rule counts and which count all the same: a role read ``current`` while it is held
    and ``keep`` days after its ``end_date`` (one held has none: it stays), a role read ``held_at_cause`` for good (the
    cause may be any record of the organisation, counted for as long as its own rule counts it). A withdrawn role
    record is read by none: it goes as any record no rule counts (until 2026-12-05 one, having no end date, was kept
    for ever). Until 2026-12-05 the purge took every role record 90 days after its date, the current legal
    representatives of organisations on the blacklist with them, and the restriction on high spending no longer
    reached them."""
    vias = [c.via for lp in policies for lst in lp.policy.lists for c in lst.criteria if c.via is not None]
    current = sorted({r for v in vias if v.when == "current" for r in v.roles})
    for_good = sorted({r for v in vias if v.when != "current" for r in v.roles})
    role, withdrawn = exp.column("role"), exp.column("withdrawn")
    if for_good:
        select = select.where(exp.or_(exp.not_(role.isin(*map(exp.Literal.string, for_good))), withdrawn))
    if current:
        ended = exp.LTE(
            this=exp.Add(this=exp.column("end_date"), expression=exp.Literal.number(keep)),
            expression=exp.Placeholder(this="today"),
        )
        read = role.isin(*map(exp.Literal.string, current))
        held_until = exp.and_(exp.column("end_date").is_(exp.null()).not_(), ended)
        select = select.where(exp.or_(exp.not_(read), withdrawn, held_until))
    return select


# Why a record past retention is held back from the purge, by reason: a dispute still open (filed here, forwarded to
# the region that recorded it, or received from a region that forwarded it), or one the source verified whose human
# review is not decided yet; a repair application not yet decided (filed here, forwarded to the region that recorded
# the record, or received from a region that forwarded it: each is 'pending' until decided here or its decision
# arrives); or a dispute or repair application another region forwarded here, decided, whose answer has not yet gone
# back in a bundle (the export finds it through the dispute or application and its region row). Purging it would make
# the dispute or application vanish undecided, or leave the other region waiting for an answer for ever.
_HELD = {
    "open_dispute": "SELECT source_id, record_id FROM disputes WHERE status = 'open'",
    "human_review": "SELECT d.source_id, d.record_id FROM disputes d JOIN dispute_reviews r USING (dispute_id) "
    "WHERE d.status = 'verified' AND r.decision IS NULL",
    "pending_repair": "SELECT source_id, record_id FROM repairs WHERE status = 'pending'",
    "answer_not_sent": "SELECT d.source_id, d.record_id FROM disputes d JOIN region_disputes x USING (dispute_id) "
    "WHERE x.direction = 'received' AND x.sent_in IS NULL AND d.status <> 'open' "
    "UNION ALL SELECT p.source_id, p.record_id FROM repairs p JOIN region_repairs x USING (repair_id) "
    "WHERE x.direction = 'received' AND x.sent_in IS NULL AND p.status IN ('approved', 'refused')",
}


def purge_expired(store: Store, today: dt.date | None = None, actor: str = "registry") -> dict[str, Any]:
    """Delete the records past retention under every policy in use; returns what was deleted, by count, and what was
    held back, by reason (``held``: ``open_dispute``, ``human_review``, ``pending_repair``, ``answer_not_sent``). A
    record under an open dispute (local, forwarded or received), a pending human review or a repair application not
    yet decided (local, forwarded or received) is held back until that is decided, and one whose answer to another
    region's dispute or repair application is not yet sent, until it is; then it goes at the next purge."""
    today = resolve_today(today)
    policies = policies_in_use(store)
    keep = max(lp.policy.retention.purge_after_days for lp in policies)
    with OwnedRelations(store, frozenset({"sc_purge"})) as owned, store.transaction():
        owned.create("sc_purge", _expired(policies, int(keep), list(store.catalog.record_types)), {"today": today})
        held: dict[str, int] = {}
        n = owned.count("sc_purge")
        for reason, under in _HELD.items():
            owned.execute(f"DELETE FROM sc_purge WHERE (source_id, record_id) IN ({under})")
            left = owned.count("sc_purge")
            if left < n:
                held[reason] = n - left
            n = left
        if n == 0:
            if held:
                append_audit(store, actor, "purge_expired", None, {"records": 0, "held": held, "as_of": today})
            return {"records": 0, "versions": 0, "by_source": {}, "held": held}
        by_source = {
            str(r[0]): int(r[1])
            for r in owned.execute("SELECT source_id, count(*) FROM sc_purge GROUP BY 1 ORDER BY 1").fetchall()
        }
        hit = exp.condition(_HIT, dialect="duckdb")
        refs = {
            ref: [r[0] for r in owned.execute(exp.select(f"{ref}_id").from_(table).where(hit.copy())).fetchall()]
            for ref, table in _REFS.items()
        }
        for ref, ids in refs.items():
            if ids:
                kinds = exp.Paren(this=exp.condition(_NOTICE_KINDS[ref], dialect="duckdb"))
                notices = exp.delete("notifications", where=exp.and_(kinds, "ref_id IN (SELECT unnest(?))"))
                owned.execute(notices, [ids])
        if refs["dispute"]:
            # what the resident and the registry added to the disputes: their words, files and reviews
            for table in _DISPUTE_PARTS:
                store.execute(f"DELETE FROM {table} WHERE dispute_id IN (SELECT unnest(?))", [refs["dispute"]])
        if refs["repair"]:  # an application as sent to or received from another region names the record too
            store.execute("DELETE FROM region_repairs WHERE repair_id IN (SELECT unnest(?))", [refs["repair"]])
        overridden = 0
        if refs["listing"]:
            # an operator's override of a purged listing (its justification speaks of the record's cause) and the
            # notification of it; the audit entry of the override (its number, target and outcome) stays in the chain
            targets = [f"listing:{i}" for i in refs["listing"]]
            found = "SELECT override_id FROM overrides WHERE kind = 'listing' AND target IN (SELECT unnest(?))"
            ids = [r[0] for r in store.execute(found, [targets]).fetchall()]
            if ids:
                store.execute(
                    "DELETE FROM notifications WHERE kind = 'override' AND ref_id IN (SELECT unnest(?))", [ids]
                )
                store.execute("DELETE FROM overrides WHERE override_id IN (SELECT unnest(?))", [ids])
            overridden = len(ids)
        for table in _REFS.values():
            owned.execute(exp.delete(table, where=hit.copy()))
        owned.execute(
            exp.update(
                "run_list_entries",
                {"record_key": exp.null()},
                where=exp.column("record_key").isin(query=exp.select("record_key").from_("records").where(hit.copy())),
            )
        )
        versions = int(owned.execute(exp.select("count(*)").from_("records").where(hit.copy())).fetchone()[0])  # type: ignore[index]
        # A record another region shared is also kept as received (region_records, its fields as JSON), from which
        # it would be applied again if its identity were linked anew: that copy goes with it.
        owned.execute(_REGION_COPIES)
        owned.execute(_REGION_LISTINGS)
        # No change number marks a purge: the kept scoring states lose the records' rows here, with them.
        forget_records(store, owned.bind(exp.select("record_key").from_("records").where(hit.copy())))
        unnote_role_records(store, owned.bind(exp.select("record_key").from_("records").where(hit.copy())))
        owned.execute(exp.delete("records", where=hit.copy()))
        detail = {
            "records": n,
            "versions": versions,
            "by_source": by_source,
            "held": held,
            "as_of": today,
            "kept_days": keep,
            # what went with the records, by how many: an earlier entry naming one of them by its number names a
            # row that is no longer there (its words, kept only in the row, went with it)
            "removed": {f"{ref}s": len(found) for ref, found in refs.items()} | {"overrides": overridden},
        }
        append_audit(store, actor, "purge_expired", None, detail)
    return {"records": n, "versions": versions, "by_source": by_source, "held": held}
