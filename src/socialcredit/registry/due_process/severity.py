"""Which rules and list criteria of a policy count a record, and so its severity class and how long it can count.

Conditions are the policy's own, evaluated on the record's fields (``expr.evaluate`` in Python for one record;
lowered to a sqlglot tree for the purge, which looks at every record).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from socialcredit.catalog import Catalog
from socialcredit.compiler.lower import lower
from socialcredit.policy import LoadedPolicy, expr

__all__ = ["SEVERITY_ORDER", "Limit", "counted_until", "counts_until", "limit_days", "matching", "record_severity"]

SEVERITY_ORDER = {"minor": 1, "general": 2, "serious": 3}
UNLIMITED = 1_000_000  # days: a rule without expiry or window counts a record for good


@dataclass(frozen=True)
class Limit:
    """One rule or list criterion that counts a record type: its condition, age limit in days, severity."""

    key: str
    record_type: str
    condition: expr.Node | None
    days: int | None
    severity: str | None
    negative: bool


# Each policy version's limits, built once per loaded policy (a file's records asked for them a few hundred times a
# page): kept with the policy they were built from, so a cached entry is used only for that same object.
_LIMITS: dict[tuple[str, int], tuple[LoadedPolicy, list[Limit]]] = {}


def _limits(loaded: LoadedPolicy) -> list[Limit]:
    key = (loaded.sha256, id(loaded))
    cached = _LIMITS.get(key)
    if cached is not None and cached[0] is loaded:
        return cached[1]
    out = _build_limits(loaded)
    if len(_LIMITS) >= 64:
        _LIMITS.clear()
    _LIMITS[key] = (loaded, out)
    return out


def _build_limits(loaded: LoadedPolicy) -> list[Limit]:
    p = loaded.policy
    out = []
    for r in p.rules:
        days = min([d for d in (r.expires_after_days, r.window_days) if d is not None], default=None)
        out.append(
            Limit(f"rule:{r.id}", r.record_type, loaded.condition(f"rule:{r.id}"), days, r.severity, r.points < 0)
        )
    for lst in p.lists:
        for c in lst.criteria:
            if c.record is not None:
                key = f"list:{lst.id}.{c.id}"
                neg = lst.kind == "black"
                out.append(
                    Limit(key, c.record.record_type, loaded.condition(key), c.record.within_days, c.severity, neg)
                )
    return out


def _values(record: dict[str, Any], catalog: Catalog) -> dict[str, Any]:
    known = catalog.record_types.get(record["record_type"])
    # a type the catalog lacks: every column of the row, as the conditions name fields
    fields = known.fields if known is not None else {k: v for k, v in record.items() if k != "event_date"}
    return {"event_date": record["event_date"], **{f: record.get(f) for f in fields}}


def matching(loaded: LoadedPolicy, record: dict[str, Any]) -> list[Limit]:
    """The rules and criteria whose record type and condition match this record (a row of ``records``)."""
    limits = [lim for lim in _limits(loaded) if lim.record_type == record["record_type"]]
    if not limits:  # no rule counts the type (nor one the catalog lacks: a policy names catalog types only)
        return []
    values = _values(record, loaded.record_catalog)
    return [lim for lim in limits if lim.condition is None or expr.evaluate(lim.condition, values) is True]


def record_severity(loaded: LoadedPolicy, record: dict[str, Any]) -> str | None:
    """The gravest severity class of the negative rules and blacklist criteria that match the record."""
    found = [lim.severity for lim in matching(loaded, record) if lim.negative and lim.severity]
    return max(found, key=lambda s: SEVERITY_ORDER[s]) if found else None


def counts_until(loaded: LoadedPolicy, record: dict[str, Any]) -> dt.date | None:
    """The first day no rule or criterion of the policy counts the record (None: some counts it for good)."""
    event: dt.date = record["event_date"]
    days = [lim.days for lim in matching(loaded, record)]
    if not days:
        return event
    if any(d is None for d in days):
        return None
    return event + dt.timedelta(days=max(d for d in days if d is not None))


def counted_until(loaded: LoadedPolicy, key: str, record: dict[str, Any]) -> dt.date | None:
    """The first day the one rule or list criterion ``key`` (``rule:ID``, ``list:LIST.CRITERION``) no longer counts
    the record by its age: its event date + the rule's or criterion's days (a run of ``as_of`` counts it while
    ``event_date > as_of - days``, the compiler's window). None: no age limit (it counts the record for good), or no
    such rule or criterion."""
    lim = next((lim for lim in _limits(loaded) if lim.key == key), None)
    if lim is None or lim.days is None:
        return None
    event: dt.date = record["event_date"]
    try:
        return event + dt.timedelta(days=lim.days)
    except OverflowError:  # past the year 9999: for good
        return None


def limit_days(loaded: LoadedPolicy, record_type: str) -> exp.Expr:
    """A tree over a ``records`` row: how many days the policy can count it (0 when nothing matches it)."""
    cases: list[exp.Expr] = []
    for lim in _limits(loaded):
        if lim.record_type != record_type:
            continue
        days = exp.Literal.number(lim.days if lim.days is not None else UNLIMITED)
        cond = lower(lim.condition, lambda n: exp.column(n)) if lim.condition is not None else exp.true()
        case = exp.Case(ifs=[exp.If(this=exp.Coalesce(this=cond, expressions=[exp.false()]), true=days)])
        cases.append(exp.Coalesce(this=case, expressions=[exp.Literal.number(0)]))
    if not cases:
        return exp.Literal.number(0)
    return exp.Greatest(this=exp.Literal.number(0), expressions=cases, ignore_nulls=True)
