"""A score run's inputs straight from Parquet files: a registry export or the generator's output folder.

Every engine that scores files (DuckDB in memory, Spark) reads them through this module. It recognises the layout,
bounds the inputs (every file Parquet, every column the run needs present) and writes the SQL, as sqlglot trees,
that turns the files into the two relations a score run reads (``sc_subjects`` and ``sc_records``, see
``socialcredit.compiler.plan``). An engine registers the files of each :class:`Source` as a relation of that name,
its own way, then prints the trees in its dialect.

The two layouts:

* a registry export (``socialcredit export --format parquet``): ``manifest.json``, ``subjects.parquet`` with the
  run's subject table (``subject_id`` is the registry's integer key, ``sid`` the identifier, one consent column per
  category) and ``records/record_type=<type>/*.parquet`` with the counting version of every record;
* the generator's output (``socialcredit generate``): ``subjects/part-*.parquet`` (residents) and
  ``subjects/orgs.parquet`` (organisations), ``records/<source>/*.parquet``, ``consents.parquet``. The identifier
  itself is the subject key; a person's birth date is the one in their identity number. Every row of a records file
  is a record, unless the files carry versions: with a ``version`` column only the highest version of each
  (source, ``record_id``) counts (a row without one is version 1), and not if its ``withdrawn`` is true (without
  ``version``, a ``withdrawn`` row withdraws its record). A record id is folded as the store folds it
  (``identifiers.fold_record_id``): ``（2024）京01民初1号`` and ``(2024)京01民初1号`` are versions of one
  record. A subject consents to a category when a row of
  ``consents.parquet`` grants it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import sqlglot
import sqlglot.expressions as exp

from socialcredit.catalog import CATEGORY_ID, Catalog, load_catalog, parse_catalog
from socialcredit.errors import InvalidRequestError
from socialcredit.identifiers import fold_record_id_sql
from socialcredit.yamlsrc import check_limits

__all__ = ["DISPUTED_COLUMN", "EXPECTED", "EXPORT_FORMAT", "InputFiles", "Source", "input_files"]

EXPORT_FORMAT = "socialcredit-score-input"
EXPECTED = (
    "a registry export (manifest.json, subjects.parquet, records/record_type=<type>/*.parquet) "
    "or a generated population (subjects/*.parquet, records/<source>/*.parquet)"
)
# The column of an export's records that marks a record under an open dispute at the export's watermark (a name no
# catalog field can have: a field's starts with a letter). A policy that does not count disputed records
# (disputes.counts_while_open: false) leaves those rows out, as a run of the store does.
DISPUTED_COLUMN = "_disputed"
_TYPES = {"string": "VARCHAR", "integer": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN", "date": "DATE"}

# The columns each kind of file must have (catalog field columns are optional: NULL where a file has none).
_EXPORT_SUBJECTS = ("subject_id", "sid", "kind", "profession", "birth_date")
_EXPORT_RECORDS = ("subject_id", "record_key", "event_date")
_GEN_SUBJECTS = ("subject_id", "profession")
_GEN_RECORDS = ("subject_id", "record_type", "event_date")
_GEN_CONSENTS = ("subject_id", "category", "granted")


@dataclass(frozen=True)
class Source:
    """Parquet files an engine reads as one relation named ``name``; ``columns`` is the union of their columns
    (``uniform`` when every file has the same ones)."""

    name: str
    files: tuple[Path, ...]
    columns: tuple[str, ...]
    uniform: bool


@dataclass(frozen=True)
class InputFiles:
    """What a folder holds and how to read it.

    ``subjects`` and ``records`` are the queries of ``sc_subjects`` and ``sc_records`` over the :attr:`sources`;
    ``checks`` are queries that return a row when the files are inconsistent, each with its message (a format
    string of that row's values); ``info`` describes the input for a results manifest.
    """

    folder: Path
    kind: str
    info: dict[str, Any]
    sources: tuple[Source, ...]
    subjects: exp.Query
    records: exp.Query
    checks: tuple[tuple[exp.Query, str], ...]

    @property
    def relations(self) -> frozenset[str]:
        return frozenset(s.name for s in self.sources)


def _error(message: str) -> InvalidRequestError:
    return InvalidRequestError(message, field="input")


def export_catalog(folder: Path | str) -> Catalog | None:
    """The catalog an export was written under (its ``catalog.yaml``, the store's published catalog), or None for a
    folder without one (a generated population, an export of a program before catalogs were kept): the shipped
    catalog then applies."""
    path = Path(folder) / "catalog.yaml"
    if not (Path(folder) / "manifest.json").is_file() or not path.is_file():
        return None
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _error(f"{path}: cannot read the export's catalog ({exc})") from None
    # The store's published catalog as written: taken under the limits of its day, not refused by a later one (its
    # bytes are bounded; a catalog published with more aliases than today's limit is still read, as the store reads
    # it). A hand-made export's is YAML from anyone, though: its nesting and its nodes with aliases expanded are held
    # to the limits a policy's are, before a node is built (an alias bomb expands to billions of values).
    check_limits(text, str(path), count_aliases=False)
    return parse_catalog(text, str(path), candidate=False)


def input_files(folder: Path | str, categories: Sequence[str], *, counts_disputed: bool = True) -> InputFiles:
    """Recognise the layout of ``folder`` and check its files; ``categories`` are the consent categories the run
    needs, ``counts_disputed`` the policy's ``disputes.counts_while_open`` (false: an export's records under an open
    dispute are left out). Refused, with the file and what was expected named: a folder of neither layout, a file
    that is not Parquet, a missing column."""
    folder = Path(folder)
    if not folder.is_dir():
        what = "a file, not a folder" if folder.exists() else "no such folder"
        raise _error(f"{folder}: {what}; expected {EXPECTED}")
    if (folder / "manifest.json").is_file():
        return _export(folder, categories, counts_disputed)
    if (folder / "subjects").is_dir() or (folder / "records").is_dir():
        return _generated(folder, categories)
    if not any(folder.rglob("*.parquet")):
        raise _error(f"{folder}: no Parquet files; expected {EXPECTED}")
    raise _error(f"{folder}: no manifest.json, subjects/ or records/; expected {EXPECTED}")


# -- reading the files -----------------------------------------------------------------------------------------
def _entries(folder: Path) -> list[Path]:
    """What ``folder`` holds, in order, but hidden files and Hadoop's and Spark's ``_`` marker files."""
    return [p for p in sorted(folder.iterdir()) if not p.name.startswith((".", "_"))]


def _parquet_in(folder: Path, holds: str) -> list[Path]:
    """The Parquet files of ``folder``; anything else in it is refused."""
    found = []
    for path in _entries(folder):
        if path.is_dir() or path.suffix != ".parquet":
            raise _error(f"{path}: not a Parquet file; {holds}")
        found.append(path)
    return found


def _columns(path: Path, required: Sequence[str], what: str) -> list[str]:
    """The columns of a Parquet file, which must include ``required``."""
    try:
        names = list(pq.read_schema(path).names)
    except (pa.ArrowInvalid, OSError):
        raise _error(f"{path}: not a Parquet file") from None
    missing = [c for c in required if c not in names]
    if missing:
        s = "s" if len(missing) > 1 else ""
        raise _error(f"{path}: missing column{s} {', '.join(missing)} ({what} need {', '.join(required)})")
    return names


def _source(name: str, files: Sequence[Path], required: Sequence[str], what: str) -> Source:
    seen: list[str] = []
    shapes = set()
    for path in files:
        cols = _columns(path, required, what)
        shapes.add(frozenset(cols))
        seen += [c for c in cols if c not in seen]
    return Source(name, tuple(files), tuple(seen), len(shapes) <= 1)


# -- the export ------------------------------------------------------------------------------------------------
def _export(folder: Path, categories: Sequence[str], counts_disputed: bool = True) -> InputFiles:
    path = folder / "manifest.json"
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise _error(f"{path}: not a readable manifest ({exc})") from None
    except RecursionError:  # (an internal error, exit 3)
        raise _error(f"{path}: not a registry export (JSON nested deeper than the parser follows)") from None
    if not isinstance(manifest, dict) or manifest.get("format") != EXPORT_FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise _error(f"{path}: not a registry export (format {found!r}); expected {EXPECTED}")
    missing = [p for p in ("subjects.parquet", "records") if not (folder / p).exists()]
    if missing:
        raise _error(f"{folder}: a registry export needs subjects.parquet and records/; missing {', '.join(missing)}")
    consent_cols = [_consent_col(c) for c in categories]
    subjects = _source(
        "sc_in_subjects", [folder / "subjects.parquet"], [*_EXPORT_SUBJECTS, *consent_cols], "the subjects of an export"
    )
    catalog = export_catalog(folder) or load_catalog()
    sources, selects = [subjects], []
    for part in _entries(folder / "records"):
        record_type = part.name.removeprefix("record_type=")
        if not part.is_dir() or part.name == record_type or record_type not in catalog.record_types:
            raise _error(f"{part}: not a folder records/record_type=<type>/ of a record type of the catalog")
        files = _parquet_in(part, "records/record_type=<type>/ holds only Parquet files")
        if not files:
            continue
        src = _source(f"sc_in_records_{len(sources)}", files, _EXPORT_RECORDS, "the records of an export")
        if not counts_disputed:
            unmarked = [path for path in files if DISPUTED_COLUMN not in _columns(path, (), "")]
            if unmarked:
                raise _error(
                    f"{unmarked[0]}: no column {DISPUTED_COLUMN}: the records do not say which are under an open "
                    "dispute (an export written before they did), and the policy does not count a disputed record "
                    "(disputes.counts_while_open: false); export the registry again"
                )
        sources.append(src)
        select = exp.select(
            "subject_id",
            "record_key",
            exp.alias_(exp.Literal.string(record_type), "record_type"),
            _typed("event_date", "date", src.columns),
            # the key its record was first stored at; an export written before it was exported: the version's own
            _typed("first_key", "integer", src.columns) if "first_key" in src.columns else _first_key("record_key"),
            *_fields(src.columns, catalog),
        ).from_(src.name)
        if not counts_disputed:
            disputed = exp.Cast(
                this=exp.column(exp.to_identifier(DISPUTED_COLUMN, quoted=True)), to=exp.DataType.build("BOOLEAN")
            )
            select = select.where(exp.Not(this=exp.func("COALESCE", disputed, exp.false())))
        selects.append(select)
    if not selects:
        raise _error(f"{folder / 'records'}: no Parquet files; an export has records/record_type=<type>/*.parquet")
    query = exp.select(*_EXPORT_SUBJECTS, *consent_cols).from_(subjects.name)
    try:
        info = {"kind": "export", **{k: manifest[k] for k in ("store_id", "watermark", "subjects", "records")}}
        info["ids"] = manifest.get("ids", "clear")  # "pseudonym": sid is a keyed pseudonym (registry/scoring/export)
    except KeyError as exc:
        raise _error(f"{path}: no {exc.args[0]!r}; is this the --out folder of `socialcredit export`?") from None
    return InputFiles(
        folder,
        "export",
        info,
        tuple(sources),
        query,
        _union_all(selects),
        (_unique_subjects(folder / "subjects.parquet"), _registered(folder / "records", folder / "subjects.parquet")),
    )


# -- the generator's output ------------------------------------------------------------------------------------
_SUBJECTS_HOLDS = "subjects/ holds part-*.parquet (residents) and orgs.parquet (organisations)"
_PERSONS = """SELECT CAST(subject_id AS VARCHAR) AS subject_id, CAST(subject_id AS VARCHAR) AS sid, 'person' AS kind,
    CAST(profession AS VARCHAR) AS profession,
    CAST(STRPTIME(SUBSTR(CAST(subject_id AS VARCHAR), 7, 8), '%Y%m%d') AS DATE) AS birth_date FROM sc_in_persons"""
_ORGS = """SELECT CAST(subject_id AS VARCHAR) AS subject_id, CAST(subject_id AS VARCHAR) AS sid, 'org' AS kind,
    CAST(profession AS VARCHAR) AS profession, CAST(NULL AS DATE) AS birth_date FROM sc_in_orgs"""
_CONFLICTING_CONSENTS = """SELECT subject_id, category FROM sc_in_consents GROUP BY subject_id, category
    HAVING BOOL_OR(CAST(granted AS BOOLEAN)) <> BOOL_AND(CAST(granted AS BOOLEAN)) LIMIT 1"""


def _generated(folder: Path, categories: Sequence[str]) -> InputFiles:
    missing = [p for p in ("subjects/", "records/") if not (folder / p).is_dir()]
    if missing:
        raise _error(f"{folder}: a generated population needs subjects/ and records/; missing {', '.join(missing)}")
    persons, orgs = [], []
    for path in _parquet_in(folder / "subjects", _SUBJECTS_HOLDS):
        if path.name == "orgs.parquet":
            orgs.append(path)
        elif path.name.startswith("part-"):
            persons.append(path)
        else:
            raise _error(f"{path}: not a subjects file of a generated population; {_SUBJECTS_HOLDS}")
    if not persons and not orgs:
        raise _error(f"{folder / 'subjects'}: no Parquet files; {_SUBJECTS_HOLDS}")
    sources: list[Source] = []
    people: list[exp.Query] = []
    for name, files, sql in (("sc_in_persons", persons, _PERSONS), ("sc_in_orgs", orgs, _ORGS)):
        if files:
            sources.append(_source(name, files, _GEN_SUBJECTS, "the subjects of a generated population"))
            people.append(_parse(sql))
    checks = [_unique_subjects(folder / "subjects")]
    consents = folder / "consents.parquet"
    if consents.is_file():
        sources.append(_source("sc_in_consents", [consents], _GEN_CONSENTS, "the consents of a generated population"))
        checks.append(
            (
                _parse(_CONFLICTING_CONSENTS),
                f"{consents}: subject {{0}} both grants and refuses consent to {{1}}; give one answer per subject "
                "and category",
            )
        )
    subjects = _with_consents(_union_all(people), categories, consents.is_file())
    catalog = load_catalog()
    selects = []
    for part in _entries(folder / "records"):
        if not part.is_dir() or part.name not in catalog.sources:
            raise _error(f"{part}: not a folder records/<source>/ of a source of the catalog")
        files = _parquet_in(part, "records/<source>/ holds only Parquet files")
        if not files:
            continue
        probe = _source("", files, _GEN_RECORDS, "the records of a generated population")
        versioned = "version" in probe.columns or "withdrawn" in probe.columns
        required = (*_GEN_RECORDS, "record_id") if versioned else _GEN_RECORDS
        what = "versioned records" if versioned else "the records of a generated population"
        src = _source(f"sc_in_records_{len(sources)}", files, required, what)
        sources.append(src)
        selects.append(_generated_records(src))
    if not selects:
        raise _error(f"{folder / 'records'}: no Parquet files; a generated population has records/<source>/*.parquet")
    checks.append(_registered(folder / "records", folder / "subjects"))
    info = {"kind": "generated", "folder": str(folder)}
    return InputFiles(folder, "generated", info, tuple(sources), subjects, _union_all(selects), tuple(checks))


def _with_consents(people: exp.Query, categories: Sequence[str], have_consents: bool) -> exp.Select:
    """The subjects with one ``consent_<category>`` column per category: granted when a row of the consents grants
    it, false otherwise (and for every subject when there are no consents)."""
    base = ("subject_id", "sid", "kind", "profession", "birth_date")
    out = exp.select(*(exp.column(c, "g") for c in base)).from_(
        exp.Subquery(this=people, alias=exp.TableAlias(this=exp.to_identifier("g")))
    )
    if not have_consents or not categories:
        return out.select(*(exp.alias_(exp.false(), _consent_col(c)) for c in categories))
    pivot = exp.select("subject_id").from_("sc_in_consents").group_by("subject_id")
    for c in categories:
        granted = exp.Filter(
            this=exp.func("BOOL_OR", exp.Cast(this=exp.column("granted"), to=exp.DataType.build("BOOLEAN"))),
            expression=exp.Where(this=exp.column("category").eq(exp.Literal.string(c))),
        )
        pivot = pivot.select(exp.alias_(granted, _consent_col(c)))
    out = out.join(
        exp.Subquery(this=pivot, alias=exp.TableAlias(this=exp.to_identifier("c"))),
        on=exp.column("subject_id", "c").eq(exp.column("subject_id", "g")),
        join_type="left",
    )
    return out.select(
        *(
            exp.alias_(exp.func("COALESCE", exp.column(_consent_col(c), "c"), exp.false()), _consent_col(c))
            for c in categories
        )
    )


def _generated_records(src: Source) -> exp.Select:
    """The counting records of one source's files: every row, or the latest version of each record not withdrawn."""
    select = exp.select(
        exp.alias_(exp.Cast(this=exp.column("subject_id"), to=exp.DataType.build("VARCHAR")), "subject_id"),
        exp.alias_(exp.Cast(this=exp.Null(), to=exp.DataType.build("BIGINT")), "record_key"),
        exp.alias_(exp.Cast(this=exp.column("record_type"), to=exp.DataType.build("VARCHAR")), "record_type"),
        _typed("event_date", "date", src.columns),
        _first_key(None),
        *_fields(src.columns),
    )
    if "version" not in src.columns and "withdrawn" not in src.columns:
        return select.from_(src.name)
    # one record whatever the width of its id's characters, as the store folds it (identifiers.fold_record_id)
    per_record = f"PARTITION BY {fold_record_id_sql('CAST(record_id AS VARCHAR)', portable=True)}"
    if "version" in src.columns:
        marks = f"ROW_NUMBER() OVER ({per_record} ORDER BY COALESCE(CAST(version AS BIGINT), 1) DESC) AS sc_latest"
        counts = "sc_latest = 1"
        if "withdrawn" in src.columns:
            counts += " AND NOT COALESCE(CAST(withdrawn AS BOOLEAN), FALSE)"
    else:
        marks = f"MAX(CASE WHEN CAST(withdrawn AS BOOLEAN) THEN 1 ELSE 0 END) OVER ({per_record}) AS sc_withdrawn"
        counts = "sc_withdrawn = 0"
    versions = _parse(f"SELECT *, {marks} FROM {src.name}")
    return select.from_(exp.Subquery(this=versions, alias=exp.TableAlias(this="v"))).where(counts)


# -- SQL pieces ------------------------------------------------------------------------------------------------
def _parse(sql: str) -> exp.Query:
    tree = sqlglot.parse_one(sql, read="duckdb")
    assert isinstance(tree, exp.Query)
    return tree


def _typed(name: str, ftype: str, present: Sequence[str]) -> exp.Expr:
    """``CAST(name AS type) AS name``, or a typed NULL when the files have no such column."""
    value: exp.Expr = exp.column(exp.to_identifier(name, quoted=True)) if name in present else exp.Null()
    return exp.alias_(exp.Cast(this=value, to=exp.DataType.build(_TYPES[ftype])), name, quoted=True)


def _first_key(column: str | None) -> exp.Expr:
    """``first_key`` (the key a record was first stored at) as ``column``, or NULL: a generated population's records
    have no keys."""
    value: exp.Expr = exp.column(column) if column is not None else exp.Null()
    return exp.alias_(exp.Cast(this=value, to=exp.DataType.build("BIGINT")), "first_key")


def _fields(present: Sequence[str], catalog: Catalog | None = None) -> list[exp.Expr]:
    """Every catalog field column, typed; NULL where the files have no such column."""
    return [_typed(name, ftype, present) for name, ftype in (catalog or load_catalog()).field_columns().items()]


def _union_all(selects: Sequence[exp.Query]) -> exp.Query:
    out = selects[0]
    for s in selects[1:]:
        out = exp.union(out, s, distinct=False)
    return out


def _registered(records: Path, subjects: Path) -> tuple[exp.Query, str]:
    """Every record's subject has a row among the subjects: ingest refuses a record of a subject never registered
    ("no registered subject"), so files holding one cannot score as the store would (it counted towards lists,
    and the summary, of a subject with no result)."""
    query = _parse(
        "SELECT r.subject_id, r.record_type, count(*) OVER () FROM sc_records AS r "
        "WHERE NOT EXISTS (SELECT 1 FROM sc_subjects AS s WHERE s.subject_id = r.subject_id) "
        "ORDER BY r.subject_id, r.record_type LIMIT 1"
    )
    return query, (
        f"{records}: subject {{0}} has a {{1}} record but no row in {subjects} ({{2}} records of subjects not there); "
        "every record's subject must be registered (ingest refuses such a record)"
    )


def _unique_subjects(where: Path) -> tuple[exp.Query, str]:
    query = _parse("SELECT sid FROM sc_subjects GROUP BY sid HAVING COUNT(*) > 1 LIMIT 1")
    return query, f"{where}: subject {{0}} appears more than once; give each subject once"


def _consent_col(category: str) -> str:
    """The consent column of a category of the policy (validated against the export's catalog, or the shipped one):
    refuse anything that is not a category id."""
    if not CATEGORY_ID.match(category):
        raise ValueError(f"not a category id: {category!r}")
    return f"consent_{category}"
