"""The policy lab over HTTP, for operators (docs/policy-lab.md): the impact of a candidate policy against a published
version, the disparity audit of a published version's latest run, and drift between two runs.

Impact scores two policies over every subject (two score runs on scratch relations, holding the store's writer), so
one runs at a time: a request while another is being computed is answered 429 ``impact_busy``, naming it.
"""

from enum import Enum
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Path, Query, Request

from socialcredit.api.bodies import JSONRoute, yaml_text
from socialcredit.api.deps import Day, Operator, ServiceDep, Today, actor
from socialcredit.api.lab_models import DisparityAudit, Drift, ImpactReport
from socialcredit.errors import (
    InvalidRequestError,
    TooManyRequestsError,
    WorkflowError,
)
from socialcredit.policy import parse_policy
from socialcredit.registry.reporting.disparity import latest_run_of
from socialcredit.registry.reporting.drift import run_drift
from socialcredit.registry.reporting.impact import impact
from socialcredit.registry.reporting.lab_panels import applied_audit
from socialcredit.registry.scoring.policies import get_policy
from socialcredit.registry.scoring.runs import check_as_of

__all__ = ["IMPACT_RETRY_AFTER", "MAX_CANDIDATE_BYTES", "router"]

MAX_CANDIDATE_BYTES = 1024 * 1024  # as a policy published over HTTP (POST /v1/policies)
IMPACT_RETRY_AFTER = 5  # seconds: an impact at `small` takes a few

router = APIRouter(route_class=JSONRoute)
_OPERATORS: list[str | Enum] = ["operators"]
PolicyId = Annotated[str, Path(min_length=1, max_length=64, description="A published policy id.")]
PolicyVersion = Annotated[str, Path(min_length=1, max_length=64, description="One of its published versions.")]
RunId = Annotated[int, Query(ge=1, le=2**63 - 1, description="A finished score run.")]


async def candidate_body(request: Request) -> str:
    """The request's body: the candidate policy's YAML text, at most :data:`MAX_CANDIDATE_BYTES` of UTF-8."""
    return await yaml_text(
        request,
        what="the candidate",
        limit=MAX_CANDIDATE_BYTES,
        too_large=f"the candidate is {{size}} bytes; a policy is at most {MAX_CANDIDATE_BYTES} bytes",
        empty="the body is empty: send the candidate policy's YAML text",
    )


_YAML_BODY = {"requestBody": {"required": True, "content": {"application/yaml": {"schema": {"type": "string"}}}}}


@router.post(
    "/v1/policies/{policy_id}/{version}/impact",
    tags=_OPERATORS,
    openapi_extra=_YAML_BODY,
    responses={429: {"description": "Another impact is being computed: one runs at a time (Retry-After)."}},
)
async def policy_impact(
    policy_id: PolicyId,
    version: PolicyVersion,
    party: Operator,
    service: ServiceDep,
    today: Today,
    text: Annotated[str, Depends(candidate_body)],
    as_of: Annotated[Day | None, Query(description="Score both as of this date (default: today).")] = None,
) -> ImpactReport:
    """Score a candidate policy (the YAML body) beside a published version on the same records as of a date,
    without publishing it or writing a run (``policy impact ID@VERSION CANDIDATE --format json``): who changes tier,
    list and service, by group, and the rules that drive it."""
    date = as_of or today
    try:
        check_as_of(date)
    except WorkflowError as exc:
        raise InvalidRequestError(f"as_of: {exc}", field="as_of") from None
    gate = service.impact_gate
    if not gate.acquire(blocking=False):
        raise TooManyRequestsError(
            "an impact report is being computed: one impact runs at a time (it scores every subject twice); "
            f"retry in {IMPACT_RETRY_AFTER} seconds",
            retry_after=IMPACT_RETRY_AFTER,
            limit="impact",
        )

    def run() -> dict[str, Any]:
        with service.writer() as store:
            current = get_policy(store, policy_id, version)
            candidate = parse_policy(text, "the request body", store.catalog)
            return impact(store, current, candidate, date, actor=actor(party))

    try:
        report = await anyio.to_thread.run_sync(run)
    finally:
        gate.release()
    return ImpactReport.model_validate(report)


@router.get("/v1/policies/{policy_id}/{version}/disparity", tags=_OPERATORS)
def policy_disparity(
    policy_id: PolicyId, version: PolicyVersion, _party: Operator, service: ServiceDep
) -> DisparityAudit:
    """The disparity audit of this version's latest finished run (``policy lint --db``'s SC901): every group's
    rate of listing, refusal per service and tier against the overall rate; the groups outside 0.8–1.25 flagged
    with the rules that account for the difference. A blacklist of the policy's run in force counts as the
    dashboard's figures by district do: not those in their notice period or ended since the run; the held counted
    and said apart (``unapplied`` says how many of each the run listed). Refusal rates per service count the lists
    as the run found them."""
    with service.writer() as store:
        get_policy(store, policy_id, version)  # 404 naming the version when it was never published
        run_id = latest_run_of(store, policy_id, version)
        return DisparityAudit.model_validate(applied_audit(store, run_id, service.held_listings))


@router.get("/v1/drift", tags=_OPERATORS)
def drift(run_a: RunId, run_b: RunId, _party: Operator, service: ServiceDep) -> Drift:
    """The population stability index of scores and of every rule's hit rate from run ``run_a`` to run ``run_b``
    of one policy (``policy drift RUN_A RUN_B --json``); ``alerts`` lists each PSI above the threshold."""
    with service.writer() as store:
        return Drift.model_validate(run_drift(store, run_a, run_b))
