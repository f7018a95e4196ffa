"""Where a full score run's CPU goes, statement by statement.

    python -m benchmarks.profile_score STORE [--from-records] [--top 12] [--explain REGEX]

Runs ``score`` of the beijing policy at the benchmark's as-of date on STORE — it writes a run into the store, so give
it a copy — and prints, per stage that ``score`` names to its progress callback, the process CPU seconds (every
DuckDB thread) and wall seconds, then the ``--top`` statements by CPU with the stage they ran in. With ``--explain``,
each statement whose first 200 characters match REGEX is first run under EXPLAIN ANALYZE (its query part: an INSERT's
SELECT, a CREATE's AS) and the plan printed; that doubles those statements' work, so the totals then mean little.

The "outside" column is a stage's CPU spent outside the statements the store runs: Python and sqlglot, and the
commit of the run's transaction (run on the connection itself). A run from the state needs the state current
(``socialcredit state build beijing`` or the ``state_build`` step).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from socialcredit.generate import AS_OF
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import score
from socialcredit.store import open_store

POLICY = "beijing"


def _query_part(sql: str) -> str:
    """The query an INSERT ... SELECT or a CREATE ... AS runs (EXPLAIN ANALYZE of it writes nothing)."""
    if sql.startswith("INSERT INTO "):
        return sql.split(" ", 3)[3]
    if sql.startswith("CREATE "):
        return sql.split(" AS ", 1)[1]
    return sql


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("store", type=Path, help="a copy of a store (a run is written into it)")
    parser.add_argument("--from-records", action="store_true", help="score from the records, not the state")
    parser.add_argument("--top", type=int, default=12, help="how many statements to print (default 12)")
    parser.add_argument("--explain", metavar="REGEX", help="EXPLAIN ANALYZE the statements that match first")
    args = parser.parse_args(argv)
    explain = re.compile(args.explain) if args.explain else None

    stage = ["before"]
    statements: list[tuple[float, float, str, str]] = []  # cpu, wall, stage, sql
    cpu: dict[str, float] = {}
    wall: dict[str, float] = {}
    marks = [time.process_time(), time.perf_counter()]

    def progress(name: str, _done: int, _total: int) -> None:
        c, w = time.process_time(), time.perf_counter()
        cpu[stage[0]] = cpu.get(stage[0], 0.0) + c - marks[0]
        wall[stage[0]] = wall.get(stage[0], 0.0) + w - marks[1]
        stage[0], marks[0], marks[1] = name, c, w

    with open_store(args.store, key="") as store:
        loaded = resolve_policy(store, POLICY, actor="bench")
        run: Callable[..., Any] = store.execute

        def timed(sql: str, params: Any = None) -> Any:
            if explain is not None and explain.search(sql[:200]):
                plan = run("EXPLAIN ANALYZE " + _query_part(sql), params).fetchall()
                print(f"==== {stage[0]}: {sql[:200]}\n{plan[0][1]}")
            c, w = time.process_time(), time.perf_counter()
            result = run(sql, params)
            statements.append((time.process_time() - c, time.perf_counter() - w, stage[0], sql))
            return result

        store.execute = timed  # type: ignore[method-assign]
        progress("preparing", 0, 0)
        start = (time.process_time(), time.perf_counter())
        summary = score(
            store, loaded, AS_OF, today=AS_OF, actor="bench", progress=progress, from_records=args.from_records
        )
        progress("end", 0, 0)
        total = (time.process_time() - start[0], time.perf_counter() - start[1])
    print(f"run {summary.run_id} from the {summary.source}: {summary.subjects:,} subjects")
    # "outside": CPU of the stage not spent in a statement of Store.execute (Python, sqlglot, and the commit, which
    # Store.transaction runs on the connection itself)
    print(f"{'stage':<18} {'cpu s':>8} {'wall s':>8} {'outside':>8}")
    for name in cpu:
        if name != "before":
            inside = sum(s[0] for s in statements if s[2] == name)
            print(f"{name:<18} {cpu[name]:8.3f} {wall[name]:8.3f} {cpu[name] - inside:8.3f}")
    print(f"{'total':<18} {total[0]:8.3f} {total[1]:8.3f}")
    print(f"\n{len(statements)} statements, {sum(s[0] for s in statements):.3f} CPU s; the heaviest:")
    for c, w, name, sql in sorted(statements, key=lambda s: -s[0])[: args.top]:
        print(f"{c:7.3f} cpu {w:7.3f} wall  [{name}]  {' '.join(sql.split())[:160]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
