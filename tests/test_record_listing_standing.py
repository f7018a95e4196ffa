"""A record's listing as it stands, in the resident's report (registry/reporting/report.py ``_listed_by``): on the
API's report, with the running service's live views, on the resident's records page, and on the installed console
script's ``show --json``, in English and Chinese.

World (tests/due_world.py): 张三 (A) has the defaulter judgment J1 of the courts; Beijing's run of 2026-02-01 notices
his blacklisting (judgment defaulter), in effect 60 days later, on 2026-04-02; Sesame's, 30 days later, on
2026-03-03. Beijing counts a disputed record while the dispute is open, Sesame does not.

* In the notice period, the record withdrawn or disputed before the next run: the listing will not take effect (the
  daily job leaves it, ``listings.activate_due``; the next run ends it) or, disputed, not by the daily job while the
  dispute is open. Until 2026-12-07 both read "will put you on the blacklist (…) from DATE unless the cause is
  resolved before then".
* After the run that closed it, the record withdrawn or the judgment fulfilled: the run has no entry for it any
  more, and the report still says the listing was removed, on which day and why. Until 2026-12-07 it said nothing.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from pathlib import Path
from typing import Any

import httpx

from api_helpers import serving
from cli_helpers import sc
from due_world import JUDGMENT, A, built, built_run, ingest, score_on_its_day, write_csv
from socialcredit.api.app import create_app
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.due_process.disputes import file_dispute
from socialcredit.registry.due_process.overrides import override_listing
from socialcredit.registry.records.versions import withdraw_record
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.store import Store, open_store
from web_helpers import sign_in

NOTICED = dt.date(2026, 2, 1)
LISTED = dt.date(2026, 4, 2)  # Beijing's notice period over: the listing takes effect
NEXT = dt.date(2026, 4, 10)  # the next run


def _j1(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The listings J1 (its newest version) says, as (standing, text)."""
    [rec] = [r for r in records if r["record_id"] == "J1" and r["status"] != "superseded"]
    return [(x["standing"], x["text"]) for x in rec["lists"]]


def _api(folder: Path, store: Store) -> dict[str, list[tuple[str, str]]]:
    """J1's listings in A's report over the API (the resident's key), by language, each said the same on the
    resident's records page (/me/records); the store is closed after."""
    key = issue_key(store, "resident", "张三", subject=A).token
    app = create_app(folder / "due.duckdb", store=store)
    try:
        with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
            app.state.service.go_live()  # the subject changed since the run rescored, as the live thread does
            out = {}
            for lang in ("en", "zh"):
                got = client.get(
                    f"/v1/subjects/{A}/report", params={"lang": lang}, headers={"Authorization": f"Bearer {key}"}
                )
                assert got.status_code == 200, got.text
                out[lang] = _j1(got.json()["records"])
            sign_in(client, key)
            for lang, said in out.items():
                page = client.get("/me/records", params={"lang": lang})
                assert page.status_code == 200
                shown = re.findall(
                    r'<span class="contribution listing listing-([a-z_]+)"[^>]*>([^<]*)</span>', page.text
                )
                assert [(standing, html.unescape(text)) for standing, text in shown] == said
            return out
    finally:
        store.close()


def _show(folder: Path, today: dt.date) -> dict[str, list[tuple[str, str]]]:
    """J1's listings in ``socialcredit show A --json`` (the installed script), by language."""
    return {
        lang: _j1(
            json.loads(
                sc("show", A, "--json", "--lang", lang, db=folder / "due.duckdb", today=today.isoformat()).stdout
            )["records"]
        )
        for lang in ("en", "zh")
    }


def _noticed(folder: Path, policy: str) -> Store:
    """The world scored under ``policy`` as of NOTICED on its day (built once per process and copied)."""
    store = built_run(folder, policy, NOTICED.isoformat())
    assert store.one("SELECT status FROM listings WHERE subject_id = ?", [A]) == "pending"
    return store


def _listed(folder: Path) -> Store:
    """The world scored under beijing as of NOTICED and of LISTED, each on its day (built once per process and
    copied); the first run alone noticed him (a copy of it checked beside)."""
    _noticed(folder / "noticed", "beijing").close()
    store = built_run(folder, "beijing", NOTICED.isoformat(), LISTED.isoformat())
    assert store.one("SELECT status FROM listings WHERE subject_id = ?", [A]) == "effective"
    return store


def _rescore(folder: Path, on: dt.date) -> None:
    store = open_store(folder / "due.duckdb", key="")
    try:
        score_on_its_day(store, resolve_policy(store, "beijing"), on)
    finally:
        store.close()


def test_a_record_withdrawn_in_the_notice_period_will_not_list_him(tmp_path: Path) -> None:
    store = _noticed(tmp_path, "beijing")
    withdraw_record(store, "courts", "J1", actor="courts", today=dt.date(2026, 2, 10))
    ending = {
        "en": [
            (
                "notice_ending",
                "will not put you on the blacklist (judgment defaulter): the record was withdrawn during the notice "
                "period, and the next run ends the notice (you are not listed)",
            )
        ],
        "zh": [
            (
                "notice_ending",
                "不会将您列入失信名单（失信被执行人）：记录已在告知期内撤回，下次评分时结束告知（您不会被列入）",
            )
        ],
    }
    assert _api(tmp_path, store) == ending
    assert _show(tmp_path, dt.date(2026, 2, 10)) == ending
    # the next run ends the notice, as said: the resident was never listed
    _rescore(tmp_path, dt.date(2026, 2, 20))
    assert _show(tmp_path, dt.date(2026, 2, 20)) == {
        "en": [
            (
                "removed",
                "did not put you on the blacklist (judgment defaulter): the record was withdrawn before it took "
                "effect (the notice ended on 2026-02-20)",
            )
        ],
        "zh": [("removed", "未将您列入失信名单（失信被执行人）：记录在生效前已撤回，告知已于2026-02-20结束")],
    }


def _disputed(folder: Path, policy: str) -> Store:
    store = _noticed(folder, policy)
    file_dispute(store, A, "courts", "J1", "the judgment was paid", actor="张三", today=dt.date(2026, 2, 10))
    return store


def test_a_record_disputed_in_the_notice_period_under_a_policy_that_counts_it(tmp_path: Path) -> None:
    """Beijing counts J1 while the dispute is open: the daily job does not put the listing in effect on 2026-04-02
    while it is open, a run made on or after that day does."""
    store = _disputed(tmp_path, "beijing")
    disputed = {
        "en": [
            (
                "notice_disputed",
                "will put you on the blacklist (judgment defaulter) from 2026-04-02 at the earliest unless the cause "
                "is resolved before then: while your dispute of the record is open it takes effect only at a run "
                "made on or after that day, and not if the record is withdrawn or corrected out of the criterion",
            )
        ],
        "zh": [
            (
                "notice_disputed",
                "最早于2026-04-02起将您列入失信名单（失信被执行人），除非此前消除原因：您对该记录的异议未结期间，"
                "仅在该日或之后的评分时生效，记录被撤回或更正为不再符合条件则不生效",
            )
        ],
    }
    assert _api(tmp_path, store) == disputed
    assert _show(tmp_path, dt.date(2026, 2, 10)) == disputed


def test_a_record_disputed_in_the_notice_period_under_a_policy_that_holds_it_out(tmp_path: Path) -> None:
    """Sesame does not count J1 while the dispute is open: a run made before it is answered ends the notice."""
    store = _disputed(tmp_path, "sesame")
    held = {
        "en": [
            (
                "notice_disputed",
                "would put you on the blacklist (judgment defaulter) from 2026-03-03, but not while your dispute of "
                "the record is open: the record does not count until it is answered, and a run made before then "
                "ends the notice (you are not listed)",
            )
        ],
        "zh": [
            (
                "notice_disputed",
                "原定于2026-03-03起将您列入失信名单（失信被执行人），但您对该记录的异议未结期间不会生效："
                "答复前该记录暂不计入，其间的评分将结束告知（您不会被列入）",
            )
        ],
    }
    assert _api(tmp_path, store) == held
    assert _show(tmp_path, dt.date(2026, 2, 10)) == held


def test_a_listing_ended_by_a_withdrawal_is_told_after_the_next_run(tmp_path: Path) -> None:
    store = _listed(tmp_path)
    withdraw_record(store, "courts", "J1", actor="courts", today=dt.date(2026, 4, 5))
    store.close()
    _rescore(tmp_path, NEXT)
    removed = {
        "en": [("removed", "removed from the blacklist (judgment defaulter) on 2026-04-10: the record was withdrawn")],
        "zh": [("removed", "已于2026-04-10将您移出失信名单（失信被执行人）：记录已撤回")],
    }
    assert _show(tmp_path, NEXT) == removed
    assert _api(tmp_path, open_store(tmp_path / "due.duckdb", key="")) == removed


def test_a_listing_ended_by_a_fulfilled_judgment_is_told_after_the_next_run(tmp_path: Path) -> None:
    store = _listed(tmp_path)
    # the court sends the judgment again, fulfilled (a correction): the run no longer finds the criterion on it
    paid = [["J1", A, "court_judgment", "2026-01-10", "civil", "12000", "fulfilled", "true", "true"]]
    ingest(store, write_csv(tmp_path / "paid.csv", [*JUDGMENT, "correction"], paid), "courts", dt.date(2026, 4, 5))
    store.close()
    _rescore(tmp_path, NEXT)
    assert _show(tmp_path, NEXT) == {
        "en": [("removed", "removed from the blacklist (judgment defaulter) on 2026-04-10: the cause was resolved")],
        "zh": [("removed", "已于2026-04-10将您移出失信名单（失信被执行人）：原因已消除")],
    }


def test_a_listing_overridden_then_its_record_withdrawn_is_told_after_the_next_run(tmp_path: Path) -> None:
    store = _listed(tmp_path)
    lid = store.one("SELECT listing_id FROM listings WHERE subject_id = ?", [A])
    override_listing(store, lid, "reviewed: the judgment was stayed on appeal", "operator", today=dt.date(2026, 4, 5))
    withdraw_record(store, "courts", "J1", actor="courts", today=dt.date(2026, 4, 6))
    store.close()
    _rescore(tmp_path, NEXT)
    assert _show(tmp_path, NEXT) == {
        "en": [("removed", "removed from the blacklist (judgment defaulter) on 2026-04-05: overridden by an operator")],
        "zh": [("removed", "已于2026-04-05将您移出失信名单（失信被执行人）：经运营人员人工复核撤销")],
    }


def test_a_record_corrected_out_of_the_criterion_in_the_notice_period_will_not_list_him(tmp_path: Path) -> None:
    """The court sends J1 again, fulfilled (a correction), before the next run: the service's live score no longer
    finds the criterion on it, the daily job leaves the listing (a version newer than the run) and the next run ends
    the notice. The console's ``show`` reads no live score (yet): it cannot tell a correction that still meets the
    criterion from one that does not, so only the API is asked here."""
    store = _noticed(tmp_path, "beijing")
    paid = [["J1", A, "court_judgment", "2026-01-10", "civil", "12000", "fulfilled", "true", "true"]]
    ingest(store, write_csv(tmp_path / "paid.csv", [*JUDGMENT, "correction"], paid), "courts", dt.date(2026, 2, 10))
    assert _api(tmp_path, store) == {
        "en": [
            (
                "notice_ending",
                "will not put you on the blacklist (judgment defaulter): the record as it now stands no longer meets "
                "the criterion, and the next run ends the notice (you are not listed)",
            )
        ],
        "zh": [
            (
                "notice_ending",
                "不会将您列入失信名单（失信被执行人）：该记录现已不符合此条件，下次评分时结束告知（您不会被列入）",
            )
        ],
    }


# J1's listing in its notice period, as Beijing's run of 2026-02-01 made it
_NOTICE = {
    "en": [
        (
            "notice",
            "will put you on the blacklist (judgment defaulter) from 2026-04-02 unless the cause is resolved before "
            "then",
        )
    ],
    "zh": [("notice", "将于2026-04-02起将您列入失信名单（失信被执行人），除非此前消除原因")],
}


def test_a_record_of_another_kind_since_the_run_keeps_the_notice(tmp_path: Path) -> None:
    """A traffic ticket of A ingested after the run: the service rescores him live, and the pass leaves the
    blacklisting out of the lists decisions see (its grace period runs) but still finds J1 meeting the criterion.
    From 802736a to 2026-12-07 J1 read "will not put you on … no longer meets the criterion" (the live entries were
    those in effect only)."""
    store = _noticed(tmp_path, "beijing")
    ticket = [["T9", A, "traffic_ticket", "2026-02-05", "speeding", "200", "paid"]]
    header = ["record_id", "subject_id", "record_type", "event_date", "offence", "fine", "status"]
    ingest(store, write_csv(tmp_path / "t.csv", header, ticket), "traffic_police", dt.date(2026, 2, 10))
    assert _api(tmp_path, store) == _NOTICE


def test_a_correction_still_meeting_the_criterion_keeps_the_notice(tmp_path: Path) -> None:
    """J1 sent again with another amount, still unfulfilled: it still meets the criterion, the notice stands."""
    store = _noticed(tmp_path, "beijing")
    more = [["J1", A, "court_judgment", "2026-01-10", "civil", "13000", "unfulfilled", "true", "true"]]
    ingest(store, write_csv(tmp_path / "more.csv", [*JUDGMENT, "correction"], more), "courts", dt.date(2026, 2, 10))
    assert _api(tmp_path, store) == _NOTICE


def test_one_of_two_records_corrected_out_of_the_criterion_says_so_itself(tmp_path: Path) -> None:
    """A has a second defaulter judgment, J2, sent after J1: the run's cause and listing are J1's. J1 is corrected to
    fulfilled in the notice period: the live pass still finds the criterion, by J2, but not by J1, whose listing the
    next run ends (``resolved``). Until 2026-12-07 J1 read the plain notice (the check was by list and criterion)."""
    store = built(tmp_path)
    two = [["J2", A, "court_judgment", "2026-01-12", "civil", "9000", "unfulfilled", "true"]]
    ingest(store, write_csv(tmp_path / "j2.csv", JUDGMENT, two), "courts", dt.date(2026, 1, 12))
    score_on_its_day(store, resolve_policy(store, "beijing"), NOTICED)
    assert store.rows("SELECT record_id, status FROM listings WHERE subject_id = ?", [A]) == [
        {"record_id": "J1", "status": "pending"}
    ]
    paid = [["J1", A, "court_judgment", "2026-01-10", "civil", "12000", "fulfilled", "true", "true"]]
    ingest(store, write_csv(tmp_path / "paid.csv", [*JUDGMENT, "correction"], paid), "courts", dt.date(2026, 2, 10))
    assert _api(tmp_path, store)["en"] == [
        (
            "notice_ending",
            "will not put you on the blacklist (judgment defaulter): the record as it now stands no longer meets "
            "the criterion, and the next run ends the notice (you are not listed)",
        )
    ]
