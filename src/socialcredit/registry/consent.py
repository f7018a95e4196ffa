"""Consent per data category: an append-only history; the latest entry at a run's watermark counts."""

from __future__ import annotations

from typing import Any

from socialcredit.catalog import load_catalog
from socialcredit.errors import NotFoundError, SocialCreditError
from socialcredit.registry.audit import append_audit
from socialcredit.store import Store

__all__ = ["consent_history", "set_consent"]


def set_consent(store: Store, subject_id: str, category: str, granted: bool, actor: str = "cli") -> int:
    """Record an opt-in (``granted=True``) or opt-out; it takes effect at the next score run."""
    if category not in load_catalog().categories:
        raise SocialCreditError(f"unknown data category {category!r}; known: {', '.join(load_catalog().categories)}")
    if store.one("SELECT count(*) FROM subjects WHERE subject_id = ?", [subject_id]) == 0:
        raise NotFoundError(f"no registered subject {subject_id!r}")
    with store.transaction():
        seq = store.take_ids("seq", 1)
        store.execute("INSERT INTO consents VALUES (?, ?, ?, ?, ?, now())", [seq, subject_id, category, granted, actor])
        append_audit(store, actor, "consent", subject_id, {"category": category, "granted": granted})
    return seq


def consent_history(store: Store, subject_id: str) -> list[dict[str, Any]]:
    return store.rows(
        "SELECT category, granted, actor, recorded_at FROM consents WHERE subject_id = ? ORDER BY seq", [subject_id]
    )
