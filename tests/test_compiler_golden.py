"""Golden files: the SQL compiled for a small policy, per engine and stage.

Regenerate after an intended change with `UPDATE_GOLDEN=1 pytest tests/test_compiler_golden.py` and review the diff.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from socialcredit.compiler import STAGES, ScorePlan, get_dialect
from socialcredit.policy import load_policy

HERE = Path(__file__).parent
POLICY = load_policy(HERE / "fixtures" / "small_policy.yaml")
AS_OF = dt.date(2026, 1, 1)


def _compiled(engine: str, stage: str) -> str:
    plan = ScorePlan(POLICY, as_of=AS_OF, dialect=get_dialect(engine))
    if stage == "sc_time_affected":
        query = plan.time_affected(dt.date(2025, 12, 1))
        assert query is not None
    elif stage == "sc_contributions":
        query = plan.record_contributions()
    else:
        query = dict(plan.stages())[stage]
    return plan.dialect.sql(query, pretty=True) + "\n"


CASES = [(e, s) for e in ("duckdb", "spark") for s in (*STAGES, "sc_time_affected", "sc_contributions")]


@pytest.mark.parametrize(("engine", "stage"), CASES)
def test_compiled_sql_matches_golden_file(engine: str, stage: str) -> None:
    path = HERE / "golden" / f"{engine}.{stage}.sql"
    sql = _compiled(engine, stage)
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(sql, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}; run with UPDATE_GOLDEN=1"
    assert sql == path.read_text(encoding="utf-8")


def test_same_policy_same_sql_for_every_stage_but_dialect_spelling() -> None:
    duck = _compiled("duckdb", "sc_rule_points")
    spark = _compiled("spark", "sc_rule_points")
    assert "r.status = 'late'" in duck and "r.status = 'late'" in spark
    assert "DATE_DIFF('DAY', h.event_date, CAST('2026-01-01' AS DATE))" in duck
    assert "DATEDIFF(DAY, h.event_date, CAST('2026-01-01' AS DATE))" in spark
    assert duck.count("UNION ALL") == spark.count("UNION ALL") == len(POLICY.policy.rules) - 1
