"""Decisions from memory: the latest run of a policy held as arrays, so a decision is a lookup and a bit test.

The store has one writer; relying parties ask far more often than runs change. A snapshot is loaded from a finished
run; between runs, the subjects a committed change touches are rescored on the scoring state and patched in
(:meth:`Snapshot.patch`, registry/decisions/live.py), and the snapshot then names the watermark it stands on. Every
decision is still logged as an inquiry: the snapshot buffers them and ``flush`` writes them to the store in one
transaction (the single writer does this).

The subjects are held as one sorted array of their identifiers (fixed-width bytes): a subject's row is found by a
binary search (``rows_of``), with no Python object per subject, so a run of 22 million subjects loads in seconds.
Scores, grants and tier ranks are writable NumPy arrays indexed by that row.

>>> snap = Snapshot.load(store, "beijing")                      # doctest: +SKIP
>>> snap.decide("110105199001011237", "high_speed_rail", "ticket purchase", requester="railway")  # doctest: +SKIP
QuickDecision(granted=True, score=1002, tier='A', run_id=3)
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, get_args, overload

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from socialcredit.clock import resolve_today
from socialcredit.compiler import MAX_REASONS
from socialcredit.errors import IdentifierError, NotFoundError, SocialCreditError, StoreError
from socialcredit.identifiers import SubjectKind, compact_subject_id, validate_subject_id
from socialcredit.policy import LoadedPolicy, expr
from socialcredit.policy.model import RELATION_RECORD_TYPE
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.common import no_purpose
from socialcredit.registry.decisions.decide import (
    Decision,
    ListEntry,
    entry_notes,
    explain_rows,
    guarded,
    run_entries_of,
    run_entries_table,
    run_for_service,
)
from socialcredit.registry.decisions.inquiries import RUN_LISTS, with_run_lists, write_inquiries
from socialcredit.registry.decisions.live import POSITIONAL_FACTS, LiveRow, LiveView
from socialcredit.registry.due_process.freeze import Guard, load_guards, party_of
from socialcredit.registry.due_process.listings import effective_results
from socialcredit.registry.scoring.facts import facts_of, grants_with
from socialcredit.registry.scoring.inputs import RunInputs, role_records_at
from socialcredit.registry.scoring.policies import get_policy
from socialcredit.registry.scoring.runs import run_in_force
from socialcredit.store import Store, listed_integers, listed_strings, run_rows

__all__ = ["InquirySink", "QuickDecision", "Snapshot", "SubjectIds"]

log = logging.getLogger(__name__)

# Where a snapshot's inquiries go: (run_id, subjects, service, purpose, requester, outcomes, lists). The default keeps
# them in memory until ``flush``; the service passes a durable journal instead (registry/decisions/inquiries.py).
# Its 7th argument, one per subject: the lists the decision counted (a full decision's, or a batch or quick refusal's:
# ``counted_lists``, ``RUN_LISTS`` where they are the run's, filled from the run's entries when written), else None
# (a grant of a batch or quick decision, which works out none). ``RUN_LISTS`` is a marker, not lists: the immutable
# tuple ("=run",), the same object every time, meaning "the subject's entries in ``run_list_entries`` of this run";
# a sink keeps it as it is until the inquiries are written, where ``with_run_lists`` fills it (a sink that writes
# them anywhere else fills it so itself: it never reaches a reader).
InquirySink = Callable[[int, list[str], str, str, str, list[str], Sequence[Sequence[str] | None]], None]

# The kinds of subject, read from a run's results as their places in this tuple (see ``_kinds``).
SUBJECT_KINDS: tuple[str, ...] = get_args(SubjectKind)


@dataclass(frozen=True, slots=True)
class QuickDecision:
    granted: bool
    score: int
    tier: str
    run_id: int
    watermark: int  # the change number the decision stands on: the run's, or the latest one patched in
    frozen: bool = False  # refused because the resident froze the file (registry/due_process/freeze.py)
    verify_identity: bool = False  # the resident placed a fraud alert


@dataclass
class _Pending:
    asked_at: list[dt.datetime] = field(default_factory=list)
    requester: list[str] = field(default_factory=list)
    subject_id: list[str] = field(default_factory=list)
    service: list[str] = field(default_factory=list)
    purpose: list[str] = field(default_factory=list)
    outcome: list[str] = field(default_factory=list)
    lists: list[Sequence[str] | None] = field(default_factory=list)
    marked: bool = False  # whether any of ``lists`` is ``RUN_LISTS`` (``with_run_lists``)

    def __len__(self) -> int:
        return len(self.subject_id)


class SubjectIds(Sequence[str]):
    """The identifiers of a snapshot's subjects, in row order, read from its array of fixed-width bytes: an identifier
    becomes a Python string only when asked for."""

    def __init__(self, keys: np.ndarray[Any, np.dtype[np.bytes_]]) -> None:
        self._keys = keys

    def __len__(self) -> int:
        return len(self._keys)

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...
    def __getitem__(self, i: int | slice) -> str | list[str]:
        # a NumPy bytes item drops the padding (identifiers hold no NUL: see Snapshot.row_of)
        if isinstance(i, slice):
            return [key.decode() for key in self._keys[i].tolist()]
        return str(self._keys[int(i)].decode())

    def __iter__(self) -> Iterator[str]:
        return (key.decode() for key in self._keys.tolist())


# A run's rule points as the view run_reasons ranks them (store._RUN_REASONS: largest points first, ties by rule id;
# $ranks gives each rule index the place of its rule id), each subject's together; its first MAX_REASONS are its
# reasons. A sort of the points, not run_reasons' window: 6.7 against 17.9 CPU s at beijing (44.6 million points).
# How many subjects a decision read from the store while explanations load reads at once (``_stored_rows``).
STORED_CHUNK = 1000
_POINTS = "SELECT subject_key, rule_index, points FROM {points} WHERE run_id = $run AND points <> 0"
_POINTS_RANKED = _POINTS + " ORDER BY subject_key, abs(points) DESC, list_extract($ranks, rule_index + 1)"


def _rows_at(row_of_key: np.ndarray[Any, Any], keys: np.ndarray[Any, Any], run_id: int) -> np.ndarray[Any, Any]:
    """The row of each subject key (``row_of_key`` indexed by key, -1 for a subject the run did not score)."""
    if not len(keys):
        return np.zeros(0, dtype=np.int64)
    if int(keys.min()) < 0 or int(keys.max()) >= len(row_of_key):
        raise ValueError(f"reasons of subjects the run {run_id} did not score")
    rows: np.ndarray[Any, Any] = row_of_key[keys]
    if int(rows.min()) < 0:
        raise ValueError(f"reasons of subjects the run {run_id} did not score")
    return rows


def _fixed_width(ids: pa.Array) -> np.ndarray[Any, np.dtype[np.bytes_]]:
    """The identifiers as one NumPy array of fixed-width bytes (as wide as the longest), without a Python object each:
    built from the Arrow buffers (a view when all are equally long, as identity numbers and credit codes are)."""
    n = len(ids)
    if ids.null_count:
        raise ValueError("a run's results have no subject without an identifier")
    if n == 0:
        return np.zeros(0, dtype="S1")
    wide = pa.types.is_large_string(ids.type) or pa.types.is_large_binary(ids.type)
    offsets = np.frombuffer(ids.buffers()[1], dtype=np.int64 if wide else np.int32)[ids.offset : ids.offset + n + 1]
    data = np.frombuffer(ids.buffers()[2], dtype=np.uint8)
    lengths = np.diff(offsets)
    width = max(int(lengths.max()), 1)
    start = int(offsets[0])
    if int(lengths.min()) == width:  # a view of the Arrow buffer (read-only; the caller keeps the array)
        return data[start : start + n * width].view(f"S{width}")
    out = np.zeros((n, width), dtype=np.uint8)
    row = np.repeat(np.arange(n), lengths)
    col = np.arange(int(offsets[-1]) - start) - np.repeat(offsets[:-1] - start, lengths)
    out[row, col] = data[start : int(offsets[-1])]
    return out.view(f"S{width}").ravel()


@dataclass(frozen=True)
class _Stored:
    """Where a snapshot reads a run's rows as they lie: a run stored whole from the tables themselves (the views of
    every run's rows hand them back in no set order), a delta run through ``store.run_rows`` sorted by identifier
    (its rows are its own and its root's: docs/architecture.md); a store not yet migrated to 49 from its tables of
    old. Worked out once per snapshot: every read of the run's rows goes through it, filtered by ``run_id``."""

    run_id: int
    results: str
    keys: str | None  # None: the rows' keys are found by identifier (``_rows_of_identifiers``)
    points: str
    order: str  # how the results are read in subject order

    @classmethod
    def of(cls, store: Store, run_id: int) -> _Stored:
        tables = {
            str(r[0])
            for r in store.execute(
                "SELECT table_name FROM duckdb_tables() WHERE table_name IN "
                "('run_results_rows', 'run_result_keys', 'run_result_keys_rows') AND NOT temporary"
            ).fetchall()
        }
        if "run_results_rows" not in tables:  # read-only, before migration 49
            keys = "run_result_keys" if "run_result_keys" in tables else None
            return cls(run_id, "run_results", keys, "run_points", "")
        if store.one("SELECT root_run_id FROM score_runs WHERE run_id = ?", [run_id]) is not None:
            results, points = (run_rows(store, view, run_id) for view in ("run_results", "run_points"))
            return cls(run_id, results, None, points, " ORDER BY subject_id")
        keys = "run_result_keys_rows" if "run_result_keys_rows" in tables else None
        return cls(run_id, "run_results_rows", keys, "run_points_rows", "")


def _kinds(store: Store, stored: _Stored, column: pa.ChunkedArray | np.ndarray[Any, Any]) -> pa.DictionaryArray:
    """The subjects' kinds in row order, as indices into a small dictionary of the kinds' names.

    ``column`` holds the kinds' names, or their places in SUBJECT_KINDS (1-based, a NumPy array of uint8; 0 for a
    kind not among them, when the names are read again)."""
    if isinstance(column, np.ndarray):
        if len(column) and int(column.min()) == 0:  # a kind the store knows but SUBJECT_KINDS does not: by name
            names = store.execute(
                f"SELECT kind FROM {stored.results} WHERE run_id = ?{stored.order}", [stored.run_id]
            ).to_arrow_table()
            return _kinds(store, stored, names.column("kind"))
        indices = pa.array((column - np.uint8(1)).view(np.int8))
        return pa.DictionaryArray.from_arrays(indices, pa.array(list(SUBJECT_KINDS), pa.string()))
    encoded = pc.dictionary_encode(column.combine_chunks())
    return pa.DictionaryArray.from_arrays(encoded.indices, encoded.dictionary.cast(pa.string()))


# Rows handed over at a time when a run's results are read: one row group. Each batch is copied into arrays of the
# whole run and released, so its buffers are reused for the next one (a fresh allocation of every subject's
# identifiers costs more in page faults than the copy: 1.2 s for 22 million).
BATCH_ROWS = 122_880


def _ascending(values: np.ndarray[Any, Any]) -> bool:
    """Whether numbers never decrease from one to the next."""
    return len(values) < 2 or bool(np.all(values[1:] >= values[:-1]))


def _increasing(keys: np.ndarray[Any, np.dtype[np.bytes_]]) -> bool:
    """Whether fixed-width byte strings are in strictly increasing byte order: compared as big-endian words of up to
    8 bytes, the last words first (a comparison of strings per pair costs several times more)."""
    n, width = len(keys), keys.dtype.itemsize
    if n < 2:
        return True
    data = np.ascontiguousarray(keys).view(np.uint8)
    pieces, at = [], 0
    while at < width:
        size = next(s for s in (8, 4, 2, 1) if s <= width - at)
        pieces.append((at, size))
        at += size
    greater: np.ndarray[Any, np.dtype[np.bool_]] | None = None
    for at, size in reversed(pieces):
        words = np.ndarray((n,), dtype=f">u{size}", buffer=data, offset=at, strides=(width,))
        before, after = words[:-1], words[1:]
        greater = after > before if greater is None else (after > before) | ((after == before) & greater)
    return bool(greater is not None and greater.all())


@dataclass
class _Results:
    """A run's results as read for a snapshot: the identifiers as fixed-width bytes, the numbers as writable NumPy
    arrays, the kinds; with explanations, the whole table too."""

    keys: np.ndarray[Any, np.dtype[np.bytes_]]
    numbers: dict[str, np.ndarray[Any, Any]]
    kinds: pa.DictionaryArray
    ordered: bool  # the identifiers in strictly increasing byte order (as a run writes them)
    table: pa.Table | None

    @classmethod
    def read(cls, store: Store, stored: _Stored, *, explain: bool) -> _Results:
        # The kind as a small number (its place in SUBJECT_KINDS, 0 for any other): a column of 22 million strings
        # costs half a CPU second more to hand over than one of bytes.
        columns = "subject_id, coalesce(list_position($kinds, kind), 0)::UTINYINT AS kind, score, tier_rank, grants"
        params: dict[str, Any] = {"run": stored.run_id, "kinds": list(SUBJECT_KINDS)}
        n = int(store.one(f"SELECT count(*) FROM {stored.results} WHERE run_id = ?", [stored.run_id]))
        # No ORDER BY: a run writes its results in subject order (runs._results_insert) and a scan keeps the order
        # they were written in, so this is a plain scan; a run written otherwise (an older store) is sorted after.
        reader = store.execute(
            f"SELECT {columns} FROM {stored.results} WHERE run_id = $run{stored.order}", params
        ).to_arrow_reader(BATCH_ROWS)
        names = ("score", "grants", "tier_rank", "kind")
        numbers = {c: np.empty(n, dtype=reader.schema.field(c).type.to_pandas_dtype()) for c in names}
        keys = np.zeros(0, dtype="S1")
        at, ordered = 0, True
        for batch in reader:
            m = batch.num_rows
            if at + m > n:  # more rows than counted (not expected of a finished run): the arrays grow
                keys = np.concatenate([keys[:at], np.zeros(m, keys.dtype)])
                numbers = {c: np.concatenate([a[:at], np.empty(m, a.dtype)]) for c, a in numbers.items()}
                n = at + m
            ids = _fixed_width(batch.column("subject_id"))
            if not at:
                keys = np.empty(n, dtype=ids.dtype if m else keys.dtype)
            elif ids.dtype.itemsize > keys.dtype.itemsize:  # longer identifiers than so far: every key widens
                keys = keys.astype(ids.dtype)
            keys[at : at + m] = ids
            for c in names:
                numbers[c][at : at + m] = batch.column(c).to_numpy(zero_copy_only=False)
            # in order within the batch, and after the batch before
            ordered = ordered and _increasing(keys[max(at - 1, 0) : at + m])
            at += m
        keys = keys[:at]
        numbers = {c: a[:at] for c, a in numbers.items()}
        table = _explanation_table(store, stored, at) if explain else None
        return cls(keys, numbers, _kinds(store, stored, numbers.pop("kind")), ordered, table)


def _explanation_table(store: Store, stored: _Stored, n: int) -> pa.Table:
    """The run's other columns, for explanations, in one go as Arrow (in the order of the arrays: a plain scan too);
    the identifiers and kinds, text, are not read twice (a decision takes them from the arrays), nor the columns a
    snapshot knows without reading them (``_HELD``)."""
    table = store.execute(
        f"SELECT * EXCLUDE ({', '.join(_HELD)}) FROM {stored.results} WHERE run_id = ?{stored.order}", [stored.run_id]
    ).to_arrow_table()
    if table.num_rows != n:
        raise ValueError(f"the results of run {stored.run_id} changed while they were read")
    return table


# The columns of run_results not read again for explanations: the identifiers and kinds, text, held as arrays already
# (_Results.read); the run's id, the same in every row; the tier, text, which is the policy's tier of the row's tier
# rank (a run computes both from the score by the same tiers: compiler/plan.py), held as a dictionary over the tier
# rank (``_tiers_of``). Scores and tier ranks are read again: live patches change the arrays, not the run's results.
# (docs/benchmarks.md, "The explained snapshot reads less again".)
_HELD = ("subject_id", "kind", "run_id", "tier")


@dataclass(frozen=True)
class _Constant:
    """A column held for explanations whose every row holds the same value (the run's id)."""

    value: Any


class _Entries(Mapping[str, list[ListEntry]]):
    """A run's list entries by subject, as arrays sorted by subject (no Python object per entry): a subject's entries,
    each (list, criterion, note), are made when a decision asks for them, as ``run_entries`` gives them; the notes
    (entries through a relation, or by a record another region shared: few) are worded at load, all at once
    (``entry_notes``)."""

    def __init__(self, store: Store, run_id: int, loaded: LoadedPolicy) -> None:
        table = run_entries_table(store, run_id)
        ids = table.column("subject_id").combine_chunks()
        subjects = _fixed_width(ids)
        lists = pc.dictionary_encode(table.column("list_id").combine_chunks())
        criteria = pc.dictionary_encode(table.column("criterion_id").combine_chunks())
        list_codes = lists.indices.to_numpy(zero_copy_only=False)
        criterion_codes = criteria.indices.to_numpy(zero_copy_only=False)
        # the rows that have a note: through a relation, or by a shared record (an origin region)
        relation = pc.fill_null(pc.equal(table.column("record_type"), RELATION_RECORD_TYPE), False)
        noted = np.flatnonzero(
            pc.or_(relation, pc.is_valid(table.column("origin_region"))).to_numpy(zero_copy_only=False)
        )
        rows = table.take(pa.array(noted, pa.int64())).to_pylist()
        worded = entry_notes(store, [tuple(r.values()) for r in rows], loaded)
        notes = {int(j): note for j, note in zip(noted, worded, strict=True) if note is not None}
        if len(subjects) > 1 and not bool(np.all(subjects[1:] >= subjects[:-1])):  # not in byte order: sorted here
            order = np.argsort(subjects, kind="stable")
            subjects, list_codes, criterion_codes = subjects[order], list_codes[order], criterion_codes[order]
            place = np.empty(len(order), dtype=np.int64)
            place[order] = np.arange(len(order))
            notes = {int(place[j]): note for j, note in notes.items()}
        self._subjects = subjects
        self._lists = [str(x) for x in lists.dictionary.to_pylist()]
        self._criteria = [str(x) for x in criteria.dictionary.to_pylist()]
        self._list_codes, self._criterion_codes, self._notes = list_codes, criterion_codes, notes
        self._distinct_subjects: np.ndarray[Any, Any] | None = None  # ``_distinct``, once asked for

    def _span(self, subject_id: str) -> tuple[int, int]:
        key = subject_id.encode()
        held = self._subjects
        if len(key) > held.dtype.itemsize or b"\0" in key or not len(held):
            return 0, 0
        return int(held.searchsorted(key, "left")), int(held.searchsorted(key, "right"))

    def get(self, subject_id: str, default: Any = None) -> Any:
        lo, hi = self._span(subject_id) if isinstance(subject_id, str) else (0, 0)
        if lo == hi:
            return default
        return [
            (self._lists[self._list_codes[j]], self._criteria[self._criterion_codes[j]], self._notes.get(j))
            for j in range(lo, hi)
        ]

    def __getitem__(self, subject_id: str) -> list[ListEntry]:
        found: list[ListEntry] | None = self.get(subject_id)
        if found is None:
            raise KeyError(subject_id)
        return found

    def __contains__(self, subject_id: object) -> bool:
        return isinstance(subject_id, str) and self.get(subject_id) is not None

    def _distinct(self) -> np.ndarray[Any, Any]:
        """The subjects with entries, each once, in byte order: taken from the sorted subjects the first time they are
        asked for (``len``, iteration), then kept; not worked out again at each call."""
        if self._distinct_subjects is None:
            held = self._subjects
            first = np.ones(len(held), dtype=bool)
            first[1:] = held[1:] != held[:-1]
            self._distinct_subjects = held[first]
        return self._distinct_subjects

    def __iter__(self) -> Iterator[str]:
        return (s.decode() for s in self._distinct().tolist())

    def __len__(self) -> int:
        return len(self._distinct())

    def __bool__(self) -> bool:
        return bool(len(self._subjects))


def _result_columns(store: Store) -> list[str]:
    """The names of run_results' columns, in their order."""
    return [str(d[0]) for d in store.execute("SELECT * FROM run_results LIMIT 0").description or []]


def _value(column: Any, i: int) -> Any:
    """Row ``i`` of a column held for explanations, as a Python value."""
    if isinstance(column, np.ndarray):
        return column[i].item()
    if isinstance(column, SubjectIds):
        return column[i]
    if isinstance(column, _Constant):
        return column.value
    return column[i].as_py()


def _in_transaction(store: Store) -> bool:
    """Whether the store's connection is inside a transaction it began: two statements then share one id."""
    return bool(store.one("SELECT txid_current()") == store.one("SELECT txid_current()"))


@dataclass(frozen=True, slots=True)
class _LiveVia:
    """A rescored person's roles under one relation judged on rank or percentile (``Snapshot._live_vias``)."""

    anchors: tuple[str, ...]  # organisations whose record holds up an entry his pass found
    current: tuple[str, ...]  # organisations he holds one of the roles in on the run's date
    periods: tuple[tuple[int, int, int], ...]  # held_at_cause: (organisation row, first day, day after the last)


# The day after the last of a role without an end (``_cause_joins``): the largest int32.
_OPEN = int(np.iinfo(np.int32).max)
_EPOCH = dt.date(1970, 1, 1)


def _held_on(start: dt.date | None, end: dt.date | None, day: dt.date) -> bool:
    """A role from ``start`` until (not on) ``end`` is held on ``day`` (compiler/plan.py ``_held_on``)."""
    return start is not None and start <= day and (end is None or end > day)


def _found(
    rows: np.ndarray[Any, np.dtype[np.int64]], subject_ids: Sequence[str], missing: str, run_id: int
) -> np.ndarray[Any, np.dtype[np.int64]]:
    if missing == "raise" and len(rows) and int(rows.min()) < 0:
        first = int(np.argmax(rows < 0))
        raise NotFoundError(f"subject {subject_ids[first]} was not scored in run {run_id}")
    return rows


class Snapshot:
    """The results of one finished score run, in memory, for decisions."""

    def __init__(
        self,
        store: Store,
        run: dict[str, Any],
        *,
        explain: bool = False,
        sink: InquirySink | None = None,
        background: bool = False,
    ) -> None:
        self.run_id = int(run["run_id"])
        # With explanations: held in memory (``results`` set), or being read by a thread of their own after the plain
        # load (``background``: decisions meanwhile read what they explain from the store, ``_stored_rows``)
        self.explain = explain
        self.as_of: dt.date = run["as_of"]
        self._day = (self.as_of - _EPOCH).days  # the run's date as the days of ``_cause_joins``
        self.watermark = int(run["watermark"])
        # Subjects rescored since the run (row -> their live row), and the histogram of (kind, score) they moved.
        self.live: dict[int, LiveRow] = {}
        # The histogram of (kind, score) is counted from the arrays when first asked for (``histogram``), not by a
        # second scan of the run's results.
        self._histogram: pa.Table | None = None
        # rank() per kind, with the histogram it was built from (``rank``)
        self._ranks: tuple[pa.Table, dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]] | None = None
        self.loaded = get_policy(store, run["policy_id"], run["policy_version"])
        self.policy = self.loaded.policy
        # Where the run's rows lie (its root and the store's tables looked up once, not at each read of them nor at
        # each decision read from the store while explanations load)
        self._stored = _Stored.of(store, self.run_id)
        # Only effective listings refuse: subjects in a notice period (or whose listing ended) get their grants anew
        # (``effective_results``). Its query runs on a second connection while this one reads the run's results (DuckDB
        # lets go of the interpreter while it works): on two free cores the load takes the longer of the two, not
        # their sum. Inside a transaction a second connection would not see its changes: then one after the other.
        beside = None if _in_transaction(store) else store.reader()
        # Inside a transaction a thread's own connection would not see its changes either: explanations then load here.
        background = background and explain and beside is not None
        try:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="snapshot") as pool:
                later = None if beside is None else pool.submit(effective_results, beside, run)
                results = _Results.read(store, self._stored, explain=explain and not background)
            adjusted = effective_results(store, run) if later is None else later.result()
        finally:
            if beside is not None:
                beside.close()
        self.kinds, self._keys = results.kinds, results.keys
        table = results.table
        self._sorted: np.ndarray[Any, np.dtype[np.intp]] | None = None  # how the rows were put in byte order
        if not results.ordered:
            # not in byte order (an older run, a collation): sorted here, every column alike
            order = self._sorted = np.argsort(self._keys, kind="stable")
            self._keys, self.kinds = self._keys[order], self.kinds.take(order)
            results.numbers = {name: column[order] for name, column in results.numbers.items()}
            table = None if table is None else table.take(order)
        self.subject_ids = SubjectIds(self._keys)
        # Writable, one element per subject (a row of rows_of), filled batch by batch as the scan hands them over.
        self.scores, self.grants, self.tier_ranks = (results.numbers[c] for c in ("score", "grants", "tier_rank"))
        # Decisions see the effective lists (``effective_lists``), kept by row as Arrow (no object per subject).
        rows = self._rows_of_array(adjusted.column("subject_id").combine_chunks())
        order = np.argsort(rows, kind="stable")
        self.grants[rows] = adjusted.column("grants").to_numpy()
        self._effective_rows = rows[order]
        self._effective_lists = adjusted.column("lists").combine_chunks().take(order)
        tiers = self.policy.tier_ids()
        self.tier_names = np.array([tiers[len(tiers) - r] for r in range(1, len(tiers) + 1)], dtype=object)
        # each tier's rank (the highest tier the largest), as conditions compare tiers and the arrays hold them
        self._tier_rank = {t: len(tiers) - k for k, t in enumerate(tiers)}
        self.bits = {s.id: i for i, s in enumerate(self.policy.services)}
        # Whether a service is granted on rank or percentile: those move for everyone when live patches move scores,
        # so such grants are judged again at each decision once the histogram has moved (``grants_at``).
        self._positional = any(
            node is not None and bool(expr.names_in(node) & POSITIONAL_FACTS)
            for node in (self.loaded.condition(f"service:{s.id}") for s in self.policy.services)
        )
        # The list criteria on the score that read rank or percentile, by list: judged again likewise (``_rejudged``).
        self._positional_lists: dict[str, list[tuple[str, expr.Node]]] = {}
        for lst in self.policy.lists:
            for c in lst.criteria:
                node = self.loaded.condition(f"list:{lst.id}.{c.id}") if c.when is not None else None
                if node is not None and expr.names_in(node) & POSITIONAL_FACTS:
                    self._positional_lists.setdefault(lst.id, []).append((c.id, node))
        self._positional = self._positional or bool(self._positional_lists)
        # The criteria met through an organisation (``via``) on such a list: (list, criterion) -> the organisation's
        # list, the criteria of it the relation follows, and those of them judged on rank or percentile. When the
        # organisation no longer meets them, its officers' entries go too (``_rejudged``); read at load
        # (``_load_vias``).
        self._positional_vias: dict[
            tuple[str, str], tuple[str, frozenset[str], frozenset[str], tuple[str, ...], str]
        ] = {}
        for lst in self.policy.lists:
            for c in lst.criteria:
                if c.via is None or c.via.list not in self._positional_lists:
                    continue
                target = self.policy.list_spec(c.via.list)
                named = c.via.criteria
                follows = frozenset(t.id for t in target.criteria if t.via is None and (named is None or t.id in named))
                judged = follows & {cid for cid, _ in self._positional_lists[c.via.list]}
                if judged:
                    self._positional_vias[(lst.id, c.id)] = (
                        c.via.list,
                        follows,
                        judged,
                        tuple(c.via.roles),
                        c.via.when,
                    )
        self._via_orgs: dict[str, dict[tuple[str, str], tuple[bool, list[str]]]] = {}
        # For each such relation (list, criterion) of a red list: every (person, organisation) of the run, as rows,
        # where the person holds one of the relation's roles in the organisation on the run's date and the run did
        # not put the person on the list that way; sorted by the person's row (found by searchsorted). Once one of the
        # organisations meets the criterion on its rank or percentile as they now stand, the person joins at once, as
        # in a full run (``_rejudged``; a blacklisting met only now is never made live: it waits for the next full
        # run, which gives its notice, though with no grace it may refuse from that run on). Arrays, not a Python
        # object per officer: at millions of role records the officers the run did not list are most of them.
        self._via_joins: dict[
            tuple[str, str], tuple[np.ndarray[Any, np.dtype[np.int64]], np.ndarray[Any, np.dtype[np.int64]]]
        ] = {}
        # For each such relation of a red list followed to whoever held the role at the cause (``held_at_cause``):
        # every role of the relation's roles held at any time by a person (listed that way by the run or not: a
        # listed one's entry may go as scores move, then come back by a record), in an organisation of the run, as
        # (person row, organisation row, first day, day after the last: days since 1970-01-01, the last open-ended
        # as the largest int32), sorted by person row. An organisation a live pass put on the list by a record
        # (``LiveRow.causes``) lists, at once, whoever held the role on the record's date, as a full run does; only
        # a held_at_cause relation has them (the others' entries are all dated the run's date, ``_via_joins``).
        self._cause_joins: dict[
            tuple[str, str],
            tuple[
                np.ndarray[Any, np.dtype[np.int64]],
                np.ndarray[Any, np.dtype[np.int64]],
                np.ndarray[Any, np.dtype[np.int32]],
                np.ndarray[Any, np.dtype[np.int32]],
            ],
        ] = {}
        self._red = {lst.id for lst in self.policy.lists if lst.kind != "black"}
        # For each person a live pass rescored, under such a relation (list, criterion): the organisations that may
        # hold up an entry the pass found by a record (one of the relation's roles held on the run's date; under
        # held_at_cause, those on the list by a record dated while he held the role, ``LiveRow.anchors``) and those
        # whose rank or percentile may list him or hold his entry up (a role held on the run's date), from the role
        # records the pass read (``LiveRow.roles``). His entries through them are judged again as scores move, as a
        # run person's are (``_rejudged``). A few tuples per rescored person, kept with the live row they were made
        # from: a decision judges a live row on its own roles only (``_vias_for``).
        self._live_vias: dict[int, tuple[LiveRow, dict[tuple[str, str], _LiveVia]]] = {}
        self.pending = _Pending()
        self.sink: InquirySink = sink or self._buffer
        # The residents' freezes and fraud alerts, read at every decision; replaced whole when one changes
        # (``refresh_guards``), so they act at once.
        self.guards: dict[str, Guard] = load_guards(store)
        self.freezable = {s.id for s in self.policy.services if s.freezable}
        self.results: pa.Table | None = None
        # Live patches that arrive while explanations load, applied in their order once they are in (``patch``).
        self._patch_lock = threading.Lock()
        self._queued: list[tuple[dict[str, LiveRow], int, pa.Table]] = []
        self._explained = threading.Event()
        self.explain_error: Exception | None = None
        self.explain_seconds: float | None = None  # how long the explanations took to load after the plain load
        # the connection decisions read explanations from until they are in memory (one decision or batch at a time)
        self._on_demand: Store | None = None
        self._on_demand_lock = threading.Lock()
        # called once the explanations are in (or failed) and the queued patches applied, on the loader's thread:
        # the service wakes its live thread with it
        self.on_explained: Callable[[], None] | None = None
        if explain:
            self._load_rules(store)
        if table is not None:
            self._load_explanations(store, table)
        if background:
            self._on_demand = store.reader()
            self._loader = threading.Thread(
                target=self._load_later, args=(store.reader(),), name=f"explain-run-{self.run_id}", daemon=True
            )
            self._loader.start()
        else:
            self._explained.set()

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def histogram(self) -> pa.Table:
        """How many subjects of each kind have each score (kind, score, n; by kind, then score), as the run scored
        them until live patches replace it. Counted from the arrays the first time it is asked for."""
        if self._histogram is None:
            counts = (
                pa.table({"kind": self.kinds.indices, "score": pa.array(self.scores)})
                .group_by(["kind", "score"])
                .aggregate([([], "count_all")])
            )
            self._histogram = pa.table(
                {
                    "kind": self.kinds.dictionary.take(counts.column("kind").combine_chunks()),
                    "score": counts.column("score"),
                    "n": counts.column("count_all").cast(pa.int64()),
                }
            ).sort_by([("kind", "ascending"), ("score", "ascending")])
        return self._histogram

    @histogram.setter
    def histogram(self, table: pa.Table) -> None:
        self._histogram = table

    def effective_lists(self, row: int) -> list[str] | None:
        """The lists decisions see for the subject at ``row`` if they differ from the run's (a blacklisting in its
        notice period, or ended since the run), else None."""
        j = int(np.searchsorted(self._effective_rows, row))
        if j < len(self._effective_rows) and int(self._effective_rows[j]) == row:
            return list(self._effective_lists[j].as_py())
        return None

    def row_of(self, subject_id: str) -> int | None:
        """The row of ``subject_id`` in the arrays (scores, grants, tier ranks), or None if the run did not score it."""
        key = subject_id.encode()
        keys = self._keys
        if len(key) > keys.dtype.itemsize or b"\0" in key or not len(keys):
            return None
        i = int(keys.searchsorted(key))
        return i if i < len(keys) and keys[i] == key else None

    def rows_of(self, subject_ids: Sequence[str], *, missing: str = "mark") -> np.ndarray[Any, np.dtype[np.int64]]:
        """The rows of ``subject_ids`` (a vectorised ``row_of``): -1 for a subject the run did not score, or with
        ``missing="raise"``, NotFoundError naming the first of them."""
        keys = self._keys
        width = keys.dtype.itemsize
        n = len(subject_ids)
        rows = np.full(n, -1, dtype=np.int64)
        if not n or not len(keys):
            return _found(rows, subject_ids, missing, self.run_id)
        text = np.asarray(subject_ids, dtype=np.str_)
        ok = np.ones(n, dtype=bool)
        if text.dtype.itemsize // 4 > width or "\0" in "".join(subject_ids):
            # longer than any scored identifier, or holding NUL (which fixed-width bytes would drop): never found
            ok = np.array([len(s.encode()) <= width and "\0" not in s for s in subject_ids], dtype=bool)
            text = np.where(ok, text, "")
        try:
            wanted = text.astype(keys.dtype)
        except UnicodeEncodeError:  # identifiers are ASCII; anything else is looked up as UTF-8 bytes
            wanted = np.array(
                [s.encode() if k else b"" for s, k in zip(subject_ids, ok, strict=True)], dtype=keys.dtype
            )
        # In sorted order each search starts where the last ended: far fewer misses of the cache.
        order = np.argsort(wanted)
        found = np.minimum(keys.searchsorted(wanted[order]), len(keys) - 1)
        hit = (keys[found] == wanted[order]) & ok[order]
        rows[order[hit]] = found[hit]
        return _found(rows, subject_ids, missing, self.run_id)

    def unscored(self, subject_id: str, today: dt.date | None = None) -> SocialCreditError:
        """Why ``subject_id`` has no decision in this run: it is not a valid identity number or credit code (422
        ``invalid_identifier``, field ``subject_id``, saying what is wrong), or a valid one the run did not score
        (404)."""
        try:
            validate_subject_id(subject_id, today=resolve_today(today))
        except IdentifierError as invalid:
            invalid.field = "subject_id"
            return invalid
        subject = compact_subject_id(subject_id)
        return NotFoundError(
            f"subject {subject} was not scored in run {self.run_id}", zh=f"第 {self.run_id} 次评分没有主体 {subject}"
        )

    def _rows_of_array(self, ids: pa.Array) -> np.ndarray[Any, np.dtype[np.int64]]:
        """The rows of the identifiers of an Arrow array, every one of them scored in the run (reasons, entries)."""
        keys = self._keys
        wanted = _fixed_width(ids)
        if wanted.dtype.itemsize > keys.dtype.itemsize:
            raise ValueError(f"identifiers the run {self.run_id} did not score")
        wanted = wanted.astype(keys.dtype)
        if len(wanted) > 1 and not bool(np.all(wanted[1:] >= wanted[:-1])):
            # searched in sorted order (each search starts near the last: far fewer cache misses), then put back
            order = np.argsort(wanted, kind="stable")
            rows = np.empty(len(wanted), dtype=np.int64)
            rows[order] = np.minimum(keys.searchsorted(wanted[order]), max(len(keys) - 1, 0))
        else:
            rows = np.minimum(keys.searchsorted(wanted), max(len(keys) - 1, 0)).astype(np.int64)
        if len(wanted) and not np.array_equal(keys[rows], wanted):
            raise ValueError(f"identifiers the run {self.run_id} did not score")
        return rows

    def _rows_of_keys(self, store: Store) -> np.ndarray[Any, np.dtype[np.int64]]:
        """The row of each subject key in this run (-1 for a subject it did not score): an array indexed by key.

        From the keys the run wrote with its results, in their order (run_result_keys: one scan of integers); for a
        run written before them, or a store opened read-only before its migration, by searching every known identifier
        among the run's (``_rows_of_identifiers``)."""
        stored = self._stored
        if stored.keys is None:
            return self._rows_of_identifiers(store)
        held = store.execute(f"SELECT subject_key FROM {stored.keys} WHERE run_id = ?", [self.run_id]).fetchnumpy()
        keys = held["subject_key"]
        if not len(keys) or len(keys) != len(self._keys):
            return self._rows_of_identifiers(store)
        if self._sorted is not None:  # the rows were put in byte order of the identifiers: their keys alike
            keys = keys[self._sorted]
        out = np.full(int(keys.max()) + 1, -1, dtype=np.int64)
        out[keys] = np.arange(len(keys), dtype=np.int64)
        return out

    def _rows_of_identifiers(self, store: Store) -> np.ndarray[Any, np.dtype[np.int64]]:
        """``_rows_of_keys`` for a run without run_result_keys: every identifier of subject_keys searched among the
        run's."""
        # in the order of the identifiers: each search starts near the last (searched at random, 22 million
        # identifiers cost 45 s of cache misses at beijing)
        known = store.execute("SELECT subject_key, subject_id FROM subject_keys ORDER BY subject_id").to_arrow_table()
        keys = known.column("subject_key").to_numpy()
        out = np.full(int(keys.max()) + 1 if len(keys) else 0, -1, dtype=np.int64)
        if not len(keys) or not len(self._keys):
            return out
        wanted = _fixed_width(known.column("subject_id").combine_chunks())
        scored = self._keys  # compared as wide as the wider of the two (an identifier longer than any scored)
        if wanted.dtype.itemsize > scored.dtype.itemsize:
            scored = scored.astype(wanted.dtype)
        wanted = wanted.astype(scored.dtype)
        rows = np.minimum(scored.searchsorted(wanted), len(scored) - 1)
        found = scored[rows] == wanted
        out[keys[found]] = rows[found]
        return out

    def _load_explanations(self, store: Store, table: pa.Table) -> None:
        """Everything a full decision explains from: results, the four reasons, list entries (held as arrays)."""
        # Every column of run_results in its order: numbers as numpy arrays (a lookup is an index); the rest as Arrow
        # arrays, converted per lookup; the identifiers and kinds from the snapshot's own arrays.
        held: dict[str, Any] = {
            "subject_id": self.subject_ids,
            "kind": self.kinds,
            "run_id": _Constant(self.run_id),
            "tier": self._tiers_of(store, table.column("tier_rank")),
        }
        self._columns: dict[str, Any] = {}
        for name in _result_columns(store):
            if name in held:
                self._columns[name] = held[name]
                continue
            col = table.column(name)
            numeric = (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)) and col.null_count == 0
            self._columns[name] = col.to_numpy() if numeric else col
        # The reasons as the view run_reasons ranks them, by the subjects' integer keys and the rules' indexes (read
        # with the plain load, ``_load_rules``): no join to every subject's identifier, no sort by identifier, no rule
        # id as text per reason.
        ranks = self._rule_ranks
        row_of_key = self._rows_of_keys(store)
        # A run writes its points by subject key (runs._POINTS_INSERT), so a decision read from the store finds a
        # subject's in the few row groups that hold its key: read as they lie, each subject's points are a slice at
        # its key, ranked when a decision asks for them (a few per subject), neither sorted nor moved here.
        # as Arrow, each column then one array, the rule indexes and points kept in the types they are stored in
        # (DuckDB's NumPy conversion and a copy of the rule indexes cost 0.065 CPU s at a million subjects, this
        # 0.055: docs/benchmarks.md)
        read = store.execute(_POINTS.format(points=self._stored.points), {"run": self.run_id}).to_arrow_table()
        stored = {name: read.column(name).combine_chunks().to_numpy(zero_copy_only=False) for name in read.column_names}
        key = stored["subject_key"]
        # the key of each row, where its points are stored by key (None: by row, reason_offsets indexed by row)
        self._reason_slot: np.ndarray[Any, Any] | None = None
        place = None
        if _ascending(key):
            self._reasons_ranked = False
            self._reason_slot = self._slots_by_key(row_of_key, key)
            points, rule_index = stored["points"], stored["rule_index"]
        else:
            rows = _rows_at(row_of_key, key, self.run_id)
            self._reasons_ranked = not _ascending(rows)
            if not self._reasons_ranked:  # a run written before, its points in the order of its results
                points, rule_index = stored["points"], stored["rule_index"]
            else:  # a run written before that (points in no order): sorted by the store, its first MAX_REASONS kept
                ranked = store.execute(
                    _POINTS_RANKED.format(points=self._stored.points),
                    {"run": self.run_id, "ranks": ranks},
                ).fetchnumpy()
                key = ranked["subject_key"]
                # each point's place among its subject's (they come together, largest first); every one is kept: a
                # refusal tells every rule that lowered the score (``reasons_of(every=True)``)
                first = np.ones(len(key), dtype=bool)
                first[1:] = key[1:] != key[:-1]
                at = np.arange(len(key))
                place = at - np.maximum.accumulate(np.where(first, at, 0))
                rows = _rows_at(row_of_key, key, self.run_id)
                points, rule_index = ranked["points"], ranked["rule_index"]
            # each subject's reasons in a slice of its own at its row, in their order: placed, not sorted again
            self.reason_offsets = np.zeros(len(self._keys) + 1, dtype=np.int64)
            np.cumsum(np.bincount(rows, minlength=len(self._keys)), out=self.reason_offsets[1:])
        if place is None:
            self.reason_rule_index = rule_index
            self.reason_points = points.astype(np.float64, copy=False)
        else:
            slot = self.reason_offsets[rows] + place
            self.reason_rule_index = np.empty(len(rows), dtype=np.int64)
            self.reason_rule_index[slot] = rule_index
            self.reason_points = np.empty(len(rows), dtype=np.float64)
            self.reason_points[slot] = points
        self.entries = _Entries(store, self.run_id, self.loaded)
        self._load_vias(store, row_of_key)
        self.results = table  # last: a decision that sees it finds everything above in place

    def _tiers_of(self, store: Store, ranks: pa.ChunkedArray) -> pa.DictionaryArray:
        """The run's tier of each row from its tier rank (the highest tier the largest: ``tier_names`` by rank less
        one), as a dictionary over the policy's tiers: what the run stored as its tier (not read again, ``_HELD``).
        A run computes its tier and tier rank from the score by the same tiers (compiler/plan.py), both NOT NULL, so
        every rank names one of the policy's tiers; were one not to (a run written otherwise), the tiers the run stored
        are read as they are, in the order of the rows, rather than the load refused."""
        ranks = ranks.combine_chunks()
        size = len(self.tier_names)
        low, high = pc.min_max(ranks).values() if len(ranks) else (pa.scalar(1), pa.scalar(1))
        if ranks.null_count or not 1 <= low.as_py() <= high.as_py() <= size:
            return self._stored_tiers(store, len(ranks))
        indices = pc.subtract(ranks, 1).cast(pa.int8() if size < 128 else pa.int32())
        return pa.DictionaryArray.from_arrays(indices, pa.array([str(t) for t in self.tier_names], pa.string()))

    def _stored_tiers(self, store: Store, n: int) -> pa.DictionaryArray:
        """The tier column of the run's results, read in the order of the explanation table's rows (``_tiers_of``)."""
        read = store.execute(
            f"SELECT tier FROM {self._stored.results} WHERE run_id = ?{self._stored.order}", [self.run_id]
        ).to_arrow_table()
        if read.num_rows != n:
            raise ValueError(f"the results of run {self.run_id} changed while they were read")
        tiers = read.column("tier").combine_chunks()
        if self._sorted is not None:
            tiers = tiers.take(pa.array(self._sorted))
        encoded: pa.DictionaryArray = pc.dictionary_encode(tiers)
        return encoded

    def _slots_by_key(
        self, row_of_key: np.ndarray[Any, np.dtype[np.int64]], keys: np.ndarray[Any, Any]
    ) -> np.ndarray[Any, Any]:
        """For points stored by subject key (``keys``, never decreasing): ``reason_offsets`` by key (each key's
        points are the slice between its offset and the next), and the key of each row, returned (where its slice
        is). A point of a subject the run did not score is refused, as ``_rows_at`` refuses it."""
        size = len(row_of_key)
        if len(keys) and (int(keys[0]) < 0 or int(keys[-1]) >= size):
            raise ValueError(f"reasons of subjects the run {self.run_id} did not score")
        counts = np.bincount(keys, minlength=size) if len(keys) else np.zeros(size, dtype=np.int64)
        if np.any(counts[row_of_key < 0]):
            raise ValueError(f"reasons of subjects the run {self.run_id} did not score")
        # one more slice, empty, past the last key: a row no key maps to (none is expected) has no points
        self.reason_offsets = np.zeros(size + 2, dtype=np.int64)
        np.cumsum(counts, out=self.reason_offsets[1 : size + 1])
        self.reason_offsets[size + 1] = self.reason_offsets[size]
        scored = np.flatnonzero(row_of_key >= 0)
        slot = np.full(len(self._keys), size, dtype=np.int32 if size < 2**31 - 1 else np.int64)
        slot[row_of_key[scored]] = scored
        return slot

    def _load_rules(self, store: Store) -> None:
        """The run's rules: the rule id of each rule index, and its place in the order of rule ids (a few hundred)."""
        rules = store.execute(
            "SELECT rule_index, rule_id, row_number() OVER (ORDER BY rule_id) FROM run_rules WHERE run_id = ?",
            [self.run_id],
        ).fetchall()
        size = max((int(i) for i, _, _ in rules), default=-1) + 1
        self.reason_rule_names = np.empty(size, dtype=object)  # a rule id per rule index (no string per reason)
        ranks = [0] * size
        for i, rule_id, rank in rules:
            self.reason_rule_names[int(i)], ranks[int(i)] = str(rule_id), int(rank)
        self._rule_ranks = ranks

    def _load_later(self, reader: Store) -> None:
        """Load the explanations on a connection of the thread's own (``background``), then apply the live patches
        that arrived meanwhile. Should it fail, decisions keep reading them from the store."""
        started = time.perf_counter()
        try:
            table = _explanation_table(reader, self._stored, len(self._keys))
            if self._sorted is not None:
                table = table.take(self._sorted)
            self._load_explanations(reader, table)
            self.explain_seconds = time.perf_counter() - started
        except Exception as error:  # kept for the service's health: decisions go on from the store
            self.explain_error = error
            log.exception("could not load the explanations of run %s; decisions read them from the store", self.run_id)
        finally:
            reader.close()
            with self._patch_lock:
                for rows, watermark, histogram in self._queued:
                    try:
                        self._apply(rows, watermark, histogram)
                    except Exception:
                        log.exception(
                            "could not apply a live patch of %d subjects (%s) to run %s: they are decided as the "
                            "run left them until the next run",
                            len(rows),
                            ", ".join(sorted(rows)[:20]),
                            self.run_id,
                        )
                self._queued = []
                self._explained.set()
            if self.results is not None:
                with self._on_demand_lock:
                    if self._on_demand is not None:
                        self._on_demand.close()
                        self._on_demand = None
            woken = self.on_explained
            if woken is not None:
                try:
                    woken()
                except Exception:  # pragma: no cover - the live thread's next tick finds them
                    log.exception("could not say that the explanations of run %s are in", self.run_id)

    @property
    def explanations(self) -> str:
        """Whether explanations are held: "none" (loaded without), "loading", "loaded", or "failed" (decisions then
        read them from the store)."""
        if not self.explain:
            return "none"
        if self.results is not None:
            return "loaded" if self._explained.is_set() else "loading"
        return "failed" if self.explain_error is not None else "loading"

    def wait_explained(self, timeout: float | None = None) -> bool:
        """Wait until the explanations are in (or failed to load) and the patches queued meanwhile applied."""
        return self._explained.wait(timeout)

    def _stored_rows(
        self, rows: Sequence[int]
    ) -> dict[int, tuple[dict[str, Any], list[tuple[str, float]], list[ListEntry]]] | None:
        """The subjects at ``rows`` as the run stored them, read from the store while the explanations load: each one's
        row of run_results, every rule reason ranked as ``reasons_of`` ranks them, and list entries (as ``_row_at``
        gives them for a subject not rescored since the run). Four queries per ``STORED_CHUNK`` subjects. None once
        the explanations are in memory (read them there)."""
        ids = sorted({self.subject_ids[int(i)] for i in rows})
        if not ids:
            return {}
        out: dict[int, tuple[dict[str, Any], list[tuple[str, float]], list[ListEntry]]] = {}
        # In chunks, the lock let go between them: a large batch does not hold up every other decision meanwhile
        # (each chunk's queries scan the run's points once, however few subjects it holds).
        for start in range(0, len(ids), STORED_CHUNK):
            chunk = self._stored_chunk(ids[start : start + STORED_CHUNK])
            if chunk is None:  # the explanations came in meanwhile: the rest is read from memory
                return out or None
            out.update(chunk)
        return out

    def _stored_chunk(
        self, ids: list[str]
    ) -> dict[int, tuple[dict[str, Any], list[tuple[str, float]], list[ListEntry]]] | None:
        """``_stored_rows`` of a few subjects (sorted identifiers), under the lock of the connection it reads."""
        with self._on_demand_lock:
            store = self._on_demand
            if store is None or self.results is not None:
                return None
            # The identifiers (the run's own, read from the store) written into the statements as constants: DuckDB
            # pushes a list of constants into the scan and probes subject_keys' index for it, where a join to
            # unnest($ids) scans (a single decision's three queries took 7, 3.5 and 6.7 CPU ms that way at a million
            # subjects, against 3.5, 0.5 and 1.7: docs/benchmarks.md).
            listed = listed_strings(ids)
            # between the first and the last: a run's results lie in subject order, so the scan skips every row group
            # outside the range (one, for a single decision)
            table = store.execute(
                f"SELECT * FROM {self._stored.results} "
                f"WHERE run_id = $run AND subject_id BETWEEN $first AND $last AND subject_id IN ({listed})",
                {"run": self.run_id, "first": ids[0], "last": ids[-1]},
            ).to_arrow_table()
            # the subjects' keys through subject_keys' index, then their points by a list of constants (integers the
            # store gave): a filter on the scan of the run's points, which a run writes by key (runs._POINTS_INSERT),
            # so the scan skips every row group without one of them, where a join to subject_keys costs 20 times more
            keyed = store.execute(
                f"SELECT subject_key, subject_id FROM subject_keys WHERE subject_id IN ({listed})"
            ).fetchall()
            id_of = {int(key): str(sid) for key, sid in keyed}
            points = (
                store.execute(
                    f"SELECT subject_key, rule_index, points FROM {self._stored.points} "
                    f"WHERE run_id = ? AND points <> 0 AND subject_key IN ({listed_integers(sorted(id_of))})",
                    [self.run_id],
                ).fetchall()
                if id_of
                else []
            )
            entries = run_entries_of(store, self.run_id, self.loaded, ids)
        held: dict[str, list[tuple[int, float]]] = {}
        for key, rule_index, value in points:
            held.setdefault(id_of[int(key)], []).append((int(rule_index), float(value)))
        out = {}
        for result in table.to_pylist():
            sid = str(result["subject_id"])
            i = self.row_of(sid)
            if i is None:
                continue
            effective = self.effective_lists(i)
            if effective is not None:
                result["lists"] = effective
            ranked = sorted(held.get(sid, []), key=self._reason_order)
            reasons = [(str(self.reason_rule_names[r]), value) for r, value in ranked]
            out[i] = (result, reasons, list(entries.get(sid, [])))
        return out

    def _load_vias(self, store: Store, row_of_key: np.ndarray[Any, np.dtype[np.int64]]) -> None:
        """For each person on a list through an organisation on a list met on rank or percentile
        (``_positional_vias``): the organisations that may hold the entry up (every one the person holds one of the
        relation's roles in on the run's date: an entry met on the score is dated the run's date, compiler/plan.py
        ``_relation_entries``), and whether one of them is on that list by a criterion not judged again (a record:
        then the entry stands whatever the scores do). A relation followed to whoever held the role at the cause
        (``held_at_cause``) dates an entry by a record on the record's date: such an organisation holds the entry up
        if the person held the role in it on that date.

        The roles are the ones the run read (``role_records_at``, the run's own SQL, at the run's watermark): a role
        recorded, corrected or withdrawn after it, or held out while disputed, holds up what the run found as it
        did in the run. A live pass that rescores the person finds its entries on the roles as they then stand."""
        if not self._positional_vias:
            return
        with RunInputs(store) as inputs:
            role_records_at(inputs, self.loaded, self.watermark)
            for (list_id, criterion_id), (target, follows, judged, roles, when) in self._positional_vias.items():
                rows = inputs.execute(
                    """
                    WITH persons AS (
                        SELECT subject_id FROM run_list_entries
                        WHERE run_id = $run AND list_id = $list AND criterion_id = $criterion
                    ), held AS (
                        SELECT k.subject_id, h.org_id, h."role", h.start_date, h.end_date
                        FROM sc_role_records h JOIN subject_keys k ON k.subject_key = h.subject_id
                        WHERE k.subject_id IN (SELECT subject_id FROM persons)
                    ), anchors AS (
                        -- the cause's date: the record's (compiler/plan.py ``_relation_entries``)
                        SELECT e.subject_id, coalesce(max(r.event_date), $day) AS cause_date
                        FROM run_list_entries e LEFT JOIN records r ON r.record_key = e.record_key
                        WHERE e.run_id = $run AND e.list_id = $target AND list_contains($follows, e.criterion_id)
                            AND NOT list_contains($judged, e.criterion_id)
                        GROUP BY e.subject_id, e.record_key
                    )
                    SELECT DISTINCT h.subject_id, h.org_id, a.subject_id IS NOT NULL AS anchored,
                        h.start_date <= $day AND (h.end_date IS NULL OR h.end_date > $day) AS current
                    FROM held h LEFT JOIN anchors a ON a.subject_id = h.org_id AND (
                        NOT $at_cause
                        OR h.start_date <= a.cause_date AND (h.end_date IS NULL OR h.end_date > a.cause_date)
                    )
                    WHERE list_contains($roles, h."role")
                    ORDER BY ALL
                    """,
                    {
                        "run": self.run_id,
                        "list": list_id,
                        "criterion": criterion_id,
                        "target": target,
                        "follows": sorted(follows),
                        "judged": sorted(judged),
                        "roles": list(roles),
                        "day": self.as_of,
                        "at_cause": when == "held_at_cause",
                    },
                ).fetchall()
                for person, org_id, anchored, current in rows:
                    held = self._via_orgs.setdefault(str(person), {})
                    was_anchored, orgs = held.get((list_id, criterion_id), (False, []))
                    anchors = bool(anchored) and (bool(current) or when == "held_at_cause")
                    held[(list_id, criterion_id)] = (was_anchored or anchors, [*orgs, str(org_id)] if current else orgs)
                if list_id not in self._red:
                    continue
                persons, firms, starts, ends, listed = self._joins_of(
                    inputs, row_of_key, list_id, criterion_id, roles, every=when == "held_at_cause"
                )
                now = (starts <= self._day) & (ends > self._day) & ~listed
                self._via_joins[(list_id, criterion_id)] = (persons[now], firms[now])
                # the persons the run listed that way too: an entry of theirs that goes as scores move may come back
                # by a record dated while they held the role
                if when == "held_at_cause":
                    self._cause_joins[(list_id, criterion_id)] = (persons, firms, starts, ends)

    def _joins_of(
        self,
        inputs: RunInputs,
        row_of_key: np.ndarray[Any, np.dtype[np.int64]],
        list_id: str,
        criterion_id: str,
        roles: tuple[str, ...],
        *,
        every: bool = False,
    ) -> tuple[
        np.ndarray[Any, np.dtype[np.int64]],
        np.ndarray[Any, np.dtype[np.int64]],
        np.ndarray[Any, np.dtype[np.int32]],
        np.ndarray[Any, np.dtype[np.int32]],
        np.ndarray[Any, np.dtype[np.bool_]],
    ]:
        """The (person row, organisation row, first day, day after the last, listed) of the roles a full run would
        list the person by now if the organisation met the criterion (``_via_joins``, ``_cause_joins``): the person
        of kind person, holding one of ``roles`` on the run's date (an entry met on the score is dated the run's
        date, under held_at_cause too), or with ``every`` at any time, in an organisation of kind org the run
        scored; ``listed`` where the run listed the person that way (his entry may go as scores move, and come back
        by a record). Sorted by person row, then organisation row. The days count from 1970-01-01, an open end as
        the largest int32. The run's subjects are found by the snapshot's own arrays (its rows by key, by
        identifier, and its kinds), not by joins to the run's results."""
        held = inputs.execute(
            f"""
            SELECT DISTINCT h.subject_id AS person_key, h.org_id,
                CAST(date_diff('day', DATE '1970-01-01', h.start_date) AS INTEGER) AS first_day,
                CAST(coalesce(date_diff('day', DATE '1970-01-01', h.end_date), {_OPEN}) AS INTEGER) AS end_day
            FROM sc_role_records h
            WHERE list_contains($roles, h."role") AND h.org_id IS NOT NULL AND h.start_date IS NOT NULL
                AND (h.start_date <= $day AND (h.end_date IS NULL OR h.end_date > $day) OR $every)
            """,
            {"roles": list(roles), "day": self.as_of, "every": every},
        ).to_arrow_table()
        empty, days = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int32)
        if not held.num_rows or not len(row_of_key):
            return empty, empty, days, days, np.empty(0, dtype=np.bool_)
        keys = held.column("person_key").to_numpy(zero_copy_only=False).astype(np.int64)
        persons = np.where(
            (keys >= 0) & (keys < len(row_of_key)), row_of_key[np.clip(keys, 0, len(row_of_key) - 1)], -1
        )
        # each organisation's identifier searched once: few organisations, many roles in each
        coded = pc.dictionary_encode(held.column("org_id").combine_chunks())
        org_rows = self.rows_of(coded.dictionary.to_pylist())
        orgs = org_rows[coded.indices.to_numpy(zero_copy_only=False).astype(np.int64)]
        kinds = self.kinds.dictionary.to_pylist()
        codes = self.kinds.indices.to_numpy(zero_copy_only=False)
        code_of = {kind: k for k, kind in enumerate(kinds)}
        ok = (persons >= 0) & (orgs >= 0)
        ok[ok] = (codes[persons[ok]] == code_of.get("person", -1)) & (codes[orgs[ok]] == code_of.get("org", -1))
        listed = inputs.execute(
            "SELECT subject_id FROM run_list_entries WHERE run_id = $run AND list_id = $list AND criterion_id = $c",
            {"run": self.run_id, "list": list_id, "c": criterion_id},
        ).fetchall()
        persons, orgs = persons[ok], orgs[ok]
        on = np.zeros(len(persons), dtype=np.bool_)
        if listed:
            out = self.rows_of([str(sid) for (sid,) in listed])
            on = np.isin(persons, out[out >= 0])
        starts = held.column("first_day").to_numpy(zero_copy_only=False).astype(np.int32)[ok]
        ends = held.column("end_day").to_numpy(zero_copy_only=False).astype(np.int32)[ok]
        order = np.lexsort((orgs, persons))
        return persons[order], orgs[order], starts[order], ends[order], on[order]

    @classmethod
    def load(
        cls,
        store: Store,
        policy_id: str | None = None,
        service: str | None = None,
        *,
        explain: bool = False,
        sink: InquirySink | None = None,
    ) -> Snapshot:
        """The run in force of ``policy_id`` (or of the newest policy offering ``service``): ``run_in_force``.

        With ``explain``, it also holds what a full decision needs (reasons, list entries): see ``decision``.
        """
        run = run_for_service(store, service or "", policy_id) if service else run_in_force(store, policy_id)
        return cls(store, run, explain=explain, sink=sink)

    def refresh_guards(self, store: Store) -> None:
        """Read the residents' freezes and fraud alerts again (after one changed)."""
        self.guards = load_guards(store)

    def guard_flags(
        self, subject_ids: Sequence[str], service: str, requester: str, today: dt.date | None = None
    ) -> tuple[list[bool], list[bool]]:
        """For each subject: whether the freeze refuses ``service`` to ``requester`` on ``today``, and whether a
        fraud alert asks to verify identity."""
        guards = self.guards
        frozen, verify = [False] * len(subject_ids), [False] * len(subject_ids)
        if not guards:
            return frozen, verify
        freezable, party = service in self.freezable, party_of(requester)
        day: dt.date | None = None
        for k, sid in enumerate(subject_ids):
            g = guards.get(sid)
            if g is None:
                continue
            # the date is read only for a subject who has a guard: resolving it reads the settings (microseconds)
            day = day or resolve_today(today)
            frozen[k] = freezable and g.frozen_for(party, day)
            verify[k] = g.verify_identity(day)
        return frozen, verify

    def decision(
        self,
        subject_id: str,
        service: str,
        purpose: str,
        *,
        requester: str,
        lang: str = "en",
        today: dt.date | None = None,
    ) -> Decision:
        """A full decision with its ranked reasons, from memory (the snapshot must be loaded with ``explain``; while
        its explanations load, what the decision explains is read from the store)."""
        if not self.explain:
            raise RuntimeError("this snapshot was loaded without explanations")
        if not purpose or not purpose.strip():
            raise no_purpose()
        i = self.row_of(subject_id)
        if i is None:
            subject_id = compact_subject_id(subject_id)
            i = self.row_of(subject_id)
        if i is None:
            raise self.unscored(subject_id, today)
        self._bit(service)  # an unknown service is refused first
        decision = self._decision_at(i, subject_id, service, purpose.strip(), lang)
        decision = self._guarded(decision, requester, today, lang)
        outcome = "granted" if decision.granted else "refused"
        self.sink(self.run_id, [subject_id], service, purpose.strip(), requester, [outcome], [decision.lists])
        return decision

    def decisions_at(
        self,
        rows: np.ndarray[Any, np.dtype[np.int64]],
        subject_ids: Sequence[str],
        service: str,
        purpose: str,
        lang: str = "en",
        *,
        requester: str,
        today: dt.date | None = None,
    ) -> list[Decision]:
        """Full decisions (as ``decision`` gives them, the freeze and fraud alert included) for subjects at known
        rows, already logged by ``decide_rows``: a batch answers each item with the same fields, refusal and reasons
        as a single decision. While the explanations load, the batch's subjects are read from the store at once."""
        if not self.explain:
            raise RuntimeError("this snapshot was loaded without explanations")
        self._bit(service)  # an unknown service is refused first
        stored = (self._stored_rows(rows.tolist()) or {}) if self.results is None and len(rows) else {}
        return [
            self._guarded(
                self._decision_at(i, sid, service, purpose.strip(), lang, stored.get(i)),
                requester,
                today,
                lang,
            )
            for i, sid in zip(rows.tolist(), subject_ids, strict=True)
        ]

    def _guarded(self, decision: Decision, requester: str, today: dt.date | None, lang: str) -> Decision:
        guard = self.guards.get(decision.subject_id)
        if guard is None:
            return decision
        return guarded(decision, guard, decision.service in self.freezable, requester, resolve_today(today), lang)

    def _row_at(
        self,
        i: int,
        subject_id: str,
        *,
        reasons: bool = True,
        follow: bool = True,
        stored: tuple[dict[str, Any], list[tuple[str, float]], list[ListEntry]] | None = None,
    ) -> tuple[dict[str, Any], list[tuple[str, float]], list[ListEntry]]:
        """The subject at row ``i`` as decisions see it: its row (its live row if rescored since the run, else the
        run's with the lists in effect), rule reasons (none read without ``reasons``: a grant needs only the row)
        and list entries; once scores moved, rank and percentile from the histogram as it now stands, and the lists
        met through them judged again (``_rejudged``)."""
        live = self.live.get(i)
        if stored is None and live is None and self.results is None:
            stored = (self._stored_rows([i]) or {}).get(i)
        if live is not None:
            result = dict(live.result)
            rule_reasons, entries = list(live.reasons), list(live.entries)
        elif stored is not None:  # explanations still loading: as the store holds the run
            result = dict(stored[0])
            rule_reasons = list(stored[1]) if reasons else []
            entries = list(stored[2])
        else:
            if self.results is None:  # failed to load, and the connection read instead closed with the service
                raise StoreError(
                    f"the service is stopping: the explanations of run {self.run_id} are not in memory and its "
                    "connection to the store is closed; send the request again once the service is running"
                )
            result = {name: _value(col, i) for name, col in self._columns.items()}
            effective = self.effective_lists(i)
            if effective is not None:
                result["lists"] = effective
            rule_reasons = self.reasons_of(i, every=True) if reasons else []
            entries = list(self.entries.get(subject_id, []))
        if self.live:  # scores moved since the run: rank and percentile from the histogram as it now stands
            result["rank"], result["percentile"] = self.rank(str(result["kind"]), int(result["score"]))
            if self._positional_lists:
                entries = self._rejudged(result, entries, subject_id, i, live, follow=follow)
        return result, rule_reasons, entries

    def _rejudged(
        self,
        result: dict[str, Any],
        entries: list[ListEntry],
        subject_id: str,
        row: int,
        live: LiveRow | None,
        *,
        follow: bool = True,
    ) -> list[ListEntry]:
        """Judge again, on rank and percentile as they now stand, the list criteria that read them; updates
        ``result["lists"]`` and returns the entries. As in a live pass, leaving a list takes effect at once and a red
        list is joined at once; a blacklisting met only now waits for the next run's notice and grace period.
        With ``follow``, an entry through an organisation whose list was met on rank or percentile goes once no
        organisation holding it up meets that list any more (the organisation judged the same way), and an entry on
        a red list through an organisation that meets it only now is made at once (``_via_joins``), or, under
        held_at_cause, that a live pass put on it by a record dated while the person held the role
        (``_cause_joins``). A person a live pass rescored is judged on the roles his pass read
        (``_rejudged_live``)."""
        facts = facts_of(self.loaded, result, self.as_of)
        ranks = self._tier_rank
        lists = list(result["lists"])
        for list_id, criteria in self._positional_lists.items():
            judged = {c for c, _ in criteria}
            met: list[ListEntry] = [
                (list_id, c, None) for c, node in criteria if expr.evaluate(node, facts, tier_rank=ranks) is True
            ]
            kept = [e for e in entries if e[0] == list_id and e[1] not in judged]
            now: list[ListEntry] = kept + met
            on = list_id in lists
            if on and not now:
                lists.remove(list_id)
            elif not on and now and list_id in self._red:
                lists.append(list_id)
            others = [e for e in entries if e[0] != list_id]
            entries = others + now if list_id in lists else others
        if follow and live is not None:
            return self._rejudged_live(row, live, result, entries, lists)
        held = self._via_orgs.get(subject_id) if follow else None
        if held:
            gone = {
                key
                for key, (anchored, orgs) in held.items()
                if not anchored and orgs and not any(self._org_meets(o, key) for o in orgs)
            }
            if gone:
                entries = [e for e in entries if (e[0], e[1]) not in gone]
                for list_id in {key[0] for key in gone}:
                    if list_id in lists and not any(e[0] == list_id for e in entries):
                        lists.remove(list_id)
        joins = self._via_joins if follow else {}
        for key, (persons, org_rows) in joins.items():
            lo, hi = int(persons.searchsorted(row)), int(persons.searchsorted(row, side="right"))
            if lo == hi:
                continue
            orgs = [self.subject_ids[int(o)] for o in org_rows[lo:hi]]
            # a red list joined through an organisation that meets the criterion only now (others' scores fell). Under
            # held_at_cause only a criterion met on rank or percentile counts: it is dated the run's date, on which
            # the person holds the role; an organisation on the list by a record is so from the record's date, and a
            # full run lists only whoever held the role then (compiler/plan.py ``_relation_entries``)
            records = self._positional_vias[key][4] != "held_at_cause"
            if not any((e[0], e[1]) == key for e in entries) and any(
                self._org_meets(o, key, records=records) for o in orgs
            ):
                entries.append((key[0], key[1], None))
                if key[0] not in lists:
                    lists.append(key[0])
        causes = self._cause_joins if follow and self.live else {}
        for key, (persons, org_rows, starts, ends) in causes.items():
            lo, hi = int(persons.searchsorted(row)), int(persons.searchsorted(row, side="right"))
            if lo == hi or any((e[0], e[1]) == key for e in entries):
                continue
            periods = zip(org_rows[lo:hi].tolist(), starts[lo:hi].tolist(), ends[lo:hi].tolist(), strict=True)
            if any(self._caused_while_held(o, key, start, end) for o, start, end in periods):
                entries.append((key[0], key[1], None))
                if key[0] not in lists:
                    lists.append(key[0])
        result["lists"] = [lst.id for lst in self.policy.lists if lst.id in lists]
        return entries

    def _caused_while_held(self, org_row: int, key: tuple[str, str], start: int, end: int) -> bool:
        """Whether a live pass put the organisation at ``org_row`` on the list the held_at_cause relation ``key``
        follows by a record dated while the role ran (``start`` up to, not on, ``end``: days since 1970-01-01), as
        a full run then lists the person (compiler/plan.py ``_relation_entries``). An organisation no pass rescored
        is on it by the records the run judged the person's roles against already."""
        live = self.live.get(org_row)
        if live is None or not live.causes:
            return False
        target, follows, judged, _roles, _when = self._positional_vias[key]
        return any(
            lst == target and c in follows and c not in judged and start <= (day - _EPOCH).days < end
            for lst, c, day in live.causes
        )

    def _vias_for(self, row: int, live: LiveRow) -> dict[tuple[str, str], _LiveVia]:
        """``_live_vias`` of the live row ``live`` at ``row``: those kept with it, or, if those kept were made from
        another row (a patch swapping them this moment), made again from its own roles."""
        kept = self._live_vias.get(row)
        if kept is not None and kept[0] is live:
            return kept[1]
        return self._vias_of(live)

    def _rejudged_live(
        self, row: int, live: LiveRow, result: dict[str, Any], entries: list[ListEntry], lists: list[str]
    ) -> list[ListEntry]:
        """``_rejudged``'s entries through organisations for a person a live pass rescored, on the roles its pass
        read (``_live_vias``) and the organisations' rows as they now stand, as a full run at the snapshot's
        watermark finds them. An entry the pass found stands while an organisation holds it up: on the list by a
        record (under held_at_cause, one whose record the pass found dated while he held the role in it,
        ``LiveRow.anchors``; if rescored since, by a record so dated, ``_anchor_holds``), or
        meeting its criterion on rank or percentile (a role held on the run's date); else it goes at once. An entry
        the pass did not find is made at once, on a red list, once an organisation he holds the role in on the run's
        date meets the list (on rank or percentile only, under held_at_cause: a record dates the cause at its own
        date, which the pass judged); a blacklisting is never made live: it waits for the next full run."""
        for key, via in self._vias_for(row, live).items():
            list_id = key[0]
            if any((e[0], e[1]) == key for e in entries):
                if any(self._anchor_holds(o, key, via) for o in via.anchors) or any(
                    self._org_meets(o, key, records=False) for o in via.current
                ):
                    continue
                entries = [e for e in entries if (e[0], e[1]) != key]
                if list_id in lists and not any(e[0] == list_id for e in entries):
                    lists.remove(list_id)
            elif list_id in self._red:
                records = self._positional_vias[key][4] != "held_at_cause"
                if any(self._org_meets(o, key, records=records) for o in via.current) or any(
                    self._caused_while_held(o, key, start, end) for o, start, end in via.periods
                ):
                    entries.append((key[0], key[1], None))
                    if list_id not in lists:
                        lists.append(list_id)
        result["lists"] = [lst.id for lst in self.policy.lists if lst.id in lists]
        return entries

    def _anchor_holds(self, org_id: str, key: tuple[str, str], via: _LiveVia) -> bool:
        """Whether the organisation, one that held up a rescored person's entry through the relation ``key`` by a
        record when his pass ran (``_LiveVia.anchors``), still does: on the list by a record; under held_at_cause, if a
        live pass rescored the organisation since, by a record dated while he held the role in it
        (``_caused_while_held``)."""
        if not self._org_recorded(org_id, key):
            return False
        i = self.row_of(org_id)
        if self._positional_vias[key][4] != "held_at_cause" or i is None or i not in self.live:
            return True
        return any(self._caused_while_held(i, key, start, end) for o, start, end in via.periods if o == i)

    def _org_meets(self, org_id: str, key: tuple[str, str], *, records: bool = True) -> bool:
        """Whether the organisation meets, on its row as it now stands, one of the criteria on rank or percentile that
        the relation ``key`` (list, criterion) follows: met, not in effect, as a run puts its officers on the list
        (compiler/plan.py ``_relation_entries``). With ``records``, also whether it is on the list by one of the
        other criteria the relation follows (a record, not judged again)."""
        i = self.row_of(org_id)
        if i is None:
            return False
        target, _follows, judged, _roles, _when = self._positional_vias[key]
        if records and self._org_recorded(org_id, key):
            return True
        result, _reasons, _entries = self._row_at(i, org_id, reasons=False, follow=False)
        facts = facts_of(self.loaded, result, self.as_of)
        ranks = self._tier_rank
        return any(
            expr.evaluate(node, facts, tier_rank=ranks) is True
            for c, node in self._positional_lists[target]
            if c in judged
        )

    def _org_recorded(self, org_id: str, key: tuple[str, str]) -> bool:
        """Whether the organisation is on the list the relation ``key`` follows by one of its criteria not judged
        again (a record), in its live row or the run's: met whatever the scores do."""
        i = self.row_of(org_id)
        if i is None:
            return False
        target, follows, judged, _roles, _when = self._positional_vias[key]
        live = self.live.get(i)
        own = live.entries if live is not None else self.entries.get(org_id, [])
        return any(e[0] == target and e[1] in follows and e[1] not in judged for e in own)

    def grants_at(self, i: int) -> int:
        """The services granted to the subject at row ``i`` (bit i: the policy's i-th service): as the run or the live
        pass that rescored it gave them, unless scores moved since and a service is granted on rank or percentile:
        then every grant is judged again on the subject's row with its rank and percentile as they now stand, as a
        full run at the snapshot's watermark would judge it (a live pass rescores only the subjects whose inputs
        changed, but moves everyone's rank)."""
        if not self._rejudging():
            return int(self.grants[i])
        result, _reasons, _entries = self._row_at(i, self.subject_ids[i], reasons=False)
        return self._grants_for(i, result)

    def _rejudging(self) -> bool:
        """Whether grants are judged again at each decision: scores moved since the run, under a policy granting a
        service (or meeting a list criterion) on rank or percentile. A snapshot without explanations has no rows to
        judge them on: ``patch`` refuses to move its scores under such a policy."""
        return self._positional and bool(self.live) and self.results is not None

    def _grants_for(self, i: int, result: dict[str, Any]) -> int:
        """The grants of the subject at row ``i`` whose row (as ``_row_at`` gives it) is ``result``."""
        if not self._rejudging():
            return int(self.grants[i])
        return grants_with(self.loaded, facts_of(self.loaded, result, self.as_of))

    def _decision_at(
        self,
        i: int,
        subject_id: str,
        service: str,
        purpose: str,
        lang: str,
        stored: tuple[dict[str, Any], list[tuple[str, float]], list[ListEntry]] | None = None,
    ) -> Decision:
        result, rule_reasons, entries = self._row_at(i, subject_id, stored=stored)
        granted = bool(self._grants_for(i, result) >> self._bit(service) & 1)
        reasons = explain_rows(
            self.loaded,
            result,
            entries,
            rule_reasons,
            lang,
            service=None if granted else service,
            as_of=self.as_of,
        )
        return Decision(
            subject_id=subject_id,
            service=service,
            purpose=purpose,
            granted=granted,
            policy_id=self.policy.id,
            policy_version=self.policy.version,
            run_id=self.run_id,
            watermark=self.watermark,
            score=int(result["score"]),
            tier=str(result["tier"]),
            lists=list(result["lists"]),
            reasons=reasons,
            refusal=None if granted else self.policy.service(service).refusal.get(lang),
        )

    def reasons_of(self, i: int, *, every: bool = False) -> list[tuple[str, float]]:
        """The rule reasons of the subject at row ``i``, as run_reasons ranks them: largest points first (either
        way), ties by rule id; at most MAX_REASONS, or ``every`` one (a refusal tells the rules that lowered the score
        most, which need not be among the four largest)."""
        j = i if self._reason_slot is None else int(self._reason_slot[i])
        lo, hi = int(self.reason_offsets[j]), int(self.reason_offsets[j + 1])
        held = zip(self.reason_rule_index[lo:hi].tolist(), self.reason_points[lo:hi].tolist(), strict=True)
        ranked = list(held) if self._reasons_ranked else sorted(held, key=self._reason_order)
        return [(str(self.reason_rule_names[r]), points) for r, points in (ranked if every else ranked[:MAX_REASONS])]

    def _reason_order(self, point: tuple[int, float]) -> tuple[float, int]:
        return -abs(point[1]), self._rule_ranks[point[0]]

    def _bit(self, service: str) -> int:
        try:
            return self.bits[service]
        except KeyError:
            raise NotFoundError(
                f"policy {self.policy.id} offers no service {service!r}",
                zh=f"政策 {self.policy.id} 没有服务 {service!r}",
            ) from None

    def decide(
        self, subject_id: str, service: str, purpose: str, *, requester: str, today: dt.date | None = None
    ) -> QuickDecision:
        """One decision; logged as an inquiry at the next ``flush``."""
        if not purpose or not purpose.strip():
            raise no_purpose()
        i = self.row_of(subject_id)
        if i is None:  # as a full decision: found as typed (`…x`, spaces), else refused as it says
            subject_id = compact_subject_id(subject_id)
            i = self.row_of(subject_id)
        if i is None:
            raise self.unscored(subject_id, today)
        granted = bool(self.grants_at(i) >> self._bit(service) & 1)
        # One dict look-up when the subject has no freeze or fraud alert (nearly everyone): the date is then never
        # resolved, which reads the settings and would cost more than the rest of the decision.
        guard, frozen, verify = self.guards.get(subject_id), False, False
        if guard is not None:
            day = resolve_today(today)
            frozen = service in self.freezable and guard.frozen_for(party_of(requester), day)
            verify = guard.verify_identity(day)
        granted = granted and not frozen
        outcome = "granted" if granted else "refused"
        lists = [None] if granted else self.counted_lists([i])
        self.sink(self.run_id, [subject_id], service, purpose.strip(), requester, [outcome], lists)
        return QuickDecision(
            granted,
            int(self.scores[i]),
            str(self.tier_names[self.tier_ranks[i] - 1]),
            self.run_id,
            self.watermark,
            frozen,
            verify,
        )

    # -- live patches ------------------------------------------------------------------------------------------
    def old_scores(self, subject_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        """(kind, score) of each of these subjects in the histogram as it now stands (scored subjects only)."""
        out = {}
        for sid in subject_ids:
            i = self.row_of(sid)
            if i is not None:
                out[sid] = (str(self.kinds[i].as_py()), int(self.scores[i]))
        return out

    def patch(self, rows: dict[str, LiveRow], watermark: int, histogram: pa.Table) -> int:
        """Swap in subjects rescored on the state at ``watermark`` (registry/decisions/live.py); returns how many.

        Subjects registered after the run are not in the snapshot: they are decided from the next run.
        """
        with self._patch_lock:
            if self._positional and not self._explained.is_set():  # applied once the explanations are in
                self._queued.append((rows, watermark, histogram))
                return sum(1 for sid in rows if self.row_of(sid) is not None)
            # Under a policy judging nothing on rank or percentile a patch needs nothing the explanations hold: it is
            # applied at once, and a decision reads a patched subject's live row before the store's (``_row_at``).
            return self._apply(rows, watermark, histogram)

    @property
    def patches_wait(self) -> bool:
        """Whether a live patch would wait for the explanations (queued until they are in): the policy judges a
        grant or list criterion on rank or percentile, and they are still loading."""
        return self._positional and not self._explained.is_set()

    @property
    def patchable(self) -> bool:
        """Whether live patches can move this snapshot's scores: not under a policy judging on rank or percentile
        once its explanations failed to load (there are no rows to judge them again on)."""
        return not (self._positional and self._explained.is_set() and self.results is None)

    def close(self) -> None:
        """Wait for the explanations' thread, then close the connection decisions read them from meanwhile (kept
        after a failed load)."""
        loader = getattr(self, "_loader", None)
        if loader is not None:
            loader.join()
        with self._on_demand_lock:
            if self._on_demand is not None:
                self._on_demand.close()
                self._on_demand = None

    def _apply(self, rows: dict[str, LiveRow], watermark: int, histogram: pa.Table) -> int:
        if rows and self._positional and self.results is None:
            raise RuntimeError(
                f"policy {self.policy.id} {self.policy.version} grants on rank or percentile: a snapshot loaded "
                "without explanations cannot judge its grants again as scores move (load it with explain=True)"
            )
        # ranked best first by their minimum score (``_tier_rank``, as a run ranks them), not in the order the policy
        # declares them: a policy may declare its tiers lowest first
        ranks = self._tier_rank
        n = 0
        for sid, row in rows.items():
            i = self.row_of(sid)
            if i is None:
                continue
            # its entries through organisations are the pass's, found on its roles as they now stand: judged again
            # on those roles (``_live_vias``, set with the row they were made from before the row is published), not
            # on the organisations the run found (``_via_orgs``)
            vias = self._vias_of(row) if self._positional_vias else {}
            if vias:
                self._live_vias[i] = (row, vias)
            else:
                self._live_vias.pop(i, None)
            self.live[i] = row
            self._via_orgs.pop(sid, None)
            self.scores[i] = int(row.result["score"])
            self.tier_ranks[i] = ranks[str(row.result["tier"])]
            self.grants[i] = int(row.result["grants"])
            n += 1
        self.histogram = histogram
        self._ranks = None
        self.watermark = watermark
        return n

    def _vias_of(self, row: LiveRow) -> dict[tuple[str, str], _LiveVia]:
        """``_live_vias`` of a rescored subject: for each relation judged on rank or percentile, the organisations
        that may hold up an entry by a record (one of the relation's roles held on the run's date; under
        held_at_cause, those on the list by a record dated while he held the role, ``LiveRow.anchors``), those held
        on the run's date, and under held_at_cause every role's (organisation row, first day, day after the last),
        from the roles its pass read."""
        if row.result.get("kind") != "person" or not row.roles:
            return {}
        day = self.as_of
        out = {}
        for key, (_target, _follows, _judged, roles, when) in self._positional_vias.items():
            mine = [(o, start, end) for o, r, start, end in row.roles if r in roles and start is not None]
            current = tuple(sorted({o for o, start, end in mine if _held_on(start, end, day)}))
            # under held_at_cause, the organisations on the list by a record dated while he held the role there
            # (``LiveRow.anchors``, judged by the pass that had them scored beside him)
            anchors = (
                tuple(sorted({o for lst, c, o in row.anchors if (lst, c) == key}))
                if when == "held_at_cause"
                else current
            )
            periods: tuple[tuple[int, int, int], ...] = ()
            if when == "held_at_cause":
                periods = tuple(
                    (i, (start - _EPOCH).days, _OPEN if end is None else (end - _EPOCH).days)
                    for o, start, end in mine
                    if start is not None and (i := self.row_of(o)) is not None
                )
            if current or anchors or periods:
                out[key] = _LiveVia(anchors, current, periods)
        return out

    def live_view(self, subject_id: str) -> LiveView | None:
        """The subject as patched since the run (None if it was not rescored since), with its rank and percentile in
        the histogram as it now stands. Under a policy granting on rank or percentile, once scores moved, every
        subject's row as decisions now judge it (``_row_at``, ``grants_at``), rescored or not: others' scores moved
        its rank, and with it what it is granted."""
        i = self.row_of(subject_id)
        if i is None or not self.live:
            return None
        if not self._rejudging():  # only the rescored subjects' rows moved
            row = self.live.get(i)
            if row is None:
                return None
            rank, percentile = self.rank(str(row.result["kind"]), int(row.result["score"]))
            return LiveView(
                row.result, row.reasons, row.entries, rank, percentile, self.watermark, row.pending, row.met
            )
        result, reasons, entries = self._row_at(i, self.subject_ids[i])
        result["grants"] = self._grants_for(i, result)
        row = self.live.get(i)
        return LiveView(
            result,
            reasons,
            entries,
            int(result["rank"]),
            float(result["percentile"]),
            self.watermark,
            None if row is None else row.pending,
            None if row is None else row.met,
        )

    def served_view(self, subject_id: str) -> LiveView | None:
        """The subject as decisions on this snapshot now see it, rescored since the run or not (``live_view``, else
        the run's row with the lists in effect in memory and the grants decisions give it), or None if the run did
        not score it: what a relying party is answered about the subject, for the resident to be told the same."""
        view = self.live_view(subject_id)
        if view is not None:
            return view
        i = self.row_of(subject_id)
        if i is None:
            return None
        result, reasons, entries = self._row_at(i, self.subject_ids[i])
        result["grants"] = self.grants_at(i)
        return LiveView(result, reasons, entries, int(result["rank"]), float(result["percentile"]), self.watermark)

    def rank(self, kind: str, score: int) -> tuple[int, float]:
        """Rank (1 + how many of the kind score higher) and percentile (share at or below, in hundredths rounded
        half up, as the run computes it) of ``score`` in the histogram as it now stands."""
        # kept with the histogram it was built from: a decision that read the histogram before a patch replaced it
        # stores ranks of the old one, which the next decision (seeing the new histogram) builds again
        table = self.histogram
        cached = self._ranks
        by_rank = cached[1] if cached is not None and cached[0] is table else None
        if by_rank is None:
            by_kind = {}
            kinds = table.column("kind").to_pylist()
            for k in set(kinds):
                mask = np.array([x == k for x in kinds])
                scores = table.column("score").to_numpy()[mask]
                counts = table.column("n").to_numpy()[mask]
                order = np.argsort(scores)
                by_kind[k] = (scores[order], np.cumsum(counts[order]))
            self._ranks = (table, by_kind)
            by_rank = by_kind
        scores, cum = by_rank[kind]
        total = int(cum[-1])
        at_or_below = int(cum[np.searchsorted(scores, score, side="right") - 1]) if score >= scores[0] else 0
        return total - at_or_below + 1, float((20000 * at_or_below + total) // (2 * total)) / 100

    def decide_many(
        self, subject_ids: Sequence[str], service: str, purpose: str, *, requester: str
    ) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """Decisions for many subjects at once (all must have been scored); each is logged as an inquiry."""
        if not purpose or not purpose.strip():
            raise no_purpose()
        self._bit(service)  # an unknown service is refused first
        subject_ids = list(subject_ids)
        return self.decide_rows(
            self.rows_of(subject_ids, missing="raise"), subject_ids, service, purpose, requester=requester
        )

    def decide_rows(
        self,
        rows: np.ndarray[Any, np.dtype[np.int64]],
        subject_ids: list[str],
        service: str,
        purpose: str,
        *,
        requester: str,
        today: dt.date | None = None,
    ) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """``decide_many`` for subjects whose rows (``rows_of``) are known already: ``rows[i]`` is the row of
        ``subject_ids[i]``. A subject whose freeze refuses the service (``guard_flags``) is refused."""
        if not purpose or not purpose.strip():
            raise no_purpose()
        bit = self._bit(service)
        grants = self.grants[rows]
        if self._rejudging():  # judged again on rank and percentile
            grants = np.array([self.grants_at(i) for i in rows.tolist()], dtype=np.int64)
        granted: np.ndarray[Any, np.dtype[np.bool_]] = (grants >> bit & 1).astype(bool)
        if self.guards and service in self.freezable:
            frozen, _verify = self.guard_flags(subject_ids, service, requester, today)
            granted &= ~np.array(frozen, dtype=bool)
        outcomes = np.where(granted, "granted", "refused").tolist()
        lists: list[Sequence[str] | None] = [None] * len(subject_ids)
        refused = np.flatnonzero(~granted)
        if len(refused):
            counted = self.counted_lists(rows[refused].tolist())
            for k, x in zip(refused.tolist(), counted, strict=True):
                lists[k] = x
        self.sink(self.run_id, subject_ids, service, purpose.strip(), requester, outcomes, lists)
        return granted

    def counted_lists(self, rows: Sequence[int]) -> list[Sequence[str] | None]:
        """The lists a batch or quick refusal of the subjects at ``rows`` keeps with its inquiry: where they differ
        from the run's, a subject rescored since the run (its live row) or whose lists in effect differ
        (``effective_lists``: a blacklisting in notice, one ended since the run), its own; for the others, nearly all,
        ``RUN_LISTS``, the run's, which the inquiry is given from the run's entries when it is written
        (``with_run_lists``), so that the file names what the refusal counted whatever becomes of a listing before
        it is read (until 2026-12-07 they kept none, and were worked out again from the listings as they then stood).
        Found with array look-ups, never a subject's whole row (``_row_at``): a batch of refusals costs what it did
        before inquiries kept lists."""
        at = np.asarray(rows, dtype=np.int64)
        out: list[Sequence[str] | None] = [RUN_LISTS] * len(at)
        differ = np.isin(at, self._effective_rows)
        live = list(self.live)  # copied at once: a pass may patch subjects meanwhile
        if live:
            differ |= np.isin(at, np.array(live, dtype=np.int64))
        for k in np.flatnonzero(differ).tolist():
            i = int(at[k])
            row = self.live.get(i)
            if row is not None:
                out[k] = list(row.result["lists"])
            elif (effective := self.effective_lists(i)) is not None:
                out[k] = effective
        return out

    def _buffer(
        self,
        _run_id: int,
        subjects: list[str],
        service: str,
        purpose: str,
        requester: str,
        outcomes: list[str],
        lists: Sequence[Sequence[str] | None],
    ) -> None:
        p, n, now = self.pending, len(subjects), dt.datetime.now(dt.UTC).replace(tzinfo=None)
        p.asked_at.extend([now] * n)
        p.requester.extend([requester] * n)
        p.subject_id.extend(subjects)
        p.service.extend([service] * n)
        p.purpose.extend([purpose.strip()] * n)
        p.outcome.extend(outcomes)
        p.lists.extend(lists)
        p.marked = p.marked or RUN_LISTS in lists

    def flush(self, store: Store) -> int:
        """Write the buffered inquiries to the store in one transaction; returns how many."""
        p = self.pending
        n = len(p)
        if n == 0:
            return 0
        table = pa.table(
            {
                "pos": pa.array(range(1, n + 1), pa.int64()),
                "asked_at": pa.array(p.asked_at, pa.timestamp("us")),
                "requester": p.requester,
                "subject_id": p.subject_id,
                "service": p.service,
                "purpose": p.purpose,
                "outcome": p.outcome,
                "run_id": pa.array([self.run_id] * n, pa.int64()),
                "lists": pa.array(p.lists, pa.list_(pa.string())),
            }
        )
        store.con.register("pending_inquiries", table)
        try:
            with store.transaction():
                first = write_inquiries(store, with_run_lists("SELECT * FROM pending_inquiries", p.marked), n)
                detail = {"run_id": self.run_id, "inquiries": [first, first + n - 1]}
                append_audit(store, "snapshot", "decide_batch", None, detail)
        finally:
            store.con.unregister("pending_inquiries")
        self.pending = _Pending()
        return n
