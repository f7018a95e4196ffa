"""A live pass finds its few subjects' rows through indexes, not by scans of tables that grow with the registry.

A pass reads a few hundred subjects spread over the registry: their scoring state, their latest versions and
consents, their role records. No row group's bounds exclude such subjects, so without an index each read was a scan
(at beijing: 736 ms of CPU a pass for the state, 460 for subjects and consents, 135 for role records). These tests
ask DuckDB how it read each of the pass's statements (``EXPLAIN ANALYZE``: "Index Scan" or "Sequential Scan"), and
that a state built again, in a new process, keeps its index.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scoring_helpers import EX_AS_OF, build_example_store
from socialcredit.policy import builtin_policy
from socialcredit.registry.decisions.live import _related, related_subjects, state_of
from socialcredit.registry.scoring.inputs import _IDS, _KEYS, _filled, _subjects_query
from socialcredit.registry.scoring.state import build_state, check_state, drop_state, index_states, state_info
from socialcredit.registry.service import Service
from socialcredit.store import Store, listed_integers, listed_strings, open_store

CLI = str(Path(sys.executable).parent / "socialcredit")


# DuckDB reads a table of a row group or two by a scan whatever its indexes; the tables are filled to a few
# row groups with subjects nobody asks about (their keys and identifiers far from the example's).
_PADDING = 300_000


def _pad_state(store: Store, table: str) -> None:
    store.execute(
        f"INSERT INTO {table} (subject_id, item, event_date, record_key) "
        f"SELECT 10000000 + i, 0, DATE '2026-01-01', -1 - i FROM range({_PADDING}) t(i)"
    )


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store, _ = build_example_store(tmp_path_factory.mktemp("example"))
    store.execute(
        "INSERT INTO subjects (seq, subject_id, kind, recorded_at, subject_key) "
        f"SELECT 10000000 + i, 'P' || i, 'person', now(), 10000000 + i FROM range({_PADDING}) t(i)"
    )
    store.execute(
        "INSERT INTO consents SELECT c.* REPLACE (10000000 + 100 * i + c.seq AS seq, 'P' || i AS subject_id) "
        f"FROM consents c, range({_PADDING // 100}) t(i)"
    )
    store.execute(
        "INSERT INTO role_records SELECT -1 - i, 'registration', 'R' || i, 1, 'P' || i, 10000000 + i, "
        f"DATE '2026-01-01', false, 'O' || i, 'director', NULL, NULL, -1 - i FROM range({_PADDING}) t(i)"
    )
    info = state_info(store, builtin_policy("beijing"))
    assert info is not None
    _pad_state(store, f'"{info.table_name}"')
    assert index_states(store) == 2  # beijing's and sesame's, as a service starting would (runs build them unindexed)
    yield store
    store.close()


def _scans(store: Store, sql: str, params: dict[str, object] | None = None) -> dict[str, int]:
    """How DuckDB read the tables of ``sql``: how many of the table scans in its analysed plan went by an index, and
    how many read every row (the boxes of a plan stand side by side, so they are counted, not parsed)."""
    plan = str(store.execute("EXPLAIN ANALYZE " + sql, params or {}).fetchall()[0][1])
    return {"index": plan.count("Type: Index Scan"), "sequential": plan.count("Type: Sequential Scan")}


def _some(store: Store, n: int) -> tuple[list[str], list[int]]:
    """``n`` of the example's persons and ``n`` of the padding's, spread over it, as a pass's subjects are spread
    over the registry (a list of keys in one row group's range is read by a scan of that row group instead)."""
    rows = store.execute(
        "SELECT subject_id, subject_key FROM subject_keys WHERE kind = 'person' ORDER BY subject_key DESC LIMIT ?", [n]
    ).fetchall()
    padding = [i * (_PADDING // n) for i in range(n)]
    return [str(r[0]) for r in rows] + [f"P{i}" for i in padding], [int(r[1]) for r in rows] + [
        10_000_000 + i for i in padding
    ]


def test_a_pass_reads_its_subjects_and_their_consents_through_the_indexes(example: Store) -> None:
    # (with up to four keys, DuckDB 1.5.5 reads the subjects' keys in the range of the list, then the rows found)
    ids, keys = _some(example, 3)
    sql = _filled(_subjects_query(["commercial"], [_IDS], keys=[_KEYS]).sql(dialect="duckdb"), ids, keys)
    seq = int(example.one("SELECT value FROM counters WHERE name = 'seq'"))
    assert _scans(example, sql, {"w": seq}) == {"index": 2, "sequential": 0}
    # the padding was registered after the watermark: the pass still reads each subject as of it
    found = example.execute(sql, {"w": seq}).fetchall()
    assert sorted(str(r[1]) for r in found) == sorted(ids[:3])


def test_a_pass_reads_its_state_and_role_records_through_the_indexes(example: Store) -> None:
    info = state_info(example, builtin_policy("beijing"))
    assert info is not None
    _, keys = _some(example, 4)
    table = f'"{info.table_name}"'
    assert _scans(example, state_of(table, keys)) == {"index": 1, "sequential": 0}
    assert (
        example.execute(f"SELECT count(*) FROM ({state_of(table, keys)})").fetchone()
        == example.execute(f"SELECT count(*) FROM {table} WHERE subject_id IN ({', '.join(map(str, keys))})").fetchone()
    )
    assert _scans(example, _related(["O0", "O150000", "O299999", "P7"])) == {"index": 2, "sequential": 0}
    assert related_subjects(example, ["O150000", "P7"]) == {"P150000", "O7"}


def test_a_state_is_built_without_its_index_and_the_service_indexes_it(tmp_path: Path) -> None:
    # only live passes read a state by subject: the run that built it did not pay for the index (48 s and more at
    # beijing, and each later checkpoint of the state); the service indexes every state it serves when it starts
    store, _ = build_example_store(tmp_path)
    try:
        info = state_info(store, builtin_policy("beijing"))
        assert info is not None
        assert store.one("SELECT count(*) FROM duckdb_indexes() WHERE table_name = ?", [info.table_name]) == 0
        _pad_state(store, f'"{info.table_name}"')
        _, keys = _some(store, 2)
        assert _scans(store, state_of(f'"{info.table_name}"', keys)) == {"index": 0, "sequential": 1}
        # a pass of no subjects (the service's, when it loads a run) reads none of it
        assert _scans(store, state_of(f'"{info.table_name}"', [])) == {"index": 0, "sequential": 0}
    finally:
        store.execute("CHECKPOINT")
        store.close()
    service = Service(open_store(store.path), flush_interval=3600)
    try:
        with service.writer() as s:
            assert _scans(s, state_of(f'"{info.table_name}"', keys)) == {"index": 1, "sequential": 0}
            assert index_states(s) == 0  # both policies' states
            assert drop_state(s, builtin_policy("sesame"))
        # a score job builds sesame's state again (there is none): the service indexes it before live passes read it
        job = service.start_job("sesame", EX_AS_OF, False, "test")
        for _ in range(600):
            if job.status in ("finished", "failed"):
                break
            time.sleep(0.1)
        assert (job.status, job.error) == ("finished", None)
        with service.writer() as s:
            built = state_info(s, builtin_policy("sesame"))
            assert built is not None
            indexes = s.execute("SELECT index_name FROM duckdb_indexes() WHERE table_name = ?", [built.table_name])
            assert indexes.fetchall() == [(f"{built.table_name}_subject",)]
    finally:
        service.close()


def test_a_state_built_again_in_another_process_after_it_was_indexed_keeps_its_rows(tmp_path: Path) -> None:
    store, _ = build_example_store(tmp_path)
    db = store.path
    assert index_states(store) == 2
    store.execute("CHECKPOINT")
    store.close()
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_TODAY")}
    for _ in range(2):  # each drops a table whose index was read from the file, then builds the state again
        proc = subprocess.run(
            [CLI, "state", "build", "beijing", "--db", str(db)], capture_output=True, text=True, env=env
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert proc.stdout.startswith("Built the scoring state of beijing 2026.2: ")
        store = open_store(db)
        assert index_states(store) == 1  # as a service started on the store would (beijing's; sesame's is indexed)
        store.execute("CHECKPOINT")
        store.close()
    store = open_store(db)
    try:
        loaded = builtin_policy("beijing")
        info = state_info(store, loaded)
        assert info is not None
        indexes = store.execute("SELECT index_name FROM duckdb_indexes() WHERE table_name = ?", [info.table_name])
        assert indexes.fetchall() == [(f"{info.table_name}_subject",)]
        assert check_state(store, loaded)["ok"] is True
        build_state(store, loaded)  # and again in this process, in one transaction with the drop of the indexed table
        assert check_state(store, loaded)["ok"] is True
        assert store.one("SELECT count(*) FROM duckdb_indexes() WHERE table_name = ?", [info.table_name]) == 0
    finally:
        store.close()


def test_the_lists_written_into_a_pass_s_statements_keep_every_identifier_whole(example: Store) -> None:
    assert listed_strings(["O'1", "P7"]) == "'O''1', 'P7'"
    assert (listed_strings([]), listed_integers([])) == ("NULL", "NULL")
    store = example
    store.execute(
        "INSERT INTO role_records SELECT -9000001, 'registration', 'RQ', 1, 'P''Q', 9000001, DATE '2026-01-01', false, "
        "'O''Q', 'director', NULL, NULL, -9000001"
    )
    try:
        assert related_subjects(store, ["O'Q"]) == {"P'Q"}
        assert related_subjects(store, ["P'Q", "O150000"]) == {"O'Q", "P150000"}
    finally:
        store.execute("DELETE FROM role_records WHERE record_key = -9000001")


def test_a_score_job_whose_state_cannot_be_indexed_still_finishes_and_is_served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # the run is committed before the index is built: a failed index (memory, disk) must not report the job failed
    # while its run stands, nor leave decisions on the run before it
    store, _ = build_example_store(tmp_path)
    store.execute("CHECKPOINT")
    store.close()
    service = Service(open_store(store.path), flush_interval=3600)
    try:
        with service.writer() as s:
            assert drop_state(s, builtin_policy("sesame"))

        def served() -> set[int]:  # the runs sesame's decisions stand on (held as "<service>@sesame")
            return {snap.run_id for key, snap in service.snapshots.items() if key.endswith("@sesame")}

        (before,) = served()

        def out_of_memory(_store: Store) -> int:
            raise MemoryError("no memory for the index")

        monkeypatch.setattr("socialcredit.registry.service.index_states", out_of_memory)
        job = service.start_job("sesame", EX_AS_OF, False, "test")
        for _ in range(600):
            if job.status in ("finished", "failed"):
                break
            time.sleep(0.1)
        assert (job.status, job.error) == ("finished", None)
        assert job.run_id is not None and job.run_id != before
        assert served() == {job.run_id}
        assert "the scoring states could not be indexed after a score job" in caplog.text
    finally:
        service.close()
