"""A listing whose record its source withdrew says what decisions do at once, before the next run closes it
(registry/reporting/listing_details.py ``held_now``): ``GET /v1/notices`` and the resident's file (JSON and
printable) mark it ``held`` with the cause in the reader's language, and the resident's notices on /me word its
notice as no longer applied, in both languages, while a bank's decision already leaves the blacklist out.

World (tests/due_world.py): 张三 (A) is on Sesame's blacklist for the judgment J1 (scored on 2026-02-01 and
2026-04-02: in effect since 2026-04-02); the courts withdraw J1 through the API.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

import httpx
import pytest

from api_helpers import serving
from due_world import A, build
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import score
from web_helpers import sign_in

LOAN = {"subject_id": A, "service": "consumer_credit", "purpose": "loan application"}
WHY = {"en": "the source withdrew record J1", "zh": "来源已撤回记录 J1"}
# the status of the listing on the printable file
PRINTED = {
    "en": "in effect; not applied by decisions since change {}: the source withdrew record J1",
    "zh": "已生效；自变更 {} 起决定不再适用：来源已撤回记录 J1",
}


def _notices(page: str) -> str:
    """The text of the Notices section of /me."""
    section = page[page.index('id="h-notices"') :]
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", section[: section.index("</section>")])))


def test_a_withdrawn_record_marks_its_listing_held_in_notices_file_and_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TODAY_ENV, "2026-04-02")
    store = build(tmp_path)
    sesame = resolve_policy(store, "sesame")
    score(store, sesame, dt.date(2026, 2, 1))
    score(store, sesame, dt.date(2026, 4, 2))
    resident = issue_key(store, "resident", "张三", subject=A).token
    courts = issue_key(store, "furnisher", "the courts", source="courts").token
    bank = issue_key(
        store,
        "relying_party",
        "a bank",
        services=["consumer_credit"],
        purposes=["loan application"],
        known_services={"consumer_credit"},
    ).token
    own = {"Authorization": f"Bearer {resident}"}
    app = create_app(tmp_path / "due.duckdb", store=store)
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as site:
        asked = site.post("/v1/decisions", json=LOAN, headers={"Authorization": f"Bearer {bank}"}).json()
        assert asked["lists"] == ["blacklist"]
        [before] = site.get("/v1/notices", headers=own).json()
        assert (before["status"], before.get("held"), before.get("held_why")) == ("effective", None, None)
        r = site.delete("/v1/records/J1", headers={"Authorization": f"Bearer {courts}"})
        assert r.status_code == 200, r.text
        watermark = r.json()["watermark"]
        app.state.service.go_live()
        asked = site.post("/v1/decisions", json=LOAN, headers={"Authorization": f"Bearer {bank}"}).json()
        assert asked["lists"] == [] and asked["watermark"] == watermark
        sign_in(site, resident)
        for lang in ("en", "zh"):
            [now] = site.get("/v1/notices", params={"lang": lang}, headers=own).json()
            # the register's status until the next run, and what decisions do now
            assert (now["status"], now.get("held"), now.get("held_why")) == ("effective", watermark, WHY[lang])
            file = site.get(f"/v1/subjects/{A}/file", params={"lang": lang}, headers=own).json()
            [listing] = file["notices"]
            assert (listing.get("held"), listing.get("held_why")) == (watermark, WHY[lang])
            printable = html.unescape(site.get(f"/v1/subjects/{A}/file.html", params={"lang": lang}, headers=own).text)
            assert PRINTED[lang].format(watermark) in printable
            notices = _notices(site.get("/me", params={"lang": lang}).text)
            # the notice of 2026-02-01, as it stands today: no longer applied, not "you have been on the blacklist"
            if lang == "en":
                assert (
                    f"Decisions no longer apply your listing on the blacklist (judgment defaulter): since change "
                    f"{watermark} its cause no longer holds (the source withdrew record J1)" in notices
                )
                assert "You have been on the blacklist" not in notices
            else:
                assert f"自变更 {watermark} 起，您在失信名单（" in notices and "（来源已撤回记录 J1）" in notices
                assert "起您已被列入" not in notices
    store.close()
