"""The store's catalog over HTTP (docs/catalog.md): its versions and each version's text are public, as the policies
standing on them are; operators check a candidate and publish it, and the running service reads records, policies
and pages with the new version from the next request on."""

from enum import Enum
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse

from socialcredit.api.bodies import JSONRoute, yaml_text
from socialcredit.api.deps import Operator, Public, ServiceDep, actor
from socialcredit.api.lab_models import CatalogChecked, CatalogPublished, CatalogVersions, PublishedCatalog
from socialcredit.catalog import LIMITS, catalog_from_text
from socialcredit.errors import CatalogIncompatibleError
from socialcredit.registry.scoring.catalogs import (
    CatalogCheck,
    catalog_text,
    catalog_versions,
    check_catalog,
    publish_catalog,
)

__all__ = ["router"]

router = APIRouter(route_class=JSONRoute)
_PUBLIC: list[str | Enum] = ["public"]
_OPERATORS: list[str | Enum] = ["operators"]
ORIGIN = "the request body"
# A version is an INTEGER in the store: a number past it is a version never published, not an error of the engine.
Version = Annotated[int, Path(ge=1, le=2**31 - 1, description="A published catalog version (1: the shipped one).")]


async def catalog_body(request: Request) -> str:
    """The request's body: a catalog's YAML text, at most ``LIMITS["bytes"]`` bytes of UTF-8."""
    return await yaml_text(
        request,
        what="the catalog",
        limit=LIMITS["bytes"],
        too_large=f"the catalog is {{size}} bytes; a catalog may be at most {LIMITS['bytes']} bytes",
        empty="the body is empty: send the catalog's YAML text",
    )


CatalogText = Annotated[str, Depends(catalog_body)]
_YAML_BODY = {"requestBody": {"required": True, "content": {"application/yaml": {"schema": {"type": "string"}}}}}
_INCOMPATIBLE = {
    "description": "The candidate removes or retypes what a published policy uses: every problem, each naming the "
    "policy, the rule and the field.",
    "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
}


def _incompatible(exc: CatalogIncompatibleError) -> JSONResponse:
    head, *rest = exc.problems
    return JSONResponse(
        {
            "error": {"code": exc.code, "message": head},
            "problems": [p.strip() for p in rest],
        },
        status_code=409,
    )


@router.get("/v1/catalogs", tags=_PUBLIC, dependencies=[Public])
def list_catalogs(service: ServiceDep) -> CatalogVersions:
    """Every published version of the store's catalog (number, SHA-256, when); ``latest`` is the one in use."""
    with service.writer() as store:
        rows = catalog_versions(store)
        latest = store.catalog_version
    # who published is kept in the audit log and `catalog show --versions`; the public see what and when
    versions = [{k: r[k] for k in ("version", "sha256", "published_at")} for r in rows]
    return CatalogVersions.model_validate({"latest": latest, "versions": versions})


@router.get("/v1/catalogs/{version}", tags=_PUBLIC, dependencies=[Public])
def show_catalog(version: Version, service: ServiceDep) -> PublishedCatalog:
    """One published version: its text as published and the catalog it reads as (``catalog show --format json``)."""
    with service.writer() as store:
        v, text = catalog_text(store, version)
        sha = store.one("SELECT sha256 FROM catalogs WHERE version = ?", [v])
    data = catalog_from_text(text).model_dump(mode="json", exclude_none=True)
    return PublishedCatalog(version=v, sha256=str(sha), text=text, catalog=data)


@router.post(
    "/v1/catalogs/check",
    tags=_OPERATORS,
    responses={409: _INCOMPATIBLE},
    response_model=CatalogChecked,
    openapi_extra=_YAML_BODY,
)
async def check(_party: Operator, service: ServiceDep, text: CatalogText) -> JSONResponse | CatalogChecked:
    """Validate a candidate catalog and check it against the store's published policies; nothing is stored
    (``catalog check``). Invalid: 422 naming the problem; over a limit of its YAML (nesting, aliases, values): 413
    naming the setting; incompatible: 409 with every problem."""

    def run() -> CatalogCheck:
        with service.writer() as store:
            return check_catalog(store, text, ORIGIN)

    try:
        done = await anyio.to_thread.run_sync(run)
    except CatalogIncompatibleError as exc:
        return _incompatible(exc)
    return CatalogChecked(
        base_version=done.base_version,
        sha256=done.sha256,
        record_types=len(done.catalog.record_types),
        sources=len(done.catalog.sources),
        added=done.added,
        unchanged=done.unchanged,
    )


@router.post(
    "/v1/catalogs",
    tags=_OPERATORS,
    status_code=201,
    responses={200: {"model": CatalogPublished, "description": "The text is the store's latest version already."}},
    response_model=CatalogPublished,
    openapi_extra=_YAML_BODY,
)
async def publish(party: Operator, service: ServiceDep, text: CatalogText) -> JSONResponse:
    """Check a candidate catalog, then publish it as the store's next version (``catalog publish``): the running
    service ingests, validates, labels and shows records with it from the next request on. Refused as ``check``
    refuses: 422 invalid, 413 over a limit of its YAML (naming the setting), 409 incompatible."""

    def run() -> tuple[int, CatalogCheck]:
        with service.writer() as store:
            return publish_catalog(store, text, ORIGIN, actor(party))

    try:
        version, done = await anyio.to_thread.run_sync(run)
    except CatalogIncompatibleError as exc:
        return _incompatible(exc)
    body = CatalogPublished(version=version, sha256=done.sha256, added=done.added, published=not done.unchanged)
    return JSONResponse(body.model_dump(), status_code=200 if done.unchanged else 201)
