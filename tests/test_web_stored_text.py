"""Text a store holds written on the pages: a person's name and a dispute's reason from before control characters
were refused hold a right-to-left override (U+202E) and an escape (\\x1b). Jinja escaped them for HTML only, so the
name displayed reversed after the override; every page now writes them as their codes, as the console does
(textcheck.escaped), on the resident's, the operator's and the public pages, and the file's printable page."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_helpers import serving
from due_world import A, build
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.due_process.disputes import file_dispute
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import score
from web_helpers import sign_in

NAME = "张\u202e三\x1b[31m"  # as stored: the override reversed what followed, the escape colours a terminal
SHOWN_NAME = "张\\u202e三\\x1b[31m"
REASON = "付过了\u2066见附件\u2069\u200f"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder: Path = tmp_path_factory.mktemp("stored_text")
    store = build(folder)
    with pytest.MonkeyPatch.context() as mp:
        beijing = resolve_policy(store, "beijing")
        for day in (dt.date(2026, 2, 1), dt.date(2026, 4, 2)):  # A's blacklisting takes effect (60 days' grace)
            mp.setenv(TODAY_ENV, day.isoformat())
            score(store, beijing, day)
        filed = file_dispute(store, A, "courts", "J1", "paid", today=dt.date(2026, 4, 2))
        # held from before names and reasons were checked: written as a release of then stored them
        store.execute("UPDATE subjects SET name = ? WHERE subject_id = ?", [NAME, A])
        # answered (verified): the listing is published again, and the dispute with its reason stays on the page
        store.execute(
            "UPDATE disputes SET reason = ?, status = 'verified' WHERE dispute_id = ?", [REASON, filed["dispute_id"]]
        )
        keys = {
            "resident": issue_key(store, "resident", "张三", subject=A).token,
            "operator": issue_key(store, "operator", "registry operations").token,
        }
        app = create_app(folder / "due.duckdb", store=store)
        try:
            with serving(app) as base:
                yield {"base": base, "keys": keys}
        finally:
            store.close()


def _page(world: dict[str, Any], who: str | None, path: str) -> str:
    with httpx.Client(base_url=world["base"], timeout=30) as client:
        if who is not None:
            sign_in(client, world["keys"][who])
        r = client.get(path + ("&" if "?" in path else "?") + "lang=zh")
        assert r.status_code == 200, (path, r.text[:300])
        return html.unescape(r.text)


@pytest.mark.parametrize(
    ("who", "path", "written"),
    [
        (None, f"/lists?q={A}", SHOWN_NAME),  # the public look-up of the lists
        ("resident", "/me", SHOWN_NAME),
        ("resident", "/me/disputes", "付过了\\u2066见附件\\u2069\\u200f"),
        ("operator", f"/ops/subjects/{A}", SHOWN_NAME),
        ("resident", f"/v1/subjects/{A}/file.html", SHOWN_NAME),
    ],
    ids=["public", "resident", "resident-dispute", "operator", "file"],
)
def test_a_stored_text_with_controls_is_written_as_their_codes(
    world: dict[str, Any], who: str | None, path: str, written: str
) -> None:
    if path.startswith("/v1/"):
        with httpx.Client(base_url=world["base"], timeout=30) as client:
            r = client.get(path, params={"lang": "zh"}, headers={"Authorization": f"Bearer {world['keys'][who]}"})
            assert r.status_code == 200, r.text[:300]
            page = html.unescape(r.text)
    else:
        page = _page(world, who, path)
    assert written in page
    assert not {"\u202e", "\x1b", "\u2066", "\u2069", "\u200f"} & set(page)


def test_what_a_page_writes_keeps_its_layout_and_marks() -> None:
    """Line breaks, tabs and spaces (U+3000 too) are laid out by the page and kept; a text marked safe stays so."""
    from markupsafe import Markup

    from socialcredit.textcheck import shown

    assert shown("第一行\n第二行\t\u3000尾") == "第一行\n第二行\t\u3000尾"
    assert shown(NAME) == SHOWN_NAME
    marked = shown(Markup("<b>\u202e</b>"))
    assert isinstance(marked, Markup) and str(marked) == "<b>\\u202e</b>"
    assert shown(12) == 12
