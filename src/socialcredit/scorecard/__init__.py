"""Scorecards learned from outcomes (``socialcredit scorecard fit``; docs/scorecard.md).

An outcome file (CSV or Parquet: a binary target, numeric and categorical features) is read and checked
(:mod:`.data`), a points scorecard is fitted with optbinning beside a plain logistic regression (:mod:`.fit`), and
exported as a policy whose rules give each bin's points (:mod:`.export`); the engine scores the holdout under that
policy and the report gives the largest difference from optbinning's own scores.

The names below are imported from their modules when first asked for: the command's options are checked
(:mod:`.options`) and refused without pandas, numpy or optbinning being loaded.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from socialcredit.scorecard.data import LIMITS, PROFILES, Outcomes, read_outcomes
    from socialcredit.scorecard.fit import PROXY_THRESHOLD, Fitted, fit_scorecard
    from socialcredit.scorecard.job import FitResult, fit_outcomes
    from socialcredit.scorecard.options import EXIT_CODES, Scale, parse_monotonic, scale_from_options

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

# Each name's module.
_WHERE = {
    "EXIT_CODES": "options",
    "Scale": "options",
    "parse_monotonic": "options",
    "scale_from_options": "options",
    "LIMITS": "data",
    "PROFILES": "data",
    "Outcomes": "data",
    "read_outcomes": "data",
    "PROXY_THRESHOLD": "fit",
    "Fitted": "fit",
    "fit_scorecard": "fit",
    "FitResult": "job",
    "fit_outcomes": "job",
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{where}"), name)
