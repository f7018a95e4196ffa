"""Signing in and out: with a key, or with a one-time link; the home page sends each role to its pages."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import Response

from socialcredit.errors import AuthError
from socialcredit.registry.access.signin import Principal, end_session, redeem_link, sign_in_with_key, start_session
from socialcredit.web.core import SESSION_COOKIE, Page, Web

__all__ = ["add_routes"]

HOME = {"resident": "/me", "operator": "/ops"}


def _next(page: Page, who: Principal) -> str:
    target = page.form.get("next", "")
    # only a path of this site; a resident is never sent to operator pages and back
    local = target.startswith("/") and not target.startswith(("//", "/signin"))
    if local and (who.role == "operator" or not target.startswith("/ops")):
        return target
    return HOME[who.role]


def _signed_in(page: Page, who: Principal, method: str) -> Response:
    with page.web.service.writer() as store:
        token, who = start_session(store, who, method=method)
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

    @router.post("/signout")
    @web.page("resident", "operator")
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
