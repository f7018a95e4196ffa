"""`socialcredit consents` said a resident had "opted out" of commercial data after the policy's
``consent.mandatory_from``, when scoring counts it for everyone from that date (compiler/plan.py): it now says what
scoring does, in both languages, by ``enrollment.mandatory_since``.

World (tests/due_world.py): B opted out of commercial data; sesame (scored) counts it for everyone from 2027-07-01.
"""

from __future__ import annotations

import html
import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from api_helpers import serving
from cli_helpers import CLI
from due_world import B, scored
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.records.consent import set_consent
from web_helpers import sign_in


def _consents(db: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "SOCIALCREDIT_DB_KEY"} | {"COLUMNS": "200"}
    command = [CLI, "consents", B, "--db", str(db), *args]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_consents_say_an_opt_out_counts_from_the_mandatory_date(tmp_path: Path) -> None:
    store = scored(tmp_path, "2026-02-01")
    set_consent(store, B, "commercial", False, actor="resident")
    db = store.path
    store.close()
    # the day before: the opt-out holds
    assert _consents(db, "--today", "2027-06-30").splitlines()[0] == "commercial: opted out"
    assert _consents(db, "--today", "2027-06-30", "--lang", "zh").splitlines()[0] == "commercial：已撤回同意"
    # from the date: counted all the same
    assert _consents(db, "--today", "2027-07-01").splitlines()[0] == (
        "commercial: opted out; counted by Sesame-style commercial score (policy sesame) all the same, by mandatory "
        "enrollment since 2027-07-01"
    )
    assert _consents(db, "--today", "2027-07-01", "--lang", "zh").splitlines()[0] == (
        "commercial：已撤回同意；“芝麻式商业信用分”（sesame 政策）自 2027-07-01 起强制纳入，无论是否同意均计入评分"
    )
    said = json.loads(_consents(db, "--today", "2027-07-01", "--json"))
    assert said["mandatory"] == {
        "commercial": [
            {
                "policy_id": "sesame",
                "name_en": "Sesame-style commercial score",
                "name_zh": "芝麻式商业信用分",
                "since": "2027-07-01",
            }
        ]
    }


def test_the_consents_page_says_the_category_counts_from_the_mandatory_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/me/consents said "counts these data only with your consent; enrollment is mandatory from 2027-07-01" after
    that date too; from it, the page says what scoring does, in both languages."""
    store = scored(tmp_path, "2026-02-01")
    set_consent(store, B, "commercial", False, actor="resident")
    resident = issue_key(store, "resident", "李四", subject=B).token
    app = create_app(store.path, store=store)
    said = {}
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as site:
        sign_in(site, resident)
        for today in ("2027-06-30", "2027-07-01"):
            monkeypatch.setenv(TODAY_ENV, today)
            for lang in ("en", "zh"):
                page = html.unescape(site.get("/me/consents", params={"lang": lang}).text)
                said[today, lang] = [line.strip() for line in page.splitlines() if "2027-07-01" in line]
    store.close()
    assert said["2027-06-30", "en"] == [
        '<p class="help">“Sesame-style commercial score” counts these data only with your consent; enrollment is '
        "mandatory from 2027-07-01.</p>"
    ]
    assert said["2027-07-01", "en"] == [
        '<p class="help">“Sesame-style commercial score” has counted these data for everyone since 2027-07-01 '
        "(mandatory enrollment), whatever you choose.</p>"
    ]
    assert said["2027-07-01", "zh"] == [
        '<p class="help">“芝麻式商业信用分”自 2027-07-01 起强制纳入：无论您是否同意，此类数据均计入评分。</p>'
    ]
