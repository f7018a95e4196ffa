"""Ranked matches for one client of a 50 000-client base, with the credit badge asked from the registry over HTTP.

    python benchmarks/matchmaking.py --residents 70000 --clients 50000 --viewers 200

Builds a registry (generated population, scored under ``sesame``), issues the matchmaking relying-party key, starts
the registry service (``socialcredit serve``) on 127.0.0.1 in another process, draws the client base from the
population's residents into the matchmaking store, then for ``--viewers`` clients picked at random measures, in
the same run and interleaved:

* ``with_badge``: ``Matchmaker.matches`` (filters, scores, the badge batch over HTTP for the consenting candidates
  who could reach the page, the profiles of the 20 shown): what a client waits for;
* ``baseline``: the same with no registry (no badge call, no credit part): the ranking alone;
* ``consent_change``: giving or withdrawing consent (the write and the patch of the in-memory index of every
  client), and ``after_a_consent_change``: the viewer's next ranking.

Results go to benchmarks/results/matchmaking.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stats(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {
        "median_ms": statistics.median(ordered) * 1000,
        "p95_ms": ordered[round(0.95 * (len(ordered) - 1))] * 1000,
        "mean_ms": statistics.fmean(ordered) * 1000,
        "max_ms": ordered[-1] * 1000,
    }


def prepare_registry(work: Path, residents: int, reuse: bool) -> tuple[Path, str, dict[str, float]]:
    from socialcredit.generate import AS_OF, generate
    from socialcredit.registry.access.parties import issue_key
    from socialcredit.registry.records.population import load_population
    from socialcredit.registry.scoring.policies import resolve_policy
    from socialcredit.registry.scoring.runs import score
    from socialcredit.store import open_store

    db, timings = work / "registry.duckdb", {}
    if not (reuse and db.exists()):
        shutil.rmtree(work, ignore_errors=True)
        t = time.perf_counter()
        generate(residents, seed=11, out=work / "population")
        timings["generate_population_s"] = time.perf_counter() - t
        t = time.perf_counter()
        with open_store(db, create=True, key="") as store:
            load_population(store, work / "population", today=AS_OF)
            score(store, resolve_policy(store, "sesame"), AS_OF, today=AS_OF)
        timings["load_and_score_s"] = time.perf_counter() - t
    with open_store(db, key="") as store:
        token = issue_key(
            store,
            "relying_party",
            "Baihe matchmaking",
            services=["matchmaking_badge"],
            purposes=["matchmaking"],
            known_services={"matchmaking_badge"},
        ).token
    return db, token, timings


def serve_registry(db: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "SOCIALCREDIT_DB_KEY": ""}
    command = ["serve", "--host", "127.0.0.1", "--port", str(port), "--db", str(db)]
    server = subprocess.Popen(
        [sys.executable, "-m", "socialcredit.cli", *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the registry service stopped: {server.stderr.read().decode() if server.stderr else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("the registry service did not start within 120 s")


def measure(work: Path, port: int, token: str, clients: int, viewers: int, limit: int) -> dict[str, Any]:
    from socialcredit.generate import AS_OF
    from socialcredit.matchmaking.generate import generate_clients
    from socialcredit.matchmaking.reference import credit_tiers
    from socialcredit.matchmaking.registry_client import RegistryClient
    from socialcredit.matchmaking.service import Matchmaker
    from socialcredit.matchmaking.store import open_match_store

    mdb = work / "matchmaking.duckdb"
    mdb.unlink(missing_ok=True)
    out: dict[str, Any] = {}
    with open_match_store(mdb) as store, RegistryClient(f"http://127.0.0.1:{port}", token, timeout=30) as registry:
        t = time.perf_counter()
        made = generate_clients(store, work / "population", clients, seed=5, today=AS_OF)
        out["generate_clients_s"] = time.perf_counter() - t
        out["clients"], out["consenting"] = made.clients, made.consenting
        tiers = credit_tiers()
        t = time.perf_counter()
        index = store.index(tiers, today=AS_OF)
        out["index_build_ms"] = (time.perf_counter() - t) * 1000
        with_badge, bare = Matchmaker(store, registry), Matchmaker(store, None)
        ids = sorted(index.row_of)
        picked = random.Random(3).sample(ids, min(viewers + 10, len(ids)))
        for cid in picked[:10]:  # warm-up: connections, caches, the registry's snapshot
            with_badge.matches(cid, limit=limit, today=AS_OF)
            bare.matches(cid, limit=limit, today=AS_OF)
        timed_badge, timed_bare, candidates, asked, requests, shown = [], [], [], [], [], []
        for cid in picked[10:]:
            before = registry.requests
            t = time.perf_counter()
            page = with_badge.matches(cid, limit=limit, today=AS_OF)
            timed_badge.append(time.perf_counter() - t)
            assert page.notice is None, page.notice
            requests.append(registry.requests - before)
            candidates.append(page.ranking.candidates)
            asked.append(page.ranking.asked)
            shown.append(len(page.ranking.matches))
            t = time.perf_counter()
            bare.matches(cid, limit=limit, today=AS_OF)
            timed_bare.append(time.perf_counter() - t)
        writes, after_write = [], []
        for cid in picked[10:30]:  # each viewer flips their own consent, then asks for matches again
            client = store.client(cid, today=AS_OF)
            t = time.perf_counter()
            store.set_consent(cid, not client.consent, actor="benchmark")
            writes.append(time.perf_counter() - t)
            t = time.perf_counter()
            with_badge.matches(cid, limit=limit, today=AS_OF)
            after_write.append(time.perf_counter() - t)
        out["viewers"] = len(timed_badge)
        out["limit"] = limit
        out["with_badge"] = _stats(timed_badge)
        out["baseline"] = _stats(timed_bare)
        out["consent_change"] = _stats(writes)
        out["after_a_consent_change"] = _stats(after_write)
        out["candidates_per_client"] = {"median": statistics.median(candidates), "max": max(candidates)}
        out["subjects_asked_per_ranking"] = {"mean": statistics.fmean(asked), "max": max(asked)}
        out["registry_requests_per_ranking"] = {"mean": statistics.fmean(requests), "max": max(requests)}
        out["matches_shown"] = {"median": statistics.median(shown), "min": min(shown)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=70_000)
    parser.add_argument("--clients", type=int, default=50_000)
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="Keep and reuse the registry of an earlier run.")
    parser.add_argument(
        "--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "socialcredit-matchmaking"
    )
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "matchmaking.json")
    a = parser.parse_args()
    db, token, timings = prepare_registry(a.work, a.residents, a.reuse)
    port = _free_port()
    server = serve_registry(db, port)
    try:
        result = measure(a.work, port, token, a.clients, a.viewers, a.limit)
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stderr is not None:
            server.stderr.close()
    result = {
        "residents": a.residents,
        **result,
        **timings,
        "target_median_ms": 200,
        "cores": os.cpu_count(),
        "date": dt.date.today().isoformat(),
    }
    a.results.parent.mkdir(parents=True, exist_ok=True)
    a.results.write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    print(json.dumps(result, indent=2))
    if not a.reuse:
        shutil.rmtree(a.work, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
