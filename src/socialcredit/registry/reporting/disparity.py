"""The disparity audit of a published policy's run (docs/policy-lab.md): for every list, every service and every
tier, the rate among persons of each district, sex, age band and profession, its ratio to the overall rate, and
95% confidence intervals. A group whose ratio falls outside 0.8–1.25 is flagged, with the rules that account for
the difference (the group's mean points per rule minus everyone's).

Intervals: the Wilson score interval for a rate; for the ratio p/P of a group's rate to the overall rate, the
log-ratio (Katz) interval exp(ln(p/P) ± z·sqrt(1/k − 1/n + 1/K − 1/N)); for a group with no event (k = 0), from
0 to the Wilson upper bound of its rate divided by the overall rate. The group is part of the whole, which makes
the two rates positively correlated: the Katz interval, which assumes independent samples, is then wider than the
exact one (conservative, never narrower). A flagged group is a warning when its ratio's whole interval lies outside
the band and the whole population has at least :data:`MIN_EVENTS` events of that kind; otherwise a note.

>>> audit = disparity_audit(store, latest_run(store, "beijing")["run_id"])  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import sqlglot.expressions as exp

from socialcredit.errors import NotFoundError
from socialcredit.registry.relations import OwnedRelations
from socialcredit.registry.reporting.impact import DIMENSIONS, age_band_case
from socialcredit.registry.scoring.policies import get_policy
from socialcredit.store import Store, latest_subjects, run_rows

__all__ = [
    "BAND",
    "MIN_EVENTS",
    "UNAPPLIED",
    "Z95",
    "difference_text",
    "disparity_audit",
    "latest_run_of",
    "log_ratio_interval",
    "wilson_interval",
]

BAND = (0.8, 1.25)  # the four-fifths rule, and its inverse
Z95 = 1.959963984540054
TOP_RULES = 3
MIN_EVENTS = 20  # fewer events overall than this (a redlist of two) give notes, never warnings
_NAMES = frozenset({"sc_audit_base", "sc_audit_people", "sc_audit_off"})
# Why a subject a run lists is not counted on that list (``disparity_audit``'s ``unapplied``)
UNAPPLIED = ("notice", "held", "ended")


def difference_text(value: float) -> str:
    """A rule's difference in mean points, signed, with one decimal or as many as its first significant digit needs,
    so that a difference that is not zero never reads as zero; zero reads ``0``.

    >>> [difference_text(x) for x in (3.0, -4.44, 0.04, -0.004, 0.0)]
    ['+3.0', '-4.4', '+0.04', '-0.004', '0']
    """
    if value == 0:
        return "0"
    places = max(1, -math.floor(math.log10(abs(value))))
    return f"{value:+.{places}f}"


def _rounded(value: float) -> float:
    """To three decimals, or to three significant digits when three decimals would make it zero."""
    near = round(value, 3)
    return near if near or not value else float(f"{value:.3g}")


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a rate of ``k`` in ``n``.

    >>> [round(x, 4) for x in wilson_interval(2, 10)]
    [0.0567, 0.5098]
    """
    if n <= 0:
        return (0.0, 1.0)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def log_ratio_interval(k: int, n: int, big_k: int, big_n: int, z: float = Z95) -> tuple[float, float]:
    """The log-ratio (Katz) interval of (k/n) / (K/N); when k is 0, from 0 to the Wilson upper bound of k/n
    divided by K/N.

    >>> [round(x, 3) for x in log_ratio_interval(2, 10, 3, 30)]
    [0.409, 9.77]
    """
    if n <= 0 or big_n <= 0 or big_k <= 0:
        return (0.0, math.inf)
    if k == 0:  # no event in the group: from 0 to the Wilson upper bound of its rate over the overall rate
        return (0.0, wilson_interval(0, n, z)[1] / (big_k / big_n))
    k_, big_k_ = float(k), float(big_k)
    ratio = (k_ / n) / (big_k_ / big_n)
    se = math.sqrt(max(0.0, 1 / k_ - 1 / n + 1 / big_k_ - 1 / big_n))
    return (ratio * math.exp(-z * se), ratio * math.exp(z * se))


@dataclass(frozen=True)
class _Metric:
    key: str  # "list:blacklist", "refused:bank_loan", "tier:C"
    label: str
    condition: exp.Expr


def _on_list(list_id: str) -> exp.Expr:
    """On the list ``list_id`` as the audit counts it: listed by the run, and not among the subjects left out of it
    (``sc_audit_off``'s ``off``: the lists of theirs decisions do not count)."""
    name = exp.Literal.string(list_id)
    listed = exp.func("list_contains", exp.column("lists", "r"), name.copy())
    off = exp.func("coalesce", exp.func("list_contains", exp.column("off", "o"), name.copy()), exp.false())
    return exp.and_(listed, exp.not_(off))


def _metrics(policy_lists: list[str], services: list[str], tiers: list[str]) -> list[_Metric]:
    out = [_Metric(f"list:{x}", f"on the {x}", _on_list(x)) for x in policy_lists]
    for i, s in enumerate(services):
        mask = exp.BitwiseAnd(this=exp.column("grants", "r"), expression=exp.Literal.number(1 << i))
        out.append(
            _Metric(f"refused:{s}", f"refused {s}", exp.EQ(this=exp.Paren(this=mask), expression=exp.Literal.number(0)))
        )
    out += [
        _Metric(f"tier:{t}", f"in tier {t}", exp.EQ(this=exp.column("tier", "r"), expression=exp.Literal.string(t)))
        for t in tiers
    ]
    return out


def _base(
    rel: OwnedRelations, run_id: int, watermark: int, metrics: list[_Metric], off: list[tuple[str, str, str]]
) -> None:
    rel.create("sc_audit_people", latest_subjects(("subject_id", "district", "sex"), watermark=watermark))
    rel.create(
        "sc_audit_off",
        "SELECT unnest(CAST($s AS VARCHAR[])) AS subject_id, unnest(CAST($l AS VARCHAR[])) AS list_id, "
        "unnest(CAST($w AS VARCHAR[])) AS why",
        {"s": [x[0] for x in off], "l": [x[1] for x in off], "w": [x[2] for x in off]},
    )
    cols: list[exp.Expr] = [
        exp.column("subject_id", "r"),
        exp.column("district", "p"),
        exp.column("sex", "p"),
        exp.alias_(age_band_case(exp.column("age", "r")), "age_band"),
        exp.column("profession", "r"),
        *[exp.alias_(m.condition.copy(), f"m{i}") for i, m in enumerate(metrics)],
    ]
    query = (
        exp.select(*cols)
        .from_(exp.alias_(exp.maybe_parse(run_rows(rel.store, "run_results", run_id), dialect="duckdb"), "r"))
        .join(exp.alias_(exp.to_table("sc_audit_people"), "p", table=True), using=["subject_id"], join_type="left")
        .join(
            exp.alias_(
                exp.select("subject_id", exp.alias_(exp.func("list", exp.column("list_id")), "off"))
                .from_("sc_audit_off")
                .group_by("subject_id")
                .subquery(),
                "o",
            ),
            using=["subject_id"],
            join_type="left",
        )
        .where(exp.EQ(this=exp.column("kind", "r"), expression=exp.Literal.string("person")))
    )
    rel.create("sc_audit_base", query)


def _counts(rel: OwnedRelations, metrics: list[_Metric], group: str | None) -> list[dict[str, Any]]:
    sums = [exp.alias_(exp.func("count_if", exp.column(f"m{i}")), f"c{i}") for i in range(len(metrics))]
    query = exp.select(exp.alias_(exp.Count(this=exp.Star()), "n"), *sums).from_("sc_audit_base")
    if group is not None:
        query = (
            query.select(exp.alias_(exp.column(group), "grp"))
            .where(exp.column(group).is_(exp.Null()).not_())
            .group_by(exp.column(group))
            .order_by(exp.column(group))
        )
    return rel.rows(query)


# Summed points per rule of the run's persons: for everyone ('' , ''), and per (dimension, group), in one pass.
_RULE_SUMS = """
SELECT CASE WHEN GROUPING(b.district) = 0 THEN 'district' WHEN GROUPING(b.sex) = 0 THEN 'sex'
            WHEN GROUPING(b.age_band) = 0 THEN 'age_band' WHEN GROUPING(b.profession) = 0 THEN 'profession'
            ELSE '' END AS dim,
       CAST(coalesce(b.district, b.sex, b.age_band, b.profession, '') AS VARCHAR) AS grp, r.rule_id,
       sum(p.points) AS s
FROM {points} p
JOIN run_rules r USING (run_id, rule_index)
JOIN subject_keys k USING (subject_key)
JOIN sc_audit_base b ON b.subject_id = k.subject_id
GROUP BY GROUPING SETS ((r.rule_id), (b.district, r.rule_id), (b.sex, r.rule_id), (b.age_band, r.rule_id),
                        (b.profession, r.rule_id))
"""


def _rule_sums(rel: OwnedRelations, run_id: int) -> dict[tuple[str, str], dict[str, float]]:
    """Summed points per rule, by (dimension, group); ('', '') for everyone. A group whose key is NULL (a person
    without a profession) is left out, as in the rates."""
    out: dict[tuple[str, str], dict[str, float]] = {}
    for r in rel.rows(_RULE_SUMS.format(points=run_rows(rel.store, "run_points", run_id))):
        if r["dim"] and r["grp"] == "":
            continue
        out.setdefault((str(r["dim"]), str(r["grp"])), {})[str(r["rule_id"])] = float(r["s"] or 0.0)
    return out


def latest_run_of(store: Store, policy_id: str, version: str) -> int:
    """The latest finished run of a published policy version; NotFoundError when it has none."""
    run = store.one(
        "SELECT max(run_id) FROM score_runs WHERE policy_id = ? AND policy_version = ? AND finished_at IS NOT NULL",
        [policy_id, version],
    )
    if run is None:
        raise NotFoundError(
            f"policy {policy_id} version {version} has no finished score run to audit: run one first "
            f"(POST /v1/jobs, or `socialcredit score {policy_id}`)",
            code="no_run",
        )
    return int(run)


def disparity_audit(
    store: Store,
    run_id: int,
    *,
    top: int = TOP_RULES,
    unapplied: Mapping[str, Mapping[str, Collection[str]]] | None = None,
) -> dict[str, Any]:
    """The audit of run ``run_id`` (persons only): ``overall`` (each metric's count and rate), ``rows`` (one per
    metric, dimension and group: n, count, rate and its Wilson interval, ratio and its log-ratio interval,
    ``flagged``, ``level``) and ``flagged`` (the flagged rows with their ``rules``: the ``top`` rules whose mean
    points in the group differ most from everyone's). A list counts whom the run put on it but those of
    ``unapplied`` (by list, then by why, one of :data:`UNAPPLIED`: the subjects decisions do not count on it,
    ``lab_panels.applied_audit``); ``unapplied`` in the result says how many persons each why left out."""
    off = [
        (str(subject), str(list_id), str(why))
        for list_id, whys in (unapplied or {}).items()
        for why, subjects in whys.items()
        for subject in subjects
    ]
    runs = store.rows("SELECT policy_id, policy_version, as_of, watermark FROM score_runs WHERE run_id = ?", [run_id])
    if not runs:
        raise NotFoundError(f"no score run {run_id}")
    run = runs[0]
    policy = get_policy(store, run["policy_id"], run["policy_version"]).policy
    metrics = _metrics(
        [x.id for x in policy.lists],
        [s.id for s in policy.services],
        [t.id for t in sorted(policy.tiers, key=lambda t: -t.min)],
    )
    with OwnedRelations(store, _NAMES) as rel:
        _base(rel, run_id, int(run["watermark"]), metrics, off)
        overall_row = _counts(rel, metrics, None)[0]
        left_out = rel.rows(
            "SELECT list_id, why, count(DISTINCT subject_id) AS n FROM sc_audit_off "
            "WHERE subject_id IN (SELECT subject_id FROM sc_audit_base) GROUP BY ALL ORDER BY ALL"
        )
        by_dim = {dim: _counts(rel, metrics, dim) for dim in DIMENSIONS}
        sums = _rule_sums(rel, run_id)
    big_n = int(overall_row["n"])
    counted = {(str(r["list_id"]), str(r["why"])): int(r["n"]) for r in left_out}
    overall = {
        m.key: {"count": int(overall_row[f"c{i}"]), "rate": int(overall_row[f"c{i}"]) / big_n if big_n else None}
        for i, m in enumerate(metrics)
    }
    rows: list[dict[str, Any]] = []
    for dim, groups in by_dim.items():
        for g in groups:
            n = int(g["n"])
            for i, m in enumerate(metrics):
                big_k, k = int(overall_row[f"c{i}"]), int(g[f"c{i}"])
                if big_k == 0 or n == 0:  # no one overall: no ratio to speak of
                    continue
                rate, overall_rate = k / n, big_k / big_n
                ratio = rate / overall_rate
                lo, hi = log_ratio_interval(k, n, big_k, big_n)
                outside = not BAND[0] <= ratio <= BAND[1]
                # a warning when the whole interval is outside the band; a note when chance could explain it
                certain = (hi < BAND[0] or lo > BAND[1]) and big_k >= MIN_EVENTS
                level = None if not outside else ("warning" if certain else "note")
                rows.append(
                    {
                        "metric": m.key,
                        "dimension": dim,
                        "group": str(g["grp"]),
                        "n": n,
                        "count": k,
                        "rate": rate,
                        "rate_ci": list(wilson_interval(k, n)),
                        "overall_rate": overall_rate,
                        "ratio": ratio,
                        "ratio_ci": [lo, hi],
                        "flagged": outside,
                        "level": level,
                    }
                )
    flagged = [r for r in rows if r["flagged"]]
    everyone = sums.get(("", ""), {})
    for r in flagged:
        mine = sums.get((r["dimension"], r["group"]), {})
        diffs = [
            {"rule": rule, "group_mean": mine.get(rule, 0.0) / r["n"], "difference": 0.0}
            for rule in sorted(set(everyone) | set(mine))
        ]
        for d in diffs:
            d["difference"] = d["group_mean"] - everyone.get(str(d["rule"]), 0.0) / big_n
        diffs.sort(key=lambda d: (-abs(float(d["difference"])), str(d["rule"])))
        r["rules"] = [
            {
                "rule": d["rule"],
                "group_mean": _rounded(float(d["group_mean"])),
                "difference": _rounded(float(d["difference"])),
            }
            for d in diffs[:top]
            if d["difference"]
        ]
    flagged.sort(
        key=lambda r: (
            r["level"] != "warning",
            -abs(math.log(r["ratio"])) if r["ratio"] > 0 else -math.inf,
            r["metric"],
            r["dimension"],
            r["group"],
        )
    )
    return {
        "run_id": run_id,
        "policy": run["policy_id"],
        "version": run["policy_version"],
        "as_of": run["as_of"].isoformat(),
        "persons": big_n,
        "band": list(BAND),
        "overall": overall,
        "unapplied": {x: {why: counted.get((x, why), 0) for why in UNAPPLIED} for x in sorted(unapplied or {})},
        "rows": rows,
        "flagged": flagged,
    }
