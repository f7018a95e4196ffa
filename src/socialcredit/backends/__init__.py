"""Execution seams: DuckDB embedded by default; Spark (imported lazily) for national scale."""

from socialcredit.backends.base import Backend
from socialcredit.backends.duckdb import DuckDBBackend
from socialcredit.errors import BackendError

__all__ = ["Backend", "BackendError", "DuckDBBackend"]
