"""The Spark backend's materialised views: their rows counted once, by the job that persisted them."""

from __future__ import annotations

from typing import Any

import pytest
import sqlglot

from socialcredit.backends.spark import SparkBackend

pytestmark = pytest.mark.spark


def _jobs(spark: Any, group: str) -> int:
    return len(spark.sparkContext.statusTracker().getJobIdsForGroup(group))


def test_a_materialised_views_count_is_the_one_its_persisting_job_made(spark: Any) -> None:
    backend = SparkBackend(spark)
    spark.sparkContext.setJobGroup("sc-count-kept", "materialise, then count")
    try:
        backend.materialize(
            "sc_test_rows", sqlglot.parse_one("SELECT 1 AS x UNION ALL SELECT 2 AS x UNION ALL SELECT 3")
        )
        persisted = _jobs(spark, "sc-count-kept")
        assert persisted >= 1
        assert backend.count("sc_test_rows") == 3
        assert _jobs(spark, "sc-count-kept") == persisted  # no job: the count kept
        # materialised again under the same name: the new rows' count
        backend.materialize("sc_test_rows", sqlglot.parse_one("SELECT 1 AS x"))
        assert backend.count("sc_test_rows") == 1
        again = _jobs(spark, "sc-count-kept")
        # a view materialize did not make is counted by Spark
        spark.sql("SELECT 7 AS y UNION ALL SELECT 8").createOrReplaceTempView("sc_test_other")
        assert backend.count("sc_test_other") == 2
        assert _jobs(spark, "sc-count-kept") > again
        backend.release()
        assert backend.count("sc_test_rows") == 1  # released: Spark counts the view again
        assert _jobs(spark, "sc-count-kept") > again + 1
    finally:
        spark.sparkContext.setJobGroup("", "")
        backend.release()
        for name in ("sc_test_rows", "sc_test_other"):
            spark.catalog.dropTempView(name)
