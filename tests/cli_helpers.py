"""The installed console script run in a subprocess, for tests that build a store through it and read its output."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

CLI = shutil.which("socialcredit", path=str(Path(sys.executable).parent)) or "socialcredit"


def sc(*args: str, db: Path, today: str | None = None) -> subprocess.CompletedProcess[str]:
    """``socialcredit ARGS --db DB``, which must exit 0: no store key from the environment, 200 columns, and the
    registry's today set to ``today`` when given."""
    env = {k: v for k, v in os.environ.items() if k != "SOCIALCREDIT_DB_KEY"} | {"COLUMNS": "200"}
    if today is not None:
        env["SOCIALCREDIT_TODAY"] = today
    proc = subprocess.run(
        [CLI, *args, "--db", str(db)], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc
