"""The catalog as data: record types, fields and sources published in the store, versioned like policies.

A store opens with its latest published catalog (``store.catalog``, ``store.catalog_version``); the shipped
catalog is version 1. A candidate is checked against every published policy version: removing a record type, a
field, or a source's record type that one of them uses, or retyping such a field, is refused, each problem naming
the policy, the rule and the field. Adding record types, fields and sources is always accepted; a new field becomes
a typed column of ``records`` when the version is published (docs/catalog.md says why a column).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from socialcredit.catalog import Catalog, catalog_sha256, parse_catalog
from socialcredit.errors import CatalogIncompatibleError, NotFoundError, PolicyError
from socialcredit.policy import LoadedPolicy, parse_policy
from socialcredit.policy.expr import names_in
from socialcredit.registry.access.audit import append_audit
from socialcredit.store import SQL_TYPES, Store, sync_catalog

__all__ = [
    "CatalogCheck",
    "catalog_text",
    "catalog_versions",
    "check_catalog",
    "publish_catalog",
    "run_catalog_version",
]


@dataclass(frozen=True)
class CatalogCheck:
    """A candidate that validates and is compatible with the store: what it adds to the latest version."""

    catalog: Catalog
    text: str
    sha256: str
    base_version: int
    added: list[str]
    unchanged: bool


def _uses(loaded: LoadedPolicy) -> list[tuple[str, str, str, set[str]]]:
    """What a policy reads from records: (what, its id, record type, fields) per rule and record list criterion."""
    p = loaded.policy
    out = []
    for r in p.rules:
        node = loaded.condition(f"rule:{r.id}")
        out.append(("rule", r.id, r.record_type, names_in(node) if node is not None else set()))
    for lst in p.lists:
        for c in lst.criteria:
            if c.record is not None:
                node = loaded.condition(f"list:{lst.id}.{c.id}")
                fields = names_in(node) if node is not None else set()
                out.append(("list criterion", f"{lst.id}.{c.id}", c.record.record_type, fields))
    return out


def _published(store: Store) -> list[LoadedPolicy]:
    rows = store.rows("SELECT policy_id, version, text FROM policies ORDER BY policy_id, published_at")
    return [
        parse_policy(str(r["text"]), f"{r['policy_id']}@{r['version']}", store.catalog, published=True) for r in rows
    ]


def _incompatibilities(store: Store, new: Catalog) -> list[str]:
    old = store.catalog
    problems: list[str] = []
    for loaded in _published(store):
        name = f"{loaded.policy.id}@{loaded.policy.version}"
        for what, item, rtype, fields in _uses(loaded):
            who = f"policy {name} {what} {item}"
            now = new.record_types.get(rtype)
            if now is None:
                problems.append(f"{who} uses record type {rtype}, which the candidate removes")
                continue
            before = old.record_types.get(rtype)
            for f in sorted(fields - {"event_date"}):
                if f not in now.fields:
                    problems.append(f"{who} uses field {rtype}.{f}, which the candidate removes")
                elif before is not None and f in before.fields and before.fields[f].type != now.fields[f].type:
                    problems.append(
                        f"{who} uses field {rtype}.{f} ({before.fields[f].type}), which the candidate makes "
                        f"{now.fields[f].type}"
                    )
            for sid in old.source_of(rtype):
                if rtype not in (new.sources[sid].record_types if sid in new.sources else []):
                    problems.append(
                        f"{who} uses record type {rtype} sent by source {sid}, which the candidate no longer "
                        f"lets {sid} send"
                    )
        if not problems:  # anything else the policy names (categories, professions, allowed values)
            try:
                parse_policy(loaded.text, name, new, published=True)
            except PolicyError as exc:
                problems += [f"policy {name} does not validate against the candidate: {p}" for p in exc.problems]
            else:  # and its calculations stay within bounds if they are under the catalog in force (wider field
                # bounds would let a record overflow a calculation the policy was accepted with)
                problems += _bounds_widened(loaded, name, old, new)
    columns = {str(r[0]): str(r[1]) for r in store.execute("DESCRIBE records").fetchall()}
    for fname, ftype in new.field_columns().items():
        have = columns.get(fname)
        if have is not None and have != SQL_TYPES[ftype] and fname in _field_column_names(store):
            problems.append(
                f"field {fname} is stored as {have} in the store's records, but the candidate makes it {ftype} "
                f"({SQL_TYPES[ftype]}); a field keeps its type: give the new one another name"
            )
    return problems


def _bounds_widened(loaded: LoadedPolicy, name: str, old: Catalog, new: Catalog) -> list[str]:
    """The calculations of a published policy that are within bounds under ``old`` and not under ``new``: the
    problems of the text under ``new`` at a place it has none under ``old``. A problem under either (a calculation
    published before calculations were bounded, a cap published before caps were) is the version's own, not the
    candidate's, and hides none of the others."""
    try:
        parse_policy(loaded.text, name, new)
    except PolicyError as exc:
        found = exc
    else:
        return []
    try:
        parse_policy(loaded.text, name, old)
    except PolicyError as exc:
        before: set[object] = {at if at is not None else p for p, at in zip(exc.problems, exc.positions, strict=True)}
    else:
        before = set()
    return [
        f"policy {name} does not validate against the candidate: {p}"
        for p, at in zip(found.problems, found.positions, strict=True)
        if (at if at is not None else p) not in before
    ]


def _field_column_names(store: Store) -> set[str]:
    """Every field any published catalog version had: the records columns that hold fields (not the table's own)."""
    names: set[str] = set()
    for (text,) in store.execute("SELECT text FROM catalogs").fetchall():
        names |= set(parse_catalog(str(text), "a published catalog", candidate=False).field_columns())
    return names


def check_catalog(store: Store, text: str, origin: str) -> CatalogCheck:
    """Validate a candidate catalog (CatalogError naming the limit or the problem) and check it against the store's
    published policies and records (CatalogIncompatibleError listing every problem)."""
    candidate = parse_catalog(text, origin)
    problems = _incompatibilities(store, candidate)
    if problems:
        head = f"{origin}: incompatible with the store's catalog (version {store.catalog_version}):"
        raise CatalogIncompatibleError([head, *(f"  {p}" for p in problems)])
    from socialcredit.catalog.versions import lacking

    sha = catalog_sha256(text)
    latest = store.one("SELECT sha256 FROM catalogs WHERE version = ?", [store.catalog_version])
    return CatalogCheck(
        catalog=candidate,
        text=text,
        sha256=sha,
        base_version=store.catalog_version,
        added=lacking(store.catalog, candidate),
        unchanged=latest == sha,
    )


def publish_catalog(store: Store, text: str, origin: str, actor: str = "cli") -> tuple[int, CatalogCheck]:
    """Check a candidate, then store it as the next version (the same text as the latest is not stored again);
    the store follows it at once: its sources, and a column of records for each new field. Returns the version."""
    check = check_catalog(store, text, origin)
    if check.unchanged:
        return store.catalog_version, check
    shipped = store.one("SELECT shipped_sha256 FROM catalogs WHERE version = ?", [store.catalog_version])
    version = store.catalog_version + 1
    sync_catalog(store.con, check.catalog)  # columns first: ADD COLUMN is kept even if what follows fails
    with store.transaction():
        store.execute(
            "INSERT INTO catalogs VALUES (?, ?, ?, now(), ?, ?)", [version, check.sha256, text, actor, shipped or ""]
        )
        append_audit(
            store, actor, "publish_catalog", None, {"version": version, "sha256": check.sha256, "added": check.added}
        )
    store.catalog = check.catalog
    store.catalog_version = version
    return version, check


def catalog_versions(store: Store) -> list[dict[str, Any]]:
    """Every published catalog version: number, SHA-256, when and by whom."""
    return store.rows("SELECT version, sha256, published_at, published_by FROM catalogs ORDER BY version")


def catalog_text(store: Store, version: int | None = None) -> tuple[int, str]:
    """A published version's text (the latest unless one is named); NotFoundError if it was never published."""
    v = store.catalog_version if version is None else version
    text = store.one("SELECT text FROM catalogs WHERE version = ?", [v])
    if text is None:
        raise NotFoundError(f"no published catalog version {v}; the latest is {store.catalog_version}")
    return v, str(text)


def run_catalog_version(store: Store, run_id: int) -> int:
    """The catalog version a run was scored with (1 for runs scored before catalogs were kept)."""
    v = store.one("SELECT catalog_version FROM run_catalogs WHERE run_id = ?", [run_id])
    return 1 if v is None else int(v)
