"""Why a person is on a list through an organisation: the organisation, the role and the organisation's cause, in
words ("legal representative of 北京某某科技有限公司 (USCC 91110…), which is a judgment defaulter").

A list entry met through a relation (a criterion with ``via``, docs/policy-language.md) names the role record as
its record; this module reads that record, the organisation's name and its own entry on the relation's list in the
latest run of the policy.
"""

from __future__ import annotations

from socialcredit.policy import LoadedPolicy
from socialcredit.registry.words import ROLE_WORDS
from socialcredit.store import Store

__all__ = ["ROLE_WORDS", "relation_note"]

_ROLE = """
SELECT r.org_id, r.role, s.name FROM records r
LEFT JOIN current_subjects s ON s.subject_id = r.org_id
WHERE r.record_key = ?
"""

# The organisation's entries on the list in the latest finished run of the policy that has any.
_CAUSE = """
SELECT e.criterion_id FROM run_list_entries e JOIN score_runs s USING (run_id)
WHERE s.policy_id = ? AND s.finished_at IS NOT NULL AND e.subject_id = ? AND e.list_id = ?
QUALIFY e.run_id = max(e.run_id) OVER ()
ORDER BY e.criterion_id
"""


def relation_note(
    store: Store, loaded: LoadedPolicy, list_id: str, criterion_id: str, record_key: int | None
) -> tuple[str, str] | None:
    """The words (en, zh) a relation entry's reason ends with, or None if the entry is not through a relation."""
    try:
        crit = loaded.policy.criterion(list_id, criterion_id)
    except KeyError:
        return None
    if crit.via is None or record_key is None:
        return None
    row = store.execute(_ROLE, [int(record_key)]).fetchone()
    if row is None:
        return None
    org_id, role, name = str(row[0]), str(row[1]), row[2]
    target = loaded.policy.list_spec(crit.via.list)
    causes = []
    for (cid,) in store.execute(_CAUSE, [loaded.policy.id, org_id, target.id]).fetchall():
        try:
            c = target.criteria[[x.id for x in target.criteria].index(str(cid))]
        except ValueError:
            continue
        if c.via is None and (crit.via.criteria is None or c.id in crit.via.criteria):
            causes.append(c)
    zh_role, en_role = ROLE_WORDS.get(role, (role, role))
    org_en = f"{name} (USCC {org_id})" if name else f"USCC {org_id}"
    org_zh = f"{name}（统一社会信用代码 {org_id}）" if name else f"统一社会信用代码 {org_id}"
    if causes:
        cause_en = f"which is a {causes[0].reason.en}"
        cause_zh = f"该单位为{causes[0].reason.zh}"
    else:
        cause_en = f"which is on the {target.name.en}"
        cause_zh = f"该单位列入{target.name.zh}"
    return f": {en_role} of {org_en}, {cause_en}", f"：{org_zh}的{zh_role}，{cause_zh}"
