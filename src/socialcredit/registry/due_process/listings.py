"""Notice and grace before a blacklisting, and how long a listing is published.

A score run finds who meets a blacklist's criteria (``run_list_entries``: the cause). This module keeps one
*listing* per cause — subject, policy, list, criterion and, for a record criterion, the record — across runs:

* the first run that finds a cause gives the subject a **notice**; the listing takes effect ``grace_days`` later
  (the list's ``grace_days``), at the first run on or after that day that still finds the cause;
* if a run before then no longer finds it (the record was corrected, disputed away or repaired, the score
  recovered), the listing is ``resolved``: the subject was never listed;
* an effective listing whose cause goes away is ``delisted``; one that reached its severity class's maximum
  publication period ends (``publication_ended``) and does not come back for the same, still present cause;
* an approved repair (``repaired``) or an operator's override (``overridden``) ends it the same way.

Statuses: pending | effective | resolved | delisted | publication_ended | repaired | overridden. Only effective
listings refuse services (``registry/decisions/decide.py``, ``registry/decisions/snapshot.py``) or show in a public
look-up.
Runs are taken in the order they were made; each ordinary run of a policy (its standing, decided when it is made:
``registry/scoring/runs.py: run_standing``) updates that policy's listings and is then its run in force.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from socialcredit.clock import resolve_today
from socialcredit.compiler.plan import ScorePlan
from socialcredit.errors import NotFoundError
from socialcredit.policy import LoadedPolicy
from socialcredit.policy.model import ListSpec
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.common import bad_status, iso, newest_first
from socialcredit.registry.due_process.notifications import notify
from socialcredit.registry.due_process.relations import relation_note, relation_notes
from socialcredit.registry.scoring.policies import get_policy
from socialcredit.registry.scoring.runs import in_force_sql
from socialcredit.store import Store, run_rows

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "ACTIVE",
    "LISTING_STATUSES",
    "NOT_WITHDRAWN",
    "TOOK_EFFECT_SQL",
    "activate_due",
    "blacklist_ids",
    "complete_missed",
    "criterion_words",
    "effective_lists",
    "effective_results",
    "end_for_origin",
    "end_publication_due",
    "ended_since_run",
    "inquiry_lists",
    "list_listings",
    "record_listings",
    "standing_on_sql",
    "take_effect",
    "took_effect_days",
]

LISTING_STATUSES = (
    "pending",
    "effective",
    "resolved",
    "delisted",
    "publication_ended",
    "repaired",
    "overridden",
)
ACTIVE = ("pending", "effective")
_KEY = "subject_id, criterion_id, source_id, record_id"
# A notice ``t`` (of ``notifications``) that the listing it names took effect, not withdrawn since
# (``withdrawals.put_back_listings``: a run not in force had put the listing in effect). Compared with the last
# withdrawal of its listing, joined on ``ref_id`` alone: an anti-join on ``w.notification_id > t.notification_id``
# was planned as a nested loop (150 ms at 20,000 notifications).
NOT_WITHDRAWN = """t.notification_id > coalesce((SELECT max(w.notification_id) FROM notifications w
                          WHERE w.kind = 'listing_withdrawn' AND w.ref_id = t.ref_id), -1)"""


# Each listing with the day it took effect (``took_effect_days``: as its subject was told, never before
# ``effective_on``; ``effective_on`` for one in effect with no such notice; NULL for one that never took effect).
TOOK_EFFECT_SQL = f"""SELECT l.*, CASE WHEN t.told IS NOT NULL THEN greatest(l.effective_on, t.told)
                           WHEN l.status = 'effective' THEN l.effective_on END AS took_effect_on
    FROM listings l LEFT JOIN (
        SELECT t.ref_id, t.subject_id, min(t.created_on) AS told FROM notifications t
        WHERE t.kind = 'listing_effective' AND {NOT_WITHDRAWN} GROUP BY ALL
    ) t ON t.ref_id = l.listing_id AND t.subject_id = l.subject_id"""


def standing_on_sql(day: str) -> str:
    """SQL of where a listing of :data:`TOOK_EFFECT_SQL` (``l``) stood on ``day`` (an SQL date expression):
    ``effective`` (it had taken effect and not ended: decisions counted it), ``notice`` (noticed, in its grace
    period) or NULL (not yet noticed, or ended). A listing ends on its ``closed_on``: not in effect that day."""
    return f"""CASE WHEN l.closed_on IS NOT NULL AND l.closed_on <= {day} THEN NULL
                    WHEN l.took_effect_on <= {day} THEN 'effective'
                    WHEN l.noticed_on <= {day} THEN 'notice' END"""


def record_listings(store: Store, run_id: int, actor: str = "registry", today: dt.date | None = None) -> dict[str, int]:
    """Update the listings of the run's policy from its blacklist entries; returns counts of what changed.

    Only an ordinary run moves listings: the run in force once made (``registry/scoring/runs.py: run_in_force``, the
    run decisions and pages stand on). A run whose standing, decided when it was made, is another changes no listing
    and tells no one: a what-if (dated after the registry's today then: what would be found on its date; until
    2026-12-05 it moved the listings as if its day had come, and later it came into force when its day came), a rerun
    (a past run reproduced), a past-dated run (dated before an ordinary run made before it: until 2026-12-05 such a
    run rewrote the listings as if it were the newest) or a run behind (fewer changes read than such a run). Its
    audit entry says which (``standing``) and names the run in force then (``what_if``, ``behind_run``,
    ``past_dated``: its id, or null).

    Set-based (a city has many listings): each change is one statement, each kind of notification one insert, and
    the run's changes one audit entry (the notifications name every subject and listing). Call inside the run's
    transaction (``save_run`` calls the ``run_finished`` hook there): the run, its listings and its notices are
    committed together or not at all.

    A run's notices are given on the day it is made (the registry's ``today``) when that is after its as-of date, and
    a listing it notices takes effect no sooner than that day plus the grace; what the notice says was found is as
    of the run's date. Until 2026-12-06 a run made after its date dated its notices to that date: a run as of
    2026-11-01 made on 2026-12-06 gave 25 real days of a 60-day grace, by a notice dated before it was made. The
    listings it puts in effect or ends are likewise told on that day.
    """
    run = store.rows("SELECT * FROM score_runs WHERE run_id = ?", [run_id])[0]
    as_of: dt.date = run["as_of"]
    # the day its notices are given: an ordinary run is never dated after the day it is made (that is a what-if,
    # which notices no one), so this is the registry's today for a late run and the run's date otherwise
    day = max(as_of, resolve_today(today))
    counts = {"noticed": 0, "effective": 0, "resolved": 0, "delisted": 0, "publication_ended": 0}
    standing = str(run["standing"])
    if standing != "ordinary":
        # the run in force among the runs made up to it (the one it leaves the listings with)
        sql = f"SELECT run_id FROM ({in_force_sql(made_by=run_id)}) WHERE policy_id = ?"
        in_force = store.rows(sql, [run["policy_id"]])
        kind = {"rerun": "behind_run", "behind": "behind_run"}.get(standing, standing)
        # Audited, so that no later run takes it for a run whose listings a crash left unrecorded (complete_missed).
        detail = {
            "run_id": run_id,
            "policy": run["policy_id"],
            "as_of": as_of,
            **counts,
            "standing": standing,
            kind: int(in_force[0]["run_id"]) if in_force else None,
        }
        append_audit(store, actor, "listings", None, detail)
        return counts
    loaded = get_policy(store, run["policy_id"], run["policy_version"])
    for lst in loaded.policy.lists:
        if lst.kind != "black":
            continue
        store.execute(
            """CREATE OR REPLACE TEMP TABLE sc_causes AS
            SELECT e.subject_id, e.criterion_id, coalesce(r.source_id, '') AS source_id,
                   coalesce(r.record_id, '') AS record_id, r.origin_region, max(e.record_key) AS record_key
            FROM run_list_entries e LEFT JOIN records r USING (record_key)
            WHERE e.run_id = ? AND e.list_id = ? GROUP BY ALL""",
            [run_id, lst.id],
        )
        _fill_criteria(store, lst)
        scope = {"p": loaded.policy.id, "l": lst.id, "d": as_of, "day": day, "run": run_id}
        mine = "policy_id = $p AND list_id = $l"
        absent = f"({_KEY}) NOT IN (SELECT {_KEY} FROM sc_causes)"
        present = f"({_KEY}) IN (SELECT {_KEY} FROM sc_causes)"

        def q(sql: str, extra: dict[str, Any] | None = None, scope: dict[str, Any] = scope) -> Any:
            params = {**scope, **(extra or {})}
            # DuckDB refuses parameters a statement does not use
            return store.execute(sql, {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)})

        # The cause went away: never listed (pending) or delisted (effective). Closed on the notice day (the day the
        # run is made, the day its resolved/delisted notice is dated: a run made late closed it on its as-of date,
        # and decisions made before the notice counted a listing the registry said had ended), never before an
        # event already on the listing's record (its notice, an operator's override of it, the day it took
        # effect): until 2026-12-06 a listing restored by an override on 2026-12-06 was closed by a run made
        # later as of 2026-11-01 on 2026-11-01, before the restoration.
        q(
            f"""CREATE OR REPLACE TEMP TABLE sc_ended AS
            SELECT listing_id, subject_id, criterion_id,
                   CASE WHEN status = 'pending' THEN 'resolved' ELSE 'delisted' END AS new_status,
                   greatest($day, noticed_on,
                            coalesce((SELECT max(o.on_date) FROM overrides o
                                      WHERE o.target = 'listing:' || CAST(listings.listing_id AS VARCHAR)), $day),
                            coalesce((SELECT max(t.created_on) FROM notifications t
                                      WHERE t.kind = 'listing_effective' AND t.ref_id = listings.listing_id
                                        AND t.subject_id = listings.subject_id), $day)) AS closed_on
            FROM listings WHERE {mine} AND status IN ('pending', 'effective') AND {absent}"""
        )
        q(
            """UPDATE listings SET status = e.new_status, closed_on = e.closed_on, cause_present = false,
                   last_run_id = $run
            FROM sc_ended e WHERE listings.listing_id = e.listing_id"""
        )
        _notify_ended(store, lst, day, counts)
        q(f"UPDATE listings SET cause_present = false WHERE {mine} AND cause_present AND {absent}")
        q(f"UPDATE listings SET last_run_id = $run WHERE {mine} AND {present}")
        # Past the grace period with the cause still there: in effect, and the subject told as by the daily job.
        q(
            f"""CREATE OR REPLACE TEMP TABLE sc_became AS SELECT listing_id FROM listings
            WHERE {mine} AND status = 'pending' AND effective_on <= $d AND {present}"""
        )
        counts["effective"] += len(take_effect(store, day, actor, {"run_id": run_id, "list": lst.id}))
        # Past the severity class's maximum publication period by the run's date: ended, the subject told that day.
        _end_publications(store, loaded, lst, mine, {"p": loaded.policy.id, "l": lst.id}, as_of, counts, told_on=day)
        # New causes: a notice now, the listing in effect after the grace period.
        q(
            """CREATE OR REPLACE TEMP TABLE sc_new AS
            SELECT c.*, row_number() OVER (ORDER BY c.subject_id, c.criterion_id, c.source_id, c.record_id) AS n,
                   o.noticed_on AS origin_noticed_on, o.effective_on AS origin_effective_on
            FROM sc_causes c
            -- another region's record comes with the notice and effective date of that region's listing: a mover
            -- keeps exactly the grace they had (regions/crossborder.py keeps them as each bundle reports them)
            LEFT JOIN (
                SELECT origin_region, source_id, origin_region || '/' || record_id AS record_id,
                       min(noticed_on) AS noticed_on, min(effective_on) AS effective_on
                FROM region_listings WHERE status IN ('pending', 'effective') GROUP BY ALL
            ) o ON o.origin_region = c.origin_region AND o.source_id = c.source_id AND o.record_id = c.record_id
            -- a record whose listing there has ended (repaired, overridden, ...), none in force, is not listed anew
            -- here: the listing here would have ended the same day (end_for_origin), and a mover keeps that end too
            WHERE (o.noticed_on IS NOT NULL OR c.origin_region IS NULL OR NOT EXISTS (
                SELECT 1 FROM region_listings e WHERE e.origin_region = c.origin_region AND e.source_id = c.source_id
                  AND e.origin_region || '/' || e.record_id = c.record_id))
            AND NOT EXISTS (
                SELECT 1 FROM listings x WHERE x.policy_id = $p AND x.list_id = $l
                  AND (x.status IN ('pending', 'effective')
                       -- closed while the cause is still there: no new listing for the same cause
                       OR (x.status IN ('publication_ended', 'repaired', 'overridden') AND x.cause_present))
                  AND (x.subject_id, x.criterion_id, x.source_id, x.record_id)
                      = (c.subject_id, c.criterion_id, c.source_id, c.record_id))"""
        )
        n = int(store.one("SELECT count(*) FROM sc_new"))
        if n == 0:
            continue
        counts["noticed"] += n
        effective_on = day + dt.timedelta(days=lst.grace_days)
        first = store.take_ids("listing", n)
        q(
            # A record another region shared and listed there keeps that region's notice and effective date; one it
            # did not list (or a bundle from before the dates travelled) is noticed here with this list's grace.
            """INSERT INTO listings SELECT $first + n - 1, c.subject_id, $p, $l, c.criterion_id, c.source_id,
                   c.record_id, k.severity, $run, coalesce(c.origin_noticed_on, $day),
                   coalesce(c.origin_effective_on, $eff), 'pending', NULL, true, $run
            FROM sc_new c JOIN sc_criteria k USING (criterion_id)""",
            {"first": first, "eff": effective_on},
        )
        _relation_phrases(store, loaded, lst)
        note = store.take_ids("notification", n)
        q(
            """INSERT INTO notifications
            SELECT $note + c.n - 1, c.subject_id, $day, 'listing_notice', $first + c.n - 1,
                'Notice: under the ' || $policy_en || ' you meet a criterion of the ' || $name_en || ': ' || k.en
                || coalesce(w.en, '')
                || CASE WHEN c.record_id <> '' THEN ' (record ' || c.record_id || ')' ELSE '' END
                -- a run made after its date: what it found is as of that date, the notice of the day it is made
                || CASE WHEN $d < $day THEN ', as found as of ' || CAST($d AS VARCHAR) ELSE '' END
                || CASE WHEN c.origin_noticed_on IS NULL
                        THEN '. The listing takes effect on ' || CAST($eff AS VARCHAR)
                             || ' unless the cause is resolved before then.'
                        -- that region's date passed already: the listing takes effect here at once (below), and
                        -- the notice never announces a past date as to come
                        WHEN c.origin_effective_on <= $day
                        THEN '. The record was shared by region ' || c.origin_region || ', where notice was given on '
                             || CAST(c.origin_noticed_on AS VARCHAR) || ' and the listing took effect on '
                             || CAST(c.origin_effective_on AS VARCHAR) || ': the listing takes effect here at once, on '
                             || CAST($day AS VARCHAR) || '.'
                        ELSE '. The record was shared by region ' || c.origin_region || ', where notice was given on '
                             || CAST(c.origin_noticed_on AS VARCHAR) || ': the listing takes effect on '
                             || CAST(c.origin_effective_on AS VARCHAR) || ' unless the cause is resolved before then.'
                        END
                -- a criterion on the score has no record to dispute or obligation to fulfil
                || CASE WHEN c.record_id <> '' THEN ' You may dispute the record, or fulfil the obligation.'
                        ELSE ' Your report lists the records that lower your score; you may dispute one you '
                             || 'think wrong.' END,
                '通知：根据' || $policy_zh || '，您符合' || $name_zh || '的列入条件：' || k.zh || coalesce(w.zh, '')
                || CASE WHEN c.record_id <> '' THEN '（记录 ' || c.record_id || '）' ELSE '' END
                || CASE WHEN $d < $day THEN '（截至 ' || CAST($d AS VARCHAR) || ' 的评分结果）' ELSE '' END
                || CASE WHEN c.origin_noticed_on IS NULL
                        THEN '。除非在此之前原因消除，将于 ' || CAST($eff AS VARCHAR) || ' 起列入。'
                        WHEN c.origin_effective_on <= $day
                        THEN '。该记录由地区 ' || c.origin_region || ' 共享，当地已于 '
                             || CAST(c.origin_noticed_on AS VARCHAR) || ' 发出通知，并于 '
                             || CAST(c.origin_effective_on AS VARCHAR) || ' 起列入：本地区即时列入，自 '
                             || CAST($day AS VARCHAR) || ' 起生效。'
                        ELSE '。该记录由地区 ' || c.origin_region || ' 共享，当地已于 '
                             || CAST(c.origin_noticed_on AS VARCHAR) || ' 发出通知：除非在此之前原因消除，将于 '
                             || CAST(c.origin_effective_on AS VARCHAR) || ' 起列入。' END
                || CASE WHEN c.record_id <> '' THEN '您可以对记录提出异议或履行义务。'
                        ELSE '信用报告列出了降低分数的记录；您可以对认为有误的记录提出异议。' END,
                now()
            FROM sc_new c JOIN sc_criteria k USING (criterion_id) LEFT JOIN sc_words w USING (n)""",
            {
                "note": note,
                "first": first,
                "eff": effective_on,
                "name_en": lst.name.en,
                "name_zh": lst.name.zh,
                "policy_en": loaded.policy.name.en,
                "policy_zh": loaded.policy.name.zh,
            },
        )
        # Another region's listing whose date has passed by this run takes effect now, through the one path: the
        # resident is told it took effect, after the notice, and it is audited (until 2026-12-05 it was written in
        # effect at once, and the resident heard only of a notice period already over).
        q(
            """CREATE OR REPLACE TEMP TABLE sc_became AS SELECT listing_id FROM listings
            WHERE listing_id BETWEEN $first AND $first + $n - 1 AND effective_on <= $day""",
            {"first": first, "n": n},
        )
        counts["effective"] += len(take_effect(store, day, actor, {"run_id": run_id, "list": lst.id}))
    append_audit(
        store,
        actor,
        "listings",
        None,
        # a run made after its date says the day its notices were given (a put-back re-dates a notice period from it)
        {"run_id": run_id, "policy": loaded.policy.id, "as_of": as_of, **counts}
        | ({"noticed_on": day} if day > as_of else {}),
    )
    return counts


def complete_missed(
    store: Store,
    policy_id: str | None = None,
    *,
    before: int | None = None,
    actor: str = "recovery",
    today: dt.date | None = None,
) -> list[int]:
    """Record the listings of the latest finished run of each policy (of ``policy_id`` only if given; among the runs
    before run ``before`` if given) when they were never recorded; returns the runs completed. Call inside a
    transaction.

    A run is now committed with its listings (``record_listings`` runs in its transaction), but versions before
    that committed the run first: a crash in between left a finished run without its notices and listings, which
    no later run made up for. Such a run has no ``listings`` entry in the audit log. Only the latest ordinary run
    of a policy is completed — runs are taken in order, a later run's listings supersede an earlier one's, and a
    run of another standing moves none. Its notices are given on ``today`` (the registry's today if not given), the
    day they are made.
    """
    rows = store.execute(
        """SELECT r.run_id FROM score_runs r
        WHERE r.finished_at IS NOT NULL AND ($policy IS NULL OR r.policy_id = $policy)
          AND r.run_id = (SELECT max(x.run_id) FROM score_runs x WHERE x.policy_id = r.policy_id
                          AND x.finished_at IS NOT NULL AND x.standing = 'ordinary'
                          AND ($before IS NULL OR x.run_id < $before))
          AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.action = 'listings'
                          AND TRY_CAST(json_extract_string(a.detail, '$.run_id') AS BIGINT) = r.run_id)
        ORDER BY r.run_id""",
        {"policy": policy_id, "before": before},
    ).fetchall()
    done = [int(r[0]) for r in rows]
    for run_id in done:
        record_listings(store, run_id, actor, today=today)
    return done


_ENDED = {
    "resolved": (
        "the cause was resolved during the notice period; you were not listed",
        "通知期内原因已消除，未被列入",
    ),
    "delisted": ("the cause was resolved; the listing has ended", "原因已消除，已移出名单"),
    "publication_ended": (
        "the maximum publication period has passed; the listing has ended",
        "公示期届满，已停止公示",
    ),
}


def _fill_criteria(store: Store, lst: ListSpec) -> None:
    """The temp table ``sc_criteria``: the list's criteria with their severity and reason (``_notify_ended`` words
    a notice with them)."""
    store.execute(
        "CREATE OR REPLACE TEMP TABLE sc_criteria (criterion_id VARCHAR, severity VARCHAR, en VARCHAR, zh VARCHAR)"
    )
    store.executemany(
        "INSERT INTO sc_criteria VALUES (?, ?, ?, ?)",
        [(c.id, c.severity, c.reason.en, c.reason.zh) for c in lst.criteria],
    )


def _end_publications(
    store: Store,
    loaded: LoadedPolicy,
    lst: ListSpec,
    where: str,
    params: dict[str, Any],
    on: dt.date,
    counts: dict[str, int],
    told_on: dt.date | None = None,
) -> list[int]:
    """End the effective listings of ``lst`` that ``where`` (with ``params``) names once their severity class's
    ``max_publication_days`` (in ``loaded``) have passed by ``on`` (``publication_ended``, closed on ``effective_on``
    + those days), and tell each subject on ``told_on`` (``on`` when not given; a run made after its date tells on the
    day it is made) (``_notify_ended``, after ``_fill_criteria``); returns their ids. A run
    (:func:`record_listings`) and the daily job (:func:`end_publication_due`) both end a publication here."""
    ended: list[int] = []
    for name, cls in loaded.policy.severities.items():
        store.execute(
            f"""CREATE OR REPLACE TEMP TABLE sc_ended AS
            SELECT listing_id, subject_id, criterion_id, 'publication_ended' AS new_status FROM listings
            WHERE {where} AND status = 'effective' AND severity = $sev
              AND effective_on + CAST($days AS INTEGER) <= $d""",
            {**params, "sev": name, "days": cls.max_publication_days, "d": on},
        )
        store.execute(
            """UPDATE listings SET status = 'publication_ended', closed_on = effective_on + CAST($days AS INTEGER)
            FROM sc_ended e WHERE listings.listing_id = e.listing_id""",
            {"days": cls.max_publication_days},
        )
        ended += [int(r[0]) for r in store.execute("SELECT listing_id FROM sc_ended").fetchall()]
        _notify_ended(store, lst, told_on or on, counts)
    return ended


def _notify_ended(store: Store, lst: ListSpec, on: dt.date, counts: dict[str, int]) -> None:
    """Tell each subject in ``sc_ended`` that their listing ended, and why, in a notification dated ``on``."""
    for status, (en, zh) in _ENDED.items():
        n = int(store.one("SELECT count(*) FROM sc_ended WHERE new_status = ?", [status]))
        if n == 0:
            continue
        counts[status] += n
        first = store.take_ids("notification", n)
        store.execute(
            """INSERT INTO notifications
            SELECT $first + row_number() OVER (ORDER BY listing_id) - 1, subject_id, $d, $kind, listing_id,
                   $name_en || ' (' || coalesce(k.en, criterion_id) || '): ' || $en || '.',
                   $name_zh || '（' || coalesce(k.zh, criterion_id) || '）：' || $zh || '。', now()
            FROM sc_ended LEFT JOIN sc_criteria k USING (criterion_id) WHERE new_status = $status""",
            {
                "first": first,
                "d": on,
                "kind": "listing_" + status,
                "name_en": lst.name.en,
                "name_zh": lst.name.zh,
                "en": en,
                "zh": zh,
                "status": status,
            },
        )


_ORIGIN_ENDED = {
    "resolved": ("the cause was resolved during the notice period", "通知期内原因已消除"),
    "delisted": ("the cause was resolved", "原因已消除"),
    "repaired": ("credit repair was granted", "信用修复已获批准"),
    "overridden": ("a person reviewed and overrode the listing", "经人工复核撤销"),
    "publication_ended": ("the maximum publication period passed", "公示期届满"),
}


def end_for_origin(
    store: Store, origin: str, source_id: str, origin_record_id: str, status: str, closed_on: dt.date, actor: str
) -> int:
    """End at once the listings here caused by another region's record whose listing that region ended (``status``,
    on ``closed_on``): the same day, the same way (a listing still in its notice period is ``resolved``). Returns
    how many ended. Call inside a transaction."""
    ended = store.execute(
        """UPDATE listings SET status = CASE WHEN status = 'pending' THEN 'resolved'
                                          WHEN $status IN ('repaired', 'overridden', 'publication_ended') THEN $status
                                          ELSE 'delisted' END,
                  closed_on = $closed
        WHERE source_id = $source AND record_id = $record AND status IN ('pending', 'effective')
        RETURNING listing_id, subject_id, list_id, criterion_id, status""",
        {"status": status, "closed": closed_on, "source": source_id, "record": f"{origin}/{origin_record_id}"},
    ).fetchall()
    en, zh = _ORIGIN_ENDED.get(status, _ORIGIN_ENDED["delisted"])
    for listing_id, subject_id, list_id, criterion_id, new_status in ended:
        policy_id = str(store.one("SELECT policy_id FROM listings WHERE listing_id = ?", [listing_id]))
        w = criterion_words(store, policy_id, str(list_id), str(criterion_id))
        notify(
            store,
            str(subject_id),
            "listing_" + str(new_status),
            int(listing_id),
            f"{w['list_en']} ({w['criterion_en']}): region {origin}, which recorded the record, ended its listing on "
            f"{closed_on.isoformat()} ({en}); the listing here ended the same day.",
            f"{w['list_zh']}（{w['criterion_zh']}）：记录该记录的地区 {origin} 已于 {closed_on.isoformat()} 结束列入"
            f"（{zh}），本地同日结束。",
            closed_on,
        )
    if ended:
        append_audit(
            store,
            actor,
            "listings_ended_by_origin",
            None,
            {
                "origin": origin,
                "record_id": f"{source_id}/{origin_record_id}",
                "status": status,
                "on": closed_on,
                "listings": [int(r[0]) for r in ended],
            },
        )
    return len(ended)


def criterion_words(
    store: Store, policy_id: str, list_id: str, criterion_id: str, record_key: int | None = None
) -> dict[str, str]:
    """A listing's policy, list and criterion in words (``policy_en``, ``policy_zh``, ``list_en``, ``list_zh``,
    ``criterion_en``, ``criterion_zh``), from the policy's latest version; the ids where it no longer names them.
    With the key of the listing's record, a criterion met through an organisation names it, the role and its cause
    (``relations.relation_note``), as the resident's report does."""
    out = {
        "policy_en": policy_id,
        "policy_zh": policy_id,
        "list_en": list_id,
        "list_zh": list_id,
        "criterion_en": criterion_id,
        "criterion_zh": criterion_id,
    }
    try:
        loaded = get_policy(store, policy_id)
    except NotFoundError:
        return out
    policy = loaded.policy
    out.update(policy_en=policy.name.en, policy_zh=policy.name.zh)
    lst = next((x for x in policy.lists if x.id == list_id), None)
    if lst is None:
        return out
    out.update(list_en=lst.name.en, list_zh=lst.name.zh)
    crit = next((c for c in lst.criteria if c.id == criterion_id), None)
    if crit is not None:
        out.update(criterion_en=crit.reason.en, criterion_zh=crit.reason.zh)
        note = relation_note(store, loaded, list_id, criterion_id, record_key) if crit.via is not None else None
        if note is not None:
            out.update(criterion_en=out["criterion_en"] + note[0], criterion_zh=out["criterion_zh"] + note[1])
    return out


def _record_keys(store: Store, listing_ids: list[int]) -> dict[int, int]:
    """The key of the record version the run that last found each listing's cause read (listings of a record
    only): a role record names the organisation a listing through a relation is about."""
    if not listing_ids:
        return {}
    rows = store.execute(
        """SELECT l.listing_id, max(e.record_key) FROM listings l
        JOIN run_list_entries e ON e.run_id = l.last_run_id AND e.subject_id = l.subject_id
             AND e.list_id = l.list_id AND e.criterion_id = l.criterion_id
        JOIN records r ON r.record_key = e.record_key AND r.source_id = l.source_id AND r.record_id = l.record_id
        WHERE l.listing_id IN (SELECT unnest(?)) AND l.record_id <> ''
        GROUP BY l.listing_id""",
        [listing_ids],
    ).fetchall()
    return {int(listing): int(key) for listing, key in rows}


def activate_due(store: Store, today: dt.date, actor: str = "registry") -> list[int]:
    """The daily job: a listing of a record criterion whose notice period is over takes effect on its date, without
    waiting for the next score run, when the run that last found its cause still stands for it — its record has no
    version newer than that run read, no dispute of the record is open (either could have removed the cause; the
    next run decides those), and the record has not aged out of its criterion's ``within_days`` by ``today`` (a run
    of that day would not find it: :func:`_drop_aged_out`). Each resident is told and one audit entry names the
    listings, as when a run puts them in effect (:func:`take_effect`). Returns their ids.

    Before, a listing took effect only at the first run on or after its date, so with no run since, the operator's
    cases page kept showing as "in grace" listings whose date had passed. A listing of a criterion on the score
    (``score_floor``: no record) is left to the first run on or after its date, as a run notices it: nothing the job
    reads says the score is still below the floor that day (until 2026-12-05 the job listed such a subject whose
    score had recovered since the notice)."""
    with store.transaction():
        store.execute(
            """CREATE OR REPLACE TEMP TABLE sc_became AS SELECT listing_id FROM listings
            WHERE status = 'pending' AND effective_on <= $today AND cause_present
              -- a criterion on the score (no record) is the run's to judge: any record, or a day's decay, moves it
              AND record_id <> ''
              AND NOT EXISTS (
                  SELECT 1 FROM records r JOIN score_runs s ON s.run_id = listings.last_run_id
                  WHERE listings.record_id <> '' AND r.source_id = listings.source_id
                    AND r.record_id = listings.record_id AND r.record_key > s.watermark)
              AND NOT EXISTS (
                  SELECT 1 FROM disputes d WHERE d.status = 'open' AND d.source_id = listings.source_id
                    AND d.record_id = listings.record_id)""",
            {"today": today},
        )
        _drop_aged_out(store, today)
        return take_effect(store, today, actor)


def _drop_aged_out(store: Store, today: dt.date) -> None:
    """Leave out of ``sc_became`` each listing of a record criterion with ``within_days`` whose record has aged out
    of it by ``today`` (its event date is ``within_days`` or more before): a run of that day no longer finds the
    cause (the compiler's ``event_date > as_of - within_days``), so the listing is the next run's to resolve, never in
    effect meanwhile. The criterion is read from the policy version of the run that last found the cause."""
    criteria = store.execute(
        """SELECT DISTINCT l.policy_id, s.policy_version, l.list_id, l.criterion_id FROM listings l
        JOIN score_runs s ON s.run_id = l.last_run_id
        WHERE l.listing_id IN (SELECT listing_id FROM sc_became) AND l.record_id <> '' ORDER BY ALL"""
    ).fetchall()
    windows = []
    for policy_id, version, list_id, criterion_id in criteria:
        try:
            crit = get_policy(store, str(policy_id), str(version)).policy.criterion(str(list_id), str(criterion_id))
        except (NotFoundError, KeyError):
            continue
        if crit.record is not None and crit.record.within_days:
            windows.append((policy_id, version, list_id, criterion_id, crit.record.within_days))
    if not windows:
        return
    store.execute(
        """CREATE OR REPLACE TEMP TABLE sc_windows (policy_id VARCHAR, policy_version VARCHAR, list_id VARCHAR,
        criterion_id VARCHAR, within_days INTEGER)"""
    )
    store.executemany("INSERT INTO sc_windows VALUES (?, ?, ?, ?, ?)", windows)
    store.execute(
        """DELETE FROM sc_became WHERE listing_id IN (
            SELECT l.listing_id FROM listings l
            JOIN score_runs s ON s.run_id = l.last_run_id
            JOIN sc_windows w ON w.policy_id = l.policy_id AND w.policy_version = s.policy_version
                 AND w.list_id = l.list_id AND w.criterion_id = l.criterion_id
            JOIN records r ON r.source_id = l.source_id AND r.record_id = l.record_id
            WHERE l.listing_id IN (SELECT listing_id FROM sc_became)
            QUALIFY r.record_key = max(r.record_key) OVER (PARTITION BY l.listing_id)
                AND r.event_date <= CAST($today AS DATE) - w.within_days)""",
        {"today": today},
    )


def end_publication_due(store: Store, today: dt.date, actor: str = "registry") -> list[int]:
    """The daily job: an effective listing whose severity class's ``max_publication_days`` have passed ends
    (``publication_ended``, closed on ``effective_on`` + those days) on its date, without waiting for the next score
    run, as a run on or after that day ends it (:func:`record_listings`): the resident is told, one
    ``listings_publication_ended`` audit entry names the listings. Returns their ids. The cause still present, no
    run lists it anew (``cause_present``).

    Before, only a run ended a publication, so with no run since, a listing stayed effective — public, refusing
    services — past the longest publication its severity allows. The severities are those of the policy version of
    the listing's last run (as :func:`record_listings` and ``_drop_aged_out`` read them), not of a newer version no
    run has applied yet."""
    ended: list[int] = []
    with store.transaction():
        kinds = store.execute(
            """SELECT DISTINCT l.policy_id, s.policy_version, l.list_id FROM listings l
            JOIN score_runs s ON s.run_id = l.last_run_id WHERE l.status = 'effective' ORDER BY ALL"""
        ).fetchall()
        for policy_id, version, list_id in kinds:
            try:
                loaded = get_policy(store, str(policy_id), str(version))
            except NotFoundError:
                continue
            lst = next((x for x in loaded.policy.lists if x.id == list_id), None)
            if lst is None:
                continue
            _fill_criteria(store, lst)
            ended += _end_publications(
                store,
                loaded,
                lst,
                "policy_id = $p AND list_id = $l AND last_run_id IN "
                "(SELECT run_id FROM score_runs WHERE policy_id = $p AND policy_version = $v)",
                {"p": policy_id, "v": version, "l": list_id},
                today,
                {"publication_ended": 0},
            )
        if ended:
            append_audit(store, actor, "listings_publication_ended", None, {"on": today, "listings": sorted(ended)})
    return sorted(ended)


def take_effect(store: Store, on: dt.date, actor: str, detail: dict[str, Any] | None = None) -> list[int]:
    """Put in effect the pending listings named by the temp table ``sc_became`` (``listing_id``) and tell each subject
    once (``listing_effective``: the list and criterion in words, for a listing through an organisation its name,
    role and cause — ``criterion_words``, ``relations.relation_notes``), dated ``on``, saying it is in effect since
    ``on`` when that is after its ``effective_on`` (a run dated after it: the listing was not in effect, nor counted,
    before; until 2026-12-05 the notice said since ``effective_on``); one ``listings_effective``
    audit entry names them (with ``detail``). Returns their ids. The one path by which a listing takes effect after
    its notice: a score run (``record_listings``) and the daily job (``activate_due``). Call inside a transaction.

    Set-based: the words are worked out once per criterion, the organisation's only for listings through one."""
    store.execute("UPDATE listings SET status = 'effective' WHERE listing_id IN (SELECT listing_id FROM sc_became)")
    criteria = store.execute(
        """SELECT DISTINCT policy_id, list_id, criterion_id FROM listings
        WHERE listing_id IN (SELECT listing_id FROM sc_became) ORDER BY ALL"""
    ).fetchall()
    if not criteria:
        return []
    words, notes = [], []
    for policy_id, list_id, criterion_id in criteria:
        w = criterion_words(store, str(policy_id), str(list_id), str(criterion_id))
        words.append(
            (policy_id, list_id, criterion_id, *(w[k] for k in ("list_en", "list_zh", "criterion_en", "criterion_zh")))
        )
        try:
            loaded = get_policy(store, str(policy_id))
            via = loaded.policy.criterion(str(list_id), str(criterion_id)).via
        except (NotFoundError, KeyError):
            continue
        if via is None:
            continue
        ids = [
            int(r[0])
            for r in store.execute(
                """SELECT listing_id FROM listings WHERE listing_id IN (SELECT listing_id FROM sc_became)
                AND policy_id = ? AND list_id = ? AND criterion_id = ? ORDER BY listing_id""",
                [policy_id, list_id, criterion_id],
            ).fetchall()
        ]
        keys = _record_keys(store, ids)
        entries = [(str(list_id), str(criterion_id), keys.get(i)) for i in ids]
        for i, note in zip(ids, relation_notes(store, loaded, entries), strict=True):
            if note is not None:
                notes.append((i, note[0], note[1]))
    store.execute(
        """CREATE OR REPLACE TEMP TABLE sc_effective_words (policy_id VARCHAR, list_id VARCHAR, criterion_id VARCHAR,
        list_en VARCHAR, list_zh VARCHAR, criterion_en VARCHAR, criterion_zh VARCHAR)"""
    )
    store.executemany("INSERT INTO sc_effective_words VALUES (?, ?, ?, ?, ?, ?, ?)", words)
    store.execute("CREATE OR REPLACE TEMP TABLE sc_effective_notes (listing_id BIGINT, en VARCHAR, zh VARCHAR)")
    if notes:
        store.executemany("INSERT INTO sc_effective_notes VALUES (?, ?, ?)", notes)
    # never a second notice of the same listing taking effect (one withdrawn since, ``withdrawals.py``, was not given)
    store.execute(
        f"""CREATE OR REPLACE TEMP TABLE sc_effective_told AS
        SELECT l.listing_id, l.subject_id, l.policy_id, l.list_id, l.criterion_id, l.effective_on,
               row_number() OVER (ORDER BY l.listing_id) AS n
        FROM listings l WHERE l.listing_id IN (SELECT listing_id FROM sc_became)
          AND l.listing_id NOT IN (SELECT t.ref_id FROM notifications t
                                   WHERE t.kind = 'listing_effective' AND t.ref_id IS NOT NULL AND {NOT_WITHDRAWN})"""
    )
    told = int(store.one("SELECT count(*) FROM sc_effective_told"))
    if told:
        first = store.take_ids("notification", told)
        store.execute(
            """INSERT INTO notifications
            SELECT $first + t.n - 1, t.subject_id, $on, 'listing_effective', t.listing_id,
                   w.list_en || ' (' || w.criterion_en || coalesce(x.en, '') || '): the notice period ended; you have '
                   || 'been listed since ' || CAST(greatest(t.effective_on, $on) AS VARCHAR) || '.',
                   w.list_zh || '（' || w.criterion_zh || coalesce(x.zh, '') || '）：通知期已满，自 '
                   || CAST(greatest(t.effective_on, $on) AS VARCHAR) || ' 起已被列入。',
                   now()
            FROM sc_effective_told t JOIN sc_effective_words w USING (policy_id, list_id, criterion_id)
            LEFT JOIN sc_effective_notes x USING (listing_id)""",
            {"first": first, "on": on},
        )
    ids = [int(r[0]) for r in store.execute("SELECT listing_id FROM sc_became ORDER BY listing_id").fetchall()]
    append_audit(store, actor, "listings_effective", None, {"on": on, **(detail or {}), "listings": ids})
    return ids


def _relation_phrases(store: Store, loaded: LoadedPolicy, lst: ListSpec) -> None:
    """``sc_words`` (n, en, zh): for each new cause in ``sc_new`` met through an organisation, the words naming the
    organisation, the role and its cause (``relations.relation_notes``); none for the others, so a list without a
    relation criterion costs one empty table."""
    store.execute("CREATE OR REPLACE TEMP TABLE sc_words (n BIGINT, en VARCHAR, zh VARCHAR)")
    via = [c.id for c in lst.criteria if c.via is not None]
    if not via:
        return
    rows = store.execute(
        """SELECT n, criterion_id, record_key FROM sc_new
        WHERE list_contains(?, criterion_id) AND record_id <> '' AND record_key IS NOT NULL ORDER BY n""",
        [via],
    ).fetchall()
    entries = [(lst.id, str(cid), int(key)) for _, cid, key in rows]
    notes = [
        (int(row[0]), note[0], note[1])
        for row, note in zip(rows, relation_notes(store, loaded, entries), strict=True)
        if note is not None
    ]
    if notes:
        store.executemany("INSERT INTO sc_words VALUES (?, ?, ?)", notes)


def list_listings(
    store: Store,
    *,
    subject_id: str | None = None,
    policy_id: str | None = None,
    status: str | None = None,
    actor: str | None = None,
    purpose: str | None = None,
    after: int | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Listings (with their notices), newest first, a page of them with ``after`` (the last listing_id of the page
    before) and ``limit``; a status that is none of ``LISTING_STATUSES`` is refused (as
    ``list_disputes`` refuses one), not answered as if there were no such listings. With ``actor``, a look-up
    audited as ``read_notices`` (the filters, how many it named, and ``purpose`` when given, as ``list_disputes``
    says it)."""
    if status is not None and status not in LISTING_STATUSES:
        raise bad_status(status, LISTING_STATUSES)
    filters = (("subject_id", subject_id), ("policy_id", policy_id), ("status", status))
    rows = store.rows(*newest_first("listings", "listing_id", filters, after=after, limit=limit))
    if actor is not None:
        with store.transaction():
            detail: dict[str, Any] = {"policy_id": policy_id, "status": status, "entries": len(rows)}
            if purpose is not None:
                detail["purpose"] = purpose
            append_audit(store, actor, "read_notices", subject_id, detail)
    keys = (
        "listing_id",
        "subject_id",
        "policy_id",
        "list_id",
        "criterion_id",
        "source_id",
        "record_id",
        "severity",
        "noticed_on",
        "effective_on",
        "status",
        "closed_on",
    )
    return [{k: (iso(r[k]) if r[k] != "" else None) for k in keys} for r in rows]


def took_effect_days(store: Store, listings: list[dict[str, Any]]) -> None:
    """Add to each of ``listings`` (as :func:`list_listings` gives them) ``took_effect_on``: the day it actually
    took effect, as its subject was told (``listing_effective``, dated by the run or daily job that put it in
    effect, never before ``effective_on``); ``effective_on`` for one in effect with no such notice; None for one
    that never took effect. The day the resident's page and the public look-up say
    (reporting/listing_details._took_effect_on, public_lists)."""
    ids = [int(x["listing_id"]) for x in listings]
    told: dict[int, dt.date] = {}
    if ids:
        rows = store.execute(
            "SELECT l.listing_id, greatest(l.effective_on, min(t.created_on)) FROM listings l "
            "JOIN notifications t ON t.kind = 'listing_effective' AND t.ref_id = l.listing_id "
            f"AND t.subject_id = l.subject_id AND {NOT_WITHDRAWN} WHERE list_contains(?, l.listing_id) "
            "GROUP BY l.listing_id, l.effective_on",
            [ids],
        ).fetchall()
        told = {int(i): day for i, day in rows}
    for x in listings:
        day = told.get(int(x["listing_id"]))
        x["took_effect_on"] = iso(day) if day is not None else x["effective_on"] if x["status"] == "effective" else None


def effective_lists(store: Store, run: dict[str, Any], subject_id: str, raw: list[str]) -> list[str]:
    """The lists a subject is on for decisions: redlists as the run found them, blacklists only when effective."""
    loaded = get_policy(store, run["policy_id"], run["policy_version"])
    black = {lst.id for lst in loaded.policy.lists if lst.kind == "black"}
    if not black & set(raw):
        return list(raw)
    effective = {
        str(r[0])
        for r in store.execute(
            "SELECT DISTINCT list_id FROM listings WHERE policy_id = ? AND subject_id = ? AND status = 'effective'",
            [run["policy_id"], subject_id],
        ).fetchall()
    }
    return [x for x in raw if x not in black or x in effective]


def blacklist_ids(store: Store, versions: list[tuple[Any, Any]]) -> set[str]:
    """The blacklists of the policy versions ``versions`` (policy id, version), each as ``policy/list``; none of a
    version not published here (its runs' lists count as they found them; until 2026-12-06 ``inquiry_lists`` failed
    on one)."""
    out: set[str] = set()
    for policy_id, version in versions:
        try:
            loaded = get_policy(store, str(policy_id), str(version))
        except NotFoundError:
            continue
        out |= {f"{policy_id}/{lst.id}" for lst in loaded.policy.lists if lst.kind == "black"}
    return out


def inquiry_lists(store: Store, subject_id: str, inquiry_ids: list[int]) -> dict[int, list[str]]:
    """The lists each of the subject's inquiries (by id) found the subject on, as its decision counted them: the
    lists kept with the inquiry when it was decided (``inquiries.lists``, store migration 48), whatever became of a
    listing since (delisted, withdrawn after a dispute, restored by an override) and whatever the registry's today
    was (a batch or quick refusal's are its run's where they differ in nothing: ``inquiries.with_run_lists``). An
    inquiry kept without them (written before migration 48, or a batch or quick refusal before 2026-12-07) has them
    worked out again, as near as the store now can: its run's lists, a
    blacklist only when one of the subject's listings on it was in effect on the UTC date it was asked
    (``standing_on_sql``), not in its notice period, by the listings as they now stand. Until 2026-12-06 every
    inquiry's lists were worked out that way, and a file could name a measure for a blacklist its refusal did not
    count, or leave out one it did."""
    if not inquiry_ids:
        return {}
    kept = {
        int(inquiry_id): sorted(set(map(str, lists)))
        for inquiry_id, lists in store.execute(
            "SELECT inquiry_id, lists FROM inquiries WHERE subject_id = ? AND list_contains(?, inquiry_id) "
            "AND lists IS NOT NULL",
            [subject_id, inquiry_ids],
        ).fetchall()
    }
    out = {inquiry_id: lists for inquiry_id, lists in kept.items() if lists}
    inquiry_ids = [i for i in inquiry_ids if i not in kept]
    if not inquiry_ids:
        return out
    black = blacklist_ids(
        store,
        store.execute(
            "SELECT DISTINCT s.policy_id, s.policy_version FROM inquiries i JOIN score_runs s USING (run_id) "
            "WHERE list_contains(?, i.inquiry_id)",
            [inquiry_ids],
        ).fetchall(),
    )
    for inquiry_id, list_id in store.execute(
        f"""SELECT DISTINCT i.inquiry_id, e.list_id FROM inquiries i JOIN score_runs s USING (run_id)
        JOIN run_list_entries e ON e.run_id = i.run_id AND e.subject_id = i.subject_id
        WHERE i.subject_id = $subject AND list_contains($ids, i.inquiry_id)
          AND (NOT list_contains($black, s.policy_id || '/' || e.list_id) OR EXISTS (
              SELECT 1 FROM ({TOOK_EFFECT_SQL}) l
              WHERE l.policy_id = s.policy_id AND l.list_id = e.list_id AND l.subject_id = e.subject_id
                AND {standing_on_sql("CAST(i.asked_at AS DATE)")} = 'effective'))
        ORDER BY ALL""",
        {"subject": subject_id, "ids": inquiry_ids, "black": sorted(black) or [""]},
    ).fetchall():
        out.setdefault(int(inquiry_id), []).append(str(list_id))
    return out


def effective_results(store: Store, run: dict[str, Any]) -> pa.Table:
    """For the subjects whose effective lists differ from the run's: the lists decisions see, and their grants
    (columns subject_id, lists, grants).

    A subject with no effective listing at all (every one in its notice period) has its lists filtered by a lambda
    that names only constants, which DuckDB evaluates a vector at a time; one naming the joined listings is evaluated
    row by row and is kept for the others.

    Set-based: the lists and grants of every subject on a blacklist of the run are worked out in one query (the
    services' conditions compiled as the run's own grants are), and handed over as Arrow, so a run with hundreds of
    thousands of subjects in their notice period costs no Python object per subject."""
    import pyarrow as pa  # here: the commands that never hand over Arrow (`due run`) import none, nor numpy

    loaded = get_policy(store, run["policy_id"], run["policy_version"])
    black = sorted(lst.id for lst in loaded.policy.lists if lst.kind == "black")
    if not black:
        return pa.table(
            {
                "subject_id": pa.array([], pa.string()),
                "lists": pa.array([], pa.list_(pa.string())),
                "grants": pa.array([], pa.int64()),
            }
        )
    plan = ScorePlan(loaded, as_of=run["as_of"])
    facts = ", ".join(f.sql(dialect="duckdb") for f in plan.result_facts())
    rows: pa.Table = store.execute(
        f"""WITH effective AS (
                SELECT subject_id, list(DISTINCT list_id) AS lists FROM listings
                WHERE policy_id = $policy AND status = 'effective' GROUP BY subject_id
            ), seen AS (
                SELECT r.* REPLACE (CASE WHEN e.lists IS NULL
                                         THEN list_filter(r.lists, x -> NOT list_contains($black, x))
                                         ELSE list_filter(r.lists, x -> NOT list_contains($black, x)
                                                                   OR list_contains(e.lists, x)) END AS lists),
                       r.lists AS run_lists
                FROM {run_rows(store, "run_results", run["run_id"])} r LEFT JOIN effective e USING (subject_id)
                WHERE list_has_any(r.lists, $black)
            )
            SELECT subject_id, lists, {plan.grants().sql(dialect="duckdb")} AS grants
            FROM (SELECT subject_id, lists, {facts} FROM seen WHERE lists <> run_lists)""",
        {"policy": run["policy_id"], "black": black},
    ).to_arrow_table()
    return rows


def ended_since_run(store: Store, run_id: int, subject_id: str) -> list[dict[str, Any]]:
    """The subject's listings that run ``run_id`` found (the list is among its lists for the subject) and that have
    ended since, outside a run (an unlink, a repair, a dispute, the origin region): that run's score and reasons
    still count their record until the next run. Each: list_id, criterion_id, record_id, status, closed_on (ISO),
    and the run's as_of (ISO); oldest end first."""
    return [
        {k: iso(v) for k, v in r.items()}
        for r in store.rows(
            f"""SELECT l.list_id, l.criterion_id, l.record_id, l.status, l.closed_on, s.as_of FROM listings l
            JOIN score_runs s ON s.run_id = $run AND l.policy_id = s.policy_id
            JOIN {run_rows(store, "run_results", run_id)} rr ON rr.run_id = s.run_id AND rr.subject_id = l.subject_id
            WHERE l.subject_id = $subject AND l.status NOT IN ('pending', 'effective') AND l.closed_on IS NOT NULL
              AND l.last_run_id <= s.run_id AND list_contains(rr.lists, l.list_id)
            ORDER BY l.closed_on, l.listing_id""",
            {"run": run_id, "subject": subject_id},
        )
    ]
