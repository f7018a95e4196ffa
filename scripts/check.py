#!/usr/bin/env python3
"""Every check in one command: lint, format, types, the import contract, tests. CI runs exactly this.

    python scripts/check.py           the full run (CI): every test on two processes (one of them runs every file
                                      with a Spark test), then the benchmark smoke step
    python scripts/check.py --fast    the loop while working: the same static checks, and every test not marked
                                      slow, on two processes (pytest-xdist); on the project's 2-core machine about
                                      half an hour (the full run: 53 minutes, over the 30 the project aims at)

Other arguments are handed to pytest (e.g. ``-k disputes``, ``-x``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
NO_TESTS = 5  # pytest's exit code when no test was collected or selected

STATIC = [
    ("ruff lint", [str(BIN / "ruff"), "check", "src", "tests", "scripts", "benchmarks"]),
    ("ruff format", [str(BIN / "ruff"), "format", "--check", "src", "tests", "scripts", "benchmarks"]),
    ("mypy", [str(BIN / "mypy")]),
    # the layers of pyproject.toml's [tool.importlinter] (policy → compiler → backends → registry → faces)
    ("import contract", [str(BIN / "lint-imports"), "--no-cache"]),
]

# The benchmark suite end to end at the tiny scale (10 000 residents, one run of each step and baseline), into a
# temporary folder: the committed report is untouched. It catches a broken step, not a slow one (the figures are
# measured at city and beijing). At the small scale it took 2.5 times the CPU: 150 s against 61 s (user+sys, one
# run each on a shared 2-core machine at load 8-10; 607 s and 269 s wall there).
BENCHMARK_SMOKE = (
    "benchmark smoke",
    [
        sys.executable,
        "benchmarks/run.py",
        "--scale",
        "tiny",
        "--runs",
        "1",
        "--results",
        str(Path(tempfile.gettempdir()) / "sc-bench-smoke"),
        "--docs",
        str(Path(tempfile.gettempdir()) / "sc-bench-smoke"),
        # Spark is measured at the city scale (docs/benchmarks.md); its tests run in pytest above
        "--engines",
        "duckdb",
    ],
)


def steps(fast: bool, pytest_args: list[str]) -> list[tuple[str, list[str]]]:
    pytest = [str(BIN / "pytest")]
    if fast:
        # Slow tests (markers in tests/; conftest.py marks every spark and browser test slow too) wait for the
        # full run. Browser and Spark tests are excluded by name as well: neither runs well under xdist. A file's tests
        # share one process (--dist loadfile), so a module-scoped fixture is built once.
        return [
            *STATIC,
            (
                "pytest (fast)",
                [
                    *pytest,
                    "-n",
                    "2",
                    "--dist",
                    "loadfile",
                    "-m",
                    "not slow and not browser and not spark",
                    "--durations=10",
                    *pytest_args,
                ],
            ),
        ]
    # The full run: every test, on two processes (pytest-xdist). tests/conftest.py puts each file in a group of its
    # own (a module-scoped world is built once, as under --dist loadfile) and every Spark test in one group "spark"
    # (with the rest of its file when they share a module-scoped fixture): one worker runs the local[2] session
    # while the other takes the browser tests and the rest, which leave a core idle when run one at a time. The
    # "spark" group starts first, then the largest groups (xdist's default order for groups). Every test's phase
    # (set-up, call, tear-down) that took over a second is listed, slowest first: the whole profile of the run.
    return [
        *STATIC,
        (
            "pytest (two processes)",
            [*pytest, "-n", "2", "--dist", "loadgroup", "--durations=0", "--durations-min=1", *pytest_args],
        ),
        BENCHMARK_SMOKE,
    ]


def child_env(env: dict[str, str]) -> dict[str, str]:
    """The environment every step runs in: ``env`` with the Spark tests required (PySpark is in the test install: a
    missing engine fails, never skips) and Python's bytecode cache allowed. With ``PYTHONDONTWRITEBYTECODE`` set, as
    some shells and containers set it, no ``__pycache__`` is written for the project's own sources (the install is
    editable), so every console run a test starts compiles every module it imports again: about 0.3 CPU s of a
    start of about 1.3 (medians of 5, `socialcredit runs`)."""
    out = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out.setdefault("SOCIALCREDIT_REQUIRE_SPARK", "1")
    return out


def step_env(name: str, env: dict[str, str]) -> dict[str, str]:
    """The environment of the step ``name``: ``env``, and in a pytest step DuckDB at one thread per process
    (``SOCIALCREDIT_THREADS=1``, unless set already). The two workers share the machine's two cores, and DuckDB's
    default of a thread per core in each spent about 4 % more CPU on test_snapshot and test_due_process_cli run side
    by side (docs/benchmarks.md, "DuckDB's threads in the test run"). The benchmark step keeps DuckDB's default: it
    measures what a user gets."""
    if not name.startswith("pytest"):
        return env
    return {"SOCIALCREDIT_THREADS": "1", **env}


def main(argv: list[str]) -> int:
    fast = "--fast" in argv
    pytest_args = [a for a in argv if a != "--fast"]
    env = child_env(dict(os.environ))
    failed = []
    empty = []
    start = time.monotonic()
    for name, cmd in steps(fast, pytest_args):
        print(f"== {name}: {' '.join(cmd)}", flush=True)
        t0 = time.monotonic()
        code = subprocess.run(cmd, cwd=ROOT, env=step_env(name, env)).returncode
        # the space left where the tests write (a full disk fails tests in ways that look like anything else)
        free = shutil.disk_usage(tempfile.gettempdir()).free / 2**30
        print(
            f"== {name}: exit {code} in {time.monotonic() - t0:.0f} s; {free:.1f} GiB free in the temporary folder",
            flush=True,
        )
        if code == NO_TESTS and name.startswith("pytest"):
            print(f"== {name}: no test was collected or selected", flush=True)
            if pytest_args:
                # a selection (-k ...) may fall wholly in one of the full run's two pytest steps
                empty.append(name)
                continue
        if code != 0:
            failed.append(name)
    if empty and len(empty) == sum(name.startswith("pytest") for name, _ in steps(fast, pytest_args)):
        failed.extend(empty)  # never a silent pass: a run that selected no test at all is a failure
    took = f"{time.monotonic() - start:.0f} s"
    if failed:
        print(f"== FAILED: {', '.join(failed)} ({took})")
        return 1
    print(f"== all {'fast ' if fast else ''}checks passed ({took})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
