"""Ingest a batch of records (or subjects) from CSV, NDJSON or Parquet.

Behaviour, as documented in docs/ingest.md:

* the whole file is read into a staging table and validated first; each bad row is rejected with its
  row number (1 = first data row), field and reason, and written to a reject file;
* the accepted rows are committed in one transaction with the batch's own row: all of them or none;
* re-sending a record with the same (source, record_id) and the same content changes nothing; with
  different content it is refused unless the row says ``correction=true``, and then it becomes a new version;
  ``withdrawn=true`` withdraws a record (a new version that no longer counts). History stays queryable. A record
  withdrawn after a dispute comes back only with ``correction=true`` and ``certified=true`` (the source certifies it
  is accurate); its subject is told.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import sqlglot.expressions as exp

from socialcredit.catalog import Catalog, FieldSpec
from socialcredit.clock import resolve_today
from socialcredit.errors import IdentifierError, IngestError, NotFoundError
from socialcredit.identifiers import OrgCode, region_name, validate_subject_id
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.hooks import plugin_manager
from socialcredit.registry.records import versions
from socialcredit.sqltext import ident
from socialcredit.store import SQL_TYPES, Store, latest_subjects

__all__ = ["BASE_COLUMNS", "BatchOptions", "IngestReport", "RowError", "ingest_file", "record_as_batch_row"]

BASE_COLUMNS = ("record_id", "subject_id", "record_type", "event_date")
FLAG_COLUMNS = ("correction", "withdrawn", "certified")
_TRUE = ("true", "1", "yes")
_BOOL = ("true", "false", "1", "0", "yes", "no")

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    message: str

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
    kind: str = "records"

    @property
    def rejected(self) -> int:
        return len({e.row for e in self.errors})

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
            "reject_file": self.reject_file,
            "errors": [{"row": e.row, "field": e.field, "message": e.message} for e in self.errors],
        }


@dataclass(frozen=True)
class BatchOptions:
    """How a batch is taken: files keep their good rows; a batch over HTTP is all or nothing."""

    all_or_nothing: bool = False
    write_rejects: bool = True
    name: str | None = None  # what the batch is called in the batch table and the audit log
    idempotency_key: str | None = None


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


def _record_batch(store: Store, batch: BatchOptions, report: IngestReport, path: Path, source_id: str) -> None:
    """The batch's own row, in the transaction that commits it (with the answer a replay will get)."""
    store.execute(
        "INSERT INTO batches (batch_id, source_id, file_name, file_sha256, received_at, n_rows, n_accepted, "
        "n_unchanged, n_rejected, idempotency_key, response) VALUES (?, ?, ?, ?, now(), ?, ?, ?, ?, ?, ?)",
        [
            report.batch_id,
            source_id,
            batch.name or path.name,
            _sha256(path),
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


def _stage(store: Store, path: Path) -> list[str]:
    """Read the file into temp table ``staging`` (all text, with ``_row``); return its data columns."""
    suffix = path.suffix.lower()
    bind = _Binds()
    src = bind(str(path))
    if suffix == ".csv":
        reader = f"read_csv({src}, all_varchar = true, header = true, auto_detect = true)"
    elif suffix in (".ndjson", ".jsonl", ".json"):
        reader = None
    elif suffix == ".parquet":
        reader = f"read_parquet({src}, file_row_number = true)"
    else:
        raise IngestError(f"{path}: unsupported file type {suffix!r}; use .csv, .ndjson (or .jsonl) or .parquet")
    try:
        if reader is None:
            objs = f"read_ndjson_objects({src})"
            keys = store.execute(f"SELECT DISTINCT unnest(json_keys(json)) FROM {objs}", bind.values).fetchall()
            columns = sorted(str(k[0]) for k in keys)
            fields = ", ".join(f"json ->> {bind('$.' + c)} AS {ident(c)}" for c in columns if c.isidentifier())
            reader = f"(SELECT {fields or 'NULL AS _none'} FROM {objs})"
        described = [str(r[0]) for r in store.execute(f"DESCRIBE SELECT * FROM {reader}", bind.values).fetchall()]
        cols = [c for c in described if c not in ("_none", "file_row_number")]
        # Parquet numbers its rows as it reads them, in parallel; other readers are numbered by a window.
        row = "file_row_number + 1" if suffix == ".parquet" else "row_number() OVER ()"
        # Every value is compared as text: numbers, dates and flags from Parquet are cast once, here, in the
        # same statement that reads the file (one pass, one materialisation).
        casts = "".join(
            f", CASE WHEN CAST({ident(c)} AS VARCHAR) = '' THEN NULL ELSE trim(CAST({ident(c)} AS VARCHAR)) END "
            f"AS {ident(c)}"
            for c in cols
        )
        store.execute(f"CREATE OR REPLACE TEMP TABLE staging AS SELECT {row} AS _row{casts} FROM {reader}", bind.values)
    except duckdb.IOException as exc:
        raise IngestError(f"{path}: cannot read the file: {str(exc).splitlines()[0]}") from None
    except duckdb.Error as exc:
        raise IngestError(f"{path}: not a readable {suffix[1:]} file: {str(exc).splitlines()[0]}") from None
    return cols


def _field_checks(name: str, spec: FieldSpec, record_type: str, present: bool, bind: _Binds) -> list[str]:
    """SELECTs yielding (_row, field, message) for every bad value of one field of one record type."""
    col = ident(name)
    out: list[str] = []

    def check(cond: str, message_sql: str) -> None:
        scope = f"record_type = {bind(record_type)}"
        out.append(f"SELECT _row, {bind(name)}, {message_sql} FROM staging WHERE {scope} AND {cond}")

    if not present:
        if spec.required:
            check("true", bind(f"is required for {record_type}"))
        return out
    if spec.required:
        check(f"{col} IS NULL", bind(f"is required for {record_type}"))
    shown = f"'''' || {col} || ''''"
    if spec.type == "integer":
        check(
            f"{col} IS NOT NULL AND NOT regexp_full_match({col}, '-?[0-9]{{1,15}}')",
            f"{shown} || ' is not a whole number'",
        )
    elif spec.type == "number":
        check(
            f"{col} IS NOT NULL AND (TRY_CAST({col} AS DOUBLE) IS NULL OR NOT isfinite(TRY_CAST({col} AS DOUBLE)))",
            f"{shown} || ' is not a number'",
        )
    elif spec.type == "boolean":
        check(
            f"{col} IS NOT NULL AND lower({col}) NOT IN ({bind.each(_BOOL)})",
            f"{shown} || ' is not true or false'",
        )
    elif spec.type == "date":
        check(f"{col} IS NOT NULL AND TRY_CAST({col} AS DATE) IS NULL", f"{shown} || ' is not a date (YYYY-MM-DD)'")
    if spec.allowed is not None:
        check(
            f"{col} IS NOT NULL AND {col} NOT IN ({bind.each(spec.allowed)})",
            f"{shown} || {bind(' is not allowed; allowed: ' + ', '.join(spec.allowed))}",
        )
    if spec.type in ("integer", "number"):
        num = f"TRY_CAST({col} AS DOUBLE)"
        if spec.min is not None:
            check(f"{num} < {bind(float(spec.min))}", f"{shown} || {bind(f' is below the minimum {spec.min:g}')}")
        if spec.max is not None:
            check(f"{num} > {bind(float(spec.max))}", f"{shown} || {bind(f' is above the maximum {spec.max:g}')}")
    return out


def _typed(name: str, spec: FieldSpec, bind: _Binds) -> str:
    col = ident(name)
    if spec.type == "integer":
        return f"CAST({col} AS BIGINT)"
    if spec.type == "number":
        return f"CAST({col} AS DOUBLE)"
    if spec.type == "boolean":
        return f"lower({col}) IN ({bind.each(_TRUE)})"
    return col  # strings, and dates kept as their ISO text


def _validate_records(store: Store, catalog: Catalog, source_id: str, cols: list[str], today: dt.date) -> None:
    """Fill temp table ``row_errors`` with every problem of the staged rows."""
    allowed_types = [t for t in catalog.sources[source_id].record_types if t in catalog.record_types]
    bind = _Binds()
    checks: list[str] = []
    for col in BASE_COLUMNS:
        checks.append(f"SELECT _row, {bind(col)}, 'is required' FROM staging WHERE {ident(col)} IS NULL")
    known = bind.each(catalog.record_types)
    checks.append(
        "SELECT _row, 'record_type', '''' || record_type || ''' is not a record type' FROM staging "
        f"WHERE record_type IS NOT NULL AND record_type NOT IN ({known})"
    )
    may = bind.each(allowed_types)
    checks.append(
        "SELECT _row, 'record_type', "
        f"{bind(f'source {source_id} may not send ')} || record_type || "
        f"{bind(' (it may send: ' + ', '.join(allowed_types) + ')')} FROM staging "
        f"WHERE record_type IN ({known}) AND record_type NOT IN ({may})"
    )
    checks.append(
        "SELECT _row, 'event_date', '''' || event_date || ''' is not a date (YYYY-MM-DD)' FROM staging "
        "WHERE event_date IS NOT NULL AND TRY_CAST(event_date AS DATE) IS NULL"
    )
    checks.append(
        "SELECT _row, 'event_date', event_date || ' is in the future' FROM staging "
        f"WHERE TRY_CAST(event_date AS DATE) > CAST({bind(today)} AS DATE)"
    )
    # The subjects this file is about, looked up once: their kind and integer key.
    store.execute(
        "CREATE OR REPLACE TEMP TABLE staged_subjects AS SELECT DISTINCT x.subject_id, x.kind, x.subject_key "
        "FROM subjects x WHERE x.subject_id IN (SELECT subject_id FROM staging)"
    )
    checks.append(
        "SELECT _row, 'subject_id', 'no registered subject ''' || subject_id || "
        "''' (subjects are registered through the civil_affairs source)' FROM staging s WHERE subject_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM staged_subjects x WHERE x.subject_id = s.subject_id)"
    )
    for name, rt in catalog.record_types.items():
        for kind, label in (("person", "persons"), ("org", "organisations")):
            if kind not in rt.subjects:
                checks.append(
                    f"SELECT s._row, 'subject_id', {bind(f'a {name} record cannot be about {label}')} "
                    "FROM staging s JOIN staged_subjects x "
                    f"ON x.subject_id = s.subject_id WHERE s.record_type = {bind(name)} AND x.kind = {bind(kind)}"
                )
        for fname, spec in rt.fields.items():
            checks.extend(_field_checks(fname, spec, name, fname in cols, bind))
        own = set(rt.fields) | set(BASE_COLUMNS) | set(FLAG_COLUMNS)
        for col in cols:
            if col not in own:
                checks.append(
                    f"SELECT _row, {bind(col)}, {bind(f'is not a field of {name}')} FROM staging "
                    f"WHERE record_type = {bind(name)} AND {ident(col)} IS NOT NULL"
                )
    for flag in FLAG_COLUMNS:
        if flag in cols:
            checks.append(
                f"SELECT _row, {bind(flag)}, '''' || {ident(flag)} || ''' is not true or false' FROM staging "
                f"WHERE {ident(flag)} IS NOT NULL AND lower({ident(flag)}) NOT IN ({bind.each(_BOOL)})"
            )
    checks.append(
        "SELECT _row, 'record_id', '''' || record_id || ''' appears more than once in this file (first at row ' "
        "|| first_row || ')' FROM (SELECT _row, record_id, min(_row) OVER (PARTITION BY record_id) AS first_row "
        "FROM staging WHERE record_id IS NOT NULL) WHERE _row > first_row"
    )
    store.execute(
        "CREATE OR REPLACE TEMP TABLE row_errors AS SELECT * FROM ("
        + " UNION ALL ".join(checks)
        + ") AS e(_row, field, message)",
        bind.values,
    )


def _prepare_records(store: Store, catalog: Catalog, source_id: str, cols: list[str]) -> None:
    """Typed, hashed candidate rows for the valid staged rows, compared with what the store holds."""
    # One typed column per catalog field; NULL where the row's type has no such field or the file lacks it.
    owners: dict[str, list[str]] = {}
    for name, rt in catalog.record_types.items():
        for f in rt.fields:
            owners.setdefault(f, []).append(name)
    specs = {f: spec for rt in catalog.record_types.values() for f, spec in rt.fields.items()}
    fields = catalog.field_columns()
    bind = _Binds()
    typed_cols = ", ".join(
        (
            f"CASE WHEN record_type IN ({bind.each(owners[f])}) THEN {_typed(f, specs[f], bind)} END"
            if f in cols
            else f"CAST(NULL AS {SQL_TYPES[ftype]})"
        )
        + f" AS {ident(f)}"
        for f, ftype in fields.items()
    )
    # The content hash covers every field in name order, whatever columns a file happens to carry.
    hashed = " || '|' || ".join(f"coalesce(CAST(t.{ident(f)} AS VARCHAR), '\\N')" for f in fields)
    flag = {
        f: (f"coalesce(lower({ident(f)}) IN ('true', '1', 'yes'), false)" if f in cols else "false")
        for f in FLAG_COLUMNS
    }
    store.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE candidates AS
        WITH typed AS (
            SELECT _row, record_id, subject_id, record_type, CAST(event_date AS DATE) AS event_date,
                   {typed_cols}, {flag["correction"]} AS is_correction, {flag["withdrawn"]} AS withdrawn,
                   {flag["certified"]} AS certified
            FROM staging WHERE _row NOT IN (SELECT _row FROM row_errors)
        ), latest AS (
            SELECT record_id, record_key, version, content_hash, withdrawn
            FROM records WHERE source_id = {bind(source_id)} AND record_id IN (SELECT record_id FROM staging)
            QUALIFY row_number() OVER (PARTITION BY record_id ORDER BY version DESC) = 1
        )
        SELECT t.*, k.subject_key,
               md5(t.subject_id || '|' || t.record_type || '|' || CAST(t.event_date AS VARCHAR) || '|'
                   || {hashed}) AS content_hash,
               l.record_key AS prev_key, l.version AS prev_version, l.content_hash AS prev_hash,
               l.withdrawn AS prev_withdrawn
        FROM typed t LEFT JOIN latest l USING (record_id)
        LEFT JOIN staged_subjects k ON k.subject_id = t.subject_id
        """,
        bind.values,
    )
    store.execute(
        """
        INSERT INTO row_errors
        SELECT _row, 'record_id', '''' || record_id || ''' was already received with different content; '
               || 'send it with correction=true to correct it'
        FROM candidates WHERE prev_version IS NOT NULL AND NOT is_correction AND NOT withdrawn
          AND content_hash <> prev_hash AND NOT prev_withdrawn
        UNION ALL
        SELECT _row, 'record_id', 'nothing to ' || CASE WHEN withdrawn THEN 'withdraw' ELSE 'correct' END
               || ': ''' || record_id || ''' was never received from this source'
        FROM candidates WHERE prev_version IS NULL AND (is_correction OR withdrawn)
        UNION ALL
        SELECT _row, 'record_id', '''' || record_id || ''' was withdrawn; only a correction can bring it back'
        FROM candidates WHERE prev_withdrawn AND NOT is_correction AND NOT withdrawn
        UNION ALL
        SELECT _row, 'certified', '''' || record_id || ''' was withdrawn after a dispute; it comes back only with '
               || 'the source''s certification that it is accurate (certified=true)'
        FROM candidates c WHERE prev_withdrawn AND is_correction AND NOT withdrawn AND NOT certified
          AND EXISTS (SELECT 1 FROM disputes d WHERE d.source_id = $source AND d.record_id = c.record_id
                      AND d.status IN ('withdrawn', 'lapsed'))
        """,
        {"source": source_id},
    )
    # A row whose content and withdrawn state equal the latest version is unchanged, never an error.
    store.execute(
        """DELETE FROM row_errors WHERE field = 'record_id' AND _row IN (
            SELECT _row FROM candidates WHERE prev_version IS NOT NULL AND content_hash = prev_hash
              AND withdrawn = prev_withdrawn)"""
    )


def _write_rejects(store: Store, path: Path, errors: list[RowError], cols: list[str]) -> None:
    rows = {
        r[0]: r[1:]
        for r in store.execute(
            "SELECT _row" + "".join(f", {ident(c)}" for c in cols) + " FROM staging "
            "WHERE _row IN (SELECT _row FROM row_errors) ORDER BY _row"
        ).fetchall()
    }
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["row", "field", "error", *cols])
        for e in errors:
            out.writerow([e.row, e.field, e.message, *rows.get(e.row, ())])


def _collect_errors(store: Store) -> list[RowError]:
    return [
        RowError(int(r[0]), str(r[1]), str(r[2]))
        for r in store.execute("SELECT DISTINCT * FROM row_errors ORDER BY 1, 2, 3").fetchall()
    ]


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
    cols: list[str]
    n_rows: int
    reject_path: Path | str | None
    actor: str
    today: dt.date
    catalog: Catalog
    step: Progress
    batch: BatchOptions


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
    batch = batch or BatchOptions()
    catalog = catalog or store.catalog
    path = Path(path)
    today = resolve_today(today)  # the registry's date: a record dated after it is refused as from the future
    _check_request(catalog, source_id, path)
    step = progress or (lambda _stage, _done, _total: None)
    step("reading", 0, 3)
    cols = _stage(store, path)
    n_rows = int(store.one("SELECT count(*) FROM staging"))
    run = _Ingest(store, path, source_id, cols, n_rows, reject_path, actor, today, catalog, step, batch)
    is_subjects = "record_type" not in cols and "subject" in catalog.sources[source_id].record_types
    if is_subjects:
        return _ingest_subjects(run)
    return _ingest_records(run)


def _check_request(catalog: Catalog, source_id: str, path: Path) -> None:
    """Refuse an unknown source or a missing file before anything is read."""
    if source_id not in catalog.sources:
        raise IngestError(f"unknown source {source_id!r}; known sources: {', '.join(catalog.sources)}")
    if not path.is_file():
        raise IngestError(f"{path}: no such file")


def _ingest_records(run: _Ingest) -> IngestReport:
    """Validate the staged records, then commit the good ones (none if any is bad in an all-or-nothing batch)."""
    missing = [c for c in BASE_COLUMNS if c not in run.cols]
    if missing:
        raise IngestError(
            f"{run.path}: the file has no column {', '.join(map(repr, missing))}; "
            f"a record needs {', '.join(BASE_COLUMNS)}"
        )
    run.step("validating", 1, 3)
    _validate_records(run.store, run.catalog, run.source_id, run.cols, run.today)
    _prepare_records(run.store, run.catalog, run.source_id, run.cols)
    errors = _collect_errors(run.store)
    run.step("committing", 2, 3)
    report = IngestReport(run.batch.name or str(run.path), run.source_id, None, run.n_rows, 0, 0, errors)
    if errors and run.batch.all_or_nothing:
        return report
    _commit_records(run, report)
    return _finish(run, report)


# The valid candidates that are new. Unchanged: the latest version has this content and this withdrawn state already
# (so re-sending a correction or withdrawal file is as harmless as re-sending any other).
_NEW_RECORDS = (
    "FROM candidates WHERE _row NOT IN (SELECT _row FROM row_errors) AND NOT (prev_version IS NOT NULL "
    "AND content_hash = prev_hash AND withdrawn = prev_withdrawn)"
)


def _commit_records(run: _Ingest, report: IngestReport) -> None:
    """In one transaction: count new and unchanged rows, insert the new versions, record the batch, tell the
    hooks and the audit log; ``report`` gets the counts and the batch id."""
    store = run.store
    with store.transaction():
        n_new = int(store.one(f"SELECT count(*) {_NEW_RECORDS}"))
        n_valid = int(store.one("SELECT count(*) FROM candidates WHERE _row NOT IN (SELECT _row FROM row_errors)"))
        report.accepted, report.unchanged = n_new, n_valid - n_new
        batch_id = store.take_ids("batch", 1)
        _insert_records(run, batch_id, n_new)
        report.batch_id = batch_id
        _record_batch(store, run.batch, report, run.path, run.source_id)
        if n_new:
            # due process tells residents of re-certified records (docs/hooks.md), in this transaction
            plugin_manager().hook.records_ingested(
                store=store, source_id=run.source_id, batch_id=batch_id, today=run.today
            )
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


def _insert_records(run: _Ingest, batch_id: int, n_new: int) -> None:
    """Insert the new rows as the next version of their record (version 1 for a record never received)."""
    store = run.store
    # Keys follow the file's row numbers (no sort needed); rejected and unchanged rows leave gaps.
    first = store.take_ids("seq", run.n_rows) if n_new else 0
    field_list = ", ".join(ident(f) for f in run.catalog.field_columns())
    store.execute(
        f"""INSERT INTO records (record_key, source_id, record_id, version, subject_id, subject_key, record_type,
                                 event_date, content_hash, is_correction, withdrawn, batch_id, recorded_at,
                                 prev_key, {field_list})
        SELECT ? + _row - 1, ?, record_id, coalesce(prev_version, 0) + 1,
               subject_id, subject_key, record_type, event_date, content_hash, is_correction, withdrawn, ?, now(),
               prev_key, {field_list}
        {_NEW_RECORDS}""",
        [first, run.source_id, batch_id],
    )


def _finish(run: _Ingest, report: IngestReport) -> IngestReport:
    """Write the reject file if rows were rejected and the batch wants one; report the end; return the report."""
    if report.errors and run.batch.write_rejects:
        rp = Path(run.reject_path) if run.reject_path else run.path.with_name(run.path.stem + ".rejects.csv")
        _write_rejects(run.store, rp, report.errors, run.cols)
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
    if "subject_id" not in run.cols or "name" not in run.cols:
        raise IngestError(
            f"{run.path}: a subjects file needs the columns subject_id and name "
            f"(and may have district, profession); a records file needs record_type"
        )
    run.step("validating", 1, 3)
    _mark_clean_ids(run.store, run.today)
    errors, slow_table = _parse_other_ids(run.store, run.today)
    _stage_parsed_subjects(run.store, run.cols, slow_table)
    errors.extend(_subject_field_errors(run.store, run.cols, run.catalog))
    errors.sort(key=lambda e: e.row)  # stable: a row's identifier error stays first
    _store_row_errors(run.store, errors)
    counts = _subject_candidates(run.store)
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
    pairs = store.execute(
        "SELECT DISTINCT substr(subject_id, 1, 6), CAST(substr(subject_id, 7, 4) AS INTEGER) FROM staging WHERE _clean"
    ).fetchall()
    bad_regions = [(c, y) for c, y in pairs if region_name(str(c), int(y), today.year) is None]
    if bad_regions:
        store.con.register(
            "bad_regions", pa.table({"code": [c for c, _ in bad_regions], "year": [y for _, y in bad_regions]})
        )
        store.execute(
            "UPDATE staging SET _clean = false FROM bad_regions b "
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
            errors.append(RowError(int(n), "subject_id", str(exc)))
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


def _stage_parsed_subjects(store: Store, cols: list[str], slow_table: pa.Table) -> None:
    """Temp table ``parsed_subjects``: every row with a valid identifier, parsed (clean ones in SQL, the others from
    ``slow_table``), with the subject's values (NULL for a column the file lacks)."""
    store.con.register("slow_ids", slow_table)
    values = ", ".join(
        f"s.{ident(c)}" if c in cols else f"CAST(NULL AS VARCHAR) AS {ident(c)}" for c in _SUBJECT_VALUES
    )
    try:
        store.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE parsed_subjects AS
            SELECT s._row, p.number, p.kind, p.birth_date, p.sex, p.region_code, {values}
            FROM (
                SELECT _row, subject_id AS number, 'person' AS kind,
                       CAST(strptime(substr(subject_id, 7, 8), '%Y%m%d') AS DATE) AS birth_date,
                       CASE WHEN (ascii(substr(subject_id, 17, 1)) - 48) % 2 = 1 THEN 'M' ELSE 'F' END AS sex,
                       substr(subject_id, 1, 6) AS region_code
                FROM staging WHERE _clean
                UNION ALL SELECT * FROM slow_ids
            ) p JOIN staging s USING (_row)
            """
        )
    finally:
        store.con.unregister("slow_ids")


def _subject_field_errors(store: Store, cols: list[str], catalog: Catalog) -> list[RowError]:
    """The errors found in SQL: a missing name, an unknown profession, a column that is no field of a subject, and
    an identifier repeated in the file; in row order."""
    bind = _Binds()  # DuckDB refuses values the statement does not use: bind only what a check reads
    checks = ["SELECT _row, 1, 'name', 'is required' FROM staging WHERE name IS NULL"]
    if "profession" in cols:
        checks.append(
            "SELECT _row, 2, 'profession', '''' || profession || ''' is not a profession of the catalog' "
            f"FROM staging WHERE profession IS NOT NULL AND profession NOT IN ({bind.each(catalog.professions)})"
        )
    for extra in (c for c in cols if c not in _SUBJECT_COLUMNS):
        checks.append(
            f"SELECT _row, 3, {bind(extra)}, 'is not a field of a subject' FROM staging "
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
        "SELECT _row, 4, 'subject_id', 'appears more than once in this file (first at row ' || first || ')' FROM ("
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


def _subject_candidates(store: Store) -> _SubjectCounts:
    """Temp table ``subject_candidates``: the valid rows, each with its subject's key if it is known and whether
    it changes nothing; returns their counts."""
    same = " AND ".join(f"p.{ident(c)} IS NOT DISTINCT FROM l.{ident(c)}" for c in _SUBJECT_VALUES)
    # Only the batch's subjects: filtered before the window, so a batch does not rank every subject of the city.
    latest = latest_subjects(
        ("subject_id", "name", "district", "profession", "address", "phone", "subject_key"),
        where=exp.column("subject_id").isin(query=exp.select("number").from_("parsed_subjects")),
    ).sql(dialect="duckdb")
    store.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE subject_candidates AS
        WITH latest AS ({latest})
        SELECT p.*, l.subject_key AS known_key, l.subject_id IS NOT NULL AND {same} AS unchanged
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
    with store.transaction():
        batch_id = store.take_ids("batch", 1)
        if counts.new:
            _insert_subjects(store, counts, batch_id)
        report.batch_id = batch_id
        _record_batch(store, run.batch, report, run.path, run.source_id)
        append_audit(
            store,
            run.actor,
            "ingest_subjects",
            None,
            {
                "batch_id": batch_id,
                "file": run.batch.name or run.path.name,
                "accepted": counts.new,
                "unchanged": counts.valid - counts.new,
                "rejected": report.rejected,
            },
        )


def _insert_subjects(store: Store, counts: _SubjectCounts, batch_id: int) -> None:
    """Insert a new version of each changed subject; a new subject gets the next free subject key."""
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
    store.execute("INSERT INTO subject_keys SELECT subject_key, number FROM new_subjects WHERE known_key IS NULL")


def record_as_batch_row(store: Store, source_id: str, record_id: str) -> dict[str, Any]:
    """The latest version of one record of a source (versions.latest_record) as a row a batch would carry: the
    base columns, ``withdrawn`` and the record type's fields, by name, as text."""
    catalog = store.catalog
    try:
        row = versions.latest_record(store, source_id, record_id)
    except NotFoundError:
        raise NotFoundError(f"no record {record_id!r} from source {source_id}") from None
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
