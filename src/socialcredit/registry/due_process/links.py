"""Links to other regions, shown to the person and contested by them.

A record another region shared counts here once the person it names there is linked to a subject here
(``regions/exchange.py``: the same identity number, Splink, or an operator). The person sees each link — the region,
the number there (masked), how it was linked, the match probability and which fields agreed — and may contest it.
A contested link is a dispute like a record's: its deadline is the policy's ``disputes.answer_days``, every step is
audited and the person is told. An operator answers (the link stands, or it is reversed; ``regions/contest.py``);
not answered by the deadline, it lapses in the person's favour and the link is reversed.

The tables are the regions' (``region_identities``, ``region_publishers``); the registry reads them itself, as
``records/origin.py`` does, because the regions package builds on the registry, never the other way round.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from socialcredit.clock import resolve_today
from socialcredit.errors import NotFoundError, WorkflowError
from socialcredit.registry.access.audit import append_audit, kept_words
from socialcredit.registry.common import bad_status, check_text, iso
from socialcredit.registry.due_process.notifications import notify
from socialcredit.registry.due_process.public_lists import mask_id
from socialcredit.registry.records.versions import require_subject
from socialcredit.registry.scoring.policies import get_policy, policies_in_use
from socialcredit.store import Store

__all__ = [
    "EVIDENCE",
    "LINK_DISPUTE_STATUSES",
    "close_link_dispute",
    "end_withdrawn_listings",
    "file_link_dispute",
    "get_link_dispute",
    "linked_identities",
    "list_link_disputes",
    "overdue_link_disputes",
    "resolve_displaced_link_disputes",
]

LINK_DISPUTE_STATUSES = ("open", "upheld", "unlinked", "lapsed")

# The evidence a link keeps (regions/linkage.py writes these codes, in this order): what agreed, in words.
EVIDENCE: dict[str, tuple[str, str]] = {
    "same identity number": ("the same identity number", "身份证号相同"),
    "id=": ("the identity number (17 characters)", "身份证号（前17位）相同"),
    "id~": (
        "the identity number within one edit (one digit mistyped, or two adjacent digits swapped)",
        "身份证号仅差一处（错录一位或相邻两位颠倒）",
    ),
    "name=": ("the name (same characters)", "姓名（汉字相同）"),
    "pinyin=": ("the name (pinyin)", "姓名（拼音相同）"),
    "pinyin~": ("the name (similar pinyin)", "姓名（拼音相近）"),
    "birth=": ("the birth date", "出生日期相同"),
    "birth~": ("the birth date within one edit", "出生日期仅差一位"),
    "sex=": ("the sex", "性别相同"),
    "region=": ("the region code of the number", "身份证号的地区码相同"),
    "phone=": ("the phone number", "电话号码相同"),
    "address=": ("the address", "地址相同"),
    "address~": ("the address (similar)", "地址相近"),
}

_METHOD = {
    "exact": ("same identity number", "身份证号相同"),
    "splink": ("matched by the record linkage model (Splink)", "由记录关联模型（Splink）匹配"),
    "operator": ("accepted by an operator", "由工作人员确认"),
}

_OUTCOME_TEXT = {
    "upheld": ("an operator checked the link and it stands", "工作人员已核实该关联，关联保留"),
    "unlinked": (
        "an operator reversed the link; the records it brought no longer count",
        "工作人员已撤销该关联，由此带来的记录不再计入",
    ),
    "lapsed": (
        "it was not answered in time; the link is reversed in your favour and its records no longer count",
        "未在期限内答复，按有利于您的方式处理：关联已撤销，相关记录不再计入",
    ),
}
# A link the regions' import reversed itself (a later exact match displaced it), not an operator's answer: its open
# dispute is closed as ``unlinked`` with these words (``resolve_displaced_link_disputes``).
_DISPLACED = (
    "the link was reversed: a later match by the same identity number shows that the person there is another; the "
    "records it brought no longer count",
    "关联已撤销：其后按相同身份证号的匹配表明该地区的此人是另一人，由此带来的记录不再计入",
)


def _answer_days(store: Store) -> int:
    """The shortest answer period among the policies in use, as for a record's dispute."""
    days = [lp.policy.disputes.answer_days for lp in policies_in_use(store)]
    return min(days) if days else 30


def _how_linked(store: Store, identity_id: int, status: str) -> dict[str, Any]:
    """How and when the link was made, from its audit entry (``region_link``); an exact match has none."""
    for at, actor, detail in store.execute(
        "SELECT at_time, actor, detail FROM audit_log WHERE action = 'region_link' ORDER BY seq DESC"
    ).fetchall():
        d = json.loads(detail)
        if d.get("identity_id") == identity_id:
            method = str(d.get("method") or "splink")
            return {"method": method, "linked_at": iso(at), "linked_by": actor if method == "operator" else None}
    return {"method": "exact" if status == "exact" else "splink", "linked_at": None, "linked_by": None}


def _probability_text(p: float | None) -> str | None:
    """Four decimals; a probability that rounds to 1 is "> 0.9999" (it is never certainty)."""
    if p is None:
        return None
    return "> 0.9999" if p > 0.99995 else f"{p:.4f}"


def linked_identities(store: Store, subject_id: str, lang: str = "en") -> list[dict[str, Any]]:
    """The identities of other regions linked to ``subject_id``, each with what the person needs to check it."""
    zh = lang == "zh"
    rows = store.rows(
        """SELECT i.identity_id, i.origin_region, p.name AS region_name, i.origin_subject_id, i.status,
                  i.probability, i.evidence, i.updated_at,
                  (SELECT list_sort(list(DISTINCT r.origin_region || '/' || r.record_id)) FROM region_records r
                   WHERE r.origin_region = i.origin_region AND r.origin_subject_id = i.origin_subject_id) AS records
           FROM region_identities i LEFT JOIN region_publishers p ON p.region_code = i.origin_region
           WHERE i.subject_id = ? AND i.status IN ('exact', 'linked') ORDER BY i.identity_id""",
        [subject_id],
    )
    days = _answer_days(store) if rows else 0
    out = []
    for r in rows:
        how = _how_linked(store, int(r["identity_id"]), str(r["status"]))
        codes = ["same identity number"] if r["status"] == "exact" else str(r["evidence"] or "").split()
        name = r["region_name"] or r["origin_region"]
        open_id = store.one(
            "SELECT dispute_id FROM link_disputes WHERE identity_id = ? AND status = 'open'", [r["identity_id"]]
        )
        en_contest = (
            f"If this is not you, contest the link (`socialcredit dispute link {subject_id} {r['identity_id']} "
            f"--reason ...`, or on your page); a person answers within {days} days, and if no one does, the link is "
            "reversed in your favour."
        )
        zh_contest = (
            f"如果这不是您本人，可以对该关联提出异议（在您的页面上提交）；工作人员须在 {days} 天内答复，逾期未答复的，"
            "关联按有利于您的方式撤销。"
        )
        out.append(
            {
                "identity_id": int(r["identity_id"]),
                "region_code": r["origin_region"],
                "region_name": name,
                "region": f"{name} ({r['origin_region']})",
                "number": mask_id(str(r["origin_subject_id"])),
                "status": r["status"],
                "method": how["method"],
                "how": _METHOD[how["method"]][1 if zh else 0],
                "probability": None if r["probability"] is None else float(r["probability"]),
                "probability_text": _probability_text(r["probability"]),
                "linked_at": how["linked_at"],
                "linked_by": how["linked_by"],
                "evidence": codes,
                "agreed": [EVIDENCE.get(c, (c, c))[1 if zh else 0] for c in codes],
                "records": list(r["records"] or []),
                "open_dispute": None if open_id is None else int(open_id),
                "contest": zh_contest if zh else en_contest,
            }
        )
    return out


def _public(row: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "dispute_id",
        "subject_id",
        "identity_id",
        "origin_region",
        "reason",
        "status",
        "opened_at",
        "deadline",
        "answered_at",
        "note",
        "answered_by",
    )
    out = {k: iso(row[k]) for k in keys}
    # the note in Chinese (the same as ``note`` when a person wrote it; None for a dispute closed before it was kept)
    out["note_zh"] = row.get("note_zh")
    out["origin_number"] = mask_id(str(row["origin_subject_id"]))
    return out


def _row(store: Store, dispute_id: int) -> dict[str, Any]:
    rows = store.rows("SELECT * FROM link_disputes WHERE dispute_id = ?", [dispute_id])
    if not rows:
        raise NotFoundError(f"no link dispute {dispute_id}", zh=f"没有身份关联异议 {dispute_id}")
    return rows[0]


def get_link_dispute(store: Store, dispute_id: int) -> dict[str, Any]:
    return _public(_row(store, dispute_id))


def list_link_disputes(
    store: Store, *, subject_id: str | None = None, status: str | None = None, actor: str | None = None
) -> list[dict[str, Any]]:
    """Link disputes, newest first, filtered by subject and status; with ``actor``, a look-up audited as
    ``read_link_disputes`` (the status asked, how many it named), as ``list_disputes`` audits one of disputes."""
    if status is not None and status not in LINK_DISPUTE_STATUSES:  # what was sent (422), as for disputes and repairs
        raise bad_status(status, LINK_DISPUTE_STATUSES)
    where, params = [], []
    for col, value in (("subject_id", subject_id), ("status", status)):
        if value is not None:
            where.append(f"{col} = ?")
            params.append(value)
    sql = "SELECT * FROM link_disputes" + (" WHERE " + " AND ".join(where) if where else "")
    rows = store.rows(sql + " ORDER BY dispute_id DESC", params)
    if actor is not None:
        with store.transaction():
            append_audit(store, actor, "read_link_disputes", subject_id, {"status": status, "entries": len(rows)})
    return [_public(r) for r in rows]


def file_link_dispute(
    store: Store, subject_id: str, identity_id: int, reason: str, actor: str = "cli", *, today: dt.date | None = None
) -> dict[str, Any]:
    """The person contests the link of another region's identity to them; returns the dispute (with its deadline)."""
    today = resolve_today(today)
    text = check_text(reason, "reason")
    require_subject(store, subject_id)
    rows = store.rows(
        "SELECT * FROM region_identities WHERE identity_id = ? AND subject_id = ? AND status IN ('exact', 'linked')",
        [identity_id, subject_id],
    )
    if not rows:
        raise NotFoundError(
            f"{subject_id} has no link to identity {identity_id} of another region",
            zh=f"{subject_id} 未关联其他地区的身份 {identity_id}",
        )
    ident = rows[0]
    open_id = store.one("SELECT dispute_id FROM link_disputes WHERE identity_id = ? AND status = 'open'", [identity_id])
    if open_id is not None:
        raise WorkflowError(
            f"the link of identity {identity_id} is already contested (dispute {open_id})",
            field="identity_id",
            code="already_disputed",
            zh=f"身份 {identity_id} 的关联已有异议（异议 {open_id}）",
        )
    deadline = today + dt.timedelta(days=_answer_days(store))
    label = f"{ident['origin_region']}/{mask_id(str(ident['origin_subject_id']))}"
    with store.transaction():
        dispute_id = store.take_ids("dispute", 1)
        store.execute(
            "INSERT INTO link_disputes VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?, NULL, NULL, ?, NULL, now(), NULL)",
            [
                dispute_id,
                subject_id,
                identity_id,
                ident["origin_region"],
                ident["origin_subject_id"],
                text,
                today,
                deadline,
                actor,
            ],
        )
        append_audit(
            store,
            actor,
            "link_dispute_filed",
            subject_id,
            {
                "dispute_id": dispute_id,
                "identity_id": identity_id,
                "origin": ident["origin_region"],
                "deadline": deadline,
            },
        )
        notify(
            store,
            subject_id,
            "link_dispute_filed",
            dispute_id,
            f"Your dispute {dispute_id} of the link to {label} was received; an operator must answer by "
            f"{deadline.isoformat()}.",
            f"您对与 {label} 的关联提出的异议 {dispute_id} 已受理；工作人员须于 {deadline.isoformat()} 前答复。",
            today,
        )
    return get_link_dispute(store, dispute_id)


def close_link_dispute(
    store: Store,
    dispute_id: int,
    status: str,
    note: str,
    actor: str,
    today: dt.date,
    *,
    outcome: tuple[str, str] | None = None,
    note_zh: str | None = None,
) -> dict[str, Any]:
    """Close a link dispute (call inside the transaction that upholds or reverses the link): told, audited.
    ``outcome``: what the person is told happened (English, Chinese), when not the status's usual words (a link the
    registry reversed itself: ``resolve_displaced_link_disputes``). ``note_zh``: the note in Chinese when the registry
    wrote it (a lapse, a displaced link); a person's own note is told as written in both."""
    row = _row(store, dispute_id)
    answered = None if status == "lapsed" else today
    said_zh = note if note_zh is None else note_zh
    store.execute(
        "UPDATE link_disputes SET status = ?, answered_at = ?, note = ?, note_zh = ?, answered_by = ? "
        "WHERE dispute_id = ?",
        [status, answered, note, said_zh, actor, dispute_id],
    )
    en, zh = outcome or _OUTCOME_TEXT[status]
    label = f"{row['origin_region']}/{mask_id(str(row['origin_subject_id']))}"
    notify(
        store,
        row["subject_id"],
        "link_dispute_" + status,
        dispute_id,
        f"Dispute {dispute_id} of the link to {label}: {en}. {note}",
        f"异议 {dispute_id}（与 {label} 的关联）：{zh}。{said_zh}",
        today,
    )
    detail: dict[str, Any] = {
        "dispute_id": dispute_id,
        "identity_id": row["identity_id"],
        "note": kept_words("link_disputes.note", note),
    }
    if status == "lapsed":  # as of the day after the deadline, whichever day it was done (regions/contest.py)
        detail["lapsed_on"] = today.isoformat()
    append_audit(store, actor, "link_dispute_" + status, row["subject_id"], detail)
    return _public(
        {**row, "status": status, "answered_at": answered, "note": note, "note_zh": said_zh, "answered_by": actor}
    )


def resolve_displaced_link_disputes(
    store: Store,
    identity_id: int,
    note: str,
    actor: str,
    today: dt.date,
    *,
    by_operator: bool = False,
    note_zh: str | None = None,
) -> list[int]:
    """Close, in the person's favour, every open dispute of the link of ``identity_id`` that was just reversed (call
    inside that transaction): by the regions' import, because a later exact match displaced it, or ``by_operator``
    (`region unlink`). The link it contests is gone. Closed as ``unlinked`` with ``note`` (why it was reversed), the
    person told in the words of who reversed it, audited. Returns their ids."""
    ids = [
        int(r[0])
        for r in store.execute(
            "SELECT dispute_id FROM link_disputes WHERE identity_id = ? AND status = 'open' ORDER BY dispute_id",
            [identity_id],
        ).fetchall()
    ]
    for dispute_id in ids:
        close_link_dispute(
            store,
            dispute_id,
            "unlinked",
            note,
            actor,
            today,
            outcome=None if by_operator else _DISPLACED,
            note_zh=note_zh,
        )
    return ids


def overdue_link_disputes(store: Store, today: dt.date) -> list[dict[str, Any]]:
    """Open link disputes whose deadline has passed by ``today`` (the regions' daily job, or a score run dated after
    their deadlines, lapses them, each as of the day after its deadline)."""
    return store.rows("SELECT * FROM link_disputes WHERE status = 'open' AND deadline < ? ORDER BY dispute_id", [today])


def end_withdrawn_listings(store: Store, subject_id: str, today: dt.date, actor: str) -> int:
    """End at once the subject's listings whose cause record now stands withdrawn (call inside the transaction that
    withdrew it): an effective listing is delisted, one in its notice period resolved, and the subject is told.

    Leaving a list does not wait for the next run (docs/architecture.md, "Live decisions"); a reversed link must not
    keep someone on a blacklist until then. Returns how many listings ended."""
    rows = store.rows(
        """SELECT l.listing_id, l.status, l.policy_id, l.list_id, l.record_id FROM listings l
           WHERE l.subject_id = ? AND l.status IN ('pending', 'effective')
             AND EXISTS (SELECT 1 FROM records r WHERE r.source_id = l.source_id AND r.record_id = l.record_id
                         QUALIFY row_number() OVER (PARTITION BY r.source_id, r.record_id ORDER BY r.version DESC) = 1
                         AND r.withdrawn)""",
        [subject_id],
    )
    for r in rows:
        new = "delisted" if r["status"] == "effective" else "resolved"
        lst = next(x for x in get_policy(store, r["policy_id"]).policy.lists if x.id == r["list_id"])
        store.execute(
            "UPDATE listings SET status = ?, closed_on = ?, cause_present = false WHERE listing_id = ?",
            [new, today, r["listing_id"]],
        )
        notify(
            store,
            subject_id,
            "listing_" + new,
            int(r["listing_id"]),
            f"{lst.name.en}: the record {r['record_id']} no longer counts (its link was reversed); you are off the "
            "list.",
            f"{lst.name.zh}：记录 {r['record_id']} 不再计入（关联已撤销），您已移出名单。",
            today,
        )
    if rows:
        append_audit(store, actor, "listings_ended", subject_id, {"listings": [int(r["listing_id"]) for r in rows]})
    return len(rows)
