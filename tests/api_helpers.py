"""A running service for the API tests: a small scored store, keys for every role, uvicorn on loopback."""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from due_world import score_on_its_day
from socialcredit.api.app import create_app
from socialcredit.example import AS_OF, write_example
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.access.throttle import Throttle, service_limits
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.settings import get_settings
from socialcredit.store import Store, open_store
from store_copies import copy_of

__all__ = [
    "auth",
    "copy_of",
    "execute",
    "free_port",
    "generous",
    "ingested_example",
    "one",
    "scored_example",
    "serve",
    "serving",
    "wait_until_serving",
    "world",
]


def generous() -> Throttle:
    """The settings' limits raised a thousandfold: the fuzz sends thousands of requests without a valid key from
    one address (tests/test_throttle.py tests the limits themselves)."""
    limits = {n: replace(limit, count=limit.count * 1000) for n, limit in service_limits(get_settings()).items()}
    return Throttle(limits)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("api")
    store = scored_example(folder, ("beijing", "sesame"))
    listed = store.one(
        "SELECT subject_id FROM listings WHERE policy_id = 'beijing' AND list_id = 'blacklist' "
        "AND status = 'effective' ORDER BY subject_id LIMIT 1"
    )
    other = store.one(
        "SELECT subject_id FROM run_results r JOIN score_runs s USING (run_id) WHERE s.policy_id = 'beijing' "
        "AND r.kind = 'person' AND r.subject_id <> ? ORDER BY r.subject_id LIMIT 1",
        [listed],
    )
    keys = {
        "railway": issue_key(
            store,
            "relying_party",
            "China Railway 12306",
            services=["high_speed_rail"],
            purposes=["ticket purchase"],
            known_services={"high_speed_rail", "deposit_free_rental"},
        ).token,
        "resident": issue_key(store, "resident", "a resident", subject=listed).token,
        "operator": issue_key(store, "operator", "registry operations").token,
        "auditor": issue_key(store, "auditor", "the auditor").token,
        "furnisher": issue_key(store, "furnisher", "the courts", source="courts").token,
    }
    app = create_app(folder / "store.duckdb", store=store, max_body=256 * 1024, throttle=generous())
    # a real server on loopback, and a real HTTP client
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield {
            "store": store,
            "service": app.state.service,
            "app": app,
            "client": client,
            "keys": keys,
            "listed": listed,
            "other": other,
            "port": int(base.rsplit(":", 1)[1]),
            "folder": folder,
        }
    store.close()


def one(world: dict[str, Any], sql: str, params: list[Any] | None = None) -> Any:
    """Read the store as the service does: under its writer lock (its journal flusher shares the connection)."""
    with world["service"].writer() as store:
        return store.one(sql, params)


def execute(world: dict[str, Any], sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with world["service"].writer() as store:
        return store.execute(sql, params).fetchall()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` on a real uvicorn server on a free loopback port while the block runs; yields its base URL."""
    # The socket is bound here and handed to uvicorn, so no other server can take the port between the two.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # as `socialcredit serve` runs it: X-Forwarded-For is not believed (the limits are per client address)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def serve(app: Any) -> Iterator[httpx.Client]:
    """``app`` served as by ``serving``; an HTTP client to it."""
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield client


def free_port() -> int:
    """A loopback port nobody listens on (when it is asked)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_serving(client: httpx.Client, proc: subprocess.Popen[Any], log: Path, seconds: float) -> None:
    """Wait until the console script ``proc`` answers ``/healthz`` through ``client``; fail with its stderr (kept in
    ``log``) if it ends first, or after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        assert proc.poll() is None, log.read_text("utf-8")
        with contextlib.suppress(httpx.TransportError):
            if client.get("/healthz").status_code == 200:
                return
        assert time.monotonic() < deadline, f"it did not start serving in {seconds:g} s"
        time.sleep(0.2)


def scored_example(folder: Path, policies: tuple[str, ...] = ("beijing",)) -> Store:
    """The shipped example (200 residents) ingested into a store in ``folder``, and scored under each of ``policies``
    before and after a blacklisting's notice period (61 days apart), so that the blacklisting is in effect (built
    once per process for each tuple of policies: see copy_of)."""
    return copy_of(folder, "scored-example-" + "-".join(policies), lambda where: _build_scored_example(where, policies))


def _build_scored_example(folder: Path, policies: tuple[str, ...]) -> Store:
    store = ingested_example(folder)
    for as_of in (AS_OF - dt.timedelta(days=61), AS_OF):
        for pid in policies:
            score_on_its_day(store, resolve_policy(store, pid), as_of)
    return store


def ingested_example(folder: Path) -> Store:
    """The shipped example (200 residents, written to ``folder``/example) ingested as of AS_OF into
    ``folder``/store.duckdb, nothing scored: the start of the API's, the pages' and the portal's worlds (built once
    per process, copied: see copy_of)."""
    return copy_of(folder, "example-ingested", _build_ingested_example)


def _build_ingested_example(folder: Path) -> Store:
    files = write_example(folder / "example", residents=200)
    store = open_store(folder / "store.duckdb", create=True, key="")
    ingest_file(store, files.subjects, "civil_affairs", today=AS_OF)
    for source, path in files.sources.items():
        ingest_file(store, path, source, today=AS_OF)
    return store
