"""The web pages: a resident portal, an operator dashboard and the public list look-up, in Chinese and English.

Server-rendered (Jinja2), charts drawn as SVG on the server, no script. The pages call the registry, never the
HTTP API or the CLI. Mounted into the service by ``app.include_router(web_router(service, caller))``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from fastapi import APIRouter, Request

from socialcredit.registry.access.parties import Party
from socialcredit.registry.service import Service

__all__ = ["CallerDependency", "web_router"]


class CallerDependency(Protocol):
    """The HTTP API's bearer-key dependency factory: ``caller(*roles)`` is a dependency answering the calling party."""

    def __call__(self, *roles: str) -> Callable[[Request], Awaitable[Party]]: ...


def web_router(
    service: Service,
    caller: CallerDependency | None = None,
    *,
    lookup_limit: int = 30,
    lookup_window: float = 60.0,
) -> APIRouter:
    """The pages over a running service (its store behind a lock, see :class:`~socialcredit.registry.service.Service`).

    ``caller`` (the API's bearer-key dependency factory) is accepted for the mounting contract and not used: pages
    sign in once with a key or a one-time link and then carry a session cookie. The public look-up allows
    ``lookup_limit`` searches per ``lookup_window`` seconds per client address.
    """
    from socialcredit.web import operator, public, resident, signin
    from socialcredit.web.core import Web

    web = Web(service, lookup_limit=lookup_limit, lookup_window=lookup_window)
    router = APIRouter(include_in_schema=False)
    for module in (signin, resident, operator, public):
        module.add_routes(router, web)
    return router
