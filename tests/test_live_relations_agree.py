"""Live decisions about persons listed through an organisation agree with a full run made afterwards.

Each test makes a store, runs, commits records and patches the snapshot as the service's live thread does (the
subjects ``changes`` finds, rescored and patched), takes the live decisions, then makes a full run at the same
watermark and asserts that every subject's decision from the run (granted or refused, lists, reasons, score, tier)
is the one the patched snapshot gave. The lists are red (no notice and grace), so both take effect at once.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from due_world import score_on_its_day
from relation_world import role
from scoring_helpers import AS_OF, Registry, amount_rule, days_before, make_policy, open_registry, org, person, tax
from socialcredit.policy import LoadedPolicy
from socialcredit.registry.decisions.decide import decide
from socialcredit.registry.decisions.live import LivePasses, changes, rescore
from socialcredit.registry.decisions.snapshot import Snapshot

LOUNGE = """\
- id: lounge
  name: {zh: 贵宾室, en: lounge}
  grant_if: "officers"
  refusal: {zh: 不予贵宾室, en: no lounge}
"""

# top_firms: a firm in the upper quarter of firms; officers: a director of such a firm (on the run's date)
ON_PERCENTILE = """\
- id: top_firms
  kind: red
  name: {zh: 前列企业, en: top firms}
  criteria:
    - id: upper_quarter
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

# top_firms by a big contract or on percentile; officers: whoever was a director when the cause arose
AT_CAUSE = """\
- id: top_firms
  kind: red
  name: {zh: 前列企业, en: top firms}
  criteria:
    - id: big_contract
      record: {record_type: tax_payment, when: "amount == 999"}
      reason: {code: BIG, zh: 大额合同, en: a big contract}
    - id: upper
      when: "kind == 'org' and percentile >= 80"
      reason: {code: TOP_FIRM, zh: 企业前列, en: a firm in the upper fifth}
- id: officers
  kind: red
  name: {zh: 前列企业高管, en: officers of top firms}
  criteria:
    - id: of_top_firm
      via: {list: top_firms, roles: [director], when: held_at_cause}
      reason: {code: TOP_OFFICER, zh: 前列企业董事, en: a director of a top firm}
"""

ASK = {"purpose": "a lounge", "requester": "tests"}


def _live_pass(reg: Registry, snap: Snapshot) -> list[str]:
    """What the live thread does after a commit: rescore the subjects the changes since the snapshot's watermark
    touch (with those one relation away) and patch them in. Returns the subjects rescored."""
    seq = int(reg.store.one("SELECT value FROM counters WHERE name = 'seq'"))
    changed = changes(reg.store, snap.watermark, seq)
    out = rescore(
        reg.store, snap.loaded, snap.as_of, changed.subjects, snap.histogram, snap.old_scores(changed.subjects)
    )
    assert out is not None
    snap.patch(out[1], out[0], out[2])
    return changed.subjects


def _agree(reg: Registry, snap: Snapshot, loaded: LoadedPolicy, subjects: list[str]) -> dict[str, Any]:
    """Every subject's live decision, then a full run at the snapshot's watermark and its decisions: the same.
    Returns the live decisions by subject."""
    live = {sid: snap.decision(sid, "lounge", **ASK) for sid in subjects}
    quick = {sid: snap.decide(sid, "lounge", **ASK).granted for sid in subjects}
    full = score_on_its_day(reg.store, loaded, AS_OF)
    assert full.watermark == snap.watermark
    for sid in subjects:
        by_run = decide(reg.store, sid, "lounge", "a lounge", today=AS_OF)
        assert by_run.run_id == full.run_id
        seen = (live[sid].granted, live[sid].lists, live[sid].reasons, live[sid].score, live[sid].tier)
        assert seen == (by_run.granted, by_run.lists, by_run.reasons, by_run.score, by_run.tier), sid
        assert quick[sid] == by_run.granted, sid
        view = snap.live_view(sid)
        assert view is not None and view.result["lists"] == by_run.lists, sid
    return live


def _firms_and_directors(reg: Registry) -> tuple[list[str], str, str]:
    """Firms a, b, c, d; p a director of a, q of d (since 500 days)."""
    firms = [org(f"00000000{i}") for i in range(1, 5)]
    p, q = person(11), person(12)
    reg.register({**dict.fromkeys(firms), p: "finance", q: "finance"})
    reg.send(
        "registration_authority",
        [role("R1", p, firms[0], "director", days_before(500)), role("R2", q, firms[3], "director", days_before(500))],
    )
    return firms, p, q


def test_a_director_rescored_live_joins_a_red_list_when_his_firm_later_rises_because_others_fell(
    tmp_path: Path,
) -> None:
    """a 100, b, c, d 110 at the run: a at the 25th percentile of firms, p on no list. p pays a tax (a live pass
    rescores him, a beside him: still the 25th). Then b and c lose 20 points (90): a's 100 is at the 75th
    percentile, a on `top_firms` and p on `officers` through it in a full run; and in the live decision."""
    reg = open_registry(tmp_path)
    try:
        (a, b, c, d), p, q = _firms_and_directors(reg)
        loaded = make_policy(
            amount_rule("ten", 10, 10) + amount_rule("minus", -20, 20), lists=ON_PERCENTILE, services=LOUNGE
        )
        reg.send("tax_bureau", [tax(f"T{i}", f, "2025-06-01", amount=10) for i, f in enumerate((b, c, d))])
        reg.score(loaded)
        snap = Snapshot.load(reg.store, "test", explain=True)
        assert not snap.decision(p, "lounge", **ASK).granted
        reg.send("tax_bureau", [tax("P1", p, "2025-07-01", amount=10)])
        assert p in _live_pass(reg, snap) and snap.row_of(p) in snap.live
        assert snap.decision(p, "lounge", **ASK).lists == []
        reg.send("tax_bureau", [tax(f"U{i}", f, "2025-07-01", amount=20) for i, f in enumerate((b, c))])
        assert p not in _live_pass(reg, snap)
        live = _agree(reg, snap, loaded, [a, b, c, d, p, q])
        assert (live[p].granted, live[p].lists) == (True, ["officers"])
    finally:
        reg.store.close()


def test_a_director_rescored_live_leaves_a_red_list_when_his_firm_later_falls_because_others_rose(
    tmp_path: Path,
) -> None:
    """a 110, b, c, d 100 at the run: a alone at the 100th percentile, p on `officers` through it. p pays a tax (a
    live pass rescores him: still on it). Then b and c gain 20 points (120): a's 110 is at the 50th percentile, off
    `top_firms`, and p off `officers`, in a full run; and in the live decision."""
    reg = open_registry(tmp_path)
    try:
        (a, b, c, d), p, q = _firms_and_directors(reg)
        loaded = make_policy(amount_rule("ten", 10, 10), lists=ON_PERCENTILE, services=LOUNGE)
        reg.send("tax_bureau", [tax("T1", a, "2025-06-01", amount=10)])
        reg.score(loaded)
        snap = Snapshot.load(reg.store, "test", explain=True)
        assert snap.decision(p, "lounge", **ASK).granted
        reg.send("tax_bureau", [tax("P1", p, "2025-07-01", amount=10)])
        assert p in _live_pass(reg, snap) and snap.row_of(p) in snap.live
        assert snap.decision(p, "lounge", **ASK).lists == ["officers"]
        reg.send(
            "tax_bureau",
            [tax(f"U{i}{j}", f, "2025-07-01", amount=10) for i, f in enumerate((b, c)) for j in range(2)],
        )
        assert p not in _live_pass(reg, snap)
        live = _agree(reg, snap, loaded, [a, b, c, d, p, q])
        assert (live[p].granted, live[p].lists) == (False, [])
    finally:
        reg.store.close()


def test_a_former_director_joins_a_held_at_cause_list_when_his_firm_gains_a_record_dated_while_he_held_the_role(
    tmp_path: Path,
) -> None:
    """p was a director of a from 500 to 10 days before the run's date. a gains a big contract dated 100 days back
    (while p held the role): a full run lists a on `top_firms` by it and p on `officers` (he held the role at the
    cause); so does the live decision."""
    reg = open_registry(tmp_path)
    try:
        a, b, x, y = (org(f"00000000{i}") for i in range(1, 5))
        p = person(11)
        reg.register({a: None, b: None, x: None, y: None, p: "finance"})
        reg.send("registration_authority", [role("R1", p, a, "director", days_before(500), days_before(10))])
        loaded = make_policy(amount_rule("ten", 10, 10), lists=AT_CAUSE, services=LOUNGE)
        # x 110, the others 100: x alone in the upper fifth
        reg.send("tax_bureau", [tax("T1", x, "2025-06-01", amount=10)])
        reg.score(loaded)
        snap = Snapshot.load(reg.store, "test", explain=True)
        assert snap.decision(p, "lounge", **ASK).lists == []
        reg.send("tax_bureau", [tax("B1", a, days_before(100), amount=999)])
        _live_pass(reg, snap)
        live = _agree(reg, snap, loaded, [a, b, x, y, p])
        assert (live[p].granted, live[p].lists) == (True, ["officers"])
    finally:
        reg.store.close()


def test_a_former_director_joins_a_held_at_cause_list_though_the_pass_rescored_his_firm_alone(
    tmp_path: Path,
) -> None:
    """The same, with a pass given the firm only (a caller that does not follow the relation, unlike ``changes``):
    the snapshot lists p, whom no pass rescored, from the date of the record that put a on `top_firms` and the
    role he held then (``Snapshot._cause_joins``). q, appointed director of a after that date, is not listed: a
    full run does not list him either."""
    reg = open_registry(tmp_path)
    try:
        a, b, x, y = (org(f"00000000{i}") for i in range(1, 5))
        p, q = person(11), person(12)
        reg.register({a: None, b: None, x: None, y: None, p: "finance", q: "finance"})
        reg.send(
            "registration_authority",
            [
                role("R1", p, a, "director", days_before(500), days_before(10)),
                role("R2", q, a, "director", days_before(50)),
            ],
        )
        loaded = make_policy(amount_rule("ten", 10, 10), lists=AT_CAUSE, services=LOUNGE)
        reg.send("tax_bureau", [tax("T1", x, "2025-06-01", amount=10)])
        reg.score(loaded)
        snap = Snapshot.load(reg.store, "test", explain=True)
        reg.send("tax_bureau", [tax("B1", a, days_before(100), amount=999)])
        out = rescore(reg.store, snap.loaded, snap.as_of, [a], snap.histogram, snap.old_scores([a]))
        assert out is not None
        snap.patch(out[1], out[0], out[2])
        assert snap.row_of(p) not in snap.live and snap.row_of(q) not in snap.live
        live = _agree(reg, snap, loaded, [a, b, x, y, p, q])
        assert (live[p].granted, live[p].lists) == (True, ["officers"])
        assert (live[q].granted, live[q].lists) == (False, [])
    finally:
        reg.store.close()


def test_a_former_director_rescored_live_joins_a_held_at_cause_list_when_his_firm_later_gains_a_record(
    tmp_path: Path,
) -> None:
    """p, a director of a from 500 to 10 days before the run's date, pays a tax: a live pass rescores him (on no
    list). Later a gains a big contract dated 100 days back, in a pass given the firm only: p joins `officers` at
    once, judged on the roles his own pass read, as a full run lists him."""
    reg = open_registry(tmp_path)
    try:
        a, b, x, y = (org(f"00000000{i}") for i in range(1, 5))
        p = person(11)
        reg.register({a: None, b: None, x: None, y: None, p: "finance"})
        reg.send("registration_authority", [role("R1", p, a, "director", days_before(500), days_before(10))])
        loaded = make_policy(amount_rule("ten", 10, 10), lists=AT_CAUSE, services=LOUNGE)
        reg.send("tax_bureau", [tax("T1", x, "2025-06-01", amount=10)])
        reg.score(loaded)
        snap = Snapshot.load(reg.store, "test", explain=True)
        reg.send("tax_bureau", [tax("P1", p, "2025-07-01", amount=10)])
        assert p in _live_pass(reg, snap) and snap.row_of(p) in snap.live
        assert snap.decision(p, "lounge", **ASK).lists == []
        reg.send("tax_bureau", [tax("B1", a, days_before(100), amount=999)])
        out = rescore(reg.store, snap.loaded, snap.as_of, [a], snap.histogram, snap.old_scores([a]))
        assert out is not None
        snap.patch(out[1], out[0], out[2])
        live = _agree(reg, snap, loaded, [a, b, x, y, p])
        assert (live[p].granted, live[p].lists) == (True, ["officers"])
    finally:
        reg.store.close()


def _firm_on_record_after_he_left(reg: Registry) -> tuple[list[str], str, LoadedPolicy]:
    """Firms a, b, c, x, y; p a director of a since 500 days, and of c from 500 to 400 days before the run's date.
    a 110, the others 100 (a alone in the upper fifth, p on `officers` through it); c on `top_firms` by a big
    contract dated 50 days back, when p no longer held the role: no entry of his through c."""
    firms = [org(f"00000000{i}") for i in range(1, 6)]
    a, _b, c, _x, _y = firms
    p = person(11)
    reg.register({**dict.fromkeys(firms), p: "finance"})
    reg.send(
        "registration_authority",
        [
            role("R1", p, a, "director", days_before(500)),
            role("R2", p, c, "director", days_before(500), days_before(400)),
        ],
    )
    loaded = make_policy(amount_rule("ten", 10, 10), lists=AT_CAUSE, services=LOUNGE)
    reg.send("tax_bureau", [tax("T1", a, "2025-06-01", amount=10), tax("C1", c, days_before(50), amount=999)])
    reg.score(loaded)
    return firms, p, loaded


def test_a_director_rescored_live_leaves_a_held_at_cause_list_though_a_former_firm_is_on_it_by_a_later_record(
    tmp_path: Path,
) -> None:
    """p pays a tax (a live pass rescores him: on `officers` through a). Then b, x and y gain 20 points (120): a's
    110 is no longer in the upper fifth and a full run lists p through no firm: c's contract is dated after he left
    c. The live decision drops him too: c does not hold his entry up (``LiveRow.anchors``)."""
    reg = open_registry(tmp_path)
    try:
        (a, b, c, x, y), p, loaded = _firm_on_record_after_he_left(reg)
        snap = Snapshot.load(reg.store, "test", explain=True)
        assert snap.decision(p, "lounge", **ASK).lists == ["officers"]
        reg.send("tax_bureau", [tax("P1", p, "2025-07-01", amount=10)])
        assert p in _live_pass(reg, snap) and snap.row_of(p) in snap.live
        assert snap.decision(p, "lounge", **ASK).lists == ["officers"]
        reg.send(
            "tax_bureau",
            [tax(f"U{i}{j}", f, "2025-07-01", amount=10) for i, f in enumerate((b, x, y)) for j in range(2)],
        )
        assert p not in _live_pass(reg, snap)
        live = _agree(reg, snap, loaded, [a, b, c, x, y, p])
        assert (live[p].granted, live[p].lists) == (False, [])
    finally:
        reg.store.close()


def test_a_director_the_run_listed_leaves_a_held_at_cause_list_though_a_former_firm_is_on_it_by_a_later_record(
    tmp_path: Path,
) -> None:
    """The same without p's pass: the snapshot holds his entry up by c only if he held the role in c on the date
    of the record that put c on the list (``Snapshot._load_vias``); he did not, and the live decision drops him as
    a full run does."""
    reg = open_registry(tmp_path)
    try:
        (a, b, c, x, y), p, loaded = _firm_on_record_after_he_left(reg)
        snap = Snapshot.load(reg.store, "test", explain=True)
        assert snap.decision(p, "lounge", **ASK).lists == ["officers"]
        reg.send(
            "tax_bureau",
            [tax(f"U{i}{j}", f, "2025-07-01", amount=10) for i, f in enumerate((b, x, y)) for j in range(2)],
        )
        assert p not in _live_pass(reg, snap)
        live = _agree(reg, snap, loaded, [a, b, c, x, y, p])
        assert (live[p].granted, live[p].lists) == (False, [])
    finally:
        reg.store.close()


def test_a_director_the_run_listed_stays_on_a_held_at_cause_list_by_a_record_dated_while_he_held_a_former_role(
    tmp_path: Path,
) -> None:
    """p on `officers` through a in the run (a alone in the upper fifth). c gains a big contract dated
    450 days back, while p was its director, in a pass given c only; then b, x and y gain 20 points and a leaves
    `top_firms`. A full run lists p on `officers` through c; so does the live decision: the snapshot's roles held at
    the cause cover the persons the run listed too (``Snapshot._cause_joins``)."""
    reg = open_registry(tmp_path)
    try:
        a, b, c, x, y = (org(f"00000000{i}") for i in range(1, 6))
        p = person(11)
        reg.register({a: None, b: None, c: None, x: None, y: None, p: "finance"})
        reg.send(
            "registration_authority",
            [
                role("R1", p, a, "director", days_before(500)),
                role("R2", p, c, "director", days_before(500), days_before(400)),
            ],
        )
        loaded = make_policy(amount_rule("ten", 10, 10), lists=AT_CAUSE, services=LOUNGE)
        reg.send("tax_bureau", [tax("T1", a, "2025-06-01", amount=10)])
        reg.score(loaded)
        snap = Snapshot.load(reg.store, "test", explain=True)
        assert snap.decision(p, "lounge", **ASK).lists == ["officers"]
        for firms, sent in (
            ([c], [tax("C2", c, days_before(450), amount=999)]),
            (
                [b, x, y],
                [tax(f"U{i}{j}", f, "2025-07-01", amount=10) for i, f in enumerate((b, x, y)) for j in range(2)],
            ),
        ):
            reg.send("tax_bureau", sent)
            out = rescore(reg.store, snap.loaded, snap.as_of, firms, snap.histogram, snap.old_scores(firms))
            assert out is not None
            snap.patch(out[1], out[0], out[2])
        assert snap.row_of(p) not in snap.live
        live = _agree(reg, snap, loaded, [a, b, c, x, y, p])
        assert (live[p].granted, live[p].lists) == (True, ["officers"])
    finally:
        reg.store.close()


def test_a_pass_on_the_kept_tables_reads_the_roles_and_causes_a_pass_planned_anew_reads(tmp_path: Path) -> None:
    """The live thread's passes run prepared on tables they keep (``LivePasses``): the roles, record causes and
    organisations holding an entry up they give the snapshot are those of a pass planned anew, and those of the
    records, by hand: only the roles a relation follows."""
    reg = open_registry(tmp_path)
    try:
        a, b, x, y = (org(f"00000000{i}") for i in range(1, 5))
        p = person(11)
        reg.register({a: None, b: None, x: None, y: None, p: "finance"})
        # a supervisor's role: no relation follows it, and no live row keeps it
        reg.send(
            "registration_authority",
            [
                role("R1", p, a, "director", days_before(500), days_before(10)),
                role("R2", p, b, "supervisor", days_before(300)),
            ],
        )
        loaded = make_policy(amount_rule("ten", 10, 10), lists=AT_CAUSE, services=LOUNGE)
        reg.send("tax_bureau", [tax("T1", x, "2025-06-01", amount=10)])
        reg.score(loaded)
        snap = Snapshot.load(reg.store, "test", explain=True)
        reg.send("tax_bureau", [tax("B1", a, days_before(100), amount=999)])
        subjects = [a, p]
        plain = rescore(reg.store, snap.loaded, snap.as_of, subjects, snap.histogram, snap.old_scores(subjects))
        passes = LivePasses(reg.store.reader())
        try:
            passes.ready(snap.loaded, snap.as_of, snap.histogram)
            with passes.reading() as reader:
                kept = rescore(
                    reader,
                    snap.loaded,
                    snap.as_of,
                    subjects,
                    snap.histogram,
                    snap.old_scores(subjects),
                    fold=False,
                    passes=passes,
                )
            assert passes.unchanged()
        finally:
            passes.close()
        assert plain is not None and kept is not None
        assert kept[1] == plain[1]
        day = dt.date.fromisoformat
        assert kept[1][p].roles == ((a, "director", day(days_before(500)), day(days_before(10))),)
        assert kept[1][p].causes == ()
        # a's contract is dated while p was its director: a holds his entry through it up
        assert kept[1][p].anchors == (("officers", "of_top_firm", a),)
        assert kept[1][a].roles == ()
        assert kept[1][a].causes == (("top_firms", "big_contract", day(days_before(100))),)
    finally:
        reg.store.close()
