"""The console's `list blacklist` marks a listing decisions no longer apply, as the API does: it said `effective`
(it runs no service), while GET /v1/lists/{id}/entries and GET /v1/notices said `held`, with the change decisions
stand on and the cause (``Service.held_listings`` / ``held_now``). Now the console rescores as a service does and
says the same.

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
from due_world import A, scored
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.due_process.disputes import file_dispute
from socialcredit.store import open_store


def test_the_console_says_a_listing_is_held_as_the_api_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TODAY_ENV, "2026-04-03")
    store = scored(tmp_path, "2026-02-01", "2026-04-02")
    n = file_dispute(store, A, "courts", "J1", "paid", actor="resident", today=dt.date(2026, 4, 3))["dispute_id"]
    db = store.path
    store.close()
    env = {k: v for k, v in os.environ.items() if k != "SOCIALCREDIT_DB_KEY"} | {"COLUMNS": "200"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [CLI, "list", "blacklist", "--policy", "sesame", "--db", str(db), *args]
        proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    rows = json.loads(cli("--json").stdout)
    assert [(r["subject_id"], r["listing"]) for r in rows] == [(A, "held")]
    said = cli().stdout.splitlines()[-1]
    # the API on the same store: the listing, the change and the cause
    store = open_store(db, key="")
    operator = {"Authorization": f"Bearer {issue_key(store, 'operator', 'operations').token}"}
    with serving(create_app(db, store=store)) as base, httpx.Client(base_url=base, headers=operator) as api:
        entries = api.get("/v1/lists/blacklist/entries", params={"policy": "sesame"}).json()["entries"]
        notices = [x for x in api.get("/v1/notices").json() if x.get("held") is not None]
    store.close()
    assert [(e["subject_id"], e["listing"]) for e in entries] == [(A, "held")]
    [x] = notices
    assert x["held_why"] == f"your dispute {n} of record J1 is open"
    assert said == (
        f"held: listing {x['listing_id']} of {A} (judgment_defaulter) is not applied by decisions since change "
        f"{x['held']}: your dispute {n} of record J1 is open; the next run closes it."
    )
