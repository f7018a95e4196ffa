"""The Spark backend: score-run stages become cached temporary views of a Spark session.

PySpark is imported only here and only when a Spark run is asked for (``pip install 'socialcredit[spark]'``);
the rest of the package imports and works without it. The SQL is the compiler's, printed in the Spark dialect;
only the execution seam (this module) and the reading of inputs differ from DuckDB.

Inputs are read from Parquet: a registry export or the generator's output, in the layouts (and with the SQL) of
``socialcredit.backends.files``.
"""

from __future__ import annotations

import logging
import os
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlglot.expressions as exp

from socialcredit.backends.files import EXPORT_FORMAT, input_files
from socialcredit.compiler.dialects import SparkDialect
from socialcredit.errors import BackendError, InvalidRequestError, SparkUnavailableError
from socialcredit.settings import get_settings

if TYPE_CHECKING:  # pragma: no cover - types only
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["EXPORT_FORMAT", "SparkBackend", "read_inputs", "spark_session", "submit_args"]

log = logging.getLogger(__name__)


def _pyspark() -> Any:
    try:
        import pyspark.sql
    except ImportError:
        raise SparkUnavailableError(
            "the spark engine needs PySpark: pip install 'socialcredit[spark]' (and Java 17 or newer)"
        ) from None
    return pyspark.sql


def submit_args(java_options: str = "") -> str:
    """PySpark's submit arguments (``$PYSPARK_SUBMIT_ARGS``) for a driver JVM started by this process: Spark's own
    log lines quietened by our log4j2 settings, then ``java_options`` (further options of the driver's JVM)."""
    log4j = Path(__file__).with_name("log4j2.properties")
    options = f"-Dlog4j2.configurationFile=file:{log4j} {java_options}".strip()
    return f"--driver-java-options {shlex.quote(options)} pyspark-shell"


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
    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", submit_args())
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
        # Each view materialize kept, with its rows as counted by the job that persisted it: counting a persisted
        # view again is another Spark job (about 0.15 s each on a small run, five a run).
        self._cached: dict[str, tuple[DataFrame, int]] = {}

    def sql(self, text: str) -> DataFrame:
        try:
            return self.spark.sql(text)
        except Exception as exc:
            raise BackendError(f"Spark could not run a statement: {str(exc).splitlines()[0]}", text) from None

    def materialize(self, name: str, query: exp.Query, *, through: str | None = None, copy: bool = True) -> None:
        """Keep the rows of ``query`` as the temporary view ``name``, persisted.

        With ``through`` (a folder Spark can write), the rows are first written there as Parquet and the view reads
        them back. Spark plans a statement with the whole lineage of the views it reads: a relation that many later
        statements read several times each (the scoring state, read by every rule) is cheaper to plan as one scan
        of its files than as its query. ``copy=False``: the caller owns the tree and gives it up (see Dialect.sql).
        """
        from pyspark import StorageLevel

        text = self.dialect.sql(query, copy=copy)
        log.debug("%s", text)
        frame = self.sql(text)
        try:
            if through is not None:
                frame.write.parquet(through)
                frame = self.spark.read.parquet(through)
            frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
            rows = int(frame.count())  # compute it now, once
        except Exception as exc:
            raise BackendError(f"Spark could not build {name}: {str(exc).splitlines()[0]}", text) from None
        old = self._cached.pop(name, None)
        frame.createOrReplaceTempView(name)
        if old is not None:
            old[0].unpersist()
        self._cached[name] = (frame, rows)

    def count(self, name: str) -> int:
        """Rows of the view ``name``: as counted when materialize kept it, else counted now."""
        if name in self._cached:
            return self._cached[name][1]
        return int(self.spark.table(name).count())

    def release(self) -> None:
        for frame, _ in self._cached.values():
            frame.unpersist()
        self._cached.clear()


def read_inputs(
    spark: SparkSession, folder: Path | str, categories: Sequence[str], *, counts_disputed: bool = True
) -> dict[str, Any]:
    """Register views ``sc_records`` and ``sc_subjects`` from ``folder``; return what was read (for the manifest).

    The layout, the checks of the files and the SQL are ``socialcredit.backends.files``' (DuckDB scores files with
    the same); Spark reads the files of each source as one view. ``counts_disputed``: the policy's
    ``disputes.counts_while_open`` (false: an export's records under an open dispute are left out).
    """
    files = input_files(folder, categories, counts_disputed=counts_disputed)
    for source in files.sources:
        reader = spark.read if source.uniform else spark.read.option("mergeSchema", "true")
        reader.parquet(*(str(p) for p in source.files)).createOrReplaceTempView(source.name)
    dialect = SparkDialect()
    for name, query in (("sc_subjects", files.subjects), ("sc_records", files.records)):
        text = dialect.sql(query)
        try:
            spark.sql(text).createOrReplaceTempView(name)
        except Exception as exc:
            raise BackendError(f"Spark could not read {folder}: {str(exc).splitlines()[0]}", text) from None
    # The files' consistency, checked as `score --input` checks it (the same queries, in Spark's dialect): files
    # that ingest would refuse do not score.
    for check, message in files.checks:
        text = dialect.sql(check)
        try:
            rows = spark.sql(text).limit(1).collect()
        except Exception as exc:
            raise BackendError(f"Spark could not read {folder}: {str(exc).splitlines()[0]}", text) from None
        if rows:
            raise InvalidRequestError(message.format(*rows[0]), field="input")
    return files.info
