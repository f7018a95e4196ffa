"""The public look-up of the published lists: no key, a limited number of searches per client address.

What is shown is decided by the registry (``registry.due_process.public_lists.public_lookup``): only listings in
effect — past their notice and grace period, not repaired, not ended — and only the fields each policy makes
public, identity numbers masked in the middle.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response

from socialcredit.errors import WorkflowError, quoted
from socialcredit.registry.due_process.public_lists import MAX_PAGE, PAGE_SIZE, public_lookup_page
from socialcredit.registry.scoring.policies import policies_in_use
from socialcredit.web.core import Page, Web, whole_number

__all__ = ["add_routes"]

COLUMNS = (
    "name",
    "id_number",
    "list",
    "cause",
    "since",
    "authority",
    "case_number",
    "amount",
    "decided_on",
    "under_dispute",
)


def _published_lists(web: Web, lang: str) -> dict[str, str]:
    """The lists some policy in use publishes: id → name."""
    out: dict[str, str] = {}
    with web.service.writer() as store:
        for lp in policies_in_use(store):
            for lst in lp.policy.lists:
                if lst.kind == "black" and lst.public_fields:
                    out.setdefault(lst.id, lst.name.get(lang))
    return out


def add_routes(router: APIRouter, web: Web) -> None:
    @router.get("/lists")
    @web.page()
    def lookup(page: Page) -> Response:
        lists = _published_lists(web, page.lang)
        q = page.query("q").strip()
        list_id = page.query("list") if page.query("list") in lists else None
        context: dict[str, Any] = {"q": q, "list_id": list_id, "lists": lists, "found": [], "columns": []}
        if not q:
            return page.render("public_lists.html", **context)
        wait = web.throttle.take("lookup", page.address)  # shared with GET /v1/lists/lookup
        if wait:
            response = page.render("public_lists.html", 429, limited=web.limit_text(page, "lookup", wait), **context)
            response.headers["Retry-After"] = str(wait)
            return response
        raw = page.query("page", "1")
        number = whole_number(raw, 8)
        if number is None or not 1 <= number <= MAX_PAGE:
            # refused naming what was sent (it was said to be 0, and ² was a 500), in the page's language
            failure = page.t("public_err_page", most=MAX_PAGE, sent=quoted(raw))
            return page.render("public_lists.html", 400, failure=failure, **context)
        try:
            with web.service.writer() as store:
                found = public_lookup_page(
                    store,
                    q,
                    list_id,
                    page=number,
                    page_size=PAGE_SIZE,
                    lang=page.lang,
                    actor="public",
                    held=web.service.held_listings,  # a listing decisions no longer apply is not published
                )
        except WorkflowError as exc:  # the query's length or an unknown list (the page is checked above)
            failure = exc.said_in(page.lang)
            return page.render("public_lists.html", 400, failure=failure, **context)
        rows = found["results"]
        columns = [c for c in COLUMNS if any(c in e for e in rows)]
        pages = {
            "prev": _page_url(q, list_id, found["page"] - 1) if found["page"] > 1 else None,
            "next": _page_url(q, list_id, found["page"] + 1) if found["page"] < found["pages"] else None,
        }
        return page.render(
            "public_lists.html",
            **{**context, "found": rows, "columns": columns, "searched": True, "result": found, "pages": pages},
        )


def _page_url(q: str, list_id: str | None, number: int) -> str:
    return "/lists?" + urlencode({"q": q, **({"list": list_id} if list_id else {}), "page": number})
