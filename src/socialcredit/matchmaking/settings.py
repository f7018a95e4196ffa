"""Names the matchmaking service is configured by (kept apart so the CLI can name them without importing httpx)."""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "DB_ENV",
    "DEFAULT_MATCH_DB",
    "DEFAULT_REGISTRY_URL",
    "ISSUE_COMMAND",
    "KEY_ENV",
    "POLICY",
    "PURPOSE",
    "SERVICE",
    "URL_ENV",
]

SERVICE = "matchmaking_badge"  # the registry service whose decision is the badge
PURPOSE = "matchmaking"  # the purpose declared for the key and sent with every decision
# The policy the site relies on (Baihe joined the credit service Sesame): its tiers are the site's tier filter, and
# its key is bound to it, so a badge never comes from another policy that also defines the service.
POLICY = "sesame"
# The command that issues the site's key (named by the hint shown when no key is set; tests/test_parties runs it).
ISSUE_COMMAND = (
    f'socialcredit keys issue --role relying_party --name "Baihe matchmaking" --service {SERVICE} '
    f"--purpose {PURPOSE} --policy {POLICY}"
)
KEY_ENV = "SOCIALCREDIT_MATCHMAKING_KEY"  # the relying-party key
URL_ENV = "SOCIALCREDIT_REGISTRY_URL"  # the registry's HTTP API
DB_ENV = "SOCIALCREDIT_MATCHMAKING_DB"  # the matchmaking store
DEFAULT_REGISTRY_URL = "http://127.0.0.1:8000"
DEFAULT_MATCH_DB = Path("matchmaking.duckdb")
