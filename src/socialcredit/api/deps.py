"""What the endpoints depend on, as FastAPI dependencies: the running service, the caller and its role, today.

``require(*roles)`` authenticates the caller by its API key (``Authorization: Bearer sc_…``) and admits only the
roles named: a request without a valid key is a 401 whose code says why, a key of another role a 403
``role_not_allowed``, each said in the ``?lang=`` sent (en or zh); both refusals are audited (``access_refused``)
before the answer is sent.

Every caller is throttled (``service.throttle``, docs/api.md "Limits on requests"): an address with too many failed
keys is answered 429 before its key is looked at, a key with too many requests likewise; the endpoints that need no key
take ``Public`` or ``Lookup``, limits per client address. A 429 is not audited by itself: the refused requests of a
client are summarised in one audit row when its window closes.
"""

# No ``from __future__ import annotations``: FastAPI reads the dependencies from the annotations.
import datetime as dt
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal, NoReturn

import anyio
from fastapi import Depends, Query, Request, Response
from pydantic import AfterValidator, BeforeValidator, StringConstraints
from pydantic_core import PydanticCustomError

from socialcredit.clock import parse_day, resolve_today
from socialcredit.errors import AuthError, DecisionError, ForbiddenError, NotFoundError, TooManyRequestsError
from socialcredit.identifiers import compact_subject_id
from socialcredit.languages import LANGUAGE_TAGS
from socialcredit.registry.access.parties import Party
from socialcredit.registry.service import Service
from socialcredit.store import Store

__all__ = [
    "Anyone",
    "Auditor",
    "Day",
    "Furnisher",
    "Lang",
    "Lookup",
    "Operator",
    "Public",
    "RefusalsLang",
    "RelyingParty",
    "Resident",
    "ResidentOrOperator",
    "Segment",
    "ServiceDep",
    "SubjectPath",
    "Today",
    "actor",
    "client_address",
    "current_service",
    "deny",
    "naming",
    "refuse",
    "require",
    "said_in",
    "speaks",
    "today",
]


def said_in(response: Response, lang: str) -> None:
    """Say in ``response`` the language its texts are in (``Content-Language``: en or zh-CN, as the pages say it)."""
    response.headers["Content-Language"] = LANGUAGE_TAGS[lang]


def speaks(request: Request, lang: str) -> None:
    """From here on, ``request``'s errors are said in ``lang`` where they have it (``SocialCreditError.zh``): a route
    whose language is in its body says so once it has read it."""
    request.state.lang = lang


def _language(request: Request, response: Response, lang: Literal["en", "zh"] = "en") -> str:
    """``?lang=``: the language of the answer's texts, which the answer says (``said_in``), and of the route's
    refusals from here on where they have it (``speaks``), as a decision's are."""
    said_in(response, lang)
    speaks(request, lang)
    return lang


# The query parameter ``lang`` of an answer whose texts follow it, and of its refusals; the answer says its language.
Lang = Annotated[Literal["en", "zh"], Depends(_language)]


def _refusals_language(
    request: Request,
    lang: Annotated[
        str,
        Query(description="The language of the refusals (en or zh); any other value is English, not a refusal."),
    ] = "en",
) -> str:
    """``?lang=`` of a route whose answer has no texts of its own (a furnisher's batch): the language of its
    refusals. A value it does not know is English, not a refusal: the batch is never refused for a parameter it did
    not need (the records routes took no ``lang`` before 2026-12-06). Only a refusal says its language."""
    said = lang if lang in LANGUAGE_TAGS else "en"
    speaks(request, said)
    return said


# The query parameter ``lang`` of a route whose only texts are its refusals (the records routes).
RefusalsLang = Annotated[str, Depends(_refusals_language)]


def current_service(request: Request) -> Service:
    """The service the app was built over (``create_app`` keeps it in ``app.state.service``)."""
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(current_service)]


def today() -> dt.date:
    """The registry's date: ``$SOCIALCREDIT_TODAY`` when set (a service on a controlled clock), else the system's."""
    return resolve_today()


Today = Annotated[dt.date, Depends(today)]


def deny(service: Service, party: Party | None, refusal: AuthError | ForbiddenError, path: str) -> NoReturn:
    """Audit an access refusal and raise it (it takes the store's writer: call it from a worker thread)."""
    raise service.refuse(party, refusal, path)


async def refuse(
    service: Service, party: Party | None, refusal: AuthError | ForbiddenError | DecisionError, path: str
) -> NoReturn:
    """Audit an access refusal in a worker thread and raise it (from an ``async`` endpoint or dependency): a key's,
    or a relying party's purpose it may not ask under (a 400 ``invalid_purpose`` as a 403 ``purpose_not_declared``)."""
    raise await anyio.to_thread.run_sync(service.refuse, party, refusal, path)


def client_address(request: Request) -> str:
    """The address the connection came from (X-Forwarded-For is not read: ``serve`` turns uvicorn's off)."""
    return request.client.host if request.client else "unknown"


def _over(service: Service, limit: str, client: str, *, count: bool = True) -> TooManyRequestsError | None:
    """The 429 if ``client`` is over ``limit`` (else None, and the request is counted if ``count``)."""
    gate = service.throttle
    wait = gate.take(limit, client) if count else gate.check(limit, client)
    return gate.refusal(limit, wait) if wait else None


def throttled(limit: str) -> Callable[[Request, Service], Awaitable[None]]:
    """A dependency of an endpoint that needs no key: at most so many requests per client address (``limit``)."""

    async def check(request: Request, service: ServiceDep) -> None:
        refusal = _over(service, limit, client_address(request))
        if refusal is not None:
            raise refusal

    return check


Public = Depends(throttled("public"))
Lookup = Depends(throttled("lookup"))


def _authenticate(request: Request, service: Service, token: str | None) -> Party:
    """The party of ``token``; AuthError (to audit) or TooManyRequestsError (not audited)."""
    address = client_address(request)
    refusal = _over(service, "auth", address, count=False)
    if refusal is not None:  # too many failures from this address: its keys are not looked at
        raise refusal
    try:
        return service.keys.authenticate(token)
    except AuthError:
        gate = service.throttle
        gate.fail("auth", address)
        key_id = service.keys.known_id(token)
        if key_id is not None:  # a wrong secret for a key that exists: counted against the key too
            refusal = _over(service, "key_failures", key_id, count=False)
            if refusal is not None:
                raise refusal from None
            gate.fail("key_failures", key_id)
        raise


def _utf8(header: str) -> str:
    """A header's value as the client wrote it: its bytes are read as Latin-1, so a key pasted with a zero-width
    space sent in UTF-8 would not be squeezed back to the key."""
    try:
        return header.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return header


def _key_refused_in(request: Request) -> None:
    """A key is refused before the route reads its ``lang``: the refusal is said in the ``?lang=`` sent (en or zh;
    any other value is English here, the route refusing it only after the key). Only the key's refusal: a route that
    takes no ``lang`` still says its own refusals in English."""
    sent = request.query_params.get("lang", "en")
    speaks(request, sent if sent in LANGUAGE_TAGS else "en")


def require(*roles: str) -> Callable[[Request, Service], Awaitable[Party]]:
    """A dependency: the caller's party, if its key is valid and its role one of ``roles``; else 401 or 403, or 429
    over a limit."""

    async def caller(request: Request, service: ServiceDep) -> Party:
        header = _utf8(request.headers.get("authorization", ""))
        token = header[7:] if header.lower().startswith("bearer ") else None
        try:
            party = _authenticate(request, service, token)
        except AuthError as exc:
            _key_refused_in(request)
            await refuse(service, None, exc, request.url.path)
        refusal = _over(service, "key", party.key_id)
        if refusal is not None:
            raise refusal
        if party.role not in roles:
            article = "an" if party.role[0] in "aeiou" else "a"  # an operator key, an auditor key
            message = (
                f"{article} {party.role} key may not call {request.method} {request.url.path} "
                f"(allowed: {', '.join(roles)})"
            )
            zh = f"{party.role} 密钥不能调用 {request.method} {request.url.path}（允许的角色：{'、'.join(roles)}）"
            _key_refused_in(request)
            await refuse(service, party, ForbiddenError(message, code="role_not_allowed", zh=zh), request.url.path)
        return party

    return caller


Resident = Annotated[Party, Depends(require("resident"))]
Furnisher = Annotated[Party, Depends(require("furnisher"))]
Operator = Annotated[Party, Depends(require("operator"))]
Auditor = Annotated[Party, Depends(require("auditor"))]
RelyingParty = Annotated[Party, Depends(require("relying_party"))]
ResidentOrOperator = Annotated[Party, Depends(require("resident", "operator"))]
Anyone = Annotated[Party, Depends(require("resident", "furnisher", "operator"))]


def actor(party: Party) -> str:
    """How a caller is named in the audit log and in what it does."""
    return f"key:{party.key_id}"


@contextmanager
def naming(service: Service, field: str | None = None) -> Iterator[Store]:
    """The store under the writer's lock; a NotFoundError that names no field is told to name ``field``."""
    try:
        with service.writer() as store:
            yield store
    except NotFoundError as exc:
        if exc.field is None:
            exc.field = field
        raise


# A subject's identifier in a URL, compacted as in a subjects file (spaces, a lower-case x, full-width digits): the
# subject is looked up, and a resident's own file recognised, by the identifier as registered; at most 64
# characters as sent.
SubjectPath = Annotated[str, StringConstraints(max_length=64), AfterValidator(compact_subject_id)]
# Any other name in a URL (a record's, a key's, a list's, a service's, a policy's and its version, a category): at
# most 64 characters, as a record id sent in a batch, refused 422 naming the bound before any look-up (a name of
# 60,000 characters was looked up and quoted whole in the 404).
Segment = Annotated[str, StringConstraints(min_length=1, max_length=64)]


def _day(value: Any) -> Any:
    """A date sent as YYYY-MM-DD only, refused saying what is wrong (pydantic alone takes a Unix timestamp too, and
    says of 2026-02-30 only that a day value is outside the expected range)."""
    if isinstance(value, dt.date):
        return value
    try:
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not a date of the form YYYY-MM-DD")
        return parse_day(value)
    except ValueError as exc:
        raise PydanticCustomError("date_format", "{reason}", {"reason": str(exc)}) from None


# A date in a query string or a JSON body: '2026-02-30' is refused as "'2026-02-30' is not a date: February 2026
# has 28 days" (422, naming the field).
Day = Annotated[dt.date, BeforeValidator(_day)]
