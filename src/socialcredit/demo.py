"""The main job: a generated district-sized Beijing, ingested, scored under both shipped policies, summarised."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from socialcredit.generate import AS_OF, generate
from socialcredit.languages import counted
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.access.signin import issue_link
from socialcredit.registry.decisions.decide import decide
from socialcredit.registry.records.ingest import IngestReport
from socialcredit.registry.records.population import load_population
from socialcredit.registry.reporting.report import list_members
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import score
from socialcredit.serving import serve_until_stopped
from socialcredit.store import Store, open_store, run_rows

__all__ = ["run_demo"]


def run_demo(
    db: Path,
    *,
    residents: int = 200_000,
    seed: int = 0,
    console: Console | None = None,
    serve: bool = True,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> None:
    """Build the demo city; then (unless ``serve`` is false) open the web pages on ``host:port`` until Ctrl-C."""
    con = console or Console()
    folder = db.parent / (db.stem + "-population")
    shutil.rmtree(folder, ignore_errors=True)
    for f in (db, db.with_name(db.name + ".wal")):
        f.unlink(missing_ok=True)
    # the audit checkpoints of the store just deleted (<db>.checkpoints/, registry/access/checkpoints.py) go with
    # it: kept, they named another store, so each run of the new one warned and `audit verify` said its log was not
    # intact
    shutil.rmtree(db.with_name(db.name + ".checkpoints"), ignore_errors=True)
    started = time.perf_counter()
    g = generate(residents, seed=seed, out=folder)
    con.print(
        f"Generated {counted(g.residents, 'resident', grouped=True)}, "
        f"{counted(g.organisations, 'organisation', grouped=True)} and {counted(g.records, 'record', grouped=True)} "
        f"in {g.seconds:.1f} s ({folder}/)."
    )
    with open_store(db, create=True) as store:
        if not store.encrypted:
            # The console prints text as written (markup=False, as the command line's): the style is asked for here,
            # and the store's path escaped (a '[' in it is text).
            shown = escape(str(db))
            con.print(
                f"[yellow]The demo store {shown} is not encrypted[/] (set SOCIALCREDIT_DB_KEY to encrypt it).",
                markup=True,
                highlight=False,
            )
        t = time.perf_counter()
        reports: list[IngestReport] = []
        load_population(store, folder, today=AS_OF, actor="demo", on_file=reports.append)
        accepted = sum(r.accepted for r in reports)
        rejected = sum(r.rejected for r in reports)
        con.print(
            f"Ingested {counted(accepted, 'row', grouped=True)} ({rejected} rejected) from "
            f"{counted(len(reports), 'file')} in {time.perf_counter() - t:.1f} s."
        )
        for pid in ("beijing", "sesame"):
            loaded = resolve_policy(store, pid, actor="demo")
            # A blacklisting takes effect after its notice's grace period: the city was scored once before it
            # (the notices), and is scored again as of the demo's date (the listings in effect). Each run is made on
            # its day, as the ingest is, so its notices are given then and not on the machine's date.
            grace = max((lst.grace_days for lst in loaded.policy.lists if lst.kind == "black"), default=0)
            if grace:
                before = AS_OF - dt.timedelta(days=grace + 1)
                score(store, loaded, before, actor="demo", today=before)
            t = time.perf_counter()
            s = score(store, loaded, AS_OF, actor="demo", today=AS_OF)
            lists = ", ".join(f"{k} {v:,}" for k, v in sorted(s.list_counts.items()))
            con.print(
                f"\nScored {pid}: run {s.run_id}, {counted(s.subjects, 'subject', grouped=True)} as of {s.as_of} in "
                f"{time.perf_counter() - t:.1f} s; {lists}."
            )
            _tiers(store, s.run_id, con)
        black = list_members(store, "blacklist", policy_id="beijing", limit=1)
        if black:
            sid = black[0]["subject_id"]
            d = decide(store, sid, "high_speed_rail", "ticket purchase", requester="demo", policy_id="beijing")
            con.print(f"\nhigh_speed_rail for {sid}: {'granted' if d.granted else 'REFUSED'}: {d.refusal or ''}")
            for i, why in enumerate(d.reasons, 1):
                advice = f" — {why.advice}" if why.advice else ""
                con.print(f"  {i}. [{why.code}] {why.text}{advice}", highlight=False)
            if d.actions:  # what would change the refusal, as `decide` prints it
                con.print("What would change it:", markup=False, highlight=False)
                for action in d.actions:
                    con.print(f"  - {action}", markup=False, highlight=False)
            con.print(f"\nSee the whole file: socialcredit show {sid} --db {db}")
        con.print(
            f"Done in {time.perf_counter() - started:.0f} s. Store: {db}. Try `socialcredit list blacklist --db {db}` "
            "or `socialcredit policy explain beijing`."
        )
        if serve:
            _serve(store, db, black[0]["subject_id"] if black else None, host, port, con)


def _serve(store: Store, db: Path, resident: str | None, host: str, port: int, con: Console) -> None:
    """Issue an operator key, and one-time sign-in links for it and for a resident; serve the pages."""
    from socialcredit.api.app import create_app

    base = f"http://{host}:{port}"
    con.print("\nStarting the service (it holds the latest runs in memory) …", highlight=False)
    app = create_app(db, store=store)
    with app.state.service.writer():  # the service owns the store from here on
        operator = issue_key(store, "operator", "demo operator", actor="demo")
        app.state.service.reload_keys(store)
        ops_link = issue_link(store, key_id=operator.party.key_id, actor="demo")
        res_link = issue_link(store, subject=resident, actor="demo") if resident else None
    con.print(
        "\n[bold]The city:[/] open the operator dashboard (a one-time link, valid 24 hours):",
        markup=True,
        highlight=False,
    )
    con.print(f"  {base}/signin/link?token={ops_link.token}", markup=False, highlight=False)
    if res_link is not None:
        con.print(
            f"[bold]A resident's portal[/] ({escape(res_link.name)}, on the blacklist):", markup=True, highlight=False
        )
        con.print(f"  {base}/signin/link?token={res_link.token}", markup=False, highlight=False)
    con.print(f"The operator key (for the HTTP API, or to sign in again at {base}/signin):", highlight=False)
    con.print(f"  {operator.token}", markup=False, highlight=False)
    con.print(f"The public list look-up needs no key: {base}/lists", highlight=False)
    from socialcredit.settings import get_settings

    if not get_settings().smtp_host:
        # The demonstration sends no real message: a new sign-in link a resident asks for is shown on a local page.
        app.state.service.outbox_page = True
        con.print(f"Messages to residents (a new sign-in link) are shown at {base}/outbox", highlight=False)
    con.print(f"Serving {db} on {base} (Ctrl-C to stop).", highlight=False)
    serve_until_stopped(app, host, port, proxy_headers=False)


def _tiers(store: Store, run_id: int, con: Console) -> None:
    """The run's residents by tier, as the operators' dashboard counts them (persons only: organisations, scored
    too, are not residents; the table counted them)."""
    rows = store.rows(
        "SELECT tier, count(*) AS n, min(score) AS lo, max(score) AS hi "
        f"FROM {run_rows(store, 'run_results', run_id)} WHERE kind = 'person' "
        "GROUP BY tier ORDER BY min(tier_rank) DESC",
    )
    total = sum(r["n"] for r in rows)
    table = Table("tier", "residents", "share", "scores", box=None, title="Residents by tier (persons only)")
    for r in rows:
        table.add_row(r["tier"], f"{r['n']:,}", f"{100 * r['n'] / total:.1f}%", f"{r['lo']}–{r['hi']}")
    con.print(table)
