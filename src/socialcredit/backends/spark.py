"""The Spark backend: score-run stages become cached temporary views of a Spark session.

PySpark is imported only here and only when a Spark run is asked for (``pip install 'socialcredit[spark]'``);
the rest of the package imports and works without it. The SQL is the compiler's, printed in the Spark dialect;
only the execution seam (this module) and the reading of inputs differ from DuckDB.

Inputs are read from Parquet in one of two layouts:

* a registry export (``socialcredit export --format parquet``): ``manifest.json``, ``subjects.parquet`` with the
  run's subject table (``subject_id`` is the registry's integer key, ``sid`` the identifier, consent columns) and
  ``records/record_type=<type>/*.parquet`` with the counting version of every record;
* the generator's output (``socialcredit generate``): ``subjects/*.parquet``, ``records/<source>/*.parquet``,
  ``consents.parquet``; every record counts, and the identifier itself is the subject key.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlglot.expressions as exp

from socialcredit.catalog import load_catalog
from socialcredit.compiler.dialects import SparkDialect
from socialcredit.errors import BackendError, SocialCreditError, SparkUnavailableError
from socialcredit.settings import get_settings

if TYPE_CHECKING:  # pragma: no cover - types only
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["EXPORT_FORMAT", "SparkBackend", "read_inputs", "spark_session"]

log = logging.getLogger(__name__)

EXPORT_FORMAT = "socialcredit-score-input"
_SPARK_TYPES = {"string": "STRING", "integer": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN", "date": "DATE"}


def _pyspark() -> Any:
    try:
        import pyspark.sql
    except ImportError:
        raise SparkUnavailableError(
            "the spark engine needs PySpark: pip install 'socialcredit[spark]' (and Java 17 or newer)"
        ) from None
    return pyspark.sql


def spark_session(master: str = "local[2]", conf: dict[str, str] | None = None) -> SparkSession:
    """A Spark session for score runs (created once per process, then shared).

    Any master URL works (``local[N]``, ``spark://host:7077``, ``yarn``, ``k8s://…``). For a local master the
    driver binds to 127.0.0.1 only; on a cluster the deployment decides. The session time zone is UTC so
    dates mean the same on every executor.
    """
    sql = _pyspark()
    builder = sql.SparkSession.builder.master(master).appName("socialcredit")
    settings = {
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": "8" if master.startswith("local") else "200",
        "spark.sql.adaptive.enabled": "true",
        "spark.driver.memory": get_settings().spark_driver_memory,
    }
    # Spark's own log lines (errors reach the user as our messages): set before the JVM starts.
    log4j = Path(__file__).with_name("log4j2.properties")
    os.environ.setdefault(
        "PYSPARK_SUBMIT_ARGS", f"--driver-java-options -Dlog4j2.configurationFile=file:{log4j} pyspark-shell"
    )
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        settings["spark.driver.host"] = "127.0.0.1"
        settings["spark.driver.bindAddress"] = "127.0.0.1"
    settings.update(conf or {})
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        session: SparkSession = builder.getOrCreate()
    except Exception as exc:  # the JVM did not start: no Java, or a bad master URL
        raise SparkUnavailableError(f"cannot start Spark with master {master!r}: {str(exc).splitlines()[0]}") from None
    session.sparkContext.setLogLevel("OFF")
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):  # PySpark logs every failed query
        logging.getLogger(name).disabled = True
    return session


class SparkBackend:
    """Materialise each stage as a persisted (memory, then disk) temporary view."""

    name = "spark"

    def __init__(self, session: SparkSession) -> None:
        self.spark = session
        self.dialect = SparkDialect()
        self._cached: dict[str, DataFrame] = {}

    def sql(self, text: str) -> DataFrame:
        try:
            return self.spark.sql(text)
        except Exception as exc:
            raise BackendError(f"Spark could not run a statement: {str(exc).splitlines()[0]}", text) from None

    def materialize(self, name: str, query: exp.Query, *, through: str | None = None) -> None:
        """Keep the rows of ``query`` as the temporary view ``name``, persisted.

        With ``through`` (a folder Spark can write), the rows are first written there as Parquet and the view reads
        them back. Spark plans a statement with the whole lineage of the views it reads: a relation that many later
        statements read several times each (the scoring state, read by every rule) is cheaper to plan as one scan
        of its files than as its query.
        """
        from pyspark import StorageLevel

        text = self.dialect.sql(query)
        log.debug("%s", text)
        frame = self.sql(text)
        try:
            if through is not None:
                frame.write.parquet(through)
                frame = self.spark.read.parquet(through)
            frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
            frame.count()  # compute it now, once
        except Exception as exc:
            raise BackendError(f"Spark could not build {name}: {str(exc).splitlines()[0]}", text) from None
        old = self._cached.pop(name, None)
        frame.createOrReplaceTempView(name)
        if old is not None:
            old.unpersist()
        self._cached[name] = frame

    def count(self, name: str) -> int:
        return int(self.spark.table(name).count())

    def release(self) -> None:
        for frame in self._cached.values():
            frame.unpersist()
        self._cached.clear()


def _field_select(present: Sequence[str]) -> str:
    """Every catalog field column, typed; NULL where the files have no such column."""
    parts = []
    for name, ftype in load_catalog().field_columns().items():
        typ = _SPARK_TYPES[ftype]
        parts.append(f"CAST({'`' + name + '`' if name in present else 'NULL'} AS {typ}) AS `{name}`")
    return ", ".join(parts)


def read_inputs(spark: SparkSession, folder: Path | str, categories: Sequence[str]) -> dict[str, Any]:
    """Register views ``sc_records`` and ``sc_subjects`` from ``folder``; return what was read (for the manifest)."""
    import json

    folder = Path(folder)
    manifest = folder / "manifest.json"
    if manifest.is_file():
        info = json.loads(manifest.read_text("utf-8"))
        if info.get("format") != EXPORT_FORMAT:
            raise SocialCreditError(f"{manifest}: not a registry export (format {info.get('format')!r})")
        missing = [c for c in categories if c not in info.get("categories", [])]
        if missing:
            raise SocialCreditError(f"{folder}: the export has no consent column for {', '.join(missing)}")
        subjects = spark.read.parquet(str(folder / "subjects.parquet"))
        subjects.createOrReplaceTempView("sc_subjects")
        records = spark.read.parquet(str(folder / "records"))
        records.createOrReplaceTempView("sc_export_records")
        spark.sql(
            "SELECT subject_id, record_key, record_type, event_date, "
            + _field_select(records.columns)
            + " FROM sc_export_records"
        ).createOrReplaceTempView("sc_records")
        return {"kind": "export", **{k: info[k] for k in ("store_id", "watermark", "subjects", "records")}}
    if (folder / "subjects").is_dir() and (folder / "records").is_dir():
        return _read_generated(spark, folder, categories)
    raise SocialCreditError(
        f"{folder}: neither a registry export (manifest.json) nor a generated population (subjects/, records/)"
    )


def _read_generated(spark: SparkSession, folder: Path, categories: Sequence[str]) -> dict[str, Any]:
    persons = [str(p) for p in sorted((folder / "subjects").glob("part-*.parquet"))]
    orgs = folder / "subjects" / "orgs.parquet"
    frames = []
    if persons:
        spark.read.parquet(*persons).createOrReplaceTempView("sc_gen_persons")
        frames.append(
            "SELECT subject_id, subject_id AS sid, 'person' AS kind, profession, "
            "to_date(substr(subject_id, 7, 8), 'yyyyMMdd') AS birth_date FROM sc_gen_persons"
        )
    if orgs.is_file():
        spark.read.parquet(str(orgs)).createOrReplaceTempView("sc_gen_orgs")
        frames.append(
            "SELECT subject_id, subject_id AS sid, 'org' AS kind, profession, CAST(NULL AS DATE) AS birth_date "
            "FROM sc_gen_orgs"
        )
    if not frames:
        raise SocialCreditError(f"{folder}/subjects: no part-*.parquet or orgs.parquet")
    spark.sql(" UNION ALL ".join(frames)).createOrReplaceTempView("sc_gen_subjects")
    consent_file = folder / "consents.parquet"
    if categories and consent_file.is_file():
        spark.read.parquet(str(consent_file)).createOrReplaceTempView("sc_gen_consents")
        pivot = ", ".join(
            f"coalesce(bool_or(c.granted) FILTER (WHERE c.category = '{c}'), false) AS consent_{c}" for c in categories
        )
        spark.sql(
            f"SELECT s.subject_id, first(s.sid) AS sid, first(s.kind) AS kind, first(s.profession) AS profession, "
            f"first(s.birth_date) AS birth_date, {pivot} FROM sc_gen_subjects s "
            "LEFT JOIN sc_gen_consents c ON c.subject_id = s.subject_id GROUP BY s.subject_id"
        ).createOrReplaceTempView("sc_subjects")
    else:
        cols = "".join(f", false AS consent_{c}" for c in categories)
        spark.sql(f"SELECT *{cols} FROM sc_gen_subjects").createOrReplaceTempView("sc_subjects")
    selects = []
    for i, source in enumerate(sorted(p for p in (folder / "records").iterdir() if p.is_dir())):
        files = [str(p) for p in sorted(source.glob("*.parquet"))]
        if not files:
            continue
        frame = spark.read.parquet(*files)
        view = f"sc_gen_records_{i}"
        frame.createOrReplaceTempView(view)
        selects.append(
            "SELECT subject_id, CAST(NULL AS BIGINT) AS record_key, record_type, CAST(event_date AS DATE) AS "
            f"event_date, {_field_select(frame.columns)} FROM {view}"
        )
    if not selects:
        raise SocialCreditError(f"{folder}/records: no records")
    spark.sql(" UNION ALL ".join(selects)).createOrReplaceTempView("sc_records")
    return {"kind": "generated", "folder": str(folder)}
