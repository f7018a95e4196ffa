"""The registry's extension points: a plugin sees each hook fire with the right arguments; every hook is documented;
the registry imports nothing from the regions package (regions plug in)."""

from __future__ import annotations

import ast
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from due_world import A, B, build
from socialcredit.registry.decisions.decide import Decision, decide
from socialcredit.registry.due_process.daily import run_daily
from socialcredit.registry.hooks import BUILTIN_PLUGINS, RegistrySpec, hookimpl, plugin_manager
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import RunSummary, rerun, score
from socialcredit.registry.service import Service
from socialcredit.store import Store

ROOT = Path(__file__).resolve().parents[1]
HOOKS = [name for name in vars(RegistrySpec) if not name.startswith("_")]


class Recorder:
    """A test plugin: notes every call, and what the store holds at that moment."""

    def __init__(self, watch: list[str]) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.watch = watch

    def of(self, hook: str) -> list[dict[str, Any]]:
        return [kwargs for name, kwargs in self.calls if name == hook]

    @hookimpl
    def decision_made(
        self, store: Store, decision: Decision | None, subject_id: str, service: str, requester: str
    ) -> None:
        inquiries = store.one("SELECT count(*) FROM inquiries WHERE subject_id = ?", [subject_id])
        self.calls.append(
            ("decision_made", {"decision": decision, "who": (subject_id, service, requester), "inquiries": inquiries})
        )

    @hookimpl
    def watched_subjects(self, store: Store) -> list[str]:
        self.calls.append(("watched_subjects", {"store": store}))
        return self.watch

    @hookimpl
    def run_starting(self, store: Store, as_of: dt.date) -> None:
        runs = store.one("SELECT count(*) FROM score_runs")
        self.calls.append(("run_starting", {"as_of": as_of, "runs": runs}))

    @hookimpl
    def run_finished(self, store: Store, run: RunSummary) -> None:
        listings = store.one("SELECT count(*) FROM listings WHERE notice_run_id = ?", [run.run_id])
        self.calls.append(("run_finished", {"run": run, "listings": listings}))

    @hookimpl
    def records_ingested(self, store: Store, source_id: str, batch_id: int, today: dt.date) -> None:
        versions = store.one("SELECT count(*) FROM records WHERE batch_id = ?", [batch_id])
        self.calls.append(("records_ingested", {"args": (source_id, batch_id, today), "versions": versions}))

    @hookimpl
    def due_process_daily(self, store: Store, today: dt.date) -> dict[str, Any]:
        self.calls.append(("due_process_daily", {"today": today}))
        return {"recorder_saw": today.isoformat(), "purged": "a plugin's key never replaces the job's own"}


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    plugin = Recorder(watch=[A])
    plugin_manager().register(plugin)
    try:
        yield plugin
    finally:
        plugin_manager().unregister(plugin)


@pytest.fixture
def world(tmp_path: Path, recorder: Recorder) -> Iterator[Store]:
    store = build(tmp_path)
    try:
        yield store
    finally:
        store.close()


def test_builtin_plugins_are_registered() -> None:
    pm = plugin_manager()
    assert plugin_manager() is pm
    assert all(pm.get_plugin(name) is not None for name in BUILTIN_PLUGINS)
    assert set(HOOKS) == {
        "decision_made",
        "watched_subjects",
        "run_starting",
        "run_finished",
        "records_ingested",
        "due_process_daily",
    }


def test_records_ingested_fires_for_each_batch_with_new_versions(world: Store, recorder: Recorder) -> None:
    seen = recorder.of("records_ingested")
    # due_world ingests five batches: subjects (no record hook), courts, traffic, tax, platform
    assert [s["args"][0] for s in seen] == ["courts", "traffic_police", "tax_bureau", "commercial_platforms"]
    assert seen[0]["args"][2] == dt.date(2026, 1, 10)
    assert seen[0]["versions"] == 2  # inside the batch's transaction: its records are there
    batches = [int(r[0]) for r in world.execute("SELECT DISTINCT batch_id FROM records ORDER BY 1").fetchall()]
    assert [s["args"][1] for s in seen] == batches


def test_run_finished_sees_the_run_with_its_listings_recorded(world: Store, recorder: Recorder) -> None:
    summary = score(world, resolve_policy(world, "beijing"), dt.date(2026, 2, 1))
    (seen,) = recorder.of("run_finished")
    assert seen["run"] == summary
    assert seen["listings"] == 1  # A's judgment: the built-in due-process plugin ran first


def test_run_starting_comes_before_the_run_and_not_for_a_rerun(world: Store, recorder: Recorder) -> None:
    """The built-in due-process plugin lapses there the disputes overdue by the run's date (docs/due-process.md)."""
    first = score(world, resolve_policy(world, "beijing"), dt.date(2026, 2, 1))
    assert recorder.of("run_starting") == [{"as_of": dt.date(2026, 2, 1), "runs": 0}]
    rerun(world, first.run_id)
    assert len(recorder.of("run_starting")) == 1  # a rerun reads a past watermark: nothing is written first


def test_decision_made_sees_the_recorded_decision(world: Store, recorder: Recorder) -> None:
    score(world, resolve_policy(world, "beijing"), dt.date(2026, 2, 1))
    decision = decide(world, B, "high_speed_rail", "ticket purchase", requester="key:7")
    (seen,) = recorder.of("decision_made")
    assert seen["decision"] is decision and decision.inquiry_id is not None
    assert seen["who"] == (B, "high_speed_rail", "key:7")
    assert seen["inquiries"] == 1  # recorded, in the same transaction


def test_decisions_from_memory_reach_the_hook_for_watched_subjects(world: Store, recorder: Recorder) -> None:
    score(world, resolve_policy(world, "beijing"), dt.date(2026, 2, 1))
    service = Service(world, flush_interval=60)
    try:
        assert recorder.of("watched_subjects") and service.linked == frozenset({A})
        service.decided([A, B], "high_speed_rail", "key:7")
        service.flush_inquiries()
    finally:
        service.close()
    (seen,) = recorder.of("decision_made")
    assert seen["decision"] is None
    assert seen["who"] == (A, "high_speed_rail", "key:7")


def test_due_process_daily_runs_after_the_job_and_adds_to_its_result(world: Store, recorder: Recorder) -> None:
    result = run_daily(world, dt.date(2026, 2, 1))
    assert recorder.of("due_process_daily") == [{"today": dt.date(2026, 2, 1)}]
    assert result["recorder_saw"] == "2026-02-01"
    assert result["lapsed_disputes"] == [] and result["notified_of_mandatory_enrollment"] == 0
    assert isinstance(result["purged"], dict) and "records" in result["purged"]


def test_every_hook_is_documented_with_its_arguments() -> None:
    doc = (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8")
    headings = dict(re.findall(r"^### `(\w+)\(([^)]*)\)`", doc, re.MULTILINE))
    for name in HOOKS:
        assert name in headings, f"the hook {name} has no section in docs/hooks.md"
        spec_args = plugin_manager().hook.__dict__[name].spec.argnames
        assert tuple(a.strip() for a in headings[name].split(",")) == spec_args, name
        assert (getattr(RegistrySpec, name).__doc__ or "").strip(), f"the hook {name} has no docstring"
    assert sorted(set(headings) - set(HOOKS)) == [], "docs/hooks.md documents hooks that do not exist"


def test_the_registry_imports_nothing_from_regions() -> None:
    offenders = []
    for path in (ROOT / "src" / "socialcredit" / "registry").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            offenders += [f"{path.name}: {n}" for n in names if n.startswith("socialcredit.regions")]
    assert offenders == []
