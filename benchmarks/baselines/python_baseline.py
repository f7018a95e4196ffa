"""Baseline: a per-record loop in plain Python, conditions evaluated by the project's own Python evaluator.

What a user with a rules engine would write: read every record (pyarrow, one ``to_pylist()`` per batch), and
for each record evaluate every rule and list criterion of its record type with
``socialcredit.policy.expr.evaluate(node, record)``; accumulate points per (subject, rule) in dicts, then
finish each subject in Python (caps, dimension clamps, total, score, tier, rank, percentile, lists).

Reads: subjects/*.parquet (subject_id, profession; organisations are the rows of orgs.parquet),
records/*/*.parquet (every column), consents.parquet when the policy has consent categories.

The loop itself (``score_with``) takes the condition evaluator as a parameter, so ``zen_baseline`` runs
the very same loop with zen-engine evaluating the conditions.
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import pyarrow.parquet as pq

from socialcredit.catalog import load_catalog
from socialcredit.policy import LoadedPolicy
from socialcredit.policy.expr import Node, evaluate
from socialcredit.policy.model import Rule

from ._common import MICRO, Subject, age_years, consent_needed, from_micro, micro, percentile, read_subjects

__all__ = ["Checker", "RecordConditions", "score", "score_with"]


@dataclass
class _RuleItem:
    index: int
    rule: Rule
    professions: frozenset[str] | None


@dataclass
class _CriterionItem:
    list_id: str
    within_days: int | None


@dataclass
class RecordConditions:
    """The conditions to evaluate on a record of one type: its rules' first, then its list criteria's."""

    keys: list[str] = field(default_factory=list)  # 'rule:<id>' or 'list:<list>.<criterion>'
    nodes: list[Node | None] = field(default_factory=list)  # None: the rule has no `when` (always holds)
    rules: list[_RuleItem] = field(default_factory=list)
    criteria: list[_CriterionItem] = field(default_factory=list)
    consent_category: str | None = None  # counted only for subjects who opted in to this category


def record_conditions(loaded: LoadedPolicy, as_of: dt.date) -> dict[str, RecordConditions]:
    """Per record type, the rules and record criteria that read it."""
    policy = loaded.policy
    catalog = load_catalog()
    needs_consent = consent_needed(policy, as_of)
    out: dict[str, RecordConditions] = {}

    def of(record_type: str) -> RecordConditions:
        if record_type not in out:
            category = catalog.record_types[record_type].category
            out[record_type] = RecordConditions(consent_category=category if category in needs_consent else None)
        return out[record_type]

    for i, rule in enumerate(policy.rules):
        rc = of(rule.record_type)
        rc.keys.append(f"rule:{rule.id}")
        rc.nodes.append(loaded.condition(f"rule:{rule.id}"))
        rc.rules.append(_RuleItem(i, rule, frozenset(rule.professions) if rule.professions else None))
    # Criteria come after all rules of a type, so a flag list reads [rules..., criteria...].
    for lst in policy.lists:
        for crit in lst.criteria:
            if crit.record is not None:
                key = f"list:{lst.id}.{crit.id}"
                rc = of(crit.record.record_type)
                rc.keys.append(key)
                rc.nodes.append(loaded.condition(key))
                rc.criteria.append(_CriterionItem(lst.id, crit.record.within_days))
    return out


class Checker(Protocol):
    """Evaluates the conditions of a policy: on one record, or on one scored subject's facts."""

    def record(self, record_type: str, record: dict[str, Any]) -> Sequence[bool]:
        """Whether each condition of ``record_conditions()[record_type]`` holds (in its order)."""

    def subject(self, facts: dict[str, Any]) -> Sequence[bool]:
        """Whether each score criterion (``score_criteria()`` order) holds for a subject's facts."""


def score_criteria(loaded: LoadedPolicy) -> list[tuple[str, str, Node]]:
    """(list id, condition key, node) of every list criterion on the score rather than on a record."""
    out = []
    for lst in loaded.policy.lists:
        for crit in lst.criteria:
            key = f"list:{lst.id}.{crit.id}"
            node = loaded.condition(key)
            if crit.when is not None and node is not None:
                out.append((lst.id, key, node))
    return out


class PythonChecker:
    """Conditions evaluated one by one with ``socialcredit.policy.expr.evaluate`` (SQL's three-valued logic)."""

    def __init__(self, loaded: LoadedPolicy, as_of: dt.date) -> None:
        self.conditions = {rt: rc.nodes for rt, rc in record_conditions(loaded, as_of).items()}
        self.criteria = [node for _, _, node in score_criteria(loaded)]
        ids = loaded.policy.tier_ids()
        self.tier_rank = {t: len(ids) - i for i, t in enumerate(ids)}

    def record(self, record_type: str, record: dict[str, Any]) -> list[bool]:
        return [node is None or evaluate(node, record) is True for node in self.conditions[record_type]]

    def subject(self, facts: dict[str, Any]) -> list[bool]:
        return [evaluate(node, facts, tier_rank=self.tier_rank) is True for node in self.criteria]


def _period(per: str, day: dt.date) -> tuple[int, int]:
    if per == "month":
        return (day.year, day.month)
    if per == "quarter":
        return (day.year, (day.month - 1) // 3)
    return (day.year, 0)


def _decayed(rule: Rule, age: int) -> int:
    """The points of one hit ``age`` days old, in micro-points."""
    if rule.decay is None:
        return micro(rule.points)
    return micro(float(rule.points * 2.0 ** (-float(age) / float(rule.decay.half_life_days))))


def score_with(
    folder: Path,
    loaded: LoadedPolicy,
    as_of: dt.date,
    make_checker: Callable[[LoadedPolicy, dt.date], Checker],
) -> pd.DataFrame:
    """Score every subject with a per-record loop; ``make_checker`` decides how conditions are evaluated."""
    folder = Path(folder)
    policy = loaded.policy
    subjects = read_subjects(folder, policy)
    plans = record_conditions(loaded, as_of)
    checker = make_checker(loaded, as_of)

    # -- one pass over the records -------------------------------------------------------------------------
    sums: dict[tuple[str, int], int] = defaultdict(int)  # micro-points; per-occurrence rules
    last: dict[tuple[str, int], dt.date] = {}
    periods: dict[tuple[str, int], dict[tuple[int, int], dt.date]] = defaultdict(dict)  # per-period rules
    listed: dict[str, set[str]] = defaultdict(set)
    for path in sorted((folder / "records").glob("*/*.parquet")):
        for batch in pq.ParquetFile(path).iter_batches(batch_size=65536):
            for record in batch.to_pylist():
                plan = plans.get(record["record_type"])
                if plan is None:
                    continue
                subject = subjects.get(record["subject_id"])
                if subject is None:
                    continue
                day: dt.date = record["event_date"]
                if day > as_of:
                    continue
                if plan.consent_category is not None and plan.consent_category not in subject.consents:
                    continue
                age = (as_of - day).days
                flags = checker.record(record["record_type"], record)
                for item, holds in zip(plan.rules, flags, strict=False):
                    rule = item.rule
                    if not holds:
                        continue
                    if rule.expires_after_days is not None and age >= rule.expires_after_days:
                        continue
                    if rule.window_days is not None and age >= rule.window_days:
                        continue
                    if item.professions is not None and subject.profession not in item.professions:
                        continue
                    key = (subject.subject_id, item.index)
                    if rule.per == "occurrence":
                        sums[key] += _decayed(rule, age)
                        if key not in last or day > last[key]:
                            last[key] = day
                    else:
                        seen = periods[key]
                        period = _period(rule.per, day)
                        if period not in seen or day > seen[period]:
                            seen[period] = day
                for crit, holds in zip(plan.criteria, flags[len(plan.rules) :], strict=True):
                    if holds and (crit.within_days is None or age < crit.within_days):
                        listed[crit.list_id].add(subject.subject_id)

    # -- rule points: per-period hits, decay, caps ---------------------------------------------------------
    for key, seen in periods.items():
        rule = policy.rules[key[1]]
        for day in seen.values():
            sums[key] += _decayed(rule, (as_of - day).days)
        last[key] = max(seen.values())
    rule_points: dict[str, list[tuple[int, float, dt.date]]] = defaultdict(list)
    for (sid, index), summed in sums.items():
        rule = policy.rules[index]
        points = from_micro(summed)
        if rule.cap is not None:
            points = min(rule.cap, max(-rule.cap, points))
        rule_points[sid].append((index, points, last[(sid, index)]))

    # -- per subject: dimensions, total, score, tier -------------------------------------------------------
    tiers = sorted(policy.tiers, key=lambda t: -t.min)
    rows: list[dict[str, Any]] = []
    for subject in subjects.values():
        summed_dims = {d.id: 0 for d in policy.dimensions}  # micro-points
        last_negative: dt.date | None = None
        for index, points, last_event in sorted(rule_points.get(subject.subject_id, [])):
            summed_dims[policy.rules[index].dimension] += micro(points)
            if points < 0 and (last_negative is None or last_event > last_negative):
                last_negative = last_event
        grand = float(policy.scale.base * MICRO)  # the total in micro-points, divided once, as the engine sums it
        dims: dict[str, float] = {}
        for d in policy.dimensions:
            value = from_micro(summed_dims[d.id])
            if d.min is not None:
                value = max(d.min, value)
            if d.max is not None:
                value = min(d.max, value)
            dims[d.id] = value
            grand += float(micro(value))
        total = grand / MICRO
        score = int(min(policy.scale.max, max(policy.scale.min, math.floor((grand + MICRO // 2) / MICRO))))
        tier = next((t.id for t in tiers if score >= t.min), None)
        rows.append(
            {
                "subject_id": subject.subject_id,
                "kind": subject.kind,
                "total": total,
                "score": score,
                "tier": tier,
                "_subject": subject,
                "_dims": dims,
                "_last_negative": last_negative,
            }
        )

    # -- rank and percentile within kind, then the lists met by the score ----------------------------------
    by_kind: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        by_kind[row["kind"]].append(row["score"])
    ordered = {kind: sorted(scores) for kind, scores in by_kind.items()}
    criteria = score_criteria(loaded)
    for row in rows:
        scores = ordered[row["kind"]]
        at_or_below = bisect_right(scores, row["score"])
        row["rank"] = len(scores) - at_or_below + 1
        row["percentile"] = percentile(at_or_below, len(scores))
        owner: Subject = row.pop("_subject")
        dims = row.pop("_dims")
        last_negative = row.pop("_last_negative")
        facts = {
            "score": row["score"],
            "total": row["total"],
            "tier": row["tier"],
            "rank": row["rank"],
            "percentile": row["percentile"],
            "age": age_years(owner.birth_date, as_of),
            "last_negative_days": None if last_negative is None else (as_of - last_negative).days,
            "kind": owner.kind,
            "profession": owner.profession,
            **dims,
        }
        for (list_id, _, _), holds in zip(criteria, checker.subject(facts), strict=True):
            if holds:
                listed[list_id].add(owner.subject_id)
        for d in policy.dimensions:
            row[f"d_{d.id}"] = dims[d.id]
    columns = ["subject_id", "kind", "total", "score", "tier", "rank", "percentile"]
    frame = pd.DataFrame(rows, columns=columns + [f"d_{d.id}" for d in policy.dimensions])
    for lst in policy.lists:
        frame[lst.id] = frame["subject_id"].isin(listed[lst.id])
    return frame


def score(folder: Path, loaded_policy: LoadedPolicy, as_of: dt.date) -> pd.DataFrame:
    """One row per subject: subject_id, kind, total, score, tier, rank, percentile and a flag per list."""
    return score_with(folder, loaded_policy, as_of, PythonChecker)
