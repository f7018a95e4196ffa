"""The resident's score history (/me/history): every run of every policy, newest first, with what changed."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from socialcredit.registry.reporting.history import score_history
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
        return page.render("me_history.html", history=found, section="history")
