"""Print the transcript of due process across borders, as an operator would run it (docs/regions.md, "Due process
across borders"): Beijing lists a judgment defaulter, he moves to Tianjin, Tianjin decides within the same grace;
he disputes in Tianjin; the Beijing court answers; both regions delist the same day.

Every step is the ``socialcredit`` command line against two store files, on the date it names
($SOCIALCREDIT_TODAY, or the command's own --today / --as-of). The residents are the regions generator's (two
regions, 60 residents each, seed 5); its first mover is the defaulter.

    python scripts/transcript_regions.py [DIR]      # DIR: an empty folder to work in (default: a temporary one)
"""

from __future__ import annotations

import csv
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from socialcredit.policy import builtin_policy
from socialcredit.regions.generate import generate_regions

EXCHANGE = "\nexchange:\n  shareable_record_types: [court_judgment]\n  lists: [blacklist]\n"
CLI = str(Path(sys.executable).with_name("socialcredit"))


def run(*args: str, today: str, show: bool = True, refused: bool = False) -> str:
    """Run one command on the date ``today``; print it and its output as a terminal would. ``refused``: the step
    must fail (exit code 1 or 2, a message and no stack trace)."""
    env = {**os.environ, "SOCIALCREDIT_TODAY": today, "COLUMNS": "160"}
    done = subprocess.run([CLI, *args], capture_output=True, text=True, env=env, check=False)
    if show:
        print(f"[{today}] $ socialcredit {shlex.join(args)}")
        text = (done.stdout + done.stderr).rstrip()
        if text:
            print("  " + text.replace("\n", "\n  "))
        if done.returncode:
            print(f"  (exit code {done.returncode})")
    if (done.returncode != 0) != refused or "Traceback" in done.stderr:
        raise SystemExit(f"unexpected exit code {done.returncode}: socialcredit {shlex.join(args)}")
    return done.stdout


def say(text: str) -> None:
    print(f"\n# {text}")


def main(work: Path) -> None:
    data = work / "data"
    summary = generate_regions(data, residents=60, movers=4, seed=5, regions=("110000", "120000"))
    mover = summary.movers[0]
    bj_id, tj_id = mover["subject_id_from"], mover["subject_id_to"]
    with (data / "110000" / "records" / "courts.csv").open(encoding="utf-8") as fh:
        record = next(r["record_id"] for r in csv.DictReader(fh) if r["subject_id"] == bj_id)
    local = f"110000/{record}"
    dbs = {"110000": str(work / "beijing.duckdb"), "120000": str(work / "tianjin.duckdb")}
    names = {"110000": "Beijing", "120000": "Tianjin"}
    keys: dict[str, tuple[str, str]] = {}
    day = "2026-11-01"
    say("Set-up: two regions, each with its residents, records, policy (sharing court judgments and the blacklist)")
    for code, db in dbs.items():
        policy = work / f"{names[code].lower()}.yaml"
        text = builtin_policy("beijing").text.replace("id: beijing\n", f"id: {names[code].lower()}\n", 1)
        policy.write_text(text + EXCHANGE, encoding="utf-8")
        for args in (
            ("init", "--db", db),
            ("region", "setup", code, names[code], "--db", db),
            ("ingest", str(data / code / "subjects.csv"), "--source", "civil_affairs", "--db", db),
            ("ingest", str(data / code / "records" / "tax_bureau.csv"), "--source", "tax_bureau", "--db", db),
            ("ingest", str(data / code / "records" / "courts.csv"), "--source", "courts", "--db", db),
        ):
            run(*args, today=day, show=False)
        keyfile = work / f"{code}.key"
        made = run("region", "keygen", "--out", str(keyfile), today=day, show=False).splitlines()
        keys[code] = (made[2].strip(), made[4].strip())  # the signing and the encryption public keys
    for code, db in dbs.items():
        for other in dbs:
            if other != code:
                signing, encryption = keys[other]
                trust = ("region", "trust", other, names[other], "--key", signing, "--encryption-key", encryption)
                run(*trust, "--db", db, today=day, show=False)
    moved = "under the same number" if tj_id == bj_id else f"as {tj_id}"
    print(
        f"(stores {dbs['110000']} and {dbs['120000']}; the mover is {bj_id} in Beijing, registered in Tianjin {moved})"
    )
    bj, tj = dbs["110000"], dbs["120000"]
    bp, tp = str(work / "beijing.yaml"), str(work / "tianjin.yaml")

    def bundle(code: str, n: int) -> str:
        return str(work / f"{names[code].lower()}-{n}.json")

    say("Beijing lists: its run of 2026-11-01 notices the judgment defaulter, 60 days' grace")
    run("score", "--policy", bp, "--as-of", day, "--db", bj, today=day, show=False)
    run("notices", "--subject", bj_id, "--db", bj, today=day)
    run("decide", bj_id, "high_speed_rail", "--purpose", "ticket purchase", "--db", bj, today=day)
    run(
        "region",
        "export",
        "--policy",
        "beijing",
        "--key",
        str(work / "110000.key"),
        "--out",
        bundle("110000", 1),
        "--db",
        bj,
        today=day,
    )

    day = "2026-11-15"
    say("He moves: Tianjin imports Beijing's bundle, links him, scores; the listing keeps Beijing's dates")
    run("region", "import", bundle("110000", 1), "--key", str(work / "120000.key"), "--db", tj, today=day)
    run("score", "--policy", tp, "--as-of", day, "--db", tj, today=day, show=False)
    run("notices", "--subject", tj_id, "--db", tj, today=day)

    say("Tianjin decides within the same grace: granted on its last day, refused from the effective date")
    for day in ("2026-12-30", "2026-12-31"):
        for db, region_policy, sid in ((bj, bp, bj_id), (tj, tp, tj_id)):
            run("score", "--policy", region_policy, "--as-of", day, "--db", db, today=day, show=False)
            run("decide", sid, "high_speed_rail", "--purpose", "ticket purchase", "--db", db, today=day)

    day = "2027-01-04"
    say("He disputes in Tianjin: the dispute is forwarded to Beijing, which recorded the judgment")
    run(
        "dispute",
        "file",
        tj_id,
        "courts",
        local,
        "--reason",
        "I paid this judgment on 2026-12-20",
        "--db",
        tj,
        "--today",
        day,
        today=day,
    )
    filed = json.loads(run("dispute", "list", "--subject", tj_id, "--json", "--db", tj, today=day, show=False))
    run(
        "dispute",
        "answer",
        str(filed[0]["dispute_id"]),
        "verified",
        "--source",
        "courts",
        "--note",
        "checked",
        "--db",
        tj,
        "--today",
        day,
        today=day,
        refused=True,
    )
    run(
        "region",
        "export",
        "--policy",
        "tianjin",
        "--key",
        str(work / "120000.key"),
        "--out",
        bundle("120000", 1),
        "--db",
        tj,
        today=day,
    )
    day = "2027-01-05"
    run("region", "import", bundle("120000", 1), "--key", str(work / "110000.key"), "--db", bj, today=day)
    run("dispute", "list", "--source", "courts", "--status", "open", "--db", bj, today=day)

    day = "2027-01-20"
    say("The Beijing court answers: the judgment is withdrawn; Beijing's run that day delists")
    opened = run(
        "dispute", "list", "--source", "courts", "--status", "open", "--json", "--db", bj, today=day, show=False
    )
    dispute_id = str(json.loads(opened)[0]["dispute_id"])
    run(
        "dispute",
        "answer",
        dispute_id,
        "withdrawn",
        "--source",
        "courts",
        "--note",
        "paid on 2026-12-20",
        "--db",
        bj,
        "--today",
        day,
        today=day,
    )
    run("score", "--policy", bp, "--as-of", day, "--db", bj, today=day, show=False)
    run("notices", "--subject", bj_id, "--db", bj, today=day)
    run(
        "region",
        "export",
        "--policy",
        "beijing",
        "--key",
        str(work / "110000.key"),
        "--out",
        bundle("110000", 2),
        "--db",
        bj,
        today=day,
    )

    day = "2027-01-21"
    say("Tianjin imports the answer: its dispute is closed, the record withdrawn, the listing ended the same day")
    run("region", "import", bundle("110000", 2), "--key", str(work / "120000.key"), "--db", tj, today=day)
    run("dispute", "list", "--subject", tj_id, "--db", tj, today=day)
    run("notices", "--subject", tj_id, "--db", tj, today=day)
    run("decide", tj_id, "high_speed_rail", "--purpose", "ticket purchase", "--db", tj, today=day)
    run("decide", bj_id, "high_speed_rail", "--purpose", "ticket purchase", "--db", bj, today=day)
    say("What each region told him: both listings ended on 2027-01-20")
    run("notifications", bj_id, "--db", bj, today=day)
    run("notifications", tj_id, "--db", tj, today=day)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp))
