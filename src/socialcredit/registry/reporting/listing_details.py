"""What a resident needs to act on a listing or a negative record: who recorded it and how to reach them, the case or
reference number, the amount, the date it took effect, the first day repair may be asked (from its severity class),
the day it ends by itself, and the steps — and the notice of a listing worded relative to today.

Everything here is in the reader's language (``lang``: ``zh`` or ``en``), in words: no criterion, list or policy id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from socialcredit.errors import NotFoundError, WorkflowError
from socialcredit.identifiers import fold_record_id
from socialcredit.languages import yuan
from socialcredit.policy import LoadedPolicy
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.common import iso
from socialcredit.registry.due_process.listings import NOT_WITHDRAWN, criterion_words
from socialcredit.registry.due_process.repair import list_repairs, repair_eligibility
from socialcredit.registry.due_process.severity import counts_until, matching, record_severity
from socialcredit.registry.reporting.report import file_versions, record_fields
from socialcredit.registry.scoring.policies import get_policy, policies_in_use
from socialcredit.registry.scoring.runs import in_force_sql
from socialcredit.store import Store

if TYPE_CHECKING:
    from socialcredit.registry.decisions.live import LiveView

__all__ = [
    "held_now",
    "listing_detail",
    "listing_notice",
    "negative_records",
    "record_detail",
    "record_href",
    "repair_href",
    "runs_in_force",
]


def repair_href(source_id: str, record_id: str) -> str:
    """The resident's page applying for repair of one of their records."""
    return "/me/repair?" + urlencode({"source": source_id, "record": record_id})


def record_href(source_id: str, record_id: str) -> str:
    """The resident's page of one negative record."""
    return "/me/records/detail?" + urlencode({"source": source_id, "record": record_id})


_ENDED = ("resolved", "delisted", "publication_ended", "repaired", "overridden")

# The notice of a listing, by where it stands today; {list} and {criterion} are in words.
_NOTICE = {
    "upcoming": (
        "Notice: you meet a criterion of the {list} ({criterion}). You will be listed on {effective_on} unless the "
        "cause is resolved before then.",
        "通知：您符合{list}的列入条件（{criterion}）。除非在此之前原因消除，将于 {effective_on} 起列入。",
    ),
    "due": (
        "The notice period of the {list} ({criterion}) ended on {effective_on}; the listing takes effect at the "
        "registry's next daily check unless the cause has been resolved.",
        "{list}（{criterion}）的通知期已于 {effective_on} 届满；除非原因已消除，登记机构下次每日核查时列入生效。",
    ),
    "effective": (
        "You have been on the {list} ({criterion}) since {took_effect_on}. It ends by itself on {ends_on}.",
        "自 {took_effect_on} 起您已被列入{list}（{criterion}）。将于 {ends_on} 自动移出。",
    ),
    "effective_open": (
        "You have been on the {list} ({criterion}) since {took_effect_on}.",
        "自 {took_effect_on} 起您已被列入{list}（{criterion}）。",
    ),
    "resolved": (
        "The cause of the notice of the {list} ({criterion}) was resolved on {closed_on}, before the listing took "
        "effect: you were never listed.",
        "{list}（{criterion}）通知的原因已于 {closed_on} 在列入生效前消除：您未被列入。",
    ),
    "ended": (
        "Your listing on the {list} ({criterion}) ended on {closed_on}: {why}.",
        "您在{list}（{criterion}）的列入已于 {closed_on} 结束：{why}。",
    ),
}
_WHY = {
    "delisted": ("the cause was resolved", "原因已消除"),
    "publication_ended": ("its longest publication period passed", "公示期届满"),
    "repaired": ("credit repair was granted", "信用修复已获批准"),
    "overridden": ("a person reviewed and overrode it", "经人工复核撤销"),
}


# A listing still open in the register whose cause decisions no longer find: the live thread rescored the subject
# since the run (a record held out while its dispute is open, corrected or withdrawn). The next run closes it. {why}
# is the one cause found (``_held_whys``), {again} when it applies again before that run (until 2026-12-07 it said
# "it applies again if …" after "the next score run closes the listing", as if after that run too: a cause that holds
# again after the run that closed the listing is noticed anew, with a grace period of its own).
_HELD = (
    "Decisions no longer apply your listing on the {list} ({criterion}): since your score of {since} its cause no "
    "longer holds ({why}), and relying parties asking now are not told it. The next score run closes the listing; "
    "{again}",
    "自 {since} 的评分以来，您在{list}（{criterion}）的列入原因已不成立（{why}），"
    "决定不再适用此列入，此时查询的信用信息使用者不会得知。下次评分时列入结束；{again}",
)
_HELD_WHY = {
    "dispute": ("your dispute {n} of record {record} is open", "您对记录 {record} 的异议 {n} 正在处理"),
    "repair": ("credit repair {n} of record {record} was granted", "记录 {record} 的信用修复申请 {n} 已获批准"),
    "fulfilled": (
        "the source reported record {record} fulfilled on {day}",
        "来源已于 {day} 报告记录 {record} 已履行",
    ),
    # the record withdrawn or corrected as a dispute of it ended: named by the dispute, and by who did it
    "lapsed": (
        "your dispute {n} of record {record} was not answered in time, and the registry withdrew the record",
        "您对记录 {record} 的异议 {n} 未在期限内获答复，登记机构已撤回该记录",
    ),
    "review_withdrawn": (
        "the review of your dispute {n} withdrew record {record}",
        "您对记录 {record} 的异议 {n} 经复核，记录已撤回",
    ),
    "review_corrected": (
        "the review of your dispute {n} counts the corrected record {record}",
        "您对记录 {record} 的异议 {n} 经复核，按更正后的记录计算",
    ),
    "source_withdrawn": (
        "the source withdrew record {record} in answer to your dispute {n}",
        "来源在答复您的异议 {n} 时撤回了记录 {record}",
    ),
    "source_corrected": (
        "the source corrected record {record} in answer to your dispute {n}",
        "来源在答复您的异议 {n} 时更正了记录 {record}",
    ),
    "withdrawn": ("the source withdrew record {record}", "来源已撤回记录 {record}"),
    "corrected": ("the source corrected record {record}", "来源已更正记录 {record}"),
    "score": ("your score changed", "您的分数已变化"),
}
_HELD_AGAIN = {
    "dispute": (
        "until then, it applies again if your dispute is answered against you.",
        "在此之前，如异议未获支持，将重新适用。",
    ),
    "other": ("until then, it applies again if the cause holds again.", "在此之前，如原因再次成立，将重新适用。"),
}


def _held_whys(
    store: Store, records: list[dict[str, Any] | None], lang: str
) -> dict[tuple[str, str] | None, tuple[str, str]]:
    """The one reason decisions no longer find each listing's cause, in words, and what would make it apply again, by
    its record's (source id, record id): the open dispute of its record, the repair granted, the fulfilment
    reported, the record withdrawn or corrected (by the dispute that ended so, if one did: lapsed, decided on review
    or answered by the source); for a listing on no record (None), the score. One query per table, however many
    records (an operator's every notice may be held)."""
    out: dict[tuple[str, str] | None, tuple[str, str]] = {}
    if None in records:
        out[None] = _pick(_HELD_WHY["score"], lang), _pick(_HELD_AGAIN["other"], lang)
    keys = sorted({(str(r["source_id"]), str(r["record_id"])) for r in records if r is not None})
    if not keys:
        return out
    # the records asked, as a table to join: the two lists unnested side by side
    asked = "(SELECT unnest(?::VARCHAR[]) AS source_id, unnest(?::VARCHAR[]) AS record_id)"
    params = [[k[0] for k in keys], [k[1] for k in keys]]

    def by_key(sql: str) -> dict[tuple[str, str], Any]:
        rows = store.execute(sql.format(asked=asked), params).fetchall()
        return {(str(r[0]), str(r[1])): r[2] for r in rows if r[2] is not None}

    disputes = by_key(
        "SELECT source_id, record_id, min(dispute_id) FROM disputes JOIN {asked} USING (source_id, record_id) "
        "WHERE status = 'open' GROUP BY ALL"
    )
    repairs = by_key(
        "SELECT source_id, record_id, max(repair_id) FROM repairs JOIN {asked} USING (source_id, record_id) "
        "WHERE status = 'approved' GROUP BY ALL"
    )
    fulfilled = by_key(
        "SELECT source_id, record_id, max(fulfilled_on) FROM fulfilments JOIN {asked} USING (source_id, record_id) "
        "GROUP BY ALL"
    )
    withdrawn = by_key(
        "SELECT source_id, record_id, arg_max(withdrawn, version) FROM records JOIN {asked} USING (source_id, "
        "record_id) GROUP BY ALL"
    )
    # the dispute that ended withdrawing or correcting each, the latest: lapsed (the registry withdrew it), decided
    # on review, or answered by the source
    ended: dict[tuple[str, str], tuple[int, str, Any]] = {}
    for sid, rec, n, status, decision in store.execute(
        "SELECT d.source_id, d.record_id, d.dispute_id, d.status, v.decision FROM disputes d "
        f"JOIN {asked} k USING (source_id, record_id) LEFT JOIN dispute_reviews v USING (dispute_id) "
        "WHERE d.status IN ('lapsed', 'withdrawn', 'corrected') "
        "ORDER BY d.closed_seq DESC NULLS LAST, d.dispute_id DESC",
        params,
    ).fetchall():
        key = (str(sid), str(rec))
        if key not in ended and (status == "corrected") != bool(withdrawn.get(key)):
            ended[key] = (int(n), str(status), decision)
    again = _pick(_HELD_AGAIN["other"], lang)
    for key in keys:
        rid = key[1]
        if key in disputes:
            out[key] = (
                _pick(_HELD_WHY["dispute"], lang).format(n=disputes[key], record=rid),
                _pick(_HELD_AGAIN["dispute"], lang),
            )
        elif key in repairs:
            out[key] = _pick(_HELD_WHY["repair"], lang).format(n=repairs[key], record=rid), again
        elif key in fulfilled:
            out[key] = _pick(_HELD_WHY["fulfilled"], lang).format(day=iso(fulfilled[key]), record=rid), again
        elif key in ended:
            n, status, decision = ended[key]
            how = "lapsed" if status == "lapsed" else ("review_" if decision else "source_") + status
            out[key] = _pick(_HELD_WHY[how], lang).format(n=n, record=rid), again
        else:
            out[key] = (
                _pick(_HELD_WHY["withdrawn" if withdrawn.get(key) else "corrected"], lang).format(record=rid),
                again,
            )
    return out


def _held_key(record: dict[str, Any] | None) -> tuple[str, str] | None:
    return None if record is None else (str(record["source_id"]), str(record["record_id"]))


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "zh" else pair[0]


def _amount(fields: dict[str, Any], lang: str) -> str | None:
    """The amount owed or paid of a record, in yuan (a fine is an amount too)."""
    value = fields.get("amount", fields.get("fine"))
    if value is None:
        return None
    return yuan(float(value), lang)


def _source(store: Store, source_id: str, lang: str) -> dict[str, str | None]:
    src = store.catalog.sources.get(source_id)
    if src is None:
        return {"name": source_id, "contact": None}
    return {"name": src.name.get(lang), "contact": src.contact.get(lang) if src.contact else None}


def _record_part(store: Store, subject_id: str, source_id: str, record_id: str, lang: str) -> dict[str, Any]:
    """The record behind a listing: what, who, the reference, the amount, the date (ids only of the record itself)."""
    # the subject's own records only (and the subject narrows the search): another's is as if it did not exist
    found = store.rows(
        "SELECT * FROM records WHERE subject_id = ? AND source_id = ? AND record_id = ? ORDER BY version DESC LIMIT 1",
        [subject_id, source_id, record_id],
    )
    if not found:
        raise NotFoundError(f"no record {record_id!r} in your file")
    record = found[0]
    rt = store.catalog.record_types.get(record["record_type"])
    fields = record_fields(record, store.catalog)
    return {
        "row": record,
        "source_id": source_id,
        "record_id": record_id,
        "reference": record_id,
        "record_type": rt.name.get(lang) if rt else record["record_type"],
        "event_date": iso(record["event_date"]),
        "amount": _amount(fields, lang),
        "source": _source(store, source_id, lang),
        "withdrawn": bool(record["withdrawn"]),
    }


def _state(listing: dict[str, Any], today: dt.date) -> str:
    status = listing["status"]
    if status == "pending":
        return "upcoming" if today < listing["effective_on"] else "due"
    if status == "effective":
        return "effective"
    return "resolved" if status == "resolved" else "ended"


def listing_notice(detail: dict[str, Any], lang: str) -> str:
    """The notice of a listing (a ``listing_detail``) as it stands on the detail's day: "will be listed on …"
    before its effective date, "have been on … since …" after, "ended on …" once it ended."""
    state = detail["state"]
    if state == "effective" and not detail["ends_on"]:
        state = "effective_open"
    values = {
        "list": detail["list"],
        "criterion": detail["criterion"],
        "effective_on": detail["effective_on"],
        "took_effect_on": detail.get("took_effect_on") or detail["effective_on"],
        "ends_on": detail["ends_on"],
        "closed_on": detail["closed_on"],
        "why": _pick(_WHY.get(detail["status"], _WHY["delisted"]), lang),
    }
    return _pick(_NOTICE[state], lang).format(**values)


def _steps(
    detail: dict[str, Any], eligibility: dict[str, Any] | None, advice: str | None, lang: str
) -> list[dict[str, Any]]:
    """What the resident can do, in order: dispute if wrong; fulfil (the criterion's advice); apply for repair; or
    wait for the end. Each: ``key`` (dispute, fulfil, repair, wait), ``text`` and, where a page does it, ``href``."""
    zh = lang == "zh"
    steps: list[dict[str, Any]] = []
    record = detail.get("record")
    if record is not None and not record["withdrawn"]:
        steps.append(
            {
                "key": "dispute",
                "text": "如果记录有误：对该记录提出异议，来源须在期限内答复。"
                if zh
                else "If the record is wrong: dispute it; the source must answer within the deadline.",
                "href": "/me/disputes?"
                + urlencode({"record": f"{record['source_id']}|{record['record_id']}"})
                + "#file",
            }
        )
    fulfilled = eligibility["fulfilled_on"] if eligibility else None
    if fulfilled:
        text = (
            f"义务已履行：来源已于 {fulfilled} 报告。"
            if zh
            else f"The obligation is fulfilled: the source reported it on {fulfilled}."
        )
    else:
        text = (advice or ("履行义务（清偿欠款、履行判决）。" if zh else "Fulfil the obligation (pay, settle).")) + (
            "履行后由来源报告。" if zh else " The source then reports it fulfilled."
        )
    steps.append({"key": "fulfil", "text": text, "href": None})
    if eligibility is not None and eligibility["severity"] is not None and not eligibility["forwarded_to"]:
        frm = detail.get("repair_from") or eligibility["eligible_from"]
        if eligibility["open_repair"] is not None:
            text = (
                f"已提交信用修复申请 {eligibility['open_repair']}。"
                if zh
                else f"Repair application {eligibility['open_repair']} is open."
            )
        elif eligibility["eligible"]:
            text = "现在即可申请信用修复。" if zh else "You may apply for credit repair now."
        else:
            text = (
                f"自 {frm} 起，履行后可申请信用修复。" if zh else f"Once fulfilled, apply for credit repair from {frm}."
            )
        steps.append({"key": "repair", "text": text, "href": detail.get("repair_href")})
    if detail["ends_on"]:
        steps.append(
            {
                "key": "wait",
                "text": f"否则将于 {detail['ends_on']} 自动结束。"
                if zh
                else f"Otherwise it ends by itself on {detail['ends_on']}.",
                "href": None,
            }
        )
    return steps


def _took_effect_on(store: Store, listing: dict[str, Any]) -> dt.date | None:
    """The day the listing actually took effect (None while it has not): the day its subject was told so
    (``listing_effective``, dated the run or daily job that put it in effect), which is after ``effective_on`` when
    no run or job put it in effect on that day (until 2026-12-05 a page said "since" ``effective_on``, a day the
    listing did not count yet); ``effective_on`` for a listing in effect with no such notice."""
    told = store.one(
        "SELECT min(created_on) FROM notifications t WHERE kind = 'listing_effective' AND ref_id = ? "
        f"AND subject_id = ? AND {NOT_WITHDRAWN}",
        [listing["listing_id"], listing["subject_id"]],
    )
    if told is not None:
        return max(told, listing["effective_on"])  # type: ignore[no-any-return]
    return listing["effective_on"] if listing["status"] == "effective" else None


def listing_detail(
    store: Store,
    subject_id: str,
    listing_id: int,
    *,
    lang: str = "en",
    today: dt.date,
    actor: str | None = None,
    purpose: str | None = None,
) -> dict[str, Any]:
    """One of the subject's listings with everything needed to act on it (NotFoundError for another's). With
    ``actor``, a look-up audited as ``read_listing`` (its number and ``purpose``); without, a part of a page whose
    read is audited already (the listings of ``/me``, ``read_notices``)."""
    rows = store.rows("SELECT * FROM listings WHERE listing_id = ? AND subject_id = ?", [listing_id, subject_id])
    if not rows:
        raise NotFoundError(f"no listing {listing_id} in your file")
    if actor is not None:
        with store.transaction():
            append_audit(store, actor, "read_listing", subject_id, {"listing_id": listing_id, "purpose": purpose})
    x = rows[0]
    loaded = get_policy(store, x["policy_id"])
    crit = next(
        (c for lst in loaded.policy.lists if lst.id == x["list_id"] for c in lst.criteria if c.id == x["criterion_id"]),
        None,
    )
    cls = loaded.policy.severities.get(x["severity"]) if x["severity"] else None
    effective_on: dt.date = x["effective_on"]
    record = None
    eligibility = None
    if x["record_id"]:
        record = _record_part(store, subject_id, x["source_id"], x["record_id"], lang)
        try:
            eligibility = repair_eligibility(
                store,
                subject_id,
                x["source_id"],
                x["record_id"],
                today=today,
                policy_id=x["policy_id"],
                record=record["row"],
            )
        except WorkflowError:
            eligibility = None
    ended = x["status"] in _ENDED
    # listed through an organisation: the criterion's words name it, the role and its cause
    key = record["row"]["record_key"] if record is not None else None
    words = criterion_words(store, x["policy_id"], x["list_id"], x["criterion_id"], key)
    criterion = words[f"criterion_{'zh' if lang == 'zh' else 'en'}"]
    detail: dict[str, Any] = {
        "listing_id": int(x["listing_id"]),
        "list_id": x["list_id"],
        "criterion_id": x["criterion_id"],
        "status": x["status"],
        "state": _state(x, today),
        "policy_id": x["policy_id"],
        "policy": words[f"policy_{'zh' if lang == 'zh' else 'en'}"],
        "list": words[f"list_{'zh' if lang == 'zh' else 'en'}"],
        "criterion": criterion,
        "noticed_on": iso(x["noticed_on"]),
        "effective_on": iso(effective_on),
        "took_effect_on": iso(_took_effect_on(store, x)),
        "closed_on": iso(x["closed_on"]),
        # From its severity class: repair from the minimum publication period, the end at the maximum.
        "repair_from": iso(effective_on + dt.timedelta(days=cls.min_publication_days)) if cls else None,
        "ends_on": iso(effective_on + dt.timedelta(days=cls.max_publication_days)) if cls and not ended else None,
        "record": record,
        "source": record["source"] if record else None,
        "eligibility": eligibility,
        "repair_href": repair_href(x["source_id"], x["record_id"]) if record and not ended else None,
        "repairs": [
            r for r in list_repairs(store, subject_id=subject_id) if record and r["record_id"] == x["record_id"]
        ],
    }
    if eligibility is not None and eligibility["eligible_from"] and x["status"] != "pending":
        # publication may have started elsewhere first (another listing of the record): the registry's own rule
        detail["repair_from"] = eligibility["eligible_from"]
    if record is not None:
        record.pop("row")
    detail["notice"] = listing_notice(detail, lang)
    detail["steps"] = (
        [] if ended else _steps(detail, eligibility, crit.advice.get(lang) if crit and crit.advice else None, lang)
    )
    return detail


def runs_in_force(store: Store) -> dict[str, int]:
    """Each scored policy's run in force, policy id → run id (``runs.in_force_sql``): what ``held_now`` reads, once."""
    return {str(p): int(r) for p, r in store.execute(f"SELECT policy_id, run_id FROM ({in_force_sql()})").fetchall()}


def held_now(
    store: Store,
    listings: list[dict[str, Any]],
    live: Mapping[int, LiveView] | Callable[[str], Mapping[int, LiveView]],
    lang: str,
    *,
    why: bool = True,
    runs: Mapping[str, int] | None = None,
) -> list[dict[str, Any]]:
    """Mark the listings in effect in the register that decisions no longer apply, as a relying party is answered
    at this moment: the subject as rescored since its policy's run in force (``live``, by run id:
    ``Service.live_views``, or that function itself for the listings of many subjects) meets the listing's criterion
    no more. Each such listing (a ``listing_detail``, or a row of ``list_listings``) gets ``held``, the change number
    decisions stand on; a detail's notice says so, and a row gets ``held_why``, the one cause in words
    (``_held_whys``: the record withdrawn, corrected, disputed…; not looked up without ``why``). The others are left
    as they are. The runs in force are read once (or given: ``runs``, from ``runs_in_force``), and the causes of all
    held listings with one query per table. Returns ``listings``."""
    views: dict[str, Mapping[int, LiveView]] = {}
    held: list[tuple[dict[str, Any], LiveView]] = []
    for d in listings:
        # only a listing in effect: a live row keeps the entries of the lists decisions see, and a blacklisting in
        # its notice period is not among them (decisions/live.py) whether its cause still holds or not
        if d["status"] != "effective":
            continue
        if callable(live):
            subject = str(d["subject_id"])
            if subject not in views:
                views[subject] = live(subject)
            seen = views[subject]
        else:
            seen = live
        if not seen:
            continue
        if runs is None:
            runs = runs_in_force(store)
        view = seen.get(runs.get(str(d["policy_id"]), -1))
        if view is None or any((e[0], e[1]) == (d["list_id"], d["criterion_id"]) for e in view.entries):
            continue
        d["held"] = view.watermark
        held.append((d, view))
    # the day of the score each held listing's decisions stood on before (its run in force's as-of date): what a
    # reader is told, never the change number (``held``, for machines)
    days = (
        dict(
            store.execute(
                f"SELECT run_id, as_of FROM score_runs WHERE run_id IN ({', '.join('?' * len(runs or {}))})",
                list((runs or {}).values()),
            ).fetchall()
        )
        if held and runs
        else {}
    )
    for d, _ in held:
        d["held_since"] = days[runs[str(d["policy_id"])]].isoformat() if runs else None

    def worded(d: dict[str, Any]) -> bool:  # a ``listing_detail``, whose notice says it
        return "notice" in d and "list" in d and "criterion" in d

    details = [(d, v) for d, v in held if worded(d)]
    rows = [d for d, _ in held if why and not worded(d) and "record" not in d]
    # a row of ``list_listings`` names its record by its ids (none: on the score)
    on = [{"source_id": d["source_id"], "record_id": d["record_id"]} if d.get("record_id") else None for d in rows]
    causes = _held_whys(store, [d.get("record") for d, _ in details] + on, lang)
    for d, _ in details:
        cause, again = causes[_held_key(d.get("record"))]
        values = {"list": d["list"], "criterion": d["criterion"], "since": d["held_since"]}
        d["notice"] = _pick(_HELD, lang).format(**values, why=cause, again=again)
    for d, record in zip(rows, on, strict=True):
        d["held_why"] = causes[_held_key(record)][0]
    return listings


def held_ids(
    store: Store,
    listings: list[dict[str, Any]],
    live: Mapping[int, LiveView] | Callable[[str], Mapping[int, LiveView]],
) -> set[int]:
    """The ids of ``listings`` (rows of ``listings``) that decisions no longer apply (``held_now``, without causes):
    what ``list_members`` marks ``held`` and the public look-up leaves out."""
    marked = held_now(store, [dict(x) for x in listings], live, "en", why=False)
    return {int(x["listing_id"]) for x in marked if "held" in x}


def live_since_run(store: Store, listings: list[dict[str, Any]]) -> Callable[[str], Mapping[int, LiveView]]:
    """For a caller holding no service (the console): the subjects of ``listings`` (rows of ``listings``) changed
    since their policy's run in force, rescored as a live pass has them (``views_since_run``), as ``held_now`` takes
    ``live``. A service's faces ask the service instead (``Service.held_listings``): the fold this makes writes."""
    from socialcredit.registry.decisions.live import views_since_run
    from socialcredit.registry.scoring.runs import run_in_force

    views: dict[str, dict[int, LiveView]] = {}
    for policy_id in sorted({str(x["policy_id"]) for x in listings}):
        try:
            run = run_in_force(store, policy_id)
        except NotFoundError:  # no run in force: decisions are none of its listings'
            continue
        subjects = sorted({str(x["subject_id"]) for x in listings if x["policy_id"] == policy_id})
        for subject_id, view in views_since_run(store, run, subjects).items():
            views.setdefault(subject_id, {})[int(run["run_id"])] = view
    return lambda subject_id: views.get(subject_id, {})


def held_since_run(store: Store, listings: list[dict[str, Any]]) -> set[int]:
    """``held_ids`` of ``listings`` as the console finds them (``live_since_run``): a ``held`` for a caller holding
    no service."""
    return held_ids(store, listings, live_since_run(store, listings))


def _gravest(policies: list[LoadedPolicy], record: dict[str, Any]) -> tuple[LoadedPolicy, str] | None:
    graded = [(lp, record_severity(lp, record)) for lp in policies]
    found = [(lp, s) for lp, s in graded if s is not None]
    if not found:
        return None
    order = {"minor": 1, "general": 2, "serious": 3}
    return max(found, key=lambda g: order.get(g[1], 0))


def record_detail(
    store: Store,
    subject_id: str,
    source_id: str,
    record_id: str,
    *,
    lang: str = "en",
    today: dt.date,
    actor: str | None = None,
    purpose: str | None = None,
) -> dict[str, Any]:
    """One negative record of the subject (one a negative rule or blacklist criterion of a policy in use counts,
    with a severity class) with the same details as a listing; NotFoundError for another's or a record that is not
    negative. With ``actor``, a look-up audited as ``read_record`` (the source, the record and ``purpose``)."""
    record_id = fold_record_id(record_id)
    record = _record_part(store, subject_id, source_id, record_id, lang)
    row = record.pop("row")
    policies = policies_in_use(store)
    graded = _gravest(policies, row)
    if graded is None:
        raise NotFoundError(f"record {record_id!r} is not a negative record with a severity class", code="not_negative")
    if actor is not None:
        with store.transaction():
            read = {"source_id": source_id, "record_id": record_id, "purpose": purpose}
            append_audit(store, actor, "read_record", subject_id, read)
    loaded, severity = graded
    eligibility = repair_eligibility(store, subject_id, source_id, record_id, today=today, record=row)
    until = [counts_until(lp, row) for lp in policies if matching(lp, row)]
    ends = None if not until or any(u is None for u in until) else max(u for u in until if u is not None)
    listing = store.rows(
        "SELECT listing_id FROM listings WHERE subject_id = ? AND source_id = ? AND record_id = ? "
        "ORDER BY listing_id DESC LIMIT 1",
        [subject_id, source_id, record_id],
    )
    advice = next(
        (
            r.advice.get(lang)
            for r in loaded.policy.rules
            if r.advice and r.points < 0 and f"rule:{r.id}" in {m.key for m in matching(loaded, row)}
        ),
        None,
    )
    detail: dict[str, Any] = {
        "record": record,
        "source": record["source"],
        "severity": severity,
        "policy": loaded.policy.name.get(lang),
        "effective_on": eligibility["published_from"] or record["event_date"],
        "repair_from": eligibility["eligible_from"],
        # The first day no rule or criterion of the policies in use counts it (None: one counts it for good).
        "ends_on": iso(ends),
        # The day its publication ends by itself (the severity class's maximum from when it took effect).
        "publication_ends_on": eligibility["ends_on"],
        "eligibility": eligibility,
        "listing_id": int(listing[0]["listing_id"]) if listing else None,
        "repair_href": repair_href(source_id, record_id),
        "repairs": [r for r in list_repairs(store, subject_id=subject_id) if r["record_id"] == record_id],
    }
    detail["steps"] = _steps(detail, eligibility, advice, lang)
    return detail


def negative_records(
    store: Store, subject_id: str, rows: list[dict[str, Any]] | None = None
) -> dict[tuple[str, str], dict[str, Any]]:
    """The subject's records a policy in use counts against them with a severity class, by (source, record id): the
    severity, the first day repair may be asked and the day the record stops counting by itself.

    ``rows``: the subject's record versions as the file read them (``subject_report``'s ``record_rows``, each with
    ``superseded``); without them they are read here."""
    policies = policies_in_use(store)
    if rows is None:
        rows = file_versions(store, subject_id)
    rows = [r for r in rows if not r["superseded"] and not r["withdrawn"]]
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        graded = _gravest(policies, row)
        if graded is None:
            continue
        until = [counts_until(lp, row) for lp in policies if matching(lp, row)]
        ends = None if not until or any(u is None for u in until) else max(u for u in until if u is not None)
        out[(row["source_id"], row["record_id"])] = {"severity": graded[1], "ends_on": iso(ends)}
    return out
