"""The command line given a JSON file nested past Python's parser (``[`` × 100 000) where it reads a checkpoint, an
impact report, the manifest of score results or of an export: each is refused naming the file, exit 2. Each was an
internal error (exit 3, ``RecursionError``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).parent / "socialcredit")
POLICY = Path(__file__).resolve().parent.parent / "src" / "socialcredit" / "policies" / "sesame.yaml"


def sc(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_TODAY")}
    return subprocess.run([CLI, *args], capture_output=True, text=True, env=env, timeout=120, check=False)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("deep")
    assert sc("init", "--db", str(where / "s.duckdb")).returncode == 0
    (where / "deep.json").write_text("[" * 100_000, encoding="utf-8")
    for name in ("run", "export"):
        (where / name).mkdir()
        (where / name / "manifest.json").write_text("[" * 100_000, encoding="utf-8")
    return where


def test_a_deep_checkpoint_file(folder: Path) -> None:
    db = str(folder / "s.duckdb")
    assert sc("audit", "checkpoint", "--db", db).returncode == 0
    key = sc("audit", "key", "--db", db).stdout.strip().splitlines()[-1]
    deep = folder / "deep.json"
    done = sc("audit", "verify", "--checkpoint", str(deep), "--key", key, "--db", db)
    said = f"error: {deep}:1: not a checkpoint (JSON nested deeper than the parser follows)"
    assert (done.returncode, done.stderr.strip().splitlines()[-1]) == (2, said), done.stderr


def test_a_deep_impact_report(folder: Path) -> None:
    deep = folder / "deep.json"
    done = sc("policy", "publish", str(POLICY), "--impact", str(deep), "--db", str(folder / "s.duckdb"))
    said = f"error: {deep} is not an impact report: its JSON nests deeper than the parser follows"
    assert (done.returncode, done.stderr.strip().splitlines()[-1]) == (2, said), done.stderr


def test_a_deep_manifest_of_score_results(folder: Path) -> None:
    done = sc("publish", str(folder / "run"), "--db", str(folder / "s.duckdb"))
    said = f"error: {folder / 'run' / 'manifest.json'}: not score results (JSON nested deeper than the parser follows)"
    assert (done.returncode, done.stderr.strip().splitlines()[-1]) == (2, said), done.stderr


def test_a_deep_manifest_of_an_export(folder: Path) -> None:
    done = sc("score", "--input", str(folder / "export"), "--policy", "beijing", "--as-of", "2026-11-01")
    manifest = folder / "export" / "manifest.json"
    said = f"error: {manifest}: not a registry export (JSON nested deeper than the parser follows)"
    assert (done.returncode, done.stderr.strip().splitlines()[-1]) == (2, said), done.stderr
