"""A resident's own decision tells what a relying party is answered at that moment: both stand on the service's
snapshot as the live thread left it (a record held out of scoring while its dispute is open delists at once), with
its watermark; the command line, which runs no service, decides on the run in force."""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_helpers import serving
from due_world import LOAN, A, bank_headers, build, score_on_its_day
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.due_process.disputes import decide_review, escalate_dispute, file_dispute, lapse_overdue
from socialcredit.registry.scoring.policies import resolve_policy
from web_helpers import sign_in

# the banner of the listing, and the three services it refuses (rental, visa, credit) linking to it
LISTED = ["effective-listing"] + ["refused-listing"] * 3


def _answers(client: httpx.Client, bank: dict[str, str], own: dict[str, str]) -> tuple[Any, Any]:
    theirs = client.post("/v1/decisions", json=LOAN, headers=bank).json()
    mine = client.get(f"/v1/subjects/{A}/services/consumer_credit", params={"policy": "sesame"}, headers=own).json()
    return theirs, mine


def _banners(site: httpx.Client) -> dict[str, list[str]]:
    """The kinds of listing banners on the resident's overview, in each language."""
    out = {}
    for lang in ("en", "zh"):
        page = site.get("/me", params={"lang": lang})
        assert page.status_code == 200, page.text
        out[lang] = re.findall(r'data-testid="((?:effective|pending|held|refused)-listing)"', page.text)
    return out


def _held_for_operator(ops: httpx.Client) -> dict[str, int]:
    """How many listings the operator's page of the resident marks as no longer applied, in each language."""
    out = {}
    for lang in ("en", "zh"):
        page = ops.get(f"/ops/subjects/{A}", params={"lang": lang})
        assert page.status_code == 200, page.text
        out[lang] = page.text.count('data-testid="held-listing"')
    return out


def _said(d: dict[str, Any]) -> tuple[Any, ...]:
    return d["granted"], d["lists"], d["run_id"], d["watermark"], d["tier"]


def test_the_residents_own_decision_agrees_with_a_banks_through_a_dispute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TODAY_ENV, "2026-04-02")
    store = build(tmp_path)
    sesame = resolve_policy(store, "sesame")
    score_on_its_day(store, sesame, dt.date(2026, 2, 1))
    score_on_its_day(store, sesame, dt.date(2026, 4, 2))  # A's blacklisting takes effect (30 days' grace)
    bank = bank_headers(store)
    resident = issue_key(store, "resident", "张三", subject=A).token
    own = {"Authorization": f"Bearer {resident}"}
    operator = issue_key(store, "operator", "registry operations").token
    courts = {"Authorization": "Bearer " + issue_key(store, "furnisher", "the courts", source="courts").token}
    app = create_app(tmp_path / "due.duckdb", store=store)
    service = app.state.service
    with (
        serving(app) as base,
        httpx.Client(base_url=base, timeout=30) as client,
        httpx.Client(base_url=base, timeout=30) as site,
        httpx.Client(base_url=base, timeout=30) as ops,
    ):
        sign_in(site, resident)
        sign_in(ops, operator)
        assert _held_for_operator(ops) == {"en": 0, "zh": 0}
        theirs, mine = _answers(client, bank, own)
        assert theirs["granted"] is False and theirs["lists"] == ["blacklist"]
        assert _said(mine) == _said(theirs)
        assert _banners(site) == {"en": LISTED, "zh": LISTED}
        first = mine["watermark"]
        r = client.post("/v1/disputes", json={"source_id": "courts", "record_id": "J1", "reason": "paid"}, headers=own)
        assert r.status_code == 201, r.text
        dispute = r.json()["dispute_id"]
        service.go_live()  # what the live thread does on its next pass, at once
        theirs, mine = _answers(client, bank, own)
        # J1 is held out of scoring while its dispute is open: off the blacklist, credit still refused on the score
        assert (theirs["granted"], theirs["lists"]) == (False, [])
        assert _said(mine) == _said(theirs)
        assert mine["watermark"] > first  # the change the dispute made, as the bank's decision names it
        codes = [x["code"] for x in mine["reasons"]]
        assert "LIST_JUDGMENT_DEFAULTER" not in codes and "JUDGMENT_DEFAULTER" not in codes
        # the page says so too, in both languages: the listing is open in the register but decisions do not apply it
        assert _banners(site) == {"en": ["held-listing"], "zh": ["held-listing"]}
        en = site.get("/me", params={"lang": "en"}).text
        assert "since your score of 2026-04-02 its cause no longer holds" in en and "since change" not in en
        zh = site.get("/me", params={"lang": "zh"}).text
        assert "自 2026-04-02 的评分以来，您在" in zh and "自变更" not in zh
        assert _held_for_operator(ops) == {"en": 1, "zh": 1}  # the operator's page of the resident says so too
        page = ops.get(f"/ops/subjects/{A}", params={"lang": "en"}).text
        assert "not applied by decisions since the score of 2026-04-02" in page
        r = client.post(
            f"/v1/disputes/{dispute}/answer", json={"outcome": "verified", "note": "unpaid"}, headers=courts
        )
        assert r.status_code == 200, r.text
        service.go_live()
        theirs, mine = _answers(client, bank, own)
        assert (theirs["granted"], theirs["lists"]) == (False, ["blacklist"])
        assert _said(mine) == _said(theirs)
        assert "LIST_JUDGMENT_DEFAULTER" in [x["code"] for x in mine["reasons"]]
        assert _banners(site) == {"en": LISTED, "zh": LISTED}
        assert _held_for_operator(ops) == {"en": 0, "zh": 0}
    store.close()


def test_a_listing_overridden_that_the_snapshot_was_not_patched_for_is_told_as_a_bank_is_answered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A policy scored from the records keeps no state: an operator's override of a listing waits for its next run in
    the service's snapshot. Until then the resident is told what a bank is answered (still listed), not the register's
    listings as they now stand."""
    monkeypatch.setenv(TODAY_ENV, "2026-04-02")
    store = build(tmp_path)
    sesame = resolve_policy(store, "sesame")
    score_on_its_day(store, sesame, dt.date(2026, 2, 1), from_records=True)
    score_on_its_day(store, sesame, dt.date(2026, 4, 2), from_records=True)
    bank = bank_headers(store)
    own = {"Authorization": "Bearer " + issue_key(store, "resident", "张三", subject=A).token}
    ops = {"Authorization": "Bearer " + issue_key(store, "operator", "registry operations").token}
    listing = store.one("SELECT listing_id FROM listings WHERE subject_id = ? AND status = 'effective'", [A])
    app = create_app(tmp_path / "due.duckdb", store=store)
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        r = client.post(
            "/v1/overrides/listings",
            json={"listing_id": int(listing), "justification": "the judgment was paid before the run; receipt seen"},
            headers=ops,
        )
        assert r.status_code == 201, r.text
        theirs, mine = _answers(client, bank, own)
        assert (theirs["granted"], theirs["lists"]) == (False, ["blacklist"])
        assert _said(mine) == _said(theirs)
        assert [x["code"] for x in mine["reasons"]] == [x["code"] for x in theirs["reasons"]]
        assert "LIST_JUDGMENT_DEFAULTER" in [x["code"] for x in mine["reasons"]]
    store.close()


def _held_lines(site: httpx.Client) -> dict[str, list[str]]:
    """The held listing's notice on the resident's overview, in each language (its text, tags dropped): the banner,
    then its notice among the resident's notices, worded as it stands today."""
    out = {}
    for lang in ("en", "zh"):
        page = site.get("/me", params={"lang": lang})
        assert page.status_code == 200, page.text
        text = html.unescape(re.sub(r"<[^>]+>", "\n", page.text))
        out[lang] = [x.strip() for x in text.splitlines() if "J1" in x and ("no longer holds" in x or "不成立" in x)]
    return out


@pytest.mark.parametrize(
    ("ending", "en", "zh"),
    [
        (
            "lapsed",
            "your dispute 1 of record J1 was not answered in time, and the registry withdrew the record",
            "您对记录 J1 的异议 1 未在期限内获答复，登记机构已撤回该记录",
        ),
        ("review", "the review of your dispute 1 withdrew record J1", "您对记录 J1 的异议 1 经复核，记录已撤回"),
    ],
)
def test_the_held_note_names_the_dispute_that_ended_withdrawing_the_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ending: str, en: str, zh: str
) -> None:
    """A record withdrawn as a dispute of it ended (lapsed unanswered, or decided on review) was not withdrawn by its
    source: the note of the listing it held says which dispute, in both languages."""
    monkeypatch.setenv(TODAY_ENV, "2026-04-02")
    store = build(tmp_path)
    sesame = resolve_policy(store, "sesame")
    score_on_its_day(store, sesame, dt.date(2026, 2, 1))
    score_on_its_day(store, sesame, dt.date(2026, 4, 2))  # A's blacklisting takes effect
    resident = issue_key(store, "resident", "张三", subject=A).token
    assert file_dispute(store, A, "courts", "J1", "paid", actor="resident")["dispute_id"] == 1
    if ending == "lapsed":
        assert lapse_overdue(store, dt.date(2026, 7, 1)) == [1]
    else:
        escalate_dispute(store, 1, "the court's order is ambiguous", "operator")
        decide_review(store, 1, "withdrawn", "the judgment was paid", "reviewer")
    app = create_app(tmp_path / "due.duckdb", store=store)
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as site:
        sign_in(site, resident)
        app.state.service.go_live()
        lines = _held_lines(site)
    store.close()
    assert lines == {
        "en": [
            "· Decisions no longer apply your listing on the blacklist (judgment defaulter): since your score of "
            f"2026-04-02 its cause no longer holds ({en}), and relying parties asking now are not told it. The next "
            "score run closes the listing; until then, it applies again if the cause holds again."
        ]
        * 2,
        "zh": [
            f"· 自 2026-04-02 的评分以来，您在失信名单（失信被执行人）的列入原因已不成立（{zh}），"
            "决定不再适用此列入，此时查询的信用信息使用者不会得知。下次评分时列入结束；在此之前，如原因再次成立，将重新适用。"
        ]
        * 2,
    }
