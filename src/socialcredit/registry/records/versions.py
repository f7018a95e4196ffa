"""Versions of subjects and records: the latest version of a record, a subject's own record, a withdrawal."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from socialcredit.clock import resolve_today
from socialcredit.errors import ConflictError, NotFoundError, WorkflowInputError, quoted
from socialcredit.identifiers import fold_record_id, given_record_id, no_subject
from socialcredit.policy.model import RELATION_RECORD_TYPE
from socialcredit.registry.access.audit import append_audit
from socialcredit.store import Store, note_role_records

__all__ = ["latest_record", "require_subject", "subjects_record", "withdraw_version"]


def require_subject(store: Store, subject_id: str) -> None:
    if not store.one("SELECT count(*) FROM subjects WHERE subject_id = ?", [subject_id]):
        raise no_subject(subject_id)


def latest_record(store: Store, source_id: str, record_id: str) -> dict[str, Any]:
    """The latest version of a record; NotFoundError naming the source and record if there is none. ``record_id``
    in either width (identifiers.fold_record_id): ``（2024）京01民初1号`` is ``(2024)京01民初1号``."""
    record_id = given_record_id(record_id)
    if source_id not in store.catalog.sources:
        raise WorkflowInputError(f"unknown source {source_id!r}", field="source_id", code="unknown_source")
    rows = store.rows(
        "SELECT * FROM records WHERE source_id = ? AND record_id = ? ORDER BY version DESC LIMIT 1",
        [source_id, record_id],
    )
    if not rows:
        raise _none_held(source_id, record_id)
    return rows[0]


def _none_held(source_id: str, record_id: str) -> NotFoundError:
    return NotFoundError(
        f"source {source_id} holds no record {quoted(record_id)}",
        zh=f"来源 {source_id} 没有记录 {quoted(record_id)}",
    )


def subjects_record(store: Store, subject_id: str, source_id: str, record_id: str) -> dict[str, Any]:
    """The latest version of a record in ``subject_id``'s file; refused 422 ``unknown_record`` (naming record_id) if
    it is in no file or in another's, in the same words: whoever disputes or asks to repair a record may not learn
    that another person's exists (until 2026-12-06 that one was ``not_your_record``)."""
    require_subject(store, subject_id)
    record_id = given_record_id(record_id)
    try:
        record = latest_record(store, source_id, record_id)
        if record["subject_id"] != subject_id:
            raise _none_held(source_id, record_id)
    except NotFoundError as exc:
        raise WorkflowInputError(str(exc), field="record_id", code="unknown_record", zh=exc.zh) from None
    return record


def withdraw_version(store: Store, record: dict[str, Any]) -> int:
    """Append a withdrawn version of ``record`` (its latest version); returns its key. Call inside a transaction."""
    key = store.take_ids("seq", 1)
    store.execute(
        """INSERT INTO records BY NAME
        SELECT * REPLACE (? AS record_key, version + 1 AS version, false AS is_correction, true AS withdrawn,
                          CAST(NULL AS BIGINT) AS batch_id, now() AS recorded_at, record_key AS prev_key,
                          coalesce(first_key, record_key) AS first_key)
        FROM records WHERE source_id = ? AND record_id = ? AND version = ?""",
        [key, record["source_id"], record["record_id"], record["version"]],
    )
    if record["record_type"] == RELATION_RECORD_TYPE:
        note_role_records(store, key, key)
    return key


def withdraw_record(
    store: Store,
    source_id: str,
    record_id: str,
    *,
    actor: str,
    today: dt.date | None = None,
    batch_name: str | None = None,
) -> int:
    """Withdraw a record of ``source_id``: a new version that no longer counts (the history stays). Returns the
    key of the withdrawn version.

    NotFoundError if the source never sent it; ConflictError ``already_withdrawn`` if its latest version is withdrawn
    already. With ``batch_name`` (a source withdrawing its own record), the withdrawal is recorded as a batch of one
    row under that name and audited as an ``ingest``, as the same withdrawal sent in a file is; without it (the
    registry withdrawing a record for a subject), it is audited as ``record_withdrawn``.
    """
    on = resolve_today(today)
    record_id = fold_record_id(record_id)
    try:
        record = latest_record(store, source_id, record_id)
    except NotFoundError:
        raise NotFoundError(
            f"no record {record_id!r} from source {source_id}", zh=f"来源 {source_id} 没有记录 {record_id!r}"
        ) from None
    if record["withdrawn"]:
        raise ConflictError(
            f"record {record_id!r} is withdrawn already",
            code="already_withdrawn",
            field="record_id",
            zh=f"记录 {record_id!r} 已撤回",
        )
    with store.transaction():
        key = withdraw_version(store, record)
        if batch_name is None:
            detail = {
                "source": source_id,
                "record_id": record_id,
                "version": record["version"] + 1,
                "on": on.isoformat(),
            }
            append_audit(store, actor, "record_withdrawn", record["subject_id"], detail)
            return key
        batch_id = store.take_ids("batch", 1)
        store.execute("UPDATE records SET batch_id = ? WHERE record_key = ?", [batch_id, key])
        sha = hashlib.sha256(
            json.dumps([source_id, record_id, record["version"] + 1, "withdrawn"]).encode()
        ).hexdigest()
        store.execute(
            "INSERT INTO batches (batch_id, source_id, file_name, file_sha256, received_at, n_rows, n_accepted, "
            "n_unchanged, n_rejected) VALUES (?, ?, ?, ?, now(), 1, 1, 0, 0)",
            [batch_id, source_id, batch_name, sha],
        )
        append_audit(
            store,
            actor,
            "ingest",
            None,
            {
                "batch_id": batch_id,
                "source": source_id,
                "file": batch_name,
                "accepted": 1,
                "unchanged": 0,
                "rejected": 0,
            },
        )
    return key


def withdrawal_batch(store: Store, record_key: int) -> dict[str, Any]:
    """The batch that carried the version ``record_key``, as the answer to a batch is: what was sent and what
    came of it."""
    row = store.rows("SELECT b.* FROM batches b JOIN records r USING (batch_id) WHERE r.record_key = ?", [record_key])[
        0
    ]
    return {
        "file": row["file_name"],
        "source": row["source_id"],
        "kind": "records",
        "batch_id": row["batch_id"],
        "rows": row["n_rows"],
        "accepted": row["n_accepted"],
        "unchanged": row["n_unchanged"],
        "rejected": row["n_rejected"],
        "watermark": record_key,
        "errors": [],
    }
