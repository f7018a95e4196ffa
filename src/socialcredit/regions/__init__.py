"""Regions: registries that share records in signed bundles and link the identities those records name.

``exchange`` (set-up, trusted publishers, export/import, review queue, reversing links), ``bundle`` (envelope and
signatures), ``linkage`` (Splink), ``alerts``, ``generate`` (synthetic regions with ground truth, for tests and
benchmarks), ``cli`` (``socialcredit region ...``). docs/regions.md describes all of it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from socialcredit.regions.alerts import acknowledge_alert, list_alerts
    from socialcredit.regions.exchange import (
        accept_link,
        export_bundle,
        import_bundle,
        list_review_queue,
        reject_link,
        reverse_link,
        set_region,
        trust_publisher,
    )

# Imported on first use: every start of the console script imports this package (``socialcredit region ...`` is
# one of its commands), and exchange's imports (bundles, signatures, linkage) cost a fifth of that start.
_HOME = {"acknowledge_alert": "alerts", "list_alerts": "alerts"} | dict.fromkeys(
    (
        "accept_link",
        "export_bundle",
        "import_bundle",
        "list_review_queue",
        "reject_link",
        "reverse_link",
        "set_region",
        "trust_publisher",
    ),
    "exchange",
)


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOME])


__all__ = [
    "accept_link",
    "acknowledge_alert",
    "export_bundle",
    "import_bundle",
    "list_alerts",
    "list_review_queue",
    "reject_link",
    "reverse_link",
    "set_region",
    "trust_publisher",
]
