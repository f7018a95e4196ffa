"""Score runs end to end: tiny hand-made batches, small inline policies, every number worked out by hand.

Each test opens its own store in tmp_path (see scoring_helpers.Registry), registers a few subjects, sends
records as CSV, scores as of 2026-01-01 and checks run_results / run_rule_points / run_list_entries /
run_reasons against numbers computed in the comments. The last group builds the shipped example and checks
that an incremental run equals a full run, and that untrusted text never becomes SQL.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scoring_helpers import (
    AS_OF,
    EX_AS_OF,
    Registry,
    amount_rule,
    build_example_store,
    days_before,
    make_policy,
    open_registry,
    org,
    person,
    policy_text,
    run_differences,
    tax,
    volunteering,
    write_csv,
)
from socialcredit.errors import IngestError, PolicyError
from socialcredit.policy import builtin_policy, parse_policy
from socialcredit.registry.decisions.snapshot import Snapshot
from socialcredit.registry.due_process.retention import purge_expired
from socialcredit.registry.records.consent import set_consent
from socialcredit.registry.records.ingest import RowError, ingest_file
from socialcredit.registry.reporting.report import record_fields
from socialcredit.registry.scoring.runs import rerun, score
from socialcredit.store import Store


@pytest.fixture(params=["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def reg(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    """A registry whose runs are computed by DuckDB, or by Spark (exported, scored there, published back)."""
    registry = open_registry(tmp_path)
    registry.engine = request.param
    if request.param == "spark":
        registry.session_factory = lambda: request.getfixturevalue("spark")
    yield registry
    registry.store.close()


A, B, C, D, E, F = (person(n) for n in (1, 3, 5, 7, 9, 11))


def rule(rule_id: str, record_type: str, points: float, *, dimension: str = "civic", **opts: Any) -> str:
    """One rule as YAML; ``opts`` are further keys written as given (e.g. when=..., decay=...)."""
    lines = [f"- id: {rule_id}", f"  record_type: {record_type}", f"  dimension: {dimension}", f"  points: {points}"]
    lines += [f"  {k}: {v}" for k, v in opts.items()]
    code = rule_id.upper().replace(".", "_")
    lines.append(f"  reason: {{code: {code}, zh: 测试, en: test}}")
    return "\n".join(lines) + "\n"


# ========================================================================================================
# 1-3. Decay, window, expiry
# ========================================================================================================
def test_decay_halves_points_every_half_life(reg: Registry) -> None:
    reg.register({A: None, B: None, C: None, D: None, E: None})
    reg.send(
        "civil_affairs",
        [
            volunteering("V1", A, days_before(0)),
            volunteering("V2", B, days_before(10)),
            volunteering("V3", C, days_before(20)),
            volunteering("V4", D, days_before(5)),
            volunteering("V5", E, days_before(10)),
            volunteering("V6", E, days_before(20)),
        ],
    )
    loaded = make_policy(rule("vol", "volunteering", 8, decay="{half_life_days: 10}"))
    run = reg.score(loaded).run_id

    expected = {
        A: 8.0,  # age 0: 8 * 2^0
        B: 4.0,  # age 10 = one half-life: 8 * 2^-1
        C: 2.0,  # age 20 = two half-lives: 8 * 2^-2
        D: 5.656854,  # age 5: 8 / sqrt(2) = 5.656854249..., counted to the micro-point (half up)
        E: 6.0,  # 4 + 2
    }
    for sid, pts in expected.items():
        assert reg.points(run, sid, "vol") == pytest.approx(pts, rel=1e-12), sid
    results = reg.results(run)
    assert results[B]["total"] == pytest.approx(104.0, rel=1e-12)  # 100 + 4
    assert results[D]["total"] == 105.656854  # 100 + 8 / sqrt(2), to the micro-point
    assert results[D]["score"] == 106  # floor(105.657 + 0.5)
    assert reg.rule_points(run)[(E, "vol")]["hits"] == 2
    assert reg.rule_points(run)[(E, "vol")]["last_event"] == dt.date(2025, 12, 22)


@pytest.mark.parametrize("horizon", ["window_days", "expires_after_days"])
def test_record_counts_until_the_horizon_day(reg: Registry, horizon: str) -> None:
    """With a 30-day horizon a record 29 days old counts, one 30 days old does not (age < horizon)."""
    reg.register({A: None, B: None, C: None, D: None})
    reg.send(
        "civil_affairs",
        [
            volunteering("V1", A, days_before(29)),
            volunteering("V2", B, days_before(30)),
            volunteering("V3", C, days_before(0)),
            # dated after as_of (sent on a later day): never counts in a run as of 2026-01-01
            volunteering("V4", D, "2026-01-02"),
        ],
        today=dt.date(2026, 1, 2),
    )
    loaded = make_policy(rule("vol", "volunteering", 5, **{horizon: 30}))
    run = reg.score(loaded).run_id

    assert reg.points(run, A, "vol") == 5.0
    assert reg.points(run, B, "vol") is None
    assert reg.points(run, C, "vol") == 5.0
    assert reg.points(run, D, "vol") is None
    scores = {sid: r["score"] for sid, r in reg.results(run).items()}
    assert scores == {A: 105, B: 100, C: 105, D: 100}

    # One day later V1 is 30 days old and stops counting; V4 (age 0) starts counting.
    later = reg.score(loaded, dt.date(2026, 1, 2)).run_id
    assert reg.points(later, A, "vol") is None
    assert reg.points(later, D, "vol") == 5.0


def test_days_at_the_languages_bound_count_and_purge_and_more_are_refused(reg: Registry) -> None:
    """Every count of days is at most MAX_DAYS (100 000): at the bound a record counts and the purge runs (keeping
    it); an expiry of 2^31 days was accepted, then the purge failed on its 32-bit sum of days."""
    reg.register({A: None})
    reg.send("civil_affairs", [volunteering("V1", A, "1990-01-01")])  # on A's birth, the earliest date
    text = policy_text(rule("vol", "volunteering", 5, expires_after_days=100_000, window_days=100_000))
    loaded = parse_policy(text + "retention: {purge_after_days: 100000}\n", "test.yaml")
    assert reg.points(reg.score(loaded).run_id, A, "vol") == 5.0  # 13 149 days old: counts
    assert purge_expired(reg.store, AS_OF) == {"records": 0, "versions": 0, "by_source": {}, "held": {}}
    with pytest.raises(PolicyError) as info:
        make_policy(rule("vol", "volunteering", 5, expires_after_days=2**31))
    assert info.value.problems == [
        f"test.yaml:{text.count(chr(10), 0, text.index('expires_after_days')) + 1}:3: rule vol: expires_after_days: "
        "Input should be less than or equal to 100000"
    ]


# ========================================================================================================
# 4. Caps: rule cap, dimension min/max, scale clamp
# ========================================================================================================
def test_rule_cap_clamps_the_rule_sum_both_ways(reg: Registry) -> None:
    reg.register({A: None, B: None})
    rows = [tax(f"T{i}", A, days_before(10 + i), amount=1) for i in range(4)]
    rows += [tax(f"L{i}", B, days_before(10 + i), status="late") for i in range(4)]
    reg.send("tax_bureau", rows)
    rules = rule("paid", "tax_payment", 10, dimension="money", when="\"status == 'paid'\"", cap=25)
    rules += rule("late", "tax_payment", -10, dimension="money", when="\"status == 'late'\"", cap=25)
    run = reg.score(make_policy(rules)).run_id

    assert reg.points(run, A, "paid") == 25.0  # 4 * 10 = 40, capped to 25
    assert reg.points(run, B, "late") == -25.0  # 4 * -10 = -40, capped to -25
    assert reg.rule_points(run)[(A, "paid")]["hits"] == 4
    results = reg.results(run)
    assert (results[A]["dims"], results[A]["score"]) == ([25.0, 0.0], 125)  # 100 + 25
    assert (results[B]["dims"], results[B]["score"]) == ([-25.0, 0.0], 75)  # 100 - 25


def test_dimension_min_and_max_clamp_the_dimension_sum(reg: Registry) -> None:
    reg.register({A: None, B: None})
    reg.send(
        "tax_bureau",
        [
            tax("T1", A, days_before(1), amount=1),
            tax("T2", A, days_before(2), amount=2),
            tax("T3", B, days_before(1), status="late"),
            tax("T4", B, days_before(2), status="late"),
            tax("T5", B, days_before(3), status="evaded"),
        ],
    )
    rules = amount_rule("gift.one", 20, 1, dimension="money") + amount_rule("gift.two", 20, 2, dimension="money")
    rules += rule("late", "tax_payment", -20, dimension="money", when="\"status == 'late'\"")
    rules += rule("evaded", "tax_payment", -30, dimension="money", when="\"status == 'evaded'\"")
    run = reg.score(make_policy(rules)).run_id

    results = reg.results(run)
    # money is capped to [-50, 30]: A has 20 + 20 = 40 -> 30; B has -20 * 2 - 30 = -70 -> -50.
    assert results[A]["dims"] == [30.0, 0.0]
    assert results[A]["total"] == 130.0
    assert results[B]["dims"] == [-50.0, 0.0]
    assert results[B]["total"] == 50.0
    # The rule points themselves are not clamped by the dimension.
    assert reg.points(run, B, "late") == -40.0
    assert reg.points(run, B, "evaded") == -30.0


def test_score_is_clamped_to_the_scale_but_total_is_not(reg: Registry) -> None:
    reg.register({A: None, B: None, C: None})
    reg.send(
        "tax_bureau",
        [
            tax("T1", A, days_before(1), amount=1),
            tax("T2", B, days_before(1), amount=2),
            tax("T3", C, days_before(1), amount=3),
        ],
    )
    rules = amount_rule("up", 150, 1) + amount_rule("down", -150, 2) + amount_rule("edge", 100, 3)
    run = reg.score(make_policy(rules)).run_id  # civic has no dimension cap; the scale is 0..200

    results = reg.results(run)
    assert (results[A]["total"], results[A]["score"], results[A]["tier"]) == (250.0, 200, "gold")  # 100+150
    assert (results[B]["total"], results[B]["score"], results[B]["tier"]) == (-50.0, 0, "bronze")  # 100-150
    assert (results[C]["total"], results[C]["score"]) == (200.0, 200)  # exactly the maximum


def test_a_scale_at_the_languages_bound_scores(reg: Registry) -> None:
    """The bound on a scale (MAX_SCORE, a billion either way) is one every engine can score: the score is a 32-bit
    integer (a scale past 2^31 was accepted, and the run failed casting it)."""
    reg.register({A: None, B: None})
    reg.send("tax_bureau", [tax("T1", A, days_before(1), amount=1)])
    rules = amount_rule("down", -8, 1)
    scale = "{base: 1000000000, min: -1000000000, max: 1000000000}"
    tiers = "- {id: top, min: 1000000000}\n- {id: low, min: -1000000000}\n"
    results = reg.results(reg.score(make_policy(rules, scale=scale, tiers=tiers)).run_id)
    assert (results[A]["total"], results[A]["score"], results[A]["tier"]) == (999_999_992.0, 999_999_992, "low")
    assert (results[B]["total"], results[B]["score"], results[B]["tier"]) == (1e9, 1_000_000_000, "top")
    with pytest.raises(PolicyError) as info:
        make_policy(rules, scale="{base: 100, min: 0, max: 2147483648}", tiers=tiers.replace("1000000000,", "100,"))
    assert info.value.problems == ["test.yaml:5:28: scale.max: Input should be less than or equal to 1000000000"]


# ========================================================================================================
# 5. per month / quarter / year
# ========================================================================================================
def test_per_period_rules_count_once_per_calendar_period(reg: Registry) -> None:
    reg.register({A: None, B: None})
    reg.send(
        "civil_affairs",
        [
            # A: three records in December 2025 and one in November 2025
            volunteering("V1", A, "2025-12-02"),
            volunteering("V2", A, "2025-12-12"),
            volunteering("V3", A, "2025-12-22"),
            volunteering("V4", A, "2025-11-22"),
            # B: two consecutive days that fall in different months, quarters and years
            volunteering("V5", B, "2024-12-31"),
            volunteering("V6", B, "2025-01-01"),
        ],
    )
    rules = rule("vol.month", "volunteering", 3, per="month")
    rules += rule("vol.quarter", "volunteering", 5, per="quarter")
    rules += rule("vol.year", "volunteering", 7, per="year")
    run = reg.score(make_policy(rules)).run_id

    rp = reg.rule_points(run)
    # A: months {2025-11, 2025-12} -> 2 hits; quarters {2025Q4} -> 1; years {2025} -> 1
    assert (rp[(A, "vol.month")]["hits"], rp[(A, "vol.month")]["points"]) == (2, 6.0)  # 2 * 3
    assert (rp[(A, "vol.quarter")]["hits"], rp[(A, "vol.quarter")]["points"]) == (1, 5.0)
    assert (rp[(A, "vol.year")]["hits"], rp[(A, "vol.year")]["points"]) == (1, 7.0)
    assert rp[(A, "vol.month")]["last_event"] == dt.date(2025, 12, 22)
    # B: two of every period
    assert [rp[(B, r)]["points"] for r in ("vol.month", "vol.quarter", "vol.year")] == [6.0, 10.0, 14.0]
    assert reg.results(run)[A]["total"] == 118.0  # 100 + 6 + 5 + 7


def test_per_month_period_is_dated_by_its_latest_record(reg: Registry) -> None:
    reg.register({A: None})
    reg.send(
        "civil_affairs",
        [volunteering("V1", A, "2025-12-12"), volunteering("V2", A, "2025-12-22"), volunteering("V3", A, "2025-11-22")],
    )
    loaded = make_policy(rule("vol", "volunteering", 4, per="month", decay="{half_life_days: 10}"))
    run = reg.score(loaded).run_id
    # December is dated 2025-12-22 (age 10): 4 * 2^-1 = 2; November 2025-11-22 (age 40): 4 * 2^-4 = 0.25
    assert reg.points(run, A, "vol") == pytest.approx(2.25, rel=1e-12)
    assert reg.rule_points(run)[(A, "vol")]["hits"] == 2


# ========================================================================================================
# 6. Sector rules
# ========================================================================================================
def test_sector_rule_applies_only_to_its_professions(reg: Registry) -> None:
    reg.register({A: "medical", B: "retail", C: None})
    ticket = {
        "record_type": "traffic_ticket",
        "event_date": days_before(10),
        "offence": "drunk_driving",
        "fine": 2000,
        "status": "paid",
    }
    reg.send("traffic_police", [{"record_id": f"R{i}", "subject_id": s, **ticket} for i, s in enumerate((A, B, C))])
    rules = rule("drunk", "traffic_ticket", -20, when="\"offence == 'drunk_driving'\"")
    rules += rule(
        "sector.drunk",
        "traffic_ticket",
        -30,
        dimension="money",
        professions="[medical, education]",
        when="\"offence == 'drunk_driving'\"",
    )
    run = reg.score(make_policy(rules)).run_id

    assert reg.points(run, A, "sector.drunk") == -30.0
    assert reg.points(run, B, "sector.drunk") is None
    assert reg.points(run, C, "sector.drunk") is None
    scores = {sid: r["score"] for sid, r in reg.results(run).items()}
    assert scores == {A: 50, B: 80, C: 80}  # A: 100 - 20 - 30; B, C: 100 - 20


# ========================================================================================================
# 7. Consent
# ========================================================================================================
def test_consent_gates_commercial_records_until_enrollment_is_mandatory(reg: Registry) -> None:
    reg.register({A: None, B: None})
    purchase = {"record_type": "purchase", "event_date": days_before(30), "amount": 50, "kind": "groceries"}
    reg.send(
        "commercial_platforms",
        [{"record_id": "P1", "subject_id": A, **purchase}, {"record_id": "P2", "subject_id": B, **purchase}],
    )
    reg.send("civil_affairs", [volunteering("V1", A, days_before(30))])
    rules = rule("shop", "purchase", 5) + rule("vol", "volunteering", 3)
    loaded = make_policy(rules, consent="categories: [commercial]\nmandatory_from: 2026-06-01\n")

    def scores(as_of: dt.date = AS_OF) -> dict[str, int]:
        return {sid: r["score"] for sid, r in reg.results(reg.score(loaded, as_of).run_id).items()}

    assert scores() == {A: 103, B: 100}  # no consent: only A's volunteering (+3), a government record
    set_consent(reg.store, A, "commercial", True)
    assert scores() == {A: 108, B: 100}  # A opted in: 100 + 3 + 5
    set_consent(reg.store, A, "commercial", False)
    assert scores() == {A: 103, B: 100}  # A withdrew: the purchase stops counting at the next run
    assert scores(dt.date(2026, 5, 31)) == {A: 103, B: 100}  # the day before enrollment becomes mandatory
    assert scores(dt.date(2026, 6, 1)) == {A: 108, B: 105}  # from mandatory_from on it counts for everyone


# ========================================================================================================
# 8-9. Rounding, tiers, rank, percentile
# ========================================================================================================
def test_score_rounds_half_up_and_tiers_start_at_their_minimum(reg: Registry) -> None:
    subjects = {A: 10, B: 9.4, C: 9.5, D: 10.5, E: 50, F: 49.5}  # points each subject gets
    reg.register(dict.fromkeys(subjects))
    reg.send("tax_bureau", [tax(f"T{i}", sid, days_before(1), amount=i) for i, sid in enumerate(subjects, 1)])
    rules = "".join(amount_rule(f"r{i}", pts, i) for i, pts in enumerate(subjects.values(), 1))
    run = reg.score(make_policy(rules)).run_id

    got = {sid: (r["total"], r["score"], r["tier"], r["tier_rank"]) for sid, r in reg.results(run).items()}
    assert got == {
        A: (110.0, 110, "silver", 2),  # exactly the silver minimum
        B: (109.4, 109, "bronze", 1),  # floor(109.9) = 109
        C: (109.5, 110, "silver", 2),  # x.5 rounds up: floor(110.0) = 110
        D: (110.5, 111, "silver", 2),  # half up, not to even (banker's rounding would give 110)
        E: (150.0, 150, "gold", 3),  # exactly the gold minimum
        F: (149.5, 150, "gold", 3),  # 149.5 rounds up into gold
    }


def test_a_total_of_two_dimensions_exactly_on_a_half_rounds_up(reg: Registry) -> None:
    """The total is the exact sum of the base and the dimensions: 100 - 4.948 + 3.448 = 98.5, which rounds half up
    to 99. Added as doubles of points it came to 98.49999999999999 and scored 98."""
    reg.register({A: None})
    reg.send("tax_bureau", [tax("T1", A, days_before(3), amount=1), tax("T2", A, days_before(3), amount=2)])
    rules = amount_rule("neg", -4.948, 1, dimension="money") + amount_rule("pos", 3.448, 2, dimension="civic")
    run = reg.score(make_policy(rules)).run_id

    row = reg.results(run)[A]
    assert (row["dims"], row["total"], row["score"]) == ([-4.948, 3.448], 98.5, 99)


def test_ties_share_a_rank_and_percentiles_are_per_kind(reg: Registry) -> None:
    org1, org2 = org("000000001"), org("000000002")
    reg.register({A: None, B: None, C: None, D: None, org1: None, org2: None})
    reg.send(
        "tax_bureau",
        [
            tax("T1", A, days_before(1), amount=20),
            tax("T2", B, days_before(1), amount=10),
            tax("T3", C, days_before(1), amount=10),
            tax("T4", org2, days_before(1), amount=10),
        ],
    )
    run = reg.score(make_policy(amount_rule("twenty", 20, 20) + amount_rule("ten", 10, 10))).run_id

    got = {sid: (r["kind"], r["score"], r["rank"], r["percentile"]) for sid, r in reg.results(run).items()}
    assert got == {
        A: ("person", 120, 1, 100.0),  # 4 of 4 persons score <= 120
        B: ("person", 110, 2, 75.0),  # 3 of 4 score <= 110
        C: ("person", 110, 2, 75.0),  # tie: same rank
        D: ("person", 100, 4, 25.0),  # rank skips 3; 1 of 4 scores <= 100
        org2: ("org", 110, 1, 100.0),  # organisations are ranked among themselves
        org1: ("org", 100, 2, 50.0),
    }


def test_percentile_is_rounded_to_two_decimals(reg: Registry) -> None:
    reg.register({A: None, B: None, C: None})
    reg.send("tax_bureau", [tax("T1", A, days_before(1), amount=20), tax("T2", B, days_before(1), amount=10)])
    run = reg.score(make_policy(amount_rule("twenty", 20, 20) + amount_rule("ten", 10, 10))).run_id
    got = {sid: r["percentile"] for sid, r in reg.results(run).items()}
    assert got == {A: 100.0, B: 66.67, C: 33.33}  # round(100 * 2/3, 2), round(100 * 1/3, 2)


# A whole-number field at ingest's bound (15 digits): days_late * 1000 reaches 18 digits, the most the engines
# compute; days_late * 100000 failed every run with an overflow (DuckDB: Overflow in multiplication of INT64).
LATE_BY_THOUSANDS = '"days_late * 1000 > 999999999999998000"'


def test_a_calculation_that_can_overflow_is_refused_when_the_policy_is_read() -> None:
    rules = rule("late", "tax_payment", -10, dimension="money", when='"days_late * 100000 > 10"')
    with pytest.raises(PolicyError) as refused:
        make_policy(rules)
    assert str(refused.value) == (
        "test.yaml:18:3: rule late: when: this calculation of whole numbers can reach 99999999999999900000 with the "
        "values its fields and facts may hold, and the engines compute whole numbers to at most 18 digits: write one "
        "of its numbers with a decimal point (1000.0) to compute it in decimals (at character 11 of "
        "'days_late * 100000 > 10')"
    )


def test_a_calculation_at_the_bound_scores_alike_from_state_records_and_files(reg: Registry, tmp_path: Path) -> None:
    if reg.engine != "duckdb":
        pytest.skip("the files path is DuckDB's")
    import duckdb

    from socialcredit.registry.scoring.export import export_inputs
    from socialcredit.registry.scoring.files import score_files

    reg.register({A: None, B: None})
    most = 10**15 - 1
    reg.send("tax_bureau", [tax("T1", A, days_before(10), days_late=most), tax("T2", B, days_before(10), days_late=5)])
    loaded = make_policy(rule("late", "tax_payment", -10, dimension="money", when=LATE_BY_THOUSANDS))
    state = reg.score(loaded).run_id
    records = reg.score(loaded, from_records=True).run_id
    export_inputs(reg.store, tmp_path / "export")
    score_files(tmp_path / "export", loaded, AS_OF, tmp_path / "results")
    results = str(tmp_path / "results" / "results" / "*.parquet")
    files = duckdb.sql(f"SELECT score FROM read_parquet('{results}') ORDER BY score").fetchall()
    expected = {A: 90, B: 100}  # 999999999999999 * 1000 = 999999999999999000 > ...998000; 5 * 1000 is not
    assert {sid: r["score"] for sid, r in reg.results(state).items()} == expected
    assert {sid: r["score"] for sid, r in reg.results(records).items()} == expected
    assert files == [(90,), (100,)]


def test_a_calculation_on_a_score_is_computed_in_64_bits() -> None:
    # A run keeps a score as a 32-bit INTEGER (run_results): a service asking `score * 100000000 > 0` overflowed
    # (DuckDB: Overflow in multiplication of INT32) when a blacklisting took effect and the grants were worked out
    # again from the run's rows. The whole-number facts are widened; the validator bounds the score by the scale.
    import duckdb

    from socialcredit.compiler.plan import ScorePlan

    services = """\
- id: loan
  name: {zh: 贷款, en: loan}
  grant_if: "score * 100000000 > 10000000000 and rank * 100000000 > 0"
  refusal: {zh: 不予, en: refused}
"""
    plan = ScorePlan(make_policy(rule("v", "volunteering", 1), services=services), as_of=AS_OF)
    row = """SELECT 1::INTEGER AS tier_rank, 105::INTEGER AS score, 5.0::DOUBLE AS total, 1::INTEGER AS rank,
                    100.0::DOUBLE AS percentile, 36::INTEGER AS age, 'person' AS kind, NULL::VARCHAR AS profession,
                    NULL::BIGINT AS last_negative_days, 0.0::DOUBLE AS d_money, 5.0::DOUBLE AS d_civic"""
    assert duckdb.sql(f"SELECT {plan.grants().sql(dialect='duckdb')} FROM ({row})").fetchall() == [(1,)]


def test_a_calculation_on_a_score_past_18_digits_is_refused() -> None:
    services = """\
- id: loan
  name: {zh: 贷款, en: loan}
  grant_if: "score * 1000000000 * 100000000 > 0"
  refusal: {zh: 不予, en: refused}
"""
    with pytest.raises(
        PolicyError,
        match=r"service loan: grant_if: this calculation of whole numbers can reach "
        r"20000000000000000000 with",
    ):  # the scale's max, 200, times 10^17
        make_policy(rule("v", "volunteering", 1), services=services)


# ========================================================================================================
# 10. Lists and services
# ========================================================================================================
LISTS = """\
- id: blacklist
  kind: black
  name: {zh: 失信名单, en: blacklist}
  criteria:
    - id: defaulter
      record: {record_type: court_judgment, when: "defaulter and status == 'unfulfilled'"}
      reason: {code: LIST_DEFAULTER, zh: 失信被执行人, en: judgment defaulter}
    - id: evasion
      record: {record_type: tax_payment, when: "status == 'evaded'", within_days: 30}
      reason: {code: LIST_EVASION, zh: 偷逃税款, en: tax evasion}
    - id: low_score
      when: "score < 65"
      reason: {code: LIST_LOW, zh: 低分, en: low score}
- id: redlist
  kind: red
  name: {zh: 红名单, en: redlist}
  criteria:
    - id: exemplary
      when: "tier == 'gold'"
      reason: {code: LIST_GOLD, zh: 金, en: gold}
"""
SERVICES = """\
- id: rail
  name: {zh: 高铁, en: rail}
  grant_if: "not blacklist"
  refusal: {zh: 拒绝, en: refused}
- id: loan
  name: {zh: 贷款, en: loan}
  grant_if: "tier >= 'silver' and not blacklist"
  refusal: {zh: 拒绝, en: refused}
- id: priority
  name: {zh: 优先, en: priority}
  grant_if: "redlist"
  refusal: {zh: 拒绝, en: refused}
- id: basic
  name: {zh: 基本, en: basic}
  grant_if: "score >= 60"
  refusal: {zh: 拒绝, en: refused}
"""


def test_lists_and_services(reg: Registry) -> None:
    reg.register({A: None, B: None, C: None, D: None, E: None, F: None})
    judgment = {
        "record_type": "court_judgment",
        "event_date": days_before(100),
        "case_type": "civil",
        "amount": 5000,
        "status": "unfulfilled",
    }
    reg.send(
        "courts",
        [
            {"record_id": "J1", "subject_id": A, **judgment, "defaulter": "true"},
            {"record_id": "J2", "subject_id": F, **judgment, "defaulter": "false"},
        ],
    )
    reg.send(
        "tax_bureau",
        [
            tax("T1", B, days_before(29), status="evaded"),  # within 30 days
            tax("T2", C, days_before(30), status="evaded"),  # 30 days old: outside within_days
            tax("T3", D, days_before(1), amount=500),
        ],
    )
    rules = rule("court", "court_judgment", -30, when="\"status == 'unfulfilled'\"")
    rules += rule("evaded", "tax_payment", -40, dimension="money", when="\"status == 'evaded'\"")
    rules += amount_rule("bonus", 50, 500)
    summary = reg.score(make_policy(rules, lists=LISTS, services=SERVICES))
    run = summary.run_id

    assert reg.list_entries(run) == sorted(
        [
            (A, "blacklist", "defaulter", reg.record_key("J1")),
            (B, "blacklist", "evasion", reg.record_key("T1")),
            (B, "blacklist", "low_score", None),  # 100 - 40 = 60 < 65
            (C, "blacklist", "low_score", None),  # 60 < 65; the record is too old for `evasion`
            (D, "redlist", "exemplary", None),  # 100 + 50 = 150: gold
        ]
    )
    assert summary.list_counts == {"blacklist": 3, "redlist": 1}
    got = {sid: (r["score"], r["lists"], r["grants"]) for sid, r in reg.results(run).items()}
    # bits: rail 1 (not blacklisted), loan 2 (silver or better, not blacklisted), priority 4 (redlist),
    # basic 8 (score >= 60)
    assert got == {
        A: (70, ["blacklist"], 8),  # 100 - 30; only basic
        B: (60, ["blacklist"], 8),  # basic at exactly 60
        C: (60, ["blacklist"], 8),
        D: (150, ["redlist"], 1 + 2 + 4 + 8),
        E: (100, [], 1 + 8),  # bronze: no loan
        F: (70, [], 1 + 8),  # unfulfilled but not a defaulter: points, no listing
    }


# ========================================================================================================
# 11. Reasons
# ========================================================================================================
def test_the_63rd_service_is_granted_and_a_64th_is_refused(reg: Registry, tmp_path: Path) -> None:
    """A subject's grants are the bits of one BIGINT: 63 services fit (every bit but the sign); a 64th was accepted,
    then the run failed inserting 2^64 - 1 into run_results."""

    def services(n: int) -> str:
        return "".join(
            f'- {{id: s{i}, name: {{zh: 服务, en: service}}, grant_if: "{"score >= 100" if i == n - 1 else "true"}", '
            "refusal: {zh: 拒绝, en: refused}}\n"
            for i in range(n)
        )

    reg.register({A: None, B: None})
    reg.send("tax_bureau", [tax("T1", A, days_before(1), amount=1)])
    rules = amount_rule("down", -8, 1)
    run = reg.score(make_policy(rules, services=services(63))).run_id
    results = reg.results(run)
    assert results[B]["grants"] == 2**63 - 1  # 100: all 63
    assert results[A]["grants"] == 2**62 - 1  # 92: all but the last
    if reg.engine == "duckdb":
        snap = Snapshot.load(reg.store, "test")
        assert [snap.decide(s, "s62", "test", requester="bank").granted for s in (A, B)] == [False, True]
    with pytest.raises(PolicyError) as info:
        make_policy(rules, services=services(64))
    assert info.value.problems == [
        "test.yaml:20:1: services: a policy offers at most 63 services (a subject's grants are the bits of one 64-bit "
        "number); this one offers 64"
    ]


def test_reasons_are_the_four_largest_rules_ties_by_rule_id(reg: Registry) -> None:
    reg.register({A: None, B: None, C: None})
    reg.send(
        "tax_bureau",
        [tax(f"T{i}", A, days_before(i), amount=i) for i in range(1, 6)] + [tax("T9", B, days_before(1), amount=5)],
    )
    rules = (
        amount_rule("z.big", -30, 1)
        + amount_rule("b.plus", 20, 2)
        + amount_rule("a.minus", -20, 3)
        + amount_rule("c.ten", 10, 4)
        + amount_rule("d.five", 5, 5)
    )
    loaded = make_policy(rules)
    run = reg.score(loaded).run_id

    # |points| desc; b.plus and a.minus tie at 20 and are ordered by rule id; d.five (5) is the fifth.
    assert reg.reasons(run, A) == [(1, "z.big", -30.0), (2, "a.minus", -20.0), (3, "b.plus", 20.0), (4, "c.ten", 10.0)]
    codes = [loaded.policy.rule(rule_id).reason.code for _, rule_id, _ in reg.reasons(run, A)]
    assert codes == ["Z_BIG", "A_MINUS", "B_PLUS", "C_TEN"]
    assert reg.results(run)[A]["score"] == 85  # 100 - 30 + 20 - 20 + 10 + 5
    assert reg.reasons(run, B) == [(1, "d.five", 5.0)]
    assert reg.reasons(run, C) == []


# ========================================================================================================
# 12. Re-ingest, corrections, withdrawals
# ========================================================================================================
TAX_RULES = rule("late", "tax_payment", -10, dimension="money", when="\"status == 'late'\"") + rule(
    "paid", "tax_payment", 4, dimension="money", when="\"status == 'paid'\""
)


def record_versions(reg: Registry) -> list[tuple[str, int, str, bool, bool]]:
    rows = reg.store.rows("SELECT * FROM records ORDER BY record_id, version")
    return [
        (r["record_id"], r["version"], record_fields(r)["status"], r["is_correction"], r["withdrawn"]) for r in rows
    ]


def test_resending_the_same_file_changes_nothing(reg: Registry) -> None:
    reg.register({A: None})
    path = write_csv(reg.folder / "tax.csv", [tax("T1", A, "2025-06-01", status="late"), tax("T2", A, "2025-07-01")])
    first = ingest_file(reg.store, path, "tax_bureau", today=AS_OF)
    second = ingest_file(reg.store, path, "tax_bureau", today=AS_OF)
    assert (first.accepted, first.unchanged, first.errors) == (2, 0, [])
    assert (second.accepted, second.unchanged, second.errors) == (0, 2, [])
    assert reg.count("records") == 2
    assert record_versions(reg) == [("T1", 1, "late", False, False), ("T2", 1, "paid", False, False)]


def test_an_empty_optional_column_is_not_a_change(reg: Registry) -> None:
    """The same record sent again from a file that also has the (empty) optional column days_late."""
    reg.register({A: None})
    reg.send("tax_bureau", [tax("T1", A, "2025-06-01")])
    again = reg.ingest("tax_bureau", [tax("T1", A, "2025-06-01", days_late=None)])
    assert (again.accepted, again.unchanged, again.errors) == (0, 1, [])
    assert reg.count("records") == 1


@pytest.mark.parametrize("flag", ["correction", "withdrawn"])
def test_resending_a_correction_or_withdrawal_file_changes_nothing(reg: Registry, flag: str) -> None:
    reg.register({A: None})
    reg.send("tax_bureau", [tax("T1", A, "2025-06-01", status="late")])
    # a correction changes the status; a withdrawal names the record as received (other content is a correction:
    # refused unless it says so, docs/ingest.md)
    status = "paid" if flag == "correction" else "late"
    path = write_csv(reg.folder / "fix.csv", [tax("T1", A, "2025-06-01", status=status, **{flag: "true"})])
    first = ingest_file(reg.store, path, "tax_bureau", today=AS_OF)
    second = ingest_file(reg.store, path, "tax_bureau", today=AS_OF)  # e.g. the furnisher retries
    assert (first.accepted, first.unchanged, first.errors) == (1, 0, [])
    assert (second.accepted, second.unchanged, second.errors) == (0, 1, [])
    assert reg.count("records") == 2  # version 1 and the one correction (or withdrawal)


def test_a_changed_record_needs_correction_then_becomes_a_new_version(reg: Registry) -> None:
    reg.register({A: None})
    reg.send("tax_bureau", [tax("T1", A, "2025-06-01", status="late"), tax("T2", A, "2025-07-01")])
    loaded = make_policy(TAX_RULES)
    assert reg.results(reg.score(loaded).run_id)[A]["score"] == 94  # 100 - 10 + 4

    refused = reg.ingest("tax_bureau", [tax("T1", A, "2025-06-01", status="paid")])
    assert refused.errors == [
        RowError(
            1,
            "record_id",
            "'T1' was already received with different content; send it with correction=true to correct it",
        )
    ]
    assert (refused.accepted, refused.rejected) == (0, 1)
    assert reg.count("records") == 2

    corrected = reg.send("tax_bureau", [tax("T1", A, "2025-06-01", status="paid", correction="true")])
    assert corrected.accepted == 1
    assert record_versions(reg) == [
        ("T1", 1, "late", False, False),  # the old version stays in the history
        ("T1", 2, "paid", True, False),
        ("T2", 1, "paid", False, False),
    ]
    run = reg.score(loaded).run_id
    assert reg.points(run, A, "late") is None
    assert reg.points(run, A, "paid") == 8.0  # two paid records: 2 * 4
    assert reg.results(run)[A]["score"] == 108


def test_a_withdrawn_record_stops_counting(reg: Registry) -> None:
    reg.register({A: None})
    reg.send("tax_bureau", [tax("T1", A, "2025-06-01", status="late"), tax("T2", A, "2025-07-01")])
    withdrawn = reg.send("tax_bureau", [tax("T1", A, "2025-06-01", status="late", withdrawn="true")])
    assert withdrawn.accepted == 1
    assert record_versions(reg) == [
        ("T1", 1, "late", False, False),
        ("T1", 2, "late", False, True),
        ("T2", 1, "paid", False, False),
    ]
    run = reg.score(make_policy(TAX_RULES)).run_id
    assert reg.points(run, A, "late") is None
    assert reg.results(run)[A]["score"] == 104  # only T2: 100 + 4

    again = reg.ingest("tax_bureau", [tax("T1", A, "2025-06-01", status="late")])
    assert again.errors == [RowError(1, "record_id", "'T1' was withdrawn; only a correction can bring it back")]


@pytest.mark.parametrize(("flag", "verb"), [("correction", "correct"), ("withdrawn", "withdraw")])
def test_correcting_a_record_never_received_is_refused(reg: Registry, flag: str, verb: str) -> None:
    reg.register({A: None})
    reg.send("tax_bureau", [tax("T1", A, "2025-06-01")])
    report = reg.ingest("tax_bureau", [tax("T9", A, "2025-06-01", **{flag: "true"})])
    assert report.errors == [RowError(1, "record_id", f"nothing to {verb}: 'T9' was never received from this source")]
    assert report.accepted == 0
    assert reg.count("records") == 1


# ========================================================================================================
# 13. Atomicity of a batch
# ========================================================================================================
@pytest.mark.parametrize(
    ("bad", "field", "message"),
    [
        ({"status": "payed"}, "status", "'payed' is not allowed; allowed: paid, late, evaded"),
        ({"amount": "lots"}, "amount", "'lots' is not a number"),
        ({"event_date": "2026-01-02"}, "event_date", "2026-01-02 is in the future"),
        (
            {"subject_id": person(999)},
            "subject_id",
            f"no registered subject '{person(999)}' (subjects are registered through the civil_affairs source)",
        ),
    ],
    ids=["bad_status", "bad_amount", "future_date", "unknown_subject"],
)
def test_a_batch_commits_its_good_rows_and_rejects_the_bad_one(
    reg: Registry, bad: dict[str, str], field: str, message: str
) -> None:
    reg.register({A: None, B: None})
    rows = [tax("T1", A, "2025-06-01"), {**tax("T2", A, "2025-06-02"), **bad}, tax("T3", B, "2025-06-03")]
    report = reg.ingest("tax_bureau", rows, name="batch.csv")

    assert report.errors == [RowError(2, field, message)]
    assert (report.rows, report.accepted, report.unchanged, report.rejected) == (3, 2, 0, 1)
    assert [r["record_id"] for r in reg.store.rows("SELECT record_id FROM records ORDER BY 1")] == ["T1", "T3"]
    batch = reg.store.rows("SELECT n_rows, n_accepted, n_rejected FROM batches WHERE batch_id = ?", [report.batch_id])
    assert batch == [{"n_rows": 3, "n_accepted": 2, "n_rejected": 1}]

    assert report.reject_file == str(reg.folder / "batch.rejects.csv")
    with open(report.reject_file, encoding="utf-8", newline="") as fh:
        reject_rows = list(csv.reader(fh))
    bad_row = {**tax("T2", A, "2025-06-02"), **bad}
    assert reject_rows == [
        ["row", "field", "error", "record_id", "subject_id", "record_type", "event_date", "amount", "status"],
        [
            "2",
            field,
            message,
            *(str(bad_row[c]) for c in ("record_id", "subject_id", "record_type", "event_date", "amount", "status")),
        ],
    ]


def _counts(reg: Registry) -> tuple[int, int, int]:
    return reg.count("records"), reg.count("batches"), reg.count("audit_log")


def test_an_unsupported_file_type_raises_and_changes_nothing(reg: Registry) -> None:
    reg.register({A: None})
    reg.send("tax_bureau", [tax("T1", A, "2025-06-01")])
    before = _counts(reg)
    path = reg.folder / "batch.txt"
    path.write_text("record_id,subject_id,record_type,event_date,amount,status\nT2,x,tax_payment,2025-01-01,1,paid\n")
    with pytest.raises(IngestError) as err:
        ingest_file(reg.store, path, "tax_bureau", today=AS_OF)
    assert str(err.value) == f"{path}: unsupported file type '.txt'; use .csv, .ndjson (or .jsonl) or .parquet"
    assert _counts(reg) == before


def test_a_csv_without_record_id_raises_and_changes_nothing(reg: Registry) -> None:
    reg.register({A: None})
    reg.send("tax_bureau", [tax("T1", A, "2025-06-01")])
    before = _counts(reg)
    row = tax("T2", A, "2025-06-02")
    del row["record_id"]
    path = write_csv(reg.folder / "no_id.csv", [row])
    with pytest.raises(IngestError) as err:
        ingest_file(reg.store, path, "tax_bureau", today=AS_OF)
    assert str(err.value) == (
        f"{path}: the file has no column 'record_id'; a record needs record_id, subject_id, record_type, event_date"
    )
    assert _counts(reg) == before


def test_a_corrupt_parquet_file_raises_and_changes_nothing(reg: Registry) -> None:
    reg.register({A: None})
    before = _counts(reg)
    path = reg.folder / "broken.parquet"
    path.write_bytes(b"this is not parquet at all")
    with pytest.raises(IngestError, match="^" + re.escape(str(path)) + ": (cannot read|not a readable)"):
        ingest_file(reg.store, path, "tax_bureau", today=AS_OF)
    assert _counts(reg) == before


# ========================================================================================================
# 14. Incremental == full, on the shipped example; rerun reproduces a run
# ========================================================================================================
@pytest.fixture(scope="module")
def example_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, dict[str, int]]]:
    """The shipped example, scored under beijing and sesame, then sent a new batch of changes."""
    store, base = build_example_store(tmp_path_factory.mktemp("example"))
    yield store, base
    store.close()


@pytest.mark.parametrize("days", [0, 1, 30, 400])
@pytest.mark.parametrize("policy_id", ["beijing", "sesame"])
def test_incremental_run_equals_full_run(example_store: Any, policy_id: str, days: int) -> None:
    store, base = example_store
    loaded = builtin_policy(policy_id)
    as_of = EX_AS_OF + dt.timedelta(days=days)
    # max_share=1.0 keeps the incremental path even when most subjects changed, so the merge is what is tested
    incremental = score(store, loaded, as_of, incremental=True, base_run_id=base[policy_id], max_share=1.0)
    full = score(store, loaded, as_of)
    assert (incremental.mode, full.mode) == ("incremental", "full")
    if days <= 1:
        assert incremental.rescored < full.subjects  # it really is incremental (later, nearly all change)
    assert run_differences(store, incremental.run_id, full.run_id) == []
    assert incremental.list_counts == full.list_counts


@pytest.mark.parametrize("days", [0, 1])
def test_an_incremental_run_from_the_state_equals_one_from_the_records(example_store: Any, days: int) -> None:
    # The next day and the same day, the two sources of an incremental run (the state kept at ingest, the records)
    # each equal the full run, table by table, with the merge from the base run forced.
    store, base = example_store
    loaded = builtin_policy("beijing")
    as_of = EX_AS_OF + dt.timedelta(days=days)
    kept = score(store, loaded, as_of, incremental=True, base_run_id=base["beijing"], max_share=1.0)
    read = score(store, loaded, as_of, incremental=True, base_run_id=base["beijing"], max_share=1.0, from_records=True)
    full = score(store, loaded, as_of, from_records=True)
    assert (kept.source, read.source, kept.mode, read.mode) == ("state", "records", "incremental", "incremental")
    assert 0 < kept.rescored <= read.rescored  # from the records, a record of a decaying type is enough (a superset)
    assert run_differences(store, kept.run_id, full.run_id) == []
    assert run_differences(store, read.run_id, full.run_id) == []


@pytest.mark.slow
def test_an_incremental_run_where_most_subjects_changed_computes_everyone(example_store: Any) -> None:
    store, base = example_store
    loaded = builtin_policy("beijing")
    as_of = EX_AS_OF + dt.timedelta(days=400)  # every yearly window moves: nearly everyone changes
    fallback = score(store, loaded, as_of, incremental=True, base_run_id=base["beijing"])
    forced = score(store, loaded, as_of, incremental=True, base_run_id=base["beijing"], max_share=1.0)
    assert (fallback.mode, fallback.base_run_id) == ("incremental", base["beijing"])
    assert fallback.rescored == fallback.subjects  # computed everyone
    assert run_differences(store, fallback.run_id, forced.run_id) == []
    tiny_share = score(store, loaded, EX_AS_OF, incremental=True, base_run_id=base["beijing"], max_share=0.0)
    assert tiny_share.rescored == tiny_share.subjects  # any change at all exceeds a zero share: everyone


@pytest.mark.parametrize("policy_id", ["beijing", "sesame"])
def test_rerun_reproduces_a_run_exactly(example_store: Any, policy_id: str) -> None:
    store, base = example_store
    again = rerun(store, base[policy_id])  # after the new batch: the watermark keeps it out
    assert (again.as_of, again.watermark) == (
        EX_AS_OF,
        store.one("SELECT watermark FROM score_runs WHERE run_id = ?", [base[policy_id]]),
    )
    assert run_differences(store, base[policy_id], again.run_id) == []


def test_the_new_batch_changes_what_it_should(example_store: Any) -> None:
    """Guard for the comparison above: the new batch does change the beijing results."""
    store, base = example_store
    full = score(store, builtin_policy("beijing"), EX_AS_OF + dt.timedelta(days=30))
    entries = store.rows(
        "SELECT r.record_id, e.list_id, e.criterion_id FROM run_list_entries e "
        "JOIN records r USING (record_key) WHERE e.run_id = ? AND r.record_id LIKE 'NEW-%' ORDER BY 1",
        [full.run_id],
    )
    assert [tuple(e.values()) for e in entries] == [
        ("NEW-J1", "blacklist", "judgment_defaulter"),
        ("NEW-J2", "blacklist", "judgment_defaulter"),  # dated 20 days after the base as-of
        ("NEW-T1", "blacklist", "major_tax_evasion"),
    ]
    assert run_differences(store, base["beijing"], full.run_id, ("run_results",)) != []


def test_incremental_run_after_a_correction_moves_a_record_to_another_subject(reg: Registry) -> None:
    """A correction may change the subject a record is about; both subjects must be rescored."""
    reg.register({A: None, B: None, C: None})
    reg.send("tax_bureau", [tax("T1", A, "2025-06-01", status="late"), tax("T2", C, "2025-06-01")])
    loaded = make_policy(TAX_RULES)
    first = reg.score(loaded).run_id
    assert reg.results(first)[A]["score"] == 90  # 100 - 10

    reg.send("tax_bureau", [tax("T1", B, "2025-06-01", status="late", correction="true")])
    incremental = reg.score(loaded, incremental=True, base_run_id=first, max_share=1.0).run_id
    full = reg.score(loaded).run_id
    assert {sid: r["score"] for sid, r in reg.results(full).items()} == {A: 100, B: 90, C: 104}
    # A no longer has T1: the incremental run must not keep A's late payment from the base run.
    assert reg.points(incremental, A, "late") is None
    assert {sid: r["score"] for sid, r in reg.results(incremental).items()} == {A: 100, B: 90, C: 104}
    assert run_differences(reg.store, incremental, full) == []


# ========================================================================================================
# 15. Injection: conditions, field values and column names never become SQL
# ========================================================================================================
EMPLOYMENT = {"record_type": "employment", "event_date": "2025-06-01", "status": "active"}


def _line_of(rules: str, needle: str) -> int:
    """Line of ``needle`` in the YAML of a policy built by make_policy."""
    return next(i for i, line in enumerate(policy_text(rules).splitlines(), 1) if needle in line)


def test_a_condition_that_breaks_out_of_its_string_is_refused() -> None:
    text = "status == 'paid''; DROP TABLE records; --'"
    rules = rule("tax", "tax_payment", 1, when=f'"{text}"')
    with pytest.raises(PolicyError) as err:
        make_policy(rules)
    assert err.value.problems == [
        f"test.yaml:{_line_of(rules, 'when:')}:3: rule tax: when: unexpected \"'; DROP TABLE records; --'\" "
        f"(at character 17 of {text!r})"
    ]


def test_a_quote_inside_a_condition_string_is_a_plain_character(reg: Registry) -> None:
    evil = "x'); DROP TABLE records; --"
    reg.register({A: None, B: None})
    reg.send(
        "employers",
        [
            {"record_id": "E1", "subject_id": A, **EMPLOYMENT, "employer": evil},
            {"record_id": "E2", "subject_id": B, **EMPLOYMENT, "employer": "x"},
        ],
    )
    # YAML "\\'" is the condition text \' : an escaped quote inside the string literal
    loaded = make_policy(rule("odd", "employment", 7, when="\"employer == 'x\\\\'); DROP TABLE records; --'\""))
    assert loaded.policy.rules[0].when == "employer == 'x\\'); DROP TABLE records; --'"
    run = reg.score(loaded).run_id
    assert reg.points(run, A, "odd") == 7.0  # matched the stored value exactly
    assert reg.points(run, B, "odd") is None
    assert reg.table_exists("records")
    assert reg.count("records") == 2


def test_a_field_value_with_sql_is_stored_verbatim(reg: Registry) -> None:
    evil = "'); DROP TABLE records; --"
    reg.register({A: None})
    reg.send("employers", [{"record_id": "E1", "subject_id": A, **EMPLOYMENT, "employer": evil}])
    stored = reg.store.rows("SELECT * FROM records WHERE record_id = 'E1'")
    # every field of the type is stored, absent optional ones as null
    assert record_fields(stored[0]) == {"employer": evil, "monthly_income": None, "status": "active"}
    assert reg.table_exists("records")
    run = reg.score(make_policy(rule("job", "employment", 3))).run_id
    assert reg.points(run, A, "job") == 3.0


@pytest.mark.parametrize(
    "column", ["note'); DROP TABLE records; --", 'a"b; DROP TABLE records; --'], ids=["single_quote", "double_quote"]
)
def test_a_csv_column_name_with_sql_is_refused_or_ignored(reg: Registry, column: str) -> None:
    reg.register({A: None})
    report = reg.ingest(
        "employers",
        [
            {"record_id": "E1", "subject_id": A, **EMPLOYMENT, "employer": "x", column: "boom"},
            {"record_id": "E2", "subject_id": A, **EMPLOYMENT, "employer": "y", column: ""},
        ],
    )
    # with a value the row is refused (not a field); empty, the column is ignored
    assert report.errors == [RowError(1, column, "is not a field of employment")]
    assert report.accepted == 1
    assert reg.table_exists("records")
    stored = reg.store.rows("SELECT * FROM records")
    assert [(r["record_id"], record_fields(r)) for r in stored] == [
        ("E2", {"employer": "y", "monthly_income": None, "status": "active"})
    ]


def test_an_ndjson_key_with_sql_is_refused_as_no_field(reg: Registry) -> None:
    """As in a CSV (above): the key is staged by its quoted JSON path, and its row refused naming it (it was once
    dropped in silence, with its value, for not being an identifier)."""
    reg.register({A: None})
    path = reg.folder / "platform.ndjson"
    row = {
        "record_id": "P1",
        "subject_id": A,
        "record_type": "purchase",
        "event_date": "2025-06-01",
        "amount": 10,
        "kind": "groceries",
        "x'); DROP TABLE records; --": "boom",
    }
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    report = ingest_file(reg.store, path, "commercial_platforms", today=AS_OF)
    assert (report.accepted, report.errors) == (
        0,
        [RowError(1, "x'); DROP TABLE records; --", "is not a field of purchase")],
    )
    assert reg.table_exists("records")
    assert reg.count("records") == 0
    row.pop("x'); DROP TABLE records; --")
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    assert ingest_file(reg.store, path, "commercial_platforms", today=AS_OF).accepted == 1
    stored = record_fields(reg.store.rows("SELECT * FROM records")[0])
    assert stored == {"amount": 10.0, "kind": "groceries", "paid_on_delivery": None}


@pytest.mark.parametrize("name", ["__import__", "attrs", "subject_id", "records"])
def test_a_name_not_known_to_a_rule_condition_is_refused(name: str) -> None:
    text = f"{name} == 'os'"
    rules = rule("job", "employment", 1, when=f'"{text}"')
    with pytest.raises(PolicyError) as err:
        make_policy(rules)
    assert err.value.problems == [
        f"test.yaml:{_line_of(rules, 'when:')}:3: rule job: when: unknown name {name!r}; "
        f"known here: employer, event_date, monthly_income, status (at character 1 of {text!r})"
    ]


def test_a_name_not_known_to_a_service_condition_is_refused() -> None:
    services = """\
- id: rail
  name: {zh: 高铁, en: rail}
  grant_if: "__import__ == 'os'"
  refusal: {zh: 拒绝, en: refused}
"""
    with pytest.raises(PolicyError) as err:
        make_policy(rule("job", "employment", 1), services=services)
    line = (
        policy_text(rule("job", "employment", 1), services=services)
        .splitlines()
        .index("  grant_if: \"__import__ == 'os'\"")
        + 1
    )
    assert err.value.problems == [
        f"test.yaml:{line}:3: service rail: grant_if: unknown name '__import__'; known here: age, civic, kind, "
        "last_negative_days, money, percentile, profession, rank, score, tier, total "
        "(at character 1 of \"__import__ == 'os'\")"
    ]


@pytest.mark.parametrize("dialect", ["duckdb", "spark"])
def test_a_stage_printed_without_a_copy_reads_as_one_printed_from_a_copy(dialect: str) -> None:
    """The backends print a stage they own without copying it first (Dialect.sql(copy=False)): the text is the
    text printed from a copy, for every stage of both shipped policies, from the state and from the records; and
    printing from a copy leaves the tree as it was."""
    from socialcredit.compiler import ScorePlan
    from socialcredit.compiler.dialects import get_dialect

    engine = get_dialect(dialect)
    for policy_id in ("beijing", "sesame"):
        for source in ("state", "records"):
            kept, given_up = (
                ScorePlan(builtin_policy(policy_id), as_of=AS_OF, dialect=engine, source=source).stages()
                for _ in range(2)
            )
            assert [name for name, _ in kept] == [name for name, _ in given_up]
            for (name, tree), (_, other) in zip(kept, given_up, strict=True):
                before = tree.sql(dialect="duckdb")
                text = engine.sql(tree)
                assert tree.sql(dialect="duckdb") == before, name
                assert engine.sql(other, copy=False) == text, (policy_id, source, name)
                assert "sc_" in text
