"""The resident's freeze page offers a lift only for a party the freeze acts on (registry/due_process/freeze.py
``freezable_parties``): a freeze refuses freezable services only (loans, leases, deposit-free: docs/freeze.md), never
rail or flights, so the railway and the airline are not offered, the page says why, and a lift posted for one of
them is refused saying so, in both languages.

World (tests/due_world.py): 张三 (A) signs in; four relying parties: a railway (high_speed_rail), an airline (flight),
a bank (bank_loan, freezable in Beijing's policy) and a rental (deposit_free_rental, freezable in both).
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from api_helpers import serving
from due_world import A, build
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.registry.access.parties import issue_key
from web_helpers import csrf_of, failure_of, sign_in

PARTIES = {
    "12306 railway": ["high_speed_rail"],
    "an airline": ["flight"],
    "Bank One": ["bank_loan"],
    "a rental": ["deposit_free_rental"],
}


def test_the_freeze_page_offers_only_the_parties_a_freeze_acts_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TODAY_ENV, "2026-04-02")
    store = build(tmp_path)
    keys = {
        name: issue_key(store, "relying_party", name, services=services, purposes=["any"]).party.key_id
        for name, services in PARTIES.items()
    }
    resident = issue_key(store, "resident", "张三", subject=A).token
    app = create_app(tmp_path / "due.duckdb", store=store)
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as site:
        sign_in(site, resident)
        page = site.get("/me/freeze", params={"lang": "en"})
        placed = site.post("/me/freeze", data={"action": "place", "csrf": csrf_of(page.text)})
        assert placed.status_code == 303
        for lang, help_text, refused in (
            (
                "en",
                "a freeze never refuses rail, flights or the other services, so there is nothing to lift for them.",
                "A freeze never refuses the services this party asks for (such as rail or flights): there is nothing "
                "to lift for it.",
            ),
            (
                "zh",
                "铁路、航空等服务不受冻结影响，无需解冻。",
                "冻结不会拒绝该机构查询的服务（如铁路、航空），无需为其解冻。",
            ),
        ):
            page = site.get("/me/freeze", params={"lang": lang})
            offered = re.findall(r'<option value="([^"]+)">([^<]+)</option>', page.text)
            assert offered == sorted(
                [(keys["Bank One"], "Bank One"), (keys["a rental"], "a rental")], key=lambda x: x[1]
            )
            assert help_text in page.text
            # a lift posted for the railway (a party the page does not offer) is refused saying why, not saved
            form = {"action": "lift_party", "party": keys["12306 railway"], "csrf": csrf_of(page.text)}
            r = site.post("/me/freeze", params={"lang": lang}, data=form)
            assert (r.status_code, failure_of(r)) == (400, refused)
        assert store.one("SELECT count(*) FROM freeze_lifts") == 0
    store.close()
