"""A durable inquiry log for the service: every decision is journalled before it is answered.

Decisions are answered from memory while ingest and score runs hold the store's single writer, so an inquiry cannot
wait for a store transaction. Instead each one is appended to a journal file next to the store (one JSON line,
written to the operating system before the answer goes out, so a crash of the service loses none), and a flusher
moves the journal into the ``inquiries`` table whenever the writer is free. Segments rotate at each flush; one is
deleted only after its rows are committed, and the commit's audit entry names it, so a segment found again after a
crash between the two is recognised and not inserted twice.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import uuid
from pathlib import Path

import pyarrow as pa

from socialcredit.registry.audit import append_audit
from socialcredit.store import Store

__all__ = ["InquiryLog"]


class InquiryLog:
    """Journal inquiries to ``<store>.inquiries/`` and move them into the store with ``flush``."""

    def __init__(self, folder: Path | str, *, fsync: bool = False) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._count = 0
        self._open_segment()

    def _open_segment(self) -> None:
        self.segment = self.folder / f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.open"
        self._file = self.segment.open("a", encoding="utf-8")
        self._count = 0

    @property
    def pending(self) -> int:
        return self._count

    def record(
        self, run_id: int, subjects: list[str], service: str, purpose: str, requester: str, outcomes: list[str]
    ) -> None:
        """Journal inquiries (a snapshot's sink): returns once the lines are written to the operating system."""
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat()
        head = json.dumps([now, requester], ensure_ascii=False)[1:-1]
        tail = json.dumps([service, purpose, run_id], ensure_ascii=False)[1:-1]
        text = "".join(
            f'[{head},{json.dumps(s, ensure_ascii=False)},{tail},"{o}"]\n'
            for s, o in zip(subjects, outcomes, strict=True)
        )
        with self._lock:
            self._file.write(text)
            self._file.flush()
            if self.fsync:
                os.fsync(self._file.fileno())
            self._count += len(subjects)

    def _rotate(self) -> Path | None:
        with self._lock:
            if self._count == 0:
                return None
            self._file.close()
            done = self.segment.with_suffix(".closed")
            self.segment.rename(done)
            self._open_segment()
            return done

    def flush(self, store: Store) -> int:
        """Move every journalled inquiry into the store (call with the store's writer); returns how many."""
        with self._flushing:
            self._rotate()
            moved = 0
            for segment in sorted(self.folder.glob("*.closed")):
                moved += _commit_segment(store, segment)
                segment.unlink()
            return moved

    def close(self, store: Store | None = None) -> None:
        if store is not None:
            self.flush(store)
        with self._lock:
            self._file.close()
            if self._count == 0:
                self.segment.unlink(missing_ok=True)

    def recover(self, store: Store) -> int:
        """At start: commit what an earlier process journalled but did not commit."""
        with self._flushing:
            for leftover in self.folder.glob("*.open"):
                if leftover != self.segment:
                    leftover.rename(leftover.with_suffix(".closed"))
        return self.flush(store)


def _commit_segment(store: Store, segment: Path) -> int:
    already = store.one(
        "SELECT count(*) FROM audit_log WHERE action = 'inquiries' AND json_extract_string(detail, '$.segment') = ?",
        [segment.stem],
    )
    if already:
        return 0
    rows = []
    with segment.open(encoding="utf-8") as f:
        for line in f:
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut short by a crash mid-write: it was never answered
                continue
    if not rows:
        return 0
    n = len(rows)
    cols = list(zip(*rows, strict=True))
    with store.transaction():
        first = store.take_ids("inquiry", n)
        table = pa.table(
            {
                "inquiry_id": pa.array(range(first, first + n), pa.int64()),
                "asked_at": pa.array([dt.datetime.fromisoformat(t) for t in cols[0]], pa.timestamp("us")),
                "requester": list(cols[1]),
                "subject_id": list(cols[2]),
                "service": list(cols[3]),
                "purpose": list(cols[4]),
                "outcome": list(cols[6]),
                "run_id": pa.array(cols[5], pa.int64()),
            }
        )
        store.con.register("journal_inquiries", table)
        try:
            store.execute("INSERT INTO inquiries SELECT * FROM journal_inquiries")
        finally:
            store.con.unregister("journal_inquiries")
        requesters = sorted(set(cols[1]))
        append_audit(
            store,
            "service",
            "inquiries",
            None,
            {"segment": segment.stem, "inquiries": [first, first + n - 1], "requesters": requesters[:20]},
        )
    return n
