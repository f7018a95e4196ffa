"""Retention: a record stops counting on the day its age reaches a rule's expiry (the compiler's rule); once no
rule or list criterion of any policy in use can count it, it is kept ``retention.purge_after_days`` more days and
then deleted for good — every version, and every dispute, repair, fulfilment, listing and notification about it —
so it never appears again in a report, an export or a run. The purge is audited (counts only: the audit log must
not keep what was deleted)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from socialcredit.catalog import load_catalog
from socialcredit.clock import resolve_today
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.due_process.severity import limits_sql
from socialcredit.registry.scoring.policies import policies_in_use
from socialcredit.store import Store

__all__ = ["purge_expired"]


def purge_expired(store: Store, today: dt.date | None = None, actor: str = "registry") -> dict[str, Any]:
    """Delete the records past retention under every policy in use; returns what was deleted, by count."""
    today = resolve_today(today)
    policies = policies_in_use(store)
    keep = max(lp.policy.retention.purge_after_days for lp in policies)
    parts = []
    for record_type in load_catalog().record_types:
        days = "greatest(" + ", ".join(limits_sql(lp, record_type) for lp in policies) + ")"
        parts.append(
            f"SELECT source_id, record_id FROM latest WHERE record_type = '{record_type}' "
            f"AND event_date + CAST({days} + {int(keep)} AS INTEGER) <= $today"
        )
    with store.transaction():
        store.execute(
            f"""CREATE OR REPLACE TEMP TABLE sc_purge AS
            WITH latest AS (SELECT * FROM records
                            QUALIFY row_number() OVER (PARTITION BY source_id, record_id ORDER BY version DESC) = 1)
            {" UNION ALL ".join(parts)}""",
            {"today": today},
        )
        n = int(store.one("SELECT count(*) FROM sc_purge"))
        if n == 0:
            return {"records": 0, "versions": 0, "by_source": {}}
        by_source = {
            str(r[0]): int(r[1])
            for r in store.execute("SELECT source_id, count(*) FROM sc_purge GROUP BY 1 ORDER BY 1").fetchall()
        }
        hit = "(source_id, record_id) IN (SELECT source_id, record_id FROM sc_purge)"
        refs = {
            "dispute": [r[0] for r in store.execute(f"SELECT dispute_id FROM disputes WHERE {hit}").fetchall()],
            "listing": [r[0] for r in store.execute(f"SELECT listing_id FROM listings WHERE {hit}").fetchall()],
            "repair": [r[0] for r in store.execute(f"SELECT repair_id FROM repairs WHERE {hit}").fetchall()],
            "fulfilment": [
                r[0] for r in store.execute(f"SELECT fulfilment_id FROM fulfilments WHERE {hit}").fetchall()
            ],
        }
        kinds = {
            "dispute": "kind LIKE 'dispute_%' OR kind = 'record_recertified'",
            "listing": "kind LIKE 'listing_%'",
            "repair": "kind LIKE 'repair_%'",
            "fulfilment": "kind = 'fulfilment'",
        }
        for ref, ids in refs.items():
            if ids:
                store.execute(f"DELETE FROM notifications WHERE ({kinds[ref]}) AND ref_id IN (SELECT unnest(?))", [ids])
        if refs["dispute"]:
            store.execute("DELETE FROM dispute_information WHERE dispute_id IN (SELECT unnest(?))", [refs["dispute"]])
        for table in ("disputes", "listings", "repairs", "fulfilments"):
            store.execute(f"DELETE FROM {table} WHERE {hit}")
        store.execute(
            f"UPDATE run_list_entries SET record_key = NULL WHERE record_key IN (SELECT record_key FROM records "
            f"WHERE {hit})"
        )
        versions = int(store.one(f"SELECT count(*) FROM records WHERE {hit}"))
        store.execute(f"DELETE FROM records WHERE {hit}")
        detail = {"records": n, "versions": versions, "by_source": by_source, "as_of": today, "kept_days": keep}
        append_audit(store, actor, "purge_expired", None, detail)
    return {"records": n, "versions": versions, "by_source": by_source}
