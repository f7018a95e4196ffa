"""Notice of mandatory enrollment: from a policy's ``consent.notice_days`` before its ``consent.mandatory_from`` date,
every person is told once that the policy's consent categories will count for everyone (run by the daily job); a
person registered after that date is told at the next daily job that they count since then."""

from __future__ import annotations

import datetime as dt

from socialcredit.clock import resolve_today
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.scoring.policies import get_policy, policies_in_use
from socialcredit.registry.scoring.runs import in_force_sql
from socialcredit.store import Store

__all__ = ["mandatory_since", "notify_mandatory"]


def _categories(store: Store, categories: list[str], lang: str) -> str:
    """The categories' names from the store's catalog in ``lang`` (an id the catalog no longer has, as it is)."""
    known = store.catalog.categories
    names = [known[c].name.get(lang) if c in known else c for c in categories]
    return ("、" if lang == "zh" else ", ").join(names)


def mandatory_since(store: Store) -> dict[str, list[dict[str, str]]]:
    """By data category, the scored policies whose run in force counts it for everyone, whatever the person chose:
    the ``consent.mandatory_from`` of the version that run used on or before the run's ``as_of``, as scoring counts
    it (compiler/plan.py), not today (a run made before the date does not count it; decisions stand on that run
    until the next): each ``policy_id``, its ``name_en`` and ``name_zh``, and ``since``, the date."""
    out: dict[str, list[dict[str, str]]] = {}
    runs = store.rows(f"SELECT policy_id, policy_version, as_of FROM ({in_force_sql()}) ORDER BY policy_id")
    for run in runs:
        policy = get_policy(store, run["policy_id"], run["policy_version"]).policy
        c, name = policy.consent, policy.name
        if c.mandatory_from is None or run["as_of"] < c.mandatory_from:
            continue
        for category in c.categories:
            out.setdefault(category, []).append(
                {
                    "policy_id": policy.id,
                    "name_en": name.get("en"),
                    "name_zh": name.get("zh"),
                    "since": c.mandatory_from.isoformat(),
                }
            )
    return out


def notify_mandatory(store: Store, today: dt.date | None = None, actor: str = "registry") -> int:
    """From ``notice_days`` before a policy's mandatory enrollment date, tell every person once; returns how many.

    Before the date a person is told it will count ("From …"); from the date on, a person not told yet — registered
    since, or never told because the job did not run in the notice period — is told it counts ("Since …"). Until
    2026-12-05 no one was told after the date: a resident registered later never heard of it."""
    today = resolve_today(today)
    total = 0
    for lp in policies_in_use(store):
        c = lp.policy.consent
        if c.mandatory_from is None or not c.categories:
            continue
        if today < c.mandatory_from - dt.timedelta(days=c.notice_days):
            continue
        ref = int(c.mandatory_from.strftime("%Y%m%d"))
        day = c.mandatory_from.isoformat()
        name = lp.policy.name
        cats = {lang: _categories(store, c.categories, lang) for lang in ("en", "zh")}
        will = (
            f"From {day}, {name.get('en')} (policy {lp.policy.id}) counts {cats['en']} for everyone, whether or not "
            "you opted in. Until then you may opt in or out.",
            f"自 {day} 起，“{name.get('zh')}”（{lp.policy.id} 政策）将对所有人计入{cats['zh']}，无论是否同意。"
            "此前您仍可选择同意或撤回。",
        )
        since = (
            f"Since {day}, {name.get('en')} (policy {lp.policy.id}) counts {cats['en']} for everyone, whether or not "
            "you opted in.",
            f"自 {day} 起，“{name.get('zh')}”（{lp.policy.id} 政策）已对所有人计入{cats['zh']}，无论是否同意。",
        )
        # Who was told already: a notice of this policy for this date (ref_id), whatever its words (the policy or
        # its categories renamed since, or the id-only wording of before 2026-12-06, "From …" or "Since …"), found by
        # the policy's id every wording carries: "(policy ID) counts", before "…, policy ID counts". Categories added
        # at the same date need no new notice: a category outside consent.categories counted for everyone already.
        marks = [f"(policy {lp.policy.id}) counts ", f", policy {lp.policy.id} counts "]
        en, zh = will if today < c.mandatory_from else since
        with store.transaction():
            pending = store.execute(
                """SELECT DISTINCT subject_id FROM subjects WHERE kind = 'person' AND subject_id NOT IN (
                       SELECT subject_id FROM notifications WHERE kind = 'mandatory_enrollment' AND ref_id = ?
                         AND (contains(text_en, ?) OR contains(text_en, ?)))""",
                [ref, *marks],
            ).fetchall()
            n = len(pending)
            if n:
                first = store.take_ids("notification", n)
                store.execute(
                    """INSERT INTO notifications SELECT ? + row_number() OVER (ORDER BY subject_id) - 1, subject_id, ?,
                           'mandatory_enrollment', ?, ?, ?, now()
                       FROM (SELECT unnest(?) AS subject_id)""",
                    [first, today, ref, en, zh, [r[0] for r in pending]],
                )
                append_audit(
                    store, actor, "notify_mandatory", None, {"policy": lp.policy.id, "notified": n, "from": ref}
                )
            total += n
    return total
