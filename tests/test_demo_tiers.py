"""The demo's table of tiers counts what the operators' dashboard counts: residents (persons), not organisations.
The console script run in a subprocess."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from socialcredit.registry.reporting.dashboard import tier_counts
from socialcredit.store import open_store

CLI = shutil.which("socialcredit", path=str(Path(sys.executable).parent)) or "socialcredit"


@pytest.mark.slow
def test_the_demos_tiers_count_residents_as_the_dashboard_does(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SOCIALCREDIT_DB_KEY"} | {"COLUMNS": "200"}
    demo = subprocess.run(
        [CLI, "demo", "--no-serve", "--residents", "300", "--db", "demo.duckdb"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    assert (demo.returncode, demo.stderr) == (0, ""), demo.stderr
    organisations = int(re.search(r"Generated 300 residents, (\d+) organisations", demo.stdout).group(1))  # type: ignore[union-attr]
    assert organisations > 0  # else the table could not count them
    runs = dict(re.findall(r"^Scored (\w+): run (\d+), ", demo.stdout, re.MULTILINE))
    tables = demo.stdout.split("Residents by tier (persons only)\n")[1:]
    assert len(tables) == 2 and all(t.splitlines()[0].split()[:2] == ["tier", "residents"] for t in tables)
    printed = {
        pid: {row.split()[0]: int(row.split()[1]) for row in table.split("\n\n")[0].splitlines()[1:]}
        for pid, table in zip(("beijing", "sesame"), tables, strict=True)
    }
    store = open_store(tmp_path / "demo.duckdb")
    try:
        shown = {pid: {t["tier"]: t["n"] for t in tier_counts(store, int(runs[pid])) if t["n"]} for pid in printed}
    finally:
        store.close()
    assert printed == shown
    assert sum(printed["beijing"].values()) == sum(printed["sesame"].values()) == 300
