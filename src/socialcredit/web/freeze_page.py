"""The resident's own controls on the portal: freeze the file, lift it for a party or a period, place or remove a
fraud alert (docs/freeze.md). One page, ``/me/freeze``; every change acts at once on the service's decisions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from socialcredit.clock import MONTHS, NotADay, parse_day, resolve_today
from socialcredit.errors import WorkflowError
from socialcredit.registry.access.parties import list_keys, own_actors
from socialcredit.registry.due_process.freeze import (
    freezable_parties,
    freeze_status,
    lift_freeze,
    lift_party,
    place_fraud_alert,
    place_freeze,
    remove_fraud_alert,
)
from socialcredit.store import Store
from socialcredit.web.core import Page, Web

__all__ = ["add_routes", "freeze_context"]

_FAILURES = {
    "already_frozen": "freeze_err_already_frozen",
    "not_frozen": "freeze_err_not_frozen",
    "no_alert": "freeze_err_no_alert",
    "control_character": "freeze_err_report_control",  # only the police report's reference is text
    "until_missing": "freeze_err_until_missing",
    "not_freezable": "freeze_err_not_freezable",
}
# any other refusal by the field it names (a police report's was said "Choose a party.")
_BY_FIELD = {"until": "freeze_err_until", "police_report": "freeze_err_report"}

# the actions the page's forms offer, each by the words of its button
ACTIONS = {
    "place": "freeze_place",
    "lift": "freeze_lift_all",
    "lift_party": "freeze_lift_party",
    "lift_period": "freeze_lift_period",
    "alert": "alert_place",
    "unalert": "alert_remove",
}


def _parties(store: Store) -> dict[str, str]:
    """Every relying party, key id → name: the names the page's lifts and history say (those not revoked)."""
    keys = [k for k in list_keys(store) if k["role"] == "relying_party" and k["revoked_at"] is None]
    return {str(k["key_id"]): str(k["name"]) for k in keys}


def freeze_context(web: Web, page: Page, *, read: bool = True) -> dict[str, Any]:
    """The resident's freeze, alert and history, with the relying parties they may lift the freeze for (by name).
    A read of the file, audited as the API audits the resident's own ``GET /v1/freeze`` (``read_freeze``), unless
    not ``read`` (a page that audited its own read already)."""
    assert page.who is not None and page.who.subject_id is not None
    with web.service.writer() as store:
        actor = page.who.actor if read else None
        status = freeze_status(store, page.who.subject_id, actor=actor, purpose="resident portal: freeze")
        names = _parties(store)
        # a lift is offered only for a party the freeze acts on: it never refuses rail or flights
        offered = freezable_parties(store)
        own = own_actors(store, page.who.subject_id, page.who.actor)
    history = []
    for e in status["history"]:
        by = page.t("by_you") if e["by"] in own else page.t("by_registry")
        party = names.get(str(e.get("party")), str(e.get("party")))
        history.append({"at": e["at"], "text": page.t("freeze_event_" + e["event"], party=party), "by": by})
    lifts = []
    for x in status["lifts"]:
        end = x["until"].isoformat() if x["until"] else page.t("freeze_until_lifted")
        if x["party"]:
            party = names.get(x["party"], x["party"])
            lifts.append(page.t("freeze_lift_for", party=party, start=x["from"].isoformat(), end=end))
        else:
            lifts.append(page.t("freeze_lift_everyone", start=x["from"].isoformat(), end=end))
    return {
        "freeze": status,
        "parties": sorted(offered.items(), key=lambda kv: kv[1]),
        "lifts": lifts,
        "history": history,
        "today": resolve_today(),
    }


def add_routes(router: APIRouter, web: Web) -> None:
    @router.get("/me/freeze")
    @web.page("resident")
    def freeze_page(page: Page) -> Response:
        done = page.request.query_params.get("saved") == "1"
        return page.render("me_freeze.html", section="freeze", saved=done, **freeze_context(web, page))

    @router.post("/me/freeze")
    @web.page("resident")
    def freeze_change(page: Page) -> Response:
        assert page.who is not None and page.who.subject_id is not None
        subject, actor, form = page.who.subject_id, page.who.actor, page.form
        action = form.get("action", "")
        if action not in ACTIONS:  # a form the page does not offer: said as such (it said "choose a party")
            offered = ("、" if page.lang == "zh" else ", ").join(page.t(key) for key in ACTIONS.values())
            said_action = page.t("freeze_err_action", sent=action[:40], offered=offered)
            context = freeze_context(web, page)
            return page.render("me_freeze.html", 400, section="freeze", failure=said_action, **context)
        failure: str | None = None
        until: dt.date | None = None
        said: dict[str, str] = {}
        if form.get("until"):
            try:
                until = parse_day(form["until"])
            except NotADay as exc:  # what is wrong with it: not a day before today
                failure = "freeze_err_not_a_date"
                month = MONTHS[exc.month] if page.lang == "en" else str(exc.month)
                why = page.t(f"date_why_{exc.why}", year=exc.year, month=month, days=exc.days)
                said = {"value": form["until"][:40], "why": why}
        if action == "lift_party" and not form.get("party"):
            failure = "freeze_err_party"
        report = form.get("police_report", "").strip() or None
        if report is not None and len(report) > 100:
            failure = "freeze_err_report"
        if failure is None:
            try:
                with web.service.writer() as store:
                    if action == "place":
                        place_freeze(store, subject, actor=actor)
                    elif action == "lift":
                        lift_freeze(store, subject, actor=actor)
                    elif action == "lift_party":
                        # a relying party's key only (else "Choose a party"); one whose services a freeze never
                        # refuses (rail, flights) is refused by the registry (not_freezable), as every face is
                        party = lift_party(store, form["party"])
                        lift_freeze(store, subject, actor=actor, party=party, until=until)
                    elif action == "lift_period":
                        if until is None:
                            raise WorkflowError("a period needs its last day", field="until", code="until_missing")
                        lift_freeze(store, subject, actor=actor, until=until)
                    elif action == "alert":
                        place_fraud_alert(store, subject, actor=actor, police_report=report)
                    else:  # "unalert", the last of ACTIONS
                        remove_fraud_alert(store, subject, actor=actor)
                    web.service.refresh_guards(store)
            except WorkflowError as exc:
                failure = _FAILURES.get(exc.code, _BY_FIELD.get(exc.field or "", "freeze_err_party"))
        if failure is not None:
            context = freeze_context(web, page)
            return page.render("me_freeze.html", 400, section="freeze", failure=page.t(failure, **said), **context)
        return page.redirect("/me/freeze?saved=1")
