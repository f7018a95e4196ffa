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

    def sql(self, tree: exp.Expr, *, pretty: bool = False, copy: bool = True) -> str:
        """The text of ``tree`` for this engine. ``copy=False`` lets printing change the tree instead of a copy of it:
        for a caller that owns the tree and prints it once (a copy of a score run's stage cost as much as printing
        it)."""
        return tree.sql(dialect=self.sqlglot_dialect, pretty=pretty, copy=copy)


class DuckDBDialect(Dialect):
    name = "duckdb"
    sqlglot_dialect = "duckdb"


class SparkDialect(Dialect):
    name = "spark"
    sqlglot_dialect = "spark"

    def sql(self, tree: exp.Expr, *, pretty: bool = False, copy: bool = True) -> str:
        # one copy at most (the first transform's): the later steps change that copy
        spelled = tree.transform(_filter_to_case, copy=copy).transform(_explicit_else, copy=False)
        return super().sql(spelled, pretty=pretty, copy=False)


def _explicit_else(node: exp.Expr) -> exp.Expr:
    """sqlglot prints a one-branch CASE without ELSE, or an IF without its third argument, as a two-argument IF
    for Spark; Spark wants three: the missing one is NULL, as it is in the CASE."""
    if isinstance(node, exp.Case) and len(node.args.get("ifs") or []) == 1 and node.args.get("default") is None:
        node = node.copy()
        node.set("default", exp.Null())
    elif isinstance(node, exp.If) and not isinstance(node.parent, exp.Case) and node.args.get("false") is None:
        node = node.copy()
        node.set("false", exp.Null())
    return node


def _filter_to_case(node: exp.Expr) -> exp.Expr:
    """``agg(x) FILTER (WHERE c)`` as ``agg(CASE WHEN c THEN x END)``: the same for aggregates that skip NULLs.

    Spark understands FILTER, but sqlglot prints it for Spark as a two-argument IF, which Spark refuses.
    """
    if not isinstance(node, exp.Filter) or not isinstance(node.this, exp.AggFunc):
        return node
    where = node.args.get("expression")
    cond = where.this if isinstance(where, exp.Where) else where
    agg = node.this.copy()
    arg = agg.this
    value = exp.Literal.number(1) if arg is None or isinstance(arg, exp.Star) else arg
    agg.set("this", exp.Case(ifs=[exp.If(this=cond, true=value)]))
    return agg


DIALECTS: dict[str, type[Dialect]] = {"duckdb": DuckDBDialect, "spark": SparkDialect}


def get_dialect(name: str) -> Dialect:
    try:
        return DIALECTS[name]()
    except KeyError:
        raise UnsupportedError(f"unknown engine {name!r}; known: {', '.join(DIALECTS)}") from None
