"""The only two ways outside text enters DuckDB statements the registry writes itself: as a quoted string
literal or a quoted identifier, both printed (escaped) by sqlglot. Everything else is bound parameters."""

from __future__ import annotations

import sqlglot.expressions as exp

__all__ = ["ident", "lit"]


def lit(value: str) -> str:
    """``value`` as a DuckDB string literal, quotes escaped: lit("it's") == "'it''s'"."""
    return str(exp.Literal.string(value).sql(dialect="duckdb"))


def ident(name: str) -> str:
    """``name`` as a quoted DuckDB identifier: ident('a"b') == '"a""b"'."""
    return str(exp.to_identifier(name, quoted=True).sql(dialect="duckdb"))
