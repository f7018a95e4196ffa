"""The audit log: every read and write, appended to a hash chain (each entry carries the previous hash)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from socialcredit.errors import SocialCreditError
from socialcredit.registry.common import with_values
from socialcredit.store import Store

__all__ = ["AuditProblem", "append_audit", "append_audits", "audited_refusal", "kept_words", "verify_audit"]

GENESIS = "0" * 64


def _entry_hash(seq: int, at: str, actor: str, action: str, subject: str | None, detail: str, prev: str) -> str:
    payload = json.dumps([seq, at, actor, action, subject, detail, prev], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def append_audit(store: Store, actor: str, action: str, subject_id: str | None, detail: dict[str, Any]) -> int:
    """Append one entry; call inside the transaction of the change it records."""
    seq = store.take_ids("audit", 1)
    prev = store.one("SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1") or GENESIS
    at = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    text = json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
    digest = _entry_hash(seq, at.isoformat(), actor, action, subject_id, text, prev)
    store.execute(
        "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [seq, at, actor, action, subject_id, text, prev, digest],
    )
    return seq


@contextmanager
def audited_refusal(
    store: Store,
    actor: str,
    action: str,
    detail: dict[str, Any],
    *,
    subject_id: str | None = None,
    refused: type[SocialCreditError] = SocialCreditError,
    said: Callable[[SocialCreditError], str] = str,
) -> Iterator[None]:
    """A command refused with ``refused`` (the error's class) leaves one audit entry, ``<action>_refused``, with
    what was asked (``detail``) and why it was refused (``refused``: ``said`` of the error, its message unless told
    otherwise); the error is raised on. Wrap the checks only, not the transaction of the change."""
    try:
        yield
    except refused as exc:
        with store.transaction():
            append_audit(store, actor, f"{action}_refused", subject_id, {**detail, "refused": said(exc)})
        raise


def append_audits(
    store: Store, actor: str, action: str, entries: Sequence[tuple[str | None, dict[str, Any]]]
) -> int | None:
    """Append one entry per (subject, detail) of ``entries``, in their order, as many ``append_audit`` calls would:
    consecutive numbers, each entry chained to the one before it, in one statement. Returns the first entry's number
    (None when there are none). Call inside the transaction of the change they record."""
    if not entries:
        return None
    first = store.take_ids("audit", len(entries))
    prev = store.one("SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1") or GENESIS
    at = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    stamp = at.isoformat()
    subjects, texts, prevs, digests = [], [], [], []
    for seq, (subject_id, detail) in enumerate(entries, start=first):
        text = json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
        digest = _entry_hash(seq, stamp, actor, action, subject_id, text, prev)
        subjects.append(subject_id)
        texts.append(text)
        prevs.append(prev)
        digests.append(digest)
        prev = digest
    with_values(
        store,
        {
            "seq": ("int64", list(range(first, first + len(entries)))),
            "subject_id": ("string", subjects),
            "detail": ("string", texts),
            "prev_hash": ("string", prevs),
            "hash": ("string", digests),
        },
        "INSERT INTO audit_log SELECT seq, $at, $actor, $action, subject_id, detail, prev_hash, hash FROM sc_values",
        {"at": at, "actor": actor, "action": action},
    )
    return first


def kept_words(where: str | None, text: str | None) -> dict[str, Any] | None:
    """What an audit entry says of someone's own words (a furnisher's note, an operator's reason): where they are
    kept (``table.column`` of the row the entry names by its number; None for words a refused command kept nowhere)
    and how many characters, never the words. The words may name the person's records; the row goes when its record
    is purged past retention, and an entry of the hash chain cannot (docs/audit.md, "Words kept out of the log")."""
    return None if text is None else {"kept_in": where, "chars": len(text)}


@dataclass(frozen=True)
class AuditProblem:
    seq: int
    message: str
    # the problem in Chinese, when its finder words it (`audit verify --lang zh`); the same problem either way
    zh: str | None = field(default=None, compare=False)

    def said_in(self, lang: str) -> str:
        """The problem in ``lang`` (en or zh): in English when it has no Chinese."""
        return self.zh if lang == "zh" and self.zh else self.message


def verify_audit(store: Store) -> list[AuditProblem]:
    """Recompute the chain; report every entry that was altered, removed or reordered."""
    problems: list[AuditProblem] = []
    prev = GENESIS
    expected_seq = 1
    for seq, at, actor, action, subject, detail, prev_hash, digest in store.execute(
        "SELECT seq, at_time, actor, action, subject_id, detail, prev_hash, hash FROM audit_log ORDER BY seq"
    ).fetchall():
        if seq == expected_seq + 1:
            problems.append(
                AuditProblem(
                    seq,
                    f"entry {expected_seq} is missing (next entry is {seq})",
                    f"第 {expected_seq} 条缺失（下一条是第 {seq} 条）",
                )
            )
        elif seq > expected_seq:  # every number of the gap is named: "entry 9 is missing" hid 90 more
            gap = f"entries {expected_seq} to {seq - 1} ({seq - expected_seq})"
            problems.append(
                AuditProblem(
                    seq,
                    f"{gap} are missing (next entry is {seq})",
                    f"第 {expected_seq} 至 {seq - 1} 条（{seq - expected_seq} 条）缺失（下一条是第 {seq} 条）",
                )
            )
        if prev_hash != prev:
            problems.append(
                AuditProblem(seq, f"entry {seq} does not follow the entry before it", f"第 {seq} 条没有接续其前一条")
            )
        if _entry_hash(seq, at.isoformat(), actor, action, subject, detail, prev_hash) != digest:
            problems.append(AuditProblem(seq, f"entry {seq} was altered", f"第 {seq} 条已被篡改"))
        prev, expected_seq = digest, seq + 1
    return problems


def audit_page(store: Store, *, after: int = 0, limit: int = 100, actor: str | None = None) -> list[dict[str, Any]]:
    """At most ``limit`` entries after entry ``after``, in order: details parsed, times as ISO text. With ``actor``,
    the read is audited (``read_audit``: where the page starts, its limit, how many entries it held and the last
    one's number), after the page is read: a page never holds its own entry, the next page does."""
    with store.transaction():
        rows = store.rows("SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?", [after, limit])
        if actor is not None:
            last = int(rows[-1]["seq"]) if rows else None
            detail = {"after": after, "limit": limit, "entries": len(rows), "last": last}
            append_audit(store, actor, "read_audit", None, detail)
    for r in rows:
        r["detail"] = json.loads(r["detail"])
        if isinstance(r["at_time"], dt.date):
            r["at_time"] = r["at_time"].isoformat()
    return rows


def audit_length(store: Store) -> int:
    """How many entries the audit log holds."""
    return int(store.one("SELECT count(*) FROM audit_log") or 0)
