"""Shared fixtures: one Spark session for every test that needs one, created on first use. Every spark and browser
test is also marked slow: `scripts/check.py --fast` leaves them to the full run.

Under pytest-xdist's ``--dist loadgroup`` (scripts/check.py's full run) each file is one group, as under
``--dist loadfile``, so a module-scoped world is built once; every file with a Spark test joins the one group
"spark", so a single worker starts a JVM and the other keeps the second core for the rest."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    spark_files = {item.path for item in items if item.get_closest_marker("spark")}
    for item in items:
        if item.get_closest_marker("spark") or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.slow)
        if not any(item.iter_markers("xdist_group")):
            group = "spark" if item.path in spark_files else item.nodeid.split("::")[0]
            item.add_marker(pytest.mark.xdist_group(group))


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


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's Chromium (never a downloaded browser) under Playwright, launched once per test process; tests take it
    through web_helpers' module-scoped ``browser``, which closes the contexts a module opened.

    Skipped without /usr/bin/chromium, unless $SOCIALCREDIT_REQUIRE_BROWSER=1 (CI): there it is a failure."""
    executable = Path("/usr/bin/chromium")
    if not executable.exists():
        if os.environ.get("SOCIALCREDIT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{executable} is missing: install Debian's chromium package (`apt-get install chromium`)")
        pytest.skip(f"{executable} is missing (apt-get install chromium fonts-wqy-microhei)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(executable))
        yield launched
        launched.close()
