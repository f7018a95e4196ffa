"""Due process end to end on a controlled clock: disputes (answered, unanswered, extended), notice and grace,
repair and the end of publication, expiry on the exact day, the purge, consent, overrides, adverse-action notices.

Every date is computed by hand in the comments; the world is described in due_world.py.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from due_world import JUDGMENT, A, B, C, built, built_run, ingest, score_on_its_day, write_csv
from socialcredit.errors import DecisionError, WorkflowError, WorkflowInputError
from socialcredit.identifiers import make_ric
from socialcredit.regions.crossborder import export_sections
from socialcredit.registry.common import check_text
from socialcredit.registry.decisions.decide import decide
from socialcredit.registry.decisions.snapshot import Snapshot
from socialcredit.registry.due_process import disputes, overrides, repair
from socialcredit.registry.due_process.daily import run_daily
from socialcredit.registry.due_process.enrollment import notify_mandatory
from socialcredit.registry.due_process.evidence import add_evidence
from socialcredit.registry.due_process.listings import list_listings
from socialcredit.registry.due_process.notifications import list_notifications
from socialcredit.registry.due_process.public_lists import mask_id, public_lookup
from socialcredit.registry.due_process.retention import purge_expired
from socialcredit.registry.records.consent import consent_history, current_consents, set_consent
from socialcredit.registry.reporting.file_page import file_names
from socialcredit.registry.reporting.report import subject_report
from socialcredit.registry.reporting.resident_file import export_file, render_html
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import rerun
from socialcredit.store import Store

D = dt.date
PNG = b"\x89PNG\r\n\x1a\n" + bytes(40)  # a file the evidence check takes for a PNG


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return built(tmp_path)


@pytest.fixture
def noticed(tmp_path: Path) -> Store:
    """The world as ``run(store, D(2026, 2, 1))`` leaves it (run 1: A given notice for the blacklist), built once per
    process and copied."""
    return built_run(tmp_path, "beijing", "2026-02-01")


def run(store: Store, as_of: dt.date, policy: str = "beijing") -> dict[str, tuple[int, list[str]]]:
    """Score as of a date; each subject's (score, lists as the run found them)."""
    summary = score_on_its_day(store, resolve_policy(store, policy), as_of)
    rows = store.rows("SELECT subject_id, score, lists FROM run_results WHERE run_id = ?", [summary.run_id])
    return {r["subject_id"]: (r["score"], list(r["lists"])) for r in rows}


def rail(store: Store, subject: str) -> bool:
    return decide(store, subject, "high_speed_rail", "ticket purchase", requester="railway").granted


def audit_actions(store: Store) -> list[str]:
    return [str(r[0]) for r in store.execute("SELECT action FROM audit_log ORDER BY seq").fetchall()]


def test_a_decisions_purpose_is_one_bounded_line_of_plain_text(noticed: Store) -> None:
    """Logged with the inquiry and shown to the resident: the command line stored any text until 2026-12-05."""
    store = noticed  # run 1: beijing as of 2026-02-01, on its day
    for purpose, message in [
        ("ticket\x1b[2Jpurchase", "a purpose is one line of plain text; this one has a control character (U+001B)"),
        ("ticket\npurchase", "a purpose is one line of plain text; this one has a control character (U+000A)"),
        ("ticket\u2067purchase", "a purpose is one line of plain text; this one has a control character (U+2067)"),
        ("x" * 201, "a purpose is at most 200 characters; this one has 201"),
        ("  ", "a purpose is required: say why the decision is asked (e.g. 'ticket purchase')"),
    ]:
        with pytest.raises(DecisionError) as refused:
            decide(store, A, "high_speed_rail", purpose, requester="railway")
        assert str(refused.value) == message
    # who asks is shown to the resident as well: the command line's --requester is bounded alike
    for requester in ("rail\x1b]0;way", "", "r" * 201):
        with pytest.raises(DecisionError) as refused:
            decide(store, A, "high_speed_rail", "ticket purchase", requester=requester)
        assert str(refused.value) == "who asks is named in one line of plain text of at most 200 characters"
    assert store.one("SELECT count(*) FROM inquiries") == 0
    assert decide(store, A, "high_speed_rail", " " + "x" * 200 + " ", requester="railway").purpose == "x" * 200


# -- disputes --------------------------------------------------------------------------------------------------


def test_a_dispute_answered_in_time(store: Store) -> None:
    d = disputes.file_dispute(store, A, "courts", "J1", "I paid it in December", actor="resident", today=D(2026, 2, 1))
    # 2026-02-01 + 30 days = 2026-03-03 (February has 28 days)
    assert (d["status"], d["opened_at"], d["deadline"]) == ("open", "2026-02-01", "2026-03-03")
    assert run(store, D(2026, 2, 2))[A] == (900, ["blacklist"])  # Beijing: a disputed record counts while open
    assert subject_report(store, A)["records"][0]["status"] == "disputed"
    answered = disputes.answer_dispute(
        store,
        d["dispute_id"],
        "verified",
        "The judgment is unpaid per the enforcement file.",
        "courts",
        today=D(2026, 3, 3),
    )
    assert (answered["status"], answered["answered_at"]) == ("verified", "2026-03-03")
    assert run(store, D(2026, 3, 4))[A] == (900, ["blacklist"])
    assert subject_report(store, A)["records"][0]["status"] == "counting"
    texts = [n["text"] for n in list_notifications(store, A) if n["kind"] == "dispute_verified"]
    assert texts == [
        "Dispute 1 of record J1 (people's courts): the source checked the record and confirmed it; it stands. "
        "The judgment is unpaid per the enforcement file."
    ]
    assert [a for a in audit_actions(store) if a.startswith("dispute_")] == ["dispute_filed", "dispute_verified"]
    with pytest.raises(WorkflowError) as closed:
        disputes.answer_dispute(store, 1, "withdrawn", "changed our mind", "courts", today=D(2026, 3, 3))
    assert (closed.value.field, str(closed.value)) == ("dispute_id", "dispute 1 is closed already (verified)")


def test_an_unanswered_dispute_is_resolved_for_the_resident_on_day_31(noticed: Store, tmp_path: Path) -> None:
    store = noticed  # run 1: beijing as of 2026-02-01, on its day
    d = disputes.file_dispute(store, A, "courts", "J1", "Not my case", actor="resident", today=D(2026, 2, 1))
    assert disputes.lapse_overdue(store, D(2026, 3, 3)) == []  # day 30: the source may still answer
    assert run(store, D(2026, 3, 3))[A] == (900, ["blacklist"])
    assert disputes.lapse_overdue(store, D(2026, 3, 4)) == [d["dispute_id"]]  # day 31
    assert run(store, D(2026, 3, 4))[A] == (1000, [])
    assert disputes.list_disputes(store, subject_id=A)[0]["status"] == "lapsed"
    assert subject_report(store, A)["records"][0]["status"] == "withdrawn"
    # The notice in each language: no English sentence in the Chinese one.
    assert store.one(
        "SELECT [text_en, text_zh] FROM notifications WHERE kind = 'dispute_lapsed' AND ref_id = ?", [d["dispute_id"]]
    ) == [
        "Dispute 1 of record J1 (people's courts): the source did not answer in time; the dispute is resolved in "
        "your favour and the record no longer counts. Not answered by 2026-03-03.",
        "异议 1（记录 J1，人民法院）：来源未在期限内答复，异议按有利于您的方式处理，该记录不再计入。"
        "截至 2026-03-03 未获答复。",
    ]
    with pytest.raises(WorkflowError) as late:
        disputes.answer_dispute(store, d["dispute_id"], "verified", "late answer", "courts", today=D(2026, 3, 5))
    assert late.value.code == "dispute_closed"
    # The record comes back only with the source's certification, and the resident is told.
    back = [["J1", A, "court_judgment", "2026-01-10", "civil", "12000", "unfulfilled", "true", "true"]]
    path = write_csv(tmp_path / "back.csv", [*JUDGMENT, "correction"], back)
    from socialcredit.registry.records.ingest import ingest_file

    refused = ingest_file(store, path, "courts", today=D(2026, 3, 10))
    assert [str(e) for e in refused.errors] == [
        "row 1: certified: 'J1' was withdrawn after a dispute; it comes back only with the source's certification "
        "that it is accurate (certified=true)"
    ]
    certified = [[*back[0], "true"]]
    ingest(
        store,
        write_csv(tmp_path / "c.csv", [*JUDGMENT, "correction", "certified"], certified),
        "courts",
        D(2026, 3, 10),
    )
    assert [n["kind"] for n in list_notifications(store, A)][-1] == "record_recertified"
    # the source by the catalog's name in either language, as every notice of a dispute names it (it was "Source
    # courts" and "来源 courts")
    told = store.one(
        "SELECT [text_en, text_zh] FROM notifications WHERE kind = 'record_recertified' AND ref_id = ?",
        [d["dispute_id"]],
    )
    assert told == [
        "Record J1 was sent again by people's courts, certifying that it is accurate; it counts again. You may "
        "dispute it again.",
        "来源人民法院重新报送并书面确认记录 J1 准确，该记录重新计入。您可再次提出异议。",
    ]
    assert list(disputes.recertified_words(store, "courts", "J1")) == told
    assert run(store, D(2026, 3, 11))[A] == (900, ["blacklist"])


def test_an_overdue_dispute_lapses_as_of_its_deadline_whichever_day_the_daily_job_runs(noticed: Store) -> None:
    """Filed 2026-02-01, answer due by 2026-03-03: it lapses as of 2026-03-04 (day 31) whether the daily job ran
    that day or not (until 2026-12-05 a run of 2026-03-05 with no job since counted the record, the resident stayed
    listed, and the lapse was dated the day the job next ran)."""
    store = noticed  # run 1: beijing as of 2026-02-01, on its day
    d = disputes.file_dispute(store, A, "courts", "J1", "Not my case", actor="resident", today=D(2026, 2, 1))
    # no daily job since: a run dated after the deadline still does not count the record
    assert run(store, D(2026, 3, 5))[A] == (1000, [])
    assert disputes.list_disputes(store, subject_id=A)[0]["status"] == "lapsed"
    [(created, text)] = store.execute(
        "SELECT created_on, text_en FROM notifications WHERE kind = 'dispute_lapsed' AND ref_id = ?",
        [d["dispute_id"]],
    ).fetchall()
    assert (created, text.endswith("Not answered by 2026-03-03.")) == (D(2026, 3, 4), True)
    # the job of a later day finds nothing left to lapse
    assert run_daily(store, D(2026, 3, 10))["lapsed_disputes"] == []


def test_a_lapse_is_dated_the_day_after_the_deadline_when_the_job_skipped_days(store: Store) -> None:
    d = disputes.file_dispute(store, A, "courts", "J1", "Not my case", actor="resident", today=D(2026, 2, 1))
    assert run_daily(store, D(2026, 3, 20))["lapsed_disputes"] == [d["dispute_id"]]  # 16 days late
    assert store.one(
        "SELECT created_on FROM notifications WHERE kind = 'dispute_lapsed' AND ref_id = ?", [d["dispute_id"]]
    ) == D(2026, 3, 4)
    detail = json.loads(
        str(store.one("SELECT detail FROM audit_log WHERE action = 'dispute_lapsed' ORDER BY seq DESC LIMIT 1"))
    )
    assert detail["lapsed_on"] == "2026-03-04"


def test_a_late_answer_lapses_its_own_dispute_only(store: Store) -> None:
    """Until 2026-12-05 a source's late answer to one dispute lapsed every overdue dispute of every source."""
    a = disputes.file_dispute(store, A, "courts", "J1", "Not my case", actor="resident", today=D(2026, 2, 1))
    b = disputes.file_dispute(store, B, "traffic_police", "T1", "Not me", actor="resident", today=D(2026, 2, 1))
    with pytest.raises(WorkflowError) as late:
        disputes.answer_dispute(
            store, b["dispute_id"], "verified", "late answer", "traffic_police", today=D(2026, 3, 6)
        )
    assert late.value.code == "deadline_passed"
    assert disputes.get_dispute(store, b["dispute_id"])["status"] == "lapsed"
    assert disputes.get_dispute(store, a["dispute_id"])["status"] == "open"
    assert [n["kind"] for n in list_notifications(store, A)] == ["dispute_filed"]
    assert run_daily(store, D(2026, 3, 6))["lapsed_disputes"] == [a["dispute_id"]]


def test_a_step_on_an_overdue_dispute_finds_it_lapsed_whether_or_not_the_job_ran(store: Store) -> None:
    """Filed 2026-02-01, due by 2026-03-03, escalated to a review no one decided in time: had the daily job of
    2026-03-04 run, the dispute would be lapsed (for the resident). Until 2026-12-05, with no job since, the reviewer
    could still uphold it on 2026-03-10, and the resident could withdraw an overdue dispute: the outcome depended on
    whether the job had run."""
    disputes.file_dispute(store, A, "courts", "J1", "Not my case", actor="resident", today=D(2026, 2, 1))
    disputes.escalate_dispute(store, 1, "the resident sent a receipt", "operator", today=D(2026, 2, 10))
    with pytest.raises(WorkflowError) as late:
        disputes.decide_review(store, 1, "upheld", "the judgment is unpaid", "operator", today=D(2026, 3, 10))
    assert (late.value.code, str(late.value), late.value.zh) == (
        "dispute_closed",
        "dispute 1 was closed (lapsed) while under review; nothing is left to decide",
        "异议 1 在复核期间已结束（逾期未答复（记录撤回））；已无可决定之事",
    )
    lapsed = disputes.get_dispute(store, 1)
    assert (lapsed["status"], lapsed["note"], lapsed["review"]["decision"]) == (
        "lapsed",
        "Not answered by 2026-03-03.",
        None,
    )
    assert subject_report(store, A)["records"][0]["status"] == "withdrawn"
    # the resident's own withdrawal of an overdue dispute: it was resolved for them already
    disputes.file_dispute(store, B, "traffic_police", "T1", "Not me", actor="resident", today=D(2026, 2, 1))
    with pytest.raises(WorkflowError) as withdrawn:
        disputes.withdraw_dispute(store, 2, B, "resident", today=D(2026, 3, 5))
    assert (withdrawn.value.code, str(withdrawn.value), withdrawn.value.zh) == (
        "dispute_closed",
        "dispute 2 is closed already (lapsed); only an open dispute may be withdrawn",
        "异议 2 已结束（逾期未答复（记录撤回））；只有未结束的异议可以撤回",
    )
    # and an escalation of one: nothing is left to review
    disputes.file_dispute(store, C, "courts", "K1", "Not mine", actor="resident", today=D(2026, 2, 1))
    with pytest.raises(WorkflowError) as escalated:
        disputes.escalate_dispute(store, 3, "a second look", "operator", today=D(2026, 3, 5))
    assert escalated.value.code == "dispute_closed" and disputes.get_dispute(store, 3)["status"] == "lapsed"
    assert (str(escalated.value), escalated.value.zh) == (
        "dispute 3 is closed (lapsed); only an open dispute or one the source verified may be escalated",
        "异议 3 已结束（逾期未答复（记录撤回））；只有未结束的异议或来源已核实的异议可以提交复核",
    )


def test_information_within_30_days_extends_the_deadline_to_45(store: Store) -> None:
    d = disputes.file_dispute(store, B, "traffic_police", "T1", "I was abroad", actor="resident", today=D(2026, 2, 5))
    assert d["deadline"] == "2026-03-07"  # 2026-02-05 + 30
    extended = disputes.add_information(
        store, d["dispute_id"], "passport stamps attached", "resident", today=D(2026, 3, 7)
    )
    assert extended["deadline"] == "2026-03-22"  # day 30 is within the first 30: 2026-02-05 + 45
    # the resident acting for themselves: no representative (one acting for an organisation: tests/test_org_acting.py)
    assert extended["information"] == [
        {"added_at": "2026-03-07", "text": "passport stamps attached", "representative_id": None}
    ]
    again = disputes.add_information(store, d["dispute_id"], "and a boarding pass", "resident", today=D(2026, 3, 10))
    assert again["deadline"] == "2026-03-22"  # after day 30: information is kept, the deadline does not move
    assert disputes.lapse_overdue(store, D(2026, 3, 22)) == []
    assert disputes.lapse_overdue(store, D(2026, 3, 23)) == [d["dispute_id"]]
    with pytest.raises(WorkflowError) as empty:
        disputes.file_dispute(store, B, "traffic_police", "T1", "  ", actor="resident", today=D(2026, 3, 1))
    assert (empty.value.field, str(empty.value)) == ("reason", "reason is required: write it in a few words")
    # a person's text may run over lines and hold tabs, never another control character (stored, then shown)
    for text, char in (
        ("abroad\x00", "U+0000"),
        ("see \x1b[2J here", "U+001B"),
        ("a\x7fb", "U+007F"),
        ("a\u202eb", "U+202E"),
    ):
        with pytest.raises(WorkflowError) as control:
            disputes.file_dispute(store, B, "traffic_police", "T1", text, actor="resident", today=D(2026, 3, 1))
        assert (control.value.field, control.value.code, str(control.value)) == (
            "reason",
            "control_character",
            f"reason has a control character ({char}); write plain text",
        )
    assert check_text("I was abroad\n\tfrom May\r\nto June", "reason") == "I was abroad\n\tfrom May\r\nto June"


def test_a_record_under_human_review_is_not_disputed_again_meanwhile(store: Store) -> None:
    """Dispute 1 of J1, verified by the courts, went to a human review; a second dispute of J1 was then taken and the
    courts withdrew the record on it, after which the review upheld dispute 1: the resident was told "the record
    stands" of a record withdrawn. While a review is pending the reviewer alone decides the record: a new dispute of
    it is refused, and a verified dispute is not escalated while another of the record is open."""
    disputes.file_dispute(store, A, "courts", "J1", "I paid it", actor="resident", today=D(2026, 4, 3))
    disputes.answer_dispute(store, 1, "verified", "checked", "courts", today=D(2026, 4, 5))
    disputes.escalate_dispute(store, 1, "the resident insists", "operator", today=D(2026, 4, 6))
    with pytest.raises(WorkflowError) as info:
        disputes.file_dispute(store, A, "courts", "J1", "I paid it, again", actor="resident", today=D(2026, 4, 7))
    assert (info.value.code, str(info.value)) == (
        "under_review",
        "record 'J1' of source courts is under human review (dispute 1); the reviewer decides it, and you may "
        "dispute it again once the review is decided",
    )
    disputes.decide_review(store, 1, "upheld", "the judgment is unpaid", "operator", today=D(2026, 4, 9))
    assert disputes.file_dispute(store, A, "courts", "J1", "here is the receipt", today=D(2026, 4, 10))["status"] == (
        "open"
    )

    # the other way round: a verified dispute is not escalated while another dispute of its record is open
    disputes.file_dispute(store, C, "courts", "K1", "not my case", actor="resident", today=D(2026, 4, 3))
    disputes.answer_dispute(store, 3, "verified", "checked", "courts", today=D(2026, 4, 5))
    disputes.file_dispute(store, C, "courts", "K1", "still not mine", actor="resident", today=D(2026, 4, 6))
    with pytest.raises(WorkflowError) as info:
        disputes.escalate_dispute(store, 3, "the resident insists", "operator", today=D(2026, 4, 7))
    assert (info.value.code, str(info.value)) == (
        "disputed_again",
        "record 'K1' of source courts is disputed again (dispute 4, open); escalate that dispute instead",
    )
    assert disputes.escalate_dispute(store, 4, "the resident insists", "operator", today=D(2026, 4, 7))["review"]


def test_a_dispute_received_from_another_region_under_human_review_is_the_reviewed_one(store: Store) -> None:
    """A dispute forwarded from another region for J1 while dispute 1 of J1 is under human review was opened as
    dispute 2; the courts withdrew J1 on it, then the review upheld dispute 1 ("the record stands" of a withdrawn
    record). It is dispute 1, as a second dispute filed here is refused, and its answer goes back once the review
    decides it: the review's outcome, not the answer the review was asked about."""
    disputes.file_dispute(store, A, "courts", "J1", "I paid it", actor="resident", today=D(2026, 4, 3))
    disputes.answer_dispute(store, 1, "verified", "checked", "courts", today=D(2026, 4, 5))
    disputes.escalate_dispute(store, 1, "the resident insists", "operator", today=D(2026, 4, 6))
    with store.transaction():
        received = disputes.open_received(
            store, A, "courts", "J1", "again, from another region", None,
            filed_on=D(2026, 4, 7), deadline=D(2026, 5, 7), actor="region:120000",
        )  # fmt: skip
        store.execute(
            "INSERT INTO region_disputes VALUES (?, 'received', '120000', 7, 'courts', 'J1', ?, NULL)", [received, A]
        )
    assert received == 1
    assert store.one("SELECT count(*) FROM disputes") == 1
    assert export_sections(store, "beijing", [], [])["answers"] == []  # the review is not decided yet
    disputes.decide_review(store, 1, "withdrawn", "the receipt is genuine", "operator", today=D(2026, 4, 9))
    [answer] = export_sections(store, "beijing", [], [])["answers"]
    assert (answer["dispute_id"], answer["outcome"], answer["note"]) == (7, "withdrawn", "the receipt is genuine")


def test_a_dispute_received_from_another_region_is_told_naming_the_source_in_words(store: Store) -> None:
    """The resident is told a dispute filed in another region was received here, the source by the catalog's name
    in their language (it was the source's id, "courts", in both)."""
    with store.transaction():
        received = disputes.open_received(
            store, A, "courts", "J1", "filed in Tianjin", None,
            filed_on=D(2026, 4, 7), deadline=D(2026, 5, 7), actor="region:120000",
        )  # fmt: skip
    told = store.rows(
        "SELECT text_en, text_zh FROM notifications WHERE subject_id = ? AND kind = 'dispute_filed' AND ref_id = ?",
        [A, received],
    )
    assert told == [
        {
            "text_en": "Your dispute of record J1 (people's courts), filed in another region on 2026-04-07, was "
            "received here as dispute 1; the source must answer by 2026-05-07.",
            "text_zh": "您于 2026-04-07 在其他地区对记录 J1（人民法院）提出的异议已转来，编号 1；"
            "来源须于 2026-05-07 前答复。",
        }
    ]


def test_no_step_of_a_dispute_is_dated_before_it_was_filed(store: Store) -> None:
    """The registry's clock set back (--today, $SOCIALCREDIT_TODAY): an answer dated 2026-03-01 to a dispute filed on
    2026-04-03 was taken (answered before it was asked), and information dated before the filing extended the
    deadline. Each step is refused naming both dates; on the day of the filing it is taken."""
    disputes.file_dispute(store, A, "courts", "J1", "I paid it", actor="resident", today=D(2026, 4, 3))
    steps = [
        ("an answer", lambda day: disputes.answer_dispute(store, 1, "verified", "checked", "courts", today=day)),
        ("information added to it", lambda day: disputes.add_information(store, 1, "receipt", "resident", today=day)),
        ("its withdrawal", lambda day: disputes.withdraw_dispute(store, 1, A, "resident", today=day)),
        ("its escalation", lambda day: disputes.escalate_dispute(store, 1, "why", "operator", today=day)),
    ]
    for what, step in steps:
        with pytest.raises(WorkflowError) as info:
            step(D(2026, 4, 2))
        assert (info.value.code, info.value.field, str(info.value)) == (
            "before_filing",
            "today",
            f"dispute 1 was filed on 2026-04-03; {what} cannot be dated 2026-04-02, before that",
        )
    assert disputes.get_dispute(store, 1)["deadline"] == "2026-05-03"
    disputes.escalate_dispute(store, 1, "the resident insists", "operator", today=D(2026, 4, 3))
    with pytest.raises(WorkflowError) as info:
        disputes.decide_review(store, 1, "upheld", "it stands", "operator", today=D(2026, 4, 2))
    assert str(info.value) == (
        "dispute 1 was escalated on 2026-04-03; the review's decision cannot be dated 2026-04-02, before that"
    )
    from typing import Any, cast

    from socialcredit.web.core import Page
    from socialcredit.web.disputes_page import answer_refusal, dispute_refusal, review_refusal

    zh = Page(web=cast(Any, None), request=cast(Any, None), lang="zh", who=None)
    d = disputes.get_dispute(store, 1)
    late = "异议 1 转交复核的日期晚于登记机构今天的日期：复核结论不能早于转交之日。"
    assert review_refusal(zh, info.value, d) == late
    with pytest.raises(WorkflowError) as info:
        disputes.withdraw_dispute(store, 1, A, "resident", today=D(2026, 4, 2))
    said = "异议 1 提出的日期晚于登记机构今天的日期：此步骤不能早于提出异议之日。"
    assert dispute_refusal(zh, info.value, d=d) == answer_refusal(zh, info.value, d) == said
    assert disputes.decide_review(store, 1, "upheld", "it stands", "operator", today=D(2026, 4, 3))["status"] == (
        "verified"
    )


def test_a_file_added_to_a_dispute_is_not_dated_before_it_was_filed(store: Store) -> None:
    """Information dated the day before the dispute's filing was refused (``before_filing``) while a file the same
    day was taken; the file is refused alike, and a page says it in its language."""
    from typing import Any, cast

    from socialcredit.web.core import Page
    from socialcredit.web.disputes_page import _file_refusal

    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    disputes.file_dispute(store, A, "courts", "J1", "I paid it", actor="resident", today=D(2026, 4, 3))
    with pytest.raises(WorkflowError) as info:
        add_evidence(store, 1, png, "receipt.png", "resident", today=D(2026, 4, 2))
    assert (info.value.code, info.value.field, info.value.status, str(info.value)) == (
        "before_filing",
        "today",
        409,
        "dispute 1 was filed on 2026-04-03; a file added to it cannot be dated 2026-04-02, before that",
    )
    assert store.one("SELECT count(*) FROM dispute_evidence") == 0
    zh = Page(web=cast(Any, None), request=cast(Any, None), lang="zh", who=None)
    assert _file_refusal(zh, info.value, len(png), disputes.get_dispute(store, 1)) == (
        "异议 1 提出的日期晚于登记机构今天的日期：此步骤不能早于提出异议之日。"
    )
    assert add_evidence(store, 1, png, "receipt.png", "resident", today=D(2026, 4, 3))["added_on"] == "2026-04-03"


def test_a_second_dispute_refused_under_review_is_told_in_the_pages_language(store: Store) -> None:
    from typing import Any, cast

    from socialcredit.web.core import Page
    from socialcredit.web.disputes_page import dispute_refusal, review_refusal

    disputes.file_dispute(store, A, "courts", "J1", "I paid it", actor="resident", today=D(2026, 4, 3))
    disputes.answer_dispute(store, 1, "verified", "checked", "courts", today=D(2026, 4, 5))
    disputes.file_dispute(store, A, "courts", "J1", "I paid it, again", actor="resident", today=D(2026, 4, 6))
    with pytest.raises(WorkflowError) as escalation:
        disputes.escalate_dispute(store, 1, "the resident insists", "operator", today=D(2026, 4, 7))
    disputes.withdraw_dispute(store, 2, A, "resident", today=D(2026, 4, 7))
    disputes.escalate_dispute(store, 1, "the resident insists", "operator", today=D(2026, 4, 7))
    with pytest.raises(WorkflowError) as filing:
        disputes.file_dispute(store, A, "courts", "J1", "once more", actor="resident", today=D(2026, 4, 8))
    d = disputes.get_dispute(store, 1)
    zh, en = (Page(web=cast(Any, None), request=cast(Any, None), lang=lang, who=None) for lang in ("zh", "en"))
    assert dispute_refusal(zh, filing.value, record="J1") == (
        "记录 J1 正在人工复核中，由复核人员决定；复核有结论后可再次提出异议。"
    )
    assert dispute_refusal(en, filing.value, record="J1") == (
        "Record J1 is under a human review; the reviewer decides it, and you may dispute it again once the review is "
        "decided."
    )
    assert review_refusal(zh, escalation.value, d) == "记录 J1 另有进行中的异议（异议 2）：请转交该异议复核。"
    assert review_refusal(en, escalation.value, d) == (
        "Record J1 is disputed again in another open dispute (dispute 2): escalate that one instead."
    )


def test_sesame_does_not_count_a_disputed_record_while_open(store: Store) -> None:
    # Sesame: credit.judgment_defaulter −200 from the base 550, clamped at the minimum 350.
    assert run(store, D(2026, 2, 1), "sesame")[A] == (350, ["blacklist"])
    d = disputes.file_dispute(store, A, "courts", "J1", "Paid", actor="resident", today=D(2026, 2, 1))
    assert run(store, D(2026, 2, 2), "sesame")[A] == (550, [])
    disputes.answer_dispute(store, d["dispute_id"], "verified", "Unpaid.", "courts", today=D(2026, 2, 10))
    assert run(store, D(2026, 2, 11), "sesame")[A] == (350, ["blacklist"])


def test_a_closed_dispute_is_refused_with_its_status_in_words(store: Store) -> None:
    """dispute_closed said the raw status in its Chinese (已结束（verified）): the status in words, as the pages say
    it (dispute_status_* in registry/words.py)."""
    d = disputes.file_dispute(store, A, "courts", "J1", "Paid", actor="resident", today=D(2026, 2, 1))
    disputes.answer_dispute(store, d["dispute_id"], "verified", "Unpaid.", "courts", today=D(2026, 2, 3))
    with pytest.raises(WorkflowError) as answered:
        disputes.answer_dispute(store, d["dispute_id"], "verified", "Again.", "courts", today=D(2026, 2, 4))
    with pytest.raises(WorkflowError) as added:
        disputes.add_information(store, d["dispute_id"], "receipt", "resident", today=D(2026, 2, 4))
    assert [(e.value.code, str(e.value), e.value.said_in("zh")) for e in (answered, added)] == [
        ("dispute_closed", "dispute 1 is closed already (verified)", "异议 1 已结束（已核实（记录保留））"),
        (
            "dispute_closed",
            "dispute 1 is closed (verified); file a new dispute if the record is still wrong",
            "异议 1 已结束（已核实（记录保留））；记录如仍有误，请另提异议",
        ),
    ]
    with pytest.raises(WorkflowInputError) as listed:
        disputes.list_disputes(store, status="nope")
    assert (str(listed.value), listed.value.said_in("zh")) == (
        "status must be one of open, verified, corrected, withdrawn, lapsed, retracted, not 'nope'",
        "状态须为 open、verified、corrected、withdrawn、lapsed、retracted 之一，而不是 'nope'",
    )


def test_a_review_decided_corrected_needs_the_source_to_send_the_correction(store: Store) -> None:
    """The reviewer is not told to send the correction (the Chinese said 请先报送更正版本 on both paths): the source
    sends it, in both languages."""
    d = disputes.file_dispute(store, A, "courts", "J1", "Paid", actor="resident", today=D(2026, 2, 1))
    disputes.escalate_dispute(store, d["dispute_id"], "the resident insists", "operator", today=D(2026, 2, 3))
    with pytest.raises(WorkflowError) as reviewed:
        disputes.decide_review(store, d["dispute_id"], "corrected", "Fixed.", "operator", today=D(2026, 2, 3))
    assert (reviewed.value.code, str(reviewed.value), reviewed.value.said_in("zh")) == (
        "no_correction",
        "no corrected version of record 'J1' was received since the dispute was filed; the source sends it "
        "(correction=true) before the review decides 'corrected'",
        "提出异议以来未收到记录 'J1' 的更正版本；须由来源先报送更正版本（correction=true），复核才能决定 'corrected'",
    )


def test_a_correction_answer_needs_the_corrected_record_first(store: Store, tmp_path: Path) -> None:
    d = disputes.file_dispute(store, A, "courts", "J1", "Paid", actor="resident", today=D(2026, 2, 1))
    with pytest.raises(WorkflowError) as first:
        disputes.answer_dispute(store, d["dispute_id"], "corrected", "Fixed.", "courts", today=D(2026, 2, 3))
    assert first.value.code == "no_correction"
    assert (str(first.value), first.value.said_in("zh")) == (
        "no corrected version of record 'J1' was received since the dispute was filed; send it (correction=true) "
        "first, then answer 'corrected'",
        "提出异议以来未收到记录 'J1' 的更正版本；请先报送更正版本（correction=true），再答复 'corrected'",
    )
    fixed = [["J1", A, "court_judgment", "2026-01-10", "civil", "12000", "fulfilled", "true", "true"]]
    ingest(store, write_csv(tmp_path / "fix.csv", [*JUDGMENT, "correction"], fixed), "courts", D(2026, 2, 3))
    done = disputes.answer_dispute(
        store, d["dispute_id"], "corrected", "Fulfilled on 2026-01-30.", "courts", today=D(2026, 2, 3)
    )
    assert done["status"] == "corrected"
    assert run(store, D(2026, 2, 4))[A] == (1000, [])


# -- notice and grace ------------------------------------------------------------------------------------------


def test_notice_then_listing_after_the_grace_period(noticed: Store) -> None:
    store = noticed  # run 1: beijing as of 2026-02-01, on its day
    [notice] = list_listings(store, subject_id=A)
    # Beijing's blacklist: grace_days 60; 2026-02-01 + 60 days = 2026-04-02
    assert (notice["status"], notice["noticed_on"], notice["effective_on"]) == ("pending", "2026-02-01", "2026-04-02")
    assert list_notifications(store, A)[0]["text"] == (
        "Notice: under the Beijing social credit score you meet a criterion of the blacklist: judgment defaulter "
        "(record J1). The listing takes effect on 2026-04-02 unless the cause is resolved before then. You may "
        "dispute the record, or fulfil the obligation."
    )
    assert rail(store, A) is True and public_lookup(store, "张三") == []
    run(store, D(2026, 4, 1))
    assert list_listings(store, subject_id=A)[0]["status"] == "pending" and rail(store, A) is True
    run(store, D(2026, 4, 2))
    assert list_listings(store, subject_id=A)[0]["status"] == "effective"
    assert rail(store, A) is False
    snap = Snapshot.load(store, "beijing")
    assert snap.decide(A, "high_speed_rail", "ticket purchase", requester="railway").granted is False
    assert public_lookup(store, "张三") == [
        {
            "name": "张三",
            "id_number": "110105********011X",
            "list": "blacklist",
            "cause": "judgment defaulter",
            "since": "2026-04-02",
            "authority": "people's courts",
            "case_number": "J1",
            "amount": 12000.0,
            "decided_on": "2026-01-10",
            "under_dispute": False,
        }
    ]
    assert public_lookup(store, A.lower()) == public_lookup(store, "张三")
    report = subject_report(store, A)
    assert report["notices"][0]["status"] == "effective"
    assert report["scores"][0]["lists"][0]["status"] == "effective"


def test_no_listing_when_the_cause_is_cured_during_grace(noticed: Store, tmp_path: Path) -> None:
    store = noticed  # run 1: beijing as of 2026-02-01, on its day
    paid = [["J1", A, "court_judgment", "2026-01-10", "civil", "12000", "fulfilled", "true", "true"]]
    ingest(store, write_csv(tmp_path / "paid.csv", [*JUDGMENT, "correction"], paid), "courts", D(2026, 3, 1))
    run(store, D(2026, 3, 1))
    assert [x["status"] for x in list_listings(store, subject_id=A)] == ["resolved"]
    run(store, D(2026, 4, 2))
    assert [x["status"] for x in list_listings(store, subject_id=A)] == ["resolved"]
    assert rail(store, A) is True and public_lookup(store, A) == []
    assert list_notifications(store, A)[-1]["text"] == (
        "blacklist (judgment defaulter): the cause was resolved during the notice period; you were not listed."
    )


def _below_the_floor(store: Store, tmp_path: Path, on: dt.date) -> None:
    """B gets two unfulfilled criminal judgments of 2026-01-20 (court.unfulfilled and court.criminal each): Beijing
    scores B 496 on 2026-02-01, below the blacklist's score floor of 600."""
    rows = [[f"M{i}", B, "court_judgment", "2026-01-20", "criminal", "5000", "unfulfilled", "false"] for i in (1, 2)]
    ingest(store, write_csv(tmp_path / "m.csv", JUDGMENT, rows), "courts", on)


def test_a_score_floor_listing_takes_effect_at_a_run_not_at_the_daily_job(store: Store, tmp_path: Path) -> None:
    """A listing on the score has no record the daily job could check: the score may have recovered since the
    notice (until 2026-12-05 the job put it in effect on its date, public and refusing services, and the next run
    delisted it)."""
    _below_the_floor(store, tmp_path, D(2026, 1, 20))
    assert run(store, D(2026, 2, 1))[B] == (496, ["blacklist"])
    [floor] = [x for x in list_listings(store, subject_id=B) if x["criterion_id"] == "score_floor"]
    assert (floor["status"], floor["noticed_on"], floor["effective_on"]) == ("pending", "2026-02-01", "2026-04-02")
    # the notice names no record to dispute nor obligation to fulfil: the score is the cause
    assert store.one(
        "SELECT [text_en, text_zh] FROM notifications WHERE kind = 'listing_notice' AND ref_id = ?",
        [floor["listing_id"]],
    ) == [
        "Notice: under the Beijing social credit score you meet a criterion of the blacklist: score below 600. The "
        "listing takes effect on 2026-04-02 unless the cause is resolved before then. Your report lists the records "
        "that lower your score; you may dispute one you think wrong.",
        "通知：根据北京市社会信用评分，您符合失信名单的列入条件：信用分低于600。"
        "除非在此之前原因消除，将于 2026-04-02 起列入。信用报告列出了降低分数的记录；您可以对认为有误的记录提出异议。",
    ]
    # the court records both judgments fulfilled: the score recovers, but no run has seen it yet
    paid = [
        [f"M{i}", B, "court_judgment", "2026-01-20", "criminal", "5000", "fulfilled", "false", "true"] for i in (1, 2)
    ]
    ingest(store, write_csv(tmp_path / "paid.csv", [*JUDGMENT, "correction"], paid), "courts", D(2026, 3, 20))
    assert floor["listing_id"] not in run_daily(store, D(2026, 4, 2))["listings_effective"]
    assert [x["status"] for x in list_listings(store, subject_id=B)] == ["pending"]
    assert rail(store, B) is True
    score_b, lists = run(store, D(2026, 4, 2))[B]
    assert score_b >= 600 and lists == []
    assert [x["status"] for x in list_listings(store, subject_id=B)] == ["resolved"]
    assert "listing_effective" not in [n["kind"] for n in list_notifications(store, B)]


def test_a_score_floor_listing_still_found_takes_effect_at_the_first_run_on_its_date(
    store: Store, tmp_path: Path
) -> None:
    _below_the_floor(store, tmp_path, D(2026, 1, 20))
    run(store, D(2026, 2, 1))
    run_daily(store, D(2026, 4, 2))
    assert [x["status"] for x in list_listings(store, subject_id=B)] == ["pending"]
    run(store, D(2026, 4, 2))
    assert [x["status"] for x in list_listings(store, subject_id=B)] == ["effective"]
    assert rail(store, B) is False
    assert list_notifications(store, B)[-1]["text"] == (
        "blacklist (score below 600): the notice period ended; you have been listed since 2026-04-02."
    )


def test_a_refusal_on_a_score_floor_published_with_full_width_digits_says_what_would_change_it(
    store: Store, tmp_path: Path
) -> None:
    """A version published before condition digits were held to 0-9 ("score < ６００") loads read back and lists B
    under its floor; the refusal's advice read the criterion again outside that mode, so every such refusal failed
    with the parse error instead of answering (until 2026-12-06)."""
    import hashlib

    from socialcredit.policies import __file__ as shipped

    text = (Path(shipped).parent / "beijing.yaml").read_text(encoding="utf-8")
    text = text.replace('version: "2026.2"', 'version: "2026.3"', 1)
    text = text.replace('when: "score < 600"', 'when: "score < ６００"')
    assert "６００" in text
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    store.execute("INSERT INTO policies VALUES ('beijing', '2026.3', ?, ?, now())", [digest, text])
    assert resolve_policy(store, "beijing").policy.version == "2026.3"
    _below_the_floor(store, tmp_path, D(2026, 1, 20))
    run(store, D(2026, 2, 1))
    assert run(store, D(2026, 4, 2))[B] == (503, ["blacklist"])
    refused = decide(store, B, "high_speed_rail", "ticket purchase", requester="railway")
    assert (refused.granted, refused.policy_version) == (False, "2026.3")
    # 97 points short of the floor of 600, read from the criterion as loaded: one judgment fulfilled covers them
    assert refused.actions == [
        "pay the outstanding judgment of 5,000 yuan (record M1 from courts); the court then records it fulfilled",
        "or wait until 2036-01-18, when enough of these records expire",
        "if a record counted against you is wrong, you can dispute it: its source then corrects or withdraws it",
    ]


def test_a_listing_put_in_effect_by_a_late_run_says_the_day_it_took_effect(store: Store, tmp_path: Path) -> None:
    """Its notice period ended on 2026-04-02, but no run found the score still below the floor until the run of
    2026-04-05: it took effect then (no decision counted it before). Until 2026-12-05 the resident was told, and
    their page said, "listed since 2026-04-02"."""
    from socialcredit.registry.reporting.listing_details import listing_detail

    _below_the_floor(store, tmp_path, D(2026, 1, 20))
    run(store, D(2026, 2, 1))
    run(store, D(2026, 4, 5))
    [floor] = [x for x in list_listings(store, subject_id=B) if x["criterion_id"] == "score_floor"]
    assert (floor["status"], floor["effective_on"]) == ("effective", "2026-04-02")
    assert store.one(
        "SELECT [text_en, text_zh] FROM notifications WHERE kind = 'listing_effective' AND ref_id = ?",
        [floor["listing_id"]],
    ) == [
        "blacklist (score below 600): the notice period ended; you have been listed since 2026-04-05.",
        "失信名单（信用分低于600）：通知期已满，自 2026-04-05 起已被列入。",
    ]
    for lang, said in (
        # the publication still ends as counted from the date the notice gave: not later for the run's delay
        ("en", "You have been on the blacklist (score below 600) since 2026-04-05. It ends by itself on 2027-04-02."),
        ("zh", "自 2026-04-05 起您已被列入失信名单（信用分低于600）。将于 2027-04-02 自动移出。"),
    ):
        detail = listing_detail(store, B, int(floor["listing_id"]), lang=lang, today=D(2026, 4, 6))
        assert (detail["took_effect_on"], detail["notice"]) == ("2026-04-05", said)


def test_the_listing_pages_say_the_day_the_notice_says_a_late_listing_took_effect(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The listing put in effect by the run of 2026-04-05 (its notice period ended on 2026-04-02): the resident was
    told "listed since 2026-04-05", and the notice on their listing's page said so, but the page's facts said "Takes
    effect 2026-04-02", and the public look-up "since 2026-04-02". Now both say the day the notice names."""
    from api_helpers import serving
    from page_text import visible_text
    from socialcredit.api.app import create_app
    from socialcredit.registry.access.parties import issue_key
    from web_helpers import sign_in

    _below_the_floor(store, tmp_path, D(2026, 1, 20))
    run(store, D(2026, 2, 1))
    run(store, D(2026, 4, 5))
    [floor] = [x for x in list_listings(store, subject_id=B) if x["criterion_id"] == "score_floor"]
    assert (floor["status"], floor["effective_on"]) == ("effective", "2026-04-02")
    told = store.one("SELECT text_en FROM notifications WHERE kind = 'listing_effective' AND ref_id = ?",
                     [floor["listing_id"]])  # fmt: skip
    assert told.endswith("you have been listed since 2026-04-05.")
    assert [r["since"] for r in public_lookup(store, B)] == ["2026-04-05"]
    key = issue_key(store, "resident", "B", subject=B).token
    monkeypatch.setenv("SOCIALCREDIT_TODAY", "2026-04-06")
    with serving(create_app(store.path, store=store)) as base, httpx.Client(base_url=base, timeout=30) as client:
        sign_in(client, key)
        for lang, fact in (("en", "Takes effect 2026-04-05"), ("zh", "生效日期 2026-04-05")):
            page = client.get(f"/me/listings/{floor['listing_id']}?lang={lang}")
            assert page.status_code == 200, page.text
            facts = visible_text(page.text.split('data-testid="listing-facts">')[1].split("</dl>")[0])
            assert fact in facts, facts
        looked_up = visible_text(client.get("/lists", params={"q": B, "lang": "en"}).text)
        assert "2026-04-05" in looked_up and "2026-04-02" not in looked_up, looked_up


def test_the_operators_page_says_the_day_a_late_listing_took_effect(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The listing put in effect by the run of 2026-04-05 (its notice period ended on 2026-04-02): the resident's
    page and the public look-up say 2026-04-05, but the operator's file of the resident said "Takes effect
    2026-04-02" (``effective_on``) in both languages. Now it says the day the resident was told."""
    from api_helpers import serving
    from page_text import visible_text
    from socialcredit.api.app import create_app
    from socialcredit.registry.access.parties import issue_key
    from web_helpers import sign_in

    _below_the_floor(store, tmp_path, D(2026, 1, 20))
    run(store, D(2026, 2, 1))
    run(store, D(2026, 4, 5))
    [floor] = [x for x in list_listings(store, subject_id=B) if x["criterion_id"] == "score_floor"]
    assert (floor["status"], floor["noticed_on"], floor["effective_on"]) == ("effective", "2026-02-01", "2026-04-02")
    key = issue_key(store, "operator", "ops").token
    monkeypatch.setenv("SOCIALCREDIT_TODAY", "2026-04-06")
    with serving(create_app(store.path, store=store)) as base, httpx.Client(base_url=base, timeout=30) as client:
        sign_in(client, key)
        for lang, said in (("en", "Noticed on Takes effect Review"), ("zh", "告知日期 生效日期 人工复核")):
            page = client.get(f"/ops/subjects/{B}?lang={lang}")
            assert page.status_code == 200, page.text
            table = page.text.split('aria-labelledby="h-listings"')[1].split("</table>")[0]
            header, *rows = table.split("<tr>")[1:]
            # the columns noticed on, took effect on, then the operator's review (a form to remove the listing)
            assert visible_text(header).endswith(said), visible_text(header)
            [row] = [r for r in rows if "600" in visible_text(r)]
            cells = [visible_text("<td" + c) for c in row.split("<td")[1:]]
            assert cells[5:7] == ["2026-02-01", "2026-04-05"], cells


def test_a_run_dated_before_the_latest_run_leaves_the_present_listings_as_they_are(noticed: Store) -> None:
    """Until 2026-12-05 a run as of a past date rewrote the listings as if it were the newest: as of 2026-01-05 the
    judgment J1 (of 2026-01-10) did not exist yet, and A's listing in effect since 2026-04-02 was delisted."""
    store = noticed  # run 1: beijing as of 2026-02-01, on its day
    run(store, D(2026, 4, 2))
    [listing] = list_listings(store, subject_id=A)
    assert listing["status"] == "effective"
    told = [n["kind"] for n in list_notifications(store, A)]
    assert run(store, D(2026, 1, 5))[A] == (1000, [])  # what was found as of that day
    assert list_listings(store, subject_id=A) == [listing]
    assert [n["kind"] for n in list_notifications(store, A)] == told
    assert public_lookup(store, "张三")[0]["since"] == "2026-04-02"
    detail = json.loads(
        str(store.one("SELECT detail FROM audit_log WHERE action = 'listings' ORDER BY seq DESC LIMIT 1"))
    )
    assert (detail["run_id"], detail["past_dated"], detail["delisted"]) == (3, 2, 0)
    # a run of the present date goes on from the newest run's listings
    run(store, D(2026, 4, 10))
    assert [x["status"] for x in list_listings(store, subject_id=A)] == ["effective"]


# -- repair, publication, expiry, purge ------------------------------------------------------------------------


def test_repair_refused_before_the_minimum_and_approved_after(noticed: Store) -> None:
    store = noticed  # run 1: beijing as of 2026-02-01, on its day
    run(store, D(2026, 4, 2))  # effective 2026-04-02; serious: minimum 365 days → 2027-04-02
    repair.report_fulfilment(store, "courts", "J1", fulfilled_on=D(2026, 5, 1), actor="courts", today=D(2026, 5, 1))
    with pytest.raises(WorkflowError) as early:
        repair.apply_for_repair(store, A, "courts", "J1", "Paid in full", "resident", today=D(2027, 4, 1))
    assert (early.value.field, str(early.value)) == (
        "record_id",
        "a serious breach is published for at least 365 days (from 2026-04-02); you may apply for repair from "
        "2027-04-02",
    )
    app = repair.apply_for_repair(store, A, "courts", "J1", "Paid in full", "resident", today=D(2027, 4, 2))
    assert (app["status"], app["severity"], app["eligible_from"]) == ("pending", "serious", "2027-04-02")
    with pytest.raises(WorkflowError) as no_reason:
        repair.decide_repair(store, app["repair_id"], "approved", "", "operator", today=D(2027, 4, 3))
    assert no_reason.value.field == "reason"
    done = repair.decide_repair(
        store, app["repair_id"], "approved", "The court confirms payment.", "operator", today=D(2027, 4, 3)
    )
    assert (done["status"], done["decided_on"]) == ("approved", "2027-04-03")
    assert list_listings(store, subject_id=A)[0]["status"] == "repaired"
    assert rail(store, A) is True
    assert run(store, D(2027, 4, 4))[A] == (1000, [])
    assert subject_report(store, A)["records"][0]["status"] == "repaired"


def test_repair_needs_the_sources_fulfilment_report(noticed: Store) -> None:
    store = noticed  # run 1: beijing as of 2026-02-01, on its day
    with pytest.raises(WorkflowError) as unpaid:
        repair.apply_for_repair(store, A, "courts", "J1", "Please", "resident", today=D(2028, 1, 1))
    assert unpaid.value.code == "not_fulfilled"
    with pytest.raises(WorkflowError) as nothing:  # an on-time repayment is no breach
        repair.apply_for_repair(store, B, "commercial_platforms", "P1", "Please", "resident", today=D(2028, 1, 1))
    assert nothing.value.code == "nothing_to_repair"


def test_publication_ends_at_the_maximum(noticed: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store = noticed  # run 1: beijing as of 2026-02-01, on its day
    run(store, D(2026, 4, 2))
    # serious: at most 1095 days from 2026-04-02 → ends on 2029-04-01 (runs of their day: not what-ifs)
    monkeypatch.setenv("SOCIALCREDIT_TODAY", "2029-03-31")
    run(store, D(2029, 3, 31))
    assert list_listings(store, subject_id=A)[0]["status"] == "effective" and rail(store, A) is False
    monkeypatch.setenv("SOCIALCREDIT_TODAY", "2029-04-01")
    run(store, D(2029, 4, 1))
    [ended] = list_listings(store, subject_id=A)
    assert (ended["status"], ended["closed_on"]) == ("publication_ended", "2029-04-01")
    assert rail(store, A) is True
    monkeypatch.setenv("SOCIALCREDIT_TODAY", "2029-06-01")
    run(store, D(2029, 6, 1))  # the judgment is still unpaid: no new listing for the same cause
    assert [x["status"] for x in list_listings(store, subject_id=A)] == ["publication_ended"]


def test_the_daily_job_ends_a_publication_on_its_date_without_a_run(noticed: Store) -> None:
    """Listed on 2026-04-02 (serious: at most 1095 days), the listing ends on 2029-04-01. With no run since, it
    stayed effective — public, refusing the train — however long past that day; the daily job of 2029-04-01 ends it
    as a run of that day does, and tells the resident once."""
    store = noticed  # run 1: beijing as of 2026-02-01, on its day
    run(store, D(2026, 4, 2))
    assert run_daily(store, D(2029, 3, 31))["publication_ended"] == []
    assert public_lookup(store, "张三") != []
    assert run_daily(store, D(2029, 4, 1))["publication_ended"] == [1]
    [ended] = list_listings(store, subject_id=A)
    assert (ended["status"], ended["closed_on"]) == ("publication_ended", "2029-04-01")
    assert public_lookup(store, "张三") == [] and rail(store, A) is True
    told = list_notifications(store, A)[-1]
    assert (told["created_on"], told["kind"], told["text"]) == (
        "2029-04-01",
        "listing_publication_ended",
        "blacklist (judgment defaulter): the maximum publication period has passed; the listing has ended.",
    )
    assert list_notifications(store, A, "zh")[-1]["text"] == "失信名单（失信被执行人）：公示期届满，已停止公示。"
    detail = store.rows("SELECT detail FROM audit_log WHERE action = 'listings_publication_ended'")
    assert [json.loads(r["detail"]) for r in detail] == [{"on": "2029-04-01", "listings": [1]}]
    assert run_daily(store, D(2029, 4, 2))["publication_ended"] == []  # once
    run(store, D(2029, 6, 1))  # the judgment is still unpaid: no new listing for the same cause, no second notice
    assert [x["status"] for x in list_listings(store, subject_id=A)] == ["publication_ended"]
    kinds = [n["kind"] for n in list_notifications(store, A)]
    assert kinds.count("listing_publication_ended") == 1


def test_the_daily_job_ends_a_publication_under_the_version_of_the_listings_last_run(
    noticed: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Listed on 2026-04-02 under beijing 2026.2 (serious: at most 1095 days); a version 2026.3 published since, no
    run of it yet, allows serious 400 days. The daily job of 2027-06-01 ended the listing on 2027-05-07 (the newest
    version's 400 days) while a run of the listing's version keeps it: it reads the version of the listing's last
    run, as the runs do."""
    from socialcredit.policy import builtin_policy
    from socialcredit.registry.scoring.policies import parse_policy, publish_policy

    store = noticed  # run 1: beijing as of 2026-02-01, on its day
    run(store, D(2026, 4, 2))
    text = (
        builtin_policy("beijing")
        .text.replace('version: "2026.2"', 'version: "2026.3"')
        .replace(
            "serious: {min_publication_days: 365, max_publication_days: 1095}",
            "serious: {min_publication_days: 365, max_publication_days: 400}",
        )
    )
    assert "max_publication_days: 400" in text
    publish_policy(store, parse_policy(text, "shorter", store.catalog))
    assert run_daily(store, D(2027, 6, 1))["publication_ended"] == []
    assert [(x["status"], x["closed_on"]) for x in list_listings(store, subject_id=A)] == [("effective", None)]
    monkeypatch.setenv("SOCIALCREDIT_TODAY", "2027-06-02")  # runs of their day, not what-ifs
    score_on_its_day(store, resolve_policy(store, "beijing@2026.2"), D(2027, 6, 2))
    assert [(x["status"], x["closed_on"]) for x in list_listings(store, subject_id=A)] == [("effective", None)]
    # a run of the new version applies its 400 days, and so does the daily job after it
    monkeypatch.setenv("SOCIALCREDIT_TODAY", "2027-06-03")
    score_on_its_day(store, resolve_policy(store, "beijing@2026.3"), D(2027, 6, 3))
    assert [(x["status"], x["closed_on"]) for x in list_listings(store, subject_id=A)] == [
        ("publication_ended", "2027-05-07")
    ]


def test_a_record_stops_counting_on_the_day_it_expires(store: Store) -> None:
    # K1 of 2019-03-01, court.unfulfilled expires after 2555 days: 2019-03-01 + 2555 = 2026-02-27
    assert run(store, D(2026, 2, 26))[C][0] == 900
    assert run(store, D(2026, 2, 27))[C][0] == 1000
    statuses = {r["record_id"]: r["status"] for r in subject_report(store, C)["records"]}
    assert statuses["K1"] == "expired"


def test_purged_records_never_reappear(store: Store) -> None:
    run(store, D(2026, 2, 26))
    filed = disputes.file_dispute(
        store, C, "courts", "K1", "Too old to hold against me", actor="resident", today=D(2026, 2, 26)
    )
    # the dispute's evidence file and human review are about K1 too: they go with it (they were kept until 2026-12-05)
    add_evidence(store, filed["dispute_id"], PNG, "receipt.png", "resident", today=D(2026, 2, 26))
    disputes.escalate_dispute(store, filed["dispute_id"], "Needs a human look", "operator", today=D(2026, 2, 27))
    disputes.lapse_overdue(store, D(2026, 3, 30))
    # Only Beijing is in use, and no Beijing rule reads platform repayments: P1 (2026-01-15) is kept 90 days, no more.
    assert purge_expired(store, D(2026, 5, 27)) == {
        "records": 1,
        "versions": 1,
        "by_source": {"commercial_platforms": 1},
        "held": {},
    }
    # K1 stops counting on 2026-02-27 and is kept 90 days (retention.purge_after_days): deleted from 2026-05-28
    purged = purge_expired(store, D(2026, 5, 28))
    assert purged == {"records": 1, "versions": 2, "by_source": {"courts": 1}, "held": {}}
    run(store, D(2026, 5, 29))
    text = json.dumps(export_file(store, C), ensure_ascii=False, default=str)
    assert "K1" not in text and "Too old" not in text
    assert "K1" not in json.dumps(subject_report(store, C), default=str)
    assert "K1" not in render_html(export_file(store, C))
    assert store.one("SELECT count(*) FROM records WHERE record_id = 'K1'") == 0
    for table in ("disputes", "dispute_information", "dispute_evidence", "dispute_reviews"):
        assert store.one(f"SELECT count(*) FROM {table}") == 0, table
    detail = store.one("SELECT detail FROM audit_log WHERE action = 'purge_expired'")
    assert json.loads(detail)["records"] == 1 and "K1" not in detail


def test_after_the_purge_the_audit_log_keeps_no_one_s_words_and_its_chain_verifies(store: Store) -> None:
    """Until 2026-12-05 the entries of a dispute's answer, its escalation and its review held the furnisher's and the
    operators' words ("case K1 of the Haidian court ..."), and kept them after the record and its dispute were
    purged. An entry now says where the words are kept and how long they are; the words go with the rows, the purge's
    entry counts what went, and the chain, not rewritten, still verifies."""
    from socialcredit.registry.access.audit import verify_audit

    run(store, D(2026, 2, 26))
    did = disputes.file_dispute(store, C, "courts", "K1", "Too old", actor="resident", today=D(2026, 2, 26))[
        "dispute_id"
    ]
    note, reason, reasons = "Case K1 of the Haidian court names C.", "C says K1 was settled", "Haidian confirms K1."
    disputes.answer_dispute(store, did, "verified", note, "courts", today=D(2026, 2, 27))
    disputes.escalate_dispute(store, did, reason, "operator", today=D(2026, 2, 27))
    disputes.decide_review(store, did, "upheld", reasons, "reviewer", today=D(2026, 2, 28))
    entries = store.rows(
        "SELECT actor, action, subject_id, detail FROM audit_log "
        "WHERE action IN ('dispute_verified', 'dispute_escalated', 'dispute_reviewed') ORDER BY seq"
    )
    assert [(e["actor"], e["action"], e["subject_id"], json.loads(e["detail"])) for e in entries] == [
        (
            "courts",
            "dispute_verified",
            C,
            {
                "dispute_id": did,
                "source": "courts",
                "record_id": "K1",
                "note": {"kept_in": "disputes.note", "chars": 37},
            },
        ),
        (
            "operator",
            "dispute_escalated",
            C,
            {"dispute_id": did, "reason": {"kept_in": "dispute_reviews.escalation_reason", "chars": 21}},
        ),
        (
            "reviewer",
            "dispute_reviewed",
            C,
            {"dispute_id": did, "decision": "upheld", "reasons": {"kept_in": "dispute_reviews.reasons", "chars": 20}},
        ),
    ]
    assert store.one("SELECT reasons FROM dispute_reviews WHERE dispute_id = ?", [did]) == reasons
    purge_expired(store, D(2026, 5, 28))
    assert store.one("SELECT count(*) FROM disputes") == 0
    words = "SELECT count(*) FROM audit_log WHERE detail LIKE '%Haidian%' OR detail LIKE '%settled%'"
    assert store.one(words) == 0
    purged = json.loads(store.one("SELECT detail FROM audit_log WHERE action = 'purge_expired'"))
    assert purged["removed"] == {"disputes": 1, "listings": 0, "repairs": 0, "fulfilments": 0, "overrides": 0}
    assert verify_audit(store) == []


def test_a_record_under_an_open_dispute_or_a_pending_review_is_held_back_from_the_purge(store: Store) -> None:
    """Until 2026-12-05 the purge deleted a record past retention with its open dispute: the resident's dispute
    vanished unanswered. It is held back now until the dispute (and a human review of it) is decided."""
    from scoring_helpers import run_differences

    run(store, D(2026, 2, 26))
    # K1 stops counting on 2026-02-27 and may be purged from 2026-05-28; C disputes it on 2026-05-20 (due 2026-06-19)
    filed = disputes.file_dispute(store, C, "courts", "K1", "Not my case", actor="resident", today=D(2026, 5, 20))
    dispute_id = filed["dispute_id"]

    def agree(as_of: dt.date) -> None:  # the scores from the kept state and from the records agree after the purge
        kept = score_on_its_day(store, resolve_policy(store, "beijing"), as_of)
        records = score_on_its_day(store, resolve_policy(store, "beijing"), as_of, from_records=True)
        assert (kept.source, records.source) == ("state", "records")
        assert run_differences(store, kept.run_id, records.run_id) == []

    def k1() -> int:
        return int(store.one("SELECT count(*) FROM records WHERE record_id = 'K1'"))

    daily = run_daily(store, D(2026, 5, 28))
    assert daily["lapsed_disputes"] == []
    assert daily["purged"] == {
        "records": 1,
        "versions": 1,
        "by_source": {"commercial_platforms": 1},
        "held": {"open_dispute": 1},
    }
    assert k1() == 1 and disputes.get_dispute(store, dispute_id)["status"] == "open"
    detail = json.loads(store.one("SELECT detail FROM audit_log WHERE action = 'purge_expired'"))
    assert (detail["records"], detail["held"]) == (1, {"open_dispute": 1})
    agree(D(2026, 5, 29))
    # the source verifies it; the operator sends it to a human review, which is still pending at the next run (C's
    # late tax payment X1 of 2021-03-01 goes meanwhile: tax.late expires after 1825 days, + 90 → 2026-05-29)
    disputes.answer_dispute(store, dispute_id, "verified", "The case file names C.", "courts", today=D(2026, 6, 1))
    disputes.escalate_dispute(store, dispute_id, "The resident insists", "operator", today=D(2026, 6, 1))
    assert run_daily(store, D(2026, 6, 2))["purged"] == {
        "records": 1,
        "versions": 1,
        "by_source": {"tax_bureau": 1},
        "held": {"human_review": 1},
    }
    assert k1() == 1
    audited = "SELECT detail FROM audit_log WHERE action = 'purge_expired' ORDER BY seq"
    held = [json.loads(r["detail"]) for r in store.rows(audited)]
    assert [(d["records"], d["held"]) for d in held] == [(1, {"open_dispute": 1}), (1, {"human_review": 1})]
    # decided: K1 goes at the next daily run, with its dispute
    disputes.decide_review(store, dispute_id, "upheld", "The case file names C.", "reviewer", today=D(2026, 6, 3))
    assert run_daily(store, D(2026, 6, 4))["purged"] == {
        "records": 1,
        "versions": 1,
        "by_source": {"courts": 1},
        "held": {},
    }
    assert k1() == 0 and store.one("SELECT count(*) FROM disputes") == 0
    agree(D(2026, 6, 5))
    assert run(store, D(2026, 6, 5))[C] == (1000, [])


def test_a_record_under_a_pending_repair_application_is_held_back_from_the_purge(
    noticed: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Until 2026-12-05 the purge deleted a record past retention with the repair application pending on it: the
    application vanished undecided. It is held back now until the application is decided, as under an open dispute."""
    from socialcredit.registry.due_process import retention

    store = noticed  # run 1: beijing as of 2026-02-01, on its day
    run(store, D(2026, 4, 2))  # effective 2026-04-02; serious: minimum 365 days → repair from 2027-04-02
    repair.report_fulfilment(store, "courts", "J1", fulfilled_on=D(2026, 5, 1), actor="courts", today=D(2026, 5, 1))
    app = repair.apply_for_repair(store, A, "courts", "J1", "Paid in full", "resident", today=D(2027, 4, 2))
    # J1 is past retention (stand-in: the expired records are exactly it)
    expired = "SELECT 'courts' AS source_id, 'J1' AS record_id WHERE $today IS NOT NULL"
    monkeypatch.setattr(retention, "_expired", lambda *_a, **_k: expired)
    held = purge_expired(store, D(2027, 4, 3))
    assert held == {"records": 0, "versions": 0, "by_source": {}, "held": {"pending_repair": 1}}
    assert store.one("SELECT count(*) FROM records WHERE record_id = 'J1'") == 1
    assert repair.get_repair(store, app["repair_id"])["status"] == "pending"
    detail = json.loads(store.one("SELECT detail FROM audit_log WHERE action = 'purge_expired'"))
    assert (detail["records"], detail["held"]) == (0, {"pending_repair": 1})
    # decided: J1 goes at the next purge, with the application and the listing it ended
    repair.decide_repair(
        store, app["repair_id"], "approved", "The court confirms payment.", "operator", today=D(2027, 4, 4)
    )
    purged = purge_expired(store, D(2027, 4, 5))
    assert purged == {"records": 1, "versions": 1, "by_source": {"courts": 1}, "held": {}}
    assert [store.one(f"SELECT count(*) FROM {t}") for t in ("repairs", "listings", "fulfilments")] == [0, 0, 0]


def test_a_purged_listing_takes_its_override_and_its_notice_the_audit_chain_stays(
    noticed: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Until 2026-12-05 the purge deleted a listing but left the operator's override of it (its justification speaks
    of the record's cause) and the notice of the override. Both go now; an override of a decision stays (decisions
    are not purged with records), and so does every audit entry: the log is a hash chain."""
    from socialcredit.registry.access.audit import verify_audit
    from socialcredit.registry.due_process import retention

    store = noticed  # run 1: beijing as of 2026-02-01, on its day
    run(store, D(2026, 4, 2))
    [listing] = list_listings(store, subject_id=A)
    why = "The court's enforcement was suspended on appeal (case 2026-0412)."
    overrides.override_listing(store, listing["listing_id"], why, "operator", today=D(2026, 4, 3))
    refused = decide(store, B, "deposit_free_rental", "deposit", requester="bikes")
    kept = "Deposit waived after a review."
    overrides.override_decision(store, refused.inquiry_id or 0, "granted", kept, "operator", today=D(2026, 4, 3))
    entries = store.one("SELECT count(*) FROM audit_log")
    # J1 is past retention (stand-in: the expired records are exactly it)
    expired = "SELECT 'courts' AS source_id, 'J1' AS record_id WHERE $today IS NOT NULL"
    monkeypatch.setattr(retention, "_expired", lambda *_a, **_k: expired)
    assert purge_expired(store, D(2026, 4, 4))["records"] == 1
    assert [(o["kind"], o["subject_id"], o["justification"]) for o in overrides.list_overrides(store)] == [
        ("decision", B, kept)
    ]
    notices = store.rows("SELECT subject_id, text_en FROM notifications WHERE kind = 'override'")
    assert [(n["subject_id"], kept in n["text_en"]) for n in notices] == [(B, True)]
    assert store.one("SELECT count(*) FROM notifications WHERE text_en LIKE '%suspended on appeal%'") == 0
    # the audit log only grew (the purge's entry), and its chain verifies
    assert store.one("SELECT count(*) FROM audit_log") == entries + 1
    assert audit_actions(store).count("override_listing") == 1
    assert verify_audit(store) == []


# -- consent ---------------------------------------------------------------------------------------------------


def test_consent_withdrawal_counts_from_the_next_run_and_history_is_kept(store: Store) -> None:
    assert run(store, D(2026, 2, 1), "sesame")[B][0] == 550  # commercial data without consent: not counted
    set_consent(store, B, "commercial", True, actor="resident")
    assert run(store, D(2026, 2, 1), "sesame")[B][0] == 554  # credit.platform_on_time +4
    set_consent(store, B, "commercial", False, actor="resident")
    assert run(store, D(2026, 2, 1), "sesame")[B][0] == 550
    assert [(h["category"], h["granted"]) for h in consent_history(store, B)] == [
        ("commercial", True),
        ("commercial", False),
    ]
    assert current_consents(store, B) == {"commercial": False}
    # mandatory from 2027-07-01 with 60 days' notice: from 2027-05-02, each person is told once
    assert notify_mandatory(store, D(2027, 5, 1)) == 0
    assert notify_mandatory(store, D(2027, 5, 2)) == 3
    assert notify_mandatory(store, D(2027, 5, 3)) == 0
    assert [n["kind"] for n in list_notifications(store, B)] == ["mandatory_enrollment"]
    assert subject_report(store, B)["consents"]["current"] == {"commercial": False}


def test_a_person_registered_after_enrollment_became_mandatory_is_told_too(store: Store, tmp_path: Path) -> None:
    """Sesame counts commercial data for everyone from 2027-07-01 (60 days' notice). Until 2026-12-05 the daily job
    told only those registered in the notice period: a resident registered later was never told."""
    assert notify_mandatory(store, D(2027, 5, 2)) == 3
    late = make_ric("110105", dt.date(1995, 9, 9), 44)
    ingest(
        store,
        write_csv(
            tmp_path / "late.csv",
            ["subject_id", "name", "district", "profession"],
            [[late, "赵六", "朝阳区", "retail"]],
        ),
        "civil_affairs",
        D(2027, 8, 1),
    )
    assert notify_mandatory(store, D(2027, 8, 2)) == 1
    assert notify_mandatory(store, D(2027, 8, 3)) == 0
    [told] = store.rows("SELECT created_on, text_en, text_zh FROM notifications WHERE subject_id = ?", [late])
    assert told == {
        "created_on": D(2027, 8, 2),
        "text_en": (
            "Since 2027-07-01, Sesame-style commercial score (policy sesame) counts commercial platform data for "
            "everyone, whether or not you opted in."
        ),
        "text_zh": "自 2027-07-01 起，“芝麻式商业信用分”（sesame 政策）已对所有人计入商业数据，无论是否同意。",
    }
    assert [n["kind"] for n in list_notifications(store, B)] == ["mandatory_enrollment"]  # told once, before


def test_the_mandatory_enrollment_notice_names_the_policy_and_data_in_the_resident_s_language(store: Store) -> None:
    """Until 2026-12-06 the Chinese notice read "sesame 政策将对所有人计入 commercial 类数据": the policy's and the
    category's ids, in English. A resident told in those words before is not told again."""
    assert notify_mandatory(store, D(2027, 5, 2)) == 3
    [told] = store.rows("SELECT text_en, text_zh FROM notifications WHERE subject_id = ?", [B])
    assert told == {
        "text_en": (
            "From 2027-07-01, Sesame-style commercial score (policy sesame) counts commercial platform data for "
            "everyone, whether or not you opted in. Until then you may opt in or out."
        ),
        "text_zh": (
            "自 2027-07-01 起，“芝麻式商业信用分”（sesame 政策）将对所有人计入商业数据，无论是否同意。"
            "此前您仍可选择同意或撤回。"
        ),
    }
    store.execute(  # a store upgraded from before: its residents were told in the words of then
        "UPDATE notifications SET text_en = 'From 2027-07-01, policy sesame counts commercial data for everyone, "
        "whether or not you opted in. Until then you may opt in or out.' WHERE kind = 'mandatory_enrollment'"
    )
    assert notify_mandatory(store, D(2027, 5, 3)) == 0
    assert notify_mandatory(store, D(2027, 8, 2)) == 0


def test_a_notice_told_once_is_not_told_again_when_only_the_words_change(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "Told already" compared the notice's English words: a version 2026.2 that only renamed the policy (the same
    categories, the same date) told every resident again, and so would a catalog renaming the category. A notice is
    the policy's and its date's, whatever its words; those of before 2026-12-06 too, "Since …" as "From …"."""
    from socialcredit.policy import builtin_policy, parse_policy
    from socialcredit.registry.scoring.policies import publish_policy

    monkeypatch.setenv("SOCIALCREDIT_TODAY", "2027-05-02")
    assert notify_mandatory(store, D(2027, 5, 2)) == 3
    renamed = builtin_policy("sesame").text.replace('version: "2026.1"', 'version: "2026.2"', 1)
    renamed = renamed.replace("en: Sesame-style commercial score", "en: Sesame-style commercial credit score", 1)
    assert publish_policy(store, parse_policy(renamed, "sesame-2026.2.yaml"))
    assert score_on_its_day(store, resolve_policy(store, "sesame"), D(2027, 5, 2)).policy_version == "2026.2"
    assert notify_mandatory(store, D(2027, 5, 3)) == 0
    store.execute(  # a store upgraded from before, its residents told after the date in the words of then
        "UPDATE notifications SET text_en = 'Since 2027-07-01, policy sesame counts commercial data for everyone, "
        "whether or not you opted in.' WHERE kind = 'mandatory_enrollment'"
    )
    assert notify_mandatory(store, D(2027, 8, 2)) == 0
    assert store.one("SELECT count(*) FROM notifications WHERE kind = 'mandatory_enrollment'") == 3


# -- review and adverse action ---------------------------------------------------------------------------------


def test_an_override_needs_a_justification_and_is_shown_and_audited(noticed: Store) -> None:
    store = noticed  # run 1: beijing as of 2026-02-01, on its day
    run(store, D(2026, 4, 2))
    [listing] = list_listings(store, subject_id=A)
    with pytest.raises(WorkflowError) as bare:
        overrides.override_listing(store, listing["listing_id"], "", "operator", today=D(2026, 4, 3))
    assert (bare.value.field, bare.value.code) == ("justification", "missing_field")
    with pytest.raises(WorkflowError) as short:
        overrides.override_listing(store, listing["listing_id"], "ok", "operator", today=D(2026, 4, 3))
    assert short.value.code == "justification_too_short"
    assert rail(store, A) is False
    why = "The court's enforcement was suspended on appeal (case 2026-0412)."
    # the clock set back before the notice (2026-02-01): the listing would end before it began (until 2026-12-05
    # it was closed on 2026-01-31)
    with pytest.raises(WorkflowError) as early:
        overrides.override_listing(store, listing["listing_id"], why, "operator", today=D(2026, 1, 31))
    assert (early.value.code, str(early.value)) == (
        "before_notice",
        "listing 1 was noticed on 2026-02-01; its override cannot be dated 2026-01-31, before that",
    )
    assert list_listings(store, subject_id=A)[0]["status"] == "effective"
    overrides.override_listing(store, listing["listing_id"], why, "operator", today=D(2026, 4, 3))
    assert rail(store, A) is True
    refused = decide(store, A, "deposit_free_rental", "deposit", requester="bikes")
    overrides.override_decision(store, refused.inquiry_id or 0, "granted", "Deposit waived after a review.", "operator")
    report = subject_report(store, A)
    assert [(o["kind"], o["justification"]) for o in report["overrides"]] == [
        ("listing", why),
        ("decision", "Deposit waived after a review."),
    ]
    reviewed = next(q for q in report["inquiries"] if q["service"] == "deposit_free_rental")
    assert (reviewed["outcome"], reviewed["outcome_before_review"]) == ("granted", "refused")
    assert (
        list_notifications(store, A)[-2]["text"]
        == f"An operator took you off the blacklist (judgment defaulter): {why}"
    )
    assert {"override_listing", "override_decision"} <= set(audit_actions(store))
    # the printable file says what was reviewed in words, in its language (a Chinese page said "decision" and
    # "inquiry:12")
    cells = '<td data-label="{}">{}</td><td data-label="{}">{} {}</td>'
    lid, qid = listing["listing_id"], refused.inquiry_id
    files = {lang: export_file(store, A, lang=lang) for lang in ("zh", "en")}
    zh, en = (render_html(files[lang], lang, file_names(store, files[lang], lang)) for lang in ("zh", "en"))
    assert cells.format("类别", "名单认定", "复核对象", "名单条目", lid) in zh
    assert cells.format("类别", "查询结果", "复核对象", "查询", qid) in zh
    assert cells.format("Kind", "listing", "What was reviewed", "listing", lid) in en
    assert cells.format("Kind", "decision", "What was reviewed", "inquiry", qid) in en
    assert f"inquiry:{qid}" not in zh + en and f"listing:{lid}" not in zh + en
    # each notice and listing names its policy (two policies' blacklists may share their name)
    assert '<td data-label="政策">北京市社会信用评分</td><td data-label="名单">' in zh
    assert '<td data-label="Policy">Beijing social credit score</td><td data-label="List">' in en


def test_a_refusal_says_what_would_change_it(noticed: Store) -> None:
    store = noticed  # run 1: beijing as of 2026-02-01, on its day
    # decisions stand on the run in force, the newest-dated: C's refusal as of 2026-02-20 is read before a later run
    run(store, D(2026, 2, 20))
    # C at 900 for K1 (−100): A (960) needs 60; K1 alone covers it, and it expires on 2026-02-27
    loan = decide(store, C, "matchmaking_badge", "badge", requester="match")
    assert loan.actions == [
        "pay the outstanding judgment of 5,000 yuan (record K1 from courts); the court then records it fulfilled",
        "or wait until 2026-02-27, when enough of these records expire",
        "if a record counted against you is wrong, you can dispute it: its source then corrects or withdraws it",
    ]
    # in Chinese, word for word: what would change it speaks the language its reasons speak (until 2026-12-04 a
    # zh decision's actions were in English)
    assert decide(store, C, "matchmaking_badge", "badge", requester="match", lang="zh").actions == [
        "履行未执行的判决（金额 5,000 元；记录 K1，来源 人民法院），法院随后登记为已履行",
        "或等到 2026-02-27，届时这些记录中足够多的已过期",
        "如计入的记录有误，可以提出异议，由其来源更正或撤回",
    ]
    run(store, D(2026, 4, 2))
    d = decide(store, A, "high_speed_rail", "ticket purchase", requester="railway")
    assert not d.granted and len(d.reasons) <= 4
    assert [r.code for r in d.reasons] == ["LIST_JUDGMENT_DEFAULTER", "COURT_UNFULFILLED"]
    assert d.actions == [
        "pay the outstanding judgment of 12,000 yuan (record J1 from courts); the court then records it fulfilled; "
        "at the latest its publication ends on 2029-04-01"
    ]
    # AA (1030) from 900: the judgment's 100 points are not enough on their own
    rental = decide(store, A, "deposit_free_rental", "deposit", requester="bikes")
    assert rental.actions[-2:] == [
        "raise the score by a further 30 points",
        "if a record counted against you is wrong, you can dispute it: its source then corrects or withdraws it",
    ]


def test_what_would_change_a_refusal_is_said_in_chinese_too(noticed: Store) -> None:
    store = noticed  # run 1: beijing as of 2026-02-01, on its day
    run(store, D(2026, 4, 2))
    d = decide(store, A, "high_speed_rail", "ticket purchase", requester="railway", lang="zh")
    assert d.actions == [
        "履行未执行的判决（金额 12,000 元；记录 J1，来源 人民法院），法院随后登记为已履行；其公示最迟于 2029-04-01 结束"
    ]
    rental = decide(store, A, "deposit_free_rental", "deposit", requester="bikes", lang="zh")
    assert rental.actions[-2:] == ["将分数再提高 30 分", "如计入的记录有误，可以提出异议，由其来源更正或撤回"]


@given(st.text(alphabet="0123456789X", min_size=11, max_size=20))
def test_masking_keeps_only_the_ends(value: str) -> None:
    masked = mask_id(value)
    assert len(masked) == len(value)
    assert masked[:6] == value[:6] and masked[-4:] == value[-4:] and set(masked[6:-4]) <= {"*"}


def test_a_public_lookup_needs_a_real_query(store: Store) -> None:
    with pytest.raises(WorkflowError) as short:
        public_lookup(store, "x")
    assert short.value.field == "query"


def test_an_incremental_run_sees_disputes_and_repairs_like_a_full_run(store: Store) -> None:
    sesame = resolve_policy(store, "sesame")
    score_on_its_day(store, sesame, D(2026, 2, 1))
    disputes.file_dispute(store, A, "courts", "J1", "Paid", actor="resident", today=D(2026, 2, 1))
    inc = score_on_its_day(store, sesame, D(2026, 2, 1), incremental=True)
    full = score_on_its_day(store, sesame, D(2026, 2, 1))
    cols = "subject_id, score, tier, lists, grants"
    q = f"SELECT {cols} FROM run_results WHERE run_id = ? ORDER BY subject_id"
    assert inc.mode == "incremental" and inc.rescored == 1  # only A's inputs changed
    assert store.rows(q, [inc.run_id]) == store.rows(q, [full.run_id])
    assert {r["subject_id"]: r["score"] for r in store.rows(q, [inc.run_id])}[A] == 550


def test_the_residents_file_shows_no_unfinished_run(store: Store) -> None:
    """A run being written, or one a crash left (``finished_at`` null), is not in the resident's file: not its
    results, reasons nor list entries (until 2026-12-05 the file showed them, with the run's policy and date); and a
    policy with only such a run is not among the scored ones the consents page names."""
    from socialcredit.registry.scoring.runs import scored_policy_ids

    finished = score_on_its_day(store, resolve_policy(store, "beijing"), D(2026, 4, 2)).run_id
    unfinished = finished + 100
    with store.transaction():  # a copy of the run, never finished, under sesame, its scores 1 point apart
        store.execute(
            "INSERT INTO score_runs SELECT * REPLACE (? AS run_id, 'sesame' AS policy_id, NULL AS finished_at) "
            "FROM score_runs WHERE run_id = ?",
            [unfinished, finished],
        )
        for table, change in (
            ("run_results_rows", ", score + 1 AS score"),
            ("run_rules", ""),
            ("run_points_rows", ""),
            ("run_list_entries", ""),
        ):
            store.execute(
                f"INSERT INTO {table} SELECT * REPLACE (? AS run_id{change}) FROM {table} WHERE run_id = ?",
                [unfinished, finished],
            )
    file = export_file(store, A)
    assert [(r["run_id"], r["policy_id"]) for r in file["run_results"]] == [(finished, "beijing")]
    assert {r["run_id"] for r in file["run_reasons"]} == {finished}
    assert [(e["run_id"], e["list_id"]) for e in file["list_entries"]] == [(finished, "blacklist")]
    assert [s["run_id"] for s in file["scores"]] == [finished]
    assert scored_policy_ids(store) == ["beijing"]


def test_a_run_dated_ahead_of_today_lapses_no_dispute_its_source_may_still_answer(
    noticed: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A what-if run dated past a dispute's deadline (answer due by 2026-03-03) does not close a dispute the source
    can still answer on the registry's today; once today is past the deadline, a run lapses it."""
    store = noticed  # run 1: beijing as of 2026-02-01, on its day
    disputes.file_dispute(store, A, "courts", "J1", "Not my case", actor="resident", today=D(2026, 2, 1))
    monkeypatch.setenv("SOCIALCREDIT_TODAY", "2026-02-10")
    run(store, D(2026, 3, 5))
    assert disputes.list_disputes(store, subject_id=A)[0]["status"] == "open"
    monkeypatch.setenv("SOCIALCREDIT_TODAY", "2026-03-05")
    assert run(store, D(2026, 3, 5))[A] == (1000, [])
    assert disputes.list_disputes(store, subject_id=A)[0]["status"] == "lapsed"


def test_a_run_dated_ahead_of_today_does_not_make_todays_runs_past_dated(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A what-if run dated 2026-03-01 made on 2026-02-01: a run of today after it still notices a new defaulter
    (every later run was taken for past-dated and noticed no one until 2026-03-01)."""
    monkeypatch.setenv("SOCIALCREDIT_TODAY", "2026-02-01")
    run(store, D(2026, 3, 1))
    row = ["J2", B, "court_judgment", "2026-02-01", "civil", "9000", "unfulfilled", "true"]
    ingest(store, write_csv(tmp_path / "j2.csv", JUDGMENT, [row]), "courts", D(2026, 2, 1))
    run(store, D(2026, 2, 1))
    assert [(x["list_id"], x["status"]) for x in list_listings(store, subject_id=B)] == [("blacklist", "pending")]


def test_a_rerun_at_the_latest_runs_watermark_moves_no_listing(store: Store, tmp_path: Path) -> None:
    """Nothing ingested between: a rerun of run 1 under its policy version after run 2 under a version that no longer
    lists A is no news; it is recorded as a rerun and neither notices A again nor tells A anything."""
    first = score_on_its_day(store, resolve_policy(store, "beijing"), D(2026, 2, 1))
    text = resolve_policy(store, "beijing").text.replace('version: "2026.2"', 'version: "2026.3"')
    text = text.replace(
        "when: \"defaulter and status == 'unfulfilled'\"",
        "when: \"defaulter and status == 'unfulfilled' and amount > 1000000\"",
    )
    (tmp_path / "beijing.yaml").write_text(text, encoding="utf-8")
    second = score_on_its_day(store, resolve_policy(store, str(tmp_path / "beijing.yaml")), D(2026, 2, 1))
    assert second.watermark == first.watermark
    before = [(x["listing_id"], x["status"]) for x in list_listings(store, subject_id=A)]
    told = len(list_notifications(store, A))
    again = rerun(store, first.run_id)
    assert (again.mode, again.watermark) == ("rerun", first.watermark)
    assert [(x["listing_id"], x["status"]) for x in list_listings(store, subject_id=A)] == before
    assert len(list_notifications(store, A)) == told


def test_an_export_for_another_engine_lapses_the_disputes_overdue_today_first(
    noticed: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run on Spark reads an export: the dispute its source did not answer by 2026-03-03 lapses before the export
    reads, as before a run here (a Spark run counted the record, and the resident stayed listed)."""
    from socialcredit.registry.scoring.export import export_inputs

    store = noticed  # run 1: beijing as of 2026-02-01, on its day
    disputes.file_dispute(store, A, "courts", "J1", "Not my case", actor="resident", today=D(2026, 2, 1))
    monkeypatch.setenv("SOCIALCREDIT_TODAY", "2026-03-02")
    export_inputs(store, tmp_path / "early")
    assert disputes.list_disputes(store, subject_id=A)[0]["status"] == "open"
    monkeypatch.setenv("SOCIALCREDIT_TODAY", "2026-03-05")
    export_inputs(store, tmp_path / "late")
    assert disputes.list_disputes(store, subject_id=A)[0]["status"] == "lapsed"


def test_the_printable_file_names_each_record_s_source_by_source_id(tmp_path: Path) -> None:
    """The page reads a record's source by ``source_id`` (it read ``source``, a deprecated alias since 2026-12-06); a
    file exported before, with ``source`` alone, still names it."""
    store = built(tmp_path)
    file = export_file(store, A)
    [judgment] = [r for r in file["records"] if r["record_id"] == "J1"]
    assert (judgment["source_id"], judgment["source"]) == ("courts", "courts")
    cell = '<td data-label="Source">people&#39;s courts</td>'
    newer = {**file, "records": [{k: v for k, v in r.items() if k != "source"} for r in file["records"]]}
    older = {**file, "records": [{k: v for k, v in r.items() if k != "source_id"} for r in file["records"]]}
    for shape in (file, newer, older):
        assert cell in render_html(shape, "en", file_names(store, shape, "en"))
    store.close()
