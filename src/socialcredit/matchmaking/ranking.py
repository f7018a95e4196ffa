"""Ranking candidates for a client: mutual preference filters first, then a compatibility score.

The score of candidate *c* for client *v* is a weighted mean of six parts, each between 0 and 1::

    interests   |I_v ∩ I_c| / |I_v ∪ I_c|               (0 when neither has an interest)
    age         max(0, 1 − |age_v − age_c| / 10)
    district    max(0, 1 − km(district_v, district_c) / 60)  (between district seats, to 0.1 km)
    education   1 − |level_v − level_c| / 5                (six levels, junior high … doctorate)
    job         employed or self-employed 1, student or retired 0.5, not working 0
    credit      1 if the registry grants c the matchmaking badge, else 0

    score = Σ w_p · s_p / Σ w_p      over the parts that exist for c

The credit part exists only for a candidate who consented to share their tier and whom the registry knows. For
everyone else it is left out and the other weights are renormalised: their score is exactly the score of a formula
without a credit part, so withholding consent never lowers it. A client's minimum credit tier excludes only
candidates who shared a lower tier; one who shares nothing passes.

The badge is asked only for candidates who could still reach the page: a sharing candidate's score lies between
its score without the badge and with it, so the registry is asked (in one batch) about the sharing candidates
whose best case reaches the ``limit``-th best certain score, and again if a tier minimum removed some of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from socialcredit.matchmaking.reference import (
    DISTRICTS,
    EDUCATION,
    INTERESTS,
    JOB_STATUSES,
    Tiers,
    district_km,
)

__all__ = [
    "AGE_SPAN",
    "DISTRICT_SPAN_KM",
    "EDUCATION_SPAN",
    "JOB_SCORE",
    "PARTS",
    "Badge",
    "ClientIndex",
    "Lookup",
    "Match",
    "PartContribution",
    "Ranking",
    "Weights",
    "age_part",
    "district_part",
    "education_part",
    "interests_part",
    "job_part",
    "rank",
]

PARTS = ("interests", "age", "district", "education", "job", "credit")
AGE_SPAN = 10  # years apart at which the age part reaches 0
DISTRICT_SPAN_KM = 60.0  # km between district seats at which the district part reaches 0
EDUCATION_SPAN = len(EDUCATION) - 1
JOB_SCORE = {"employed": 1.0, "self_employed": 1.0, "student": 0.5, "retired": 0.5, "unemployed": 0.0}


@dataclass(frozen=True)
class Weights:
    """The weight of each part; they need not add up to 1 (the score divides by the weights present)."""

    interests: float = 0.25
    age: float = 0.20
    district: float = 0.15
    education: float = 0.15
    job: float = 0.15
    credit: float = 0.10

    def __post_init__(self) -> None:
        if any(w < 0 for w in self.as_dict().values()) or self.without_credit() <= 0:
            raise ValueError("weights must be non-negative, and the parts other than credit must weigh something")

    def as_dict(self) -> dict[str, float]:
        return {p: float(getattr(self, p)) for p in PARTS}

    def without_credit(self) -> float:
        return self.interests + self.age + self.district + self.education + self.job


@dataclass(frozen=True)
class Badge:
    """The registry's answer for one subject: the matchmaking badge granted or not, and the tier."""

    granted: bool
    tier: str
    refusal: str | None = None  # a refused badge: the registry's refusal, and its ranked reasons
    reasons: tuple[str, ...] = ()


Lookup = Callable[[list[str]], dict[str, Badge]]  # subject ids → badges (a subject the registry lacks is absent)


# The parts one at a time: the documented formula, used for explanations and checked against the arrays in tests.
def interests_part(a: set[str] | frozenset[str], b: set[str] | frozenset[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def age_part(age_a: int, age_b: int) -> float:
    return max(0.0, 1.0 - abs(age_a - age_b) / AGE_SPAN)


def district_part(district_a: str, district_b: str) -> float:
    return max(0.0, 1.0 - district_km(district_a, district_b) / DISTRICT_SPAN_KM)


def education_part(level_a: int, level_b: int) -> float:
    return 1.0 - abs(level_a - level_b) / EDUCATION_SPAN


def job_part(job: str) -> float:
    return JOB_SCORE[job]


_JOB_SCORES = np.array([JOB_SCORE[j.id] for j in JOB_STATUSES])
_DISTRICT_SCORES = np.array([[district_part(a.code, b.code) for b in DISTRICTS] for a in DISTRICTS])
_ALL_DISTRICTS = (1 << len(DISTRICTS)) - 1


@dataclass
class ClientIndex:
    """Every client as columns (row i is one client), for filtering and scoring 50 000 clients at once.

    Codes: sex 0 woman, 1 man; ``seeks`` a bit per sex; district the position in DISTRICTS and
    ``district_ok`` a bit per acceptable district; education, income and job 1-based ranks in their reference
    tables (a minimum of 0 is no minimum); interests a bit per interest; ``min_tier`` a tier rank (0: none).
    """

    client_id: NDArray[np.int64]
    subject_id: NDArray[Any]
    sex: NDArray[np.int64]
    seeks: NDArray[np.int64]
    age: NDArray[np.int64]
    age_min: NDArray[np.int64]
    age_max: NDArray[np.int64]
    district: NDArray[np.int64]
    district_ok: NDArray[np.int64]
    education: NDArray[np.int64]
    min_education: NDArray[np.int64]
    income: NDArray[np.int64]
    min_income: NDArray[np.int64]
    job: NDArray[np.int64]
    interests: NDArray[np.int64]
    min_tier: NDArray[np.int64]
    consent: NDArray[np.bool_]
    row_of: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.row_of:
            self.row_of = {int(c): i for i, c in enumerate(self.client_id.tolist())}
        self.district_ok = np.where(self.district_ok == 0, _ALL_DISTRICTS, self.district_ok)

    def __len__(self) -> int:
        return len(self.client_id)


@dataclass(frozen=True)
class PartContribution:
    """One line of "why this match": the part, its weight, its value for this pair, and its share of the score."""

    part: str
    weight: float  # as configured
    effective_weight: float  # after renormalising over the parts present (0 for a part left out)
    value: float | None  # None: the part is left out (credit not shared)
    contribution: float
    facts: dict[str, Any]


@dataclass(frozen=True)
class Match:
    client_id: int
    score: float
    shared: bool  # the candidate shares their credit tier
    badge: Badge | None  # the registry's answer (None: not shared, or no decision): the credit part counts with one
    parts: tuple[PartContribution, ...]


@dataclass
class Ranking:
    client_id: int
    candidates: int  # pass both sides' preferences (before the minimum credit tier, which needs the registry)
    matches: list[Match]
    asked: int = 0  # subject ids sent to the registry for this ranking
    excluded_by_tier: int = 0
    viewer_badge: Badge | None = None


def mutual_mask(ix: ClientIndex, v: int) -> NDArray[np.bool_]:
    """Candidates who meet the client's preferences and whose preferences the client meets (not credit tier)."""
    m: NDArray[np.bool_] = ((ix.seeks[v] >> ix.sex) & 1).astype(bool)
    m &= ((ix.seeks >> ix.sex[v]) & 1).astype(bool)
    m &= (ix.age >= ix.age_min[v]) & (ix.age <= ix.age_max[v])
    m &= (ix.age_min <= ix.age[v]) & (ix.age_max >= ix.age[v])
    m &= ((ix.district_ok[v] >> ix.district) & 1).astype(bool)
    m &= ((ix.district_ok >> ix.district[v]) & 1).astype(bool)
    m &= (ix.education >= ix.min_education[v]) & (ix.min_education <= ix.education[v])
    m &= (ix.income >= ix.min_income[v]) & (ix.min_income <= ix.income[v])
    m[v] = False
    return m


def part_values(ix: ClientIndex, v: int, rows: NDArray[np.int64]) -> dict[str, NDArray[np.float64]]:
    """The five parts other than credit, for client ``v`` and each candidate row."""
    both = np.bitwise_count(ix.interests[rows] & ix.interests[v]).astype(np.float64)
    either = np.bitwise_count(ix.interests[rows] | ix.interests[v]).astype(np.float64)
    return {
        "interests": np.divide(both, either, out=np.zeros_like(both), where=either > 0),
        "age": np.maximum(0.0, 1.0 - np.abs(ix.age[rows] - ix.age[v]) / AGE_SPAN),
        "district": _DISTRICT_SCORES[ix.district[v], ix.district[rows]],
        "education": 1.0 - np.abs(ix.education[rows] - ix.education[v]) / EDUCATION_SPAN,
        "job": _JOB_SCORES[ix.job[rows] - 1],
    }


def rank(
    ix: ClientIndex,
    client_id: int,
    *,
    lookup: Lookup,
    tiers: Tiers,
    limit: int = 20,
    weights: Weights | None = None,
) -> Ranking:
    """The ``limit`` best candidates for ``client_id``, best first (ties: lower client id first)."""
    w, limit = weights or Weights(), max(1, limit)
    v = ix.row_of[client_id]
    mask = mutual_mask(ix, v)
    asked = 0
    viewer_badge = None
    # Candidates' minimum tiers apply to the client only if the client shares a tier.
    if ix.consent[v] and (ix.min_tier[mask] > 0).any():
        viewer_badge = lookup([str(ix.subject_id[v])]).get(str(ix.subject_id[v]))
        asked += 1
        viewer_rank = tiers.rank(viewer_badge.tier) if viewer_badge else 0
        if viewer_rank:
            mask &= ix.min_tier <= viewer_rank
    rows = np.flatnonzero(mask)
    values = part_values(ix, v, rows)
    base = np.zeros(rows.size)
    for p in PARTS[:-1]:
        base += getattr(w, p) * values[p]
    full, rest = w.without_credit() + w.credit, w.without_credit()
    sharing = ix.consent[rows].copy()
    exact = np.where(sharing, np.nan, base / rest)
    low, high = base / full, (base + w.credit) / full
    resolved, alive = ~sharing, np.ones(rows.size, dtype=bool)
    badges: dict[int, Badge] = {}
    min_tier = int(ix.min_tier[v])
    excluded = 0
    while True:
        known = np.where(resolved, exact, low)
        live = np.flatnonzero(alive)
        threshold = -np.inf if live.size <= limit else np.partition(known[live], live.size - limit)[live.size - limit]
        need = np.flatnonzero(alive & ~resolved & (high >= threshold))
        if need.size == 0:
            break
        subjects = [str(s) for s in ix.subject_id[rows[need]]]
        answers = lookup(subjects)
        asked += len(subjects)
        for j, sid in zip(need.tolist(), subjects, strict=True):
            badge = answers.get(sid)
            resolved[j] = True
            if badge is None:  # the registry has no decision for them: no credit signal, as if not shared
                exact[j] = base[j] / rest
                continue
            badges[j] = badge
            rank_ = tiers.rank(badge.tier)
            if min_tier and rank_ and rank_ < min_tier:
                alive[j] = False
                excluded += 1
                continue
            exact[j] = (base[j] + w.credit * badge.granted) / full
    final = np.flatnonzero(alive & resolved)
    order = np.lexsort((ix.client_id[rows[final]], -exact[final]))[:limit]
    matches = []
    for j in final[order].tolist():
        matches.append(_explain(ix, v, int(rows[j]), j, values, w, bool(sharing[j]), badges.get(j), float(exact[j])))
    return Ranking(int(client_id), int(rows.size), matches, asked, excluded, viewer_badge)


def _explain(
    ix: ClientIndex,
    v: int,
    row: int,
    j: int,
    values: dict[str, NDArray[np.float64]],
    w: Weights,
    shared: bool,
    badge: Badge | None,
    score: float,
) -> Match:
    counted = shared and badge is not None  # the credit part exists only with the registry's answer
    total = w.without_credit() + (w.credit if counted else 0.0)
    common = int(ix.interests[v] & ix.interests[row])
    facts: dict[str, dict[str, Any]] = {
        "interests": {
            "shared": [i.id for k, i in enumerate(INTERESTS) if common >> k & 1],
            "either": int(np.bitwise_count(ix.interests[v] | ix.interests[row])),
        },
        "age": {"client": int(ix.age[v]), "candidate": int(ix.age[row])},
        "district": {
            "client": DISTRICTS[ix.district[v]].code,
            "candidate": DISTRICTS[ix.district[row]].code,
            "km": district_km(DISTRICTS[ix.district[v]].code, DISTRICTS[ix.district[row]].code),
        },
        "education": {"client": EDUCATION[ix.education[v] - 1].id, "candidate": EDUCATION[ix.education[row] - 1].id},
        "job": {"candidate": JOB_STATUSES[ix.job[row] - 1].id},
        "credit": {
            "shared": shared,
            "granted": badge.granted if badge else None,
            "tier": badge.tier if badge else None,
        },
    }
    parts = []
    for p in PARTS:
        weight = getattr(w, p)
        if p == "credit":
            value = float(badge.granted) if counted and badge is not None else None
        else:
            value = float(values[p][j])
        eff = weight / total if value is not None else 0.0
        parts.append(PartContribution(p, weight, eff, value, eff * (value or 0.0), facts[p]))
    return Match(int(ix.client_id[row]), score, shared, badge, tuple(parts))
