"""The policy lab and the catalog over HTTP, on a real server over the hand-made world of tests/lab_world.py: the
catalog's versions (public), a candidate catalog checked (operator), the impact of a candidate policy, the disparity
audit and drift (operator), each value worked out by hand and equal to what the installed console script prints on
a copy of the same store; one impact at a time (429 naming it); every refusal a 4xx naming the problem."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_helpers import auth, serving
from due_world import score_on_its_day
from lab_world import AS_OF, CANDIDATE, CURRENT, MINUS, PLUS, build, current
from socialcredit.api.app import create_app
from socialcredit.catalog import catalog_sha256, shipped_catalog_text
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.scoring.policies import publish_policy

CLI = shutil.which("socialcredit", path=str(Path(sys.executable).parent)) or "socialcredit"
YAML = {"Content-Type": "application/yaml"}


def sc(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=120, check=False, env=env)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """CURRENT published as lab 1 and scored three times: run 1 as of a year before AS_OF (before every record: no
    rule hits anyone), runs 2 and 3 as of AS_OF on the same records; a copy of the file for the console script."""
    folder = tmp_path_factory.mktemp("lab-api")
    reg = build(folder)
    store = reg.store
    publish_policy(store, current())
    early = AS_OF.replace(year=AS_OF.year - 1)
    runs = [score_on_its_day(store, current(), when).run_id for when in (early, AS_OF, AS_OF)]
    operator = issue_key(store, "operator", "registry operations").token
    resident = issue_key(store, "resident", "a resident", subject=reg_subject(store)).token
    store.execute("CHECKPOINT")
    copy = folder / "copy.duckdb"
    shutil.copy(folder / "registry.duckdb", copy)
    (folder / "candidate.yaml").write_text(CANDIDATE, encoding="utf-8")
    app = create_app(folder / "registry.duckdb", store=store)
    with serving(app) as base, httpx.Client(base_url=base, timeout=60) as client:
        yield {
            "client": client,
            "service": app.state.service,
            "store": store,
            "operator": auth(operator),
            "resident": auth(resident),
            "runs": runs,
            "copy": copy,
            "folder": folder,
        }
    store.close()


def reg_subject(store: Any) -> str:
    return str(store.one("SELECT min(subject_id) FROM subjects"))


# --- the catalog -------------------------------------------------------------------------------------------------


@pytest.mark.slow  # the console script beside it
def test_the_catalog_and_its_versions_are_public(lab: dict[str, Any]) -> None:
    client = lab["client"]
    listed = client.get("/v1/catalogs")
    assert listed.status_code == 200
    body = listed.json()
    shipped = shipped_catalog_text()
    assert body["latest"] == 1
    assert [(v["version"], v["sha256"]) for v in body["versions"]] == [(1, catalog_sha256(shipped))]
    assert "published_by" not in body["versions"][0]  # who published is the operators' business, not the public's
    one = client.get("/v1/catalogs/1")
    assert one.status_code == 200
    assert one.json()["text"] == shipped and one.json()["sha256"] == catalog_sha256(shipped)
    # the same catalog the console script prints as JSON
    printed = sc("catalog", "show", "--version", "1", "--format", "json", "--db", lab["copy"])
    assert printed.returncode == 0, printed.stderr
    assert one.json()["catalog"] == json.loads(printed.stdout)["catalog"]
    assert one.json()["catalog"]["record_types"]["tax_payment"]["fields"]["status"]["allowed"] == [
        "paid",
        "late",
        "evaded",
    ]
    missing = client.get("/v1/catalogs/7")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "no published catalog version 7; the latest is 1"
    for bad in ("0", "2147483648", "x"):
        refused = client.get(f"/v1/catalogs/{bad}")
        assert refused.status_code == 422 and refused.json()["error"]["field"] == "path.version"


@pytest.mark.slow  # the console script beside it
def test_a_candidate_catalog_is_checked_by_an_operator(lab: dict[str, Any]) -> None:
    client, op = lab["client"], lab["operator"]
    shipped = shipped_catalog_text()
    same = client.post("/v1/catalogs/check", content=shipped.encode(), headers=op | YAML)
    assert same.status_code == 200
    assert same.json() | {"record_types": 0, "sources": 0} == {
        "base_version": 1,
        "sha256": catalog_sha256(shipped),
        "record_types": 0,
        "sources": 0,
        "added": [],
        "unchanged": True,
    }
    # a candidate without tax_payment: lab 1's rules plus and minus read it
    cut = shipped.replace("  tax_payment:", "  tax_payment_gone:", 1).replace("[tax_payment]", "[tax_payment_gone]")
    (lab["folder"] / "cut.yaml").write_text(cut, encoding="utf-8")
    refused = client.post("/v1/catalogs/check", content=cut.encode(), headers=op | YAML)
    assert refused.status_code == 409
    body = refused.json()
    assert body["error"] == {
        "code": "catalog_incompatible",
        "message": "the request body: incompatible with the store's catalog (version 1):",
    }
    assert "policy lab@1 rule minus uses record type tax_payment, which the candidate removes" in body["problems"]
    assert "policy lab@1 rule plus uses record type tax_payment, which the candidate removes" in body["problems"]
    printed = sc("catalog", "check", lab["folder"] / "cut.yaml", "--db", lab["copy"])
    assert printed.returncode == 1
    assert [line.strip() for line in printed.stderr.splitlines()[1:]] == body["problems"]
    invalid = client.post("/v1/catalogs/check", content=b"professions: [a]\n", headers=op | YAML)
    assert invalid.status_code == 422 and invalid.json()["error"]["code"] == "invalid_catalog"
    assert invalid.json()["error"]["message"].startswith("the request body: invalid catalog:")
    empty = client.post("/v1/catalogs/check", content=b"  \n", headers=op | YAML)
    assert empty.status_code == 400 and empty.json()["error"]["code"] == "empty_body"
    big = client.post("/v1/catalogs/check", content=b"#" * 1_000_001, headers=op | YAML)
    assert big.status_code == 413
    assert big.json()["error"]["message"] == "the catalog is 1000001 bytes; a catalog may be at most 1000000 bytes"
    latin = client.post("/v1/catalogs/check", content=b"sources: \xff\n", headers=op | YAML)
    assert latin.status_code == 400 and latin.json()["error"]["message"] == "the catalog is not UTF-8 (byte 9)"
    for who in (lab["resident"], {}):
        assert client.post("/v1/catalogs/check", content=shipped.encode(), headers=who | YAML).status_code in (401, 403)


# --- impact ------------------------------------------------------------------------------------------------------


def _impact(lab: dict[str, Any], text: str = CANDIDATE, ref: str = "lab/1", **params: str) -> httpx.Response:
    query = {"as_of": AS_OF.isoformat()} | params
    return lab["client"].post(
        f"/v1/policies/{ref}/impact", params=query, content=text.encode(), headers=lab["operator"] | YAML
    )


@pytest.mark.slow  # the console script beside it
def test_impact_of_a_candidate_by_hand_and_as_the_console_script_prints_it(lab: dict[str, Any]) -> None:
    answer = _impact(lab)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    # tests/lab_world.py's table: P3 silver → gold; P4 leaves the blacklist (travel refuse → grant); the badge
    # (silver or better → a score of 150) refused to P2, P9 and P10: 5 of 10 change
    assert (report["subjects"], report["changed"], report["tiers"]["changed"]) == (10, 5, 1)
    assert {(m["from"], m["to"]): m["n"] for m in report["tiers"]["matrix"]}[("silver", "gold")] == 1
    blacklist = next(x for x in report["lists"] if x["list"] == "blacklist")
    assert (blacklist["before"], blacklist["after"], blacklist["entered"], blacklist["left"]) == (2, 1, 0, 1)
    flips = {s["service"]: (s["grant_to_refuse"], s["refuse_to_grant"]) for s in report["services"]}
    assert flips == {"travel": (0, 1), "loan": (0, 0), "badge": (3, 0)}
    # plus gives 20 instead of 15 for each of its 13 records: +65 points over the 6 subjects it hits
    plus = next(r for r in report["rules"] if r["rule"] == "plus")
    assert (plus["subjects"], plus["points_change"]) == (len(PLUS), 5.0 * sum(PLUS.values()))
    assert report["current"] == {
        "policy": "lab",
        "version": "1",
        "sha256": current().sha256,
        "origin": "lab@1",
    }
    assert report["candidate"]["origin"] == "the request body"
    printed = sc(
        "policy", "impact", "lab@1", lab["folder"] / "candidate.yaml", "--as-of", AS_OF.isoformat(), "--format", "json",
        "--db", lab["copy"],
    )  # fmt: skip
    assert printed.returncode == 0, printed.stderr
    cli = json.loads(printed.stdout)
    assert cli["candidate"].pop("origin") == str(lab["folder"] / "candidate.yaml")
    report["candidate"].pop("origin")
    assert report == cli


def test_impact_refusals_name_the_problem(lab: dict[str, Any]) -> None:
    missing = _impact(lab, ref="lab/9")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "no published policy 'lab' version '9' (published: 1)"
    invalid = _impact(lab, text="id: lab\n")
    assert invalid.status_code == 422 and invalid.json()["error"]["code"] == "invalid_policy"
    early = _impact(lab, as_of="1899-12-31")
    assert early.status_code == 422 and early.json()["error"]["field"] == "as_of"
    assert early.json()["error"]["message"].startswith("as_of: ")
    big = _impact(lab, text="#" * (1024 * 1024 + 1))
    assert big.status_code == 413
    assert big.json()["error"]["message"] == "the candidate is 1048577 bytes; a policy is at most 1048576 bytes"
    assert _impact(lab, text="").json()["error"]["code"] == "empty_body"
    as_resident = lab["client"].post(
        "/v1/policies/lab/1/impact", content=CANDIDATE.encode(), headers=lab["resident"] | YAML
    )
    assert as_resident.status_code == 403 and as_resident.json()["error"]["code"] == "role_not_allowed"


def test_one_impact_at_a_time(lab: dict[str, Any]) -> None:
    audited = lab["store"].one  # the count is read under the writer below
    gate = lab["service"].impact_gate
    with lab["service"].writer():
        before = audited("SELECT count(*) FROM audit_log WHERE action = 'policy_impact'")
    assert gate.acquire(blocking=False)  # as a request computing an impact holds it
    try:
        busy = _impact(lab)
    finally:
        gate.release()
    assert busy.status_code == 429
    assert busy.headers["Retry-After"] == "5"
    assert busy.json()["error"] == {
        "code": "too_many_requests",
        "message": "an impact report is being computed: one impact runs at a time (it scores every subject twice); "
        "retry in 5 seconds",
    }
    with lab["service"].writer():  # nothing was computed for the refused request
        assert audited("SELECT count(*) FROM audit_log WHERE action = 'policy_impact'") == before
    assert _impact(lab).status_code == 200  # and the gate is free again


# --- disparity and drift -----------------------------------------------------------------------------------------


@pytest.mark.slow  # the console script beside it
def test_the_disparity_audit_of_a_versions_latest_run(lab: dict[str, Any]) -> None:
    client, op = lab["client"], lab["operator"]
    answer = client.get("/v1/policies/lab/1/disparity", headers=op)
    assert answer.status_code == 200, answer.text
    audit = answer.json()
    assert (audit["run_id"], audit["persons"], audit["as_of"]) == (lab["runs"][2], 10, AS_OF.isoformat())
    # the blacklist: P4 and P6 (85 and 70 under the floor of 100), both women: 2 of 10 overall, 2 of 5 women
    assert audit["overall"]["list:blacklist"] == {"count": 2, "rate": 0.2}
    women = next(
        r for r in audit["rows"] if (r["metric"], r["dimension"], r["group"]) == ("list:blacklist", "sex", "F")
    )
    assert (women["n"], women["count"], women["rate"], women["ratio"], women["level"]) == (5, 2, 0.4, 2.0, "note")
    # `policy lint --db` reports the same flagged groups as SC901 findings, from the same run
    (lab["folder"] / "current.yaml").write_text(CURRENT, encoding="utf-8")
    printed = sc("policy", "lint", lab["folder"] / "current.yaml", "--db", lab["copy"], "--json")
    linted = json.loads(printed.stdout)
    assert linted["disparity_run"] == audit["run_id"]
    found = sorted(f["where"].rsplit(": ", 1)[1] for f in linted["findings"] if f["rule"] == "SC901")
    assert found == sorted(f"{r['dimension']} {r['group']}" for r in audit["flagged"])
    assert len(found) == len(audit["flagged"]) > 0
    never = client.get("/v1/policies/lab/9/disparity", headers=op)
    assert (
        never.status_code == 404
        and never.json()["error"]["message"] == "no published policy 'lab' version '9' (published: 1)"
    )
    assert client.get("/v1/policies/lab/1/disparity", headers=lab["resident"]).status_code == 403


@pytest.mark.slow  # the console script beside it
def test_drift_between_two_runs(lab: dict[str, Any]) -> None:
    client, op = lab["client"], lab["operator"]
    early, first, second = lab["runs"]
    same = client.get("/v1/drift", params={"run_a": first, "run_b": second}, headers=op)
    assert same.status_code == 200, same.text
    assert same.json()["score"]["psi"] == 0.0 and same.json()["alerts"] == []
    moved = client.get("/v1/drift", params={"run_a": early, "run_b": first}, headers=op).json()
    # a year earlier no record had happened: no rule hit anyone; as of AS_OF plus hits 6 of 10, minus 5 of 10
    rates = {r["rule"]: (r["hit_rate_a"], r["hit_rate_b"], r["alert"]) for r in moved["rules"]}
    assert rates == {"plus": (0.0, len(PLUS) / 10, True), "minus": (0.0, len(MINUS) / 10, True)}
    assert {a["what"] for a in moved["alerts"]} >= {"rule plus", "rule minus"}
    printed = sc("policy", "drift", str(early), str(first), "--db", lab["copy"], "--json")
    assert printed.returncode == 1  # an alert
    assert moved == json.loads(printed.stdout)
    missing = client.get("/v1/drift", params={"run_a": first, "run_b": 999}, headers=op)
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "no finished score run 999"
    for params in ({"run_a": first}, {"run_a": 0, "run_b": first}, {"run_a": "x", "run_b": first}):
        refused = client.get("/v1/drift", params=params, headers=op)
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_request"
    assert client.get("/v1/drift", params={"run_a": first, "run_b": second}).status_code == 401
