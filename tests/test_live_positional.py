"""Live decisions under a policy whose services look at rank or percentile.

A subject's rank and percentile move when other subjects' scores move. A live pass rescores only the subjects whose
inputs changed, so a service granted on ``percentile`` must be judged on the histogram as it now stands for every
subject, not on the percentile the run gave those the pass did not touch: the decision must be the one a full run at
the same watermark gives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from due_world import score_on_its_day
from relation_world import role
from scoring_helpers import AS_OF, amount_rule, days_before, make_policy, open_registry, org, person, policy_text, tax
from socialcredit.policy import parse_policy
from socialcredit.registry.decisions.decide import decide
from socialcredit.registry.decisions.live import rescore
from socialcredit.registry.decisions.snapshot import Snapshot
from socialcredit.registry.due_process.disputes import file_dispute
from socialcredit.registry.reporting.report import subject_report

PERK = """\
- id: perk
  name: {zh: 优待, en: perk}
  grant_if: "percentile >= 75"
  refusal: {zh: 不予优待, en: no perk}
- id: plain
  name: {zh: 普通, en: plain}
  grant_if: "score >= 105"
  refusal: {zh: 不予服务, en: no service}
"""


def test_a_grant_on_percentile_follows_the_scores_that_moved_live(tmp_path: Path) -> None:
    reg = open_registry(tmp_path)
    try:
        p1, p2, p3, p4 = (person(i) for i in range(1, 5))
        reg.register({p: None for p in (p1, p2, p3, p4)})
        loaded = make_policy(amount_rule("ten", 10, 10), services=PERK)
        # p1 and p2 score 110, p3 and p4 100: 110 is at the 100th percentile (4 of 4 at or below), 100 at the 50th.
        reg.send("tax_bureau", [tax("T1", p1, "2025-06-01", amount=10), tax("T2", p2, "2025-06-01", amount=10)])
        reg.score(loaded)
        snap = Snapshot.load(reg.store, "test", explain=True)
        ask = {"purpose": "a perk", "requester": "tests"}
        assert [snap.decision(p, "perk", **ask).granted for p in (p1, p2, p3, p4)] == [True, True, False, False]

        # p3 and p4 each gain 20 points (120): 110 is now at the 50th percentile (2 of 4 at or below).
        reg.send(
            "tax_bureau",
            [tax(f"U{i}{j}", p, "2025-07-01", amount=10) for i, p in enumerate((p3, p4)) for j in range(2)],
        )
        out = rescore(reg.store, snap.loaded, snap.as_of, [p3, p4], snap.histogram, snap.old_scores([p3, p4]))
        assert out is not None
        watermark, rows, histogram = out
        assert snap.patch(rows, watermark, histogram) == 2

        full = score_on_its_day(reg.store, loaded, AS_OF)
        assert full.watermark == watermark
        by_run = {
            str(r["subject_id"]): int(r["grants"])
            for r in reg.store.rows("SELECT subject_id, grants FROM run_results WHERE run_id = ?", [full.run_id])
        }
        # The run: perk (bit 0) for p3 and p4 only; plain (bit 1, score >= 105) for everyone but nobody lost it.
        assert by_run == {p1: 0b10, p2: 0b10, p3: 0b11, p4: 0b11}

        for service, bit in (("perk", 0), ("plain", 1)):
            expected = [bool(by_run[p] >> bit & 1) for p in (p1, p2, p3, p4)]
            assert [snap.decision(p, service, **ask).granted for p in (p1, p2, p3, p4)] == expected, service
            assert [snap.decide(p, service, **ask).granted for p in (p1, p2, p3, p4)] == expected, service
            assert snap.decide_many([p1, p2, p3, p4], service, "a perk", requester="tests").tolist() == expected
        refused = snap.decision(p1, "perk", **ask)
        assert refused.refusal == "no perk"
        assert any("percentile" in r.text for r in refused.reasons), refused.reasons

        # The subject's file (the resident's page, the API's report) shows what decisions now judge, for p1 whom no
        # pass rescored: the percentile in the histogram as it stands and the perk no longer granted.
        view = snap.live_view(p1)
        assert view is not None and (view.rank, view.percentile, view.watermark) == (3, 50.0, watermark)
        report = subject_report(reg.store, p1, live={snap.run_id: view}, parts=("scores",))
        (shown,) = report["scores"]
        assert (shown["rank"], shown["percentile"], shown["watermark"]) == (3, 50.0, watermark)
        assert shown["services"] == [{"service": "perk", "granted": False}, {"service": "plain", "granted": True}]
    finally:
        reg.store.close()


TOP = """\
- id: top
  kind: red
  name: {zh: 前列, en: top}
  criteria:
    - id: upper_quarter
      when: "percentile >= 75"
      reason: {code: TOP_QUARTER, zh: 前四分之一, en: in the upper quarter}
"""
VIP = """\
- id: vip
  name: {zh: 贵宾, en: vip}
  grant_if: "top"
  refusal: {zh: 不予贵宾, en: no vip}
"""


def test_a_red_list_met_on_percentile_is_left_at_once_when_others_overtake(tmp_path: Path) -> None:
    reg = open_registry(tmp_path)
    try:
        p1, p2, p3, p4 = (person(i) for i in range(1, 5))
        reg.register({p: None for p in (p1, p2, p3, p4)})
        loaded = make_policy(amount_rule("ten", 10, 10), lists=TOP, services=VIP)
        reg.send("tax_bureau", [tax("T1", p1, "2025-06-01", amount=10), tax("T2", p2, "2025-06-01", amount=10)])
        first = reg.score(loaded)
        assert sorted(s for s, lst, _c, _k in reg.list_entries(first.run_id) if lst == "top") == sorted([p1, p2])
        snap = Snapshot.load(reg.store, "test", explain=True)
        ask = {"purpose": "a lounge", "requester": "tests"}
        assert [snap.decision(p, "vip", **ask).granted for p in (p1, p2, p3, p4)] == [True, True, False, False]

        reg.send(
            "tax_bureau",
            [tax(f"U{i}{j}", p, "2025-07-01", amount=10) for i, p in enumerate((p3, p4)) for j in range(2)],
        )
        out = rescore(reg.store, snap.loaded, snap.as_of, [p3, p4], snap.histogram, snap.old_scores([p3, p4]))
        assert out is not None
        snap.patch(out[1], out[0], out[2])

        full = score_on_its_day(reg.store, loaded, AS_OF)
        on_top = sorted(s for s, lst, _c, _k in reg.list_entries(full.run_id) if lst == "top")
        assert on_top == sorted([p3, p4])
        assert [snap.decision(p, "vip", **ask).granted for p in (p1, p2, p3, p4)] == [False, False, True, True]
        assert snap.decide_many([p1, p2, p3, p4], "vip", "a lounge", requester="tests").tolist() == [
            False,
            False,
            True,
            True,
        ]
        left = snap.decision(p1, "vip", **ask)
        assert left.lists == [] and left.refusal == "no vip"
        assert snap.decision(p3, "vip", **ask).lists == ["top"]
    finally:
        reg.store.close()


def test_a_snapshot_without_explanations_refuses_live_patches_under_a_policy_granting_on_percentile(
    tmp_path: Path,
) -> None:
    """Without the rows of every subject it could not judge their grants again: it would keep granting what a full
    run refuses."""
    reg = open_registry(tmp_path)
    try:
        p1, p2 = person(1), person(2)
        reg.register({p1: None, p2: None})
        loaded = make_policy(amount_rule("ten", 10, 10), services=PERK)
        reg.send("tax_bureau", [tax("T1", p1, "2025-06-01", amount=10)])
        reg.score(loaded)
        snap = Snapshot.load(reg.store, "test")
        reg.send("tax_bureau", [tax("U1", p2, "2025-07-01", amount=10), tax("U2", p2, "2025-07-02", amount=10)])
        out = rescore(reg.store, snap.loaded, snap.as_of, [p2], snap.histogram, snap.old_scores([p2]))
        assert out is not None
        with pytest.raises(RuntimeError, match=r"^policy test 1 grants on rank or percentile: a snapshot loaded"):
            snap.patch(out[1], out[0], out[2])
        assert snap.patch({}, out[0], snap.histogram) == 0  # a pass that moved nobody only moves the watermark
    finally:
        reg.store.close()


BOTTOM = """\
- id: bottom
  kind: black
  name: {zh: 末位, en: bottom}
  grace_days: 30
  criteria:
    - id: low
      when: "score < 105"
      reason: {code: LOW, zh: 分数低, en: a low score}
"""


def test_the_history_does_not_call_a_blacklisting_in_its_notice_period_left_when_scores_move_live(
    tmp_path: Path,
) -> None:
    """Decisions do not see a blacklisting in its notice period; the history's live row must not say it was left."""
    from socialcredit.registry.reporting.history import score_history

    reg = open_registry(tmp_path)
    try:
        p1, p2, p3 = person(1), person(2), person(3)
        reg.register({p1: None, p2: None, p3: None})
        loaded = make_policy(amount_rule("ten", 10, 10), lists=BOTTOM, services=PERK)
        reg.send("tax_bureau", [tax("T1", p1, "2025-06-01", amount=10)])
        reg.score(loaded)  # p2 and p3 score 100: on `bottom`, in their notice period
        snap = Snapshot.load(reg.store, "test", explain=True)
        reg.send("tax_bureau", [tax("U1", p3, "2025-07-01", amount=10), tax("U2", p3, "2025-07-02", amount=10)])
        out = rescore(reg.store, snap.loaded, snap.as_of, [p3], snap.histogram, snap.old_scores([p3]))
        assert out is not None
        snap.patch(out[1], out[0], out[2])
        assert reg.store.rows("SELECT DISTINCT status FROM listings") == [{"status": "pending"}]
        view = snap.live_view(p2)  # not rescored, but its percentile moved (66.67 -> 33.33)
        assert view is not None and view.result["lists"] == [] and view.percentile == 33.33
        (policy,) = score_history(reg.store, p2, live={snap.run_id: view})["policies"]
        # in its notice period at the run: said apart from the lists p2 is on (until 2026-12-06 among them)
        assert policy["runs"][0]["lists"] == []
        assert policy["runs"][0]["lists_in_notice"] == [{"list": "bottom", "name": "bottom"}]
        assert policy["live"]["change"]["lists_left"] == []
        assert policy["live"]["percentile"] == 33.33
    finally:
        reg.store.close()


ORG_TOP = """\
- id: top_firms
  kind: red
  name: {zh: 前列企业, en: top firms}
  criteria:
    - id: upper_half
      when: "kind == 'org' and percentile >= 75"
      reason: {code: TOP_FIRM, zh: 企业前列, en: a firm in the upper quarter}
- id: officers
  kind: red
  name: {zh: 前列企业高管, en: officers of top firms}
  criteria:
    - id: of_top_firm
      via: {list: top_firms, roles: [director]}
      reason: {code: TOP_OFFICER, zh: 前列企业董事, en: a director of a top firm}
"""
LOUNGE = """\
- id: lounge
  name: {zh: 贵宾室, en: lounge}
  grant_if: "officers"
  refusal: {zh: 不予贵宾室, en: no lounge}
"""


def test_an_entry_through_a_firm_met_on_percentile_goes_when_other_firms_overtake_it(tmp_path: Path) -> None:
    """The director of a firm in the upper quarter is on `officers` through it. Two other firms gain points live:
    the firm drops to the 50th percentile and leaves `top_firms`; its director, whom no pass rescored, leaves
    `officers` at once, as a full run at the same watermark says."""
    reg = open_registry(tmp_path)
    try:
        firm, rival, third, fourth = (org(f"00000000{i}") for i in range(1, 5))
        director, other = person(11), person(12)
        reg.register({firm: None, rival: None, third: None, fourth: None, director: "finance", other: "finance"})
        reg.send(
            "registration_authority",
            [
                role("R1", director, firm, "director", days_before(500)),
                role("R2", other, rival, "director", days_before(500)),
            ],
        )
        loaded = make_policy(amount_rule("ten", 10, 10), lists=ORG_TOP, services=LOUNGE)
        # firm 110, the three others 100: the firm alone at the 100th percentile of firms, the others at the 75th
        reg.send("tax_bureau", [tax("T1", firm, "2025-06-01", amount=10)])
        first = reg.score(loaded)
        listed = sorted((s, lst) for s, lst, _c, _k in reg.list_entries(first.run_id))
        assert (director, "officers") in listed and (firm, "top_firms") in listed
        snap = Snapshot.load(reg.store, "test", explain=True)
        ask = {"purpose": "a lounge", "requester": "tests"}
        assert snap.decision(director, "lounge", **ask).granted

        # two rivals gain 20 points each (120): the firm's 110 is at the 50th percentile of four firms
        reg.send(
            "tax_bureau",
            [tax(f"U{i}{j}", f, "2025-07-01", amount=10) for i, f in enumerate((rival, third)) for j in range(2)],
        )
        moved = [rival, third]
        out = rescore(reg.store, snap.loaded, snap.as_of, moved, snap.histogram, snap.old_scores(moved))
        assert out is not None
        snap.patch(out[1], out[0], out[2])
        assert snap.row_of(director) not in snap.live  # no pass rescored the director

        full = score_on_its_day(reg.store, loaded, AS_OF)
        assert full.watermark == out[0]
        on = sorted((s, lst) for s, lst, _c, _k in reg.list_entries(full.run_id))
        assert (firm, "top_firms") not in on and (director, "officers") not in on
        # the rival's director was on `officers` at the run already (100 points was the 75th percentile of firms)
        # and stays, as the full run says
        assert (other, "officers") in on and snap.decision(other, "lounge", **ask).granted
        refused = snap.decision(director, "lounge", **ask)
        assert (refused.granted, refused.lists, refused.refusal) == (False, [], "no lounge")
        assert snap.decide(director, "lounge", **ask).granted is False
        assert snap.decide_many([director], "lounge", "a lounge", requester="tests").tolist() == [False]
        view = snap.live_view(director)
        assert view is not None and view.result["lists"] == []
    finally:
        reg.store.close()


# -- entries through a firm on a list by a record or by percentile: the snapshot keeps what a full run keeps ------
def _both_lists(when: str) -> str:
    return f"""\
- id: top_firms
  kind: red
  name: {{zh: 前列企业, en: top firms}}
  criteria:
    - id: big_contract
      record: {{record_type: tax_payment, when: "amount == 999"}}
      reason: {{code: BIG, zh: 大额合同, en: a big contract}}
    - id: upper
      when: "kind == 'org' and percentile >= 80"
      reason: {{code: TOP_FIRM, zh: 企业前列, en: a firm in the upper fifth}}
- id: officers
  kind: red
  name: {{zh: 前列企业高管, en: officers of top firms}}
  criteria:
    - id: of_top_firm
      via: {{list: top_firms, roles: [director], when: {when}}}
      reason: {{code: TOP_OFFICER, zh: 前列企业董事, en: a director of a top firm}}
"""


def _agrees(reg: Any, snap: Snapshot, loaded: Any, out: Any, who: str) -> None:
    """After the pass ``out``, decisions on ``who`` are what a full run at the same watermark gives: on `officers`."""
    snap.patch(out[1], out[0], out[2])
    full = score_on_its_day(reg.store, loaded, AS_OF)
    assert full.watermark == out[0]
    assert (who, "officers") in {(s, lst) for s, lst, _c, _k in reg.list_entries(full.run_id)}
    ask = {"purpose": "a lounge", "requester": "tests"}
    assert snap.decision(who, "lounge", **ask).granted and snap.decide(who, "lounge", **ask).granted
    view = snap.live_view(who)
    assert view is not None and view.result["lists"] == ["officers"]


def test_a_firm_listed_by_a_record_holds_up_a_director_it_had_at_the_cause_while_another_falls(tmp_path: Path) -> None:
    reg = open_registry(tmp_path)
    try:
        a, c, x, y = (org(f"00000000{i}") for i in range(1, 5))
        p = person(11)
        reg.register({a: None, c: None, x: None, y: None, p: "finance"})
        reg.send(
            "registration_authority",
            [
                role("R1", p, a, "director", days_before(500), days_before(10)),  # ended before the run's date
                role("R2", p, c, "director", days_before(500)),
            ],
        )
        loaded = make_policy(amount_rule("ten", 10, 10), lists=_both_lists("held_at_cause"), services=LOUNGE)
        reg.send("tax_bureau", [tax("T1", c, "2025-06-01", amount=10), tax("B1", a, "2025-06-01", amount=999)])
        reg.score(loaded)
        snap = Snapshot.load(reg.store, "test", explain=True)
        reg.send(
            "tax_bureau", [tax(f"U{i}{j}", f, "2025-07-01", amount=10) for i, f in enumerate((x, y)) for j in range(2)]
        )
        out = rescore(reg.store, snap.loaded, snap.as_of, [x, y], snap.histogram, snap.old_scores([x, y]))
        _agrees(reg, snap, loaded, out, p)
    finally:
        reg.store.close()


def test_a_firm_that_gains_a_record_live_holds_up_its_director_though_others_overtake_it(tmp_path: Path) -> None:
    reg = open_registry(tmp_path)
    try:
        a, x, y, z = (org(f"00000000{i}") for i in range(1, 5))
        p = person(11)
        reg.register({a: None, x: None, y: None, z: None, p: "finance"})
        reg.send("registration_authority", [role("R1", p, a, "director", days_before(500))])
        loaded = make_policy(amount_rule("ten", 10, 10), lists=_both_lists("current"), services=LOUNGE)
        reg.send("tax_bureau", [tax("T1", a, "2025-06-01", amount=10)])
        reg.score(loaded)
        snap = Snapshot.load(reg.store, "test", explain=True)
        # the firm now has a big contract (on top_firms by a record); two others overtake it
        reg.send(
            "tax_bureau",
            [tax("B1", a, "2025-07-01", amount=999)]
            + [tax(f"U{i}{j}", f, "2025-07-01", amount=10) for i, f in enumerate((x, y)) for j in range(2)],
        )
        moved = [a, x, y]
        out = rescore(reg.store, snap.loaded, snap.as_of, moved, snap.histogram, snap.old_scores(moved))
        _agrees(reg, snap, loaded, out, p)
    finally:
        reg.store.close()


def test_a_director_rescored_live_keeps_the_entry_his_pass_found_through_a_new_firm(tmp_path: Path) -> None:
    reg = open_registry(tmp_path)
    try:
        a, b, x, y = (org(f"00000000{i}") for i in range(1, 5))
        p = person(11)
        reg.register({a: None, b: None, x: None, y: None, p: "finance"})
        reg.send("registration_authority", [role("R1", p, a, "director", days_before(500))])
        loaded = make_policy(amount_rule("ten", 10, 10), lists=_both_lists("current"), services=LOUNGE)
        # a and b 110 (100th percentile), x, y 100 (50th)
        reg.send("tax_bureau", [tax("T1", a, "2025-06-01", amount=10), tax("T2", b, "2025-06-01", amount=10)])
        reg.score(loaded)
        snap = Snapshot.load(reg.store, "test", explain=True)
        # p becomes a director of b too; x gains 20 (120): b with 2 more (130) stays top, a drops
        reg.send("registration_authority", [role("R2", p, b, "director", days_before(5))])
        reg.send(
            "tax_bureau",
            [tax(f"U{j}", x, "2025-07-01", amount=10) for j in range(2)]
            + [tax(f"V{j}", b, "2025-07-01", amount=10) for j in range(2)],
        )
        moved = [p, x, b]
        out = rescore(reg.store, snap.loaded, snap.as_of, moved, snap.histogram, snap.old_scores(moved))
        _agrees(reg, snap, loaded, out, p)
    finally:
        reg.store.close()


# -- the roles the snapshot holds entries up by are the ones the run read: at its watermark, held ones left out ----
def _falls(reg: Any, snap: Snapshot, loaded: Any, out: Any, who: str) -> None:
    """After the pass ``out``, decisions on ``who`` are what a full run at the same watermark gives: off `officers`."""
    snap.patch(out[1], out[0], out[2])
    assert snap.row_of(who) not in snap.live  # the pass did not rescore the director
    full = score_on_its_day(reg.store, loaded, AS_OF)
    assert full.watermark == out[0]
    assert who not in {s for s, lst, _c, _k in reg.list_entries(full.run_id) if lst == "officers"}
    ask = {"purpose": "a lounge", "requester": "tests"}
    refused = snap.decision(who, "lounge", **ask)
    assert (refused.granted, refused.lists, refused.refusal) == (False, [], "no lounge")
    assert snap.decide(who, "lounge", **ask).granted is False
    view = snap.live_view(who)
    assert view is not None and view.result["lists"] == []


def test_a_role_held_out_under_an_open_dispute_does_not_hold_up_a_directors_entry(tmp_path: Path) -> None:
    """The director's role in a firm listed by a record is under an open dispute, which this policy does not count
    while open: the run lists him through his other firm only, on its percentile. Other firms overtake that one
    live: a full run at the same watermark takes him off `officers`, and so do decisions (the disputed role held
    nothing up in the run, and holds nothing up in the snapshot)."""
    reg = open_registry(tmp_path)
    try:
        a, b, x, y = (org(f"00000000{i}") for i in range(1, 5))
        p = person(11)
        reg.register({a: None, b: None, x: None, y: None, p: "finance"})
        reg.send(
            "registration_authority",
            [role("R1", p, a, "director", days_before(500)), role("R2", p, b, "director", days_before(500))],
        )
        text = policy_text(amount_rule("ten", 10, 10), lists=_both_lists("current"), services=LOUNGE)
        loaded = parse_policy(text + "disputes: {counts_while_open: false}\n", "test.yaml")
        # a 110 (the 100th percentile of four firms), b, x, y 100 (the 75th); b on top_firms by its big contract
        reg.send("tax_bureau", [tax("T1", a, "2025-06-01", amount=10), tax("B1", b, "2025-06-01", amount=999)])
        file_dispute(reg.store, p, "registration_authority", "R2", "not my role", today=AS_OF)
        first = reg.score(loaded)
        entries = reg.list_entries(first.run_id)
        assert (b, "top_firms", "big_contract", reg.record_key("B1")) in entries
        # through a only: R2 is held while disputed
        assert [e for e in entries if e[0] == p] == [(p, "officers", "of_top_firm", reg.record_key("R1"))]
        snap = Snapshot.load(reg.store, "test", explain=True)
        reg.send(
            "tax_bureau", [tax(f"U{i}{j}", f, "2025-07-01", amount=10) for i, f in enumerate((x, y)) for j in range(2)]
        )
        out = rescore(reg.store, snap.loaded, snap.as_of, [x, y], snap.histogram, snap.old_scores([x, y]))
        _falls(reg, snap, loaded, out, p)
    finally:
        reg.store.close()


def test_a_role_withdrawn_after_the_run_is_judged_as_the_run_read_it(tmp_path: Path) -> None:
    """The director's only role is withdrawn after the run, and the snapshot is loaded after that: its entry is the
    run's, through the role as the run read it. Other firms overtake his firm live: until a pass rescores him, his
    entry is judged on that role, and goes with the firm's, as a full run at the same watermark says (which no
    longer reads the role at all). Read as it stands at load instead, the role held nothing up and nothing took the
    entry away."""
    reg = open_registry(tmp_path)
    try:
        a, x, y, z = (org(f"00000000{i}") for i in range(1, 5))
        p = person(11)
        reg.register({a: None, x: None, y: None, z: None, p: "finance"})
        held = role("R1", p, a, "director", days_before(500))
        reg.send("registration_authority", [held])
        loaded = make_policy(amount_rule("ten", 10, 10), lists=_both_lists("current"), services=LOUNGE)
        reg.send("tax_bureau", [tax("T1", a, "2025-06-01", amount=10)])
        first = reg.score(loaded)
        assert (p, "officers") in {(s, lst) for s, lst, _c, _k in reg.list_entries(first.run_id)}
        reg.send("registration_authority", [{**held, "withdrawn": "true"}])
        reg.send(
            "tax_bureau", [tax(f"U{i}{j}", f, "2025-07-01", amount=10) for i, f in enumerate((x, y)) for j in range(2)]
        )
        snap = Snapshot.load(reg.store, "test", explain=True)
        assert snap.watermark == first.watermark
        out = rescore(reg.store, snap.loaded, snap.as_of, [x, y], snap.histogram, snap.old_scores([x, y]))
        _falls(reg, snap, loaded, out, p)
    finally:
        reg.store.close()


def test_a_director_appointed_after_his_firms_record_stays_off_a_held_at_cause_list_when_scores_move(
    tmp_path: Path,
) -> None:
    """Firm b is on `top_firms` by a big contract 400 days back; p became its director 200 days back. Following
    whoever held the role at the cause, a full run does not list p, before or after a live pass rescoring an unrelated
    q: nor do decisions from the patched snapshot (b meets the list by its record, dated the record's date, not on
    its percentile, dated the run's date)."""
    reg = open_registry(tmp_path)
    try:
        a, b, x, y = (org(f"00000000{i}") for i in range(1, 5))
        p, q = person(11), person(12)
        reg.register({a: None, b: None, x: None, y: None, p: "finance", q: "finance"})
        reg.send("registration_authority", [role("R1", p, b, "director", days_before(200))])
        loaded = make_policy(amount_rule("ten", 10, 10), lists=_both_lists("held_at_cause"), services=LOUNGE)
        reg.send("tax_bureau", [tax("B1", b, days_before(400), amount=999)])
        reg.send("tax_bureau", [tax(f"T{i}", f, "2025-06-01", amount=10) for i, f in enumerate((a, x, y))])
        first = reg.score(loaded)
        listed = {(s, lst, c) for s, lst, c, _k in reg.list_entries(first.run_id)}
        assert (b, "top_firms", "big_contract") in listed and (b, "top_firms", "upper") not in listed
        assert not any(s == p for s, _lst, _c in listed)
        snap = Snapshot.load(reg.store, "test", explain=True)
        ask = {"purpose": "a lounge", "requester": "tests"}
        assert snap.decision(p, "lounge", **ask).lists == []
        reg.send("tax_bureau", [tax("Q1", q, "2025-07-01", amount=10)])
        out = rescore(reg.store, snap.loaded, snap.as_of, [q], snap.histogram, snap.old_scores([q]))
        assert out is not None
        snap.patch(out[1], out[0], out[2])
        assert snap.row_of(p) not in snap.live and snap.row_of(b) not in snap.live
        full = score_on_its_day(reg.store, loaded, AS_OF)
        assert full.watermark == out[0]
        assert not any(s == p for s, _lst, _c, _k in reg.list_entries(full.run_id))
        decision = snap.decision(p, "lounge", **ask)
        assert (decision.granted, decision.lists) == (False, [])
        assert snap.decide(p, "lounge", **ask).granted is False
        view = snap.live_view(p)
        assert view is not None and view.result["lists"] == []
    finally:
        reg.store.close()


# -- an officer the run did not list, of a firm that meets the criterion now because other firms fell --------------
def _rising_firm(kind: str) -> str:
    grace = "\n  grace_days: 30" if kind == "black" else ""
    return f"""\
- id: top_firms
  kind: red
  name: {{zh: 前列企业, en: top firms}}
  criteria:
    - id: upper_quarter
      when: "kind == 'org' and percentile >= 75"
      reason: {{code: TOP_FIRM, zh: 企业前列, en: a firm in the upper quarter}}
- id: officers
  kind: {kind}{grace}
  name: {{zh: 前列企业高管, en: officers of top firms}}
  criteria:
    - id: of_top_firm
      via: {{list: top_firms, roles: [director]}}
      reason: {{code: TOP_OFFICER, zh: 前列企业董事, en: a director of a top firm}}
"""


NOT_OFFICER = """\
- id: lounge
  name: {zh: 贵宾室, en: lounge}
  grant_if: "not officers"
  refusal: {zh: 不予贵宾室, en: no lounge}
"""


def _falling_rivals(tmp_path: Path, kind: str) -> tuple[Any, Snapshot, Any, str, Any]:
    """Firm a 100 (the 25th percentile of four firms), b, c, d 110: a's director p is on no list at the run. Then b
    and c lose 20 points live (90): a's 100 is at the 75th percentile, and a is on `top_firms` in a full run at the
    same watermark, p on `officers` through it. Returns the registry, the patched snapshot, the policy, p and the
    full run."""
    reg = open_registry(tmp_path)
    a, b, c, d = (org(f"00000000{i}") for i in range(1, 5))
    p, q = person(11), person(12)
    reg.register({a: None, b: None, c: None, d: None, p: "finance", q: "finance"})
    reg.send(
        "registration_authority",
        [role("R1", p, a, "director", days_before(500)), role("R2", q, d, "director", days_before(500))],
    )
    rules = amount_rule("ten", 10, 10) + amount_rule("minus", -20, 20)
    services = LOUNGE if kind == "red" else NOT_OFFICER
    loaded = make_policy(rules, lists=_rising_firm(kind), services=services)
    reg.send("tax_bureau", [tax(f"T{i}", f, "2025-06-01", amount=10) for i, f in enumerate((b, c, d))])
    first = reg.score(loaded)
    listed = {(s, lst) for s, lst, _c, _k in reg.list_entries(first.run_id)}
    assert (a, "top_firms") not in listed and (p, "officers") not in listed and (q, "officers") in listed
    snap = Snapshot.load(reg.store, "test", explain=True)
    reg.send("tax_bureau", [tax(f"U{i}", f, "2025-07-01", amount=20) for i, f in enumerate((b, c))])
    out = rescore(reg.store, snap.loaded, snap.as_of, [b, c], snap.histogram, snap.old_scores([b, c]))
    assert out is not None
    snap.patch(out[1], out[0], out[2])
    assert snap.row_of(p) not in snap.live and snap.row_of(a) not in snap.live  # no pass rescored them
    full = score_on_its_day(reg.store, loaded, AS_OF)
    assert full.watermark == out[0]
    on = {(s, lst) for s, lst, _c, _k in reg.list_entries(full.run_id)}
    assert (a, "top_firms") in on and (p, "officers") in on
    return reg, snap, loaded, p, full


def test_an_officer_of_a_firm_that_rises_because_others_fell_joins_a_red_list_at_once(tmp_path: Path) -> None:
    """A red list is joined at once in a full run (no notice): decisions list the officer at once too."""
    reg, snap, _loaded, p, _full = _falling_rivals(tmp_path, "red")
    try:
        ask = {"purpose": "a lounge", "requester": "tests"}
        granted = snap.decision(p, "lounge", **ask)
        assert (granted.granted, granted.lists) == (True, ["officers"])
        assert snap.decide(p, "lounge", **ask).granted
        assert snap.decide_many([p], "lounge", "a lounge", requester="tests").tolist() == [True]
        view = snap.live_view(p)
        assert view is not None and view.result["lists"] == ["officers"]
        assert [e[:2] for e in view.entries] == [("officers", "of_top_firm")]
    finally:
        reg.store.close()


def test_an_officer_of_a_firm_that_rises_because_others_fell_waits_for_notice_on_a_blacklist(tmp_path: Path) -> None:
    """A blacklisting met only now is in its notice period after a full run: decisions from that run do not count
    it, and neither do live decisions before it. The same decision either way: nothing to add at once."""
    reg, snap, _loaded, p, full = _falling_rivals(tmp_path, "black")
    try:
        listing = reg.store.rows(
            "SELECT status FROM listings WHERE subject_id = ? AND list_id = 'officers' AND notice_run_id = ?",
            [p, full.run_id],
        )
        assert listing == [{"status": "pending"}]
        by_run = decide(reg.store, p, "lounge", "a lounge", today=AS_OF)
        assert (by_run.granted, by_run.run_id) == (True, full.run_id)
        ask = {"purpose": "a lounge", "requester": "tests"}
        live = snap.decision(p, "lounge", **ask)
        assert (live.granted, live.lists) == (by_run.granted, by_run.lists) == (True, [])
        assert snap.decide(p, "lounge", **ask).granted
    finally:
        reg.store.close()


def test_the_officers_who_may_join_a_red_list_are_held_as_rows_of_the_run(tmp_path: Path) -> None:
    """The persons a full run would list through a firm that rises are held as (person row, firm row) arrays, sorted
    by person: p, director of a on the run's date, not listed by the run; not q, whom the run listed through d."""
    reg, snap, _loaded, p, _full = _falling_rivals(tmp_path, "red")
    try:
        persons, firms = snap._via_joins[("officers", "of_top_firm")]
        assert persons.dtype == firms.dtype == np.int64
        assert (persons.tolist(), firms.tolist()) == ([snap.row_of(p)], [snap.row_of(org("000000001"))])
        assert list(snap._via_joins) == [("officers", "of_top_firm")]
    finally:
        reg.store.close()
