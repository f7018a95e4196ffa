"""The benchmark suite: one command runs every measurement at a scale and rewrites docs/benchmarks.md.

    python benchmarks/run.py --scale small      # 100 000 residents (CI-sized)
    python benchmarks/run.py --scale city       # 1 000 000
    python benchmarks/run.py --scale beijing    # 21 900 000
    python benchmarks/run.py --scale city --steps web --work DIR   # one step again, on the store kept in DIR

Each step runs in its own process (peak memory is that process's own). Timed steps run ``--runs`` times and
the median is reported. The baselines run in the same invocation, on the same data, under the same policy.
Results accumulate in benchmarks/results/<scale>.json; the report and the log-log plot are made from all of them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
SCALES = {"tiny": 10_000, "small": 100_000, "city": 1_000_000, "beijing": 21_900_000}
BASELINES = ("pandas", "polars", "python", "zen")  # benchmarks/baselines/<name>_baseline.py
TARGETS = {
    "score_seconds_beijing": 15.0,  # the full run from the scoring state
    "incremental_seconds_beijing": 3.0,  # the next day, from the scoring state
    "state_build_seconds_beijing": 120.0,
    "ingest_rows_per_second": 500_000,
    "live_p99_seconds": 1.0,
    "snapshot_load_seconds_beijing": 5.0,
    "state_vs_polars_city": 3.0,
    "decisions_per_second": 500_000,
    "single_decision_us": 20.0,
    "peak_gib_beijing": 16.0,
    "generate_seconds_beijing": 900.0,
    "generate_peak_gib_beijing": 12.0,
}


def _step(name: str, args: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
    # the caller's PYTHONPATH is kept after ours (a checkout's own src/, e.g. in a git worktree)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.steps", name, json.dumps(args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"step {name} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"  {name:<12} {json.dumps(result)}", flush=True)
    return result


def _median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out = dict(runs[-1])
    out["seconds"] = statistics.median(r["seconds"] for r in runs)
    out["runs"] = [round(r["seconds"], 3) for r in runs]
    out["peak_mb"] = max(r["peak_mb"] for r in runs)
    if "records" in out and out["seconds"]:
        out["records_per_second"] = out["records"] / out["seconds"]
    if all("stages" in r for r in runs):  # each stage's median over the runs
        out["stages"] = {k: statistics.median(r["stages"].get(k, 0.0) for r in runs) for k in runs[-1]["stages"]}
    if all("cpu_seconds" in r for r in runs):  # CPU time: less inflated than wall time on a shared machine
        out["cpu_seconds"] = statistics.median(r["cpu_seconds"] for r in runs)
    if all("stages_cpu" in r for r in runs):
        cpu = runs[-1]["stages_cpu"]
        out["stages_cpu"] = {k: statistics.median(r["stages_cpu"].get(k, 0.0) for r in runs) for k in cpu}
    return out


def run(
    scale: str,
    runs: int,
    baselines: list[str],
    work: Path,
    keep: bool,
    baseline_runs: int,
    reuse: dict[str, Any] | None = None,
    partial: Path | None = None,
    spark: bool = False,
) -> dict[str, Any]:
    """Every step at one scale. With ``reuse`` (the generation figures of an earlier run whose population is still
    in ``work``), generation is not repeated. After each step the results so far are written to ``partial``."""
    residents = SCALES[scale]
    work.mkdir(parents=True, exist_ok=True)
    args = {"work": str(work), "residents": residents, "runs": runs}
    print(f"scale {scale}: {residents:,} residents, work folder {work}", flush=True)
    res: dict[str, Any] = {"scale": scale, "residents": residents, "date": dt.date.today().isoformat()}
    res["load_average"] = {"start": [round(x, 2) for x in os.getloadavg()]}  # the machine is shared

    def keep_so_far() -> None:
        if partial is not None:
            partial.write_text(json.dumps(res, indent=2, default=str) + "\n", "utf-8")

    res["generate"] = reuse if reuse is not None else _step("generate", args)
    keep_so_far()
    res["ingest"] = _step("ingest", args)
    keep_so_far()
    res["scan"] = _step("scan", args)
    # the full run from the records first, with no scoring state in the store (as before the state existed)
    res["score"] = _median_of([_step("score", {**args, "source": "records"}) for _ in range(runs)])
    keep_so_far()
    # the state from scratch (each build replaces the last), then full runs that read it, current
    res["state_build"] = _median_of([_step("state_build", args) for _ in range(runs)])
    res["score_state"] = _median_of([_step("score", {**args, "source": "state"}) for _ in range(runs)])
    keep_so_far()
    # a day's records ingested once (folded into the state as they commit), then the next day from each source
    res["incremental"] = _step("incremental", {**args, "source": "records"})
    # the next day from the state: each repeat is a new incremental run on the same full run, the day ingested once
    res["incremental_state"] = _median_of([_step("incremental", {**args, "source": "state"}) for _ in range(runs)])
    res["decisions"] = _step("decisions", args)
    keep_so_far()
    res["web"] = _step("web", args)  # the portal's pages on the store as scored (benchmarks/web_pages.py)
    keep_so_far()
    if spark:
        res["spark"] = _step("spark", {**args, "master": "local[2]"})
        res["spark"]["duckdb_score_seconds"] = res["score"]["seconds"]  # the same run's DuckDB time, for the ratio
        keep_so_far()
    res["baselines"] = {}
    for name in baselines:
        res["baselines"][name] = _median_of(
            [_step("baseline", {**args, "name": name}) for _ in range(baseline_runs or runs)]
        )
        keep_so_far()
    res["load_average"]["end"] = [round(x, 2) for x in os.getloadavg()]
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    return res


RERUNNABLE = ("web",)  # steps that read a kept store and change nothing a later step reads


def rerun(scale: str, steps: list[str], work: Path | None, results: Path, memory_limit: str) -> None:
    """Run ``steps`` again on the store kept in ``work`` (``--keep``), their figures into results/<scale>.json."""
    unknown = [s for s in steps if s not in RERUNNABLE]
    if unknown:
        raise SystemExit(f"--steps: {', '.join(unknown)} cannot run alone (choose from {', '.join(RERUNNABLE)})")
    work = work or Path(os.environ.get("TMPDIR", "/tmp")) / f"socialcredit-bench-{scale}"
    if not (work / "store.duckdb").is_file():
        raise SystemExit(f"--steps needs the store of an earlier run in {work} (run with --keep, or name --work)")
    os.environ["SOCIALCREDIT_MEMORY_LIMIT"] = memory_limit
    # into the scale's results; with none yet, into results/<scale>-<step>.json (the report reads both)
    path = results / f"{scale}.json"
    if not path.is_file():
        path = results / f"{scale}-{'-'.join(steps)}.json"
    res: dict[str, Any] = json.loads(path.read_text("utf-8")) if path.is_file() else {"scale": scale}
    print(f"scale {scale}: steps {', '.join(steps)} on {work}", flush=True)
    for name in steps:
        res[name] = _step(name, {"work": str(work), "residents": SCALES[scale]})
        res[name]["date"] = dt.date.today().isoformat()
        res[name]["load_average"] = [round(x, 2) for x in os.getloadavg()]  # the machine is shared
    results.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(res, indent=2, default=str) + "\n", "utf-8")


def machine() -> dict[str, str]:
    import duckdb
    import numpy
    import pyarrow

    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            mem = f"{int(fh.readline().split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    cpu = ""
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "")
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": mem,
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "numpy": numpy.__version__,
        "pyarrow": pyarrow.__version__,
        "os": platform.platform(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=list(SCALES), default="small")
    parser.add_argument("--runs", type=int, default=3, help="repeats of each timed step (median reported)")
    parser.add_argument(
        "--baselines",
        default=",".join(BASELINES),
        help=f"comma-separated: {', '.join(BASELINES)} (empty for none)",
    )
    parser.add_argument("--baseline-runs", type=int, default=0, help="repeats of each baseline (default: --runs)")
    parser.add_argument("--work", type=Path, default=None, help="where the data goes (default: a temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the generated data and store")
    parser.add_argument(
        "--engines", default="duckdb,spark", help="duckdb,spark: also score on Spark local[2] (needs PySpark)"
    )
    parser.add_argument(
        "--reuse-population",
        action="store_true",
        help="use the population already in --work and the generation figures in results/<scale>-generate.json",
    )
    parser.add_argument(
        "--memory-limit", default="12GB", help="memory DuckDB may use in each step (SOCIALCREDIT_MEMORY_LIMIT)"
    )
    parser.add_argument("--report-only", action="store_true", help="only rewrite docs from stored results")
    parser.add_argument(
        "--steps",
        default="all",
        help=f"all, or steps to run again on the store kept in --work, their figures replacing those in "
        f"results/<scale>.json: {', '.join(RERUNNABLE)}",
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder of results (default benchmarks/results)")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs", help="where benchmarks.md and the plot go")
    a = parser.parse_args()
    if a.steps != "all" and not a.report_only:
        rerun(a.scale, [s for s in a.steps.split(",") if s], a.work, a.results, a.memory_limit)
    elif not a.report_only:
        work = a.work or Path(os.environ.get("TMPDIR", "/tmp")) / f"socialcredit-bench-{a.scale}"
        names = [b for b in a.baselines.split(",") if b]
        os.environ["SOCIALCREDIT_MEMORY_LIMIT"] = a.memory_limit
        reuse = None
        if a.reuse_population:
            figures = a.results / f"{a.scale}-generate.json"
            if not (work / "population" / "subjects").is_dir() or not figures.is_file():
                raise SystemExit(f"--reuse-population needs {work}/population and {figures}")
            stored = json.loads(figures.read_text("utf-8"))
            reuse = stored.get("generate", stored)
        a.results.mkdir(parents=True, exist_ok=True)
        partial = a.results / f"{a.scale}.partial.json"
        result = run(
            a.scale,
            a.runs,
            names,
            work,
            a.keep or a.reuse_population,
            a.baseline_runs,
            reuse=reuse,
            partial=partial,
            spark="spark" in a.engines.split(","),
        )
        partial.unlink(missing_ok=True)
        result["machine"] = machine()
        a.results.mkdir(parents=True, exist_ok=True)
        (a.results / f"{a.scale}.json").write_text(json.dumps(result, indent=2, default=str) + "\n", "utf-8")
    from benchmarks.report import write_report

    write_report(a.results, a.docs)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
