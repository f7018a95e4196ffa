"""Score runs: every subject scored under one published policy as of one date, reproducibly.

A run records the policy (id, version, hash), the as-of date and the watermark: the highest change
sequence number it read. Rerunning with the same three gives identical results. An incremental run
rescoring only the subjects whose inputs changed since its base run gives the same results as a full run.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlglot
import sqlglot.expressions as exp

from socialcredit.backends.duckdb import DuckDBBackend
from socialcredit.clock import EARLIEST_DAY, LATEST_DAY, resolve_today
from socialcredit.compiler import ScorePlan
from socialcredit.compiler.plan import histogram_ranks, tables_renamed
from socialcredit.errors import CheckpointError, NotFoundError, SocialCreditError, WorkflowError
from socialcredit.policy import LoadedPolicy
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.access.checkpoints import write_checkpoint
from socialcredit.registry.hooks import plugin_manager
from socialcredit.registry.scoring.holds import HELD_CHANGES
from socialcredit.registry.scoring.inputs import RunInputs, prepare_inputs
from socialcredit.registry.scoring.policies import get_policy, refuse_short_notice
from socialcredit.registry.scoring.state import build_state, catch_up, state_info
from socialcredit.store import Store, run_rows

__all__ = [
    "STANDINGS",
    "RunSummary",
    "in_force_sql",
    "latest_run",
    "no_run_in_force",
    "results_select",
    "run_in_force",
    "run_standing",
    "save_run",
    "score",
]

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
FULL_RECOMPUTE_SHARE = 0.5  # above this share of affected subjects, an incremental run computes everyone
# The stages after the local scores are read once each, by the statements that save the run: they stay views, so
# rank, percentile, list flags and grants are computed in the pipeline that writes run_results, instead of being
# written to a table of every subject twice more before it (sc_local stays a table: the histogram and the rows
# both read it; sc_list_entries too: it is saved and read by the list flags).
VIEW_STAGES = frozenset({"sc_ranked", "sc_results"})


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
    source: str = "records"  # what the run read: "state" (the kept scoring state) or "records"
    standing: str = "ordinary"  # decided when the run was made (run_standing): only an ordinary run comes into force
    # why a run asked to be incremental was made in full (its mode "full"), in words (and in Chinese); None otherwise
    full_because: str | None = None
    full_because_zh: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "as_of": self.as_of.isoformat()}


# A run is as of a date in the registry's span: deadlines and grace periods are computed from it, and runs may be
# made ahead of the calendar (simulations, tests), but not into years where those dates cannot be written.
EARLIEST_AS_OF, LATEST_AS_OF = EARLIEST_DAY, LATEST_DAY  # the registry's dates (socialcredit.clock)


def check_as_of(as_of: dt.date) -> None:
    """Refuse a score date before 1990 or after 2199 (a mistyped year, not a plan)."""
    if not EARLIEST_AS_OF <= as_of <= LATEST_AS_OF:
        raise WorkflowError(
            f"as-of date {as_of} is out of range: score as of a date from {EARLIEST_AS_OF} to {LATEST_AS_OF}"
        )


# A run's standing, decided once when it is made (``run_standing``) and stored with it (score_runs.standing).
STANDINGS = ("ordinary", "rerun", "what_if", "past_dated", "behind")
_STANDING_WORDS = {"rerun": "a rerun", "what_if": "a what-if", "past_dated": "past-dated", "behind": "behind"}
_STANDING_WORDS_ZH = {"rerun": "重算", "what_if": "假设评分", "past_dated": "追溯日期", "behind": "落后"}


def run_standing(
    store: Store, policy_id: str, as_of: dt.date, watermark: int, mode: str, today: dt.date | None = None
) -> str:
    """The standing of a run of ``policy_id`` about to be made, decided now and never again (the registry's clock
    moving on changes no run's standing): ``rerun`` (``score --rerun``: a past run reproduced), ``what_if`` (dated
    after the registry's ``today``: what would be found then), ``past_dated`` (dated before an ordinary run of the
    policy already made), ``behind`` (read fewer changes than one), else ``ordinary``. Only an ordinary run comes into
    force (:func:`in_force_sql`)."""
    if mode == "rerun":
        return "rerun"
    if as_of > resolve_today(today):
        return "what_if"
    row = store.execute(
        "SELECT max(as_of), max(watermark) FROM score_runs WHERE policy_id = ? AND standing = 'ordinary' "
        "AND finished_at IS NOT NULL",
        [policy_id],
    ).fetchone()
    newest, most = row if row else (None, None)
    if newest is not None and as_of < newest:
        return "past_dated"
    if most is not None and watermark < most:
        return "behind"
    return "ordinary"


def in_force_sql(*, made_by: int | None = None) -> str:
    """A SELECT of the run in force of every scored policy (``score_runs`` rows): its newest-made ordinary finished
    run (``standing = 'ordinary'``, decided when the run was made: :func:`run_standing`). Decisions, the listings and
    the public look-up, the resident's page and report, the lists and the operator's page stand on it; nothing here
    reads today. A policy whose runs are all what-ifs or reruns has none. With ``made_by``, among the runs made up to
    that run (the one in force when it was made)."""
    upto = "" if made_by is None else f" AND r.run_id <= {int(made_by)}"
    return f"""SELECT * FROM score_runs r WHERE r.finished_at IS NOT NULL AND r.standing = 'ordinary'{upto}
        QUALIFY row_number() OVER (PARTITION BY r.policy_id ORDER BY r.run_id DESC) = 1"""


def run_in_force(store: Store, policy_id: str | None = None) -> dict[str, Any]:
    """The run in force of ``policy_id`` (of the policy whose run in force was made last if None): the run
    decisions, listings, pages, reports and lists stand on (:func:`in_force_sql`). A run asked for by its id is
    read as such; this is the run read when none is named. A policy scored only by what-ifs or reruns is refused
    saying so (:func:`no_run_in_force`), one never scored as such (``latest_run``)."""
    sql = f"SELECT * FROM ({in_force_sql()})"
    params: list[Any] = []
    if policy_id:
        sql += " WHERE policy_id = ?"
        params.append(policy_id)
    rows = store.rows(sql + " ORDER BY run_id DESC LIMIT 1", params)
    if rows:
        return rows[0]
    raise no_run_in_force(store, str(latest_run(store, policy_id)["policy_id"]))


def no_run_in_force(store: Store, policy_id: str) -> NotFoundError:
    """The refusal for a policy that has finished runs but none in force: which runs it has and what to do."""
    runs = store.rows(
        "SELECT run_id, as_of, standing FROM score_runs WHERE policy_id = ? AND finished_at IS NOT NULL "
        "ORDER BY run_id DESC LIMIT 4",
        [policy_id],
    )
    named = [f"run {r['run_id']}: {_STANDING_WORDS.get(r['standing'], r['standing'])} as of {r['as_of']}" for r in runs]
    named_zh = [
        f"第 {r['run_id']} 次评分：{_STANDING_WORDS_ZH.get(r['standing'], r['standing'])}，评分日期 {r['as_of']}"
        for r in runs
    ]
    return NotFoundError(
        f"no run in force for policy {policy_id}: its runs are what-ifs or reruns ({'; '.join(named[:3])}"
        f"{'; ...' if len(runs) > 3 else ''}), which no decision, list or listing stands on; score it as of the "
        f"registry's today or before: `socialcredit score --policy {policy_id}`",
        code="no_run",
        zh=f"政策 {policy_id} 没有生效的评分：它的评分都是假设评分或重算（{'；'.join(named_zh[:3])}"
        f"{'；……' if len(runs) > 3 else ''}），决定、名单和列入都不以其为准；请按登记处今天或更早的日期评分："
        f"`socialcredit score --policy {policy_id}`",
    )


def latest_run(store: Store, policy_id: str | None = None) -> dict[str, Any]:
    """The finished run of ``policy_id`` made last, whatever its kind (the base of an incremental run); the run
    decisions and pages stand on is :func:`run_in_force`."""
    sql = "SELECT * FROM score_runs WHERE finished_at IS NOT NULL"
    params: list[Any] = []
    if policy_id:
        sql += " AND policy_id = ?"
        params.append(policy_id)
    rows = store.rows(sql + " ORDER BY run_id DESC LIMIT 1", params)
    if not rows:
        raise NotFoundError(
            "no score run yet" + (f" for policy {policy_id}" if policy_id else "") + "; run `socialcredit score` first",
            zh=(f"政策 {policy_id} " if policy_id else "") + "还没有评分；请先运行 `socialcredit score`",
        )
    return rows[0]


def _changed_subjects(inputs: RunInputs, since: int, until: int) -> None:
    """The caller's ``sc_changed``: subjects whose records, registration, consents or held records changed."""
    inputs.create(
        "sc_changed",
        """SELECT subject_key AS subject_id FROM records WHERE record_key > $a AND record_key <= $b
        -- a correction may move a record to another subject: the subjects of its earlier versions change too
        UNION SELECT r.subject_key FROM records r JOIN (
            SELECT DISTINCT source_id, record_id FROM records WHERE record_key > $a AND record_key <= $b
        ) c USING (source_id, record_id) WHERE r.record_key <= $b
        UNION SELECT subject_key FROM subjects WHERE seq > $a AND seq <= $b
        -- the retention purge deletes records without a change number: it notes their subjects with the latest one
        UNION SELECT subject_key FROM purged_subjects WHERE after_seq >= $a
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
    from_records: bool = False,
    today: dt.date | None = None,
) -> RunSummary:
    """Score every subject; with ``incremental`` only those whose inputs changed since the base run (unless
    more than ``max_share`` of all subjects changed: then everyone is computed, with the same results).

    The run reads the policy's scoring state (built on first use, then kept at ingest: registry/scoring/state.py)
    unless ``from_records`` is set or the run is at a watermark older than the state's (a rerun): then it reads
    the records. Both give the same results."""
    check_as_of(as_of)
    step = progress or (lambda _s, _d, _t: None)
    policy = loaded.policy
    if watermark is None:  # what the run's date decides (disputes past their deadline lapse) is read by the run
        plugin_manager().hook.run_starting(store=store, as_of=as_of)
    wm = int(store.one("SELECT value FROM counters WHERE name = 'seq'")) if watermark is None else watermark
    base: dict[str, Any] | None = None
    full_because: tuple[str, str] | None = None
    if incremental:
        if base_run_id is None:
            base = latest_run(store, policy.id)
        else:
            rows = store.rows("SELECT * FROM score_runs WHERE run_id = ?", [base_run_id])
            if not rows:
                raise _no_run(base_run_id)
            base = rows[0]
        if base["policy_sha256"] != loaded.sha256:
            raise SocialCreditError(
                f"run {base['run_id']} used policy {base['policy_id']} {base['policy_version']}; an incremental run "
                "needs the same policy version, so run a full score",
                zh=f"第 {base['run_id']} 次评分使用政策 {base['policy_id']} {base['policy_version']}；增量评分须使用"
                "同一政策版本，请进行全量评分",
            )
        if wm < base["watermark"]:
            raise SocialCreditError(
                f"run {base['run_id']} read newer data than this run would; run a full score",
                zh=f"第 {base['run_id']} 次评分读取的数据比本次评分更新；请进行全量评分",
            )
        if not _base_names_first_stored(store, int(base["run_id"])):
            full_because = (
                f"the base run {base['run_id']} predates the records' first keys (records.first_key, set by migration "
                "46 and corrected for imported records by 47): its list entries may name another record than the one "
                "first stored, so every subject was computed instead of an incremental run",
                f"基准评分（第 {base['run_id']} 次）早于记录的首个键（records.first_key，由迁移 46 设置、迁移 47 "
                "为导入的记录更正）：其名单条目可能指向首次存储的记录以外的记录，因此重新计算了每个主体，而非增量评分",
            )
            base = None
    backend = DuckDBBackend(store)
    step("preparing", 0, 8)
    state = None if from_records else _state_at(store, loaded, wm)
    plan = ScorePlan(loaded, as_of=as_of, dialect=backend.dialect, source="records" if state is None else "state")
    with prepare_inputs(store, loaded, wm, state_table=state) as inputs:
        only, affected = _affected(inputs, backend, plan, base, wm, max_share)
        root = _delta_root(store, inputs, plan, base, max_share) if base is not None and only else None
        # Reasons are not materialised here: the store derives them from the rule points (the run_reasons view).
        stages = [(name, q) for name, q in plan.stages(only_affected=only) if name != "sc_reasons"]
        for i, (name, query) in enumerate(stages):
            step(name, i + 1, len(stages) + 1)
            if root is not None:  # a delta run: its own subjects computed, the others judged on the root's rows
                query = _delta_stage(inputs, plan, name, query, root)
            if name in VIEW_STAGES:
                inputs.create(name, query, view=True)
            else:
                inputs.materialize(backend, name, query)
            if base is not None and only:  # computed for the affected only: the rest comes from the base run
                if root is not None:
                    _merge_delta(inputs, backend, plan, name, base, root)
                else:
                    _merge_base(inputs, name, int(base["run_id"]), _relation_criteria(loaded))
        rescored = affected if only else None
        step("saving", len(stages) + 1, len(stages) + 1)
        return save_run(
            store,
            loaded,
            as_of,
            wm,
            inputs=inputs,
            # a run at a given watermark reproduces a past run (``rerun``): recorded as such, it moves no listing
            mode="incremental" if base is not None else ("rerun" if watermark is not None else "full"),
            base_run_id=base["run_id"] if base else None,
            rescored=rescored,
            engine=backend.name,
            actor=actor,
            source=plan.source,
            today=today,
            full_because=full_because,
            root_run_id=None if root is None else int(root["run_id"]),
        )


def _state_at(store: Store, loaded: LoadedPolicy, watermark: int) -> str | None:
    """The quoted name of the policy's scoring state folded up to ``watermark`` (built now if there is none), or
    None if the state is already past it (a rerun at an earlier watermark reads the records)."""
    info = state_info(store, loaded)
    if info is None:
        if watermark != int(store.one("SELECT value FROM counters WHERE name = 'seq'")):
            return None
        info = build_state(store, loaded)
    elif info.watermark < watermark:
        catch_up(store, watermark)
        info = state_info(store, loaded)
        assert info is not None
    return _quoted_table(info.table_name) if info.watermark == watermark else None


def _quoted_table(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect="duckdb")


def _affected(
    inputs: RunInputs,
    backend: DuckDBBackend,
    plan: ScorePlan,
    base: dict[str, Any] | None,
    watermark: int,
    max_share: float,
) -> tuple[bool, int]:
    """For an incremental run, build ``sc_affected``; return whether to compute only those, and how many."""
    if base is None:
        return False, 0
    _changed_subjects(inputs, int(base["watermark"]), watermark)
    time_q = plan.time_affected(base["as_of"])
    union = "SELECT subject_id FROM sc_changed"
    if time_q is not None:
        inputs.materialize(backend, "sc_time_affected", time_q)
        union += " UNION SELECT subject_id FROM sc_time_affected"
    inputs.create("sc_affected", union)
    # When most subjects are affected anyway (a later as-of date moves every decayed point), computing everyone
    # is cheaper than computing most and copying the rest; the results are the same either way.
    affected = inputs.count("sc_affected")
    return affected <= max_share * inputs.count("sc_subjects"), affected


# Facts that move for subjects a run does not rescore: a policy judging on them is stored whole.
_MOVING_FACTS = frozenset({"rank", "percentile"})


def _delta_root(
    store: Store, inputs: RunInputs, plan: ScorePlan, base: dict[str, Any], max_share: float
) -> dict[str, Any] | None:
    """The root run an incremental run computing only the affected is stored over (a delta run: docs/architecture.md
    "Score runs stored as their changes"), with its own subjects so far in ``sc_own`` (those it rescores, those its
    base run owned, those whose age the new date changes); None when it is stored whole: its policy grants or lists
    on rank or percentile (they move for subjects not rescored), grants on the days since a negative record (they
    move with the date for everyone), or its own subjects would pass ``max_share`` of all subjects."""
    grants, criteria = plan.conditions_read()
    if (grants | criteria) & _MOVING_FACTS or "last_negative_days" in grants:
        return None
    root_id = int(base["root_run_id"] if base.get("root_run_id") is not None else base["run_id"])
    root = store.rows("SELECT * FROM score_runs WHERE run_id = ?", [root_id])[0]
    inherited = "" if base.get("root_run_id") is None else " UNION SELECT subject_key FROM run_own WHERE run_id = $base"
    aged = plan.age_changed(root["as_of"]).sql(dialect="duckdb")
    # With the columns of each subject its local scores read (_own_subjects), so that they read these rows alone.
    inputs.create(
        "sc_own",
        f"""SELECT o.subject_id, s.sid, s.kind, s.profession, s.birth_date FROM (
            SELECT subject_id FROM sc_affected{inherited} UNION {aged}
        ) o LEFT JOIN sc_subjects s ON s.subject_id = o.subject_id""",
        {"base": int(base["run_id"])} if inherited else None,
    )
    if inputs.count("sc_own") > max_share * inputs.count("sc_subjects"):
        return None
    return root


def _own_subjects() -> exp.Expr:
    """A delta run's own subjects with the columns of ``sc_subjects`` the local scores read (those of the subjects
    read: an own subject missing from them has no identifier, and no local scores, as when joined to them). Read in
    place of every subject: at city 161 thousand rows, not 1,025,000 (docs/benchmarks.md, "The next-day run's local
    scores of its own subjects")."""
    return sqlglot.parse_one("(SELECT * FROM sc_own WHERE sid IS NOT NULL)", read="duckdb")


def _delta_stage(inputs: RunInputs, plan: ScorePlan, name: str, query: exp.Query, root: dict[str, Any]) -> exp.Query:
    """A stage of a delta run: the local scores of its own subjects, ranked in its histogram (``sc_histogram``); the
    list entries of every subject, those it does not own judged on the root run's rows (``sc_ranked_all``)."""
    if name == "sc_local":
        return plan.local(subjects=_own_subjects())
    if name == "sc_ranked":
        return plan.ranked_from_histogram()
    if name == "sc_list_entries":
        results = sqlglot.parse_one(
            "(SELECT r.*, s.subject_id AS subject_key FROM run_results_rows r "
            "JOIN sc_subjects s ON s.sid = r.subject_id "
            f"WHERE r.run_id = {int(root['run_id'])} AND s.subject_id NOT IN (SELECT subject_id FROM sc_own))",
            read="duckdb",
        )
        inputs.create("sc_kept", plan.kept(results), view=True)
        inputs.create("sc_ranked_all", "SELECT * FROM sc_ranked UNION ALL BY NAME SELECT * FROM sc_kept", view=True)
        return plan.list_entries_over("sc_ranked_all")
    return query


def _merge_delta(
    inputs: RunInputs, backend: DuckDBBackend, plan: ScorePlan, stage: str, base: dict[str, Any], root: dict[str, Any]
) -> None:
    """After a stage of a delta run: the rule points of its own subjects not rescored, from the base run; the list
    records of everyone else, from the base run (as a run stored whole takes them); after the local scores, its
    histogram (the base run's, its own subjects moved from their old scores to their new ones); after the list
    entries, the subjects not owned whose lists changed (an organisation's officer, a criterion on the days since a
    negative record) become its own too, computed from their rule points like the others."""
    base_id, root_id = int(base["run_id"]), int(root["run_id"])
    if stage == "sc_rule_points":
        _points_of(inputs, base_id, "SELECT subject_id FROM sc_own EXCEPT SELECT subject_id FROM sc_affected")
    elif stage == "sc_list_records":
        _merge_base(inputs, stage, base_id, _relation_criteria(plan.loaded))
    elif stage == "sc_local":
        inputs.create(
            "sc_histogram",
            """SELECT kind, score, CAST(sum(n) AS BIGINT) AS n FROM (
                SELECT kind, score, n FROM run_histogram WHERE run_id = $base
                UNION ALL SELECT r.kind, r.score, -1 FROM run_results_rows r SEMI JOIN sc_own o ON o.sid = r.subject_id
                    WHERE r.run_id = $base
                UNION ALL SELECT r.kind, r.score, -1 FROM run_results_rows r SEMI JOIN sc_own o ON o.sid = r.subject_id
                    ANTI JOIN run_own b ON b.run_id = $base AND b.subject_id = r.subject_id
                    WHERE r.run_id = $root AND $base <> $root
                UNION ALL SELECT kind, score, 1 FROM sc_local
            ) GROUP BY kind, score HAVING sum(n) > 0""",
            {"base": base_id, "root": root_id},
        )
    elif stage == "sc_list_entries":
        # The root's lists of a subject are the lists of its entries there (its results' flags are set from them):
        # read from its list entries (at city 14 thousand rows; 0.04-0.06 CPU s), not from its million results
        # (0.12-0.19; docs/benchmarks.md, "The next-day run's saving and list stage at city").
        inputs.create(
            "sc_extras",
            f"""SELECT subject_id FROM (
                SELECT s.subject_id, list_sort(list(DISTINCT e.list_id)) AS lists FROM run_list_entries e
                JOIN sc_subjects s ON s.sid = e.subject_id WHERE e.run_id = {root_id} GROUP BY s.subject_id
            ) o FULL JOIN (
                SELECT subject_id, list_sort(list(DISTINCT list_id)) AS lists FROM sc_list_entries GROUP BY subject_id
            ) e USING (subject_id)
            WHERE coalesce(o.lists, []) <> coalesce(e.lists, [])
            AND subject_id NOT IN (SELECT subject_id FROM sc_own)""",
        )
        if inputs.count("sc_extras"):
            inputs.execute(
                "INSERT INTO sc_own SELECT x.subject_id, s.sid, s.kind, s.profession, s.birth_date "
                "FROM sc_extras x JOIN sc_subjects s USING (subject_id)"
            )
            _points_of(inputs, root_id, "SELECT subject_id FROM sc_extras")
            inputs.execute(
                exp.insert(plan.local(only="sc_extras", subjects=_own_subjects()), exp.to_table("sc_local")),
            )


def _points_of(inputs: RunInputs, run_id: int, subjects: str) -> None:
    """Add to ``sc_rule_points`` run ``run_id``'s rule points of ``subjects`` (a query of subject keys)."""
    inputs.execute(
        "INSERT INTO sc_rule_points SELECT p.subject_key, r.rule_id, r.dimension, p.points, p.hits, p.last_event "
        f"FROM {run_rows(inputs.store, 'run_points', run_id)} p JOIN run_rules r USING (run_id, rule_index) "
        f"WHERE p.subject_key IN ({subjects})"
    )


def _base_names_first_stored(store: Store, run_id: int) -> bool:
    """Whether run ``run_id`` was made after migration 46: a run made before named as a list entry's record the
    newest version, not the record first stored, so an incremental run on it would keep that choice for everyone it
    copies: a full run is made instead."""
    last = store.one("SELECT max(CAST(value AS BIGINT)) FROM store_info WHERE key = 'first_key_runs_after'")
    return last is None or run_id > int(last)


def _relation_criteria(loaded: LoadedPolicy) -> list[str]:
    """``list.criterion`` of every criterion met through a relation (recomputed for everyone in every run)."""
    return [f"{lst.id}.{c.id}" for lst in loaded.policy.lists for c in lst.criteria if c.via is not None]


def _merge_base(inputs: RunInputs, stage: str, base_run_id: int, relations: list[str] | None = None) -> None:
    """Copy into a record-reading stage the base run's rows of every subject not in ``sc_affected`` (not the
    entries through relations, whose record is a role record: the list entries stage computes them again)."""
    if stage == "sc_rule_points":
        inputs.execute(
            "INSERT INTO sc_rule_points SELECT p.subject_key, r.rule_id, r.dimension, p.points, p.hits, "
            f"p.last_event FROM {run_rows(inputs.store, 'run_points', base_run_id)} p "
            "JOIN run_rules r USING (run_id, rule_index) "
            "WHERE p.subject_key NOT IN (SELECT subject_id FROM sc_affected)"
        )
    elif stage == "sc_list_records":
        inputs.execute(
            "INSERT INTO sc_list_records SELECT s.subject_id, e.list_id, e.criterion_id, e.record_key "
            "FROM run_list_entries e JOIN sc_subjects s ON s.sid = e.subject_id "
            "WHERE e.run_id = ? AND e.record_key IS NOT NULL "
            "AND s.subject_id NOT IN (SELECT subject_id FROM sc_affected) "
            "AND NOT list_contains(?, e.list_id || '.' || e.criterion_id)",
            [base_run_id, relations or []],
        )


def save_run(
    store: Store,
    loaded: LoadedPolicy,
    as_of: dt.date,
    watermark: int,
    *,
    inputs: RunInputs,
    mode: str,
    base_run_id: int | None,
    rescored: int | None,
    engine: str,
    actor: str,
    detail: dict[str, Any] | None = None,
    source: str = "records",
    today: dt.date | None = None,
    full_because: tuple[str, str] | None = None,
    root_run_id: int | None = None,
) -> RunSummary:
    """Store a run from the relations ``sc_results``, ``sc_rule_points``, ``sc_list_entries`` and ``sc_subjects``
    of ``inputs`` (``subject_id`` is the subject's integer key, ``sid`` the identifier), whichever engine computed
    them; in one transaction with what the ``run_finished`` plugins write (the run's notices and listings). Its
    standing is decided here, on the registry's ``today`` (:func:`run_standing`); an ordinary run of a version other
    than the one in force is refused if its consent block would give residents less notice (``refuse_short_notice``:
    a run in force is where a version's consent comes to apply, whichever face made it). With ``root_run_id``, a delta
    run over that root: the relations hold its own subjects' rows only (``sc_own``), and its histogram
    (``sc_histogram``) counts every subject."""
    policy = loaded.policy
    with store.transaction():
        standing = run_standing(store, policy.id, as_of, watermark, mode, today)
        if standing == "ordinary":  # it comes into force: its consent block is the one that applies, from now on
            refuse_short_notice(store, loaded)
        run_id = store.take_ids("run", 1)
        store.execute(
            "INSERT INTO score_runs (run_id, policy_id, policy_version, policy_sha256, as_of, watermark, mode, "
            "base_run_id, engine, started_at, standing, root_run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, now(), ?, ?)",
            [
                *(run_id, policy.id, policy.version, loaded.sha256, as_of, watermark, mode, base_run_id, engine),
                *(standing, root_run_id),
            ],
        )
        # A delta run's results are of its own subjects only, whose identifiers ``sc_own`` holds: joined to them, not
        # to every subject (at city 161 thousand rows, not a million: the insert's select 0.15-0.24 CPU s against
        # 0.26-0.35, of the insert's 0.53; docs/benchmarks.md, "The next-day run's saving and list stage at city").
        subjects = "sc_subjects" if root_run_id is None else "sc_own"
        inserted = inputs.execute(_results_insert(loaded, as_of, subjects), [run_id]).fetchone()
        n = int(inserted[0]) if inserted is not None else 0
        store.execute(
            "INSERT INTO run_rules SELECT ?, i, rule_id, dimension FROM (SELECT unnest(range(?)) AS i, "
            "unnest(?) AS rule_id, unnest(?) AS dimension)",
            [run_id, len(policy.rules), [r.id for r in policy.rules], [r.dimension for r in policy.rules]],
        )
        if root_run_id is None:
            store.execute(_HISTOGRAM_INSERT, [run_id, run_id])
        else:
            inputs.execute(_DELTA_HISTOGRAM_INSERT, [run_id])
            inputs.execute("INSERT INTO run_own SELECT ?, subject_id, sid FROM sc_own ORDER BY subject_id", [run_id])
            n = int(store.one("SELECT sum(n) FROM run_histogram WHERE run_id = ?", [run_id]) or 0)
        inputs.execute(_result_keys(subjects), [run_id])
        inputs.execute(_POINTS_INSERT, [run_id, run_id])
        # Stored rows name subjects by their identifier again (s.sid), so results read as they always did.
        inputs.execute(
            "INSERT INTO run_list_entries SELECT ?, s.sid, x.list_id, x.criterion_id, x.record_key "
            "FROM sc_list_entries x JOIN sc_subjects s ON s.subject_id = x.subject_id",
            [run_id],
        )
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
                "standing": standing,
                "watermark": watermark,
                "engine": engine,
                "source": source,
                **({"full_because": full_because[0]} if full_because else {}),
                **(detail or {}),
            },
        )
        counts = {
            str(r[0]): int(r[1])
            for r in store.execute(
                "SELECT list_id, count(DISTINCT subject_id) FROM run_list_entries WHERE run_id = ? GROUP BY 1",
                [run_id],
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
            source,
            standing,
            *(full_because or (None, None)),
        )
        # Blacklist entries become notices and, after the grace period, effective listings: the built-in due-process
        # plugin does it first (registry/due_process/plugin.py), then any other plugin sees the run (docs/hooks.md).
        # Inside this transaction: a run is committed with its listings and notices or not at all, so no crash
        # leaves a finished run that decisions would serve with nobody listed.
        plugin_manager().hook.run_finished(store=store, run=summary, today=resolve_today(today))
    _checkpoint(store, run_id)  # after the commit: it reads the chain in its own transaction
    return summary


def _checkpoint(store: Store, run_id: int) -> None:
    """Sign the audit chain's head after every run, its listings and notices committed (docs/audit.md): a line
    in ``<store>.checkpoints/``. The run stands if it cannot be written; the next run or `audit checkpoint` tries
    again, and `audit verify` tells of the missing key or file."""
    try:
        write_checkpoint(store)
    except (CheckpointError, OSError) as exc:
        log.warning("run %s: the audit checkpoint was not written: %s", run_id, exc)


# One row of run_results per subject (without the run id); the dimension and list columns of the policy are filled
# in as trees.
_RESULTS = """
SELECT s.sid AS subject_id, x.kind, x.profession, x.age, $dims AS dims, x.total, x.score,
    x.tier, x.tier_rank, x.rank, x.percentile, x.last_negative,
    $lists AS lists, x.grants
FROM sc_results x JOIN sc_subjects s ON s.subject_id = x.subject_id
"""


# The run's histogram of (kind, score), ranked as its stages ranked it (binds the run id twice): counted from the
# results just written, whichever engine computed them.
_HISTOGRAM_INSERT = f"""
INSERT INTO run_histogram
SELECT ?, * FROM ({
    histogram_ranks(
        sqlglot.parse_one(
            "(SELECT kind, score, count(*) AS n FROM run_results_rows WHERE run_id = ? GROUP BY kind, score)"
        )
    ).sql(dialect="duckdb")
}) ORDER BY kind, score
"""
# A delta run's: ranked from the histogram its stages ranked with (``sc_histogram``: every subject's score).
_DELTA_HISTOGRAM_INSERT = f"""
INSERT INTO run_histogram SELECT ?, * FROM ({histogram_ranks(exp.to_table("sc_histogram")).sql(dialect="duckdb")})
ORDER BY kind, score
"""


def _result_keys(subjects: str) -> str:
    """The INSERT of the subject key of each row of run_results, in its order (the identifiers', as _results_insert
    writes them; binds the run id): a snapshot with explanations maps its rule points (read by key) to rows with it
    (registry/decisions/snapshot.py). ``subjects``: a relation of every subject of ``sc_results`` with its key
    (``subject_id``) and identifier (``sid``)."""
    return f"""
INSERT INTO run_result_keys_rows
SELECT ?, x.subject_id FROM sc_results x JOIN {subjects} s ON s.subject_id = x.subject_id ORDER BY s.sid
"""


# The run's rule points by subject key, each subject's by rule index. A decision read from the store while a
# snapshot's explanations load asks for a few subjects' points by key: the store's zonemaps (the least and largest key
# of each row group) then skip every row group but the few that hold them, where in any other order (the
# identifiers': keys are given in the order subjects were first recorded) each such read scans all the run's points.
# An explained snapshot reads them with a plain scan and finds each subject's points by its key, without sorting them
# (registry/decisions/snapshot.py).
_POINTS_INSERT = """
INSERT INTO run_points_rows
SELECT ?, x.subject_id, r.rule_index, x.points, x.hits, x.last_event
FROM sc_rule_points x JOIN (SELECT * FROM run_rules WHERE run_id = ?) r USING (rule_id)
ORDER BY x.subject_id, r.rule_index
"""


def results_select(loaded: LoadedPolicy, as_of: dt.date, subjects: str = "sc_subjects") -> exp.Select:
    """The rows of ``run_results`` from a run's ``sc_results``: dimension points as a list, list ids where flagged;
    each subject's identifier from ``subjects`` (``sc_subjects``, or a relation of the results' subjects alone with
    the same ``subject_id`` and ``sid``)."""
    plan = ScorePlan(loaded, as_of=as_of)
    dims = exp.Array(expressions=[exp.column(c, "x") for c in plan.dimension_columns()])
    flags: list[exp.Expr] = [
        exp.Case(ifs=[exp.If(this=exp.column(f"l_{lst.id}", "x"), true=exp.Literal.string(lst.id))])
        for lst in loaded.policy.lists
    ]
    filtered = sqlglot.parse_one("list_filter($flags, v -> v IS NOT NULL)", read="duckdb")
    lists = exp.replace_placeholders(filtered, flags=exp.Array(expressions=flags or [exp.Null()]))
    if loaded.policy.lists:  # most subjects are on no list: they get the empty list without the filter
        on_any = exp.or_(*[exp.column(f"l_{lst.id}", "x") for lst in loaded.policy.lists])
        empty = exp.Cast(this=exp.Array(expressions=[]), to=exp.DataType.build("VARCHAR[]", dialect="duckdb"))
        lists = exp.Case(ifs=[exp.If(this=on_any, true=lists)], default=empty)
    query = exp.replace_placeholders(sqlglot.parse_one(_RESULTS, read="duckdb"), dims=dims, lists=lists)
    assert isinstance(query, exp.Select)
    return tables_renamed(query, "sc_subjects", subjects)


def _results_insert(loaded: LoadedPolicy, as_of: dt.date, subjects: str) -> exp.Expr:
    """The INSERT of ``run_results`` (binds the run id), identifiers from ``subjects`` (:func:`results_select`)."""
    # In subject order: decisions load a run with a plain scan, which keeps the order rows were written in, instead
    # of sorting a million identifiers at every snapshot load (registry/decisions/snapshot.py checks the order).
    rows = exp.Subquery(this=results_select(loaded, as_of, subjects), alias=exp.TableAlias(this=exp.to_identifier("r")))
    ordered = exp.select(exp.Placeholder(), exp.Star()).from_(rows).order_by(exp.column("subject_id", "r"))
    return exp.insert(ordered, "run_results_rows")


def _no_run(run_id: int) -> NotFoundError:
    return NotFoundError(f"no score run {run_id}", zh=f"没有第 {run_id} 次评分")


def rerun(store: Store, run_id: int, actor: str = "cli", *, from_records: bool = False) -> RunSummary:
    """Score again with a past run's policy version, as-of date and watermark (from the records with
    ``from_records``; otherwise as :func:`score` chooses)."""
    rows = store.rows("SELECT * FROM score_runs WHERE run_id = ?", [run_id])
    if not rows:
        raise _no_run(run_id)
    run = rows[0]
    loaded = get_policy(store, run["policy_id"], run["policy_version"])
    return score(store, loaded, run["as_of"], watermark=int(run["watermark"]), actor=actor, from_records=from_records)


def list_runs(store: Store) -> list[dict[str, Any]]:
    """Every score run, finished or not, in the order they were started: policy version, as-of date, mode, base
    run, watermark, engine, counts, start and finish times, its ``standing`` (:func:`run_standing`) and whether it
    is its policy's run in force (``in_force``)."""
    return store.rows(
        f"SELECT *, run_id IN (SELECT run_id FROM ({in_force_sql()})) AS in_force FROM score_runs ORDER BY run_id"
    )


def list_kinds(store: Store, run: dict[str, Any], list_id: str) -> dict[str, str]:
    """The lists of the run's policy version, each with its kind (``black``, ``red``); a list it does not have is
    refused naming those it has (a name mistyped, or a list of another policy, is not an empty list)."""
    kinds: dict[str, str] = {
        spec.id: spec.kind for spec in get_policy(store, run["policy_id"], run["policy_version"]).policy.lists
    }
    if list_id not in kinds:
        message = (
            f"policy {run['policy_id']} {run['policy_version']} has no list {list_id!r} (lists: {', '.join(kinds)})"
        )
        raise NotFoundError(message, field="list_id")
    return kinds


def list_page(
    store: Store, policy_id: str, list_id: str, *, after: str = "", limit: int = 100, actor: str = "cli"
) -> dict[str, Any]:
    """A page of a list of the run in force of ``policy_id``: the subjects after ``after`` (by id), each with its name
    and the criteria that put it there; with the run and the list's size. The read is audited (``read_list``: the
    run, the list, where the page starts and how many it named); ``kind``, the list's (``black``, ``red``)."""
    run = run_in_force(store, policy_id)
    kinds = list_kinds(store, run, list_id)
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
    with store.transaction():
        detail = {"run_id": run["run_id"], "list": list_id, "after": after, "entries": len(entries)}
        append_audit(store, actor, "read_list", None, detail)
    return {
        "run_id": run["run_id"],
        "policy_id": run["policy_id"],
        "kind": kinds[list_id],
        "total": total,
        "entries": entries,
    }


def scored_policy_ids(store: Store) -> list[str]:
    """The ids of the policies a score run finished under, in order (a run being written, or one a crash left
    unfinished, scored no one)."""
    sql = "SELECT DISTINCT policy_id FROM score_runs WHERE finished_at IS NOT NULL ORDER BY 1"
    return [str(r[0]) for r in store.execute(sql).fetchall()]
