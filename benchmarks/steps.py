"""One benchmark step per child process, so each step's peak memory is its own.

Run by benchmarks/run.py as ``python -m benchmarks.steps STEP '{"json": "arguments"}'``; prints one JSON line.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from socialcredit.generate import AS_OF, generate
from socialcredit.registry.decisions.snapshot import Snapshot
from socialcredit.registry.records.population import load_population
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import latest_run, score
from socialcredit.registry.scoring.state import build_state, state_info
from socialcredit.store import open_store

POLICY = "beijing"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def step_generate(a: dict[str, Any]) -> dict[str, Any]:
    t = time.perf_counter()
    s = generate(a["residents"], seed=a.get("seed", 0), out=a["work"] + "/population")
    return {
        "seconds": time.perf_counter() - t,
        "records": s.records,
        "residents": s.residents,
        "organisations": s.organisations,
    }


def step_ingest(a: dict[str, Any]) -> dict[str, Any]:
    db = Path(a["work"]) / "store.duckdb"
    for f in (db, db.with_name(db.name + ".wal")):
        f.unlink(missing_ok=True)
    with open_store(db, create=True, key="") as store:
        t, c = time.perf_counter(), time.process_time()
        reports = load_population(store, a["work"] + "/population", today=AS_OF, actor="bench").reports
        seconds, cpu = time.perf_counter() - t, time.process_time() - c
        rows = sum(r.accepted for r in reports)
        rejected = sum(r.rejected for r in reports)
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "load_average": os.getloadavg(),
        "rows": rows,
        "rejected": rejected,
        "rows_per_second": rows / seconds,
    }


class _Stages:
    """A ``score`` progress callback that times each stage it names (until the next one starts, or the end): wall
    time, and the CPU time of the process (every DuckDB thread), which a machine shared with other work inflates
    much less than the wall time."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._name: str | None = None
        self._t = 0.0
        self._c = 0.0

    def __call__(self, name: str, _done: int, _total: int) -> None:
        self.end()
        self._name, self._t, self._c = name, time.perf_counter(), time.process_time()

    def end(self) -> dict[str, float]:
        if self._name is not None:
            self.seconds[self._name] = self.seconds.get(self._name, 0.0) + time.perf_counter() - self._t
            self.cpu[self._name] = self.cpu.get(self._name, 0.0) + time.process_time() - self._c
            self._name = None
        return {k: round(v, 4) for k, v in self.seconds.items()}

    def cpu_seconds(self) -> dict[str, float]:
        self.end()
        return {k: round(v, 4) for k, v in self.cpu.items()}


def step_score(a: dict[str, Any]) -> dict[str, Any]:
    """A full run: from the records (``a["source"] == "records"``, the default here) or from the scoring state, which
    the ``state_build`` step has left current."""
    from_records = a.get("source", "records") == "records"
    with open_store(Path(a["work"]) / "store.duckdb", key="") as store:
        loaded = resolve_policy(store, POLICY, actor="bench")
        records = int(store.one("SELECT count(*) FROM records"))
        if not from_records:
            info = state_info(store, loaded)
            seq = int(store.one("SELECT value FROM counters WHERE name = 'seq'"))
            if info is None or info.watermark != seq:
                raise SystemExit("score from state: the state is not current (run the state_build step first)")
        stages = _Stages()
        t, c = time.perf_counter(), time.process_time()
        summary = score(  # made on its day: a run made later gives its notices later (the same work)
            store, loaded, AS_OF, today=AS_OF, actor="bench", progress=stages, from_records=from_records
        )
        seconds, cpu = time.perf_counter() - t, time.process_time() - c
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "load_average": os.getloadavg(),
        "source": summary.source,
        "stages": stages.end(),
        "stages_cpu": stages.cpu_seconds(),
        "records": records,
        "records_per_second": records / seconds,
        "subjects": summary.subjects,
        "run_id": summary.run_id,
        "lists": summary.list_counts,
    }


def step_state_build(a: dict[str, Any]) -> dict[str, Any]:
    """The scoring state of the policy built from scratch from the ingested records (``build_state``)."""
    with open_store(Path(a["work"]) / "store.duckdb", key="") as store:
        loaded = resolve_policy(store, POLICY, actor="bench")
        records = int(store.one("SELECT count(*) FROM records"))
        t, c = time.perf_counter(), time.process_time()
        info = build_state(store, loaded)
        seconds, cpu = time.perf_counter() - t, time.process_time() - c
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "load_average": os.getloadavg(),
        "rows": info.rows,
        "records": records,
        "records_per_second": records / seconds,
        "watermark": info.watermark,
    }


def step_scan(a: dict[str, Any]) -> dict[str, Any]:
    """The scan bound: read once the record columns a score run reads; no scoring can be faster."""
    from benchmarks.baselines.scan_bound import scan_store_sql

    with open_store(Path(a["work"]) / "store.duckdb", key="") as store:
        # every value is hashed, so the scan reads the values and not only their null markers
        sql = scan_store_sql(store)
        cols = sql.count("hash(")
        times = []
        for _ in range(a.get("runs", 3)):
            t = time.perf_counter()
            store.execute(sql).fetchall()
            times.append(time.perf_counter() - t)
    return {"seconds": statistics.median(times), "columns": cols}


def step_incremental(a: dict[str, Any]) -> dict[str, Any]:
    """A day's new records (1/365 of a year's), ingested, then an incremental run as of the next day, on the full
    run at the as-of date: from the records (``a["source"] == "records"``, the default) or from the scoring state.

    The day is ingested by the first of these steps (with a scoring state kept, its ingest folds the day into the
    state); the next one finds it there and runs on the same data."""
    from_records = a.get("source", "records") == "records"
    work = Path(a["work"])
    day = AS_OF + dt.timedelta(days=1)
    with open_store(work / "store.duckdb", key="") as store:
        report = None
        ingest_seconds = None
        if not int(store.one("SELECT count(*) FROM records WHERE record_id LIKE 'DAY-%'")):
            per_year = int(store.one("SELECT count(*) FROM records")) / 3
            n = max(1, int(per_year / 365))
            fields = ", ".join(f'"{c}"' for c in _field_names())
            path = work / "day.parquet"
            store.execute(
                f"""COPY (SELECT 'DAY-' || record_key AS record_id, subject_id, record_type, DATE '{day}' AS event_date,
                         {fields} FROM records WHERE source_id = 'utilities' USING SAMPLE {n} ROWS (reservoir, 42))
                    TO '{path}' (FORMAT parquet)"""
            )
            t = time.perf_counter()
            from socialcredit.registry.records.ingest import ingest_file

            report = ingest_file(store, path, "utilities", today=day, actor="bench")
            ingest_seconds = time.perf_counter() - t
        new = int(store.one("SELECT count(*) FROM records WHERE record_id LIKE 'DAY-%'"))
        base = store.rows(
            "SELECT run_id FROM score_runs WHERE policy_id = ? AND as_of = ? AND mode = 'full' "
            "AND finished_at IS NOT NULL ORDER BY run_id DESC LIMIT 1",
            [POLICY, AS_OF],
        )
        base_id = int(base[0]["run_id"]) if base else int(latest_run(store, POLICY)["run_id"])
        loaded = resolve_policy(store, POLICY, actor="bench")
        stages = _Stages()
        t, c = time.perf_counter(), time.process_time()
        summary = score(
            store,
            loaded,
            day,
            incremental=True,
            base_run_id=base_id,
            today=day,  # the next day's run made on that day
            actor="bench",
            progress=stages,
            from_records=from_records,
        )
        seconds, cpu = time.perf_counter() - t, time.process_time() - c
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "load_average": os.getloadavg(),
        "source": summary.source,
        "stages": stages.end(),
        "stages_cpu": stages.cpu_seconds(),
        "new_records": report.accepted if report is not None else new,
        "ingest_seconds": ingest_seconds,
        "base_run_id": base_id,
        "rescored": summary.rescored,
        "subjects": summary.subjects,
    }


def _field_names() -> list[str]:
    from socialcredit.catalog import load_catalog

    return list(load_catalog().field_columns())


def step_decisions(a: dict[str, Any]) -> dict[str, Any]:
    """Snapshot load, batch and single decisions; with ``read_only`` the store is opened read-only and the
    inquiries are not flushed (a shared store other readers hold open)."""
    read_only = bool(a.get("read_only", False))
    with open_store(Path(a["work"]) / "store.duckdb", key="", read_only=read_only) as store:
        t, c = time.perf_counter(), time.process_time()
        snap = Snapshot.load(store, POLICY)
        load_seconds, load_cpu = time.perf_counter() - t, time.process_time() - c
        ids = snap.subject_ids[: min(100_000, len(snap.subject_ids))]
        batch = []
        for _ in range(a.get("runs", 5)):
            t = time.perf_counter()
            snap.decide_many(ids, "high_speed_rail", "benchmark", requester="bench")
            batch.append(time.perf_counter() - t)
        single = []
        for sid in ids[:50_000]:
            t0 = time.perf_counter_ns()
            snap.decide(sid, "high_speed_rail", "benchmark", requester="bench")
            single.append(time.perf_counter_ns() - t0)
        t = time.perf_counter()
        logged = 0 if read_only else snap.flush(store)
        flush_seconds = time.perf_counter() - t
    return {
        "batch_per_second": len(ids) / statistics.median(batch),
        "single_median_us": statistics.median(single) / 1000,
        "snapshot_load_seconds": load_seconds,
        "snapshot_load_cpu_seconds": load_cpu,
        "peak_mb": _peak_mb(),
        "load_average": os.getloadavg(),
        "inquiries_logged": logged,
        "flush_seconds": flush_seconds,
    }


def step_baseline(a: dict[str, Any]) -> dict[str, Any]:
    import importlib

    from socialcredit.policy import builtin_policy

    module = importlib.import_module(f"benchmarks.baselines.{a['name']}_baseline")
    loaded = builtin_policy(POLICY)  # loaded before the clock starts, as step_score resolves its policy before
    t, c = time.perf_counter(), time.process_time()
    frame = module.score(Path(a["work"]) / "population", loaded, AS_OF)
    return {"seconds": time.perf_counter() - t, "cpu_seconds": time.process_time() - c, "subjects": len(frame)}


def _jvm_peak_mb() -> float:
    """Peak resident memory (VmHWM) of this process's Java children: the Spark driver in local mode."""
    import os

    me, peak = str(os.getpid()), 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                parent = fh.read().rsplit(")", 1)[1].split()[1]
            if parent != me:
                continue
            with open(f"/proc/{entry}/status") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]) / 1024)
        except OSError:
            continue
    return peak


def step_spark(a: dict[str, Any]) -> dict[str, Any]:
    """Export the store, then score the export on Spark (``a["master"]``, default local[2]) ``runs`` times."""
    import shutil

    from socialcredit.backends.spark import spark_session
    from socialcredit.policy import builtin_policy
    from socialcredit.registry.scoring.export import export_inputs, score_on_spark

    work = Path(a["work"])
    export = work / "export"
    shutil.rmtree(export, ignore_errors=True)
    with open_store(work / "store.duckdb", key="") as store:
        t = time.perf_counter()
        manifest = export_inputs(store, export, actor="bench")
        export_seconds = time.perf_counter() - t
    master = a.get("master", "local[2]")
    t = time.perf_counter()
    session = spark_session(master)
    start_seconds = time.perf_counter() - t
    runs = []
    for i in range(a.get("runs", 1)):
        out = work / f"spark-results-{i}"
        shutil.rmtree(out, ignore_errors=True)
        t = time.perf_counter()
        score_on_spark(export, builtin_policy(POLICY), AS_OF, out, session=session)
        runs.append(time.perf_counter() - t)
        shutil.rmtree(out, ignore_errors=True)
    jvm = _jvm_peak_mb()
    session.stop()
    return {
        "seconds": statistics.median(runs),
        "runs": [round(r, 3) for r in runs],
        "master": master,
        "records": manifest["records"],
        "subjects": manifest["subjects"],
        "records_per_second": manifest["records"] / statistics.median(runs),
        "export_seconds": export_seconds,
        "session_start_seconds": start_seconds,
        "jvm_peak_mb": jvm,
    }


def step_web(a: dict[str, Any]) -> dict[str, Any]:
    """Server time of every portal page and the operator's file of a subject (benchmarks/web_pages.py)."""
    from benchmarks.web_pages import measure

    return measure(Path(a["work"]) / "store.duckdb", int(a.get("requests", 15)))


STEPS = {name.removeprefix("step_"): fn for name, fn in globals().items() if name.startswith("step_")}

if __name__ == "__main__":
    name, args = sys.argv[1], json.loads(sys.argv[2])
    result = STEPS[name](args)
    result["peak_mb"] = _peak_mb()
    print(json.dumps(result, default=str))
