"""The compiled SQL of a condition and the Python evaluator agree, operator by operator.

Scoring runs a condition as the SQL the compiler builds (``compiler.lower``); decisions made from memory and
listings run the same condition through ``policy.expr.evaluate``. Both must give the same answer, null
included, for every condition and every set of facts. Random well-typed conditions are drawn over a small
typed environment (built with ``record_env`` from catalog field specs, plus the subject fact ``tier``), with
random facts including null, and each is

* evaluated with ``expr.evaluate``;
* lowered, printed for DuckDB and run in an in-memory DuckDB over the facts, bound as parameters into a
  typed row (columns typed as the store types them: ``integer`` BIGINT, ``number`` DOUBLE, ``string``
  VARCHAR, ``boolean`` BOOLEAN, ``date`` DATE, and ``tier`` as the INTEGER rank column ``tier_rank``);
* printed for Spark, which must succeed and read back; and, in one test marked spark and slow, a fixed set
  of 50 generated conditions runs on a real Spark session.

Operators and constructs covered (the whole grammar of docs/policy-language.md):

* comparisons ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` on numbers (integer and decimal fields, integer
  and decimal literals), dates (``date('YYYY-MM-DD')`` and a date field), and tiers (``tier`` against
  ``tier`` or a tier name, on either side); ``==`` and ``!=`` on texts (a field with allowed values, a
  free-text field, literals with quotes, backslashes and non-ASCII) and booleans (fields, ``true``,
  ``false``, and comparisons of conditions);
* ``in [...]`` and ``not in [...]`` with numbers (negative and decimal literals), texts, dates, booleans
  and tier names;
* ``is null`` and ``is not null`` on every type, on the ``null`` literal and on arithmetic;
* ``and``, ``or``, ``not`` with three-valued (null) logic;
* arithmetic ``+``, ``-``, ``*``, ``/`` (division by zero is null) and unary ``-``;
* literals: whole numbers, decimals, texts in single and double quotes, ``true``, ``false``, ``null``,
  dates; and null facts for every name.

A calculation of whole-number literals alone (``100000 * 100000``) is computed once, exactly, and lowered as one
number (``expr.whole_constant``): the engines' whole-number literals are 32-bit, and their product failed the query
where the evaluator computes exactly. Whole-number literals are kept small in the random conditions.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import operator
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import duckdb
import pytest
import sqlglot
import sqlglot.expressions as exp
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from socialcredit.catalog import FieldSpec
from socialcredit.compiler.dialects import DuckDBDialect, SparkDialect
from socialcredit.compiler.lower import lower
from socialcredit.errors import ExpressionError
from socialcredit.policy import expr, record_env
from socialcredit.policy.load import SUBJECT_FACTS

# -- the environment -------------------------------------------------------------------------------------

STATUSES = ("paid", "late", "evaded")
TIERS = ("A", "B", "C")  # best first, as Policy.tier_ids() gives them
TIER_RANK = {t: len(TIERS) - i for i, t in enumerate(TIERS)}

FIELDS = {
    "amount": FieldSpec(type="number"),
    # bounded as the random facts are: a calculation of it is bounded from these (expr.whole_span)
    "days_late": FieldSpec(type="integer", min=-10_000, max=10_000),
    "status": FieldSpec(type="string", allowed=list(STATUSES)),
    "employer": FieldSpec(type="string"),
    "defaulter": FieldSpec(type="boolean"),
    "verified": FieldSpec(type="boolean"),
}
ENV: dict[str, expr.Var] = {**record_env(FIELDS), "tier": SUBJECT_FACTS["tier"]}

# Each name's column: its SQL name and type, as the store and the compiler's resolver give them.
COLUMNS: dict[str, tuple[str, str]] = {
    "amount": ("amount", "DOUBLE"),
    "days_late": ("days_late", "BIGINT"),
    "status": ("status", "VARCHAR"),
    "employer": ("employer", "VARCHAR"),
    "defaulter": ("defaulter", "BOOLEAN"),
    "verified": ("verified", "BOOLEAN"),
    "event_date": ("event_date", "DATE"),
    "tier": ("tier_rank", "INTEGER"),
}
assert set(COLUMNS) == set(ENV)


def resolve(name: str) -> exp.Expr:
    return exp.column(COLUMNS[name][0], table="t")


# -- random well-typed conditions ------------------------------------------------------------------------
#
# Conditions are drawn as source text with every compound part in parentheses (precedence is tested in
# test_policy_validation.py; here the subject is what each operator means), then parsed and checked.

INT_LITERALS = ["0", "1", "2", "3", "7", "10", "100"]
# Decimals whose sums and products are not exact in binary: where decimal and binary arithmetic differ.
DECIMAL_LITERALS = ["0.1", "0.2", "0.3", "0.5", "1.1", "2.25", "1000.5"]
DATES = [dt.date(2020, 1, 1), dt.date(2024, 2, 29), dt.date(2025, 12, 31)]
TEXTS = ["", "Acme", "acme", "it's", 'say "hi"', "a\\b", "\\", "é", "e\u0301", "中文", " Acme", "%_"]


def quoted(value: str, quote: str = "'") -> str:
    """A text literal of the condition language: backslash escapes the backslash and the quote."""
    return quote + value.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote


def paren(text: str) -> str:
    return f"({text})"


number_literal = st.sampled_from(INT_LITERALS + DECIMAL_LITERALS)
text_literal = st.builds(quoted, st.sampled_from(TEXTS), st.sampled_from(["'", '"']))
date_literal = st.sampled_from(DATES).map(lambda d: f"date('{d.isoformat()}')")
tier_literal = st.sampled_from(TIERS).map(quoted)


def numbers(depth: int) -> st.SearchStrategy[str]:
    leaves = st.one_of(st.sampled_from(["amount", "days_late"]), number_literal)
    if depth == 0:
        return leaves
    sub = numbers(depth - 1)
    return st.one_of(
        leaves,
        sub.map(lambda a: paren(f"-{paren(a)}")),
        st.builds(lambda a, op, b: paren(f"{a} {op} {b}"), sub, st.sampled_from(["+", "-", "*", "/"]), sub),
    )


def constants(depth: int) -> st.SearchStrategy[str]:
    if depth == 0:
        return number_literal
    sub = constants(depth - 1)
    return st.one_of(
        number_literal,
        st.builds(lambda a, op, b: paren(f"{a} {op} {b}"), sub, st.sampled_from(["+", "-", "*", "/"]), sub),
    )


def against_exact_decimal(a: str, op: str, b: str, cmp: str) -> str:
    """``a op b`` compared with its exact decimal value: ``((0.1 + 0.2) == 0.3)``, true in decimals only."""
    value = {"+": operator.add, "-": operator.sub, "*": operator.mul}[op](Decimal(a), Decimal(b))
    text = format(value.normalize(), "f")
    exact = paren(f"-{text[1:]}") if text.startswith("-") else text
    return paren(f"({a} {op} {b}) {cmp} {exact}")


def list_of(items: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(items, min_size=1, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]")


def membership(operand: st.SearchStrategy[str], items: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda a, neg, xs: paren(f"{a} {'not in' if neg else 'in'} {xs}"), operand, st.booleans(), list_of(items)
    )


def compare(ops: list[str], left: st.SearchStrategy[str], right: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda a, op, b: paren(f"{a} {op} {b}"), left, st.sampled_from(ops), right)


ORDER = ["==", "!=", "<", "<=", ">", ">="]
EQUAL = ["==", "!="]


def comparisons(depth: int, conds: st.SearchStrategy[str] | None) -> st.SearchStrategy[str]:
    num = numbers(depth)
    status = st.one_of(st.just("status"), st.sampled_from(STATUSES).map(quoted))
    employer = st.one_of(st.just("employer"), text_literal)
    date = st.one_of(st.just("event_date"), date_literal)
    tier = st.just("tier")
    boolean = st.sampled_from(["defaulter", "verified", "true", "false"])
    if conds is not None:
        boolean = st.one_of(boolean, conds)
    anything = st.one_of(num, status, employer, date, tier, tier_literal, boolean, st.just("null"))
    # A number literal in a list may be negative: the list grammar reads `-5` as one literal.
    list_number = st.one_of(number_literal, number_literal.map(lambda n: f"-{n}"))
    return st.one_of(
        compare(ORDER, num, num),
        compare(ORDER, num, num),
        # Arithmetic on literals alone, where exact decimal and binary arithmetic part ways: 0.1 + 0.2 == 0.3.
        compare(ORDER, constants(2), number_literal),
        st.builds(
            against_exact_decimal,
            st.sampled_from(DECIMAL_LITERALS),
            st.sampled_from(["+", "-", "*"]),
            st.sampled_from(DECIMAL_LITERALS),
            st.sampled_from(ORDER),
        ),
        compare(ORDER, date, date),
        compare(ORDER, tier, st.one_of(tier, tier_literal)),
        compare(ORDER, tier_literal, tier),
        compare(EQUAL, st.just("status"), status),
        compare(EQUAL, employer, employer),
        compare(EQUAL, boolean, boolean),
        membership(num, list_number),
        membership(st.just("status"), st.sampled_from(STATUSES).map(quoted)),
        membership(employer, text_literal),
        membership(date, date_literal),
        membership(boolean, st.sampled_from(["true", "false"])),
        membership(st.just("tier"), tier_literal),
        # Weighted: null handling is what the two sides most easily get wrong.
        *(
            st.builds(lambda a, neg: paren(f"{a} is {'not ' if neg else ''}null"), anything, st.booleans())
            for _ in "123"
        ),
    )


@functools.cache
def conditions(depth: int) -> st.SearchStrategy[str]:
    """A boolean condition: a leaf, or (when depth > 0) `not`, `and`, `or` or a comparison of conditions."""
    leaves = st.one_of(st.sampled_from(["defaulter", "verified", "true", "false"]), comparisons(2, None))
    if depth == 0:
        return leaves
    sub = conditions(depth - 1)
    compound = {
        "leaf": leaves,
        "not": sub.map(lambda a: paren(f"not {a}")),
        "and": st.tuples(sub, sub).map(lambda ab: paren(f"{ab[0]} and {ab[1]}")),
        "or": st.tuples(sub, sub).map(lambda ab: paren(f"{ab[0]} or {ab[1]}")),
        "compare": comparisons(2, sub),
        "null": st.tuples(sub, st.booleans()).map(lambda a: paren(f"{a[0]} is {'not ' if a[1] else ''}null")),
    }
    # Drawn by name first: a one_of would spread the leaves' and comparisons' many alternatives among its own.
    return st.sampled_from(["leaf", "leaf", "not", "and", "or", "compare", "null"]).flatmap(compound.__getitem__)


CONDITIONS = conditions(3)

# -- random facts ----------------------------------------------------------------------------------------

FACTS = st.fixed_dictionaries(
    {
        "amount": st.one_of(
            st.none(),
            st.sampled_from([0.0, -0.0, 0.1, 0.3, 0.5, 1.1, 2.25, 1000.5, 1100.0, -2.5]),
            st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
        ),
        "days_late": st.one_of(st.none(), st.integers(-3, 10), st.integers(-10_000, 10_000)),
        "status": st.one_of(st.none(), st.sampled_from(STATUSES)),
        "employer": st.one_of(st.none(), st.sampled_from(TEXTS), st.text(max_size=5).filter(lambda s: "\x00" not in s)),
        "defaulter": st.one_of(st.none(), st.booleans()),
        "verified": st.one_of(st.none(), st.booleans()),
        "event_date": st.one_of(
            st.none(), st.sampled_from(DATES), st.dates(dt.date(2019, 1, 1), dt.date(2026, 12, 31))
        ),
        "tier": st.one_of(st.none(), st.sampled_from(TIERS)),
    }
)


def row_params(facts: dict[str, Any]) -> list[Any]:
    """The facts as the columns hold them (the tier as its rank), in COLUMNS order."""
    return [TIER_RANK[v] if k == "tier" and v is not None else v for k, v in ((k, facts[k]) for k in COLUMNS)]


# -- running one condition both ways ---------------------------------------------------------------------


@dataclass(frozen=True)
class Compiled:
    text: str
    node: expr.Node
    tree: exp.Expr


def compile_condition(text: str) -> Compiled:
    node = expr.check(expr.parse(text), ENV, text=text, tiers=TIERS)
    assert node.type == "boolean"
    return Compiled(text, node, lower(node, resolve, tier_rank=TIER_RANK))


def python_answer(c: Compiled, facts: dict[str, Any]) -> Any:
    return expr.evaluate(c.node, facts, tier_rank=TIER_RANK)


TYPED_ROW = "SELECT " + ", ".join(f"CAST(? AS {sql_type}) AS {col}" for col, sql_type in COLUMNS.values())


def duckdb_answers(con: duckdb.DuckDBPyConnection, c: Compiled, rows: list[dict[str, Any]]) -> list[Any]:
    """The compiled condition run in DuckDB over each row of facts (bound as parameters), in order."""
    sql = DuckDBDialect().sql(c.tree)
    union = " UNION ALL ".join(f"SELECT {i} AS k, * FROM ({TYPED_ROW})" for i in range(len(rows)))
    params = [p for facts in rows for p in row_params(facts)]
    result = con.execute(f"SELECT {sql} AS v FROM ({union}) AS t ORDER BY t.k", params).fetchall()
    return [v for (v,) in result]


def same(a: Any, b: Any) -> bool:
    return a is b or (type(a) is bool and type(b) is bool and a == b)


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect(":memory:", config={"threads": 1})
    yield c
    c.close()


@pytest.mark.filterwarnings("ignore:Generating overly large repr")
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CONDITIONS, st.lists(FACTS, min_size=1, max_size=4))
def test_duckdb_and_the_evaluator_agree(con: duckdb.DuckDBPyConnection, text: str, rows: list[dict[str, Any]]) -> None:
    c = compile_condition(text)
    # Every condition also prints for Spark, and the text reads back as Spark SQL.
    spark_sql = SparkDialect().sql(c.tree)
    sqlglot.parse_one(f"SELECT {spark_sql} AS v FROM t", read="spark")
    got = duckdb_answers(con, c, rows)
    for facts, sql_value in zip(rows, got, strict=True):
        py_value = python_answer(c, facts)
        assert same(py_value, sql_value), (
            f"{text!r} with {facts}: evaluate gives {py_value!r}, DuckDB {sql_value!r} "
            f"(SQL: {DuckDBDialect().sql(c.tree)})"
        )


# Fixed points: one per operator family, so a failure names the operator without shrinking.
FIXED = [
    ("amount + 1 > 2", {"amount": 1.5}, True),
    ("days_late - 1 == 2", {"days_late": 3}, True),
    ("days_late * 2 == 6", {"days_late": 3}, True),
    ("days_late / 2 == 1.5", {"days_late": 3}, True),
    ("amount / 0 is null", {"amount": 1.0}, True),
    ("-amount < 0", {"amount": 1.0}, True),
    ("amount != 1", {"amount": 1.0}, False),
    ("amount <= 1", {"amount": 1.0}, True),
    ("amount >= 1.5", {"amount": 1.0}, False),
    ("event_date < date('2024-02-29')", {"event_date": dt.date(2024, 2, 28)}, True),
    ("tier >= 'B'", {"tier": "A"}, True),
    ("'B' > tier", {"tier": "C"}, True),
    ("tier in ['A', 'C']", {"tier": "B"}, False),
    ("status not in ['paid']", {"status": "late"}, True),
    ("status not in ['paid']", {"status": None}, None),
    ("employer == 'it\\'s'", {"employer": "it's"}, True),
    ('employer == "a\\\\b"', {"employer": "a\\b"}, True),
    ("days_late in [-1, 2]", {"days_late": -1}, True),
    ("defaulter == (amount > 1)", {"defaulter": False, "amount": 0.5}, True),
    ("defaulter and verified", {"defaulter": None, "verified": False}, False),
    ("defaulter or verified", {"defaulter": None, "verified": True}, True),
    ("not defaulter", {"defaulter": None}, None),
    ("null is null", {}, True),
    ("(not defaulter) is null", {}, True),  # not NOT (defaulter IS NULL)
    ("(status not in ['paid']) is null", {}, True),
    ("(amount is not null) is null", {}, False),
    ("(days_late in [1]) == verified", {"days_late": 1, "verified": True}, True),  # Spark: `x IN (1) = v` is no SQL
    ("employer is not null", {"employer": ""}, True),
    ("1.1 * 3 == 3.3", {}, False),  # binary arithmetic, as Python does it: 3.3000000000000003
    ("0.1 + 0.2 == 0.3", {}, False),
    ("1.0 / 3.0 * 3.0 == 1.0", {}, True),  # as DECIMALs, Spark would divide to 0.333333
]


@pytest.mark.parametrize(("text", "given_facts", "expected"), FIXED, ids=[t for t, _, _ in FIXED])
def test_fixed_points(con: duckdb.DuckDBPyConnection, text: str, given_facts: dict[str, Any], expected: Any) -> None:
    facts = {name: None for name in ENV} | given_facts
    c = compile_condition(text)
    assert python_answer(c, facts) is expected
    assert duckdb_answers(con, c, [facts]) == [expected]


@pytest.mark.parametrize(
    ("text", "days_late", "answer"),
    [
        ("days_late < 100000 * 100000", 1, True),
        ("days_late > 100000 * 100000 - 1", 9_999_999_999, False),
        ("days_late == -(3000000 * 3000000) + 9000000000000 + 7", 7, True),
        ("days_late * 2 < 999999999 * 999999999", 1, True),
    ],
)
def test_integer_literal_arithmetic_beyond_32_bits(
    con: duckdb.DuckDBPyConnection, text: str, days_late: int, answer: bool
) -> None:
    # Whole-number literals are INTEGER in DuckDB and INT in Spark: their product overflowed at 2^31 and failed
    # the query (Spark in ANSI mode too, so every run under such a rule), while the evaluator computes 10^10. The
    # calculation is now lowered as the one number it comes to.
    facts = dict.fromkeys(ENV) | {"days_late": days_late}
    c = compile_condition(text)
    assert python_answer(c, facts) is answer
    assert duckdb_answers(con, c, [facts]) == [answer]
    assert "100000 * 100000" not in SparkDialect().sql(c.tree)


@pytest.mark.parametrize("text", ["days_late < 1000000000 * 1000000000", "days_late < -999999999999999999 - 1"])
def test_a_calculation_of_whole_numbers_past_18_digits_is_refused(text: str) -> None:
    # the same bound as a number written out: it stays a 64-bit integer in every engine
    with pytest.raises(ExpressionError) as info:
        compile_condition(text)
    operator_at = text.index(" * " if "*" in text else " - ") + 1
    assert str(info.value) == (
        f"a calculation of whole numbers alone may come to at most 18 digits (at character {operator_at + 1} of "
        f"{text!r})"
    )


# An integer field as the shipped catalog declares days_late: at least 0, and below ingest's 10^15.
AT_LEAST_0 = record_env({"days_late": FieldSpec(type="integer", min=0)})
MOST = 10**15 - 1


@pytest.mark.parametrize(
    ("text", "worst", "at"),
    [
        ("days_late * 100000 > 10", MOST * 100000, 11),
        ("days_late * days_late > 10", MOST * MOST, 11),
        ("days_late * 1001 > 10", MOST * 1001, 11),
        ("0 - days_late * 1000 - 1000 > 10", -(10**18), 22),
        ("(days_late + 1) * 1000 > 10", (MOST + 1) * 1000, 17),
    ],
)
def test_a_calculation_on_an_integer_field_that_can_pass_18_digits_is_refused(text: str, worst: int, at: int) -> None:
    # The engines multiply an integer field (BIGINT) by a whole number in 64 bits: days_late * 100000 with days_late
    # 999999999999999 failed the run (DuckDB: Overflow in multiplication of INT64) on every path, where the policy
    # had been published without a word. The worst case is bounded from the field's bounds and refused.
    with pytest.raises(ExpressionError) as info:
        expr.check(expr.parse(text), AT_LEAST_0, text=text)
    assert str(info.value) == (
        f"this calculation of whole numbers can reach {worst} with the values its fields and facts may hold, and the "
        "engines compute whole numbers to at most 18 digits: write one of its numbers with a decimal point (1000.0) "
        f"to compute it in decimals (at character {at} of {text!r})"
    )


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("days_late * 1000 == 999999999999999000", True),  # the worst case is 18 digits: computed exactly
        ("days_late * 1000 - 1 > 999999999999998998", True),
        ("days_late * 100000.0 > 100000000000000000", True),  # a decimal: computed as a double, no overflow
        ("-days_late * 1000 < 0", True),
    ],
)
def test_a_calculation_on_an_integer_field_at_its_bound_agrees(
    con: duckdb.DuckDBPyConnection, text: str, answer: bool
) -> None:
    node = expr.check(expr.parse(text), AT_LEAST_0, text=text)
    tree = lower(node, lambda name: exp.column(name, table="t"))
    facts = {"days_late": MOST}
    assert expr.evaluate(node, facts) is answer
    sql = DuckDBDialect().sql(tree)
    assert con.execute(f"SELECT {sql} FROM (SELECT CAST(? AS BIGINT) AS days_late) AS t", [MOST]).fetchall() == [
        (answer,)
    ]


def test_an_integer_field_is_bounded_by_its_catalog_limits_and_by_ingest() -> None:
    env = record_env(
        {
            "free": FieldSpec(type="integer"),
            "ml": FieldSpec(type="integer", min=0.5, max=2000.5),
            "wide": FieldSpec(type="integer", min=-1e30, max=1e30),
            "amount": FieldSpec(type="number"),
        }
    )
    assert env["free"].whole == (-MOST, MOST)
    assert env["ml"].whole == (1, 2000)
    assert env["wide"].whole == (-MOST, MOST)
    assert env["amount"].whole is None  # a DOUBLE: computed in decimals


def test_literal_arithmetic_against_its_exact_decimal_value(con: duckdb.DuckDBPyConnection) -> None:
    # Every pair of decimal literals under + - * compared, with each order operator, with the exact decimal
    # result; all in one query. Decimals are binary doubles on both sides, so (0.1 + 0.2) == 0.3 is false in both.
    texts = [
        against_exact_decimal(a, op, b, cmp)
        for a, b in itertools.product(DECIMAL_LITERALS, repeat=2)
        for op in ("+", "-", "*")
        for cmp in ORDER
    ]
    compiled = [compile_condition(text) for text in texts]
    facts = dict.fromkeys(ENV)
    select = ", ".join(DuckDBDialect().sql(c.tree) for c in compiled)
    (row,) = con.execute(f"SELECT {select} FROM ({TYPED_ROW}) AS t", row_params(facts)).fetchall()
    bad = [
        f"{c.text}: evaluate gives {python_answer(c, facts)!r}, DuckDB {v!r}"
        for c, v in zip(compiled, row, strict=True)
        if not same(python_answer(c, facts), v)
    ]
    assert not bad, "\n".join(bad[:10])


# -- Spark: a fixed sample on a real session -------------------------------------------------------------


def sample(n: int) -> list[tuple[str, dict[str, Any]]]:
    """``n`` generated (condition, facts) pairs, the same on every run (the later, larger half of 2n)."""
    drawn: list[tuple[str, dict[str, Any]]] = []

    @settings(max_examples=2 * n, derandomize=True, database=None, phases=[Phase.generate], deadline=None)
    @given(CONDITIONS, FACTS)
    def collect(text: str, facts: dict[str, Any]) -> None:
        drawn.append((text, facts))

    collect()
    return drawn[-n:]


def sql_value(value: Any, sql_type: str) -> exp.Expr:
    """A fact as a typed SQL literal (sqlglot quotes and escapes texts for the target dialect)."""
    if value is None:
        inner: exp.Expr = exp.Null()
    elif isinstance(value, bool):
        inner = exp.Boolean(this=value)
    elif isinstance(value, str):
        inner = exp.Literal.string(value)
    else:
        inner = exp.Literal.string(value.isoformat() if isinstance(value, dt.date) else repr(value))
    return exp.Cast(this=inner, to=exp.DataType.build(sql_type))


def spark_query(pairs: list[tuple[Compiled, dict[str, Any]]]) -> str:
    spark = SparkDialect()
    selects = []
    for i, (c, facts) in enumerate(pairs):
        row = exp.select(
            *(
                exp.alias_(sql_value(v, COLUMNS[k][1]), COLUMNS[k][0])
                for k, v in zip(COLUMNS, row_params(facts), strict=True)
            )
        )
        selects.append(f"SELECT {i} AS k, {spark.sql(c.tree)} AS v FROM ({row.sql(dialect='spark')}) AS t")
    return " UNION ALL ".join(selects)


@pytest.mark.spark
@pytest.mark.slow
def test_spark_and_the_evaluator_agree_on_a_fixed_sample(spark: Any) -> None:
    pairs = [(compile_condition(text), facts) for text, facts in sample(50)]
    assert len(pairs) == 50
    got = {row["k"]: row["v"] for row in spark.sql(spark_query(pairs)).collect()}
    bad = [
        f"{c.text!r} with {facts}: evaluate gives {python_answer(c, facts)!r}, Spark {got[i]!r}"
        for i, (c, facts) in enumerate(pairs)
        if not same(python_answer(c, facts), got[i])
    ]
    assert not bad, "\n".join(bad)
