"""The options of `socialcredit scorecard fit` checked before an outcome file is read, and each refusal's exit code.

Nothing here imports pandas, numpy or optbinning: a refused option answers at once, before those are loaded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from socialcredit.errors import InvalidRequestError

__all__ = ["EXIT_CODES", "MONOTONIC", "Scale", "check_holdout", "parse_monotonic", "scale_from_options"]

# Each refusal's code and the exit code `socialcredit scorecard fit` ends with (2 stays the usage error's).
EXIT_CODES = {
    "unreadable_outcomes": 10,
    "empty_outcomes": 11,
    "target_missing": 12,
    "target_not_binary": 13,
    "target_one_class": 14,
    "feature_constant": 15,
    "protected_feature": 16,
    "limit_exceeded": 17,
    "unknown_column": 18,
    "too_few_rows": 19,
    "invalid_option": 20,
    "no_signal": 21,
    "fit_failed": 22,
}

MONOTONIC = ("ascending", "descending", "auto")


@dataclass(frozen=True)
class Scale:
    """Points scaled to ``min``–``max`` (optbinning's min_max), or by points to double the odds (pdo_odds)."""

    method: str  # "min_max" or "pdo_odds"
    min: float = 350
    max: float = 950
    pdo: float = 20
    odds: float = 50
    base_points: float = 600

    def params(self) -> dict[str, float]:
        if self.method == "min_max":
            return {"min": self.min, "max": self.max}
        return {"pdo": self.pdo, "odds": self.odds, "scorecard_points": self.base_points}

    def describe(self) -> str:
        if self.method == "min_max":
            return f"{self.min:g}–{self.max:g}"
        return f"{self.base_points:g} points at odds {self.odds:g}:1, {self.pdo:g} points to double the odds"


def parse_monotonic(items: list[str]) -> dict[str, str]:
    """``col=ascending|descending|auto`` options as a dict; anything else is refused (``invalid_option``).

    >>> parse_monotonic(["income=descending"])
    {'income': 'descending'}
    """
    out: dict[str, str] = {}
    for item in items:
        column, sep, trend = item.partition("=")
        if not sep or not column.strip() or trend.strip() not in MONOTONIC:
            raise InvalidRequestError(
                f"--monotonic {item!r}: write COLUMN=TREND with TREND one of {', '.join(MONOTONIC)}",
                code="invalid_option",
                field="monotonic",
            )
        if column.strip() in out:
            raise InvalidRequestError(
                f"--monotonic names {column.strip()!r} twice", code="invalid_option", field="monotonic"
            )
        out[column.strip()] = trend.strip()
    return out


def check_holdout(holdout: float) -> None:
    """The share of rows held out: from 0.05 to 0.5 (``invalid_option`` otherwise)."""
    if not 0.05 <= holdout <= 0.5:
        raise InvalidRequestError(
            f"--holdout {holdout:g}: give a share from 0.05 to 0.5", code="invalid_option", field="holdout"
        )


def scale_from_options(
    scale_min: float | None,
    scale_max: float | None,
    pdo: float | None,
    odds: float | None,
    base_points: float | None,
) -> Scale:
    """The scale the options ask for: ``--scale-min/--scale-max`` (default 350–950, sesame's) or ``--pdo``,
    ``--odds`` and ``--base-points`` together; a mix, a partial PDO scale or an empty range is refused
    (``invalid_option``).

    >>> scale_from_options(None, None, 20, 50, 600).describe()
    '600 points at odds 50:1, 20 points to double the odds'
    """
    given_pdo = [v for v in (pdo, odds, base_points) if v is not None]
    for name, value in (
        ("--scale-min", scale_min),
        ("--scale-max", scale_max),
        ("--pdo", pdo),
        ("--odds", odds),
        ("--base-points", base_points),
    ):
        if value is not None and (not math.isfinite(value) or abs(value) > 1_000_000):
            raise InvalidRequestError(
                f"{name} {value}: give a number from -1000000 to 1000000",
                code="invalid_option",
                zh=f"{name} {value}：请给出 -1000000 到 1000000 之间的数",
            )
    if given_pdo:
        if scale_min is not None or scale_max is not None:
            raise InvalidRequestError(
                "give either --scale-min/--scale-max or --pdo/--odds/--base-points, not both",
                code="invalid_option",
                zh="请给出 --scale-min/--scale-max 或 --pdo/--odds/--base-points，不能两者都给",
            )
        if len(given_pdo) != 3:
            raise InvalidRequestError(
                "--pdo, --odds and --base-points go together: give all three",
                code="invalid_option",
                zh="--pdo、--odds 和 --base-points 须一起给出：三项都要",
            )
        assert pdo is not None and odds is not None and base_points is not None
        for name, value in (("--pdo", pdo), ("--odds", odds), ("--base-points", base_points)):
            if value <= 0:
                raise InvalidRequestError(
                    f"{name} {value:g}: give a number above 0",
                    code="invalid_option",
                    zh=f"{name} {value:g}：请给出大于 0 的数",
                )
        return Scale("pdo_odds", pdo=pdo, odds=odds, base_points=base_points)
    low = 350.0 if scale_min is None else scale_min
    high = 950.0 if scale_max is None else scale_max
    if not high - low >= 10:
        raise InvalidRequestError(
            f"--scale-min {low:g} and --scale-max {high:g}: the scale must span at least 10 points",
            code="invalid_option",
            zh=f"--scale-min {low:g} 与 --scale-max {high:g}：分数范围须至少跨 10 分",
        )
    return Scale("min_max", min=low, max=high)
