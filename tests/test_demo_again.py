"""The demo run a second time in the same folder (the README's first command, again) rebuilds its store with the
store's audit checkpoints: it kept the folder of checkpoints signed for the store it deleted, so every run of the
new store warned "the audit checkpoint was not written … is of another store" and `audit verify` said the new
store's audit log was not intact (exit 1). The console script run in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CLI = shutil.which("socialcredit", path=str(Path(sys.executable).parent)) or "socialcredit"


@pytest.mark.slow
def test_the_demo_run_again_starts_its_audit_log_afresh(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SOCIALCREDIT_DB_KEY"} | {"COLUMNS": "200"}

    def sc(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([CLI, *args], capture_output=True, text=True, cwd=tmp_path, env=env, check=False)

    for _ in range(2):
        demo = sc("demo", "--no-serve", "--residents", "300", "--db", "demo.duckdb")
        assert (demo.returncode, demo.stderr) == (0, ""), demo.stderr
    verified = sc("audit", "verify", "--db", "demo.duckdb")
    assert (verified.returncode, verified.stderr) == (0, ""), verified.stdout + verified.stderr
    assert verified.stdout.startswith("The audit log is intact: ")
