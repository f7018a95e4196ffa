"""The consents page's history says who made each choice in words, as the freeze page's does: the resident, or the
registry for them; never the code the choice is logged under (``cli``, ``key:…``)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import httpx

from api_helpers import serving
from due_world import B, build
from socialcredit.api.app import create_app
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.due_process.freeze import place_freeze
from socialcredit.registry.records.consent import set_consent
from web_helpers import csrf_of, sign_in


def test_the_consent_history_names_who_chose_in_words(tmp_path: Path) -> None:
    """B (李四) opted in to commercial data at the registry's command line (logged as ``cli``), then opts out on
    /me/consents with their key (logged as ``key:<id>``): the history, newest first, reads "opted out (you)" and
    "opted in (the registry)", "已拒绝 (本人)" and "已同意 (登记机构)". Until 2026-12-06 it read "(key:3fd620a217e8)"
    and "(cli)" in both languages."""
    store = build(tmp_path)
    set_consent(store, B, "commercial", True)
    resident = issue_key(store, "resident", "李四", subject=B)
    app = create_app(store.path, store=store)
    said = {}
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as site:
        sign_in(site, resident.token)
        page = site.get("/me/consents")
        saved = site.post("/me/consents", data={"csrf": csrf_of(page.text), "category": "commercial", "granted": "no"})
        assert saved.status_code in (200, 303), saved.text
        for lang in ("en", "zh"):
            text = html.unescape(site.get("/me/consents", params={"lang": lang}).text)
            said[lang] = [re.sub(r"^\S+ \S+: ", "", x) for x in re.findall(r"<li>([^<]*)</li>", text)]
    actors = store.execute(
        "SELECT actor FROM consents WHERE subject_id = ? AND category = 'commercial' ORDER BY seq", [B]
    ).fetchall()
    store.close()
    assert actors == [("cli",), (f"key:{resident.party.key_id}",)]
    assert said == {
        "en": ["opted out (you)", "opted in (the registry)"],
        "zh": ["已拒绝 (本人)", "已同意 (登记机构)"],
    }


def test_the_freeze_history_names_the_resident_whatever_key_of_theirs_made_the_change(tmp_path: Path) -> None:
    """B froze the file with one key of theirs and reads the freeze page signed in with another: the history says
    "file frozen · you" and "冻结档案 · 本人", as the consents page does for any key or link of the resident's. Until
    2026-12-06 only the session's own key counted as theirs: it said "the registry" ("登记机构")."""
    store = build(tmp_path)
    first = issue_key(store, "resident", "李四", subject=B)
    second = issue_key(store, "resident", "李四", subject=B)
    place_freeze(store, B, actor=f"key:{first.party.key_id}")
    app = create_app(store.path, store=store)
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as site:
        sign_in(site, second.token)
        said = {lang: html.unescape(site.get("/me/freeze", params={"lang": lang}).text) for lang in ("en", "zh")}
    store.close()
    assert "file frozen · you" in said["en"] and "file frozen · the registry" not in said["en"]
    assert "冻结档案 · 本人" in said["zh"] and "冻结档案 · 登记机构" not in said["zh"]
