"""`socialcredit consents` said a resident had "opted out" of commercial data after the policy's
``consent.mandatory_from``, when scoring counts it for everyone from that date (compiler/plan.py): it now says what
scoring does, in both languages, by ``enrollment.mandatory_since``.

It then compared the date with today, while a run counts the category for everyone only when its ``as_of`` is on or
after the date: each policy is now judged by the run in force (the version it used and its as-of date).

World (tests/due_world.py): B opted out of commercial data; sesame counts it for everyone from 2027-07-01, and
"early" (sesame's rules under another name) from 2027-01-01; each run is made on its day.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from api_helpers import serving
from cli_helpers import CLI
from due_world import A, B, C, build, scored
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.policy import builtin_policy, parse_policy
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.records.consent import set_consent
from socialcredit.registry.scoring.policies import publish_policy, resolve_policy
from socialcredit.registry.scoring.runs import score
from socialcredit.store import Store, open_store
from web_helpers import sign_in


def _consents(db: Path, subject: str = B, *args: str) -> str:
    # today after both dates: what the faces say follows the runs, not the day
    env = {k: v for k, v in os.environ.items() if k != "SOCIALCREDIT_DB_KEY"} | {"COLUMNS": "200", TODAY_ENV: TODAY}
    command = [CLI, "consents", subject, "--db", str(db), *args]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


TODAY = "2027-07-02"
SESAME = "Sesame-style commercial score (policy sesame)"
EARLY = "Early commercial score (policy early)"


def _score_on_its_day(store: Store | Path, policy: str, day: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run of ``policy`` as of ``day``, made that day (on the store at that path, then closed for the console)."""
    monkeypatch.setenv(TODAY_ENV, day)
    opened = open_store(store, key="") if isinstance(store, Path) else store
    try:
        score(opened, resolve_policy(opened, policy), dt.date.fromisoformat(day))
    finally:
        if opened is not store:
            opened.close()


def _two_policies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    """The world scored under sesame on 2027-06-30 and under early on 2026-12-31: neither run counts commercial data
    for everyone. B opted out, C opted in, A never chose."""
    store = build(tmp_path)
    text = builtin_policy("sesame").text.replace("id: sesame", "id: early", 1)
    text = text.replace("en: Sesame-style commercial score", "en: Early commercial score", 1)
    text = text.replace("zh: 芝麻式商业信用分", "zh: 早期商业信用分", 1).replace("2027-07-01", "2027-01-01", 1)
    assert publish_policy(store, parse_policy(text, "early.yaml", store.catalog))
    set_consent(store, B, "commercial", False, actor="resident")
    set_consent(store, C, "commercial", True, actor="resident")
    _score_on_its_day(store, "sesame", "2027-06-30", monkeypatch)
    _score_on_its_day(store, "early", "2026-12-31", monkeypatch)
    return store


def test_consents_say_an_opt_out_counts_from_the_run_that_counts_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _two_policies(tmp_path, monkeypatch)
    db = store.path
    store.close()
    # today is after both dates, but no run in force counts the category: the choice holds
    assert _consents(db).splitlines()[0] == "commercial: opted out"
    assert _consents(db, B, "--lang", "zh").splitlines()[0] == "commercial：已撤回同意"
    assert json.loads(_consents(db, B, "--json"))["mandatory"] == {}
    # early's run on its date counts it; sesame's run in force is still the one before its date
    _score_on_its_day(db, "early", "2027-01-01", monkeypatch)
    assert _consents(db).splitlines()[0] == (
        f"commercial: opted out; counted by {EARLY} all the same, by mandatory enrollment since 2027-01-01"
    )
    _score_on_its_day(db, "sesame", "2027-07-01", monkeypatch)
    assert _consents(db).splitlines()[0] == (
        f"commercial: opted out; counted by {EARLY} all the same, by mandatory enrollment since 2027-01-01; counted "
        f"by {SESAME} all the same, by mandatory enrollment since 2027-07-01"
    )
    assert _consents(db, B, "--lang", "zh").splitlines()[0] == (
        "commercial：已撤回同意；“早期商业信用分”（early 政策）自 2027-01-01 起强制纳入，无论是否同意均计入评分"
        "；“芝麻式商业信用分”（sesame 政策）自 2027-07-01 起强制纳入，无论是否同意均计入评分"
    )
    # one who never chose is counted too; one who opted in is not told "all the same"
    assert _consents(db, A).splitlines()[0] == (
        f"commercial: never chosen; counted by {EARLY} all the same, by mandatory enrollment since 2027-01-01; "
        f"counted by {SESAME} all the same, by mandatory enrollment since 2027-07-01"
    )
    assert _consents(db, C).splitlines()[0] == (
        f"commercial: opted in; counted by {EARLY} for everyone, by mandatory enrollment since 2027-01-01; counted "
        f"by {SESAME} for everyone, by mandatory enrollment since 2027-07-01"
    )
    assert (
        _consents(db, C, "--lang", "zh")
        .splitlines()[0]
        .startswith(
            "commercial：已同意；“早期商业信用分”（early 政策）自 2027-01-01 起强制纳入，所有人的此类数据均计入评分"
        )
    )
    said = json.loads(_consents(db, B, "--json"))
    assert said["mandatory"]["commercial"][1] == {
        "policy_id": "sesame",
        "name_en": "Sesame-style commercial score",
        "name_zh": "芝麻式商业信用分",
        "since": "2027-07-01",
    }


def test_consents_refuse_a_today(tmp_path: Path) -> None:
    """``--today`` was a what-if: the runs say what counts. It is refused as an unknown option (exit 2)."""
    store = scored(tmp_path, "2026-02-01")
    db = store.path
    store.close()
    proc = subprocess.run(
        [CLI, "consents", B, "--db", str(db), "--today", TODAY], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert "No such option: --today" in proc.stdout + proc.stderr


def test_the_consents_page_says_the_category_counts_from_the_run_that_counts_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/me/consents said "counts these data only with your consent; enrollment is mandatory from 2027-07-01" after
    that date too; then it said "has counted since" from that day, while the run in force made before it does not
    count them. It says what the run in force of each policy does (``mandatory_since``), in both languages."""
    store = _two_policies(tmp_path, monkeypatch)
    _score_on_its_day(store, "early", "2027-01-01", monkeypatch)
    monkeypatch.setenv(TODAY_ENV, TODAY)
    resident = issue_key(store, "resident", "李四", subject=B).token
    app = create_app(store.path, store=store)
    said = {}
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as site:
        sign_in(site, resident)
        for lang in ("en", "zh"):
            page = html.unescape(site.get("/me/consents", params={"lang": lang}).text)
            said[lang] = [line.strip() for line in page.splitlines() if "2027-0" in line]
    store.close()
    assert said["en"] == [
        '<p class="help">“Early commercial score” has counted these data for everyone since 2027-01-01 '
        "(mandatory enrollment), whatever you choose.</p>",
        '<p class="help">“Sesame-style commercial score” counts these data only with your consent; enrollment is '
        "mandatory from 2027-07-01.</p>",
    ]
    assert said["zh"] == [
        '<p class="help">“早期商业信用分”自 2027-01-01 起强制纳入：无论您是否同意，此类数据均计入评分。</p>',
        '<p class="help">“芝麻式商业信用分”只有在您同意后才计入此类数据；自 2027-07-01 起强制纳入。</p>',
    ]
