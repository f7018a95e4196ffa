"""Identity resolution at scale: link incoming identities against a region's residents with Splink (DuckDB).

    python benchmarks/linkage.py --residents 1000000 --incoming 1000000 --runs 1

The data comes from ``socialcredit.regions.generate.generate_linkage`` (written to --data, under /tmp by default,
never committed; made once per size and seed). Each run links in a fresh process, so its peak memory (maximum
resident set size) is the linkage's own: preparing both sides, training (prior, u by random sampling, m by EM),
predicting and deciding. Accuracy is measured on the applied links against the generator's ground truth.
Results go to benchmarks/results/linkage.json (one entry per size, replaced when rerun).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import resource
import statistics
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "linkage.json"
TARGETS = {"seconds": 300.0, "peak_gib": 8.0, "precision": 0.99, "recall": 0.95}


def _generate(folder: str, residents: int, incoming: int, seed: int) -> None:
    from socialcredit.regions.generate import generate_linkage

    generate_linkage(folder, residents=residents, incoming=incoming, seed=seed)


def _link(folder: str, queue: Any) -> None:
    import duckdb
    import pyarrow.parquet as pq

    from socialcredit.regions.linkage import LinkOptions, link_identities

    data = Path(folder)
    residents = pq.read_table(data / "residents.parquet")
    residents = residents.append_column("key", residents["subject_id"])
    incoming = pq.read_table(data / "incoming.parquet")
    incoming = incoming.append_column("key", incoming["incoming_key"])
    started = time.perf_counter()
    result = link_identities(incoming, residents, LinkOptions(memory_limit="6GB"))
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_gib = usage.ru_maxrss / 1024**2
    cpu_seconds = usage.ru_utime + usage.ru_stime  # every thread of the process (DuckDB works on both cores)
    links = result.table  # noqa: F841 - read by the SQL below
    truth = pq.read_table(data / "truth.parquet")  # noqa: F841
    con = duckdb.connect()
    row = con.execute(
        """SELECT count(*) FILTER (WHERE l.decision = 'link'),
                  count(*) FILTER (WHERE l.decision = 'link' AND l.subject_id = t.true_subject_id),
                  count(*) FILTER (WHERE l.decision = 'review'),
                  count(*) FILTER (WHERE l.decision = 'review' AND l.subject_id = t.true_subject_id)
           FROM links l JOIN truth t ON t.incoming_key = l.key"""
    ).fetchone()
    assert row is not None
    applied, correct, review, review_true = (int(x) for x in row)
    positives = int(con.execute("SELECT count(*) FROM truth WHERE true_subject_id IS NOT NULL").fetchone()[0])  # type: ignore[index]
    by_error = con.execute(
        """SELECT t.id_error, count(*) AS n,
                  count(*) FILTER (WHERE l.decision = 'link' AND l.subject_id = t.true_subject_id) AS linked
           FROM truth t LEFT JOIN links l ON l.key = t.incoming_key
           WHERE t.true_subject_id IS NOT NULL GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    queue.put(
        {
            "seconds": seconds,
            "cpu_seconds": cpu_seconds,
            "stages": result.seconds,
            "peak_gib": peak_gib,
            "pairs_scored": result.pairs_scored,
            "applied": applied,
            "precision": correct / applied if applied else 0.0,
            "recall": correct / positives if positives else 0.0,
            "review": review,
            "review_share": review / incoming.num_rows,
            "review_true_share": review_true / review if review else 0.0,
            "recall_by_id_error": {k: round(linked / n, 4) for k, n, linked in by_error},
            "parameters": result.parameters,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--incoming", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", type=Path, default=Path("/tmp/socialcredit-linkage"))
    parser.add_argument("--note", action="append", default=[], help="A note on the run (e.g. a busy machine).")
    args = parser.parse_args()
    folder = args.data / f"{args.residents}-{args.incoming}-{args.seed}"
    ctx = mp.get_context("spawn")
    if not (folder / "truth.parquet").exists():
        t = time.perf_counter()
        p = ctx.Process(target=_generate, args=(str(folder), args.residents, args.incoming, args.seed))
        p.start()
        p.join()
        if p.exitcode:
            raise SystemExit("generating the data failed")
        print(f"generated {folder} in {time.perf_counter() - t:.1f} s", flush=True)
    runs = []
    for i in range(args.runs):
        queue = ctx.Queue()
        p = ctx.Process(target=_link, args=(str(folder), queue))
        p.start()
        res = queue.get()
        p.join()
        print(
            f"run {i + 1}: {res['seconds']:.1f} s, peak {res['peak_gib']:.2f} GiB, precision {res['precision']:.4f}, "
            f"recall {res['recall']:.4f}, review share {res['review_share']:.4f}",
            flush=True,
        )
        runs.append(res)
    median = {k: statistics.median(r[k] for r in runs) for k in ("seconds", "peak_gib", "precision", "recall")}
    entry = {
        "residents": args.residents,
        "incoming": args.incoming,
        "seed": args.seed,
        "runs": len(runs),
        "median": median,
        "review_share": statistics.median(r["review_share"] for r in runs),
        "last_run": runs[-1],
        "targets": TARGETS,
        "met": {
            "seconds": median["seconds"] <= TARGETS["seconds"],
            "peak_gib": median["peak_gib"] <= TARGETS["peak_gib"],
            "precision": median["precision"] >= TARGETS["precision"],
            "recall": median["recall"] >= TARGETS["recall"],
        },
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_average": os.getloadavg()},
        "notes": args.note,
        "at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
    }
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    results = [r for r in results if (r["residents"], r["incoming"]) != (args.residents, args.incoming)]
    results.append(entry)
    results.sort(key=lambda r: (r["residents"], r["incoming"]))
    RESULTS.write_text(json.dumps(results, indent=1, default=str) + "\n")
    print(json.dumps({k: entry[k] for k in ("median", "review_share", "met")}, indent=1))


if __name__ == "__main__":
    main()
