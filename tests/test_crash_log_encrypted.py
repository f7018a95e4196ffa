"""With a store key set, nothing personal lands on disk in clear: the crash log a command writes to the temporary
folder on an internal error (exit 3) holds the traceback's frames and the exceptions' types, not their messages,
which can quote what the store holds. Until 2026-12-05 it held the whole traceback, messages and all."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CLI = shutil.which("socialcredit", path=str(Path(sys.executable).parent)) or "socialcredit"
PERSON = "110105198003040159"  # an identity number a message quotes


def _run(
    tmp_path: Path, key: str, *args: str, key_variable: str = "SOCIALCREDIT_DB_KEY", breaks_settings: bool = False
) -> subprocess.CompletedProcess[str]:
    """The console script with a fault put into the registry (sitecustomize runs at its start: `runs` then fails
    with a message quoting a person) and its own temporary folder; the store key in ``key_variable``. With
    ``breaks_settings`` the fault first makes the settings unreadable (a setting that is not a number)."""
    hook = tmp_path / "hook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(
        "import os\n\n"
        "import socialcredit.registry.scoring.runs as runs\n\n\n"
        "def list_runs(*_args, **_kwargs):\n"  # the values come from the environment: no source line shows them
        + ("    os.environ['SOCIALCREDIT_MAX_NESTING'] = 'deep'\n" if breaks_settings else "")
        + "    try:\n"
        "        raise ValueError('could not convert ' + os.environ['SC_ID'] + ' of ' + os.environ['SC_NAME'])\n"
        "    except ValueError as exc:\n"
        "        raise RuntimeError('the fault for ' + os.environ['SC_ID']) from exc\n\n\n"
        "runs.list_runs = list_runs\n",
        encoding="utf-8",
    )
    (tmp_path / "tmp").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k.upper() not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}
    env |= {
        "PYTHONPATH": os.pathsep.join([str(hook), os.environ.get("PYTHONPATH", "")]),
        "TMPDIR": str(tmp_path / "tmp"),
        key_variable: key,
        "COLUMNS": "200",
        "SC_ID": PERSON,
        "SC_NAME": "王芳",
    }
    return subprocess.run([CLI, *args], capture_output=True, text=True, env=env, timeout=120, check=False)


def _crash_log(proc: subprocess.CompletedProcess[str]) -> Path:
    assert proc.returncode == 3, proc.stderr
    found = re.search(r"Details were written to (\S+); please report it\.", proc.stderr)
    assert found is not None, proc.stderr
    return Path(found.group(1))


NOT_SHOWN = "(its message is not shown: a store key is set, and a message may quote the store)"


@pytest.mark.slow
@pytest.mark.parametrize("key_variable", ["SOCIALCREDIT_DB_KEY", "socialcredit_db_key"])
def test_an_encrypted_stores_crash_log_holds_no_message(tmp_path: Path, key_variable: str) -> None:
    """The settings' names are read in any case: a key set as socialcredit_db_key opens an encrypted store, and its
    crash log kept the messages (the log read SOCIALCREDIT_DB_KEY alone); the line on stderr quoted the first
    message, key or not. Both give the exception's type alone."""
    db = tmp_path / "s.duckdb"
    assert _run(tmp_path, "the store's key", "init", "--db", str(db), key_variable=key_variable).returncode == 0
    crashed = _run(tmp_path, "the store's key", "runs", "--db", str(db), key_variable=key_variable)
    log = _crash_log(crashed)
    assert crashed.stderr == (
        f"internal error: RuntimeError {NOT_SHOWN}. Details were written to {log}; please report it.\n"
    )
    assert log.parent == tmp_path / "tmp"
    text = log.read_text(encoding="utf-8")
    assert text.count("Traceback (most recent call last):") == 2
    assert "The exception above led to this one:" in text
    assert "in list_runs" in text  # the frames are there
    note = "(its message is not written: a store key is set, and a message may quote the store)"
    assert text.rstrip("\n").splitlines()[-1] == f"builtins.RuntimeError: {note}"
    assert f"builtins.ValueError: {note}" in text
    written = [p for p in tmp_path.rglob("*") if p.is_file() and "hook" not in p.parts]
    assert [p for p in written if PERSON.encode() in p.read_bytes() or "王芳".encode() in p.read_bytes()] == []


@pytest.mark.slow
def test_a_clear_stores_crash_log_keeps_the_whole_traceback(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    assert _run(tmp_path, "", "init", "--db", str(db)).returncode == 0
    text = _crash_log(_run(tmp_path, "", "runs", "--db", str(db))).read_text(encoding="utf-8")
    assert f"RuntimeError: the fault for {PERSON}" in text
    assert f"ValueError: could not convert {PERSON} of 王芳" in text


@pytest.mark.slow
def test_a_crash_log_is_frames_only_when_the_settings_cannot_be_read(tmp_path: Path) -> None:
    """Settings that cannot be read when the crash is reported count as a key set (cli._key_set): the crash log
    keeps frames and types only, and the line on stderr the type alone, though no key is set."""
    db = tmp_path / "s.duckdb"
    assert _run(tmp_path, "", "init", "--db", str(db)).returncode == 0
    crashed = _run(tmp_path, "", "runs", "--db", str(db), breaks_settings=True)
    log = _crash_log(crashed)
    assert crashed.stderr == (
        f"internal error: RuntimeError {NOT_SHOWN}. Details were written to {log}; please report it.\n"
    )
    text = log.read_text(encoding="utf-8")
    assert "in list_runs" in text and text.count("Traceback (most recent call last):") == 2
    note = "(its message is not written: a store key is set, and a message may quote the store)"
    assert text.rstrip("\n").splitlines()[-1] == f"builtins.RuntimeError: {note}"
    assert f"builtins.ValueError: {note}" in text
    written = [p for p in tmp_path.rglob("*") if p.is_file() and "hook" not in p.parts]
    assert [p for p in written if PERSON.encode() in p.read_bytes() or "王芳".encode() in p.read_bytes()] == []
