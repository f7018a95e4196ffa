"""Score runs: every subject scored under one published policy as of one date, reproducibly.

A run records the policy (id, version, hash), the as-of date and the watermark: the highest change
sequence number it read. Rerunning with the same three gives identical results. An incremental run
rescoring only the subjects whose inputs changed since its base run gives the same results as a full run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from socialcredit.backends.duckdb import DuckDBBackend
from socialcredit.catalog import load_catalog
from socialcredit.compiler import ScorePlan
from socialcredit.errors import NotFoundError, SocialCreditError, WorkflowError
from socialcredit.policy import LoadedPolicy
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.hooks import plugin_manager
from socialcredit.registry.scoring.holds import HELD_CHANGES, build_held
from socialcredit.registry.scoring.policies import get_policy
from socialcredit.sqltext import ident, lit
from socialcredit.store import Store

__all__ = ["RunSummary", "latest_run", "prepare_inputs", "save_run", "score"]

Progress = Callable[[str, int, int], None]
FULL_RECOMPUTE_SHARE = 0.5  # above this share of affected subjects, an incremental run computes everyone


@dataclass(frozen=True)
class RunSummary:
    run_id: int
    policy_id: str
    policy_version: str
    as_of: dt.date
    mode: str
    base_run_id: int | None
    watermark: int
    subjects: int
    rescored: int
    list_counts: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "as_of": self.as_of.isoformat()}


def prepare_inputs(
    store: Store,
    loaded: LoadedPolicy | None,
    watermark: int,
    subject_id: str | None = None,
    categories: Sequence[str] | None = None,
) -> None:
    """Build ``sc_records`` and ``sc_subjects`` as they stood at ``watermark`` (for one subject, if named).

    Inside a run, ``subject_id`` is the subject's integer key (grouping and joining on it is much cheaper than on
    the 18-character identifier); ``sc_subjects.sid`` maps it back for everything that is stored or shown.
    ``sc_subjects`` has a consent column per category of the policy (or of ``categories``, for an export).
    """
    if categories is None:
        categories = loaded.policy.consent.categories if loaded is not None else []
    w = int(watermark)
    only = f"AND subject_id = {lit(subject_id)}" if subject_id is not None else ""
    params: dict[str, object] = {"w": w}
    # Versions replaced by a later one (at or below the watermark). Corrections are rare, so this is small; the
    # records themselves are read through a view, so every rule's query scans only its own record type.
    store.execute(
        """CREATE OR REPLACE TEMP TABLE sc_superseded AS
        SELECT o.record_key FROM records o JOIN (
            SELECT source_id, record_id, max(version) AS latest FROM records
            WHERE record_key <= $w AND version > 1 GROUP BY source_id, record_id
        ) n USING (source_id, record_id)
        WHERE o.record_key <= $w AND o.version < n.latest""",
        {"w": w},
    )
    # Due process: records under an open dispute (when the policy says so) or repaired do not count.
    build_held(store, loaded, w, subject_id if subject_id is not None else None)
    fields = "".join(f", {ident(name)}" for name in load_catalog().field_columns())
    store.execute(
        f"""CREATE OR REPLACE TEMP VIEW sc_records AS
        SELECT subject_key AS subject_id, record_key, record_type, event_date{fields} FROM records
        WHERE record_key <= {w} AND NOT withdrawn {only}
          AND record_key NOT IN (SELECT record_key FROM sc_superseded)
          AND record_key NOT IN (SELECT record_key FROM sc_held)"""
    )
    consent_cols = "".join(f", coalesce(c.{_consent_col(cat)}, false) AS {_consent_col(cat)}" for cat in categories)
    consent_pivot = "".join(
        f", bool_or(granted) FILTER (WHERE category = '{cat}') AS {_consent_col(cat)}" for cat in categories
    )
    consents = (
        f"""LEFT JOIN (
            SELECT subject_id{consent_pivot} FROM (
                SELECT *, row_number() OVER (PARTITION BY subject_id, category ORDER BY seq DESC) AS rn
                FROM consents WHERE seq <= $w) WHERE rn = 1 GROUP BY subject_id
        ) c USING (subject_id)"""
        if consent_pivot
        else ""
    )
    store.execute(
        f"""CREATE OR REPLACE TEMP TABLE sc_subjects AS
        SELECT s.subject_key AS subject_id, s.subject_id AS sid, s.kind, s.profession, s.birth_date{consent_cols}
        FROM (
            SELECT *, row_number() OVER (PARTITION BY subject_id ORDER BY seq DESC) AS rn
            FROM subjects WHERE seq <= $w {only}
        ) s {consents} WHERE s.rn = 1""",
        params,
    )


def _consent_col(category: str) -> str:
    load_catalog().categories[category]  # categories are validated ids; refuse anything else
    return f"consent_{category}"


# A run is as of a date in the registry's span: deadlines and grace periods are computed from it, and runs may be
# made ahead of the calendar (simulations, tests), but not into years where those dates cannot be written.
EARLIEST_AS_OF = dt.date(1990, 1, 1)
LATEST_AS_OF = dt.date(2199, 12, 31)


def check_as_of(as_of: dt.date) -> None:
    """Refuse a score date before 1990 or after 2199 (a mistyped year, not a plan)."""
    if not EARLIEST_AS_OF <= as_of <= LATEST_AS_OF:
        raise WorkflowError(
            f"as-of date {as_of} is out of range: score as of a date from {EARLIEST_AS_OF} to {LATEST_AS_OF}"
        )


def latest_run(store: Store, policy_id: str | None = None) -> dict[str, Any]:
    sql = "SELECT * FROM score_runs WHERE finished_at IS NOT NULL"
    params: list[Any] = []
    if policy_id:
        sql += " AND policy_id = ?"
        params.append(policy_id)
    rows = store.rows(sql + " ORDER BY run_id DESC LIMIT 1", params)
    if not rows:
        raise NotFoundError(
            "no score run yet" + (f" for policy {policy_id}" if policy_id else "") + "; run `socialcredit score` first"
        )
    return rows[0]


def _changed_subjects(store: Store, since: int, until: int) -> None:
    store.execute(
        """CREATE OR REPLACE TEMP TABLE sc_changed AS
        SELECT subject_key AS subject_id FROM records WHERE record_key > $a AND record_key <= $b
        -- a correction may move a record to another subject: the subjects of its earlier versions change too
        UNION SELECT r.subject_key FROM records r JOIN (
            SELECT DISTINCT source_id, record_id FROM records WHERE record_key > $a AND record_key <= $b
        ) c USING (source_id, record_id) WHERE r.record_key <= $b
        UNION SELECT subject_key FROM subjects WHERE seq > $a AND seq <= $b
        UNION SELECT s.subject_id FROM sc_subjects s JOIN consents c ON c.subject_id = s.sid
            WHERE c.seq > $a AND c.seq <= $b
        UNION """
        + HELD_CHANGES,
        {"a": since, "b": until},
    )


def score(
    store: Store,
    loaded: LoadedPolicy,
    as_of: dt.date,
    *,
    incremental: bool = False,
    base_run_id: int | None = None,
    watermark: int | None = None,
    actor: str = "cli",
    progress: Progress | None = None,
    max_share: float = FULL_RECOMPUTE_SHARE,
) -> RunSummary:
    """Score every subject; with ``incremental`` only those whose inputs changed since the base run (unless
    more than ``max_share`` of all subjects changed: then everyone is computed, with the same results)."""
    check_as_of(as_of)
    step = progress or (lambda _s, _d, _t: None)
    policy = loaded.policy
    wm = int(store.one("SELECT value FROM counters WHERE name = 'seq'")) if watermark is None else watermark
    base: dict[str, Any] | None = None
    if incremental:
        if base_run_id is None:
            base = latest_run(store, policy.id)
        else:
            rows = store.rows("SELECT * FROM score_runs WHERE run_id = ?", [base_run_id])
            if not rows:
                raise NotFoundError(f"no score run {base_run_id}")
            base = rows[0]
        if base["policy_sha256"] != loaded.sha256:
            raise SocialCreditError(
                f"run {base['run_id']} used policy {base['policy_id']} {base['policy_version']}; an incremental run "
                "needs the same policy version, so run a full score"
            )
        if wm < base["watermark"]:
            raise SocialCreditError(f"run {base['run_id']} read newer data than this run would; run a full score")
    backend = DuckDBBackend(store)
    plan = ScorePlan(loaded, as_of=as_of, dialect=backend.dialect)
    step("preparing", 0, 8)
    prepare_inputs(store, loaded, wm)
    if base is not None:
        _changed_subjects(store, int(base["watermark"]), wm)
        time_q = plan.time_affected(base["as_of"])
        union = "SELECT subject_id FROM sc_changed"
        if time_q is not None:
            backend.materialize("sc_time_affected", time_q)
            union += " UNION SELECT subject_id FROM sc_time_affected"
        store.execute(f"CREATE OR REPLACE TEMP TABLE sc_affected AS {union}")
    # When most subjects are affected anyway (a later as-of date moves every decayed point), computing everyone
    # is cheaper than computing most and copying the rest; the results are the same either way.
    affected = backend.count("sc_affected") if base is not None else 0
    only = base is not None and affected <= max_share * backend.count("sc_subjects")
    # Reasons are not materialised here: the store derives them from the rule points (the run_reasons view).
    stages = [(name, q) for name, q in plan.stages(only_affected=only) if name != "sc_reasons"]
    for i, (name, query) in enumerate(stages):
        step(name, i + 1, len(stages) + 1)
        backend.materialize(name, query)
        if base is not None and name == "sc_rule_points":
            store.execute(
                "INSERT INTO sc_rule_points SELECT p.subject_key, r.rule_id, r.dimension, p.points, p.hits, "
                "p.last_event FROM run_points p JOIN run_rules r USING (run_id, rule_index) "
                "WHERE p.run_id = ? AND p.subject_key NOT IN (SELECT subject_id FROM sc_affected)",
                [base["run_id"]],
            )
        if base is not None and name == "sc_list_records":
            store.execute(
                "INSERT INTO sc_list_records SELECT s.subject_id, e.list_id, e.criterion_id, e.record_key "
                "FROM run_list_entries e JOIN sc_subjects s ON s.sid = e.subject_id "
                "WHERE e.run_id = ? AND e.record_key IS NOT NULL "
                "AND s.subject_id NOT IN (SELECT subject_id FROM sc_affected)",
                [base["run_id"]],
            )
    rescored = affected if only else backend.count("sc_results")
    step("saving", len(stages) + 1, len(stages) + 1)
    return save_run(
        store,
        loaded,
        as_of,
        wm,
        mode="incremental" if base is not None else "full",
        base_run_id=base["run_id"] if base else None,
        rescored=rescored,
        engine=backend.name,
        actor=actor,
    )


def save_run(
    store: Store,
    loaded: LoadedPolicy,
    as_of: dt.date,
    watermark: int,
    *,
    mode: str,
    base_run_id: int | None,
    rescored: int | None,
    engine: str,
    actor: str,
    detail: dict[str, Any] | None = None,
) -> RunSummary:
    """Store a run from relations ``sc_results``, ``sc_rule_points``, ``sc_list_entries`` and ``sc_subjects`` (its
    ``subject_id`` is the subject's integer key, ``sid`` the identifier), whichever engine computed them."""
    policy = loaded.policy
    plan = ScorePlan(loaded, as_of=as_of)
    dims = ", ".join(f"x.{c}" for c in plan.dimension_columns())
    lists = ", ".join(f"CASE WHEN x.l_{lst.id} THEN '{lst.id}' END" for lst in policy.lists)
    with store.transaction():
        run_id = store.take_ids("run", 1)
        store.execute(
            "INSERT INTO score_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, now(), NULL, NULL, NULL)",
            [run_id, policy.id, policy.version, loaded.sha256, as_of, watermark, mode, base_run_id, engine],
        )
        # Stored rows name subjects by their identifier again (s.sid), so results read as they always did.
        sid = "JOIN sc_subjects s ON s.subject_id = x.subject_id"
        store.execute(
            f"""INSERT INTO run_results SELECT ?, s.sid, x.kind, x.profession, x.age, [{dims}], x.total, x.score,
            x.tier, x.tier_rank, x.rank, x.percentile, x.last_negative,
            list_filter([{lists or "NULL"}], v -> v IS NOT NULL), x.grants FROM sc_results x {sid}""",
            [run_id],
        )
        store.execute(
            "INSERT INTO run_rules SELECT ?, i, rule_id, dimension FROM (SELECT unnest(range(?)) AS i, "
            "unnest(?) AS rule_id, unnest(?) AS dimension)",
            [run_id, len(policy.rules), [r.id for r in policy.rules], [r.dimension for r in policy.rules]],
        )
        store.execute(
            "INSERT INTO run_points SELECT ?, x.subject_id, r.rule_index, x.points, x.hits, x.last_event "
            "FROM sc_rule_points x JOIN (SELECT * FROM run_rules WHERE run_id = ?) r USING (rule_id)",
            [run_id, run_id],
        )
        store.execute(
            "INSERT INTO run_list_entries SELECT ?, s.sid, x.list_id, x.criterion_id, x.record_key "
            f"FROM sc_list_entries x {sid}",
            [run_id],
        )
        n = int(store.one("SELECT count(*) FROM sc_results"))
        store.execute(
            "UPDATE score_runs SET finished_at = now(), n_subjects = ?, n_rescored = ? WHERE run_id = ?",
            [n, n if rescored is None else rescored, run_id],
        )
        append_audit(
            store,
            actor,
            "score_run",
            None,
            {
                "run_id": run_id,
                "policy": policy.id,
                "version": policy.version,
                "as_of": as_of,
                "mode": mode,
                "watermark": watermark,
                "engine": engine,
                **(detail or {}),
            },
        )
    counts = {
        str(r[0]): int(r[1])
        for r in store.execute(
            "SELECT list_id, count(DISTINCT subject_id) FROM run_list_entries WHERE run_id = ? GROUP BY 1", [run_id]
        ).fetchall()
    }
    summary = RunSummary(
        run_id,
        policy.id,
        policy.version,
        as_of,
        mode,
        base_run_id,
        watermark,
        n,
        n if rescored is None else rescored,
        counts,
    )
    # Blacklist entries become notices and, after the grace period, effective listings: the built-in due-process
    # plugin does it first (registry/due_process/plugin.py), then any other plugin sees the run (docs/hooks.md).
    plugin_manager().hook.run_finished(store=store, run=summary)
    return summary


def rerun(store: Store, run_id: int, actor: str = "cli") -> RunSummary:
    """Score again with a past run's policy version, as-of date and watermark."""
    rows = store.rows("SELECT * FROM score_runs WHERE run_id = ?", [run_id])
    if not rows:
        raise NotFoundError(f"no score run {run_id}")
    run = rows[0]
    loaded = get_policy(store, run["policy_id"], run["policy_version"])
    return score(store, loaded, run["as_of"], watermark=int(run["watermark"]), actor=actor)


def list_runs(store: Store) -> list[dict[str, Any]]:
    """Every score run, finished or not, in the order they were started: policy version, as-of date, mode, base
    run, watermark, engine, counts, start and finish times."""
    return store.rows("SELECT * FROM score_runs ORDER BY run_id")


def list_page(store: Store, policy_id: str, list_id: str, *, after: str = "", limit: int = 100) -> dict[str, Any]:
    """A page of a list of the latest run of ``policy_id``: the subjects after ``after`` (by id), each with its name
    and the criteria that put it there; with the run and the list's size."""
    run = latest_run(store, policy_id)
    entries = store.rows(
        """SELECT e.subject_id, any_value(s.name) AS name, list(DISTINCT e.criterion_id ORDER BY e.criterion_id)
                  AS criteria
           FROM run_list_entries e LEFT JOIN current_subjects s USING (subject_id)
           WHERE e.run_id = ? AND e.list_id = ? AND e.subject_id > ?
           GROUP BY e.subject_id ORDER BY e.subject_id LIMIT ?""",
        [run["run_id"], list_id, after, limit],
    )
    total = store.one(
        "SELECT count(DISTINCT subject_id) FROM run_list_entries WHERE run_id = ? AND list_id = ?",
        [run["run_id"], list_id],
    )
    return {"run_id": run["run_id"], "total": total, "entries": entries}


def scored_policy_ids(store: Store) -> list[str]:
    """The ids of the policies any score run was started under, in order."""
    return [str(r[0]) for r in store.execute("SELECT DISTINCT policy_id FROM score_runs ORDER BY 1").fetchall()]
