"""Versions of subjects and records: the latest version of a record, a subject's own record, a withdrawal."""

from __future__ import annotations

from typing import Any

from socialcredit.errors import NotFoundError, WorkflowError
from socialcredit.store import Store

__all__ = ["latest_record", "require_subject", "subjects_record", "withdraw_version"]


def require_subject(store: Store, subject_id: str) -> None:
    if not store.one("SELECT count(*) FROM subjects WHERE subject_id = ?", [subject_id]):
        raise NotFoundError(f"no registered subject {subject_id!r}")


def latest_record(store: Store, source_id: str, record_id: str) -> dict[str, Any]:
    """The latest version of a record; NotFoundError naming the source and record if there is none."""
    if source_id not in store.catalog.sources:
        raise WorkflowError(f"unknown source {source_id!r}", field="source_id", code="unknown_source")
    rows = store.rows(
        "SELECT * FROM records WHERE source_id = ? AND record_id = ? ORDER BY version DESC LIMIT 1",
        [source_id, record_id],
    )
    if not rows:
        raise NotFoundError(f"source {source_id} holds no record {record_id!r}")
    return rows[0]


def subjects_record(store: Store, subject_id: str, source_id: str, record_id: str) -> dict[str, Any]:
    """The latest version of a record in ``subject_id``'s file; refused (naming record_id) if it is in no file or
    in another's."""
    require_subject(store, subject_id)
    try:
        record = latest_record(store, source_id, record_id)
    except NotFoundError as exc:
        raise WorkflowError(str(exc), field="record_id", code="unknown_record") from None
    if record["subject_id"] != subject_id:
        raise WorkflowError(
            f"record {record_id!r} of source {source_id} is not in the file of {subject_id}",
            field="record_id",
            code="not_your_record",
        )
    return record


def withdraw_version(store: Store, record: dict[str, Any]) -> int:
    """Append a withdrawn version of ``record`` (its latest version); returns its key. Call inside a transaction."""
    key = store.take_ids("seq", 1)
    store.execute(
        """INSERT INTO records BY NAME
        SELECT * REPLACE (? AS record_key, version + 1 AS version, false AS is_correction, true AS withdrawn,
                          CAST(NULL AS BIGINT) AS batch_id, now() AS recorded_at)
        FROM records WHERE source_id = ? AND record_id = ? AND version = ?""",
        [key, record["source_id"], record["record_id"], record["version"]],
    )
    return key
