"""Where a population load's CPU time goes: ``python benchmarks/ingest_profile.py POPULATION NEW_STORE``.

Loads the folder (written by ``socialcredit generate``) into a new store with ``load_population``, timing every
``Store.execute`` by kind of statement; prints one JSON line with the whole load's CPU time (``time.process_time``:
every DuckDB thread of the process) and wall time, the CPU seconds by kind (``untimed``: the commits and anything
else not sent through ``Store.execute``), the load average before and after, and the peak memory. Figures in
docs/ingest.md, "Bulk loads". Run it under ``nice`` on a shared machine and compare CPU time, not wall time.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from socialcredit.generate import AS_OF
from socialcredit.registry.records.population import load_population
from socialcredit.store import Store, open_store

KINDS = (
    ("insert_records", "INSERT INTO records "),
    ("staging", "TEMP TABLE staging AS"),
    ("staged_subjects", "staged_subjects AS"),
    ("validate", "TEMP TABLE suspects AS"),
    ("validate", "TEMP TABLE row_errors AS"),
    ("candidates", "TEMP TABLE candidates"),
    ("insert_subjects", "INSERT INTO subjects"),
    ("checkpoint", "CHECKPOINT"),
)


def _kind(sql: str) -> str:
    text = " ".join(sql.split())[:200]
    return next((k for k, pattern in KINDS if pattern in text), "other")


def main(population: Path, db: Path) -> dict[str, Any]:
    for f in (db, db.with_name(db.name + ".wal")):
        f.unlink(missing_ok=True)
    cpu: dict[str, float] = defaultdict(float)
    plain = Store.execute

    def timed(self: Store, sql: str, params: Any = None) -> Any:
        start = time.process_time()
        try:
            return plain(self, sql, params)
        finally:
            cpu[_kind(sql)] += time.process_time() - start

    Store.execute = timed  # type: ignore[method-assign]
    before = os.getloadavg()
    with open_store(db, create=True, key="") as store:
        c0, w0 = time.process_time(), time.perf_counter()
        load = load_population(store, population, today=AS_OF, actor="bench")
        c1, w1 = time.process_time(), time.perf_counter()
    Store.execute = plain  # type: ignore[method-assign]
    cpu["untimed"] = c1 - c0 - sum(cpu.values())
    return {
        "rows": load.accepted,
        "rejected": load.rejected,
        "cpu_s": round(c1 - c0, 2),
        "wall_s": round(w1 - w0, 2),
        "rows_per_s": round(load.accepted / (w1 - w0)),
        "rows_per_cpu_s": round(load.accepted / (c1 - c0)),
        "cpu_by_kind": {k: round(v, 2) for k, v in sorted(cpu.items(), key=lambda kv: -kv[1])},
        "load_average": [round(before[0], 1), round(os.getloadavg()[0], 1)],
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    }


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: python benchmarks/ingest_profile.py POPULATION_FOLDER NEW_STORE")
    print(json.dumps(main(Path(sys.argv[1]), Path(sys.argv[2]))))
