"""The note that decisions no longer apply a listing names the one cause (registry/reporting/listing_details.py
``held_now``): the open dispute of its record, on /me and /me/listings/{id}, in both languages.

World (tests/due_world.py): 张三 (A) is on Sesame's blacklist for the judgment J1 (scored on 2026-02-01 and
2026-04-02); Sesame does not count a disputed record while the dispute is open. A disputes J1: the note names that
dispute, not every reason a listing might be held.
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

import httpx
import pytest

from api_helpers import serving
from due_world import A, build, score_on_its_day
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.scoring.policies import resolve_policy
from web_helpers import sign_in


def test_the_held_note_names_the_open_dispute_of_the_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TODAY_ENV, "2026-04-02")
    store = build(tmp_path)
    sesame = resolve_policy(store, "sesame")
    score_on_its_day(store, sesame, dt.date(2026, 2, 1))
    score_on_its_day(store, sesame, dt.date(2026, 4, 2))
    resident = issue_key(store, "resident", "张三", subject=A).token
    listing = int(store.one("SELECT listing_id FROM listings WHERE subject_id = ? AND status = 'effective'", [A]))
    app = create_app(tmp_path / "due.duckdb", store=store)
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as site:
        sign_in(site, resident)
        own = {"Authorization": f"Bearer {resident}"}
        r = site.post("/v1/disputes", json={"source_id": "courts", "record_id": "J1", "reason": "paid"}, headers=own)
        assert r.status_code == 201, r.text
        n = r.json()["dispute_id"]
        app.state.service.go_live()
        en = f"(your dispute {n} of record J1 is open)"
        # until the next run, which closes the listing (until 2026-12-07 "it applies again if …", as if after it too)
        again = "The next score run closes the listing; until then, it applies again if your dispute is answered "
        again += "against you."
        zh = f"（您对记录 J1 的异议 {n} 正在处理）"
        for path in ("/me", f"/me/listings/{listing}"):
            page = html.unescape(site.get(path, params={"lang": "en"}).text)
            assert en in page and again in page, path
            assert "(a record disputed, corrected or withdrawn)" not in page
            page = html.unescape(site.get(path, params={"lang": "zh"}).text)
            assert zh in page and "下次评分时列入结束；在此之前，如异议未获支持，将重新适用。" in page, path
            assert "（记录有异议、被更正或撤回）" not in page
    store.close()
