"""Operators start and follow score runs, list runs, and publish and list policy versions (whose texts are public)."""

import datetime as dt
from enum import Enum
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from socialcredit.api.bodies import JSONRoute, yaml_text
from socialcredit.api.deps import Day, Operator, Public, Segment, ServiceDep, Today, actor
from socialcredit.api.models import Job, PolicyPublished, PublishedPolicies, Runs, StartedJob
from socialcredit.errors import (
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PolicyError,
    PolicyNoticeError,
    WorkflowError,
)
from socialcredit.policy import BUILTIN_POLICIES, parse_policy
from socialcredit.registry.scoring.policies import (
    newest_version,
    policy_by_ref,
    publish_policy,
    published_policy_ids,
    published_text,
    published_versions,
    text_published,
)
from socialcredit.registry.scoring.runs import check_as_of
from socialcredit.registry.scoring.runs import list_runs as stored_runs

__all__ = ["JobRequest", "router"]

MAX_POLICY_BYTES = 1024 * 1024
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
# A policy as the command line names it: ID, or ID@VERSION (a version is at most 64 characters, no '@')
PolicyRef = Annotated[str, Field(min_length=1, max_length=129, pattern=r"^[A-Za-z0-9_.:-]{1,64}(@[^@]{1,64})?$")]

router = APIRouter(route_class=JSONRoute)
_PUBLIC: list[str | Enum] = ["public"]
_OPERATORS: list[str | Enum] = ["operators"]  # per route: the public ones are tagged "public" alone


class JobRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    policy: PolicyRef = Field(
        description="A shipped or published policy id (its version in force), or ID@VERSION (that published version, "
        "as `socialcredit score --policy ID@VERSION`)."
    )
    as_of: Day | None = Field(None, description="The date the run scores as of (default: today).")
    incremental: bool = Field(False, description="Rescore only subjects whose inputs changed since the last run.")
    from_records: bool = Field(
        False, description="Read the records, not the policy's scoring state (the same results; for checking)."
    )


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """Dates and times as ISO text."""
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in row.items()}


@router.post("/v1/jobs", tags=_OPERATORS, status_code=202)
def start_job(body: JobRequest, party: Operator, service: ServiceDep, today: Today) -> StartedJob:
    """Start a score run; follow it at ``GET /v1/jobs/{job_id}``. Decisions use the new run when it ends, if it is
    ordinary (not a what-if dated after today, nor dated before the run in force: docs/due-process.md)."""
    policy_id, at, _version = body.policy.partition("@")
    with service.writer() as store:
        published = published_policy_ids(store)
        if policy_id not in set(BUILTIN_POLICIES) | published:
            raise NotFoundError(f"no shipped or published policy {policy_id!r}", code="unknown_policy", field="policy")
        if at:
            try:  # a version never published is refused now, naming it, not by the job once started
                policy_by_ref(store, body.policy, actor(party))
            except NotFoundError as exc:
                raise NotFoundError(str(exc), code="unknown_policy", field="policy") from None
    as_of = body.as_of or today
    try:
        check_as_of(as_of)
    except WorkflowError as exc:
        raise InvalidRequestError(f"as_of: {exc}", field="as_of") from None
    job = service.start_job(body.policy, as_of, body.incremental, actor(party), from_records=body.from_records)
    return StartedJob.model_validate({**job.as_dict(), "follow": f"/v1/jobs/{job.job_id}"})


@router.get("/v1/jobs/{job_id}", tags=_OPERATORS)
def follow_job(job_id: int, _party: Operator, service: ServiceDep) -> Job:
    """A score run started over HTTP: queued, running (with its stage), finished (with its run) or failed."""
    job = service.jobs.get(job_id)
    if job is None:
        raise NotFoundError(f"no job {job_id}", field="job_id")
    return Job.model_validate(job.as_dict())


@router.get("/v1/runs", tags=_OPERATORS)
def list_runs(_party: Operator, service: ServiceDep) -> Runs:
    """Every score run: policy version, as-of date, watermark, engine, times, subjects."""
    with service.writer() as store:
        rows = stored_runs(store)
    return Runs.model_validate({"runs": [_plain(r) for r in rows]})


@router.get("/v1/policies", tags=_OPERATORS)
def list_policies(_party: Operator, service: ServiceDep) -> PublishedPolicies:
    """Every published policy version (the texts are public: GET /v1/policies/{id}/{version})."""
    with service.writer() as store:
        rows = published_versions(store)
    newest = {str(r["policy_id"]): str(r["version"]) for r in rows}  # each policy's last is its newest
    listed = [{**_plain(r), "in_force": newest[str(r["policy_id"])] == str(r["version"])} for r in rows]
    return PublishedPolicies.model_validate({"policies": listed})


@router.get("/v1/policies/{policy_id}/{version}", tags=_PUBLIC, response_class=PlainTextResponse, dependencies=[Public])
def policy_text(policy_id: Segment, version: Segment, service: ServiceDep) -> str:
    """The published text of a policy version: every rule is public."""
    with service.writer() as store:
        return published_text(store, policy_id, version)


async def _policy_body(request: Request) -> str:
    """The request's body: a policy's YAML text, at most 1 MiB of UTF-8 (api/bodies.yaml_text)."""
    return await yaml_text(
        request,
        what="the policy",
        limit=MAX_POLICY_BYTES,
        too_large=f"the policy is {{size}} bytes; a policy is at most {MAX_POLICY_BYTES} bytes",
        empty="the body is empty: send the policy's YAML text",
    )


_PUBLISHED_AGAIN = {"description": "The same version with the same text was published already."}
_INVALID_POLICY = {
    "description": "The policy is invalid: every problem, with its line and column (`problems`: one text each, "
    "'FILE:LINE:COLUMN: …'; `located`: each with its `line` and `column` as numbers).",
    "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
}


def _invalid_policy(exc: PolicyError) -> JSONResponse:
    """422: every problem of the policy, each located."""
    return JSONResponse(
        {
            "error": {"code": "invalid_policy", "message": str(exc).splitlines()[0]},
            "problems": exc.problems,
            "located": exc.located(),
        },
        status_code=422,
    )


@router.post(
    "/v1/policies",
    tags=_OPERATORS,
    status_code=201,
    responses={200: {"model": PolicyPublished, **_PUBLISHED_AGAIN}, 422: _INVALID_POLICY},
    response_model=PolicyPublished,
    openapi_extra={"requestBody": {"required": True, "content": {"application/yaml": {"schema": {"type": "string"}}}}},
)
async def publish(party: Operator, service: ServiceDep, text: Annotated[str, Depends(_policy_body)]) -> JSONResponse:
    """Publish a policy version (YAML), validated against the store's catalog. The same id and version with other
    content is refused."""
    with service.writer() as store:  # the latest published catalog: a record type or category it adds is known
        catalog, known = store.catalog, text_published(store, text)
    try:  # parsed outside the writer (about 90 ms for beijing): batches and live passes do not wait for it
        loaded = parse_policy(text, "request body", catalog, published=known)
    except PolicyError as exc:
        return _invalid_policy(exc)

    def write() -> tuple[bool, str | None]:
        with service.writer() as store:
            return publish_policy(store, loaded, actor=actor(party)), newest_version(store, loaded.policy.id)

    try:
        new, in_force = await anyio.to_thread.run_sync(write)
    except PolicyNoticeError as exc:  # invalid where it is published (its consent's notice), not a version's clash
        return _invalid_policy(exc)
    except PolicyError as exc:
        raise ConflictError(str(exc), code="version_exists", field="version") from None
    p = loaded.policy
    return JSONResponse(
        {"policy_id": p.id, "version": p.version, "sha256": loaded.sha256, "published": new, "in_force": in_force},
        status_code=201 if new else 200,
    )
