"""Shared fixtures: one Spark session for every test that needs one, created on first use. Every spark and browser
test is also marked slow: `scripts/check.py --fast` leaves them to the full run.

Under pytest-xdist's ``--dist loadgroup`` (scripts/check.py's full run) each file is one unit of work, as under
``--dist loadfile``, so a module-scoped world is built once; every file with a Spark test joins the one unit
"spark", so a single worker starts a JVM and the other keeps the second core for the rest."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("spark") or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.slow)


@functools.cache
def _names_spark(path: Path) -> bool:
    try:
        return re.search(r"\bmark\.spark\b", path.read_text("utf-8")) is not None
    except OSError:
        return False


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup`` (scripts/check.py's full run): a file's tests go to one worker, as under loadfile, and
    every file that names the spark marker goes to the same one, which alone starts a JVM. The scheduler sees only
    test ids, so it reads the files; a Spark test whose file does not name the marker still runs, in a second JVM.
    (xdist's own loadgroup renames test ids, which pytest 9 no longer allows: its groups had no effect.)"""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SparkTogether(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "spark" if _names_spark(config.rootpath / path) else path

    return SparkTogether(config, log)


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """Spark in local mode on 127.0.0.1 (two cores), shared by the whole run.

    Without PySpark the Spark tests are skipped, unless $SOCIALCREDIT_REQUIRE_SPARK is set (scripts/check.py and
    CI set it): there a missing engine is a failure, not a silent skip.
    """
    if not os.environ.get("SOCIALCREDIT_REQUIRE_SPARK"):
        pytest.importorskip("pyspark")
    from socialcredit.backends.spark import spark_session

    # A setting for the tests' small data (measured on the shared 2-core machine, JVM CPU seconds): adaptive
    # execution, which replans a statement at each shuffle, is off here: 30-45% less CPU per score run of 1 500 or
    # 30 000 residents. It changes no result (the command line's run in test_engines.py keeps it on).
    session = spark_session("local[2]", {"spark.sql.shuffle.partitions": "2", "spark.sql.adaptive.enabled": "false"})
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
        # The pages speak the language the browser asks for (Accept-Language) when none was chosen: a context is a
        # Chinese reader's browser unless a test gives it another ``locale`` (Playwright's default asks for English);
        # so is a page opened without a context of its own.
        new_context, new_page = launched.new_context, launched.new_page

        def chinese_context(**options: Any) -> Any:
            return new_context(**{"locale": "zh-CN", **options})

        def chinese_page(**options: Any) -> Any:
            return new_page(**{"locale": "zh-CN", **options})

        launched.new_context = chinese_context  # type: ignore[method-assign]
        launched.new_page = chinese_page  # type: ignore[method-assign]
        yield launched
        launched.close()
