"""A listing's or a negative record's details for the resident, the credit repair application, and the operators'
pages that decide applications (docs/web.md, "Listings and credit repair").

Resident: ``/me/listings/{id}`` (a listing), ``/me/records/detail?source=&record=`` (a negative record),
``/me/repair?source=&record=`` (eligibility, the application with a written commitment, its status and answer);
an organisation's legal representative the same for the organisation's record, ``/orgs/{org}/repair?source=&record=``
(the check of ``registry/due_process/acting.py``, as for its disputes).
Operator: ``/ops/repairs`` (the applications, the oldest unanswered first) and ``/ops/repairs/{id}`` (take it under
review, grant or refuse it with written reasons; on the record in the audit log).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response

from socialcredit.clock import resolve_today
from socialcredit.errors import NotFoundError, WorkflowError, quoted
from socialcredit.identifiers import fold_record_id
from socialcredit.registry.due_process.acting import Acting, acting_on, audit_case_read, audit_read_for_org
from socialcredit.registry.due_process.listings import list_listings, took_effect_days
from socialcredit.registry.due_process.repair import (
    ANSWER_DAYS,
    apply_for_repair,
    decide_repair,
    get_repair,
    list_repairs,
    repair_eligibility,
    start_review,
)
from socialcredit.registry.records.roles import not_representative
from socialcredit.registry.reporting.listing_details import (
    held_now,
    listing_detail,
    negative_records,
    record_detail,
    record_href,
    repair_href,
)
from socialcredit.store import Store
from socialcredit.web.core import Page, Web, confirmed, whole_number

__all__ = ["add_routes", "listings_context", "org_header", "org_representative", "records_context", "service_reasons"]

# A refused application's registry code → the page's words for it.
_FAILURES = {
    "too_early": "repair_err_too_early",
    "not_fulfilled": "repair_err_not_fulfilled",
    "already_applied": "repair_err_already_applied",
    "record_withdrawn": "repair_err_withdrawn",
    "nothing_to_repair": "repair_err_nothing",
    "too_long": "repair_err_too_long",
    "control_character": "repair_err_control",
}
# the operator's decision, refused (decide_repair's codes)
_DECISION_FAILURES = {
    "already_decided": "repair_err_already_decided",
    "repair_forwarded": "repair_err_forwarded",
    "before_application": "repair_err_before_application",
}
# taking it under review, refused (start_review's codes): its own words, not the decision's
_REVIEW_FAILURES = {
    "repair_forwarded": "repair_err_review_forwarded",
    "before_application": "repair_err_review_before_application",
}
REPAIRS_SHOWN = 200


def _subject(page: Page) -> str:
    assert page.who is not None and page.who.subject_id is not None
    return page.who.subject_id


def _int(raw: object) -> int:
    text = str(raw)
    return whole_number(text) or -1


def listings_context(
    store: Store, page: Page, subject_id: str, today: dt.date, listings: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The resident's listings still in notice or in effect, each with its details and notice as of today;
    ``listings``, the resident's listings as the page read them (``list_listings``), are not read again."""
    details = []
    for x in list_listings(store, subject_id=subject_id) if listings is None else listings:
        if x["status"] not in ("pending", "effective"):
            continue
        d = listing_detail(store, subject_id, int(x["listing_id"]), lang=page.lang, today=today)
        d["href"] = f"/me/listings/{d['listing_id']}"
        details.append(d)
    return details


def notices_context(
    store: Store,
    page: Page,
    subject_id: str,
    notes: list[dict[str, Any]],
    today: dt.date,
    known: list[dict[str, Any]] | None = None,
) -> None:
    """Word each listing's notice as it stands today (in words, no ids) and link it to the listing and the dispute
    form; other notices keep the text they were given. ``known``: details read already (``listings_context``)."""
    cache: dict[int, dict[str, Any] | None] = {int(d["listing_id"]): d for d in known or []}
    for n in notes:
        if not str(n["kind"]).startswith("listing") or not n.get("ref_id"):
            continue
        ref = int(n["ref_id"])
        if ref not in cache:
            try:
                cache[ref] = listing_detail(store, subject_id, ref, lang=page.lang, today=today)
            except NotFoundError:
                cache[ref] = None
        d = cache[ref]
        if d is None:
            continue
        if n["kind"] == "listing_notice":  # as it stands today: one decisions no longer apply says so (held_now)
            n["text"] = d["notice"]
        n["listing_href"] = f"/me/listings/{d['listing_id']}"
        n["policy"] = d["policy"]  # two policies' lists may share a name ("blacklist (judgment defaulter)")
        steps = {s["key"]: s for s in d["steps"]}
        n["dispute_href"] = steps["dispute"]["href"] if "dispute" in steps else None


def service_reasons(store: Store, page: Page, report: dict[str, Any], listings: list[dict[str, Any]]) -> None:
    """Give each refused service its reason (the policy's words) and, when a listing in effect refuses it, the
    listing's page."""
    from socialcredit.registry.scoring.policies import get_policy

    for s in report["scores"]:
        policy = get_policy(store, s["policy"], s["policy_version"]).policy
        refusals = {svc.id: (svc.refusal.get(page.lang), svc.grant_if) for svc in policy.services}
        # a listing decisions no longer apply (``held_now``) refuses nothing now
        effective = [
            x for x in listings if x["policy_id"] == s["policy"] and x["status"] == "effective" and not x.get("held")
        ]
        for svc in s["services"]:
            if svc["granted"]:
                continue
            why, condition = refusals.get(svc["service"], ("", ""))
            svc["why"] = why
            black = {lst.id for lst in policy.lists if lst.kind == "black"}
            if effective and any(b in condition for b in black):
                svc["listing_href"] = effective[0]["href"]


def records_context(
    store: Store,
    page: Page,
    subject_id: str,
    report: dict[str, Any],
    today: dt.date,
    rows: list[dict[str, Any]] | None = None,
) -> None:
    """Mark each negative record of the file (severity, first repair day, its end) with the link to its page;
    ``rows``, the record versions the report read (``subject_report``'s ``record_rows``), are not read again."""
    negative = negative_records(store, subject_id, rows)
    for r in report["records"]:
        found = negative.get((r["source_id"], r["record_id"]))
        if found is None or r["status"] in ("withdrawn", "superseded", "repaired"):
            continue
        r["negative"] = {**found, "href": record_href(r["source_id"], r["record_id"])}


def _repair_context(
    web: Web, page: Page, source_id: str, record_id: str, acting: Acting | None = None, *, reading: bool = False
) -> dict[str, Any]:
    """The repair page of one record: the resident's own, or (``acting``) the organisation's, by its legal
    representative. Its reading (``reading``: the page's own, not the page again after a refused form) is audited:
    the resident's as ``read_record`` (their own read, not shown among who asked), the representative's as
    ``read_for_org``, as the API audits their ``GET /v1/repairs/{id}``. The record is named in either width
    (identifiers.fold_record_id), and audited and linked as stored."""
    record_id = fold_record_id(record_id)
    today = resolve_today()
    subject = _subject(page) if acting is None else acting.subject_id
    own = reading and acting is None and page.who is not None
    with web.service.writer() as store:
        try:
            detail = record_detail(
                store,
                subject,
                source_id,
                record_id,
                lang=page.lang,
                today=today,
                actor=page.who.actor if own and page.who is not None else None,
                purpose="resident portal: repair",
            )
        except (WorkflowError, NotFoundError) as exc:  # not a record of theirs: as if it did not exist
            raise NotFoundError(_no_record(page, record_id, acting, exc)) from exc
        if reading and acting is not None and acting.representative_id is not None and page.who is not None:
            audit_read_for_org(store, page.who.actor, acting, {"source_id": source_id, "record_id": record_id})
        eligibility = repair_eligibility(store, subject, source_id, record_id, today=today)
        org = org_header(store, acting)
    if acting is not None:
        back, action = f"/orgs/{subject}#records", f"/orgs/{subject}/repair"
    elif detail["listing_id"] is None:
        back, action = record_href(source_id, record_id), "/me/repair"
    else:
        back, action = f"/me/listings/{detail['listing_id']}", "/me/repair"
    return {
        "detail": detail,
        "eligibility": eligibility,
        "source_id": source_id,
        "record_id": record_id,
        "answer_days": ANSWER_DAYS,
        "today": today.isoformat(),
        "applied": confirmed(page.query("applied"), (r["repair_id"] for r in detail.get("repairs", []))),
        "statement": page.form.get("statement", ""),
        "commitment": page.form.get("commitment", ""),
        "evidence": page.form.get("evidence", ""),
        "back": back,
        "action": action,
        "org": org,
    }


def _no_record(page: Page, record_id: str, acting: Acting | None = None, exc: Exception | None = None) -> str:
    """Why a record's page is not found, in the page's language (the registry says it in English): no such record
    in the file (the resident's, or the organisation's), or one that is no negative record."""
    if isinstance(exc, NotFoundError) and exc.code == "not_negative":
        return page.t("notfound_not_negative", record=quoted(record_id))
    if acting is None:
        return page.t("notfound_record", record=quoted(record_id))
    return page.t("notfound_org_record", record=quoted(record_id), org=acting.subject_id)


def org_header(store: Store, acting: Acting | None) -> dict[str, Any] | None:
    """The organisation a legal representative acts for, as its pages head it (its credit code and name); None for
    a resident's own case."""
    if acting is None:
        return None
    name = store.one("SELECT name FROM current_subjects WHERE subject_id = ?", [acting.subject_id])
    return {"org_id": acting.subject_id, "name": name}


def org_representative(web: Web, page: Page) -> Acting:
    """The signed-in resident acting for the organisation of the path, as its current legal representative
    (``acting.acting_on``, as for its disputes); anyone else is refused as on the organisation's file: 403
    ``not_representative`` (audited as ``access_refused``)."""
    org_id = page.subject_in_path()  # an organisation is a subject: its credit code
    with web.service.writer() as store:
        acting = acting_on(store, _subject(page), org_id, resolve_today())
    if acting is None or acting.representative_id is None:
        raise not_representative(org_id)
    return acting


def _apply(web: Web, page: Page, acting: Acting | None = None) -> Response:
    """An application from the form: the resident's own, or (``acting``) the organisation's by its legal
    representative (kept as ``representative_id``); the same checks, bounds and errors either way."""
    assert page.who is not None
    source_id, record_id = page.form.get("source", "")[:64], page.form.get("record", "")[:128]
    failure = None
    if page.form.get("promise") != "yes":
        failure = page.t("repair_err_promise")
    elif not page.form.get("commitment", "").strip():
        failure = page.t("repair_err_commitment")
    elif not page.form.get("statement", "").strip():
        failure = page.t("repair_err_statement")
    if failure is None:
        try:
            with web.service.writer() as store:
                applied = apply_for_repair(
                    store,
                    _subject(page) if acting is None else acting.subject_id,
                    source_id,
                    record_id,
                    page.form.get("statement", ""),
                    page.who.actor,
                    commitment=page.form.get("commitment", ""),
                    evidence=page.form.get("evidence") or None,
                    representative_id=None if acting is None else acting.representative_id,
                )
        except WorkflowError as exc:
            if exc.code in ("unknown_record", "unknown_source"):
                raise NotFoundError(_no_record(page, record_id, acting)) from None
            key = _FAILURES.get(exc.code)
            failure = page.t(key) if key else str(exc)
        else:
            query = urlencode({"source": source_id, "record": record_id, "applied": applied["repair_id"]})
            base = "/me/repair" if acting is None else f"/orgs/{acting.subject_id}/repair"
            return page.redirect(f"{base}?{query}#status")
    context = _repair_context(web, page, source_id, record_id, acting)
    return page.render("me_repair.html", 400, section="overview", failure=failure, **context)


def add_routes(router: APIRouter, web: Web) -> None:
    @router.get("/me/listings/{listing_id}")
    @web.page("resident")
    def listing(page: Page) -> Response:
        assert page.who is not None
        raw = str(page.request.path_params["listing_id"])
        with web.service.writer() as store:
            try:
                # audited (read_listing), as the resident's other pages are: their own read, not shown among who asked
                detail = listing_detail(
                    store,
                    _subject(page),
                    _int(raw),
                    lang=page.lang,
                    today=resolve_today(),
                    actor=page.who.actor,
                    purpose="resident portal: listing",
                )
                held_now(store, [detail], web.service.live_views(_subject(page)), page.lang)
            except NotFoundError:  # another's or none: told in the page's language, quoting what was asked
                raise NotFoundError(page.t("notfound_listing", listing=quoted(raw))) from None
        return page.render("me_listing.html", section="overview", detail=detail, kind="listing")

    @router.get("/me/records/detail")
    @web.page("resident")
    def negative_record(page: Page) -> Response:
        assert page.who is not None
        source_id, record_id = page.query("source"), page.query("record")
        with web.service.writer() as store:
            try:
                detail = record_detail(
                    store,
                    _subject(page),
                    source_id,
                    record_id,
                    lang=page.lang,
                    today=resolve_today(),
                    actor=page.who.actor,  # audited (read_record)
                    purpose="resident portal: record",
                )
            except (WorkflowError, NotFoundError) as exc:
                raise NotFoundError(_no_record(page, record_id, exc=exc)) from exc
        if detail["listing_id"] is not None:
            detail["listing_href"] = f"/me/listings/{detail['listing_id']}"
        return page.render("me_listing.html", section="records", detail=detail, kind="record")

    @router.get("/me/repair")
    @web.page("resident")
    def repair(page: Page) -> Response:
        context = _repair_context(web, page, page.query("source"), page.query("record"), reading=True)
        return page.render("me_repair.html", section="overview", **context)

    @router.post("/me/repair")
    @web.page("resident")
    def repair_apply(page: Page) -> Response:
        return _apply(web, page)

    @router.get("/orgs/{subject_id}/repair")
    @web.page("resident")
    def org_repair(page: Page) -> Response:
        acting = org_representative(web, page)
        context = _repair_context(web, page, page.query("source"), page.query("record"), acting, reading=True)
        return page.render("me_repair.html", section="overview", **context)

    @router.post("/orgs/{subject_id}/repair")
    @web.page("resident")
    def org_repair_apply(page: Page) -> Response:
        return _apply(web, page, org_representative(web, page))

    @router.get("/ops/repairs")
    @web.page("operator")
    def repairs(page: Page) -> Response:
        assert page.who is not None
        today = resolve_today()
        with web.service.writer() as store:
            rows = list_repairs(store, actor=page.who.actor)  # audited, as the API's GET /v1/repairs is
        pending = sorted(
            (r for r in rows if r["status"] == "pending"), key=lambda r: (r["answer_due"] or "", r["repair_id"])
        )
        decided = [r for r in rows if r["status"] != "pending"]
        for r in pending:
            r["overdue"] = bool(r["answer_due"] and r["answer_due"] < today.isoformat())
        return page.render(
            "ops_repairs.html",
            section="cases",
            pending=pending[:REPAIRS_SHOWN],
            n_pending=len(pending),
            decided=decided[:REPAIRS_SHOWN],
            n_decided=len(decided),
            shown=REPAIRS_SHOWN,
            today=today.isoformat(),
        )

    @router.get("/ops/repairs/{repair_id}")
    @web.page("operator")
    def repair_case(page: Page) -> Response:
        return page.render("ops_repair.html", section="cases", **_case(web, page, reading=True))

    @router.post("/ops/repairs/{repair_id}/review")
    @web.page("operator")
    def repair_review(page: Page) -> Response:
        assert page.who is not None
        repair_id = _int(page.request.path_params["repair_id"])
        try:
            with web.service.writer() as store:
                start_review(store, repair_id, page.who.actor, today=resolve_today())
        except NotFoundError:
            raise _no_repair(page) from None
        except WorkflowError as exc:  # in the page's language, in words of a review (the registry's clock set back)
            key = _REVIEW_FAILURES.get(exc.code) or _FAILURES.get(exc.code)
            failure = page.t(key) if key else str(exc)
            return page.render("ops_repair.html", 400, section="cases", failure=failure, **_case(web, page))
        return page.redirect(f"/ops/repairs/{repair_id}?reviewing=1")

    @router.post("/ops/repairs/{repair_id}/decision")
    @web.page("operator")
    def repair_decide(page: Page) -> Response:
        assert page.who is not None
        repair_id = _int(page.request.path_params["repair_id"])
        outcome = {"grant": "approved", "refuse": "refused"}.get(page.form.get("outcome", ""))
        reason = page.form.get("reason", "")
        failure = None
        if outcome is None:
            failure = page.t("repair_err_outcome")
        elif not reason.strip():
            failure = page.t("repair_err_reason")
        else:
            try:
                with web.service.writer() as store:
                    decide_repair(store, repair_id, outcome, reason, page.who.actor, today=resolve_today())
            except NotFoundError:
                raise _no_repair(page) from None
            except WorkflowError as exc:  # in the page's language (a second press of the button: decided already)
                key = _DECISION_FAILURES.get(exc.code) or _FAILURES.get(exc.code)
                failure = page.t(key) if key else str(exc)
            else:
                return page.redirect(f"/ops/repairs/{repair_id}?decided=1")
        return page.render("ops_repair.html", 400, section="cases", failure=failure, **_case(web, page))


def _no_repair(page: Page) -> NotFoundError:
    """No application of the page's address (none, or no whole number): in the page's language, quoting what was
    asked (the registry's English said ``no repair application -1`` for ``x``)."""
    raw = str(page.request.path_params["repair_id"])
    return NotFoundError(page.t("notfound_repair", repair=quoted(raw)))


def _case(web: Web, page: Page, *, reading: bool = False) -> dict[str, Any]:
    """One application for the operator: the application, the record, the eligibility as of today, the listings.
    ``reading`` (the page's own, not the page again after a refused step): the look-up is audited (``read_repair``,
    shown in the resident's list of who asked, and the listings it shows ``read_notices``), as the API's
    ``GET /v1/repairs/{id}`` of an operator is."""
    assert page.who is not None
    repair_id = _int(page.request.path_params["repair_id"])
    today = resolve_today()
    why = "operator look-up: repair"
    with web.service.writer() as store:
        try:
            r = get_repair(store, repair_id)
        except NotFoundError:
            raise _no_repair(page) from None
        reader = page.who.actor if reading else None
        if reader is not None:
            audit_case_read(store, reader, "repair", r, why)
        eligibility = repair_eligibility(
            store, r["subject_id"], r["source_id"], r["record_id"], today=today, policy_id=r["policy_id"] or None
        )
        try:
            detail = record_detail(store, r["subject_id"], r["source_id"], r["record_id"], lang=page.lang, today=today)
        except NotFoundError:  # no longer a negative record here (withdrawn, corrected): the application still is
            src = store.catalog.sources.get(r["source_id"])
            name = src.name.get(page.lang) if src else r["source_id"]
            detail = {
                "record": {"record_type": "", "reference": r["record_id"], "amount": None, "source": {"name": name}}
            }
        listings = [
            x
            for x in list_listings(store, subject_id=r["subject_id"], actor=reader, purpose=why)
            if x["source_id"] == r["source_id"] and x["record_id"] == r["record_id"]
        ]
        took_effect_days(store, listings)  # the day each took effect, as the resident's page says it
    return {
        "r": r,
        "eligibility": eligibility,
        "detail": detail,
        "listings": listings,
        "overdue": bool(r["status"] == "pending" and r["answer_due"] and r["answer_due"] < today.isoformat()),
        "reason": page.form.get("reason", ""),
        "decided": page.query("decided"),
        "reviewing": page.query("reviewing"),
        "repair_href": repair_href,
    }
