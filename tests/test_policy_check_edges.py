"""`socialcredit policy check FILE` on policies written at the edges of the language: the installed console script
in a subprocess, its exit code and the exact problem it prints (file, line, item, key, what to write instead)."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scoring_helpers import policy_text

CLI = shutil.which("socialcredit", path=str(Path(sys.executable).parent)) or "socialcredit"


def policy_command(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """`socialcredit policy ARGS` with no store (the shipped catalog); PYTHONPATH is inherited: the code under test."""
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}
    return subprocess.run(
        [CLI, "policy", *map(str, args), *(("--db", "absent.duckdb") if args[0] == "explain" else ())],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def check(path: Path) -> subprocess.CompletedProcess[str]:
    return policy_command("check", path)


def a_rule(*, rule_id: str = "tax.late", code: str = "TAX_LATE", when: str = "status == 'late'") -> str:
    """One rule as YAML; its id and code are written double-quoted, so that YAML escapes (\\n) reach the policy."""
    return f"""\
- id: "{rule_id}"
  record_type: tax_payment
  when: "{when}"
  dimension: civic
  points: -5
  reason: {{code: "{code}", zh: 逾期纳税, en: taxes paid late}}
"""


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def at(text: str, needle: str) -> str:
    """``LINE:COLUMN`` of ``needle``, as a policy's problem names it (of the key after a ``- `` or a ``- {``)."""
    i = text.index(needle) + (3 if needle.startswith("- {") else 2 if needle.startswith("- ") else 0)
    return f"{text[:i].count(chr(10)) + 1}:{i - text.rfind(chr(10), 0, i)}"


def test_an_id_or_a_reason_code_ending_in_a_newline_is_refused(tmp_path: Path) -> None:
    """`$` of the id's pattern also matched before a final newline: "tax.late\\n" was a valid rule id and
    "TAX_LATE\\n" a valid reason code (ids are parts of web addresses and SQL texts, and codes are told to relying
    parties). The problem names the bad id escaped, on one line."""
    text = policy_text(a_rule(rule_id="tax.late\\n", code="TAX_LATE\\n"))
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    proc = check(path)
    assert "Traceback" not in proc.stderr
    assert (proc.returncode, proc.stderr) == (
        2,
        f"error: {path}:{at(text, '- id:')}: rule 'tax.late\\n': id: 'tax.late\\n' is not a valid id: use "
        "lower-case letters, digits, '_' and '.', starting with a letter\n"
        f"{path}:{at(text, 'code:')}: rule 'tax.late\\n': reason.code: 'TAX_LATE\\n' is not a valid "
        "reason code: use upper-case letters, digits and '_'\n",
    )


@pytest.mark.parametrize(
    ("when", "message"),
    [
        pytest.param(
            "days_late > ３０",
            "'３' is not a digit of the condition language: write numbers with 0-9 (at character 13 of "
            "'days_late > ３０')",
            id="full-width-digits",
        ),
        pytest.param(
            "days_late > ٣٠",
            "'٣' is not a digit of the condition language: write numbers with 0-9 (at character 13 of "
            "'days_late > ٣٠')",
            id="arabic-indic-digits",
        ),
        pytest.param(
            "event_date >= date('2026-W01-1')",
            "date('2026-W01-1') is not a date of the form 'YYYY-MM-DD' (at character 20 of "
            "\"event_date >= date('2026-W01-1')\")",
            id="iso-week-date",
        ),
        pytest.param(
            "event_date >= date('20260101')",
            "date('20260101') is not a date of the form 'YYYY-MM-DD' (at character 20 of "
            "\"event_date >= date('20260101')\")",
            id="basic-iso-date",
        ),
    ],
)
def test_a_number_or_a_date_not_written_as_the_language_says_is_refused(
    tmp_path: Path, when: str, message: str
) -> None:
    """Digits of other scripts were read as numbers (`days_late > ３０` meant 30), and a date literal took any form
    Python reads (`date('2026-W01-1')` was 2025-12-29, the Monday of that week)."""
    text = policy_text(a_rule(when=when))
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    proc = check(path)
    assert "Traceback" not in proc.stderr
    assert (proc.returncode, proc.stderr) == (
        2,
        f"error: {path}:{at(text, 'when:')}: rule tax.late: when: {message}\n",
    )


DECIMALS = """\
- id: one
  record_type: blood_donation
  dimension: civic
  points: 1
  cap: 1
  reason: {code: ONE, zh: 测试, en: test}
- id: tiny
  record_type: volunteering
  dimension: civic
  points: 0.000001
  reason: {code: TINY, zh: 测试, en: test}
- id: big
  record_type: tax_payment
  dimension: civic
  points: -1234.567
  cap: 23456.75
  reason: {code: BIG, zh: 测试, en: test}
"""
CIVIC = "- {id: civic, name: {zh: 公益, en: civic}, min: -12345.675, max: 30.25}\n"


@pytest.mark.parametrize(
    ("args", "lines"),
    [
        pytest.param(
            ("--lang", "en"),
            [
                "The points of these rules are added up; together they count no less than −12,345.675 and no more "
                "than +30.25.",
                "Points: +0.000001 points for each volunteering record, counted in civic",
                "Points: −1,234.567 points for each tax payment record, counted in civic",
                "At most: 23,456.75 points from this rule",
            ],
            id="words-en",
        ),
        pytest.param(
            ("--lang", "zh"),
            [
                "以下各条规则的分数相加，合计最低−12345.675分、最高+30.25分。",
                "分值：每条志愿服务记录加0.000001分，计入公益",
                "分值：每条纳税记录减1234.567分，计入公益",
                "上限：本条最多计23456.75分",
            ],
            id="words-zh",
        ),
        pytest.param(
            ("--codes",),
            [
                "civic (civic), capped at -12345.675 … 30.25",
                # one point is a point (it read "+1 points", "at most 1 points in all")
                '• one: +1 point (civic) for each blood donation record, at most 1 point in all. Reason given: "test" '
                "(ONE).",
                '• tiny: +0.000001 points (civic) for each volunteering record. Reason given: "test" (TINY).',
                "• big: -1234.567 points (civic) for each tax payment record, at most 23456.75 points in all. "
                'Reason given: "test" (BIG).',
            ],
            id="codes",
        ),
    ],
)
def test_a_policys_numbers_are_explained_with_every_digit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], lines: list[str]
) -> None:
    """%g kept six significant digits: a rule of -1234.567 points was explained as −1,234.57, one of 0.000001 as
    1e−06, a cap of 23456.75 as 23,456.8 (23456.8 with --codes) and a dimension's minimum of −12345.675 as
    −12,345.7: not what the policy says, and not what its runs count."""
    path = tmp_path / "policy.yaml"
    path.write_text(policy_text(DECIMALS, dimensions=CIVIC), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    proc = policy_command("explain", path, *args)
    assert (proc.returncode, proc.stderr) == (0, "")
    shown = [line.strip() for line in proc.stdout.splitlines()]
    for line in lines:
        assert line in shown, (line, proc.stdout)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            policy_text(a_rule()) + "services: []\nlists:\n  - &black {id: black}\n  - <<: *black\n",
            "merge keys (<<) are not part of the policy language: write each key out where it belongs",
            id="merge-key",
        ),
        pytest.param(
            policy_text(a_rule()).replace("zh: 逾期纳税", "zh: 逾期\x00纳税"),
            "the character '\\x00' is not allowed in a YAML file: remove it",
            id="nul",
        ),
    ],
)
def test_yaml_the_language_does_not_take_is_refused_at_its_line_in_one_line(
    tmp_path: Path, text: str, message: str
) -> None:
    """A merge key was refused as "could not determine a constructor for the tag 'tag:yaml.org,2002:merge'", and
    a NUL as two lines naming a position in "<unicode string>" and no line."""
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    line = line_of(text, "<<") if "<<" in text else line_of(text, "\x00")
    proc = check(path)
    assert "Traceback" not in proc.stderr
    assert (proc.returncode, proc.stderr) == (2, f"error: {path}:{line}: not valid YAML: {message}\n")


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        pytest.param(
            '- {id: "", min: 0}\n',
            "tier #1: id: a tier id may not be empty: write a short grade such as AAA",
            id="empty",
        ),
        pytest.param(
            '- {id: " ", min: 0}\n',
            "tier ' ': id: a tier id may not be empty: write a short grade such as AAA",
            id="blank",
        ),
        pytest.param(
            '- {id: "AA ", min: 0}\n', "tier 'AA ': id: a tier id has no space at either end: write 'AA'", id="space"
        ),
        pytest.param(
            '- {id: "A\\n", min: 0}\n',
            "tier 'A\\n': id: a tier id may not hold the character '\\n': write letters, digits or signs",
            id="newline",
        ),
        pytest.param(
            '- {id: "' + "A" * 65 + '", min: 0}\n',
            "tier '" + "A" * 62 + "…: id: a tier id is at most 64 characters, not 65",
            id="65-characters",
        ),
    ],
)
def test_a_tier_id_a_page_cannot_show_is_refused(tmp_path: Path, tiers: str, message: str) -> None:
    """Tier ids are free text, but shown on every page, decision and run row: an empty one, a blank one, one with a
    newline or one of any length was a grade."""
    text = policy_text(a_rule(), tiers=tiers)
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    proc = check(path)
    assert "Traceback" not in proc.stderr
    assert (proc.returncode, proc.stderr) == (2, f"error: {path}:{at(text, '- {id:')}: {message}\n")


def test_an_id_past_64_characters_is_refused_and_named_short(tmp_path: Path) -> None:
    """A rule id of 100,000 characters was valid, and repeated whole in pages, anchors and every run's rows."""
    rule_id = "tax." + "a" * 99_996
    text = policy_text(a_rule(rule_id=rule_id))
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    proc = check(path)
    assert "Traceback" not in proc.stderr
    shown = "'" + rule_id[:62] + "…"
    assert (proc.returncode, proc.stderr) == (
        2,
        f"error: {path}:{at(text, '- id:')}: rule {shown}: id: an id is at most 64 characters, not 100000\n",
    )


def test_a_policy_file_over_1_mib_is_refused_unread(tmp_path: Path) -> None:
    """A file of any size was read whole (a policy over HTTP is at most 1 MiB): 2,000,000 bytes of a valid policy
    and a comment are refused by their size, before YAML reads them."""
    text = policy_text(a_rule())
    path = tmp_path / "policy.yaml"
    path.write_text(text + "#" * (2_000_000 - len(text.encode()) - 1) + "\n", encoding="utf-8")
    assert path.stat().st_size == 2_000_000
    proc = check(path)
    assert (proc.returncode, proc.stderr) == (
        2,
        f"error: {path}: the policy file is 2,000,000 bytes; a policy is at most 1 MiB (1,048,576 bytes)\n",
    )
    path.write_text(text + "#" * (1024 * 1024 - len(text.encode()) - 1) + "\n", encoding="utf-8")
    assert path.stat().st_size == 1024 * 1024
    proc = check(path)  # at the limit: read and checked
    assert (proc.returncode, proc.stderr) == (0, "")


def test_a_policy_published_before_the_stricter_checks_still_loads_and_runs_as_it_ran(tmp_path: Path) -> None:
    """A store holds versions published before ids were bounded, tier ids checked and condition digits held to 0-9:
    read back, each keeps loading and running (a version that failed to load broke every run, decision and page of
    its policy); a policy being published meets every check."""
    from due_world import score_on_its_day
    from scoring_helpers import AS_OF, open_registry, person, tax
    from socialcredit.errors import PolicyError
    from socialcredit.policy import parse_policy
    from socialcredit.registry.decisions.decide import decide
    from socialcredit.registry.scoring.policies import get_policy

    long_id = "r" + "x" * 69
    text = policy_text(
        f"""\
- id: {long_id}
  record_type: tax_payment
  when: "status == 'paid' and amount == １０"
  dimension: civic
  points: 60
  reason: {{code: PAID, zh: 纳税, en: paid}}
""",
        tiers="- {id: 'gold ', min: 150}\n- {id: bronze, min: 0}\n",
        services="- id: perk\n  name: {zh: 优待, en: perk}\n  grant_if: \"tier >= 'gold '\"\n"
        "  refusal: {zh: 不予, en: no perk}\n",
    )
    with pytest.raises(PolicyError) as strict:
        parse_policy(text, "old.yaml")
    assert any("at most 64 characters" in p for p in strict.value.problems), strict.value.problems
    reg = open_registry(tmp_path)
    try:
        reg.register({person(1): None, person(2): None})
        reg.send("tax_bureau", [tax("T1", person(1), "2025-06-01", amount=10)])
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        reg.store.execute("INSERT INTO policies VALUES ('test', '1', ?, ?, now())", [digest, text])
        loaded = get_policy(reg.store, "test", "1")
        assert [r.id for r in loaded.policy.rules] == [long_id] and loaded.policy.tier_ids() == ["gold ", "bronze"]
        run = score_on_its_day(reg.store, loaded, AS_OF)
        rows = {r["subject_id"]: (r["score"], r["tier"]) for r in reg.results(run.run_id).values()}
        assert rows == {person(1): (160, "gold "), person(2): (100, "bronze")}
        assert decide(reg.store, person(1), "perk", "a perk", requester="tests").granted is True
        assert decide(reg.store, person(2), "perk", "a perk", requester="tests").granted is False
    finally:
        reg.store.close()


@pytest.mark.parametrize(
    "marked",
    ["2026.3\u0301", "2026.3 🎉", "2026．3", "２０２６.3", "2026.3-а"],
    ids=["mark", "symbol", "punctuation", "full-width", "cyrillic"],
)
def test_a_version_published_with_a_combining_mark_still_loads_and_serves(tmp_path: Path, marked: str) -> None:
    """A store holds a version an older release published with a combining mark on an ASCII character ('2026.3'
    + U+0301), a symbol ('2026.3 🎉') or punctuation beyond ASCII ('2026．3', a full-width stop), all refused since:
    read back, it loads, the service starts and decides under it (the check once ran on reading too, so that the
    service did not start and every decision failed)."""
    import httpx

    from api_helpers import serving
    from due_world import A, built, score_on_its_day
    from socialcredit.api.app import create_app
    from socialcredit.policies import __file__ as shipped
    from socialcredit.registry.decisions.decide import decide
    from socialcredit.registry.scoring.policies import resolve_policy

    text = (Path(shipped).parent / "beijing.yaml").read_text(encoding="utf-8")
    assert 'version: "2026.2"' in text
    text = text.replace('version: "2026.2"', f'version: "{marked}"', 1)
    store = built(tmp_path)
    try:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        store.execute("INSERT INTO policies VALUES ('beijing', ?, ?, ?, now())", [marked, digest, text])
        in_force = resolve_policy(store, "beijing")
        assert in_force.policy.version == marked
        score_on_its_day(store, in_force, dt.date(2026, 4, 2))
        assert decide(store, A, "high_speed_rail", "ticket purchase", requester="tests").policy_version == marked
        app = create_app(tmp_path / "due.duckdb", store=store)
        with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
            page = client.get("/policies/beijing", params={"lang": "en"})
            assert page.status_code == 200 and marked in page.text
    finally:
        store.close()


@pytest.mark.parametrize(
    ("when", "en", "zh"),
    [
        pytest.param(
            "status == 'late' and",
            "expected a value but found the end (at character 21 of \"status == 'late' and\")",
            "此处应为一个值，却是结尾（\"status == 'late' and\" 的第 21 个字符）",
            id="unfinished",
        ),
        pytest.param(
            "stat == 'late'",
            "unknown name 'stat'; known here: amount, days_late, event_date, status (at character 1 of "
            "\"stat == 'late'\")",
            "未知的名称 'stat'；此处可用：amount、days_late、event_date、status（\"stat == 'late'\" 的第 1 个字符）",
            id="unknown-name",
        ),
        pytest.param(
            "status < 'late'",
            "'<' does not order texts; use ==, != or in (at character 8 of \"status < 'late'\")",
            "'<' 不能比较文字的大小；请用 ==、!= 或 in（\"status < 'late'\" 的第 8 个字符）",
            id="ordered-text",
        ),
        pytest.param(
            "days_late + 1",
            "a condition must be true or false, but this is a number",
            "条件须为真或假，而这是数字",
            id="not-a-condition",
        ),
    ],
)
def test_a_bad_condition_is_refused_in_the_language_asked(tmp_path: Path, when: str, en: str, zh: str) -> None:
    """The condition language's own problems were in English under `policy lint --lang zh`, in a Chinese line
    ("错误：…: rule tax.late: when: unknown name 'stat'; …"): they are said in Chinese, in English under --lang en."""
    text = policy_text(a_rule(when=when.replace('"', '\\"')))
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    where = f"{path}:{at(text, 'when:')}: rule tax.late: when: "
    for lang, said, problem in (("en", "error: ", en), ("zh", "错误：", zh)):
        proc = policy_command("lint", path, "--lang", lang)
        assert (proc.returncode, proc.stderr) == (2, f"{said}{where}{problem}\n")


@pytest.mark.parametrize(
    ("yaml_text", "en", "zh"),
    [
        pytest.param(
            "id: x\nname: a: b\n",
            "2: not valid YAML at column 8: mapping values are not allowed here",
            "2: 不是有效的 YAML（第 8 列）：此处不能有映射的值（冒号后的值；含冒号的文字请加引号）",
            id="colon-in-a-value",
        ),
        pytest.param(
            "id: x\n\tversion: 1\n",
            "2: not valid YAML at column 1: found character '\\t' that cannot start any token",
            "2: 不是有效的 YAML（第 1 列）：字符 '\\t' 不能作为任何记号的开头",
            id="tab",
        ),
        pytest.param(
            "id: x\nid: y\n",
            "2: not valid YAML: the key 'id' is given twice (first on line 1); give each key once",
            "2: 不是有效的 YAML：键 'id' 出现了两次（第一次在第 1 行）；每个键只写一次",
            id="key-twice",
        ),
        pytest.param(
            "id: x\nsince: 2027-02-29\n",
            "2: not valid YAML: 2027-02-29 is not a date (day is out of range for month)",
            "2: 不是有效的 YAML：2027-02-29 不是日期",
            id="no-such-day",
        ),
        pytest.param(
            'id: x\nversion: "1"\nscale: {min: 0\n',
            "4: not valid YAML at column 1: expected ',' or '}', but got '<stream end>' (while parsing a flow mapping "
            "that starts on line 3)",
            "4: 不是有效的 YAML（第 1 列）：此处应为 ',' 或 '}'，却是 '<stream end>'"
            "（读取一个花括号映射时，始于第 3 行）",
            id="unclosed-brace",
        ),
        pytest.param(
            "id: x\n---\nid: y\n",
            "2: not valid YAML: expected a single document in the stream on line 1, but found another document",
            "2: 不是有效的 YAML：文件中应只有一个文档（第 1 行），却又有一个文档",
            id="two-documents",
        ),
    ],
)
def test_bad_yaml_is_refused_in_the_language_asked(tmp_path: Path, yaml_text: str, en: str, zh: str) -> None:
    """The YAML reader's own words stayed English under --lang zh ("不是有效的 YAML（第 8 列）：mapping values are not
    allowed here", "the key 'id' is given twice"): they are said in Chinese (test_policy_lint_words.py has a list
    left open). A '{' left open crashed the Chinese ("Single '}'"), built even under --lang en: exit 3, internal error;
    a second document was "but found another document", in English in either language."""
    path = tmp_path / "policy.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    for lang, said, problem in (("en", "error: ", en), ("zh", "错误：", zh)):
        proc = policy_command("lint", path, "--lang", lang)
        assert (proc.returncode, proc.stderr) == (2, f"{said}{path}:{problem}\n")
