"""Operators page through the lists (blacklist, redlist, …) of the latest run of a policy."""

from typing import Annotated

from fastapi import APIRouter, Query

from socialcredit.api.bodies import JSONRoute
from socialcredit.api.deps import Operator, Segment, ServiceDep, actor
from socialcredit.api.models import ListPage
from socialcredit.registry.reporting.report import list_entries as entries_page

__all__ = ["router"]

router = APIRouter(tags=["operators"], route_class=JSONRoute)


@router.get("/v1/lists/{list_id}/entries")
def list_entries(
    list_id: Segment,
    party: Operator,
    service: ServiceDep,
    policy: Annotated[str, Query(max_length=64)] = "beijing",
    after: Annotated[str | None, Query(max_length=64, description="The last subject_id of the page before.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ListPage:
    """Page through a list (blacklist, redlist, …) of the latest run of a policy, by subject id (audited). A
    blacklist's entry says where its listing stands: ``effective`` (decisions count it), ``notice`` (in its grace
    period until ``effective_on``: decisions and the public look-up do not count it yet), ``held`` (in effect in the
    register, but decisions no longer apply it: its record withdrawn, corrected or disputed since the run; the next
    run closes it) or ``ended`` since the run."""
    with service.writer() as store:
        held = service.held_listings  # as decisions now stand on each subject
        page = entries_page(store, policy, list_id, after=after or "", limit=limit, actor=actor(party), held=held)
    entries = page["entries"]
    return ListPage.model_validate(
        {
            "run_id": page["run_id"],
            "policy": policy,
            "list_id": list_id,
            "total": page["total"],
            "entries": entries,
            "next": f"/v1/lists/{list_id}/entries?policy={policy}&after={entries[-1]['subject_id']}&limit={limit}"
            if len(entries) == limit
            else None,
        }
    )
