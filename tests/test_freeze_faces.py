"""The freeze and the fraud alert as residents, operators and lenders meet them: the command line in a subprocess
(exit codes), and the HTTP API on a real server, ending with the acceptance step: the resident freezes the file and
a lender is refused with "frozen"; lifted for that lender, it is granted; another lender is still refused."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_helpers import auth, generous, serving
from due_world import B, C, build, score_on_its_day
from socialcredit.api.app import create_app
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.store import open_store

CLI = str(Path(sys.executable).parent / "socialcredit")


def sc(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_TODAY")}
    return subprocess.run(
        [CLI, *args, "--db", str(db)], capture_output=True, text=True, env=env | {"COLUMNS": "200"}, timeout=120
    )


def test_the_command_line(tmp_path: Path) -> None:
    store = build(tmp_path)
    lender = issue_key(store, "relying_party", "Bank One", services=["bank_loan"], purposes=["loan"])
    db = store.path
    store.close()
    placed = sc(db, "freeze", "place", B, "--today", "2026-03-02")
    assert (placed.returncode, placed.stdout) == (0, f"{B}: frozen since 2026-03-02.\n")
    again = sc(db, "freeze", "place", B, "--today", "2026-03-02")
    assert again.returncode == 2
    assert "the file is frozen already" in again.stderr and "Traceback" not in again.stderr
    # a party no relying party's key names is refused, as the API refuses it: such a lift covered no one
    for said in ("key:lender1", "Bank One"):
        unknown = sc(db, "freeze", "lift", B, "--party", said, "--today", "2026-03-02")
        assert (unknown.returncode, unknown.stdout) == (2, ""), unknown.stderr
        assert unknown.stderr.strip().splitlines()[-1] == (
            f"error: no relying party holds the key id {said.removeprefix('key:')!r}; name the party by its key id "
            "(`socialcredit keys list`); nothing was lifted"
        )
    key = lender.party.key_id
    lifted = sc(db, "freeze", "lift", B, "--party", f"key:{key}", "--until", "2026-03-09", "--today", "2026-03-02")
    assert lifted.returncode == 0, lifted.stderr
    assert lifted.stdout.splitlines()[1] == f"  lifted for party {key} from 2026-03-02 until 2026-03-09"
    bad = sc(db, "freeze", "lift", B, "--until", "next week")
    assert bad.returncode == 2 and "--until 'next week' is not a date of the form YYYY-MM-DD" in bad.stderr
    # a day no month has is named as such (it said "not a date of the form YYYY-MM-DD", which it is)
    impossible = sc(db, "freeze", "lift", B, "--until", "2026-02-30")
    assert impossible.returncode == 2
    assert (
        impossible.stderr.strip().splitlines()[-1]
        == "error: --until '2026-02-30' is not a date: February 2026 has 28 days"
    )
    alert = sc(db, "fraud-alert", "place", B, "--police-report", "R-42", "--today", "2026-03-02")
    assert alert.returncode == 0
    assert (
        alert.stdout.splitlines()[-1] == "fraud alert (extended, police report R-42): verify identity until 2033-03-02."
    )
    status = json.loads(sc(db, "freeze", "status", B, "--json", "--today", "2026-03-03").stdout)
    assert (status["frozen"], status["fraud_alert"]["in_force"]) == (True, True)
    with open_store(db, key="") as store:  # the look-up is audited, as `show` is
        assert store.rows("SELECT actor, action, subject_id, detail FROM audit_log ORDER BY seq DESC LIMIT 1") == [
            {"actor": "cli", "action": "read_freeze", "subject_id": B, "detail": '{"purpose": "freeze status"}'}
        ]
    assert [e["event"] for e in status["history"]][-1] == "freeze_placed"
    none = sc(db, "fraud-alert", "remove", C)
    assert none.returncode == 2 and "there is no fraud alert on the file" in none.stderr
    unknown = sc(db, "freeze", "status", "110105199901010000")
    assert unknown.returncode == 2 and "no registered subject '110105199901010000'" in unknown.stderr


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    store = build(tmp_path_factory.mktemp("freeze_api"))
    score_on_its_day(store, resolve_policy(store, "beijing"), dt.date(2026, 3, 1))
    known = {"bank_loan", "high_speed_rail"}

    def lender(name: str) -> Any:
        return issue_key(store, "relying_party", name, services=["bank_loan"], purposes=["loan"], known_services=known)

    keys = {
        "lender1": lender("Bank One"),
        "lender2": lender("Bank Two"),
        "resident": issue_key(store, "resident", "B", subject=B),
        "operator": issue_key(store, "operator", "registry operations"),
        "auditor": issue_key(store, "auditor", "the auditor"),
        "traffic": issue_key(store, "furnisher", "the traffic police", source="traffic_police"),
    }
    app = create_app(store.path, store=store, max_body=256 * 1024, throttle=generous())
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield {"client": client, "keys": keys}
    store.close()


def _ask(world: dict[str, Any], who: str) -> dict[str, Any]:
    key = world["keys"][who].token
    body = {"subject_id": B, "service": "bank_loan", "purpose": "loan"}
    r = world["client"].post("/v1/decisions", json=body, headers=auth(key))
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    batch = world["client"].post(
        "/v1/decisions/batch", json={"service": "bank_loan", "purpose": "loan", "subject_ids": [B]}, headers=auth(key)
    )
    assert batch.status_code == 200, batch.text
    answer = batch.json()["decisions"][0]
    assert answer["granted"] == out["granted"]
    assert answer.get("frozen", False) == out["frozen"]
    return out


def test_the_resident_freezes_and_a_lender_is_refused_with_frozen(world: dict[str, Any]) -> None:
    client, keys = world["client"], world["keys"]
    resident = auth(keys["resident"].token)
    assert _ask(world, "lender1")["granted"]
    r = client.post("/v1/freeze", headers=resident)
    assert r.status_code == 200 and r.json()["frozen"]
    refused = _ask(world, "lender1")
    assert (refused["granted"], refused["frozen"], refused["refusal"]) == (
        False,
        True,
        "the resident has frozen their file",
    )
    assert refused["reasons"][0]["code"] == "FROZEN"
    again = client.post("/v1/freeze", headers=resident)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_frozen")
    lift = client.post("/v1/freeze/lift", json={"party": keys["lender1"].party.key_id}, headers=resident)
    assert lift.status_code == 200
    assert lift.json()["lifts"][0]["party"] == keys["lender1"].party.key_id
    assert _ask(world, "lender1")["granted"]
    other = _ask(world, "lender2")
    assert (other["granted"], other["frozen"]) == (False, True)
    # the operator sees it, and the resident may not use the operator's routes
    seen = client.get(f"/v1/subjects/{B}/freeze", headers=auth(keys["operator"].token))
    assert seen.status_code == 200
    assert [e["event"] for e in seen.json()["history"]] == ["freeze_lifted_for_party", "freeze_placed"]
    # the operator's look-up is audited and the resident sees it among who asked (it was neither until 2026-12-05)
    report = client.get(f"/v1/subjects/{B}/report", headers=resident).json()
    views = [q for q in report["inquiries"] if q["outcome"] == "viewed"]
    assert [(q["requester"], q["purpose"]) for q in views][:1] == [
        ("an operator (registry operations) viewed your file", "operator freeze status")
    ]
    assert client.get(f"/v1/subjects/{B}/freeze", headers=resident).status_code == 403
    own = client.get("/v1/freeze", headers=resident)  # the resident's own read is audited too, as their report's is
    assert own.status_code == 200
    entries = client.get("/v1/audit?limit=1000", headers=auth(keys["auditor"].token)).json()["entries"]
    last = [e for e in entries if e["action"] == "read_freeze"][-1]
    assert (last["actor"], last["subject_id"], last["detail"]) == (
        f"key:{keys['resident'].party.key_id}",
        B,
        {"purpose": "resident freeze status"},
    )
    bad = client.post("/v1/freeze/lift", json={"until": "2020-01-01"}, headers=resident)
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "until")
    # lifted for good by the operator: every lender is granted
    assert (
        client.post(f"/v1/subjects/{B}/freeze/lift", json={}, headers=auth(keys["operator"].token)).status_code == 200
    )
    assert _ask(world, "lender2")["granted"]


def test_a_fraud_alert_over_the_api(world: dict[str, Any]) -> None:
    client, keys = world["client"], world["keys"]
    resident = auth(keys["resident"].token)
    r = client.post("/v1/fraud-alert", json={"police_report": "R-7"}, headers=resident)
    assert r.status_code == 200
    assert r.json()["fraud_alert"]["kind"] == "extended"
    d = _ask(world, "lender2")
    assert (d["verify_identity"], d["reasons"][0]["code"]) == (True, "VERIFY_IDENTITY")
    assert client.delete("/v1/fraud-alert", headers=resident).status_code == 200
    gone = client.delete("/v1/fraud-alert", headers=resident)
    assert (gone.status_code, gone.json()["error"]["code"]) == (409, "no_alert")
    assert not _ask(world, "lender2")["verify_identity"]


def test_the_controls_refuse_in_the_language_asked(world: dict[str, Any]) -> None:
    """The freeze routes took no lang: their refusals were in English only. ?lang=zh says them in Chinese (and the
    answer says so), ?lang=en or a language not known in English, as the records routes do."""
    client, operator = world["client"], auth(world["keys"]["operator"].token)
    path = f"/v1/subjects/{C}"

    def refused(method: str, route: str, lang: str, body: dict[str, Any] | None = None) -> tuple[Any, ...]:
        r = client.request(method, path + route, params={"lang": lang}, json=body, headers=operator)
        error = r.json()["error"]
        return r.status_code, error["code"], error["message"], r.headers["content-language"]

    assert client.post(f"{path}/freeze", params={"lang": "zh"}, headers=operator).status_code == 200
    assert refused("POST", "/freeze", "zh") == (409, "already_frozen", "档案已处于冻结状态", "zh-CN")
    assert refused("POST", "/freeze", "en") == (409, "already_frozen", "the file is frozen already", "en")
    assert refused("POST", "/freeze/lift", "zh", {"until": "2020-01-01"}) == (
        422,
        "refused",
        "解冻的截止日期须为今天或以后，而不是 2020-01-01",
        "zh-CN",
    )
    assert client.post(f"{path}/freeze/lift", json={}, headers=operator).status_code == 200
    assert refused("POST", "/freeze/lift", "zh", {}) == (409, "not_frozen", "档案未冻结", "zh-CN")
    assert refused("POST", "/freeze/lift", "fr", {}) == (409, "not_frozen", "the file is not frozen", "en")
    assert refused("DELETE", "/fraud-alert", "zh") == (409, "no_alert", "档案上没有欺诈警示", "zh-CN")
    assert refused("POST", "/fraud-alert", "zh", {"police_report": "R-7\x1b"}) == (
        422,
        "control_character",
        "报案回执编号须为一行纯文本；此编号含有控制字符（U+001B）",
        "zh-CN",
    )
    # one term for the reference, as the freeze page says it (报案回执编号)
    assert refused("POST", "/fraud-alert", "zh", {"police_report": "   "}) == (
        422,
        "refused",
        "报案回执编号须为 1 至 100 个字符",
        "zh-CN",
    )
    assert refused("POST", "/fraud-alert", "en", {"police_report": "   "}) == (
        422,
        "refused",
        "a police report reference has 1 to 100 characters",
        "en",
    )


def test_the_resident_controls_refuse_in_the_language_asked(world: dict[str, Any]) -> None:
    """The resident's own routes (/v1/freeze, /v1/freeze/lift, /v1/fraud-alert) say their refusals in ?lang=zh as
    the operator's do; the file is left unfrozen with no alert, as it was."""
    client, resident = world["client"], auth(world["keys"]["resident"].token)

    def refused(method: str, route: str, body: dict[str, Any] | None = None) -> tuple[Any, ...]:
        r = client.request(method, route, params={"lang": "zh"}, json=body, headers=resident)
        error = r.json()["error"]
        return r.status_code, error["code"], error["message"], r.headers["content-language"]

    own = client.get("/v1/freeze", params={"lang": "zh"}, headers=resident)
    # an answer with no texts of its own says no language (RefusalsLang): only a refusal does
    assert (own.status_code, own.headers.get("content-language")) == (200, None)
    assert refused("POST", "/v1/freeze/lift", {}) == (409, "not_frozen", "档案未冻结", "zh-CN")
    assert refused("DELETE", "/v1/fraud-alert") == (409, "no_alert", "档案上没有欺诈警示", "zh-CN")
    assert refused("POST", "/v1/fraud-alert", {"police_report": " "}) == (
        422,
        "refused",
        "报案回执编号须为 1 至 100 个字符",
        "zh-CN",
    )
    assert client.post("/v1/freeze", params={"lang": "zh"}, headers=resident).status_code == 200
    assert refused("POST", "/v1/freeze") == (409, "already_frozen", "档案已处于冻结状态", "zh-CN")
    assert refused("POST", "/v1/freeze/lift", {"party": "key:nobody"}) == (
        422,
        "unknown_party",
        "没有机构持有密钥编号 'nobody'；请以密钥编号写明机构（`socialcredit keys list`）；未作任何解冻",
        "zh-CN",
    )
    assert client.post("/v1/freeze/lift", json={}, headers=resident).status_code == 200


def test_a_police_report_with_a_control_character_is_refused(world: dict[str, Any], tmp_path: Path) -> None:
    """A police report's reference is kept and printed (`freeze status`, `fraud-alert place`) and shown on the
    pages: an escape sequence or a bidirectional control was stored as sent, over the API, the pages and the command
    line alike. Each is refused, 422 over the API and exit 2 on the command line, naming the character."""
    client, keys = world["client"], world["keys"]
    resident = auth(keys["resident"].token)
    for report, char in (
        ("R-7\x1b[2J", "U+001B"),
        ("R-\u202e7", "U+202E"),
        ("R-7\nR-8", "U+000A"),
        ("R-7\u2028R-8", "U+2028"),
    ):
        r = client.post("/v1/fraud-alert", json={"police_report": report}, headers=resident)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["message"] == (
            f"a police report reference is one line of plain text; this one has a control character ({char})"
        )
    got = client.get("/v1/freeze", headers=resident).json()
    assert got["fraud_alert"] is None
    store = build(tmp_path)
    db = store.path
    store.close()
    cli = sc(db, "fraud-alert", "place", B, "--police-report", "R-7\x1b[31m", "--today", "2026-03-02")
    assert (cli.returncode, cli.stdout) == (2, "")
    assert cli.stderr.strip().splitlines()[-1] == (
        "error: a police report reference is one line of plain text; this one has a control character (U+001B)"
    )


def test_a_reference_stored_before_the_check_is_printed_escaped(tmp_path: Path) -> None:
    """A reference an older release kept as sent (an escape sequence that clears the screen, a bidirectional
    override) is printed by `freeze status` with each control written as its code, never raw to the terminal."""
    store = build(tmp_path)
    store.execute(
        "INSERT INTO fraud_alerts (alert_id, subject_id, kind, police_report, placed_at, placed_on, until_on, "
        "placed_by) VALUES (900, ?, 'extended', ?, now(), DATE '2026-03-02', DATE '2033-03-02', 'cli')",
        [B, "R-7\x1b[2J\u202eX\u2028京"],
    )
    db = store.path
    store.close()
    status = sc(db, "freeze", "status", B, "--today", "2026-03-03")
    assert (status.returncode, status.stderr) == (0, "")
    assert status.stdout.splitlines()[-1] == (
        "fraud alert (extended, police report R-7\\x1b[2J\\u202eX\\u2028京): verify identity until 2033-03-02."
    )
    assert not {"\x1b", "\u202e", "\u2028"} & set(status.stdout)


def test_a_live_decision_of_a_frozen_file_is_refused_on_the_patched_row(world: dict[str, Any]) -> None:
    client, keys = world["client"], world["keys"]
    resident = auth(keys["resident"].token)
    assert client.post("/v1/freeze", headers=resident).status_code == 200
    before = _ask(world, "lender1")
    assert (before["granted"], before["frozen"]) == (False, True)
    ticket = (
        "record_id,subject_id,record_type,event_date,offence,fine,status\n"
        f"T9,{B},traffic_ticket,2026-02-20,speeding,200,paid\n"
    )
    sent = client.post(
        "/v1/records", content=ticket.encode(), headers={**auth(keys["traffic"].token), "content-type": "text/csv"}
    )
    assert sent.status_code in (200, 201), sent.text
    deadline = time.monotonic() + 10
    after = _ask(world, "lender1")
    while after["watermark"] <= before["watermark"] and time.monotonic() < deadline:
        time.sleep(0.05)
        after = _ask(world, "lender1")
    assert after["watermark"] > before["watermark"]  # the row was rescored live since the run
    assert (after["granted"], after["frozen"], after["reasons"][0]["code"]) == (False, True, "FROZEN")
    assert client.post("/v1/freeze/lift", json={}, headers=resident).status_code == 200
    assert _ask(world, "lender1")["granted"]


def test_a_lift_for_a_party_no_relying_party_holds_is_refused_and_nothing_is_lifted(world: dict[str, Any]) -> None:
    # A lift for a typo, a control character or a key that is not a relying party's was stored and answered 200,
    # and covered no one: the resident believed the lender could see their file.
    client, keys = world["client"], world["keys"]
    resident, operator = auth(keys["resident"].token), auth(keys["operator"].token)
    assert client.post("/v1/freeze", headers=resident).status_code == 200
    cases = [
        ("/v1/freeze/lift", resident, "nobody000000", "nobody000000"),
        ("/v1/freeze/lift", resident, "\u0000", "\\x00"),
        (f"/v1/subjects/{B}/freeze/lift", operator, f"key:{keys['operator'].party.key_id}", "OPERATOR"),
    ]
    for path, who, party, said in cases:
        said = keys["operator"].party.key_id if said == "OPERATOR" else said
        r = client.post(path, json={"party": party, "until": "2026-12-31"}, headers=who)
        assert (r.status_code, r.json()["error"]) == (
            422,
            {
                "code": "unknown_party",
                "message": f"no relying party holds the key id '{said}'; name the party by its key id "
                "(`socialcredit keys list`); nothing was lifted",
                "field": "party",
            },
        ), r.text
    status = client.get(f"/v1/subjects/{B}/freeze", headers=operator).json()
    assert (status["frozen"], status["lifts"]) == (True, [])
    assert _ask(world, "lender1")["frozen"]
    # a relying party's key id, with or without "key:", is taken
    lender = keys["lender1"].party.key_id
    lifted = client.post("/v1/freeze/lift", json={"party": f"key:{lender}"}, headers=resident)
    assert (lifted.status_code, [x["party"] for x in lifted.json()["lifts"]]) == (200, [lender])
    assert _ask(world, "lender1")["granted"]
    assert client.post("/v1/freeze/lift", json={}, headers=resident).status_code == 200


def test_a_lift_for_a_party_a_freeze_never_acts_on_is_refused_by_every_face(tmp_path: Path) -> None:
    # The page offered only the parties a freeze acts on and refused a railway's lift, while the API and the command
    # line answered 200 / exit 0 and stored it: a lift that changed nothing. The registry refuses it for every face.
    store = build(tmp_path)
    score_on_its_day(store, resolve_policy(store, "beijing"), dt.date(2026, 3, 1))
    rail = issue_key(store, "relying_party", "12306", services=["high_speed_rail"], purposes=["ticket"]).party.key_id
    bank = issue_key(store, "relying_party", "Bank One", services=["bank_loan"], purposes=["loan"]).party.key_id
    resident = auth(issue_key(store, "resident", "B", subject=B).token)
    said = (
        f"a freeze never refuses the services the party {rail!r} asks for (such as rail or flights): there is "
        "nothing to lift for it; nothing was lifted"
    )
    app = create_app(store.path, store=store, throttle=generous())
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        assert client.post("/v1/freeze", headers=resident).status_code == 200
        for party in (rail, f"key:{rail}"):
            r = client.post("/v1/freeze/lift", json={"party": party, "until": "2026-12-31"}, headers=resident)
            assert (r.status_code, r.json()["error"]) == (
                422,
                {"code": "not_freezable", "message": said, "field": "party"},
            ), r.text
        zh = client.post("/v1/freeze/lift", params={"lang": "zh"}, json={"party": rail}, headers=resident)
        assert (zh.status_code, zh.json()["error"]["message"]) == (
            422,
            f"冻结不会拒绝机构 {rail} 查询的服务（如铁路、航空），无需为其解冻；未作任何解冻",
        )
        assert client.get("/v1/freeze", headers=resident).json()["lifts"] == []
        # a party a freeze acts on is lifted for as before
        lifted = client.post("/v1/freeze/lift", json={"party": bank}, headers=resident)
        assert (lifted.status_code, [x["party"] for x in lifted.json()["lifts"]]) == (200, [bank])
    db = store.path
    store.close()
    refused = sc(db, "freeze", "lift", B, "--party", rail, "--today", "2026-03-02")
    assert (refused.returncode, refused.stdout) == (2, ""), refused.stderr
    assert refused.stderr.strip().splitlines()[-1] == f"error: {said}"
    with open_store(db, key="") as store:
        assert store.rows("SELECT party FROM freeze_lifts") == [{"party": bank}]


ROUTES = [
    ("GET", "/v1/freeze", None, "resident"),
    ("POST", "/v1/freeze", None, "resident"),
    ("POST", "/v1/freeze/lift", {}, "resident"),
    ("POST", "/v1/fraud-alert", {}, "resident"),
    ("DELETE", "/v1/fraud-alert", None, "resident"),
    ("GET", f"/v1/subjects/{B}/freeze", None, "operator"),
    ("POST", f"/v1/subjects/{B}/freeze", None, "operator"),
    ("POST", f"/v1/subjects/{B}/freeze/lift", {}, "operator"),
    ("POST", f"/v1/subjects/{B}/fraud-alert", {}, "operator"),
    ("DELETE", f"/v1/subjects/{B}/fraud-alert", None, "operator"),
]


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
def test_every_other_role_is_refused(
    world: dict[str, Any], method: str, path: str, body: dict[str, Any] | None, allowed: str
) -> None:
    client, keys = world["client"], world["keys"]
    for who in ("lender1", "resident", "operator", "traffic"):
        if keys[who].party.role == allowed:
            continue
        r = client.request(method, path, json=body, headers=auth(keys[who].token))
        assert (r.status_code, r.json()["error"]["code"]) == (403, "role_not_allowed"), (who, r.text)
    anonymous = client.request(method, path, json=body)
    assert anonymous.status_code == 401
    status = client.get(f"/v1/subjects/{B}/freeze", headers=auth(keys["operator"].token)).json()
    assert (status["frozen"], status["fraud_alert"]) == (False, None)  # nobody refused changed anything
