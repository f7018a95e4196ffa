"""A judgment defaulter on the blacklist stays on it when a second unfulfilled judgment comes: the listing's cause
is the judgment it was noticed for while that judgment holds. A run's entry named the subject's newest record that
met the criterion, so the run after a second judgment took the first listing's cause for gone: it ended the listing
(delisted; resolved in its notice period) and noticed one for the second judgment with a grace period of its own,
and a flight was granted to a defaulter of two judgments (until 2026-12-06). The installed console script, in a
subprocess, each step on its own day, on a store made as its commands make it (the listing in effect, made in this
process: listed_for). The steps that only bring the store to the state a test reads (`ingest`, `score`, `due run`)
are made in this process as those commands make them (due_world.ingested, scored_on, due_run); what a test asserts
(`notices`, `decide`, `state check`, and `score` where its output is asserted) is asked of the console script."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb

from due_world import due_run, ingested, made_city, scored_on
from socialcredit.identifiers import make_ric
from socialcredit.store import open_store
from store_copies import copied

CLI = shutil.which("socialcredit", path=str(Path(sys.executable).parent)) or "socialcredit"
DEFAULTER = make_ric("110105", dt.date(1980, 3, 1), 12)
# What `notices --json` said on 2026-12-31 of a store listed_for made, kept beside it.
LISTED = "notices-2026-12-31.json"
HEADER = "record_id,subject_id,record_type,event_date,case_type,amount,status,defaulter,correction\n"


def sc(today: str, *args: str, db: Path, code: int = 0) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}
    proc = subprocess.run(
        [CLI, *args, "--db", str(db)],
        capture_output=True,
        text=True,
        env=env | {"COLUMNS": "200", "SOCIALCREDIT_TODAY": today},
        timeout=120,
        check=False,
    )
    assert proc.returncode == code, proc.stdout + proc.stderr
    return proc


def judgments(folder: Path, name: str, *rows: str, header: str = "") -> str:
    path = folder / name
    head = HEADER if not header else f"{HEADER.rstrip()},{header}\n"
    path.write_text(head + "".join(f"{r}\n" for r in rows), encoding="utf-8")
    return str(path)


def sent(day: str, path: str, *, db: Path) -> None:
    """The courts' file ``path`` ingested on ``day``, ``beijing`` scored as of that day, and the day's due-process
    job run: what `ingest`, `score` and `due run` do, made in this process (the tests assert what follows)."""
    ingested(db, path, "courts", day)
    scored_on(db, day)
    due_run(db, day)


def notices(today: str, db: Path) -> list[dict[str, Any]]:
    """What ``notices --json`` says on ``today``."""
    rows: list[dict[str, Any]] = json.loads(sc(today, "notices", "--json", db=db).stdout)
    return rows


def listings_in(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted((x["record_id"], x["status"], x["noticed_on"], x["effective_on"], x["closed_on"]) for x in rows)


def ids_in(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {x["record_id"]: x["listing_id"] for x in rows}


def listings(today: str, db: Path) -> list[tuple[Any, ...]]:
    return listings_in(notices(today, db))


def as_listed(db: Path) -> list[dict[str, Any]]:
    """What ``notices --json`` said on 2026-12-31 of the store ``listed_for`` made (read once, when it was made)."""
    rows: list[dict[str, Any]] = json.loads((db.parent / LISTED).read_text("utf-8"))
    return rows


def refused(today: str, db: Path) -> dict[str, Any]:
    asked = sc(today, "decide", DEFAULTER, "flight", "--purpose", "ticket purchase", "--json", db=db)
    decision: dict[str, Any] = json.loads(asked.stdout)
    assert decision["granted"] is False
    assert decision["lists"] == ["blacklist"]
    return decision


def listed_for(tmp_path: Path, *rows: str, others: str = "") -> Path:
    """A store where the defaulter's judgments ``rows`` were reported on 2026-11-01 and the listing noticed then for
    the first of them took effect on 2026-12-31 (``others``: rows ``subject_id,name`` of more residents): made once
    per process for each ``rows`` and ``others``, and copied."""
    made = hashlib.sha256(json.dumps([rows, others]).encode("utf-8")).hexdigest()[:16]
    copied(tmp_path, f"listed-{made}", lambda where: _listed(where, rows, others))
    db = tmp_path / "city.duckdb"
    assert listings_in(as_listed(db)) == [("J1", "effective", "2026-11-01", "2026-12-31", None)]
    return db


def _listed(folder: Path, rows: tuple[str, ...], others: str) -> None:
    """The store made in this process as the console's commands make it (init, the residents and the judgments
    ingested and beijing scored on 2026-11-01: due_world.made_city; `due run` on 2026-12-31), then what the console
    script's `notices --json` says of it on 2026-12-31, kept beside it."""
    batches = {
        "civil_affairs": f"subject_id,name\n{DEFAULTER},张三\n{others}",
        "courts": HEADER + "".join(f"{r}\n" for r in rows),
    }
    db = made_city(folder, batches, as_of="2026-11-01", today="2026-11-01")
    due_run(db, "2026-12-31")  # the notice's 60 days have passed: in effect
    (folder / LISTED).write_text(sc("2026-12-31", "notices", "--json", db=db).stdout, encoding="utf-8")


def test_a_second_judgment_does_not_end_the_listing_of_the_first(tmp_path: Path) -> None:
    first = f"J1,{DEFAULTER},court_judgment,2026-05-20,civil,50000,unfulfilled,true,"
    db = listed_for(tmp_path, first)

    second = f"J2,{DEFAULTER},court_judgment,2026-12-20,commercial,70000,unfulfilled,true,"
    ingested(db, judgments(tmp_path, "j2.csv", second), "courts", "2027-01-05")
    scored_on(db, "2027-01-05")
    # the first judgment is still unfulfilled: its listing stands (it was delisted, and J2 noticed)
    assert listings("2027-01-05", db) == [("J1", "effective", "2026-11-01", "2026-12-31", None)]
    asked = sc("2027-01-05", "decide", DEFAULTER, "flight", "--purpose", "ticket purchase", "--json", db=db)
    decision = json.loads(asked.stdout)
    assert decision["granted"] is False
    assert decision["lists"] == ["blacklist"]
    assert decision["score"] == 800  # 1000 - 100 for each unfulfilled judgment

    # the first fulfilled: its listing ends, and the second, still unfulfilled, is noticed with its grace period
    fulfilled = f"J1,{DEFAULTER},court_judgment,2026-05-20,civil,50000,fulfilled,true,true"
    ingested(db, judgments(tmp_path, "j1b.csv", fulfilled), "courts", "2027-01-10")
    scored_on(db, "2027-01-10")
    assert listings("2027-01-10", db) == [
        ("J1", "delisted", "2026-11-01", "2026-12-31", "2027-01-10"),
        ("J2", "pending", "2027-01-10", "2027-03-11", None),
    ]


def test_a_correction_of_the_named_judgment_keeps_its_listing(tmp_path: Path) -> None:
    """Two judgments of one day: the listing is noticed for the first reported (J1). J1 corrected (the amount) is a
    new version with a key larger than J2's: an entry ordered by the version's key named J2 from then on, so J1's
    listing was delisted and J2 noticed with a grace of its own, and the defaulter was granted a flight (until
    2026-12-06). A correction of the record is the same cause."""
    first = f"J1,{DEFAULTER},court_judgment,2026-05-20,civil,50000,unfulfilled,true,"
    second = f"J2,{DEFAULTER},court_judgment,2026-05-20,commercial,70000,unfulfilled,true,"
    db = listed_for(tmp_path, first, second)
    ids = ids_in(as_listed(db))
    refused("2026-12-31", db)

    corrected = f"J1,{DEFAULTER},court_judgment,2026-05-20,civil,55000,unfulfilled,true,true"
    sent("2027-01-05", judgments(tmp_path, "j1b.csv", corrected), db=db)
    now = notices("2027-01-05", db)  # one read for both
    assert listings_in(now) == [("J1", "effective", "2026-11-01", "2026-12-31", None)]
    assert ids_in(now) == ids
    assert refused("2027-01-05", db)["score"] == 800  # 1000 - 100 for each unfulfilled judgment
    # the next day's run from the records, not the state, names the same cause
    scored_on(db, "2027-01-06", from_records=True)
    assert listings("2027-01-06", db) == [("J1", "effective", "2026-11-01", "2026-12-31", None)]

    # withdrawn (sent as last received), J1 is no cause: its listing ends, and J2 is noticed with its own grace
    withdrawn = f"{corrected},true"
    ingested(db, judgments(tmp_path, "j1c.csv", withdrawn, header="withdrawn"), "courts", "2027-01-10")
    scored_on(db, "2027-01-10")
    assert listings("2027-01-10", db) == [
        ("J1", "delisted", "2026-11-01", "2026-12-31", "2027-01-10"),
        ("J2", "pending", "2027-01-10", "2027-03-11", None),
    ]


def test_a_judgment_reported_late_does_not_restart_the_notice(tmp_path: Path) -> None:
    """A judgment of an earlier day than the listed one's, reported after the listing took effect: an entry ordered
    by the event date named it from then on, so the listing of J1 was delisted and J0 noticed with a grace of its
    own (until 2026-12-06). The listing keeps the cause it was noticed for."""
    db = listed_for(tmp_path, f"J1,{DEFAULTER},court_judgment,2026-05-20,civil,50000,unfulfilled,true,")
    ids = ids_in(as_listed(db))

    earlier = f"J0,{DEFAULTER},court_judgment,2026-03-01,commercial,70000,unfulfilled,true,"
    sent("2027-01-05", judgments(tmp_path, "j0.csv", earlier), db=db)
    now = notices("2027-01-05", db)  # one read for both
    assert listings_in(now) == [("J1", "effective", "2026-11-01", "2026-12-31", None)]
    assert ids_in(now) == ids
    assert refused("2027-01-05", db)["score"] == 800


COURTS_KEYS = "SELECT record_id, version, record_key, first_key FROM records WHERE source_id = 'courts' ORDER BY 3"


def as_before_46(db: Path) -> list[str]:
    """Make the store ``db`` as the program before migration 46 left it (no first keys); returns its kept states."""
    with open_store(db, key="") as store:
        states = [str(t) for (t,) in store.execute("SELECT table_name FROM score_states").fetchall()]
        with store.transaction():
            store.execute("ALTER TABLE records DROP COLUMN first_key")
            for table in states:
                store.execute(f'ALTER TABLE "{table}" DROP COLUMN first_key')
            store.execute("DELETE FROM schema_version WHERE version >= 46")
    return states


def test_migration_46_gives_a_corrected_record_its_first_key_and_keeps_the_states(tmp_path: Path) -> None:
    """A store from before records kept their first key (migration 46), with J1 corrected after J2 of the same day
    was stored: the migration gives J1's second version J1's first key (the first versions none: their own key),
    gives the kept state's rows their records' first keys, and the next run keeps J1's listing."""
    first = f"J1,{DEFAULTER},court_judgment,2026-05-20,civil,50000,unfulfilled,true,"
    second = f"J2,{DEFAULTER},court_judgment,2026-05-20,commercial,70000,unfulfilled,true,"
    db = listed_for(tmp_path, first, second)
    ids = ids_in(as_listed(db))
    corrected = f"J1,{DEFAULTER},court_judgment,2026-05-20,civil,55000,unfulfilled,true,true"
    ingested(db, judgments(tmp_path, "j1b.csv", corrected), "courts", "2027-01-05")
    states = as_before_46(db)
    assert states
    with open_store(db, key="") as store:
        rows = store.execute(COURTS_KEYS).fetchall()
        (j1, _, k1, f1), (j2, _, _, f2), (j1b, v, _, f1b) = rows
        assert (j1, j2, j1b, v) == ("J1", "J2", "J1", 2)
        assert (f1, f2, f1b) == (None, None, k1)
        kept = [str(t) for (t,) in store.execute("SELECT table_name FROM score_states").fetchall()]
        assert kept == states
        (state,) = states
        rows = store.execute(f'SELECT DISTINCT record_key, first_key FROM "{state}" ORDER BY 1').fetchall()
    # the state's rows (J2, J1's second version) gain their records' first keys
    assert rows == [(rows[0][0], rows[0][0]), (rows[1][0], k1)]
    scored_on(db, "2027-01-05")
    now = notices("2027-01-05", db)  # one read for both
    assert listings_in(now) == [("J1", "effective", "2026-11-01", "2026-12-31", None)]
    assert ids_in(now) == ids
    assert json.loads(sc("2027-01-05", "state", "check", "beijing", "--json", db=db).stdout)["ok"]


def test_a_record_moved_onto_the_subject_is_a_new_cause(tmp_path: Path) -> None:
    """J0, stored before J1 for another resident, is corrected onto the defaulter after J1's listing took effect:
    its first key (older than J1's) made it the defaulter's record first stored, so J1's listing was delisted, J0
    noticed with a grace of its own and a flight granted. A record moved onto a subject is first stored for it
    when it moves."""
    other = make_ric("110105", dt.date(1985, 6, 1), 13)
    rows = (
        f"J0,{other},court_judgment,2026-03-01,civil,1000,unfulfilled,false,",
        f"J1,{DEFAULTER},court_judgment,2026-05-20,civil,50000,unfulfilled,true,",
    )
    db = listed_for(tmp_path, *rows, others=f"{other},李四\n")

    moved = f"J0,{DEFAULTER},court_judgment,2026-03-01,commercial,70000,unfulfilled,true,true"
    sent("2027-01-05", judgments(tmp_path, "j0b.csv", moved), db=db)
    assert listings("2027-01-05", db) == [("J1", "effective", "2026-11-01", "2026-12-31", None)]
    assert refused("2027-01-05", db)["score"] == 800  # 1000 - 100 for each unfulfilled judgment
    with open_store(db, key="") as store:
        stored = store.execute(COURTS_KEYS).fetchall()
    assert [(r, v, f) for r, v, _, f in stored] == [("J0", 1, None), ("J1", 1, None), ("J0", 2, None)]
    # migration 46 gives the moved version no first key either
    as_before_46(db)
    with open_store(db, key="") as store:
        assert store.execute(COURTS_KEYS).fetchall() == stored


def test_a_withdrawn_record_sent_again_does_not_take_the_cause_back(tmp_path: Path) -> None:
    """J1 listed, then withdrawn: J2 is noticed and in effect from 2027-03-06. J1 sent again kept its first key (older
    than J2's), so it became the cause again: J2's listing was delisted, J1 noticed with a grace of its own and a
    flight granted. A record sent again after its withdrawal is first stored when sent again."""
    first = f"J1,{DEFAULTER},court_judgment,2026-05-20,civil,50000,unfulfilled,true,"
    second = f"J2,{DEFAULTER},court_judgment,2026-05-20,commercial,70000,unfulfilled,true,"
    db = listed_for(tmp_path, first, second)
    withdrawn = f"{first}true,true"
    ingested(db, judgments(tmp_path, "w.csv", withdrawn, header="withdrawn"), "courts", "2027-01-05")
    scored_on(db, "2027-01-05")
    due_run(db, "2027-03-10")
    after_withdrawal = [
        ("J1", "delisted", "2026-11-01", "2026-12-31", "2027-01-05"),
        ("J2", "effective", "2027-01-05", "2027-03-06", None),
    ]
    assert listings("2027-03-10", db) == after_withdrawal

    sent("2027-03-11", judgments(tmp_path, "r.csv", f"{first}true"), db=db)
    assert listings("2027-03-11", db) == after_withdrawal
    assert refused("2027-03-11", db)["score"] == 800
    with open_store(db, key="") as store:
        stored = store.execute(COURTS_KEYS).fetchall()
    k1 = stored[0][2]
    expected = [("J1", 1, None), ("J2", 1, None), ("J1", 2, k1), ("J1", 3, None)]
    assert [(r, v, f) for r, v, _, f in stored] == expected
    # migration 46 gives the version sent again no first key either (the withdrawal keeps J1's)
    as_before_46(db)
    with open_store(db, key="") as store:
        assert store.execute(COURTS_KEYS).fetchall() == stored


def test_migration_46_refuses_a_field_named_first_key(tmp_path: Path) -> None:
    """A store whose records have a field named first_key (published before the name was reserved): the migration
    added no column (it was there) and filled the field with record keys. It refuses, and the field keeps its
    values."""
    db = listed_for(tmp_path, f"J1,{DEFAULTER},court_judgment,2026-05-20,civil,50000,unfulfilled,true,")
    as_before_46(db)
    with duckdb.connect(str(db)) as con:  # the field's column, as a catalog of that time would have added it
        con.execute("ALTER TABLE records ADD COLUMN first_key VARCHAR")
        con.execute("UPDATE records SET first_key = 'a value of its own'")
    refused = sc("2027-01-05", "notices", db=db, code=2)
    assert refused.stderr == (
        "error: cannot upgrade the store to schema 46: its records have a field named first_key, a name the "
        "registry now keeps for itself (the key a record was first stored at); publish the field under another "
        "name and copy its values with the socialcredit that made the store, then open it again\n"
    )
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT DISTINCT first_key FROM records").fetchall() == [("a value of its own",)]
        assert con.execute("SELECT max(version) FROM schema_version").fetchall() == [(45,)]


BEFORE_46 = (
    "the base run 1 predates the records' first keys (records.first_key, set by migration 46 and corrected for "
    "imported records by 47): its list entries may name another record than the one first stored, so every subject "
    "was computed instead of an incremental run"
)


def test_a_run_before_migration_46_is_no_incremental_base(tmp_path: Path) -> None:
    """An incremental run on a store upgraded to 46 took the run made before as its base and copied its entries
    (each naming the record the old way) for every subject it did not compute: none, with nothing changed. The
    run made before is no base: a full run is made instead, and said why (it said "full" and nothing else), and a
    run made after is a base again."""
    db = listed_for(tmp_path, f"J1,{DEFAULTER},court_judgment,2026-05-20,civil,50000,unfulfilled,true,")
    as_before_46(db)
    args = ("score", "--policy", "beijing", "--as-of", "2027-01-06", "--incremental")
    assert sc("2027-01-06", *args, db=db).stdout.splitlines()[-2:] == [
        "Run 2: beijing 2026.2 as of 2027-01-06 (full, from the scoring state): 1 subject scored, 1 computed; "
        "met the criteria: blacklist 1.",
        f"Full, not incremental: {BEFORE_46}.",
    ]
    assert sc("2027-01-06", *args, db=db).stdout.splitlines()[-1] == (
        "Run 3: beijing 2026.2 as of 2027-01-06 (incremental, from the scoring state): 1 subject scored, 0 computed; "
        "met the criteria: blacklist 1."
    )


def test_score_says_its_run_and_its_refusals_in_chinese_with_lang_zh(tmp_path: Path) -> None:
    """`score --lang zh`: the run, why it is full, and its refusals in Chinese (`score` had no --lang until
    2026-12-06: all of it in English)."""
    db = listed_for(tmp_path, f"J1,{DEFAULTER},court_judgment,2026-05-20,civil,50000,unfulfilled,true,")
    as_before_46(db)
    args = ("score", "--policy", "beijing", "--as-of", "2027-01-06", "--incremental", "--lang", "zh")
    assert sc("2027-01-06", *args, db=db).stdout.splitlines()[-2:] == [
        "第 2 次评分：beijing 2026.2，评分日期 2027-01-06（全量计算，读取评分状态）：1 个主体已评分，1 个重新计算；"
        "符合条件：blacklist 1。",
        "全量而非增量：基准评分（第 1 次）早于记录的首个键（records.first_key，由迁移 46 设置、迁移 47 为导入的记录"
        "更正）：其名单条目可能指向首次存储的记录以外的记录，因此重新计算了每个主体，而非增量评分。",
    ]
    refused = sc("2027-01-06", "score", "--rerun", "99", "--lang", "zh", db=db, code=2)
    assert (refused.stdout, refused.stderr) == ("", "错误：没有第 99 次评分\n")
    refused = sc("2027-01-06", "score", "--rerun", "99", db=db, code=2)
    assert refused.stderr == "error: no score run 99\n"


def test_the_runs_json_says_why_an_incremental_run_on_a_run_before_migration_46_is_full(tmp_path: Path) -> None:
    """`score --incremental --json` on the same store: the run's JSON says why it is full (``full_because``; until
    2026-12-06 only mode "full"), and says nothing of the kind on the incremental run after it; the runs' audit
    entries (``score_run``) say the same."""
    db = listed_for(tmp_path, f"J1,{DEFAULTER},court_judgment,2026-05-20,civil,50000,unfulfilled,true,")
    as_before_46(db)
    args = ("score", "--policy", "beijing", "--as-of", "2027-01-06", "--incremental", "--json")
    runs = [json.loads(sc("2027-01-06", *args, db=db).stdout) for _ in range(2)]
    assert [(r["run_id"], r["mode"], r["base_run_id"], r["full_because"]) for r in runs] == [
        (2, "full", None, BEFORE_46),
        (3, "incremental", 2, None),
    ]
    con = duckdb.connect(str(db), read_only=True)
    try:
        entries = con.execute("SELECT detail FROM audit_log WHERE action = 'score_run' ORDER BY seq").fetchall()
    finally:
        con.close()
    audited = [json.loads(d) for (d,) in entries][-2:]
    assert [(e["run_id"], e["mode"], e.get("full_because")) for e in audited] == [
        (2, "full", BEFORE_46),
        (3, "incremental", None),
    ]
