"""Temporary relations owned by one caller of the store's shared connection.

Every caller in the process shares the store's DuckDB connection, and with it one namespace of temporary tables
and views. Work that needs scratch relations (a score run's inputs and stages, a purge's list of records) writes
its SQL with logical names (``sc_records``, ``sc_purge``); :class:`OwnedRelations` gives them names unique to the
caller (``sc_1f0c…_records``), renames the logical names in every tree it runs (:meth:`OwnedRelations.bind`) and
drops what it created when its ``with`` block ends. So two callers never read each other's scratch relations.

Statements are sqlglot trees: hand-written SQL is constant text, parsed, with values bound as parameters (``$w``,
``?``) or, where DuckDB cannot prepare the statement (a view), as sqlglot literals.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

import duckdb
import sqlglot
import sqlglot.expressions as exp

from socialcredit.backends.duckdb import DuckDBBackend
from socialcredit.store import Store

__all__ = ["OwnedRelations", "Params"]

log = logging.getLogger(__name__)

Params = Sequence[Any] | Mapping[str, Any] | None
T = TypeVar("T", bound=exp.Expr)


# Constant SQL is parsed, bound and printed once: with this template's names for the caller's relations, which each
# caller replaces with its own (a random prefix no constant SQL holds). A small batch's fold or a live pass runs the
# same few dozen statements every time, and printing them cost as much as running them.
_TEMPLATE = f"sc_{uuid.uuid4().hex[:12]}_"
_PRINTED: dict[tuple[Any, ...], str] = {}
_PRINTED_KEPT = 1024


def _renamer(names: frozenset[str], prefix: str) -> Callable[[exp.Expr], exp.Expr]:
    def rename(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Table) and not node.args.get("db") and node.name in names:
            renamed = node.copy()
            renamed.set("this", exp.to_identifier(prefix + node.name.removeprefix("sc_"), quoted=True))
            return renamed
        return node

    return rename


def _printed(key: tuple[Any, ...], build: Callable[[], str]) -> str:
    text = _PRINTED.get(key)
    if text is None:
        text = build()
        if len(_PRINTED) >= _PRINTED_KEPT:
            _PRINTED.pop(next(iter(_PRINTED)))
        _PRINTED[key] = text
    return text


def _create(logical: str, body: exp.Expr, view: bool, fill: bool = False) -> exp.Expr:
    """CREATE OR REPLACE TEMPORARY (TABLE | VIEW) of a logical relation (renamed with the rest when bound); with
    ``fill``, an INSERT of the rows into the table as it stands."""
    if fill:
        return exp.Insert(this=exp.Table(this=exp.to_identifier(logical)), expression=body)
    return exp.Create(
        this=exp.Table(this=exp.to_identifier(logical)),
        kind="VIEW" if view else "TABLE",
        expression=body,
        replace=True,
        properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
    )


class OwnedRelations:
    """A caller's own relations on the store's connection, under names unique to it; dropped on exit.

    ``names`` are the logical names the caller's statements may use (each starts with ``sc_``).

    ``prefix`` and ``kept`` are for relations that outlive one ``with`` block (the live passes' tables, kept on a
    connection of their own so that the statements reading them stay prepared, registry/decisions/live.py): their
    names are ``prefix``'s, the block's end drops nothing, and with ``fill`` every :meth:`create` of a table inserts
    its rows into the table as it stands (made before, with the same query) instead of creating it again; a view is
    then not made at all (the caller fills the table that stands for it).
    """

    def __init__(
        self, store: Store, names: frozenset[str], *, prefix: str | None = None, kept: bool = False, fill: bool = False
    ) -> None:
        self.store = store
        self.names = names
        self.prefix = prefix or f"sc_{uuid.uuid4().hex[:12]}_"
        self.kept = kept or fill
        self.fill = fill
        self._made: dict[str, str] = {}  # relation name -> "TABLE" | "VIEW", in order of creation

    # -- names ---------------------------------------------------------------------------------------------
    def name(self, logical: str) -> str:
        """This caller's name for the logical relation ``logical`` (one of ``names``)."""
        if logical not in self.names:
            raise ValueError(f"{logical!r} is not one of this caller's relations")
        return self.prefix + logical.removeprefix("sc_")

    def table(self, logical: str) -> exp.Table:
        """This caller's relation ``logical`` as a table node."""
        return exp.Table(this=exp.to_identifier(self.name(logical), quoted=True))

    def bind(self, tree: T) -> T:
        """A copy of ``tree`` reading and writing this caller's relations where it names logical ones."""
        return tree.transform(_renamer(self.names, self.prefix))  # type: ignore[return-value]

    def printed(self, key: tuple[Any, ...], build: Callable[[], exp.Expr]) -> str:
        """The DuckDB text of the tree ``build`` makes, bound to this caller: built and printed once per ``key``
        (which must name everything the tree depends on), then only renamed."""

        def make() -> str:
            return build().transform(_renamer(self.names, _TEMPLATE)).sql(dialect="duckdb")

        return _printed(("tree", self.names, *key), make).replace(_TEMPLATE, self.prefix)

    def _text(self, sql: str) -> str:
        """Constant SQL bound to this caller, as DuckDB text (parsed and printed once)."""

        def make() -> str:
            return (
                sqlglot.parse_one(sql, read="duckdb").transform(_renamer(self.names, _TEMPLATE)).sql(dialect="duckdb")
            )

        return _printed(("sql", self.names, sql), make).replace(_TEMPLATE, self.prefix)

    def parse(self, sql: str) -> exp.Expr:
        """Constant DuckDB SQL (values as ``$name`` or ``?`` parameters) as a tree bound to this caller."""
        return self.bind(sqlglot.parse_one(sql, read="duckdb"))

    # -- statements ----------------------------------------------------------------------------------------
    def execute(self, statement: str | exp.Expr, params: Params = None) -> duckdb.DuckDBPyConnection:
        """Run a statement (constant SQL text or a tree) on this caller's relations, with bound ``params``."""
        # (bind made the tree a copy of its own: it is printed without copying it once more)
        text = (
            self._text(statement)
            if isinstance(statement, str)
            else self.bind(statement).sql(dialect="duckdb", copy=False)
        )
        args = None if params is None else (dict(params) if isinstance(params, Mapping) else list(params))
        return self.store.execute(text, args)

    def rows(self, statement: str | exp.Expr, params: Params = None) -> list[dict[str, Any]]:
        """The rows of a query on this caller's relations, as dictionaries."""
        cur = self.execute(statement, params)
        cols = [d[0] for d in cur.description or []]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def create(self, logical: str, query: str | exp.Query, params: Params = None, *, view: bool = False) -> None:
        """Create this caller's relation ``logical`` from ``query`` (a view re-reads its sources on every use).

        A view cannot take bound parameters: its values must be in the tree, as sqlglot literals.
        """
        if view and self.fill:
            return
        if isinstance(query, str):
            self.create_once(
                logical, ("sql", query), lambda: sqlglot.parse_one(query, read="duckdb"), params, view=view
            )
            return
        self._made[self.name(logical)] = "VIEW" if view else "TABLE"
        self.execute(_create(logical, query, view, self.fill), params)

    def create_once(
        self,
        logical: str,
        key: tuple[Any, ...],
        build: Callable[[], exp.Expr],
        params: Params = None,
        *,
        view: bool = False,
        fill: Callable[[str], str] | None = None,
    ) -> None:
        """:meth:`create` from the query ``build`` makes, built and printed once per ``key`` (which must name
        everything the query depends on): the fixed cost of a small batch's fold or a live pass. ``fill``, if
        given, completes the printed text (values the key does not name, such as a list of literals)."""
        if view and self.fill:
            return
        text = self.printed(
            ("create", logical, view, self.fill, *key), lambda: _create(logical, build(), view, self.fill)
        )
        if fill is not None:
            text = fill(text)
        self._made[self.name(logical)] = "VIEW" if view else "TABLE"
        args = None if params is None else (dict(params) if isinstance(params, Mapping) else list(params))
        self.store.execute(text, args)

    def materialize(self, backend: DuckDBBackend, logical: str, query: exp.Query) -> None:
        """Let ``backend`` build a stage of the plan as this caller's relation ``logical``."""
        self._made[self.name(logical)] = "TABLE"
        backend.materialize(self.name(logical), self.bind(query), copy=False)  # bind made the tree a copy

    def adopt(self, logical: str, kind: str = "TABLE") -> str:
        """This caller's name for ``logical``, noted as made (by SQL the caller printed itself): dropped on exit."""
        name = self.name(logical)
        self._made[name] = kind
        return name

    def count(self, logical: str) -> int:
        """Rows in this caller's relation ``logical``."""
        row = self.execute(exp.select(exp.Count(this=exp.Star())).from_(self.table(logical))).fetchone()
        return int(row[0]) if row is not None else 0

    # -- lifetime ------------------------------------------------------------------------------------------
    def close(self) -> None:
        """Drop every relation this caller created (views first: they read the tables); kept ones stay."""
        if self.kept:
            return
        made = sorted(self._made.items(), key=lambda item: item[1] != "VIEW")
        self._made.clear()
        for name, kind in made:
            drop = exp.Drop(tables=[exp.Table(this=exp.to_identifier(name, quoted=True))], kind=kind, exists=True)
            try:
                self.store.execute(drop.sql(dialect="duckdb"))
            except duckdb.ConnectionException:  # a closed connection took its temporary relations with it
                return
            except duckdb.Error as exc:  # never hide the error that ended the caller's work behind this one
                log.warning("could not drop %s: %s", name, exc)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
