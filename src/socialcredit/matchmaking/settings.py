"""Names the matchmaking service is configured by (kept apart so the CLI can name them without importing httpx)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["DB_ENV", "DEFAULT_MATCH_DB", "DEFAULT_REGISTRY_URL", "KEY_ENV", "PURPOSE", "SERVICE", "URL_ENV"]

SERVICE = "matchmaking_badge"  # the registry service whose decision is the badge
PURPOSE = "matchmaking"  # the purpose declared for the key and sent with every decision
KEY_ENV = "SOCIALCREDIT_MATCHMAKING_KEY"  # the relying-party key
URL_ENV = "SOCIALCREDIT_REGISTRY_URL"  # the registry's HTTP API
DB_ENV = "SOCIALCREDIT_MATCHMAKING_DB"  # the matchmaking store
DEFAULT_REGISTRY_URL = "http://127.0.0.1:8000"
DEFAULT_MATCH_DB = Path("matchmaking.duckdb")
