"""Consent per data category: an append-only history; the latest entry at a run's watermark counts, so an opt-out
takes effect at the next score run. The notice before enrollment becomes mandatory is due process's
(``registry.due_process.enrollment.notify_mandatory``, run daily)."""

from __future__ import annotations

from typing import Any

from socialcredit.errors import SocialCreditError
from socialcredit.identifiers import no_subject
from socialcredit.registry.access.audit import append_audit
from socialcredit.store import Store

__all__ = ["consent_history", "current_consents", "import_consents", "set_consent"]


def set_consent(store: Store, subject_id: str, category: str, granted: bool, actor: str = "cli") -> int:
    """Record an opt-in (``granted=True``) or opt-out; it takes effect at the next score run."""
    if category not in store.catalog.categories:
        raise SocialCreditError(f"unknown data category {category!r}; known: {', '.join(store.catalog.categories)}")
    if store.one("SELECT count(*) FROM subjects WHERE subject_id = ?", [subject_id]) == 0:
        raise no_subject(subject_id)
    with store.transaction():
        seq = store.take_ids("seq", 1)
        store.execute("INSERT INTO consents VALUES (?, ?, ?, ?, ?, now())", [seq, subject_id, category, granted, actor])
        append_audit(store, actor, "consent", subject_id, {"category": category, "granted": granted})
    return seq


def consent_history(store: Store, subject_id: str, *, actor: str | None = None) -> list[dict[str, Any]]:
    """The subject's consent choices in order; with ``actor``, a look-up audited as ``read_consents``."""
    rows = store.rows(
        "SELECT category, granted, actor, recorded_at FROM consents WHERE subject_id = ? ORDER BY seq", [subject_id]
    )
    if actor is not None:
        with store.transaction():
            append_audit(store, actor, "read_consents", subject_id, {"entries": len(rows)})
    return rows


def current_consents(store: Store, subject_id: str) -> dict[str, bool]:
    """The latest choice per category (a category never chosen is absent: not consented)."""
    return {
        str(r[0]): bool(r[1])
        for r in store.execute(
            "SELECT category, granted FROM current_consents WHERE subject_id = ? ORDER BY category",
            [subject_id],
        ).fetchall()
    }


def import_consents(store: Store, path: str, actor: str = "cli") -> tuple[int, int]:
    """Record many consents at once from a Parquet file (subject_id, category, granted); one transaction.

    A file states each subject's choices as they are: a row that is already the subject's latest choice in its
    category is unchanged and not recorded again (the last row of a file wins over earlier ones for the same subject
    and category), so importing the same file twice records nothing the second time. Returns how many consents
    were recorded and how many were unchanged; a file that changes nothing writes nothing, not even an audit entry.
    """
    categories = set(store.catalog.categories)
    with store.transaction():
        store.execute(
            "CREATE OR REPLACE TEMP TABLE consent_batch AS "
            "SELECT subject_id, category, granted, file_row_number AS _row "
            "FROM read_parquet(?, file_row_number = true)",
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
        total = int(store.one("SELECT count(*) FROM consent_batch"))
        store.execute(
            """CREATE OR REPLACE TEMP TABLE consent_changes AS
            SELECT b.subject_id, b.category, b.granted, b._row FROM (
                SELECT * FROM consent_batch QUALIFY row_number() OVER (
                    PARTITION BY subject_id, category ORDER BY _row DESC) = 1
            ) b LEFT JOIN current_consents c USING (subject_id, category)
            WHERE c.granted IS DISTINCT FROM b.granted"""
        )
        n = int(store.one("SELECT count(*) FROM consent_changes"))
        if n:
            first = store.take_ids("seq", n)
            store.execute(
                "INSERT INTO consents SELECT ? + row_number() OVER (ORDER BY _row) - 1, subject_id, category, "
                "granted, ?, now() FROM consent_changes",
                [first, actor],
            )
            append_audit(store, actor, "import_consents", None, {"file": path, "consents": n, "unchanged": total - n})
        store.execute("DROP TABLE consent_changes")
        store.execute("DROP TABLE consent_batch")
    return n, total - n
