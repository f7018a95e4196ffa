"""Due process over HTTP: a real server on loopback, the registry's clock set by $SOCIALCREDIT_TODAY.

Each endpoint admits only its roles (every other role is refused 403 and audited); every 4xx names its field.
The story test is the closing transcript: a blacklisted resident sees the notice, disputes the record, the source
does not answer, the resident is off the list after the deadline, and the inquiry log shows the railway refused
and then granted.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_helpers import serving
from due_world import A, B, built, built_run, score_on_its_day
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.registry.access.parties import ROLES, issue_key
from socialcredit.registry.due_process.disputes import lapse_overdue
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.store import Store
from web_helpers import csrf_of, failure_of, sign_in, signed_in

SERVICES = {"high_speed_rail", "deposit_free_rental"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder: Path = tmp_path_factory.mktemp("due_api")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(TODAY_ENV, "2026-04-02")
        # scored as of 2026-02-01 and 2026-04-02, each run made on its day (one dated after today is a what-if, not in
        # force): A's blacklisting takes effect (60 days' grace); built once per process and copied (_blacklisted too)
        store = built_run(folder, "beijing", "2026-02-01", "2026-04-02")
        keys = {
            "resident": issue_key(store, "resident", "张三", subject=A).token,
            "other_resident": issue_key(store, "resident", "李四", subject=B).token,
            "furnisher": issue_key(store, "furnisher", "the courts", source="courts").token,
            "other_furnisher": issue_key(store, "furnisher", "traffic police", source="traffic_police").token,
            "relying_party": issue_key(
                store,
                "relying_party",
                "China Railway 12306",
                services=["high_speed_rail"],
                purposes=["ticket purchase"],
                known_services=SERVICES,
            ).token,
            "operator": issue_key(store, "operator", "registry operations").token,
            "auditor": issue_key(store, "auditor", "the auditor").token,
        }
        app = create_app(folder / "due.duckdb", store=store)
        try:
            with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
                yield {
                    "store": store,
                    "client": client,
                    "keys": keys,
                    "lock": app.state.service.lock,
                    "service": app.state.service,
                }
        finally:
            store.close()


def auth(world: dict[str, Any], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world['keys'][who]}"}


# (method, path, body, roles allowed)
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, set[str]]] = [
    ("POST", "/v1/disputes", {"source_id": "courts", "record_id": "J1", "reason": "x"}, {"resident"}),
    ("GET", "/v1/disputes", None, {"resident", "furnisher", "operator"}),
    ("GET", "/v1/disputes/1", None, {"resident", "furnisher", "operator"}),
    ("POST", "/v1/disputes/1/information", {"text": "more"}, {"resident"}),
    ("POST", "/v1/disputes/1/answer", {"outcome": "verified", "note": "ok"}, {"furnisher"}),
    ("POST", "/v1/fulfilments", {"record_id": "J1"}, {"furnisher"}),
    ("POST", "/v1/repairs", {"source_id": "courts", "record_id": "J1", "statement": "paid"}, {"resident"}),
    ("GET", "/v1/repairs", None, {"resident", "operator"}),
    ("POST", "/v1/repairs/1/decision", {"outcome": "approved", "reason": "ok"}, {"operator"}),
    ("POST", "/v1/overrides/decisions", {"inquiry_id": 1, "outcome": "granted", "justification": "x"}, {"operator"}),
    ("POST", "/v1/overrides/listings", {"listing_id": 1, "justification": "x"}, {"operator"}),
    ("GET", "/v1/consents", None, {"resident"}),
    ("PUT", "/v1/consents/commercial", {"granted": True}, {"resident"}),
    ("GET", f"/v1/subjects/{A}/file", None, {"resident", "operator"}),
    ("GET", f"/v1/subjects/{A}/file.html", None, {"resident", "operator"}),
    ("GET", "/v1/notices", None, {"resident", "operator"}),
]


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _, _ in ENDPOINTS])
def test_every_other_role_is_refused(
    world: dict[str, Any], method: str, path: str, body: dict[str, Any] | None, allowed: set[str]
) -> None:
    client: httpx.Client = world["client"]
    for role in sorted(set(ROLES) - allowed):
        r = client.request(method, path, json=body, headers=auth(world, role))
        assert r.status_code == 403, (role, r.text)
        assert r.json()["error"]["code"] == "role_not_allowed"
    r = client.request(method, path, json=body)
    assert (r.status_code, r.json()["error"]["code"]) == (401, "key_missing")


def test_another_persons_record_is_told_as_one_no_source_has(world: dict[str, Any]) -> None:
    """K1 is C's judgment at the courts: disputing it, or applying for its repair, answered 422 ``not_your_record``
    where a record no source has answers ``unknown_record``, so a resident's key learnt which record ids exist
    anywhere. Both are now the same answer, over the API and on the dispute form, in the language asked (a repair's
    in English only until 2026-12-06, when it took ``lang``)."""
    client: httpx.Client = world["client"]
    resident = auth(world, "resident")
    for lang in ("en", "zh"):
        for path, body in (
            ("/v1/disputes", {"reason": "not mine"}),
            ("/v1/repairs", {"statement": "paid"}),
        ):
            answers = {
                record: client.post(
                    path,
                    params={"lang": lang},
                    json={"source_id": "courts", "record_id": record, **body},
                    headers=resident,
                )
                for record in ("K1", "NOPE")
            }
            for record, r in answers.items():
                assert (r.status_code, r.json()) == (
                    422,
                    {
                        "error": {
                            "code": "unknown_record",
                            "message": f"来源 courts 没有记录 '{record}'"
                            if lang == "zh"
                            else f"source courts holds no record '{record}'",
                            "field": "record_id",
                        }
                    },
                ), (lang, path, record)
    with signed_in(world, "resident") as browser:
        for lang, said in (("en", "The file holds no record {}."), ("zh", "档案中没有记录 {}。")):
            for record in ("K1", "NOPE"):
                page = browser.get("/me/disputes", params={"lang": lang})
                r = browser.post(
                    "/me/disputes",
                    params={"lang": lang},
                    data={"record": f"courts|{record}", "reason": "not mine", "csrf": csrf_of(page.text)},
                )
                assert (r.status_code, failure_of(r)) == (400, said.format(record)), (lang, record)
    with world["service"].writer() as store:
        assert store.one("SELECT count(*) FROM disputes WHERE record_id = 'K1'") == 0
        assert store.one("SELECT count(*) FROM repairs WHERE record_id = 'K1'") == 0


def test_errors_name_the_field(world: dict[str, Any]) -> None:
    client: httpx.Client = world["client"]
    resident = auth(world, "resident")
    r = client.post("/v1/disputes", json={"source_id": "courts", "record_id": "J1"}, headers=resident)
    assert (r.status_code, r.json()["error"]["field"]) == (422, "reason")
    r = client.post("/v1/disputes", json={"source_id": "courts", "record_id": "NOPE", "reason": "x"}, headers=resident)
    assert r.status_code == 422
    assert r.json()["error"] == {
        "code": "unknown_record",
        "message": "source courts holds no record 'NOPE'",
        "field": "record_id",
    }
    r = client.post(
        "/v1/repairs", json={"source_id": "courts", "record_id": "J1", "statement": "paid"}, headers=resident
    )
    assert (r.status_code, r.json()["error"]["code"], r.json()["error"]["field"]) == (409, "too_early", "record_id")
    op = auth(world, "operator")
    r = client.post("/v1/overrides/listings", json={"listing_id": 1, "justification": "   "}, headers=op)
    assert (r.status_code, r.json()["error"]["field"]) == (422, "justification")
    r = client.post("/v1/overrides/listings", json={"listing_id": 999, "justification": "x" * 30}, headers=op)
    assert (r.status_code, r.json()["error"]["field"]) == (404, "listing_id")
    r = client.put("/v1/consents/gossip", json={"granted": True}, headers=resident)
    assert (r.status_code, r.json()["error"]["field"]) == (422, "category")
    r = client.get(f"/v1/subjects/{B}/file", headers=resident)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "not_your_file")
    r = client.get("/v1/lists/lookup", params={"q": "x"})
    assert (r.status_code, r.json()["error"]["field"]) == (422, "query")


def test_a_repair_application_is_refused_in_the_language_asked(world: dict[str, Any]) -> None:
    """``POST /v1/repairs?lang=zh`` says its refusals in Chinese, with ``Content-Language``, as a dispute does; it took
    no ``lang`` until 2026-12-06 (English, whatever was asked)."""
    client: httpx.Client = world["client"]
    sent = {"source_id": "courts", "record_id": "J1", "statement": "paid"}
    said = {}
    for lang in ("en", "zh"):
        r = client.post("/v1/repairs", params={"lang": lang}, json=sent, headers=auth(world, "resident"))
        assert (r.status_code, r.json()["error"]["code"]) == (409, "too_early")
        said[lang] = (r.headers["content-language"], r.json()["error"]["message"])
    assert said == {
        "en": (
            "en",
            "a serious breach is published for at least 365 days (from 2026-04-02); you may apply for repair from "
            "2027-04-02",
        ),
        "zh": ("zh-CN", "严重失信行为至少公示 365 天（自 2026-04-02 起）；可自 2027-04-02 起申请信用修复"),
    }


def test_an_id_of_spaces_only_is_refused_as_empty_not_looked_up_as_nothing(world: dict[str, Any]) -> None:
    """A record id or a subject's identifier of spaces (full-width ones too) is nothing once folded: refused as such,
    not told "no record ''"."""
    client: httpx.Client = world["client"]
    sent = {"source_id": "courts", "record_id": "\u3000 \u3000", "reason": "x"}
    r = client.post("/v1/disputes", json=sent, headers=auth(world, "resident"))
    assert (r.status_code, r.json()["error"]) == (
        422,
        {
            "code": "empty_record_id",
            "message": "the record id is empty once its spaces are trimmed (full-width ones too): give the record's id "
            "as its source sent it",
            "field": "record_id",
        },
    )
    # the field named as the 404 of an unknown subject names it (the refusal named none)
    for path in ("/v1/subjects/%E3%80%80%20/report", "/v1/subjects/%20%20/file"):
        r = client.get(path, headers=auth(world, "operator"))
        assert (r.status_code, r.json()["error"]) == (
            422,
            {
                "code": "invalid_identifier",
                "message": "the subject's identifier is empty once its spaces are removed (full-width ones too): give "
                "an identity number or a unified social credit code",
                "field": "subject_id",
            },
        ), path


def test_consent_over_http_keeps_the_history(world: dict[str, Any]) -> None:
    client: httpx.Client = world["client"]
    other = auth(world, "other_resident")
    assert client.put("/v1/consents/commercial", json={"granted": True}, headers=other).status_code == 200
    r = client.put("/v1/consents/commercial", json={"granted": False}, headers=other)
    assert r.json()["current"] == {"commercial": False}
    history = client.get("/v1/consents", headers=other).json()["history"]
    assert [h["granted"] for h in history] == [True, False]


def test_a_consent_is_a_json_true_or_false_and_nothing_else_is_taken_for_one(world: dict[str, Any]) -> None:
    """Giving or withdrawing consent is the resident's own act: only ``true`` or ``false`` records one. Before, any
    text or number a JSON parser's lax mode reads as a truth value was recorded: "yes", "t", "on", "1" or 1 as a
    consent given, "no", "off" or 0 as one withdrawn."""
    client: httpx.Client = world["client"]
    resident = auth(world, "resident")
    before = client.get("/v1/consents", headers=resident).json()["history"]
    for sent in ("yes", "t", "on", "1", 1, "no", "off", 0, None):
        r = client.put("/v1/consents/commercial", json={"granted": sent}, headers=resident)
        assert (r.status_code, r.json()["error"]) == (
            422,
            {"code": "invalid_request", "message": "granted: Input should be a valid boolean", "field": "granted"},
        ), sent
    assert client.get("/v1/consents", headers=resident).json()["history"] == before


def test_the_blacklisted_resident_disputes_and_the_source_does_not_answer(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    client: httpx.Client = world["client"]
    store = world["store"]
    resident, courts, railway = auth(world, "resident"), auth(world, "furnisher"), auth(world, "relying_party")
    ticket = {"subject_id": A, "service": "high_speed_rail", "purpose": "ticket purchase"}
    refused = client.post("/v1/decisions", json=ticket, headers=railway).json()
    assert refused["granted"] is False
    assert "actions" not in refused  # they name the resident's records: the railway never sees them
    own = client.get(f"/v1/subjects/{A}/services/high_speed_rail", headers=resident).json()
    assert own["granted"] is False
    assert own["actions"][0].startswith("pay the outstanding judgment of 12,000 yuan (record J1 from courts)")
    notices = client.get("/v1/notices", headers=resident).json()
    assert [(n["list_id"], n["status"], n["effective_on"]) for n in notices] == [
        ("blacklist", "effective", "2026-04-02")
    ]
    public = client.get("/v1/lists/lookup", params={"q": "张三"}).json()
    assert (public["total"], public["results"]) == (
        1,
        [
            {
                "name": "张三",
                "id_number": "110105********011X",
                "list": "blacklist",
                "cause": "judgment defaulter",
                "since": "2026-04-02",
                "authority": "people's courts",
                "case_number": "J1",
                "amount": 12000.0,
                "decided_on": "2026-01-10",
                "under_dispute": False,
            }
        ],
    )
    monkeypatch.setenv(TODAY_ENV, "2026-04-03")  # put back after the test: the tests after it keep the world's day
    filed = client.post(
        "/v1/disputes", json={"source_id": "courts", "record_id": "J1", "reason": "I paid it"}, headers=resident
    )
    assert filed.status_code == 201, filed.text
    dispute = filed.json()
    assert (dispute["opened_at"], dispute["deadline"]) == ("2026-04-03", "2026-05-03")
    seen = client.get("/v1/disputes", headers=courts).json()
    assert [d["dispute_id"] for d in seen] == [dispute["dispute_id"]]
    other = client.post(
        f"/v1/disputes/{dispute['dispute_id']}/answer",
        json={"outcome": "verified", "note": "x"},
        headers=auth(world, "other_furnisher"),
    )
    assert (other.status_code, other.json()["error"]["code"]) == (403, "not_your_dispute")
    # The courts do not answer. On 2026-05-04 (day 31) the daily run resolves it for the resident.
    monkeypatch.setenv(TODAY_ENV, "2026-05-04")  # the run of that day is in force (one dated after today is a what-if)
    with world["lock"]:
        assert lapse_overdue(store, dt.date(2026, 5, 4)) == [dispute["dispute_id"]]
        score_on_its_day(store, resolve_policy(store, "beijing"), dt.date(2026, 5, 4))
        world["service"].refresh_snapshots(store)  # a run made beside the service (it refreshes after its own)
    late = client.post(
        f"/v1/disputes/{dispute['dispute_id']}/answer", json={"outcome": "verified", "note": "late"}, headers=courts
    )
    assert (late.status_code, late.json()["error"]["code"]) == (409, "dispute_closed")
    granted = client.post("/v1/decisions", json=ticket, headers=railway).json()
    assert granted["granted"] is True
    file = client.get(f"/v1/subjects/{A}/file", headers=resident).json()
    assert [(q["service"], q["outcome"]) for q in file["inquiries"]][:2] == [
        ("high_speed_rail", "granted"),
        ("high_speed_rail", "refused"),
    ]
    assert [n["status"] for n in file["notices"]] == ["delisted"]
    assert file["disputes"][0]["status"] == "lapsed"
    assert client.get("/v1/lists/lookup", params={"q": "张三"}).json()["results"] == []
    html = client.get(f"/v1/subjects/{A}/file.html", headers=resident)
    assert html.status_code == 200 and "张三" in html.text and "not answered in time (record withdrawn)" in html.text
    # The registry's note of the lapse, kept in both languages: each page says it in its own (the Chinese pages
    # showed the stored English).
    lapsed = file["disputes"][0]
    assert (lapsed["note"], lapsed["note_zh"]) == ("Not answered by 2026-05-03.", "截至 2026-05-03 未获答复。")
    printable = client.get(f"/v1/subjects/{A}/file.html", params={"lang": "zh"}, headers=resident).text
    assert "截至 2026-05-03 未获答复。" in printable and "Not answered" not in printable
    with httpx.Client(base_url=client.base_url, timeout=30) as pages:
        sign_in(pages, world["keys"]["resident"])
        for path in ("/me/disputes", f"/me/disputes/{dispute['dispute_id']}"):
            zh = pages.get(path, params={"lang": "zh"}).text
            assert "截至 2026-05-03 未获答复。" in zh and "Not answered" not in zh, path
            en = pages.get(path, params={"lang": "en"}).text
            assert "Not answered by 2026-05-03." in en and "未获答复" not in en, path


def test_an_unknown_status_filter_is_422_on_every_list_of_disputes_and_repairs(world: dict[str, Any]) -> None:
    """`?status=` names a status none of them has: what was sent is wrong, so 422 on all three lists (the list of
    link disputes answered 409, as if the state of things refused it)."""
    client: httpx.Client = world["client"]
    operator = auth(world, "operator")
    for path, statuses in [
        ("/v1/disputes", "open, verified, corrected, withdrawn, lapsed, retracted"),
        ("/v1/repairs", "pending, approved, refused"),
        ("/v1/link-disputes", "open, upheld, unlinked, lapsed"),
    ]:
        r = client.get(f"{path}?status=nope", headers=operator)
        message = f"status must be one of {statuses}, not 'nope'"
        assert (r.status_code, r.json()) == (
            422,
            {"error": {"code": "bad_status", "message": message, "field": "status"}},
        ), path


def _blacklisted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Store, int]:
    """The world scored twice, A's blacklisting in effect on 2026-04-02 (60 days' grace): the store and its listing."""
    monkeypatch.setenv(TODAY_ENV, "2026-04-02")
    store = built_run(tmp_path, "beijing", "2026-02-01", "2026-04-02")  # built once per process, copied
    listing = store.one("SELECT listing_id FROM listings WHERE subject_id = ? AND status = 'effective'", [A])
    return store, int(listing)


def test_decisions_follow_an_operators_override_of_a_listing_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An operator takes A off the blacklist over HTTP: the railway's next decision, single and batch, is granted
    (until 2026-12-04 the decisions held in memory kept refusing until the next run, while A's own page said granted),
    and A sees the override with its justification."""
    store, listing = _blacklisted(tmp_path, monkeypatch)
    railway = issue_key(
        store,
        "relying_party",
        "China Railway 12306",
        services=["high_speed_rail"],
        purposes=["ticket purchase"],
        known_services=SERVICES,
    ).token
    operator = issue_key(store, "operator", "registry operations").token
    resident = issue_key(store, "resident", "张三", subject=A).token
    ticket = {"subject_id": A, "service": "high_speed_rail", "purpose": "ticket purchase"}
    batch = {"subject_ids": [A], "service": "high_speed_rail", "purpose": "ticket purchase"}
    why = "The judgment was entered against the wrong person."
    app = create_app(tmp_path / "due.duckdb", store=store)
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        rail, ops = {"Authorization": f"Bearer {railway}"}, {"Authorization": f"Bearer {operator}"}
        before = client.post("/v1/decisions", json=ticket, headers=rail).json()
        assert (before["granted"], before["lists"]) == (False, ["blacklist"])
        r = client.post("/v1/overrides/listings", json={"listing_id": listing, "justification": why}, headers=ops)
        assert r.status_code == 201, r.text
        after = client.post("/v1/decisions", json=ticket, headers=rail).json()
        assert (after["granted"], after["lists"], after["refusal"]) == (True, [], None)
        item = client.post("/v1/decisions/batch", json=batch, headers=rail).json()["decisions"][0]
        assert (item["granted"], item["lists"]) == (True, [])
        report = client.get(f"/v1/subjects/{A}/report", headers={"Authorization": f"Bearer {resident}"}).json()
        assert [(o["kind"], o["justification"]) for o in report["overrides"]] == [("listing", why)]
    store.close()


def test_decisions_follow_an_override_at_once_while_the_explanations_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The override arrives while the snapshot's explanations load (beijing judges nothing on rank or percentile):
    the next decision, single and batch, is granted at once (until 2026-12-05 the patch was queued until the load
    ended: decisions kept refusing), and a single decision read from the store runs on a worker thread, not on the
    event loop (its queries wait behind the snapshot's lock)."""
    import asyncio

    import socialcredit.registry.decisions.snapshot as snapshot_module
    from test_snapshot_background import held_back

    store, listing = _blacklisted(tmp_path, monkeypatch)
    railway = issue_key(
        store,
        "relying_party",
        "China Railway 12306",
        services=["high_speed_rail"],
        purposes=["ticket purchase"],
        known_services=SERVICES,
    ).token
    operator = issue_key(store, "operator", "registry operations").token
    ticket = {"subject_id": A, "service": "high_speed_rail", "purpose": "ticket purchase"}
    batch = {"subject_ids": [A], "service": "high_speed_rail", "purpose": "ticket purchase"}
    on_loop: list[bool] = []
    real = snapshot_module.Snapshot._stored_rows

    def spied(self: Any, rows: Any) -> Any:
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:
            on_loop.append(False)
        return real(self, rows)

    monkeypatch.setattr(snapshot_module.Snapshot, "_stored_rows", spied)
    with held_back(monkeypatch) as gate:
        app = create_app(tmp_path / "due.duckdb", store=store)
        with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
            rail, ops = {"Authorization": f"Bearer {railway}"}, {"Authorization": f"Bearer {operator}"}
            snap = app.state.service.snapshot("high_speed_rail")
            before = client.post("/v1/decisions", json=ticket, headers=rail).json()
            assert (before["granted"], before["lists"]) == (False, ["blacklist"])
            assert on_loop == [False]  # read from the store, off the event loop
            why = "The judgment was entered against the wrong person."
            r = client.post("/v1/overrides/listings", json={"listing_id": listing, "justification": why}, headers=ops)
            assert r.status_code == 201, r.text
            assert snap.explanations == "loading"
            after = client.post("/v1/decisions", json=ticket, headers=rail).json()
            assert (after["granted"], after["lists"], after["refusal"]) == (True, [], None)
            item = client.post("/v1/decisions/batch", json=batch, headers=rail).json()["decisions"][0]
            assert (item["granted"], item["lists"]) == (True, [])
            assert snap.explanations == "loading"
            gate.set()
            assert snap.wait_explained(600)
            loaded = client.post("/v1/decisions", json=ticket, headers=rail).json()
            assert loaded == after
    store.close()


def test_an_override_under_a_positional_policy_answers_at_once_and_decisions_follow_once_explanations_are_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under a policy granting on percentile, an override arriving while the snapshot's explanations load is
    answered at once and leaves the writer free (until 2026-12-05 it waited for the whole load under the writer:
    every ingest, override and journal flush waited too); decisions are the run's meanwhile, and follow the override
    once the explanations are in."""
    import threading

    import socialcredit.registry.service as service_module
    from socialcredit.policy import builtin_policy, parse_policy
    from socialcredit.registry.scoring.policies import publish_policy
    from test_snapshot_background import held_back

    monkeypatch.setenv(TODAY_ENV, "2026-04-02")
    store = built(tmp_path)
    text = builtin_policy("beijing").text.replace('version: "2026.2"', 'version: "2026.3"', 1)
    text = text.replace('grant_if: "not blacklist"', 'grant_if: "not blacklist and percentile >= 0"', 1)
    positional = parse_policy(text, "beijing.yaml", store.catalog)
    assert publish_policy(store, positional)
    score_on_its_day(store, positional, dt.date(2026, 2, 1))
    score_on_its_day(store, positional, dt.date(2026, 4, 2))
    listing = int(store.one("SELECT listing_id FROM listings WHERE subject_id = ? AND status = 'effective'", [A]))
    railway = issue_key(
        store,
        "relying_party",
        "China Railway 12306",
        services=["high_speed_rail"],
        purposes=["ticket purchase"],
        known_services=SERVICES,
    ).token
    operator = issue_key(store, "operator", "registry operations").token
    ticket = {"subject_id": A, "service": "high_speed_rail", "purpose": "ticket purchase"}
    relisted = threading.Event()
    real = service_module.Service._relist_live

    def noted(self: Any, snap: Any, held: list[str], passes: Any) -> int:
        try:
            return real(self, snap, held, passes)
        finally:
            relisted.set()

    monkeypatch.setattr(service_module.Service, "_relist_live", noted)
    with held_back(monkeypatch) as gate:
        app = create_app(tmp_path / "due.duckdb", store=store)
        with serving(app) as base, httpx.Client(base_url=base, timeout=120) as client:
            rail, ops = {"Authorization": f"Bearer {railway}"}, {"Authorization": f"Bearer {operator}"}
            service = app.state.service
            snap = service.snapshot("high_speed_rail")
            assert snap.policy.version == "2026.3" and snap.patches_wait
            before = client.post("/v1/decisions", json=ticket, headers=rail).json()
            assert (before["granted"], before["lists"]) == (False, ["blacklist"])
            why = "The judgment was entered against the wrong person."
            r = client.post("/v1/overrides/listings", json={"listing_id": listing, "justification": why}, headers=ops)
            assert r.status_code == 201, r.text
            assert snap.explanations == "loading"
            assert service.lock.acquire(timeout=120), "the writer is still held after the override was answered"
            service.lock.release()
            assert service.audit_refusal("anonymous", "access_refused", {"path": "/v1/decisions"})  # a write
            meanwhile = client.post("/v1/decisions", json=ticket, headers=rail).json()
            assert (meanwhile["granted"], meanwhile["lists"]) == (False, ["blacklist"])
            assert not relisted.is_set()
            gate.set()
            assert snap.wait_explained(600)
            assert relisted.wait(600), "the live thread did not rescore the override once the explanations were in"
            after = client.post("/v1/decisions", json=ticket, headers=rail).json()
            assert (after["granted"], after["lists"], after["refusal"]) == (True, [], None)
    store.close()


def test_an_override_stands_and_is_answered_when_rescoring_the_snapshots_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The override is committed before the snapshots are rescored: if that fails, the operator is answered 201 (not
    a 500 for an override that stands, whose retry would be refused as ended) and decisions follow at the next run."""
    import socialcredit.registry.service as service_module

    store, listing = _blacklisted(tmp_path, monkeypatch)
    operator = issue_key(store, "operator", "registry operations").token
    app = create_app(tmp_path / "due.duckdb", store=store)

    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("the state could not be read")

    monkeypatch.setattr(service_module, "rescore", broken)
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        ops = {"Authorization": f"Bearer {operator}"}
        body = {"listing_id": listing, "justification": "The judgment was entered against the wrong person."}
        r = client.post("/v1/overrides/listings", json=body, headers=ops)
        assert r.status_code == 201, r.text
        assert (r.json()["subject_id"], r.json()["kind"]) == (A, "listing")
        with app.state.service.writer() as st:
            assert st.one("SELECT status FROM listings WHERE listing_id = ?", [listing]) == "overridden"
    store.close()


def test_the_operators_pages_of_disputes_repairs_and_notices_are_audited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`GET /v1/disputes`, `/v1/repairs` and `/v1/notices` name residents: each read is audited (`read_disputes`,
    `read_repairs`, `read_notices`: the filters and how many it named), an operator's and a resident's alike (until
    2026-12-05 none was)."""
    store, listing = _blacklisted(tmp_path, monkeypatch)
    operator = issue_key(store, "operator", "registry operations")
    resident = issue_key(store, "resident", "张三", subject=A)
    app = create_app(tmp_path / "due.duckdb", store=store)
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        ops = {"Authorization": f"Bearer {operator.token}"}
        own = {"Authorization": f"Bearer {resident.token}"}
        filed = client.post(
            "/v1/disputes", json={"source_id": "courts", "record_id": "J1", "reason": "paid"}, headers=own
        )
        assert filed.status_code == 201, filed.text
        for path, params in (("/v1/disputes", {"status": "open"}), ("/v1/repairs", {}), ("/v1/notices", {})):
            r = client.get(path, params=params, headers=ops)
            assert r.status_code == 200, r.text
        assert [n["listing_id"] for n in client.get("/v1/notices", headers=own).json()] == [listing]
        with app.state.service.writer() as st:
            read = st.rows(
                "SELECT actor, action, subject_id, detail FROM audit_log "
                "WHERE action IN ('read_disputes', 'read_repairs', 'read_notices') ORDER BY seq"
            )
    by_operator, by_resident = f"key:{operator.party.key_id}", f"key:{resident.party.key_id}"
    assert [(r["actor"], r["action"], r["subject_id"], json.loads(r["detail"])) for r in read] == [
        (by_operator, "read_disputes", None, {"source_id": None, "status": "open", "entries": 1}),
        (by_operator, "read_repairs", None, {"status": None, "entries": 0}),
        (by_operator, "read_notices", None, {"policy_id": None, "status": None, "entries": 1}),
        (by_resident, "read_notices", A, {"policy_id": None, "status": None, "entries": 1}),
    ]
    store.close()


WORDS = "李四欠我钱不还 电话13800138000 住朝阳区"  # typed where a record id goes: 26 characters


def test_a_refused_dispute_filing_is_audited_as_an_accepted_one_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A filing refused (the record disputed already, another person's record, a record no source has) left no audit
    entry while an accepted one left ``dispute_filed``: each now leaves ``dispute_filed_refused`` with the filer and
    the refusal's code, the same entry for another person's record as for no one's. The record id is kept once it is
    the filer's record; before, only its length: a resident may type any words there (a phone number, a name), and
    the chain keeps no one's words (docs/audit.md; the first version kept the first 64 characters typed); the source
    likewise."""
    store, _ = _blacklisted(tmp_path, monkeypatch)
    resident = issue_key(store, "resident", "张三", subject=A)
    app = create_app(tmp_path / "due.duckdb", store=store)
    own = {"Authorization": f"Bearer {resident.token}"}
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        answers = [
            client.post(
                "/v1/disputes", json={"source_id": "courts", "record_id": record, "reason": "paid"}, headers=own
            )
            for record in ("J1", "J1", "K1", "K9", WORDS)  # K1 is 李四's; no source has K9
        ]
        answers.append(
            client.post("/v1/disputes", json={"source_id": WORDS, "record_id": "J1", "reason": "paid"}, headers=own)
        )
        assert [(r.status_code, r.json().get("error", {}).get("code")) for r in answers] == [
            (201, None),
            (409, "already_disputed"),
            (422, "unknown_record"),
            (422, "unknown_record"),
            (422, "unknown_record"),
            (422, "unknown_source"),
        ]
        with app.state.service.writer() as st:
            entries = st.rows(
                "SELECT actor, action, subject_id, detail FROM audit_log "
                "WHERE action LIKE 'dispute_filed%' ORDER BY seq"
            )
    by_resident = f"key:{resident.party.key_id}"
    asked = {"source": "courts", "record_id": "J1"}
    assert [(r["actor"], r["action"], r["subject_id"], json.loads(r["detail"])) for r in entries] == [
        (by_resident, "dispute_filed", A, {**asked, "dispute_id": 1, "deadline": "2026-05-02"}),
        (by_resident, "dispute_filed_refused", A, {**asked, "refused": "already_disputed"}),
        *[
            (
                by_resident,
                "dispute_filed_refused",
                A,
                {"source": source, "record_id": typed, "refused": refused},
            )
            for source, typed, refused in (
                ({"kept_in": None, "chars": 6}, {"kept_in": None, "chars": 2}, "unknown_record"),
                ({"kept_in": None, "chars": 6}, {"kept_in": None, "chars": 2}, "unknown_record"),
                ({"kept_in": None, "chars": 6}, {"kept_in": None, "chars": 26}, "unknown_record"),
                ({"kept_in": None, "chars": 26}, {"kept_in": None, "chars": 2}, "unknown_source"),  # words as a source
            )
        ],
    ]
    assert entries[2]["detail"] == entries[3]["detail"]  # another's record as no one's
    assert not [r for r in entries if "13800138000" in r["detail"]]
    store.close()


def test_an_answer_whose_texts_follow_lang_says_its_language(world: dict[str, Any]) -> None:
    """``Content-Language`` (en or zh-CN, as the pages' ``<html lang>``) on every answer whose texts follow ``lang``;
    none on one whose texts do not (the API's answers said no language at all)."""
    client: httpx.Client = world["client"]
    resident, railway = auth(world, "resident"), auth(world, "relying_party")
    ticket = {"subject_id": A, "service": "high_speed_rail", "purpose": "ticket purchase"}
    asked: list[tuple[str, str, dict[str, Any], dict[str, str]]] = [
        ("GET", f"/v1/subjects/{A}/report", {}, resident),
        ("GET", f"/v1/subjects/{A}/history", {}, resident),
        ("GET", f"/v1/subjects/{A}/services/high_speed_rail", {}, resident),
        ("GET", f"/v1/subjects/{A}/file", {}, resident),
        ("GET", f"/v1/subjects/{A}/file.html", {}, resident),
        ("GET", "/v1/lists/lookup", {"q": "张三"}, {}),
        # a listing decisions no longer apply says why (held_why) in the reader's language
        ("GET", "/v1/notices", {}, resident),
    ]
    for method, path, params, headers in asked:
        for lang, tag in ((None, "en"), ("en", "en"), ("zh", "zh-CN")):
            query = params if lang is None else {**params, "lang": lang}
            r = client.request(method, path, params=query, headers=headers)
            assert (r.status_code, r.headers.get("content-language")) == (200, tag), (path, lang)
    for lang, tag in (("en", "en"), ("zh", "zh-CN")):
        one = client.post("/v1/decisions", json={**ticket, "lang": lang}, headers=railway)
        assert (one.status_code, one.headers.get("content-language")) == (200, tag)
        batch = {"service": "high_speed_rail", "purpose": "ticket purchase", "subject_ids": [A, B], "lang": lang}
        many = client.post("/v1/decisions/batch", json=batch, headers=railway)
        assert (many.status_code, many.headers.get("content-language")) == (200, tag)
        # without explanations no text follows lang: the answer says no language
        bare = client.post("/v1/decisions/batch", json={**batch, "explain": False}, headers=railway)
        assert (bare.status_code, bare.headers.get("content-language")) == (200, None)


def test_the_refusals_of_every_route_taking_lang_are_said_in_chinese_when_asked(world: dict[str, Any]) -> None:
    """A resident's file, an organisation's and a dispute asked with ``lang=zh`` were refused in English (only the
    decisions spoke the language asked); POST /v1/disputes took no ``lang`` at all. Each refusal is now said in the
    language asked, as a decision's is, with ``Content-Language``; the filed dispute's notice too."""
    client: httpx.Client = world["client"]
    other, operator = auth(world, "other_resident"), auth(world, "operator")

    def said(r: httpx.Response) -> tuple[int, str | None, str, str]:
        error = r.json()["error"]
        return r.status_code, r.headers.get("content-language"), error["code"], error["message"]

    not_own = client.get(f"/v1/subjects/{A}/report", params={"lang": "zh"}, headers=other)
    assert said(not_own) == (403, "zh-CN", "not_your_file", "居民密钥只能打开本人的档案")
    english = client.get(f"/v1/subjects/{A}/report", headers=other)
    assert said(english) == (403, "en", "not_your_file", "a resident key opens only its own file")
    no_org = client.get("/v1/orgs/91110000600037341L/file", params={"lang": "zh"}, headers=operator)
    assert said(no_org) == (404, "zh-CN", "not_found", "没有登记的企业 91110000600037341L")
    dispute = {"source_id": "traffic_police", "record_id": "T1", "reason": "不是我"}
    unknown = client.post("/v1/disputes?lang=zh", json={**dispute, "record_id": "T9"}, headers=other)
    assert said(unknown) == (422, "zh-CN", "unknown_record", "来源 traffic_police 没有记录 'T9'")
    control = client.post("/v1/disputes?lang=zh", json={**dispute, "reason": "不是\x1b我"}, headers=other)
    assert said(control) == (422, "zh-CN", "control_character", "理由含有控制字符（U+001B）；请写纯文本")
    blank = client.post("/v1/disputes?lang=zh", json={**dispute, "reason": "\u3000 "}, headers=other)
    assert said(blank) == (422, "zh-CN", "missing_field", "理由为必填项：请用几句话写明")
    # over 4000 characters: the body's model refuses it first, in Chinese under lang=zh (docs/api.md)
    long = client.post("/v1/disputes?lang=zh", json={**dispute, "reason": "长" * 4001}, headers=other)
    assert said(long) == (422, "zh-CN", "invalid_request", "reason：须不超过 4000 个字符")
    filed = client.post("/v1/disputes?lang=zh", json=dispute, headers=other)
    assert (filed.status_code, filed.headers.get("content-language")) == (201, "zh-CN")
    number = filed.json()["dispute_id"]
    deadline = filed.json()["deadline"]  # 30 days after the world's today, which the story test moves
    assert filed.json()["notice"] == f"您对记录 T1（交通管理局）的异议 {number} 已受理；来源须于 {deadline} 前答复。"
    again = client.post("/v1/disputes", params={"lang": "zh"}, json=dispute, headers=other)
    assert said(again) == (
        409,
        "zh-CN",
        "already_disputed",
        f"来源 traffic_police 的记录 'T1' 已有异议（异议 {number}）；请向该异议补充材料",
    )
    in_english = client.post("/v1/disputes", json=dispute, headers=other)
    assert said(in_english)[:3] == (409, "en", "already_disputed")
    assert in_english.json()["error"]["message"].startswith("record 'T1' of source traffic_police is already disputed")


def test_the_dispute_link_and_fulfilment_routes_refuse_in_the_language_asked(world: dict[str, Any]) -> None:
    """A dispute's reading, information and answer, the disputes of a link and a source's fulfilment took no
    ``lang``: their refusals were in English whatever was asked. Each is now said in Chinese under ``lang=zh``, with
    ``Content-Language``; a ``lang`` not known is English, not a refusal (``RefusalsLang``)."""
    client: httpx.Client = world["client"]
    resident, other, operator = auth(world, "resident"), auth(world, "other_resident"), auth(world, "operator")
    courts, traffic = auth(world, "furnisher"), auth(world, "other_furnisher")

    def said(r: httpx.Response) -> tuple[int, str | None, str, str]:
        error = r.json()["error"]
        return r.status_code, r.headers.get("content-language"), error["code"], error["message"]

    zh = {"lang": "zh"}
    open_ones = client.get("/v1/disputes", params={"status": "open"}, headers=other).json()
    if not open_ones:  # B's dispute of T1, filed by the test before when the module runs whole
        filed = client.post(
            "/v1/disputes", json={"source_id": "traffic_police", "record_id": "T1", "reason": "不是我"}, headers=other
        )
        assert filed.status_code == 201, filed.text
        open_ones = [filed.json()]
    number = open_ones[0]["dispute_id"]
    assert said(client.get("/v1/disputes/999999", params=zh, headers=operator)) == (
        404,
        "zh-CN",
        "not_found",
        "没有异议 999999",
    )
    assert said(client.get(f"/v1/disputes/{number}", params=zh, headers=resident)) == (
        403,
        "zh-CN",
        "not_your_dispute",
        f"异议 {number} 不是您的，无权查看",
    )
    assert said(client.get(f"/v1/disputes/{number}", params={"lang": "fr"}, headers=resident)) == (
        403,
        "en",
        "not_your_dispute",
        f"dispute {number} is not yours to see",
    )
    information = client.post("/v1/disputes/999999/information", params=zh, json={"text": "补充"}, headers=other)
    assert said(information) == (404, "zh-CN", "not_found", "没有异议 999999")
    answer = {"outcome": "corrected", "note": "已核实"}
    assert said(client.post(f"/v1/disputes/{number}/answer", params=zh, json=answer, headers=courts)) == (
        403,
        "zh-CN",
        "not_your_dispute",
        f"异议 {number} 不是您的，无权查看",
    )
    assert said(client.post(f"/v1/disputes/{number}/answer", params=zh, json=answer, headers=traffic)) == (
        409,
        "zh-CN",
        "no_correction",
        "提出异议以来未收到记录 'T1' 的更正版本；请先报送更正版本（correction=true），再答复 'corrected'",
    )
    # GET /v1/disputes took no lang: its refusal was English whatever was asked
    assert said(client.get("/v1/disputes", params={**zh, "status": "nope"}, headers=operator)) == (
        422,
        "zh-CN",
        "bad_status",
        "状态须为 open、verified、corrected、withdrawn、lapsed、retracted 之一，而不是 'nope'",
    )
    assert said(client.get("/v1/link-disputes", params={**zh, "status": "closed"}, headers=operator)) == (
        422,
        "zh-CN",
        "bad_status",
        "状态须为 open、upheld、unlinked、lapsed 之一，而不是 'closed'",
    )
    link = client.post("/v1/link-disputes", params=zh, json={"identity_id": 999, "reason": "不是我"}, headers=resident)
    assert said(link) == (404, "zh-CN", "not_found", f"{A} 未关联其他地区的身份 999")
    unlink = {"answer": "unlink", "reason": "核实有误"}
    assert said(client.post("/v1/link-disputes/999/answer", params=zh, json=unlink, headers=operator)) == (
        404,
        "zh-CN",
        "not_found",
        "没有身份关联异议 999",
    )
    unknown = client.post("/v1/fulfilments", params=zh, json={"record_id": "NOPE"}, headers=courts)
    assert said(unknown) == (422, "zh-CN", "unknown_record", "来源 courts 没有记录 'NOPE'")
    future = client.post(
        "/v1/fulfilments", params=zh, json={"record_id": "J1", "fulfilled_on": "2099-01-01"}, headers=courts
    )
    assert said(future) == (422, "zh-CN", "future_date", "履行日期 2099-01-01 晚于今天")
    in_english = client.post("/v1/fulfilments", json={"record_id": "J1", "fulfilled_on": "2099-01-01"}, headers=courts)
    assert said(in_english) == (422, "en", "future_date", "fulfilled_on 2099-01-01 is in the future")
    # a closed dispute says its status in words, as the pages do (it said 已结束（verified）)
    verified = {"outcome": "verified", "note": "记录无误"}
    assert client.post(f"/v1/disputes/{number}/answer", json=verified, headers=traffic).status_code == 200
    assert said(client.post(f"/v1/disputes/{number}/answer", params=zh, json=verified, headers=traffic)) == (
        409,
        "zh-CN",
        "dispute_closed",
        f"异议 {number} 已结束（已核实（记录保留））",
    )
    added = client.post(f"/v1/disputes/{number}/information", params=zh, json={"text": "补充"}, headers=other)
    assert said(added) == (
        409,
        "zh-CN",
        "dispute_closed",
        f"异议 {number} 已结束（已核实（记录保留））；记录如仍有误，请另提异议",
    )
    # withdrawing it or adding a file to it, and a list of repairs of a status there is none of (English whatever
    # was asked until 2026-12-06: those routes took no lang)
    withdrawn = client.post(f"/v1/disputes/{number}/withdraw", params=zh, json={}, headers=other)
    assert said(withdrawn) == (
        409,
        "zh-CN",
        "dispute_closed",
        f"异议 {number} 已结束（已核实（记录保留））；只有未结束的异议可以撤回",
    )
    pdf = {**other, "content-type": "application/pdf"}
    filed = client.post(f"/v1/disputes/{number}/evidence", params=zh, content=b"%PDF-1.7\nreceipt\n", headers=pdf)
    assert said(filed) == (
        409,
        "zh-CN",
        "dispute_closed",
        f"异议 {number} 已结束（已核实（记录保留））；只有在异议未结束时才能添加文件",
    )
    repairs = client.get("/v1/repairs", params={**zh, "status": "closed"}, headers=operator)
    assert said(repairs) == (422, "zh-CN", "bad_status", "状态须为 pending、approved、refused 之一，而不是 'closed'")
    assert said(client.get("/v1/repairs", params={"status": "closed"}, headers=operator)) == (
        422,
        "en",
        "bad_status",
        "status must be one of pending, approved, refused, not 'closed'",
    )


def test_a_decision_takes_lang_as_a_query_parameter_as_every_other_route(world: dict[str, Any]) -> None:
    """``POST /v1/decisions?lang=zh`` answered in English: the query parameter every other route takes was ignored
    (only the body's ``lang`` counted). Now it is followed, the body's too, and the two disagreeing are refused.

    The answers compared must stand on the same change: the module's earlier tests leave changes (disputes,
    records) that the service's live thread patches in when it next wakes, which moved the watermark (and could
    move a reason) between two of these asks. Every change is made live first; the asks here write none."""
    client: httpx.Client = world["client"]
    railway = auth(world, "relying_party")
    world["service"].go_live()
    watermark = int(world["store"].one("SELECT value FROM counters WHERE name = 'seq'"))
    ticket = {"subject_id": A, "service": "high_speed_rail", "purpose": "ticket purchase"}
    batch = {"service": "high_speed_rail", "purpose": "ticket purchase", "subject_ids": [A, B]}
    for path, body in (("/v1/decisions", ticket), ("/v1/decisions/batch", batch)):
        in_body = client.post(path, json={**body, "lang": "zh"}, headers=railway)
        in_query = client.post(path, params={"lang": "zh"}, json=body, headers=railway)
        assert (in_query.status_code, in_query.headers.get("content-language")) == (200, "zh-CN"), path
        assert in_body.json()["watermark"] == watermark, path  # the latest change, as every answer below
        assert in_query.json() == in_body.json(), path  # its texts as the body's lang gives them
        agreeing = client.post(path, params={"lang": "zh"}, json={**body, "lang": "zh"}, headers=railway)
        assert agreeing.json() == in_body.json(), path
        both = client.post(path, params={"lang": "zh"}, json={**body, "lang": "en"}, headers=railway)
        assert (both.status_code, both.json()) == (
            422,
            {
                "error": {
                    "code": "invalid_request",
                    "message": "lang: the query asks 'zh' and the body 'en'; give the language once (?lang= or "
                    "the body's lang)",
                    "field": "lang",
                }
            },
        ), path
        other = client.post(path, params={"lang": "fr"}, json=body, headers=railway)
        assert (other.status_code, other.json()["error"]["field"]) == (422, "query.lang"), path


def test_a_run_made_after_its_date_gives_its_notice_on_the_day_it_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``POST /v1/jobs`` as of 2026-11-01 on 2026-12-06 (the registry's today): A's notice is dated 2026-12-06 and
    the listing takes effect 60 days later, on 2027-02-04, the whole grace. Until 2026-12-06 the notice and its
    listing were dated 2026-11-01, in effect on 2026-12-31: 25 real days of notice, by a notice dated before it was
    made. What the notice says was found is as of the run's date."""
    monkeypatch.setenv(TODAY_ENV, "2026-12-06")
    store = built(tmp_path)
    resident = {"Authorization": f"Bearer {issue_key(store, 'resident', '张三', subject=A).token}"}
    operator = {"Authorization": f"Bearer {issue_key(store, 'operator', 'registry operations').token}"}
    app = create_app(tmp_path / "due.duckdb", store=store)
    try:
        with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
            started = client.post("/v1/jobs", json={"policy": "beijing", "as_of": "2026-11-01"}, headers=operator)
            assert started.status_code == 202, started.text
            job_id = started.json()["job_id"]
            for thread in threading.enumerate():  # the job's own thread: joined, not polled
                if thread.name == f"score-job-{job_id}":
                    thread.join(120)
            job = client.get(f"/v1/jobs/{job_id}", headers=operator).json()
            assert (job["status"], job["summary"]["as_of"], job["summary"]["standing"]) == (
                "finished",
                "2026-11-01",
                "ordinary",
            ), job
            [listing] = client.get("/v1/notices", headers=resident).json()
            # 2026-12-06 + 60 days: 25 days of December, 31 of January, 4 of February
            assert (listing["status"], listing["noticed_on"], listing["effective_on"]) == (
                "pending",
                "2026-12-06",
                "2027-02-04",
            )
            told = client.get(f"/v1/subjects/{A}/file", headers=resident).json()["notifications"]
            assert [(n["created_on"], n["kind"], n["text"]) for n in told] == [
                (
                    "2026-12-06",
                    "listing_notice",
                    "Notice: under the Beijing social credit score you meet a criterion of the blacklist: judgment "
                    "defaulter (record J1), as found as of 2026-11-01. The listing takes effect on 2027-02-04 unless "
                    "the cause is resolved before then. You may dispute the record, or fulfil the obligation.",
                )
            ]
    finally:
        store.close()
