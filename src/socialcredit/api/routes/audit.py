"""Auditors read the audit log and verify its hash chain."""

from typing import Annotated

from fastapi import APIRouter, Query

from socialcredit.api.bodies import JSONRoute
from socialcredit.api.deps import Auditor, Lang, ServiceDep, actor
from socialcredit.api.models import AuditEntries, AuditVerification
from socialcredit.registry.access.audit import audit_page
from socialcredit.registry.access.checkpoints import verify_audit_log

__all__ = ["router"]

router = APIRouter(tags=["auditors"], route_class=JSONRoute)


@router.get("/v1/audit/verify")
def audit_verify(_party: Auditor, service: ServiceDep, lang: Lang) -> AuditVerification:
    """Check the hash chain of the audit log: every altered, removed or reordered entry, with its place; then the
    chain against the store's signed checkpoints: a cut end, a rewritten chain, renumbered entries. Each problem is
    said in ``lang``, as `socialcredit audit verify --lang` says it."""
    with service.writer() as store:
        problems = verify_audit_log(store).problems
    return AuditVerification.model_validate(
        {"ok": not problems, "problems": [{"seq": p.seq, "message": p.said_in(lang)} for p in problems]}
    )


@router.get("/v1/audit")
def audit_entries(
    party: Auditor,
    service: ServiceDep,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditEntries:
    """Page through the audit log: who, what, when, on whom, with the hash chain. Each read is audited
    (``read_audit``), after the page is read: the next page holds it."""
    with service.writer() as store:
        rows = audit_page(store, after=after, limit=limit, actor=actor(party))
    return AuditEntries.model_validate({"entries": rows})
