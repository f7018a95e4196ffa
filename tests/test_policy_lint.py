"""The policy linter: each rule on a policy written to break it, the shipped policies under every profile."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from socialcredit.cli import app
from socialcredit.policy import builtin_policy, parse_policy
from socialcredit.policy.lint import Finding, lint_policy

SMALL = (Path(__file__).parent / "fixtures" / "small_policy.yaml").read_text("utf-8")

# A policy that passes every check under cn: each test below breaks one thing in it.
CLEAN = """\
id: clean
version: "1"
name: {zh: 示例, en: example}
scale: {base: 100, min: 0, max: 200}
tiers:
  - {id: A, min: 120}
  - {id: B, min: 0}
dimensions:
  - {id: money, name: {zh: 经济, en: money}}
  - {id: road, name: {zh: 交通, en: road}}
  - {id: shop, name: {zh: 消费, en: shopping}}
consent: {categories: [commercial], mandatory_from: 2030-01-01, notice_days: 60}
severities:
  minor: {min_publication_days: 0, max_publication_days: 90}
  general: {min_publication_days: 90, max_publication_days: 365}
  serious: {min_publication_days: 365, max_publication_days: 1095}
rules:
  - id: loan.default
    record_type: loan_repayment
    when: "status == 'default'"
    dimension: money
    points: -40
    expires_after_days: 1825
    severity: general
    reason: {code: LOAN_DEFAULT, zh: 贷款违约, en: loan default}
    advice: {zh: 结清贷款。, en: "Settle the loan."}
  - id: road.speeding
    record_type: traffic_ticket
    when: "offence == 'speeding'"
    dimension: road
    points: -5
    expires_after_days: 365
    severity: minor
    reason: {code: SPEEDING, zh: 超速, en: speeding}
    advice: {zh: 一年后不再计入。, en: "It counts for one year."}
  - id: shop.spending
    record_type: purchase
    dimension: shop
    points: 1
    window_days: 365
    reason: {code: SPENDING, zh: 消费, en: regular spending}
lists:
  - id: blacklist
    kind: black
    name: {zh: 失信名单, en: blacklist}
    grace_days: 60
    criteria:
      - id: drunk
        record: {record_type: traffic_ticket, when: "offence == 'drunk_driving'", within_days: 1095}
        severity: serious
        reason: {code: LIST_DRUNK, zh: 醉驾, en: drunk driving}
services:
  - id: rail
    context: transport
    name: {zh: 高铁, en: rail}
    grant_if: "not blacklist"
    refusal: {zh: 醉驾列入失信名单者不得购票。, en: "People listed for drunk driving may not buy tickets."}
  - id: loan
    context: credit
    name: {zh: 贷款, en: loan}
    grant_if: "money > -50"
    refusal: {zh: 贷款需无严重违约。, en: "A loan needs no serious default."}
"""


def _lint(text: str, profile: str = "cn") -> list[Finding]:
    return lint_policy(parse_policy(text, "p.yaml"), profile)


def _short(findings: list[Finding]) -> list[tuple[str, str, str]]:
    return [(f.where, f.level, f.rule) for f in findings]


def test_the_clean_policy_is_clean_under_every_profile() -> None:
    for profile in ("cn", "eu", "us"):
        assert _lint(CLEAN, profile) == []


def test_a_transport_ban_driven_by_purchase_data_is_an_error_under_eu() -> None:
    text = CLEAN.replace('grant_if: "not blacklist"', "grant_if: \"not blacklist and tier == 'A'\"")
    (finding,) = _lint(text, "eu")
    assert finding.where == "p.yaml:56: service rail"
    assert (finding.level, finding.rule) == ("error", "SC101")
    assert finding.message == (
        "a transport service is refused on data from unrelated contexts: consumption (purchase); "
        "credit (loan_repayment); base it on conduct in the transport context, or drop the sanction"
    )
    assert _short(_lint(text, "cn")) == [("p.yaml:56: service rail", "note", "SC101")]
    assert _short(_lint(text, "us")) == [("p.yaml:56: service rail", "warning", "SC101")]


def test_a_dimension_draws_only_on_its_own_rules() -> None:
    text = CLEAN.replace('grant_if: "money > -50"', 'grant_if: "money > -50 and shop > 0"')
    (finding,) = _lint(text, "eu")
    assert finding.message.startswith("a credit service is refused on data from unrelated contexts: consumption")


def test_a_minor_breach_that_bans_travel_is_out_of_proportion() -> None:
    text = CLEAN.replace(
        "        severity: serious\n        reason: {code: LIST_DRUNK",
        "        severity: minor\n        reason: {code: LIST_DRUNK",
    )
    findings = _lint(text, "eu")
    assert _short(findings) == [("p.yaml:50: list blacklist criterion drunk", "error", "SC102")]
    assert findings[0].message == (
        "a minor breach puts a subject on the blacklist, which refuses rail; list only general or serious "
        "breaches, or grant the service"
    )
    assert _short(_lint(text, "cn")) == [("p.yaml:50: list blacklist criterion drunk", "warning", "SC102")]


def test_negative_rules_need_a_severity_and_an_expiry() -> None:
    text = CLEAN.replace("    expires_after_days: 1825\n    severity: general\n", "")
    findings = _lint(text, "cn")
    assert _short(findings) == [
        ("p.yaml:18: rule loan.default", "error", "SC103"),
        ("p.yaml:18: rule loan.default", "error", "SC104"),
    ]
    assert findings[0].message == "a negative rule needs a severity class (minor, general or serious)"
    assert findings[1].message == "a negative record counts for ever; give it expires_after_days (or window_days)"
    assert _short(_lint(text, "eu")) == [
        ("p.yaml:18: rule loan.default", "error", "SC104"),
        ("p.yaml:18: rule loan.default", "warning", "SC103"),
    ]


def test_the_seven_and_ten_year_limits() -> None:
    eight_years = CLEAN.replace("expires_after_days: 1825", "expires_after_days: 2920")
    (finding,) = _lint(eight_years, "us")
    assert (finding.where, finding.level, finding.rule) == ("p.yaml:23: rule loan.default", "error", "SC301")
    assert finding.message == (
        "counted for 2920 days, more than 7 years (only the gravest, severity serious, may count 10)"
    )
    serious = eight_years.replace("severity: general", "severity: serious")
    assert _lint(serious, "us") == []
    assert _short(_lint(eight_years, "cn")) == [("p.yaml:23: rule loan.default", "note", "SC301")]


def test_a_refusal_must_say_why() -> None:
    text = CLEAN.replace('en: "A loan needs no serious default."', 'en: "Refused."')
    findings = _lint(text, "cn")
    assert _short(findings) == [("p.yaml:62: service loan", "error", "SC105")]


def test_mandatory_enrollment_needs_notice() -> None:
    text = CLEAN.replace("notice_days: 60", "notice_days: 7")
    (finding,) = _lint(text, "cn")
    assert (finding.where, finding.rule, finding.level) == ("p.yaml:12: consent", "SC106", "error")
    assert finding.message == (
        "commercial data counts for everyone from 2030-01-01 with only 7 days' notice; give residents at least 30 days"
    )


def test_generic_reasons_and_missing_advice() -> None:
    text = CLEAN.replace("en: speeding}", "en: other}")
    findings = _lint(text, "us")
    assert _short(findings) == [("p.yaml:34: rule road.speeding", "error", "SC107")]
    assert findings[0].message == "the reason text 'other' says nothing specific"
    assert _short(_lint(text, "cn")) == [("p.yaml:34: rule road.speeding", "warning", "SC107")]
    no_advice = CLEAN.replace('    advice: {zh: 结清贷款。, en: "Settle the loan."}\n', "")
    (finding,) = _lint(no_advice, "us")
    assert (finding.where, finding.rule, finding.level) == ("p.yaml:18: rule loan.default", "SC302", "error")
    assert finding.message == "a rule that lowers the score gives no advice on what to do"


def test_the_chinese_notice_grace_and_publication_periods() -> None:
    text = CLEAN.replace("grace_days: 60", "grace_days: 10").replace(
        "minor: {min_publication_days: 0, max_publication_days: 90}",
        "minor: {min_publication_days: 0, max_publication_days: 200}",
    )
    findings = _lint(text, "cn")
    assert _short(findings) == [
        ("p.yaml:14: severity minor", "error", "SC202"),
        ("p.yaml:46: list blacklist", "error", "SC201"),
    ]
    assert findings[0].message == "published 0-200 days; the rules allow 0-92 days for a minor breach"
    assert findings[1].message == (
        "grace_days is 10: a subject must be notified and given 1-3 months (28-92 days) before a blacklisting takes "
        "effect"
    )


def test_the_small_fixture_policy() -> None:
    assert _short(lint_policy(parse_policy(SMALL, "small.yaml"), "cn")) == [
        ("small.yaml:14: rule tax.late", "error", "SC103"),
        ("small.yaml:14: rule tax.late", "note", "SC302"),
        ("small.yaml:30: rule sector.drunk", "error", "SC103"),
        ("small.yaml:30: rule sector.drunk", "error", "SC104"),
        ("small.yaml:30: rule sector.drunk", "note", "SC302"),
        ("small.yaml:44: list blacklist", "error", "SC201"),
        ("small.yaml:48: list blacklist criterion defaulter", "error", "SC103"),
        ("small.yaml:51: list blacklist criterion floor", "error", "SC103"),
        ("small.yaml:57: service rail", "note", "SC101"),
        ("small.yaml:61: service loan", "note", "SC101"),
    ]


@pytest.mark.parametrize("policy_id", ["beijing", "sesame"])
def test_the_shipped_policies_lint_clean_under_cn(policy_id: str) -> None:
    findings = lint_policy(builtin_policy(policy_id), "cn")
    assert [f for f in findings if f.level != "note"] == []
    assert {f.rule for f in findings} == {"SC101"}  # cross-context refusals: lawful in China, noted


def test_under_eu_the_shipped_policies_fail_on_cross_context_sanctions_only() -> None:
    beijing = lint_policy(builtin_policy("beijing"), "eu")
    assert {(f.rule, f.level) for f in beijing} == {("SC101", "error")}
    assert [f.where.split(": ")[1] for f in beijing] == [
        "service high_speed_rail",
        "service flight",
        "service bank_loan",
        "service home_lease",
        "service deposit_free_rental",
        "service rail_priority",
        "service matchmaking_badge",
        "service rail_first_class",
        "service air_travel",
        "service star_hotel",
        "service property_purchase",
        "service private_school_fees",
        "service legal_representative_registration",
    ]
    sesame = lint_policy(builtin_policy("sesame"), "eu")
    assert [f.where.split(": ")[1] for f in sesame] == [
        "service deposit_free_rental",
        "service visa_support",
        "service consumer_credit",
        "service matchmaking_badge",
    ]
    assert "consumption (purchase)" in sesame[0].message


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=400))
def test_grace_is_checked_exactly_at_its_bounds(days: int) -> None:
    findings = _lint(CLEAN.replace("grace_days: 60", f"grace_days: {days}"), "cn")
    assert any(f.rule == "SC201" for f in findings) == (not 28 <= days <= 92)


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=5000), st.sampled_from(["minor", "general", "serious"]))
def test_the_us_limit_depends_on_severity_only(days: int, severity: str) -> None:
    text = CLEAN.replace(
        "expires_after_days: 1825\n    severity: general", f"expires_after_days: {days}\n    severity: {severity}"
    )
    limit = 3653 if severity == "serious" else 2557
    assert any(f.rule == "SC301" for f in _lint(text, "us")) == (days > limit)


def test_the_cli_exits_1_on_errors_and_prints_json() -> None:
    runner = CliRunner()
    clean = runner.invoke(app, ["policy", "lint", "beijing", "--profile", "cn"])
    assert clean.exit_code == 0, clean.output
    assert clean.output.strip().endswith("beijing 2026.2 under profile cn: 0 errors, 0 warnings, 13 notes.")
    eu = runner.invoke(app, ["policy", "lint", "sesame", "--profile", "eu", "--json"])
    assert eu.exit_code == 1
    data = json.loads(eu.stdout)  # the report; the failure is told on stderr
    assert eu.stderr == f"error: sesame {builtin_policy('sesame').policy.version}: 4 errors under profile eu\n"
    assert data["counts"] == {"error": 4, "warning": 0, "note": 0}
    assert data["findings"][0]["rule"] == "SC101"
    bad = runner.invoke(app, ["policy", "lint", "beijing", "--profile", "fr"])
    assert bad.exit_code == 2
    assert "'fr' is not a profile; profiles: cn, eu, us" in bad.output


def test_the_documented_findings_of_the_shipped_policies_are_the_commands_output() -> None:
    """docs/policy-lint.md's transcript under eu is what the console script prints, line for line: its numbers had
    drifted from sesame.yaml, and a finding read "a education service"."""
    doc = (Path(__file__).resolve().parent.parent / "docs" / "policy-lint.md").read_text("utf-8")
    block = re.search(r"```\n(\$ socialcredit policy lint beijing --profile eu\n.*?)```", doc, re.S)
    assert block is not None
    commands = re.split(r"^\$ ", block.group(1), flags=re.M)[1:]
    assert len(commands) == 2
    cli = shutil.which("socialcredit", path=str(Path(sys.executable).parent)) or "socialcredit"
    for shown in commands:
        command, *lines = shown.rstrip("\n").split("\n")
        proc = subprocess.run(
            [cli, *command.split()[1:]],
            capture_output=True,
            text=True,
            env=os.environ | {"COLUMNS": "200"},
            check=False,
        )
        assert proc.returncode == 1, proc.stderr
        assert proc.stdout.splitlines() == lines, command
    assert "an education service is refused on data from unrelated contexts" in doc


def test_a_malformed_policy_file_is_refused_in_the_language_of_lang(tmp_path: Path) -> None:
    """``policy lint --lang zh`` of a file that is not a policy said its problems in English (it took no ``--lang``):
    what pydantic refuses is said in Chinese, the place and the quoted value as written; English stays the default."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: demo\nversion: 1\nscale: [0, 1000]\nbogus_key: 1\n", "utf-8")
    cli = shutil.which("socialcredit", path=str(Path(sys.executable).parent)) or "socialcredit"
    said = {}
    for lang in ("zh", "en"):
        proc = subprocess.run(
            [cli, "policy", "lint", str(bad), "--lang", lang],
            capture_output=True,
            text=True,
            env=os.environ | {"COLUMNS": "400"},
            cwd=tmp_path,
            check=False,
        )
        said[lang] = (proc.returncode, proc.stderr.splitlines())
    assert said == {
        "zh": (
            2,
            [
                f"错误：{bad}:1:1: name: 缺少此项",
                f"{bad}:3:1: scale: 须为键值映射，而不是 [0, 1000]",
                f"{bad}:1:1: tiers: 缺少此项",
                f"{bad}:1:1: dimensions: 缺少此项",
                f"{bad}:1:1: rules: 缺少此项",
                f"{bad}:4:1: bogus_key: 不是政策语言的键（见 docs/policy-language.md）",
            ],
        ),
        "en": (
            2,
            [
                f"error: {bad}:1:1: name: is required",
                f"{bad}:3:1: scale: must be a mapping of keys to values, not [0, 1000]",
                f"{bad}:1:1: tiers: is required",
                f"{bad}:1:1: dimensions: is required",
                f"{bad}:1:1: rules: is required",
                f"{bad}:4:1: bogus_key: is not a key of the policy language (see docs/policy-language.md)",
            ],
        ),
    }
