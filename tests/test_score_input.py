"""`socialcredit score --input DIR`: files scored in memory, as the console script runs it.

A generated population of 1 500 residents is loaded into a store and scored there under both shipped policies; the
same files, and the store's export, are scored with --input. Every subject's score, tier, rank, percentile, lists
and grants (and points, dimensions, rule points and reasons) are the same. Refusals are tested with their exact
messages and exit codes, and the store is shown to be neither created nor touched.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from scoring_helpers import days_before, open_registry, person, policy_text, tax
from socialcredit.generate import AS_OF, generate
from socialcredit.policy import builtin_policy, parse_policy
from socialcredit.registry.due_process.disputes import file_dispute
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.registry.records.population import load_population
from socialcredit.registry.scoring.export import export_inputs
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import score
from socialcredit.store import open_store
from store_copies import copied

CLI = str(Path(sys.executable).parent / "socialcredit")
RESIDENTS = 1_500
POLICIES = ("beijing", "sesame")
TOLERANCE = 1e-9
EXPECTED = (
    "a registry export (manifest.json, subjects.parquet, records/record_type=<type>/*.parquet) "
    "or a generated population (subjects/*.parquet, records/<source>/*.parquet)"
)


def cli(*args: object, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed console script; the registry's date is the generator's, so no record lies in the future."""
    base = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}
    base |= {"COLUMNS": "200", "SOCIALCREDIT_TODAY": AS_OF.isoformat()}
    return subprocess.run(
        [CLI, *map(str, args)], capture_output=True, text=True, env=base | (env or {}), cwd=cwd, check=False
    )


def ok(*args: object, **kw: Any) -> subprocess.CompletedProcess[str]:
    proc = cli(*args, **kw)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _build(folder: Path) -> None:
    """The population, a store it was loaded into (one run per policy, each summary in runs.json, as `score --json`
    prints it) and the store's export, in ``folder``: made through the registry's functions that `load`, `score` and
    `export` call on the registry's today AS_OF, as the console steps ran with SOCIALCREDIT_TODAY=AS_OF (what the
    tests check is `score --input`, run by the console script)."""
    generate(RESIDENTS, seed=5, out=folder / "population")
    runs = {}
    with open_store(folder / "store.duckdb", create=True, key="") as store:
        load_population(store, folder / "population", today=AS_OF)
        for policy in POLICIES:
            runs[policy] = score(store, resolve_policy(store, policy), AS_OF, today=AS_OF).as_dict()
        export_inputs(store, folder / "export")
    (folder / "runs.json").write_text(json.dumps(runs), encoding="utf-8")


def world_in(folder: Path) -> dict[str, Any]:
    """What _build makes, built once per process and copied into ``folder``: the population (``folder``), the
    store (``db``) and the summaries of its runs (``runs``). A Spark test takes its own copy rather than the module's
    ``world``: it shares no module-scoped fixture with the file's other tests, so only the Spark tests wait for the
    one worker that runs Spark (conftest.spark_scope), and the others run beside them."""
    copied(folder, "score-input", _build)
    runs = json.loads((folder / "runs.json").read_text(encoding="utf-8"))
    return {"folder": folder, "db": folder / "store.duckdb", "runs": runs}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The population, a store it was loaded into (one run per policy) and the store's export (see world_in)."""
    return world_in(tmp_path_factory.mktemp("score-input"))


@pytest.fixture(scope="module")
def scored(world: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``scored(source, policy_id)``: `score --input <world's source> --policy <policy_id> --as-of AS_OF --out OUT
    --json`, run by the console script once per module for each pair, and what it printed (parsed) and wrote (OUT).
    The tests that check those results and those that start from them (to change a score, to publish them) share one
    run; OUT is read only (copy it to change it)."""
    folder = tmp_path_factory.mktemp("scored")
    runs: dict[tuple[str, str], tuple[dict[str, Any], Path]] = {}

    def run(source: str, policy_id: str) -> tuple[dict[str, Any], Path]:
        if (source, policy_id) not in runs:
            out = folder / f"{source}-{policy_id}"
            args = ("--input", world["folder"] / source, "--policy", policy_id, "--as-of", AS_OF, "--out", out)
            runs[source, policy_id] = json.loads(ok("score", *args, "--json").stdout), out
        return runs[source, policy_id]

    return run


# -- comparing a run of the store with results written by --input ----------------------------------------------
def _store_rows(con: duckdb.DuckDBPyConnection, sql: str, run_id: int) -> list[tuple[Any, ...]]:
    return sorted(con.execute(sql, [run_id]).fetchall(), key=repr)


def _file_rows(con: duckdb.DuckDBPyConnection, sql: str, out: Path, table: str) -> list[tuple[Any, ...]]:
    return sorted(
        con.execute(sql.replace("$files", f"read_parquet('{out / table / '*.parquet'}')")).fetchall(), key=repr
    )


def _close(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= TOLERANCE
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _same(ours: list[tuple[Any, ...]], theirs: list[tuple[Any, ...]]) -> list[str]:
    """Rows that differ (beyond the tolerance on doubles), as text; empty when both lists agree."""
    if len(ours) != len(theirs):
        return [f"{len(ours)} rows in the store's run, {len(theirs)} in the files' results"]
    return [f"{a} != {b}" for a, b in zip(ours, theirs, strict=True) if not _close(list(a), list(b))][:5]


def compare(db: Path, run_id: int, out: Path, policy_id: str, *, record_keys: bool) -> dict[str, list[str]]:
    """Every table of the store's run ``run_id`` against the results in ``out``: what differs, per table."""
    loaded = builtin_policy(policy_id)
    dims = ", ".join(f"d_{d.id}" for d in loaded.policy.dimensions)
    flags = ", ".join(f"CASE WHEN l_{lst.id} THEN '{lst.id}' END" for lst in loaded.policy.lists)
    key = "record_key" if record_keys else "NULL"
    con = duckdb.connect()
    con.execute(f"ATTACH '{db}' AS store (READ_ONLY)")
    con.execute("USE store")
    try:
        pairs = {
            # one row per subject: score, tier, rank, percentile, lists, grants, and what they came from
            "results": (
                "SELECT subject_id, kind, profession, age, dims, total, score, tier, tier_rank, rank, percentile, "
                "last_negative, lists, grants FROM run_results WHERE run_id = ?",
                f"SELECT sid, kind, profession, age, [{dims}], total, score, tier, tier_rank, rank, percentile, "
                f"last_negative, list_filter([{flags}], x -> x IS NOT NULL), grants FROM $files",
            ),
            "list_entries": (
                f"SELECT subject_id, list_id, criterion_id, {key} FROM run_list_entries WHERE run_id = ?",
                f"SELECT sid, list_id, criterion_id, {key} FROM $files",
            ),
            "rule_points": (
                "SELECT subject_id, rule_id, points, hits, last_event FROM run_rule_points WHERE run_id = ?",
                "SELECT sid, rule_id, points, hits, last_event FROM $files",
            ),
            "reasons": (
                "SELECT subject_id, position, rule_id, points FROM run_reasons WHERE run_id = ?",
                "SELECT sid, position, rule_id, points FROM $files",
            ),
        }
        found = {}
        for table, (ours, theirs) in pairs.items():
            a, b = _store_rows(con, ours, run_id), _file_rows(con, theirs, out, table)
            assert a, f"no {table} in run {run_id}: the comparison would be vacuous"
            found[table] = _same(a, b)
        return {t: d for t, d in found.items() if d}
    finally:
        con.close()


@pytest.mark.parametrize("policy_id", POLICIES)
@pytest.mark.parametrize("source", ["population", "export"])
def test_files_score_as_the_store_does(world: dict[str, Any], scored: Any, source: str, policy_id: str) -> None:
    run = world["runs"][policy_id]
    manifest, out = scored(source, policy_id)
    assert manifest["engine"] == "duckdb"
    assert manifest["input"]["kind"] == ("generated" if source == "population" else "export")
    assert manifest["summary"]["subjects"] == run["subjects"]
    assert manifest["lists"] == run["list_counts"]
    assert sorted(p.name for p in out.iterdir()) == [
        "list_entries",
        "manifest.json",
        "reasons",
        "results",
        "rule_points",
    ]
    # an export carries the store's record keys; a generated population has none (as on Spark)
    assert compare(world["db"], run["run_id"], out, policy_id, record_keys=source == "export") == {}
    # not vacuous: people are listed under beijing, and scores spread over several tiers
    tiers = {t for kind in manifest["summary"]["kinds"] for t in kind["tiers"]}
    assert len(tiers) >= 3
    if policy_id == "beijing":
        assert manifest["lists"]["blacklist"] > 0


def test_the_comparison_catches_one_changed_score(world: dict[str, Any], scored: Any, tmp_path: Path) -> None:
    """compare() can fail: one subject's score changed in the files' results is seen."""
    out = tmp_path / "results"
    shutil.copytree(scored("export", "beijing")[1], out)  # the results test_files_score_as_the_store_does compares
    path = out / "results" / "part-00000.parquet"
    table = pq.read_table(path)
    scores = table.column("score").to_pylist()
    scores[7] += 1
    pq.write_table(table.set_column(table.schema.get_field_index("score"), "score", pa.array(scores, pa.int32())), path)
    found = compare(world["db"], world["runs"]["beijing"]["run_id"], out, "beijing", record_keys=True)
    assert list(found) == ["results"] and len(found["results"]) == 1


def test_summary_printed_for_people(world: dict[str, Any]) -> None:
    proc = ok("score", "--input", world["folder"] / "population", "--as-of", AS_OF)
    lines = proc.stdout.splitlines()
    blacklisted = world["runs"]["beijing"]["list_counts"]["blacklist"]
    assert lines[0].startswith(
        f"Scored {world['runs']['beijing']['subjects']} subjects of {world['folder'] / 'population'} "
        f"(a generated population) under beijing 2026.2 as of {AS_OF} in memory in "
    )
    assert lines[0].endswith(f" s; blacklist {blacklisted}; nothing written (--out DIR writes the results).")
    assert lines[1].split() == ["kind", "subjects", "min", "p25", "median", "p75", "max", "mean", "tiers"]
    assert [line.split()[:2] for line in lines[2:]] == [["org", str(RESIDENTS // 40)], ["person", str(RESIDENTS)]]
    # in Chinese under --lang zh: it was refused as a summary in English only
    zh = ok("score", "--input", world["folder"] / "population", "--as-of", AS_OF, "--lang", "zh").stdout.splitlines()
    assert zh[0].startswith(
        f"已在内存中按 beijing 2026.2（评分日期 {AS_OF}）为 {world['folder'] / 'population'}（生成的人口）的 "
        f"{world['runs']['beijing']['subjects']} 个主体评分，用时 "
    )
    assert zh[0].endswith(f" 秒；blacklist {blacklisted}；未写入任何文件（--out DIR 写入结果）。")
    assert zh[1].split() == ["类型", "主体数", "最低", "p25", "中位数", "p75", "最高", "平均", "等级"]
    assert [line.split()[:2] for line in zh[2:]] == [["org", str(RESIDENTS // 40)], ["person", str(RESIDENTS)]]
    spark = cli("score", "--engine", "spark", "--as-of", AS_OF, "--lang", "zh")
    assert (spark.returncode, spark.stderr.strip()) == (
        2,
        "错误：--engine spark 需要 --input（`socialcredit export` 或 `socialcredit generate` 生成的文件夹）和 --out",
    )


def test_results_of_an_export_publish_as_a_run_like_the_stores(
    world: dict[str, Any], scored: Any, tmp_path: Path
) -> None:
    """--out has the layout of a Spark run's results: `publish` loads those of an export as a run (engine duckdb),
    and that run equals the store's own in every column."""
    db = tmp_path / "copy.duckdb"
    shutil.copy(world["db"], db)
    out = tmp_path / "results"
    shutil.copytree(scored("export", "sesame")[1], out)  # `score --input <export> --policy sesame --out`
    published = json.loads(ok("publish", out, "--db", db, "--json").stdout)
    theirs, ours = published["run_id"], world["runs"]["sesame"]["run_id"]
    con = duckdb.connect()
    con.execute(f"ATTACH '{db}' AS store (READ_ONLY)")
    try:
        assert con.execute("SELECT engine FROM store.score_runs WHERE run_id = ?", [theirs]).fetchone() == ("duckdb",)
        for table in ("run_results", "run_list_entries", "run_rule_points", "run_reasons"):
            cols = [r[0] for r in con.execute(f"DESCRIBE store.{table}").fetchall() if r[0] != "run_id"]
            select = ", ".join(cols)
            rows = [
                sorted(con.execute(f"SELECT {select} FROM store.{table} WHERE run_id = ?", [r]).fetchall(), key=repr)
                for r in (ours, theirs)
            ]
            assert rows[0], table
            assert _same(rows[0], rows[1]) == [], table
    finally:
        con.close()


# -- versions ----------------------------------------------------------------------------------------------------
def _changed_and_scored(world: dict[str, Any], db: Path, changes: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """A copy of the world's store (the population loaded on AS_OF, as `load` loads it), sent ``changes`` from the
    courts and scored under beijing as of AS_OF on the registry's today AS_OF, through the functions `ingest` and
    `score` call (what is checked is `score --input` against this run): the batch's report and the run's summary,
    as `ingest --json` and `score --json` print them."""
    shutil.copy(world["db"], db)
    with open_store(db, key="") as store:
        report = ingest_file(store, changes, "courts", today=AS_OF).as_dict()
        run = score(store, resolve_policy(store, "beijing"), AS_OF, today=AS_OF).as_dict()
    return report, run


def test_records_that_carry_versions_count_as_the_stores_versions(world: dict[str, Any], tmp_path: Path) -> None:
    """A correction and a withdrawal: sent to a store through ingest, or written as version 2 in the files."""
    population = world["folder"] / "population"
    courts = pq.read_table(population / "records" / "courts" / "part-00000.parquet")
    defaulters = courts.filter(pc.and_(courts.column("defaulter"), pc.equal(courts.column("status"), "unfulfilled")))
    assert defaulters.num_rows >= 2
    changed = defaulters.slice(0, 2)
    corrected = changed.set_column(
        changed.schema.get_field_index("status"), "status", pa.array(["fulfilled", "unfulfilled"])
    )
    # the store: the population loaded, then a correction of the first judgment and a withdrawal of the second
    db = tmp_path / "store.duckdb"
    batch = corrected.append_column("correction", pa.array(["true", "false"])).append_column(
        "withdrawn", pa.array(["false", "true"])
    )
    pq.write_table(batch, tmp_path / "changes.parquet")
    report, run = _changed_and_scored(world, db, tmp_path / "changes.parquet")
    assert (report["accepted"], report["rejected"]) == (2, 0)
    # the files: the same population, whose courts' records carry versions (a row without one is version 1)
    files = tmp_path / "population"
    shutil.copytree(population, files)
    version2 = corrected.append_column("version", pa.array([2, 2])).append_column("withdrawn", pa.array([False, True]))
    pq.write_table(version2, files / "records" / "courts" / "part-00001.parquet")
    out = tmp_path / "results"
    manifest = json.loads(ok("score", "--input", files, "--as-of", AS_OF, "--out", out, "--json").stdout)
    assert compare(db, run["run_id"], out, "beijing", record_keys=False) == {}
    # the changes mattered: the judgment defaulters left the blacklist
    assert manifest["lists"] == run["list_counts"]
    assert run["list_counts"]["blacklist"] < world["runs"]["beijing"]["list_counts"]["blacklist"]


def _widened(ids: pa.Array) -> pa.Array:
    """Each id with its ASCII characters written full-width (``C-1`` as ``Ｃ－１``): the same record ids."""
    return pa.array(["".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in i) for i in ids.to_pylist()])


def test_files_fold_a_record_ids_width_as_the_store_does(world: dict[str, Any], tmp_path: Path) -> None:
    """A judgment's second version written with its id full-width is that judgment's version in the files as in the
    store (identifiers.fold_record_id): the defaulters leave the blacklist alike. Until the fold the files counted
    both versions, and the store refused the full-width id as a look-alike."""
    population = world["folder"] / "population"
    courts = pq.read_table(population / "records" / "courts" / "part-00000.parquet")
    defaulters = courts.filter(pc.and_(courts.column("defaulter"), pc.equal(courts.column("status"), "unfulfilled")))
    changed = defaulters.slice(0, 2)
    changed = changed.set_column(changed.schema.get_field_index("status"), "status", pa.array(["fulfilled"] * 2))
    twins = changed.set_column(
        changed.schema.get_field_index("record_id"), "record_id", _widened(changed.column("record_id").combine_chunks())
    )
    assert twins.column("record_id").to_pylist() != changed.column("record_id").to_pylist()
    db = tmp_path / "store.duckdb"
    pq.write_table(twins.append_column("correction", pa.array(["true", "true"])), tmp_path / "changes.parquet")
    report, run = _changed_and_scored(world, db, tmp_path / "changes.parquet")
    assert (report["accepted"], report["rejected"]) == (2, 0)
    files = tmp_path / "population"
    shutil.copytree(population, files)
    pq.write_table(
        twins.append_column("version", pa.array([2, 2])), files / "records" / "courts" / "part-00001.parquet"
    )
    out = tmp_path / "results"
    manifest = json.loads(ok("score", "--input", files, "--as-of", AS_OF, "--out", out, "--json").stdout)
    assert compare(db, run["run_id"], out, "beijing", record_keys=False) == {}
    assert manifest["lists"] == run["list_counts"]
    assert run["list_counts"]["blacklist"] < world["runs"]["beijing"]["list_counts"]["blacklist"]


# -- refusals ----------------------------------------------------------------------------------------------------
def _copy(world: dict[str, Any], tmp_path: Path, source: str) -> Path:
    folder = tmp_path / source
    shutil.copytree(world["folder"] / source, folder)
    return folder


def _refused(folder: Path, *extra: object) -> str:
    proc = cli("score", "--input", folder, "--as-of", AS_OF, *extra)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout == ""
    return proc.stderr


def test_an_empty_folder_is_refused(tmp_path: Path) -> None:
    assert _refused(tmp_path) == f"error: {tmp_path}: no Parquet files; expected {EXPECTED}\n"


def test_a_folder_of_neither_layout_is_refused(world: dict[str, Any], tmp_path: Path) -> None:
    shutil.copy(world["folder"] / "population" / "consents.parquet", tmp_path / "consents.parquet")
    assert _refused(tmp_path) == f"error: {tmp_path}: no manifest.json, subjects/ or records/; expected {EXPECTED}\n"
    missing = tmp_path / "half"
    (missing / "records").mkdir(parents=True)
    assert _refused(missing) == (
        f"error: {missing}: a generated population needs subjects/ and records/; missing subjects/\n"
    )
    assert _refused(tmp_path / "nowhere") == f"error: {tmp_path / 'nowhere'}: no such folder; expected {EXPECTED}\n"
    a_file = tmp_path / "consents.parquet"  # it exists: not "no such folder"
    assert _refused(a_file) == f"error: {a_file}: a file, not a folder; expected {EXPECTED}\n"


def test_a_file_that_is_not_parquet_is_refused(world: dict[str, Any], tmp_path: Path) -> None:
    folder = _copy(world, tmp_path, "population")
    notes = folder / "records" / "banks" / "notes.csv"
    notes.write_text("record_id,subject_id\n", encoding="utf-8")
    assert _refused(folder) == f"error: {notes}: not a Parquet file; records/<source>/ holds only Parquet files\n"
    notes.unlink()
    fake = folder / "records" / "banks" / "part-00000.parquet"
    fake.write_text("record_id,subject_id\nB-1,110105198003040015\n", encoding="utf-8")
    assert _refused(folder) == f"error: {fake}: not a Parquet file\n"


def test_a_missing_column_is_refused(world: dict[str, Any], tmp_path: Path) -> None:
    folder = _copy(world, tmp_path, "population")
    path = folder / "records" / "courts" / "part-00000.parquet"
    pq.write_table(pq.read_table(path).drop_columns(["event_date"]), path)
    assert _refused(folder) == (
        f"error: {path}: missing column event_date (the records of a generated population need subject_id, "
        "record_type, event_date)\n"
    )
    export = _copy(world, tmp_path, "export")
    subjects = export / "subjects.parquet"
    pq.write_table(pq.read_table(subjects).drop_columns(["sid", "consent_commercial"]), subjects)
    assert _refused(export, "--policy", "sesame") == (
        f"error: {subjects}: missing columns sid, consent_commercial (the subjects of an export need subject_id, "
        "sid, kind, profession, birth_date, consent_commercial)\n"
    )


def test_options_of_the_store_are_refused_with_input(world: dict[str, Any], tmp_path: Path) -> None:
    folder = world["folder"] / "population"
    for extra, named in (
        (["--incremental"], "--incremental"),
        (["--rerun", "1"], "--rerun"),
        (["--db", world["db"]], "--db"),
        (["--incremental", "--db", world["db"]], "--incremental or --db"),
    ):
        err = _refused(folder, *extra)
        assert err.splitlines()[-1] == (
            f"Error: Invalid value for --input: cannot be used with {named}: --input scores the files in memory, "
            "without a store"
        )
        assert err.startswith("Usage: socialcredit score [OPTIONS]")
    unknown = cli("score", "--input", folder, "--policy", "nope")
    assert (unknown.returncode, unknown.stderr) == (
        2,
        "error: no policy file 'nope' and no shipped policy of that id; without a store, give a shipped policy "
        "(beijing, sesame) or a policy file\n",
    )


# -- the store is left alone -------------------------------------------------------------------------------------
def _fingerprint(folder: Path) -> dict[str, tuple[str, int]]:
    return {
        p.name: (hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "", p.stat().st_mtime_ns)
        for p in sorted(folder.iterdir())
    }


def test_no_store_is_created(world: dict[str, Any], tmp_path: Path) -> None:
    """Without --db the store would be ./socialcredit.duckdb: nothing is created there, nor anything else."""
    ok("score", "--input", world["folder"] / "population", "--as-of", AS_OF, cwd=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_the_store_is_not_touched(world: dict[str, Any], tmp_path: Path) -> None:
    """With $SOCIALCREDIT_DB naming a store (not an option typed with --input), the store's folder is left as it
    was: the store file byte for byte, no write-ahead log, no spill folder."""
    db: Path = world["db"]
    before = _fingerprint(db.parent)
    ok("score", "--input", world["folder"] / "export", "--as-of", AS_OF, env={"SOCIALCREDIT_DB": str(db)})
    ok(
        "score",
        "--input",
        world["folder"] / "population",
        "--as-of",
        AS_OF,
        "--out",
        tmp_path / "results",
        env={"SOCIALCREDIT_DB": str(db)},
    )
    assert _fingerprint(db.parent) == before


# -- checking a Spark run ----------------------------------------------------------------------------------------
@pytest.mark.spark
@pytest.mark.parametrize("source", ["population", "export", "versioned"])
def test_spark_reads_the_files_as_input_does(tmp_path: Path, spark: Any, source: str) -> None:
    """Spark reads the folders through the same code (backends/files.py): its results and those of --input agree,
    file by file (decayed points within 1e-9), for a population, an export, and records that carry versions (some
    sent with their ids full-width)."""
    from socialcredit.registry.scoring.export import score_on_spark

    world = world_in(tmp_path / "world")
    folder = world["folder"] / source if source != "versioned" else _versioned(world, tmp_path)
    ok("score", "--input", folder, "--as-of", AS_OF, "--out", tmp_path / "duckdb")
    score_on_spark(folder, builtin_policy("beijing"), AS_OF, tmp_path / "spark", session=spark)
    con = duckdb.connect()
    try:
        for table, keys in (
            ("results", ["sid"]),
            ("rule_points", ["sid", "rule_id"]),
            ("list_entries", ["sid", "list_id", "criterion_id"]),
            ("reasons", ["sid", "position"]),
        ):
            rows = []
            for engine in ("duckdb", "spark"):
                files = f"read_parquet('{tmp_path / engine / table / '*.parquet'}')"
                cols = [str(r[0]) for r in con.execute(f"DESCRIBE SELECT * FROM {files}").fetchall()]
                select = ", ".join([*keys, *sorted(c for c in cols if c not in keys)])
                rows.append(sorted(con.execute(f"SELECT {select} FROM {files}").fetchall(), key=repr))
            assert rows[0], table
            assert _same(rows[0], rows[1]) == [], table
        if source == "versioned":
            # each of the four judgments was its subject's only one that blacklists: all four leave the list, the
            # two whose second version came full-width too (had an engine not folded the ids, they would stay)
            listed = world["runs"]["beijing"]["list_counts"]["blacklist"]
            for engine in ("duckdb", "spark"):
                files = f"read_parquet('{tmp_path / engine / 'list_entries' / '*.parquet'}')"
                blacklisted = con.execute(f"SELECT count(DISTINCT sid) FROM {files} WHERE list_id = 'blacklist'")
                assert blacklisted.fetchone() == (listed - 4,), engine
    finally:
        con.close()


def _versioned(world: dict[str, Any], tmp_path: Path) -> Path:
    """The population with a second version of four court judgments (two fulfilled, two withdrawn); the last two are
    sent with their ids full-width, which fold to the judgments' ids (identifiers.fold_record_id_sql, whose portable
    form, RLIKE and translate, Spark runs)."""
    folder = _copy(world, tmp_path, "population")
    courts = pq.read_table(folder / "records" / "courts" / "part-00000.parquet")
    listed = courts.filter(pc.and_(courts.column("defaulter"), pc.equal(courts.column("status"), "unfulfilled")))
    changed = listed.slice(0, 4)
    assert changed.num_rows == 4
    changed = changed.set_column(changed.schema.get_field_index("status"), "status", pa.array(["fulfilled"] * 4))
    ids = changed.column("record_id").combine_chunks()
    wide = pa.concat_arrays([ids.slice(0, 2), _widened(ids.slice(2, 2)).cast(ids.type)])
    assert wide.to_pylist()[2:] != ids.to_pylist()[2:]
    changed = changed.set_column(changed.schema.get_field_index("record_id"), "record_id", wide)
    changed = changed.append_column("version", pa.array([2] * 4)).append_column(
        "withdrawn", pa.array([False, True, False, True])
    )
    pq.write_table(changed, folder / "records" / "courts" / "part-00001.parquet")
    return folder


def test_the_summary_quartiles_are_interpolated_by_hand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lab world's ten scores (tests/lab_world.py) sorted: 70 85 100 100 100 115 115 130 145 160. The median of
    an even count is the mean of the middle two, (100 + 115) / 2 = 107.5 (it printed the lower one, 100); p25 lies
    at 0.25 · 9 = 2.25, between 100 and 100: 100; p75 at 6.75, between 115 and 130: 115 + 0.75 · 15 = 126.25."""
    from lab_world import AS_OF as LAB_AS_OF
    from lab_world import CURRENT, build

    reg = build(tmp_path)
    # the world's export, made in process by the function `export` calls, on the day the console steps run on
    monkeypatch.setenv("SOCIALCREDIT_TODAY", AS_OF.isoformat())
    export_inputs(reg.store, tmp_path / "export")
    reg.store.close()
    policy = tmp_path / "lab.yaml"
    policy.write_text(CURRENT, encoding="utf-8")
    args = ("score", "--input", tmp_path / "export", "--policy", policy, "--as-of", LAB_AS_OF)
    (person,) = json.loads(ok(*args, "--json").stdout)["summary"]["kinds"]
    assert {k: person[k] for k in ("subjects", "min", "p25", "median", "p75", "max", "mean")} == {
        "subjects": 10,
        "min": 70,
        "p25": 100,
        "median": 107.5,
        "p75": 126.25,
        "max": 160,
        "mean": 112.0,
    }
    row = ok(*args).stdout.splitlines()[2].split()
    assert row[:8] == ["person", "10", "70", "100", "107.5", "126.25", "160", "112.0"]


def test_records_of_a_subject_not_in_the_files_are_refused(world: dict[str, Any], tmp_path: Path) -> None:
    """Ingest refuses a record of a subject never registered; --input counted it (towards a list, even with no
    subject at all: "Scored 0 subjects …; blacklist 16")."""
    folder, gone = _without_subject(world, tmp_path)
    n, first = _records_of(folder / "records", gone)
    assert _refused(folder) == (
        f"error: {folder / 'records'}: subject {gone} has a {first} record but no row in {folder / 'subjects'} "
        f"({n} records of subjects not there); every record's subject must be registered (ingest refuses such a "
        "record)\n"
    )


def _records_of(records: Path, subject_id: str) -> tuple[int, str]:
    """How many records of ``subject_id`` the files hold, and the first of their record types."""
    types = []
    for path in sorted(records.glob("*/*.parquet")):
        t = pq.read_table(path, columns=["subject_id", "record_type"])
        mask = pc.equal(t.column("subject_id").cast(pa.string()), subject_id)
        types += [str(x) for x in t.filter(mask).column("record_type").to_pylist()]
    return len(types), min(types)


def _without_subject(world: dict[str, Any], tmp_path: Path) -> tuple[Path, str]:
    """The population with the first court judgment's subject taken out of the subjects."""
    folder = _copy(world, tmp_path, "population")
    courts = pq.read_table(folder / "records" / "courts" / "part-00000.parquet")
    gone = str(courts.column("subject_id")[0])
    persons = folder / "subjects" / "part-00000.parquet"
    table = pq.read_table(persons)
    pq.write_table(table.filter(pc.not_equal(table.column("subject_id").cast(pa.string()), gone)), persons)
    return folder, gone


@pytest.mark.spark
def test_spark_refuses_the_files_input_refuses(tmp_path: Path, spark: Any) -> None:
    """Spark read the files without their consistency checks: it scored records of a subject the files do not
    register (and a date out of the registry's range), where `score --input` refuses both; now it refuses them
    with the same messages, before writing anything."""
    from socialcredit.errors import InvalidRequestError, WorkflowError
    from socialcredit.registry.scoring.export import score_on_spark

    world = world_in(tmp_path / "world")
    folder, gone = _without_subject(world, tmp_path)
    _, first = _records_of(folder / "records", gone)
    message = _refused(folder).removeprefix("error: ").rstrip("\n")
    assert message.startswith(f"{folder / 'records'}: subject {gone} has a {first} record but no row")
    with pytest.raises(InvalidRequestError) as refused:
        score_on_spark(folder, builtin_policy("beijing"), AS_OF, tmp_path / "spark", session=spark)
    assert str(refused.value) == message
    assert not any((tmp_path / "spark").iterdir())
    with pytest.raises(WorkflowError, match=r"^as-of date 1989-12-31 is out of range: score as of a date from "):
        score_on_spark(
            world["folder"] / "population",
            builtin_policy("beijing"),
            dt.date(1989, 12, 31),
            tmp_path / "spark-early",
            session=spark,
        )
    assert not (tmp_path / "spark-early").exists()


# -- a record under an open dispute ------------------------------------------------------------------------------
_HELD_RULES = """\
- id: tax.late
  record_type: tax_payment
  when: "status == 'late'"
  dimension: money
  points: -10
  reason: {code: TAX_LATE, zh: 逾期纳税, en: taxes paid late}
"""


def test_a_record_under_an_open_dispute_counts_in_an_export_as_the_policy_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two persons each paid a tax late (-10 from a base of 100); one disputes it. Under a policy that does not count
    a disputed record while the dispute is open, the store scores them 100 and 90, and so does `score --input` on
    the store's export: the export marks the disputed record, and the run leaves it out. Before, the export held it
    as any other and the files scored both 90. Under a policy that counts it, both are 90 either way. An export that
    marks nothing (written before) is refused under the first policy, not scored as if nothing were disputed."""
    today = dt.date(2026, 1, 1)
    reg = open_registry(tmp_path, today)
    disputing, other = person(1), person(2)
    reg.register({disputing: "finance", other: "finance"})
    reg.send(
        "tax_bureau",
        [tax("T1", disputing, days_before(10), status="late"), tax("T2", other, days_before(10), status="late")],
    )
    file_dispute(reg.store, disputing, "tax_bureau", "T1", "I paid on time", today=today)
    files = {}
    for held in (True, False):
        text = policy_text(_HELD_RULES, policy_id="held" if held else "counted")
        text += f"disputes: {{counts_while_open: {str(not held).lower()}}}\n"
        files[held] = tmp_path / f"{'held' if held else 'counted'}.yaml"
        files[held].write_text(text, "utf-8")
        run = reg.score(parse_policy(text, str(files[held])), today)
        assert {s: r["score"] for s, r in reg.results(run.run_id).items()} == {
            disputing: 100 if held else 90,
            other: 90,
        }
    env = {"SOCIALCREDIT_TODAY": today.isoformat()}  # the dispute is open on that day
    # the store's export, made in process by the function `export` calls, on that day
    monkeypatch.setenv("SOCIALCREDIT_TODAY", today.isoformat())
    export_inputs(reg.store, tmp_path / "export")
    reg.store.close()
    for held, expected in ((True, {disputing: 100, other: 90}), (False, {disputing: 90, other: 90})):
        out = tmp_path / f"results-{held}"
        ok("score", "--input", tmp_path / "export", "--policy", files[held], "--as-of", today, "--out", out, env=env)
        scores = pq.read_table(out / "results", columns=["sid", "score"]).to_pylist()
        assert {r["sid"]: r["score"] for r in scores} == expected
    # an export without the marks: refused under the policy that holds disputed records, scored under the other
    part = tmp_path / "export" / "records" / "record_type=tax_payment"
    for path in part.glob("*.parquet"):
        pq.write_table(pq.read_table(path).drop_columns(["_disputed"]), path)
    proc = cli("score", "--input", tmp_path / "export", "--policy", files[True], "--as-of", today, env=env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    first = sorted(part.glob("*.parquet"))[0]
    assert proc.stderr == (
        f"error: {first}: no column _disputed: the records do not say which are under an open dispute (an export "
        "written before they did), and the policy does not count a disputed record (disputes.counts_while_open: "
        "false); export the registry again\n"
    )
    ok("score", "--input", tmp_path / "export", "--policy", files[False], "--as-of", today, env=env)


def test_a_hand_made_export_s_catalog_is_held_to_the_yaml_limits(tmp_path: Path) -> None:
    """An export's catalog.yaml is YAML from whoever made the folder: its nodes, aliases expanded, are counted before
    a node is built, as a policy's are, and the refusal names the setting (exit 2); before, only its bytes were
    bounded."""
    export = tmp_path / "export"
    export.mkdir()
    (export / "manifest.json").write_text("{}", "utf-8")
    bomb = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    bomb += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]  # 10^9 values
    (export / "catalog.yaml").write_text("\n".join(bomb) + "\n", "utf-8")
    args = ("score", "--input", "export", "--policy", "beijing", "--as-of", AS_OF, "--out", "out")
    proc = cli(*args, cwd=tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        2,
        "",
        "error: export/catalog.yaml:5: the YAML has more than 100000 values (nodes), aliases counted as what they "
        "repeat (SOCIALCREDIT_MAX_YAML_NODES)\n",
    )
    # many aliases that expand to little are not refused for their number: a store's catalog published before the
    # alias limit is exported as written (tests/test_catalog_nesting.py reads one); only what they expand to counts
    aliases = ["a: &a x", *(f"b{i}: *a" for i in range(101))]
    (export / "catalog.yaml").write_text("\n".join(aliases) + "\n", "utf-8")
    proc = cli(*args, cwd=tmp_path)
    assert proc.returncode == 2 and "SOCIALCREDIT_MAX_YAML" not in proc.stderr, proc.stderr
    assert not (tmp_path / "out").exists()
