"""Every page on a phone (390×844), in both languages: nothing wider than the screen, no label clipped, no chart
label outside its chart; and no raw identifier (a code, a field name, Python's None) in any Chinese page.

The pages are tests/portal_pages.py's table: one server, one browser, one tab per role, reused for every page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from page_text import raw_identifiers, visible_text
from portal_pages import LANGS, PAGES, PortalPage, portal, role_tabs, session_cookies
from web_helpers import browser, shots

__all__ = ["browser", "portal", "shots"]  # the module-scoped fixtures

PHONE = {"width": 390, "height": 844}

# What is too wide or cut off on the page as drawn: elements whose right edge passes the screen's, boxes that
# scroll sideways or hide what overflows them (ellipsis included), and SVG text outside its chart's viewBox.
# Elements of .sr-only (read aloud, not drawn) and the skip link (off screen until focused) are not drawn text.
# A list item drawn as a card (a border) shows no list marker beside it.
MEASURE = """() => {
  const width = window.innerWidth, out = [];
  const hidden = e => e.closest('.sr-only, .skip') !== null;
  const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
      (typeof e.className === 'string' && e.className ? '.' + e.className.trim().split(/\\s+/).join('.') : '') +
      ' «' + (e.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 50) + '»';
  for (const e of document.querySelectorAll('body *')) {
    if (hidden(e) || e.closest('svg') && e.tagName.toLowerCase() !== 'svg') continue;
    const box = e.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.right > width + 0.5) out.push('wider than the screen: ' + name(e) + ' right=' + Math.round(box.right));
    const style = getComputedStyle(e);
    const clips = ['hidden', 'clip', 'auto', 'scroll'].includes(style.overflowX) || style.textOverflow === 'ellipsis';
    if (clips && e.scrollWidth > e.clientWidth + 1)
      out.push('cut off or scrolled sideways: ' + name(e) + ' ' + e.scrollWidth + ' > ' + e.clientWidth);
    if (e.tagName === 'LI' && style.display === 'list-item' && style.listStyleType !== 'none' &&
        parseFloat(style.borderTopWidth) > 0)
      out.push('a card with a list marker beside it: ' + name(e));
  }
  for (const svg of document.querySelectorAll('svg')) {
    const vb = svg.viewBox.baseVal;
    if (!vb || vb.width === 0) continue;
    for (const t of svg.querySelectorAll('text')) {
      const b = t.getBBox();
      if (b.x < vb.x - 0.5 || b.y < vb.y - 0.5 || b.x + b.width > vb.x + vb.width + 0.5 ||
          b.y + b.height > vb.y + vb.height + 0.5)
        out.push('chart label outside its chart: «' + t.textContent + '» ' +
                 [b.x, b.y, b.width, b.height].map(Math.round).join(',') + ' in ' + [vb.width, vb.height].join('×'));
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, problems: out};
}"""


@pytest.fixture(scope="module")
def tabs(portal: dict[str, Any], browser: Any) -> Iterator[dict[str | None, Any]]:
    """One tab at phone size per role, signed in once."""
    with role_tabs(portal, browser, viewport=PHONE) as tabs:
        yield tabs


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("page", PAGES, ids=[p.id for p in PAGES])
def test_on_a_phone_nothing_is_wider_than_the_screen_and_no_label_is_clipped(
    portal: dict[str, Any], tabs: dict[str | None, Any], page: PortalPage, lang: str
) -> None:
    tab = tabs[page.who]
    response = tab.goto(page.url(portal, lang))
    assert response is not None and response.status == page.status, page.id
    assert tab.locator("html").get_attribute("lang") in (("zh-CN", "zh") if lang == "zh" else ("en",))
    measured = tab.evaluate(MEASURE)
    assert measured["problems"] == [], page.id
    assert measured["scrollWidth"] <= PHONE["width"], page.id


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("page", PAGES, ids=[p.id for p in PAGES])
def test_no_page_shows_a_raw_identifier(portal: dict[str, Any], page: PortalPage, lang: str) -> None:
    """In Chinese no code at all; in English no snake_case or dotted code, None or comparison (English words such
    as "paid" are words there)."""
    cookies = session_cookies(portal, page.who)
    with httpx.Client(base_url=portal["base"], cookies=cookies, timeout=30) as client:
        r = client.get(page.url(portal, lang))
    assert r.status_code == page.status, (page.id, r.text[:300])
    assert raw_identifiers(visible_text(r.text), lang=lang) == [], page.id


def test_the_world_gives_every_page_something_to_show(portal: dict[str, Any]) -> None:
    """The pages are measured with content: a listed, refused, frozen resident with a dispute and inquiries."""
    cookies = session_cookies(portal, "resident")
    with httpx.Client(base_url=portal["base"], cookies=cookies, timeout=30) as client:
        overview = client.get("/me?lang=en").text
        records = client.get("/me/records?lang=en").text
        disputes = client.get("/me/disputes?lang=en").text
        inquiries = client.get("/me/inquiries?lang=en").text
    assert "You are on these lists" in overview and 'class="refused"' in overview
    assert records.count('data-testid="record"') >= 3
    assert 'data-testid="dispute"' in disputes
    assert "Bank One" in inquiries and "北京农商银行" in inquiries and "file frozen" in inquiries
    with httpx.Client(base_url=portal["base"], timeout=30) as anonymous:
        found = anonymous.get(PortalPage("/lists?q={name}").url(portal, "en")).text
    assert 'data-testid="public-result"' in found


@pytest.mark.browser
@pytest.mark.slow
def test_a_refused_residents_overview_and_records_on_a_phone_and_a_desktop(
    portal: dict[str, Any], browser: Any, shots: Any
) -> None:
    """The screenshots docs/screenshots keeps (scripts/screenshots.py): the refused resident's overview at phone and
    desktop size and the records as cards on a phone; each record's status and "dispute this" are on screen."""
    cookies = session_cookies(portal, "resident")
    for size, viewport in (("phone", PHONE), ("desktop", {"width": 1280, "height": 900})):
        context = browser.new_context(viewport=viewport, base_url=portal["base"])
        context.add_cookies([{"name": k, "value": v, "url": portal["base"]} for k, v in cookies.items()])
        page = context.new_page()
        page.goto("/me?lang=zh")
        refused = page.locator("ul.services li.refused")
        assert refused.count() >= 2
        assert all(
            box["x"] + box["width"] <= viewport["width"] for box in map(lambda x: x.bounding_box(), refused.all())
        )
        page.screenshot(path=str(shots / f"overview-{size}.png"))
        if size == "phone":
            page.goto("/me/records?lang=zh")
            first = page.get_by_test_id("record").first
            for text in ("计分中", "异议中", "提出异议"):
                shown = page.get_by_test_id("record").get_by_text(text).first
                if shown.count():
                    box = shown.bounding_box()
                    assert box is not None and box["x"] + box["width"] <= PHONE["width"], text
            assert first.locator("small.id").evaluate("e => getComputedStyle(e).whiteSpace") == "nowrap"
            page.screenshot(path=str(shots / "records-phone.png"))
        context.close()
