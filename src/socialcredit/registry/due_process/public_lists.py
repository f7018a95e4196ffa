"""The public look-up of blacklists: only effective listings (past notice and grace, not repaired, not ended),
only the fields the policy makes public, identity numbers masked in the middle.

A list whose policy makes its ``cause`` public shows the cause's details too: who recorded it (the authority, the
source in words), its case or reference number, the amount, the date of the record, and "under dispute" while an
open dispute holds the record. Results come in pages (``public_lookup_page``), with the totals.

A listing decisions no longer apply is not published: one still in effect in the register whose cause the running
service's decisions no longer find (a record held out of scoring while its dispute is open, corrected or withdrawn;
``held``, given by the service: ``Service.held_listings``) is left out, and published again once decisions apply it
again. Without ``held`` (the command line, which runs no service and decides on the run in force) every listing in
effect is published.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Collection
from typing import Any

from socialcredit.errors import WorkflowInputError
from socialcredit.identifiers import compact_subject_id
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.common import iso
from socialcredit.registry.due_process.listings import NOT_WITHDRAWN
from socialcredit.registry.scoring.policies import policies_in_use
from socialcredit.store import Store

__all__ = ["MAX_PAGE", "MAX_PAGE_SIZE", "PAGE_SIZE", "Held", "mask_id", "public_lookup", "public_lookup_page"]

PAGE_SIZE = 20  # results on a page unless the caller asks for another size
MAX_PAGE_SIZE = 100
MAX_PAGE = 10_000
# the ids of the listings (rows of ``listings``) that decisions no longer apply, read with the store given
Held = Callable[[Store, list[dict[str, Any]]], Collection[int]]
DETAILS = ("authority", "case_number", "amount", "decided_on", "under_dispute")  # shown with a public cause


def mask_id(value: str) -> str:
    """Keep the first six and last four characters: 110101199001011234 → 110101********1234."""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def _check_query(query: str) -> str:
    # a name in canonical form (NFC), as ingest stores one: 金 typed as U+F90A, é as e and an accent, are one name
    q = unicodedata.normalize("NFC", (query or "").strip())
    if len(q) < 2 or len(q) > 64:
        raise WorkflowInputError(
            "query must be a full name, identity number or organisation code (2 to 64 characters)",
            field="query",
            code="bad_query",
            zh="请输入完整的姓名、身份证号或统一社会信用代码（2 至 64 个字符）",
        )
    return q


def check_page(page: int, page_size: int) -> None:
    """Refuse a page before the first or past ``MAX_PAGE``, or a page size outside 1 to ``MAX_PAGE_SIZE``."""
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise WorkflowInputError(
            f"page_size must be from 1 to {MAX_PAGE_SIZE}, not {page_size}",
            field="page_size",
            code="bad_page_size",
            zh=f"每页条数应为 1 至 {MAX_PAGE_SIZE}，收到的是 {page_size}",
        )
    if not 1 <= page <= MAX_PAGE:
        raise WorkflowInputError(
            f"page must be from 1 to {MAX_PAGE}, not {page}",
            field="page",
            code="bad_page",
            zh=f"页码应为 1 至 {MAX_PAGE}，收到的是 {page}",
        )


# Effective listings of the subjects found by identifier or current name; names are read for listed subjects only.
_FOUND = f"""
WITH l AS (SELECT * FROM listings WHERE status = 'effective'),
     names AS (
        SELECT subject_id, arg_max(name, seq) AS name FROM subjects
        WHERE subject_id IN (SELECT subject_id FROM l) GROUP BY subject_id
     )
SELECT l.*, n.name,
       -- the day it took effect, as its subject was told (listing_details._took_effect_on): a run after its date
       greatest(l.effective_on, (SELECT min(t.created_on) FROM notifications t WHERE t.kind = 'listing_effective'
                                 AND t.ref_id = l.listing_id AND t.subject_id = l.subject_id
                                 AND {NOT_WITHDRAWN})) AS took_effect_on
FROM l JOIN names n USING (subject_id)
WHERE l.subject_id = ? OR nfc_normalize(n.name) = ?
ORDER BY l.subject_id, l.policy_id, l.list_id, l.effective_on, l.listing_id
"""

# The record behind each listing (its latest version) and whether an open dispute holds it.
_DETAILS = """
WITH wanted AS (SELECT unnest(?::VARCHAR[]) AS source_id, unnest(?::VARCHAR[]) AS record_id)
SELECT r.source_id, r.record_id, arg_max(r.amount, r.version) AS amount, arg_max(r.event_date, r.version) AS event_date,
       bool_or(d.dispute_id IS NOT NULL) AS under_dispute
FROM records r JOIN wanted w USING (source_id, record_id)
LEFT JOIN disputes d ON d.source_id = r.source_id AND d.record_id = r.record_id AND d.status = 'open'
GROUP BY r.source_id, r.record_id
"""


def _matches(store: Store, q: str, list_id: str | None, lang: str, held: Held | None) -> list[dict[str, Any]]:
    public = {
        (lp.policy.id, lst.id): (lp, lst)
        for lp in policies_in_use(store)
        for lst in lp.policy.lists
        if lst.kind == "black" and lst.public_fields and (list_id is None or lst.id == list_id)
    }
    if list_id is not None and not any(k[1] == list_id for k in public):
        raise WorkflowInputError(
            f"no public list {list_id!r}", field="list_id", code="unknown_list", zh=f"没有公开名单 {list_id!r}"
        )
    out = []
    rows = store.rows(_FOUND, [compact_subject_id(q), q])  # an identifier as over the API: `110105 1988…x`
    withheld = set(held(store, rows)) if held is not None and rows else set()
    for r in rows:
        found = public.get((r["policy_id"], r["list_id"]))
        if found is None or int(r["listing_id"]) in withheld:
            continue
        lp, lst = found
        crit = lp.policy.criterion(lst.id, r["criterion_id"])
        values: dict[str, Any] = {
            "name": r["name"],
            "id_number": mask_id(r["subject_id"]),
            "list": lst.name.get(lang),
            "cause": crit.reason.text(lang),
            "since": iso(r["took_effect_on"]),
        }
        row = {str(k): values[k] for k in lst.public_fields}
        if "cause" in lst.public_fields:  # the cause's record, as below
            row["_record"] = (str(r["source_id"]), str(r["record_id"]))
        out.append(row)
    return out


def _with_details(store: Store, rows: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """Each row whose cause is public with its record's details (a cause met by the score has no record)."""
    keys = [r["_record"] for r in rows if "_record" in r and r["_record"][1]]
    details = {}
    if keys:
        found = store.rows(_DETAILS, [[k[0] for k in keys], [k[1] for k in keys]])
        details = {(str(d["source_id"]), str(d["record_id"])): d for d in found}
    sources = store.catalog.sources
    out = []
    for r in rows:
        record = r.pop("_record", None)
        if record is not None:
            d = details.get(record, {})
            source = sources.get(record[0])
            r["authority"] = source.name.get(lang) if source is not None else (record[0] or None)
            r["case_number"] = record[1] or None
            r["amount"] = float(d["amount"]) if d.get("amount") is not None else None
            r["decided_on"] = iso(d.get("event_date"))
            r["under_dispute"] = bool(d.get("under_dispute"))
        out.append(r)
    return out


def public_lookup(
    store: Store,
    query: str,
    list_id: str | None = None,
    *,
    lang: str = "en",
    actor: str = "public",
    held: Held | None = None,
) -> list[dict[str, Any]]:
    """Effective public listings of the subject named ``query`` (a full name, identity number or credit code),
    every one (the pages are ``public_lookup_page``); those ``held`` names are left out."""
    q = _check_query(query)
    out = _with_details(store, _matches(store, q, list_id, lang, held), lang)
    with store.transaction():
        append_audit(store, actor, "public_lookup", None, {"list": list_id, "results": len(out)})
    return out


def public_lookup_page(
    store: Store,
    query: str,
    list_id: str | None = None,
    *,
    page: int = 1,
    page_size: int = PAGE_SIZE,
    lang: str = "en",
    actor: str = "public",
    held: Held | None = None,
) -> dict[str, Any]:
    """One page of ``public_lookup``: ``results`` (at most ``page_size``, 1 to ``MAX_PAGE_SIZE``), ``page`` (from 1),
    ``total`` results and ``pages``; a page past the last is empty. Those ``held`` names are left out."""
    check_page(page, page_size)
    q = _check_query(query)
    found = _matches(store, q, list_id, lang, held)
    start = (page - 1) * page_size
    results = _with_details(store, found[start : start + page_size], lang)
    with store.transaction():
        append_audit(store, actor, "public_lookup", None, {"list": list_id, "results": len(found), "page": page})
    return {
        "q": q,
        "page": page,
        "page_size": page_size,
        "total": len(found),
        "pages": max(1, -(-len(found) // page_size)),
        "results": results,
    }
