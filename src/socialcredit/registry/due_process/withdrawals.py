"""Putting back the listings that a run not in force moved (``socialcredit due put-back-listings``).

Only the run in force moves listings (``listings.record_listings``), but the releases before 2026-12-05 let any run
move them: a what-if (``score --as-of`` a date after the registry's today) put a listing in its notice period in
effect early, dated the what-if's day, made public and refusing services, and the resident was told; a past-dated
run or a rerun noticed causes only it found. Migration 45 marks such a run by its standing (``what_if``, ``rerun``,
``past_dated``, ``behind``) and puts the ordinary run before it in force, but the listings it moved stayed where it
left them, and no later run takes them back (a run only moves a listing forward).

:func:`put_back_listings` finds them by the record of the move — the ``listings_effective`` audit entry names the
run that put each listing in effect (``run_id``; the daily job's names none), and a listing names the run that
noticed it (``listings.notice_run_id``) — and puts each back to what the policy's run in force
(``runs.run_in_force``) gives. A run not in force is one so marked, or one made before migration 45 and dated before
an ordinary run made before it (past-dated: migration 45 marked such runs of that release ``ordinary``; made last,
it is the run in force all the same, and its notices stand). Both moves are judged: a listing noticed by such a run
has its notice period re-dated from the first ordinary run made after it that found the cause, never shorter.

* put in effect by a run not in force, still in effect: in its notice period (``pending``) when the run in force
  finds its cause and is dated before its ``effective_on``, which is still to come; in effect since the day of the
  repair when that day has come (never back in a notice period already over); in effect since the later of
  ``effective_on`` and the run in force's date when that run is dated on or after it; ``resolved`` (never listed)
  when the run in force does not find its cause;
* put in effect by such a run and since ended by an ordinary run before its ``effective_on`` (``delisted``):
  ``resolved``, as that run would have closed a listing in its notice period;
* noticed by a run not in force, still pending or in effect: ``resolved`` (closed on ``today``) unless a run in
  force made after it finds the cause (the listing then stands as that run would have kept it, re-dated).

A listing put in effect here takes effect by ``listings.take_effect`` in the same transaction, its notice dated the
day it takes effect. Each listing put back has an audit entry of its own (``listing_put_back``: the listing, the run
that moved it and its standing, the run in force, the statuses before and after, the reason in words), and the
resident is told: a ``listing_withdrawn`` notification in their file (both languages, quoting the withdrawn notice by
its date), and the same words queued in the outbox on the configured channel (``outbox.queue_messages``; only queued:
nothing here sends it). A listing put back once is never put back again (its audit entry), so running it twice
changes nothing, and a listing put back that later takes effect at the end of its notice period is told so again
(``listings.take_effect`` counts a withdrawn notice as not given).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from socialcredit.clock import resolve_today
from socialcredit.registry.access.audit import append_audits
from socialcredit.registry.common import with_values
from socialcredit.registry.due_process.listings import NOT_WITHDRAWN, criterion_words, take_effect
from socialcredit.registry.due_process.notifications import notify_many
from socialcredit.registry.due_process.outbox import queue_messages
from socialcredit.registry.scoring.runs import in_force_sql
from socialcredit.store import Store

__all__ = ["STANDING_WORDS", "put_back_listings"]

# a run's standing in words, in a notice (registry/scoring/runs.py names the standings)
STANDING_WORDS = {
    "what_if": ("a what-if dated ahead of its day", "日期在当日之后的假设评分"),
    "rerun": ("a rerun of a past run", "对过去评分的重算"),
    "past_dated": ("a run dated before the run then in force", "日期早于当时生效评分的评分"),
    "behind": ("a run that read fewer changes than the run then in force", "读取变更少于当时生效评分的评分"),
}

# The runs not in force: those marked so, and a run made before migration 45 (started before it was applied) dated
# before an ordinary run made before it: past-dated, though migration 45 marked it ordinary (the release before
# 2026-12-05 wrote a ``listings`` audit entry for every run, without the keys migration 45 reads).
_RUNS_OUT = """
SELECT r.run_id, r.as_of, CASE WHEN r.standing <> 'ordinary' THEN r.standing ELSE 'past_dated' END AS standing
FROM score_runs r
WHERE r.standing <> 'ordinary'
   OR (r.started_at < (SELECT min(applied_at) FROM schema_version WHERE version = 45)
       AND EXISTS (SELECT 1 FROM score_runs p WHERE p.policy_id = r.policy_id AND p.run_id < r.run_id
                   AND p.as_of > r.as_of AND p.standing = 'ordinary' AND p.finished_at IS NOT NULL))
"""

# A run's entry for a listing's cause (``e``, a run's ``run_list_entries``; ``l``, the listing)
_CAUSE = """run_list_entries e LEFT JOIN records r USING (record_key)
    WHERE e.list_id = l.list_id AND e.subject_id = l.subject_id AND e.criterion_id = l.criterion_id
      AND coalesce(r.source_id, '') = l.source_id AND coalesce(r.record_id, '') = l.record_id"""

# The listings a run not in force moved and that were not put back yet: the run that put it in effect
# (``effected_by``) and the one that noticed it (``noticed_by``), each if not in force, and what the policy's run in
# force says of the cause.
_MOVED = f"""
WITH runs_out AS ({_RUNS_OUT}),
effected AS (
    SELECT CAST(json_extract(detail, '$.run_id') AS BIGINT) AS run_id,
           unnest(CAST(json_extract(detail, '$.listings') AS BIGINT[])) AS listing_id
    FROM audit_log WHERE action = 'listings_effective' AND json_extract(detail, '$.run_id') IS NOT NULL
),
moved AS (
    SELECT l.listing_id, 'noticed' AS how, l.notice_run_id AS moved_by FROM listings l
    WHERE l.notice_run_id IN (SELECT run_id FROM runs_out) AND l.status IN ('pending', 'effective')
    UNION ALL
    SELECT e.listing_id, 'effective', e.run_id FROM effected e JOIN listings l USING (listing_id)
    WHERE e.run_id IN (SELECT run_id FROM runs_out)
      AND (l.status = 'effective' OR (l.status = 'delisted' AND l.closed_on < l.effective_on))
),
by_listing AS (
    SELECT listing_id, max(moved_by) FILTER (WHERE how = 'effective') AS effected_by,
           max(moved_by) FILTER (WHERE how = 'noticed') AS noticed_by
    FROM moved GROUP BY listing_id
),
done AS (
    SELECT DISTINCT CAST(json_extract(detail, '$.listing_id') AS BIGINT) AS listing_id FROM audit_log
    WHERE action = 'listing_put_back'
),
force AS ({in_force_sql()}),
-- the day a run made after its date gave its notices (its ``listings`` audit entry says it; a run made on its date,
-- or by a release before 2026-12-06, gave them on its date)
told AS (
    SELECT CAST(json_extract(detail, '$.run_id') AS BIGINT) AS run_id,
           max(CAST(json_extract_string(detail, '$.noticed_on') AS DATE)) AS day
    FROM audit_log WHERE action = 'listings' AND json_extract(detail, '$.noticed_on') IS NOT NULL GROUP BY ALL
)
SELECT l.listing_id, l.subject_id, l.policy_id, l.list_id, l.criterion_id, l.source_id, l.record_id, l.status,
       l.effective_on, l.noticed_on, l.closed_on, m.effected_by, m.noticed_by,
       CASE WHEN m.effected_by IS NOT NULL THEN 'effective' ELSE 'noticed' END AS how,
       coalesce(m.effected_by, m.noticed_by) AS moved_by, o.as_of AS moved_as_of, o.standing,
       n.as_of AS noticed_as_of, n.standing AS noticed_standing, f.run_id AS in_force, f.as_of AS in_force_as_of,
       coalesce(ft.day, f.as_of) AS in_force_told_on,
       (SELECT max(t.created_on) FROM notifications t WHERE t.kind = 'listing_effective' AND t.ref_id = l.listing_id
          AND {NOT_WITHDRAWN}) AS told_on,
       EXISTS (SELECT 1 FROM {_CAUSE} AND e.run_id = f.run_id) AS found,
       (SELECT min_by(coalesce(t.day, q.as_of), q.run_id) FROM score_runs q LEFT JOIN told t USING (run_id)
        WHERE q.policy_id = l.policy_id AND q.standing = 'ordinary' AND q.finished_at IS NOT NULL
          AND q.run_id > m.noticed_by AND q.run_id <= f.run_id AND q.run_id NOT IN (SELECT run_id FROM runs_out)
          AND EXISTS (SELECT 1 FROM {_CAUSE} AND e.run_id = q.run_id)) AS first_found_on
FROM by_listing m JOIN listings l USING (listing_id) JOIN runs_out o ON o.run_id = coalesce(m.effected_by, m.noticed_by)
LEFT JOIN runs_out n ON n.run_id = m.noticed_by
LEFT JOIN force f ON f.policy_id = l.policy_id
LEFT JOIN told ft ON ft.run_id = f.run_id
WHERE l.listing_id NOT IN (SELECT listing_id FROM done WHERE listing_id IS NOT NULL)
ORDER BY l.listing_id
"""


def _target(row: dict[str, Any], day: dt.date) -> tuple[str, dt.date, dt.date | None] | None:
    """What the run in force gives the listing: (``pending``, its ``effective_on``, None), (``effective``, its
    ``effective_on``, the day it takes effect) or (``resolved``, ``effective_on``, None); None to leave it as it is.

    Both moves are judged: a listing noticed by a run not in force stands only if a run in force made after it finds
    the cause, and then its notice period runs from the date of the first ordinary run made after it that found the
    cause, or the later day that run was made on and gave its notices (a past-dated run's notice is never shorter
    than that run gives); a listing put in effect by a run not in force takes effect no earlier than the run in force
    (on or before its date) or ``day`` (its notice period over by then) says."""
    found, in_force, effective_on = bool(row["found"]), row["in_force"], row["effective_on"]
    effected_by, noticed_by = row["effected_by"], row["noticed_by"]
    if in_force is not None and (int(in_force) == effected_by or (effected_by is None and int(in_force) == noticed_by)):
        return None  # the run in force moved it itself
    if row["status"] == "delisted" or not found or in_force is None:
        return ("resolved", effective_on, None)
    # a run that noticed it and is the run in force after all (the newest made, past-dated by migration 45's rule
    # only) keeps its notice: only the early effect is judged
    if noticed_by is not None and int(in_force) != int(noticed_by):
        if int(in_force) < int(noticed_by):
            return ("resolved", effective_on, None)
        # re-dated from the first ordinary run made after it that found the cause (the run in force if none): the
        # same notice period from the day that run gave its notices (its date, or the later day it was made on),
        # however late the repair is run
        start = row["first_found_on"] or row["in_force_told_on"]
        effective_on = max(effective_on, start + (row["effective_on"] - row["noticed_on"]))
    redated = effective_on != row["effective_on"]
    if row["status"] == "pending":
        if not redated:
            return None
        return ("pending", effective_on, None) if effective_on > day else ("effective", effective_on, day)
    if effective_on <= row["in_force_as_of"]:
        since = max(effective_on, row["in_force_as_of"])
        if not redated and row["told_on"] is not None and row["told_on"] <= since:
            return None  # in effect as the run in force gives it, and told so
        return ("effective", effective_on, since)
    if effective_on <= day:
        return ("effective", effective_on, day)
    return ("pending", effective_on, None)


# listings put back a page at a time: each page's changes in a few statements, its texts held in memory
PAGE = 10_000


def put_back_listings(
    store: Store,
    today: dt.date | None = None,
    *,
    actor: str = "registry",
    channel: str = "outbox",
    left: list[int] | None = None,
) -> list[dict[str, Any]]:
    """Put back each listing a run not in force moved to what the run in force gives (module docstring); returns
    what was put back, each: listing_id, subject_id, moved_by (the run), standing, in_force (the run, or None),
    status_before, status (after). The resident's message is queued on ``channel``. ``left``, if given, receives
    the ids of the listings found but left as they are today (a later run in force may move them yet).

    Set-based, in one transaction: the listings are put back a page (``PAGE``) at a time, in order of their ids, each
    page's listings updated, notices written, messages queued and audit entries appended in a statement each (the
    ids, the entries and their chain as one listing after the other would give them)."""
    day = resolve_today(today)
    done: list[dict[str, Any]] = []
    words: dict[tuple[str, str, str], dict[str, str]] = {}
    taking: dict[dt.date, list[int]] = {}
    with store.transaction():
        found = [(row, _target(row, day)) for row in store.rows(_MOVED)]
        todo = [(row, target) for row, target in found if target is not None]
        if left is not None:
            left.extend(int(row["listing_id"]) for row, target in found if target is None)
        for at in range(0, len(todo), PAGE):
            page = todo[at : at + PAGE]
            done.extend(_put_back(store, page, day, actor, channel, words))
            for row, (_, _, on) in page:
                if on is not None:
                    taking.setdefault(on, []).append(int(row["listing_id"]))
        # in effect as the run in force gives it: told so anew, dated the day it takes effect (the withdrawn notice
        # was not given, ``listings.NOT_WITHDRAWN``)
        for on, ids in sorted(taking.items()):
            with_values(
                store, {"listing_id": ("int64", ids)}, "CREATE OR REPLACE TEMP TABLE sc_became AS FROM sc_values"
            )
            take_effect(store, on, actor, {"put_back": True})
    return done


def _put_back(
    store: Store,
    page: list[tuple[dict[str, Any], tuple[str, dt.date, dt.date | None]]],
    day: dt.date,
    actor: str,
    channel: str,
    words: dict[tuple[str, str, str], dict[str, str]],
) -> list[dict[str, Any]]:
    """Put back the listings of ``page`` (each its row of ``_MOVED`` and its target), in order: the listings
    updated, then each resident's notice in their file, the message in the outbox and the audit entry."""
    put = []
    for row, (status, effective_on, _) in page:
        resolved = status == "resolved"
        put.append(
            (
                int(row["listing_id"]),
                resolved,
                (row["closed_on"] if row["status"] == "delisted" else day) if resolved else None,
                effective_on,
                bool(row["found"]) if resolved else True,
                None if row["in_force"] is None else int(row["in_force"]),
            )
        )
    # resolved: closed, its cause as the run in force finds it; else pending, or pending until take_effect puts it in
    # effect (put_back_listings)
    with_values(
        store,
        {
            "listing_id": ("int64", [p[0] for p in put]),
            "resolved": ("bool", [p[1] for p in put]),
            "closed_on": ("date32", [p[2] for p in put]),
            "effective_on": ("date32", [p[3] for p in put]),
            "cause_present": ("bool", [p[4] for p in put]),
            "in_force": ("int64", [p[5] for p in put]),
        },
        """UPDATE listings SET
            status = CASE WHEN v.resolved THEN 'resolved' ELSE 'pending' END,
            closed_on = v.closed_on,
            cause_present = v.cause_present,
            effective_on = CASE WHEN v.resolved THEN listings.effective_on ELSE v.effective_on END,
            last_run_id = CASE WHEN v.resolved THEN listings.last_run_id ELSE v.in_force END
        FROM sc_values v WHERE listings.listing_id = v.listing_id""",
    )
    told = [_words(store, row, target, words) for row, target in page]
    notify_many(
        store,
        "listing_withdrawn",
        day,
        [(str(r["subject_id"]), int(r["listing_id"]), en, zh) for (r, _), (en, zh) in zip(page, told, strict=True)],
    )
    messages = queue_messages(
        store,
        "listing_withdrawn",
        channel,
        "更正：列入通知撤回 / Correction: a listing notice withdrawn",
        [(str(r["subject_id"]), f"{zh}\n\n{en}\n") for (r, _), (en, zh) in zip(page, told, strict=True)],
    )
    entries: list[tuple[str | None, dict[str, Any]]] = []
    done = []
    for (row, (status, effective_on, _)), message in zip(page, messages, strict=True):
        listing_id, subject_id = int(row["listing_id"]), str(row["subject_id"])
        in_force = None if row["in_force"] is None else int(row["in_force"])
        moved_by, standing = int(row["moved_by"]), str(row["standing"])
        reason = f"run {moved_by} ({standing}, as of {row['moved_as_of']}) is not in force and moves no listing; " + (
            "no run in force" if in_force is None else f"put back as run {in_force}, in force, gives"
        )
        detail: dict[str, Any] = {
            "listing_id": listing_id,
            "run_id": moved_by,
            "standing": standing,
            "moved": row["how"],
            "in_force": in_force,
            "status_before": row["status"],
            "status": status,
            "reason": reason,
            "message_id": None if message is None else message.message_id,
        }
        if effective_on != row["effective_on"]:
            detail["effective_on_before"] = row["effective_on"]
            detail["effective_on"] = effective_on
        entries.append((subject_id, detail))
        done.append(
            {
                "listing_id": listing_id,
                "subject_id": subject_id,
                "moved_by": moved_by,
                "standing": standing,
                "in_force": in_force,
                "status_before": row["status"],
                "status": status,
            }
        )
    append_audits(store, actor, "listing_put_back", entries)
    return done


def _words(
    store: Store,
    row: dict[str, Any],
    target: tuple[str, dt.date, dt.date | None],
    cache: dict[tuple[str, str, str], dict[str, str]],
) -> tuple[str, str]:
    """The withdrawal notice: which listing, which notice (by its date) a run not in force made in error, and where
    the listing stands. ``cache`` keeps the criterion's words (worked out once per criterion)."""
    key = (str(row["policy_id"]), str(row["list_id"]), str(row["criterion_id"]))
    if key not in cache:
        cache[key] = criterion_words(store, *key)
    w = cache[key]
    record_en = f" (record {row['record_id']})" if row["record_id"] else ""
    record_zh = f"（记录 {row['record_id']}）" if row["record_id"] else ""
    run_en, run_zh = STANDING_WORDS.get(str(row["standing"]), (str(row["standing"]), str(row["standing"])))
    moved_as_of = row["moved_as_of"].isoformat()
    dated = row["noticed_on"] if row["how"] == "noticed" or row["told_on"] is None else row["told_on"]
    told_en = f"the notice dated {dated.isoformat()}"
    told_zh = f"{dated.isoformat()} 的列入通知"
    status, effective_on, since = target
    if status == "pending":
        now_en = (
            f"you are not listed; the notice period runs until {effective_on.isoformat()}, when the listing "
            "takes effect unless the cause is resolved before then."
        )
        now_zh = f"您未被列入；通知期至 {effective_on.isoformat()}，除非在此之前原因消除，届时起列入。"
    elif status == "effective" and since is not None:
        now_en = f"the notice period ran until {effective_on.isoformat()}; you are listed since {since.isoformat()}."
        now_zh = f"通知期至 {effective_on.isoformat()}；自 {since.isoformat()} 起被列入。"
    else:
        now_en = "you are not listed, and the listing is withdrawn."
        now_zh = "您未被列入，该列入已撤回。"
    head_en = f"Correction: {w['list_en']} ({w['criterion_en']}){record_en}: "
    head_zh = f"更正：{w['list_zh']}（{w['criterion_zh']}）{record_zh}："
    noticed_by, in_force = row["noticed_by"], row["in_force"]
    if (
        row["how"] == "effective"
        and row["told_on"] is not None
        and noticed_by is not None
        and noticed_by != row["effected_by"]
        and noticed_by != in_force
    ):
        # noticed by one run not in force and put in effect by another: both notices are withdrawn
        first_en, first_zh = STANDING_WORDS.get(
            str(row["noticed_standing"]), (str(row["noticed_standing"]), str(row["noticed_standing"]))
        )
        noticed_on, noticed_as_of = row["noticed_on"].isoformat(), row["noticed_as_of"].isoformat()
        en = (
            f"{head_en}the notice dated {noticed_on} was made in error by run {noticed_by}, {first_en} (as of "
            f"{noticed_as_of}), and {told_en} by run {row['moved_by']}, {run_en} (as of {moved_as_of}); neither run "
            f"is in force, and both notices are withdrawn: {now_en}"
        )
        zh = (
            f"{head_zh}{noticed_on} 的列入通知系第 {noticed_by} 次评分（{first_zh}，评分日期 {noticed_as_of}）误发，"
            f"{told_zh}系第 {row['moved_by']} 次评分（{run_zh}，评分日期 {moved_as_of}）误发，两次评分均未生效，"
            f"两份通知现一并撤回：{now_zh}"
        )
        return en, zh
    en = (
        f"{head_en}{told_en} was made in error by run {row['moved_by']}, {run_en} (as of {moved_as_of}), which is "
        f"not in force, and is withdrawn: {now_en}"
    )
    zh = (
        f"{head_zh}{told_zh}系第 {row['moved_by']} 次评分（{run_zh}，评分日期 {moved_as_of}）误发，该评分并未生效，"
        f"现予撤回：{now_zh}"
    )
    return en, zh
