"""A score run is committed with its listings and notices, or not at all: a crash between the run and its listings
leaves nothing behind, and the next run gives every notice and listing.

The crash is injected into the installed console script (crash_helpers.py): a plugin whose ``run_finished`` notes
what the store holds at that moment and ends the process, either before the due-process plugin recorded the run's
listings (``tryfirst``, registered after it, so called before it) or after it (``trylast``).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from crash_helpers import cli, seen, table_counts
from due_world import A, build, score_on_its_day
from socialcredit.clock import TODAY_ENV
from socialcredit.registry.due_process import plugin as due_plugin
from socialcredit.registry.hooks import hookimpl, plugin_manager
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import RunSummary, latest_run
from socialcredit.registry.scoring.state import build_state
from socialcredit.registry.service import Service
from socialcredit.store import Store, open_store
from store_copies import copied

CRASH = """
class Crash:
    @hookimpl({order}=True)
    def run_finished(self, store, run):
        die({{
            "run_id": run.run_id,
            "runs_finished": store.one("SELECT count(*) FROM score_runs WHERE finished_at IS NOT NULL"),
            "listings_of_run": store.one(
                "SELECT count(*) FROM listings WHERE notice_run_id = ? OR last_run_id = ?", [run.run_id, run.run_id]
            ),
        }})
"""
ORDER = {"before_listings": "tryfirst", "after_listings": "trylast"}


def _crash(where: str) -> str:
    return CRASH.format(order=ORDER[where])


def _stated(folder: Path) -> None:
    store = build(folder)
    try:
        build_state(store, resolve_policy(store, "beijing"))
    finally:
        store.close()


@pytest.fixture
def world(tmp_path: Path) -> Path:
    """The due-process world, its Beijing policy published and its scoring state built: a run writes nothing but
    itself, its listings and notices, and their audit entries. Built once per process and copied for each test."""
    copied(tmp_path, "run_crash.world", _stated)
    return tmp_path / "due.duckdb"


def _listings(db: Path) -> list[tuple[Any, ...]]:
    with open_store(db, key="") as store:
        return store.execute(
            "SELECT subject_id, criterion_id, status, notice_run_id, last_run_id FROM listings ORDER BY listing_id"
        ).fetchall()


def _notices(db: Path) -> list[tuple[Any, ...]]:
    with open_store(db, key="") as store:
        return store.execute("SELECT subject_id, kind, created_on FROM notifications ORDER BY 1, 2").fetchall()


@pytest.mark.parametrize("where", ["before_listings", "after_listings"])
def test_a_crash_between_a_run_and_its_listings_leaves_no_run(world: Path, tmp_path: Path, where: str) -> None:
    before = table_counts(world)
    inj = tmp_path / "inj"
    crashed = cli("score", "--policy", "beijing", "--as-of", "2026-02-01", db=world, crash=_crash(where), folder=inj)
    assert crashed.returncode == 9, crashed.stdout + crashed.stderr
    # the crash came where it was meant to: the run was saved (finished) in the open transaction, with its one
    # listing (A's unfulfilled judgment) not yet recorded, or recorded
    assert seen(inj) == {"run_id": 1, "runs_finished": 1, "listings_of_run": 0 if where == "before_listings" else 1}
    assert table_counts(world) == before  # nothing of the run, its listings, notices or audit entries
    # the next run is whole: the run, A's listing with its notice, one audit entry each
    again = cli("score", "--policy", "beijing", "--as-of", "2026-02-01", "--json", db=world)
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads(again.stdout)["run_id"] == 1
    assert _listings(world) == [(A, "judgment_defaulter", "pending", 1, 1)]
    assert _notices(world) == [(A, "listing_notice", dt.date(2026, 2, 1))]
    after = table_counts(world)
    changed = {k: after[k] - before[k] for k in after if after[k] != before[k]}
    assert set(changed) == {
        "audit_log",
        "listings",
        "notifications",
        "run_catalogs",  # the catalog version the run was scored with (docs/catalog.md)
        "run_histogram",  # how many subjects have each score, ranked (docs/architecture.md)
        "run_list_entries",
        "run_points_rows",  # the tables of the views run_points, run_result_keys, run_results (migration 49)
        "run_result_keys_rows",  # the subject key of each result row, in its order (read by the explained snapshot)
        "run_results_rows",
        "run_rules",
        "score_runs",
        "store_info",  # the first run's audit checkpoint records the registry's signing key (docs/audit.md)
    }
    assert (changed["score_runs"], changed["run_results_rows"], changed["run_list_entries"]) == (1, 3, 1)
    assert (changed["listings"], changed["notifications"], changed["audit_log"]) == (1, 1, 2)  # score_run, listings
    verified = cli("audit", "verify", db=world)
    assert verified.returncode == 0 and "intact" in verified.stdout, verified.stdout + verified.stderr


def test_a_crash_in_a_later_run_keeps_the_earlier_run_and_its_listings(world: Path, tmp_path: Path) -> None:
    first = cli("score", "--policy", "beijing", "--as-of", "2026-02-01", db=world)
    assert first.returncode == 0, first.stderr
    before = table_counts(world)
    # past the 60 days of grace: this run would put A's listing in effect, and is cut after recording it
    later = ("score", "--policy", "beijing", "--as-of", "2026-04-15", "--incremental")
    crashed = cli(*later, db=world, crash=_crash("after_listings"), folder=tmp_path / "inj")
    assert crashed.returncode == 9, crashed.stdout + crashed.stderr
    assert seen(tmp_path / "inj")["listings_of_run"] == 1
    assert table_counts(world) == before
    assert _listings(world) == [(A, "judgment_defaulter", "pending", 1, 1)]  # as run 1 left it
    with open_store(world, key="") as store:
        assert latest_run(store, "beijing")["run_id"] == 1
    again = cli(*later, "--json", db=world)
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads(again.stdout)["run_id"] == 2
    assert _listings(world) == [(A, "judgment_defaulter", "effective", 1, 2)]


class _Failing:
    @hookimpl(trylast=True)
    def run_finished(self, store: Store, run: RunSummary) -> None:
        raise RuntimeError("a plugin failed")


def test_a_failing_plugin_rolls_the_run_back(world: Path) -> None:
    before = table_counts(world)
    plugin = _Failing()
    plugin_manager().register(plugin)
    try:
        with open_store(world, key="") as store, pytest.raises(RuntimeError, match="a plugin failed"):
            score_on_its_day(store, resolve_policy(store, "beijing"), dt.date(2026, 2, 1))
    finally:
        plugin_manager().unregister(plugin)
    assert table_counts(world) == before
    with open_store(world, key="") as store:  # the store is usable, and the next run is whole
        summary = score_on_its_day(store, resolve_policy(store, "beijing"), dt.date(2026, 2, 1))
    assert summary.run_id == 1 and summary.list_counts == {"blacklist": 1}
    assert _listings(world) == [(A, "judgment_defaulter", "pending", 1, 1)]


@pytest.fixture
def half_run(world: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The state an earlier version left after a crash between a run's commit and its listings' (it committed them
    in two transactions): run 1 finished, with no listings, notices or ``listings`` audit entry."""
    with monkeypatch.context() as patch:
        patch.setattr(due_plugin, "record_listings", lambda store, run_id, today: {})
        patch.setattr(due_plugin, "complete_missed", lambda store, policy_id, before, today: [])
        with open_store(world, key="") as store:
            score_on_its_day(store, resolve_policy(store, "beijing"), dt.date(2026, 2, 1))
    assert _listings(world) == [] and _notices(world) == []
    return world


def _listings_audit(db: Path) -> list[tuple[str, int]]:
    with open_store(db, key="") as store:
        rows = store.execute("SELECT actor, detail FROM audit_log WHERE action = 'listings' ORDER BY seq").fetchall()
    return [(str(actor), int(json.loads(detail)["run_id"])) for actor, detail in rows]


def test_the_service_completes_a_run_left_without_listings_before_serving_it(
    half_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the service starts on the day of the run it completes: its notices are given that day (those a recovery gives
    # later are dated the day it gives them, as any run's are: test_the_next_run_completes_the_run_before_it_first)
    monkeypatch.setenv(TODAY_ENV, "2026-02-01")
    with open_store(half_run, key="") as store:
        service = Service(store, flush_interval=60)
        try:
            assert service.snapshot("high_speed_rail").run_id == 1
        finally:
            service.close()
    assert _listings(half_run) == [(A, "judgment_defaulter", "pending", 1, 1)]
    assert _notices(half_run) == [(A, "listing_notice", dt.date(2026, 2, 1))]
    assert _listings_audit(half_run) == [("recovery", 1)]
    with open_store(half_run, key="") as store:  # once only
        Service(store, flush_interval=60).close()
    assert _listings_audit(half_run) == [("recovery", 1)]


def test_the_next_run_completes_the_run_before_it_first(half_run: Path) -> None:
    again = cli("score", "--policy", "beijing", "--as-of", "2026-04-15", "--json", db=half_run)
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads(again.stdout)["run_id"] == 2
    # run 1's listing is recorded first, but its notice is given only now, on the day run 2 is made: the resident was
    # never told on 2026-02-01, so their 60 days of grace run from 2026-04-15 and the listing is still pending (a
    # notice dated the day of the crashed run would have ended its grace before it was given)
    assert _listings(half_run) == [(A, "judgment_defaulter", "pending", 1, 2)]
    assert _notices(half_run) == [(A, "listing_notice", dt.date(2026, 4, 15))]
    assert _listings_audit(half_run) == [("recovery", 1), ("registry", 2)]
