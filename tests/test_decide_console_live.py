"""The console's `decide` answers as the service answers a relying party at the same moment: it decided on the
run's rows (on the blacklist by a record disputed since the run, refused for it), while POST /v1/decisions, on the
subject as rescored since the run, no longer applied that listing, which `list blacklist` marked held. Now the
console rescores the subject as a live pass does (``served_since_run``, through ``decide``) and says the run and the
change it stands on, in both languages.

World (tests/due_world.py): 张三 (A) is on Sesame's blacklist for J1 (scored 2026-02-01 and 2026-04-02); Sesame does
not count a disputed record while the dispute is open. A disputes J1.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_helpers import serving
from cli_helpers import CLI
from due_world import LOAN, A, bank_headers, built_scored
from relation_world import role
from scoring_helpers import AS_OF, amount_rule, days_before, make_policy, open_registry, org, person, tax
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.due_process.disputes import file_dispute
from socialcredit.registry.records.versions import withdraw_record
from socialcredit.store import open_store


def test_the_console_decides_a_held_listing_as_the_service_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TODAY_ENV, "2026-04-03")
    store = built_scored(tmp_path, "2026-02-01", "2026-04-02")
    file_dispute(store, A, "courts", "J1", "paid", actor="resident", today=dt.date(2026, 4, 3))
    db = store.path
    store.close()
    env = {k: v for k, v in os.environ.items() if k != "SOCIALCREDIT_DB_KEY"} | {"COLUMNS": "200"}

    def cli(*args: str) -> str:
        command = [CLI, "decide", A, "consumer_credit", "--purpose", "loan application", "--policy", "sesame"]
        proc = subprocess.run(
            [*command, "--db", str(db), *args], capture_output=True, text=True, env=env, timeout=120, check=False
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout

    mine = json.loads(cli("--json"))
    en, zh = cli().splitlines()[0], cli("--lang", "zh").splitlines()[0]
    store = open_store(db, key="")
    bank = bank_headers(store)
    app = create_app(db, store=store)
    with serving(app) as base, httpx.Client(base_url=base, headers=bank) as api:
        app.state.service.go_live()  # the dispute made live now, not when the live thread next wakes
        theirs = api.post("/v1/decisions", json=LOAN).json()
    run = int(store.one("SELECT max(run_id) FROM score_runs WHERE policy_id = 'sesame'"))
    store.close()
    said = ("granted", "lists", "run_id", "watermark", "tier")
    assert {k: mine[k] for k in said} == {k: theirs[k] for k in said}
    # refused on the score alone (550 without J1), no more on the blacklist, with the service's reasons
    assert (mine["granted"], mine["lists"], mine["run_id"], mine["score"]) == (False, [], run, 550)
    assert [r["code"] for r in mine["reasons"]] == [r["code"] for r in theirs["reasons"]] == ["CONDITION_SCORE"]
    mark = mine["watermark"]
    assert en.startswith(f"consumer_credit for {A}: REFUSED (policy sesame 2026.1, run {run}, change {mark}, score ")
    assert zh.startswith(f"consumer_credit（{A}）：拒绝（政策 sesame 2026.1，评分编号 {run}，变更序号 {mark}，分数 ")


# What the report says of J1 when its listing is held (in effect in the register, no longer applied by decisions):
# the next run closes it (until 2026-12-07 "decisions no longer apply it until the next run (held)", as if that run
# applied it again; a run delists a listing whose cause no longer holds, registry/due_process/listings.py)
HELD_EN = (
    "puts you on the blacklist (judgment defaulter) in the register, but decisions no longer apply it; the next run "
    "closes the listing (held)"
)
HELD_ZH = "在登记中将您列入失信名单（失信被执行人），但决定已不再适用；下次评分时列入结束"


def _said(report: dict[str, Any]) -> dict[str, Any]:
    """What a report says of A under Sesame: the score and tier, the reasons, and record J1's status and listings."""
    [score] = [s for s in report["scores"] if s["policy"] == "sesame"]
    [j1] = [r for r in report["records"] if r["record_id"] == "J1" and r["status"] != "superseded"]
    return {
        "score": (score["score"], score["tier"], score["run_id"], [x["list"] for x in score["lists"]]),
        "reasons": [(r["code"], r["points"], r["text"]) for r in score["reasons"]],
        "J1": (j1["status"], j1["contribution"].get("sesame"), [(x["standing"], x["text"]) for x in j1["lists"]]),
    }


@pytest.mark.parametrize("change", ["disputed", "withdrawn"])
def test_the_console_shows_the_file_as_the_service_reports_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """`show` read the run while `decide` read the subject rescored since it: at the same moment `decide` no longer
    applied the listing and `show` said J1 "puts you on the blacklist" at 600 points. Now `show` reads the same live
    views (``views_of_subject``) and says what the resident's report over the API says, in both languages."""
    monkeypatch.setenv(TODAY_ENV, "2026-04-03")
    store = built_scored(tmp_path, "2026-02-01", "2026-04-02")
    if change == "disputed":
        file_dispute(store, A, "courts", "J1", "paid", actor="resident", today=dt.date(2026, 4, 3))
    else:
        withdraw_record(store, "courts", "J1", actor="courts", today=dt.date(2026, 4, 3))
    resident = {"Authorization": f"Bearer {issue_key(store, 'resident', 'A', subject=A).token}"}
    db = store.path
    store.close()
    env = {k: v for k, v in os.environ.items() if k != "SOCIALCREDIT_DB_KEY"} | {"COLUMNS": "200"}

    def show(*args: str) -> str:
        proc = subprocess.run(
            [CLI, "show", A, "--db", str(db), *args], capture_output=True, text=True, env=env, timeout=120, check=False
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout

    mine = {lang: _said(json.loads(show("--json", "--lang", lang))) for lang in ("en", "zh")}
    store = open_store(db, key="")
    app = create_app(db, store=store)
    with serving(app) as base, httpx.Client(base_url=base, headers=resident, timeout=60) as api:
        app.state.service.go_live()  # the change made live now, not when the live thread next wakes
        theirs = {}
        for lang in ("en", "zh"):
            got = api.get(f"/v1/subjects/{A}/report", params={"lang": lang})
            assert got.status_code == 200, got.text
            theirs[lang] = _said(got.json())
    store.close()
    assert mine == theirs
    # 550 without J1's points, off the blacklist as decisions stand; the listing held, said so in both languages
    score, _, _, lists = mine["en"]["score"]
    assert (score, lists) == (550, [])
    status, points, held = mine["en"]["J1"]
    assert (status, points) == (("disputed", None) if change == "disputed" else ("withdrawn", None))
    assert held == [("held", HELD_EN)]
    assert mine["zh"]["J1"][2] == [("held", HELD_ZH)]
    # and the console's table says it too; its score line names the change the live score stands on, as `decide`
    # does (it said "run 2 as of 2026-04-02: score 550", which run 2 never gave: it scored 350)
    [shown] = [s for s in json.loads(show("--json"))["scores"] if s["policy"] == "sesame"]
    run, mark = shown["run_id"], shown["watermark"]
    en, zh = show(), show("--lang", "zh")
    assert f"sesame 2026.1 run {run}, change {mark}, as of 2026-04-02: score 550, tier " in en
    assert f"sesame 2026.1 评分编号 {run}，变更序号 {mark}，截至 2026-04-02：分数 550，等级 " in zh
    assert mark > int(store_watermark(db, run))
    assert HELD_EN in " ".join(en.split())
    assert HELD_ZH in "".join(zh.split())


def store_watermark(db: Path, run_id: int) -> int:
    """The watermark run ``run_id`` read up to."""
    store = open_store(db, key="")
    try:
        return int(store.one("SELECT watermark FROM score_runs WHERE run_id = ?", [run_id]))
    finally:
        store.close()


# A firm is a top firm by a big contract; a director of a top firm is on `officers`, which the lounge asks for. Both
# lists are red: no notice nor grace, so a live pass's lists are decisions' at once.
_TOP = """\
- id: top_firms
  kind: red
  name: {zh: 前列企业, en: top firms}
  criteria:
    - id: big_contract
      record: {record_type: tax_payment, when: "amount == 999"}
      reason: {code: BIG, zh: 大额合同, en: a big contract}
- id: officers
  kind: red
  name: {zh: 前列企业高管, en: officers of top firms}
  criteria:
    - id: of_top_firm
      via: {list: top_firms, roles: [director]}
      reason: {code: TOP_OFFICER, zh: 前列企业董事, en: a director of a top firm}
"""
_LOUNGE = """\
- id: lounge
  name: {zh: 贵宾室, en: lounge}
  grant_if: "officers"
  refusal: {zh: 不予贵宾室, en: no lounge}
"""


def test_the_console_rescores_a_director_whose_firm_alone_changed_and_no_one_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """p directs firm a, q directs firm d; at the run neither firm has a big contract, so the lounge is refused to
    both. Then a gains one: nothing of p's own changed, but a live pass rescores p beside a (one relation away), puts
    a on `top_firms` and p on `officers`: `decide` grants p the lounge, at the change a's contract was stored. q's
    own record is older than the run, and nothing of his or d's changed since: q is decided on the run's row, at the
    run's watermark. A lookup of the changes that missed the relation (p decided on the run: refused) or read changes
    from before the run (q rescored, at the latest change) fails here."""
    monkeypatch.setenv(TODAY_ENV, AS_OF.isoformat())
    reg = open_registry(tmp_path)
    try:
        a, d = org("000000001"), org("000000004")
        p, q = person(11), person(12)
        reg.register({a: None, d: None, p: "finance", q: "finance"})
        reg.send(
            "registration_authority",
            [role("R1", p, a, "director", days_before(500)), role("R2", q, d, "director", days_before(500))],
        )
        reg.send("tax_bureau", [tax("Q1", q, "2025-06-01", amount=10)])
        run = reg.score(make_policy(amount_rule("ten", 10, 10), lists=_TOP, services=_LOUNGE))
        reg.send("tax_bureau", [tax("B1", a, days_before(100), amount=999)])
        now = int(reg.store.one("SELECT value FROM counters WHERE name = 'seq'"))
        db = reg.store.path
    finally:
        reg.store.close()
    assert now > run.watermark
    env = {k: v for k, v in os.environ.items() if k != "SOCIALCREDIT_DB_KEY"} | {"COLUMNS": "200"}

    def decided(subject: str) -> dict[str, Any]:
        command = [CLI, "decide", subject, "lounge", "--purpose", "a lounge", "--policy", "test", "--json"]
        proc = subprocess.run(
            [*command, "--db", str(db)], capture_output=True, text=True, env=env, timeout=120, check=False
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return dict(json.loads(proc.stdout))

    mine = decided(p)
    assert (mine["granted"], mine["lists"], mine["run_id"], mine["watermark"]) == (True, ["officers"], run.run_id, now)
    theirs = decided(q)
    assert (theirs["granted"], theirs["lists"], theirs["run_id"], theirs["watermark"]) == (
        False,
        [],
        run.run_id,
        run.watermark,
    )
