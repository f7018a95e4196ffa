"""Scorecards learned from outcomes (`socialcredit scorecard fit`, docs/scorecard.md).

A world of 5 000 generated residents gets outcomes (default within twelve months, from a hidden propensity); a
scorecard fitted on them must beat a documented AUC floor and stay near a plain logistic regression on the same
features, and the exported policy — loaded by our loader and scored by our engine from the records the outcome rows
map to — must give every held-out subject optbinning's own score within one point. A hand-made CSV (a categorical
column, missing values, a target of two words) goes through the same command. Refusals are checked with their exact
messages and the exit codes of the installed console script; hypothesis feeds malformed files and options to the
reader and the option checks, which must answer with a documented refusal and nothing else.
"""

from __future__ import annotations

import json
import os
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialcredit.errors import InvalidRequestError, LimitError
from socialcredit.generate import generate, write_outcomes
from socialcredit.policy.load import load_policy
from socialcredit.registry.scoring.files import score_files
from socialcredit.scorecard import (
    EXIT_CODES,
    LIMITS,
    PROXY_THRESHOLD,
    fit_outcomes,
    parse_monotonic,
    read_outcomes,
    scale_from_options,
)
from socialcredit.scorecard.export import AS_OF, write_records

CLI = str(Path(sys.executable).parent / "socialcredit")
RESIDENTS = 5_000
# The AUC a scorecard must reach on the holdout of the test's world (seed 5). Chance is 0.5; the hidden profile
# drives much of the default, so the records explain only part of it: 0.66 was measured, 0.62 is the floor.
AUC_FLOOR = 0.62
TRENDS = {"loan_late": "ascending", "utility_late": "ascending", "platform_late": "ascending"}


def cli(*args: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}
    env["COLUMNS"] = "200"
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, env=env, check=False)


def refused(proc: subprocess.CompletedProcess[str], code: str, message: str) -> None:
    assert proc.returncode == EXIT_CODES[code], proc.stdout + proc.stderr
    assert proc.stderr.strip() == f"error: {message}", proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("scorecard") / "population"
    generate(RESIDENTS, seed=5, out=folder)
    return write_outcomes(folder, seed=5)


@pytest.fixture(scope="module")
def fitted(world: Path) -> Any:
    return fit_outcomes(world, "default_12m", monotonic=TRENDS)


def engine_vs_optbinning(result: Any, tmp: Path, X: pd.DataFrame) -> np.ndarray:
    """The exported policy written to a file, loaded by the policy loader, scored by score_files from the records
    the rows map to; minus optbinning's Scorecard.score of the same rows."""
    policy = tmp / "policy.yaml"
    policy.write_text(result.policy_text, "utf-8")
    loaded = load_policy(policy)
    ids = write_records(result.fitted, X, tmp / "input")
    score_files(tmp / "input", loaded, AS_OF, tmp / "out")
    rows = pq.read_table(tmp / "out" / "results", columns=["sid", "score"]).to_pydict()
    engine = dict(zip(rows["sid"], rows["score"], strict=True))
    return np.array([engine[i] for i in ids], dtype=np.float64) - result.fitted.score(X)


# -- the generator's outcomes ------------------------------------------------------------------------------------
def test_outcomes_are_one_row_per_resident_with_features_and_a_default(world: Path) -> None:
    table = pq.read_table(world).to_pandas()
    assert len(table) == RESIDENTS
    assert table["subject_id"].is_unique
    assert set(table["default_12m"].unique()) == {0, 1}
    assert 0.05 < table["default_12m"].mean() < 0.15
    assert {"sex", "age", "district", "profession", "monthly_income", "loan_late"} <= set(table.columns)
    assert "profile" not in table.columns  # the propensity's driver stays hidden
    assert table["monthly_income"].isna().any() and table["monthly_income"].notna().any()


def test_scorecard_outcomes_writes_them_from_the_command_line(world: Path, tmp_path: Path) -> None:
    proc = cli("scorecard", "outcomes", world.parent, "--seed", "5", "--output", tmp_path / "o.parquet")
    assert (proc.returncode, proc.stdout) == (0, f"Wrote {tmp_path / 'o.parquet'}.\n"), proc.stderr
    assert pq.read_table(tmp_path / "o.parquet").equals(pq.read_table(world))
    proc = cli("scorecard", "outcomes", tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"error: {tmp_path}: not a generated population (subjects/, truth/ and records/ are needed)"
    )


def test_outcomes_are_drawn_from_the_seed_and_leave_the_records_alone(world: Path, tmp_path: Path) -> None:
    records = sorted((world.parent / "records").glob("*/*.parquet"))
    before = {p: p.read_bytes() for p in records}
    again = write_outcomes(world.parent, seed=5, out=tmp_path / "again.parquet")
    assert pq.read_table(again).equals(pq.read_table(world))
    other = pq.read_table(write_outcomes(world.parent, seed=6, out=tmp_path / "other.parquet")).to_pandas()
    assert not other["default_12m"].equals(pq.read_table(world).to_pandas()["default_12m"])
    assert {p: p.read_bytes() for p in records} == before


# -- the fit on our own data ---------------------------------------------------------------------------------------
def test_the_scorecard_beats_the_floor_beside_a_plain_regression(fitted: Any) -> None:
    card, plain = fitted.report["scorecard"], fitted.report["logistic_regression"]
    assert card["auc"] > AUC_FLOOR
    assert abs(card["auc"] - plain["auc"]) < 0.05
    assert card["gini"] == pytest.approx(2 * card["auc"] - 1, abs=1e-4)
    assert 0 < card["ks"] < 1
    assert fitted.report["holdout_rows"] == 1_500 and fitted.report["train_rows"] == 3_500


def test_the_exported_policy_scores_every_held_out_subject_within_one_point(fitted: Any, tmp_path: Path) -> None:
    X = fitted.fitted.outcomes.X.loc[fitted.fitted.holdout_index]
    diff = engine_vs_optbinning(fitted, tmp_path, X)
    assert len(diff) == 1_500
    assert np.abs(diff).max() <= 1.0
    assert np.abs(diff).max() == pytest.approx(fitted.report["engine"]["max_difference"], abs=1e-6)


def test_monotonic_trends_hold_and_the_bins_carry_rates_and_points(fitted: Any) -> None:
    bins = fitted.report["bins"]
    for feature in TRENDS:
        rates = [b["event_rate"] for b in bins[feature] if b["kind"] == "range"]
        assert rates == sorted(rates), (feature, rates)
    income = [b for b in bins["monthly_income"] if b["kind"] == "missing"]
    assert income and income[0]["count"] > 0  # residents with no employment record
    policy = fitted.policy_text
    assert "feature == 'monthly_income' and feature_number is null" in policy


def test_reasons_name_the_bins_in_both_languages(fitted: Any) -> None:
    loaded = load_policy_text(fitted.policy_text)
    rule = next(r for r in loaded.policy.rules if r.id.startswith("monthly_income.bin_") and "<" in (r.when or ""))
    assert rule.reason.en.startswith("monthly_income ")
    assert f"(bin {rule.id.split('_')[-1]})" in rule.reason.en
    assert rule.reason.zh.startswith("monthly_income：") and "档）" in rule.reason.zh
    assert all(r.points > 0 for r in loaded.policy.rules)


def load_policy_text(text: str) -> Any:
    from socialcredit.policy.load import parse_policy

    return parse_policy(text)


def test_sex_is_set_aside_and_age_is_protected_under_eu(world: Path) -> None:
    cn = read_outcomes(world, "default_12m")
    assert "sex" not in cn.features and "age" in cn.features
    assert cn.protected == {"sex": "sex"}
    eu = read_outcomes(world, "default_12m", profile="eu")
    assert "age" not in eu.features and eu.protected == {"sex": "sex", "age": "age"}


def test_a_protected_attribute_named_as_a_feature_is_refused(world: Path) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        read_outcomes(world, "default_12m", features=["loan_late", "sex"])
    assert caught.value.code == "protected_feature"
    proc = cli("scorecard", "fit", world, "--target", "default_12m", "--features", "loan_late,age", "--profile", "us")
    refused(
        proc,
        "protected_feature",
        "'age' is a protected attribute (age) under the us profile; it cannot be a feature of a scorecard. Leave it "
        "out of --features (it is then used only to report proxies)",
    )


# -- a hand-made CSV: mixed types, missing values, a target of two words ---------------------------------------------
def mixed_csv(path: Path, n: int = 600, seed: int = 3) -> Path:
    rng = np.random.default_rng(seed)
    income = rng.integers(1_000, 20_000, n).astype(float)
    purpose = rng.choice(["car", "education", "business", 'it\'s "odd"'], n).astype(object)
    title = rng.choice(["Mr", "Ms"], n)
    sex = np.where(rng.random(n) < 0.9, np.where(title == "Mr", "M", "F"), np.where(title == "Mr", "F", "M"))
    logit = -2.5 + 2.0 * (purpose == "business") + 1.5 * (income < 5_000)
    bad = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "bad", "good")
    frame = pd.DataFrame({"income": income, "purpose": purpose, "title": title, "sex": sex, "outcome": bad})
    frame.loc[rng.random(n) < 0.1, "income"] = np.nan
    frame.loc[rng.random(n) < 0.1, "purpose"] = None
    frame.to_csv(path, index=False)
    return path


def test_a_csv_with_a_categorical_column_and_missing_values_fits(tmp_path: Path) -> None:
    path = mixed_csv(tmp_path / "loans.csv")
    report, policy = tmp_path / "report.json", tmp_path / "policy.yaml"
    proc = cli(
        "scorecard", "fit", path, "--target", "outcome", "--event", "bad", "--output", policy, "--report", report
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(report.read_text("utf-8"))
    assert data["event"] == "bad"
    assert {f["column"]: f["kind"] for f in data["features"]} == {
        "income": "numeric",
        "purpose": "categorical",
        "title": "categorical",
    }
    assert data["engine"]["max_difference"] <= 1.0
    assert data["scorecard"]["auc"] > 0.6
    assert "The engine scores the 180 held-out rows within" in proc.stdout
    # title stands for sex nine times in ten: reported as a proxy, and sex itself was set aside
    assert data["protected"] == {"sex": "sex"}
    proxy = next(p for p in data["proxies"] if p["feature"] == "title")
    assert proxy["proxy"] and proxy["cramers_v"] > PROXY_THRESHOLD
    assert f"Proxy: title is associated with sex (Cramér's V {proxy['cramers_v']} > {PROXY_THRESHOLD})." in proc.stdout
    assert "feature_text in ['it\\'s \"odd\"']" in policy.read_text("utf-8")
    zh = cli("scorecard", "fit", path, "--target", "outcome", "--event", "bad", "--lang", "zh")
    assert zh.returncode == 0, zh.stderr
    assert "│ 普通逻辑回归 " in zh.stdout
    assert "- 受保护属性不作为特征（仅用于检查代理变量）：sex (sex)\n" in zh.stdout


def test_column_names_and_values_that_read_as_markup_are_printed_as_written(tmp_path: Path) -> None:
    """A feature named ``[red]x[/]`` or ``[/]`` and a category ``[bold]w`` are printed as written (the console
    reads no Rich markup: the names are data), with no backslash of an escape left in them."""
    rng = np.random.default_rng(1)
    n = 600
    a = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "[red]x[/]": a,
            "[/]": rng.choice(["u", "v", "[bold]w"], size=n),
            "outcome": (rng.random(n) < 1 / (1 + np.exp(-a))).astype(int),
        }
    )
    path = tmp_path / "[red]marked[/].csv"  # a folder "[red]marked[", a file "].csv"
    path.parent.mkdir()
    frame.to_csv(path, index=False)
    proc = cli("scorecard", "fit", path, "--target", "outcome")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith(f"Scorecard on {path} (target outcome, event 1): 600 rows,"), proc.stdout
    rows = [[c.strip() for c in line.split("│")[1:4]] for line in proc.stdout.splitlines() if line.startswith("│ [")]
    assert ["[red]x[/]", "1", "[-inf, -1.047)"] in rows, proc.stdout
    assert ["[/]", "1", "[bold]w"] in rows, proc.stdout
    assert "\\" not in proc.stdout
    missing = cli("scorecard", "fit", path, "--target", "[/]y")
    assert missing.returncode == EXIT_CODES["target_missing"], missing.stderr
    assert "'[/]y'" in missing.stderr and "Traceback" not in missing.stderr


def test_a_category_never_seen_scores_as_optbinning_scores_it(tmp_path: Path) -> None:
    result = fit_outcomes(mixed_csv(tmp_path / "loans.csv"), "outcome", event="bad")
    X = result.fitted.outcomes.X.iloc[:5].copy()
    X["purpose"] = ["boat", None, "car", "education", "business"]
    assert np.abs(engine_vs_optbinning(result, tmp_path, X)).max() <= 1.0


def test_a_pdo_scale_scores_within_one_point_too(tmp_path: Path) -> None:
    result = fit_outcomes(
        mixed_csv(tmp_path / "loans.csv"), "outcome", event="bad", scale=scale_from_options(None, None, 20, 50, 600)
    )
    assert result.report["scale"] == {"method": "pdo_odds", "pdo": 20, "odds": 50, "scorecard_points": 600}
    assert result.report["engine"]["max_difference"] <= 1.0


def test_a_feature_of_many_long_values_fits_and_one_too_long_is_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    n = 2_000
    shop = np.array([f"shop number {i:02d} on a rather long street" for i in range(40)], dtype=object)
    which = rng.integers(0, 40, n)
    y = (rng.random(n) < np.where(which < 20, 0.05, 0.3)).astype(int)
    path = tmp_path / "shops.csv"
    pd.DataFrame({"shop": shop[which], "y": y}).to_csv(path, index=False)
    result = fit_outcomes(path, "y")
    assert max(len(b.values) for b in result.fitted.bins["shop"]) >= 5  # bins of several values
    assert "feature_text not in ['shop number 00 on a rather long street', " in result.policy_text  # all 40
    X = result.fitted.outcomes.X.iloc[:50].copy()
    X.iloc[0, 0] = "a shop that opened after the fit"
    assert np.abs(engine_vs_optbinning(result, tmp_path, X)).max() <= 1.0
    longer = tmp_path / "longer.csv"
    pd.DataFrame({"shop": [f"{v} in the northern district" for v in shop[which]], "y": y}).to_csv(longer, index=False)
    refused(
        cli("scorecard", "fit", longer, "--target", "y"),
        "limit_exceeded",
        f"{longer}: the 40 values of 'shop' take 2680 characters written out; a categorical feature's values may take "
        "at most 1700 (the exported policy names them in one condition): shorten or group them, or leave it out "
        "with --exclude",
    )


# -- refusals: exact messages, exit codes of the console script ------------------------------------------------------
def test_a_records_folder_that_is_not_empty_is_refused_before_fitting(tmp_path: Path) -> None:
    """--records writes into an empty or new folder: one that is not (or a file) is refused before the fit and
    before --output is written (it was refused after fitting, with the exported policy already written)."""
    loans = mixed_csv(tmp_path / "loans.csv")
    full = tmp_path / "full"
    full.mkdir()
    (full / "kept.txt").write_text("mine", "utf-8")
    a_file = tmp_path / "a_file"
    a_file.write_text("mine", "utf-8")
    for records in (full, a_file):
        policy = tmp_path / "policy.yaml"
        proc = cli(
            "scorecard", "fit", loans, "--target", "outcome", "--event", "bad", "--records", records, "--output", policy
        )
        assert (proc.returncode, proc.stdout) == (2, "")
        assert " ".join(proc.stderr.split()) == (
            f"error: {records} is not an empty folder; --records writes into an empty or new folder"
        )
        assert not policy.exists()
    assert (full / "kept.txt").read_text("utf-8") == "mine" and a_file.read_text("utf-8") == "mine"


def test_refusals_have_their_messages_and_exit_codes(tmp_path: Path) -> None:
    loans = mixed_csv(tmp_path / "loans.csv")
    frame = pd.read_csv(loans)
    empty = tmp_path / "empty.csv"
    empty.write_text("", "utf-8")
    refused(
        cli("scorecard", "fit", empty, "--target", "outcome"),
        "empty_outcomes",
        f"{empty}: the file is empty; give a header and at least one row",
    )
    header = tmp_path / "header.csv"
    header.write_text("a,b\n", "utf-8")
    refused(
        cli("scorecard", "fit", header, "--target", "a"),
        "empty_outcomes",
        f"{header}: no rows; give a header and at least one row",
    )
    refused(
        cli("scorecard", "fit", loans, "--target", "default"),
        "target_missing",
        f"{loans}: no column 'default'; the file's columns are income, purpose, title, sex, outcome",
    )
    refused(
        cli("scorecard", "fit", loans, "--target", "purpose"),
        "target_not_binary",
        f"{loans}: purpose takes 4 values ('business', 'car', 'education', 'it\\'s \"odd\"'); a target has two "
        "(0 and 1, or two values and --event naming the event)",
    )
    refused(
        cli("scorecard", "fit", loans, "--target", "outcome"),
        "target_not_binary",
        f"{loans}: outcome takes 'bad' and 'good', not 0 and 1; say which is the event with --event VALUE",
    )
    one = tmp_path / "one.csv"
    frame.assign(outcome="good").to_csv(one, index=False)
    refused(
        cli("scorecard", "fit", one, "--target", "outcome"),
        "target_one_class",
        f"{one}: outcome takes one value ('good'); a scorecard needs rows of both outcomes",
    )
    constant = tmp_path / "constant.csv"
    frame.assign(branch="north").to_csv(constant, index=False)
    refused(
        cli("scorecard", "fit", constant, "--target", "outcome", "--event", "bad"),
        "feature_constant",
        f"{constant}: feature 'branch' takes one value ('north'); it cannot tell outcomes apart. Leave it out with "
        "--exclude",
    )
    refused(  # it was taken: the target as the identifier too, and a subject_id column as a feature
        cli("scorecard", "fit", loans, "--target", "outcome", "--event", "bad", "--id", "outcome"),
        "invalid_option",
        "--id names the target 'outcome'; the identifier is another column",
    )
    refused(  # refused before fitting, exit 20 (it fitted, then ended in exit 2 naming "<scorecard bad id!>:4")
        cli("scorecard", "fit", loans, "--target", "outcome", "--event", "bad", "--policy-id", "bad id!"),
        "invalid_option",
        "--policy-id: 'bad id!' is not a valid id: use lower-case letters, digits, '_' and '.', starting with a letter",
    )
    refused(
        cli("scorecard", "fit", loans, "--target", "outcome", "--event", "bad", "--exclude", "colour"),
        "unknown_column",
        f"{loans}: no column 'colour' (named by an option)",
    )
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"c{i}" for i in range(LIMITS["columns"] + 1)) + "\n", "utf-8")
    refused(
        cli("scorecard", "fit", wide, "--target", "c0"),
        "limit_exceeded",
        f"{wide}: {LIMITS['columns'] + 1} columns; an outcome file may have at most {LIMITS['columns']}",
    )
    many = tmp_path / "many.csv"
    frame.assign(code=[f"k{i}" for i in range(len(frame))]).to_csv(many, index=False)
    refused(
        cli("scorecard", "fit", many, "--target", "outcome", "--event", "bad"),
        "limit_exceeded",
        f"{many}: 'code' has 600 distinct values; a categorical feature may have at most {LIMITS['categories']} "
        "(leave it out with --exclude, or group its values)",
    )
    few = tmp_path / "few.csv"
    frame.head(10).to_csv(few, index=False)
    refused(
        cli("scorecard", "fit", few, "--target", "outcome", "--event", "bad"),
        "too_few_rows",
        f"{few}: 10 rows with a target; a scorecard needs at least 20",
    )
    refused(
        cli("scorecard", "fit", loans, "--target", "outcome", "--event", "bad", "--monotonic", "income=up"),
        "invalid_option",
        "--monotonic 'income=up': write COLUMN=TREND with TREND one of ascending, descending, auto",
    )
    refused(
        cli("scorecard", "fit", loans, "--target", "outcome", "--holdout", "0.9"),
        "invalid_option",
        "--holdout 0.9: give a share from 0.05 to 0.5",
    )
    refused(
        cli("scorecard", "fit", tmp_path / "nothing.csv", "--target", "outcome"),
        "unreadable_outcomes",
        f"{tmp_path / 'nothing.csv'}: no such file; give a CSV or Parquet file of outcomes",
    )
    flat = tmp_path / "flat.csv"
    # 20 rows whose 14 training rows (seed 0) give neither feature a split: every bin has the same weight
    flat.write_text(
        "amount,kind,y\n-651.79,k0,0\n-174.72,k1,1\n1663.72,k0,1\n659.15,k1,1\n-1641.4,k0,1\n-5.2,k1,1\n"
        "-623.46,k0,1\n148.63,k0,1\n-1608.19,k1,0\n241.77,k0,0\n235.38,k0,1\n1575.63,k0,1\n316.65,k1,0\n"
        "510.55,k1,0\n-1493.12,k0,0\n2252.73,k1,1\n-1915.65,k1,0\n1101.8,k0,0\n-329.9,k0,0\n-880.65,k0,0\n",
        "utf-8",
    )
    refused(
        cli("scorecard", "fit", flat, "--target", "y"),
        "no_signal",
        f"{flat}: no feature tells the outcomes apart in the 14 training rows (every bin has the same event rate), "
        "so there are no points to give; add rows or features",
    )
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    proc = cli("scorecard", "fit", broken, "--target", "outcome")
    assert proc.returncode == EXIT_CODES["unreadable_outcomes"], proc.stderr
    assert proc.stderr.startswith(f"error: {broken}: cannot be read as parquet: ")


def test_the_exported_policy_runs_with_score_input(fitted: Any, tmp_path: Path) -> None:
    """The records of every outcome row, scored by `socialcredit score --input` under the exported policy."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(fitted.policy_text, "utf-8")
    X = fitted.fitted.outcomes.X.iloc[:300]
    ids = write_records(fitted.fitted, X, tmp_path / "input")
    proc = cli("score", "--policy", policy, "--input", tmp_path / "input", "--as-of", AS_OF, "--out", tmp_path / "out")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = pq.read_table(tmp_path / "out" / "results", columns=["sid", "score"]).to_pydict()
    engine = dict(zip(rows["sid"], rows["score"], strict=True))
    assert np.abs(np.array([engine[i] for i in ids]) - fitted.fitted.score(X)).max() <= 1.0


# -- hypothesis: malformed files and options get a documented refusal, never anything else ---------------------------
CELLS = st.one_of(
    st.sampled_from(["", "0", "1", "1.5", "-3", "nan", "inf", "yes", "no", "NA", "a", "b", '"', "x,y", "1e400"]),
    st.text(alphabet=string.printable, max_size=6),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    header=st.lists(st.sampled_from(["t", "a", "b", "sex", "age", "t"]), min_size=0, max_size=5),
    rows=st.lists(st.lists(CELLS, min_size=0, max_size=6), max_size=30),
    target=st.sampled_from(["t", "a", "missing"]),
    event=st.one_of(st.none(), st.sampled_from(["1", "a", "zz"])),
    features=st.one_of(st.none(), st.lists(st.sampled_from(["a", "b", "sex", "t", "nope"]), max_size=3)),
)
def test_malformed_outcome_files_are_refused_with_documented_codes(
    tmp_path: Path,
    header: list[str],
    rows: list[list[str]],
    target: str,
    event: str | None,
    features: list[str] | None,
) -> None:
    path = tmp_path / "h.csv"
    lines = [",".join(header)] + [",".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n" if header or rows else "", "utf-8")
    try:
        outcomes = read_outcomes(path, target, event=event, features=features)
    except LimitError:
        return
    except InvalidRequestError as exc:
        assert exc.code in EXIT_CODES, exc.code
        assert str(exc)
        return
    assert set(outcomes.y.unique()) == {0, 1}
    assert target not in outcomes.features and "sex" not in outcomes.features


# 3 examples (6 until 2026-12-07): each starts the console script, about 1.4 s of CPU; the reader's own property test
# above feeds it 60 files in process
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    header=st.lists(st.sampled_from(["t", "a", "b", "sex"]), min_size=1, max_size=4),
    rows=st.lists(st.lists(CELLS, min_size=1, max_size=4), min_size=0, max_size=40),
)
def test_the_console_script_answers_malformed_files_with_a_documented_code(
    tmp_path: Path, header: list[str], rows: list[list[str]]
) -> None:
    path = tmp_path / "h.csv"
    path.write_text("\n".join([",".join(header)] + [",".join(r) for r in rows]) + "\n", "utf-8")
    proc = cli("scorecard", "fit", path, "--target", "t")
    assert proc.returncode in {0, *EXIT_CODES.values()}, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr and "internal error" not in proc.stderr
    if proc.returncode:
        assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr


@settings(max_examples=200, deadline=None)
@given(
    items=st.lists(st.text(alphabet=string.ascii_letters + "=_ ,", max_size=20), max_size=4),
    numbers=st.lists(
        st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-2000, 2000).map(float)),
        min_size=5,
        max_size=5,
    ),
)
def test_options_are_checked_or_refused_as_invalid(items: list[str], numbers: list[float | None]) -> None:
    try:
        trends = parse_monotonic(items)
    except InvalidRequestError as exc:
        assert exc.code == "invalid_option"
    else:
        assert all(t in ("ascending", "descending", "auto") for t in trends.values())
    try:
        scale = scale_from_options(*numbers)
    except InvalidRequestError as exc:
        assert exc.code == "invalid_option"
    else:
        if scale.method == "min_max":
            assert scale.max - scale.min >= 10
        else:
            assert min(scale.pdo, scale.odds, scale.base_points) > 0


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    n=st.integers(20, 120),
    seed=st.integers(0, 10_000),
    missing=st.floats(0, 0.9),
    categories=st.integers(1, 8),
    scale=st.sampled_from([(None, None), (0.0, 100.0), (300.0, 850.0)]),
)
def test_any_small_mixed_file_fits_within_one_point_or_is_refused(
    tmp_path: Path, n: int, seed: int, missing: float, categories: int, scale: tuple[float | None, float | None]
) -> None:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "amount": np.round(rng.normal(0, 1000, n), 2),
            "kind": rng.choice([f"k{i}" for i in range(categories)], n).astype(object),
            "y": rng.integers(0, 2, n),
        }
    )
    frame.loc[rng.random(n) < missing, "amount"] = np.nan
    frame.loc[rng.random(n) < missing, "kind"] = None
    path = tmp_path / "small.csv"
    frame.to_csv(path, index=False)
    try:
        result = fit_outcomes(path, "y", scale=scale_from_options(*scale, None, None, None))
    except InvalidRequestError as exc:
        assert exc.code in EXIT_CODES or isinstance(exc, LimitError), exc.code
        return
    assert result.report["engine"]["max_difference"] <= 1.0


@settings(max_examples=500, deadline=None)
@given(st.floats(min_value=-9.99e14, max_value=9.99e14, allow_nan=False, allow_infinity=False))
def test_bin_bounds_are_written_as_numbers_the_language_takes(value: float) -> None:
    from socialcredit.policy.expr import parse
    from socialcredit.scorecard.export import _number

    text = _number(value)
    assert len(text.lstrip("-")) <= 18 and "e" not in text
    assert abs(float(text) - value) <= (1e-16 if abs(value) < 1 else abs(value) * 1e-15)
    if len(np.format_float_positional(abs(value), unique=True, trim="-")) <= 18:
        assert float(text) == value  # exact whenever the shortest decimal fits
    parse(f"feature_number >= {text}")


def test_the_scorecard_s_lang_says_its_errors_in_chinese(tmp_path: Path) -> None:
    """`scorecard fit --lang zh` tells its errors in Chinese, as every command with the shared --lang does (they were
    English whatever --lang said); a --lang neither en nor zh is the shared usage error."""
    outcomes = tmp_path / "o.csv"
    outcomes.write_text("id,outcome\n1,bad\n", "utf-8")
    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("", "utf-8")
    fit = ("scorecard", "fit", outcomes, "--target", "outcome")
    proc = cli(*fit, "--records", full, "--lang", "zh")
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        2,
        "",
        f"错误：{full} 不是空文件夹；--records 写入空的或新的文件夹\n",
    )
    proc = cli(*fit, "--pdo", "0", "--odds", "1", "--base-points", "1", "--lang", "zh")
    assert (proc.returncode, proc.stderr) == (20, "错误：--pdo 0：请给出大于 0 的数\n")
    proc = cli(*fit, "--pdo", "0", "--odds", "1", "--base-points", "1")
    assert (proc.returncode, proc.stderr) == (20, "error: --pdo 0: give a number above 0\n")
    proc = cli(*fit, "--lang", "fr")
    assert proc.returncode == 2 and "Invalid value for '--lang': 'fr': give en or zh" in proc.stderr


def test_options_are_refused_before_pandas_or_optbinning_is_loaded(tmp_path: Path) -> None:
    """A refused option (--records not empty, --monotonic, a scale, --holdout) is answered before the outcome file is
    read and before pandas, scikit-learn or optbinning is loaded (about a second at each start): the console's entry
    point, run in a fresh interpreter, exits with each refusal's code and has loaded none of them."""
    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("", "utf-8")
    fit = ["scorecard", "fit", str(tmp_path / "none.csv"), "--target", "outcome"]
    asked = [
        [*fit, "--records", str(full)],
        [*fit, "--monotonic", "income=up"],
        [*fit, "--pdo", "0", "--odds", "1", "--base-points", "1"],
        [*fit, "--holdout", "0.9"],
    ]
    program = (
        "import json, sys\nfrom socialcredit.cli import main\ncodes = []\n"
        f"for argv in {asked!r}:\n"
        "    sys.argv = ['socialcredit', *argv]\n"
        "    try:\n        main()\n    except SystemExit as exc:\n        codes.append(exc.code)\n"
        "print(json.dumps([codes, sorted(m for m in ('pandas', 'sklearn', 'optbinning') if m in sys.modules)]))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}
    proc = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == [[2, 20, 20, 20], []], proc.stdout + proc.stderr
    assert proc.stderr.splitlines() == [
        f"error: {full} is not an empty folder; --records writes into an empty or new folder",
        "error: --monotonic 'income=up': write COLUMN=TREND with TREND one of ascending, descending, auto",
        "error: --pdo 0: give a number above 0",
        "error: --holdout 0.9: give a share from 0.05 to 0.5",
    ]
