"""The HTTP service: one process owns the store; decisions come from the latest run's snapshot in memory.

Every request names its caller with an API key (``Authorization: Bearer sc_…``); every refusal of access is a 401
or 403 with a machine-readable code and a message, and is audited. Every 4xx body is
``{"error": {"code": …, "message": …, "field": …}}``: an error of the registry answers with the status of its class
(socialcredit.errors), its code, its message and the field at fault. The API calls the registry, never the CLI;
its endpoints live in ``api/routes``, one router per area.
"""

import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from socialcredit.api.bodies import MAX_BODY_BYTES, json_refusal, not_json
from socialcredit.api.routes import ROUTERS
from socialcredit.api.routes.records import clear_uploads
from socialcredit.errors import SocialCreditError, TooManyRequestsError, UnsupportedMediaError
from socialcredit.languages import LANGUAGE_TAGS, invalid_zh
from socialcredit.registry.access.throttle import Throttle
from socialcredit.registry.service import Service
from socialcredit.store import Store, open_store

__all__ = ["MAX_REQUEST_BYTES", "create_app"]

# Every body but a batch of records (which is streamed into its own bounded file, up to ``max_body``): a policy is at
# most 1 MiB, a decision batch of 10,000 identifiers well under this, a page's form a few kilobytes.
MAX_REQUEST_BYTES = 2 * 1024 * 1024
_BATCH_ROUTE = ("POST", "/v1/records")
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")  # in the order a 405's Allow names them

log = logging.getLogger(__name__)


def _error(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    return JSONResponse({"error": body}, status_code=status)


async def _domain(_request: Request, exc: Exception) -> JSONResponse:
    """An error of the registry: the status of its class, its code, its message, the field at fault. The message is
    in the language the route read from the request (``speaks``), when the error has it; else in English. The answer
    says which (``Content-Language``)."""
    assert isinstance(exc, SocialCreditError)
    said = "zh" if getattr(_request.state, "lang", "en") == "zh" and exc.zh else "en"
    response = _error(exc.status, exc.code, exc.said_in(said), exc.field)
    response.headers["Content-Language"] = LANGUAGE_TAGS[said]
    if isinstance(exc, TooManyRequestsError):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def _invalid(_request: Request, exc: Exception) -> JSONResponse:
    """A request FastAPI could not read into its parameters: 422, naming the first field at fault."""
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    if first.get("type") == "json_invalid" and isinstance(exc.body, str):  # its place is a character, not a field
        ctx = first.get("ctx")
        why = ctx.get("error", "JSON decode error") if isinstance(ctx, dict) else "JSON decode error"
        at = first.get("loc", ("body", 0))[-1]
        return await _domain(_request, not_json(json.JSONDecodeError(why, exc.body, at if isinstance(at, int) else 0)))
    if tuple(first.get("loc", ())) == ("body",) and isinstance(first.get("input"), bytes):
        # a body sent as another media type reaches the model unread, as bytes: said as on the other routes
        media = _request.headers.get("content-type", "").split(";")[0].strip().lower()
        refusal = UnsupportedMediaError(
            f"Content-Type {media or '(none)'!r} is not taken here; send the body as application/json",
            field="content-type",
        )
        return await _domain(_request, refusal)
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    zh = _asked_zh(_request, exc.body)  # pydantic's own words are English: what the field takes, in Chinese
    said = f"{where or '请求体'}：{invalid_zh(first)}" if zh else f"{where or 'body'}: {first.get('msg')}"
    response = _error(422, "invalid_request", said, where or None)
    response.headers["Content-Language"] = LANGUAGE_TAGS["zh" if zh else "en"]
    return response


def _asked_zh(request: Request, body: object) -> bool:
    """Whether a request the model refused asked for Chinese: ``?lang=zh``, or a decision's body saying
    ``"lang": "zh"`` (read before the model, as a refused key is said in the ``?lang=`` sent)."""
    return request.query_params.get("lang") == "zh" or (isinstance(body, dict) and body.get("lang") == "zh")


async def _http(request: Request, exc: Exception) -> Response:
    """What Starlette refuses itself: a body that is not JSON, a path or a method that does not exist. A 405 keeps
    its ``Allow`` header (the methods the path takes) and names them. At an address of the pages (not ``/v1/…``), a
    404 or a 405 is a page in the visitor's language (web.status_page)."""
    assert isinstance(exc, StarletteHTTPException)
    allowed = _allowed(request) if exc.status_code == 405 else None
    if _page_address(request, exc.status_code):
        from socialcredit.web import status_page

        page = await run_in_threadpool(status_page, request.app.state.service, request, exc.status_code, allowed)
        if page is not None:
            if allowed is not None:
                page.headers["Allow"] = allowed
            return page
    refusal = json_refusal(exc.__cause__) if exc.status_code == 400 else None
    if refusal is not None:  # a JSON body the parser gave up on: said as on the batch route, in the ?lang= asked
        if _asked_zh(request, None):  # (the body is read before the route's ``lang`` is)
            request.state.lang = "zh"
        return await _domain(request, refusal)
    code = {400: "malformed_body", 404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    headers = dict(exc.headers or {})
    message = str(exc.detail)
    if allowed is not None:
        headers["Allow"] = allowed
        message = f"{request.method} is not allowed on {request.url.path}; it allows {headers['Allow']}"
    response = _error(exc.status_code, code, message)
    response.headers.update(headers)
    return response


def _page_address(request: Request, status: int) -> bool:
    """Whether a 404 or a 405 is answered with a page: an address outside the API (``/v1/…``, ``/openapi.json``),
    for a 405 an address of a page (a machine's address, ``/healthz``, ``/metrics``, ``/docs``, answers in JSON)."""
    if status not in (404, 405) or request.url.path.startswith(("/v1/", "/openapi.json")):
        return False
    pages: list[BaseRoute] = getattr(request.app.state, "pages", [])
    return status == 404 or any(route.matches(request.scope)[0] != Match.NONE for route in pages)


def _allowed(request: Request) -> str:
    """The methods the path takes, for a 405's ``Allow`` (Starlette names the methods of the first route of the path
    only; a path has a route per method)."""
    routes, scope = request.app.routes, request.scope
    return ", ".join(
        m
        for m in _METHODS
        if _takes(routes, {**scope, "method": m}) or (m == "HEAD" and _takes(routes, {**scope, "method": "GET"}))
    )


def _takes(routes: list[BaseRoute], scope: Scope) -> bool:
    """Whether one of ``routes`` answers the method and path of ``scope``."""
    return any(route.matches(scope)[0] == Match.FULL for route in routes)


async def _internal(_request: Request, exc: Exception) -> JSONResponse:
    # A fault of ours, never of the request: logged with its trace for the operator, never shown to the caller.
    log.error("internal error", exc_info=exc)
    return _error(500, "internal_error", "the service failed to answer; the fault is logged for the operator")


def create_app(
    db: Path | str, *, store: Store | None = None, max_body: int = MAX_BODY_BYTES, throttle: Throttle | None = None
) -> FastAPI:
    """The service over the store at ``db`` (or an already open ``store``); batches up to ``max_body`` bytes; the
    limits of ``throttle`` (by default those of the settings, docs/api.md "Limits on requests").

    Serve it with uvicorn's proxy headers off (``proxy_headers=False``, as ``socialcredit serve`` does): the limits
    are per client address, and uvicorn otherwise takes the address from X-Forwarded-For sent over loopback.
    """
    service = Service(store if store is not None else open_store(db), throttle=throttle)
    clear_uploads(service)  # an earlier process's leftovers: none was answered

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        service.close()  # the journal's last inquiries go into the store

    app = FastAPI(
        lifespan=lifespan,
        title="socialcredit",
        version="1",
        description="An accountable credit registry: decisions with reasons, residents' own files, audited access.",
    )
    app.state.service = service
    app.state.max_body = max_body
    app.add_exception_handler(SocialCreditError, _domain)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _internal)
    app.add_middleware(_Head, owner=app)
    app.add_middleware(_BodyLimit)
    app.add_middleware(_Metrics, service=service)
    for router in ROUTERS:
        app.include_router(router)
    from socialcredit.web import web_router  # the pages: resident portal, operator dashboard, public look-up

    pages = web_router(service)
    app.state.pages = pages.routes  # which 405 is a page's (_page_address)
    app.include_router(pages)
    return app


class _Head:
    """HEAD is answered wherever GET is, as GET is, without the body (RFC 9110: a general-purpose server supports
    both): a monitor's or `curl -I`'s look at a page gets the page's status and headers, not a 405. It is the same
    read as the GET (an audited read is audited). A path without GET keeps its 405, naming what it takes."""

    def __init__(self, app: ASGIApp, owner: FastAPI) -> None:
        self.app, self.owner = app, owner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        as_get = {**scope, "method": "GET"}
        if not _takes(self.owner.routes, as_get):
            await self.app(scope, receive, send)
            return

        async def headless(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app(as_get, receive, headless)


class _BodyLimit:
    """Every request body but a batch of records is held to :data:`MAX_REQUEST_BYTES` before the app reads any of
    it: by its ``Content-Length`` (refused unread) or, sent in chunks, as it arrives (at most that much is held). A
    body over the limit is answered 413, naming it; the app never sees it. A page's (any path but ``/v1/…``) is handed
    on without its body, marked ``too_large`` in the request's state: the page answers the 413 in its language."""

    def __init__(self, app: ASGIApp, limit: int = MAX_REQUEST_BYTES) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope["method"], scope["path"]) == _BATCH_ROUTE:
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(scope, receive, send)
            return
        if declared is not None or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, _bounded(receive, self.limit), send)
            return
        # Chunked: read it whole here (bounded), then hand the app the same body.
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message]), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        await self.app(scope, _replay([{"type": "http.request", "body": b"".join(chunks), "more_body": False}]), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not scope["path"].startswith("/v1/"):
            # A page's form (a resident's photo of a receipt, taken on a phone, is often over the limit): the page
            # answers 413 in its own language (web.core), unread, as the API does; it was this JSON in English.
            state = {**scope.get("state", {}), "too_large": self.limit}
            empty = _replay([{"type": "http.request", "body": b"", "more_body": False}])
            await self.app({**scope, "state": state}, empty, send)
            return
        message = (
            f"a request body may be at most {self.limit} bytes here; batches of records go to POST /v1/records "
            '(docs/api.md, "Limits on inputs")'
        )
        await _error(413, "body_too_large", message)(scope, receive, send)


def _bounded(receive: Receive, limit: int) -> Receive:
    """``receive`` that stops passing on a body longer than its ``Content-Length`` said (a client that lies)."""
    seen = 0

    async def bounded() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                return {"type": "http.disconnect"}
        return message

    return bounded


def _replay(messages: list[Message]) -> Receive:
    """A ``receive`` that gives these messages, then waits as a finished request does (a disconnect)."""
    queue = list(messages)

    async def replay() -> Message:
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    return replay


class _Metrics:
    """Requests and time by route and status, for /metrics (a plain ASGI middleware: it adds microseconds)."""

    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app, self.service = app, service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            self.service.requests[(path, status)] += 1
            self.service.seconds[path] = self.service.seconds.get(path, 0.0) + time.perf_counter() - started
