"""Ctrl-C (SIGINT) ends every long-running command with exit 130 and one line on stderr, no stack trace, and loses
nothing committed: the installed console script, interrupted while it serves and while it loads."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from api_helpers import free_port, wait_until_serving
from crash_helpers import CLI, cli, table_counts
from socialcredit.generate import generate

MESSAGE = "interrupted (Ctrl-C): what was committed before stays in the store"

# A real SIGINT sent to the process itself, inside the third records batch's transaction (after its rows are in)
INTERRUPT_AT_THIRD_RECORDS_BATCH = """
import signal

class Crash:
    calls = 0

    @hookimpl(trylast=True)
    def records_ingested(self, store, source_id, batch_id, today):
        Crash.calls += 1
        if Crash.calls == 3:
            os.kill(os.getpid(), signal.SIGINT)
"""


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "SOCIALCREDIT_DB_KEY"} | {"COLUMNS": "200"}


def _interrupted_once_serving(args: list[str], port: int, tmp_path: Path) -> tuple[int, str]:
    """Start the console script, wait until it answers on the port, send SIGINT; its exit code and stderr."""
    log = tmp_path / "stderr.txt"
    with log.open("wb") as errors, (tmp_path / "stdout.txt").open("wb") as output:
        proc = subprocess.Popen([CLI, *args], env=_env(), stdout=output, stderr=errors, cwd=tmp_path)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            wait_until_serving(client, proc, log, 120)
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return code, log.read_text("utf-8")


def _last_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    return stderr.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("interrupt") / "city"
    generate(300, seed=1, out=out)
    return out


def test_serve_stopped_by_ctrl_c_exits_130(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    assert subprocess.run([CLI, "init", "--db", str(db)], env=_env(), capture_output=True).returncode == 0
    port = free_port()
    code, stderr = _interrupted_once_serving(["serve", "--db", str(db), "--port", str(port)], port, tmp_path)
    assert (code, _last_line(stderr)) == (130, MESSAGE), stderr


@pytest.mark.slow
def test_the_demo_stopped_by_ctrl_c_exits_130(tmp_path: Path) -> None:
    port = free_port()
    args = ["demo", "--db", str(tmp_path / "demo.duckdb"), "--residents", "300", "--port", str(port)]
    code, stderr = _interrupted_once_serving(args, port, tmp_path)
    assert (code, _last_line(stderr)) == (130, MESSAGE), stderr
    # Its lines are styled, not printed with their markup: "[bold]The city:[/] open …" was printed as written.
    lines = (tmp_path / "stdout.txt").read_text("utf-8").splitlines()
    assert "The city: open the operator dashboard (a one-time link, valid 24 hours):" in lines
    assert [line for line in lines if line.startswith("A resident's portal (")] != []
    assert not [line for line in lines if "[/]" in line or "[bold]" in line or "[yellow]" in line]


@pytest.mark.slow
def test_a_load_stopped_by_ctrl_c_exits_130_and_keeps_each_committed_file(city: Path, tmp_path: Path) -> None:
    db = tmp_path / "cut.duckdb"
    cut = cli("load", str(city), db=db, crash=INTERRUPT_AT_THIRD_RECORDS_BATCH, folder=tmp_path / "inj")
    assert (cut.returncode, _last_line(cut.stderr)) == (130, MESSAGE), cut.stderr
    done = len(list((city / "subjects").glob("*.parquet"))) + 2  # subjects and two records files committed
    reported = [line for line in cut.stderr.splitlines() if line.endswith(" rejected")]
    assert len(reported) == done, cut.stderr  # every file reported loaded was committed; the third was not
    assert table_counts(db)["batches"] == done
    resumed = cli("load", str(city), db=db)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"({done} loaded before, skipped)" in resumed.stdout
