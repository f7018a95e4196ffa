"""socialcredit: an accountable credit registry. Published policies, scores with reasons, lists with due process.

The small Python API, flat::

    import datetime as dt
    import socialcredit as sc

    with sc.open_store("registry.duckdb", create=True) as store:
        sc.ingest_file(store, "judgments.csv", "courts")  # a batch of records from a source in the catalog
        policy = sc.builtin_policy("beijing")
        sc.publish_policy(store, policy)
        sc.score(store, policy, dt.date(2026, 1, 1))
        decision = sc.decide(store, subject_id, "high_speed_rail", "ticket purchase")
        decision.granted, decision.reasons

Every name is imported on first use: ``import socialcredit`` (which every ``socialcredit.*`` import runs first)
loads neither DuckDB, Spark nor FastAPI.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# The error tree is imported at once: errors.py imports nothing but typing.
from socialcredit import errors as _errors
from socialcredit.errors import *  # noqa: F403

if TYPE_CHECKING:
    from socialcredit.api.app import create_app
    from socialcredit.policy import LoadedPolicy, builtin_policy, load_policy
    from socialcredit.policy.explain import explain_policy
    from socialcredit.registry.decisions.decide import decide
    from socialcredit.registry.records.ingest import ingest_file
    from socialcredit.registry.reporting.report import subject_report
    from socialcredit.registry.reporting.resident_file import export_file
    from socialcredit.registry.scoring.policies import publish_policy
    from socialcredit.registry.scoring.runs import score
    from socialcredit.store import Store, open_store

    __version__: str

# The version written in pyproject.toml: used when the package runs from a source tree that is not installed.
_SOURCE_VERSION = "0.1.0"

# name -> the module that defines it
_WHERE = {
    "Store": "socialcredit.store",
    "open_store": "socialcredit.store",
    "LoadedPolicy": "socialcredit.policy",
    "builtin_policy": "socialcredit.policy",
    "load_policy": "socialcredit.policy",
    "explain_policy": "socialcredit.policy.explain",
    "ingest_file": "socialcredit.registry.records.ingest",
    "publish_policy": "socialcredit.registry.scoring.policies",
    "score": "socialcredit.registry.scoring.runs",
    "decide": "socialcredit.registry.decisions.decide",
    "subject_report": "socialcredit.registry.reporting.report",
    "export_file": "socialcredit.registry.reporting.resident_file",
    "create_app": "socialcredit.api.app",
    **dict.fromkeys(_errors.__all__, "socialcredit.errors"),  # imported already; named for completeness
}

__all__ = [
    "LoadedPolicy",
    "Store",
    "__version__",
    "builtin_policy",
    "create_app",
    "decide",
    "explain_policy",
    "export_file",
    "ingest_file",
    "load_policy",
    "open_store",
    "publish_policy",
    "score",
    "subject_report",
]
__all__ += _errors.__all__  # the whole error tree


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("socialcredit")
    except PackageNotFoundError:
        return _SOURCE_VERSION


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value: Any = _version()
    elif name in _WHERE:
        value = getattr(import_module(_WHERE[name]), name)
    else:
        raise AttributeError(f"module 'socialcredit' has no attribute {name!r}")
    globals()[name] = value  # later look-ups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
