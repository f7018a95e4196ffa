"""Text a store holds written on the pages: a person's name and a dispute's reason from before control characters
were refused hold a right-to-left override (U+202E) and an escape (\\x1b). Jinja escaped them for HTML only, so the
name displayed reversed after the override; every page now writes them as their codes, as the console does
(textcheck.escaped), on the resident's, the operator's and the public pages, and the file's printable page."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

import socialcredit.web
from api_helpers import serving
from due_world import A, build
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.due_process.disputes import file_dispute
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import score
from web_helpers import csrf_of, sign_in

NAME = "张\u202e三\x1b[31m"  # as stored: the override reversed what followed, the escape colours a terminal
SHOWN_NAME = "张\\u202e三\\x1b[31m"
REASON = "付过了\u2066见附件\u2069\u200f"
# what the registry takes and a page shows as written: a family emoji (zero-width joiners), a Persian word (a
# zero-width non-joiner); and a mark of direction, which a page writes as its code but a form holds as typed
FAMILY = "见附件\U0001f468\u200d\U0001f469\u200d\U0001f467 مي\u200cخواهم"
TEMPLATES = Path(socialcredit.web.__file__).parent / "templates"
# the matchmaking site's, written by the same environment (textcheck.page_environment)
SITE_TEMPLATES = Path(socialcredit.web.__file__).parent.parent / "matchmaking" / "templates"


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

    from socialcredit.textcheck import Entered, shown

    assert shown("第一行\n第二行\t\u3000尾") == "第一行\n第二行\t\u3000尾"
    assert shown(NAME) == SHOWN_NAME
    marked = shown(Markup("<b>\u202e</b>"))
    assert isinstance(marked, Markup) and str(marked) == "<b>\\u202e</b>"
    assert shown(12) == 12
    assert shown(FAMILY) == FAMILY  # the registry takes it (check_text): shown as written
    assert shown("J\u00ad2 \ufe0f") == "J\u00ad2 \ufe0f"
    assert shown("a\u200eb\u2028c\u2029") == "a\\u200eb\\u2028c\\u2029"
    assert shown(Entered(NAME)) == NAME  # a form's value: as it is


@pytest.fixture()
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    store = build(tmp_path)
    monkeypatch.setenv(TODAY_ENV, "2026-02-01")
    key = issue_key(store, "resident", "张三", subject=A).token
    app = create_app(tmp_path / "due.duckdb", store=store)
    try:
        with serving(app) as base:
            yield {"base": base, "key": key, "store": store}
    finally:
        store.close()


@contextmanager
def _resident(site: dict[str, Any]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site["base"], timeout=30) as client:
        sign_in(client, site["key"])
        yield client


def test_a_form_shown_again_holds_the_text_as_sent(site: dict[str, Any]) -> None:
    """The dispute form refused for its evidence (over 4000 characters) is shown again with the reason typed: its
    textarea holds the reason as sent, a mark of direction too, not its codes (sent again, they were stored)."""
    typed = FAMILY + "\u200f"
    with _resident(site) as client:
        page = client.get("/me/disputes?lang=en")
        form = {"csrf": csrf_of(page.text), "record": "courts|J1", "reason": typed, "evidence": "x" * 4001}
        r = client.post("/me/disputes", data=form)
        assert r.status_code == 400
        area = re.search(r'<textarea id="reason"[^>]*>(.*?)</textarea>', r.text, re.S)
        assert area is not None and html.unescape(area.group(1)) == typed


def test_a_reason_the_registry_takes_is_shown_as_written(site: dict[str, Any]) -> None:
    with _resident(site) as client:
        page = client.get("/me/disputes?lang=en")
        r = client.post("/me/disputes", data={"csrf": csrf_of(page.text), "record": "courts|J1", "reason": FAMILY})
        assert r.status_code == 303, r.text[:300]
        assert FAMILY in html.unescape(client.get("/me/disputes?lang=en").text)


@pytest.mark.parametrize("odd", ["J\u00ad2", "J\u200e2"], ids=["soft-hyphen", "mark-of-direction"])
def test_a_record_id_held_with_an_odd_character_is_disputed_from_the_page(site: dict[str, Any], odd: str) -> None:
    """A record id held from before ids were checked: the form's choice sends it as held (a mark of direction,
    written as its code where the page shows the id, too), and the dispute is filed."""
    site["store"].execute("UPDATE records SET record_id = ? WHERE record_id = 'J1'", [odd])
    with _resident(site) as client:
        page = client.get("/me/disputes?lang=en")
        value = re.search(r'<option value="(courts\|[^"]*)"', page.text)
        assert value is not None and html.unescape(value.group(1)) == f"courts|{odd}"
        r = client.post("/me/disputes", data={"csrf": csrf_of(page.text), "record": f"courts|{odd}", "reason": "paid"})
        assert r.status_code == 303, html.unescape(r.text)[:500]
    assert site["store"].one("SELECT record_id FROM disputes") == odd


# {{ }} in a value attribute ("value=") or a textarea's text: what a form sends back
_FORM_VALUE = re.compile(r'\bvalue="([^"]*)"|<textarea\b[^>]*>(.*?)</textarea>', re.S)


def test_every_form_value_of_the_templates_is_written_as_it_is() -> None:
    """Each {{ }} of a form's value (an input's, an option's, a hidden field's value, a textarea's text) in every
    template ends with the ``field`` filter, which ``shown`` writes as it is: a new template's form cannot send
    back codes for the text it was given."""
    unmarked = [
        f"{path.name}: {expression}"
        for path in sorted([*TEMPLATES.rglob("*.html"), *SITE_TEMPLATES.rglob("*.html")])
        for found in _FORM_VALUE.finditer(path.read_text(encoding="utf-8"))
        for expression in re.findall(r"\{\{(.*?)\}\}", "".join(filter(None, found.groups())))
        if not expression.strip().endswith("|field")
    ]
    assert unmarked == []
    assert sum(len(_FORM_VALUE.findall(p.read_text(encoding="utf-8"))) for p in TEMPLATES.rglob("*.html")) > 40
