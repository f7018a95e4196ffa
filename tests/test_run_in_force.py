"""One run in force: decisions, the lists, the public look-up, the resident's page and the API's report all stand on
the same run of a policy, whatever runs were made after it (registry/scoring/runs.py: run_in_force).

The world is due_world.py's, on a clock set to 2026-04-10. B (李四) has a paid speeding ticket T1 of 2026-02-01
(traffic.minor −5, counted for 365 days): run 1, as of 2026-04-10, scores him 995. Then the courts file J2, an
unfulfilled judgment of 9 000 yuan of 2026-03-01 against him with defaulter=true (court.unfulfilled −100, the
blacklist's judgment_defaulter): run 2, as of 2026-04-10 too, scores him 1000 − 5 − 100 = 895 and gives him notice
(the listing takes effect 60 days later, on 2026-06-09). Run 2 is in force. Then one more run that is not:

* past-dated: `score --as-of 2026-02-15` (J2 not yet happened: 995, on no list);
* a rerun of run 1 (`score --rerun 1`: the changes before J2 was filed: 995, on no list);
* a what-if dated ahead of today, `score --as-of 2027-02-01` (T1 no longer counts: 900; and J2's listing would be in
  effect by then).

Each run's standing is decided when it is made (score_runs.standing): run 3 is past_dated, a rerun or a what_if, and
stays so once the registry's today passes the what-if's date (2027-03-01 below). Until 2026-12-05 decisions, the
lists and the resident's file stood on the run made last, and the what-if moved the listings (B listed in effect,
public, refused the train, on 2026-04-10); a first rule that read today at every read put the what-if in force the
day its date came.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from api_helpers import auth, copy_of, serve
from due_world import JUDGMENT, A, B, built, scored_on, write_csv
from page_text import visible_text
from socialcredit.api.app import create_app
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.due_process.listings import list_listings
from socialcredit.registry.due_process.public_lists import public_lookup
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import in_force_sql, run_in_force, score
from socialcredit.registry.service import Service
from socialcredit.store import open_store
from web_helpers import sign_in

CLI = str(Path(sys.executable).parent / "socialcredit")
TODAY = "2026-04-10"


LATER = "2027-03-01"  # past the what-if's date


def cli(db: Path, *args: str, today: str = TODAY) -> subprocess.CompletedProcess[str]:
    """The installed console script on the store ``db``, on the registry's clock of ``today`` (2026-04-10)."""
    env = {k: v for k, v in os.environ.items() if k != "SOCIALCREDIT_DB_KEY"}
    env |= {"COLUMNS": "200", "SOCIALCREDIT_TODAY": today}
    return subprocess.run([CLI, *args, "--db", str(db)], capture_output=True, text=True, env=env, check=False)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Runs 1 and 2 made as described above (built once per process and copied: api_helpers.copy_of); returns the
    store's path (closed)."""
    monkeypatch.setenv("SOCIALCREDIT_TODAY", TODAY)
    copy_of(tmp_path, "run-in-force", lambda where: open_store(_world(where), key=""), db="due.duckdb").close()
    return tmp_path / "due.duckdb"


def _world(tmp_path: Path) -> Path:
    store = built(tmp_path)
    store.close()
    db = tmp_path / "due.duckdb"
    # runs 1 and 2: what `score --policy beijing --as-of 2026-04-10` does on 2026-04-10, made in this process
    assert scored_on(db, TODAY).run_id == 1
    store = open_store(db, key="")
    row = ["J2", B, "court_judgment", "2026-03-01", "civil", "9000", "unfulfilled", "true"]
    report = ingest_file(store, write_csv(tmp_path / "j2.csv", JUDGMENT, [row]), "courts", today=dt.date(2026, 4, 5))
    assert not report.errors
    store.close()
    assert scored_on(db, TODAY).run_id == 2
    return db


SCENARIOS = {
    "past_dated": (("score", "--policy", "beijing", "--as-of", "2026-02-15"), "2026-02-15", "full", 995),
    "rerun": (("score", "--rerun", "1"), TODAY, "rerun", 995),
    "what_if": (("score", "--policy", "beijing", "--as-of", "2027-02-01"), "2027-02-01", "full", 900),
}


@pytest.mark.parametrize("kind", list(SCENARIOS))
def test_every_face_stands_on_the_run_in_force(world: Path, kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    args, as_of, mode, score_then = SCENARIOS[kind]
    made = cli(world, *args, "--json")
    assert made.returncode == 0, made.stderr
    summary = json.loads(made.stdout)
    assert (summary["run_id"], summary["as_of"], summary["mode"], summary["standing"]) == (3, as_of, mode, kind)
    store = open_store(world, key="")
    # run 3 says what it found, as of its date and from its changes
    assert store.one("SELECT score FROM run_results WHERE run_id = 3 AND subject_id = ?", [B]) == score_then
    assert store.rows("SELECT run_id, standing FROM score_runs ORDER BY run_id") == [
        {"run_id": 1, "standing": "ordinary"},
        {"run_id": 2, "standing": "ordinary"},
        {"run_id": 3, "standing": kind},
    ]
    assert run_in_force(store, "beijing")["run_id"] == 2
    # it moved no listing: B's notice of run 2 stands, in its notice period, not public
    assert [(x["status"], x["effective_on"]) for x in list_listings(store, subject_id=B)] == [("pending", "2026-06-09")]
    assert store.one("SELECT last_run_id FROM listings WHERE subject_id = ?", [B]) == 2
    assert public_lookup(store, "李四") == []
    audited = json.loads(str(store.one("SELECT detail FROM audit_log WHERE action = 'listings' ORDER BY seq DESC")))
    assert (audited["run_id"], audited["standing"]) == (3, kind)
    assert audited[{"past_dated": "past_dated", "rerun": "behind_run"}.get(kind, kind)] == 2
    store.close()
    _faces_stand_on_run_2(world, score_then, TODAY)
    # The registry's today passes the what-if's date: nothing moves, run 2 stays in force (a rule that read today at
    # every read put the what-if in force then, and the public list and decisions moved without a run being made).
    monkeypatch.setenv("SOCIALCREDIT_TODAY", LATER)
    store = open_store(world, key="")
    assert run_in_force(store, "beijing")["run_id"] == 2
    store.close()
    _faces_stand_on_run_2(world, score_then, LATER)


def _faces_stand_on_run_2(world: Path, score_then: int, today: str) -> None:
    """Decisions, the blacklist, the service's snapshots, the API's report and the resident's page on ``today``."""

    # decisions (the command line): run 2, 895, granted (a listing in its notice period refuses nothing)
    decided = cli(world, "decide", B, "high_speed_rail", "--purpose", "ticket purchase", "--json", today=today)
    assert decided.returncode == 0, decided.stderr
    d = json.loads(decided.stdout)
    assert (d["run_id"], d["score"], d["granted"], d["lists"]) == (2, 895, True, [])
    # the blacklist (the command line): run 2's members by score, B and A (J1: 900) on notice until 2026-06-09
    listed = cli(world, "list", "blacklist", "--json", today=today)
    assert listed.returncode == 0, listed.stderr
    assert [(x["subject_id"], x["score"], x["listing"], x["effective_on"]) for x in json.loads(listed.stdout)] == [
        (B, 895, "notice", "2026-06-09"),
        (A, 900, "notice", "2026-06-09"),
    ]

    store = open_store(world, key="")
    resident = issue_key(store, "resident", "B", subject=B).token
    app = create_app(world, store=store)
    try:
        # the running service holds run 2 for the decisions it answers
        service: Service = app.state.service
        assert {s.run_id for s in service.snapshots.values()} == {2}
        with serve(app) as client:
            # the API's report: run 2's score
            r = client.get(f"/v1/subjects/{B}/report", headers=auth(resident))
            assert r.status_code == 200, r.text
            assert [(s["run_id"], s["score"]) for s in r.json()["scores"]] == [(2, 895)]
            # the resident's page: run 2's score, not run 3's
            sign_in(client, resident)
            page = client.get("/me?lang=en")
            assert page.status_code == 200
            assert ">895<" in page.text and f">{score_then}<" not in page.text
    finally:
        store.close()


def test_a_score_job_not_in_force_leaves_the_service_on_the_run_in_force(world: Path) -> None:
    """The service loads the run in force after a job: a past-dated job's run is stored, decisions stay on run 2
    (until 2026-12-05 the service decided on the job's run, made last)."""
    store = open_store(world, key="")
    service = Service(store)
    try:
        assert {s.run_id for s in service.snapshots.values()} == {2}
        job = service.start_job("beijing", dt.date(2026, 2, 15), False, "operator")
        [thread] = [t for t in threading.enumerate() if t.name == f"score-job-{job.job_id}"]
        thread.join(timeout=120)
        assert (job.status, job.run_id) == ("finished", 3)
        assert {s.run_id for s in service.snapshots.values()} == {2}
        decided = service.snapshot("high_speed_rail").decision(B, "high_speed_rail", "ticket", requester="railway")
        assert (decided.run_id, decided.score, decided.granted) == (2, 895, True)
    finally:
        service.close()
        store.close()


def test_no_run_in_force_is_refused_saying_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a what-if made: nothing stands; a decision is refused naming why and what to do (exit code 2: not found)."""
    monkeypatch.setenv("SOCIALCREDIT_TODAY", TODAY)
    built(tmp_path).close()
    db = tmp_path / "due.duckdb"
    store = open_store(db, key="")
    # the what-if made in process, as `score --policy beijing --as-of 2026-05-01` makes it on 2026-04-10
    score(store, resolve_policy(store, "beijing"), dt.date(2026, 5, 1))
    assert store.rows(f"SELECT run_id FROM ({in_force_sql()})") == []
    store.close()
    said = (
        "no run in force for policy beijing: its runs are what-ifs or reruns (run 1: a what-if as of 2026-05-01), "
        "which no decision, list or listing stands on; score it as of the registry's today or before: "
        "`socialcredit score --policy beijing`"
    )
    zh_said = (
        "政策 beijing 没有生效的评分：它的评分都是假设评分或重算（第 1 次评分：假设评分，评分日期 2026-05-01），"
        "决定、名单和列入都不以其为准；请按登记处今天或更早的日期评分：`socialcredit score --policy beijing`"
    )
    refused = cli(db, "decide", B, "high_speed_rail", "--purpose", "ticket purchase", "--lang", "zh")
    assert (refused.returncode, refused.stderr) == (2, f"错误：{zh_said}\n")
    for args in (
        ("decide", B, "high_speed_rail", "--purpose", "ticket purchase"),
        ("decide", B, "high_speed_rail", "--purpose", "ticket purchase", "--policy", "beijing"),
        ("list", "blacklist"),
        ("list", "blacklist", "--policy", "beijing"),
    ):
        refused = cli(db, *args)
        assert (refused.returncode, refused.stderr) == (2, f"error: {said}\n"), args  # 2: not found
    # still none once the registry's today passes the what-if's date: its standing was decided when it was made
    refused = cli(db, "decide", B, "high_speed_rail", "--purpose", "ticket purchase", today="2026-06-01")
    assert (refused.returncode, refused.stderr) == (2, f"error: {said}\n")
    store = open_store(db, key="")
    operator = issue_key(store, "operator", "ops").token
    railway = issue_key(
        store, "relying_party", "railway", services=["high_speed_rail"], purposes=["ticket purchase"]
    ).token
    app = create_app(db, store=store)
    try:
        with serve(app) as client:
            # the API's decision: 404, the same words
            r = client.post(
                "/v1/decisions",
                json={"subject_id": B, "service": "high_speed_rail", "purpose": "ticket purchase"},
                headers=auth(railway),
            )
            assert (r.status_code, r.json()["error"]["code"], r.json()["error"]["message"]) == (404, "no_run", said)
            # asked in Chinese, said in Chinese, by the API and the CLI alike
            r = client.post(
                "/v1/decisions?lang=zh",
                json={"subject_id": B, "service": "high_speed_rail", "purpose": "ticket purchase"},
                headers=auth(railway),
            )
            assert (r.status_code, r.json()["error"]["code"], r.json()["error"]["message"]) == (404, "no_run", zh_said)
            assert r.headers["content-language"] == "zh-CN"
            # the operator's page says so, in both languages, instead of "no score run yet"
            sign_in(client, operator)
            en = visible_text(client.get("/ops?lang=en").text)
            assert (
                "No run in force for policy beijing: its runs are what-ifs or reruns, which no decision, list or "
                "listing stands on. Score it as of the registry's today or before."
            ) in en
            assert "No score run yet." not in en
            zh = visible_text(client.get("/ops?lang=zh").text)
            assert "政策 beijing 没有生效的评分：它的评分都是假设评分或重算" in zh
    finally:
        store.close()


def test_a_decision_before_any_run_is_refused_in_the_language_asked(tmp_path: Path) -> None:
    """A registry that never scored refuses a decision saying so, in Chinese when asked (it was English only)."""
    store = open_store(tmp_path / "empty.duckdb", create=True, key="")
    railway = issue_key(
        store, "relying_party", "railway", services=["high_speed_rail"], purposes=["ticket purchase"]
    ).token
    ask = {"subject_id": B, "service": "high_speed_rail", "purpose": "ticket purchase"}
    try:
        with serve(create_app(tmp_path / "empty.duckdb", store=store)) as client:
            said = [client.post(f"/v1/decisions?lang={lang}", json=ask, headers=auth(railway)) for lang in ("en", "zh")]
            assert [(r.status_code, r.headers["content-language"], r.json()["error"]) for r in said] == [
                (
                    404,
                    "en",
                    {"code": "not_found", "message": "no score run yet: an operator starts one with POST /v1/jobs"},
                ),
                (404, "zh-CN", {"code": "not_found", "message": "还没有评分：操作员以 POST /v1/jobs 开始评分"}),
            ]
    finally:
        store.close()


def test_a_score_without_as_of_is_dated_the_registrys_today(world: Path) -> None:
    """`score` with no `--as-of` scores the registry's today ($SOCIALCREDIT_TODAY), the day its standing is judged
    by: on the clock of 2026-04-10 it is an ordinary run as of 2026-04-10 and comes into force. (It took the machine's
    date: a run dated after the registry's today, a what-if, which no decision stands on.)"""
    made = cli(world, "score", "--policy", "beijing", "--json")
    assert made.returncode == 0, made.stderr
    summary = json.loads(made.stdout)
    assert (summary["run_id"], summary["as_of"], summary["standing"]) == (3, TODAY, "ordinary")
    with open_store(world, key="") as store:
        assert run_in_force(store, "beijing")["run_id"] == 3


@pytest.mark.parametrize("audited", [False, True])
def test_migration_45_gives_old_runs_the_standing_they_were_made_with(world: Path, audited: bool) -> None:
    """A store from before a run's standing was kept (migration 45): runs 1 and 2 as of 2026-04-10, run 3 a what-if
    as of 2027-02-01 and run 4 as of 2026-04-10, all made on 2026-04-10. The program of then moved the listings by
    run 4 as by any run of the day (run 3's date had not come). Migrated, run 3 is a what-if and run 4 the run in
    force, and a new run of the day is ordinary too (the migration took run 3's date as the bar: run 4 and every run
    of the days before 2027-02-01 past-dated, and the what-if in force). Without the runs' listings audit entries
    (``audited`` False) run 3 is known for a what-if by the day it was made; with them, run 3 made on a clock set back
    (made on 2027-03-01 by the machine's date, its registry's today 2026-04-10) is not known for one and stays
    ordinary, but run 4 keeps the standing its entry recorded (moved the listings: ordinary)."""
    store = open_store(world, key="")
    for as_of in ("2027-02-01", TODAY):  # runs 3 and 4 made in process, as `score --policy beijing --as-of` makes them
        score(store, resolve_policy(store, "beijing"), dt.date.fromisoformat(as_of))
    with store.transaction():  # the store as the program before migration 45 left it
        store.execute("ALTER TABLE score_runs DROP COLUMN standing")
        store.execute("UPDATE score_runs SET started_at = TIMESTAMP '2026-04-10 10:00:00'")
        if audited:
            store.execute("UPDATE score_runs SET started_at = TIMESTAMP '2027-03-01 10:00:00' WHERE run_id = 3")
        else:
            store.execute("DELETE FROM audit_log WHERE action = 'listings'")
        store.execute("DELETE FROM schema_version WHERE version >= 45")
    store.close()
    what_if = "ordinary" if audited else "what_if"
    with open_store(world, key="") as store:
        assert store.execute("SELECT run_id, standing FROM score_runs ORDER BY run_id").fetchall() == [
            (1, "ordinary"),
            (2, "ordinary"),
            (3, what_if),
            (4, "ordinary"),
        ]
        assert run_in_force(store, "beijing")["run_id"] == 4
    made = cli(world, "score", "--policy", "beijing", "--as-of", TODAY, "--json")
    assert made.returncode == 0, made.stderr
    # a run 3 not known for a what-if is an ordinary run dated 2027-02-01: a run of 2026-04-10 made after it is
    # past-dated, as run 4 would have been had its audit entry not said otherwise
    said = "past_dated" if audited else "ordinary"
    assert (json.loads(made.stdout)["run_id"], json.loads(made.stdout)["standing"]) == (5, said)


def test_every_run_listing_says_which_run_is_in_force_and_which_are_not(world: Path) -> None:
    """Run 3, a what-if as of 2027-02-01: the CLI's `runs`, GET /v1/runs and the operator's page say run 2 is in
    force, run 1 superseded and run 3 a what-if (they showed the runs alike)."""
    # what `score --policy beijing --as-of 2027-02-01` does on 2026-04-10, made in this process
    assert scored_on(world, TODAY, as_of="2027-02-01").run_id == 3
    listed = cli(world, "runs", "--json")
    assert listed.returncode == 0, listed.stderr
    said = [(r["run_id"], r["standing"], r["in_force"]) for r in json.loads(listed.stdout)]
    assert said == [(1, "ordinary", False), (2, "ordinary", True), (3, "what_if", False)]
    table = cli(world, "runs")
    assert table.returncode == 0, table.stderr
    rows = [(line.split()[0], line.rstrip().rsplit("  ", 1)[-1].strip()) for line in table.stdout.splitlines()[1:]]
    assert table.stdout.splitlines()[0].split()[-1] == "standing"
    assert rows == [("1", "superseded"), ("2", "in force"), ("3", "what-if")]
    store = open_store(world, key="")
    operator = issue_key(store, "operator", "ops").token
    app = create_app(world, store=store)
    try:
        with serve(app) as client:
            got = client.get("/v1/runs", headers=auth(operator))
            assert got.status_code == 200, got.text
            assert [(r["run_id"], r["standing"], r["in_force"]) for r in got.json()["runs"]] == said
            sign_in(client, operator)
            en = visible_text(client.get("/ops?lang=en").text)
            zh = visible_text(client.get("/ops?lang=zh").text)
    finally:
        store.close()
    assert "Standing" in en and "in force" in en and "what-if (dated ahead)" in en and "superseded" in en
    assert "效力" in zh and "生效" in zh and "假设评分（日期在当日之后）" in zh and "已被取代" in zh
