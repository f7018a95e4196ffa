"""The resident's own controls over the API: the security freeze and the fraud alert (docs/freeze.md).

A signed-in resident acts on their own file at ``/v1/freeze`` and ``/v1/fraud-alert``; an operator on any file at
``/v1/subjects/{subject_id}/freeze`` and ``/v1/subjects/{subject_id}/fraud-alert``. Every change is audited, takes
effect at the next decision, and is listed in the resident's history.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from socialcredit.api.bodies import JSONRoute
from socialcredit.api.deps import (
    Day,
    Operator,
    RefusalsLang,
    Resident,
    ServiceDep,
    SubjectPath,
    Today,
    actor,
    naming,
)
from socialcredit.api.models import FreezeStatus
from socialcredit.registry.access.parties import Party
from socialcredit.registry.due_process.freeze import (
    freeze_status,
    lift_freeze,
    lift_party,
    place_fraud_alert,
    place_freeze,
    remove_fraud_alert,
)

__all__ = ["FraudAlertIn", "LiftIn", "router"]

router = APIRouter(tags=["resident's controls"], route_class=JSONRoute)


class LiftIn(BaseModel):
    """No party and no date: lift for good. A party (its key id): for that party only. A date: until that day."""

    model_config = ConfigDict(extra="forbid")
    party: str | None = Field(None, min_length=1, max_length=64)
    until: Day | None = None


class FraudAlertIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    police_report: str | None = Field(None, min_length=1, max_length=100)


def _answer(status: dict[str, Any]) -> FreezeStatus:
    return FreezeStatus.model_validate(status)


def _own(party: Party) -> str:
    assert party.subject_id is not None
    return party.subject_id


# --- the resident ------------------------------------------------------------------------------------------------
@router.get("/v1/freeze")
def own_status(party: Resident, service: ServiceDep, today: Today, lang: RefusalsLang) -> FreezeStatus:
    """The resident's freeze, the lifts in force, the fraud alert and their history (the read is audited)."""
    with naming(service) as store:
        return _answer(
            freeze_status(store, _own(party), today=today, actor=actor(party), purpose=f"{party.role} freeze status")
        )


@router.post("/v1/freeze")
def own_place(party: Resident, service: ServiceDep, today: Today, lang: RefusalsLang) -> FreezeStatus:
    """Freeze one's file at once: freezable services are refused with FROZEN (409 already_frozen if it is)."""
    with naming(service) as store:
        status = place_freeze(store, _own(party), actor=actor(party), today=today)
        service.refresh_guards(store)
    return _answer(status)


@router.post("/v1/freeze/lift")
def own_lift(body: LiftIn, party: Resident, service: ServiceDep, today: Today, lang: RefusalsLang) -> FreezeStatus:
    """Lift one's freeze: for good, for one party, or until a day (409 not_frozen if it is not frozen; 422
    not_freezable for a party a freeze never acts on, a railway's or an airline's)."""
    with naming(service) as store:
        lift = lift_party(store, body.party)
        status = lift_freeze(store, _own(party), actor=actor(party), party=lift, until=body.until, today=today)
        service.refresh_guards(store)
    return _answer(status)


@router.post("/v1/fraud-alert")
def own_alert(
    body: FraudAlertIn, party: Resident, service: ServiceDep, today: Today, lang: RefusalsLang
) -> FreezeStatus:
    """Place a fraud alert: a year, or seven years with a police report's reference."""
    with naming(service) as store:
        status = place_fraud_alert(
            store, _own(party), actor=actor(party), police_report=body.police_report, today=today
        )
        service.refresh_guards(store)
    return _answer(status)


@router.delete("/v1/fraud-alert")
def own_alert_remove(party: Resident, service: ServiceDep, today: Today, lang: RefusalsLang) -> FreezeStatus:
    """Remove one's fraud alert (409 no_alert if there is none)."""
    with naming(service) as store:
        status = remove_fraud_alert(store, _own(party), actor=actor(party), today=today)
        service.refresh_guards(store)
    return _answer(status)


# --- the operator ------------------------------------------------------------------------------------------------
@router.get("/v1/subjects/{subject_id}/freeze")
def subject_status(
    subject_id: SubjectPath, party: Operator, service: ServiceDep, today: Today, lang: RefusalsLang
) -> FreezeStatus:
    """A resident's freeze and fraud alert, for an operator (the read is audited, and shown to the resident)."""
    with naming(service, "subject_id") as store:
        return _answer(
            freeze_status(store, subject_id, today=today, actor=actor(party), purpose=f"{party.role} freeze status")
        )


@router.post("/v1/subjects/{subject_id}/freeze")
def subject_place(
    subject_id: SubjectPath, party: Operator, service: ServiceDep, today: Today, lang: RefusalsLang
) -> FreezeStatus:
    """An operator freezes a resident's file at their request (e.g. by telephone)."""
    with naming(service, "subject_id") as store:
        status = place_freeze(store, subject_id, actor=actor(party), today=today)
        service.refresh_guards(store)
    return _answer(status)


@router.post("/v1/subjects/{subject_id}/freeze/lift")
def subject_lift(
    subject_id: SubjectPath, body: LiftIn, party: Operator, service: ServiceDep, today: Today, lang: RefusalsLang
) -> FreezeStatus:
    """An operator lifts a resident's freeze at their request."""
    with naming(service, "subject_id") as store:
        lift = lift_party(store, body.party)
        status = lift_freeze(store, subject_id, actor=actor(party), party=lift, until=body.until, today=today)
        service.refresh_guards(store)
    return _answer(status)


@router.post("/v1/subjects/{subject_id}/fraud-alert")
def subject_alert(
    subject_id: SubjectPath, body: FraudAlertIn, party: Operator, service: ServiceDep, today: Today, lang: RefusalsLang
) -> FreezeStatus:
    """An operator places a fraud alert at a resident's request."""
    with naming(service, "subject_id") as store:
        status = place_fraud_alert(store, subject_id, actor=actor(party), police_report=body.police_report, today=today)
        service.refresh_guards(store)
    return _answer(status)


@router.delete("/v1/subjects/{subject_id}/fraud-alert")
def subject_alert_remove(
    subject_id: SubjectPath, party: Operator, service: ServiceDep, today: Today, lang: RefusalsLang
) -> FreezeStatus:
    """An operator removes a resident's fraud alert at their request."""
    with naming(service, "subject_id") as store:
        status = remove_fraud_alert(store, subject_id, actor=actor(party), today=today)
        service.refresh_guards(store)
    return _answer(status)
