"""The benchmark baselines (benchmarks/baselines) score a generated population exactly as our engine does.

A baseline that disagrees with the engine makes the benchmark meaningless, and a disagreement is a bug on
one side: every subject's score, tier, rank, percentile and list flags must be equal, the total within 1e-9.
The baselines need the `bench` extra (pandas; polars for the Polars baseline, zen-engine for the zen one).

The percentile is the share of a kind at or below a score rounded to hundredths of a percent. Where that
share ends exactly in 5 (10000 * cum / total is a half), rounding it as a double can go the wrong way, and a
random population of a few thousand almost never lands there: the rounding is tested on its own, and end to
end on a population cut from the generated one so that its ranking lands on those values.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import json
import math
import sys
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pd = pytest.importorskip("pandas", reason="the benchmark baselines need pandas (the `bench` extra)")

from socialcredit.catalog import load_catalog  # noqa: E402
from socialcredit.compiler.plan import histogram_ranks  # noqa: E402
from socialcredit.generate import AS_OF, generate  # noqa: E402
from socialcredit.policy import LoadedPolicy, builtin_policy, expr, parse_policy, record_env  # noqa: E402
from socialcredit.registry.records.population import load_population  # noqa: E402
from socialcredit.registry.scoring.policies import publish_policy, resolve_policy  # noqa: E402
from socialcredit.registry.scoring.runs import score  # noqa: E402
from socialcredit.store import Store, open_store  # noqa: E402
from store_copies import copy_of  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESIDENTS = 3000  # the python and zen baselines take about a second each at this size
SEED = 1
POLICIES = ("beijing", "sesame", "beijing_lists", "conditions")
EXACT = ("kind", "score", "tier", "rank", "percentile", "blacklist", "redlist")


def baseline(name: str) -> ModuleType:
    """Import benchmarks.baselines.<name> from the repository root (benchmarks is not an installed package)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    if name == "polars_baseline":
        pytest.importorskip("polars", reason="polars is not installed (the `bench` extra)")
    return importlib.import_module(f"benchmarks.baselines.{name}")


def polars_score(population: Path, loaded: LoadedPolicy) -> Any:
    """The Polars baseline's results as a pandas frame, like the other baselines'."""
    return baseline("polars_baseline").score(population, loaded, AS_OF).to_pandas()


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("baselines") / "population"
    generate(RESIDENTS, out=folder, seed=SEED)
    return folder


def loaded_store(population: Path, folder: Path) -> Store:
    """A store of its own in ``folder`` holding ``population`` (the module's: RESIDENTS generated from SEED) loaded
    as of AS_OF, loaded once per process, then copied (store_copies.copy_of), opened."""

    def load(where: Path) -> Store:
        store = open_store(where / "loaded.duckdb", create=True, key="")
        load_population(store, population, today=AS_OF)
        return store

    return copy_of(folder, f"test_baselines.loaded-{RESIDENTS}-{SEED}", load, db="loaded.duckdb")


def beijing_lists() -> LoadedPolicy:
    """Beijing with AAA and the score floor moved into reach: at this size no one reaches the real AAA (1050)
    or falls below 600, so the redlist and the score criterion of the blacklist would never be compared."""
    text = builtin_policy("beijing").text
    for old, new in (
        ("id: beijing\n", "id: beijing_lists\n"),
        ("{id: AAA, min: 1050,", "{id: AAA, min: 1010,"),
        ("{id: AA, min: 1030,", "{id: AA, min: 990,"),
        ('when: "score < 600"', "when: \"score < 900 and kind == 'person'\""),
    ):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return parse_policy(text, "beijing_lists")


# Conditions the shipped policies do not use, on the tax_payment fields (days_late is null unless late):
# negation, inequality, nulls, arithmetic, division by zero, dates, and conditions compared as values.
TRICKY = [
    "not (status == 'paid')",
    "status != 'late'",
    "days_late is null",
    "not (days_late is not null and status == 'late')",
    "not (days_late > 30)",
    "days_late >= 30 or status != 'late'",
    "not (days_late >= 30 and amount > 1000)",
    "amount / (days_late - days_late) > 1",
    "days_late * 2 - 1 >= 59",
    "-days_late < -60",
    "status not in ['paid', 'evaded']",
    "not (status in ['late'])",
    "event_date >= date('2025-01-01') and event_date < date('2026-01-01')",
]
# Comparisons of comparisons pass expr.check, but the compiler prints them without parentheses
# (`r.days_late > 30 = r.amount > 5000`), which DuckDB refuses: see test_engine_compares_comparisons.
COMPARED_COMPARISONS = ["(days_late > 30) == (amount > 5000)", "(days_late > 30) != true"]


def conditions_policy(conditions: list[str] = TRICKY, policy_id: str = "conditions") -> LoadedPolicy:
    """One rule per condition on tax_payment records, so the engine's SQL meets them too."""
    rules = "".join(
        f"""
  - id: c{i}
    record_type: tax_payment
    when: "{text}"
    dimension: money
    points: {i + 1}
    reason: {{code: C{i}, zh: 条件, en: condition}}"""
        for i, text in enumerate(conditions)
    )
    text = f"""id: {policy_id}
version: "1"
name: {{zh: 条件, en: conditions}}
scale: {{base: 0, min: -100000, max: 100000}}
tiers: [{{id: low, min: -100000}}, {{id: high, min: 10}}]
dimensions: [{{id: money, name: {{zh: 经济, en: money}}}}]
rules:{rules}
"""
    return parse_policy(text, policy_id)


def engine_results(store: Any, run_id: int) -> Any:
    rows = store.rows(
        "SELECT subject_id, kind, total, score, tier, rank, percentile, "
        "list_contains(lists, 'blacklist') AS blacklist, list_contains(lists, 'redlist') AS redlist "
        "FROM run_results WHERE run_id = ?",
        [run_id],
    )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def engine(population: Path) -> dict[str, tuple[LoadedPolicy, Any]]:
    """Per policy: the loaded policy and our engine's results, one row per subject."""
    store = loaded_store(population, population.parent / "registry")
    try:
        out = {}
        for policy_id in POLICIES:
            if policy_id in ("beijing_lists", "conditions"):
                loaded = beijing_lists() if policy_id == "beijing_lists" else conditions_policy()
                publish_policy(store, loaded)
            else:
                loaded = resolve_policy(store, policy_id)
            run = score(store, loaded, AS_OF)
            out[policy_id] = (loaded, engine_results(store, run.run_id))
        return out
    finally:
        store.close()


def assert_same(expected: Any, got: Any, label: str) -> None:
    assert not got["subject_id"].duplicated().any(), f"{label}: a subject appears twice"
    got = got.assign(**{lst: False for lst in ("blacklist", "redlist") if lst not in got})  # no such list
    missing = set(expected["subject_id"]) ^ set(got["subject_id"])
    assert not missing, f"{label}: subjects only on one side: {sorted(missing)[:5]}"
    both = expected.merge(got, on="subject_id", suffixes=("_engine", "_baseline"))
    problems = []
    for column in EXACT:
        a, b = both[f"{column}_engine"], both[f"{column}_baseline"]
        differ = a.astype(object) != b.astype(object)
        if differ.any():
            sample = both.loc[differ, ["subject_id", f"{column}_engine", f"{column}_baseline"]].head(5)
            problems.append(f"{column}: {int(differ.sum())} subjects differ, e.g.\n{sample.to_string()}")
    off = (both["total_engine"] - both["total_baseline"].astype(float)).abs() > 1e-9
    if off.any():
        sample = both.loc[off, ["subject_id", "total_engine", "total_baseline"]].head(5)
        problems.append(f"total: {int(off.sum())} subjects differ by more than 1e-9, e.g.\n{sample.to_string()}")
    assert not problems, f"{label}:\n" + "\n".join(problems)


@pytest.mark.parametrize("policy_id", POLICIES)
def test_pandas_baseline_matches_engine(population: Path, engine: dict[str, Any], policy_id: str) -> None:
    loaded, expected = engine[policy_id]
    assert_same(expected, baseline("pandas_baseline").score(population, loaded, AS_OF), f"pandas/{policy_id}")


@pytest.mark.parametrize("policy_id", POLICIES)
def test_python_baseline_matches_engine(population: Path, engine: dict[str, Any], policy_id: str) -> None:
    loaded, expected = engine[policy_id]
    assert_same(expected, baseline("python_baseline").score(population, loaded, AS_OF), f"python/{policy_id}")


@pytest.mark.parametrize("policy_id", POLICIES)
def test_polars_baseline_matches_engine(population: Path, engine: dict[str, Any], policy_id: str) -> None:
    loaded, expected = engine[policy_id]
    assert_same(expected, polars_score(population, loaded), f"polars/{policy_id}")


def test_polars_baseline_is_one_lazy_query(population: Path) -> None:
    """Scans and nothing read before the single collect: the plan starts from the Parquet files."""
    pl = pytest.importorskip("polars", reason="polars is not installed (the `bench` extra)")
    query = baseline("polars_baseline").score_lazy(population, builtin_policy("beijing"), AS_OF)
    assert isinstance(query, pl.LazyFrame)
    plan = query.explain()
    assert "Parquet SCAN" in plan
    assert "DF [" not in plan  # no frame read eagerly and handed to the plan


@pytest.mark.parametrize("policy_id", POLICIES)
def test_zen_baseline_matches_engine(population: Path, engine: dict[str, Any], policy_id: str) -> None:
    pytest.importorskip("zen", reason="zen-engine is not installed (the `bench` extra)")
    loaded, expected = engine[policy_id]
    assert_same(expected, baseline("zen_baseline").score(population, loaded, AS_OF), f"zen/{policy_id}")


def test_the_population_exercises_the_comparison(engine: dict[str, Any]) -> None:
    """The comparison is only as good as the population: organisations, ties, and both lists must occur."""
    _, results = engine["beijing"]
    assert set(results["kind"]) == {"person", "org"}
    assert results["blacklist"].any()
    assert results["tier"].nunique() >= 4
    assert results["score"].duplicated().any()  # ties, so RANK and CUME_DIST are compared on peers
    _, variant = engine["beijing_lists"]
    assert variant["redlist"].any() and (variant["tier"] == "AAA").any()
    assert variant["blacklist"].sum() > results["blacklist"].sum()
    _, conditions = engine["conditions"]
    assert conditions["total"].nunique() > 10


def tax_records(folder: Path) -> Any:
    frames = [pd.read_parquet(p) for p in sorted((folder / "records" / "tax_bureau").glob("*.parquet"))]
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("text", TRICKY + COMPARED_COMPARISONS)
def test_condition_translations_follow_sql_logic(population: Path, text: str) -> None:
    """pandas masks and zen expressions agree with expr.evaluate (SQL three-valued logic) on every record."""
    env = record_env(load_catalog().record_types["tax_payment"].fields)
    node = expr.check(expr.parse(text), env, text=text)
    records = tax_records(population)
    rows = records.to_dict("records")
    for row in rows:
        for key, value in row.items():
            if pd.isna(value):
                row[key] = None  # as a record read with pyarrow carries a missing value
    expected = [expr.evaluate(node, row) is True for row in rows]
    assert 0 < sum(expected) < len(expected) or text.startswith("amount /"), "a condition that tells nothing apart"

    pandas_baseline = baseline("pandas_baseline")
    frame = records.assign(event_date=pd.to_datetime(records["event_date"]))
    mask = pandas_baseline.condition_mask(node, lambda name: frame[name], frame.index)
    assert mask.tolist() == expected, "pandas"

    zen = pytest.importorskip("zen", reason="zen-engine is not installed (the `bench` extra)")
    zen_baseline = baseline("zen_baseline")
    decision = zen.ZenEngine(
        {
            "loader": {
                "type": "static",
                "content": {"c": zen_baseline.decision_graph([("c", zen_baseline.to_zen(node))])},
            }
        }
    )

    def zen_value(value: Any) -> Any:
        return value.toordinal() if isinstance(value, dt.date) else value

    names = sorted(expr.names_in(node))
    got = [decision.evaluate("c", {n: zen_value(row[n]) for n in names})["result"].get("c") is True for row in rows]
    assert got == expected, "zen"


@pytest.mark.parametrize("text", TRICKY + COMPARED_COMPARISONS)
def test_polars_conditions_follow_sql_logic(population: Path, text: str) -> None:
    """Polars expressions agree with expr.evaluate (SQL three-valued logic) on every record."""
    pl = pytest.importorskip("polars", reason="polars is not installed (the `bench` extra)")
    env = record_env(load_catalog().record_types["tax_payment"].fields)
    node = expr.check(expr.parse(text), env, text=text)
    records = pl.read_parquet(sorted((population / "records" / "tax_bureau").glob("*.parquet")))
    expected = [expr.evaluate(node, row) is True for row in records.iter_rows(named=True)]
    condition = baseline("polars_baseline").condition(node, pl.col)
    got = records.select(condition.fill_null(False)).to_series().to_list()
    assert got == expected


def test_scan_bound(population: Path, tmp_path: Path) -> None:
    scan_bound = baseline("scan_bound")
    assert 'sum(hash("event_date"))' in scan_bound.scan_sql(population)
    assert 0 < scan_bound.scan(population) < 60
    store = loaded_store(population, tmp_path / "scan")
    try:
        assert "FROM records" in scan_bound.scan_store_sql(store)
        assert 0 < scan_bound.scan_store(store) < 60
    finally:
        store.close()


def test_engine_compares_comparisons(population: Path, tmp_path: Path) -> None:
    loaded = conditions_policy(COMPARED_COMPARISONS, "compared")
    store = loaded_store(population, tmp_path / "compared")
    try:
        publish_policy(store, loaded)
        expected = engine_results(store, score(store, loaded, AS_OF).run_id)
    finally:
        store.close()
    assert_same(expected, baseline("pandas_baseline").score(population, loaded, AS_OF), "pandas/compared")
    assert_same(expected, polars_score(population, loaded), "polars/compared")


# -- the percentile: every baseline rounds as the engine does, exact halves included ----------------------------


@functools.cache
def engine_percentile_sql() -> str:
    """The engine's own percentile expression, from the ranks of a histogram the ranked stage of a score plan and
    every stored run's histogram use (compiler.plan.histogram_ranks; it reads cum and total)."""
    (percentile,) = [e for e in histogram_ranks().expressions if e.alias == "percentile"]
    return str(percentile.this.sql(dialect="duckdb"))


def engine_percentiles(cum: list[int], total: list[int]) -> list[float]:
    """The engine's percentile of each (cum, total), evaluated by DuckDB."""
    frame = pd.DataFrame({"i": range(len(cum)), "cum": cum, "total": total}, dtype="int64")
    with duckdb.connect() as con:
        con.register("h", frame)
        rows = con.execute(f"SELECT {engine_percentile_sql()} FROM h ORDER BY i").fetchall()
    return [row[0] for row in rows]


def exact_percentile(cum: int, total: int) -> float:
    """100 * cum / total rounded half up to 2 places, in exact arithmetic, as the double of its digits."""
    hundredths = int(Fraction(10000 * cum, total) + Fraction(1, 2))  # floor: both are positive
    return float(Fraction(hundredths, 100))


def python_percentiles(cum: list[int], total: list[int]) -> list[float]:
    common = baseline("_common")
    return [common.percentile(c, t) for c, t in zip(cum, total, strict=True)]


def pandas_percentiles(cum: list[int], total: list[int]) -> list[float]:
    values = baseline("pandas_baseline").percentile(pd.Series(cum), pd.Series(total))
    return [float(v) for v in values]


def polars_percentiles(cum: list[int], total: list[int]) -> list[float]:
    pl = pytest.importorskip("polars", reason="polars is not installed (the `bench` extra)")
    frame = pl.DataFrame({"cum": cum, "total": total}, schema={"cum": pl.Int64, "total": pl.Int64})
    column = frame.lazy().select(baseline("polars_baseline").percentile(pl.col("cum"), pl.col("total")))
    return list(column.collect(engine="streaming").to_series().to_list())


# python_baseline's function is zen_baseline's too (both finish subjects in score_with)
PERCENTILES = {"python": python_percentiles, "pandas": pandas_percentiles, "polars": polars_percentiles}


def half_pairs() -> tuple[list[int], list[int]]:
    """(cum, total) pairs covering every cum of small totals and exact halves of large ones."""
    pairs = [(c, t) for t in range(1, 201) for c in range(1, t + 1)]
    for total in (2560, 3200, 100_000, 1_000_000, 10_000_000):  # the lowest and highest 2 000 of each
        pairs += [(c, total) for c in sorted({*range(1, 2001), *range(total - 1999, total + 1)})]
    # 20000 * cum / total odd: cum = q * k, total = 20000 * k for odd q
    pairs += [(q * k, 20000 * k) for k in (1, 3, 7, 64, 499) for q in range(1, 20000, 2)]
    cum, total = zip(*pairs, strict=True)
    return list(cum), list(total)


def test_engine_percentile_is_exact_rounding() -> None:
    cum, total = half_pairs()
    halves = sum((20000 * c) % t == 0 and (20000 * c // t) % 2 == 1 for c, t in zip(cum, total, strict=True))
    assert halves > 10_000, "the pairs must hold exact halves, where a double's rounding can go either way"
    expected = [exact_percentile(c, t) for c, t in zip(cum, total, strict=True)]
    assert engine_percentiles(cum, total) == expected


@pytest.mark.parametrize("name", sorted(PERCENTILES))
def test_baseline_percentile_equals_engine(name: str) -> None:
    cum, total = half_pairs()
    expected = engine_percentiles(cum, total)
    got = PERCENTILES[name](cum, total)
    wrong = [(c, t, e, g) for c, t, e, g in zip(cum, total, expected, got, strict=True) if e != g]
    assert not wrong, f"{name}: {len(wrong)} of {len(cum)} differ, e.g. (cum, total, engine, baseline) {wrong[:5]}"


TOTAL_MAX = 10**7


@st.composite
def cum_total(draw: st.DrawFn) -> tuple[int, int]:
    if draw(st.booleans()):  # an exact half: 20000 * cum / total = q, odd
        k = draw(st.integers(1, TOTAL_MAX // 20000))
        q = draw(st.integers(0, 9999)) * 2 + 1
        return q * k, 20000 * k
    total = draw(st.integers(1, TOTAL_MAX))
    return draw(st.integers(1, total)), total


@pytest.mark.parametrize("name", sorted(PERCENTILES))
@settings(max_examples=60, deadline=None)
@given(pairs=st.lists(cum_total(), min_size=1, max_size=40))
def test_baseline_percentile_property(name: str, pairs: list[tuple[int, int]]) -> None:
    """For every 1 <= cum <= total <= 10^7: the baseline's percentile is the exact rounding, and the engine's."""
    cum, total = [c for c, _ in pairs], [t for _, t in pairs]
    expected = [exact_percentile(c, t) for c, t in pairs]
    assert PERCENTILES[name](cum, total) == expected
    assert engine_percentiles(cum, total) == expected


# -- end to end on exact halves: residents picked so that the ranking lands where a double rounds wrong -------------

HALVES_TOTAL = 160  # 10000 * cum / 160 is a half for every odd cum; 100 * cum / 160 as a double rounds 5 of them wrong
BASELINES = ("pandas", "polars", "python", "zen")


def rounded_as_double(cum: int, total: int) -> float:
    """The share rounded as the baselines once did: 100 * cum / total as a double, then half up (ROUND(x, 2))."""
    scaled = 100.0 * (cum / total) * 100.0
    lower = math.floor(scaled)
    return (lower + (1.0 if scaled - lower >= 0.5 else 0.0)) / 100.0


def wrong_as_double(results: Any) -> int:
    """How many subjects' percentile, rounded as a double, would differ from the exact rounding."""
    wrong = 0
    for _, group in results.groupby("kind"):
        cum = group["score"].map(group["score"].value_counts().sort_index().cumsum())
        wrong += sum(rounded_as_double(c, len(group)) != exact_percentile(c, len(group)) for c in cum)
    return wrong


def pick_residents(results: Any, total: int = HALVES_TOTAL) -> list[str]:
    """``total`` residents, lowest scores first, taken so that the count at or below a score passes through every
    cum where rounding as a double goes wrong (scores do not depend on who else is scored)."""
    targets = [c for c in range(1, total + 1) if rounded_as_double(c, total) != exact_percentile(c, total)]
    targets.append(total)
    picked: list[str] = []
    for _, group in results[results["kind"] == "person"].groupby("score"):  # ascending scores
        target = next(t for t in targets if t > len(picked))
        picked += sorted(group["subject_id"])[: target - len(picked)]
        if len(picked) == total:
            return picked
    raise AssertionError(f"only {len(picked)} residents to pick from")


def cut_population(source: Path, out: Path, subject_ids: list[str]) -> Path:
    """A population folder holding only these residents: their subjects, records and consents."""
    keep = pa.array(subject_ids)
    for path in sorted(source.rglob("*.parquet")):
        relative = path.relative_to(source)
        if relative.parts[0] == "truth" or path.stem == "orgs":
            continue
        table = pq.read_table(path)
        if "subject_id" in table.column_names:
            table = table.filter(pc.is_in(table["subject_id"], value_set=keep))
        (out / relative).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, out / relative)
    return out


@pytest.fixture(scope="module")
def halves(population: Path, engine: dict[str, Any]) -> dict[str, tuple[LoadedPolicy, Path, Any]]:
    """Per policy (beijing, sesame): the policy, a population of HALVES_TOTAL residents and the engine's results."""
    out = {}
    for policy_id in ("beijing", "sesame"):
        loaded, results = engine[policy_id]
        folder = cut_population(population, population.parent / f"halves-{policy_id}", pick_residents(results))
        store = open_store(folder.with_suffix(".duckdb"), create=True, key="")
        try:
            load_population(store, folder, today=AS_OF)
            loaded = resolve_policy(store, policy_id)
            out[policy_id] = (loaded, folder, engine_results(store, score(store, loaded, AS_OF).run_id))
        finally:
            store.close()
    return out


@pytest.mark.parametrize("policy_id", ["beijing", "sesame"])
def test_halves_population_lands_on_halves(halves: dict[str, Any], policy_id: str) -> None:
    _, _, expected = halves[policy_id]
    assert len(expected) == HALVES_TOTAL
    assert wrong_as_double(expected) >= 5  # the cum values a double rounds wrong, at least once each
    total = len(expected)
    cum = expected["score"].map(expected["score"].value_counts().sort_index().cumsum())
    assert expected["percentile"].tolist() == [exact_percentile(c, total) for c in cum]


@pytest.mark.parametrize("name", BASELINES)
@pytest.mark.parametrize("policy_id", ["beijing", "sesame"])
def test_baseline_matches_engine_on_exact_halves(halves: dict[str, Any], policy_id: str, name: str) -> None:
    if name == "zen":
        pytest.importorskip("zen", reason="zen-engine is not installed (the `bench` extra)")
    loaded, folder, expected = halves[policy_id]
    if name == "polars":
        got = polars_score(folder, loaded)
    else:
        got = baseline(f"{name}_baseline").score(folder, loaded, AS_OF)
    assert_same(expected, got, f"{name}/{policy_id}/halves")


# -- the benchmark runner times the Polars baseline like the others ----------------------------------------------


def test_benchmark_step_and_report_include_polars(population: Path, engine: dict[str, Any], tmp_path: Path) -> None:
    pytest.importorskip("polars", reason="polars is not installed (the `bench` extra)")
    baseline("_common")  # puts the repository root on sys.path
    from benchmarks import report, run, steps

    assert "polars" in run.BASELINES and set(run.BASELINES) == set(report.BASELINES)
    result = steps.step_baseline({"work": str(population.parent), "name": "polars"})
    assert result["subjects"] == len(engine["beijing"][1])
    assert result["seconds"] > 0
    stored = json.loads((ROOT / "benchmarks" / "results" / "small.json").read_text("utf-8"))
    stored["baselines"]["polars"] = {"seconds": stored["score"]["seconds"] * 2.5}
    results = tmp_path / "results"
    results.mkdir()
    (results / "small.json").write_text(json.dumps(stored), "utf-8")
    report.write_report(results, tmp_path / "docs")
    lines = (tmp_path / "docs" / "benchmarks.md").read_text("utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("| scale | ours |"))
    columns = [c.strip() for c in lines[at].strip("|").split("|")]
    row = next(line for line in lines[at + 2 :] if line.startswith("| small |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert len(cells) == len(columns)
    polars = columns.index("Polars (lazy)")
    assert columns[polars + 1] == "ratio" and cells[polars + 1] == "2.5×"
