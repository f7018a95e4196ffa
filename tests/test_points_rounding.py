"""Points as the faces show them: to two decimals, halves upwards, as a score is rounded from its total
(docs/policy-language.md: floor(total + 0.5)). Python's ``round`` rounded halves to even and read the double's binary
digits: a rule of 0.125 points was shown as 0.12 and one of 2.675 as 2.67. Worked out by hand from a small policy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scoring_helpers import AS_OF, Registry, amount_rule, days_before, make_policy, open_registry, person, tax
from socialcredit.registry.decisions.decide import decide
from socialcredit.registry.reporting.report import subject_report

SUBJECT = person(7)
SERVICES = """\
- id: anyone
  name: {zh: 任何人, en: anyone}
  grant_if: "score >= 0"
  refusal: {zh: 不予办理。, en: Refused.}
"""


@pytest.fixture
def reg(tmp_path: Path) -> Iterator[Registry]:
    registry = open_registry(tmp_path)
    registry.register({SUBJECT: None})
    registry.send(
        "tax_bureau",
        [tax("T1", SUBJECT, days_before(3), amount=1), tax("T2", SUBJECT, days_before(3), amount=2)],
    )
    # civic: +0.125 (rule eighth); money: +2.675 (rule odd); total 100 + 2.8 = 102.8, score 103
    rules = amount_rule("eighth", 0.125, 1) + amount_rule("odd", 2.675, 2, dimension="money")
    registry.score(make_policy(rules, services=SERVICES))
    yield registry
    registry.store.close()


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0.125, 0.13), (2.675, 2.68), (1.005, 1.01), (-0.125, -0.12), (-0.126, -0.13), (-0.004, 0.0), (3.0, 3.0)],
)
def test_points_are_shown_to_two_decimals_halves_upwards(value: float, shown: float) -> None:
    from socialcredit.registry.common import shown_points

    assert shown_points(value) == shown
    assert str(shown_points(-0.004)) == "0.0"  # never -0.0


def test_a_decisions_reasons_round_halves_upwards(reg: Registry) -> None:
    decision = decide(reg.store, SUBJECT, "anyone", "test", lang="en", today=AS_OF)
    assert decision.granted is True
    assert sorted((r.code, r.points) for r in decision.reasons if r.source == "score") == [
        ("EIGHTH", 0.13),
        ("ODD", 2.68),
    ]
    assert sorted((r["code"], r["points"]) for r in decision.as_dict()["reasons"] if r["points"] is not None) == [
        ("EIGHTH", 0.13),
        ("ODD", 2.68),
    ]


def test_a_subjects_file_rounds_dimensions_and_contributions_halves_upwards(reg: Registry) -> None:
    report = subject_report(reg.store, SUBJECT, lang="en")
    (scores,) = report["scores"]
    assert scores["score"] == 103
    assert {d["id"]: d["points"] for d in scores["dimensions"]} == {"civic": 0.13, "money": 2.68}
    assert sorted((r["code"], r["points"]) for r in scores["reasons"]) == [("EIGHTH", 0.13), ("ODD", 2.68)]
    contributions = {r["record_id"]: r["contribution"]["test"] for r in report["records"]}
    assert contributions["T1"] == [{"rule_id": "eighth", "points": 0.13, "counted": 0.13, "note": None}]
    assert contributions["T2"] == [{"rule_id": "odd", "points": 2.68, "counted": 2.68, "note": None}]
