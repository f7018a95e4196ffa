"""A running service follows the store's catalog without a restart: a catalog published over HTTP adds a record type
(sent by an existing source) and a consent category; from the next request on the service ingests records of the
type, shows them in words in the resident's file, records consent for the category, publishes a policy that needs
it and scores it, counting the type's records only for residents who consented (scores worked out by hand)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from api_helpers import auth, serving
from lab_world import AS_OF, P, build, current
from scoring_helpers import days_before, policy_text
from socialcredit.api.app import create_app
from socialcredit.catalog import shipped_catalog_text
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.scoring.state import catch_up

# The new record type: village tasks sent by the civil affairs bureau, in the new category `village`, whose consent
# a policy may require. Its fields and values carry their words.
VILLAGE_TASK = {
    "name": {"zh": "村务劳动", "en": "village work"},
    "category": "village",
    "subjects": ["person"],
    "fields": {
        "task": {
            "type": "string",
            "required": True,
            "allowed": ["cleaning", "patrol"],
            "label": {"zh": "任务", "en": "task"},
            "value_labels": {
                "cleaning": {"zh": "村庄保洁", "en": "cleaning the village"},
                "patrol": {"zh": "治安巡逻", "en": "night patrol"},
            },
        },
        "shifts": {"type": "integer", "min": 0, "label": {"zh": "班次", "en": "shifts worked"}},
    },
}

# +10 for each cleaning task, counted only with consent to the category `village`; base 100
POLICY = policy_text(
    """\
- id: cleaning
  record_type: village_task
  when: "task == 'cleaning'"
  dimension: civic
  points: 10
  reason: {code: VILLAGE_CLEANING, zh: 村庄保洁, en: cleaning the village}
""",
    consent="categories: [village]\n",
    policy_id="village",
)
CLEANING = {1: 2, 2: 1, 3: 3}  # cleaning tasks per resident (P1 also has one patrol, which no rule counts)
CONSENT = {1: [True], 3: [True, False], 4: [True]}  # P3 consents, then withdraws; P2 never answers


def catalog_v2() -> str:
    data = yaml.safe_load(shipped_catalog_text())
    data["categories"]["village"] = {"name": {"zh": "村务数据", "en": "village affairs records"}}
    data["record_types"]["village_task"] = VILLAGE_TASK
    data["sources"]["civil_affairs"]["record_types"].append("village_task")
    return str(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


def task(record_id: str, i: int, what: str) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "subject_id": P[i],
        "record_type": "village_task",
        "event_date": days_before(5),
        "task": what,
        "shifts": 2,
    }


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("catalog-live")
    reg = build(folder)
    reg.score(current())  # a policy in use: its scoring state is kept, and its run answers decisions
    store = reg.store
    keys = {
        "operator": issue_key(store, "operator", "registry operations").token,
        "civil_affairs": issue_key(store, "furnisher", "civil affairs", source="civil_affairs").token,
        **{f"P{i}": issue_key(store, "resident", f"P{i}", subject=P[i]).token for i in CONSENT},
    }
    app = create_app(folder / "registry.duckdb", store=store)
    with serving(app) as base, httpx.Client(base_url=base, timeout=60) as client:
        yield {"client": client, "service": app.state.service, "keys": {k: auth(v) for k, v in keys.items()}}
    store.close()


def _send(live: dict[str, Any], rows: list[dict[str, Any]]) -> httpx.Response:
    return live["client"].post("/v1/records", json=rows, headers=live["keys"]["civil_affairs"])


def test_a_catalog_published_to_a_running_service_is_used_at_once(live: dict[str, Any]) -> None:
    client, keys = live["client"], live["keys"]
    before = _send(live, [task("V-0", 1, "cleaning")])
    assert before.status_code == 422
    assert before.json()["errors"] == [
        {"row": 1, "field": "record_type", "message": "'village_task' is not a record type"}
    ]
    unknown = client.put("/v1/consents/village", json={"granted": True}, headers=keys["P1"])
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_category"
    assert unknown.json()["error"]["message"] == "unknown data category 'village'; known: government, commercial"
    refused = client.post("/v1/policies", content=POLICY.encode(), headers=keys["operator"])
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_policy"

    published = client.post("/v1/catalogs", content=catalog_v2().encode(), headers=keys["operator"])
    assert published.status_code == 201, published.text
    assert published.json()["version"] == 2 and published.json()["published"] is True
    assert "record type village_task" in published.json()["added"]
    assert client.get("/v1/catalogs").json()["latest"] == 2

    rows = [task(f"V-{i}-{k}", i, "cleaning") for i, n in CLEANING.items() for k in range(n)]
    sent = _send(live, [*rows, task("V-1-patrol", 1, "patrol")])
    assert sent.status_code == 200, sent.text
    assert (sent.json()["accepted"], sent.json()["rejected"]) == (len(rows) + 1, 0)
    # the kept scoring state of the policy in use folds the new records in (its columns are the new catalog's)
    with live["service"].writer() as store:
        seq = store.one("SELECT value FROM counters WHERE name = 'seq'")
        assert [s.watermark for s in catch_up(store)] == [seq]
    # still validated by the new type's schema: a task it does not allow is refused, naming the field
    bad = _send(live, [task("V-bad", 1, "gossip")])
    assert bad.status_code == 422 and [e["field"] for e in bad.json()["errors"]] == ["task"]

    # shown in words in the resident's file, in both languages: the type, its fields and their values
    en = client.get(f"/v1/subjects/{P[1]}/file.html", params={"lang": "en"}, headers=keys["operator"]).text
    assert "village work" in en and "task: cleaning the village" in en and "task: night patrol" in en
    assert "shifts worked: 2" in en and "village_task" not in en
    zh = client.get(f"/v1/subjects/{P[1]}/file.html", params={"lang": "zh"}, headers=keys["operator"]).text
    assert "村务劳动" in zh and "任务：村庄保洁" in zh and "班次：2" in zh


def test_a_consent_category_of_the_stores_catalog_counts_only_with_consent(live: dict[str, Any]) -> None:
    client, keys = live["client"], live["keys"]
    # published by the test before (the same text again changes nothing: 200, not 201)
    again = client.post("/v1/catalogs", content=catalog_v2().encode(), headers=keys["operator"])
    assert again.status_code in (200, 201) and again.json()["version"] == 2
    for i, answers in CONSENT.items():
        for granted in answers:
            r = client.put("/v1/consents/village", json={"granted": granted}, headers=keys[f"P{i}"])
            assert r.status_code == 200, r.text
    assert client.get("/v1/consents", headers=keys["P3"]).json()["current"]["village"] is False
    assert client.post("/v1/policies", content=POLICY.encode(), headers=keys["operator"]).status_code == 201
    job = client.post("/v1/jobs", json={"policy": "village", "as_of": AS_OF.isoformat()}, headers=keys["operator"])
    assert job.status_code == 202, job.text
    deadline = time.monotonic() + 60
    while (state := client.get(job.json()["follow"], headers=keys["operator"]).json())["status"] in (
        "queued",
        "running",
    ):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert state["status"] == "finished", state
    with live["service"].writer() as store:
        scores = dict(
            store.execute(
                "SELECT subject_id, score FROM run_results WHERE run_id = ? AND kind = 'person'", [state["run_id"]]
            ).fetchall()
        )
    # P1 consented: 100 + 2 × 10; P2 never answered and P3 withdrew: their cleaning (10 and 30) does not count;
    # P4 consented but has no task; everyone else is at the base
    expected = {P[i]: 100.0 for i in P} | {P[1]: 120.0}
    assert scores == expected
