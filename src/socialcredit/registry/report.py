"""A subject's file: score, tier, rank, percentile, dimensions, reasons, lists, records with their
contribution and status, and every inquiry made about them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from socialcredit.backends.duckdb import DuckDBBackend
from socialcredit.catalog import load_catalog
from socialcredit.compiler import ScorePlan
from socialcredit.errors import NotFoundError
from socialcredit.regions.alerts import origin_label
from socialcredit.registry.audit import append_audit
from socialcredit.registry.decide import explain
from socialcredit.registry.policies import get_policy
from socialcredit.registry.score import latest_run, prepare_inputs
from socialcredit.store import Store

__all__ = ["list_members", "record_fields", "subject_report", "top_subjects"]


def _subject(store: Store, subject_id: str) -> dict[str, Any]:
    rows = store.rows(
        "SELECT subject_id, kind, name, birth_date, sex, region_code, district, profession FROM subjects "
        "WHERE subject_id = ? ORDER BY seq DESC LIMIT 1",
        [subject_id],
    )
    if not rows:
        raise NotFoundError(f"no registered subject {subject_id!r}")
    return rows[0]


def record_fields(record: dict[str, Any]) -> dict[str, Any]:
    """The fields of a stored record (a row of ``records``) that belong to its record type, by name."""
    spec = load_catalog().record_types[record["record_type"]].fields
    return {name: _plain(record[name]) for name in sorted(spec)}


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _records(store: Store, subject_id: str) -> list[dict[str, Any]]:
    return store.rows(
        """SELECT r.*,
                  r.version < max(r.version) OVER (PARTITION BY r.source_id, r.record_id) AS superseded
           FROM records r WHERE r.subject_id = ? ORDER BY r.event_date DESC, r.record_key DESC""",
        [subject_id],
    )


def _contributions(store: Store, run: dict[str, Any], subject_id: str) -> dict[int, list[dict[str, Any]]]:
    loaded = get_policy(store, run["policy_id"], run["policy_version"])
    prepare_inputs(store, loaded, int(run["watermark"]), subject_id=subject_id)
    store.execute("CREATE OR REPLACE TEMP TABLE sc_affected AS SELECT subject_id FROM sc_subjects")  # its key
    backend = DuckDBBackend(store)
    plan = ScorePlan(loaded, as_of=run["as_of"], dialect=backend.dialect)
    backend.materialize("sc_contributions", plan.record_contributions())
    out: dict[int, list[dict[str, Any]]] = {}
    for row in store.rows("SELECT record_key, rule_id, points FROM sc_contributions ORDER BY record_key, rule_id"):
        out.setdefault(int(row["record_key"]), []).append({"rule_id": row["rule_id"], "points": row["points"]})
    return out


def subject_report(
    store: Store,
    subject_id: str,
    *,
    policy_ids: list[str] | None = None,
    lang: str = "en",
    actor: str = "cli",
    purpose: str = "subject report",
) -> dict[str, Any]:
    """Everything the registry holds and concludes about one subject (the look-up is audited)."""
    subject = _subject(store, subject_id)
    runs = store.rows(
        "SELECT * FROM score_runs WHERE finished_at IS NOT NULL AND run_id IN "
        "(SELECT max(run_id) FROM score_runs WHERE finished_at IS NOT NULL GROUP BY policy_id) ORDER BY policy_id"
    )
    if policy_ids:
        runs = [r for r in runs if r["policy_id"] in policy_ids]
    records = _records(store, subject_id)
    scores = []
    contributions: dict[str, dict[int, list[dict[str, Any]]]] = {}
    for run in runs:
        result = store.rows(
            "SELECT * FROM run_results WHERE run_id = ? AND subject_id = ?", [run["run_id"], subject_id]
        )
        if not result:
            continue
        res = result[0]
        loaded = get_policy(store, run["policy_id"], run["policy_version"])
        p = loaded.policy
        of = store.one("SELECT count(*) FROM run_results WHERE run_id = ? AND kind = ?", [run["run_id"], res["kind"]])
        entries = store.rows(
            "SELECT list_id, criterion_id, record_key FROM run_list_entries WHERE run_id = ? AND subject_id = ? "
            "ORDER BY 1, 2",
            [run["run_id"], subject_id],
        )
        lists = []
        for e in entries:
            c = p.criterion(e["list_id"], e["criterion_id"])
            lists.append(
                {
                    "list": e["list_id"],
                    "criterion": e["criterion_id"],
                    "code": c.reason.code,
                    "reason": c.reason.text(lang),
                    "record_key": e["record_key"],
                    "advice": c.advice.get(lang) if c.advice else None,
                }
            )
        reasons = explain(store, loaded, int(run["run_id"]), subject_id, res, lang)
        scores.append(
            {
                "policy": p.id,
                "policy_version": p.version,
                "run_id": run["run_id"],
                "as_of": run["as_of"].isoformat(),
                "score": res["score"],
                "tier": res["tier"],
                "rank": res["rank"],
                "of": of,
                "percentile": res["percentile"],
                "dimensions": [
                    {"id": d.id, "name": d.name.get(lang), "points": round(v, 2), "min": d.min, "max": d.max}
                    for d, v in zip(p.dimensions, res["dims"], strict=True)
                ],
                "lists": lists,
                "reasons": [r.__dict__ for r in reasons],
                "services": [
                    {"service": s.id, "granted": bool(int(res["grants"]) >> i & 1)} for i, s in enumerate(p.services)
                ],
            }
        )
        contributions[p.id] = _contributions(store, run, subject_id)
    recs = []
    for r in records:
        contrib = {pid: c.get(int(r["record_key"]), []) for pid, c in contributions.items()}
        counting = any(abs(x["points"]) > 0 for hits in contrib.values() for x in hits)
        if r["withdrawn"]:
            status = "withdrawn"
        elif r["superseded"]:
            status = "superseded"
        else:
            status = "counting" if counting else "not counting"
        recs.append(
            {
                "source": r["source_id"],
                "record_id": r["record_id"],
                "version": r["version"],
                "record_type": r["record_type"],
                "event_date": r["event_date"].isoformat(),
                "fields": record_fields(r),
                "origin": origin_label(store, r.get("origin_region")),
                "status": status,
                "contribution": {
                    pid: [{"rule_id": x["rule_id"], "points": round(x["points"], 2)} for x in hits]
                    for pid, hits in contrib.items()
                    if hits
                },
            }
        )
    inquiries = store.rows(
        "SELECT asked_at, requester, service, purpose, outcome, run_id FROM inquiries WHERE subject_id = ? "
        "ORDER BY inquiry_id DESC",
        [subject_id],
    )
    with store.transaction():
        append_audit(store, actor, "read_report", subject_id, {"purpose": purpose})
    subject = {**subject, "birth_date": subject["birth_date"].isoformat() if subject["birth_date"] else None}
    return {
        "subject": subject,
        "scores": scores,
        "records": recs,
        "inquiries": [{**q, "asked_at": q["asked_at"].isoformat(sep=" ")} for q in inquiries],
    }


def list_members(
    store: Store, list_id: str, *, policy_id: str | None = None, limit: int = 50, offset: int = 0
) -> list[dict[str, Any]]:
    """Members of a list in the latest run of a policy, with the criteria that put them there."""
    run = latest_run(store, policy_id)
    return store.rows(
        """SELECT e.subject_id, s.name, r.score, r.tier, string_agg(e.criterion_id, ', ' ORDER BY e.criterion_id)
                  AS criteria
           FROM run_list_entries e JOIN run_results r USING (run_id, subject_id)
           LEFT JOIN (SELECT subject_id, name FROM subjects
                      QUALIFY row_number() OVER (PARTITION BY subject_id ORDER BY seq DESC) = 1) s USING (subject_id)
           WHERE e.run_id = ? AND e.list_id = ?
           GROUP BY e.subject_id, s.name, r.score, r.tier ORDER BY r.score, e.subject_id LIMIT ? OFFSET ?""",
        [run["run_id"], list_id, limit, offset],
    )


def top_subjects(
    store: Store, *, policy_id: str | None = None, limit: int = 20, kind: str = "person"
) -> list[dict[str, Any]]:
    run = latest_run(store, policy_id)
    return store.rows(
        """SELECT r.rank, r.subject_id, s.name, r.score, r.tier, r.percentile FROM run_results r
           LEFT JOIN (SELECT subject_id, name FROM subjects
                      QUALIFY row_number() OVER (PARTITION BY subject_id ORDER BY seq DESC) = 1) s USING (subject_id)
           WHERE r.run_id = ? AND r.kind = ? ORDER BY r.rank, r.subject_id LIMIT ?""",
        [run["run_id"], kind, limit],
    )
