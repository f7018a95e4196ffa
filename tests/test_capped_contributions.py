"""A record's contribution in the resident's file as its rule's cap leaves it: four court judgments at −100 under a
rule capped at 300 in all count −100, −100, −100 and 0, oldest first (by event date, then the record's id), beside
the reason's −300; the record that crosses the cap counts what is left of it (−120, −120, −60); a rule without a cap
counts each record in full. Until this file each record showed −100 beside a reason of −300 and nothing said which
did not count. Worked out by hand from a small policy written here; read in-process, over the API, on the web
records page and from the installed console script's `show` (text and --json)."""

from __future__ import annotations

import decimal
import html
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api_helpers import auth, serving
from cli_helpers import sc
from scoring_helpers import days_before, make_policy, open_registry, person, tax, volunteering
from socialcredit.api.app import create_app
from socialcredit.compiler.plan import MICRO, micro
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.common import shown_points
from socialcredit.registry.reporting.capped import capped_total, share_cap, shown_shares
from socialcredit.registry.reporting.report import subject_report
from socialcredit.store import open_store
from web_helpers import sign_in

JUDGED = person(41)  # four judgments at −100, the rule capped at 300
LATE = person(42)  # three late tax payments at −120, capped at 300; two volunteering records at +5, no cap
PAID = person(43)  # three paid taxes at +10 halving every 3 days, capped at 12: 2.5, 5 and 10 on the run's date
TINY = person(44)  # ten volunteering records of one hour at +0.005, no cap: the rule gives +0.05
LONG = person(45)  # three volunteering records of three hours at +100, capped at 299.996: the cap cuts 0.004

RULES = """\
- id: court.judgment
  record_type: court_judgment
  dimension: civic
  points: -100
  cap: 300
  reason: {code: JUDGMENT, zh: 法院判决, en: court judgment}
- id: late.tax
  record_type: tax_payment
  when: "status == 'late'"
  dimension: civic
  points: -120
  cap: 300
  reason: {code: LATE_TAX, zh: 逾期纳税, en: late tax}
- id: volunteer
  record_type: volunteering
  when: "hours == 2"
  dimension: civic
  points: 5
  reason: {code: VOLUNTEER, zh: 志愿服务, en: volunteering}
- id: tiny
  record_type: volunteering
  when: "hours == 1"
  dimension: civic
  points: 0.005
  reason: {code: TINY, zh: 短时志愿, en: an hour of volunteering}
- id: long
  record_type: volunteering
  when: "hours == 3"
  dimension: civic
  points: 100
  cap: 299.996
  reason: {code: LONG, zh: 长时志愿, en: long volunteering}
- id: paid.decayed
  record_type: tax_payment
  when: "status == 'paid'"
  dimension: civic
  points: 10
  decay: {half_life_days: 3}
  cap: 12
  reason: {code: PAID, zh: 按时纳税, en: taxes paid}
"""


def _judgment(record_id: str, days: int) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "subject_id": JUDGED,
        "record_type": "court_judgment",
        "event_date": days_before(days),
        "case_type": "civil",
        "amount": 5000,
        "status": "unfulfilled",
        "defaulter": "false",
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The store, scored and closed: J3 is the oldest judgment, then J1, then J2 and J4 on one day (J2 first by its
    id), so the order of the ids is not the order of the cap; T9 is the oldest late payment."""
    folder = tmp_path_factory.mktemp("capped")
    reg = open_registry(folder)
    reg.register({JUDGED: None, LATE: None, PAID: None, TINY: None, LONG: None})
    reg.send("courts", [_judgment("J4", 200), _judgment("J2", 200), _judgment("J1", 300), _judgment("J3", 400)])
    reg.send(
        "tax_bureau",
        [
            tax("T1", LATE, days_before(100), status="late"),
            tax("T5", LATE, days_before(200), status="late"),
            tax("T9", LATE, days_before(300), status="late"),
            tax("P1", PAID, days_before(0)),
            tax("P2", PAID, days_before(3)),
            tax("P3", PAID, days_before(6)),
        ],
    )
    reg.send("civil_affairs", [volunteering("V1", LATE, days_before(50)), volunteering("V2", LATE, days_before(60))])
    reg.send("civil_affairs", [volunteering(f"H{i}", TINY, days_before(10 + i), hours=1) for i in range(10)])
    reg.send("civil_affairs", [volunteering(f"L{i}", LONG, days_before(10 + i), hours=3) for i in range(3)])
    reg.score(make_policy(RULES))
    reg.store.close()
    yield folder / "registry.duckdb"


CUT_J4 = {
    "en": "counts 0 of −100: rule court.judgment counts at most −300 in all",
    "zh": "计0分（单独应计−100分）：规则court.judgment合计最多计−300分",
}
CUT_T1 = {
    "en": "counts −60 of −120: rule late.tax counts at most −300 in all",
    "zh": "计−60分（单独应计−120分）：规则late.tax合计最多计−300分",
}


def _judged(lang: str) -> dict[str, dict[str, Any]]:
    """JUDGED's records as the file should show them, by record id (hand-computed: oldest first J3, J1, J2, J4)."""
    full = {"rule_id": "court.judgment", "points": -100.0, "counted": -100.0, "note": None}
    return {
        "J3": full,
        "J1": full,
        "J2": full,
        "J4": {"rule_id": "court.judgment", "points": -100.0, "counted": 0.0, "note": CUT_J4[lang]},
    }


def _late(lang: str) -> dict[str, dict[str, Any]]:
    """LATE's records (oldest first T9, T5, T1: the cap of −300 is crossed by T1, which counts the last −60)."""
    full = {"rule_id": "late.tax", "points": -120.0, "counted": -120.0, "note": None}
    volunteer = {"rule_id": "volunteer", "points": 5.0, "counted": 5.0, "note": None}
    return {
        "T9": full,
        "T5": full,
        "T1": {"rule_id": "late.tax", "points": -120.0, "counted": -60.0, "note": CUT_T1[lang]},
        "V1": volunteer,
        "V2": volunteer,
    }


def _hits(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for r in report["records"]:
        (hit,) = r["contribution"]["test"]
        out[r["record_id"]] = hit
    return out


def _reasons(report: dict[str, Any]) -> dict[str, float]:
    (scores,) = report["scores"]
    return {r["code"]: r["points"] for r in scores["reasons"]}


def _counted(hits: dict[str, dict[str, Any]], rule_id: str) -> decimal.Decimal:
    return sum(
        (decimal.Decimal(repr(h["counted"])) for h in hits.values() if h["rule_id"] == rule_id), decimal.Decimal(0)
    )


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_capped_rules_records_count_oldest_first_and_add_up_to_its_reason(world: Path, lang: str) -> None:
    store = open_store(world)
    try:
        judged = subject_report(store, JUDGED, lang=lang)
        late = subject_report(store, LATE, lang=lang)
        paid = subject_report(store, PAID, lang=lang)
    finally:
        store.close()
    assert _hits(judged) == _judged(lang)
    assert _reasons(judged) == {"JUDGMENT": -300.0}
    assert _counted(_hits(judged), "court.judgment") == -300
    # the cap crossed by a record: it counts the remainder
    assert _hits(late) == _late(lang)
    assert _reasons(late) == {"LATE_TAX": -300.0, "VOLUNTEER": 10.0}
    assert _counted(_hits(late), "late.tax") == -300
    assert _counted(_hits(late), "volunteer") == 10
    # decayed points, as the run counts them on its date: P3 2.5 and P2 5 in full, P1 the 4.5 left of the cap of 12
    cut = {
        "en": "counts 4.5 of 10: rule paid.decayed counts at most 12 in all",
        "zh": "计4.5分（单独应计10分）：规则paid.decayed合计最多计12分",
    }
    assert _hits(paid) == {
        "P3": {"rule_id": "paid.decayed", "points": 2.5, "counted": 2.5, "note": None},
        "P2": {"rule_id": "paid.decayed", "points": 5.0, "counted": 5.0, "note": None},
        "P1": {"rule_id": "paid.decayed", "points": 10.0, "counted": 4.5, "note": cut[lang]},
    }
    assert _reasons(paid) == {"PAID": 12.0}


def _statuses(report: dict[str, Any]) -> dict[str, str]:
    return {r["record_id"]: r["status"] for r in report["records"]}


def test_a_record_the_cap_cut_to_nothing_reads_not_counting_beside_its_note(world: Path) -> None:
    store = open_store(world)
    try:
        judged = subject_report(store, JUDGED, lang="en")
        late = subject_report(store, LATE, lang="en")
    finally:
        store.close()
    # J4 counted 0 (its note says why); until this test it read "counting" beside counted 0
    assert _statuses(judged) == {"J3": "counting", "J1": "counting", "J2": "counting", "J4": "not counting"}
    # T1 counted part of its points: it counts
    assert _statuses(late) == {"T9": "counting", "T5": "counting", "T1": "counting", "V1": "counting", "V2": "counting"}


def test_many_small_records_keep_their_sign_and_add_up_to_the_reason(world: Path) -> None:
    """Ten records at +0.005 (each shown +0.01) give a reason of +0.05: the running sum rounded, each record shows
    what it adds to it, H9 (the oldest) 0.01, H8 0, H7 0.01, ... H0 0 (the sums 0.005, 0.01, 0.015, … shown 0.01,
    0.01, 0.02, …). Until this test H9…H1 showed 0.01 and H0 the −0.04 left, a positive rule's record counting
    negative."""
    store = open_store(world)
    try:
        tiny = subject_report(store, TINY, lang="en")
    finally:
        store.close()
    assert _reasons(tiny) == {"TINY": 0.05}
    assert _hits(tiny) == {
        f"H{i}": {"rule_id": "tiny", "points": 0.01, "counted": 0.01 if i % 2 else 0.0, "note": None} for i in range(10)
    }
    assert _counted(_hits(tiny), "tiny") == decimal.Decimal("0.05")
    assert set(_statuses(tiny).values()) == {"counting"}  # each counted 0.005 of the 0.05


def test_the_api_report_and_the_web_records_page_show_what_each_record_counted(world: Path) -> None:
    store = open_store(world)
    operator = issue_key(store, "operator", "registry operations").token
    resident = issue_key(store, "resident", "a resident", subject=JUDGED).token
    app = create_app(world, store=store)
    try:
        with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
            for lang in ("en", "zh"):
                r = client.get(f"/v1/subjects/{JUDGED}/report", params={"lang": lang}, headers=auth(operator))
                assert r.status_code == 200, r.text
                assert _hits(r.json()) == _judged(lang)
                assert _reasons(r.json()) == {"JUDGMENT": -300.0}
                r = client.get(f"/v1/subjects/{LATE}/report", params={"lang": lang}, headers=auth(operator))
                assert _hits(r.json()) == _late(lang)
            sign_in(client, resident)
            for lang in ("en", "zh"):
                page = client.get("/me/records", params={"lang": lang})
                assert page.status_code == 200, page.text
                notes = [
                    html.unescape(n) for n in _between(page.text, '<span class="cap-note" data-testid="cap-note">')
                ]
                assert notes == [CUT_J4[lang]]
                assert page.text.count('<span class="points neg">-100</span>') == 3
                assert page.text.count('<span class="points ">+0</span>') == 1
    finally:
        store.close()


def _between(text: str, start: str) -> list[str]:
    return [part.split("</span>", 1)[0] for part in text.split(start)[1:]]


def test_the_console_show_gives_the_counted_figures_and_notes(world: Path) -> None:
    for lang in ("en", "zh"):
        shown = json.loads(sc("show", JUDGED, "--json", "--lang", lang, db=world).stdout)
        assert _hits(shown) == _judged(lang)
        assert _reasons(shown) == {"JUDGMENT": -300.0}
    # the text: what each record counted, and the note where the cap cut it
    text = sc("show", LATE, db=world).stdout
    assert f"late.tax -60 ({CUT_T1['en']})" in text
    assert "late.tax -120" in text and "volunteer +5" in text


def test_a_cap_that_cuts_less_than_the_figures_show_gives_no_note(world: Path) -> None:
    """Three records at +100 under a cap of 299.996 (the reason shows 300): until this test the last one read
    "counts 100 of 100: rule long counts at most 299.996 in all"."""
    store = open_store(world)
    try:
        long = subject_report(store, LONG, lang="en")
    finally:
        store.close()
    assert _reasons(long) == {"LONG": 300.0}
    assert _hits(long) == {
        f"L{i}": {"rule_id": "long", "points": 100.0, "counted": 100.0, "note": None} for i in range(3)
    }


# -- the sharing itself: any points under any cap ----------------------------------------------------------------
# a record's points at the run's date are whole micro-points (decay rounds them so: compiler/plan.py's _decayed)
_MICROS = st.integers(min_value=0, max_value=5_000_000_000)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.lists(_MICROS, min_size=1, max_size=12),
    st.one_of(st.none(), st.integers(min_value=1, max_value=2_000_000).map(lambda cents: cents / 100)),
    st.sampled_from([1, -1]),
)
def test_the_cap_is_shared_out_oldest_first_and_adds_up(points: list[int], cap: float | None, sign: int) -> None:
    micros = [sign * p for p in points]  # a rule's records' points at the run's date, oldest first
    counted = share_cap(micros, cap)
    total = capped_total(micros, cap)
    # in micro-points, the counted values add up to the rule's points as the run holds them within the cap
    assert sum(counted) == (sum(micros) if cap is None or abs(sum(micros)) <= micro(cap) else sign * micro(cap))
    for own, share in zip(micros, counted, strict=True):
        assert 0 <= share / own <= 1 if own else share == 0  # between 0 and the record's points, of its sign
    cut = next((i for i, (own, share) in enumerate(zip(micros, counted, strict=True)) if share != own), len(micros))
    assert counted[:cut] == micros[:cut]  # in full before the first cut
    assert all(share == 0 for share in counted[cut + 1 :])  # and nothing after the record that crosses the cap
    # as the file shows them, to 0.01, they add up exactly to the rule's points as the reason shows them
    shown = shown_shares(counted, total)
    assert sum((decimal.Decimal(repr(x)) for x in shown), decimal.Decimal(0)) == decimal.Decimal(
        repr(shown_points(total))
    )
    assert all(x == 0 for x, share in zip(shown, counted, strict=True) if share == 0)
    # each keeps its rule's sign and lies within 0.01 of what the record counted exactly
    for share, figure in zip(counted, shown, strict=True):
        assert figure * sign >= 0, (micros, cap, shown)
        assert abs(decimal.Decimal(repr(figure)) - decimal.Decimal(share) / MICRO) <= decimal.Decimal("0.01")


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=50_000), min_size=1, max_size=30),
    st.one_of(st.none(), st.integers(min_value=1, max_value=100).map(lambda cents: cents / 100)),
    st.sampled_from([1, -1]),
)
def test_small_records_shown_keep_their_sign_and_stay_near_what_they_counted(
    points: list[int], cap: float | None, sign: int
) -> None:
    """Records of at most 0.05 under caps of at most 1, where rounding each would not add up: until this test the
    last record that counted took the whole remainder (falsified by [2, 4999, 9999] micro-points, no cap: shown 0,
    0 and 0.02)."""
    micros = [sign * p for p in points]
    counted = share_cap(micros, cap)
    total = capped_total(micros, cap)
    shown = shown_shares(counted, total)
    assert sum((decimal.Decimal(repr(x)) for x in shown), decimal.Decimal(0)) == decimal.Decimal(
        repr(shown_points(total))
    )
    for share, figure in zip(counted, shown, strict=True):
        assert figure * sign >= 0, (micros, cap, shown)
        assert abs(decimal.Decimal(repr(figure)) - decimal.Decimal(share) / MICRO) <= decimal.Decimal("0.01")
