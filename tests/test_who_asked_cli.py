"""Every look-up of a resident's file is shown to the resident with its purpose: the command line's (``show``,
``file export``, ``repair eligibility``, audited as actor ``cli``) as an operator's at the command line, each once."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_helpers import serving
from due_world import A, B, build, score_on_its_day
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.store import open_store
from web_helpers import sign_in

CLI = str(Path(sys.executable).parent / "socialcredit")
AT_CLI = "an operator at the command line viewed your file"


def run(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SOCIALCREDIT_DB_KEY"} | {"COLUMNS": "200"}
    proc = subprocess.run([CLI, *args, "--db", str(db)], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _scored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """The due world scored under beijing on 2026-04-02 (the registry's today), closed, and resident A's key."""
    monkeypatch.setenv(TODAY_ENV, "2026-04-02")
    store = build(tmp_path)
    score_on_its_day(store, resolve_policy(store, "beijing"), dt.date(2026, 4, 2))
    resident = issue_key(store, "resident", "张三", subject=A).token
    store.close()
    return tmp_path / "due.duckdb", resident


def _views(inquiries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(q["requester"], q["purpose"]) for q in inquiries if q["outcome"] == "viewed"]


def test_the_command_lines_look_ups_are_in_the_residents_list_of_who_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, resident = _scored(tmp_path, monkeypatch)
    run("show", A, db=db)
    run("repair", "eligibility", A, "courts", "J1", db=db)
    run("file", "export", A, "--out", str(tmp_path / "file.json"), db=db)
    # newest first; the export's own entry (export_file) is the same look-up as its read of the file: shown once
    seen = [(AT_CLI, "resident file export"), (AT_CLI, "repair eligibility"), (AT_CLI, "subject report")]
    shown = json.loads(run("show", A, "--json", db=db).stdout)["inquiries"]
    assert _views(shown) == seen
    zh = json.loads(run("show", A, "--json", "--lang", "zh", db=db).stdout)["inquiries"]
    assert [q["requester"] for q in zh] == ["运营方在命令行查看了您的档案"] * 4  # the show --json just before too
    # another resident's list names none of them
    assert _views(json.loads(run("show", B, "--json", db=db).stdout)["inquiries"]) == []
    store = open_store(db)
    app = create_app(db, store=store)
    try:
        with (
            serving(app) as base,
            httpx.Client(base_url=base, timeout=30) as client,
            httpx.Client(base_url=base, timeout=30) as site,
        ):
            own = {"Authorization": f"Bearer {resident}"}
            report = client.get(f"/v1/subjects/{A}/report", headers=own).json()
            assert _views(report["inquiries"]) == [(AT_CLI, "subject report")] * 2 + seen
            sign_in(site, resident)
            en = site.get("/me/inquiries", params={"lang": "en"}).text
            assert en.count(AT_CLI) == 5
            assert "whether a record may be repaired, at the command line" in en
            assert "the file at the command line" in en
            zh = site.get("/me/inquiries", params={"lang": "zh"}).text
            assert zh.count("运营方在命令行查看了您的档案") == 5
            assert "在命令行查看记录能否信用修复" in zh and "在命令行查阅档案" in zh and "导出档案" in zh
    finally:
        store.close()


def test_a_decision_asked_at_the_command_line_names_who_asked_in_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`decide` without --requester logs the inquiry as asked by "cli": the resident's list of who asked said
    "cli", a code, on the Chinese page too; it says an operator at the command line, as for the command line's
    look-ups. A requester given is shown as given."""
    db, resident = _scored(tmp_path, monkeypatch)
    run("decide", A, "high_speed_rail", "--purpose", "ticket purchase", db=db)
    run("decide", A, "high_speed_rail", "--purpose", "ticket purchase", "--requester", "railway", db=db)
    store = open_store(db)
    app = create_app(db, store=store)
    try:
        with serving(app) as base, httpx.Client(base_url=base, timeout=30) as site:
            sign_in(site, resident)
            for lang, words in (("en", "an operator at the command line"), ("zh", "运营方（命令行）")):
                page = site.get("/me/inquiries", params={"lang": lang}).text
                cells = re.findall(r'<td data-label="[^"]+" class="card-title">([^<]*)</td>', page)
                assert cells == ["railway", words], cells
    finally:
        store.close()


def test_the_command_lines_reads_of_consents_and_notifications_are_shown_to_the_resident(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`consents SUBJECT` and `notifications SUBJECT` read what a resident chose and what they were told: audited,
    and until 2026-12-06 shown nowhere, where `freeze status` and `show` are in the resident's list of who asked."""
    db, _ = _scored(tmp_path, monkeypatch)
    run("consents", A, db=db)
    run("notifications", A, db=db)
    shown = json.loads(run("show", A, "--json", db=db).stdout)["inquiries"]
    assert _views(shown) == [(AT_CLI, "notifications"), (AT_CLI, "consents")]
    table = run("show", A, "--lang", "zh", db=db).stdout
    assert "在命令行查阅给您的通知" in table and "在命令行查阅数据使用同意记录" in table
    assert _views(json.loads(run("show", B, "--json", db=db).stdout)["inquiries"]) == []
