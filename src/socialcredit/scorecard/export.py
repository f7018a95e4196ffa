"""A fitted scorecard as a policy of our language, the outcome rows as records, and the engine's check of the two.

Each feature of a subject becomes one ``scorecard_feature`` record (``feature`` names it; ``feature_number`` holds a
number, ``feature_text`` a category; both null when the value is missing), dated on the as-of date. Each bin becomes a
rule on those records whose condition is the bin's exact bounds; its points are the bin's points less the feature's
lowest, and the base is the sum of the lowest (the rest of it given by the first feature's rules), so that
base + Σ rule points is optbinning's score, and the engine's rounding of it is within half a point.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from socialcredit.policy.load import LoadedPolicy, parse_policy
from socialcredit.scorecard.fit import Bin, Fitted

__all__ = ["RECORD_TYPE", "SOURCE", "engine_scores", "policy_yaml", "slugs", "write_records"]

RECORD_TYPE = "scorecard_feature"
SOURCE = "scorecard_outcomes"
AS_OF = dt.date(2026, 11, 1)
MAX_CONDITION = 1900  # the language takes 2000 characters; a longer category bin is split into rules of its parts
_SLUG = re.compile(r"[^a-z0-9_]+")


def slugs(features: list[str]) -> dict[str, str]:
    """Each feature's name in rule ids and records: lower-case letters, digits and _, starting with a letter.

    >>> slugs(["Credit Amount", "2nd-loan", "credit_amount"])
    {'Credit Amount': 'credit_amount', '2nd-loan': 'f_2nd_loan', 'credit_amount': 'credit_amount_2'}
    """
    out: dict[str, str] = {}
    taken: set[str] = set()
    for feature in features:
        base = _SLUG.sub("_", feature.strip().lower()).strip("_") or "feature"
        if not base[0].isalpha():
            base = f"f_{base}"
        slug, k = base, 2
        while slug in taken:
            slug, k = f"{base}_{k}", k + 1
        taken.add(slug)
        out[feature] = slug
    return out


def _number(value: float) -> str:
    """A float as a literal of the condition language: no exponent, at most 18 characters (the language's bound on a
    number). The shortest decimal that reads back as the same double when it fits; else rounded to 18 characters
    (a split point below 1 with many digits moves by less than 10^-16; only a value that close to it changes bin).

    >>> _number(1960.9710083007812), _number(-0.000012345678901234567)
    ('1960.9710083007812', '-0.0000123456789012')
    """
    sign = "-" if value < 0 else ""
    text = np.format_float_positional(abs(value), unique=True, trim="-")
    precision = 17 - len(str(int(abs(value))))
    while len(text) > 18 and precision >= 0:
        text = np.format_float_positional(abs(value), precision=precision, unique=False, fractional=True, trim="-")
        precision -= 1
    return sign + text


def _text(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _shown(value: float) -> str:
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _values_shown(values: tuple[str, ...]) -> tuple[str, str]:
    head = ", ".join(values[:5])
    if len(values) <= 5:
        return head, "、".join(values)
    return f"{head} and {len(values) - 5} more", "、".join(values[:5]) + f"等{len(values)}项"


def _label(b: Bin, column: str) -> tuple[str, str]:
    """The bin in words (en, zh), e.g. "income 5,000–8,000 (bin 3)"."""
    if b.kind == "range":
        if b.low is None and b.high is None:
            en, zh = "any value", "任意值"
        elif b.low is None:
            en, zh = f"below {_shown(b.high or 0)}", f"低于 {_shown(b.high or 0)}"
        elif b.high is None:
            en, zh = f"{_shown(b.low)} or more", f"{_shown(b.low)} 及以上"
        else:
            en, zh = f"{_shown(b.low)}–{_shown(b.high)}", f"{_shown(b.low)}–{_shown(b.high)}"
    elif b.kind == "values":
        en, zh = _values_shown(b.values)
    else:
        en, zh = "missing or another value", "缺失或其他值"
    return f"{column} {en} (bin {b.index + 1})", f"{column}：{zh}（第{b.index + 1}档）"


def _conditions(b: Bin, slug: str, numeric: bool, known: tuple[str, ...]) -> list[str]:
    """The bin's exact condition on a ``scorecard_feature`` record; a category bin too long for one condition is
    split into several (a value is in exactly one of them)."""
    head = f"feature == {_text(slug)}"
    if b.kind == "range":
        parts = [head]
        if b.low is not None:
            parts.append(f"feature_number >= {_number(b.low)}")
        if b.high is not None:
            parts.append(f"feature_number < {_number(b.high)}")
        if len(parts) == 1:
            parts.append("feature_number is not null")
        return [" and ".join(parts)]
    if b.kind == "missing":
        if numeric:
            return [f"{head} and feature_number is null"]
        # optbinning gives a category it never saw in training the points of the Missing bin; the reader bounds a
        # feature's values (LIMITS["category_chars"]) so that this one list fits in a condition
        if not known:
            return [f"{head} and feature_text is null"]
        return [f"{head} and (feature_text is null or feature_text not in [{', '.join(_text(v) for v in known)}])"]
    return [f"{head} and feature_text in [{', '.join(_text(v) for v in c)}]" for c in _chunks(b.values, len(head))]


def _chunks(values: tuple[str, ...], used: int) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    current: list[str] = []
    size = used + 30
    for v in values:
        if current and size + len(_text(v)) + 2 > MAX_CONDITION:
            out.append(tuple(current))
            current, size = [], used + 30
        current.append(v)
        size += len(_text(v)) + 2
    if current:
        out.append(tuple(current))
    return out


def policy_yaml(fitted: Fitted, *, policy_id: str = "scorecard", version: str = "1") -> str:
    """The fitted scorecard as a policy (YAML text): one rule per bin (and part of a long category bin) with
    points other than the feature's lowest; loaded by our loader to check it (a refusal here is a bug)."""
    outcomes = fitted.outcomes
    names = slugs(outcomes.features)
    lowest = {f: min(b.points for b in fitted.bins[f] if b.kind != "special") for f in outcomes.features}
    floor_sum = math.fsum(lowest.values())
    base = math.floor(floor_sum + 1e-6)
    rest = floor_sum - base  # the first feature's rules carry the fraction the whole-number base leaves
    if abs(rest) < 1e-6:
        rest = 0.0  # rounding noise (349.9999999 is 350): no rule of a few billionths of a point
    rules: list[dict[str, Any]] = []
    for k, feature in enumerate(outcomes.features):
        slug = names[feature]
        known = tuple(sorted({v for b in fitted.bins[feature] for v in b.values}))
        for b in fitted.bins[feature]:
            if b.kind == "special":
                continue  # no special codes are given: optbinning's Special bin holds no one
            points = b.points - lowest[feature] + (rest if k == 0 else 0.0)
            if points == 0:
                continue
            en, zh = _label(b, feature)
            conditions = _conditions(b, slug, feature in outcomes.numeric, known)
            for part, when in enumerate(conditions):
                suffix = f"_part_{part + 1}" if len(conditions) > 1 else ""
                rules.append(
                    {
                        "id": f"{slug}.bin_{b.index + 1}{suffix}",
                        "record_type": RECORD_TYPE,
                        "when": when,
                        "dimension": "learned",
                        "points": float(points),
                        "reason": {
                            "code": f"SC_{slug.upper()}_B{b.index + 1}" + (f"_P{part + 1}" if suffix else ""),
                            "zh": zh,
                            "en": en,
                        },
                    }
                )
    highest = math.fsum(max(b.points for b in fitted.bins[f] if b.kind != "special") for f in outcomes.features)
    lo = min(base, math.floor(fitted.scale.min)) if fitted.scale.method == "min_max" else base
    hi = max(math.ceil(highest - 1e-6), base)
    if fitted.scale.method == "min_max":
        hi = max(hi, math.ceil(fitted.scale.max))
    tiers = _tiers(fitted, lo)
    doc = {
        "id": policy_id,
        "version": version,
        "name": {
            "zh": f"由结果数据学得的评分卡（{outcomes.target}）",
            "en": f"Scorecard learned from outcomes ({outcomes.target})",
        },
        "description": {
            "zh": f"由 socialcredit scorecard fit 从 {outcomes.path.name} 学得：每个特征分档计分，分数越高，"
            f"{outcomes.target} 事件的可能越低。",
            "en": f"Learned by socialcredit scorecard fit from {outcomes.path.name}: points per bin of each "
            f"feature; the higher the score, the less likely the event {outcomes.target}.",
        },
        "kind": "all",
        "scale": {"base": base, "min": lo, "max": hi},
        "tiers": tiers,
        "dimensions": [{"id": "learned", "name": {"zh": "学得的评分卡", "en": "learned scorecard"}}],
        "rules": rules,
    }
    text = (
        "# A scorecard learned from outcomes (socialcredit scorecard fit; docs/scorecard.md). Scored from\n"
        f"# `{RECORD_TYPE}` records, one per subject and feature: feature names the feature, feature_number holds a\n"
        "# number, feature_text a category (null when missing). Points are optbinning's less each feature's lowest.\n"
        + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=120)
    )
    parse_policy(text, f"<scorecard {policy_id}>")
    return text


def _tiers(fitted: Fitted, lowest: int) -> list[dict[str, Any]]:
    """Five grades at the training scores' quintiles (A best), the lowest from the bottom of the scale."""
    scores = fitted.score(fitted.outcomes.X.loc[fitted.train_index])
    cuts = sorted({round(float(q)) for q in np.quantile(scores, [0.8, 0.6, 0.4, 0.2])}, reverse=True)
    cuts = [c for c in cuts if c > lowest]
    ids = ["A", "B", "C", "D", "E"]
    out = [{"id": ids[i], "min": c} for i, c in enumerate(cuts)]
    out.append({"id": ids[len(cuts)], "min": lowest})
    return out


def _subject_ids(n: int) -> list[str]:
    """Row numbers laid out as 18 characters with a date at characters 7–14 (the generated layout reads a birth
    date there): row 12 is 000012197001010000."""
    return [f"{i % 1_000_000:06d}19700101{i // 1_000_000:04d}" for i in range(n)]


def write_records(fitted: Fitted, X: pd.DataFrame, folder: Path, as_of: dt.date = AS_OF) -> list[str]:
    """Write the rows of ``X`` as a generated population that ``socialcredit score POLICY --input FOLDER`` scores:
    ``subjects/part-00000.parquet`` and ``records/scorecard_outcomes/part-00000.parquet``, one record per row and
    feature. Returns the subject ids, in the order of the rows."""
    names = slugs(fitted.outcomes.features)
    ids = _subject_ids(len(X))
    (folder / "subjects").mkdir(parents=True, exist_ok=True)
    (folder / "records" / SOURCE).mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.table({"subject_id": ids, "profession": pa.nulls(len(ids), pa.string())}),
        folder / "subjects" / "part-00000.parquet",
    )
    subject: list[str] = []
    feature: list[str] = []
    number: list[float | None] = []
    text: list[str | None] = []
    for f in fitted.outcomes.features:
        column = X[f]
        numeric = f in fitted.outcomes.numeric
        subject.extend(ids)
        feature.extend([names[f]] * len(ids))
        if numeric:
            number.extend(None if pd.isna(v) else float(v) for v in column)
            text.extend([None] * len(ids))
        else:
            number.extend([None] * len(ids))
            text.extend(None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in column)
    n = len(subject)
    pq.write_table(
        pa.table(
            {
                "record_id": [f"f{i}" for i in range(n)],
                "subject_id": subject,
                "record_type": [RECORD_TYPE] * n,
                "event_date": pa.array([as_of] * n, pa.date32()),
                "feature": feature,
                "feature_number": pa.array(number, pa.float64()),
                "feature_text": pa.array(text, pa.string()),
            }
        ),
        folder / "records" / SOURCE / "part-00000.parquet",
    )
    return ids


def engine_scores(fitted: Fitted, loaded: LoadedPolicy, X: pd.DataFrame, as_of: dt.date = AS_OF) -> np.ndarray:
    """The engine's scores of the rows of ``X`` under the exported policy (``score_files``: the compiled stages on
    DuckDB in memory), in the order of the rows."""
    from socialcredit.registry.scoring.files import score_files

    with tempfile.TemporaryDirectory(prefix="socialcredit-scorecard-") as tmp:
        folder = Path(tmp) / "input"
        ids = write_records(fitted, X, folder, as_of)
        score_files(folder, loaded, as_of, Path(tmp) / "out")
        results = pq.read_table(Path(tmp) / "out" / "results", columns=["sid", "score"]).to_pydict()
    by_id = dict(zip(results["sid"], results["score"], strict=True))
    return np.array([float(by_id[i]) for i in ids], dtype=np.float64)
