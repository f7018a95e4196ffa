"""Baseline: the policy as one lazy Polars query, the way someone fluent in Polars would write it.

Everything is a ``LazyFrame`` built from ``pl.scan_parquet`` and collected once, at the end, so Polars sees
the whole plan: it reads only the columns the policy uses, pushes the record-type and date filters into the
scans, and shares the scan of a record type between the rules that read it.

Reads the files the engine's ingest reads: subjects/*.parquet (organisations are the rows of orgs.parquet),
records/<source>/*.parquet for the sources the catalog allows to send each record type the policy uses, and
consents.parquet when the policy has consent categories.

Per record type, one ``group_by(subject_id)`` computes every per-occurrence rule of that type at once (a
masked, decayed sum and the last event of each rule) and every list criterion on it (``any`` of its mask);
a per-period rule first keeps one hit per subject and calendar period (its latest record). The results are
joined onto the subjects, then dimensions (clamped), total, score, tier, rank and percentile within kind
(window expressions over ``kind``) and the list criteria on the score follow as expressions. Generic over
the policy language, like the pandas baseline.

Conditions follow SQL's three-valued logic, as the engine does: Polars compares a null as unknown (null),
and its ``& | ~`` on booleans are Kleene logic; only true counts. ``x / 0`` is null, as in SQL.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from socialcredit.catalog import load_catalog
from socialcredit.policy import LoadedPolicy
from socialcredit.policy import expr as x
from socialcredit.policy.model import ListCriterion, Policy, Rule

from ._common import MICRO, micro

__all__ = ["condition", "percentile", "score", "score_lazy"]

_COMPARE: dict[str, Callable[[Any, Any], pl.Expr]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_ARITH: dict[str, Callable[[Any, Any], pl.Expr]] = {"+": operator.add, "-": operator.sub, "*": operator.mul}
_TRUNCATE = {"month": "1mo", "quarter": "1q", "year": "1y"}


# Polars divides a column by a constant as a multiplication by its reciprocal (pola-rs/polars#23741), one ulp
# off the quotient for some values: 7707 / 100 gives 77.07000000000001, where the engine's CAST(7707 AS
# DOUBLE) / 100 gives 77.07. The hundredths of a percentile are 0 to 10 000, so their doubles are a table
# computed with Python's division (correctly rounded, as DuckDB's).
_PERCENTS = pl.Series("percent", [h / 100 for h in range(10_001)], dtype=pl.Float64)


def percentile(cum: pl.Expr, total: pl.Expr) -> pl.Expr:
    """Percent of the kind at or below the score, rounded half up to hundredths, computed with integers.

    ``cum`` subjects of ``total`` score at or below: round(10000 * cum / total) hundredths, half up, is
    (20000 * cum + total) // (2 * total); then that number divided by 100 as a double, as the engine does
    (``_RANKED_SQL`` in socialcredit/compiler/plan.py).
    """
    cum, total = cum.cast(pl.Int64), total.cast(pl.Int64)
    hundredths = (20000 * cum + total) // (2 * total)
    return pl.lit(_PERCENTS).gather(hundredths)


def condition(node: x.Node, resolve: Callable[[str], pl.Expr], tier_rank: Mapping[str, int] | None = None) -> pl.Expr:
    """A checked condition as a Polars expression: true, false or null (unknown), as SQL would say."""
    ranks = tier_rank or {}

    def literal(other: x.Node, lit: x.Lit) -> Any:
        if other.type == "tier" and isinstance(lit.value, str):
            return ranks[lit.value]
        return lit.value

    def value(n: x.Node) -> pl.Expr:
        if isinstance(n, x.Lit):
            return pl.lit(n.value)
        if isinstance(n, x.Name):
            return resolve(n.name)
        if isinstance(n, x.Unary):
            return ~value(n.operand) if n.op == "not" else -value(n.operand)
        if isinstance(n, x.Binary):
            if n.op == "and":
                return value(n.left) & value(n.right)
            if n.op == "or":
                return value(n.left) | value(n.right)
            a = pl.lit(literal(n.right, n.left)) if isinstance(n.left, x.Lit) else value(n.left)
            b = pl.lit(literal(n.left, n.right)) if isinstance(n.right, x.Lit) else value(n.right)
            if n.op in _COMPARE:
                return _COMPARE[n.op](a, b)
            if n.op == "/":  # x / 0 is NULL, as in SQL
                return pl.when(b != 0).then(a / b)
            return _ARITH[n.op](a, b)
        if isinstance(n, x.In):
            v = value(n.operand)
            values = [literal(n.operand, lit) for lit in n.values]
            if n.operand.type == "number":  # Polars checks membership within one type: compare numbers as doubles
                v, values = v.cast(pl.Float64), [float(val) for val in values]
            hit = v.is_in(values)
            return ~hit if n.negated else hit
        if isinstance(n, x.IsNull):
            inner = value(n.operand)
            return inner.is_not_null() if n.negated else inner.is_null()
        raise TypeError(type(n).__name__)

    return value(node)


def _holds(
    node: x.Node | None, resolve: Callable[[str], pl.Expr], tier_rank: Mapping[str, int] | None = None
) -> pl.Expr:
    """A condition as a filter: only true counts (no condition: always)."""
    if node is None:
        return pl.lit(True)
    return condition(node, resolve, tier_rank).fill_null(False)


def _subjects(folder: Path, policy: Policy, as_of: dt.date) -> pl.LazyFrame:
    """subject_id, kind, profession, age and one boolean ``consent_<category>`` per voluntary category."""
    frames = []
    for path in sorted((folder / "subjects").glob("*.parquet")):
        kind = "org" if path.stem == "orgs" else "person"
        if policy.kind not in ("all", kind):
            continue
        frame = pl.scan_parquet(path).select("subject_id", "profession", kind=pl.lit(kind))
        if kind == "person":  # the birth date is in the identity number (characters 7-14); age in completed years
            born = pl.col("subject_id").str.slice(6, 8).str.to_date("%Y%m%d")
            birthday_to_come = born.dt.month().cast(pl.Int32) * 100 + born.dt.day() > as_of.month * 100 + as_of.day
            age = as_of.year - born.dt.year() - birthday_to_come.cast(pl.Int32)
            frame = frame.with_columns(age=age.cast(pl.Int64))
        else:
            frame = frame.with_columns(age=pl.lit(None, pl.Int64))
        frames.append(frame)
    subjects = pl.concat(frames)
    consent = policy.consent
    voluntary = consent.mandatory_from is None or as_of < consent.mandatory_from
    categories = list(consent.categories) if voluntary else []
    path = folder / "consents.parquet"
    for category in categories:
        column = f"consent_{category}"
        if not path.exists():
            subjects = subjects.with_columns(pl.lit(False).alias(column))
            continue
        # The latest entry per subject and category counts (the file is in the order consents were given).
        opted = (
            pl.scan_parquet(path)
            .with_row_index("order")
            .filter(pl.col("category") == category)
            .group_by("subject_id")
            .agg(pl.col("granted").sort_by("order").last().alias(column))
        )
        subjects = subjects.join(opted, on="subject_id", how="left").with_columns(pl.col(column).fill_null(False))
    return subjects


def _records(folder: Path, record_type: str, as_of: dt.date) -> pl.LazyFrame | None:
    """The records of one type dated on or before ``as_of``, from the sources that may send that type."""
    scans = []
    for source in load_catalog().source_of(record_type):
        files = sorted((folder / "records" / source).glob("*.parquet"))
        if files:
            scans.append(pl.scan_parquet(files))
    if not scans:
        return None
    records = scans[0] if len(scans) == 1 else pl.concat(scans, how="diagonal_relaxed")
    return records.filter(pl.col("record_type") == record_type, pl.col("event_date") <= as_of)


def _to_micro(points: pl.Expr) -> pl.Expr:
    """Points in micro-points, rounded half up (integers: summed exactly, as the engine sums them)."""
    return (points * MICRO + 0.5).floor().cast(pl.Int64)


def _decayed(rule: Rule, age: pl.Expr) -> pl.Expr:
    """The points of one hit ``age`` days old, in micro-points."""
    if rule.decay is None:
        return pl.lit(micro(rule.points), pl.Int64)
    return _to_micro(rule.points * pl.lit(2.0).pow(-age.cast(pl.Float64) / float(rule.decay.half_life_days)))


def _capped(rule: Rule, summed: pl.Expr) -> pl.Expr:
    """A sum of micro-points as points, capped."""
    points = summed.cast(pl.Float64) / MICRO
    return points.clip(-rule.cap, rule.cap) if rule.cap is not None else points


def _by_record_type(
    folder: Path, loaded: LoadedPolicy, subjects: pl.LazyFrame, as_of: dt.date
) -> list[tuple[pl.LazyFrame, list[str], list[str]]]:
    """Per record type the policy reads: (per subject frame, its point columns, its list-criterion columns).

    Point columns are ``p<i>`` (the capped points of rule i) and ``e<i>`` (the date of its last hit, for rules
    that take points away); list-criterion columns are ``c<list>.<criterion>`` (a record met it).
    """
    policy = loaded.policy
    catalog = load_catalog()
    consent = policy.consent
    voluntary = consent.mandatory_from is None or as_of < consent.mandatory_from
    rules: dict[str, list[tuple[int, Rule]]] = {}
    for i, rule in enumerate(policy.rules):
        rules.setdefault(rule.record_type, []).append((i, rule))
    criteria: dict[str, list[tuple[str, ListCriterion]]] = {}
    for lst in policy.lists:
        for crit in lst.criteria:
            if crit.record is not None:
                criteria.setdefault(crit.record.record_type, []).append((f"{lst.id}.{crit.id}", crit))
    age = (pl.lit(as_of) - pl.col("event_date")).dt.total_days()
    out = []
    for record_type in sorted(set(rules) | set(criteria)):
        records = _records(folder, record_type, as_of)
        if records is None:
            continue
        schema = records.collect_schema()

        def field(name: str, schema: pl.Schema = schema) -> pl.Expr:
            return pl.col(name) if name in schema else pl.lit(None)  # a field no file carries: NULL everywhere

        type_rules, type_criteria = rules.get(record_type, []), criteria.get(record_type, [])
        category = catalog.record_types[record_type].category
        needs = ["profession"] if any(rule.professions for _, rule in type_rules) else []
        if voluntary and category in consent.categories:
            needs.append(f"consent_{category}")
        if needs:  # subject columns a filter reads (prefixed: record types have a field `profession` too)
            columns = [pl.col(c).alias(f"subject_{c}") for c in needs]
            records = records.join(subjects.select("subject_id", *columns), on="subject_id", how="inner")
            if f"consent_{category}" in needs:  # counted only for subjects who opted in
                records = records.filter(pl.col(f"subject_consent_{category}"))

        def mask(rule: Rule, key: str, field: Callable[[str], pl.Expr] = field) -> pl.Expr:
            m = _holds(loaded.condition(key), field)
            for days in (rule.expires_after_days, rule.window_days):
                if days is not None:
                    m = m & (age < days)
            if rule.professions:
                m = m & pl.col("subject_profession").is_in(list(rule.professions)).fill_null(False)
            return m

        # Every mask is a column first (a rule without conditions would otherwise be one scalar `true`).
        masks = {f"m{i}": mask(rule, f"rule:{rule.id}") for i, rule in type_rules}
        for key, crit in type_criteria:
            assert crit.record is not None
            m = _holds(loaded.condition(f"list:{key}"), field)
            if crit.record.within_days is not None:
                m = m & (age < crit.record.within_days)
            masks[f"m{key}"] = m
        records = records.with_columns(**masks)
        # The points of each record per rule counted per occurrence (0 where the rule does not hold).
        records = records.with_columns(
            **{
                f"v{i}": pl.when(pl.col(f"m{i}")).then(_decayed(rule, age)).otherwise(0)
                for i, rule in type_rules
                if rule.per == "occurrence"
            }
        )

        aggs: list[pl.Expr] = []
        point_columns: list[str] = []
        per_period: list[pl.LazyFrame] = []
        for i, rule in type_rules:
            m = pl.col(f"m{i}")
            point_columns.append(f"p{i}")
            if rule.points < 0:
                point_columns.append(f"e{i}")
            if rule.per == "occurrence":
                aggs.append(_capped(rule, pl.col(f"v{i}").sum()).alias(f"p{i}"))
                if rule.points < 0:
                    aggs.append(pl.col("event_date").filter(m).max().alias(f"e{i}"))
                continue
            # One hit per calendar period with a matching record, dated by the period's latest record.
            hits = (
                records.filter(m)
                .group_by("subject_id", pl.col("event_date").dt.truncate(_TRUNCATE[rule.per]).alias("period"))
                .agg(pl.col("event_date").max())
                .with_columns(points=_decayed(rule, age))
                .group_by("subject_id")
                .agg(_capped(rule, pl.col("points").sum()).alias(f"p{i}"), pl.col("event_date").max().alias(f"e{i}"))
            )
            per_period.append(hits if rule.points < 0 else hits.drop(f"e{i}"))
        criterion_columns = []
        for key, _ in type_criteria:
            aggs.append(pl.col(f"m{key}").any().alias(f"c{key}"))
            criterion_columns.append(f"c{key}")
        frames = [records.group_by("subject_id").agg(aggs)] if aggs else []
        frames += per_period
        frame = frames[0]
        for other in frames[1:]:
            frame = frame.join(other, on="subject_id", how="full", coalesce=True)
        out.append((frame, point_columns, criterion_columns))
    return out


def score_lazy(folder: Path, loaded_policy: LoadedPolicy, as_of: dt.date) -> pl.LazyFrame:
    """The whole score run as one LazyFrame (see ``score``)."""
    loaded, policy, folder = loaded_policy, loaded_policy.policy, Path(folder)
    subjects = _subjects(folder, policy, as_of)

    # -- rules and record criteria, per record type, joined onto the subjects --------------------------------
    out = subjects
    point_columns: list[str] = []
    criterion_columns: list[str] = []
    for frame, points, criteria in _by_record_type(folder, loaded, subjects, as_of):
        out = out.join(frame, on="subject_id", how="left")
        point_columns += points
        criterion_columns += criteria
    out = out.with_columns(
        *[pl.col(c).fill_null(0.0) for c in point_columns if c.startswith("p")],
        *[pl.col(c).fill_null(False) for c in criterion_columns],
    )

    # -- dimensions, total, score, tier --------------------------------------------------------------------
    present = set(point_columns)
    dims = []
    for d in policy.dimensions:
        summed = pl.lit(0, pl.Int64)  # micro-points
        for i, rule in enumerate(policy.rules):
            if rule.dimension == d.id and f"p{i}" in present:
                summed = summed + _to_micro(pl.col(f"p{i}"))
        dims.append((summed.cast(pl.Float64) / MICRO).clip(d.min, d.max).alias(f"d_{d.id}"))
    out = out.with_columns(dims)
    # the total in micro-points too, divided once, as the engine sums it (each clamped dimension back in micro-points)
    grand = pl.lit(float(policy.scale.base * MICRO))
    for d in policy.dimensions:
        grand = grand + (pl.col(f"d_{d.id}") * MICRO + 0.5).floor()
    out = out.with_columns(total=grand / MICRO, score=((grand + MICRO // 2) / MICRO).floor()).with_columns(
        score=pl.col("score").clip(policy.scale.min, policy.scale.max).cast(pl.Int64)
    )
    ids = policy.tier_ids()
    rank_of = {t: len(ids) - i for i, t in enumerate(ids)}
    best, *others = sorted(policy.tiers, key=lambda t: -t.min)  # the highest tier met wins
    tier: Any = pl.when(pl.col("score") >= best.min).then(pl.lit(best.id))
    tier_rank: Any = pl.when(pl.col("score") >= best.min).then(pl.lit(rank_of[best.id]))
    for t in others:
        tier = tier.when(pl.col("score") >= t.min).then(pl.lit(t.id))
        tier_rank = tier_rank.when(pl.col("score") >= t.min).then(pl.lit(rank_of[t.id]))
    negative = [pl.when(pl.col(f"p{c[1:]}") < 0).then(pl.col(c)) for c in point_columns if c.startswith("e")]
    last_negative = pl.max_horizontal(negative) if negative else pl.lit(None, pl.Date)
    out = out.with_columns(
        tier=tier,
        tier_rank=tier_rank,
        last_negative_days=(pl.lit(as_of) - last_negative).dt.total_days(),
        # -- rank and percentile within kind ---------------------------------------------------------------
        rank=pl.col("score").rank("min", descending=True).over("kind").cast(pl.Int64),
        percentile=percentile(pl.col("score").rank("max").over("kind"), pl.len().over("kind")),
    )

    # -- lists -------------------------------------------------------------------------------------------
    facts = {d.id: f"d_{d.id}" for d in policy.dimensions} | {"tier": "tier_rank"}

    def fact(name: str) -> pl.Expr:
        return pl.col(facts.get(name, name))

    flags = []
    for lst in policy.lists:
        on_list: pl.Expr = pl.lit(False)
        for crit in lst.criteria:
            key = f"{lst.id}.{crit.id}"
            if crit.record is not None:
                if f"c{key}" in criterion_columns:
                    on_list = on_list | pl.col(f"c{key}")
            elif (node := loaded.condition(f"list:{key}")) is not None:
                on_list = on_list | _holds(node, fact, rank_of)
        flags.append(on_list.alias(lst.id))
    out = out.with_columns(flags)
    columns = ["subject_id", "kind", "total", "score", "tier", "rank", "percentile"]
    columns += [f"d_{d.id}" for d in policy.dimensions] + [lst.id for lst in policy.lists]
    return out.select(columns)


def score(folder: Path, loaded_policy: LoadedPolicy, as_of: dt.date) -> pl.DataFrame:
    """One row per subject: subject_id, kind, total, score, tier, rank, percentile and a flag per list.

    A Polars DataFrame (``.to_pandas()`` gives the frame the other baselines return; converting is not part of
    the work a Polars user would do, so it is not timed).
    """
    return score_lazy(folder, loaded_policy, as_of).collect(engine="streaming")
