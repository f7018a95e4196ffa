"""Operators register parties and issue their keys (shown once), list them, and revoke them."""

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from socialcredit.api.bodies import JSONRoute
from socialcredit.api.deps import Operator, Segment, ServiceDep, actor
from socialcredit.api.models import IssuedKey, Keys, Revoked
from socialcredit.registry.access.parties import ROLES, issue_key, list_keys, require_key, revoke_key

__all__ = ["KeyRequest", "router"]

SubjectId = Annotated[str, Field(min_length=1, max_length=64)]
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]

router = APIRouter(tags=["operators"], route_class=JSONRoute)


class KeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["furnisher", "relying_party", "resident", "operator", "auditor"]
    name: str = Field(min_length=1, max_length=200)
    source: Id | None = None
    services: list[Id] | None = Field(None, max_length=50)
    purposes: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(None, max_length=50)
    subject: SubjectId | None = None
    policy: Id | None = Field(None, description="A relying party: the policy it relies on (binds its decisions).")
    agency: Id | None = Field(
        None, description="A relying party: the agency of a joint-punishment memorandum it acts for."
    )


@router.post("/v1/keys", status_code=201)
def issue(body: KeyRequest, party: Operator, service: ServiceDep) -> IssuedKey:
    """Register a party and issue its key (shown once; the store keeps only its hash)."""
    with service.writer() as store:
        issued = issue_key(
            store,
            body.role,
            body.name,
            source=body.source,
            services=body.services,
            purposes=body.purposes,
            subject=body.subject,
            policy=body.policy,
            actor=actor(party),
            agency=body.agency,
        )
        service.reload_keys(store)
    return IssuedKey.model_validate({**issued.party.as_dict(), "key": issued.token, "token": issued.token})


@router.get("/v1/keys")
def keys(party: Operator, service: ServiceDep) -> Keys:
    """Every party and key (never the secrets). A resident's key names the resident: audited (``read_keys``)."""
    with service.writer() as store:
        rows = list_keys(store, actor=actor(party))
    plain = [{k: v.isoformat() if isinstance(v, dt.date) else v for k, v in r.items()} for r in rows]
    return Keys.model_validate({"keys": plain, "roles": list(ROLES)})


@router.delete("/v1/keys/{key_id}")
def revoke(key_id: Segment, party: Operator, service: ServiceDep) -> Revoked:
    """Revoke a key: it is refused from the next request on."""
    with service.writer() as store:
        require_key(store, key_id)
        revoke_key(store, key_id, actor=actor(party))
        service.reload_keys(store)
    return Revoked(key_id=key_id, revoked=True)
