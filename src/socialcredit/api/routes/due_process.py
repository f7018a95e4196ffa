"""HTTP endpoints of due process, as one router the service includes.

Residents file and follow disputes, add information, apply for repair, set consents and download their file;
furnishers see their open disputes, answer them and report fulfilled obligations; operators decide repairs and
override decisions and listings. The public look-up of blacklists needs no key. Every 4xx is
``{"error": {"code", "message", "field"}}``; access refusals are audited (``service.refuse``).
"""

# No ``from __future__ import annotations``: FastAPI reads the dependencies from the annotations.
import datetime as dt
from enum import Enum
from typing import Annotated, Any, Literal, NoReturn

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from socialcredit.api.bodies import JSONRoute
from socialcredit.api.deps import (
    Anyone,
    Day,
    Furnisher,
    Lang,
    Lookup,
    Operator,
    RefusalsLang,
    Resident,
    ResidentOrOperator,
    Segment,
    ServiceDep,
    SubjectPath,
    Today,
    actor,
    deny,
    naming,
)
from socialcredit.api.models import (
    Consent,
    ConsentSet,
    Dispute,
    Fulfilment,
    LinkDispute,
    Listing,
    Override,
    PublicLookupPage,
    Repair,
    ResidentFile,
)
from socialcredit.api.routes.subjects import own_file_only
from socialcredit.errors import ForbiddenError, InvalidRequestError, NotFoundError, SocialCreditError
from socialcredit.regions.contest import answer_link_dispute
from socialcredit.registry.access.parties import Party
from socialcredit.registry.common import MAX_PAGE_ROWS, PAGE_ROWS
from socialcredit.registry.due_process.acting import Acting, acting_on, audit_case_read, audit_read_for_org
from socialcredit.registry.due_process.disputes import add_information as add_information_to
from socialcredit.registry.due_process.disputes import answer_dispute, file_dispute, get_dispute, list_disputes
from socialcredit.registry.due_process.links import file_link_dispute, get_link_dispute, list_link_disputes
from socialcredit.registry.due_process.listings import list_listings
from socialcredit.registry.due_process.overrides import override_decision as override_one_decision
from socialcredit.registry.due_process.overrides import override_listing as override_one_listing
from socialcredit.registry.due_process.public_lists import MAX_PAGE, MAX_PAGE_SIZE, PAGE_SIZE, public_lookup_page
from socialcredit.registry.due_process.repair import (
    apply_for_repair,
    decide_repair,
    get_repair,
    list_repairs,
    report_fulfilment,
    start_review,
)
from socialcredit.registry.records.consent import consent_history, current_consents
from socialcredit.registry.records.consent import set_consent as set_consent_of
from socialcredit.registry.reporting.file_page import file_names
from socialcredit.registry.reporting.resident_file import render_html
from socialcredit.registry.service import Service
from socialcredit.store import Store

__all__ = ["acting_dispute", "router", "visible_dispute"]

router = APIRouter(route_class=JSONRoute)
_PUBLIC: list[str | Enum] = ["public"]
_DUE_PROCESS: list[str | Enum] = ["due process"]  # per route: the public ones are tagged "public" alone


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


class LinkDisputeIn(_Body):
    identity_id: int = Field(gt=0)
    reason: str = Field(min_length=1, max_length=4000)


class LinkAnswerIn(_Body):
    answer: Literal["uphold", "unlink"]
    reason: str = Field(min_length=1, max_length=4000)


class FulfilmentIn(_Body):
    record_id: str = Field(min_length=1, max_length=128)
    fulfilled_on: Day | None = None
    note: str | None = Field(default=None, max_length=4000)


class RepairIn(_Body):
    source_id: str = Field(min_length=1, max_length=64)
    record_id: str = Field(min_length=1, max_length=128)
    statement: str = Field(min_length=1, max_length=4000)
    policy_id: str | None = Field(default=None, max_length=64)
    commitment: str | None = Field(default=None, max_length=4000)
    evidence: str | None = Field(default=None, max_length=4000)


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
    # removed: take the subject off the list for that cause; restored: reverse an operator's removal
    outcome: Literal["removed", "restored"] = "removed"


class ConsentIn(_Body):
    # true or false only: a consent is the resident's act, not a text ("yes", "t") or a number read as one
    granted: StrictBool


def visible_dispute(
    service: Service,
    store: Store,
    party: Party,
    dispute_id: int,
    path: str,
    *,
    for_org: dt.date | None = None,
) -> dict[str, Any]:
    """A dispute its resident, its source or an operator may see; refused 403 ``not_your_dispute`` (audited).

    With ``for_org`` (today), the current legal representative of the organisation it is about may see it too
    (the reading audited as ``read_for_org``)."""
    d = _dispute(store, dispute_id)
    if party.role == "operator" or (party.role == "furnisher" and d["source_id"] == party.source_id):
        return d
    acting = _acting(store, party, str(d["subject_id"]), for_org)
    if acting is None:
        _not_yours(service, party, dispute_id, path)
    if acting.representative_id is not None:
        audit_read_for_org(store, actor(party), acting, {"dispute_id": dispute_id})
    return d


def acting_dispute(
    service: Service, store: Store, party: Party, dispute_id: int, path: str, today: dt.date
) -> tuple[dict[str, Any], str | None]:
    """A dispute the resident acts on — their own, or an organisation's as its legal representative on ``today``
    (``registry/due_process/acting.py``) — and the representative's identity number when acting for one; anyone
    else is refused 403 ``not_your_dispute`` (audited), as when they read it."""
    d = _dispute(store, dispute_id)
    acting = _acting(store, party, str(d["subject_id"]), today)
    if acting is None:
        _not_yours(service, party, dispute_id, path)
    return d, acting.representative_id


def _not_yours(service: Service, party: Party, dispute_id: int, path: str) -> NoReturn:
    """Refuse ``party`` the dispute, 403 ``not_your_dispute`` (audited): a dispute neither theirs nor one they act
    on."""
    deny(
        service,
        party,
        ForbiddenError(
            f"dispute {dispute_id} is not yours to see",
            code="not_your_dispute",
            zh=f"异议 {dispute_id} 不是您的，无权查看",
        ),
        path,
    )


def _dispute(store: Store, dispute_id: int) -> dict[str, Any]:
    try:
        return get_dispute(store, dispute_id)
    except NotFoundError as exc:
        exc.field = "dispute_id"
        raise


def _acting(store: Store, party: Party, subject_id: str, today: dt.date | None) -> Acting | None:
    """How a resident acts on a case of ``subject_id``: for themselves, or (given ``today``) as the current legal
    representative of the organisation ``subject_id``; None for anyone else."""
    if party.role != "resident" or party.subject_id is None:
        return None
    if today is None:
        return Acting(party.subject_id, subject_id) if party.subject_id == subject_id else None
    return acting_on(store, party.subject_id, subject_id, today)


def visible_repair(service: Service, store: Store, party: Party, repair_id: int, today: dt.date) -> dict[str, Any]:
    """A repair application its resident, the current legal representative of the organisation it is for (audited
    as ``read_for_org``) or an operator may see; refused 403 ``not_your_repair`` (audited)."""
    try:
        r = get_repair(store, repair_id)
    except NotFoundError as exc:
        exc.field = "repair_id"
        raise
    if party.role == "operator":
        return r
    acting = _acting(store, party, str(r["subject_id"]), today)
    if acting is None:
        refusal = ForbiddenError(f"repair application {repair_id} is not yours to see", code="not_your_repair")
        deny(service, party, refusal, f"/v1/repairs/{repair_id}")
    if acting.representative_id is not None:
        audit_read_for_org(store, actor(party), acting, {"repair_id": repair_id})
    return r


@router.post("/v1/disputes", tags=_DUE_PROCESS, status_code=201)
def dispute_record(body: DisputeIn, party: Resident, service: ServiceDep, today: Today, lang: Lang) -> Dispute:
    """A resident disputes one of their records; the answer is due in 30 days (45 with information added). The notice
    sent to the resident and the registry's refusals are in ``lang``."""
    assert party.subject_id is not None
    with naming(service, "record_id") as store:
        filed = file_dispute(
            store,
            party.subject_id,
            body.source_id,
            body.record_id,
            body.reason,
            body.evidence,
            actor(party),
            today=today,
            lang=lang,
        )
    return Dispute.model_validate(filed)


# The case lists (disputes, repairs, notices) come a page at a time, newest first, as the audit log's pages come
After = Annotated[
    int | None, Query(ge=1, description="The last id of the page before (newest first: the next page is older).")
]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_ROWS, description="At most so many on a page.")]


def _paged(request: Request, response: Response, rows: list[dict[str, Any]], key: str, limit: int) -> None:
    """A full page says where the next one is: a ``Link`` header (``rel="next"``), the same query after its last
    row."""
    if len(rows) == limit:
        url = request.url.include_query_params(after=rows[-1][key], limit=limit)
        response.headers["Link"] = f'<{url.path}?{url.query}>; rel="next"'


@router.get("/v1/disputes", tags=_DUE_PROCESS)
def disputes(
    request: Request,
    response: Response,
    party: Anyone,
    service: ServiceDep,
    lang: RefusalsLang,
    status: Annotated[str | None, Query(max_length=16)] = None,
    after: After = None,
    limit: Limit = PAGE_ROWS,
) -> list[Dispute]:
    """A resident's own disputes; a furnisher's disputes of its records (open by default); all, for operators.
    Audited (``read_disputes``). Newest first, a page at a time (``limit``, at most 1000); a full page's ``Link``
    header names the next."""
    subject = party.subject_id if party.role == "resident" else None
    source = party.source_id if party.role == "furnisher" else None
    status = status or "open" if party.role == "furnisher" else status
    with naming(service) as store:
        found = list_disputes(
            store, subject_id=subject, source_id=source, status=status, actor=actor(party), after=after, limit=limit
        )
    _paged(request, response, found, "dispute_id", limit)
    return [Dispute.model_validate(d) for d in found]


@router.get("/v1/disputes/{dispute_id}", tags=_DUE_PROCESS)
def dispute(dispute_id: int, party: Anyone, service: ServiceDep, today: Today, lang: RefusalsLang) -> Dispute:
    """One dispute with the information added (to its resident, its source, an operator, or the current legal
    representative of the organisation it is about). Audited (``read_dispute``; the representative's reading
    ``read_for_org``); an operator's is shown in the resident's list of who asked."""
    with naming(service, "dispute_id") as store:
        path = f"/v1/disputes/{dispute_id}"
        d = visible_dispute(service, store, party, dispute_id, path, for_org=today)
        if party.role != "resident" or d["subject_id"] == party.subject_id:
            audit_case_read(store, actor(party), "dispute", d, f"{party.role} dispute")
        return Dispute.model_validate(d)


@router.post("/v1/disputes/{dispute_id}/information", tags=_DUE_PROCESS)
def add_information(
    dispute_id: int, body: InformationIn, party: Resident, service: ServiceDep, today: Today, lang: RefusalsLang
) -> Dispute:
    """The resident adds information (within the first 30 days, the deadline becomes 45 days); to an
    organisation's dispute, its current legal representative (kept as ``representative_id``)."""
    with naming(service, "dispute_id") as store:
        path = f"/v1/disputes/{dispute_id}/information"
        _, rep = acting_dispute(service, store, party, dispute_id, path, today)
        added = add_information_to(store, dispute_id, body.text, actor(party), today=today, representative_id=rep)
        return Dispute.model_validate(added)


@router.post("/v1/disputes/{dispute_id}/answer", tags=_DUE_PROCESS)
def answer(
    dispute_id: int, body: AnswerIn, party: Furnisher, service: ServiceDep, today: Today, lang: RefusalsLang
) -> Dispute:
    """The source answers a dispute of its record: verified, corrected or withdrawn, with a note."""
    with naming(service, "dispute_id") as store:
        visible_dispute(service, store, party, dispute_id, f"/v1/disputes/{dispute_id}/answer")
        answered = answer_dispute(
            store, dispute_id, body.outcome, body.note, actor(party), today=today, source_id=party.source_id
        )
    return Dispute.model_validate(answered)


@router.post("/v1/link-disputes", tags=_DUE_PROCESS, status_code=201)
def dispute_link(
    body: LinkDisputeIn, party: Resident, service: ServiceDep, today: Today, lang: RefusalsLang
) -> LinkDispute:
    """A resident contests the link of another region's identity to them; an operator answers within 30 days, or
    the link is reversed in their favour."""
    assert party.subject_id is not None
    with naming(service, "identity_id") as store:
        filed = file_link_dispute(store, party.subject_id, body.identity_id, body.reason, actor(party), today=today)
    return LinkDispute.model_validate(filed)


@router.get("/v1/link-disputes", tags=_DUE_PROCESS)
def link_disputes(
    party: ResidentOrOperator,
    service: ServiceDep,
    lang: RefusalsLang,
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> list[LinkDispute]:
    """A resident's own disputes of links; every one, for operators (the open ones wait for an answer). Audited
    (``read_link_disputes``)."""
    with naming(service) as store:
        subject = party.subject_id if party.role == "resident" else None
        found = list_link_disputes(store, subject_id=subject, status=status, actor=actor(party))
    return [LinkDispute.model_validate(d) for d in found]


@router.post("/v1/link-disputes/{dispute_id}/answer", tags=_DUE_PROCESS)
def answer_link(
    dispute_id: int, body: LinkAnswerIn, party: Operator, service: ServiceDep, today: Today, lang: RefusalsLang
) -> LinkDispute:
    """An operator answers a contested link: ``uphold`` (it stands) or ``unlink`` (it is reversed, its records
    withdrawn and the listings they caused ended); decisions see an unlink at once."""
    with naming(service, "dispute_id") as store:
        get_link_dispute(store, dispute_id)
        answered = answer_link_dispute(store, dispute_id, body.answer, body.reason, actor(party), today=today)
    service.changed()
    return LinkDispute.model_validate(answered)


@router.post("/v1/fulfilments", tags=_DUE_PROCESS, status_code=201)
def fulfilment(
    body: FulfilmentIn, party: Furnisher, service: ServiceDep, today: Today, lang: RefusalsLang
) -> Fulfilment:
    """The source reports the obligation behind one of its records fulfilled (judgment paid, tax settled)."""
    assert party.source_id is not None
    with naming(service, "record_id") as store:
        reported = report_fulfilment(
            store,
            party.source_id,
            body.record_id,
            fulfilled_on=body.fulfilled_on,
            note=body.note,
            actor=actor(party),
            today=today,
        )
    return Fulfilment.model_validate(reported)


@router.post("/v1/repairs", tags=_DUE_PROCESS, status_code=201)
def apply(body: RepairIn, party: Resident, service: ServiceDep, today: Today, lang: Lang) -> Repair:
    """The resident applies for credit repair of a record (after the minimum publication period); the registry's
    refusals are in ``lang``."""
    assert party.subject_id is not None
    with naming(service, "record_id") as store:
        applied = apply_for_repair(
            store,
            party.subject_id,
            body.source_id,
            body.record_id,
            body.statement,
            actor(party),
            policy_id=body.policy_id,
            today=today,
            commitment=body.commitment,
            evidence=body.evidence,
        )
    return Repair.model_validate(applied)


@router.get("/v1/repairs", tags=_DUE_PROCESS)
def repairs(
    request: Request,
    response: Response,
    party: ResidentOrOperator,
    service: ServiceDep,
    lang: RefusalsLang,
    status: Annotated[str | None, Query(max_length=16)] = None,
    after: After = None,
    limit: Limit = PAGE_ROWS,
) -> list[Repair]:
    """A resident's own applications; every application, for operators. Audited (``read_repairs``). Newest first,
    a page at a time (``limit``, at most 1000); a full page's ``Link`` header names the next."""
    with naming(service) as store:
        subject = party.subject_id if party.role == "resident" else None
        found = list_repairs(store, subject_id=subject, status=status, actor=actor(party), after=after, limit=limit)
    _paged(request, response, found, "repair_id", limit)
    return [Repair.model_validate(r) for r in found]


@router.get("/v1/repairs/{repair_id}", tags=_DUE_PROCESS)
def repair(repair_id: int, party: ResidentOrOperator, service: ServiceDep, today: Today) -> Repair:
    """One repair application (to its resident, an operator, or the current legal representative of the
    organisation it is for). Audited (``read_repair``; the representative's reading ``read_for_org``); an
    operator's is shown in the resident's list of who asked."""
    with naming(service, "repair_id") as store:
        r = visible_repair(service, store, party, repair_id, today)
        if party.role != "resident" or r["subject_id"] == party.subject_id:
            audit_case_read(store, actor(party), "repair", r, f"{party.role} repair")
        return Repair.model_validate(r)


@router.post("/v1/repairs/{repair_id}/review", tags=_DUE_PROCESS)
def review(repair_id: int, party: Operator, service: ServiceDep, today: Today) -> Repair:
    """An operator takes a repair application under review (the resident is told)."""
    with naming(service, "repair_id") as store:
        reviewed = start_review(store, repair_id, actor(party), today=today)
    return Repair.model_validate(reviewed)


@router.post("/v1/repairs/{repair_id}/decision", tags=_DUE_PROCESS)
def decide(repair_id: int, body: RepairDecisionIn, party: Operator, service: ServiceDep, today: Today) -> Repair:
    """An operator approves or refuses a repair application, with a reason."""
    with naming(service, "repair_id") as store:
        decided = decide_repair(store, repair_id, body.outcome, body.reason, actor(party), today=today)
    return Repair.model_validate(decided)


@router.post("/v1/overrides/decisions", tags=_DUE_PROCESS, status_code=201)
def override_decision(body: DecisionOverrideIn, party: Operator, service: ServiceDep, today: Today) -> Override:
    """An operator overrides one decision, with a written justification shown to the resident."""
    with naming(service, "inquiry_id") as store:
        done = override_one_decision(
            store, body.inquiry_id, body.outcome, body.justification, actor(party), today=today
        )
    return Override.model_validate(done)


@router.post("/v1/overrides/listings", tags=_DUE_PROCESS, status_code=201)
def override_listing(body: ListingOverrideIn, party: Operator, service: ServiceDep, today: Today) -> Override:
    """An operator ends a listing (``outcome`` ``removed``, the default), or reverses an operator's removal of it
    (``restored``: it stands again as before, in effect or pending), with a written justification shown to the
    resident. One that changes nothing is refused 409 ``outcome_unchanged``; a listing ended otherwise than by an
    override 409 ``listing_ended``; a removal whose cause the last run no longer found 409 ``cause_gone``.

    Decisions follow the override at once; under a policy judging on rank or percentile whose run's explanations are
    still loading, once they are in (the answer does not wait for them)."""
    with naming(service, "listing_id") as store:
        done = override_one_listing(
            store, body.listing_id, body.justification, actor(party), outcome=body.outcome, today=today
        )
        service.relisted(store, [str(done["subject_id"])])  # decisions follow the override (see above)
    return Override.model_validate(done)


@router.get("/v1/consents", tags=_DUE_PROCESS)
def consents(party: Resident, service: ServiceDep) -> Consent:
    """The resident's current consent per data category and its history."""
    assert party.subject_id is not None
    with naming(service) as store:
        history = consent_history(store, party.subject_id, actor=actor(party))
        current = current_consents(store, party.subject_id)
    return Consent.model_validate(
        {"current": current, "history": [{**h, "recorded_at": h["recorded_at"].isoformat(sep=" ")} for h in history]}
    )


@router.put("/v1/consents/{category}", tags=_DUE_PROCESS)
def set_consent(category: Segment, body: ConsentIn, party: Resident, service: ServiceDep) -> ConsentSet:
    """Opt in or out of a data category; it takes effect at the next score run."""
    assert party.subject_id is not None
    with naming(service) as store:
        try:
            set_consent_of(store, party.subject_id, category, body.granted, actor=actor(party))
        except NotFoundError:
            raise
        except SocialCreditError as exc:
            raise InvalidRequestError(str(exc), code="unknown_category", field="category") from None
        current = current_consents(store, party.subject_id)
    return ConsentSet(category=category, granted=body.granted, current=current)


@router.get("/v1/subjects/{subject_id}/file", tags=_DUE_PROCESS)
def export(subject_id: SubjectPath, party: ResidentOrOperator, service: ServiceDep, lang: Lang) -> ResidentFile:
    """Everything held about a resident (JSON), free and on demand. Each record names its source ``source_id``, as
    every other section does; ``source`` beside it is a deprecated alias (its only name until 2026-12-06)."""
    own_file_only(service, party, subject_id, f"/v1/subjects/{subject_id}/file")
    service.flush_inquiries()  # the file shows every inquiry answered so far
    with naming(service, "subject_id") as store:
        return ResidentFile.model_validate(service.file_of(store, subject_id, lang=lang, actor=actor(party)))


@router.get(
    "/v1/subjects/{subject_id}/file.html",
    tags=_DUE_PROCESS,
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}},
)
def export_html(subject_id: SubjectPath, party: ResidentOrOperator, service: ServiceDep, lang: Lang) -> str:
    """The resident's file as a readable page."""
    own_file_only(service, party, subject_id, f"/v1/subjects/{subject_id}/file.html")
    service.flush_inquiries()
    with naming(service, "subject_id") as store:
        file = service.file_of(store, subject_id, lang=lang, actor=actor(party))
        return render_html(file, lang, file_names(store, file, lang), store.catalog)


@router.get("/v1/notices", tags=_DUE_PROCESS)
def notices(
    request: Request,
    response: Response,
    party: ResidentOrOperator,
    service: ServiceDep,
    lang: Lang,
    after: After = None,
    limit: Limit = PAGE_ROWS,
) -> list[Listing]:
    """Notices and listings: the resident's own; every one, for operators. Audited (``read_notices``). Newest first,
    a page at a time (``limit``, at most 1000); a full page's ``Link`` header names the next. A listing in effect
    that decisions no longer apply (its record withdrawn, corrected or disputed since the run) says so: ``held``,
    the change since which, and ``held_why``, the cause in ``lang``; the next run closes it."""
    with naming(service) as store:
        subject = party.subject_id if party.role == "resident" else None
        rows = list_listings(store, subject_id=subject, actor=actor(party), after=after, limit=limit)
        found = service.mark_held(store, rows, lang)
    _paged(request, response, found, "listing_id", limit)
    return [Listing.model_validate(n) for n in found]


@router.get("/v1/lists/lookup", tags=_PUBLIC, dependencies=[Lookup])
def lookup(
    service: ServiceDep,
    q: Annotated[str, Query(min_length=1, max_length=64)],
    lang: Lang,
    list_id: Annotated[str | None, Query(max_length=64)] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="The page, from 1.")] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Results on a page.")] = PAGE_SIZE,
) -> PublicLookupPage:
    """Public look-up of blacklists by full name, identity number or organisation code (no key needed; a limited
    number of searches per minute per client address, shared with the page /lists). A listing whose cause is public
    names its authority, case number, amount and date, and whether an open dispute holds it; the results come in
    pages, with the totals. A listing decisions no longer apply (its record held out of scoring while its dispute is
    open, corrected or withdrawn since the run) is not published unless they apply it again before the next run,
    which closes it."""
    with naming(service, "q") as store:
        # a listing decisions no longer apply (its record held out while disputed, say) is not published
        held = service.held_listings
        found = public_lookup_page(store, q, list_id, page=page, page_size=page_size, lang=lang, held=held)
    return PublicLookupPage.model_validate(found)
