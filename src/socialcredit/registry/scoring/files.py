"""Score runs straight from files: a generated population or a registry export, scored by DuckDB in memory.

For what-if work (a changed policy, edited records) and for checking a Spark run: the same compiled stages as a run
of the store, on the same relations, read from the Parquet files by ``socialcredit.backends.files`` (as Spark reads
them). Nothing is ingested and no store is opened: the results are returned as a summary and, with ``out``, written
as Parquet in the layout of a Spark run's results (``results/``, ``rule_points/``, ``list_entries/``, ``reasons/``,
``manifest.json``), which ``publish`` reads like a Spark run's when they were computed from an export.

>>> manifest = score_files("population", builtin_policy("beijing"), dt.date(2026, 11, 1), out="run")  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import sqlglot.expressions as exp

from socialcredit.backends.duckdb import DuckDBBackend
from socialcredit.backends.files import InputFiles, input_files
from socialcredit.catalog import load_catalog
from socialcredit.compiler import ScorePlan
from socialcredit.errors import InvalidRequestError, StoreError
from socialcredit.policy import LoadedPolicy
from socialcredit.registry.relations import OwnedRelations
from socialcredit.registry.scoring.export import RESULT_TABLES, RESULTS_FORMAT, STAGE_OF, empty_folder
from socialcredit.registry.scoring.inputs import RELATIONS
from socialcredit.registry.scoring.runs import check_as_of
from socialcredit.sqltext import lit
from socialcredit.store import MEMORY_ENV, Store

__all__ = ["score_files"]

Progress = Callable[[str, int, int], None]

# One row per subject and table of the results, as Spark writes them: the identifier first, then the stage's row.
_WRITE = (
    "COPY (SELECT s.sid, x.* FROM {stage} AS x JOIN sc_subjects AS s ON s.subject_id = x.subject_id "
    "ORDER BY s.sid) TO $path (FORMAT parquet)"
)
# Quartiles interpolated between the two scores around them (the median of an even count is the mean of the middle
# two: of 70 85 100 100 100 115 115 130 145 160, 107.5, not the lower 100), as a spreadsheet's QUARTILE gives them.
_BY_KIND = """
SELECT kind, count(*) AS subjects, min(score) AS min, quantile_cont(score, 0.25) AS p25,
       quantile_cont(score, 0.5) AS median, quantile_cont(score, 0.75) AS p75, max(score) AS max,
       round(avg(score), 1) AS mean
FROM sc_results GROUP BY kind ORDER BY kind
"""
_TIERS = "SELECT kind, tier, count(*) AS n FROM sc_results GROUP BY kind, tier"
_LISTS = "SELECT list_id, count(DISTINCT subject_id) AS n FROM sc_list_entries GROUP BY list_id ORDER BY list_id"


def score_files(
    folder: Path | str,
    loaded: LoadedPolicy,
    as_of: dt.date,
    out: Path | str | None = None,
    *,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Score the files in ``folder`` (an export or a generated population) under ``loaded`` as of ``as_of`` on an
    in-memory DuckDB; write the results to ``out`` if given. Returns the run's manifest, with a ``summary``: subjects,
    scores per kind (quartiles, mean), tiers per kind and list sizes."""
    check_as_of(as_of)
    step = progress or (lambda _s, _d, _t: None)
    started = time.perf_counter()
    step("reading", 0, 1)
    files = input_files(
        folder, loaded.policy.consent.categories, counts_disputed=loaded.policy.disputes.counts_while_open
    )
    target = Path(out) if out is not None else None
    if target is not None:
        empty_folder(target)
    plan = ScorePlan(loaded, as_of=as_of)
    stages = plan.stages()
    with _in_memory() as scratch, OwnedRelations(scratch, RELATIONS | files.relations) as rel:
        _read(rel, files)
        backend = DuckDBBackend(scratch)
        for i, (name, query) in enumerate(stages):
            step(name, i + 1, len(stages) + 2)
            rel.materialize(backend, name, query)
        step("summary", len(stages) + 1, len(stages) + 2)
        counts = {table: rel.count(STAGE_OF[table]) for table in RESULT_TABLES}
        summary = _summary(rel, loaded)
        if target is not None:
            step("writing", len(stages) + 2, len(stages) + 2)
            for table in RESULT_TABLES:
                (target / table).mkdir()
                path = target / table / "part-00000.parquet"
                rel.execute(_WRITE.format(stage=STAGE_OF[table]), {"path": str(path)})
    manifest = {
        "format": RESULTS_FORMAT,
        "version": 1,
        "engine": "duckdb",
        "duckdb": duckdb.__version__,
        "policy_id": loaded.policy.id,
        "policy_version": loaded.policy.version,
        "policy_sha256": loaded.sha256,
        "policy_text": loaded.text,
        "as_of": as_of.isoformat(),
        "input": files.info,
        "counts": counts,
        "lists": summary["lists"],
        "summary": summary,
        "seconds": round(time.perf_counter() - started, 3),
    }
    if target is not None:
        text = json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n"
        (target / "manifest.json").write_text(text, "utf-8")
    return manifest


@contextmanager
def _in_memory() -> Iterator[Store]:
    """A DuckDB of its own, in memory (no registry in it): work that does not fit spills to a temporary folder of
    its own, and $SOCIALCREDIT_MEMORY_LIMIT caps its memory as it caps the store's."""
    from socialcredit.settings import get_settings

    limit = get_settings().memory_limit
    with tempfile.TemporaryDirectory(prefix="socialcredit-score-") as spill:
        con = duckdb.connect(":memory:")
        try:
            con.execute(f"SET temp_directory = {lit(spill)}")
            if limit:
                try:
                    con.execute(f"SET memory_limit = {lit(limit)}")
                except duckdb.Error:
                    raise StoreError(f"{MEMORY_ENV}={limit!r} is not a memory size such as 12GB") from None
            yield Store(path=Path(":memory:"), con=con, encrypted=False, catalog=load_catalog())
        finally:
            con.close()


def _read(rel: OwnedRelations, files: InputFiles) -> None:
    """The files' relations (views over the Parquet files), ``sc_subjects`` (a table), ``sc_records`` (a view: each
    rule's query reads only what it needs), then the checks of the files' consistency."""
    try:
        for source in files.sources:
            paths = exp.Array(expressions=[exp.Literal.string(str(p)) for p in source.files])
            read = exp.func(
                "read_parquet",
                paths,
                exp.EQ(this=exp.column("union_by_name"), expression=exp.true()),
                exp.EQ(this=exp.column("hive_partitioning"), expression=exp.false()),
            )
            rel.create(source.name, exp.select("*").from_(read), view=True)
        rel.create("sc_subjects", files.subjects)
        rel.create("sc_records", files.records, view=True)
        for check, message in files.checks:
            row = rel.execute(check).fetchone()
            if row is not None:
                raise InvalidRequestError(message.format(*row), field="input")
    except duckdb.Error as exc:
        raise InvalidRequestError(
            f"{files.folder}: cannot read the files: {str(exc).splitlines()[0]}", field="input"
        ) from None


def _summary(rel: OwnedRelations, loaded: LoadedPolicy) -> dict[str, Any]:
    ranks = {t.id: i for i, t in enumerate(sorted(loaded.policy.tiers, key=lambda t: -t.min))}
    tiers: dict[str, dict[str, int]] = {}
    for r in sorted(rel.rows(_TIERS), key=lambda r: (r["kind"], ranks.get(r["tier"], len(ranks)))):
        tiers.setdefault(str(r["kind"]), {})[str(r["tier"])] = int(r["n"])
    kinds = [
        {
            **r,
            **{q: _number(r[q]) for q in ("p25", "median", "p75")},
            "mean": float(r["mean"]),
            "tiers": tiers.get(str(r["kind"]), {}),
        }
        for r in rel.rows(_BY_KIND)
    ]
    return {
        "subjects": sum(int(k["subjects"]) for k in kinds),
        "kinds": kinds,
        "lists": {str(r["list_id"]): int(r["n"]) for r in rel.rows(_LISTS)},
    }


def _number(value: Any) -> int | float:
    """A quartile as it reads: a whole number as an integer (1006, not 1006.0), else as it is (107.5, 126.25)."""
    number = float(value)
    return int(number) if number.is_integer() else number
