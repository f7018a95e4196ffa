#!/usr/bin/env python3
"""Every check in one command: lint, format, types, tests. CI runs exactly this."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

STEPS = [
    ("ruff lint", [str(BIN / "ruff"), "check", "src", "tests", "scripts", "benchmarks"]),
    ("ruff format", [str(BIN / "ruff"), "format", "--check", "src", "tests", "scripts", "benchmarks"]),
    ("mypy", [str(BIN / "mypy")]),
    ("pytest", [str(BIN / "pytest"), *sys.argv[1:]]),
    # The benchmark suite end to end at the small scale (100 000 residents, one run of each step), into a
    # temporary folder: the committed report is untouched.
    (
        "benchmark smoke",
        [
            sys.executable,
            "benchmarks/run.py",
            "--scale",
            "small",
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
    ),
]


def main() -> int:
    # The Spark tests must run here (PySpark is in the test install): a missing engine fails, never skips.
    os.environ.setdefault("SOCIALCREDIT_REQUIRE_SPARK", "1")
    failed = []
    for name, cmd in STEPS:
        print(f"== {name}: {' '.join(cmd)}", flush=True)
        if subprocess.run(cmd, cwd=ROOT).returncode != 0:
            failed.append(name)
    if failed:
        print(f"== FAILED: {', '.join(failed)}")
        return 1
    print("== all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
