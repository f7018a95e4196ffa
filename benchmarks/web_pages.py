"""Server time of every portal page and of the operator's file of a subject, on a benchmark's store.

    python -m benchmarks.web_pages /tmp/socialcredit-bench-small --requests 15

The service runs on a real uvicorn server on 127.0.0.1 (as ``socialcredit serve`` runs it), in this process. A
resident signs in with a one-time key through the sign-in form, as does an operator; each page is asked
``requests`` times, one at a time, after one request that warms it. The **server time** of a request is what the
service's own metrics middleware counts for its route (``Service.seconds``: from the request reaching the app to the
last byte of the answer, network excluded); the client's wall time is kept beside it, and the **CPU time** of the
process over the request (server and client run in this one process, DuckDB's threads included: on a shared machine
it says what the page costs where the server time also counts waiting for a core). The resident is the listed
person with the most records (the largest file a refused resident has); the operator opens that resident's file.

Used by the ``web`` step of benchmarks/run.py (``python benchmarks/run.py --scale small --steps web``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

TARGET_MS = 200.0  # every portal page and the operator's file, at the city scale (issue 18)
# (label, path, who) — the pages a resident signs in to, the operator's file of that resident, the public pages
PAGES = [
    ("overview", "/me", "resident"),
    ("records", "/me/records", "resident"),
    ("history", "/me/history", "resident"),
    ("inquiries", "/me/inquiries", "resident"),
    ("disputes", "/me/disputes", "resident"),
    ("consents", "/me/consents", "resident"),
    ("freeze", "/me/freeze", "resident"),
    ("printable file", "/me/file.html", "resident"),
    ("operator's file", "/ops/subjects/{subject}", "operator"),
    ("public look-up", "/lists?q={name}", "public"),
]
IN_TARGET = {label for label, _p, who in PAGES if who in ("resident", "operator")}


@contextmanager
def _serving(app: Any) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _sign_in(client: httpx.Client, key: str) -> None:
    form = client.get("/signin")
    found = re.search(r'name="csrf" value="([^"]+)"', form.text)
    if found is None:
        raise SystemExit("the sign-in page has no CSRF field")
    r = client.post("/signin", data={"key": key, "csrf": found.group(1), "next": ""})
    if r.status_code != 303:
        raise SystemExit(f"sign-in failed: {r.status_code} {r.text[:300]}")


def _resident(store: Any) -> dict[str, Any]:
    """The listed person with the most records in the latest run."""
    row = store.rows(
        """WITH listed AS (
               SELECT DISTINCT subject_id FROM run_list_entries
               WHERE run_id = (SELECT max(run_id) FROM score_runs WHERE finished_at IS NOT NULL)
           )
           SELECT r.subject_id, count(*) AS records FROM records r JOIN listed USING (subject_id)
           WHERE r.subject_id NOT LIKE '9%' GROUP BY r.subject_id ORDER BY records DESC, r.subject_id LIMIT 1"""
    )
    if not row:
        raise SystemExit("no listed resident: score the store first")
    name = store.one("SELECT name FROM current_subjects WHERE subject_id = ?", [row[0]["subject_id"]])
    return {"subject_id": row[0]["subject_id"], "records": int(row[0]["records"]), "name": name}


def measure(db: Path, requests: int = 15) -> dict[str, Any]:
    """Open the store at ``db``, serve it, and time every page ``requests`` times; the figures as a dict."""
    from socialcredit.api.app import create_app
    from socialcredit.registry.access.parties import issue_key
    from socialcredit.registry.access.throttle import Throttle, service_limits
    from socialcredit.settings import get_settings
    from socialcredit.store import open_store

    t = time.perf_counter()
    store = open_store(db, key="")
    who = _resident(store)
    resident_key = issue_key(store, "resident", who["name"] or "resident", subject=who["subject_id"]).token
    operator_key = issue_key(store, "operator", "benchmark operator").token
    # the benchmark is one client asking many pages: the public page limits are lifted, the rest kept
    limits = service_limits(get_settings())
    for name in ("public", "lookup"):
        limits[name] = dataclasses.replace(limits[name], count=1_000_000)
    generous = Throttle(limits)
    app = create_app(db, store=store, throttle=generous)
    service = app.state.service
    start_seconds = time.perf_counter() - t
    pages: dict[str, Any] = {}
    try:
        with _serving(app) as base:
            clients = {who_: httpx.Client(base_url=base, timeout=120) for who_ in ("resident", "operator", "public")}
            _sign_in(clients["resident"], resident_key)
            _sign_in(clients["operator"], operator_key)
            for label, pattern, role in PAGES:
                path = pattern.format(subject=who["subject_id"], name=who["name"])
                client = clients[role]
                server, wall, cpu = [], [], []
                for i in range(requests + 1):
                    route_before = dict(service.seconds)
                    t0, c0 = time.perf_counter(), time.process_time()
                    r = client.get(path)
                    elapsed, used = time.perf_counter() - t0, time.process_time() - c0
                    if r.status_code != 200:
                        raise SystemExit(f"{path}: {r.status_code} {r.text[:300]}")
                    spent = sum(service.seconds.values()) - sum(route_before.values())
                    if i:  # the first request warms the page (templates, policies parsed)
                        server.append(spent * 1000)
                        wall.append(elapsed * 1000)
                        cpu.append(used * 1000)
                pages[label] = {
                    "path": pattern,
                    "median_ms": statistics.median(server),
                    "max_ms": max(server),
                    "wall_median_ms": statistics.median(wall),
                    "cpu_median_ms": statistics.median(cpu),
                    "bytes": len(r.content),
                    "requests": requests,
                    "in_target": label in IN_TARGET,
                }
            for c in clients.values():
                c.close()
    finally:
        service.close()
        store.close()
    worst = max((p["median_ms"] for label, p in pages.items() if label in IN_TARGET), default=0.0)
    return {
        "subject_records": who["records"],
        "start_seconds": start_seconds,
        "pages": pages,
        "worst_median_ms": worst,
        "target_ms": TARGET_MS,
        "met": worst <= TARGET_MS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("work", type=Path, help="a benchmark work folder (its store.duckdb, ingested and scored)")
    parser.add_argument("--requests", type=int, default=15, help="timed requests per page (1 to 200)")
    a = parser.parse_args()
    if not 1 <= a.requests <= 200:
        raise SystemExit("--requests must be from 1 to 200")
    result = measure(a.work / "store.duckdb", a.requests)
    for label, p in result["pages"].items():
        print(
            f"{label:<16} {p['median_ms']:8.1f} ms median (max {p['max_ms']:.1f}, CPU {p['cpu_median_ms']:.1f} ms, "
            f"{p['bytes']:,} bytes)"
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
