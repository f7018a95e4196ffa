"""Live passes on the live thread's own connection, their stages prepared once (``LivePasses``), give the rows,
watermark and histogram of the same passes planned at every execution.

DuckDB 1.5.5 fits a prepared plan to the statistics of its tables' rows at the moment it is prepared (the kept
tables are empty then) and plans it again, with those statistics, when a relation of the connection is made or
dropped; both are drawn here: passes of any size after the tables were prepared empty, and relations made on the
connection between two passes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api_helpers import scored_example
from socialcredit.registry.decisions import live
from socialcredit.registry.decisions.live import LivePasses, rescore
from socialcredit.registry.decisions.snapshot import Snapshot
from socialcredit.registry.scoring.state import state_info
from socialcredit.store import Store


class World:
    """The scored store, its snapshot, and the live connection's passes (a short repr for hypothesis)."""

    def __init__(self, store: Store, snap: Snapshot, passes: LivePasses) -> None:
        self.store, self.snap, self.passes = store, snap, passes
        self.ids = [str(r[0]) for r in store.execute("SELECT subject_id FROM subjects ORDER BY 1").fetchall()]

    def __repr__(self) -> str:
        return f"World(run {self.snap.run_id}, {len(self.ids)} subjects)"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp: Path = tmp_path_factory.mktemp("live-prepared")
    store = scored_example(tmp)
    snap = Snapshot.load(store, "beijing", explain=True)
    passes = LivePasses(store.reader())
    yield World(store, snap, passes)
    passes.close()
    store.close()


def _kept_tables(passes: LivePasses, prefix: str) -> list[str]:
    """Every temporary table of the live connection named with ``prefix`` (all a ``ready`` made)."""
    rows = passes.store.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary AND starts_with(table_name, ?) ORDER BY 1", [prefix]
    ).fetchall()
    return [str(r[0]) for r in rows]


def _temp_tables(passes: LivePasses) -> int:
    return int(passes.store.one("SELECT count(*) FROM duckdb_tables() WHERE temporary"))


def _plain(world: World, subjects: list[str]) -> Any:
    reader = world.store.reader()
    try:
        with reader.transaction():
            snap = world.snap
            return rescore(
                reader, snap.loaded, snap.as_of, subjects, snap.histogram, snap.old_scores(subjects), fold=False
            )
    finally:
        reader.close()


def _kept(world: World, subjects: list[str], made_inside: bool = False) -> Any:
    snap, passes = world.snap, world.passes
    passes.ready(snap.loaded, snap.as_of, snap.histogram)
    with passes.reading() as reader:
        if made_inside:  # in the pass's own transaction, before its stages
            reader.execute("CREATE OR REPLACE TEMP TABLE elsewhere AS SELECT 3 AS x")
        return rescore(
            reader,
            snap.loaded,
            snap.as_of,
            subjects,
            snap.histogram,
            snap.old_scores(subjects),
            fold=False,
            passes=passes,
        )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    passes=st.lists(st.lists(st.integers(min_value=0, max_value=10_000), max_size=60), min_size=1, max_size=4),
    made=st.lists(st.sampled_from(["nothing", "between", "inside"]), min_size=4, max_size=4),
)
def test_prepared_passes_give_the_rows_of_passes_planned_anew(
    world: World, passes: list[list[int]], made: list[str]
) -> None:
    """Pass after pass, of any size (none, one, many), whether or not a relation was made on the connection since
    the stages were prepared (between two passes, or inside one before its stages): the same rows; and a pass leaves
    the prepared plans in use and its tables empty."""
    for picks, relation in zip(passes, made, strict=False):
        subjects = sorted({world.ids[i % len(world.ids)] for i in picks})
        if relation == "between":  # anything else on the live connection: DuckDB plans the stages again at next use
            world.passes.store.execute("CREATE OR REPLACE TEMP TABLE elsewhere AS SELECT 1 AS x")
        kept = _kept(world, subjects, made_inside=relation == "inside")
        plain = _plain(world, subjects)
        assert kept is not None and plain is not None
        assert kept[0] == plain[0]
        assert kept[1] == plain[1]
        assert sorted(kept[1]) == subjects
        assert kept[2].equals(plain[2])
        assert world.passes.unchanged()
        info = state_info(world.store, world.snap.loaded)
        assert info is not None
        kept_of = world.passes.kept(world.snap.loaded, world.snap.as_of, info)
        assert kept_of is not None
        tables = _kept_tables(world.passes, kept_of.prefix)
        assert len(tables) >= 10
        for table in tables:
            assert world.passes.store.one(f'SELECT count(*) FROM "{table}"') == 0, table


def test_a_relation_made_on_the_connection_is_noticed_and_the_stages_prepared_again(world: World) -> None:
    """Prepared, the stages run as prepared; a table made on the connection unprepares them (the canary counts it),
    the next pass is still right (its stages planned at once), and the next ``ready`` prepares them again."""
    snap, passes = world.snap, world.passes
    subjects = world.ids[:30]
    passes.ready(snap.loaded, snap.as_of, snap.histogram)
    assert passes.unchanged()
    passes.store.execute("CREATE OR REPLACE TEMP TABLE elsewhere AS SELECT 2 AS x")
    assert not passes.unchanged()
    with passes.reading() as reader:
        kept = rescore(
            reader,
            snap.loaded,
            snap.as_of,
            subjects,
            snap.histogram,
            snap.old_scores(subjects),
            fold=False,
            passes=passes,
        )
    assert kept is not None and kept[1] == _plain(world, subjects)[1]
    passes.ready(snap.loaded, snap.as_of, snap.histogram)
    assert passes.unchanged()


def test_a_kept_pass_runs_only_inside_its_rolled_back_transaction(world: World) -> None:
    """Outside ``reading`` its rows would be committed into the kept tables and read by the next pass: refused."""
    snap, passes = world.snap, world.passes
    passes.ready(snap.loaded, snap.as_of, snap.histogram)
    with pytest.raises(ValueError, match=r"inside its reading\(\)"):
        rescore(passes.store, snap.loaded, snap.as_of, world.ids[:3], snap.histogram, {}, fold=False, passes=passes)


def test_the_service_runs_its_live_passes_prepared(tmp_path: Path) -> None:
    """The live thread's passes (``Service.go_live``) run on the tables and statements it prepared at its first
    pass: nothing else on its connection makes DuckDB plan them again, and a later pass makes no tables."""
    from socialcredit.registry.records.ingest import ingest_file
    from socialcredit.registry.service import Service

    store = scored_example(tmp_path)
    service = Service(store, flush_interval=3600)  # the live thread waits: the test runs the passes
    try:
        persons = [
            str(r[0]) for r in store.execute("SELECT subject_id FROM subjects WHERE kind = 'person' LIMIT 4").fetchall()
        ]
        kept: list[Any] = []
        for k, person in enumerate(persons):
            path = tmp_path / f"batch-{k}.csv"
            path.write_text(
                "record_id,subject_id,record_type,event_date,utility,amount,status\n"
                f"UTI-PREP-{k},{person},utility_payment,2026-10-01,water,120,on_time\n",
                "utf-8",
            )
            with service.writer() as writer:
                assert ingest_file(writer, path, "utilities").accepted == 1
            assert service.go_live() >= 1
            passes = service._live_passes
            assert passes is not None and passes.unchanged()
            kept.append(dict(passes._kept))
        assert len(kept[0]) == 1 and all(k == kept[0] for k in kept)
    finally:
        service.close()
        store.close()


def test_passes_in_turn_on_more_keys_than_the_default_keep_their_tables_and_plans(world: World) -> None:
    """Nine policy versions or as-of dates in turn (nine snapshots), kept for nine: the second round makes no table
    and prepares nothing again; the least recently used is the one dropped, not the first made."""
    snap = world.snap
    passes = LivePasses(world.store.reader())
    prepared = 0
    real = passes._prepare

    def counted() -> None:
        nonlocal prepared
        prepared += 1
        real()

    passes._prepare = counted  # type: ignore[method-assign]
    try:
        passes.keep = 9
        days = [snap.as_of - dt.timedelta(days=k) for k in range(9)]
        for day in days:
            passes.ready(snap.loaded, day, snap.histogram)
        assert prepared == 9
        first = dict(passes._kept)
        tables = _temp_tables(passes)
        prepared = 0
        for day in days:
            passes.ready(snap.loaded, day, snap.histogram)
        assert prepared == 0
        assert passes._kept == first and _temp_tables(passes) == tables
        assert passes.unchanged()

        info = state_info(world.store, snap.loaded)
        assert info is not None
        passes.keep = 2
        a, b, c = (snap.as_of - dt.timedelta(days=k) for k in (20, 21, 22))
        passes.ready(snap.loaded, a, snap.histogram)
        kept_a = passes.kept(snap.loaded, a, info)
        for day in (b, a, c):  # a used again after b: b is the least recently used when c comes
            passes.ready(snap.loaded, day, snap.histogram)
        assert [passes.kept(snap.loaded, d, info) is not None for d in (a, b, c)] == [True, False, True]
        assert kept_a is not None and passes.kept(snap.loaded, a, info) is kept_a
        assert len(passes._kept) == 2
    finally:
        passes.close()


def test_a_failed_ready_leaves_no_table_behind(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``ready`` that fails while it makes its tables drops the ones it made: failing again and again (three
    times here) adds no temporary table to the live connection, and keeps nothing."""
    snap = world.snap
    passes = LivePasses(world.store.reader())

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("failed in the middle of ready")

    try:
        before = _temp_tables(passes)
        monkeypatch.setattr(live, "_moved", failing)
        for _ in range(3):
            with pytest.raises(RuntimeError, match="failed in the middle of ready"):
                passes.ready(snap.loaded, snap.as_of, snap.histogram)
            assert _temp_tables(passes) == before
            assert passes._kept == {}
        monkeypatch.undo()
        passes.ready(snap.loaded, snap.as_of, snap.histogram)  # and then, the failure gone, it makes them
        assert len(passes._kept) == 1 and passes.unchanged()
    finally:
        passes.close()


def test_a_record_no_longer_held_counts_again_in_the_services_live_passes(tmp_path: Path) -> None:
    """The role record R1 (REP represents the company under judgment) is held while disputed under a policy whose
    disputes do not count while open: REP is on no list in live decisions. Answered "verified", it counts again at
    the next live pass, as a fresh service gives: REP is restricted as the company's representative. The records
    held when the live tables were made are not kept in them for later passes."""
    import relation_world as rw
    from scoring_helpers import AS_OF, open_registry
    from socialcredit.policy import parse_policy
    from socialcredit.registry.due_process.disputes import answer_dispute, file_dispute
    from socialcredit.registry.service import Service

    reg = open_registry(tmp_path)
    rw.build(reg)
    text = rw.beijing().text.replace("counts_while_open: true", "counts_while_open: false")
    text = text.replace('version: "2026.2"', 'version: "2026.2-held"')
    assert "counts_while_open: false" in text and "2026.2-held" in text
    policy = parse_policy(text, "beijing-held.yaml")
    reg.score(policy, AS_OF - dt.timedelta(days=61))
    reg.score(policy, AS_OF)
    service = Service(reg.store, flush_interval=3600)  # the live thread waits: the test runs the passes
    try:
        snap = next(iter(service.snapshots.values()))
        with service.writer() as writer:
            dispute = file_dispute(writer, rw.REP, "registration_authority", "R1", "not my role", today=AS_OF)
        assert service.go_live() == 2
        view = snap.live_view(rw.REP)
        assert view is not None and view.result["lists"] == []
        with service.writer() as writer:
            answer_dispute(
                writer,
                dispute["dispute_id"],
                "verified",
                "the role is on the register",
                "registration_authority",
                today=AS_OF,
            )
        assert service.go_live() == 2
        view = snap.live_view(rw.REP)
        assert view is not None and view.result["lists"] == ["high_spending_restriction"]
        assert [e[:2] for e in view.entries] == [("high_spending_restriction", "officer_of_defaulter")]
    finally:
        service.close()


def test_the_service_keeps_the_tables_of_every_snapshot_it_patches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two snapshots of two policies, patched in turn at every pass: the live connection keeps the tables and
    statements of both (``Service.go_live`` keeps as many as it holds snapshots, here more than ``KEPT``), so the
    stages are prepared at the first pass only. Kept for one, each snapshot's pass would drop the other's tables
    and prepare every stage again, at every pass."""
    from scoring_helpers import amount_rule, make_policy, open_registry, person, tax
    from socialcredit.registry.service import Service

    monkeypatch.setattr(LivePasses, "KEPT", 1)
    prepared = 0
    real = LivePasses._prepare

    def counted(self: LivePasses) -> None:
        nonlocal prepared
        prepared += 1
        real(self)

    monkeypatch.setattr(LivePasses, "_prepare", counted)
    reg = open_registry(tmp_path)
    plain = """\
- id: plain
  name: {zh: 普通, en: plain}
  grant_if: "score >= 105"
  refusal: {zh: 不予服务, en: no service}
"""
    subjects = [person(i) for i in range(1, 5)]
    reg.register({p: None for p in subjects})
    for policy_id, points in (("first", 10), ("second", 20)):
        reg.score(make_policy(amount_rule("ten", points, 10), services=plain, policy_id=policy_id))
    service = Service(reg.store, flush_interval=3600)  # the live thread waits: the test runs the passes
    try:
        snaps = {id(s): s for s in service.snapshots.values()}
        assert sorted(s.policy.id for s in snaps.values()) == ["first", "second"]
        for k, p in enumerate(subjects):
            with service.writer():
                reg.send("tax_bureau", [tax(f"L{k}", p, "2025-06-01", amount=10)])
            assert service.go_live() == 2  # the subject, in each snapshot
            assert prepared == 2, k  # at the first pass, once per snapshot; never again
        assert [s.decide(subjects[0], "plain", "check", requester="tests").granted for s in snaps.values()] == [
            True,
            True,
        ]
    finally:
        service.close()
        reg.store.close()
