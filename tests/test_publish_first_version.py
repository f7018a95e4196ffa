"""Publishing a new policy's first version without an impact report: the refusal says there is nothing to assess it
against and how to publish it, instead of sending the author to `policy impact`, which refuses it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from cli_helpers import CLI, sc
from socialcredit.policy import BUILTIN_POLICIES, builtin_policy


def _run(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SOCIALCREDIT_DB_KEY"} | {"COLUMNS": "200"}
    return subprocess.run([CLI, *args, "--db", str(db)], capture_output=True, text=True, env=env, timeout=120)


def test_the_first_version_is_told_to_publish_without_a_report(tmp_path: Path) -> None:
    """A policy `lakeside` never published nor shipped: `policy publish lakeside.yaml` is refused (exit 2) saying
    it is the first version, with nothing to assess it against, and to publish it with --without-impact; which then
    publishes it. Until 2026-12-06 it said "run `socialcredit policy impact CURRENT lakeside.yaml`", and that
    command answered "no published policy 'lakeside'". A second version is still sent to `policy impact`."""
    assert "lakeside" not in BUILTIN_POLICIES
    db = tmp_path / "city.duckdb"
    sc("init", db=db)
    text = builtin_policy("sesame").text.replace("id: sesame\n", "id: lakeside\n", 1)
    path = tmp_path / "lakeside.yaml"
    path.write_text(text, encoding="utf-8")
    refused = _run("policy", "publish", str(path), db=db)
    assert refused.returncode == 2
    assert " ".join(refused.stderr.split()) == (
        f"error: {path} is the first version of policy lakeside: no version of it is published or shipped to assess "
        "it against with `socialcredit policy impact`, so publish it with --without-impact, which the audit log records"
    )
    impact = _run("policy", "impact", "lakeside", str(path), db=db)
    assert impact.returncode == 2 and "no published policy 'lakeside'" in impact.stderr
    assert sc("policy", "publish", str(path), "--without-impact", db=db).stdout.startswith("Published lakeside ")
    second = path.with_name("lakeside-2.yaml")
    version = builtin_policy("sesame").policy.version
    second.write_text(text.replace(f'version: "{version}"', 'version: "2099.1"', 1), encoding="utf-8")
    again = _run("policy", "publish", str(second), db=db)
    assert again.returncode == 2
    assert " ".join(again.stderr.split()).startswith(f"error: publishing {second} needs its impact report")
