"""The HTTP service: one process owns the store; decisions come from the latest run's snapshot in memory.

Every request names its caller with an API key (``Authorization: Bearer sc_…``); every refusal of access is a 401
or 403 with a machine-readable code and a message, and is audited. Every 4xx body is
``{"error": {"code": …, "message": …, "field": …}}``. The API calls the registry, never the CLI.
"""

import datetime as dt
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
from fastapi import Body as BodyParam
from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from socialcredit.api.bodies import MAX_BODY_BYTES, read_body, write_rows
from socialcredit.api.due_process import due_process_router
from socialcredit.errors import (
    AuthError,
    DecisionError,
    IngestError,
    NotFoundError,
    PolicyError,
    SocialCreditError,
    WorkflowError,
)
from socialcredit.registry.access.audit import verify_audit
from socialcredit.registry.access.parties import ROLES, Party
from socialcredit.registry.service import ApiError, Service
from socialcredit.store import Store, open_store

__all__ = ["ApiError", "create_app"]

MAX_BATCH = 10_000
log = logging.getLogger(__name__)
SubjectId = Annotated[str, Field(min_length=1, max_length=64)]
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject_id: SubjectId
    service: str = Field(min_length=1, max_length=64)
    purpose: str = Field(min_length=1, max_length=200)
    lang: Literal["en", "zh"] = "en"


class BatchDecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service: str = Field(min_length=1, max_length=64)
    purpose: str = Field(min_length=1, max_length=200)
    subject_ids: list[SubjectId] = Field(min_length=1, max_length=MAX_BATCH)


class JobRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    policy: Id = Field(description="A shipped or published policy id.")
    as_of: dt.date | None = Field(None, description="The date the run scores as of (default: today).")
    incremental: bool = Field(False, description="Rescore only subjects whose inputs changed since the last run.")


class KeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["furnisher", "relying_party", "resident", "operator", "auditor"]
    name: str = Field(min_length=1, max_length=200)
    source: Id | None = None
    services: list[Id] | None = Field(None, max_length=50)
    purposes: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(None, max_length=50)
    subject: SubjectId | None = None


def _error(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    return JSONResponse({"error": body}, status_code=status)


def create_app(db: Path | str, *, store: Store | None = None, max_body: int = MAX_BODY_BYTES) -> FastAPI:
    """The service over the store at ``db`` (or an already open ``store``); batches up to ``max_body`` bytes."""
    service = Service(store if store is not None else open_store(db))

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

    @app.exception_handler(Exception)
    async def _internal(_request: Request, exc: Exception) -> JSONResponse:
        # A fault of ours, never of the request: logged with its trace for the operator, never shown to the caller.
        log.error("internal error", exc_info=exc)
        return _error(500, "internal_error", "the service failed to answer; the fault is logged for the operator")

    app.add_middleware(_Metrics, service=service)

    def caller(*roles: str) -> Callable[[Request], Awaitable[Party]]:
        async def check(request: Request) -> Party:
            header = request.headers.get("authorization", "")
            token = header[7:] if header.lower().startswith("bearer ") else None
            try:
                party = service.keys.authenticate(token)
            except AuthError as exc:
                refusal = await anyio.to_thread.run_sync(
                    service.refuse, None, 401, exc.code, str(exc), request.url.path
                )
                raise refusal from None
            if party.role not in roles:
                message = (
                    f"a {party.role} key may not call {request.method} {request.url.path} (allowed: {', '.join(roles)})"
                )
                raise await anyio.to_thread.run_sync(
                    service.refuse, party, 403, "role_not_allowed", message, request.url.path
                )
            return party

        return check

    @app.get("/healthz", tags=["service"])
    def healthz() -> dict[str, Any]:
        """Alive, with the runs decisions are answered from and the inquiries waiting in the journal."""
        return {
            "status": "ok",
            "runs": sorted({s.run_id for s in service.snapshots.values()}),
            "journal_pending": service.journal.pending,
        }

    @app.get("/metrics", tags=["service"], response_class=PlainTextResponse)
    def metrics() -> str:
        """Prometheus text format."""
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
        lines += [
            "# HELP socialcredit_inquiries_pending Inquiries journalled, not yet moved into the store.",
            "# TYPE socialcredit_inquiries_pending gauge",
            f"socialcredit_inquiries_pending {service.journal.pending}",
        ]
        return "\n".join(lines) + "\n"

    # --- relying parties -----------------------------------------------------------------------------------------

    async def _scope_decision(party: Party, service_id: str, purpose: str) -> None:
        if service_id not in party.services:
            message = f"this key may ask decisions for {', '.join(party.services)}, not {service_id}"
            raise await anyio.to_thread.run_sync(
                service.refuse, party, 403, "service_not_registered", message, "/v1/decisions"
            )
        if purpose not in party.purposes:
            message = f"purpose {purpose!r} was not declared for this key (declared: {', '.join(party.purposes)})"
            raise await anyio.to_thread.run_sync(
                service.refuse, party, 403, "purpose_not_declared", message, "/v1/decisions"
            )

    @app.post("/v1/decisions", tags=["relying parties"])
    async def decide_one(
        body: DecisionRequest, party: Annotated[Party, Depends(caller("relying_party"))]
    ) -> dict[str, Any]:
        """A decision with at most four ranked reasons and what would change it; logged as an inquiry.

        Answered from the latest run held in memory; the inquiry is journalled before the answer is sent.
        """
        await _scope_decision(party, body.service, body.purpose)
        snap = service.snapshot(body.service)
        decision = snap.decision(
            body.subject_id, body.service, body.purpose, requester=f"key:{party.key_id}", lang=body.lang
        )
        service.decisions["granted" if decision.granted else "refused"] += 1
        service.decided([body.subject_id], body.service, f"key:{party.key_id}")
        out = decision.as_dict()
        # A relying party sees the decision, tier and reasons; never the score, nor the actions (they name the
        # subject's records): the subject sees those at GET /v1/subjects/{id}/services/{service}.
        for private in ("score", "inquiry_id", "actions"):
            out.pop(private, None)
        return out

    @app.post("/v1/decisions/batch", tags=["relying parties"])
    async def decide_batch(
        body: BatchDecisionRequest, party: Annotated[Party, Depends(caller("relying_party"))]
    ) -> dict[str, Any]:
        """Up to 10 000 decisions in one request, from the latest run held in memory; each logged as an inquiry.

        Only granted or refused and the tier; ask one at a time for the reasons of a refusal. An identity number
        the run did not score gets ``granted: null`` and an error, and is not logged.
        """
        await _scope_decision(party, body.service, body.purpose)
        snap = service.snapshot(body.service)
        known = [s for s in body.subject_ids if s in snap.index]
        granted = await anyio.to_thread.run_sync(
            lambda: snap.decide_many(known, body.service, body.purpose, requester=f"key:{party.key_id}")
        )
        service.decided(known, body.service, f"key:{party.key_id}")
        n_granted = int(granted.sum())
        service.decisions["granted"] += n_granted
        service.decisions["refused"] += len(known) - n_granted
        rows = [snap.index[s] for s in known]
        tiers = snap.tier_names[snap.tier_ranks[rows] - 1] if rows else []
        answers = {
            s: {"subject_id": s, "granted": bool(g), "tier": str(t)}
            for s, g, t in zip(known, granted.tolist(), list(tiers), strict=True)
        }
        unknown = {
            "code": "unknown_subject",
            "message": f"not scored in run {snap.run_id} (unknown identity number, or registered after the run)",
        }
        return {
            "run_id": snap.run_id,
            "service": body.service,
            "decisions": [
                answers.get(s) or {"subject_id": s, "granted": None, "tier": None, "error": unknown}
                for s in body.subject_ids
            ],
        }

    # --- residents -----------------------------------------------------------------------------------------------

    @app.get("/v1/subjects/{subject_id}/report", tags=["residents"])
    def report(subject_id: str, party: Annotated[Party, Depends(caller("resident", "operator"))]) -> dict[str, Any]:
        """A resident's file: score, tier, rank, percentile, dimensions, reasons, records, inquiries."""
        from socialcredit.registry.reporting.report import subject_report

        if party.role == "resident" and subject_id != party.subject_id:
            raise service.refuse(
                party, 403, "not_your_file", "a resident key opens only its own file", f"/v1/subjects/{subject_id}"
            )
        service.flush_inquiries()  # the file shows every inquiry answered so far
        with service.writer() as store:
            return subject_report(store, subject_id, actor=f"key:{party.key_id}", purpose=f"{party.role} report")

    @app.get("/v1/subjects/{subject_id}/services/{service_id}", tags=["residents"])
    def what_would_change(
        subject_id: str,
        service_id: str,
        party: Annotated[Party, Depends(caller("resident", "operator"))],
        lang: Annotated[Literal["en", "zh"], Query()] = "en",
    ) -> dict[str, Any]:
        """The decision on a service for one's own file, with the reasons and the concrete actions that would change
        a refusal (which name one's own records: a relying party never gets them)."""
        from socialcredit.registry.decisions.decide import decide

        if party.role == "resident" and subject_id != party.subject_id:
            raise service.refuse(
                party, 403, "not_your_file", "a resident key opens only its own file", f"/v1/subjects/{subject_id}"
            )
        with service.writer() as store:
            decision = decide(
                store,
                subject_id,
                service_id,
                f"{party.role} asks about their file",
                requester=f"key:{party.key_id}",
                lang=lang,
            )
        return decision.as_dict()

    # --- furnishers ----------------------------------------------------------------------------------------------

    uploads = service.store.path.with_name(service.store.path.name + ".uploads")

    def _ingest(
        party: Party, path: Path, name: str, idempotency_key: str | None, sha: str, partial: bool
    ) -> JSONResponse:
        from socialcredit.registry.records.ingest import BatchOptions, ingest_file

        assert party.source_id is not None
        with service.writer() as store:
            if idempotency_key:
                row = store.execute(
                    "SELECT file_sha256, response FROM batches WHERE source_id = ? AND idempotency_key = ?",
                    [party.source_id, idempotency_key],
                ).fetchone()
                if row is not None:
                    if row[0] != sha:
                        raise ApiError(
                            409,
                            "idempotency_key_reused",
                            f"Idempotency-Key {idempotency_key!r} was used for another batch; "
                            "a new batch needs a new key",
                            "idempotency-key",
                        )
                    answer = json.loads(row[1])
                    return JSONResponse({**answer, "replayed": True}, headers={"Idempotent-Replayed": "true"})
            try:
                report = ingest_file(
                    store,
                    path,
                    party.source_id,
                    actor=f"key:{party.key_id}",
                    batch=BatchOptions(
                        all_or_nothing=not partial, write_rejects=False, name=name, idempotency_key=idempotency_key
                    ),
                )
            except IngestError as exc:
                # the message names the upload's file; the caller knows its batch by what it sent
                message = str(exc).replace(f"{path}: ", "").replace("the file has no column", "the batch has no column")
                missing = re.search(r"has no column '([a-z_]+)'", message)
                raise ApiError(400, "malformed_body", message, missing.group(1) if missing else None) from None
        body = report.as_dict()
        body.pop("reject_file", None)
        body["replayed"] = False
        if report.errors and not partial:
            errors = body.pop("errors")
            shown = errors[:1000]
            return JSONResponse(
                {
                    "error": {
                        "code": "batch_rejected",
                        "message": f"{report.rejected} of {report.rows} rows have errors; nothing was committed "
                        "(fix them and send the batch again, or send ?partial=true to commit the good rows)",
                        "field": f"row {shown[0]['row']}: {shown[0]['field']}",
                    },
                    "errors": shown,
                    "errors_total": len(errors),
                },
                status_code=422,
            )
        return JSONResponse(body)

    @app.post(
        "/v1/records",
        tags=["furnishers"],
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                    "application/x-ndjson": {"schema": {"type": "string"}},
                    "text/csv": {"schema": {"type": "string"}},
                    "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
                },
            }
        },
    )
    async def ingest_batch(
        request: Request,
        party: Annotated[Party, Depends(caller("furnisher"))],
        idempotency_key: Annotated[str | None, Header(max_length=200, pattern=r"^[\x21-\x7e]+$")] = None,
        partial: Annotated[bool, Query(description="Commit the good rows even if some have errors.")] = False,
    ) -> JSONResponse:
        """Ingest a batch of the caller's source: JSON (a list of records), NDJSON, CSV or Parquet.

        The batch is all or nothing: if any row has an error, nothing is committed and the answer lists every
        error with its row and field (422). Re-sending a record with the same content changes nothing; send the
        same ``Idempotency-Key`` to have a retried batch answered with the first answer.
        """

        body = await read_body(request, uploads, max_body)
        try:
            name = f"http:{idempotency_key or body.sha256[:16]}{body.path.suffix}"
            return await anyio.to_thread.run_sync(
                _ingest, party, body.path, name, idempotency_key, body.sha256, partial
            )
        finally:
            body.path.unlink(missing_ok=True)

    def _one_record(party: Party, row: dict[str, Any], action: str) -> JSONResponse:
        path = write_rows(uploads / f"{action}-{party.key_id}-{time.monotonic_ns()}.ndjson", [row])
        try:  # no Idempotency-Key: the body's hash is never compared (ingest records the file's own)
            return _ingest(party, path, f"http:{action}:{row['record_id']}", None, "", False)
        finally:
            path.unlink(missing_ok=True)

    @app.put("/v1/records/{record_id}", tags=["furnishers"])
    def correct_record(
        record_id: Annotated[str, Field(min_length=1, max_length=64)],
        record: Annotated[dict[str, str | int | float | bool | None], BodyParam(max_length=100)],
        party: Annotated[Party, Depends(caller("furnisher"))],
    ) -> JSONResponse:
        """Correct a record the caller's source sent before: the body is the whole corrected record."""
        if "record_id" in record and record["record_id"] != record_id:
            raise ApiError(400, "record_id_mismatch", "the body's record_id differs from the path's", "record_id")
        return _one_record(party, {**record, "record_id": record_id, "correction": True}, "correct")

    @app.delete("/v1/records/{record_id}", tags=["furnishers"])
    def withdraw_record(record_id: str, party: Annotated[Party, Depends(caller("furnisher"))]) -> JSONResponse:
        """Withdraw a record the caller's source sent: a new version that no longer counts (history stays)."""
        from socialcredit.registry.records.ingest import record_as_batch_row

        assert party.source_id is not None
        with service.writer() as store:
            row = record_as_batch_row(store, party.source_id, record_id)
        if row.pop("withdrawn") == "true":
            raise ApiError(409, "already_withdrawn", f"record {record_id!r} is withdrawn already", "record_id")
        return _one_record(party, {**row, "withdrawn": True}, "withdraw")

    # --- operators -----------------------------------------------------------------------------------------------

    @app.post("/v1/jobs", tags=["operators"], status_code=202)
    def start_job(body: JobRequest, party: Annotated[Party, Depends(caller("operator"))]) -> dict[str, Any]:
        """Start a score run; follow it at ``GET /v1/jobs/{job_id}``. Decisions use the new run when it ends."""
        from socialcredit.policy import BUILTIN_POLICIES
        from socialcredit.registry.scoring.runs import check_as_of

        with service.writer() as store:
            published = {r[0] for r in store.execute("SELECT DISTINCT policy_id FROM policies").fetchall()}
        if body.policy not in set(BUILTIN_POLICIES) | published:
            raise ApiError(404, "unknown_policy", f"no shipped or published policy {body.policy!r}", "policy")
        try:
            check_as_of(body.as_of or dt.date.today())
        except WorkflowError as exc:
            raise ApiError(422, "invalid_request", f"as_of: {exc}", "as_of") from None
        job = service.start_job(body.policy, body.as_of or dt.date.today(), body.incremental, f"key:{party.key_id}")
        return {**job.as_dict(), "follow": f"/v1/jobs/{job.job_id}"}

    @app.get("/v1/jobs/{job_id}", tags=["operators"])
    def follow_job(job_id: int, _party: Annotated[Party, Depends(caller("operator"))]) -> dict[str, Any]:
        """A score run started over HTTP: queued, running (with its stage), finished (with its run) or failed."""
        job = service.jobs.get(job_id)
        if job is None:
            raise ApiError(404, "not_found", f"no job {job_id}", "job_id")
        return job.as_dict()

    @app.get("/v1/runs", tags=["operators"])
    def list_runs(_party: Annotated[Party, Depends(caller("operator"))]) -> dict[str, Any]:
        """Every score run: policy version, as-of date, watermark, engine, times, subjects."""
        with service.writer() as store:
            rows = store.rows("SELECT * FROM score_runs ORDER BY run_id")
        return {"runs": [{k: _plain(v) for k, v in r.items()} for r in rows]}

    @app.get("/v1/policies", tags=["operators"])
    def list_policies(_party: Annotated[Party, Depends(caller("operator"))]) -> dict[str, Any]:
        """Every published policy version (the texts are public: GET /v1/policies/{id}/{version})."""
        with service.writer() as store:
            rows = store.rows(
                "SELECT policy_id, version, sha256, published_at FROM policies ORDER BY policy_id, published_at"
            )
        return {"policies": [{k: _plain(v) for k, v in r.items()} for r in rows]}

    @app.get("/v1/policies/{policy_id}/{version}", tags=["public"], response_class=PlainTextResponse)
    def policy_text(policy_id: str, version: str) -> str:
        """The published text of a policy version: every rule is public."""
        with service.writer() as store:
            text = store.one("SELECT text FROM policies WHERE policy_id = ? AND version = ?", [policy_id, version])
        if text is None:
            raise ApiError(404, "not_found", f"no published policy {policy_id!r} version {version!r}")
        return str(text)

    @app.post(
        "/v1/policies",
        tags=["operators"],
        openapi_extra={
            "requestBody": {"required": True, "content": {"application/yaml": {"schema": {"type": "string"}}}}
        },
    )
    async def publish(request: Request, party: Annotated[Party, Depends(caller("operator"))]) -> JSONResponse:
        """Publish a policy version (YAML). The same id and version with other content is refused."""

        from socialcredit.policy import parse_policy
        from socialcredit.registry.scoring.policies import publish_policy

        raw = await request.body()
        if len(raw) > 1024 * 1024:
            raise ApiError(413, "body_too_large", "a policy is at most 1 MiB")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ApiError(400, "body_not_utf8", f"the policy is not UTF-8 (byte {exc.start})") from None
        try:
            loaded = parse_policy(text, "request body")
        except PolicyError as exc:
            return JSONResponse(
                {"error": {"code": "invalid_policy", "message": str(exc).splitlines()[0]}, "problems": exc.problems},
                status_code=422,
            )

        def write() -> bool:
            with service.writer() as store:
                return publish_policy(store, loaded, actor=f"key:{party.key_id}")

        try:
            new = await anyio.to_thread.run_sync(write)
        except PolicyError as exc:
            raise ApiError(409, "version_exists", str(exc), "version") from None
        p = loaded.policy
        return JSONResponse(
            {"policy_id": p.id, "version": p.version, "sha256": loaded.sha256, "published": new},
            status_code=201 if new else 200,
        )

    @app.get("/v1/lists/{list_id}/entries", tags=["operators"])
    def list_entries(
        list_id: str,
        _party: Annotated[Party, Depends(caller("operator"))],
        policy: Annotated[str, Query(max_length=64)] = "beijing",
        after: Annotated[
            str | None, Query(max_length=64, description="The last subject_id of the page before.")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        """Page through a list (blacklist, redlist, …) of the latest run of a policy, by subject id."""
        from socialcredit.registry.scoring.runs import latest_run

        with service.writer() as store:
            run = latest_run(store, policy)
            rows = store.rows(
                """SELECT e.subject_id, any_value(s.name) AS name, list(DISTINCT e.criterion_id ORDER BY e.criterion_id)
                          AS criteria
                   FROM run_list_entries e LEFT JOIN (
                       SELECT subject_id, name FROM subjects QUALIFY row_number() OVER (
                           PARTITION BY subject_id ORDER BY seq DESC) = 1) s USING (subject_id)
                   WHERE e.run_id = ? AND e.list_id = ? AND e.subject_id > ?
                   GROUP BY e.subject_id ORDER BY e.subject_id LIMIT ?""",
                [run["run_id"], list_id, after or "", limit],
            )
            total = store.one(
                "SELECT count(DISTINCT subject_id) FROM run_list_entries WHERE run_id = ? AND list_id = ?",
                [run["run_id"], list_id],
            )
        return {
            "run_id": run["run_id"],
            "policy": policy,
            "list_id": list_id,
            "total": total,
            "entries": rows,
            "next": f"/v1/lists/{list_id}/entries?policy={policy}&after={rows[-1]['subject_id']}&limit={limit}"
            if len(rows) == limit
            else None,
        }

    @app.post("/v1/keys", tags=["operators"], status_code=201)
    def issue(body: KeyRequest, party: Annotated[Party, Depends(caller("operator"))]) -> dict[str, Any]:
        """Register a party and issue its key (shown once; the store keeps only its hash)."""
        from socialcredit.registry.access.parties import issue_key

        with service.writer() as store:
            issued = issue_key(
                store,
                body.role,
                body.name,
                source=body.source,
                services=body.services,
                purposes=body.purposes,
                subject=body.subject,
                actor=f"key:{party.key_id}",
            )
            service.reload_keys(store)
        return {**issued.party.as_dict(), "token": issued.token}

    @app.get("/v1/keys", tags=["operators"])
    def keys(_party: Annotated[Party, Depends(caller("operator"))]) -> dict[str, Any]:
        """Every party and key (never the secrets)."""
        from socialcredit.registry.access.parties import list_keys

        with service.writer() as store:
            rows = list_keys(store)
        return {"keys": [{k: _plain(v) for k, v in r.items()} for r in rows], "roles": list(ROLES)}

    @app.delete("/v1/keys/{key_id}", tags=["operators"])
    def revoke(key_id: str, party: Annotated[Party, Depends(caller("operator"))]) -> dict[str, Any]:
        """Revoke a key: it is refused from the next request on."""
        from socialcredit.registry.access.parties import revoke_key

        with service.writer() as store:
            if store.one("SELECT count(*) FROM api_keys WHERE key_id = ?", [key_id]) == 0:
                raise ApiError(404, "not_found", f"no key {key_id!r}", "key_id")
            revoke_key(store, key_id, actor=f"key:{party.key_id}")
            service.reload_keys(store)
        return {"key_id": key_id, "revoked": True}

    # --- auditors ------------------------------------------------------------------------------------------------

    @app.get("/v1/audit/verify", tags=["auditors"])
    def audit_verify(party: Annotated[Party, Depends(caller("auditor"))]) -> dict[str, Any]:
        """Check the hash chain of the audit log: every altered, removed or reordered entry, with its place."""
        with service.writer() as store:
            problems = verify_audit(store)
        return {"ok": not problems, "problems": [{"seq": p.seq, "message": p.message} for p in problems]}

    @app.get("/v1/audit", tags=["auditors"])
    def audit_entries(
        _party: Annotated[Party, Depends(caller("auditor"))],
        after: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        """Page through the audit log: who, what, when, on whom, with the hash chain."""
        with service.writer() as store:
            rows = store.rows("SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?", [after, limit])
        for r in rows:
            r["detail"] = json.loads(r["detail"])
            r["at_time"] = _plain(r["at_time"])
        return {"entries": rows}

    app.include_router(due_process_router(service, caller))
    from socialcredit.web import web_router  # the pages: resident portal, operator dashboard, public look-up

    app.include_router(web_router(service, caller))
    return app


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


def _plain(v: Any) -> Any:
    return v.isoformat() if isinstance(v, dt.date) else v
