"""`socialcredit show SUBJECT --lang zh` speaks Chinese throughout: its headings and labels were English around the
policy's Chinese texts ("run 1 as of …: score 900, tier B, rank 2 of 2", "dimension points cap", "records"). The
installed console script, in a subprocess, on a store made in this process as `init`, `ingest` and `score` make it
(what the tests check is `show`'s and the other commands' output; the steps that only set a test's world up are made
here too, each as its command makes it)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cli_helpers import DEFAULTER, ONE_DEFAULTER, PAYER, sc
from due_world import made_city
from socialcredit.clock import TODAY_ENV, resolve_today
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import score
from socialcredit.store import Store, open_store


@contextmanager
def opened(db: Path, today: str | None = None) -> Iterator[Store]:
    """The store ``db`` opened in this process as a command opens it (no key), on the registry's clock of ``today``
    when given."""
    with pytest.MonkeyPatch.context() as mp:
        if today is not None:
            mp.setenv(TODAY_ENV, today)
        with open_store(db, key="") as store:
            yield store


def scored(db: Path, policy: str, as_of: str) -> None:
    """``score --policy POLICY --as-of AS_OF`` made on its day (cli_helpers.on_its_day), in this process."""
    day = dt.date.fromisoformat(as_of)
    with opened(db, min(day, resolve_today()).isoformat()) as store:
        score(store, resolve_policy(store, policy), day)


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """cli_helpers.scored_city's store of ONE_DEFAULTER scored as of 2026-07-01, made in this process."""
    return made_city(tmp_path_factory.mktemp("show"), ONE_DEFAULTER, as_of="2026-07-01")


def decided(db: Path, subject: str, purpose: str, requester: str = "cli") -> None:
    """``decide SUBJECT high_speed_rail --purpose PURPOSE [--requester REQUESTER]``, in this process."""
    from socialcredit.registry.decisions.decide import decide

    with opened(db) as store:
        decide(store, subject, "high_speed_rail", purpose, requester=requester, since_run=True)


def _cells(line: str) -> list[str]:
    return line.split()


def _fresh(city: Path, tmp_path: Path) -> Path:
    """A copy of the store as the fixture made it: a `show` is a look-up the next `show` lists (as an operator's at
    the command line), so each test reads a store no other test's `show` has read."""
    db = tmp_path / "fresh.duckdb"
    shutil.copy2(city, db)
    return db


def test_show_in_chinese_has_chinese_headings_and_labels(city: Path, tmp_path: Path) -> None:
    lines = sc("show", DEFAULTER, "--lang", "zh", db=_fresh(city, tmp_path)).stdout.splitlines()
    # the profession, the record's source and its type by their Chinese names, as the pages name them (they were
    # codes: "courts")
    assert lines[0] == f"王伟 {DEFAULTER}（个人，零售业，朝阳区）"
    assert lines[2] == (
        "beijing 2026.2 评分编号 1，截至 2026-07-01：分数 900，等级 B，排名第 2 名（共 2 人），百分位 50.0；"
        # the list by its Chinese name, as `decide --lang zh` and the pages say it; in its notice period (the run
        # noticed it, in effect 60 days later), said so as the page and the JSON say it (it read as in effect)
        "名单：失信名单（失信被执行人；仅为告知：2026-08-30 起生效，除非在此之前原因消除）"
    )
    assert _cells(lines[3]) == ["维度", "分值", "上下限"]
    assert _cells(lines[8]) == ["#", "代码", "原因", "分值", "如何改变"]
    assert lines[10] == "记录"
    assert _cells(lines[11]) == ["日期", "来源", "记录", "类型", "字段", "状态", "计分"]
    assert _cells(lines[12])[-4] == "计分中"  # the record's status in the registry's words
    assert _cells(lines[12])[:5] == ["2026-06-01", "人民法院", "C-1", "v1", "法院判决"]
    # its points and, beside them, the listing it made as it stands (in its notice period), the row wrapped on two
    # lines (until 2026-12-07 only its points, on one)
    assert "".join("".join(lines[12:14]).split()).endswith(
        "计分中beijing:court.unfulfilled-100;将于2026-08-30起将您列入失信名单（失信被执行人），除非此前消除原因"
    )
    assert lines[14:] == ["没有查询本主体的记录。"]


def test_show_in_english_is_as_it_was(city: Path, tmp_path: Path) -> None:
    lines = sc("show", DEFAULTER, db=_fresh(city, tmp_path)).stdout.splitlines()
    assert lines[0] == f"王伟 {DEFAULTER} (person, retail, 朝阳区)"
    assert lines[2] == (
        "beijing 2026.2 run 1 as of 2026-07-01: score 900, tier B, rank 2 of 2, percentile 50.0; lists: blacklist "
        "(judgment defaulter; notice only: in effect from 2026-08-30, unless the cause goes away)"
    )
    assert _cells(lines[3]) == ["dimension", "points", "cap"]
    assert _cells(lines[8]) == ["#", "code", "reason", "points", "what", "would", "change", "it"]
    assert lines[10] == "records"
    assert _cells(lines[11]) == ["date", "source", "record", "type", "fields", "status", "contribution"]
    assert _cells(lines[12])[:5] == ["2026-06-01", "courts", "C-1", "v1", "court_judgment"]
    # its points and, beside them, the listing it made as it stands (in its notice period), the row wrapped on two
    # lines (until 2026-12-07 only its points, on one)
    assert " ".join(" ".join(lines[12:14]).split()).endswith(
        "counting beijing: court.unfulfilled -100; will put you on the blacklist (judgment defaulter) from "
        "2026-08-30 unless the cause is resolved before then"
    )
    assert lines[14:] == ["No inquiries about this subject."]


def test_the_inquiries_of_show_in_chinese(city: Path, tmp_path: Path) -> None:
    db = tmp_path / "asked.duckdb"
    shutil.copy2(city, db)
    decided(db, PAYER, "test")
    decided(db, PAYER, "loan")
    lines = sc("show", PAYER, "--lang", "zh", db=db).stdout.splitlines()
    at = lines.index("查询本主体的记录")
    assert _cells(lines[at + 1]) == ["时间", "查询方", "服务", "用途", "结果"]
    # a purpose the registry has words for is said as the resident's pages say it; a relying party's own as sent
    assert sorted(_cells(line)[-4:] for line in lines[at + 2 : at + 4]) == [
        ["运营方（命令行）", "high_speed_rail", "test", "准予"],
        ["运营方（命令行）", "high_speed_rail", "贷款审批", "准予"],
    ]


def test_link_disputes_in_chinese_have_their_own_status_words_and_note(capsys: pytest.CaptureFixture[str]) -> None:
    """A link dispute's statuses are not a record dispute's: "lapsed" reverses the link, it withdraws no record."""
    from socialcredit import cli

    disputes = [
        {
            "dispute_id": 3,
            "identity_id": 7,
            "origin_region": "120000",
            "origin_number": "120101199001010011",
            "status": status,
            "opened_at": "2026-11-01",
            "deadline": "2026-11-16",
            "note": "no answer in time: the link is reversed" if status == "lapsed" else None,
            "note_zh": "逾期未答复：关联已撤销" if status == "lapsed" else None,
        }
        for status in ("upheld", "unlinked", "lapsed")
    ]
    cli._print_links({"links": [], "link_disputes": disputes}, "zh")
    said = capsys.readouterr().out
    assert "已核实（关联保留）" in said and "关联已撤销，" in said
    assert "逾期未答复（关联撤销）" in said and "；逾期未答复：关联已撤销" in said
    assert "upheld" not in said and "unlinked" not in said and "记录撤回" not in said and "no answer" not in said


def test_who_asked_with_a_key_no_longer_known_is_said_in_the_language_asked(city: Path, tmp_path: Path) -> None:
    """A decision logged under a key the store does not know (``key:<id>``; the key id is never shown) is "a
    relying party" in English and in Chinese in Chinese (it was English in both)."""
    db = _fresh(city, tmp_path)
    decided(db, PAYER, "loan", requester="key:gone0000000")
    lines = sc("show", PAYER, "--lang", "zh", db=db).stdout.splitlines()
    at = lines.index("查询本主体的记录")
    assert _cells(lines[at + 2])[-4:] == ["某查询方", "high_speed_rail", "贷款审批", "准予"]
    english = sc("show", PAYER, db=db).stdout
    assert "a relying party" in english and "gone0000000" not in english


def test_who_asked_and_why_are_shown_with_their_control_characters_as_codes(city: Path, tmp_path: Path) -> None:
    """A purpose, a requester or a service a store holds from before they were checked (an escape sequence, a
    right-to-left override, a line break) is shown by `show` with each control character as its code, as a freeze's
    police reference is (they were sent to the terminal as they were)."""
    from socialcredit.store import open_store

    db = _fresh(city, tmp_path)
    decided(db, PAYER, "loan", requester="bank")
    store = open_store(db)
    try:
        store.execute("UPDATE inquiries SET purpose = 'loan\x1b[2J\u202eevil\nnext', requester = 'bank\x1b[31m'")
    finally:
        store.close()
    said = sc("show", PAYER, db=db).stdout
    assert "\x1b" not in said and "\u202e" not in said
    lines = said.splitlines()
    at = lines.index("inquiries about this subject")
    shown = ["bank\\x1b[31m", "high_speed_rail", "loan\\x1b[2J\\u202eevil\\nnext", "granted"]
    assert _cells(lines[at + 2])[-4:] == shown


def test_show_names_a_listing_in_effect_without_notice_only(city: Path, tmp_path: Path) -> None:
    """A run after the notice period (60 days from 2026-07-01's run: in effect from 2026-08-30) finds the listing in
    effect: `show` names the list and its cause alone, "notice only" said of no listing but one in notice."""
    db = _fresh(city, tmp_path)
    scored(db, "beijing", "2026-09-01")
    english = sc("show", DEFAULTER, db=db, today="2026-09-01").stdout.splitlines()
    assert english[2] == (
        "beijing 2026.2 run 2 as of 2026-09-01: score 900, tier B, rank 2 of 2, percentile 50.0; lists: blacklist "
        "(judgment defaulter)"
    )
    chinese = sc("show", DEFAULTER, "--lang", "zh", db=db, today="2026-09-01").stdout.splitlines()
    assert chinese[2] == (
        "beijing 2026.2 评分编号 2，截至 2026-09-01：分数 900，等级 B，排名第 2 名（共 2 人），百分位 50.0；"
        "名单：失信名单（失信被执行人）"
    )


def test_keys_list_shows_a_name_and_a_scope_with_their_control_characters_as_codes(city: Path, tmp_path: Path) -> None:
    """A party's name and declared purposes a store holds from before they were checked (an escape sequence, a
    right-to-left override) are listed by `keys list` with each control character as its code (the name was sent to
    the terminal as it was)."""
    from socialcredit.store import open_store

    db = _fresh(city, tmp_path)
    from socialcredit.registry.access.parties import issue_key

    with opened(db) as store:  # as `keys issue --role relying_party --name bank --service high_speed_rail` issues it
        issue_key(store, "relying_party", "bank", services=["high_speed_rail"], purposes=["loan"])
    store = open_store(db)
    try:
        store.execute("UPDATE api_keys SET name = 'bank\x1b[2J\u202eknab', purposes = ['loan\x1b[31m']")
    finally:
        store.close()
    said = sc("keys", "list", db=db).stdout
    assert "\x1b" not in said and "\u202e" not in said
    [row] = [line for line in said.splitlines() if "relying_party" in line]
    cells = [cell.strip() for cell in row.split("│")]
    assert cells[3:5] == ["bank\\x1b[2J\\u202eknab", "high_speed_rail, loan\\x1b[31m"]


def test_a_record_names_its_source_source_id_as_every_other_part_of_the_file(city: Path, tmp_path: Path) -> None:
    """A record of `show --json` and of `file export` named its source ``source`` where a dispute, a repair, a
    fulfilment and a list entry say ``source_id``: it says ``source_id`` now, ``source`` kept beside it as a
    deprecated alias; and the file's other parts name a source ``source_id`` only."""
    db = _fresh(city, tmp_path)
    shown = json.loads(sc("show", DEFAULTER, "--json", db=db).stdout)
    from socialcredit.registry.due_process.disputes import file_dispute

    with opened(db, "2026-07-02") as store:  # as `dispute file` files it on the registry's clock of 2026-07-02
        file_dispute(store, DEFAULTER, "courts", "C-1", "paid", actor="cli")
    exported = json.loads(sc("file", "export", DEFAULTER, db=db, today="2026-07-02").stdout)
    for records in (shown["records"], exported["records"]):
        assert [(r["source_id"], r["source"], r["record_id"]) for r in records] == [("courts", "courts", "C-1")]
    assert [(d["source_id"], d["record_id"]) for d in exported["disputes"]] == [("courts", "C-1")]
    assert [(e["source_id"], e["record_id"]) for e in exported["list_entries"]] == [("courts", "C-1")]
    assert not any("source" in part for part in (*exported["disputes"], *exported["list_entries"]))


def test_a_named_grade_is_said_by_its_name_in_chinese(city: Path, tmp_path: Path) -> None:
    """Sesame's grades have ids in English words (poor, fair): `show` and `decide` in Chinese said "等级 poor" where the
    pages say "信用较差". A letter grade keeps its letter; in English the id is said as it was."""
    db = _fresh(city, tmp_path)
    scored(db, "sesame", "2026-07-01")
    # sesame: base 550; the judgment defaulter -200: 350, at the foot of "poor" (350-549)
    zh = sc("show", DEFAULTER, "--lang", "zh", "--policy", "sesame", db=db).stdout.splitlines()
    assert zh[2].startswith(
        "sesame 2026.1 评分编号 2，截至 2026-07-01：分数 350，等级 信用较差，排名第 2 名（共 2 人），"
    )
    decided = sc(
        "decide", DEFAULTER, "matchmaking_badge", "--purpose", "婚恋", "--policy", "sesame", "--lang", "zh", db=db
    )
    assert decided.stdout.splitlines()[0].startswith(
        f"matchmaking_badge（{DEFAULTER}）：拒绝（政策 sesame 2026.1，评分编号 2，变更序号 3，分数 350，等级 信用较差，"
    )
    letter = sc("decide", DEFAULTER, "bank_loan", "--purpose", "贷款", "--lang", "zh", db=db).stdout
    assert "分数 900，等级 B，" in letter.splitlines()[0]
    en = sc("decide", DEFAULTER, "matchmaking_badge", "--purpose", "dating", "--policy", "sesame", db=db).stdout
    assert ", score 350, tier poor, " in en.splitlines()[0]
