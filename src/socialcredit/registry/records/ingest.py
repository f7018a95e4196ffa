"""Ingest a batch of records (or subjects) from CSV, NDJSON or Parquet.

Behaviour, as documented in docs/ingest.md:

* the whole file is read into a staging table and validated first; each bad row is rejected with its
  row number (1 = first data row), field and reason, and written to a reject file (mode 0600; when the store has a
  key, only to a file the caller names: it holds the rows in clear);
* the accepted rows are committed in one transaction with the batch's own row: all of them or none;
* re-sending a record with the same (source, record_id) and the same content changes nothing; with
  different content it is refused unless the row says ``correction=true``, and then it becomes a new version;
  ``withdrawn=true`` withdraws a record (a new version that no longer counts). History stays queryable. A record
  withdrawn after a dispute comes back only with ``correction=true`` and ``certified=true`` (the source certifies it
  is accurate); its subject is told.
* batches sent to the running service while its writer is busy are committed together (``ingest_group``): one
  transaction, each batch validated, written and answered as if it came alone, in arrival order.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json
import logging
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import sqlglot.expressions as exp

from socialcredit.catalog import Catalog, FieldSpec
from socialcredit.clock import resolve_today
from socialcredit.data import district_names
from socialcredit.errors import (
    ConflictError,
    IdentifierError,
    IngestError,
    LimitError,
    NotFoundError,
    SocialCreditError,
    quoted,
)
from socialcredit.identifiers import (
    RECORD_ID_TO_FOLD,
    OrgCode,
    compact_subject_id,
    fold_record_id_sql,
    given_record_id,
    region_name,
    registry_regions,
    validate_ric,
    validate_subject_id,
    validate_uscc,
    well_formed_uscc_sql,
)
from socialcredit.policy.model import RELATION_RECORD_TYPE
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.common import CONTROL_PATTERN, first_invisible_sql, invisible_sql
from socialcredit.registry.hooks import plugin_manager
from socialcredit.registry.private import MemoryFile, create_private
from socialcredit.registry.records import limits, versions
from socialcredit.registry.records.row_words import WORDS, said
from socialcredit.registry.records.row_words import sql as reason
from socialcredit.settings import env_name, get_settings
from socialcredit.sqltext import ident, lit
from socialcredit.store import (
    SQL_TYPES,
    Store,
    latest_subjects,
    next_first_key_sql,
    note_record_id_range,
    note_role_records,
    record_id_range,
    record_ids_may_be_known,
)

__all__ = [
    "BASE_COLUMNS",
    "BatchOptions",
    "BatchOutcome",
    "BatchRequest",
    "IngestReport",
    "RowError",
    "earlier_answer",
    "file_state",
    "ingest_file",
    "ingest_group",
    "ingest_request",
    "record_as_batch_row",
]

BASE_COLUMNS = ("record_id", "subject_id", "record_type", "event_date")
FLAG_COLUMNS = ("correction", "withdrawn", "certified")
_TRUE = ("true", "1", "yes")
_BOOL = ("true", "false", "1", "0", "yes", "no")

Progress = Callable[[str, int, int], None]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    message: str
    # the reason in Chinese, when its raiser says it (an identifier's error); else row_words says ``message``. An
    # error is its row, field and reason: the Chinese words of the same reason do not make it another.
    zh: str | None = dataclasses.field(default=None, compare=False)

    def __str__(self) -> str:
        return f"row {self.row}: {self.field}: {self.message}"


@dataclass
class IngestReport:
    file: str
    source: str
    batch_id: int | None
    rows: int
    accepted: int
    unchanged: int
    errors: list[RowError] = field(default_factory=list)
    reject_file: str | None = None
    # why the reject file could not be written (the batch is committed all the same): the folder's, the disk's error
    reject_error: str | None = None
    kind: str = "records"
    # The last change number the batch took (None when it committed nothing new): a decision standing on a
    # watermark at least this one counts every record of the batch (docs/api.md, "Live decisions").
    watermark: int | None = None
    # The batch's roles (``company_role`` rows taken) naming an organisation no subject is registered as, how many
    # such organisations, and the first of them (at most ``UNREGISTERED_SHOWN``): taken, as the organisation may be
    # registered later (a role links to it from then on: a run joins org_id to the subjects), and said, as it links
    # nothing until it is.
    unregistered_org_roles: int = 0
    unregistered_org_count: int = 0
    unregistered_orgs: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len({e.row for e in self.errors})

    def unregistered_note(self, lang: str = "en") -> str | None:
        """What the report says of its roles naming an organisation not registered (None when there are none)."""
        n, orgs = self.unregistered_org_roles, self.unregistered_org_count
        if not n:
            return None
        named = ", ".join(self.unregistered_orgs)
        more = orgs - len(self.unregistered_orgs)
        if lang == "zh":
            rest = f" 等 {orgs} 个" if more else ""
            return (
                f"{n} 条任职记录所写的组织尚未登记：{named}{rest}"
                "（记录已接受；组织登记后即与之关联，之前不关联任何组织）"
            )
        rest = f" and {more} more" if more else ""
        roles = "1 role names" if n == 1 else f"{n} roles name"
        return (
            f"{roles} an organisation not registered: {named}{rest} (taken; each links to its organisation once it "
            "is registered, and to none before)"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "source": self.source,
            "kind": self.kind,
            "batch_id": self.batch_id,
            "rows": self.rows,
            "accepted": self.accepted,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "watermark": self.watermark,
            "reject_file": self.reject_file,
            "unregistered_org_roles": self.unregistered_org_roles,
            "unregistered_org_count": self.unregistered_org_count,
            "unregistered_orgs": self.unregistered_orgs,
            # (with its Chinese, ``zh``, when the raiser gave it: row_words.said answers in either language)
            "errors": [
                {"row": e.row, "field": e.field, "message": e.message, **({"zh": e.zh} if e.zh else {})}
                for e in self.errors
            ],
        }


@dataclass(frozen=True)
class BatchOptions:
    """How a batch is taken: files keep their good rows; a batch over HTTP is all or nothing."""

    all_or_nothing: bool = False
    write_rejects: bool = True
    name: str | None = None  # what the batch is called in the batch table, the audit log and messages
    idempotency_key: str | None = None
    limit_rows: bool = False  # at most SOCIALCREDIT_MAX_BATCH_ROWS rows (a batch over HTTP)
    file_sha256: str | None = None  # the file's SHA-256 if the caller has it already (a population load does)
    # the file's size, modification time and inode when the caller read its SHA-256 (``file_state``); the file must
    # be so still once it is read
    file_state: tuple[int, int, int] | None = None
    lang: str = "en"  # the language of the reject file's reasons (en or zh: row_words.said)


class _Binds:
    """The values of one statement, bound as ``$v0``, ``$v1``, ...: a value never becomes SQL text."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    def __call__(self, value: object) -> str:
        """A parameter standing for ``value``."""
        name = f"v{len(self.values)}"
        self.values[name] = value
        return "$" + name

    def each(self, values: Iterable[object]) -> str:
        """Parameters for ``values``, comma-separated (for ``IN (...)``); NULL when there are none."""
        return ", ".join(self(v) for v in values) or "NULL"

    def used(self, *sql: str) -> dict[str, object]:
        """The values ``sql`` names (DuckDB refuses a value its statement does not use)."""
        named = {m for text in sql for m in re.findall(r"\$(v\d+)\b", text)}
        return {k: v for k, v in self.values.items() if k in named}


def _record_batch(store: Store, batch: BatchOptions, report: IngestReport, path: Path, source_id: str) -> None:
    """The batch's own row, in the transaction that commits it (with the answer a replay will get)."""
    store.execute(
        "INSERT INTO batches (batch_id, source_id, file_name, file_sha256, received_at, n_rows, n_accepted, "
        "n_unchanged, n_rejected, idempotency_key, response) VALUES (?, ?, ?, ?, now(), ?, ?, ?, ?, ?, ?)",
        [
            report.batch_id,
            source_id,
            batch.name or path.name,
            batch.file_sha256,
            report.rows,
            report.accepted,
            report.unchanged,
            report.rejected,
            batch.idempotency_key,
            json.dumps({k: v for k, v in report.as_dict().items() if k != "reject_file"}, ensure_ascii=False)
            if batch.idempotency_key
            else None,
        ],
    )


def _native_types(catalog: Catalog) -> dict[str, str]:
    """The columns a file may carry with a type other than text, and that type: the catalog's fields that are no
    strings, the event date and the flags."""
    types = {name: SQL_TYPES[t] for name, t in catalog.field_columns().items() if t != "string"}
    types["event_date"] = "DATE"
    types.update(dict.fromkeys(FLAG_COLUMNS, "BOOLEAN"))
    return types


@dataclass(frozen=True)
class _Staged:
    """The data columns of temp table ``staging`` (beside ``_row``), and those kept with their own type."""

    cols: list[str]
    native: frozenset[str] = frozenset()
    # A subject's optional values that some records of an NDJSON file have and others lack: staging's ``_lacks``
    # names, per row, those its record lacks (a key absent keeps the subject's value; present with null clears it).
    lacking: frozenset[str] = frozenset()

    def text(self, col: str) -> str:
        """SQL for the value of staged column ``col`` as text: as the file wrote it (trimmed; '' is NULL), or for a
        column kept with its type, the value cast to text (a number, date or flag cast never gives '' or spaces)."""
        return f"CAST({ident(col)} AS VARCHAR)" if col in self.native else ident(col)


def _stage(store: Store, path: Path, catalog: Catalog, shown: str) -> _Staged:
    """Read the file into temp table ``staging`` (:func:`_stage_file`); a refusal names the file as ``shown``, the
    limits' (``limits``: too many columns, a column's name, a value too long) as every other refusal of a file (the
    service takes the name off again: a caller knows its batch by what it sent)."""
    try:
        with _readable(path) as readable:
            return _stage_file(store, readable, catalog, shown)
    except LimitError as exc:
        raise LimitError(
            f"{shown}: {exc}", code=exc.code, limit=exc.limit, field=exc.field, zh=exc.zh and f"{shown}：{exc.zh}"
        ) from None
    except IngestError as exc:
        if str(exc).startswith(f"{shown}: "):
            raise
        zh = exc.zh and f"{shown}：{exc.zh}"
        raise IngestError(f"{shown}: {exc}", code=exc.code, field=exc.field, zh=zh) from None


_BOM = b"\xef\xbb\xbf"  # U+FEFF in UTF-8: the byte order mark a Windows program writes first


@contextmanager
def _readable(path: Path) -> Iterator[Path]:
    """``path``, or for an NDJSON file that starts with a byte order mark, a copy of it in memory without the mark:
    DuckDB's JSON reader refuses one (``BOM is not supported``), where its CSV reader skips it, and a batch sent over
    HTTP has it taken off (api/bodies.py). Only the file's first bytes: a mark that starts a later line is refused
    by line (``_ndjson_error``), and one inside a value is an invisible character of that value. A text file that
    starts with UTF-16's or UTF-32's mark is refused, saying so (``limits.wide_encoding``)."""
    with path.open("rb") as fh:
        head = fh.read(4)
        wide = limits.wide_encoding(head) if path.suffix.lower() != ".parquet" else None
        if wide is not None:
            csv_file = path.suffix.lower() == ".csv"
            raise IngestError(
                f"the file is {wide} text (it starts with {wide}'s byte order mark); a batch is UTF-8 text: save the "
                f"file as UTF-8{' (in Excel: CSV UTF-8)' if csv_file else ''} and ingest it again",
                zh=f"该文件是 {wide} 文本（以 {wide} 的字节顺序标记开头）；一批记录须为 UTF-8 文本：请将文件另存为 "
                f"UTF-8{'（在 Excel 中：CSV UTF-8）' if csv_file else ''}后重新导入",
            )
        marked = path.suffix.lower() in (".ndjson", ".jsonl", ".json") and head.startswith(_BOM)
        fh.seek(len(_BOM) if marked else 0)
        if not marked:
            fh.close()
            yield path
            return
        with (
            tempfile.TemporaryDirectory(prefix="socialcredit-batch-") as folder,
            MemoryFile(fh, Path(folder), f"batch{path.suffix.lower()}") as copy,
        ):
            fh.close()
            yield copy.path


def _stage_file(store: Store, path: Path, catalog: Catalog, shown: str) -> _Staged:
    """Read the file into temp table ``staging`` (with ``_row``); return its data columns. ``shown`` is what the
    file is called in messages (a batch sent over HTTP by its name, never by the server's path of its upload).

    The batch's width is checked first (``limits``): a CSV header, a Parquet schema or the keys of NDJSON records
    are counted before a column is staged, and a record's field holding a list or an object refuses the file.
    Values are staged as text (trimmed, '' as NULL), but a Parquet column that already has the catalog's type of
    its field (numbers, integers, flags, dates: ``_native_types``) is staged as it is: its values are those the
    text would be cast to, so it is checked and stored the same, without a cast to text and back on every row.
    Then no value may be longer than ``SOCIALCREDIT_MAX_FIELD_BYTES``.
    """
    suffix = path.suffix.lower()
    bind = _Binds()
    src = bind(str(path))
    lacking: frozenset[str] = frozenset()
    if suffix == ".csv":
        # RFC 4180, not sniffed: commas, double quotes, the header's names. A sniffer guesses another dialect for a
        # file with a ragged row (its lines as one column, or the header skipped), and names nothing that helps.
        header = limits.csv_header(path)
        _refuse_other_separators(header, shown)
        limits.check_column_names(header)
        _refuse_long_lines(path, header)
        known = _known_columns(catalog)
        names = {_canonical(name.strip(), known): "VARCHAR" for name in header} or {"_none": "VARCHAR"}
        reader = f"read_csv({src}, header = true, auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
        reader += f"max_line_size = {limits.CSV_LINE_BYTES}, columns = {bind(names)})"
    elif suffix in (".ndjson", ".jsonl", ".json"):
        reader = None
    elif suffix == ".parquet":
        n_columns = limits.parquet_columns(path)  # counted in its footer: DuckDB's reader describes them slowly
        if n_columns is not None:
            limits.check_columns(n_columns)
        reader = f"read_parquet({src})"
    else:
        raise IngestError(
            f"{shown}: unsupported file type {suffix!r}; use .csv, .ndjson (or .jsonl) or .parquet",
            zh=f"{shown}：不支持的文件类型 {suffix!r}；请使用 .csv、.ndjson（或 .jsonl）或 .parquet",
        )
    try:
        if reader is None:
            objs = f"read_ndjson_objects({src})"
            # every key of every record, and the first record naming a key twice (JSON parsers differ on which
            # value wins: a JSON batch over HTTP is refused for it too)
            # (and the first line that is no record, JSON's type of its value: a row of a NULL key)
            per_key = store.execute(
                "SELECT key, min(twice), min(other), arg_min(kind, other), count(*) < any_value(n) FROM (SELECT "
                "unnest(CASE WHEN len(k) = 0 THEN [NULL] ELSE k END) AS key, twice, other, kind, n FROM (SELECT "
                "json_keys(json) AS k, count(*) OVER () AS n, "
                "CASE WHEN len(json_keys(json)) > len(list_distinct(json_keys(json))) THEN row_number() OVER () END "
                "AS twice, CASE WHEN json_type(json) <> 'OBJECT' THEN row_number() OVER () END AS other, "
                f"json_type(json) AS kind FROM {objs})) GROUP BY key",
                bind.values,
            ).fetchall()
            _refuse_other_values([(k[2], k[3]) for k in per_key if k[0] is None], suffix, shown)
            keys = [k for k in per_key if k[0] is not None]
            limits.check_columns(len(keys))
            _refuse_keys_twice(store, path, [k[1] for k in keys], shown)
            columns = sorted(str(k[0]) for k in keys)
            limits.check_column_names(columns)
            _refuse_nested_values(store, path, columns, shown)
            known = _known_columns(catalog)
            fields = ", ".join(f"json ->> {bind(_json_path(c))} AS {ident(_canonical(c, known))}" for c in columns)
            named = {str(k[0]): _canonical(str(k[0]), known) for k in keys}
            if "record_type" not in named.values():  # (a subjects file)
                lacks, lacking = _lacks_sql([(str(k[0]), named[str(k[0])]) for k in keys if k[4]], bind)
                fields += lacks
            reader = f"(SELECT {fields or 'NULL AS _none'} FROM {objs})"
        if suffix == ".csv":
            # Every column is text: staged in one statement that names no column, then its columns read off the
            # staged table (a file of no line at all stages none).
            store.execute(
                "CREATE OR REPLACE TEMP TABLE staging AS SELECT row_number() OVER () AS _row, "
                f"nullif(trim(COLUMNS(*)), '') FROM {reader}" + (" WHERE false" if header == [] else ""),
                bind.values,
            )
            cols = [str(r[0]) for r in store.execute("DESCRIBE staging").fetchall()][1:]
            staged = _Staged(cols if header else [])  # a file of no line: its placeholder column is none
        else:
            staged = _stage_typed(store, path, reader, suffix, catalog, bind, src, shown, lacking)
    except duckdb.IOException as exc:
        why = _said(exc, path, shown)
        raise IngestError(f"{shown}: cannot read the file: {why}", zh=f"{shown}：无法读取该文件：{why}") from None
    except duckdb.Error as exc:
        if suffix == ".csv" and (words := _csv_error(exc, path, header)) is not None:
            raise _in_file(shown, words) from None
        found = (
            None
            if suffix == ".csv"
            else _ndjson_error(path, exc)
            if suffix != ".parquet"
            else _parquet_error(path, exc)
        )
        if found is not None:
            raise _in_file(shown, found) from None
        why = _said(exc, path, shown)  # (the reader's own words, as it says them)
        said = f"not a readable {suffix[1:]} file: {why}", f"不是可读的 {suffix[1:]} 文件：{why}"
        raise _in_file(shown, said) from None
    if suffix != ".parquet":  # (a Parquet file's values were measured before it was staged)
        _refuse_long_values(store, staged)
    return staged


def _lacks_sql(partial: list[tuple[str, str]], bind: _Binds) -> tuple[str, frozenset[str]]:
    """The NDJSON subjects file's column ``_lacks`` (``_Staged.lacking``): of a subject's optional values whose keys
    (``partial``: each key and its column) some records have and others lack, those each record lacks. None where
    every record has the same ones: the column is then not read."""
    optional = [(key, col) for key, col in partial if col in _SUBJECT_VALUES and col != "name"]
    if not optional:
        return "", frozenset()
    each = ", ".join(f"CASE WHEN NOT json_exists(json, {bind(_json_path(k))}) THEN {lit(c)} END" for k, c in optional)
    return f", list_filter([{each}], c -> c IS NOT NULL) AS _lacks", frozenset(c for _, c in optional)


def _refuse_long_lines(path: Path, header: list[str]) -> None:
    """Refuse a CSV file with a line longer than ``limits.CSV_LINE_BYTES`` before it is read (DuckDB's reader lost
    such a line when it came last): as a value over ``SOCIALCREDIT_MAX_FIELD_BYTES`` if the line holds one (by row
    and column, as once staged), else as a line too long."""
    line = limits.line_over(path, limits.CSV_LINE_BYTES)
    if line is None:
        return
    _refuse_long_value(path, header, line)
    en, zh = _line_too_long(line)
    raise IngestError(en, zh=zh)


def _refuse_long_value(path: Path, header: list[str], line: int) -> None:
    """Refuse a CSV file with a value over ``SOCIALCREDIT_MAX_FIELD_BYTES`` in its records up to ``line`` (DuckDB's
    count: the header is 1), as the limit (``limits.too_long``), if it has one."""
    long = limits.csv_long_value(path, get_settings().max_field_bytes, line)
    if long is not None and long[1] <= len(header):
        raise limits.too_long(long[0] - 1, header[long[1] - 1].strip(), long[2])


def _line_too_long(line: int | str) -> tuple[str, str]:
    return (
        f"line {line} is longer than {limits.CSV_LINE_BYTES:,} bytes, the most a line of a CSV batch may have",
        f"第 {line} 行超过 {limits.CSV_LINE_BYTES:,} 字节，即 CSV 批次一行的上限",
    )


# a JSON value's kind by DuckDB's type, in English and Chinese (any other: a number)
_JSON_KINDS = {
    "ARRAY": ("a list", "列表"),
    "VARCHAR": ("a string", "字符串"),
    "BOOLEAN": ("true or false", "true 或 false"),
    "NULL": ("null", "null"),
}


def _refuse_other_values(other: list[tuple[int | None, str | None]], suffix: str, shown: str) -> None:
    """Refuse an NDJSON file one of whose lines is a JSON value other than an object (``other``: the first such
    row and its JSON type, if any): it was read as a record of no field (every base column 'is required'), and a
    ``.json`` file holding a list of records as a file of no column."""
    first = min(((row, kind) for row, kind in other if row is not None), default=None)
    if first is None:
        return
    kind, kind_zh = _JSON_KINDS.get(str(first[1]), ("a number", "数字"))
    json_file = suffix == ".json"
    hint = " (a .json file is read as NDJSON; a JSON list of records is sent over HTTP)" if json_file else ""
    hint_zh = "（.json 文件按 NDJSON 读取；JSON 记录列表须经 HTTP 发送）" if json_file else ""
    raise _in_file(
        shown,
        (
            f"row {first[0]} is {kind}, not a record (a JSON object); an NDJSON batch has one record a line{hint}",
            f"第 {first[0]} 个 JSON 值是{kind_zh}，不是记录（JSON 对象）；NDJSON 批次每行一条记录{hint_zh}",
        ),
    )


def _ndjson_error(path: Path, exc: duckdb.Error) -> tuple[str, str] | None:
    """The first line of an NDJSON file that is not one JSON value, in English and Chinese (DuckDB's message names a
    line one past it, and offers a reader's option); None if every line parses. Read only when DuckDB has refused
    the file, whose size the caller bounded. A line longer than DuckDB reads (``limits.NDJSON_LINE_BYTES``) is
    refused as one over the limit on a value, by line (DuckDB named its option, ``maximum_object_size``)."""
    if "maximum_object_size" in str(exc) and (long := limits.line_over(path, limits.NDJSON_LINE_BYTES)) is not None:
        most = get_settings().max_field_bytes
        raise LimitError(
            f"line {long} is longer than {limits.NDJSON_LINE_BYTES:,} bytes, the most a record of an NDJSON batch "
            f"may have (a value may be at most {most} bytes)",
            code="value_too_long",
            limit=env_name("max_field_bytes"),
            field=f"line {long}",
            zh=f"第 {long} 行超过 {limits.NDJSON_LINE_BYTES:,} 字节，即 NDJSON 批次一条记录的上限（一个值至多 {most} "
            "字节）",
        )
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError:
                return (
                    f"line {number} is not UTF-8 text; an NDJSON batch is UTF-8",
                    f"第 {number} 行不是 UTF-8 文本；NDJSON 批次须为 UTF-8",
                )
            if text.strip():
                try:
                    value = json.loads(text)
                except RecursionError:  # (a line of 100,000 '[': an internal error, over HTTP a 500)
                    raise LimitError(
                        f"line {number} nests deeper than the JSON parser follows; a record of an NDJSON batch is "
                        f"one JSON object whose fields are plain values",
                        code="too_deep",
                        limit="nesting",
                        field=f"line {number}",
                        zh=f"第 {number} 行的嵌套深于 JSON 解析器所能读取的；"
                        "NDJSON 批次的一条记录是一个 JSON 对象，其字段为简单的值",
                    ) from None
                except json.JSONDecodeError as exc:
                    if text.startswith("\ufeff"):  # (Python's message says to decode with utf-8-sig)
                        return (
                            f"line {number} starts with a byte order mark (U+FEFF), which only the file's first "
                            "bytes may hold; remove it",
                            f"第 {number} 行以字节顺序标记（U+FEFF）开头，它只能在文件的最前面；请删除它",
                        )
                    # (the parser's own words say what it met, as it says them)
                    return (
                        f"line {number} is not one JSON value: {exc.msg} at character {exc.pos + 1}",
                        f"第 {number} 行不是一个 JSON 值：{exc.msg}（第 {exc.pos + 1} 个字符处）",
                    )
                if isinstance(value, dict) and (alone := limits.unpaired_surrogate("line", number, value)):
                    return alone  # (DuckDB's reader names the line after it, and its byte)
    return None


def _parquet_error(path: Path, exc: duckdb.Error) -> tuple[str, str] | None:
    """What is wrong with a Parquet file's value, by row (1 = the first, as a row's errors count) and column, when
    DuckDB's reader refused the file for a value it does not place: text that is not UTF-8 (``Invalid string
    encoding found in Parquet file``), a time in seconds or milliseconds past what a timestamp in microseconds holds
    (``Could not convert Timestamp(MS) to Timestamp(US)``). None for any other error. In English and Chinese."""
    said = str(exc)
    if "Invalid string encoding" in said:
        found = _parquet_first(path, _is_text, _valid_text)
        what = "is not UTF-8 text; a Parquet batch's text is UTF-8", "不是 UTF-8 文本；Parquet 批次的文本须为 UTF-8"
    elif "Could not convert Timestamp" in said:
        found = _parquet_first(path, _is_coarse_time, _valid_time)
        what = (
            "is a time out of range; a date is YYYY-MM-DD, from 1900-01-01 to 9999-12-31",
            "是超出范围的时间；日期为 YYYY-MM-DD，从 1900-01-01 到 9999-12-31",
        )
    else:
        return None
    if found is None:
        return None
    return f"row {found[0]}: {found[1]}: {what[0]}", f"第 {found[0]} 行：{found[1]}：{what[1]}"


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _valid_text(array: pa.Array) -> bool:
    try:
        array.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _is_coarse_time(kind: pa.DataType) -> bool:
    return bool(pa.types.is_timestamp(kind) and kind.unit in ("s", "ms"))


def _valid_time(array: pa.Array) -> bool:
    try:
        array.cast(pa.timestamp("us"))
    except pa.ArrowInvalid:
        return False
    return True


def _parquet_first(
    path: Path, kind: Callable[[pa.DataType], bool], valid: Callable[[pa.Array], bool]
) -> tuple[int, str] | None:
    """The first value of a Parquet file's columns of a ``kind`` that is not ``valid``, as (row, column); None if
    none is. Read a batch of rows at a time (the file's width bounded before: ``limits.check_columns``), each column
    checked whole, then halved until the value is found."""
    file = pq.ParquetFile(path)
    names = [f.name for f in file.schema_arrow if kind(f.type)]
    if not names:
        return None
    first = 0
    for batch in file.iter_batches(batch_size=1 << 16, columns=names):
        bad = [
            (at, name)
            for name, col in zip(names, batch.columns, strict=True)
            if (at := _first_invalid(col, valid)) is not None
        ]
        if bad:
            at, name = min(bad, key=lambda b: b[0])
            return first + at + 1, name
        first += batch.num_rows
    return None


def _first_invalid(column: pa.Array, valid: Callable[[pa.Array], bool]) -> int | None:
    """The index of the first value of ``column`` that is not ``valid``; None if every one is."""
    if valid(column):
        return None
    lo, hi = 0, len(column)  # the first bad value is in [lo, hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if valid(column.slice(lo, mid - lo)):
            lo = mid
        else:
            hi = mid
    return lo


_SEPARATORS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}
_SEPARATORS_ZH = {";": "分号", "\t": "制表符", "|": "竖线"}


def _refuse_other_separators(header: list[str], shown: str) -> None:
    """Refuse a CSV whose header is one name holding another separator (a semicolon-separated export, say)."""
    if len(header) == 1:
        for sep, called in _SEPARATORS.items():
            if sep in header[0]:
                raise IngestError(
                    f"{shown}: a CSV batch separates its columns with commas; its header has none, but {called}",
                    zh=f"{shown}：CSV 批次以逗号分隔各列；其表头没有逗号，而有{_SEPARATORS_ZH[sep]}",
                )


def _csv_error(exc: duckdb.Error, path: Path, header: list[str]) -> tuple[str, str] | None:
    """What is wrong with a CSV's line, in words, when DuckDB names the line (the header is line 1): more or fewer
    values than the header has names (DuckDB stops counting one past the header's), text that is not UTF-8, a quote
    left open, a line too long. None for any other error. A value over ``SOCIALCREDIT_MAX_FIELD_BYTES`` is refused
    as that limit (``limits.too_long``), where DuckDB's reader said that its line was too long, or (a quoted value
    longer than its buffer) that its quote was never closed. In English and Chinese."""
    text = str(exc)
    line = re.search(r"CSV Error on Line: (\d+)", text)
    if line is None:
        # (DuckDB's reader names no line for a file whose lines end in two ways: "The CSV Parser state machine
        # reached an invalid state")
        if "invalid state" in text and (other := limits.csv_other_line_end(path)) is not None:
            return (
                f"line {other[0]} ends with {other[1]}, where line 1 ends with {other[2]}; the lines of a CSV batch "
                "end alike (save the file again as CSV, or convert its line ends)",
                f"第 {other[0]} 行以 {other[1]} 结尾，而第 1 行以 {other[2]} 结尾；CSV 批次的各行须以同样的方式结尾"
                "（请重新另存为 CSV，或转换其行尾）",
            )
        return None
    too_long = "Maximum line size" in text
    if too_long or "unterminated quote" in text:  # (a quoted value longer than the reader's buffer is told so)
        _refuse_long_value(path, header, int(line[1]))
    if too_long:
        return _line_too_long(line[1])
    width = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
    if width is not None:
        expected, found = int(width[1]), int(width[2])
        values = f"more than {expected} values" if found > expected else f"{found} value{'s' * (found != 1)}"
        zh = f"多于 {expected} 个值" if found > expected else f"{found} 个值"
        return (
            f"line {line[1]} has {values}, where the header names {expected} columns",
            f"第 {line[1]} 行有{zh}，而表头有 {expected} 列",
        )
    if "Invalid unicode" in text:
        return (
            f"line {line[1]} is not UTF-8 text; a CSV batch is UTF-8",
            f"第 {line[1]} 行不是 UTF-8 文本；CSV 批次须为 UTF-8",
        )
    if "unterminated quote" in text:
        return f"line {line[1]} opens a quote it does not close", f"第 {line[1]} 行的引号没有闭合"
    return None


def _stage_typed(
    store: Store,
    path: Path,
    reader: str,
    suffix: str,
    catalog: Catalog,
    bind: _Binds,
    src: str,
    shown: str,
    lacking: frozenset[str] = frozenset(),
) -> _Staged:
    """Stage a Parquet or NDJSON file: its columns described first, those of the catalog's type kept as they are.
    (``src`` is the bound path: a Parquet file is described as it is, then read with its reader's row numbers, so
    that a column of the file's own of that name is refused by name, ``limits.RESERVED_COLUMNS``.)"""
    described = {
        str(r[0]): str(r[1]) for r in store.execute(f"DESCRIBE SELECT * FROM {reader}", bind.values).fetchall()
    }
    cols = [c for c in described if not (lacking and c == "_lacks")]
    if suffix != ".parquet" and cols == ["_none"]:  # a batch of records without a key: no column
        cols = []
    limits.check_columns(len(cols))
    if suffix == ".parquet":
        _refuse_nested_columns(store, path, described, shown)
    # The file's own names: DuckDB renames a second column whose name differs only in case (``Employer_1``).
    limits.check_column_names(_parquet_names(path) if suffix == ".parquet" else cols)
    known = _known_columns(catalog)
    named = {c: _canonical(c, known) for c in cols}
    wanted = _native_types(catalog)
    native = frozenset(c for c in cols if wanted.get(named[c]) == described[c])
    # Parquet numbers its rows as it reads them, in parallel; other readers are numbered by a window.
    row = "file_row_number + 1" if suffix == ".parquet" else "row_number() OVER ()"
    if suffix == ".parquet":
        reader = f"read_parquet({src}, file_row_number = true)"
    # Text is trimmed and other values cast to text once, here, in the same statement that reads the file
    # (one pass, one materialisation). A value of spaces alone is missing, as an empty one (it was stored as '': a
    # subject of no name).
    if suffix == ".parquet":
        _refuse_long_parquet_values(store, path, [c for c in cols if c not in native], named)
    casts = "".join(
        f", {ident(c)} AS {ident(named[c])}"
        if c in native
        else f", nullif(trim(CAST({ident(c)} AS VARCHAR)), '') AS {ident(named[c])}"
        for c in cols
    )
    casts += ", _lacks" if lacking else ""
    store.execute(f"CREATE OR REPLACE TEMP TABLE staging AS SELECT {row} AS _row{casts} FROM {reader}", bind.values)
    return _Staged([named[c] for c in cols], frozenset(named[c] for c in native), lacking)


def _refuse_long_parquet_values(store: Store, path: Path, cols: list[str], named: dict[str, str]) -> None:
    """Refuse a Parquet file with a value over ``SOCIALCREDIT_MAX_FIELD_BYTES`` in its columns ``cols`` (staged as
    text), by its first row, before the file is staged: the longest value of each column is read first (a scan
    that keeps nothing), then the first row of one too long. A Parquet file holds a value once and its rows as
    references to it (a dictionary): 140 KB of file were 20,000 rows of a value of 100 KB, all staged (2 GB) before
    a value was measured, and the reader ran out of memory (``not a readable parquet file: Out of Memory Error``).
    (Measuring them as they were staged, in the staging statement, took half again its CPU time.)"""
    if not cols:
        return
    bind = _Binds()
    src = bind(str(path))
    most = get_settings().max_field_bytes
    text = {c: f"CAST({ident(c)} AS VARCHAR)" for c in cols}
    longest = store.execute(
        f"SELECT {', '.join(f'max(strlen({t}))' for t in text.values())} FROM read_parquet({src})", bind.values
    ).fetchone()
    long = [c for c, n in zip(cols, longest or (), strict=True) if n is not None and n > most]
    if not long:
        return
    first = " ".join(
        f"WHEN strlen(trim({text[c]})) > {most} THEN [{bind(named[c])}, CAST(strlen(trim({text[c]})) AS VARCHAR)]"
        for c in long
    )
    found = store.execute(
        f"SELECT file_row_number + 1, hit FROM (SELECT file_row_number, CASE {first} END AS hit "
        f"FROM read_parquet({src}, file_row_number = true)) WHERE hit IS NOT NULL ORDER BY file_row_number LIMIT 1",
        bind.values,
    ).fetchone()
    if found is not None:
        raise limits.too_long(int(found[0]), str(found[1][0]), int(found[1][1]))


def _parquet_names(path: Path) -> list[str]:
    """A Parquet file's column names as it writes them. A schema nested past what pyarrow reads (100 levels) is
    refused as a column of no plain value (it holds no value: one holding a value was refused by row)."""
    try:
        return list(pq.read_schema(path).names)
    except (OSError, pa.ArrowException) as exc:
        if "too deeply nested" in str(exc):
            raise IngestError(
                "a column nests lists or structs more than 100 levels deep; a record's fields are plain values",
                zh="某列的列表或结构嵌套超过 100 层；记录的字段须为单个值",
            ) from None
        raise IngestError(f"not a readable parquet file: {exc}", zh=f"不是可读的 parquet 文件：{exc}") from None


def _known_columns(catalog: Catalog) -> frozenset[str]:
    """The columns ingest reads by name: a record's base columns and flags, the catalog's fields, a subject's."""
    return frozenset((*BASE_COLUMNS, *FLAG_COLUMNS, *catalog.field_columns(), *_SUBJECT_COLUMNS))


def _canonical(name: str, known: frozenset[str]) -> str:
    """A column's name as ingest reads it: one of the ``known`` columns written in another case or with spaces
    around it (``Record_ID``, ``AMOUNT``) is that column, as two such names in one file are one column
    (``limits.check_column_names``); any other name is kept as sent, to be refused as no field by that name."""
    key = name.strip().lower()
    return key if key in known else name


def _said(exc: duckdb.Error, path: Path, shown: str) -> str:
    """The first line of DuckDB's message, naming the file as ``shown`` (not by a path the caller never sent)."""
    return str(exc).splitlines()[0].replace(str(path), shown)


def _refuse_nested_values(store: Store, path: Path, columns: list[str], shown: str) -> None:
    """Refuse an NDJSON file one of whose records has a list or an object as the value of a field: the first
    such value, by row, with the message a JSON batch over HTTP gets (``limits.nested_field_message``)."""
    if not columns:
        return
    bind = _Binds()  # DuckDB refuses values a statement does not use: this statement's own
    objs = f"read_ndjson_objects({bind(str(path))})"
    types = {c: f"json_type(json, {bind(_json_path(c))})" for c in columns}
    first = " ".join(f"WHEN {t} IN ('OBJECT', 'ARRAY') THEN [{bind(c)}, {t}]" for c, t in types.items())
    found = store.execute(
        f"SELECT _row, nested FROM (SELECT row_number() OVER () AS _row, json, "
        f"CASE {first} END AS nested FROM {objs}) WHERE nested IS NOT NULL ORDER BY _row LIMIT 1",
        bind.values,
    ).fetchone()
    if found is not None:
        field, json_type = found[1]
        kind = {"OBJECT": "object", "ARRAY": "array"}[str(json_type)]
        raise _in_file(shown, limits.nested_field_message(int(found[0]), str(field), kind))


def _refuse_nested_columns(store: Store, path: Path, described: dict[str, str], shown: str) -> None:
    """Refuse a Parquet file whose column of lists, maps or structs holds a value (its first, by row), as a JSON
    batch is refused for a list or an object as a field's value; such a column of nulls only is a column of
    nulls."""
    for name, type_ in described.items():
        kind = "array" if type_.endswith("]") else "object" if type_.startswith(("STRUCT", "MAP", "UNION")) else None
        if kind is None:
            continue
        first = store.one(
            f"SELECT min(file_row_number) FROM read_parquet(?, file_row_number = true) WHERE {ident(name)} IS NOT NULL",
            [str(path)],
        )
        if first is not None:
            raise _in_file(shown, limits.nested_field_message(int(first) + 1, name, kind))


def _refuse_keys_twice(store: Store, path: Path, twice: list[int | None], shown: str) -> None:
    """Refuse an NDJSON file whose record names a key twice: the first such record (``twice``: per key, the first
    record of the file naming some key twice, or None), with the key."""
    row = min((r for r in twice if r is not None), default=None)
    if row is None:
        return
    (keys,) = store.execute(
        "SELECT json_keys(json) FROM read_ndjson_objects(?) LIMIT 1 OFFSET ?", [str(path), row - 1]
    ).fetchone() or ([],)
    key = next(k for i, k in enumerate(keys) if k in keys[:i])
    raise _in_file(shown, limits.duplicate_key_message(row, key))


def _in_file(shown: str, words: tuple[str, str]) -> IngestError:
    """The refusal of the file ``shown`` for a problem said in English and Chinese (``words``)."""
    return IngestError(f"{shown}: {words[0]}", zh=f"{shown}：{words[1]}")


def _json_path(key: str) -> str:
    """The JSON path of a record's key, quoted: a key need not be an identifier (``foo-bar``, ``中文``) to be
    staged, and refused as no field of the record's type."""
    return "$." + json.dumps(key, ensure_ascii=False)


def _refuse_long_values(store: Store, staged: _Staged) -> None:
    """Refuse the batch if a staged value is longer than ``SOCIALCREDIT_MAX_FIELD_BYTES`` (the first, by row)."""
    text = [c for c in staged.cols if c not in staged.native]
    if not text:
        return
    bind = _Binds()
    most = bind(get_settings().max_field_bytes)
    first = " ".join(f"WHEN strlen({ident(c)}) > {most} THEN {bind(c)}" for c in text)
    found = store.execute(
        f"SELECT _row, col FROM (SELECT _row, CASE {first} END AS col FROM staging) WHERE col IS NOT NULL "
        "ORDER BY _row LIMIT 1",
        bind.values,
    ).fetchone()
    if found is not None:
        n_bytes = store.one(f"SELECT strlen({ident(str(found[1]))}) FROM staging WHERE _row = ?", [found[0]])
        raise limits.too_long(int(found[0]), str(found[1]), int(n_bytes))


@dataclass(frozen=True)
class _Check:
    """A problem a staged row can have: the rows where ``cond`` holds get the error (``field``, ``message``); all
    three are SQL over a row of ``suspects`` (``staging`` with the row's subject, see ``_validate_records``).
    ``record_type``: the check is about rows of that record type only. ``unless_stored``: not asked of a row whose
    record id the source has sent before (a correction of a record stored before the check was made).
    ``unless_unchanged``: not asked of a row equal to the latest stored version of its record (a record stored before
    the check was made, sent again as it is); a change or a correction of it is asked (``_prepare_records``)."""

    cond: str
    field: str
    message: str
    record_type: str | None = None
    unless_stored: bool = False
    unless_unchanged: bool = False


# What a record's free text may not hold: a control character (C0 and C1; DEL) but a tab or a line break, or a
# bidirectional control (textcheck.BIDI_CONTROLS).
_TEXT_CONTROL = r"[\x{0}-\x{8}\x{B}\x{C}\x{E}-\x{1F}\x{7F}-\x{9F}\x{202A}-\x{202E}\x{2066}-\x{2069}]"
# What looks like an ASCII space in a record id and is another: the no-break space, the spaces of a width, the line
# and paragraph separators. The full-width forms of ASCII (``Ｒ１``, the brackets of ``（2024）京01民初1号``) and the
# ideographic space are no look-alikes: they are folded to ASCII before an id is checked (_fold_record_ids), so that
# the two spellings are one id. (Until 2026-12-05 a full-width letter, digit or sign other than a bracket, and the
# ideographic space, were refused here, and the brackets kept as sent.)
_LOOKALIKE = r"[\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}]"


def _first_char(col: str, pattern: str) -> str:
    """SQL: the first character of ``col`` in the class ``pattern``, as ``U+200B``."""
    return f"printf('U+%04X', unicode(regexp_extract({col}, '{pattern}')))"


def _field_checks(name: str, spec: FieldSpec, record_type: str, staged: _Staged, bind: _Binds) -> list[_Check]:
    """The checks of one field of one record type."""
    col = ident(name)
    out: list[_Check] = []

    def check(cond: str, message_sql: str) -> None:
        out.append(_Check(cond, bind(name), message_sql, record_type))

    if name not in staged.cols:
        if spec.required:
            check("true", reason("required_for", record_type=bind(record_type)))
        return out
    native = name in staged.native
    if spec.required:
        check(f"{col} IS NULL", reason("required_for", record_type=bind(record_type)))
    text = staged.text(name)
    # A column staged with its own type holds values its text casts to; the checks ask the same of them.
    # The value as a number: NULL where its text is not one (an integer's: at most 15 digits; a number's: decimal
    # digits, a point, an exponent), so that the range checks below never fault what is not a number.
    num = (
        f"CAST({col} AS DOUBLE)"
        if native
        else f"TRY_CAST(CASE WHEN {_is_number(col, spec.type)} THEN {col} END AS DOUBLE)"
    )
    if spec.type == "integer":
        bad = f"abs({col}) >= {limits.MAX_NUMBER}" if native else f"NOT {_is_number(col, spec.type)}"
        check(f"{col} IS NOT NULL AND {bad}", reason("not_whole", value=text))
    elif spec.type == "number":
        bad = f"NOT isfinite({col})" if native else f"NOT {_is_number(col, spec.type)}"
        check(f"{col} IS NOT NULL AND {bad}", reason("not_number", value=text))
    elif spec.type == "boolean":
        if not native:  # a flag's text is true or false
            check(
                f"{col} IS NOT NULL AND lower({col}) NOT IN ({bind.each(_BOOL)})",
                reason("not_boolean", value=text),
            )
    elif spec.type == "date":
        check(f"{col} IS NOT NULL AND {_not_a_date(col, native)}", reason("not_date", value=text))
        # A date field is a date of a record, from MIN_EVENT_DATE on as its event date: year 0000 (1 BC, to DuckDB),
        # a date BC or -infinity was stored and read back as text, not a date (a role's page failed on it).
        first = limits.MIN_EVENT_DATE.isoformat()
        check(f"{_as_date(col, native)} < DATE '{first}'", reason("before_first", value=text, first=bind(first)))
    if spec.type == "string" and spec.allowed is None:
        # printable text but for tabs and line breaks (free text keeps them): an escape sequence was written to the
        # terminal of an operator reading the record (`show`), a bidirectional control reordered a page's text
        check(
            f"regexp_matches({col}, '{_TEXT_CONTROL}')",
            reason("control", char=_first_char(col, _TEXT_CONTROL), what="'a value'"),
        )
        # an employer's name, an organisation's id: text that names something, and shows without an invisible
        # character (``ACME\u200b LTD`` reads as ``ACME LTD``, and is another employer)
        check(
            f"{invisible_sql(col)} AND NOT regexp_matches({col}, '{_TEXT_CONTROL}')",
            reason("invisible", char=first_invisible_sql(col), what="'a value'"),
        )
    if spec.allowed is not None:
        check(
            f"{col} IS NOT NULL AND {text} NOT IN ({bind.each(spec.allowed)})",
            reason("not_allowed", value=text, allowed=bind(", ".join(spec.allowed))),
        )
    if spec.type in ("integer", "number"):
        if spec.type == "number":  # (an integer's text has at most 15 digits: checked above)
            # one error a value: a value below the field's minimum (or above its maximum) is told that instead
            within = [f"{num} >= {bind(float(spec.min))}"] if spec.min is not None else []
            within += [f"{num} <= {bind(float(spec.max))}"] if spec.max is not None else []
            finite = [f"isfinite({num})"] if native else []  # (text of thousands of digits casts to infinity)
            digits = len(str(limits.MAX_NUMBER)) - 1
            check(
                " AND ".join([*finite, f"abs({num}) >= {bind(float(limits.MAX_NUMBER))}", *within]),
                reason("out_of_range", value=text, n=str(digits)),
            )
        if spec.min is not None:
            check(f"{num} < {bind(float(spec.min))}", reason("below_min", value=text, min=bind(f"{spec.min:g}")))
        if spec.max is not None:
            check(f"{num} > {bind(float(spec.max))}", reason("above_max", value=text, max=bind(f"{spec.max:g}")))
    return out


def _names_orgs(catalog: Catalog, staged: _Staged) -> bool:
    """Whether the staged rows may be roles naming their organisation (the catalog's role records have ``org_id``,
    and the file that column)."""
    roles = catalog.record_types.get(RELATION_RECORD_TYPE)
    return roles is not None and "org_id" in roles.fields and "org_id" in staged.cols


def _period_checks(
    record_type: str, fields: dict[str, FieldSpec], staged: _Staged, today: dt.date, bind: _Binds
) -> list[_Check]:
    """The checks of a role's period (``RELATION_RECORD_TYPE``; a catalog's own record types with these dates mean
    what they define, a court's restriction ordered to start on a day to come, say): dates ``start_date`` and
    ``end_date``. A period starts on or before the day its record is received (one starting later is not held yet:
    the registry records what is), and ends after the day it starts (a role counts from its start until, not on, its
    end: ``_held_on``; one ending the day it starts, or before, was held for no day, and is a typing error). Each
    date that is no date, or before the earliest, is told that instead (one error a value). A withdrawal is not
    asked: it sends the record as it was received, before these checks were made (2026-12-07), and withdraws it; nor
    is a record sent again as it was stored (``unless_unchanged``)."""
    if record_type != RELATION_RECORD_TYPE or not all(
        f in fields and fields[f].type == "date" for f in ("start_date", "end_date")
    ):
        return []
    if "start_date" not in staged.cols:
        return []  # (the field's own check says it is required)
    first = f"DATE '{limits.MIN_EVENT_DATE.isoformat()}'"
    kept = f"NOT {_flag('withdrawn', staged)}"
    start = _as_date("start_date", "start_date" in staged.native)
    shown_start = f"CAST({start} AS VARCHAR)"
    checks = [
        _Check(
            f"{start} > CAST({bind(today)} AS DATE) AND {kept}",
            "'start_date'",
            reason("starts_after_receipt", start=shown_start, today=bind(today.isoformat())),
            record_type,
            unless_unchanged=True,
        )
    ]
    if "end_date" in staged.cols:
        end = _as_date("end_date", "end_date" in staged.native)
        checks.append(
            _Check(
                f"{end} <= {start} AND {end} >= {first} AND {kept}",
                "'end_date'",
                reason("ends_before_start", end=f"CAST({end} AS VARCHAR)", start=shown_start),
                record_type,
                unless_unchanged=True,
            )
        )
    return checks


def _is_number(col: str, kind: str) -> str:
    """SQL: the (non-NULL) text of ``col`` is a value of a field of type ``kind`` (integer or number). A number is
    written in decimal, with an optional sign, point and exponent: DuckDB's cast alone also reads ``1_000`` (as
    1000), ``inf``, ``Infinity`` and ``NaN``."""
    if kind == "integer":  # at most 15 digits
        return f"regexp_full_match({col}, '-?[0-9]{{1,15}}')"
    return f"regexp_full_match({col}, '[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?')"


def _not_a_date(col: str, native: bool) -> str:
    """SQL: the (non-NULL) value of ``col`` is no date. A date sent as text is YYYY-MM-DD (or that day's midnight,
    with no zone) and nothing else: DuckDB's cast alone reads ``2025/01/01``, ``epoch``, ``infinity`` and
    ``2025-01-01 anything`` as dates, and drops a time and its zone (``2025-01-01T23:30:00-05:00``, already the 2nd in
    Beijing). A date staged as a date is one up to 9999-12-31."""
    if not native:
        # (a midnight with no zone is the day: a Parquet column of timestamps, as pandas writes dates, reads so)
        day = "[0-9]{4}-[0-9]{2}-[0-9]{2}([ T]00:00(:00([.]0+)?)?)?"
        return f"(NOT regexp_full_match({col}, '{day}') OR TRY_CAST({col} AS DATE) IS NULL)"
    # A date staged as a date has no YYYY-MM-DD text past 9999-12-31 (``infinity``, ``10183-09-21``); one before
    # 0001-01-01 (BC, ``-infinity``) is a date before MIN_EVENT_DATE, refused as that.
    return f"{col} > DATE '9999-12-31'"


def _as_date(col: str, native: bool) -> str:
    """SQL: the value of ``col`` as a DATE where it is a date (``_not_a_date``), NULL elsewhere: the range checks
    never fault what is not a date (one error a value)."""
    if native:
        return f"CASE WHEN NOT {_not_a_date(col, True)} THEN {col} END"
    return f"TRY_CAST(CASE WHEN NOT {_not_a_date(col, False)} THEN {col} END AS DATE)"


def _typed(name: str, spec: FieldSpec, staged: _Staged, bind: _Binds) -> str:
    """SQL: the value of the staged text ``name`` as its field's type. Cast with TRY_CAST: a valid row's text casts
    (its checks say so) to the same value, and a rejected row's text, which DuckDB may cast before the filter that
    drops the rejected rows has run (the order of a projection and a filter below it is the optimizer's), is NULL
    instead of failing the whole batch (``-1`` as a date answered a partial batch with a 500)."""
    col = ident(name)
    if spec.type == "number":  # + 0: -0 is 0 (a listing showed an amount of "-0 yuan")
        return f"{col} + 0" if name in staged.native else f"TRY_CAST({col} AS DOUBLE) + 0"
    if name in staged.native:
        return col
    if spec.type == "integer":
        return f"TRY_CAST({col} AS BIGINT)"
    if spec.type == "boolean":
        return f"lower({col}) IN ({bind.each(_TRUE)})"
    if spec.type == "date":  # (its midnight written out is the day: hashed as the day's ISO text, as a date is)
        return f"TRY_CAST({col} AS DATE)"
    return col  # strings


def _flag(name: str, staged: _Staged) -> str:
    """SQL: the row's flag ``name`` (correction, withdrawn, certified); false if absent."""
    if name not in staged.cols:
        return "false"
    if name in staged.native:
        return f"coalesce({ident(name)}, false)"
    return f"coalesce(lower({ident(name)}) IN ('true', '1', 'yes'), false)"


def _record_checks(catalog: Catalog, source_id: str, staged: _Staged, today: dt.date, bind: _Binds) -> list[_Check]:
    """Every check of a records file but the duplicate record id (``_validate_records``)."""
    allowed_types = [t for t in catalog.sources[source_id].record_types if t in catalog.record_types]
    cols = staged.cols
    checks = [_Check(f"{ident(col)} IS NULL", bind(col), reason("required")) for col in BASE_COLUMNS]
    known = bind.each(catalog.record_types)
    checks.append(
        _Check(
            f"record_type IS NOT NULL AND record_type NOT IN ({known})",
            "'record_type'",
            reason("not_record_type", value="record_type"),
        )
    )
    may = bind.each(allowed_types)
    checks.append(
        _Check(
            f"record_type IN ({known}) AND record_type NOT IN ({may})",
            "'record_type'",
            reason(
                "may_not_send",
                source=bind(source_id),
                record_type="record_type",
                allowed=bind(", ".join(allowed_types)),
            ),
        )
    )
    native_date = "event_date" in staged.native
    shown = staged.text("event_date")
    checks.append(
        _Check(
            f"event_date IS NOT NULL AND {_not_a_date('event_date', native_date)}",
            "'event_date'",
            reason("not_date", value=shown),
        )
    )
    # the text of no date (refused above) is no date here either: ``infinity`` is not also in the future
    date = _as_date("event_date", native_date)
    checks.append(_Check(f"{date} > CAST({bind(today)} AS DATE)", "'event_date'", reason("in_future", value=shown)))
    first = limits.MIN_EVENT_DATE.isoformat()
    checks.append(
        _Check(f"{date} < DATE '{first}'", "'event_date'", reason("before_first", value=shown, first=bind(first)))
    )
    # A person's record is of their lifetime: one dated before their birth (the birth date of their identity number)
    # is about someone else, or misdated.
    checks.append(
        _Check(
            f"{date} < _x_birth AND {date} >= DATE '{first}'",  # (one error: a date before 1900 is told that)
            "'event_date'",
            reason("before_birth", value=shown, birth="CAST(_x_birth AS VARCHAR)"),
        )
    )
    # An identifier is printable: a NUL byte, a line break or an escape sequence in one is refused.
    checks.append(
        _Check(
            f"regexp_matches(record_id, '{CONTROL_PATTERN}')",
            "'record_id'",
            reason("control", char=_first_char("record_id", CONTROL_PATTERN), what="'a record id'"),
        )
    )
    # An identifier is the text it shows: one holding an invisible character (``R\u200b1``), a look-alike of an ASCII
    # character (a full-width ``Ｒ``, a no-break space) or a letter written as a base and a combining mark (``e`` and
    # U+0301 for ``é``) looks like another id, and is a different one. An id the source has sent before is not
    # refused so (``unless_stored``): it was stored before these checks were made (2026-12-05), and a correction or a
    # withdrawal of that record names it as stored.
    checks.append(
        _Check(
            invisible_sql("record_id"),
            "'record_id'",
            reason("invisible_id", char=first_invisible_sql("record_id")),
            unless_stored=True,
        )
    )
    checks.append(
        _Check(
            f"regexp_matches(record_id, '{_LOOKALIKE}')",
            "'record_id'",
            reason("lookalike", char=_first_char("record_id", _LOOKALIKE)),
            unless_stored=True,
        )
    )
    checks.append(
        _Check(
            f"nfc_normalize(record_id) <> record_id AND NOT regexp_matches(record_id, '{CONTROL_PATTERN}')",
            "'record_id'",
            reason("combining", nfc="nfc_normalize(record_id)"),
            unless_stored=True,
        )
    )
    # A subject's identifier is compacted first (its zero-width spaces, joiners and byte order marks removed): one
    # holding another invisible character is told so, not that no subject has it.
    checks.append(
        _Check(
            invisible_sql("subject_id"),
            "'subject_id'",
            reason("invisible", char=first_invisible_sql("subject_id"), what="'an identifier'"),
        )
    )
    # An identifier every route that names a record takes: a correction's and a withdrawal's path, a dispute's.
    most = limits.MAX_RECORD_ID
    checks.append(
        _Check(
            f"length(record_id) > {most}",
            "'record_id'",
            reason("id_too_long", n="length(record_id)", most=str(most)),
        )
    )
    checks.append(
        _Check(
            f"subject_id IS NOT NULL AND NOT _x_known AND NOT {invisible_sql('subject_id')}",
            "'subject_id'",
            reason("unknown_subject", subject="subject_id"),
        )
    )
    for name, rt in catalog.record_types.items():
        for kind, words in (("person", "not_about_persons"), ("org", "not_about_orgs")):
            if kind not in rt.subjects:
                checks.append(
                    _Check(
                        f"_x_kind = {bind(kind)}",
                        "'subject_id'",
                        reason(words, record_type=bind(name)),
                        name,
                    )
                )
        for fname, spec in rt.fields.items():
            checks.extend(_field_checks(fname, spec, name, staged, bind))
        checks.extend(_period_checks(name, rt.fields, staged, today, bind))
    if _names_orgs(catalog, staged):
        # A role names its organisation: a person's identity number there (a person registered, or one not
        # registered that is valid as one: check character, birth date and a region a resident's number can carry)
        # would make the person an employer of the role's holder, or link nothing. A registered subject's kind
        # decides: an organisation's code may pass as an identity number. Anything else is an organisation's code:
        # taken if it is a well-formed one (registered, or not yet), else refused as no code (``org_ids``: each
        # distinct org_id's two checks, made once; the reason of a malformed one is told by
        # ``_precise_org_reasons``). Until 2026-12-07 a value of the identity number's shape and check character
        # naming no real region was refused as a person's number, and a malformed code taken as not registered.
        person = "coalesce(_x_org_kind = 'person', _x_org_ric, false)"
        checks.append(
            _Check(
                person,
                "'org_id'",
                reason("org_is_person", value="org_id"),
                RELATION_RECORD_TYPE,
                unless_unchanged=True,
            )
        )
        # (a value refused for an invisible or a control character is told that alone)
        checks.append(
            _Check(
                f"org_id IS NOT NULL AND _x_org_kind IS NULL AND NOT {person} AND NOT coalesce(_x_org_code, false) "
                f"AND NOT {invisible_sql('org_id')} AND NOT regexp_matches(org_id, '{_TEXT_CONTROL}')",
                "'org_id'",
                reason("org_malformed", value="org_id"),
                RELATION_RECORD_TYPE,
                unless_unchanged=True,
            )
        )
    for flag in FLAG_COLUMNS:
        if flag in cols and flag not in staged.native:
            checks.append(
                _Check(
                    f"{ident(flag)} IS NOT NULL AND lower({ident(flag)}) NOT IN ({bind.each(_BOOL)})",
                    bind(flag),
                    reason("not_boolean", value=ident(flag)),
                )
            )
    return checks


def _foreign_columns(catalog: Catalog, staged: _Staged) -> dict[str, list[str]]:
    """The file's columns that some record type lacks (a field of other types, or of none), and those types."""
    out = {}
    for col in staged.cols:
        lacking = [t for t, rt in catalog.record_types.items() if col not in rt.fields]
        if col not in BASE_COLUMNS and col not in FLAG_COLUMNS and lacking:
            out[col] = lacking
    return out


def _foreign_values(foreign: dict[str, list[str]], bind: _Binds) -> tuple[str, str]:
    """SQL for the columns of ``_foreign_columns``: a condition on a row of ``suspects`` (some column has a value
    its record type lacks) and one SELECT giving an error for each such value, with an UNPIVOT of those columns:
    one query however many columns a file makes up, not one per column (and before, one per column and type)."""
    cond = " OR ".join(
        f"({ident(c)} IS NOT NULL AND record_type IN ({bind.each(lacking)}))" for c, lacking in foreign.items()
    )
    lacking_by_column = " ".join(f"WHEN {bind(c)} THEN [{bind.each(lacking)}]" for c, lacking in foreign.items())
    values = ", ".join(f"CAST({ident(c)} AS VARCHAR) AS {ident(c)}" for c in foreign)
    select = (
        f"SELECT _row, _field, {reason('not_field_of', record_type='record_type')} "
        "FROM (UNPIVOT (SELECT _row, record_type, "
        f"{values} FROM suspects) ON {', '.join(ident(c) for c in foreign)} INTO NAME _field VALUE _value) "
        f"WHERE list_contains(CASE _field {lacking_by_column} END, record_type)"
    )
    return cond, select


# A batch naming at most this many subjects looks them up by subject_keys' index, one probe each (about 30 us);
# a larger one joins, which scans every subject's identifier (30-40 ms at a million subjects).
INDEXED_LOOKUP_MOST = 1000
_IDENTIFIER = re.compile(r"[0-9A-Z]{18}")


def _stage_subjects(store: Store, with_orgs: bool = False) -> None:
    """Temp table ``staged_subjects``: the subjects the staged rows name, with their kind, integer key and birth date;
    ``with_orgs``: and those their ``org_id`` names (a role's organisation), of the registry's form.

    DuckDB probes an index for a list of constants, not for a join, so a small batch's identifiers (every one of
    the registry's 18-character form, so none needs quoting) are written into the statement."""
    # (an org_id not of the registry's form names no registered subject: it is not looked up)
    orgs = f" UNION SELECT org_id FROM staging WHERE regexp_full_match(org_id, '{_IDENTIFIER.pattern}')"
    named_sql = "SELECT subject_id FROM staging WHERE subject_id IS NOT NULL" + (orgs if with_orgs else "")
    named = [str(r[0]) for r in store.execute(f"SELECT DISTINCT * FROM ({named_sql})").fetchall()]
    if len(named) <= INDEXED_LOOKUP_MOST and all(_IDENTIFIER.fullmatch(n) for n in named):
        listed = ", ".join(f"'{n}'" for n in named) or "NULL"
        where = f"k.subject_id IN ({listed})"
    else:
        where = f"k.subject_id IN ({named_sql})"
    # A person's birth date is the one their identity number gives (as ingest registers it: _stage_parsed_subjects).
    store.execute(
        "CREATE OR REPLACE TEMP TABLE staged_subjects AS SELECT DISTINCT k.subject_id, k.kind, k.subject_key, "
        "CASE WHEN k.kind = 'person' THEN CAST(strptime(substr(k.subject_id, 7, 8), '%Y%m%d') AS DATE) END "
        f"AS birth_date FROM subject_keys k WHERE {where}"
    )


def _stage_org_ids(store: Store, today: dt.date) -> None:
    """Temp table ``org_ids``: each distinct ``org_id`` of the staged roles (as ``subject_id``), whether it is a valid
    resident identity number as written (``_clean``: check character, birth date, and a region code a resident's
    number can carry, once per distinct code and birth year) and whether it is a well-formed unified social credit
    code as written that an organisation can be registered under (``_code``, ``_well_formed_org_sql``: one of an
    identity number's shape names a registering authority's region). Set-based: no org_id goes through Python
    here."""
    bind = _Binds()
    with _registry_regions_view(store):
        store.execute(
            f"CREATE OR REPLACE TEMP TABLE org_ids AS SELECT subject_id, {_clean_ric_sql('subject_id', today, bind)} "
            f"AS _clean, {_well_formed_org_sql('subject_id')} AS _code FROM (SELECT DISTINCT org_id AS subject_id "
            f"FROM staging WHERE record_type = {bind(RELATION_RECORD_TYPE)} AND org_id IS NOT NULL)",
            bind.values,
        )
    _unmark_bad_regions(store, "org_ids", today)


def _validate_records(store: Store, catalog: Catalog, source_id: str, staged: _Staged, today: dt.date) -> None:
    """Fill temp table ``row_errors`` with every problem of the staged rows.

    One pass over the staged rows picks the suspects: the rows any check could fault (a condition that holds
    wherever one of the checks' does). The checks themselves, one SELECT each, then run over the suspects alone —
    usually none — and give the same errors as over every row. The SELECTs are as many as the catalog's checks:
    the values of columns a row's record type lacks are found by one (``_foreign_values``), whatever the file's
    columns.
    """
    bind = _Binds()
    with_orgs = _names_orgs(catalog, staged)
    _stage_subjects(store, with_orgs)
    if with_orgs:
        _stage_org_ids(store, today)
    checks = _record_checks(catalog, source_id, staged, today, bind)
    foreign = _foreign_columns(catalog, staged)
    foreign_cond, foreign_select = _foreign_values(foreign, bind) if foreign else ("false", "")
    allowed_types = [t for t in catalog.sources[source_id].record_types if t in catalog.record_types]
    # A row of a record type the source may not send is a suspect already, so only the allowed types' own checks
    # are asked of each row, by its type.
    by_type = "".join(
        f" WHEN {bind(t)} THEN " + " OR ".join(f"({c.cond})" for c in checks if c.record_type == t)
        for t in allowed_types
        if any(c.record_type == t for c in checks)
    )
    suspect = " OR ".join(
        [f"({c.cond})" for c in checks if c.record_type is None]
        + [f"record_type NOT IN ({bind.each(allowed_types)})"]
        + ([f"CASE record_type{by_type} ELSE false END"] if by_type else [])
        + [f"({foreign_cond})"]
        + [
            "record_id IN (SELECT record_id FROM staging WHERE record_id IS NOT NULL GROUP BY record_id "
            "HAVING count(*) > 1)"
        ]
    )
    # The ids of the suspects the source has sent before, read off the records of those ids alone.
    sent = (
        f"record_id IN (SELECT record_id FROM records WHERE source_id = {bind(source_id)}"
        " AND record_id IN (SELECT record_id FROM suspects))"
    )

    def select(c: _Check, more: str = "") -> str:
        return (
            f"SELECT _row, {c.field}, {c.message} FROM suspects WHERE "
            + (f"record_type = {bind(c.record_type)} AND " if c.record_type else "")
            + f"({c.cond}){more}"
        )

    selects = [select(c, f" AND NOT {sent}" if c.unless_stored or c.unless_unchanged else "") for c in checks]
    # The errors of rows of records sent before that are asked only if the row changes its record: told once the
    # rows are compared with the stored versions (``_prepare_records``).
    held = [select(c, f" AND {sent}") for c in checks if c.unless_unchanged]
    if foreign_select:
        selects.append(foreign_select)
    selects.append(
        f"SELECT _row, 'record_id', {reason('repeated_id', record_id='record_id', first='first_row')} FROM "
        "(SELECT _row, record_id, min(_row) OVER (PARTITION BY record_id) AS first_row "
        "FROM suspects WHERE record_id IS NOT NULL) WHERE _row > first_row"
    )
    # The suspects first, alone: usually there are none, and then the checks' SELECTs (about a hundred, whose
    # planning is most of a small batch's validation) are not run at all.
    suspects = store.execute(
        f"""CREATE OR REPLACE TEMP TABLE suspects AS
        WITH joined AS (
            SELECT s.*, x.kind AS _x_kind, x.subject_id IS NOT NULL AS _x_known, x.birth_date AS _x_birth,
                {"o.kind" if with_orgs else "CAST(NULL AS VARCHAR)"} AS _x_org_kind,
                {"g._clean" if with_orgs else "CAST(NULL AS BOOLEAN)"} AS _x_org_ric,
                {"g._code" if with_orgs else "CAST(NULL AS BOOLEAN)"} AS _x_org_code
            FROM staging s LEFT JOIN staged_subjects x ON x.subject_id = s.subject_id
            {"LEFT JOIN staged_subjects o ON o.subject_id = s.org_id" if with_orgs else ""}
            {"LEFT JOIN org_ids g ON g.subject_id = s.org_id" if with_orgs else ""}
        )
        SELECT * FROM joined WHERE {suspect}""",
        bind.used(suspect),
    ).fetchone()
    if suspects is None or not suspects[0]:
        for table in ("row_errors", "held_errors"):
            store.execute(f"CREATE OR REPLACE TEMP TABLE {table} (_row BIGINT, field VARCHAR, message VARCHAR)")
        return
    for table, sql in (("row_errors", selects), ("held_errors", held)):
        union = " UNION ALL ".join(sql) or "SELECT NULL, NULL, NULL WHERE false"
        store.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM ({union}) AS e(_row, field, message)",
            bind.used(*sql),
        )


# The literals between the values of ``_joined_text`` ('|' and '\N' only, never a value): printed once per process.
_separators = lru_cache(maxsize=256)(lit)


def _joined_text(parts: Sequence[str | None]) -> str:
    r"""SQL joining the text of ``parts`` (SQL that is never NULL; None for \N) with '|', in one ``concat``: the
    separators and the \N of absent fields are folded into literals between the values (for a file of few fields, a
    third of the arguments), which takes half the time of concat_ws."""
    pieces: list[str] = []
    text = ""
    for i, part in enumerate(parts):
        if i:
            text += "|"
        if part is None:
            text += "\\N"
            continue
        if text:
            pieces.append(_separators(text))
            text = ""
        pieces.append(part)
    if text:
        pieces.append(_separators(text))
    return f"concat({', '.join(pieces)})"


@dataclass(frozen=True)
class _Candidates:
    """Where the typed, hashed candidate rows of a records file are read from (``FROM {relation}``, with
    ``params``). A file whose ids the store may hold: temp table ``candidates``, each row beside the latest stored
    version of its record. A file of new ids only (``all_new``): a query over ``staging``, never materialised, which
    the insert reads once — the rows go from the staged file to the records table in one pass."""

    relation: str
    params: dict[str, object]
    all_new: bool
    where: str  # which of its rows are written: the valid new ones (nothing to filter when every row is new and valid)


def _prepare_records(store: Store, catalog: Catalog, source_id: str, staged: _Staged) -> _Candidates:
    """Typed, hashed candidate rows for the valid staged rows, compared with what the store holds."""
    cols = staged.cols
    # One typed column per catalog field; NULL where the row's type has no such field or the file lacks it.
    owners: dict[str, list[str]] = {}
    for name, rt in catalog.record_types.items():
        for f in rt.fields:
            owners.setdefault(f, []).append(name)
    specs = {f: spec for rt in catalog.record_types.values() for f, spec in rt.fields.items()}
    fields = catalog.field_columns()
    bind = _Binds()
    # One typed column per field the file carries; NULL where the row's type has no such field. Fields the file
    # lacks are no columns of the candidates: their rows store NULL there.
    typed_cols = "".join(
        f", CASE WHEN record_type IN ({bind.each(owners[f])}) THEN {_typed(f, specs[f], staged, bind)} END "
        f"AS {ident(f)}"
        for f in fields
        if f in cols
    )
    # The content hash covers every field in name order, whatever columns a file happens to carry: the text of the
    # subject, type, date and values joined by '|', NULL as \N.
    values: list[str | None] = ["t.subject_id", "t.record_type", "CAST(t.event_date AS VARCHAR)"]
    values += [f"coalesce(CAST(t.{ident(f)} AS VARCHAR), '\\N')" if f in cols else None for f in fields]
    hashed = _joined_text(values)
    event_date = "event_date" if "event_date" in staged.native else "TRY_CAST(event_date AS DATE)"  # (``_typed``)
    # The latest stored version of each record id of the file: looked up among the source's records only if the
    # source may have sent one of them before (the ids' range meets a range of the ids it sent). A file of new ids
    # (ids above those sent before, say) reads no stored record, however many the store holds.
    valid = record_id_range(store, "SELECT record_id FROM staging WHERE _row NOT IN (SELECT _row FROM row_errors)")
    every_row = f"""SELECT _row, record_id, subject_id, record_type, {event_date} AS event_date{typed_cols},
                   {_flag("correction", staged)} AS is_correction,
                   {_flag("withdrawn", staged)} AS withdrawn, {_flag("certified", staged)} AS certified
            FROM staging"""
    typed = f"{every_row} {_VALID}"
    if not record_ids_may_be_known(store, source_id, valid):
        store.execute("INSERT INTO row_errors SELECT * FROM held_errors")  # (none: no record was sent before)
        # No stored version to compare with: the only error left is a correction or withdrawal of a record never
        # received, found on the staged flags alone.
        _refuse_flags_of_new_records(store, staged)
        # A file of no rejected row (a population's, usually) is read whole, with no filter: DuckDB takes each
        # `_row NOT IN (...)` to keep a fifth of the rows, and with two of them it built the subjects join's hash
        # table on the file's rows instead of on its subjects (600,081 rows of utilities: 1.07 s against 0.12 s).
        clean = not store.one("SELECT count(*) FROM row_errors")
        query = f"""SELECT t.*, k.subject_key, md5_number({hashed}) AS content_hash,
               CAST(NULL AS BIGINT) AS prev_key, CAST(NULL AS BIGINT) AS first_key,
               CAST(NULL AS INTEGER) AS prev_version, CAST(NULL AS UHUGEINT) AS prev_hash,
               CAST(NULL AS BOOLEAN) AS prev_withdrawn
            FROM ({every_row if clean else typed}) t LEFT JOIN staged_subjects k ON k.subject_id = t.subject_id"""
        return _Candidates(f"({query}) AS candidates", bind.values, all_new=True, where="" if clean else _NEW_RECORDS)
    latest = f"""SELECT record_id, record_key, coalesce(first_key, record_key) AS first_key, version, content_hash,
               withdrawn, subject_key
        FROM records WHERE source_id = {bind(source_id)} AND record_id IN (SELECT record_id FROM staging)
        QUALIFY row_number() OVER (PARTITION BY record_id ORDER BY version DESC) = 1"""
    store.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE candidates AS
        WITH typed AS ({typed}), latest AS ({latest})
        SELECT t.*, k.subject_key,
               md5_number({hashed}) AS content_hash,
               l.record_key AS prev_key, {next_first_key_sql("l", "k.subject_key")} AS first_key,
               l.version AS prev_version, l.content_hash AS prev_hash,
               l.withdrawn AS prev_withdrawn
        FROM typed t LEFT JOIN latest l USING (record_id)
        LEFT JOIN staged_subjects k ON k.subject_id = t.subject_id
        """,
        bind.values,
    )
    store.execute(
        f"""
        INSERT INTO row_errors
        SELECT _row, 'record_id', {reason("changed", record_id="record_id")}
        FROM candidates WHERE prev_version IS NOT NULL AND NOT is_correction AND NOT withdrawn
          AND content_hash <> prev_hash AND NOT prev_withdrawn
        UNION ALL
        SELECT _row, 'record_id', {reason("withdrawn_changed", record_id="record_id")}
        FROM candidates WHERE prev_version IS NOT NULL AND NOT is_correction AND withdrawn
          AND content_hash <> prev_hash
        UNION ALL
        SELECT _row, 'record_id', {_NOTHING_TO}
        FROM candidates WHERE prev_version IS NULL AND (is_correction OR withdrawn)
        UNION ALL
        SELECT _row, 'record_id', {reason("was_withdrawn", record_id="record_id")}
        FROM candidates WHERE prev_withdrawn AND NOT is_correction AND NOT withdrawn
        UNION ALL
        SELECT _row, 'certified', {reason("withdrawn_disputed", record_id="record_id")}
        FROM candidates c WHERE prev_withdrawn AND is_correction AND NOT withdrawn AND NOT certified
          AND EXISTS (SELECT 1 FROM disputes d WHERE d.source_id = $source AND d.record_id = c.record_id
                      AND d.status IN ('withdrawn', 'lapsed'))
        """,
        {"source": source_id},
    )
    # A row whose content and withdrawn state equal the latest version is unchanged, never an error; one that
    # changes its record is asked the checks held until now (``_Check.unless_unchanged``).
    unchanged = (
        "SELECT _row FROM candidates WHERE prev_version IS NOT NULL AND content_hash = prev_hash "
        "AND withdrawn = prev_withdrawn"
    )
    store.execute(f"DELETE FROM row_errors WHERE field = 'record_id' AND _row IN ({unchanged})")
    store.execute(f"INSERT INTO row_errors SELECT * FROM held_errors WHERE _row NOT IN ({unchanged})")
    return _Candidates("candidates", {}, all_new=False, where=_NEW_RECORDS)


# What a correction or withdrawal of a record never received is told
_NOTHING_TO = (
    f"CASE WHEN withdrawn THEN {reason('nothing_to_withdraw', record_id='record_id')} "
    f"ELSE {reason('nothing_to_correct', record_id='record_id')} END"
)


def _refuse_flags_of_new_records(store: Store, staged: _Staged) -> None:
    """Add to ``row_errors`` the valid rows of a file of new ids that correct or withdraw a record (the message
    the comparison with stored versions gives a record never received)."""
    flags = [f for f in ("correction", "withdrawn") if f in staged.cols]
    if not flags:
        return
    store.execute(
        f"""
        INSERT INTO row_errors
        SELECT _row, 'record_id', {_NOTHING_TO}
        FROM (SELECT _row, record_id, {_flag("correction", staged)} AS is_correction,
                     {_flag("withdrawn", staged)} AS withdrawn
              FROM staging WHERE _row NOT IN (SELECT _row FROM row_errors))
        WHERE is_correction OR withdrawn
        """
    )


def _write_rejects(store: Store, path: Path, report: IngestReport, staged: _Staged, lang: str) -> None:
    """The reject file: each rejected row's error (its reason in ``lang``), then the row as it was sent."""
    cols = staged.cols
    rows = {
        r[0]: r[1:]
        for r in store.execute(
            "SELECT _row" + "".join(f", {staged.text(c)}" for c in cols) + " FROM staging "
            "WHERE _row IN (SELECT _row FROM row_errors) ORDER BY _row"
        ).fetchall()
    }
    with io.TextIOWrapper(create_private(path), encoding="utf-8", newline="") as fh:  # mode 0600
        out = csv.writer(fh)
        out.writerow(["row", "field", "error", *cols])
        for e in said(report.as_dict()["errors"], lang):
            out.writerow([e["row"], e["field"], e["message"], *rows.get(e["row"], ())])


def _collect_errors(store: Store) -> list[RowError]:
    return [
        RowError(int(r[0]), str(r[1]), str(r[2]))
        for r in store.execute("SELECT DISTINCT * FROM row_errors ORDER BY 1, 2, 3").fetchall()
    ]


_UNKNOWN_SUBJECT = WORDS["unknown_subject"][0].split("{", 1)[0]  # "no registered subject '"


PRECISE_SUBJECT_MOST = 1000  # the distinct identifiers of a batch told why they are none (the rest: no subject)


@lru_cache(maxsize=1)
def _registry_regions_table() -> pa.Table:
    return pa.table({"code": sorted(registry_regions())})


@contextmanager
def _registry_regions_view(store: Store) -> Iterator[None]:
    """The temporary view ``registry_regions`` (column ``code``: every region code a registering authority can
    have, identifiers.registry_regions) while the block runs, for the queries of :func:`_well_formed_org_sql`."""
    store.con.register("registry_regions", _registry_regions_table())
    try:
        yield
    finally:
        store.con.unregister("registry_regions")


def _well_formed_org_sql(column: str) -> str:
    """SQL true where ``column`` (compacted) is a code :func:`validate_subject_id` takes for an organisation's: a
    well-formed credit code that does not look like an identity number (17 digits first), or one that does whose
    registering authority's region (characters 3-8) is a division code or 100000 (temp view ``registry_regions``).
    A valid identity number is told apart before (``_clean``)."""
    return (
        f"({well_formed_uscc_sql(column)} AND (NOT regexp_full_match({column}, '[0-9]{{17}}.') "
        f"OR substr({column}, 3, 6) IN (SELECT code FROM registry_regions)))"
    )


def _precise_subject_reasons(store: Store, errors: list[RowError], today: dt.date) -> list[RowError]:
    """``errors`` with each row refused for naming no registered subject told instead why its identifier is none
    (a check character, a region code, a birth date: ``validate_subject_id``'s words, in English and Chinese), as a
    decision on that number is; a well-formed identifier nobody registered keeps its reason. A resident identity
    number that passes every check (``_clean_ric_sql`` and its region code) is well-formed and not looked at again,
    nor is a well-formed credit code (``_well_formed_org_sql``: one ``validate_subject_id`` takes for an
    organisation's); of the others, the first ``PRECISE_SUBJECT_MOST`` distinct ones (by first row) are validated
    one by one, and the rest keep the generic reason: a file of a million malformed identifiers is not validated a
    million times. (Until 2026-12-07 the well-formed credit codes counted in that bound, and took the place of
    malformed ones.)"""

    def unknown(e: RowError) -> bool:
        return e.field == "subject_id" and e.message.startswith(_UNKNOWN_SUBJECT)

    if not any(unknown(e) for e in errors):
        return errors
    bind = _Binds()
    clean = _clean_ric_sql("subject_id", today, bind)
    # the rows refused so, read where the errors were gathered (row_errors), not handed back to DuckDB as a list
    refused = "SELECT _row FROM row_errors WHERE field = 'subject_id' AND starts_with(message, $unknown)"
    store.execute(
        "CREATE OR REPLACE TEMP TABLE refused_ids AS SELECT subject_id, min(_row) AS first_row, "
        f"bool_or({clean}) AS _clean FROM staging WHERE _row IN ({refused}) AND subject_id IS NOT NULL "
        "GROUP BY subject_id",
        {**bind.values, "unknown": _UNKNOWN_SUBJECT},
    )
    _unmark_bad_regions(store, "refused_ids", today)
    with _registry_regions_view(store):
        named = store.execute(
            f"SELECT subject_id FROM refused_ids WHERE NOT _clean AND NOT {_well_formed_org_sql('subject_id')} "
            "ORDER BY first_row LIMIT $most",
            {"most": PRECISE_SUBJECT_MOST},
        ).fetchall()
    reasons: dict[str, IdentifierError] = {}
    for (sid,) in named:
        try:
            validate_subject_id(str(sid), today=today)
        except IdentifierError as exc:
            reasons[str(sid)] = exc
    if not reasons:
        return errors
    row_ids: dict[int, str] = dict(
        store.execute(
            f"SELECT _row, subject_id FROM staging WHERE subject_id IN (SELECT unnest($ids)) AND _row IN ({refused})",
            {"ids": list(reasons), "unknown": _UNKNOWN_SUBJECT},
        ).fetchall()
    )
    out = []
    for e in errors:
        why = reasons.get(row_ids.get(e.row, "")) if unknown(e) else None
        out.append(e if why is None else replace(e, message=str(why), zh=why.zh))
    return out


_ORG_MALFORMED_TAIL = WORDS["org_malformed"][0].split("}", 1)[1]  # "' is not a unified social credit code ..."


def _precise_org_reasons(store: Store, errors: list[RowError], today: dt.date) -> list[RowError]:
    """``errors`` with each role refused for an ``org_id`` that is no well-formed credit code (``org_malformed``)
    told why, in English and Chinese: a person's identity number written otherwise (a lower-case ``x``, spaces) as
    a person's; a credit code written otherwise than registered (lower case, spaces, full-width characters: the
    org_id is compared as sent, never tidied) with the form to send; any other by ``validate_uscc``'s words (its
    length, a character outside the code's alphabet, its check character). The first ``PRECISE_SUBJECT_MOST``
    distinct org_ids (by first row) are told so, the rest keep the general reason."""

    def malformed(e: RowError) -> bool:
        return e.field == "org_id" and e.message.endswith(_ORG_MALFORMED_TAIL)

    if not any(malformed(e) for e in errors):
        return errors
    refused = "SELECT _row FROM row_errors WHERE field = 'org_id' AND ends_with(message, $tail)"
    named = store.execute(
        f"SELECT org_id, min(_row) AS first_row FROM staging WHERE _row IN ({refused}) GROUP BY org_id "
        "ORDER BY first_row LIMIT $most",
        {"tail": _ORG_MALFORMED_TAIL, "most": PRECISE_SUBJECT_MOST},
    ).fetchall()
    reasons = {str(org_id): _org_reason(str(org_id), today) for org_id, _ in named}
    rows: dict[int, str] = dict(
        store.execute(
            f"SELECT _row, org_id FROM staging WHERE org_id IN (SELECT unnest($ids)) AND _row IN ({refused})",
            {"ids": list(reasons), "tail": _ORG_MALFORMED_TAIL},
        ).fetchall()
    )
    out = []
    for e in errors:
        why = reasons.get(rows.get(e.row, "")) if malformed(e) else None
        out.append(e if why is None else replace(e, message=why[0], zh=why[1]))
    return out


def _org_reason(value: str, today: dt.date) -> tuple[str, str]:
    """Why ``value``, a role's org_id, names no organisation (see ``_precise_org_reasons``), in English and Chinese."""

    def words(key: str, **parts: str) -> tuple[str, str]:
        en, zh = WORDS[key]
        return en.format(**parts), zh.format(**parts)

    try:
        validate_ric(value, today=today)
        return words("org_is_person", value=value)
    except IdentifierError:
        pass
    try:
        code = validate_uscc(value)
    except IdentifierError as exc:
        return str(exc), exc.zh or str(exc)
    if re.fullmatch(r"[0-9]{17}.", code.number) and code.region_code not in registry_regions():
        # a credit code's check character, an identity number's shape, and no registering authority's region: no
        # organisation can be registered under it (``validate_subject_id`` refuses it)
        return words("org_no_region", value=value, region=code.region_code)
    return words("org_not_as_registered", value=value, number=code.number)


def file_state(path: Path) -> tuple[int, int, int]:
    """A file's size, time of last change (ns) and inode: what shows that it was written, or replaced, since."""
    st = path.stat()
    return st.st_size, st.st_mtime_ns, st.st_ino


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class _Ingest:
    """What every step of one ingest reads: the store, the staged file, its source and how the batch is taken."""

    store: Store
    path: Path
    source_id: str
    staged: _Staged
    n_rows: int
    reject_path: Path | str | None
    actor: str
    today: dt.date
    catalog: Catalog
    step: Progress
    batch: BatchOptions
    group: _Group | None = None  # committed with other batches in one transaction (``ingest_group``)

    @property
    def shown(self) -> str:
        """What the file is called in messages: the batch's name if it has one, else its path."""
        return self.batch.name or str(self.path)


def ingest_file(
    store: Store,
    path: Path | str,
    source_id: str,
    *,
    reject_path: Path | str | None = None,
    actor: str = "cli",
    today: dt.date | None = None,
    progress: Progress | None = None,
    catalog: Catalog | None = None,
    batch: BatchOptions | None = None,
) -> IngestReport:
    """Validate and commit one batch; rows with errors are rejected and written to the reject file.

    ``batch`` changes that for a batch sent over HTTP: all or nothing, no reject file, the sender's name and
    idempotency key recorded with the batch.
    """
    return _ingest_file(store, Path(path), source_id, reject_path, actor, today, progress, catalog, batch, None)


def _ingest_file(
    store: Store,
    path: Path,
    source_id: str,
    reject_path: Path | str | None,
    actor: str,
    today: dt.date | None,
    progress: Progress | None,
    catalog: Catalog | None,
    batch: BatchOptions | None,
    group: _Group | None,
) -> IngestReport:
    """``ingest_file``; with ``group``, inside the group's transaction (``ingest_group``)."""
    batch = batch or BatchOptions()
    catalog = catalog or store.catalog
    today = resolve_today(today)  # the registry's date: a record dated after it is refused as from the future
    _check_request(catalog, source_id, path, reject_path)
    step = progress or (lambda _stage, _done, _total: None)
    if batch.file_sha256 is None:  # the file's hash is of the bytes read: taken before, and the file unchanged after
        state = file_state(path)
        batch = replace(batch, file_sha256=_sha256(path), file_state=state)
    step("reading", 0, 3)
    if batch.limit_rows and path.suffix.lower() == ".parquet":
        limits.check_rows(_parquet_rows(path))  # before a row is read: a Parquet file's rows may cost it nothing
    staged = _stage(store, path, catalog, batch.name or str(path))
    if batch.file_state is not None and file_state(path) != batch.file_state:
        raise IngestError(
            f"{batch.name or path}: the file changed while it was read (its size or time of change); nothing was "
            "stored: send it again once it is written",
            zh=f"{batch.name or path}：读取期间文件有变动（其大小或修改时间）；未存储任何内容：请待文件写完后重新发送",
        )
    n_rows = int(store.one("SELECT count(*) FROM staging"))
    if batch.limit_rows:
        limits.check_rows(n_rows)
    run = _Ingest(store, path, source_id, staged, n_rows, reject_path, actor, today, catalog, step, batch, group)
    is_subjects = "record_type" not in staged.cols and "subject" in catalog.sources[source_id].record_types
    if is_subjects:
        return _ingest_subjects(run)
    return _ingest_records(run)


def _parquet_rows(path: Path) -> int:
    """The rows a Parquet file says it has (its footer, which its reader follows), 0 if it has no footer to read (it
    is refused as unreadable when staged). A column of one value a million times costs a few bytes: a body of a
    few kilobytes held rows by the billion, every one staged before they were counted."""
    try:
        return int(pq.read_metadata(path).num_rows)
    except (OSError, pa.ArrowException):
        return 0


def _check_request(catalog: Catalog, source_id: str, path: Path, reject_path: Path | str | None) -> None:
    """Refuse an unknown source, a missing file or a reject file named in no folder before anything is read (the
    rows would be committed, and the rejected ones written nowhere)."""
    if source_id not in catalog.sources:
        known = ", ".join(catalog.sources)
        raise IngestError(
            f"unknown source {source_id!r}; known sources: {known}",
            zh=f"未知的来源 {source_id!r}；已知的来源：{'、'.join(catalog.sources)}",
        )
    if not path.is_file():
        raise IngestError(f"{path}: no such file", zh=f"{path}：没有此文件")
    if reject_path is not None and (not Path(reject_path).parent.is_dir() or Path(reject_path).is_dir()):
        folder = Path(reject_path).is_dir()
        where = "is a folder" if folder else "is in no folder there is"
        where_zh = "是一个文件夹" if folder else "所在的文件夹不存在"
        raise IngestError(
            f"{reject_path}: the reject file {where}; name a file in a folder that exists",
            zh=f"{reject_path}：拒绝文件{where_zh}；请指定一个位于现有文件夹中的文件",
        )


def _ingest_records(run: _Ingest) -> IngestReport:
    """Validate the staged records, then commit the good ones (none if any is bad in an all-or-nothing batch)."""
    missing = [c for c in BASE_COLUMNS if c not in run.staged.cols]
    if missing:
        raise IngestError(
            f"{run.shown}: the file has no column {', '.join(map(repr, missing))}; "
            f"a record needs {', '.join(BASE_COLUMNS)}",
            zh=f"{run.shown}：文件没有 {'、'.join(map(repr, missing))} 列；记录须有 {'、'.join(BASE_COLUMNS)} 列",
        )
    run.step("validating", 1, 3)
    _compact_subject_ids(run.store)
    _fold_record_ids(run.store)
    _validate_records(run.store, run.catalog, run.source_id, run.staged, run.today)
    candidates = _prepare_records(run.store, run.catalog, run.source_id, run.staged)
    errors = _precise_subject_reasons(run.store, _collect_errors(run.store), run.today)
    errors = _precise_org_reasons(run.store, errors, run.today)
    run.step("committing", 2, 3)
    report = IngestReport(run.batch.name or str(run.path), run.source_id, None, run.n_rows, 0, 0, errors)
    if errors and run.batch.all_or_nothing:
        return report
    _commit_records(run, report, candidates)
    _count_unregistered_orgs(run, report)
    return _finish(run, report)


UNREGISTERED_SHOWN = 10  # the organisations not registered a batch's report names (it counts all their roles)


def _count_unregistered_orgs(run: _Ingest, report: IngestReport) -> None:
    """``report``'s roles naming an organisation not registered: the batch's role rows taken (not rejected, not
    withdrawals) whose ``org_id`` is no registered subject's and a code an organisation can be registered under
    (``org_ids``: a role stored before the checks and sent again unchanged is taken, yet never so named), and the
    first such organisations."""
    if (
        not _names_orgs(run.catalog, run.staged)
        or RELATION_RECORD_TYPE not in run.catalog.sources[run.source_id].record_types
    ):
        return
    found = run.store.execute(
        f"""SELECT count(*), count(DISTINCT s.org_id), list(DISTINCT s.org_id ORDER BY s.org_id)[1:{UNREGISTERED_SHOWN}]
        FROM staging s WHERE s.record_type = $type AND s.org_id IS NOT NULL AND NOT {_flag("withdrawn", run.staged)}
          AND s._row NOT IN (SELECT _row FROM row_errors)
          AND s.org_id NOT IN (SELECT subject_id FROM staged_subjects)
          AND s.org_id IN (SELECT subject_id FROM org_ids WHERE _code AND NOT coalesce(_clean, false))""",
        {"type": RELATION_RECORD_TYPE},
    ).fetchone()
    if found is not None and found[0]:
        report.unregistered_org_roles, report.unregistered_org_count = int(found[0]), int(found[1])
        report.unregistered_orgs = [str(o) for o in found[2]]


def _compact_subject_ids(store: Store) -> None:
    """Compact each record's subject id as a subjects file's is (spaces, a lower-case x, full-width digits): the
    subject is looked up, and the record stored, by the identifier as registered. Only the distinct ids not already
    18 characters of 0-9 and A-Z go through Python."""
    odd = store.execute(
        "SELECT DISTINCT subject_id FROM staging "
        "WHERE subject_id IS NOT NULL AND NOT regexp_full_match(subject_id, '[0-9A-Z]{18}')"
    ).fetchall()
    compacted = {str(sid): compact_subject_id(str(sid)) or None for (sid,) in odd}  # nothing left: missing
    changed = {old: new for old, new in compacted.items() if new != old}
    if not changed:
        return
    store.con.register("compacted_ids", pa.table({"old": list(changed), "new": list(changed.values())}))
    try:
        store.execute("UPDATE staging SET subject_id = c.new FROM compacted_ids c WHERE staging.subject_id = c.old")
    finally:
        store.con.unregister("compacted_ids")


def _fold_record_ids(store: Store) -> None:
    """Fold each staged record id's width (identifiers.fold_record_id, in SQL): ``（2024）京01民初1号`` and
    ``(2024)京01民初1号`` are one record, checked, compared with the stored ones and stored as
    ``(2024)京01民初1号``. One character for one: the fold is linear in the id, and only the ids holding a wide
    character are rewritten. An ideographic space at an end is dropped as an ASCII one is (values are staged
    trimmed); an id of nothing else is missing, as an empty one is."""
    store.execute(
        f"UPDATE staging SET record_id = nullif({fold_record_id_sql('record_id')}, '') "
        f"WHERE regexp_matches(record_id, '{RECORD_ID_TO_FOLD}')"
    )


# The valid candidates that are new. Unchanged: the latest version has this content and this withdrawn state already
# (so re-sending a correction or withdrawal file is as harmless as re-sending any other).
_VALID = "WHERE _row NOT IN (SELECT _row FROM row_errors)"
_NEW_RECORDS = (
    f"{_VALID} AND NOT (prev_version IS NOT NULL AND content_hash = prev_hash AND withdrawn = prev_withdrawn)"
)


@contextmanager
def _writes(run: _Ingest) -> Iterator[None]:
    """Where a batch writes: a transaction of its own, or its group's (``ingest_group``), which then knows that a
    failure from here on leaves the batch's writes half done."""
    if run.group is None:
        with run.store.transaction():
            yield
        return
    run.group.writing = True
    yield
    run.group.writing = False


def _then(run: _Ingest, step: Callable[[], object]) -> None:
    """Run ``step`` at the end of the batch's transaction: at once for a batch of its own, at the end of the group,
    in the batches' order, for a batch of a group (the first batch's hooks then fold the whole group into the
    scoring states, and the later ones find nothing left to fold)."""
    if run.group is None:
        step()
    else:
        run.group.later.append(step)


def _commit_records(run: _Ingest, report: IngestReport, candidates: _Candidates) -> None:
    """In one transaction: count new and unchanged rows, insert the new versions, record the batch, tell the
    hooks and the audit log; ``report`` gets the counts and the batch id."""
    store = run.store
    with _writes(run):
        rejected = int(store.one("SELECT count(DISTINCT _row) FROM row_errors"))
        n_valid = run.n_rows - rejected  # every staged row is a candidate unless it has an error
        n_new = n_valid if candidates.all_new else int(store.one(f"SELECT count(*) FROM candidates {_NEW_RECORDS}"))
        report.accepted, report.unchanged = n_new, n_valid - n_new
        batch_id = store.take_ids("batch", 1)
        report.watermark = _insert_records(run, batch_id, n_new, candidates)
        report.batch_id = batch_id
        _record_batch(store, run.batch, report, run.path, run.source_id)
        _then(run, partial(_records_committed, run, report, batch_id, n_new))


def _records_committed(run: _Ingest, report: IngestReport, batch_id: int, n_new: int) -> None:
    """The end of a records batch's transaction: the hooks (the scoring states' fold, due process) and the audit."""
    store = run.store
    if n_new:
        # the scoring states fold the batch, due process tells residents of re-certified records (docs/hooks.md),
        # in this transaction
        plugin_manager().hook.records_ingested(store=store, source_id=run.source_id, batch_id=batch_id, today=run.today)
    append_audit(
        store,
        run.actor,
        "ingest",
        None,
        {
            "batch_id": batch_id,
            "source": run.source_id,
            "file": run.batch.name or run.path.name,
            "accepted": report.accepted,
            "unchanged": report.unchanged,
            "rejected": report.rejected,
        },
    )


def _insert_records(run: _Ingest, batch_id: int, n_new: int, candidates: _Candidates) -> int | None:
    """Insert the new rows as the next version of their record (version 1 for a record never received); returns the
    last change number taken (None if none was)."""
    store = run.store
    # Keys follow the file's row numbers (no sort needed); rejected and unchanged rows leave gaps.
    first = store.take_ids("seq", run.n_rows) if n_new else 0
    # the fields the file carries (the candidates' columns); the others are NULL
    fields = "".join(f", {ident(f)}" for f in run.catalog.field_columns() if f in run.staged.cols)
    store.execute(
        f"""INSERT INTO records (record_key, source_id, record_id, version, subject_id, subject_key, record_type,
                                 event_date, content_hash, is_correction, withdrawn, batch_id, recorded_at,
                                 prev_key, first_key{fields})
        SELECT $first + _row - 1, $source, record_id, coalesce(prev_version, 0) + 1,
               subject_id, subject_key, record_type, event_date, content_hash, is_correction, withdrawn, $batch,
               now(), prev_key, first_key{fields}
        FROM {candidates.relation} {candidates.where}""",
        {**candidates.params, "first": first, "source": run.source_id, "batch": batch_id},
    )
    # the ranges of the ids received for the first time (the others are in a range already)
    if not n_new:
        new_ids = None
    elif candidates.all_new:
        new_ids = record_id_range(store, f"SELECT record_id FROM staging {_VALID}")
    else:
        new_ids = record_id_range(store, f"SELECT record_id FROM candidates {_NEW_RECORDS} AND prev_version IS NULL")
    note_record_id_range(store, run.source_id, new_ids)
    if n_new and RELATION_RECORD_TYPE in run.catalog.sources[run.source_id].record_types:
        note_role_records(store, first, first + run.n_rows - 1)
    return first + run.n_rows - 1 if n_new else None


def _finish(run: _Ingest, report: IngestReport) -> IngestReport:
    """Write the reject file if rows were rejected and the batch wants one; report the end; return the report.

    The file holds the rejected rows in clear: when the store has a key, it is written only where the caller names
    it (``reject_path``), never by default."""
    if report.errors and run.batch.write_rejects and (run.reject_path is not None or not run.store.encrypted):
        rp = Path(run.reject_path) if run.reject_path else run.path.with_name(run.path.stem + ".rejects.csv")
        try:
            _write_rejects(run.store, rp, report, run.staged, run.batch.lang)
        except OSError as exc:  # the batch is committed: its report still says so (a folder read-only, a disk full)
            report.reject_error = f"{rp}: {exc.strerror or exc}"
            log.warning("rejected rows of %s not written: %s", run.path, report.reject_error)
        else:
            report.reject_file = str(rp)
    run.step("done", 3, 3)
    return report


_SUBJECT_COLUMNS = ("subject_id", "name", "district", "profession", "address", "phone")
_SUBJECT_VALUES = ("name", "district", "profession", "address", "phone")
_RIC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _clean_ric_sql(col: str, today: dt.date, bind: _Binds) -> str:
    """SQL that is true for a resident identity number that needs no compaction and passes every check but the
    region's (its check character, birth date from 1900-01-01 to today). Anything else goes to Python."""
    digits = " + ".join(f"{w} * (ascii(substr({col}, {i + 1}, 1)) - 48)" for i, w in enumerate(_RIC_WEIGHTS))
    birth = f"try_strptime(substr({col}, 7, 8), '%Y%m%d')"
    return (
        f"coalesce(regexp_full_match({col}, '[0-9]{{17}}[0-9X]') "
        f"AND substr('10X98765432', (({digits}) % 11) + 1, 1) = substr({col}, 18, 1) "
        f"AND CAST({birth} AS DATE) BETWEEN DATE '1900-01-01' AND CAST({bind(today)} AS DATE), false)"
    )


@dataclass(frozen=True)
class _SubjectCounts:
    """How many of a subjects file's valid rows there are, how many change something, how many are new subjects."""

    valid: int
    new: int
    fresh: int


def _ingest_subjects(run: _Ingest) -> IngestReport:
    """Register or update subjects.

    Identifiers are checked in SQL (check character, birth date) with the region code of each distinct
    (code, birth year) pair checked once in Python; only identifiers that fail there, or are organisations' codes,
    are validated one by one in Python, which gives the exact message. Everything else is set-based.
    """
    if "subject_id" not in run.staged.cols or "name" not in run.staged.cols:
        raise IngestError(
            f"{run.shown}: a subjects file needs the columns subject_id and name "
            f"(and may have district, profession); a records file needs record_type",
            zh=f"{run.shown}：主体文件须有 subject_id 和 name 列（可有 district、profession 列）；"
            "记录文件须有 record_type 列",
        )
    run.step("validating", 1, 3)
    if "district" in run.staged.cols:
        aliases = district_names()
        run.store.con.register("district_names", pa.table({"alias": list(aliases), "name": list(aliases.values())}))
    try:
        _mark_clean_ids(run.store, run.today)
        errors, slow_table = _parse_other_ids(run.store, run.today)
        _stage_parsed_subjects(run.store, run.staged, slow_table)
        errors.extend(_subject_field_errors(run.store, run.staged.cols, run.catalog))
    finally:
        if "district" in run.staged.cols:
            run.store.con.unregister("district_names")
    errors.sort(key=lambda e: e.row)  # stable: a row's identifier error stays first
    _store_row_errors(run.store, errors)
    counts = _subject_candidates(run.store, run.staged)
    run.step("committing", 2, 3)
    report = IngestReport(
        run.batch.name or str(run.path),
        run.source_id,
        None,
        run.n_rows,
        counts.new,
        counts.valid - counts.new,
        errors,
        kind="subjects",
    )
    if errors and run.batch.all_or_nothing:
        report.accepted = report.unchanged = 0
        return report
    _commit_subjects(run, report, counts)
    return _finish(run, report)


def _mark_clean_ids(store: Store, today: dt.date) -> None:
    """Add ``staging._clean``: true for a resident identity number that passes every check, set-based in SQL but
    for the region code, checked once per distinct (code, birth year) pair in Python."""
    bind = _Binds()
    clean = _clean_ric_sql("subject_id", today, bind)
    store.execute("ALTER TABLE staging ADD COLUMN _clean BOOLEAN")
    store.execute(f"UPDATE staging SET _clean = {clean}", bind.values)
    _unmark_bad_regions(store, "staging", today)


def _unmark_bad_regions(store: Store, table: str, today: dt.date) -> None:
    """Set ``_clean`` false in ``table`` (of ``subject_id`` and ``_clean``) where the number's region code was no
    region in its birth year: checked once per distinct (code, birth year) pair in Python."""
    pairs = store.execute(
        f"SELECT DISTINCT substr(subject_id, 1, 6), CAST(substr(subject_id, 7, 4) AS INTEGER) FROM {table} WHERE _clean"
    ).fetchall()
    bad_regions = [(c, y) for c, y in pairs if region_name(str(c), int(y), today.year) is None]
    if bad_regions:
        store.con.register(
            "bad_regions", pa.table({"code": [c for c, _ in bad_regions], "year": [y for _, y in bad_regions]})
        )
        store.execute(
            f"UPDATE {table} SET _clean = false FROM bad_regions b "
            "WHERE _clean AND substr(subject_id, 1, 6) = b.code AND CAST(substr(subject_id, 7, 4) AS INTEGER) = b.year"
        )
        store.con.unregister("bad_regions")


def _parse_other_ids(store: Store, today: dt.date) -> tuple[list[RowError], pa.Table]:
    """Validate one by one, in Python, the identifiers that are not clean: organisations' codes, identifiers needing
    compaction, and every invalid one. Returns the errors and a table of the parsed valid ones."""
    errors: list[RowError] = []
    slow: dict[str, list[Any]] = {c: [] for c in ("_row", "number", "kind", "birth_date", "sex", "region_code")}
    for n, sid in store.execute("SELECT _row, subject_id FROM staging WHERE NOT _clean ORDER BY _row").fetchall():
        if sid is None:
            errors.append(RowError(int(n), "subject_id", "is required"))
            continue
        try:
            parsed = validate_subject_id(sid, today=today)
        except IdentifierError as exc:
            errors.append(RowError(int(n), "subject_id", str(exc), exc.zh))
            continue
        person = not isinstance(parsed, OrgCode)
        slow["_row"].append(int(n))
        slow["number"].append(parsed.number)
        slow["kind"].append("person" if person else "org")
        slow["birth_date"].append(parsed.birth_date if not isinstance(parsed, OrgCode) else None)
        slow["sex"].append(parsed.sex if not isinstance(parsed, OrgCode) else None)
        slow["region_code"].append(parsed.region_code)
    slow_table = pa.table(
        {
            "_row": pa.array(slow["_row"], pa.int64()),
            "number": pa.array(slow["number"], pa.string()),
            "kind": pa.array(slow["kind"], pa.string()),
            "birth_date": pa.array(slow["birth_date"], pa.date32()),
            "sex": pa.array(slow["sex"], pa.string()),
            "region_code": pa.array(slow["region_code"], pa.string()),
        }
    )
    return errors, slow_table


def _stage_parsed_subjects(store: Store, staged: _Staged, slow_table: pa.Table) -> None:
    """Temp table ``parsed_subjects``: every row with a valid identifier, parsed (clean ones in SQL, the others from
    ``slow_table``), with the subject's values (NULL for a column the file lacks) and ``_lacks`` (the optional
    values the row's record lacks, of ``staged.lacking``)."""
    cols = staged.cols
    store.con.register("slow_ids", slow_table)
    values = ", ".join(
        f"s.{ident(c)}" if c in cols else f"CAST(NULL AS VARCHAR) AS {ident(c)}" for c in _SUBJECT_VALUES
    )
    lacks = "s._lacks" if staged.lacking else "CAST([] AS VARCHAR[])"
    if "name" in cols:  # canonical form (NFC): a name typed decomposed, or with a compatibility ideograph, is one name
        values = values.replace('s."name"', "nfc_normalize(s.name) AS name")
    names = ""
    if "district" in cols:  # stored as its district's name: ``Haidian``, ``110108`` and ``宣武区`` (today 西城区)
        values = values.replace('s."district"', "coalesce(n.name, s.district) AS district")
        names = "LEFT JOIN district_names n ON n.alias = lower(s.district)"
    try:
        store.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE parsed_subjects AS
            SELECT s._row, p.number, p.kind, p.birth_date, p.sex, p.region_code, {values}, {lacks} AS _lacks
            FROM (
                SELECT _row, subject_id AS number, 'person' AS kind,
                       CAST(strptime(substr(subject_id, 7, 8), '%Y%m%d') AS DATE) AS birth_date,
                       CASE WHEN (ascii(substr(subject_id, 17, 1)) - 48) % 2 = 1 THEN 'M' ELSE 'F' END AS sex,
                       substr(subject_id, 1, 6) AS region_code
                FROM staging WHERE _clean
                UNION ALL SELECT * FROM slow_ids
            ) p JOIN staging s USING (_row) {names}
            """
        )
    finally:
        store.con.unregister("slow_ids")


def _subject_field_errors(store: Store, cols: list[str], catalog: Catalog) -> list[RowError]:
    """The errors found in SQL: a missing name, a control character in a name or district, an unknown profession, a
    column that is no field of a subject, and an identifier repeated in the file; in row order."""
    bind = _Binds()  # DuckDB refuses values the statement does not use: bind only what a check reads
    checks = [f"SELECT _row, 1, 'name', {reason('required')} FROM staging WHERE name IS NULL"]
    # A name or district is printable: a NUL byte, a line break or an escape sequence in one is refused. It is also
    # visible text: ``张\u200b三`` shows as 张三, and would be another name (an address, a phone number alike).
    for col in (c for c in ("name", "district", "address", "phone") if c in cols):
        what = f"'{'an' if col == 'address' else 'a'} {col}'"
        checks.append(
            f"SELECT _row, 1, '{col}', {reason('control', char=_first_char(col, CONTROL_PATTERN), what=what)} "
            f"FROM staging WHERE regexp_matches({col}, '{CONTROL_PATTERN}')"
        )
        checks.append(
            f"SELECT _row, 1, '{col}', {reason('invisible', char=first_invisible_sql(col), what=what)} FROM staging "
            f"WHERE {invisible_sql(col)} AND NOT regexp_matches({col}, '{CONTROL_PATTERN}')"
        )
    if "profession" in cols:
        checks.append(
            # The catalog's professions named, as a field's allowed values are: what to write instead.
            "SELECT _row, 2, 'profession', "
            f"{reason('not_profession', value='profession', allowed=bind(', '.join(catalog.professions)))} "
            f"FROM staging WHERE profession IS NOT NULL AND profession NOT IN ({bind.each(catalog.professions)})"
        )
    for extra in (c for c in cols if c not in _SUBJECT_COLUMNS):
        checks.append(
            f"SELECT _row, 3, {bind(extra)}, {reason('not_subject_field')} FROM staging "
            f"WHERE {ident(extra)} IS NOT NULL"
        )
    store.execute(
        "CREATE OR REPLACE TEMP TABLE subject_field_errors AS SELECT * FROM ("
        + " UNION ALL ".join(checks)
        + ") AS e(_row, ord, field, message)",
        bind.values,
    )
    # A duplicate is counted among the rows that are otherwise valid, as the first occurrence is the one kept.
    sql_errors = store.execute(
        "SELECT _row, field, message FROM (SELECT * FROM subject_field_errors UNION ALL "
        f"SELECT _row, 4, 'subject_id', {reason('repeated', first='first')} FROM ("
        "SELECT _row, min(_row) OVER (PARTITION BY number) AS first FROM parsed_subjects "
        "WHERE _row NOT IN (SELECT _row FROM subject_field_errors)) WHERE _row > first) "
        "ORDER BY _row, ord, field"
    ).fetchall()
    return [RowError(int(r), str(f), str(m)) for r, f, m in sql_errors]


def _store_row_errors(store: Store, errors: list[RowError]) -> None:
    """Temp table ``row_errors``, holding ``errors`` (the reject file and the candidates read it)."""
    store.execute(
        "CREATE OR REPLACE TEMP TABLE row_errors AS SELECT * FROM (VALUES (0, '', '')) AS e(_row, field, message) "
        "WHERE false"
    )
    if errors:
        errors_table = pa.table(
            {
                "_row": pa.array([e.row for e in errors], pa.int64()),
                "field": [e.field for e in errors],
                "message": [e.message for e in errors],
            }
        )
        store.con.register("new_errors", errors_table)
        store.execute("INSERT INTO row_errors SELECT * FROM new_errors")
        store.con.unregister("new_errors")


def _subject_candidates(store: Store, staged: _Staged) -> _SubjectCounts:
    """Temp table ``subject_candidates``: the valid rows, each with its subject's key if it is known and whether
    it changes nothing; returns their counts. A value the row does not send is the subject's as registered: a
    column the file lacks (CSV, Parquet), or a key its record lacks (NDJSON, JSON: ``staged.lacking``, per record).
    A file of names alone says nothing of a district or a profession, and keeps each subject's (until 2026-12-06 it
    made a new version of every subject without them); a column present with an empty value, or a key with null,
    clears it."""

    def sent(c: str) -> str:  # SQL: true where the row sends value ``c``
        if c not in staged.cols:
            return "false"
        return f"NOT list_contains(p._lacks, {lit(c)})" if c in staged.lacking else "true"

    values = ", ".join(
        f"CASE WHEN {sent(c)} THEN p.{ident(c)} ELSE l.{ident(c)} END AS {ident(c)}" for c in _SUBJECT_VALUES
    )
    same = " AND ".join(f"(NOT {sent(c)} OR p.{ident(c)} IS NOT DISTINCT FROM l.{ident(c)})" for c in _SUBJECT_VALUES)
    # Only the batch's subjects: filtered before the window, so a batch does not rank every subject of the city.
    latest = latest_subjects(
        ("subject_id", "name", "district", "profession", "address", "phone", "subject_key"),
        where=exp.column("subject_id").isin(query=exp.select("number").from_("parsed_subjects")),
    ).sql(dialect="duckdb")
    store.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE subject_candidates AS
        WITH latest AS ({latest})
        SELECT p.* EXCLUDE (_lacks) REPLACE ({values}), l.subject_key AS known_key,
            l.subject_id IS NOT NULL AND {same} AS unchanged
        FROM parsed_subjects p LEFT JOIN latest l ON l.subject_id = p.number
        WHERE p._row NOT IN (SELECT _row FROM row_errors)
        """
    )
    return _SubjectCounts(
        valid=int(store.one("SELECT count(*) FROM subject_candidates")),
        new=int(store.one("SELECT count(*) FROM subject_candidates WHERE NOT unchanged")),
        fresh=int(store.one("SELECT count(*) FROM subject_candidates WHERE known_key IS NULL")),
    )


def _commit_subjects(run: _Ingest, report: IngestReport, counts: _SubjectCounts) -> None:
    """In one transaction: insert the new and changed subjects, record the batch and write the audit entry;
    ``report`` gets the batch id."""
    store = run.store
    with _writes(run):
        batch_id = store.take_ids("batch", 1)
        if counts.new:
            report.watermark = _insert_subjects(store, counts, batch_id)
        report.batch_id = batch_id
        _record_batch(store, run.batch, report, run.path, run.source_id)
        detail = {
            "batch_id": batch_id,
            "file": run.batch.name or run.path.name,
            "accepted": counts.new,
            "unchanged": counts.valid - counts.new,
            "rejected": report.rejected,
        }
        _then(run, partial(append_audit, store, run.actor, "ingest_subjects", None, detail))


def _insert_subjects(store: Store, counts: _SubjectCounts, batch_id: int) -> int:
    """Insert a new version of each changed subject; a new subject gets the next free subject key. Returns the last
    change number taken."""
    first = store.take_ids("seq", counts.new)
    next_key = store.take_ids("subject", counts.fresh) if counts.fresh else 0
    store.execute(
        """
        CREATE OR REPLACE TEMP TABLE new_subjects AS
        SELECT c.*, coalesce(c.known_key, ? + f.fresh - 1) AS subject_key
        FROM subject_candidates c LEFT JOIN (
            SELECT _row, row_number() OVER (ORDER BY _row) AS fresh FROM subject_candidates
            WHERE known_key IS NULL
        ) f USING (_row)
        WHERE NOT c.unchanged
        """,
        [next_key],
    )
    store.execute(
        "INSERT INTO subjects (seq, subject_id, kind, name, birth_date, sex, region_code, district, "
        "profession, address, phone, subject_key, batch_id, recorded_at) "
        "SELECT ? + row_number() OVER (ORDER BY _row) - 1, number, kind, name, birth_date, sex, region_code, "
        "district, profession, address, phone, subject_key, ?, now() FROM new_subjects",
        [first, batch_id],
    )
    store.execute(
        "INSERT INTO subject_keys (subject_key, subject_id, kind) "
        "SELECT subject_key, number, kind FROM new_subjects WHERE known_key IS NULL"
    )
    return first + counts.new - 1


def record_as_batch_row(store: Store, source_id: str, record_id: str) -> dict[str, Any]:
    """The latest version of one record of a source (versions.latest_record) as a row a batch would carry: the
    base columns, ``withdrawn`` and the record type's fields, by name, as text."""
    catalog = store.catalog
    record_id = given_record_id(record_id)
    try:
        row = versions.latest_record(store, source_id, record_id)
    except NotFoundError:
        raise NotFoundError(
            f"no record {quoted(record_id)} from source {source_id}",
            zh=f"来源 {source_id} 没有记录 {quoted(record_id)}",
        ) from None
    own = set(catalog.record_types[row["record_type"]].fields) if row["record_type"] in catalog.record_types else set()
    return {
        k: (str(v).lower() if isinstance(v, bool) else str(v))
        for k, v in row.items()
        if k in (*BASE_COLUMNS, "withdrawn") or (k in own and v is not None)
    }


def earlier_answer(store: Store, source_id: str, idempotency_key: str) -> tuple[str, dict[str, Any]] | None:
    """The SHA-256 and the answer of the batch ``source_id`` sent before with ``idempotency_key``, if it did."""
    row = store.execute(
        "SELECT file_sha256, response FROM batches WHERE source_id = ? AND idempotency_key = ?",
        [source_id, idempotency_key],
    ).fetchone()
    if row is None:
        return None
    answer: dict[str, Any] = json.loads(row[1])
    return str(row[0]), answer


# --- several batches in one transaction ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchRequest:
    """A batch sent to a running service: its file, its source, who sent it and how it is taken; ``sha256`` is the
    body's, compared with the first batch's when an idempotency key comes again."""

    path: Path
    source_id: str
    actor: str
    today: dt.date
    options: BatchOptions
    sha256: str = ""


@dataclass(frozen=True)
class BatchOutcome:
    """What a batch got: its report, the first answer of the batch its idempotency key named (``replayed``), or the
    error that refused it (raised by the caller; nothing of the batch was committed)."""

    report: IngestReport | None = None
    replayed: dict[str, Any] | None = None
    error: Exception | None = None


@dataclass
class _Group:
    """Batches committed in one transaction (``ingest_group``): what each batch leaves to the end of the group, and
    whether a batch is writing (a failure then is the group's: the batch cannot be undone alone)."""

    later: list[Callable[[], object]] = field(default_factory=list)
    writing: bool = False


class _Aborted(Exception):
    """A batch's refusal came from an error that aborted the group's transaction: the others are taken again."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


def _replayed(store: Store, request: BatchRequest) -> dict[str, Any] | None:
    """The first answer of the batch ``request``'s idempotency key named, if one was committed (ConflictError if
    that batch had another body)."""
    key = request.options.idempotency_key
    earlier = earlier_answer(store, request.source_id, key) if key else None
    if earlier is None:
        return None
    if earlier[0] != request.sha256:
        raise ConflictError(
            f"Idempotency-Key {key!r} was used for another batch; a new batch needs a new key",
            code="idempotency_key_reused",
            field="idempotency-key",
            zh=f"Idempotency-Key {key!r} 已用于另一批；新的批次需要新的键",
        )
    return earlier[1]


def _take(store: Store, request: BatchRequest, group: _Group | None) -> BatchOutcome:
    replayed = _replayed(store, request)
    if replayed is not None:
        return BatchOutcome(replayed=replayed)
    report = _ingest_file(
        store,
        request.path,
        request.source_id,
        None,
        request.actor,
        request.today,
        None,
        None,
        request.options,
        group,
    )
    return BatchOutcome(report=report)


def ingest_request(store: Store, request: BatchRequest) -> BatchOutcome:
    """One batch in a transaction of its own: answered with the first answer if its idempotency key was used
    before, else ingested; any error is its outcome's."""
    try:
        return _take(store, request, None)
    except Exception as exc:
        return BatchOutcome(error=exc)


def _usable(store: Store) -> bool:
    """Whether the transaction is still open (DuckDB aborts it at any error of a statement)."""
    try:
        store.execute("SELECT 1")
    except duckdb.Error:
        return False
    return True


def ingest_group(store: Store, requests: Sequence[BatchRequest]) -> list[BatchOutcome]:
    """Take several batches in one transaction, in their order, each answered as if alone (``ingest_request``).

    Each batch is validated and written after the ones before it, so a correction of a record an earlier batch of
    the group added, or an idempotency key an earlier batch used, is seen as if the batches came one by one; what
    ends a batch's transaction (the ``records_ingested`` hooks, whose first call folds the whole group into the
    scoring states, and the audit entry) runs once they are all written, in their order, then one commit. A batch
    refused before it wrote (an unreadable body, a row over a limit, a batch with errors, a reused key) writes
    nothing and the others go on; if its error aborted the transaction (DuckDB aborts it at any failed
    statement: a body it cannot read), the group is taken again without it. Any other failure (a batch failing
    while it writes, the hooks, the commit) rolls the group back and takes its batches one by one, so that one bad
    batch cannot fail the others. Returns the outcomes in the requests' order; nothing is committed before the
    group's commit, so a caller answers only after it.
    """
    outcomes: dict[int, BatchOutcome] = {}
    todo = list(range(len(requests)))
    while len(todo) > 1:
        group = _Group()
        taken: dict[int, BatchOutcome] = {}
        try:
            with store.transaction():
                for i in todo:
                    try:
                        taken[i] = _take(store, requests[i], group)
                    except SocialCreditError as exc:
                        if group.writing:
                            raise
                        taken[i] = BatchOutcome(error=exc)
                        if not _usable(store):
                            raise _Aborted(i) from exc
                for step in group.later:
                    step()
        except _Aborted as aborted:
            outcomes[aborted.index] = taken[aborted.index]
            todo.remove(aborted.index)
            continue
        except Exception:
            log.warning("a group of %d batches failed; taking them one by one", len(todo), exc_info=True)
            break
        outcomes.update(taken)
        todo = []
    for i in todo:
        outcomes[i] = ingest_request(store, requests[i])
    return [outcomes[i] for i in range(len(requests))]
