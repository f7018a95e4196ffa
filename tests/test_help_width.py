"""Every command's help in a terminal 60 columns wide says all it says at 250: a word wider than its column (an
environment variable, a default, an option's name) was cut with an ellipsis ("SOCIALCREDIT_MATCHMAKI…",
"socialcredit-demo…", "--increment…"). Now it is folded onto the next row; no line is wider than the terminal."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import typer.testing
from typer.main import get_command
from typer.testing import CliRunner

CLI = shutil.which("socialcredit", path=str(Path(sys.executable).parent)) or "socialcredit"


def _letters(text: str) -> Counter[str]:
    return Counter(re.sub(r"[^0-9A-Za-z]", "", text))


def _paths() -> list[list[str]]:
    from socialcredit.cli import app

    out: list[list[str]] = []

    def walk(command: object, path: list[str]) -> None:
        out.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(get_command(app), [])
    return out


def test_every_help_at_60_columns_says_what_it_says_at_250(monkeypatch: pytest.MonkeyPatch) -> None:
    from socialcredit.cli import app

    # typer's CliRunner builds the click command of the whole app again on every invoke (0.1 s of CPU for its 100
    # and more commands, 22 s for the 230 helps read here): the helps are read from one build of the same command
    command = get_command(app)
    monkeypatch.setattr(typer.testing, "_get_command", lambda _app: command)
    runner = CliRunner()
    cut, wide = [], []
    for path in _paths():
        narrow = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "60"}, terminal_width=60)
        whole = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "250"}, terminal_width=250)
        assert (narrow.exit_code, whole.exit_code) == (0, 0), path
        if _letters(narrow.output) != _letters(whole.output):
            cut.append(" ".join(path))
        if max(len(line) for line in narrow.output.splitlines()) > 60:
            wide.append(" ".join(path))
    assert (cut, wide) == ([], [])
    assert len(_paths()) > 100  # every command and group, the root's help included


def _help(*args: str) -> str:
    env = os.environ | {"COLUMNS": "60"}
    proc = subprocess.run([CLI, *args, "--help"], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert max(len(line) for line in proc.stdout.splitlines()) <= 60
    return re.sub(r"[│\s]", "", proc.stdout)


def test_a_long_environment_variable_and_default_are_whole_at_60_columns() -> None:
    served = _help("matchmaking", "serve")
    assert "[envvar:SOCIALCREDIT_MATCHMAKING_DB]" in served
    assert "[default:matchmaking.duckdb]" in served
    assert "…" not in served
    assert "[default:socialcredit-demo.duckdb]" in _help("demo")
    assert "--incremental" in _help("score")


def test_below_60_columns_the_options_help_keeps_its_words_whole_where_they_fit() -> None:
    """At 40 columns an option's help got four characters a row, what its names and value left, and nearly every word
    was cut across rows ("Resc", "ore"; "publ", "ishe", "d"). The help's column now takes room from the value's and
    the negative names' columns, and from the columns no row uses: its words of up to ten characters are whole."""
    env = os.environ | {"COLUMNS": "40"}
    proc = subprocess.run([CLI, "score", "--help"], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert max(len(line) for line in proc.stdout.splitlines()) <= 40
    words = set(re.sub(r"[│╭╮╰╯─]", " ", proc.stdout).split())
    help_words = "A policy id (its newest published version; Rescore only subjects whose inputs changed. Reproduce"
    assert [w for w in help_words.split() if w not in words] == []
    assert "ID@VERSION" in words and "[default:" in words
