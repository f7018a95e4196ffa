"""Whether a list criterion on the score can be met at all: the values of ``score`` (or ``rank``, ``percentile``) a
condition lets through, worked out from its comparisons with numbers, its ``in`` lists, ``and``, ``or`` and ``not``.

A condition is judged on the values a subject's fact can take (``Domain``): the whole scores of the policy's scale, the
ranks from 1, the percentiles in hundredths from 0 to 100. A value is compared with a literal as a run compares it (a
whole number with a decimal as a double, exactly). Anything else (a calculation, two facts compared, another fact, a
null test) is not judged: the answer is None, and the criterion is accepted. A criterion is refused only when no value
of the fact meets it.

>>> from socialcredit.policy import expr
>>> meets(expr.parse("score < 0"), {"score": Domain(0, 800)})
False
>>> meets(expr.parse("score < 0 or tier == 'A'"), {"score": Domain(0, 800)}) is None
True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from socialcredit.policy import expr

__all__ = ["Domain", "meets", "values_meeting"]

_Spans = tuple[tuple[int, int], ...]  # sorted, disjoint, each (first, last) of the steps of a domain


@dataclass(frozen=True)
class Domain:
    """The values a fact takes: ``first`` to ``last`` whole steps of ``step`` (1 for a score, a rank; 100 for a
    percentile's hundredths, the k-th value being k / 100 as a double)."""

    first: int
    last: int
    step: int = 1

    def value(self, k: int) -> int | float:
        return k if self.step == 1 else k / self.step


@dataclass(frozen=True)
class _Known:
    """The steps of ``name``'s domain a part of the condition lets through (``name`` None: none, of any fact)."""

    name: str | None
    spans: _Spans


def meets(node: expr.Node, domains: dict[str, Domain]) -> bool | None:
    """False when no value of the facts in ``domains`` meets the condition, True when one does and the condition
    is on one of them alone, None when it cannot be told (the condition reads other things)."""
    known = _judge(node, domains)
    if known is None:
        return None
    return bool(known.spans)


def values_meeting(node: expr.Node, domains: dict[str, Domain]) -> tuple[str | None, _Spans] | None:
    """The fact a condition is on and the steps of its domain that meet it; None when it cannot be told."""
    known = _judge(node, domains)
    return None if known is None else (known.name, known.spans)


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def _number(node: expr.Node) -> int | float | None:
    """The number a literal (or a negated one) is, or None."""
    if isinstance(node, expr.Unary) and node.op == "-":
        inner = _number(node.operand)
        return None if inner is None else -inner
    if isinstance(node, expr.Lit) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return node.value
    return None


# The most runs of values a part of a condition is judged with: past it (``score in [0, 2, 4, …]`` with hundreds of
# values, and-ed with another such list) the part is not judged (None), so judging a criterion costs little whatever
# it holds. A criterion is refused only when judged.
MAX_SPANS = 128


def _judge(node: expr.Node, domains: dict[str, Domain]) -> _Known | None:
    known = _judged(node, domains)
    return None if known is not None and len(known.spans) > MAX_SPANS else known


def _judged(node: expr.Node, domains: dict[str, Domain]) -> _Known | None:
    if isinstance(node, expr.Binary) and node.op in ("and", "or"):
        left, right = _judge(node.left, domains), _judge(node.right, domains)
        if node.op == "and":
            for side in (left, right):  # false on every value of its fact, whatever the other side is
                if side is not None and not side.spans:
                    return side
            if left is not None and right is not None and left.name == right.name:
                return _Known(left.name, _intersect(left.spans, right.spans))
            return None
        if left is not None and right is not None:
            if not left.spans:
                return right
            if not right.spans:
                return left
            if left.name == right.name:
                return _Known(left.name, _union(left.spans, right.spans))
        return None
    if isinstance(node, expr.Unary) and node.op == "not":
        inner = _judge(node.operand, domains)
        if inner is None or inner.name is None:
            return None
        d = domains[inner.name]
        return _Known(inner.name, _complement(inner.spans, d))
    if isinstance(node, expr.Binary) and node.op in _FLIP:
        name, op, number = None, node.op, _number(node.right)
        if isinstance(node.left, expr.Name) and number is not None:
            name = node.left.name
        elif isinstance(node.right, expr.Name) and _number(node.left) is not None:
            name, op, number = node.right.name, _FLIP[node.op], _number(node.left)
        if name is None or name not in domains or number is None:
            return None
        return _Known(name, _compared(domains[name], op, number))
    if isinstance(node, expr.In) and isinstance(node.operand, expr.Name) and node.operand.name in domains:
        numbers = [_number(v) for v in node.values]
        if any(n is None for n in numbers):
            return None
        d = domains[node.operand.name]
        spans = _union((), tuple(span for n in numbers if n is not None for span in _compared(d, "==", n)))
        return _Known(node.operand.name, _complement(spans, d) if node.negated else spans)
    return None


def _compared(d: Domain, op: str, number: int | float) -> _Spans:
    """The steps of ``d`` whose value ``op`` ``number`` holds (each value only grows with its step)."""
    if d.step == 1 and (isinstance(number, int) or math.isfinite(number)):  # whole values: compared exactly
        below, above = math.ceil(number) - 1, math.floor(number) + 1  # the last value < number, the first > it
        last = {"<": below, "<=": above - 1}.get(op)
        if last is not None:
            return ((d.first, min(last, d.last)),) if last >= d.first else ()
        first = {">": above, ">=": below + 1}.get(op)
        if first is not None:
            return ((max(first, d.first), d.last),) if first <= d.last else ()
        equal: _Spans = ((int(number), int(number)),) if number == int(number) and d.first <= number <= d.last else ()
        return equal if op == "==" else _complement(equal, d)
    if op in ("<", "<="):
        last = _last_meeting(d, lambda v: v < number if op == "<" else v <= number)
        return () if last is None else ((d.first, last),)
    if op in (">", ">="):  # the first step that meets it, found as the last that does not
        before = _last_meeting(d, lambda v: not (v > number if op == ">" else v >= number))
        first = d.first if before is None else before + 1
        return () if first > d.last else ((first, d.last),)
    at = _last_meeting(d, lambda v: v <= number)
    equal = ((at, at),) if at is not None and d.value(at) == number else ()
    return equal if op == "==" else _complement(equal, d)


def _last_meeting(d: Domain, holds: Callable[[int | float], bool]) -> int | None:
    """The last step of ``d`` whose value ``holds`` (true from the first step up to some step, false after), or
    None when the first does not."""
    if not holds(d.value(d.first)):
        return None
    low, high = d.first, d.last  # holds at low; the answer lies in low..high
    while low < high:
        mid = (low + high + 1) // 2
        if holds(d.value(mid)):
            low = mid
        else:
            high = mid - 1
    return low


def _intersect(a: _Spans, b: _Spans) -> _Spans:
    """Both sorted and disjoint: walked side by side, the one that ends first stepped on."""
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def _union(a: _Spans, b: _Spans) -> _Spans:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted((*a, *b)):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return tuple(out)


def _complement(a: _Spans, d: Domain) -> _Spans:
    out, start = [], d.first
    for lo, hi in a:
        if lo > start:
            out.append((start, lo - 1))
        start = max(start, hi + 1)
    if start <= d.last:
        out.append((start, d.last))
    return tuple(out)
