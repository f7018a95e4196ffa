"""``due put-back-listings`` on a registry where a what-if moved N listings, in-process, on a copy of the store.

    python benchmarks/put_back.py build FOLDER [--listings 5000]
    python benchmarks/put_back.py time FOLDER [--today 2026-04-10]

``build`` makes ``FOLDER/put_back.duckdb``: N residents, each with an unfulfilled court judgment of 2026-03-01 with
defaulter=true (Beijing's blacklist, judgment_defaulter), ingested on 2026-04-05; run 1, as of 2026-04-10, gives
each notice until 2026-06-09; run 2, a what-if as of 2027-02-01 made on its day as the releases before 2026-12-05
made it, puts every listing in effect early; the store is then brought to the shape such a release left it in
(no standing kept, migration 45 not applied) and opened again (migration 45 marks run 2 a what-if), and run 3,
ordinary as of 2026-04-10, is in force. The tenth resident's judgment is dated 2026-01-01 instead (notice until
2026-05-10, run 3 finds it too), so put back on 2026-06-10 every listing takes effect on the day.

``time`` copies the store, calls ``put_back_listings`` once on the copy and prints one line of JSON: the listings put
back, CPU seconds of the process (``time.process_time``, all threads) and wall seconds of the call, and the load
average. Run it with the sources to measure first on ``PYTHONPATH`` (``git archive`` of an older commit for
"before").
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

JUDGMENT = ["record_id", "subject_id", "record_type", "event_date", "case_type", "amount", "status", "defaulter"]


def _csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _score(db: Path, as_of: str, today: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SOCIALCREDIT_DB_KEY"} | {"SOCIALCREDIT_TODAY": today}
    code = "from socialcredit.cli import main; main()"
    args = [sys.executable, "-c", code, "score", "--policy", "beijing", "--as-of", as_of, "--db", str(db)]
    made = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    if made.returncode != 0:
        raise SystemExit(made.stderr)


def build(folder: Path, n: int) -> Path:
    from socialcredit.identifiers import make_ric
    from socialcredit.registry.records.ingest import ingest_file
    from socialcredit.store import open_store

    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "put_back.duckdb"
    db.unlink(missing_ok=True)
    people = [make_ric("110105", dt.date(1960, 1, 1) + dt.timedelta(days=i // 1000), i % 1000) for i in range(n)]
    store = open_store(db, create=True, key="")
    subjects = [[p, f"居民{i}", "朝阳区", "retail"] for i, p in enumerate(people)]
    header = ["subject_id", "name", "district", "profession"]
    rows = _csv(folder / "subjects.csv", header, subjects)
    assert not ingest_file(store, rows, "civil_affairs", today=dt.date(2026, 1, 1)).errors
    judgments = [
        [
            f"J{i}",
            p,
            "court_judgment",
            "2026-01-01" if i % 10 == 9 else "2026-03-01",
            "civil",
            "9000",
            "unfulfilled",
            "true",
        ]
        for i, p in enumerate(people)
    ]
    rows = _csv(folder / "courts.csv", JUDGMENT, judgments)
    assert not ingest_file(store, rows, "courts", today=dt.date(2026, 4, 5)).errors
    store.close()
    os.environ["SOCIALCREDIT_TODAY"] = "2026-04-10"
    _score(db, "2026-04-10", "2026-04-10")
    _score(db, "2027-02-01", "2027-02-01")  # moves the listings as the release before 2026-12-05 moved them
    store = open_store(db, key="")
    with store.transaction():
        store.execute("ALTER TABLE score_runs DROP COLUMN standing")
        store.execute("UPDATE score_runs SET started_at = CAST(least(as_of, DATE '2026-04-10') AS TIMESTAMP)")
        store.execute("DELETE FROM schema_version WHERE version >= 45")
    store.close()
    open_store(db, key="").close()  # migration 45
    _score(db, "2026-04-10", "2026-04-10")
    return db


def measure(folder: Path, today: str) -> dict[str, object]:
    from socialcredit.registry.due_process.withdrawals import put_back_listings
    from socialcredit.store import open_store

    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        db = Path(tmp) / "copy.duckdb"
        shutil.copy(folder / "put_back.duckdb", db)
        with open_store(db, key="") as store:
            cpu, wall = time.process_time(), time.perf_counter()
            done = put_back_listings(store, dt.date.fromisoformat(today))
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    return {"listings": len(done), "cpu_s": round(cpu, 3), "wall_s": round(wall, 3), "loadavg": load}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["build", "time"])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--listings", type=int, default=5000, help="Residents, each with one listing (build).")
    parser.add_argument("--today", default="2026-04-10", help="The day of the put-back (time).")
    a = parser.parse_args()
    if a.what == "build":
        print(build(a.folder, a.listings))
    else:
        print(json.dumps(measure(a.folder, a.today)))


if __name__ == "__main__":
    main()
