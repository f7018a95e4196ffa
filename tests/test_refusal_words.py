"""What a refused decision says about the part of a service condition a subject does not meet: the gap in points
only for points (the score, the total, a dimension), worked out by hand from a small policy; in Chinese, the condition
and the fact in words, as the policy's pages say them (it said "要求 score > 100；当前 score 为 99")."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from scoring_helpers import AS_OF, Registry, amount_rule, days_before, make_policy, open_registry, org, person, tax
from socialcredit.policy.words import condition_words
from socialcredit.registry.decisions.decide import decide

# Born 2010-06-01: 15 on 2026-01-01.
MINOR = person(1, birth=dt.date(2010, 6, 1))

SERVICES = """\
- id: above_zero
  name: {zh: 甲, en: above zero}
  grant_if: "money > 0"
  refusal: {zh: 不予办理。, en: Refused.}
- id: money_at_least_one
  name: {zh: 乙, en: at least one}
  grant_if: "money >= 1"
  refusal: {zh: 不予办理。, en: Refused.}
- id: score_above
  name: {zh: 丙, en: score above}
  grant_if: "score > 100"
  refusal: {zh: 不予办理。, en: Refused.}
- id: score_above_half
  name: {zh: 戊, en: score above a half}
  grant_if: "score > 100.5"
  refusal: {zh: 不予办理。, en: Refused.}
- id: adults
  name: {zh: 丁, en: adults}
  grant_if: "age >= 18"
  refusal: {zh: 不予办理。, en: Refused.}
- id: money_above_minus_one
  name: {zh: 庚, en: above minus one}
  grant_if: "money >= -1"
  refusal: {zh: 不予办理。, en: Refused.}
- id: score_on_the_right
  name: {zh: 辛, en: score on the right}
  grant_if: "150 <= score"
  refusal: {zh: 不予办理。, en: Refused.}
- id: orgs
  name: {zh: 壬, en: organisations}
  grant_if: "kind in ['org']"
  refusal: {zh: 不予办理。, en: Refused.}
- id: no_people
  name: {zh: 癸, en: no people}
  grant_if: "kind not in ['person']"
  refusal: {zh: 不予办理。, en: Refused.}
- id: no_age
  name: {zh: 子, en: no age}
  grant_if: "age is null"
  refusal: {zh: 不予办理。, en: Refused.}
- id: not_above_fifty
  name: {zh: 丑, en: not above fifty}
  grant_if: "not (score > 50)"
  refusal: {zh: 不予办理。, en: Refused.}
- id: a_sum
  name: {zh: 寅, en: a sum}
  grant_if: "money + civic > 1"
  refusal: {zh: 不予办理。, en: Refused.}
- id: two_facts
  name: {zh: 卯, en: two facts}
  grant_if: "money > civic"
  refusal: {zh: 不予办理。, en: Refused.}
- id: either
  name: {zh: 辰, en: either}
  grant_if: "score > 200 or age >= 18"
  refusal: {zh: 不予办理。, en: Refused.}
"""


@pytest.fixture
def reg(tmp_path: Path) -> Iterator[Registry]:
    registry = open_registry(tmp_path)
    registry.register({MINOR: None})
    registry.send(
        "tax_bureau", [tax("T1", MINOR, days_before(3), amount=1), tax("T2", MINOR, days_before(3), amount=2)]
    )
    # money: -4.948; civic: +3.448; total 100 - 4.948 + 3.448 = 98.5, score 99
    rules = amount_rule("neg", -4.948, 1, dimension="money") + amount_rule("pos", 3.448, 2, dimension="civic")
    registry.score(make_policy(rules, services=SERVICES))
    yield registry
    registry.store.close()


@pytest.mark.parametrize(
    ("service", "en", "zh"),
    [
        pytest.param(
            "above_zero",
            # money > 0 from -4.948: 4.948 points bring it to 0, which is not above 0 (it was "5.948 points short")
            "needs money > 0; this subject's money is −4.948 (more than 4.948 points short)",
            "要求经济得分高于0；当前经济得分为−4.948（差距大于4.948分）",
            id="dimension-above",
        ),
        pytest.param(
            "money_at_least_one",
            "needs money >= 1; this subject's money is −4.948 (5.948 points short)",  # 1 - (-4.948)
            "要求经济得分不低于1；当前经济得分为−4.948（差5.948分）",
            id="dimension-at-least",
        ),
        pytest.param(
            "score_above",
            "needs score > 100; this subject's score is 99 (2 points short)",  # a whole score: 101 - 99
            "要求信用分高于100；当前信用分为99（差2分）",
            id="score-above",
        ),
        pytest.param(
            "score_above_half",
            "needs score > 100.5; this subject's score is 99 (2 points short)",  # a whole score: 101 - 99
            "要求信用分高于100.5；当前信用分为99（差2分）",
            id="score-above-a-half",
        ),
        pytest.param(
            "adults",
            "needs age >= 18; this subject's age is 15",  # years, not points (it was "(3 points short)")
            "要求年龄不低于18；当前年龄为15",
            id="age-is-no-points",
        ),
        # a negative number (the parser reads a minus before 1), a number on the left and a list were all "条件不满足"
        pytest.param(
            "money_above_minus_one",
            "needs money >= −1; this subject's money is −4.948 (3.948 points short)",  # -1 - (-4.948)
            "要求经济得分不低于−1；当前经济得分为−4.948（差3.948分）",
            id="negative-threshold",
        ),
        pytest.param(
            "score_on_the_right",
            "needs score >= 150; this subject's score is 99 (51 points short)",
            "要求信用分不低于150；当前信用分为99（差51分）",
            id="number-on-the-left",
        ),
        pytest.param(
            "orgs",
            "needs kind in [org]; this subject's kind is a person",
            "要求主体类别为机构；当前主体类别为个人",  # the kind in words, not "person"
            id="in-a-list",
        ),
        pytest.param(
            "no_people",
            "needs kind not in [person]; this subject's kind is a person",
            "要求主体类别不为个人；当前主体类别为个人",
            id="not-in-a-list",
        ),
        # these were "condition not met" / "条件不满足" until 2026-12-06
        pytest.param(
            "no_age",
            "needs that the age is unknown (an organisation has none)",
            "要求年龄未知（单位没有年龄）",
            id="is-null",
        ),
        pytest.param(
            "not_above_fifty", "needs that not (the score is more than 50)", "要求并非（信用分高于50）", id="not"
        ),
        pytest.param(
            "a_sum",
            "needs that the points for money plus the points for civic is more than 1",
            "要求经济得分加公益得分高于1",
            id="arithmetic",
        ),
        pytest.param(
            "two_facts",
            "needs that the points for money is more than the points for civic",
            "要求经济得分高于公益得分",
            id="two-facts",
        ),
        pytest.param(
            "either",
            "needs that the score is more than 200 or age is at least 18",
            "要求信用分高于200或年龄不低于18",
            id="or",
        ),
    ],
)
def test_a_refusal_tells_the_gap_in_points_only_for_points(reg: Registry, service: str, en: str, zh: str) -> None:
    for lang, text in (("en", en), ("zh", zh)):
        decision = decide(reg.store, MINOR, service, "test", lang=lang, today=AS_OF)
        assert decision.granted is False
        assert [r.text for r in decision.reasons if r.source == "condition"] == [text]


def test_a_refusal_tells_the_rule_that_lowered_the_score_beyond_the_four_largest(tmp_path: Path) -> None:
    """Four rules give 10 points each and one takes 3: the subject's four principal reasons are the four rewards,
    and a refusal, which tells "the rules that lowered the score most" (docs/policy-language.md, section 8), told
    no rule at all: it read only the four principal reasons. A grant still tells the four largest."""
    from socialcredit.registry.decisions.live import rescore
    from socialcredit.registry.decisions.snapshot import Snapshot

    reg = open_registry(tmp_path)
    subject = person(3)
    reg.register({subject: None})
    reg.send("tax_bureau", [tax(f"T{i}", subject, days_before(3), amount=i) for i in range(1, 6)])
    rules = "".join(amount_rule(f"plus{i}", 10, i) for i in range(1, 5)) + amount_rule("minus", -3, 5)
    services = """\
- id: gold_only
  name: {zh: 金, en: gold only}
  grant_if: "tier >= 'gold'"
  refusal: {zh: 不予办理。, en: Refused.}
- id: silver_up
  name: {zh: 银, en: silver or better}
  grant_if: "tier >= 'silver'"
  refusal: {zh: 不予办理。, en: Refused.}
"""
    run = reg.score(make_policy(rules, services=services)).run_id
    assert reg.results(run)[subject]["score"] == 137  # 100 + 4 * 10 - 3: silver (110), not gold (150)
    assert [rule for _, rule, _ in reg.reasons(run, subject)] == ["plus1", "plus2", "plus3", "plus4"]

    snapshot = Snapshot.load(reg.store, "test", explain=True)
    refused = [
        decide(reg.store, subject, "gold_only", "test", today=AS_OF),
        snapshot.decision(subject, "gold_only", "test", requester="bank", today=AS_OF),
    ]
    for decision in refused:
        assert decision.granted is False
        assert [(r.code, r.points) for r in decision.reasons] == [("CONDITION_TIER", None), ("MINUS", -3.0)]
    granted = [
        decide(reg.store, subject, "silver_up", "test", today=AS_OF),
        snapshot.decision(subject, "silver_up", "test", requester="bank", today=AS_OF),
    ]
    for decision in granted:
        assert decision.granted is True
        assert [(r.code, r.points) for r in decision.reasons] == [(f"PLUS{i}", 10.0) for i in range(1, 5)]

    # A live pass: a second record for the minus rule (-6 in all, score 134); the subject's row is rescored live.
    reg.send("tax_bureau", [tax("T6", subject, days_before(2), amount=5)])
    out = rescore(
        reg.store, snapshot.loaded, snapshot.as_of, [subject], snapshot.histogram, snapshot.old_scores([subject])
    )
    assert out is not None
    watermark, rows, histogram = out
    assert snapshot.patch(rows, watermark, histogram) == 1
    live = snapshot.decision(subject, "gold_only", "test", requester="bank", today=AS_OF)
    assert (live.score, [(r.code, r.points) for r in live.reasons]) == (
        134,
        [("CONDITION_TIER", None), ("MINUS", -6.0)],
    )
    reg.store.close()


def test_a_fact_the_subject_does_not_have_is_told_as_unknown(tmp_path: Path) -> None:
    """An organisation has no age: a refusal on `age >= 18` said "this subject's age is None" (and 为 None)."""
    from scoring_helpers import org

    reg = open_registry(tmp_path)
    company = org("000000001")
    reg.register({company: None})
    reg.score(make_policy(amount_rule("ten", 10, 10), services=SERVICES))
    said = {lang: decide(reg.store, company, "adults", "test", lang=lang, today=AS_OF) for lang in ("en", "zh")}
    assert [r.text for r in said["en"].reasons] == ["needs age >= 18; this subject's age is unknown"]
    assert [r.text for r in said["zh"].reasons] == ["要求年龄不低于18；当前年龄为未知"]
    reg.store.close()


def test_a_refusals_gap_and_its_action_name_the_same_number_of_points(tmp_path: Path) -> None:
    """Score 101 against `score > 101.5`: 102 is the least whole score that meets it, one point more; the reason and
    the action say so alike, in both languages (the action said 1.5 points, and "1 points" read as a plural)."""
    reg = open_registry(tmp_path)
    try:
        a = person(1)
        reg.register({a: None})
        reg.send("tax_bureau", [tax("T1", a, days_before(3), amount=1)])
        svc = (
            '- id: s\n  name: {zh: 甲, en: s}\n  grant_if: "score > 101.5"\n  refusal: {zh: 不予办理。, en: Refused.}\n'
        )
        reg.score(make_policy(amount_rule("pos", 1, 1), services=svc))
        en = decide(reg.store, a, "s", "test", policy_id="test", lang="en", today=AS_OF)
        zh = decide(reg.store, a, "s", "test", policy_id="test", lang="zh", today=AS_OF)
        assert en.score == 101
        assert en.reasons[0].text == "needs score > 101.5; this subject's score is 101 (1 point short)"
        assert en.actions == ["raise the score by 1 point"]
        assert zh.reasons[0].text == "要求信用分高于101.5；当前信用分为101（差1分）"
        assert zh.actions == ["将分数提高 1 分"]
    finally:
        reg.store.close()


def test_a_refused_grade_is_told_in_the_grades_words(tmp_path: Path) -> None:
    """A Chinese refusal on the grade names the grade and the subject's grade in the policy's words ("要求 tier >=
    'silver'；当前 tier 为 bronze" named neither), as the policy's pages now do; the English one is unchanged."""
    tiers = (
        "- {id: gold, min: 150, name: {zh: 金, en: gold}}\n- {id: silver, min: 110, name: {zh: 银, en: silver}}\n"
        "- {id: bronze, min: 0, name: {zh: 铜, en: bronze}}\n"
    )
    services = (
        "- id: silver_or_better\n  name: {zh: 己, en: silver}\n  grant_if: \"tier >= 'silver'\"\n"
        "  refusal: {zh: 不予办理。, en: Refused.}\n"
    )
    reg = open_registry(tmp_path)
    try:
        reg.register({MINOR: None})
        policy = make_policy(amount_rule("ten", 10, 10), services=services, tiers=tiers)
        # the policy's pages named the grade by its id too ("信用等级silver及以上")
        assert condition_words(policy, "service:silver_or_better", "zh") == "信用等级银及以上"
        reg.score(policy)  # score 100: bronze
        said = {
            lang: decide(reg.store, MINOR, "silver_or_better", "test", lang=lang, today=AS_OF) for lang in ("en", "zh")
        }
        assert [r.text for r in said["en"].reasons if r.source == "condition"] == [
            "needs tier >= silver; this subject's tier is bronze"
        ]
        zh = [r.text for r in said["zh"].reasons if r.source == "condition"]
        assert zh == ["要求信用等级银及以上；当前信用等级为铜"]
    finally:
        reg.store.close()


def test_a_refused_subject_is_told_its_own_value_in_words(tmp_path: Path) -> None:
    """The subject's kind, its grade in a list of grades and a yes or no fact are said as the condition says its
    values: it read "要求主体类别为个人；当前主体类别为org" and "要求不在前列上；当前前列为True"; a yes or no fact
    needs no second half. The policy's pages name grades in a list by their names too ("信用等级为gold或silver")."""
    tiers = (
        "- {id: gold, min: 150, name: {zh: 金, en: gold}}\n- {id: silver, min: 110, name: {zh: 银, en: silver}}\n"
        "- {id: bronze, min: 0, name: {zh: 铜, en: bronze}}\n"
    )
    lists = (
        "- id: top\n  kind: red\n  name: {zh: 前列, en: top}\n  criteria:\n    - id: upper\n"
        '      when: "score >= 0"\n      reason: {code: TOP, zh: 前列, en: top}\n'
    )
    conditions = {"people": "kind == 'person'", "off_top": "top == false", "gold_silver": "tier in ['gold', 'silver']"}
    services = "".join(
        f'- id: {k}\n  name: {{zh: 甲, en: x}}\n  grant_if: "{v}"\n  refusal: {{zh: 不予办理。, en: Refused.}}\n'
        for k, v in conditions.items()
    )
    policy = make_policy(amount_rule("ten", 10, 10), lists=lists, services=services, tiers=tiers)
    assert condition_words(policy, "service:gold_silver", "zh") == "信用等级为金或银"
    assert condition_words(policy, "service:gold_silver", "en") == "the grade is gold or silver"
    reg = open_registry(tmp_path)
    try:
        company = org("000000001")
        reg.register({company: None})
        reg.score(policy)  # score 100: bronze, on the list "top"
        said = {
            (service, lang): [
                r.text
                for r in decide(reg.store, company, service, "test", lang=lang, today=AS_OF).reasons
                if r.source == "condition"
            ]
            for service in conditions
            for lang in ("en", "zh")
        }
        assert said == {
            ("people", "en"): ["needs kind == person; this subject's kind is an organisation"],
            ("people", "zh"): ["要求主体类别为个人；当前主体类别为机构"],
            ("off_top", "en"): ["needs top == false"],
            ("off_top", "zh"): ["要求不在前列上"],
            ("gold_silver", "en"): ["needs tier in [gold, silver]; this subject's tier is bronze"],
            ("gold_silver", "zh"): ["要求信用等级为金或银；当前信用等级为铜"],
        }
    finally:
        reg.store.close()
