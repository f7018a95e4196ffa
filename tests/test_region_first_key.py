"""A shared judgment applied in another region keeps the cause it was listed for there, as at ingest
(test_listing_second_cause.py): a record moved onto the subject by a correction, or sent again after its withdrawal,
is a new cause in the importing region too (records.first_key, migration 46: store.next_first_key_sql). Two regions,
Beijing sharing its courts' judgments with Tianjin, where the same residents live (each linked by the same identity
number): founded through the registry's functions (store, region, keys, residents, policy, trust; built once per
process and copied), each step after it on its own day, as the console commands do it (ingest, score, due run, region
export and import, through the registry's functions); what a test asserts (the notices, the decision, a state check,
the run after a migration) is asked of the installed console script in a subprocess. Slow, left to the full run."""

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
from unittest import mock

import pytest

from due_world import daily_job, due_run, opened_on
from socialcredit.clock import TODAY_ENV
from socialcredit.identifiers import make_ric
from socialcredit.policy import builtin_policy, load_policy
from socialcredit.regions import export_bundle, import_bundle, set_region
from socialcredit.regions.bundle import (
    encryption_key_path,
    load_private_key,
    new_encryption_key,
    new_private_key,
    public_key_text,
)
from socialcredit.regions.keys import trust_key
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.registry.reporting.impact_record import publish
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import score
from socialcredit.store import Store, open_store
from store_copies import copied
from test_listing_second_cause import refused  # the same decision asked, at the importing region

pytestmark = pytest.mark.slow

CLI = shutil.which("socialcredit", path=str(Path(sys.executable).parent)) or "socialcredit"
DEFAULTER = make_ric("110105", dt.date(1980, 3, 1), 12)
OTHER = make_ric("110105", dt.date(1985, 6, 1), 13)
THIRD = make_ric("110105", dt.date(1990, 9, 1), 14)
HEADER = "record_id,subject_id,record_type,event_date,case_type,amount,status,defaulter,correction"
REGIONS = {"beijing": ("110000", "Beijing"), "tianjin": ("120000", "Tianjin")}
FIRST = f"J1,{DEFAULTER},court_judgment,2026-05-20,civil,50000,unfulfilled,true,"
SECOND = f"J2,{DEFAULTER},court_judgment,2026-05-20,commercial,70000,unfulfilled,true,"


def sc(today: str, *args: str, db: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}
    proc = subprocess.run(
        [CLI, *args, *(("--db", str(db)) if db else ())],
        capture_output=True,
        text=True,
        env=env | {"COLUMNS": "200", "SOCIALCREDIT_TODAY": today},
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def store(folder: Path, region: str) -> Path:
    return folder / f"{region}.duckdb"


def judgments(folder: Path, name: str, *rows: str, withdrawn: bool = False) -> str:
    path = folder / name
    head = HEADER + (",withdrawn" if withdrawn else "")
    path.write_text(head + "\n" + "".join(f"{r}\n" for r in rows), encoding="utf-8")
    return str(path)


def scored_and_run(day: str, opened: Store) -> None:
    """What `score --policy beijing --as-of DAY` then `due run` do on ``day`` (the store ``opened`` on that day: see
    due_world.opened_on): a run of the newest published Beijing policy, then the daily due-process job
    (due_world.daily_job; one opening of the store for both, each opening and closing costing about half a
    second)."""
    score(opened, resolve_policy(opened, "beijing"), dt.date.fromisoformat(day))
    daily_job(opened)


def sent(day: str, folder: Path, name: str, *rows: str, withdrawn: bool = False) -> None:
    """The courts' rows ingested in Beijing on ``day``, Beijing scored as of that day and its due-process job run
    (as `ingest --source courts`, `score` and `due run` do, through the registry's functions: the console's answers
    are asserted by the tests of those commands)."""
    with opened_on(store(folder, "beijing"), day) as opened:
        report = ingest_file(opened, judgments(folder, name, *rows, withdrawn=withdrawn), "courts")
        assert (report.rejected, report.reject_error) == (0, None), report.as_dict()
        scored_and_run(day, opened)


def shared(day: str, folder: Path) -> None:
    """Beijing's next bundle exported and imported in Tianjin on ``day``, Tianjin scored as of that day and its
    due-process job run (as `region export`, `region import`, `score` and `due run` do, through the registry's
    functions)."""
    n = len(list(folder.glob("beijing-*.json"))) + 1
    bundle = folder / f"beijing-{n}.json"
    with opened_on(store(folder, "beijing"), day) as opened:
        export_bundle(opened, "beijing", folder / "beijing.key", bundle)
    with opened_on(store(folder, "tianjin"), day) as opened:
        import_bundle(opened, bundle)
        scored_and_run(day, opened)


def listings(today: str, db: Path) -> list[tuple[Any, ...]]:
    rows = json.loads(sc(today, "notices", "--subject", DEFAULTER, "--json", db=db).stdout)
    return sorted((x["record_id"], x["status"], x["noticed_on"], x["effective_on"], x["closed_on"]) for x in rows)


def _founded(folder: Path, *, other_in_tianjin: bool) -> None:
    """Beijing and Tianjin on 2026-11-01, as `init`, `region setup`, `region keygen`, `ingest` of the residents,
    `policy publish --without-impact` and `region trust` make them, through the registry's functions: each knowing
    the defaulter and another resident (Tianjin a third one instead, without ``other_in_tianjin``), trusting each
    other and publishing the shipped Beijing policy sharing court judgments and the blacklist."""
    policy = folder / "beijing.yaml"
    shipped = builtin_policy("beijing")
    text = shipped.text.replace(f'version: "{shipped.policy.version}"', f'version: "{shipped.policy.version}.1"', 1)
    policy.write_text(text + "exchange:\n  shareable_record_types: [court_judgment]\n  lists: [blacklist]\n", "utf-8")
    subjects = folder / "subjects.csv"
    subjects.write_text(f"subject_id,name\n{DEFAULTER},张三\n{OTHER},李四\n", encoding="utf-8")
    defaulter_only = folder / "defaulter.csv"
    defaulter_only.write_text(f"subject_id,name\n{DEFAULTER},张三\n{THIRD},王五\n", encoding="utf-8")
    public = {}
    with mock.patch.dict(os.environ, {TODAY_ENV: "2026-11-01"}):
        for region, (code, name) in REGIONS.items():
            key = folder / f"{region}.key"
            for path, pem in ((key, new_private_key), (encryption_key_path(key), new_encryption_key)):
                path.write_bytes(pem())
                path.chmod(0o600)  # a private key file is its owner's only (as `region keygen` writes it)
            public[region] = public_key_text(load_private_key(key))
            known = subjects if other_in_tianjin or region == "beijing" else defaulter_only
            with open_store(store(folder, region), create=True, key="") as db:
                set_region(db, code, name)
                ingest_file(db, known, "civil_affairs")
                publish(db, load_policy(policy, db.catalog), None)
        for region, other in (("beijing", "tianjin"), ("tianjin", "beijing")):
            with open_store(store(folder, region), key="") as db:
                trust_key(db, *REGIONS[other], public[other])


def _regions(folder: Path, *rows: str, other_in_tianjin: bool = True) -> None:
    """The two regions of _founded (copied); Beijing's courts report ``rows`` on 2026-11-01, Tianjin imports Beijing's
    first bundle that day, and both listings take effect on 2026-12-31."""
    name = "regions-founded" if other_in_tianjin else "regions-founded-third"
    copied(folder, name, lambda where: _founded(where, other_in_tianjin=other_in_tianjin))
    sent("2026-11-01", folder, "j1.csv", *rows)
    shared("2026-11-01", folder)
    for region in REGIONS:
        due_run(store(folder, region), "2026-12-31")  # the notice's 60 days have passed: in effect


def test_a_record_moved_onto_the_subject_in_beijing_is_a_new_cause_in_tianjin(tmp_path: Path) -> None:
    """J0, stored before J1 for another resident, is corrected onto the defaulter in Beijing after J1's listing took
    effect in both regions: in Tianjin too it is first stored for the defaulter when it moves, so Tianjin's listing
    keeps J1, and the defaulter is refused there."""
    other = f"J0,{OTHER},court_judgment,2026-03-01,civil,1000,unfulfilled,false,"
    _regions(tmp_path, other, FIRST)
    tianjin = store(tmp_path, "tianjin")
    assert listings("2026-12-31", tianjin) == [("110000/J1", "effective", "2026-11-01", "2026-12-31", None)]

    moved = f"J0,{DEFAULTER},court_judgment,2026-03-01,commercial,70000,unfulfilled,true,true"
    sent("2027-01-05", tmp_path, "j0b.csv", moved)
    assert listings("2027-01-05", store(tmp_path, "beijing")) == [("J1", "effective", "2026-11-01", "2026-12-31", None)]
    shared("2027-01-05", tmp_path)
    assert listings("2027-01-05", tianjin) == [("110000/J1", "effective", "2026-11-01", "2026-12-31", None)]
    assert refused("2027-01-05", tianjin)["score"] == 800  # 1000 - 100 for each unfulfilled judgment


def _listed_twice(folder: Path) -> None:
    """The two regions of _regions, J1 and J2 of one day reported, J1's listing in effect in both."""
    _regions(folder, FIRST, SECOND)


# Beijing's listings after J1 is withdrawn (or moved onto another resident) on 2027-01-05: J2 noticed that day,
# in effect from 2027-03-06.
AFTER_J1_LEFT = [
    ("J1", "delisted", "2026-11-01", "2026-12-31", "2027-01-05"),
    ("J2", "effective", "2027-01-05", "2027-03-06", None),
]


def in_tianjin(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Beijing's listings ``rows`` as Tianjin has them (its records' ids prefixed with Beijing's code)."""
    return [(f"110000/{r}", *rest) for r, *rest in rows]


def test_a_withdrawn_record_sent_again_does_not_take_the_cause_back_in_tianjin(tmp_path: Path) -> None:
    """J1 withdrawn in Beijing and its bundle imported in Tianjin: J2 noticed in both, with Beijing's dates. J1 sent
    again, in the next bundle: a new cause in Tianjin too, J2's listing stands and the defaulter is refused."""
    copied(tmp_path, "regions-listed-twice", _listed_twice)
    beijing, tianjin = store(tmp_path, "beijing"), store(tmp_path, "tianjin")
    sent("2027-01-05", tmp_path, "w.csv", f"{FIRST}true,true", withdrawn=True)
    shared("2027-01-05", tmp_path)
    for region in REGIONS:
        due_run(store(tmp_path, region), "2027-03-10")
    assert listings("2027-03-10", beijing) == AFTER_J1_LEFT
    assert listings("2027-03-10", tianjin) == in_tianjin(AFTER_J1_LEFT)

    sent("2027-03-11", tmp_path, "r.csv", f"{FIRST}true")
    shared("2027-03-11", tmp_path)
    assert listings("2027-03-11", beijing) == AFTER_J1_LEFT
    assert listings("2027-03-11", tianjin) == in_tianjin(AFTER_J1_LEFT)
    assert refused("2027-03-11", tianjin)["score"] == 800  # 1000 - 100 for each unfulfilled judgment


@pytest.mark.parametrize(
    ("left", "withdrawn"),
    [
        (f"{FIRST}true,true", True),
        (f"J1,{OTHER},court_judgment,2026-05-20,civil,50000,unfulfilled,true,true", False),
    ],
    ids=["withdrawn", "moved"],
)
def test_a_record_that_left_the_defaulter_and_came_back_between_two_bundles_does_not_take_the_cause_back(
    tmp_path: Path, left: str, withdrawn: bool
) -> None:
    """J1 withdrawn in Beijing (or corrected onto another resident) on 2027-01-05, then sent again (or corrected
    back) on 2027-03-11, before Beijing's next bundle: Tianjin applied only J1's newest version, with the first key of
    the version it had, so J1 stayed its cause there while Beijing's bundle ended J1's listing and carried J2's:
    Tianjin delisted J1, noticed nothing, and granted the defaulter a flight (until 2026-12-06). The versions between
    are read: J1 is a new cause, and Tianjin lists J2 with Beijing's dates."""
    _left_and_came_back(tmp_path, left, withdrawn=withdrawn)
    tianjin = store(tmp_path, "tianjin")
    assert listings("2027-03-11", tianjin) == in_tianjin(AFTER_J1_LEFT)
    assert refused("2027-03-11", tianjin)["score"] == 800


def _left_and_came_back(folder: Path, left: str, *, withdrawn: bool) -> None:
    """The two regions of _listed_twice; J1 left the defaulter in Beijing on 2027-01-05 (``left``) and came back on
    2027-03-11, Beijing's next bundle imported in Tianjin that day (built once per process for each ``left`` and
    ``withdrawn``, and copied: the test of J1's return and the one of migration 47 start from the same regions)."""
    made = hashlib.sha256(json.dumps([left, withdrawn]).encode("utf-8")).hexdigest()[:16]
    copied(folder, f"regions-left-{made}", lambda where: _made_left_and_came_back(where, left, withdrawn=withdrawn))


def _made_left_and_came_back(folder: Path, left: str, *, withdrawn: bool) -> None:
    copied(folder, "regions-listed-twice", _listed_twice)
    beijing = store(folder, "beijing")
    sent("2027-01-05", folder, "left.csv", left, withdrawn=withdrawn)
    due_run(beijing, "2027-03-10")
    sent("2027-03-11", folder, "back.csv", f"{FIRST}true")
    assert listings("2027-03-11", beijing) == AFTER_J1_LEFT
    shared("2027-03-11", folder)


J1_KEYS = "SELECT version, record_key, first_key FROM records WHERE record_id = '110000/J1' ORDER BY version"


def test_migration_47_gives_a_record_that_left_between_two_bundles_a_first_key_of_its_own(tmp_path: Path) -> None:
    """Tianjin as migration 46 left it (first keys worked out from its own versions only: J1's version applied on
    2027-03-11 kept J1's first key, its kept state too): migration 47 reads the versions received between the two
    bundles, gives that version its own first key, the state's rows their records' first keys, and the next run
    keeps J2's listing and refuses the defaulter."""
    _left_and_came_back(tmp_path, f"{FIRST}true,true", withdrawn=True)
    tianjin = store(tmp_path, "tianjin")
    with open_store(tianjin, key="") as db:
        imported = db.execute(J1_KEYS).fetchall()
        k1 = imported[0][1]
        assert [(v, f) for v, _, f in imported] == [(1, None), (2, None)]
        states = [str(t) for (t,) in db.execute("SELECT table_name FROM score_states").fetchall()]
        assert states
        with db.transaction():  # as migration 46 left it
            db.execute("UPDATE records SET first_key = ? WHERE record_id = '110000/J1' AND version = 2", [k1])
            for table in states:
                db.execute(f'UPDATE "{table}" SET first_key = ? WHERE record_key = ?', [k1, imported[1][1]])
            db.execute("DELETE FROM schema_version WHERE version >= 47")
    with open_store(tianjin, key="") as db:
        assert db.execute(J1_KEYS).fetchall() == imported
        for table in states:
            rows = db.execute(f'SELECT DISTINCT first_key FROM "{table}" WHERE record_key = ?', [imported[1][1]])
            assert rows.fetchall() == [(imported[1][1],)]
    sc("2027-03-12", "score", "--policy", "beijing", "--as-of", "2027-03-12", db=tianjin)
    assert listings("2027-03-12", tianjin) == in_tianjin(AFTER_J1_LEFT)
    assert refused("2027-03-12", tianjin)["score"] == 800
    assert json.loads(sc("2027-03-12", "state", "check", "beijing", "--json", db=tianjin).stdout)["ok"]


def test_a_record_corrected_in_place_between_two_bundles_stays_the_cause_in_tianjin(tmp_path: Path) -> None:
    """J1 corrected twice in Beijing (another amount, the same defaulter) before Beijing's next bundle: neither
    version is withdrawn or of another subject, so J1 keeps its first key in Tianjin, stays the cause, and its
    listing goes on with its id and dates; J2 is not noticed."""
    copied(tmp_path, "regions-listed-twice", _listed_twice)
    beijing, tianjin = store(tmp_path, "beijing"), store(tmp_path, "tianjin")
    sent(
        "2027-01-05", tmp_path, "c1.csv", f"J1,{DEFAULTER},court_judgment,2026-05-20,civil,60000,unfulfilled,true,true"
    )
    sent(
        "2027-01-06", tmp_path, "c2.csv", f"J1,{DEFAULTER},court_judgment,2026-05-20,civil,65000,unfulfilled,true,true"
    )
    listed = [("J1", "effective", "2026-11-01", "2026-12-31", None)]
    assert listings("2027-01-06", beijing) == listed
    shared("2027-01-06", tmp_path)
    assert listings("2027-01-06", tianjin) == in_tianjin(listed)
    assert refused("2027-01-06", tianjin)["score"] == 800  # 1000 - 100 for each unfulfilled judgment


def test_a_record_moved_onto_a_person_tianjin_has_not_linked_is_withdrawn_there(tmp_path: Path) -> None:
    """J1 corrected in Beijing onto a resident Tianjin does not know (no identity of theirs is linked there): Tianjin
    withdraws its copy from the defaulter, audited as moved by Beijing, ends J1's listing and notices J2 as Beijing
    does, and the defaulter loses J1's 100 points. Until 2026-12-06 Tianjin kept J1 on the defaulter (the version
    waited for a link that never came): Beijing's bundle ended J1's listing there and Tianjin noticed J1 again."""
    _regions(tmp_path, FIRST, SECOND, other_in_tianjin=False)
    beijing, tianjin = store(tmp_path, "beijing"), store(tmp_path, "tianjin")
    sent("2027-01-05", tmp_path, "moved.csv", f"J1,{OTHER},court_judgment,2026-05-20,civil,50000,unfulfilled,true,true")
    shared("2027-01-05", tmp_path)
    for region in REGIONS:
        due_run(store(tmp_path, region), "2027-03-10")
    assert listings("2027-03-10", beijing) == AFTER_J1_LEFT
    assert listings("2027-03-10", tianjin) == in_tianjin(AFTER_J1_LEFT)
    assert refused("2027-03-10", tianjin)["score"] == 900  # J2's 100 points alone
    with open_store(tianjin, key="") as db:
        moved = db.rows("SELECT actor, subject_id, detail FROM audit_log WHERE action = 'region_record_moved_away'")
        versions = db.rows("SELECT version, subject_id, withdrawn FROM records WHERE record_id = '110000/J1'")
    assert [(r["actor"], r["subject_id"], json.loads(r["detail"])) for r in moved] == [
        (
            "region:110000",
            DEFAULTER,
            {
                "origin": "110000",
                "record_id": "110000/J1",
                "reason": "moved by the region that recorded it onto a person not linked here",
            },
        )
    ]
    assert sorted((r["version"], r["subject_id"], r["withdrawn"]) for r in versions) == [
        (1, DEFAULTER, False),
        (2, DEFAULTER, True),
    ]
