"""The web pages in a real browser (Debian's Chromium, driven by Playwright) and over plain HTTP: residents see
only their own file, operators see the city and every look-up is audited, nothing but the public look-up works
without signing in."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from page_text import visible_text
from socialcredit.data import districts
from socialcredit.registry.access.parties import issue_key, revoke_key
from socialcredit.registry.access.signin import issue_link
from socialcredit.registry.decisions.inquiries import who_asked
from socialcredit.registry.scoring.policies import get_policy
from web_helpers import browser, csrf_of, one, page_width, rows, serve, shots, sign_in, signed_in, site

__all__ = ["browser", "shots", "site"]  # the module-scoped fixtures

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def _link(site: dict[str, Any], subject: str) -> str:
    with site["service"].writer() as store:
        return issue_link(store, subject=subject).token


def _new_page(browser: Any, site: dict[str, Any], viewport: dict[str, int] = DESKTOP) -> Any:
    context = browser.new_context(viewport=viewport, base_url=site["base"])
    return context.new_page()


def _sign_in_with_key(page: Any, key: str) -> None:
    page.goto("/signin")
    page.get_by_label("API 密钥").fill(key)
    page.get_by_role("button", name="登录").click()


def _expected_reasons(site: dict[str, Any], policy_id: str, subject: str) -> tuple[int, list[str]]:
    """The score and the principal reasons' texts (Chinese), read from the stored run, not from the pages."""
    run = rows(site, "SELECT max(run_id) AS run_id FROM score_runs WHERE policy_id = ?", [policy_id])[0]["run_id"]
    score = one(site, "SELECT score FROM run_results WHERE run_id = ? AND subject_id = ?", [run, subject])
    rule_ids = [
        r["rule_id"]
        for r in rows(
            site,
            "SELECT rule_id FROM run_reasons WHERE run_id = ? AND subject_id = ? ORDER BY position",
            [run, subject],
        )
    ]
    with site["service"].writer() as store:
        policy = get_policy(store, policy_id).policy
    return int(score), [policy.rule(r).reason.zh for r in rule_ids]


def _small_copy(page: Any, path: Path) -> None:
    """The top of the page, 1000 px wide: scripts/screenshots.py shrinks it into docs/screenshots."""
    size = page.viewport_size
    page.set_viewport_size({"width": 1000, "height": 1200})
    page.screenshot(path=str(path))
    page.set_viewport_size(size)


# -- in the browser -------------------------------------------------------------------------------------------


@pytest.mark.browser
def test_a_resident_signs_in_with_a_one_time_link_and_sees_their_score_and_reasons(
    site: dict[str, Any], browser: Any, shots: Path
) -> None:
    token = _link(site, site["listed"])
    page = _new_page(browser, site)
    page.goto(f"/signin/link?token={token}")
    page.get_by_role("button", name="继续登录").click()
    page.wait_for_url("**/me")
    score, reasons = _expected_reasons(site, "beijing", site["listed"])
    assert page.get_by_test_id("score-beijing").inner_text() == str(score)
    shown = page.locator("#score-beijing").locator("xpath=..").locator("ol.reasons .reason-text").all_inner_texts()
    assert shown == reasons and len(reasons) >= 1
    # scored once: the blacklisting is noticed, in its 60-day grace period, not yet in effect
    with site["service"].writer() as store:
        from socialcredit.registry.due_process.listings import list_listings

        [listing] = [x for x in list_listings(store, subject_id=site["listed"]) if x["policy_id"] == "beijing"]
    card = page.locator("#score-beijing").locator("xpath=..").inner_text()
    assert "告知：以下名单认定尚在宽限期内" in card and f"失信名单：{listing['effective_on']} 起生效" in card
    assert listing["status"] == "pending" and "您在以下名单上" not in card
    assert page.locator("svg.diverging").count() == 2  # one chart of dimensions per policy
    page.screenshot(path=str(shots / "resident-overview.png"), full_page=True)
    _small_copy(page, shots / "portal.png")
    for path, name in (("/me/records", "records"), ("/me/inquiries", "inquiries"), ("/me/consents", "consents")):
        page.goto(path)
        assert page.locator("h1").inner_text() == {"records": "信用记录", "inquiries": "查询记录"}.get(name, "数据授权")
        page.screenshot(path=str(shots / f"resident-{name}.png"), full_page=True)
    # every record of the file is listed with its source and status
    n_records = one(site, "SELECT count(*) FROM records WHERE subject_id = ?", [site["listed"]])
    page.goto("/me/records")
    assert page.locator("table.records tbody tr").count() == n_records
    # the link worked once
    again = _new_page(browser, site)
    again.goto(f"/signin/link?token={token}")
    again.get_by_role("button", name="继续登录").click()
    assert "此登录链接已使用过" in again.locator("#failure").inner_text()
    page.context.close()
    again.context.close()


@pytest.mark.browser
def test_a_resident_files_a_dispute_and_follows_it(site: dict[str, Any], browser: Any, shots: Path) -> None:
    page = _new_page(browser, site)
    _sign_in_with_key(page, site["keys"]["resident"])
    page.goto("/me/records")
    first = page.locator("table.records tbody tr").first
    record_id = first.locator("td").nth(1).locator("small.code").inner_text().split(" ")[0]
    first.get_by_role("link", name="提出异议").click()
    page.wait_for_url("**/me/disputes?record=*")
    assert page.get_by_label("哪一条记录？").input_value().endswith("|" + record_id)  # the record is chosen already
    page.get_by_label("为什么有误？").fill("此罚款已于 3 月 5 日缴清。")
    page.get_by_label("证据（可选）").fill("缴款回执 2026-03-05")
    page.get_by_role("button", name="提交异议").click()
    page.wait_for_url("**/me/disputes?filed=*")
    filed = rows(site, "SELECT * FROM disputes WHERE subject_id = ? ORDER BY dispute_id DESC", [site["listed"]])
    assert len(filed) == 1
    d = filed[0]
    assert (d["record_id"], d["reason"], d["evidence"], d["status"]) == (
        record_id,
        "此罚款已于 3 月 5 日缴清。",
        "缴款回执 2026-03-05",
        "open",
    )
    assert d["filed_by"] == f"key:{site['key_ids']['resident']}"
    assert page.get_by_role("status").inner_text() == f"异议 {d['dispute_id']} 已提交。"
    card = page.get_by_test_id("dispute")
    assert card.count() == 1
    text = card.inner_text()
    assert "处理中" in text and d["deadline"].isoformat() in text and record_id in text
    # adding information to it
    card.get_by_text("补充材料", exact=True).click()
    card.get_by_label("补充说明").fill("附上银行流水。")
    card.get_by_role("button", name="提交补充材料").click()
    page.wait_for_url("**/me/disputes?added=*")
    # information added in the first 30 days moves the deadline from 30 to 45 days after the dispute was opened
    assert d["deadline"] == d["opened_at"] + dt.timedelta(days=30)
    extended = (d["opened_at"] + dt.timedelta(days=45)).isoformat()
    text = page.get_by_test_id("dispute").inner_text()
    assert "附上银行流水。" in text and extended in text
    page.screenshot(path=str(shots / "resident-disputes.png"), full_page=True)
    # the record is marked disputed in the file, and cannot be disputed twice
    page.goto("/me/records")
    row = page.locator("table.records tbody tr", has_text=record_id)
    assert row.locator("span.status").inner_text() == "异议中"
    assert row.get_by_role("link", name="提出异议").count() == 0
    # an operator sees it among the open disputes, with its deadline
    ops = _new_page(browser, site)
    _sign_in_with_key(ops, site["keys"]["operator"])
    ops.goto("/ops/cases")
    row = ops.get_by_test_id("open-disputes").locator("tr", has_text=record_id)
    assert row.inner_text().startswith(extended) and site["listed"] in row.inner_text()
    ops.screenshot(path=str(shots / "operator-cases.png"), full_page=True)
    page.context.close()
    ops.context.close()


@pytest.mark.browser
def test_a_resident_opts_out_of_a_data_category(site: dict[str, Any], browser: Any) -> None:
    page = _new_page(browser, site)
    _sign_in_with_key(page, site["keys"]["other"])
    page.goto("/me/consents")
    section = page.locator("section", has=page.locator("h2", has_text="商业数据"))
    section.get_by_label("不同意").check()
    section.get_by_role("button", name="保存").click()
    assert "已保存您对“商业数据”的选择" in page.get_by_role("status").inner_text()
    latest = rows(
        site,
        "SELECT granted, actor FROM consents WHERE subject_id = ? AND category = 'commercial' "
        "ORDER BY seq DESC LIMIT 1",
        [site["other"]],
    )[0]
    assert latest == {"granted": False, "actor": f"key:{site['key_ids']['other']}"}
    page.context.close()


@pytest.mark.browser
def test_the_language_is_switched_and_remembered(site: dict[str, Any], browser: Any, shots: Path) -> None:
    page = _new_page(browser, site)
    _sign_in_with_key(page, site["keys"]["resident"])
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="My credit").is_visible()
    _, reasons_zh = _expected_reasons(site, "beijing", site["listed"])
    with site["service"].writer() as store:
        policy = get_policy(store, "beijing").policy
    english = {r.reason.zh: r.reason.en for r in policy.rules}
    shown = page.locator("#score-beijing").locator("xpath=..").locator("ol.reasons .reason-text").all_inner_texts()
    assert shown == [english[r] for r in reasons_zh]  # the reasons follow the language too
    page.screenshot(path=str(shots / "resident-overview-en.png"), full_page=True)
    page.goto("/me/records")  # the choice is kept in a cookie
    assert page.locator("h1").inner_text() == "Records"
    page.get_by_role("link", name="中文").click()
    assert page.locator("h1").inner_text() == "信用记录"
    page.context.close()
    # a browser that asks for English (Accept-Language) and has chosen nothing is answered in English
    english_browser = browser.new_context(viewport=DESKTOP, base_url=site["base"], locale="en-US").new_page()
    english_browser.goto("/signin")
    assert english_browser.locator("html").get_attribute("lang") == "en"
    english_browser.context.close()


@pytest.mark.browser
def test_an_operator_sees_the_city_finds_a_subject_and_the_look_up_is_audited(
    site: dict[str, Any], browser: Any, shots: Path
) -> None:
    page = _new_page(browser, site)
    _sign_in_with_key(page, site["keys"]["operator"])
    page.wait_for_url("**/ops")
    run = one(site, "SELECT max(run_id) FROM score_runs WHERE policy_id = 'beijing'")
    scores = [
        r["score"] for r in rows(site, "SELECT score FROM run_results WHERE run_id = ? AND kind = 'person'", [run])
    ]
    # the histogram: each bar's title says its band and count; the counts are those of the stored run
    titles = page.get_by_test_id("histogram").locator("rect.bar title").all_text_contents()
    bands = [tuple(int(x) for x in re.match(r"(\d+)–(\d+): ([\d,]+)", t).groups()[:2]) for t in titles]  # type: ignore[union-attr]
    counts = [int(t.rsplit(": ", 1)[1].replace(",", "")) for t in titles]
    assert counts == [sum(lo <= s <= hi for s in scores) for lo, hi in bands]
    assert sum(counts) == len(scores) == 200
    # the districts, in code order: those where residents of the run live
    living = {r["district"] for r in rows(site, "SELECT DISTINCT district FROM subjects WHERE kind = 'person'")}
    expected = [d["name_zh"] for d in districts() if d["name_zh"] in living]
    assert page.get_by_test_id("districts").locator("text.label").all_text_contents() == expected
    assert len(expected) == 16
    page.screenshot(path=str(shots / "operator-dashboard.png"), full_page=True)
    _small_copy(page, shots / "dashboard.png")
    # find the listed resident by the start of their identity number, and open their file
    page.get_by_role("link", name="查找主体").click()
    page.get_by_label("身份证号、统一社会信用代码或姓名").fill(site["listed"][:12])
    page.get_by_role("button", name="查询").click()
    page.screenshot(path=str(shots / "operator-search.png"), full_page=True)
    page.get_by_role("link", name=site["listed"]).click()
    page.wait_for_url(f"**/ops/subjects/{site['listed']}")
    score, _ = _expected_reasons(site, "beijing", site["listed"])
    assert page.get_by_test_id("score-beijing").inner_text() == str(score)
    page.screenshot(path=str(shots / "operator-subject.png"), full_page=True)
    actor = f"key:{site['key_ids']['operator']}"
    audit = rows(
        site, "SELECT action, subject_id, detail FROM audit_log WHERE actor = ? ORDER BY seq DESC LIMIT 5", [actor]
    )
    assert audit[2]["action"] == "read_report" and audit[2]["subject_id"] == site["listed"]
    assert json.loads(audit[2]["detail"]) == {"purpose": "operator look-up"}
    # then the resident's disputes and listings the page shows (test_the_disputes_and_listings_of_a_subject_...)
    assert [(a["action"], a["subject_id"]) for a in audit[:2]] == [
        ("read_notices", site["listed"]),
        ("read_disputes", site["listed"]),
    ]
    search = next(a for a in audit if a["action"] == "search_subjects")
    assert json.loads(search["detail"]) == {"query": site["listed"][:12], "matches": 1}
    # the policy's rules in plain language
    page.goto("/ops/policies/beijing")
    assert page.locator("h1").inner_text().startswith("北京市社会信用评分")
    assert page.locator("table.rules").first.locator("tr").count() > 1
    page.screenshot(path=str(shots / "operator-policy.png"), full_page=True)
    page.context.close()


@pytest.mark.browser
def test_pages_fit_a_phone_and_work_with_the_keyboard(site: dict[str, Any], browser: Any, shots: Path) -> None:
    more = {
        "resident": ["/me/records", "/me/disputes", "/me/consents", "/me/inquiries"],
        "operator": ["/ops/cases", "/ops/policies/beijing", f"/ops/subjects/{site['listed']}", "/lists"],
    }
    for who, home in (("resident", "/me"), ("operator", "/ops")):
        page = _new_page(browser, site, PHONE)
        _sign_in_with_key(page, site["keys"][who])
        page.wait_for_url(f"**{home}")
        for path in more[who]:  # wide tables scroll inside their own region, never the page
            page.goto(path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{path} scrolls sideways on a phone ({width}px)"
        page.goto(home)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{home} scrolls sideways on a phone ({width}px)"
        page.screenshot(path=str(shots / f"{who}-phone.png"), full_page=True)
        # the first Tab reaches the skip link, which takes the focus to the main content
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "跳到正文"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
        # every visible field has a label
        for field in page.locator("input:not([type=hidden]), select, textarea").all():
            assert field.evaluate("e => e.labels.length > 0 || !!e.getAttribute('aria-label')")
        page.context.close()


@pytest.mark.browser
def test_the_sign_in_and_public_pages_are_screenshotted(site: dict[str, Any], browser: Any, shots: Path) -> None:
    page = _new_page(browser, site)
    page.goto("/ops")  # not signed in: sent to sign in
    page.wait_for_url("**/signin?next=/ops")
    page.screenshot(path=str(shots / "signin.png"), full_page=True)
    page.goto("/lists")
    assert page.locator("h1").inner_text() == "信用名单公示查询"
    page.screenshot(path=str(shots / "public-lists.png"), full_page=True)
    page.context.close()


# -- over plain HTTP ------------------------------------------------------------------------------------------

OPEN = {
    "/",
    "/signin",
    "/signin/link",
    "/signin/new-link",
    "/lists",
    "/static/style.css",
    "/policies",
    "/policies/{policy_id}",
    "/policies/{policy_id}/{version}",
}


def _page_routes(site: dict[str, Any]) -> list[tuple[str, str]]:
    """Every (method, path) the service answers, but the API's: the pages, read from the app's router."""
    out = []
    routes = list(site["app"].routes)
    while routes:
        route = routes.pop(0)
        if hasattr(route, "original_router"):  # an included router
            routes.extend(route.original_router.routes)
            continue
        path = getattr(route, "path", "")
        if path.startswith(("/v1", "/healthz", "/metrics", "/openapi", "/docs", "/redoc")):
            continue
        for method in sorted(getattr(route, "methods", None) or []):
            if method in ("GET", "POST"):
                out.append((method, path))
    return out


def test_no_page_but_the_public_look_up_works_without_a_valid_key(site: dict[str, Any]) -> None:
    routes = _page_routes(site)
    assert ("GET", "/me") in routes and ("GET", "/ops") in routes and len(routes) >= 15
    for cookie in (None, "0123456789abcdef.forged-session-token"):
        cookies = {"sc_session": cookie} if cookie else {}
        with httpx.Client(base_url=site["base"], cookies=cookies) as anonymous:
            for method, path in routes:
                url = path.format(
                    subject_id=site["other"],
                    policy_id="beijing",
                    dispute_id=1,
                    identity_id=1,
                    version="2026.2",
                    evidence_id=1,
                    listing_id=1,
                    repair_id=1,
                )
                r = anonymous.request(method, url, data={"csrf": "x"} if method == "POST" else None)
                if path == "/outbox":  # the demonstration's outbox: no page unless SOCIALCREDIT_OUTBOX_PAGE is on
                    assert r.status_code == 404, (method, path, r.status_code)
                    continue
                if path in OPEN:
                    assert r.status_code in (200, 303, 403), (method, path, r.status_code)  # 403: no CSRF token
                    if path == "/":
                        assert r.headers["location"] == "/signin"
                    continue
                assert r.status_code == 303, (method, path, r.status_code)
                assert r.headers["location"].startswith("/signin"), (method, path)
                assert site["other"] not in r.text


def test_only_resident_and_operator_keys_sign_in(site: dict[str, Any]) -> None:
    with httpx.Client(base_url=site["base"], timeout=30) as client:
        page = client.get("/signin")
        r = client.post("/signin", data={"key": site["keys"]["auditor"], "csrf": csrf_of(page.text)})
        assert r.status_code == 401
        assert "此类密钥没有网页" in r.text
        r = client.post("/signin", data={"key": "sc_000000000000_" + "A" * 43, "csrf": csrf_of(page.text)})
        assert (r.status_code, "密钥无效。" in r.text) == (401, True)
    refused = rows(site, "SELECT detail FROM audit_log WHERE action = 'signin_refused' ORDER BY seq")
    assert [json.loads(r["detail"])["code"] for r in refused][-2:] == ["role_has_no_pages", "key_unknown"]


@pytest.mark.slow
def test_a_resident_never_sees_another_residents_data(site: dict[str, Any]) -> None:
    name_of_other = one(site, "SELECT name FROM subjects WHERE subject_id = ?", [site["other"]])
    with httpx.Client(base_url=site["base"], timeout=30) as client:
        sign_in(client, site["keys"]["resident"])
        for path in (f"/ops/subjects/{site['other']}", "/ops", f"/ops/subjects?q={site['other']}"):
            r = client.get(path)
            assert r.status_code == 403, path
            assert site["other"] not in r.text.replace(path, "") and name_of_other not in r.text
        mine = client.get("/me")
        assert site["listed"] in mine.text and site["other"] not in mine.text
        printable = client.get("/me/file.html")
        assert printable.status_code == 200 and printable.headers["content-security-policy"].startswith("default-src")
        assert site["listed"] in printable.text and site["other"] not in printable.text
        download = client.get("/me/file")
        assert download.headers["content-disposition"] == f'attachment; filename="socialcredit-{site["listed"]}.json"'
        assert download.json()["subject"]["subject_id"] == site["listed"]
        # there is no way to name another subject: the portal's pages take no subject
        asked = client.get(f"/me?subject_id={site['other']}").text
        assert name_of_other not in asked and f'<span class="code">{site["listed"]}</span>' in asked
    refusal = rows(
        site,
        "SELECT detail FROM audit_log WHERE action = 'access_refused' AND actor = ? ORDER BY seq DESC LIMIT 1",
        [f"key:{site['key_ids']['resident']}"],
    )[0]
    assert json.loads(refusal["detail"]) == {"code": "role_not_allowed", "path": "/ops/subjects", "role": "resident"}


def test_the_residents_consents_and_notifications_pages_are_audited(site: dict[str, Any]) -> None:
    """/me shows the resident's notifications and /me/consents their consent history: each read is audited
    (`read_notifications`, `read_consents`: how many entries), as the API's `GET /v1/consents` and the command line's
    reads are (until 2026-12-05 the pages' were not)."""
    actor, listed = f"key:{site['key_ids']['resident']}", site["listed"]
    told = one(site, "SELECT count(*) FROM notifications WHERE subject_id = ?", [listed])
    chosen = one(site, "SELECT count(*) FROM consents WHERE subject_id = ?", [listed])
    assert told > 0  # the blacklist's notice at least
    with signed_in(site, "resident") as client:
        for path in ("/me", "/me/consents"):
            assert client.get(path).status_code == 200, path
    audit = rows(
        site,
        "SELECT action, subject_id, detail FROM audit_log WHERE actor = ? "
        "AND action IN ('read_notifications', 'read_consents') ORDER BY seq DESC LIMIT 2",
        [actor],
    )
    assert [(a["action"], a["subject_id"], json.loads(a["detail"])) for a in reversed(audit)] == [
        ("read_notifications", listed, {"entries": told}),
        ("read_consents", listed, {"entries": chosen}),
    ]


def test_the_residents_overview_audits_its_read_of_their_listings(site: dict[str, Any]) -> None:
    """/me shows the resident's listings (in grace and in effect, with their notices): the read is audited once
    (`read_notices`, how many it named), as the API's `GET /v1/notices` of one's own is (until 2026-12-05 the
    page read them twice and audited neither)."""
    actor, listed = f"key:{site['key_ids']['resident']}", site["listed"]
    listings = one(site, "SELECT count(*) FROM listings WHERE subject_id = ?", [listed])
    assert listings > 0  # on the blacklist
    with signed_in(site, "resident") as client:
        assert client.get("/me").status_code == 200
    audit = rows(
        site,
        "SELECT action, subject_id, detail FROM audit_log WHERE actor = ? AND action = 'read_notices' "
        "AND seq > (SELECT max(seq) FROM audit_log WHERE actor = ? AND action = 'signin')",
        [actor, actor],
    )
    assert [(a["subject_id"], json.loads(a["detail"])) for a in audit] == [
        (listed, {"policy_id": None, "status": None, "entries": listings})
    ]


def test_the_operators_case_pages_are_audited(site: dict[str, Any]) -> None:
    """/ops/cases lists the open disputes, the listings in grace, the pending repair applications, the identities of
    other regions waiting for review, the regions' alerts and the open disputes of links, and /ops/repairs every
    application: each names residents, and each read is audited as the API's or the command line's read of it is
    (`read_disputes`, `read_notices`, `read_repairs`, `read_review_queue`, `read_region_alerts`,
    `read_link_disputes`: the filters, how many it named; until 2026-12-05 the pages' were not)."""
    actor = f"key:{site['key_ids']['operator']}"
    counts = {
        sql: one(site, f"SELECT count(*) FROM {sql}")
        for sql in (
            "disputes WHERE status = 'open'",
            "listings WHERE status = 'pending'",
            "repairs WHERE status = 'pending'",
            "region_identities WHERE status = 'review'",
            "region_alerts WHERE acknowledged_at IS NULL",
            "link_disputes WHERE status = 'open'",
            "repairs",
        )
    }
    assert counts["listings WHERE status = 'pending'"] > 0  # the blacklist's grace
    with signed_in(site, "operator") as ops:
        for path in ("/ops/cases", "/ops/repairs"):
            assert ops.get(path).status_code == 200, path
    audit = rows(
        site,
        "SELECT action, subject_id, detail FROM audit_log WHERE actor = ? "
        "AND action IN ('read_disputes', 'read_notices', 'read_repairs', 'read_review_queue', 'read_region_alerts', "
        "'read_link_disputes') ORDER BY seq DESC LIMIT 7",
        [actor],
    )
    n = list(counts.values())
    assert [(a["action"], a["subject_id"], json.loads(a["detail"])) for a in reversed(audit)] == [
        ("read_disputes", None, {"source_id": None, "status": "open", "entries": n[0]}),
        ("read_notices", None, {"policy_id": None, "status": "pending", "entries": n[1]}),
        ("read_repairs", None, {"status": "pending", "entries": n[2]}),
        ("read_review_queue", None, {"entries": n[3]}),
        ("read_region_alerts", None, {"acknowledged": False, "entries": n[4]}),
        ("read_link_disputes", None, {"status": "open", "entries": n[5]}),
        ("read_repairs", None, {"status": None, "entries": n[6]}),
    ]


def test_the_disputes_and_listings_of_a_subject_s_file_are_audited_and_the_look_up_shown_once(
    site: dict[str, Any],
) -> None:
    """/ops/subjects/{id} shows the resident's disputes and listings beside their file: both reads are audited
    (`read_disputes`, `read_notices`, the resident as subject, the purpose of the look-up; until 2026-12-05 they were
    not), and the resident's list of who asked shows the look-up once, as the file's read (`read_report`)."""
    subject = site["other"]
    actor = f"key:{site['key_ids']['operator']}"
    disputes = one(site, "SELECT count(*) FROM disputes WHERE subject_id = ?", [subject])
    listings = one(site, "SELECT count(*) FROM listings WHERE subject_id = ?", [subject])
    with signed_in(site, "other") as client:
        before = client.get("/me/inquiries", params={"lang": "en"}).text.count("an operator (registry operations)")
    with signed_in(site, "operator") as ops:
        assert ops.get(f"/ops/subjects/{subject}").status_code == 200
    audit = rows(
        site, "SELECT action, subject_id, detail FROM audit_log WHERE actor = ? ORDER BY seq DESC LIMIT 3", [actor]
    )
    assert [(a["action"], a["subject_id"], json.loads(a["detail"])) for a in reversed(audit)] == [
        ("read_report", subject, {"purpose": "operator look-up"}),
        (
            "read_disputes",
            subject,
            {"source_id": None, "status": None, "entries": disputes, "purpose": "operator look-up"},
        ),
        (
            "read_notices",
            subject,
            {"policy_id": None, "status": None, "entries": listings, "purpose": "operator look-up"},
        ),
    ]
    with signed_in(site, "other") as client:
        after = client.get("/me/inquiries", params={"lang": "en"}).text.count("an operator (registry operations)")
    assert after == before + 1


def test_the_residents_disputes_page_audits_its_disputes_and_repairs(site: dict[str, Any]) -> None:
    """/me/disputes shows the resident's disputes and repair applications: both reads are audited (`read_disputes`,
    `read_repairs`: how many it named), as the API's `GET /v1/disputes` and `GET /v1/repairs` are (until 2026-12-05
    the page audited its file's read alone)."""
    actor, subject = f"key:{site['key_ids']['other']}", site["other"]
    disputes = one(site, "SELECT count(*) FROM disputes WHERE subject_id = ?", [subject])
    repairs = one(site, "SELECT count(*) FROM repairs WHERE subject_id = ?", [subject])
    with signed_in(site, "other") as client:
        assert client.get("/me/disputes").status_code == 200
    audit = rows(
        site, "SELECT action, subject_id, detail FROM audit_log WHERE actor = ? ORDER BY seq DESC LIMIT 3", [actor]
    )
    assert [(a["action"], a["subject_id"], json.loads(a["detail"])) for a in reversed(audit)] == [
        ("read_disputes", subject, {"source_id": None, "status": None, "entries": disputes}),
        ("read_report", subject, {"purpose": "disputes"}),
        ("read_repairs", subject, {"status": None, "entries": repairs}),
    ]


def test_a_form_without_its_csrf_token_is_refused(site: dict[str, Any]) -> None:
    with httpx.Client(base_url=site["base"], timeout=30) as client:
        sign_in(client, site["keys"]["other"])
        before = one(site, "SELECT count(*) FROM consents WHERE subject_id = ?", [site["other"]])
        r = client.post("/me/consents", data={"category": "commercial", "granted": "yes"})
        assert r.status_code == 403 and "表单已过期或来自其他网站" in r.text
        for forged in ("forged", "伪造的令牌"):
            r = client.post("/me/consents", data={"category": "commercial", "granted": "yes", "csrf": forged})
            assert r.status_code == 403
        assert one(site, "SELECT count(*) FROM consents WHERE subject_id = ?", [site["other"]]) == before
        token = csrf_of(client.get("/me/consents").text)
        r = client.post("/me/consents", data={"category": "commercial", "granted": "yes", "csrf": token})
        assert (r.status_code, r.headers["location"]) == (303, "/me/consents?saved=commercial")
        # an unknown category in the page's language, naming the categories by their names (it said the registry's
        # "unknown data category 'nonsense'; known: government, commercial" on a Chinese page)
        r = client.post("/me/consents", data={"category": "nonsense", "granted": "yes", "csrf": token})
        said = "没有数据类别 'nonsense'；可选择的类别：政务数据、商业数据。"
        assert r.status_code == 400 and said in html.unescape(r.text)
        r = client.post("/me/consents?lang=en", data={"category": "nonsense", "granted": "yes", "csrf": token})
        said = "There is no data category 'nonsense'; the categories are: government records, commercial platform data."
        assert r.status_code == 400 and said in html.unescape(r.text)
        assert one(site, "SELECT count(*) FROM consents WHERE subject_id = ?", [site["other"]]) == before + 1


def test_signing_out_or_revoking_the_key_ends_the_session(site: dict[str, Any]) -> None:
    with site["service"].writer() as store:
        temp = issue_key(store, "operator", "a temporary operator")
    for end in ("sign out", "revoke"):
        with httpx.Client(base_url=site["base"], timeout=30) as client:
            signed = sign_in(client, temp.token if end == "revoke" else site["keys"]["operator"])
            cookie = signed.headers["set-cookie"]
            assert cookie.startswith("sc_session=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
            assert client.get("/ops").status_code == 200
            session = client.cookies["sc_session"]
            if end == "sign out":
                r = client.post("/signout", data={"csrf": csrf_of(client.get("/ops").text)})
                assert (r.status_code, r.headers["location"]) == (303, "/signin")
            else:
                with site["service"].writer() as store:
                    revoke_key(store, temp.party.key_id)
            client.cookies.set("sc_session", session)  # the old cookie, kept by a careless browser
            r = client.get("/ops")
            assert (r.status_code, r.headers["location"]) == (303, "/signin?next=/ops")


@pytest.mark.slow
def test_a_resident_cannot_dispute_or_follow_up_another_residents_records(site: dict[str, Any]) -> None:
    theirs = rows(site, "SELECT source_id, record_id FROM records WHERE subject_id = ? LIMIT 1", [site["listed"]])[0]
    with site["service"].writer() as store:
        from socialcredit.registry.due_process.disputes import file_dispute

        dispute = file_dispute(store, site["listed"], theirs["source_id"], theirs["record_id"], "wrong", actor="t")
    before = one(site, "SELECT count(*) FROM disputes")
    with httpx.Client(base_url=site["base"], timeout=30) as client:
        sign_in(client, site["keys"]["other"])
        token = csrf_of(client.get("/me/disputes").text)
        record = f"{theirs['source_id']}|{theirs['record_id']}"
        r = client.post("/me/disputes", data={"record": record, "reason": "not mine", "csrf": token})
        assert r.status_code == 400
        assert f"档案中没有记录 {theirs['record_id']}。" in html.unescape(r.text)  # in the page's language
        r = client.post(f"/me/disputes/{dispute['dispute_id']}/information", data={"text": "x", "csrf": token})
        assert r.status_code == 404 and f"没有异议 &#39;{dispute['dispute_id']}&#39;" in r.text
        assert client.get("/me/disputes").text.count(theirs["record_id"]) == 0
    assert one(site, "SELECT count(*) FROM disputes") == before
    assert one(site, "SELECT count(*) FROM dispute_information WHERE dispute_id = ?", [dispute["dispute_id"]]) == 0


def test_the_public_look_up_is_rate_limited_per_client(site: dict[str, Any]) -> None:
    from fastapi import FastAPI

    from socialcredit.web import web_router

    app = FastAPI()
    app.include_router(web_router(site["service"], lookup_limit=2, lookup_window=60.0))
    with serve(app) as base, httpx.Client(base_url=base) as client:
        assert [client.get("/lists", params={"q": "张伟"}).status_code for _ in range(2)] == [200, 200]
        refused = client.get("/lists", params={"q": "张伟"})
        assert refused.status_code == 429 and 55 <= int(refused.headers["retry-after"]) <= 60
        assert "查询过于频繁" in refused.text
        assert client.get("/lists").status_code == 200  # the form itself is not counted


def test_what_does_not_exist_is_a_plain_404_page(site: dict[str, Any]) -> None:
    """In the page's language (a Chinese page said what it did not find in English)."""
    with httpx.Client(base_url=site["base"], timeout=30) as client:
        sign_in(client, site["keys"]["operator"])
        for path, message, words in (
            (
                "/ops/subjects/110101199001011237",
                "no registered subject '110101199001011237'",
                "没有登记的主体 '110101199001011237'",
            ),
            # quoted as compacted, as every face looks an identifier up (upper case), and escaped
            ("/ops/subjects/%3Cscript%3E", "no registered subject '<SCRIPT>'", "没有登记的主体 '<SCRIPT>'"),
            ("/ops/policies/nonesuch", "no published policy 'nonesuch'", "没有已发布的政策 'nonesuch'"),
            ("/ops/repairs/x", "no repair application 'x'", "没有信用修复申请 'x'"),
        ):
            for lang, said, title in (("en", message, "Not found"), ("zh", words, "未找到")):
                r = client.get(path, params={"lang": lang})
                assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
                assert said in html.unescape(r.text) and "<script>" not in r.text.lower(), (path, lang)
                assert f"<h1>{title}</h1>" in r.text
            assert message not in html.unescape(r.text)
        # so do the operator's forms on an application that does not exist (they said "no repair application -1")
        token = csrf_of(client.get("/ops/cases").text)
        for path, form in (
            ("/ops/repairs/x/review", {}),
            ("/ops/repairs/x/decision", {"outcome": "grant", "reason": "paid"}),
        ):
            r = client.post(path, params={"lang": "zh"}, data={**form, "csrf": token})
            assert r.status_code == 404 and "没有信用修复申请 'x'" in html.unescape(r.text), path


def test_an_operator_s_subject_of_spaces_only_is_refused_in_the_page_s_language(site: dict[str, Any]) -> None:
    """An identifier of spaces (full-width ones too) is refused as empty (an IdentifierError, not a NotFoundError):
    the page showed its English message on the Chinese page too."""
    words = {
        "en": "the subject's identifier is empty once its spaces are removed (full-width ones too): give an identity "
        "number or a unified social credit code",
        "zh": "主体证件号码去掉空格（含全角空格）后为空：请填写身份证号码或统一社会信用代码",
    }
    with httpx.Client(base_url=site["base"], timeout=30) as client:
        sign_in(client, site["keys"]["operator"])
        for lang, other in (("en", "zh"), ("zh", "en")):
            r = client.get("/ops/subjects/%E3%80%80%20", params={"lang": lang})
            assert r.status_code == 400 and r.headers["content-type"].startswith("text/html")
            said = html.unescape(r.text)
            assert words[lang] in said and words[other] not in said, lang


def test_what_a_resident_s_page_does_not_find_is_said_in_the_page_s_language(site: dict[str, Any]) -> None:
    """A missing listing or record, or a record that is no negative one, was said in English on a Chinese page (and
    a listing ``x`` was quoted as ``-1``)."""
    plain = rows(
        site,
        "SELECT source_id, record_id FROM records WHERE subject_id = ? AND record_type = 'utility_payment' LIMIT 1",
        [site["listed"]],
    )[0]
    positive = {"source": plain["source_id"], "record": plain["record_id"]}
    quoted = repr(plain["record_id"])
    with signed_in(site, "resident") as client:
        for path, params, zh, en in (
            ("/me/listings/x", {}, "您的档案中没有名单条目 'x'", "no listing 'x' in your file"),
            ("/me/listings/99999", {}, "您的档案中没有名单条目 '99999'", "no listing '99999' in your file"),
            (
                "/me/records/detail",
                {"source": "courts", "record": "NOPE"},
                "您的档案中没有记录 'NOPE'",
                "no record 'NOPE' in your file",
            ),
            (
                "/me/repair",
                {"source": "courts", "record": "NOPE"},
                "您的档案中没有记录 'NOPE'",
                "no record 'NOPE' in your file",
            ),
            (
                "/me/records/detail",
                positive,
                f"记录 {quoted} 不是有失信等级的不良记录",
                f"record {quoted} is not a negative record with a severity class",
            ),
            (
                "/me/repair",
                positive,
                f"记录 {quoted} 不是有失信等级的不良记录",
                f"record {quoted} is not a negative record with a severity class",
            ),
        ):
            for lang, said in (("zh", zh), ("en", en)):
                r = client.get(path, params={**params, "lang": lang})
                assert r.status_code == 404 and said in html.unescape(r.text), (path, params, lang)


@pytest.mark.browser
def test_the_public_look_up_shows_a_listing_only_while_it_is_in_effect(
    tmp_path: Path, browser: Any, shots: Path
) -> None:
    """张三 (due_world's A, an unfulfilled judgment): noticed on 2026-02-01, listed from 2026-04-02 after 60 days of
    grace, repaired on 2027-04-03. Only in between does the public look-up show him, his number masked."""
    from due_world import A, build, score_on_its_day
    from socialcredit.api.app import create_app
    from socialcredit.registry.due_process import repair
    from socialcredit.registry.scoring.policies import resolve_policy

    store = build(tmp_path)
    app = create_app(tmp_path / "due.duckdb", store=store)
    service = app.state.service
    day = dt.date

    def run(as_of: dt.date) -> None:
        with service.writer() as s:
            score_on_its_day(s, resolve_policy(s, "beijing"), as_of)

    with serve(app) as base:
        page = browser.new_page(base_url=base)

        def search(query: str) -> list[list[str]]:
            page.goto("/lists")
            page.get_by_label("姓名、身份证号或统一社会信用代码").fill(query)
            with page.expect_navigation():  # read the answer's table, not the page the search left
                page.get_by_role("button", name="查询").click()
            table = page.get_by_test_id("public-results")
            return [r.locator("td").all_inner_texts() for r in table.locator("tr").all()[1:]]

        run(day(2026, 2, 1))  # the notice: listed from 2026-04-02 unless the cause goes away
        assert search("张三") == [["没有公示的记录。"]] and search(A) == [["没有公示的记录。"]]
        run(day(2026, 4, 1))  # still in the grace period
        assert search("张三") == [["没有公示的记录。"]]
        run(day(2026, 4, 2))
        with service.writer() as s:
            policy = get_policy(s, "beijing").policy
        blacklist = policy.list_spec("blacklist")
        cause = policy.criterion("blacklist", "judgment_defaulter").reason.zh
        # every cell: only the masked number is published; the cause with its authority, case, amount and date
        details = ["人民法院", "J1", "12,000", "2026-01-10", ""]
        shown = [["张三", "110105********011X", blacklist.name.zh, cause, "2026-04-02", *details]]
        assert search("张三") == shown and search(A) == shown
        page.screenshot(path=str(shots / "public-lists-found.png"), full_page=True)
        with service.writer() as s:
            repair.report_fulfilment(
                s, "courts", "J1", fulfilled_on=day(2026, 5, 1), actor="courts", today=day(2026, 5, 1)
            )
            applied = repair.apply_for_repair(s, A, "courts", "J1", "已全部履行", "resident", today=day(2027, 4, 2))
            operator = issue_key(s, "operator", "ops").token
        # the application waits among the operator's cases
        with httpx.Client(base_url=base) as client:
            sign_in(client, operator)
            cases = client.get("/ops/cases").text
            table = re.search(r'<table[^>]* data-testid="pending-repairs">.*?</table>', cases, re.S)
            assert table is not None
            cells = [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", table.group(0), re.S)]
            rid = applied["repair_id"]
            assert cells[:2] == ["<strong>2027-04-02</strong>", f'<a href="/ops/repairs/{rid}">{rid}</a>']
            assert cells[-3:] == ["严重", "2027-04-02", "已全部履行"]
        with service.writer() as s:
            repair.decide_repair(
                s, applied["repair_id"], "approved", "法院确认已履行。", "operator", today=day(2027, 4, 3)
            )
        assert search("张三") == [["没有公示的记录。"]]  # gone the day it is repaired
        page.close()
    store.close()


# -- any input: a page or a plain refusal, never a server error ------------------------------------------------

_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80)
# What is tested is the answer, not its speed: on a busy machine (the CI's two processes) httpx's 5 s default ran out
_PATIENT = httpx.Timeout(60.0)


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=_TEXT, record=_TEXT, reason=_TEXT, target=_TEXT)
def test_any_input_gets_a_page_or_a_plain_refusal(
    site: dict[str, Any], query: str, record: str, reason: str, target: str
) -> None:
    with httpx.Client(base_url=site["base"], timeout=_PATIENT) as client:
        page = client.get("/signin")
        r = client.post("/signin", data={"key": site["keys"]["operator"], "csrf": csrf_of(page.text), "next": target})
        location = r.headers["location"]
        assert r.status_code == 303 and location.startswith("/") and not location.startswith("//")
        assert client.get("/ops/subjects", params={"q": query}).status_code == 200
        assert client.get("/lists", params={"q": query}).status_code in (200, 400, 429)
    with httpx.Client(base_url=site["base"], timeout=_PATIENT) as client:
        sign_in(client, site["keys"]["other"])
        token = csrf_of(client.get("/me/consents").text)
        r = client.post("/me/disputes", data={"record": record, "reason": reason, "csrf": token})
        assert r.status_code == 400 and "<h1>" in r.text  # no record of theirs is named like that
        r = client.post("/me/consents", data={"category": query, "granted": "yes", "csrf": token})
        assert r.status_code in (303, 400)


@pytest.mark.parametrize("number", ["²", "١", "99999999999999999999", "-1"])
def test_a_number_in_a_page_s_address_that_is_no_whole_number_is_not_found(site: dict[str, Any], number: str) -> None:
    """``str.isdigit`` takes ² (and ١), ``int`` refuses ²: the page answered 500; now every such number is a 404."""
    with signed_in(site, "resident") as client:
        for path, said in (
            (f"/me/disputes/{number}", f"没有异议 {number!r}"),  # quoting the address, not "异议 -1"
            (f"/me/listings/{number}", f"您的档案中没有名单条目 {number!r}"),
        ):
            r = client.get(path, params={"lang": "zh"})
            assert r.status_code == 404 and said in html.unescape(r.text), (path, r.status_code)


class _HeldJournal:
    """The service's inquiry journal with nothing pending as its background flusher sees it, so the flusher leaves
    it alone (as when the writer is busy: it gives up after ``flush_interval``); everything else is the journal's."""

    def __init__(self, journal: Any) -> None:
        self._journal = journal

    @property
    def pending(self) -> int:
        return 0 if threading.current_thread().name == "inquiry-flusher" else int(self._journal.pending)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._journal, name)


def test_a_decision_is_in_who_asked_at_once_not_after_the_journal_is_flushed(
    site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API's file flushed the journal before reading; the pages read only the store: a resident who refreshed
    right after a decision (or an operator reading the file) did not see it until the background flush."""
    service = site["service"]
    with service.writer() as store:
        loan = {"services": ["bank_loan"], "purposes": ["loan"], "known_services": {"bank_loan"}}
        lender = issue_key(store, "relying_party", "Bank of Refreshes", **loan)  # type: ignore[arg-type]
        service.reload_keys(store)
    service.flush_inquiries()
    monkeypatch.setattr(service, "journal", _HeldJournal(service.journal))
    body = {"subject_id": site["listed"], "service": "bank_loan", "purpose": "loan"}
    r = site["client"].post("/v1/decisions", json=body, headers={"Authorization": f"Bearer {lender.token}"})
    assert r.status_code == 200, r.text
    asked = "SELECT count(*) FROM inquiries WHERE requester = ?"
    assert one(site, asked, [f"key:{lender.party.key_id}"]) == 0  # still in the journal
    with signed_in(site, "resident") as client:
        page = client.get("/me/inquiries", params={"lang": "en"})
        assert page.status_code == 200 and "Bank of Refreshes" in page.text
        # the service and the policy by the names the policy gives them, in the page's language (the page reads no
        # scores: it said the service's code, "bank loan" on a Chinese page, and the policy's id, "beijing")
        row = '<td data-label="{}">{}</td><td data-label="{}">{}</td>'
        assert row.format("Service", "bank loan", "Purpose", "a loan") in page.text
        assert "under policy Beijing social credit score 2026.2</a>" in page.text
        page = client.get("/me/inquiries", params={"lang": "zh"})
        assert row.format("服务", "银行贷款", "目的", "贷款审批") in page.text
        assert "依据政策 北京市社会信用评分 2026.2</a>" in page.text and "依据政策 beijing" not in page.text
    with signed_in(site, "operator") as client:
        page = client.get(f"/ops/subjects/{site['listed']}", params={"lang": "en"})
        assert page.status_code == 200 and "Bank of Refreshes" in page.text


def test_a_journal_that_cannot_be_flushed_does_not_fail_the_page(
    site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page flushes the journal only when it holds inquiries, and a flush that fails (a sealed segment without its
    key) is logged: the page shows the store's inquiries, as before pages flushed, not an error."""
    service = site["service"]

    class Failing(_HeldJournal):
        @property
        def pending(self) -> int:
            return 1

        def flush(self, store: Any) -> int:
            raise RuntimeError("a sealed segment without its key")

    monkeypatch.setattr(service, "journal", Failing(service.journal))
    with signed_in(site, "resident") as client:
        page = client.get("/me/inquiries", params={"lang": "en"})
    assert page.status_code == 200


def test_a_confirmation_is_shown_only_of_the_reader_s_own_case(site: dict[str, Any]) -> None:
    """The banners after a form (``?filed=``, ``?added=``, ``?saved=``, ``?contested=``, the furnisher's
    ``?answered=``) quoted any text sent: a
    link could make a resident's page say "异议 请致电 010-12345678 撤销失信 已提交" in the site's own green box."""
    from socialcredit.registry.access.parties import issue_key
    from socialcredit.registry.due_process.disputes import answer_dispute, file_dispute

    lie = "请致电 010-12345678 撤销失信"
    # two records of one source that no dispute names (the site is shared by the module's tests)
    first, second = rows(
        site,
        "SELECT source_id, record_id FROM records r WHERE subject_id = ? AND NOT EXISTS ("
        "  SELECT 1 FROM disputes d WHERE d.source_id = r.source_id AND d.record_id = r.record_id) AND source_id = ("
        "  SELECT source_id FROM records WHERE subject_id = ? GROUP BY 1 HAVING count(*) > 3 LIMIT 1) "
        "ORDER BY record_id DESC LIMIT 2",
        [site["other"], site["other"]],
    )
    with site["service"].writer() as store:
        filed_one = file_dispute(store, site["other"], first["source_id"], first["record_id"], "not mine", "", "t")
        answered_one = file_dispute(store, site["other"], second["source_id"], second["record_id"], "nor", "", "t")
        answer_dispute(store, int(answered_one["dispute_id"]), "verified", "checked", "t")
        furnisher = issue_key(store, "furnisher", "the record's source", source=first["source_id"]).token
    with httpx.Client(base_url=str(site["client"].base_url), timeout=30) as client:
        sign_in(client, furnisher)
        for sent in (lie, str(filed_one["dispute_id"])):  # any text, or a dispute of theirs not answered
            r = client.get("/furnisher", params={"answered": sent, "lang": "zh"})
            assert r.status_code == 200 and 'role="status"' not in r.text, sent
        r = client.get("/furnisher", params={"answered": answered_one["dispute_id"], "lang": "en"})
        assert '<p class="notice ok" role="status">' in r.text
    with signed_in(site, "other") as client:
        for path, params in (
            ("/me/disputes", {"filed": lie}),
            ("/me/disputes", {"added": lie}),
            ("/me/disputes", {"filed": "99999"}),  # a number, not one of theirs
            ("/me/consents", {"saved": lie}),
            ("/me/records", {"contested": lie}),
        ):
            r = client.get(path, params={**params, "lang": "zh"})
            assert r.status_code == 200 and 'role="status"' not in r.text, (path, params)
            assert lie not in visible_text(r.text) and "99999" not in visible_text(r.text)
        saved = client.get("/me/consents", params={"saved": "commercial", "lang": "en"})
        assert '<p class="notice ok" role="status">' in saved.text  # a category of the catalog: confirmed
        filed = client.get("/me/disputes", params={"filed": filed_one["dispute_id"], "lang": "en"})
        assert 'data-testid="dispute-filed"' in filed.text


@pytest.mark.browser
def test_a_long_word_someone_wrote_breaks_rather_than_widening_the_page(site: dict[str, Any], browser: Any) -> None:
    """A dispute's reason, evidence or added information with no space in it (a web address, a pasted reference) made
    /me/disputes 5 616 px wide on a 375 px phone: every paragraph of people's words now breaks inside a long word."""
    from socialcredit.registry.due_process.disputes import add_information, file_dispute

    mine = rows(
        site,
        "SELECT source_id, record_id FROM records r WHERE subject_id = ? AND NOT EXISTS ("
        "  SELECT 1 FROM disputes d WHERE d.source_id = r.source_id AND d.record_id = r.record_id) LIMIT 1",
        [site["other"]],
    )[0]  # one no dispute names (the site is shared by the module's tests)
    with site["service"].writer() as store:
        evidence = "https://example.org/" + "a" * 500
        d = file_dispute(store, site["other"], mine["source_id"], mine["record_id"], "x" * 600, evidence, actor="t")
        add_information(store, int(d["dispute_id"]), "y" * 700, actor="t")
    for who, paths in (
        ("other", ["/me/disputes", f"/me/disputes/{d['dispute_id']}"]),
        ("operator", [f"/ops/disputes/{d['dispute_id']}"]),
    ):
        page = _new_page(browser, site, {"width": 375, "height": 667})
        _sign_in_with_key(page, site["keys"][who])
        page.wait_for_load_state()
        for path in paths:
            page.goto(path)
            assert "x" * 50 in page.content()
            width = page_width(page)
            assert width <= 375, f"{path} scrolls sideways on a phone ({width}px)"
        page.context.close()


def test_without_a_choice_the_page_speaks_the_language_the_browser_prefers(site: dict[str, Any]) -> None:
    """Accept-Language was not read: an English browser was shown Chinese pages. A choice (``?lang=``, kept in a
    cookie) still wins; Chinese stays the default for no header, one that prefers neither language, garbage and a
    header too long to read. A page the header decided says ``Vary: Accept-Language``. Every page says its language
    in ``Content-Language`` too, as its ``<html lang>`` (it said none)."""

    def lang_of(r: httpx.Response) -> str:
        found = re.search(r'<html lang="([^"]+)">', r.text)
        assert r.status_code == 200 and found, r.text[:200]
        assert r.headers.get("content-language") == found.group(1), r.url
        return found.group(1)

    with httpx.Client(base_url=site["base"], timeout=30) as client:
        for header, lang in (
            ("en-US,en;q=0.9", "en"),
            ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
            ("zh;q=0.3, en;q=0.7", "en"),
            ("", "zh-CN"),
            ("%%%;q=??", "zh-CN"),
            ("en," + "x-y;q=0.1," * 1000, "zh-CN"),
        ):
            for path in ("/policies", "/signin"):
                r = client.get(path, headers={"Accept-Language": header})
                assert (lang_of(r), r.headers.get("vary")) == (lang, "Accept-Language"), (header, path)
        assert lang_of(client.get("/policies")) == "zh-CN" and "sc_lang" not in client.cookies
        # the choice wins, and is kept
        chosen = client.get("/policies?lang=zh", headers={"Accept-Language": "en-US,en;q=0.9"})
        assert lang_of(chosen) == "zh-CN" and "vary" not in chosen.headers and client.cookies["sc_lang"] == "zh"
        kept = client.get("/policies", headers={"Accept-Language": "en-US,en;q=0.9"})
        assert lang_of(kept) == "zh-CN" and "vary" not in kept.headers
    with signed_in(site, "resident") as client:  # a resident's pages and their file to print too
        for path in ("/me", "/me/file.html"):
            r = client.get(path, headers={"Accept-Language": "en-GB,en"})
            assert r.headers.get("vary") == "Accept-Language" and '<html lang="en">' in r.text, path
            assert r.headers.get("content-language") == "en", path


def test_who_asked_comes_fifty_to_a_page(site: dict[str, Any]) -> None:
    """/me/inquiries sent every inquiry: a resident asked about 10 000 times (every ticket bought is asked) got a page
    of 3.3 MB. Now 50 a page, newest first, with the total and links to the previous and next page."""
    service = site["service"]
    with service.writer() as store:
        loan = {"services": ["bank_loan"], "purposes": ["loan"], "known_services": {"bank_loan"}}
        lender = issue_key(store, "relying_party", "Bank of Many Questions", **loan)  # type: ignore[arg-type]
        service.reload_keys(store)
    body = {"subject_ids": [site["listed"]] * 120, "service": "bank_loan", "purpose": "loan"}
    r = site["client"].post("/v1/decisions/batch", json=body, headers={"Authorization": f"Bearer {lender.token}"})
    assert r.status_code == 200, r.text
    service.flush_inquiries()
    total = one(site, "SELECT count(*) FROM inquiries WHERE subject_id = ?", [site["listed"]])
    with signed_in(site, "resident") as client:
        first = client.get("/me/inquiries", params={"lang": "zh"})
        assert first.status_code == 200 and first.text.count('data-label="查询方"') == 50
        shown = int(re.search(r"共 (\d+) 次查询 · 共 \1 条，第 1/(\d+) 页", first.text).group(1))
        pages = -(-shown // 50)
        assert (
            shown >= total >= 120
            and 'href="/me/inquiries?page=2" rel="next"' in first.text
            and 'rel="prev"' not in first.text
        )
        assert first.text.count("Bank of Many Questions") == 50  # the newest first
        last = client.get("/me/inquiries", params={"page": str(pages), "lang": "en"})
        assert last.status_code == 200 and last.text.count('data-label="Who asked"') == shown - 50 * (pages - 1)
        assert f'href="/me/inquiries?page={pages - 1}" rel="prev"' in last.text and 'rel="next"' not in last.text
        for sent in (str(pages + 1), "0", "١", "1_0", "x"):
            bad = client.get("/me/inquiries", params={"page": sent, "lang": "zh"})
            said = f"页码应为 1 至 {pages} 的整数，收到的是 {sent!r}"
            assert bad.status_code == 400 and said in html.unescape(bad.text), sent
    # and so in the operator's view of the file (which read them all too)
    with signed_in(site, "operator") as client:
        file = client.get(f"/ops/subjects/{site['listed']}", params={"lang": "en"})
        assert file.status_code == 200 and file.text.count('data-label="Who asked"') == 50
        assert f'href="/ops/subjects/{site["listed"]}?page=2" rel="next"' in file.text
        assert client.get(f"/ops/subjects/{site['listed']}", params={"page": "0"}).status_code == 400


def test_who_asked_is_paged_in_the_query_and_the_pages_are_as_before(
    site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pages of who asked were cut after the registry built every one of the resident's inquiries: now the query
    reads one page (ORDER BY … LIMIT/OFFSET), and each page holds what it held before, in the same order: 120
    look-ups by three lenders with an operator's views of the file between them, newest first."""
    from socialcredit.registry.reporting import report as reporting

    service = site["service"]
    # a resident of their own, whom no other test asks about or views
    subject = one(
        site,
        "SELECT max(r.subject_id) FROM run_results r JOIN score_runs s USING (run_id) WHERE s.policy_id = 'beijing' "
        "AND r.kind = 'person' AND r.subject_id NOT IN (?, ?)",
        [site["listed"], site["other"]],
    )
    with service.writer() as store:
        loan = {"services": ["bank_loan"], "purposes": ["loan"], "known_services": {"bank_loan"}}
        lenders = [issue_key(store, "relying_party", f"Lender {n}", **loan) for n in "ABC"]  # type: ignore[arg-type]
        resident = issue_key(store, "resident", "asked 120 times", subject=subject).token
        service.reload_keys(store)
    with signed_in(site, "operator") as ops:
        for lender in lenders:  # 40 look-ups by each, and the operator opens the file after each 40
            body = {"subject_ids": [subject] * 40, "service": "bank_loan", "purpose": "loan"}
            auth = {"Authorization": f"Bearer {lender.token}"}
            assert site["client"].post("/v1/decisions/batch", json=body, headers=auth).status_code == 200
            service.flush_inquiries()
            assert ops.get(f"/ops/subjects/{subject}").status_code == 200
    # what the pages showed before, worked out from the tables as the registry did: the inquiries newest first by
    # id, the operator's views newest first, all of them sorted (stably) by the time, newest first
    asked = rows(
        site,
        "SELECT i.asked_at, k.name AS who FROM inquiries i JOIN api_keys k ON i.requester = 'key:' || k.key_id "
        "WHERE i.subject_id = ? ORDER BY i.inquiry_id DESC",
        [subject],
    )
    views = rows(
        site,
        "SELECT a.at_time AS asked_at, 'an operator (' || k.name || ') viewed your file' AS who FROM audit_log a "
        "JOIN api_keys k ON a.actor = 'key:' || k.key_id WHERE a.action IN ('read_report', 'read_history') "
        "AND a.subject_id = ? AND k.role = 'operator' ORDER BY a.seq DESC",
        [subject],
    )
    assert len(asked) == 120 and len(views) == 3
    before = [
        (str(q["asked_at"])[:16], q["who"]) for q in sorted([*asked, *views], key=lambda q: q["asked_at"], reverse=True)
    ]
    built: list[object] = []
    inquiry = reporting._inquiry
    monkeypatch.setattr(reporting, "_inquiry", lambda q, o: built.append(q) or inquiry(q, o))
    shown = []
    with httpx.Client(base_url=site["base"], timeout=30) as client:
        sign_in(client, resident)
        for number in (1, 2, 3):
            r = client.get("/me/inquiries", params={"page": str(number), "lang": "en"})
            assert r.status_code == 200
            assert len(built) == (50 if number < 3 else 23)  # one page's rows built, not 123
            built.clear()
            cells = re.findall(
                r'<tr><td data-label="[^"]*"><time>([^<]*)</time></td><td data-label="[^"]*" '
                r'class="card-title">([^<]*)</td>',
                r.text,
            )
            shown.append([(at, html.unescape(who)) for at, who in cells])
            prev = f'<a href="/me/inquiries?page={number - 1}" rel="prev"' if number > 1 else None
            following = f'<a href="/me/inquiries?page={number + 1}" rel="next"' if number < 3 else None
            assert (prev is None or prev in r.text) and ('rel="prev"' in r.text) == (prev is not None)
            assert (following is None or following in r.text) and ('rel="next"' in r.text) == (following is not None)
            assert f"page {number} of 3" in r.text and "123" in r.text
    assert shown == [before[:50], before[50:100], before[100:]]
    assert sum(who == "an operator (registry operations) viewed your file" for _, who in before) == 3
    # the rows of one lender look alike on the page: the registry's pages, by inquiry id, in the order before
    ids = rows(
        site, "SELECT inquiry_id, asked_at FROM inquiries WHERE subject_id = ? ORDER BY inquiry_id DESC", [subject]
    )
    stamps = [(q["asked_at"], q["inquiry_id"]) for q in ids] + [(v["asked_at"], None) for v in views]
    expected = [i for _, i in sorted(stamps, key=lambda q: q[0], reverse=True)]
    with service.writer() as store:
        paged = [who_asked(store, subject, limit=50, offset=at)[0] for at in (0, 50, 100)]
    assert [q["inquiry_id"] for page in paged for q in page] == expected


def test_an_operator_s_view_says_its_purpose_in_the_page_s_language(site: dict[str, Any]) -> None:
    """An operator's view of a resident's file, in who asked on a Chinese page, gave its purpose in the registry's
    English ("operator look-up", "operator report", "operator history"): in /me/inquiries, the printable file and
    the operator's view of the file."""
    subject = site["other"]
    operator = {"Authorization": f"Bearer {site['keys']['operator']}"}
    with signed_in(site, "operator") as ops:
        assert ops.get(f"/ops/subjects/{subject}").status_code == 200
        assert site["client"].get(f"/v1/subjects/{subject}/report", headers=operator).status_code == 200
        assert site["client"].get(f"/v1/subjects/{subject}/history", headers=operator).status_code == 200
        third = html.unescape(ops.get(f"/ops/subjects/{subject}", params={"lang": "zh"}).text)
    with signed_in(site, "other") as client:
        pages = [html.unescape(client.get(p, params={"lang": "zh"}).text) for p in ("/me/inquiries", "/me/file.html")]
        english = [html.unescape(client.get(p, params={"lang": "en"}).text) for p in ("/me/inquiries", "/me/file.html")]
    for text in [*pages, third]:
        assert "operator look-up" not in text and "operator report" not in text and "operator history" not in text
        assert all(w in text for w in ("在运营后台查阅档案", "通过接口查阅档案", "通过接口查阅评分历史"))
    for text in english:
        assert all(w in text for w in ("the file on the operators' pages", "the file over the API"))
        assert "the score history over the API" in text


def test_each_listing_on_the_overview_names_its_policy(site: dict[str, Any]) -> None:
    """Two policies' blacklists share the words "blacklist (judgment defaulter)": the overview said both "the notice
    period ended on 2026-12-01; it takes effect at the next daily check" and "you will be listed on 2026-12-31", with
    nothing to tell them apart. Each listing and each notice about one now starts with its policy's name."""
    listed = rows(
        site,
        "SELECT DISTINCT policy_id FROM listings WHERE subject_id = ? AND status IN ('pending', 'effective')",
        [site["listed"]],
    )
    with site["service"].writer() as store:
        expected = {get_policy(store, r["policy_id"]).policy.name.get("zh") for r in listed}
    assert len(expected) == 2  # the world's listed resident: Beijing's blacklist and Sesame's
    with signed_in(site, "resident") as client:
        page = client.get("/me", params={"lang": "zh"}).text
    boxes = re.findall(
        r'data-testid="(?:pending|effective)-listing"><strong data-testid="listing-policy">([^<]+)</strong>', page
    )
    assert set(boxes) == expected, boxes
    notices = re.findall(r"</time> <strong>([^<]+)</strong> · ", page)
    assert notices and set(notices) <= expected
