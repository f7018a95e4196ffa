"""A batch's subjects are looked up by identifier in subject_keys (registry/records/ingest.py ``_stage_subjects``):
a small batch's identifiers as a list of constants, which DuckDB answers from the index, a larger or odd one by a
join. Both give the batch the same outcome; a store made before subject_keys held the kind gets it from its
subjects when opened."""

from __future__ import annotations

import csv
import datetime as dt
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialcredit import store as store_module
from socialcredit.identifiers import make_ric, make_uscc
from socialcredit.registry.records import ingest
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.store import MIGRATIONS, Store, open_store

TODAY = dt.date(2026, 6, 1)
PERSON = make_ric("110101", dt.date(1985, 1, 2), 3)
OTHER = make_ric("110105", dt.date(1990, 6, 30), 12)
ORG = make_uscc("91110000600037341")
UNKNOWN = make_ric("110108", dt.date(1970, 3, 4), 21)  # valid, never registered
NAMED = [PERSON, OTHER, ORG, UNKNOWN, PERSON.lower(), PERSON[:17], "", "x'); DROP TABLE records; --", ORG + " "]


def _subjects(folder: Path) -> Path:
    path = folder / "subjects.csv"
    path.write_text(f"subject_id,name\n{PERSON},张三\n{OTHER},李四\n{ORG},北京某公司\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, Store]:
    folder = tmp_path_factory.mktemp("lookup")
    made = []
    for name in ("indexed", "joined"):
        store = open_store(folder / f"{name}.duckdb", create=True, key="")
        ingest_file(store, _subjects(folder), "civil_affairs", today=TODAY)
        made.append(store)
    return made[0], made[1]


counter = iter(range(10**9))


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(named=st.lists(st.sampled_from(NAMED), min_size=1, max_size=8))
def test_the_index_and_the_join_give_a_batch_the_same_outcome(
    stores: tuple[Store, Store], tmp_path: Path, named: list[str]
) -> None:
    """Traffic tickets (persons only) naming persons, an organisation, an unregistered number and odd strings: the
    same rows accepted and refused, for the same reasons, whichever way the subjects were looked up."""
    batch = next(counter)
    path = tmp_path / f"t{batch}.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["record_id", "subject_id", "record_type", "event_date", "offence", "fine", "status"])
        for i, subject in enumerate(named):
            out.writerow([f"T{batch}-{i}", subject, "traffic_ticket", "2026-05-01", "speeding", "200", "paid"])
    indexed, joined = stores
    outcomes = []
    for store, most in ((indexed, ingest.INDEXED_LOOKUP_MOST), (joined, -1)):
        with mock.patch.object(ingest, "INDEXED_LOOKUP_MOST", most):
            report = ingest_file(store, path, "traffic_police", today=TODAY)
        rows = store.rows(
            "SELECT record_id, subject_id, subject_key FROM records WHERE batch_id = ? ORDER BY record_id",
            [report.batch_id],
        )
        outcomes.append((report.accepted, report.rejected, [(e.row, e.field, e.message) for e in report.errors], rows))
    assert outcomes[0] == outcomes[1]
    accepted = {r["subject_id"] for r in outcomes[0][3]}
    assert accepted <= {PERSON, OTHER}  # never the organisation, the unregistered number or an odd string


def test_a_batch_of_more_subjects_than_the_index_takes_is_joined(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.duckdb", create=True, key="")
    ingest_file(store, _subjects(tmp_path), "civil_affairs", today=TODAY)
    path = tmp_path / "t.csv"
    path.write_text(
        "record_id,subject_id,record_type,event_date,offence,fine,status\n"
        f"T1,{PERSON},traffic_ticket,2026-05-01,speeding,200,paid\n"
        f"T2,{ORG},traffic_ticket,2026-05-01,speeding,200,paid\n",
        encoding="utf-8",
    )
    with mock.patch.object(ingest, "INDEXED_LOOKUP_MOST", 1):
        report = ingest_file(store, path, "traffic_police", today=TODAY)
    assert (report.accepted, report.rejected) == (1, 1)
    assert [(e.row, e.field) for e in report.errors] == [(2, "subject_id")]
    assert store.one("SELECT subject_id FROM records WHERE record_id = 'T1'") == PERSON


def test_a_store_from_before_the_kind_was_kept_gets_it_from_its_subjects(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    older = [m for m in MIGRATIONS if m[0] < 35]
    with mock.patch.object(store_module, "MIGRATIONS", older), open_store(path, create=True, key="") as old:
        # as the program before wrote them: a subject's versions, and its key without a kind
        old.execute(
            "INSERT INTO subjects (seq, subject_id, kind, name, subject_key, batch_id, recorded_at) VALUES "
            "(1, ?, 'person', '张三', 1, 1, now()), (2, ?, 'org', '北京某公司', 2, 1, now()), "
            "(3, ?, 'person', '张三', 1, 2, now())",
            [PERSON, ORG, PERSON],
        )
        old.execute("INSERT INTO subject_keys VALUES (1, ?), (2, ?)", [PERSON, ORG])
    with open_store(path, key="") as store:
        assert store.rows("SELECT subject_key, subject_id, kind FROM subject_keys ORDER BY 1") == [
            {"subject_key": 1, "subject_id": PERSON, "kind": "person"},
            {"subject_key": 2, "subject_id": ORG, "kind": "org"},
        ]


# A writer that registers subjects and ends without closing the store (os._exit: no rollback, no checkpoint).
_CRASHING_WRITER = """
import os, pathlib, sys
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.store import open_store
store = open_store(pathlib.Path(sys.argv[1]), key="")
report = ingest_file(store, pathlib.Path(sys.argv[2]), "civil_affairs")
assert report.accepted == 3, report
os._exit(9)
"""


def _found_by_identifier(path: Path) -> list[str]:
    with open_store(path, key="") as store:
        return [
            i for i in (PERSON, OTHER, ORG) if store.one("SELECT count(*) FROM subject_keys WHERE subject_id = ?", [i])
        ]


def test_subjects_registered_just_before_a_crash_are_found_by_identifier_after_it(tmp_path: Path) -> None:
    """The log the crash left is replayed when the store is next opened; closing it then checkpoints. DuckDB 1.5.5
    lost the replayed rows from subject_keys' index at that checkpoint: every identifier looked up by it (a batch's
    subjects, a resident's page) found no one, and a load resumed after the crash refused every record."""
    path = tmp_path / "s.duckdb"
    open_store(path, create=True, key="").close()
    crashed = subprocess.run(
        [sys.executable, "-c", _CRASHING_WRITER, str(path), str(_subjects(tmp_path))], capture_output=True, text=True
    )
    assert crashed.returncode == 9, crashed.stderr
    assert path.with_name("s.duckdb.wal").stat().st_size > 0  # left to replay
    open_store(path, key="").close()  # replayed, then closed
    assert _found_by_identifier(path) == [PERSON, OTHER, ORG]
    batch = tmp_path / "t.csv"
    batch.write_text(
        "record_id,subject_id,record_type,event_date,offence,fine,status\n"
        f"T1,{PERSON},traffic_ticket,2026-05-01,speeding,200,paid\n",
        encoding="utf-8",
    )
    with open_store(path, key="") as store:
        assert ingest_file(store, batch, "traffic_police", today=TODAY).accepted == 1
