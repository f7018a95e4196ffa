"""One `scorecard fit`: read, fit, export, let the engine score the holdout under the export, report."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from socialcredit.errors import InvalidRequestError
from socialcredit.policy.load import parse_policy
from socialcredit.policy.model import check_id
from socialcredit.scorecard.data import check_holdout, read_outcomes
from socialcredit.scorecard.export import engine_scores, policy_yaml, slugs
from socialcredit.scorecard.fit import PROXY_THRESHOLD, Fitted, Scale, fit_scorecard

__all__ = ["FitResult", "fit_outcomes"]


@dataclass
class FitResult:
    """A fitted scorecard, its policy's text and the report (a JSON-ready dict)."""

    fitted: Fitted
    policy_text: str
    report: dict[str, Any]


def fit_outcomes(
    path: Path | str,
    target: str,
    *,
    features: list[str] | None = None,
    exclude: list[str] | None = None,
    event: str | None = None,
    id_column: str | None = None,
    monotonic: dict[str, str] | None = None,
    holdout: float = 0.3,
    seed: int = 0,
    scale: Scale | None = None,
    profile: str = "cn",
    policy_id: str = "scorecard",
) -> FitResult:
    """Fit a scorecard on the outcome file at ``path`` and export it as a policy; the report's ``engine`` gives the
    largest difference between the engine's scores of the holdout under that policy and optbinning's."""
    check_holdout(holdout)
    try:  # before the fit (minutes on a large file): the exported policy's id
        check_id(policy_id)
    except ValueError as exc:
        raise InvalidRequestError(f"--policy-id: {exc}", code="invalid_option", field="policy_id") from None
    outcomes = read_outcomes(
        path, target, features=features, exclude=exclude, event=event, id_column=id_column, profile=profile
    )
    fitted = fit_scorecard(outcomes, monotonic=monotonic, holdout=holdout, seed=seed, scale=scale)
    text = policy_yaml(fitted, policy_id=policy_id)
    loaded = parse_policy(text, f"<scorecard {policy_id}>")
    X_holdout = outcomes.X.loc[fitted.holdout_index]
    ours = fitted.score(X_holdout)
    engine = engine_scores(fitted, loaded, X_holdout)
    diff = np.abs(engine - ours)
    names = slugs(outcomes.features)
    report = {
        "outcomes": str(outcomes.path),
        "sha256": hashlib.sha256(outcomes.path.read_bytes()).hexdigest(),
        "target": outcomes.target,
        "event": outcomes.event,
        "rows": len(outcomes.y),
        "event_rate": round(float(outcomes.y.mean()), 4),
        "train_rows": len(fitted.train_index),
        "holdout_rows": len(fitted.holdout_index),
        "holdout": holdout,
        "seed": seed,
        "scale": {"method": fitted.scale.method, **fitted.scale.params()},
        "features": [
            {
                "column": f,
                "feature": names[f],
                "kind": "numeric" if f in outcomes.numeric else "categorical",
                "monotonic": fitted.monotonic.get(f, "auto"),
            }
            for f in outcomes.features
        ],
        "scorecard": fitted.metrics,
        "logistic_regression": fitted.baseline,
        "bins": {
            f: [
                {
                    "bin": b.index + 1,
                    "kind": b.kind,
                    "low": b.low,
                    "high": b.high,
                    "values": list(b.values),
                    "count": b.count,
                    "event_rate": round(b.event_rate, 4),
                    "points": round(b.points, 4),
                }
                for b in bins
                if b.kind != "special"
            ]
            for f, bins in fitted.bins.items()
        },
        "protected": outcomes.protected,
        "proxy_threshold": PROXY_THRESHOLD,
        "proxies": fitted.proxies,
        "policy": {
            "id": loaded.policy.id,
            "version": loaded.policy.version,
            "sha256": loaded.sha256,
            "rules": len(loaded.policy.rules),
        },
        "engine": {
            "subjects": len(diff),
            "max_difference": round(float(diff.max()), 6),
            "mean_difference": round(float(diff.mean()), 6),
        },
        "notes": outcomes.notes,
    }
    return FitResult(fitted, text, report)
