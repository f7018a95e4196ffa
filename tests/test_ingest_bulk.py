"""A records file of new ids goes from staging to ``records`` in one statement (registry/records/ingest.py,
``_prepare_records``). A file with no rejected row is read whole, with no filter on its rows; one with a rejected row
is filtered. Both store the good rows alike, and the subjects' keys are joined with the hash table built on the
file's subjects, not on its rows (docs/ingest.md, "Bulk loads")."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from socialcredit.identifiers import make_ric
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.store import Store, open_store

TODAY = dt.date(2026, 6, 1)
PEOPLE = [make_ric("110101", dt.date(1980, 1, 1) + dt.timedelta(days=37 * i), i % 500) for i in range(40)]
COLUMNS = ("record_id", "subject_id", "record_type", "event_date", "utility", "amount", "status")
KEPT = "source_id, record_id, version, subject_id, subject_key, record_type, event_date, content_hash, " + (
    "is_correction, withdrawn, prev_key, amount, utility, status, employer, fine"
)


def _joins(plan: str) -> Iterator[dict[str, Any]]:
    """The join operators of a JSON plan (``EXPLAIN (FORMAT json)``), as (type, conditions)."""
    stack: list[Any] = json.loads(plan)
    while stack:
        node = stack.pop()
        stack.extend(node.get("children", []))
        info = node.get("extra_info", {})
        if "Join Type" in info:
            yield {"type": info["Join Type"], "on": info.get("Conditions", "")}


def _subjects_join(plan: str) -> str:
    """The type of the join of the rows with the staged subjects (on subject_id)."""
    (kind,) = [j["type"] for j in _joins(plan) if "subject_id = subject_id" in str(j["on"])]
    return str(kind)


def _rows(bad: bool) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = [
        (
            f"U{i:05d}",
            PEOPLE[i % len(PEOPLE)],
            "utility_payment",
            dt.date(2025, 1, 1) + dt.timedelta(days=i % 300),
            ("electricity", "water", "gas", "heating")[i % 4],
            round(12.5 * (i % 17), 2),
            ("on_time", "late", "unpaid")[i % 3],
        )
        for i in range(300)
    ]
    if bad:  # a status no list allows: refused, the other rows committed
        rows.insert(150, ("U99999", PEOPLE[0], "utility_payment", dt.date(2025, 2, 1), "gas", 3.0, "payed"))
    return rows


def _store(folder: Path, name: str, bad: bool) -> Store:
    store = open_store(folder / f"{name}.duckdb", create=True, key="")
    subjects = folder / f"{name}-subjects.csv"
    subjects.write_text("subject_id,name\n" + "".join(f"{p},居民{i}\n" for i, p in enumerate(PEOPLE)), encoding="utf-8")
    assert ingest_file(store, subjects, "civil_affairs", today=TODAY).accepted == len(PEOPLE)
    path = folder / f"{name}.parquet"
    rows = _rows(bad)
    pq.write_table(pa.table({c: [r[i] for r in rows] for i, c in enumerate(COLUMNS)}), path)
    report = ingest_file(store, path, "utilities", today=TODAY)
    assert (report.accepted, report.rejected) == (300, 1 if bad else 0)
    if bad:
        assert [str(e) for e in report.errors] == [
            "row 151: status: 'payed' is not allowed; allowed: on_time, late, unpaid"
        ]
    return store


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, Store]:
    folder = tmp_path_factory.mktemp("bulk")
    return _store(folder, "clean", bad=False), _store(folder, "refused", bad=True)


def test_a_file_with_a_rejected_row_stores_its_good_rows_as_a_clean_file_does(stores: tuple[Store, Store]) -> None:
    clean, refused = stores
    kept = clean.execute(f"SELECT {KEPT} FROM records ORDER BY record_id").fetchall()
    assert len(kept) == 300
    assert kept == refused.execute(f"SELECT {KEPT} FROM records ORDER BY record_id").fetchall()
    # every row has its subject's key; a row's key follows its row of the file (the refused row 151 leaves a gap)
    assert clean.one("SELECT count(*) FROM records WHERE subject_key IS NULL") == 0
    keys = refused.execute("SELECT record_id, record_key FROM records ORDER BY record_key").fetchall()
    first = keys[0][1]
    assert keys[149] == ("U00149", first + 149)
    assert keys[150] == ("U00150", first + 151)
    assert clean.one("SELECT amount FROM records WHERE record_id = 'U00016'") == 200.0
    assert clean.one("SELECT utility || '/' || status FROM records WHERE record_id = 'U00005'") == "water/unpaid"


def test_the_subjects_are_joined_on_the_files_subjects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The insert of a clean file builds the hash table of its join on the staged subjects (a LEFT join), where two
    filters on the rows made DuckDB take the file's rows for the smaller side and build on them (a RIGHT join):
    nine times the join's time for a file of 600,081 rows."""
    plans: list[str] = []
    plain = Store.execute

    def explained(self: Store, sql: str, params: Any = None) -> Any:
        if sql.lstrip().startswith("INSERT INTO records"):
            plans.append(str(plain(self, "EXPLAIN (FORMAT json) " + sql, params).fetchall()[0][1]))
        return plain(self, sql, params)

    monkeypatch.setattr(Store, "execute", explained)
    _store(tmp_path, "explained", bad=False)
    assert len(plans) == 1
    assert _subjects_join(plans[0]) == "LEFT"


def test_a_file_of_known_ids_is_compared_with_the_stored_versions(stores: tuple[Store, Store], tmp_path: Path) -> None:
    """A file whose ids the source sent before is read beside their latest stored versions (``candidates``, the
    path a file of new ids skips): sent again unchanged but for one correction, it stores that one version."""
    clean, _ = stores
    rows = [list(r) for r in _rows(bad=False)[:100]]
    rows[7][5] = 999.0  # U00007, corrected
    path = tmp_path / "again.parquet"
    table = {c: [r[i] for r in rows] for i, c in enumerate(COLUMNS)}
    table["correction"] = [i == 7 for i in range(100)]
    pq.write_table(pa.table(table), path)
    report = ingest_file(clean, path, "utilities", today=TODAY)
    assert (report.accepted, report.unchanged, report.rejected) == (1, 99, 0)
    assert clean.execute(
        "SELECT version, amount, is_correction, subject_key IS NOT NULL FROM records WHERE record_id = 'U00007' "
        "ORDER BY version"
    ).fetchall() == [(1, 87.5, False, True), (2, 999.0, True, True)]


def test_a_binary_subject_id_is_quoted_as_given(tmp_path: Path) -> None:
    """A Parquet file whose subject_id column is binary: a value of the wrong length is quoted as the file has it
    (its bytes as DuckDB writes them as text); its letters and the escape of a byte that is no UTF-8 were
    upper-cased as a credit code's would be ('AB\\XFFCD') until 2026-12-06."""
    store = open_store(tmp_path / "s.duckdb", create=True, key="")
    try:
        path = tmp_path / "binary.parquet"
        pq.write_table(pa.table({"subject_id": pa.array([b"ab\xffcd"], pa.binary()), "name": ["x"]}), path)
        report = ingest_file(store, path, "civil_affairs", today=TODAY)
        assert [str(e) for e in report.errors] == [
            "row 1: subject_id: unified social credit code 'ab\\\\xFFcd' has 8 characters; expected 18"
        ]
    finally:
        store.close()
