"""The command line's error messages, as a user reads them from the installed console script: in the language of
--lang, and quoting what was typed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).parent / "socialcredit")
NOBODY = "110105198003040151"  # a valid identity number no one registered


def run(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SOCIALCREDIT_DB_KEY"} | {"COLUMNS": "200"}
    return subprocess.run([CLI, *args, "--db", str(db)], capture_output=True, text=True, env=env, check=False)


@pytest.fixture(scope="module")
def empty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store made by `init`: no subject, no run."""
    db = tmp_path_factory.mktemp("empty") / "empty.duckdb"
    made = run("init", db=db)
    assert made.returncode == 0, made.stderr
    return db


def test_an_unknown_subject_is_told_in_chinese_under_lang_zh(empty: Path) -> None:
    zh = run("show", NOBODY, "--lang", "zh", db=empty)
    assert (zh.returncode, zh.stdout, zh.stderr) == (2, "", f"错误：没有登记的主体 '{NOBODY}'\n")
    en = run("show", NOBODY, db=empty)
    assert (en.returncode, en.stderr) == (2, f"error: no registered subject '{NOBODY}'\n")
    exported = run("file", "export", NOBODY, "--lang", "zh", db=empty)
    assert (exported.returncode, exported.stderr) == (2, f"错误：没有登记的主体 '{NOBODY}'\n")


def test_no_store_and_no_run_are_told_in_chinese_under_lang_zh(empty: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nothere.duckdb"
    no_store = run("show", NOBODY, "--lang", "zh", db=missing)
    assert (no_store.returncode, no_store.stderr) == (
        2,
        f"错误：{missing} 处没有存储；请用 `socialcredit init --db {missing}` 创建\n",
    )
    no_run = run("decide", NOBODY, "high_speed_rail", "--purpose", "loan", "--lang", "zh", db=empty)
    assert (no_run.returncode, no_run.stderr) == (2, "错误：还没有评分\n")


def test_a_usage_error_stays_in_clicks_english(empty: Path) -> None:
    """Click's own usage errors (an option's bad value) print themselves, in English, exit 2."""
    bad = run("show", NOBODY, "--lang", "fr", db=empty)
    assert bad.returncode == 2
    assert "Invalid value for '--lang': 'fr': give en or zh" in bad.stderr


@pytest.mark.parametrize(
    ("typed", "zh"),
    [
        ("2026-02-30", "--as-of '2026-02-30' 不是有效日期：2026年2月只有28天"),
        ("2026-13-01", "--as-of '2026-13-01' 不是有效日期：一年只有12个月"),
        ("20261231", "--as-of '20261231' 不是有效日期：请按年-月-日填写，如 2026-12-31"),
    ],
)
def test_a_date_option_that_is_no_date_says_why_in_both_languages(typed: str, zh: str) -> None:
    from socialcredit.clock import day_option
    from socialcredit.errors import SocialCreditError

    with pytest.raises(SocialCreditError) as refused:
        day_option(typed, "--as-of")
    assert refused.value.said_in("zh") == zh
    assert refused.value.said_in("en").startswith(f"--as-of '{typed}' is not a date")


def test_an_id_of_spaces_only_is_refused_as_empty(empty: Path) -> None:
    """A subject's identifier of spaces (full-width ones too) was looked up as '' and told "no registered subject
    ''"; it is refused as empty, in --lang."""
    en = run("show", "\u3000 \u3000", db=empty)
    assert (en.returncode, en.stderr) == (
        2,
        "error: the subject's identifier is empty once its spaces are removed (full-width ones too): give an "
        "identity number or a unified social credit code\n",
    )
    zh = run("show", "  ", "--lang", "zh", db=empty)
    assert (zh.returncode, zh.stderr) == (
        2,
        "错误：主体证件号码去掉空格（含全角空格）后为空：请填写身份证号码或统一社会信用代码\n",
    )


def test_an_id_of_5000_characters_is_quoted_with_64_at_most(empty: Path) -> None:
    """`show` echoed an id of 5,000 characters back whole: a message quotes at most 64 characters of it, the last an
    ellipsis."""
    shown = run("show", "A" * 5000, db=empty)
    assert (shown.returncode, shown.stderr) == (2, f"error: no registered subject '{'A' * 63}…'\n")


def test_an_identifier_of_the_wrong_length_is_quoted_bounded() -> None:
    from socialcredit.errors import IdentifierError
    from socialcredit.identifiers import validate_subject_id

    with pytest.raises(IdentifierError) as refused:
        validate_subject_id("9" * 5000)
    assert str(refused.value) == f"unified social credit code '{'9' * 63}…' has 5000 characters; expected 18"


def test_show_prints_every_inquiry_time_in_the_residents_pages_format(tmp_path: Path) -> None:
    """`show` printed an inquiry's time with seconds, and with microseconds when it had any, in one table: every one
    is to the minute, as the resident's page shows it."""
    from socialcredit.store import open_store

    db = tmp_path / "one.duckdb"
    assert run("init", db=db).returncode == 0
    (tmp_path / "subjects.csv").write_text(
        "subject_id,name,district,profession\n110105198003040155,王伟,朝阳区,retail\n", encoding="utf-8"
    )
    assert run("ingest", str(tmp_path / "subjects.csv"), "--source", "civil_affairs", db=db).returncode == 0
    store = open_store(db)
    try:
        store.execute(
            "INSERT INTO inquiries VALUES "
            "(9001, TIMESTAMP '2026-06-01 10:00:00', 'bank', '110105198003040155', 'loan', 'loan', 'granted', NULL, "
            "NULL), "
            "(9002, TIMESTAMP '2026-06-02 11:30:45.123456', 'bank', '110105198003040155', 'loan', 'loan', 'granted', "
            "NULL, NULL)"
        )
    finally:
        store.close()
    shown = run("show", "110105198003040155", db=db)
    assert shown.returncode == 0, shown.stderr
    rows = [line.split() for line in shown.stdout.splitlines() if line.strip().startswith("2026-")]
    assert [row[:3] for row in rows] == [["2026-06-02", "11:30", "bank"], ["2026-06-01", "10:00", "bank"]]


def test_init_over_a_removed_stores_checkpoints_refuses_and_names_them(tmp_path: Path) -> None:
    """A store removed, its checkpoints left: `init` made a new store there silently, and its first `audit verify`
    said it held checkpoints no key of it signed (exit 1), as if its log had been tampered with. `init` refuses,
    naming the folder, and creates nothing; once the folder is moved away, the new store verifies clean."""
    db = tmp_path / "a.duckdb"
    assert run("init", db=db).returncode == 0
    assert run("audit", "checkpoint", db=db).returncode == 0
    db.unlink()
    again = run("init", db=db)
    left = tmp_path / "a.duckdb.checkpoints"
    assert (again.returncode, again.stdout) == (2, "")
    assert again.stderr == (
        f"error: {left / 'checkpoints.jsonl'} holds the audit checkpoints of a store that was at {db} before; move "
        f"the folder {left} away (keep it while that store's audit log may be asked about) or choose another --db\n"
    )
    assert not db.exists()
    left.rename(tmp_path / "old.checkpoints")
    assert run("init", db=db).returncode == 0
    verified = run("audit", "verify", db=db)
    assert verified.returncode == 0, verified.stdout + verified.stderr
