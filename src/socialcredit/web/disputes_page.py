"""A dispute's own pages: the resident's (information, evidence files, withdrawal; the legal representative's for
their organisation's dispute), the furnisher's (its open disputes, answered
there) and the operator's (escalation to a human review, the reviewer's decision).

Each calls the same registry functions as the HTTP API and the command line. Another resident's dispute, or a
dispute of another source, is answered exactly as one that does not exist (404). Evidence files are read from the
form in memory (``Web.page(files=True)``) and kept in the store; a file over 1 MiB is a 413 page, a file that is not
a PDF, PNG or JPEG a 415 page, each naming the limit or the types.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from socialcredit.clock import resolve_today
from socialcredit.errors import (
    NotFoundError,
    PayloadTooLargeError,
    SocialCreditError,
    UnsupportedMediaError,
    WorkflowError,
    quoted,
)
from socialcredit.registry.due_process.acting import acting_on, audit_case_read, audit_read_for_org
from socialcredit.registry.due_process.disputes import (
    DisputedAgainError,
    answer_dispute,
    decide_review,
    escalate_dispute,
    get_dispute,
    list_disputes,
    withdraw_dispute,
)
from socialcredit.registry.due_process.evidence import MAX_FILES, add_evidence, content_disposition, evidence_file
from socialcredit.web.core import Page, Web, confirmed, whole_number

__all__ = ["add_routes", "dispute_refusal", "resident_dispute_page"]


def _dispute_id(page: Page) -> int:
    raw = str(page.request.path_params["dispute_id"])
    return whole_number(raw) or -1


def _owned(web: Web, page: Page, dispute_id: int, *, reading: str = "") -> dict[str, Any]:
    """The dispute, if the signed-in party may see it: its resident (or the current legal representative of the
    organisation it is about: ``acting_representative``, a reading audited as ``read_for_org``), its source's
    furnisher, an operator. ``reading``, the purpose of a page that shows it: the reading is audited
    (``read_dispute``, or the representative's ``read_for_org``), as the API's ``GET /v1/disputes/{id}`` is."""
    who = page.who
    assert who is not None
    acting = None
    with web.service.writer() as store:
        try:
            d = get_dispute(store, dispute_id) if dispute_id > 0 else None
        except NotFoundError:
            d = None
        if d is not None and who.role == "resident":
            acting = acting_on(store, who.subject_id, str(d["subject_id"]), resolve_today())
            if reading and acting is not None and acting.representative_id is not None:
                audit_read_for_org(store, who.actor, acting, {"dispute_id": dispute_id})
        mine = d is not None and (
            who.role == "operator"
            or acting is not None
            or (who.role == "furnisher" and d["source_id"] == who.source_id)
        )
        if d is None or not mine:
            # quoting the address as sent: /me/disputes/abc said "异议 -1"
            raw = str(page.request.path_params["dispute_id"])
            raise NotFoundError(page.t("notfound_dispute", dispute=quoted(raw)))
        if reading and (acting is None or acting.representative_id is None):
            audit_case_read(store, who.actor, "dispute", d, reading)
    d["acting_representative"] = acting.representative_id if acting is not None else None
    return d


def _download(web: Web, page: Page) -> Response:
    """An evidence file of a dispute the signed-in party may see (audited)."""
    assert page.who is not None
    dispute_id = _dispute_id(page)
    _owned(web, page, dispute_id)
    raw = str(page.request.path_params["evidence_id"])
    evidence_id = whole_number(raw) or -1
    with web.service.writer() as store:
        # by who downloads it, as the dispute's reading is named: only an operator's is shown to the resident
        purpose = "operator look-up" if page.who.role == "operator" else f"{page.who.role} portal"
        purpose += ": dispute evidence"
        meta, content = evidence_file(store, dispute_id, evidence_id, page.who.actor, purpose=purpose)
    return Response(
        content,
        media_type=meta["media_type"],
        headers={
            "Content-Disposition": content_disposition(meta["file_name"]),
            "X-Content-Type-Options": "nosniff",
        },
    )


def resident_dispute_page(web: Web, page: Page, status: int = 200, **context: Any) -> Response:
    """The resident's page of one dispute (their own, or their organisation's as its legal representative)."""
    d = _owned(web, page, _dispute_id(page), reading="resident portal: dispute" if status == 200 else "")
    if page.query("filed"):
        context.setdefault("done", page.t("dispute_filed_here", id=d["dispute_id"]))
    elif page.query("added"):
        context.setdefault("done", page.t("evidence_added"))
    elif page.query("informed"):
        context.setdefault("done", page.t("dispute_added", id=d["dispute_id"]))
    elif page.query("withdrawn"):
        context.setdefault("done", page.t("dispute_withdrawn_done"))
    return page.render("me_dispute.html", status, section="disputes", d=d, max_files=MAX_FILES, **context)


# The registry's codes for a refused step of a resident's dispute, and the page's words for each; a record not in the
# file is told alike whatever the reason (another's, unknown, of an unknown source), as over the API
_REFUSALS = {
    "already_disputed": "dispute_err_already_disputed",
    "under_review": "dispute_err_under_review",
    "before_filing": "dispute_err_before_filing",
    "record_withdrawn": "dispute_err_record_withdrawn",
    "unknown_record": "dispute_err_unknown_record",
    "unknown_source": "dispute_err_unknown_record",
    "too_long": "dispute_err_too_long",
    "control_character": "dispute_err_control_character",
    "dispute_closed": "dispute_err_dispute_closed",
    "deadline_passed": "dispute_err_deadline_passed",
    "dispute_forwarded": "dispute_err_dispute_forwarded",
    "empty_record_id": "dispute_err_no_record",
}


def dispute_refusal(page: Page, exc: SocialCreditError, *, record: str = "", d: dict[str, Any] | None = None) -> str:
    """A refused step of a resident's dispute (filing it for ``record``; adding to or withdrawing the dispute ``d``)
    in the page's language; the registry's own message for a refusal the page has no words for, in the page's language
    when it has one in it."""
    key = f"dispute_err_missing_{exc.field}" if exc.code == "missing_field" else _REFUSALS.get(exc.code, "")
    if key == "dispute_err_unknown_record" and not record:
        key = "dispute_err_no_record"  # the form sent without a record chosen
    if not key:
        return exc.said_in(page.lang)
    status = str(d["status"]) if d else ""
    return page.t(
        key,
        default=exc.said_in(page.lang),
        record=record,
        id=d["dispute_id"] if d else "",
        status=page.t(f"dispute_status_{status}", default=status),
        date=d["deadline"] if d else "",
        field=page.t(f"dispute_field_{exc.field}", default=exc.field or ""),
    )


_ANSWER_REFUSALS = (
    "bad_outcome",
    "dispute_closed",
    "dispute_escalated",
    "dispute_forwarded",
    "deadline_passed",
    "before_filing",
)


def answer_refusal(page: Page, exc: SocialCreditError, d: dict[str, Any]) -> str:
    """A furnisher's answer to the dispute ``d`` refused, in the page's language (the registry's message for a
    refusal the page has no words for)."""
    if exc.code in ("too_long", "control_character"):
        return dispute_refusal(page, exc, d=d)
    if exc.code == "missing_field" or exc.code in _ANSWER_REFUSALS or exc.code == "no_correction":
        key = "answer_err_missing_note" if exc.code == "missing_field" else f"answer_err_{exc.code}"
        return _on_dispute(page, key, exc, d, date=d["deadline"])
    return exc.said_in(page.lang)


def _on_dispute(page: Page, key: str, exc: SocialCreditError, d: dict[str, Any], **more: Any) -> str:
    """The message ``key`` about the dispute ``d`` (its number, status and record), or the registry's own."""
    status = str(d["status"])
    return page.t(
        key,
        default=exc.said_in(page.lang),
        id=d["dispute_id"],
        status=page.t(f"dispute_status_{status}", default=status),
        record=d["record_id"],
        **more,
    )


_REVIEW_REFUSALS = (
    "bad_decision",
    "dispute_closed",
    "dispute_forwarded",
    "already_escalated",
    "before_filing",
    "before_escalation",
    "disputed_again",
    "not_escalated",
    "review_decided",
    "no_correction",
)


def review_refusal(page: Page, exc: SocialCreditError, d: dict[str, Any]) -> str:
    """An operator's escalation or review decision on the dispute ``d`` refused, in the page's language (the
    registry's message for a refusal the page has no words for)."""
    if exc.code in ("too_long", "control_character"):
        return dispute_refusal(page, exc, d=d)
    if exc.code == "missing_field":
        key = f"review_err_missing_{exc.field}"
    elif exc.code in _REVIEW_REFUSALS:
        key = f"review_err_{exc.code}"
    else:
        return exc.said_in(page.lang)
    return _on_dispute(page, key, exc, d, other=exc.other if isinstance(exc, DisputedAgainError) else "")


def _file_refusal(page: Page, exc: SocialCreditError, size: int, d: dict[str, Any]) -> str:
    if isinstance(exc, PayloadTooLargeError):
        return page.t("evidence_too_large", size=f"{size:,}")
    if isinstance(exc, UnsupportedMediaError):
        return page.t("evidence_bad_type")
    if exc.code == "before_filing":
        return dispute_refusal(page, exc, d=d)
    return exc.said_in(page.lang)


def _furnisher_page(web: Web, page: Page, status: int = 200, **context: Any) -> Response:
    """The source's open disputes: each names a resident's record, with their reason, what they added and their
    files, so the read is audited as the API's ``GET /v1/disputes`` audits a furnisher's (``read_disputes``)."""
    who = page.who
    assert who is not None
    if not who.source_id:
        return page.error(403, "error_forbidden_title", page.t("furnisher_no_source"))
    with web.service.writer() as store:
        found = list_disputes(store, source_id=who.source_id, status="open", actor=who.actor)
        disputes = [get_dispute(store, int(d["dispute_id"])) for d in found]
        # the banner after an answer, only for a dispute of this source's that is answered (it quoted any text sent)
        answered = confirmed(
            page.query("answered"),
            [d["dispute_id"] for d in list_disputes(store, source_id=who.source_id) if d["status"] != "open"],
        )
    disputes.sort(key=lambda d: (d["deadline"], d["dispute_id"]))
    return page.render(
        "furnisher_disputes.html",
        status,
        disputes=disputes,
        source_id=who.source_id,
        answered=answered,
        **context,
    )


def _ops_page(web: Web, page: Page, status: int = 200, **context: Any) -> Response:
    """The operator's page of one dispute; its reading is audited (``read_dispute``) and shown in the resident's list
    of who asked, as the API's ``GET /v1/disputes/{id}`` of an operator is (the page again after a refused step is
    not another reading)."""
    d = _owned(web, page, _dispute_id(page), reading="operator look-up: dispute" if status == 200 else "")
    return page.render("ops_dispute.html", status, section="cases", d=d, saved=page.query("saved"), **context)


def add_routes(router: APIRouter, web: Web) -> None:
    # -- the resident -----------------------------------------------------------------------------------------
    @router.get("/me/disputes/{dispute_id}")
    @web.page("resident")
    def my_dispute(page: Page) -> Response:
        return resident_dispute_page(web, page)

    @router.post("/me/disputes/{dispute_id}/evidence")
    @web.page("resident", files=True)
    def my_dispute_evidence(page: Page) -> Response:
        assert page.who is not None
        d = _owned(web, page, _dispute_id(page))
        name, content = page.files.get("file", ("", b""))
        if not content:
            return resident_dispute_page(web, page, 400, failure=page.t("evidence_missing"))
        try:
            with web.service.writer() as store:
                rep = d["acting_representative"]
                add_evidence(store, d["dispute_id"], content, name, page.who.actor, representative_id=rep)
        except (PayloadTooLargeError, UnsupportedMediaError, WorkflowError) as exc:
            return resident_dispute_page(web, page, exc.status, failure=_file_refusal(page, exc, len(content), d))
        return page.redirect(f"/me/disputes/{d['dispute_id']}?added=1")

    @router.get("/me/disputes/{dispute_id}/evidence/{evidence_id}")
    @web.page("resident")
    def my_dispute_file(page: Page) -> Response:
        return _download(web, page)

    @router.post("/me/disputes/{dispute_id}/withdraw")
    @web.page("resident")
    def my_dispute_withdraw(page: Page) -> Response:
        who = page.who
        assert who is not None and who.subject_id is not None
        d = _owned(web, page, _dispute_id(page))
        try:
            with web.service.writer() as store:
                withdraw_dispute(
                    store, d["dispute_id"], who.subject_id, who.actor, reason=page.form.get("reason") or None
                )
        except WorkflowError as exc:
            return resident_dispute_page(web, page, exc.status, failure=dispute_refusal(page, exc, d=d))
        web.service.changed()
        return page.redirect(f"/me/disputes/{d['dispute_id']}?withdrawn=1")

    # -- the furnisher ----------------------------------------------------------------------------------------
    @router.get("/furnisher")
    @web.page("furnisher")
    def furnisher_home(page: Page) -> Response:
        return _furnisher_page(web, page)

    @router.post("/furnisher/disputes/{dispute_id}/answer")
    @web.page("furnisher")
    def furnisher_answer(page: Page) -> Response:
        who = page.who
        assert who is not None
        d = _owned(web, page, _dispute_id(page))
        try:
            with web.service.writer() as store:
                answer_dispute(
                    store,
                    d["dispute_id"],
                    page.form.get("outcome", ""),
                    page.form.get("note", ""),
                    who.actor,
                    source_id=who.source_id,
                )
        except WorkflowError as exc:
            return _furnisher_page(web, page, exc.status, failure=answer_refusal(page, exc, d))
        web.service.changed()
        return page.redirect(f"/furnisher?answered={d['dispute_id']}")

    @router.get("/furnisher/disputes/{dispute_id}/evidence/{evidence_id}")
    @web.page("furnisher")
    def furnisher_file(page: Page) -> Response:
        return _download(web, page)

    # -- the operator -----------------------------------------------------------------------------------------
    @router.get("/ops/disputes/{dispute_id}")
    @web.page("operator")
    def ops_dispute(page: Page) -> Response:
        return _ops_page(web, page)

    @router.post("/ops/disputes/{dispute_id}/escalate")
    @web.page("operator")
    def ops_escalate(page: Page) -> Response:
        assert page.who is not None
        d = _owned(web, page, _dispute_id(page))
        try:
            with web.service.writer() as store:
                escalate_dispute(store, d["dispute_id"], page.form.get("reason", ""), page.who.actor)
        except WorkflowError as exc:
            return _ops_page(web, page, exc.status, failure=review_refusal(page, exc, d))
        return page.redirect(f"/ops/disputes/{d['dispute_id']}?saved=1")

    @router.post("/ops/disputes/{dispute_id}/review")
    @web.page("operator")
    def ops_review(page: Page) -> Response:
        assert page.who is not None
        d = _owned(web, page, _dispute_id(page))
        try:
            with web.service.writer() as store:
                decide_review(
                    store, d["dispute_id"], page.form.get("decision", ""), page.form.get("reasons", ""), page.who.actor
                )
        except WorkflowError as exc:
            return _ops_page(web, page, exc.status, failure=review_refusal(page, exc, d))
        web.service.changed()
        return page.redirect(f"/ops/disputes/{d['dispute_id']}?saved=1")

    @router.get("/ops/disputes/{dispute_id}/evidence/{evidence_id}")
    @web.page("operator")
    def ops_file(page: Page) -> Response:
        return _download(web, page)
