"""The fixed cost of a small batch and of a live pass, in-process, on a copy of a scored store.

    python benchmarks/small_batches.py STORE [--batch 100] [--per-pass 5] [--passes 6] [--group 1]

STORE is a store with a finished run of ``beijing`` and its scoring state (the one ``benchmarks/run.py`` leaves in
its work folder, or ``http_bench.py``'s). It is copied first; the copy is removed at the end (``--in-place``: not
copied, for a scratch store too large to copy; the batches stay in it). Batches of
``--batch`` new utility payments are ingested with ``ingest_file``, ``--per-pass`` of them between two live passes
(``registry/decisions/live.py``: the subjects they touched rescored on the state as a reader, as the service's live
thread does: on a connection kept from one pass to the next, its stages prepared, ``LivePasses``, where the code has
it). Prints the medians of CPU time (all threads of the process) and wall time of a batch and of a pass, after the
first pass and its batches, and the load average: CPU time is what a loaded machine inflates least.
With ``--group N``, the batches between two passes are committed N at a time in one transaction
(``ingest_group``, as the service's group commit takes batches that arrived together); a batch's figures are then
a group's divided by N. With ``--statements N``, also the N statements that cost most CPU time per batch and per
pass (each statement's text, its relations' caller-specific names shortened and the lists of constants a pass writes
out shown as ``IN (...)``, with its CPU time per batch or pass). The batches are about the registry's first 100,000
persons (consecutive keys: reads by key skip most of a table); with ``--spread``, about 100,000 persons drawn from the
whole registry.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("store", type=Path)
    parser.add_argument("--batch", type=int, default=100, help="Records per batch.")
    parser.add_argument("--per-pass", type=int, default=5, help="Batches between two live passes.")
    parser.add_argument("--passes", type=int, default=6, help="Live passes (the first is not counted).")
    parser.add_argument("--statements", type=int, default=0, help="Print the N costliest statements of each.")
    parser.add_argument("--group", type=int, default=1, help="Batches committed together (ingest_group).")
    parser.add_argument(
        "--spread",
        action="store_true",
        help="Send the batches about persons drawn from the whole registry, not its first 100,000 (consecutive keys).",
    )
    parser.add_argument(
        "--in-place",
        action="store_true",
        help="Work on STORE itself, not a copy (a scratch store too large to copy; its records grow by the batches).",
    )
    a = parser.parse_args()

    from socialcredit.clock import resolve_today
    from socialcredit.registry.decisions.live import changed_subjects, rescore

    try:  # as the service passes them: the changes with the keys they carry (older code: identifiers only)
        from socialcredit.registry.decisions.live import changes
    except ImportError:
        changes = None
    try:  # as the service's live thread runs them: on a connection it keeps, the stages prepared (older code: no)
        from socialcredit.registry.decisions.live import LivePasses
    except ImportError:
        LivePasses = None
    from socialcredit.registry.decisions.snapshot import Snapshot
    from socialcredit.registry.records.ingest import ingest_file
    from socialcredit.store import Store, open_store

    # CPU time per statement, by phase ("batch" or "pass"), counted after the first pass and its batches
    spent: dict[tuple[str, str], float] = collections.defaultdict(float)
    phase = [""]
    if a.statements:
        plain = Store.execute

        def timed(self: Store, sql: str, params: object = None) -> object:
            cpu = time.process_time()
            try:
                return plain(self, sql, params)  # type: ignore[arg-type]
            finally:
                if phase[0]:
                    text = re.sub(r"sc_[0-9a-f]{12}_", "sc_", " ".join(sql.split()))
                    # a pass's identifiers or keys written out as constants: one statement, whatever the pass
                    text = re.sub(r"IN \((?:(?:'[^']*'|\d+)(?:, )?)+\)", "IN (...)", text)
                    spent[(phase[0], text)] += time.process_time() - cpu

        Store.execute = timed  # type: ignore[assignment,method-assign]

    work = Path(tempfile.mkdtemp(prefix="small-batches-"))
    db = a.store if a.in_place else work / "store.duckdb"
    if not a.in_place:
        shutil.copy(a.store, db)
    batches: list[tuple[float, float]] = []
    timed_passes: list[tuple[float, float]] = []
    passes: Any = None  # the live thread's LivePasses, kept from one pass to the next
    try:
        with open_store(db, key="") as store:
            snap = Snapshot.load(store, "beijing", explain=True)
            ids = [
                str(r[0])
                for r in store.execute(
                    "SELECT subject_id FROM subjects WHERE kind = 'person' "
                    # spread: 100,000 persons drawn from the whole registry (reproducibly), not its first 100,000,
                    # whose consecutive keys let every read by key skip most of a table
                    + ("ORDER BY hash(subject_id) LIMIT 100000" if a.spread else "LIMIT 100000")
                ).fetchall()
            ]
            today = resolve_today(None)
            tag = f"{int(time.time()):x}"  # the records of each run are new, in a copy or (--in-place) not
            group: list[Any] = []
            if a.group > 1:  # (the code before group commit has no ingest_group: --group 1 runs on it too)
                from socialcredit.registry.records.ingest import BatchOptions, BatchRequest, ingest_group
            for k in range(a.passes):
                for j in range(a.per_pass):
                    n = k * a.per_pass + j
                    lines = ["record_id,subject_id,record_type,event_date,utility,amount,status"]
                    lines += [
                        f"UTI-SB-{tag}-{n}-{i},{ids[(n * a.batch + i) % len(ids)]},utility_payment,2026-10-01,water,"
                        f"{100 + i % 400},on_time"
                        for i in range(a.batch)
                    ]
                    path = work / f"batch-{n}.csv"
                    path.write_text("\n".join(lines) + "\n", "utf-8")
                    if a.group > 1:
                        group.append(BatchRequest(path, "utilities", "bench", today, BatchOptions(name=path.name)))
                        if len(group) < a.group and j < a.per_pass - 1:
                            continue
                    phase[0] = "batch" if k else ""
                    cpu, wall = time.process_time(), time.perf_counter()
                    if a.group > 1:
                        outcomes = ingest_group(store, group)
                        assert all(o.report is not None and o.report.accepted == a.batch for o in outcomes), outcomes
                    else:
                        ingest_file(store, path, "utilities")
                    spent_cpu, spent_wall = time.process_time() - cpu, time.perf_counter() - wall
                    batches += [(spent_cpu / max(1, len(group)), spent_wall / max(1, len(group)))] * max(1, len(group))
                    group = []
                phase[0] = "pass" if k else ""
                cpu, wall = time.process_time(), time.perf_counter()
                if LivePasses is not None:
                    if passes is None:
                        passes = LivePasses(store.reader())
                    passes.ready(snap.loaded, snap.as_of, snap.histogram)
                    reader = passes.store
                    transaction = passes.reading()
                else:
                    reader = store.reader()
                    transaction = reader.transaction()
                try:
                    with transaction:
                        seq = int(reader.one("SELECT value FROM counters WHERE name = 'seq'"))
                        keys: dict[str, Any] = {}
                        if changes is not None:
                            changed = changes(reader, snap.watermark, seq)
                            subjects, keys = changed.subjects, {"keys": changed.keys}
                        else:
                            subjects = changed_subjects(reader, snap.watermark, seq)
                        if passes is not None:
                            keys["passes"] = passes
                        old = snap.old_scores(subjects)
                        out = rescore(
                            reader, snap.loaded, snap.as_of, subjects, snap.histogram, old, fold=False, **keys
                        )
                finally:
                    if passes is None:
                        reader.close()
                assert out is not None, "the store keeps no scoring state of beijing"
                watermark, rows, histogram = out
                snap.patch(rows, watermark, histogram)
                timed_passes.append((time.process_time() - cpu, time.perf_counter() - wall))
                phase[0] = ""
    finally:
        if passes is not None:
            passes.close()
        shutil.rmtree(work, ignore_errors=True)
    counted_batches, counted_passes = batches[a.per_pass :], timed_passes[1:]

    def ms(values: list[tuple[float, float]], i: int) -> float:
        return round(statistics.median(v[i] for v in values) * 1000, 1)

    costliest = {
        what: [
            {"cpu_ms": round(v * 1000 / n, 2), "statement": text[:160]}
            for (p, text), v in sorted(spent.items(), key=lambda kv: -kv[1])
            if p == what
        ][: a.statements]
        for what, n in (("batch", len(counted_batches)), ("pass", len(counted_passes)))
    }
    print(
        json.dumps(
            {
                "batch_records": a.batch,
                "group": a.group,
                "batch_cpu_ms": ms(counted_batches, 0),
                "batch_wall_ms": ms(counted_batches, 1),
                "pass_subjects": a.batch * a.per_pass,
                "pass_cpu_ms": ms(counted_passes, 0),
                "pass_wall_ms": ms(counted_passes, 1),
                "load_average": [round(x, 2) for x in os.getloadavg()],
                **({"costliest": costliest} if a.statements else {}),
            }
        )
    )


if __name__ == "__main__":
    main()
