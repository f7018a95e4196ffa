"""Are two stores the same? ``python benchmarks/same_stores.py STORE_A STORE_B``.

For a change to ingest: load the same population by the code before and after into two new stores
(``benchmarks/ingest_profile.py``), then compare them. Every table of either store must be in both, with the same
columns, and hold the same rows as a multiset: ``EXCEPT ALL`` both ways, on every column but those that
legitimately differ between two loads — a time (any TIMESTAMP column: when a row was written), the audit log's hash
chain (it hashes those times) and the store's own random id (``store_info``'s row ``store_id``). Prints one line
per table that holds rows and exits 1 if any table differs. Unencrypted stores only (the benchmark's). It suits
``small``: at ``city`` the ``EXCEPT ALL`` of 21 million records filled 24 GB of memory."""

from __future__ import annotations

import sys

import duckdb

IGNORED = {"audit_log": {"hash", "prev_hash"}}
KEPT_ROWS = {"store_info": "key <> 'store_id'"}  # the store's random id


def _columns(con: duckdb.DuckDBPyConnection, db: str, table: str) -> list[tuple[str, str]]:
    return [
        (str(n), str(t))
        for n, t in con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? AND table_name = ? "
            "ORDER BY column_index",
            [db, table],
        ).fetchall()
    ]


def _count(con: duckdb.DuckDBPyConnection, query: str) -> int:
    row = con.execute(f"SELECT count(*) FROM ({query})").fetchone()
    return int(row[0]) if row else 0


def compare(a: str, b: str) -> list[str]:
    """The names of the tables that differ between stores ``a`` and ``b`` (printing each table's counts)."""
    con = duckdb.connect()
    for alias, path in (("a", a), ("b", b)):
        quoted = path.replace("'", "''")
        con.execute(f"ATTACH '{quoted}' AS {alias} (READ_ONLY)")
    tables = {
        db: {
            str(t)
            for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [db]).fetchall()
        }
        for db in ("a", "b")
    }
    differ = sorted(tables["a"] ^ tables["b"])
    for name in differ:
        print(f"{name}: in one store only")
    for name in sorted(tables["a"] & tables["b"]):
        cols = _columns(con, "a", name)
        if cols != _columns(con, "b", name):
            print(f"{name}: other columns")
            differ.append(name)
            continue
        skip = {n for n, t in cols if t.startswith("TIMESTAMP")} | IGNORED.get(name, set())
        kept = ", ".join(f'"{n}"' for n, _ in cols if n not in skip) or "1"
        rows = _count(con, f'SELECT * FROM a."{name}"')
        where = f" WHERE {KEPT_ROWS[name]}" if name in KEPT_ROWS else ""
        only = [
            _count(con, f'SELECT {kept} FROM {x}."{name}"{where} EXCEPT ALL SELECT {kept} FROM {y}."{name}"{where}')
            for x, y in (("a", "b"), ("b", "a"))
        ]
        if any(only):
            differ.append(name)
        if rows or any(only):
            print(
                f"{name}: {rows} rows; only in the first {only[0]}, only in the second {only[1]}; "
                f"ignored {sorted(skip)}"
            )
    print("the same" if not differ else f"{len(differ)} tables differ: {', '.join(differ)}")
    return differ


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: python benchmarks/same_stores.py STORE_A STORE_B")
    sys.exit(1 if compare(sys.argv[1], sys.argv[2]) else 0)
