"""One small dialect per engine: what differs between DuckDB and Spark, and nothing else.

The compiler builds sqlglot expression trees; a dialect names the sqlglot dialect that prints them and
overrides the few constructs that differ. What an engine cannot do is refused with the rule and engine named.
"""

from __future__ import annotations

from typing import ClassVar

import sqlglot.expressions as exp

from socialcredit.errors import UnsupportedError

__all__ = ["DIALECTS", "Dialect", "DuckDBDialect", "SparkDialect", "get_dialect"]


class Dialect:
    """How one engine spells the constructs a score run needs."""

    name: ClassVar[str] = "generic"
    sqlglot_dialect: ClassVar[str] = ""
    # Features an engine may lack; the compiler asks before using them.
    supports: ClassVar[frozenset[str]] = frozenset({"decay"})

    def require(self, feature: str, where: str) -> None:
        if feature not in self.supports:
            raise UnsupportedError(f"{where}: the {self.name} engine does not support {feature.replace('_', ' ')}")

    def sql(self, tree: exp.Expr, *, pretty: bool = False) -> str:
        return tree.sql(dialect=self.sqlglot_dialect, pretty=pretty)


class DuckDBDialect(Dialect):
    name = "duckdb"
    sqlglot_dialect = "duckdb"


class SparkDialect(Dialect):
    name = "spark"
    sqlglot_dialect = "spark"


DIALECTS: dict[str, type[Dialect]] = {"duckdb": DuckDBDialect, "spark": SparkDialect}


def get_dialect(name: str) -> Dialect:
    try:
        return DIALECTS[name]()
    except KeyError:
        raise UnsupportedError(f"unknown engine {name!r}; known: {', '.join(DIALECTS)}") from None
