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
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_helpers import serving
from due_world import LOAN, A, bank_headers, scored
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.decisions.live import LiveView
from socialcredit.registry.due_process.listings import list_listings
from socialcredit.registry.records.versions import withdraw_record
from web_helpers import sign_in

WHY = {"en": "the source withdrew record J1", "zh": "来源已撤回记录 J1"}
# the status of the listing on the printable file
PRINTED = {
    "en": "in effect; not applied by decisions since the score of 2026-04-02: the source withdrew record J1",
    "zh": "已生效；自 2026-04-02 的评分以来决定不再适用：来源已撤回记录 J1",
}


def _notices(page: str) -> str:
    """The text of the Notices section of /me."""
    section = page[page.index('id="h-notices"') :]
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", section[: section.index("</section>")])))


def test_a_withdrawn_record_marks_its_listing_held_in_notices_file_and_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TODAY_ENV, "2026-04-02")
    store = scored(tmp_path, "2026-02-01", "2026-04-02")
    # the record withdrawn a week after the run: what a reader is told is the score's day, not the withdrawal's
    monkeypatch.setenv(TODAY_ENV, "2026-04-09")
    resident = issue_key(store, "resident", "张三", subject=A).token
    courts = issue_key(store, "furnisher", "the courts", source="courts").token
    bank = bank_headers(store)
    own = {"Authorization": f"Bearer {resident}"}
    app = create_app(tmp_path / "due.duckdb", store=store)
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as site:
        asked = site.post("/v1/decisions", json=LOAN, headers=bank).json()
        assert asked["lists"] == ["blacklist"]
        [before] = site.get("/v1/notices", headers=own).json()
        assert (before["status"], before.get("held"), before.get("held_why")) == ("effective", None, None)
        r = site.delete("/v1/records/J1", headers={"Authorization": f"Bearer {courts}"})
        assert r.status_code == 200, r.text
        watermark = r.json()["watermark"]
        app.state.service.go_live()
        asked = site.post("/v1/decisions", json=LOAN, headers=bank).json()
        assert asked["lists"] == [] and asked["watermark"] == watermark
        sign_in(site, resident)
        for lang in ("en", "zh"):
            [now] = site.get("/v1/notices", params={"lang": lang}, headers=own).json()
            # the register's status until the next run, and what decisions do now
            assert (now["status"], now.get("held"), now.get("held_why")) == ("effective", watermark, WHY[lang])
            assert now["held_since"] == "2026-04-02"  # the run in force's as-of date, what a reader is told
            file = site.get(f"/v1/subjects/{A}/file", params={"lang": lang}, headers=own).json()
            [listing] = file["notices"]
            assert (listing.get("held"), listing.get("held_why")) == (watermark, WHY[lang])
            printable = html.unescape(site.get(f"/v1/subjects/{A}/file.html", params={"lang": lang}, headers=own).text)
            assert PRINTED[lang] in printable
            notices = _notices(site.get("/me", params={"lang": lang}).text)
            # the notice of 2026-02-01, as it stands today: no longer applied, not "you have been on the blacklist"
            if lang == "en":
                assert (
                    "Decisions no longer apply your listing on the blacklist (judgment defaulter): since your score "
                    "of 2026-04-02 its cause no longer holds (the source withdrew record J1)" in notices
                )
                assert "You have been on the blacklist" not in notices
            else:
                assert "自 2026-04-02 的评分以来，您在失信名单（" in notices and "（来源已撤回记录 J1）" in notices
                assert "自变更" not in notices
                assert "起您已被列入" not in notices
    store.close()


def test_every_held_listing_of_an_operator_is_worded_with_one_query_per_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An operator's GET /v1/notices marks every listing: it read the runs in force once per subject and each cause
    # with up to five queries (6,019 queries for 1,000 held listings, under the writer lock). Now the runs are read
    # once, their as-of days once, and the causes of all held listings with one query per table: 1 + 1 + 5, however
    # many.
    monkeypatch.setenv(TODAY_ENV, "2026-04-02")
    store = scored(tmp_path, "2026-02-01", "2026-04-02")
    withdraw_record(store, "courts", "J1", actor="operator:test", today=dt.date(2026, 4, 2))
    run = int(store.one("SELECT max(run_id) FROM score_runs"))
    base = int(store.one("SELECT max(listing_id) FROM listings"))
    app = create_app(tmp_path / "due.duckdb", store=store)
    service = app.state.service
    # every subject rescored since the run onto no list, as the live thread leaves one whose record was withdrawn
    monkeypatch.setattr(service, "live_views", lambda subject_id: {run: LiveView({}, [], [], 1, 0.5, 99)})
    queries, here = {"n": 0}, threading.get_ident()
    execute = type(store).execute

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        # this thread's: the service's live thread reads the store too
        queries["n"] += threading.get_ident() == here
        return execute(self, *args, **kwargs)

    for n in (3, 30):
        # the listing of 张三 and n - 1 like it of other subjects, the last on no record (on the score); under the
        # writer, as the route holds it (the live thread shares the connection)
        with service.writer() as writer:
            writer.execute("DELETE FROM listings WHERE listing_id > ?", [base])
            writer.execute(
                "INSERT INTO listings SELECT listings.* REPLACE (listing_id + i AS listing_id, "
                "subject_id || '-' || i AS subject_id) FROM listings, range(1, ?) t(i) WHERE listing_id = ?",
                [n, base],
            )
            writer.execute("UPDATE listings SET record_id = '' WHERE listing_id = ?", [base + n - 1])
            rows = list_listings(writer)
            with monkeypatch.context() as m:
                m.setattr(type(store), "execute", counted)
                queries["n"] = 0
                marked = service.mark_held(writer, rows, "zh")
                assert queries["n"] == 7
        assert [(x["held"], x["held_why"]) for x in marked] == [(99, "您的分数已变化")] + [(99, WHY["zh"])] * (n - 1)
    service.close()
    store.close()
