"""What would change a refusal names what each action takes away: paying a judgment ends the points of its being
unfulfilled, not those of the conviction it records (beijing's court.criminal reads the case type alone)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from due_world import JUDGMENT, B, build, ingest, write_csv
from socialcredit.registry.decisions.decide import decide
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import score

D = dt.date


def test_paying_a_criminal_judgment_does_not_end_the_conviction(tmp_path: Path) -> None:
    """B (李四): a paid speeding ticket T1 (traffic.minor −5) and, from the courts, criminal judgment J9 of
    2026-01-20, 20 000 yuan unfulfilled, no defaulter (no listing): court.unfulfilled −100, court.criminal −150
    halving every 1825 days (−149.32 on 2026-02-01, 12 days on: 150 × 0.5^(12/1825)). Total 1000 − 5 − 100 − 149.32
    = 745.68, score 746, tier C; a bank loan needs tier B (850): 104 points short. Paying J9 takes away its 100
    points, not the conviction's: 845.68, 846, still C; 4 whole points more (849.68, 850) make it B. Until
    2026-12-06 the refusal named paying J9 alone, counting the conviction's 149.32 points as paid off; then it named
    correcting T1, a true ticket, as if that were an act that would take its points away."""
    store = build(tmp_path)
    judgment = [["J9", B, "court_judgment", "2026-01-20", "criminal", "20000", "unfulfilled", "false"]]
    ingest(store, write_csv(tmp_path / "courts2.csv", JUDGMENT, judgment), "courts", D(2026, 1, 20))
    beijing = resolve_policy(store, "beijing")
    score(store, beijing, D(2026, 2, 1))
    loan = decide(store, B, "bank_loan", "loan", requester="bank")
    assert (loan.granted, loan.score, loan.tier, loan.lists) == (False, 746, "C", [])
    assert loan.actions == [
        "pay the outstanding judgment of 20,000 yuan (record J9 from courts); the court then records it fulfilled",
        "raise the score by a further 4 points",
        "or wait until 2036-01-18, when enough of these records expire",
        "if a record counted against you is wrong, you can dispute it: its source then corrects or withdraws it",
    ]
    zh = decide(store, B, "bank_loan", "loan", requester="bank", lang="zh")
    assert zh.actions[1:] == [
        "将分数再提高 4 分",
        "或等到 2036-01-18，届时这些记录中足够多的已过期",
        "如计入的记录有误，可以提出异议，由其来源更正或撤回",
    ]
    # done as said, the actions grant the loan; the judgment paid alone does not
    paid = [["J9", B, "court_judgment", "2026-01-20", "criminal", "20000", "fulfilled", "false", "true"]]
    ingest(store, write_csv(tmp_path / "paid.csv", [*JUDGMENT, "correction"], paid), "courts", D(2026, 1, 25))
    score(store, beijing, D(2026, 2, 1))
    paid_only = decide(store, B, "bank_loan", "loan", requester="bank")
    assert (paid_only.granted, paid_only.score, paid_only.tier) == (False, 846, "C")
    assert paid_only.actions[0] == "raise the score by 4 points"
    # four months of loans repaid on time: loan.on_time +1 a month
    on_time = [[f"N{m}", B, "loan_repayment", f"2025-{m}-15", "1000", "on_time"] for m in ("09", 10, 11, 12)]
    ingest(store, write_csv(tmp_path / "on_time.csv", LOANS, on_time), "banks", D(2026, 1, 26))
    score(store, beijing, D(2026, 2, 1))
    both = decide(store, B, "bank_loan", "loan", requester="bank")
    assert (both.granted, both.score, both.tier) == (True, 850, "B")


def test_a_true_conviction_is_not_advised_away(tmp_path: Path) -> None:
    """B with J9 (as above) and criminal judgment J8 of 2025-06-01, fulfilled (court.criminal alone: −150 halving
    every 1825 days, −136.40 on 2026-02-01, 245 days on): total 609.28, score 609, tier C, 241 short of B. Paying J9
    takes 100 (709.28); 141 whole points more make 850.28, score 850 (140 would leave 849). Until 2026-12-06 the
    advice led with "have courts correct record J8 if it is wrong", counting a true conviction's points toward the
    gap."""
    store = build(tmp_path)
    rows = [
        ["J9", B, "court_judgment", "2026-01-20", "criminal", "20000", "unfulfilled", "false"],
        ["J8", B, "court_judgment", "2025-06-01", "criminal", "5000", "fulfilled", "false"],
    ]
    ingest(store, write_csv(tmp_path / "courts2.csv", JUDGMENT, rows), "courts", D(2026, 1, 20))
    score(store, resolve_policy(store, "beijing"), D(2026, 2, 1))
    loan = decide(store, B, "bank_loan", "loan", requester="bank")
    assert (loan.granted, loan.score, loan.tier) == (False, 609, "C")
    assert loan.actions == [
        "pay the outstanding judgment of 20,000 yuan (record J9 from courts); the court then records it fulfilled",
        "raise the score by a further 141 points",
        "or wait until 2036-01-18, when enough of these records expire",
        "if a record counted against you is wrong, you can dispute it: its source then corrects or withdraws it",
    ]


LOANS = ["record_id", "subject_id", "record_type", "event_date", "amount", "status"]


def test_a_loan_repaid_late_is_not_named_to_be_repaid(tmp_path: Path) -> None:
    """B with ten loans repaid late (loan.late, status 'late': already repaid, nothing to pay) and loan LD in
    default (loan.default −50): repaying names LD alone, counted for its 50 points less loan.late's 5 it then meets
    (a defaulted loan repaid is reported late). Until 2026-12-06 every rule reading ``status`` counted as ended by
    paying, and the late loans were named to be repaid ("repay the overdue loan … (record L9 from banks)")."""
    store = build(tmp_path)
    loans = [[f"L{i}", B, "loan_repayment", f"2026-01-1{i}", f"{i}000", "late"] for i in range(10)]
    loans.append(["LD", B, "loan_repayment", "2026-01-05", "30000", "default"])
    ingest(store, write_csv(tmp_path / "banks.csv", LOANS, loans), "banks", D(2026, 1, 20))
    score(store, resolve_policy(store, "beijing"), D(2026, 2, 1))
    badge = decide(store, B, "matchmaking_badge", "x", requester="bank")
    assert badge.actions[0] == "repay the overdue loan of 30,000 yuan (record LD from banks)"
    assert not [a for a in badge.actions if a.startswith("repay") and "LD" not in a]
