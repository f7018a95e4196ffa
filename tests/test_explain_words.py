"""Explained in the resident's language, and on the record (issue 19).

``policy explain`` says every rule, list and service of both shipped policies in words, in Chinese and English, with
no id or raw expression (the words are the policy layer's own, policy/words.py, the same as the public pages'); a
lint finding its authors override needs a written justification in the policy file, which lint, explain and the
public policy page show. The command line is the installed console script, run in a subprocess.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api_helpers import serving
from page_text import raw_identifiers, visible_text
from socialcredit.api.app import create_app
from socialcredit.catalog import catalog_from_text
from socialcredit.catalog.labels import labels_for
from socialcredit.errors import PolicyError
from socialcredit.policy import builtin_policy, parse_policy
from socialcredit.policy.explain import explain_words
from socialcredit.policy.lint import lint_counts, lint_policy
from socialcredit.policy.model import JUSTIFICATION_MAX
from socialcredit.policy.words import a_or_an, condition_words
from socialcredit.registry.reporting.policy_text import policy_plain_text
from socialcredit.registry.scoring.policies import publish_policy
from socialcredit.store import open_store

CLI = Path(sys.executable).parent / "socialcredit"  # the installed console script beside this interpreter
WHY = "Late taxes stay on file as the tax law keeps them; the weight still halves every year."
# Beijing's late-tax rule without its expiry: lint's SC104 (an error under every profile)
NO_EXPIRY = "    decay: {half_life_days: 365}\n    expires_after_days: 1825\n    cap: 60\n    severity: minor\n"
ADVICE_EN = 'lapses after five years."}\n'


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "250"}
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, env=env, timeout=120)


def _beijing(overrides: str | None, *, version: str = "2026.2") -> str:
    """Beijing with tax.late never expiring, and ``overrides`` (YAML lines under the rule) if given."""
    text = builtin_policy("beijing").text
    assert text.count(NO_EXPIRY) == 1
    text = text.replace(NO_EXPIRY, NO_EXPIRY.replace("    expires_after_days: 1825\n", ""))
    start = text.index("  - id: tax.late")
    end = text.index(ADVICE_EN, start) + len(ADVICE_EN)
    if overrides is not None:
        text = text[:end] + overrides + text[end:]
    return text.replace('version: "2026.2"', f'version: "{version}"', 1)


OVERRIDE = f'    lint_overrides:\n      - check: SC104\n        justification: "{WHY}"\n'


def _write(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


# -- explained in words -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["beijing", "sesame"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_explain_says_every_condition_in_words_without_identifiers(policy: str, lang: str) -> None:
    done = _cli("policy", "explain", policy, "--lang", lang)
    assert done.returncode == 0, done.stderr
    assert raw_identifiers(done.stdout, lang=lang) == []
    # the policy layer's words are the public pages' words
    assert done.stdout.rstrip("\n") == policy_plain_text(builtin_policy(policy), lang)
    for raw in ("==", "!=", ">=", "grant_if", "score_floor", "record_type", "expires_after_days", "sha256"):
        assert raw not in done.stdout
    assert re.findall(r"'[a-z_]+'", done.stdout) == []  # no quoted code from a condition as written


def test_three_rules_read_as_checked_by_hand() -> None:
    beijing_zh = _cli("policy", "explain", "beijing", "--lang", "zh").stdout
    assert (
        "  • 失信被执行人\n"
        "      列入条件：有法院判决记录（被认定为失信被执行人且状态为未履行）\n"
        "      失信程度：严重失信：名单认定满3年自动结束；满1年后可申请信用修复\n"
        "      如何改善：履行判决后即移出名单。\n"
    ) in beijing_zh
    beijing_en = _cli("policy", "explain", "beijing").stdout
    assert (
        "  • criminal conviction\n"
        "      What it reads: a court judgment record where the kind of case is criminal\n"
        "      Points: −150 points for each court judgment record, counted in legal\n"
        "      For how long: its weight halves every 5 years; a record stops counting 10 years after its date\n"
    ) in beijing_en
    sesame_zh = _cli("policy", "explain", "sesame", "--lang", "zh").stdout
    assert (
        "  • 平台信贷逾期\n"
        "      依据的记录：平台信贷还款记录（状态为逾期）\n"
        "      分值：每条平台信贷还款记录减15分，计入信用历史\n"
        "      计入期限：分值每180天减半；记录满5年后不再计入\n"
        "      上限：本条最多计150分\n"
        "      失信程度：轻微失信：名单认定满90天自动结束；可随时申请信用修复\n"
    ) in sesame_zh


def test_a_grade_named_in_words_is_named_once() -> None:
    sesame_en = _cli("policy", "explain", "sesame").stdout
    assert "  • excellent: 700 points or more\n" in sesame_en
    assert "excellent · excellent" not in sesame_en
    assert "  • AAA · exemplary: 1,050 points or more\n" in _cli("policy", "explain", "beijing").stdout


# -- on the record ------------------------------------------------------------------------------------------------


def test_lint_fails_a_rule_without_expiry_and_passes_it_overridden_with_a_justification(tmp_path: Path) -> None:
    bare = _cli("policy", "lint", str(_write(tmp_path, _beijing(None), "bare.yaml")))
    assert bare.returncode == 1
    [finding] = [line for line in bare.stdout.splitlines() if "SC104" in line]
    assert finding.endswith(
        ": rule tax.late: error SC104 (negative rule without expiry): a negative record counts for ever; give it "
        "expires_after_days (or window_days) (decay lowers its weight but never ends it)"
    )
    assert "beijing 2026.2 under profile cn: 1 error, 0 warnings, 13 notes." in bare.stdout
    assert "beijing 2026.2: 1 error under profile cn" in bare.stderr

    kept = _cli("policy", "lint", str(_write(tmp_path, _beijing(OVERRIDE), "kept.yaml")))
    assert kept.returncode == 0, kept.stdout + kept.stderr
    [finding] = [line for line in kept.stdout.splitlines() if "SC104" in line]
    assert finding.endswith(
        ": rule tax.late: error SC104 (negative rule without expiry): a negative record counts for ever; give it "
        f"expires_after_days (or window_days) (decay lowers its weight but never ends it) — overridden: {WHY}"
    )
    assert "beijing 2026.2 under profile cn: 0 errors, 0 warnings, 13 notes, 1 overridden." in kept.stdout

    as_json = _cli("policy", "lint", str(tmp_path / "kept.yaml"), "--json")
    assert as_json.returncode == 0
    data = json.loads(as_json.stdout)
    assert data["counts"] == {"error": 0, "warning": 0, "note": 13, "overridden": 1}
    [overridden] = [f for f in data["findings"] if f["rule"] == "SC104"]
    assert overridden["overridden"] == WHY and overridden["level"] == "error"


def test_an_override_of_a_check_that_does_not_fire_changes_nothing() -> None:
    text = builtin_policy("beijing").text
    start = text.index("  - id: tax.late")
    end = text.index(ADVICE_EN, start) + len(ADVICE_EN)
    loaded = parse_policy(text[:end] + OVERRIDE + text[end:], "beijing.yaml")
    assert lint_counts(lint_policy(loaded)) == lint_counts(lint_policy(builtin_policy("beijing")))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            "    lint_overrides:\n      - check: SC104\n",
            "rule tax.late: lint_overrides.0.justification: is required",
        ),
        (
            '    lint_overrides:\n      - check: SC104\n        justification: "   "\n',
            "rule tax.late: lint_overrides.0.justification: an override needs a written justification",
        ),
        (
            f'    lint_overrides:\n      - check: SC104\n        justification: "{"x" * 501}"\n',
            "rule tax.late: lint_overrides.0.justification: a justification is at most 500 characters, not 501",
        ),
        (
            f'    lint_overrides:\n      - check: SC101\n        justification: "{WHY}"\n',
            "rule tax.late: lint_overrides.0.check: 'SC101' is not a lint check a rule may override "
            "(SC103, SC104, SC107, SC301, SC302)",
        ),
        (
            f'    lint_overrides:\n      - check: no_expiry\n        justification: "{WHY}"\n',
            "rule tax.late: lint_overrides.0.check: 'no_expiry' is not a lint check a rule may override "
            "(SC103, SC104, SC107, SC301, SC302)",
        ),
        (
            f'    lint_overrides:\n      - {{check: SC104, justification: "{WHY}"}}\n'
            f'      - {{check: SC104, justification: "{WHY}"}}\n',
            "rule tax.late: lint_overrides: SC104 is overridden more than once",
        ),
    ],
)
def test_an_override_without_justification_or_of_an_unknown_check_is_refused(
    tmp_path: Path, overrides: str, message: str
) -> None:
    path = _write(tmp_path, _beijing(overrides))
    for command in ("check", "lint"):
        done = _cli("policy", command, str(path))
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        assert message in done.stderr, (command, done.stderr)
        assert "Traceback" not in done.stderr


@settings(max_examples=60, deadline=None)
@given(
    st.text(
        # what a YAML file may hold as text (no surrogates, control characters or line separators)
        alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\ufeff\ufffe\uffff")
        | st.sampled_from(" \t"),
        max_size=JUSTIFICATION_MAX + 40,
    )
)
def test_a_justification_is_kept_when_it_has_1_to_500_characters(why: str) -> None:
    quoted = json.dumps(why, ensure_ascii=False)  # a YAML double-quoted scalar reads JSON's escapes
    overrides = f"    lint_overrides:\n      - check: SC104\n        justification: {quoted}\n"
    text = _beijing(overrides)
    kept = why.strip()
    if 1 <= len(kept) <= JUSTIFICATION_MAX:
        loaded = parse_policy(text, "p.yaml")
        assert loaded.policy.rule("tax.late").overridden("SC104") == kept
    else:
        with pytest.raises(PolicyError):
            parse_policy(text, "p.yaml")


def test_explain_shows_the_justification_in_words_and_in_the_codes_table(tmp_path: Path) -> None:
    path = _write(tmp_path, _beijing(OVERRIDE))
    en = _cli("policy", "explain", str(path))
    assert en.returncode == 0
    assert ("      For how long: its weight halves every year\n      At most: 60 points from this rule\n") in en.stdout
    assert (
        "      On the record: the policy's authors set aside the check that a record that lowers the score stops "
        f"counting some day, and wrote why: {WHY}\n"
    ) in en.stdout
    zh = _cli("policy", "explain", str(path), "--lang", "zh")
    assert f"      备案说明：制定者未采纳“减分记录须有失效期限”这一检查，书面说明如下：{WHY}\n" in zh.stdout
    codes = _cli("policy", "explain", str(path), "--codes")
    assert f'Reason given: "taxes paid late" (TAX_LATE). On the record: SC104 overridden — {WHY}' in codes.stdout
    assert explain_words(parse_policy(_beijing(OVERRIDE), "p.yaml"), "zh") in zh.stdout


def test_the_public_policy_page_shows_the_justification(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store.duckdb", create=True, key="")
    assert publish_policy(store, parse_policy(_beijing(OVERRIDE, version="2026.3"), "beijing.yaml"), actor="cli")
    app = create_app(tmp_path / "store.duckdb", store=store)
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        en = client.get("/policies/beijing/2026.3?lang=en")
        zh = client.get("/policies/beijing/2026.3?lang=zh")
    store.close()
    assert en.status_code == 200 and zh.status_code == 200
    assert (
        "On the record the policy's authors set aside the check that a record that lowers the score stops counting "
        f"some day, and wrote why: {WHY}"
    ) in visible_text(en.text)
    assert f"备案说明 制定者未采纳“减分记录须有失效期限”这一检查，书面说明如下：{WHY}" in visible_text(zh.text)


def test_a_criterion_met_through_an_organisation_is_said_in_words() -> None:
    """The restriction on high spending's criterion (a role in an organisation on the blacklist) is said in words:
    the roles, the list and the cause that put the organisation there, and for how long the role counts."""
    beijing = builtin_policy("beijing")
    en = explain_words(beijing, "en").splitlines()
    zh = explain_words(beijing, "zh").splitlines()
    assert (
        "      Put on the list when: holding the role of legal representative, director or senior manager in an "
        "organisation on the blacklist as judgment defaulter, while the person holds the role"
    ) in en
    assert "      列入条件：在被列入失信名单（因失信被执行人）的单位担任法定代表人、董事或高级管理人员，任职期间" in zh
    held = builtin_policy("beijing").text.replace("when: current}", "when: held_at_cause}", 1)
    assert held != builtin_policy("beijing").text
    text = explain_words(parse_policy(held, "held.yaml"), "en")
    assert (
        "senior manager in an organisation on the blacklist as judgment defaulter, if the person held the role "
        "when the cause arose, even after leaving it" in text
    )


@pytest.mark.parametrize(
    ("words", "said"),
    [
        ("illegal private lending", "an illegal private lending"),
        ("overdue loan", "an overdue loan"),
        ("utility equipment damaged", "a utility equipment damaged"),
        ("unpaid tax", "an unpaid tax"),
        ("one-off fine", "a one-off fine"),
        ("hour of service", "an hour of service"),
        ("court judgment", "a court judgment"),
        ("European fine", "a European fine"),
    ],
)
def test_the_english_article_goes_by_the_sound_of_the_word(words: str, said: str) -> None:
    assert a_or_an(words) == said


def test_a_record_type_beginning_with_a_vowel_reads_with_an() -> None:
    """Rongcheng's private lending rule read "a illegal private lending record"."""
    example = Path(__file__).resolve().parent.parent / "docs" / "examples" / "rongcheng"
    catalog = catalog_from_text((example / "catalog.yaml").read_text("utf-8"))
    loaded = parse_policy((example / "policy.yaml").read_text("utf-8"), "policy.yaml", catalog)
    text = policy_plain_text(loaded, "en")
    assert "an illegal private lending record" in text
    assert "a illegal" not in text
    assert "a counterfeit or substandard goods record" in text


def test_a_catalog_words_the_field_of_one_record_type_and_another_keeps_its_own() -> None:
    """Rongcheng's utility offences give `utility` and its values words of their own (公用事业, 电); a utility
    payment's `utility` keeps the shipped words (缴费项目, 电费). A label for private lending's `amount` leaves a loan
    repayment's amount as it was. A condition on the subject, with no record type, reads as before."""
    example = Path(__file__).resolve().parent.parent / "docs" / "examples" / "rongcheng"
    catalog_text = (example / "catalog.yaml").read_text("utf-8")
    lent = "      amount: {type: number, required: true, min: 0}\n      annual_rate:"
    assert catalog_text.count(lent) == 1
    catalog = catalog_from_text(
        catalog_text.replace(
            lent,
            lent.replace("min: 0}", "min: 0, label: {zh: 借贷金额, en: sum lent}}"),
        )
    )
    policy = (example / "policy.yaml").read_text("utf-8")
    edits = {
        "\"status in ['late', 'default']\"": '"amount > 1000"',  # loan_repayment
        '"annual_rate > 36"': '"amount > 1000 and annual_rate > 36"',  # private_lending
        "\"status in ['late', 'unpaid']\"": "\"utility == 'electricity'\"",  # utility_payment
        "\"offence == 'theft'\"": "\"offence == 'theft' and utility in ['electricity', 'water']\"",  # utility_offence
    }
    for old, new in edits.items():
        assert policy.count(old) == 1, old
        policy = policy.replace(old, new)
    loaded = parse_policy(policy, "policy.yaml", catalog)
    rule = {r.record_type: r.id for r in reversed(loaded.policy.rules)}  # the first rule of each type

    def said(record_type: str, lang: str) -> str | None:
        return condition_words(loaded, f"rule:{rule[record_type]}", lang)

    assert said("loan_repayment", "en") == "the amount (yuan) is more than 1,000"
    assert said("loan_repayment", "zh") == "金额（元）高于1000"
    assert said("private_lending", "en") == "the sum lent is more than 1,000 and the annual rate (%) is more than 36"
    assert said("private_lending", "zh") == "借贷金额高于1000且年利率（%）高于36"
    assert said("utility_payment", "en") == "the utility is electricity"
    assert said("utility_payment", "zh") == "缴费项目为电费"
    assert said("utility_offence", "en") == "the offence is theft and the utility is electricity or water"
    assert said("utility_offence", "zh") == "违法行为为窃取且公用事业为电或水"
    # without a record type (a word looked up by name alone), a catalog's words still win, as before
    labels = labels_for(catalog)
    assert (labels.field("amount", "en"), labels.field("utility", "zh")) == ("sum lent", "公用事业")
    assert labels.value("electricity", "zh") == "电"
    assert labels.field("amount", "zh", "tax_payment") == "金额（元）"
    assert labels.value("electricity", "zh", "utility_payment", "utility") == "电费"
    assert labels.value("electricity", "zh", "utility_offence", "utility") == "电"
