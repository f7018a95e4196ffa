"""Group commit over HTTP (registry/service.py, ``Service.ingest``): batches that wait for the writer are committed
together and each answered on its own; the queue is bounded; under concurrent POSTs every acknowledged record is in
the store exactly once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from api_helpers import auth, execute, one, world

__all__ = ["world"]

HEADER = "record_id,subject_id,record_type,event_date,case_type,amount,status,defaulter"


def _csv(world: dict[str, Any], ids: list[str], date: str = "2026-06-01") -> bytes:
    rows = [f"{rid},{world['other']},court_judgment,{date},civil,12000,unfulfilled,false" for rid in ids]
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def _post(base: str, token: str, body: bytes, key: str | None = None) -> httpx.Response:
    headers = {**auth(token), "content-type": "text/csv", **({"Idempotency-Key": key} if key else {})}
    with httpx.Client(base_url=base, timeout=60) as client:
        return client.post("/v1/records", content=body, headers=headers)


def _base(world: dict[str, Any]) -> str:
    return f"http://127.0.0.1:{world['port']}"


def _waiting(world: dict[str, Any]) -> int:
    service = world["service"]
    with service._waiting_lock:
        return len(service._waiting)


def _until(check: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.01)


def test_batches_waiting_for_the_writer_are_committed_together(world: dict[str, Any]) -> None:
    token = world["keys"]["furnisher"]
    bodies = [_csv(world, [f"GRP-T{i}-1", f"GRP-T{i}-2"]) for i in range(3)]
    with ThreadPoolExecutor(3) as pool:
        with world["service"].writer():  # the writer is busy: the three batches wait for it
            futures = [pool.submit(_post, _base(world), token, b) for b in bodies]
            _until(lambda: _waiting(world) == 3)
        answers = [f.result() for f in futures]
    assert [r.status_code for r in answers] == [200, 200, 200]
    assert [r.json()["accepted"] for r in answers] == [2, 2, 2]
    ids = [r.json()["batch_id"] for r in answers]
    assert len(set(ids)) == 3
    # one transaction: now() is its start, the same for the three batches' rows
    received = execute(world, "SELECT DISTINCT received_at FROM batches WHERE batch_id IN (?, ?, ?)", ids)
    assert len(received) == 1
    assert one(world, "SELECT count(*) FROM records WHERE record_id LIKE 'GRP-T%'") == 6


def test_a_full_queue_answers_429_naming_the_limit(world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCIALCREDIT_INGEST_QUEUE", "1")
    token = world["keys"]["furnisher"]
    with ThreadPoolExecutor(1) as pool:
        with world["service"].writer():
            waiting = pool.submit(_post, _base(world), token, _csv(world, ["GRP-Q-1"]))
            _until(lambda: _waiting(world) == 1)
            refused = _post(_base(world), token, _csv(world, ["GRP-Q-2"]))
            assert _waiting(world) == 1  # the refused batch never joined the queue
        assert waiting.result().status_code == 200
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert refused.json()["error"] == {
        "code": "too_many_requests",
        "message": "the queue of batches waiting to be committed is full (SOCIALCREDIT_INGEST_QUEUE = 1); "
        "send the batch again in a moment",
    }
    assert execute(world, "SELECT record_id FROM records WHERE record_id LIKE 'GRP-Q-%'") == [("GRP-Q-1",)]


def test_concurrent_posts_store_every_acknowledged_record_exactly_once(world: dict[str, Any]) -> None:
    """Eight connections, each sending its batches as fast as it is answered: some batches bad (nothing of them is
    stored), some sent twice with their key (the second answer is the first's), the rest good."""
    token = world["keys"]["furnisher"]
    answers: list[tuple[str, list[str], httpx.Response]] = []
    kept = threading.Lock()

    def sender(t: int) -> None:
        for n in range(6):
            ids = [f"GRP-C{t}-{n}-{i}" for i in range(1 + (t + n) % 4)]
            bad = (t + n) % 5 == 0
            body = _csv(world, ids, "2099-01-01" if bad else "2026-06-01")
            key = f"grp-{t}-{n}"
            for _ in range(2 if n % 3 == 0 else 1):
                r = _post(_base(world), token, body, key)
                with kept:
                    answers.append((key, ids, r))

    threads = [threading.Thread(target=sender, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    stored = dict(
        execute(world, "SELECT record_id, count(*) FROM records WHERE record_id LIKE 'GRP-C%' GROUP BY record_id")
    )
    acknowledged: set[str] = set()
    first: dict[str, dict[str, Any]] = {}
    for key, ids, r in answers:
        if r.status_code == 422:  # a bad batch: refused whole, and so again when sent again
            assert r.json()["error"]["code"] == "batch_rejected"
            assert not any(i in stored for i in ids)
            continue
        assert r.status_code == 200, r.text
        body = r.json()
        if body["replayed"]:
            assert r.headers["Idempotent-Replayed"] == "true"
        answer = {k: v for k, v in body.items() if k != "replayed"}
        assert first.setdefault(key, answer) == answer  # a second answer is the first's
        assert body["accepted"] == len(ids)
        acknowledged |= set(ids)
    assert len(answers) == 8 * (6 + 2)
    assert acknowledged and all(stored.get(i) == 1 for i in acknowledged)
    assert set(stored) == acknowledged
    assert one(world, "SELECT count(*) FROM batches WHERE idempotency_key LIKE 'grp-%'") == len(first)


def test_the_live_thread_rescores_a_groups_subjects_in_one_pass(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from socialcredit.registry import service as service_module

    subjects = [
        str(r[0])
        for r in execute(
            world,
            "SELECT subject_id FROM run_results WHERE kind = 'person' AND subject_id NOT IN (?, ?) "
            "GROUP BY subject_id ORDER BY subject_id LIMIT 3",
            [world["listed"], world["other"]],
        )
    ]
    passes: list[set[str]] = []
    rescore = service_module.rescore

    def counted(store: Any, loaded: Any, as_of: Any, subject_ids: Any, *args: Any, **kwargs: Any) -> Any:
        passes.append(set(subject_ids) & set(subjects))
        return rescore(store, loaded, as_of, subject_ids, *args, **kwargs)

    monkeypatch.setattr(service_module, "rescore", counted)
    token = world["keys"]["furnisher"]
    bodies = [
        (f"{HEADER}\nGRP-L{i},{s},court_judgment,2026-06-01,civil,12000,unfulfilled,false\n").encode()
        for i, s in enumerate(subjects)
    ]
    with ThreadPoolExecutor(3) as pool:
        with world["service"].writer():
            futures = [pool.submit(_post, _base(world), token, b) for b in bodies]
            _until(lambda: _waiting(world) == 3)
        answers = [f.result() for f in futures]
    assert [r.status_code for r in answers] == [200, 200, 200]
    last = max(int(r.json()["watermark"]) for r in answers)
    service = world["service"]
    _until(lambda: all(s.watermark >= last for s in service.snapshots.values()))
    touched = [p for p in passes if p]
    assert touched and touched[0] == set(subjects)  # the first pass that saw one of them saw the three
