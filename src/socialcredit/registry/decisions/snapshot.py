"""Decisions from memory: the latest run of a policy held as arrays, so a decision is a lookup and a bit test.

The store has one writer; relying parties ask far more often than runs change. A snapshot is loaded from a finished
run; between runs, the subjects a committed change touches are rescored on the scoring state and patched in
(:meth:`Snapshot.patch`, registry/decisions/live.py), and the snapshot then names the watermark it stands on. Every
decision is still logged as an inquiry: the snapshot buffers them and ``flush`` writes them to the store in one
transaction (the single writer does this).

>>> snap = Snapshot.load(store, "beijing")                      # doctest: +SKIP
>>> snap.decide("110105199001011237", "high_speed_rail", "ticket purchase", requester="railway")  # doctest: +SKIP
QuickDecision(granted=True, score=1002, tier='A', run_id=3)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from socialcredit.errors import DecisionError, NotFoundError
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.decisions.decide import Decision, explain_rows, list_entries_with_origin, run_for_service
from socialcredit.registry.decisions.inquiries import write_inquiries
from socialcredit.registry.decisions.live import LiveRow, LiveView
from socialcredit.registry.due_process.listings import effective_results
from socialcredit.registry.scoring.policies import get_policy
from socialcredit.registry.scoring.runs import latest_run
from socialcredit.store import Store

__all__ = ["InquirySink", "QuickDecision", "Snapshot"]

# Where a snapshot's inquiries go: (run_id, subjects, service, purpose, requester, outcomes). The default keeps them
# in memory until ``flush``; the service passes a durable journal instead (registry/decisions/inquiries.py).
InquirySink = Callable[[int, list[str], str, str, str, list[str]], None]


@dataclass(frozen=True, slots=True)
class QuickDecision:
    granted: bool
    score: int
    tier: str
    run_id: int
    watermark: int  # the change number the decision stands on: the run's, or the latest one patched in


@dataclass
class _Pending:
    asked_at: list[dt.datetime] = field(default_factory=list)
    requester: list[str] = field(default_factory=list)
    subject_id: list[str] = field(default_factory=list)
    service: list[str] = field(default_factory=list)
    purpose: list[str] = field(default_factory=list)
    outcome: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.subject_id)


class Snapshot:
    """The results of one finished score run, in memory, for decisions."""

    def __init__(
        self, store: Store, run: dict[str, Any], *, explain: bool = False, sink: InquirySink | None = None
    ) -> None:
        self.run_id = int(run["run_id"])
        self.as_of: dt.date = run["as_of"]
        self.watermark = int(run["watermark"])
        # Subjects rescored since the run (row -> their live row), and the histogram of (kind, score) they moved.
        self.live: dict[int, LiveRow] = {}
        self.histogram: pa.Table = store.execute(
            "SELECT kind, score, count(*) AS n FROM run_results WHERE run_id = ? GROUP BY ALL ORDER BY ALL",
            [self.run_id],
        ).to_arrow_table()
        self._ranks: dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] | None = None
        self.loaded = get_policy(store, run["policy_id"], run["policy_version"])
        self.policy = self.loaded.policy
        columns = "*" if explain else "subject_id, kind, score, tier_rank, grants"
        table = store.execute(
            f"SELECT {columns} FROM run_results WHERE run_id = ? ORDER BY subject_id", [self.run_id]
        ).to_arrow_table()
        self.subject_ids: list[str] = table.column("subject_id").to_pylist()
        self.index: dict[str, int] = {sid: i for i, sid in enumerate(self.subject_ids)}
        self.scores = table.column("score").to_numpy()
        self.grants = table.column("grants").to_numpy().copy()
        # Only effective listings refuse: subjects in a notice period (or whose listing ended) get their grants anew.
        adjusted = effective_results(store, run)
        for sid, (_lists, bits) in adjusted.items():
            self.grants[self.index[sid]] = bits
        # The lists decisions see for subjects whose blacklisting is not effective (in notice, or ended).
        self.effective_lists = {sid: lists for sid, (lists, _bits) in adjusted.items()}
        tiers = self.policy.tier_ids()
        self.tier_names = np.array([tiers[len(tiers) - r] for r in range(1, len(tiers) + 1)], dtype=object)
        self.tier_ranks = table.column("tier_rank").to_numpy().copy()
        self.scores = self.scores.copy()
        self.kinds = table.column("kind")
        self.bits = {s.id: i for i, s in enumerate(self.policy.services)}
        self.pending = _Pending()
        self.sink: InquirySink = sink or self._buffer
        self.results: pa.Table | None = None
        if explain:
            self._load_explanations(store, table)

    def _load_explanations(self, store: Store, table: pa.Table) -> None:
        """Everything a full decision explains from: results, the four reasons, list entries (held as arrays)."""
        self.results = table
        # Numbers as numpy arrays (a lookup is an index); the rest as Arrow arrays, converted per lookup.
        self._columns: dict[str, Any] = {}
        for name in table.column_names:
            col = table.column(name).combine_chunks()
            numeric = (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)) and col.null_count == 0
            self._columns[name] = col.to_numpy(zero_copy_only=False) if numeric else col
        ranked = store.execute(
            """WITH idx AS (SELECT subject_id, row_number() OVER (ORDER BY subject_id) - 1 AS i
                            FROM run_results WHERE run_id = $run)
               SELECT i, rule_id, points FROM run_reasons JOIN idx USING (subject_id)
               WHERE run_id = $run ORDER BY i, position""",
            {"run": self.run_id},
        ).to_arrow_table()
        rows = ranked.column("i").to_numpy()
        self.reason_offsets = np.searchsorted(rows, np.arange(len(self.subject_ids) + 1))
        self.reason_rules = np.array(ranked.column("rule_id").to_pylist(), dtype=object)
        self.reason_points = ranked.column("points").to_numpy()
        self.entries = list_entries_with_origin(
            store,
            "SELECT e.subject_id, e.list_id, e.criterion_id, r.record_type, r.origin_region FROM run_list_entries e "
            "LEFT JOIN records r ON r.record_key = e.record_key WHERE e.run_id = ? ORDER BY 1, 2, 3",
            [self.run_id],
        )

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
        """The latest finished run of ``policy_id`` (or of the newest policy offering ``service``).

        With ``explain``, it also holds what a full decision needs (reasons, list entries): see ``decision``.
        """
        run = run_for_service(store, service or "", policy_id) if service else latest_run(store, policy_id)
        return cls(store, run, explain=explain, sink=sink)

    def decision(self, subject_id: str, service: str, purpose: str, *, requester: str, lang: str = "en") -> Decision:
        """A full decision with its ranked reasons, from memory (the snapshot must be loaded with ``explain``)."""
        if self.results is None:
            raise RuntimeError("this snapshot was loaded without explanations")
        if not purpose or not purpose.strip():
            raise DecisionError("a purpose is required: say why the decision is asked (e.g. 'ticket purchase')")
        i = self.index.get(subject_id)
        if i is None:
            raise NotFoundError(f"subject {subject_id} was not scored in run {self.run_id}")
        bit = self._bit(service)
        granted = bool(self.grants[i] >> bit & 1)
        live = self.live.get(i)
        if live is not None:
            result = dict(live.result)
            rule_reasons = list(live.reasons)
            entries = list(live.entries)
        else:
            result = {
                name: (col[i].item() if isinstance(col, np.ndarray) else col[i].as_py())
                for name, col in self._columns.items()
            }
            if subject_id in self.effective_lists:
                result["lists"] = self.effective_lists[subject_id]
            lo, hi = int(self.reason_offsets[i]), int(self.reason_offsets[i + 1])
            rule_reasons = list(zip(self.reason_rules[lo:hi].tolist(), self.reason_points[lo:hi].tolist(), strict=True))
            entries = self.entries.get(subject_id, [])
        if self.live:  # scores moved since the run: rank and percentile from the histogram as it now stands
            result["rank"], result["percentile"] = self.rank(str(result["kind"]), int(result["score"]))
        reasons = explain_rows(
            self.loaded,
            result,
            entries,
            rule_reasons,
            lang,
            service=None if granted else service,
            as_of=self.as_of,
        )
        self.sink(self.run_id, [subject_id], service, purpose.strip(), requester, ["granted" if granted else "refused"])
        return Decision(
            subject_id=subject_id,
            service=service,
            purpose=purpose.strip(),
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

    def _bit(self, service: str) -> int:
        try:
            return self.bits[service]
        except KeyError:
            raise NotFoundError(f"policy {self.policy.id} offers no service {service!r}") from None

    def decide(self, subject_id: str, service: str, purpose: str, *, requester: str) -> QuickDecision:
        """One decision; logged as an inquiry at the next ``flush``."""
        if not purpose or not purpose.strip():
            raise DecisionError("a purpose is required: say why the decision is asked (e.g. 'ticket purchase')")
        i = self.index.get(subject_id)
        if i is None:
            raise NotFoundError(f"subject {subject_id} was not scored in run {self.run_id}")
        granted = bool(self.grants[i] >> self._bit(service) & 1)
        self.sink(self.run_id, [subject_id], service, purpose.strip(), requester, ["granted" if granted else "refused"])
        return QuickDecision(
            granted, int(self.scores[i]), str(self.tier_names[self.tier_ranks[i] - 1]), self.run_id, self.watermark
        )

    # -- live patches ------------------------------------------------------------------------------------------
    def old_scores(self, subject_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        """(kind, score) of each of these subjects in the histogram as it now stands (scored subjects only)."""
        out = {}
        for sid in subject_ids:
            i = self.index.get(sid)
            if i is not None:
                out[sid] = (str(self.kinds[i].as_py()), int(self.scores[i]))
        return out

    def patch(self, rows: dict[str, LiveRow], watermark: int, histogram: pa.Table) -> int:
        """Swap in subjects rescored on the state at ``watermark`` (registry/decisions/live.py); returns how many.

        Subjects registered after the run are not in the snapshot: they are decided from the next run.
        """
        ranks = {s.id: len(self.policy.tiers) - k for k, s in enumerate(self.policy.tiers)}
        n = 0
        for sid, row in rows.items():
            i = self.index.get(sid)
            if i is None:
                continue
            self.live[i] = row
            self.scores[i] = int(row.result["score"])
            self.tier_ranks[i] = ranks[str(row.result["tier"])]
            self.grants[i] = int(row.result["grants"])
            n += 1
        self.histogram = histogram
        self._ranks = None
        self.watermark = watermark
        return n

    def live_view(self, subject_id: str) -> LiveView | None:
        """The subject as patched since the run, or None if it was not rescored since."""
        i = self.index.get(subject_id)
        row = None if i is None else self.live.get(i)
        if row is None:
            return None
        rank, percentile = self.rank(str(row.result["kind"]), int(row.result["score"]))
        return LiveView(row.result, row.reasons, row.entries, rank, percentile, self.watermark)

    def rank(self, kind: str, score: int) -> tuple[int, float]:
        """Rank (1 + how many of the kind score higher) and percentile (share at or below, in hundredths rounded
        half up, as the run computes it) of ``score`` in the histogram as it now stands."""
        if self._ranks is None:
            table, by_kind = self.histogram, {}
            kinds = table.column("kind").to_pylist()
            for k in set(kinds):
                mask = np.array([x == k for x in kinds])
                scores = table.column("score").to_numpy()[mask]
                counts = table.column("n").to_numpy()[mask]
                order = np.argsort(scores)
                by_kind[k] = (scores[order], np.cumsum(counts[order]))
            self._ranks = by_kind
        scores, cum = self._ranks[kind]
        total = int(cum[-1])
        at_or_below = int(cum[np.searchsorted(scores, score, side="right") - 1]) if score >= scores[0] else 0
        return total - at_or_below + 1, float((20000 * at_or_below + total) // (2 * total)) / 100

    def decide_many(
        self, subject_ids: Sequence[str], service: str, purpose: str, *, requester: str
    ) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """Decisions for many subjects at once (all must have been scored); each is logged as an inquiry."""
        if not purpose or not purpose.strip():
            raise DecisionError("a purpose is required: say why the decision is asked (e.g. 'ticket purchase')")
        bit = self._bit(service)
        try:
            rows = np.fromiter((self.index[s] for s in subject_ids), dtype=np.int64, count=len(subject_ids))
        except KeyError as exc:
            raise NotFoundError(f"subject {exc.args[0]} was not scored in run {self.run_id}") from None
        granted: np.ndarray[Any, np.dtype[np.bool_]] = (self.grants[rows] >> bit & 1).astype(bool)
        outcomes = np.where(granted, "granted", "refused").tolist()
        self.sink(self.run_id, list(subject_ids), service, purpose.strip(), requester, outcomes)
        return granted

    def _buffer(
        self, _run_id: int, subjects: list[str], service: str, purpose: str, requester: str, outcomes: list[str]
    ) -> None:
        p, n, now = self.pending, len(subjects), dt.datetime.now(dt.UTC).replace(tzinfo=None)
        p.asked_at.extend([now] * n)
        p.requester.extend([requester] * n)
        p.subject_id.extend(subjects)
        p.service.extend([service] * n)
        p.purpose.extend([purpose.strip()] * n)
        p.outcome.extend(outcomes)

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
            }
        )
        store.con.register("pending_inquiries", table)
        try:
            with store.transaction():
                first = write_inquiries(store, "SELECT * FROM pending_inquiries", n)
                detail = {"run_id": self.run_id, "inquiries": [first, first + n - 1]}
                append_audit(store, "snapshot", "decide_batch", None, detail)
        finally:
            store.con.unregister("pending_inquiries")
        self.pending = _Pending()
        return n
