"""A subject's file: score, tier, rank, percentile, dimensions, reasons, lists, records with their
contribution and status, every inquiry made about them, and their due process: disputes, notices and listings,
repairs, overrides, consents and notifications.

A record's status: ``counting``, ``disputed`` (an open dispute), ``expired`` (no rule counts it any more, by age),
``repaired``, ``withdrawn``, ``superseded`` (an older version), ``listing`` (no points, but a list's criterion holds on
it: its ``lists`` say which) or ``not counting`` (no rule nor criterion of the policies in use matches it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from typing import Any

import sqlglot.expressions as exp

from socialcredit.backends.duckdb import DuckDBBackend
from socialcredit.catalog import Catalog, load_catalog
from socialcredit.compiler import MAX_REASONS, ScorePlan
from socialcredit.compiler.plan import MICRO
from socialcredit.errors import NotFoundError
from socialcredit.identifiers import no_subject
from socialcredit.policy import LoadedPolicy, Policy
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.common import finished_runs, iso, shown_points
from socialcredit.registry.decisions.decide import explain_rows, run_entries
from socialcredit.registry.decisions.inquiries import party_names, who_asked
from socialcredit.registry.decisions.live import LiveView
from socialcredit.registry.due_process.disputes import list_disputes
from socialcredit.registry.due_process.links import linked_identities, list_link_disputes
from socialcredit.registry.due_process.listings import effective_lists, inquiry_lists, list_listings
from socialcredit.registry.due_process.notifications import list_notifications
from socialcredit.registry.due_process.overrides import list_overrides
from socialcredit.registry.due_process.public_lists import Held
from socialcredit.registry.due_process.relations import relation_note
from socialcredit.registry.due_process.repair import list_repairs
from socialcredit.registry.due_process.severity import counts_until, matching
from socialcredit.registry.records.consent import consent_history, current_consents
from socialcredit.registry.records.origin import origin_label
from socialcredit.registry.relations import OwnedRelations
from socialcredit.registry.reporting.capped import cap_note, capped_total, share_cap, shown_shares
from socialcredit.registry.scoring.facts import facts_of, grants_with
from socialcredit.registry.scoring.inputs import RunInputs, prepare_inputs
from socialcredit.registry.scoring.memoranda import name_measures
from socialcredit.registry.scoring.policies import get_policy
from socialcredit.registry.scoring.runs import in_force_sql, list_kinds, list_page, no_run_in_force, run_in_force
from socialcredit.store import Store, run_rows

__all__ = ["PARTS", "list_entries", "list_members", "record_fields", "subject_key", "subject_report", "top_subjects"]

# What a report holds: the scores (with reasons and lists), the records (with their contribution and status, and the
# identities linked from other regions), who asked (inquiries and operators' views), and the due process.
PARTS = ("scores", "records", "inquiries", "due_process")


def _subject(store: Store, subject_id: str, key: int | None = None) -> dict[str, Any]:
    """The subject's latest registration (as ``current_subjects``), found by its key when it is known: subjects are
    registered in the order of their keys, so that filter skips nearly every block of the table."""
    if key is None:
        key = subject_key(store, subject_id)
    rows = store.rows(
        "SELECT subject_id, kind, name, birth_date, sex, region_code, district, profession FROM subjects "
        "WHERE subject_key = ? AND subject_id = ? ORDER BY seq DESC LIMIT 1",
        [-1 if key is None else key, subject_id],
    )
    if not rows:
        raise no_subject(subject_id)
    return rows[0]


def record_fields(record: dict[str, Any], catalog: Catalog | None = None) -> dict[str, Any]:
    """The fields of a stored record (a row of ``records``) that belong to its record type (in ``catalog``, the
    store's; the shipped one by default), by name."""
    # a type the catalog lacks: no fields to show
    known = (catalog or load_catalog()).record_types.get(record["record_type"])
    return {name: _plain(record[name]) for name in sorted(known.fields if known else ())}


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def subject_key(store: Store, subject_id: str) -> int | None:
    """The subject's integer key: records and rule points are read by it (a constant on an integer column is the
    cheapest filter DuckDB can push into a scan; the identifier's text is eighteen bytes a row)."""
    key = store.execute("SELECT max(subject_key) FROM subject_keys WHERE subject_id = ?", [subject_id]).fetchone()
    return int(key[0]) if key is not None and key[0] is not None else None


# Every stored version of one subject's records, read once per file into the caller's own table: the file's list and
# each policy's contributions read them from it (a scan of the records by the subject's key took 26-43 ms at the city
# scale, twice a page).
_VERSIONS = frozenset({"sc_versions"})
_READ_VERSIONS = "SELECT * FROM records WHERE subject_key = ? AND subject_id = ?"


def _records(owned: OwnedRelations) -> list[dict[str, Any]]:
    # every version of the subject's records; a version moved here by a correction is the subject's too. A version is
    # superseded when a later one exists, in this file or in another's: a correction that moved the record onto
    # another subject leaves the last version of this file an old one (until 2026-12-06 it read as the record in
    # force, "counting", in the file of the person it no longer names, and as a record of theirs to repair). A later
    # version names the one it replaces (prev_key), so one scan of that column finds them.
    # ``replaced_here``: a later version in this file (the file's state says such a one superseded first, then a
    # withdrawal, then a move away)
    return owned.rows(
        """SELECT *, replaced_here OR record_key IN (
                      SELECT prev_key FROM records WHERE prev_key IN (SELECT record_key FROM sc_versions)
                  ) AS superseded
           FROM (SELECT r.*, r.version < max(r.version) OVER (PARTITION BY r.source_id, r.record_id) AS replaced_here
                 FROM sc_versions r)
           ORDER BY event_date DESC, record_key DESC"""
    )


def file_versions(store: Store, subject_id: str) -> list[dict[str, Any]]:
    """Every stored version of ``subject_id``'s records as the file reads them: each row of ``records`` with
    ``superseded`` (a later version exists, in this file or, moved by a correction, in another's)."""
    skey = subject_key(store, subject_id)
    with OwnedRelations(store, _VERSIONS) as owned:
        owned.create("sc_versions", _READ_VERSIONS, [-1 if skey is None else skey, subject_id])
        return _records(owned)


def _results(store: Store, subject_id: str, run_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The subject's results in the runs ``run_ids``, by run id, in one read (runs are written one after another,
    so the runs' filter skips the blocks of every other run). ``run_results`` has no index on the identifier: one
    would cost every run several seconds a million results to write (6 s at the city scale), more than it saves."""
    out: dict[int, list[dict[str, Any]]] = {}
    rows = (
        store.rows(
            " UNION ALL ".join(
                f"SELECT * FROM {run_rows(store, 'run_results', r)} WHERE subject_id = ?" for r in run_ids
            )
            + " ORDER BY run_id",
            [subject_id] * len(run_ids),
        )
        if run_ids
        else []
    )
    for row in rows:
        out.setdefault(int(row["run_id"]), []).append(row)
    return out


# How many subjects of a kind a finished run scored (the "of" of a rank): a run's results never change once it has
# finished, so each count is read once per process and run (a count of a city's run took 6-18 ms a page), the run
# named by its finish as well as its number (copies of one store file number their runs alike).
_RUN_SIZES: dict[tuple[Any, ...], int] = {}


def _run_size(store: Store, run_id: int, kind: str) -> int:
    run = finished_runs(store, run_id)
    size = _RUN_SIZES.get((*run, kind)) if run else None
    if size is None:
        size = int(store.one(f"SELECT count(*) FROM {run_rows(store, 'run_results', run_id)} WHERE kind = ?", [kind]))
        if run:  # an unfinished run may still change
            if len(_RUN_SIZES) >= 256:
                _RUN_SIZES.clear()
            _RUN_SIZES[(*run, kind)] = size
    return size


# The contributions query of a policy version at an as-of date, one part per rule (the plan's union, in the order of
# the rules), as DuckDB text reading relations named with this prefix: compiled once per process (compiling and
# printing it took 0.2-0.5 s a page), then named for each caller; a subject's query has the parts of the record
# types it has records of.
_PLACEHOLDER = "sc_0report0plan0_"
_COMPILED: dict[tuple[str, dt.date], list[tuple[str, str]]] = {}


def _contributions_sql(store: Store, loaded: LoadedPolicy, as_of: dt.date, prefix: str, types: set[str]) -> str | None:
    key = (loaded.sha256, as_of)
    parts = _COMPILED.get(key)
    if parts is None:
        backend = DuckDBBackend(store)
        binder = RunInputs(store)
        binder.prefix = _PLACEHOLDER  # names only: it creates nothing
        tree = binder.bind(ScorePlan(loaded, as_of=as_of, dialect=backend.dialect).record_contributions())
        selects: list[exp.Expr] = []
        while isinstance(tree, exp.Union):  # the plan's union is left-deep: ((r1 ∪ r2) ∪ r3) ∪ …
            selects.insert(0, tree.expression)
            tree = tree.this
        selects.insert(0, tree)
        rules = loaded.policy.rules
        assert len(selects) == len(rules), "one part of the contributions per rule"
        parts = [(r.record_type, backend.dialect.sql(q)) for r, q in zip(rules, selects, strict=True)]
        if len(_COMPILED) >= 64:
            _COMPILED.clear()
        _COMPILED[key] = parts
    chosen = [f"({sql})" for record_type, sql in parts if record_type in types]
    if not chosen:
        return None
    return " UNION ALL ".join(chosen).replace(f'"{_PLACEHOLDER}', f'"{prefix}')


def _contributions(
    store: Store,
    run: dict[str, Any],
    subject_id: str,
    types: set[str],
    key: int | None,
    versions: str,
    watermark: int | None = None,
) -> dict[int, list[dict[str, Any]]]:
    """Each of the subject's records (by key): the rules it gives points under at the run, and how many;
    ``versions`` names the relation of the subject's record versions the file read. ``watermark``, the live row's
    when the subject was rescored since the run, reads the records as that row's score counts them (the run's own
    by default)."""
    loaded = get_policy(store, run["policy_id"], run["policy_version"])
    out: dict[int, list[dict[str, Any]]] = {}
    if not any(r.record_type in types for r in loaded.policy.rules):
        return out
    watermark = int(run["watermark"]) if watermark is None else int(watermark)
    with prepare_inputs(store, loaded, watermark, subject_id=subject_id, subject_key=key, versions=versions) as inputs:
        inputs.create("sc_affected", "SELECT subject_id FROM sc_subjects")  # its key
        sql = _contributions_sql(store, loaded, run["as_of"], inputs.prefix, types)
        # each hit with its record's date and id: a capped rule's cap is shared out oldest first (capped.py)
        rows = (
            store.rows(
                f"""SELECT c.record_key, c.rule_id, c.points, v.event_date, v.record_id, v.source_id
                    FROM ({sql}) c LEFT JOIN {versions} v USING (record_key)
                    ORDER BY c.rule_id, v.event_date, v.record_id, v.source_id, c.record_key"""
            )
            if sql
            else []
        )
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_rule.setdefault(str(row["rule_id"]), []).append(row)
    caps = {r.id: r.cap for r in loaded.policy.rules}
    hits: list[dict[str, Any]] = []
    for rule_id, rule_rows in by_rule.items():
        # the micro-points the run summed (each record's points are a whole number of them: plan.py's from_micro)
        micros = [round(float(row["points"]) * MICRO) for row in rule_rows]
        counted = share_cap(micros, caps.get(rule_id))
        shown = shown_shares(counted, capped_total(micros, caps.get(rule_id)))
        for row, own, share, figure in zip(rule_rows, micros, counted, shown, strict=True):
            cut = caps.get(rule_id) if share != own else None
            hits.append(
                {
                    "key": int(row["record_key"]),
                    "rule_id": rule_id,
                    "points": row["points"],
                    "counted": figure,
                    "cap": cut,
                    "counts": share != 0,  # counted something after the cap (its status reads "counting")
                }
            )
    for hit in sorted(hits, key=lambda h: (h["key"], h["rule_id"])):
        out.setdefault(hit.pop("key"), []).append(hit)
    return out


def _contribution(hit: dict[str, Any], lang: str) -> dict[str, Any]:
    """A record's hit of a rule as the file shows it: the rule, the record's own points at the run's date, what it
    ``counted`` as the rule's cap leaves it (capped.py), and a ``note`` in ``lang`` when the cap cut it (else None):
    not when it cut less than the figures show (the counted figure reads as the points), so no note says "counts −100
    of −100"."""
    points = shown_points(hit["points"])
    cap = hit["cap"]
    cut = cap is not None and hit["counted"] != points
    note = cap_note(str(hit["rule_id"]), hit["counted"], points, float(cap), lang) if cut else None
    return {"rule_id": hit["rule_id"], "points": points, "counted": hit["counted"], "note": note}


def _reasons(
    store: Store,
    loaded: LoadedPolicy,
    run_id: int,
    subject_id: str,
    key: int | None,
    result: dict[str, Any],
    lang: str,
    ranked: list[dict[str, Any]] | None = None,
) -> list[Any]:
    """The run's reasons for the subject as ``decide.explain`` gives them, with the rule points read by the
    subject's key (the ``run_reasons`` view ranks every subject of the run before it filters), or taken from
    ``ranked`` (the subject's ranked rule points of every run) when the caller has read them."""
    entries = run_entries(store, run_id, loaded, subject_id).get(subject_id, [])
    if ranked is not None:
        scored = [(str(x["rule_id"]), x["points"]) for x in ranked if int(x["run_id"]) == run_id][:MAX_REASONS]
        return explain_rows(loaded, result, entries, scored, lang)
    scored = store.execute(
        f"""SELECT r.rule_id, p.points FROM {run_rows(store, "run_points", run_id)} p
           JOIN run_rules r ON r.run_id = p.run_id AND r.rule_index = p.rule_index
           WHERE p.subject_key = ? AND p.points <> 0
           ORDER BY abs(p.points) DESC, r.rule_id LIMIT ?""",
        [-1 if key is None else key, MAX_REASONS],
    ).fetchall()
    return explain_rows(loaded, result, entries, scored, lang)


def subject_report(
    store: Store,
    subject_id: str,
    *,
    policy_ids: list[str] | None = None,
    lang: str = "en",
    actor: str = "cli",
    purpose: str = "subject report",
    live: Mapping[int, LiveView] | None = None,
    parts: Collection[str] = PARTS,
    record_rows: list[dict[str, Any]] | None = None,
    points: bool = True,
    result_rows: list[dict[str, Any]] | None = None,
    reason_rows: list[dict[str, Any]] | None = None,
    inquiries_page: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """Everything the registry holds and concludes about one subject (the look-up is audited).

    ``live`` (by run id) carries the subject as rescored since a run (registry/decisions/live.py, held by the running
    service): its score, lists, services and reasons are shown as they now stand, with the watermark.

    ``parts`` (of :data:`PARTS`) says what to compute: a page that shows the inquiries alone does not compute the
    records' contributions. Every key is in the answer; a part not asked for is empty.

    ``record_rows``, a list, receives the stored versions of the subject's records as read for the file (each row of
    ``records`` with ``superseded``), so that a page that needs them too does not read them again.

    ``points`` False lists the records without their contributions (a page that only names them; no run is read for
    them): a record's contribution is then empty and its status ``superseded``, ``withdrawn``, ``repaired``,
    ``disputed`` or None.

    ``result_rows``, the subject's rows of ``run_results`` (of every run, as ``SELECT *`` gives them) when the caller
    has read them, are used for the runs shown instead of reading them again; so are ``reason_rows``, the subject's
    rule points of every run ranked as reasons (``run_id``, ``rule_id``, ``points``, by ``position`` in a run).

    ``inquiries_page``, (offset, count), keeps only that window of who asked (``inquiries``, newest first: a page
    of the portal's list), read as such; the answer then counts them all in ``inquiries_total``."""
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ValueError(f"unknown parts of a report: {sorted(unknown)}")
    skey = subject_key(store, subject_id)
    subject = _subject(store, subject_id, skey)
    runs = store.rows(f"SELECT * FROM ({in_force_sql()}) ORDER BY policy_id")  # each policy's run in force
    if policy_ids:
        scored = sorted(str(r["policy_id"]) for r in runs)
        unscored = [p for p in dict.fromkeys(policy_ids) if p not in scored]
        if unscored:  # not an empty file: its records would all read "not counting"
            if store.one(
                "SELECT count(*) FROM score_runs WHERE policy_id = ? AND finished_at IS NOT NULL", [unscored[0]]
            ):  # scored, but by what-ifs or reruns alone: not "no score run", which `score` had just said it made
                raise no_run_in_force(store, unscored[0])
            raise NotFoundError(
                f"no score run of policy {unscored[0]!r}; the policies scored are {', '.join(scored) or 'none'}",
                code="no_run",
            )
        runs = [r for r in runs if r["policy_id"] in policy_ids]
    if "scores" not in parts and ("records" not in parts or not points):
        runs = []  # who asked, or the due process alone: no run is read
    records: list[dict[str, Any]] = []
    scores = []
    contributions: dict[str, dict[int, list[dict[str, Any]]]] = {}
    if result_rows is not None:
        shown = {int(r["run_id"]) for r in runs}
        results: dict[int, list[dict[str, Any]]] = {}
        for row in sorted(result_rows, key=lambda x: int(x["run_id"])):
            if int(row["run_id"]) in shown:
                results.setdefault(int(row["run_id"]), []).append(row)
    else:
        results = _results(store, subject_id, [int(r["run_id"]) for r in runs]) if runs else {}
    if "records" in parts:
        with OwnedRelations(store, _VERSIONS) as owned:
            owned.create("sc_versions", _READ_VERSIONS, [-1 if skey is None else skey, subject_id])
            records = _records(owned)
            types = {str(r["record_type"]) for r in records}
            for run in runs if points else []:
                if results.get(int(run["run_id"])):
                    versions = owned.name("sc_versions")
                    # as the score shown counts them: the live row's, when the subject was rescored since the run
                    # (until 2026-12-06 the run's, so a record the live score counted read "not counting")
                    now = (live or {}).get(int(run["run_id"]))
                    contributions[str(run["policy_id"])] = _contributions(
                        store, run, subject_id, types, skey, versions, None if now is None else now.watermark
                    )
    if record_rows is not None:
        record_rows.extend(records)
    # what a record that lists the subject does, by its source and id, as the listing it made stands (filled below)
    listed: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    ids = {int(r["record_key"]): (r["source_id"], r["record_id"]) for r in records}
    withdrawn = {(r["source_id"], r["record_id"]) for r in records if r["withdrawn"] and not r["replaced_here"]}
    open_disputes = {
        (d["source_id"], d["record_id"]): d["dispute_id"]
        for d in (list_disputes(store, subject_id=subject_id, status="open") if records else [])
    }
    for run in runs:
        result = results.get(int(run["run_id"]), [])
        if not result:
            continue
        now = (live or {}).get(int(run["run_id"]))
        loaded = get_policy(store, run["policy_id"], run["policy_version"])
        p = loaded.policy
        entries = store.rows(
            "SELECT list_id, criterion_id, record_key FROM run_list_entries WHERE run_id = ? AND subject_id = ? "
            "ORDER BY 1, 2",
            [run["run_id"], subject_id],
        )
        listings = list(reversed(list_listings(store, subject_id=subject_id, policy_id=p.id)))  # the newest last
        listing_status = {(x["list_id"], x["criterion_id"]): (x["status"], x["effective_on"]) for x in listings}
        if records and points:
            live_keys = None if now is None else {(x[0], x[1]) for x in now.entries}
            # what each record, as the live pass found it, still meets (in effect or in its grace period alike)
            met = (
                None
                if now is None or now.met is None
                else {(x[0], x[1], *ids[x[2]]) for x in now.met if x[2] is not None and x[2] in ids}
            )
            _listed_by(listed, p, entries, live_keys, met, listings, ids, withdrawn, set(open_disputes), lang)
        if "scores" not in parts:
            continue
        res = result[0]
        if now is not None:
            res = {**res, **now.result, "rank": now.rank, "percentile": now.percentile}
        if now is None:
            # the services as a decision on the run grants them: a blacklisting still in its notice period (or ended
            # since the run) refuses nothing, so they are judged again on the lists in effect (decide.py)
            in_effect = effective_lists(store, run, subject_id, list(res["lists"]))
            if in_effect != list(res["lists"]):
                res = {**res, "lists": in_effect}
                res["grants"] = grants_with(loaded, facts_of(loaded, res, run["as_of"]))
        of = _run_size(store, int(run["run_id"]), str(res["kind"]))
        lists = []
        if now is not None:
            entries = [
                {"list_id": x[0], "criterion_id": x[1], "record_key": None, "note": x[2] if len(x) > 2 else None}
                for x in now.entries
            ]
        for e in entries:
            c = p.criterion(e["list_id"], e["criterion_id"])
            black = p.list_spec(e["list_id"]).kind == "black"
            status, effective_on = listing_status.get((e["list_id"], e["criterion_id"]), ("effective", None))
            # An entry through an organisation names it, the role and its cause, as a decision's reason does.
            note = e.get("note")
            if note is None and c.via is not None:
                note = relation_note(store, loaded, str(e["list_id"]), str(e["criterion_id"]), e["record_key"])
            lists.append(
                {
                    "list": e["list_id"],
                    "criterion": e["criterion_id"],
                    "code": c.reason.code,
                    "reason": c.reason.text(lang) + ("" if note is None else note[1 if lang == "zh" else 0]),
                    "record_key": e["record_key"],
                    "advice": c.advice.get(lang) if c.advice else None,
                    # a blacklisting refuses only once effective (after its notice's grace period)
                    "status": status if black else "effective",
                    "effective_on": effective_on if black else None,
                }
            )
        grants = int(res["grants"])
        if now is None:
            reasons = _reasons(store, loaded, int(run["run_id"]), subject_id, skey, res, lang, reason_rows)
        else:
            reasons = explain_rows(loaded, res, now.entries, now.reasons, lang, as_of=run["as_of"])
        scores.append(
            {
                "policy": p.id,
                "policy_version": p.version,
                "run_id": run["run_id"],
                "watermark": int(run["watermark"]) if now is None else now.watermark,
                "as_of": run["as_of"].isoformat(),
                "score": res["score"],
                "tier": res["tier"],
                "rank": res["rank"],
                "of": of,
                "percentile": res["percentile"],
                "dimensions": [
                    {"id": d.id, "name": d.name.get(lang), "points": shown_points(v), "min": d.min, "max": d.max}
                    for d, v in zip(p.dimensions, res["dims"], strict=True)
                ],
                "lists": lists,
                "reasons": [r.__dict__ for r in reasons],
                "services": [{"service": s.id, "granted": bool(grants >> i & 1)} for i, s in enumerate(p.services)],
            }
        )
    recs = []
    repaired = {
        (x["source_id"], x["record_id"])
        for x in (list_repairs(store, subject_id=subject_id, status="approved") if records else [])
    }
    policies = [(get_policy(store, run["policy_id"], run["policy_version"]), run["as_of"]) for run in runs]
    for r in records:
        contrib = {pid: c.get(int(r["record_key"]), []) for pid, c in contributions.items()}
        # counting only when it counted something once its rule's cap was shared out: one the cap cut to 0 reads as
        # one whose period's points another record carries (its note says why)
        counting = any(x["counts"] for hits in contrib.values() for x in hits)
        key = (r["source_id"], r["record_id"])
        state: str | None
        if r["replaced_here"]:
            state = "superseded"
        elif r["withdrawn"]:  # the file's last version withdrew it, even if a correction then moved it elsewhere
            state = "withdrawn"
        elif r["superseded"]:  # by a correction that moved it onto another subject
            state = "superseded"
        elif key in repaired:
            state = "repaired"
        elif key in open_disputes:
            state = "disputed"
        elif not points:
            state = None  # not computed
        elif counting:
            state = "counting"
        elif any(x["standing"] not in ("removed", "notice_ending") for x in listed.get(key, [])):
            state = "listing"  # no points, but a criterion of a list holds on it: it lists the subject
        else:
            state = "expired" if _expired(policies, r) else "not counting"
        recs.append(
            {
                "source_id": r["source_id"],
                "record_id": r["record_id"],
                # deprecated alias of source_id (until 2026-12-06 a record named its source ``source`` here alone,
                # where a dispute, a repair, a fulfilment, a list entry and a listing's record say ``source_id``)
                "source": r["source_id"],
                "version": r["version"],
                "record_type": r["record_type"],
                "event_date": r["event_date"].isoformat(),
                "fields": record_fields(r, store.catalog),
                "origin": origin_label(store, r.get("origin_region")),
                "status": state,
                "dispute_id": open_disputes.get(key) if not r["superseded"] else None,
                "contribution": {pid: [_contribution(x, lang) for x in hits] for pid, hits in contrib.items() if hits},
                # the listings the record made, beside its points if it has any, as each stands, in ``lang``
                # (``text``): in effect, in its notice period, held, or removed (when and why); until 2026-12-07
                # only those of a record without points, and a removed one read plain "not counting"
                "lists": [] if state == "superseded" else listed.get(key, []),
            }
        )
    # Who asked, an operator who opened the file among them (before this view is logged), newest first: all of them,
    # or the window a page shows (read as such: a subject asked about 100 000 times costs a page's rows)
    inquiries: list[dict[str, Any]] = []
    asked = 0
    if "inquiries" in parts:
        limit, offset = (None, 0) if inquiries_page is None else (inquiries_page[1], inquiries_page[0])
        inquiries, asked = who_asked(store, subject_id, lang, limit=limit, offset=offset)
    # a refusal under a joint-punishment memorandum names it, by the lists its decision counted
    refused = [int(q["inquiry_id"]) for q in inquiries if q["outcome"] == "refused" and q.get("inquiry_id") is not None]
    name_measures(store, inquiries, inquiry_lists(store, subject_id, refused), lang)
    # Who asked is the party's name, never its key id (a key no longer known is "a relying party" in ``lang``).
    names = party_names(store, [str(q["requester"]) for q in inquiries], lang)
    for q in inquiries:
        if str(q["requester"]).startswith("key:"):
            q["requester"] = names[str(q["requester"])]
    with store.transaction():
        append_audit(store, actor, "read_report", subject_id, {"purpose": purpose})
    subject = {**subject, "birth_date": subject["birth_date"].isoformat() if subject["birth_date"] else None}
    due = "due_process" in parts
    overrides = list_overrides(store, subject_id=subject_id) if due or inquiries else []
    by_inquiry: dict[str, list[dict[str, Any]]] = {}  # every override of a decision, in the order they were made
    for o in overrides:
        if o["kind"] == "decision":
            by_inquiry.setdefault(str(o["target"]), []).append(o)
    out: dict[str, Any] = {
        "subject": subject,
        "scores": scores,
        "records": recs,
        "inquiries": [_inquiry(q, by_inquiry.get(f"inquiry:{q['inquiry_id']}", [])) for q in inquiries],
        "disputes": list_disputes(store, subject_id=subject_id) if due else [],
        # identities of other regions linked to this subject, and the person's disputes of such links
        "links": linked_identities(store, subject_id, lang) if "records" in parts else [],
        "link_disputes": list_link_disputes(store, subject_id=subject_id) if "records" in parts else [],
        "notices": list_listings(store, subject_id=subject_id) if due else [],
        "repairs": list_repairs(store, subject_id=subject_id) if due else [],
        "overrides": overrides if due else [],
        "consents": {
            "current": current_consents(store, subject_id) if due else {},
            "history": [{**c, "recorded_at": iso(c["recorded_at"])} for c in consent_history(store, subject_id)]
            if due
            else [],
        },
        "notifications": list_notifications(store, subject_id, lang) if due else [],
    }
    if inquiries_page is not None:
        out["inquiries_total"] = asked
    return out


def _listed_by(
    out: dict[tuple[Any, Any], list[dict[str, Any]]],
    p: Policy,
    entries: list[dict[str, Any]],
    live_keys: set[tuple[Any, Any]] | None,
    met: set[tuple[Any, ...]] | None,
    listings: list[dict[str, Any]],
    ids: dict[int, tuple[Any, Any]],
    withdrawn: set[tuple[Any, Any]],
    disputed: set[tuple[Any, Any]],
    lang: str,
) -> None:
    """Adds to ``out``, by the record's source and id (``ids``: record key → them), the list entries of a run
    (``entries``) that a criterion on one of the subject's records made: the policy, the list, the criterion, where
    the listing stands (``standing``) and what the record does in ``lang`` as the listing it made stands
    (``listings``, the newest last; an entry with none, as a red list's, is in effect): in effect "puts you on the
    blacklist (judgment defaulter)"; in its notice period "will put you on the blacklist (...) from DATE unless the
    cause is resolved before then"; in effect in the register but no longer applied by decisions (not among the
    live score's entries, ``live_keys``) ``held``; ended (overridden, resolved, delisted, repaired or no longer
    published) "removed from the blacklist (...) on DATE: overridden by an operator" (the record ``withdrawn``, if
    it is, says so).

    A listing in its notice period whose record was withdrawn since the run (``withdrawn``), or as it now stands no
    longer meets the criterion (the subject rescored live and the pass found no entry of that list and criterion by
    that record, in effect or in its grace period: ``met``, by list, criterion, source and record id; None when no
    pass rescored the subject), will not take effect: the daily job leaves it
    (``listings.activate_due``: the record has a version newer than the run) and the next run ends it, ``resolved``
    (``notice_ending``). One whose record is under an open dispute (``disputed``) is not put in effect by the daily
    job while the dispute is open; under a policy that does not count a disputed record the next run made while it
    is open ends it, else a run on or after its day puts it in effect (``notice_disputed``). Until 2026-12-07 both
    read "will put you on … unless the cause is resolved before then".

    A listing the record made that was closed, and that the run no longer finds (a record withdrawn, a judgment
    fulfilled, after the run that delisted it), is told too: "removed from the blacklist (...) on DATE: the record
    was withdrawn" ("did not put you on …" for one closed in its notice period); the newest listing of each list,
    criterion and record, so at most one per criterion of the policy a record. Until 2026-12-07 only the run's
    entries were told, and such a record read nothing."""
    by_record = {(x["list_id"], x["criterion_id"], x["source_id"], x["record_id"]): x for x in listings}
    by_criterion = {(x["list_id"], x["criterion_id"]): x for x in listings}
    records = set(ids.values())
    told: set[tuple[Any, ...]] = set()  # (list, criterion, source, record) told from the run's entries
    for e in entries:
        record = ids.get(int(e["record_key"])) if e["record_key"] is not None else None
        if record is None:
            continue
        pair = (e["list_id"], e["criterion_id"])
        x = by_record.get((*pair, *record)) or by_criterion.get(pair)
        status = "effective" if x is None else str(x["status"])
        name = p.list_spec(e["list_id"]).name.get(lang)
        cause = p.criterion(e["list_id"], e["criterion_id"]).reason.text(lang)
        told.add((*pair, *record))
        if (
            status == "pending"
            and x is not None
            and (record in withdrawn or (met is not None and (*pair, *record) not in met and record not in disputed))
        ):
            standing = "notice_ending"  # the daily job leaves it, the next run ends it (listings.activate_due)
            why = (
                ("记录已在告知期内撤回", "the record was withdrawn during the notice period")
                if record in withdrawn
                else ("该记录现已不符合此条件", "the record as it now stands no longer meets the criterion")
            )
            text = (
                f"不会将您列入{name}（{cause}）：{why[0]}，下次评分时结束告知（您不会被列入）"
                if lang == "zh"
                else f"will not put you on the {name} ({cause}): {why[1]}, and the next run ends the notice "
                "(you are not listed)"
            )
        elif status == "pending" and x is not None and x["effective_on"] is not None and record in disputed:
            standing, day = "notice_disputed", iso(x["effective_on"])
            if p.disputes.counts_while_open:  # the record counts: a run on or after the day puts it in effect
                text = (
                    f"最早于{day}起将您列入{name}（{cause}），除非此前消除原因：您对该记录的异议未结期间，"
                    "仅在该日或之后的评分时生效，记录被撤回或更正为不再符合条件则不生效"
                    if lang == "zh"
                    else f"will put you on the {name} ({cause}) from {day} at the earliest unless the cause is "
                    "resolved before then: while your dispute of the record is open it takes effect only at a run "
                    "made on or after that day, and not if the record is withdrawn or corrected out of the criterion"
                )
            else:  # the record does not count while disputed: a run made while it is open finds no cause
                text = (
                    f"原定于{day}起将您列入{name}（{cause}），但您对该记录的异议未结期间不会生效："
                    "答复前该记录暂不计入，其间的评分将结束告知（您不会被列入）"
                    if lang == "zh"
                    else f"would put you on the {name} ({cause}) from {day}, but not while your dispute of the "
                    "record is open: the record does not count until it is answered, and a run made before then "
                    "ends the notice (you are not listed)"
                )
        elif status == "pending" and x is not None and x["effective_on"] is not None:
            standing, day = "notice", iso(x["effective_on"])
            text = (
                f"将于{day}起将您列入{name}（{cause}），除非此前消除原因"
                if lang == "zh"
                else f"will put you on the {name} ({cause}) from {day} unless the cause is resolved before then"
            )
        elif status == "effective" and live_keys is not None and pair not in live_keys:
            standing = "held"
            text = (
                f"在登记中将您列入{name}（{cause}），但决定已不再适用；下次评分时列入结束"
                if lang == "zh"
                else f"puts you on the {name} ({cause}) in the register, but decisions no longer apply it; the next "
                "run closes the listing (held)"
            )
        elif status == "effective":
            standing = "effective"
            text = f"将您列入{name}（{cause}）" if lang == "zh" else f"puts you on the {name} ({cause})"
        elif x is not None and status in _CLOSED:
            standing, text = "removed", _removed_text(x, name, cause, record in withdrawn, lang)
        else:
            continue
        out.setdefault(record, []).append(
            {
                "policy": p.id,
                "list": e["list_id"],
                "criterion": e["criterion_id"],
                "standing": standing,
                "text": text,
            }
        )
    # the listings closed that the run no longer finds (the newest of each list, criterion and record of the subject)
    for (list_id, criterion_id, *rest), x in by_record.items():
        record = (rest[0], rest[1])
        if (list_id, criterion_id, *record) in told or record not in records or x["status"] not in _CLOSED:
            continue
        try:
            name = p.list_spec(list_id).name.get(lang)
            cause = p.criterion(list_id, criterion_id).reason.text(lang)
        except KeyError:  # a list or criterion the run's version of the policy no longer has
            continue
        out.setdefault(record, []).append(
            {
                "policy": p.id,
                "list": list_id,
                "criterion": criterion_id,
                "standing": "removed",
                "text": _removed_text(x, name, cause, record in withdrawn, lang),
            }
        )


def _removed_text(x: dict[str, Any], name: str, cause: str, withdrawn: bool, lang: str) -> str:
    """What a record says of the listing ``x`` it made, closed: "removed from the blacklist (judgment defaulter) on
    DATE: the record was withdrawn"; closed in its notice period (``resolved``) "did not put you on the blacklist
    (…): the notice ended on DATE, the record was withdrawn before it took effect"."""
    status = str(x["status"])
    day = iso(x["closed_on"]) if x["closed_on"] is not None else None
    if status == "resolved":
        why = _RESOLVED["withdrawn" if withdrawn else "resolved"]
        if lang == "zh":
            return f"未将您列入{name}（{cause}）：{why[0]}" + (f"，告知已于{day}结束" if day else "")
        return f"did not put you on the {name} ({cause}): {why[1]}" + (f" (the notice ended on {day})" if day else "")
    why = _REMOVED["withdrawn" if withdrawn and status == "delisted" else status]
    return (
        f"已{'于' + day if day else ''}将您移出{name}（{cause}）：{why[0]}"
        if lang == "zh"
        else f"removed from the {name} ({cause}){' on ' + day if day else ''}: {why[1]}"
    )


# Why a listing ended, as the record that made it says (zh, en): "removed from the blacklist on DATE: …"
_REMOVED = {
    "overridden": ("经运营人员人工复核撤销", "overridden by an operator"),
    "repaired": ("信用修复已获批准", "repaired (credit repair granted)"),
    "publication_ended": ("公示期届满，已失效", "expired (its publication period ended)"),
    "delisted": ("原因已消除", "the cause was resolved"),
    "withdrawn": ("记录已撤回", "the record was withdrawn"),
}

# The statuses of a closed listing: those of ``_REMOVED`` and ``resolved`` (closed in its notice period, ``_RESOLVED``)
_CLOSED = frozenset({"overridden", "repaired", "publication_ended", "delisted", "resolved"})

# Why a listing closed in its notice period did not take effect (zh, en): "did not put you on the blacklist (…): …"
_RESOLVED = {
    "withdrawn": ("记录在生效前已撤回", "the record was withdrawn before it took effect"),
    "resolved": ("生效前原因已消除", "the cause was resolved before it took effect"),
}


def _inquiry(q: dict[str, Any], overrides: list[dict[str, Any]]) -> dict[str, Any]:
    """One decision as the resident's list of who asked shows it. Overridden (``overrides``, oldest first): ``outcome``
    is the last override's, ``outcome_before_review`` the decision's own, and ``override`` the last override with
    ``before``, the outcome it changed (the previous override's, else the decision's own), ``earlier_review``
    (whether an earlier override had set ``before``) and ``changed`` (false for an override to the outcome the
    decision stood at already, which stores kept before such an override was refused)."""
    out = {**q, "asked_at": q["asked_at"].isoformat(sep=" ")}
    out.pop("inquiry_id", None)
    out = {"inquiry_id": q["inquiry_id"], **out}
    if overrides:
        last = overrides[-1]
        before = str(overrides[-2]["outcome"]) if len(overrides) > 1 else str(q["outcome"])
        out["outcome_before_review"] = q["outcome"]
        out["outcome"] = last["outcome"]
        out["override"] = {k: last[k] for k in ("override_id", "justification", "actor", "on_date")} | {
            "before": before,
            "earlier_review": len(overrides) > 1,
            "changed": before != last["outcome"],
        }
    return out


def _expired(policies: list[tuple[LoadedPolicy, dt.date]], record: dict[str, Any]) -> bool:
    """True when some policy in use matches the record but its age has passed every limit on the run's date."""
    for loaded, as_of in policies:
        if not matching(loaded, record):
            continue
        until = counts_until(loaded, record)
        if until is not None and until <= as_of:
            return True
    return False


def _audit_list(store: Store, actor: str | None, run: dict[str, Any], list_id: str, rows: list[dict[str, Any]]) -> None:
    """A list read by someone (``actor``): audited as ``read_list`` (the run, the list, how many it named), as an
    operator's page of the API's is."""
    if actor is not None:
        with store.transaction():
            detail = {"run_id": run["run_id"], "list": list_id, "after": "", "entries": len(rows)}
            append_audit(store, actor, "read_list", None, detail)


# Where each subject's listing on a blacklist stands (``?``: the policy, the list): ``effective`` (decisions count
# it), ``notice`` (told, in its grace period until ``effective_on``: decisions and the public look-up do not count
# it yet) or ``ended`` since the run; ``effective`` its listings in effect, which ``list_entries`` may find held.
_STANDING = """SELECT subject_id, list_id,
                      CASE WHEN bool_or(status = 'effective') THEN 'effective'
                           WHEN bool_or(status = 'pending') THEN 'notice' ELSE 'ended' END AS listing,
                      min(effective_on) FILTER (WHERE status IN ('pending', 'effective')) AS effective_on,
                      list(listing_id) FILTER (WHERE status = 'effective') AS effective
               FROM listings WHERE policy_id = ? AND list_id = ? GROUP BY ALL"""


def list_entries(
    store: Store,
    policy_id: str,
    list_id: str,
    *,
    after: str = "",
    limit: int = 100,
    actor: str = "cli",
    held: Held | None = None,
) -> dict[str, Any]:
    """A page of a list of the run in force (``list_page``, audited), each entry of a blacklist with where its
    listing stands, as ``list_members`` says it: ``listing`` (``effective``, ``notice`` in its grace period, or
    ``ended`` since the run) and ``effective_on``; decisions count only an ``effective`` one. With ``held``
    (``Service.held_listings``: the service's decisions as they now stand), an entry whose every listing in effect
    decisions no longer apply (its record withdrawn, corrected or disputed since the run) is ``held`` until the next
    run closes it. An entry with no listing here has ``listing`` None (one the run found through another region's
    record whose listing there has ended: ``listings.py`` makes none here); a redlist's entries have neither (it has
    no listings)."""
    page = list_page(store, policy_id, list_id, after=after, limit=limit, actor=actor)
    if page["kind"] == "black" and page["entries"]:
        ids = [e["subject_id"] for e in page["entries"]]
        standing = {
            str(r["subject_id"]): r
            for r in store.rows(
                f"SELECT * FROM ({_STANDING}) WHERE list_contains(?, subject_id)", [page["policy_id"], list_id, ids]
            )
        }
        withheld = _withheld(store, [r["effective"] for r in standing.values()], held)
        for e in page["entries"]:
            found = standing.get(str(e["subject_id"]))
            e["listing"] = found["listing"] if found else None
            if found and _all_held(found["effective"], withheld):
                e["listing"] = "held"
            e["effective_on"] = iso(found["effective_on"]) if found else None
    return page


def _withheld(store: Store, effective: list[list[int] | None], held: Held | None) -> set[int]:
    """Of the listings in effect (``_STANDING``'s ``effective``, by entry), those decisions no longer apply, as
    ``held`` (``Service.held_listings``) finds them; none without it."""
    in_effect = [int(x) for ids in effective for x in ids or []]
    if held is None or not in_effect:
        return set()
    return set(held(store, store.rows("SELECT * FROM listings WHERE list_contains(?, listing_id)", [in_effect])))


def _all_held(effective: list[int] | None, withheld: set[int]) -> bool:
    """An entry is ``held`` when it has listings in effect and decisions apply none of them."""
    return bool(effective) and withheld.issuperset(int(x) for x in effective or [])


def list_members(
    store: Store,
    list_id: str,
    *,
    policy_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
    actor: str | None = None,
    held: Held | None = None,
) -> list[dict[str, Any]]:
    """Members of a list in the run in force of a policy, with the criteria that put them there, and for a blacklist
    (the lists with a notice and a grace period) where its listing stands (docs/due-process.md): ``listing``
    ``effective`` (decisions count it), ``notice`` (told, not yet in effect: decisions do not count it, the public
    look-up does not show it) with ``effective_on``, the day it takes effect, or ``ended`` since the run; with
    ``held``, ``held`` as ``list_entries`` says it. A redlist has no listings: its rows have no ``listing`` nor
    ``effective_on`` (they were null on every row)."""
    run = run_in_force(store, policy_id)
    kinds = list_kinds(store, run, list_id)  # a list the policy does not have is refused, as the API's page refuses it
    results = run_rows(store, "run_results", run["run_id"])
    if kinds[list_id] != "black":
        rows = store.rows(
            f"""SELECT e.subject_id, s.name, r.score, r.tier,
                      string_agg(e.criterion_id, ', ' ORDER BY e.criterion_id) AS criteria
               FROM run_list_entries e JOIN {results} r USING (run_id, subject_id)
               LEFT JOIN current_subjects s USING (subject_id)
               WHERE e.run_id = ? AND e.list_id = ?
               GROUP BY e.subject_id, s.name, r.score, r.tier ORDER BY r.score, e.subject_id LIMIT ? OFFSET ?""",
            [run["run_id"], list_id, limit, offset],
        )
        _audit_list(store, actor, run, list_id, rows)
        return rows
    rows = store.rows(
        f"""WITH l AS ({_STANDING})
           SELECT e.subject_id, s.name, r.score, r.tier, string_agg(e.criterion_id, ', ' ORDER BY e.criterion_id)
                  AS criteria, any_value(l.listing) AS listing, any_value(l.effective_on) AS effective_on,
                  any_value(l.effective) AS effective
           FROM run_list_entries e JOIN {results} r USING (run_id, subject_id)
           LEFT JOIN current_subjects s USING (subject_id)
           LEFT JOIN l USING (subject_id, list_id)
           WHERE e.run_id = ? AND e.list_id = ?
           GROUP BY e.subject_id, s.name, r.score, r.tier ORDER BY r.score, e.subject_id LIMIT ? OFFSET ?""",
        [run["policy_id"], list_id, run["run_id"], list_id, limit, offset],
    )
    withheld = _withheld(store, [r["effective"] for r in rows], held)
    for r in rows:
        if _all_held(r.pop("effective"), withheld):
            r["listing"] = "held"
    _audit_list(store, actor, run, list_id, rows)
    return rows


def top_subjects(
    store: Store, *, policy_id: str | None = None, limit: int = 20, kind: str = "person", actor: str | None = None
) -> list[dict[str, Any]]:
    run = run_in_force(store, policy_id)
    rows = store.rows(
        f"""SELECT r.rank, r.subject_id, s.name, r.score, r.tier, r.percentile
           FROM {run_rows(store, "run_results", run["run_id"])} r LEFT JOIN current_subjects s USING (subject_id)
           WHERE r.kind = ? ORDER BY r.rank, r.subject_id LIMIT ?""",
        [kind, limit],
    )
    _audit_list(store, actor, run, "top", rows)
    return rows
