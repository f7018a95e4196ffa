"""A subject's facts under a policy — what a service condition sees — and the services those facts grant.

Shared by decisions (one subject, with reasons) and due process (the grants a subject keeps while a listing is in
its grace period): both evaluate the policy's published conditions with the Python evaluator, which agrees with the
compiled SQL (tests/test_conditions_agree.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from socialcredit.policy import LoadedPolicy, expr

__all__ = ["facts_of", "grants_with"]


def facts_of(loaded: LoadedPolicy, result: dict[str, Any], as_of: dt.date) -> dict[str, Any]:
    """The subject facts a service condition sees, as Python values."""
    p = loaded.policy
    facts: dict[str, Any] = {
        "score": result["score"],
        "total": result["total"],
        "tier": result["tier"],
        "rank": result["rank"],
        "percentile": result["percentile"],
        "age": result["age"],
        "kind": result["kind"],
        "profession": result["profession"],
        "last_negative_days": (as_of - result["last_negative"]).days if result["last_negative"] else None,
    }
    for d, value in zip(p.dimensions, result["dims"], strict=True):
        facts[d.id] = value
    for lst in p.lists:
        facts[lst.id] = lst.id in result["lists"]
    return facts


def grants_with(loaded: LoadedPolicy, facts: dict[str, Any]) -> int:
    """The bitmask of services granted for these facts (bit i: the policy's i-th service)."""
    p = loaded.policy
    ranks = {t: len(p.tiers) - i for i, t in enumerate(p.tier_ids())}
    bits = 0
    for i, s in enumerate(p.services):
        node = loaded.condition(f"service:{s.id}")
        if node is not None and expr.evaluate(node, facts, tier_rank=ranks) is True:
            bits |= 1 << i
    return bits
