"""Drift between two runs of the same policy (docs/policy-lab.md): the population stability index (PSI) of the score
distribution and of every rule's hit rate. A PSI above :data:`ALERT` is an alert (the operator dashboard shows it;
``socialcredit policy drift RUN_A RUN_B`` prints it).

PSI = Σ (b − a) · ln(b / a) over bins, where a and b are the shares of subjects in each bin in the first and the
second run; a share of 0 counts as :data:`EPSILON`, so an empty bin adds a large but finite term. Both runs' scores
fall in the same :data:`SCORE_BINS` bins of equal width over one common scale, the range of both runs' policy versions
(the lower ``scale.min`` to the higher ``scale.max``, the last bin closed), stated in the report. A rule's hit rate is
a distribution of two bins: subjects with a record the rule counts (hits > 0), and the rest. A rule in only one of
the two runs (the policy version changed) has no drift: it is reported as added (only in the second run) or removed
(only in the first), never as an alert.

>>> round(psi([0.5, 0.5], [0.25, 0.75]), 4)
0.2747
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from socialcredit.errors import NotFoundError, WorkflowError
from socialcredit.registry.scoring.policies import get_policy
from socialcredit.store import Store, run_rows

__all__ = ["ALERT", "EPSILON", "SCORE_BINS", "latest_drift", "psi", "run_drift"]

ALERT = 0.25
EPSILON = 1e-4
SCORE_BINS = 20


def psi(expected: Sequence[float], actual: Sequence[float], eps: float = EPSILON) -> float:
    """The PSI of two distributions over the same bins (shares, each summing to 1)."""
    if len(expected) != len(actual):
        raise ValueError("the two distributions need the same bins")
    total = 0.0
    for a, b in zip(expected, actual, strict=True):
        a_, b_ = max(a, eps), max(b, eps)
        total += (b_ - a_) * math.log(b_ / a_)
    return total


def _shares(counts: Sequence[int]) -> list[float]:
    n = sum(counts)
    return [c / n if n else 0.0 for c in counts]


def _run(store: Store, run_id: int) -> dict[str, Any]:
    rows = store.rows("SELECT * FROM score_runs WHERE run_id = ? AND finished_at IS NOT NULL", [run_id])
    if not rows:
        raise NotFoundError(f"no finished score run {run_id}")
    return rows[0]


def _score_counts(store: Store, run_id: int, lo: float, hi: float) -> list[int]:
    width = (hi - lo) / SCORE_BINS
    found = dict(
        store.execute(
            "SELECT least(greatest(floor((score - ?) / ?), 0), ?)::INTEGER AS b, count(*) "
            f"FROM {run_rows(store, 'run_results', run_id)} GROUP BY b",
            [lo, width, SCORE_BINS - 1],
        ).fetchall()
    )
    return [int(found.get(b, 0)) for b in range(SCORE_BINS)]


def _hits(store: Store, run_id: int) -> dict[str, int]:
    """Every rule of the run (a rule with no point row counts 0 hits) and its subjects with hits > 0."""
    rules = dict.fromkeys(
        (str(r[0]) for r in store.execute("SELECT rule_id FROM run_rules WHERE run_id = ?", [run_id]).fetchall()), 0
    )
    return rules | {
        str(r[0]): int(r[1])
        for r in store.execute(
            "SELECT r.rule_id, count(*) FILTER (WHERE p.hits > 0) "
            f"FROM {run_rows(store, 'run_points', run_id)} p JOIN run_rules r USING (run_id, rule_index) GROUP BY 1",
        ).fetchall()
    }


def run_drift(store: Store, run_a: int, run_b: int) -> dict[str, Any]:
    """The PSI of scores (over both runs' common scale) and of the hit rate of every rule in both runs from run
    ``run_a`` to run ``run_b`` (same policy id), the rules added and removed between them, and the alerts (PSI above
    :data:`ALERT`)."""
    a, b = _run(store, run_a), _run(store, run_b)
    if a["policy_id"] != b["policy_id"]:
        raise WorkflowError(
            f"run {run_a} is of policy {a['policy_id']} and run {run_b} of {b['policy_id']}: drift compares two runs "
            "of the same policy",
            code="different_policies",
        )
    scale_a = get_policy(store, a["policy_id"], a["policy_version"]).policy.scale
    scale_b = get_policy(store, b["policy_id"], b["policy_version"]).policy.scale
    lo, hi = float(min(scale_a.min, scale_b.min)), float(max(scale_a.max, scale_b.max))
    counts_a, counts_b = _score_counts(store, run_a, lo, hi), _score_counts(store, run_b, lo, hi)
    score_psi = psi(_shares(counts_a), _shares(counts_b))
    n_a, n_b = int(a["n_subjects"] or 0), int(b["n_subjects"] or 0)
    hits_a, hits_b = _hits(store, run_a), _hits(store, run_b)
    rules: list[dict[str, Any]] = []
    for rule in sorted(set(hits_a) & set(hits_b)):
        ra = hits_a.get(rule, 0) / n_a if n_a else 0.0
        rb = hits_b.get(rule, 0) / n_b if n_b else 0.0
        value = psi([ra, 1 - ra], [rb, 1 - rb])
        rules.append({"rule": rule, "hit_rate_a": ra, "hit_rate_b": rb, "psi": value, "alert": value > ALERT})
    rules.sort(key=lambda r: (-r["psi"], r["rule"]))
    width = (hi - lo) / SCORE_BINS
    alerts = ([{"what": "score", "rule": None, "psi": score_psi}] if score_psi > ALERT else []) + [
        {"what": f"rule {r['rule']}", "rule": r["rule"], "psi": r["psi"]} for r in rules if r["alert"]
    ]
    return {
        "policy": b["policy_id"],
        "run_a": {"run_id": run_a, "version": a["policy_version"], "as_of": a["as_of"].isoformat(), "subjects": n_a},
        "run_b": {"run_id": run_b, "version": b["policy_version"], "as_of": b["as_of"].isoformat(), "subjects": n_b},
        "threshold": ALERT,
        "epsilon": EPSILON,
        "score": {
            "psi": score_psi,
            "alert": score_psi > ALERT,
            "scale": {"lo": lo, "hi": hi},
            "bins": [
                {"lo": lo + i * width, "hi": lo + (i + 1) * width, "a": counts_a[i], "b": counts_b[i]}
                for i in range(SCORE_BINS)
            ],
        },
        "rules": rules,
        "added": sorted(set(hits_b) - set(hits_a)),
        "removed": sorted(set(hits_a) - set(hits_b)),
        "alerts": alerts,
    }


def latest_drift(store: Store) -> list[dict[str, Any]]:
    """Per policy with two ordinary finished runs or more: the drift from the one before its run in force to it (a
    what-if, a rerun, a past-dated run or one behind is no change of the scores in force)."""
    rows = store.rows(
        "SELECT policy_id, list(run_id ORDER BY run_id DESC)[1:2] AS last_two FROM score_runs "
        "WHERE finished_at IS NOT NULL AND standing = 'ordinary' "
        "GROUP BY policy_id HAVING count(*) >= 2 ORDER BY policy_id"
    )
    return [run_drift(store, int(r["last_two"][1]), int(r["last_two"][0])) for r in rows]
