"""Points are summed exactly, so the order in which an engine reads the rows cannot move a digit.

A run from the scoring state and a run from the records read the same rows in different orders (DuckDB and Spark
too). Summed as doubles, a rule's points differed in their last digit (−44.035506727561916 against
−44.03550672756192) and a dimension's sum in its last bits. The compiler sums integers of micro-points instead
(compiler/plan.py, ``MICRO``): here the same rows, fed to the compiled stages in any order, must give the same bits,
and the bits Python gets by summing the same integers.
"""

from __future__ import annotations

import datetime as dt
import random

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring_helpers import make_policy
from socialcredit.compiler import ScorePlan
from socialcredit.compiler.dialects import DuckDBDialect
from socialcredit.compiler.plan import MICRO, micro

AS_OF = dt.date(2026, 1, 1)


def _rule(rule_id: str, points: float, dimension: str, half_life: int | None) -> str:
    decay = f"\n  decay: {{half_life_days: {half_life}}}" if half_life else ""
    return f"""\
- id: {rule_id}
  record_type: tax_payment
  dimension: {dimension}
  points: {points}{decay}
  reason: {{code: {rule_id.upper()}, zh: 测试, en: test}}
"""


# Three rules on the same records, two of them in one dimension: a rule's sum and a dimension's sum both count.
POLICY = make_policy(
    _rule("late", -10, "money", 365) + _rule("later", -7.3, "civic", 97) + _rule("kept", 0.1, "civic", None)
)
HALF_LIVES = {0: 365, 1: 97, 2: None}


def _run(rows: list[tuple[int, int, dt.date, int]]) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """The rule points and local scores the compiled stages give for state rows inserted in this order."""
    plan = ScorePlan(POLICY, as_of=AS_OF, source="state")
    dialect = DuckDBDialect()
    con = duckdb.connect()
    try:
        con.execute("SET threads = 1")  # one thread adds the rows in the order they were inserted
        con.execute("CREATE TABLE sc_state (subject_id BIGINT, item SMALLINT, event_date DATE, record_key BIGINT)")
        con.executemany("INSERT INTO sc_state VALUES (?, ?, ?, ?)", rows)
        con.execute(
            "CREATE TABLE sc_subjects AS SELECT i AS subject_id, 'P' || i AS sid, 'person' AS kind, "
            "NULL::VARCHAR AS profession, DATE '1990-01-01' AS birth_date FROM range(1, 4) t(i)"
        )
        stages = dict(plan.stages())
        for name in ("sc_rule_points", "sc_local"):
            con.execute(f"CREATE TABLE {name} AS {dialect.sql(stages[name])}")
        points = con.execute("SELECT subject_id, rule_id, points FROM sc_rule_points ORDER BY 1, 2").fetchall()
        local = con.execute("SELECT subject_id, d_money, d_civic, total FROM sc_local ORDER BY 1").fetchall()
        return points, local
    finally:
        con.close()


hits = st.lists(
    st.tuples(st.integers(1, 3), st.integers(0, 2), st.integers(0, 4000)),  # subject, rule, age in days
    min_size=1,
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(hits=hits, seed=st.integers(0, 2**32 - 1))
def test_points_do_not_depend_on_the_order_of_the_rows(hits: list[tuple[int, int, int]], seed: int) -> None:
    rows = [(s, item, AS_OF - dt.timedelta(days=age), key) for key, (s, item, age) in enumerate(hits, start=1)]
    shuffled = rows.copy()
    random.Random(seed).shuffle(shuffled)
    first = _run(rows)
    assert _run(shuffled) == first
    assert _run(rows[::-1]) == first

    # The same bits as Python's sum of the same integers: each hit's decayed points rounded to the micro-point.
    summed: dict[tuple[int, str], int] = {}
    for s, item, age in hits:
        rule = POLICY.policy.rules[item]
        half_life = HALF_LIVES[item]
        value = rule.points if half_life is None else rule.points * 2.0 ** (-float(age) / float(half_life))
        summed[(s, rule.id)] = summed.get((s, rule.id), 0) + micro(value)
    assert first[0] == [(s, r, summed[(s, r)] / MICRO) for s, r in sorted(summed)]
    for subject, d_money, d_civic, total in first[1]:
        money = summed.get((subject, "late"), 0)
        civic = sum(micro(summed[(subject, r)] / MICRO) for r in ("later", "kept") if (subject, r) in summed)
        assert d_money == max(-50.0, min(30.0, money / MICRO))
        assert d_civic == civic / MICRO
        # the total too is a sum of micro-points, divided once: 100 - 8.889271 is 91.110729, where the doubles'
        # 100.0 + d_money + d_civic came to 91.11072899999999
        assert total == (100 * MICRO + max(-50 * MICRO, min(30 * MICRO, money)) + civic) / MICRO


def test_a_known_sum_that_doubles_get_wrong_in_one_order() -> None:
    """Three hits of 0.1 are 0.30000000000000004 as doubles; in micro-points, 0.3 (and 100.3 in all)."""
    rows = [(1, 2, AS_OF, 1), (1, 2, AS_OF, 2), (1, 2, AS_OF, 3)]  # three hits of `kept` (0.1 each)
    assert (0.1 + 0.1) + 0.1 != 0.3
    points, local = _run(rows)
    assert points == [(1, "kept", 0.3)]
    assert local[0] == (1, 0.0, 0.3, 100.3)
