"""Every way of running a score gives the same rows under a policy that uses every rule feature
(tests/fixtures/every_feature.yaml: decay, windows, expiry, per-month/quarter/year, caps, sector rules, consent that
becomes mandatory, a condition on the event date, dimension bounds, tiers, a blacklist with grace, a record criterion
with a horizon, criteria on the score and the percentile, relations `current` and `held_at_cause`, services on rank,
percentile, age, dimensions, the total and lists) and records dated on leap days, exactly at window, expiry and
horizon edges, on the as-of date and after it.

The paths: a run from the scoring state, one from the records, the store's export scored in memory (`score
--input`), published back; a live pass after corrections, a withdrawal, a dispute, consents withdrawn and given,
profession changes and new records; a decision from the store against one from the snapshot. A few scores are worked
out by hand from the policy text, so that agreeing paths are also right.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from relation_world import judgment, role
from scoring_helpers import Registry, open_registry, org, person, run_differences, tax, volunteering
from socialcredit.policy import LoadedPolicy, parse_policy
from socialcredit.registry.decisions.decide import decide
from socialcredit.registry.decisions.live import changes, rescore
from socialcredit.registry.decisions.snapshot import Snapshot
from socialcredit.registry.due_process.disputes import file_dispute
from socialcredit.registry.records.consent import set_consent
from socialcredit.registry.scoring.export import export_inputs, publish_results
from socialcredit.registry.scoring.files import score_files

TODAY = dt.date(2028, 3, 1)
AS_OFS = [dt.date(2024, 2, 29), dt.date(2025, 2, 28), dt.date(2026, 1, 31), dt.date(2027, 3, 1), dt.date(2028, 2, 29)]
POLICY = Path(__file__).parent / "fixtures" / "every_feature.yaml"
BIRTHS = {
    1: dt.date(1990, 1, 1),
    2: dt.date(2000, 2, 29),
    3: dt.date(1998, 1, 31),
    4: dt.date(1996, 2, 29),
    5: dt.date(1985, 6, 30),
    6: dt.date(2004, 3, 1),
    7: dt.date(1970, 12, 31),
    8: dt.date(1999, 2, 28),
    9: dt.date(1960, 1, 1),
    10: dt.date(2001, 1, 1),
}
P = {i: person(i, born) for i, born in BIRTHS.items()}
G = {i: org(f"00000000{i}") for i in (1, 2, 3)}
NAMES = {sid: f"P{i}" for i, sid in P.items()} | {sid: f"O{i}" for i, sid in G.items()}


def loaded() -> LoadedPolicy:
    return parse_policy(POLICY.read_text("utf-8"), str(POLICY))


def rec(record_id: str, subject_id: str, record_type: str, event_date: str, **fields: Any) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "subject_id": subject_id,
        "record_type": record_type,
        "event_date": event_date,
        **fields,
    }


def _months(record_id: str, subject_id: str, start: dt.date, months: int) -> list[dict[str, Any]]:
    """An on-time loan repayment a month from ``start`` (the day held to the month's length)."""
    out = []
    for m in range(months):
        year, month = divmod(start.month - 1 + m, 12)
        day = min(start.day, 28 if month + 1 == 2 else 30)
        when = dt.date(start.year + year, month + 1, day).isoformat()
        out.append(rec(f"{record_id}{m}", subject_id, "loan_repayment", when, amount=100, status="on_time"))
    return out


def build(reg: Registry) -> None:
    reg.register(
        {
            P[1]: "accounting",
            P[2]: "medical",
            P[3]: "education",
            P[4]: "retail",
            P[5]: "finance",
            P[6]: "student",
            P[7]: "accounting",
            P[8]: None,
            P[9]: "retired",
            P[10]: "medical",
            G[1]: None,
            G[2]: None,
            G[3]: None,
        }
    )
    late = [
        ("T1", P[1], "2024-02-29"),
        ("T2", P[1], "2025-02-28"),
        ("T5", P[7], "2019-02-28"),
        ("T6", P[4], "2026-01-31"),
        ("T7", P[4], "2028-02-29"),
        ("T8", G[1], "2025-12-31"),
        ("T9", P[5], "2021-03-01"),
        ("T10", P[5], "2026-01-31"),
        ("T11", P[5], "2026-01-30"),
        ("T12", P[5], "2026-01-29"),
    ]
    reg.send(
        "tax_bureau",
        [tax(i, s, d, status="late") for i, s, d in late]
        + [tax("T3", P[1], "2023-03-01", status="evaded"), tax("T4", P[7], "2018-03-01", status="evaded")],
    )
    loans = _months("LA", P[3], dt.date(2025, 1, 31), 14) + _months("LB", P[6], dt.date(2024, 2, 29), 30)
    loans += _months("LC", P[9], dt.date(2025, 12, 1), 3)
    for record_id, subject_id, when in [
        ("LL1", P[2], "2025-12-31"),
        ("LL2", P[2], "2025-10-01"),
        ("LL3", P[2], "2025-11-15"),
        ("LL4", P[2], "2024-02-29"),
        ("LL5", G[2], "2027-02-28"),
    ]:
        loans.append(rec(record_id, subject_id, "loan_repayment", when, amount=5, status="late"))
    reg.send("banks", loans)
    volunteered = [
        (P[8], "2023-01-31"),
        (P[8], "2023-12-31"),
        (P[8], "2024-02-29"),
        (P[8], "2025-01-01"),
        (P[8], "2026-01-31"),
        (P[4], "2026-02-01"),
        (P[4], "2022-12-31"),
        (P[10], "2026-01-31"),
        (P[10], "2026-01-31"),
    ]
    reg.send("civil_affairs", [volunteering(f"V{i}", s, d) for i, (s, d) in enumerate(volunteered)])
    donated = [
        (P[9], "2024-02-29"),
        (P[9], "2024-03-01"),
        (P[9], "2025-06-01"),
        (P[6], "2024-01-31"),
        (P[6], "2026-02-28"),
    ]
    reg.send(
        "blood_centre", [rec(f"B{i}", s, "blood_donation", d, millilitres=400) for i, (s, d) in enumerate(donated)]
    )
    platform = [
        rec("PD1", P[4], "platform_repayment", "2025-02-28", amount=1, status="default"),
        rec("PD2", P[5], "platform_repayment", "2026-01-31", amount=1, status="default"),
        rec("PD3", P[6], "platform_repayment", "2026-01-30", amount=1, status="default"),
        *[
            rec(f"PO{m}", P[6], "platform_repayment", f"2025-{m:02d}-28", amount=1, status="on_time")
            for m in range(1, 13)
        ],
        rec("PU1", P[4], "purchase", "2026-01-31", amount=9000, kind="luxury", paid_on_delivery="true"),
        rec("PU2", P[5], "purchase", "2029-01-31", amount=9000, kind="luxury", paid_on_delivery="false"),
        rec("PU3", P[8], "purchase", "2020-01-31", amount=9000, kind="luxury"),
    ]
    reg.send("commercial_platforms", platform, today=dt.date(2029, 2, 1))
    conduct = [
        ("C1", P[2], "2026-01-01", "medical"),
        ("C2", P[3], "2026-01-31", "education"),
        ("C3", P[5], "2026-01-31", "medical"),
        ("C4", P[10], "2024-02-29", "medical"),
    ]
    reg.send(
        "licensing_boards",
        [rec(i, s, "professional_conduct", d, profession=p, finding="misconduct") for i, s, d, p in conduct],
    )
    tickets = [("K1", P[1], "2026-01-31"), ("K2", P[1], "2026-01-30"), ("K3", P[3], "2024-02-29")]
    reg.send(
        "traffic_police",
        [rec(i, s, "traffic_ticket", d, offence="parking", fine=100, status="paid") for i, s, d in tickets],
    )
    bills = [("U1", "2024-02-28"), ("U2", "2024-02-29"), ("U3", "2024-03-01"), ("U4", "2025-12-31")]
    reg.send(
        "utilities",
        [rec(i, P[7], "utility_payment", d, utility="water", amount=1, status="late") for i, d in bills],
    )
    reg.send(
        "courts",
        [
            judgment("J1", G[1], "2024-02-29"),
            judgment("J2", P[9], "2023-01-31"),
            judgment("J3", G[3], "2023-02-01"),
            judgment("J4", P[10], "2026-01-31", status="fulfilled"),
        ],
    )
    reg.send(
        "registration_authority",
        [
            role("R1", P[1], G[1], "legal_representative", "2020-01-01"),
            role("R2", P[2], G[1], "director", "2020-01-01", "2026-01-31"),
            role("R3", P[3], G[1], "shareholder", "2019-01-01", "2024-06-30"),
            role("R4", P[4], G[3], "shareholder", "2022-01-01"),
            role("R5", P[5], G[2], "director", "2021-01-01"),
            role("R6", P[5], G[3], "director", "2024-02-29"),
            role("R7", P[6], G[1], "shareholder", "2024-03-01"),
        ],
    )
    # P7 disputes the late gas bill: under this policy it does not count while the dispute is open
    file_dispute(reg.store, P[7], "utilities", "U4", "paid on time", today=TODAY)
    # P6 consented and withdrew it; P8 refused: commercial records count for them only from mandatory_from
    for subject_id, granted in [(P[4], True), (P[5], True), (P[6], True), (P[6], False), (P[8], False)]:
        set_consent(reg.store, subject_id, "commercial", granted)


def change(reg: Registry) -> None:
    """A later batch of every kind of change."""
    reg.send(
        "tax_bureau",
        [
            {**tax("T1", P[1], "2024-02-29", status="paid"), "correction": "true"},  # corrected
            {**tax("T6", P[8], "2026-01-31", status="late"), "correction": "true"},  # moved to another person
        ],
    )
    withdrawn = rec("K1", P[1], "traffic_ticket", "2026-01-31", offence="parking", fine=100, status="paid")
    reg.send("traffic_police", [{**withdrawn, "withdrawn": "true"}])
    file_dispute(reg.store, P[5], "tax_bureau", "T10", "paid on time", today=TODAY)  # not counted while open
    set_consent(reg.store, P[5], "commercial", False)
    set_consent(reg.store, P[8], "commercial", True)
    reg.register({P[2]: "accounting", P[10]: "education"})  # professions changed
    fulfilled = {**judgment("J1", G[1], "2024-02-29", status="fulfilled"), "correction": "true"}
    reg.send("courts", [fulfilled, judgment("J5", G[2], "2025-06-30")])
    reg.send("banks", [rec("LL6", G[3], "loan_repayment", "2025-12-31", amount=5, status="late")])
    reg.send("registration_authority", [role("R8", P[7], G[2], "legal_representative", "2025-01-01")])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOCIALCREDIT_TODAY", TODAY.isoformat())  # the export's date (it lapses disputes past deadline)
        reg = open_registry(tmp_path_factory.mktemp("paths-agree"), TODAY)
        build(reg)
        yield reg
        reg.store.close()


def _scores(reg: Registry, run_id: int) -> dict[str, dict[str, Any]]:
    return {NAMES[sid]: row for sid, row in reg.results(run_id).items()}


@pytest.mark.parametrize("as_of", AS_OFS, ids=str)
def test_the_state_the_records_and_the_export_score_alike(world: Registry, as_of: dt.date) -> None:
    policy = loaded()
    state = world.score(policy, as_of).run_id
    records = world.score(policy, as_of, from_records=True).run_id
    folder = world.folder / f"export-{as_of}"
    export_inputs(world.store, folder, clear_ids=True)
    score_files(folder, policy, as_of, folder / "results")
    files = publish_results(world.store, folder / "results").run_id
    assert run_differences(world.store, state, records) == []
    assert run_differences(world.store, state, files) == []


def _decayed(points: float, age: int, half_life: int) -> float:
    """One hit's points in micro-points, rounded half up, as docs/policy-language.md section 5 says."""
    return math.floor(points * 2 ** (-age / half_life) * 1_000_000 + 0.5)


def test_scores_worked_out_by_hand(world: Registry) -> None:
    policy = loaded()
    jan = _scores(world, world.score(policy, dt.date(2026, 1, 31)).run_id)
    # P1: two late taxes 702 and 337 days old (half-life 365), a ticket of the day (window 1: yesterday's does
    # not count), an accountant's tax evasion (-20): 100 - 7.90959 - 4 - 20 = 68.09041, scored 68, under 70
    fin = (_decayed(-10, 702, 365) + _decayed(-10, 337, 365)) / 1_000_000
    assert fin == -7.90959
    assert jan["P1"]["dims"] == [fin, -4.0, -20.0]
    assert (jan["P1"]["score"], jan["P1"]["lists"]) == (68, ["blacklist", "hsr"])
    # P5: four late taxes capped at -25, a platform default (consented) -7.5: 67.5 rounds half up to 68; the
    # misconduct finding does not count (a sector rule of medicine and education, P5 is in finance)
    assert (jan["P5"]["dims"], jan["P5"]["total"], jan["P5"]["score"]) == ([-32.5, 0.0, 0.0], 67.5, 68)
    # O3's judgment is 1095 days old on 2026-01-31 (within_days 1095): off the blacklist, its shareholder too
    assert (jan["O3"]["lists"], jan["P4"]["lists"]) == ([], [])
    # P3 held shares of O1 on the day of its judgment (held_at_cause), P6 bought them after: only P3 is listed
    assert (jan["P3"]["lists"], jan["P6"]["lists"]) == (["hsr"], ["redlist"])
    # P2, born on 29 February 2000: 25 on 2026-02-28, 28 on 2028-02-29
    assert world.results(world.score(policy, dt.date(2026, 2, 28)).run_id)[P[2]]["age"] == 25
    leap = _scores(world, world.score(policy, dt.date(2028, 2, 29)).run_id)
    assert leap["P2"]["age"] == 28
    # P7's tax evasion of 2018-03-01 is 3652 days old on 2028-02-29 (expiry 3650): no more work points; late water
    # bills on 2024-02-29 and 2024-03-01 are one hit of that year (the one of 2024-02-28 is before the rule's date),
    # and the late gas bill of 2025 is disputed
    assert (leap["P7"]["dims"], leap["P7"]["score"]) == ([-1.0, 0.0, 0.0], 99)
    march = _scores(world, world.score(policy, dt.date(2027, 3, 1)).run_id)
    # P8 volunteered in 2025 and 2026 within 1096 days (2024-02-29 is exactly 1096 days back), and the luxury purchase
    # P8 never consented to counts from mandatory_from (2027-03-01): 2 × 2.25 - 0.5
    assert march["P8"]["dims"] == [0.0, 4.0, 0.0]
    # P6 withdrew consent, so the platform counts from 2027-03-01 only: five monthly loans within 365 days
    # (1.5 each) and twelve months of platform repayments (0.333333 each); the 2026 default expired (366 days)
    assert march["P6"]["dims"] == [11.499996, 5.0, 0.0]


def test_a_live_pass_after_every_kind_of_change_gives_the_rows_of_a_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = open_registry(tmp_path, TODAY)
    build(reg)
    policy = loaded()
    as_of = dt.date(2026, 1, 31)
    reg.score(policy, as_of)
    snap = Snapshot.load(reg.store, policy.policy.id, explain=True)
    change(reg)
    seq = int(reg.store.one("SELECT value FROM counters WHERE name = 'seq'"))
    changed = changes(reg.store, snap.watermark, seq)
    # the lists as the run computes them, before notice and grace
    monkeypatch.setattr(
        "socialcredit.registry.decisions.live._effective_listings",
        lambda _store, loaded, ids: {(i, lst.id) for i in ids for lst in loaded.policy.lists},
    )
    out = rescore(reg.store, snap.loaded, as_of, changed.subjects, snap.histogram, snap.old_scores(changed.subjects))
    assert out is not None
    watermark, rows, _ = out
    run = reg.score(policy, as_of, from_records=True, watermark=watermark).run_id
    assert run_differences(reg.store, run, reg.score(policy, as_of).run_id) == []
    results = reg.results(run)
    compared = ("profession", "age", "dims", "total", "score", "tier", "last_negative", "lists", "grants")
    for sid in changed.subjects:
        assert {k: rows[sid].result[k] for k in compared} == {k: results[sid][k] for k in compared}, NAMES[sid]
    # the correction, the withdrawal, the dispute, the consents and the fulfilled judgment, by hand:
    assert rows[P[1]].result["dims"] == [_decayed(-10, 337, 365) / 1_000_000, 0.0, -20.0]
    assert rows[P[1]].result["lists"] == []  # its company's judgment is fulfilled; 75 is above the floor
    # the disputed late tax of the day is left out (the others, 1797, 1 and 2 days old, come to less than the cap of
    # 25); consent withdrawn: the platform default does not count
    rest = sum(_decayed(-10, age, 365) for age in (1797, 1, 2)) / 1_000_000
    assert rest > -25
    assert rows[P[5]].result["dims"] == [rest, 0.0, 0.0]
    assert rows[P[8]].result["dims"] == [-10.0, 8.5, 0.0]  # the moved late tax; consent: the luxury purchase


def test_a_decision_from_the_store_and_from_the_snapshot_agree(world: Registry) -> None:
    """Through a blacklisting's grace period (30 days) and after it."""
    policy = loaded()
    for as_of in (dt.date(2025, 2, 28), dt.date(2025, 3, 15), dt.date(2025, 4, 1)):
        world.score(policy, as_of)
        snap = Snapshot.load(world.store, policy.policy.id, explain=True)
        for sid in sorted(NAMES):
            for service in policy.policy.services:
                store = decide(world.store, sid, service.id, "check", today=TODAY)
                quick = snap.decide(sid, service.id, "check", requester="cli", today=TODAY)
                assert (store.granted, store.score, store.tier) == (quick.granted, quick.score, quick.tier), (
                    as_of,
                    NAMES[sid],
                    service.id,
                )


LOWEST_FIRST = Path(__file__).parent / "fixtures" / "tiers_lowest_first.yaml"


def test_a_live_patch_ranks_tiers_best_first_under_a_policy_declaring_them_lowest_first(tmp_path: Path) -> None:
    """Tiers rank by their minimum score, not by the order the policy declares them in: a subject rescored live
    across a tier boundary has the tier, tier rank and grants of a full run at the same watermark."""
    from scoring_helpers import AS_OF, tax
    from socialcredit.registry.scoring.runs import score

    lowest_first = parse_policy(LOWEST_FIRST.read_text("utf-8"), str(LOWEST_FIRST))
    assert [t.id for t in lowest_first.policy.tiers] == ["D", "C", "B", "A"]
    reg = open_registry(tmp_path)
    try:
        p1, p2, p3, p4 = (person(i) for i in range(1, 5))
        reg.register({p: None for p in (p1, p2, p3, p4)})
        # p1 100 (C), p2 110 (B), p3 90 (D), p4 130 (A)
        reg.send(
            "tax_bureau",
            [
                tax("T2", p2, "2025-06-01", amount=10),
                tax("T3", p3, "2025-06-01", status="late"),
                *[tax(f"T4{j}", p4, "2025-06-01", amount=10) for j in range(3)],
            ],
        )
        first = reg.score(lowest_first, AS_OF)
        ranks = {sid: (r["tier"], r["tier_rank"]) for sid, r in reg.results(first.run_id).items()}
        assert ranks == {p1: ("C", 2), p2: ("B", 3), p3: ("D", 1), p4: ("A", 4)}
        snap = Snapshot.load(reg.store, "lowest_first", explain=True)

        # each crosses a tier boundary: p1 up to B (110), p2 down to C (100), p3 up to C (100), p4 down to B (120)
        reg.send(
            "tax_bureau",
            [
                tax("U1", p1, "2025-07-01", amount=10),
                tax("U2", p2, "2025-07-01", status="late"),
                tax("U3", p3, "2025-07-01", amount=10),
                tax("U4", p4, "2025-07-01", status="late"),
            ],
        )
        moved = [p1, p2, p3, p4]
        out = rescore(reg.store, snap.loaded, snap.as_of, moved, snap.histogram, snap.old_scores(moved))
        assert out is not None
        watermark, rows, histogram = out
        assert snap.patch(rows, watermark, histogram) == 4

        full = score(reg.store, lowest_first, AS_OF)
        assert full.watermark == watermark
        run = reg.results(full.run_id)
        assert {sid: (r["score"], r["tier"], r["tier_rank"]) for sid, r in run.items()} == {
            p1: (110, "B", 3),
            p2: (100, "C", 2),
            p3: (100, "C", 2),
            p4: (120, "B", 3),
        }
        ask = {"purpose": "a loan", "requester": "tests"}
        for sid in moved:
            i = snap.row_of(sid)
            assert i is not None
            expected = run[sid]
            # the arrays a batch of decisions answers from (api/routes/decisions.py: the tier by its rank)
            held = (int(snap.scores[i]), int(snap.tier_ranks[i]), str(snap.tier_names[snap.tier_ranks[i] - 1]))
            assert held == (expected["score"], expected["tier_rank"], expected["tier"]), sid
            assert snap.grants_at(i) == expected["grants"]
            for bit, service in enumerate(("loan", "basic")):
                granted = bool(expected["grants"] >> bit & 1)
                quick = snap.decide(sid, service, **ask)
                assert (quick.granted, quick.score, quick.tier) == (granted, expected["score"], expected["tier"])
                full_decision = snap.decision(sid, service, **ask)
                assert (full_decision.granted, full_decision.tier) == (granted, expected["tier"])
        assert snap.decide_many(moved, "loan", "a loan", requester="tests").tolist() == [True, False, False, True]
    finally:
        reg.store.close()
