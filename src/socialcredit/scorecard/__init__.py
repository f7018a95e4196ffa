"""Scorecards learned from outcomes (``socialcredit scorecard fit``; docs/scorecard.md).

An outcome file (CSV or Parquet: a binary target, numeric and categorical features) is read and checked
(:mod:`.data`), a points scorecard is fitted with optbinning beside a plain logistic regression (:mod:`.fit`), and
exported as a policy whose rules give each bin's points (:mod:`.export`); the engine scores the holdout under that
policy and the report gives the largest difference from optbinning's own scores.
"""

from __future__ import annotations

from socialcredit.scorecard.data import EXIT_CODES, LIMITS, PROFILES, Outcomes, parse_monotonic, read_outcomes
from socialcredit.scorecard.fit import PROXY_THRESHOLD, Fitted, Scale, fit_scorecard, scale_from_options
from socialcredit.scorecard.job import FitResult, fit_outcomes

__all__ = [
    "EXIT_CODES",
    "LIMITS",
    "PROFILES",
    "PROXY_THRESHOLD",
    "FitResult",
    "Fitted",
    "Outcomes",
    "Scale",
    "fit_outcomes",
    "fit_scorecard",
    "parse_monotonic",
    "read_outcomes",
    "scale_from_options",
]
