"""A blacklist's entries say where each listing stands, as decisions count it (registry/reporting/report.py
``list_entries``): ``GET /v1/lists/{list_id}/entries`` (operators) marks a person in the notice's grace period
``notice`` with the day it takes effect, not a bare entry read as blacklisted while every decision grants.

World (tests/due_world.py): 张三 (A) meets Sesame's blacklist for the judgment J1; the run of 2026-02-01 gives notice
(30 days' grace: in effect on 2026-03-03), the run of 2026-04-02 finds it in effect.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from api_helpers import serving
from due_world import LOAN, A, bank_headers, scored
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.registry.access.parties import issue_key


def _entries(site: httpx.Client, operator: str, list_id: str) -> list[dict[str, object]]:
    r = site.get(f"/v1/lists/{list_id}/entries", params={"policy": "sesame"}, headers={"Authorization": operator})
    assert r.status_code == 200, r.text
    return list(r.json()["entries"])


@pytest.mark.parametrize(("today", "listing"), [("2026-02-01", "notice"), ("2026-04-02", "effective")])
def test_a_blacklist_entry_says_where_its_listing_stands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, today: str, listing: str
) -> None:
    monkeypatch.setenv(TODAY_ENV, today)
    store = scored(tmp_path, "2026-02-01", today)
    operator = "Bearer " + issue_key(store, "operator", "an operator").token
    bank = bank_headers(store)
    app = create_app(tmp_path / "due.duckdb", store=store)
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as site:
        [entry] = _entries(site, operator, "blacklist")
        assert (entry["subject_id"], entry["criteria"]) == (A, ["judgment_defaulter"])
        assert (entry.get("listing"), entry.get("effective_on")) == (listing, "2026-03-03")
        # what a decision does: only a listing in effect refuses
        asked = site.post("/v1/decisions", json=LOAN, headers=bank).json()
        assert asked["lists"] == ([] if listing == "notice" else ["blacklist"])
    store.close()


def test_an_entry_decisions_no_longer_apply_says_held(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The courts withdraw J1: the live rescoring leaves 张三 off the blacklist (a decision's lists are []) while the
    # register keeps the listing in effect until the next run. The entry said "effective" (decisions count it).
    monkeypatch.setenv(TODAY_ENV, "2026-04-02")
    store = scored(tmp_path, "2026-02-01", "2026-04-02")
    operator = "Bearer " + issue_key(store, "operator", "an operator").token
    courts = issue_key(store, "furnisher", "the courts", source="courts").token
    bank = bank_headers(store)
    app = create_app(tmp_path / "due.duckdb", store=store)
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as site:
        assert site.delete("/v1/records/J1", headers={"Authorization": f"Bearer {courts}"}).status_code == 200
        app.state.service.go_live()
        asked = site.post("/v1/decisions", json=LOAN, headers=bank).json()
        assert asked["lists"] == []
        [entry] = _entries(site, operator, "blacklist")
        assert (entry["subject_id"], entry.get("listing"), entry.get("effective_on")) == (A, "held", "2026-03-03")
        # the register's status until the next run, as GET /v1/notices says it
        [notice] = site.get("/v1/notices", headers={"Authorization": operator}).json()
        assert (notice["status"], notice["held"] is not None) == ("effective", True)
    store.close()


def test_an_entry_whose_listing_ended_since_the_run_says_ended(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An operator's review removes 张三's listing after the run of 2026-04-02: the run's list still holds the entry,
    # which says its listing ended (and no decision counts it), not effective.
    monkeypatch.setenv(TODAY_ENV, "2026-04-02")
    store = scored(tmp_path, "2026-02-01", "2026-04-02")
    operator = "Bearer " + issue_key(store, "operator", "an operator").token
    bank = bank_headers(store)
    app = create_app(tmp_path / "due.duckdb", store=store)
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as site:
        [notice] = site.get("/v1/notices", headers={"Authorization": operator}).json()
        body = {
            "listing_id": notice["listing_id"],
            "outcome": "removed",
            "justification": "the reviewer found the judgment paid before the run",
        }
        r = site.post("/v1/overrides/listings", json=body, headers={"Authorization": operator})
        assert r.status_code == 201, r.text
        [entry] = _entries(site, operator, "blacklist")
        assert (entry["subject_id"], entry.get("listing"), entry.get("effective_on")) == (A, "ended", None)
        asked = site.post("/v1/decisions", json=LOAN, headers=bank).json()
        assert asked["lists"] == []
    store.close()
