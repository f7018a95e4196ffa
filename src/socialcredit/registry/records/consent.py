"""Consent per data category: an append-only history; the latest entry at a run's watermark counts, so an opt-out
takes effect at the next score run. Before a policy's ``consent.mandatory_from`` date, subjects are notified
``consent.notice_days`` ahead (``notify_mandatory``, run daily)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from socialcredit.errors import NotFoundError, SocialCreditError
from socialcredit.registry.access.audit import append_audit
from socialcredit.store import Store

__all__ = ["consent_history", "current_consents", "notify_mandatory", "set_consent"]


def set_consent(store: Store, subject_id: str, category: str, granted: bool, actor: str = "cli") -> int:
    """Record an opt-in (``granted=True``) or opt-out; it takes effect at the next score run."""
    if category not in store.catalog.categories:
        raise SocialCreditError(f"unknown data category {category!r}; known: {', '.join(store.catalog.categories)}")
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


def current_consents(store: Store, subject_id: str) -> dict[str, bool]:
    """The latest choice per category (a category never chosen is absent: not consented)."""
    return {
        str(r[0]): bool(r[1])
        for r in store.execute(
            "SELECT category, granted FROM current_consents WHERE subject_id = ? ORDER BY category",
            [subject_id],
        ).fetchall()
    }


def notify_mandatory(store: Store, today: dt.date | None = None, actor: str = "registry") -> int:
    """Within ``notice_days`` before a policy's mandatory enrollment date, tell every person once; returns how many."""
    from socialcredit.clock import resolve_today
    from socialcredit.registry.scoring.policies import policies_in_use

    today = resolve_today(today)
    total = 0
    for lp in policies_in_use(store):
        c = lp.policy.consent
        if c.mandatory_from is None or not c.categories:
            continue
        if not (c.mandatory_from - dt.timedelta(days=c.notice_days) <= today < c.mandatory_from):
            continue
        ref = int(c.mandatory_from.strftime("%Y%m%d"))
        cats = ", ".join(c.categories)
        en = (
            f"From {c.mandatory_from.isoformat()}, policy {lp.policy.id} counts {cats} data for everyone, whether or "
            "not you opted in. Until then you may opt in or out."
        )
        zh = (
            f"自 {c.mandatory_from.isoformat()} 起，{lp.policy.id} 政策将对所有人计入 {cats} 类数据，无论是否同意。"
            "此前您仍可选择同意或撤回。"
        )
        with store.transaction():
            pending = store.execute(
                """SELECT DISTINCT subject_id FROM subjects WHERE kind = 'person' AND subject_id NOT IN (
                       SELECT subject_id FROM notifications WHERE kind = 'mandatory_enrollment' AND ref_id = ?
                         AND text_en = ?)""",
                [ref, en],
            ).fetchall()
            n = len(pending)
            if n:
                first = store.take_ids("notification", n)
                store.execute(
                    """INSERT INTO notifications SELECT ? + row_number() OVER (ORDER BY subject_id) - 1, subject_id, ?,
                           'mandatory_enrollment', ?, ?, ?, now()
                       FROM (SELECT unnest(?) AS subject_id)""",
                    [first, today, ref, en, zh, [r[0] for r in pending]],
                )
                append_audit(
                    store, actor, "notify_mandatory", None, {"policy": lp.policy.id, "notified": n, "from": ref}
                )
            total += n
    return total


def import_consents(store: Store, path: str, actor: str = "cli") -> int:
    """Record many consents at once from a Parquet file (subject_id, category, granted); one transaction."""
    categories = set(store.catalog.categories)
    with store.transaction():
        store.execute(
            "CREATE OR REPLACE TEMP TABLE consent_batch AS SELECT subject_id, category, granted FROM read_parquet(?)",
            [path],
        )
        bad = store.one(
            "SELECT count(*) FROM consent_batch WHERE category NOT IN (SELECT unnest(?))", [sorted(categories)]
        )
        if bad:
            raise SocialCreditError(f"{path}: {bad} consents name an unknown data category")
        unknown = store.one(
            "SELECT count(*) FROM consent_batch c "
            "WHERE NOT EXISTS (SELECT 1 FROM subjects s WHERE s.subject_id = c.subject_id)"
        )
        if unknown:
            raise SocialCreditError(f"{path}: {unknown} consents are for subjects that are not registered")
        n = int(store.one("SELECT count(*) FROM consent_batch"))
        first = store.take_ids("seq", n) if n else 0
        store.execute(
            "INSERT INTO consents SELECT ? + row_number() OVER () - 1, subject_id, category, granted, ?, now() "
            "FROM consent_batch",
            [first, actor],
        )
        append_audit(store, actor, "import_consents", None, {"file": path, "consents": n})
    return n
