"""The DuckDB backend: score-run stages become temporary tables in the store's connection."""

from __future__ import annotations

import logging

import duckdb
import sqlglot.expressions as exp

from socialcredit.compiler.dialects import DuckDBDialect
from socialcredit.errors import BackendError
from socialcredit.store import Store

__all__ = ["DuckDBBackend"]

log = logging.getLogger(__name__)


class DuckDBBackend:
    name = "duckdb"

    def __init__(self, store: Store) -> None:
        self.store = store
        self.dialect = DuckDBDialect()

    def materialize(self, name: str, query: exp.Query, *, copy: bool = True) -> None:
        """Keep the rows of ``query`` as the temporary table ``name``; ``copy=False``: the caller owns the tree and
        gives it up (it is printed without a copy, see Dialect.sql)."""
        target = exp.to_table(name)
        sql = f"CREATE OR REPLACE TEMP TABLE {target.sql('duckdb')} AS {self.dialect.sql(query, copy=copy)}"
        log.debug("%s", sql)
        try:
            self.store.execute(sql)
        except duckdb.Error as exc:
            raise BackendError(f"DuckDB could not build {name}: {exc}", sql) from None

    def count(self, name: str) -> int:
        return int(self.store.one(f"SELECT count(*) FROM {exp.to_table(name).sql('duckdb')}"))
