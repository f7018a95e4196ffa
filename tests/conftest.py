"""Shared fixtures: one Spark session for every test that needs one, created on first use."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """Spark in local mode on 127.0.0.1 (two cores), shared by the whole run.

    Without PySpark the Spark tests are skipped, unless $SOCIALCREDIT_REQUIRE_SPARK is set (scripts/check.py and
    CI set it): there a missing engine is a failure, not a silent skip.
    """
    if not os.environ.get("SOCIALCREDIT_REQUIRE_SPARK"):
        pytest.importorskip("pyspark")
    from socialcredit.backends.spark import spark_session

    session = spark_session("local[2]", {"spark.sql.shuffle.partitions": "2"})
    yield session
    session.stop()
