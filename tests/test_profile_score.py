"""benchmarks/profile_score.py: a score run's CPU by stage and by statement, on a small generated store."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from socialcredit.generate import AS_OF, generate
from socialcredit.registry.records.population import load_population
from socialcredit.store import open_store

pytestmark = pytest.mark.slow  # a store generated and loaded, then two runs: about 12 s under a load of 10

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["preparing", "sc_rule_points", "sc_list_records", "sc_local", "sc_ranked", "sc_list_entries", "sc_results"]


def profile_score() -> ModuleType:
    if str(ROOT) not in sys.path:  # benchmarks is not an installed package
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("benchmarks.profile_score")


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("profile")
    generate(300, out=folder / "population", seed=3)
    path = folder / "store.duckdb"
    with open_store(path, create=True, key="") as store:
        load_population(store, folder / "population", today=AS_OF)
    return path


def _stage_rows(out: str) -> dict[str, tuple[float, float, float]]:
    rows = re.findall(r"^(\w+) +(\d+\.\d{3}) +(\d+\.\d{3})(?: +(-?\d+\.\d{3}))?$", out, re.MULTILINE)
    return {name: (float(c), float(w), float(o or 0)) for name, c, w, o in rows}


def test_a_run_from_the_state_by_stage_and_statement(store_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert profile_score().main([str(store_path), "--top", "3", "--explain", "^INSERT INTO run_points"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^run 1 from the state: [\d,]+ subjects$", out, re.MULTILINE)
    stages = _stage_rows(out)
    assert list(stages) == [*STAGES, "saving", "total"]
    # the stages cover the whole run, and every statement ran inside one of them
    parts = sum(c for name, (c, _, _) in stages.items() if name != "total")
    assert parts == pytest.approx(stages["total"][0], abs=0.01)
    assert all(o >= -0.005 for _, _, o in stages.values())
    count = re.search(r"^(\d+) statements, (\d+\.\d{3}) CPU s; the heaviest:$", out, re.MULTILINE)
    assert count is not None and int(count.group(1)) > 20
    heaviest = re.findall(r"^ *\d+\.\d{3} cpu +\d+\.\d{3} wall  \[(\w+)\]  (.*)$", out, re.MULTILINE)
    assert len(heaviest) == 3 and all(stage in [*STAGES, "saving"] for stage, _ in heaviest)
    # the statement asked for was explained once, in the stage that runs it, and still written
    assert out.count("==== saving: INSERT INTO run_points") == 1
    assert "EXPLAIN_ANALYZE" in out
    with open_store(store_path, key="") as store:
        assert store.one("SELECT count(*) FROM run_points WHERE run_id = 1") > 0
        assert store.one("SELECT engine FROM score_runs WHERE run_id = 1") == "duckdb"


def test_a_run_from_the_records(store_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert profile_score().main([str(store_path), "--from-records", "--top", "1"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^run 2 from the records: [\d,]+ subjects$", out, re.MULTILINE)
    assert "====" not in out
    assert "sc_rule_points" in _stage_rows(out)
