"""A points scorecard learned from outcomes with optbinning, beside a plain logistic regression on the same features.

optbinning (and scikit-learn, pandas) are imported when a scorecard is fitted, not when socialcredit is imported.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from socialcredit.errors import InvalidRequestError
from socialcredit.scorecard.data import Outcomes
from socialcredit.scorecard.options import Scale, check_holdout, scale_from_options

if TYPE_CHECKING:
    from optbinning import Scorecard

__all__ = ["PROXY_THRESHOLD", "Bin", "Fitted", "Scale", "fit_scorecard", "scale_from_options"]

# A feature whose association with a protected attribute (Cramér's V over the feature's bins and the attribute's
# values, age in bands) is above this is reported as a proxy of it. 0.3 is the usual "moderate" association.
PROXY_THRESHOLD = 0.3
AGE_BANDS = (0, 30, 45, 60, 200)


@dataclass(frozen=True)
class Bin:
    """One bin of a feature: its index in optbinning's table, what it holds, its counts, event rate and points.

    ``kind`` is ``range`` (``low`` ≤ x < ``high``, either open), ``values`` (categories), ``missing`` or ``special``.
    """

    feature: str
    index: int
    kind: str
    low: float | None
    high: float | None
    values: tuple[str, ...]
    count: int
    event_rate: float
    points: float


@dataclass
class Fitted:
    """A fitted scorecard: optbinning's, its bins, the holdout's metrics beside the plain regression's, proxies."""

    outcomes: Outcomes
    scorecard: Scorecard
    scale: Scale
    bins: dict[str, list[Bin]]
    train_index: pd.Index
    holdout_index: pd.Index
    metrics: dict[str, float]
    baseline: dict[str, float]
    proxies: list[dict[str, Any]]
    monotonic: dict[str, str]
    seed: int
    holdout: float

    def score(self, X: pd.DataFrame) -> np.ndarray:
        """optbinning's own score of the rows of ``X`` (``Scorecard.score``)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(self.scorecard.score(X), dtype=np.float64)


def _metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import roc_auc_score, roc_curve

    auc = float(roc_auc_score(y, p))
    fpr, tpr, _ = roc_curve(y, p)
    return {"auc": round(auc, 4), "ks": round(float(np.max(tpr - fpr)), 4), "gini": round(2 * auc - 1, 4)}


def fit_scorecard(
    outcomes: Outcomes,
    *,
    monotonic: dict[str, str] | None = None,
    holdout: float = 0.3,
    seed: int = 0,
    scale: Scale | None = None,
) -> Fitted:
    """Fit optbinning's BinningProcess (with the monotonic trends asked for) and a logistic regression on the
    training rows, scaled to ``scale``; measure AUC, KS and Gini on the holdout, and a plain logistic regression's
    (numbers standardised, categories one-hot, missing values imputed and flagged) on the same features."""
    from optbinning import BinningProcess, Scorecard
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    scale = scale or Scale("min_max")
    trends = dict(monotonic or {})
    for column in trends:
        if column not in outcomes.features:
            raise InvalidRequestError(
                f"--monotonic names {column!r}, which is not a feature", code="unknown_column", field="monotonic"
            )
        if column in outcomes.categorical and trends[column] != "auto":
            raise InvalidRequestError(
                f"--monotonic {column}={trends[column]}: {column!r} is categorical; its bins have no order "
                "(use auto, or leave it out)",
                code="invalid_option",
                field="monotonic",
            )
    check_holdout(holdout)
    X, y = outcomes.X, outcomes.y
    events = int(y.sum())
    if min(events, len(y) - events) < 10:
        raise InvalidRequestError(
            f"{outcomes.path}: {min(events, len(y) - events)} rows of the rarer outcome; a scorecard and its holdout "
            "need at least 10 of each",
            code="too_few_rows",
        )
    train, test = train_test_split(X.index, test_size=holdout, random_state=seed, stratify=y)
    for feature in outcomes.features:
        if X.loc[train, feature].nunique(dropna=True) < 2:
            raise InvalidRequestError(
                f"{outcomes.path}: feature {feature!r} takes fewer than two values in the {len(train)} training rows; "
                "it cannot tell outcomes apart. Leave it out with --exclude",
                code="feature_constant",
                field=feature,
            )
    params = {c: {"monotonic_trend": t} for c, t in trends.items() if t != "auto"}
    process = BinningProcess(
        variable_names=outcomes.features,
        categorical_variables=outcomes.categorical,
        binning_fit_params=params or None,
    )
    card = Scorecard(
        binning_process=process,
        estimator=LogisticRegression(max_iter=2000),
        scaling_method=scale.method,
        scaling_method_params=scale.params(),
    )
    with warnings.catch_warnings():
        # optbinning and scikit-learn warn of their own future deprecations; none is about this fit.
        warnings.simplefilter("ignore")
        try:
            card.fit(X.loc[train], y.loc[train].to_numpy())
        except ValueError as exc:  # the library's own refusal of data it cannot bin or fit
            first = next(iter(str(exc).splitlines()), type(exc).__name__)
            raise InvalidRequestError(
                f"{outcomes.path}: optbinning cannot fit these rows: {first}", code="fit_failed"
            ) from None
        points = card.table(style="summary")["Points"].to_numpy(dtype=np.float64)
        if not np.isfinite(points).all():
            # every bin of every feature has the same weight of evidence: the scale has no range to spread over
            raise InvalidRequestError(
                f"{outcomes.path}: no feature tells the outcomes apart in the {len(train)} training rows (every bin "
                "has the same event rate), so there are no points to give; add rows or features",
                code="no_signal",
            )
        # Measured on the score itself (higher is safer), as the exported policy gives it: the same ranking as the
        # model's probability, and defined for a category the training rows never had (optbinning's predict_proba
        # gives it no value; its score gives it the Missing bin's points).
        metrics = _metrics(y.loc[test].to_numpy(), -np.asarray(card.score(X.loc[test]), dtype=np.float64))
        baseline = _baseline(outcomes, train, test)
        bins = _bins(card, outcomes)
        proxies = _proxies(card, outcomes)
    return Fitted(outcomes, card, scale, bins, train, test, metrics, baseline, proxies, trends, seed, holdout)


def _baseline(outcomes: Outcomes, train: pd.Index, test: pd.Index) -> dict[str, float]:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    parts = []
    if outcomes.numeric:
        num = make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler())
        parts.append(("numbers", num, outcomes.numeric))
    if outcomes.categorical:
        cat = make_pipeline(
            SimpleImputer(strategy="constant", fill_value="(missing)"), OneHotEncoder(handle_unknown="ignore")
        )
        parts.append(("categories", cat, outcomes.categorical))
    model = Pipeline([("features", ColumnTransformer(parts)), ("regression", LogisticRegression(max_iter=2000))])
    X = outcomes.X.copy()
    for c in outcomes.categorical:
        X[c] = X[c].astype(object).where(X[c].notna(), np.nan)
    model.fit(X.loc[train], outcomes.y.loc[train].to_numpy())
    return _metrics(outcomes.y.loc[test].to_numpy(), model.predict_proba(X.loc[test])[:, 1])


def _bins(card: Scorecard, outcomes: Outcomes) -> dict[str, list[Bin]]:
    """Each feature's bins in the order of optbinning's table (the indices ``Scorecard.score`` uses): its bins,
    then Special, then Missing."""
    table = card.table(style="detailed")
    out: dict[str, list[Bin]] = {}
    for feature in outcomes.features:
        rows = table[table["Variable"] == feature].reset_index(drop=True)
        optb = card.binning_process_.get_binned_variable(feature)
        splits = list(optb.splits)
        n = len(rows) - 2  # the regular bins; then Special and Missing
        bins = []
        for i in range(len(rows)):
            row = rows.iloc[i]
            low = high = None
            values: tuple[str, ...] = ()
            if i >= n:
                kind = "special" if i == n else "missing"
            elif feature in outcomes.categorical:
                kind = "values"
                values = tuple(sorted(str(v) for v in splits[i]))
            else:
                kind = "range"
                low = float(splits[i - 1]) if i > 0 else None
                high = float(splits[i]) if i < len(splits) else None
            bins.append(
                Bin(
                    feature,
                    i,
                    kind,
                    low,
                    high,
                    values,
                    int(row["Count"]),
                    float(row["Event rate"]),
                    float(row["Points"]),
                )
            )
        out[feature] = bins
    return out


def _cramers_v(a: pd.Series, b: pd.Series) -> float:
    table = pd.crosstab(a, b)
    if table.shape[0] < 2 or table.shape[1] < 2:
        return 0.0
    observed = table.to_numpy(dtype=np.float64)
    n = observed.sum()
    expected = observed.sum(axis=1, keepdims=True) @ observed.sum(axis=0, keepdims=True) / n
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    return math.sqrt(chi2 / (n * (min(observed.shape) - 1)))


def _protected_values(series: pd.Series, kind: str) -> pd.Series:
    """A protected column as categories: age (a number, a birth date or a birth year) in bands."""
    if kind != "age":
        return series.astype(str).where(series.notna(), "(missing)")
    number = pd.to_numeric(series, errors="coerce")
    if number.isna().all():
        years = pd.to_datetime(series, errors="coerce").dt.year
        number = pd.Timestamp.today().year - years
    elif number.dropna().gt(1900).all():
        number = pd.Timestamp.today().year - number
    return pd.cut(number, AGE_BANDS, right=False).astype(str)


def _proxies(card: Scorecard, outcomes: Outcomes) -> list[dict[str, Any]]:
    """Every feature's association with every protected attribute present in the file (Cramér's V over the
    feature's bins), largest first; ``proxy`` is true above :data:`PROXY_THRESHOLD`."""
    if outcomes.aside.empty:
        return []
    indices = card.binning_process_.transform(outcomes.X, metric="indices")
    out = []
    for column, kind in outcomes.protected.items():
        values = _protected_values(outcomes.aside[column], kind)
        for feature in outcomes.features:
            v = _cramers_v(indices[feature].reset_index(drop=True), values.reset_index(drop=True))
            out.append(
                {
                    "feature": feature,
                    "protected": column,
                    "attribute": kind,
                    "cramers_v": round(v, 4),
                    "proxy": v > PROXY_THRESHOLD,
                }
            )
    return sorted(out, key=lambda r: -float(r["cramers_v"]))
