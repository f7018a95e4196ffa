"""Score runs outside the store: export the registry's inputs as Parquet, score them on Spark (or any engine with
a backend), and publish the results back into the registry as a run.

The three steps, and the files between them::

    export   store  -> DIR/manifest.json, DIR/subjects.parquet, DIR/records/record_type=<type>/*.parquet
    score    DIR    -> OUT/manifest.json, OUT/{results,rule_points,list_entries,reasons}/*.parquet,
                       OUT/state/*.parquet (the scoring state the run built and read)
    publish  OUT    -> a run in the store (engine "spark"), with the policy version it used

A run's results are tied to the store and watermark of the export they were computed from; ``publish`` refuses
results from another store, from data newer than the store, or from a generated population (not registry data).

When the store has a key, the export names subjects by a keyed pseudonym, not their identity number (``sid`` is
HMAC-SHA256 of it under a key derived from the store's key): scoring needs no identity number, and ``publish`` maps
the pseudonyms back by the store's own keys. ``clear_ids`` writes the identity numbers instead.

Spark scores through the scoring state, as the store does (registry/scoring/state.py): the run first builds
``sc_state`` from the exported records with the compiler's ``ScorePlan.state_matches`` printed in Spark's dialect,
then runs the stages of a ``source="state"`` plan on it. With ``from_records`` it runs them on the records
instead; both give the same results.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
import sqlglot.expressions as exp

from socialcredit.backends.files import DISPUTED_COLUMN
from socialcredit.backends.spark import EXPORT_FORMAT, SparkBackend, read_inputs, spark_session
from socialcredit.catalog import load_catalog
from socialcredit.clock import resolve_today
from socialcredit.compiler import ScorePlan
from socialcredit.errors import SocialCreditError
from socialcredit.languages import counted
from socialcredit.policy import LoadedPolicy
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.hooks import plugin_manager
from socialcredit.registry.scoring.catalogs import catalog_text
from socialcredit.registry.scoring.holds import DISPUTED_RECORDS
from socialcredit.registry.scoring.inputs import RunInputs, prepare_inputs
from socialcredit.registry.scoring.policies import parse_sent, publish_policy
from socialcredit.registry.scoring.runs import RunSummary, check_as_of, save_run
from socialcredit.sqltext import ident
from socialcredit.store import Store

__all__ = [
    "PSEUDONYM_KEY",
    "RESULTS_FORMAT",
    "RESULT_TABLES",
    "STAGE_OF",
    "build_spark_state",
    "empty_folder",
    "export_inputs",
    "publish_results",
    "score_on_spark",
]

RESULTS_FORMAT = "socialcredit-score-results"
RESULT_TABLES = ("results", "rule_points", "list_entries", "reasons")
PSEUDONYM_KEY = "export pseudonyms"  # the purpose of the key of an export's pseudonyms (Store.derived_key)
# The scoring state a Spark run built and read, next to its results (Parquet: subject_id, item, event_date, record_key,
# first_key; subject_id as in the input).
STATE_FOLDER = "state"
# Any date: the state does not depend on it (ScorePlan needs one).
_ANY_DATE = dt.date(2000, 1, 1)
# The stage of a run each results folder holds.
STAGE_OF = {
    "results": "sc_results",
    "rule_points": "sc_rule_points",
    "list_entries": "sc_list_entries",
    "reasons": "sc_reasons",
}


def empty_folder(out: Path) -> None:
    """Make ``out`` an empty folder for results; refuse a file, or a folder with anything in it."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SocialCreditError(f"{out} exists and is not an empty folder; choose a new --out")
    out.mkdir(parents=True, exist_ok=True)


def _hmac_sql(key: bytes, column: str) -> tuple[str, dict[str, object]]:
    """SQL for HMAC-SHA256 of the text ``column`` under ``key`` (64 hexadecimal digits), and its parameters."""
    block = key.ljust(64, b"\0")
    inner, outer = bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)
    return f"sha256($hmac_outer || unhex(sha256($hmac_inner || encode({column}))))", {
        "hmac_inner": inner,
        "hmac_outer": outer,
    }


def _fields_naming_subjects(store: Store, described: list[Any]) -> list[str]:
    """The records' columns that name a subject: those the store's catalog marks ``names_subject``, and those the
    shipped catalog marks (a store's catalog published before the mark existed names them without it)."""
    named = store.catalog.fields_naming_subjects() | load_catalog().fields_naming_subjects()
    return [str(row[0]) for row in described if str(row[0]) in named]


def export_inputs(store: Store, out: Path | str, *, actor: str = "cli", clear_ids: bool = False) -> dict[str, Any]:
    """Write what a score run reads, as of now (the watermark), as Parquet; returns the manifest.

    When the store has a key, subjects are named by keyed pseudonyms unless ``clear_ids`` (the manifest's ``ids``
    says which: "pseudonym" or "clear")."""
    out = Path(out)
    empty_folder(out)
    # What today decides (disputes past their deadline lapse) is read by the export, as a run of the store's own
    # engine reads it (``run_starting``): a run elsewhere on this export counts no record a run here would not.
    plugin_manager().hook.run_starting(store=store, as_of=resolve_today())
    watermark = int(store.one("SELECT value FROM counters WHERE name = 'seq'"))
    categories = list(store.catalog.categories)
    key = None if clear_ids else store.derived_key(PSEUDONYM_KEY)
    with prepare_inputs(store, None, watermark, categories=categories) as inputs:
        subjects_to: dict[str, object] = {"path": str(out / "subjects.parquet")}
        columns = "*"
        if key is not None:
            pseudonym, params = _hmac_sql(key, "sid")
            columns, subjects_to = f"* REPLACE ({pseudonym} AS sid)", {**subjects_to, **params}
        inputs.execute(f"COPY (SELECT {columns} FROM sc_subjects) TO $path (FORMAT parquet)", subjects_to)
        records_to: dict[str, object] = {"path": str(out / "records"), "w": watermark}
        record_columns = "*"
        if key is not None:
            # a field that names a subject (a role's organisation, an employer) names it as the subjects file does:
            # by its pseudonym, so a relation joins on the export as in the store and no code ties a pseudonym to a firm
            named = _fields_naming_subjects(store, inputs.execute("DESCRIBE sc_records").fetchall())
            if named:
                _, params = _hmac_sql(key, "sid")
                replaced = ", ".join(f"{_hmac_sql(key, ident(f))[0]} AS {ident(f)}" for f in named)
                record_columns, records_to = f"* REPLACE ({replaced})", {**records_to, **params}
        # Whether a record under an open dispute counts is the policy's to say (disputes.counts_while_open): the export
        # holds every policy's records, each marked (``_disputed``), and a run on it leaves out what its policy holds.
        inputs.execute(
            f"COPY (SELECT {record_columns}, record_key IN ({DISPUTED_RECORDS}) AS {DISPUTED_COLUMN} FROM sc_records) "
            "TO $path "
            "(FORMAT parquet, PARTITION_BY (record_type), OVERWRITE_OR_IGNORE)",
            records_to,
        )
        subjects, records = inputs.count("sc_subjects"), inputs.count("sc_records")
    manifest = {
        "format": EXPORT_FORMAT,
        "version": 1,
        "store_id": store.store_id,
        # the store's catalog version when exported: the record types and fields the records carry
        "catalog_version": store.catalog_version,
        "watermark": watermark,
        "categories": categories,
        "subjects": subjects,
        "records": records,
        "ids": "clear" if key is None else "pseudonym",
        "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    # the catalog the records were written under: `score --input` reads their record types and fields with it
    (out / "catalog.yaml").write_text(catalog_text(store)[1], "utf-8")
    with store.transaction():
        append_audit(
            store, actor, "export", None, {k: manifest[k] for k in ("watermark", "subjects", "records", "ids")}
        )
    return manifest


def build_spark_state(backend: SparkBackend, loaded: LoadedPolicy, folder: Path | str) -> int:
    """Build the scoring state of ``loaded`` from the session's ``sc_records`` (the rows the store keeps,
    registry/scoring/state.py, by the same compiled SQL), write it to ``folder`` as Parquet and read it back as the
    persisted view ``sc_state``; returns its number of rows.

    Read back from its files, the state is one scan to plan in every rule's statement; kept as a view of its query
    (one scan of the records per item), planning the stages took longer than computing them."""
    plan = ScorePlan(loaded, as_of=_ANY_DATE, dialect=backend.dialect)
    backend.materialize("sc_state", plan.state_matches(), through=str(folder), copy=False)
    return backend.count("sc_state")


def score_on_spark(
    folder: Path | str,
    loaded: LoadedPolicy,
    as_of: dt.date,
    out: Path | str,
    *,
    master: str = "local[2]",
    session: Any = None,
    from_records: bool = False,
) -> dict[str, Any]:
    """Score the inputs in ``folder`` (an export or a generated population) on Spark; write results to ``out``.

    The stages read the scoring state, built first from the inputs' records (:func:`build_spark_state`, into
    ``out/state``), unless ``from_records`` is set: then they read the records. Both give the same results."""
    check_as_of(as_of)
    out = Path(out)
    empty_folder(out)
    started = time.perf_counter()
    spark = session if session is not None else spark_session(master)
    source = read_inputs(
        spark, folder, loaded.policy.consent.categories, counts_disputed=loaded.policy.disputes.counts_while_open
    )
    backend = SparkBackend(spark)
    plan = ScorePlan(loaded, as_of=as_of, dialect=backend.dialect, source="records" if from_records else "state")
    state_rows = None
    try:
        if plan.source == "state":
            state_rows = build_spark_state(backend, loaded, out / STATE_FOLDER)
            if plan.has_relations():  # the role records beside the state, as the store reads them (inputs.py)
                backend.materialize("sc_role_records", plan.relation_records(), copy=False)
        for name, query in plan.stages(only_affected=False):  # fresh trees, each printed once
            backend.materialize(name, query, copy=False)
        counts = {}
        for table in RESULT_TABLES:
            frame = backend.sql(
                f"SELECT s.sid, x.* FROM {STAGE_OF[table]} x JOIN sc_subjects s ON s.subject_id = x.subject_id"
            )
            frame.write.mode("overwrite").parquet(str(out / table))
            counts[table] = backend.count(STAGE_OF[table])
        lists = {
            str(r[0]): int(r[1])
            for r in backend.sql(
                "SELECT list_id, count(DISTINCT subject_id) FROM sc_list_entries GROUP BY list_id"
            ).collect()
        }
    finally:
        backend.release()
    manifest = {
        "format": RESULTS_FORMAT,
        "version": 1,
        "engine": "spark",
        "master": master if session is None else spark.sparkContext.master,
        "spark": spark.version,
        "policy_id": loaded.policy.id,
        "policy_version": loaded.policy.version,
        "policy_sha256": loaded.sha256,
        "policy_text": loaded.text,
        "as_of": as_of.isoformat(),
        "input": source,
        "source": plan.source,
        "state_rows": state_rows,
        "counts": counts,
        "lists": lists,
        "seconds": round(time.perf_counter() - started, 3),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return manifest


def _read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / "manifest.json"
    if not path.is_file():
        raise SocialCreditError(f"{folder}: no manifest.json; is this the --out folder of `score --engine spark`?")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text("utf-8"))
    except ValueError as exc:
        raise SocialCreditError(f"{path}: not valid JSON ({exc})") from None
    except RecursionError:  # (an internal error, exit 3)
        raise SocialCreditError(f"{path}: not score results (JSON nested deeper than the parser follows)") from None
    if manifest.get("format") != RESULTS_FORMAT:
        raise SocialCreditError(f"{path}: not score results (format {manifest.get('format')!r})")
    return manifest


def _parquet_view(path: Path) -> exp.Query:
    """The rows of the Parquet files ``path`` (a glob) without their ``sid`` column; the path is a literal, since a
    view cannot take parameters."""
    query = sqlglot.parse_one("SELECT * EXCLUDE (sid) FROM read_parquet($path)", read="duckdb")
    out = exp.replace_placeholders(query, path=str(path))
    assert isinstance(out, exp.Query)
    return out


def _expected_sid(store: Store, folder: Path, ids: str) -> tuple[str, dict[str, object]]:
    """SQL for what the results should call the store's subject ``k.subject_id``: its identity number, or its
    pseudonym in this store's export."""
    if ids == "clear":
        return "k.subject_id", {}
    key = store.derived_key(PSEUDONYM_KEY)
    if ids != "pseudonym" or key is None:
        raise SocialCreditError(f"{folder}: these results name subjects by pseudonyms this store cannot check")
    return _hmac_sql(key, "k.subject_id")


def publish_results(store: Store, folder: Path | str, *, actor: str = "cli") -> RunSummary:
    """Load results written by :func:`score_on_spark` into the store as a run."""
    folder = Path(folder)
    manifest = _read_manifest(folder)
    source = manifest.get("input", {})
    if source.get("kind") != "export":
        raise SocialCreditError(
            f"{folder}: these results were computed from a generated population, not from this registry's data; "
            "export the registry (`socialcredit export --format parquet`) and score the export"
        )
    if source.get("store_id") != store.store_id:
        raise SocialCreditError(f"{folder}: these results were computed from another store's export")
    watermark = int(source["watermark"])
    if watermark > int(store.one("SELECT value FROM counters WHERE name = 'seq'")):
        raise SocialCreditError(f"{folder}: the export is newer than this store (watermark {watermark})")
    loaded = parse_sent(store, manifest["policy_text"], f"{folder}/manifest.json")
    if loaded.sha256 != manifest["policy_sha256"]:
        raise SocialCreditError(f"{folder}/manifest.json: the policy text does not match its hash")
    publish_policy(store, loaded, actor)
    missing = [t for t in RESULT_TABLES if not (folder / t).is_dir()]
    if missing:
        raise SocialCreditError(f"{folder}: missing {', '.join(missing)}")
    as_of = dt.date.fromisoformat(manifest["as_of"])
    try:
        with RunInputs(store) as inputs:
            for table in RESULT_TABLES[:3]:
                inputs.create(STAGE_OF[table], _parquet_view(folder / table / "*.parquet"), view=True)
            results = {"path": str(folder / "results" / "*.parquet")}
            expected, params = _expected_sid(store, folder, str(source.get("ids", "clear")))
            wrong = int(
                inputs.execute(
                    "SELECT count(*) FROM (SELECT DISTINCT subject_id, sid FROM read_parquet($path)) s "
                    f"LEFT JOIN subject_keys k ON k.subject_key = s.subject_id WHERE {expected} IS DISTINCT FROM s.sid",
                    {**results, **params},
                ).fetchone()[0]  # type: ignore[index]
            )
            if wrong:
                said = f"{folder}: {counted(wrong, 'subject')} of the results "
                said += f"{'does' if wrong == 1 else 'do'} not match this store's subjects"
                if params and store.one("SELECT count(*) FROM audit_log WHERE action = 'store_key_rotated'"):
                    # pseudonyms are keyed by the store's key: a rotation's new key gives others
                    said += (
                        ": the store's key was rotated (`socialcredit store rotate-key`), and an export made before "
                        "names its subjects by the old key's pseudonyms; export again and score that export"
                    )
                raise SocialCreditError(said)
            # every result's subject is this store's: named by its identity number again, as a run's rows are
            inputs.create(
                "sc_subjects",
                "SELECT DISTINCT s.subject_id, k.subject_id AS sid FROM read_parquet($path) s "
                "JOIN subject_keys k ON k.subject_key = s.subject_id",
                results,
            )
            return save_run(
                store,
                loaded,
                as_of,
                watermark,
                inputs=inputs,
                mode="full",
                base_run_id=None,
                rescored=None,
                engine=str(manifest.get("engine", "spark")),
                actor=actor,
                detail={"master": manifest.get("master"), "published_from": str(folder)},
                source=str(manifest.get("source", "records")),
            )
    except duckdb.Error as exc:
        raise SocialCreditError(f"{folder}: cannot read the results: {str(exc).splitlines()[0]}") from None
