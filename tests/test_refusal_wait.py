"""What would change a refusal that both a listing and the score cause: waiting for records to expire changes the
outcome only once the listing's publication has ended too."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import socialcredit
from due_world import JUDGMENT, A, B, C, build, built, ingest, score_on_its_day, write_csv
from socialcredit.policy import LoadedPolicy, load_policy
from socialcredit.registry.decisions.decide import decide
from socialcredit.registry.scoring.policies import publish_policy, resolve_policy
from socialcredit.registry.scoring.runs import score
from socialcredit.store import Store

D = dt.date


def test_the_day_to_wait_for_is_not_before_the_listing_ends(tmp_path: Path) -> None:
    """A (张三): judgment J1 (−100, listed from 2026-04-02, published until 2029-04-01 at the latest: serious, 1095
    days) and two loan defaults L1, L2 of 2022-06-01 (−50 each, no decay, counted 1825 days: until 2027-05-31).
    Score 1000 − 100 − 100 = 800, tier C; a bank loan needs "not blacklist and tier >= 'B'" (850): 50 points short.
    J1 alone covers them (paying it ends the listing too); the loans' 100 points expire on 2027-05-31, but the
    listing still refuses the loan then: waiting changes the outcome on 2029-04-01, when its publication ends at the
    latest (and the loans have expired: 1000 − 100 = 900). Until 2026-12-05 it said "or wait until 2027-05-31"."""
    store = build(tmp_path)
    header = ["record_id", "subject_id", "record_type", "event_date", "amount", "status"]
    loans = [["L1", A, "loan_repayment", "2022-06-01", "30000", "default"]]
    loans.append(["L2", A, "loan_repayment", "2022-06-01", "20000", "default"])
    ingest(store, write_csv(tmp_path / "banks.csv", header, loans), "banks", D(2026, 1, 20))
    beijing = resolve_policy(store, "beijing")
    score_on_its_day(store, beijing, D(2026, 2, 1))
    score_on_its_day(store, beijing, D(2026, 4, 2))
    loan = decide(store, A, "bank_loan", "loan", requester="bank")
    assert (loan.granted, loan.score, loan.tier, loan.lists) == (False, 800, "C", ["blacklist"])
    assert loan.actions == [
        "pay the outstanding judgment of 12,000 yuan (record J1 from courts); the court then records it fulfilled; "
        "at the latest its publication ends on 2029-04-01",
        "or wait until 2029-04-01, when the publication of these listings has ended and enough of these records expire",
        "if a record counted against you is wrong, you can dispute it: its source then corrects or withdraws it",
    ]
    zh = decide(store, A, "bank_loan", "loan", requester="bank", lang="zh").actions
    assert zh[-2] == "或等到 2029-04-01，届时上述名单公示均已结束，且这些记录中足够多的已过期"


def test_the_day_to_wait_for_is_when_the_criterion_stops_counting_the_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """B (李四): tax record X9 (evaded, 150 000 yuan, 2025-12-01) lists B from 2026-04-02 under beijing's
    major_tax_evasion, a criterion counting records of the last 1095 days: the listing's publication would end on
    2026-04-02 + 1095 days = 2029-04-01, but its cause is gone on 2025-12-01 + 1095 days = 2028-11-30 (2028 is a
    leap year), when the run of that day delists it. The loan defaults L1, L2 (2022-06-01) expire on 2027-05-31.
    Settling X9 ends the listing, not tax.evaded's points (a finding: nothing paid changes it), so the score needs
    L1 repaid too. Until 2026-12-06 the refusal said "or wait until 2029-04-01", four months after the loan is
    granted."""
    store = build(tmp_path)
    header = ["record_id", "subject_id", "record_type", "event_date", "amount", "status", "days_late"]
    tax = [["X9", B, "tax_payment", "2025-12-01", "150000", "evaded", "0"]]
    ingest(store, write_csv(tmp_path / "tax2.csv", header, tax), "tax_bureau", D(2026, 1, 20))
    header = ["record_id", "subject_id", "record_type", "event_date", "amount", "status"]
    loans = [["L1", B, "loan_repayment", "2022-06-01", "30000", "default"]]
    loans.append(["L2", B, "loan_repayment", "2022-06-01", "30000", "default"])
    ingest(store, write_csv(tmp_path / "banks.csv", header, loans), "banks", D(2026, 1, 20))
    beijing = resolve_policy(store, "beijing")
    score_on_its_day(store, beijing, D(2026, 2, 1))
    score_on_its_day(store, beijing, D(2026, 4, 2))
    loan = decide(store, B, "bank_loan", "loan", requester="bank", today=D(2026, 4, 2))
    assert (loan.granted, loan.tier, loan.lists) == (False, "C", ["blacklist"])
    assert loan.actions == [
        "settle the tax of 150,000 yuan and its penalties (record X9 from tax_bureau); "
        "at the latest its publication ends on 2028-11-30",
        "repay the overdue loan of 30,000 yuan (record L1 from banks)",
        "or wait until 2028-11-30, when the publication of these listings has ended and enough of these records expire",
        "if a record counted against you is wrong, you can dispute it: its source then corrects or withdraws it",
    ]
    zh = decide(store, B, "bank_loan", "loan", requester="bank", lang="zh", today=D(2026, 4, 2)).actions
    assert zh[-2] == "或等到 2028-11-30，届时上述名单公示均已结束，且这些记录中足够多的已过期"
    # the day is the first the loan is granted: refused the day before
    outcomes = {}
    for day in (D(2028, 11, 29), D(2028, 11, 30)):
        monkeypatch.setenv("SOCIALCREDIT_TODAY", day.isoformat())
        score(store, beijing, day, today=day)
        outcomes[day] = decide(store, B, "bank_loan", "loan", requester="bank", today=day).granted
    assert outcomes == {D(2028, 11, 29): False, D(2028, 11, 30): True}


def _outcome_on(store: Store, loaded: LoadedPolicy, day: dt.date, policy_id: str | None = None) -> tuple[bool, int]:
    """The loan decision for C as a run of ``day`` scores C."""
    score(store, loaded, day, today=day)
    loan = decide(store, C, "bank_loan", "loan", requester="bank", policy_id=policy_id, today=day)
    return loan.granted, loan.score


def test_the_day_to_wait_for_counts_a_rule_s_cap(tmp_path: Path) -> None:
    """C (王五): four unfulfilled civil judgments Q0-Q3 of 2020-01-01, 2021-01-01, 2022-01-01, 2023-01-01
    (court.unfulfilled: −100 each, no decay, counted 2555 days, cap 300): 400 points capped at 300, score 700, tier C;
    a bank loan needs 850. Q0 stops counting on 2026-12-30 and Q1 on 2027-12-31, but the cap still takes 300 and then
    200: the loan is granted from 2028-12-30, when Q2 stops counting too (1000 − 100 = 900), refused the day before
    (800). Until 2026-12-06 the refusal named 2027-12-31, counting Q0 and Q1 as 200 points given back."""
    store = build(tmp_path)
    dates = ["2020-01-01", "2021-01-01", "2022-01-01", "2023-01-01"]
    rows = [[f"Q{i}", C, "court_judgment", d, "civil", "5000", "unfulfilled", "false"] for i, d in enumerate(dates)]
    ingest(store, write_csv(tmp_path / "courts2.csv", JUDGMENT, rows), "courts", D(2026, 3, 2))
    beijing = resolve_policy(store, "beijing")
    score(store, beijing, D(2026, 4, 2), today=D(2026, 4, 2))
    loan = decide(store, C, "bank_loan", "loan", requester="bank", today=D(2026, 4, 2))
    assert (loan.granted, loan.score, loan.tier) == (False, 700, "C")
    assert "or wait until 2028-12-30, when enough of these records expire" in loan.actions
    zh = decide(store, C, "bank_loan", "loan", requester="bank", lang="zh", today=D(2026, 4, 2)).actions
    assert "或等到 2028-12-30，届时这些记录中足够多的已过期" in zh
    assert _outcome_on(store, beijing, D(2028, 12, 29)) == (False, 800)
    assert _outcome_on(store, beijing, D(2028, 12, 30)) == (True, 900)


def test_the_day_to_wait_for_meets_a_condition_on_the_total(tmp_path: Path) -> None:
    """A version of beijing granting a bank loan on "not blacklist and total >= 849.9": C's two tax evasions X7, X8
    (2026-03-01, −100 each halving every 730 days, counted 3650 days) leave a total of 805.6 on 2026-04-02 (score 806).
    The score rounds 849.5 up to 850, but the total must reach 849.9 itself: the day named is one the loan is granted.
    Until 2026-12-06 it named 2026-12-28 (total 849.8: refused), counting the gap from the rounded score."""
    store = build(tmp_path)
    header = ["record_id", "subject_id", "record_type", "event_date", "amount", "status", "days_late"]
    tax = [[x, C, "tax_payment", "2026-03-01", "5000", "evaded", "0"] for x in ("X7", "X8")]
    ingest(store, write_csv(tmp_path / "tax2.csv", header, tax), "tax_bureau", D(2026, 3, 2))
    text = (Path(socialcredit.__file__).parent / "policies" / "beijing.yaml").read_text(encoding="utf-8")
    changed = text.replace(
        "grant_if: \"not blacklist and tier >= 'B'\"", 'grant_if: "not blacklist and total >= 849.9"', 1
    )
    assert changed != text
    (tmp_path / "bj.yaml").write_text(changed.replace('version: "2026.2"', 'version: "2026.9"'), encoding="utf-8")
    loaded = load_policy(tmp_path / "bj.yaml", store.catalog)
    publish_policy(store, loaded)
    score(store, loaded, D(2026, 4, 2), today=D(2026, 4, 2))
    loan = decide(store, C, "bank_loan", "loan", requester="bank", policy_id="beijing", today=D(2026, 4, 2))
    assert (loan.granted, loan.score) == (False, 806)
    said = [a for a in loan.actions if a.startswith("or wait until ")]
    assert len(said) == 1
    day = D.fromisoformat(said[0].split()[3].rstrip(","))
    assert _outcome_on(store, loaded, D(2026, 12, 28), "beijing") == (False, 850)
    assert _outcome_on(store, loaded, day, "beijing")[0] is True


_DRAWN = {  # beijing's rules of these records: a cap (court, loans, evasion), decay (evasion), a dimension's min
    "court": (
        "courts",
        JUDGMENT,
        lambda rid, day: [rid, C, "court_judgment", day, "civil", "5000", "unfulfilled", "false"],
    ),
    "loan": (
        "banks",
        ["record_id", "subject_id", "record_type", "event_date", "amount", "status"],
        lambda rid, day: [rid, C, "loan_repayment", day, "10000", "default"],
    ),
    "tax": (
        "tax_bureau",
        ["record_id", "subject_id", "record_type", "event_date", "amount", "status", "days_late"],
        lambda rid, day: [rid, C, "tax_payment", day, "5000", "evaded", "0"],
    ),
}


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(sorted(_DRAWN)), st.integers(0, 2400)), min_size=1, max_size=7))
def test_the_day_named_grants_the_loan(tmp_path_factory: pytest.TempPathFactory, drawn: list[tuple[str, int]]) -> None:
    """A few of C's judgments, loan defaults and tax evasions, dated up to 2400 days before 2026-03-01: where a bank
    loan is refused and a day to wait for is named, a run of that day grants it (the day may be late, never early)."""
    folder = tmp_path_factory.mktemp("drawn")
    store = built(folder)
    batches: dict[str, list[list[str]]] = {}  # one batch a source, each row as drawn
    for n, (kind, ago) in enumerate(drawn):
        day = (D(2026, 3, 1) - dt.timedelta(days=ago)).isoformat()
        batches.setdefault(kind, []).append(_DRAWN[kind][2](f"W{n}", day))
    for kind, rows in batches.items():
        source, header, _ = _DRAWN[kind]
        ingest(store, write_csv(folder / f"drawn-{kind}.csv", header, rows), source, D(2026, 3, 2))
    beijing = resolve_policy(store, "beijing")
    score(store, beijing, D(2026, 4, 2), today=D(2026, 4, 2))
    loan = decide(store, C, "bank_loan", "loan", requester="bank", today=D(2026, 4, 2))
    said = [a for a in loan.actions if a.startswith("or wait until ")]
    if not loan.granted and said:
        day = D.fromisoformat(said[0].split()[3].rstrip(","))
        assert _outcome_on(store, beijing, day)[0] is True, (loan.actions, day)
    store.close()
