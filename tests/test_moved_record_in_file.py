"""A correction that moves a record onto another resident: the file of the person it named before shows the version
they held as corrected (``superseded``), not as the record in force. Until 2026-12-06 the file compared the versions
of its own subject only, so the old version, the last one there, read ``counting`` with its points (and, after the
next run, ``not counting``) in the file of a person the judgment no longer names, through ``show`` and the pages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cli_helpers import DEFAULTER, ONE_DEFAULTER, PAYER, sc
from due_world import ingested, made_city, scored_on
from store_copies import copied


def _city(folder: Path) -> Path:
    """The city of cli_helpers.scored_city (ONE_DEFAULTER, beijing scored as of 2026-07-01), made in this process as
    its commands make it (due_world.made_city) once per process, and copied into ``folder``."""
    copied(folder, "moved-record-city", _make_city)
    return folder / "city.duckdb"


def _make_city(where: Path) -> None:
    made_city(where, ONE_DEFAULTER, as_of="2026-07-01")


def _shown(db: Path, subject_id: str) -> dict[str, Any]:
    """What ``show SUBJECT --json`` says (the installed script)."""
    shown: dict[str, Any] = json.loads(sc("show", subject_id, "--json", db=db).stdout)
    return shown


def _records(db: Path, subject_id: str, shown: dict[str, Any] | None = None) -> list[tuple[str, int, str]]:
    shown = shown if shown is not None else _shown(db, subject_id)
    return [(r["record_id"], r["version"], r["status"]) for r in shown["records"]]


def _scores(shown: dict[str, Any]) -> list[tuple[str, int, int]]:
    """Each policy's score and the watermark it stands on, as ``show --json`` says them."""
    return [(s["policy"], s["watermark"], s["score"]) for s in shown["scores"]]


def test_a_record_corrected_onto_another_resident_reads_corrected_in_the_file_it_left(tmp_path: Path) -> None:
    db = _city(tmp_path)
    assert _records(db, DEFAULTER) == [("C-1", 1, "counting")]
    moved = tmp_path / "moved.csv"
    moved.write_text(
        "record_id,subject_id,record_type,event_date,case_type,amount,status,defaulter,correction\n"
        f"C-1,{PAYER},court_judgment,2026-06-01,civil,80000,unfulfilled,true,true\n",
        encoding="utf-8",
    )
    ingested(db, moved, "courts")  # what `ingest` does, made in this process: the test reads `show`
    assert _records(db, DEFAULTER) == [("C-1", 1, "superseded")]
    # run 1 read it before it was his; ``show`` answers as the service does (since 2026-12-07): the live score
    # rescored him since the run, and it counts the record
    payer = _shown(db, PAYER)  # one read for both
    assert _records(db, PAYER, payer) == [("C-1", 2, "counting")]
    assert _scores(payer) == [("beijing", 4, 900)]  # 1000 at run 1 (watermark 3), less the judgment's 100
    scored_on(db, "2026-07-02")  # what `score --as-of 2026-07-02` does on its day, made in this process
    assert _records(db, DEFAULTER) == [("C-1", 1, "superseded")]
    assert _records(db, PAYER) == [("C-1", 2, "counting")]
    table = sc("show", DEFAULTER, db=db).stdout
    line = next(x for x in table.splitlines() if "C-1 v1" in x)
    assert "superseded" in line and "-100" not in line


def test_a_record_withdrawn_then_corrected_onto_another_reads_withdrawn_in_the_file_it_left(tmp_path: Path) -> None:
    """Withdrawn from one resident's file, then brought back by a correction naming another: the withdrawal stays
    what the first file shows of it (since the move was counted, 2026-12-06, it read ``superseded`` as well)."""
    db = _city(tmp_path)
    head = "record_id,subject_id,record_type,event_date,case_type,amount,status,defaulter,correction,withdrawn\n"
    for name, subject, correction, withdrawn in (
        ("w.csv", DEFAULTER, "false", "true"),
        ("m.csv", PAYER, "true", "false"),
    ):
        sent = tmp_path / name
        sent.write_text(
            head + f"C-1,{subject},court_judgment,2026-06-01,civil,80000,unfulfilled,true,{correction},{withdrawn}\n",
            encoding="utf-8",
        )
        ingested(db, sent, "courts")  # what `ingest` does, made in this process: the test reads `show`
    assert _records(db, DEFAULTER) == [("C-1", 2, "withdrawn"), ("C-1", 1, "superseded")]
    assert _records(db, PAYER) == [("C-1", 3, "counting")]  # by the live score since the run, as above
