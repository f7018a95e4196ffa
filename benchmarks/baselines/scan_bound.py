"""The scan bound: how long DuckDB needs merely to read the record columns once. No scoring engine can beat it.

``scan(folder)`` runs, on a fresh in-memory DuckDB connection (default threads), one query over every
records/*/*.parquet file of a population folder::

    SELECT count(*), sum(hash(subject_id)), sum(hash(record_type)), sum(hash(event_date)),
           sum(hash(<field>)) for every other column but record_id
    FROM read_parquet('<folder>/records/*/*.parquet', union_by_name = true)

``hash`` forces every value of every column a score run reads (subject, type, date and all typed field
columns) to be decoded, and ``sum`` keeps the result one row. record_id is left out: scoring never reads it.
Subjects and consents are not read (they are a few percent of the bytes).

``scan_store(store)`` is the same over the store's ``records`` table, which is what our engine reads:
subject_id, record_type, event_date and the field columns the table holds (typed columns, or the JSON
``attrs`` column, whichever the store has). It reads every stored version, without picking the latest.
Only the query is timed, not connecting or planning the column list.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb

from socialcredit.catalog import load_catalog
from socialcredit.store import Store

__all__ = ["scan", "scan_sql", "scan_store", "scan_store_sql"]

_BASE = ("subject_id", "record_type", "event_date")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _select(columns: list[str], source: str) -> str:
    sums = ", ".join(f"sum(hash({_quote(c)}))" for c in columns)
    return f"SELECT count(*), {sums} FROM {source}"


def _records_source(folder: Path) -> str:
    pattern = str(Path(folder) / "records" / "*" / "*.parquet").replace("'", "''")
    return f"read_parquet('{pattern}', union_by_name = true)"


def scan_sql(folder: Path, con: duckdb.DuckDBPyConnection | None = None) -> str:
    """The query ``scan`` times, for ``folder``."""
    con = con or duckdb.connect()
    source = _records_source(folder)
    present = [str(r[0]) for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
    fields = [c for c in present if c not in (*_BASE, "record_id")]
    return _select([*_BASE, *fields], source)


def scan(folder: Path) -> float:
    """Seconds DuckDB takes to read every column a score run needs from the records Parquet, once."""
    con = duckdb.connect()
    try:
        sql = scan_sql(folder, con)
        started = time.perf_counter()
        con.execute(sql).fetchall()
        return time.perf_counter() - started
    finally:
        con.close()


def scan_store_sql(store: Store) -> str:
    """The query ``scan_store`` times, for the store's records table."""
    present = {str(r[0]) for r in store.execute("DESCRIBE records").fetchall()}
    fields = [c for c in load_catalog().field_columns() if c in present]
    if "attrs" in present:
        fields.append("attrs")
    return _select([*_BASE, *fields], "records")


def scan_store(store: Store) -> float:
    """Seconds DuckDB takes to read the records table's subject, type, date and field columns, once."""
    sql = scan_store_sql(store)
    started = time.perf_counter()
    store.execute(sql).fetchall()
    return time.perf_counter() - started
