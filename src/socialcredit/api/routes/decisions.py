"""Relying parties ask decisions: one with its reasons, or up to 10 000 at once; each is logged as an inquiry."""

from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from socialcredit.api.deps import RelyingParty, ServiceDep, actor, refuse
from socialcredit.api.models import BatchDecisions, Decision
from socialcredit.errors import ForbiddenError
from socialcredit.registry.access.parties import Party
from socialcredit.registry.service import Service

__all__ = ["MAX_BATCH", "BatchDecisionRequest", "DecisionRequest", "router"]

MAX_BATCH = 10_000
SubjectId = Annotated[str, Field(min_length=1, max_length=64)]

router = APIRouter(tags=["relying parties"])


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


async def _in_scope(service: Service, party: Party, service_id: str, purpose: str) -> None:
    """A relying party asks only for the services registered with its key, and only for its declared purposes."""
    if service_id not in party.services:
        message = f"this key may ask decisions for {', '.join(party.services)}, not {service_id}"
        await refuse(service, party, ForbiddenError(message, code="service_not_registered"), "/v1/decisions")
    if purpose not in party.purposes:
        message = f"purpose {purpose!r} was not declared for this key (declared: {', '.join(party.purposes)})"
        await refuse(service, party, ForbiddenError(message, code="purpose_not_declared"), "/v1/decisions")


@router.post("/v1/decisions")
async def decide_one(body: DecisionRequest, party: RelyingParty, service: ServiceDep) -> Decision:
    """A decision with at most four ranked reasons and what would change it; logged as an inquiry.

    Answered from the latest run held in memory; the inquiry is journalled before the answer is sent.
    """
    await _in_scope(service, party, body.service, body.purpose)
    snap = service.snapshot(body.service)
    decision = snap.decision(body.subject_id, body.service, body.purpose, requester=actor(party), lang=body.lang)
    service.decisions["granted" if decision.granted else "refused"] += 1
    service.decided([body.subject_id], body.service, actor(party))
    out = decision.as_dict()
    # A relying party sees the decision, tier and reasons; never the score, nor the actions (they name the
    # subject's records): the subject sees those at GET /v1/subjects/{id}/services/{service}.
    for private in ("score", "inquiry_id", "actions"):
        out.pop(private, None)
    return Decision.model_validate(out)


@router.post("/v1/decisions/batch", response_model=BatchDecisions)
async def decide_batch(body: BatchDecisionRequest, party: RelyingParty, service: ServiceDep) -> JSONResponse:
    """Up to 10 000 decisions in one request, from the latest run held in memory; each logged as an inquiry.

    Only granted or refused and the tier; ask one at a time for the reasons of a refusal. An identity number
    the run did not score gets ``granted: null`` and an error, and is not logged.
    """
    await _in_scope(service, party, body.service, body.purpose)
    snap = service.snapshot(body.service)
    found = snap.rows_of(body.subject_ids)
    rows = found[found >= 0]
    known = [s for s, r in zip(body.subject_ids, found.tolist(), strict=True) if r >= 0]
    granted = await anyio.to_thread.run_sync(
        lambda: snap.decide_rows(rows, known, body.service, body.purpose, requester=actor(party))
    )
    service.decided(known, body.service, actor(party))
    n_granted = int(granted.sum())
    service.decisions["granted"] += n_granted
    service.decisions["refused"] += len(known) - n_granted
    tiers = snap.tier_names[snap.tier_ranks[rows] - 1] if len(rows) else []
    answers: dict[str, dict[str, Any]] = {
        s: {"subject_id": s, "granted": bool(g), "tier": str(t)}
        for s, g, t in zip(known, granted.tolist(), list(tiers), strict=True)
    }
    # The resident's freeze and fraud alert (docs/freeze.md): said only where they apply.
    frozen, verify = snap.guard_flags(known, body.service, actor(party))
    for s, f, v in zip(known, frozen, verify, strict=True):
        if f:
            answers[s]["frozen"] = True
        if v:
            answers[s]["verify_identity"] = True
    unknown = {
        "code": "unknown_subject",
        "message": f"not scored in run {snap.run_id} (unknown identity number, or registered after the run)",
    }
    # Up to 10 000 answers built here in the model's shape: written out directly, since validating them again
    # against BatchDecisions (which documents them) would cost several times the decisions themselves.
    return JSONResponse(
        {
            "run_id": snap.run_id,
            "watermark": snap.watermark,
            "service": body.service,
            "decisions": [
                answers.get(s) or {"subject_id": s, "granted": None, "tier": None, "error": unknown}
                for s in body.subject_ids
            ],
        }
    )
