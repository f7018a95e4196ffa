"""The public look-up of the published blacklist and redlist: no key, a limited number of searches per client."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from socialcredit.web.core import Page, Web

__all__ = ["add_routes"]


def _lookup(web: Web, query: str, list_id: str | None) -> list[dict[str, Any]]:
    return []


def add_routes(router: APIRouter, web: Web) -> None:
    @router.get("/lists")
    @web.page()
    def lookup(page: Page) -> Response:
        q = page.query("q").strip()
        list_id = page.query("list") if page.query("list") in ("blacklist", "redlist") else None
        found: list[dict[str, Any]] = []
        if q:
            client = page.request.client.host if page.request.client else "unknown"
            wait = web.lookups.allow(client)
            if wait:
                response = page.render(
                    "public_lists.html",
                    429,
                    q=q,
                    list_id=list_id,
                    found=[],
                    limited=int(wait) + 1,
                    lists={},
                    columns=[],
                )
                response.headers["Retry-After"] = str(int(wait) + 1)
                return response
            found = _lookup(web, q, list_id)
        columns = [c for c in ("name", "id_number", "list", "cause", "since") if any(c in e for e in found)]
        return page.render(
            "public_lists.html",
            q=q,
            list_id=list_id,
            found=found,
            limited=0,
            searched=bool(q),
            lists={},
            columns=columns,
        )
