"""An organisation's own file (docs/organisations.md): look-up by credit code or name, the file as JSON and as a
printable page, and its legal representative disputing its records and applying for their repair."""

from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from socialcredit.api.bodies import JSONRoute
from socialcredit.api.deps import Lang, Resident, ResidentOrOperator, ServiceDep, Today, actor, deny, naming
from socialcredit.api.models import Dispute, OrgFile, OrgSearch, Repair
from socialcredit.errors import ForbiddenError
from socialcredit.identifiers import compact_subject_id
from socialcredit.registry.access.parties import Party
from socialcredit.registry.due_process.disputes import file_dispute
from socialcredit.registry.due_process.repair import apply_for_repair
from socialcredit.registry.reporting.org_file import (
    find_orgs,
    org_file,
    render_org_html,
    represented_orgs,
    require_representative,
)
from socialcredit.registry.service import Service
from socialcredit.store import Store

__all__ = ["router"]

router = APIRouter(route_class=JSONRoute)
_TAGS: list[str | Enum] = ["organisations"]
# compacted as in a subjects file (spaces, full-width forms, lower case): the organisation as registered
OrgId = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(compact_subject_id)]


class OrgDisputeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source_id: str = Field(min_length=1, max_length=64)
    record_id: str = Field(min_length=1, max_length=128)
    reason: str = Field(min_length=1, max_length=4000)
    evidence: str | None = Field(default=None, max_length=4000)


class OrgRepairIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source_id: str = Field(min_length=1, max_length=64)
    record_id: str = Field(min_length=1, max_length=128)
    statement: str = Field(min_length=1, max_length=4000)
    policy_id: str | None = Field(default=None, max_length=64)
    commitment: str | None = Field(default=None, max_length=4000)
    evidence: str | None = Field(default=None, max_length=4000)


def _acting_for(service: Service, store: Store, party: Party, org_id: str, path: str, today: Any) -> None:
    """A resident acts for ``org_id`` only as its current legal representative (403 not_representative, audited)."""
    if party.role == "operator":
        return
    try:
        require_representative(store, party.subject_id, org_id, today)
    except ForbiddenError as refusal:
        deny(service, party, refusal, path)


@router.get("/v1/orgs", tags=_TAGS)
def search(
    party: ResidentOrOperator,
    service: ServiceDep,
    today: Today,
    q: Annotated[str, Query(min_length=1, max_length=200, description="A credit code, or a part of a name.")],
    page: Annotated[int, Query(ge=1, le=500)] = 1,
) -> OrgSearch:
    """Organisations by unified social credit code or by name, a page of 20 by name: every one for an operator, the
    ones they represent for a resident. Audited."""
    with naming(service, "q") as store:
        only = None if party.role == "operator" else represented_orgs(store, str(party.subject_id), today)
        return OrgSearch.model_validate(find_orgs(store, q, page=page, actor=actor(party), only=only))


@router.get("/v1/orgs/{org_id}/file", tags=_TAGS)
def file(org_id: OrgId, party: ResidentOrOperator, service: ServiceDep, today: Today, lang: Lang) -> OrgFile:
    """The organisation's file, for an operator or its legal representative (related persons masked for the
    representative); every look-up is audited and shown on the file. Each record names its source ``source_id``,
    as a dispute and a repair do; ``source`` beside it is a deprecated alias (its only name until 2026-12-06)."""
    with naming(service, "org_id") as store:
        _acting_for(service, store, party, org_id, f"/v1/orgs/{org_id}/file", today)
        operator = party.role == "operator"
        out = org_file(
            store, org_id, actor=actor(party), as_operator=operator, lang=lang, today=today, held=service.mark_held
        )
    return OrgFile.model_validate(out)


@router.get(
    "/v1/orgs/{org_id}/file.html",
    tags=_TAGS,
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}},
)
def file_html(org_id: OrgId, party: ResidentOrOperator, service: ServiceDep, today: Today, lang: Lang) -> str:
    """The organisation's file as a printable page."""
    with naming(service, "org_id") as store:
        _acting_for(service, store, party, org_id, f"/v1/orgs/{org_id}/file.html", today)
        operator = party.role == "operator"
        out = org_file(
            store, org_id, actor=actor(party), as_operator=operator, lang=lang, today=today, held=service.mark_held
        )
    return render_org_html(out, lang)


@router.post("/v1/orgs/{org_id}/disputes", tags=_TAGS, status_code=201)
def dispute(
    org_id: OrgId, body: OrgDisputeIn, party: Resident, service: ServiceDep, today: Today, lang: Lang
) -> Dispute:
    """The organisation's legal representative disputes one of its records (as a resident disputes their own, the
    notice and the registry's refusals in ``lang``)."""
    with naming(service, "record_id") as store:
        _acting_for(service, store, party, org_id, f"/v1/orgs/{org_id}/disputes", today)
        filed = file_dispute(
            store,
            org_id,
            body.source_id,
            body.record_id,
            body.reason,
            body.evidence,
            actor(party),
            today=today,
            representative_id=party.subject_id,
            lang=lang,
        )
    return Dispute.model_validate(filed)


@router.post("/v1/orgs/{org_id}/repairs", tags=_TAGS, status_code=201)
def repair(org_id: OrgId, body: OrgRepairIn, party: Resident, service: ServiceDep, today: Today, lang: Lang) -> Repair:
    """The organisation's legal representative applies for the repair of one of its records (the registry's refusals
    in ``lang``, as a dispute's)."""
    with naming(service, "record_id") as store:
        _acting_for(service, store, party, org_id, f"/v1/orgs/{org_id}/repairs", today)
        applied = apply_for_repair(
            store,
            org_id,
            body.source_id,
            body.record_id,
            body.statement,
            actor(party),
            policy_id=body.policy_id,
            today=today,
            commitment=body.commitment,
            evidence=body.evidence,
            representative_id=party.subject_id,
        )
    return Repair.model_validate(applied)
