"""The public policy pages' own words (key: (Chinese, English)); merged into ``i18n.MESSAGES``."""

from __future__ import annotations

__all__ = ["POLICY_PAIRS"]

POLICY_PAIRS: dict[str, tuple[str, str]] = {
    "nav_policies_public": ("评分规则", "The rules"),
    "footer_policies": ("阅读全部规则", "Read every rule"),
    "policies_title": ("公开的评分规则", "The published scoring rules"),
    "policies_lead": (
        "每一项评分政策的每一条规则都在这里公开，无需登录：依据什么记录、加减多少分、计入多久、如何列入名单、各项服务需要什么条件。",
        "Every rule of every scoring policy is published here, without signing in: what record it reads, how many "
        "points, for how long, how one is put on a list, and what each service requires.",
    ),
    "policies_none": ("尚未发布任何评分政策。", "No policy has been published yet."),
    "policies_current": ("现行版本 {version}，{date}发布", "current version {version}, published {date}"),
    "policy_version_title": ("{name}（{version}版）", "{name} (version {version})"),
    "policy_old_version": (
        "这是旧版本；现行版本为 {version}。",
        "This is an earlier version; the current version is {version}.",
    ),
    "policy_contents": ("目录", "Contents"),
    "policy_history": ("版本历史", "Version history"),
    "policy_published": ("{date}发布", "published {date}"),
    "policy_published_by": ("{date}由{who}发布", "published {date} by {who}"),
    "policy_this_version": ("（本页）", "(this page)"),
    "policy_changes": ("与上一版本（{version}）相比的变化", "What changed from the previous version ({version})"),
    "policy_changes_none": ("与上一版本相比没有变化。", "Nothing changed from the previous version."),
    "policy_first_version": ("这是第一个版本。", "This is the first version."),
    "policy_read_rule": ("查看规则", "Read the rule"),
    "policy_all_rules": ("{policy}的全部规则", "Every rule of the {policy}"),
}
