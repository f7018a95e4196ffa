"""The disparity audit on the hand-made world of tests/lab_world.py, scored under CURRENT: rates, ratios, Wilson and
log-ratio intervals and the rules behind a flagged group, worked out by hand; `policy lint --db` through the
installed console script; the operator dashboard's panel on a real server."""

from __future__ import annotations

import json
import math
import os
import re
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

from api_helpers import serving
from lab_world import AS_OF, PLUS, P, build, current
from page_text import raw_identifiers, visible_text
from socialcredit.api.app import create_app
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.reporting.disparity import disparity_audit, log_ratio_interval, wilson_interval
from socialcredit.registry.scoring.runs import score
from socialcredit.store import Store
from web_helpers import sign_in

CLI = shutil.which("socialcredit", path=str(Path(sys.executable).parent)) or "socialcredit"
Z = 1.959963984540054


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Store, int]]:
    folder = tmp_path_factory.mktemp("disparity")
    reg = build(folder)
    run = reg.score(current()).run_id
    reg.store.execute("CHECKPOINT")  # the lint test copies the file
    yield folder / "registry.duckdb", reg.store, run
    reg.store.close()


def _row(audit: dict[str, Any], metric: str, dimension: str, group: str) -> dict[str, Any]:
    return next(r for r in audit["rows"] if (r["metric"], r["dimension"], r["group"]) == (metric, dimension, group))


def test_rates_ratios_and_intervals_by_hand(scored: tuple[Path, Store, int]) -> None:
    _, store, run = scored
    audit = disparity_audit(store, run)
    assert audit["persons"] == 10
    # the blacklist: P4 and P6 (85 and 70 under the floor of 100): 2 of 10
    assert audit["overall"]["list:blacklist"] == {"count": 2, "rate": 0.2}
    women = _row(audit, "list:blacklist", "sex", "F")  # P4 and P6 are women: 2 of 5
    assert (women["n"], women["count"], women["rate"], women["ratio"]) == (5, 2, 0.4, 2.0)
    # Wilson for 2 of 5 by hand: centre (0.4 + z²/10) / (1 + z²/5), half-width z·sqrt(0.4·0.6/5 + z²/100) / (1 + z²/5)
    assert [round(x, 4) for x in women["rate_ci"]] == [0.1176, 0.7693]
    # log-ratio: 2 · exp(±z·sqrt(1/2 − 1/5 + 1/2 − 1/10)) = 2 · exp(±z·sqrt(0.7))
    se = math.sqrt(0.7)
    assert women["ratio_ci"] == pytest.approx([2 * math.exp(-Z * se), 2 * math.exp(Z * se)])
    assert [round(x, 3) for x in women["ratio_ci"]] == [0.388, 10.309]
    # flagged (2.0 > 1.25), a note: the interval reaches into the band, and two listings are too few for a warning
    assert (women["flagged"], women["level"]) == (True, "note")
    men = _row(audit, "list:blacklist", "sex", "M")  # no man is listed: ratio 0, from 0 to Wilson's bound / 0.2
    assert (men["count"], men["ratio"], men["level"]) == (0, 0.0, "note")
    assert men["ratio_ci"] == pytest.approx([0.0, wilson_interval(0, 5)[1] / 0.2])
    # districts: P4 in 朝阳区 and P6 in 海淀区, one in five each: the overall rate, not flagged
    for district in ("朝阳区", "海淀区"):
        row = _row(audit, "list:blacklist", "district", district)
        assert (row["rate"], row["ratio"], row["flagged"], row["level"]) == (0.2, 1.0, False, None)


def test_a_flagged_group_names_the_rules_that_account_for_it(scored: tuple[Path, Store, int]) -> None:
    _, store, run = scored
    women = _row(disparity_audit(store, run), "list:blacklist", "sex", "F")
    # plus: women P2 15 + P8 60 + P10 45 = 120 over 5 = 24; everyone 210 over 10 = 21: +3
    # minus: women P4 −15, P6 −30, P10 −15 = −60 over 5 = −12; everyone −90 over 10 = −9: −3 (ties by rule id)
    assert women["rules"] == [
        {"rule": "minus", "group_mean": -12.0, "difference": -3.0},
        {"rule": "plus", "group_mean": 24.0, "difference": 3.0},
    ]


def test_refusals_and_tiers_are_audited_too(scored: tuple[Path, Store, int]) -> None:
    _, store, run = scored
    audit = disparity_audit(store, run)
    # badge (silver or better): P2, P3, P8, P9, P10 granted; refused to P1, P4, P5, P6, P7: 5 of 10
    assert audit["overall"]["refused:badge"] == {"count": 5, "rate": 0.5}
    chaoyang = _row(audit, "refused:badge", "district", "朝阳区")  # P1, P4, P5 of P1–P5
    assert (chaoyang["count"], chaoyang["ratio"], chaoyang["flagged"]) == (3, pytest.approx(1.2), False)
    haidian = _row(audit, "refused:badge", "district", "海淀区")  # P6, P7 of P6–P10
    assert (haidian["count"], haidian["ratio"], haidian["flagged"]) == (2, pytest.approx(0.8), False)
    silver = _row(audit, "tier:silver", "sex", "M")  # P3, P9 of the men; P2, P10 of the women: 4 of 10
    assert (silver["count"], silver["rate"], silver["ratio"]) == (2, 0.4, pytest.approx(1.0))
    assert all(r["flagged"] == (not 0.8 <= r["ratio"] <= 1.25) for r in audit["rows"])


@given(st.integers(min_value=0, max_value=500), st.integers(min_value=1, max_value=500))
def test_a_wilson_interval_holds_its_rate(k: int, n: int) -> None:
    k = min(k, n)
    lo, hi = wilson_interval(k, n)
    assert 0.0 <= lo <= k / n + 1e-12 and k / n - 1e-12 <= hi <= 1.0


@given(st.integers(min_value=1, max_value=200), st.integers(min_value=1, max_value=200))
def test_a_log_ratio_interval_holds_its_ratio(k: int, big_k: int) -> None:
    n, big_n = 400, 1000
    ratio = (k / n) / (big_k / big_n)
    lo, hi = log_ratio_interval(k, n, big_k, big_n)
    assert lo <= ratio <= hi


def _sc(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}
    return subprocess.run(
        [CLI, *map(str, args)], capture_output=True, text=True, env=env | {"COLUMNS": "250"}, timeout=120, check=False
    )


def test_policy_lint_prints_the_audit_with_its_findings(scored: tuple[Path, Store, int], tmp_path: Path) -> None:
    db, _, _ = scored
    policy = tmp_path / "lab.yaml"
    policy.write_text(current().text, encoding="utf-8")
    copy = tmp_path / "store.duckdb"
    shutil.copy(db, copy)
    done = _sc("policy", "lint", policy, "--db", copy)
    women = next(line for line in done.stdout.splitlines() if "sex F" in line and "list:blacklist" in line)
    assert women == (
        f"{copy}: run 1: sex F: note SC901 (disparity across groups): list:blacklist: 40.00% of 5 persons against "
        "20.00% overall, ratio 2.00 (95% CI 0.39–10.31) outside 0.8–1.25; mean points against everyone's: "
        "minus -3.0, plus +3.0"
    )
    # the audit adds warnings and notes, never errors: the exit code is lint's own (1: this test policy has errors)
    alone = json.loads(_sc("policy", "lint", policy, "--json").stdout)
    audited = json.loads(_sc("policy", "lint", policy, "--db", copy, "--json").stdout)
    found = [f for f in audited["findings"] if f["rule"] == "SC901"]
    assert audited["disparity_run"] == 1 and found and {f["level"] for f in found} <= {"warning", "note"}
    assert audited["counts"]["error"] == alone["counts"]["error"] > 0 and done.returncode == 1
    assert audited["counts"]["note"] + audited["counts"]["warning"] == (
        alone["counts"]["note"] + alone["counts"]["warning"] + len(found)
    )
    other = tmp_path / "other.yaml"
    other.write_text(current().text.replace('version: "1"', 'version: "7"'), encoding="utf-8")
    unscored = _sc("policy", "lint", other, "--db", copy)
    assert unscored.returncode == 1 and f"{copy} has no run of lab 7: no disparity audit." in unscored.stdout


def test_the_dashboard_lists_flagged_groups_and_drift_alerts(tmp_path: Path) -> None:
    reg = build(tmp_path)
    first = reg.score(current()).run_id
    # every resident without a plus record gets one: the plus rule's hit rate goes from 6 in 10 to 10 in 10
    reg.send("tax_bureau", _new_plus())
    second = score(reg.store, current(), AS_OF).run_id
    operator = issue_key(reg.store, "operator", "registry operations").token
    app = create_app(tmp_path / "registry.duckdb", store=reg.store)
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        sign_in(client, operator)
        page = client.get("/ops", params={"policy": "lab", "lang": "en"})
    reg.store.close()
    assert page.status_code == 200
    text = page.text
    assert "Disparity audit" in text and f"Run {second}:" in text
    assert "Drift" in text and f"from run {first} to run {second}" in text
    assert "Alert: the PSI of “test” is" in text  # the rule by its reason's words (lab_world's rules say "test")
    assert "on the blacklist" in text and "women" in text  # the flagged group's measure and group in words
    assert raw_identifiers(visible_text(text), lang="en") == []
    # The charts of means say where their bars start (50 = 50 below the lowest mean's round fifty): by district
    # 朝阳区 (115+115+145+100+100)/5 = 115.0 and 海淀区 (85+115+160+115+130)/5 = 121.0; every resident is 35–44,
    # mean 118.0. Each chart names its own start, not "near" the lowest district's mean (115.0).
    charts = re.findall(r'<svg class="chart bars"[^>]*><title>([^<]*)</title><desc>([^<]*)</desc>', text)
    said = {title: desc for title, desc in charts}
    assert said["Mean score by district"] == "Bars start at 50 points so the differences show."
    assert said["Mean score by age band"] == "Bars start at 50 points so the differences show."
    assert "Mean score by profession" in said and "near" not in " ".join(said.values())


def _new_plus() -> list[dict[str, Any]]:
    return [
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
    ]


def test_an_unknown_run_is_not_found(scored: tuple[Path, Store, int]) -> None:
    from socialcredit.errors import NotFoundError

    _, store, _ = scored
    with pytest.raises(NotFoundError, match=r"^no score run 999$"):
        disparity_audit(store, 999)


def test_policy_lint_prints_a_small_difference_so_that_it_never_reads_as_zero(
    scored: tuple[Path, Store, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from socialcredit.cli import app
    from socialcredit.registry.reporting import disparity

    db, _, _ = scored
    copy = tmp_path / "store.duckdb"
    shutil.copy(db, copy)
    policy = tmp_path / "lab.yaml"
    policy.write_text(current().text, encoding="utf-8")
    real = disparity.disparity_audit

    def small(store: Store, run_id: int) -> dict[str, Any]:  # the real audit, its first flagged group's rules changed
        audit = real(store, run_id)
        audit["flagged"][0]["rules"] = [
            {"rule": "plus", "group_mean": 1.0, "difference": 0.04},
            {"rule": "minus", "group_mean": 1.0, "difference": -0.004},
        ]
        return audit

    monkeypatch.setattr(disparity, "disparity_audit", small)
    said = CliRunner().invoke(app, ["policy", "lint", str(policy), "--db", str(copy)], env={"COLUMNS": "250"})
    assert said.output.count("mean points against everyone's: plus +0.04, minus -0.004") == 1, said.output
    as_json = CliRunner().invoke(app, ["policy", "lint", str(policy), "--db", str(copy), "--json"])
    messages = [f["message"] for f in json.loads(as_json.stdout)["findings"] if f["rule"] == "SC901"]
    assert messages[0].endswith("; mean points against everyone's: plus +0.04, minus -0.004")
    from socialcredit.registry.reporting.disparity import difference_text

    assert [difference_text(x) for x in (3.0, -4.44, 0.04, -0.04, 0.0049, 0.0)] == [
        "+3.0",
        "-4.4",
        "+0.04",
        "-0.04",
        "+0.005",
        "0",
    ]
