"""The resident portal's acceptance story, in Chromium against a real server, on a controlled clock (2027-04-10).

张三 (due_world.py) has been on Beijing's blacklist since 2026-04-02 for judgment J1 (12 000 yuan), which the court
reports fulfilled on 2027-03-01; repair may be asked from 2027-04-02. On a phone, 张三 is refused a rail ticket, reads
the rule on the public policy page, disputes the judgment with a PNG receipt, and the court answers on its own page
(the record is right and stays). 张三 then applies for credit repair with a written commitment; the operator grants
it on the repairs page; the railway's next decision is granted. Last, 张三 freezes the file, and a lender is refused
with "frozen".
"""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_helpers import auth, serving
from due_world import A, build, score_on_its_day
from socialcredit.api.app import create_app
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.due_process import repair
from socialcredit.registry.scoring.policies import resolve_policy
from web_helpers import browser, shots

__all__ = ["browser", "shots"]  # fixtures

D = dt.date
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
# the smallest PNG: a 1×1 image (its signature is what the registry checks)
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000154a24f5d"
    "0000000049454e44ae426082"
)


def _decide(base: str, key: str, service: str, purpose: str) -> dict[str, Any]:
    body = {"subject_id": A, "service": service, "purpose": purpose}
    r = httpx.post(base + "/v1/decisions", json=body, headers=auth(key), timeout=30)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def _sign_in(page: Any, key: str) -> None:
    page.goto("/signin")
    page.get_by_label("API 密钥").fill(key)
    page.get_by_role("button", name="登录").click()


def _fits(page: Any) -> None:
    width = int(page.evaluate("document.documentElement.scrollWidth"))
    assert width <= PHONE["width"], f"{page.url}: {width} px wide"


@pytest.mark.browser
def test_refused_reads_the_rule_disputes_with_a_file_repairs_is_granted_and_freezes(
    tmp_path: Path, browser: Any, shots: Path
) -> None:
    store = build(tmp_path)
    score_on_its_day(store, resolve_policy(store, "beijing"), D(2026, 2, 1))  # noticed: 60 days of grace
    score_on_its_day(store, resolve_policy(store, "beijing"), D(2026, 4, 2))  # listed
    repair.report_fulfilment(store, "courts", "J1", fulfilled_on=D(2027, 3, 1), today=D(2027, 3, 1))
    rail = {"services": ["high_speed_rail"], "purposes": ["ticket purchase"], "known_services": {"high_speed_rail"}}
    loan = {"services": ["bank_loan"], "purposes": ["loan"], "known_services": {"bank_loan"}}
    keys = {
        "resident": issue_key(store, "resident", "张三", subject=A).token,
        "operator": issue_key(store, "operator", "registry operations").token,
        "court": issue_key(store, "furnisher", "Beijing courts", source="courts").token,
        "railway": issue_key(store, "relying_party", "China Railway 12306", **rail).token,  # type: ignore[arg-type]
        "lender": issue_key(store, "relying_party", "Bank One", **loan).token,  # type: ignore[arg-type]
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOCIALCREDIT_TODAY", "2027-04-10")
        app = create_app(tmp_path / "due.duckdb", store=store)
        with serving(app) as base:
            refused = _decide(base, keys["railway"], "high_speed_rail", "ticket purchase")
            assert (refused["granted"], refused["lists"]) == (False, ["blacklist"])

            # 1. refused, on a phone: the overview says why, and the rule is one tap away
            resident = browser.new_context(viewport=PHONE, base_url=base).new_page()
            _sign_in(resident, keys["resident"])
            resident.goto("/me")
            pill = resident.locator("li.refused", has_text="高铁购票").first.inner_text()
            assert pill.startswith("高铁购票: 不予办理 失信名单上的人员不得乘坐高铁。"), pill
            _fits(resident)
            resident.locator("a.rule-link").first.click()
            resident.wait_for_url(re.compile(r".*/policies/beijing(/[^#?]*)?(\?[^#]*)?#.+"))
            anchor = resident.url.split("#", 1)[1]
            rule = resident.locator(f"[id='{anchor}']")
            assert rule.is_visible() and rule.inner_text().strip(), anchor
            _fits(resident)

            # 2. a dispute of J1 with a PNG receipt
            resident.goto("/me/disputes")
            resident.get_by_label("哪一条记录？").select_option("courts|J1")
            resident.get_by_label("为什么有误？").fill("判决款已于 2027-03-01 全额支付，我不应仍被列入。")
            resident.get_by_role("button", name="提交异议").click()
            resident.wait_for_url("**/me/disputes?filed=*")
            did = int(resident.url.rsplit("filed=", 1)[1])
            # the server may still be answering the browser (its favicon request): the store is read under its lock
            with app.state.service.writer() as held:
                assert held.one("SELECT dispute_id FROM disputes WHERE record_id = 'J1'") == did
            resident.goto(f"/me/disputes/{did}")
            resident.get_by_label("文件（PDF、PNG 或 JPEG，不超过 1 MiB）").set_input_files(
                {"name": "回执.png", "mimeType": "image/png", "buffer": PNG}
            )
            resident.get_by_role("button", name="上传").click()
            resident.wait_for_url(f"**/me/disputes/{did}?added=1")
            assert resident.get_by_test_id("evidence-files").inner_text().startswith("回执.png（")
            _fits(resident)

            # 3. the court answers on its own page: the judgment was right; it was paid later, so: repair
            court = browser.new_context(viewport=DESKTOP, base_url=base).new_page()
            _sign_in(court, keys["court"])
            court.wait_for_url("**/furnisher")
            card = court.locator("article", has=court.locator(f"h2#d-{did}"))
            assert card.get_by_role("link", name=re.compile("^回执.png")).count() == 1
            card.get_by_label("核实无误，记录保留").check()
            note = "判决于 2026-01-10 作出，当时未履行，记录无误；履行后可申请信用修复。"
            card.get_by_label("说明（居民可见）").fill(note)
            card.get_by_role("button", name="提交答复").click()
            court.wait_for_url(f"**/furnisher?answered={did}")
            court.context.close()
            resident.goto(f"/me/disputes/{did}")
            assert resident.get_by_test_id("dispute-status").inner_text() == "已核实（记录保留）"
            assert "履行后可申请信用修复" in resident.get_by_test_id("dispute-note").inner_text()

            # 4. the repair application, from the listing's page
            resident.goto("/me")
            resident.get_by_test_id("listing-link").first.click()
            assert resident.get_by_test_id("repair-from").inner_text() == "2027-04-02"
            resident.get_by_test_id("step-repair").click()
            resident.get_by_role("textbox", name="申请说明").fill("已于 2027-03-01 履行判决，全额支付。")
            resident.get_by_role("textbox", name="信用承诺").fill("本人承诺今后按时履行法院判决和各项义务。")
            resident.get_by_role("textbox", name="证明材料").fill("法院出具的履行证明")
            resident.get_by_label("本人承诺以上内容真实").check()
            resident.get_by_role("button", name="提交申请").click()
            assert resident.get_by_test_id("repair-stage").inner_text() == "已提交"
            assert resident.get_by_test_id("answer-due").inner_text() == "2027-04-25"
            _fits(resident)

            # 5. the operator grants it on the repairs page, with reasons
            ops = browser.new_context(viewport=DESKTOP, base_url=base).new_page()
            _sign_in(ops, keys["operator"])
            ops.goto("/ops/repairs")
            ops.get_by_role("link", name=re.compile(r"^申请 \d+$")).first.click()
            ops.get_by_label("批准修复").check()
            ops.get_by_label("理由").fill("判决已全额履行，申请人作出信用承诺。")
            ops.get_by_role("button", name="记录决定").click()
            assert ops.get_by_test_id("ops-repair-stage").inner_text() == "已批准"
            ops.context.close()

            # 6. the ticket: granted once the service has rescored (its live thread wakes on the change)
            deadline = time.monotonic() + 20
            granted = _decide(base, keys["railway"], "high_speed_rail", "ticket purchase")
            while not granted["granted"] and time.monotonic() < deadline:
                time.sleep(0.2)
                granted = _decide(base, keys["railway"], "high_speed_rail", "ticket purchase")
            assert (granted["granted"], granted["lists"]) == (True, [])
            resident.goto("/me")
            assert resident.locator("li.granted", has_text="高铁购票").first.is_visible()

            # 7. the resident freezes the file; a lender is refused with "frozen"
            assert _decide(base, keys["lender"], "bank_loan", "loan")["frozen"] is False
            resident.get_by_role("link", name="冻结与警示").first.click()
            resident.get_by_role("button", name="立即冻结").click()
            assert resident.locator("#freeze-state").inner_text().startswith("您的档案自")
            _fits(resident)
            frozen = _decide(base, keys["lender"], "bank_loan", "loan")
            assert (frozen["granted"], frozen["frozen"], frozen["refusal"], frozen["reasons"][0]["code"]) == (
                False,
                True,
                "the resident has frozen their file",
                "FROZEN",
            )
            resident.goto("/me/inquiries")
            asked = resident.locator("main").inner_text()
            assert "China Railway 12306" in asked and "Bank One" in asked
            resident.screenshot(path=str(shots / "transcript-inquiries-phone.png"), full_page=True)
            resident.context.close()
    store.close()
