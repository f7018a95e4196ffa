"""The resident's file (``file export``, /me/file.html, GET /v1/subjects/{id}/file) says the state its decisions
stand on, as a decision does, and grants services as a decision grants them (registry/reporting/resident_file.py).

World (tests/due_world.py): 张三 (A) has the defaulter judgment J1; Beijing's run of 2026-02-01 (run 1) notices his
blacklisting, which takes effect 60 days later: the run's grants refuse what the blacklist refuses, but a decision
judges them again on the lists in effect (none yet) and grants them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from api_helpers import serving
from due_world import A, B, build, ingest, score_on_its_day, write_csv
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.decisions.decide import decide
from socialcredit.registry.scoring.policies import resolve_policy
from web_helpers import sign_in

CLI = str(Path(sys.executable).parent / "socialcredit")
SERVICES = ("high_speed_rail", "flight", "air_travel", "star_hotel")


def test_the_exported_file_grants_services_as_a_decision_does_in_the_notice_period(tmp_path: Path) -> None:
    store = build(tmp_path)
    run = score_on_its_day(store, resolve_policy(store, "beijing"), dt.date(2026, 2, 1))
    assert store.one("SELECT status FROM listings WHERE subject_id = ?", [A]) == "pending"
    index = {s.id: i for i, s in enumerate(resolve_policy(store, "beijing").policy.services)}
    grants = int(store.one("SELECT grants FROM run_results WHERE run_id = ? AND subject_id = ?", [run.run_id, A]))
    decided = {s: decide(store, A, s, "ticket purchase", requester="railway").granted for s in SERVICES}
    # the run's grants refuse them while the listing is in its notice period; decisions grant them
    assert {s: bool(grants >> index[s] & 1) for s in SERVICES} == dict.fromkeys(SERVICES, False)
    assert decided == dict.fromkeys(SERVICES, True)
    store.close()
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_TODAY")}
    proc = subprocess.run(
        [CLI, "file", "export", A, "--db", str(tmp_path / "due.duckdb")], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr
    [beijing] = json.loads(proc.stdout)["scores"]
    assert (beijing["run_id"], beijing["watermark"]) == (run.run_id, run.watermark)
    shown = {x["service"]: x["granted"] for x in beijing["services"]}
    assert {s: shown[s] for s in SERVICES} == decided


def test_the_file_names_the_change_decisions_stand_on_for_a_subject_not_rescored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TODAY_ENV, "2026-04-02")
    store = build(tmp_path)
    score_on_its_day(store, resolve_policy(store, "beijing"), dt.date(2026, 2, 1))
    run = score_on_its_day(store, resolve_policy(store, "beijing"), dt.date(2026, 4, 2))
    resident = issue_key(store, "resident", "张三", subject=A).token
    own = {"Authorization": f"Bearer {resident}"}
    bank = issue_key(
        store,
        "relying_party",
        "railway",
        services=["high_speed_rail"],
        purposes=["ticket purchase"],
        known_services={"high_speed_rail"},
    ).token
    app = create_app(tmp_path / "due.duckdb", store=store)
    service = app.state.service
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as site:
        # another resident's record moves the snapshot's watermark; A is not rescored
        ticket = [["T2", B, "traffic_ticket", "2026-03-01", "speeding", "200", "paid"]]
        header = ["record_id", "subject_id", "record_type", "event_date", "offence", "fine", "status"]
        with service.writer() as writer:
            ingest(writer, write_csv(tmp_path / "t2.csv", header, ticket), "traffic_police", dt.date(2026, 3, 1))
        service.go_live()
        asked = {"subject_id": A, "service": "high_speed_rail", "purpose": "ticket purchase"}
        theirs = site.post("/v1/decisions", json=asked, headers={"Authorization": f"Bearer {bank}"}).json()
        assert theirs["run_id"] == run.run_id and theirs["watermark"] > run.watermark
        exported = site.get(f"/v1/subjects/{A}/file", headers=own).json()
        [beijing] = exported["scores"]
        assert (beijing["run_id"], beijing["watermark"]) == (run.run_id, theirs["watermark"])
        sign_in(site, resident)
        said = {
            "en": f"Decisions stand on run {run.run_id} at change {theirs['watermark']}",
            "zh": f"决定依据评分批次 {run.run_id}，截至变更 {theirs['watermark']}",
        }
        for lang, text in said.items():
            page = site.get("/me/file.html", params={"lang": lang})
            assert page.status_code == 200, page.text
            assert re.findall(r'data-testid="standing">([^<]*)<', page.text) == [text]
    store.close()
