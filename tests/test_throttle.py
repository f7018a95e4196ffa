"""Throttling: 429 with Retry-After over a limit, per address and per key, and refused floods summarised in the
audit log (one row per client and window, not one per request).

The component is tested on a fake clock (hypothesis: memory stays bounded whatever the clients).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socialcredit.errors import SocialCreditError
from socialcredit.registry.access.throttle import OTHERS, Limit, Throttle, parse_rate
from socialcredit.settings import get_settings

WALL = dt.datetime(2026, 12, 3, 8, 0, 0)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _gate(count: int = 3, seconds: int = 60, max_clients: int = 10_000) -> tuple[Throttle, Clock]:
    clock = Clock()
    limits = {
        "auth": Limit("auth", count, seconds, "failed authentications", "address"),
        "key": Limit("key", count, seconds, "requests", "key"),
    }
    return Throttle(limits, max_clients=max_clients, clock=clock, wall=lambda: WALL), clock


# -- the component, on a fake clock -----------------------------------------------------------------------------


def test_a_window_admits_its_count_then_refuses_until_it_closes() -> None:
    gate, clock = _gate(count=3, seconds=60)
    assert [gate.take("key", "k1") for _ in range(3)] == [0, 0, 0]
    clock.now = 22.5
    assert gate.take("key", "k1") == 38  # the window opened at 0 closes at 60: 37.5 s, rounded up
    assert gate.take("key", "k2") == 0  # another client has its own window
    clock.now = 59.9
    assert gate.take("key", "k1") == 1
    clock.now = 60.0
    assert [gate.take("key", "k1") for _ in range(4)] == [0, 0, 0, 60]
    refusal = gate.refusal("key", 37)
    assert (refusal.status, refusal.code, refusal.retry_after) == (429, "too_many_requests", 37)
    assert str(refusal) == "at most 3 requests per minute from one key; retry after 37 s"


def test_failures_are_counted_apart_from_the_check() -> None:
    gate, _clock = _gate(count=2, seconds=600)
    assert gate.check("auth", "10.0.0.1") == 0
    gate.fail("auth", "10.0.0.1")
    assert gate.check("auth", "10.0.0.1") == 0  # a check counts nothing
    gate.fail("auth", "10.0.0.1")
    assert gate.check("auth", "10.0.0.1") == 600
    assert str(gate.refusal("auth", 600)) == (
        "at most 2 failed authentications per 600 seconds from one address; retry after 600 s"
    )


def test_refusals_become_one_flood_per_client_summarised_when_its_window_closes() -> None:
    gate, clock = _gate(count=1, seconds=60)
    gate.take("key", "k1")
    for _ in range(1_997):
        gate.take("key", "k1")
    clock.now = 59.0
    assert not gate.due() and gate.closed_floods() == []
    clock.now = 60.0
    assert gate.due()
    (flood,) = gate.closed_floods()
    assert (flood.client, flood.refused, flood.limit.name) == ("k1", 1_997, "key")
    assert flood.summary() == (
        "1,997 requests refused from key k1 between 2026-12-03 08:00:00 and 2026-12-03 08:00:00 UTC "
        "(at most 1 requests per minute from one key)"
    )
    assert gate.closed_floods(every=True) == [] and not gate.due()


@settings(max_examples=60, deadline=None, database=None)
@given(
    events=st.lists(
        st.tuples(st.integers(0, 5_000), st.floats(0, 5, allow_nan=False), st.booleans()), min_size=1, max_size=400
    ),
    max_clients=st.integers(1, 50),
    count=st.integers(1, 4),
)
def test_memory_stays_bounded_and_no_refusal_is_lost(
    events: list[tuple[int, float, bool]], max_clients: int, count: int
) -> None:
    """Whatever the clients (an attacker rotating addresses), each limit tracks at most ``max_clients`` clients and
    at most ``max_clients`` floods (and one "other clients" per limit) await their summary; every refusal is counted
    in some summary."""
    gate, clock = _gate(count=count, seconds=10, max_clients=max_clients)
    refused = 0
    for client, step, failure in events:
        clock.now += step
        name = f"10.{client >> 8}.{client & 255}.1"
        if failure:
            if gate.check("auth", name):
                refused += 1
            else:
                gate.fail("auth", name)
        elif gate.take("key", name):
            refused += 1
        assert gate.tracked() <= 2 * max_clients
        assert len(gate.floods) <= max_clients + 2  # + one "other clients" entry per limit
    floods = gate.closed_floods(every=True)
    assert sum(f.refused for f in floods) == refused
    assert all(f.client == OTHERS or f.client.startswith("10.") for f in floods)


def test_one_client_never_passes_more_than_its_count_in_a_window() -> None:
    gate, clock = _gate(count=5, seconds=10)
    passed: list[float] = []
    for i in range(1_000):
        clock.now = i * 0.037
        if gate.take("key", "k") == 0:
            passed.append(clock.now)
    windows = Counter(int(t // 10) for t in passed)  # windows open at 0, 10, 20, …: the first request is at 0
    assert set(windows.values()) == {5}


def test_a_rate_is_count_slash_seconds() -> None:
    assert parse_rate("20/60") == (20, 60)
    for bad in ("20", "0/60", "20/0", "x/60", "-1/60", "20/60/1"):
        with pytest.raises(ValueError, match="is not a rate COUNT/SECONDS such as 20/60"):
            parse_rate(bad)


def test_a_bad_rate_in_the_settings_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCIALCREDIT_THROTTLE_AUTH", "twenty")
    with pytest.raises(SocialCreditError) as caught:
        get_settings()
    assert str(caught.value) == "SOCIALCREDIT_THROTTLE_AUTH='twenty' is not a rate COUNT/SECONDS such as 20/60"
    monkeypatch.setenv("SOCIALCREDIT_THROTTLE_AUTH", " 5 / 30 ")
    assert get_settings().throttle_auth == "5/30"
