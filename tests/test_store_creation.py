"""A new store's migrations take the steps after their SQL (drop listed tables, make the run views, the first keys)
only where the SQL names the temporary table that asks for them: the store they make is the one made by taking every
step after every migration, as they were taken before."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import duckdb

import socialcredit.store as store_module
from socialcredit.store import MIGRATIONS, Store, open_store

_SCHEMA = {
    "tables": "SELECT table_name, temporary, has_primary_key, column_count, index_count, check_constraint_count, sql "
    "FROM duckdb_tables() WHERE database_name IN ('registry', 'temp')",
    "columns": "SELECT table_name, column_index, column_name, data_type, column_default, is_nullable "
    "FROM duckdb_columns() WHERE database_name = 'registry'",
    "constraints": "SELECT table_name, constraint_type, constraint_text, constraint_column_names "
    "FROM duckdb_constraints() WHERE database_name = 'registry'",
    "indexes": "SELECT index_name, table_name, is_unique, is_primary, expressions, sql "
    "FROM duckdb_indexes() WHERE database_name = 'registry'",
    "sequences": "SELECT sequence_name, start_value, min_value, max_value, increment_by, cycle, last_value "
    "FROM duckdb_sequences() WHERE database_name = 'registry'",
    "views": "SELECT view_name, sql FROM duckdb_views() WHERE database_name = 'registry' AND NOT internal",
    "versions": "SELECT version, name FROM schema_version",
    "counters": "SELECT name, value FROM counters",
    "store_info": "SELECT key FROM store_info",
    "catalogs": "SELECT version, sha256, text, published_by, shipped_sha256 FROM catalogs",
    "sources": "SELECT * FROM sources",
}


def _schema(store: Store) -> dict[str, list[tuple[str, ...]]]:
    return {
        name: sorted(tuple(str(v) for v in row) for row in store.execute(sql).fetchall())
        for name, sql in _SCHEMA.items()
    }


def _every_step(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """The steps after a migration as they were taken before: all four, each asking whether its table was made."""
    store_module._drop_listed_tables(con)
    store_module._run_views(con)
    store_module._region_first_keys(con)
    store_module._add_first_keys(con)


def test_a_new_store_has_the_schema_of_one_that_took_every_step_after_every_migration(tmp_path: Path) -> None:
    names = ("_drop_tables", "_run_views", "_region_first_keys", "_first_key_tables")
    asking = {n: [v for v, _, sql in MIGRATIONS if n in sql] for n in names}
    # every step is asked for by some migration (the comparison below covers each), the run views by migration 49
    assert all(asking.values()) and asking["_run_views"] == [49] and asking["_region_first_keys"] == [47]
    with (
        mock.patch.object(store_module, "_after_migration", _every_step),
        open_store(tmp_path / "every.duckdb", create=True, key="") as every,
    ):
        expected = _schema(every)
    with open_store(tmp_path / "new.duckdb", create=True, key="") as new:
        made = _schema(new)
        temporary = new.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    assert made == expected
    assert temporary == []  # every listed table dropped: none is left to the connection
    # something compared: the run tables under their views (migration 49), the schema's versions
    assert len(expected["views"]) == 7 and len(expected["versions"]) == len(MIGRATIONS)
    assert ("run_results_rows",) in {row[:1] for row in expected["tables"]}
