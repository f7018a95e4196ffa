"""Listings a run not in force moved, put back: `socialcredit due put-back-listings` (due_process/withdrawals.py).

The world is due_world.py's. Run 1, as of 2026-02-01 (clock 2026-02-01), gives A (张三) notice for J1 (blacklist,
judgment_defaulter): the listing takes effect on 2026-04-02. The courts file J2 against B (李四), an unfulfilled
judgment of 2026-03-01 with defaulter=true. Run 2, as of 2026-04-10 (clock 2026-04-10), puts A's listing in effect
(an ordinary run: it stays so) and gives B notice until 2026-06-09. Then, still on 2026-04-10, the release before
2026-12-05 made run 3, a what-if as of 2027-02-01, and moved the listings by it: B's listing in effect, public and
refusing services, B told he is listed since 2027-02-01. The store is brought to that shape by making run 3 on the
clock of its date (the same code path the old release took) and dropping what migration 45 added: migration 45 marks
run 3 a what-if and puts run 2 in force, and run 4 (ordinary, as of 2026-04-10) does not take B's listing back.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api_helpers import copy_of, serve
from due_world import JUDGMENT, A, B, C, built, write_csv
from page_text import visible_text
from socialcredit.api.app import create_app
from socialcredit.registry.access import audit
from socialcredit.registry.access.audit import append_audit, verify_audit
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.due_process import withdrawals
from socialcredit.registry.due_process.listings import take_effect
from socialcredit.registry.due_process.notifications import notify, notify_many
from socialcredit.registry.due_process.outbox import queue_message, queue_messages
from socialcredit.registry.due_process.public_lists import public_lookup
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import run_in_force
from socialcredit.registry.scoring.runs import score as score_run
from socialcredit.store import Store, open_store
from web_helpers import sign_in

CLI = str(Path(sys.executable).parent / "socialcredit")
TODAY = "2026-04-10"

WITHDRAWN_EN = (
    "Correction: blacklist (judgment defaulter) (record J2): the notice dated 2027-02-01 was made in error "
    "by run 3, a what-if dated ahead of its day (as of 2027-02-01), which is not in force, and is withdrawn: "
    "you are not listed; the notice period runs until 2026-06-09, when the listing takes effect unless the cause is "
    "resolved before then."
)
WITHDRAWN_ZH = (
    "更正：失信名单（失信被执行人）（记录 J2）：2027-02-01 的列入通知系第 3 次评分（日期在当日之后的假设评分，"
    "评分日期 2027-02-01）误发，该评分并未生效，现予撤回：您未被列入；通知期至 2026-06-09，除非在此之前原因消除，"
    "届时起列入。"
)


def cli(db: Path, *args: str, today: str = TODAY) -> subprocess.CompletedProcess[str]:
    """The installed console script on the store ``db``, on the registry's clock of ``today``."""
    env = {k: v for k, v in os.environ.items() if k != "SOCIALCREDIT_DB_KEY"}
    env |= {"COLUMNS": "200", "SOCIALCREDIT_TODAY": today}
    return subprocess.run([CLI, *args, "--db", str(db)], capture_output=True, text=True, env=env, check=False)


def score(db: Path, as_of: str, today: str) -> None:
    """``socialcredit score`` of beijing as of ``as_of`` on the registry's clock of ``today``, by the console script
    (tests/test_daily_puts_back.py's set-ups)."""
    made = cli(db, "score", "--policy", "beijing", "--as-of", as_of, today=today)
    assert made.returncode == 0, made.stderr


def made(db: Path, as_of: str, today: str) -> None:
    """A run, of a world's set-up or between two repairs, made in this process as `score` makes it (what the tests
    check is what `due put-back-listings` does, by the console script): beijing as of ``as_of``, on the registry's
    clock of ``today``."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOCIALCREDIT_TODAY", today)
        with open_store(db, key="") as store:
            score_run(store, resolve_policy(store, "beijing"), dt.date.fromisoformat(as_of))


def listings(db: Path) -> list[tuple[object, ...]]:
    with open_store(db, key="") as store:
        return store.execute(
            "SELECT listing_id, subject_id, status, effective_on, closed_on, last_run_id FROM listings "
            "ORDER BY listing_id"
        ).fetchall()


def kept(folder: Path, name: str, make: Callable[[Path], Path]) -> Path:
    """The store ``make`` builds in the folder it is given (as ``due.duckdb``, returning its path), built once per
    process for each ``name`` and copied into ``folder`` (api_helpers.copy_of); returns its path (closed)."""
    copy_of(folder, name, lambda where: open_store(make(where), key=""), db="due.duckdb").close()
    return folder / "due.duckdb"


@pytest.fixture
def old_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The store as described above, after migration 45 and run 4; returns its path (closed)."""
    path = kept(tmp_path, "put-back-old", lambda where: _old_store(where, monkeypatch))
    monkeypatch.setenv("SOCIALCREDIT_TODAY", TODAY)
    return path


def _old_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SOCIALCREDIT_TODAY", "2026-02-01")
    built(tmp_path).close()
    db = tmp_path / "due.duckdb"
    made(db, "2026-02-01", "2026-02-01")
    store = open_store(db, key="")
    row = ["J2", B, "court_judgment", "2026-03-01", "civil", "9000", "unfulfilled", "true"]
    report = ingest_file(store, write_csv(tmp_path / "j2.csv", JUDGMENT, [row]), "courts", today=dt.date(2026, 4, 5))
    assert not report.errors
    store.close()
    made(db, TODAY, TODAY)
    made(db, "2027-02-01", "2027-02-01")  # moves the listings as the release before 2026-12-05 moved them
    store = open_store(db, key="")
    with store.transaction():  # the store as that release left it: run 3 made on 2026-04-10, no standing kept
        store.execute("ALTER TABLE score_runs DROP COLUMN standing")
        store.execute("UPDATE score_runs SET started_at = CAST(least(as_of, DATE '2026-04-10') AS TIMESTAMP)")
        store.execute("DELETE FROM schema_version WHERE version >= 45")
    store.close()
    monkeypatch.setenv("SOCIALCREDIT_TODAY", TODAY)
    with open_store(db, key="") as store:  # migration 45
        assert store.execute("SELECT run_id, standing FROM score_runs ORDER BY run_id").fetchall() == [
            (1, "ordinary"),
            (2, "ordinary"),
            (3, "what_if"),
        ]
    made(db, TODAY, TODAY)
    return db


def test_a_listing_a_what_if_put_in_effect_is_put_back_on_the_record_and_the_resident_told(old_store: Path) -> None:
    db = old_store
    a, b = (1, A, "effective", dt.date(2026, 4, 2), None, 4), (2, B, "effective", dt.date(2026, 6, 9), None, 4)
    # the defect: run 4, in force, left B listed in effect since the what-if's date, public
    assert listings(db) == [a, b]
    with open_store(db, key="") as store:
        assert run_in_force(store, "beijing")["run_id"] == 4
        assert [x["since"] for x in public_lookup(store, "李四")] == ["2027-02-01"]

    put_back = cli(db, "due", "put-back-listings")
    assert (put_back.returncode, put_back.stderr) == (0, "")
    assert put_back.stdout == (
        f"listing 2 ({B}): effective -> pending, moved by run 3 (what_if); run in force: 4\n"
        "1 listing put back; each resident's notice is in their file and queued in the outbox (not sent by this "
        "command).\n"
    )
    # B's listing as run 4 gives it: in its notice period until 2026-06-09; A's (put in effect by run 2) untouched
    assert listings(db) == [a, (2, B, "pending", dt.date(2026, 6, 9), None, 4)]
    with open_store(db, key="") as store:
        assert public_lookup(store, "李四") == []
        assert [x["since"] for x in public_lookup(store, "张三")] == ["2026-04-10"]
        # on the record: one entry for the listing, naming the run that moved it and the run in force
        [(subject, detail)] = store.execute(
            "SELECT subject_id, detail FROM audit_log WHERE action = 'listing_put_back'"
        ).fetchall()
        assert (subject, json.loads(detail)) == (
            B,
            {
                "listing_id": 2,
                "run_id": 3,
                "standing": "what_if",
                "moved": "effective",
                "in_force": 4,
                "status_before": "effective",
                "status": "pending",
                "reason": "run 3 (what_if, as of 2027-02-01) is not in force and moves no listing; put back as run 4, "
                "in force, gives",
                "message_id": 1,
            },
        )
        assert verify_audit(store) == []
        # told: in the file, in both languages, and queued in the outbox
        assert store.execute(
            "SELECT subject_id, created_on, ref_id, text_en, text_zh FROM notifications "
            "WHERE kind = 'listing_withdrawn'"
        ).fetchall() == [(B, dt.date(2026, 4, 10), 2, WITHDRAWN_EN, WITHDRAWN_ZH)]
        assert store.execute(
            "SELECT message_id, kind, subject_id, channel, title, body, status FROM outbox"
        ).fetchall() == [
            (
                1,
                "listing_withdrawn",
                B,
                "outbox",
                "更正：列入通知撤回 / Correction: a listing notice withdrawn",
                f"{WITHDRAWN_ZH}\n\n{WITHDRAWN_EN}\n",
                "queued",
            )
        ]
        resident = issue_key(store, "resident", "B", subject=B).token
        app = create_app(db, store=store)
        with serve(app) as client:
            sign_in(client, resident)
            en = visible_text(client.get("/me?lang=en").text)
            zh = visible_text(client.get("/me?lang=zh").text)
    assert WITHDRAWN_EN in en
    assert WITHDRAWN_ZH in zh

    # a second repair changes nothing
    counts = "SELECT (SELECT count(*) FROM audit_log WHERE action <> 'read_notifications'), " + (
        "(SELECT count(*) FROM notifications), (SELECT count(*) FROM outbox)"
    )
    with open_store(db, key="") as store:
        before = store.execute(counts).fetchall()
    again = cli(db, "due", "put-back-listings", "--json")
    assert (again.returncode, json.loads(again.stdout)) == (0, [])
    said = cli(db, "due", "put-back-listings")
    assert (said.returncode, said.stdout) == (0, "No listing moved by a run not in force is left to put back.\n")
    assert listings(db) == [a, (2, B, "pending", dt.date(2026, 6, 9), None, 4)]
    with open_store(db, key="") as store:
        assert store.execute(counts).fetchall() == before

    # Its notice period over, an ordinary run puts it in effect: B is told again (the withdrawn notice was not one he
    # keeps), listed since that run's day, and a later repair leaves it (it was put back once).
    made(db, "2026-06-10", "2026-06-10")
    assert listings(db)[1] == (2, B, "effective", dt.date(2026, 6, 9), None, 5)
    with open_store(db, key="") as store:
        assert store.execute(
            "SELECT created_on, text_en FROM notifications WHERE kind = 'listing_effective' AND ref_id = 2 "
            "ORDER BY notification_id"
        ).fetchall() == [
            (
                dt.date(2027, 2, 1),
                "blacklist (judgment defaulter): the notice period ended; you have been listed since 2027-02-01.",
            ),
            (
                dt.date(2026, 6, 10),
                "blacklist (judgment defaulter): the notice period ended; you have been listed since 2026-06-10.",
            ),
        ]
        assert [x["since"] for x in public_lookup(store, "李四")] == ["2026-06-10"]
    later = cli(db, "due", "put-back-listings", "--json", today="2026-06-10")
    assert (later.returncode, json.loads(later.stdout)) == (0, [])
    assert listings(db)[1] == (2, B, "effective", dt.date(2026, 6, 9), None, 5)


def noticed_only_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The world of the test below, before the repair; returns the store's path (closed)."""
    monkeypatch.setenv("SOCIALCREDIT_TODAY", TODAY)
    return kept(tmp_path, "put-back-noticed-only", lambda where: _noticed_only_world(where, monkeypatch))


def _noticed_only_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SOCIALCREDIT_TODAY", TODAY)
    store = built(tmp_path)
    header = ["record_id", "subject_id", "record_type", "event_date", "amount", "status", "days_late"]
    evaded = [["X9", C, "tax_payment", "2023-03-01", "200000", "evaded", "0"]]
    report = ingest_file(store, write_csv(tmp_path / "x9.csv", header, evaded), "tax_bureau", today=dt.date(2026, 2, 2))
    assert not report.errors
    store.close()
    db = tmp_path / "due.duckdb"
    made(db, TODAY, TODAY)
    with open_store(db, key="") as store, store.transaction():  # run 2 moves the listings, as that release let it
        store.execute("UPDATE score_runs SET standing = 'rerun' WHERE run_id = 1")
    made(db, "2026-02-15", "2026-02-15")  # its notices dated its date, as that release dated them
    store = open_store(db, key="")
    with store.transaction():  # the store as that release left it
        store.execute("ALTER TABLE score_runs DROP COLUMN standing")
        store.execute("DELETE FROM audit_log WHERE action = 'listings'")
        store.execute("DELETE FROM schema_version WHERE version >= 45")
    store.close()
    with open_store(db, key="") as store:  # migration 45
        assert store.execute("SELECT run_id, standing FROM score_runs ORDER BY run_id").fetchall() == [
            (1, "ordinary"),
            (2, "past_dated"),
        ]
    return db


def test_a_listing_only_a_past_dated_run_noticed_is_withdrawn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """C (王五) also evaded 200 000 yuan of tax on 2023-03-01 (blacklist major_tax_evasion, within 1 095 days: found
    as of 2026-02-15, aged out by 2026-04-10). Run 1, as of 2026-04-10, gives A notice (J1) and not C. A release before
    2026-12-05 made run 2 as of 2026-02-15 after it and let it move the listings: C noticed on 2026-02-15, as if he
    were listed on 2026-04-16. Migration 45 marks run 2 past-dated (its listings audit entry lost, as a store can
    have it): the run in force, run 1, does not find C's cause, so the notice is withdrawn (resolved: never listed),
    closed on the day of the repair; A's notice (run 1's) is untouched."""
    db = noticed_only_world(tmp_path, monkeypatch)
    notice = (1, A, "pending", dt.date(2026, 6, 9), None, 2)
    assert listings(db) == [notice, (2, C, "pending", dt.date(2026, 4, 16), None, 2)]

    put_back = cli(db, "due", "put-back-listings", "--json")
    assert put_back.returncode == 0, put_back.stderr
    assert json.loads(put_back.stdout) == [
        {
            "listing_id": 2,
            "subject_id": C,
            "moved_by": 2,
            "standing": "past_dated",
            "in_force": 1,
            "status_before": "pending",
            "status": "resolved",
        }
    ]
    assert listings(db) == [notice, (2, C, "resolved", dt.date(2026, 4, 16), dt.date(2026, 4, 10), 2)]
    with open_store(db, key="") as store:
        assert store.execute(
            "SELECT subject_id, ref_id, text_en, text_zh FROM notifications WHERE kind = 'listing_withdrawn'"
        ).fetchall() == [
            (
                C,
                2,
                "Correction: blacklist (major tax evasion) (record X9): the notice dated 2026-02-15 was made in error "
                "by run 2, a run dated before the run then in force (as of 2026-02-15), which is not in force, and is "
                "withdrawn: you are not listed, and the listing is withdrawn.",
                "更正：失信名单（重大税收违法）（记录 X9）：2026-02-15 的列入通知系第 2 次评分"
                "（日期早于当时生效评分的评分，评分日期 2026-02-15）误发，该评分并未生效，现予撤回：您未被列入，"
                "该列入已撤回。",
            )
        ]
        assert [
            json.loads(d)["status"]
            for (d,) in store.execute("SELECT detail FROM audit_log WHERE action = 'listing_put_back'").fetchall()
        ] == ["resolved"]
    # run 1 still does not find it: no run lists C anew, and the repair has nothing more to do
    made(db, TODAY, TODAY)
    assert [x[:3] for x in listings(db)] == [(1, A, "pending"), (2, C, "resolved")]
    again = cli(db, "due", "put-back-listings", "--json")
    assert (again.returncode, json.loads(again.stdout)) == (0, [])


def notices(db: Path, listing_id: int) -> list[tuple[object, ...]]:
    with open_store(db, key="") as store:
        return store.execute(
            "SELECT created_on, kind, text_en FROM notifications WHERE ref_id = ? AND kind <> 'listing_notice' "
            "ORDER BY notification_id",
            [listing_id],
        ).fetchall()


WHAT_IF_EFFECTIVE = (
    dt.date(2027, 2, 1),
    "listing_effective",
    "blacklist (judgment defaulter): the notice period ended; you have been listed since 2027-02-01.",
)


def test_a_listing_whose_notice_period_is_over_takes_effect_on_the_day_of_the_repair(old_store: Path) -> None:
    """Put back on 2026-06-10, the day after B's notice period (run 4 gives it until 2026-06-09) ended: B is not put
    back in his notice period (it ran until a day past, and the next daily job would list him again with a second
    notice) but listed from that day, told so once, and the what-if's notice withdrawn."""
    db = old_store
    put_back = cli(db, "due", "put-back-listings", today="2026-06-10")
    assert (put_back.returncode, put_back.stderr) == (0, "")
    assert put_back.stdout.splitlines()[0] == (
        f"listing 2 ({B}): effective -> effective, moved by run 3 (what_if); run in force: 4"
    )
    assert listings(db)[1] == (2, B, "effective", dt.date(2026, 6, 9), None, 4)
    assert notices(db, 2) == [
        WHAT_IF_EFFECTIVE,
        (
            dt.date(2026, 6, 10),
            "listing_withdrawn",
            "Correction: blacklist (judgment defaulter) (record J2): the notice dated 2027-02-01 was made in error by "
            "run 3, a what-if dated ahead of its day (as of 2027-02-01), which is not in force, and is withdrawn: the "
            "notice period ran until 2026-06-09; you are listed since 2026-06-10.",
        ),
        (
            dt.date(2026, 6, 10),
            "listing_effective",
            "blacklist (judgment defaulter): the notice period ended; you have been listed since 2026-06-10.",
        ),
    ]
    with open_store(db, key="") as store:
        zh = store.one("SELECT text_zh FROM notifications WHERE kind = 'listing_withdrawn'")
        assert zh.endswith("现予撤回：通知期至 2026-06-09；自 2026-06-10 起被列入。")
        assert [x["since"] for x in public_lookup(store, "李四")] == ["2026-06-10"]
    # the next run keeps it in effect and tells nobody again
    made(db, "2026-06-11", "2026-06-11")
    assert listings(db)[1] == (2, B, "effective", dt.date(2026, 6, 9), None, 5)
    assert len(notices(db, 2)) == 3


def test_a_listing_the_run_in_force_puts_in_effect_too_is_dated_by_that_run(old_store: Path) -> None:
    """Run 5, ordinary, as of 2026-06-10, is in force: B's listing is in effect as it gives it, but since 2026-06-10,
    not since the what-if's 2027-02-01 (a day to come). The what-if's notice is withdrawn and B told he is listed
    since 2026-06-10."""
    db = old_store
    made(db, "2026-06-10", "2026-06-10")
    with open_store(db, key="") as store:
        assert [x["since"] for x in public_lookup(store, "李四")] == ["2027-02-01"]  # the defect
    put_back = cli(db, "due", "put-back-listings", today="2026-06-12")
    assert (put_back.returncode, put_back.stderr) == (0, "")
    assert put_back.stdout.splitlines()[0] == (
        f"listing 2 ({B}): effective -> effective, moved by run 3 (what_if); run in force: 5"
    )
    assert listings(db)[1] == (2, B, "effective", dt.date(2026, 6, 9), None, 5)
    assert notices(db, 2)[1:] == [
        (
            dt.date(2026, 6, 12),
            "listing_withdrawn",
            "Correction: blacklist (judgment defaulter) (record J2): the notice dated 2027-02-01 was made in error by "
            "run 3, a what-if dated ahead of its day (as of 2027-02-01), which is not in force, and is withdrawn: the "
            "notice period ran until 2026-06-09; you are listed since 2026-06-10.",
        ),
        (
            dt.date(2026, 6, 10),
            "listing_effective",
            "blacklist (judgment defaulter): the notice period ended; you have been listed since 2026-06-10.",
        ),
    ]
    with open_store(db, key="") as store:
        assert [x["since"] for x in public_lookup(store, "李四")] == ["2026-06-10"]
    again = cli(db, "due", "put-back-listings", "--json", today="2026-06-12")
    assert (again.returncode, json.loads(again.stdout)) == (0, [])


def past_dated_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, standing: str, run_4: bool = False) -> Path:
    """Runs 1 (as of 2026-04-10), 2 (past-dated, as of 2026-03-20, marked ``standing``) and 3 (a what-if as of
    2027-02-01) of the world below, both listings put in effect by run 3, and with ``run_4`` run 4 (ordinary, as of
    2026-04-10); returns the store's path (closed)."""
    monkeypatch.setenv("SOCIALCREDIT_TODAY", TODAY)
    name = f"put-back-past-dated-{standing}"
    if run_4:
        return kept(tmp_path, f"{name}-4", lambda where: _run_4(where, monkeypatch, standing))
    return kept(tmp_path, name, lambda where: _past_dated_world(where, monkeypatch, standing))


def _run_4(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, standing: str) -> Path:
    db = past_dated_world(tmp_path, monkeypatch, standing)
    made(db, TODAY, TODAY)
    return db


def _past_dated_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, standing: str) -> Path:
    monkeypatch.setenv("SOCIALCREDIT_TODAY", TODAY)
    built(tmp_path).close()
    db = tmp_path / "due.duckdb"
    made(db, TODAY, TODAY)
    store = open_store(db, key="")
    row = ["J2", B, "court_judgment", "2026-03-01", "civil", "9000", "unfulfilled", "true"]
    report = ingest_file(store, write_csv(tmp_path / "j2.csv", JUDGMENT, [row]), "courts", today=dt.date(2026, 4, 5))
    assert not report.errors
    with store.transaction():  # run 2 moves the listings, as that release let it
        store.execute("UPDATE score_runs SET standing = 'rerun' WHERE run_id = 1")
    store.close()
    made(db, "2026-03-20", "2026-03-20")  # its notices dated its date, as that release dated them
    made(db, "2027-02-01", "2027-02-01")
    store = open_store(db, key="")
    with store.transaction():  # the store as that release left it
        store.execute("ALTER TABLE score_runs DROP COLUMN standing")
        store.execute("UPDATE score_runs SET started_at = TIMESTAMP '2026-04-10 12:00:00'")
        store.execute("DELETE FROM schema_version WHERE version >= 45")
    store.close()
    with open_store(db, key="") as store, store.transaction():  # migration 45, and run 2's standing as it left it
        store.execute("UPDATE score_runs SET standing = ? WHERE run_id = 2", [standing])
        assert store.execute("SELECT run_id, standing FROM score_runs ORDER BY run_id").fetchall() == [
            (1, "ordinary"),
            (2, standing),
            (3, "what_if"),
        ]
    return db


@pytest.mark.parametrize("standing", ["past_dated", "ordinary"])
def test_a_listing_a_past_dated_run_noticed_and_a_what_if_put_in_effect_is_put_back_with_a_full_notice_period(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, standing: str
) -> None:
    """Run 1, as of 2026-04-10, gives A notice (J1). The courts file J2 against B. A release before 2026-12-05 made
    run 2 as of 2026-03-20 (past-dated: B noticed on 2026-03-20, listing from 2026-05-19) and run 3, a what-if as of
    2027-02-01, putting both listings in effect. Migration 45 marks run 3 a what-if, and run 2 past-dated, or, as it
    does for that release's runs (their ``listings`` audit entry had no ``past_dated`` key), ordinary: run 2 was made
    before migration 45 and is dated before run 1, made before it, so it is past-dated all the same. Run 4, ordinary,
    as of 2026-04-10, is in force and finds both causes. Put back, both listings are in their notice period, B's
    until 2026-06-09 as run 4 gives it (not run 2's 2026-05-19, which would cut his notice period short)."""
    db = past_dated_world(tmp_path, monkeypatch, standing, run_4=True)
    assert listings(db) == [
        (1, A, "effective", dt.date(2026, 6, 9), None, 4),
        (2, B, "effective", dt.date(2026, 5, 19), None, 4),
    ]

    put_back = cli(db, "due", "put-back-listings")
    assert (put_back.returncode, put_back.stderr) == (0, "")
    assert put_back.stdout.splitlines()[:2] == [
        f"listing 1 ({A}): effective -> pending, moved by run 3 (what_if); run in force: 4",
        f"listing 2 ({B}): effective -> pending, moved by run 3 (what_if); run in force: 4",
    ]
    assert listings(db) == [
        (1, A, "pending", dt.date(2026, 6, 9), None, 4),
        (2, B, "pending", dt.date(2026, 6, 9), None, 4),
    ]
    # both notices B was given in error are withdrawn, each named with the run that made it
    assert notices(db, 2)[1:] == [
        (
            dt.date(2026, 4, 10),
            "listing_withdrawn",
            "Correction: blacklist (judgment defaulter) (record J2): the notice dated 2026-03-20 was made in error by "
            "run 2, a run dated before the run then in force (as of 2026-03-20), and the notice dated 2027-02-01 by "
            "run 3, a what-if dated ahead of its day (as of 2027-02-01); neither run is in force, and both notices "
            "are withdrawn: you are not listed; the notice period runs until 2026-06-09, when the listing takes "
            "effect unless the cause is resolved before then.",
        )
    ]
    with open_store(db, key="") as store:
        assert store.one("SELECT text_zh FROM notifications WHERE kind = 'listing_withdrawn' AND ref_id = 2") == (
            "更正：失信名单（失信被执行人）（记录 J2）：2026-03-20 的列入通知系第 2 次评分（日期早于当时生效评分的"
            "评分，评分日期 2026-03-20）误发，2027-02-01 的列入通知系第 3 次评分（日期在当日之后的假设评分，评分日期 "
            "2027-02-01）误发，两次评分均未生效，两份通知现一并撤回：您未被列入；通知期至 2026-06-09，除非在此之前"
            "原因消除，届时起列入。"
        )
        assert public_lookup(store, "李四") == []
        [detail] = [
            json.loads(d)
            for (d,) in store.execute(
                "SELECT detail FROM audit_log WHERE action = 'listing_put_back' AND subject_id = ?", [B]
            ).fetchall()
        ]
        assert (detail["effective_on_before"], detail["effective_on"]) == ("2026-05-19", "2026-06-09")


def test_a_notice_period_is_re_dated_from_the_day_the_run_that_found_the_cause_was_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The world above, with run 4 (as of 2026-04-10) made late, on 2026-05-01: a notice it gave would be dated
    2026-05-01 and run 60 days, until 2026-06-30. Put back, B's notice period runs from that day too, until
    2026-06-30; until 2026-12-06 it ran from run 4's date, until 2026-06-09, shorter than run 4 gives."""
    db = past_dated_world(tmp_path, monkeypatch, "ordinary")
    made(db, TODAY, "2026-05-01")
    put_back = cli(db, "due", "put-back-listings", today="2026-05-01")
    assert (put_back.returncode, put_back.stderr) == (0, "")
    assert listings(db) == [
        (1, A, "pending", dt.date(2026, 6, 9), None, 4),  # noticed by run 1, on its day: as before
        (2, B, "pending", dt.date(2026, 6, 30), None, 4),
    ]
    [(on, kind, text)] = notices(db, 2)[1:]
    assert (on, kind) == (dt.date(2026, 5, 1), "listing_withdrawn")
    assert text.endswith(
        "you are not listed; the notice period runs until 2026-06-30, when the listing takes effect unless the cause "
        "is resolved before then."
    )


def test_a_past_dated_run_made_last_is_in_force_and_the_early_effect_of_its_notice_is_put_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The world above without run 4: run 2 (as of 2026-03-20, marked ordinary by migration 45) is the ordinary run
    made last, so it is the run in force, and its notice to B (until 2026-05-19) stands. Run 3, a what-if, put both
    listings in effect early: both are put back to their notice periods, B's until 2026-05-19 as run 2 gives it, and
    only the what-if's notice is withdrawn."""
    db = past_dated_world(tmp_path, monkeypatch, "ordinary")
    with open_store(db, key="") as store:
        assert run_in_force(store, "beijing")["run_id"] == 2
        assert [x["since"] for x in public_lookup(store, "李四")] == ["2027-02-01"]  # the defect
    put_back = cli(db, "due", "put-back-listings")
    assert (put_back.returncode, put_back.stderr) == (0, "")
    assert put_back.stdout.splitlines() == [
        f"listing 1 ({A}): effective -> pending, moved by run 3 (what_if); run in force: 2",
        f"listing 2 ({B}): effective -> pending, moved by run 3 (what_if); run in force: 2",
        "2 listings put back; each resident's notice is in their file and queued in the outbox (not sent by this "
        "command).",
    ]
    assert listings(db) == [
        (1, A, "pending", dt.date(2026, 6, 9), None, 2),
        (2, B, "pending", dt.date(2026, 5, 19), None, 2),
    ]
    assert notices(db, 2)[1:] == [
        (
            dt.date(2026, 4, 10),
            "listing_withdrawn",
            "Correction: blacklist (judgment defaulter) (record J2): the notice dated 2027-02-01 was made in error by "
            "run 3, a what-if dated ahead of its day (as of 2027-02-01), which is not in force, and is withdrawn: you "
            "are not listed; the notice period runs until 2026-05-19, when the listing takes effect unless the cause "
            "is resolved before then.",
        )
    ]
    with open_store(db, key="") as store:
        assert public_lookup(store, "李四") == []


@pytest.mark.parametrize("standing", ["past_dated", "ordinary"])
def test_a_past_dated_notice_is_re_dated_from_the_first_run_in_force_that_found_the_cause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, standing: str
) -> None:
    """The world above, and run 5, ordinary, as of 2026-05-01, made before the repair on 2026-05-01: B's notice
    period still runs from run 4 (as of 2026-04-10), the first ordinary run after run 2 to find J2, until 2026-06-09
    as a run after run 4 would have kept it, not from run 5's date (until 2026-06-30): the later the repair, the
    later B would be listed."""
    db = past_dated_world(tmp_path, monkeypatch, standing, run_4=True)
    made(db, "2026-05-01", "2026-05-01")
    put_back = cli(db, "due", "put-back-listings", "--json", today="2026-05-01")
    assert put_back.returncode == 0, put_back.stderr
    assert [(x["listing_id"], x["in_force"], x["status"]) for x in json.loads(put_back.stdout)] == [
        (1, 5, "pending"),
        (2, 5, "pending"),
    ]
    assert listings(db) == [
        (1, A, "pending", dt.date(2026, 6, 9), None, 5),
        (2, B, "pending", dt.date(2026, 6, 9), None, 5),
    ]


# --- the set-based put-back gives what the listings put back one by one gave -------------------------------------


class _Frozen(dt.datetime):
    """The audit log's clock stopped, so that entries written at different moments have the same hashes."""

    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> _Frozen:
        return cls(2026, 4, 10, 12, 0, 0, 123, tzinfo=tz)


def put_back_one_by_one(store: Store, day: dt.date, channel: str) -> list[int]:
    """The reference: each listing put back by statements of its own (as put_back_listings did before it wrote a page
    of listings in a statement per table), the same rows of ``_MOVED`` judged by the same ``_target`` and told in the
    same ``_words``; returns the listings put back."""
    done: list[int] = []
    words: dict[tuple[str, str, str], dict[str, str]] = {}
    taking: dict[dt.date, list[int]] = {}
    with store.transaction():
        for row in store.rows(withdrawals._MOVED):
            target = withdrawals._target(row, day)
            if target is None:
                continue
            listing_id, subject_id = int(row["listing_id"]), str(row["subject_id"])
            in_force = None if row["in_force"] is None else int(row["in_force"])
            status, effective_on, on = target
            if status == "resolved":
                closed = row["closed_on"] if row["status"] == "delisted" else day
                store.execute(
                    "UPDATE listings SET status = 'resolved', closed_on = ?, cause_present = ? WHERE listing_id = ?",
                    [closed, bool(row["found"]), listing_id],
                )
            else:
                store.execute(
                    "UPDATE listings SET status = 'pending', effective_on = ?, closed_on = NULL, "
                    "cause_present = true, last_run_id = ? WHERE listing_id = ?",
                    [effective_on, in_force, listing_id],
                )
            en, zh = withdrawals._words(store, row, target, words)
            notify(store, subject_id, "listing_withdrawn", listing_id, en, zh, day)
            title = "更正：列入通知撤回 / Correction: a listing notice withdrawn"
            message = queue_message(store, "listing_withdrawn", subject_id, channel, title, f"{zh}\n\n{en}\n")
            moved_by, standing = int(row["moved_by"]), str(row["standing"])
            reason = f"run {moved_by} ({standing}, as of {row['moved_as_of']}) is not in force and moves no listing; "
            reason += "no run in force" if in_force is None else f"put back as run {in_force}, in force, gives"
            detail: dict[str, Any] = {
                "listing_id": listing_id,
                "run_id": moved_by,
                "standing": standing,
                "moved": row["how"],
                "in_force": in_force,
                "status_before": row["status"],
                "status": status,
                "reason": reason,
                "message_id": None if message is None else message.message_id,
            }
            if effective_on != row["effective_on"]:
                detail["effective_on_before"] = row["effective_on"]
                detail["effective_on"] = effective_on
            append_audit(store, "registry", "listing_put_back", subject_id, detail)
            done.append(listing_id)
            if on is not None:
                taking.setdefault(on, []).append(listing_id)
        for on, ids in sorted(taking.items()):
            store.execute("CREATE OR REPLACE TEMP TABLE sc_became (listing_id BIGINT)")
            store.con.executemany("INSERT INTO sc_became VALUES (?)", [(i,) for i in ids])
            take_effect(store, on, "registry", {"put_back": True})
    return done


# every column but the moment a row was written (``now()``: the transaction's start); the audit log's clock is stopped
TABLES = {
    "listings": "SELECT * FROM listings ORDER BY listing_id",
    "audit_log": "SELECT * FROM audit_log ORDER BY seq",
    "notifications": "SELECT * EXCLUDE (recorded_at) FROM notifications ORDER BY notification_id",
    "outbox": "SELECT * EXCLUDE (created_at) FROM outbox ORDER BY message_id",
    "counters": "SELECT * FROM counters ORDER BY name",
}


def tables(store: Store) -> dict[str, list[tuple[object, ...]]]:
    return {name: store.execute(sql).fetchall() for name, sql in TABLES.items()}


def both_ways(db: Path, day: str, channel: str = "outbox") -> tuple[dict[str, Any], dict[str, Any], list[int]]:
    """The store ``db`` put back on ``day`` one listing after the other and set-based, each on a copy of it: the
    tables after each, and the listings put back."""
    on = dt.date.fromisoformat(day)
    one, bulk = db.with_name("one.duckdb"), db.with_name("bulk.duckdb")
    shutil.copy(db, one)
    shutil.copy(db, bulk)
    with open_store(one, key="") as store:
        put = put_back_one_by_one(store, on, channel)
        reference = tables(store)
    with open_store(bulk, key="") as store:
        whole = verify_audit(store) == []  # not where a world lost entries, as a store can have lost them
        assert [x["listing_id"] for x in withdrawals.put_back_listings(store, on, channel=channel)] == put
        assert not whole or verify_audit(store) == []
        return reference, tables(store), put


@pytest.fixture
def frozen_audit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "dt", SimpleNamespace(datetime=_Frozen, UTC=dt.UTC, date=dt.date))


@pytest.mark.usefixtures("frozen_audit")
@pytest.mark.parametrize(
    ("day", "later_run", "page", "put"),
    [
        (TODAY, None, 10_000, [2]),  # back in its notice period
        ("2026-06-10", None, 1, [2]),  # in effect on the day of the repair (take_effect)
        ("2026-06-12", "2026-06-10", 10_000, [2]),  # in effect as the run in force dates it
    ],
)
def test_put_back_set_based_gives_the_rows_one_by_one_gave(
    old_store: Path, monkeypatch: pytest.MonkeyPatch, day: str, later_run: str | None, page: int, put: list[int]
) -> None:
    if later_run is not None:
        made(old_store, later_run, later_run)
    monkeypatch.setattr(withdrawals, "PAGE", page)
    reference, bulk, done = both_ways(old_store, day)
    assert done == put
    assert bulk == reference


@pytest.mark.usefixtures("frozen_audit")
@pytest.mark.parametrize(("channel", "page"), [("outbox", 10_000), ("email", 1), ("email", 2)])
def test_put_back_set_based_of_several_listings_gives_the_rows_one_by_one_gave(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, channel: str, page: int
) -> None:
    """Two listings, both notices of B withdrawn in one message, on one page or a page each; by e-mail, A has an
    address on file (the latest of two) and B none (his message kept as ``no_address``, the audit entry naming no
    message)."""
    db = past_dated_world(tmp_path, monkeypatch, "past_dated", run_4=True)
    with open_store(db, key="") as store, store.transaction():
        store.execute(
            "INSERT INTO contacts VALUES (?, 'email', 'old@example.org', TIMESTAMP '2026-01-01 00:00:00', 'test'), "
            "(?, 'email', 'a@example.org', TIMESTAMP '2026-02-01 00:00:00', 'test')",
            [A, A],
        )
    monkeypatch.setattr(withdrawals, "PAGE", page)
    reference, bulk, done = both_ways(db, TODAY, channel)
    assert done == [1, 2]
    assert bulk == reference
    recipients = [(r[2], r[4], r[7]) for r in bulk["outbox"]]
    if channel == "email":
        assert recipients == [(A, "a@example.org", "queued"), (B, "", "no_address")]
    else:
        assert recipients == [(A, f"resident {A}", "queued"), (B, f"resident {B}", "queued")]
    details = [json.loads(r[5]) for r in bulk["audit_log"] if r[3] == "listing_put_back"]
    assert [d["message_id"] for d in details] == ([1, None] if channel == "email" else [1, 2])


@pytest.mark.usefixtures("frozen_audit")
def test_put_back_set_based_of_a_notice_withdrawn_gives_the_rows_one_by_one_gave(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C's notice, made by a past-dated run whose cause the run in force does not find: resolved, closed on the day."""
    reference, bulk, done = both_ways(noticed_only_world(tmp_path, monkeypatch), TODAY)
    assert done == [2]
    assert bulk == reference
    assert bulk["listings"][1][11:] == ("resolved", dt.date(2026, 4, 10), False, 2)


def test_a_put_back_failing_mid_way_leaves_nothing_done(old_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The listings updated, the notices written and the messages queued, the audit entries fail: all is rolled back,
    and the repair run again puts the listing back as if the first had not been tried."""
    with open_store(old_store, key="") as store:
        before = tables(store)

    def broken(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(withdrawals, "append_audits", broken)
    with open_store(old_store, key="") as store:
        with pytest.raises(OSError, match="disk full"):
            withdrawals.put_back_listings(store, dt.date(2026, 4, 10))
        assert tables(store) == before
    monkeypatch.undo()
    put_back = cli(old_store, "due", "put-back-listings", "--json")
    assert [(x["listing_id"], x["status"]) for x in json.loads(put_back.stdout)] == [(2, "pending")]
    assert listings(old_store)[1] == (2, B, "pending", dt.date(2026, 6, 9), None, 4)


# --- the bulk writes, against the writes of one row each, on any rows (hypothesis) -------------------------------

_SUBJECTS = [A, B, C]
_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
_DETAIL = st.dictionaries(st.text(max_size=8), st.one_of(st.none(), st.integers(), _TEXT, st.dates()), max_size=4)


def _written(store: Store, write: Callable[[], object]) -> tuple[object, dict[str, list[tuple[object, ...]]]]:
    """What ``write`` returns and the tables after it, the transaction then rolled back."""
    store.execute("BEGIN TRANSACTION")
    try:
        return write(), tables(store)
    finally:
        store.execute("ROLLBACK")


@pytest.mark.usefixtures("frozen_audit")
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(st.sampled_from([*_SUBJECTS, None]), _DETAIL, _TEXT, _TEXT, st.one_of(st.none(), st.integers(1, 9))),
        max_size=12,
    ),
    channel=st.sampled_from(["outbox", "email"]),
)
def test_bulk_writes_give_the_rows_of_one_row_each(
    bulk_store: Store,
    rows: list[tuple[str | None, dict[str, Any], str, str, int | None]],
    channel: str,
) -> None:
    """``append_audits``, ``notify_many`` and ``queue_messages`` give the rows, ids and audit chain that
    ``append_audit``, ``notify`` and ``queue_message`` called once per row in the same order give: A has two e-mail
    addresses on file (the later counts), B one, C none."""
    store = bulk_store
    day = dt.date(2026, 4, 10)
    told = [(s or A, ref, en, zh) for s, _, en, zh, ref in rows]
    title = "更正 / Correction"

    def one_by_one() -> object:
        seqs = [append_audit(store, "registry", "listing_put_back", s, d) for s, d, *_ in rows]
        ids = [notify(store, s, "listing_withdrawn", ref, en, zh, day) for s, ref, en, zh in told]
        messages = [queue_message(store, "listing_withdrawn", s, channel, title, en) for s, _, en, _ in told]
        return seqs[:1] or [None], ids, messages

    def in_bulk() -> object:
        first = audit.append_audits(store, "registry", "listing_put_back", [(s, d) for s, d, *_ in rows])
        ids = notify_many(store, "listing_withdrawn", day, told)
        messages = queue_messages(store, "listing_withdrawn", channel, title, [(s, en) for s, _, en, _ in told])
        return [first], ids, messages

    assert _written(store, in_bulk) == _written(store, one_by_one)


@pytest.fixture(scope="module")
def bulk_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """One store for every example (each rolled back): an audit entry before, and the contacts above."""
    with open_store(tmp_path_factory.mktemp("bulk") / "bulk.duckdb", create=True, key="") as store:
        with store.transaction():
            append_audit(store, "test", "setup", None, {})
            store.execute(
                "INSERT INTO contacts VALUES (?, 'email', 'old@example.org', TIMESTAMP '2026-01-01 00:00:00', 't'), "
                "(?, 'email', 'a@example.org', TIMESTAMP '2026-02-01 00:00:00', 't'), "
                "(?, 'email', 'b@example.org', TIMESTAMP '2026-02-01 00:00:00', 't')",
                [A, A, B],
            )
        yield store
