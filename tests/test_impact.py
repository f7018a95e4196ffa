"""`policy impact` and `policy publish --impact` on the hand-made world of tests/lab_world.py: every count worked
out by hand (the table there), the installed console script's exit codes and messages, and a policy's impact
against itself, which is empty."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab_world import AS_OF, CANDIDATE, CURRENT, P, build, current
from socialcredit.policy import parse_policy
from socialcredit.registry.reporting.impact import impact, top_groups
from socialcredit.registry.reporting.impact_page import impact_html
from socialcredit.registry.scoring.policies import publish_policy
from store_copies import copy_of

CLI = shutil.which("socialcredit", path=str(Path(sys.executable).parent)) or "socialcredit"


def sc(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=120, check=False, env=_env())


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")} | {
        "COLUMNS": "200"
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The world's store with CURRENT published and CANDIDATE written beside it (not published)."""
    folder = tmp_path_factory.mktemp("lab")
    reg = build(folder)
    publish_policy(reg.store, current())
    reg.store.close()
    (folder / "candidate.yaml").write_text(CANDIDATE, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def report(world: Path) -> dict[str, Any]:
    from socialcredit.store import open_store

    with open_store(world / "registry.duckdb") as store:
        runs_before = store.one("SELECT count(*) FROM score_runs")
        found = impact(store, current(), parse_policy(CANDIDATE, "candidate.yaml"), AS_OF)
        # a trial writes no run and publishes nothing
        assert store.one("SELECT count(*) FROM score_runs") == runs_before == 0
        assert store.one("SELECT count(*) FROM policies WHERE version = '2'") == 0
        assert store.one("SELECT count(*) FROM audit_log WHERE action = 'policy_impact'") == 1
    return found


def test_who_changes_tier(report: dict[str, Any]) -> None:
    assert report["subjects"] == 10 and report["changed"] == 5  # P2, P3, P4, P9, P10
    assert report["tiers"]["changed"] == 1
    assert {(m["from"], m["to"]): m["n"] for m in report["tiers"]["matrix"]} == {
        ("bronze", "bronze"): 5,
        ("gold", "gold"): 1,
        ("silver", "gold"): 1,
        ("silver", "silver"): 3,
    }
    assert report["tiers"]["order"] == ["gold", "silver", "bronze"]


def test_who_enters_and_leaves_lists_and_which_services_flip(report: dict[str, Any]) -> None:
    assert report["lists"] == [
        {"list": "blacklist", "before": 2, "after": 1, "entered": 0, "left": 1, "new_cause": 0, "cause_ended": 1}
    ]
    assert report["criteria"] == [{"list": "blacklist", "criterion": "floor", "entered": 0, "left": 1}]
    assert report["services"] == [
        {"service": "travel", "grant_to_refuse": 0, "refuse_to_grant": 1},  # P4
        {"service": "loan", "grant_to_refuse": 0, "refuse_to_grant": 0},
        {"service": "badge", "grant_to_refuse": 3, "refuse_to_grant": 0},  # P2, P9, P10
    ]


def test_counts_and_rates_by_group(report: dict[str, Any]) -> None:
    groups = report["groups"]
    district = {g["group"]: (g["n"], g["counts"]["changed"], g["rates"]["changed"]) for g in groups["district"]}
    assert district == {"朝阳区": (5, 3, 0.6), "海淀区": (5, 2, 0.4)}
    sex = {g["group"]: (g["n"], g["counts"]["changed"]) for g in groups["sex"]}
    assert sex == {"M": (5, 2), "F": (5, 3)}  # men P3, P9; women P2, P4, P10
    women = next(g for g in groups["sex"] if g["group"] == "F")
    assert women["counts"]["grant_to_refuse:badge"] == 2 and women["counts"]["leaves:blacklist"] == 1
    assert [(g["group"], g["n"], g["counts"]["changed"]) for g in groups["age_band"]] == [("35–44", 10, 5)]
    assert groups["profession"] == []  # no one has a profession
    # the world's groups are smaller than MIN_GROUP: ranked only when the floor is lowered
    assert report["top_groups"] == []
    assert [(g["dimension"], g["group"], g["changed"]) for g in top_groups(groups, min_group=1)] == [
        ("district", "朝阳区", 3),
        ("sex", "F", 3),
        ("age_band", "35–44", 5),
    ]


def test_the_rules_that_drive_the_changes(report: dict[str, Any]) -> None:
    # plus: 15 → 20 points a record for the 14 records of P2, P3, P5, P8, P9, P10; of them P2, P3, P9, P10 change
    assert report["rules"] == [
        {
            "rule": "plus",
            "subjects": 6,
            "changed_subjects": 4,
            "points_change": 70.0,
            "in_current": True,
            "in_candidate": True,
        }
    ]


def test_the_html_report_is_self_contained(report: dict[str, Any]) -> None:
    page = impact_html(report)
    assert page.startswith("<!doctype html>") and "<svg" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in page
    assert "<script" not in page and "badge: grant → refuse" in page


def test_policy_impact_and_publish_through_the_console_script(world: Path, tmp_path: Path) -> None:
    db, cand = world / "registry.duckdb", world / "candidate.yaml"
    shutil.copy(db, tmp_path / "store.duckdb")
    db = tmp_path / "store.duckdb"
    report = tmp_path / "impact.json"
    done = sc(
        "policy",
        "impact",
        "lab@1",
        cand,
        "--as-of",
        AS_OF.isoformat(),
        "--db",
        db,
        "--format",
        "json",
        "--output",
        report,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(report.read_text())["changed"] == 5
    table = sc("policy", "impact", "lab", cand, "--as-of", AS_OF.isoformat(), "--db", db)
    assert table.returncode == 0 and "5 of 10 subjects change" in table.stdout
    html = tmp_path / "impact.html"
    assert (
        sc(
            "policy", "impact", "lab@1", cand, "--as-of", "2026-01-01", "--db", db, "--format", "html", "--output", html
        ).returncode
        == 0
    )
    assert "<svg" in html.read_text()

    missing = sc("policy", "impact", "lab@9", cand, "--as-of", "2026-01-01", "--db", db)
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines()[-1] == "error: no published policy 'lab' version '9' (published: 1)"
    bad_format = sc("policy", "impact", "lab@1", cand, "--db", db, "--format", "pdf")
    assert bad_format.returncode == 2

    refused = sc("policy", "publish", cand, "--db", db)
    assert refused.returncode == 2
    assert (
        refused.stderr.replace("\n", " ").split("error: ")[1].startswith(f"publishing {cand} needs its impact report")
    )
    changed = tmp_path / "changed.yaml"
    changed.write_text(CANDIDATE + "# one more line\n", encoding="utf-8")
    from socialcredit.policy import load_policy

    sha_report, sha_file = load_policy(cand).sha256, load_policy(changed).sha256
    mismatch = sc("policy", "publish", changed, "--impact", report, "--db", db)
    assert mismatch.returncode == 2
    assert " ".join(mismatch.stderr.split()) == (
        f"error: {report} was made for a candidate with sha256 {sha_report[:12]}, but {changed} has sha256 "
        f"{sha_file[:12]}: run `socialcredit policy impact` on this file and publish with that report"
    )
    published = sc("policy", "publish", cand, "--impact", report, "--db", db)
    assert published.returncode == 0, published.stderr
    assert published.stdout.strip() == f"Published lab 2 (sha256 {sha_report[:12]}) with its impact report."
    history = sc("policy", "history", "lab", "--db", db, "--json")
    assert history.returncode == 0
    versions = json.loads(history.stdout)
    assert [v["version"] for v in versions] == ["1", "2"] and versions[0]["impact"] is None
    assert versions[1]["impact"]["against"] == "lab@1" and versions[1]["impact"]["changed"] == 5
    kept = sc("policy", "history", "lab", "--version", "2", "--db", db)
    assert kept.returncode == 0 and json.loads(kept.stdout) == json.loads(report.read_text())
    none = sc("policy", "history", "lab", "--version", "1", "--db", db)
    assert none.returncode == 2
    assert none.stderr.strip() == "error: policy lab version 1 was published without an impact report"
    never = sc("policy", "history", "lab", "--version", "9", "--db", db)  # not "published without a report"
    assert never.returncode == 2
    assert never.stderr.strip() == "error: no published policy 'lab' version '9' (published: 1, 2)"
    without = tmp_path / "v3.yaml"
    without.write_text(CURRENT.replace('version: "1"', 'version: "3"'), encoding="utf-8")
    assert sc("policy", "publish", without, "--without-impact", "--db", db).returncode == 0


@pytest.mark.parametrize("name", ["[red]x[/]", "[/]"])
def test_a_file_name_that_reads_as_markup_is_printed_as_written(world: Path, tmp_path: Path, name: str) -> None:
    """The line saying where the report went names the file as written: ``[/]`` stopped the command with a Rich
    MarkupError (exit 3), ``[red]x[/]`` printed ``x`` (in red)."""
    shutil.copy(world / "registry.duckdb", tmp_path / "store.duckdb")
    output = tmp_path / f"{name}.txt"  # "[/]" is a folder "[" and a file "].txt"
    output.parent.mkdir(exist_ok=True)
    cand = world / "candidate.yaml"
    done = sc(
        "policy",
        "impact",
        "lab@1",
        cand,
        "--as-of",
        AS_OF.isoformat(),
        "--db",
        tmp_path / "store.duckdb",
        "--output",
        output,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == f"Wrote the impact report (table) to {output}: 5 of 10 subjects change.\n"
    assert "5 of 10 subjects change" in output.read_text(encoding="utf-8")


def test_a_group_named_like_markup_is_printed_as_written(tmp_path: Path) -> None:
    """A district is text from civil affairs: "[/b]朝阳区" is a group of the table, not Rich markup (`policy impact`
    ended in an internal error: "MarkupError: closing tag '[/b]' … doesn't match any open tag")."""
    from scoring_helpers import open_registry

    reg = open_registry(tmp_path)
    districts = {i: "[/b]朝阳区" if i <= 5 else "[bold]海淀区" for i in P}
    rows = [{"subject_id": P[i], "name": f"P{i}", "district": districts[i], "profession": None} for i in P]
    assert reg.ingest("civil_affairs", rows).errors == []
    plus = [
        {
            "record_id": f"T{i}",
            "subject_id": P[i],
            "record_type": "tax_payment",
            "event_date": "2025-12-01",
            "amount": 1,
            "status": "paid",
        }
        for i in (2, 3, 5)
    ]
    reg.send("tax_bureau", plus)
    publish_policy(reg.store, current())
    reg.store.close()
    cand = tmp_path / "candidate.yaml"
    cand.write_text(CANDIDATE, encoding="utf-8")
    done = sc("policy", "impact", "lab@1", cand, "--as-of", AS_OF.isoformat(), "--db", tmp_path / "registry.duckdb")
    assert done.returncode == 0, done.stderr
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in done.stdout.splitlines() if line.startswith("│")]
    by_district = {row[0]: row for row in cells if row[0].endswith("区")}
    # five in each district; P2, P3 and P5 (a plus record each: 115, then 120) lose the badge (150 under CANDIDATE)
    assert by_district["[/b]朝阳区"][:3] == ["[/b]朝阳区", "5", "3"]
    assert by_district["[bold]海淀区"][:3] == ["[bold]海淀区", "5", "0"]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    plus=st.integers(min_value=-30, max_value=30).filter(bool),
    # the score is at least 0, so a floor of 0 ('score < 0') is a criterion the validator rightly refuses
    floor=st.integers(min_value=1, max_value=200),
    badge=st.sampled_from(["tier >= 'silver'", "score >= 150", "not blacklist"]),
)
def test_a_policy_against_itself_changes_nothing(plus: int, floor: int, badge: str) -> None:
    from lab_world import policy_yaml

    text = policy_yaml(plus, floor, badge, "1")
    with tempfile.TemporaryDirectory() as folder:
        # the world built once per process, a copy of its store for each example
        store = copy_of(Path(folder), "lab-world", lambda where: build(where).store, db="registry.duckdb")
        loaded = parse_policy(text, "self.yaml")
        publish_policy(store, loaded)
        found = impact(store, loaded, parse_policy(text, "again.yaml"), AS_OF)
        store.close()
    assert found["changed"] == 0 and found["rules"] == [] and found["criteria"] == []
    assert all(v == 0 for v in found["overall"]["counts"].values())
    assert all(m["from"] == m["to"] for m in found["tiers"]["matrix"])
    assert sum(m["n"] for m in found["tiers"]["matrix"]) == len(P)


def test_a_version_assessed_against_another_policy_is_not_published_with_that_report(
    world: Path, tmp_path: Path
) -> None:
    """`policy impact beijing sesame-2026.2.yaml` sets sesame 2026.2 beside beijing, not beside sesame in force; `policy
    publish sesame-2026.2.yaml --impact` took that report and recorded it as the version's assessment ("against
    beijing@2026.3"). Here lab 2 is set beside beijing: `policy impact beijing candidate.yaml` was itself an internal
    error (exit 3, "BinderException: Cannot mix values of type BIGINT and VARCHAR in COALESCE": the candidate has no
    record criterion, and its list entries' keys were typed as text)."""
    db = tmp_path / "store.duckdb"
    shutil.copy(world / "registry.duckdb", db)
    cand, report = world / "candidate.yaml", tmp_path / "beside-beijing.json"
    assert sc("score", "--policy", "beijing", "--as-of", "2026-01-01", "--db", db).returncode == 0
    beside = sc("policy", "impact", "beijing", cand, "--as-of", "2026-01-01", "--db", db, "--format", "json")
    assert beside.returncode == 0, beside.stderr
    assert json.loads(beside.stdout)["current"]["origin"] == "beijing@2026.2"
    report.write_text(beside.stdout, encoding="utf-8")
    made = sc("policy", "impact", "lab@1", cand, "--as-of", "2026-01-01", "--db", db, "--format", "json")
    assert made.returncode == 0, made.stderr
    refused = sc("policy", "publish", cand, "--impact", report, "--db", db)
    assert refused.returncode == 2, refused.stdout
    assert " ".join(refused.stderr.split()) == (
        f"error: {report} assessed lab 2 against beijing@2026.2, another policy, not against lab's version in force "
        f"(1): run `socialcredit policy impact lab {cand}` and publish with that report"
    )
    history = sc("policy", "history", "lab", "--db", db, "--json")
    assert [v["version"] for v in json.loads(history.stdout)] == ["1"]  # nothing published, nothing recorded
    report.write_text(made.stdout, encoding="utf-8")  # the report beside lab 1 is taken
    assert sc("policy", "publish", cand, "--impact", report, "--db", db).returncode == 0


def test_a_policy_with_no_record_criterion_types_its_list_entries_as_one_that_has(world: Path, tmp_path: Path) -> None:
    """The plan's list entries of records of a policy with no record criterion (the candidate: its lists are met by
    the score alone) were typed VARCHAR, the subject's integer key as text: unioned with the score's entries they
    made every entry's key text (BIGINT and VARCHAR union as VARCHAR), and the comparison's join with another
    policy's BIGINT keys failed ("Cannot mix values of type BIGINT and VARCHAR", mended in impact.py alone). They
    are typed as the entries of records of a policy that has one (beijing), on the store's own inputs; and the
    candidate is compared beside it."""
    from socialcredit.compiler.plan import ScorePlan
    from socialcredit.policy.load import builtin_policy
    from socialcredit.registry.scoring.inputs import prepare_inputs
    from socialcredit.store import open_store

    shutil.copy(world / "registry.duckdb", tmp_path / "store.duckdb")
    candidate = parse_policy(CANDIDATE, "candidate.yaml")
    with open_store(tmp_path / "store.duckdb", key="") as store:
        wm = int(store.one("SELECT value FROM counters WHERE name = 'seq'"))
        typed: dict[str, list[tuple[str, str]]] = {}
        beijing = builtin_policy("beijing")
        for name, loaded in (("current", beijing), ("candidate", candidate)):
            plan = ScorePlan(loaded, as_of=AS_OF)
            assert any(c.record is not None for lst in loaded.policy.lists for c in lst.criteria) == (name == "current")
            with prepare_inputs(store, loaded, wm) as inputs:
                sql = inputs.bind(plan.list_records()).sql(dialect="duckdb")
                typed[name] = [(r[0], r[1]) for r in store.execute(f"DESCRIBE {sql}").fetchall()]
        assert (
            typed["candidate"]
            == typed["current"]
            == [
                ("subject_id", "BIGINT"),
                ("list_id", "VARCHAR"),
                ("criterion_id", "VARCHAR"),
                ("record_key", "BIGINT"),
            ]
        )
        found = impact(store, beijing, candidate, AS_OF)
    assert sum(m["n"] for m in found["tiers"]["matrix"]) == len(P)  # every subject scored on both sides
