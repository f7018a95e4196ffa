"""Execution seams: DuckDB embedded by default; Spark (imported lazily) for national scale."""

from socialcredit.backends.base import Backend, BackendError
from socialcredit.backends.duckdb import DuckDBBackend

__all__ = ["Backend", "BackendError", "DuckDBBackend"]
