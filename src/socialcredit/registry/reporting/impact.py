"""Impact before publishing: a candidate policy scored beside a published one, on the same state at the same
as-of date, without publishing the candidate and without writing a run (docs/policy-lab.md).

Both policies run the compiled stages of a score run from a scoring state (registry/scoring/state.py), as runs do:
the published one from the state kept for it at ingest, folded up to the watermark as a run folds it; the
candidate from a state built for its text from the same records at the same watermark, a scratch relation (as is
the published one's, if it has no state kept at that watermark). Everything else is a scratch relation owned by
this caller too (``RunInputs`` and :class:`ImpactRelations`, dropped on exit): nothing is written to
``score_runs`` or the run tables, and no state is built or kept for the candidate, so no decision, listing or
notice can read a trial. ``from_records`` reads the records for both instead: the same report
(tests/test_impact_state.py). The report says who changes tier (a transition matrix), who enters or leaves each
list, which services flip, with counts and rates by district, sex, age band and profession, and the rules and
list criteria that drive the changes.

The work is bounded: the candidate's size is bounded by the policy loader (YAML nodes, nesting and aliases:
``socialcredit.yamlsrc``), so each side is one score run of the store's subjects; the comparison adds one table of
one row per subject and a few grouped scans of it.

>>> report = impact(store, get_policy(store, "beijing"), load_policy("candidate.yaml"), dt.date(2026, 11, 1))
... # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlglot.expressions as exp

from socialcredit.backends.duckdb import DuckDBBackend
from socialcredit.compiler import ScorePlan
from socialcredit.policy import LoadedPolicy
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.common import shown_points
from socialcredit.registry.hooks import plugin_manager
from socialcredit.registry.relations import OwnedRelations
from socialcredit.registry.reporting.dashboard import AGE_BANDS
from socialcredit.registry.scoring.inputs import prepare_inputs
from socialcredit.registry.scoring.runs import check_as_of
from socialcredit.registry.scoring.state import kept_state_at
from socialcredit.store import Store, latest_subjects

__all__ = ["DIMENSIONS", "MIN_GROUP", "SCHEMA", "age_band_case", "impact", "top_groups"]

SCHEMA = "socialcredit.impact/1"
DIMENSIONS = ("district", "sex", "age_band", "profession")
# Groups smaller than this are reported but not ranked among the groups most changed: a rate of 1 in 3 says little.
MIN_GROUP = 30
TOP_GROUPS = 3
_ANY_DATE = dt.date(2000, 1, 1)  # a state does not depend on the date (ScorePlan needs one)

_NAMES = frozenset(
    {
        "sc_cur_state",
        "sc_cand_state",
        "sc_cur_results",
        "sc_cand_results",
        "sc_cur_points",
        "sc_cand_points",
        "sc_cur_entries",
        "sc_cand_entries",
        "sc_people",
        "sc_causes",
        "sc_compare",
    }
)


class ImpactRelations(OwnedRelations):
    """The comparison's own scratch relations; dropped when its ``with`` block ends."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, _NAMES)


@dataclass(frozen=True)
class _Indicator:
    key: str  # e.g. "tier", "enters:blacklist", "grant_to_refuse:bank_loan", "changed"
    column: str  # its boolean column in sc_compare
    condition: exp.Expr


def age_band_case(age: exp.Expr) -> exp.Expr:
    """The dashboard's age band of an age (``AGE_BANDS``), NULL below the first band or without an age."""
    ifs: list[exp.If] = []
    for label, lo, hi in AGE_BANDS:
        cond: exp.Expr = (
            exp.Between(this=age.copy(), low=exp.Literal.number(lo), high=exp.Literal.number(hi))
            if hi is not None
            else exp.GTE(this=age.copy(), expression=exp.Literal.number(lo))
        )
        ifs.append(exp.If(this=cond, true=exp.Literal.string(label)))
    return exp.Case(ifs=ifs)


def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(exp.to_identifier(name, quoted=True), table=table)


def _side(
    store: Store,
    mine: ImpactRelations,
    loaded: LoadedPolicy,
    as_of: dt.date,
    watermark: int,
    side: str,
    lists: Sequence[str],
    services: Sequence[str],
    *,
    from_records: bool,
) -> str:
    """Score ``loaded`` into this caller's ``sc_<side>_results`` (one column ``l<i>`` per list of ``lists``, ``g<j>``
    per service of ``services``: NULL where the policy has no such service), ``_points`` and ``_entries``; returns
    what it read (``READ``)."""
    backend = DuckDBBackend(store)
    state, read = None, "records"
    if not from_records:
        state, read = (kept_state_at(store, loaded, watermark) if side == "cur" else None), "kept state"
        if state is None:
            state, read = _scratch_state(store, mine, loaded, watermark, side), "scratch state"
    plan = ScorePlan(loaded, as_of=as_of, dialect=backend.dialect, source="records" if state is None else "state")
    own_lists = {lst.id for lst in loaded.policy.lists}
    bits = {s.id: i for i, s in enumerate(loaded.policy.services)}
    with prepare_inputs(store, loaded, watermark, state_table=state) as inputs:
        for name, query in plan.stages():
            if name != "sc_reasons":
                inputs.materialize(backend, name, query)
        cols: list[exp.Expr] = [
            _col("subject_id", "x"),
            exp.alias_(_col("sid", "s"), "sid"),
            _col("kind", "x"),
            _col("profession", "x"),
            _col("age", "x"),
            _col("tier", "x"),
        ]
        for i, list_id in enumerate(lists):
            flag: exp.Expr = _col(f"l_{list_id}", "x") if list_id in own_lists else exp.false()
            cols.append(exp.alias_(flag, f"l{i}"))
        for j, service_id in enumerate(services):
            granted: exp.Expr = exp.Null()
            if service_id in bits:
                mask = exp.BitwiseAnd(this=_col("grants", "x"), expression=exp.Literal.number(1 << bits[service_id]))
                granted = exp.NEQ(this=exp.Paren(this=mask), expression=exp.Literal.number(0))
            cols.append(exp.alias_(exp.Cast(this=granted, to=exp.DataType.build("BOOLEAN")), f"g{j}"))
        results = (
            exp.select(*cols)
            .from_(exp.alias_(inputs.table("sc_results"), "x", table=True))
            .join(
                exp.alias_(inputs.table("sc_subjects"), "s", table=True),
                on=exp.EQ(this=_col("subject_id", "s"), expression=_col("subject_id", "x")),
            )
        )
        mine.create(f"sc_{side}_results", results)
        mine.create(
            f"sc_{side}_points",
            exp.select("subject_id", "rule_id", "points").from_(inputs.table("sc_rule_points")),
        )
        # The subject's integer key, as in the results: a policy with no record criterion (the lab's candidate) has
        # entries typed by the plan's empty list records (VARCHAR), which the comparison's full join with the other
        # side's BIGINT keys refused ("Cannot mix values of type BIGINT and VARCHAR in COALESCE").
        key = exp.alias_(exp.Cast(this=_col("subject_id"), to=exp.DataType.build("BIGINT")), "subject_id")
        mine.create(
            f"sc_{side}_entries",
            exp.select(key, "list_id", "criterion_id").distinct().from_(inputs.table("sc_list_entries")),
        )
    return read


# What each side read: the state kept for a published version at ingest, a state built for this comparison from
# the records at the watermark, or (``from_records``) the records themselves.
READ = ("kept state", "scratch state", "records")


def _scratch_state(store: Store, mine: ImpactRelations, loaded: LoadedPolicy, watermark: int, side: str) -> str:
    """The scoring state of ``loaded`` at ``watermark``, built from the records as ``build_state`` builds a kept one,
    into this caller's ``sc_<side>_state``; its quoted name."""
    plan = ScorePlan(loaded, as_of=_ANY_DATE)
    with prepare_inputs(store, loaded, watermark) as inputs:
        mine.create(f"sc_{side}_state", inputs.bind(plan.state_matches()))
    return exp.to_identifier(mine.name(f"sc_{side}_state"), quoted=True).sql(dialect="duckdb")


def _indicators(lists: Sequence[str], services: Sequence[str], shared: set[str]) -> list[_Indicator]:
    a, b = "a", "b"
    out = [
        _Indicator(
            "tier",
            "i_tier",
            exp.NullSafeNEQ(this=_col("tier", a), expression=_col("tier", b)),
        )
    ]
    for i, list_id in enumerate(lists):
        before, after = _col(f"l{i}", a), _col(f"l{i}", b)
        out.append(_Indicator(f"enters:{list_id}", f"i_enter{i}", exp.and_(exp.not_(before), after.copy())))
        out.append(_Indicator(f"leaves:{list_id}", f"i_leave{i}", exp.and_(before.copy(), exp.not_(after))))
        # a new cause (criterion) for a subject listed already: a listing of its own, with its own notice
        out.append(_Indicator(f"new_cause:{list_id}", f"i_gain{i}", _col("gained", f"c{i}")))
        out.append(_Indicator(f"cause_ended:{list_id}", f"i_lose{i}", _col("lost", f"c{i}")))
    for j, service_id in enumerate(services):
        if service_id not in shared:
            continue
        before, after = _col(f"g{j}", a), _col(f"g{j}", b)
        out.append(_Indicator(f"grant_to_refuse:{service_id}", f"i_g2r{j}", exp.and_(before, exp.not_(after))))
        out.append(
            _Indicator(f"refuse_to_grant:{service_id}", f"i_r2g{j}", exp.and_(exp.not_(before.copy()), after.copy()))
        )
    out.append(_Indicator("changed", "i_changed", exp.or_(*[x.condition.copy() for x in out])))
    return out


def _compare(
    mine: ImpactRelations, watermark: int, lists: Sequence[str], services: Sequence[str], ind: list[_Indicator]
) -> None:
    people = latest_subjects(("subject_id", "district", "sex"), watermark=watermark)
    mine.create("sc_people", people)
    mine.create("sc_causes", _CAUSES)
    cols: list[exp.Expr] = [
        _col("subject_id", "a"),
        _col("sid", "a"),
        _col("kind", "a"),
        _col("district", "p"),
        _col("sex", "p"),
        exp.alias_(age_band_case(_col("age", "a")), "age_band"),
        _col("profession", "a"),
        exp.alias_(_col("tier", "a"), "tier_a"),
        exp.alias_(_col("tier", "b"), "tier_b"),
    ]
    for i in range(len(lists)):
        cols += [exp.alias_(_col(f"l{i}", "a"), f"a_l{i}"), exp.alias_(_col(f"l{i}", "b"), f"b_l{i}")]
    for j in range(len(services)):
        cols += [exp.alias_(_col(f"g{j}", "a"), f"a_g{j}"), exp.alias_(_col(f"g{j}", "b"), f"b_g{j}")]
    for x in ind:
        cols.append(exp.alias_(exp.Coalesce(this=x.condition.copy(), expressions=[exp.false()]), x.column))
    query = (
        exp.select(*cols)
        .from_(exp.alias_(exp.to_table("sc_cur_results"), "a", table=True))
        .join(exp.alias_(exp.to_table("sc_cand_results"), "b", table=True), using=["subject_id"])
        .join(
            exp.alias_(exp.to_table("sc_people"), "p", table=True),
            on=exp.EQ(this=_col("subject_id", "p"), expression=_col("sid", "a")),
            join_type="left",
        )
    )
    for i, list_id in enumerate(lists):
        query = query.join(
            exp.alias_(exp.to_table("sc_causes"), f"c{i}", table=True),
            on=exp.and_(
                exp.EQ(this=_col("subject_id", f"c{i}"), expression=_col("subject_id", "a")),
                exp.EQ(this=_col("list_id", f"c{i}"), expression=exp.Literal.string(list_id)),
            ),
            join_type="left",
        )
    mine.create("sc_compare", query)


def _counts(mine: ImpactRelations, ind: list[_Indicator], group: str | None) -> list[dict[str, Any]]:
    """Per value of ``group`` (persons only), or overall (everyone): n and the count of each indicator."""
    sums = [
        exp.alias_(exp.func("sum", exp.Cast(this=_col(x.column), to=exp.DataType.build("INTEGER"))), f"c{k}")
        for k, x in enumerate(ind)
    ]
    query = exp.select(exp.alias_(exp.Count(this=exp.Star()), "n"), *sums).from_("sc_compare")
    if group is not None:
        query = (
            query.select(exp.alias_(_col(group), "grp"))
            .where(
                exp.and_(
                    exp.EQ(this=_col("kind"), expression=exp.Literal.string("person")),
                    _col(group).is_(exp.Null()).not_(),
                )
            )
            .group_by(_col(group))
            .order_by(_col(group))
        )
    rows = mine.rows(query)
    out = []
    for r in rows:
        n = int(r["n"])
        counts = {x.key: int(r[f"c{k}"] or 0) for k, x in enumerate(ind)}
        row: dict[str, Any] = {
            "n": n,
            "counts": counts,
            "rates": {k: (v / n if n else None) for k, v in counts.items()},
        }
        if group is not None:
            row = {"group": str(r["grp"]), **row}
        out.append(row)
    return out


_TIERS = "SELECT tier_a, tier_b, count(*) AS n FROM sc_compare GROUP BY ALL ORDER BY ALL"

_RULES = """
SELECT coalesce(a.rule_id, b.rule_id) AS rule_id,
       count(*) FILTER (WHERE abs(coalesce(b.points, 0) - coalesce(a.points, 0)) > 1e-9) AS subjects,
       count(*) FILTER (WHERE abs(coalesce(b.points, 0) - coalesce(a.points, 0)) > 1e-9 AND c.i_changed)
           AS changed_subjects,
       sum(coalesce(b.points, 0) - coalesce(a.points, 0)) AS points_change,
       bool_or(a.rule_id IS NOT NULL) AS in_current, bool_or(b.rule_id IS NOT NULL) AS in_candidate
FROM sc_cur_points a
FULL JOIN sc_cand_points b ON a.subject_id = b.subject_id AND a.rule_id = b.rule_id
LEFT JOIN sc_compare c ON c.subject_id = coalesce(a.subject_id, b.subject_id)
GROUP BY 1
"""

# Per subject and list: whether the candidate lists them for a cause (criterion) the current policy does not, or
# no longer for one it does (only subjects with a change have a row).
_CAUSES = """
SELECT coalesce(a.subject_id, b.subject_id) AS subject_id, coalesce(a.list_id, b.list_id) AS list_id,
       bool_or(a.subject_id IS NULL) AS gained, bool_or(b.subject_id IS NULL) AS lost
FROM sc_cur_entries a
FULL JOIN sc_cand_entries b ON a.subject_id = b.subject_id AND a.list_id = b.list_id AND a.criterion_id = b.criterion_id
WHERE a.subject_id IS NULL OR b.subject_id IS NULL
GROUP BY 1, 2
"""

_CRITERIA = """
SELECT coalesce(a.list_id, b.list_id) AS list_id, coalesce(a.criterion_id, b.criterion_id) AS criterion_id,
       count(*) FILTER (WHERE a.subject_id IS NULL) AS entered, count(*) FILTER (WHERE b.subject_id IS NULL) AS "left"
FROM sc_cur_entries a
FULL JOIN sc_cand_entries b ON a.subject_id = b.subject_id AND a.list_id = b.list_id AND a.criterion_id = b.criterion_id
GROUP BY 1, 2 HAVING count(*) FILTER (WHERE a.subject_id IS NULL OR b.subject_id IS NULL) > 0 ORDER BY 1, 2
"""


# Per subject and rule, the points each side gives where they differ (by the subject's identifier).
_POINT_CHANGES = """
SELECT s.sid, coalesce(a.rule_id, b.rule_id) AS rule_id, a.points AS before, b.points AS after
FROM sc_cur_points a
FULL JOIN sc_cand_points b ON a.subject_id = b.subject_id AND a.rule_id = b.rule_id
JOIN sc_cur_results s ON s.subject_id = coalesce(a.subject_id, b.subject_id)
WHERE abs(coalesce(b.points, 0) - coalesce(a.points, 0)) > 1e-9
ORDER BY 1, 2
"""


def _per_subject(mine: ImpactRelations) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every subject who changes anything (their row of ``sc_compare`` but its internal key) and every rule's points
    that differ for a subject, ordered by identifier."""
    changed = mine.rows("SELECT * EXCLUDE (subject_id) FROM sc_compare WHERE i_changed ORDER BY sid")
    points = [
        {
            **r,
            "before": None if r["before"] is None else round(float(r["before"]), 6),
            "after": None if r["after"] is None else round(float(r["after"]), 6),
        }
        for r in mine.rows(_POINT_CHANGES)
    ]
    return changed, points


def _ordered_union(first: Sequence[str], second: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))


def _describe(loaded: LoadedPolicy) -> dict[str, str]:
    p = loaded.policy
    return {"policy": p.id, "version": p.version, "sha256": loaded.sha256, "origin": loaded.origin}


def impact(
    store: Store,
    current: LoadedPolicy,
    candidate: LoadedPolicy,
    as_of: dt.date,
    *,
    watermark: int | None = None,
    actor: str = "cli",
    from_records: bool = False,
    changes: bool = False,
) -> dict[str, Any]:
    """The impact report (schema :data:`SCHEMA`, docs/policy-lab.md) of replacing ``current`` by ``candidate``:
    both scored on the same state, at ``watermark`` (default: now), as of ``as_of`` (on the records themselves
    with ``from_records``: the same report); nothing is published or stored but an audit entry saying the
    comparison read the records (and a kept state folded up to the watermark, as a run folds it). At the present
    watermark, what the date decides is written first, as a run at that date writes it (``run_starting``: the
    disputes overdue by ``as_of``, not past the registry's today, lapse), so the published side is what a run of it
    at that date gives: a record whose dispute its source left unanswered past the deadline counts in neither.

    With ``changes``, the report also lists every subject's change (``changes``: tier, lists and services before
    and after, for each subject who changes any) and every rule's points that differ for a subject
    (``point_changes``): one row per subject changed, so only for a trial the caller bounds."""
    check_as_of(as_of)
    if watermark is None:
        plugin_manager().hook.run_starting(store=store, as_of=as_of)
    wm = int(store.one("SELECT value FROM counters WHERE name = 'seq'")) if watermark is None else int(watermark)
    lists = _ordered_union([x.id for x in current.policy.lists], [x.id for x in candidate.policy.lists])
    services = _ordered_union([x.id for x in current.policy.services], [x.id for x in candidate.policy.services])
    shared = {s.id for s in current.policy.services} & {s.id for s in candidate.policy.services}
    ind = _indicators(lists, services, shared)
    with ImpactRelations(store) as mine:
        read_current = _side(store, mine, current, as_of, wm, "cur", lists, services, from_records=from_records)
        read_candidate = _side(store, mine, candidate, as_of, wm, "cand", lists, services, from_records=from_records)
        _compare(mine, wm, lists, services, ind)
        overall = _counts(mine, ind, None)[0]
        groups = {dim: _counts(mine, ind, dim) for dim in DIMENSIONS}
        matrix = [{"from": r["tier_a"], "to": r["tier_b"], "n": int(r["n"])} for r in mine.rows(_TIERS)]
        sizes = mine.rows(
            exp.select(
                exp.alias_(exp.Count(this=exp.Star()), "n"),
                *[
                    exp.alias_(exp.func("count_if", _col(f"{side}_l{i}")), f"{side}{i}")
                    for i in range(len(lists))
                    for side in ("a", "b")
                ],
            ).from_("sc_compare")
        )[0]
        rules = [
            {
                "rule": r["rule_id"],
                "subjects": int(r["subjects"]),
                "changed_subjects": int(r["changed_subjects"]),
                "points_change": shown_points(float(r["points_change"] or 0.0)),
                "in_current": bool(r["in_current"]),
                "in_candidate": bool(r["in_candidate"]),
            }
            for r in mine.rows(_RULES)
            if int(r["subjects"]) > 0
        ]
        criteria = [
            {"list": r["list_id"], "criterion": r["criterion_id"], "entered": int(r["entered"]), "left": int(r["left"])}
            for r in mine.rows(_CRITERIA)
        ]
        per_subject = _per_subject(mine) if changes else None
        n_current = mine.count("sc_cur_results")
        n_candidate = mine.count("sc_cand_results")
    rules.sort(key=lambda r: (-abs(r["points_change"]), -r["subjects"], r["rule"]))
    counts = overall["counts"]
    tier_order = _ordered_union(
        [t.id for t in sorted(current.policy.tiers, key=lambda t: -t.min)],
        [t.id for t in sorted(candidate.policy.tiers, key=lambda t: -t.min)],
    )
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "current": _describe(current),
        "candidate": _describe(candidate),
        "as_of": as_of.isoformat(),
        "watermark": wm,
        "read": {"current": read_current, "candidate": read_candidate},
        "subjects": int(overall["n"]),
        "scored": {"current": n_current, "candidate": n_candidate},
        "changed": counts["changed"],
        "tiers": {
            "order": tier_order,
            "changed": counts["tier"],
            "matrix": matrix,
        },
        "lists": [
            {
                "list": list_id,
                "before": int(sizes[f"a{i}"]),
                "after": int(sizes[f"b{i}"]),
                "entered": counts[f"enters:{list_id}"],
                "left": counts[f"leaves:{list_id}"],
                "new_cause": counts[f"new_cause:{list_id}"],
                "cause_ended": counts[f"cause_ended:{list_id}"],
            }
            for i, list_id in enumerate(lists)
        ],
        "services": [
            {
                "service": service_id,
                "grant_to_refuse": counts[f"grant_to_refuse:{service_id}"],
                "refuse_to_grant": counts[f"refuse_to_grant:{service_id}"],
            }
            for service_id in services
            if service_id in shared
        ],
        "services_not_compared": [s for s in services if s not in shared],
        "overall": overall,
        "groups": groups,
        "top_groups": top_groups(groups),
        "rules": rules,
        "criteria": criteria,
        "bounds": {
            "policy": "the candidate's size is bounded by the policy loader (YAML nodes, nesting, aliases)",
            "work": "two score runs on scratch relations and one row per subject compared; nothing is written",
            "min_group": MIN_GROUP,
        },
    }
    if per_subject is not None:
        report["changes"], report["point_changes"] = per_subject
    with store.transaction():
        append_audit(
            store,
            actor,
            "policy_impact",
            None,
            {
                "current": f"{current.policy.id}@{current.policy.version}",
                "candidate_sha256": candidate.sha256,
                "as_of": as_of,
                "watermark": wm,
                "changed": counts["changed"],
            },
        )
    return report


def top_groups(
    groups: dict[str, list[dict[str, Any]]], n: int = TOP_GROUPS, *, min_group: int = MIN_GROUP
) -> list[dict[str, Any]]:
    """The ``n`` groups (of at least :data:`MIN_GROUP` persons) with the highest share of persons who change
    anything (tier, a list, a service); ties by count, then by name."""
    found = [
        {
            "dimension": dim,
            "group": g["group"],
            "n": g["n"],
            "changed": g["counts"]["changed"],
            "rate": g["rates"]["changed"],
        }
        for dim, rows in groups.items()
        for g in rows
        if g["n"] >= min_group and g["counts"]["changed"] > 0
    ]
    found.sort(key=lambda g: (-g["rate"], -g["changed"], g["dimension"], g["group"]))
    return found[:n]
