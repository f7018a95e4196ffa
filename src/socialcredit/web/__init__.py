"""The web pages: a resident portal, an operator dashboard and the public list look-up, in Chinese and English.

Server-rendered (Jinja2), charts drawn as SVG on the server, no script. The pages call the registry, never the
HTTP API or the CLI. Mounted into the service by ``app.include_router(web_router(service))``.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import Response

from socialcredit.registry.service import Service

if TYPE_CHECKING:
    from socialcredit.web.core import Web

__all__ = ["status_page", "web_router"]

_WEBS: weakref.WeakKeyDictionary[Service, Web] = weakref.WeakKeyDictionary()  # each service's pages


def web_router(
    service: Service,
    *,
    lookup_limit: int | None = None,
    lookup_window: int = 60,
) -> APIRouter:
    """The pages over a running service (its store behind a lock, see :class:`~socialcredit.registry.service.Service`).

    Pages sign in once with a key or a one-time link and then carry a session cookie (no bearer key per request).
    Visitors are throttled by the service's limits (``service.throttle``); ``lookup_limit`` searches per
    ``lookup_window`` seconds per client address replace its limit on searches of the lists for these pages alone.
    """
    from socialcredit.web import (
        disputes_page,
        freeze_page,
        history,
        operator,
        org_pages,
        policies,
        public,
        repair_pages,
        resident,
        signin,
    )
    from socialcredit.web.core import Web

    web = _WEBS[service] = Web(service, lookup_limit=lookup_limit, lookup_window=lookup_window)
    router = APIRouter(include_in_schema=False)
    for module in (
        signin,
        resident,
        freeze_page,
        history,
        repair_pages,
        operator,
        public,
        policies,
        disputes_page,
        org_pages,
    ):
        module.add_routes(router, web)
    return router


def status_page(service: Service, request: Request, status: int, allowed: str | None = None) -> Response | None:
    """The page of a 404 or 405 the router answers itself at an address of the pages (a mistyped address; a form's
    address opened in the address bar, as after a refused upload), in the visitor's language: it was the API's JSON,
    in English. ``allowed``: a 405's ``Allow``. None when the service has no pages."""
    web = _WEBS.get(service)
    return web.status_page(request, status, allowed) if web is not None else None
