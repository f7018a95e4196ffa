"""The public policy pages: every published policy and version in plain words, without signing in.

The words come from the registry (``registry.reporting.policy_text``); these pages only lay them out, with the
version history and what changed from the previous version.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from socialcredit.errors import NotFoundError
from socialcredit.registry.reporting.policy_text import policy_changes, policy_history, policy_text
from socialcredit.registry.scoring.memoranda import memoranda_for, memoranda_words
from socialcredit.registry.scoring.policies import get_policy, published_versions
from socialcredit.web.core import Page, Web

__all__ = ["add_routes"]


def _date(value: Any) -> str:
    return str(value)[:10] if value is not None else ""


def _policy_page(web: Web, page: Page, policy_id: str, version: str | None) -> Response:
    with web.service.writer() as store:
        history = policy_history(store, policy_id, page.lang)
        if not history:
            raise NotFoundError(page.t("error_not_found_title") + f": {policy_id}")
        current = str(history[0]["version"])
        shown = version or current
        index = next((i for i, h in enumerate(history) if str(h["version"]) == shown), None)
        if index is None:
            raise NotFoundError(page.t("error_not_found_title") + f": {policy_id} {shown}")
        loaded = get_policy(store, policy_id, shown)
        previous = (
            get_policy(store, policy_id, str(history[index + 1]["version"])) if index + 1 < len(history) else None
        )
        memoranda = memoranda_words(memoranda_for(store, policy_id), loaded.policy, page.lang)
    text = policy_text(loaded, page.lang)
    changes = [c.line(page.lang) for c in policy_changes(previous, loaded, page.lang)] if previous else None
    versions = [
        {
            "version": str(h["version"]),
            "date": _date(h["published_at"]),
            "who": h["published_by"],
            "href": f"/policies/{policy_id}/{h['version']}",
            "this": str(h["version"]) == shown,
        }
        for h in history
    ]
    return page.render(
        "public_policy.html",
        text=text,
        current=current,
        is_current=shown == current,
        versions=versions,
        changes=changes,
        previous=previous.policy.version if previous else None,
        memoranda=memoranda,
    )


def add_routes(router: APIRouter, web: Web) -> None:
    @router.get("/policies")
    @web.page()
    def policies(page: Page) -> Response:
        with web.service.writer() as store:
            rows = published_versions(store, newest_first=True)
            latest: dict[str, dict[str, Any]] = {}
            for r in rows:
                latest.setdefault(str(r["policy_id"]), r)
            items = []
            for policy_id, r in sorted(latest.items()):
                loaded = get_policy(store, policy_id, str(r["version"]))
                p = loaded.policy
                items.append(
                    {
                        "href": f"/policies/{policy_id}",
                        "name": p.name.get(page.lang),
                        "description": p.description.get(page.lang) if p.description else "",
                        "version": p.version,
                        "date": _date(r["published_at"]),
                    }
                )
        return page.render("public_policies.html", items=items)

    @router.get("/policies/{policy_id}")
    @web.page()
    def policy(page: Page) -> Response:
        return _policy_page(web, page, str(page.request.path_params["policy_id"])[:64], None)

    @router.get("/policies/{policy_id}/{version}")
    @web.page()
    def policy_version(page: Page) -> Response:
        params = page.request.path_params
        return _policy_page(web, page, str(params["policy_id"])[:64], str(params["version"])[:64])
