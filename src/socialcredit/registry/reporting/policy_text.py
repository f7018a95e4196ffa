"""A published policy in plain Chinese and English, as the registry shows it: the words of the policy layer
(policy/words.py: every rule, list and service, and what changed between two versions), the links from notices to
the rules they are about, and every published version with who published it.

The public policy pages, ``policy explain`` and the API read a policy through :func:`policy_text`; nothing it
says is a field name, a code or a condition as written in the policy (``status == 'paid'`` reads "the status is
paid"). :func:`policy_changes` compares two versions item by item, in the same words.

>>> from socialcredit.policy import builtin_policy
>>> text = policy_text(builtin_policy("beijing"), "en")
>>> text.sections[1].items[1].title
'taxes paid late'
"""

from __future__ import annotations

from typing import Any

from socialcredit.policy.words import (
    Change,
    Item,
    PolicyText,
    Section,
    _Words,
    anchor_of,
    condition_words,
    policy_changes,
    policy_href,
    policy_plain_text,
    policy_text,
    reason_anchors,
    span,
    tier_label,
)
from socialcredit.registry.scoring.policies import version_key
from socialcredit.store import Store

__all__ = [
    "Change",
    "Item",
    "PolicyText",
    "Section",
    "_Words",
    "anchor_of",
    "condition_words",
    "notice_hrefs",
    "policy_changes",
    "policy_history",
    "policy_href",
    "policy_plain_text",
    "policy_text",
    "publisher_name",
    "reason_anchors",
    "span",
    "tier_label",
]


def notice_hrefs(store: Store, notifications: list[dict[str, Any]]) -> dict[int, str]:
    """The rule each notice is about, by notification id: a listing's criterion on its policy's page; any other
    notice, the index of the published policies."""
    listing_ids = [int(n["ref_id"]) for n in notifications if str(n["kind"]).startswith("listing") and n["ref_id"]]
    listings: dict[int, dict[str, Any]] = {}
    if listing_ids:
        rows = store.rows(
            "SELECT listing_id, policy_id, list_id, criterion_id FROM listings WHERE listing_id IN "
            "(SELECT unnest(?::BIGINT[]))",
            [listing_ids],
        )
        listings = {int(r["listing_id"]): r for r in rows}
    out: dict[int, str] = {}
    for n in notifications:
        x = listings.get(int(n["ref_id"])) if str(n["kind"]).startswith("listing") and n["ref_id"] else None
        out[int(n["notification_id"])] = (
            policy_href(x["policy_id"], anchor=anchor_of("list", f"{x['list_id']}.{x['criterion_id']}"))
            if x
            else "/policies"
        )
    return out


# --- history and changes -----------------------------------------------------------------------------------


_ACTORS = {
    "cli": ("the registry's operators (command line)", "登记机构运营人员（命令行）"),
    "demo": ("the demonstration", "演示程序"),
}


def publisher_name(store: Store, actor: str, lang: str) -> str:
    """Who published, in words: a party's name for a key (never the key's id), the operators for the command line."""
    if actor.startswith("key:"):
        name = store.one("SELECT name FROM api_keys WHERE key_id = ?", [actor[4:]])
        if name is not None:
            return str(name)
    words = _ACTORS.get(actor)
    if words is not None:
        return words[0 if lang == "en" else 1]
    return "the registry" if lang == "en" else "登记机构"


def policy_history(store: Store, policy_id: str, lang: str = "en") -> list[dict[str, Any]]:
    """Every published version of a policy, newest first (by version order: the first is in force,
    scoring/policies.version_key): version, SHA-256, when and by whom it was published (``published_by`` in words,
    None when the audit log does not say)."""
    rows = store.rows("SELECT version, sha256, published_at FROM policies WHERE policy_id = ?", [policy_id])
    rows.sort(key=lambda r: (version_key(str(r["version"])), r["published_at"]), reverse=True)
    who: dict[str, str] = {}
    for r in store.rows(
        "SELECT actor, json_extract_string(detail, '$.version') AS version FROM audit_log "
        "WHERE action = 'publish_policy' AND json_extract_string(detail, '$.policy') = ? ORDER BY seq",
        [policy_id],
    ):
        who.setdefault(str(r["version"]), publisher_name(store, str(r["actor"]), lang))
    return [{**r, "published_by": who.get(str(r["version"]))} for r in rows]
