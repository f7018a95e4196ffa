"""HTTP decisions over loopback: the service in one process, the load generator in another.

    python benchmarks/http_bench.py --residents 100000 --seconds 15

Builds a store (generated population, scored), issues a relying-party key, starts ``socialcredit serve`` on
127.0.0.1, then from a second process measures (bounded in time and request count):

* batch decisions: requests of 10 000 subject ids, back to back, for ``--seconds``;
* single decisions at a fixed rate (500 per second, open loop) for ``--seconds``: latency median and p99.

Results go to benchmarks/results/http.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
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


def prepare(work: Path, residents: int) -> tuple[Path, str, list[str]]:
    from socialcredit.generate import AS_OF, generate
    from socialcredit.registry.parties import issue_key
    from socialcredit.registry.policies import resolve_policy
    from socialcredit.registry.population import load_population
    from socialcredit.registry.score import score
    from socialcredit.store import open_store

    shutil.rmtree(work, ignore_errors=True)
    generate(residents, seed=3, out=work / "population")
    db = work / "store.duckdb"
    with open_store(db, create=True, key="") as store:
        load_population(store, work / "population", today=AS_OF)
        score(store, resolve_policy(store, "beijing"), AS_OF)
        ids = [r[0] for r in store.execute("SELECT subject_id FROM run_results ORDER BY hash(subject_id)").fetchall()]
        token = issue_key(
            store,
            "relying_party",
            "load test",
            services=["high_speed_rail"],
            purposes=["ticket purchase"],
            known_services={"high_speed_rail"},
        ).token
    return db, token, ids


def load(port: int, token: str, ids: list[str], seconds: float, rate: int) -> dict[str, Any]:
    """The load generator (run in its own process)."""
    import httpx

    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    out: dict[str, Any] = {}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        n, started, times = 0, time.perf_counter(), []
        while time.perf_counter() - started < seconds and n < 2000:
            chunk = [ids[(n * 10_000 + i) % len(ids)] for i in range(10_000)]
            t = time.perf_counter()
            r = client.post(
                "/v1/decisions/batch",
                json={"service": "high_speed_rail", "purpose": "ticket purchase", "subject_ids": chunk},
            )
            r.raise_for_status()
            times.append(time.perf_counter() - t)
            n += 1
        elapsed = time.perf_counter() - started
        out["batch"] = {
            "requests": n,
            "decisions": n * 10_000,
            "seconds": elapsed,
            "decisions_per_second": n * 10_000 / elapsed,
            "request_median_ms": statistics.median(times) * 1000,
        }

    async def single() -> dict[str, Any]:
        latencies: list[float] = []
        errors = 0
        total = int(seconds * rate)
        async with httpx.AsyncClient(
            base_url=base, headers=headers, timeout=5, limits=httpx.Limits(max_connections=64)
        ) as client:

            async def one(i: int) -> None:
                nonlocal errors
                body = {"subject_id": ids[i % len(ids)], "service": "high_speed_rail", "purpose": "ticket purchase"}
                t = time.perf_counter()
                try:
                    r = await client.post("/v1/decisions", json=body)
                    errors += r.status_code != 200
                except httpx.HTTPError:  # no answer within 5 s (or the pool): counted as an error at 5 s
                    errors += 1
                latencies.append(time.perf_counter() - t)

            start = time.perf_counter()
            tasks = []
            for i in range(total):  # open loop: request i is sent at start + i / rate
                delay = start + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(i)))
            # bounded in time: whatever has no answer 10 s after the last request was due is cancelled
            _done, late = await asyncio.wait(tasks, timeout=max(0.0, start + seconds + 10 - time.perf_counter()))
            for task in late:
                task.cancel()
            errors += len(late)
            latencies.extend([10.0] * len(late))  # counted at 10 s: a floor, not their real latency
            elapsed = time.perf_counter() - start
        latencies.sort()
        return {
            "rate_asked": rate,
            "requests": total,
            "errors": errors,
            "unanswered_after_10_s": len(late),
            "achieved_per_second": total / elapsed,
            "median_ms": statistics.median(latencies) * 1000,
            "p99_ms": latencies[int(0.99 * (len(latencies) - 1))] * 1000,
        }

    out["single"] = asyncio.run(single())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "socialcredit-http")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "http.json")
    parser.add_argument("--load-only", help=argparse.SUPPRESS)
    a = parser.parse_args()
    if a.load_only:  # the second process
        spec = json.loads(Path(a.load_only).read_text("utf-8"))
        print(json.dumps(load(spec["port"], spec["token"], spec["ids"], spec["seconds"], spec["rate"])))
        return
    db, token, ids = prepare(a.work, a.residents)
    port = _free_port()
    exe = Path(sys.executable).parent / "socialcredit"
    server = subprocess.Popen(
        [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port), "--db", str(db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        import httpx

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        spec = a.work / "load.json"
        spec.write_text(
            json.dumps({"port": port, "token": token, "ids": ids[:200_000], "seconds": a.seconds, "rate": a.rate})
        )
        gen = subprocess.run(
            [sys.executable, __file__, "--load-only", str(spec)],
            capture_output=True,
            text=True,
            timeout=a.seconds * 6 + 120,
        )
        if gen.returncode != 0:
            raise SystemExit(gen.stderr[-2000:])
        result = json.loads(gen.stdout.strip().splitlines()[-1])
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stderr is not None:
            server.stderr.close()
    result.update({"residents": a.residents, "subjects": len(ids), "date": time.strftime("%Y-%m-%d")})
    a.results.write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    print(json.dumps(result, indent=2))
    shutil.rmtree(a.work, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
