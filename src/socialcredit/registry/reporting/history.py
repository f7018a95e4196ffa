"""A subject's score history: for each policy they are scored under, every run's score, tier, rank and
percentile, newest first, with what changed from the run before (the rules whose points moved, by how much, and
the lists entered and left), and the subject as it now stands live since the latest run.

Live rescoring (registry/decisions/live.py) patches the service's decision snapshots in memory and keeps no row
per change: the history shows the live row as it stands now, with the watermark it stands on, and each run.

Every query names the subject (its identifier, or its integer key for the rule points) and the runs it was scored
in, so the history reads a few rows per run however large the registry is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from socialcredit.clock import resolve_today
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.common import shown_points
from socialcredit.registry.decisions.live import LiveView
from socialcredit.registry.due_process.listings import list_listings, took_effect_days
from socialcredit.registry.records.versions import require_subject
from socialcredit.registry.reporting.report import subject_key
from socialcredit.registry.scoring.policies import get_policy
from socialcredit.store import Store

__all__ = ["LIVE_CHANGES_KEPT", "score_history"]

LIVE_CHANGES_KEPT = False  # live patches are held in the snapshots only: no row is written per change
MIN_CHANGE = 0.005  # points that moved by less than this (rounded to two places: 0.00) did not change


def _runs(store: Store, subject_id: str) -> list[dict[str, Any]]:
    return store.rows(
        """SELECT s.run_id, s.policy_id, s.policy_version, s.as_of, s.mode, s.standing, s.watermark, r.score,
                  r.tier, r.rank, r.percentile, r.lists
           FROM run_results r JOIN score_runs s USING (run_id)
           WHERE r.subject_id = ? AND s.finished_at IS NOT NULL ORDER BY s.policy_id, s.run_id""",
        [subject_id],
    )


def _points(store: Store, subject_id: str, run_ids: list[int]) -> dict[int, dict[str, float]]:
    """Rule points per run: run id → rule id → points (rules with no points have no row)."""
    key = subject_key(store, subject_id)
    if not run_ids or key is None:
        return {}
    # the key as a constant: a filter the scan of run_points applies itself
    rows = store.execute(
        """SELECT p.run_id, r.rule_id, p.points FROM run_points p
           JOIN run_rules r ON r.run_id = p.run_id AND r.rule_index = p.rule_index
           WHERE p.subject_key = ? AND p.run_id IN (SELECT unnest(?::BIGINT[]))""",
        [key, run_ids],
    ).fetchall()
    out: dict[int, dict[str, float]] = {}
    for run_id, rule_id, points in rows:
        out.setdefault(int(run_id), {})[str(rule_id)] = float(points)
    return out


def _rule_changes(before: dict[str, float], after: dict[str, float], names: Mapping[str, str]) -> list[dict[str, Any]]:
    out = []
    for rule_id in sorted(set(before) | set(after)):
        old, new = shown_points(before.get(rule_id, 0.0)), shown_points(after.get(rule_id, 0.0))
        if abs(new - old) >= MIN_CHANGE:
            out.append(
                {
                    "rule_id": rule_id,
                    "rule": names.get(rule_id, rule_id),
                    "points_before": old,
                    "points": new,
                    "difference": shown_points(new - old),
                }
            )
    return sorted(out, key=lambda c: (-abs(c["difference"]), c["rule_id"]))


def _lists_named(ids: list[str], names: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"list": i, "name": names.get(i, i)} for i in ids]


def _tier_name(tier: Any, lang: str) -> str:
    """A grade's name in ``lang``, or "" for a grade without one."""
    return tier.name.get(lang) if tier.name else ""


def _standing_on(listings: list[dict[str, Any]], list_id: str, day: dt.date, run_id: int | None = None) -> str:
    """Where a list a run of ``day`` found stood that day, from its listings' own dates (with ``took_effect_on``):
    ``on`` when one had taken effect by then and was not yet closed, or the list has no listings (a redlist, or a
    blacklist found before listings were kept); ``notice`` when none was in effect and one was noticed and still in
    its notice period (decisions and the public look-up did not count it); ``off`` when every listing had been
    closed by then (overridden, repaired, unpublished or resolved) or none was noticed yet: decisions did not count
    it either. A listing's present status does not judge a past run. A listing noticed by run ``run_id`` counts as
    noticed by that run's date: a run made after its date gives its notice on the day it is made."""
    mine = [x for x in listings if x["list_id"] == list_id]
    if not mine:
        return "on"
    on = day.isoformat()  # the listings' dates are ISO text, which sorts as the dates do

    def started(x: dict[str, Any]) -> str | None:
        if x["took_effect_on"] is not None:
            return str(x["took_effect_on"])
        return None if x["status"] in ("pending", "resolved") else str(x["effective_on"])

    live = [
        x
        for x in mine
        if (str(x["noticed_on"]) <= on or x["notice_run_id"] == run_id)
        and (x["closed_on"] is None or str(x["closed_on"]) > on)
    ]
    if any((start := started(x)) is not None and start <= on for x in live):
        return "on"
    return "notice" if live else "off"


def score_history(
    store: Store,
    subject_id: str,
    *,
    lang: str = "en",
    live: Mapping[int, LiveView] | None = None,
    actor: str = "cli",
    purpose: str = "score history",
) -> dict[str, Any]:
    """Every run of every policy that scored ``subject_id``, newest first, with what changed each time (the read
    is audited). ``live`` (by run id, from the running service) adds the subject as rescored since the run in force.

    Each run carries its ``standing`` (registry/scoring/runs.py: run_standing). The changes are those between the
    ordinary runs, made one after the other; a run not in force (a what-if, a rerun, a past-dated run or one behind)
    is shown with its change from the ordinary run made before it, and the next ordinary run's change is still from
    that one. ``in_force`` names the policy's run in force (its newest ordinary run), the run the live view is of;
    None when it has none.

    >>> score_history(store, "110105199001011237")["policies"][0]["runs"][0]["score"]  # doctest: +SKIP
    712
    """
    require_subject(store, subject_id)
    rows = _runs(store, subject_id)
    points = _points(store, subject_id, [int(r["run_id"]) for r in rows])
    by_policy: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_policy.setdefault(str(r["policy_id"]), []).append(r)
    policies = []
    for policy_id, runs in by_policy.items():
        listings = list_listings(store, subject_id=subject_id, policy_id=policy_id)
        took_effect_days(store, listings)
        noticed_by = dict(
            store.execute(
                "SELECT listing_id, notice_run_id FROM listings WHERE subject_id = ? AND policy_id = ?",
                [subject_id, policy_id],
            ).fetchall()
        )
        for x in listings:  # the run that gave each its notice (_standing_on)
            x["notice_run_id"] = int(noticed_by[int(x["listing_id"])])
        latest = get_policy(store, policy_id, runs[-1]["policy_version"]).policy
        rule_names = {rule.id: rule.reason.text(lang) for rule in latest.rules}
        list_names = {lst.id: lst.name.get(lang) for lst in latest.lists}
        # A grade without a name has "" (the page shows its id alone, never the id twice: "B B").
        tier_names = {t.id: _tier_name(t, lang) for t in latest.tiers}
        out_runs = []
        previous: dict[str, Any] | None = None
        in_force: dict[str, Any] | None = None
        for r in runs:
            if r["policy_version"] != latest.version:  # an older version's rules and lists keep their own words
                older = get_policy(store, policy_id, r["policy_version"]).policy
                for rule in older.rules:
                    rule_names.setdefault(rule.id, rule.reason.text(lang))
                for lst in older.lists:
                    list_names.setdefault(lst.id, lst.name.get(lang))
                for tier in older.tiers:  # a grade the latest version no longer has
                    tier_names.setdefault(tier.id, _tier_name(tier, lang))
            run_id = int(r["run_id"])
            # a list found only through a notice in its grace period is not one the subject was on: said apart; one
            # whose listings were all closed by the run's date is on neither
            standing = {x: _standing_on(listings, x, r["as_of"], run_id) for x in sorted(str(x) for x in r["lists"])}
            noticed = [x for x, at in standing.items() if at == "notice"]
            lists = [x for x, at in standing.items() if at == "on"]
            ordinary = r["standing"] == "ordinary"
            entry: dict[str, Any] = {
                "run_id": run_id,
                "policy_version": r["policy_version"],
                "as_of": r["as_of"].isoformat(),
                "mode": r["mode"],
                "standing": r["standing"],
                "watermark": int(r["watermark"]),
                "score": int(r["score"]),
                "tier": r["tier"],
                "tier_name": tier_names.get(r["tier"], ""),
                "rank": int(r["rank"]),
                "percentile": float(r["percentile"]),
                "lists": _lists_named(lists, list_names),
                "lists_in_notice": _lists_named(noticed, list_names),
                "change": None,
            }
            if previous is not None:
                before = set(previous["lists"])
                entry["change"] = {
                    "from_run_id": previous["run_id"],
                    "score": entry["score"] - previous["score"],
                    "tier_before": previous["tier"],
                    "rank_before": previous["rank"],
                    "rules": _rule_changes(points.get(previous["run_id"], {}), points.get(run_id, {}), rule_names),
                    "lists_entered": _lists_named([x for x in lists if x not in before], list_names),
                    "lists_left": _lists_named(sorted(before - set(lists)), list_names),
                }
            out_runs.append(entry)
            if ordinary:  # a run not in force changes nothing the next run is compared with
                previous = {**entry, "lists": lists}
                in_force = entry
        view = (live or {}).get(in_force["run_id"]) if in_force is not None else None
        now = None
        if view is not None and in_force is not None:
            newest = in_force
            # The lists it stands on now by the rule of a run's row, the listings' own dates (on the registry's
            # today), not their present status, judged over the lists the live pass found as a run's row is over
            # the run's: a listing closed since the live pass is left, and one in its notice period is said apart
            # (until 2026-12-06 a list with any listing pending now was never left). The pass's lists leave out a
            # blacklisting decisions do not count yet (``LiveView.pending`` keeps them); a subject no pass rescored
            # stands on the run's row, its notices included (until 2026-12-06 the run's notices were read even
            # when the live pass no longer found the list, and the live row said a cause gone was in notice).
            today = resolve_today()
            before = {x["list"] for x in newest["lists"]}
            pending = view.pending if view.pending is not None else [x["list"] for x in newest["lists_in_notice"]]
            found = {str(x) for x in view.result["lists"]} | set(pending)
            standing = {x: _standing_on(listings, x, today) for x in sorted(found)}
            lists_now = [x for x, at in standing.items() if at == "on"]
            noticed_now = [x for x, at in standing.items() if at == "notice"]
            now = {
                "run_id": newest["run_id"],
                "watermark": view.watermark,
                "score": int(view.result["score"]),
                "tier": view.result["tier"],
                "tier_name": tier_names.get(view.result["tier"], ""),
                "rank": int(view.rank),
                "percentile": float(view.percentile),
                "lists": _lists_named(lists_now, list_names),
                "lists_in_notice": _lists_named(noticed_now, list_names),
                "change": {
                    "from_run_id": newest["run_id"],
                    "score": int(view.result["score"]) - newest["score"],
                    "tier_before": newest["tier"],
                    "rank_before": newest["rank"],
                    "lists_entered": _lists_named([x for x in lists_now if x not in before], list_names),
                    "lists_left": _lists_named(sorted(before - set(lists_now)), list_names),
                },
            }
        policies.append(
            {
                "policy": policy_id,
                "policy_name": latest.name.get(lang),
                "in_force": in_force["run_id"] if in_force is not None else None,
                "live": now,
                "runs": list(reversed(out_runs)),
            }
        )
    with store.transaction():
        append_audit(store, actor, "read_history", subject_id, {"purpose": purpose})
    return {"subject_id": subject_id, "live_changes_kept": LIVE_CHANGES_KEPT, "policies": policies}
