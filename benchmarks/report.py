"""docs/benchmarks.md and docs/benchmarks.png from benchmarks/results/*.json.

What was measured by hand (a step run alone, before/after comparisons, the latest figure of each target) is written
below the ``KEPT`` line of docs/benchmarks.md: a report written again keeps it as it is, after the tables it makes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ORDER = ["tiny", "small", "city", "beijing"]
BASELINES = ("pandas", "polars", "python", "zen")  # the columns of the table against the baselines, in order


KEPT = "<!-- Everything below this line is measured and written by hand; benchmarks/report.py keeps it as it is. -->"


LATEST = 'The latest figure of each, measured step by step since, is in "Targets: the latest figure of each" below.'


def kept_part(doc: Path) -> str:
    """The hand-written part of ``doc`` (an earlier docs/benchmarks.md), from the ``KEPT`` line to its end; empty
    if there is none."""
    text = doc.read_text("utf-8") if doc.exists() else ""
    at = text.find(KEPT)
    return "" if at < 0 else text[at:].rstrip("\n") + "\n"


def _load(results: Path) -> list[dict[str, Any]]:
    found = {p.stem: json.loads(p.read_text("utf-8")) for p in results.glob("*.json")}
    return [found[s] for s in ORDER if s in found]


def _partial(results: Path) -> dict[str, dict[str, Any]]:
    """Steps measured on their own at a scale (e.g. generation alone at beijing), by file stem."""
    return {p.stem: json.loads(p.read_text("utf-8")) for p in results.glob("*-*.json")}


def _fmt(x: float, unit: str = "s") -> str:
    if unit == "s":
        return f"{x:.2f} s" if x < 100 else f"{x:.0f} s"
    return f"{x:,.0f}"


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}×" if b else "–"


def write_report(results: Path, docs: Path) -> None:
    rows = _load(results)
    if not rows:
        return
    m = rows[-1]["machine"]
    out = [
        "# Benchmarks",
        "",
        "Made by `python benchmarks/run.py --scale SCALE` (one command per scale; see benchmarks/run.py). Every step",
        "runs in its own process; timed steps are repeated and the **median** is shown (all runs are in",
        "benchmarks/results/). Baselines run in the same invocation, on the same generated data, under the same",
        "`beijing` policy, and are checked to give the same scores (tests/test_baselines.py).",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory']}; {m['os']}. Python {m['python']}, DuckDB "
        f"{m['duckdb']}, NumPy {m['numpy']}, PyArrow {m['pyarrow']}.",
        "",
        "## Our pipeline",
        "",
        "| scale | residents | records | generate | ingest (rows/s) | full score | score records/s | scan bound "
        "| score ÷ scan | incremental (1 day) | peak memory (score) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        g, i, s, sc, inc = r["generate"], r["ingest"], r["score"], r["scan"], r["incremental"]
        out.append(
            f"| {r['scale']} | {r['residents']:,} | {g['records']:,} | {_fmt(g['seconds'])} ({g['peak_mb'] / 1024:.1f} "
            f"GiB) | {_fmt(i['seconds'])} ({i['rows_per_second']:,.0f}) | {_fmt(s['seconds'])} | "
            f"{s['records_per_second']:,.0f} | {_fmt(sc['seconds'])} | {_ratio(s['seconds'], sc['seconds'])} | "
            f"{_fmt(inc['seconds'])} ({inc['rescored']:,} rescored) | {s['peak_mb'] / 1024:.1f} GiB |"
        )
    out += [
        "",
        "## Decisions (in process, from the latest run's snapshot)",
        "",
        "| scale | batch decisions/s | single decision (median) | snapshot load | inquiries flushed |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        d = r["decisions"]
        out.append(
            f"| {r['scale']} | {d['batch_per_second']:,.0f} | {d['single_median_us']:.1f} µs | "
            f"{_fmt(d['snapshot_load_seconds'])} | {d['inquiries_logged']:,} in {_fmt(d['flush_seconds'])} |"
        )
    out += _state_section(rows)
    out += [
        "",
        "## Against the baselines (same run, same data, same policy)",
        "",
        "Each ratio is the baseline's median time divided by our full score run's median time (higher is",
        "better for us); the scan bound is the other way round (how far we are from merely reading the data).",
        "",
        "| scale | ours | pandas | ratio | Polars (lazy) | ratio | plain Python per record | ratio "
        "| zen-engine per record | ratio |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        s = r["score"]["seconds"]
        b = r.get("baselines", {})
        cells = []
        for name in BASELINES:
            if name in b:
                cells += [_fmt(b[name]["seconds"]), _ratio(b[name]["seconds"], s)]
            else:
                cells += ["not run", "–"]
        out.append(f"| {r['scale']} | {_fmt(s)} | " + " | ".join(cells) + " |")
    # Spark figures measured in a later run of the suite than the rest of a scale's row come in <scale>-spark.json
    extra = _partial(results)
    for r in rows:
        if "spark" not in r and f"{r['scale']}-spark" in extra:
            r["spark"] = extra[f"{r['scale']}-spark"]["spark"]
    spark_rows = [r for r in rows if "spark" in r]
    out += [
        "",
        "## The same score run on Spark (local mode, same machine)",
        "",
        "The store's export (`socialcredit export --format parquet`) scored by Spark with the same compiled policy;",
        "results equal DuckDB's (tests/test_engines.py). Spark's time excludes starting the session and includes",
        "writing the results as Parquet; DuckDB's full score includes writing them into the store.",
        "",
        "| scale | records | DuckDB full score | Spark | Spark ÷ DuckDB | Spark records/s | export | session start "
        "| Spark driver peak memory |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in spark_rows:
        sp, s = r["spark"], {"seconds": r["spark"].get("duckdb_score_seconds", r["score"]["seconds"])}
        out.append(
            f"| {r['scale']} | {sp['records']:,} | {_fmt(s['seconds'])} | {_fmt(sp['seconds'])} ({sp['master']}) | "
            f"{_ratio(sp['seconds'], s['seconds'])} | {sp['records_per_second']:,.0f} | {_fmt(sp['export_seconds'])} | "
            f"{_fmt(sp['session_start_seconds'])} | {sp['jvm_peak_mb'] / 1024:.1f} GiB |"
        )
    if not spark_rows:
        out.append("| – | not run | | | | | | | |")
    out += web_section(rows + [p for k, p in _partial(results).items() if k.endswith("-web")])
    out += _http(results / "http.json")
    out += _matchmaking(results / "matchmaking.json")
    out += linkage_section(results)
    out += febrl4_section(results)
    out += bulk_ingest_section(results / "ingest.json")
    noted = [r for r in rows if r.get("notes")]
    if noted:
        out += ["", "## Notes on the runs", ""]
        for r in noted:
            out += [f"- **{r['scale']}**: {note}" for note in r["notes"]]
    kept = kept_part(docs / "benchmarks.md")
    out += [
        "",
        "## Targets, as the results files give them",
        "",
        *([LATEST, ""] if kept else []),
        _targets(rows + list(_partial(results).values()), results / "matchmaking.json"),
        "",
        "![time against population](benchmarks.png)",
        "",
    ]
    docs.mkdir(exist_ok=True)
    (docs / "benchmarks.md").write_text("\n".join(out) + ("\n" + kept if kept else ""), "utf-8")
    _plot(rows, docs / "benchmarks.png")


def web_section(rows: list[dict[str, Any]]) -> list[str]:
    """The server time of every portal page and of the operator's file, by scale (benchmarks/web_pages.py)."""
    measured = [r for r in rows if "web" in r]
    if not measured:
        return []
    out = [
        "",
        "## The portal's pages (server time; `python benchmarks/run.py --scale SCALE --steps web`)",
        "",
        "Each page asked one at a time by a signed-in resident (the listed person with the most records), the",
        "operator's file of that resident by an operator, the look-up by anyone, on a real server on 127.0.0.1; the",
        "server time is what the service's metrics count for the route (network excluded); medians over the requests,",
        "after one that warms the page. Target: every portal page and the operator's file ≤ 200 ms at the city scale.",
        "",
        "The CPU column is the process's CPU time over a request (server and client in one process, DuckDB's threads",
        "included), where the step recorded it: on a shared machine the server time also counts waiting for a core.",
        "",
        "| scale | page | median | slowest | CPU (median) | page size | load average | date |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in measured:
        w = r["web"]
        load = w.get("load_average")
        for label, p in w["pages"].items():
            out.append(
                f"| {r.get('scale', '')} ({w['subject_records']} records) | {label} (`{p['path']}`) | "
                f"{p['median_ms']:.0f} ms | {p['max_ms']:.0f} ms | "
                f"{'–' if p.get('cpu_median_ms') is None else format(p['cpu_median_ms'], '.0f') + ' ms'} | "
                f"{p['bytes']:,} bytes | "
                f"{'–' if load is None else load[0]} | {w.get('date', r.get('date', ''))} |"
            )
    return out


def _state_section(rows: list[dict[str, Any]]) -> list[str]:
    """The scoring state kept at ingest: built from scratch, full and next-day runs from it beside the records."""
    rows = [r for r in rows if "score_state" in r]
    if not rows:
        return []
    out = [
        "",
        "## Scoring from the state kept at ingest (registry/scoring/state.py)",
        "",
        "Full runs at the as-of date from the records (`score(..., from_records=True)`) and from the scoring state",
        "(the default; the state built by the step before, current); the next day after ingesting a day's records",
        "(the day's ingest folds them into the state as it commits), on the full run at the as-of date, from each.",
        "",
        "| scale | state from scratch (rows) | full from records | full from state | records ÷ state | next day from "
        "records (rescored) | next day from state (rescored) | day's ingest (records) | peak memory (from state) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        b, s, st, inc, ist = r["state_build"], r["score"], r["score_state"], r["incremental"], r["incremental_state"]
        out.append(
            f"| {r['scale']} | {_fmt(b['seconds'])} ({b['rows']:,}) | {_fmt(s['seconds'])} | {_fmt(st['seconds'])} | "
            f"{_ratio(s['seconds'], st['seconds'])} | {_fmt(inc['seconds'])} ({inc['rescored']:,}) | "
            f"{_fmt(ist['seconds'])} ({ist['rescored']:,}) | {_fmt(inc['ingest_seconds'] or 0)} "
            f"({inc['new_records']:,}) | {st['peak_mb'] / 1024:.1f} GiB |"
        )
    out += [
        "",
        "Where a run's time goes (seconds, medians over the runs; stages as `score` names them to its progress "
        "callback: `preparing` is the inputs and, next day, the affected subjects; `sc_rule_points` the rule points "
        "from the records or the state; `saving` writes the run into the store):",
        "",
    ]
    names: list[str] = []
    for r in rows:
        for key in ("score", "score_state", "incremental", "incremental_state"):
            names += [n for n in r[key].get("stages", {}) if n not in names]
    out += ["| scale | run | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    labels = {
        "score": "full, records",
        "score_state": "full, state",
        "incremental": "next day, records",
        "incremental_state": "next day, state",
    }
    for r in rows:
        for key, label in labels.items():
            st = r[key].get("stages", {})
            out.append(f"| {r['scale']} | {label} | " + " | ".join(f"{st.get(n, 0):.2f}" for n in names) + " |")
    return out


def _matchmaking(path: Path) -> list[str]:
    """The section of benchmarks/matchmaking.py, if it was run."""
    if not path.is_file():
        return []
    m = json.loads(path.read_text("utf-8"))

    def row(name: str, key: str) -> str:
        t = m[key]
        return f"| {name} | {t['median_ms']:.1f} ms | {t['p95_ms']:.1f} ms | {t['max_ms']:.1f} ms |"

    cand, asked = m["candidates_per_client"], m["subjects_asked_per_ranking"]
    return [
        "",
        "## Matchmaking: ranked matches for one client (`python benchmarks/matchmaking.py`)",
        "",
        f"A client base of {m['clients']:,} drawn from a generated population of {m['residents']:,} residents "
        f"({m['consenting']:,} share their credit tier); the registry (scored under `sesame`) served by `socialcredit "
        f"serve` on loopback in another process; {m['viewers']} clients picked at random, each ranked with and "
        f"without the badge call, interleaved, in the same run. A page is the best {m['limit']} of a median of "
        f"{cand['median']:,.0f} candidates who meet both sides' preferences (at most {cand['max']:,}); the registry is "
        f"asked about {asked['mean']:.0f} subjects a page on average (at most {asked['max']}) in "
        f"{m['registry_requests_per_ranking']['mean']:.2f} batch requests.",
        "",
        "| measure | median | p95 | max |",
        "|---|---|---|---|",
        row("matches with the badge (filters, score, badge batch over HTTP, profiles)", "with_badge"),
        row("baseline: the same without the badge call (no registry)", "baseline"),
        row("giving or withdrawing consent (write and index patch)", "consent_change"),
        row("the next ranking after one's own consent change", "after_a_consent_change"),
        "",
        f"The badge costs about {m['with_badge']['median_ms'] - m['baseline']['median_ms']:.0f} ms a page (median): "
        "one or two batch requests, each authenticated, decided from the registry's snapshot and logged as "
        f"inquiries before it answers. Building the index of all {m['clients']:,} clients (at start, and once a "
        f"day as ages move) takes {m['index_build_ms']:.0f} ms.",
    ]


def _http(path: Path) -> list[str]:
    """The section of benchmarks/http_bench.py, if it was run."""
    if not path.is_file():
        return []
    h = json.loads(path.read_text("utf-8"))
    b, alone, busy = h["batch"], h["single_alone"], h["single_with_ingest"]
    feed, ing, direct = busy["ingest_alongside"], h["ingest_http"], h["ingest_direct"]

    def met(ok: bool) -> str:
        return "yes" if ok else "no"

    return [
        "",
        "## The service over HTTP (loopback; `python benchmarks/http_bench.py`)",
        "",
        f"The service (`socialcredit serve`, {h['subjects']:,} subjects) in one process; the load generators in others "
        f"(batch decisions and ingest: a Python client; single decisions: {alone['generator']}), each phase bounded "
        "in time and request count. "
        f"Measured {h['date']}.",
        "",
        "| measure | target | measured | met |",
        "|---|---|---|---|",
        f"| batch decisions (10 000 per request) | ≥ 50 000/s | {b['decisions_per_second']:,.0f}/s "
        f"(median request {b['request_median_ms']:.0f} ms) | {met(b['decisions_per_second'] >= 50_000)} |",
        f"| single decisions at {alone['offered_per_second']}/s, alone (the baseline) | | "
        f"{alone['achieved_per_second']:.0f}/s "
        f"answered; median {alone['median_ms']:.1f} ms, p99 {alone['p99_ms']:.1f} ms, {alone['failures']} failed | |",
        f"| single decisions at {busy['offered_per_second']}/s while ingest runs | p99 ≤ 10 ms | "
        f"{busy['achieved_per_second']:.0f}/s answered; median {busy['median_ms']:.1f} ms, p99 {busy['p99_ms']:.1f} ms "
        f"({busy['p99_ms'] / max(alone['p99_ms'], 1):.1f}× alone), {busy['failures']} failed; ingest alongside "
        f"{feed['records_per_second']:,.0f} records/s | {met(busy['p99_ms'] <= 10 and busy['failures'] == 0)} |",
        f"| ingest over HTTP (CSV, {ing['batch_records']:,} records a batch) | ≥ 100 000 records/s | "
        f"{ing['records_per_second']:,.0f}/s (median batch {ing['batch_median_ms']:.0f} ms; from files in process: "
        f"{direct['records_per_second']:,.0f}/s, ratio {h['ingest_ratio_http_to_direct']:.2f}) | "
        f"{met(ing['records_per_second'] >= 100_000)} |",
        *_live_rows(h.get("live")),
        *([""] + [f"- {note}" for note in h["notes"]] if h.get("notes") else []),
    ]


def _live_rows(live: dict[str, Any] | None) -> list[str]:
    if not live:
        return []
    d = live["decisions"]
    p99 = live["latency_p99_ms"]
    ok = p99 is not None and p99 <= 1000 and not live["unresolved"] and _live_rate_kept(live)
    shown = "none resolved" if p99 is None else f"p50 {live['latency_median_ms']:.0f} ms, p99 {p99:.0f} ms"
    return [
        f"| a committed record reaches decisions (measured {live['date']}; trickle of {live['batch_records']} records "
        f"a batch, offered {live.get('batches_per_second_offered', 10)}/s) | p99 ≤ 1 s after the POST's answer | "
        f"{shown} "
        f"(max {live['latency_max_ms'] or 0:.0f} ms; {live['samples']} samples, {live['unresolved']} unresolved in "
        f"{live['poll_for_seconds']:.1f} s, {live['reflected_at_first_poll']} at the first poll"
        + (f", {live['within_1s']} within 1 s" if "within_1s" in live else "")
        + "); POST answered in "
        f"p50 {live['post_median_ms']:.0f} ms, p99 {live['post_p99_ms']:.0f} ms; achieved "
        f"{live['records_per_second']:,.0f} records/s in {live['batches_per_second']:.1f} batches/s, single decisions "
        f"{d['achieved_per_second']:.0f}/s of {d['offered_per_second']} (p99 {d['p99_ms']:.1f} ms, {d['failures']} "
        f"failed) | {'yes' if ok else 'no'} |",
        *([""] + [f"- Live: {note}" for note in live["notes"]] if live.get("notes") else []),
    ]


def _live_rate_kept(live: dict[str, Any]) -> bool:
    """Whether the trickle committed at least 90 % of the records it offered (else the latency is not at the rate)."""
    offered = live["batch_records"] * live.get("batches_per_second_offered", 10)
    return bool(live["records_per_second"] >= 0.9 * offered)


def linkage_section(results: Path) -> list[str]:
    """Identity resolution (benchmarks/linkage.py): one row per size, with the targets at 1M x 1M."""
    path = results / "linkage.json"
    if not path.is_file():
        return []
    out = [
        "",
        "## Identity resolution across regions (`python benchmarks/linkage.py`)",
        "",
        "Incoming identities from other regions linked to a region's residents with Splink (DuckDB backend), trained "
        "on the data at hand; accuracy of the applied links against the generator's ground truth (docs/regions.md). "
        "Targets at 1 000 000 × 1 000 000: ≤ 5 min, ≤ 8 GiB, precision ≥ 0.99, recall ≥ 0.95.",
        "",
        "| residents × incoming | runs | time (median) | CPU time | peak memory | precision | recall | grey zone "
        "(review) | pairs scored | met |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in json.loads(path.read_text("utf-8")):
        m, last = r["median"], r["last_run"]
        cpu = last.get("cpu_seconds")
        met = "yes" if all(r["met"].values()) else "no (" + ", ".join(k for k, v in r["met"].items() if not v) + ")"
        out.append(
            f"| {r['residents']:,} × {r['incoming']:,} | {r['runs']} | {_fmt(m['seconds'])} | "
            f"{_fmt(cpu) if cpu else '–'} | {m['peak_gib']:.2f} GiB | {m['precision']:.4f} | {m['recall']:.4f} | "
            f"{r['review_share']:.2%} | {last['pairs_scored']:,} | {met} |"
        )
    for r in json.loads(path.read_text("utf-8")):
        if r.get("notes"):
            out += [""] + [f"- {r['residents']:,} × {r['incoming']:,}: {n}" for n in r["notes"]]
    return out


def bulk_ingest_section(path: Path) -> list[str]:
    """A population load measured on its own, before and after a change to ingest (``ingest.json``: runs of the same
    generated population on the same machine, each with its CPU time and load average)."""
    if not path.exists():
        return []
    r = json.loads(path.read_text("utf-8"))
    out = [
        "",
        "## A population load, before and after a change to ingest",
        "",
        r["how"],
        "",
        "| scale | code | rows | wall | CPU | rows/s (wall) | rows per CPU second | load average (start → end) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in r["runs"]:
        out.append(
            f"| {m['scale']} | {m['code']} | {m['rows']:,} | {_fmt(m['seconds'])} | {_fmt(m['cpu_seconds'])} | "
            f"{m['rows'] / m['seconds']:,.0f} | {m['rows'] / m['cpu_seconds']:,.0f} | "
            f"{m['load_before']:.1f} → {m['load_after']:.1f} |"
        )
    out += [""] + [f"- {n}" for n in r.get("notes", [])]
    return out


def febrl4_section(results: Path) -> list[str]:
    """Linking data in another script and shape (benchmarks/linkage_febrl4.py): FEBRL4 with a model in the YAML
    format, target F1 >= 0.99."""
    path = results / "linkage_febrl4.json"
    if not path.is_file():
        return []
    r = json.loads(path.read_text("utf-8"))
    m, last = r["median"], r["last_run"]
    met = "yes" if all(r["met"].values()) else "no"
    out = [
        "",
        "## Linking another schema (`python benchmarks/linkage_febrl4.py`)",
        "",
        "FEBRL4 (5,000 × 5,000 records in Latin script, no national number, typos, swapped fields, missing values; "
        f"5,000 true links) linked with `socialcredit link`'s code and the model `{r['model']}` (docs/linkage.md). "
        "Target: F1 ≥ 0.99.",
        "",
        "| runs | time (median) | pairs compared | links | precision | recall | F1 | prior | met |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {r['runs']} | {_fmt(m['seconds'])} | {last['pairs_compared']:,} | {last['links']:,} | "
        f"{m['precision']:.4f} | {m['recall']:.4f} | {m['f1']:.4f} | {last['prior']:.3g} | {met} |",
        "",
        f"- The prior: {last['prior_method']}.",
    ]
    out += [f"- {n}" for n in r.get("notes", [])]
    return out


def _targets(rows: list[dict[str, Any]], matchmaking: Path | None = None) -> str:
    by = {r["scale"]: r for r in rows}
    lines = ["| target | wanted | measured | met |", "|---|---|---|---|"]

    def add(name: str, wanted: str, value: Any, ok: Any, shown: str) -> None:
        met = "–" if ok is None else ("yes" if ok else "no")
        lines.append(f"| {name} | {wanted} | {shown if value is not None or shown else 'not measured'} | {met} |")

    bj = by.get("beijing")
    city = by.get("city")
    gen_only = by.get("beijing-generate")
    small = by.get("small")
    ran = [r for r in (small, city) if r and "score_state" in r]
    bj_old = bj  # an earlier beijing run, from before the scoring state, if that is all there is
    bj = bj if bj and "score_state" in bj else None
    at = ", ".join(f"{r['scale']} {_fmt(r['score_state']['seconds'])}" for r in ran)
    add(
        "full score at beijing scale (from the state)",
        "≤ 15 s",
        bj and bj.get("score_state", bj["score"])["seconds"],
        bj and bj.get("score_state", bj["score"])["seconds"] <= 15,
        (bj and _fmt(bj.get("score_state", bj["score"])["seconds"]))
        or f"not run this time ({at}{_earlier(bj_old, 'score')})",
    )
    at = ", ".join(f"{r['scale']} {_fmt(r['incremental_state']['seconds'])}" for r in ran)
    add(
        "next-day run at beijing scale (from the state)",
        "≤ 3 s",
        bj and bj.get("incremental_state", bj["incremental"])["seconds"],
        bj and bj.get("incremental_state", bj["incremental"])["seconds"] <= 3,
        (bj and _fmt(bj.get("incremental_state", bj["incremental"])["seconds"]))
        or f"not run this time ({at}{_earlier(bj_old, 'incremental')})",
    )
    at = ", ".join(f"{r['scale']} {_fmt(r['state_build']['seconds'])}" for r in ran)
    add(
        "scoring state from scratch at beijing scale",
        "≤ 120 s",
        bj and bj.get("state_build", {}).get("seconds"),
        (bj["state_build"]["seconds"] <= 120) if bj else None,
        (bj and "state_build" in bj and _fmt(bj["state_build"]["seconds"])) or f"not run this time ({at})",
    )
    best_ingest = max(ran, key=lambda r: r["residents"]) if ran else None
    if best_ingest is not None and "ingest" in best_ingest:
        rps = best_ingest["ingest"]["rows_per_second"]
        add(
            f"ingest ({best_ingest['scale']})",
            "≥ 500 000 rows/s",
            rps,
            rps >= 500_000,
            f"{rps:,.0f} rows/s",
        )
    snap = bj or (max(ran, key=lambda r: r["residents"]) if ran else None)
    if snap is not None and "decisions" in snap:
        load_s = snap["decisions"]["snapshot_load_seconds"]
        add(
            "snapshot load at beijing scale",
            "≤ 5 s",
            load_s,
            (load_s <= 5) if bj else None,
            _fmt(load_s)
            if bj
            else f"not run this time ({snap['scale']} {_fmt(load_s)}"
            + (f"; an earlier beijing run: {_fmt(bj_old['decisions']['snapshot_load_seconds'])})" if bj_old else ")"),
        )
    if city and "score_state" in city and "polars" in city.get("baselines", {}):
        ratio = city["baselines"]["polars"]["seconds"] / city["score_state"]["seconds"]
        add("score from state vs Polars at city scale", "≥ 3× faster", ratio, ratio >= 3, f"{ratio:.1f}×")
    else:
        add("score from state vs Polars at city scale", "≥ 3× faster", None, None, "")
    if city and "pandas" in city.get("baselines", {}):
        ratio = city["baselines"]["pandas"]["seconds"] / city["score"]["seconds"]
        add("vs pandas at city scale", "≥ 10× faster", ratio, ratio >= 10, f"{ratio:.1f}×")
    else:
        add("vs pandas at city scale", "≥ 10× faster", None, None, "")
    best = max((r for r in rows if "decisions" in r), key=lambda r: r["residents"])
    d = best["decisions"]
    add(
        f"batch decisions ({best['scale']})",
        "≥ 500 000/s",
        d["batch_per_second"],
        d["batch_per_second"] >= 500_000,
        f"{d['batch_per_second']:,.0f}/s",
    )
    add(
        f"single decision ({best['scale']})",
        "≤ 20 µs median",
        d["single_median_us"],
        d["single_median_us"] <= 20,
        f"{d['single_median_us']:.1f} µs",
    )
    if matchmaking is not None:
        http = matchmaking.with_name("http.json")
        live = json.loads(http.read_text("utf-8")).get("live") if http.is_file() else None
        if live:
            p99 = live["latency_p99_ms"]
            add(
                "committed record reaches decisions (HTTP)",
                "p99 ≤ 1 s",
                p99,
                p99 is not None and p99 <= 1000 and not live["unresolved"] and _live_rate_kept(live),
                f"p99 {p99:.0f} ms after the POST's answer (POST answered in p99 {live['post_p99_ms']:.0f} ms; "
                f"{live['records_per_second']:,.0f} of "
                f"{live['batch_records'] * live.get('batches_per_second_offered', 10):,} records/s offered)"
                if p99 is not None
                else "none resolved",
            )
        else:
            add("committed record reaches decisions (HTTP)", "p99 ≤ 1 s", None, None, "")
    add(
        "peak memory at beijing scale",
        "≤ 16 GiB",
        bj and bj["score"]["peak_mb"],
        bj and bj["score"]["peak_mb"] / 1024 <= 16,
        (bj and f"{bj['score']['peak_mb'] / 1024:.1f} GiB")
        or "not run this time ("
        + ", ".join(
            f"{r['scale']} {max(r[k]['peak_mb'] for k in ('score', 'score_state')) / 1024:.1f} GiB" for r in ran
        )
        + (f"; an earlier beijing run: {bj_old['score']['peak_mb'] / 1024:.1f} GiB)" if bj_old else ")"),
    )
    g = (bj or gen_only or {}).get("generate")
    add(
        "generation at beijing scale (21.9M residents)",
        "≤ 15 min, ≤ 12 GiB",
        g and g["seconds"],
        g and g["seconds"] <= 900 and g["peak_mb"] / 1024 <= 12,
        (g and f"{g['seconds'] / 60:.1f} min, {g['peak_mb'] / 1024:.1f} GiB, {g['records']:,} records") or "",
    )
    web = next((r["web"] for r in rows if r.get("scale") == "city" and "web" in r), None)
    add(
        "every portal page and the operator's file at the city scale (server time)",
        "≤ 200 ms median",
        web and web["worst_median_ms"],
        web and web["worst_median_ms"] <= 200,
        (web and f"slowest {web['worst_median_ms']:.0f} ms ({_slowest(web)})") or "",
    )
    if matchmaking is not None and matchmaking.is_file():
        mb = json.loads(matchmaking.read_text("utf-8"))["with_badge"]
        add(
            "matches for one client of 50 000 (the badge over HTTP)",
            "≤ 200 ms median",
            mb["median_ms"],
            mb["median_ms"] <= 200,
            f"{mb['median_ms']:.0f} ms (p95 {mb['p95_ms']:.0f} ms)",
        )
    return "\n".join(lines)


def _slowest(web: dict[str, Any]) -> str:
    pages = {k: p for k, p in web["pages"].items() if p.get("in_target", True)}
    return max(pages, key=lambda k: pages[k]["median_ms"]) if pages else ""


def _earlier(bj: dict[str, Any] | None, key: str) -> str:
    if not bj or key not in bj:
        return ""
    return f"; an earlier beijing run from the records, before the state: {_fmt(bj[key]['seconds'])}"


def _plot(rows: list[dict[str, Any]], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    xs = [r["residents"] for r in rows]
    series: dict[str, list[float | None]] = {
        "generate": [r["generate"]["seconds"] for r in rows],
        "ingest": [r["ingest"]["seconds"] for r in rows],
        "full score (ours)": [r["score"]["seconds"] for r in rows],
        "scan bound": [r["scan"]["seconds"] for r in rows],
        "incremental (1 day)": [r["incremental"]["seconds"] for r in rows],
    }
    series["Spark local[2] score"] = [r.get("spark", {}).get("seconds") for r in rows]
    for name in BASELINES:
        series[f"{name} baseline"] = [r.get("baselines", {}).get(name, {}).get("seconds") for r in rows]
    fig, ax = plt.subplots(figsize=(8, 5))
    for label, ys in series.items():
        pts = [(x, y) for x, y in zip(xs, ys, strict=True) if y]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("residents")
    ax.set_ylabel("seconds (median)")
    ax.set_title("socialcredit: time against population")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
