"""The main job: an example Beijing built, ingested, scored under both shipped policies, and summarised."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from socialcredit.example import AS_OF, write_example
from socialcredit.registry.consent import set_consent
from socialcredit.registry.decide import decide
from socialcredit.registry.ingest import ingest_file
from socialcredit.registry.policies import resolve_policy
from socialcredit.registry.report import list_members
from socialcredit.registry.score import score
from socialcredit.store import open_store

__all__ = ["run_demo"]


def run_demo(db: Path, *, residents: int = 300, console: Console | None = None) -> None:
    con = console or Console()
    folder = db.with_suffix("")
    folder = folder.parent / (folder.name + "-files")
    for f in (db, db.with_name(db.name + ".wal")):
        f.unlink(missing_ok=True)
    files = write_example(folder, residents=residents)
    con.print(f"Example city written to {folder}/ ({residents} residents).")
    with open_store(db, create=True) as store:
        if not store.encrypted:
            con.print(f"[yellow]The demo store {db} is not encrypted[/] (set SOCIALCREDIT_DB_KEY to encrypt).")
        for path, source in [(files.subjects, "civil_affairs"), *((p, s) for s, p in files.sources.items())]:
            r = ingest_file(store, path, source, today=AS_OF, actor="demo")
            con.print(
                f"ingest {path.name:<26} {r.accepted:>6} accepted {r.unchanged:>4} unchanged {r.rejected:>3} rejected"
            )
            for e in r.errors:
                con.print(f"    {path.name}: {e}", highlight=False)
        for sid, category, granted in files.consents:
            set_consent(store, sid, category, granted, actor="demo")
        for pid in ("beijing", "sesame"):
            s = score(store, resolve_policy(store, pid, actor="demo"), AS_OF, actor="demo")
            lists = ", ".join(f"{k} {v}" for k, v in sorted(s.list_counts.items()))
            con.print(f"score {pid}: run {s.run_id}, {s.subjects} subjects as of {s.as_of}; {lists}")
            tiers = store.rows(
                "SELECT tier, count(*) AS n FROM run_results WHERE run_id = ? GROUP BY tier "
                "ORDER BY min(tier_rank) DESC",
                [s.run_id],
            )
            table = Table("tier", "subjects", box=None)
            for t in tiers:
                table.add_row(t["tier"], str(t["n"]))
            con.print(table)
        black = list_members(store, "blacklist", policy_id="beijing", limit=1)
        if black:
            sid = black[0]["subject_id"]
            d = decide(store, sid, "high_speed_rail", "ticket purchase (demo)", requester="demo", policy_id="beijing")
            con.print(f"\nhigh_speed_rail for {sid}: {'granted' if d.granted else 'REFUSED'}: {d.refusal or ''}")
            for i, why in enumerate(d.reasons, 1):
                advice = f" — {why.advice}" if why.advice else ""
                con.print(f"  {i}. [{why.code}] {why.text}{advice}", highlight=False)
            con.print(f"\nTry: socialcredit show {sid} --db {db}")
    con.print(f"Store: {db}. Next: `socialcredit list blacklist --db {db}`, `socialcredit policy explain beijing`.")
