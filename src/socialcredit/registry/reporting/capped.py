"""What each record of a capped rule counts in a subject's file: the rule's cap shared out among its records.

A rule with a ``cap`` counts at most that many points in all (compiler/plan.py, ``rule_points_select``: the sum of
its records' points at the run's date, in micro-points, then held within ±cap). The file shows each record's own
points beside what it **counted**: the records count in full oldest first (by event date, then the record's id), the
record that crosses the cap counts what is left of it, and every later one counts 0. The counted values of a rule's
records add up to the rule's points in the run (the reason's figure), to 0.01 as the file shows them
(``shown_shares``: each rounded on its own, or the running sum rounded when those do not add up).
"""

from __future__ import annotations

import decimal
from collections.abc import Sequence

from socialcredit.compiler.plan import MICRO, micro
from socialcredit.policy.words import exact_number
from socialcredit.registry.common import shown_points

__all__ = ["cap_note", "capped_total", "share_cap", "shown_shares"]


def capped_total(micros: Sequence[int], cap: float | None) -> float:
    """The rule's points as the run computes them from its records' micro-points: the sum, held within ±``cap``."""
    total = sum(micros) / MICRO
    return total if cap is None else max(-cap, min(cap, total))


def share_cap(micros: Sequence[int], cap: float | None) -> list[int]:
    """What each record counts, in micro-points, of a rule whose records give ``micros`` (oldest first) under
    ``cap``: in full until the cap is reached, the remainder to the record that crosses it, 0 to the later ones.
    A rule's points have one sign (decay halves them, never turns them), so its records' points have it too."""
    total = sum(micros)
    limit = None if cap is None else micro(cap)
    if limit is None or abs(total) <= limit:
        return list(micros)
    left = limit
    out = []
    for m in micros:
        take = min(abs(m), left)
        left -= take
        out.append(take if m >= 0 else -take)
    return out


def shown_shares(counted: Sequence[int], total: float) -> list[float]:
    """The counted micro-points as the file shows them, to 0.01, adding up exactly to ``total`` as shown.

    Each is rounded on its own as every figure of the file is (``shown_points``) when those figures add up to the
    rule's points as shown. Otherwise (many small records, each rounded the same way) the running sum is rounded
    and each record shows what it adds to it: the figures then add up to the rounded total by construction, each
    keeps its rule's sign and lies within 0.01 of what the record counted, and a record that counts 0 shows 0.
    The last record that counts anything closes on ``total`` as the reason shows it (the cap held as a double)."""
    goal = decimal.Decimal(repr(shown_points(total)))
    alone = [decimal.Decimal(repr(shown_points(m / MICRO))) for m in counted]
    if sum(alone, decimal.Decimal(0)) == goal:
        return [float(x) + 0.0 for x in alone]  # no -0.0
    last = max((i for i, m in enumerate(counted) if m), default=None)
    out: list[float] = []
    before = decimal.Decimal(0)
    running = 0
    for i, m in enumerate(counted):
        running += m
        now = goal if i == last else decimal.Decimal(repr(shown_points(running / MICRO))) if m else before
        out.append(float(now - before) + 0.0)
        before = now
    return out


def _number(value: float) -> str:
    """A figure of a note: every digit it has, a minus sign as the pages print it (−300)."""
    return exact_number(value).replace("-", "−")


def cap_note(rule_id: str, counted: float, points: float, cap: float, lang: str) -> str:
    """Why a record counts less than its own points, in ``lang``: "counts −50 of −100: rule court.judgment counts at
    most −300 in all" (the cap with the sign of the rule's points)."""
    limit = -cap if points < 0 else cap
    if lang == "zh":
        return f"计{_number(counted)}分（单独应计{_number(points)}分）：规则{rule_id}合计最多计{_number(limit)}分"
    return f"counts {_number(counted)} of {_number(points)}: rule {rule_id} counts at most {_number(limit)} in all"
