"""What would change a refusal once the source has reported the listed record's obligation fulfilled: not paying
it again, but credit repair (the record itself stays as it was: the listing ends by a repair or at its end)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from due_world import A, build, score_on_its_day
from socialcredit.registry.decisions.decide import decide
from socialcredit.registry.due_process import repair
from socialcredit.registry.scoring.policies import resolve_policy

D = dt.date
ENDS = "at the latest its publication ends on 2029-04-01"


def test_a_judgment_reported_paid_is_not_to_be_paid_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """J1 (12 000 yuan) lists A from 2026-04-02 (serious: repair may be asked a year on, from 2027-04-02). The courts
    report it paid on 2026-05-01. Until 2026-12-05 the refusal still said "pay the outstanding judgment of 12 000
    yuan (...); the court then records it fulfilled", which the court had done."""
    store = build(tmp_path)
    beijing = resolve_policy(store, "beijing")
    score_on_its_day(store, beijing, D(2026, 2, 1))
    score_on_its_day(store, beijing, D(2026, 4, 2))
    repair.report_fulfilment(store, "courts", "J1", fulfilled_on=D(2026, 5, 1), today=D(2026, 5, 1))
    monkeypatch.setenv("SOCIALCREDIT_TODAY", "2026-05-02")
    rail = decide(store, A, "high_speed_rail", "ticket purchase", requester="railway")
    assert rail.granted is False
    assert rail.actions == [
        f"apply for credit repair from 2027-04-02: courts reported record J1 fulfilled on 2026-05-01; {ENDS}"
    ]
    zh = decide(store, A, "high_speed_rail", "ticket purchase", requester="railway", lang="zh").actions
    assert zh == [
        "自 2027-04-02 起申请信用修复：人民法院已于 2026-05-01 报告记录 J1 已履行；其公示最迟于 2029-04-01 结束"
    ]
    monkeypatch.setenv("SOCIALCREDIT_TODAY", "2027-04-02")
    assert decide(store, A, "high_speed_rail", "ticket purchase", requester="railway").actions == [
        f"apply for credit repair: courts reported record J1 fulfilled on 2026-05-01; {ENDS}"
    ]
    app = repair.apply_for_repair(store, A, "courts", "J1", "Paid in full.", "resident", today=D(2027, 4, 2))
    assert decide(store, A, "high_speed_rail", "ticket purchase", requester="railway").actions == [
        f"await the decision on repair application {app['repair_id']}: courts reported record J1 fulfilled on "
        f"2026-05-01; {ENDS}"
    ]


def test_the_actions_are_those_of_the_day_the_decision_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A decision given ``today`` names the repair as it stands that day, whatever the registry's clock says: repair of
    J1 may be asked from 2027-04-02. Until 2026-12-06 the actions judged it on the registry's clock instead ("apply
    for credit repair from 2027-04-02" in a decision of 2027-04-02, and "apply for credit repair" in one of
    2026-05-02 with the clock on 2027-04-02)."""
    store = build(tmp_path)
    beijing = resolve_policy(store, "beijing")
    score_on_its_day(store, beijing, D(2026, 2, 1))
    score_on_its_day(store, beijing, D(2026, 4, 2))
    repair.report_fulfilment(store, "courts", "J1", fulfilled_on=D(2026, 5, 1), today=D(2026, 5, 1))
    done = "courts reported record J1 fulfilled on 2026-05-01"
    for clock, today, said in (
        ("2026-05-02", D(2027, 4, 2), f"apply for credit repair: {done}; {ENDS}"),
        ("2027-04-02", D(2026, 5, 2), f"apply for credit repair from 2027-04-02: {done}; {ENDS}"),
    ):
        monkeypatch.setenv("SOCIALCREDIT_TODAY", clock)
        rail = decide(store, A, "high_speed_rail", "ticket purchase", requester="railway", today=today)
        assert (rail.granted, rail.actions) == (False, [said])
