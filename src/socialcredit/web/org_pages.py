"""An organisation's own file on the site (docs/organisations.md): ``/orgs`` finds organisations by credit code or
name, ``/orgs/{org_id}`` shows the file, for an operator and for the organisation's legal representative (signed in
as a resident); anyone else is refused (403, audited). The file links the representative to the pages where they act
for the organisation: a dispute's page, the resident's form to dispute a record (``/orgs/{org_id}/disputes``,
web/resident.py), and the repair of a negative record (``/orgs/{org_id}/repair``, web/repair_pages.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response

from socialcredit.clock import resolve_today
from socialcredit.errors import IdentifierError, InvalidRequestError, NotFoundError, quoted
from socialcredit.registry.reporting.listing_details import negative_records
from socialcredit.registry.reporting.org_file import (
    MAX_PAGE,
    MAX_QUERY,
    find_orgs,
    org_file,
    render_org_html,
    represented_orgs,
    require_representative,
)
from socialcredit.web.core import Page, Web, whole_number

__all__ = ["add_routes"]

_NOT_REPAIRABLE = ("withdrawn", "superseded", "repaired")
_NOT_DISPUTABLE = ("withdrawn", "superseded", "disputed")  # as the resident's records page (_records.html)


def _org_repair_href(org_id: str, source_id: str, record_id: str) -> str:
    """The representative's page applying for repair of one of the organisation's records (web/repair_pages.py)."""
    return f"/orgs/{org_id}/repair?" + urlencode({"source": source_id, "record": record_id})


def _org_dispute_href(org_id: str, source_id: str, record_id: str) -> str:
    """The representative's form disputing one of the organisation's records (the resident's, web/resident.py)."""
    return f"/orgs/{org_id}/disputes?" + urlencode({"record": f"{source_id}|{record_id}"}) + "#file"


def _section(page: Page) -> str:
    return "subjects" if page.who is not None and page.who.role == "operator" else "overview"


def add_routes(router: APIRouter, web: Web) -> None:
    @router.get("/orgs")
    @web.page("operator", "resident")
    def search(page: Page) -> Response:
        assert page.who is not None
        q = page.query("q").strip()
        raw = page.query("page", "1") or "1"
        # ASCII digits only: int() took ١ and 1_0 (page 10), and a page out of bounds was said in English
        number = whole_number(raw, 8)
        found: dict[str, Any] | None = None
        failure = None
        if q and (number is None or not 1 <= number <= MAX_PAGE):
            failure = page.t("org_err_page", most=MAX_PAGE, sent=quoted(raw))
        elif q and number is not None:
            with web.service.writer() as store:
                only = None
                if page.who.role != "operator":
                    only = represented_orgs(store, str(page.who.subject_id), resolve_today())
                try:
                    found = find_orgs(store, q, page=number, actor=page.who.actor, only=only)
                except IdentifierError as exc:  # an 18-character code that is none: why, in the page's language
                    known = exc.reason in ("length", "format", "checksum")
                    failure = page.t(f"org_err_code_{exc.reason}" if known else "org_err_code", value=q)
                except InvalidRequestError as exc:  # the query's length (the page is checked above)
                    failure = page.t("org_err_query", most=MAX_QUERY) if exc.code == "bad_query" else str(exc)
        status = 422 if failure else 200
        return page.render("org_search.html", status, section=_section(page), q=q, found=found, failure=failure)

    @router.get("/orgs/{subject_id}")  # an organisation is a subject: its credit code
    @web.page("operator", "resident")
    def file(page: Page) -> Response:
        assert page.who is not None
        org_id = page.subject_in_path()
        operator = page.who.role == "operator"
        with web.service.writer() as store:
            if not operator:  # refused: the refused page, audited (Web.page), in the page's language
                require_representative(store, page.who.subject_id, org_id, resolve_today())
            web.service.flush_for_reading()  # the earlier look-ups include the journal's (as the API's file)
            try:
                out = org_file(
                    store,
                    org_id,
                    actor=page.who.actor,
                    as_operator=operator,
                    lang=page.lang,
                    held=web.service.mark_held,
                )
            except IdentifierError as exc:  # why the code is none, in the page's language (it was said in English)
                known = exc.reason in ("length", "format", "checksum")
                said = page.t(f"org_err_code_{exc.reason}" if known else "org_err_code", value=org_id)
                return page.error(400, "error_bad_request_title", said)
            except NotFoundError:
                raise NotFoundError(page.t("notfound_org", org=org_id)) from None
            if not operator:  # the representative disputes a record, applies for repair of a negative one
                code = str(out["organisation"]["org_id"])
                negative = negative_records(store, code)
                for r in out["records"]:
                    if r["status"] not in _NOT_DISPUTABLE:
                        r["dispute_href"] = _org_dispute_href(code, r["source_id"], r["record_id"])
                    if (r["source_id"], r["record_id"]) in negative and r["status"] not in _NOT_REPAIRABLE:
                        r["repair_href"] = _org_repair_href(code, r["source_id"], r["record_id"])
                for r in out["repairs"]:
                    r["href"] = _org_repair_href(code, r["source_id"], r["record_id"]) + "#status"
            else:
                for r in out["repairs"]:
                    r["href"] = f"/ops/repairs/{r['repair_id']}"
        if page.query("print") == "1":
            response = Response(render_org_html(out, page.lang), media_type="text/html; charset=utf-8")
            # the page carries its own small stylesheet inline, and nothing else (as /me/file.html)
            response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
            return response
        # each dispute opens on the page where the operator, or the representative acting for the organisation,
        # takes its next step
        base = "/ops/disputes/" if operator else "/me/disputes/"
        return page.render(
            "org_file.html", section=_section(page), file=out, org=out["organisation"], dispute_base=base
        )
