"""The organisation's repair application on the site: its current legal representative applies for repair of the
organisation's negative record from its file, through the resident's form and the same registry service, in both
languages, with the form's bounds and errors; a director, a former representative and a stranger are refused as on
the organisation's file (403 not_representative, audited). Over a real server on loopback."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_helpers import serving
from org_world import DIRECTOR, FORMER, ORG, REP, STRANGER, build_org_world, serving_org_world
from page_text import visible_text
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.due_process.repair import report_fulfilment
from web_helpers import DESKTOP, PHONE, browser, browser_sign_in, csrf_of, failure_of, page_width, shots, signed_in

__all__ = ["browser", "shots"]  # fixtures

pytestmark = pytest.mark.slow  # one world, built and scored, and a server

TODAY = "2026-04-01"
X9 = f"/orgs/{ORG}/repair?source=tax_bureau&record=X9"
J9 = f"/orgs/{ORG}/repair?source=courts&record=J9"
NOT_REP = {
    "en": f"only the current legal representative of organisation {ORG} may act for it",
    "zh": f"只有企业{ORG}的现任法定代表人可以代表企业查询和办理",
}
FORM = {"statement": "the tax is settled", "commitment": "we will pay on time", "promise": "yes"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder: Path = tmp_path_factory.mktemp("org_repair_page")
    store = build_org_world(folder)
    # both obligations met: the tax may be repaired at once (minor), the judgment not before 2027-03-21 (serious)
    report_fulfilment(store, "tax_bureau", "X9", fulfilled_on=dt.date(2026, 3, 30), actor="test")
    report_fulfilment(store, "courts", "J9", fulfilled_on=dt.date(2026, 3, 30), actor="test")
    with serving_org_world(store, folder, TODAY) as world:
        yield world


def _post(client: httpx.Client, fields: dict[str, str], lang: str = "en", record: str = "X9") -> httpx.Response:
    page = client.get(f"{X9}&lang={lang}")
    source = "tax_bureau" if record == "X9" else "courts"
    data = {"csrf": csrf_of(page.text), "source": source, "record": record, **fields}
    return client.post(f"/orgs/{ORG}/repair", params={"lang": lang}, data=data)


def test_the_file_links_the_representative_to_the_repair_page(world: dict[str, Any]) -> None:
    with signed_in(world, "rep") as rep:
        for lang, words, api in (("en", "Apply for repair", "/repairs"), ("zh", "申请信用修复", "/repairs")):
            page = rep.get(f"/orgs/{ORG}", params={"lang": lang})
            assert page.status_code == 200
            for path in (X9, J9):  # both negative records; each links to its own page
                link = path.replace("&", "&amp;")
                assert f'<a href="{link}" data-testid="org-repair-link">{words}</a>' in page.text
            # the file no longer sends the representative to the API to apply for repair
            assert f"/v1/orgs/{ORG}{api}" not in page.text
        english = visible_text(rep.get(f"/orgs/{ORG}", params={"lang": "en"}).text)
    assert "apply for the repair of a negative record (the “Apply for repair” link by the record)" in english


def test_the_representative_sees_the_form_in_both_languages(world: dict[str, Any]) -> None:
    with signed_in(world, "rep") as rep:
        en = rep.get(f"{X9}&lang=en")
        zh = rep.get(f"{X9}&lang=zh")
        early = rep.get(f"{J9}&lang=en")
    assert (en.status_code, zh.status_code, early.status_code) == (200, 200, 200)
    assert (
        "You apply for the repair of a record of 北京示例科技有限公司 (USCC 91110105MA01ABCD13) as its legal "
        "representative; the application keeps your identity number."
    ) in visible_text(en.text)
    assert (
        "您作为北京示例科技有限公司（统一社会信用代码 91110105MA01ABCD13）的法定代表人，代表企业申请信用修复。"
        "申请记录您的身份证号。"
    ) in visible_text(zh.text)
    assert f'<form method="post" action="/orgs/{ORG}/repair">' in en.text
    assert "You may apply for credit repair now." in visible_text(en.text)
    # the judgment's shortest publication period has not passed: no form, the resident's words for it
    assert "You cannot apply yet." in visible_text(early.text)
    assert 'action="/orgs/' not in early.text


def test_the_representative_s_reading_of_the_repair_page_is_audited(world: dict[str, Any]) -> None:
    """The page of one of the organisation's records to repair (its details, eligibility, applications) is the
    organisation's case: the representative's reading is audited (`read_for_org`), as their `GET /v1/repairs/{id}`
    is (until 2026-12-05 the page's was not)."""
    with signed_in(world, "rep") as rep:
        assert rep.get(f"{X9}&lang=en").status_code == 200
    with world["service"].writer() as store:
        read = store.rows(
            "SELECT subject_id, detail FROM audit_log WHERE actor = ? AND action = 'read_for_org' "
            "ORDER BY seq DESC LIMIT 1",
            [world["actors"]["rep"]],
        )
    assert [(r["subject_id"], json.loads(r["detail"])) for r in read] == [
        (ORG, {"source_id": "tax_bureau", "record_id": "X9", "as": "representative"})
    ]


def test_the_reading_of_the_repair_page_is_audited_under_the_record_s_id_in_either_width(world: dict[str, Any]) -> None:
    """``Ｘ９`` names the record ``X9``: the page is that record's, and the audit names it as stored."""
    with signed_in(world, "rep") as rep:
        page = rep.get(f"/orgs/{ORG}/repair?source=tax_bureau&record=Ｘ９&lang=en")
        assert page.status_code == 200
        assert "You may apply for credit repair now." in visible_text(page.text)
    with world["service"].writer() as store:
        read = store.rows(
            "SELECT detail FROM audit_log WHERE actor = ? AND action = 'read_for_org' ORDER BY seq DESC LIMIT 1",
            [world["actors"]["rep"]],
        )
    assert [json.loads(r["detail"]) for r in read] == [
        {"source_id": "tax_bureau", "record_id": "X9", "as": "representative"}
    ]


@pytest.mark.parametrize("who", ["director", "former", "stranger"])
def test_anyone_but_the_representative_is_refused(world: dict[str, Any], who: str) -> None:
    with signed_in(world, who) as other, signed_in(world, "rep") as rep:
        token = csrf_of(other.get("/me").text)
        for lang in ("en", "zh"):
            page = other.get(f"{X9}&lang={lang}")
            assert page.status_code == 403
            assert NOT_REP[lang] in visible_text(page.text)
            posted = other.post(
                f"/orgs/{ORG}/repair",
                params={"lang": lang},
                data={"csrf": token, "source": "tax_bureau", "record": "X9", **FORM},
            )
            assert posted.status_code == 403
            assert NOT_REP[lang] in visible_text(posted.text)
        # the organisation's file refuses them with the same words
        assert NOT_REP["en"] in visible_text(other.get(f"/orgs/{ORG}", params={"lang": "en"}).text)
        assert rep.get(X9).status_code == 200
    with world["service"].writer() as store:
        refused = [
            json.loads(str(r[0]))
            for r in store.execute(
                "SELECT detail FROM audit_log WHERE action = 'access_refused' AND actor IN "
                "(SELECT 'key:' || key_id FROM api_keys WHERE subject_id = ?) ORDER BY seq",
                [{"director": DIRECTOR, "former": FORMER, "stranger": STRANGER}[who]],
            ).fetchall()
        ]
    assert {(r["path"], r["code"]) for r in refused} >= {
        (f"/orgs/{ORG}/repair", "not_representative"),
        (f"/orgs/{ORG}", "not_representative"),
    }
    with world["service"].writer() as store:
        assert store.one("SELECT count(*) FROM repairs WHERE subject_id = ?", [ORG]) == 0


def test_the_forms_bounds_and_errors_are_the_residents(world: dict[str, Any]) -> None:
    with signed_in(world, "rep") as rep:
        cases = [
            ({**FORM, "promise": ""}, "en", "X9", "Tick the box to confirm your commitment."),
            ({**FORM, "commitment": "  "}, "zh", "X9", "请写明您的信用承诺。"),
            ({**FORM, "statement": ""}, "en", "X9", "Write your statement."),
            ({**FORM, "statement": "x" * 4001}, "en", "X9", "A text may have at most 4000 characters."),
            ({**FORM, "statement": "x" * 4001}, "zh", "X9", "内容不得超过4000个字符。"),
            (FORM, "en", "J9", "The shortest publication period has not passed yet."),
            (FORM, "zh", "J9", "最短公示期尚未届满，还不能申请。"),
        ]
        for fields, lang, record, words in cases:
            answer = _post(rep, fields, lang, record)
            assert (answer.status_code, failure_of(answer)) == (400, words)
        # another subject's record is not the organisation's: as if it did not exist
        page = rep.get(X9)
        unknown = rep.post(
            f"/orgs/{ORG}/repair", data={"csrf": csrf_of(page.text), "source": "courts", "record": "R1", **FORM}
        )
        assert unknown.status_code == 404
        # without the form's token: refused as the resident's form is
        forged = rep.post(f"/orgs/{ORG}/repair", data={"source": "tax_bureau", "record": "X9", **FORM})
        assert forged.status_code == 403
    with world["service"].writer() as store:
        assert store.one("SELECT count(*) FROM repairs WHERE subject_id = ?", [ORG]) == 0


def test_the_representative_applies_for_the_organisation(world: dict[str, Any]) -> None:
    with signed_in(world, "rep") as rep:
        applied = _post(rep, FORM)
        assert applied.status_code == 303, applied.text
        with world["service"].writer() as store:
            row = store.rows("SELECT * FROM repairs WHERE subject_id = ?", [ORG])[0]
            actor = store.one("SELECT 'key:' || key_id FROM api_keys WHERE subject_id = ?", [REP])
        assert applied.headers["location"] == (
            f"/orgs/{ORG}/repair?source=tax_bureau&record=X9&applied={row['repair_id']}#status"
        )
        assert (row["record_id"], row["status"], row["representative_id"], row["applied_by"]) == (
            "X9",
            "pending",
            REP,
            actor,
        )
        assert (row["statement"], row["commitment"]) == (FORM["statement"], FORM["commitment"])
        status = rep.get(applied.headers["location"].split("#")[0] + "&lang=en")
        assert f"Your credit repair application {row['repair_id']} was received." in visible_text(status.text)
        assert "Answer due by 2026-04-16" in visible_text(status.text)
        # a second application of the same record: the resident's words for it
        again = _post(rep, FORM)
        assert (again.status_code, failure_of(again)) == (400, "This record already has an open application.")
        # the file lists it, linked to its page
        file = rep.get(f"/orgs/{ORG}", params={"lang": "en"})
        link = f"{X9.replace('&', '&amp;')}#status"
        assert f'<a href="{link}" data-testid="org-repair-case">{row["repair_id"]}</a>' in file.text


# -- in the browser ------------------------------------------------------------------------------------------------


@pytest.mark.browser
def test_the_representative_applies_from_the_file_in_the_browser(tmp_path: Path, browser: Any, shots: Path) -> None:
    """On a phone in Chinese for the late tax payment, on a desktop in English for the judgment (a year on, both
    may be repaired): from the organisation's file, by the record's link, through the form."""
    store = build_org_world(tmp_path)
    report_fulfilment(store, "tax_bureau", "X9", fulfilled_on=dt.date(2026, 3, 30), actor="test")
    report_fulfilment(store, "courts", "J9", fulfilled_on=dt.date(2026, 3, 30), actor="test")
    key = issue_key(store, "resident", "张三", subject=REP).token
    expected = {
        "zh": ("X9", "信用修复", "已收到您的信用修复申请 1。", "已提交", "北京示例科技有限公司（统一社会信用代码"),
        "en": ("J9", "Credit repair", "Your credit repair application 2 was received.", "submitted", "(USCC"),
    }
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv(TODAY_ENV, "2027-04-01")
            app = create_app(tmp_path / "orgs.duckdb", store=store)
            with serving(app) as base:
                for viewport, name, lang in ((PHONE, "phone", "zh"), (DESKTOP, "desktop", "en")):
                    record, title, applied, stage, acting = expected[lang]
                    context = browser.new_context(viewport=viewport, base_url=base)
                    page = context.new_page()
                    browser_sign_in(page, key)
                    page.goto(f"/orgs/{ORG}?lang={lang}")
                    page.locator(f'a[data-testid="org-repair-link"][href*="record={record}"]').click()
                    assert page.locator("h1").inner_text() == title
                    assert acting in page.get_by_test_id("repair-for-org").inner_text()
                    page.locator("#statement").fill("税款已于 2026-03-30 补缴。" if lang == "zh" else "Paid in full.")
                    page.locator("#commitment").fill(
                        "企业承诺今后按时纳税。" if lang == "zh" else "We will pay on time."
                    )
                    page.locator("#promise").check()
                    assert page_width(page) <= viewport["width"]
                    page.screenshot(path=str(shots / f"org-repair-{name}.png"), full_page=True)
                    page.locator(f'form[action="/orgs/{ORG}/repair"] button[type="submit"]').click()
                    assert page.get_by_test_id("repair-applied").inner_text() == applied
                    assert page.get_by_test_id("repair-stage").inner_text() == stage
                    assert page_width(page) <= viewport["width"]
                    context.close()
        rows = store.rows("SELECT record_id, representative_id FROM repairs WHERE subject_id = ? ORDER BY 1", [ORG])
    finally:
        store.close()
    assert rows == [{"record_id": "J9", "representative_id": REP}, {"record_id": "X9", "representative_id": REP}]
