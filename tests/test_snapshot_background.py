"""A snapshot that decides after the plain load while its explanations load on a thread of their own.

Every full decision while they load reads what it explains from the store (one query each, or one per batch): it must
be the decision a snapshot holding them in memory gives, word for word. Live patches that arrive meanwhile are applied
once they are in.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import socialcredit.registry.decisions.snapshot as snapshot_module
import socialcredit.registry.service as service_module
from due_world import JUDGMENT, ingest, score_on_its_day, write_csv
from region_helpers import TIANJIN, build_regions, regions_copied
from relation_world import role
from scoring_helpers import Registry, amount_rule, days_before, make_policy, open_registry, org, person, tax
from socialcredit.api.routes.service import healthz, metrics
from socialcredit.example import AS_OF, write_example
from socialcredit.registry.decisions.decide import run_entries
from socialcredit.registry.decisions.live import rescore
from socialcredit.registry.decisions.snapshot import Snapshot
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import run_in_force
from socialcredit.registry.service import Service
from socialcredit.store import Store, open_store
from store_copies import copied
from test_live_positional import LOUNGE, ORG_TOP
from test_region_repairs import NOTICED, _sent_and_scored


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    folder = tmp_path_factory.mktemp("background")
    files = write_example(folder, residents=120)
    st = open_store(folder / "s.duckdb", create=True, key="")
    ingest_file(st, files.subjects, "civil_affairs", today=AS_OF)
    for source, path in files.sources.items():
        ingest_file(st, path, source, today=AS_OF)
    # blacklistings in their notice period and effective ones: score before and after the grace period, a clean
    # resident's judgment (defaulter) between the two: the second run lists him, and decisions do not yet
    score_on_its_day(st, resolve_policy(st, "beijing"), AS_OF - dt.timedelta(days=61))
    clean = st.one(
        "SELECT min(subject_id) FROM subjects WHERE kind = 'person' AND subject_id NOT IN (SELECT subject_id FROM "
        "listings)"
    )
    judgment = [["LATE1", clean, "court_judgment", str(AS_OF - dt.timedelta(days=30)), "civil", "12000"]]
    ingest(st, write_csv(folder / "late.csv", JUDGMENT, [[*judgment[0], "unfulfilled", "true"]]), "courts", AS_OF)
    score_on_its_day(st, resolve_policy(st, "beijing"), AS_OF)
    yield st
    st.close()


@contextmanager
def held_back(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Explanations that do not load until the event is set: every decision meanwhile reads the store. The waits
    are bounds against a hang, not timings: the decisions read from the store take minutes on a loaded machine."""
    gate = threading.Event()
    real = snapshot_module._explanation_table

    def waiting(store: Store, stored: Any, n: int) -> Any:
        assert gate.wait(900), "the test never let the explanations load"
        return real(store, stored, n)

    monkeypatch.setattr(snapshot_module, "_explanation_table", waiting)
    try:
        yield gate
    finally:
        gate.set()


def _every_decision(snap: Snapshot, lang: str) -> list[dict[str, Any]]:
    out = []
    for service in [s.id for s in snap.policy.services]:
        for sid in snap.subject_ids:
            d = snap.decision(sid, service, "check", requester="test", lang=lang).as_dict()
            d.pop("inquiry_id")
            out.append(d)
        # a batch: its subjects read from the store at once while the explanations load
        rows = snap.rows_of(list(snap.subject_ids))
        for d in snap.decisions_at(rows, list(snap.subject_ids), service, "check", lang, requester="test"):
            as_dict = d.as_dict()
            as_dict.pop("inquiry_id")
            out.append(as_dict)
    return out


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_decision_while_explanations_load_is_the_one_a_loaded_snapshot_gives(
    store: Store, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    run = run_in_force(store, "beijing")
    loaded = Snapshot(store, run, explain=True)
    expected = _every_decision(loaded, lang)
    refusals = [d for d in expected if not d["granted"]]
    # the world has refusals with rule reasons and list entries, for the comparison to mean something
    assert refusals and any(d["lists"] for d in refusals) and any(len(d["reasons"]) > 2 for d in refusals)
    # and a blacklisting in its notice period (listed by the run, not by decisions) beside effective ones
    rows = [loaded.row_of(sid) for sid in loaded.subject_ids]
    noticed = [i for i in rows if i is not None and loaded.effective_lists(i) is not None]
    assert noticed and all("blacklist" not in (loaded.effective_lists(i) or []) for i in noticed)
    assert any(loaded.results is not None and "blacklist" in loaded.results.column("lists")[i].as_py() for i in noticed)
    assert any("blacklist" in d["lists"] for d in refusals)
    with held_back(monkeypatch) as gate:
        snap = Snapshot(store, run, explain=True, background=True)
        assert snap.results is None and snap.explanations == "loading"
        assert _every_decision(snap, lang) == expected
        assert snap.results is None  # every one of them was read from the store
        # the quick decisions need no explanations
        ids = list(snap.subject_ids)
        assert snap.decide_many(ids, "high_speed_rail", "c", requester="t").tolist() == (
            loaded.decide_many(ids, "high_speed_rail", "c", requester="t").tolist()
        )
        gate.set()
        assert snap.wait_explained(600)
    assert snap.explanations == "loaded" and snap.results is not None
    assert _every_decision(snap, lang) == expected


def test_every_subjects_row_held_in_memory_is_the_one_the_store_holds(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The explained snapshot does not read again what it holds or knows (the identifiers, kinds, the run's id, the
    tier of each tier rank) and holds the list entries as arrays by subject: every subject's row, every rule reason
    and every list entry with its note are still the ones a decision reads from the store while they load."""
    run = run_in_force(store, "beijing")
    loaded = Snapshot(store, run, explain=True)
    assert loaded.results is not None
    assert not {"subject_id", "kind", "run_id", "tier"} & set(loaded.results.column_names)
    with held_back(monkeypatch):
        snap = Snapshot(store, run, explain=True, background=True)
        rows = list(range(len(snap)))
        stored = snap._stored_rows(rows)
        assert snap.results is None
    assert stored is not None and sorted(stored) == rows
    held = {i: loaded._row_at(i, loaded.subject_ids[i]) for i in rows}
    assert held == stored
    # and the comparison means something: rows of several tiers, subjects with entries and with several reasons
    assert len({result["tier"] for result, _, _ in held.values()}) > 2
    assert {result["run_id"] for result, _, _ in held.values()} == {run["run_id"]}
    assert any(entries for _, _, entries in held.values()) and any(len(r) > 3 for _, r, _ in held.values())
    # the entries by subject are the run's, as run_entries gives them, subject by subject
    expected = run_entries(store, int(run["run_id"]), loaded.loaded)
    assert dict(loaded.entries) == expected and len(loaded.entries) == len(expected)
    unlisted = next(sid for sid in loaded.subject_ids if sid not in expected)
    assert unlisted not in loaded.entries and loaded.entries.get(unlisted) is None
    assert loaded.entries.get(unlisted + "0", []) == [] and "\0" not in loaded.entries
    with pytest.raises(KeyError):
        loaded.entries[unlisted]


def test_the_entries_count_and_name_their_subjects_without_sorting_them_again_at_each_call(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A snapshot's list entries (a mapping by subject) answer ``len``, iteration and truth from the subjects worked
    out once (held sorted, each once): asking again, or asking whether there are any, sorts nothing."""
    run = run_in_force(store, "beijing")
    loaded = Snapshot(store, run, explain=True)
    expected = run_entries(store, int(run["run_id"]), loaded.loaded)
    assert len(expected) > 2
    sorts: list[str] = []
    for name in ("unique", "sort", "argsort"):
        real = getattr(np, name)

        def spied(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            sorts.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(np, name, spied)
    assert bool(loaded.entries)
    for _ in range(3):
        assert len(loaded.entries) == len(expected)
        assert list(loaded.entries) == sorted(expected)
    assert sorts == []


@pytest.mark.slow  # two regions built and linked: about 10 s
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_entries_by_a_record_another_region_shared_keep_their_notes_in_a_loaded_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    """Tianjin lists movers by judgments Beijing shared (test_region_repairs' world): each such entry carries a note
    saying where the record was kept. The explained snapshot holds the entries as arrays with the notes beside them by
    row: every subject's entries with their notes are the run's (``run_entries``), and every full decision is the one
    read from the store while the explanations load (entries read per subject), its reasons worded with the notes."""
    world = regions_copied(
        tmp_path, "regions-sent-and-scored", lambda where: _sent_and_scored(build_regions(where, as_of=NOTICED))
    )
    try:
        tianjin = world.stores[TIANJIN]
        run = run_in_force(tianjin, world.policy(TIANJIN))
        loaded = Snapshot(tianjin, run, explain=True)
        expected = run_entries(tianjin, int(run["run_id"]), loaded.loaded)
        noted = {sid: e for sid, entries in expected.items() for e in entries if e[2] is not None}
        # the world has entries with notes and entries without, for the comparison to mean something
        assert noted and any(e[2] is None for entries in expected.values() for e in entries)
        assert dict(loaded.entries) == expected
        assert {sid: loaded.entries[sid] for sid in noted} == {sid: expected[sid] for sid in noted}
        decisions = _every_decision(loaded, lang)
        # a refusal of each noted subject says where the record that listed him was kept, in the decision's language
        words = {sid: e[2][0] if lang == "en" else e[2][1] for sid, e in noted.items() if e[2] is not None}
        for sid, note in words.items():
            assert any(
                not d["granted"] and any(r["text"].endswith(note) for r in d["reasons"])
                for d in decisions
                if d["subject_id"] == sid
            ), sid
        with held_back(monkeypatch):
            snap = Snapshot(tianjin, run, explain=True, background=True)
            assert _every_decision(snap, lang) == decisions
            assert snap.results is None
    finally:
        world.close()


def test_a_batch_read_from_the_store_lets_go_of_the_connection_between_chunks(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch while explanations load reads its subjects STORED_CHUNK at a time, the connection's lock let go
    between chunks (other decisions are answered meanwhile): the same decisions as a loaded snapshot's."""
    run = run_in_force(store, "beijing")
    loaded = Snapshot(store, run, explain=True)
    ids = list(loaded.subject_ids)
    expected = [
        d.as_dict() for d in loaded.decisions_at(loaded.rows_of(ids), ids, "high_speed_rail", "c", "zh", requester="t")
    ]
    monkeypatch.setattr(snapshot_module, "STORED_CHUNK", 7)
    chunks: list[tuple[int, bool]] = []
    real = Snapshot._stored_chunk

    def spied(self: Snapshot, chunk: list[str]) -> Any:
        chunks.append((len(chunk), self._on_demand_lock.locked()))
        return real(self, chunk)

    monkeypatch.setattr(Snapshot, "_stored_chunk", spied)
    with held_back(monkeypatch):
        snap = Snapshot(store, run, explain=True, background=True)
        got = [
            d.as_dict() for d in snap.decisions_at(snap.rows_of(ids), ids, "high_speed_rail", "c", "zh", requester="t")
        ]
        assert snap.results is None
    for d in [*expected, *got]:
        d.pop("inquiry_id")
    assert got == expected
    assert chunks == [(7, False)] * (len(ids) // 7) + ([(len(ids) % 7, False)] if len(ids) % 7 else [])


def test_a_failed_load_of_explanations_leaves_decisions_reading_the_store(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = run_in_force(store, "beijing")
    expected = _every_decision(Snapshot(store, run, explain=True), "en")

    def broken(_store: Store, _stored: Any, _n: int) -> Any:
        raise MemoryError("no room for the explanations")

    monkeypatch.setattr(snapshot_module, "_explanation_table", broken)
    snap = Snapshot(store, run, explain=True, background=True)
    assert snap.wait_explained(600)
    assert snap.explanations == "failed" and isinstance(snap.explain_error, MemoryError)
    assert _every_decision(snap, "en") == expected


def test_inside_a_transaction_the_explanations_load_at_once(store: Store) -> None:
    run = run_in_force(store, "beijing")
    with store.transaction():
        snap = Snapshot(store, run, explain=True, background=True)
        assert snap.explanations == "loaded" and snap.results is not None


def test_live_patches_arriving_while_explanations_load_are_applied_once_they_are_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The world of test_live_positional's firm met on percentile: two rival firms gain points live and the firm's
    director, whom no pass rescores, leaves `officers`. The pass arrives while the explanations load: decisions stay
    those of the run until they are in, then are those of a loaded snapshot patched alike."""
    reg, (rival, third) = _positional_registry(tmp_path)  # the firm's world, as _positional_world builds it
    try:
        director = person(11)
        run = run_in_force(reg.store, "test")
        before = Snapshot(reg.store, run, explain=True)
        patched = Snapshot(reg.store, run, explain=True)
        reg.send(
            "tax_bureau",
            [tax(f"U{i}{j}", f, "2025-07-01", amount=10) for i, f in enumerate((rival, third)) for j in range(2)],
        )
        moved = [rival, third]
        out = rescore(reg.store, patched.loaded, patched.as_of, moved, patched.histogram, patched.old_scores(moved))
        assert out is not None
        watermark, rows, histogram = out
        assert patched.patch(rows, watermark, histogram) == 2

        def every(snap: Snapshot) -> list[Any]:
            out = []
            for sid in snap.subject_ids:
                d = snap.decision(sid, "lounge", "a lounge", requester="tests").as_dict()
                d.pop("inquiry_id")
                q = snap.decide(sid, "lounge", "a lounge", requester="tests")
                out.append((d, q, snap.live_view(sid)))
            return out

        assert every(before) != every(patched)  # the pass changes decisions: the director leaves `officers`
        assert patched.decision(director, "lounge", "a lounge", requester="tests").lists == []
        with held_back(monkeypatch) as gate:
            snap = Snapshot(reg.store, run, explain=True, background=True)
            assert snap.patch(rows, watermark, histogram) == 2  # queued
            assert snap.explanations == "loading" and snap.watermark == before.watermark
            assert every(snap) == every(before)
            gate.set()
            assert snap.wait_explained(600)
        assert snap.explanations == "loaded" and snap.watermark == watermark
        assert every(snap) == every(patched)
        assert snap.decision(director, "lounge", "a lounge", requester="tests").granted is False
    finally:
        reg.store.close()


def test_the_service_answers_while_explanations_load_and_its_health_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = write_example(tmp_path, residents=30)
    st = open_store(tmp_path / "svc.duckdb", create=True, key="")
    try:
        ingest_file(st, files.subjects, "civil_affairs", today=AS_OF)
        for source, path in files.sources.items():
            ingest_file(st, path, source, today=AS_OF)
        score_on_its_day(st, resolve_policy(st, "beijing"), AS_OF)
        run = run_in_force(st, "beijing")
        loaded = Snapshot(st, run, explain=True)
        sid = loaded.subject_ids[0]
        expected = loaded.decision(sid, "high_speed_rail", "check", requester="test").as_dict()
        expected.pop("inquiry_id")
        with held_back(monkeypatch) as gate:
            service = Service(st, flush_interval=3600)
            try:
                snap = service.snapshot("high_speed_rail")
                answered = snap.decision(sid, "high_speed_rail", "check", requester="test").as_dict()
                answered.pop("inquiry_id")
                assert answered == expected and snap.results is None
                rid = str(snap.run_id)
                assert healthz(service).explanations == {rid: "loading"}
                assert f'socialcredit_explanations_loaded{{run="{rid}"}} 0' in metrics(service)
                gate.set()
                assert snap.wait_explained(600)
                assert healthz(service).explanations == {rid: "loaded"}
                assert f'socialcredit_explanations_loaded{{run="{rid}"}} 1' in metrics(service)
            finally:
                gate.set()
                service.close()
    finally:
        st.close()


def _positional_world(reg: Any) -> tuple[dict[str, Any], list[str]]:
    """test_live_positional's firm met on percentile (ORG_TOP, LOUNGE), scored: the policy and two rival firms."""
    firm, rival, third, fourth = (org(f"00000000{i}") for i in range(1, 5))
    director, other = person(11), person(12)
    reg.register({firm: None, rival: None, third: None, fourth: None, director: "finance", other: "finance"})
    reg.send(
        "registration_authority",
        [
            role("R1", director, firm, "director", days_before(500)),
            role("R2", other, rival, "director", days_before(500)),
        ],
    )
    policy = make_policy(amount_rule("ten", 10, 10), lists=ORG_TOP, services=LOUNGE)
    reg.send("tax_bureau", [tax("T1", firm, "2025-06-01", amount=10)])
    reg.score(policy)
    return policy, [rival, third]


def _positional_registry(folder: Path) -> tuple[Registry, list[str]]:
    """``open_registry(folder)`` holding :func:`_positional_world`, built once per process and copied into
    ``folder`` (the batch files' count carried on, so that what a test sends next is named as before), and the two
    rival firms."""

    def made(where: Path) -> None:
        reg = open_registry(where)
        _positional_world(reg)
        reg.store.close()
        (where / "batch-files.txt").write_text(str(reg._files), "utf-8")

    copied(folder, "snapshot_background.positional", made)
    moved = [org("000000002"), org("000000003")]  # the rival and the third firm of _positional_world
    files = int((folder / "batch-files.txt").read_text("utf-8"))
    return Registry(open_store(folder / "registry.duckdb"), folder, _files=files), moved


def test_a_tier_rank_the_policys_tiers_do_not_give_loads_the_tier_the_run_stored(tmp_path: Path) -> None:
    """The explained snapshot words each row's tier from its tier rank rather than reading the tier again; a rank
    none of the policy's tiers gives (a run computes both from the same tiers: never expected) does not refuse the
    load: the tiers the run stored are read, and every row's is the store's."""
    reg, _moved = _positional_registry(tmp_path)
    try:
        store = reg.store
        run = run_in_force(store)
        stored = dict(
            store.execute("SELECT subject_id, tier FROM run_results WHERE run_id = ?", [run["run_id"]]).fetchall()
        )
        assert len(set(stored.values())) > 1
        store.execute(
            "UPDATE run_results_rows SET tier_rank = 0 WHERE run_id = $run AND subject_id = "
            "(SELECT min(subject_id) FROM run_results_rows WHERE run_id = $run)",
            {"run": run["run_id"]},
        )
        odd = store.one("SELECT subject_id FROM run_results WHERE run_id = ? AND tier_rank = 0", [run["run_id"]])
        assert odd in stored
        snap = Snapshot(store, run, explain=True)
        assert snap.explanations == "loaded"
        held = {sid: snap._row_at(i, sid)[0]["tier"] for i, sid in enumerate(snap.subject_ids)}
        assert held == stored
        assert snap._row_at(snap.row_of(odd) or 0, odd)[0]["tier_rank"] == 0
    finally:
        reg.store.close()


def test_a_positional_snapshot_whose_explanations_failed_is_skipped_by_the_live_thread_and_logged_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Under a policy judging on percentile, a snapshot whose explanations failed cannot be patched: go_live skips it
    and says so once (until 2026-12-05 the patch's RuntimeError ended go_live, at each call, after a rescoring that
    grew with every change), and decisions stay the run's."""
    reg, moved = _positional_registry(tmp_path)
    try:

        def broken(_store: Store, _stored: Any, _n: int) -> Any:
            raise MemoryError("no room for the explanations")

        monkeypatch.setattr(snapshot_module, "_explanation_table", broken)
        service = Service(reg.store, flush_interval=3600)
        try:
            snap = service.snapshot("lounge")
            assert snap.wait_explained(600) and snap.explanations == "failed"
            before = [snap.decision(s, "lounge", "a lounge", requester="t").granted for s in snap.subject_ids]
            reg.send("tax_bureau", [tax(f"U{i}", f, "2025-07-01", amount=10) for i, f in enumerate(moved)])
            watermark = snap.watermark
            with caplog.at_level("ERROR", logger="socialcredit.registry.service"):
                assert service.go_live() == 0
                assert service.go_live() == 0
            said = [r.getMessage() for r in caplog.records if "cannot be patched live" in r.getMessage()]
            assert said == [
                f"run {snap.run_id} cannot be patched live: its explanations failed to load (no room for the "
                "explanations) and its policy judges on rank or percentile; decisions are the run's until the next run"
            ]
            assert snap.watermark == watermark and not snap.live
            assert [snap.decision(s, "lounge", "a lounge", requester="t").granted for s in snap.subject_ids] == before
        finally:
            service.close()
    finally:
        reg.store.close()


def test_close_waits_for_every_snapshots_explanations_and_closes_their_connections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A snapshot replaced by a newer run while its explanations load, and one whose load failed, are closed too:
    their threads are done and the connections decisions read the store on are closed (until 2026-12-05 close
    waited only for the current snapshots, and a failed load's connection was never closed)."""
    files = write_example(tmp_path, residents=30)
    st = open_store(tmp_path / "svc.duckdb", create=True, key="")
    try:
        ingest_file(st, files.subjects, "civil_affairs", today=AS_OF)
        for source, path in files.sources.items():
            ingest_file(st, path, source, today=AS_OF)
        score_on_its_day(st, resolve_policy(st, "beijing"), AS_OF - dt.timedelta(days=1))

        def broken(_store: Store, _stored: Any, _n: int) -> Any:
            raise MemoryError("no room for the explanations")

        with monkeypatch.context() as mp:
            mp.setattr(snapshot_module, "_explanation_table", broken)
            service = Service(st, flush_interval=3600)
        try:
            replaced = service.snapshot("high_speed_rail")
            assert replaced.wait_explained(600) and replaced.explanations == "failed"
            score_on_its_day(st, resolve_policy(st, "beijing"), AS_OF)
            with held_back(monkeypatch) as gate, service.writer() as writer:
                service.refresh_snapshots(writer)
                current = service.snapshot("high_speed_rail")
                assert current is not replaced and current.explanations == "loading"
                gate.set()
        finally:
            service.close()
        for snap in (replaced, current):
            assert snap._on_demand is None and not snap._loader.is_alive()
        assert current.explanations == "loaded"
    finally:
        st.close()


def _noted(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Set once the live thread (or a call) has rescored subjects an override relisted (``Service._relist_live``)."""
    done = threading.Event()
    real = Service._relist_live

    def noted(self: Service, snap: Snapshot, held: list[str], passes: Any) -> int:
        try:
            return real(self, snap, held, passes)
        finally:
            done.set()

    monkeypatch.setattr(Service, "_relist_live", noted)
    return done


def test_an_override_under_a_positional_policy_leaves_the_writer_at_once_and_is_patched_once_explanations_are_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under a policy judging on percentile, ``relisted`` does not wait for the explanations under the writer (until
    2026-12-05 it did: every write waited for the whole load): it returns at once, leaving the subjects to the live
    thread, which the loader wakes once they are in (its tick here is an hour) and which then patches them."""
    reg, moved = _positional_registry(tmp_path)
    try:
        relisted = _noted(monkeypatch)
        with held_back(monkeypatch) as gate:
            service = Service(reg.store, flush_interval=3600)
            try:
                snap = service.snapshot("lounge")
                assert snap.explanations == "loading"
                done: list[int] = []

                def override() -> None:
                    with service.writer() as writer:
                        done.append(service.relisted(writer, moved[:1]))

                thread = threading.Thread(target=override)
                thread.start()
                thread.join(120)  # a bound against the hang this fixes, not a timing
                assert not thread.is_alive(), "relisted waited for the explanations under the writer"
                assert done == [0] and snap.explanations == "loading" and not snap.live
                with service.writer():  # another writer turn goes through
                    pass
                assert not relisted.is_set()
                gate.set()
                assert relisted.wait(600), "the live thread was not woken once the explanations were in"
                assert snap.explanations == "loaded"
                assert snap.live_view(moved[0]) is not None
                assert not service._relist
            finally:
                gate.set()  # a call still waiting for the load (under the writer) ends before the service closes
                service.close()
    finally:
        reg.store.close()


def test_an_overrides_subjects_wait_when_the_fold_before_them_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The live thread took the subjects an override left for it before folding the latest changes; when the fold
    failed it returned, and they were dropped: decisions ignored the override until the next run (until 2026-12-05).
    They now wait for the next call, which patches them once the fold goes through."""
    reg, moved = _positional_registry(tmp_path)
    try:
        failing = [True]
        real_catch_up = service_module.catch_up

        def fold(store: Store) -> Any:
            if failing[0]:
                raise RuntimeError("the fold failed")
            return real_catch_up(store)

        with held_back(monkeypatch) as gate:
            service = Service(reg.store, flush_interval=3600)
            try:
                snap = service.snapshot("lounge")
                assert snap.explanations == "loading"
                with service.writer() as writer:
                    service.relisted(writer, moved[:1])
                # a change left to fold, and a fold that fails
                reg.store.execute("UPDATE counters SET value = value + 1 WHERE name = 'seq'")
                monkeypatch.setattr(service_module, "list_states", lambda _reader: [SimpleNamespace(watermark=-1)])
                monkeypatch.setattr(service_module, "catch_up", fold)
                gate.set()
                assert snap.wait_explained(600)
                assert service.go_live() == 0
                assert snap.live_view(moved[0]) is None and service._relist  # still held
                failing[0] = False
                service.go_live()
                assert snap.live_view(moved[0]) is not None and not service._relist
            finally:
                gate.set()
                service.close()
    finally:
        reg.store.close()


RENTAL = """\
- id: rental
  name: {zh: 免押租赁, en: deposit-free rental}
  grant_if: "score >= 100"
  refusal: {zh: 不予免押, en: no deposit-free rental}
"""


def test_a_record_reaches_a_plain_policys_decisions_while_a_positional_ones_explanations_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two policies, one judging on percentile whose explanations are held back, one judging on neither: a committed
    record is patched into the second at once (until 2026-12-05 go_live waited on the first's load, and every
    snapshot after it waited too), and into the first once its explanations are in."""
    reg, moved = _positional_registry(tmp_path)
    try:
        reg.score(make_policy(amount_rule("ten", 10, 10), services=RENTAL, policy_id="plain"))
        with held_back(monkeypatch) as gate:
            service = Service(reg.store, flush_interval=3600)
            try:
                positional, plain = service.snapshot("lounge"), service.snapshot("rental")
                assert positional.patches_wait and not plain.patches_wait
                assert (positional.explanations, plain.explanations) == ("loading", "loading")
                before = positional.watermark
                reg.send("tax_bureau", [tax("U0", moved[0], "2025-07-01", amount=10)])
                thread = threading.Thread(target=service.go_live)
                thread.start()
                thread.join(120)  # a bound against the hang this fixes, not a timing
                assert not thread.is_alive(), "go_live waited for the positional snapshot's explanations"
                view = plain.live_view(moved[0])
                assert view is not None and view.result["score"] == 110
                assert plain.watermark > before
                assert positional.watermark == before and not positional.live
                gate.set()
                assert positional.wait_explained(600)
                service.go_live()  # after the live thread's, if the loader's wake-up came first: one at a time
                assert positional.watermark > before
                assert positional.live_view(moved[0]) is not None
            finally:
                gate.set()  # a call still waiting for the load (under the writer) ends before the service closes
                service.close()
    finally:
        reg.store.close()


def test_a_decision_on_a_failed_load_after_close_is_refused_as_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A decision in flight at shutdown on a snapshot whose explanations failed to load (the connection it read them
    from is closed with the service) is refused 503 store_unavailable (until 2026-12-05: AttributeError, a 500)."""
    from socialcredit.errors import StoreError

    reg, _moved = _positional_registry(tmp_path)
    try:

        def broken(_store: Store, _stored: Any, _n: int) -> Any:
            raise MemoryError("no room for the explanations")

        monkeypatch.setattr(snapshot_module, "_explanation_table", broken)
        service = Service(reg.store, flush_interval=3600)
        snap = service.snapshot("lounge")
        assert snap.wait_explained(600) and snap.explanations == "failed"
        subject = snap.subject_ids[0]
        assert snap.decision(subject, "lounge", "a lounge", requester="t").subject_id == subject
        service.close()
        with pytest.raises(StoreError) as refused:
            snap.decision(subject, "lounge", "a lounge", requester="t")
        assert (refused.value.status, refused.value.code) == (503, "store_unavailable")
        assert str(refused.value) == (
            f"the service is stopping: the explanations of run {snap.run_id} are not in memory and its connection "
            "to the store is closed; send the request again once the service is running"
        )
    finally:
        reg.store.close()


def test_ranks_built_from_a_histogram_a_patch_replaced_are_not_used(store: Store) -> None:
    """A decision that read the histogram before a patch replaced it may store its ranks after the patch reset them
    (until 2026-12-05 the next decisions ranked on the old histogram until the next patch): ranks are used only
    with the histogram they were built from."""
    snap = Snapshot(store, run_in_force(store, "beijing"), explain=False)
    kind = str(snap.kinds[0].as_py())
    old = snap.histogram
    top = int(old.filter(pc.equal(old.column("kind"), kind)).column("score").to_numpy().max())
    assert snap.rank(kind, top)[0] == 1
    stale = snap._ranks
    # one more subject of the kind above everyone: the top score is now second
    moved = pa.concat_tables([old, pa.table({"kind": [kind], "score": [top + 1], "n": [1]}, schema=old.schema)])
    snap.histogram = moved.sort_by([("kind", "ascending"), ("score", "ascending")])
    snap._ranks = stale  # as a decision reading the old histogram would store it after the patch's reset
    assert snap.rank(kind, top)[0] == 2
    assert snap.rank(kind, top + 1)[0] == 1


def test_a_decision_read_from_the_store_filters_each_scan_by_its_subjects_constants(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A single decision while explanations load names its subject in each query as a constant, which the store
    pushes into the scan of the table (and probes subject_keys' index with), not as a join to an unnested list, which
    read every row of the range, of subject_keys or of the run's list entries first; its points are asked for by key,
    the order a run writes them in, so the scan of the run's points skips every row group without the key."""
    run = run_in_force(store, "beijing")
    loaded = Snapshot(store, run, explain=True)
    listed = next(
        sid
        for sid in loaded.subject_ids
        if (d := loaded.decision(sid, "high_speed_rail", "c", requester="t")).lists and len(d.reasons) > 1
    )
    expected = loaded.decision(listed, "high_speed_rail", "c", requester="t").as_dict()
    with held_back(monkeypatch):
        snap = Snapshot(store, run, explain=True, background=True)
        reader = snap._on_demand
        assert reader is not None
        statements: list[tuple[str, Any]] = []
        real = reader.execute

        def spied(sql: str, params: Any = None) -> Any:
            statements.append((sql, params))
            return real(sql, params)

        monkeypatch.setattr(reader, "execute", spied)
        got = snap.decision(listed, "high_speed_rail", "c", requester="t").as_dict()
        assert snap.results is None
    for d in (got, expected):
        d.pop("inquiry_id")
    assert got == expected
    # the run's rows through store.run_rows (a run stored whole: its table by its id), its root not looked up again
    assert [sql.replace("(SELECT * FROM ", "").split("FROM")[1].split()[0] for sql, _ in statements] == [
        "run_results_rows",
        "subject_keys",
        "run_points_rows",
        "run_list_entries",
    ]
    plans = [
        "\n".join(str(row[1]) for row in store.execute("EXPLAIN " + sql, params).fetchall())
        for sql, params in statements
    ]
    for (sql, _), plan in zip(statements, plans, strict=True):
        assert "UNNEST" not in plan and "unnest" not in sql, plan
        assert listed in plan or "subject_key" in plan, plan
    assert "subject_key=" in plans[2].replace(" ", ""), plans[2]
