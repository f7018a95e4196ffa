"""``policy lint --lang zh`` on a file that is not a valid policy: its problems in Chinese, where they were in English
whatever --lang asked (the semantic checks, the YAML reader's framing and its own words; the quoted source and the
location stay as written). The console script in a subprocess, exit 2 in either language; the reader's word list
itself is checked in-process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from socialcredit import yamlsrc
from socialcredit.policies import __file__ as _policies

CLI = Path(sys.executable).parent / "socialcredit"  # the installed console script beside this interpreter
BEIJING = Path(_policies).with_name("beijing.yaml")


def _lint(tmp_path: Path, text: str, *lang: str) -> tuple[int, str]:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "SOCIALCREDIT_DB_KEY"} | {"COLUMNS": "200"}
    command = [str(CLI), "policy", "lint", str(path), "--db", str(tmp_path / "none.duckdb"), *lang]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)
    return done.returncode, done.stderr.replace(str(path), "P")


def test_a_policys_semantic_problems_are_said_in_the_language_asked(tmp_path: Path) -> None:
    lines = BEIJING.read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[10].startswith("scale: {base: 1000,") and lines[29].strip() == "record_type: tax_payment"
    lines[10] = lines[10].replace("base: 1000", "base: 2000")
    lines[29] = lines[29].replace("tax_payment", "tax_bill")
    text = "".join(lines)
    assert _lint(tmp_path, text, "--lang", "zh") == (
        2,
        "错误：P:11:1: scale: 基准分 2000 须在最低分 0 与最高分 1300 之间\n"
        "P:30:5: rule tax.paid: record_type: 未知的记录类型 'tax_bill'\n",
    )
    assert _lint(tmp_path, text) == (
        2,
        "error: P:11:1: scale: base 2000 must lie between min 0 and max 1300\n"
        "P:30:5: rule tax.paid: record_type: unknown record type 'tax_bill'\n",
    )


def test_a_yaml_syntax_problem_is_said_in_the_language_asked(tmp_path: Path) -> None:
    text = "id: x\nversion: [1\n"
    assert _lint(tmp_path, text, "--lang", "zh") == (
        2,
        "错误：P:3: 不是有效的 YAML（第 1 列）：此处应为 ',' 或 ']'，却是 '<stream end>'"
        "（读取一个方括号列表时，始于第 2 行）\n",
    )
    assert _lint(tmp_path, text) == (
        2,
        "error: P:3: not valid YAML at column 1: expected ',' or ']', but got '<stream end>' (while parsing a flow "
        "sequence that starts on line 2)\n",
    )


@pytest.mark.parametrize("english", list(yamlsrc._READER_WORDS))
def test_every_reader_word_is_said_in_chinese_with_what_it_quotes(english: str) -> None:
    """The Chinese was filled with str.format: "此处应为 ',' 或 '}'，却是 {0}" crashed on its lone '}' ("Single '}'
    encountered"). Each entry, with what the reader quotes holding braces itself, is said with that in its place."""
    zh = yamlsrc._READER_WORDS[english]
    quoted = "'{x}'"
    said = yamlsrc._reader_zh(english.replace("%r", quoted))
    assert said == (zh.replace("{0}", quoted) if "%r" in english else zh)
    assert ("{0}" in zh) == ("%r" in english) and said != english


def test_the_chinese_cannot_fail_the_english(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Chinese is built beside the English for every refused policy: were it to fail, the English is given."""
    try:
        yamlsrc.load_located("id: [x\n", "P")
    except yaml.YAMLError as exc:
        refused = exc

    def broken(words: str) -> str:
        raise ValueError(words)

    monkeypatch.setattr(yamlsrc, "_reader_zh", broken)
    english = "P:2: not valid YAML at column 1: expected ',' or ']', but got '<stream end>' (while parsing a flow "
    english += "sequence that starts on line 1)"
    assert yamlsrc.yaml_problem(refused, "P", lang="zh") == yamlsrc.yaml_problem(refused, "P") == english


def test_a_policys_due_process_problems_are_said_in_the_language_asked(tmp_path: Path) -> None:
    """The due-process checks (a severity class published for fewer days at most than at least, a dispute's extended
    deadline before its first) are said in Chinese under --lang zh (until 2026-12-06 in English whatever was asked);
    the names and numbers as written."""
    lines = BEIJING.read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[265].startswith("  minor: {min_publication_days: 0,") and lines[269].startswith("disputes: {")
    lines[265] = lines[265].replace("min_publication_days: 0", "min_publication_days: 100")
    lines[269] = lines[269].replace("extended_answer_days: 45", "extended_answer_days: 20")
    text = "".join(lines)
    assert _lint(tmp_path, text, "--lang", "zh") == (
        2,
        "错误：P:266:11: severities.minor.min_publication_days: 100 大于 max_publication_days 90\n"
        "P:270:54: disputes.extended_answer_days: 20 小于 answer_days 30\n",
    )
    assert _lint(tmp_path, text) == (
        2,
        "error: P:266:11: severities.minor.min_publication_days: 100 is more than max_publication_days 90\n"
        "P:270:54: disputes.extended_answer_days: 20 is less than answer_days 30\n",
    )
