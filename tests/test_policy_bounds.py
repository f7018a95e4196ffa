"""A policy's numbers that count points are bounded as a rule's points are, a refused number is said as the file
writes it, and a list criterion no score (rank, percentile) can meet is refused, at check and publish: the validator
(exact problems, English and Chinese), the installed console script in a subprocess (exit 2), the API (422). A
version a store already holds is read back as it was accepted: it loads, scores and decides."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from api_helpers import auth, serve
from cli_helpers import sc
from scoring_helpers import AS_OF, open_registry, person, policy_text, tax
from socialcredit.api.app import create_app
from socialcredit.errors import PolicyError
from socialcredit.policy import builtin_policy, expr, parse_policy, reach
from socialcredit.registry.access.parties import issue_key
from socialcredit.store import open_store

CLI = shutil.which("socialcredit", path=str(Path(sys.executable).parent)) or "socialcredit"
ORIGIN = "beijing.yaml"

CAP_EN = "a cap is counted in points, at most 100,000 as a rule's points are; {} is out of range"
CAP_ZH = "上限以分计，与规则的分数一样至多为 100,000；{} 超出范围"
DIM_EN = "a dimension's {} is counted in points, from -100,000 to 100,000 as a rule's points are; {} is out of range"
DIM_ZH = "维度的 {} 以分计，与规则的分数一样须在 -100,000 至 100,000 之间；{} 超出范围"


def beijing() -> str:
    return builtin_policy("beijing").text


def edited(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def at(text: str, needle: str) -> str:
    """``LINE:COLUMN`` of the only ``needle``, where a problem of the key it starts with is placed."""
    assert text.count(needle) == 1, needle
    i = text.index(needle)
    return f"{text.count(chr(10), 0, i) + 1}:{i - text.rfind(chr(10), 0, i)}"


def refused(text: str, origin: str = ORIGIN) -> tuple[list[str], list[str]]:
    with pytest.raises(PolicyError) as info:
        parse_policy(text, origin)
    return info.value.problems, info.value.problems_zh


# --- 1. a cap and a dimension's min and max are bounded as points are ----------------------------------------------


@pytest.mark.parametrize("cap", ["100001", "99999999999999999999999", "100_001", "1.0e+6", "100000.5"])
def test_a_cap_past_the_bound_of_points_is_refused_as_written(cap: str) -> None:
    text = edited(beijing(), "    cap: 6\n", f"    cap: {cap}\n")
    where = f"{ORIGIN}:{at(text, f'cap: {cap}')}: rule tax.paid: cap: "
    assert refused(text) == ([where + CAP_EN.format(cap)], [where + CAP_ZH.format(cap)])


@pytest.mark.parametrize(("low", "top"), [("-100_001", "1.0e+6"), ("-99999999999999999999999", "100000.000001")])
def test_a_dimension_limit_past_the_bound_of_points_is_refused_as_written(low: str, top: str) -> None:
    text = edited(beijing(), "min: -600, max: 60}", f"min: {low}, max: {top}}}")
    low_at, top_at = at(text, f"min: {low}"), at(text, f"max: {top}")
    en = [
        f"{ORIGIN}:{low_at}: dimension financial: min: " + DIM_EN.format("min", low),
        f"{ORIGIN}:{top_at}: dimension financial: max: " + DIM_EN.format("max", top),
    ]
    zh = [
        f"{ORIGIN}:{low_at}: dimension financial: min: " + DIM_ZH.format("min", low),
        f"{ORIGIN}:{top_at}: dimension financial: max: " + DIM_ZH.format("max", top),
    ]
    assert refused(text) == (en, zh)


def test_a_cap_and_dimension_limits_at_the_bound_are_taken() -> None:
    text = edited(beijing(), "    cap: 6\n", "    cap: 100000\n")
    text = edited(text, "min: -600, max: 60}", "min: -100000, max: 100_000.0}")
    loaded = parse_policy(text, ORIGIN)
    assert loaded.policy.rule("tax.paid").cap == 100_000
    assert (loaded.policy.dimensions[0].min, loaded.policy.dimensions[0].max) == (-100_000, 100_000)


# --- 2. a number is said as the file writes it ---------------------------------------------------------------------


def test_numbers_compared_are_said_as_written() -> None:
    # Python printed 61.0 and 60 (and 1500, 0, 1300): the file says 61.0, 6_0, 1_500, 0x0, 1_300
    text = edited(beijing(), "min: -100, max: 60}", "min: 61.0, max: 6_0}")
    text = edited(text, "scale: {base: 1000, min: 0, max: 1300}", "scale: {base: 1_500, min: 0x0, max: 1_300}")
    scale_at, dim_at = at(text, "scale:"), at(text, "- {id: civic")
    dim_at = f"{dim_at.split(':')[0]}:{int(dim_at.split(':')[1]) + 2}"  # the item's first key
    assert refused(text) == (
        [
            f"{ORIGIN}:{scale_at}: scale: base 1_500 must lie between min 0x0 and max 1_300",
            f"{ORIGIN}:{dim_at}: dimension civic: min 61.0 is greater than max 6_0",
        ],
        [
            f"{ORIGIN}:{scale_at}: scale: 基准分 1_500 须在最低分 0x0 与最高分 1_300 之间",
            f"{ORIGIN}:{dim_at}: dimension civic: 最小值 61.0 大于最大值 6_0",
        ],
    )


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[httpx.Client, str]]:
    store = open_store(tmp_path / "store.duckdb", create=True)
    token = issue_key(store, "operator", "registry operations").token
    with serve(create_app(tmp_path / "store.duckdb", store=store)) as c:
        yield c, token
    store.close()


def test_a_policy_sent_as_json_is_refused_with_its_numbers_as_written(client: tuple[httpx.Client, str]) -> None:
    c, token = client
    data = yaml.safe_load(beijing())
    data["rules"][0]["cap"] = 7777
    data["rules"][1]["points"] = 8888
    data["lists"][0]["criteria"][2]["when"] = "score >= 2000"
    body = json.dumps(data, ensure_ascii=False, default=str)  # a date as its ISO text
    body = edited(body, '"cap": 7777', '"cap": 99999999999999999999999')
    body = edited(body, '"points": 8888', '"points": 100001.50')
    answer = c.post("/v1/policies", content=body.encode(), headers=auth(token) | {"Content-Type": "application/json"})
    assert answer.status_code == 422, answer.text
    points, cap, when = (at(body, k) for k in ('"points": 100001.50', '"cap": 9999', '"when": "score >= 2000"'))
    assert answer.json()["problems"] == [
        f"request body:{points}: rule tax.late: points: points are counted in millionths of a point, from 0.000001 "
        "to 100,000 either way; 100001.50 is out of range",
        f"request body:{cap}: rule tax.paid: cap: " + CAP_EN.format("99999999999999999999999"),
        f"request body:{when}: list blacklist criterion score_floor: when: no subject "
        "can meet 'score >= 2000': a score lies on the scale, from 0 to 1300; the criterion would put no one on the "
        "list",
    ]


# --- 3. a list criterion no score can meet -------------------------------------------------------------------------

_SCORE = ("a score lies on the scale, from 0 to 1300", "分数位于分数范围内，从 0 到 1300")
_RANK = ("a rank is from 1 to 2,147,483,647", "名次从 1 到 2,147,483,647")
_PERCENTILE = ("a percentile is from 0 to 100", "百分位从 0 到 100")


@pytest.mark.parametrize(
    ("when", "ranges"),
    [
        ("score < 0", [_SCORE]),
        ("score >= 2000", [_SCORE]),
        ("-1 >= score", [_SCORE]),
        ("score == 600.5", [_SCORE]),
        ("not (score >= 0)", [_SCORE]),
        ("score in [-5, 1301]", [_SCORE]),
        ("score < 600 and score > 700", [_SCORE]),
        ("score < 0 and tier == 'D'", [_SCORE]),
        ("score > 1300 or rank < 1", [_SCORE, _RANK]),
        ("percentile > 100", [_PERCENTILE]),
    ],
)
def test_a_criterion_no_score_can_meet_is_refused(when: str, ranges: list[tuple[str, str]]) -> None:
    written = f'when: "{when}"'
    text = edited(beijing(), 'when: "score < 600"', written)
    where = f"{ORIGIN}:{at(text, written)}: list blacklist criterion score_floor: when: "
    en = "; ".join(r[0] for r in ranges)
    zh = "；".join(r[1] for r in ranges)
    assert refused(text) == (
        [f"{where}no subject can meet {when!r}: {en}; the criterion would put no one on the list"],
        [f"{where}没有任何对象能满足 {when!r}：{zh}；此条件不会将任何人列入名单"],
    )


@pytest.mark.parametrize(
    "when",
    [
        "score <= 0",
        "score >= 1300",
        "score > 1299.5",
        "score < 0 or tier == 'D'",
        "score * 2 < 0",  # met by no score, but a calculation is not judged: accepted
        "not (score < 0)",
        "rank <= 1",
        "percentile >= 100",
        "percentile <= 0",
    ],
)
def test_a_criterion_some_score_meets_or_too_complex_to_judge_is_taken(when: str) -> None:
    text = edited(beijing(), 'when: "score < 600"', f'when: "{when}"')
    assert parse_policy(text, ORIGIN).policy.criterion("blacklist", "score_floor").when == when


def test_a_scale_upside_down_is_refused_once_not_again_for_each_criterion_on_the_score() -> None:
    text = edited(beijing(), "scale: {base: 1000, min: 0, max: 1300}", "scale: {base: 1000, min: 1300, max: 0}")
    text = edited(text, 'when: "score < 600"', 'when: "score > 700"')
    en, zh = refused(text)
    assert en[0] == f"{ORIGIN}:{at(text, 'scale:')}: scale: base 1000 must lie between min 1300 and max 0"
    assert [p for p in en if "criterion" in p] == [] and [p for p in zh if "criterion" in p] == []


def test_a_criterion_of_too_many_runs_of_scores_is_not_judged_and_is_taken() -> None:
    # The even scores to 298 and the odd ones to 299: no score is both, but judging it holds 150 runs of scores on
    # each side, past the most a part of a condition is judged with (the cost of judging is bounded): accepted. With
    # a few values a side, it is judged, and refused.
    evens, odds = (", ".join(str(n) for n in range(first, 300, 2)) for first in (0, 1))
    many = f"score in [{evens}] and score in [{odds}]"
    text = edited(beijing(), 'when: "score < 600"', f'when: "{many}"')
    assert parse_policy(text, ORIGIN).policy.criterion("blacklist", "score_floor").when == many
    assert reach.meets(expr.parse(many), {"score": reach.Domain(0, 1300)}) is None
    assert (
        reach.meets(expr.parse("score in [0, 2, 4] and score in [1, 3, 5]"), {"score": reach.Domain(0, 1300)}) is False
    )


SMALL_RULE = """\
- id: tax.paid
  record_type: tax_payment
  when: "status == 'paid' and amount == 10"
  dimension: civic
  points: 60
  reason: {code: PAID, zh: 纳税, en: paid}
"""


CRITERION = 'when: "score < 300"'


def listed_when(when: str) -> str:
    return (
        "- id: low\n  kind: black\n  name: {zh: 低, en: low}\n  criteria:\n    - id: floor\n"
        f'      when: "{when}"\n      reason: {{code: LOW, zh: 低分, en: low score}}\n'
    )


def test_a_criterion_below_the_commercial_scale_is_refused() -> None:
    text = policy_text(SMALL_RULE, scale="{base: 550, min: 350, max: 950}", lists=listed_when("score < 300"))
    where = f"test.yaml:{at(text, CRITERION)}: list low criterion floor: when: "
    assert refused(text, "test.yaml") == (
        [
            f"{where}no subject can meet 'score < 300': a score lies on the scale, from 350 to 950; the criterion "
            "would put no one on the list"
        ],
        [f"{where}没有任何对象能满足 'score < 300'：分数位于分数范围内，从 350 到 950；此条件不会将任何人列入名单"],
    )


OPS = ["<", "<=", ">", ">=", "==", "!="]
_PYTHON = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}
literals = st.one_of(st.integers(-60, 60), st.integers(-600, 600).map(lambda n: n / 10))


def _written(value: float) -> str:
    return str(value)


@settings(max_examples=60, deadline=None)
@given(
    low=st.integers(-40, 40),
    width=st.integers(0, 30),
    op=st.sampled_from(OPS),
    value=literals,
    flipped=st.booleans(),
)
def test_a_comparison_is_refused_exactly_when_no_score_of_the_scale_meets_it(
    low: int, width: int, op: str, value: float, flipped: bool
) -> None:
    high = low + width
    number = _written(value)
    when = f"{number} {op} score" if flipped else f"score {op} {number}"
    written = f'when: "{when}"'
    meets = [n for n in range(low, high + 1) if (_PYTHON[op](value, n) if flipped else _PYTHON[op](n, value))]
    text = policy_text(
        SMALL_RULE,
        scale=f"{{base: {low}, min: {low}, max: {high}}}",
        tiers=f"- {{id: all, min: {low}}}\n",
        lists=listed_when(when),
    )
    try:
        parse_policy(text, "test.yaml")
        problems: list[str] = []
    except PolicyError as exc:
        problems = exc.problems
    if meets:
        assert problems == []
    else:
        assert problems == [
            f"test.yaml:{at(text, written)}: list low criterion floor: when: no subject can meet {when!r}: a score "
            f"lies on the scale, from {low} to {high}; the criterion would put no one on the list"
        ]


def _conditions(depth: int) -> st.SearchStrategy[str]:
    compare = st.builds(lambda op, v: f"score {op} {_written(v)}", st.sampled_from(OPS), literals)
    listed = st.builds(
        lambda neg, vs: f"score {'not in' if neg else 'in'} [{', '.join(map(_written, vs))}]",
        st.booleans(),
        st.lists(literals, min_size=1, max_size=4),
    )
    leaf = st.one_of(compare, listed)
    if depth == 0:
        return leaf
    inner = _conditions(depth - 1)
    return st.one_of(
        leaf,
        st.builds(lambda a, b: f"({a} and {b})", inner, inner),
        st.builds(lambda a, b: f"({a} or {b})", inner, inner),
        st.builds(lambda a: f"not ({a})", inner),
    )


@settings(max_examples=200, deadline=None)
@given(low=st.integers(-40, 40), width=st.integers(0, 30), when=_conditions(3))
def test_the_scores_a_condition_lets_through_are_those_it_holds_for(low: int, width: int, when: str) -> None:
    """The judge (policy/reach.py) and the condition's evaluation (expr.evaluate) agree on every score of the scale."""
    node = expr.check(expr.parse(when), {"score": expr.Var("number", whole=(low, low + width))})
    judged = reach.values_meeting(node, {"score": reach.Domain(low, low + width)})
    assert judged is not None
    _, spans = judged
    allowed = {n for first, last in spans for n in range(first, last + 1)}
    held = {n for n in range(low, low + width + 1) if expr.evaluate(node, {"score": n}) is True}
    assert allowed == held
    assert reach.meets(node, {"score": reach.Domain(low, low + width)}) is bool(held)


@settings(max_examples=100, deadline=None)
@given(op=st.sampled_from(OPS), hundredths=st.integers(-100, 10_100), extra=st.sampled_from(["", "1", "9"]))
def test_a_percentile_comparison_is_judged_on_the_hundredths_a_run_gives(op: str, hundredths: int, extra: str) -> None:
    """A percentile is k / 100 for a whole k from 0 to 10,000 (compiler/plan.py), compared as a double."""
    sign = "-" if hundredths < 0 else ""
    written = f"{sign}{abs(hundredths) // 100}.{abs(hundredths) % 100:02d}{extra}"
    node = expr.check(expr.parse(f"percentile {op} {written}"), {"percentile": expr.Var("number")})
    held = any(_PYTHON[op](k / 100, float(written)) for k in range(10_001))
    assert reach.meets(node, {"percentile": reach.Domain(0, 10_000, 100)}) is held


# --- the console script and the API refuse them ---------------------------------------------------------------------


def _policy_command(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}
    return subprocess.run(
        [CLI, "policy", *map(str, args)], capture_output=True, text=True, env=env, timeout=120, check=False
    )


BAD = policy_text(
    SMALL_RULE.replace("  points: 60\n", "  points: 60\n  cap: 99999999999999999999999\n"),
    scale="{base: 550, min: 350, max: 950}",
    lists=listed_when("score < 300"),
)


def _bad_problems(path: Path) -> tuple[str, str]:
    cap, when = at(BAD, "cap:"), at(BAD, CRITERION)
    big = "99999999999999999999999"
    return (
        f"{path}:{cap}: rule tax.paid: cap: {CAP_EN.format(big)}\n"
        f"{path}:{when}: list low criterion floor: when: no subject can meet 'score < 300': a score lies on the "
        "scale, from 350 to 950; the criterion would put no one on the list",
        f"{path}:{cap}: rule tax.paid: cap: {CAP_ZH.format(big)}\n"
        f"{path}:{when}: list low criterion floor: when: 没有任何对象能满足 'score < 300'：分数位于分数范围内，"
        "从 350 到 950；此条件不会将任何人列入名单",
    )


def test_policy_check_and_publish_refuse_a_bad_file_with_exit_code_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD, encoding="utf-8")
    en, zh = _bad_problems(path)
    proc = _policy_command("check", path, "--db", tmp_path / "none.duckdb")
    assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", f"error: {en}\n")
    db = tmp_path / "city.duckdb"
    sc("init", db=db)
    proc = _policy_command("publish", path, "--without-impact", "--db", db, "--lang", "zh")
    assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", f"错误：{zh}\n")
    proc = _policy_command("publish", path, "--without-impact", "--db", db)
    assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", f"error: {en}\n")


# --- 4. a version a store holds from before reads back, scores and decides ------------------------------------------


def test_a_version_stored_before_these_checks_loads_scores_and_decides(tmp_path: Path) -> None:
    """An older release published a policy with a cap of 10^23, a dimension's max of 10^6 and a criterion no score
    meets: the store holds it in force. It is read back as it was accepted (the checks run at check and publish)."""
    from due_world import score_on_its_day
    from socialcredit.registry.decisions.decide import decide
    from socialcredit.registry.reporting.report import subject_report
    from socialcredit.registry.scoring.policies import get_policy, resolve_policy

    text = policy_text(
        SMALL_RULE.replace("  points: 60\n", "  points: 60\n  cap: 99999999999999999999999\n"),
        dimensions="- {id: civic, name: {zh: 公益, en: civic}, max: 1.0e+6}\n",
        lists=listed_when("score < 0"),
        services="- id: perk\n  name: {zh: 优待, en: perk}\n  grant_if: \"tier == 'gold' and not low\"\n"
        "  refusal: {zh: 不予, en: no perk}\n",
    )
    en, _ = refused(text, "old.yaml")  # a policy being published is held to every check
    assert [p.split(": ")[2] for p in en] == ["cap", "max", "when"]
    reg = open_registry(tmp_path)
    try:
        reg.register({person(1): None, person(2): None})
        reg.send("tax_bureau", [tax("T1", person(1), "2025-06-01", amount=10)])
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        reg.store.execute("INSERT INTO policies VALUES ('test', '1', ?, ?, now())", [digest, text])
        loaded = get_policy(reg.store, "test", "1")
        assert loaded.policy.rule("tax.paid").cap == 1e23
        assert resolve_policy(reg.store, "test").policy.version == "1"
        run = score_on_its_day(reg.store, loaded, AS_OF)
        rows = {r["subject_id"]: (r["score"], r["tier"]) for r in reg.results(run.run_id).values()}
        assert rows == {person(1): (160, "gold"), person(2): (100, "bronze")}  # base 100, +60 for the paid tax
        assert reg.list_entries(run.run_id) == []
        assert decide(reg.store, person(1), "perk", "a perk", requester="tests").granted is True
        assert decide(reg.store, person(2), "perk", "a perk", requester="tests").granted is False
        report = subject_report(reg.store, person(1), policy_ids=["test"], lang="en")
        assert [(s["policy"], s["score"]) for s in report["scores"]] == [("test", 160)]
        with serve(create_app(tmp_path / "registry.duckdb", store=reg.store)) as c:
            for lang in ("en", "zh"):
                page = c.get("/policies/test/1", params={"lang": lang})
                assert page.status_code == 200, page.text
                assert "99999999999999991611392" in page.text.replace(",", ""), lang  # the cap, 10^23 as a double
    finally:
        reg.store.close()
