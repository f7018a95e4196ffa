"""HTTP endpoints of due process, as one router the service includes.

Residents file and follow disputes, add information, apply for repair, set consents and download their file;
furnishers see their open disputes, answer them and report fulfilled obligations; operators decide repairs and
override decisions and listings. The public look-up of blacklists needs no key. Every 4xx is
``{"error": {"code", "message", "field"}}``; access refusals are audited (``service.refuse``).
"""

# No ``from __future__ import annotations``: FastAPI reads the dependency aliases defined inside
# due_process_router from the annotations, which must therefore be evaluated where they are written.
import datetime as dt
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from socialcredit.errors import NotFoundError, WorkflowError
from socialcredit.registry.access.parties import Party
from socialcredit.store import Store

__all__ = ["due_process_router"]

# Refusals that are about the request's content (422) rather than the state of the dispute or record (409).
_INVALID = {
    "missing_field",
    "too_long",
    "bad_outcome",
    "bad_status",
    "bad_query",
    "unknown_source",
    "unknown_record",
    "future_date",
    "justification_too_short",
    "unknown_policy",
    "unknown_list",
    "not_your_record",
}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DisputeIn(_Body):
    source_id: str = Field(min_length=1, max_length=64)
    record_id: str = Field(min_length=1, max_length=128)
    reason: str = Field(min_length=1, max_length=4000)
    evidence: str | None = Field(default=None, max_length=4000)


class InformationIn(_Body):
    text: str = Field(min_length=1, max_length=4000)


class AnswerIn(_Body):
    outcome: Literal["verified", "corrected", "withdrawn"]
    note: str = Field(min_length=1, max_length=4000)


class FulfilmentIn(_Body):
    record_id: str = Field(min_length=1, max_length=128)
    fulfilled_on: dt.date | None = None
    note: str | None = Field(default=None, max_length=4000)


class RepairIn(_Body):
    source_id: str = Field(min_length=1, max_length=64)
    record_id: str = Field(min_length=1, max_length=128)
    statement: str = Field(min_length=1, max_length=4000)
    policy_id: str | None = Field(default=None, max_length=64)


class RepairDecisionIn(_Body):
    outcome: Literal["approved", "refused"]
    reason: str = Field(min_length=1, max_length=4000)


class DecisionOverrideIn(_Body):
    inquiry_id: int = Field(gt=0)
    outcome: Literal["granted", "refused"]
    justification: str = Field(min_length=1, max_length=4000)


class ListingOverrideIn(_Body):
    listing_id: int = Field(gt=0)
    justification: str = Field(min_length=1, max_length=4000)


class ConsentIn(_Body):
    granted: bool


def due_process_router(service: Any, caller: Callable[..., Callable[[Request], Awaitable[Party]]]) -> APIRouter:
    """The due-process endpoints over ``service`` (app.py's Service); ``caller(*roles)`` authenticates."""
    from socialcredit.api.app import ApiError

    router = APIRouter()

    @contextmanager
    def work(field_hint: str | None = None) -> Iterator[Store]:
        """The store under the writer's lock; registry refusals become 4xx with a code and the field at fault."""
        try:
            with service.writer() as store:
                yield store
        except WorkflowError as exc:
            status = 422 if exc.code in _INVALID else 409
            raise ApiError(status, exc.code, str(exc), exc.field) from None
        except NotFoundError as exc:
            raise ApiError(404, "not_found", str(exc), field_hint) from None

    def own_dispute(store: Store, party: Party, dispute_id: int, path: str) -> dict[str, Any]:
        from socialcredit.registry.due_process.disputes import get_dispute

        try:
            d = get_dispute(store, dispute_id)
        except NotFoundError as exc:
            raise ApiError(404, "not_found", str(exc), "dispute_id") from None
        mine = (
            party.role == "operator"
            or (party.role == "resident" and d["subject_id"] == party.subject_id)
            or (party.role == "furnisher" and d["source_id"] == party.source_id)
        )
        if not mine:
            raise service.refuse(party, 403, "not_your_dispute", f"dispute {dispute_id} is not yours to see", path)
        return d

    Resident = Annotated[Party, Depends(caller("resident"))]
    Furnisher = Annotated[Party, Depends(caller("furnisher"))]
    Operator = Annotated[Party, Depends(caller("operator"))]
    Anyone = Annotated[Party, Depends(caller("resident", "furnisher", "operator"))]
    ResidentOrOperator = Annotated[Party, Depends(caller("resident", "operator"))]

    def actor(party: Party) -> str:
        return f"key:{party.key_id}"

    @router.post("/v1/disputes", tags=["due process"], status_code=201)
    def file_dispute(body: DisputeIn, party: Resident) -> dict[str, Any]:
        """A resident disputes one of their records; the answer is due in 30 days (45 with information added)."""
        from socialcredit.registry.due_process.disputes import file_dispute as file_

        assert party.subject_id is not None
        with work("record_id") as store:
            return file_(
                store, party.subject_id, body.source_id, body.record_id, body.reason, body.evidence, actor(party)
            )

    @router.get("/v1/disputes", tags=["due process"])
    def disputes(
        party: Anyone,
        status: Annotated[str | None, Query(max_length=16)] = None,
    ) -> list[dict[str, Any]]:
        """A resident's own disputes; a furnisher's disputes of its records (open by default); all, for operators."""
        from socialcredit.registry.due_process.disputes import list_disputes

        with work() as store:
            if party.role == "resident":
                return list_disputes(store, subject_id=party.subject_id, status=status)
            if party.role == "furnisher":
                return list_disputes(store, source_id=party.source_id, status=status or "open")
            return list_disputes(store, status=status)

    @router.get("/v1/disputes/{dispute_id}", tags=["due process"])
    def dispute(dispute_id: int, party: Anyone) -> dict[str, Any]:
        """One dispute with the information added (to its resident, its source, or an operator)."""
        with work("dispute_id") as store:
            return own_dispute(store, party, dispute_id, f"/v1/disputes/{dispute_id}")

    @router.post("/v1/disputes/{dispute_id}/information", tags=["due process"])
    def add_information(dispute_id: int, body: InformationIn, party: Resident) -> dict[str, Any]:
        """The resident adds information (within the first 30 days, the deadline becomes 45 days)."""
        from socialcredit.registry.due_process.disputes import add_information as add_

        with work("dispute_id") as store:
            own_dispute(store, party, dispute_id, f"/v1/disputes/{dispute_id}/information")
            return add_(store, dispute_id, body.text, actor(party))

    @router.post("/v1/disputes/{dispute_id}/answer", tags=["due process"])
    def answer(dispute_id: int, body: AnswerIn, party: Furnisher) -> dict[str, Any]:
        """The source answers a dispute of its record: verified, corrected or withdrawn, with a note."""
        from socialcredit.registry.due_process.disputes import answer_dispute

        with work("dispute_id") as store:
            own_dispute(store, party, dispute_id, f"/v1/disputes/{dispute_id}/answer")
            return answer_dispute(store, dispute_id, body.outcome, body.note, actor(party), source_id=party.source_id)

    @router.post("/v1/fulfilments", tags=["due process"], status_code=201)
    def fulfilment(body: FulfilmentIn, party: Furnisher) -> dict[str, Any]:
        """The source reports the obligation behind one of its records fulfilled (judgment paid, tax settled)."""
        from socialcredit.registry.due_process.repair import report_fulfilment

        assert party.source_id is not None
        with work("record_id") as store:
            return report_fulfilment(
                store,
                party.source_id,
                body.record_id,
                fulfilled_on=body.fulfilled_on,
                note=body.note,
                actor=actor(party),
            )

    @router.post("/v1/repairs", tags=["due process"], status_code=201)
    def apply(body: RepairIn, party: Resident) -> dict[str, Any]:
        """The resident applies for credit repair of a record (after the minimum publication period)."""
        from socialcredit.registry.due_process.repair import apply_for_repair

        assert party.subject_id is not None
        with work("record_id") as store:
            return apply_for_repair(
                store,
                party.subject_id,
                body.source_id,
                body.record_id,
                body.statement,
                actor(party),
                policy_id=body.policy_id,
            )

    @router.get("/v1/repairs", tags=["due process"])
    def repairs(
        party: ResidentOrOperator, status: Annotated[str | None, Query(max_length=16)] = None
    ) -> list[dict[str, Any]]:
        """A resident's own applications; every application, for operators."""
        from socialcredit.registry.due_process.repair import list_repairs

        with work() as store:
            subject = party.subject_id if party.role == "resident" else None
            return list_repairs(store, subject_id=subject, status=status)

    @router.post("/v1/repairs/{repair_id}/decision", tags=["due process"])
    def decide(repair_id: int, body: RepairDecisionIn, party: Operator) -> dict[str, Any]:
        """An operator approves or refuses a repair application, with a reason."""
        from socialcredit.registry.due_process.repair import decide_repair

        with work("repair_id") as store:
            return decide_repair(store, repair_id, body.outcome, body.reason, actor(party))

    @router.post("/v1/overrides/decisions", tags=["due process"], status_code=201)
    def override_decision(body: DecisionOverrideIn, party: Operator) -> dict[str, Any]:
        """An operator overrides one decision, with a written justification shown to the resident."""
        from socialcredit.registry.due_process.overrides import override_decision as override_

        with work("inquiry_id") as store:
            return override_(store, body.inquiry_id, body.outcome, body.justification, actor(party))

    @router.post("/v1/overrides/listings", tags=["due process"], status_code=201)
    def override_listing(body: ListingOverrideIn, party: Operator) -> dict[str, Any]:
        """An operator ends a listing, with a written justification shown to the resident."""
        from socialcredit.registry.due_process.overrides import override_listing as override_

        with work("listing_id") as store:
            return override_(store, body.listing_id, body.justification, actor(party))

    @router.get("/v1/consents", tags=["due process"])
    def consents(party: Resident) -> dict[str, Any]:
        """The resident's current consent per data category and its history."""
        from socialcredit.registry.records.consent import consent_history, current_consents

        assert party.subject_id is not None
        with work() as store:
            history = consent_history(store, party.subject_id)
            return {
                "current": current_consents(store, party.subject_id),
                "history": [{**h, "recorded_at": h["recorded_at"].isoformat(sep=" ")} for h in history],
            }

    @router.put("/v1/consents/{category}", tags=["due process"])
    def set_consent(category: str, body: ConsentIn, party: Resident) -> dict[str, Any]:
        """Opt in or out of a data category; it takes effect at the next score run."""
        from socialcredit.errors import SocialCreditError
        from socialcredit.registry.records.consent import current_consents
        from socialcredit.registry.records.consent import set_consent as set_

        assert party.subject_id is not None
        with work() as store:
            try:
                set_(store, party.subject_id, category, body.granted, actor=actor(party))
            except NotFoundError:
                raise
            except SocialCreditError as exc:
                raise ApiError(422, "unknown_category", str(exc), "category") from None
            return {"category": category, "granted": body.granted, "current": current_consents(store, party.subject_id)}

    def check_own_file(party: Party, subject_id: str, path: str) -> None:
        if party.role == "resident" and subject_id != party.subject_id:
            raise service.refuse(party, 403, "not_your_file", "a resident key opens only its own file", path)

    @router.get("/v1/subjects/{subject_id}/file", tags=["due process"])
    def export(subject_id: str, party: ResidentOrOperator, lang: Literal["en", "zh"] = "en") -> dict[str, Any]:
        """Everything held about a resident (JSON), free and on demand."""
        from socialcredit.registry.due_process.resident_file import export_file

        check_own_file(party, subject_id, f"/v1/subjects/{subject_id}/file")
        service.flush_inquiries()  # the file shows every inquiry answered so far
        with work("subject_id") as store:
            return export_file(store, subject_id, lang=lang, actor=actor(party))

    @router.get("/v1/subjects/{subject_id}/file.html", tags=["due process"], response_class=HTMLResponse)
    def export_html(subject_id: str, party: ResidentOrOperator, lang: Literal["en", "zh"] = "en") -> str:
        """The resident's file as a readable page."""
        from socialcredit.registry.due_process.resident_file import export_file, render_html

        check_own_file(party, subject_id, f"/v1/subjects/{subject_id}/file.html")
        service.flush_inquiries()
        with work("subject_id") as store:
            return render_html(export_file(store, subject_id, lang=lang, actor=actor(party)), lang)

    @router.get("/v1/notices", tags=["due process"])
    def notices(party: ResidentOrOperator) -> list[dict[str, Any]]:
        """Notices and listings: the resident's own; every one, for operators."""
        from socialcredit.registry.due_process.listings import list_listings

        with work() as store:
            return list_listings(store, subject_id=party.subject_id if party.role == "resident" else None)

    @router.get("/v1/lists/lookup", tags=["public"])
    def lookup(
        q: Annotated[str, Query(min_length=1, max_length=64)],
        list_id: Annotated[str | None, Query(max_length=64)] = None,
        lang: Literal["en", "zh"] = "en",
    ) -> list[dict[str, Any]]:
        """Public look-up of blacklists by full name, identity number or organisation code (no key needed)."""
        from socialcredit.registry.due_process.public_lists import public_lookup

        with work("q") as store:
            return public_lookup(store, q, list_id, lang=lang)

    return router
