"""The freeze control on the resident's pages, in Chromium at phone and desktop size, and the last step of the
acceptance transcript: the resident freezes the file on the page and a lender is refused with "frozen"; lifted on
the page for that lender, it is granted; another lender is still refused. Without the browser, the same page is
driven over HTTP (forms, CSRF, both languages)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_helpers import auth
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.decisions.decide import run_for_service
from socialcredit.registry.due_process.freeze import freeze_status
from web_helpers import browser, csrf_of, failure_of, rows, shots, sign_in, site

__all__ = ["browser", "shots", "site"]  # fixtures

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
DOCS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def _world(site: dict[str, Any]) -> dict[str, Any]:
    """A resident granted a bank loan by the last Beijing run, their key, and two lenders' keys."""
    if "freeze" in site:
        return dict(site["freeze"])
    granted = rows(
        site,
        "SELECT r.subject_id FROM run_results r JOIN score_runs s USING (run_id) WHERE s.policy_id = 'beijing' "
        "AND r.kind = 'person' AND (r.grants >> 2) & 1 = 1 AND r.subject_id NOT IN (?, ?) "
        "ORDER BY r.subject_id LIMIT 1",
        [site["listed"], site["other"]],
    )[0]["subject_id"]
    service = site["service"]
    with service.writer() as store:
        loan = {"services": ["bank_loan"], "purposes": ["loan"], "known_services": {"bank_loan"}}
        one = issue_key(store, "relying_party", "Bank One", **loan)  # type: ignore[arg-type]
        two = issue_key(store, "relying_party", "Bank Two", **loan)  # type: ignore[arg-type]
        resident = issue_key(store, "resident", "a borrower", subject=granted)
        service.reload_keys(store)
    site["freeze"] = {"subject": granted, "one": one, "two": two, "resident": resident.token}
    return dict(site["freeze"])


def _loan(site: dict[str, Any], lender: Any, subject: str) -> dict[str, Any]:
    body = {"subject_id": subject, "service": "bank_loan", "purpose": "loan"}
    r = httpx.post(site["base"] + "/v1/decisions", json=body, headers=auth(lender.token), timeout=30)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def test_the_freeze_page_over_http_in_both_languages(site: dict[str, Any]) -> None:
    w = _world(site)
    with httpx.Client(base_url=site["base"], timeout=30) as client:
        sign_in(client, w["resident"])
        page = client.get("/me/freeze?lang=en")
        assert page.status_code == 200
        assert "Your file is not frozen." in page.text and 'href="/me/freeze"' in page.text
        forged = client.post("/me/freeze", data={"action": "place", "csrf": "forged"})
        assert forged.status_code == 403
        placed = client.post("/me/freeze", data={"action": "place", "csrf": csrf_of(page.text)})
        assert placed.status_code == 303
        zh = client.get("/me/freeze?lang=zh")
        assert "您的档案自" in zh.text and "起已冻结" in zh.text and "冻结档案 · 本人" in zh.text
        again = client.post("/me/freeze", data={"action": "place", "csrf": csrf_of(zh.text)})
        assert again.status_code == 400 and "档案已处于冻结状态。" in again.text
        refused = _loan(site, w["one"], w["subject"])
        assert (refused["granted"], refused["reasons"][0]["code"]) == (False, "FROZEN")
        # a lift for a party the form does not offer (any text sent) is refused: it was kept, "为 x 解冻"
        made_up = client.post("/me/freeze", data={"action": "lift_party", "party": "x", "csrf": csrf_of(zh.text)})
        assert made_up.status_code == 400 and "请选择机构。" in made_up.text
        assert "为 x 解冻" not in client.get("/me/freeze?lang=zh").text
        bad = client.post("/me/freeze", data={"action": "lift_period", "until": "2001-01-01", "csrf": csrf_of(zh.text)})
        assert bad.status_code == 400 and "截止日期须为今天或以后。" in bad.text
        # a day no month has is named as such, not as a day before today (and not taken: 2026-W50-1 is a week's day)
        for day, said in [
            ("2026-02-30", "The last day &#39;2026-02-30&#39; is not a date: February 2026 has 28 days."),
            ("2026-W50-1", "The last day &#39;2026-W50-1&#39; is not a date: write it year-month-day, as 2026-12-31."),
        ]:
            form = {"action": "lift_period", "until": day, "csrf": csrf_of(zh.text)}
            impossible = client.post("/me/freeze?lang=en", data=form)
            assert impossible.status_code == 400 and said in impossible.text, impossible.text
        zh_said = "截止日期“2026-02-30”不是有效日期：2026年2月只有28天。"
        impossible = client.post("/me/freeze?lang=zh", data={**form, "until": "2026-02-30"})
        assert impossible.status_code == 400 and zh_said in impossible.text
        site["service"].flush_inquiries()  # the refusal's inquiry written now, not at the journal's next flush
        asked = client.get("/me/inquiries?lang=en")
        assert "Freeze and alert history" in asked.text and "file frozen · you" in asked.text
        # the refusal names the policy version it was decided under (that of the run serving loans), and links to
        # its published text
        with site["service"].writer() as store:
            run = run_for_service(store, "bank_loan", None)
        pid, version = run["policy_id"], run["policy_version"]
        # by the policy's name, not its id (it said "依据政策 beijing 2026.2")
        name = {"zh": "北京市社会信用评分", "en": "Beijing social credit score"} if pid == "beijing" else None
        assert name is not None, pid
        link = f'<a href="/policies/{pid}/{version}">under policy {name["en"]} {version}</a>'
        assert link in asked.text
        assert (
            f'<a href="/policies/{pid}/{version}">依据政策 {name["zh"]} {version}</a>'
            in client.get("/me/inquiries?lang=zh").text
        )
        assert client.get(f"/policies/{pid}/{version}").status_code == 200
        for lang, header in (("en", "Policy"), ("zh", "政策")):  # and the printable file says the same, by name
            printable = client.get(f"/me/file.html?lang={lang}").text  # (it said "beijing 2026.2")
            assert f'<th scope="col">{header}</th>' in printable
            assert f'<td data-label="{header}">{name[lang]} {version}</td>' in printable
            assert f"{pid} {version}" not in printable
        lifted = client.post("/me/freeze", data={"action": "lift", "csrf": csrf_of(zh.text)})
        assert lifted.status_code == 303
    assert _loan(site, w["one"], w["subject"])["granted"]


def _freeze(site: dict[str, Any], subject: str) -> dict[str, Any]:
    with site["service"].writer() as store:
        status: dict[str, Any] = freeze_status(store, subject)
        return status


def test_an_action_the_page_does_not_offer_is_named_as_such(site: dict[str, Any]) -> None:
    """A form post with an action none of the page's forms has is a 400 page saying so, with the actions offered,
    in the page's language (it said "Choose a party.") and nothing changes."""
    w = _world(site)
    with httpx.Client(base_url=site["base"], timeout=30) as client:
        sign_in(client, w["resident"])
        csrf = csrf_of(client.get("/me/freeze").text)
        before = _freeze(site, w["subject"])
        en = client.post("/me/freeze?lang=en", data={"action": "explode", "csrf": csrf})
        assert en.status_code == 400
        assert failure_of(en) == (
            "'explode' is not one of this page's actions (Freeze my file now, Lift the freeze, Lift for this party, "
            "Lift for everyone until this day, Place a fraud alert (one year), Remove the fraud alert)."
        )
        # before the date's check too: the action is what is wrong
        zh = client.post("/me/freeze?lang=zh", data={"action": "", "until": "2026-02-30", "csrf": csrf})
        assert zh.status_code == 400
        assert failure_of(zh) == (
            "“”不是本页提供的操作（立即冻结、永久解冻、为此机构解冻、在此日期前对所有机构解冻、设置欺诈警示（一年）、"
            "撤销欺诈警示）。"
        )
        assert _freeze(site, w["subject"]) == before


@pytest.mark.browser
def test_a_police_report_or_a_period_refused_is_said_as_such(site: dict[str, Any]) -> None:
    """A police report's reference with a control character is refused in the page's language, saying what is
    wrong (a refusal of the reference was said "Choose a party."), and a period sent without its last day says
    that the day is missing (it said the day must be today or later); nothing changes."""
    w = _world(site)
    with httpx.Client(base_url=site["base"], timeout=30) as client:
        sign_in(client, w["resident"])
        csrf = csrf_of(client.get("/me/freeze").text)
        before = _freeze(site, w["subject"])
        for lang, said in (
            ("zh", "报案回执编号中有控制字符；请只写一行普通文字。"),
            ("en", "A police report reference has a control character; write one line of plain text."),
        ):
            for report in ("R-7\x1b[2J", "R-\u202e7"):
                r = client.post(
                    f"/me/freeze?lang={lang}", data={"action": "alert", "police_report": report, "csrf": csrf}
                )
                assert (r.status_code, failure_of(r)) == (400, said)
        empty = client.post("/me/freeze?lang=zh", data={"action": "lift_period", "until": "", "csrf": csrf})
        assert (empty.status_code, failure_of(empty)) == (400, "请填写截止日期。")
        assert _freeze(site, w["subject"]) == before


def test_the_resident_freezes_and_a_lender_is_refused_with_frozen(
    site: dict[str, Any], browser: Any, shots: Path
) -> None:
    w = _world(site)
    assert _loan(site, w["one"], w["subject"])["granted"]
    for viewport, name in ((PHONE, "phone"), (DESKTOP, "desktop")):
        context = browser.new_context(viewport=viewport, base_url=site["base"])
        page = context.new_page()
        page.goto("/signin")
        page.get_by_label("API 密钥").fill(w["resident"])
        page.get_by_role("button", name="登录").click()
        page.goto("/me")
        page.get_by_role("link", name="冻结与警示").first.click()
        assert page.locator("h1").inner_text() == "冻结与警示"
        if name == "phone":
            page.get_by_role("button", name="立即冻结").click()
            assert page.locator("#freeze-state").inner_text().startswith("您的档案自")
            refused = _loan(site, w["one"], w["subject"])
            assert (refused["granted"], refused["frozen"], refused["refusal"]) == (
                False,
                True,
                "the resident has frozen their file",
            )
            page.get_by_label("机构").select_option(label="Bank One")
            page.get_by_role("button", name="为此机构解冻").click()
            assert "为 Bank One 解冻" in page.locator("main").inner_text()
            assert _loan(site, w["one"], w["subject"])["granted"]
            other = _loan(site, w["two"], w["subject"])
            assert (other["granted"], other["reasons"][0]["code"]) == (False, "FROZEN")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{name}: the page is {width} px wide"
        page.screenshot(path=str(shots / f"freeze-{name}.png"), full_page=True)
        if os.environ.get("SOCIALCREDIT_SCREENSHOTS") == str(DOCS):
            assert (DOCS / f"freeze-{name}.png").exists()
        context.close()


def test_the_resident_s_read_of_their_freeze_page_is_audited_as_the_api_s(site: dict[str, Any]) -> None:
    # the API audits a resident's own GET /v1/freeze (read_freeze); the page showing the same was not audited
    w = _world(site)
    sql = "SELECT detail FROM audit_log WHERE action = 'read_freeze' AND subject_id = ? ORDER BY seq"
    before = rows(site, sql, [w["subject"]])
    with httpx.Client(base_url=site["base"], timeout=30) as client:
        sign_in(client, w["resident"])
        assert client.get("/me/freeze?lang=en").status_code == 200
        after_page = rows(site, sql, [w["subject"]])
        assert client.get("/me/inquiries?lang=en").status_code == 200  # audits its own read (read_report) only
    after = rows(site, sql, [w["subject"]])
    assert len(after_page) == len(before) + 1 and after == after_page
    assert json.loads(after[-1]["detail"]) == {"purpose": "resident portal: freeze"}
