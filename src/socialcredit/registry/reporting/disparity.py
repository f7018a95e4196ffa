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
    "LEFT_OUT",
    "MIN_EVENTS",
    "UNAPPLIED",
    "Z95",
    "audit_counts",
    "audit_of",
    "difference_text",
    "disparity_audit",
    "latest_run_of",
    "left_out_counts",
    "log_ratio_interval",
    "wilson_interval",
]

BAND = (0.8, 1.25)  # the four-fifths rule, and its inverse
Z95 = 1.959963984540054
TOP_RULES = 3
MIN_EVENTS = 20  # fewer events overall than this (a redlist of two) give notes, never warnings
_NAMES = frozenset({"sc_audit_base", "sc_audit_people", "sc_audit_off"})
# Why a subject a run lists is not applied on that list (``disparity_audit``'s ``unapplied``), and of those whom the
# audit leaves out of its count (the held are counted, as the figures by district count them, and said apart)
UNAPPLIED = ("notice", "held", "ended")
LEFT_OUT = ("notice", "ended")


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


def _metrics(policy_lists: list[str], services: list[str], tiers: list[str]) -> list[_Metric]:
    lists = exp.column("lists", "r")
    out = [
        _Metric(f"list:{x}", f"on the {x}", exp.func("list_contains", lists.copy(), exp.Literal.string(x)))
        for x in policy_lists
    ]
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


def _left_out_metrics(policy_lists: list[str]) -> list[_Metric]:
    """Per list, whom the run listed on it and the audit leaves out of it (``sc_audit_off``'s ``off``)."""
    out = []
    for x in policy_lists:
        name = exp.Literal.string(x)
        listed = exp.func("list_contains", exp.column("lists", "r"), name.copy())
        off = exp.func("coalesce", exp.func("list_contains", exp.column("off", "o"), name.copy()), exp.false())
        out.append(_Metric(f"list:{x}", f"left out of the {x}", exp.and_(listed, off)))
    return out


def _base(
    rel: OwnedRelations,
    run_id: int,
    watermark: int,
    metrics: list[_Metric],
    off: list[tuple[str, str, str]] | None = None,
) -> None:
    """``sc_audit_base``: one row per person of the run, with their groups and metrics; with ``off`` (subject, list,
    why), only those subjects, with ``o.off`` the lists the audit leaves them out of (why one of
    :data:`LEFT_OUT`)."""
    where = None
    if off is not None:
        rel.create(
            "sc_audit_off",
            "SELECT unnest(CAST($s AS VARCHAR[])) AS subject_id, unnest(CAST($l AS VARCHAR[])) AS list_id, "
            "unnest(CAST($w AS VARCHAR[])) AS why",
            {"s": [x[0] for x in off], "l": [x[1] for x in off], "w": [x[2] for x in off]},
        )
        where = exp.column("subject_id").isin(query=exp.select("subject_id").from_("sc_audit_off"))
    rel.create("sc_audit_people", latest_subjects(("subject_id", "district", "sex"), watermark=watermark, where=where))
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
        .where(exp.EQ(this=exp.column("kind", "r"), expression=exp.Literal.string("person")))
    )
    if off is not None:
        left_out = ", ".join(f"'{w}'" for w in LEFT_OUT)
        grouped = exp.maybe_parse(
            f"SELECT subject_id, list(list_id) FILTER (WHERE why IN ({left_out})) AS off FROM sc_audit_off "
            "GROUP BY subject_id",
            dialect="duckdb",
            into=exp.Select,
        )
        query = query.join(exp.alias_(grouped.subquery(), "o"), using=["subject_id"], join_type="inner")
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


def _run_of(store: Store, run_id: int) -> tuple[dict[str, Any], list[str], list[_Metric]]:
    runs = store.rows("SELECT policy_id, policy_version, as_of, watermark FROM score_runs WHERE run_id = ?", [run_id])
    if not runs:
        raise NotFoundError(f"no score run {run_id}")
    policy = get_policy(store, runs[0]["policy_id"], runs[0]["policy_version"]).policy
    lists = [x.id for x in policy.lists]
    metrics = _metrics(
        lists, [s.id for s in policy.services], [t.id for t in sorted(policy.tiers, key=lambda t: -t.min)]
    )
    return runs[0], lists, metrics


def audit_counts(store: Store, run_id: int) -> dict[str, Any]:
    """What the audit of run ``run_id`` is worked out from, as the run found its persons (every list counting whom
    the run put on it): ``overall`` (``n`` and each metric's count), ``groups`` (per dimension, each group's ``n``
    and counts), the rules' summed points; :func:`audit_of` makes the audit of it. The costly part: kept per run
    (``lab_panels``)."""
    run, _, metrics = _run_of(store, run_id)
    with OwnedRelations(store, _NAMES) as rel:
        _base(rel, run_id, int(run["watermark"]), metrics)
        overall_row = _counts(rel, metrics, None)[0]
        by_dim = {dim: _counts(rel, metrics, dim) for dim in DIMENSIONS}
        sums = _rule_sums(rel, run_id)

    def counted(row: dict[str, Any]) -> dict[str, int]:  # count_if over no row is NULL
        return {m.key: int(row[f"c{i}"] or 0) for i, m in enumerate(metrics)}

    return {
        "run_id": run_id,
        "run": run,
        "metrics": [m.key for m in metrics],
        "overall": {"n": int(overall_row["n"]), "counts": counted(overall_row)},
        "groups": {
            dim: [{"group": str(g["grp"]), "n": int(g["n"]), "counts": counted(g)} for g in groups]
            for dim, groups in by_dim.items()
        },
        "sums": sums,
    }


def left_out_counts(
    store: Store, run_id: int, unapplied: Mapping[str, Mapping[str, Collection[str]]]
) -> dict[str, Any]:
    """Of ``unapplied`` (by list, then by why, one of :data:`UNAPPLIED`), what the persons the audit leaves out of a
    list (why one of :data:`LEFT_OUT`) add to that list's counts in :func:`audit_counts` (``overall``, ``groups``:
    the same keys, lists only), and how many persons the run listed there are of each why (``whys``). One query over
    those subjects alone."""
    off = [
        (str(subject), str(list_id), str(why))
        for list_id, whys in unapplied.items()
        for why, subjects in whys.items()
        for subject in subjects
    ]
    run, lists, _ = _run_of(store, run_id)
    metrics = _left_out_metrics(lists)
    with OwnedRelations(store, _NAMES) as rel:
        _base(rel, run_id, int(run["watermark"]), metrics, off)
        overall_row = _counts(rel, metrics, None)[0]
        by_dim = {dim: _counts(rel, metrics, dim) for dim in DIMENSIONS}
        whys = rel.rows(
            "SELECT o.list_id, o.why, count(DISTINCT o.subject_id) AS n FROM sc_audit_off o "
            "JOIN sc_audit_base b USING (subject_id) GROUP BY ALL"
        )

    def counted(row: dict[str, Any]) -> dict[str, int]:  # count_if over no row is NULL
        return {m.key: int(row[f"c{i}"] or 0) for i, m in enumerate(metrics)}

    return {
        "overall": counted(overall_row),
        "groups": {dim: {str(g["grp"]): counted(g) for g in groups} for dim, groups in by_dim.items()},
        "whys": {
            x: {why: next((int(r["n"]) for r in whys if (r["list_id"], r["why"]) == (x, why)), 0) for why in UNAPPLIED}
            for x in sorted(unapplied)
        },
    }


def audit_of(counts: dict[str, Any], left_out: dict[str, Any] | None = None, *, top: int = TOP_RULES) -> dict[str, Any]:
    """The audit (:func:`disparity_audit`) of ``counts`` (:func:`audit_counts`), less what ``left_out``
    (:func:`left_out_counts`) adds to each list's counts: the rates, intervals and flags worked out again."""
    minus_all = (left_out or {}).get("overall", {})
    minus_groups = (left_out or {}).get("groups", {})
    big_n = int(counts["overall"]["n"])
    big = {key: c - minus_all.get(key, 0) for key, c in counts["overall"]["counts"].items()}
    overall = {key: {"count": big[key], "rate": big[key] / big_n if big_n else None} for key in counts["metrics"]}
    rows: list[dict[str, Any]] = []
    for dim, groups in counts["groups"].items():
        for g in groups:
            n = int(g["n"])
            minus = minus_groups.get(dim, {}).get(g["group"], {})
            for key in counts["metrics"]:
                big_k, k = big[key], int(g["counts"][key]) - minus.get(key, 0)
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
                        "metric": key,
                        "dimension": dim,
                        "group": g["group"],
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
    sums = counts["sums"]
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
    run = counts["run"]
    return {
        "run_id": counts["run_id"],
        "policy": run["policy_id"],
        "version": run["policy_version"],
        "as_of": run["as_of"].isoformat(),
        "persons": big_n,
        "band": list(BAND),
        "overall": overall,
        "unapplied": (left_out or {}).get("whys", {}),
        "rows": rows,
        "flagged": flagged,
    }


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
    ``unapplied`` (by list, then by why, one of :data:`UNAPPLIED`) whose why is one of :data:`LEFT_OUT` (in their
    notice period, ended since the run: ``lab_panels.applied_audit``); the held are counted and said apart.
    ``unapplied`` in the result says how many persons of each why the run listed. Refusal rates per service
    (``refused:``) count the lists as the run found them."""
    counts = audit_counts(store, run_id)
    return audit_of(counts, left_out_counts(store, run_id, unapplied) if unapplied else None, top=top)
