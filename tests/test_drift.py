"""Drift between two runs: the PSI of two tiny distributions by hand, of a distribution with itself (0), of the
hand-made world's scores and rule hit rates (tests/lab_world.py), and `policy drift` through the console script."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from due_world import score_on_its_day
from lab_world import AS_OF, PLUS, P, build, current
from socialcredit.errors import NotFoundError, WorkflowError
from socialcredit.registry.reporting.drift import EPSILON, SCORE_BINS, psi, run_drift

CLI = shutil.which("socialcredit", path=str(Path(sys.executable).parent)) or "socialcredit"


def test_psi_of_two_tiny_distributions_by_hand() -> None:
    # (0.25 − 0.5)·ln(0.25/0.5) + (0.75 − 0.5)·ln(0.75/0.5) = 0.25·ln 2 + 0.25·ln 1.5
    assert psi([0.5, 0.5], [0.25, 0.75]) == pytest.approx(0.25 * math.log(2) + 0.25 * math.log(1.5))
    assert round(psi([0.5, 0.5], [0.25, 0.75]), 4) == 0.2747
    # an empty bin counts as EPSILON: (1e-4 − 0.5)·ln(1e-4/0.5) + (1 − 0.5)·ln(1/0.5)
    assert psi([0.5, 0.5], [0.0, 1.0]) == pytest.approx((EPSILON - 0.5) * math.log(EPSILON / 0.5) + 0.5 * math.log(2))
    with pytest.raises(ValueError, match="the same bins"):
        psi([1.0], [0.5, 0.5])


@given(st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=30).filter(any))
def test_psi_of_a_distribution_with_itself_is_zero(counts: list[int]) -> None:
    shares = [c / sum(counts) for c in counts]
    assert psi(shares, shares) == 0.0


@given(
    st.lists(st.integers(min_value=1, max_value=1000), min_size=2, max_size=10),
    st.lists(st.integers(min_value=1, max_value=1000), min_size=2, max_size=10),
)
def test_psi_is_never_negative(a: list[int], b: list[int]) -> None:
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    assert psi([x / sum(a) for x in a], [x / sum(b) for x in b]) >= 0.0


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Any, int, int, int]]:
    """Run 1 and run 2 on the same records (no drift); run 3 after every resident without a plus record got one."""
    folder = tmp_path_factory.mktemp("drift")
    reg = build(folder)
    first = reg.score(current()).run_id
    same = score_on_its_day(reg.store, current(), AS_OF).run_id
    reg.send(
        "tax_bureau",
        [
            {
                "record_id": f"X{i}",
                "subject_id": P[i],
                "record_type": "tax_payment",
                "event_date": "2025-12-01",
                "amount": 1,
                "status": "paid",
            }
            for i in P
            if i not in PLUS
        ],
    )
    later = score_on_its_day(reg.store, current(), AS_OF).run_id
    reg.store.execute("CHECKPOINT")  # the console script reads a copy of the file
    yield folder / "registry.duckdb", reg.store, first, same, later
    reg.store.close()


def test_two_runs_of_the_same_records_do_not_drift(runs: tuple[Path, Any, int, int, int]) -> None:
    _, store, first, same, _ = runs
    d = run_drift(store, first, same)
    assert d["score"]["psi"] == 0.0 and all(r["psi"] == 0.0 for r in d["rules"]) and d["alerts"] == []
    assert len(d["score"]["bins"]) == SCORE_BINS and d["score"]["bins"][0] == {"lo": 0.0, "hi": 10.0, "a": 0, "b": 0}


def test_a_rule_hit_by_everyone_now_raises_an_alert(runs: tuple[Path, Any, int, int, int]) -> None:
    _, store, first, _, later = runs
    d = run_drift(store, first, later)
    plus = next(r for r in d["rules"] if r["rule"] == "plus")
    # hit rate 6 in 10 → 10 in 10: (1 − 0.6)·ln(1/0.6) + (ε − 0.4)·ln(ε/0.4)
    expected = 0.4 * math.log(1 / 0.6) + (EPSILON - 0.4) * math.log(EPSILON / 0.4)
    assert (plus["hit_rate_a"], plus["hit_rate_b"]) == (0.6, 1.0)
    assert plus["psi"] == pytest.approx(expected) and plus["alert"]
    minus = next(r for r in d["rules"] if r["rule"] == "minus")
    assert (minus["hit_rate_a"], minus["hit_rate_b"], minus["psi"], minus["alert"]) == (0.5, 0.5, 0.0, False)
    # scores in bins of 10 over 0–200: before 70 85 100 100 100 115 115 130 145 160 (bins 7 8 10 10 10 11 11 13 14 16),
    # after P1, P4, P6, P7 gain 15: P6 85, P4 100, P5 100, P1 P2 P7 P9 115, P10 130, P3 145, P8 160
    # (bins 8 10 10 11 11 11 11 13 14 16)
    before = dict.fromkeys(range(SCORE_BINS), 0) | {7: 1, 8: 1, 10: 3, 11: 2, 13: 1, 14: 1, 16: 1}
    after = dict.fromkeys(range(SCORE_BINS), 0) | {8: 1, 10: 2, 11: 4, 13: 1, 14: 1, 16: 1}
    assert [(b["a"], b["b"]) for b in d["score"]["bins"]] == [(before[i], after[i]) for i in range(SCORE_BINS)]
    by_hand = psi([before[i] / 10 for i in range(SCORE_BINS)], [after[i] / 10 for i in range(SCORE_BINS)])
    assert d["score"]["psi"] == pytest.approx(by_hand) and d["score"]["alert"] == (by_hand > 0.25)
    assert {"what": "rule plus", "rule": "plus", "psi": plus["psi"]} in d["alerts"]


def test_refusals(runs: tuple[Path, Any, int, int, int]) -> None:
    _, store, first, _, _ = runs
    with pytest.raises(NotFoundError, match=r"^no finished score run 99$"):
        run_drift(store, first, 99)
    from socialcredit.policy import builtin_policy
    from socialcredit.registry.scoring.policies import publish_policy

    other = builtin_policy("sesame")
    publish_policy(store, other)
    sesame = score_on_its_day(store, other, AS_OF).run_id
    with pytest.raises(WorkflowError, match=r"^run 1 is of policy lab and run \d+ of sesame: drift compares"):
        run_drift(store, first, sesame)


def _sc(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}
    return subprocess.run(
        [CLI, *map(str, args)], capture_output=True, text=True, env=env | {"COLUMNS": "200"}, timeout=120, check=False
    )


def test_policy_drift_exit_codes(runs: tuple[Path, Any, int, int, int], tmp_path: Path) -> None:
    db, _, first, same, later = runs
    copy = tmp_path / "store.duckdb"
    shutil.copy(db, copy)
    quiet = _sc("policy", "drift", first, same, "--db", copy)
    assert quiet.returncode == 0, quiet.stderr
    assert "score PSI 0.0000 (both runs' scores in 20 bins over 0–200)." in quiet.stdout
    assert "No PSI above 0.25." in quiet.stdout and "added" not in quiet.stdout
    alert = _sc("policy", "drift", first, later, "--db", copy)
    assert alert.returncode == 1
    assert any(line.startswith("alert: rule plus: PSI 3.") for line in alert.stdout.splitlines())
    as_json = _sc("policy", "drift", first, later, "--db", copy, "--json")
    assert as_json.returncode == 1 and json.loads(as_json.stdout)["alerts"]
    missing = _sc("policy", "drift", first, 99, "--db", copy)
    assert missing.returncode == 2 and missing.stderr.strip() == "error: no finished score run 99"


def test_a_version_change_reports_rules_added_and_removed_and_bins_both_runs_on_one_scale(tmp_path: Path) -> None:
    # run A: version 1 on a scale 0–400 from 300 with rules plus and minus; run B: version 2 on 0–200 from 100, the
    # rule minus renamed fine (same points). Common scale 0–400, bins of 20.
    from lab_world import policy_yaml
    from scoring_helpers import parse_policy
    from socialcredit.registry.scoring.policies import publish_policy

    reg = build(tmp_path)
    v1 = policy_yaml(15, 100, "tier >= 'silver'", "1").replace(
        "scale: {base: 100, min: 0, max: 200}", "scale: {base: 300, min: 0, max: 400}"
    )
    v2 = policy_yaml(15, 100, "tier >= 'silver'", "2").replace("- id: minus", "- id: fine")
    first = reg.score(parse_policy(v1, "lab@1")).run_id
    second_policy = parse_policy(v2, "lab@2")
    publish_policy(reg.store, second_policy)
    second = score_on_its_day(reg.store, second_policy, AS_OF).run_id
    try:
        d = run_drift(reg.store, first, second)
    finally:
        reg.store.close()
    assert (d["added"], d["removed"]) == (["fine"], ["minus"])
    assert [r["rule"] for r in d["rules"]] == ["plus"] and d["rules"][0]["psi"] == 0.0
    assert all(a["rule"] != "minus" and a["rule"] != "fine" for a in d["alerts"])
    assert d["score"]["scale"] == {"lo": 0.0, "hi": 400.0}
    assert d["score"]["bins"][0] == {"lo": 0.0, "hi": 20.0, "a": 0, "b": 0}
    # A: 270 285 300 300 300 315 315 330 345 360 → bins 13 14 15 15 15 15 15 16 17 18;
    # B: 70 85 100 100 100 115 115 130 145 160 → bins 3 4 5 5 5 5 5 6 7 8 (on B's own 0–200 A would all fall in 19)
    a = dict.fromkeys(range(SCORE_BINS), 0) | {13: 1, 14: 1, 15: 5, 16: 1, 17: 1, 18: 1}
    b = dict.fromkeys(range(SCORE_BINS), 0) | {3: 1, 4: 1, 5: 5, 6: 1, 7: 1, 8: 1}
    assert [(x["a"], x["b"]) for x in d["score"]["bins"]] == [(a[i], b[i]) for i in range(SCORE_BINS)]
    by_hand = psi([a[i] / 10 for i in range(SCORE_BINS)], [b[i] / 10 for i in range(SCORE_BINS)])
    assert d["score"]["psi"] == pytest.approx(by_hand)


def test_the_dashboard_names_the_rules_added_and_removed_and_the_common_scale_in_both_languages(
    tmp_path: Path,
) -> None:
    # The version change above, its renamed rule with words of its own: the drift panel said neither the rules in one
    # run only nor the scale both runs' scores were binned on (policy drift and the API did).
    from api_helpers import serving
    from lab_world import policy_yaml
    from scoring_helpers import parse_policy
    from socialcredit.api.app import create_app
    from socialcredit.registry.access.parties import issue_key
    from socialcredit.registry.scoring.policies import publish_policy
    from web_helpers import sign_in

    reg = build(tmp_path)
    minus = "reason: {code: MINUS, zh: 测试, en: test}"
    v1 = (
        policy_yaml(15, 100, "tier >= 'silver'", "1")
        .replace("scale: {base: 100, min: 0, max: 200}", "scale: {base: 300, min: 0, max: 400}")
        .replace(minus, "reason: {code: MINUS, zh: 扣分, en: a deduction}")
    )
    v2 = (
        policy_yaml(15, 100, "tier >= 'silver'", "2")
        .replace("- id: minus", "- id: fine")
        .replace(minus, "reason: {code: FINE, zh: 罚款, en: a fine}")
    )
    first = reg.score(parse_policy(v1, "lab@1")).run_id
    second_policy = parse_policy(v2, "lab@2")
    publish_policy(reg.store, second_policy)
    second = score_on_its_day(reg.store, second_policy, AS_OF).run_id
    operator = issue_key(reg.store, "operator", "registry operations").token
    app = create_app(tmp_path / "registry.duckdb", store=reg.store)
    try:
        with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
            sign_in(client, operator)
            en = client.get("/ops", params={"policy": "lab", "lang": "en"}).text
            zh = client.get("/ops", params={"policy": "lab", "lang": "zh"}).text
    finally:
        reg.store.close()
    assert (
        "Both runs&#39; scores are compared in 20 bins over one scale, 0–400 (both policy versions&#39; range)." in en
    )
    assert f"Rules only in run {second} (added; no drift): a fine" in en
    assert f"Rules only in run {first} (removed; no drift): a deduction" in en
    assert "两次评分的分数在同一标尺 0–400 上分为 20 组比较（两个政策版本的分数范围）。" in zh
    assert f"仅在第 {second} 次评分中的规则（新增，不计漂移）：罚款" in zh
    assert f"仅在第 {first} 次评分中的规则（已删除，不计漂移）：扣分" in zh
