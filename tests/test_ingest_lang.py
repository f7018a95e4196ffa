"""`ingest --lang zh`: the console's report of a batch, its row errors, the reject file's reasons and a file's
refusal in Chinese (in English without it)."""

from __future__ import annotations

import csv
import datetime as dt
import os
import subprocess
from pathlib import Path

import pytest

from cli_helpers import CLI
from socialcredit.identifiers import make_ric
from socialcredit.store import open_store

TODAY = dt.date(2026, 6, 30)
PERSON = make_ric("110105", dt.date(1980, 3, 4), 15)
WRONG = PERSON[:-1] + ("0" if PERSON[-1] != "0" else "1")  # its check character is another


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "city.duckdb"
    with open_store(path, create=True, key=""):
        pass
    return path


def _ingest(db: Path, file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALCREDIT_")}
    env |= {"SOCIALCREDIT_TODAY": TODAY.isoformat(), "COLUMNS": "300"}
    return subprocess.run(
        [CLI, "ingest", str(file), "--source", "civil_affairs", "--db", str(db), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_ingest_reports_its_rows_and_writes_its_rejects_in_the_language_asked(db: Path, tmp_path: Path) -> None:
    """A subjects file with a valid row, an identity number of a wrong check character and a row without a name:
    under ``--lang zh`` the report, each row's reason (an identifier's, and the table's) and the reject file's reasons
    are in Chinese, the exit 1 line too (until 2026-12-06 `ingest` took no ``--lang``); in English without it."""
    said = {}
    for lang in ("en", "zh"):
        file = tmp_path / f"subjects-{lang}.csv"
        file.write_text(f"subject_id,name\n{PERSON},张三\n{WRONG},李四\n{PERSON},\n")
        done = _ingest(db, file, "--lang", lang)
        with open(tmp_path / f"subjects-{lang}.rejects.csv", encoding="utf-8", newline="") as fh:
            rejects = [row[:3] for row in csv.reader(fh)]
        said[lang] = (done.returncode, done.stdout.splitlines(), done.stderr.strip().splitlines()[-1], rejects)
    wrong_en = f"resident identity number '{WRONG}' has check character '{WRONG[-1]}'; expected '{PERSON[-1]}'"
    wrong_zh = f"居民身份证号码 '{WRONG}' 的校验码为 '{WRONG[-1]}'；应为 '{PERSON[-1]}'"
    en, zh = tmp_path / "subjects-en.csv", tmp_path / "subjects-zh.csv"
    assert said["en"][0] == said["zh"][0] == 1
    assert said["en"][1:] == (
        [
            f"{en}: 3 rows: 1 accepted, 0 unchanged, 2 rejected (batch 1)",
            f"  {en}: row 2: subject_id: {wrong_en}",
            f"  {en}: row 3: name: is required",
            f"Rejected rows written to {tmp_path / 'subjects-en.rejects.csv'}",
        ],
        f"error: {en}: 2 of 3 rows rejected",
        [["row", "field", "error"], ["2", "subject_id", wrong_en], ["3", "name", "is required"]],
    )
    assert said["zh"][1:] == (
        [
            f"{zh}：3 行：0 行已接受，1 行未变，2 行被拒绝（批次 2）",
            f"  {zh}：第 2 行：subject_id：{wrong_zh}",
            f"  {zh}：第 3 行：name：为必填项",
            f"被拒绝的行已写入 {tmp_path / 'subjects-zh.rejects.csv'}",
        ],
        f"错误：{zh}：3 行中有 2 行被拒绝",
        [["row", "field", "error"], ["2", "subject_id", wrong_zh], ["3", "name", "为必填项"]],
    )


def test_ingest_refuses_a_file_in_the_language_asked(db: Path, tmp_path: Path) -> None:
    """An NDJSON line that is not JSON refuses the file (exit 2) in the language asked."""
    file = tmp_path / "subjects.ndjson"
    file.write_bytes(f'{{"subject_id": "{PERSON}", "name": "张三"}}\n{{"name":\n'.encode())
    lines = {lang: _ingest(db, file, "--lang", lang) for lang in ("en", "zh")}
    assert {lang: (d.returncode, d.stderr.strip().splitlines()[-1]) for lang, d in lines.items()} == {
        "en": (2, f"error: {file}: line 2 is not one JSON value: Expecting value at character 10"),
        "zh": (2, f"错误：{file}：第 2 行不是一个 JSON 值：Expecting value（第 10 个字符处）"),
    }
