"""Checks of the store: its record id ranges (migration 14), shared by the ingest and regions tests, and the
statements a call runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from socialcredit.store import Store


def uncovered_record_ids(store: Store) -> list[tuple[str, str]]:
    """The (source, record id) pairs of ``records`` that no range of ``record_id_ranges`` of their source covers:
    none, if every path that inserts records notes the ids it brings."""
    key = "{'l': strlen(x.record_id), 'v': x.record_id}"  # ids are ranged by length, then text (store.py)
    rows = store.execute(
        f"""SELECT DISTINCT source_id, record_id FROM records x
        WHERE NOT EXISTS (SELECT 1 FROM record_id_ranges r WHERE r.source_id = x.source_id
                          AND {{'l': r.lo_length, 'v': r.lo}} <= {key} AND {{'l': r.hi_length, 'v': r.hi}} >= {key})
        ORDER BY 1, 2"""
    ).fetchall()
    return [(str(s), str(r)) for s, r in rows]


@contextmanager
def statements(store: Store) -> Iterator[list[str]]:
    """The SQL text of every ``store.execute`` while the block runs, in order."""
    read: list[str] = []
    execute = store.execute

    def spy(sql: str, params: Any = None) -> Any:
        read.append(sql)
        return execute(sql, params)

    store.execute = spy  # type: ignore[method-assign]
    try:
        yield read
    finally:
        del store.execute
