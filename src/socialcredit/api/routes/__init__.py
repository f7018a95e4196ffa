"""The API's endpoints, one router per area; ``create_app`` includes them in this order."""

from fastapi import APIRouter

from socialcredit.api.routes import (
    audit,
    catalogs,
    decisions,
    disputes,
    due_process,
    freeze,
    keys,
    lab,
    lists,
    orgs,
    records,
    scoring,
    service,
    subjects,
)

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (
    service.router,
    decisions.router,
    subjects.router,
    records.router,
    scoring.router,
    lists.router,
    keys.router,
    audit.router,
    due_process.router,
    disputes.router,
    freeze.router,
    orgs.router,
    catalogs.router,
    lab.router,
)
