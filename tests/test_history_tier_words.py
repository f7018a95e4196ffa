"""The score history page (/me/history) names each grade as the overview does, the grade before a change too: it
said "等级由 poor 变为 fair" on a Chinese page, Sesame's grade ids as the policy writes them.

张三 (A of tests/due_world.py) under Sesame (base 550; grades poor from 350, fair from 550): on 2026-02-01 the
unfulfilled judgment J1 with defaulter=true takes 200 points (credit.judgment_defaulter): 550 − 200 = 350, poor. The
court records J1 fulfilled on 2026-04-10, and the run of 2026-04-20 gives 550, fair.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_helpers import serving
from due_world import JUDGMENT, A, build, ingest, score_on_its_day, write_csv
from page_text import raw_identifiers, visible_text
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.scoring.policies import resolve_policy
from web_helpers import sign_in

D = dt.date


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder: Path = tmp_path_factory.mktemp("history-tiers")
    store = build(folder)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(TODAY_ENV, "2026-04-20")
        sesame = resolve_policy(store, "sesame")
        score_on_its_day(store, sesame, D(2026, 2, 1))
        paid = [["J1", A, "court_judgment", "2026-01-10", "civil", "12000", "fulfilled", "true", "true"]]
        ingest(store, write_csv(folder / "paid.csv", [*JUDGMENT, "correction"], paid), "courts", D(2026, 4, 10))
        score_on_its_day(store, sesame, D(2026, 4, 20))
        key = issue_key(store, "resident", "张三", subject=A).token
        app = create_app(folder / "due.duckdb", store=store)
        try:
            with serving(app) as base:
                yield {"base": base, "key": key}
        finally:
            store.close()


def _history(site: dict[str, Any], lang: str) -> str:
    with httpx.Client(base_url=site["base"], timeout=30) as client:
        sign_in(client, site["key"])
        page = client.get("/me/history", params={"lang": lang})
    assert page.status_code == 200, page.text
    return page.text


def test_a_change_of_grade_names_both_grades_in_chinese(site: dict[str, Any]) -> None:
    zh = _history(site, "zh")
    assert "与上次相比 +200 分 · 等级由 信用较差 变为 信用中等" in zh
    assert "<strong>分数 550</strong> · 等级 信用中等" in zh and "<strong>分数 350</strong> · 等级 信用较差" in zh
    assert raw_identifiers(visible_text(zh), lang="zh") == []  # no grade id (poor, fair) on a Chinese page


def test_a_change_of_grade_names_both_grades_in_english(site: dict[str, Any]) -> None:
    assert "+200 points since the run before · Tier poor became fair" in _history(site, "en")
