"""HTTP endpoints of a dispute's evidence files, its withdrawal by the resident, and its human review.

A resident attaches a file to their open dispute by sending it as the body (``Content-Type`` of their choosing: the
type is read from the content); its declared length is checked before anything is read, and a body sent in chunks
is counted as it arrives: over 1 MiB is a 413 naming the limit, a file that is not a PDF, PNG or JPEG a 415 naming
the types taken. The resident, the furnisher of the record's source and operators download it. An operator escalates
a dispute to a human review and records the reviewer's decision with its reasons.
"""

# No ``from __future__ import annotations``: FastAPI reads the dependencies from the annotations.
from enum import Enum
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from socialcredit.api.bodies import JSONRoute
from socialcredit.api.deps import Anyone, Operator, RefusalsLang, Resident, ServiceDep, Today, actor, naming
from socialcredit.api.models import Dispute
from socialcredit.api.routes.due_process import acting_dispute, visible_dispute
from socialcredit.registry.due_process.disputes import decide_review, escalate_dispute, withdraw_dispute
from socialcredit.registry.due_process.evidence import (
    MAX_FILE_BYTES,
    add_evidence,
    check_size,
    content_disposition,
    evidence_file,
    too_large,
)

__all__ = ["router"]

router = APIRouter(route_class=JSONRoute)
_DUE_PROCESS: list[str | Enum] = ["due process"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WithdrawIn(_Body):
    reason: str | None = Field(default=None, max_length=4000)


class EscalateIn(_Body):
    reason: str = Field(min_length=1, max_length=4000)


class ReviewIn(_Body):
    decision: Literal["upheld", "corrected", "withdrawn"]
    reasons: str = Field(min_length=1, max_length=4000)


class EvidenceFile(BaseModel):
    """A file attached to a dispute (its content is downloaded from ``/v1/disputes/{id}/evidence/{evidence_id}``)."""

    evidence_id: int
    dispute_id: int
    file_name: str
    media_type: str
    size: int
    sha256: str
    added_on: str
    # who attached it for the organisation the dispute is about (its legal representative); None otherwise
    representative_id: str | None = None


async def _read_file(request: Request) -> bytes:
    """The body, at most :data:`MAX_FILE_BYTES`: refused by its declared length unread, or as it arrives."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit():
        check_size(int(declared))
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_FILE_BYTES:
            raise too_large()
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/v1/disputes/{dispute_id}/evidence", tags=_DUE_PROCESS, status_code=201)
async def add_file(
    dispute_id: int,
    request: Request,
    party: Resident,
    service: ServiceDep,
    today: Today,
    lang: RefusalsLang,
    name: Annotated[str | None, Query(max_length=200)] = None,
) -> EvidenceFile:
    """The resident attaches a file (the body: a PDF, PNG or JPEG of at most 1 MiB; three a dispute at most) to
    their open dispute, or the current legal representative to their organisation's (kept as
    ``representative_id``); ``name`` is the file's name to show. The refusals are in ``lang`` where the registry
    has their words."""
    content = await _read_file(request)
    path = f"/v1/disputes/{dispute_id}/evidence"

    def work() -> dict[str, Any]:
        with naming(service, "dispute_id") as store:
            _, rep = acting_dispute(service, store, party, dispute_id, path, today)
            return add_evidence(store, dispute_id, content, name, actor(party), today=today, representative_id=rep)

    return EvidenceFile.model_validate(await anyio.to_thread.run_sync(work))


@router.get(
    "/v1/disputes/{dispute_id}/evidence/{evidence_id}",
    tags=_DUE_PROCESS,
    response_class=Response,
    responses={
        200: {
            "content": {
                media: {"schema": {"type": "string", "format": "binary"}}
                for media in ("application/pdf", "image/png", "image/jpeg")
            }
        }
    },
)
def get_file(dispute_id: int, evidence_id: int, party: Anyone, service: ServiceDep, today: Today) -> Response:
    """One evidence file, to the dispute's resident (or the current legal representative of the organisation it is
    about), its source's furnisher or an operator (audited)."""
    with naming(service, "dispute_id") as store:
        path = f"/v1/disputes/{dispute_id}/evidence/{evidence_id}"
        visible_dispute(service, store, party, dispute_id, path, for_org=today)
        purpose = f"{party.role} dispute evidence"
        meta, content = evidence_file(store, dispute_id, evidence_id, actor(party), purpose=purpose)
    return Response(
        content,
        media_type=meta["media_type"],
        headers={
            "Content-Disposition": content_disposition(meta["file_name"]),
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/v1/disputes/{dispute_id}/withdraw", tags=_DUE_PROCESS)
def withdraw(
    dispute_id: int,
    party: Resident,
    service: ServiceDep,
    today: Today,
    lang: RefusalsLang,
    body: WithdrawIn | None = None,
) -> Dispute:
    """The resident withdraws their open dispute (status ``retracted``), or the current legal representative their
    organisation's (kept as ``retracted_by_representative``): the record stays as it is, and it counts again as
    when a dispute is answered. Anyone else's dispute is not found (404)."""
    assert party.subject_id is not None
    with naming(service, "dispute_id") as store:
        done = withdraw_dispute(
            store, dispute_id, party.subject_id, actor(party), reason=body.reason if body else None, today=today
        )
    service.changed()
    return Dispute.model_validate(done)


@router.post("/v1/disputes/{dispute_id}/escalate", tags=_DUE_PROCESS)
def escalate(
    dispute_id: int, body: EscalateIn, party: Operator, service: ServiceDep, today: Today, lang: RefusalsLang
) -> Dispute:
    """An operator sends a dispute (open, or verified by the source) to a human review; the source no longer
    answers it."""
    with naming(service, "dispute_id") as store:
        done = escalate_dispute(store, dispute_id, body.reason, actor(party), today=today)
    return Dispute.model_validate(done)


@router.post("/v1/disputes/{dispute_id}/review", tags=_DUE_PROCESS)
def review(
    dispute_id: int, body: ReviewIn, party: Operator, service: ServiceDep, today: Today, lang: RefusalsLang
) -> Dispute:
    """The reviewer's decision on an escalated dispute — ``upheld``, ``corrected`` or ``withdrawn`` — with written
    reasons: audited, told to the resident and shown on the dispute."""
    with naming(service, "dispute_id") as store:
        done = decide_review(store, dispute_id, body.decision, body.reasons, actor(party), today=today)
    service.changed()
    return Dispute.model_validate(done)
