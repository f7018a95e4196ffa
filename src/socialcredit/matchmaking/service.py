"""The matchmaking service: its store, the registry as a relying party, and the ranking, put together.

Faces (the pages, the CLI) call this; it calls the store and the registry client, never the registry's code.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass

from socialcredit.errors import RegistryError
from socialcredit.matchmaking.ranking import Badge, Ranking, Weights, rank
from socialcredit.matchmaking.reference import Tiers, credit_tiers
from socialcredit.matchmaking.registry_client import RegistryClient
from socialcredit.matchmaking.store import Client, MatchStore

__all__ = ["MatchPage", "Matchmaker"]

log = logging.getLogger("socialcredit.matchmaking")

# What a page without the registry's badges says, in its language (the registry's refusal, if any, before it)
_NO_SIGNAL = {"en": "ranked without any credit signal", "zh": "排序未使用任何信用信息"}
_NO_REGISTRY = {"en": "no registry configured: ", "zh": "未配置登记系统："}


@dataclass
class MatchPage:
    client: Client
    ranking: Ranking
    candidates: dict[int, Client]  # the profiles of the matches
    notice: str | None = None  # e.g. the registry could not be asked: ranked without any credit signal


class Matchmaker:
    """Ranked matches for a client, asking the registry about consenting candidates only."""

    def __init__(
        self,
        store: MatchStore,
        registry: RegistryClient | None,
        *,
        tiers: Tiers | None = None,
        weights: Weights | None = None,
    ) -> None:
        self.store, self.registry = store, registry
        self.tiers = tiers or credit_tiers()
        self.weights = weights or Weights()

    def _lookup(self, subject_ids: list[str], lang: str = "en") -> dict[str, Badge]:
        """The registry's badges, asked in ``lang``: a refusal of the registry is then in the notice's language."""
        if self.registry is None:
            return {}
        return self.registry.badges(subject_ids, lang)

    def rank(
        self, client_id: int, *, limit: int = 20, today: dt.date | None = None, lang: str = "en"
    ) -> tuple[Ranking, str | None]:
        """The ranking alone (no profiles): what the benchmark times; the notice (the registry was not asked, or
        did not answer) in ``lang``."""
        index = self.store.index(self.tiers, today=today)
        if client_id not in index.row_of:
            self.store.client(client_id)  # raises UnknownClientError
        notice = None if self.registry is not None else f"{_NO_REGISTRY[lang]}{_NO_SIGNAL[lang]}"
        try:
            lookup = functools.partial(self._lookup, lang=lang)
            ranking = rank(index, client_id, lookup=lookup, tiers=self.tiers, limit=limit, weights=self.weights)
        except RegistryError as exc:
            log.warning("ranking without credit signal: %s", exc)
            notice = f"{exc.said_in(lang)}{'；' if lang == 'zh' else '; '}{_NO_SIGNAL[lang]}"
            ranking = rank(
                index, client_id, lookup=lambda _ids: {}, tiers=self.tiers, limit=limit, weights=self.weights
            )
        return ranking, notice

    def matches(self, client_id: int, *, limit: int = 20, today: dt.date | None = None, lang: str = "en") -> MatchPage:
        """Ranked matches with the profiles to show and the reasons of each (the notice in ``lang``)."""
        client = self.store.client(client_id, today=today)
        ranking, notice = self.rank(client_id, limit=limit, today=today, lang=lang)
        profiles = self.store.clients([m.client_id for m in ranking.matches], today=today)
        return MatchPage(client, ranking, profiles, notice)

    def own_badge(self, client: Client, lang: str = "en") -> Badge | None:
        """The badge candidates would see for this client (asked only if the client consents); refused, with the
        registry's refusal and reasons in ``lang``, shown to the client alone."""
        if not client.consent or self.registry is None:
            return None
        return self.registry.badges([client.profile.subject_id], lang, explain=True).get(client.profile.subject_id)
