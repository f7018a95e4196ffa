"""The HTTP service: keys and roles, every refusal a clear 401/403 that is audited, decisions with reasons."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute

from api_helpers import auth, execute, one, scored_example, serve, world
from socialcredit.api.app import create_app
from socialcredit.errors import SocialCreditError
from socialcredit.example import AS_OF
from socialcredit.policy import builtin_policy, parse_policy
from socialcredit.registry.access.parties import issue_key, revoke_key
from socialcredit.registry.scoring.policies import publish_policy
from socialcredit.registry.scoring.runs import score
from web_helpers import csrf_of

__all__ = ["world"]  # the module-scoped fixture, shared with the other API test modules


def test_a_refused_high_speed_rail_decision_carries_its_reasons(world: dict[str, Any]) -> None:
    client: httpx.Client = world["client"]
    body = {"subject_id": world["listed"], "service": "high_speed_rail", "purpose": "ticket purchase"}
    r = client.post("/v1/decisions", json=body, headers=auth(world["keys"]["railway"]))
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["granted"] is False
    assert data["refusal"] == "People on the blacklist may not buy high-speed rail tickets."
    assert 1 <= len(data["reasons"]) <= 4
    assert "score" not in data  # a relying party sees the decision, tier and reasons, never more
    world["service"].flush_inquiries()  # the journal is moved into the store by a background thread
    logged = one(
        world,
        "SELECT count(*) FROM inquiries WHERE subject_id = ? AND service = 'high_speed_rail' "
        "AND requester LIKE 'key:%'",
        [world["listed"]],
    )
    assert logged >= 1


def test_batch_decisions_agree_with_single_ones(world: dict[str, Any]) -> None:
    client: httpx.Client = world["client"]
    ids = [r[0] for r in execute(world, "SELECT DISTINCT subject_id FROM run_results ORDER BY 1 LIMIT 60")]
    ids.append(world["listed"])
    key = auth(world["keys"]["railway"])
    body = {"service": "high_speed_rail", "purpose": "ticket purchase", "subject_ids": ids}
    r = client.post("/v1/decisions/batch", json=body, headers=key)
    assert r.status_code == 200, r.text
    batch = {d["subject_id"]: d for d in r.json()["decisions"]}
    assert batch[world["listed"]]["granted"] is False
    singles = {}
    for sid in [*ids[:10], world["listed"]]:
        one = client.post(
            "/v1/decisions",
            json={"subject_id": sid, "service": "high_speed_rail", "purpose": "ticket purchase"},
            headers=key,
        )
        # each item of a batch is the single decision: granted, tier, refusal, reasons, run and watermark
        assert one.json() == batch[sid]
        singles[sid] = one.json()
    refused = batch[world["listed"]]
    assert refused["refusal"] and 1 <= len(refused["reasons"]) <= 4
    too_many = {**body, "subject_ids": ["x"] * 10_001}
    r = client.post("/v1/decisions/batch", json=too_many, headers=key)
    assert (r.status_code, r.json()["error"]["field"]) == (422, "subject_ids")
    unknown = {**body, "subject_ids": ["110101199001011237", world["listed"]]}  # valid, and not registered
    r = client.post("/v1/decisions/batch", json=unknown, headers=key)
    assert r.status_code == 200
    first, second = r.json()["decisions"]
    assert first["granted"] is None and first["error"]["code"] == "unknown_subject"
    assert second == singles[world["listed"]]


def test_a_batch_under_lang_zh_says_its_items_errors_in_chinese(world: dict[str, Any]) -> None:
    """Each item's error of a batch asked in Chinese is in Chinese, and the answer says so (they were English)."""
    client: httpx.Client = world["client"]
    ask = {"service": "high_speed_rail", "purpose": "ticket purchase", "explain": False}
    sent = ["110101199001011237", "110101199001011230", "110101900101123", "9111000060003734ZL", "1.10101E+17"]
    key = auth(world["keys"]["railway"])
    r = client.post("/v1/decisions/batch?lang=zh", json={**ask, "subject_ids": sent}, headers=key)
    assert r.status_code == 200, r.text
    assert r.headers["content-language"] == "zh-CN"
    run = r.json()["run_id"]
    assert [d["error"] for d in r.json()["decisions"]] == [
        {"code": "unknown_subject", "message": f"第 {run} 次评分没有此主体（证件号码未登记，或在该次评分之后登记）"},
        {"code": "invalid_identifier", "message": "居民身份证号码 '110101199001011230' 的校验码为 '0'；应为 '7'"},
        {
            "code": "invalid_identifier",
            "message": "主体证件号码 '110101900101123' 为 15 位，是 1999 年以前身份证号码"
            "（或 2015 年以前工商注册号）的格式；应为 18 位的居民身份证号码或统一社会信用代码",
        },
        {
            "code": "invalid_identifier",
            "message": "统一社会信用代码 '9111000060003734ZL' 第 17 位是 'Z'；只能是 0-9 和除 I、O、S、V、Z 以外的 A-Z",
        },
        {
            "code": "invalid_identifier",
            "message": "主体证件号码 '1.10101E+17' 是科学计数法的数字（电子表格显示长数字的方式）：末几位已丢失；"
            "请将该列导出为文本",
        },
    ]
    english = client.post("/v1/decisions/batch", json={**ask, "subject_ids": sent[:1]}, headers=key).json()
    assert english["decisions"][0]["error"]["message"] == (
        f"not scored in run {run} (unknown identity number, or registered after the run)"
    )


def test_a_single_decision_refused_under_lang_zh_says_why_in_chinese(world: dict[str, Any]) -> None:
    """A single decision's refusal asked in Chinese (?lang= or the body's lang) is said in Chinese, code and field
    kept, as a batch's items are (they were English); English stays the default."""
    client: httpx.Client = world["client"]
    key = auth(world["keys"]["railway"])
    ask = {"service": "high_speed_rail", "purpose": "ticket purchase"}
    cases = [
        ({**ask, "subject_id": "110101199001011237"}, 404, "not_found", None),
        ({**ask, "subject_id": "110101199002301236"}, 422, "invalid_identifier", "subject_id"),
        ({**ask, "subject_id": world["listed"], "service": "deposit_free_rental"}, 403, "service_not_registered", None),
        ({**ask, "subject_id": world["listed"], "purpose": "marketing"}, 403, "purpose_not_declared", None),
    ]
    said = []
    for body, status, code, field in cases:
        by_query = client.post("/v1/decisions?lang=zh", json=body, headers=key)
        by_body = client.post("/v1/decisions", json={**body, "lang": "zh"}, headers=key)
        for sent in (by_query, by_body):
            error = sent.json()["error"]
            assert (sent.status_code, error["code"], error.get("field")) == (status, code, field)
        assert by_query.json() == by_body.json()
        said.append(by_query.json()["error"]["message"])
    scored = client.post("/v1/decisions", json={**ask, "subject_id": world["listed"]}, headers=key).json()["run_id"]
    assert said == [
        f"第 {scored} 次评分没有主体 110101199001011237",
        "居民身份证号码 '110101199002301236' 的出生日期 19900230 不可能",
        "此密钥只可询问 high_speed_rail 的决定，不可询问 deposit_free_rental",
        "此密钥未申报用途 'marketing'（已申报：ticket purchase）",
    ]
    english = client.post("/v1/decisions", json=cases[0][0], headers=key).json()["error"]["message"]
    assert english == f"subject 110101199001011237 was not scored in run {scored}"


def test_a_batch_refused_as_a_whole_under_lang_zh_says_why_in_chinese_as_a_single_decision_does(
    world: dict[str, Any],
) -> None:
    """A batch refused whole (a service or purpose not registered for the key) asked in Chinese is refused in Chinese,
    with the single decision's words (it was English); every refusal says its language in Content-Language: zh-CN
    only when the Chinese text was used, en when the error has none or English was asked."""
    client: httpx.Client = world["client"]
    key = auth(world["keys"]["railway"])
    ask = {"service": "high_speed_rail", "purpose": "ticket purchase", "subject_id": world["listed"]}
    for wrong in ({"service": "deposit_free_rental"}, {"purpose": "marketing"}):
        one = client.post("/v1/decisions?lang=zh", json={**ask, **wrong}, headers=key)
        batch = {**ask, **wrong, "subject_ids": [ask["subject_id"]]}
        del batch["subject_id"]
        by_query = client.post("/v1/decisions/batch?lang=zh", json=batch, headers=key)
        by_body = client.post("/v1/decisions/batch", json={**batch, "lang": "zh"}, headers=key)
        english = client.post("/v1/decisions/batch", json=batch, headers=key)
        for sent in (one, by_query, by_body):
            assert (sent.status_code, sent.headers["content-language"]) == (403, "zh-CN")
            assert sent.json() == one.json()
        assert (english.status_code, english.headers["content-language"]) == (403, "en")
        assert english.json()["error"]["code"] == one.json()["error"]["code"]
        assert english.json()["error"]["message"] != one.json()["error"]["message"]
    assert one.json()["error"]["message"] == "此密钥未申报用途 'marketing'（已申报：ticket purchase）"
    # a resident's own look-up under lang=zh is refused in Chinese too (it was in English, saying en)
    own = auth(world["keys"]["resident"])
    unknown = client.get(f"/v1/subjects/{world['listed']}/services/nosuch?lang=zh", headers=own)
    assert (unknown.headers["content-language"], unknown.json()["error"]["message"]) == (
        "zh-CN",
        "没有已评分的政策提供服务 'nosuch'",
    )


def test_a_number_as_a_person_writes_it_is_decided_as_stored_and_an_invalid_one_is_named(
    world: dict[str, Any],
) -> None:
    """Ingest keeps `11010519800501011x` and `110105 19800501 011X` as `11010519800501011X`: a relying party that
    sends either form gets that subject's decision, single and batch alike (both answered `not scored` before). A
    number no one can have is refused as such (422 `invalid_identifier`, field `subject_id`), not as `not scored`."""
    client: httpx.Client = world["client"]
    key = auth(world["keys"]["railway"])
    x_id = one(world, "SELECT min(subject_id) FROM run_results WHERE subject_id LIKE '%X' AND length(subject_id) = 18")
    assert x_id is not None
    forms = [x_id[:-1] + "x", f" {x_id[:6]} {x_id[6:14]} {x_id[14:]} ", world["listed"].lower()]
    ask = {"service": "high_speed_rail", "purpose": "ticket purchase"}
    stored = client.post("/v1/decisions", json={**ask, "subject_id": x_id}, headers=key).json()
    listed = client.post("/v1/decisions", json={**ask, "subject_id": world["listed"]}, headers=key).json()
    for form, expected in zip(forms, [stored, stored, listed], strict=True):
        r = client.post("/v1/decisions", json={**ask, "subject_id": form}, headers=key)
        assert (r.status_code, r.json()) == (200, expected), form
    r = client.post("/v1/decisions/batch", json={**ask, "subject_ids": [*forms, x_id]}, headers=key)
    assert r.status_code == 200, r.text
    assert r.json()["decisions"] == [stored, stored, listed, stored]
    # a check character that does not match, and a digit short (ingest refuses both)
    bad = x_id[:-1] + "0"
    short = world["listed"][:17]
    r = client.post("/v1/decisions", json={**ask, "subject_id": bad}, headers=key)
    invalid = {
        "code": "invalid_identifier",
        "message": f"resident identity number '{bad}' has check character '0'; expected 'X'",
    }
    assert (r.status_code, r.json()) == (422, {"error": {**invalid, "field": "subject_id"}})
    r = client.post("/v1/decisions", json={**ask, "subject_id": short}, headers=key)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_identifier"
    assert r.json()["error"]["field"] == "subject_id"
    short_message = r.json()["error"]["message"]
    assert "17 characters; expected 18" in short_message, short_message
    r = client.post("/v1/decisions/batch", json={**ask, "subject_ids": [bad, short, x_id]}, headers=key)
    assert r.status_code == 200, r.text
    assert r.json()["decisions"] == [
        {"subject_id": bad, "granted": None, "tier": None, "error": invalid},
        {
            "subject_id": short,
            "granted": None,
            "tier": None,
            "error": {"code": "invalid_identifier", "message": short_message},
        },
        stored,
    ]


# Every role against every other role's endpoints: each refused with 403 and the role named.
ENDPOINTS: dict[str, tuple[str, str, Any]] = {
    "batch": ("post", "/v1/decisions/batch", {"subject_ids": ["x"], "service": "high_speed_rail", "purpose": "p"}),
    "decide": (
        "post",
        "/v1/decisions",
        {"subject_id": "x", "service": "high_speed_rail", "purpose": "ticket purchase"},
    ),
    "report": ("get", "/v1/subjects/{listed}/report", None),
    "audit": ("get", "/v1/audit/verify", None),
    "audit_log": ("get", "/v1/audit", None),
    "ingest": ("post", "/v1/records", [{"record_id": "R-1"}]),
    "correct": ("put", "/v1/records/R-1", {"amount": 1}),
    "withdraw": ("delete", "/v1/records/R-1", None),
    "start_job": ("post", "/v1/jobs", {"policy": "beijing"}),
    "follow_job": ("get", "/v1/jobs/1", None),
    "runs": ("get", "/v1/runs", None),
    "policies": ("get", "/v1/policies", None),
    "publish": ("post", "/v1/policies", {"id": "x"}),
    "lists": ("get", "/v1/lists/blacklist/entries", None),
    "keys": ("get", "/v1/keys", None),
    "issue_key": ("post", "/v1/keys", {"role": "auditor", "name": "x"}),
    "revoke_key": ("delete", "/v1/keys/0123456789ab", None),
    "own_service": ("get", "/v1/subjects/{listed}/services/high_speed_rail", None),
    "file_dispute": ("post", "/v1/disputes", {"source_id": "courts", "record_id": "x", "reason": "wrong"}),
    "disputes": ("get", "/v1/disputes", None),
    "dispute": ("get", "/v1/disputes/1", None),
    "dispute_info": ("post", "/v1/disputes/1/information", {"text": "more"}),
    "dispute_answer": ("post", "/v1/disputes/1/answer", {"outcome": "verified", "note": "checked"}),
    "fulfilment": ("post", "/v1/fulfilments", {"record_id": "x"}),
    "repair": ("post", "/v1/repairs", {"source_id": "courts", "record_id": "x", "statement": "paid"}),
    "repairs": ("get", "/v1/repairs", None),
    "repair_decision": ("post", "/v1/repairs/1/decision", {"outcome": "approved", "reason": "paid in full"}),
    "override_decision": ("post", "/v1/overrides/decisions", {"inquiry_id": 1, "justification": "x" * 30}),
    "override_listing": ("post", "/v1/overrides/listings", {"listing_id": 1, "justification": "x" * 30}),
    "consents": ("get", "/v1/consents", None),
    "consent": ("put", "/v1/consents/commercial", {"granted": True}),
    "file": ("get", "/v1/subjects/{listed}/file", None),
    "file_html": ("get", "/v1/subjects/{listed}/file.html", None),
    "notices": ("get", "/v1/notices", None),
    "check_catalog": ("post", "/v1/catalogs/check", None),
    "publish_catalog": ("post", "/v1/catalogs", None),
    "impact": ("post", "/v1/policies/beijing/2026.2/impact", None),
    "disparity": ("get", "/v1/policies/beijing/2026.2/disparity", None),
    "drift": ("get", "/v1/drift", None),
}
OPERATOR = {"operator"}
ALLOWED = {
    "batch": {"railway"},
    "decide": {"railway"},
    "report": {"resident", "operator"},
    "audit": {"auditor"},
    "audit_log": {"auditor"},
    "ingest": {"furnisher"},
    "correct": {"furnisher"},
    "withdraw": {"furnisher"},
    **{ep: OPERATOR for ep in ("start_job", "follow_job", "runs", "policies", "publish", "lists", "keys")},
    **{ep: OPERATOR for ep in ("issue_key", "revoke_key")},
    "own_service": {"resident", "operator"},
    "file_dispute": {"resident"},
    "disputes": {"resident", "furnisher", "operator"},
    "dispute": {"resident", "furnisher", "operator"},
    "dispute_info": {"resident"},
    "dispute_answer": {"furnisher"},
    "fulfilment": {"furnisher"},
    "repair": {"resident"},
    "repairs": {"resident", "operator"},
    "repair_decision": OPERATOR,
    "override_decision": OPERATOR,
    "override_listing": OPERATOR,
    "consents": {"resident"},
    "consent": {"resident"},
    "file": {"resident", "operator"},
    "file_html": {"resident", "operator"},
    "notices": {"resident", "operator"},
    **{ep: OPERATOR for ep in ("check_catalog", "publish_catalog", "impact", "disparity", "drift")},
}
ROLE_OF = {
    "railway": "relying_party",
    "resident": "resident",
    "operator": "operator",
    "auditor": "auditor",
    "furnisher": "furnisher",
}


REFUSED = [(who, ep) for ep in sorted(ENDPOINTS) for who in sorted(ROLE_OF) if who not in ALLOWED[ep]]


@pytest.mark.parametrize(("who", "endpoint"), REFUSED)
def test_each_role_is_refused_every_endpoint_not_its_own(world: dict[str, Any], endpoint: str, who: str) -> None:
    method, path, body = ENDPOINTS[endpoint]
    path = path.format(listed=world["listed"])
    before = one(world, "SELECT count(*) FROM audit_log WHERE action = 'access_refused'")
    r = world["client"].request(method, path, headers=auth(world["keys"][who]), **({"json": body} if body else {}))
    assert r.status_code == 403, r.text
    error = r.json()["error"]
    assert error["code"] == "role_not_allowed"
    article = {"operator": "an", "auditor": "an"}.get(ROLE_OF[who], "a")  # an operator key, a resident key
    assert error["message"].startswith(f"{article} {ROLE_OF[who]} key may not call {method.upper()} {path} (allowed: ")
    assert one(world, "SELECT count(*) FROM audit_log WHERE action = 'access_refused'") == before + 1


@pytest.mark.parametrize(
    ("header", "code", "message"),
    [
        (None, "key_missing", "no API key: send it as 'Authorization: Bearer <key>'"),
        ("Bearer nonsense", "key_malformed", "the API key is not of the form sc_<12 hex>_<secret>"),
        ("Bearer sc_0123456789ab_" + "A" * 43, "key_unknown", "the API key is not known"),
    ],
)
def test_requests_without_a_valid_key_get_401(
    world: dict[str, Any], header: str | None, code: str, message: str
) -> None:
    headers = {"Authorization": header} if header else {}
    r = world["client"].get("/v1/audit/verify", headers=headers)
    assert r.status_code == 401
    assert r.json() == {"error": {"code": code, "message": message}}


def test_a_body_or_parameter_the_model_refuses_under_lang_zh_is_said_in_chinese(world: dict[str, Any]) -> None:
    """A decision's ``purpose`` over its bound and a page's ``limit`` or ``after`` out of range were said in
    pydantic's English whatever was asked: under ``?lang=zh`` (or a decision's body's ``lang``) they are said in
    Chinese, code and field kept; English stays the default."""
    client: httpx.Client = world["client"]
    ask = {"service": "high_speed_rail", "subject_id": world["listed"], "purpose": "p" * 201}
    railway, operator = auth(world["keys"]["railway"]), auth(world["keys"]["operator"])
    sent = [
        client.post("/v1/decisions?lang=zh", json=ask, headers=railway),
        client.post("/v1/decisions", json={**ask, "lang": "zh"}, headers=railway),
        client.post("/v1/decisions?lang=zh", json={**ask, "purpose": ""}, headers=railway),
        client.get("/v1/lists/blacklist/entries", params={"limit": 1001, "lang": "zh"}, headers=operator),
        client.get("/v1/lists/blacklist/entries", params={"limit": "ten", "lang": "zh"}, headers=operator),
        client.get("/v1/lists/blacklist/entries", params={"after": "x" * 65, "lang": "zh"}, headers=operator),
        client.get("/v1/audit", params={"after": -1, "lang": "zh"}, headers=auth(world["keys"]["auditor"])),
    ]
    assert [(r.status_code, r.headers["content-language"], r.json()["error"]) for r in sent] == [
        (422, "zh-CN", {"code": "invalid_request", "message": f"{field}：{said}", "field": field})
        for field, said in [
            ("purpose", "须不超过 200 个字符"),
            ("purpose", "须不超过 200 个字符"),
            ("purpose", "须至少 1 个字符"),
            ("query.limit", "须不大于 1000"),
            ("query.limit", "须为整数"),
            ("query.after", "须不超过 64 个字符"),
            ("query.after", "须不小于 0"),
        ]
    ]
    english = client.post("/v1/decisions", json=ask, headers=railway)
    assert (english.headers["content-language"], english.json()["error"]["message"]) == (
        "en",
        "purpose: String should have at most 200 characters",
    )


@pytest.mark.parametrize(
    ("header", "code", "message"),
    [
        (None, "key_missing", "没有 API 密钥：请以 'Authorization: Bearer <密钥>' 发送"),
        ("Bearer nonsense", "key_malformed", "API 密钥的格式不是 sc_<12 位十六进制>_<密文>"),
        ("Bearer sc_0123456789ab_" + "A" * 43, "key_unknown", "API 密钥无效"),
    ],
)
def test_a_key_refused_under_lang_zh_is_told_in_chinese(
    world: dict[str, Any], header: str | None, code: str, message: str
) -> None:
    """A key is refused before the route reads its ``lang``: the 401 was in English whatever was asked. It is said
    in the ``?lang=`` sent, with ``Content-Language``, on any route (``/v1/audit/verify``, whose problems follow its
    ``lang``); a ``lang`` neither en nor zh is English."""
    headers = {"Authorization": header} if header else {}
    r = world["client"].get("/v1/audit/verify", params={"lang": "zh"}, headers=headers)
    assert (r.status_code, r.headers["content-language"], r.json()) == (
        401,
        "zh-CN",
        {"error": {"code": code, "message": message}},
    )
    other = world["client"].get("/v1/audit/verify", params={"lang": "fr"}, headers=headers)
    assert (other.status_code, other.headers["content-language"]) == (401, "en")


def test_a_key_of_another_role_or_revoked_is_refused_in_chinese_when_asked(world: dict[str, Any]) -> None:
    client: httpx.Client = world["client"]
    r = client.get("/v1/audit/verify", params={"lang": "zh"}, headers=auth(world["keys"]["resident"]))
    assert (r.status_code, r.headers["content-language"], r.json()["error"]) == (
        403,
        "zh-CN",
        {"code": "role_not_allowed", "message": "resident 密钥不能调用 GET /v1/audit/verify（允许的角色：auditor）"},
    )
    operator = auth(world["keys"]["operator"])
    issued = client.post("/v1/keys", json={"role": "auditor", "name": "a short-lived auditor"}, headers=operator)
    assert issued.status_code == 201, issued.text
    key_id = issued.json()["key_id"]
    assert client.delete(f"/v1/keys/{key_id}", headers=operator).status_code == 200
    revoked = client.get("/v1/audit/verify", params={"lang": "zh"}, headers=auth(issued.json()["token"]))
    error = revoked.json()["error"]
    assert (revoked.status_code, error["code"]) == (401, "key_revoked")
    assert re.fullmatch(rf"API 密钥 {key_id} 已于 \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d 吊销", error["message"]), error


def test_a_resident_sees_only_their_own_file(world: dict[str, Any]) -> None:
    client: httpx.Client = world["client"]
    own = client.get(f"/v1/subjects/{world['listed']}/report", headers=auth(world["keys"]["resident"]))
    assert own.status_code == 200, own.text
    assert own.json()["subject"]["subject_id"] == world["listed"]
    other = client.get(f"/v1/subjects/{world['other']}/report", headers=auth(world["keys"]["resident"]))
    assert other.status_code == 403
    assert other.json()["error"] == {"code": "not_your_file", "message": "a resident key opens only its own file"}


def test_an_identifier_in_a_url_or_a_decision_request_is_compacted(world: dict[str, Any]) -> None:
    """Spaces and full-width digits, as in a subjects file: the subject as registered, and a resident's own file."""
    client: httpx.Client = world["client"]
    listed: str = world["listed"]
    full_width = listed.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    for sent in (f"{listed[:6]} {listed[6:]}", full_width, f"\u200b{listed.lower()}"):
        own = client.get(f"/v1/subjects/{sent}/report", headers=auth(world["keys"]["resident"]))
        assert own.status_code == 200, own.text
        assert own.json()["subject"]["subject_id"] == listed
        asked = {"subject_id": sent, "service": "high_speed_rail", "purpose": "ticket purchase"}
        one = client.post("/v1/decisions", json=asked, headers=auth(world["keys"]["railway"]))
        assert (one.status_code, one.json()["subject_id"], one.json()["granted"]) == (200, listed, False)
        batch = {"subject_ids": [sent], "service": "high_speed_rail", "purpose": "ticket purchase"}
        many = client.post("/v1/decisions/batch", json=batch, headers=auth(world["keys"]["railway"]))
        assert [(d["subject_id"], d["granted"]) for d in many.json()["decisions"]] == [(listed, False)]


def test_a_relying_party_asks_only_its_services_and_purposes(world: dict[str, Any]) -> None:
    client: httpx.Client = world["client"]
    key = auth(world["keys"]["railway"])
    wrong_service = {"subject_id": world["listed"], "service": "deposit_free_rental", "purpose": "ticket purchase"}
    r = client.post("/v1/decisions", json=wrong_service, headers=key)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "service_not_registered")
    assert r.json()["error"]["message"] == "this key may ask decisions for high_speed_rail, not deposit_free_rental"
    wrong_purpose = {"subject_id": world["listed"], "service": "high_speed_rail", "purpose": "curiosity"}
    r = client.post("/v1/decisions", json=wrong_purpose, headers=key)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "purpose_not_declared")


def test_bad_bodies_name_the_field(world: dict[str, Any]) -> None:
    client: httpx.Client = world["client"]
    key = auth(world["keys"]["railway"])
    r = client.post("/v1/decisions", json={"service": "high_speed_rail", "purpose": "ticket purchase"}, headers=key)
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "subject_id"
    # JSON cut short or followed by more: the same refusal as a batch's, naming the body, line and column (not a
    # field "1")
    for body, why in [
        (b"{", "Expecting property name enclosed in double quotes at line 1, column 2"),
        (b'{"subject_id": "x"} {}', "Extra data at line 1, column 21"),
    ]:
        r = client.post("/v1/decisions", content=body, headers={**key, "content-type": "application/json"})
        assert (r.status_code, r.json()) == (
            400,
            {"error": {"code": "malformed_body", "message": f"the body is not JSON: {why}", "field": "body"}},
        )
    unknown = {"subject_id": "110101199001011237", "service": "high_speed_rail", "purpose": "ticket purchase"}
    r = client.post("/v1/decisions", json=unknown, headers=key)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/v1/runs", "GET, HEAD"),
        ("HEAD", "/v1/records", "POST"),
        ("OPTIONS", "/v1/records", "POST"),
        ("PATCH", "/v1/records/R-1", "PUT, DELETE"),
        ("PUT", "/signin", "GET, HEAD, POST"),
        ("DELETE", "/policies", "GET, HEAD"),
        ("POST", "/healthz", "GET, HEAD"),
        ("POST", "/metrics", "GET, HEAD"),
        ("POST", "/docs", "GET, HEAD"),
    ],
)
def test_a_method_a_path_does_not_take_is_405_with_allow(
    world: dict[str, Any], method: str, path: str, allowed: str
) -> None:
    """RFC 9110: a 405 carries Allow, the methods the path takes; the message names them too. A page's address is
    answered with a page in its language naming them (it said "takes a form sent from a page only" at pages opened
    by GET; a form's own address: tests/test_web_refusals.py); a machine's address (/healthz, /metrics, /docs)
    in JSON, as the API's."""
    if path in ("/signin", "/policies"):
        for lang, said in (
            ("en", f"This address does not take {method}; it takes {allowed}."),
            ("zh", f"此地址不接受 {method} 请求，只接受：{allowed}。"),
        ):
            r = world["client"].request(method, path, params={"lang": lang})
            assert (r.status_code, r.headers.get("allow")) == (405, allowed)
            assert r.headers["content-type"] == "text/html; charset=utf-8"
            assert said in r.text
            assert "form sent from a page only" not in r.text and "只接收页面上提交的表单" not in r.text
        return
    r = world["client"].request(method, path)
    assert (r.status_code, r.headers.get("allow")) == (405, allowed)
    if method != "HEAD":
        assert r.json() == {
            "error": {
                "code": "method_not_allowed",
                "message": f"{method} is not allowed on {path}; it allows {allowed}",
            }
        }


@pytest.mark.parametrize("path", ["/healthz", "/policies", "/lists", "/v1/runs", "/nowhere"])
def test_head_is_answered_as_get_without_the_body(world: dict[str, Any], path: str) -> None:
    """RFC 9110: HEAD wherever GET, the same status and headers, no body (it was 405 on every path)."""
    client, key = world["client"], auth(world["keys"]["operator"])
    got = client.get(path, headers=key)
    head = client.head(path, headers=key)
    assert head.status_code == got.status_code
    assert head.content == b""
    assert head.headers.get("content-type") == got.headers.get("content-type")
    if path != "/nowhere":
        assert got.status_code == 200 and len(got.content) > 0
        assert head.headers.get("content-length") == str(len(got.content))


@pytest.mark.parametrize(
    ("body", "media", "status", "error"),
    [
        # each was a bare 400 "There was an error parsing the body" (the parser's error hidden)
        (
            b'{"subject_id": ' + b"1" * 5000 + b"}",
            "application/json",
            413,
            {
                "code": "number_too_long",
                "message": "the body holds an integer of 5000 digits; a number in a request has at most 4300 digits "
                "(a record's at most 15 before the point)",
                "field": "body",
            },
        ),
        (
            b"[" * 10_000 + b"]" * 10_000,
            "application/json",
            413,
            {
                "code": "too_deep",
                "message": "the body nests deeper than the JSON parser follows; a request's body nests a few levels "
                "(its schema is in /openapi.json)",
            },
        ),
        (
            b"\xff\xfe not json",
            "application/json",
            400,
            {
                "code": "body_not_utf8",
                # it starts with UTF-16's byte order mark: said so (tests/test_ingest_text.py)
                "message": "the body is UTF-16 text (it starts with UTF-16's byte order mark); send text in UTF-8",
            },
        ),
        (
            # UTF-16 without a byte order mark: ASCII's bytes with a NUL after each (valid UTF-8; it was refused as
            # not JSON, pointing at the NUL)
            '{"subject_id": "x"}'.encode("utf-16-le"),
            "application/json",
            400,
            {
                "code": "body_not_utf8",
                "message": "the body has a NUL byte among its first four, as UTF-16 and UTF-32 text has; send text "
                "in UTF-8",
            },
        ),
        (
            '{"subject_id": "é"}'.encode("latin-1"),
            "application/json",
            400,
            {
                "code": "body_not_utf8",
                "message": "the body is not UTF-8: byte 16 (0xe9) cannot be decoded; send text in UTF-8",
            },
        ),
        # was 422 "body: Input should be a valid dictionary or object to extract fields from"
        (
            b'{"subject_id": "x"}',
            "text/plain",
            415,
            {
                "code": "unsupported_media_type",
                "message": "Content-Type 'text/plain' is not taken here; send the body as application/json",
                "field": "content-type",
            },
        ),
    ],
)
def test_a_json_body_the_parser_gives_up_on_is_told_why(
    world: dict[str, Any], body: bytes, media: str, status: int, error: dict[str, str]
) -> None:
    key = auth(world["keys"]["railway"])
    r = world["client"].post("/v1/decisions", content=body, headers={**key, "content-type": media})
    assert (r.status_code, r.json()) == (status, {"error": error})


def test_a_json_body_the_parser_gives_up_on_is_told_why_in_the_language_asked(world: dict[str, Any]) -> None:
    """``?lang=zh``: an integer too long and a body nested too deep are told in Chinese (in English until
    2026-12-06: the body is read before the route's ``lang``)."""
    key = {**auth(world["keys"]["railway"]), "content-type": "application/json"}
    told = []
    for body in (b'{"subject_id": ' + b"1" * 5000 + b"}", b"[" * 10_000 + b"]" * 10_000):
        r = world["client"].post("/v1/decisions", params={"lang": "zh"}, content=body, headers=key)
        told.append((r.status_code, r.headers["content-language"], r.json()["error"]["message"]))
    assert told == [
        (413, "zh-CN", "请求体中有一个 5000 位的整数；请求中的数字至多 4300 位（记录中的数字整数部分至多 15 位）"),
        (413, "zh-CN", "请求体的嵌套深于 JSON 解析器所能读取的；请求体只嵌套几层（其结构见 /openapi.json）"),
    ]


@pytest.mark.parametrize(
    ("method", "path", "who", "body", "field", "said"),
    [
        ("POST", "/v1/freeze/lift", "resident", {"until": "2026-02-30"}, "until", "February 2026 has 28 days"),
        (
            "POST",
            "/v1/jobs",
            "operator",
            {"policy": "beijing", "as_of": "2026-04-31"},
            "as_of",
            "April 2026 has 30 days",
        ),
        ("POST", "/v1/jobs", "operator", {"policy": "beijing", "as_of": "2026-13-01"}, "as_of", "a year has 12 months"),
        (
            "POST",
            "/v1/fulfilments",
            "furnisher",
            {"record_id": "R", "fulfilled_on": "2025-02-29"},
            "fulfilled_on",
            "February 2025 has 28 days",
        ),
        (
            "POST",
            "/v1/policies/beijing/2026.2/impact?as_of=2026-02-30",
            "operator",
            None,
            "query.as_of",
            "February 2026 has 28 days",
        ),
    ],
)
def test_an_impossible_date_is_refused_saying_what_is_wrong(
    world: dict[str, Any], method: str, path: str, who: str, body: Any, field: str, said: str
) -> None:
    """Every date a request carries (a JSON body, a query string): pydantic said only 'day value is outside expected
    range'."""
    if body is None:  # a candidate policy's YAML (the date is checked before it is read)
        r = world["client"].request(method, path, content=b"id: x\n", headers=auth(world["keys"][who]))
    else:
        r = world["client"].request(method, path, json=body, headers=auth(world["keys"][who]))
    value = path.rsplit("=", 1)[1] if body is None else body[field]
    assert (r.status_code, r.json()["error"]) == (
        422,
        {"code": "invalid_request", "message": f"{field}: {value!r} is not a date: {said}", "field": field},
    )


@pytest.mark.parametrize("until", ["2026-W50-1", "20261230", 1798761600])
def test_a_date_is_only_taken_as_yyyy_mm_dd(world: dict[str, Any], until: Any) -> None:
    """A week's day, the basic form and a Unix timestamp were taken as dates (Python's and pydantic's parsers)."""
    r = world["client"].post("/v1/freeze/lift", json={"until": until}, headers=auth(world["keys"]["resident"]))
    assert (r.status_code, r.json()["error"]["message"]) == (
        422,
        f"until: {until!r} is not a date of the form YYYY-MM-DD",
    )


@pytest.mark.parametrize("noise", ["\u200b", "\ufeff", "\u00ad", "\u2060"])
def test_a_key_pasted_with_an_invisible_character_is_the_key(world: dict[str, Any], noise: str) -> None:
    """A key copied from a chat or a document may carry a zero-width space, a byte order mark or a soft hyphen: it
    is squeezed out as from an identifier (the key was refused key_malformed, the sign-in counted as failed)."""
    token = world["keys"]["resident"]
    pasted = token[:10] + noise + token[10:] + noise
    header = f"Bearer {pasted}".encode()
    r = world["client"].get(f"/v1/subjects/{world['listed']}/report", headers={"Authorization": header})
    assert r.status_code == 200, r.text
    full_width = token.replace("sc_", "ｓｃ＿")
    with httpx.Client(base_url=str(world["client"].base_url), timeout=30) as browser:
        page = browser.get("/signin")
        signed = browser.post("/signin", data={"key": pasted, "csrf": csrf_of(page.text), "next": ""})
        assert (signed.status_code, signed.headers.get("location")) == (303, "/me")
    with httpx.Client(base_url=str(world["client"].base_url), timeout=30) as browser:
        page = browser.get("/signin")
        signed = browser.post("/signin", data={"key": full_width, "csrf": csrf_of(page.text), "next": ""})
        assert signed.status_code == 303


@pytest.mark.parametrize(
    ("method", "path", "who", "field"),
    [
        ("GET", "/v1/subjects/{x}/report", "operator", "subject_id"),
        ("GET", "/v1/subjects/{x}/history", "operator", "subject_id"),
        ("DELETE", "/v1/records/{x}", "furnisher", "record_id"),
        ("DELETE", "/v1/keys/{x}", "operator", "key_id"),
        ("GET", "/v1/lists/{x}/entries", "operator", "list_id"),
        ("GET", "/v1/policies/{x}/2026.2", "operator", "policy_id"),
        ("GET", "/v1/policies/beijing/{x}", "operator", "version"),
        ("GET", "/v1/subjects/110101198501020089/services/{x}", "operator", "service_id"),
        ("PUT", "/v1/consents/{x}", "resident", "category"),
    ],
)
def test_a_name_in_a_url_is_at_most_64_characters(
    world: dict[str, Any], method: str, path: str, who: str, field: str
) -> None:
    """A name of 60,000 characters (as long as a request's head may be) was looked up and quoted whole in a 404."""
    long = "x" * 60_000
    r = world["client"].request(
        method,
        path.format(x=long),
        json={"granted": True} if method == "PUT" else None,
        headers=auth(world["keys"][who]),
    )
    assert (r.status_code, r.json()["error"]) == (
        422,
        {
            "code": "invalid_request",
            "message": f"path.{field}: String should have at most 64 characters",
            "field": f"path.{field}",
        },
    )


def test_a_key_issued_and_revoked_over_http_takes_effect_at_once(world: dict[str, Any]) -> None:
    client: httpx.Client = world["client"]
    operator = auth(world["keys"]["operator"])
    r = client.post("/v1/keys", json={"role": "auditor", "name": "a temporary auditor"}, headers=operator)
    assert r.status_code == 201, r.text
    issued = r.json()
    assert client.get("/v1/audit/verify", headers=auth(issued["token"])).status_code == 200
    listed = client.get("/v1/keys", headers=operator).json()["keys"]
    assert issued["token"] not in str(listed) and issued["key_id"] in str(listed)
    assert client.delete(f"/v1/keys/{issued['key_id']}", headers=operator).json() == {
        "key_id": issued["key_id"],
        "revoked": True,
    }
    r = client.get("/v1/audit/verify", headers=auth(issued["token"]))
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "key_revoked"
    r = client.delete(f"/v1/keys/{issued['key_id']}", headers=operator)
    assert r.status_code == 400
    assert r.json()["error"]["message"].startswith(f"key {issued['key_id']} was revoked already")
    with world["service"].writer() as store, pytest.raises(SocialCreditError, match="was revoked already"):
        revoke_key(store, issued["key_id"])


def test_a_resident_key_is_issued_for_a_registered_resident_only(world: dict[str, Any]) -> None:
    """The API as the command line (the registry's issue_key): 404 for an unregistered number, 400 for an
    organisation's code; before, both keys were issued (201) and opened nothing, or the organisation's own file."""
    client: httpx.Client = world["client"]
    operator = auth(world["keys"]["operator"])
    body = {"role": "resident", "name": "no one", "subject": "110101199001011237"}
    r = client.post("/v1/keys", json=body, headers=operator)
    assert (r.status_code, r.json()["error"]) == (
        404,
        {"code": "not_found", "message": "no registered subject '110101199001011237'", "field": "subject"},
    )
    org = one(world, "SELECT subject_id FROM current_subjects WHERE kind = 'org' ORDER BY subject_id LIMIT 1")
    r = client.post("/v1/keys", json=body | {"subject": org}, headers=operator)
    assert (r.status_code, r.json()["error"]["message"]) == (
        400,
        f"{org} is an organisation; resident keys are for residents",
    )


def test_a_key_is_asked_for_by_the_names_its_answer_gives(world: dict[str, Any]) -> None:
    """``POST /v1/keys`` took ``subject``/``source``/``policy`` and answered ``subject_id``/``source_id``/
    ``policy_id``: it takes the answer's names now, and the first ones still (not both at once)."""
    client: httpx.Client = world["client"]
    operator = auth(world["keys"]["operator"])
    who = one(world, "SELECT subject_id FROM current_subjects WHERE kind = 'person' ORDER BY subject_id LIMIT 1")
    for name in ("subject_id", "subject"):
        r = client.post("/v1/keys", json={"role": "resident", "name": f"by {name}", name: who}, headers=operator)
        assert (r.status_code, r.json()["subject_id"]) == (201, who), r.text
    r = client.post("/v1/keys", json={"role": "furnisher", "name": "courts", "source_id": "courts"}, headers=operator)
    assert (r.status_code, r.json()["source_id"]) == (201, "courts"), r.text
    # both names of one field: a 422 naming the field, in the caller's language (until 2026-12-06 pydantic's
    # "body: Value error, ..." in English under lang=zh too, with no field)
    both = {"role": "resident", "name": "both", "subject_id": who, "subject": who}
    for lang, message in (
        ("en", "give subject_id or subject (its former name), not both"),
        ("zh", "subject_id 与 subject（其旧名）只能给出一个，不能同时给出"),
    ):
        r = client.post(f"/v1/keys?lang={lang}", json=both, headers=operator)
        error = r.json()["error"]
        assert (r.status_code, error["code"], error["field"], error["message"]) == (
            422,
            "both_names",
            "subject_id",
            message,
        ), r.text
    # a null is no value: the other name gives the field
    body = {"role": "relying_party", "name": "null", "services": ["high_speed_rail"], "purposes": ["travel booking"]}
    body |= {"policy": "beijing", "policy_id": None}
    r = client.post("/v1/keys", json=body, headers=operator)
    assert (r.status_code, r.json().get("policy_id")) == (201, "beijing"), r.text


def test_a_relying_party_key_declares_no_empty_purpose(world: dict[str, Any]) -> None:
    """Every look-up is logged with its purpose: a key whose declared purpose is blank was issued (201) until
    2026-12-04, though every decision asked with that purpose is refused."""
    client: httpx.Client = world["client"]
    body = {"role": "relying_party", "name": "no purpose", "services": ["high_speed_rail"], "purposes": ["  "]}
    r = client.post("/v1/keys", json=body, headers=auth(world["keys"]["operator"]))
    assert (r.status_code, r.json()["error"]["message"]) == (
        400,
        "a declared purpose says why decisions are asked; it may not be empty",
    )
    assert one(world, "SELECT count(*) FROM api_keys WHERE name = 'no purpose'") == 0
    # a declared purpose is one line of plain text, as a decision's (an escape sequence was accepted until 2026-12-05)
    body = {**body, "name": "escape", "purposes": ["ticket\x1b[2Jpurchase"]}
    r = client.post("/v1/keys", json=body, headers=auth(world["keys"]["operator"]))
    assert (r.status_code, r.json()["error"]["code"], r.json()["error"]["message"]) == (
        400,
        "invalid_purpose",
        "a purpose is one line of plain text; this one has a control character (U+001B)",
    )
    assert one(world, "SELECT count(*) FROM api_keys WHERE name = 'escape'") == 0


def test_keys_are_stored_hashed(world: dict[str, Any]) -> None:
    secrets_stored = [r[0] for r in execute(world, "SELECT key_hash FROM api_keys")]
    for token in world["keys"].values():
        secret = token.split("_", 2)[2]
        assert all(secret not in h for h in secrets_stored)


def test_the_audit_log_verifies_and_metrics_count_requests(world: dict[str, Any]) -> None:
    client: httpx.Client = world["client"]
    r = client.get("/v1/audit/verify", headers=auth(world["keys"]["auditor"]))
    assert r.json() == {"ok": True, "problems": []}
    text = client.get("/metrics").text
    assert 'socialcredit_requests_total{route="/v1/audit/verify",status="200"}' in text
    assert "# TYPE socialcredit_decisions_total counter" in text
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and len(health["runs"]) == 2
    # the service answers as soon as the plain load is done; its explanations load after (on a small store, by now)
    service = world["service"]
    for snap in service.snapshots.values():
        assert snap.wait_explained(60)
    health = client.get("/healthz").json()
    assert health["explanations"] == {str(run): "loaded" for run in health["runs"]}
    text = client.get("/metrics").text
    for run in health["runs"]:
        assert f'socialcredit_explanations_loaded{{run="{run}"}} 1' in text


def test_the_committed_openapi_spec_is_current() -> None:
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("openapi_script", root / "scripts" / "openapi.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (root / "docs" / "openapi.json").read_text("utf-8") == module.spec(), "run scripts/openapi.py"


def test_the_role_matrix_covers_every_endpoint(world: dict[str, Any]) -> None:
    public = {
        ("GET", "/v1/policies/{policy_id}/{version}"),
        ("GET", "/v1/lists/lookup"),
        ("GET", "/v1/catalogs"),
        ("GET", "/v1/catalogs/{version}"),
    }
    routes = {
        (m, r.path)
        for r in world["app"].routes
        for m in getattr(r, "methods", set()) - {"HEAD"}
        if r.path.startswith("/v1/")
    }
    covered = {(m.upper(), p) for m, p, _ in ENDPOINTS.values()}
    normalise = {
        "/v1/subjects/{listed}/report": "/v1/subjects/{subject_id}/report",
        "/v1/records/R-1": "/v1/records/{record_id}",
        "/v1/jobs/1": "/v1/jobs/{job_id}",
        "/v1/lists/blacklist/entries": "/v1/lists/{list_id}/entries",
        "/v1/keys/0123456789ab": "/v1/keys/{key_id}",
        "/v1/subjects/{listed}/services/high_speed_rail": "/v1/subjects/{subject_id}/services/{service_id}",
        "/v1/disputes/1": "/v1/disputes/{dispute_id}",
        "/v1/disputes/1/information": "/v1/disputes/{dispute_id}/information",
        "/v1/disputes/1/answer": "/v1/disputes/{dispute_id}/answer",
        "/v1/repairs/1/decision": "/v1/repairs/{repair_id}/decision",
        "/v1/consents/commercial": "/v1/consents/{category}",
        "/v1/subjects/{listed}/file": "/v1/subjects/{subject_id}/file",
        "/v1/subjects/{listed}/file.html": "/v1/subjects/{subject_id}/file.html",
        "/v1/policies/beijing/2026.2/impact": "/v1/policies/{policy_id}/{version}/impact",
        "/v1/policies/beijing/2026.2/disparity": "/v1/policies/{policy_id}/{version}/disparity",
    }
    covered = {(m, normalise.get(p, p)) for m, p in covered}
    assert routes - public - covered == set()


def test_every_successful_answer_of_the_spec_has_a_schema() -> None:
    """Every 2xx answer of every operation in docs/openapi.json names its media type and a schema that says
    something (not ``{}``); a 204 would declare no body at all."""
    import json
    from pathlib import Path

    spec = json.loads((Path(__file__).resolve().parent.parent / "docs" / "openapi.json").read_text("utf-8"))
    without = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if not status.startswith("2") or status == "204":
                    continue
                content = answer.get("content") or {}
                if not content or any(not media.get("schema") for media in content.values()):
                    without.append(f"{method.upper()} {path} {status}")
    assert without == [], f"{len(without)} successful answers without a schema: {without}"


def test_an_old_decision_names_the_policy_version_it_was_made_under(tmp_path: Path) -> None:
    """A resident's list of who asked names each decision's policy and version: after a new version is published
    and scored, the earlier decision still names the version it was made under, whose text is still served (until
    2026-12-04 the list named a run number only, which a resident cannot look up)."""
    store = scored_example(tmp_path)
    subject = store.one("SELECT subject_id FROM run_results ORDER BY subject_id LIMIT 1")
    rail = issue_key(
        store,
        "relying_party",
        "China Railway 12306",
        services=["high_speed_rail"],
        purposes=["ticket purchase"],
        known_services={"high_speed_rail"},
    ).token
    resident = issue_key(store, "resident", "a resident", subject=subject).token
    app = create_app(tmp_path / "store.duckdb", store=store)
    ticket = {"subject_id": subject, "service": "high_speed_rail", "purpose": "ticket purchase"}
    with serve(app) as client:
        first = client.post("/v1/decisions", json=ticket, headers=auth(rail)).json()
        assert first["policy_version"] == "2026.2"
        newer = builtin_policy("beijing").text.replace('version: "2026.2"', 'version: "2026.3"', 1)
        with app.state.service.writer() as held:
            loaded = parse_policy(newer, "beijing.yaml", held.catalog)
            assert publish_policy(held, loaded)
            later = score(held, loaded, AS_OF).run_id
        report = client.get(f"/v1/subjects/{subject}/report", headers=auth(resident)).json()
        assert {s["policy_version"] for s in report["scores"] if s["run_id"] == later} == {"2026.3"}
        asked = [(q["run_id"], q["policy_id"], q["policy_version"]) for q in report["inquiries"]]
        assert asked == [(first["run_id"], "beijing", "2026.2")]
        old = client.get("/v1/policies/beijing/2026.2")
        assert old.status_code == 200 and 'version: "2026.2"' in old.text
    store.close()


def test_a_json_body_naming_a_key_twice_is_refused_naming_the_key(world: dict[str, Any]) -> None:
    """``{"subject_id": A, "subject_id": B, ...}`` got a decision on B (Python's parser keeps the last value; another
    parser the first): a client must not get a decision on a subject it did not mean. Every route reading a JSON
    body into its model refuses such a body, nested keys too, before acting on it; a batch's records were already
    refused alike (tests/test_hostile_input.py), and so is a batch naming its "records" twice."""
    client: httpx.Client = world["client"]
    railway, operator = auth(world["keys"]["railway"]), auth(world["keys"]["operator"])

    def refusal(key: str) -> dict[str, Any]:
        message = (
            f"the body names the key '{key}' more than once (JSON parsers differ on which value wins); "
            "send each key once"
        )
        return {"error": {"code": "duplicate_key", "message": message, "field": key}}

    json_type = {"content-type": "application/json"}
    decision = (
        f'{{"subject_id": "{world["listed"]}", "subject_id": "{world["other"]}", "service": "high_speed_rail", '
        '"purpose": "ticket purchase"}'
    )
    r = client.post("/v1/decisions", content=decision, headers={**railway, **json_type})
    assert (r.status_code, r.json()) == (422, refusal("subject_id"))
    batch = '{"subject_ids": ["x"], "service": "high_speed_rail", "purpose": "a", "purpose": "ticket purchase"}'
    r = client.post("/v1/decisions/batch", content=batch, headers={**railway, **json_type})
    assert (r.status_code, r.json()) == (422, refusal("purpose"))
    keys_before = len(client.get("/v1/keys", headers=operator).json()["keys"])
    issue = '{"role": "auditor", "name": "one", "name": "two"}'
    r = client.post("/v1/keys", content=issue, headers={**operator, **json_type})
    assert (r.status_code, r.json()) == (422, refusal("name"))
    assert len(client.get("/v1/keys", headers=operator).json()["keys"]) == keys_before  # no key was issued
    # the same body with each key once is taken
    r = client.post(
        "/v1/decisions",
        content=decision.replace(f'"subject_id": "{world["listed"]}", ', ""),
        headers={**railway, **json_type},
    )
    assert r.status_code == 200, r.text
    # a long key named twice is repeated cut to 64 characters, not whole (a MiB key came back twice, 2 MB)
    long_key = "k" * 1_000_000
    r = client.post("/v1/decisions", content=f'{{"{long_key}": 1, "{long_key}": 2}}', headers={**railway, **json_type})
    named = f"'{'k' * 64}'… (1000000 characters)"
    assert (r.status_code, r.json()["error"]["message"], r.json()["error"]["field"]) == (
        422,
        f"the body names the key {named} more than once (JSON parsers differ on which value wins); send each key once",
        "k" * 64,
    )
    assert len(r.content) < 400
    # and in Chinese, its length said in Chinese too
    r = client.post(
        "/v1/decisions",
        params={"lang": "zh"},
        content=f'{{"{long_key}": 1, "{long_key}": 2}}',
        headers={**railway, **json_type},
    )
    assert (r.status_code, r.json()["error"]["message"]) == (
        422,
        f"请求体多次给出键 '{'k' * 64}'…（共 1000000 个字符）（各 JSON 解析器取哪个值不一）；每个键请只发送一次",
    )


def test_every_api_route_reads_its_json_body_naming_each_key_once() -> None:
    """The refusal of a key named twice is the route class's: a router made without it would take such bodies."""
    from fastapi.routing import APIRoute

    from socialcredit.api.bodies import JSONRoute
    from socialcredit.api.routes import ROUTERS

    routes = [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]
    assert routes
    assert [r.path for r in routes if r.body_field is not None and not isinstance(r, JSONRoute)] == []


_BODIES = {"POST", "PUT", "PATCH", "DELETE"}


def _outside_the_api(routes: list[BaseRoute]) -> dict[tuple[str, str], bool]:
    """Each method that takes a body at each address outside the API (``/v1/…``): whether a page (``Web.page``)
    answers it."""
    return {
        (route.path or "", method): "Web.page.<locals>" in getattr(route.endpoint, "__qualname__", "")
        for route in iter_route_contexts(routes)
        if not (route.path or "").startswith("/v1/")
        for method in sorted(set(route.methods or ()) & _BODIES)
    }


def test_every_address_outside_the_api_that_takes_a_body_is_a_page(world: dict[str, Any]) -> None:
    """The limit on a request passes a form over it on to the app without its body, for the page to answer 413 in
    its language (api/app.py, _BodyLimit._refuse): safe only while every route outside ``/v1/`` that takes a body is
    a page, which reads ``too_large``. Any other would read an empty body as if it were sent."""
    taken = _outside_the_api(world["app"].routes)
    assert taken[("/signin", "POST")] is True and taken[("/me/disputes/{dispute_id}/evidence", "POST")] is True
    assert [address for address, page in taken.items() if not page] == []

    def stray() -> None: ...

    with_stray = [*world["app"].routes, APIRoute("/stray", stray, methods=["POST"]), APIRoute("/v1/x", stray)]
    assert [address for address, page in _outside_the_api(with_stray).items() if not page] == [("/stray", "POST")]
