"""The backend seam: a handful of hooks an engine fills in. Errors carry the SQL that failed."""

from __future__ import annotations

from typing import Protocol

import sqlglot.expressions as exp

from socialcredit.compiler.dialects import Dialect
from socialcredit.errors import BackendError

__all__ = ["Backend", "BackendError"]


class Backend(Protocol):
    name: str
    dialect: Dialect

    def materialize(self, name: str, query: exp.Query, *, copy: bool = True) -> None:
        """Run ``query`` and keep its rows as the temporary relation ``name``; ``copy=False``: the caller gives the
        tree up, and printing may change it instead of a copy."""

    def count(self, name: str) -> int:
        """Rows in relation ``name``."""
