"""What the console needs of the store before a command opens one. ``open_store`` imports the store at its first
call: the faces' commands import it from here, so that ``--help``, a usage error or a command that opens no store
imports neither DuckDB nor the compiler and sqlglot that ``socialcredit.store`` imports. And the refusal of
DuckDB's import of pandas that the console's main() installs before any command (``with_params``, the store's
statements with parameters, applies it)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from socialcredit.settings import DEFAULT_DB

if TYPE_CHECKING:
    import duckdb

    from socialcredit.store import Store

__all__ = ["open_store", "refuse_pandas_to_duckdb", "with_params"]


def open_store(
    path: Path | str = DEFAULT_DB, *, key: str | None = None, create: bool = False, read_only: bool = False
) -> Store:
    """:func:`socialcredit.store.open_store`, imported at the first call."""
    from socialcredit.store import open_store as opened

    return opened(path, key=key, create=create, read_only=read_only)


# DuckDB 1.5.5 imports pandas (and with it numpy, some 0.2 s) when a statement is executed with parameters, to ask
# whether a value is a pandas one; an import that fails is no error to it (it binds the values as Python ones), and it
# tries again at the next such statement, so pandas, once importable, is used as ever (a DataFrame scanned, `.df()`).
# The console refuses it that import (refuse_pandas_to_duckdb, installed by its main() alone) while a statement with
# parameters runs (with_params) and pandas is not imported yet: a command that uses no pandas imports none, and
# code that imports pandas itself (scorecard fitting) gets it. The refusal is per thread: only the thread executing
# the statement, inside DuckDB's call, is refused; another thread importing pandas meanwhile gets it.
_BINDING = threading.local()

_Run = Callable[[str, Any], "duckdb.DuckDBPyConnection"]


def with_params(run: _Run, sql: str, params: Any) -> duckdb.DuckDBPyConnection:
    """``run(sql, params)``, a connection's ``execute`` or ``executemany`` with parameters, DuckDB's import of pandas
    refused while it runs where the console refuses it (:func:`refuse_pandas_to_duckdb`) and pandas is not imported
    yet."""
    if "pandas" in sys.modules:
        return run(sql, params)
    _BINDING.on = True
    try:
        return run(sql, params)
    finally:
        _BINDING.on = False


class _PandasRefused:
    """A finder of modules (first on ``sys.meta_path``) that refuses pandas to a statement that
    :func:`with_params` runs, and finds nothing else (the next finders do)."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if getattr(_BINDING, "on", False) and name.partition(".")[0] == "pandas":
            raise ModuleNotFoundError(f"pandas is not imported for DuckDB's parameters ({name})", name=name)


def refuse_pandas_to_duckdb() -> None:
    """Refuse DuckDB's import of pandas while a statement with parameters runs (:func:`with_params`): the
    console's main() calls it, where a command runs once in its process. Once is enough; again changes nothing."""
    if not any(isinstance(finder, _PandasRefused) for finder in sys.meta_path):
        sys.meta_path.insert(0, _PandasRefused())
