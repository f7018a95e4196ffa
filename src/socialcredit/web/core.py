"""What every page shares: the language, who is signed in, CSRF checks, rendering, refusals, rate limits.

A page is a plain function of a :class:`Page` returning a response; :meth:`Web.page` turns it into an endpoint
that reads the form (for POST), finds the session, refuses whoever may not see it (audited), checks the CSRF token
of every POST, and runs it in a worker thread (the store is synchronous). Errors become pages, never JSON.

Visitors who are not signed in are throttled per address by the service's limits (docs/api.md, "Limits on
requests"): every page they ask for counts against ``public``; a form they send is refused while the address is
over ``signin`` (its failed sign-ins, and forms refused for their CSRF token); searches of the lists count against
``lookup``, shared with the API's look-up. Over a limit, a 429 page names it and ``Retry-After`` gives the wait.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from socialcredit.catalog.labels import labels_for
from socialcredit.errors import AuthError, ForbiddenError, NotFoundError, SocialCreditError
from socialcredit.identifiers import compact_subject_id
from socialcredit.languages import LANGUAGE_TAGS
from socialcredit.policy.words import exact_number
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.access.signin import Principal, session_principal
from socialcredit.registry.access.throttle import Limit, Throttle
from socialcredit.registry.service import Service
from socialcredit.textcheck import page_environment
from socialcredit.web.codes import record_details, template_globals, value_words
from socialcredit.web.i18n import LANGS, translate
from socialcredit.web.uploads import RepeatedField, is_multipart, parse_multipart

__all__ = [
    "LANG_COOKIE",
    "PRE_COOKIE",
    "SESSION_COOKIE",
    "Page",
    "Web",
    "accepted_language",
    "confirmed",
    "whole_number",
]

SESSION_COOKIE = "sc_session"
LANG_COOKIE = "sc_lang"
PRE_COOKIE = "sc_pre"  # the CSRF token of the sign-in forms, before there is a session

# Pages draw no third-party content and run no script: a strict policy costs nothing.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # a sign-in link's token never leaves in a Referer
    "Cache-Control": "no-store",
}


# Accept-Language is read only this long and only this many entries (a browser sends well under 100 characters):
# a longer header is not read at all (the page is in Chinese), the entries after the first ACCEPT_ENTRIES are not
ACCEPT_LONGEST = 500
ACCEPT_ENTRIES = 20
_QVALUE = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")  # a weight as RFC 9110 writes it, from 0 to 1


def accepted_language(header: str | None) -> str | None:
    """The language of the pages (LANGS) an ``Accept-Language`` header prefers, or None (no header, none of the
    pages' languages, or a header longer than ACCEPT_LONGEST): the entry of the highest weight (``q``, 1 if not
    given; 0 is "not this one") whose primary tag is ``zh`` or ``en`` (``en-US``, ``zh-Hant-TW``) or ``*`` (any:
    Chinese); of equal weights the first. An entry with a malformed weight is not read."""
    if not header or len(header) > ACCEPT_LONGEST:
        return None
    best: tuple[float, str] | None = None
    for entry in header.split(",", ACCEPT_ENTRIES)[:ACCEPT_ENTRIES]:
        tag, _, params = entry.partition(";")
        weight = 1.0
        if params:
            name, equals, value = params.partition("=")
            if name.strip().lower() != "q" or not equals or not _QVALUE.fullmatch(value.strip()):
                continue
            weight = float(value)
        primary = tag.strip().lower().split("-", 1)[0]
        lang = "zh" if primary == "*" else primary
        if weight > 0 and lang in LANGS and (best is None or weight > best[0]):
            best = (weight, lang)
    return best[1] if best else None


def _repeated(names: Iterable[str]) -> str | None:
    """The first name of ``names`` that comes again, or None."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            return name
        seen.add(name)
    return None


def whole_number(text: str, most_digits: int = 17) -> int | None:
    """``text`` as a whole number written in ASCII digits (at most ``most_digits``), or None: ``str.isdigit`` takes
    ``²`` and ``١``, and ``int`` refuses the first (a ValueError: the page answered 500)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= most_digits else None


def confirmed(sent: str, ids: Iterable[object]) -> str:
    """A confirmation's number from the address (``?filed=12`` after a form) if it is one of ``ids`` (the reader's
    own), else "": the banner quoted any text sent, so a link could make a page say "dispute <anything> filed"."""
    return sent if sent in {str(i) for i in ids} else ""


@dataclass
class Page:
    """One request as a page sees it."""

    web: Web
    request: Request
    lang: str
    who: Principal | None
    form: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)  # cookies to set on the response
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # name → (file name, content): ``files=True``
    # "third": texts that speak to the resident ("your score") speak of them ("the resident's score"), where a key
    # has a "<key>.third" variant: an operator reading a resident's file ("third_org": an organisation's)
    voice: str = ""

    def t(self, key: str, **values: Any) -> str:
        if self.voice:
            spoken = {k: v for k, v in values.items() if k != "default"}
            if text := translate(self.lang, f"{key}.{self.voice}", default="", **spoken):
                return text
        return translate(self.lang, key, **values)

    @property
    def address(self) -> str:
        """The address the connection came from (X-Forwarded-For is not read)."""
        return self.request.client.host if self.request.client else "unknown"

    def too_many(self, limit: str, wait: int) -> HTMLResponse:
        """The 429 page of a limit: it names the limit and the wait, which ``Retry-After`` repeats."""
        response = self.error(429, "error_too_many_title", self.web.limit_text(self, limit, wait))
        response.headers["Retry-After"] = str(wait)
        return response

    def query(self, name: str, default: str = "") -> str:
        return self.request.query_params.get(name, default)[:200]

    def subject_in_path(self) -> str:
        """The subject's identifier in the page's address (``{subject_id}``), compacted as over the API and in a
        subjects file (a lower-case x, spaces, full-width digits): the subject as registered."""
        return compact_subject_id(str(self.request.path_params["subject_id"]))[:64]

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        return self.web.render(self, template, status, **context)

    def redirect(self, url: str) -> RedirectResponse:
        return RedirectResponse(url, status_code=303)

    def error(self, status: int, title_key: str, message: str) -> HTMLResponse:
        return self.render("error.html", status, title=self.t(title_key), message=message)


Handler = Callable[[Page], Response]


class Web:
    """The pages' shared state: the service (its store behind a lock), the templates, the limits (the service's)."""

    def __init__(self, service: Service, *, lookup_limit: int | None = None, lookup_window: int = 60) -> None:
        self.service = service
        self.env = page_environment(  # a stored text's control characters written as their codes, a form's not
            loader=PackageLoader("socialcredit.web", "templates"),
            autoescape=select_autoescape(["html", "svg"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals.update(template_globals())  # codes in words (web/codes.py)
        self.throttle = service.throttle
        if lookup_limit is not None:  # pages of their own limit on searches (their refusals are not summarised)
            lookup = Limit("lookup", lookup_limit, lookup_window, "searches of the published lists")
            self.throttle = Throttle({**service.throttle.limits, "lookup": lookup})

    def limit_text(self, page: Page, name: str, wait: int) -> str:
        """The message of limit ``name`` in the page's language: the limit, then the wait."""
        limit = self.throttle.limits[name]
        period = page.t("period_minute") if limit.seconds == 60 else page.t("period_seconds", n=limit.seconds)
        return page.t(f"throttle_{name}", count=f"{limit.count:,}", period=period, seconds=wait)

    # -- the language -----------------------------------------------------------------------------------------
    @staticmethod
    def language(request: Request) -> tuple[str, str]:
        """The page's language and what decided it: ``asked`` (``?lang=``, kept in a cookie), ``cookie`` (the choice
        kept), else ``header`` (the browser's ``Accept-Language``, if it prefers one of LANGS; else Chinese)."""
        asked = request.query_params.get("lang")
        if asked in LANGS:
            return asked, "asked"
        cookie = request.cookies.get(LANG_COOKIE)
        if cookie in LANGS:
            return cookie, "cookie"
        return accepted_language(request.headers.get("accept-language")) or "zh", "header"

    # -- rendering --------------------------------------------------------------------------------------------
    def render(self, page: Page, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        catalog = self.service.store.catalog  # the store's published catalog: new record types have their names
        labels = labels_for(catalog)  # ... and their fields and values their words
        html = self.env.get_template(template).render(
            t=page.t,
            lang=page.lang,
            who=page.who,
            path=page.request.url.path,
            query=dict(page.request.query_params),
            lang_url=lambda code: (
                page.request.url.path + "?" + urlencode({**dict(page.request.query_params), "lang": code})
            ),
            csrf=page.who.csrf if page.who else page.cookies.get(PRE_COOKIE, page.request.cookies.get(PRE_COOKIE, "")),
            sources={k: s.name.get(page.lang) for k, s in catalog.sources.items()},
            record_types={k: r.name.get(page.lang) for k, r in catalog.record_types.items()},
            categories={k: c.name.get(page.lang) for k, c in catalog.categories.items()},
            details=lambda fields, lang: record_details(fields, lang, labels),
            words=lambda value, lang: value_words(value, lang, labels),
            **context,
        )
        return HTMLResponse(html, status_code=status)

    def status_page(self, request: Request, status: int, allowed: str | None = None) -> Response:
        """The page of a 404 (no page at the address) or a 405 (a method the address does not take: ``allowed``, the
        methods it takes) the router answers itself, as any page is answered (the language, the limits of a visitor
        not signed in, the headers). An address that takes a form only says so (opened in the address bar, as after
        a refused upload); a page opened by GET names the methods it takes (a form-only page's words misled there)."""

        def refusal(page: Page) -> Response:
            if status == 405:
                methods = [m.strip() for m in (allowed or "").split(",") if m.strip()]
                said = (
                    page.t("error_method_not_allowed", method=request.method[:16], allowed=", ".join(methods))
                    if "GET" in methods
                    else page.t("error_form_only")
                )
                return page.error(405, "error_bad_request_title", said)
            return page.error(404, "error_not_found_title", page.t("error_no_page", path=page.request.url.path[:200]))

        return self._run(refusal, request, {}, (), csrf=False)

    # -- who is asking ----------------------------------------------------------------------------------------
    def principal(self, request: Request) -> Principal | None:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        try:
            with self.service.writer() as store:
                return session_principal(store, token)
        except AuthError:
            return None

    def _refused(self, page: Page, exc: ForbiddenError) -> HTMLResponse:
        """The page of a refusal, audited like the API's refusals (``access_refused``, with the path and the code).

        A refusal of a visitor who is not signed in (a form without its CSRF token) counts as a failed sign-in of the
        address: a flood of them is refused with 429, not audited row by row."""
        who = page.who
        detail = {"path": page.request.url.path, "code": exc.code, "role": who.role if who else None}
        if who is None:
            self.throttle.fail("signin", page.address)
            self.service.audit_refusal("anonymous", "access_refused", detail)
        else:
            with self.service.writer() as store, store.transaction():
                append_audit(store, who.actor, "access_refused", None, detail)
        return page.error(exc.status, "error_forbidden_title", exc.said_in(page.lang))

    def _limited(self, page: Page) -> Response | None:
        """The 429 page if a visitor who is not signed in is over a limit of their address, else None."""
        if page.who is not None:
            return None
        wait = self.throttle.take("public", page.address)
        if wait:
            return page.too_many("public", wait)
        if page.request.method == "POST" and (wait := self.throttle.check("signin", page.address)):
            return page.too_many("signin", wait)
        return None

    @staticmethod
    def _too_large(page: Page, limit: int | None, files: bool) -> Response | None:
        """The 413 page of a body over the service's limit on requests (``limit`` bytes; None: it was not); a form
        that takes files (evidence) names the limit on a file too."""
        if limit is None:
            return None
        # a form that takes no file is no "form with its files" (every form's 413 said so until 2026-12-06)
        key = "body_too_large_files" if files else "body_too_large"
        said = page.t(key, limit=f"{limit:,}", mib=exact_number(limit / 2**20))
        return page.error(413, "error_too_large_title", said)

    @staticmethod
    def _check(page: Page, roles: tuple[str, ...], csrf: bool, flat: bool = False) -> Response | None:
        """None if the page may be shown; a redirect to sign in first; ForbiddenError for the wrong role or form; a
        415 page for a form that takes files posted without them (``flat``: not multipart/form-data, so none of its
        fields can be read, and its CSRF token was refused as an expired form's)."""
        if roles:
            if page.who is None:
                target = page.request.url.path if page.request.method == "GET" else "/"
                return page.redirect("/signin?next=" + quote(target, safe="/"))
            if page.who.role not in roles:
                raise ForbiddenError(page.t(f"forbidden_{roles[0]}"), code="role_not_allowed")
        if page.request.method == "POST" and flat:
            return page.error(415, "error_bad_request_title", page.t("form_not_multipart"))
        if page.request.method == "POST" and csrf:
            expected = page.who.csrf if page.who else page.request.cookies.get(PRE_COOKIE, "")
            given = page.form.get("csrf", "")
            if not expected or not hmac.compare_digest(expected.encode(), given.encode()):
                raise ForbiddenError(page.t("csrf_failed"), code="csrf_failed")
        return None

    def page(
        self, *roles: str, csrf: bool = True, files: bool = False
    ) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
        """Make a page handler an endpoint for signed-in ``roles`` (none: anyone). With ``files``, a multipart form's
        files are read into memory (the body is bounded by the service's limit on requests), never spooled to disk."""

        def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
            async def endpoint(request: Request) -> Response:
                form: dict[str, str] = {}
                uploaded: dict[str, tuple[str, bytes]] = {}
                repeated: str | None = None  # a field the form names twice (Starlette kept the last value)
                too_large: int | None = getattr(request.state, "too_large", None)  # the body, refused unread
                reading = request.method == "POST" and too_large is None
                # a form with files sent without them (not multipart): said so, not as an expired form
                flat = reading and files and not is_multipart(request.headers.get("content-type", ""))
                if reading and files and not flat:
                    try:
                        form, uploaded = parse_multipart(request.headers.get("content-type", ""), await request.body())
                    except RepeatedField as exc:  # refused once its CSRF token is checked
                        form, repeated = exc.fields, exc.name
                elif reading:
                    try:
                        raw = await request.form()
                    except Exception:  # a malformed body is a refused form, not a crash
                        raw = None
                    if raw is not None:
                        form = {k: v for k, v in raw.items() if isinstance(v, str)}
                        repeated = _repeated(k for k, _ in raw.multi_items())
                return await run_in_threadpool(
                    self._run, handler, request, form, roles, csrf, uploaded, repeated, too_large, files, flat
                )

            endpoint.__name__ = handler.__name__
            endpoint.__doc__ = handler.__doc__
            return endpoint

        return wrap

    def _run(
        self,
        handler: Handler,
        request: Request,
        form: dict[str, str],
        roles: tuple[str, ...],
        csrf: bool,
        files: dict[str, tuple[str, bytes]] | None = None,
        repeated: str | None = None,
        too_large: int | None = None,
        takes_files: bool = False,
        flat: bool = False,
    ) -> Response:
        lang, decided_by = self.language(request)
        page = Page(self, request, lang, self.principal(request), form, files=files or {})
        if page.who is None and PRE_COOKIE not in request.cookies:
            page.cookies[PRE_COOKIE] = secrets.token_urlsafe(24)
        try:
            first = (
                self._limited(page)
                or self._too_large(page, too_large, takes_files)
                or self._check(page, roles, csrf, flat)
            )
            if first is None and repeated is not None:  # which of its values was meant is not known: refused
                shown = repeated if len(repeated) <= 64 else repeated[:64] + "…"
                first = page.error(400, "error_bad_request_title", page.t("form_field_repeated", field=shown))
            response = first if first is not None else handler(page)
        except ForbiddenError as exc:
            response = self._refused(page, exc)
        except NotFoundError as exc:
            response = page.error(404, "error_not_found_title", exc.said_in(page.lang))
        except AuthError as exc:
            response = page.error(401, "error_signin_title", page.t(f"auth_{exc.code}", default=str(exc)))
        except SocialCreditError as exc:
            response = page.error(400, "error_bad_request_title", exc.said_in(page.lang))
        secure = request.url.scheme == "https"
        if decided_by == "asked":
            response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="strict", secure=secure)
        elif decided_by == "header":  # another Accept-Language may be another page
            response.headers.add_vary_header("Accept-Language")
        response.headers["Content-Language"] = LANGUAGE_TAGS[lang]  # as the page's <html lang> says it
        for name, value in page.cookies.items():
            response.set_cookie(name, value, httponly=True, samesite="strict", secure=secure, path="/")
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        return response
