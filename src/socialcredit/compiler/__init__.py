"""The compiler: a policy lowered to SQL expression trees (sqlglot), one small dialect per engine."""

from socialcredit.compiler.dialects import DIALECTS, Dialect, DuckDBDialect, SparkDialect, get_dialect
from socialcredit.compiler.plan import MAX_REASONS, STAGES, ScorePlan

__all__ = ["DIALECTS", "MAX_REASONS", "STAGES", "Dialect", "DuckDBDialect", "ScorePlan", "SparkDialect", "get_dialect"]
