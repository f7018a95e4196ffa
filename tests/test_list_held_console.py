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
import threading
from pathlib import Path

import httpx
import pytest

from api_helpers import serving
from cli_helpers import CLI
from due_world import A, build, score_on_its_day, scored
from socialcredit.api.app import create_app
from socialcredit.cli import _members_as_decided
from socialcredit.clock import TODAY_ENV
from socialcredit.policy import builtin_policy, parse_policy
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.due_process.disputes import file_dispute
from socialcredit.registry.scoring.policies import publish_policy
from socialcredit.store import open_store
from test_snapshot_background import held_back


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
    app = create_app(db, store=store)
    with serving(app) as base, httpx.Client(base_url=base, headers=operator) as api:
        app.state.service.go_live()  # the dispute made live now, not when the live thread next wakes
        entries = api.get("/v1/lists/blacklist/entries", params={"policy": "sesame"}).json()["entries"]
        notices = [x for x in api.get("/v1/notices").json() if x.get("held") is not None]
    store.close()
    assert [(e["subject_id"], e["listing"]) for e in entries] == [(A, "held")]
    [x] = notices
    assert (x["held_why"], x["held_since"]) == (f"your dispute {n} of record J1 is open", "2026-04-02")
    assert said == (
        f"held: listing {x['listing_id']} of {A} (judgment defaulter) is not applied by decisions since the score "
        f"of {x['held_since']}: your dispute {n} of record J1 is open; the next run closes it."
    )


def test_the_console_marks_held_under_a_positional_policy_and_writes_nothing_but_its_audit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under a policy granting on percentile, a service's snapshot is not patched while its explanations load: the
    console rescores the listed subjects itself, and a read command folds, indexes, journals and notifies nothing."""
    monkeypatch.setenv(TODAY_ENV, "2026-04-03")
    store = build(tmp_path)
    text = builtin_policy("sesame").text.replace('version: "2026.1"', 'version: "2026.3"', 1)
    text = text.replace('grant_if: "score >= 650"', 'grant_if: "score >= 650 and percentile >= 0"', 1)
    positional = parse_policy(text, "sesame.yaml", store.catalog)
    assert publish_policy(store, positional)
    score_on_its_day(store, positional, dt.date(2026, 2, 1))
    score_on_its_day(store, positional, dt.date(2026, 4, 2))
    file_dispute(store, A, "courts", "J1", "paid", actor="resident", today=dt.date(2026, 4, 3))

    def kept() -> list[object]:
        return [
            store.rows("SELECT * FROM score_states ORDER BY ALL"),
            store.rows("SELECT * FROM listings ORDER BY listing_id"),
            store.rows("SELECT * FROM inquiries ORDER BY inquiry_id"),
            store.rows("SELECT index_name FROM duckdb_indexes() ORDER BY ALL"),
        ]

    before, files = kept(), sorted(p.name for p in tmp_path.iterdir())
    audits = int(store.one("SELECT count(*) FROM audit_log"))
    with held_back(monkeypatch) as gate:  # a snapshot loaded meanwhile would wait for its explanations
        threading.Timer(5, gate.set).start()  # released in any case: the code before waited on them to close
        rows, held = _members_as_decided(store, "blacklist", "sesame", 50)
    assert [(r["subject_id"], r["listing"]) for r in rows] == [(A, "held")]
    assert [(x["subject_id"], x["criterion_id"]) for x in held] == [(A, "judgment_defaulter")]
    assert kept() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == files  # no journal of inquiries made
    # the one write: the read audited, as before
    assert int(store.one("SELECT count(*) FROM audit_log")) == audits + 1
    assert store.one("SELECT action FROM audit_log ORDER BY seq DESC LIMIT 1") == "read_list"
    store.close()
