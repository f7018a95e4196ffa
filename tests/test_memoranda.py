"""Joint-punishment memoranda as data: loading and validation, the lint of measures, decisions that name them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api_helpers import auth, world
from socialcredit.errors import PolicyError, SocialCreditError
from socialcredit.policy import builtin_policy
from socialcredit.policy.lint import lint_measures
from socialcredit.policy.load import parse_policy
from socialcredit.policy.memoranda import builtin_memoranda_for, builtin_memorandum, parse_memorandum
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.scoring.memoranda import publish_shipped_memoranda
from web_helpers import sign_in

__all__ = ["world"]  # the API tests' running service (a module fixture)

SHIPPED = builtin_memorandum("fgcj_2016_141")
SOCIALCREDIT = str(Path(sys.executable).with_name("socialcredit"))  # the installed console script


def _memo(lists: str, agencies: str = "  - {id: rail, name: {zh: 铁路, en: rail}}\n", policy: str = "beijing") -> str:
    return (
        "id: test_memo\n"
        'version: "1"\n'
        "document_number: 测试〔2026〕1号\n"
        "title: {zh: 测试, en: test}\n"
        "date: 2026-01-01\n"
        "issuing_bodies: [{zh: 测试机关, en: a test body}]\n"
        "source: {citation: a test}\n"
        f"policy: {policy}\n"
        "agencies:\n" + agencies + "lists:\n" + lists
    )


RAIL = (
    "  - list: blacklist\n    measures:\n"
    "      - {number: 1, agency: rail, service: high_speed_rail, text: {zh: 限, en: refused}}\n"
)


def test_the_shipped_memorandum_names_its_document_and_measures() -> None:
    m = SHIPPED.memorandum
    assert (m.document_number, m.title.zh, str(m.date), m.policy) == (
        "发改财金〔2016〕141号",
        "关于对失信被执行人实施联合惩戒的合作备忘录",
        "2016-01-20",
        "beijing",
    )
    assert [(lm.list, x.number, x.agency, x.service) for lm in m.lists for x in lm.measures] == [
        ("blacklist", 12, "china_railway", "high_speed_rail"),
        ("blacklist", 13, "transport_ministry", "flight"),
        ("blacklist", 14, "china_railway", "rail_first_class"),
        ("blacklist", 15, "transport_ministry", "air_travel"),
        ("blacklist", 16, "tourism_administration", "star_hotel"),
        ("blacklist", 17, "land_ministry", "property_purchase"),
        ("blacklist", 18, "education_ministry", "private_school_fees"),
        ("blacklist", 19, "market_regulator", "legal_representative_registration"),
        ("blacklist", 21, "banking_regulator", "bank_loan"),
        # the officers of a defaulting organisation: the same measures of the restriction on high spending
        ("high_spending_restriction", 14, "china_railway", "rail_first_class"),
        ("high_spending_restriction", 15, "transport_ministry", "air_travel"),
        ("high_spending_restriction", 16, "tourism_administration", "star_hotel"),
        ("high_spending_restriction", 17, "land_ministry", "property_purchase"),
        ("high_spending_restriction", 18, "education_ministry", "private_school_fees"),
    ]
    # registration is refused to the defaulter (the blacklist), not to its officers
    officers = "high_spending_restriction"
    assert SHIPPED.measure_for(officers, "legal_representative_registration", "market_regulator") is None
    assert lint_measures(builtin_policy("beijing"), SHIPPED, "eu") == []
    assert SHIPPED.measure_for("blacklist", "flight", "china_railway") is None
    assert [x.memorandum.id for x in builtin_memoranda_for("beijing")] == ["fgcj_2016_141"]
    assert builtin_memoranda_for("sesame") == []


def test_a_valid_memorandum_loads() -> None:
    loaded = parse_memorandum(_memo(RAIL), "m.yaml")
    assert loaded.measure_for("blacklist", "high_speed_rail", "rail") is not None
    # the same measure on two lists keeps its one number
    both = parse_memorandum(_memo(RAIL + RAIL.replace("list: blacklist", "list: high_spending_restriction")), "m.yaml")
    assert both.measure_for("high_spending_restriction", "high_speed_rail", "rail") == both.measure_for(
        "blacklist", "high_speed_rail", "rail"
    )


@pytest.mark.parametrize(
    ("lists", "problems"),
    [
        (
            RAIL.replace("high_speed_rail", "yacht"),
            ["m.yaml:14: lists.0.measures.0.service: policy beijing offers no service 'yacht'"],
        ),
        (
            RAIL.replace("agency: rail", "agency: airline"),
            ["m.yaml:14: lists.0.measures.0.agency: agency 'airline' is not among the memorandum's agencies"],
        ),
        (
            RAIL.replace("list: blacklist", "list: greylist"),
            [
                "m.yaml:12: lists.0.list: policy beijing has no list 'greylist' "
                "(lists: blacklist, redlist, high_spending_restriction)"
            ],
        ),
        (
            RAIL.replace("list: blacklist", "list: redlist"),
            ["m.yaml:12: lists.0.list: redlist is a redlist: measures of joint punishment apply to blacklists"],
        ),
        (
            RAIL + "      - {number: 1, agency: rail, service: flight, text: {zh: 限, en: refused}}\n",
            ["m.yaml:15: lists.0.measures.1.number: measure 1 is numbered twice"],
        ),
        (  # one number for two different measures on two lists
            RAIL
            + "  - list: high_spending_restriction\n    measures:\n"
            + "      - {number: 1, agency: rail, service: rail_first_class, text: {zh: 限, en: refused}}\n",
            ["m.yaml:17: lists.1.measures.0.number: measure 1 is numbered twice"],
        ),
        (
            RAIL.replace("number: 1,", "number: 0,"),
            ["m.yaml:14: lists.0.measures.0.number: must be greater than 0, not 0"],
        ),
        (
            RAIL.replace("text: {zh: 限, en: refused}", "txt: x"),
            [
                "m.yaml:14: lists.0.measures.0.text: is required",
                "m.yaml:14: lists.0.measures.0.txt: is not a key of a memorandum (see docs/organisations.md)",
            ],
        ),
    ],
)
def test_every_problem_is_named_and_located(lists: str, problems: list[str]) -> None:
    with pytest.raises(PolicyError) as info:
        parse_memorandum(_memo(lists), "m.yaml")
    assert info.value.problems == problems


def test_the_date_and_the_policy_are_checked() -> None:
    with pytest.raises(PolicyError) as info:
        parse_memorandum(_memo(RAIL).replace("date: 2026-01-01", "date: soon"), "m.yaml")
    assert info.value.problems == ["m.yaml:5: date: must be a date (YYYY-MM-DD), not 'soon'"]
    with pytest.raises(PolicyError) as info:
        parse_memorandum(_memo(RAIL, policy="nowhere"), "m.yaml")
    assert info.value.problems == ["m.yaml:8: policy: unknown policy 'nowhere'"]
    with pytest.raises(PolicyError) as info:
        parse_memorandum(_memo(RAIL), "m.yaml", builtin_policy("sesame"))
    assert info.value.problems == ["m.yaml:8: policy: the memorandum applies to policy beijing, not sesame"]


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=60))
def test_any_text_is_loaded_or_refused_with_located_problems(text: str) -> None:
    try:
        parse_memorandum(text, "m.yaml")
    except PolicyError as exc:
        assert exc.problems and all(p.startswith("m.yaml") for p in exc.problems)


TRAFFIC = (
    "id: p\nversion: '1'\nname: {zh: 测试, en: test}\nscale: {base: 100, min: 0, max: 200}\n"
    "tiers: [{id: A, min: 0}]\ndimensions: [{id: road, name: {zh: 交通, en: road}}]\nrules: []\n"
    "lists:\n  - id: blacklist\n    kind: black\n    name: {zh: 黑名单, en: blacklist}\n    grace_days: 60\n"
    "    criteria:\n      - id: fines\n        record: {record_type: traffic_ticket}\n        severity: general\n"
    "        reason: {code: FINES, zh: 交通罚款未缴, en: unpaid traffic fines}\n"
    "services:\n  - id: private_school_fees\n    name: {zh: 私立学校学费, en: private school fees}\n"
    '    grant_if: "not blacklist"\n    context: education\n'
    "    refusal: {zh: 名单上的人员不得支付私立学校学费。,\n"
    "              en: People on the blacklist may not pay private school fees.}\n"
)


def test_a_measure_that_does_not_follow_from_the_cause_is_flagged() -> None:
    assert lint_measures(builtin_policy("beijing"), SHIPPED) == []
    policy = parse_policy(TRAFFIC, "p.yaml")
    memo = parse_memorandum(
        _memo(
            "  - list: blacklist\n    measures:\n"
            "      - {number: 7, agency: rail, service: private_school_fees, text: {zh: 限, en: refused}}\n",
            policy="p",
        ),
        "m.yaml",
        policy,
    )
    (finding,) = lint_measures(policy, memo, "eu")
    assert str(finding) == (
        "m.yaml:14: measure 7: error SC108 (measure unrelated to the cause): refusing private_school_fees (high "
        "spending) does not follow from the cause of list blacklist criterion fines (road traffic, traffic_ticket); "
        "a road traffic cause may lead to: transport"
    )
    assert [f.level for f in lint_measures(policy, memo, "cn")] == ["warning"]


def test_a_key_acts_only_for_a_known_agency(world: dict[str, Any]) -> None:
    with world["service"].writer() as store:
        with pytest.raises(SocialCreditError) as info:
            issue_key(store, "relying_party", "x", services=["flight"], purposes=["p"], policy="beijing", agency="navy")
        assert str(info.value) == (
            "unknown agency 'navy': no published memorandum for policy beijing names it "
            "(agencies: banking_regulator, china_railway, education_ministry, land_ministry, market_regulator, "
            "tourism_administration, transport_ministry)"
        )
        with pytest.raises(SocialCreditError) as info:
            issue_key(store, "operator", "x", agency="china_railway")
        assert str(info.value) == "only a relying party acts for an agency"


def test_a_refusal_names_the_memorandum_and_measure_over_http(world: dict[str, Any]) -> None:
    with world["service"].writer() as store:
        rail = issue_key(
            store,
            "relying_party",
            "China Railway 12306",
            services=["high_speed_rail"],
            purposes=["ticket purchase"],
            policy="beijing",
            agency="china_railway",
        ).token
        world["service"].reload_keys(store)
    client = world["client"]
    body = {"subject_id": world["listed"], "service": "high_speed_rail", "purpose": "ticket purchase"}
    answer = client.post("/v1/decisions", json=body, headers=auth(rail))
    assert answer.status_code == 200
    out = answer.json()
    assert (out["granted"], out["lists"][:1]) == (False, ["blacklist"])
    assert out["joint_punishment"] == {
        "memorandum_id": "fgcj_2016_141",
        "memorandum_version": "2016.2",
        "document_number": "发改财金〔2016〕141号",
        "title": "Memorandum of cooperation on joint punishment of dishonest judgment debtors",
        "list": "blacklist",
        "measure": 12,
        "agency": "china_railway",
        "text": "refused under memorandum 发改财金〔2016〕141号, measure 12: Judgment defaulters may not take any seat "
        "on G-series trains, nor first class or above on other bullet trains.",
    }
    zh = client.post("/v1/decisions", json={**body, "lang": "zh"}, headers=auth(rail)).json()
    assert zh["joint_punishment"]["text"] == (
        "依据发改财金〔2016〕141号备忘录第12项措施拒绝：限制失信被执行人乘坐G字头动车组列车全部座位、其他动车组列车一等以上座位。"
    )
    # a granted decision, and a party bound to no agency, name no measure
    granted = client.post("/v1/decisions", json={**body, "subject_id": world["other"]}, headers=auth(rail)).json()
    assert (granted["granted"], granted["joint_punishment"]) == (True, None)
    plain = client.post("/v1/decisions", json=body, headers=auth(world["keys"]["railway"]))
    assert plain.status_code == 200
    assert (plain.json()["granted"], plain.json()["joint_punishment"]) == (False, None)
    # the resident's inquiries name the memorandum and measure of the agency's refusals, and of those only
    world["service"].flush_inquiries()
    report = client.get(f"/v1/subjects/{world['listed']}/report", headers=auth(world["keys"]["resident"]))
    assert report.status_code == 200
    named = [q.get("joint_punishment", {}).get("measure") for q in report.json()["inquiries"]]
    assert named.count(12) == 2 and len(named) >= 3
    assert all(
        q.get("joint_punishment") is None for q in report.json()["inquiries"] if q["purpose"] != "ticket purchase"
    )
    with httpx.Client(base_url=str(client.base_url), timeout=30) as browser:
        sign_in(browser, world["keys"]["resident"])
        page = browser.get("/me/inquiries", params={"lang": "zh"})
    assert page.status_code == 200
    assert page.text.count('data-testid="joint-punishment"') == 2
    assert "依据发改财金〔2016〕141号备忘录第12项措施拒绝" in page.text


def test_the_public_policy_page_shows_the_memorandum(world: dict[str, Any]) -> None:
    with world["service"].writer() as store:
        publish_shipped_memoranda(store, "beijing")
        assert publish_shipped_memoranda(store, "beijing") == 0  # published once, like a policy
        assert store.one("SELECT count(*) FROM memoranda WHERE memorandum_id = 'fgcj_2016_141'") == 1
    client = world["client"]
    zh = client.get("/policies/beijing", params={"lang": "zh"}).text
    assert 'data-testid="policy-memoranda"' in zh
    assert "<h3>关于对失信被执行人实施联合惩戒的合作备忘录</h3>" in zh
    assert "2016-01-20发布，文号发改财金〔2016〕141号" in zh
    assert "12. 限制失信被执行人乘坐G字头动车组列车全部座位、其他动车组列车一等以上座位。" in zh
    assert "中国铁路总公司" in zh and "高铁购票" in zh and "china_railway" not in zh
    sesame = client.get("/policies/sesame", params={"lang": "en"}).text
    assert 'data-testid="policy-memoranda"' not in sesame


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "COLUMNS": "200"}
    return subprocess.run([SOCIALCREDIT, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def test_the_command_line_checks_publishes_and_shows(tmp_path: Path) -> None:
    ok = _cli("memorandum", "check", "fgcj_2016_141", cwd=tmp_path)
    assert (ok.returncode, ok.stdout) == (
        0,
        "fgcj_2016_141 2016.2 (发改财金〔2016〕141号): 9 measures on 2 lists of policy beijing, 0 findings under "
        "profile cn.\n",
    )
    (tmp_path / "bad.yaml").write_text(_memo(RAIL).replace("agency: rail", "agency: airline"), "utf-8")
    bad = _cli("memorandum", "check", "bad.yaml", cwd=tmp_path)
    assert bad.returncode == 2
    assert (
        "bad.yaml:14: lists.0.measures.0.agency: agency 'airline' is not among the memorandum's agencies" in bad.stderr
    )
    (tmp_path / "p.yaml").write_text(TRAFFIC, "utf-8")
    fees = (
        "  - list: blacklist\n    measures:\n"
        "      - {number: 7, agency: rail, service: private_school_fees, text: {zh: 限, en: x}}\n"
    )
    (tmp_path / "fees.yaml").write_text(_memo(fees, policy="p"), "utf-8")
    lint = _cli("memorandum", "check", "fees.yaml", "--policy", "p.yaml", "--profile", "eu", cwd=tmp_path)
    assert lint.returncode == 1
    assert "fees.yaml:14: measure 7: error SC108 (measure unrelated to the cause)" in lint.stdout
    assert _cli("memorandum", "check", "fees.yaml", "--policy", "p.yaml", cwd=tmp_path).returncode == 0  # cn: warns
    assert _cli("init", "--db", "m.duckdb", cwd=tmp_path).returncode == 0
    first = _cli("memorandum", "publish", "fgcj_2016_141", "--db", "m.duckdb", cwd=tmp_path)
    assert (first.returncode, first.stdout) == (
        0,
        "Published memorandum fgcj_2016_141 version 2016.2 (发改财金〔2016〕141号) for policy beijing.\n",
    )
    again = _cli("memorandum", "publish", "fgcj_2016_141", "--db", "m.duckdb", cwd=tmp_path)
    assert again.stdout.startswith("Already published: memorandum fgcj_2016_141")
    shown = _cli("memorandum", "show", "beijing", "--db", "m.duckdb", "--json", cwd=tmp_path)
    assert [(r["measure"], r["agency"], r["service"]) for r in json.loads(shown.stdout)] == [
        (12, "china_railway", "high_speed_rail"),
        (13, "transport_ministry", "flight"),
        (14, "china_railway", "rail_first_class"),
        (15, "transport_ministry", "air_travel"),
        (16, "tourism_administration", "star_hotel"),
        (17, "land_ministry", "property_purchase"),
        (18, "education_ministry", "private_school_fees"),
        (19, "market_regulator", "legal_representative_registration"),
        (21, "banking_regulator", "bank_loan"),
        (14, "china_railway", "rail_first_class"),
        (15, "transport_ministry", "air_travel"),
        (16, "tourism_administration", "star_hotel"),
        (17, "land_ministry", "property_purchase"),
        (18, "education_ministry", "private_school_fees"),
    ]


def test_the_memorandum_in_force_is_the_newest_by_version_order(tmp_path: Path) -> None:
    """As for policies: 10 comes after 9, and an older version published later does not replace the newest (the
    latest by date of publication was taken before); a version that reads as a published one is refused."""
    assert _cli("init", "--db", "m.duckdb", cwd=tmp_path).returncode == 0
    for version in ("9", "10", "2"):
        text = _memo(RAIL.replace("en: refused", f"en: refused under {version}")).replace('"1"', f'"{version}"')
        (tmp_path / f"v{version}.yaml").write_text(text, "utf-8")
        published = _cli("memorandum", "publish", f"v{version}.yaml", "--db", "m.duckdb", cwd=tmp_path)
        said = f"Published memorandum test_memo version {version} (测试〔2026〕1号) for policy beijing.\n"
        assert published.stdout == said
    shown = _cli("memorandum", "show", "beijing", "--db", "m.duckdb", "--json", cwd=tmp_path)
    assert [(r["memorandum"], r["version"], r["text"]) for r in json.loads(shown.stdout)] == [
        ("test_memo", "10", "refused under 10")
    ]
    (tmp_path / "v09.yaml").write_text((tmp_path / "v9.yaml").read_text("utf-8").replace('"9"', '"09"'), "utf-8")
    alike = _cli("memorandum", "publish", "v09.yaml", "--db", "m.duckdb", cwd=tmp_path)
    assert (alike.returncode, alike.stderr.splitlines()[-1]) == (
        2,
        "error: v09.yaml: memorandum test_memo version 09 reads as the published version 9 (versions compare part "
        "by part, numbers as numbers); give it a version of its own",
    )


def test_an_operator_s_memorandum_version_that_reads_as_the_shipped_one_keeps_agency_keys_issued(
    tmp_path: Path,
) -> None:
    """A store holding the operator's fgcj_2016_141 "2016.02": every key naming an agency was refused, the shipped
    2016.2 (published on the way) reading as it."""
    import socialcredit
    from socialcredit.policy.memoranda import parse_memorandum
    from socialcredit.registry.access.parties import issue_key
    from socialcredit.registry.scoring.memoranda import get_memorandum, publish_memorandum
    from socialcredit.registry.scoring.policies import resolve_policy
    from socialcredit.store import open_store

    shipped = Path(socialcredit.__file__).parent / "policies" / "memoranda" / "fgcj_2016_141.yaml"
    text = shipped.read_text("utf-8")
    assert 'version: "2016.2"' in text
    with open_store(tmp_path / "m.duckdb", key="", create=True) as store:
        policy = resolve_policy(store, "beijing", actor="t")
        publish_memorandum(store, parse_memorandum(text.replace('"2016.2"', '"2016.02"'), "mine.yaml", policy))
        key = issue_key(
            store,
            "relying_party",
            "Rail",
            services=["high_speed_rail"],
            purposes=["ticket purchase"],
            policy="beijing",
            agency="china_railway",
        )
        assert key.token
        assert get_memorandum(store, "fgcj_2016_141").memorandum.version == "2016.02"
        assert store.one("SELECT count(*) FROM memoranda WHERE memorandum_id = 'fgcj_2016_141'") == 1
