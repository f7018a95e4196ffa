"""axe-core (bundled by axe-playwright-python, nothing downloaded) on every page in both languages: 0 violations.

The pages are tests/portal_pages.py's table; one server, one browser, one tab per role."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from portal_pages import LANGS, PAGES, PortalPage, portal, role_tabs
from web_helpers import browser

__all__ = ["browser", "portal"]  # the module-scoped fixtures

try:
    from axe_playwright_python import sync_playwright as axe_playwright
except ImportError:  # skipped without the dev extra, but never where the browser tests are required (CI)
    if os.environ.get("SOCIALCREDIT_REQUIRE_BROWSER") == "1":
        raise
    pytest.skip("axe-playwright-python is not installed (the dev extra)", allow_module_level=True)


@pytest.fixture(scope="module")
def axe_tabs(portal: dict[str, Any], browser: Any) -> Iterator[dict[str | None, Any]]:
    """One desktop-size tab per role; the pages' Content-Security-Policy is bypassed only so that axe's script runs."""
    with role_tabs(portal, browser, viewport={"width": 1280, "height": 900}, bypass_csp=True) as tabs:
        yield tabs


def _described(violations: list[dict[str, Any]]) -> str:
    """Each violation: its rule, impact and the nodes it was found on (for the failure message)."""
    lines = []
    for v in violations:
        targets = [" ".join(map(str, n.get("target", []))) for n in v.get("nodes", [])]
        lines.append(f"{v['id']} ({v.get('impact')}): {v.get('help')} — {len(targets)} × {targets[:6]}")
    return "\n".join(lines)


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("page", PAGES, ids=[p.id for p in PAGES])
def test_axe_finds_no_violation(
    portal: dict[str, Any], axe_tabs: dict[str | None, Any], page: PortalPage, lang: str
) -> None:
    tab = axe_tabs[page.who]
    response = tab.goto(page.url(portal, lang))
    assert response is not None and response.status == page.status, page.id
    results = axe_playwright.Axe().run(tab)
    violations = results.response["violations"]
    assert violations == [], f"{page.id} ({lang}):\n{_described(violations)}"
