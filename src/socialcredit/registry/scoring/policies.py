"""Published policies: every score run names a policy version that is stored, text and hash, for good."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from pathlib import Path
from typing import Any

from socialcredit.catalog import Catalog
from socialcredit.clock import resolve_today
from socialcredit.errors import NotFoundError, PolicyError, PolicyNoticeError
from socialcredit.policy import BUILTIN_POLICIES, LoadedPolicy, builtin_policy, load_policy, parse_policy
from socialcredit.registry.access.audit import append_audit
from socialcredit.store import Store
from socialcredit.yamlsrc import load_located

__all__ = [
    "alike_version",
    "get_policy",
    "name_listings",
    "newest_version",
    "policies_in_use",
    "policy_by_ref",
    "policy_in_force",
    "policy_without_store",
    "publish_policy",
    "refuse_short_notice",
    "resolve_policy",
    "version_key",
]


def publish_policy(store: Store, loaded: LoadedPolicy, actor: str = "cli") -> bool:
    """Store a policy version; True if new. The same id and version with other content is refused (naming both
    hashes), and so is a version that compares alike with a published one (2026.03 beside 2026.3) and a policy that
    does not validate against the store's published catalog (PolicyError naming file, line and rule)."""
    if loaded.catalog is not store.catalog:
        loaded = parse_policy(loaded.text, loaded.origin, store.catalog)
    p = loaded.policy
    row = store.one("SELECT sha256 FROM policies WHERE policy_id = ? AND version = ?", [p.id, p.version])
    if row == loaded.sha256:
        return False
    if row is not None:
        raise PolicyError(
            [
                f"{loaded.origin}: policy {p.id} version {p.version} was already published with "
                f"different content (sha256 {str(row)[:12]}; this text's is {loaded.sha256[:12]}); give the changed "
                "policy a new version"
            ]
        )
    alike = alike_version(store, "policies", p.id, p.version)
    if alike is not None:
        # 2026.03 beside 2026.3 (or 2026.3 in full-width digits): neither would be newer, and a reader takes one for
        # the other.
        raise PolicyError(
            [
                f"{loaded.origin}: policy {p.id} version {p.version} reads as the published version {alike} "
                "(versions compare part by part, numbers as numbers); give it a version of its own"
            ]
        )
    refuse_short_notice(store, loaded)
    with store.transaction():
        store.execute("INSERT INTO policies VALUES (?, ?, ?, ?, now())", [p.id, p.version, loaded.sha256, loaded.text])
        append_audit(
            store, actor, "publish_policy", None, {"policy": p.id, "version": p.version, "sha256": loaded.sha256}
        )
    return True


def policy_in_force(store: Store, policy_id: str) -> LoadedPolicy | None:
    """The version of ``policy_id`` in force by publication: the newest published one, or the shipped one when it is
    newer or none is published (the shipped version is published, and takes its place, on first use by id); None for
    a policy neither published nor shipped."""
    current = newest_version(store, policy_id)
    published = get_policy(store, policy_id, current) if current is not None else None
    if policy_id not in BUILTIN_POLICIES:
        return published
    shipped = builtin_policy(policy_id)
    if published is None or version_key(shipped.policy.version) > version_key(published.policy.version):
        return shipped
    return published


def refuse_short_notice(store: Store, loaded: LoadedPolicy) -> None:
    """A version published, or put in force by a run, may not make data that needs consent under the version in force
    (:func:`policy_in_force`) count for everyone sooner than that version does, with less notice than either publishes
    (the larger ``consent.notice_days``, from today: a version that shortens the notice does not shorten its own):
    a ``mandatory_from`` moved earlier or given where there was none, or a category taken out of
    ``consent.categories`` (it would count for everyone at once). A newer version is checked as it is published; an
    older one (or one below the shipped version) as well, and again when a run would put it in force, since it
    would then be the version whose consent applies. A category the version in force counts for everyone already (its
    ``mandatory_from`` on or before today) is not asked about: it may be kept or dropped, its date moved; nor is a
    policy's first version (docs/policy-language.md, "Consent")."""
    p = loaded.policy
    in_force = policy_in_force(store, p.id)
    if in_force is None or loaded.sha256 == in_force.sha256:
        return
    before = in_force.policy
    new, old = p.consent, before.consent
    # Residents were promised the notice of the version in force: a new version that shortens it gives no less.
    notice = max(new.notice_days, old.notice_days)
    today = resolve_today()
    earliest = today + dt.timedelta(days=notice)
    old_from = old.mandatory_from or dt.date.max
    if old_from <= today:  # the version in force counts its categories for everyone already: nothing to give notice of
        return

    def counts_from(category: str) -> dt.date:  # when this version counts the category for everyone
        return (new.mandatory_from or dt.date.max) if category in new.categories else dt.date.min

    sooner = [c for c in old.categories if counts_from(c) < min(old_from, earliest)]
    if not sooner:
        return
    said = {c: str(counts_from(c)) if c in new.categories else "at once" for c in sooner}
    # Where it is said: consent.categories when a category leaves it, else the date moved (the block itself if the
    # key is not written; the document's start when the block is gone and there is nothing to point at).
    key = "mandatory_from" if all(c in new.categories for c in sooner) else "categories"
    line = load_located(loaded.text, loaded.origin).position_of(("consent", key)) or (1, 1)
    raise PolicyNoticeError(
        [
            f"{loaded.origin}:{line[0]}:{line[1]}: consent: "
            + "; ".join(
                f"{c} data would count for everyone {'from ' if w != 'at once' else ''}{w}" for c, w in said.items()
            )
            + f", without consent and sooner than under version {before.version} in force "
            f"({'from ' + str(old.mandatory_from) if old.mandatory_from else 'only with consent'}), with less than the "
            f"{notice} days' notice "
            + ("the policy publishes" if notice == new.notice_days else f"version {before.version} publishes")
            + f" (consent.notice_days): keep {', '.join(sooner)} in consent.categories and give "
            f"consent.mandatory_from a date on or after {earliest}"
        ],
        [line],
    )


_VERSION_PARTS = re.compile(r"\d+|\D+")


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """A version's place among the versions of its policy: runs of digits compare as numbers, so 2026.10 comes after
    2026.9 (and 10 after 9); the rest compares as text, and a version that goes on after another's end comes after
    it (2026.1-b after 2026.1)."""
    return tuple((0, int(part)) if part[0].isdecimal() else (1, part) for part in _VERSION_PARTS.findall(version))


def alike_version(store: Store, table: str, item_id: str, version: str) -> str | None:
    """A version of ``item_id`` stored in ``table`` (policies, memoranda) that compares alike with ``version`` by
    :func:`version_key` (itself, or 2026.03 for 2026.3), or None."""
    column = {"policies": "policy_id", "memoranda": "memorandum_id"}[table]
    rows = store.execute(f"SELECT version FROM {table} WHERE {column} = ?", [item_id]).fetchall()
    return next((str(v) for (v,) in rows if version_key(str(v)) == version_key(version)), None)


def newest_version(store: Store, policy_id: str) -> str | None:
    """The version of ``policy_id`` in force: the newest published one by :func:`version_key` (of two that compare
    alike, such as 2026.1 and 2026.01, the one published later); None if none was published. An older version
    published later does not replace it."""
    rows = store.execute("SELECT version, published_at FROM policies WHERE policy_id = ?", [policy_id]).fetchall()
    if not rows:
        return None
    return str(max(rows, key=lambda r: (version_key(str(r[0])), r[1]))[0])


def get_policy(store: Store, policy_id: str, version: str | None = None) -> LoadedPolicy:
    """A published policy: the version in force (:func:`newest_version`) unless one is named."""
    if version is None:
        version = newest_version(store, policy_id)
        if version is None:
            raise NotFoundError(f"no published policy {policy_id!r}")
    row = store.execute(
        "SELECT version, text FROM policies WHERE policy_id = ? AND version = ?", [policy_id, version]
    ).fetchone()
    if row is None:
        known = [str(r["version"]) for r in published_versions(store) if r["policy_id"] == policy_id]
        versions = f" (published: {', '.join(sorted(known, key=version_key))})" if known else ""
        raise NotFoundError(f"no published policy {policy_id!r} version {version!r}{versions}")
    return _parsed(str(row[1]), f"{policy_id}@{row[0]}", _CatalogKey(store.catalog))


class _CatalogKey:
    """A store's catalog as a cache key: the same instance (a published version is parsed once per process)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def __hash__(self) -> int:
        return id(self.catalog)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _CatalogKey) and other.catalog is self.catalog


@functools.lru_cache(maxsize=64)
def _parsed(text: str, origin: str, catalog: _CatalogKey) -> LoadedPolicy:
    """Published versions never change: each text is parsed and validated once per process and catalog (a decision
    asks for its policy on every request; parsing the YAML took about 0.4 s)."""
    return parse_policy(text, origin, catalog.catalog, published=True)


def parse_sent(store: Store, text: str, origin: str, catalog: Catalog | None = None) -> LoadedPolicy:
    """A policy text sent to be published (a request, a Spark run's manifest), validated against ``catalog`` (the
    store's by default): a text the store has published already is read as published texts are read back (the
    checks added since it was published do not refuse it again: see ``parse_policy``'s ``published``)."""
    return parse_policy(text, origin, catalog or store.catalog, published=text_published(store, text))


def text_published(store: Store, text: str) -> bool:
    """Whether the store has published this exact policy text (under any id and version)."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return bool(store.one("SELECT count(*) FROM policies WHERE sha256 = ?", [digest]))


def resolve_policy(store: Store, ref: str, actor: str = "cli") -> LoadedPolicy:
    """A policy by file path (published, and used as it is), by id (its version in force: the newest published, a
    shipped policy's own version being published on first use), or by ``id@version`` (that published version)."""
    path = Path(ref)
    if ref.endswith((".yaml", ".yml")) or path.is_file():
        loaded = load_policy(path, store.catalog)
        publish_policy(store, loaded, actor)
        return loaded
    return policy_by_ref(store, ref, actor)


def policy_by_ref(store: Store, ref: str, actor: str = "cli") -> LoadedPolicy:
    """A policy by id (its version in force: the newest published, a shipped policy's own version being published
    on first use) or by ``id@version`` (that published version, or the shipped one's), never by file: what a
    request names (a score job over HTTP). A version never published is a NotFoundError naming it and the
    versions that are."""
    policy_id, at, version = ref.partition("@")
    shipped = None
    if policy_id in BUILTIN_POLICIES and (
        not at or version_key(version) == version_key(builtin_policy(policy_id).policy.version)
    ):  # (another version named: the shipped one is not published on the way)
        shipped = _publish_shipped(store, policy_id, actor, by_id=not at)
    if at:
        return get_policy(store, policy_id, version)
    if shipped is not None and newest_version(store, policy_id) == shipped.policy.version:
        stored = store.one(
            "SELECT sha256 FROM policies WHERE policy_id = ? AND version = ?", [policy_id, shipped.policy.version]
        )
        if stored == shipped.sha256:
            return shipped
    return get_policy(store, policy_id)


def _publish_shipped(store: Store, policy_id: str, actor: str, *, by_id: bool = False) -> LoadedPolicy:
    """The shipped policy ``policy_id``, published unless the store has its version already (with this text, or
    with the operator's own under that version or one that reads alike, such as 2026.02 for 2026.2: theirs stays,
    and is the one used). With ``by_id`` (the policy asked for by id, not by this version) a shipped version that
    would make consent data count sooner than the newer version in force is left unpublished: it is not the one
    used."""
    shipped = builtin_policy(policy_id)
    loaded = (
        parse_policy(shipped.text, shipped.origin, store.catalog) if shipped.catalog is not store.catalog else shipped
    )
    p = loaded.policy
    if alike_version(store, "policies", p.id, p.version) is None:
        try:
            publish_policy(store, loaded, actor)
        except PolicyNoticeError:
            if not by_id:
                raise
    return loaded


def policy_without_store(ref: str, catalog: Catalog | None = None) -> LoadedPolicy:
    """A policy for a run without a store (files, Spark): a policy file, or a shipped policy by id, in the order
    :func:`resolve_policy` looks; published policies live in a store, so they are not found here. It is validated
    against ``catalog`` (an export's, :func:`socialcredit.backends.files.export_catalog`) or the shipped one."""
    path = Path(ref)
    if ref.endswith((".yaml", ".yml")) or path.is_file():
        return load_policy(path, catalog)
    if ref in BUILTIN_POLICIES:
        shipped = builtin_policy(ref)
        return shipped if catalog is None else parse_policy(shipped.text, shipped.origin, catalog)
    raise NotFoundError(
        f"no policy file {ref!r} and no shipped policy of that id; without a store, give a shipped policy "
        f"({', '.join(BUILTIN_POLICIES)}) or a policy file"
    )


def policies_in_use(store: Store) -> list[LoadedPolicy]:
    """The policy version of the run in force of each scored policy (``runs.in_force_sql``; of its latest run if
    none is); the shipped policies if nothing was scored."""
    from socialcredit.registry.scoring.runs import in_force_sql  # runs imports this module

    runs = store.rows(
        f"""WITH f AS ({in_force_sql()}),
        latest AS (SELECT policy_id, max(run_id) AS run_id FROM score_runs WHERE finished_at IS NOT NULL GROUP BY 1)
        SELECT s.policy_id, s.policy_version FROM latest l LEFT JOIN f USING (policy_id)
        JOIN score_runs s ON s.run_id = coalesce(f.run_id, l.run_id) ORDER BY s.policy_id"""
    )
    if not runs:
        return [builtin_policy("beijing"), builtin_policy("sesame")]
    return [get_policy(store, r["policy_id"], r["policy_version"]) for r in runs]


def published_policy_ids(store: Store) -> set[str]:
    """The ids of every policy with at least one published version."""
    return {str(r[0]) for r in store.execute("SELECT DISTINCT policy_id FROM policies").fetchall()}


def published_versions(store: Store, *, newest_first: bool = False) -> list[dict[str, Any]]:
    """Every published version (id, version, SHA-256, when), by policy and then by version order (:func:`version_key`;
    of two that compare alike, by date of publication): a policy's last (or, ``newest_first``, first) is in force."""
    rows = store.rows("SELECT policy_id, version, sha256, published_at FROM policies")
    rows.sort(key=lambda r: (version_key(str(r["version"])), r["published_at"]), reverse=newest_first)
    return sorted(rows, key=lambda r: str(r["policy_id"]))  # stable: each policy's versions keep their order


def published_text(store: Store, policy_id: str, version: str) -> str:
    """The published text of a policy version; NotFoundError if that version was never published."""
    text = store.one("SELECT text FROM policies WHERE policy_id = ? AND version = ?", [policy_id, version])
    if text is None:
        raise NotFoundError(f"no published policy {policy_id!r} version {version!r}")
    return str(text)


def name_listings(store: Store, listings: list[dict[str, Any]], lang: str) -> None:
    """Listings as the pages show them: ``policy_name``, ``list_name`` and ``criterion_text`` (the criterion's
    reason in words, as the policy gives it) beside the codes."""
    loaded: dict[tuple[str, str | None], Any] = {}
    for x in listings:
        key = (str(x["policy_id"]), x.get("policy_version"))
        if key not in loaded:
            try:
                loaded[key] = get_policy(store, key[0], key[1]).policy
            except NotFoundError:
                loaded[key] = None
        policy = loaded[key]
        x["policy_name"] = policy.name.get(lang) if policy else x["policy_id"]
        try:
            x["list_name"] = policy.list_spec(x["list_id"]).name.get(lang) if policy else x["list_id"]
            crit = policy.criterion(x["list_id"], x["criterion_id"]) if policy else None
            x["criterion_text"] = crit.reason.text(lang) if crit else x["criterion_id"]
        except KeyError:
            x["list_name"] = str(x["list_id"]).replace("_", " ")
            x["criterion_text"] = str(x["criterion_id"]).replace("_", " ")
