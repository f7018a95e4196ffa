"""A resident's own file and own decisions (operators may read any): what the registry holds and concludes."""

from typing import Annotated

from fastapi import APIRouter, Query

from socialcredit.api.bodies import JSONRoute
from socialcredit.api.deps import Lang, ResidentOrOperator, Segment, ServiceDep, SubjectPath, actor, deny
from socialcredit.api.models import OwnDecision, ScoreHistory, SubjectReport
from socialcredit.errors import ForbiddenError
from socialcredit.registry.access.parties import Party
from socialcredit.registry.decisions.decide import decide
from socialcredit.registry.reporting.history import score_history
from socialcredit.registry.reporting.report import subject_report
from socialcredit.registry.service import Service

__all__ = ["own_file_only", "router"]

router = APIRouter(tags=["residents"], route_class=JSONRoute)


def own_file_only(service: Service, party: Party, subject_id: str, path: str) -> None:
    """A resident key opens only its own file (refused 403 ``not_your_file``, audited); an operator's opens any."""
    if party.role == "resident" and subject_id != party.subject_id:
        refusal = ForbiddenError(
            "a resident key opens only its own file", code="not_your_file", zh="居民密钥只能打开本人的档案"
        )
        deny(service, party, refusal, path)


@router.get("/v1/subjects/{subject_id}/report")
def report(
    subject_id: SubjectPath,
    party: ResidentOrOperator,
    service: ServiceDep,
    lang: Lang,
) -> SubjectReport:
    """A resident's file: score, tier, rank, percentile, dimensions, reasons, records, inquiries (reasons in
    ``lang``). Each record names its source ``source_id``, as a dispute, a repair and a fulfilment do; ``source``
    beside it is a deprecated alias (its only name until 2026-12-06)."""
    own_file_only(service, party, subject_id, f"/v1/subjects/{subject_id}")
    service.flush_inquiries()  # the file shows every inquiry answered so far
    with service.writer() as store:
        found = subject_report(
            store,
            subject_id,
            actor=actor(party),
            purpose=f"{party.role} report",
            lang=lang,
            live=service.live_views(subject_id),
        )
    return SubjectReport.model_validate(found)


@router.get("/v1/subjects/{subject_id}/history")
def history(
    subject_id: SubjectPath,
    party: ResidentOrOperator,
    service: ServiceDep,
    lang: Lang,
) -> ScoreHistory:
    """The score history: every run of every policy that scored the subject, newest first, with what changed from
    the run before (rules whose points moved, lists entered and left), and where it stands live since the latest."""
    own_file_only(service, party, subject_id, f"/v1/subjects/{subject_id}/history")
    with service.writer() as store:
        found = score_history(
            store,
            subject_id,
            lang=lang,
            live=service.live_views(subject_id),
            actor=actor(party),
            purpose=f"{party.role} history",
        )
    return ScoreHistory.model_validate(found)


@router.get("/v1/subjects/{subject_id}/services/{service_id}")
def what_would_change(
    subject_id: SubjectPath,
    service_id: Segment,
    party: ResidentOrOperator,
    service: ServiceDep,
    lang: Lang,
    policy: Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")] = None,
) -> OwnDecision:
    """The decision on a service for one's own file, with the reasons and the concrete actions that would change
    a refusal (which name one's own records: a relying party never gets them). It tells what a relying party asking
    now is answered (POST /v1/decisions): decided on the service's snapshot as patched live, with its watermark."""
    own_file_only(service, party, subject_id, f"/v1/subjects/{subject_id}")
    served = service.served(subject_id, service_id, policy)
    with service.writer() as store:
        decision = decide(
            store,
            subject_id,
            service_id,
            # the resident's own look-up, or an operator's of the resident's file (registry/words.py says both)
            "resident asks about their file" if party.role == "resident" else "operator decision",
            requester=actor(party),
            lang=lang,
            policy_id=policy,
            served=served,
        )
    return OwnDecision.model_validate(decision.as_dict())
