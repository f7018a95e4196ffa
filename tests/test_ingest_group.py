"""Group commit (registry/records/ingest.py, ``ingest_group``): batches taken together in one transaction are each
validated, written and answered as if they came one by one, in their order; what one batch does wrong never reaches
the others."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api_helpers import scored_example
from socialcredit.errors import ConflictError, IngestError
from socialcredit.example import AS_OF
from socialcredit.registry.records import ingest
from socialcredit.registry.records.ingest import (
    BatchOptions,
    BatchOutcome,
    BatchRequest,
    ingest_group,
    ingest_request,
)
from socialcredit.registry.scoring.policies import get_policy
from socialcredit.registry.scoring.state import check_state, list_states
from socialcredit.store import Store, open_store

JUDGMENT = "court_judgment,{date},civil,{amount},unfulfilled,false"
HEADER = "record_id,subject_id,record_type,event_date,case_type,amount,status,defaulter"


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example, scored under beijing (which keeps a scoring state): the file each test copies."""
    folder = tmp_path_factory.mktemp("group")
    store = scored_example(folder)
    store.close()
    return folder / "store.duckdb"


@pytest.fixture
def store(scored: Path, tmp_path: Path) -> Iterator[Store]:
    shutil.copy(scored, tmp_path / "store.duckdb")
    with open_store(tmp_path / "store.duckdb", key="") as s:
        yield s


def _subjects(store: Store, n: int) -> list[str]:
    rows = store.execute(
        "SELECT subject_id FROM run_results WHERE kind = 'person' GROUP BY subject_id ORDER BY subject_id LIMIT ?", [n]
    ).fetchall()
    return [str(r[0]) for r in rows]


def _batch(
    folder: Path,
    name: str,
    rows: list[tuple[str, str, int]],
    *,
    key: str | None = None,
    correction: bool = False,
    date: str = "2026-06-01",
) -> BatchRequest:
    """A CSV batch of court judgments (record id, subject, amount), all or nothing as over HTTP."""
    header = HEADER + (",correction" if correction else "")
    lines = [header] + [
        f"{rid},{subject},{JUDGMENT.format(amount=amount, date=date)}" + (",true" if correction else "")
        for rid, subject, amount in rows
    ]
    path = folder / f"{name}.csv"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    body = path.read_bytes()
    options = BatchOptions(all_or_nothing=True, write_rejects=False, name=name, idempotency_key=key, limit_rows=True)
    return BatchRequest(path, "courts", "key:test", AS_OF, options, hashlib.sha256(body).hexdigest())


def _versions(store: Store, prefix: str) -> list[tuple[Any, ...]]:
    return store.execute(
        "SELECT record_id, version, amount, is_correction FROM records WHERE source_id = 'courts' "
        "AND record_id LIKE ? ORDER BY record_id, version",
        [prefix + "%"],
    ).fetchall()


def _state_ok(store: Store) -> None:
    states = list_states(store)
    assert states, "the example keeps a scoring state of beijing"
    for info in states:
        assert check_state(store, get_policy(store, info.policy_id, info.policy_version))["ok"]


def _report(outcome: BatchOutcome) -> dict[str, Any]:
    assert outcome.error is None and outcome.report is not None, outcome
    return outcome.report.as_dict()


def test_a_group_commits_once_and_answers_each_batch_as_one_by_one(scored: Path, store: Store, tmp_path: Path) -> None:
    s1, s2, s3 = _subjects(store, 3)
    requests = [
        _batch(tmp_path, "a", [("G-A-1", s1, 1000), ("G-A-2", s2, 2000)]),
        _batch(tmp_path, "b", [("G-B-1", s2, 3000)], key="kb"),
        _batch(tmp_path, "c", [("G-C-1", s3, 4000), ("G-C-2", s1, 5000), ("G-C-3", s2, 6000)]),
    ]
    grouped = [_report(o) for o in ingest_group(store, requests)]
    # the same batches one by one, on a copy of the same store
    shutil.copy(scored, tmp_path / "alone.duckdb")
    with open_store(tmp_path / "alone.duckdb", key="") as alone:
        one_by_one = [_report(ingest_request(alone, r)) for r in requests]
        alone_records = alone.execute(
            "SELECT * EXCLUDE (recorded_at) FROM records WHERE record_id LIKE 'G-%' ORDER BY record_key"
        ).fetchall()
        alone_audit = alone.execute(
            "SELECT actor, action, detail FROM audit_log WHERE action = 'ingest' ORDER BY seq DESC LIMIT 3"
        ).fetchall()
        alone_times = alone.one("SELECT count(DISTINCT received_at) FROM batches WHERE file_name IN ('a', 'b', 'c')")
    assert grouped == one_by_one
    assert [(r["accepted"], r["rows"]) for r in grouped] == [(2, 2), (1, 1), (3, 3)]
    # each batch's watermark is its own last change number, in order
    assert [r["watermark"] for r in grouped] == sorted(r["watermark"] for r in grouped)
    records = store.execute(
        "SELECT * EXCLUDE (recorded_at) FROM records WHERE record_id LIKE 'G-%' ORDER BY record_key"
    ).fetchall()
    assert records == alone_records and len(records) == 6
    audit = store.execute(
        "SELECT actor, action, detail FROM audit_log WHERE action = 'ingest' ORDER BY seq DESC LIMIT 3"
    ).fetchall()
    assert audit == alone_audit
    # one transaction (now() is its start) against three
    assert store.one("SELECT count(DISTINCT received_at) FROM batches WHERE file_name IN ('a', 'b', 'c')") == 1
    assert alone_times == 3
    _state_ok(store)


def test_batches_of_a_group_apply_in_their_order(store: Store, tmp_path: Path) -> None:
    (s1,) = _subjects(store, 1)
    outcomes = ingest_group(
        store,
        [
            _batch(tmp_path, "adds", [("G-R-1", s1, 1000)]),
            _batch(tmp_path, "corrects", [("G-R-1", s1, 1500)], correction=True),
            _batch(tmp_path, "differs", [("G-R-1", s1, 9999)]),  # not a correction: refused, as sent alone
        ],
    )
    adds, corrects = _report(outcomes[0]), _report(outcomes[1])
    assert (adds["accepted"], corrects["accepted"]) == (1, 1)
    refused = _report(outcomes[2])
    assert (refused["accepted"], refused["batch_id"]) == (0, None)
    assert refused["errors"] == [
        {
            "row": 1,
            "field": "record_id",
            "message": "'G-R-1' was already received with different content; send it with correction=true to "
            "correct it",
        }
    ]
    assert _versions(store, "G-R-") == [("G-R-1", 1, 1000.0, False), ("G-R-1", 2, 1500.0, True)]
    _state_ok(store)  # the fold of both versions at once counts the correction only


def test_a_batch_refused_in_a_group_writes_nothing_and_the_others_commit(store: Store, tmp_path: Path) -> None:
    s1, s2 = _subjects(store, 2)
    garbage = tmp_path / "garbage.parquet"  # DuckDB cannot read it: its error aborts the group's transaction
    garbage.write_bytes(b"PAR1 this is no parquet file")
    unreadable = BatchRequest(garbage, "courts", "key:test", AS_OF, BatchOptions(all_or_nothing=True, name="garbage"))
    outcomes = ingest_group(
        store,
        [
            _batch(tmp_path, "first", [("G-F-1", s1, 1000)]),
            _batch(tmp_path, "future", [("G-X-1", s1, 1000), ("G-X-2", s2, 2000)], date="2099-01-01"),
            unreadable,
            _batch(tmp_path, "last", [("G-L-1", s2, 2000)]),
        ],
    )
    assert _report(outcomes[0])["accepted"] == 1
    future = _report(outcomes[1])
    assert (future["accepted"], future["batch_id"], future["rejected"]) == (0, None, 2)
    assert isinstance(outcomes[2].error, IngestError)
    assert str(outcomes[2].error).startswith("garbage: not a readable parquet file")
    assert _report(outcomes[3])["accepted"] == 1
    assert [r[0] for r in _versions(store, "G-")] == ["G-F-1", "G-L-1"]
    assert store.one("SELECT count(*) FROM batches WHERE file_name IN ('future', 'garbage')") == 0
    _state_ok(store)


def test_the_same_idempotency_key_twice_in_a_group(store: Store, tmp_path: Path) -> None:
    (s1,) = _subjects(store, 1)
    first = _batch(tmp_path, "k1", [("G-K-1", s1, 1000)], key="same")
    other = _batch(tmp_path, "k2", [("G-K-2", s1, 2000)], key="same")
    outcomes = ingest_group(store, [first, first, other])
    answer = _report(outcomes[0])
    answer.pop("reject_file")
    assert outcomes[1].replayed == answer
    assert isinstance(outcomes[2].error, ConflictError)
    assert outcomes[2].error.code == "idempotency_key_reused"
    assert store.one("SELECT count(*) FROM batches WHERE idempotency_key = 'same'") == 1
    assert _versions(store, "G-K-") == [("G-K-1", 1, 1000.0, False)]


def test_a_group_that_fails_is_taken_one_by_one(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s1, s2 = _subjects(store, 2)
    insert = ingest._insert_records

    def failing(run: Any, *args: Any) -> Any:
        if run.batch.name == "boom":
            raise RuntimeError("the disk is full")
        return insert(run, *args)

    monkeypatch.setattr(ingest, "_insert_records", failing)
    outcomes = ingest_group(
        store,
        [
            _batch(tmp_path, "before", [("G-B-1", s1, 1000)]),
            _batch(tmp_path, "boom", [("G-X-1", s1, 1000)]),
            _batch(tmp_path, "after", [("G-A-1", s2, 2000)]),
        ],
    )
    assert isinstance(outcomes[1].error, RuntimeError)
    assert (_report(outcomes[0])["accepted"], _report(outcomes[2])["accepted"]) == (1, 1)
    assert [r[0] for r in _versions(store, "G-")] == ["G-A-1", "G-B-1"]  # each once; nothing of the failed batch
    # taken one by one: two transactions
    assert store.one("SELECT count(DISTINCT received_at) FROM batches WHERE file_name IN ('before', 'after')") == 2
    assert store.one("SELECT count(*) FROM batches WHERE file_name = 'boom'") == 0
    _state_ok(store)
