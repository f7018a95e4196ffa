"""`socialcredit load` is idempotent and resumable: a second load of the same folder changes nothing and says so,
a load cut short by a crash is completed by the next, and consents are never recorded twice."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crash_helpers import cli, seen, store_counts, table_counts
from due_world import A, B, build
from socialcredit.generate import generate
from socialcredit.registry.records.consent import current_consents, import_consents
from socialcredit.store import open_store

CRASH_AT_THIRD_RECORDS_BATCH = """
class Crash:
    calls = 0

    @hookimpl(trylast=True)
    def records_ingested(self, store, source_id, batch_id, today):
        Crash.calls += 1
        if Crash.calls == 3:  # inside the third records batch's transaction: it is never committed
            die({"batch_id": batch_id, "batches": store.one("SELECT count(*) FROM batches")})
"""


class Folder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.files = sorted((path / "subjects").glob("*.parquet")) + sorted(
            p for d in sorted((path / "records").iterdir()) for p in sorted(d.glob("*.parquet"))
        )
        self.rows = [pq.read_metadata(p).num_rows for p in self.files]
        self.consents = pq.read_metadata(path / "consents.parquet").num_rows
        self.subject_files = len(list((path / "subjects").glob("*.parquet")))


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Folder:
    out = tmp_path_factory.mktemp("city") / "city"
    generate(300, seed=1, out=out)
    return Folder(out)


@pytest.fixture(scope="module")
def loaded_once(city: Folder, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("once") / "once.duckdb"
    first = cli("load", str(city.path), db=db)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout == (
        f"Loaded {city.path}: {sum(city.rows)} rows accepted, 0 rejected from {len(city.files)} files; "
        f"{city.consents} consents recorded, 0 unchanged.\n"
    )
    return db


def _counters(db: Path) -> list[tuple[str, int]]:
    with open_store(db, key="") as store:
        return [(str(n), int(v)) for n, v in store.execute("SELECT name, value FROM counters ORDER BY 1").fetchall()]


def _consents(db: Path) -> list[tuple[str, str, bool]]:
    with open_store(db, key="") as store:
        return [
            (str(s), str(c), bool(g))
            for s, c, g in store.execute(
                "SELECT subject_id, category, granted FROM consents ORDER BY 1, 2, 3"
            ).fetchall()
        ]


def test_a_second_load_changes_nothing_and_says_so(city: Folder, loaded_once: Path, tmp_path: Path) -> None:
    db = tmp_path / "twice.duckdb"
    db.write_bytes(loaded_once.read_bytes())
    once, counters = table_counts(db), _counters(db)
    assert once["consents"] == city.consents and once["batches"] == len(city.files)
    second = cli("load", str(city.path), db=db)
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout == (
        f"Loaded {city.path} before: nothing changed ({len(city.files)} files skipped, 0 consents recorded, "
        f"{city.consents} unchanged).\n"
    )
    skipped = re.findall(r"^  (\S+): loaded before \(batch (\d+)\), skipped$", second.stderr, re.M)
    assert skipped == [(str(p), str(i + 1)) for i, p in enumerate(city.files)]
    # not a row more in any table (no batch, no audit entry, no version, no consent), not a number taken
    assert table_counts(db) == once
    assert _counters(db) == counters
    assert _consents(db) == _consents(loaded_once)


def test_a_load_cut_short_is_completed_by_the_next(city: Folder, loaded_once: Path, tmp_path: Path) -> None:
    db = tmp_path / "cut.duckdb"
    crashed = cli("load", str(city.path), db=db, crash=CRASH_AT_THIRD_RECORDS_BATCH, folder=tmp_path / "inj")
    assert crashed.returncode == 9, crashed.stdout + crashed.stderr
    done = city.subject_files + 2  # the subjects files and two records files were committed, the third was not
    assert seen(tmp_path / "inj") == {"batch_id": done + 1, "batches": done + 1}
    cut = table_counts(db)
    assert (cut["batches"], cut["consents"]) == (done, 0)
    assert cut["subjects"] + cut["records"] == sum(city.rows[:done])
    resumed = cli("load", str(city.path), db=db)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert resumed.stdout == (
        f"Loaded {city.path}: {sum(city.rows[done:])} rows accepted, 0 rejected from {len(city.files) - done} files "
        f"({done} loaded before, skipped); {city.consents} consents recorded, 0 unchanged.\n"
    )
    assert resumed.stderr.count("loaded before") == done
    # the same store as one load without a crash, table by table
    assert table_counts(db) == table_counts(loaded_once)
    assert _consents(db) == _consents(loaded_once)
    again = cli("load", str(city.path), db=db)
    assert again.returncode == 0 and "nothing changed" in again.stdout, again.stdout + again.stderr


def test_a_second_load_keeps_a_later_correction(city: Folder, loaded_once: Path, tmp_path: Path) -> None:
    db = tmp_path / "corrected.duckdb"
    db.write_bytes(loaded_once.read_bytes())
    judgment = pq.read_table(city.path / "records" / "courts" / "part-00000.parquet").slice(0, 1).to_pylist()[0]
    correction = tmp_path / "correction.csv"
    correction.write_text(
        "record_id,subject_id,record_type,event_date,case_type,amount,status,defaulter,correction\n"
        f"{judgment['record_id']},{judgment['subject_id']},court_judgment,{judgment['event_date']},"
        f"{judgment['case_type']},{judgment['amount']},fulfilled,false,true\n",
        encoding="utf-8",
    )
    sent = cli("ingest", str(correction), "--source", "courts", db=db)
    assert sent.returncode == 0 and "1 accepted" in sent.stdout, sent.stdout + sent.stderr
    before = table_counts(db)
    again = cli("load", str(city.path), db=db)
    assert again.returncode == 0 and "nothing changed" in again.stdout, again.stdout + again.stderr
    assert table_counts(db) == before  # the original file was not sent again over the correction
    with open_store(db, key="") as store:
        latest = store.execute(
            "SELECT version, status FROM records WHERE source_id = 'courts' AND record_id = ? "
            "ORDER BY version DESC LIMIT 1",
            [judgment["record_id"]],
        ).fetchone()
    assert latest == (2, "fulfilled")


def test_consents_already_chosen_are_not_recorded_again(tmp_path: Path) -> None:
    store = build(tmp_path)

    def write(rows: list[tuple[str, str, bool]], name: str) -> str:
        path = tmp_path / name
        subjects, categories, granted = zip(*rows, strict=True)
        table = pa.table({"subject_id": subjects, "category": categories, "granted": granted})
        pq.write_table(table, path)
        return str(path)

    try:
        first = write([(A, "commercial", True), (B, "commercial", True), (B, "commercial", False)], "c1.parquet")
        assert import_consents(store, first) == (2, 1)  # B's last row in the file wins: one choice recorded
        assert (current_consents(store, A), current_consents(store, B)) == ({"commercial": True}, {"commercial": False})
        counts = store_counts(store)
        assert import_consents(store, first) == (0, 3)
        assert store_counts(store) == counts  # nothing written, not even an audit entry
        changed = write([(A, "commercial", False), (B, "commercial", False)], "c2.parquet")
        assert import_consents(store, changed) == (1, 1)
        assert current_consents(store, A) == {"commercial": False}
        assert store.one("SELECT count(*) FROM consents") == 3
        assert store.one("SELECT count(*) FROM audit_log WHERE action = 'import_consents'") == 2
    finally:
        store.close()


def _wal_bytes(db: Path) -> int:
    wal = db.with_name(db.name + ".wal")
    return wal.stat().st_size if wal.exists() else 0


def test_a_load_checkpoints_once_at_its_end(city: Folder, tmp_path: Path) -> None:
    from socialcredit.registry.records.population import load_population

    db = tmp_path / "once.duckdb"
    wal_after_each_file: list[int] = []
    settings: list[str] = []
    with open_store(db, create=True, key="") as store:
        # a threshold every file's commit passes: DuckDB would checkpoint (and empty the log) after each
        store.execute("SET checkpoint_threshold = '1KB'")
        store.execute("CHECKPOINT")

        def after_file(_report: object) -> None:
            wal_after_each_file.append(_wal_bytes(db))
            settings.append(str(store.one("SELECT current_setting('checkpoint_threshold')")))

        load = load_population(store, city.path, on_file=after_file)
        assert len(load.reports) == len(city.files)
        # every commit stayed in the write-ahead log, which only grew, with the threshold lifted for the load
        assert all(b > 0 for b in wal_after_each_file)
        assert wal_after_each_file == sorted(wal_after_each_file)
        assert set(settings) == {"931.3 GiB"}
        # afterwards the threshold is the store's own again and the log was checkpointed into the store
        assert store.one("SELECT current_setting('checkpoint_threshold')") == "1000 bytes"
        assert _wal_bytes(db) == 0
    assert table_counts(db)["records"] + table_counts(db)["subjects"] == sum(city.rows)
