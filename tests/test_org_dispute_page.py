"""The organisation's dispute on the site: its current legal representative disputes one of the organisation's
records from its file, through the resident's form and the same registry service (``file_dispute``), in both
languages, with the form's bounds and errors; a director, a former representative, a stranger and the representative
of another organisation are refused as on the organisation's file (403 not_representative, audited). Over a real
server on loopback."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_helpers import serving
from org_world import DIRECTOR, FORMER, ORG, OTHER_ORG, REP, STRANGER, build_org_world, serving_org_world
from page_text import visible_text
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.registry.access.parties import issue_key
from web_helpers import DESKTOP, PHONE, browser, browser_sign_in, csrf_of, failure_of, page_width, shots, signed_in

__all__ = ["browser", "shots"]  # fixtures

pytestmark = pytest.mark.slow  # one world, built and scored, and a server

TODAY = "2026-04-01"
FORM_PATH = f"/orgs/{ORG}/disputes"
NOT_REP = {
    "en": f"only the current legal representative of organisation {ORG} may act for it",
    "zh": f"只有企业{ORG}的现任法定代表人可以代表企业查询和办理",
}
ACTING = {
    "en": "You dispute a record of 北京示例科技有限公司 (USCC 91110105MA01ABCD13) as its legal representative; the "
    "dispute keeps your identity number.",
    "zh": "您作为北京示例科技有限公司（统一社会信用代码 91110105MA01ABCD13）的法定代表人，代表企业对其记录提出异议。"
    "异议记录您的身份证号。",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder: Path = tmp_path_factory.mktemp("org_dispute_page")
    store = build_org_world(folder)
    with serving_org_world(store, folder, TODAY) as world:
        yield world


def _post(client: httpx.Client, fields: dict[str, str], lang: str = "en") -> httpx.Response:
    page = client.get(FORM_PATH, params={"lang": lang})
    return client.post(FORM_PATH, params={"lang": lang}, data={"csrf": csrf_of(page.text), **fields})


def _org_disputes(world: dict[str, Any]) -> list[dict[str, Any]]:
    with world["service"].writer() as store:
        return store.rows("SELECT * FROM disputes WHERE subject_id = ? ORDER BY dispute_id", [ORG])


def test_the_file_links_each_record_to_the_dispute_form(world: dict[str, Any]) -> None:
    with signed_in(world, "rep") as rep:
        for lang, words in (("en", "Dispute this"), ("zh", "提出异议")):
            page = rep.get(f"/orgs/{ORG}", params={"lang": lang})
            assert page.status_code == 200
            for source, record in (("courts", "J9"), ("tax_bureau", "X9")):
                href = f"{FORM_PATH}?record={source}%7C{record}#file"
                assert (
                    f'<a href="{href}" data-testid="org-dispute-this">{words}<span class="sr-only"> {record}</span></a>'
                ) in page.text
            # the file no longer sends the representative to the API to file a dispute
            assert "/v1/orgs/" not in page.text
        english = visible_text(rep.get(f"/orgs/{ORG}", params={"lang": "en"}).text)
        chinese = visible_text(rep.get(f"/orgs/{ORG}", params={"lang": "zh"}).text)
    assert "As its legal representative you act for the organisation: dispute a record (the “Dispute this” link" in (
        english
    )
    assert "对企业的记录提出异议（见各记录旁的“提出异议”）" in chinese
    assert "for now" not in english and "目前须通过接口" not in chinese


def test_the_representative_sees_the_form_in_both_languages(world: dict[str, Any]) -> None:
    with signed_in(world, "rep") as rep:
        pages = {lang: rep.get(FORM_PATH, params={"lang": lang, "record": "courts|J9"}) for lang in ("en", "zh")}
    for lang, page in pages.items():
        assert page.status_code == 200
        assert ACTING[lang] in visible_text(page.text)
        assert f'<form method="post" action="{FORM_PATH}">' in page.text
        # the record of the link is chosen; both of the organisation's records may be disputed, no one else's
        assert '<option value="courts|J9" selected>' in page.text
        assert '<option value="tax_bureau|X9">' in page.text
        assert page.text.count("<option ") == 2
    english, chinese = visible_text(pages["en"].text), visible_text(pages["zh"].text)
    assert "Dispute a record" in english and "提出新的异议" in chinese
    # the page speaks of the organisation's disputes, not the representative's own
    assert "The organisation's disputes No record of the organisation has been disputed." in english
    assert "企业的异议 企业还没有异议。" in chinese
    assert "My disputes" not in english and "我的异议" not in chinese


@pytest.mark.parametrize("who", ["director", "former", "stranger"])
def test_anyone_but_the_representative_is_refused(world: dict[str, Any], who: str) -> None:
    with signed_in(world, who) as other, signed_in(world, "rep") as rep:
        token = csrf_of(other.get("/me").text)
        for lang in ("en", "zh"):
            page = other.get(FORM_PATH, params={"lang": lang, "record": "courts|J9"})
            assert page.status_code == 403
            assert NOT_REP[lang] in visible_text(page.text)
            posted = other.post(
                FORM_PATH,
                params={"lang": lang},
                data={"csrf": token, "record": "courts|J9", "reason": "the judgment was paid"},
            )
            assert posted.status_code == 403
            assert NOT_REP[lang] in visible_text(posted.text)
        # the organisation's file refuses them with the same words
        assert NOT_REP["en"] in visible_text(other.get(f"/orgs/{ORG}", params={"lang": "en"}).text)
        assert rep.get(FORM_PATH).status_code == 200
    with world["service"].writer() as store:
        refused = [
            json.loads(str(r[0]))
            for r in store.execute(
                "SELECT detail FROM audit_log WHERE action = 'access_refused' AND actor IN "
                "(SELECT 'key:' || key_id FROM api_keys WHERE subject_id = ?) ORDER BY seq",
                [{"director": DIRECTOR, "former": FORMER, "stranger": STRANGER}[who]],
            ).fetchall()
        ]
    assert [(r["path"], r["code"]) for r in refused if r["path"] == FORM_PATH] == [
        (FORM_PATH, "not_representative")
    ] * 4  # each look and each post, in each language
    assert _org_disputes(world) == []


def test_the_representative_of_another_organisation_is_refused_there(world: dict[str, Any]) -> None:
    """The stranger represents OTHER_ORG; the representative of ORG may not act for it."""
    with signed_in(world, "rep") as rep:
        page = rep.get(f"/orgs/{OTHER_ORG}/disputes", params={"lang": "zh"})
        posted = rep.post(
            f"/orgs/{OTHER_ORG}/disputes",
            data={"csrf": csrf_of(rep.get("/me").text), "record": "courts|J9", "reason": "x"},
        )
    assert page.status_code == 403 and posted.status_code == 403
    # the registry's words, said by the page (the web kept words of its own, "…办理。", until 2026-12-06)
    alert = page.text.index('role="alert">') + len('role="alert">')
    said = html.unescape(page.text[alert : page.text.index("</p>", alert)])
    assert said == f"只有企业{OTHER_ORG}的现任法定代表人可以代表企业查询和办理"  # as the API says it
    with world["service"].writer() as store:
        refused = store.rows(
            "SELECT detail FROM audit_log WHERE action = 'access_refused' AND actor IN "
            "(SELECT 'key:' || key_id FROM api_keys WHERE subject_id = ?)",
            [REP],
        )
    paths = [json.loads(str(r["detail"]))["path"] for r in refused]
    assert paths.count(f"/orgs/{OTHER_ORG}/disputes") == 2
    with world["service"].writer() as store:
        assert store.one("SELECT count(*) FROM disputes WHERE subject_id = ?", [OTHER_ORG]) == 0


def test_the_forms_bounds_and_errors_are_the_residents(world: dict[str, Any]) -> None:
    with signed_in(world, "rep") as rep:
        cases = [  # each refusal in the page's language (disputes_page.dispute_refusal)
            (
                {"record": "courts|J9", "reason": "  "},
                {"en": "Write the reason, in a few words.", "zh": "请写明理由。"},
            ),
            (
                {"record": "courts|J9", "reason": "x" * 4001},
                {"en": "The reason may have at most 4000 characters.", "zh": "理由不得超过4000个字符。"},
            ),
            (
                {"record": "courts|J9", "reason": "paid", "evidence": "y" * 4001},
                {"en": "The evidence may have at most 4000 characters.", "zh": "证据不得超过4000个字符。"},
            ),
            # a record id of spaces (full-width ones too) is no record chosen, said in the page's language
            (
                {"record": "courts|\u3000 ", "reason": "wrong"},
                {"en": "Choose the record to dispute.", "zh": "请选择要提出异议的记录。"},
            ),
            # the representative's own record is not the organisation's
            (
                {"record": "registration_authority|R1", "reason": "wrong"},
                {"en": "The file holds no record R1.", "zh": "档案中没有记录 R1。"},
            ),
        ]
        for fields, words in cases:
            for lang in ("en", "zh"):
                answer = _post(rep, fields, lang)
                assert (answer.status_code, failure_of(answer)) == (400, words[lang])
                # the page keeps what was written and the organisation's line
                assert ACTING[lang] in visible_text(answer.text)
        # a record that does not exist, and a hostile one: a 400 page naming it, never a 500
        for record in ("courts|NOPE", "x" * 5000, "|", "courts|<script>"):
            answer = _post(rep, {"record": record, "reason": "wrong"})
            assert answer.status_code == 400 and "<h1>" in answer.text, record
            assert "<script>" not in answer.text.split('id="failure">')[1].split("</p>")[0]
        # without the form's token: refused as the resident's form is
        forged = rep.post(FORM_PATH, data={"record": "courts|J9", "reason": "paid"})
        assert forged.status_code == 403
    assert _org_disputes(world) == []


def test_the_representative_files_a_dispute_for_the_organisation(world: dict[str, Any]) -> None:
    with signed_in(world, "rep") as rep:
        filed = _post(rep, {"record": "tax_bureau|X9", "reason": "the tax was paid on time", "evidence": "receipt 7"})
        assert filed.status_code == 303, filed.text
        (row,) = _org_disputes(world)
        with world["service"].writer() as store:
            actor = store.one("SELECT 'key:' || key_id FROM api_keys WHERE subject_id = ?", [REP])
            audited = store.rows(
                "SELECT actor, subject_id, detail FROM audit_log WHERE action = 'dispute_filed' AND subject_id = ?",
                [ORG],
            )
        number = row["dispute_id"]
        assert filed.headers["location"] == f"{FORM_PATH}?filed={number}"
        assert (row["source_id"], row["record_id"], row["status"], row["representative_id"]) == (
            "tax_bureau",
            "X9",
            "open",
            REP,
        )
        assert (row["reason"], row["evidence"], row["deadline"].isoformat()) == (
            "the tax was paid on time",
            "receipt 7",
            "2026-05-01",  # 30 days after 2026-04-01: the beijing policy's answer_days
        )
        assert [(a["actor"], json.loads(str(a["detail"]))["representative"]) for a in audited] == [(actor, REP)]
        done = rep.get(filed.headers["location"] + "&lang=en")
        assert f"Dispute {number} is filed." in visible_text(done.text)
        # the record under dispute is no longer offered; the other still is
        assert '<option value="tax_bureau|X9"' not in done.text and '<option value="courts|J9">' in done.text
        # the same record again: the resident's words for it
        again = _post(rep, {"record": "tax_bureau|X9", "reason": "again"})
        assert (again.status_code, failure_of(again)) == (
            400,
            f"Record X9 is already disputed (dispute {number}); add information to that dispute instead.",
        )
        # named in the other width, the record is the one under dispute, and the refusal names that dispute
        wide = _post(rep, {"record": "tax_bureau|Ｘ９", "reason": "again"})
        assert (wide.status_code, failure_of(wide)) == (
            400,
            f"Record X9 is already disputed (dispute {number}); add information to that dispute instead.",
        )
        # the organisation's page offers to add information to it, which returns to the dispute's own page
        listed = rep.get(FORM_PATH)
        assert f'<form method="post" action="/me/disputes/{number}/information">' in listed.text
        added = rep.post(
            f"/me/disputes/{number}/information",
            data={"csrf": csrf_of(listed.text), "text": "the bank's receipt is attached", "from": "dispute"},
        )
        assert (added.status_code, added.headers["location"]) == (303, f"/me/disputes/{number}?informed=1")
        with world["service"].writer() as store:
            info = store.rows("SELECT text, representative_id FROM dispute_information WHERE dispute_id = ?", [number])
        assert info == [{"text": "the bank's receipt is attached", "representative_id": REP}]
        # the representative's own dispute page shows it, as acting for the organisation
        page = rep.get(f"/me/disputes/{number}", params={"lang": "en"})
        assert page.status_code == 200
        text = visible_text(page.text)
        assert f"You act on this dispute as the current legal representative of organisation {ORG}" in text
        assert "the tax was paid on time" in text
        # and the organisation's file lists it with the representative who filed it (masked, as the file masks
        # the persons for the representative), no longer offering to dispute the record again
        file = rep.get(f"/orgs/{ORG}", params={"lang": "en"})
        assert f'<a href="/me/disputes/{number}" data-testid="org-dispute-link">{number}</a>' in file.text
        masked = REP[:6] + "********" + REP[-4:]
        assert f'data-testid="dispute-acting-for"><span class="code">{masked}</span>' in file.text
        assert f"{FORM_PATH}?record=tax_bureau%7CX9#file" not in file.text
        assert f"{FORM_PATH}?record=courts%7CJ9#file" in file.text
        # the representative's own disputes page is theirs alone: the organisation's dispute is not there
        assert f"/me/disputes/{number}" not in rep.get("/me/disputes").text
    assert len(_org_disputes(world)) == 1


# -- in the browser ------------------------------------------------------------------------------------------------


def test_the_organisations_disputes_page_audits_its_reads(world: dict[str, Any]) -> None:
    """The representative's page of the organisation's disputes audits its reads of them and of its repair
    applications (`read_disputes`, `read_repairs`, the organisation as subject), as the resident's own page does
    (after the test above filed one)."""
    with world["service"].writer() as store:
        disputes, repairs = (
            store.one(f"SELECT count(*) FROM {t} WHERE subject_id = ?", [ORG]) for t in ("disputes", "repairs")
        )
    assert disputes > 0
    with signed_in(world, "rep") as rep:
        assert rep.get(FORM_PATH).status_code == 200
    with world["service"].writer() as store:
        audit = store.rows(
            "SELECT action, subject_id, detail FROM audit_log WHERE actor = ? AND action IN ('read_disputes', "
            "'read_repairs') ORDER BY seq DESC LIMIT 2",
            [world["actors"]["rep"]],
        )
    assert [(a["action"], a["subject_id"], json.loads(a["detail"])) for a in reversed(audit)] == [
        ("read_disputes", ORG, {"source_id": None, "status": None, "entries": disputes}),
        ("read_repairs", ORG, {"status": None, "entries": repairs}),
    ]


@pytest.mark.browser
def test_the_representative_disputes_from_the_file_in_the_browser(tmp_path: Path, browser: Any, shots: Path) -> None:
    """On a phone in Chinese for the late tax payment, on a desktop in English for the judgment: from the
    organisation's file, by the record's link, through the form."""
    store = build_org_world(tmp_path)
    key = issue_key(store, "resident", "张三", subject=REP).token
    expected = {
        "zh": ("X9", "异议申请", "异议 1 已提交。", "统一社会信用代码", "税款已按时缴纳。"),
        "en": ("J9", "Disputes", "Dispute 2 is filed.", "(USCC", "The judgment was paid."),
    }
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv(TODAY_ENV, TODAY)
            app = create_app(tmp_path / "orgs.duckdb", store=store)
            with serving(app) as base:
                for viewport, name, lang in ((PHONE, "phone", "zh"), (DESKTOP, "desktop", "en")):
                    record, title, filed, acting, reason = expected[lang]
                    context = browser.new_context(viewport=viewport, base_url=base)
                    page = context.new_page()
                    browser_sign_in(page, key)
                    page.goto(f"/orgs/{ORG}?lang={lang}")
                    page.locator(f'a[data-testid="org-dispute-this"][href*="%7C{record}"]').click()
                    assert page.locator("h1").inner_text() == title
                    assert acting in page.get_by_test_id("dispute-for-org").inner_text()
                    assert page.locator("#record").input_value().endswith(f"|{record}")
                    page.locator("#reason").fill(reason)
                    assert page_width(page) <= viewport["width"]
                    page.screenshot(path=str(shots / f"org-dispute-{name}.png"), full_page=True)
                    page.locator(f'form[action="{FORM_PATH}"] button[type="submit"]').click()
                    assert page.get_by_test_id("dispute-filed").inner_text() == filed
                    assert page_width(page) <= viewport["width"]
                    context.close()
        rows = store.rows(
            "SELECT record_id, reason, representative_id FROM disputes WHERE subject_id = ? ORDER BY dispute_id", [ORG]
        )
    finally:
        store.close()
    assert rows == [
        {"record_id": "X9", "reason": "税款已按时缴纳。", "representative_id": REP},
        {"record_id": "J9", "reason": "The judgment was paid.", "representative_id": REP},
    ]
