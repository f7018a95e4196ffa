"""Relation rules on Spark: the run tables of a world with the restriction on high spending's relations are the
same on Spark (the store's export scored there and published back) as on DuckDB, from the state and from records.

Spark runs in local mode on 127.0.0.1 (the shared session of tests/conftest.py; backends/spark.py sets
SPARK_LOCAL_IP to 127.0.0.1 when it is not set).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from relation_world import (
    COMPANY,
    DIRECTOR,
    NEXT_REP,
    OTHER,
    REP,
    at_cause,
    beijing,
    build,
    built,
    entries,
    judgment,
    role,
)
from scoring_helpers import days_before, open_registry, run_differences
from socialcredit.registry.scoring.export import export_inputs, publish_results, score_on_spark
from socialcredit.store import open_store

pytestmark = pytest.mark.spark


def _world(folder: Path, *, key: str | None = None) -> Any:
    if key is None:
        reg = built(folder)  # open_registry and build, copied
    else:
        reg = open_registry(folder)
        reg.store.close()
        reg.store = open_store(folder / "keyed.duckdb", create=True, key=key)
        build(reg)
    # a resignation and a successor, and a second company with its own judgment
    reg.send(
        "registration_authority",
        [
            role("R2", DIRECTOR, COMPANY, "director", days_before(1500), days_before(30), correction="true"),
            role("R7", DIRECTOR, OTHER, "senior_manager", days_before(30), correction=""),
        ],
    )
    reg.send("courts", [judgment("J2", OTHER, days_before(100))])
    return reg


def _on_spark(reg: Any, spark: Any, loaded: Any, name: str, *, from_records: bool = False) -> int:
    export_inputs(reg.store, reg.folder / f"export-{name}")
    manifest = score_on_spark(
        reg.folder / f"export-{name}",
        loaded,
        reg.today,
        reg.folder / f"results-{name}",
        session=spark,
        from_records=from_records,
    )
    assert manifest["source"] == ("records" if from_records else "state")
    return publish_results(reg.store, reg.folder / f"results-{name}").run_id


@pytest.mark.parametrize("policy", ["current", "held_at_cause"])
def test_relation_rules_give_identical_runs_on_spark_and_duckdb(tmp_path: Path, spark: Any, policy: str) -> None:
    reg = _world(tmp_path)
    loaded = beijing() if policy == "current" else at_cause()
    duck = reg.score(loaded)
    duck_records = reg.score(loaded, from_records=True)
    on_spark = _on_spark(reg, spark, loaded, "state")
    on_spark_records = _on_spark(reg, spark, loaded, "records", from_records=True)
    expected = sorted(
        [
            (REP, "officer_of_defaulter"),
            (NEXT_REP, "officer_of_defaulter"),
            (DIRECTOR, "officer_of_defaulter"),
        ]
    )
    assert entries(reg, duck.run_id) == expected
    for other in (duck_records.run_id, on_spark, on_spark_records):
        assert run_differences(reg.store, duck.run_id, other) == []


def test_a_keyed_store_exports_organisations_by_pseudonym_and_spark_still_follows_them(
    tmp_path: Path, spark: Any
) -> None:
    reg = _world(tmp_path, key="a passphrase for the test store")
    duck = reg.score(beijing())
    on_spark = _on_spark(reg, spark, beijing(), "keyed")
    assert (REP, "officer_of_defaulter") in entries(reg, duck.run_id)
    assert run_differences(reg.store, duck.run_id, on_spark) == []
    # the export names no organisation in clear
    exported = (tmp_path / "export-keyed" / "records" / "record_type=company_role").glob("*.parquet")
    org_ids = {
        str(v) for p in exported for v in reg.store.execute("SELECT org_id FROM read_parquet(?)", [str(p)]).fetchall()
    }
    assert org_ids and COMPANY not in str(org_ids)
