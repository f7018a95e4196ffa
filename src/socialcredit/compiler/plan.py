"""Lower a policy to the SQL stages of a score run, as sqlglot trees, for one dialect.

Inputs are two relations the backend provides:

* ``sc_records``  — the counting version of every record: subject_id, record_key, record_type, event_date,
  first_key (the key its record was first stored at: a correction keeps it), and one typed column per field of the
  catalog (NULL where a record type has no such field), see ``socialcredit.catalog.Catalog.field_columns``;
* ``sc_subjects`` — subject_id, kind, profession, birth_date and one boolean ``consent_<category>`` per
  consent category of the policy.

Stages, each a SELECT materialised under its name by the backend (see ``ScorePlan.stages``)::

    sc_rule_points   subject x rule: capped points, hits, last event     (reads records)
    sc_list_records  list entries met by a record                        (reads records)
    sc_local         per subject: dimension points, total, score, tier   (from rule points)
    sc_ranked        + rank and percentile within the subject's kind
    sc_list_entries  record entries + entries met by the score
    sc_results       + one flag per list and the bitmask of granted services
    sc_reasons       up to four principal reasons per subject

An incremental run evaluates the two record-reading stages only for subjects in ``sc_affected`` and
merges the rest from its base run; every later stage is recomputed for everyone, from those rows.

**Scoring state.** What a record contributes depends on the run's date (expiry, windows, decay, calendar periods,
consent becoming mandatory) and on its subject (profession, consent, kind) — but whether it matches a rule or a list
criterion at all (its record type and the rule's condition on its fields) does not. ``state_matches`` lowers that
part to one query: a row (subject_id, item, event_date, record_key, first_key) for every counting record version and
every *item* (a rule, or a list criterion that reads records) whose condition it meets. The registry keeps those rows at
ingest (``registry/scoring/state.py``); a plan with ``source="state"`` reads them as ``sc_state`` in place of
``sc_records``, applies the date- and subject-dependent filters at the run's date, and gives the same rows. No
condition on a record's fields is evaluated again, and no record column is read.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import TypeVar, cast

import sqlglot
import sqlglot.expressions as exp

from socialcredit.catalog import Catalog, load_catalog
from socialcredit.compiler.dialects import Dialect, DuckDBDialect
from socialcredit.compiler.lower import date_literal, literal, lower
from socialcredit.policy import LoadedPolicy
from socialcredit.policy.expr import Node, names_in
from socialcredit.policy.model import RELATION_RECORD_TYPE, ListCriterion, Policy, Rule

__all__ = [
    "MAX_REASONS",
    "MICRO",
    "STAGES",
    "ScorePlan",
    "StateItem",
    "from_micro",
    "histogram_ranks",
    "micro",
    "to_micro",
]


# Constant SQL (no policy text in it): rank and percentile of each (kind, score) of a histogram of (kind, score, n).
# The percentile is the share at or below the score, in hundredths of a percent rounded half up, computed with
# integers so that every engine gets the same digits (rounding a double differs between engines at .5). One
# definition: a run's stages rank with it, and a stored run's histogram (run_histogram) is ranked with it.
def _histogram_ranks_sql(within: str) -> str:
    return f"""
SELECT {within}, score, n, CAST(rank AS INTEGER) AS rank,
       CAST((20000 * cum + total) // (2 * total) AS DOUBLE) / 100 AS percentile
FROM (
    SELECT {within}, score, n,
           SUM(n) OVER (PARTITION BY {within} ORDER BY score DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
               - n + 1 AS rank,
           CAST(SUM(n) OVER (PARTITION BY {within} ORDER BY score ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
               AS BIGINT) AS cum,
           CAST(SUM(n) OVER (PARTITION BY {within}) AS BIGINT) AS total
    FROM (SELECT {within}, score, COUNT(*) AS n FROM sc_local GROUP BY {within}, score) AS c
) AS w
"""


_RANKED_SQL = f"""
SELECT l.*, h.rank, h.percentile
FROM sc_local AS l
JOIN ({_histogram_ranks_sql("kind")}) AS h ON h.kind = l.kind AND h.score = l.score
"""


def histogram_ranks(counts: exp.Expr | None = None, *, per_run: bool = False) -> exp.Select:
    """The rows (kind, score, n, rank, percentile) of a histogram: by default of ``sc_local``'s scores; ``counts``
    replaces it (a relation of kind, score and n, aliased or not). ``per_run``: of several runs' histograms at once,
    each row led by its ``run_id`` (``counts`` then has that column too)."""
    query = sqlglot.parse_one(_histogram_ranks_sql("run_id, kind" if per_run else "kind"), read="duckdb")
    if counts is not None:
        inner = next(s for s in query.find_all(exp.Subquery) if s.alias == "c")
        inner.replace(exp.alias_(counts, "c", table=True))
    return cast(exp.Select, query)


MAX_REASONS = 4
STAGES = (
    "sc_rule_points",
    "sc_list_records",
    "sc_local",
    "sc_ranked",
    "sc_list_entries",
    "sc_results",
    "sc_reasons",
)


_WHOLE_FACTS = frozenset({"score", "rank", "age", "last_negative_days"})


Query_ = TypeVar("Query_", bound=exp.Expr)


def tables_renamed(query: Query_, name: str, to: str) -> Query_:
    """``query`` reading the relation ``to`` wherever it read the table ``name`` (changed in place)."""
    for table in query.find_all(exp.Table):
        if table.name == name:
            table.set("this", exp.to_identifier(to))
    return query


def expr_names(node: Node | None) -> set[str]:
    """Every name a condition reads (none for a missing one)."""
    return set() if node is None else names_in(node)


def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table)


def _str(value: str) -> exp.Literal:
    return exp.Literal.string(value)


def _num(value: float) -> exp.Expr:
    return literal(value)


def _and(*conds: exp.Expr | None) -> exp.Expr:
    parts = [c for c in conds if c is not None]
    if not parts:
        return exp.true()
    out = parts[0]
    for c in parts[1:]:
        out = exp.And(this=out, expression=c)
    return out


def _clamp(value: exp.Expr, lo: float | None, hi: float | None) -> exp.Expr:
    if lo is not None:
        value = exp.Greatest(this=_num(lo), expressions=[value], ignore_nulls=True)
    if hi is not None:
        value = exp.Least(this=_num(hi), expressions=[value], ignore_nulls=True)
    return value


def _period(unit: str, column: exp.Expr) -> exp.Expr:
    """The first day of the calendar month, quarter or year of ``column``."""
    trunc: exp.Expr = exp.DateTrunc(unit=_str(unit.upper()), this=column)  # type: ignore[no-untyped-call]
    return trunc


# Points are summed as integers of micro-points (a millionth of a point): each record's decayed points are rounded
# to the micro-point (half up), the sums of a rule and of a dimension are exact, so they do not depend on the order
# in which an engine happens to add the rows (a run from the state and one from the records read them in different
# orders; DuckDB and Spark too). A sum of doubles differed in its last bits between them.
MICRO = 1_000_000


def micro(points: float) -> int:
    """``points`` in micro-points, rounded half up, as the SQL's ``to_micro`` rounds it (the same double arithmetic)."""
    return math.floor(points * MICRO + 0.5)


def to_micro(points: exp.Expr) -> exp.Expr:
    """A DOUBLE of points as a BIGINT of micro-points, rounded half up: FLOOR(points * 1000000 + 0.5)."""
    scaled = exp.Add(this=exp.Mul(this=points, expression=_num(MICRO)), expression=_num(0.5))
    return exp.Cast(this=exp.Floor(this=scaled), to=exp.DataType.build("BIGINT"))


# The largest number of points whose micro-points a BIGINT holds (2^63 / 10^6, less a margin): a dimension past it
# (a policy without dimension bounds, points by the billion) is summed into the total as this many; its score is
# clamped to the scale long before, and the total of such a subject is no number anyone reads.
MICRO_BOUND = 9_000_000_000_000.0


def _within_micro(points: exp.Expr) -> exp.Expr:
    """``points`` held within ±MICRO_BOUND, so that ``to_micro`` of it is a BIGINT in every engine."""
    return _clamp(points, -MICRO_BOUND, MICRO_BOUND)


def from_micro(micro_points: exp.Expr) -> exp.Expr:
    """An integer of micro-points (a sum) as a DOUBLE of points."""
    as_double = exp.Cast(this=micro_points, to=exp.DataType.build("DOUBLE"))
    return exp.Div(this=as_double, expression=_num(MICRO), typed=False, safe=False)


def _union_all(selects: list[exp.Select]) -> exp.Query:
    out: exp.Query = selects[0]
    for s in selects[1:]:
        out = exp.union(out, s, distinct=False, copy=False)  # the parts are fresh trees: copying them is quadratic
    return out


@dataclass(frozen=True)
class StateItem:
    """A rule, or a list criterion that reads records: one ``item`` number of the scoring state."""

    index: int
    record_type: str
    condition_key: str  # the key of its condition in LoadedPolicy.condition ("rule:<id>", "list:<list>.<criterion>")


@dataclass(frozen=True)
class ScorePlan:
    """The SQL of a score run under one policy, for one engine, as of one date.

    >>> from socialcredit.policy import builtin_policy
    >>> plan = ScorePlan(builtin_policy("beijing"), as_of=dt.date(2026, 1, 1))
    >>> "sc_rule_points" in dict(plan.stages())
    True
    """

    loaded: LoadedPolicy
    as_of: dt.date
    dialect: Dialect = field(default_factory=DuckDBDialect)
    catalog: Catalog | None = None
    # "records": the record-reading stages read sc_records; "state": they read the scoring state, sc_state.
    source: str = "records"

    def __post_init__(self) -> None:
        if self.source not in ("records", "state"):
            raise ValueError(f"source must be 'records' or 'state', not {self.source!r}")

    # -- helpers -----------------------------------------------------------------------------------------
    @property
    def policy(self) -> Policy:
        return self.loaded.policy

    @property
    def _catalog(self) -> Catalog:
        return self.catalog or self.loaded.catalog or load_catalog()

    def tier_rank(self) -> dict[str, int]:
        """Tier id to rank, higher is better (the worst tier is 1)."""
        ids = self.policy.tier_ids()
        return {t: len(ids) - i for i, t in enumerate(ids)}

    def state_items(self) -> list[StateItem]:
        """The items of the scoring state, numbered: every rule in order, then every list criterion on records."""
        items = [StateItem(i, r.record_type, f"rule:{r.id}") for i, r in enumerate(self.policy.rules)]
        for lst in self.policy.lists:
            for c in lst.criteria:
                if c.record is not None:
                    items.append(StateItem(len(items), c.record.record_type, f"list:{lst.id}.{c.id}"))
        return items

    def _item(self, condition_key: str) -> StateItem:
        return next(i for i in self.state_items() if i.condition_key == condition_key)

    def _match(self, record_type: str, condition_key: str) -> exp.Expr:
        """The part of a rule's or criterion's filter that depends only on the record: its type and condition.

        Read from the state, it is the item's number: the state holds only the records that met it.
        """
        if self.source == "state":
            return exp.EQ(this=_col("item", "r"), expression=_num(self._item(condition_key).index))
        return _and(
            exp.EQ(this=_col("record_type", "r"), expression=_str(record_type)),
            self._record_condition(condition_key),
        )

    def _input(self) -> str:
        return "sc_state" if self.source == "state" else "sc_records"

    def state_matches(self) -> exp.Query:
        """One row per (counting record of ``sc_records``, item it meets): subject_id, item, event_date, record_key,
        first_key.

        Folding a change into the state runs this on a ``sc_records`` that holds just the changed versions.
        """
        if self.source != "records":
            raise ValueError("the state is built from records: use a plan with source='records'")
        selects = [
            exp.select(
                exp.alias_(_col("subject_id", "r"), "subject_id"),
                exp.alias_(exp.Cast(this=_num(item.index), to=exp.DataType.build("SMALLINT")), "item"),
                exp.alias_(_col("event_date", "r"), "event_date"),
                exp.alias_(_col("record_key", "r"), "record_key"),
                exp.alias_(_col("first_key", "r"), "first_key"),
            )
            .from_(exp.alias_(exp.to_table("sc_records"), "r", table=True))
            .where(self._match(item.record_type, item.condition_key))
            for item in self.state_items()
        ]
        return _union_all(selects)

    def _age_days(self, column: exp.Expr, as_of: dt.date | None = None) -> exp.Expr:
        return exp.DateDiff(this=date_literal(as_of or self.as_of), expression=column, unit=exp.var("DAY"))

    def _age(self, birth: exp.Expr, as_of: dt.date | None = None) -> exp.Expr:
        """The age in whole years at ``as_of`` (the plan's date) of one born on ``birth``."""
        day = date_literal(as_of or self.as_of)
        had_birthday = exp.GTE(
            this=exp.Add(
                this=exp.Mul(this=exp.Month(this=day), expression=_num(100)),
                expression=exp.Day(this=day.copy()),
            ),
            expression=exp.Add(
                this=exp.Mul(this=exp.Month(this=birth), expression=_num(100)),
                expression=exp.Day(this=birth.copy()),
            ),
        )
        return exp.Sub(
            this=exp.Sub(this=exp.Year(this=day.copy()), expression=exp.Year(this=birth.copy())),
            expression=exp.Case(ifs=[exp.If(this=had_birthday, true=_num(0))], default=_num(1)),
        )

    def age_changed(self, since: dt.date) -> exp.Select:
        """The subjects of ``sc_subjects`` whose age differs between ``since`` and the plan's date."""
        birth = _col("birth_date", "s")
        return (
            exp.select(_col("subject_id", "s"))
            .from_(exp.alias_(exp.to_table("sc_subjects"), "s", table=True))
            .where(
                exp.Not(
                    this=exp.Paren(
                        this=exp.NullSafeEQ(this=self._age(birth, since), expression=self._age(birth.copy()))
                    )
                )
            )
        )

    def kept(self, results: exp.Expr) -> exp.Select:
        """Rows of ``sc_ranked``'s columns from a stored run's rows of ``results`` (run_results' columns, and the
        subject's integer key as ``subject_key``), the facts that depend on the date (days since the last negative
        record) at the plan's date; rank and percentile NULL (a delta run is made only when no condition reads them).
        A delta run judges the score's list criteria of the subjects it does not rescore on them."""
        dims = [
            exp.alias_(
                exp.Anonymous(this="list_extract", expressions=[_col("dims", "r"), _num(i + 1)]),
                name,
            )
            for i, name in enumerate(self.dimension_columns())
        ]
        return exp.select(
            exp.alias_(_col("subject_key", "r"), "subject_id"),
            *[_col(c, "r") for c in ("kind", "profession", "age")],
            *dims,
            *[_col(c, "r") for c in ("last_negative", "total", "score")],
            exp.alias_(self._age_days(_col("last_negative", "r")), "last_negative_days"),
            *[_col(c, "r") for c in ("tier", "tier_rank")],
            exp.alias_(exp.Cast(this=exp.Null(), to=exp.DataType.build("INTEGER")), "rank"),
            exp.alias_(exp.Cast(this=exp.Null(), to=exp.DataType.build("DOUBLE")), "percentile"),
        ).from_(exp.alias_(results, "r", table=True))

    def list_entries_over(self, ranked: str) -> exp.Query:
        """``list_entries`` with the score's criteria judged on ``ranked`` instead of ``sc_ranked``."""
        return tables_renamed(self.list_entries(), "sc_ranked", ranked)

    def conditions_read(self) -> tuple[set[str], set[str]]:
        """The names the services' grants read, and those the list criteria on the score read."""
        grants = {name for s in self.policy.services for name in expr_names(self.loaded.condition(f"service:{s.id}"))}
        criteria = {
            name
            for lst in self.policy.lists
            for c in lst.criteria
            if c.when is not None
            for name in expr_names(self.loaded.condition(f"list:{lst.id}.{c.id}"))
        }
        return grants, criteria

    def _younger_than(self, column: exp.Expr, days: int, as_of: dt.date | None = None) -> exp.Expr:
        """``column``'s age in days at ``as_of`` (the plan's date) is below ``days``, as a comparison with a date:
        the same rows as ``DATE_DIFF(...) < days``, without computing every row's age, and a bound the engine can
        check against a column's range (its zone maps)."""
        try:
            cutoff = (as_of or self.as_of) - dt.timedelta(days=days)
        except OverflowError:  # before the year 1: every date is younger
            return exp.true()
        return exp.GT(this=column, expression=date_literal(cutoff))

    def _record_condition(self, key: str) -> exp.Expr | None:
        node = self.loaded.condition(key)
        if node is None:
            return None
        # Parenthesised so that no precedence of the surrounding filter can split it.
        # sc_records carries one typed column per catalog field (see the module docstring).
        return exp.Paren(this=lower(node, lambda n: _col(n, "r")))

    def _consent_filter(self, record_type: str) -> exp.Expr | None:
        consent = self.policy.consent
        category = self._catalog.record_types[record_type].category
        if category not in consent.categories:
            return None
        if consent.mandatory_from is not None and self.as_of >= consent.mandatory_from:
            return None
        return exp.EQ(this=_col(f"consent_{category}", "s"), expression=exp.true())

    def _kind_filter(self, table: str = "s") -> exp.Expr | None:
        if self.policy.kind == "all":
            return None
        return exp.EQ(this=_col("kind", table), expression=_str(self.policy.kind))

    def _affected_filter(self, only_affected: bool) -> exp.Expr | None:
        if not only_affected:
            return None
        return exp.In(
            this=_col("subject_id", "r"), query=exp.Subquery(this=exp.select("subject_id").from_("sc_affected"))
        )

    def _records_from(self, record_type: str, professions: list[str] | None = None) -> exp.Select:
        """Records, joined with their subjects only when a filter needs the subject (sector, consent, kind)."""
        query = exp.select().from_(exp.alias_(exp.to_table(self._input()), "r", table=True, copy=False), copy=False)
        if professions or self._consent_filter(record_type) is not None or self._kind_filter() is not None:
            query = query.join(
                exp.alias_(exp.to_table("sc_subjects"), "s", table=True, copy=False),
                on=exp.EQ(this=_col("subject_id", "r"), expression=_col("subject_id", "s")),
                copy=False,
            )
        return query

    # -- stage 1: rule points ----------------------------------------------------------------------------
    def _decayed(self, rule: Rule, event_date: exp.Expr) -> exp.Expr:
        """A record's (or a period's) points at the run's date, in micro-points: an integer (see ``MICRO``)."""
        if rule.decay is None:
            return _num(micro(rule.points))
        self.dialect.require("decay", f"rule {rule.id}")
        age = exp.Cast(this=self._age_days(event_date), to=exp.DataType.build("DOUBLE"))
        exponent = exp.Div(
            this=exp.Neg(this=exp.Paren(this=age)),
            expression=_num(float(rule.decay.half_life_days)),
            typed=False,
            safe=False,
        )
        return to_micro(exp.Mul(this=_num(rule.points), expression=exp.Pow(this=_num(2.0), expression=exponent)))

    def _rule_filter(self, rule: Rule, only_affected: bool) -> exp.Expr:
        event = _col("event_date", "r")
        return _and(
            self._match(rule.record_type, f"rule:{rule.id}"),
            exp.LTE(this=event, expression=date_literal(self.as_of)),
            self._younger_than(event.copy(), rule.expires_after_days) if rule.expires_after_days else None,
            self._younger_than(event.copy(), rule.window_days) if rule.window_days else None,
            exp.In(this=_col("profession", "s"), expressions=[_str(p) for p in rule.professions])
            if rule.professions
            else None,
            self._consent_filter(rule.record_type),
            self._kind_filter(),
            self._affected_filter(only_affected),
        )

    def rule_points_select(self, rule: Rule, *, only_affected: bool = False) -> exp.Select:
        """Per subject: the capped points of one rule, its hit count and last event date."""
        where = self._rule_filter(rule, only_affected)
        if rule.per == "occurrence":
            source: exp.Expr = (
                self._records_from(rule.record_type, rule.professions)
                .select(
                    exp.alias_(_col("subject_id", "r"), "subject_id", copy=False),
                    exp.alias_(_col("event_date", "r"), "event_date", copy=False),
                    copy=False,
                )
                .where(where, copy=False)
            )
        else:
            # One hit per calendar period with at least one matching record, dated by its latest record.
            period = _period(rule.per, _col("event_date", "r"))
            source = (
                self._records_from(rule.record_type, rule.professions)
                .select(
                    exp.alias_(_col("subject_id", "r"), "subject_id", copy=False),
                    exp.alias_(exp.Max(this=_col("event_date", "r")), "event_date", copy=False),
                    copy=False,
                )
                .where(where, copy=False)
                .group_by(_col("subject_id", "r"), period, copy=False)
            )
        raw = from_micro(exp.Sum(this=self._decayed(rule, _col("event_date", "h"))))
        capped = _clamp(raw, -rule.cap, rule.cap) if rule.cap is not None else raw
        return (
            exp.select(
                _col("subject_id", "h"),
                exp.alias_(_str(rule.id), "rule_id", copy=False),
                exp.alias_(_str(rule.dimension), "dimension", copy=False),
                exp.alias_(exp.Cast(this=capped, to=exp.DataType.build("DOUBLE")), "points", copy=False),
                exp.alias_(exp.Count(this=exp.Star()), "hits", copy=False),
                exp.alias_(exp.Max(this=_col("event_date", "h")), "last_event", copy=False),
                copy=False,
            )
            .from_(exp.Subquery(this=source, alias=exp.TableAlias(this=exp.to_identifier("h"))), copy=False)
            .group_by(_col("subject_id", "h"), copy=False)
        )

    def rule_points(self, *, only_affected: bool = False) -> exp.Query:
        return _union_all([self.rule_points_select(r, only_affected=only_affected) for r in self.policy.rules])

    # -- stage 2: list entries met by a record -----------------------------------------------------------
    def _list_record_select(self, list_id: str, crit: ListCriterion, only_affected: bool) -> exp.Select:
        assert crit.record is not None
        rec = crit.record
        event = _col("event_date", "r")
        where = _and(
            self._match(rec.record_type, f"list:{list_id}.{crit.id}"),
            exp.LTE(this=event, expression=date_literal(self.as_of)),
            self._younger_than(event.copy(), rec.within_days) if rec.within_days else None,
            self._consent_filter(rec.record_type),
            self._kind_filter(),
            self._affected_filter(only_affected),
        )
        # The entry's record is the subject's record first stored (first_key: the key of its first version, which
        # its corrections keep) of those that meet the criterion: the cause its listing was noticed for stays the
        # cause while it holds. The newest record was named until 2026-12-06, so a second judgment ended the listing
        # of the first (delisted, or resolved in its notice period) and noticed one of its own, with a grace period
        # of its own: a defaulter left the blacklist. The oldest by event date, then by version key, was named
        # after that, and the same happened when the named judgment was corrected (its new version's key is larger
        # than a second judgment's of the same day) or a judgment of an earlier day was reported late.
        first_record = exp.ArgMin(this=_col("record_key", "r"), expression=_col("first_key", "r"))
        return (
            self._records_from(rec.record_type)
            .select(
                exp.alias_(_col("subject_id", "r"), "subject_id", copy=False),
                exp.alias_(_str(list_id), "list_id", copy=False),
                exp.alias_(_str(crit.id), "criterion_id", copy=False),
                exp.alias_(first_record, "record_key", copy=False),
                copy=False,
            )
            .where(where, copy=False)
            .group_by(_col("subject_id", "r"), copy=False)
        )

    def list_records(self, *, only_affected: bool = False) -> exp.Query:
        selects = [
            self._list_record_select(lst.id, c, only_affected)
            for lst in self.policy.lists
            for c in lst.criteria
            if c.record is not None
        ]
        if not selects:
            return self._empty_list_entries()
        return _union_all(selects)

    def _empty_list_entries(self) -> exp.Select:
        """No list entries of records (a policy with no record criterion), typed as the entries of records are: the
        subject and its record as the input's columns (the registry's integer keys; a generated population's
        identifiers), not text. Typed VARCHAR until 2026-12-06, they could not be joined or unioned with another
        policy's entries (the impact comparison failed: "Cannot mix values of type BIGINT and VARCHAR")."""
        text = exp.DataType.build("VARCHAR")
        return (
            exp.select(
                exp.alias_(_col("subject_id", "r"), "subject_id"),
                exp.alias_(exp.Cast(this=exp.Null(), to=text), "list_id"),
                exp.alias_(exp.Cast(this=exp.Null(), to=text), "criterion_id"),
                exp.alias_(_col("record_key", "r"), "record_key"),
            )
            .from_(exp.alias_(exp.to_table(self._input()), "r", table=True))
            .where(exp.false())
        )

    # -- stage 3: local scores ---------------------------------------------------------------------------
    def dimension_columns(self) -> list[str]:
        return [f"d_{d.id}" for d in self.policy.dimensions]

    def local(self, only: str | None = None, subjects: exp.Expr | None = None) -> exp.Select:
        """Per subject: dimension points, total, score, tier; with ``only`` (a relation of ``subject_id``), of those
        subjects alone (a delta run computes its own subjects only). ``subjects`` replaces ``sc_subjects`` as the
        subjects scored: a relation with its columns this stage reads (subject_id, kind, profession, birth_date), such
        as a delta run's own subjects, which carry them, so that it reads those and not every subject."""
        p = self.policy
        # The rule points are summed per subject first (grouped by its integer key alone), then joined to every
        # subject: grouping the join by the subject's kind, profession and birth date too hashed texts and dates
        # for every rule point.
        # A dimension's micro-points are added as doubles holding integers: while a partial sum stays below 2^53
        # micro-points (9.0e9 points; a rule's points, stored as a DOUBLE, are whole micro-points only below that
        # already) it is exact, in any order, and the result is the integer sum's. Only a dimension summing to more
        # than nine billion points could round differently. DuckDB adds BIGINTs into a 128-bit sum, which was
        # about a tenth of this stage's CPU (city: 1.49 against 1.33 CPU s).
        sums: list[exp.Expr] = [
            exp.alias_(
                from_micro(
                    exp.Sum(
                        this=exp.If(
                            this=exp.EQ(this=_col("dimension", "r"), expression=_str(d.id)),
                            true=exp.Cast(this=to_micro(_col("points", "r")), to=exp.DataType.build("DOUBLE")),
                        )
                    )
                ),
                f"d_{d.id}",
            )
            for d in p.dimensions
        ]
        sums.append(
            exp.alias_(
                exp.Max(
                    this=exp.If(
                        this=exp.LT(this=_col("points", "r"), expression=_num(0)),
                        true=_col("last_event", "r"),
                    )
                ),
                "last_negative",
            )
        )
        per_subject = (
            exp.select(_col("subject_id", "r"), *sums)
            .from_(exp.alias_(exp.to_table("sc_rule_points"), "r", table=True))
            .group_by(_col("subject_id", "r"))
        )
        dim_sums = [
            exp.alias_(
                _clamp(exp.Coalesce(this=_col(f"d_{d.id}", "p"), expressions=[_num(0.0)]), d.min, d.max), f"d_{d.id}"
            )
            for d in p.dimensions
        ]
        last_negative = _col("last_negative", "p")
        age = self._age(_col("birth_date", "s"))
        inner = (
            exp.select(
                _col("subject_id", "s"),
                _col("kind", "s"),
                _col("profession", "s"),
                exp.alias_(age, "age"),
                *dim_sums,
                exp.alias_(last_negative, "last_negative"),
            )
            .from_(exp.alias_(subjects if subjects is not None else exp.to_table("sc_subjects"), "s", table=True))
            .join(
                exp.Subquery(this=per_subject, alias=exp.TableAlias(this=exp.to_identifier("p"))),
                on=exp.EQ(this=_col("subject_id", "p"), expression=_col("subject_id", "s")),
                join_type="left",
            )
        )
        if self._kind_filter() is not None:
            inner = inner.where(self._kind_filter())
        if only is not None:
            inner = inner.where(
                exp.In(this=_col("subject_id", "s"), query=exp.Subquery(this=exp.select("subject_id").from_(only)))
            )
        # The total is summed in micro-points too (doubles holding integers, exact below 2^53 micro-points), then
        # divided once: base + dimensions added as doubles of points rounded their sum (100 - 4.948 + 3.448 came to
        # 98.49999999999999, scored 98 where the exact 98.5 rounds half up to 99).
        grand: exp.Expr = _num(float(p.scale.base * MICRO))
        for name in self.dimension_columns():
            grand = exp.Add(
                this=grand,
                expression=exp.Cast(this=to_micro(_within_micro(_col(name, "l"))), to=exp.DataType.build("DOUBLE")),
            )
        total = exp.Div(this=exp.Paren(this=grand), expression=_num(MICRO), typed=False, safe=False)
        half_up = exp.Add(this=exp.Paren(this=grand.copy()), expression=_num(MICRO // 2))
        rounded = exp.Floor(this=exp.Div(this=exp.Paren(this=half_up), expression=_num(MICRO), typed=False, safe=False))
        score = exp.Cast(this=_clamp(rounded, p.scale.min, p.scale.max), to=exp.DataType.build("INTEGER"))
        tiers = sorted(p.tiers, key=lambda t: -t.min)
        ranks = self.tier_rank()
        tier = exp.Case(
            ifs=[exp.If(this=exp.GTE(this=_col("score"), expression=_num(t.min)), true=_str(t.id)) for t in tiers]
        )
        tier_rank = exp.Case(
            ifs=[
                exp.If(this=exp.GTE(this=_col("score"), expression=_num(t.min)), true=_num(ranks[t.id])) for t in tiers
            ]
        )
        scored = exp.select(
            exp.Star(),
            exp.alias_(exp.Cast(this=total, to=exp.DataType.build("DOUBLE")), "total"),
            exp.alias_(score, "score"),
            exp.alias_(self._age_days(_col("last_negative", "l")), "last_negative_days"),
        ).from_(exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier("l"))))
        return exp.select(exp.Star(), exp.alias_(tier, "tier"), exp.alias_(tier_rank, "tier_rank")).from_(
            exp.Subquery(this=scored, alias=exp.TableAlias(this=exp.to_identifier("t")))
        )

    # -- stage 4: rank and percentile --------------------------------------------------------------------
    def ranked(self) -> exp.Select:
        """Rank and percentile from a histogram of scores, not a sort of subjects.

        Scores are bounded integers, so per kind: rank = 1 + how many score higher (ties share a rank, as
        RANK() does), percentile = 100 × how many score at or below ÷ how many (CUME_DIST), rounded to 2 places.
        """
        return cast(exp.Select, sqlglot.parse_one(_RANKED_SQL, read="duckdb"))

    def ranked_from_histogram(self) -> exp.Select:
        """Rank and percentile of the subjects of ``sc_local`` within a given histogram, ``sc_histogram`` (kind,
        score, n): the whole population's, when only some subjects are rescored (live decisions)."""
        query = self.ranked()
        counts = next(s for s in query.find_all(exp.Subquery) if s.alias == "c")
        counts.replace(exp.alias_(exp.to_table("sc_histogram"), "c", table=True))
        return query

    # -- stage 5: list entries met by the score, joined with the record entries --------------------------
    def _fact(self, name: str, table: str | None = None) -> exp.Expr:
        p = self.policy
        if name == "tier":
            return _col("tier_rank", table)
        if name in {d.id for d in p.dimensions}:
            return _col(f"d_{name}", table)
        if name in {lst.id for lst in p.lists}:
            return _col(f"l_{name}", table)
        if name in _WHOLE_FACTS:
            # 32-bit in a run (Spark's DATEDIFF too): widened, a calculation on them computes in 64 bits, as on an
            # integer field, within the bound the validator checks (expr.whole_span). `score * 10000000` overflowed.
            return exp.Cast(this=_col(name, table), to=exp.DataType.build("BIGINT"))
        return _col(name, table)

    def _score_entries(self, only_list: str | None = None, only: list[str] | None = None) -> list[exp.Select]:
        """Entries met by the score (criteria with ``when``), of every list or of ``only_list`` (its criteria
        ``only``, when given)."""
        selects: list[exp.Select] = []
        for lst in self.policy.lists:
            if only_list is not None and lst.id != only_list:
                continue
            for c in lst.criteria:
                node = self.loaded.condition(f"list:{lst.id}.{c.id}")
                if c.when is None or node is None or (only is not None and c.id not in only):
                    continue
                cond = lower(node, self._fact, tier_rank=self.tier_rank())
                selects.append(
                    exp.select(
                        _col("subject_id"),
                        exp.alias_(_str(lst.id), "list_id"),
                        exp.alias_(_str(c.id), "criterion_id"),
                        exp.alias_(exp.Cast(this=exp.Null(), to=exp.DataType.build("BIGINT")), "record_key"),
                    )
                    .from_("sc_ranked")
                    .where(cond)
                )
        return selects

    def list_entries(self) -> exp.Query:
        selects: list[exp.Select] = [
            exp.select("subject_id", "list_id", "criterion_id", "record_key").from_("sc_list_records"),
            *self._score_entries(),
        ]
        for lst in self.policy.lists:
            for c in lst.criteria:
                if c.via is not None:
                    selects.append(self._relation_entries(lst.id, c))
        return _union_all(selects)

    # -- relations: a person's entries through an organisation on a list --------------------------------
    def has_relations(self) -> bool:
        return any(c.via is not None for lst in self.policy.lists for c in lst.criteria)

    def relation_records(self) -> exp.Select:
        """The role records among ``sc_records`` (``sc_role_records`` for an engine that reads exported records)."""
        return (
            exp.select(exp.Star())
            .from_(exp.alias_(exp.to_table("sc_records"), "r", table=True))
            .where(exp.EQ(this=_col("record_type", "r"), expression=_str(RELATION_RECORD_TYPE)))
        )

    def _held_on(self, day: exp.Expr) -> exp.Expr:
        """The role record ``o`` is held on ``day``: from its start date, until (not on) its end date."""
        return _and(
            exp.LTE(this=_col("start_date", "o"), expression=day),
            exp.Paren(
                this=exp.Or(
                    this=exp.Is(this=_col("end_date", "o"), expression=exp.Null()),
                    expression=exp.GT(this=_col("end_date", "o"), expression=day.copy()),
                )
            ),
        )

    def _relation_entries(self, list_id: str, crit: ListCriterion) -> exp.Select:
        """Persons holding a named role (in ``sc_role_records``) in an organisation on the relation's list by that
        list's own criteria in this run; the entry's record is the role record (what a dispute or a correction of
        the registration acts on). One step only: entries through relations are not followed again."""
        via = crit.via
        assert via is not None
        target = self.policy.list_spec(via.list)
        own = [c.id for c in target.criteria if c.via is None and (via.criteria is None or c.id in via.criteria)]
        by_record = _and(
            exp.EQ(this=_col("list_id"), expression=_str(via.list)),
            exp.In(this=_col("criterion_id"), expressions=[_str(c) for c in own]),
        )
        org_entries = _union_all(
            [
                exp.select("subject_id", "list_id", "criterion_id", "record_key")
                .from_("sc_list_records")
                .where(by_record),
                *self._score_entries(via.list, own),
            ]
        )
        query = (
            exp.select(
                exp.alias_(_col("subject_id", "o"), "subject_id"),
                exp.alias_(_str(list_id), "list_id"),
                exp.alias_(_str(crit.id), "criterion_id"),
                exp.alias_(exp.Max(this=_col("record_key", "o")), "record_key"),
            )
            .from_(exp.alias_(exp.to_table("sc_role_records"), "o", table=True))
            # the person must be scored in this run (a live pass rescores some subjects only)
            .join(
                exp.alias_(exp.to_table("sc_subjects"), "p", table=True),
                on=exp.EQ(this=_col("subject_id", "p"), expression=_col("subject_id", "o")),
            )
            .join(
                exp.alias_(exp.to_table("sc_subjects"), "g", table=True),
                on=exp.EQ(this=_col("sid", "g"), expression=_col("org_id", "o")),
            )
            .join(
                exp.Subquery(this=org_entries, alias=exp.TableAlias(this=exp.to_identifier("e"))),
                on=exp.EQ(this=_col("subject_id", "e"), expression=_col("subject_id", "g")),
            )
        )
        if via.when == "held_at_cause":
            # the cause's date: the record that put the organisation on the list (the run's date for the score)
            cause = (
                exp.select(_col("record_key", "c"), exp.alias_(exp.Max(this=_col("event_date", "c")), "event_date"))
                .from_(exp.alias_(exp.to_table(self._input()), "c", table=True))
                .where(
                    exp.In(
                        this=_col("record_key", "c"),
                        query=exp.Subquery(this=exp.select("record_key").from_("sc_list_records").where(by_record)),
                    )
                )
                .group_by(_col("record_key", "c"))
            )
            query = query.join(
                exp.Subquery(this=cause, alias=exp.TableAlias(this=exp.to_identifier("k"))),
                on=exp.EQ(this=_col("record_key", "k"), expression=_col("record_key", "e")),
                join_type="left",
            )
            day: exp.Expr = exp.Coalesce(this=_col("event_date", "k"), expressions=[date_literal(self.as_of)])
        else:
            day = date_literal(self.as_of)
        return query.where(
            _and(
                exp.In(this=_col("role", "o"), expressions=[_str(r) for r in via.roles]),
                self._held_on(day),
                exp.EQ(this=_col("kind", "g"), expression=_str("org")),
                exp.EQ(this=_col("kind", "p"), expression=_str("person")),
                self._kind_filter("p"),
            )
        ).group_by(_col("subject_id", "o"))

    # -- stage 6: list flags and granted services --------------------------------------------------------
    def results(self) -> exp.Select:
        """Per subject: one flag per list and the bitmask of granted services.

        The flags come from one pass over ``sc_list_entries`` (few rows: those on a list), grouped per subject and
        left-joined to every subject; an EXISTS per list and subject was planned as a join per list over every
        subject (most of the stage's time at a million subjects)."""
        p = self.policy
        inner = exp.select(exp.Star()).from_(exp.alias_(exp.to_table("sc_ranked"), "k", table=True))
        if p.lists:
            per_list = [
                exp.alias_(
                    exp.Max(
                        this=exp.Case(
                            ifs=[exp.If(this=exp.EQ(this=_col("list_id"), expression=_str(lst.id)), true=_num(1))],
                            default=_num(0),
                        )
                    ),
                    f"n_{lst.id}",
                )
                for lst in p.lists
            ]
            on_lists = exp.select(_col("subject_id"), *per_list).from_("sc_list_entries").group_by(_col("subject_id"))
            inner = (
                exp.select(
                    *[exp.Column(this=exp.Star(), table=exp.to_identifier("k"))],
                    *[
                        exp.alias_(
                            exp.Coalesce(
                                this=exp.EQ(this=_col(f"n_{lst.id}", "e"), expression=_num(1)),
                                expressions=[exp.false()],
                            ),
                            f"l_{lst.id}",
                        )
                        for lst in p.lists
                    ],
                )
                .from_(exp.alias_(exp.to_table("sc_ranked"), "k", table=True))
                .join(
                    exp.Subquery(this=on_lists, alias=exp.TableAlias(this=exp.to_identifier("e"))),
                    on=exp.EQ(this=_col("subject_id", "e"), expression=_col("subject_id", "k")),
                    join_type="left",
                )
            )
        return exp.select(exp.Star(), exp.alias_(self.grants(), "grants")).from_(
            exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier("f")))
        )

    def grants(self) -> exp.Expr:
        """The bitmask of the services granted (bit i: the policy's i-th service), over a subject's facts as columns
        (d_<dimension>, l_<list>, tier_rank, score, total, rank, percentile, age, kind, profession,
        last_negative_days)."""
        grants: exp.Expr = _num(0)
        for i, s in enumerate(self.policy.services):
            node = self.loaded.condition(f"service:{s.id}")
            assert node is not None
            cond = lower(node, self._fact, tier_rank=self.tier_rank())
            bit = exp.Case(ifs=[exp.If(this=cond, true=_num(1 << i))], default=_num(0))
            grants = exp.Add(this=grants, expression=bit)
        return exp.Cast(this=grants, to=exp.DataType.build("BIGINT"))

    def result_facts(self, lists: exp.Expr | None = None) -> list[exp.Expr]:
        """The facts ``grants`` reads, as columns computed from a row of run_results (dims, lists, last_negative and
        the others by name); ``lists`` replaces the row's lists (those a decision sees)."""
        on = lists if lists is not None else _col("lists")
        dims = [
            exp.alias_(exp.Anonymous(this="list_extract", expressions=[_col("dims"), _num(i + 1)]), name)
            for i, name in enumerate(self.dimension_columns())
        ]
        flags = [
            exp.alias_(exp.ArrayContains(this=on.copy(), expression=_str(lst.id)), f"l_{lst.id}")
            for lst in self.policy.lists
        ]
        named = [_col(c) for c in ("tier_rank", "score", "total", "rank", "percentile", "age", "kind", "profession")]
        age = exp.alias_(self._age_days(_col("last_negative")), "last_negative_days")
        return [*named, age, *dims, *flags]

    # -- stage 7: principal reasons ----------------------------------------------------------------------
    def reasons(self) -> exp.Select:
        position = exp.Window(
            this=exp.RowNumber(),
            partition_by=[_col("subject_id", "p")],
            order=exp.Order(
                expressions=[
                    exp.Ordered(this=exp.Abs(this=_col("points", "p")), desc=True),
                    exp.Ordered(this=_col("rule_id", "p"), desc=False),
                ]
            ),
        )
        ranked = (
            exp.select(
                _col("subject_id", "p"),
                _col("rule_id", "p"),
                _col("points", "p"),
                exp.alias_(position, "position"),
            )
            .from_(exp.alias_(exp.to_table("sc_rule_points"), "p", table=True))
            .where(
                _and(
                    exp.NEQ(this=_col("points", "p"), expression=_num(0)),
                    exp.In(
                        this=_col("subject_id", "p"),
                        query=exp.Subquery(this=exp.select("subject_id").from_("sc_local")),
                    ),
                )
            )
        )
        return (
            exp.select("subject_id", "rule_id", "points", "position")
            .from_(exp.Subquery(this=ranked, alias=exp.TableAlias(this=exp.to_identifier("q"))))
            .where(exp.LTE(this=_col("position"), expression=_num(MAX_REASONS)))
        )

    # -- incremental: which subjects a later as-of date changes ------------------------------------------
    def time_affected(self, base_as_of: dt.date) -> exp.Query | None:
        """Subjects whose points or list entries can differ between ``base_as_of`` and this plan's date.

        A superset is harmless (those subjects are simply rescored); a missing subject is a bug, which the
        incremental-equals-full tests exist to catch.
        """
        if base_as_of == self.as_of:
            return None
        lo, hi = sorted((base_as_of, self.as_of))
        event = _col("event_date", "r")

        def crosses(days: int) -> exp.Expr:
            # younger than ``days`` at the earlier date, not at the later one
            return _and(
                self._younger_than(event.copy(), days, lo),
                exp.Not(this=exp.Paren(this=self._younger_than(event.copy(), days, hi))),
            )

        entered = _and(
            exp.GT(this=event.copy(), expression=date_literal(lo)),
            exp.LTE(this=event.copy(), expression=date_literal(hi)),
        )
        per_type: list[exp.Expr] = []
        consent = self.policy.consent
        mandatory_crossed = consent.mandatory_from is not None and lo < consent.mandatory_from <= hi
        items: list[tuple[str, str, list[int], bool]] = [
            (
                r.record_type,
                f"rule:{r.id}",
                [d for d in (r.window_days, r.expires_after_days) if d],
                r.decay is not None,
            )
            for r in self.policy.rules
        ]
        items += [
            (
                c.record.record_type,
                f"list:{lst.id}.{c.id}",
                [c.record.within_days] if c.record.within_days else [],
                False,
            )
            for lst in self.policy.lists
            for c in lst.criteria
            if c.record is not None
        ]
        for record_type, condition_key, horizons, decays in items:
            category = self._catalog.record_types[record_type].category
            if decays or (mandatory_crossed and category in consent.categories):
                change: exp.Expr = exp.LTE(this=event.copy(), expression=date_literal(hi))
            else:
                change = entered.copy()
                for days in horizons:
                    change = exp.Or(this=change, expression=crosses(days))
            # From records, a record of the type is enough (a superset); from the state, the item is exact.
            match = (
                self._match(record_type, condition_key)
                if self.source == "state"
                else exp.EQ(this=_col("record_type", "r"), expression=_str(record_type))
            )
            per_type.append(exp.Paren(this=_and(match, exp.Paren(this=change))))

        def subjects(cond: exp.Expr) -> exp.Select:
            return (
                exp.select(_col("subject_id", "r"))
                .from_(exp.alias_(exp.to_table(self._input()), "r", table=True))
                .where(cond)
            )

        if self.source == "state":
            # One scan per item, each filtered on its item alone: the state is built in item order, so each reads
            # only its item's row groups (a decayed rule's, every row of it) instead of every row of the state
            # against the whole condition (at city 0.06 against 0.6 CPU s, a day after the build). Folds append
            # rows of every item at the tail, which each scan reads again until the state is built anew.
            parts = _union_all([subjects(c) for c in per_type])
            return exp.select(_col("subject_id", "u")).distinct().from_(exp.alias_(exp.Subquery(this=parts), "u"))
        cond = per_type[0]
        for c in per_type[1:]:
            cond = exp.Or(this=cond, expression=c)
        return subjects(cond).distinct()

    # -- one subject's record-level contributions, for reports -------------------------------------------
    def record_contributions(self) -> exp.Query:
        """Every (record, rule) hit with its points before rule caps, for subjects in ``sc_affected``.

        For per-period rules only the latest record of each period carries the points.
        """
        if self.source != "records":
            raise ValueError("record contributions read the records: use a plan with source='records'")
        selects = []
        for rule in self.policy.rules:
            base = self._records_from(rule.record_type, rule.professions).where(self._rule_filter(rule, True))
            points = self._decayed(rule, _col("event_date", "r"))
            if rule.per != "occurrence":
                period = _period(rule.per, _col("event_date", "r"))
                first = exp.Window(
                    this=exp.RowNumber(),
                    partition_by=[_col("subject_id", "r"), period],
                    order=exp.Order(
                        expressions=[
                            exp.Ordered(this=_col("event_date", "r"), desc=True),
                            exp.Ordered(this=_col("record_key", "r"), desc=True),
                        ]
                    ),
                )
                latest = exp.EQ(this=first, expression=_num(1))
                points = exp.Case(ifs=[exp.If(this=latest, true=points)], default=_num(0))
            points = from_micro(points)
            selects.append(
                base.select(
                    _col("record_key", "r"),
                    exp.alias_(_str(rule.id), "rule_id"),
                    exp.alias_(exp.Cast(this=points, to=exp.DataType.build("DOUBLE")), "points"),
                )
            )
        return _union_all(selects)

    # -- all stages --------------------------------------------------------------------------------------
    def stages(self, *, only_affected: bool = False) -> list[tuple[str, exp.Query]]:
        """The stages in order; from records, a policy with relations first takes the role records
        (``sc_role_records``); from the state, the caller provides them (registry/scoring/inputs.py)."""
        roles: list[tuple[str, exp.Query]] = []
        if self.source == "records" and self.has_relations():
            roles.append(("sc_role_records", self.relation_records()))
        return [
            *roles,
            ("sc_rule_points", self.rule_points(only_affected=only_affected)),
            ("sc_list_records", self.list_records(only_affected=only_affected)),
            ("sc_local", self.local()),
            ("sc_ranked", self.ranked()),
            ("sc_list_entries", self.list_entries()),
            ("sc_results", self.results()),
            ("sc_reasons", self.reasons()),
        ]
