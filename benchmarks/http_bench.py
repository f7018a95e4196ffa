"""The service over loopback: the service in one process, load generators in others.

    python benchmarks/http_bench.py --residents 100000 --seconds 20

Builds a store (generated population, scored), issues a relying-party and a furnisher key, starts
``socialcredit serve`` on 127.0.0.1, then measures, each phase bounded in time and request count:

* batch decisions: requests of 10 000 subject ids, back to back (a Python client in a second process);
* single decisions at 500 requests per second from wrk (``benchmarks/wrk_decisions.lua``; Debian's ``wrk``
  package): first alone (the baseline), then while a third process sends ingest batches;
* ingest over HTTP: CSV batches of ``--batch`` records back to back from a second process, against the same
  batches ingested in-process with ``ingest_file`` after the service stops (the baseline).

Results go to benchmarks/results/http.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from socialcredit.store import Store

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _keys(store: Store) -> dict[str, str]:
    """A railway's key (single decisions) and the utilities' furnisher key (the batches), issued in ``store``."""
    from socialcredit.registry.access.parties import issue_key

    railway = issue_key(
        store,
        "relying_party",
        "load test",
        services=["high_speed_rail"],
        purposes=["ticket purchase"],
        known_services={"high_speed_rail"},
    ).token
    furnisher = issue_key(store, "furnisher", "load test utilities", source="utilities").token
    return {"railway": railway, "furnisher": furnisher}


def prepare(work: Path, residents: int) -> tuple[Path, dict[str, str], list[str]]:
    from socialcredit.generate import AS_OF, generate
    from socialcredit.registry.records.population import load_population
    from socialcredit.registry.scoring.policies import resolve_policy
    from socialcredit.registry.scoring.runs import score
    from socialcredit.store import open_store

    shutil.rmtree(work, ignore_errors=True)
    generate(residents, seed=3, out=work / "population")
    db = work / "store.duckdb"
    with open_store(db, create=True, key="") as store:
        load_population(store, work / "population", today=AS_OF)
        score(store, resolve_policy(store, "beijing"), AS_OF, today=AS_OF)
        ids = [r[0] for r in store.execute("SELECT subject_id FROM run_results ORDER BY hash(subject_id)").fetchall()]
        tokens = _keys(store)
    return db, tokens, ids


def existing(db: Path) -> tuple[Path, dict[str, str], list[str]]:
    """A scored store made elsewhere (``--store``), used in place: keys issued in it, its subjects sampled."""
    from socialcredit.registry.scoring.runs import latest_run
    from socialcredit.store import open_store

    with open_store(db, key="") as store:
        run = latest_run(store, "beijing")["run_id"]
        ids = [
            str(r[0])
            for r in store.execute(
                "SELECT subject_id FROM run_results WHERE run_id = ? ORDER BY hash(subject_id) LIMIT 200000", [run]
            ).fetchall()
        ]
        tokens = _keys(store)
    return db, tokens, ids


def batch_csv(ids: list[str], tag: str, n: int, batch: int) -> bytes:
    """Batch ``n`` of utility payments: ``batch`` new records, about subjects of the population."""
    lines = ["record_id,subject_id,record_type,event_date,utility,amount,status"]
    lines += [
        f"UTI-{tag}-{n}-{i},{ids[(n * batch + i) % len(ids)]},utility_payment,2026-10-01,water,{100 + i % 400},on_time"
        for i in range(batch)
    ]
    return ("\n".join(lines) + "\n").encode()


def feed(
    port: int, token: str, ids: list[str], seconds: float, batch: int, tag: str, max_batches: int
) -> dict[str, Any]:
    """Send ingest batches back to back for ``seconds`` (a load generator process of its own)."""
    import httpx

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/csv"}
    bodies = [batch_csv(ids, tag, n, batch) for n in range(max_batches)]  # made before the clock starts
    times: list[float] = []
    records = 0
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=120) as client:
        started = time.perf_counter()
        for n, body in enumerate(bodies):
            if time.perf_counter() - started >= seconds:
                break
            t = time.perf_counter()
            r = client.post("/v1/records", content=body, headers={"Idempotency-Key": f"{tag}-{n}"})
            if r.status_code != 200:
                raise SystemExit(f"ingest batch {n}: {r.status_code} {r.text[:500]}")
            times.append(time.perf_counter() - t)
            records += r.json()["accepted"]
        elapsed = time.perf_counter() - started
    return {
        "batches": len(times),
        "records": records,
        "batch_records": batch,
        "seconds": elapsed,
        "records_per_second": records / elapsed if elapsed else 0.0,
        "batch_median_ms": statistics.median(times) * 1000 if times else None,
    }


_POLLERS = 16  # live latency: samples polled at once (1.5 s at most each, at 10 batches a second)


def trickle(
    port: int,
    tokens: dict[str, str],
    ids: list[str],
    seconds: float,
    per_second: int,
    batch: int,
    tag: str,
    poll_for: float,
    senders: int = 1,
) -> dict[str, Any]:
    """Live latency's load generator (a process of its own): ``per_second`` batches of ``batch`` records a second,
    each sent at its slot (a late one at once) by the first of ``senders`` connections that is free, until
    ``seconds`` have passed. The first record of every
    batch is the sample: after its batch's 2xx answer a polling thread (one of ``_POLLERS``) asks for a decision on
    its subject at once, then every 5 ms, until the decision stands on a watermark at least the one the answer names
    (the last change number the batch took) or ``poll_for`` seconds pass. Every poll's answer time and watermark is
    kept; whether a poll reflects the record is settled afterwards, from the record's change number in the store."""
    import queue
    import threading

    import httpx

    url = f"http://127.0.0.1:{port}"
    ask = {"service": "high_speed_rail", "purpose": "ticket purchase"}
    bodies = [batch_csv(ids, tag, n, batch) for n in range(int(seconds * per_second) + 1)]
    todo: queue.Queue[tuple[int, str, float, int] | None] = queue.Queue()
    samples: list[dict[str, Any]] = []

    def decide(client: httpx.Client, subject: str) -> tuple[float, int]:
        r = client.post("/v1/decisions", json={**ask, "subject_id": subject})
        r.raise_for_status()
        return time.perf_counter(), int(r.json()["watermark"])

    def poller() -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {tokens['railway']}"}, timeout=30) as c:
            while (item := todo.get()) is not None:
                n, subject, answered, enough = item
                polls = []
                while True:
                    t, wm = decide(c, subject)
                    polls.append((t - answered, wm))
                    if wm >= enough or t - answered >= poll_for:
                        break
                    time.sleep(0.005)
                samples.append({"batch": n, "record_id": f"UTI-{tag}-{n}-0", "enough": enough, "polls": polls})

    # Enough pollers that a sample's polling starts at its batch's answer, not after the samples before it resolved
    # (one poller queued them: a slow sample delayed every later one's first poll).
    pollers = [threading.Thread(target=poller, daemon=True) for _ in range(_POLLERS)]
    answers: list[float] = []
    sent = records = 0
    headers = {"Authorization": f"Bearer {tokens['furnisher']}", "Content-Type": "text/csv"}
    slots: queue.Queue[int] = queue.Queue()
    counted = threading.Lock()
    failed: list[str] = []

    def sender(started: float) -> None:
        # each batch at its slot (a late one at once) by the first sender free: with one sender a batch waits for
        # the answer to the one before; with several, batches sent while the writer is busy wait for it together
        nonlocal sent, records
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            while (n := slots.get()) >= 0:
                slot = started + n / per_second
                if slot - started >= seconds or time.perf_counter() - started >= seconds:
                    return  # bounded in time: batches that could not be sent in their second are not sent
                if (wait := slot - time.perf_counter()) > 0:
                    time.sleep(wait)
                t = time.perf_counter()
                r = client.post("/v1/records", content=bodies[n], headers={"Idempotency-Key": f"{tag}-{n}"})
                answered = time.perf_counter()
                if r.status_code != 200:
                    failed.append(f"live batch {n}: {r.status_code} {r.text[:500]}")
                    return
                with counted:
                    answers.append(answered - t)
                    sent += 1
                    records += r.json()["accepted"]
                # a service that does not name the batch's watermark is polled for the whole of poll_for
                todo.put((n, ids[(n * batch) % len(ids)], answered, int(r.json().get("watermark") or sys.maxsize)))

    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {tokens['railway']}"}, timeout=30) as probe:
        decide(probe, ids[0])  # the service answers before the clock starts
    for thread in pollers:
        thread.start()
    for n in range(len(bodies)):
        slots.put(n)
    for _ in range(senders):
        slots.put(-1)
    started = time.perf_counter()
    threads = [threading.Thread(target=sender, args=(started,), daemon=True) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failed:
        raise SystemExit(failed[0])
    elapsed = time.perf_counter() - started
    for _ in pollers:
        todo.put(None)
    for thread in pollers:
        thread.join(timeout=poll_for + 30)
    answers.sort()
    return {
        "batches": sent,
        "batch_records": batch,
        "records": records,
        "seconds": elapsed,
        "records_per_second": records / elapsed,
        "batches_per_second": sent / elapsed,
        "batches_per_second_offered": per_second,
        "senders": senders,
        "post_median_ms": statistics.median(answers) * 1000,
        "post_p99_ms": answers[min(len(answers) - 1, int(0.99 * len(answers)))] * 1000,
        "samples": samples,
    }


def live_latency(db: Path, spec: dict[str, Any], trickled: dict[str, Any]) -> dict[str, Any]:
    """Settle each sample (the service stopped): its record's change number from the store; the latency is the
    time from its batch's 2xx answer to the answer of the first decision standing on a watermark at least that."""
    from socialcredit.store import open_store

    samples = trickled.pop("samples")
    with open_store(db, key="") as store:
        keys = dict(
            store.execute(
                "SELECT record_id, record_key FROM records WHERE source_id = 'utilities' AND record_id LIKE ?",
                [f"UTI-{spec['tag']}-%-0"],
            ).fetchall()
        )
    latencies, unresolved, first_poll = [], 0, 0
    for s in samples:
        key = keys.get(s["record_id"])
        hit = next((t for t, wm in s["polls"] if key is not None and wm >= key), None)
        if hit is None:
            unresolved += 1
            continue
        latencies.append(hit)
        first_poll += s["polls"][0][1] >= key
    latencies.sort()

    def q(p: float) -> float | None:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else None

    return {
        **trickled,
        "samples": len(samples),
        "unresolved": unresolved,
        "poll_for_seconds": spec["poll_for"],
        "reflected_at_first_poll": first_poll,
        # the target's own count: samples that reached decisions within 1 s of their batch's answer (an unresolved
        # one did not); the percentiles below are of the resolved samples only
        "within_1s": sum(1 for x in latencies if x <= 1.0),
        "latency_median_ms": q(0.5),
        "latency_p99_ms": q(0.99),
        "latency_max_ms": latencies[-1] * 1000 if latencies else None,
    }


def direct_ingest(db: Path, ids: list[str], batch: int, n_batches: int) -> dict[str, Any]:
    """The baseline: the same kind of batches ingested in-process from files, with the service stopped."""
    from socialcredit.registry.records.ingest import ingest_file
    from socialcredit.store import open_store

    folder = db.parent / "direct"
    folder.mkdir(exist_ok=True)
    files = []
    for n in range(n_batches):
        path = folder / f"batch-{n}.csv"
        path.write_bytes(batch_csv(ids, "DIRECT", n, batch))
        files.append(path)
    times = []
    with open_store(db, key="") as store:
        for path in files:
            t = time.perf_counter()
            report = ingest_file(store, path, "utilities")
            times.append(time.perf_counter() - t)
            assert report.accepted == batch, report.as_dict()
    total = sum(times)
    return {
        "batches": n_batches,
        "records": n_batches * batch,
        "seconds": total,
        "records_per_second": n_batches * batch / total,
        "batch_median_ms": statistics.median(times) * 1000,
    }


def single(port: int, token: str, ids: list[str], seconds: float, rate: int, work: Path) -> dict[str, Any]:
    """Single decisions from wrk (benchmarks/wrk_decisions.lua): 20 connections, each waiting after every answer
    so that together they offer about ``rate`` requests a second, for ``seconds``."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("the single-decision phase needs wrk (Debian: apt-get install wrk)")
    connections = 20
    pace_ms = max(1, round(connections * 1000 / rate) - 1)  # about 1 ms of each cycle is the answer itself
    id_file = work / "ids.txt"
    id_file.write_text("\n".join(ids) + "\n", "utf-8")
    env = {**os.environ, "SC_IDS": str(id_file), "SC_TOKEN": token, "SC_DELAY_MS": str(pace_ms)}
    cmd = [wrk, "-t1", f"-c{connections}", f"-d{int(seconds)}s", "--timeout", "5s"]
    cmd += ["-s", str(ROOT / "benchmarks" / "wrk_decisions.lua"), f"http://127.0.0.1:{port}"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}): {done.stderr[-2000:]}")
    r = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "generator": f"wrk, 1 thread, {connections} connections, {pace_ms} ms between requests on each",
        "offered_per_second": rate,
        "requests": r["requests"],
        "failures": r["errors"] + r["non_2xx"],
        "achieved_per_second": r["requests"] / (r["duration_us"] / 1e6),
        "median_ms": r["p50_us"] / 1000,
        "p90_ms": r["p90_us"] / 1000,
        "p99_ms": r["p99_us"] / 1000,
        "max_ms": r["max_us"] / 1000,
    }


def load(port: int, token: str, ids: list[str], seconds: float) -> dict[str, Any]:
    """Batch decisions back to back (run in its own process)."""
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

    return out


def _drained(port: int) -> None:
    """Wait until the service has moved every journalled inquiry into the store (phases start on equal terms)."""
    import httpx

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).json()["journal_pending"] == 0:
            return
        time.sleep(0.5)


def _second_process(mode: str, spec: dict[str, Any], work: Path, wait: bool = True) -> Any:
    path = work / f"{mode}.json"
    path.write_text(json.dumps(spec), "utf-8")
    cmd = [sys.executable, __file__, f"--{mode}-only", str(path)]
    if not wait:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=spec["seconds"] * 6 + 300)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def _finish(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate(timeout=600)
    if proc.returncode != 0:
        raise SystemExit(err[-2000:])
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def _cpu_seconds(pid: int) -> float:
    """The CPU time (user and system, every thread) process ``pid`` has taken so far (Linux's /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text("utf-8").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _live_result(db: Path, spec: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    live = live_latency(db, spec, result.pop("live_trickle"))
    live["decisions"] = result.pop("live_decisions")
    live["load_average"] = [round(x, 2) for x in os.getloadavg()]
    live["date"] = time.strftime("%Y-%m-%d")
    return live


def _finish_live(a: argparse.Namespace, db: Path, spec: dict[str, Any], result: dict[str, Any]) -> None:
    """Only the live phase ran: its figures join those the results file holds of the other phases."""
    stored = json.loads(a.results.read_text("utf-8")) if a.results.is_file() else {}
    stored["live"] = _live_result(db, spec, result)
    a.results.write_text(json.dumps(stored, indent=2) + "\n", "utf-8")
    print(json.dumps(stored["live"], indent=2))
    shutil.rmtree(a.work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=20, help="Length of each measured phase.")
    parser.add_argument("--rate", type=int, default=500, help="Single decisions offered per second (wrk).")
    parser.add_argument("--batch", type=int, default=50_000, help="Records per ingest batch.")
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "socialcredit-http")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "http.json")
    parser.add_argument(
        "--phases", default="all", help="all, or live: only live latency (the other phases' figures are kept)"
    )
    parser.add_argument("--live-batches", type=int, default=10, help="Live phase: ingest batches per second.")
    parser.add_argument("--live-batch", type=int, default=100, help="Live phase: records per batch.")
    parser.add_argument(
        "--live-senders", type=int, default=1, help="Live phase: connections sending batches, each at its slot."
    )
    parser.add_argument(
        "--store",
        type=Path,
        help="A store scored under beijing to use in place (e.g. the beijing scale's), instead of generating one: "
        "keys are issued in it and the batches stay in it. With --phases live only.",
    )
    parser.add_argument("--load-only", help=argparse.SUPPRESS)
    parser.add_argument("--trickle-only", help=argparse.SUPPRESS)
    parser.add_argument("--feed-only", help=argparse.SUPPRESS)
    a = parser.parse_args()
    if a.load_only:  # a second process: batch decisions
        spec = json.loads(Path(a.load_only).read_text("utf-8"))
        print(json.dumps(load(spec["port"], spec["token"], spec["ids"], spec["seconds"])))
        return
    if a.trickle_only:  # live latency's load generator
        spec = json.loads(Path(a.trickle_only).read_text("utf-8"))
        names = ("port", "tokens", "ids", "seconds", "per_second", "batch", "tag", "poll_for")
        print(json.dumps(trickle(*(spec[k] for k in names), senders=spec.get("senders", 1))))
        return
    if a.feed_only:  # a second (or third) process: ingest batches
        spec = json.loads(Path(a.feed_only).read_text("utf-8"))
        args = ("port", "token", "ids", "seconds", "batch", "tag", "max_batches")
        print(json.dumps(feed(*(spec[k] for k in args))))
        return
    if a.store is not None and a.phases != "live":
        parser.error("--store is for --phases live (the other phases add batches of 10,000 and 50,000 records)")
    a.work.mkdir(parents=True, exist_ok=True)
    db, tokens, ids = existing(a.store) if a.store is not None else prepare(a.work, a.residents)
    print(f"prepared {len(ids):,} subjects", file=sys.stderr, flush=True)
    port = _free_port()
    exe = Path(sys.executable).parent / "socialcredit"
    server = subprocess.Popen(
        [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port), "--db", str(db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    result: dict[str, Any] = {}
    live_spec: dict[str, Any] = {}
    sample = ids[:200_000]
    try:
        import httpx

        deadline = time.monotonic() + (900 if a.store is not None else 120)  # a large store's snapshot loads longer
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        base = {"port": port, "ids": sample, "seconds": a.seconds}
        if a.phases in ("all", "live"):
            # live latency: a trickle of records while single decisions run at --rate; before the other phases, so
            # that the store is as prepared
            live_spec = {
                **base,
                "tokens": tokens,
                "seconds": a.seconds + 4,
                "per_second": a.live_batches,
                "batch": a.live_batch,
                "tag": "LIVE",
                "poll_for": 1.5,
                "senders": a.live_senders,
            }
            cpu = _cpu_seconds(server.pid)
            trickler = _second_process("trickle", live_spec, a.work, wait=False)
            time.sleep(2)  # the trickle runs before the single decisions start
            result["live_decisions"] = single(port, tokens["railway"], sample, a.seconds, a.rate, a.work)
            result["live_trickle"] = _finish(trickler)
            result["live_trickle"]["service_cpu_seconds"] = _cpu_seconds(server.pid) - cpu
            if a.phases == "all":
                _drained(port)
    except BaseException:
        server.terminate()
        server.wait(timeout=60)
        raise
    if a.phases == "live":
        server.terminate()
        server.wait(timeout=60)
        if server.stderr is not None:
            server.stderr.close()
        _finish_live(a, db, live_spec, result)
        return
    try:
        result.update(_second_process("load", {**base, "token": tokens["railway"]}, a.work))
        _drained(port)
        result["single_alone"] = single(port, tokens["railway"], sample, a.seconds, a.rate, a.work)
        _drained(port)
        feed_spec = {**base, "token": tokens["furnisher"], "batch": 10_000, "max_batches": 400}
        feeder = _second_process("feed", {**feed_spec, "seconds": a.seconds + 15, "tag": "BG"}, a.work, wait=False)
        time.sleep(3)  # the feeder is sending before the single decisions start
        result["single_with_ingest"] = single(port, tokens["railway"], sample, a.seconds, a.rate, a.work)
        result["single_with_ingest"]["ingest_alongside"] = _finish(feeder)
        ingest_spec = {**base, "token": tokens["furnisher"], "batch": a.batch, "tag": "HTTP", "max_batches": 40}
        result["ingest_http"] = _second_process("feed", ingest_spec, a.work)
    finally:
        server.terminate()
        server.wait(timeout=60)
        if server.stderr is not None:
            server.stderr.close()
    n = max(1, result["ingest_http"]["batches"])
    result["ingest_direct"] = direct_ingest(db, sample, a.batch, min(n, 10))
    result["ingest_ratio_http_to_direct"] = (
        result["ingest_http"]["records_per_second"] / result["ingest_direct"]["records_per_second"]
    )
    result["single_p99_ratio_with_ingest"] = (
        result["single_with_ingest"]["p99_ms"] / result["single_alone"]["p99_ms"]
        if result["single_alone"]["p99_ms"]
        else None
    )
    result.update({"residents": a.residents, "subjects": len(ids), "date": time.strftime("%Y-%m-%d")})
    if "live_trickle" in result:
        result["live"] = _live_result(db, live_spec, result)
    a.results.write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    print(json.dumps(result, indent=2))
    shutil.rmtree(a.work, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
