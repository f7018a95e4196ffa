"""Evidence files on a dispute: a PDF, PNG or JPEG the resident attaches, for the source (and a reviewer) to read.

* At most :data:`MAX_FILES` files a dispute, each at most :data:`MAX_FILE_BYTES` bytes (1 MiB): a face refuses a
  larger one from its declared length, or as it arrives, before holding more than that (413, naming the limit).
* The type is read from the content, never from the name or the declared type: a PDF starts ``%PDF-``, a PNG with
  its 8-byte signature, a JPEG with ``FF D8 FF`` (415, naming the types taken).
* The file is kept in the store (a BLOB), so it is encrypted with the store when the store has a key; nothing is
  written beside it. Its SHA-256 is kept with it and shown, so a reader can tell two files apart.
* Files may be added while the dispute is open; each addition is audited, and so is every download.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any
from urllib.parse import quote

from socialcredit.clock import resolve_today
from socialcredit.errors import NotFoundError, PayloadTooLargeError, UnsupportedMediaError, WorkflowError
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.common import iso
from socialcredit.store import Store

__all__ = [
    "MAX_FILES",
    "MAX_FILE_BYTES",
    "MEDIA_TYPES",
    "add_evidence",
    "check_size",
    "content_disposition",
    "evidence_file",
    "list_evidence",
    "sniff_media_type",
    "too_large",
]

MAX_FILE_BYTES = 1024 * 1024
MAX_FILES = 3
# The types taken, by their first bytes.
MEDIA_TYPES = {"application/pdf": b"%PDF-", "image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}
_EXTENSIONS = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}
_UNSAFE = re.compile(r"[^\w.\- ]+")


def too_large(size: int | None = None) -> PayloadTooLargeError:
    """The refusal of a file over the limit (``size``: its length, when known)."""
    what = f"this one is {size:,} bytes" if size is not None else "this one is larger"
    return PayloadTooLargeError(
        f"an evidence file is at most 1 MiB ({MAX_FILE_BYTES:,} bytes); {what}", code="file_too_large", field="file"
    )


def check_size(size: int) -> None:
    """Refuse a declared length over the limit before anything is read."""
    if size > MAX_FILE_BYTES:
        raise too_large(size)


def sniff_media_type(content: bytes) -> str:
    """The media type of a file by its first bytes; 415 unless it is a PDF, PNG or JPEG.

    >>> sniff_media_type(b"%PDF-1.7 ...")
    'application/pdf'
    """
    for media_type, magic in MEDIA_TYPES.items():
        if content.startswith(magic):
            return media_type
    raise UnsupportedMediaError(
        "evidence must be a PDF, PNG or JPEG file (application/pdf, image/png, image/jpeg); this file is none of them",
        code="unsupported_file_type",
        field="file",
    )


def _file_name(name: str | None, media_type: str) -> str:
    """A name safe to show and to offer for download: no path, no control or quoting characters, 100 at most, cut
    in its stem: its extension (up to 10 characters) stays, so that the downloaded file opens as what it is (a long
    name lost it, "nnn…n" for "nnn…n.png")."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", base).strip(" ._")
    if len(base) > 100:
        _stem, dot, extension = base.rpartition(".")
        kept = dot + extension if dot and len(extension) <= 10 else ""
        base = base[: 100 - len(kept)].rstrip(" ._") + kept
    return base or "evidence" + _EXTENSIONS[media_type]


def content_disposition(file_name: str) -> str:
    """The ``Content-Disposition`` of a download: an ASCII name for every client, the name itself (RFC 6266)."""
    fallback = file_name.encode("ascii", "replace").decode("ascii").replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "evidence_id": int(row["evidence_id"]),
        "dispute_id": int(row["dispute_id"]),
        "file_name": row["file_name"],
        "media_type": row["media_type"],
        "size": int(row["size"]),
        "sha256": row["sha256"],
        "added_on": iso(row["added_on"]),
        "representative_id": row.get("representative_id"),
    }


def list_evidence(store: Store, dispute_id: int) -> list[dict[str, Any]]:
    """The files of a dispute, in the order they were added (without their content)."""
    rows = store.rows(
        "SELECT evidence_id, dispute_id, file_name, media_type, size, sha256, added_on, representative_id "
        "FROM dispute_evidence "
        "WHERE dispute_id = ? ORDER BY evidence_id",
        [dispute_id],
    )
    return [_public(r) for r in rows]


def add_evidence(
    store: Store,
    dispute_id: int,
    content: bytes,
    file_name: str | None,
    actor: str,
    *,
    today: dt.date | None = None,
    representative_id: str | None = None,
) -> dict[str, Any]:
    """Attach a file to an open dispute; returns its description. Refused: too large (413), not a PDF, PNG or
    JPEG (415), the dispute closed, at its number of files or dated before its filing (409).
    ``representative_id``: the legal representative attaching it for the organisation that is the dispute's subject
    (the caller has checked it: ``acting.acting_on``)."""
    today = resolve_today(today)
    check_size(len(content))
    if not content:
        raise UnsupportedMediaError("the evidence file is empty", code="unsupported_file_type", field="file")
    media_type = sniff_media_type(content)
    row = store.rows("SELECT subject_id, status, opened_at FROM disputes WHERE dispute_id = ?", [dispute_id])
    if not row:
        raise NotFoundError(f"no dispute {dispute_id}", field="dispute_id")
    # as information added to it (``disputes`` imports this module: the check is looked up when called)
    from socialcredit.registry.due_process.disputes import not_before, status_zh

    if row[0]["status"] != "open":
        raise WorkflowError(
            f"dispute {dispute_id} is closed ({row[0]['status']}); files may be added only while it is open",
            field="dispute_id",
            code="dispute_closed",
            zh=f"异议 {dispute_id} 已结束（{status_zh(row[0]['status'])}）；只有在异议未结束时才能添加文件",
        )

    not_before(dispute_id, today, row[0]["opened_at"], "a file added to it")
    count = int(store.one("SELECT count(*) FROM dispute_evidence WHERE dispute_id = ?", [dispute_id]))
    if count >= MAX_FILES:
        raise WorkflowError(
            f"dispute {dispute_id} has {MAX_FILES} files already, the most a dispute may have",
            field="file",
            code="too_many_files",
        )
    name = _file_name(file_name, media_type)
    digest = hashlib.sha256(content).hexdigest()
    with store.transaction():
        evidence_id = store.take_ids("evidence", 1)
        store.execute(
            "INSERT INTO dispute_evidence (evidence_id, dispute_id, file_name, media_type, size, sha256, content, "
            "added_on, added_by, recorded_at, representative_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, now(), ?)",
            [evidence_id, dispute_id, name, media_type, len(content), digest, content, today, actor, representative_id],
        )
        detail: dict[str, Any] = {
            "dispute_id": dispute_id,
            "evidence_id": evidence_id,
            "media_type": media_type,
            "size": len(content),
        }
        if representative_id is not None:
            detail["representative"] = representative_id
        append_audit(store, actor, "dispute_evidence_added", row[0]["subject_id"], detail)
    return _public(
        {
            "evidence_id": evidence_id,
            "dispute_id": dispute_id,
            "file_name": name,
            "media_type": media_type,
            "size": len(content),
            "sha256": digest,
            "added_on": today,
            "representative_id": representative_id,
        }
    )


def evidence_file(
    store: Store, dispute_id: int, evidence_id: int, actor: str, *, purpose: str
) -> tuple[dict[str, Any], bytes]:
    """One file of a dispute and its content (the reader's right to it is the face's to check); audited
    (``dispute_evidence_read`` with the face's ``purpose``: an operator's is shown in the resident's list of who
    asked, as an operator's read of the dispute is)."""
    rows = store.rows(
        "SELECT e.*, d.subject_id FROM dispute_evidence e JOIN disputes d USING (dispute_id) "
        "WHERE e.dispute_id = ? AND e.evidence_id = ?",
        [dispute_id, evidence_id],
    )
    if not rows:
        raise NotFoundError(f"dispute {dispute_id} has no evidence file {evidence_id}", field="evidence_id")
    row = rows[0]
    with store.transaction():
        append_audit(
            store,
            actor,
            "dispute_evidence_read",
            row["subject_id"],
            {"dispute_id": dispute_id, "evidence_id": evidence_id, "purpose": purpose},
        )
    return _public(row), bytes(row["content"])
