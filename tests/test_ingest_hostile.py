"""Hostile files: every size, width and depth bounded before the work it would cost, every refusal naming the row,
the column or the limit (exit 2 on the command line, 4xx over HTTP), and nothing of the file stored."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api_helpers import auth, world
from record_helpers import statements
from socialcredit.errors import IngestError, LimitError
from socialcredit.identifiers import make_ric
from socialcredit.registry.records import limits
from socialcredit.registry.records.ingest import BatchOptions, ingest_file
from socialcredit.store import Store, open_store

__all__ = ["world"]

CLI = str(Path(sys.executable).parent / "socialcredit")
PERSON = make_ric("110101", dt.date(1985, 1, 2), 3)
TODAY = dt.date(2026, 1, 1)
HEADER = "record_id,subject_id,record_type,event_date,amount,status"
LINE = f"{PERSON},tax_payment,2025-01-01,5,paid"
MiB = 1 << 20


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile-files")


@pytest.fixture(scope="module")
def db(folder: Path) -> Path:
    (folder / "subjects.csv").write_text(f"subject_id,name\n{PERSON},张三\n", encoding="utf-8")
    path = folder / "h.duckdb"
    with open_store(path, create=True, key="") as store:
        ingest_file(store, folder / "subjects.csv", "civil_affairs", today=TODAY)
    return path


@pytest.fixture
def store(db: Path) -> Any:
    with open_store(db, key="") as opened:
        yield opened


def _cli(*args: str, peak: list[int] | None = None) -> subprocess.CompletedProcess[str]:
    """The console script run with ``args``; with ``peak``, its peak memory in bytes is appended to it (measured by
    a fresh process that runs it: this process's RUSAGE_CHILDREN is the largest of every child it ever waited for)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALCREDIT_")}
    env |= {"SOCIALCREDIT_TODAY": TODAY.isoformat(), "COLUMNS": "200"}
    if peak is None:
        return subprocess.run([CLI, *args], capture_output=True, text=True, env=env, check=False)
    probe = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "sys.stdout.write(done.stdout)\n"
        "sys.stderr.write(done.stderr)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
        "sys.exit(done.returncode)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, CLI, *args], capture_output=True, text=True, env=env, check=False
    )
    *lines, kib = done.stderr.rstrip("\n").split("\n")
    peak.append(int(kib) * 1024)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout, "\n".join(lines) + "\n")


def _records(store: Store) -> int:
    return int(store.one("SELECT count(*) FROM records"))


def _tax(n: int, **columns: pa.Array) -> pa.Table:
    """``n`` tax payments, each column one value repeated (a dictionary: a few bytes of file), but ``columns``."""

    def same(value: str) -> pa.Array:
        return pa.DictionaryArray.from_arrays(pa.array([0] * n, pa.int32()), pa.array([value]))

    base = {
        "record_id": pa.array([f"H{i}" for i in range(n)]),
        "subject_id": same(PERSON),
        "record_type": same("tax_payment"),
        "event_date": same("2025-01-01"),
        "amount": same("5"),
        "status": same("paid"),
    }
    return pa.table(base | columns)


# --- a Parquet file's errors name their row and column ----------------------------------------------------------------


def test_parquet_text_that_is_not_utf8_is_named_by_row_and_column(db: Path, folder: Path) -> None:
    """A CSV's line that is not UTF-8 is named (``line 3 is not UTF-8 text``); a Parquet file's value was refused as
    ``not a readable parquet file: Invalid Input Error: Invalid string encoding found in Parquet file ...: value
    "pa\\xFFid" is not valid UTF8!``, naming no row nor column. Here the value is in the second batch read."""
    n = 70_000
    status = [b"paid"] * n
    status[65_540] = b"pa\xffid"
    table = _tax(n, status=pa.array(status, pa.binary()).view(pa.string()))
    pq.write_table(table, folder / "latin1.parquet", row_group_size=30_000)
    refused = _cli("ingest", str(folder / "latin1.parquet"), "--source", "tax_bureau", "--db", str(db))
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.strip().splitlines()[-1] == (
        f"error: {folder / 'latin1.parquet'}: row 65541: status: is not UTF-8 text; a Parquet batch's text is UTF-8"
    )
    with open_store(db, key="") as store:
        assert _records(store) == 0


def test_a_parquet_time_out_of_range_is_named_by_row_and_column(store: Store, tmp_path: Path) -> None:
    """A timestamp in milliseconds that no timestamp in microseconds holds: ``Conversion Error: Could not convert
    Timestamp(MS) to Timestamp(US)``, naming no row nor column."""
    when = pa.array([0, 0, 2**62], pa.timestamp("ms"))
    pq.write_table(_tax(3, event_date=when), tmp_path / "far.parquet")
    with pytest.raises(IngestError) as refused:
        ingest_file(store, tmp_path / "far.parquet", "tax_bureau", today=TODAY)
    assert str(refused.value) == (
        f"{tmp_path / 'far.parquet'}: row 3: event_date: is a time out of range; a date is YYYY-MM-DD, from "
        "1900-01-01 to 9999-12-31"
    )


# --- sizes bounded before the work ------------------------------------------------------------------------------------


def test_a_parquet_value_repeated_is_refused_at_its_first_row_in_little_memory(db: Path, folder: Path) -> None:
    """A Parquet file holds a value once and its rows as references to it: 140 KB of file were 20,000 rows of a
    value of 100 KB, all staged (2 GB) before a value was measured; under a memory bound the reader failed, ``not a
    readable parquet file: Out of Memory Error``. The value is refused at its first row, as the limit names it."""
    n = 20_000
    status = pa.DictionaryArray.from_arrays(pa.array([0] * n, pa.int32()), pa.array(["x" * 100_000]))
    path = folder / "bomb.parquet"
    pq.write_table(_tax(n, status=status), path)
    assert path.stat().st_size < 1 * MiB
    peak: list[int] = []
    refused = _cli("ingest", str(path), "--source", "tax_bureau", "--db", str(db), peak=peak)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.strip().splitlines()[-1] == (
        f"error: {path}: row 1: status: a value may be at most 65536 bytes; this one has 100000"
    )
    assert peak[0] < 1024 * MiB
    with open_store(db, key="") as store:
        assert _records(store) == 0


def test_a_parquet_batch_over_http_is_refused_on_the_rows_its_footer_counts(store: Store, tmp_path: Path) -> None:
    """A column of one value a million times costs a few bytes: a body of kilobytes held rows by the billion, every
    one staged before they were counted. Its rows are counted in its footer, before one is read."""
    path = tmp_path / "rows.parquet"
    pq.write_table(_tax(1_000_001), path)
    options = BatchOptions(all_or_nothing=True, write_rejects=False, name="rows.parquet", limit_rows=True)
    with statements(store) as ran, pytest.raises(LimitError) as refused:
        ingest_file(store, path, "tax_bureau", today=TODAY, batch=options)
    assert str(refused.value).endswith(
        "a batch sent over HTTP may have at most 1000000 rows; this one has 1000001 (send it in parts)"
    )
    assert refused.value.code == "too_many_rows"
    assert not [sql for sql in ran if "staging" in sql]


def test_a_wide_parquet_file_is_refused_on_its_footer_before_a_reader_describes_it(
    store: Store, tmp_path: Path
) -> None:
    """DuckDB's reader took 169 s to describe a file of 100,000 columns (26 MB, a body HTTP takes) before the
    columns were counted; they are counted in the file's footer, and no statement runs."""
    path = tmp_path / "wide.parquet"
    pq.write_table(pa.table({f"c{i}": pa.array([1], pa.int8()) for i in range(3000)}), path)
    with statements(store) as ran, pytest.raises(LimitError) as refused:
        ingest_file(store, path, "tax_bureau", today=TODAY)
    assert str(refused.value) == f"{path}: a batch may have at most 64 columns; this one has 3000"
    assert ran == []


def _column(kind: str, n: int) -> pa.Array:
    return {
        "text": pa.array(["a"] * n),
        "int": pa.array(list(range(n)), pa.int64()),
        "list": pa.array([[1]] * n, pa.list_(pa.int32())),
        "struct": pa.array([{"a": 1, "b": "x"}] * n, pa.struct([("a", pa.int8()), ("b", pa.string())])),
        "dict": pa.array(["x"] * n).dictionary_encode(),
    }[kind]


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        if not value:
            return bytes(out + bytes([low]))
        out.append(low | 0x80)


def _zigzag(value: int) -> bytes:
    return _varint((value << 1) ^ (value >> 63))


def _with_field_before_schema(path: Path, n_columns: int, field: bytes) -> Path:
    """A Parquet file of ``n_columns`` columns whose footer holds ``field`` (Thrift's compact encoding of a field of
    id 100, which readers skip as unknown) before its schema: valid, as pyarrow and DuckDB read it."""
    plain = path.with_suffix(".plain.parquet")
    pq.write_table(pa.table({f"c{i}": pa.array([1], pa.int8()) for i in range(n_columns)}), plain, store_schema=False)
    raw = plain.read_bytes()
    length = int.from_bytes(raw[-8:-4], "little")
    footer = raw[-8 - length : -8]
    assert footer[0] == 0x15  # field 1 (the version), an i32, first: it is made to follow field 100
    footer = field + bytes([0x05]) + _zigzag(1) + footer[1:]
    path.write_bytes(raw[: -8 - length] + footer + len(footer).to_bytes(4, "little") + b"PAR1")
    assert pq.read_metadata(path).num_columns == n_columns
    return path


@pytest.mark.parametrize(
    "field",
    [
        bytes([0x08]) + _zigzag(100) + _varint(70_000) + b"x" * 70_000,  # a text of 70 KB
        bytes([0x09]) + _zigzag(100) + bytes([0xF5]) + _varint(70_000) + _zigzag(7) * 70_000,  # 70,000 numbers
    ],
    ids=["long-text", "long-list"],
)
def test_a_wide_parquet_file_whose_schema_follows_a_long_field_is_counted_before_a_reader_describes_it(
    store: Store, tmp_path: Path, field: bytes
) -> None:
    """Only the footer's first 64 KiB were read: a field of 70 KB before the schema left the columns uncounted, and
    DuckDB's reader described the file (24 s to 169 s for 100,000 columns). The footer is read whole, and a field
    too long to skip here (70,000 values) is left to pyarrow's reader of footers, which counts the columns."""
    path = _with_field_before_schema(tmp_path / "crafted.parquet", 300, field)
    assert limits.parquet_columns(path) == 300
    with statements(store) as ran, pytest.raises(LimitError) as refused:
        ingest_file(store, path, "tax_bureau", today=TODAY)
    assert str(refused.value) == f"{path}: a batch may have at most 64 columns; this one has 300"
    assert ran == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kinds=st.lists(st.sampled_from(["text", "int", "list", "struct", "dict"]), min_size=1, max_size=90),
    name=st.text(min_size=1, max_size=300),
    rows=st.integers(0, 3),
    group=st.integers(1, 3),
)
def test_the_footers_count_of_columns_is_the_schemas(
    tmp_path: Path, kinds: list[str], name: str, rows: int, group: int
) -> None:
    table = pa.table({f"{name}{i}": _column(k, rows) for i, k in enumerate(kinds)})
    path = tmp_path / "count.parquet"
    pq.write_table(table, path, row_group_size=group)
    assert limits.parquet_columns(path) == len(pq.read_schema(path).names) == len(kinds)


@pytest.mark.parametrize(
    "data", [b"", b"PAR1", b"PAR1" + b"\x00" * 20 + b"\xff\xff\xff\x7fPAR1", b"PAR1\x15\x04\x19\xfc\x0a\x00\x00PAR1"]
)
def test_a_footer_that_cannot_be_read_counts_no_column_and_the_reader_refuses_the_file(
    store: Store, tmp_path: Path, data: bytes
) -> None:
    """A footer claiming 2 GiB in a file of 32 bytes, one cut short: not counted (None), then refused whole."""
    path = tmp_path / "broken.parquet"
    path.write_bytes(data)
    assert limits.parquet_columns(path) is None
    with pytest.raises(IngestError, match=r"not a readable parquet file"):
        ingest_file(store, path, "tax_bureau", today=TODAY)


def test_a_parquet_schema_nested_past_100_levels_is_refused_by_name(store: Store, tmp_path: Path) -> None:
    """A column of structs 120 deep, of nulls only: pyarrow refused to read the schema, and its OSError (``Parquet
    schema too deeply nested, consider increasing schema depth limit``) ended the command with a stack trace."""
    kind: pa.DataType = pa.int64()
    for _ in range(120):
        kind = pa.struct([("a", kind)])
    table = pa.table({"record_id": ["D1"], "deep": pa.array([None], kind)})
    pq.write_table(table, tmp_path / "deep.parquet")
    with pytest.raises(IngestError) as refused:
        ingest_file(store, tmp_path / "deep.parquet", "tax_bureau", today=TODAY)
    assert str(refused.value) == (
        f"{tmp_path / 'deep.parquet'}: a column nests lists or structs more than 100 levels deep; a record's fields "
        "are plain values"
    )


# --- CSV: line ends ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ends", "message"),
    [
        (("\r\n", "\n", "\n"), "line 2 ends with LF, where line 1 ends with CRLF"),
        (("\n", "\n", "\r\n"), "line 3 ends with CRLF, where line 1 ends with LF"),
        (("\n", "\r", "\n"), "line 2 ends with CR, where line 1 ends with LF"),
    ],
)
def test_a_csv_whose_lines_end_in_two_ways_is_refused_naming_the_line(
    db: Path, tmp_path: Path, ends: tuple[str, str, str], message: str
) -> None:
    """DuckDB's reader refused such a file as ``The CSV Parser state machine reached an invalid state``, naming no
    line; a line break inside a quoted value is the value's, not a line's end."""
    a, b, c = ends
    text = HEADER + a + "E1," + LINE + b + '"E\r\n2",' + LINE + c
    path = tmp_path / "ends.csv"
    path.write_bytes(text.encode())
    refused = _cli("ingest", str(path), "--source", "tax_bureau", "--db", str(db))
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.strip().splitlines()[-1] == (
        f"error: {path}: {message}; the lines of a CSV batch end alike (save the file again as CSV, or convert its "
        "line ends)"
    )


def test_a_parquet_bomb_over_http_is_a_413_naming_the_limit(world: dict[str, Any]) -> None:
    client: httpx.Client = world["client"]
    n = 20_000
    same = {
        k: pa.DictionaryArray.from_arrays(pa.array([0] * n, pa.int32()), pa.array([v]))
        for k, v in {"subject_id": world["other"], "record_type": "court_judgment", "event_date": "2026-06-01",
                     "case_type": "x" * 100_000, "amount": "1", "status": "fulfilled", "defaulter": "false"}.items()
    }  # fmt: skip
    buf = io.BytesIO()
    pq.write_table(pa.table({"record_id": [f"HB{i}" for i in range(n)], **same}), buf)
    headers = {**auth(world["keys"]["furnisher"]), "content-type": "application/vnd.apache.parquet"}
    r = client.post("/v1/records", content=buf.getvalue(), headers=headers)
    assert r.status_code == 413, r.text
    assert r.json()["error"]["code"] == "value_too_long"
    assert r.json()["error"]["message"] == "row 1: case_type: a value may be at most 65536 bytes; this one has 100000"
