"""The notices of a listing through an organisation name the organisation, the role and its cause, in both
languages: the first notice (written set-based with the run) and the notice that it took effect — which a score run
writes exactly as the daily job does, once per listing whichever comes first (docs/organisations.md)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from due_world import ingest, score_on_its_day, write_csv
from org_world import DIRECTOR, ORG, OTHER_ORG, REP, build_org_world
from socialcredit.registry.due_process.listings import activate_due
from socialcredit.registry.due_process.relations import relation_note, relation_notes
from socialcredit.registry.scoring.policies import get_policy, resolve_policy
from socialcredit.store import Store

pytestmark = pytest.mark.slow  # a world built and scored per test

COMPANY_EN = f"北京示例科技有限公司 (USCC {ORG}), which is a judgment defaulter"
COMPANY_ZH = f"北京示例科技有限公司（统一社会信用代码 {ORG}）的{{role}}，该单位为失信被执行人"
ROLES = {REP: ("legal representative", "法定代表人", "R1"), DIRECTOR: ("director", "董事", "R2")}
CRITERION_EN = "legal representative or principal officer of an organisation that is a judgment defaulter"
CRITERION_ZH = "失信被执行单位的法定代表人或主要负责人"


def _effective_text(person: str, since: str = "2026-03-21") -> tuple[str, str]:
    """The notice of the listing taking effect, in effect ``since`` that day (the day the run or job did it)."""
    role_en, role_zh, _ = ROLES[person]
    return (
        f"restriction on high spending ({CRITERION_EN}: {role_en} of {COMPANY_EN}): the notice period ended; you "
        f"have been listed since {since}.",
        f"限制高消费名单（{CRITERION_ZH}：{COMPANY_ZH.format(role=role_zh)}）：通知期已满，自 {since} 起已被列入。",
    )


def _told(store: Store, kind: str) -> dict[str, list[tuple[str, str, str]]]:
    out: dict[str, list[tuple[str, str, str]]] = {}
    for r in store.rows(
        "SELECT subject_id, created_on, text_en, text_zh FROM notifications WHERE kind = ? ORDER BY notification_id",
        [kind],
    ):
        out.setdefault(r["subject_id"], []).append((r["created_on"].isoformat(), r["text_en"], r["text_zh"]))
    return out


def _score(store: Store, day: str) -> None:
    score_on_its_day(store, resolve_policy(store, "beijing"), dt.date.fromisoformat(day))


def test_the_first_notice_names_the_organisation_role_and_cause(tmp_path: Path) -> None:
    store = build_org_world(tmp_path, runs=(dt.date(2026, 1, 20),))
    try:
        told = _told(store, "listing_notice")
    finally:
        store.close()
    for person, (role_en, role_zh, record) in ROLES.items():
        assert told[person] == [
            (
                "2026-01-20",
                "Notice: under the Beijing social credit score you meet a criterion of the restriction on high "
                f"spending: {CRITERION_EN}: {role_en} of {COMPANY_EN} (record {record}). The listing takes effect on "
                "2026-03-21 unless the cause is resolved before then. You may dispute the record, or fulfil the "
                "obligation.",
                f"通知：根据北京市社会信用评分，您符合限制高消费名单的列入条件：{CRITERION_ZH}："
                f"{COMPANY_ZH.format(role=role_zh)}（记录 {record}）。除非在此之前原因消除，将于 2026-03-21 起列入。"
                "您可以对记录提出异议或履行义务。",
            )
        ]
    # the company's own notice is not through a relation: its criterion alone, as before
    assert told[ORG][0][1] == (
        "Notice: under the Beijing social credit score you meet a criterion of the blacklist: judgment defaulter "
        "(record J9). The listing takes effect on 2026-03-21 unless the cause is resolved before then. You may "
        "dispute the record, or fulfil the obligation."
    )


def test_a_run_puts_the_listings_in_effect_with_the_daily_jobs_notice_once(tmp_path: Path) -> None:
    """The run of 2026-03-25 (after the 60 days' grace, no daily job since) puts the three listings in effect and
    tells each subject as the daily job would; the daily job of that day and a run the next day tell nobody again."""
    store = build_org_world(tmp_path, runs=(dt.date(2026, 1, 20), dt.date(2026, 3, 25)))
    try:
        assert activate_due(store, dt.date(2026, 3, 25)) == []
        _score(store, "2026-03-26")
        told = _told(store, "listing_effective")
        audit = [
            json.loads(str(r[0]))
            for r in store.execute(
                "SELECT detail FROM audit_log WHERE action = 'listings_effective' ORDER BY seq"
            ).fetchall()
        ]
        listings = dict(store.execute("SELECT subject_id, listing_id FROM listings ORDER BY 1").fetchall())
        statuses = {str(r[0]) for r in store.execute("SELECT status FROM listings").fetchall()}
    finally:
        store.close()
    for person in ROLES:
        # in effect since the run that put them in effect, not their date (until 2026-12-05: "since 2026-03-21")
        assert told[person] == [("2026-03-25", *_effective_text(person, "2026-03-25"))]
    assert told[ORG] == [
        (
            "2026-03-25",
            "blacklist (judgment defaulter): the notice period ended; you have been listed since 2026-03-25.",
            "失信名单（失信被执行人）：通知期已满，自 2026-03-25 起已被列入。",
        )
    ]
    assert statuses == {"effective"}
    # one audit entry per list of the run, naming its listings, as the daily job's names its own
    assert audit == [
        {"on": "2026-03-25", "run_id": 2, "list": "blacklist", "listings": [listings[ORG]]},
        {
            "on": "2026-03-25",
            "run_id": 2,
            "list": "high_spending_restriction",
            "listings": sorted([listings[REP], listings[DIRECTOR]]),
        },
    ]


def test_the_daily_job_then_a_run_the_same_day_tell_once(tmp_path: Path) -> None:
    """The daily job of 2026-03-21 puts them in effect first; the run of that day finds them effective already."""
    store = build_org_world(tmp_path, runs=(dt.date(2026, 1, 20),))
    try:
        assert len(activate_due(store, dt.date(2026, 3, 21))) == 3
        _score(store, "2026-03-21")
        _score(store, "2026-03-22")
        told = _told(store, "listing_effective")
        per_listing = store.execute(
            "SELECT ref_id, count(*) FROM notifications WHERE kind = 'listing_effective' GROUP BY ALL"
        ).fetchall()
    finally:
        store.close()
    assert sorted(n for _, n in per_listing) == [1, 1, 1]
    for person in ROLES:  # the same words as the run's, dated the day of the job
        assert told[person] == [("2026-03-21", *_effective_text(person))]


# -- one batch says what each entry alone says -------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_defaulters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The world with a second company on the blacklist (its judgment J10), scored again: two organisations, their
    names and roles, in one batch."""
    folder = tmp_path_factory.mktemp("two_defaulters")
    store = build_org_world(folder, runs=(dt.date(2026, 1, 20),))
    header = ["record_id", "subject_id", "record_type", "event_date", "case_type", "amount", "status", "defaulter"]
    row = ["J10", OTHER_ORG, "court_judgment", "2026-01-12", "commercial", "90000", "unfulfilled", "true"]
    ingest(store, write_csv(folder / "courts2.csv", header, [row]), "courts", dt.date(2026, 1, 12))
    _score(store, "2026-01-25")
    yield store
    store.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_notes_of_many_entries_are_those_of_each_alone(two_defaulters: Store, data: st.DataObject) -> None:
    """``relation_notes`` (a run's notices, the daily job's) over any mix of entries — role records of either
    company, records that are not roles, no record, criteria not through a relation, unknown ones — gives each
    entry what it gives that entry alone (``relation_note``: a reason, a report)."""
    store = two_defaulters
    loaded = get_policy(store, "beijing")
    keys = [int(r[0]) for r in store.execute("SELECT record_key FROM records ORDER BY record_key").fetchall()]
    criteria = [
        ("high_spending_restriction", "officer_of_defaulter"),
        ("blacklist", "judgment_defaulter"),
        ("blacklist", "no_such_criterion"),
    ]
    entry = st.tuples(st.sampled_from(criteria), st.one_of(st.none(), st.sampled_from([*keys, 10**9])))
    entries = [(lst, crit, key) for (lst, crit), key in data.draw(st.lists(entry, max_size=12))]
    alone = [relation_note(store, loaded, *e) for e in entries]
    assert relation_notes(store, loaded, entries) == alone
    # and both companies are named, each with its own representative's role
    named = {n[0] for n in alone if n is not None}
    assert named <= {
        f": legal representative of 北京示例科技有限公司 (USCC {ORG}), which is a judgment defaulter",
        f": director of 北京示例科技有限公司 (USCC {ORG}), which is a judgment defaulter",
        f": legal representative of 北京示例科技有限公司 (USCC {ORG}), which is on the blacklist",
        f": legal representative of 北京另一示例商贸有限公司 (USCC {OTHER_ORG}), which is a judgment defaulter",
    }
