"""A durable inquiry log for the service: every decision is journalled before it is answered.

Decisions are answered from memory while ingest and score runs hold the store's single writer, so an inquiry cannot
wait for a store transaction. Instead each one is appended to a journal file next to the store (one JSON line,
written to the operating system before the answer goes out, so a crash of the service loses none), and a flusher
moves the journal into the ``inquiries`` table whenever the writer is free. Segments rotate at each flush; one is
deleted only after its rows are committed, and the commit's audit entry names it, so a segment found again after a
crash between the two is recognised and not inserted twice.

When the store has a key, the journal holds nothing in clear: each call's lines are one frame sealed with AES-GCM
under a key derived from the store's key (registry/private.py), so a crash mid-write loses only the unfinished frame,
which was never answered; a segment is decrypted in memory when it is moved into the store. Segments are mode 0600.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading
import uuid
from collections.abc import Sequence
from itertools import repeat
from pathlib import Path
from typing import Any

from socialcredit.errors import StoreError
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.private import SEALED_MAGIC, MemoryFile, Sealer, create_private, private_folder, unseal
from socialcredit.store import KEY_ENV, Store

__all__ = [
    "CLI_VIEWS",
    "INQUIRY_COLUMNS",
    "JOURNAL_KEY",
    "OPERATOR_VIEWS",
    "RUN_LISTS",
    "InquiryLog",
    "journal_folder",
    "journal_of",
    "party_names",
    "who_asked",
    "with_run_lists",
    "write_inquiries",
]

# An operator's reads of one subject that the subject's list of who asked shows (``who_asked``)
OPERATOR_VIEWS = ("read_report", "read_history", "read_freeze", "read_dispute", "dispute_evidence_read", "read_repair")
_VIEWS_SQL = ", ".join(f"'{action}'" for action in OPERATOR_VIEWS)
# The purpose shown for a read logged with none: an evidence file downloaded before 2026-12-06 (on the operators' pages
# or over the API, which the entry does not say), and the command line's ``consents`` and ``notifications`` of a
# resident (registry/words.py PURPOSE_WORDS says it in words)
UNSAID_PURPOSES = {
    "dispute_evidence_read": "dispute evidence",
    "read_consents": "consents",
    "read_notifications": "notifications",
}
_UNSAID_SQL = "".join(f" WHEN '{action}' THEN '{purpose}'" for action, purpose in UNSAID_PURPOSES.items())
# The command line's reads of one subject (actor ``cli``: an operator at the registry's own machine): ``show`` and
# ``file export`` read the file (``read_report``; the export's own ``export_file`` entry is the same look-up, not
# shown again), ``repair eligibility`` a record (``read_record``), ``freeze status`` the freeze, ``consents`` and
# ``notifications`` the resident's consents and what they were told (until 2026-12-06 audited, and shown nowhere)
CLI_ACTOR = "cli"
CLI_VIEWS = (*OPERATOR_VIEWS, "read_record", "read_consents", "read_notifications")
_CLI_VIEWS_SQL = ", ".join(f"'{action}'" for action in CLI_VIEWS)
JOURNAL_KEY = "inquiry journal"  # the purpose of the key the journal is sealed with (Store.derived_key)

# The columns of an inquiry after its id, in the order of the ``inquiries`` table.
INQUIRY_COLUMNS = ("asked_at", "requester", "subject_id", "service", "purpose", "outcome", "run_id", "lists")


# The lists of a batch or quick refusal that are its run's (nearly every one: ``Snapshot.counted_lists``), as the
# journal and a snapshot's buffer mark them until they are written: ``with_run_lists`` then gives each its run's
# entries for the subject. Never a list: a list id is a lower-case identifier (policy/model.py). Until 2026-12-07
# such a refusal kept NULL, and the file worked its lists out again when read, from the listings as they then stood.
# A tuple, shared by every refusal that carries it: no one can change it for the others (a sink compares it by
# identity, ``x is RUN_LISTS``, or by value; it must write it as it is, to be filled when written).
RUN_LISTS: tuple[str, ...] = ("=run",)
_RUN_LISTS_SQL = "['=run']::VARCHAR[]"


def with_run_lists(rows: str, marked: bool) -> str:
    """``rows`` (a query of INQUIRY_COLUMNS and ``pos``, as ``write_inquiries`` takes) with the lists of each
    inquiry marked ``RUN_LISTS`` its run's for the subject: the ids of the subject's entries in ``run_list_entries``,
    sorted (none: an empty list). One statement for every inquiry: the entries of the marked ones only are read.
    ``marked``: whether any may be marked (their writer knows it at no cost); if not (a batch of grants) ``rows``
    as it is, read once and written with nothing looked up (until 2026-12-07 every flush paid for the look-up)."""
    if not marked:
        return rows
    # a correlated subquery: DuckDB joins the entries once, to the distinct (run, subject) of ``rows`` only
    return f"""SELECT q.* REPLACE (
            CASE WHEN q.lists = {_RUN_LISTS_SQL} THEN coalesce((
                SELECT list_sort(list(DISTINCT e.list_id)) FROM run_list_entries e
                WHERE e.run_id = q.run_id AND e.subject_id = q.subject_id), []::VARCHAR[])
            ELSE q.lists END AS lists)
        FROM ({rows}) q"""


def write_inquiries(store: Store, rows: str, n: int, params: Sequence[object] = ()) -> int:
    """Append ``n`` inquiries to the store; returns the id of the first (the ids are consecutive).

    The one way inquiries enter the store: a single decision, a snapshot's buffer and the journal's segments all
    come here. ``rows`` is a query (over a registered or temporary table, or of bound values, with ``params`` for
    its ``?``) giving the columns of INQUIRY_COLUMNS and ``pos``, 1 to ``n``: the inquiries take ids from the
    inquiry counter in that order. Call inside a transaction; the caller's audit entry names the ids.
    """
    first = store.take_ids("inquiry", n)
    store.execute(
        f"INSERT INTO inquiries SELECT ? + pos - 1, {', '.join(INQUIRY_COLUMNS)} FROM ({rows}) ORDER BY pos",
        [first, *params],
    )
    return first


# Who asked with a key the store no longer knows, as the resident is told it (en, zh)
UNKNOWN_PARTY = {"en": "a relying party", "zh": "某查询方"}


def party_names(store: Store, requesters: Sequence[str], lang: str = "en") -> dict[str, str]:
    """Who asked, as a resident is shown it: the name of the party behind each requester the service logged as
    ``key:<key id>`` (a key id is never shown to a resident), or, for a key no longer known, "a relying party" in
    ``lang``. Requesters of another form are left out."""
    ids = sorted({r[4:] for r in requesters if r.startswith("key:")})
    if not ids:
        return {}
    rows = store.execute("SELECT key_id, name FROM api_keys WHERE list_contains(?, key_id)", [ids]).fetchall()
    known = {f"key:{k}": str(n) for k, n in rows}
    return {f"key:{k}": known.get(f"key:{k}", UNKNOWN_PARTY[lang]) for k in ids}


def who_asked(
    store: Store, subject_id: str, lang: str = "en", *, limit: int | None = None, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """Who asked about the subject, newest first, and how many did in all: its inquiries, each with the policy and
    version its run scored under (which stay readable at /policies/{id}/{version} when a newer one is published),
    and the times an operator opened its file, its score history, its freeze, one of its disputes or an evidence
    file of one, or one of its repair applications (the audit log's ``read_report``, ``read_history``,
    ``read_freeze``, ``read_dispute``, ``dispute_evidence_read`` (an old one with no purpose is given its action's
    in UNSAID_PURPOSES) and ``read_repair`` by an operator's key; those and ``read_record``, ``read_consents`` and
    ``read_notifications`` by the command line, actor ``cli``) shaped as inquiries: "an operator (name) viewed your
    file", "an operator at the command line viewed your file", and the purpose (the disputes and listings a page of
    the file shows beside it, ``read_disputes`` and ``read_notices`` of the same look-up, are not shown again: the
    look-up is shown once, as the file's read). ``limit`` of them from ``offset`` (all without a limit): the page is
    chosen in the query, so a subject asked about 100 000 times costs one page's rows, not every one built and
    sliced.

    Newest first is by inquiry id (the order the service logged them) while no operator opened the file; with
    operators' views among them, by the time, inquiries before views of the same time, each newest first."""
    # one row per audit entry: an operator's key's read, or the command line's (each entry is one or the other)
    views = (
        "FROM audit_log a LEFT JOIN api_keys k ON a.actor = 'key:' || k.key_id "
        f"WHERE a.subject_id = ? AND ((a.action IN ({_VIEWS_SQL}) AND k.role = 'operator') "
        f"OR (a.actor = '{CLI_ACTOR}' AND a.action IN ({_CLI_VIEWS_SQL})))"
    )
    viewed = int(store.one(f"SELECT count(*) {views}", [subject_id]))
    total = int(store.one("SELECT count(*) FROM inquiries WHERE subject_id = ?", [subject_id])) + viewed
    sql = (
        "SELECT i.inquiry_id, i.asked_at, i.requester, i.service, i.purpose, i.outcome, i.run_id, s.policy_id, "
        "s.policy_version, NULL AS viewer, 0 AS part, i.inquiry_id AS nth "
        "FROM inquiries i LEFT JOIN score_runs s USING (run_id) WHERE i.subject_id = ?"
    )
    params: list[object] = [subject_id]
    if viewed:
        sql += (
            " UNION ALL SELECT NULL, a.at_time, NULL, '', coalesce(json_extract_string(a.detail, '$.purpose'), "
            f"CASE a.action{_UNSAID_SQL} ELSE '' END), "
            f"'viewed', NULL, NULL, NULL, k.name, CASE WHEN k.key_id IS NULL THEN 2 ELSE 1 END, a.seq {views} "
            "ORDER BY asked_at DESC, part, nth DESC"
        )
        params.append(subject_id)
    else:
        sql += " ORDER BY inquiry_id DESC"
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [limit, offset]
    said = "an operator ({}) viewed your file" if lang == "en" else "运营方（{}）查看了您的档案"
    at_cli = "an operator at the command line viewed your file" if lang == "en" else "运营方在命令行查看了您的档案"
    # a decision asked at the command line without --requester is logged as asked by "cli": said in words, as the
    # command line's views are (the pages said "cli", a code, in Chinese too)
    asked_at_cli = "an operator at the command line" if lang == "en" else "运营方（命令行）"
    rows = store.rows(sql, params)
    for r in rows:
        viewer, part = r.pop("viewer"), r.pop("part")
        del r["nth"]
        if part:
            r["requester"] = said.format(viewer) if part == 1 else at_cli
        elif r["requester"] == CLI_ACTOR:
            r["requester"] = asked_at_cli
    return rows, total


def journal_folder(db: Path) -> Path:
    """Where the inquiry journal of the store at ``db`` is kept: ``<db>.inquiries/``."""
    return db.with_name(db.name + ".inquiries")


def journal_of(store: Store) -> InquiryLog:
    """The store's inquiry journal, ``<store>.inquiries/`` (made if it is not there): sealed when the store has a
    key, since it holds identity numbers, requesters and purposes."""
    return InquiryLog(journal_folder(store.path), key=store.derived_key(JOURNAL_KEY))


class InquiryLog:
    """Journal inquiries to ``<store>.inquiries/`` and move them into the store with ``flush``.

    With ``key`` (the store's ``derived_key(JOURNAL_KEY)``), segments are sealed; without it they are JSON lines.
    """

    def __init__(self, folder: Path | str, *, fsync: bool = False, key: bytes | None = None) -> None:
        self.folder = private_folder(Path(folder))
        self.fsync = fsync
        self.key = key
        # the links to segments decrypted in memory (``_rows_file``) that a crash left behind: they point nowhere
        for link in self.folder.glob("*.rows.ndjson"):
            link.unlink(missing_ok=True)
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._count = 0
        self._in_flight = 0  # journalled in closed segments, not yet committed
        self._open_segment()

    def _open_segment(self) -> None:
        self.segment = self.folder / f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.open"
        self._file = create_private(self.segment, append=True)
        self._sealer = Sealer(self.key) if self.key is not None else None
        if self._sealer is not None:
            self._file.write(self._sealer.header)
            self._file.flush()
        self._count = 0

    @property
    def pending(self) -> int:
        """Inquiries journalled and not yet in the store."""
        return self._count + self._in_flight

    def record(
        self,
        run_id: int,
        subjects: list[str],
        service: str,
        purpose: str,
        requester: str,
        outcomes: list[str],
        lists: Sequence[Sequence[str] | None] | None = None,
    ) -> None:
        """Journal inquiries (a snapshot's sink): returns once the lines are written to the operating system. Each
        with the lists its decision counted (``lists``, one per subject: ``RUN_LISTS`` where they are its run's,
        filled in when the journal is flushed; None where none were worked out, a grant's), in the line's ``l``
        only where given."""
        if len(outcomes) != len(subjects) or (lists is not None and len(lists) != len(subjects)):
            raise ValueError(
                f"{len(subjects)} subjects, {len(outcomes)} outcomes and {'no' if lists is None else len(lists)} lists"
            )
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat()
        # one JSON object a line; the fields shared by the whole call are written once and repeated as text
        head = json.dumps({"t": now, "q": requester, "v": service, "p": purpose, "r": run_id}, ensure_ascii=False)
        head = head[:-1]
        # a line's end: its lists where worked out (a refusal's), else none; a call with none at all (a batch of
        # grants) builds its lines as before lists were kept, at no extra cost
        ends = (
            [
                "}\n"
                if x is None
                else _RUN_END
                if x is RUN_LISTS
                else f', "l": {json.dumps(x, ensure_ascii=False)}}}\n'
                for x in lists
            ]
            if lists is not None and any(x is not None for x in lists)
            else repeat("}\n")
        )
        text = "".join(
            f'{head}, "s": {json.dumps(s, ensure_ascii=False)}, "o": "{o}"{end}'
            for s, o, end in zip(subjects, outcomes, ends, strict=False)  # lengths checked above; ``ends`` may repeat
        )
        data = text.encode("utf-8")
        with self._lock:
            # sealed under the lock: a frame's number is its place in the file
            self._file.write(self._sealer.seal(data) if self._sealer is not None else data)
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
            self._in_flight += self._count
            self._open_segment()
            return done

    def flush(self, store: Store) -> int:
        """Move every journalled inquiry into the store (call with the store's writer); returns how many."""
        with self._flushing:
            self._rotate()
            moved = 0
            for segment in sorted(self.folder.glob("*.closed")):
                moved += _commit_segment(store, segment, self.key)
                segment.unlink()
            self._in_flight = 0
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


_RUN_END = f', "l": {json.dumps(RUN_LISTS)}}}\n'  # a line's end marked ``RUN_LISTS``, made once
# how a segment's text shows a line so marked (a string's quotes are escaped in JSON: no subject or purpose has it)
_RUN_MARK = _RUN_END[2:-2].encode()
_COLUMNS = (
    "{'t': 'TIMESTAMP', 'q': 'VARCHAR', 'v': 'VARCHAR', 'p': 'VARCHAR', 'r': 'BIGINT', 's': 'VARCHAR', 'o': 'VARCHAR', "
    "'l': 'VARCHAR[]'}"
)


def _commit_segment(store: Store, segment: Path, key: bytes | None) -> int:
    """Insert one segment's inquiries (read by DuckDB itself: the service's threads keep answering meanwhile)."""
    already = store.one(
        "SELECT count(*) FROM audit_log WHERE action = 'inquiries' AND json_extract_string(detail, '$.segment') = ?",
        [segment.stem],
    )
    if already:
        return 0
    data = segment.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if not data.startswith(SEALED_MAGIC):
        return _insert_segment(store, segment, segment, digest, {}, _RUN_MARK in data)
    if key is None:
        raise StoreError(f"{segment} is sealed with the store's key: start the service with {KEY_ENV} set")
    plain, unreadable = unseal(data, key)
    # decrypted in memory only; DuckDB reads it by a link that names no data
    note = {"unreadable_bytes": unreadable} if unreadable else {}
    with MemoryFile(plain, segment.parent, f"{segment.stem}.rows.ndjson") as rows:
        return _insert_segment(store, segment, rows.path, digest, note, _RUN_MARK in plain)


def _insert_segment(store: Store, segment: Path, path: Path, digest: str, note: dict[str, int], marked: bool) -> int:
    # a line cut short by a crash mid-write was never answered: ignore_errors drops it
    store.execute(
        f"""CREATE OR REPLACE TEMP TABLE journal_rows AS
        SELECT row_number() OVER () AS pos, t AS asked_at, q AS requester, s AS subject_id, v AS service,
               p AS purpose, o AS outcome, r AS run_id, l AS lists
        FROM read_json($path, format = 'newline_delimited', columns = {_COLUMNS},
                       ignore_errors = true)
        WHERE s IS NOT NULL AND o IS NOT NULL""",
        {"path": str(path)},
    )
    n = int(store.one("SELECT count(*) FROM journal_rows"))
    if n == 0:
        return 0
    with store.transaction():
        first = write_inquiries(store, with_run_lists("SELECT * FROM journal_rows", marked), n)
        requesters = [
            str(r[0])
            for r in store.execute("SELECT DISTINCT requester FROM journal_rows ORDER BY 1 LIMIT 20").fetchall()
        ]
        append_audit(
            store,
            "service",
            "inquiries",
            None,
            {
                "segment": segment.stem,
                "sha256": digest,
                "inquiries": [first, first + n - 1],
                "requesters": requesters,
                **note,
            },
        )
    store.execute("DROP TABLE journal_rows")
    return n
