"""With a store key, the export names every subject by its pseudonym: a record's field that names a subject (an
employment's employer, a role's organisation: ``names_subject`` in the catalog) as well as the subjects file, so no
organisation's code ties a pseudonymous resident to a firm, and relations still join on the export: its results,
scored without the store (`score --input`) and published back, are the store's own run, row for row."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from relation_world import COMPANY, DIRECTOR, OTHER, OUTSIDER, REP, at_cause, build, entries
from scoring_helpers import AS_OF, days_before, open_registry, run_differences
from socialcredit.store import open_store

CLI = str(Path(sys.executable).parent / "socialcredit")
KEY = "a passphrase for the export's test store"


def _ok(*args: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SOCIALCREDIT_DB"}
    env |= {"SOCIALCREDIT_DB_KEY": KEY, "SOCIALCREDIT_TODAY": AS_OF.isoformat(), "COLUMNS": "200"}
    proc = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _employment(record_id: str, subject_id: str, employer: str) -> dict[str, object]:
    return {
        "record_id": record_id,
        "subject_id": subject_id,
        "record_type": "employment",
        "event_date": days_before(60),
        "employer": employer,
        "status": "active",
        "monthly_income": 12000,
    }


def test_a_keyed_export_names_employers_and_organisations_by_pseudonym_and_scores_as_the_store(
    tmp_path: Path,
) -> None:
    reg = open_registry(tmp_path)
    reg.store.close()
    db = tmp_path / "keyed" / "s.duckdb"
    reg.store = open_store(db, create=True, key=KEY)
    build(reg)
    # residents employed by the listed company and by the other one
    reg.send("employers", [_employment("E1", REP, COMPANY), _employment("E2", OUTSIDER, OTHER)])
    loaded = at_cause()
    ours = reg.score(loaded)
    assert (REP, "officer_of_defaulter") in entries(reg, ours.run_id)
    reg.store.close()

    export = tmp_path / "export"
    _ok("export", "--out", export, "--db", db)
    files = [p for p in export.rglob("*") if p.is_file()]
    assert {p.parent.name for p in files if p.suffix == ".parquet"} >= {
        "record_type=employment",
        "record_type=company_role",
    }
    everything = b"".join(p.read_bytes() for p in files)
    # neither organisation's code, nor any resident's identity number, is in the export
    assert [s for s in (COMPANY, OTHER, REP, DIRECTOR, OUTSIDER) if s.encode() in everything] == []

    policy = tmp_path / "policy" / "beijing-at-cause.yaml"
    policy.parent.mkdir()
    policy.write_text(loaded.text, "utf-8")
    out = tmp_path / "results"
    _ok("score", "--input", export, "--policy", policy, "--as-of", AS_OF, "--out", out)
    published = _ok("publish", out, "--db", db, "--json")
    theirs = int(json.loads(published.stdout)["run_id"])
    with open_store(db, key=KEY, read_only=True) as store:
        assert run_differences(store, ours.run_id, theirs) == []
        # the employer's pseudonym is the company's own, as in the subjects file
        employers = store.execute(
            "SELECT DISTINCT employer FROM read_parquet(?)", [str(export / "records" / "record_type=employment" / "*")]
        ).fetchall()
        subjects = store.execute("SELECT sid FROM read_parquet(?)", [str(export / "subjects.parquet")]).fetchall()
    sids = {str(r[0]) for r in subjects}
    assert len(employers) == 2 and all(str(e[0]) in sids for e in employers)
