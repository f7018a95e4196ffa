"""Putting back the listings that a run not in force moved (``socialcredit due put-back-listings``).

Only the run in force moves listings (``listings.record_listings``), but the releases before 2026-12-05 let any run
move them: a what-if (``score --as-of`` a date after the registry's today) put a listing in its notice period in
effect early, dated the what-if's day, made public and refusing services, and the resident was told; a past-dated
run or a rerun noticed causes only it found. Migration 45 marks such a run by its standing (``what_if``, ``rerun``,
``past_dated``, ``behind``) and puts the ordinary run before it in force, but the listings it moved stayed where it
left them, and no later run takes them back (a run only moves a listing forward).

:func:`put_back_listings` finds them by the record of the move — the ``listings_effective`` audit entry names the
run that put each listing in effect (``run_id``; the daily job's names none), and a listing names the run that
noticed it (``listings.notice_run_id``) — and puts each back to what the policy's run in force (``runs.run_in_force``)
gives:

* put in effect by a run not in force, still in effect: in its notice period (``pending``, its ``effective_on``
  kept, last found by the run in force) when the run in force finds its cause and is dated before its
  ``effective_on``; left in effect when the run in force is dated on or after it (that run puts it in effect too);
  ``resolved`` (never listed) when the run in force does not find its cause;
* put in effect by such a run and since ended by an ordinary run before its ``effective_on`` (``delisted``):
  ``resolved``, as that run would have closed a listing in its notice period;
* noticed by a run not in force, still pending or in effect: ``resolved`` (closed on ``today``) unless a run in
  force made after it finds the cause (the listing then stands as that run would have kept it).

Each listing put back has an audit entry of its own (``listing_put_back``: the listing, the run that moved it and its
standing, the run in force, the statuses before and after, the reason in words), and the resident is told: a
``listing_withdrawn`` notification in their file (both languages), and the same words queued in the outbox on the
configured channel (``outbox.queue_message``; delivered by the sender, never here). A listing put back once is never
put back again (its audit entry), so running it twice changes nothing, and a listing put back that later takes
effect at the end of its notice period is told so again (``listings.take_effect`` counts a withdrawn notice as not
given).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from socialcredit.clock import resolve_today
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.due_process.listings import criterion_words
from socialcredit.registry.due_process.notifications import notify
from socialcredit.registry.due_process.outbox import queue_message
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

# The listings a run not in force moved and that were not put back yet: how it moved them (``effective``: put in
# effect; ``noticed``: noticed), the run, and what the policy's run in force says of the cause.
_MOVED = f"""
WITH runs_out AS (SELECT run_id, as_of, standing FROM score_runs WHERE standing <> 'ordinary'),
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
done AS (
    SELECT DISTINCT CAST(json_extract(detail, '$.listing_id') AS BIGINT) AS listing_id FROM audit_log
    WHERE action = 'listing_put_back'
),
force AS ({in_force_sql()})
SELECT l.listing_id, l.subject_id, l.policy_id, l.list_id, l.criterion_id, l.source_id, l.record_id, l.status,
       l.effective_on, l.noticed_on, l.closed_on, m.how, m.moved_by, o.as_of AS moved_as_of, o.standing,
       f.run_id AS in_force, f.as_of AS in_force_as_of,
       EXISTS (
           SELECT 1 FROM run_list_entries e LEFT JOIN records r USING (record_key)
           WHERE e.run_id = f.run_id AND e.list_id = l.list_id AND e.subject_id = l.subject_id
             AND e.criterion_id = l.criterion_id AND coalesce(r.source_id, '') = l.source_id
             AND coalesce(r.record_id, '') = l.record_id
       ) AS found
FROM moved m JOIN listings l USING (listing_id) JOIN runs_out o ON o.run_id = m.moved_by
LEFT JOIN force f ON f.policy_id = l.policy_id
WHERE l.listing_id NOT IN (SELECT listing_id FROM done WHERE listing_id IS NOT NULL)
-- a listing both noticed and put in effect by runs not in force is judged once, as noticed
QUALIFY row_number() OVER (PARTITION BY l.listing_id ORDER BY m.how DESC, m.moved_by) = 1
ORDER BY l.listing_id
"""


def _target(row: dict[str, Any]) -> str | None:
    """What the run in force gives the listing: ``pending`` or ``resolved``, or None to leave it as it is."""
    found, in_force = bool(row["found"]), row["in_force"]
    if row["how"] == "noticed":
        # a run in force made after the run that noticed it finds the cause too: it stands as that run keeps it
        if found and in_force is not None and int(in_force) > int(row["moved_by"]):
            return None
        return "resolved"
    if row["status"] == "delisted":
        return "resolved"
    if not found:
        return "resolved"
    if row["in_force_as_of"] >= row["effective_on"]:
        return None
    return "pending"


def put_back_listings(
    store: Store, today: dt.date | None = None, *, actor: str = "registry", channel: str = "outbox"
) -> list[dict[str, Any]]:
    """Put back each listing a run not in force moved to what the run in force gives (module docstring); returns
    what was put back, each: listing_id, subject_id, moved_by (the run), standing, in_force (the run, or None),
    status_before, status (after). The resident's message is queued on ``channel``."""
    day = resolve_today(today)
    done: list[dict[str, Any]] = []
    with store.transaction():
        for row in store.rows(_MOVED):
            target = _target(row)
            if target is None:
                continue
            done.append(_put_back(store, row, target, day, actor, channel))
    return done


def _put_back(store: Store, row: dict[str, Any], target: str, day: dt.date, actor: str, channel: str) -> dict[str, Any]:
    listing_id, subject_id = int(row["listing_id"]), str(row["subject_id"])
    in_force = None if row["in_force"] is None else int(row["in_force"])
    if target == "pending":
        store.execute(
            "UPDATE listings SET status = 'pending', closed_on = NULL, cause_present = true, last_run_id = ? "
            "WHERE listing_id = ?",
            [in_force, listing_id],
        )
    else:
        closed = row["closed_on"] if row["status"] == "delisted" else day
        store.execute(
            "UPDATE listings SET status = 'resolved', closed_on = ?, cause_present = ? WHERE listing_id = ?",
            [closed, bool(row["found"]), listing_id],
        )
    en, zh = _words(store, row, target)
    notify(store, subject_id, "listing_withdrawn", listing_id, en, zh, day)
    message = queue_message(
        store,
        "listing_withdrawn",
        subject_id,
        channel,
        "更正：列入通知撤回 / Correction: a listing notice withdrawn",
        f"{zh}\n\n{en}\n",
    )
    moved_by, standing = int(row["moved_by"]), str(row["standing"])
    reason = f"run {moved_by} ({standing}, as of {row['moved_as_of']}) is not in force and moves no listing; " + (
        "no run in force" if in_force is None else f"put back as run {in_force}, in force, gives"
    )
    append_audit(
        store,
        actor,
        "listing_put_back",
        subject_id,
        {
            "listing_id": listing_id,
            "run_id": moved_by,
            "standing": standing,
            "moved": row["how"],
            "in_force": in_force,
            "status_before": row["status"],
            "status": target,
            "reason": reason,
            "message_id": None if message is None else message.message_id,
        },
    )
    return {
        "listing_id": listing_id,
        "subject_id": subject_id,
        "moved_by": moved_by,
        "standing": standing,
        "in_force": in_force,
        "status_before": row["status"],
        "status": target,
    }


def _words(store: Store, row: dict[str, Any], target: str) -> tuple[str, str]:
    """The withdrawal notice: which listing, which run made the notice in error, and where the listing stands."""
    w = criterion_words(store, str(row["policy_id"]), str(row["list_id"]), str(row["criterion_id"]))
    record_en = f" (record {row['record_id']})" if row["record_id"] else ""
    record_zh = f"（记录 {row['record_id']}）" if row["record_id"] else ""
    run_en, run_zh = STANDING_WORDS.get(str(row["standing"]), (str(row["standing"]), str(row["standing"])))
    moved_as_of = row["moved_as_of"].isoformat()
    if row["how"] == "noticed":
        told_en = f"the notice dated {row['noticed_on'].isoformat()}"
        told_zh = f"{row['noticed_on'].isoformat()} 的列入通知"
    else:
        told_en = f"the notice that you were listed from {moved_as_of}"
        told_zh = f"自 {moved_as_of} 起被列入的通知"
    if target == "pending":
        now_en = (
            f"you are not listed; the notice period runs until {row['effective_on'].isoformat()}, when the listing "
            "takes effect unless the cause is resolved before then."
        )
        now_zh = f"您未被列入；通知期至 {row['effective_on'].isoformat()}，除非在此之前原因消除，届时起列入。"
    else:
        now_en = "you are not listed, and the listing is withdrawn."
        now_zh = "您未被列入，该列入已撤回。"
    en = (
        f"Correction: {w['list_en']} ({w['criterion_en']}){record_en}: {told_en} was made in error by run "
        f"{row['moved_by']}, {run_en} (as of {moved_as_of}), which is not in force, and is withdrawn: {now_en}"
    )
    zh = (
        f"更正：{w['list_zh']}（{w['criterion_zh']}）{record_zh}：{told_zh}系第 {row['moved_by']} 次评分"
        f"（{run_zh}，评分日期 {moved_as_of}）误发，该评分并未生效，现予撤回：{now_zh}"
    )
    return en, zh
