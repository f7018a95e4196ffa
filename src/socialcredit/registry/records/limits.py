"""What a batch may be, checked before any of it is read into the store (docs/api.md, "Limits on inputs").

A batch's width is refused on its header, its schema or its keys, before a column is staged: ingest's work grows
with a batch's rows, never with columns a furnisher makes up. The command line and the HTTP API meet the same limits
(the settings ``SOCIALCREDIT_MAX_*``); only the rows of a batch are limited over HTTP alone.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from socialcredit.errors import IngestError, LimitError
from socialcredit.settings import env_name, get_settings

__all__ = [
    "BATCH_NESTING",
    "CSV_LINE_BYTES",
    "HEADER_CHARS",
    "MAX_COLUMN_NAME",
    "MAX_NUMBER",
    "MAX_RECORD_ID",
    "MIN_EVENT_DATE",
    "NDJSON_LINE_BYTES",
    "RESERVED_COLUMNS",
    "check_column_names",
    "check_columns",
    "check_keys",
    "check_rows",
    "csv_header",
    "csv_long_value",
    "duplicate_key_message",
    "line_over",
    "nested_field_message",
    "too_long",
    "unpaired_surrogate",
    "wide_encoding",
]

MIN_EVENT_DATE = dt.date(1900, 1, 1)  # the earliest date a record may carry (as a birth date in an identity number)
MAX_COLUMN_NAME = 64  # characters of a column's name
# characters of a record id: what a correction's and a withdrawal's path take (PUT, DELETE /v1/records/{id}); a record
# of a longer id could not be corrected or withdrawn by them, nor disputed past 128 characters
MAX_RECORD_ID = 64
# A number field's value is less than this in size: at most 15 digits before the point, as a whole-number field has
# (an amount of 1e308 yuan is no amount, and sums of such overflow to infinity); whole yuan are exact in a DOUBLE.
MAX_NUMBER = 10**15
HEADER_CHARS = 1 << 20  # the most of a CSV file's first line read to count its columns
# The longest line of a CSV batch, in bytes: DuckDB's reader refuses a longer one, but one longer than its buffer
# (32 MiB), unquoted, it read as nothing when it came last (the batch committed without that row, answered as whole)
# and refused with an error of its own ("not implemented") elsewhere. So every line is measured before it is read.
CSV_LINE_BYTES = 2_000_000
NDJSON_LINE_BYTES = 16 << 20  # the longest line (one record) of an NDJSON batch: DuckDB's reader's maximum_object_size
BATCH_NESTING = 3  # a JSON batch: a list (or {"records": [...]}) of records whose fields are plain values
# Names ingest gives columns of its own beside a batch's (the row number; what the readers add): a batch's column so
# named would be taken for them, so it is refused by name, as no record type has such a field.
RESERVED_COLUMNS = ("_row", "_none", "_lacks", "file_row_number")


def check_columns(n_columns: int) -> None:
    """Refuse a batch of more than ``SOCIALCREDIT_MAX_BATCH_COLUMNS`` columns."""
    limit = get_settings().max_batch_columns
    if n_columns > limit:
        raise LimitError(
            f"a batch may have at most {limit} columns; this one has {n_columns}",
            code="too_many_columns",
            zh=f"一批记录至多 {limit} 列；此批有 {n_columns} 列",
            limit=env_name("max_batch_columns"),
            field="columns",
        )


def check_column_names(names: Sequence[str]) -> None:
    """Refuse a column whose name is empty, longer than ``MAX_COLUMN_NAME`` characters, not printable text, one of
    the ``RESERVED_COLUMNS``, or another column's name but for case and surrounding spaces (the store's names are
    compared without case, and a CSV header's are trimmed: the two would be read as one column)."""
    seen: dict[str, int] = {}
    for i, name in enumerate(names, start=1):
        if not name or len(name) > MAX_COLUMN_NAME or not name.isprintable():
            shown = ascii(name[:MAX_COLUMN_NAME]) + ("…" if len(name) > MAX_COLUMN_NAME else "")
            raise IngestError(
                f"column {i} is named {shown}: a column's name is 1 to {MAX_COLUMN_NAME} printable characters",
                zh=f"第 {i} 列名为 {shown}：列名须为 1 至 {MAX_COLUMN_NAME} 个可打印字符",
            )
        key = name.strip().lower()
        if key in RESERVED_COLUMNS:
            raise IngestError(
                f"column {i} is named {name!r}, a name ingest keeps for its own columns "
                f"({', '.join(RESERVED_COLUMNS)}); no record has such a field: leave the column out",
                zh=f"第 {i} 列名为 {name!r}，这是导入程序保留给自身各列的名称（{'、'.join(RESERVED_COLUMNS)}）；"
                "没有记录有此字段：请去掉该列",
            )
        if key in seen:
            first = seen[key]
            raise IngestError(
                f"column {i} is named {name!r} and column {first} {names[first - 1]!r}: names that differ only in "
                "case or surrounding spaces are one column; send each column once",
                zh=f"第 {i} 列名为 {name!r}，第 {first} 列名为 {names[first - 1]!r}：仅大小写或前后空格不同的名称是同"
                "一列；每列请只发送一次",
            )
        seen[key] = i


def check_keys(row: int, n_keys: int) -> None:
    """Refuse a record (``row``, 1 = the first) of more keys than a batch may have columns."""
    limit = get_settings().max_batch_columns
    if n_keys > limit:
        raise LimitError(
            f"row {row}: a record may have at most {limit} keys; this one has {n_keys}",
            code="too_many_keys",
            zh=f"第 {row} 行：一条记录至多 {limit} 个键；此条有 {n_keys} 个",
            limit=env_name("max_batch_columns"),
            field=f"row {row}",
        )


def check_rows(n_rows: int) -> None:
    """Refuse a batch sent over HTTP of more than ``SOCIALCREDIT_MAX_BATCH_ROWS`` rows."""
    limit = get_settings().max_batch_rows
    if n_rows > limit:
        raise LimitError(
            f"a batch sent over HTTP may have at most {limit} rows; this one has {n_rows} (send it in parts)",
            code="too_many_rows",
            zh=f"经 HTTP 发送的一批记录至多 {limit} 行；此批有 {n_rows} 行（请分批发送）",
            limit=env_name("max_batch_rows"),
        )


def too_long(row: int, column: str, n_bytes: int) -> LimitError:
    """The refusal of a value over ``SOCIALCREDIT_MAX_FIELD_BYTES``."""
    limit = get_settings().max_field_bytes
    return LimitError(
        f"row {row}: {column}: a value may be at most {limit} bytes; this one has {n_bytes}",
        code="value_too_long",
        zh=f"第 {row} 行：{column}：一个值至多 {limit} 字节；此值有 {n_bytes} 字节",
        limit=env_name("max_field_bytes"),
        field=f"row {row}: {column}",
    )


def nested_field_message(row: int, key: str, value_type: str) -> tuple[str, str]:
    """What a record whose field holds a list or an object is told (a JSON batch over HTTP and an NDJSON file
    alike), in English and Chinese: ``value_type`` is JSON's name of the value's type (``object``, ``array``)."""
    article = "an" if value_type[0] in "aeiou" else "a"
    return (
        f"row {row}: {key}: a field is a string, number, boolean or null, not {article} {value_type}"
        " (a record's fields are plain values)",
        f"第 {row} 行：{key}：字段须为字符串、数字、布尔值或 null，而不是{'对象' if value_type == 'object' else '数组'}"
        "（记录的字段须为简单的值）",
    )


def unpaired_surrogate(kind: str, number: int, record: Mapping[str, object]) -> tuple[str, str] | None:
    """What a JSON record (``kind`` ``number``: row 3, line 3) is told, in English and Chinese, whose key or text
    value holds half of a surrogate pair alone (``"\\ud800"``: JSON's escapes allow one, and Python's parser keeps
    it, but it is no character, and no text holding one can be written as UTF-8); None if none does. The key is
    shown escaped."""
    for key, value in record.items():
        for text in (key, value):
            if isinstance(text, str) and not _encodable(text):
                half = next(c for c in text if 0xD800 <= ord(c) <= 0xDFFF)
                shown = key.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
                return (
                    f"{kind} {number}: {shown}: holds \\u{ord(half):04x}, half of a surrogate pair alone, which is "
                    "no character; send text (a pair's two halves, or the character itself)",
                    f"第 {number} 行：{shown}：含有 \\u{ord(half):04x}，即单独的半个代理对，它不是字符；"
                    "请发送文本（代理对的两半，或该字符本身）",
                )
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def wide_encoding(head: bytes) -> str | None:
    """The encoding a text's first bytes name by their byte order mark when it is not UTF-8's (UTF-16 or UTF-32, as
    Windows' "Unicode" text is saved), else None: such text read as UTF-8 was refused for a column named
    '\\ufffd\\ufffds\\x00u\\x00…' or a line "not UTF-8", never saying what the file is."""
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "UTF-32"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16"
    return None


def duplicate_key_message(row: int, key: str) -> tuple[str, str]:
    """What a JSON record naming a key twice is told (JSON parsers differ on which value wins: none is taken), in
    English and Chinese."""
    return (
        f"row {row}: {key}: the record names this key more than once; send each field once",
        f"第 {row} 行：{key}：该记录多次给出此键；每个字段请只发送一次",
    )


def csv_header(path: Path) -> list[str]:
    """The names in the first line of a CSV file, read without reading the rest (at most ``HEADER_CHARS`` of it:
    a longer header is refused as too many columns), and counted."""
    limit = get_settings().max_batch_columns
    with path.open(encoding="utf-8", errors="replace", newline="") as fh:
        line = fh.readline(HEADER_CHARS + 1)
    if len(line) > HEADER_CHARS:
        raise LimitError(
            f"a batch may have at most {limit} columns; this one's header is over {HEADER_CHARS} characters",
            code="too_many_columns",
            zh=f"一批记录至多 {limit} 列；此批的表头超过 {HEADER_CHARS} 个字符",
            limit=env_name("max_batch_columns"),
            field="columns",
        )
    names = next(csv.reader(io.StringIO(line.lstrip("\ufeff"))), [])
    check_columns(len(names))
    return names


_UNQUOTED_END = re.compile(rb'[,\r\n"]')


def _chunks(path: Path, size: int) -> Iterator[bytes]:
    """The bytes of ``path`` in chunks of about ``size``, none ending in a quote or a carriage return unless the
    file does (what follows one decides what it is: a doubled quote, a CRLF)."""
    with path.open("rb") as fh:
        while chunk := fh.read(size):
            while chunk[-1:] in (b'"', b"\r") and (more := fh.read(1)):
                chunk += more
            yield chunk


def csv_long_value(path: Path, most: int, last_line: int) -> tuple[int, int, int] | None:
    """The first value of more than ``most`` bytes in a CSV file, as (line, column, bytes): its record's line as
    DuckDB counts them (the header is line 1, a record's quoted line breaks do not count), its column (1 = the
    first) and its size (a doubled quote counts once); None if no record up to ``last_line`` holds one.

    Read only when a line is too long (``line_over``), or DuckDB has refused the file at ``last_line`` for a
    line too long or a quote it found no end of (its reader says so of a quoted value longer than its buffer,
    however the value ends). Read in chunks, a value's bytes counted, never kept."""
    line, column, size = 1, 1, 0
    quoted = False  # inside a quoted value
    long: tuple[int, int] | None = None  # (line, column) of a value over ``most`` bytes, counted to its end
    for chunk in _chunks(path, 1 << 20):
        i, n = 0, len(chunk)
        while i < n:
            if quoted:
                j = chunk.find(b'"', i)
                if j < 0:
                    size += n - i
                    break
                size += j - i
                if j + 1 < n and chunk[j + 1] == 0x22:  # "" inside quotes: one quote of the value
                    size += 1
                    i = j + 2
                else:
                    quoted = False
                    i = j + 1
                continue
            found = _UNQUOTED_END.search(chunk, i)
            if found is None:
                size += n - i
                break
            j = found.start()
            size += j - i
            i = j + 1
            if chunk[j] == 0x22:
                quoted = True
                continue
            if chunk[j] == 0x0D and i < n and chunk[i] == 0x0A:  # CRLF: the LF ends the line
                continue
            if long is not None:
                return (*long, size)
            if size > most:
                return line, column, size
            if chunk[j] == 0x2C:
                column += 1
            elif line >= last_line:
                return None
            else:
                line, column = line + 1, 1
            size = 0
        if long is None and size > most:
            long = (line, column)
    return (*long, size) if long is not None else None


def line_over(path: Path, most: int) -> int | None:
    """The number (1 = the first) of a file's first physical line longer than ``most`` bytes (a CSV's, an
    NDJSON's); None if there is none. A line ends at a line feed, or a carriage return not followed by one (as
    DuckDB's reader reads a file of either); the line breaks are found by numpy, 4 MiB at a time."""
    import numpy as np  # here, not at the module's import: the limits' words and bounds are read by commands that
    # never read a file (`region keys` imported numpy and pyarrow for MAX_NUMBER)

    line, carry = 1, 0  # the number of the line the chunk starts in; its bytes in the chunks before
    for chunk in _chunks(path, 1 << 22):
        data = np.frombuffer(chunk, np.uint8)
        lone_cr = (data == 0x0D) & np.append(data[1:] != 0x0A, True)
        breaks = np.flatnonzero((data == 0x0A) | lone_cr)
        if len(breaks) == 0:
            carry += len(chunk)
            if carry > most:
                return line
            continue
        lengths = np.diff(breaks, prepend=-1) - 1
        lengths[0] += carry
        over = np.flatnonzero(lengths > most)
        if len(over):
            return line + int(over[0])
        line += len(breaks)
        carry = len(chunk) - int(breaks[-1]) - 1
        if carry > most:
            return line
    return None


# A Parquet file's columns, counted in its footer before any reader describes it (DuckDB took 169 s to describe a
# file of 100,000 columns, 26 MB: a body HTTP takes). The footer is read whole (its length is checked against the
# file's size; at most ``_PARQUET_FOOTER`` of it is read here): Thrift's compact encoding of FileMetaData, field 2
# (the schema, a list whose first element is the root, field 5 its number of columns). A footer this reader cannot
# count so (a field before the schema of more than ``_THRIFT_ITEMS`` items, one longer than read) is counted by
# pyarrow's reader of footers (``pq.read_schema``), still before DuckDB describes anything: until 2026-12-05 only
# its first 64 KiB were read, and a valid file holding a field of 70 KB before its schema was left to DuckDB.
# https://github.com/apache/parquet-format/blob/master/src/main/thrift/parquet.thrift
_PARQUET_FOOTER = 64 << 20
_THRIFT_ITEMS = 1 << 16


class _Thrift:
    """A reader of Thrift's compact protocol over ``data``, enough to skip what it does not need; IndexError when
    the bytes end first."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0
        self.items = 0  # the values skipped: at most ``_THRIFT_ITEMS``

    def byte(self) -> int:
        value = self.data[self.at]
        self.at += 1
        return value

    def varint(self) -> int:
        shift = result = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 63:
                raise ValueError("varint too long")

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def field(self, last: int) -> tuple[int, int] | None:
        """The next field's (id, type) of a struct whose last field was ``last``; None at its end."""
        b = self.byte()
        if b == 0:
            return None
        delta, kind = b >> 4, b & 0x0F
        return (last + delta if delta else self.zigzag()), kind

    def skip(self, kind: int, depth: int = 0) -> None:
        if depth > 64:
            raise ValueError("nested too deep")
        self.items += 1
        if self.items > _THRIFT_ITEMS:
            raise ValueError("too many values")
        if kind in (1, 2):  # a boolean, held in the field's type
            return
        if kind == 3:
            self.at += 1
        elif kind in (4, 5, 6):
            self.varint()
        elif kind == 7:
            self.at += 8
        elif kind == 8:
            length = self.varint()  # (read before ``at`` is)
            self.at += length
        elif kind in (9, 10):
            size, elem = self.list_head()
            for _ in range(size):
                self.skip(3 if elem in (1, 2) else elem, depth + 1)  # (a list's booleans are a byte each)
        elif kind == 11:
            size = self.varint()
            if size:
                types = self.byte()
                for _ in range(size):
                    self.skip(types >> 4, depth + 1)
                    self.skip(types & 0x0F, depth + 1)
        elif kind == 12:
            last = 0
            while (found := self.field(last)) is not None:
                last = found[0]
                self.skip(found[1], depth + 1)
        else:
            raise ValueError(f"no Thrift type {kind}")
        if self.at > len(self.data):
            raise IndexError("the bytes end")

    def list_head(self) -> tuple[int, int]:
        b = self.byte()
        size = b >> 4
        return (self.varint() if size == 15 else size), b & 0x0F


def parquet_columns(path: Path) -> int | None:
    """The columns of a Parquet file (its schema's root's children), read off its footer, or by pyarrow's reader of
    footers if this one cannot count them; None if neither can (no footer, a broken one): the reader then says what
    is wrong."""
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, 2)
            if size < 12:
                return None
            fh.seek(size - 8)
            tail = fh.read(8)
            length = int.from_bytes(tail[:4], "little")
            if tail[4:] != b"PAR1" or length > size - 12:
                return None
            fh.seek(size - 8 - length)
            footer = fh.read(min(length, _PARQUET_FOOTER))
    except OSError:
        return None
    counted = _footer_columns(footer)
    if counted is not None:
        return counted
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return len(pq.read_schema(path))
    except (OSError, ValueError, pa.ArrowException):
        return None


def _footer_columns(footer: bytes) -> int | None:
    """The columns a Parquet footer's schema holds; None if they cannot be read off its bytes here."""
    reader = _Thrift(footer)
    try:
        last = 0
        while (found := reader.field(last)) is not None:
            last, kind = found
            if last != 2:
                reader.skip(kind)
                continue
            count, _ = reader.list_head()
            last = 0  # the root element: its field 5 is its number of children
            while (found := reader.field(last)) is not None:
                last, kind = found
                if last == 5 and kind == 5:
                    return reader.zigzag()
                reader.skip(kind)
            return max(count - 1, 0)
    except (IndexError, ValueError):
        return None
    return None


_LINE_END = re.compile(rb'[\r\n"]')
_ENDS = {b"\r\n": "CRLF", b"\n": "LF", b"\r": "CR"}


def csv_other_line_end(path: Path) -> tuple[int, str, str] | None:
    """The first line of a CSV file that ends otherwise than its first line (outside quotes: a quoted value may
    hold any line break), as (line, its end, the first line's end: ``CRLF``, ``LF`` or ``CR``); None if every line
    ends alike. Read only when DuckDB's reader has refused the file without naming a line."""
    line, first = 1, None
    quoted = False
    for chunk in _chunks(path, 1 << 20):
        i = 0
        while (found := _LINE_END.search(chunk, i)) is not None:
            j = found.start()
            if chunk[j] == 0x22:
                quoted = not quoted  # a doubled quote toggles twice
                i = j + 1
                continue
            end = b"\r\n" if chunk[j : j + 2] == b"\r\n" else chunk[j : j + 1]
            i = j + len(end)
            if quoted:
                continue
            if first is None:
                first = end
            elif end != first:
                return line, _ENDS[end], _ENDS[first]
            line += 1
    return None
