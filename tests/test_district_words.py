"""A district reads in the page's language: in English by its census name (Tongzhou), as the dashboard's chart of
districts says it; the resident's page, an operator's look-up of a subject and the search of subjects printed the
name as the subjects file gives it (通州区) on English pages. In Chinese it stays as written. Over HTTP."""

from __future__ import annotations

import html
from typing import Any

import httpx

from socialcredit.data import districts
from socialcredit.web.codes import district_words
from web_helpers import rows, sign_in, site

__all__ = ["site"]  # fixtures

ENGLISH = {d["name_zh"]: d["name_en"] for d in districts()}


def test_district_words() -> None:
    assert [district_words(x, "en") for x in ("东城区", "通州区", "Gotham", "", None)] == [
        "Dongcheng",
        "Tongzhou",
        "Gotham",
        "",
        "",
    ]
    assert district_words("通州区", "zh") == "通州区"


def test_the_district_of_a_subject_in_english_and_in_chinese(site: dict[str, Any]) -> None:
    listed = site["listed"]
    district = rows(site, "SELECT district FROM subjects WHERE subject_id = ?", [listed])[0]["district"]
    assert district in ENGLISH
    with httpx.Client(base_url=site["base"], timeout=30) as client:
        sign_in(client, site["keys"]["resident"])
        en = html.unescape(client.get("/me?lang=en").text)
        assert f"District: {ENGLISH[district]}</span>" in en and district not in en
        zh = html.unescape(client.get("/me?lang=zh").text)
        assert f"区: {district}</span>" in zh
    with httpx.Client(base_url=site["base"], timeout=30) as client:
        sign_in(client, site["keys"]["operator"])
        looked_up = html.unescape(client.get(f"/ops/subjects/{listed}?lang=en").text)
        assert f"District: {ENGLISH[district]}</span>" in looked_up and district not in looked_up
        found = html.unescape(client.get(f"/ops/subjects?q={listed}&lang=en").text)
        assert f'data-label="District">{ENGLISH[district]}</td>' in found and district not in found
