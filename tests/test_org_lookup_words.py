"""An organisation's file read on its page (/orgs/CODE) is an inquiry its list of who looked shows: its purpose
reads in the page's language (it was "organisation's file" on the Chinese pages), and the operator reads the view as
one of the organisation's file (it said 查看了该居民的档案, "the resident's file"). Over HTTP."""

from __future__ import annotations

import html
from typing import Any

import httpx

from web_helpers import rows, sign_in, site

__all__ = ["site"]  # fixtures


def test_the_purpose_of_a_look_up_of_an_organisation_in_both_languages(site: dict[str, Any]) -> None:
    org = rows(site, "SELECT subject_id FROM subjects WHERE kind = 'org' ORDER BY subject_id LIMIT 1")[0]["subject_id"]
    with httpx.Client(base_url=site["base"], timeout=30) as client:
        sign_in(client, site["keys"]["operator"])
        assert client.get(f"/orgs/{org}?lang=zh").status_code == 200
        zh = html.unescape(client.get(f"/ops/subjects/{org}?lang=zh").text)
        assert "查阅企业档案" in zh and "organisation's file" not in zh
        # the operator reads the view of the organisation, not of a resident
        assert "查看了该单位的档案" in zh and "查看了该居民的档案" not in zh
        # the operator's page of an organisation's file speaks of the organisation (it said "该居民", the resident)
        assert "（分数不高于该单位的单位所占比例）" in zh and "该居民" not in zh
        en = html.unescape(client.get(f"/ops/subjects/{org}?lang=en").text)
        assert "the organisation's file" in en
        assert "viewed the organisation's file" in en and "resident's file" not in en
        assert "(the share of organisations scoring at or below the organisation)" in en
        assert "at or below the resident" not in en
