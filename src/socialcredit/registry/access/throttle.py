"""Throttling: at most so many requests per window from one client, in bounded memory; refused floods summarised.

A :class:`Limit` says how many requests (or failed authentications) one client — an address or a key — may make in
a window of seconds. :class:`Windows` counts them per client in a fixed window that opens with the client's first
request after its last window closed: within it, the first ``count`` are admitted and every later one is refused
until the window closes (``Retry-After`` is the time left). It keeps two numbers per client and tracks at most
``max_clients`` clients; when it is full the least recently seen one is forgotten, so an attacker rotating addresses
cannot grow it, and must send from ``max_clients`` other addresses to free one of its own.

Requests refused by a limit are not audited one by one (a flood would become a flood of audit rows): :class:`Floods`
counts them per client and window, and the service writes one summary row per client when the window closes, or at
shutdown. It too holds at most ``max_clients`` entries; refusals beyond that are counted under one entry,
"other clients".

    >>> gate = Throttle({"auth": Limit("auth", 2, 60, "failed authentications", "address")}, clock=lambda: 0.0)
    >>> gate.fail("auth", "10.0.0.1"); gate.fail("auth", "10.0.0.1"); gate.check("auth", "10.0.0.1")
    60
    >>> gate.refusal("auth", 60).message
    'at most 2 failed authentications per minute from one address; retry after 60 s'
"""

from __future__ import annotations

import datetime as dt
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from socialcredit.errors import TooManyRequestsError
from socialcredit.languages import counted
from socialcredit.settings import Settings

__all__ = ["Flood", "Floods", "Limit", "Throttle", "Windows", "parse_rate", "service_limits"]

_RATE = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")
OTHERS = "other clients"


def parse_rate(text: str) -> tuple[int, int]:
    """``"20/60"`` → (20, 60): at most 20 in 60 seconds; ValueError unless both are positive whole numbers."""
    match = _RATE.fullmatch(text)
    if match is None or int(match[1]) < 1 or int(match[2]) < 1:
        raise ValueError(f"{text!r} is not a rate COUNT/SECONDS such as 20/60")
    return int(match[1]), int(match[2])


def _one(what: str) -> str:
    """``what`` (a plural: "failed sign-ins", "searches of the published lists") for a count of one: its first plural
    word made singular ("at most 1 failed sign-ins per minute" was said)."""
    words = what.split(" ")
    for i, word in enumerate(words):
        if word.endswith("s"):
            words[i] = word[:-2] if word.endswith(("ches", "shes")) else word[:-1]
            break
    return " ".join(words)


def _period(seconds: int) -> str:
    return {1: "second", 60: "minute", 3600: "hour", 86400: "day"}.get(seconds, f"{seconds} seconds")


@dataclass(frozen=True)
class Limit:
    """At most ``count`` ``what`` per ``seconds`` from one client, which is an ``"address"`` or a ``"key"``, or from
    every client together (``"all"``, one client named ``"all"``)."""

    name: str
    count: int
    seconds: int
    what: str
    per: str = "address"

    def rule(self) -> str:
        """The limit in words: "at most 20 failed authentications per minute from one address"."""
        source = "all clients together" if self.per == "all" else f"one {self.per}"
        what = _one(self.what) if self.count == 1 else self.what
        return f"at most {self.count:,} {what} per {_period(self.seconds)} from {source}"

    def message(self, retry_after: int) -> str:
        return f"{self.rule()}; retry after {retry_after} s"


class Windows:
    """Requests per client in fixed windows of ``limit.seconds``, at most ``max_clients`` clients (not thread-safe:
    :class:`Throttle` holds the lock)."""

    def __init__(self, limit: Limit, max_clients: int) -> None:
        self.limit, self.max_clients = limit, max_clients
        self._open: OrderedDict[str, list[float]] = OrderedDict()  # client → [window opened at, requests]

    def __len__(self) -> int:
        return len(self._open)

    def _window(self, client: str, now: float) -> list[float]:
        window = self._open.get(client)
        if window is None or window[0] + self.limit.seconds <= now:
            window = [now, 0.0]
            self._open[client] = window
            if len(self._open) > self.max_clients:
                self._open.popitem(last=False)
        self._open.move_to_end(client)
        return window

    def wait(self, client: str, now: float) -> int:
        """0 if ``client`` is under the limit, else the whole seconds until its window closes (at least 1)."""
        window = self._open.get(client)
        if window is None or window[0] + self.limit.seconds <= now or window[1] < self.limit.count:
            return 0
        self._open.move_to_end(client)
        return max(1, math.ceil(window[0] + self.limit.seconds - now))

    def count(self, client: str, now: float) -> None:
        """Count one request (or failure) of ``client``."""
        self._window(client, now)[1] += 1

    def closes(self, client: str, now: float) -> float:
        """When the client's window closes (``now`` if it has none)."""
        window = self._open.get(client)
        return now if window is None else window[0] + self.limit.seconds


@dataclass
class Flood:
    """Requests of one client refused by one limit, from ``first`` to ``last`` (UTC)."""

    limit: Limit
    client: str
    refused: int
    first: dt.datetime
    last: dt.datetime
    closes: float  # on the throttle's clock

    def summary(self) -> str:
        """'1,980 requests refused from address 127.0.0.1 between … and … (at most 20 …)'."""
        who = self.client if self.client == OTHERS else f"{self.limit.per} {self.client}"
        if self.limit.per == "all":
            who = "all clients"
        return (
            f"{counted(self.refused, 'request', grouped=True)} refused from {who} between "
            f"{self.first:%Y-%m-%d %H:%M:%S} and {self.last:%Y-%m-%d %H:%M:%S} UTC ({self.limit.rule()})"
        )


class Floods:
    """Refused requests per (limit, client) until their window closes; at most ``max_entries`` entries."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._floods: dict[tuple[str, str], Flood] = {}
        self._next = math.inf  # the earliest close among the entries

    def __len__(self) -> int:
        return len(self._floods)

    def refused(self, limit: Limit, client: str, closes: float, at: dt.datetime) -> None:
        key = (limit.name, client)
        flood = self._floods.get(key)
        if flood is None and len(self._floods) >= self.max_entries:
            key, client = (limit.name, OTHERS), OTHERS
            flood = self._floods.get(key)
        if flood is None:
            self._floods[key] = flood = Flood(limit, client, 0, at, at, closes)
        flood.refused += 1
        flood.last = at
        flood.closes = max(flood.closes, closes)
        self._next = min(self._next, flood.closes)

    def due(self, now: float) -> bool:
        return self._next <= now

    def take(self, now: float | None = None) -> list[Flood]:
        """The floods whose window closed by ``now`` (every one if None), removed."""
        done = [k for k, f in self._floods.items() if now is None or f.closes <= now]
        out = [self._floods.pop(k) for k in done]
        self._next = min((f.closes for f in self._floods.values()), default=math.inf)
        return out


def service_limits(settings: Settings) -> dict[str, Limit]:
    """The limits of a running service, as the settings say (docs/api.md, "Limits on requests")."""
    what = {
        "auth": ("failed authentications", "address", settings.throttle_auth),
        "key_failures": ("failed authentications", "key", settings.throttle_key_failures),
        "signin": ("failed sign-ins", "address", settings.throttle_signin),
        "key": ("requests", "key", settings.throttle_key),
        "lookup": ("searches of the published lists", "address", settings.throttle_lookup),
        "public": ("requests without a key", "address", settings.throttle_public),
        "audit": ("refusals of unknown callers audited one by one", "all", settings.throttle_audit),
    }
    return {name: Limit(name, *parse_rate(rate), words, per) for name, (words, per, rate) in what.items()}


class Throttle:
    """Every limit of a service, by name, and the floods they refused; safe to call from any thread."""

    def __init__(
        self,
        limits: Mapping[str, Limit],
        *,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.limits = dict(limits)
        self.max_clients = max_clients
        self._windows = {name: Windows(limit, max_clients) for name, limit in self.limits.items()}
        self.floods = Floods(max_clients)
        self._clock = clock
        self._wall = wall or (lambda: dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0))
        self._lock = threading.Lock()

    def _refused(self, name: str, client: str, now: float) -> None:
        self.floods.refused(self.limits[name], client, self._windows[name].closes(client, now), self._wall())

    def check(self, name: str, client: str) -> int:
        """0 if ``client`` is under limit ``name`` (nothing is counted), else the seconds to wait; the refusal is
        counted in the floods."""
        with self._lock:
            now = self._clock()
            wait = self._windows[name].wait(client, now)
            if wait:
                self._refused(name, client, now)
            return wait

    def take(self, name: str, client: str) -> int:
        """As :meth:`check`, and an admitted request is counted."""
        with self._lock:
            now = self._clock()
            windows = self._windows[name]
            wait = windows.wait(client, now)
            if wait:
                self._refused(name, client, now)
            else:
                windows.count(client, now)
            return wait

    def fail(self, name: str, client: str) -> None:
        """Count a failure (of a limit on failures, such as failed authentications)."""
        with self._lock:
            self._windows[name].count(client, self._clock())

    def refusal(self, name: str, retry_after: int) -> TooManyRequestsError:
        """The 429 of limit ``name``: its message names the limit, ``retry_after`` the seconds to wait."""
        limit = self.limits[name]
        return TooManyRequestsError(limit.message(retry_after), retry_after=retry_after, limit=name)

    def tracked(self) -> int:
        """How many clients the limits track in all (at most ``max_clients`` each)."""
        with self._lock:
            return sum(len(w) for w in self._windows.values())

    def due(self) -> bool:
        """Whether a flood's window has closed (its summary is due)."""
        return self.floods.due(self._clock())

    def closed_floods(self, *, every: bool = False) -> list[Flood]:
        """The floods whose window has closed (``every``: all of them, at shutdown), removed."""
        with self._lock:
            return self.floods.take(None if every else self._clock())
