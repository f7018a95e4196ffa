"""An organisation's own file over HTTP: look-up by credit code and name, masking, the legal representative disputing
and applying for repair, everyone else refused with the exact message (a real server on loopback)."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api_helpers import serving
from org_world import DIRECTOR, FORMER, ORG, OTHER_ORG, REP, build_org_world, resident_keys, serving_org_world
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.errors import InvalidRequestError, SocialCreditError
from socialcredit.identifiers import make_uscc
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.due_process.repair import report_fulfilment
from socialcredit.registry.reporting.org_file import find_orgs, mask_name
from web_helpers import signed_in

TODAY = "2026-04-01"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder: Path = tmp_path_factory.mktemp("orgs")
    store = build_org_world(folder)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(TODAY_ENV, TODAY)
        keys = {
            "operator": issue_key(store, "operator", "registry operations").token,
            **{who: issued.token for who, issued in resident_keys(store).items()},
            "courts": issue_key(store, "furnisher", "the courts", source="courts").token,
        }
        app = create_app(folder / "orgs.duckdb", store=store)
        try:
            with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
                made = {"store": store, "client": client, "keys": keys, "service": app.state.service}
                # Every test sees the world after the representative acted, whichever runs first or alone.
                yield made | {"filed": _file_the_cases(made)}
        finally:
            store.close()


def _get(world: dict[str, Any], who: str, path: str, **params: Any) -> httpx.Response:
    return world["client"].get(path, params=params, headers={"Authorization": f"Bearer {world['keys'][who]}"})


def _post(world: dict[str, Any], who: str, path: str, body: dict[str, Any]) -> httpx.Response:
    return world["client"].post(path, json=body, headers={"Authorization": f"Bearer {world['keys'][who]}"})


NOT_REP = f"only the current legal representative of organisation {ORG} may act for it"
DISPUTE = {"source_id": "courts", "record_id": "J9", "reason": "the judgment was paid on 2026-03-30"}
REPAIR = {"source_id": "tax_bureau", "record_id": "X9", "statement": "the tax is settled", "commitment": "we will"}


def _file_the_cases(world: dict[str, Any]) -> dict[str, httpx.Response]:
    """The representative disputes the organisation's record J9 and applies for repair of X9 (refused until the
    tax bureau reports the tax settled): the answers, for the tests to read."""
    filed = {"dispute": _post(world, "rep", f"/v1/orgs/{ORG}/disputes", DISPUTE)}
    filed["early_repair"] = _post(world, "rep", f"/v1/orgs/{ORG}/repairs", REPAIR)
    with world["service"].writer() as store:
        report_fulfilment(store, "tax_bureau", "X9", fulfilled_on=dt.date(2026, 3, 30), actor="test")
    filed["repair"] = _post(world, "rep", f"/v1/orgs/{ORG}/repairs", REPAIR)
    return filed


def test_an_operator_finds_an_organisation_by_credit_code_and_by_name(world: dict[str, Any]) -> None:
    with world["service"].writer() as store:  # other tests search too, before or after this one
        searched = store.one("SELECT count(*) FROM audit_log WHERE action = 'search_orgs'")
    by_code = _get(world, "operator", "/v1/orgs", q=ORG.lower())
    assert by_code.status_code == 200
    assert by_code.json()["results"] == [{"org_id": ORG, "name": "北京示例科技有限公司", "district": "朝阳区"}]
    by_name = _get(world, "operator", "/v1/orgs", q="示例").json()
    assert [r["org_id"] for r in by_name["results"]] == [OTHER_ORG, ORG]  # by name
    assert by_name["next_page"] is None
    # a code with a wrong check digit is refused, naming it
    wrong = ORG[:-1] + ("0" if ORG[-1] != "0" else "1")
    bad = _get(world, "operator", "/v1/orgs", q=wrong)
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_identifier"
    short = _get(world, "operator", "/v1/orgs", q="x")
    assert (short.status_code, short.json()["error"]["message"]) == (
        422,
        "q must be a unified social credit code or a part of a name (2 to 64 characters)",
    )
    # a representative finds only the organisations they represent; someone with no role finds none
    assert [r["org_id"] for r in _get(world, "rep", "/v1/orgs", q="示例").json()["results"]] == [ORG]
    assert [r["org_id"] for r in _get(world, "director", "/v1/orgs", q="示例").json()["results"]] == []
    with world["service"].writer() as store:
        assert store.one("SELECT count(*) FROM audit_log WHERE action = 'search_orgs'") == searched + 4


def test_the_representative_reads_the_file_with_persons_masked(world: dict[str, Any]) -> None:
    answer = _get(world, "rep", f"/v1/orgs/{ORG}/file")
    assert answer.status_code == 200, answer.text
    file = answer.json()
    assert file["organisation"]["org_id"] == ORG
    # J9 is under the representative's dispute; X9's repair application awaits a decision and still counts
    assert [(r["record_id"], r["status"]) for r in file["records"]] == [("J9", "disputed"), ("X9", "counting")]
    assert [(x["list_id"], x["status"], x["effective_on"]) for x in file["listings"]] == [
        ("blacklist", "effective", "2026-03-21")
    ]
    assert file["persons_masked"] is True
    assert [(p["person_id"], p["name"], p["role"], p["current"]) for p in file["related_persons"]] == [
        (REP[:6] + "********" + REP[-4:], "张*", "legal_representative", True),
        (DIRECTOR[:6] + "********" + DIRECTOR[-4:], "李*", "director", True),
        (FORMER[:6] + "********" + FORMER[-4:], "王**", "legal_representative", False),
    ]
    # the operator sees them in full, and the earlier look-up on the file
    op = _get(world, "operator", f"/v1/orgs/{ORG}/file").json()
    assert op["persons_masked"] is False
    assert [(p["person_id"], p["name"]) for p in op["related_persons"]] == [
        (REP, "张三"),
        (DIRECTOR, "李四"),
        (FORMER, "王五丰"),
    ]
    assert op["lookups"][0]["by"] == "the legal representative"
    again = _get(world, "rep", f"/v1/orgs/{ORG}/file").json()
    assert again["lookups"][0]["by"] == "an operator (registry operations)"


def test_the_printable_report(world: dict[str, Any]) -> None:
    page = _get(world, "rep", f"/v1/orgs/{ORG}/file.html", lang="zh")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    text = page.text
    assert "<h1>企业信用报告: 北京示例科技有限公司</h1>" in text
    assert "@media print" in text
    assert "张*" in text and REP not in text and "张三" not in text
    assert "姓名与身份证号已作遮蔽处理：仅运营方可见全文。" in text


@pytest.mark.parametrize("who", ["director", "former", "stranger"])
def test_anyone_but_the_representative_is_refused(world: dict[str, Any], who: str) -> None:
    for path in (f"/v1/orgs/{ORG}/file", f"/v1/orgs/{ORG}/file.html"):
        answer = _get(world, who, path)
        assert answer.status_code == 403
        error = answer.json()["error"]
        assert (error["code"], error["message"]) == ("not_representative", NOT_REP)
    body = {"source_id": "courts", "record_id": "J9", "reason": "the judgment was paid"}
    refused = _post(world, who, f"/v1/orgs/{ORG}/disputes", body)
    assert (refused.status_code, refused.json()["error"]["message"]) == (403, NOT_REP)
    repair = {"source_id": "tax_bureau", "record_id": "X9", "statement": "paid"}
    refused = _post(world, who, f"/v1/orgs/{ORG}/repairs", repair)
    assert (refused.status_code, refused.json()["error"]["message"]) == (403, NOT_REP)
    with world["service"].writer() as store:
        assert store.one(
            "SELECT count(*) FROM audit_log WHERE action = 'access_refused' AND detail LIKE '%not_representative%'"
        )


def test_anyone_but_the_representative_is_refused_in_the_language_asked(world: dict[str, Any]) -> None:
    """With ``lang=zh`` the refusal was said in English (not_representative had no Chinese words)."""
    zh = f"只有企业{ORG}的现任法定代表人可以代表企业查询和办理"
    headers = {"Authorization": f"Bearer {world['keys']['director']}"}
    body = {"source_id": "courts", "record_id": "J9", "reason": "判决已履行"}
    for method, path, sent in (
        ("POST", f"/v1/orgs/{ORG}/disputes", body),
        ("GET", f"/v1/orgs/{ORG}/file", None),
        ("GET", f"/v1/orgs/{ORG}/file.html", None),
    ):
        refused = world["client"].request(method, path, params={"lang": "zh"}, json=sent, headers=headers)
        error = refused.json()["error"]
        assert (refused.status_code, refused.headers.get("content-language")) == (403, "zh-CN"), path
        assert (error["code"], error["message"]) == ("not_representative", zh), path


def test_the_representative_disputes_the_organisations_record(world: dict[str, Any]) -> None:
    answer = world["filed"]["dispute"]
    assert answer.status_code == 201, answer.text
    dispute = answer.json()
    assert (dispute["subject_id"], dispute["record_id"], dispute["status"]) == (ORG, "J9", "open")
    # a record of another subject is not the organisation's to dispute
    other = _post(world, "rep", f"/v1/orgs/{OTHER_ORG}/disputes", DISPUTE)
    message = f"only the current legal representative of organisation {OTHER_ORG} may act for it"
    assert (other.status_code, other.json()["error"]["message"]) == (403, message)


def test_the_representative_applies_for_repair(world: dict[str, Any]) -> None:
    early = world["filed"]["early_repair"]
    assert early.status_code == 409
    assert early.json()["error"]["message"] == (
        "source tax_bureau has not reported the obligation of record 'X9' fulfilled; fulfil it (pay the judgment, "
        "settle the tax) and ask the source to report it, then apply"
    )
    answer = world["filed"]["repair"]
    assert answer.status_code == 201, answer.text
    repair = answer.json()
    assert (repair["subject_id"], repair["record_id"], repair["status"], repair["severity"]) == (
        ORG,
        "X9",
        "pending",
        "minor",
    )


def test_a_look_up_of_an_unknown_organisation(world: dict[str, Any]) -> None:
    code = make_uscc("91110108MA09ABCD1")
    answer = _get(world, "operator", f"/v1/orgs/{code}/file")
    assert (answer.status_code, answer.json()["error"]["message"]) == (404, f"no registered organisation {code}")
    # a person's identity number is not an organisation
    answer = _get(world, "operator", f"/v1/orgs/{REP}/file")
    assert answer.status_code == 422


def test_the_masked_name_keeps_the_family_name() -> None:
    assert (mask_name("张三丰"), mask_name("李"), mask_name(None), mask_name("")) == ("张**", "李", None, "")


@settings(max_examples=80, deadline=None)
@given(query=st.text(max_size=80), page=st.integers(-2, 600))
def test_any_query_is_answered_or_refused_by_name(world: dict[str, Any], query: str, page: int) -> None:
    with world["service"].writer() as store:
        try:
            found = find_orgs(store, query, page=page, actor="test")
        except InvalidRequestError as exc:
            assert exc.field in ("q", "page")
            return
        except SocialCreditError as exc:  # an 18-character code with a wrong check digit or character
            assert exc.code == "invalid_identifier" and len(query.strip()) == 18
            return
    assert 2 <= len(query.strip()) <= 64 and 1 <= page <= 500
    assert len(found["results"]) <= 20


def test_the_pages_for_the_representative_and_the_operator(world: dict[str, Any]) -> None:
    with signed_in(world, "rep") as rep:
        found = rep.get("/orgs", params={"q": "示例", "lang": "zh"})
        assert found.status_code == 200
        assert f'href="/orgs/{ORG}"' in found.text and OTHER_ORG not in found.text
        page = rep.get(f"/orgs/{ORG}", params={"lang": "zh"})
        assert page.status_code == 200
        assert "<h1>企业信用档案: 北京示例科技有限公司</h1>" in page.text
        assert "张*" in page.text and "法定代表人 (现任)" in page.text and REP not in page.text
        assert "失信名单" in page.text and "已生效" in page.text
        # the policy by its name, not its id
        assert '<td data-label="政策">北京市社会信用评分 2026.2</td>' in page.text
        printable = rep.get(f"/orgs/{ORG}", params={"print": "1", "lang": "en"})
        assert "<h1>Credit report of an organisation: 北京示例科技有限公司</h1>" in printable.text
        # its inline stylesheet is allowed (the site's policy allows only /static), and nothing else
        assert printable.headers["content-security-policy"] == "default-src 'none'; style-src 'unsafe-inline'"
        for words in (
            "<td>Beijing social credit score 2026.2</td>",
            "<td>judgment defaulter (in effect)</td>",
            "<tr><td>blacklist</td>\n<td>judgment defaulter (record J9)</td>",
            "<td>people&#39;s courts J9</td>\n<td>court judgment</td><td>disputed</td>",
            # the dispute and the repair application the representative filed (the world's)
            r"<td>people&#39;s courts J9</td>\n<td>[-\d :]+</td><td>open</td>",
            r"<td>tax bureau X9</td>\n<td>[-\d]+</td><td>pending</td>",
        ):
            assert re.search(words.replace("(", r"\(").replace(")", r"\)"), printable.text), words
        printable = rep.get(f"/orgs/{ORG}", params={"print": "1", "lang": "zh"})
        for words in (
            "<td>北京市社会信用评分 2026.2</td>",
            "<td>失信被执行人 (已生效)</td>",
            "<tr><td>失信名单</td>\n<td>失信被执行人 (记录 J9)</td>",
            "<td>人民法院 J9</td>\n<td>法院判决</td><td>异议中</td>",
            r"<td>人民法院 J9</td>\n<td>[-\d :]+</td><td>处理中</td>",
            r"<td>税务局 X9</td>\n<td>[-\d]+</td><td>待决定</td>",
        ):
            assert re.search(words.replace("(", r"\(").replace(")", r"\)"), printable.text), words
        for code in ("beijing", "blacklist", "judgment_defaulter", "courts", "court_judgment", "effective"):
            assert code not in printable.text.split("<main>")[1], code
        bad = rep.get("/orgs", params={"q": "x", "lang": "en"})
        assert bad.status_code == 422
        assert "q must be a unified social credit code or a part of a name (2 to 64 characters)" in bad.text
    with signed_in(world, "operator") as op:
        page = op.get(f"/orgs/{ORG}", params={"lang": "en"})
        assert page.status_code == 200
        assert REP in page.text and "张三" in page.text and "legal representative (current)" in page.text
        # the dashboard names every list by the policy's name for it, the officers' list too, never by its id
        for lang, words in (("zh", "限制高消费名单"), ("en", "restriction on high spending")):
            dashboard = op.get("/ops", params={"lang": lang})
            assert dashboard.status_code == 200
            assert f'<td data-label="{"名单" if lang == "zh" else "List"}">{words}</td>' in dashboard.text
            assert f'<th scope="col" class="num">{words}</th>' in dashboard.text
            assert "high_spending_restriction" not in dashboard.text.split("<main")[1].split("</main>")[0]
    with signed_in(world, "director") as director:
        refused = director.get(f"/orgs/{ORG}", params={"lang": "en"})
        assert refused.status_code == 403
        assert NOT_REP in refused.text


# --- the organisation in the resident's own file, and the representative acting for it ---

ON_HSR_EN = (
    "legal representative or principal officer of an organisation that is a judgment defaulter: legal "
    f"representative of 北京示例科技有限公司 (USCC {ORG}), which is a judgment defaulter"
)
ON_HSR_ZH = (
    f"失信被执行单位的法定代表人或主要负责人：北京示例科技有限公司（统一社会信用代码 {ORG}）的法定代表人，"
    "该单位为失信被执行人"
)


def test_a_refused_search_of_organisations_is_told_in_the_page_s_language(world: dict[str, Any]) -> None:
    """The page number was read with int(): ``١`` and ``1_0`` (page 10) were taken, and a page out of bounds, a
    query too short or a code that is none was said in English on a Chinese page."""
    zh_page, en_page = "页码应为 1 至 500 的整数，收到的是 {}", "page must be from 1 to 500, not {}"
    cases = [
        ({"q": "示例", "page": "١"}, zh_page.format("'١'"), en_page.format("'١'")),
        ({"q": "示例", "page": "1_0"}, zh_page.format("'1_0'"), en_page.format("'1_0'")),
        ({"q": "示例", "page": "501"}, zh_page.format("'501'"), en_page.format("'501'")),
        ({"q": "示例", "page": "-1"}, zh_page.format("'-1'"), en_page.format("'-1'")),
        (
            {"q": "x"},
            "请输入统一社会信用代码或企业名称的一部分（2 至 64 个字符）",
            "q must be a unified social credit code or a part of a name (2 to 64 characters)",
        ),
        (
            {"q": (bad := ORG[:-1] + ("0" if ORG[-1] != "0" else "1"))},
            f"这不是有效的统一社会信用代码：{bad} 的校验码（最后一位）不对，可能有一位输错了",
            f"That is not a valid unified social credit code: the check character (the last) of {bad} does not "
            "match; a character may be mistyped",
        ),
    ]
    with signed_in(world, "operator") as op:
        for params, zh, en in cases:
            for lang, said in (("zh", zh), ("en", en)):
                r = op.get("/orgs", params={**params, "lang": lang})
                assert r.status_code == 422 and f'role="alert">{said}' in html.unescape(r.text), (params, lang)
        assert op.get("/orgs", params={"q": "示例", "page": "1", "lang": "zh"}).status_code == 200


def test_the_residents_own_report_names_the_organisation_role_and_cause(world: dict[str, Any]) -> None:
    for lang, want in (("en", ON_HSR_EN), ("zh", ON_HSR_ZH)):
        answer = _get(world, "rep", f"/v1/subjects/{REP}/report", lang=lang)
        assert answer.status_code == 200, answer.text
        (beijing,) = [s for s in answer.json()["scores"] if s["policy"] == "beijing"]
        assert [(e["list"], e["reason"], e["status"]) for e in beijing["lists"]] == [
            ("high_spending_restriction", want, "effective")
        ]
    # a director is named with their own role
    director = _get(world, "director", f"/v1/subjects/{DIRECTOR}/report").json()
    (beijing,) = [s for s in director["scores"] if s["policy"] == "beijing"]
    assert [e["reason"] for e in beijing["lists"]] == [ON_HSR_EN.replace("legal representative of", "director of")]
    # the organisation's own entry is not through a relation: its reason is the criterion's alone
    op = _get(world, "operator", f"/v1/subjects/{ORG}/report").json()
    (beijing,) = [s for s in op["scores"] if s["policy"] == "beijing"]
    assert [e["reason"] for e in beijing["lists"]] == ["judgment defaulter"]


def test_the_portal_pages_name_the_organisation(world: dict[str, Any]) -> None:
    with signed_in(world, "rep") as rep:
        for lang, want in (("en", ON_HSR_EN), ("zh", ON_HSR_ZH)):
            page = rep.get("/me", params={"lang": lang})
            assert page.status_code == 200
            assert want in page.text
        found = re.search(r'href="/me/listings/(\d+)"', page.text)  # the overview links each listing
        assert found, page.text
        detail = rep.get(f"/me/listings/{found.group(1)}", params={"lang": "zh"})
        assert detail.status_code == 200
        # the list in the heading, the long cause beside it in smaller type (a phone shows the heading in full)
        assert f"<h1>限制高消费名单: <small>{ON_HSR_ZH}</small></h1>" in detail.text
        detail = rep.get(f"/me/listings/{found.group(1)}", params={"lang": "en"})
        assert f"<h1>restriction on high spending: <small>{ON_HSR_EN}</small></h1>" in detail.text


def test_a_refusal_of_high_spending_names_the_memorandum_and_measure(world: dict[str, Any]) -> None:
    with world["service"].writer() as store:
        rail = issue_key(
            store,
            "relying_party",
            "China Railway 12306",
            services=["rail_first_class", "rail_second_class"],
            purposes=["ticket purchase"],
            policy="beijing",
            agency="china_railway",
        ).token
        world["service"].reload_keys(store)
    body = {"subject_id": REP, "service": "rail_first_class", "purpose": "ticket purchase"}
    headers = {"Authorization": f"Bearer {rail}"}
    answer = world["client"].post("/v1/decisions", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    out = answer.json()
    assert out["granted"] is False
    assert out["reasons"][0]["text"] == ON_HSR_EN
    assert (out["joint_punishment"]["list"], out["joint_punishment"]["measure"]) == ("high_spending_restriction", 14)
    assert out["joint_punishment"]["text"] == (
        "refused under memorandum 发改财金〔2016〕141号, measure 14: Judgment defaulters, and the legal "
        "representatives and principal officers of defaulting organisations, may not take soft sleepers, any seat "
        "on G-series trains, or first class or above on other bullet trains."
    )
    zh = world["client"].post("/v1/decisions", json={**body, "lang": "zh"}, headers=headers).json()
    assert zh["reasons"][0]["text"] == ON_HSR_ZH
    assert zh["joint_punishment"]["text"] == (
        "依据发改财金〔2016〕141号备忘录第14项措施拒绝：限制失信被执行人及其法定代表人、主要负责人乘坐列车软卧、"
        "G字头动车组列车全部座位、其他动车组列车一等以上座位。"
    )
    # a second-class seat is granted, naming no measure
    second = world["client"].post("/v1/decisions", json={**body, "service": "rail_second_class"}, headers=headers)
    assert (second.json()["granted"], second.json()["joint_punishment"]) == (True, None)


def _by_the_view(store: Any, query: str) -> list[dict[str, Any]]:
    """What a search by name found before it was keyed: the latest version of every subject, then the name."""
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return list(
        store.rows(
            "SELECT subject_id AS org_id, name, district FROM current_subjects WHERE kind = 'org' "
            "AND name LIKE ? ESCAPE '\\' ORDER BY name, subject_id LIMIT 20",
            [f"%{escaped}%"],
        )
    )


def test_a_search_by_name_finds_the_current_name_only(tmp_path: Path) -> None:
    from due_world import ingest, write_csv
    from socialcredit.store import open_store

    store = open_store(tmp_path / "names.duckdb", create=True, key="")
    try:
        header = ["subject_id", "name", "district", "profession"]
        first = [[ORG, "北京旧名科技有限公司", "朝阳区", ""], [OTHER_ORG, "北京另一示例商贸有限公司", "海淀区", ""]]
        ingest(store, write_csv(tmp_path / "a.csv", header, first), "civil_affairs", dt.date(2026, 1, 1))
        renamed = [[ORG, "北京新名科技有限公司", "朝阳区", ""]]
        ingest(store, write_csv(tmp_path / "b.csv", header, renamed), "civil_affairs", dt.date(2026, 2, 1))
        names = {q: [r["name"] for r in find_orgs(store, q, actor="test")["results"]] for q in ("旧名", "新名", "北京")}
        assert names == {
            "旧名": [],  # a former name finds nothing
            "新名": ["北京新名科技有限公司"],
            "北京": ["北京另一示例商贸有限公司", "北京新名科技有限公司"],
        }
        for q in ("旧名", "新名", "北京", "科技"):
            assert find_orgs(store, q, actor="test")["results"] == _by_the_view(store, q)
    finally:
        store.close()


@settings(max_examples=60, deadline=None)
@given(query=st.text(alphabet="北京示例另一科技商贸有限公司%_\\x", min_size=2, max_size=6))
def test_a_search_by_name_finds_what_the_view_finds(world: dict[str, Any], query: str) -> None:
    with world["service"].writer() as store:
        assert find_orgs(store, query, actor="test")["results"] == _by_the_view(store, query)


def _org_case(world: dict[str, Any], kind: str) -> dict[str, Any]:
    """The organisation's dispute (of J9) or repair application (of X9) the representative filed (the world's)."""
    found = [x for x in _get(world, "operator", f"/v1/{kind}").json() if x["subject_id"] == ORG]
    assert len(found) == 1, found
    return found[0]


def _masked(subject_id: str) -> str:
    return subject_id[:6] + "********" + subject_id[-4:]


@pytest.mark.parametrize(
    ("kind", "key", "code", "what"),
    [
        ("disputes", "dispute_id", "not_your_dispute", "dispute {id} is not yours to see"),
        ("repairs", "repair_id", "not_your_repair", "repair application {id} is not yours to see"),
    ],
)
def test_the_representative_opens_the_organisations_case_and_no_one_else(
    world: dict[str, Any], kind: str, key: str, code: str, what: str
) -> None:
    case = _org_case(world, kind)
    number = case[key]
    assert case["representative_id"] == REP  # who acted for the organisation, in full for the operator
    with world["service"].writer() as store:
        before = store.one("SELECT count(*) FROM audit_log WHERE action = 'read_for_org' AND subject_id = ?", [ORG])
    opened = _get(world, "rep", f"/v1/{kind}/{number}")
    assert opened.status_code == 200, opened.text
    assert (opened.json()[key], opened.json()["subject_id"], opened.json()["representative_id"]) == (number, ORG, REP)
    with world["service"].writer() as store:
        read = store.rows(
            "SELECT actor, detail FROM audit_log WHERE action = 'read_for_org' AND subject_id = ? ORDER BY seq", [ORG]
        )
    assert len(read) == before + 1
    assert json.loads(read[-1]["detail"]) == {key: number, "as": "representative"}
    for who in ("director", "former", "stranger"):
        refused = _get(world, who, f"/v1/{kind}/{number}")
        assert refused.status_code == 403
        assert refused.json()["error"] == {"code": code, "message": what.format(id=number)}
    assert _get(world, "operator", f"/v1/{kind}/{number}").status_code == 200
    missing = _get(world, "rep", f"/v1/{kind}/999999")
    assert (missing.status_code, missing.json()["error"]["field"]) == (404, key)


def test_the_file_and_the_pages_say_who_acted_for_the_organisation(world: dict[str, Any]) -> None:
    rep_file = _get(world, "rep", f"/v1/orgs/{ORG}/file").json()
    op_file = _get(world, "operator", f"/v1/orgs/{ORG}/file").json()
    for kind in ("disputes", "repairs"):
        assert [x["representative_id"] for x in rep_file[kind]] == [_masked(REP)]  # masked as the persons are
        assert [x["representative_id"] for x in op_file[kind]] == [REP]
    printable = _get(world, "rep", f"/v1/orgs/{ORG}/file.html", lang="zh").text
    assert printable.count("<th>代表企业办理人</th>") == 2
    assert f"<td>处理中</td><td>{_masked(REP)}</td></tr>" in printable  # the dispute
    assert f"<td>待决定</td><td>{_masked(REP)}</td></tr>" in printable  # the repair application
    with signed_in(world, "rep") as rep:
        page = rep.get(f"/orgs/{ORG}", params={"lang": "en"}).text
        assert page.count(">Acting for the organisation</th>") == 2
        assert f'data-testid="dispute-acting-for"><span class="code">{_masked(REP)}</span>' in page
        assert f'data-testid="repair-acting-for"><span class="code">{_masked(REP)}</span>' in page
        assert REP not in page
    dispute, repair = _org_case(world, "disputes"), _org_case(world, "repairs")
    with signed_in(world, "operator") as op:
        for path in (f"/ops/disputes/{dispute['dispute_id']}", f"/ops/repairs/{repair['repair_id']}"):
            page = op.get(path, params={"lang": "en"})
            assert page.status_code == 200, path
            assert "Acting for the organisation" in page.text and f'href="/ops/subjects/{REP}"' in page.text
        for path in ("/ops/cases", "/ops/repairs"):
            page = op.get(path, params={"lang": "zh"})
            assert page.status_code == 200, path
            assert f'代表企业办理人: <span class="code" data-testid="acting-for">{REP}</span>' in page.text


def test_a_credit_code_in_the_url_is_compacted_as_in_a_subjects_file(world: dict[str, Any]) -> None:
    for sent in (
        ORG.lower(),
        f"{ORG[:9]} {ORG[9:]}",
        ORG.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
    ):
        answer = _get(world, "rep", f"/v1/orgs/{sent}/file")
        assert answer.status_code == 200, answer.text
        assert answer.json()["organisation"]["org_id"] == ORG


def test_an_identifier_in_a_pages_address_or_search_is_compacted_as_over_the_api(world: dict[str, Any]) -> None:
    """The pages as the API: the representative's /orgs/{code} and its repair and dispute forms with the code in lower
    case (before: 403 not_representative), the operator's /ops/subjects/{id} with a lower-case x or spaces (before:
    404 no registered subject) and its search with full-width digits or spaces (before: searched as a name, nothing)."""
    low = ORG.lower()
    with signed_in(world, "rep") as rep:
        for path, record in ((f"/orgs/{low}", {}), (f"/orgs/{low}/repair", {"source": "tax_bureau", "record": "X9"})):
            page = rep.get(path, params={"lang": "en", **record})
            assert page.status_code == 200, (path, page.text)
        page = rep.get(f"/orgs/{low}/disputes", params={"lang": "en", "record": "courts|J9"})
        assert page.status_code == 200, page.text
    person = REP[:6] + " " + REP[6:].lower()
    wide = REP.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    with signed_in(world, "operator") as operator:
        page = operator.get(f"/ops/subjects/{person}", params={"lang": "en"})
        assert page.status_code == 200 and REP in page.text
        for typed in (person, wide, REP[:6] + " " + REP[6:12]):
            found = operator.get("/ops/subjects", params={"q": typed, "lang": "en"})
            assert found.status_code == 200 and f'href="/ops/subjects/{REP}"' in found.text, typed


def test_a_file_page_of_a_code_that_is_none_or_unregistered_is_told_in_the_page_s_language(
    world: dict[str, Any],
) -> None:
    """/orgs/{code} of a code that is none or not registered said the registry's English (``unified social credit
    code 'X' has 1 characters; expected 18``) on a Chinese page."""
    wrong = ORG[:-1] + ("0" if ORG[-1] != "0" else "1")
    unknown = make_uscc("91110108MA09ABCD1")
    cases = [
        (
            "x",
            400,
            "这不是有效的统一社会信用代码：X 不是 18 位",
            "That is not a valid unified social credit code: X does not have 18 characters",
        ),
        (
            wrong,
            400,
            f"这不是有效的统一社会信用代码：{wrong} 的校验码（最后一位）不对，可能有一位输错了",
            f"That is not a valid unified social credit code: the check character (the last) of {wrong} does not "
            "match; a character may be mistyped",
        ),
        (unknown, 404, f"没有登记的企业 {unknown}", f"no registered organisation {unknown}"),
    ]
    with signed_in(world, "operator") as op:
        for code, status, zh, en in cases:
            for lang, said in (("zh", zh), ("en", en)):
                r = op.get(f"/orgs/{code}", params={"lang": lang})
                text = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r.text)))
                assert (r.status_code, said in text) == (status, True), (code, lang, text[-600:])


def test_a_listing_decisions_no_longer_apply_is_marked_held_on_the_organisations_file(tmp_path: Path) -> None:
    # The courts withdraw J9: decisions leave the organisation off the blacklist at once (the live rescoring), while
    # the register keeps the listing in effect until the next run. The representative read "effective" on its file
    # (JSON, printable, page), as the resident's file now says it: held since the score of a day, and why.
    store = build_org_world(tmp_path)
    courts = issue_key(store, "furnisher", "the courts", source="courts").token
    with serving_org_world(store, tmp_path, TODAY) as world:
        r = world["client"].delete("/v1/records/J9", headers={"Authorization": f"Bearer {courts}"})
        assert r.status_code == 200, r.text
        watermark = r.json()["watermark"]
        world["service"].go_live()
        why = {"en": "the source withdrew record J9", "zh": "来源已撤回记录 J9"}
        for lang in ("en", "zh"):
            file = _get(world, "rep", f"/v1/orgs/{ORG}/file", lang=lang).json()
            assert [(x["status"], x.get("held"), x.get("held_why")) for x in file["listings"]] == [
                ("effective", watermark, why[lang])
            ]
        printable = html.unescape(_get(world, "rep", f"/v1/orgs/{ORG}/file.html", lang="zh").text)
        assert "<td>已生效；自 2026-03-25 的评分以来决定不再适用：来源已撤回记录 J9</td>" in printable
        printable = html.unescape(_get(world, "rep", f"/v1/orgs/{ORG}/file.html", lang="en").text)
        assert f"<td>in effect; not applied by decisions since the score of 2026-03-25: {why['en']}</td>" in printable
        with signed_in(world, "rep") as rep:
            page = html.unescape(rep.get(f"/orgs/{ORG}", params={"lang": "en"}).text)
        assert (
            '<span data-testid="held-listing">not applied by decisions since the score of 2026-03-25: its cause no '
            f"longer holds; the next run closes it: {why['en']}</span>"
        ) in page
