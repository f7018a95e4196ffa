"""Relying parties bound to the policy they rely on, over a real server: a service two policies in use define is
refused unless the policy is named (or the key is bound to one); a batch item is the single decision; a resident
sees who asked by the party's name, never a key id; the matchmaking site's no-key hint is a command that works."""

from __future__ import annotations

import datetime as dt
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api_helpers import auth, execute, world
from socialcredit.example import AS_OF, write_example
from socialcredit.matchmaking.settings import ISSUE_COMMAND
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import score
from socialcredit.store import open_store
from web_helpers import sign_in, site

__all__ = ["site", "world"]

CLI = str(Path(sys.executable).parent / "socialcredit")
AMBIGUOUS = (
    "the service matchmaking_badge is defined by 2 policies in use (beijing, sesame): name the policy you rely on "
    "with ?policy=ID (API) or --policy ID (command line), or have your key bound to one "
    "(socialcredit keys issue ... --policy ID)"
)


def _issue(world: dict[str, Any], **extra: Any) -> str:
    client: httpx.Client = world["client"]
    body = {
        "role": "relying_party",
        "name": "Baihe matchmaking",
        "services": ["matchmaking_badge", "deposit_free_rental"],
        "purposes": ["matchmaking"],
        **extra,
    }
    r = client.post("/v1/keys", json=body, headers=auth(world["keys"]["operator"]))
    assert r.status_code == 201, r.text
    assert r.json()["policy_id"] == extra.get("policy")
    return str(r.json()["token"])


def test_an_issued_key_is_answered_as_key_as_the_command_line_says_it(world: dict[str, Any]) -> None:
    """`POST /v1/keys` answered the new key as ``token`` where `keys issue --json` says ``key``: it says ``key``
    now, ``token`` kept beside it (the same key) as a deprecated alias for the clients written against it."""
    client: httpx.Client = world["client"]
    body = {"role": "auditor", "name": "city audit office"}
    r = client.post("/v1/keys", json=body, headers=auth(world["keys"]["operator"]))
    assert r.status_code == 201, r.text
    issued = r.json()
    assert issued["key"] == issued["token"] and issued["key"].startswith("sc_")
    assert client.get("/v1/audit/verify", headers=auth(issued["key"])).status_code == 200
    schema = world["app"].openapi()["components"]["schemas"]["IssuedKey"]
    assert schema["required"][-2:] == ["key", "token"] and schema["properties"]["token"]["deprecated"] is True


def test_an_unbound_party_must_name_the_policy_of_a_service_two_policies_define(world: dict[str, Any]) -> None:
    client: httpx.Client = world["client"]
    key = auth(_issue(world))
    body = {"subject_id": world["listed"], "service": "matchmaking_badge", "purpose": "matchmaking"}
    r = client.post("/v1/decisions", json=body, headers=key)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "ambiguous_service"
    assert r.json()["error"]["message"] == AMBIGUOUS
    batch = {"service": "matchmaking_badge", "purpose": "matchmaking", "subject_ids": [world["listed"]]}
    r = client.post("/v1/decisions/batch", json=batch, headers=key)
    assert (r.status_code, r.json()["error"]["code"]) == (400, "ambiguous_service")
    for policy in ("sesame", "beijing"):
        r = client.post("/v1/decisions", params={"policy": policy}, json=body, headers=key)
        assert r.status_code == 200, r.text
        assert r.json()["policy_id"] == policy
    r = client.post("/v1/decisions", params={"policy": "nope"}, json=body, headers=key)
    assert r.status_code == 404
    assert r.json()["error"]["message"] == "no scored run of policy nope offers the service 'matchmaking_badge'"
    # a service one policy defines needs no policy
    rail = {"subject_id": world["listed"], "service": "high_speed_rail", "purpose": "ticket purchase"}
    r = client.post("/v1/decisions", json=rail, headers=auth(world["keys"]["railway"]))
    assert (r.status_code, r.json()["policy_id"]) == (200, "beijing")


@pytest.mark.parametrize(
    ("policy", "service", "en", "zh"),
    [
        (
            "sesame",
            "bank_loan",
            "no scored run of policy sesame offers the service 'bank_loan'",
            "政策 sesame 没有提供服务 'bank_loan' 的评分",
        ),
        (
            "nope",
            "matchmaking_badge",
            "no scored run of policy nope offers the service 'matchmaking_badge'",
            "政策 nope 没有提供服务 'matchmaking_badge' 的评分",
        ),
    ],
)
def test_a_residents_own_decision_under_a_policy_that_does_not_offer_the_service_is_refused_as_a_banks(
    world: dict[str, Any], policy: str, service: str, en: str, zh: str
) -> None:
    """The resident's own decision names the policy asked, as a relying party's decision does (field ``policy``):
    until 2026-12-06 it said "no scored policy offers the service 'bank_loan'" (beijing does) or "no score run yet for
    policy nope", decided on the run in force where no snapshot answered."""
    client: httpx.Client = world["client"]
    own = auth(world["keys"]["resident"])
    for lang, message in (("en", en), ("zh", zh)):
        r = client.get(
            f"/v1/subjects/{world['listed']}/services/{service}", params={"policy": policy, "lang": lang}, headers=own
        )
        assert (r.status_code, r.json()["error"]) == (404, {"code": "not_found", "message": message, "field": "policy"})


def test_a_purpose_is_compared_as_the_registry_logs_it_trimmed_and_one_line(world: dict[str, Any]) -> None:
    """The registry trims a purpose and logs it so (``check_purpose``), but the service compared it with the declared
    ones as sent: "ticket purchase " from a form was refused 403 ``purpose_not_declared`` until 2026-12-06, and one
    with an escape sequence was refused as undeclared, not as the text it is (400 ``invalid_purpose``, docs/api.md)."""
    client: httpx.Client = world["client"]
    rail = auth(world["keys"]["railway"])
    body = {"subject_id": world["listed"], "service": "high_speed_rail"}
    for sent in ("ticket purchase ", "\tticket purchase\n"):
        single = client.post("/v1/decisions", json={**body, "purpose": sent}, headers=rail)
        assert (single.status_code, single.json()["purpose"]) == (200, "ticket purchase"), single.text
        batch = {"service": "high_speed_rail", "purpose": sent, "subject_ids": [world["listed"]]}
        many = client.post("/v1/decisions/batch", json=batch, headers=rail)
        assert (many.status_code, many.json()["decisions"][0]["purpose"]) == (200, "ticket purchase"), many.text
    world["service"].flush_inquiries()  # the journal, written to the store
    sql = "SELECT purpose, count(*) FROM inquiries WHERE subject_id = ? AND purpose LIKE '%ticket purchase%' GROUP BY 1"
    logged = dict(execute(world, sql, [world["listed"]]))
    assert "ticket purchase" in logged and set(logged) == {"ticket purchase"}
    r = client.post("/v1/decisions", json={**body, "purpose": "ticket\x1b[2Jpurchase"}, headers=rail)
    assert (r.status_code, r.json()["error"]) == (
        400,
        {
            "code": "invalid_purpose",
            "message": "a purpose is one line of plain text; this one has a control character (U+001B)",
            "field": "purpose",
        },
    )


def test_a_purpose_refused_as_text_is_said_in_chinese_and_audited(world: dict[str, Any]) -> None:
    """A purpose refused as text (400 ``invalid_purpose``) is a relying party's refused request as an undeclared one
    is (403 ``purpose_not_declared``): audited ``access_refused`` with its code, and said in the language asked. Until
    2026-12-06 it was English under ``lang=zh`` and left no audit entry."""
    client: httpx.Client = world["client"]
    rail = auth(world["keys"]["railway"])
    body = {"service": "high_speed_rail", "purpose": "ticket\x07purchase"}
    sql = "SELECT count(*) FROM audit_log WHERE action = 'access_refused' AND detail LIKE '%invalid_purpose%'"
    before = execute(world, sql, [])[0][0]
    one, many = {**body, "subject_id": world["listed"]}, {**body, "subject_ids": [world["listed"]]}
    for path, json in (("/v1/decisions", one), ("/v1/decisions/batch", many)):
        r = client.post(path, params={"lang": "zh"}, json=json, headers=rail)
        assert (r.status_code, r.json()["error"]) == (
            400,
            {
                "code": "invalid_purpose",
                "message": "用途须为一行纯文本；此用途含有控制字符（U+0007）",
                "field": "purpose",
            },
        )
    assert execute(world, sql, [])[0][0] == before + 2


def test_a_bound_party_is_decided_under_its_policy_and_no_other(world: dict[str, Any]) -> None:
    client: httpx.Client = world["client"]
    key = auth(_issue(world, policy="sesame"))
    body = {"subject_id": world["listed"], "service": "matchmaking_badge", "purpose": "matchmaking"}
    r = client.post("/v1/decisions", json=body, headers=key)
    assert r.status_code == 200, r.text
    sesame = {"excellent", "very_good", "good", "fair", "poor"}
    assert r.json()["policy_id"] == "sesame" and r.json()["tier"] in sesame
    r = client.post("/v1/decisions", params={"policy": "beijing"}, json=body, headers=key)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "policy_not_bound"
    assert r.json()["error"]["message"] == "this key is bound to policy sesame; it may not ask decisions under beijing"
    wrong = {
        "role": "relying_party",
        "name": "x",
        "services": ["high_speed_rail"],
        "purposes": ["p"],
        "policy": "sesame",
    }
    r = client.post("/v1/keys", json=wrong, headers=auth(world["keys"]["operator"]))
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "policy sesame offers no service high_speed_rail"


def test_a_batch_item_is_the_single_decision(world: dict[str, Any]) -> None:
    client: httpx.Client = world["client"]
    key = auth(_issue(world, policy="beijing"))
    ids = [str(r[0]) for r in execute(world, "SELECT DISTINCT subject_id FROM run_results ORDER BY 1 LIMIT 40")]
    ids.append(world["listed"])

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        st.lists(st.sampled_from(ids), min_size=1, max_size=5, unique=True),
        st.sampled_from(["matchmaking_badge", "deposit_free_rental"]),
        st.sampled_from(["en", "zh"]),
    )
    def check(subjects: list[str], service: str, lang: str) -> None:
        batch = {"service": service, "purpose": "matchmaking", "subject_ids": subjects, "lang": lang}
        r = client.post("/v1/decisions/batch", json=batch, headers=key)
        assert r.status_code == 200, r.text
        items = r.json()["decisions"]
        assert [d["subject_id"] for d in items] == subjects
        for sid, item in zip(subjects, items, strict=True):
            one = client.post(
                "/v1/decisions",
                json={"subject_id": sid, "service": service, "purpose": "matchmaking", "lang": lang},
                headers=key,
            )
            assert one.json() == item
            assert item["policy_id"] == "beijing" and len(item["reasons"]) <= 4
            assert (item["refusal"] is None) is item["granted"]

    check()


def test_a_party_named_with_a_control_character_is_refused_and_no_key_is_issued(world: dict[str, Any]) -> None:
    # The name is shown to every resident the party asks about: a NUL, an escape sequence or a bidirectional
    # override was stored as sent and the key issued (201).
    client: httpx.Client = world["client"]
    before = execute(world, "SELECT count(*) FROM api_keys")[0][0]
    for name, code in (("Bank\x00", "0000"), ("\x1b[2JBank", "001B"), ("Bank\u202eenO", "202E"), ("Bank\nOne", "000A")):
        body = {"role": "relying_party", "name": name, "services": ["high_speed_rail"], "purposes": ["ticket purchase"]}
        r = client.post("/v1/keys", json=body, headers=auth(world["keys"]["operator"]))
        assert (r.status_code, r.json()["error"]) == (
            422,
            {
                "code": "invalid_name",
                "message": f"a party's name is one line of plain text; this one has a control character (U+{code})",
                "field": "name",
            },
        ), name
    assert execute(world, "SELECT count(*) FROM api_keys")[0][0] == before


# the services of the shipped policies, beijing's and sesame's (docs/policies), by name
OFFERED = (
    "air_travel, bank_loan, consumer_credit, deposit_free_rental, flight, high_speed_rail, home_lease, "
    "legal_representative_registration, matchmaking_badge, private_school_fees, property_purchase, rail_first_class, "
    "rail_priority, rail_second_class, star_hotel, visa_support"
)


def test_a_service_no_policy_offers_is_refused_naming_those_that_are(world: dict[str, Any]) -> None:
    """A bank's key asked for ``consumer_loan`` (sesame's is ``consumer_credit``, beijing's ``bank_loan``): until
    2026-12-06 the refusal said "unknown service consumer_loan" alone, and the operator had to read the policies to
    find the name to type."""
    client: httpx.Client = world["client"]
    body = {"role": "relying_party", "name": "ICBC", "services": ["consumer_loan"], "purposes": ["loan application"]}
    r = client.post("/v1/keys", json=body, headers=auth(world["keys"]["operator"]))
    assert (r.status_code, r.json()["error"]) == (
        400,
        {
            "code": "bad_request",
            "message": f"unknown service consumer_loan; the policies offer: {OFFERED}",
            "field": "services",
        },
    )


def test_a_resident_sees_who_asked_by_name_never_a_key_id(world: dict[str, Any]) -> None:
    client: httpx.Client = world["client"]
    token = _issue(world, policy="sesame")
    key_id = token.split("_")[1]
    body = {"subject_id": world["listed"], "service": "matchmaking_badge", "purpose": "matchmaking"}
    assert client.post("/v1/decisions", json=body, headers=auth(token)).status_code == 200
    world["service"].flush_inquiries()
    r = client.get(f"/v1/subjects/{world['listed']}/report", headers=auth(world["keys"]["resident"]))
    assert r.status_code == 200, r.text
    inquiries = r.json()["inquiries"]
    assert any(q["requester"] == "Baihe matchmaking" and q["purpose"] == "matchmaking" for q in inquiries)
    assert key_id not in r.text
    assert not any(str(q["requester"]).startswith("key:") for q in inquiries)
    # an operator who opens the file is in the list too, named, with the purpose
    ops = client.get(f"/v1/subjects/{world['listed']}/report", headers=auth(world["keys"]["operator"]))
    assert ops.status_code == 200
    r = client.get(f"/v1/subjects/{world['listed']}/report", headers=auth(world["keys"]["resident"]))
    viewed = [q for q in r.json()["inquiries"] if q["outcome"] == "viewed"]
    assert viewed and viewed[0]["requester"] == "an operator (registry operations) viewed your file"
    assert viewed[0]["purpose"] == "operator report"
    assert all(q["requester"] != "an operator (a resident) viewed your file" for q in viewed)


def test_an_operator_who_reads_the_score_history_is_shown_to_the_resident(world: dict[str, Any]) -> None:
    """The history is the file too: an operator reading it is in the resident's list of who asked, with the
    purpose (it was audited as ``read_history`` and shown nowhere to the resident until 2026-12-04)."""
    client: httpx.Client = world["client"]
    subject = world["other"]  # no operator has opened this file in the module
    r = client.get(f"/v1/subjects/{subject}/history", headers=auth(world["keys"]["operator"]))
    assert r.status_code == 200, r.text
    r = client.get(f"/v1/subjects/{subject}/report", headers=auth(world["keys"]["operator"]))
    viewed = [(q["requester"], q["purpose"]) for q in r.json()["inquiries"] if q["outcome"] == "viewed"]
    assert viewed == [("an operator (registry operations) viewed your file", "operator history")]


def test_the_matchmaking_hint_command_works_and_the_cli_refuses_an_ambiguous_service(tmp_path: Path) -> None:
    files = write_example(tmp_path / "example", residents=30)
    db = tmp_path / "store.duckdb"
    store = open_store(db, create=True, key="")
    ingest_file(store, files.subjects, "civil_affairs", today=AS_OF)
    for source, path in files.sources.items():
        ingest_file(store, path, source, today=AS_OF)
    for pid in ("sesame", "beijing"):
        score(store, resolve_policy(store, pid), AS_OF - dt.timedelta(days=1))
    subject = str(store.one("SELECT subject_id FROM run_results ORDER BY 1 LIMIT 1"))
    store.close()
    env_db = ["--db", str(db)]
    args = shlex.split(ISSUE_COMMAND)
    assert args[0] == "socialcredit"
    done = subprocess.run([CLI, *args[1:], *env_db], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Issued key" in done.stdout and "to Baihe matchmaking (relying_party, bound to policy sesame)" in done.stdout
    ask = [CLI, "decide", subject, "matchmaking_badge", "--purpose", "matchmaking", *env_db]
    done = subprocess.run(ask, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert " ".join(done.stderr.split()) == "error: " + AMBIGUOUS
    done = subprocess.run([*ask, "--policy", "sesame", "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert '"policy_id": "sesame"' in done.stdout


def test_the_matchmaking_site_gets_its_badge_from_sesame_when_beijing_also_defines_it(world: dict[str, Any]) -> None:
    from socialcredit.matchmaking.registry_client import RegistryClient

    sesame = {"excellent", "very_good", "good", "fair", "poor"}
    # both policies define the badge in this world: an unbound key gets sesame's, since the site names its policy
    with RegistryClient(f"http://127.0.0.1:{world['port']}", _issue(world)) as registry:
        badge = registry.badges([world["listed"]])[world["listed"]]
    assert badge.tier in sesame


def test_the_portal_and_the_file_name_the_party_and_the_operator(site: dict[str, Any]) -> None:
    """The resident's inquiries page and printable file, over a real server: the party's name and purpose, the
    operator's view in the third person, never a key id."""
    client: httpx.Client = site["client"]
    operator = auth(site["keys"]["operator"])
    body = {
        "role": "relying_party",
        "name": "Baihe matchmaking",
        "services": ["matchmaking_badge"],
        "purposes": ["matchmaking"],
        "policy": "sesame",
    }
    r = client.post("/v1/keys", json=body, headers=operator)
    assert r.status_code == 201, r.text
    token, key_id = r.json()["token"], r.json()["key_id"]
    asked = {"subject_id": site["listed"], "service": "matchmaking_badge", "purpose": "matchmaking"}
    assert client.post("/v1/decisions", json=asked, headers=auth(token)).status_code == 200
    with httpx.Client(base_url=site["base"], timeout=30) as ops:
        sign_in(ops, site["keys"]["operator"])
        assert ops.get(f"/ops/subjects/{site['listed']}").status_code == 200
    site["service"].flush_inquiries()
    with httpx.Client(base_url=site["base"], timeout=30) as me:
        sign_in(me, site["keys"]["resident"])
        for path, lang, operator_said in (
            ("/me/inquiries", "zh", "运营方（registry operations）查看了您的档案"),
            ("/me/inquiries?lang=en", "en", "an operator (registry operations) viewed your file"),
            ("/me/file.html", "en", "an operator (registry operations) viewed your file"),  # the language chosen
        ):
            page = me.get(path)
            assert page.status_code == 200, (path, lang)
            assert "Baihe matchmaking" in page.text and "matchmaking" in page.text
            assert operator_said in page.text, path
            assert key_id not in page.text and f"key:{site['key_ids']['operator']}" not in page.text


def test_a_batch_without_explanations_answers_granted_and_tier_only(world: dict[str, Any]) -> None:
    client: httpx.Client = world["client"]
    key = auth(world["keys"]["railway"])
    ids = [str(r[0]) for r in execute(world, "SELECT DISTINCT subject_id FROM run_results ORDER BY 1 LIMIT 30")]
    body = {"service": "high_speed_rail", "purpose": "ticket purchase", "subject_ids": [*ids, world["listed"]]}
    full = client.post("/v1/decisions/batch", json=body, headers=key)
    short = client.post("/v1/decisions/batch", json={**body, "explain": False}, headers=key)
    assert full.status_code == short.status_code == 200
    assert short.json()["decisions"] == [
        {"subject_id": d["subject_id"], "granted": d["granted"], "tier": d["tier"]} for d in full.json()["decisions"]
    ]
