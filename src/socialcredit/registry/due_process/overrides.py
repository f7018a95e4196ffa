"""Human review: an operator overrides a decision or a listing, with a written justification. Every override is
audited and shown to the subject (their report, file and notifications)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from socialcredit.clock import resolve_today
from socialcredit.errors import NotFoundError, WorkflowError, WorkflowInputError
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.common import MAX_TEXT, check_text, iso
from socialcredit.registry.due_process.listings import NOT_WITHDRAWN, criterion_words
from socialcredit.registry.due_process.notifications import notify
from socialcredit.registry.scoring.policies import get_policy
from socialcredit.registry.words import STATUS_WORDS
from socialcredit.store import Store

__all__ = ["LISTING_OUTCOMES", "MIN_JUSTIFICATION", "list_overrides", "override_decision", "override_listing"]

MIN_JUSTIFICATION = 20  # characters: a reason a person can check, not "ok"


# check_text's refusals of a justification, in Chinese (an operator's page in Chinese says them so)
_JUSTIFY_ZH = {
    "missing_field": "必须填写理由：请用几句话说明",
    "too_long": f"理由超过 {MAX_TEXT} 个字符",
    "control_character": "理由含有控制字符；请填写纯文本",
}


def _justify(text: str | None) -> str:
    try:
        why = check_text(text, "justification")
    except WorkflowInputError as exc:
        raise WorkflowInputError(
            str(exc), field=exc.field, code=exc.code, zh=_JUSTIFY_ZH.get(exc.code) or exc.zh
        ) from None
    assert why is not None
    if len(why) < MIN_JUSTIFICATION:
        raise WorkflowInputError(
            f"justification must say why in at least {MIN_JUSTIFICATION} characters (it is shown to the subject)",
            field="justification",
            code="justification_too_short",
            zh=f"理由须至少 {MIN_JUSTIFICATION} 个字符说明原因（将向当事人展示）",
        )
    return why


def _insert(
    store: Store, subject_id: str, kind: str, target: str, outcome: str, why: str, actor: str, today: dt.date
) -> dict[str, Any]:
    oid = store.take_ids("override", 1)
    store.execute(
        "INSERT INTO overrides VALUES (?, ?, ?, ?, ?, ?, ?, ?, now())",
        [oid, subject_id, kind, target, outcome, why, actor, today],
    )
    append_audit(
        store, actor, "override_" + kind, subject_id, {"override_id": oid, "target": target, "outcome": outcome}
    )
    return {
        "override_id": oid,
        "subject_id": subject_id,
        "kind": kind,
        "target": target,
        "outcome": outcome,
        "justification": why,
        "actor": actor,
        "on_date": today.isoformat(),
    }


def _service_words(store: Store, inquiry: dict[str, Any]) -> tuple[str, str]:
    """The service of a decision in words (English, Chinese), from the policy of its run; its id if unknown."""
    service = str(inquiry["service"])
    policy_id = store.one("SELECT policy_id FROM score_runs WHERE run_id = ?", [inquiry.get("run_id")])
    if policy_id is None:
        return service, service
    try:
        policy = get_policy(store, str(policy_id)).policy
    except NotFoundError:
        return service, service
    found = next((s for s in policy.services if s.id == service), None)
    return (found.name.en, found.name.zh) if found else (service, service)


def override_decision(
    store: Store, inquiry_id: int, outcome: str, justification: str, actor: str, *, today: dt.date | None = None
) -> dict[str, Any]:
    """Replace the outcome of one decision (an inquiry) with ``granted`` or ``refused``: the outcome it stands at
    (its last override's, else its own) is changed, so a second override reverses the first, and one that changes
    nothing is refused (409 ``outcome_unchanged``)."""
    today = resolve_today(today)
    if outcome not in ("granted", "refused"):
        raise WorkflowInputError(
            f"outcome must be granted or refused, not {outcome!r}", field="outcome", code="bad_outcome"
        )
    why = _justify(justification)
    rows = store.rows("SELECT * FROM inquiries WHERE inquiry_id = ?", [inquiry_id])
    if not rows:
        raise NotFoundError(f"no decision (inquiry) {inquiry_id}", zh=f"没有决定（查询）{inquiry_id}")
    q = rows[0]
    asked_on = q["asked_at"].date()
    # the outcome it stands at now: the last override's (a reversal reverses that), else the decision's own
    last = store.rows(
        "SELECT override_id, outcome FROM overrides WHERE target = ? ORDER BY override_id DESC LIMIT 1",
        [f"inquiry:{inquiry_id}"],
    )
    standing = str(last[0]["outcome"]) if last else str(q["outcome"])
    if outcome == standing:
        after = f" after override {last[0]['override_id']}" if last else ""
        raise WorkflowError(
            f"decision (inquiry) {inquiry_id} stands as {standing} already{after}; an override changes the outcome "
            f"(give {'refused' if standing == 'granted' else 'granted'})",
            field="outcome",
            code="outcome_unchanged",
        )
    en_name, zh_name = _service_words(store, q)
    zh_outcome = {k: zh for k, (zh, _en) in STATUS_WORDS["outcome"].items()}
    en_before = f"{standing} after an earlier review" if last else standing
    zh_before = f"复核后为{zh_outcome.get(standing, standing)}" if last else zh_outcome.get(standing, standing)
    with store.transaction():
        out = _insert(store, q["subject_id"], "decision", f"inquiry:{inquiry_id}", outcome, why, actor, today)
        notify(
            store,
            q["subject_id"],
            "override",
            out["override_id"],
            f"An operator reviewed the {en_name} decision of {asked_on:%Y-%m-%d} ({en_before}) and "
            f"changed it to {outcome}: {why}",
            f"运营人员复核了 {asked_on:%Y-%m-%d} 的{zh_name}决定（{zh_before}），改为{zh_outcome[outcome]}：{why}",
            today,
        )
    return out


LISTING_OUTCOMES = ("removed", "restored")


def override_listing(
    store: Store,
    listing_id: int,
    justification: str,
    actor: str,
    *,
    outcome: str = "removed",
    today: dt.date | None = None,
) -> dict[str, Any]:
    """End a pending or effective listing (``removed``: the subject is taken off the list for that cause); not on a
    day before it was noticed (409 ``before_notice``: it would be closed before it began).

    ``restored`` reverses an operator's removal: the listing stands again as it stood before it (in effect if it had
    taken effect, else pending), the resident told. An override that changes nothing is refused (409
    ``outcome_unchanged``: a listing open removed again, one standing removed by an override removed again or one
    open restored); a listing ended otherwise (resolved, delisted, repaired, its publication ended) cannot be
    restored (409 ``listing_ended``), nor one whose cause the policy's last run no longer found (409 ``cause_gone``:
    it would list the subject for a cause that is not there)."""
    today = resolve_today(today)
    if outcome not in LISTING_OUTCOMES:
        raise WorkflowInputError(
            f"outcome must be removed or restored, not {outcome!r}", field="outcome", code="bad_outcome"
        )
    why = _justify(justification)
    rows = store.rows("SELECT * FROM listings WHERE listing_id = ?", [listing_id])
    if not rows:
        raise NotFoundError(f"no listing {listing_id}", zh=f"没有名单认定 {listing_id}")
    row = rows[0]
    status = str(row["status"])
    last = store.rows(
        "SELECT override_id, outcome FROM overrides WHERE target = ? ORDER BY override_id DESC LIMIT 1",
        [f"listing:{listing_id}"],
    )
    if outcome == "restored":
        return _restore_listing(store, row, last[0] if last else None, why, actor, today)
    if status == "overridden":
        after = f" after override {last[0]['override_id']}" if last else ""
        raise WorkflowError(
            f"listing {listing_id} stands as removed already{after}; an override changes the outcome (give restored)",
            field="outcome",
            code="outcome_unchanged",
            zh=f"名单认定 {listing_id} 已被移出{'（复核 ' + str(last[0]['override_id']) + '）' if last else ''}；"
            "复核须改变结果（应为恢复列入）",
        )
    if status not in ("pending", "effective"):
        raise WorkflowError(
            f"listing {listing_id} has ended already ({status})",
            field="listing_id",
            code="listing_ended",
            zh=f"名单认定 {listing_id} 已结束（{status}）",
        )
    if today < row["noticed_on"]:  # the registry's clock set back: it would end before it began
        raise WorkflowError(
            f"listing {listing_id} was noticed on {row['noticed_on'].isoformat()}; its override cannot be dated "
            f"{today.isoformat()}, before that",
            field="today",
            code="before_notice",
        )
    w = criterion_words(store, row["policy_id"], row["list_id"], row["criterion_id"])  # the notice says words
    with store.transaction():
        store.execute(
            "UPDATE listings SET status = 'overridden', closed_on = ? WHERE listing_id = ?", [today, listing_id]
        )
        out = _insert(store, row["subject_id"], "listing", f"listing:{listing_id}", "removed", why, actor, today)
        notify(
            store,
            row["subject_id"],
            "override",
            out["override_id"],
            f"An operator took you off the {w['list_en']} ({w['criterion_en']}): {why}",
            f"运营人员将您移出{w['list_zh']}（{w['criterion_zh']}）：{why}",
            today,
        )
    return out


def _restore_listing(
    store: Store, row: dict[str, Any], last: dict[str, Any] | None, why: str, actor: str, today: dt.date
) -> dict[str, Any]:
    listing_id = int(row["listing_id"])
    status = str(row["status"])
    if status in ("pending", "effective"):
        raise WorkflowError(
            f"listing {listing_id} stands as {status} already (not removed); an override changes the outcome "
            "(give removed)",
            field="outcome",
            code="outcome_unchanged",
            zh=f"名单认定 {listing_id} 仍为{'已生效' if status == 'effective' else '告知期内'}（未被移出）；"
            "复核须改变结果（应为移出名单）",
        )
    if status != "overridden" or last is None or last["outcome"] != "removed":
        raise WorkflowError(
            f"listing {listing_id} ended as {status}, not removed by an override; only an operator's removal can be "
            "reversed",
            field="listing_id",
            code="listing_ended",
            zh=f"名单认定 {listing_id} 以 {status} 结束，并非经人工复核移出；只有人工移出可以撤销",
        )
    if not row["cause_present"]:
        raise WorkflowError(
            f"listing {listing_id} cannot be restored: the policy's last run no longer found its cause; a run that "
            "finds it again gives a new notice",
            field="listing_id",
            code="cause_gone",
            zh=f"名单认定 {listing_id} 不能恢复：该政策最近一次评分已不再发现其原因；再次发现时将重新告知",
        )
    if today < row["closed_on"]:  # the registry's clock set back: restored before it was removed
        raise WorkflowError(
            f"listing {listing_id} was removed on {row['closed_on'].isoformat()}; its restoration cannot be dated "
            f"{today.isoformat()}, before that",
            field="today",
            code="before_removal",
            zh=f"名单认定 {listing_id} 于 {row['closed_on'].isoformat()} 被移除；其恢复不能早于该日，不能记为 "
            f"{today.isoformat()}",
        )
    # as it stood before the removal: in effect once its subject was told it took effect, else still pending (the
    # daily job puts it in effect on its day)
    took_effect = store.one(
        "SELECT count(*) FROM notifications t WHERE kind = 'listing_effective' AND ref_id = ? AND subject_id = ? "
        f"AND {NOT_WITHDRAWN}",
        [listing_id, row["subject_id"]],
    )
    back = "effective" if took_effect else "pending"
    w = criterion_words(store, row["policy_id"], row["list_id"], row["criterion_id"])
    with store.transaction():
        store.execute("UPDATE listings SET status = ?, closed_on = NULL WHERE listing_id = ?", [back, listing_id])
        out = _insert(store, row["subject_id"], "listing", f"listing:{listing_id}", "restored", why, actor, today)
        en = "put you back on" if back == "effective" else "put back the notice of"
        zh = "恢复将您列入" if back == "effective" else "恢复列入告知："
        notify(
            store,
            row["subject_id"],
            "override",
            out["override_id"],
            f"An operator reviewed the removal of your listing (override {last['override_id']}) and {en} the "
            f"{w['list_en']} ({w['criterion_en']}): {why}",
            f"运营人员复核了移出名单的决定（复核 {last['override_id']}），"
            f"{zh}{w['list_zh']}（{w['criterion_zh']}）：{why}",
            today,
        )
    return out


def list_overrides(store: Store, *, subject_id: str | None = None) -> list[dict[str, Any]]:
    sql = "SELECT * FROM overrides" + (" WHERE subject_id = ?" if subject_id else "") + " ORDER BY override_id"
    keys = ("override_id", "subject_id", "kind", "target", "outcome", "justification", "actor", "on_date")
    return [{k: iso(r[k]) for k in keys} for r in store.rows(sql, [subject_id] if subject_id else [])]
