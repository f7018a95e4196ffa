"""The demo's own decision reads in the resident's language: its purpose is one the registry has words for, so the
blacklisted resident the demo signs in (`show --lang zh`, the portal's list of who asked) reads 购票, not the English
"ticket purchase (demo)" that it asked with before. The console script run in a subprocess."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CLI = shutil.which("socialcredit", path=str(Path(sys.executable).parent)) or "socialcredit"


@pytest.mark.slow
def test_the_demo_inquiry_is_in_chinese_in_the_chinese_file(tmp_path: Path) -> None:
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
    asked = re.search(r"^high_speed_rail for (\S+): REFUSED", demo.stdout, re.MULTILINE)
    assert asked, demo.stdout
    shown = subprocess.run(
        [CLI, "show", asked.group(1), "--lang", "zh", "--db", "demo.duckdb"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    assert (shown.returncode, shown.stderr) == (0, "")
    inquiries = shown.stdout[shown.stdout.index("查询本主体的记录") :].splitlines()
    rows = [line.split() for line in inquiries if " demo " in line]
    assert [row[-3:] for row in rows] == [["high_speed_rail", "购票", "拒绝"]]


def test_the_purpose_of_the_examples_has_words_in_both_languages() -> None:
    """ "ticket purchase", the purpose the README, `decide --help`'s error and the API's examples use."""
    from socialcredit.registry.words import PURPOSE_WORDS

    assert PURPOSE_WORDS["ticket purchase"] == ("购票", "ticket purchase")
