"""The registry's extension points (pluggy hooks; docs/hooks.md).

The registry calls a hook where something happens — a decision is recorded, a score run is saved, a batch of
records is committed, the daily due-process job runs — and the plugins registered on :func:`plugin_manager`
answer. This is how code the registry must not depend on takes part: regions raise their alerts on a decision
(``socialcredit.regions.alerts``), and due process turns a run's blacklist entries into notices and listings and
tells residents of a re-certified record (``socialcredit.registry.due_process.plugin``).

The built-in plugins are named below, not imported by the registry's modules: the plugin manager is the one place
that composes them. Further plugins are registered with ``plugin_manager().register(obj)`` or installed as an
entry point of the group ``socialcredit.plugins``. A hook that runs inside the caller's transaction says so: its
writes are committed, or rolled back, with the caller's.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable
from importlib import import_module
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # pragma: no cover - types only
    from socialcredit.registry.decisions.decide import Decision
    from socialcredit.registry.scoring.runs import RunSummary
    from socialcredit.store import Store

__all__ = [
    "BUILTIN_PLUGINS",
    "ENTRY_POINT_GROUP",
    "PROJECT",
    "RegistrySpec",
    "hookimpl",
    "hookspec",
    "plugin_manager",
]

PROJECT = "socialcredit"
ENTRY_POINT_GROUP = "socialcredit.plugins"
# Registered first, in this order: scoring folds a batch into its states; due process before regions, so a plugin
# sees a run's listings recorded.
BUILTIN_PLUGINS = (
    "socialcredit.registry.scoring.plugin",
    "socialcredit.registry.due_process.plugin",
    "socialcredit.regions.alerts",
    "socialcredit.regions.contest",
)

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class RegistrySpec:
    """The hook specifications: a plugin implements any of them with the same name and argument names."""

    @hookspec
    def decision_made(
        self, store: Store, decision: Decision | None, subject_id: str, service: str, requester: str
    ) -> None:
        """After a decision is recorded as an inquiry (inside its transaction); ``decision`` is None when the
        running service answered it from memory and reports it at its journal's flush."""

    @hookspec
    def watched_subjects(self, store: Store) -> Iterable[str]:  # type: ignore[empty-body]  # a spec, never called
        """Subjects whose decisions answered from the running service's memory must reach ``decision_made``."""

    @hookspec
    def run_starting(self, store: Store, as_of: dt.date) -> None:
        """Before a score run at the present watermark reads the store (not a rerun at a past one), outside any
        transaction: what the run's date decides is written first, so the run reads it (the built-in due-process
        plugin lapses the disputes overdue by ``as_of``)."""

    @hookspec
    def run_finished(self, store: Store, run: RunSummary, today: dt.date) -> None:
        """After a score run is saved, inside its transaction (all or nothing with it), on the registry's ``today``
        when it is made (a run made after its as-of date gives its notices that day); the built-in due-process
        plugin records its notices and listings first."""

    @hookspec
    def records_ingested(self, store: Store, source_id: str, batch_id: int, today: dt.date) -> None:
        """After a batch added new record versions, inside the batch's transaction (all or nothing with it; batches
        committed together call it in their order once all of them are written)."""

    @hookspec
    def due_process_daily(self, store: Store, today: dt.date) -> dict[str, Any] | None:
        """In the daily due-process job, after its own steps; keys returned are added to the job's result."""


_lock = threading.Lock()
_manager: pluggy.PluginManager | None = None


def _new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(RegistrySpec)
    for name in BUILTIN_PLUGINS:
        pm.register(import_module(name), name=name)
    pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    return pm


def plugin_manager() -> pluggy.PluginManager:
    """The process's plugin manager, with the built-in plugins and the installed ones registered (made once)."""
    global _manager
    if _manager is None:
        # Service threads may ask at the same time: one manager, so a plugin is never registered twice.
        with _lock:
            if _manager is None:
                _manager = _new_manager()
    return _manager
