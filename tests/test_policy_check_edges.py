"""`socialcredit policy check FILE` on policies written at the edges of the language: the installed console script
in a subprocess, its exit code and the exact problem it prints (file, line, item, key, what to write instead)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scoring_helpers import policy_text

CLI = shutil.which("socialcredit", path=str(Path(sys.executable).parent)) or "socialcredit"


def check(path: Path) -> subprocess.CompletedProcess[str]:
    """`socialcredit policy check PATH`, without a store (the shipped catalog); PYTHONPATH is inherited."""
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}
    return subprocess.run(
        [CLI, "policy", "check", str(path)], capture_output=True, text=True, env=env, timeout=120, check=False
    )


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
        f"error: {path}:{line_of(text, '- id:')}: rule 'tax.late\\n': id: 'tax.late\\n' is not a valid id: use "
        "lower-case letters, digits, '_' and '.', starting with a letter\n"
        f"{path}:{line_of(text, 'code:')}: rule 'tax.late\\n': reason.code: 'TAX_LATE\\n' is not a valid "
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
    assert (proc.returncode, proc.stderr) == (2, f"error: {path}:{line_of(text, 'when:')}: rule tax.late: when: {message}\n")
