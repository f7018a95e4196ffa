"""Reads of one run in a store of many runs, delta runs among them (docs/benchmarks.md, issue 15).

``python -m benchmarks.delta_reads build DIR --subjects 100000 --runs 120 [--whole-every 10] [--own 1000]``
creates a store in DIR (by the code on the path: its migrations make the run views) and fills its run tables with
synthetic runs: every ``whole-every``-th run stored whole (every subject's rows of results, five rule points each and
result keys), the runs between them delta runs over the last whole run, each owning ``own`` subjects (its rows of
them, ``run_own``, its histogram); ``--last-delta`` makes the last run a delta run whatever ``whole-every`` says.
No records, no policy: only what the readers of runs read.

``python -m benchmarks.delta_reads measure DIR [--repeat 7]`` times the statement of each reader of one run on the
newest delta run and on the newest run stored whole, reading the run's rows through the view filtered by run id and
through ``store.run_rows``; prints one JSON line per reader: CPU ms of the process (``time.process_time``), median
of the repeats, for each way.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from socialcredit.store import open_store, run_rows

RULES = 5


def build(directory: Path, subjects: int, runs: int, whole_every: int, own: int, last_delta: bool = False) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    store = open_store(directory / "store.duckdb", create=True, key="")
    con = store.con
    con.execute(
        f"""INSERT INTO subject_keys SELECT i, 'S' || lpad(CAST(i AS VARCHAR), 9, '0'), 'person'
        FROM range(1, {subjects + 1}) t(i)"""
    )
    root = 0
    for run in range(1, runs + 1):
        whole = (run - 1) % whole_every == 0 and not (last_delta and run == runs)
        root = run if whole else root
        con.execute(
            """INSERT INTO score_runs (run_id, policy_id, policy_version, policy_sha256, as_of, watermark, mode,
            base_run_id, engine, started_at, finished_at, n_subjects, n_rescored, standing, root_run_id)
            VALUES (?, 'bench', '1', 'x', DATE '2026-01-01' + ?::INTEGER, 0, ?, ?, 'duckdb', now(), now(), ?, ?,
                    'ordinary', ?)""",
            [
                run,
                run,
                "full" if whole else "incremental",
                None if whole else run - 1,
                subjects,
                subjects if whole else own,
                None if whole else root,
            ],
        )
        con.execute(f"INSERT INTO run_rules SELECT {run}, i, 'rule' || i, 'd' || (i % 2) FROM range({RULES}) t(i)")
        if whole:
            keys = f"range(1, {subjects + 1}) t(k)"
        else:
            # The delta run's own subjects: a different slice each day.
            start = (run * own * 7) % max(subjects - own, 1) + 1
            keys = f"range({start}, {start + own}) t(k)"
            con.execute(
                f"INSERT INTO run_own SELECT {run}, k, 'S' || lpad(CAST(k AS VARCHAR), 9, '0') FROM {keys} ORDER BY k"
            )
        score = f"(600 + (k * 7919 + {run} * (k % 13)) % 400)::INTEGER"
        con.execute(
            f"""INSERT INTO run_results_rows SELECT {run}, 'S' || lpad(CAST(k AS VARCHAR), 9, '0'), 'person',
                   'clerk', 30 + k % 50, [k % 17 * 1.0, k % 5 * 1.0], k % 100 * 1.0, {score}, 'B', 2, 0, 0.0,
                   NULL, CASE WHEN k % 97 = 0 THEN ['blacklist'] ELSE [] END, 7
            FROM {keys} ORDER BY k"""
        )
        con.execute(f"INSERT INTO run_result_keys_rows SELECT {run}, k FROM {keys} ORDER BY k")
        con.execute(
            f"""INSERT INTO run_points_rows SELECT {run}, k, i, (k + i) % 11 - 5.0, (k + i) % 3, NULL
            FROM {keys}, range({RULES}) r(i) ORDER BY k, i"""
        )
        # The run's histogram as migration 49 counts it (the view's rows of the run: root's and own).
        con.execute(
            f"""INSERT INTO run_histogram SELECT {run}, kind, score, n,
                   (sum(n) OVER (PARTITION BY kind ORDER BY score DESC) - n + 1)::INTEGER,
                   (100.0 * (sum(n) OVER (PARTITION BY kind ORDER BY score) - n) / sum(n) OVER (PARTITION BY kind))
            FROM (SELECT kind, score, count(*) AS n FROM run_results_rows
                  WHERE run_id = {root} AND subject_id NOT IN (SELECT subject_id FROM run_own WHERE run_id = {run})
                     OR run_id = {run} AND {run} <> {root}
                  GROUP BY ALL)"""
        )
    store.execute("CHECKPOINT")
    store.close()


# Each reader of one run as a statement on {rows}, a relation of the run's rows of a view: ``view`` reads the view
# filtered by run id (the readers before 2026-12-06), ``run_rows`` the relation store.run_rows gives (after).
STATEMENTS = {
    "results_one_row (decide.subject_result)": ("run_results", "SELECT * FROM {rows} WHERE subject_id = $subject"),
    "rule_points_one_subject (decide.explain)": (
        "run_rule_points",
        "SELECT rule_id, points FROM {rows} WHERE subject_id = $subject AND points <> 0 "
        "ORDER BY abs(points) DESC, rule_id",
    ),
    "points_one_key (report reasons)": ("run_points", "SELECT * FROM {rows} WHERE subject_key = $key"),
    "tier_counts (dashboard)": ("run_results", "SELECT tier, count(*) FROM {rows} WHERE kind = 'person' GROUP BY 1"),
    "top_subjects (report)": (
        "run_results",
        "SELECT rank, subject_id, score FROM {rows} WHERE kind = 'person' ORDER BY rank, subject_id LIMIT 20",
    ),
    "old_scores (live pass)": (
        "run_results",
        "SELECT subject_id, kind, score FROM {rows} WHERE list_contains([$subject], subject_id)",
    ),
    "hits_by_rule (drift)": (
        "run_points",
        "SELECT r.rule_id, count(*) FILTER (WHERE p.hits > 0) FROM {rows} p "
        "JOIN run_rules r USING (run_id, rule_index) "
        "GROUP BY 1",
    ),
    "result_keys (snapshot)": ("run_result_keys", "SELECT count(*) FROM {rows}"),
}


def _timed(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm
    times = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        times.append((time.process_time() - start) * 1000)
    return statistics.median(times)


def measure(directory: Path, repeat: int) -> None:
    store = open_store(directory / "store.duckdb", key="")
    n_runs = int(store.one("SELECT count(*) FROM score_runs"))
    for label, where in (("delta", "root_run_id IS NOT NULL"), ("whole", "root_run_id IS NULL")):
        run = store.one(f"SELECT max(run_id) FROM score_runs WHERE {where}")
        if run is None:
            continue
        run = int(run)
        key = int(store.one("SELECT min(subject_key) FROM run_own WHERE run_id = ?", [run]) or 42)
        params = {"subject": "S" + str(key).zfill(9), "key": key}
        for name, (view, sql) in STATEMENTS.items():
            out: dict[str, Any] = {"runs": n_runs, "run": label, "reader": name}
            for how in ("view", "run_rows"):
                rows = f"(SELECT * FROM {view} WHERE run_id = {run})" if how == "view" else run_rows(store, view, run)
                text = sql.format(rows=rows)
                used = {k: v for k, v in params.items() if "$" + k in text}
                out[how] = round(_timed(lambda t=text, u=used: store.execute(t, u).fetchall(), repeat), 2)
            print(json.dumps(out), flush=True)
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("dir", type=Path)
    b.add_argument("--subjects", type=int, default=100_000)
    b.add_argument("--runs", type=int, default=40)
    b.add_argument("--whole-every", type=int, default=10)
    b.add_argument("--own", type=int, default=1000)
    b.add_argument("--last-delta", action="store_true", help="the last run a delta run (with --whole-every 1)")
    m = sub.add_parser("measure")
    m.add_argument("dir", type=Path)
    m.add_argument("--repeat", type=int, default=7)
    a = parser.parse_args()
    if a.command == "build":
        build(a.dir, a.subjects, a.runs, a.whole_every, a.own, a.last_delta)
    else:
        measure(a.dir, a.repeat)


if __name__ == "__main__":
    main()
