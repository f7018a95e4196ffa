"""A running service for the web tests: a small scored store, residents' and an operator's keys, uvicorn on
loopback, and Debian's Chromium driven by Playwright (skipped without it, unless SOCIALCREDIT_REQUIRE_BROWSER=1)."""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_helpers import copy_of, ingested_example, serving
from socialcredit.api.app import create_app
from socialcredit.example import AS_OF
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import score
from socialcredit.store import Store

__all__ = [
    "CHROMIUM",
    "DESKTOP",
    "PHONE",
    "browser",
    "browser_sign_in",
    "csrf_of",
    "failure_of",
    "one",
    "page_width",
    "rows",
    "scored_site",
    "serve",
    "shots",
    "sign_in",
    "signed_in",
    "site",
]

CHROMIUM = Path("/usr/bin/chromium")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


serve = serving  # the API tests' server: uvicorn on a free loopback port, yielding its base URL


def scored_site(folder: Path) -> Store:
    """The shipped example (200 residents) ingested into a store in ``folder`` and scored once under each shipped
    policy: the store every module's site copies (built once per process, see api_helpers.copy_of)."""
    return copy_of(folder, "web-site", _scored_site)


def _scored_site(folder: Path) -> Store:
    store = ingested_example(folder)
    for pid in ("beijing", "sesame"):
        score(store, resolve_policy(store, pid), AS_OF, today=AS_OF)
    return store


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("web")
    store = scored_site(folder)
    listed = store.one(
        "SELECT subject_id FROM run_list_entries e JOIN score_runs r USING (run_id) "
        "WHERE r.policy_id = 'beijing' AND e.list_id = 'blacklist' ORDER BY subject_id LIMIT 1"
    )
    other = store.one(
        "SELECT subject_id FROM run_results r JOIN score_runs s USING (run_id) WHERE s.policy_id = 'beijing' "
        "AND r.kind = 'person' AND r.subject_id <> ? ORDER BY r.subject_id LIMIT 1",
        [listed],
    )
    keys = {
        "resident": issue_key(store, "resident", "a resident", subject=listed),
        "other": issue_key(store, "resident", "another resident", subject=other),
        "operator": issue_key(store, "operator", "registry operations"),
        "auditor": issue_key(store, "auditor", "the auditor"),
    }
    app = create_app(folder / "store.duckdb", store=store)
    with serve(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield {
            "app": app,
            "service": app.state.service,
            "client": client,
            "base": base,
            "keys": {k: v.token for k, v in keys.items()},
            "key_ids": {k: v.party.key_id for k, v in keys.items()},
            "listed": listed,
            "other": other,
            "folder": folder,
        }
    store.close()


@pytest.fixture(scope="module")
def browser(chromium: Any) -> Iterator[Any]:
    """Debian's Chromium: the test process's one browser (conftest.py's ``chromium``); the contexts (tabs, cookies)
    a module opened are closed after it, so the next module starts from none."""
    before = {id(context) for context in chromium.contexts}
    yield chromium
    for context in chromium.contexts:
        if id(context) not in before:
            context.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tests save a screenshot of each page ($SOCIALCREDIT_SCREENSHOTS, or a temporary folder)."""
    chosen = os.environ.get("SOCIALCREDIT_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def signed_in(world: dict[str, Any], who: str) -> Iterator[httpx.Client]:
    """A browser of its own (its own cookies) on the server of ``world`` (its ``client`` and ``keys``), signed in
    with the key of ``who``."""
    with httpx.Client(base_url=str(world["client"].base_url), timeout=30) as client:
        sign_in(client, world["keys"][who])
        yield client


def sign_in(client: httpx.Client, key: str) -> httpx.Response:
    """Sign ``client`` in with a key through the sign-in form (its CSRF cookie and field included)."""
    page = client.get("/signin")
    r = client.post("/signin", data={"key": key, "csrf": csrf_of(page.text), "next": ""})
    assert r.status_code == 303, r.text
    return r


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no CSRF field on the page"
    return found.group(1)


def one(site: dict[str, Any], sql: str, params: list[Any] | None = None) -> Any:
    with site["service"].writer() as store:
        return store.one(sql, params)


def rows(site: dict[str, Any], sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    with site["service"].writer() as store:
        return store.rows(sql, params)


def failure_of(response: httpx.Response) -> str:
    """The text of a form's failure line (``<p id="failure">``), unescaped."""
    start = response.text.index('id="failure">') + len('id="failure">')
    return html.unescape(response.text[start : response.text.index("</p>", start)])


def browser_sign_in(page: Any, key: str) -> None:
    """Sign a Playwright page in with a key through the sign-in form (in Chinese, the site's first language)."""
    page.goto("/signin")
    page.get_by_label("API 密钥").fill(key)
    page.get_by_role("button", name="登录").click()


def page_width(page: Any) -> int:
    """How wide a Playwright page's content is, in CSS pixels (wider than its viewport: it scrolls sideways)."""
    return int(page.evaluate("document.documentElement.scrollWidth"))
