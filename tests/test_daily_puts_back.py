"""The daily job (`socialcredit due run`) puts back the listings a run not in force moved before it puts the day's
listings in effect, as `due put-back-listings` does; once none is left it does not look again
(registry/due_process/daily.py).

The store is tests/test_put_back_listings.py's: a what-if of the release before 2026-12-05 (run 3) put B's (李四)
listing in effect early; run 4, in force, gives it a notice period until 2026-06-09.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from due_world import JUDGMENT, B, C, build, write_csv
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.store import open_store
from test_put_back_listings import cli, listings, old_store, score

__all__ = ["old_store"]  # the fixture
PUT_BACK_KEY = "listings_put_back_on"  # daily.PUT_BACK_KEY: the day the job found nothing left to put back


def _marker(db: Path) -> list[tuple[object, ...]]:
    with open_store(db, key="") as store:
        return store.execute("SELECT value FROM store_info WHERE key = ?", [PUT_BACK_KEY]).fetchall()


def test_the_daily_job_puts_back_a_listing_a_run_not_in_force_moved_then_stops_looking(old_store: Path) -> None:
    db = old_store
    b = (2, B, "effective", dt.date(2026, 6, 9), None, 4)
    assert listings(db)[1] == b
    first = cli(db, "due", "run")
    assert (first.returncode, first.stderr) == (0, "")
    assert "1 listing moved by a run not in force put back (2); see due put-back-listings.\n" in first.stdout
    # in its notice period as run 4 gives it, not put in effect again by the day's activation
    assert listings(db)[1] == (2, B, "pending", dt.date(2026, 6, 9), None, 4)
    assert _marker(db) == []  # one was put back: the next day's job looks again
    second = cli(db, "due", "run", "--json", today="2026-04-11")
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["listings_put_back"] == []
    assert _marker(db) == [("2026-04-11",)]  # nothing left: not looked for again
    third = cli(db, "due", "run", "--json", today="2026-04-12")
    assert third.returncode == 0, third.stderr
    assert json.loads(third.stdout)["listings_put_back"] == []
    assert _marker(db) == [("2026-04-11",)]
    put_back = cli(db, "due", "put-back-listings")  # the command itself still looks, and finds none
    assert put_back.stdout == "No listing moved by a run not in force is left to put back.\n"


def test_the_daily_job_looks_again_while_a_listing_it_left_may_be_re_dated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A past-dated run of the release before 2026-12-05, made last, is the run in force: the listing it noticed is
    left as it is. Once a newer ordinary run is in force, that listing's notice period is re-dated from it; the daily
    job must not have stopped looking on the day it left it."""
    monkeypatch.setenv("SOCIALCREDIT_TODAY", "2026-02-01")
    build(tmp_path).close()
    db = tmp_path / "due.duckdb"
    score(db, "2026-02-01", "2026-02-01")
    score(db, "2026-04-10", "2026-04-10")  # run 2
    store = open_store(db, key="")
    row = ["J3", C, "court_judgment", "2026-02-15", "civil", "9000", "unfulfilled", "true"]
    report = ingest_file(store, write_csv(tmp_path / "j3.csv", JUDGMENT, [row]), "courts", today=dt.date(2026, 4, 10))
    assert not report.errors
    with store.transaction():  # the release before 2026-12-05: a past-dated run moved listings as any run did
        store.execute("UPDATE score_runs SET standing = 'rerun'")
    store.close()
    score(db, "2026-03-01", "2026-04-10")  # run 3: past-dated, made last, notices C's judgment
    with open_store(db, key="") as store, store.transaction():  # as the release before 2026-12-05 left it
        store.execute("ALTER TABLE score_runs DROP COLUMN standing")
        store.execute("UPDATE score_runs SET started_at = CAST(least(as_of, DATE '2026-04-10') AS TIMESTAMP)")
        store.execute("DELETE FROM schema_version WHERE version >= 45")
        # and it dated a past-dated run's notice by the run's date, not the day the run was made (2026-04-10)
        store.execute("UPDATE listings SET noticed_on = as_of FROM score_runs WHERE run_id = notice_run_id")
        store.execute("UPDATE listings SET effective_on = noticed_on + INTERVAL 60 DAY WHERE notice_run_id = 3")
    assert listings(db)[1] == (2, C, "pending", dt.date(2026, 4, 30), None, 3)
    first = cli(db, "due", "run", "--json", today="2026-04-10")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["listings_put_back"] == []
    assert _marker(db) == []  # listing 2 left as run 3, in force, gives it: not settled yet
    score(db, "2026-04-11", "2026-04-11")  # run 4, ordinary, in force: 20 days' notice from 2026-04-11 (first found)
    second = cli(db, "due", "run", "--json", today="2026-04-12")
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["listings_put_back"] == [2]
    assert listings(db)[1] == (2, C, "pending", dt.date(2026, 6, 10), None, 4)
    third = cli(db, "due", "run", "--json", today="2026-04-13")
    assert third.returncode == 0, third.stderr
    assert json.loads(third.stdout)["listings_put_back"] == []
    assert _marker(db) == [("2026-04-13",)]  # nothing left at all: not looked for again
    put_back = cli(db, "due", "put-back-listings", today="2026-04-13")
    assert put_back.stdout == "No listing moved by a run not in force is left to put back.\n"
