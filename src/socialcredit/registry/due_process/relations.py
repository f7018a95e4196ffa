"""Why a person is on a list through an organisation: the organisation, the role and the organisation's cause, in
words ("legal representative of 北京某某科技有限公司 (USCC 91110…), which is a judgment defaulter").

A list entry met through a relation (a criterion with ``via``, docs/policy-language.md) names the role record as
its record; this module reads that record, the organisation's name and its own entry on the relation's list in the
latest run of the policy. One function words them all (``relation_notes``, set-based): a reason, a report, the
notices of a listing (when it is noticed and when it takes effect) say the same.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlglot.expressions as exp

from socialcredit.policy import LoadedPolicy
from socialcredit.registry.words import ROLE_WORDS
from socialcredit.store import Store, latest_subjects, listed_integers, subject_keys_of

__all__ = ["ROLE_WORDS", "relation_note", "relation_notes"]

# The role records, from those kept apart (store.note_role_records), not by a scan of every record's type.
_ROLES = """
SELECT r.record_key, r.org_id, r.role FROM role_records r WHERE r.record_key IN (SELECT unnest($keys))
"""


def _names(store: Store, orgs: Sequence[str]) -> dict[str, str]:
    """The organisations' names: the latest version of these only, found by key (the view current_subjects would
    rank every subject's versions; a list parameter compared every version's identifier). The keys are written into
    the statement's text after it is printed: thousands of literals in a sqlglot tree cost a second to parse and
    print (a run of beijing words 4,260 listings through organisations)."""
    keys = [int(r[0]) for r in store.execute(subject_keys_of(orgs)).fetchall()] if orgs else []
    if not keys:
        return {}
    where = exp.column("subject_key").isin(exp.Literal.string(_KEYS))
    text = latest_subjects(("subject_id", "name"), where=where).sql(dialect="duckdb")
    return {str(s): n for s, n in store.execute(text.replace(f"'{_KEYS}'", listed_integers(keys))).fetchall()}


_KEYS = "sc-org-keys"  # where the organisations' keys go in the text of _names' statement


# Each organisation's entries on a list in the latest ordinary finished run of the policy that has any for it on that
# list (the run in force or one before it: a what-if, a rerun, a past-dated run or one behind is no cause in force).
# The organisations are a semi-join: list_contains with a list of thousands compared each against every entry of
# every run (6.4 CPU s for 4,000 organisations and 1.5 million entries, against 0.05 s).
_CAUSES = """
SELECT e.subject_id, e.list_id, e.criterion_id FROM run_list_entries e JOIN score_runs s USING (run_id)
WHERE s.policy_id = $policy AND s.finished_at IS NOT NULL AND s.standing = 'ordinary'
  AND e.subject_id IN (SELECT unnest($orgs))
  AND list_contains($lists, e.list_id)
QUALIFY e.run_id = max(e.run_id) OVER (PARTITION BY e.subject_id, e.list_id)
ORDER BY e.subject_id, e.list_id, e.criterion_id
"""


def relation_note(
    store: Store, loaded: LoadedPolicy, list_id: str, criterion_id: str, record_key: int | None
) -> tuple[str, str] | None:
    """The words (en, zh) a relation entry's reason ends with, or None if the entry is not through a relation."""
    return relation_notes(store, loaded, [(list_id, criterion_id, record_key)])[0]


def relation_notes(
    store: Store, loaded: LoadedPolicy, entries: Sequence[tuple[str, str, int | None]]
) -> list[tuple[str, str] | None]:
    """:func:`relation_note` for many entries (list, criterion, record key) at once, in their order: four queries
    whatever their number (a run may put thousands of listings through organisations in effect)."""
    vias = []
    for list_id, criterion_id, record_key in entries:
        try:
            crit = loaded.policy.criterion(list_id, criterion_id)
        except KeyError:
            crit = None
        vias.append(crit.via if crit is not None and record_key is not None else None)
    keys = sorted({int(e[2]) for e, via in zip(entries, vias, strict=True) if via is not None and e[2] is not None})
    if not keys:
        return [None] * len(entries)
    roles = {int(k): (str(o), str(r)) for k, o, r in store.execute(_ROLES, {"keys": keys}).fetchall()}
    orgs = sorted({org for org, _ in roles.values()})
    names = _names(store, orgs)
    targets = sorted({via.list for via in vias if via is not None})
    found: dict[tuple[str, str], list[str]] = {}
    params = {"policy": loaded.policy.id, "orgs": orgs, "lists": targets}
    for org, lst, cid in store.execute(_CAUSES, params).fetchall():
        found.setdefault((str(org), str(lst)), []).append(str(cid))
    out: list[tuple[str, str] | None] = []
    for (_, _, record_key), via in zip(entries, vias, strict=True):
        role_row = roles.get(int(record_key)) if via is not None and record_key is not None else None
        if via is None or role_row is None:
            out.append(None)
            continue
        org_id, role = role_row
        target = loaded.policy.list_spec(via.list)
        by_id = {c.id: c for c in target.criteria}
        causes = [
            by_id[cid]
            for cid in found.get((org_id, target.id), [])
            if cid in by_id and by_id[cid].via is None and (via.criteria is None or cid in via.criteria)
        ]
        name = names.get(org_id)
        zh_role, en_role = ROLE_WORDS.get(role, (role, role))
        org_en = f"{name} (USCC {org_id})" if name else f"USCC {org_id}"
        org_zh = f"{name}（统一社会信用代码 {org_id}）" if name else f"统一社会信用代码 {org_id}"
        if causes:
            cause_en = f"which is a {causes[0].reason.en}"
            cause_zh = f"该单位为{causes[0].reason.zh}"
        else:
            cause_en = f"which is on the {target.name.en}"
            cause_zh = f"该单位列入{target.name.zh}"
        out.append((f": {en_role} of {org_en}, {cause_en}", f"：{org_zh}的{zh_role}，{cause_zh}"))
    return out
