"""What the endpoints depend on, as FastAPI dependencies: the running service, the caller and its role, today.

``require(*roles)`` authenticates the caller by its API key (``Authorization: Bearer sc_…``) and admits only the
roles named: a request without a valid key is a 401 whose code says why, a key of another role a 403
``role_not_allowed``; both refusals are audited (``access_refused``) before the answer is sent.
"""

# No ``from __future__ import annotations``: FastAPI reads the dependencies from the annotations.
import datetime as dt
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn

import anyio
from fastapi import Depends, Request

from socialcredit.clock import resolve_today
from socialcredit.errors import AuthError, ForbiddenError, NotFoundError
from socialcredit.registry.access.parties import Party
from socialcredit.registry.service import Service
from socialcredit.store import Store

__all__ = [
    "Anyone",
    "Auditor",
    "Furnisher",
    "Operator",
    "RelyingParty",
    "Resident",
    "ResidentOrOperator",
    "ServiceDep",
    "Today",
    "actor",
    "current_service",
    "deny",
    "naming",
    "refuse",
    "require",
    "today",
]


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


async def refuse(service: Service, party: Party | None, refusal: AuthError | ForbiddenError, path: str) -> NoReturn:
    """Audit an access refusal in a worker thread and raise it (from an ``async`` endpoint or dependency)."""
    raise await anyio.to_thread.run_sync(service.refuse, party, refusal, path)


def require(*roles: str) -> Callable[[Request, Service], Awaitable[Party]]:
    """A dependency: the caller's party, if its key is valid and its role one of ``roles``; else 401 or 403."""

    async def caller(request: Request, service: ServiceDep) -> Party:
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else None
        try:
            party = service.keys.authenticate(token)
        except AuthError as exc:
            await refuse(service, None, exc, request.url.path)
        if party.role not in roles:
            message = (
                f"a {party.role} key may not call {request.method} {request.url.path} (allowed: {', '.join(roles)})"
            )
            await refuse(service, party, ForbiddenError(message, code="role_not_allowed"), request.url.path)
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
