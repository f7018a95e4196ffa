"""Live decisions: the subjects a change touches are rescored against the scoring state and swapped into the
decision snapshots, so a relying party's next decision sees a record the moment it is committed.

A live row is what a score run would give the subject at the snapshot's as-of date, on the state as it now stands
(registry/scoring/state.py): the same compiled stages, for those subjects only. Rank and percentile come from the
snapshot's histogram of scores, updated as scores move (``ScorePlan.ranked_from_histogram``). Listing rules still
apply: a blacklisting the run did not already make effective waits for the next run's notice and grace period
(decisions ignore it until then), while a subject who no longer meets a list's criteria — the judgment fulfilled,
the record withdrawn, a repair granted — is off it at once.

Each patched snapshot names the watermark it stands on (``Snapshot.watermark``): run id plus watermark make every
decision reproducible (a run at that watermark and as-of date gives the same rows; tests/test_live.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import duckdb
import sqlglot.expressions as exp

from socialcredit.backends.duckdb import DuckDBBackend
from socialcredit.compiler import ScorePlan
from socialcredit.policy import LoadedPolicy, expr
from socialcredit.registry.decisions.decide import ListEntry, entries_with_origin
from socialcredit.registry.scoring.facts import facts_of, grants_with
from socialcredit.registry.scoring.inputs import RELATIONS, RunInputs, prepare_inputs
from socialcredit.registry.scoring.policies import get_policy
from socialcredit.registry.scoring.runs import in_force_sql, results_select
from socialcredit.registry.scoring.state import StateInfo, catch_up, fold_all, state_info
from socialcredit.store import Store, listed_integers, listed_strings, run_rows, subject_keys_of

if TYPE_CHECKING:
    import pyarrow as pa  # imported where a histogram is rebuilt: most commands that read live views never do

__all__ = [
    "POSITIONAL_FACTS",
    "Changes",
    "LivePasses",
    "LiveRow",
    "LiveView",
    "changed_subjects",
    "changes",
    "follows_positions",
    "organisations_of",
    "related_subjects",
    "rescore",
    "state_of",
    "views_of_subject",
    "views_since_run",
    "warm",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveRow:
    """One subject rescored: its run_results row (lists as decisions see them, grants to match), reasons and list
    entries (list, criterion, and the note of a record shared by another region)."""

    result: dict[str, Any]
    reasons: list[tuple[str, float]]
    entries: list[ListEntry]
    # Under a policy that follows relations, the person's role records the pass read (the counting versions, as
    # ``sc_role_records`` holds them): (organisation, role, start date, end date or None). The decision snapshot
    # judges the person's entries through organisations on them as others' scores move (``Snapshot._rejudged``).
    roles: tuple[tuple[str, str, dt.date | None, dt.date | None], ...] = ()
    # Under such a policy, the organisation's entries by a record as the pass found them (met, in effect or not):
    # (list, criterion, the record's event date), the cause's date to which a relation ``held_at_cause`` follows
    # whoever held the role (compiler/plan.py ``_relation_entries``).
    causes: tuple[tuple[str, str, dt.date], ...] = ()
    # Under such a policy, for each relation followed to whoever held the role at the cause (``held_at_cause``):
    # (list, criterion of the relation, organisation) for each organisation the pass found on the followed list by a
    # record dated while the person held one of the relation's roles in it: those that hold up an entry of his
    # through it (``_cause_anchors``), not every organisation he ever held the role in.
    anchors: tuple[tuple[str, str, str], ...] = ()
    # The blacklists the pass found that decisions do not count yet (no notice, or in its grace period): left out of
    # ``result["lists"]``, kept for the history's live row to say apart (registry/reporting/history.py).
    pending: tuple[str, ...] = ()
    # Every list entry the pass found, in effect or not (a blacklisting in its grace period too): (list, criterion,
    # record key), for the resident's report to tell a record that as it now stands still meets a criterion from one
    # that no longer does (registry/reporting/report.py ``_listed_by``).
    met: tuple[tuple[str, str, int | None], ...] = ()


def _followed_roles(loaded: LoadedPolicy) -> list[str]:
    """The role types the policy's relations (``via``) follow: the only roles a live row keeps."""
    return sorted({r for lst in loaded.policy.lists for c in lst.criteria if c.via is not None for r in c.via.roles})


def _cause_anchors(
    loaded: LoadedPolicy,
    roles: Sequence[tuple[str, str, dt.date | None, dt.date | None]],
    causes_of: Mapping[str, Sequence[tuple[str, str, dt.date]]],
) -> tuple[tuple[str, str, str], ...]:
    """``LiveRow.anchors`` of a person with these roles, the organisations' record causes being ``causes_of``: an
    organisation counts under a held_at_cause relation if one of its record causes on a criterion the relation
    follows is dated while he held one of the relation's roles in it (from the start until, not on, the end, as
    compiler/plan.py ``_held_on``)."""
    out: set[tuple[str, str, str]] = set()
    for lst in loaded.policy.lists:
        for c in lst.criteria:
            if c.via is None or c.via.when != "held_at_cause":
                continue
            target = loaded.policy.list_spec(c.via.list)
            named = c.via.criteria
            follows = {t.id for t in target.criteria if t.via is None and (named is None or t.id in named)}
            for org_id, role, start, end in roles:
                if role not in c.via.roles or start is None or (lst.id, c.id, org_id) in out:
                    continue
                if any(
                    cause_list == c.via.list and cid in follows and start <= day and (end is None or end > day)
                    for cause_list, cid, day in causes_of.get(org_id, ())
                ):
                    out.add((lst.id, c.id, org_id))
    return tuple(sorted(out))


@dataclass(frozen=True)
class LiveView:
    """A subject as it now stands in a patched snapshot: its live row, rank and percentile in the histogram as it
    now stands, and the watermark of the snapshot."""

    result: dict[str, Any]
    reasons: list[tuple[str, float]]
    entries: list[ListEntry]
    rank: int
    percentile: float
    watermark: int
    # ``LiveRow.pending`` of the subject's live pass; None when no pass rescored it (its row is the run's).
    pending: tuple[str, ...] | None = None
    # ``LiveRow.met`` of the subject's live pass; None when no pass rescored it.
    met: tuple[tuple[str, str, int | None], ...] | None = None


# The facts of a subject that depend on every other subject's score (policy-language.md, "Tier, rank and percentile").
POSITIONAL_FACTS = frozenset({"rank", "percentile"})


def follows_positions(loaded: LoadedPolicy) -> bool:
    """Whether a list criterion is met through an organisation (``via``) on a list with a criterion on rank or
    percentile: entries through it move as other subjects' scores move, and the decision snapshot judges them again
    on each rescored person's roles (``LiveRow.roles``)."""
    positional = {
        lst.id
        for lst in loaded.policy.lists
        for c in lst.criteria
        if c.when is not None
        and (node := loaded.condition(f"list:{lst.id}.{c.id}")) is not None
        and expr.names_in(node) & POSITIONAL_FACTS
    }
    return any(c.via is not None and c.via.list in positional for lst in loaded.policy.lists for c in lst.criteria)


# Subjects whose inputs changed in ($a, $b]: records (and, for a correction or withdrawal, the subject of the
# version it replaced), registrations, consents, and due-process holds; with the integer key that records and
# registrations carry (subject_keys' key of the identifier), NULL from the others.
_CHANGED = """
SELECT subject_id, subject_key FROM records WHERE record_key > $a AND record_key <= $b
UNION SELECT subject_id, subject_key FROM subjects WHERE seq > $a AND seq <= $b
UNION SELECT subject_id, NULL FROM consents WHERE seq > $a AND seq <= $b
UNION SELECT subject_id, NULL FROM disputes WHERE (seq > $a AND seq <= $b) OR (closed_seq > $a AND closed_seq <= $b)
UNION SELECT subject_id, NULL FROM repairs WHERE decided_seq > $a AND decided_seq <= $b
"""

_REPLACED = """
SELECT subject_id FROM records WHERE record_key IN (
    SELECT prev_key FROM records WHERE record_key > $a AND record_key <= $b AND prev_key IS NOT NULL
)
"""


@dataclass(frozen=True)
class Changes:
    """The subjects whose scoring inputs changed (identifiers, sorted), and the integer keys of those a changed
    record or registration names (the others, ``rescore`` looks up)."""

    subjects: list[str]
    keys: dict[str, int]


def changes(store: Store, since: int, until: int) -> Changes:
    """The subjects whose scoring inputs changed in (since, until], with the keys the changes carry."""
    if until <= since:
        return Changes([], {})
    params = {"a": since, "b": until}
    keys: dict[str, int] = {}
    found: set[str] = set()
    for sid, key in store.execute(_CHANGED, params).fetchall():
        found.add(str(sid))
        if key is not None:
            keys[str(sid)] = int(key)
    replaced = store.one(
        "SELECT count(*) FROM records WHERE record_key > $a AND record_key <= $b AND prev_key IS NOT NULL", params
    )
    if replaced:
        found |= {str(r[0]) for r in store.execute(_REPLACED, params).fetchall()}
    return Changes(sorted(found | related_subjects(store, found)), keys)


def changed_subjects(store: Store, since: int, until: int) -> list[str]:
    """The identifiers of the subjects whose scoring inputs changed in (since, until]."""
    return changes(store, since, until).subjects


# The same, among the subjects of integer keys {keys} and identifiers {ids} only (written into the statement): each
# table read through its index on the subject (subjects, consents), or its own small table (disputes, repairs) kept to
# those named by an IN of literals (a list parameter's list_contains was linear in the list for every row: 7.2 CPU s at
# 50 000 disputes and 50 000 asked, as ``list blacklist`` asks, against 0.45), or the records stored since $a (the
# records of the run's watermark onward, by their keys' bounds; no index on a record's subject) kept to those named.
_CHANGED_AMONG = """
SELECT subject_id FROM records WHERE record_key > $a AND record_key <= $b AND subject_id IN ({ids})
UNION SELECT o.subject_id FROM records o WHERE o.subject_id IN ({ids}) AND o.record_key IN (
    SELECT prev_key FROM records WHERE record_key > $a AND record_key <= $b AND prev_key IS NOT NULL
)
UNION SELECT subject_id FROM subjects WHERE subject_key IN ({keys}) AND seq > $a AND seq <= $b
UNION SELECT subject_id FROM consents WHERE subject_id IN ({ids}) AND seq > $a AND seq <= $b
UNION SELECT subject_id FROM disputes WHERE subject_id IN ({ids})
    AND ((seq > $a AND seq <= $b) OR (closed_seq > $a AND closed_seq <= $b))
UNION SELECT subject_id FROM repairs WHERE subject_id IN ({ids}) AND decided_seq > $a AND decided_seq <= $b
"""


def _changed_among(store: Store, since: int, until: int, subject_ids: Sequence[str]) -> set[str]:
    """Those of ``subject_ids`` that ``changes(store, since, until)`` gives (a live pass rescores them), found by
    reading their rows and those of the subjects one relation away from them only, never every change since: a
    subject whose own inputs changed, or one relation away (``related_subjects``) from one whose inputs changed.
    What a console's decision asks (``views_since_run``): with 200 000 subjects changed since the run, ``changes``
    read them all (and their relations) to keep one."""
    asked = {str(s) for s in subject_ids}
    if until <= since or not asked:
        return set()
    # each asked subject's neighbours through a role record, either way (as ``_related`` steps)
    mine = listed_strings(sorted(asked))
    pairs = store.execute(
        f"SELECT subject_id, org_id FROM role_records WHERE subject_id IN ({mine}) "
        f"UNION SELECT subject_id, org_id FROM role_records WHERE org_id IN ({mine})"
    ).fetchall()
    near: dict[str, set[str]] = {}
    for person, org in pairs:
        if person is None or org is None:
            continue
        if str(person) in asked:
            near.setdefault(str(person), set()).add(str(org))
        if str(org) in asked:
            near.setdefault(str(org), set()).add(str(person))
    among = sorted(asked.union(*near.values()))
    keys = [int(k) for (k,) in store.execute(subject_keys_of(among)).fetchall()]
    sql = _CHANGED_AMONG.format(keys=listed_integers(keys), ids=listed_strings(among))
    found = {str(r[0]) for r in store.execute(sql, {"a": since, "b": until}).fetchall() if r[0]}
    return {s for s in asked if s in found or near.get(s, set()) & found}


# One step along the registration authority's role records (every version: a superset is only rescored): the
# persons holding a role in a changed organisation, and the organisations a changed person holds a role in. Read
# from the role records kept apart (store.note_role_records), not by a scan of every record's type.
# The identifiers are written into the statement, so that each side is found through its column's index
# (store.py; a list in a parameter is a join: at beijing, 75 ms of CPU a pass over 2 million role records).
def _related(subject_ids: Sequence[str]) -> str:
    listed = listed_strings(subject_ids)
    return (
        f"SELECT subject_id FROM role_records WHERE org_id IN ({listed}) "
        f"UNION SELECT org_id FROM role_records WHERE subject_id IN ({listed})"
    )


def organisations_of(store: Store, loaded: LoadedPolicy, subject_ids: Sequence[str]) -> list[str]:
    """The organisations, not among ``subject_ids``, in which one of them holds or held a role (any version of a
    role record), under a policy that follows relations; sorted (one not registered is simply not scored). A person
    held a director's role in a blacklisted organisation and in a changed one: a pass of the changed one and its
    persons, without the other, lost the person's entry through it (decisions granted what the next run refused).
    Found through the index on role_records' subject_id, the identifiers written into the statement (``_related``)."""
    if not subject_ids or not any(c.via is not None for lst in loaded.policy.lists for c in lst.criteria):
        return []
    mine = set(subject_ids)
    # The pass's own subjects are left out here, not in the statement: a NOT IN beside the IN made DuckDB scan every
    # role record instead of using the index (5 s a pass of 500 at 2 million role records, 0.2 s through it).
    rows = store.execute(
        f"SELECT DISTINCT org_id FROM role_records WHERE subject_id IN ({listed_strings(sorted(mine))}) ORDER BY 1"
    ).fetchall()
    return [str(r[0]) for r in rows if r[0] is not None and str(r[0]) not in mine]


def related_subjects(store: Store, subject_ids: set[str] | Sequence[str]) -> set[str]:
    """The subjects one relation away from ``subject_ids``: a live pass rescores them together, so an
    organisation listed or delisted lists or releases its related persons in the same pass (their entries through
    the relation are computed from the organisation's entries of that pass, ``ScorePlan.list_entries``)."""
    if not subject_ids:
        return set()
    rows = store.execute(_related(sorted(subject_ids))).fetchall()
    return {str(r[0]) for r in rows if r[0] is not None}


# The statements of a live pass, printed once per policy version and as-of date (the compiled stages are the same
# for every pass; only the subjects change, and they are rows of sc_subjects). Printed with a template's names for
# the caller's relations, which each pass replaces with its own. No sc_reasons: a refusal reads every rule's points
# (the pass's ``reasons``, from sc_rule_points), and nothing reads the four principal ones.
_STAGES_BEFORE = ("sc_rule_points", "sc_list_records", "sc_local")
_STAGES_AFTER = ("sc_ranked", "sc_list_entries", "sc_results")
_COMPILED: dict[tuple[str, dt.date], _Compiled] = {}
_COMPILED_KEPT = 16


@dataclass(frozen=True)
class _Compiled:
    """A live pass's SQL for one policy version and as-of date, its relations named with ``prefix``."""

    prefix: str
    before: list[tuple[str, str]]
    after: list[tuple[str, str]]
    results: str
    bodies: dict[str, str]  # each stage's SELECT, by logical name
    follows_positions: bool  # the pass reads its persons' roles for the snapshot (``follows_positions``)

    def of(self, inputs: RunInputs, sql: str) -> str:
        return sql.replace(self.prefix, inputs.prefix)


def _compiled(store: Store, loaded: LoadedPolicy, as_of: dt.date) -> _Compiled:
    key = (loaded.sha256, as_of)
    found = _COMPILED.get(key)
    if found is not None:
        return found
    backend = DuckDBBackend(store)
    plan = ScorePlan(loaded, as_of=as_of, dialect=backend.dialect, source="state")
    # Not restricted to sc_affected: a pass's sc_state holds only its subjects' rows already, and the restriction
    # cost one semi-join per rule and list criterion (a third of a pass's CPU under beijing's 23 rules).
    queries = {
        "sc_rule_points": plan.rule_points(),
        "sc_list_records": plan.list_records(),
        "sc_local": plan.local(),
        "sc_ranked": plan.ranked_from_histogram(),
        "sc_list_entries": plan.list_entries(),
        "sc_results": plan.results(),
    }
    template = RunInputs(store)  # names only: it creates nothing

    bodies = {logical: backend.dialect.sql(template.bind(query)) for logical, query in queries.items()}

    def printed(logical: str) -> tuple[str, str]:
        name = exp.to_table(template.name(logical)).sql("duckdb")
        return logical, f"CREATE OR REPLACE TEMP TABLE {name} AS {bodies[logical]}"

    compiled = _Compiled(
        template.prefix,
        [printed(n) for n in _STAGES_BEFORE],
        [printed(n) for n in _STAGES_AFTER],
        template.bind(results_select(loaded, as_of)).sql(dialect="duckdb"),
        bodies,
        follows_positions(loaded),
    )
    if len(_COMPILED) >= _COMPILED_KEPT:
        _COMPILED.pop(next(iter(_COMPILED)))
    _COMPILED[key] = compiled
    return compiled


def state_of(table: str, keys: Sequence[int]) -> str:
    """SQL: the rows of the state ``table`` (quoted) about the subjects of integer keys ``keys``, written out, so that
    they are found through the state's index on subject_id (registry/scoring/state.py): at beijing, 154 million
    rows, a pass of 500 subjects spread over the registry read them in 28 ms of CPU, against 736 by a scan (the
    subjects of a pass are in every row group, so no bounds skip any). No keys (a pass of no subjects, ``warm``):
    no row is read, where ``IN (NULL)`` scanned a state not indexed yet (a run's new state, before the service
    indexes it)."""
    if not keys:
        return f"SELECT t.* FROM {table} t WHERE false"
    return f"SELECT t.* FROM {table} t WHERE t.subject_id IN ({listed_integers(keys)})"


def rescore(
    store: Store,
    loaded: LoadedPolicy,
    as_of: dt.date,
    subject_ids: Sequence[str],
    histogram: pa.Table,
    old_scores: dict[str, tuple[str, int]],
    *,
    fold: bool = True,
    keys: Mapping[str, int] | None = None,
    passes: LivePasses | None = None,
) -> tuple[int, dict[str, LiveRow], pa.Table] | None:
    """Rescore ``subject_ids`` on the policy's state (caught up to the latest change, unless ``fold`` is false:
    then as the state stands, for a reader that may not write) as of ``as_of``.

    ``histogram`` is the population's (kind, score, n) before; ``old_scores`` the (kind, score) each of these
    subjects had in it. ``keys``: the integer keys of some of ``subject_ids`` when the caller has them
    (``changes``); the others are looked up. Returns the state's watermark, the rows, and the histogram after — or
    None when the policy keeps no state (it was scored from records only): then decisions wait for the next run.

    Only the rows of these subjects are read from the state (one pass over its subject column), and the compiled
    stages are printed once per policy version and as-of date. ``passes``: the live thread's :class:`LivePasses`,
    whose connection ``store`` is, inside its :meth:`LivePasses.reading`: the pass fills the tables it keeps and runs
    the stages it prepared (:meth:`LivePasses.ready` them first), the same rows as without.
    """
    if fold:
        catch_up(store)
    info = state_info(store, loaded)
    if info is None:
        return None
    compiled = _compiled(store, loaded, as_of)
    kept = passes.kept(loaded, as_of, info) if passes is not None else None
    if kept is not None:
        assert passes is not None
        if not passes._reading or store.con is not passes.store.con:
            # its rows are the pass's own only inside the transaction that LivePasses.reading rolls back
            raise ValueError("a pass on the tables LivePasses keeps runs on its connection, inside its reading()")
        into = RunInputs(store, prefix=kept.prefix, fill=True)
    else:
        into = None
    rows, after = _pass(store, loaded, as_of, subject_ids, histogram, old_scores, keys, info, compiled, into, kept)
    return info.watermark, rows, after


def _pass(
    store: Store,
    loaded: LoadedPolicy,
    as_of: dt.date,
    subject_ids: Sequence[str],
    histogram: pa.Table,
    old_scores: dict[str, tuple[str, int]],
    keys: Mapping[str, int] | None,
    info: StateInfo,
    compiled: _Compiled,
    into: RunInputs | None,
    kept: _Kept | None,
) -> tuple[dict[str, LiveRow], pa.Table]:
    """A pass: on relations of its own (``into`` None), on kept ones made now (``into`` kept, not filled:
    :meth:`LivePasses.ready`), or on kept ones filled (``into`` filled, with their prepared stages ``kept``)."""
    table = f'"{info.table_name}"'
    wanted = set(subject_ids)
    # A person's entries through an organisation (`via`) are computed from that organisation's entries in the same
    # pass: every organisation the pass's persons hold a role in is scored beside them, for those entries only (its
    # row is neither returned nor moved in the histogram: its inputs did not change, or it would be among them).
    scored = [*subject_ids, *organisations_of(store, loaded, subject_ids)]
    with prepare_inputs(
        store, loaded, info.watermark, state_table=table, subjects=scored, known_keys=keys, into=into
    ) as inputs:
        # The state of these subjects only, not a view of everyone's rows: every stage reads it.
        state = exp.to_table(inputs.adopt("sc_state")).sql("duckdb")
        subjects = exp.to_table(inputs.name("sc_subjects")).sql("duckdb")
        pass_keys = [int(k) for (k,) in store.execute(f"SELECT subject_id FROM {subjects}").fetchall()]
        if inputs.fill:
            store.execute(f"INSERT INTO {state} {state_of(table, pass_keys)}")
        else:
            store.execute(f"DROP VIEW IF EXISTS {state}")
            store.execute(f"CREATE TEMP TABLE {state} AS {state_of(table, pass_keys)}")
        inputs.create("sc_affected", "SELECT subject_id FROM sc_subjects")
        # Prepared plans only while no relation of this connection was made or dropped since they were prepared
        # (LivePasses: else DuckDB binds them again, fitted to the rows of that moment); else the same statements
        # planned now.
        prepared = kept is not None and kept.passes.unchanged()
        for logical, sql in compiled.before:
            _stage(store, inputs, compiled, logical, sql, kept, prepared)
        local = exp.to_table(inputs.name("sc_local")).sql("duckdb")
        # The population's histogram with these subjects moved from their old score to their new one.
        moved = store.execute(f"SELECT s.sid, l.kind, l.score FROM {local} l JOIN {subjects} s USING (subject_id)")
        after = _moved(
            histogram, old_scores, [(str(a), str(b), int(c)) for a, b, c in moved.fetchall() if str(a) in wanted]
        )
        if inputs.fill:  # read from the Arrow table, not registered: a view made would unprepare every stage
            store.con.from_arrow(after).insert_into(inputs.name("sc_histogram"))
        else:
            store.con.register("live_histogram", after)
            try:
                inputs.create("sc_histogram", "SELECT kind, score, n FROM live_histogram")
            finally:
                store.con.unregister("live_histogram")
        for logical, sql in compiled.after:
            _stage(store, inputs, compiled, logical, sql, kept, prepared)
        results = [r for r in store.rows(compiled.of(inputs, compiled.results)) if str(r["subject_id"]) in wanted]
        # Every rule that gave or took points, as run_reasons ranks them: a refusal tells the rules that lowered the
        # score most, which need not be among the four largest either way (decide.explain_rows keeps four).
        reasons = inputs.rows(
            "SELECT s.sid, r.rule_id, r.points FROM sc_rule_points r JOIN sc_subjects s USING (subject_id) "
            "WHERE r.points <> 0 ORDER BY s.sid, abs(r.points) DESC, r.rule_id"
        )
        entries = inputs.rows(
            "SELECT s.sid, e.list_id, e.criterion_id, r.record_type, r.origin_region, e.record_key "
            "FROM sc_list_entries e "
            "JOIN sc_subjects s USING (subject_id) LEFT JOIN records r ON r.record_key = e.record_key "
            "ORDER BY 1, 2, 3"
        )
        roles_of: dict[str, list[tuple[str, str, dt.date | None, dt.date | None]]] = {}
        causes_of: dict[str, list[tuple[str, str, dt.date]]] = {}
        if compiled.follows_positions:
            # the persons' role records the stages read (sc_role_records is made under a policy with relations), of
            # the role types its relations follow only: the others list no one and would stay with the snapshot
            for sid, org_id, role, start, end in inputs.execute(
                'SELECT s.sid, o.org_id, o."role", o.start_date, o.end_date '
                "FROM sc_role_records o JOIN sc_subjects s USING (subject_id) "
                'WHERE o.org_id IS NOT NULL AND list_contains($roles, o."role") ORDER BY ALL',
                {"roles": _followed_roles(loaded)},
            ).fetchall():
                roles_of.setdefault(str(sid), []).append((str(org_id), str(role), start, end))
            for sid, list_id, criterion_id, day in inputs.execute(
                "SELECT s.sid, l.list_id, l.criterion_id, r.event_date FROM sc_list_records l "
                "JOIN sc_subjects s USING (subject_id) JOIN records r ON r.record_key = l.record_key ORDER BY ALL"
            ).fetchall():
                causes_of.setdefault(str(sid), []).append((str(list_id), str(criterion_id), day))
    entries_of = entries_with_origin(
        store,
        [
            (e["sid"], e["list_id"], e["criterion_id"], e["record_type"], e["origin_region"], e["record_key"])
            for e in entries
        ],
        loaded,
    )
    black = {lst.id for lst in loaded.policy.lists if lst.kind == "black"}
    # The listings in effect of the subjects on a blacklist in this pass (most passes: none, and no query).
    effective = _effective_listings(
        store, loaded, [str(r["subject_id"]) for r in results if any(x in black for x in r["lists"])]
    )
    met_of: dict[str, list[tuple[str, str, int | None]]] = {}
    for e in entries:
        key = e["record_key"]
        met_of.setdefault(str(e["sid"]), []).append(
            (str(e["list_id"]), str(e["criterion_id"]), None if key is None else int(key))
        )
    reasons_of: dict[str, list[tuple[str, float]]] = {}
    for x in reasons:
        reasons_of.setdefault(str(x["sid"]), []).append((str(x["rule_id"]), float(x["points"])))
    rows: dict[str, LiveRow] = {}
    for r in results:
        sid = str(r["subject_id"])
        # A blacklisting not yet effective (no notice, or in its grace period) does not refuse; leaving a list does
        # not wait.
        lists = [x for x in r["lists"] if x not in black or (sid, x) in effective]
        # The grants of sc_results (the services' conditions compiled, as a run computes them, for every subject of
        # the pass at once) hold for the lists the stages found; only a subject whose blacklisting decisions do not
        # yet see has them evaluated again, on the lists they do see (as the snapshot of a run does,
        # due_process.listings.effective_results).
        grants = (
            int(r["grants"])
            if len(lists) == len(r["lists"])
            else grants_with(loaded, facts_of(loaded, {**r, "lists": lists}, as_of))
        )
        result = {**r, "lists": lists, "grants": grants}
        rows[sid] = LiveRow(
            result,
            reasons_of.get(sid, []),
            [e for e in entries_of.get(sid, []) if e[0] in lists],
            tuple(roles_of.get(sid, ())),
            tuple(causes_of.get(sid, ())),
            # the organisations beside him are scored in this pass: their record causes are in ``causes_of``
            _cause_anchors(loaded, roles_of.get(sid, ()), causes_of) if sid in roles_of else (),
            tuple(x for x in r["lists"] if x not in lists),
            tuple(met_of.get(sid, ())),
        )
    return rows, after


def _stage(
    store: Store, inputs: RunInputs, compiled: _Compiled, logical: str, sql: str, kept: _Kept | None, prepared: bool
) -> None:
    """Make a stage: its prepared statement, or its rows inserted into the kept table, or its table created."""
    name = inputs.adopt(logical)
    if prepared:
        assert kept is not None
        store.execute(f"EXECUTE {kept.statement(logical)}")
    elif inputs.fill:
        store.execute(f'INSERT INTO "{name}" {compiled.of(inputs, compiled.bodies[logical])}')
    else:
        store.execute(compiled.of(inputs, sql))


def _kept_key(loaded: LoadedPolicy, as_of: dt.date, info: StateInfo) -> tuple[str, dt.date, str, dt.datetime]:
    """The tables of a pass are kept per policy version and as-of date, and per state as built: a state built again
    (by a later catalog, say) may have other columns than the kept copy of its rows."""
    return (loaded.sha256, as_of, info.table_name, info.built_at)


@dataclass
class _Kept:
    """The tables a :class:`LivePasses` keeps for one policy version and as-of date, named with ``prefix``, and the
    names of the statements it prepared over them."""

    passes: LivePasses
    prefix: str
    compiled: _Compiled

    def statement(self, logical: str) -> str:
        return f"{self.prefix}{logical.removeprefix('sc_')}_insert"

    def table(self, logical: str) -> str:
        return f'"{self.prefix}{logical.removeprefix("sc_")}"'


class LivePasses:
    """The live thread's passes on a connection of its own (``store``, a :meth:`Store.reader`), whose compiled
    stages are planned once, not at every pass.

    DuckDB plans a statement anew at each execution; at the ``small`` scale planning the stages cost about as much as
    running them on a pass's few hundred rows. So the tables a pass reads and writes are made once per policy version
    and as-of date (:meth:`ready`), under names of their own, and each stage prepared once as an ``INSERT`` into its
    table (``PREPARE``); a pass, inside :meth:`reading`, inserts its inputs and executes the stages, and its
    transaction is rolled back at its end, which leaves every table empty again, as it was prepared.

    Two things make this right, each checked (tests/test_live_prepared.py):

    - DuckDB (1.5.5) fits a plan to the statistics of its tables' rows when it optimizes it, and a prepared plan is
      not optimized again when rows change: prepared on empty tables, every later execution found no rows
      (duckdb/duckdb#23704). The stages are therefore prepared with the optimizer's statistics propagation off
      (``disabled_optimizers``: a setting of the whole database, so it is off only while they are prepared), as
      later DuckDB versions do for every prepared statement (duckdb/duckdb#24696).
    - DuckDB binds and optimizes a prepared statement again when a temporary relation of its connection was made or
      dropped since (a catalog change), then with the statistics on: that plan, kept for later executions, would be
      fitted to one pass's rows. A pass makes no relation, but anything else on the connection might; so a canary
      statement is prepared last, with statistics, on an empty table into which one row is then inserted: it
      counts 0 while the plans are the ones prepared, 1 once DuckDB has planned again (:meth:`unchanged`). A pass
      that finds it changed runs its stages as plain statements, and the next :meth:`ready` prepares them again.
      Where the canary counts 1 from the start (a DuckDB that re-plans on its own), the prepared stages are not used.

    The tables of ``keep`` entries are kept, the least recently used dropped first; the service keeps as many as it
    holds snapshots, so that passes in turn on each never make and prepare their tables again.
    """

    KEPT = 8

    def __init__(self, store: Store, keep: int | None = None) -> None:
        self.store = store
        # How many policy versions, as-of dates and states keep their tables: at least as many as the snapshots
        # the service holds (``Service.go_live`` sets it), else each ``ready`` would drop the tables needed next.
        # ``KEPT`` unless told: read when the passes are made, not when the class is (a default bound to it would
        # keep 8 whatever ``KEPT`` is set to).
        self.keep = self.KEPT if keep is None else keep
        self._kept: dict[tuple[str, dt.date, str, dt.datetime], _Kept] = {}
        self._prepared = False
        self._replans = False  # DuckDB plans prepared statements again on its own: nothing to gain by preparing
        self._reading = False
        self._canary = f"sc_{uuid.uuid4().hex[:12]}_canary"

    def kept(self, loaded: LoadedPolicy, as_of: dt.date, info: StateInfo) -> _Kept | None:
        """The tables kept for this policy version, as-of date and state (``info``), if :meth:`ready` made them."""
        return self._kept.get(_kept_key(loaded, as_of, info))

    def _made(self, prefix: str) -> list[tuple[str, str]]:
        """The (name, type: TABLE or VIEW) of the temporary relations of the connection named with ``prefix``."""
        rows = self.store.execute(
            "SELECT table_name, 'TABLE' FROM duckdb_tables() WHERE temporary AND starts_with(table_name, $p) "
            "UNION ALL SELECT view_name, 'VIEW' FROM duckdb_views() WHERE temporary AND starts_with(view_name, $p)",
            {"p": prefix},
        ).fetchall()
        return sorted((str(name), str(kind)) for name, kind in rows)

    def ready(self, loaded: LoadedPolicy, as_of: dt.date, histogram: pa.Table) -> None:
        """Make the tables of this policy version, as-of date and state if not made, and prepare every stage again if a
        table was made or the plans are no longer the prepared ones. Call outside a transaction: a statement
        prepared in the transaction that made its tables would be bound again at each execution."""
        info = state_info(self.store, loaded)
        if info is None:
            return
        key = _kept_key(loaded, as_of, info)
        made = False
        if key in self._kept:
            self._kept[key] = self._kept.pop(key)  # the most recently used last: the first is dropped first
        else:
            while len(self._kept) >= max(1, self.keep):
                self._drop(next(iter(self._kept)))
            kept = _Kept(self, f"sc_{uuid.uuid4().hex[:12]}_", _compiled(self.store, loaded, as_of))
            # A pass of no subjects (and no histogram) on relations named for the kept tables and not dropped: it
            # makes each one from the statements a pass fills it with.
            into = RunInputs(self.store, prefix=kept.prefix, kept=True)
            empty = histogram.schema.empty_table()
            try:
                _pass(self.store, loaded, as_of, [], empty, {}, None, info, kept.compiled, into, None)
                # Emptied, committed: a pass of no subjects may still fill some (sc_held: the records held now),
                # and rows committed here would be read by every pass after, which only rolls back its own.
                for name, kind in self._made(kept.prefix):
                    if kind == "TABLE":
                        self.store.execute(f'DELETE FROM "{name}"')
            except BaseException:
                # Not kept, so never dropped by _drop: its relations made so far go now, or each failure adds more.
                for name, kind in self._made(kept.prefix):
                    with suppress(duckdb.Error):
                        self.store.execute(f'DROP {kind} IF EXISTS "{name}"')
                raise
            self._kept[key] = kept
            made = True
        if not self._replans and (made or not self.unchanged()):
            self._prepare()

    def unchanged(self) -> bool:
        """Whether the stages run as they were prepared (no relation of the connection made or dropped since)."""
        if not self._prepared:
            return False
        return int(self.store.one(f"EXECUTE {self._canary}")) == 0

    @contextmanager
    def reading(self) -> Iterator[Store]:
        """A pass's transaction: a consistent view of the store, rolled back at the end (a pass writes only its
        tables, which the rollback empties)."""
        self.store.execute("BEGIN TRANSACTION")
        self._reading = True
        try:
            yield self.store
        finally:
            self._reading = False
            self.store.execute("ROLLBACK")

    def close(self) -> None:
        self.store.close()

    def _prepare(self) -> None:
        """Prepare the stages of every kept entry, not only a new one's: a table made (or dropped) on the connection
        makes DuckDB bind every statement prepared before it again at its next execution, with statistics."""
        con = self.store
        self._prepared = False
        con.execute(f"CREATE OR REPLACE TEMP TABLE {self._canary} (x BIGINT)")
        before = str(con.one("SELECT current_setting('disabled_optimizers')") or "")
        off = ",".join(x for x in [before, "statistics_propagation"] if x)
        con.execute(f"SET disabled_optimizers = '{off}'")
        try:
            for kept in self._kept.values():
                for logical in (*_STAGES_BEFORE, *_STAGES_AFTER):
                    body = kept.compiled.bodies[logical].replace(kept.compiled.prefix, kept.prefix)
                    con.execute(f"PREPARE {kept.statement(logical)} AS INSERT INTO {kept.table(logical)} {body}")
        finally:
            if before:
                con.execute(f"SET disabled_optimizers = '{before}'")
            else:
                con.execute("RESET disabled_optimizers")
        con.execute(f"PREPARE {self._canary} AS SELECT count(*) FROM {self._canary} WHERE x > 0")
        con.execute(f"INSERT INTO {self._canary} VALUES (1)")
        self._prepared = int(con.one(f"EXECUTE {self._canary}")) == 0
        if not self._prepared:
            self._replans = True
            log.info(
                "DuckDB %s plans prepared statements again on its own: live passes plan their stages",
                duckdb.__version__,
            )

    def _drop(self, key: tuple[str, dt.date, str, dt.datetime]) -> None:
        kept = self._kept.pop(key)
        for logical in sorted(RELATIONS):
            self.store.execute(f"DROP TABLE IF EXISTS {kept.table(logical)}")
        for logical in (*_STAGES_BEFORE, *_STAGES_AFTER):
            with suppress(duckdb.Error):  # never prepared (a DuckDB that plans them again on its own)
                self.store.execute(f"DEALLOCATE PREPARE {kept.statement(logical)}")
        self._prepared = False


def warm(store: Store, loaded: LoadedPolicy, as_of: dt.date, histogram: pa.Table) -> None:
    """A pass of no subjects, as the state stands: its statements compiled and printed for this policy version and
    as-of date, so that the first pass of a snapshot costs what the next ones do (the compile was about a third of
    a first pass of 500 subjects). Changes nothing in the store."""
    rescore(store, loaded, as_of, [], histogram, {}, fold=False)


def _moved(histogram: pa.Table, old: dict[str, tuple[str, int]], new: list[tuple[str, str, int]]) -> pa.Table:
    counts: dict[tuple[str, int], int] = {
        (str(k), int(s)): int(n)
        for k, s, n in zip(
            histogram.column("kind").to_pylist(),
            histogram.column("score").to_pylist(),
            histogram.column("n").to_pylist(),
            strict=True,
        )
    }
    for sid, kind, score in new:
        if sid in old:
            key = old[sid]
            counts[key] = counts.get(key, 0) - 1
        counts[(kind, score)] = counts.get((kind, score), 0) + 1
    items = [(k, s, n) for (k, s), n in sorted(counts.items()) if n > 0]
    import pyarrow as pa

    return pa.table(
        {
            "kind": pa.array([i[0] for i in items], pa.string()),
            "score": pa.array([i[1] for i in items], pa.int32()),
            "n": pa.array([i[2] for i in items], pa.int64()),
        }
    )


def _effective_listings(store: Store, loaded: LoadedPolicy, subject_ids: list[str]) -> set[tuple[str, str]]:
    if not subject_ids:
        return set()
    return {
        (str(a), str(b))
        for a, b in store.execute(
            "SELECT DISTINCT subject_id, list_id FROM listings WHERE policy_id = ? AND status = 'effective' "
            "AND subject_id IN (SELECT unnest(?))",
            [loaded.policy.id, subject_ids],
        ).fetchall()
    }


def views_since_run(store: Store, run: Mapping[str, Any], subject_ids: Sequence[str]) -> dict[str, LiveView]:
    """Those of ``subject_ids`` whose inputs changed since ``run`` (a row of ``score_runs``), rescored as a running
    service's live pass has them: one pass on the policy's state folded up to the latest change, with the
    population's histogram and their old scores as the run left them. None rescored when the policy keeps no state
    (decisions then are the run's). Changes nothing in the store: the fold and the pass are made in a transaction of
    a connection of their own, rolled back. A caller holding no service (the console) marks listings with it as
    ``held_now`` marks them. Nothing is folded nor rescored when none of them changed since the run.

    Only for the console: that fold writes the scoring states (then undoes it), and inside a service the live thread
    and ingest fold the same rows under the writer, so one fold beside theirs fails theirs or itself with a conflict.
    A service's faces ask the service (``Service.held_listings``).

    The changed subjects are found among ``subject_ids`` and their relations only (``_changed_among``), not among
    every change since the run: with 200 000 subjects changed since, one console decision read them all (1.3 → 3.0
    CPU s, 231 → 570 MB) to keep one. With 100 000 residents all changed since the run, one console decision took
    6.0 s of CPU and 386 MB by ``changes``, 3.4 s and 267 MB by ``_changed_among`` (medians of 3, on a loaded 2-core
    machine); what is left is mostly the fold of the changes into the states, undone after."""
    views = _views_since_runs(store, [run], subject_ids)
    return {sid: view for (_, sid), view in views.items()}


def views_of_subject(store: Store, subject_id: str, policy_ids: Collection[str] | None = None) -> dict[int, LiveView]:
    """The subject as a running service's live passes have it now, by run id: for each policy's run in force (or
    those of ``policy_ids`` only, as ``show --policy`` asks), the subject rescored if changed since that run
    (``views_since_run``); what a report takes as ``live`` (``Service.live_views`` in a service). For a caller
    holding no service (the console's ``show``, as its ``decide``): the scoring states are folded once, in one
    transaction of a reader rolled back, for every policy."""
    runs = store.rows(f"SELECT * FROM ({in_force_sql()}) ORDER BY policy_id")
    runs = [r for r in runs if not policy_ids or r["policy_id"] in policy_ids]
    return {run_id: view for (run_id, _), view in _views_since_runs(store, runs, [subject_id]).items()}


def _views_since_runs(
    store: Store, runs: Sequence[Mapping[str, Any]], subject_ids: Sequence[str]
) -> dict[tuple[int, str], LiveView]:
    """By (run id, subject), those of ``subject_ids`` changed since each of ``runs``, rescored on the states folded
    once (``fold_all``) in one transaction of a reader, rolled back; nothing is folded when none changed."""
    until = int(store.one("SELECT value FROM counters WHERE name = 'seq'"))
    changed = [(run, sorted(_changed_among(store, int(run["watermark"]), until, subject_ids))) for run in runs]
    changed = [(run, subjects) for run, subjects in changed if subjects]
    if not changed:
        return {}
    reader = store.reader()
    reader.execute("BEGIN TRANSACTION")
    try:
        fold_all(reader)  # undone with the rest: a dispute or a correction since the run is seen, nothing kept
        return {
            (int(run["run_id"]), sid): view
            for run, subjects in changed
            for sid, view in _views_since(reader, run, subjects).items()
        }
    finally:
        reader.execute("ROLLBACK")
        reader.close()


def _views_since(store: Store, run: Mapping[str, Any], subjects: list[str]) -> dict[str, LiveView]:
    """``subjects`` (changed since ``run``) rescored on the states folded up to their changes."""
    loaded = get_policy(store, run["policy_id"], run["policy_version"])
    run_id = int(run["run_id"])
    histogram = store.execute(
        "SELECT kind, score, n FROM run_histogram WHERE run_id = ? ORDER BY kind, score", [run_id]
    ).to_arrow_table()
    old = {
        str(s): (str(k), int(v))
        for s, k, v in store.execute(
            f"SELECT subject_id, kind, score FROM {run_rows(store, 'run_results', run_id)} "
            "WHERE list_contains(?, subject_id)",
            [subjects],
        ).fetchall()
    }
    out = rescore(store, loaded, run["as_of"], subjects, histogram, old, fold=False)
    if out is None:
        return {}
    watermark, rows, _ = out
    return {
        sid: LiveView(
            row.result,
            row.reasons,
            row.entries,
            int(row.result["rank"]),
            float(row.result["percentile"]),
            watermark,
            row.pending,
            row.met,
        )
        for sid, row in rows.items()
        if sid in old  # a subject registered since the run is decided from the next run
    }
