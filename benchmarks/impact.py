"""How long `policy impact` takes: beijing against a candidate that raises the blacklist floor from 600 to 650, on
a generated population (docs/policy-lab.md has the figures).

    python benchmarks/impact.py --work DIR [--residents 100000] [--runs 3] [--from-records]

The population and its store are made in DIR the first time (generated, ingested, beijing published and scored
once, which builds its scoring state) and reused after. Each timing is one ``impact`` call: wall seconds, CPU
seconds of this process (every DuckDB thread; time.process_time), and the load average, the machine being shared.
Run it with PYTHONPATH naming an older checkout's src to time that code on the same store (it has no
``from_records``: it read the records).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import time
from pathlib import Path

from socialcredit.generate import AS_OF, generate
from socialcredit.policy import parse_policy
from socialcredit.registry.records.population import load_population
from socialcredit.registry.reporting.impact import impact
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import score
from socialcredit.store import open_store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--from-records", action="store_true", help="read the records for both sides")
    a = parser.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    db = a.work / "store.duckdb"
    if not db.exists():
        generate(a.residents, seed=0, out=str(a.work / "population"))
        with open_store(db, create=True, key="") as store:
            load_population(store, a.work / "population", today=AS_OF, actor="bench")
            # publishes nothing new; builds the state (a run made on its day)
            score(store, resolve_policy(store, "beijing"), AS_OF, today=AS_OF)
    with open_store(db, key="") as store:
        current = resolve_policy(store, "beijing")
        text = current.text.replace("score < 600", "score < 650", 1).replace(
            f'version: "{current.policy.version}"', 'version: "bench"', 1
        )
        candidate = parse_policy(text, "candidate.yaml", store.catalog)
        kwargs = {"from_records": True} if a.from_records else {}
        new_code = "from_records" in inspect.signature(impact).parameters
        times = []
        for _ in range(a.runs):
            load = os.getloadavg()[0]
            t, c = time.perf_counter(), time.process_time()
            report = impact(store, current, candidate, AS_OF, actor="bench", **kwargs)
            times.append(
                {"seconds": time.perf_counter() - t, "cpu_seconds": time.process_time() - c, "load": round(load, 2)}
            )
    print(
        json.dumps(
            {
                "code": "with state" if new_code else "before (records)",
                "read": report.get("read", {"current": "records", "candidate": "records"}),
                "subjects": report["subjects"],
                "changed": report["changed"],
                "runs": times,
                "median_seconds": round(statistics.median(x["seconds"] for x in times), 2),
                "median_cpu_seconds": round(statistics.median(x["cpu_seconds"] for x in times), 2),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
