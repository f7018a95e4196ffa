"""Throttling: 429 with Retry-After over a limit, per address and per key, and refused floods summarised in the
audit log (one row per client and window, not one per request).

The component is tested on a fake clock (hypothesis: memory stays bounded whatever the clients); the service is
tested over a real uvicorn server on loopback, with its limits made small through the settings. A second client
address is another loopback address (127.0.0.2, …): Linux routes all of 127.0.0.0/8 to the loopback interface.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api_helpers import auth, serving
from socialcredit.api.app import create_app
from socialcredit.errors import SocialCreditError
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.access.throttle import OTHERS, Limit, Throttle, parse_rate
from socialcredit.settings import get_settings
from socialcredit.store import Store, open_store

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
        "(at most 1 request per minute from one key)"
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


def test_a_hundred_thousand_addresses_leave_a_thousand_tracked() -> None:
    gate, clock = _gate(count=1, seconds=60, max_clients=1_000)
    refused = 0
    for i in range(100_000):
        clock.now = i * 0.001
        address = f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}"
        gate.fail("auth", address)
        refused += gate.check("auth", address) > 0  # each address is over its limit of one at once
    assert refused == 100_000
    assert gate.tracked() == 1_000  # the least recently seen forgotten
    floods = gate.closed_floods(every=True)
    assert len(floods) == 1_001 and sum(f.refused for f in floods) == 100_000  # 1,000 and "other clients"
    others = next(f for f in floods if f.client == OTHERS)
    assert others.refused == 99_000 and others.summary().startswith("99,000 requests refused from other clients")


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


# -- the service, over a real server ----------------------------------------------------------------------------


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Any]]:
    """A store with an operator key; ``start(**limits)`` serves it with those limits (SOCIALCREDIT_THROTTLE_*)."""
    store = open_store(tmp_path / "store.duckdb", create=True, key="")
    keys = {
        "operator": issue_key(store, "operator", "registry operations"),
        "other": issue_key(store, "operator", "second desk"),
    }

    @contextmanager
    def start(**limits: str) -> Iterator[dict[str, Any]]:
        for name, value in limits.items():
            monkeypatch.setenv(f"SOCIALCREDIT_THROTTLE_{name.upper()}", value)
        app = create_app(tmp_path / "store.duckdb", store=store)
        with serving(app) as base:
            yield {"base": base, "store": store, "service": app.state.service, "keys": keys}

    yield start
    store.close()


def _client(base: str, address: str = "127.0.0.1") -> httpx.Client:
    """A keep-alive client whose connections come from ``address`` (a loopback address)."""
    return httpx.Client(base_url=base, timeout=30, transport=httpx.HTTPTransport(local_address=address))


def _bad_key() -> str:
    return f"sc_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)[:43]}"


def _audit(store: Store) -> list[dict[str, Any]]:
    return store.rows("SELECT seq, actor, action, detail FROM audit_log ORDER BY seq")


def _audit_now(site: dict[str, Any]) -> list[dict[str, Any]]:
    """The audit log while the server runs: read under the service's writer (its threads share the connection)."""
    with site["service"].writer() as store:
        return _audit(store)


def _retry(r: httpx.Response) -> int:
    wait = int(r.headers["retry-after"])
    assert r.json()["error"]["message"].endswith(f"; retry after {wait} s")
    return wait


def test_two_thousand_bad_keys_get_401_then_429_and_one_summary_in_the_audit_log(
    registry: Callable[..., Any], capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    with registry(auth="20/600") as site:
        store, before = site["store"], len(_audit_now(site))
        statuses: list[int] = []
        answers: dict[int, httpx.Response] = {}
        with _client(site["base"]) as client:
            for _ in range(2_000):  # bounded by count, and by time below
                r = client.get("/v1/runs", headers=auth(_bad_key()))
                statuses.append(r.status_code)
                answers.setdefault(r.status_code, r)
                if time.monotonic() - started > 300:
                    break
        elapsed = time.monotonic() - started
        assert statuses == [401] * 20 + [429] * 1_980
        assert answers[401].json() == {"error": {"code": "key_unknown", "message": "the API key is not known"}}
        refused = answers[429]
        wait = _retry(refused)
        assert 0 < wait <= 600
        assert refused.json() == {
            "error": {
                "code": "too_many_requests",
                "message": f"at most 20 failed authentications per 600 seconds from one address; retry after {wait} s",
            }
        }
        during = _audit_now(site)[before:]
        assert [e["action"] for e in during] == ["access_refused"] * 20  # the 1,980 refusals wait for their summary
        # a good key from the flooded address is refused too: its keys are not looked at until the window closes
        with _client(site["base"]) as client:
            assert client.get("/v1/runs", headers=auth(site["keys"]["operator"].token)).status_code == 429
        # ... but not from another address
        with _client(site["base"], "127.0.0.2") as client:
            assert client.get("/v1/runs", headers=auth(site["keys"]["operator"].token)).status_code == 200
    after = _audit(store)[before:]  # the server stopped: the open flood was summarised at shutdown
    assert [e["action"] for e in after] == ["access_refused"] * 20 + ["requests_throttled"]
    summary = after[-1]
    detail = json.loads(summary["detail"])
    assert summary["actor"] == "address:127.0.0.1"
    assert (detail["limit"], detail["refused"]) == ("auth", 1_981)
    assert detail["rule"] == "at most 20 failed authentications per 600 seconds from one address"
    assert re.fullmatch(
        r"1,981 requests refused from address 127\.0\.0\.1 between \d{4}-\d\d-\d\d \d\d:\d\d:\d\d and "
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(at most 20 failed authentications per 600 seconds from one address\)",
        detail["summary"],
    ), detail["summary"]
    with capsys.disabled():
        print(
            f"\n2,000 bad keys: {statuses.count(401)} x 401, {statuses.count(429)} x 429 in {elapsed:.1f} s "
            f"({len(statuses) / elapsed:.0f}/s); audit rows {before} -> {before + len(after)} (+{len(after)})"
        )


def test_a_flood_is_summarised_when_its_window_closes_and_the_next_window_starts_afresh(
    registry: Callable[..., Any],
) -> None:
    with registry(auth="2/3") as site, _client(site["base"]) as client:
        before = len(_audit_now(site))
        statuses = [client.get("/v1/runs", headers=auth(_bad_key())).status_code for _ in range(10)]
        assert statuses == [401, 401] + [429] * 8
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the flusher writes the summary once the window has closed
            rows = _audit_now(site)[before:]
            if rows and rows[-1]["action"] == "requests_throttled":
                break
            time.sleep(0.1)
        assert [e["action"] for e in rows] == ["access_refused", "access_refused", "requests_throttled"]
        assert json.loads(rows[-1]["detail"])["refused"] == 8
        assert client.get("/v1/runs", headers=auth(_bad_key())).status_code == 401  # a new window


def test_a_known_key_with_wrong_secrets_from_many_addresses_is_throttled_but_its_owner_is_not(
    registry: Callable[..., Any],
) -> None:
    with registry(key_failures="3/600") as site:
        token = site["keys"]["operator"].token
        wrong = token[:16] + ("A" if token[16] != "A" else "B") + token[17:]
        statuses = []
        for n in range(2, 7):
            with _client(site["base"], f"127.0.0.{n}") as client:
                statuses.append(client.get("/v1/runs", headers=auth(wrong)).status_code)
        assert statuses == [401, 401, 401, 429, 429]
        with _client(site["base"], "127.0.0.7") as client:
            r = client.get("/v1/runs", headers=auth(wrong))
            wait = _retry(r)
            assert r.json()["error"]["message"] == (
                f"at most 3 failed authentications per 600 seconds from one key; retry after {wait} s"
            )
            assert client.get("/v1/runs", headers=auth(token)).status_code == 200


def test_x_forwarded_for_does_not_give_a_flood_new_addresses(registry: Callable[..., Any]) -> None:
    with registry(auth="3/600") as site, _client(site["base"]) as client:
        statuses = [
            client.get("/v1/runs", headers={**auth(_bad_key()), "X-Forwarded-For": f"10.0.0.{i}"}).status_code
            for i in range(6)
        ]
        assert statuses == [401, 401, 401, 429, 429, 429]


def test_each_key_has_its_own_limit_of_requests(registry: Callable[..., Any]) -> None:
    with registry(key="5/600") as site, _client(site["base"]) as client:
        mine, other = site["keys"]["operator"].token, site["keys"]["other"].token
        assert [client.get("/v1/runs", headers=auth(mine)).status_code for _ in range(6)] == [200] * 5 + [429]
        r = client.get("/v1/runs", headers=auth(mine))
        wait = _retry(r)
        assert r.json()["error"]["message"] == f"at most 5 requests per 600 seconds from one key; retry after {wait} s"
        assert client.get("/v1/runs", headers=auth(other)).status_code == 200


def test_the_public_look_up_is_limited_per_address_across_the_api_and_the_pages(
    registry: Callable[..., Any],
) -> None:
    with registry(lookup="3/600") as site:
        store, before = site["store"], len(_audit_now(site))
        with _client(site["base"]) as client:
            assert [client.get("/v1/lists/lookup", params={"q": "张伟"}).status_code for _ in range(3)] == [200] * 3
            r = client.get("/v1/lists/lookup", params={"q": "张伟"})
            assert r.status_code == 429
            wait = _retry(r)
            assert r.json()["error"] == {
                "code": "too_many_requests",
                "message": f"at most 3 searches of the published lists per 600 seconds from one address; "
                f"retry after {wait} s",
            }
            page = client.get("/lists", params={"q": "张伟"})  # the page shares the limit
            assert page.status_code == 429 and 0 < int(page.headers["retry-after"]) <= 600
            assert (
                f"查询过于频繁：同一地址每 600 秒最多查询 3 次；请在 {page.headers['retry-after']} 秒后再试。"
                in page.text
            )
            page = client.get("/lists", params={"q": "张伟", "lang": "en"})
            assert (
                "Too many searches: at most 3 searches per 600 seconds from one address; "
                f"retry after {page.headers['retry-after']} s." in page.text
            )
        with _client(site["base"], "127.0.0.2") as client:
            assert client.get("/v1/lists/lookup", params={"q": "张伟"}).status_code == 200
    rows = _audit(store)[before:]
    assert [e["action"] for e in rows] == ["public_lookup"] * 4 + ["requests_throttled"]
    assert json.loads(rows[-1]["detail"])["refused"] == 3


def test_failed_sign_ins_are_limited_per_address_in_both_languages(registry: Callable[..., Any]) -> None:
    with registry(signin="3/600") as site:
        store, before = site["store"], len(_audit_now(site))
        with _client(site["base"]) as client:
            csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/signin").text)[1]  # type: ignore[index]
            tries = [client.post("/signin", data={"key": _bad_key(), "csrf": csrf}) for _ in range(5)]
            assert [r.status_code for r in tries] == [401, 401, 401, 429, 429]
            assert "密钥无效。" in tries[0].text
            wait = tries[3].headers["retry-after"]
            assert f"登录失败次数过多：同一地址每 600 秒最多 3 次登录失败；请在 {wait} 秒后再试。" in tries[3].text
            link = client.post("/signin/link?lang=en", data={"token": "scl_nonsense", "csrf": csrf})
            assert link.status_code == 429
            assert (
                "Too many failed sign-ins: at most 3 failed sign-ins per 600 seconds from one address; "
                f"retry after {link.headers['retry-after']} s." in link.text
            )
            # a form without its CSRF token from the same address is refused by the limit before it is looked at
            assert client.post("/signin", data={"key": _bad_key()}).status_code == 429
        with _client(site["base"], "127.0.0.2") as client:
            csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/signin").text)[1]  # type: ignore[index]
            token = site["keys"]["operator"].token
            r = client.post("/signin", data={"key": token, "csrf": csrf}, follow_redirects=False)
            assert (r.status_code, r.headers["location"]) == (303, "/ops")
    rows = _audit(store)[before:]
    actions = [e["action"] for e in rows]
    assert actions.count("signin_refused") == 3 and actions.count("requests_throttled") == 1
    assert json.loads(rows[actions.index("requests_throttled")]["detail"])["refused"] == 4


def test_every_public_endpoint_is_limited_per_address(registry: Callable[..., Any]) -> None:
    with registry(public="4/600") as site, _client(site["base"]) as client:
        paths = ["/healthz", "/metrics", "/v1/policies/beijing/2026.2", "/signin"]
        assert [client.get(p).status_code for p in paths] == [200, 200, 404, 200]
        for path in [*paths, "/lists"]:
            r = client.get(path)
            assert r.status_code == 429 and int(r.headers["retry-after"]) > 0, path
        assert (
            client.get("/healthz")
            .json()["error"]["message"]
            .startswith("at most 4 requests without a key per 600 seconds from one address; retry after ")
        )
        assert "同一地址未登录时每 600 秒最多 4 次请求" in client.get("/signin").text
        with _client(site["base"], "127.0.0.2") as other:
            assert other.get("/healthz").status_code == 200
        # a signed-in operator is not a visitor without a key
        assert client.get("/v1/runs", headers=auth(site["keys"]["operator"].token)).status_code == 200


def test_refusals_from_many_addresses_are_audited_one_by_one_only_up_to_a_limit_of_all_together(
    registry: Callable[..., Any],
) -> None:
    """An attacker rotating addresses stays under each address's limit; the rows it causes are bounded still."""
    with registry(auth="2/600", audit="5/600") as site:
        store, before = site["store"], len(_audit_now(site))
        statuses = []
        for n in range(2, 12):
            with _client(site["base"], f"127.0.0.{n}") as client:
                statuses += [client.get("/v1/runs", headers=auth(_bad_key())).status_code for _ in range(2)]
        assert statuses == [401] * 20  # each answered as before
        assert [e["action"] for e in _audit_now(site)[before:]] == ["access_refused"] * 5
    rows = _audit(store)[before:]
    assert [(e["actor"], e["action"]) for e in rows] == [("anonymous", "access_refused")] * 5 + [
        ("anonymous", "requests_throttled")
    ]
    detail = json.loads(rows[-1]["detail"])
    assert (detail["limit"], detail["refused"]) == ("audit", 15)
    assert detail["summary"].startswith("15 requests refused from all clients between ")
    assert detail["summary"].endswith(
        "UTC (at most 5 refusals of unknown callers audited one by one per 600 seconds from all clients together)"
    )
