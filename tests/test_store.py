"""The store: schema migrations, encryption at rest, clear errors for a wrong or missing key."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st

import socialcredit.store as store_module
from socialcredit.catalog import load_catalog
from socialcredit.compiler.plan import MAX_REASONS
from socialcredit.errors import SocialCreditError, StoreError
from socialcredit.store import KEY_ENV, MEMORY_ENV, MIGRATIONS, Store, latest_subjects, open_store


def test_new_store_is_migrated_to_the_newest_schema(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.duckdb", create=True, key="") as store:
        assert store.schema_version() == MIGRATIONS[-1][0]
        assert store.created and not store.encrypted
    with open_store(tmp_path / "s.duckdb", key="") as store:  # reopening applies nothing twice
        assert store.one("SELECT count(*) FROM schema_version") == len(MIGRATIONS)


def test_encrypted_store_round_trip_and_wrong_key(tmp_path: Path) -> None:
    path = tmp_path / "enc.duckdb"
    with open_store(path, create=True, key="s3cret'key") as store:
        assert store.encrypted
        store.execute("INSERT INTO policies VALUES ('p', '1', 'abc', 'secret_policy_text_甲', now())")
    raw = path.read_bytes()
    assert b"secret_policy_text" not in raw and b"tax_payment" not in raw  # nothing readable in the file
    with open_store(path, key="s3cret'key") as store:
        assert store.one("SELECT text FROM policies WHERE policy_id = 'p'") == "secret_policy_text_甲"
        assert store.one("SELECT record_types FROM sources WHERE source_id = 'courts'") == ["court_judgment"]
    with pytest.raises(StoreError) as wrong:
        open_store(path, key="other")
    assert str(wrong.value) == f"the key in {KEY_ENV} does not open the store {path}"
    with pytest.raises(StoreError) as missing:
        open_store(path, key="")
    assert str(missing.value) == f"the store {path} is encrypted: set {KEY_ENV} to its key"


def test_plain_store_shows_its_content_in_the_file(tmp_path: Path) -> None:
    """The control for the encryption test: without a key, the same text is readable in the file."""
    path = tmp_path / "plain.duckdb"
    with open_store(path, create=True, key="") as store:
        store.execute("INSERT INTO policies VALUES ('p', '1', 'abc', 'secret_policy_text_甲', now())")
    assert b"secret_policy_text" in path.read_bytes()


def test_plain_store_refuses_a_key(tmp_path: Path) -> None:
    path = tmp_path / "plain.duckdb"
    open_store(path, create=True, key="").close()
    with pytest.raises(StoreError) as exc:
        open_store(path, key="k")
    assert str(exc.value) == f"the store {path} is not encrypted, but {KEY_ENV} is set; unset it to open it"


def test_missing_store_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as exc:
        open_store(tmp_path / "none.duckdb")
    assert (
        str(exc.value) == f"no store at {tmp_path / 'none.duckdb'}; create one with `socialcredit init --db "
        f"{tmp_path / 'none.duckdb'}`"
    )


def test_key_is_read_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "from-env")
    with open_store(tmp_path / "e.duckdb", create=True) as store:
        assert store.encrypted
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(StoreError):
        open_store(tmp_path / "e.duckdb")


def test_memory_limit_and_spill_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MEMORY_ENV, "1GB")
    store = open_store(tmp_path / "m.duckdb", create=True, key="")
    assert store.one("SELECT current_setting('memory_limit')") in ("953.6 MiB", "1.0 GiB", "1000.0 MB")
    assert store.one("SELECT current_setting('temp_directory')") == str(tmp_path / "m.duckdb.tmp")
    store.close()
    monkeypatch.setenv(MEMORY_ENV, "lots")
    with pytest.raises(StoreError) as info:
        open_store(tmp_path / "m.duckdb", key="")
    assert str(info.value) == "SOCIALCREDIT_MEMORY_LIMIT='lots' is not a memory size such as 12GB"


def _duckdb_default_threads() -> int:
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        return int(con.execute("SELECT current_setting('threads')").fetchone()[0])  # type: ignore[index]
    finally:
        con.close()


def test_the_threads_duckdb_uses_are_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOCIALCREDIT_THREADS", raising=False)
    store = open_store(tmp_path / "t.duckdb", create=True, key="")
    unset = store.one("SELECT current_setting('threads')")
    store.close()
    monkeypatch.setenv("SOCIALCREDIT_THREADS", "1")
    store = open_store(tmp_path / "t.duckdb", key="")
    # unset: DuckDB's own default, as a connection of its own has it
    assert (store.one("SELECT current_setting('threads')"), unset) == (1, _duckdb_default_threads())
    store.close()
    for bad, said in [
        ("0", "Input should be greater than or equal to 1"),
        ("257", "Input should be less than or equal to 256"),
        ("two", "Input should be a valid integer, unable to parse string as an integer"),
    ]:
        monkeypatch.setenv("SOCIALCREDIT_THREADS", bad)
        with pytest.raises(SocialCreditError) as info:
            open_store(tmp_path / "t.duckdb", key="")
        assert str(info.value) == f"SOCIALCREDIT_THREADS={bad!r}: {said}"


def test_a_store_held_by_another_process_is_refused_plainly(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    db = tmp_path / "held.duckdb"
    open_store(db, create=True, key="").close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from socialcredit.store import open_store; s = open_store({str(db)!r}, key=''); "
            "print('open', flush=True); import time; time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(StoreError) as info:
            open_store(db, key="")
        assert str(info.value) == (
            f"the store {db} is in use by another process, such as a running `socialcredit serve` (only one "
            "process may write to it): stop that process, or go through the service's HTTP API"
        )
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    time.sleep(0.1)
    open_store(db, key="").close()  # free again once the holder is gone


def test_current_subjects_and_consents_are_the_latest_versions(tmp_path: Path) -> None:
    """One definition of "the latest version": the views, and latest_subjects as of a watermark or filtered first."""
    with open_store(tmp_path / "s.duckdb", create=True, key="") as store:
        assert store.catalog is load_catalog()
        for seq, sid, name in [(1, "A", "Li Wei"), (2, "B", "Wang Fang"), (3, "A", "Li Wei2"), (5, "A", "Zhao Min")]:
            store.execute(
                "INSERT INTO subjects (seq, subject_id, kind, name, recorded_at) VALUES (?, ?, 'person', ?, now())",
                [seq, sid, name],
            )
        for seq, sid, category, granted in [(1, "A", "x", True), (2, "A", "x", False), (3, "A", "y", True)]:
            store.execute("INSERT INTO consents VALUES (?, ?, ?, ?, 'test', now())", [seq, sid, category, granted])
        current = store.execute("SELECT subject_id, name FROM current_subjects ORDER BY 1").fetchall()
        assert current == [("A", "Zhao Min"), ("B", "Wang Fang")]
        as_of_3 = latest_subjects(("subject_id", "name"), watermark=3).sql(dialect="duckdb")
        assert store.execute(f"{as_of_3} ORDER BY 1").fetchall() == [("A", "Li Wei2"), ("B", "Wang Fang")]
        # a filter given to latest_subjects applies to the versions, before the latest is chosen
        li = latest_subjects(("subject_id", "name"), where=sqlglot.condition("name LIKE 'Li%'")).sql(dialect="duckdb")
        assert store.execute(li).fetchall() == [("A", "Li Wei2")]
        consents = store.execute("SELECT category, granted FROM current_consents ORDER BY 1").fetchall()
        assert consents == [("x", False), ("y", True)]


def test_run_reasons_keep_max_reasons() -> None:
    view = next(sql for version, _, sql in MIGRATIONS if version == 5)
    assert f"position <= {MAX_REASONS}" in view


# --- a new store's migrations in one transaction, an older store's one at a time: the same schema -------------------

_SCHEMA = {
    "tables": "SELECT table_name, has_primary_key, column_count, index_count, check_constraint_count, sql "
    "FROM duckdb_tables() WHERE database_name = 'registry'",
    "columns": "SELECT table_name, column_index, column_name, data_type, column_default, is_nullable "
    "FROM duckdb_columns() WHERE database_name = 'registry'",
    "constraints": "SELECT table_name, constraint_type, constraint_text, constraint_column_names "
    "FROM duckdb_constraints() WHERE database_name = 'registry'",
    "indexes": "SELECT index_name, table_name, is_unique, is_primary, expressions, sql "
    "FROM duckdb_indexes() WHERE database_name = 'registry'",
    "sequences": "SELECT sequence_name, start_value, min_value, max_value, increment_by, cycle, last_value "
    "FROM duckdb_sequences() WHERE database_name = 'registry'",
    "views": "SELECT view_name, sql FROM duckdb_views() WHERE database_name = 'registry' AND NOT internal",
    # what the migrations write, beside the schema (store_info holds a random id: its keys only)
    "versions": "SELECT version, name FROM schema_version",
    "counters": "SELECT name, value FROM counters",
    "store_info": "SELECT key FROM store_info",
    "catalogs": "SELECT version, sha256, text, published_by, shipped_sha256 FROM catalogs",
    "sources": "SELECT * FROM sources",
}


def _schema(store: Store, *, column_order: bool = True) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for name, sql in _SCHEMA.items():
        rows = [tuple(str(v) for v in row) for row in store.execute(sql).fetchall()]
        if name == "columns" and not column_order:
            rows = [row[:1] + row[2:] for row in rows]
        if name == "tables" and not column_order:  # a table's CREATE statement lists its columns in order
            rows = [row[:-1] for row in rows]
        out[name] = sorted(rows)
    return out


@functools.cache
def _one_transaction_schema(column_order: bool) -> dict[str, list[tuple[Any, ...]]]:
    with tempfile.TemporaryDirectory() as folder, open_store(Path(folder) / "new.duckdb", create=True, key="") as new:
        return _schema(new, column_order=column_order)


def test_a_new_store_in_one_transaction_has_the_schema_of_one_migrated_step_by_step(tmp_path: Path) -> None:
    """Every table, column (name, position, type, default, nullability), constraint, index, sequence and view, and
    the rows the migrations write, are those of a store that took each migration in a transaction of its own."""
    stepwise = functools.partial(store_module._migrate, stepwise=True)
    with (
        mock.patch.object(store_module, "_migrate", stepwise),
        open_store(tmp_path / "step.duckdb", create=True, key="") as step,
    ):
        assert step.one("SELECT count(*) FROM schema_version") == len(MIGRATIONS)
        stepped = _schema(step)
    expected = _one_transaction_schema(True)
    assert stepped == expected
    # views: current_subjects, current_consents, run_rule_points, run_reasons, and run_results, run_points,
    # run_result_keys over their tables (migration 49)
    assert len(expected["tables"]) > 40 and len(expected["views"]) == 7 and expected["indexes"]  # something compared


# --- a new store takes the steps after a migration (drop listed tables, make the run views, the first keys) only
# where its SQL names the temporary table that asks for them: the store is the one taking every step after every
# migration makes, as they were taken before


def _every_step(con: Any, sql: str) -> None:
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


@pytest.mark.slow
@settings(max_examples=6, deadline=None)  # each example creates and migrates a store (about 0.5 s)
@given(cut=st.sampled_from([version for version, _, _ in MIGRATIONS[:-1]]))
def test_a_store_stopped_at_any_version_then_migrated_has_the_new_stores_schema(cut: int) -> None:
    """A store made by an older program (the migrations up to ``cut``, in one transaction, as that program made a
    new store) steps through the rest one transaction each and ends with a new store's schema. Column positions
    (and the CREATE statements, which list the columns in order) are left out: the catalog's record fields were
    added to `records` when the old store was opened, before the columns later migrations add."""
    older = [m for m in MIGRATIONS if m[0] <= cut]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "old.duckdb"
        with mock.patch.object(store_module, "MIGRATIONS", older), open_store(path, create=True, key="") as old:
            assert old.schema_version() == cut
        with open_store(path, key="") as store:
            assert store.one("SELECT count(*) FROM schema_version") == len(MIGRATIONS)
            assert _schema(store, column_order=False) == _one_transaction_schema(False)
