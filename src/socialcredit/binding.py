"""DuckDB's import of pandas refused while a statement's parameters are bound, where the console refuses it: the
registry's store (socialcredit.store, through socialcredit.opening) and the matchmaking store run their statements
with parameters through :func:`with_params`. Standard library only: a module every layer may import."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

__all__ = ["refuse_pandas_to_duckdb", "with_params"]


# DuckDB 1.5.5 imports pandas (and with it numpy, some 0.2 s) when a statement is executed with parameters, to ask
# whether a value is a pandas one; an import that fails is no error to it (it binds the values as Python ones), and it
# tries again at the next value (every parameter, every element of a list parameter, every row of executemany: some
# 10-25 µs each), so pandas, once importable, is used as ever (a DataFrame scanned, `.df()`). A statement carrying more
# than _REFUSED_UP_TO values would pay more in retries than the import costs: it runs unrefused and imports pandas.
# The console refuses it that import (refuse_pandas_to_duckdb, installed by its main() alone) while a statement with
# parameters runs (with_params) and pandas is not imported yet: a command that uses no pandas imports none, and
# code that imports pandas itself (scorecard fitting) gets it. The refusal is per thread: only the thread executing
# the statement, inside DuckDB's call, is refused; another thread importing pandas meanwhile gets it.
_BINDING = threading.local()

_Run = Callable[[str, Any], "duckdb.DuckDBPyConnection"]

# The values a statement may carry and still run with pandas refused: 1,000 retries cost at most some 25 ms.
_REFUSED_UP_TO = 1_000


def _values(params: Any, budget: int = _REFUSED_UP_TO) -> int:
    """How many values DuckDB binds for ``params`` (a row, a mapping, or executemany's rows), a list counted by its
    elements, counted no further than past ``budget``; what is not a list, tuple or mapping counts as past it (it is
    not looked into)."""
    if isinstance(params, dict):
        params = list(params.values())
    if not isinstance(params, list | tuple):
        return budget + 1
    if len(params) > budget:
        return len(params)
    seen = 0
    for value in params:
        seen += _values(value, budget - seen) if isinstance(value, list | tuple | dict) else 1
        if seen > budget:
            break
    return seen


def with_params(run: _Run, sql: str, params: Any) -> duckdb.DuckDBPyConnection:
    """``run(sql, params)``, a connection's ``execute`` or ``executemany`` with parameters, DuckDB's import of pandas
    refused while it runs where the console refuses it (:func:`refuse_pandas_to_duckdb`), pandas is not imported
    yet and the statement carries at most _REFUSED_UP_TO values."""
    if "pandas" in sys.modules or _values(params) > _REFUSED_UP_TO:
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
