"""The installed console script run in a subprocess, for tests that build a store through it and read its output."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from socialcredit.clock import TODAY_ENV, resolve_today
from socialcredit.identifiers import make_ric
from store_copies import copied

CLI = shutil.which("socialcredit", path=str(Path(sys.executable).parent)) or "socialcredit"

# Two residents, the first with an unfulfilled court judgment that makes him a judgment defaulter (the batches of
# ``scored_city``, by source).
DEFAULTER = make_ric("110105", dt.date(1980, 3, 4), 15)
PAYER = make_ric("110108", dt.date(1990, 7, 8), 22)
ONE_DEFAULTER = {
    "civil_affairs": (
        f"subject_id,name,district,profession\n{DEFAULTER},王伟,朝阳区,retail\n{PAYER},李娜,海淀区,education\n"
    ),
    "courts": (
        "record_id,subject_id,record_type,event_date,case_type,amount,status,defaulter\n"
        f"C-1,{DEFAULTER},court_judgment,2026-06-01,civil,80000,unfulfilled,true\n"
    ),
}


def on_its_day(args: Sequence[str | Path]) -> dict[str, str]:
    """The environment that makes a ``score --as-of DAY`` command on its day: the registry's today set to DAY (a run
    gives its notices on the day it is made), or left as it is when DAY is ahead of it (a what-if stays one).
    Empty for every other command."""
    words = [str(a) for a in args]
    if not words or words[0] != "score" or "--as-of" not in words[:-1]:
        return {}
    as_of = dt.date.fromisoformat(words[words.index("--as-of") + 1])
    return {TODAY_ENV: min(as_of, resolve_today()).isoformat()}


def sc(*args: str, db: Path, today: str | None = None) -> subprocess.CompletedProcess[str]:
    """``socialcredit ARGS --db DB``, which must exit 0: no store key from the environment, 200 columns, and the
    registry's today set to ``today`` when given (else a score made on its day: :func:`on_its_day`)."""
    env = {k: v for k, v in os.environ.items() if k != "SOCIALCREDIT_DB_KEY"} | {"COLUMNS": "200"}
    env |= {TODAY_ENV: today} if today is not None else on_its_day(args)
    proc = subprocess.run(
        [CLI, *args, "--db", str(db)], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def scored_city(folder: Path, batches: dict[str, str], *, as_of: str, today: str | None = None) -> Path:
    """A store ``city.duckdb`` in ``folder`` made by the console script: ``init``, each of ``batches`` (a source's
    CSV text, by source) written as ``<source>.csv`` and ingested in their order, then ``beijing`` scored as of
    ``as_of``; every command with the registry's today set to ``today`` when given."""
    db = folder / "city.duckdb"
    sc("init", db=db, today=today)
    for source, text in batches.items():
        path = folder / f"{source}.csv"
        path.write_text(text, encoding="utf-8")
        sc("ingest", str(path), "--source", source, db=db, today=today)
    sc("score", "--policy", "beijing", "--as-of", as_of, db=db, today=today)
    return db


def scored_city_copy(folder: Path, batches: dict[str, str], *, as_of: str, today: str | None = None) -> Path:
    """What :func:`scored_city` makes in ``folder`` (the same rows, the batches' files beside the store), made by the
    console script once in a process for each set of arguments and the registry's today, and copied: for a file
    whose tests each start from the same city (four starts of the console script fewer for every test after the
    first)."""
    key = json.dumps([list(batches.items()), as_of, today, resolve_today().isoformat()], ensure_ascii=False)
    name = "scored-city-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    copied(folder, name, lambda where: _made(scored_city(where, batches, as_of=as_of, today=today)))
    return folder / "city.duckdb"


def _made(_db: Path) -> None:
    """What copied's build returns: nothing (the store it made is closed, its path known)."""
