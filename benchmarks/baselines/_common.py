"""Small pieces the per-record baselines share: reading subjects, ages, the percentile.

Nothing here is clever; it exists so that ``python_baseline`` and ``zen_baseline`` differ only in how a
condition is evaluated.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from socialcredit.policy.model import Policy

__all__ = [
    "MICRO",
    "Subject",
    "age_years",
    "birth_date",
    "consent_needed",
    "from_micro",
    "micro",
    "percentile",
    "read_subjects",
]

# The engine sums points as integers of micro-points (socialcredit/compiler/plan.py, MICRO): each record's decayed
# points rounded half up to the millionth, a rule's and a dimension's sums exact. The baselines do the same.
MICRO = 1_000_000


def micro(points: float) -> int:
    """``points`` in micro-points, rounded half up: floor(points * 1000000 + 0.5) in double arithmetic."""
    return math.floor(points * MICRO + 0.5)


def from_micro(micro_points: int) -> float:
    """A sum of micro-points as points (the double nearest the integer, divided by a million)."""
    return float(micro_points) / MICRO


@dataclass
class Subject:
    subject_id: str
    kind: str
    profession: str | None
    birth_date: dt.date | None
    consents: set[str] = field(default_factory=set)


def birth_date(subject_id: str) -> dt.date:
    """The birth date a resident identity number carries in characters 7-14 (YYYYMMDD)."""
    return dt.date(int(subject_id[6:10]), int(subject_id[10:12]), int(subject_id[12:14]))


def age_years(born: dt.date | None, as_of: dt.date) -> int | None:
    """Completed years of age on ``as_of`` (None for organisations)."""
    if born is None:
        return None
    return as_of.year - born.year - (0 if (as_of.month, as_of.day) >= (born.month, born.day) else 1)


def percentile(at_or_below: int, total: int) -> float:
    """Percent of ``total`` subjects that ``at_or_below`` make, rounded half up to hundredths, with integers.

    round(10000 * at_or_below / total) hundredths, half up, is (20000 * at_or_below + total) // (2 * total);
    then that number divided by 100 (Python's division is correctly rounded, as DuckDB's of a DOUBLE by 100),
    as the engine does (``_RANKED_SQL`` in socialcredit/compiler/plan.py). Rounding 100 * at_or_below / total
    as a double instead gives a different last digit wherever the exact value ends in 5.
    """
    return ((20000 * at_or_below + total) // (2 * total)) / 100


def consent_needed(policy: Policy, as_of: dt.date) -> set[str]:
    """Data categories counted only for subjects who opted in, on ``as_of``."""
    consent = policy.consent
    if consent.mandatory_from is not None and as_of >= consent.mandatory_from:
        return set()
    return set(consent.categories)


def read_subjects(folder: Path, policy: Policy) -> dict[str, Subject]:
    """Every subject of subjects/*.parquet of the policy's kind; organisations are those in orgs.parquet."""
    subjects: dict[str, Subject] = {}
    for path in sorted((folder / "subjects").glob("*.parquet")):
        kind = "org" if path.stem == "orgs" else "person"
        if policy.kind not in ("all", kind):
            continue
        table = pq.read_table(path, columns=["subject_id", "profession"])
        for sid, profession in zip(
            table.column("subject_id").to_pylist(), table.column("profession").to_pylist(), strict=True
        ):
            subjects[sid] = Subject(sid, kind, profession, birth_date(sid) if kind == "person" else None)
    consents = folder / "consents.parquet"
    if policy.consent.categories and consents.exists():
        # The latest entry per subject and category counts (the file is in the order consents were given).
        latest: dict[tuple[str, str], bool] = {}
        for row in pq.read_table(consents).to_pylist():
            latest[(row["subject_id"], row["category"])] = bool(row["granted"])
        for (sid, category), granted in latest.items():
            if granted and sid in subjects:
                subjects[sid].consents.add(category)
    return subjects
