"""A listing's details, notices worded relative to today, the daily job putting past-due listings in effect, and credit
repair as a workflow (eligibility, an application with a commitment, review, the deadline, the operator's answer),
on a controlled clock, through the registry, the installed command, a real server's pages and API, and Chromium.

Dates, by hand (the world is due_world.py): 张三's judgment J1 (12 000 yuan, defaulter) of 2026-01-10 is serious
(Beijing: repair after 365 days of publication, publication ends after 1095). Noticed by the run of 2026-02-01 with
60 days' grace, the listing takes effect on 2026-04-02; repair may be asked from 2026-04-02 + 365 = 2027-04-02; it
ends by itself on 2026-04-02 + 1095 = 2029-04-01 (2028 is a leap year). An application made on 2027-04-10 is
answered by 2027-04-10 + 15 = 2027-04-25; the daily job of 2027-04-26 flags it overdue.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api_helpers import auth, serving
from due_world import A, B, C, build, built, built_run, ingest, score_on_its_day, write_csv
from page_text import raw_identifiers, visible_text
from socialcredit.api.app import create_app
from socialcredit.clock import resolve_today
from socialcredit.errors import NotFoundError, WorkflowError
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.decisions.decide import decide
from socialcredit.registry.due_process import disputes, overrides, repair
from socialcredit.registry.due_process.daily import run_daily
from socialcredit.registry.due_process.listings import list_listings
from socialcredit.registry.due_process.notifications import list_notifications
from socialcredit.registry.due_process.public_lists import public_lookup
from socialcredit.registry.reporting.listing_details import listing_detail, negative_records, record_detail
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.store import Store, open_store
from store_copies import copy_of
from web_helpers import browser, csrf_of, shots, sign_in

__all__ = ["browser", "shots"]  # fixtures

D = dt.date
CLI = Path(sys.executable).parent / "socialcredit"  # the installed console script beside this interpreter
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
DOCS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return built(tmp_path)


@pytest.fixture
def after_notice(tmp_path: Path) -> Store:
    """The world as ``run(store, D(2026, 2, 1))`` leaves it (张三 noticed), built once per process and copied."""
    return built_run(tmp_path, "beijing", "2026-02-01")


@pytest.fixture
def after_listing(tmp_path: Path) -> Store:
    """The world as ``listed(store)`` leaves it: ``listed_copy``."""
    return listed_copy(tmp_path)


def run(store: Store, as_of: dt.date) -> None:
    score_on_its_day(store, resolve_policy(store, "beijing"), as_of)


def listed(store: Store) -> Store:
    """张三 noticed on 2026-02-01 and listed on 2026-04-02."""
    run(store, D(2026, 2, 1))
    run(store, D(2026, 4, 2))
    return store


def listed_copy(folder: Path) -> Store:
    """The world of ``listed`` in ``folder``: built once per process and copied (store_copies.copy_of)."""
    # Each run is made on min(its as-of date, the registry's today): the name carries those days, so a test under
    # another clock gets the world made under that clock, as due_world.built_scored does.
    on = "-".join(min(day, resolve_today()).isoformat() for day in (D(2026, 2, 1), D(2026, 4, 2)))
    return copy_of(folder, f"repair-workflow-listed@{on}", lambda where: listed(build(where)), db="due.duckdb")


# -- the details of a listing and a negative record ---------------------------------------------------------------


def test_a_listing_in_notice_says_who_what_how_much_and_every_date(after_notice: Store) -> None:
    store = after_notice  # run 1: beijing as of 2026-02-01, on its day
    [x] = list_listings(store, subject_id=A)
    d = listing_detail(store, A, int(x["listing_id"]), lang="en", today=D(2026, 3, 1))
    assert (d["state"], d["list"], d["criterion"], d["policy"]) == (
        "upcoming",
        "blacklist",
        "judgment defaulter",
        "Beijing social credit score",
    )
    assert d["record"]["source"] == {
        "name": "people's courts",
        "contact": "the litigation service hotline 12368, or the service centre of the court that gave the judgment",
    }
    assert (d["record"]["reference"], d["record"]["amount"], d["record"]["event_date"]) == (
        "J1",
        "12,000 yuan",
        "2026-01-10",
    )
    assert (d["noticed_on"], d["effective_on"], d["repair_from"], d["ends_on"]) == (
        "2026-02-01",
        "2026-04-02",
        "2027-04-02",
        "2029-04-01",
    )
    assert d["notice"] == (
        "Notice: you meet a criterion of the blacklist (judgment defaulter). You will be listed on 2026-04-02 unless "
        "the cause is resolved before then."
    )
    assert [(s["key"], s["href"]) for s in d["steps"]] == [
        ("dispute", "/me/disputes?record=courts%7CJ1#file"),
        ("fulfil", None),
        ("repair", "/me/repair?source=courts&record=J1"),
        ("wait", None),
    ]
    assert [s["text"] for s in d["steps"]][1:] == [
        "Fulfil the judgment to leave the list. The source then reports it fulfilled.",
        "Once fulfilled, apply for credit repair from 2027-04-02.",
        "Otherwise it ends by itself on 2029-04-01.",
    ]
    zh = listing_detail(store, A, int(x["listing_id"]), lang="zh", today=D(2026, 3, 1))
    assert (
        zh["notice"] == "通知：您符合失信名单的列入条件（失信被执行人）。除非在此之前原因消除，将于 2026-04-02 起列入。"
    )
    assert zh["record"]["amount"] == "12,000 元"
    words = " ".join([zh["notice"], zh["list"], zh["criterion"], zh["policy"], *(s["text"] for s in zh["steps"])])
    assert raw_identifiers(words, lang="zh") == []


def test_the_notice_is_worded_relative_to_today(after_notice: Store) -> None:
    store = after_notice  # run 1: beijing as of 2026-02-01, on its day
    lid = int(list_listings(store, subject_id=A)[0]["listing_id"])

    def notice(today: dt.date, lang: str = "en") -> str:
        return str(listing_detail(store, A, lid, lang=lang, today=today)["notice"])

    assert notice(D(2026, 4, 1)).startswith(
        "Notice: you meet a criterion of the blacklist (judgment defaulter). You will"
    )
    # the date passed, no run and no daily job yet: it does not pretend to be in effect, nor still to come
    assert notice(D(2026, 4, 2)) == (
        "The notice period of the blacklist (judgment defaulter) ended on 2026-04-02; the listing takes effect at "
        "the registry's next daily check unless the cause has been resolved."
    )
    run(store, D(2026, 4, 2))
    assert notice(D(2026, 5, 1)) == (
        "You have been on the blacklist (judgment defaulter) since 2026-04-02. It ends by itself on 2029-04-01."
    )
    assert (
        notice(D(2026, 5, 1), "zh") == "自 2026-04-02 起您已被列入失信名单（失信被执行人）。将于 2029-04-01 自动移出。"
    )
    store.execute("UPDATE listings SET status = 'delisted', closed_on = DATE '2026-06-01' WHERE listing_id = ?", [lid])
    assert notice(D(2026, 7, 1)) == (
        "Your listing on the blacklist (judgment defaulter) ended on 2026-06-01: the cause was resolved."
    )
    assert notice(D(2026, 7, 1), "zh") == "您在失信名单（失信被执行人）的列入已于 2026-06-01 结束：原因已消除。"
    assert listing_detail(store, A, lid, lang="en", today=D(2026, 7, 1))["steps"] == []


def test_stored_notices_name_the_policy_list_and_criterion_in_words(after_notice: Store) -> None:
    store = after_notice  # run 1: beijing as of 2026-02-01, on its day
    [zh] = [n["text"] for n in list_notifications(store, A, "zh")]
    assert zh == (
        "通知：根据北京市社会信用评分，您符合失信名单的列入条件：失信被执行人（记录 J1）。除非在此之前原因消除，"
        "将于 2026-04-02 起列入。您可以对记录提出异议或履行义务。"
    )
    assert raw_identifiers(zh, lang="zh") == []


def test_an_operator_s_overrides_are_told_in_words(after_listing: Store) -> None:
    store = after_listing  # listed(store): noticed on 2026-02-01, listed on 2026-04-02
    d = decide(store, A, "high_speed_rail", "ticket", requester="railway")
    why = "Reviewed by hand: the judgment was paid in court."
    assert d.inquiry_id is not None
    overrides.override_decision(store, d.inquiry_id, "granted", why, "key:ops", today=D(2026, 5, 1))
    asked = str(store.one("SELECT CAST(asked_at AS DATE) FROM inquiries WHERE inquiry_id = ?", [d.inquiry_id]))
    assert (
        list_notifications(store, A, "zh")[-1]["text"]
        == f"运营人员复核了 {asked} 的高铁购票决定（拒绝），改为准予：{why}"
    )
    assert list_notifications(store, A)[-1]["text"] == (
        f"An operator reviewed the high-speed rail ticket decision of {asked} (refused) and changed it to granted: "
        f"{why}"
    )
    overrides.override_listing(store, 1, why, "key:ops", today=D(2026, 5, 1))
    assert list_notifications(store, A, "zh")[-1]["text"] == f"运营人员将您移出失信名单（失信被执行人）：{why}"


def test_a_negative_record_has_the_same_details(after_listing: Store) -> None:
    store = after_listing  # listed(store): noticed on 2026-02-01, listed on 2026-04-02
    assert negative_records(store, A) == {("courts", "J1"): {"severity": "serious", "ends_on": None}}
    assert negative_records(store, B) == {("traffic_police", "T1"): {"severity": "minor", "ends_on": "2027-02-01"}}
    d = record_detail(store, A, "courts", "J1", lang="en", today=D(2026, 5, 1))
    assert (d["severity"], d["effective_on"], d["repair_from"], d["publication_ends_on"], d["listing_id"]) == (
        "serious",
        "2026-04-02",
        "2027-04-02",
        "2029-04-01",
        1,
    )
    t1 = record_detail(store, B, "traffic_police", "T1", lang="zh", today=D(2026, 5, 1))
    # minor: no minimum publication; the speeding rule counts it 365 days from 2026-02-01
    assert (t1["record"]["amount"], t1["repair_from"], t1["ends_on"]) == ("200 元", "2026-02-01", "2027-02-01")
    assert t1["steps"][-1]["text"] == "否则将于 2027-02-01 自动结束。"
    with pytest.raises(NotFoundError, match="no record 'J1' in your file"):
        record_detail(store, B, "courts", "J1", lang="en", today=D(2026, 5, 1))


# -- the daily job: a listing past its date takes effect -----------------------------------------------------------


def test_the_daily_job_puts_a_listing_in_effect_on_its_date(after_notice: Store) -> None:
    store = after_notice  # run 1: beijing as of 2026-02-01, on its day
    assert decide(store, A, "high_speed_rail", "ticket", requester="railway").granted
    assert run_daily(store, D(2026, 4, 1))["listings_effective"] == []
    assert run_daily(store, D(2026, 4, 2))["listings_effective"] == [1]
    assert list_listings(store, subject_id=A)[0]["status"] == "effective"
    assert not decide(store, A, "high_speed_rail", "ticket", requester="railway").granted
    told = list_notifications(store, A)[-1]
    assert (told["kind"], told["text"]) == (
        "listing_effective",
        "blacklist (judgment defaulter): the notice period ended; you have been listed since 2026-04-02.",
    )
    assert (
        list_notifications(store, A, "zh")[-1]["text"]
        == "失信名单（失信被执行人）：通知期已满，自 2026-04-02 起已被列入。"
    )
    detail = store.rows("SELECT detail FROM audit_log WHERE action = 'listings_effective'")
    assert json.loads(detail[0]["detail"]) == {"on": "2026-04-02", "listings": [1]}
    assert run_daily(store, D(2026, 4, 3))["listings_effective"] == []  # once


def test_the_daily_job_leaves_a_disputed_listing_for_the_next_run(after_notice: Store) -> None:
    store = after_notice  # run 1: beijing as of 2026-02-01, on its day
    disputes.file_dispute(store, A, "courts", "J1", "I paid it", actor="resident", today=D(2026, 3, 1))
    assert run_daily(store, D(2026, 4, 2))["listings_effective"] == []
    assert list_listings(store, subject_id=A)[0]["status"] == "pending"


def test_the_daily_job_leaves_a_listing_whose_record_aged_out_of_its_window_for_the_next_run(
    store: Store, tmp_path: Path
) -> None:
    """Beijing's major_tax_evasion counts a record dated within 1095 days. Noticed on 2026-02-01, the listings take
    effect on 2026-04-02: 李四's X2 of 2023-04-03 is 1095 days old that day (2024 is a leap year), out of the window,
    and a run of that day no longer finds it; 王五's X3 of 2023-04-04 is 1094 days old, still in it. The daily job put
    both in effect, 李四 public on the blacklist until the next run delisted him."""
    header = ["record_id", "subject_id", "record_type", "event_date", "amount", "status", "days_late"]
    evasions = [["X2", B, "tax_payment", "2023-04-03", "200000", "evaded", "0"]]
    evasions.append(["X3", C, "tax_payment", "2023-04-04", "200000", "evaded", "0"])
    ingest(store, write_csv(tmp_path / "evasions.csv", header, evasions), "tax_bureau", D(2026, 2, 1))
    run(store, D(2026, 2, 1))
    ids = {r["record_id"]: r["listing_id"] for r in list_listings(store)}
    assert run_daily(store, D(2026, 4, 2))["listings_effective"] == [ids["J1"], ids["X3"]]
    status = {r["record_id"]: r["status"] for r in list_listings(store)}
    assert status == {"J1": "effective", "X2": "pending", "X3": "effective"}
    assert public_lookup(store, "李四") == []
    assert [n["kind"] for n in list_notifications(store, B)] == ["listing_notice"]
    run(store, D(2026, 4, 2))  # the run of the same day agrees: X2 never listed
    status = {r["record_id"]: r["status"] for r in list_listings(store)}
    assert status == {"J1": "effective", "X2": "resolved", "X3": "effective"}


# -- credit repair: eligibility, application, review, deadline, answer ---------------------------------------------


def test_eligibility_is_computed_from_severity_date_and_fulfilment(after_listing: Store) -> None:
    store = after_listing  # listed(store): noticed on 2026-02-01, listed on 2026-04-02
    e = repair.repair_eligibility(store, A, "courts", "J1", today=D(2027, 4, 1))
    assert (e["severity"], e["published_from"], e["eligible_from"], e["ends_on"], e["blockers"], e["eligible"]) == (
        "serious",
        "2026-04-02",
        "2027-04-02",
        "2029-04-01",
        ["too_early", "not_fulfilled"],
        False,
    )
    repair.report_fulfilment(store, "courts", "J1", fulfilled_on=D(2027, 3, 1), today=D(2027, 3, 1))
    told = list_notifications(store, A)[-1]["text"]
    assert told.startswith("The people's courts report the obligation of record J1 fulfilled on 2027-03-01.")
    assert list_notifications(store, A, "zh")[-1]["text"].startswith(
        "人民法院报告记录 J1 所涉义务已于 2027-03-01 履行。"
    )
    assert repair.repair_eligibility(store, A, "courts", "J1", today=D(2027, 4, 1))["blockers"] == ["too_early"]
    e = repair.repair_eligibility(store, A, "courts", "J1", today=D(2027, 4, 2))
    assert (e["eligible"], e["fulfilled_on"], e["blockers"]) == (True, "2027-03-01", [])
    assert repair.repair_eligibility(store, B, "traffic_police", "T1", today=D(2027, 4, 2))["blockers"] == [
        "not_fulfilled"
    ]


def test_an_application_is_overdue_from_the_day_after_its_answer_is_due_whichever_day_the_job_runs(
    after_listing: Store,
) -> None:
    """Applied for on 2027-04-10, answer due by 2027-04-25: overdue from 2027-04-26 though the daily job first runs
    on 2027-05-03 (until 2026-12-05 it was flagged, and the resident told, as of 2027-05-03)."""
    store = after_listing  # listed(store): noticed on 2026-02-01, listed on 2026-04-02
    repair.report_fulfilment(store, "courts", "J1", fulfilled_on=D(2027, 3, 1), today=D(2027, 3, 1))
    rid = int(repair.apply_for_repair(store, A, "courts", "J1", "paid", "resident", today=D(2027, 4, 10))["repair_id"])
    assert run_daily(store, D(2027, 5, 3))["overdue_repairs"] == [rid]
    assert repair.get_repair(store, rid)["overdue_on"] == "2027-04-26"
    assert [n["created_on"] for n in list_notifications(store, A) if n["kind"] == "repair_overdue"] == ["2027-04-26"]


def test_an_application_is_submitted_reviewed_flagged_overdue_and_granted(after_listing: Store) -> None:
    store = after_listing  # listed(store): noticed on 2026-02-01, listed on 2026-04-02
    repair.report_fulfilment(store, "courts", "J1", fulfilled_on=D(2027, 3, 1), today=D(2027, 3, 1))
    r = repair.apply_for_repair(
        store,
        A,
        "courts",
        "J1",
        "I paid the judgment on 2027-03-01",
        "resident",
        today=D(2027, 4, 10),
        commitment="I will meet every court order on time.",
        evidence="bank transfer 2027-03-01 ref 77",
    )
    assert (r["stage"], r["answer_due"], r["commitment"], r["evidence"]) == (
        "submitted",
        "2027-04-25",
        "I will meet every court order on time.",
        "bank transfer 2027-03-01 ref 77",
    )
    rid = int(r["repair_id"])
    with pytest.raises(WorkflowError, match="already has repair application"):
        repair.apply_for_repair(store, A, "courts", "J1", "again", "resident", today=D(2027, 4, 11))
    reviewed = repair.start_review(store, rid, "key:ops", today=D(2027, 4, 12))
    assert (reviewed["stage"], reviewed["review_started_on"]) == ("under_review", "2027-04-12")
    assert list_notifications(store, A)[-1]["text"] == (
        f"Your repair application {rid} (record J1) is under review; the answer, with its reasons, is due by "
        "2027-04-25."
    )
    assert repair.start_review(store, rid, "key:ops", today=D(2027, 4, 13))["review_started_on"] == "2027-04-12"
    assert run_daily(store, D(2027, 4, 25))["overdue_repairs"] == []
    assert run_daily(store, D(2027, 4, 26))["overdue_repairs"] == [rid]
    assert run_daily(store, D(2027, 4, 27))["overdue_repairs"] == []  # flagged once
    assert repair.get_repair(store, rid)["overdue_on"] == "2027-04-26"
    assert list_notifications(store, A)[-1]["text"] == (
        f"Your repair application {rid} (record J1) was not answered by 2027-04-25; the registry has flagged it as "
        "overdue to the operators, who must answer it first."
    )
    granted = repair.decide_repair(
        store, rid, "approved", "Paid in full; commitment given.", "key:ops", today=D(2027, 4, 27)
    )
    assert (granted["stage"], granted["decided_on"], granted["decision_reason"]) == (
        "granted",
        "2027-04-27",
        "Paid in full; commitment given.",
    )
    assert list_listings(store, subject_id=A)[0]["status"] == "repaired"
    audited = store.rows("SELECT actor, detail FROM audit_log WHERE action = 'repair_approved'")
    assert (audited[0]["actor"], json.loads(audited[0]["detail"])) == (
        "key:ops",
        # the operator's words are kept with the application, not in the log (docs/audit.md)
        {"repair_id": rid, "reason": {"kept_in": "repairs.decision_reason", "chars": 31}},
    )
    assert decide(store, A, "high_speed_rail", "ticket", requester="railway").granted


# -- the installed command ----------------------------------------------------------------------------------------


def _cli(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent / "src")}
    env.pop("SOCIALCREDIT_TODAY", None)
    return subprocess.run(
        [str(CLI), *args, "--db", str(db)], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_an_application_is_neither_reviewed_nor_decided_before_it_was_made(store: Store) -> None:
    """The registry's clock set back: an application of 2027-04-10 was granted with a decision dated 2027-04-09 (its
    listing closed the day before anyone asked). Both steps are refused naming both dates; on the day, taken."""
    listed(store)
    repair.report_fulfilment(store, "courts", "J1", fulfilled_on=D(2027, 3, 1), today=D(2027, 3, 1))
    rid = int(repair.apply_for_repair(store, A, "courts", "J1", "paid", "resident", today=D(2027, 4, 10))["repair_id"])
    for what, step in [
        ("its review", lambda: repair.start_review(store, rid, "key:ops", today=D(2027, 4, 9))),
        ("its decision", lambda: repair.decide_repair(store, rid, "approved", "paid", "key:ops", today=D(2027, 4, 9))),
    ]:
        with pytest.raises(WorkflowError) as info:
            step()
        assert (info.value.code, str(info.value)) == (
            "before_application",
            f"repair application {rid} was made on 2027-04-10; {what} cannot be dated 2027-04-09, before that",
        )
    assert list_listings(store, subject_id=A)[0]["status"] == "effective"
    granted = repair.decide_repair(store, rid, "approved", "paid", "key:ops", today=D(2027, 4, 10))
    assert granted["stage"] == "granted"
    assert (list_listings(store, subject_id=A)[0]["status"], list_listings(store, subject_id=A)[0]["closed_on"]) == (
        "repaired",
        "2027-04-10",
    )


@pytest.mark.slow  # four runs of the installed command
def test_the_command_line_has_eligibility_review_and_the_daily_flags(tmp_path: Path) -> None:
    store = listed_copy(tmp_path)
    repair.report_fulfilment(store, "courts", "J1", fulfilled_on=D(2027, 3, 1), today=D(2027, 3, 1))
    store.close()
    db = tmp_path / "due.duckdb"
    early = _cli("repair", "eligibility", A, "courts", "J1", "--today", "2027-04-01", db=db)
    assert (early.returncode, early.stdout.strip()) == (
        0,
        "record J1 (courts): serious; repair may be asked from 2027-04-02; publication ends by itself on "
        "2029-04-01; fulfilled 2027-03-01; not eligible (too_early).",
    )
    early_apply = _cli("repair", "apply", A, "courts", "J1", "--statement", "paid", "--today", "2027-04-01", db=db)
    assert (
        early_apply.returncode == 2
        and "you may apply for repair from 2027-04-02" in early_apply.stdout + early_apply.stderr
    )
    applied = _cli(
        "repair", "apply", A, "courts", "J1", "--statement", "paid", "--commitment", "I keep my word",
        "--today", "2027-04-10", db=db,
    )  # fmt: skip
    assert (applied.returncode, applied.stdout.strip()) == (0, "repair 1 (serious): pending; answer due by 2027-04-25.")
    reviewed = _cli("repair", "review", "1", "--today", "2027-04-11", db=db)
    assert (reviewed.returncode, reviewed.stdout.strip()) == (
        0,
        "repair 1: under review since 2027-04-11; answer due by 2027-04-25.",
    )
    daily = _cli("due", "run", "--today", "2027-04-26", db=db)
    assert daily.returncode == 0
    assert "1 repair applications not answered by their deadline flagged as overdue (1)." in daily.stdout


# -- the pages and the API on a real server -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """张三 listed since 2026-04-02, the judgment reported paid on 2027-03-01; the service's clock on 2027-04-10."""
    folder = tmp_path_factory.mktemp("repair")
    store = listed_copy(folder)
    repair.report_fulfilment(store, "courts", "J1", fulfilled_on=D(2027, 3, 1), today=D(2027, 3, 1))
    rail = {"services": ["high_speed_rail"], "purposes": ["ticket purchase"], "known_services": {"high_speed_rail"}}
    keys = {
        "resident": issue_key(store, "resident", "张三", subject=A),
        "other": issue_key(store, "resident", "李四", subject=B),
        "operator": issue_key(store, "operator", "registry operations"),
        "railway": issue_key(store, "relying_party", "China Railway 12306", **rail),  # type: ignore[arg-type]
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOCIALCREDIT_TODAY", "2027-04-10")
        app = create_app(folder / "due.duckdb", store=store)
        with serving(app) as base:
            yield {"base": base, "service": app.state.service, "keys": {k: v.token for k, v in keys.items()}}
    store.close()


def _rail(served: dict[str, Any]) -> dict[str, Any]:
    body = {"subject_id": A, "service": "high_speed_rail", "purpose": "ticket purchase"}
    r = httpx.post(served["base"] + "/v1/decisions", json=body, headers=auth(served["keys"]["railway"]), timeout=30)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def _granted_soon(served: dict[str, Any], seconds: float = 20) -> dict[str, Any]:
    """The decision once the service has rescored (its live thread runs every 0.2 s)."""
    deadline = time.monotonic() + seconds
    d = _rail(served)
    while not d["granted"] and time.monotonic() < deadline:
        time.sleep(0.2)
        d = _rail(served)
    return d


def test_the_pages_show_the_listing_its_details_and_the_reasons_of_refusals(served: dict[str, Any]) -> None:
    with httpx.Client(base_url=served["base"], timeout=30) as client:
        sign_in(client, served["keys"]["resident"])
        overview = client.get("/me?lang=en")
        text = visible_text(overview.text)
        since = "You have been on the blacklist (judgment defaulter) since 2026-04-02. It ends by itself on 2029-04-01."
        assert text.count(since) == 2  # the box at the top and the notice, reworded as of today
        assert 'href="/me/listings/1" data-testid="listing-link"' in overview.text
        assert 'href="/me/listings/1" data-testid="notice-listing"' in overview.text
        assert 'href="/me/disputes?record=courts%7CJ1#file" data-testid="notice-dispute"' in overview.text
        assert "high-speed rail ticket : refused People on the blacklist may not buy high-speed rail tickets." in text
        assert overview.text.count('data-testid="refused-listing"') >= 2
        page = client.get("/me/listings/1?lang=en")
        assert page.status_code == 200
        facts = visible_text(page.text.split('data-testid="listing-facts">')[1].split("</dl>")[0])
        assert facts == (
            "Policy Beijing social credit score Recorded by people's courts Contact the litigation service hotline "
            "12368, or the service centre of the court that gave the judgment Case or reference number J1 Record "
            "court judgment · 2026-01-10 Amount 12,000 yuan Noticed on 2026-02-01 Takes effect 2026-04-02 Repair may "
            "be asked from 2027-04-02 Ends by itself on 2029-04-01"
        )
        assert 'href="/me/repair?source=courts&amp;record=J1" data-testid="step-repair"' in page.text
        assert "You may apply for credit repair now." in visible_text(page.text)
        zh = client.get("/me/listings/1?lang=zh")
        assert raw_identifiers(visible_text(zh.text), lang="zh") == []
        assert "自 2026-04-02 起您已被列入失信名单（失信被执行人）。将于 2029-04-01 自动移出。" in zh.text
        assert "诉讼服务热线 12368" in zh.text and "12,000 元" in zh.text
        overview_zh = visible_text(client.get("/me?lang=zh").text)
        notices = overview_zh.split("通知", 1)[1]
        assert "judgment_defaulter" not in notices and "beijing" not in notices
        records = client.get("/me/records?lang=en")
        assert "Negative record; stops counting on no end date." in visible_text(records.text)
        assert 'href="/me/records/detail?source=courts&amp;record=J1" data-testid="record-details"' in records.text
        detail = client.get("/me/records/detail", params={"source": "courts", "record": "J1", "lang": "en"})
        assert detail.status_code == 200 and "See the listing this record caused" in detail.text
        # another resident's listing and record are not found, as if they did not exist
        other = httpx.Client(base_url=served["base"], timeout=30)
        sign_in(other, served["keys"]["other"])
        assert other.get("/me/listings/1").status_code == 404
        assert other.get("/me/records/detail", params={"source": "courts", "record": "J1"}).status_code == 404
        assert other.get("/me/repair", params={"source": "courts", "record": "J1"}).status_code == 404
        assert other.get("/me/listings/x").status_code == 404
        other.close()


def test_the_resident_applies_and_the_operator_grants_over_http(served: dict[str, Any]) -> None:
    assert _rail(served)["granted"] is False
    with httpx.Client(base_url=served["base"], timeout=30) as resident:
        sign_in(resident, served["keys"]["resident"])
        form = resident.get("/me/repair?source=courts&record=J1&lang=en")
        assert form.status_code == 200
        text = visible_text(form.text)
        assert (
            "Shortest publication period of 365 days (from 2026-04-02); you may apply from 2027-04-02: met" in text
            and "The source reported the obligation fulfilled on 2027-03-01: met" in text
            and "within 15 days of your application" in text
        )
        data = {"csrf": csrf_of(form.text), "source": "courts", "record": "J1", "statement": "Paid on 2027-03-01"}
        no_promise = resident.post("/me/repair", data={**data, "commitment": "I will pay on time."})
        assert no_promise.status_code == 400 and "Tick the box to confirm your commitment." in no_promise.text
        no_text = resident.post("/me/repair", data={**data, "promise": "yes", "commitment": " "})
        assert no_text.status_code == 400 and "Write your commitment." in no_text.text
        forged = resident.post("/me/repair", data={**data, "csrf": "x", "promise": "yes", "commitment": "c"})
        assert forged.status_code == 403
        # a control character: refused in the page's language, as a text too long is (it was the registry's English)
        bad = {**data, "promise": "yes", "commitment": "I will\x1b[2J pay"}
        escaped = resident.post("/me/repair", params={"lang": "zh"}, data=bad)
        assert escaped.status_code == 400 and "内容中有控制字符；请只写普通文字。" in escaped.text
        sent = resident.post(
            "/me/repair", data={**data, "promise": "yes", "commitment": "I will pay on time.", "evidence": "ref 77"}
        )
        assert (
            sent.status_code == 303
            and sent.headers["location"] == "/me/repair?source=courts&record=J1&applied=1#status"
        )
        status = visible_text(resident.get("/me/repair?source=courts&record=J1&applied=1&lang=en").text)
        assert "Your credit repair application 1 was received." in status
        assert "Status submitted Applied on 2027-04-10 Answer due by 2027-04-25" in status
        again = resident.post("/me/repair", data={**data, "promise": "yes", "commitment": "again"})
        assert again.status_code == 400 and "This record already has an open application." in again.text
    with httpx.Client(base_url=served["base"], timeout=30) as ops:
        sign_in(ops, served["keys"]["operator"])
        listing = ops.get("/ops/repairs?lang=en")
        assert listing.status_code == 200
        assert "2027-04-25 application 1 submitted" in visible_text(listing.text)
        case = ops.get("/ops/repairs/1?lang=en")
        assert "Commitment (信用承诺): I will pay on time." in visible_text(case.text)
        reviewed = ops.post("/ops/repairs/1/review", data={"csrf": csrf_of(case.text)})
        assert reviewed.status_code == 303
        no_reason = ops.post("/ops/repairs/1/decision", data={"csrf": csrf_of(case.text), "outcome": "grant"})
        assert no_reason.status_code == 400 and "Write the reasons." in no_reason.text
        granted = ops.post(
            "/ops/repairs/1/decision",
            data={"csrf": csrf_of(case.text), "outcome": "grant", "reason": "Paid in full on 2027-03-01."},
        )
        assert granted.status_code == 303
        assert "Status granted" in visible_text(ops.get("/ops/repairs/1?lang=en").text)
        # the button pressed again (a double submission) is refused in the page's language, not the registry's
        # English ("repair application 1 was decided already (approved)" on a Chinese page)
        again = {"csrf": csrf_of(case.text), "outcome": "refuse", "reason": "Pressed twice."}
        for lang, said in (
            ("zh", "该申请已经作出决定，不能再次决定。"),
            ("en", "This application was decided already; it cannot be decided again."),
        ):
            twice = ops.post(f"/ops/repairs/1/decision?lang={lang}", data=again)
            assert twice.status_code == 400 and said in twice.text and "decided already (" not in twice.text
        assert ops.get("/ops/repairs/999").status_code == 404
        # a resident may not open the operator's pages
    with httpx.Client(base_url=served["base"], timeout=30) as resident:
        sign_in(resident, served["keys"]["resident"])
        assert resident.get("/ops/repairs").status_code == 403
        after = visible_text(resident.get("/me/repair?source=courts&record=J1&lang=en").text)
        assert "Status granted" in after and "Reasons: Paid in full on 2027-03-01." in after
    assert _granted_soon(served)["granted"] is True


def test_taking_an_application_under_review_before_it_was_made_is_refused_in_the_pages_language(
    tmp_path: Path,
) -> None:
    """The service's clock set back to 2027-04-09 and an application of 2027-04-10: "take under review" on a Chinese
    page said the registry's English ("repair application 1 was made on …") through the generic error page; it is
    the case page again with the refusal in the page's language, as a decision's is, and in words of a review (until
    2026-12-05 it said the decision's: "it cannot be decided before it was made")."""
    store = listed_copy(tmp_path)
    repair.report_fulfilment(store, "courts", "J1", fulfilled_on=D(2027, 3, 1), today=D(2027, 3, 1))
    repair.apply_for_repair(store, A, "courts", "J1", "paid", "resident", today=D(2027, 4, 10))
    operator = issue_key(store, "operator", "registry operations").token
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOCIALCREDIT_TODAY", "2027-04-09")
        app = create_app(tmp_path / "due.duckdb", store=store)
        with serving(app) as base, httpx.Client(base_url=base, timeout=30) as ops:
            sign_in(ops, operator)
            case = ops.get("/ops/repairs/1?lang=zh")
            for lang, said in (
                ("zh", "该申请提出的日期晚于登记机构今天的日期：不能在申请之日前开始审核。"),
                ("en", "This application was made after the registry's date today: it cannot be taken under review "
                 "before it was made."),
            ):  # fmt: skip
                r = ops.post(f"/ops/repairs/1/review?lang={lang}", data={"csrf": csrf_of(case.text)})
                assert r.status_code == 400 and said in visible_text(r.text)
                assert "decided before" not in r.text and "决定不能早于" not in r.text
                assert "was made on 2027-04-10" not in r.text
    assert repair.get_repair(store, 1)["review_started_on"] is None
    store.close()


def test_the_api_takes_a_commitment_and_an_operator_reviews(tmp_path: Path) -> None:
    store = listed_copy(tmp_path)
    repair.report_fulfilment(store, "courts", "J1", fulfilled_on=D(2027, 3, 1), today=D(2027, 3, 1))
    resident = issue_key(store, "resident", "张三", subject=A).token
    operator = issue_key(store, "operator", "ops").token
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOCIALCREDIT_TODAY", "2027-04-10")
        app = create_app(tmp_path / "due.duckdb", store=store)
        with serving(app) as base, httpx.Client(base_url=base, timeout=30) as c:
            body = {"source_id": "courts", "record_id": "J1", "statement": "paid", "commitment": "I keep my word"}
            r = c.post("/v1/repairs", json=body, headers=auth(resident))
            assert r.status_code == 201, r.text
            assert (r.json()["stage"], r.json()["answer_due"], r.json()["commitment"]) == (
                "submitted",
                "2027-04-25",
                "I keep my word",
            )
            assert c.post("/v1/repairs/1/review", headers=auth(resident)).status_code == 403
            rv = c.post("/v1/repairs/1/review", headers=auth(operator))
            assert (rv.status_code, rv.json()["stage"]) == (200, "under_review")
            missing = c.post("/v1/repairs/9/review", headers=auth(operator))
            assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
            long = c.post("/v1/repairs", json={**body, "commitment": "x" * 4001}, headers=auth(resident))
            assert long.status_code == 422
    store.close()


def test_a_look_up_of_one_dispute_or_repair_application_is_audited_and_an_operator_s_is_shown(tmp_path: Path) -> None:
    """One dispute or repair application (its resident's reason, statement, commitment, evidence), read over the API
    or on the operator's pages, is audited (`read_dispute`, `read_repair`: its number and the purpose; until
    2026-12-05 none of these was): the resident's own read, and an operator's, which the resident's list of who
    asked shows in the page's language. The listings the operator's page of an application shows are audited as
    part of the same look-up (`read_notices`)."""
    store = listed_copy(tmp_path)
    repair.report_fulfilment(store, "courts", "J1", fulfilled_on=D(2027, 3, 1), today=D(2027, 3, 1))
    resident = issue_key(store, "resident", "张三", subject=A)
    operator = issue_key(store, "operator", "registry operations")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOCIALCREDIT_TODAY", "2027-04-10")
        app = create_app(tmp_path / "due.duckdb", store=store)
        with serving(app) as base, httpx.Client(base_url=base, timeout=30) as c:
            body = {"source_id": "courts", "record_id": "J1", "statement": "paid", "commitment": "I keep my word"}
            assert c.post("/v1/repairs", json=body, headers=auth(resident.token)).status_code == 201
            body = {"source_id": "courts", "record_id": "J1", "reason": "paid in full"}
            filed = c.post("/v1/disputes", json=body, headers=auth(resident.token))
            assert filed.status_code == 201, filed.text
            did = filed.json()["dispute_id"]
            for who in (resident, operator):
                assert c.get(f"/v1/disputes/{did}", headers=auth(who.token)).status_code == 200
                assert c.get("/v1/repairs/1", headers=auth(who.token)).status_code == 200
            with httpx.Client(base_url=base, timeout=30) as ops:
                sign_in(ops, operator.token)
                assert ops.get(f"/ops/disputes/{did}").status_code == 200
                assert ops.get("/ops/repairs/1").status_code == 200
            with httpx.Client(base_url=base, timeout=30) as me:
                sign_in(me, resident.token)
                assert me.get(f"/me/disputes/{did}").status_code == 200
                pages = {lang: visible_text(me.get(f"/me/inquiries?lang={lang}").text) for lang in ("en", "zh")}
            with app.state.service.writer() as st:
                read = st.rows(
                    "SELECT actor, action, subject_id, detail FROM audit_log "
                    "WHERE action IN ('read_dispute', 'read_repair', 'read_notices') ORDER BY seq"
                )
    store.close()
    me, op = f"key:{resident.party.key_id}", f"key:{operator.party.key_id}"
    assert [(r["actor"], r["action"], r["subject_id"], json.loads(r["detail"])) for r in read] == [
        (me, "read_dispute", A, {"dispute_id": did, "purpose": "resident dispute"}),
        (me, "read_repair", A, {"repair_id": 1, "purpose": "resident repair"}),
        (op, "read_dispute", A, {"dispute_id": did, "purpose": "operator dispute"}),
        (op, "read_repair", A, {"repair_id": 1, "purpose": "operator repair"}),
        (op, "read_dispute", A, {"dispute_id": did, "purpose": "operator look-up: dispute"}),
        (op, "read_repair", A, {"repair_id": 1, "purpose": "operator look-up: repair"}),
        (
            op,
            "read_notices",
            A,
            {"policy_id": None, "status": None, "entries": 1, "purpose": "operator look-up: repair"},
        ),
        (me, "read_dispute", A, {"dispute_id": did, "purpose": "resident portal: dispute"}),
    ]
    viewed = {
        "en": "an operator (registry operations) viewed your file",
        "zh": "运营方（registry operations）查看了您的档案",
    }
    words = {
        "en": [
            "a dispute over the API",
            "a repair application over the API",
            "a dispute on the operators' pages",
            "a repair application on the operators' pages",
        ],
        "zh": ["通过接口查阅异议", "通过接口查阅信用修复申请", "在运营后台查阅异议", "在运营后台查阅信用修复申请"],
    }
    for lang, text in pages.items():
        assert text.count(viewed[lang]) == 4, lang
        assert all(w in text for w in words[lang]), lang


def test_a_resident_s_own_listing_record_and_repair_pages_are_audited_as_their_own_reads(tmp_path: Path) -> None:
    """The pages of one listing, one negative record and its repair (the record, its severity, eligibility and
    applications) are audited (`read_listing`, `read_record`: the listing's number or the record, and the purpose;
    until 2026-12-05 none was), as the resident's other pages are: by the resident, of their own file, and so not
    shown to them among who asked as an operator's view. Another's listing or record is not found, and not read."""
    store = listed_copy(tmp_path)
    repair.report_fulfilment(store, "courts", "J1", fulfilled_on=D(2027, 3, 1), today=D(2027, 3, 1))
    resident = issue_key(store, "resident", "张三", subject=A)
    other = issue_key(store, "resident", "李四", subject=B)
    record = {"source": "courts", "record": "J1"}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOCIALCREDIT_TODAY", "2027-04-10")
        app = create_app(tmp_path / "due.duckdb", store=store)
        with serving(app) as base:
            with httpx.Client(base_url=base, timeout=30) as them:
                sign_in(them, other.token)
                assert them.get("/me/listings/1").status_code == 404
                assert them.get("/me/records/detail", params=record).status_code == 404
                assert them.get("/me/repair", params=record).status_code == 404
            with httpx.Client(base_url=base, timeout=30) as me:
                sign_in(me, resident.token)
                assert me.get("/me/listings/1").status_code == 200
                assert me.get("/me/records/detail", params=record).status_code == 200
                assert me.get("/me/repair", params=record).status_code == 200
                pages = {lang: visible_text(me.get(f"/me/inquiries?lang={lang}").text) for lang in ("en", "zh")}
            with app.state.service.writer() as st:
                read = st.rows(
                    "SELECT actor, action, subject_id, detail FROM audit_log "
                    "WHERE action IN ('read_listing', 'read_record') ORDER BY seq"
                )
    store.close()
    me_ = f"key:{resident.party.key_id}"
    assert [(r["actor"], r["action"], r["subject_id"], json.loads(r["detail"])) for r in read] == [
        (me_, "read_listing", A, {"listing_id": 1, "purpose": "resident portal: listing"}),
        (me_, "read_record", A, {"source_id": "courts", "record_id": "J1", "purpose": "resident portal: record"}),
        (me_, "read_record", A, {"source_id": "courts", "record_id": "J1", "purpose": "resident portal: repair"}),
    ]
    assert "viewed your file" not in pages["en"] and "查看了您的档案" not in pages["zh"]


def test_the_command_line_s_repair_eligibility_and_public_look_up_are_audited_as_its_own(tmp_path: Path) -> None:
    """`repair eligibility` reads a resident's record: audited (`read_record`, purpose `repair eligibility`; until
    2026-12-05 not at all). `lookup` was audited as a visitor of the public page's ("public"): now as the command
    line's ("cli")."""
    store = listed_copy(tmp_path)
    store.close()
    db = tmp_path / "due.duckdb"
    e = _cli("repair", "eligibility", A, "courts", "J1", "--today", "2027-04-01", db=db)
    assert e.returncode == 0, e.stdout + e.stderr
    missing = _cli("repair", "eligibility", A, "courts", "NOPE", "--today", "2027-04-01", db=db)
    assert (missing.returncode, missing.stderr) == (2, "error: source courts holds no record 'NOPE'\n")  # not read
    found = _cli("lookup", "张三", db=db)
    assert found.returncode == 0, found.stdout + found.stderr
    st = open_store(db)
    read = st.rows(
        "SELECT actor, action, subject_id, detail FROM audit_log "
        "WHERE action IN ('read_record', 'public_lookup') ORDER BY seq"
    )
    st.close()
    assert [(r["actor"], r["action"], r["subject_id"], json.loads(r["detail"])) for r in read] == [
        ("cli", "read_record", A, {"source_id": "courts", "record_id": "J1", "purpose": "repair eligibility"}),
        ("cli", "public_lookup", None, {"list": None, "results": 1}),
    ]


# -- the operator's cases page --------------------------------------------------------------------------------------


def test_the_cases_page_counts_past_due_listings_apart_from_those_in_grace(tmp_path: Path) -> None:
    store = built(tmp_path)
    run(store, D(2026, 2, 1))  # 张三 noticed; takes effect 2026-04-02
    operator = issue_key(store, "operator", "ops").token
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOCIALCREDIT_TODAY", "2026-04-05")
        app = create_app(tmp_path / "due.duckdb", store=store)
        with serving(app) as base, httpx.Client(base_url=base, timeout=30) as c:
            sign_in(c, operator)
            text = visible_text(c.get("/ops/cases?lang=en").text)
            assert "Listings in their grace period (0)" in text
            assert "1 more listing has passed its effective date" in text
            mp.setenv("SOCIALCREDIT_TODAY", "2026-03-01")
            text = visible_text(c.get("/ops/cases?lang=en").text)
            assert "Listings in their grace period (1)" in text and "have passed their effective date" not in text
    store.close()


# -- in the browser ------------------------------------------------------------------------------------------------


@pytest.mark.browser
def test_a_refused_resident_applies_for_repair_and_is_granted_in_the_browser(
    tmp_path: Path, browser: Any, shots: Path
) -> None:
    store = listed_copy(tmp_path)
    repair.report_fulfilment(store, "courts", "J1", fulfilled_on=D(2027, 3, 1), today=D(2027, 3, 1))
    rail = {"services": ["high_speed_rail"], "purposes": ["ticket purchase"], "known_services": {"high_speed_rail"}}
    resident = issue_key(store, "resident", "张三", subject=A).token
    operator = issue_key(store, "operator", "registry operations").token
    railway = issue_key(store, "relying_party", "China Railway 12306", **rail).token  # type: ignore[arg-type]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOCIALCREDIT_TODAY", "2027-04-10")
        app = create_app(tmp_path / "due.duckdb", store=store)
        with serving(app) as base:
            served = {"base": base, "keys": {"railway": railway}}
            assert _rail(served)["granted"] is False
            for viewport, name in ((PHONE, "phone"), (DESKTOP, "desktop")):
                context = browser.new_context(viewport=viewport, base_url=base)
                page = context.new_page()
                page.goto("/signin")
                page.get_by_label("API 密钥").fill(resident)
                page.get_by_role("button", name="登录").click()
                page.goto("/me")
                refused = page.locator("li.refused").first.inner_text()
                assert refused.startswith("高铁购票: 不予办理 失信名单上的人员不得乘坐高铁。"), refused
                page.screenshot(path=str(shots / f"refused-overview-{name}.png"), full_page=True)
                page.get_by_test_id("listing-link").click()
                assert page.locator("h1").inner_text() == "失信名单: 失信被执行人"
                assert page.get_by_test_id("repair-from").inner_text() == "2027-04-02"
                assert _width(page) <= viewport["width"]
                page.screenshot(path=str(shots / f"listing-{name}.png"), full_page=True)
                page.get_by_test_id("step-repair").click()
                assert page.locator("h1").inner_text() == "信用修复"
                if name == "phone":
                    page.get_by_role("textbox", name="申请说明").fill("已于 2027-03-01 履行判决，全额支付。")
                    page.get_by_role("textbox", name="信用承诺").fill("本人承诺今后按时履行法院判决和各项义务。")
                    page.get_by_role("textbox", name="证明材料").fill("银行转账回单 77")
                    page.get_by_label("本人承诺以上内容真实").check()
                    assert _width(page) <= viewport["width"]
                    # the phone's picture is the application filled in; the desktop's, its status once sent
                    page.screenshot(path=str(shots / "repair-phone.png"), full_page=True)
                    page.get_by_role("button", name="提交申请").click()
                    assert page.get_by_test_id("repair-applied").inner_text() == "已收到您的信用修复申请 1。"
                    assert page.get_by_test_id("repair-stage").inner_text() == "已提交"
                    assert page.get_by_test_id("answer-due").inner_text() == "2027-04-25"
                else:
                    assert page.get_by_test_id("repair-stage").inner_text() == "已提交"
                    assert _width(page) <= viewport["width"]
                    page.screenshot(path=str(shots / "repair-desktop.png"), full_page=True)
                context.close()
            ops = browser.new_context(viewport=DESKTOP, base_url=base)
            page = ops.new_page()
            page.goto("/signin")
            page.get_by_label("API 密钥").fill(operator)
            page.get_by_role("button", name="登录").click()
            page.goto("/ops/cases")
            page.get_by_test_id("repairs-page").click()
            page.get_by_role("link", name="申请 1").click()
            page.get_by_label("批准修复").check()
            page.get_by_label("理由").fill("判决已全额履行，申请人作出信用承诺。")
            page.get_by_role("button", name="记录决定").click()
            assert page.get_by_test_id("ops-repair-stage").inner_text() == "已批准"
            ops.close()
            assert _granted_soon(served)["granted"] is True
            context = browser.new_context(viewport=PHONE, base_url=base)
            page = context.new_page()
            page.goto("/signin")
            page.get_by_label("API 密钥").fill(resident)
            page.get_by_role("button", name="登录").click()
            page.goto("/me")
            assert page.locator("li.granted", has_text="高铁购票").first.is_visible()
            context.close()
    store.close()


def _width(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


# -- properties ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def noticed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = build(tmp_path_factory.mktemp("noticed"))
    run(store, D(2026, 2, 1))
    yield store
    store.close()


@settings(max_examples=60, deadline=None)
@given(day=st.dates(min_value=D(2026, 2, 1), max_value=D(2030, 12, 31)), lang=st.sampled_from(["zh", "en"]))
def test_a_notice_in_notice_reads_in_words_and_in_the_tense_of_its_day(noticed: Store, day: dt.date, lang: str) -> None:
    text = listing_detail(noticed, A, 1, lang=lang, today=day)["notice"]
    assert raw_identifiers(text, lang=lang) == []
    before = {"zh": "将于 2026-04-02 起列入", "en": "You will be listed on 2026-04-02"}[lang]
    after = {"zh": "通知期已于 2026-04-02 届满", "en": "ended on 2026-04-02"}[lang]
    assert (before in text, after in text) == (day < D(2026, 4, 2), day >= D(2026, 4, 2))


_TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=300)


@settings(max_examples=25, deadline=None)
@given(source=_TEXT, record=_TEXT, statement=_TEXT, commitment=_TEXT, promise=st.sampled_from(["yes", "", "no"]))
def test_any_repair_form_is_answered_without_a_server_error(
    served: dict[str, Any], source: str, record: str, statement: str, commitment: str, promise: str
) -> None:
    with httpx.Client(base_url=served["base"], timeout=60) as client:
        sign_in(client, served["keys"]["other"])  # 李四: T1 is not reported fulfilled, J1 is not theirs
        form = client.get("/me/repair?source=traffic_police&record=T1")
        assert form.status_code == 200
        data = {"csrf": csrf_of(form.text), "source": source, "record": record, "statement": statement}
        r = client.post("/me/repair", data={**data, "commitment": commitment, "promise": promise})
        assert r.status_code in (400, 404), (r.status_code, r.text[:300])
