"""`socialcredit catalog show|check|publish`: the store's record types, fields and sources, published as data
(docs/catalog.md). Exit codes: 0 valid (or published); 1 a valid candidate the store's published policies refuse
(each problem names the policy, the rule and the field); 2 a candidate that is not a valid catalog (or over a limit,
or unreadable), or a store that cannot be opened."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from socialcredit.cli_help import SCORING, DbOpt
from socialcredit.errors import CatalogError, CatalogIncompatibleError, SocialCreditError, StoreError
from socialcredit.languages import counted
from socialcredit.opening import open_store
from socialcredit.settings import DEFAULT_DB

if TYPE_CHECKING:
    from socialcredit.catalog import Catalog

__all__ = ["register_catalog", "store_catalog"]

out = Console(soft_wrap=True, markup=False, highlight=False)
err = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)

catalog_app = typer.Typer(
    help="The catalog of record types, fields and sources, kept in the store and published as versions.",
    no_args_is_help=True,
)
File = Annotated[Path, typer.Argument(help="A catalog YAML file (the shape of `catalog show`).", metavar="FILE")]
ActorOpt = Annotated[str, typer.Option("--actor", help="Who publishes (recorded in the audit log).", metavar="NAME")]


def register_catalog(app: typer.Typer) -> None:
    """Add ``catalog`` to the main CLI."""
    app.add_typer(catalog_app, name="catalog", rich_help_panel=SCORING)


def store_catalog(db: Path) -> tuple[int, Catalog | None]:
    """The published catalog of the store at ``db`` and its version; (1, None) when there is no store there (the
    shipped catalog then applies, as it does when the store cannot be opened: in use by a service, or encrypted
    with no key given)."""
    if not db.is_file():
        return 1, None
    try:
        store = open_store(db, read_only=True)
    except StoreError:
        return 1, None
    with store:
        return store.catalog_version, store.catalog


def _read(file: Path) -> str:
    """The candidate's text, refused before reading when it is over the size limit."""
    from socialcredit.catalog import LIMITS

    try:
        size = file.stat().st_size
    except OSError as exc:
        raise CatalogError(f"{file}: cannot read the catalog file: {exc.strerror}") from None
    if size > LIMITS["bytes"]:
        raise CatalogError(f"{file}: {size} bytes; a catalog may be at most {LIMITS['bytes']} bytes")
    try:
        return file.read_text("utf-8")
    except UnicodeDecodeError:
        raise CatalogError(f"{file}: the catalog file is not UTF-8 text") from None
    except OSError as exc:
        raise CatalogError(f"{file}: cannot read the catalog file: {exc.strerror}") from None


def _incompatible(exc: CatalogIncompatibleError) -> None:
    for line in exc.problems:
        err.print(line if line.startswith("  ") else f"error: {line}")
    raise typer.Exit(1)


def _adds(added: list[str]) -> str:
    return "adds " + ", ".join(added) if added else "adds nothing"


@catalog_app.command("show")
def catalog_show(
    version: Annotated[
        int | None, typer.Option("--version", help="A published version (default: the latest).", metavar="N")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="yaml (the text as published) or json.", metavar="FORMAT")] = (
        "yaml"
    ),
    versions: Annotated[bool, typer.Option("--versions", help="List the published versions instead.")] = False,
    db: DbOpt = DEFAULT_DB,
) -> None:
    """Print the store's catalog: the latest published version, or the one named."""
    from socialcredit.catalog import catalog_from_text
    from socialcredit.registry.scoring.catalogs import catalog_text, catalog_versions

    if fmt not in ("yaml", "json"):
        raise SocialCreditError(f"--format {fmt!r}: give yaml or json")
    with open_store(db) as store:
        if versions:
            rows = catalog_versions(store)
            if fmt == "json":
                out.print_json(json.dumps(rows, default=str))
                return
            for r in rows:
                when = f"{r['published_at']:%Y-%m-%d %H:%M}"
                out.print(f"{r['version']}  {r['sha256'][:12]}  {when}  {r['published_by']}")
            return
        v, text = catalog_text(store, version)
    if fmt == "json":
        data = catalog_from_text(text).model_dump(mode="json", exclude_none=True)
        out.print_json(json.dumps({"version": v, "catalog": data}, ensure_ascii=False))
    else:
        out.print(text, end="" if text.endswith("\n") else "\n")


@catalog_app.command("check")
def catalog_check(file: File, db: DbOpt = DEFAULT_DB) -> None:
    """Validate a candidate catalog and check it against the store's published policies (nothing is stored)."""
    from socialcredit.registry.scoring.catalogs import check_catalog

    text = _read(file)
    with open_store(db) as store:
        try:
            check = check_catalog(store, text, str(file))
        except CatalogIncompatibleError as exc:
            _incompatible(exc)
            return
    same = " (the same text as that version)" if check.unchanged else ""
    out.print(
        f"{file}: a valid catalog, compatible with the store's catalog (version {check.base_version}){same}: "
        f"{counted(len(check.catalog.record_types), 'record type')}, {counted(len(check.catalog.sources), 'source')}; "
        f"{_adds(check.added)}."
    )


@catalog_app.command("publish")
def catalog_publish(file: File, actor: ActorOpt = "cli", db: DbOpt = DEFAULT_DB) -> None:
    """Check a candidate catalog, then store it as the store's next version: ingest, policies and scoring use it."""
    from socialcredit.registry.scoring.catalogs import publish_catalog

    text = _read(file)
    with open_store(db) as store:
        try:
            version, check = publish_catalog(store, text, str(file), actor)
        except CatalogIncompatibleError as exc:
            _incompatible(exc)
            return
    if check.unchanged:
        out.print(f"{file}: the same as the store's catalog version {version}; nothing published.")
    else:
        sha = check.sha256[:12]
        out.print(f"Published catalog version {version} (sha256 {sha}) from {file}: {_adds(check.added)}.")
