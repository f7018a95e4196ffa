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

import httpx
import pytest

from api_helpers import serving
from cli_helpers import CLI
from due_world import LOAN, A, bank_headers, scored
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.registry.due_process.disputes import file_dispute
from socialcredit.store import open_store


def test_the_console_decides_a_held_listing_as_the_service_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TODAY_ENV, "2026-04-03")
    store = scored(tmp_path, "2026-02-01", "2026-04-02")
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
