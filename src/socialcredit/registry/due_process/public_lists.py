"""The public look-up of blacklists: only effective listings (past notice and grace, not repaired, not ended),
only the fields the policy makes public, identity numbers masked in the middle."""

from __future__ import annotations

from typing import Any

from socialcredit.errors import WorkflowInputError
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.common import iso
from socialcredit.registry.scoring.policies import policies_in_use
from socialcredit.store import Store

__all__ = ["mask_id", "public_lookup"]


def mask_id(value: str) -> str:
    """Keep the first six and last four characters: 110101199001011234 → 110101********1234."""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def public_lookup(
    store: Store, query: str, list_id: str | None = None, *, lang: str = "en", actor: str = "public"
) -> list[dict[str, Any]]:
    """Effective public listings of the subject named ``query`` (a full name, identity number or credit code)."""
    q = (query or "").strip()
    if len(q) < 2 or len(q) > 64:
        raise WorkflowInputError(
            "query must be a full name, identity number or organisation code (2 to 64 characters)",
            field="query",
            code="bad_query",
        )
    public = {
        (lp.policy.id, lst.id): (lp, lst)
        for lp in policies_in_use(store)
        for lst in lp.policy.lists
        if lst.kind == "black" and lst.public_fields and (list_id is None or lst.id == list_id)
    }
    if list_id is not None and not any(k[1] == list_id for k in public):
        raise WorkflowInputError(f"no public list {list_id!r}", field="list_id", code="unknown_list")
    rows = store.rows(
        """SELECT l.*, s.name FROM listings l
           JOIN current_subjects s USING (subject_id)
           WHERE l.status = 'effective' AND (l.subject_id = upper(?) OR s.name = ?)
           ORDER BY l.subject_id, l.policy_id, l.list_id, l.effective_on, l.listing_id""",
        [q, q],
    )
    out = []
    for r in rows:
        found = public.get((r["policy_id"], r["list_id"]))
        if found is None:
            continue
        lp, lst = found
        crit = lp.policy.criterion(lst.id, r["criterion_id"])
        values: dict[str, Any] = {
            "name": r["name"],
            "id_number": mask_id(r["subject_id"]),
            "list": lst.name.get(lang),
            "cause": crit.reason.text(lang),
            "since": iso(r["effective_on"]),
        }
        out.append({str(k): values[k] for k in lst.public_fields})
    with store.transaction():
        append_audit(store, actor, "public_lookup", None, {"list": list_id, "results": len(out)})
    return out
