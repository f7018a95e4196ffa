"""Operators register parties and issue their keys (shown once), list them, and revoke them."""

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from socialcredit.api.bodies import JSONRoute
from socialcredit.api.deps import Lang, Operator, Segment, ServiceDep, actor
from socialcredit.api.models import IssuedKey, Keys, Revoked
from socialcredit.errors import InvalidRequestError
from socialcredit.registry.access.parties import ROLES, issue_key, list_keys, require_key, revoke_key

__all__ = ["KeyRequest", "router"]

SubjectId = Annotated[str, Field(min_length=1, max_length=64)]
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]

router = APIRouter(tags=["operators"], route_class=JSONRoute)


class KeyRequest(BaseModel):
    """A party to register: named as the answer (and ``GET /v1/keys``) names it, ``source_id``, ``subject_id`` and
    ``policy_id``; ``source``, ``subject`` and ``policy``, their only names until 2026-12-06, are still taken (not
    both names of one field at once)."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["furnisher", "relying_party", "resident", "operator", "auditor"]
    name: str = Field(min_length=1, max_length=200)
    source_id: Id | None = Field(None, description="A furnisher: the source it sends records of.")
    services: list[Id] | None = Field(None, max_length=50)
    purposes: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(None, max_length=50)
    subject_id: SubjectId | None = Field(None, description="A resident: the resident the key is for.")
    policy_id: Id | None = Field(None, description="A relying party: the policy it relies on (binds its decisions).")
    agency: Id | None = Field(
        None, description="A relying party: the agency of a joint-punishment memorandum it acts for."
    )
    source: Id | None = Field(None, deprecated=True, description="source_id under its first name.")
    subject: SubjectId | None = Field(None, deprecated=True, description="subject_id under its first name.")
    policy: Id | None = Field(None, deprecated=True, description="policy_id under its first name.")

    def named(self, new: str, old: str) -> str | None:
        """The value of field ``new`` given under its name or under ``old``, its former name; a null is no value. Both
        names given: 422 naming them (code ``both_names``)."""
        # (read from the fields' values: a deprecated field read as an attribute warns)
        value: str | None = self.__dict__[new]
        former: str | None = self.__dict__[old]
        if value is not None and former is not None:
            raise InvalidRequestError(
                f"give {new} or {old} (its former name), not both",
                code="both_names",
                field=new,
                zh=f"{new} 与 {old}（其旧名）只能给出一个，不能同时给出",
            )
        return value if value is not None else former


@router.post("/v1/keys", status_code=201)
def issue(body: KeyRequest, party: Operator, service: ServiceDep, lang: Lang) -> IssuedKey:
    """Register a party and issue its key (shown once; the store keeps only its hash); refusals in ``lang``."""
    with service.writer() as store:
        issued = issue_key(
            store,
            body.role,
            body.name,
            source=body.named("source_id", "source"),
            services=body.services,
            purposes=body.purposes,
            subject=body.named("subject_id", "subject"),
            policy=body.named("policy_id", "policy"),
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
