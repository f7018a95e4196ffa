"""The decision on a service asked at GET /v1/subjects/{id}/services/{service} is logged as an inquiry the resident
sees in their list of who asked: its purpose says who asked it, in the page's language."""

from __future__ import annotations

import re
from typing import Any

from api_helpers import auth, execute, world
from web_helpers import signed_in

__all__ = ["world"]


def _purposes(world: dict[str, Any]) -> list[str]:
    rows = execute(world, "SELECT purpose FROM inquiries WHERE subject_id = ? ORDER BY inquiry_id", [world["listed"]])
    return [str(r[0]) for r in rows]


def test_an_operators_look_up_of_a_residents_decision_is_not_logged_as_their_own(world: dict[str, Any]) -> None:
    """Until 2026-12-05 an operator's look-up was logged with the purpose "operator asks about their file" (as if
    the operator had asked about the operator's own file), shown in English on the resident's Chinese page."""
    client, listed = world["client"], world["listed"]
    before = len(_purposes(world))
    for who in ("operator", "resident"):
        r = client.get(f"/v1/subjects/{listed}/services/high_speed_rail", headers=auth(world["keys"][who]))
        assert r.status_code == 200, r.text
    assert _purposes(world)[before:] == ["operator decision", "resident asks about their file"]
    with signed_in(world, "resident") as browser:
        for lang, operator, own in (
            ("zh", "通过接口查看服务决定及改变办法", "本人查看服务决定"),
            ("en", "a decision with what would change it, over the API", "your own look-up of a decision"),
        ):
            page = browser.get(f"/me/inquiries?lang={lang}")
            assert page.status_code == 200
            cells = re.findall(r'<td data-label="[^"]+">([^<]*)</td>', page.text)
            assert operator in cells and own in cells, cells
            assert "asks about their file" not in page.text
