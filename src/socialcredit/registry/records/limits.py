"""What a batch may be, checked before any of it is read into the store (docs/api.md, "Limits on inputs").

A batch's width is refused on its header, its schema or its keys, before a column is staged: ingest's work grows
with a batch's rows, never with columns a furnisher makes up. The command line and the HTTP API meet the same limits
(the settings ``SOCIALCREDIT_MAX_*``); only the rows of a batch are limited over HTTP alone.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from pathlib import Path

from socialcredit.errors import IngestError, LimitError
from socialcredit.settings import env_name, get_settings

__all__ = [
    "BATCH_NESTING",
    "HEADER_CHARS",
    "MAX_COLUMN_NAME",
    "MAX_NUMBER",
    "MIN_EVENT_DATE",
    "RESERVED_COLUMNS",
    "check_column_names",
    "check_columns",
    "check_keys",
    "check_rows",
    "csv_header",
    "duplicate_key_message",
    "nested_field_message",
    "too_long",
]

MIN_EVENT_DATE = dt.date(1900, 1, 1)  # the earliest date a record may carry (as a birth date in an identity number)
MAX_COLUMN_NAME = 64  # characters of a column's name
# A number field's value is less than this in size: at most 15 digits before the point, as a whole-number field has
# (an amount of 1e308 yuan is no amount, and sums of such overflow to infinity); whole yuan are exact in a DOUBLE.
MAX_NUMBER = 10**15
HEADER_CHARS = 1 << 20  # the most of a CSV file's first line read to count its columns
BATCH_NESTING = 3  # a JSON batch: a list (or {"records": [...]}) of records whose fields are plain values
# Names ingest gives columns of its own beside a batch's (the row number; what the readers add): a batch's column so
# named would be taken for them, so it is refused by name, as no record type has such a field.
RESERVED_COLUMNS = ("_row", "_none", "file_row_number")


def check_columns(n_columns: int) -> None:
    """Refuse a batch of more than ``SOCIALCREDIT_MAX_BATCH_COLUMNS`` columns."""
    limit = get_settings().max_batch_columns
    if n_columns > limit:
        raise LimitError(
            f"a batch may have at most {limit} columns; this one has {n_columns}",
            code="too_many_columns",
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
                f"column {i} is named {shown}: a column's name is 1 to {MAX_COLUMN_NAME} printable characters"
            )
        key = name.strip().lower()
        if key in RESERVED_COLUMNS:
            raise IngestError(
                f"column {i} is named {name!r}, a name ingest keeps for its own columns "
                f"({', '.join(RESERVED_COLUMNS)}); no record has such a field: leave the column out"
            )
        if key in seen:
            first = seen[key]
            raise IngestError(
                f"column {i} is named {name!r} and column {first} {names[first - 1]!r}: names that differ only in "
                "case or surrounding spaces are one column; send each column once"
            )
        seen[key] = i


def check_keys(row: int, n_keys: int) -> None:
    """Refuse a record (``row``, 1 = the first) of more keys than a batch may have columns."""
    limit = get_settings().max_batch_columns
    if n_keys > limit:
        raise LimitError(
            f"row {row}: a record may have at most {limit} keys; this one has {n_keys}",
            code="too_many_keys",
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
            limit=env_name("max_batch_rows"),
        )


def too_long(row: int, column: str, n_bytes: int) -> LimitError:
    """The refusal of a value over ``SOCIALCREDIT_MAX_FIELD_BYTES``."""
    limit = get_settings().max_field_bytes
    return LimitError(
        f"row {row}: {column}: a value may be at most {limit} bytes; this one has {n_bytes}",
        code="value_too_long",
        limit=env_name("max_field_bytes"),
        field=f"row {row}: {column}",
    )


def nested_field_message(row: int, key: str, value_type: str) -> str:
    """What a record whose field holds a list or an object is told (a JSON batch over HTTP and an NDJSON file
    alike): ``value_type`` is JSON's name of the value's type (``object``, ``array``)."""
    article = "an" if value_type[0] in "aeiou" else "a"
    return (
        f"row {row}: {key}: a field is a string, number, boolean or null, not {article} {value_type}"
        " (a record's fields are plain values)"
    )


def duplicate_key_message(row: int, key: str) -> str:
    """What a JSON record naming a key twice is told (JSON parsers differ on which value wins: none is taken)."""
    return f"row {row}: {key}: the record names this key more than once; send each field once"


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
            limit=env_name("max_batch_columns"),
            field="columns",
        )
    names = next(csv.reader(io.StringIO(line.lstrip("\ufeff"))), [])
    check_columns(len(names))
    return names
