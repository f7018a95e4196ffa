"""`socialcredit list --lang en|zh`: the list and its criteria in the policy's words in that language, the headers,
grades and listings' standing in it too; --json keeps the ids. Until 2026-12-07 `list` had no --lang: it printed
the codes (judgment_defaulter, notice) under English headers, and refused `--lang zh` as an unknown option.

World (tests/due_world.py): 张三 (A) is on Sesame's blacklist for J1: scored 2026-02-01 (in notice until 2026-03-03),
then 2026-04-02 (in effect), and A disputes J1 (held).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path

import pytest

from cli_helpers import CLI
from due_world import A, built_scored, scored
from socialcredit.clock import TODAY_ENV
from socialcredit.registry.due_process.disputes import file_dispute


def _list(db: Path, today: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SOCIALCREDIT_DB_KEY"} | {"COLUMNS": "200", TODAY_ENV: today}
    command = [CLI, "list", *args, "--db", str(db)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)


def _table(proc: subprocess.CompletedProcess[str]) -> list[list[str]]:
    assert (proc.returncode, proc.stderr) == (0, ""), proc.stdout + proc.stderr
    return [line.split() for line in proc.stdout.splitlines() if line.strip()]


def test_a_listing_in_notice_in_english_and_chinese(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TODAY_ENV, "2026-02-02")
    store = built_scored(tmp_path, "2026-02-01")
    db = store.path
    store.close()
    assert _table(_list(db, "2026-02-02", "blacklist", "--policy", "sesame", "--lang", "en")) == [
        ["blacklist", "—", "Sesame-style", "commercial", "score", "2026.1"],
        ["subject_id", "name", "score", "tier", "criteria", "listing", "effective_on"],
        [A, "张三", "350", "poor", "judgment", "defaulter", "notice", "2026-03-03"],
    ]
    assert _table(_list(db, "2026-02-02", "blacklist", "--policy", "sesame", "--lang", "zh")) == [
        ["失信名单", "—", "芝麻式商业信用分", "2026.1"],
        ["身份证号/统一社会信用代码", "名称", "分数", "等级", "标准", "状态", "生效日期"],
        [A, "张三", "350", "信用较差", "失信被执行人", "告知期内", "2026-03-03"],
    ]
    # --json keeps the codes in either language
    rows = json.loads(_list(db, "2026-02-02", "blacklist", "--policy", "sesame", "--lang", "zh", "--json").stdout)
    assert [(r["tier"], r["criteria"], r["listing"]) for r in rows] == [("poor", "judgment_defaulter", "notice")]
    assert _table(_list(db, "2026-02-02", "redlist", "--policy", "sesame", "--lang", "zh")) == [["信用优选上没有人。"]]
    assert _table(_list(db, "2026-02-02", "top", "--policy", "sesame", "--lang", "zh", "--limit", "1"))[:2] == [
        ["排名", "—", "芝麻式商业信用分", "2026.1"],
        ["排名", "身份证号/统一社会信用代码", "名称", "分数", "等级", "百分位"],
    ]


def test_a_held_listing_in_chinese(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TODAY_ENV, "2026-04-03")
    store = scored(tmp_path, "2026-02-01", "2026-04-02")
    n = file_dispute(store, A, "courts", "J1", "paid", actor="resident", today=dt.date(2026, 4, 3))["dispute_id"]
    db = store.path
    store.close()
    proc = _list(db, "2026-04-03", "blacklist", "--policy", "sesame", "--lang", "zh")
    assert _table(proc)[2] == [A, "张三", "350", "信用较差", "失信被执行人", "暂不适用", "2026-03-03"]
    assert proc.stdout.splitlines()[3] == (
        f"暂不适用：{A} 的名单认定 1（失信被执行人）自 2026-04-02 的评分以来决定不再适用："
        f"您对记录 J1 的异议 {n} 正在处理；下次评分时结束。"
    )


def test_an_unknown_language_is_refused(tmp_path: Path) -> None:
    proc = _list(tmp_path / "none.duckdb", "2026-02-02", "blacklist", "--lang", "fr")
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1] == "Error: Invalid value for '--lang': 'fr': give en or zh"
    assert not (tmp_path / "none.duckdb").exists()
