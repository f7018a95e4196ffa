"""Signing in and out: with a key, or with a one-time link; the home page sends each role to its pages.

A resident without a working link asks for a new one (``/signin/new-link``, also offered on the page of a used or
expired link): it is delivered through the notifications outbox by the configured sender, throttled like failed
sign-ins, and the answer is the same whether or not the number is registered. ``/outbox`` shows the outbox's messages
only when ``SOCIALCREDIT_OUTBOX_PAGE`` is on or the serving process switches it on for its service (the
demonstration on one's own machine).
"""

from __future__ import annotations

import logging
import threading
from importlib import resources

from fastapi import APIRouter
from fastapi.responses import Response

from socialcredit.errors import AuthError, IdentifierError, TooManyRequestsError
from socialcredit.registry.access.signin import (
    Principal,
    end_session,
    redeem_link,
    request_link,
    sign_in_with_key,
    start_session,
)
from socialcredit.registry.due_process.outbox import (
    Message,
    Sender,
    deliver,
    list_outbox,
    record_attempt,
    sender_from_settings,
)
from socialcredit.settings import get_settings
from socialcredit.web.core import SESSION_COOKIE, Page, Web

__all__ = ["add_routes"]

log = logging.getLogger(__name__)

HOME = {"resident": "/me", "operator": "/ops", "furnisher": "/furnisher"}


def _next(page: Page, who: Principal) -> str:
    target = page.form.get("next", "")
    # only a path of this site; a resident is never sent to operator pages and back
    local = target.startswith("/") and not target.startswith(("//", "/signin"))
    if local and who.role == "furnisher":
        return target if target.startswith("/furnisher") else HOME[who.role]
    if local and (who.role == "operator" or not target.startswith(("/ops", "/furnisher"))):
        return target
    return HOME[who.role]


def _signed_in(page: Page, who: Principal, method: str) -> Response:
    try:
        with page.web.service.writer() as store:
            token, who = start_session(store, who, method=method)
    except TooManyRequestsError as exc:  # every session the registry keeps is open: the limit and the wait
        full = page.error(
            429,
            "error_too_many_title",
            page.t("sessions_full", count=f"{get_settings().max_sessions:,}", seconds=exc.retry_after),
        )
        full.headers["Retry-After"] = str(exc.retry_after)
        return full
    response = page.redirect(_next(page, who))
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=8 * 3600,
        httponly=True,
        samesite="strict",
        secure=page.request.url.scheme == "https",
        path="/",
    )
    return response


def _failed(
    page: Page, template: str, exc: AuthError, method: str, key: str | None = None, **context: object
) -> Response:
    """The form again, saying why (a failed sign-in is audited), counted against the address's failed sign-ins and
    against the key named, if it exists; a wrong secret for a key over its limit is a 429, not audited."""
    web = page.web
    web.throttle.fail("signin", page.address)
    key_id = web.service.keys.known_id(key)
    if key_id is not None:
        if wait := web.throttle.check("key_failures", key_id):
            return page.too_many("key_failures", wait)
        web.throttle.fail("key_failures", key_id)
    web.service.audit_refusal("anonymous", "signin_refused", {"code": exc.code, "method": method})
    message = page.t(f"auth_{exc.code}", default=str(exc))
    return page.render(template, 401, failure=message, **context)


def _send(web: Web, sender: Sender, message: Message) -> None:
    error = deliver(sender, message)
    try:
        with web.service.writer() as store:
            record_attempt(store, message.message_id, error)
    except Exception:  # the service stopped meanwhile: the message stays queued, to be tried again
        log.warning("the outcome of message %s was not recorded", message.message_id)


def add_routes(router: APIRouter, web: Web) -> None:
    @router.get("/")
    @web.page()
    def home(page: Page) -> Response:
        return page.redirect(HOME[page.who.role] if page.who else "/signin")

    @router.get("/signin")
    @web.page()
    def signin_form(page: Page) -> Response:
        return page.render("signin.html", next=page.query("next"))

    @router.post("/signin")
    @web.page()
    def signin_key(page: Page) -> Response:
        try:
            with web.service.writer() as store:
                who = sign_in_with_key(store, page.form.get("key", ""))
        except AuthError as exc:
            return _failed(page, "signin.html", exc, "key", page.form.get("key"), next=page.form.get("next", ""))
        return _signed_in(page, who, "key")

    @router.get("/signin/link")
    @web.page()
    def signin_link_form(page: Page) -> Response:
        # Following a link shows a button: a link preview or a mail scanner that fetches it does not use it up.
        return page.render("signin_link.html", token=page.query("token"))

    @router.post("/signin/link")
    @web.page()
    def signin_link(page: Page) -> Response:
        try:
            with web.service.writer() as store:
                who = redeem_link(store, page.form.get("token", ""))
        except AuthError as exc:
            return _failed(page, "signin_link.html", exc, "link", token="")
        return _signed_in(page, who, "link")

    @router.get("/signin/new-link")
    @web.page()
    def new_link_form(page: Page) -> Response:
        return page.render("signin_new_link.html", sent=page.query("sent") == "1")

    @router.post("/signin/new-link")
    @web.page()
    def new_link(page: Page) -> Response:
        # Every request counts against the address's sign-in limit, found or not: a number cannot be probed faster
        # than sign-ins, and the answer never says whether it is registered.
        web.throttle.fail("signin", page.address)
        settings = get_settings()
        sender = sender_from_settings(settings)
        base = str(page.request.base_url).rstrip("/")
        try:
            with web.service.writer() as store:
                message = request_link(store, page.form.get("subject", ""), base, sender.channel)
        except IdentifierError as exc:
            reasons = ("empty", "length", "format", "checksum", "birth_date", "region")
            key = f"newlink_bad_number_{exc.reason}" if exc.reason in reasons else "newlink_bad_number"
            sent = page.form.get("subject", "").strip()
            failure = page.t(key, value=repr(sent[:24] + ("…" if len(sent) > 24 else "")), why=exc.said_in(page.lang))
            return page.render("signin_new_link.html", 400, failure=failure)
        if message is not None:
            # Sent in the background, outside the store's lock: a slow mail server holds no one up, and the answer
            # takes as long whether or not a message goes out.
            threading.Thread(target=_send, args=(web, sender, message), daemon=True).start()
        return page.redirect("/signin/new-link?sent=1")

    @router.get("/outbox")
    @web.page()
    def outbox(page: Page) -> Response:
        if not (get_settings().outbox_page or web.service.outbox_page):
            return page.error(404, "error_not_found_title", page.t("error_not_found_title"))
        with web.service.writer() as store:
            # audited: the messages name residents and their addresses (a reader not signed in, as "public")
            messages = list_outbox(store, actor=page.who.actor if page.who else "public")
        return page.render("outbox.html", messages=messages)

    @router.post("/signout")
    @web.page("resident", "operator", "furnisher")
    def signout(page: Page) -> Response:
        with web.service.writer() as store:
            end_session(store, page.request.cookies.get(SESSION_COOKIE))
        response = page.redirect("/signin")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @router.get("/static/style.css")
    def style() -> Response:
        css = resources.files("socialcredit.web").joinpath("static/style.css").read_text("utf-8")
        return Response(
            css,
            media_type="text/css",
            headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
        )
