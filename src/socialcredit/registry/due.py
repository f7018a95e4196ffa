"""What the due-process workflows share: the registry's clock, the policies in use, notifications, records.

The clock is a calendar date. Every workflow takes ``today`` explicitly (tests and the CLI's ``--today``); when it
is not given, ``$SOCIALCREDIT_TODAY`` (YYYY-MM-DD) is used if set, else the system date, so a running service can
be put on a controlled clock for a demonstration.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from socialcredit.catalog import load_catalog
from socialcredit.errors import NotFoundError, SocialCreditError, WorkflowError
from socialcredit.policy import LoadedPolicy, builtin_policy
from socialcredit.registry.policies import get_policy
from socialcredit.store import Store

__all__ = [
    "TODAY_ENV",
    "check_text",
    "iso",
    "latest_record",
    "list_notifications",
    "notify",
    "policies_in_use",
    "require_subject",
    "resolve_today",
    "withdraw_version",
]

TODAY_ENV = "SOCIALCREDIT_TODAY"
MAX_TEXT = 4000


def resolve_today(today: dt.date | None = None) -> dt.date:
    if today is not None:
        return today
    value = os.environ.get(TODAY_ENV)
    if value:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise SocialCreditError(f"{TODAY_ENV}={value!r} is not a date (YYYY-MM-DD)") from None
    return dt.date.today()


def iso(value: Any) -> Any:
    """Dates and timestamps as ISO text (the form every face shows)."""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def check_text(value: str | None, field: str, *, required: bool = True) -> str | None:
    """A free text given by a person: trimmed, at most 4000 characters, not empty when required."""
    text = (value or "").strip()
    if not text:
        if required:
            raise WorkflowError(f"{field} is required: write it in a few words", field=field, code="missing_field")
        return None
    if len(text) > MAX_TEXT:
        raise WorkflowError(f"{field} is longer than {MAX_TEXT} characters", field=field, code="too_long")
    return text


def require_subject(store: Store, subject_id: str) -> None:
    if not store.one("SELECT count(*) FROM subjects WHERE subject_id = ?", [subject_id]):
        raise NotFoundError(f"no registered subject {subject_id!r}")


def latest_record(store: Store, source_id: str, record_id: str) -> dict[str, Any]:
    """The latest version of a record; NotFoundError naming the source and record if there is none."""
    if source_id not in load_catalog().sources:
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


def policies_in_use(store: Store) -> list[LoadedPolicy]:
    """The policy version of the latest run of each scored policy; the shipped policies if nothing was scored."""
    runs = store.rows(
        "SELECT policy_id, policy_version FROM score_runs WHERE run_id IN "
        "(SELECT max(run_id) FROM score_runs WHERE finished_at IS NOT NULL GROUP BY policy_id) ORDER BY policy_id"
    )
    if not runs:
        return [builtin_policy("beijing"), builtin_policy("sesame")]
    return [get_policy(store, r["policy_id"], r["policy_version"]) for r in runs]


def notify(store: Store, subject_id: str, kind: str, ref_id: int | None, en: str, zh: str, today: dt.date) -> int:
    """Tell a subject something (shown in their file and report). Call inside a transaction."""
    nid = store.take_ids("notification", 1)
    store.execute(
        "INSERT INTO notifications VALUES (?, ?, ?, ?, ?, ?, ?, now())", [nid, subject_id, today, kind, ref_id, en, zh]
    )
    return nid


def list_notifications(store: Store, subject_id: str, lang: str = "en") -> list[dict[str, Any]]:
    rows = store.rows(
        "SELECT notification_id, created_on, kind, ref_id, text_en, text_zh FROM notifications "
        "WHERE subject_id = ? ORDER BY notification_id",
        [subject_id],
    )
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
