"""The history's live row (registry/reporting/history.py) as the running service gives it: the lists the live pass
found, judged by their listings' dates on the registry's today as a run's row is, on tests/due_world.py's Beijing
(base 1000, tiers A from 960, B from 850).

张三 (A) is scored on 2026-02-01: the unfulfilled judgment J1 takes 100 points (900, tier B) and meets the
blacklist's criterion: notice is given, the listing to take effect on 2026-04-02 (60 days' grace).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_helpers import serving
from due_world import A, build, score_on_its_day
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.due_process.listings import list_listings
from socialcredit.registry.scoring.policies import resolve_policy
from web_helpers import sign_in

D = dt.date
RUNS = 'data-testid="history-run-'  # the page's runs, after the live row
TICKET = "record_id,subject_id,record_type,event_date,offence,fine,status\n"


@contextmanager
def _service(folder: Path, *as_of: dt.date) -> Iterator[tuple[httpx.Client, dict[str, str], list[int]]]:
    """The service over the world scored on each of ``as_of``, with a client, keys by role and A's listings."""
    store = build(folder)
    try:
        beijing = resolve_policy(store, "beijing")
        for day in as_of:
            score_on_its_day(store, beijing, day)
        keys = {
            "courts": issue_key(store, "furnisher", "courts", source="courts").token,
            "traffic": issue_key(store, "furnisher", "traffic police", source="traffic_police").token,
            "operator": issue_key(store, "operator", "registry operations").token,
            "resident": issue_key(store, "resident", "张三", subject=A).token,
        }
        listings = [int(x["listing_id"]) for x in list_listings(store, subject_id=A)]
        app = create_app(folder / "due.duckdb", store=store)
        with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
            yield client, keys, listings
    finally:
        store.close()


def _auth(keys: dict[str, str], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys[who]}"}


def _live(client: httpx.Client, keys: dict[str, str]) -> dict[str, Any]:
    """A's live row once the service has rescored A (the live thread runs on its own)."""
    deadline = time.monotonic() + 30
    while True:
        live = client.get(f"/v1/subjects/{A}/history", headers=_auth(keys, "operator")).json()["policies"][0]["live"]
        if live is not None:
            return dict(live)
        assert time.monotonic() < deadline, "the service did not rescore the resident live within 30 s"
        time.sleep(0.2)


def _ticket(client: httpx.Client, keys: dict[str, str], day: str) -> None:
    body = TICKET + f"T3,{A},traffic_ticket,{day},parking,50,paid\n"
    headers = {**_auth(keys, "traffic"), "content-type": "text/csv", "Idempotency-Key": "t3"}
    sent = client.post("/v1/records", content=body.encode(), headers=headers)
    assert sent.status_code == 200 and sent.json()["accepted"] == 1, sent.text


def _ids(lists: list[dict[str, str]]) -> list[str]:
    return [x["list"] for x in lists]


def test_a_cause_gone_in_the_notice_period_leaves_no_notice_on_the_live_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # on 2026-03-01 the court records J1 fulfilled: the live pass gives 1000 (tier A) and finds no list, as a run of
    # that day would; the live row said A was still in notice (the run's notice read whatever the pass found)
    monkeypatch.setenv(TODAY_ENV, "2026-03-01")
    with _service(tmp_path, D(2026, 2, 1)) as (client, keys, _):
        fixed = {
            "subject_id": A,
            "record_type": "court_judgment",
            "event_date": "2026-01-10",
            "case_type": "civil",
            "amount": "12000",
            "status": "fulfilled",
            "defaulter": "true",
        }
        put = client.put("/v1/records/J1", json=fixed, headers=_auth(keys, "courts"))
        assert put.status_code == 200, put.text
        live = _live(client, keys)
    assert (live["score"], live["tier"], live["lists"], live["lists_in_notice"]) == (1000, "A", [], [])
    assert (live["change"]["score"], live["change"]["lists_entered"], live["change"]["lists_left"]) == (100, [], [])


def test_a_notice_the_live_pass_still_finds_is_said_on_the_live_row_and_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a parking ticket T3 of 2026-01-20 sent late (traffic.minor −5; the live pass rescores at the run's date): 895,
    # and the pass still finds J1's blacklisting, in its grace period until 2026-04-02: in notice, not on the list,
    # as the run's row says it
    monkeypatch.setenv(TODAY_ENV, "2026-03-01")
    with _service(tmp_path, D(2026, 2, 1)) as (client, keys, _):
        _ticket(client, keys, "2026-01-20")
        live = _live(client, keys)
        assert (live["score"], live["tier"], _ids(live["lists"]), _ids(live["lists_in_notice"])) == (
            895,
            "B",
            [],
            ["blacklist"],
        )
        assert (live["change"]["lists_entered"], live["change"]["lists_left"]) == ([], [])
        sign_in(client, keys["resident"])
        en = client.get("/me/history", params={"lang": "en"}).text
        zh = client.get("/me/history", params={"lang": "zh"}).text
    # the live row is shown first, then the run's: each says the notice
    noticed = "Notice given, in the grace period (not listed): blacklist"
    now_en, run_en = en.split(RUNS, 1)
    assert "<strong>Score 895</strong>" in now_en and noticed in now_en
    assert noticed in run_en and "Lists: " not in en
    now_zh = zh.split(RUNS, 1)[0]
    assert "<strong>分数 895</strong>" in now_zh and "已通知、尚在宽限期内（未列入）：失信名单" in now_zh


def test_an_override_after_the_run_leaves_the_list_on_the_live_row_and_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # runs of 2026-02-01 and 2026-04-02 (the listing takes effect: 900, on the blacklist); a parking ticket T3 of
    # 2026-03-20 sent late is rescored live (895, still on it); the operator overrides the listing over the API:
    # the service rescores A at once (service.relisted) and the live row says the list left
    monkeypatch.setenv(TODAY_ENV, "2026-04-20")
    with _service(tmp_path, D(2026, 2, 1), D(2026, 4, 2)) as (client, keys, listings):
        _ticket(client, keys, "2026-03-20")
        live = _live(client, keys)
        assert (live["score"], _ids(live["lists"]), _ids(live["lists_in_notice"])) == (895, ["blacklist"], [])
        body = {"listing_id": listings[0], "justification": "court confirmed a payment plan"}
        done = client.post("/v1/overrides/listings", json=body, headers=_auth(keys, "operator"))
        assert done.status_code == 201, done.text
        live = _live(client, keys)
        sign_in(client, keys["resident"])
        en = client.get("/me/history", params={"lang": "en"}).text
        zh = client.get("/me/history", params={"lang": "zh"}).text
    assert (live["score"], live["lists"], live["lists_in_notice"]) == (895, [], [])
    assert (live["change"]["lists_entered"], _ids(live["change"]["lists_left"])) == ([], ["blacklist"])
    assert "Left: blacklist" in en.split(RUNS, 1)[0] and "Lists: blacklist" not in en.split(RUNS, 1)[0]
    assert "移出：失信名单" in zh.split(RUNS, 1)[0]
