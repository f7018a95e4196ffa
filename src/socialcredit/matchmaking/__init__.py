"""Baihe matchmaking: a relying party of the registry's HTTP API (docs/matchmaking.md).

Its own store of client profiles, preferences and consent; ranked matches with the reasons of each; the credit
badge asked from the registry's public API, only for clients who consented. Names are imported on first use, so
the main CLI, which registers the ``matchmaking`` commands, does not pay for numpy, DuckDB or httpx at start.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from socialcredit.errors import MatchmakingError, RegistryError, UnknownClientError
    from socialcredit.matchmaking.ranking import Badge, Match, Ranking, Weights, rank
    from socialcredit.matchmaking.registry_client import RegistryClient
    from socialcredit.matchmaking.service import Matchmaker, MatchPage
    from socialcredit.matchmaking.store import MatchStore, Preferences, Profile, open_match_store, profile

_WHERE = {
    "MatchmakingError": "errors",
    "RegistryError": "errors",
    "UnknownClientError": "errors",
    "Badge": "ranking",
    "Match": "ranking",
    "Ranking": "ranking",
    "Weights": "ranking",
    "rank": "ranking",
    "RegistryClient": "registry_client",
    "MatchPage": "service",
    "Matchmaker": "service",
    "MatchStore": "store",
    "Preferences": "store",
    "Profile": "store",
    "open_match_store": "store",
    "profile": "store",
}

__all__ = [
    "Badge",
    "Match",
    "MatchPage",
    "MatchStore",
    "Matchmaker",
    "MatchmakingError",
    "Preferences",
    "Profile",
    "Ranking",
    "RegistryClient",
    "RegistryError",
    "UnknownClientError",
    "Weights",
    "open_match_store",
    "profile",
    "rank",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'socialcredit.matchmaking' has no attribute {name!r}")
    return getattr(import_module(f"socialcredit.matchmaking.{_WHERE[name]}"), name)
