"""The resident portal: one's own file only — the session names the subject; no page takes a subject id."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from socialcredit.clock import resolve_today
from socialcredit.errors import NotFoundError, WorkflowError, quoted
from socialcredit.identifiers import fold_record_id
from socialcredit.policy.model import Policy
from socialcredit.registry.access.parties import own_actors
from socialcredit.registry.decisions.live import LiveView
from socialcredit.registry.due_process.acting import Acting, acting_on
from socialcredit.registry.due_process.disputes import add_information, file_dispute, get_dispute, list_disputes
from socialcredit.registry.due_process.enrollment import mandatory_since
from socialcredit.registry.due_process.links import file_link_dispute
from socialcredit.registry.due_process.listings import list_listings
from socialcredit.registry.due_process.notifications import list_notifications
from socialcredit.registry.due_process.repair import list_repairs
from socialcredit.registry.records.consent import consent_history, set_consent
from socialcredit.registry.reporting.file_page import file_names
from socialcredit.registry.reporting.listing_details import held_now
from socialcredit.registry.reporting.policy_text import anchor_of, notice_hrefs, policy_href, reason_anchors
from socialcredit.registry.reporting.report import PARTS, subject_report
from socialcredit.registry.reporting.resident_file import render_html
from socialcredit.registry.scoring.policies import get_policy, policies_in_use
from socialcredit.registry.scoring.runs import in_force_sql, scored_policy_ids
from socialcredit.store import Store
from socialcredit.web.charts import diverging
from socialcredit.web.codes import name_codes, name_listings, tier_label
from socialcredit.web.core import Page, Web, confirmed, whole_number
from socialcredit.web.disputes_page import dispute_refusal, resident_dispute_page
from socialcredit.web.freeze_page import freeze_context
from socialcredit.web.repair_pages import (
    listings_context,
    notices_context,
    org_header,
    org_representative,
    records_context,
    service_reasons,
)

__all__ = ["add_routes", "file_context", "inquiries_page"]

INQUIRIES_SHOWN = 50  # who asked, a page of /me/inquiries


def _subject(page: Page) -> str:
    assert page.who is not None and page.who.subject_id is not None  # a resident session always names one
    return page.who.subject_id


def _link_rules(s: dict[str, Any], policy: Policy) -> None:
    """Links from a score's reasons, services and listings to their rules on the public policy page."""
    anchors = reason_anchors(policy)
    s["rules_href"] = policy_href(s["policy"], s["policy_version"])
    s["reasons"] = [
        {**r, "rule_href": policy_href(s["policy"], s["policy_version"], anchors.get(r["code"]))} for r in s["reasons"]
    ]
    for svc in s["services"]:
        svc["rule_href"] = policy_href(s["policy"], s["policy_version"], anchor_of("service", svc["service"]))
    for e in s["lists"]:
        e["rule_href"] = policy_href(
            s["policy"], s["policy_version"], anchor_of("list", f"{e['list']}.{e['criterion']}")
        )


def file_context(
    store: Store,
    page: Page,
    subject_id: str,
    purpose: str,
    live: Mapping[int, LiveView] | None = None,
    parts: Collection[str] = PARTS,
    record_rows: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A subject's file (the read is audited by the registry), with what the pages draw from it; ``live`` is the
    subject as rescored since the runs (the service's snapshots); ``parts`` what the page shows of it;
    ``record_rows`` receives the stored record versions read (``subject_report``). Who asked is the page of them
    the address asks for (``?page=``, :func:`inquiries_page`), with their number in ``inquiries_total``."""
    assert page.who is not None
    report = subject_report(
        store,
        subject_id,
        lang=page.lang,
        actor=page.who.actor,
        purpose=purpose,
        live=live,
        parts=parts,
        record_rows=record_rows,
        inquiries_page=_inquiries_window(page) if "inquiries" in parts else None,
    )
    for s in report["scores"]:
        policy = get_policy(store, s["policy"], s["policy_version"]).policy
        s["policy_name"] = policy.name.get(page.lang)
        tier = next((t for t in policy.tiers if t.id == s["tier"]), None)
        s["tier_name"] = tier.name.get(page.lang) if tier and tier.name else ""
        s["tier_label"] = tier_label(s["tier"], s["tier_name"])
        s["list_names"] = {lst.id: lst.name.get(page.lang) for lst in policy.lists}
        names = {svc.id: svc.name.get(page.lang) for svc in policy.services}
        for svc in s["services"]:
            svc["name"] = names.get(svc["service"], svc["service"])
        _link_rules(s, policy)
        s["chart"] = diverging(
            [(d["name"], d["points"], d["min"], d["max"]) for d in s["dimensions"]],
            title=page.t("chart_dimensions_title", policy=s["policy_name"]),
            desc=page.t("chart_dimensions_desc"),
        )
    name_codes(report, page.lang)
    # a page without the scores (/me/records) named each record's effect by the policy's id ("beijing -50" on a
    # Chinese page): the policies the records count under, by the names the versions of their runs in force give
    # them, as the scores name them (a records' contributions are of those runs; a newer version may rename it)
    counted = {pid for r in report.get("records", []) for pid in r.get("contribution") or {}}
    unnamed = counted - set(report["policy_names"])
    if unnamed:
        for run in store.rows(f"SELECT policy_id, policy_version FROM ({in_force_sql()})"):
            if run["policy_id"] in unnamed:
                policy = get_policy(store, run["policy_id"], run["policy_version"]).policy
                report["policy_names"][run["policy_id"]] = policy.name.get(page.lang)
    _name_inquiries(store, report, page.lang)
    return report


def _name_inquiries(store: Store, report: dict[str, Any], lang: str) -> None:
    """Each inquiry's policy and service by the names the policy version it was decided under gives them: a page
    without the scores (``/me/inquiries``) named the service by its code ("air travel" on a Chinese page), and
    every page the policy by its id ("依据政策 beijing 2026.2")."""
    policies: dict[tuple[str, str], Policy | None] = {}
    for q in report.get("inquiries", []):
        if not q.get("policy_id"):
            continue
        key = (str(q["policy_id"]), str(q["policy_version"]))
        if key not in policies:
            try:
                policies[key] = get_policy(store, *key).policy
            except NotFoundError:
                policies[key] = None
        policy = policies[key]
        if policy is None:
            continue
        q["policy_name"] = policy.name.get(lang)
        service = next((svc for svc in policy.services if svc.id == q.get("service")), None)
        if service is not None:
            q["service_name"] = service.name.get(lang)


def _page_number(page: Page) -> tuple[str, int | None]:
    """The page of who asked the address asks for (``?page=``, 1 if none), as sent and as a number (None: none)."""
    raw = page.query("page", "1") or "1"
    return raw, whole_number(raw, 8)


def _inquiries_window(page: Page) -> tuple[int, int]:
    """The (offset, count) of who asked that the page shows: the registry reads that page alone (a page number
    that is none reads none, and is answered 400 by :func:`inquiries_page`)."""
    number = _page_number(page)[1]
    return ((number - 1) * INQUIRIES_SHOWN, INQUIRIES_SHOWN) if number else (0, 0)


def inquiries_page(page: Page, report: dict[str, Any], path: str) -> dict[str, Any] | Response:
    """The paging of the report's inquiries (``?page=``, newest first, INQUIRIES_SHOWN a page; the registry read
    that page alone, ``file_context``): the total, the pages, the previous and next page's address at ``path``; or
    the 400 page of a page number out of bounds. A resident asked about 10 000 times (every ticket bought is asked)
    was sent all of them, 3.3 MB; then every one was still read and built to show 50."""
    raw, number = _page_number(page)
    everyone = int(report["inquiries_total"])
    pages = max(1, -(-everyone // INQUIRIES_SHOWN))
    if number is None or not 1 <= number <= pages:
        failure = page.t("inquiries_err_page", most=pages, sent=quoted(raw))
        return page.error(400, "error_bad_request_title", failure)
    return {
        "total": everyone,
        "page": number,
        "pages": pages,
        "prev": f"{path}?page={number - 1}" if number > 1 else None,
        "next": f"{path}?page={number + 1}" if number < pages else None,
    }


def add_routes(router: APIRouter, web: Web) -> None:
    def own_file(
        store: Store,
        page: Page,
        purpose: str,
        parts: Collection[str],
        record_rows: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The parts of the signed-in resident's file a page shows, as patched live since the runs."""
        live = web.service.live_views(_subject(page))
        return file_context(store, page, _subject(page), purpose, live, parts, record_rows)

    @router.get("/me")
    @web.page("resident")
    def overview(page: Page) -> Response:
        assert page.who is not None
        with web.service.writer() as store:
            report = own_file(store, page, "resident portal: overview", ("scores",))
            # audited (read_notices), as the API's GET /v1/notices of the resident's own is
            listings = list_listings(store, subject_id=_subject(page), actor=page.who.actor)
            name_listings(store, listings, page.lang)
            notifications = list_notifications(store, _subject(page), page.lang, actor=page.who.actor)
            rules = notice_hrefs(store, notifications)
            # each listing with its details, its notice and refused services' reasons as of today (repair_pages.py)
            today = resolve_today()
            details = listings_context(store, page, _subject(page), today, listings)
            # as decisions stand now: a listing whose cause the live thread no longer finds says so (not "listed")
            held_now(store, details, web.service.live_views(_subject(page)), page.lang)
            notices_context(store, page, _subject(page), notifications, today, details)
            service_reasons(store, page, report, details)
        for n in notifications:
            n["rule_href"] = rules[n["notification_id"]]
        for x in listings:
            x["rule_href"] = policy_href(
                x["policy_id"], anchor=anchor_of("list", f"{x['list_id']}.{x['criterion_id']}")
            )
        hrefs = {x["listing_id"]: x["rule_href"] for x in listings}
        for d in details:
            d["rule_href"] = hrefs.get(d["listing_id"])
        return page.render(
            "me_overview.html",
            report=report,
            section="overview",
            pending=[x for x in listings if x["status"] == "pending"],
            listings=details,
            notifications=list(reversed(notifications))[:20],
        )

    @router.get("/me/records")
    @web.page("resident")
    def records(page: Page) -> Response:
        with web.service.writer() as store:
            rows: list[dict[str, Any]] = []  # the records as the file read them: read once for the page
            report = own_file(store, page, "resident portal: records", ("records",), rows)
            records_context(store, page, _subject(page), report, resolve_today(), rows)  # negative records' details
        contested = confirmed(page.query("contested"), (d["dispute_id"] for d in report.get("link_disputes", [])))
        return page.render("me_records.html", report=report, section="records", dispute_links=True, contested=contested)

    @router.post("/me/links/{identity_id}/dispute")
    @web.page("resident")
    def link_dispute(page: Page) -> Response:
        """Contest the link of another region's identity to the resident (someone else's link: as if none)."""
        assert page.who is not None
        raw = str(page.request.path_params["identity_id"])
        identity_id = whole_number(raw) or -1
        try:
            with web.service.writer() as store:
                filed = file_link_dispute(
                    store, _subject(page), identity_id, page.form.get("reason", ""), actor=page.who.actor
                )
        except NotFoundError:  # in the page's language (the registry's English was shown on the Chinese page)
            raise NotFoundError(page.t("notfound_link", identity=quoted(raw))) from None
        except WorkflowError as exc:
            with web.service.writer() as store:
                report = own_file(store, page, "resident portal: records", ("records",))
            # in the page's language: the link contested already, or the reason's (as a dispute's)
            failure = (
                page.t("link_err_already_disputed") if exc.code == "already_disputed" else dispute_refusal(page, exc)
            )
            return page.render(
                "me_records.html", 400, report=report, section="records", dispute_links=True, failure=failure
            )
        return page.redirect(f"/me/records?contested={filed['dispute_id']}#links")

    @router.get("/me/inquiries")
    @web.page("resident")
    def inquiries(page: Page) -> Response:
        with web.service.writer() as store:
            # the journal's inquiries first (a decision a moment ago), as the API's file does: the background flush
            # lags while the writer is busy, and the resident who refreshed right after a decision did not see it
            web.service.flush_for_reading()
            report = own_file(store, page, "resident portal: inquiries", ("inquiries",))
        paging = inquiries_page(page, report, "/me/inquiries")
        if isinstance(paging, Response):
            return paging
        # the resident's freezes and alerts are listed with who asked (web/freeze_page.py)
        history = freeze_context(web, page, read=False)["history"]  # the page's read is audited (own_file)
        return page.render("me_inquiries.html", report=report, section="inquiries", history=history, paging=paging)

    @router.get("/me/disputes")
    @web.page("resident")
    def disputes(page: Page) -> Response:
        return page.render("me_disputes.html", section="disputes", **_disputes(web, page))

    @router.post("/me/disputes")
    @web.page("resident")
    def dispute_file(page: Page) -> Response:
        return _file_dispute(web, page)

    @router.get("/orgs/{subject_id}/disputes")  # an organisation is a subject: its credit code
    @web.page("resident")
    def org_disputes(page: Page) -> Response:
        acting = org_representative(web, page)
        return page.render("me_disputes.html", section="disputes", **_disputes(web, page, acting))

    @router.post("/orgs/{subject_id}/disputes")
    @web.page("resident")
    def org_dispute_file(page: Page) -> Response:
        return _file_dispute(web, page, org_representative(web, page))

    @router.post("/me/disputes/{dispute_id}/information")
    @web.page("resident")
    def dispute_information(page: Page) -> Response:
        assert page.who is not None
        raw = str(page.request.path_params["dispute_id"])
        dispute_id = whole_number(raw) or -1
        # sent from the dispute's own page (where the legal representative acts for their organisation): back there
        from_page = page.form.get("from") == "dispute"
        d: dict[str, Any] | None = None
        try:
            with web.service.writer() as store:
                # the resident's own, or their organisation's as its legal representative (registry/due_process/
                # acting.py); someone else's dispute is answered exactly as one that does not exist
                d = get_dispute(store, dispute_id) if dispute_id > 0 else None
                acting = None if d is None else acting_on(store, _subject(page), str(d["subject_id"]), resolve_today())
                if acting is None:
                    raise NotFoundError(page.t("notfound_dispute", dispute=quoted(raw)))
                add_information(
                    store,
                    dispute_id,
                    page.form.get("text", ""),
                    actor=page.who.actor,
                    representative_id=acting.representative_id,
                )
        except WorkflowError as exc:
            failure = dispute_refusal(page, exc, d=d)
            if from_page:
                return resident_dispute_page(web, page, 400, failure=failure)
            context = _disputes(web, page)
            return page.render("me_disputes.html", 400, section="disputes", failure=failure, **context)
        if from_page:
            return page.redirect(f"/me/disputes/{dispute_id}?informed=1")
        return page.redirect(f"/me/disputes?added={dispute_id}")

    @router.get("/me/consents")
    @web.page("resident")
    def consents(page: Page) -> Response:
        return page.render("me_consents.html", section="consents", **_consents(web, page))

    @router.post("/me/consents")
    @web.page("resident")
    def consent_change(page: Page) -> Response:
        category = page.form.get("category", "")
        choice = page.form.get("granted", "")
        if choice not in ("yes", "no"):
            return page.error(400, "error_bad_request_title", page.t("consent_choice_missing"))
        assert page.who is not None
        with web.service.writer() as store:
            if category not in store.catalog.categories:  # the registry's refusal is in English and lists codes
                known = "、".join if page.lang == "zh" else ", ".join
                names = known(c.name.get(page.lang) for c in store.catalog.categories.values())
                failure = page.t("consent_category_unknown", category=repr(category[:64]), known=names)
                return page.error(400, "error_bad_request_title", failure)
            set_consent(store, _subject(page), category, choice == "yes", actor=page.who.actor)
        return page.redirect(f"/me/consents?saved={category}")

    @router.get("/me/file")
    @web.page("resident")
    def download(page: Page) -> Response:
        """Everything the registry holds about the resident, as JSON to keep (the export is audited)."""
        assert page.who is not None
        with web.service.writer() as store:
            web.service.flush_for_reading()  # every inquiry answered so far (as the API's file)
            file = web.service.file_of(store, _subject(page), lang=page.lang, actor=page.who.actor)
        body = json.dumps(file, ensure_ascii=False, indent=2, default=str)
        return Response(
            body,
            media_type="application/json; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="socialcredit-{_subject(page)}.json"'},
        )

    @router.get("/me/file.html")
    @web.page("resident")
    def printable(page: Page) -> Response:
        """The same file as one page to read, print or save."""
        assert page.who is not None
        with web.service.writer() as store:
            web.service.flush_for_reading()  # every inquiry answered so far (as the API's file)
            file = web.service.file_of(store, _subject(page), lang=page.lang, actor=page.who.actor)
            names = file_names(store, file, page.lang)
            catalog = store.catalog
        response = Response(render_html(file, page.lang, names, catalog), media_type="text/html; charset=utf-8")
        # the page carries its own small stylesheet inline, and nothing else
        response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
        return response


def _file_dispute(web: Web, page: Page, acting: Acting | None = None) -> Response:
    """A dispute from the form: of the resident's own record, or (``acting``) of the organisation's by its legal
    representative (kept as ``representative_id``); the same registry service, bounds and errors either way."""
    assert page.who is not None
    source_id, _, record_id = page.form.get("record", "")[:200].partition("|")
    subject = _subject(page) if acting is None else acting.subject_id
    try:
        with web.service.writer() as store:
            filed = file_dispute(
                store,
                subject,
                source_id,
                record_id,
                page.form.get("reason", ""),
                page.form.get("evidence") or None,
                actor=page.who.actor,
                representative_id=None if acting is None else acting.representative_id,
            )
    except WorkflowError as exc:
        context = _disputes(web, page, acting)
        folded = fold_record_id(record_id)  # the record in either width (identifiers.fold_record_id)
        held = [
            d
            for d in context["disputes"]
            if (d["source_id"], d["record_id"], d["status"]) == (source_id, folded, "open")
        ]
        failure = dispute_refusal(page, exc, record=folded, d=held[0] if held else None)
        return page.render("me_disputes.html", 400, section="disputes", failure=failure, **context)
    base = "/me/disputes" if acting is None else f"/orgs/{subject}/disputes"
    return page.redirect(f"{base}?filed={filed['dispute_id']}")


def _disputes(web: Web, page: Page, acting: Acting | None = None) -> dict[str, Any]:
    """The resident's disputes (newest first, each with what they added) and the records they may dispute; or
    (``acting``) the organisation's, for its legal representative. The reads of the disputes and of the repair
    applications are audited (``read_disputes``, ``read_repairs``), as the API's ``GET /v1/disputes`` and
    ``GET /v1/repairs`` are."""
    assert page.who is not None
    subject = _subject(page) if acting is None else acting.subject_id
    with web.service.writer() as store:
        found = list_disputes(store, subject_id=subject, actor=page.who.actor)
        mine = [get_dispute(store, int(d["dispute_id"])) for d in found]
        report = subject_report(
            store,
            subject,
            lang=page.lang,
            actor=page.who.actor,
            purpose="disputes" if acting is None else "disputes of the organisation (legal representative)",
            parts=("records",),
            points=False,  # the page names the records it may dispute, not what they count
        )
        org = org_header(store, acting)
        repairs = list_repairs(store, subject_id=subject, actor=page.who.actor)
    open_records = {(d["source_id"], d["record_id"]) for d in mine if d["status"] == "open"}
    records = [
        r
        for r in report["records"]
        if r["status"] not in ("withdrawn", "superseded") and (r["source_id"], r["record_id"]) not in open_records
    ]
    return {
        "disputes": mine,
        "repairs": repairs,
        "records": records,
        # the banners of a dispute just filed or added to: only one of the page's own disputes
        "filed": confirmed(page.query("filed"), (d["dispute_id"] for d in mine)),
        "added": confirmed(page.query("added"), (d["dispute_id"] for d in mine)),
        "chosen": page.form.get("record", page.query("record")),
        "reason": page.form.get("reason", ""),
        "evidence": page.form.get("evidence", ""),
        "action": "/me/disputes" if acting is None else f"/orgs/{subject}/disputes",
        "org": org,
    }


def _consents(web: Web, page: Page) -> dict[str, Any]:
    """Each data category: the current choice, its history, and which policies count it only with consent. The read is
    audited (``read_consents``), as the API's ``GET /v1/consents`` is."""
    assert page.who is not None
    with web.service.writer() as store:
        catalog = store.catalog  # the store's latest: a category it adds is chosen like a shipped one
        history = consent_history(store, _subject(page), actor=page.who.actor)
        own = own_actors(store, _subject(page), page.who.actor)  # a choice made with any of these is theirs
        scored = scored_policy_ids(store)
        # each policy as its run in force scores (the version it used), as its decisions stand
        policies = [lp.policy for lp in policies_in_use(store) if lp.policy.id in scored]
        # from a policy's mandatory date, as its run in force counts it: whatever the choice (as scoring does)
        mandatory = mandatory_since(store)
    rows = []
    for cat_id, cat in catalog.categories.items():
        mine = [h for h in history if h["category"] == cat_id]
        counted = {m["policy_id"] for m in mandatory.get(cat_id, [])}
        needing = [
            {"name": p.name.get(page.lang), "from": p.consent.mandatory_from, "since": p.id in counted}
            for p in policies
            if cat_id in p.consent.categories
        ]
        rows.append(
            {
                "id": cat_id,
                "name": cat.name.get(page.lang),
                "granted": mine[-1]["granted"] if mine else None,
                "history": [
                    {**h, "by": page.t("by_you") if h["actor"] in own else page.t("by_registry")}
                    for h in reversed(mine)
                ],
                "policies": needing,
            }
        )
    return {"categories_rows": rows, "saved": confirmed(page.query("saved"), catalog.categories)}
