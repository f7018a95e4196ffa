"""Notice and grace before a blacklisting, and how long a listing is published.

A score run finds who meets a blacklist's criteria (``run_list_entries``: the cause). This module keeps one
*listing* per cause — subject, policy, list, criterion and, for a record criterion, the record — across runs:

* the first run that finds a cause gives the subject a **notice**; the listing takes effect ``grace_days`` later
  (the list's ``grace_days``), at the first run on or after that day that still finds the cause;
* if a run before then no longer finds it (the record was corrected, disputed away or repaired, the score
  recovered), the listing is ``resolved``: the subject was never listed;
* an effective listing whose cause goes away is ``delisted``; one that reached its severity class's maximum
  publication period ends (``publication_ended``) and does not come back for the same, still present cause;
* an approved repair (``repaired``) or an operator's override (``overridden``) ends it the same way.

Statuses: pending | effective | resolved | delisted | publication_ended | repaired | overridden. Only effective
listings refuse services (``registry/decide.py``, ``registry/snapshot.py``) or show in a public look-up.
Runs are taken in the order they were made; each run of a policy updates that policy's listings.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from socialcredit.policy import LoadedPolicy, expr
from socialcredit.registry.audit import append_audit
from socialcredit.registry.due import iso, notify
from socialcredit.registry.policies import get_policy
from socialcredit.store import Store

__all__ = [
    "ACTIVE",
    "LISTING_STATUSES",
    "effective_grants",
    "effective_lists",
    "list_listings",
    "record_listings",
]

LISTING_STATUSES = (
    "pending",
    "effective",
    "resolved",
    "delisted",
    "publication_ended",
    "repaired",
    "overridden",
)
ACTIVE = ("pending", "effective")
_KEY = "subject_id, criterion_id, source_id, record_id"


def record_listings(store: Store, run_id: int, actor: str = "registry") -> dict[str, int]:
    """Update the listings of the run's policy from its blacklist entries; returns counts of what changed."""
    run = store.rows("SELECT * FROM score_runs WHERE run_id = ?", [run_id])[0]
    loaded = get_policy(store, run["policy_id"], run["policy_version"])
    as_of: dt.date = run["as_of"]
    counts = {"noticed": 0, "effective": 0, "resolved": 0, "delisted": 0, "publication_ended": 0}
    with store.transaction():
        for lst in loaded.policy.lists:
            if lst.kind != "black":
                continue
            store.execute(
                """CREATE OR REPLACE TEMP TABLE sc_causes AS
                SELECT DISTINCT e.subject_id, e.criterion_id, coalesce(r.source_id, '') AS source_id,
                       coalesce(r.record_id, '') AS record_id
                FROM run_list_entries e LEFT JOIN records r USING (record_key)
                WHERE e.run_id = ? AND e.list_id = ?""",
                [run_id, lst.id],
            )
            scope = {"p": loaded.policy.id, "l": lst.id, "d": as_of, "run": run_id}
            mine = "policy_id = $p AND list_id = $l"
            absent = f"({_KEY}) NOT IN (SELECT {_KEY} FROM sc_causes)"
            present = f"({_KEY}) IN (SELECT {_KEY} FROM sc_causes)"
            sql = f"SELECT * FROM listings WHERE {mine} AND status IN ('pending', 'effective') AND {absent}"
            gone = store.rows(sql, _used(sql, scope))
            for g in gone:
                status = "resolved" if g["status"] == "pending" else "delisted"
                counts[status] += 1
                _notify_end(store, g, status, loaded, as_of)
            sql = f"""UPDATE listings SET status = CASE WHEN status = 'pending' THEN 'resolved' ELSE 'delisted' END,
                    closed_on = $d, cause_present = false, last_run_id = $run
                WHERE {mine} AND status IN ('pending', 'effective') AND {absent}"""
            store.execute(sql, _used(sql, scope))
            sql = f"UPDATE listings SET cause_present = false WHERE {mine} AND cause_present AND {absent}"
            store.execute(sql, _used(sql, scope))
            sql = f"""UPDATE listings SET status = 'effective', last_run_id = $run
                WHERE {mine} AND status = 'pending' AND effective_on <= $d AND {present} RETURNING *"""
            became = store.rows(sql, _used(sql, scope))
            counts["effective"] += len(became)
            for b in became:
                append_audit(store, actor, "listing_effective", b["subject_id"], _detail(b))
            sql = f"UPDATE listings SET last_run_id = $run WHERE {mine} AND {present}"
            store.execute(sql, _used(sql, scope))
            for name, cls in loaded.policy.severities.items():
                sql = f"""UPDATE listings SET status = 'publication_ended',
                        closed_on = effective_on + CAST($days AS INTEGER)
                    WHERE {mine} AND status = 'effective' AND severity = $sev
                      AND effective_on + CAST($days AS INTEGER) <= $d RETURNING *"""
                ended = store.rows(sql, _used(sql, {**scope, "sev": name, "days": cls.max_publication_days}))
                for e in ended:
                    counts["publication_ended"] += 1
                    _notify_end(store, e, "publication_ended", loaded, as_of)
            new = store.rows(
                """SELECT * FROM sc_causes c WHERE NOT EXISTS (
                    SELECT 1 FROM listings x WHERE x.policy_id = $p AND x.list_id = $l
                      AND (x.status IN ('pending', 'effective')
                           -- closed while the cause is still there: no new listing for the same cause
                           OR (x.status IN ('publication_ended', 'repaired', 'overridden') AND x.cause_present))
                      AND (x.subject_id, x.criterion_id, x.source_id, x.record_id)
                          = (c.subject_id, c.criterion_id, c.source_id, c.record_id))
                ORDER BY subject_id, criterion_id, source_id, record_id""",
                {"p": loaded.policy.id, "l": lst.id},
            )
            effective_on = as_of + dt.timedelta(days=lst.grace_days)
            for c in new:
                crit = loaded.policy.criterion(lst.id, c["criterion_id"])
                listing_id = store.take_ids("listing", 1)
                status = "effective" if lst.grace_days == 0 else "pending"
                store.execute(
                    "INSERT INTO listings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, true, ?)",
                    [
                        listing_id,
                        c["subject_id"],
                        loaded.policy.id,
                        lst.id,
                        c["criterion_id"],
                        c["source_id"],
                        c["record_id"],
                        crit.severity,
                        run_id,
                        as_of,
                        effective_on,
                        status,
                        run_id,
                    ],
                )
                counts["noticed"] += 1
                cause = crit.reason.text("en") + (f" (record {c['record_id']})" if c["record_id"] else "")
                cause_zh = crit.reason.text("zh") + (f"（记录 {c['record_id']}）" if c["record_id"] else "")
                notify(
                    store,
                    c["subject_id"],
                    "listing_notice",
                    listing_id,
                    f"Notice: under policy {loaded.policy.id} you meet a criterion of the {lst.name.en}: {cause}. "
                    f"The listing takes effect on {effective_on.isoformat()} unless the cause is resolved before "
                    "then. You may dispute the record, or fulfil the obligation.",
                    f"通知：根据 {loaded.policy.id} 政策，您符合{lst.name.zh}的列入条件：{cause_zh}。"
                    f"除非在此之前原因消除，将于 {effective_on.isoformat()} 起列入。您可以对记录提出异议或履行义务。",
                    as_of,
                )
                append_audit(
                    store,
                    actor,
                    "listing_notice",
                    c["subject_id"],
                    {
                        "listing_id": listing_id,
                        "list": lst.id,
                        "criterion": c["criterion_id"],
                        "effective_on": effective_on,
                    },
                )
    return counts


def _used(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """The named parameters a statement uses (DuckDB refuses unused ones)."""
    return {k: v for k, v in params.items() if f"${k}" in sql}


def _detail(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("listing_id", "policy_id", "list_id", "criterion_id", "record_id")}


def _notify_end(store: Store, row: dict[str, Any], status: str, loaded: LoadedPolicy, on: dt.date) -> None:
    name = loaded.policy.list_spec(row["list_id"]).name
    texts = {
        "resolved": (
            "the cause was resolved during the notice period; you were not listed",
            "通知期内原因已消除，未被列入",
        ),
        "delisted": ("the cause was resolved; the listing has ended", "原因已消除，已移出名单"),
        "publication_ended": (
            "the maximum publication period has passed; the listing has ended",
            "公示期届满，已停止公示",
        ),
    }
    en, zh = texts[status]
    notify(
        store,
        row["subject_id"],
        "listing_" + status,
        row["listing_id"],
        f"{name.en} ({row['criterion_id']}): {en}.",
        f"{name.zh}（{row['criterion_id']}）：{zh}。",
        on,
    )
    append_audit(store, "registry", "listing_" + status, row["subject_id"], _detail(row))


def list_listings(
    store: Store, *, subject_id: str | None = None, policy_id: str | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    """Listings (with their notices), newest first."""
    where, params = [], []
    for col, value in (("subject_id", subject_id), ("policy_id", policy_id), ("status", status)):
        if value is not None:
            where.append(f"{col} = ?")
            params.append(value)
    rows = store.rows(
        "SELECT * FROM listings" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY listing_id DESC",
        params,
    )
    keys = (
        "listing_id",
        "subject_id",
        "policy_id",
        "list_id",
        "criterion_id",
        "source_id",
        "record_id",
        "severity",
        "noticed_on",
        "effective_on",
        "status",
        "closed_on",
    )
    return [{k: (iso(r[k]) if r[k] != "" else None) for k in keys} for r in rows]


def effective_lists(store: Store, run: dict[str, Any], subject_id: str, raw: list[str]) -> list[str]:
    """The lists a subject is on for decisions: redlists as the run found them, blacklists only when effective."""
    loaded = get_policy(store, run["policy_id"], run["policy_version"])
    black = {lst.id for lst in loaded.policy.lists if lst.kind == "black"}
    if not black & set(raw):
        return list(raw)
    effective = {
        str(r[0])
        for r in store.execute(
            "SELECT DISTINCT list_id FROM listings WHERE policy_id = ? AND subject_id = ? AND status = 'effective'",
            [run["policy_id"], subject_id],
        ).fetchall()
    }
    return [x for x in raw if x not in black or x in effective]


def grants_with(loaded: LoadedPolicy, facts: dict[str, Any]) -> int:
    """The bitmask of services granted for these facts (bit i: the policy's i-th service)."""
    p = loaded.policy
    ranks = {t: len(p.tiers) - i for i, t in enumerate(p.tier_ids())}
    bits = 0
    for i, s in enumerate(p.services):
        node = loaded.condition(f"service:{s.id}")
        if node is not None and expr.evaluate(node, facts, tier_rank=ranks) is True:
            bits |= 1 << i
    return bits


def effective_grants(store: Store, run: dict[str, Any]) -> dict[str, int]:
    """For the subjects whose effective lists differ from the run's (a pending or ended listing), their grants."""
    from socialcredit.registry.decide import facts_of

    loaded = get_policy(store, run["policy_id"], run["policy_version"])
    black = {lst.id for lst in loaded.policy.lists if lst.kind == "black"}
    if not black:
        return {}
    effective = {
        (str(a), str(b))
        for a, b in store.execute(
            "SELECT DISTINCT subject_id, list_id FROM listings WHERE policy_id = ? AND status = 'effective'",
            [run["policy_id"]],
        ).fetchall()
    }
    out: dict[str, int] = {}
    for r in store.rows(
        "SELECT * FROM run_results WHERE run_id = ? AND list_has_any(lists, ?)", [run["run_id"], sorted(black)]
    ):
        lists = [x for x in r["lists"] if x not in black or (r["subject_id"], x) in effective]
        if lists != list(r["lists"]):
            out[r["subject_id"]] = grants_with(loaded, facts_of(loaded, {**r, "lists": lists}, run["as_of"]))
    return out
