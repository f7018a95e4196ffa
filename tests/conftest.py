"""Shared fixtures: one Spark session for every test that needs one, created on first use. Every spark and browser
test is also marked slow: `scripts/check.py --fast` leaves them to the full run.

Under pytest-xdist's ``--dist loadgroup`` (scripts/check.py's full run) each file is one unit of work, as under
``--dist loadfile``, so a module-scoped world is built once; every Spark test joins the one unit "spark", which
starts first, so a single worker starts a JVM and the other keeps the second core for the rest. A file's other
tests stay in the file's unit unless they share a module-scoped fixture with its Spark tests (spark_scope)."""

from __future__ import annotations

import ast
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


_SPARK_MARK = re.compile(r"\bmark\.spark\b")
# A Spark test's own arguments that no other test of its file shares: with only these, the file's other tests can
# run on the other worker (a module-scoped fixture used by both would be built twice).
_UNSHARED = frozenset({"spark", "tmp_path", "request", "monkeypatch"})


def _is_spark_mark(node: ast.expr) -> bool:
    return ast.unparse(node) in ("pytest.mark.spark", "mark.spark")


@functools.cache
def _spark_tests(path: Path) -> tuple[frozenset[str], frozenset[str]] | None:
    """Which tests of a file need the Spark session: None when the file names no spark marker; else the names of
    its test functions marked spark, and the parameter ids marked spark (``pytest.param("spark", marks=...)`` of a
    fixture or a parametrize). Both sets empty: every test of the file goes with Spark (a module-level mark, a
    marked test that shares a fixture with its neighbours, or a use of the marker not read here)."""
    try:
        text = path.read_text("utf-8")
    except OSError:
        return None
    if _SPARK_MARK.search(text) is None:
        return None
    whole: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return whole
    names: set[str] = set()
    ids: set[str] = set()
    seen = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and any(_is_spark_mark(d) for d in node.decorator_list):
            own = {
                str(arg.value)
                for d in node.decorator_list
                if isinstance(d, ast.Call) and ast.unparse(d.func) == "pytest.mark.parametrize" and d.args
                if isinstance(arg := d.args[0], ast.Constant)
            }
            argnames = {n.strip() for spec in own for n in spec.split(",")}
            if not {a.arg for a in node.args.args} <= _UNSHARED | argnames:
                return whole
            names.add(node.name)
            seen += 1
        elif (
            isinstance(node, ast.Call)
            and ast.unparse(node.func) == "pytest.param"
            and len(node.args) == 1
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and any(k.arg == "marks" and _is_spark_mark(k.value) for k in node.keywords)
        ):
            ids.add(node.args[0].value)
            seen += 1
    if seen != len(_SPARK_MARK.findall(text)):
        return whole
    return frozenset(names), frozenset(ids)


def spark_scope(rootpath: Path, nodeid: str) -> str:
    """The unit of work of a test under --dist loadgroup: "spark" for a test that needs the Spark session, else
    its file. A file whose Spark tests are picked out (by name or parameter id; see _spark_tests) sends only those
    to "spark": its other tests run on the other worker."""
    path, _, rest = nodeid.partition("::")
    tests = _spark_tests(rootpath / path)
    if tests is None:
        return path
    names, ids = tests
    if not names and not ids:
        return "spark"
    name, _, params = rest.rpartition("::")[2].partition("[")
    if name in names or ids & set(params.removesuffix("]").split("-")):
        return "spark"
    return path


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup`` (scripts/check.py's full run): a file's tests go to one worker, as under loadfile, and
    every test that needs Spark goes to the same one, which alone starts a JVM (see spark_scope). The scheduler
    sees only test ids, so it reads the files; a Spark test whose file does not name the marker still runs, in a
    second JVM. (xdist's own loadgroup renames test ids, which pytest 9 no longer allows: its groups had no effect.)"""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SparkTogether(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return spark_scope(config.rootpath, nodeid)

        def _assign_work_unit(self, node: Any) -> None:
            # "spark", the longest unit, starts first: on a worker of its own, while the other takes the files
            # (xdist orders units by their number of tests, and "spark" has fewer than the largest files)
            if "spark" in self.workqueue:
                self.workqueue.move_to_end("spark", last=False)
            super()._assign_work_unit(node)

    return SparkTogether(config, log)


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """Spark in local mode on 127.0.0.1 (two cores), shared by the whole run.

    Without PySpark the Spark tests are skipped, unless $SOCIALCREDIT_REQUIRE_SPARK is set (scripts/check.py and
    CI set it): there a missing engine is a failure, not a silent skip.
    """
    if not os.environ.get("SOCIALCREDIT_REQUIRE_SPARK"):
        pytest.importorskip("pyspark")
    from scoring_helpers import TEST_JAVA_OPTIONS
    from socialcredit.backends.spark import spark_session, submit_args

    # Settings for the tests' small data (measured on the shared 2-core machine, JVM CPU seconds; docs/benchmarks.md
    # "The test run's time"): adaptive execution, which replans a statement at each shuffle, is off: 30-45% less CPU
    # per score run of 1 500 or 30 000 residents. A test's JVM runs thousands of small plans in a few minutes, and
    # its CPU went to compiling them: whole-stage code generation is off, and so is the code generated for single
    # expressions (``codegen.factoryMode``: Spark evaluates them as interpreted, the way its own test suites check
    # both; 9.5 % less machine CPU on test_scoring's Spark cases, docs/benchmarks.md), there is one shuffle
    # partition, and the JVM's JIT stops at its first tier with the serial GC (scoring_helpers.TEST_JAVA_OPTIONS;
    # read as the JVM starts, so set for this session only: a console script a test runs gets them where the test
    # asks). None changes a result (the command line's run in test_engines.py keeps Spark's own settings).
    before = os.environ.get("PYSPARK_SUBMIT_ARGS")
    os.environ["PYSPARK_SUBMIT_ARGS"] = submit_args(TEST_JAVA_OPTIONS)
    try:
        session = spark_session(
            "local[2]",
            {
                "spark.sql.adaptive.enabled": "false",
                "spark.sql.codegen.wholeStage": "false",
                "spark.sql.codegen.factoryMode": "NO_CODEGEN",
                "spark.sql.shuffle.partitions": "1",
                "spark.default.parallelism": "1",
            },
        )
    finally:
        if before is None:
            del os.environ["PYSPARK_SUBMIT_ARGS"]
        else:
            os.environ["PYSPARK_SUBMIT_ARGS"] = before
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
