"""The registry store: one DuckDB file, versioned schema, encrypted at rest when a key is configured.

Only one process may open the file for writing (DuckDB's rule); the service will be that one owner.
The key comes from the environment variable ``SOCIALCREDIT_DB_KEY`` (or is passed explicitly); the file is
then encrypted with AES-GCM through DuckDB's encryption, using the OpenSSL build shipped in the pinned
``duckdb-extension-httpfs`` package, loaded by path so nothing is downloaded.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb
import sqlglot.expressions as exp

from socialcredit.catalog import Catalog, catalog_from_text, catalog_sha256, load_catalog, shipped_catalog_text
from socialcredit.catalog.versions import lacking, merged_text
from socialcredit.compiler.plan import MAX_REASONS, histogram_ranks
from socialcredit.errors import StoreError
from socialcredit.identifiers import RECORD_ID_WIDE_CHAR, fold_record_id_sql
from socialcredit.opening import with_params
from socialcredit.policy.model import RELATION_RECORD_TYPE
from socialcredit.settings import DEFAULT_DB, KEY_ENV
from socialcredit.sqltext import ident, lit

__all__ = [
    "DEFAULT_DB",
    "KEY_ENV",
    "KEY_RULE",
    "KEY_RULE_ZH",
    "MEMORY_ENV",
    "MIGRATIONS",
    "IdRange",
    "IdRanges",
    "Store",
    "check_new_key",
    "copy_under_key",
    "drop_rotating_copy",
    "latest_catalog",
    "latest_consents",
    "latest_subjects",
    "latest_versions",
    "listed_integers",
    "listed_strings",
    "note_record_id_range",
    "note_record_ids",
    "note_role_records",
    "open_store",
    "record_id_range",
    "record_ids_may_be_known",
    "rotating_path",
    "row_counts",
    "subject_keys_of",
    "sync_catalog",
    "unnote_role_records",
]

# The variables' names, for messages; their values are read through socialcredit.settings (docs/settings.md).
MEMORY_ENV = "SOCIALCREDIT_MEMORY_LIMIT"
_ALIAS = "registry"
_COPY = "rotated"  # the alias of the copy under a new key (copy_under_key)
ROTATING_SUFFIX = ".rotating"  # the store's copy under its new key, beside it while `store rotate-key` writes it
# DuckDB reads a key as BLOB text: a backslash starts an escape (``\\x41`` is ``A``), and any other byte than
# printable ASCII is refused with a message that quotes the key. A new key keeps to this; a store's key from before
# (a backslash escape in it) still opens it.
KEY_RULE = "a store's key is printable ASCII (letters, digits, spaces, punctuation) without a backslash"
KEY_RULE_ZH = "存储的密钥须为可打印的 ASCII 字符（字母、数字、空格、标点），且不含反斜杠"


def latest_versions(
    table: str,
    key: Sequence[str],
    columns: Sequence[str] = ("*",),
    *,
    watermark: int | None = None,
    where: exp.Expr | None = None,
) -> exp.Select:
    """``SELECT columns FROM table``, keeping the latest version (highest ``seq``) of each ``key``.

    Subjects and consents are append-only: what stands is each key's version with the highest change sequence
    number. With ``watermark``, as the table stood then (a run reads as of its watermark). ``where`` filters the
    versions before the latest is chosen: a filter on the key costs nothing then, where DuckDB does not push a
    semi-join (``IN (SELECT ...)``) through the window of a view.
    """
    newest = exp.Order(expressions=[exp.Ordered(this=exp.column("seq"), desc=True)])
    rank = exp.Window(this=exp.RowNumber(), partition_by=[exp.column(k) for k in key], order=newest)
    query = exp.select(*columns).from_(table)
    if watermark is not None:
        query = query.where(exp.LTE(this=exp.column("seq"), expression=exp.Literal.number(int(watermark))))
    if where is not None:
        query = query.where(where)
    return query.qualify(exp.EQ(this=rank, expression=exp.Literal.number(1)))


def latest_subjects(
    columns: Sequence[str] = ("*",), *, watermark: int | None = None, where: exp.Expr | None = None
) -> exp.Select:
    """The latest version of each subject (the view ``current_subjects``, or as of ``watermark``, or among the
    versions ``where`` keeps)."""
    return latest_versions("subjects", ("subject_id",), columns, watermark=watermark, where=where)


def subject_keys_of(subject_ids: Sequence[str]) -> str:
    """SQL: ``SELECT subject_key`` of the registered subjects among ``subject_ids`` (written out as literals)."""
    return f"SELECT subject_key FROM subject_keys WHERE subject_id IN ({listed_strings(subject_ids)})"


def listed_strings(values: Sequence[str]) -> str:
    """SQL: ``values`` as a list of string literals (a quote doubled; NULL when empty), for ``IN (...)``. Written as
    text, not as a sqlglot tree: a live pass writes out up to tens of thousands of identifiers, which a tree of
    literals took over a CPU second to print."""
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values) or "NULL"


def listed_integers(values: Sequence[int]) -> str:
    """SQL: ``values`` as a list of integer literals (NULL when empty), for ``IN (...)``."""
    return ", ".join(str(int(v)) for v in values) or "NULL"


def latest_consents(
    columns: Sequence[str] = ("*",), *, watermark: int | None = None, where: exp.Expr | None = None
) -> exp.Select:
    """Each subject's latest choice per data category (the view ``current_consents``, or as of ``watermark``)."""
    return latest_versions("consents", ("subject_id", "category"), columns, watermark=watermark, where=where)


# The principal reasons of a subject in a run: the MAX_REASONS largest rule points (largest effect first, ties by
# rule id). The view is written by migrations 4 and 5; changing MAX_REASONS needs a migration that replaces it.
_RUN_REASONS = f"""CREATE VIEW run_reasons AS
        SELECT run_id, subject_id, position, rule_id, points FROM (
            SELECT run_id, subject_id, rule_id, points,
                   row_number() OVER (PARTITION BY run_id, subject_id ORDER BY abs(points) DESC, rule_id) AS position
            FROM run_rule_points WHERE points <> 0
        ) WHERE position <= {int(MAX_REASONS)}"""


# Record ids are ranged by their length in bytes, then their text: ids numbered without leading zeros (R-9, R-10)
# are then in the order of their numbers. A range: (length of the lowest id, lowest id, length of the highest,
# highest). Each range noted holds ids of one length: a batch of ids of several lengths is several ranges, one per
# length, so that its short and long ids do not span every stored range of the lengths between (a batch of "A1" and
# "B1234567" met every range of ids of 3 to 7 bytes and was looked up among all its source's records). Ranges noted
# before are kept as they were: wider, still covering.
IdRange = tuple[int, str, int, str]
IdRanges = tuple[IdRange, ...]


def _ranges_insert(relation: str, group: str = "") -> str:
    """The INSERT of the ranges of the record ids of ``relation`` (a query with the columns source_id and record_id,
    and those named by ``group``): one per source, id length (and group)."""
    return (
        "INSERT INTO record_id_ranges SELECT source_id, l, lo, l, hi FROM ("
        f"SELECT source_id, strlen(record_id) AS l, min(record_id) AS lo, max(record_id) AS hi FROM ({relation}) "
        f"WHERE record_id IS NOT NULL GROUP BY source_id, l{group})"
    )


def next_first_key_sql(prev: str, subject: str) -> str:
    """SQL of the ``first_key`` of a record's next version: ``prev`` the alias of its latest version (first_key: its
    record's first key, never NULL; withdrawn; subject_key), ``subject`` the new version's subject key. The record's
    first key, or NULL (a first key of its own) when the latest version was withdrawn or was another subject's: a
    record sent again after its withdrawal, or moved onto a subject by a correction, is a new cause (a list entry
    names the subject's record first stored: compiler/plan.py)."""
    return (
        f"CASE WHEN {prev}.withdrawn OR {prev}.subject_key IS DISTINCT FROM {subject} THEN NULL "
        f"ELSE {prev}.first_key END"
    )


def note_record_ids(store: Store, relation: str, params: Sequence[Any] | dict[str, Any] | None = None) -> None:
    """Add to ``record_id_ranges`` the ranges of the record ids that ``relation`` (a query with the columns
    source_id and record_id) holds, per source and id length. Call it in the transaction that inserts them into
    ``records``, whenever an id may be new (versions of ids already stored need none)."""
    store.execute(_ranges_insert(relation), params)


def record_id_range(store: Store, relation: str) -> IdRanges | None:
    """The ranges of the record ids of ``relation`` (a query with the column record_id), one per id length, or None
    if it has none. An aggregate of plain values grouped by a small number (the lengths): cheaper than one of
    structs over a file of millions of rows."""
    rows = store.execute(
        f"SELECT strlen(record_id) AS l, min(record_id), max(record_id) FROM ({relation}) "
        "WHERE record_id IS NOT NULL GROUP BY l ORDER BY l"
    ).fetchall()
    return tuple((int(n), str(lo), int(n), str(hi)) for n, lo, hi in rows) or None


def _ranges_params(ids: IdRanges) -> dict[str, Any]:
    return {
        "lo_length": [r[0] for r in ids],
        "lo": [r[1] for r in ids],
        "hi_length": [r[2] for r in ids],
        "hi": [r[3] for r in ids],
    }


_GIVEN_RANGES = (
    "SELECT unnest($lo_length) AS lo_length, unnest($lo) AS lo, unnest($hi_length) AS hi_length, unnest($hi) AS hi"
)


def record_ids_may_be_known(store: Store, source_id: str, ids: IdRanges | None) -> bool:
    """Whether one of the ranges ``ids`` meets a range of the record ids stored for ``source_id``. When none does,
    no id in ``ids`` is in ``records`` for that source."""
    if not ids:
        return False
    return bool(
        store.one(
            f"SELECT EXISTS (SELECT 1 FROM record_id_ranges r, ({_GIVEN_RANGES}) b WHERE r.source_id = $source "
            "AND (r.lo_length < b.hi_length OR (r.lo_length = b.hi_length AND r.lo <= b.hi)) "
            "AND (r.hi_length > b.lo_length OR (r.hi_length = b.lo_length AND r.hi >= b.lo)))",
            {"source": source_id, **_ranges_params(ids)},
        )
    )


def note_record_id_range(store: Store, source_id: str, ids: IdRanges | None) -> None:
    """Add the ranges ``ids`` (of ids of ``source_id`` being inserted) to ``record_id_ranges``; nothing for None."""
    if ids:
        store.execute(
            f"INSERT INTO record_id_ranges SELECT $source, lo_length, lo, hi_length, hi FROM ({_GIVEN_RANGES})",
            {"source": source_id, **_ranges_params(ids)},
        )


# The registration authority's role records (record type company_role, policy.model.RELATION_RECORD_TYPE), every
# version as `records` holds it, in `role_records` (migration 38): a live pass, a run from the state and a relation's
# words read a person's or an organisation's roles there, from a table of a few million rows at beijing, not by a
# scan of every record's type. Each path that writes `records` writes the same versions here in its transaction
# (note_role_records, unnote_role_records).
_ROLE_TYPE = lit(RELATION_RECORD_TYPE)
_ROLE_COLUMNS = (
    "record_key, source_id, record_id, version, subject_id, subject_key, event_date, withdrawn, "
    'org_id, "role", start_date, end_date'
)


def _role_rows(where: str) -> str:
    """SQL: the role records among the versions of `records` that ``where`` keeps, as `role_records` holds them.
    The role's fields are typed columns from the catalog, which a new store (migrated before its catalog's fields
    are added) does not have yet: a union by name gives them as NULL then."""
    return (
        f"SELECT {_ROLE_COLUMNS} FROM (SELECT * FROM records WHERE record_type = {_ROLE_TYPE} AND ({where}) "
        'UNION ALL BY NAME SELECT CAST(NULL AS VARCHAR) AS org_id, CAST(NULL AS VARCHAR) AS "role", '
        "CAST(NULL AS DATE) AS start_date, CAST(NULL AS DATE) AS end_date WHERE false) ORDER BY record_key"
    )


# role_key: one number for every version of a role record (source_id, record_id), the least key of its versions
# kept: a pass finds the versions of its persons' records by it, without reading every role record's two identifiers
# (at the size of beijing's role records, 2 million rows, 53 ms of CPU against 114).
_ROLE_KEY = "min(record_key) OVER (PARTITION BY source_id, record_id) AS role_key"


def note_role_records(store: Store, first: int, last: int) -> None:
    """Copy into `role_records` the role records among the versions with keys ``first`` to ``last``, just inserted
    into `records`; call in the transaction that inserts them. A range of the append-ordered key is read from the
    row groups that hold it only. A new version of a record kept already takes that record's role_key."""
    if last < first or RELATION_RECORD_TYPE not in store.catalog.record_types:
        return
    new = _role_rows("record_key BETWEEN $a AND $b")
    store.execute(
        f"""INSERT INTO role_records BY NAME
        SELECT n.* EXCLUDE (role_key), coalesce(k.role_key, n.role_key) AS role_key
        FROM (SELECT *, {_ROLE_KEY} FROM ({new})) n LEFT JOIN (
            SELECT source_id, record_id, min(role_key) AS role_key FROM role_records
            WHERE record_id IN (
                SELECT record_id FROM records WHERE record_key BETWEEN $a AND $b AND record_type = {_ROLE_TYPE}
            )
            GROUP BY source_id, record_id
        ) k ON k.source_id = n.source_id AND k.record_id = n.record_id""",
        {"a": first, "b": last},
    )


def unnote_role_records(store: Store, versions: exp.Query) -> None:
    """Delete from `role_records` the versions the query ``versions`` selects (one column, record_key), as they are
    deleted from `records` (the retention purge); call in the same transaction."""
    store.execute(exp.delete("role_records", where=exp.column("record_key").isin(query=versions)).sql("duckdb"))


def _md5_number_of_hex(column: str) -> str:
    """SQL: the number md5_number gives for a text whose md5 is the hexadecimal ``column`` (its bytes in reverse)."""
    high = " || ".join(f"substr({column}, {31 - 2 * i}, 2)" for i in range(8))
    low = " || ".join(f"substr({column}, {15 - 2 * i}, 2)" for i in range(8))
    return (
        f"((CAST(CAST('0x' || {high} AS UBIGINT) AS UHUGEINT) << 64) "
        f"| CAST(CAST('0x' || {low} AS UBIGINT) AS UHUGEINT))"
    )


# Each migration is applied once, in order, in one transaction; the version is recorded in schema_version.
# Migration 43: the records whose ids it folded.
_REFOLDED = "SELECT source_id, record_id FROM records WHERE record_key IN (SELECT record_key FROM _refold)"


def _fold_named(table: str) -> str:
    """Migration 43: the record ids of ``table`` (naming records by source_id and record_id) folded as the records'."""
    return (
        f"UPDATE {table} SET record_id = w.folded FROM _wide_ids w "
        f"WHERE {table}.source_id = w.source_id AND {table}.record_id = w.record_id;"
    )


def _fold_copies(table: str) -> str:
    """Migration 43: the record ids of ``table`` (another region's records as received: the id there, ``record_id``
    here being ``<region>/<that id>``) folded as a bundle's are at import (regions/exchange.py)."""
    return (
        f"UPDATE {table} SET record_id = {fold_record_id_sql('record_id')} "
        f"WHERE regexp_matches(record_id, '{RECORD_ID_WIDE_CHAR}');"
    )


# Every run's histogram of (kind, score) counted from its stored results, ranked (migration 49).
_RUNS_HISTOGRAMS = histogram_ranks(
    exp.Subquery(
        this=exp.select("run_id", "kind", "score", "count(*) AS n")
        .from_("run_results")
        .group_by("run_id", "kind", "score")
    ),
    per_run=True,
).sql(dialect="duckdb")


# The delta runs (score_runs.root_run_id set) and their root runs, as the views below join them.
_DELTAS = "(SELECT run_id, root_run_id FROM score_runs WHERE root_run_id IS NOT NULL)"
# A delta run's rows inherited from its root, by view: {run} the delta run's id, {rows} the root's rows table aliased
# ``r`` (with the delta runs before it in the views) and {root} its root's id.
_INHERITED = {
    "run_results": """SELECT {run} AS run_id, r.subject_id, r.kind, r.profession, r.age, r.dims, r.total, r.score,
           r.tier, r.tier_rank, h.rank, h.percentile, r.last_negative, r.lists, r.grants
    FROM {rows} r
    JOIN run_histogram h ON h.run_id = {run} AND h.kind = r.kind AND h.score = r.score
    ANTI JOIN run_own o ON o.run_id = {run} AND o.subject_id = r.subject_id
    WHERE r.run_id = {root}""",
    "run_points": """SELECT {run} AS run_id, r.subject_key, r.rule_index, r.points, r.hits, r.last_event
    FROM {rows} r
    ANTI JOIN run_own o ON o.run_id = {run} AND o.subject_key = r.subject_key
    WHERE r.run_id = {root}""",
    "run_result_keys": """SELECT {run} AS run_id, r.subject_key
    FROM {rows} r
    ANTI JOIN run_own o ON o.run_id = {run} AND o.subject_key = r.subject_key
    WHERE r.run_id = {root}""",
}
# Every run's full rows (migration 49): a run stored whole as stored, a delta run as its own rows and its root's rows
# of every subject it does not own (run_own), the root's rank and percentile replaced by the delta run's histogram's.
# A filter on run_id does not reach the second branch's rows (DuckDB does not carry it through the join to the
# root's id): a read of one run's rows goes through ``run_rows``, which names the run and its root as constants.
_RUN_VIEWS = "".join(
    f"""
CREATE VIEW {view} AS
    SELECT * FROM {view}_rows
    UNION ALL
    {inherited.format(run="d.run_id", rows=f"{_DELTAS} d CROSS JOIN {view}_rows", root="d.root_run_id")};"""
    for view, inherited in _INHERITED.items()
)


# The view run_rule_points (migration 5) over a relation of run_points' rows {points}.
_RULE_POINTS = """SELECT p.run_id, k.subject_id, r.rule_id, r.dimension, p.points, p.hits, p.last_event
    FROM {points} p JOIN subject_keys k USING (subject_key) JOIN run_rules r USING (run_id, rule_index)"""


# The views of every run's rows ``run_rows`` reads one run of.
RUN_VIEWS = (*_INHERITED, "run_rule_points")


def run_rows(store: Store, view: str, run_id: int) -> str:
    """A relation of run ``run_id``'s rows of ``view`` (run_results, run_points, run_result_keys or
    run_rule_points), its ids written in as constants: a run stored whole reads its table by run id, a delta run its
    own rows and its root's of every subject it does not own, each scan filtered by its run id. Every reader of one
    run reads through it: a filter on run_id does not reach a view's root rows, so the view's cost grows with the
    runs stored (at 120 runs of 100,000 subjects, docs/benchmarks.md). A store opened read-only before migration 49
    reads its tables of old, every run stored whole."""
    if view not in RUN_VIEWS:
        raise ValueError(f"run_rows reads one of {', '.join(RUN_VIEWS)}, not {view!r}")
    if view == "run_rule_points":
        return f"({_RULE_POINTS.format(points=run_rows(store, 'run_points', run_id))})"
    if not store.runs_over_roots:
        return f"(SELECT * FROM {view} WHERE run_id = {int(run_id)})"
    root = store.one("SELECT root_run_id FROM score_runs WHERE run_id = ?", [run_id])
    own = f"SELECT * FROM {view}_rows WHERE run_id = {int(run_id)}"
    if root is None:
        return f"({own})"
    inherited = _INHERITED[view].format(run=int(run_id), rows=f"{view}_rows", root=int(root))
    return f"({own} UNION ALL {inherited})"


MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "core registry",
        """
        CREATE TABLE counters (name VARCHAR PRIMARY KEY, value BIGINT NOT NULL);
        INSERT INTO counters VALUES ('seq', 0), ('batch', 0), ('run', 0), ('inquiry', 0), ('audit', 0);
        CREATE TABLE sources (
            source_id VARCHAR PRIMARY KEY, name_zh VARCHAR, name_en VARCHAR, record_types VARCHAR[]
        );
        CREATE TABLE batches (
            batch_id BIGINT PRIMARY KEY, source_id VARCHAR NOT NULL, file_name VARCHAR, file_sha256 VARCHAR,
            received_at TIMESTAMP NOT NULL, n_rows BIGINT, n_accepted BIGINT, n_unchanged BIGINT,
            n_rejected BIGINT
        );
        -- Subjects are append-only versions; the latest version at or below a run's watermark counts.
        CREATE TABLE subjects (
            seq BIGINT PRIMARY KEY, subject_id VARCHAR NOT NULL, kind VARCHAR NOT NULL, name VARCHAR,
            birth_date DATE, sex VARCHAR, region_code VARCHAR, district VARCHAR, profession VARCHAR,
            batch_id BIGINT, recorded_at TIMESTAMP NOT NULL
        );
        -- Records are append-only: a correction or withdrawal is a new version of (source_id, record_id).
        -- The fields of record types are typed columns added from the catalog (see _sync_record_fields).
        CREATE TABLE records (
            record_key BIGINT NOT NULL, source_id VARCHAR NOT NULL, record_id VARCHAR NOT NULL,
            version INTEGER NOT NULL, subject_id VARCHAR NOT NULL, record_type VARCHAR NOT NULL,
            event_date DATE NOT NULL, content_hash VARCHAR NOT NULL,
            is_correction BOOLEAN NOT NULL, withdrawn BOOLEAN NOT NULL, batch_id BIGINT,
            recorded_at TIMESTAMP NOT NULL
        );
        CREATE TABLE consents (
            seq BIGINT PRIMARY KEY, subject_id VARCHAR NOT NULL, category VARCHAR NOT NULL,
            granted BOOLEAN NOT NULL, actor VARCHAR NOT NULL, recorded_at TIMESTAMP NOT NULL
        );
        CREATE TABLE policies (
            policy_id VARCHAR NOT NULL, version VARCHAR NOT NULL, sha256 VARCHAR NOT NULL, text VARCHAR NOT NULL,
            published_at TIMESTAMP NOT NULL, PRIMARY KEY (policy_id, version)
        );
        CREATE TABLE score_runs (
            run_id BIGINT PRIMARY KEY, policy_id VARCHAR NOT NULL, policy_version VARCHAR NOT NULL,
            policy_sha256 VARCHAR NOT NULL, as_of DATE NOT NULL, watermark BIGINT NOT NULL,
            mode VARCHAR NOT NULL, base_run_id BIGINT, engine VARCHAR NOT NULL, started_at TIMESTAMP NOT NULL,
            finished_at TIMESTAMP, n_subjects BIGINT, n_rescored BIGINT
        );
        CREATE TABLE run_results (
            run_id BIGINT NOT NULL, subject_id VARCHAR NOT NULL, kind VARCHAR NOT NULL, profession VARCHAR,
            age INTEGER, dims DOUBLE[] NOT NULL, total DOUBLE NOT NULL, score INTEGER NOT NULL,
            tier VARCHAR NOT NULL, tier_rank INTEGER NOT NULL, rank INTEGER NOT NULL, percentile DOUBLE NOT NULL,
            last_negative DATE, lists VARCHAR[] NOT NULL, grants BIGINT NOT NULL
        );
        CREATE TABLE run_rule_points (
            run_id BIGINT NOT NULL, subject_id VARCHAR NOT NULL, rule_id VARCHAR NOT NULL,
            dimension VARCHAR NOT NULL, points DOUBLE NOT NULL, hits BIGINT NOT NULL, last_event DATE
        );
        CREATE TABLE run_list_entries (
            run_id BIGINT NOT NULL, subject_id VARCHAR NOT NULL, list_id VARCHAR NOT NULL,
            criterion_id VARCHAR NOT NULL, record_key BIGINT
        );
        CREATE TABLE run_reasons (
            run_id BIGINT NOT NULL, subject_id VARCHAR NOT NULL, position INTEGER NOT NULL,
            rule_id VARCHAR NOT NULL, points DOUBLE NOT NULL
        );
        CREATE TABLE inquiries (
            inquiry_id BIGINT PRIMARY KEY, asked_at TIMESTAMP NOT NULL, requester VARCHAR NOT NULL,
            subject_id VARCHAR NOT NULL, service VARCHAR NOT NULL, purpose VARCHAR NOT NULL,
            outcome VARCHAR NOT NULL, run_id BIGINT
        );
        -- Hash-chained: each entry carries the hash of the one before.
        CREATE TABLE audit_log (
            seq BIGINT PRIMARY KEY, at_time TIMESTAMP NOT NULL, actor VARCHAR NOT NULL, action VARCHAR NOT NULL,
            subject_id VARCHAR, detail VARCHAR NOT NULL, prev_hash VARCHAR NOT NULL, hash VARCHAR NOT NULL
        );
        """,
    ),
    (2, "subject addresses", "ALTER TABLE subjects ADD COLUMN address VARCHAR"),
    (
        3,
        "integer subject keys",
        # Score runs group and join on a dense integer per subject rather than the 18-character identifier.
        """
        ALTER TABLE subjects ADD COLUMN subject_key BIGINT;
        UPDATE subjects SET subject_key = k.key FROM (
            SELECT subject_id, row_number() OVER (ORDER BY min(seq)) AS key FROM subjects GROUP BY subject_id
        ) k WHERE subjects.subject_id = k.subject_id;
        ALTER TABLE records ADD COLUMN subject_key BIGINT;
        UPDATE records SET subject_key = k.subject_key
            FROM (SELECT DISTINCT subject_id, subject_key FROM subjects) k WHERE records.subject_id = k.subject_id;
        INSERT INTO counters SELECT 'subject', coalesce(max(subject_key), 0) FROM subjects;
        """,
    ),
    (
        4,
        "reasons derived from rule points",
        # The four principal reasons are a function of a run's rule points (largest effect first, ties by rule
        # id; compiler.MAX_REASONS): a view, so a run writes them once, not twice.
        f"""
        DROP TABLE run_reasons;
        {_RUN_REASONS};
        """,
    ),
    (
        5,
        "rule points keyed by integers",
        # A run writes one row per subject and rule: integers and numbers only (writing the identifier and two
        # texts on each row cost three times as much). Views present them by identifier and rule id.
        f"""
        CREATE TABLE subject_keys (subject_key BIGINT NOT NULL, subject_id VARCHAR NOT NULL);
        INSERT INTO subject_keys SELECT DISTINCT subject_key, subject_id FROM subjects;
        CREATE TABLE run_rules (
            run_id BIGINT NOT NULL, rule_index SMALLINT NOT NULL, rule_id VARCHAR NOT NULL, dimension VARCHAR NOT NULL
        );
        INSERT INTO run_rules SELECT run_id, row_number() OVER (PARTITION BY run_id ORDER BY rule_id) - 1, rule_id,
            dimension FROM (SELECT DISTINCT run_id, rule_id, dimension FROM run_rule_points);
        CREATE TABLE run_points (
            run_id BIGINT NOT NULL, subject_key BIGINT NOT NULL, rule_index SMALLINT NOT NULL, points DOUBLE NOT NULL,
            hits BIGINT NOT NULL, last_event DATE
        );
        INSERT INTO run_points SELECT p.run_id, k.subject_key, r.rule_index, p.points, p.hits, p.last_event
            FROM run_rule_points p JOIN subject_keys k USING (subject_id) JOIN run_rules r USING (run_id, rule_id);
        DROP VIEW run_reasons;
        DROP TABLE run_rule_points;
        CREATE VIEW run_rule_points AS {_RULE_POINTS.format(points="run_points")};
        {_RUN_REASONS};
        """,
    ),
    (
        6,
        "store identity",
        # A random id per store: an export names the store it came from, and results computed elsewhere (Spark)
        # are published only into that store.
        """
        CREATE TABLE store_info (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
        INSERT INTO store_info VALUES ('store_id', CAST(uuid() AS VARCHAR));
        """,
    ),
    (
        7,
        "parties and API keys",
        # One row per key: the party's role and scope, and the SHA-256 of the key's secret (never the key).
        """
        CREATE TABLE api_keys (
            key_id VARCHAR PRIMARY KEY, role VARCHAR NOT NULL, name VARCHAR NOT NULL, source_id VARCHAR,
            services VARCHAR[], purposes VARCHAR[], subject_id VARCHAR, key_hash VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL, revoked_at TIMESTAMP
        );
        """,
    ),
    (
        8,
        "idempotent batches",
        # A batch sent over HTTP may carry the sender's Idempotency-Key; a replay returns the first answer.
        """
        ALTER TABLE batches ADD COLUMN idempotency_key VARCHAR;
        ALTER TABLE batches ADD COLUMN response VARCHAR;
        """,
    ),
    (
        9,
        "due process",
        # Disputes, notices and listings, fulfilment reports, repairs, overrides and notifications. Dates given by
        # the workflows (opened_at, deadline, effective_on, ...) are calendar dates of the registry's clock;
        # changes that alter what a run reads (a dispute filed or closed, a repair approved) take a number from
        # the change sequence, so a run's watermark fixes them too.
        """
        INSERT INTO counters VALUES ('dispute', 0), ('notification', 0), ('listing', 0), ('repair', 0),
            ('override', 0), ('fulfilment', 0);
        CREATE TABLE disputes (
            dispute_id BIGINT PRIMARY KEY, seq BIGINT NOT NULL, subject_id VARCHAR NOT NULL,
            source_id VARCHAR NOT NULL, record_id VARCHAR NOT NULL, record_type VARCHAR NOT NULL,
            reason VARCHAR NOT NULL, evidence VARCHAR, status VARCHAR NOT NULL, opened_at DATE NOT NULL,
            deadline DATE NOT NULL, answered_at DATE, closed_seq BIGINT, note VARCHAR, filed_by VARCHAR NOT NULL,
            answered_by VARCHAR, recorded_at TIMESTAMP NOT NULL
        );
        CREATE TABLE dispute_information (
            dispute_id BIGINT NOT NULL, added_at DATE NOT NULL, text VARCHAR NOT NULL, actor VARCHAR NOT NULL,
            recorded_at TIMESTAMP NOT NULL
        );
        CREATE TABLE notifications (
            notification_id BIGINT PRIMARY KEY, subject_id VARCHAR NOT NULL, created_on DATE NOT NULL,
            kind VARCHAR NOT NULL, ref_id BIGINT, text_en VARCHAR NOT NULL, text_zh VARCHAR NOT NULL,
            recorded_at TIMESTAMP NOT NULL
        );
        -- One row per episode of a cause (subject, policy, list, criterion, record) putting a subject on a blacklist.
        CREATE TABLE listings (
            listing_id BIGINT PRIMARY KEY, subject_id VARCHAR NOT NULL, policy_id VARCHAR NOT NULL,
            list_id VARCHAR NOT NULL, criterion_id VARCHAR NOT NULL, source_id VARCHAR NOT NULL,
            record_id VARCHAR NOT NULL, severity VARCHAR, notice_run_id BIGINT NOT NULL, noticed_on DATE NOT NULL,
            effective_on DATE NOT NULL, status VARCHAR NOT NULL, closed_on DATE, cause_present BOOLEAN NOT NULL,
            last_run_id BIGINT NOT NULL
        );
        CREATE TABLE fulfilments (
            fulfilment_id BIGINT PRIMARY KEY, source_id VARCHAR NOT NULL, record_id VARCHAR NOT NULL,
            subject_id VARCHAR NOT NULL, fulfilled_on DATE NOT NULL, note VARCHAR, actor VARCHAR NOT NULL,
            recorded_at TIMESTAMP NOT NULL
        );
        CREATE TABLE repairs (
            repair_id BIGINT PRIMARY KEY, subject_id VARCHAR NOT NULL, source_id VARCHAR NOT NULL,
            record_id VARCHAR NOT NULL, policy_id VARCHAR NOT NULL, severity VARCHAR, statement VARCHAR NOT NULL,
            status VARCHAR NOT NULL, applied_on DATE NOT NULL, eligible_from DATE NOT NULL, decided_on DATE,
            decided_seq BIGINT, decision_reason VARCHAR, applied_by VARCHAR NOT NULL, decided_by VARCHAR,
            recorded_at TIMESTAMP NOT NULL
        );
        CREATE TABLE overrides (
            override_id BIGINT PRIMARY KEY, subject_id VARCHAR NOT NULL, kind VARCHAR NOT NULL,
            target VARCHAR NOT NULL, outcome VARCHAR NOT NULL, justification VARCHAR NOT NULL,
            actor VARCHAR NOT NULL, on_date DATE NOT NULL, recorded_at TIMESTAMP NOT NULL
        );
        """,
    ),
    (
        10,
        "regions: exchange bundles, identity links, alerts",
        # Imported records go into `records` like any other, marked with the region they were recorded in; the
        # rest is what regions/ keeps of the bundles, the identities they name, the links and the alerts.
        """
        ALTER TABLE subjects ADD COLUMN phone VARCHAR;
        ALTER TABLE records ADD COLUMN origin_region VARCHAR;
        CREATE TABLE region_publishers (
            region_code VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, public_key VARCHAR NOT NULL,
            added_at TIMESTAMP NOT NULL
        );
        CREATE TABLE region_exports (
            sequence BIGINT PRIMARY KEY, bundle_sha256 VARCHAR NOT NULL, watermark BIGINT NOT NULL,
            exported_at TIMESTAMP NOT NULL, n_records BIGINT NOT NULL, n_list_entries BIGINT NOT NULL
        );
        CREATE TABLE region_imports (
            publisher VARCHAR NOT NULL, sequence BIGINT NOT NULL, bundle_sha256 VARCHAR NOT NULL,
            imported_at TIMESTAMP NOT NULL, n_records BIGINT NOT NULL, n_identities BIGINT NOT NULL,
            n_exact BIGINT NOT NULL, n_linked BIGINT NOT NULL, n_review BIGINT NOT NULL, n_unmatched BIGINT NOT NULL,
            PRIMARY KEY (publisher, sequence)
        );
        -- One row per person named by another region; status: exact, linked, review, unmatched, rejected,
        -- reversed. subject_id is the local subject once linked; candidate_id the one proposed for review.
        CREATE TABLE region_identities (
            identity_id BIGINT PRIMARY KEY, origin_region VARCHAR NOT NULL, origin_subject_id VARCHAR NOT NULL,
            name VARCHAR, sex VARCHAR, birth_date DATE, phone VARCHAR, address VARCHAR,
            status VARCHAR NOT NULL, subject_id VARCHAR, candidate_id VARCHAR, probability DOUBLE, evidence VARCHAR,
            updated_at TIMESTAMP NOT NULL, UNIQUE (origin_region, origin_subject_id)
        );
        -- Imported record versions as received (fields as JSON), applied to `records` once their identity links.
        CREATE TABLE region_records (
            origin_region VARCHAR NOT NULL, origin_subject_id VARCHAR NOT NULL, source_id VARCHAR NOT NULL,
            record_id VARCHAR NOT NULL, version INTEGER NOT NULL, record_type VARCHAR NOT NULL,
            event_date DATE NOT NULL, withdrawn BOOLEAN NOT NULL, fields VARCHAR NOT NULL, sequence BIGINT NOT NULL,
            applied BOOLEAN NOT NULL
        );
        -- The publisher's list entries as of its latest bundle (replaced by each new bundle).
        CREATE TABLE region_list_entries (
            origin_region VARCHAR NOT NULL, origin_subject_id VARCHAR NOT NULL, list_id VARCHAR NOT NULL,
            list_kind VARCHAR NOT NULL, criterion_id VARCHAR NOT NULL, reason_en VARCHAR NOT NULL,
            reason_zh VARCHAR NOT NULL, record_id VARCHAR, as_of DATE NOT NULL
        );
        CREATE TABLE region_alerts (
            alert_id BIGINT PRIMARY KEY, raised_at TIMESTAMP NOT NULL, trigger VARCHAR NOT NULL,
            subject_id VARCHAR NOT NULL, origin_region VARCHAR NOT NULL, list_id VARCHAR NOT NULL,
            evidence VARCHAR NOT NULL, acknowledged_at TIMESTAMP
        );
        INSERT INTO counters VALUES ('identity', 0), ('alert', 0);
        """,
    ),
    (
        11,
        "web sign-in links and sessions",
        # A one-time sign-in link (for a resident, or for the party of a key) and a web session are random secrets
        # shown once; the store keeps only their SHA-256, like API keys.
        """
        CREATE TABLE signin_links (
            link_id VARCHAR PRIMARY KEY, token_hash VARCHAR NOT NULL, role VARCHAR NOT NULL, name VARCHAR NOT NULL,
            key_id VARCHAR, subject_id VARCHAR, created_at TIMESTAMP NOT NULL, expires_at TIMESTAMP NOT NULL,
            used_at TIMESTAMP
        );
        CREATE TABLE web_sessions (
            session_id VARCHAR PRIMARY KEY, token_hash VARCHAR NOT NULL, actor VARCHAR NOT NULL,
            role VARCHAR NOT NULL, name VARCHAR NOT NULL, key_id VARCHAR, subject_id VARCHAR, csrf VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL, expires_at TIMESTAMP NOT NULL, ended_at TIMESTAMP
        );
        """,
    ),
    (
        12,
        "current subjects and consents",
        # The latest version of each subject and each subject's latest choice per category, written once here
        # (from latest_subjects / latest_consents) instead of a window in every query that needs them. Queries
        # as of a run's watermark, or filtering before the window, call those functions instead of the views.
        f"""
        CREATE VIEW current_subjects AS {latest_subjects().sql(dialect="duckdb")};
        CREATE VIEW current_consents AS {latest_consents().sql(dialect="duckdb")};
        """,
    ),
    (
        13,
        "scoring state",
        # Each record version names the version it replaces (prev_key), so a score state folds a change in as a
        # retraction of the previous version plus an insertion, without looking the record up again. score_states
        # lists the kept states: one table per policy version (registry/scoring/state.py).
        """
        ALTER TABLE records ADD COLUMN prev_key BIGINT;
        UPDATE records SET prev_key = p.prev FROM (
            SELECT record_key, lag(record_key) OVER (PARTITION BY source_id, record_id ORDER BY version) AS prev
            FROM records
        ) p WHERE records.record_key = p.record_key AND p.prev IS NOT NULL;
        CREATE TABLE score_states (
            policy_sha256 VARCHAR PRIMARY KEY, policy_id VARCHAR NOT NULL, policy_version VARCHAR NOT NULL,
            table_name VARCHAR NOT NULL, watermark BIGINT NOT NULL, built_at TIMESTAMP NOT NULL,
            rows BIGINT NOT NULL
        );
        """,
    ),
    (
        14,
        "record id ranges, content hashes as numbers",
        # The range of the record ids that each insert into `records` brought, per source (ordered by length, then
        # text): a batch whose ids all fall outside its source's ranges holds no id the source
        # sent before, and its ingest looks none up among the stored records (registry/records/ingest.py).
        # Every path that inserts a new record id adds the range of its ids (note_record_ids); ranges may overlap
        # and are never removed, so they cover every id in `records`.
        # The content hash stays the MD5 of the same text, held as the number md5_number gives (the digest's 16
        # bytes read little-endian) instead of 32 hexadecimal characters: writing it took a quarter of an insert.
        f"""
        CREATE TABLE record_id_ranges (
            source_id VARCHAR NOT NULL, lo_length BIGINT NOT NULL, lo VARCHAR NOT NULL, hi_length BIGINT NOT NULL,
            hi VARCHAR NOT NULL
        );
        {_ranges_insert("SELECT source_id, record_id, batch_id FROM records", ", batch_id")};
        ALTER TABLE records ALTER COLUMN content_hash SET DATA TYPE UHUGEINT USING {_md5_number_of_hex("content_hash")};
        """,
    ),
    (
        15,
        "region keys with their life",
        # Every key a publisher was trusted with, with its life (regions/keys.py): the first day it is refused for
        # an expiry (expires_on) or after a rotation's overlap (overlap_ends, the key that replaced it and when), and
        # a revocation or an untrust with its day and reason. region_publishers keeps each publisher's name and
        # latest key. Today's one key per publisher becomes a key without end; its fingerprint is the first 16 hex
        # digits of the SHA-256 of the key's raw bytes (bundle.fingerprint).
        """
        CREATE TABLE region_keys (
            region_code VARCHAR NOT NULL, fingerprint VARCHAR NOT NULL, public_key VARCHAR NOT NULL,
            trusted_at TIMESTAMP NOT NULL, trusted_on DATE NOT NULL, expires_on DATE, replaced_by VARCHAR,
            replaced_on DATE, overlap_ends DATE, revoked_on DATE, revoked_reason VARCHAR, untrusted_on DATE,
            untrusted_reason VARCHAR
        );
        INSERT INTO region_keys (region_code, fingerprint, public_key, trusted_at, trusted_on)
        SELECT region_code, left(sha256(from_base64(public_key)), 16), public_key, added_at, CAST(added_at AS DATE)
        FROM region_publishers;
        """,
    ),
    (
        16,
        "due process across borders: forwarded disputes, the origin's listing dates",
        # A dispute of another region's record is a dispute here (it holds the record) that the record's origin
        # region answers: `region_disputes` pairs it with that region ('forwarded'), and a dispute received from
        # another region with the one filed there ('received'); `sent_in` is the sequence of this region's bundle
        # that carried it (the dispute, or its answer). `region_listings` keeps the listings of another region's
        # records as that region reported them last: a listing here takes their notice and effective dates.
        """
        CREATE TABLE region_disputes (
            dispute_id BIGINT PRIMARY KEY, direction VARCHAR NOT NULL, region VARCHAR NOT NULL,
            remote_dispute_id BIGINT, origin_source_id VARCHAR NOT NULL, origin_record_id VARCHAR NOT NULL,
            origin_subject_id VARCHAR NOT NULL, sent_in INTEGER
        );
        CREATE TABLE region_listings (
            origin_region VARCHAR NOT NULL, origin_subject_id VARCHAR NOT NULL, list_id VARCHAR NOT NULL,
            criterion_id VARCHAR NOT NULL, source_id VARCHAR NOT NULL, record_id VARCHAR NOT NULL,
            noticed_on DATE NOT NULL, effective_on DATE NOT NULL, grace_days INTEGER NOT NULL,
            status VARCHAR NOT NULL, closed_on DATE, sequence INTEGER NOT NULL
        );
        """,
    ),
    (
        17,
        "link disputes",
        # A resident contests the link of another region's identity to them (registry/due_process/links.py); an
        # operator answers (the link stands, or it is reversed: regions/contest.py) or the deadline lapses it in
        # the resident's favour. dispute_id comes from the same counter as record disputes: one number, one case.
        # Statuses: open, upheld, unlinked, lapsed.
        """
        CREATE TABLE link_disputes (
            dispute_id BIGINT PRIMARY KEY, subject_id VARCHAR NOT NULL, identity_id BIGINT NOT NULL,
            origin_region VARCHAR NOT NULL, origin_subject_id VARCHAR NOT NULL, reason VARCHAR NOT NULL,
            status VARCHAR NOT NULL, opened_at DATE NOT NULL, deadline DATE NOT NULL, answered_at DATE,
            note VARCHAR, filed_by VARCHAR NOT NULL, answered_by VARCHAR, recorded_at TIMESTAMP NOT NULL
        );
        """,
    ),
    (
        18,
        "repairs across borders, information added to forwarded disputes",
        # A repair application of another region's record is a repair here that the record's origin region decides
        # under its rules: `region_repairs` pairs it with that region ('forwarded'), and an application received
        # from another region with the one filed there ('received'); `sent_in` is the sequence of this region's
        # bundle that carried it (the application, or its decision). `region_dispute_information` holds what a
        # resident added to a forwarded dispute until a bundle carries it to the origin region.
        """
        CREATE TABLE region_repairs (
            repair_id BIGINT PRIMARY KEY, direction VARCHAR NOT NULL, region VARCHAR NOT NULL,
            remote_repair_id BIGINT, origin_source_id VARCHAR NOT NULL, origin_record_id VARCHAR NOT NULL,
            origin_subject_id VARCHAR NOT NULL, sent_in INTEGER
        );
        CREATE TABLE region_dispute_information (
            dispute_id BIGINT NOT NULL, added_on DATE NOT NULL, text VARCHAR NOT NULL, sent_in INTEGER
        );
        """,
    ),
    (
        19,
        "security freezes and fraud alerts",
        # The resident's own controls (registry/due_process/freeze.py): a freeze refuses freezable services until
        # it is lifted (for good, for one party, or for a period); a fraud alert asks every relying party to verify
        # the resident's identity until its end. Rows are never deleted: lifting or removing sets a date.
        """
        INSERT INTO counters VALUES ('freeze', 0);
        CREATE TABLE freezes (
            freeze_id BIGINT PRIMARY KEY, subject_id VARCHAR NOT NULL, placed_at TIMESTAMP NOT NULL,
            placed_on DATE NOT NULL, placed_by VARCHAR NOT NULL, lifted_at TIMESTAMP, lifted_on DATE,
            lifted_by VARCHAR
        );
        CREATE TABLE freeze_lifts (
            lift_id BIGINT PRIMARY KEY, freeze_id BIGINT NOT NULL, subject_id VARCHAR NOT NULL, party VARCHAR,
            from_on DATE NOT NULL, until_on DATE, created_at TIMESTAMP NOT NULL, created_by VARCHAR NOT NULL
        );
        CREATE TABLE fraud_alerts (
            alert_id BIGINT PRIMARY KEY, subject_id VARCHAR NOT NULL, kind VARCHAR NOT NULL, police_report VARCHAR,
            placed_at TIMESTAMP NOT NULL, placed_on DATE NOT NULL, until_on DATE NOT NULL,
            placed_by VARCHAR NOT NULL, removed_at TIMESTAMP, removed_on DATE, removed_by VARCHAR
        );
        """,
    ),
    (
        20,
        "relying parties bound to a policy",
        # A relying party's key may name the policy it relies on (registry/access/parties.py): its decisions come
        # from that policy's latest run, whatever policy was scored last.
        "ALTER TABLE api_keys ADD COLUMN policy_id VARCHAR;",
    ),
    (
        21,
        "the credit repair workflow: commitment, evidence, the answer's deadline, review and overdue flags",
        # A repair application carries the resident's written commitment (信用承诺) and evidence; the registry answers
        # by `answer_due`; an operator takes it under review; the daily job flags one unanswered past its deadline
        # (registry/due_process/repair.py).
        """
        ALTER TABLE repairs ADD COLUMN commitment VARCHAR;
        ALTER TABLE repairs ADD COLUMN evidence VARCHAR;
        ALTER TABLE repairs ADD COLUMN answer_due DATE;
        ALTER TABLE repairs ADD COLUMN review_started_on DATE;
        ALTER TABLE repairs ADD COLUMN review_started_by VARCHAR;
        ALTER TABLE repairs ADD COLUMN overdue_on DATE;
        """,
    ),
    (
        22,
        "dispute evidence, reviews, the notifications outbox",
        # Evidence files are kept in the store itself (encrypted with it when it has a key), never beside it. A
        # review is an operator's escalation of a dispute and the reviewer's decision. The outbox holds every message
        # sent to a person through a channel (a sign-in link now; notices later), with its delivery attempts;
        # contacts are where a resident may be reached, per channel (the latest address of each counts).
        """
        INSERT INTO counters VALUES ('evidence', 0), ('message', 0);
        CREATE TABLE dispute_evidence (
            evidence_id BIGINT PRIMARY KEY, dispute_id BIGINT NOT NULL, file_name VARCHAR NOT NULL,
            media_type VARCHAR NOT NULL, size BIGINT NOT NULL, sha256 VARCHAR NOT NULL, content BLOB NOT NULL,
            added_on DATE NOT NULL, added_by VARCHAR NOT NULL, recorded_at TIMESTAMP NOT NULL
        );
        CREATE TABLE dispute_reviews (
            dispute_id BIGINT PRIMARY KEY, escalated_on DATE NOT NULL, escalated_by VARCHAR NOT NULL,
            escalation_reason VARCHAR NOT NULL, decision VARCHAR, reasons VARCHAR, decided_on DATE,
            decided_by VARCHAR, recorded_at TIMESTAMP NOT NULL
        );
        CREATE TABLE contacts (
            subject_id VARCHAR NOT NULL, channel VARCHAR NOT NULL, address VARCHAR NOT NULL,
            recorded_at TIMESTAMP NOT NULL, recorded_by VARCHAR NOT NULL
        );
        CREATE TABLE outbox (
            message_id BIGINT PRIMARY KEY, kind VARCHAR NOT NULL, subject_id VARCHAR, channel VARCHAR NOT NULL,
            recipient VARCHAR NOT NULL, title VARCHAR NOT NULL, body VARCHAR NOT NULL, status VARCHAR NOT NULL,
            attempts INTEGER NOT NULL, last_error VARCHAR, created_at TIMESTAMP NOT NULL, sent_at TIMESTAMP
        );
        """,
    ),
    (
        23,
        "subjects whose records were purged",
        # The retention purge deletes records without a change number; an incremental run must still see their
        # subjects as changed (registry/scoring/runs.py). The purge notes each subject with the latest change
        # number when it ran: a run based on a run at that watermark or earlier rescores it.
        "CREATE TABLE purged_subjects (subject_key BIGINT NOT NULL, after_seq BIGINT NOT NULL);",
    ),
    (
        24,
        "the catalog as data: its published versions, and the version each run was scored with",
        # Record types, their fields and sources are published like policies (registry/scoring/catalogs.py); the
        # store opens with its latest version. Version 1 is the catalog shipped with the program, stored when the
        # store is first opened at this schema; `shipped_sha256` is the shipped catalog each version took in, so a
        # newer program's additions are added once (open_store). `run_catalogs` names each run's catalog version.
        """
        CREATE TABLE catalogs (
            version INTEGER PRIMARY KEY, sha256 VARCHAR NOT NULL, text VARCHAR NOT NULL,
            published_at TIMESTAMP NOT NULL, published_by VARCHAR NOT NULL, shipped_sha256 VARCHAR NOT NULL
        );
        CREATE TABLE run_catalogs (run_id BIGINT PRIMARY KEY, catalog_version INTEGER NOT NULL);
        """,
    ),
    (
        25,
        "the impact report a policy version was published with",
        # `policy publish FILE --impact REPORT.json` keeps the report it was given (registry/reporting/impact.py),
        # whose candidate hash is the published text's: what the author saw before the version bound anyone.
        """
        CREATE TABLE policy_impacts (
            policy_id VARCHAR NOT NULL, version VARCHAR NOT NULL, sha256 VARCHAR NOT NULL,
            current_policy VARCHAR NOT NULL, current_version VARCHAR NOT NULL, as_of DATE NOT NULL,
            report_sha256 VARCHAR NOT NULL, report VARCHAR NOT NULL, recorded_at TIMESTAMP NOT NULL,
            recorded_by VARCHAR NOT NULL, PRIMARY KEY (policy_id, version)
        );
        """,
    ),
    (
        27,
        "joint-punishment memoranda, relying parties bound to an agency",
        # A memorandum (policy/memoranda.py) is published like a policy: every version kept, text and hash. A
        # relying party's key may name the agency it acts for: its refusals then name the memorandum's measure.
        """
        CREATE TABLE memoranda (
            memorandum_id VARCHAR NOT NULL, version VARCHAR NOT NULL, policy_id VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL, text VARCHAR NOT NULL, published_at TIMESTAMP NOT NULL,
            PRIMARY KEY (memorandum_id, version)
        );
        ALTER TABLE api_keys ADD COLUMN agency VARCHAR;
        """,
    ),
    (
        28,
        "subjects found by identifier",
        # A resident's page finds the subject's key by the 18-character identifier: without an index each look-up
        # is a scan of a million texts (10-20 ms at the city scale, several times a page); with one, well under a
        # millisecond. Only new subjects are written to subject_keys, so an ingest pays little for it. Records and
        # run results are not indexed: a run writes a million results and an ingest millions of records, and an
        # index costs each several seconds a million rows (records are read by the integer key instead).
        "CREATE INDEX subject_keys_subject_id ON subject_keys (subject_id);",
    ),
    (
        33,
        "who acted for an organisation in its disputes and repairs",
        # An organisation's legal representative files its disputes and repair applications with their own key
        # (docs/organisations.md): the representative's identity number is kept with the row, as the key may later
        # be revoked and the role change hands. Empty for a subject acting for themselves.
        """
        ALTER TABLE disputes ADD COLUMN representative_id VARCHAR;
        ALTER TABLE repairs ADD COLUMN representative_id VARCHAR;
        """,
    ),
    (
        34,
        "who acted for an organisation on its open dispute",
        # The legal representative also adds information to the organisation's dispute, attaches evidence and
        # withdraws it (registry/due_process/acting.py): each row keeps the representative's identity number, as
        # filing does. Empty for a subject acting for themselves.
        """
        ALTER TABLE dispute_information ADD COLUMN representative_id VARCHAR;
        ALTER TABLE dispute_evidence ADD COLUMN representative_id VARCHAR;
        ALTER TABLE disputes ADD COLUMN retracted_by_representative VARCHAR;
        """,
    ),
    (
        35,
        "a subject's kind beside its key",
        # A batch of records looks its subjects up by identifier for their key and kind (person or organisation,
        # fixed by the identifier's form: registry/records/ingest.py). From `subjects` that is a scan of every
        # subject's versions in each batch (30 ms at a million subjects, growing with the registry); from the
        # indexed subject_keys a small batch's look-up is an index probe per subject.
        """
        ALTER TABLE subject_keys ADD COLUMN kind VARCHAR;
        UPDATE subject_keys SET kind = s.kind
            FROM (SELECT DISTINCT subject_key, kind FROM subjects) s WHERE s.subject_key = subject_keys.subject_key;
        """,
    ),
    (
        36,
        "subject_keys' index dropped, to be rebuilt",
        # A store reopened after a crash could have an index missing the subjects registered just before it (DuckDB
        # 1.5.5 dropped rows replayed from the log at the next checkpoint; open_store now checkpoints after a
        # replay): rebuilt once from the table, so that every identifier is found again.
        # (Dropped and created in two migrations: DuckDB 1.5.5 aborts the process when one transaction drops an
        # index read from the file and creates it again.)
        "DROP INDEX subject_keys_subject_id;",
    ),
    (37, "subject_keys' index created again", "CREATE INDEX subject_keys_subject_id ON subject_keys (subject_id);"),
    (
        38,
        "role records kept apart",
        # Every version of the registration authority's role records (note_role_records): a live pass found the
        # roles of its few subjects by a scan of every record's type (152 ms of CPU a pass at beijing, 470 million
        # records), and a relation's words did the same for a few record keys. Filled here from `records`: one scan
        # of its record_type column and the role records' rows (at city, 21 million records, 91,000 of them roles:
        # about a second).
        f"""
        CREATE TABLE role_records (
            record_key BIGINT NOT NULL, source_id VARCHAR NOT NULL, record_id VARCHAR NOT NULL,
            version INTEGER NOT NULL, subject_id VARCHAR NOT NULL, subject_key BIGINT, event_date DATE NOT NULL,
            withdrawn BOOLEAN NOT NULL, org_id VARCHAR, "role" VARCHAR, start_date DATE, end_date DATE,
            role_key BIGINT NOT NULL
        );
        INSERT INTO role_records BY NAME SELECT *, {_ROLE_KEY} FROM ({_role_rows("true")}) ORDER BY record_key;
        """,
    ),
    (
        39,
        "subjects, consents and role records indexed by subject",
        # A live pass reads a few hundred subjects spread over the registry, their consents and role records: no row
        # group's bounds exclude them, so each read was a scan (at beijing, 22 million subjects and 5.5 million
        # consents: 460 ms of CPU a pass; 2 million role records: 135 ms). The pass writes their keys into its
        # statements, and DuckDB finds them through these indexes (registry/scoring/inputs.py ``_probed``). Built
        # at beijing in 11 s (subjects) and 49 s (consents, by identifier); registrations, consents and role records
        # are few beside records, so keeping them costs ingest little. (The scoring states are indexed too:
        # registry/scoring/state.py.) DuckDB 1.5.5 refuses ALTER COLUMN ... TYPE and RENAME COLUMN on a table with an
        # index ("Cannot alter entry"; ADD COLUMN works): a later migration that changes a column of subjects,
        # consents or role_records drops these indexes first and creates them again in a migration of its own
        # (migration 36's note: one transaction that drops an index read from the file and creates it aborts).
        """
        CREATE INDEX IF NOT EXISTS subjects_subject_key ON subjects (subject_key);
        CREATE INDEX IF NOT EXISTS consents_subject_id ON consents (subject_id);
        CREATE INDEX IF NOT EXISTS role_records_subject_key ON role_records (subject_key);
        CREATE INDEX IF NOT EXISTS role_records_role_key ON role_records (role_key);
        CREATE INDEX IF NOT EXISTS role_records_subject_id ON role_records (subject_id);
        CREATE INDEX IF NOT EXISTS role_records_org_id ON role_records (org_id);
        """,
    ),
    (
        40,
        "the subject keys of a run's results, in their order",
        # A row per row of run_results, in the same order (subject order): the subject's integer key. A snapshot
        # with explanations places each rule point (read by key) at its subject's row from an array built with one
        # scan, instead of reading every identifier of subject_keys in order and searching it among the run's. Runs
        # written before have none: a snapshot then searches them (registry/decisions/snapshot.py).
        "CREATE TABLE IF NOT EXISTS run_result_keys (run_id BIGINT NOT NULL, subject_key BIGINT NOT NULL);",
    ),
    (
        41,
        "a closed dispute's note and a repair's decision reason in Chinese",
        # A note the registry writes when it closes a dispute (a lapse, another region's answer, a displaced link)
        # or decides a repair (another region's decision) in Chinese beside the English one, so that a Chinese page
        # says it in Chinese; a person's own note or reason is the same in both. Disputes closed and repairs decided
        # before have none: the pages show their note or reason as stored.
        """
        ALTER TABLE disputes ADD COLUMN IF NOT EXISTS note_zh VARCHAR;
        ALTER TABLE link_disputes ADD COLUMN IF NOT EXISTS note_zh VARCHAR;
        ALTER TABLE repairs ADD COLUMN IF NOT EXISTS decision_reason_zh VARCHAR;
        """,
    ),
    (
        42,
        "region encryption keys",
        # The X25519 public key (base64) a region's signing key was trusted with (`region trust --encryption-key`):
        # an encrypted store's bundles are encrypted to it (regions/bundle.py). Keys trusted before have none.
        # Added only where missing, so that the migration can take another number.
        "ALTER TABLE region_keys ADD COLUMN IF NOT EXISTS encryption_key VARCHAR;",
    ),
    (
        43,
        "record ids folded to one width",
        # A record id is stored, compared and looked up with its full-width forms of ASCII and ideographic spaces
        # folded (identifiers.fold_record_id): `（2024）京01民初1号` is `(2024)京01民初1号`. The ids stored before are
        # folded here, in `records`, `role_records` and the tables naming a record by source and id (disputes,
        # fulfilments, listings, repairs). Twins, two records a source sent under two spellings of one id (before
        # the fold they were two records), become one record and lose no version: every version of either, in the
        # order the store received them (record_key), is a version of the folded id, the latest counting, as if the
        # later spelling had come as a correction (its first version is marked a correction). Another region's
        # records as received (region_records, region_listings, region_list_entries) are folded too, as a bundle's
        # are at import. The kept score states counted both twins: a store that held twins drops them from
        # score_states, their tables dropped (_drop_listed_tables): the next score run builds its policy's again
        # (runs._state_at), or `socialcredit state build`. The ranges of the folded ids are added to record_id_ranges.
        f"""
        CREATE OR REPLACE TEMP TABLE _wide_ids AS
            SELECT DISTINCT source_id, record_id, {fold_record_id_sql("record_id")} AS folded FROM records
            WHERE regexp_matches(record_id, '{RECORD_ID_WIDE_CHAR}');
        CREATE OR REPLACE TEMP TABLE _refold AS
            WITH spelled AS (  -- every spelling of a folded id: the wide ones, and the folded one if stored
                SELECT source_id, record_id, folded FROM _wide_ids
                UNION
                SELECT r.source_id, r.record_id, r.record_id FROM records r
                SEMI JOIN _wide_ids w ON w.source_id = r.source_id AND w.folded = r.record_id
            ), twins AS (SELECT source_id, folded, count(*) > 1 AS twins FROM spelled GROUP BY source_id, folded)
            SELECT r.record_key, r.version, s.folded, t.twins,
                   row_number() OVER (PARTITION BY r.source_id, s.folded ORDER BY r.record_key) AS new_version,
                   lag(r.record_key) OVER (PARTITION BY r.source_id, s.folded ORDER BY r.record_key) AS new_prev,
                   min(r.record_key) OVER (PARTITION BY r.source_id, s.folded) AS new_role_key
            FROM records r JOIN spelled s USING (source_id, record_id) JOIN twins t USING (source_id, folded);
        UPDATE records SET record_id = f.folded,
               version = CASE WHEN f.twins THEN f.new_version ELSE records.version END,
               prev_key = CASE WHEN f.twins THEN f.new_prev ELSE records.prev_key END,
               is_correction = records.is_correction OR (f.twins AND records.version = 1 AND f.new_version > 1)
            FROM _refold f WHERE records.record_key = f.record_key;
        UPDATE role_records SET record_id = f.folded,
               version = CASE WHEN f.twins THEN f.new_version ELSE role_records.version END,
               role_key = CASE WHEN f.twins THEN f.new_role_key ELSE role_records.role_key END
            FROM _refold f WHERE role_records.record_key = f.record_key;
        {_fold_named("disputes")}
        {_fold_named("fulfilments")}
        {_fold_named("listings")}
        {_fold_named("repairs")}
        {_fold_copies("region_records")}
        {_fold_copies("region_listings")}
        {_fold_copies("region_list_entries")}
        {_ranges_insert(_REFOLDED)};
        CREATE OR REPLACE TEMP TABLE _drop_tables AS
            SELECT table_name FROM score_states WHERE EXISTS (SELECT 1 FROM _refold WHERE twins);
        DELETE FROM score_states WHERE EXISTS (SELECT 1 FROM _refold WHERE twins);
        DROP TABLE _refold;
        DROP TABLE _wide_ids;
        """,
    ),
    (
        44,
        "region untrusts kept",
        # Every untrust of a region (regions/keys.py `untrust_region`): its day, the keys it untrusted and the
        # operator's reason, which its audit entry names by untrust_id (docs/audit.md "Words kept out of the log").
        # region_keys keeps a key's latest untrust only, and a key trusted again loses it: an entry naming
        # region_keys.untrusted_reason then named a reason no longer kept. Untrusts still in region_keys are copied.
        # Created only where missing, so that the migration can take another number.
        """
        CREATE TABLE IF NOT EXISTS region_untrusts (
            untrust_id BIGINT NOT NULL, region_code VARCHAR NOT NULL, untrusted_on DATE NOT NULL,
            keys VARCHAR[] NOT NULL, reason VARCHAR NOT NULL
        );
        INSERT INTO region_untrusts
        SELECT row_number() OVER (ORDER BY region_code, untrusted_on), region_code, untrusted_on,
            list(fingerprint ORDER BY fingerprint), untrusted_reason
        FROM region_keys WHERE untrusted_on IS NOT NULL AND NOT EXISTS (SELECT 1 FROM region_untrusts)
        GROUP BY region_code, untrusted_on, untrusted_reason;
        """,
    ),
    (
        45,
        "a score run's standing, decided when it is made",
        # ordinary | rerun | what_if | past_dated | behind (registry/scoring/runs.py: run_standing). A policy's run in
        # force is its newest-made ordinary finished run: decisions, listings, lists and pages stand on it. A new run
        # takes its standing from the registry's today when it is made; the runs made before take one worked out here
        # as the program that made it recorded it, taking each policy's runs in the order they were made:
        # `rerun` (mode rerun); `what_if` (dated after the day it was made: the date of its started_at); else what
        # its `listings` audit entry said (`past_dated` or `behind_run` keys: past_dated or behind; neither:
        # ordinary); a run with no such entry `past_dated` (dated before an ordinary finished run made before it),
        # `behind` (read fewer changes than one), else `ordinary`. What-ifs are left out of that bar: an old what-if
        # dated ahead never made the runs of the days before its date past-dated. The registry's today when an
        # older run was made was not kept: a run made on a clock set back (SOCIALCREDIT_TODAY before the machine's
        # date) and dated between the two is not known as a what-if; its listings audit entry, where there is one,
        # still gives the runs after it the standing they were recorded with.
        """
        ALTER TABLE score_runs ADD COLUMN IF NOT EXISTS standing VARCHAR DEFAULT 'ordinary';
        UPDATE score_runs SET standing = w.standing FROM (
            WITH RECURSIVE audited AS (
                SELECT CAST(json_extract(detail, '$.run_id') AS BIGINT) AS run_id,
                       bool_or(json_extract(detail, '$.past_dated') IS NOT NULL) AS past_dated,
                       bool_or(json_extract(detail, '$.behind_run') IS NOT NULL) AS behind
                FROM audit_log WHERE action = 'listings' GROUP BY 1
            ), ordered AS (
                SELECT r.run_id, r.policy_id, r.as_of, r.watermark, r.finished_at IS NOT NULL AS finished,
                       CASE WHEN r.mode = 'rerun' THEN 'rerun'
                            WHEN r.as_of > CAST(r.started_at AS DATE) THEN 'what_if'
                            WHEN a.past_dated THEN 'past_dated'
                            WHEN a.behind THEN 'behind'
                            WHEN a.run_id IS NOT NULL THEN 'ordinary' END AS recorded,
                       row_number() OVER (PARTITION BY r.policy_id ORDER BY r.run_id) AS n
                FROM score_runs r LEFT JOIN audited a ON a.run_id = r.run_id
            ), walk AS (
                SELECT o.policy_id, o.n, o.run_id, s.standing,
                       CASE WHEN s.standing = 'ordinary' AND o.finished THEN o.as_of END AS top_as_of,
                       CASE WHEN s.standing = 'ordinary' AND o.finished THEN o.watermark END AS top_watermark
                FROM ordered o, (SELECT coalesce(o.recorded, 'ordinary') AS standing) s
                WHERE o.n = 1
                UNION ALL
                SELECT o.policy_id, o.n, o.run_id, s.standing,
                       CASE WHEN s.standing = 'ordinary' AND o.finished THEN greatest(o.as_of, w.top_as_of)
                            ELSE w.top_as_of END,
                       CASE WHEN s.standing = 'ordinary' AND o.finished THEN greatest(o.watermark, w.top_watermark)
                            ELSE w.top_watermark END
                FROM walk w JOIN ordered o ON o.policy_id = w.policy_id AND o.n = w.n + 1,
                     (SELECT CASE WHEN o.recorded IS NOT NULL THEN o.recorded
                                  WHEN o.as_of < w.top_as_of THEN 'past_dated'
                                  WHEN o.watermark < w.top_watermark THEN 'behind'
                                  ELSE 'ordinary' END AS standing) s
            )
            SELECT run_id, standing FROM walk
        ) w WHERE score_runs.run_id = w.run_id;
        """,
    ),
    (
        46,
        "a record's first key",
        # The key at which a record (not a version) was first stored, on every later version of it (a correction, a
        # withdrawal); NULL on a first version, whose own key it is, and on a version after a withdrawal or of
        # another subject than the version before (a record sent again, or moved by a correction, is first stored
        # then: store.next_first_key_sql). A list entry names the subject's qualifying record first stored
        # (registry/scoring: ScorePlan's list records), so that a correction of that record, or a record reported
        # late, does not make another record the cause and restart its listing's notice. The kept
        # score states hold it too (the last column of their rows): a state built before gains it here, each row
        # its record's first key (_add_first_keys), so live decisions and the next run need no rebuild. A run made
        # before chose its entries' records otherwise: it is no incremental run's base (store_info's
        # first_key_runs_after: the last run made before; registry/scoring/runs.py).
        """
        ALTER TABLE records ADD COLUMN IF NOT EXISTS first_key BIGINT;
        UPDATE records SET first_key = f.first_key FROM (
            SELECT record_key, first_value(record_key) OVER (PARTITION BY source_id, record_id, run ORDER BY version)
                   AS first_key
            FROM (
                SELECT *, sum(CAST(starts AS INTEGER)) OVER (PARTITION BY source_id, record_id ORDER BY version
                                                             ROWS UNBOUNDED PRECEDING) AS run
                FROM (
                    SELECT source_id, record_id, version, record_key,
                           coalesce(lag(withdrawn) OVER w OR lag(subject_key) OVER w IS DISTINCT FROM subject_key,
                                    true) AS starts
                    FROM records
                    WHERE (source_id, record_id) IN (SELECT source_id, record_id FROM records WHERE version > 1)
                    WINDOW w AS (PARTITION BY source_id, record_id ORDER BY version)
                )
            )
        ) f WHERE records.record_key = f.record_key AND records.record_key <> f.first_key;
        CREATE OR REPLACE TEMP TABLE _first_key_tables AS SELECT table_name FROM score_states;
        INSERT OR REPLACE INTO store_info
        SELECT 'first_key_runs_after', CAST(coalesce(max(run_id), 0) AS VARCHAR) FROM score_runs;
        """,
    ),
    (
        47,
        "the first key of a record applied from another region",
        # Migration 46 read a record's versions in `records` only. A record applied from another region has there
        # only the versions applied, the latest received in each import; the versions between are in
        # region_records, and one of them withdrawn, or of another subject at the origin, makes the applied version a
        # new cause (regions/exchange.py: _note_restarts). Such a version gains a first key of its own here, each
        # later version of the record that first key, and the kept states their records' first keys
        # (_region_first_keys, then _add_first_keys); a run made before is no incremental run's base if any changed.
        """
        CREATE OR REPLACE TEMP TABLE _region_first_keys AS SELECT 47 AS migration;
        """,
    ),
    (
        48,
        "the lists an inquiry's decision counted",
        # The lists the decision of an inquiry counted when it was made (its ``lists``: a blacklist only while the
        # subject's listing on it was in effect by the registry's today), so that a resident's file names the
        # measures of the memoranda a refusal stood on, whatever became of the listing since
        # (registry/due_process/listings.py: inquiry_lists). NULL on an inquiry written before, and on a grant of a
        # quick or batch decision, which works out no lists; those are worked out again when read.
        """
        ALTER TABLE inquiries ADD COLUMN IF NOT EXISTS lists VARCHAR[];
        """,
    ),
    (
        49,
        "a run stored as its changes over a root run; each run's histogram of scores",
        # Per run and kind, how many subjects have each score, with the rank and percentile of that score
        # (compiler/plan.py histogram_ranks: the one definition the run's stages rank by). Every run writes its own
        # (registry/scoring/runs.py save_run); the runs made before take theirs from their results here (at city, a
        # million rows a run: a scan of two columns). A live pass moves a few subjects in it instead of counting
        # every row of the run's results (registry/decisions/live.py).
        # A next-day run (an incremental run computing only the subjects it rescored) is stored as a delta run over
        # a root run stored whole (score_runs.root_run_id; NULL: stored whole): its rows of results, rule points and
        # result keys only for its own subjects (run_own: those it rescored, and those its base run owned if that
        # is a delta run of the same root), every other subject's being the root's, its rank and percentile from the
        # delta run's histogram. The tables are renamed (*_rows) and the names every reader reads become views of
        # every run's full rows: a run stored whole as stored, a delta run as its own rows and its root's rows of the
        # others. A view's rows come in no set order (DuckDB's threads interleave its branches): a reader that needs
        # a run's rows as they lie reads a run stored whole from the tables (registry/decisions/snapshot.py).
        f"""
        CREATE TABLE IF NOT EXISTS run_histogram (
            run_id BIGINT NOT NULL, kind VARCHAR NOT NULL, score INTEGER NOT NULL, n BIGINT NOT NULL,
            rank INTEGER NOT NULL, percentile DOUBLE NOT NULL
        );
        INSERT INTO run_histogram SELECT * FROM ({_RUNS_HISTOGRAMS}) WHERE NOT EXISTS (SELECT 1 FROM run_histogram)
        ORDER BY run_id, kind, score;
        ALTER TABLE score_runs ADD COLUMN IF NOT EXISTS root_run_id BIGINT;
        CREATE TABLE IF NOT EXISTS run_own (run_id BIGINT NOT NULL, subject_key BIGINT NOT NULL, subject_id VARCHAR);
        CREATE OR REPLACE TEMP TABLE _run_views AS SELECT 49 AS migration;
        """,
    ),
]


def _httpfs_extension() -> str:
    try:
        import duckdb_extension_httpfs
    except ImportError:  # pragma: no cover - a pinned dependency
        raise StoreError(
            "encryption needs the package duckdb-extension-httpfs (pinned with duckdb); reinstall socialcredit"
        ) from None
    base = Path(duckdb_extension_httpfs.__file__).parent / "extensions"
    found = sorted(base.glob(f"v{duckdb.__version__}/*.duckdb_extension"))
    if not found:
        raise StoreError(f"no httpfs extension for DuckDB {duckdb.__version__} under {base}")
    return str(found[0])


@dataclass
class Store:
    """An open registry store: a DuckDB connection with the registry attached and in use.

    ``catalog`` is the catalog the store was opened with (its sources and record fields are synced into the store
    then): the registry reads sources, record types, fields and categories from it rather than loading its own.
    """

    path: Path
    con: duckdb.DuckDBPyConnection
    encrypted: bool
    catalog: Catalog
    created: bool = False
    # The version of ``catalog`` in the store's `catalogs` table (1: the shipped catalog).
    catalog_version: int = 1
    # The store's key: files the registry writes beside the store are sealed with keys derived from it.
    key: str | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def runs_over_roots(self) -> bool:
        """Whether runs are kept as rows over their roots (migration 49: ``run_rows``); a store opened read-only
        before it keeps them in the tables of old. Asked once per open store."""
        return bool(
            self.one(
                "SELECT count(*) FROM duckdb_columns() WHERE table_name = 'score_runs' AND column_name = 'root_run_id'"
            )
        )

    def derived_key(self, purpose: str) -> bytes | None:
        """A 32-byte key for ``purpose`` (such as "inquiry journal") derived from the store's key, or None when the
        store has no key. HKDF-SHA256, salted with the store's id: another store with the same key derives others."""
        if not self.key:
            return None
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        salt = self.store_id.encode("utf-8")
        info = f"socialcredit {purpose}".encode()
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(self.key.encode("utf-8"))

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
        return with_params(self.con.execute, sql, params) if params is not None else self.con.execute(sql)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> duckdb.DuckDBPyConnection:
        return with_params(self.con.executemany, sql, rows)

    def one(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        row = self.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def rows(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> list[dict[str, Any]]:
        cur = self.execute(sql, params)
        cols = [d[0] for d in cur.description or []]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: on any error the transaction is rolled back and the error re-raised."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    @property
    def store_id(self) -> str:
        """This store's random identity (made when it was created)."""
        return str(self.one("SELECT value FROM store_info WHERE key = 'store_id'"))

    def take_ids(self, name: str, n: int) -> int:
        """Reserve ``n`` consecutive ids of counter ``name``; returns the first. Call inside a transaction."""
        last = self.one("UPDATE counters SET value = value + ? WHERE name = ? RETURNING value", [n, name])
        return int(last) - n + 1

    def reader(self) -> Store:
        """A second connection to the same store, for reads off the single writer's path: it has its own
        transactions (a consistent view while the writer commits) and its own temporary relations. Close it after
        use; it never writes."""
        con = self.con.cursor()
        con.execute(f"USE {_ALIAS}")
        return replace(self, con=con)

    def schema_version(self) -> int:
        return int(self.one("SELECT coalesce(max(version), 0) FROM schema_version"))

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _listed(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether a migration made the temporary table ``name``, its list or mark for the step after its SQL."""
    found = with_params(
        con.execute, "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?", [name]
    ).fetchone()
    return bool(found and found[0])


def _drop_listed_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the tables a migration listed in the temporary table ``_drop_tables`` (names only the data knows, as a
    kept score state's: SQL cannot drop a table by a name it reads), then the list."""
    if not _listed(con, "_drop_tables"):
        return
    for (name,) in con.execute("SELECT DISTINCT table_name FROM _drop_tables ORDER BY 1").fetchall():
        con.execute(f"DROP TABLE IF EXISTS {ident(str(name))}")
    con.execute("DROP TABLE _drop_tables")


def _run_views(con: duckdb.DuckDBPyConnection) -> None:
    """Migration 49: the run tables renamed (``*_rows``) and the views of every run's full rows made under their
    names, where they are still tables (a store whose migrations are taken again keeps its views)."""
    if not _listed(con, "_run_views"):
        return
    con.execute("DROP TABLE _run_views")
    for table in ("run_results", "run_points", "run_result_keys"):
        found = with_params(
            con.execute,
            "SELECT count(*) FROM duckdb_tables() WHERE NOT temporary AND table_name = ? AND schema_name = 'main'",
            [table],
        ).fetchone()
        if found and found[0]:
            con.execute(f"ALTER TABLE {table} RENAME TO {table}_rows")
    con.execute(_RUN_VIEWS.replace("CREATE VIEW", "CREATE OR REPLACE VIEW"))


def _region_first_keys(con: duckdb.DuckDBPyConnection) -> None:
    """Migration 47: the first keys of the records applied from another region (records with an origin region) with
    more than one version, worked out as _note_restarts (regions/exchange.py) does at import. Each local version is
    matched to the version received it was applied from (the same content, withdrawn or not), the newest first, each
    an older version than the one after it; a version received between the two matched to consecutive local
    versions, withdrawn or of another subject at the origin than the later one, restarts the record. A local version
    matched to none (a withdrawal made when a link was reversed) keeps the rule of next_first_key_sql alone. If a
    first key changed, lists the kept score states for _add_first_keys and marks the runs made before as no base."""
    if not _listed(con, "_region_first_keys"):
        return
    con.execute("DROP TABLE _region_first_keys")
    local = con.execute(
        """SELECT source_id, record_id, version, record_key, first_key, withdrawn, subject_key FROM records
        WHERE (source_id, record_id) IN (SELECT source_id, record_id FROM records
                                         WHERE origin_region IS NOT NULL AND version > 1)
        ORDER BY source_id, record_id, version"""
    ).fetchall()
    if not local:
        return
    received = con.execute(
        f"""WITH l AS (
            SELECT source_id, record_id, version, record_key, withdrawn, content_hash, subject_id FROM records
            WHERE (source_id, record_id) IN (SELECT source_id, record_id FROM records
                                             WHERE origin_region IS NOT NULL AND version > 1)
        ), p AS (
            SELECT source_id, origin_region || '/' || {fold_record_id_sql("record_id")} AS record_id, version,
                   withdrawn, origin_subject_id, record_type, event_date, fields
            FROM region_records
        )
        SELECT p.source_id, p.record_id, p.version, p.withdrawn, p.origin_subject_id, list(l.version)
        FROM p LEFT JOIN l ON l.source_id = p.source_id AND l.record_id = p.record_id AND l.withdrawn = p.withdrawn
             AND l.content_hash = md5_number(l.subject_id || '|' || p.record_type || '|'
                                             || CAST(p.event_date AS VARCHAR) || '|' || p.fields)
        WHERE (p.source_id, p.record_id) IN (SELECT source_id, record_id FROM l)
        GROUP BY ALL ORDER BY 1, 2, 3"""
    ).fetchall()
    origin: dict[tuple[str, str], list[tuple[int, bool, str, set[int]]]] = {}
    for source, record, version, withdrawn, subject, matches in received:
        origin.setdefault((source, record), []).append(
            (int(version), bool(withdrawn), str(subject), {int(m) for m in matches if m is not None})
        )
    changed: list[tuple[int, int | None]] = []
    by_record: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for row in local:
        by_record.setdefault((row[0], row[1]), []).append(row)
    for key, versions in by_record.items():
        sent = origin.get(key, [])
        matched: dict[int, int] = {}  # local version -> the version received it was applied from
        bound = None
        for row in reversed(versions):
            found = [v for v, _, _, m in sent if row[2] in m and (bound is None or v < bound)]
            if found:
                matched[row[2]] = bound = max(found)
        first: int | None = None  # the record's first key as of the version before
        for i, (_, _, version, record_key, old, _, subject_key) in enumerate(versions):
            new: int | None = None
            if i:
                prev = versions[i - 1]
                restarts = bool(prev[5]) or prev[6] != subject_key
                if not restarts and prev[2] in matched and version in matched:
                    after, upto = matched[prev[2]], matched[version]
                    at = next(s for v, _, s, _ in sent if v == upto)
                    restarts = any(after < v < upto and (w or s != at) for v, w, s, _ in sent)
                new = None if restarts else first
            first = record_key if new is None else new
            if new != old:
                changed.append((record_key, new))
    if not changed:
        return
    with_params(con.executemany, "UPDATE records SET first_key = ? WHERE record_key = ?", [(f, k) for k, f in changed])
    con.execute("CREATE OR REPLACE TEMP TABLE _first_key_tables AS SELECT table_name FROM score_states")
    con.execute(
        "INSERT OR REPLACE INTO store_info "
        "SELECT 'first_key_runs_after', CAST(coalesce(max(run_id), 0) AS VARCHAR) FROM score_runs"
    )


def _add_first_keys(con: duckdb.DuckDBPyConnection) -> None:
    """Give each kept score state the temporary table ``_first_key_tables`` lists (migration 46) the column
    first_key, each row its record's first key (records.first_key, or its own key), then drop the list."""
    if not _listed(con, "_first_key_tables"):
        return
    for (name,) in con.execute("SELECT DISTINCT table_name FROM _first_key_tables ORDER BY 1").fetchall():
        table = ident(str(name))
        con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS first_key BIGINT")
        con.execute(
            f"UPDATE {table} SET first_key = coalesce(r.first_key, r.record_key) FROM records r "
            f"WHERE r.record_key = {table}.record_key"
        )
    con.execute("DROP TABLE _first_key_tables")


_FIRST_KEY_MIGRATION = 46


def _refuse_a_first_key_field(con: duckdb.DuckDBPyConnection) -> None:
    """Refuse to upgrade a store whose records have a column ``first_key`` that is a catalog field (published before
    the name was reserved): migration 46 would fill the field's column with record keys, overwriting its values. A
    column ``first_key`` of the registry's own (BIGINT, declared by no published catalog: a store whose schema
    version was set back after 46, as the migration tests do) is no field: the migration goes on and fills it."""
    column = with_params(
        con.execute,
        "SELECT data_type FROM duckdb_columns() WHERE database_name = ? AND table_name = 'records' "
        "AND column_name = 'first_key'",
        [_ALIAS],
    ).fetchone()
    if column is None:
        return
    declared = False
    if with_params(
        con.execute,
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND table_name = 'catalogs'",
        [_ALIAS],
    ).fetchone() != (0,):
        found = con.execute(
            "SELECT count(*) FROM catalogs WHERE regexp_matches(text, '(^|\\n)[ \\t]+first_key[ \\t]*:')"
        ).fetchone()
        declared = found is not None and found[0] > 0
    if column[0] == "BIGINT" and not declared:
        return
    raise StoreError(
        "cannot upgrade the store to schema 46: its records have a field named first_key, a name the registry "
        "now keeps for itself (the key a record was first stored at); publish the field under another name "
        "and copy its values with the socialcredit that made the store, then open it again",
        zh="无法将存储升级到第 46 版：其记录有名为 first_key 的字段，该名称现由登记系统自用（记录首次存储时的键）；"
        "请先用创建该存储的 socialcredit 以其他名称发布该字段并复制其值，然后再打开",
    )


def _after_migration(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """The steps a migration's SQL asks for by making a temporary table: only those whose table its text names (a
    temporary table is the connection's own, and each step drops its table; migration 47's step may list the
    tables for _add_first_keys). Asking duckdb_tables() four times after each migration made up three quarters of
    the cost of creating a store."""
    if "_drop_tables" in sql:
        _drop_listed_tables(con)
    if "_run_views" in sql:
        _run_views(con)
    if "_region_first_keys" in sql:
        _region_first_keys(con)
    if "_first_key_tables" in sql or "_region_first_keys" in sql:
        _add_first_keys(con)


def _migrate(con: duckdb.DuckDBPyConnection, *, stepwise: bool = False) -> None:
    """Bring the store to the newest schema. A store of an older schema takes each pending migration in a
    transaction of its own (a failure leaves it at the last version that applied); a new store (no version yet)
    takes them all in one: the same statements in the same order, but one commit instead of one per migration,
    which made up most of the cost of creating a store. ``stepwise`` forces one transaction per migration
    (tests/test_store.py compares the two schemas)."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP)"
    )
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    current = int(row[0]) if row else 0
    newest = MIGRATIONS[-1][0]
    if current > newest:
        raise StoreError(f"the store has schema version {current}, newer than this socialcredit ({newest}); upgrade")
    pending = [m for m in MIGRATIONS if m[0] > current]
    if current and current < _FIRST_KEY_MIGRATION:
        _refuse_a_first_key_field(con)
    groups = [pending] if current == 0 and not stepwise else [[m] for m in pending]
    for group in groups:
        if not group:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            for _, _, sql in group:
                con.execute(sql)
                _after_migration(con, sql)
            with_params(
                con.execute,
                "INSERT INTO schema_version VALUES " + ", ".join(["(?, ?, now())"] * len(group)),
                [x for version, name, _ in group for x in (version, name)],
            )
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        if current:
            # An older store's migration is written into the file at once, not left in the log: DuckDB 1.5.5 cannot
            # replay some DDL from the log (a dropped index among them) if the process ends before it checkpoints.
            con.execute("CHECKPOINT")


def open_store(
    path: Path | str = DEFAULT_DB,
    *,
    key: str | None = None,
    create: bool = False,
    read_only: bool = False,
) -> Store:
    """Open (or with ``create=True`` create) the store at ``path``; the key defaults to $SOCIALCREDIT_DB_KEY."""
    # Imported here: the command line's start does not pay for the settings' model until a store is opened.
    from socialcredit.settings import get_settings

    settings = get_settings()
    path = Path(path)
    key = key if key is not None else settings.key()
    exists = path.exists()
    if not exists and key:
        check_new_key(key, f"the key in {KEY_ENV}", f"{KEY_ENV} 中的密钥")
    if not exists and not create:
        raise StoreError(
            f"no store at {path}; create one with `socialcredit init --db {path}`",
            zh=f"{path} 处没有存储；请用 `socialcredit init --db {path}` 创建",
        )
    if exists and path.is_dir():
        raise StoreError(f"{path} is a folder, not a store file", zh=f"{path} 是文件夹，不是存储文件")
    if not exists:
        path.parent.mkdir(parents=True, exist_ok=True)
    wal = path.with_name(path.name + ".wal")
    # A write-ahead log left behind: the last process to write ended without closing the store (a crash, a kill).
    replaying = exists and not read_only and wal.exists() and wal.stat().st_size > 0
    con = duckdb.connect(":memory:")
    # Work that does not fit in memory spills next to the store (encrypted when the store is), never into the
    # current directory; the memory DuckDB may use is capped by $SOCIALCREDIT_MEMORY_LIMIT (e.g. 12GB) if set.
    con.execute(f"SET temp_directory = {lit(str(path.parent / (path.name + '.tmp')))}")
    if limit := settings.memory_limit:
        try:
            con.execute(f"SET memory_limit = {lit(limit)}")
        except duckdb.Error:
            con.close()
            raise StoreError(f"{MEMORY_ENV}={limit!r} is not a memory size such as 12GB") from None
    if threads := settings.threads:  # a whole number from 1 to 256, checked by the settings' model
        con.execute(f"SET threads = {int(threads)}")
    options = []
    if key:
        con.execute(f"LOAD {lit(_httpfs_extension())}")
        con.execute("SET temp_file_encryption = true")
        options.append(f"ENCRYPTION_KEY {lit(key)}")
    if read_only:
        options.append("READ_ONLY")
    # ATTACH takes no bound parameters: path and key are printed as escaped SQL string literals.
    attach = f"ATTACH {lit(str(path))} AS {_ALIAS}" + (f" ({', '.join(options)})" if options else "")
    try:
        con.execute(attach)
    except duckdb.Error as exc:
        con.close()
        text = str(exc)
        if "without a key" in text:
            raise StoreError(
                f"the store {path} is encrypted: set {KEY_ENV} to its key",
                zh=f"存储 {path} 已加密：请将 {KEY_ENV} 设为其密钥",
            ) from None
        if "Wrong encryption key" in text:
            said = f"the key in {KEY_ENV} does not open the store {path}"
            said_zh = f"{KEY_ENV} 中的密钥打不开存储 {path}"
            if rotating_path(path).is_file():
                said += (
                    ": a rotation of its key did not finish, and it still opens with the key it had before "
                    "(run `socialcredit store rotate-key` again)"
                )
                said_zh += "：其密钥的更换未完成，仍可用更换前的密钥打开（请再次运行 `socialcredit store rotate-key`）"
            raise StoreError(said, zh=said_zh) from None
        if "is not encrypted" in text:
            raise StoreError(
                f"the store {path} is not encrypted, but {KEY_ENV} is set; unset it to open it",
                zh=f"存储 {path} 未加密，但设置了 {KEY_ENV}；请取消设置后再打开",
            ) from None
        if key and not _keeps_the_rule(key):  # DuckDB's text would quote the key
            raise StoreError(
                f"the key in {KEY_ENV} does not open the store {path}: {KEY_RULE}",
                zh=f"{KEY_ENV} 中的密钥打不开存储 {path}：{KEY_RULE_ZH}",
            ) from None
        if "lock" in text.lower():
            raise StoreError(
                f"the store {path} is in use by another process, such as a running `socialcredit serve` (only one "
                "process may write to it): stop that process, or go through the service's HTTP API",
                zh=f"存储 {path} 正被另一进程（如运行中的 `socialcredit serve`）使用（只能有一个进程写入）："
                "请停止该进程，或通过服务的 HTTP API 操作",
            ) from None
        said = _without_key(text, key)
        raise StoreError(f"cannot open the store {path}: {said}", zh=f"无法打开存储 {path}：{said}") from None
    con.execute(f"USE {_ALIAS}")
    if not read_only:
        # the copy a rotation of the key left when it stopped before its end (its store was not replaced): this
        # process holds the store, so no rotation is under way
        drop_rotating_copy(path)
    if not exists:
        path.chmod(0o600)  # the owner's only, whatever the umask (the console script's is 077)
    if replaying:
        # DuckDB 1.5.5 loses from an index the rows it replayed from the log when it next checkpoints on closing
        # (duckdb/duckdb#25771): the subjects registered before the crash were then missing from subject_keys'
        # index, and every look-up by identifier found none of them. A checkpoint now, right after the replay,
        # writes the index whole.
        con.execute(f"CHECKPOINT {_ALIAS}")
    if not read_only:
        _migrate(con)
        _ensure_catalog(con)
    version, catalog = latest_catalog(con)
    if not read_only:
        sync_catalog(con, catalog)
    return Store(
        path=path,
        con=con,
        encrypted=bool(key),
        catalog=catalog,
        created=not exists,
        key=key or None,
        catalog_version=version,
    )


def latest_catalog(con: duckdb.DuckDBPyConnection) -> tuple[int, Catalog]:
    """The store's latest published catalog and its version (the shipped one, 1, in a store of an older schema
    opened read-only)."""
    try:
        row = con.execute("SELECT version, text FROM catalogs ORDER BY version DESC LIMIT 1").fetchone()
    except duckdb.CatalogException:
        row = None
    if row is None:
        return 1, load_catalog()
    return int(row[0]), catalog_from_text(str(row[1]))


def _ensure_catalog(con: duckdb.DuckDBPyConnection) -> None:
    """Store the shipped catalog as version 1 in a store that has none; when this program ships a catalog the
    latest version has not taken in, add what it adds (never removing or changing anything) as the next version."""
    shipped_text = shipped_catalog_text()
    shipped_sha = catalog_sha256(shipped_text)
    try:
        row = con.execute("SELECT version, text, shipped_sha256 FROM catalogs ORDER BY version DESC LIMIT 1").fetchone()
    except duckdb.CatalogException:  # a schema before 24 (the tests of older migrations stop there)
        return
    if row is not None and row[2] == shipped_sha:
        return
    if row is None:
        version, text = 1, shipped_text
    else:
        base = catalog_from_text(str(row[1]))
        shipped = load_catalog()
        if lacking(base, shipped):
            version, text = int(row[0]) + 1, merged_text(str(row[1]), shipped)
        else:  # nothing new: the latest version takes in this shipped catalog as it is
            with_params(con.execute, "UPDATE catalogs SET shipped_sha256 = ? WHERE version = ?", [shipped_sha, row[0]])
            return
    with_params(
        con.execute,
        "INSERT INTO catalogs VALUES (?, ?, ?, now(), 'socialcredit (shipped catalog)', ?)",
        [version, catalog_sha256(text), text, shipped_sha],
    )


def sync_catalog(con: duckdb.DuckDBPyConnection, catalog: Catalog) -> None:
    """Make the store follow ``catalog``: its sources, and a typed column of records for each of its fields."""
    _sync_sources(con, catalog)
    _sync_record_fields(con, catalog)


SQL_TYPES = {"string": "VARCHAR", "integer": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN", "date": "DATE"}


def _sync_record_fields(con: duckdb.DuckDBPyConnection, catalog: Catalog) -> None:
    """Give the records table one typed column per catalog field; new fields are added, never changed."""
    have = {str(r[0]): str(r[1]) for r in con.execute("DESCRIBE records").fetchall()}
    added = []
    for name, ftype in catalog.field_columns().items():
        want = SQL_TYPES[ftype]
        if name not in have:
            added.append(f"ALTER TABLE records ADD COLUMN {ident(name)} {want}")
        elif have[name] != want:
            raise StoreError(
                f"records.{name} is {have[name]} in the store but {want} in the catalog; a field cannot change type "
                "without a migration"
            )
    if added:  # one commit for all (a new store adds every field of the shipped catalog)
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(";\n".join(added))
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")


def _sync_sources(con: duckdb.DuckDBPyConnection, catalog: Catalog) -> None:
    """Keep the sources table equal to the catalog: the furnishers and the record types each may send."""
    rows = [(sid, s.name.zh, s.name.en, s.record_types) for sid, s in catalog.sources.items()]
    current = con.execute("SELECT source_id, name_zh, name_en, record_types FROM sources ORDER BY 1").fetchall()
    if sorted(rows) == [tuple(r) for r in current]:
        return
    con.execute("BEGIN TRANSACTION")
    con.execute("DELETE FROM sources")
    with_params(con.executemany, "INSERT INTO sources VALUES (?, ?, ?, ?)", rows)
    con.execute("COMMIT")


def rotating_path(path: Path) -> Path:
    """Where `store rotate-key` writes the copy of the store at ``path`` under its new key, before it replaces it."""
    return path.with_name(path.name + ROTATING_SUFFIX)


def _keeps_the_rule(key: str) -> bool:
    return all(" " <= c <= "~" and c != "\\" for c in key)


def check_new_key(key: str, what: str, what_zh: str) -> None:
    """Refuse ``key`` (``what``, ``what_zh``: where it comes from, in English and Chinese) as a new store's key
    unless it keeps to KEY_RULE; the message never quotes it."""
    if not _keeps_the_rule(key):
        raise StoreError(
            f"{what} cannot be a store's key: {KEY_RULE}",
            zh=f"{what_zh}不能作为存储的密钥：{KEY_RULE_ZH}",
        )


def _without_key(text: str, key: str | None) -> str:
    """DuckDB's ``text`` about an ATTACH with ``key`` (one that keeps to KEY_RULE), the key taken out of it."""
    return text.replace(lit(key), "'…'").replace(key, "…") if key else text


def drop_rotating_copy(path: Path) -> None:
    """Remove the copy of the store at ``path`` under a new key that a rotation left unfinished, and its log."""
    copy = rotating_path(path)
    for left in (copy, copy.with_name(copy.name + ".wal")):
        if left.is_file():
            left.unlink()


def _objects(con: duckdb.DuckDBPyConnection, alias: str) -> dict[str, dict[str, str]]:
    """The tables, views, indexes and sequences of the attached database ``alias``, each by its name: the SQL that
    makes it, a sequence's step and bounds. Not where a sequence stands: DuckDB 1.5 lists a sequence copied or read
    from the file as starting at its next value, and the same one used since it was read as starting where it was
    made, its last value behind the next by a step, so one sequence shows in two ways (the store has none)."""
    sequence = "concat_ws(' ', increment_by, min_value, max_value, cycle)"
    kinds = {
        "table": ("duckdb_tables() WHERE NOT temporary", "sql"),
        "view": ("duckdb_views() WHERE NOT internal AND NOT temporary", "sql"),
        "index": ("duckdb_indexes() WHERE true", "sql"),
        "sequence": ("duckdb_sequences() WHERE NOT temporary", sequence),
    }
    found: dict[str, dict[str, str]] = {}
    for kind, (source, made) in kinds.items():
        rows = with_params(
            con.execute,
            f"SELECT schema_name || '.' || {kind}_name, coalesce({made}, '') FROM {source} AND database_name = ?",
            [alias],
        ).fetchall()
        found[kind] = {str(name): str(what) for name, what in rows}
    return found


def row_counts(con: duckdb.DuckDBPyConnection, tables: Iterable[str], *, alias: str = _ALIAS) -> dict[str, int]:
    """The rows of each of ``tables`` (``schema.table``) of the attached database ``alias`` (the store's)."""
    counts: dict[str, int] = {}
    for name in tables:
        schema, table = name.split(".", 1)
        row = con.execute(f"SELECT count(*) FROM {ident(alias)}.{ident(schema)}.{ident(table)}").fetchone()
        counts[name] = int(row[0]) if row else 0
    return counts


def _not_copied(target: Path, exc: duckdb.Error, key: str) -> StoreError:
    said = _without_key(str(exc), key)
    return StoreError(
        f"cannot write the copy under the new key at {target}: {said}; nothing changed",
        zh=f"无法在 {target} 写入新密钥下的副本：{said}；未作任何更改",
    )


def copy_under_key(store: Store, target: Path, key: str) -> dict[str, int]:
    """Copy the whole store into the new file ``target``, encrypted with ``key``: every table, view, index and
    sequence (DuckDB's ``COPY FROM DATABASE``; a sequence goes on from where it stood), then check the copy holds
    the same objects and, in every table, as many rows. Returns the rows of each table. The copy is checkpointed
    and detached: nothing of it is in a log, and nothing was written in clear (spilled work is encrypted)."""
    check_new_key(key, "the new key", "新密钥")
    con = store.con
    if not store.encrypted:  # encrypting a store that had no key: DuckDB's encryption as open_store loads it
        con.execute(f"LOAD {lit(_httpfs_extension())}")
        con.execute("SET temp_file_encryption = true")
    try:
        con.execute(f"ATTACH {lit(str(target))} AS {_COPY} (ENCRYPTION_KEY {lit(key)})")
    except duckdb.Error as exc:
        raise _not_copied(target, exc, key) from None
    try:
        target.chmod(0o600)
        try:
            con.execute(f"COPY FROM DATABASE {_ALIAS} TO {_COPY}")
            con.execute(f"CHECKPOINT {_COPY}")
        except duckdb.Error as exc:  # no space left, most likely: the copy takes as much as the store
            raise _not_copied(target, exc, key) from None
        before, after = _objects(con, _ALIAS), _objects(con, _COPY)
        if before != after:
            differ = sorted(
                f"{kind} {name}"
                for kind in before
                for name in before[kind].keys() | after[kind].keys()
                if before[kind].get(name) != after[kind].get(name)
            )
            raise StoreError(
                f"the copy under the new key differs in {', '.join(differ)}; nothing changed",
                zh=f"新密钥下的副本在 {'、'.join(differ)} 上不同；未作任何更改",
            )
        rows, copied = row_counts(con, before["table"]), row_counts(con, before["table"], alias=_COPY)
        if rows != copied:
            short = sorted(name for name in rows if rows[name] != copied[name])
            raise StoreError(
                f"the copy under the new key has other rows in {', '.join(short)}; nothing changed",
                zh=f"新密钥下的副本在 {'、'.join(short)} 中的行不同；未作任何更改",
            )
    finally:
        con.execute(f"DETACH {_COPY}")
    return rows
