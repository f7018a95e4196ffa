"""The resident's score history (/me/history): every run of every policy, newest first, with what changed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from socialcredit.registry.reporting.history import score_history
from socialcredit.web.codes import tier_label
from socialcredit.web.core import Page, Web

__all__ = ["add_routes"]


def add_routes(router: APIRouter, web: Web) -> None:
    @router.get("/me/history")
    @web.page("resident")
    def history(page: Page) -> Response:
        assert page.who is not None and page.who.subject_id is not None  # a resident session names its subject
        subject_id = page.who.subject_id
        with web.service.writer() as store:
            found = score_history(
                store,
                subject_id,
                lang=page.lang,
                live=web.service.live_views(subject_id),
                actor=page.who.actor,
                purpose="resident portal: history",
            )
        name_tiers(found)
        return page.render("me_history.html", history=found, section="history")


def name_tiers(found: dict[str, Any]) -> None:
    """Each grade of the history as the overview says it (``tier_label``: "D 不诚信", Sesame's "信用较差"), the grade
    before a change too: the registry's change names the grade before by its id, which the page once showed as it is
    ("等级由 fair 变为 poor" on a Chinese page). The grade before is the grade of a run shown above it."""
    for p in found["policies"]:
        labels = {r["tier"]: tier_label(r["tier"], r["tier_name"]) for r in p["runs"]}
        live = p.get("live")
        if live is not None:
            labels.setdefault(live["tier"], tier_label(live["tier"], live["tier_name"]))
        for r in [*p["runs"], *([live] if live is not None else [])]:
            r["tier_label"] = labels[r["tier"]]
            change = r.get("change")
            if change is not None:
                change["tier_before_label"] = labels.get(change["tier_before"], change["tier_before"])
