"""What a subject is told: notices of listings, disputes, repairs and enrollment, kept in their file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from socialcredit.errors import NotFoundError
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.common import iso, with_values
from socialcredit.registry.scoring.policies import get_policy
from socialcredit.store import Store

__all__ = ["list_notifications", "notify", "notify_many", "source_names"]


def source_names(store: Store, source_id: str) -> tuple[str, str]:
    """A source as a notice names it (English, Chinese): by the store's catalog's name (a source it adds has its
    name); an id the catalog does not know (another region's source) as it is."""
    source = store.catalog.sources.get(source_id)
    return (source.name.en, source.name.zh) if source else (source_id, source_id)


def notify(store: Store, subject_id: str, kind: str, ref_id: int | None, en: str, zh: str, today: dt.date) -> int:
    """Tell a subject something (shown in their file and report). Call inside a transaction."""
    nid = store.take_ids("notification", 1)
    store.execute(
        "INSERT INTO notifications VALUES (?, ?, ?, ?, ?, ?, ?, now())", [nid, subject_id, today, kind, ref_id, en, zh]
    )
    return nid


def notify_many(
    store: Store, kind: str, today: dt.date, notices: Sequence[tuple[str, int | None, str, str]]
) -> list[int]:
    """``notify`` for each (subject, ref_id, en, zh) of ``notices``, in their order (consecutive ids), in one
    statement; returns the ids. Call inside a transaction."""
    if not notices:
        return []
    first = store.take_ids("notification", len(notices))
    ids = list(range(first, first + len(notices)))
    with_values(
        store,
        {
            "notification_id": ("int64", ids),
            "subject_id": ("string", [n[0] for n in notices]),
            "ref_id": ("int64", [n[1] for n in notices]),
            "text_en": ("string", [n[2] for n in notices]),
            "text_zh": ("string", [n[3] for n in notices]),
        },
        "INSERT INTO notifications SELECT notification_id, subject_id, $today, $kind, ref_id, text_en, text_zh, now() "
        "FROM sc_values",
        {"today": today, "kind": kind},
    )
    return ids


def list_notifications(
    store: Store, subject_id: str, lang: str = "en", *, actor: str | None = None
) -> list[dict[str, Any]]:
    """What the subject was told, in order; with ``actor``, a look-up audited as ``read_notifications``."""
    rows = store.rows(
        "SELECT notification_id, created_on, kind, ref_id, text_en, text_zh FROM notifications "
        "WHERE subject_id = ? ORDER BY notification_id",
        [subject_id],
    )
    if actor is not None:
        with store.transaction():
            append_audit(store, actor, "read_notifications", subject_id, {"entries": len(rows)})
    return [
        {
            "notification_id": r["notification_id"],
            "created_on": iso(r["created_on"]),
            "kind": r["kind"],
            "ref_id": r["ref_id"],
            "text": r["text_en"] if lang == "en" else r["text_zh"],
        }
        for r in rows
    ]


def listing_policies(store: Store, subject_id: str, rows: Sequence[dict[str, Any]], lang: str = "en") -> dict[int, str]:
    """The policy each listing notice of ``rows`` (:func:`list_notifications`) was given under, by notification id,
    in words (its latest version's name, its id where none is published): two policies' lists may share a name
    ("blacklist (judgment defaulter)"), so the resident's page and the command line name it."""
    refs = {int(n["ref_id"]) for n in rows if str(n["kind"]).startswith("listing") and n.get("ref_id")}
    if not refs:
        return {}
    policy_of = {
        int(r[0]): str(r[1])
        for r in store.execute(
            "SELECT listing_id, policy_id FROM listings WHERE subject_id = ? AND listing_id IN (SELECT unnest(?))",
            [subject_id, sorted(refs)],
        ).fetchall()
    }
    names: dict[str, str] = {}
    for policy_id in set(policy_of.values()):
        try:
            names[policy_id] = get_policy(store, policy_id).policy.name.get(lang)
        except NotFoundError:
            names[policy_id] = policy_id
    return {
        int(n["notification_id"]): names[policy_of[int(n["ref_id"])]]
        for n in rows
        if str(n["kind"]).startswith("listing") and n.get("ref_id") and int(n["ref_id"]) in policy_of
    }
