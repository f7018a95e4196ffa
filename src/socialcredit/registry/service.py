"""The running service's state: the store's single writer, keys and snapshots in memory, the inquiry journal.

Decisions never wait for the writer: they are answered from immutable snapshots of the runs in force, keys are checked
against a key ring in memory, and inquiries go to a journal that a background thread moves into the store whenever
the writer is free. Ingest, score runs and policy publication take the writer; when a run finishes, the snapshots
are replaced (never updated) and the next decision uses the new run.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import traceback
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from socialcredit.errors import NotFoundError, SocialCreditError, TooManyRequestsError
from socialcredit.policy.memoranda import LoadedMemorandum
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.access.parties import KeyRing, Party
from socialcredit.registry.access.throttle import OTHERS, Throttle, service_limits
from socialcredit.registry.decisions.decide import Served, ambiguous_service, not_offered_under, run_for_service
from socialcredit.registry.decisions.inquiries import journal_of
from socialcredit.registry.decisions.live import LivePasses, LiveView, changes, rescore, warm
from socialcredit.registry.decisions.snapshot import Snapshot
from socialcredit.registry.due_process.listings import complete_missed
from socialcredit.registry.hooks import plugin_manager
from socialcredit.registry.records.ingest import BatchOutcome, BatchRequest, ingest_group
from socialcredit.registry.reporting.listing_details import held_ids, held_now
from socialcredit.registry.reporting.resident_file import export_file
from socialcredit.registry.scoring.memoranda import AppliedMeasure, applied_measure, memoranda_for
from socialcredit.registry.scoring.policies import get_policy, policy_by_ref
from socialcredit.registry.scoring.runs import in_force_sql, no_run_in_force, score
from socialcredit.registry.scoring.state import catch_up, index_states, list_states, state_info
from socialcredit.settings import get_settings
from socialcredit.store import Store

__all__ = ["GROUP_BYTES", "GROUP_MOST", "Job", "Service"]

log = logging.getLogger(__name__)
Refusal = TypeVar("Refusal", bound=SocialCreditError)
# A group commit takes at most this many waiting batches, and no more once their bodies hold GROUP_BYTES (the first
# batch is taken whatever its size): small batches share a transaction, large ones gain nothing from it.
GROUP_MOST = 32
GROUP_BYTES = 8 << 20


def _no_run(why: NotFoundError, field: str | None = None) -> NotFoundError:
    """A decision under a policy scored only by what-ifs or reruns, refused saying why (``no_run_in_force``, kept
    when the snapshots are loaded): a fresh error each time, in both languages."""
    return NotFoundError(str(why), code="no_run", field=field, zh=why.zh)


def _no_run_yet() -> NotFoundError:
    return NotFoundError(
        "no score run yet: an operator starts one with POST /v1/jobs", zh="还没有评分：操作员以 POST /v1/jobs 开始评分"
    )


@dataclass
class Job:
    """A score run started over HTTP, followed with GET /v1/jobs/{job_id}."""

    job_id: int
    policy: str
    as_of: dt.date
    incremental: bool
    requested_by: str
    from_records: bool = False  # read the records, not the scoring state
    status: str = "queued"  # queued | running | finished | failed
    stage: str | None = None
    done: int = 0
    total: int = 0
    run_id: int | None = None
    error: str | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    summary: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in self.__dict__.items()}


@dataclass
class _Waiting:
    """A batch waiting for the writer (``Service.ingest``); its outcome is set once its group has committed."""

    request: BatchRequest
    size: int
    outcome: BatchOutcome | None = None


class Service:
    """The state of a running service."""

    def __init__(self, store: Store, *, flush_interval: float = 0.2, throttle: Throttle | None = None) -> None:
        self.store = store
        settings = get_settings()
        # The limits of every client (docs/api.md, "Limits on requests"); the floods they refuse are audited as
        # summaries.
        self.throttle = throttle or Throttle(service_limits(settings), max_clients=settings.throttle_clients)
        # the outbox's page (/outbox) is shown when SOCIALCREDIT_OUTBOX_PAGE is on, or when the process that serves
        # says so (the demonstration, for its own service only: it sets no variable other services would read)
        self.outbox_page = False
        self.lock = threading.RLock()
        self.requests: Counter[tuple[str, int]] = Counter()
        self.decisions: Counter[str] = Counter()
        self.seconds: dict[str, float] = {}
        self.journal = journal_of(store)
        self.jobs: dict[int, Job] = {}
        self._job_lock = threading.Lock()
        # one policy impact at a time (two score runs over every subject): a second request is refused, not queued
        self.impact_gate = threading.Lock()
        self.snapshots: dict[str, Snapshot] = {}
        self._unpatchable: set[int] = set()  # runs the live thread cannot patch, logged once (``go_live``)
        # every snapshot made, until closed: its explanations' thread reads the store (``close`` waits for them all,
        # those of snapshots replaced since too)
        self._made: list[Snapshot] = []
        self._made_lock = threading.Lock()
        # why a service (or "<service>@<policy>") has no snapshot, when its policy has runs but none in force
        self.no_run: dict[str, NotFoundError] = {}
        # Subjects linked to an identity in another region: a decision about one may raise an alert (regions/).
        self.linked: frozenset[str] = frozenset()
        self.pending_alerts: list[tuple[str, str, str]] = []
        # joint-punishment memoranda per policy, read on the first refusal by an agency's key (reload_keys forgets)
        self._memoranda: dict[str, list[LoadedMemorandum]] = {}
        # set when a write committed changes, or a snapshot's explanations came in: wakes the live thread
        self._changed = threading.Event()
        # subjects an override relisted in snapshots whose explanations were loading (``relisted``), by snapshot:
        # the live thread rescores them once the explanations are in
        self._relist: dict[int, tuple[Snapshot, set[str]]] = {}
        self._relist_lock = threading.Lock()
        self._going_live = threading.Lock()
        with self.writer() as s:
            self.journal.recover(s)
            with s.transaction():  # a run an earlier version's crash left without its listings: before it is served
                complete_missed(s)
            index_states(s)  # states are indexed for the live passes, which read them by subject (state._index)
            self.keys = KeyRing(s)
            self.refresh_snapshots(s)
        self._stop = threading.Event()
        self.flush_interval = flush_interval
        self._flusher = threading.Thread(target=self._flush_loop, name="inquiry-flusher", daemon=True)
        self._flusher.start()
        # batches waiting for the writer, in arrival order (``ingest``)
        self._waiting: list[_Waiting] = []
        self._waiting_lock = threading.Lock()
        # held while a snapshot is rescored and patched (the live thread, an override): each reads the histogram and
        # watermark the other left, so neither undoes the other's patch
        self._patching = threading.Lock()
        # the live thread's connection, its tables and prepared statements (made at its first pass)
        self._live_passes: LivePasses | None = None
        self._live = threading.Thread(target=self._live_loop, name="live-decisions", daemon=True)
        self._live.start()

    @contextmanager
    def writer(self) -> Iterator[Store]:
        """The store's single writer."""
        with self.lock:
            yield self.store

    def ingest(self, request: BatchRequest) -> BatchOutcome:
        """Ingest a batch sent to the service (group commit): the batches that arrive while the writer is busy
        wait, and the next writer turn takes all of them (up to ``GROUP_MOST``) in one transaction
        (``ingest_group``: each batch all or nothing and answered as if alone, in arrival order). The outcome is
        returned once its group has committed; the live thread then rescores the group's subjects in one pass.
        TooManyRequestsError (429) when ``SOCIALCREDIT_INGEST_QUEUE`` batches are waiting already."""
        try:
            size = request.path.stat().st_size
        except OSError:
            size = 0
        waiting = _Waiting(request, size)
        with self._waiting_lock:
            most = get_settings().ingest_queue
            if len(self._waiting) >= most:
                raise TooManyRequestsError(
                    f"the queue of batches waiting to be committed is full (SOCIALCREDIT_INGEST_QUEUE = {most}); "
                    "send the batch again in a moment",
                    retry_after=1,
                    limit="ingest_queue",
                )
            self._waiting.append(waiting)
        while waiting.outcome is None:
            with self.writer() as store:
                if waiting.outcome is not None:  # a writer turn before took it
                    break
                group = self._next_group()
                lost = SocialCreditError("the service stopped before the batch was committed; send it again")
                outcomes = [BatchOutcome(error=lost) for _ in group]
                try:
                    outcomes = ingest_group(store, [w.request for w in group])
                except Exception as exc:  # pragma: no cover - ingest_group answers every batch's failure itself
                    outcomes = [BatchOutcome(error=exc) for _ in group]
                finally:  # every batch taken is answered, or its sender would wait for ever
                    for w, outcome in zip(group, outcomes, strict=True):
                        w.outcome = outcome
            if any(o.report is not None and o.report.accepted for o in outcomes):
                self.changed()  # decisions see the group once the live thread has rescored its subjects
        assert waiting.outcome is not None
        return waiting.outcome

    def _next_group(self) -> list[_Waiting]:
        """The waiting batches the next writer turn takes: the oldest first, at most ``GROUP_MOST`` of them and no
        more once their bodies reach ``GROUP_BYTES``."""
        with self._waiting_lock:
            n, size = 0, 0
            for w in self._waiting[:GROUP_MOST]:
                if n and size + w.size > GROUP_BYTES:
                    break
                n, size = n + 1, size + w.size
            group, self._waiting = self._waiting[:n], self._waiting[n:]
        return group

    def live_views(self, subject_id: str) -> dict[int, LiveView]:
        """The subject as rescored since each snapshot's run (by run id), for its file."""
        views = {}
        for snap in {id(s): s for s in self.snapshots.values()}.values():
            view = snap.live_view(subject_id)
            if view is not None:
                views[snap.run_id] = view
        return views

    def watermarks(self, subject_id: str) -> dict[int, int]:
        """By run id, the change number decisions on each snapshot stand on for ``subject_id``: that of the live
        pass that rescored the subject since the run, else the snapshot's (as ``served`` names it)."""
        out = {}
        for snap in {id(s): s for s in self.snapshots.values()}.values():
            view = snap.live_view(subject_id)
            out[snap.run_id] = snap.watermark if view is None else view.watermark
        return out

    def file_of(self, store: Store, subject_id: str, *, lang: str, actor: str) -> dict[str, Any]:
        """The resident's file (``export_file``, audited) as decisions now stand on the subject: his rescored views
        and the change number each snapshot's decisions stand on. Every face's file (the API's JSON and page, the
        resident's download and printable page) comes from here."""
        live = self.live_views(subject_id)
        file = export_file(store, subject_id, lang=lang, actor=actor, live=live, watermarks=self.watermarks(subject_id))
        # its listings as decisions now stand: one whose cause they no longer find is marked (``held_now``)
        held_now(store, file["notices"], live, lang)
        return file

    def held_listings(self, store: Store, listings: list[dict[str, Any]]) -> set[int]:
        """The ids of ``listings`` (rows of ``listings``) in effect in the register that decisions no longer apply
        (:meth:`mark_held`). The public look-up leaves them out."""
        return held_ids(store, listings, self.live_views)

    def mark_held(
        self, store: Store, listings: list[dict[str, Any]], lang: str, *, why: bool = True
    ) -> list[dict[str, Any]]:
        """Mark ``listings`` (rows of ``list_listings``) in effect in the register that decisions no longer apply:
        their subject as rescored since its policy's run in force meets the listing's criterion no more
        (``held_now``, as the resident's and the operator's pages mark them: ``held`` and, with ``why``, ``held_why`` in
        ``lang``). Returns ``listings``."""
        # each subject's views from memory; the runs in force read once, the causes with one query per table
        return held_now(store, listings, self.live_views, lang, why=why)

    def go_live(self) -> int:
        """Patch into every snapshot the subjects changed since its watermark; returns how many were patched.

        The service's live thread calls it (``_live_loop``): at once when a write says it changed something
        (:meth:`changed`), and otherwise every ``flush_interval`` for changes made by other paths (disputes,
        repairs, consents). Every change committed since the last call goes live in one rescoring: a trickle of
        small batches is rescored together. The writer is taken only to fold into the scoring states what is not
        folded yet (ingest folds its batch itself); the rescoring reads the store on a connection of its own, in one
        transaction, so writes never wait for it. That connection is kept from one call to the next, with the
        tables of the passes and their stages prepared (``LivePasses``). A failure here never fails a write:
        decisions then wait for the next call, or the next run.
        """
        with self._going_live:  # one call at a time: the live thread's and a caller's share the passes
            return self._go_live()

    def _go_live(self) -> int:
        patched = 0
        if self._live_passes is None:
            self._live_passes = LivePasses(self.store.reader())
        passes = self._live_passes
        # The tables of every snapshot's passes kept at once: with fewer, passes in turn would drop the ones needed
        # next and make and prepare them all again at each call.
        passes.keep = max(LivePasses.KEPT, len({id(s) for s in self.snapshots.values()}))
        reader = passes.store
        # Read off the writer's path: a batch being ingested is not waited for unless something is left to fold.
        seq = int(reader.one("SELECT value FROM counters WHERE name = 'seq'"))
        stale = [s for s in {id(s): s for s in self.snapshots.values()}.values() if s.watermark < seq]
        relists = self._relists_due()
        if not stale and not relists:
            return 0
        if stale and any(s.watermark < seq for s in list_states(reader)):  # ingest folds its batch; others do not
            with self.writer() as store:
                try:
                    catch_up(store)
                except Exception:
                    log.exception("could not fold the latest changes into the scoring states; decisions wait")
                    self._hold_again(relists)  # an override's subjects wait for the next call, not dropped
                    return 0
        for snap in stale:
            if not snap.patchable:  # its explanations failed under a policy judging on rank or percentile
                if snap.run_id not in self._unpatchable:
                    self._unpatchable.add(snap.run_id)
                    log.error(
                        "run %s cannot be patched live: its explanations failed to load (%s) and its policy judges "
                        "on rank or percentile; decisions are the run's until the next run",
                        snap.run_id,
                        snap.explain_error,
                    )
                continue
            # Under a policy judging on rank or percentile, a snapshot whose explanations are still loading is patched
            # once they are in (a patch meanwhile would be queued, and the next call would rescore the same changes
            # again): skipped, not waited for, so that the others are patched at once; its loader wakes this thread
            # when they are in (``_made_now``). Decisions meanwhile are the run's. Under any other policy, a patch
            # needs nothing they hold: at once.
            if snap.patches_wait:
                continue
            with self._patching:
                try:
                    passes.ready(snap.loaded, snap.as_of, snap.histogram)  # outside the pass's transaction
                    with passes.reading():  # one view of the state, the subjects and the listings
                        info = state_info(reader, snap.loaded)
                        if info is None or info.watermark <= snap.watermark:
                            continue
                        changed = changes(reader, snap.watermark, info.watermark)
                        subjects = changed.subjects
                        if not subjects:  # nothing a subject's score reads: the snapshot only moves its watermark
                            snap.patch({}, info.watermark, snap.histogram)
                            continue
                        old = snap.old_scores(subjects)
                        out = rescore(
                            reader,
                            snap.loaded,
                            snap.as_of,
                            subjects,
                            snap.histogram,
                            old,
                            fold=False,
                            keys=changed.keys,
                            passes=passes,
                        )
                    if out is not None:
                        watermark, rows, histogram = out
                        patched += snap.patch(rows, watermark, histogram)
                except Exception:
                    log.exception("could not patch run %s live; decisions wait for the next run", snap.run_id)
                    continue
        for snap, held in relists:
            patched += self._relist_live(snap, held, passes)
        return patched

    def _relists_due(self) -> list[tuple[Snapshot, list[str]]]:
        """The subjects overrides relisted while their snapshots' explanations loaded, taken for the snapshots whose
        explanations are in now (those still loading keep theirs; those no longer held are dropped: their runs were
        replaced, and the run in force was scored after the override)."""
        current = {id(s) for s in self.snapshots.values()}
        due = []
        with self._relist_lock:
            for key, (snap, held) in list(self._relist.items()):
                if key not in current:
                    del self._relist[key]
                elif not snap.patches_wait:
                    del self._relist[key]
                    due.append((snap, sorted(held)))
        return due

    def _hold_again(self, relists: list[tuple[Snapshot, list[str]]]) -> None:
        """Hold subjects for the live thread to rescore in their snapshots once their explanations are in: an
        override's, or those ``_relists_due`` took for a call that could not rescore them (its fold failed)."""
        with self._relist_lock:
            for snap, held in relists:
                _, kept = self._relist.setdefault(id(snap), (snap, set()))
                kept.update(held)

    def _relist_live(self, snap: Snapshot, held: list[str], passes: LivePasses) -> int:
        """Rescore in ``snap`` (its explanations in) the subjects overrides relisted while they loaded, on the live
        thread's connection; returns how many were patched."""
        if not snap.patchable:
            log.error(
                "run %s cannot be patched after an override of %s: its explanations failed to load and its policy "
                "judges on rank or percentile; decisions follow the override at the next run",
                snap.run_id,
                held,
            )
            return 0
        with self._patching:  # the histogram and watermark as the last patch left them
            try:
                passes.ready(snap.loaded, snap.as_of, snap.histogram)
                with passes.reading():
                    old = snap.old_scores(held)
                    out = rescore(
                        passes.store, snap.loaded, snap.as_of, held, snap.histogram, old, fold=False, passes=passes
                    )
                if out is None:
                    return 0
                _, rows, histogram = out
                # at the snapshot's watermark still: changes since then are patched by the stale snapshots' passes
                return snap.patch(rows, snap.watermark, histogram)
            except Exception:
                log.exception("could not rescore %s in run %s after an override", held, snap.run_id)
                return 0

    def refresh_snapshots(self, store: Store) -> None:
        """Hold the run in force of each service in memory (call with the writer): of each policy, the run
        decisions, listings and pages stand on (``registry/scoring/runs.py: run_in_force``), not the run made last
        (a what-if, a rerun, a past-dated run or one behind made by a job is not in force)."""

        runs = store.rows(f"SELECT * FROM ({in_force_sql()}) ORDER BY run_id DESC")
        services: set[str] = set()
        for run in runs:
            services |= {s.id for s in get_policy(store, run["policy_id"], run["policy_version"]).policy.services}
        by_run: dict[int, Snapshot] = {s.run_id: s for s in self.snapshots.values()}
        held = set(by_run)
        fresh: dict[str, Snapshot] = {}
        for service_id in sorted(services):
            run = run_for_service(store, service_id, None)
            rid = int(run["run_id"])
            if rid not in by_run:
                by_run[rid] = self._made_now(
                    Snapshot(store, run, explain=True, sink=self.journal.record, background=True)
                )
            fresh[service_id] = by_run[rid]
        # Each policy's run in force, for the parties bound to it and the decisions that name it: held as
        # "<service>@<policy>" (a service id has no "@"), so the live thread patches them like the others.
        offering: dict[str, list[str]] = {}
        seen: set[str] = set()
        for run in runs:
            pid = str(run["policy_id"])
            if pid in seen:
                continue
            seen.add(pid)
            for svc in get_policy(store, run["policy_id"], run["policy_version"]).policy.services:
                offering.setdefault(svc.id, []).append(pid)
                rid = int(run["run_id"])
                if rid not in by_run:
                    by_run[rid] = self._made_now(
                        Snapshot(store, run, explain=True, sink=self.journal.record, background=True)
                    )
                fresh[f"{svc.id}@{pid}"] = by_run[rid]
        # Policies scored only by what-ifs or reruns: a decision one of them would answer is refused saying so.
        no_run: dict[str, NotFoundError] = {}
        for run in store.rows(
            "SELECT * FROM score_runs WHERE finished_at IS NOT NULL "
            "QUALIFY row_number() OVER (PARTITION BY policy_id ORDER BY run_id DESC) = 1 ORDER BY run_id DESC"
        ):
            pid = str(run["policy_id"])
            if pid not in seen:
                why = no_run_in_force(store, pid)
                for svc in get_policy(store, run["policy_id"], run["policy_version"]).policy.services:
                    no_run.setdefault(svc.id, why)
                    no_run[f"{svc.id}@{pid}"] = why
        self.no_run = no_run
        self.offering = {k: sorted(v) for k, v in offering.items()}
        self.snapshots = fresh  # one assignment: a request sees the old map or the new one
        with self._made_lock:  # replaced ones whose explanations are in hold no connection: no longer tracked
            current = {id(s) for s in fresh.values()}
            self._made = [s for s in self._made if id(s) in current or not s.wait_explained(0) or s.results is None]
        for snap in {s.run_id: s for s in fresh.values() if s.run_id not in held}.values():
            # the statements of a live pass compiled now, not by the first record committed after a start or a run
            try:
                warm(store, snap.loaded, snap.as_of, snap.histogram)
            except Exception:  # a pass compiles them later; decisions are served meanwhile
                log.exception("could not prepare the live passes of run %s", snap.run_id)
        # Decisions from memory are many: only those about subjects a plugin watches (regions: subjects linked to
        # another region's identities) are reported to the decision_made hook (docs/hooks.md).
        self.linked = frozenset(s for part in plugin_manager().hook.watched_subjects(store=store) for s in part)

    def relisted(self, store: Store, subject_ids: list[str]) -> int:
        """A listing of these subjects ended outside a run (an operator's override): every snapshot rescores them on
        its policy's state as it stands, so the next decision sees the lists in effect now (call with the writer).
        Their records did not change, so the live thread would not rescore them; returns how many were patched.
        A policy that keeps no state waits for its next run, as live decisions do. The override stands whatever
        happens here: a failure is logged, and decisions then follow it at the next run.

        Under a policy judging on rank or percentile, a snapshot whose explanations are still loading is not waited
        for (the writer is held: every write would wait for the load): its subjects are left to the live thread,
        which rescores them once the explanations are in (``_relists_due``); decisions under it follow the override
        then, and are the run's meanwhile. They are not counted in the number returned."""
        patched = 0
        for snap in {id(s): s for s in self.snapshots.values()}.values():
            held = [s for s in subject_ids if snap.row_of(s) is not None]
            if not held:
                continue
            if snap.patches_wait:  # its policy judges on rank or percentile: rescored on its rows once they are in
                self._hold_again([(snap, held)])
                if not snap.patches_wait:  # they came in meanwhile: the loader's wake-up may have come before
                    self.changed()
                continue
            if not snap.patchable:
                log.error(
                    "run %s cannot be patched after an override of %s: its explanations failed to load and its "
                    "policy judges on rank or percentile; decisions follow the override at the next run",
                    snap.run_id,
                    held,
                )
                continue
            with self._patching:  # the histogram and watermark as the live thread last left them
                try:
                    old = snap.old_scores(held)
                    out = rescore(store, snap.loaded, snap.as_of, held, snap.histogram, old, fold=False)
                    if out is not None:
                        _, rows, histogram = out
                        # at the snapshot's watermark still: changes since then are the live thread's to patch
                        patched += snap.patch(rows, snap.watermark, histogram)
                except Exception:
                    log.exception("could not rescore %s in run %s after an override", held, snap.run_id)
                    continue
        return patched

    def refresh_guards(self, store: Store) -> None:
        """A freeze or fraud alert changed: every snapshot reads them again, so the next decision sees it."""
        for snap in {id(s): s for s in self.snapshots.values()}.values():
            snap.refresh_guards(store)

    def decided(self, subject_ids: list[str], service_id: str, requester: str) -> None:
        """Note decisions about watched subjects (linked to another region): the flusher reports them to plugins."""
        if self.linked:
            self.pending_alerts.extend((s, service_id, requester) for s in subject_ids if s in self.linked)

    def snapshot(self, service_id: str) -> Snapshot:
        snap = self.snapshots.get(service_id)
        if snap is None:
            if service_id in self.no_run:
                raise _no_run(self.no_run[service_id])
            if not self.snapshots:
                raise _no_run_yet()
            raise NotFoundError(
                f"no scored policy offers the service {service_id!r}", zh=f"没有已评分的政策提供服务 {service_id!r}"
            )
        return snap

    def snapshot_for(self, service_id: str, policy_id: str | None) -> Snapshot:
        """The snapshot that decides ``service_id`` under ``policy_id`` (its run in force); without a policy, that of
        the one policy in use that defines the service (DecisionError ``ambiguous_service`` if two or more do)."""
        if policy_id is None:
            offering = self.offering.get(service_id, [])
            if len(offering) > 1:
                raise ambiguous_service(service_id, offering)
            return self.snapshot(service_id)
        snap = self.snapshots.get(f"{service_id}@{policy_id}")
        if snap is None:
            if f"{service_id}@{policy_id}" in self.no_run:
                raise _no_run(self.no_run[f"{service_id}@{policy_id}"], field="policy")
            if not self.snapshots:
                raise _no_run_yet()
            raise not_offered_under(policy_id, service_id)
        return snap

    def served(self, subject_id: str, service_id: str, policy_id: str | None) -> Served | None:
        """What relying parties are answered about ``subject_id`` on ``service_id`` at this moment: the run of the
        snapshot that decides it, its watermark and the subject as rescored since (``decide(served=...)``); None when
        no snapshot decides it (no run in force, an unknown service, a policy to name): the decision is then made,
        or refused, on the run in force as the command line makes it."""
        try:
            snap = self.snapshot_for(service_id, policy_id)
        except SocialCreditError:
            return None
        watermark = snap.watermark
        # every subject the snapshot holds as decisions see it, not only those rescored since: a listing overridden
        # or ended that the snapshot was not patched for (a policy without state waits for its next run) is told
        # to the resident as relying parties are answered
        view = snap.served_view(subject_id)
        return Served(snap.run_id, watermark if view is None else view.watermark, view)

    def reload_keys(self, store: Store) -> None:
        self.keys.reload(store)
        self._memoranda = {}  # issuing an agency's key may have published the shipped memoranda

    def applied_measure(
        self, policy_id: str, lists: list[str], service_id: str, agency: str | None
    ) -> AppliedMeasure | None:
        """The memorandum's measure under which ``agency`` refuses ``service_id`` to a subject on ``lists``, or None;
        takes the writer once per policy to read them."""
        if agency is None or not lists:
            return None
        memos = self._memoranda.get(policy_id)
        if memos is None:
            with self.writer() as store:
                memos = memoranda_for(store, policy_id)
            self._memoranda[policy_id] = memos
        return applied_measure(memos, lists, service_id, agency)

    def refuse(self, party: Party | None, refusal: Refusal, path: str) -> Refusal:
        """An access refusal (an AuthError or a ForbiddenError), audited with the path and its code; returned for
        the caller to raise."""
        detail = {"path": path, "code": refusal.code, "role": party.role if party else None}
        if party is None:
            self.audit_refusal("anonymous", "access_refused", detail)
            return refusal
        with self.writer() as store, store.transaction():
            append_audit(store, f"key:{party.key_id}", "access_refused", None, detail)
        return refusal

    def audit_refusal(self, actor: str, action: str, detail: dict[str, Any]) -> bool:
        """Audit a refusal of a caller who is not known (a 401, a failed sign-in, a form refused before sign-in), one
        row each up to the limit ``audit`` of all of them together; beyond it the refusal is counted and summarised
        when the window closes (addresses are many: each one's own limits do not bound the rows). Returns whether a
        row was written."""
        if self.throttle.take("audit", "all"):
            return False
        with self.writer() as store, store.transaction():
            append_audit(store, actor, action, None, detail)
        return True

    def audit_floods(self, *, every: bool = False) -> int:
        """One audit row per client whose refused requests' window has closed (``every``: all, at shutdown), instead
        of a row per refused request; returns how many were written."""
        floods = self.throttle.closed_floods(every=every)
        if not floods:
            return 0
        with self.writer() as store, store.transaction():
            for flood in floods:
                anyone = flood.client == OTHERS or flood.limit.per == "all"
                who = "anonymous" if anyone else f"{flood.limit.per}:{flood.client}"
                detail = {
                    "limit": flood.limit.name,
                    "rule": flood.limit.rule(),
                    "refused": flood.refused,
                    "from": flood.first.isoformat(),
                    "to": flood.last.isoformat(),
                    "summary": flood.summary(),
                }
                append_audit(store, who, "requests_throttled", None, detail)
        return len(floods)

    # --- the inquiry journal -------------------------------------------------------------------------------------

    def changed(self) -> None:
        """Say that a write committed changes: the live thread patches them into the snapshots at once."""
        self._changed.set()

    def _live_loop(self) -> None:
        while not self._stop.is_set():
            self._changed.wait(self.flush_interval)
            self._changed.clear()
            if self._stop.is_set():
                return
            try:
                self.go_live()
            except Exception:  # pragma: no cover - go_live logs its own failures
                log.exception("live patch failed")

    def _flush_loop(self) -> None:
        while not self._stop.wait(self.flush_interval):
            if self.throttle.due():
                try:
                    self.audit_floods()
                except Exception:  # pragma: no cover - the floods were taken; logged for the operator
                    log.exception("writing the summaries of refused requests into the audit log failed")
            if (self.journal.pending or self.pending_alerts) and self.lock.acquire(timeout=self.flush_interval):
                try:
                    if self.journal.pending or self.pending_alerts:
                        self.journal.flush(self.store)
                        self._raise_alerts()
                except Exception:  # pragma: no cover - kept in the journal; retried at the next tick
                    log.exception("moving inquiries from the journal into the store failed; will retry")
                finally:
                    self.lock.release()

    def flush_inquiries(self) -> int:
        with self.writer() as store:
            moved = self.journal.flush(store)
            self._raise_alerts()
            return moved

    def flush_for_reading(self) -> None:
        """Before a page shows who asked: the journal's inquiries into the store, when it holds any. A failure is
        logged and the page shows what the store has (the flusher retries), as it did before pages flushed."""
        if not self.journal.pending:
            return
        try:
            self.flush_inquiries()
        except Exception:
            log.exception("the inquiry journal could not be flushed for a page; it shows the store's inquiries")

    def _raise_alerts(self) -> None:
        todo, self.pending_alerts = self.pending_alerts, []
        for subject_id, service_id, requester in todo:
            with self.store.transaction():
                plugin_manager().hook.decision_made(
                    store=self.store, decision=None, subject_id=subject_id, service=service_id, requester=requester
                )

    # --- score runs ----------------------------------------------------------------------------------------------

    def start_job(
        self, policy: str, as_of: dt.date, incremental: bool, requested_by: str, *, from_records: bool = False
    ) -> Job:
        with self._job_lock:
            job = Job(len(self.jobs) + 1, policy, as_of, incremental, requested_by, from_records)
            self.jobs[job.job_id] = job
        threading.Thread(target=self._run_job, args=(job,), name=f"score-job-{job.job_id}", daemon=True).start()
        return job

    def _run_job(self, job: Job) -> None:

        def progress(stage: str, done: int, total: int) -> None:
            job.stage, job.done, job.total = stage, done, total

        try:
            with self.writer() as store:
                job.status, job.started_at = "running", dt.datetime.now(dt.UTC).replace(tzinfo=None)
                # a request names a policy, never a file (of the server's)
                loaded = policy_by_ref(store, job.policy, actor=job.requested_by)
                summary = score(
                    store,
                    loaded,
                    job.as_of,
                    incremental=job.incremental,
                    actor=job.requested_by,
                    progress=progress,
                    from_records=job.from_records,
                )
                job.run_id, job.summary = summary.run_id, summary.as_dict()
                # the run is committed: decisions stand on it from now if it is ordinary (its standing, decided as it
                # was made: not a what-if, a rerun, past-dated nor behind), the policy's run in force
                self.refresh_snapshots(store)
                self._index_states(store)
            job.status = "finished"
        except SocialCreditError as exc:
            job.status, job.error = "failed", str(exc)
        except Exception as exc:  # pragma: no cover - reported on the job, logged with its trace for the operator
            job.status, job.error = "failed", f"internal error: {type(exc).__name__}: {exc}"
            log.error("score job %s failed:\n%s", job.job_id, traceback.format_exc())
        finally:
            job.finished_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)

    def _index_states(self, store: Store) -> None:
        """Index a state a score job built (the live passes read states by subject). The run stands whatever
        happens here: an index that could not be built (memory, disk) leaves live passes slower, not wrong, and
        is built again at the next start or job."""
        try:
            index_states(store)
        except Exception:  # logged with its trace for the operator; the job's run is committed
            log.error("the scoring states could not be indexed after a score job:\n%s", traceback.format_exc())

    def explanations(self) -> dict[int, str]:
        """Whether each run held has its explanations in memory, by run id (``Snapshot.explanations``): decisions are
        answered from the plain load at once, and explained from the store until they are."""
        return {s.run_id: s.explanations for s in self.snapshots.values()}

    def _made_now(self, snap: Snapshot) -> Snapshot:
        with self._made_lock:
            self._made.append(snap)
        # the live thread patches a snapshot judging on rank or percentile once its explanations are in: its loader
        # wakes it then (or they came in already)
        snap.on_explained = self.changed
        if snap.wait_explained(0):
            self.changed()
        return snap

    def close(self) -> None:
        with self._made_lock:
            made, self._made = self._made, []
        for snap in {id(s): s for s in [*made, *self.snapshots.values()]}.values():
            # their threads read the store, which closes below: every one's, replaced snapshots' too; then the
            # connection decisions read explanations from (kept after a failed load) is closed
            if snap.wait_explained(60):
                snap.close()
        self._stop.set()
        self._changed.set()
        self._flusher.join(timeout=5)
        self._live.join(timeout=30)
        if self._live_passes is not None and not self._live.is_alive():
            self._live_passes.close()
        self.audit_floods(every=True)
        with self.writer() as store:
            self.journal.close(store)
