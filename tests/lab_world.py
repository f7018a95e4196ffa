"""The policy lab's hand-made world (tests/test_impact.py, test_disparity.py, test_drift.py): ten residents born
1990-01-01 (35–44 on 2026-01-01), P1–P5 in 朝阳区 and P6–P10 in 海淀区, odd sequence numbers men and even women,
with tax records that give each a score worked out by hand.

Under CURRENT (base 100): `plus` gives +15 for each paid tax of amount 1, `minus` −15 for each of amount 2; the
blacklist floor is `score < 100`; `travel` needs no blacklisting, `loan` silver or better and no blacklisting,
`badge` silver or better. CANDIDATE gives +20 for `plus`, lowers the floor to `score < 80` and grants `badge` from
a score of 150.

    subject  plus minus  current        candidate
    P1        0    0     100 bronze     100 bronze
    P2        1    0     115 silver     120 silver            badge grant → refuse
    P3        3    0     145 silver     160 gold              tier silver → gold
    P4        0    1      85 bronze BL   85 bronze            leaves the blacklist; travel refuse → grant
    P5        1    1     100 bronze     105 bronze
    P6        0    2      70 bronze BL   70 bronze BL
    P7        0    0     100 bronze     100 bronze
    P8        4    0     160 gold       180 gold
    P9        2    1     115 silver     125 silver            badge grant → refuse
    P10       3    1     130 silver     145 silver            badge grant → refuse
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from scoring_helpers import AS_OF, Registry, amount_rule, days_before, open_registry, parse_policy, person, policy_text
from socialcredit.policy import LoadedPolicy

P = {i: person(i) for i in range(1, 11)}
PLUS = {2: 1, 3: 3, 5: 1, 8: 4, 9: 2, 10: 3}
MINUS = {4: 1, 5: 1, 6: 2, 9: 1, 10: 1}


def lists(floor: int) -> str:
    return f"""\
- id: blacklist
  kind: black
  name: {{zh: 黑名单, en: blacklist}}
  criteria:
    - id: floor
      when: "score < {floor}"
      reason: {{code: LIST_FLOOR, zh: 低分, en: low score}}
"""


def services(badge: str) -> str:
    return f"""\
- id: travel
  name: {{zh: 出行, en: travel}}
  grant_if: "not blacklist"
  refusal: {{zh: 不予, en: refused}}
- id: loan
  name: {{zh: 贷款, en: loan}}
  grant_if: "not blacklist and tier >= 'silver'"
  refusal: {{zh: 不予, en: refused}}
- id: badge
  name: {{zh: 徽章, en: badge}}
  grant_if: "{badge}"
  refusal: {{zh: 不予, en: refused}}
"""


def policy_yaml(plus: int, floor: int, badge: str, version: str) -> str:
    rules = amount_rule("plus", plus, 1) + amount_rule("minus", -15, 2)
    text = policy_text(rules, lists=lists(floor), services=services(badge), policy_id="lab")
    return text.replace('version: "1"', f'version: "{version}"')


CURRENT = policy_yaml(15, 100, "tier >= 'silver'", "1")
CANDIDATE = policy_yaml(20, 80, "score >= 150", "2")


def current() -> LoadedPolicy:
    return parse_policy(CURRENT, "lab@1")


def build(folder: Path) -> Registry:
    """The world, registered and sent (not scored)."""
    reg = open_registry(folder)
    rows = [
        {"subject_id": P[i], "name": f"P{i}", "district": "朝阳区" if i <= 5 else "海淀区", "profession": None}
        for i in range(1, 11)
    ]
    assert reg.ingest("civil_affairs", rows).errors == []
    records = []
    for amount, counts in ((1, PLUS), (2, MINUS)):
        for i, n in counts.items():
            records += [
                {
                    "record_id": f"T{amount}-{i}-{k}",
                    "subject_id": P[i],
                    "record_type": "tax_payment",
                    "event_date": days_before(10 + k),
                    "amount": amount,
                    "status": "paid",
                }
                for k in range(n)
            ]
    reg.send("tax_bureau", records)
    return reg


__all__ = ["AS_OF", "CANDIDATE", "CURRENT", "MINUS", "PLUS", "P", "build", "current", "dt", "policy_yaml"]
