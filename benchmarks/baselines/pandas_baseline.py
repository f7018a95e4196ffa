"""Baseline: the straightforward pandas implementation a data analyst would write.

Reads every Parquet file of the population folder with ``pandas.read_parquet`` (subjects/*.parquet, all of
records/*/*.parquet concatenated, consents.parquet when the policy has consent categories), then, rule by
rule: a boolean mask (the rule's condition translated from the policy's condition tree into pandas
operations, plus the date, window, expiry, profession and consent filters), per-record points with decay,
``groupby`` per subject, caps; then dimension clamps, totals, scores, tiers, ``rank(method='min')`` within
kind, percentiles and lists. Generic over the policy language (beijing and sesame both); no optimisation
beyond what idiomatic pandas gives.

Conditions follow SQL's three-valued logic, as the engine does: comparisons give pandas' nullable
``boolean`` (NA when an operand is missing), whose ``& | ~`` are Kleene logic; only True counts.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from socialcredit.catalog import load_catalog
from socialcredit.policy import LoadedPolicy
from socialcredit.policy import expr as x

from ._common import MICRO, micro

__all__ = ["condition_mask", "percentile", "score"]

_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_ARITH: dict[str, Callable[[Any, Any], Any]] = {"+": operator.add, "-": operator.sub, "*": operator.mul}
_PERIOD = {"month": "M", "quarter": "Q", "year": "Y"}


def percentile(cum: pd.Series, total: pd.Series) -> pd.Series:
    """Percent of the kind at or below the score, rounded half up to hundredths, computed with integers.

    ``cum`` subjects of ``total`` score at or below: round(10000 * cum / total) hundredths, half up, is
    (20000 * cum + total) // (2 * total); then that number divided by 100 as a double, as the engine does
    (``_RANKED_SQL`` in socialcredit/compiler/plan.py).
    """
    cum, total = cum.astype("int64"), total.astype("int64")
    return ((20000 * cum + total) // (2 * total)) / 100


def condition_mask(
    node: x.Node,
    resolve: Callable[[str], pd.Series],
    index: pd.Index,
    tier_rank: Mapping[str, int] | None = None,
) -> pd.Series:
    """A checked condition as a boolean Series over ``index``: True where it holds (NA and False do not)."""
    ranks = tier_rank or {}

    def series(value: Any) -> pd.Series:
        return value if isinstance(value, pd.Series) else pd.Series([value] * len(index), index=index)

    def isna(value: Any) -> Any:
        return value.isna() if isinstance(value, pd.Series) else pd.isna(value)

    def boolean(n: x.Node) -> pd.Series:
        return series(value(n)).astype("boolean")

    def literal(other: x.Node, lit: x.Lit) -> Any:
        if other.type == "tier" and isinstance(lit.value, str):
            return ranks[lit.value]
        if isinstance(lit.value, dt.date):
            return pd.Timestamp(lit.value)
        return lit.value

    def value(n: x.Node) -> Any:
        if isinstance(n, x.Lit):
            return pd.Timestamp(n.value) if isinstance(n.value, dt.date) else n.value
        if isinstance(n, x.Name):
            return resolve(n.name)
        if isinstance(n, x.Unary):
            return ~boolean(n.operand) if n.op == "not" else -value(n.operand)
        if isinstance(n, x.Binary):
            if n.op == "and":
                return boolean(n.left) & boolean(n.right)
            if n.op == "or":
                return boolean(n.left) | boolean(n.right)
            a = literal(n.right, n.left) if isinstance(n.left, x.Lit) else value(n.left)
            b = literal(n.left, n.right) if isinstance(n.right, x.Lit) else value(n.right)
            if n.op in _COMPARE:
                unknown = series(isna(a) | isna(b))
                return series(_COMPARE[n.op](a, b)).astype("boolean").mask(unknown)
            if n.op == "/":  # x / 0 is NULL, as in SQL
                b = b.where(b != 0) if isinstance(b, pd.Series) else (np.nan if b == 0 else b)
                return a / b
            return _ARITH[n.op](a, b)
        if isinstance(n, x.In):
            v = series(value(n.operand))
            values = [literal(n.operand, lit) for lit in n.values]
            hit = v.isin(values).astype("boolean").mask(v.isna())
            return ~hit if n.negated else hit
        if isinstance(n, x.IsNull):
            missing = series(isna(value(n.operand))).astype("boolean")
            return ~missing if n.negated else missing
        raise TypeError(type(n).__name__)

    return boolean(node).fillna(False).astype(bool)


def _read_subjects(folder: Path, loaded: LoadedPolicy, as_of: dt.date) -> pd.DataFrame:
    policy = loaded.policy
    frames = []
    for path in sorted((folder / "subjects").glob("*.parquet")):
        frame = pd.read_parquet(path, columns=["subject_id", "profession"])
        frame["kind"] = "org" if path.stem == "orgs" else "person"
        frames.append(frame)
    subjects = pd.concat(frames, ignore_index=True)
    if policy.kind != "all":
        subjects = subjects[subjects["kind"] == policy.kind].reset_index(drop=True)
    # Residents carry their birth date in the identity number (characters 7-14); organisations have none.
    born = pd.to_datetime(subjects["subject_id"].str[6:14].where(subjects["kind"] == "person"), format="%Y%m%d")
    had_birthday = as_of.month * 100 + as_of.day >= born.dt.month * 100 + born.dt.day
    subjects["age"] = as_of.year - born.dt.year - (~had_birthday).astype(int)
    consent = policy.consent
    voluntary = consent.mandatory_from is None or as_of < consent.mandatory_from
    categories = consent.categories if voluntary else []
    if categories:
        path = folder / "consents.parquet"
        given = pd.read_parquet(path) if path.exists() else pd.DataFrame(columns=["subject_id", "category", "granted"])
        latest = given.drop_duplicates(["subject_id", "category"], keep="last")
        for category in categories:
            opted = latest.loc[(latest["category"] == category) & latest["granted"].astype(bool), "subject_id"]
            subjects[f"consent_{category}"] = subjects["subject_id"].isin(opted)
    return subjects


def _read_records(folder: Path, subjects: pd.DataFrame, loaded: LoadedPolicy, as_of: dt.date) -> pd.DataFrame:
    catalog = load_catalog()
    files = sorted((folder / "records").glob("*/*.parquet"))
    records = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    records["event_date"] = pd.to_datetime(records["event_date"])
    for name, ftype in catalog.field_columns().items():
        if ftype == "date" and name in records.columns:
            records[name] = pd.to_datetime(records[name])
    records = records[records["event_date"] <= pd.Timestamp(as_of)]
    # Subject columns get a prefix: record types have fields called `kind` and `profession` too.
    subject_cols = (
        subjects.drop(columns=["age"]).add_prefix("subject_").rename(columns={"subject_subject_id": "subject_id"})
    )
    records = records.merge(subject_cols, on="subject_id", how="inner")
    records["age_days"] = (pd.Timestamp(as_of) - records["event_date"]).dt.days
    # A record of a consent category counts only for subjects who opted in (while enrollment is voluntary).
    records["consented"] = True
    for category in [c[len("consent_") :] for c in subjects.columns if c.startswith("consent_")]:
        types = [t for t, rt in catalog.record_types.items() if rt.category == category]
        in_category = records["record_type"].isin(types)
        records.loc[in_category, "consented"] = records.loc[in_category, f"subject_consent_{category}"]
    return records[records["consented"].astype(bool)]


def _record_mask(loaded: LoadedPolicy, key: str, recs: pd.DataFrame) -> pd.Series:
    node = loaded.condition(key)
    if node is None:
        return pd.Series(True, index=recs.index)

    def column(name: str) -> pd.Series:
        if name in recs.columns:
            return recs[name]
        return pd.Series(np.nan, index=recs.index)  # a field no file carried: NULL everywhere

    return condition_mask(node, column, recs.index)


def _rule_points(loaded: LoadedPolicy, by_type: dict[str, pd.DataFrame], as_of: dt.date) -> pd.DataFrame:
    parts = []
    for rule in loaded.policy.rules:
        recs = by_type.get(rule.record_type)
        if recs is None:
            continue
        m = _record_mask(loaded, f"rule:{rule.id}", recs)
        if rule.expires_after_days is not None:
            m &= recs["age_days"] < rule.expires_after_days
        if rule.window_days is not None:
            m &= recs["age_days"] < rule.window_days
        if rule.professions:
            m &= recs["subject_profession"].isin(rule.professions)
        hits = recs.loc[m, ["subject_id", "event_date"]]
        if rule.per != "occurrence":
            # One hit per calendar period, dated by the period's latest record.
            hits = (
                hits.assign(period=hits["event_date"].dt.to_period(_PERIOD[rule.per]))
                .groupby(["subject_id", "period"], as_index=False)["event_date"]
                .max()
            )
        age = (pd.Timestamp(as_of) - hits["event_date"]).dt.days.astype(float)
        # micro-points (integers, summed exactly, as the engine sums them: MICRO in _common)
        if rule.decay:
            decayed = rule.points * 2.0 ** (-age / rule.decay.half_life_days)
            points = np.floor(decayed * MICRO + 0.5).astype(np.int64)
        else:
            points = pd.Series(micro(rule.points), index=hits.index, dtype=np.int64)
        agg = (
            hits.assign(points=points)
            .groupby("subject_id")
            .agg(points=("points", "sum"), last_event=("event_date", "max"))
            .reset_index()
        )
        agg["points"] = agg["points"].astype(np.float64) / MICRO
        if rule.cap is not None:
            agg["points"] = agg["points"].clip(-rule.cap, rule.cap)
        agg["rule_id"], agg["dimension"] = rule.id, rule.dimension
        parts.append(agg)
    columns = ["subject_id", "points", "last_event", "rule_id", "dimension"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def score(folder: Path, loaded_policy: LoadedPolicy, as_of: dt.date) -> pd.DataFrame:
    """One row per subject: subject_id, kind, total, score, tier, rank, percentile and a flag per list."""
    loaded, policy, folder = loaded_policy, loaded_policy.policy, Path(folder)
    subjects = _read_subjects(folder, loaded, as_of)
    records = _read_records(folder, subjects, loaded, as_of)
    by_type = {str(t): frame for t, frame in records.groupby("record_type")}

    # -- rules: mask, decay, per subject, cap -----------------------------------------------------------
    points = _rule_points(loaded, by_type, as_of)

    # -- dimensions, total, score, tier ------------------------------------------------------------------
    out = subjects.set_index("subject_id")
    summed = points.assign(points=np.floor(points["points"] * MICRO + 0.5).astype(np.int64))
    dims = summed.pivot_table(index="subject_id", columns="dimension", values="points", aggfunc="sum")
    dims = dims.reindex(index=out.index, columns=[d.id for d in policy.dimensions]).fillna(0).astype(np.float64) / MICRO
    # the total in micro-points too, divided once, as the engine sums it (each clamped dimension back in micro-points)
    grand = pd.Series(float(policy.scale.base * MICRO), index=out.index)
    for d in policy.dimensions:
        out[f"d_{d.id}"] = dims[d.id].clip(lower=d.min, upper=d.max)
        grand = grand + np.floor(out[f"d_{d.id}"] * MICRO + 0.5)
    out["total"] = grand / MICRO
    out["score"] = np.floor((grand + MICRO // 2) / MICRO).clip(policy.scale.min, policy.scale.max).astype(int)
    tiers = sorted(policy.tiers, key=lambda t: -t.min)
    ids = policy.tier_ids()
    rank_of = {t: len(ids) - i for i, t in enumerate(ids)}
    out["tier"] = np.select([out["score"] >= t.min for t in tiers], [t.id for t in tiers], default="")
    out["tier_rank"] = out["tier"].map(rank_of)

    # -- rank and percentile within kind -----------------------------------------------------------------
    by_kind = out.groupby("kind")["score"]
    out["rank"] = by_kind.rank(method="min", ascending=False).astype(int)
    out["percentile"] = percentile(by_kind.rank(method="max"), by_kind.transform("size"))

    # -- lists -------------------------------------------------------------------------------------------
    negative = points[points["points"] < 0].groupby("subject_id")["last_event"].max()
    out["last_negative_days"] = (pd.Timestamp(as_of) - negative.reindex(out.index)).dt.days
    facts = {d.id: f"d_{d.id}" for d in policy.dimensions} | {"tier": "tier_rank"}
    for lst in policy.lists:
        on_list = pd.Series(False, index=out.index)
        for crit in lst.criteria:
            key = f"list:{lst.id}.{crit.id}"
            if crit.record is not None:
                recs = by_type.get(crit.record.record_type)
                if recs is None:
                    continue
                m = _record_mask(loaded, key, recs)
                if crit.record.within_days is not None:
                    m &= recs["age_days"] < crit.record.within_days
                on_list |= out.index.isin(recs.loc[m, "subject_id"])
            elif (node := loaded.condition(key)) is not None:
                view = out.reset_index()

                def fact(name: str, view: pd.DataFrame = view) -> pd.Series:
                    return view[facts.get(name, name)]

                on_list |= condition_mask(node, fact, view.index, rank_of).to_numpy()
        out[lst.id] = on_list

    columns = ["kind", "total", "score", "tier", "rank", "percentile"]
    columns += [f"d_{d.id}" for d in policy.dimensions] + [lst.id for lst in policy.lists]
    return out[columns].reset_index()
