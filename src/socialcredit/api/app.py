"""The HTTP service: one process owns the store; decisions come from the latest run's snapshot in memory.

Every request names its caller with an API key (``Authorization: Bearer sc_…``); every refusal of access is a 401
or 403 with a machine-readable code and a message, and is audited. Every 4xx body is
``{"error": {"code": …, "message": …, "field": …}}``. The API calls the registry, never the CLI.
"""

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from socialcredit.errors import DecisionError, NotFoundError, SocialCreditError
from socialcredit.registry.audit import append_audit, verify_audit
from socialcredit.registry.parties import AuthError, Party, authenticate
from socialcredit.store import Store, open_store

__all__ = ["ApiError", "create_app"]

MAX_BATCH = 10_000


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject_id: str = Field(min_length=1, max_length=64)
    service: str = Field(min_length=1, max_length=64)
    purpose: str = Field(min_length=1, max_length=200)


class BatchDecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service: str = Field(min_length=1, max_length=64)
    purpose: str = Field(min_length=1, max_length=200)
    subject_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(min_length=1, max_length=MAX_BATCH)


class Service:
    """The state of a running service: the store (one writer, behind a lock), metrics."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.lock = threading.RLock()
        self.requests: Counter[tuple[str, int]] = Counter()
        self.decisions: Counter[str] = Counter()
        self.seconds: dict[str, float] = {}
        self.snapshots: dict[str, Any] = {}  # service -> the Snapshot of the run that decides it

    @contextmanager
    def writer(self) -> Iterator[Store]:
        with self.lock:
            yield self.store

    def refuse(self, party: Party | None, status: int, code: str, message: str, path: str) -> ApiError:
        """An access refusal, audited."""
        with self.writer() as store, store.transaction():
            append_audit(
                store,
                f"key:{party.key_id}" if party else "anonymous",
                "access_refused",
                None,
                {"path": path, "code": code, "role": party.role if party else None},
            )
        return ApiError(status, code, message)


def run_for_service_id(store: Store, service_id: str) -> int:
    from socialcredit.registry.decide import run_for_service

    return int(run_for_service(store, service_id, None)["run_id"])


def _error(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    return JSONResponse({"error": body}, status_code=status)


def create_app(db: Path | str, *, store: Store | None = None) -> FastAPI:
    """The service over the store at ``db`` (or an already open ``store``)."""
    service = Service(store if store is not None else open_store(db))
    app = FastAPI(
        title="socialcredit",
        version="1",
        description="An accountable credit registry: decisions with reasons, residents' own files, audited access.",
    )
    app.state.service = service

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message, exc.field)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return _error(422, "invalid_request", f"{where or 'body'}: {first.get('msg')}", where or None)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {400: "malformed_body", 404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, code, str(exc.detail))

    @app.exception_handler(SocialCreditError)
    async def _domain(_request: Request, exc: SocialCreditError) -> JSONResponse:
        if isinstance(exc, NotFoundError):
            return _error(404, "not_found", str(exc))
        if isinstance(exc, DecisionError):
            return _error(400, "bad_decision_request", str(exc))
        return _error(400, "bad_request", str(exc))

    @app.middleware("http")
    async def _count(request: Request, call_next: Callable[[Request], Any]) -> Any:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        service.requests[(path, response.status_code)] += 1
        service.seconds[path] = service.seconds.get(path, 0.0) + time.perf_counter() - started
        return response

    def caller(*roles: str) -> Callable[[Request], Party]:
        def check(request: Request) -> Party:
            header = request.headers.get("authorization", "")
            token = header[7:] if header.lower().startswith("bearer ") else None
            try:
                with service.writer() as store:
                    party = authenticate(store, token)
            except AuthError as exc:
                raise service.refuse(None, 401, exc.code, str(exc), request.url.path) from None
            if party.role not in roles:
                raise service.refuse(
                    party,
                    403,
                    "role_not_allowed",
                    f"a {party.role} key may not call {request.method} {request.url.path} "
                    f"(allowed: {', '.join(roles)})",
                    request.url.path,
                )
            return party

        return check

    @app.get("/healthz", tags=["service"])
    def healthz() -> dict[str, Any]:
        with service.writer() as store:
            store.one("SELECT 1")
        return {"status": "ok"}

    @app.get("/metrics", tags=["service"], response_class=PlainTextResponse)
    def metrics() -> str:
        lines = [
            "# HELP socialcredit_requests_total HTTP requests by route and status.",
            "# TYPE socialcredit_requests_total counter",
        ]
        for (path, status), n in sorted(service.requests.items()):
            lines.append(f'socialcredit_requests_total{{route="{path}",status="{status}"}} {n}')
        lines += [
            "# HELP socialcredit_request_seconds_total Time spent answering, by route.",
            "# TYPE socialcredit_request_seconds_total counter",
        ]
        for path, secs in sorted(service.seconds.items()):
            lines.append(f'socialcredit_request_seconds_total{{route="{path}"}} {secs:.6f}')
        lines += [
            "# HELP socialcredit_decisions_total Decisions answered, by outcome.",
            "# TYPE socialcredit_decisions_total counter",
        ]
        for outcome, n in sorted(service.decisions.items()):
            lines.append(f'socialcredit_decisions_total{{outcome="{outcome}"}} {n}')
        return "\n".join(lines) + "\n"

    def _scope_decision(party: Party, service_id: str, purpose: str) -> None:
        if service_id not in party.services:
            raise service.refuse(
                party,
                403,
                "service_not_registered",
                f"this key may ask decisions for {', '.join(party.services)}, not {service_id}",
                "/v1/decisions",
            )
        if purpose not in party.purposes:
            raise service.refuse(
                party,
                403,
                "purpose_not_declared",
                f"purpose {purpose!r} was not declared for this key (declared: {', '.join(party.purposes)})",
                "/v1/decisions",
            )

    @app.post("/v1/decisions", tags=["relying parties"])
    def decide_one(body: DecisionRequest, party: Annotated[Party, Depends(caller("relying_party"))]) -> dict[str, Any]:
        """A decision with at most four ranked reasons and what would change it; logged as an inquiry."""
        from socialcredit.registry.decide import decide

        _scope_decision(party, body.service, body.purpose)
        with service.writer() as store:
            decision = decide(store, body.subject_id, body.service, body.purpose, requester=f"key:{party.key_id}")
        service.decisions["granted" if decision.granted else "refused"] += 1
        out = decision.as_dict()
        out.pop("score", None)  # a relying party sees the decision, tier and reasons
        return out

    @app.post("/v1/decisions/batch", tags=["relying parties"])
    def decide_batch(
        body: BatchDecisionRequest, party: Annotated[Party, Depends(caller("relying_party"))]
    ) -> dict[str, Any]:
        """Up to 10 000 decisions in one request, from the latest run held in memory; each logged as an inquiry.

        Only granted or refused and the tier; ask one at a time for the reasons of a refusal.
        """
        from socialcredit.registry.snapshot import Snapshot

        _scope_decision(party, body.service, body.purpose)
        with service.writer() as store:
            snap = service.snapshots.get(body.service)
            latest = run_for_service_id(store, body.service)
            if snap is None or snap.run_id != latest:
                snap = service.snapshots[body.service] = Snapshot.load(store, service=body.service)
            granted = snap.decide_many(body.subject_ids, body.service, body.purpose, requester=f"key:{party.key_id}")
            snap.flush(store)
        n_granted = int(granted.sum())
        service.decisions["granted"] += n_granted
        service.decisions["refused"] += len(body.subject_ids) - n_granted
        rows = [snap.index[s] for s in body.subject_ids]
        tiers = snap.tier_names[snap.tier_ranks[rows] - 1]
        return {
            "run_id": snap.run_id,
            "service": body.service,
            "decisions": [
                {"subject_id": s, "granted": bool(g), "tier": str(t)}
                for s, g, t in zip(body.subject_ids, granted.tolist(), tiers.tolist(), strict=True)
            ],
        }

    @app.get("/v1/subjects/{subject_id}/report", tags=["residents"])
    def report(subject_id: str, party: Annotated[Party, Depends(caller("resident", "operator"))]) -> dict[str, Any]:
        """A resident's file: score, tier, rank, percentile, dimensions, reasons, records, inquiries."""
        from socialcredit.registry.report import subject_report

        if party.role == "resident" and subject_id != party.subject_id:
            raise service.refuse(
                party, 403, "not_your_file", "a resident key opens only its own file", f"/v1/subjects/{subject_id}"
            )
        with service.writer() as store:
            return subject_report(store, subject_id, actor=f"key:{party.key_id}", purpose=f"{party.role} report")

    @app.get("/v1/audit/verify", tags=["auditors"])
    def audit_verify(party: Annotated[Party, Depends(caller("auditor"))]) -> dict[str, Any]:
        """Check the hash chain of the audit log: every altered, removed or reordered entry, with its place."""
        with service.writer() as store:
            problems = verify_audit(store)
        return {"ok": not problems, "problems": [{"seq": p.seq, "message": p.message} for p in problems]}

    from socialcredit.web import web_router  # the pages: resident portal, operator dashboard, public look-up

    app.include_router(web_router(service, caller))
    return app
