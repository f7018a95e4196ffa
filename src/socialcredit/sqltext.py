"""The only two ways outside text enters DuckDB statements the registry writes itself: as a quoted string
literal or a quoted identifier, both printed (escaped) by sqlglot. Everything else is bound parameters."""

from __future__ import annotations

from functools import lru_cache

__all__ = ["ident", "lit"]


def lit(value: str) -> str:
    """``value`` as a DuckDB string literal, quotes escaped: lit("it's") == "'it''s'"."""
    import sqlglot.expressions as exp  # here, not at the top: a console start that never quotes skips sqlglot (~0.3 s)

    return str(exp.Literal.string(value).sql(dialect="duckdb"))


# A pure function of its text, and printing through sqlglot costs about a millisecond a call (a copy and a pass of
# its generator): a small batch's ingest quoted the same hundred column names on every batch. Kept per process,
# bounded. (Not lit: its values include secrets, such as a store's key, that must not outlive their use.)
@lru_cache(maxsize=4096)
def ident(name: str) -> str:
    """``name`` as a quoted DuckDB identifier: ident('a"b') == '"a""b"'."""
    import sqlglot.expressions as exp

    return str(exp.to_identifier(name, quoted=True).sql(dialect="duckdb"))
