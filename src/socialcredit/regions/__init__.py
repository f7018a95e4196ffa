"""Regions: registries that share records in signed bundles and link the identities those records name.

``exchange`` (set-up, trusted publishers, export/import, review queue, reversing links), ``bundle`` (envelope and
signatures), ``linkage`` (Splink), ``alerts``, ``generate`` (synthetic regions with ground truth, for tests and
benchmarks), ``cli`` (``socialcredit region ...``). docs/regions.md describes all of it.
"""

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
