"""A batch whose record ids fall outside every range of ids its source sent is not looked up among the stored
records (registry/records/ingest.py, store.record_id_ranges): whatever a source sends — new ids, re-sent ones,
corrections, withdrawals, ids of any shape — the outcome is the one of a lookup of every id, and the ranges cover
every stored record id."""

from __future__ import annotations

import csv
import datetime as dt
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from record_helpers import uncovered_record_ids
from scoring_helpers import fresh_copy
from socialcredit.identifiers import make_ric
from socialcredit.registry.records import ingest as ingest_mod
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.registry.records.versions import withdraw_record
from socialcredit.store import (
    MIGRATIONS,
    IdRanges,
    Store,
    note_record_id_range,
    open_store,
    record_id_range,
    record_ids_may_be_known,
)

PERSON = make_ric("110101", dt.date(1985, 1, 2), 3)
TODAY = dt.date(2026, 1, 1)

# Ids numbered without leading zeros (ranged as numbers), others of any shape, and a few that sort oddly as text.
ids = st.one_of(
    st.integers(0, 40).map(lambda n: f"T-{n}"),
    st.sampled_from(["T-", "A", "t-5", "T-05", "zz", "T-100000", "é"]),
    st.text(alphabet="AT9-", min_size=1, max_size=9),  # ids of mixed lengths in one batch
)
rows = st.lists(
    st.tuples(ids, st.sampled_from(["100", "250.5"]), st.sampled_from(["", "correction", "withdrawn"])),
    min_size=1,
    max_size=8,
    unique_by=lambda r: r[0],
)
actions = st.lists(st.one_of(rows, ids.map(lambda i: ("withdraw", i))), min_size=1, max_size=8)


def _store(folder: Path) -> Store:
    """A store of one person, registered: built once per process and copied into ``folder`` (see fresh_copy)."""
    return fresh_copy(folder, "ranges-one-person", _one_person, "s.duckdb")


def _one_person(folder: Path) -> Store:
    (folder / "subjects.csv").write_text(f"subject_id,name\n{PERSON},张三\n", encoding="utf-8")
    store = open_store(folder / "s.duckdb", create=True, key="")
    ingest_file(store, folder / "subjects.csv", "civil_affairs", today=TODAY)
    return store


def _run(store: Store, folder: Path, steps: list[Any]) -> list[Any]:
    """Apply ``steps`` (files of rows, or withdrawals of one id); what came of each."""
    out: list[Any] = []
    for n, step in enumerate(steps):
        if isinstance(step, tuple):
            try:
                out.append(("withdrawn", withdraw_record(store, "tax_bureau", step[1], actor="t", today=TODAY)))
            except Exception as exc:  # the error is the outcome compared
                out.append((type(exc).__name__, str(exc)))
            continue
        path = folder / f"b{n}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(
                ["record_id", "subject_id", "record_type", "event_date", "amount", "status", "correction", "withdrawn"]
            )
            for rid, amount, flag in step:
                w.writerow(
                    [
                        rid,
                        PERSON,
                        "tax_payment",
                        "2025-03-01",
                        amount,
                        "paid",
                        flag == "correction",
                        flag == "withdrawn",
                    ]
                )
        report = ingest_file(store, path, "tax_bureau", today=TODAY, batch=ingest_mod.BatchOptions(write_rejects=False))
        out.append((report.accepted, report.unchanged, [str(e) for e in report.errors]))
    return out


def _versions(store: Store) -> list[tuple[Any, ...]]:
    return store.execute(
        "SELECT record_id, version, withdrawn, is_correction, amount, content_hash, prev_key, record_key FROM records "
        "WHERE source_id = 'tax_bureau' ORDER BY record_key"
    ).fetchall()


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=actions)
def test_skipping_the_lookup_of_new_ids_changes_nothing(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, steps: list[Any]
) -> None:
    fast_dir, full_dir = tmp_path_factory.mktemp("fast"), tmp_path_factory.mktemp("full")
    with _store(fast_dir) as fast, _store(full_dir) as full:
        fast_out = _run(fast, fast_dir, steps)
        assert uncovered_record_ids(fast) == []
        # every batch's ids looked up among the stored records, as before the ranges
        with monkeypatch.context() as m:
            m.setattr(ingest_mod, "record_ids_may_be_known", lambda store, source, ids: True)
            full_out = _run(full, full_dir, steps)
        assert fast_out == full_out
        assert _versions(fast) == _versions(full)


def test_a_file_of_new_ids_reads_no_stored_record(tmp_path: Path) -> None:
    store = _store(tmp_path)
    first = tmp_path / "first.csv"
    first.write_text(
        "record_id,subject_id,record_type,event_date,amount,status\n"
        + "".join(f"T-{i},{PERSON},tax_payment,2025-03-01,100,paid\n" for i in range(9, 12)),
        encoding="utf-8",
    )
    ingest_file(store, first, "tax_bureau", today=TODAY)
    # one range per id length: T-9, then T-10 .. T-11
    ranges = "SELECT lo, hi FROM record_id_ranges WHERE source_id = 'tax_bureau' ORDER BY lo_length, lo"
    assert store.execute(ranges).fetchall() == [("T-9", "T-9"), ("T-10", "T-11")]
    later = tmp_path / "later.csv"
    later.write_text(
        "record_id,subject_id,record_type,event_date,amount,status\n"
        f"T-12,{PERSON},tax_payment,2025-03-01,100,paid\nT-100,{PERSON},tax_payment,2025-03-01,100,paid\n",
        encoding="utf-8",
    )
    assert ingest_file(store, later, "tax_bureau", today=TODAY).accepted == 2
    assert store.execute(ranges).fetchall() == [("T-9", "T-9"), ("T-10", "T-11"), ("T-12", "T-12"), ("T-100", "T-100")]

    def may_be_known(record_id: str) -> bool:
        ids = record_id_range(store, f"SELECT {record_id!r} AS record_id")
        return record_ids_may_be_known(store, "tax_bureau", ids)

    assert not may_be_known("T-101") and not may_be_known("T-8") and not may_be_known("T-1000")
    assert not may_be_known("T-50")  # between T-11 and T-12, of the same length: in no range
    assert may_be_known("T-10") and may_be_known("T-9") and may_be_known("T-100")
    # a known id in a file is looked up, and its new content refused
    again = tmp_path / "again.csv"
    again.write_text(
        f"record_id,subject_id,record_type,event_date,amount,status\nT-10,{PERSON},tax_payment,2025-03-01,7,paid\n",
        encoding="utf-8",
    )
    report = ingest_file(store, again, "tax_bureau", today=TODAY)
    assert [str(e) for e in report.errors] == [
        "row 1: record_id: 'T-10' was already received with different content; send it with correction=true to "
        "correct it"
    ]
    assert uncovered_record_ids(store) == []
    store.close()


def test_the_migration_gives_a_store_the_ranges_of_its_records(tmp_path: Path) -> None:
    store = _store(tmp_path)
    path = tmp_path / "t.csv"
    path.write_text(
        "record_id,subject_id,record_type,event_date,amount,status\n"
        + "".join(f"R{i},{PERSON},tax_payment,2025-03-01,100,paid\n" for i in (3, 20, 100)),
        encoding="utf-8",
    )
    ingest_file(store, path, "tax_bureau", today=TODAY)
    store.execute("DELETE FROM record_id_ranges")
    assert uncovered_record_ids(store) == [("tax_bureau", "R100"), ("tax_bureau", "R20"), ("tax_bureau", "R3")]
    migration = next(sql for version, _, sql in MIGRATIONS if version == 14)
    store.execute(next(part for part in migration.split(";") if "INSERT INTO record_id_ranges" in part))
    assert uncovered_record_ids(store) == []
    assert store.execute("SELECT source_id, lo, hi FROM record_id_ranges ORDER BY lo_length").fetchall() == [
        ("tax_bureau", "R3", "R3"),
        ("tax_bureau", "R20", "R20"),
        ("tax_bureau", "R100", "R100"),
    ]
    store.close()


def test_a_store_of_schema_13_keeps_its_records_identity_through_migration_14(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Records stored with hexadecimal MD5 hashes and no ranges (schema 13): after migration 14 their hashes are the
    numbers ingest computes, so re-sending a record changes nothing and new content still needs a correction."""
    import hashlib

    import socialcredit.store as store_mod

    monkeypatch.setattr(store_mod, "MIGRATIONS", [m for m in MIGRATIONS if m[0] <= 13])
    with open_store(tmp_path / "s.duckdb", create=True, key="") as old:
        assert old.schema_version() == 13
        # the subject as that program registered it (today's ingest writes columns later migrations add)
        old.execute(
            "INSERT INTO subjects (seq, subject_id, kind, name, birth_date, sex, region_code, subject_key, batch_id, "
            "recorded_at) VALUES (1, ?, 'person', '张三', DATE '1985-01-02', 'M', '110101', 1, 1, now())",
            [PERSON],
        )
        old.execute("INSERT INTO subject_keys VALUES (1, ?)", [PERSON])
        fields = list(old.catalog.field_columns())
        # the text ingest hashes: subject, type, date and every field in name order, NULL as \N
        text = "|".join(
            [PERSON, "tax_payment", "2025-03-01"]
            + [{"amount": "100.0", "status": "paid"}.get(f, "\\N") for f in fields]
        )
        old.execute(
            "INSERT INTO records (record_key, source_id, record_id, version, subject_id, subject_key, record_type, "
            "event_date, content_hash, is_correction, withdrawn, recorded_at, amount, status) VALUES "
            "(900, 'tax_bureau', 'OLD-1', 1, ?, 1, 'tax_payment', DATE '2025-03-01', ?, false, false, now(), 100, "
            "'paid')",
            [PERSON, hashlib.md5(text.encode()).hexdigest()],
        )
    monkeypatch.setattr(store_mod, "MIGRATIONS", MIGRATIONS)
    with open_store(tmp_path / "s.duckdb", key="") as store:
        assert store.schema_version() == MIGRATIONS[-1][0]
        digest = hashlib.md5(text.encode()).digest()
        assert store.one("SELECT content_hash FROM records WHERE record_id = 'OLD-1'") == int.from_bytes(
            digest, "little"
        )
        assert uncovered_record_ids(store) == []
        again = tmp_path / "again.csv"
        header = "record_id,subject_id,record_type,event_date,amount,status\n"
        again.write_text(header + f"OLD-1,{PERSON},tax_payment,2025-03-01,100,paid\n", encoding="utf-8")
        report = ingest_file(store, again, "tax_bureau", today=TODAY)
        assert (report.accepted, report.unchanged, report.errors) == (0, 1, [])
        again.write_text(header + f"OLD-1,{PERSON},tax_payment,2025-03-01,101,paid\n", encoding="utf-8")
        assert [str(e) for e in ingest_file(store, again, "tax_bureau", today=TODAY).errors] == [
            "row 1: record_id: 'OLD-1' was already received with different content; send it with correction=true "
            "to correct it"
        ]


def _ranges_of(store: Store, ids: list[str]) -> IdRanges | None:
    """The ranges of ``ids``, as ingest takes them of a batch."""
    store.execute("CREATE OR REPLACE TEMP TABLE sent_ids AS SELECT unnest(?::VARCHAR[]) AS record_id", [ids])
    return record_id_range(store, "SELECT record_id FROM sent_ids")


def test_a_small_batch_of_ids_of_several_lengths_is_not_looked_up(tmp_path: Path) -> None:
    """Short and long new ids in one batch do not span the stored ranges of the lengths between (they did: the
    batch's one range, from A1 to B1234567, met T-100 .. T-199 and the batch was looked up among every record)."""
    with open_store(tmp_path / "r.duckdb", create=True, key="") as store:
        note_record_id_range(store, "tax_bureau", _ranges_of(store, [f"T-{n}" for n in range(100, 200)]))
        ids = _ranges_of(store, ["B1234567", "A1"])
        assert ids == ((2, "A1", 2, "A1"), (8, "B1234567", 8, "B1234567"))
        assert not record_ids_may_be_known(store, "tax_bureau", ids)
        assert record_ids_may_be_known(store, "tax_bureau", _ranges_of(store, ["A1", "T-150"]))
        assert not record_ids_may_be_known(store, "tax_bureau", _ranges_of(store, []))


mixed = st.text(alphabet="AZ09-é", min_size=1, max_size=10)


@pytest.fixture(scope="module")
def range_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with open_store(tmp_path_factory.mktemp("ranges") / "r.duckdb", create=True, key="") as store:
        yield store


_SOURCES = itertools.count()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sent=st.lists(st.lists(mixed, min_size=1, max_size=6), min_size=1, max_size=6), batch=st.lists(mixed, max_size=6)
)
def test_the_ranges_of_mixed_length_ids_cover_every_id_sent(
    range_store: Store, sent: list[list[str]], batch: list[str]
) -> None:
    """Batches noted as ingest notes them (each example a source of its own): a batch that shares an id with one
    sent before meets a range (the look-up is never skipped when it would find a version), and a batch of ids of
    lengths never sent meets none."""
    store, source = range_store, f"source {next(_SOURCES)}"
    for ids in sent:
        note_record_id_range(store, source, _ranges_of(store, ids))
    known = record_ids_may_be_known(store, source, _ranges_of(store, batch))
    if {i for ids in sent for i in ids} & set(batch):
        assert known
    lengths = {len(i.encode()) for ids in sent for i in ids}
    if all(len(i.encode()) not in lengths for i in batch):
        assert not known
