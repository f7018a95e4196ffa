"""What the console needs of the store before a command opens one. ``open_store`` imports the store at its first
call: the faces' commands import it from here, so that ``--help``, a usage error or a command that opens no store
imports neither DuckDB nor the compiler and sqlglot that ``socialcredit.store`` imports. And the refusal of
DuckDB's import of pandas that the console's main() installs before any command (``with_params``, the store's
statements with parameters, applies it)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from socialcredit.binding import refuse_pandas_to_duckdb, with_params
from socialcredit.settings import DEFAULT_DB

if TYPE_CHECKING:
    from socialcredit.store import Store

__all__ = ["open_store", "refuse_pandas_to_duckdb", "with_params"]


def open_store(
    path: Path | str = DEFAULT_DB, *, key: str | None = None, create: bool = False, read_only: bool = False
) -> Store:
    """:func:`socialcredit.store.open_store`, imported at the first call."""
    from socialcredit.store import open_store as opened

    return opened(path, key=key, create=create, read_only=read_only)
