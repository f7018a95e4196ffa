""" "Why this match" in words, in Chinese (default) or English: one line per part of the compatibility score."""

from __future__ import annotations

from socialcredit.languages import counted
from socialcredit.matchmaking.ranking import AGE_SPAN, DISTRICT_SPAN_KM, EDUCATION_SPAN, JOB_SCORE, PartContribution
from socialcredit.matchmaking.reference import (
    DISTRICTS,
    EDUCATION,
    INTERESTS,
    JOB_STATUSES,
    Label,
    Tiers,
)

__all__ = ["PART_LABELS", "describe", "formula_lines", "part_label"]

PART_LABELS = {
    "interests": ("共同兴趣", "shared interests"),
    "age": ("年龄相近", "age"),
    "district": ("居住距离", "district distance"),
    "education": ("学历相近", "education"),
    "job": ("工作状态", "job status"),
    "credit": ("信用徽章", "credit badge"),
}


def part_label(part: str, lang: str) -> str:
    zh, en = PART_LABELS[part]
    return en if lang == "en" else zh


def _text(table: tuple[Label, ...], item_id: str, lang: str) -> str:
    return next(x.text(lang) for x in table if x.id == item_id)


def _district(code: str, lang: str) -> str:
    return next(d.text(lang) for d in DISTRICTS if d.code == code)


def describe(p: PartContribution, lang: str, tiers: Tiers | None = None) -> str:
    """The facts behind one part, e.g. "3 of 5 interests shared: reading, travel, hiking"."""
    f, en = p.facts, lang == "en"
    if p.part == "interests":
        shared = [_text(INTERESTS, i, lang) for i in f["shared"]]
        if not shared:
            return "no shared interests" if en else "没有共同兴趣"
        names = ", ".join(shared) if en else "、".join(shared)
        return (
            f"{len(shared)} of {counted(f['either'], 'interest')} shared: {names}"
            if en
            else f"{f['either']}项中共同{len(shared)}项：{names}"
        )
    if p.part == "age":
        gap = abs(f["client"] - f["candidate"])
        return f"{f['candidate']} years old, {gap} apart" if en else f"{f['candidate']}岁，相差{gap}岁"
    if p.part == "district":
        a, b, km = _district(f["client"], lang), _district(f["candidate"], lang), f["km"]
        if f["client"] == f["candidate"]:
            return f"same district ({a})" if en else f"同在{a}"
        return f"{a} – {b}: {km:.1f} km" if en else f"{a}至{b}约{km:.1f}公里"
    if p.part == "education":
        return (
            _text(EDUCATION, f["candidate"], lang)
            + (" (yours: " if en else "（您：")
            + _text(EDUCATION, f["client"], lang)
            + (")" if en else "）")
        )
    if p.part == "job":
        return _text(JOB_STATUSES, f["candidate"], lang)
    if not f["shared"]:
        return (
            "not shared: left out, the other weights renormalised (no penalty)"
            if en
            else "未授权分享：不计入，其余权重按比例放大（不扣分）"
        )
    if f["granted"] is None:
        return "shared, but the registry has no decision: left out" if en else "已授权，但信用服务无结果：不计入"
    tier = f["tier"]
    if tiers is not None:
        tier = next((t.text(lang) for t in tiers.labels if t.id == tier), tier)
    if f["granted"]:
        return f"badge granted (tier: {tier})" if en else f"已获信用徽章（等级：{tier}）"
    return f"no badge (tier: {tier})" if en else f"未获信用徽章（等级：{tier}）"


def formula_lines(lang: str) -> list[str]:
    """The formula as shown to clients."""
    jobs = ", ".join(f"{_text(JOB_STATUSES, j, lang)} {s:g}" for j, s in JOB_SCORE.items())
    if lang == "en":
        return [
            "shared interests: shared ÷ all interests of both",
            f"age: 1 − years apart ÷ {AGE_SPAN} (not below 0)",
            f"district distance: 1 − km between district seats ÷ {DISTRICT_SPAN_KM:g} (not below 0)",
            f"education: 1 − levels apart ÷ {EDUCATION_SPAN}",
            f"job status: {jobs}",
            "credit badge: 1 if the registry grants the badge, else 0 — only if the candidate shares their tier",
            "compatibility = Σ weight × value ÷ Σ weights of the parts counted; a part not shared is not counted",
        ]
    return [
        "共同兴趣：共同兴趣数 ÷ 双方兴趣总数",
        f"年龄相近：1 − 年龄差 ÷ {AGE_SPAN}（最低为0）",
        f"居住距离：1 − 两区政府所在地距离（公里）÷ {DISTRICT_SPAN_KM:g}（最低为0）",
        f"学历相近：1 − 学历级差 ÷ {EDUCATION_SPAN}",
        f"工作状态：{jobs}",
        "信用徽章：信用服务授予徽章为1，否则为0；仅在对方授权分享信用等级时计入",
        "匹配度 = Σ 权重 × 得分 ÷ 计入项目的权重之和；未授权的项目不计入",
    ]
