"""Live decisions: a record committed over HTTP reaches the next decision, and a full run agrees with it.

A real store, a real server on loopback, a real HTTP client. The world: the shipped example, scored twice under
``beijing`` so that a judgment defaulter's blacklisting is effective (and the railway refuses them).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.api_helpers import auth, scored_example, serving

from due_world import score_on_its_day
from socialcredit.api.app import create_app
from socialcredit.example import AS_OF
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.decisions import live
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.service import Service

RAIL = {"service": "high_speed_rail", "purpose": "ticket purchase"}


@pytest.fixture
def live_world(tmp_path: Any) -> Iterator[dict[str, Any]]:
    store = scored_example(tmp_path)  # the second run finds the listing past its grace
    listed = store.rows(
        """SELECT l.subject_id, r.record_id, r.event_date, r.case_type, r.amount FROM listings l
           JOIN records r ON r.subject_id = l.subject_id AND r.source_id = 'courts' AND r.defaulter
                AND r.status = 'unfulfilled'
           WHERE l.policy_id = 'beijing' AND l.list_id = 'blacklist' AND l.status = 'effective'
           ORDER BY l.subject_id, r.record_id"""
    )
    keys = {
        "railway": issue_key(
            store, "relying_party", "China Railway 12306", services=["high_speed_rail"], purposes=["ticket purchase"]
        ).token,
        "courts": issue_key(store, "furnisher", "the courts", source="courts").token,
    }
    app = create_app(tmp_path / "store.duckdb", store=store, max_body=256 * 1024)
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield {"store": store, "service": app.state.service, "client": client, "keys": keys, "listed": listed}
    store.close()


def _decide_after(world: dict[str, Any], subject_id: str, watermark: int) -> dict[str, Any]:
    """The first decision on ``subject_id`` that stands on a watermark past ``watermark`` (the service patches its
    snapshots on the journal flusher's tick, 0.2 s; this waits at most 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        body = _decide(world, subject_id)
        if body["watermark"] > watermark or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def _decide(world: dict[str, Any], subject_id: str) -> dict[str, Any]:
    r = world["client"].post(
        "/v1/decisions", json={"subject_id": subject_id, **RAIL}, headers=auth(world["keys"]["railway"])
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _send(world: dict[str, Any], rows: list[dict[str, Any]]) -> httpx.Response:
    cols = list(rows[0])
    text = "\n".join([",".join(cols), *(",".join(str(r[c]) for c in cols) for r in rows)]) + "\n"
    return world["client"].post(
        "/v1/records",
        content=text.encode(),
        headers={**auth(world["keys"]["courts"]), "content-type": "text/csv"},
    )


def test_a_fulfilled_judgment_grants_the_next_decision_and_a_full_run_agrees(live_world: dict[str, Any]) -> None:
    world = live_world
    assert world["listed"], "the example has an effective judgment defaulter"
    # One defaulter with a single unfulfilled judgment: fulfilling it takes them off the blacklist.
    by_subject: dict[str, list[dict[str, Any]]] = {}
    for row in world["listed"]:
        by_subject.setdefault(row["subject_id"], []).append(row)
    subject, judgments = next((s, j) for s, j in by_subject.items() if len(j) == 1)
    judgment = judgments[0]
    before = _decide(world, subject)
    assert before["granted"] is False
    assert "blacklist" in before["lists"]
    run_id, watermark = before["run_id"], before["watermark"]

    sent = time.monotonic()
    r = _send(
        world,
        [
            {
                "record_id": judgment["record_id"],
                "subject_id": subject,
                "record_type": "court_judgment",
                "event_date": judgment["event_date"].isoformat(),
                "case_type": judgment["case_type"],
                "amount": judgment["amount"],
                "status": "fulfilled",
                "defaulter": "true",
                "correction": "true",
            }
        ],
    )
    assert r.status_code in (200, 201), r.text
    # The answer names the change number the batch took: the corrected version's key.
    committed = r.json()["watermark"]
    with world["service"].writer() as store:
        key = store.one("SELECT max(record_key) FROM records WHERE record_id = ?", [judgment["record_id"]])
    assert committed == key > watermark
    after = _decide_after(world, subject, committed - 1)
    elapsed = time.monotonic() - sent
    assert after["granted"] is True
    assert after["lists"] == []
    assert after["run_id"] == run_id  # the same run, patched
    assert after["watermark"] >= committed  # standing on the change just committed
    assert elapsed < 30  # (timing is measured in benchmarks/, not here: this only bounds a hang)

    # The resident's own file says the same, on the same watermark.
    service = world["service"]
    with service.writer() as store:
        own = issue_key(store, "resident", "a resident", subject=subject).token
        service.reload_keys(store)
    r = world["client"].get(f"/v1/subjects/{subject}/report", headers=auth(own))
    assert r.status_code == 200, r.text
    beijing = next(s for s in r.json()["scores"] if s["policy"] == "beijing")
    assert beijing["watermark"] == after["watermark"]
    assert [x["list"] for x in beijing["lists"]] == []
    assert next(x for x in beijing["services"] if x["service"] == "high_speed_rail")["granted"] is True

    # A full run at the snapshot's watermark and as-of date gives the subject what the live path said.
    snap = service.snapshot("high_speed_rail")
    with service.writer() as store:
        loaded = resolve_policy(store, "beijing")
        full = score_on_its_day(store, loaded, snap.as_of, watermark=after["watermark"])
        row = store.rows("SELECT * FROM run_results WHERE run_id = ? AND subject_id = ?", [full.run_id, subject])[0]
    row_of = snap.row_of(subject)
    assert row_of is not None
    live = snap.live[row_of].result
    for column in ("score", "tier", "tier_rank", "total", "dims", "lists", "age", "last_negative"):
        assert (
            live[column] == pytest.approx(row[column])
            if isinstance(row[column], float)
            else live[column] == row[column]
        ), column
    assert snap.rank("person", int(row["score"])) == (row["rank"], row["percentile"])


def test_a_new_blacklisting_waits_for_its_notice_but_the_score_moves_at_once(live_world: dict[str, Any]) -> None:
    world = live_world
    with world["service"].writer() as store:
        clean = store.one(
            "SELECT subject_id FROM run_results WHERE run_id = (SELECT max(run_id) FROM score_runs) "
            "AND kind = 'person' AND lists = [] ORDER BY subject_id LIMIT 1"
        )
    before = _decide(world, clean)
    assert before["granted"] is True
    r = _send(
        world,
        [
            {
                "record_id": "LIVE-J1",
                "subject_id": clean,
                "record_type": "court_judgment",
                "event_date": (AS_OF - dt.timedelta(days=10)).isoformat(),
                "case_type": "civil",
                "amount": 80000,
                "status": "unfulfilled",
                "defaulter": "true",
            }
        ],
    )
    assert r.status_code in (200, 201), r.text
    after = _decide_after(world, clean, before["watermark"])
    snap = world["service"].snapshot("high_speed_rail")
    row = snap.row_of(clean)
    assert row is not None
    live = snap.live[row]
    assert after["watermark"] > before["watermark"]
    assert after["granted"] is True  # no notice yet: the blacklisting is not effective
    assert after["lists"] == []
    assert live.result["score"] < int(snap._columns["score"][row])  # the judgment counts already
    # The file says so of the record too, beside the score it counts in (until 2026-12-06 the record read "not
    # counting", its effect as at the run, under a live score and reason that counted it)
    with world["service"].writer() as store:
        operator = issue_key(store, "operator", "ops").token
        world["service"].reload_keys(store)
    r = world["client"].get(f"/v1/subjects/{clean}/report", headers=auth(operator))
    assert r.status_code == 200, r.text
    beijing = next(s for s in r.json()["scores"] if s["policy"] == "beijing")
    assert beijing["watermark"] == after["watermark"]
    assert beijing["reasons"][0]["code"] == "COURT_UNFULFILLED" and beijing["reasons"][0]["points"] == -100
    judgment = next(x for x in r.json()["records"] if x["record_id"] == "LIVE-J1")
    assert (judgment["status"], judgment["contribution"]) == (
        "counting",
        {"beijing": [{"rule_id": "court.unfulfilled", "points": -100, "counted": -100, "note": None}]},
    )


def test_a_batch_is_committed_while_a_live_pass_rescores(
    live_world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The live pass rescores on a connection of its own: a batch sent while it is under way is committed and
    answered at once (it does not wait for the rescoring), and goes live in the next pass."""
    import threading

    from socialcredit.registry.decisions.live import rescore as real

    world = live_world
    subject, judgment = world["listed"][0]["subject_id"], world["listed"][0]
    watermark = _decide(world, subject)["watermark"]
    inside, release = threading.Event(), threading.Event()

    def held(*args: Any, **kwargs: Any) -> Any:
        inside.set()
        assert release.wait(30), "the test never released the live pass"
        return real(*args, **kwargs)

    monkeypatch.setattr("socialcredit.registry.service.rescore", held)
    row = {
        "record_id": judgment["record_id"],
        "subject_id": subject,
        "record_type": "court_judgment",
        "event_date": judgment["event_date"].isoformat(),
        "case_type": judgment["case_type"],
        "amount": judgment["amount"],
        "status": "fulfilled",
        "defaulter": "true",
        "correction": "true",
    }
    try:
        assert _send(world, [row]).status_code == 200
        assert inside.wait(10), "the live thread never started a pass"
        # The pass is held inside its rescoring; a second batch is committed meanwhile.
        started = time.monotonic()
        second = _send(world, [{**row, "status": "unfulfilled"}])
        assert second.status_code == 200, second.text
        assert second.json()["accepted"] == 1
        last = second.json()["watermark"]
        assert time.monotonic() - started < 10  # the live pass would hold it for 30 s if it held the writer
        assert _decide(world, subject)["watermark"] == watermark  # nothing live yet: the pass is held
    finally:
        release.set()
    # Both batches go live: the second (unfulfilled again) stands, and the decision names its watermark.
    with world["service"].writer() as store:
        assert last == int(store.one("SELECT max(record_key) FROM records"))
    deadline = time.monotonic() + 15
    while (body := _decide(world, subject))["watermark"] < last and time.monotonic() < deadline:
        time.sleep(0.05)
    assert body["watermark"] >= last
    assert body["granted"] is False


def test_the_live_pass_is_compiled_when_the_service_loads_a_run(tmp_path: Any) -> None:
    """The statements of a live pass are compiled and printed when a snapshot is loaded, not by the first record
    committed after (they were about a third of that pass)."""
    store = scored_example(tmp_path)
    live._COMPILED.clear()
    service = Service(store, flush_interval=3600)
    try:
        snap = service.snapshot("high_speed_rail")
        assert list(live._COMPILED) == [(snap.loaded.sha256, snap.as_of)]
        assert snap.live == {}  # nobody rescored, nothing patched
    finally:
        service.close()
        store.close()
