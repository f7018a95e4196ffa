"""The public look-up publishes only listings decisions apply (registry/due_process/public_lists.py, ``held``).

World (tests/due_world.py): 张三 (A) has the unfulfilled defaulter judgment J1 from the courts, which puts him on
Beijing's public blacklist; here Beijing's policy does not count a disputed record while the dispute is open
(``counts_while_open: false``). Scored on 2026-02-01 (notice) and 2026-04-02 (in effect, published). A then disputes
J1: the live thread holds the record out, decisions no longer apply the listing (still open in the register), and
the look-up no longer publishes it, on the page and over the API, in both languages; the courts verify J1, decisions
apply the listing again and the look-up publishes it again.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import httpx
import pytest

from api_helpers import serving
from due_world import A, build, score_on_its_day
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.policy import builtin_policy, parse_policy
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.scoring.policies import publish_policy

MASKED = A[:6] + "********" + A[-4:]


def _published(client: httpx.Client) -> dict[str, tuple[int, list[str]]]:
    """For each language, the API's total and the page's masked identity numbers found for 张三."""
    out = {}
    for lang in ("en", "zh"):
        r = client.get("/v1/lists/lookup", params={"q": "张三", "lang": lang})
        assert r.status_code == 200, r.text
        api = r.json()
        assert api["total"] == len(api["results"])
        page = client.get("/lists", params={"q": "张三", "lang": lang})
        assert page.status_code == 200, page.text
        rows = re.findall(r'data-testid="public-result">(.*?)</tr>', page.text, re.S)
        out[lang] = (api["total"], [m for row in rows for m in re.findall(r"\d{6}\*{8}\w{4}", row)])
    return out


def test_a_listing_decisions_no_longer_apply_is_not_published_until_they_apply_it_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TODAY_ENV, "2026-04-02")
    store = build(tmp_path)
    text = builtin_policy("beijing").text.replace("counts_while_open: true", "counts_while_open: false")
    text = text.replace('version: "2026.2"', 'version: "2026.3"', 1)
    assert "counts_while_open: false" in text and 'version: "2026.3"' in text
    strict = parse_policy(text, "beijing.yaml")
    publish_policy(store, strict)
    score_on_its_day(store, strict, dt.date(2026, 2, 1))
    score_on_its_day(store, strict, dt.date(2026, 4, 2))  # A's blacklisting takes effect
    own = {"Authorization": "Bearer " + issue_key(store, "resident", "张三", subject=A).token}
    courts = {"Authorization": "Bearer " + issue_key(store, "furnisher", "the courts", source="courts").token}
    listed = {"en": (1, [MASKED]), "zh": (1, [MASKED])}
    app = create_app(tmp_path / "due.duckdb", store=store)
    service = app.state.service
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        assert _published(client) == listed
        r = client.post("/v1/disputes", json={"source_id": "courts", "record_id": "J1", "reason": "paid"}, headers=own)
        assert r.status_code == 201, r.text
        dispute = r.json()["dispute_id"]
        service.go_live()  # what the live thread does on its next pass, at once
        # still open in the register, but decisions no longer apply it: not published
        assert store.one("SELECT count(*) FROM listings WHERE subject_id = ? AND status = 'effective'", [A]) == 1
        assert _published(client) == {"en": (0, []), "zh": (0, [])}
        page = client.get("/lists", params={"q": "张三", "lang": "en"}).text
        assert "No published entry." in page
        assert "没有公示的记录。" in client.get("/lists", params={"q": "张三", "lang": "zh"}).text
        r = client.post(
            f"/v1/disputes/{dispute}/answer", json={"outcome": "verified", "note": "unpaid"}, headers=courts
        )
        assert r.status_code == 200, r.text
        service.go_live()
        assert _published(client) == listed  # decisions apply it again: published again
    store.close()
