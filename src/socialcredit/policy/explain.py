"""A policy explained: in words, as its public page says it (:func:`explain_words`, policy/words.py), or as the
operators' rule table with ids, conditions as written and reason codes (:func:`explain_policy`, ``--codes``)."""

from __future__ import annotations

from socialcredit.catalog import Catalog, load_catalog
from socialcredit.policy.load import LoadedPolicy
from socialcredit.policy.model import ListCriterion, Rule
from socialcredit.policy.words import a_or_an, exact_number, figure, how_summed, policy_plain_text

__all__ = ["explain_policy", "explain_rule", "explain_words"]


def explain_words(loaded: LoadedPolicy, lang: str = "en") -> str:
    """The policy in the reader's words (``zh`` or ``en``): every rule, list and service, with no id, code or
    condition as written, and each lint check an author set aside with its justification."""
    return policy_plain_text(loaded, lang)


def _on_record(rule: Rule, lang: str) -> str:
    if lang == "zh":
        return "".join(f"备案：{o.check} 已说明——{o.justification}。" for o in rule.lint_overrides)
    return "".join(f" On the record: {o.check} overridden — {o.justification}" for o in rule.lint_overrides)


def explain_rule(rule: Rule, lang: str = "en", catalog: Catalog | None = None) -> str:
    """One rule as a sentence, e.g. 'tax.late: −10 points (financial) for each tax payment where ...'."""
    cat = catalog or load_catalog()
    rt = cat.record_types[rule.record_type].name.get(lang)
    sign = ("+" if rule.points > 0 else "") + exact_number(rule.points)
    if lang == "zh":
        per = {"occurrence": "每条", "month": "每月", "quarter": "每季度", "year": "每年"}[rule.per]
        noun = rt if rt.endswith("记录") else rt + "记录"
        parts = [f"{rule.id}：{per}{noun}{sign}分（{rule.dimension}）"]
        if rule.when:
            parts.append(f"条件：{rule.when}")
        if rule.professions:
            parts.append(f"仅适用于：{'、'.join(rule.professions)}")
        if rule.decay:
            parts.append(f"每{rule.decay.half_life_days}天减半")
        if rule.window_days:
            parts.append(f"只计{rule.window_days}天内")
        if rule.expires_after_days:
            parts.append(f"{rule.expires_after_days}天后失效")
        if rule.cap:
            parts.append(f"最多{exact_number(rule.cap)}分")
        parts.append(f"理由：{rule.reason.zh}（{rule.reason.code}）")
        return "；".join(parts) + "。" + _on_record(rule, lang)
    per = {
        "occurrence": "each",
        "month": "each month with a",
        "quarter": "each quarter with a",
        "year": "each year with a",
    }[rule.per]
    unit = "point" if abs(rule.points) == 1 else "points"
    parts = [f"{rule.id}: {sign} {unit} ({rule.dimension}) for {per} {rt} record"]
    if rule.when:
        parts.append(f"where {rule.when}")
    if rule.professions:
        parts.append(f"only for {', '.join(rule.professions)}")
    if rule.decay:
        parts.append(f"halving every {rule.decay.half_life_days} days")
    if rule.window_days:
        parts.append(f"counting the last {rule.window_days} days only")
    if rule.expires_after_days:
        parts.append(f"expiring after {rule.expires_after_days} days")
    if rule.cap:
        parts.append(f"at most {exact_number(rule.cap)} point{'' if rule.cap == 1 else 's'} in all")
    said = f'. Reason given: "{rule.reason.en}" ({rule.reason.code}).'
    return ", ".join(parts) + said + _on_record(rule, lang)


def _criterion(c: ListCriterion, lang: str, catalog: Catalog | None) -> str:
    """A list criterion's condition: its expression as written, or the record type it needs in the reader's words
    ('a court judgment record where ...', '法院判决记录，条件：...')."""
    if c.when:
        return c.when
    if c.record is None:
        return ""
    rt = (catalog or load_catalog()).record_types[c.record.record_type].name.get(lang)
    if lang == "zh":
        noun = rt if rt.endswith("记录") else rt + "记录"
        return noun + (f"，条件：{c.record.when}" if c.record.when else "")
    return f"{a_or_an(rt)} record" + (f" where {c.record.when}" if c.record.when else "")


def explain_policy(loaded: LoadedPolicy, lang: str = "en") -> str:
    p = loaded.policy
    en = lang != "zh"
    lines = [f"{p.name.get(lang)} — {p.id} {p.version} (sha256 {loaded.sha256[:12]})"]
    if p.description:
        lines.append(p.description.get(lang))
    lines.append(
        (f"Everyone starts at {p.scale.base} points; scores run from {p.scale.min} to {p.scale.max}.")
        if en
        else f"初始{p.scale.base}分，分数范围{p.scale.min}至{p.scale.max}。"
    )
    lines.append(how_summed(p, lang).rstrip())  # how the points become the score, in the public page's words
    lines.append(
        ("Tiers: " if en else "等级：") + ", ".join(f"{t.id} ≥ {t.min}" for t in sorted(p.tiers, key=lambda t: -t.min))
    )
    for d in p.dimensions:
        # as every face writes a dimension's range, with the hyphen of the rules' points below ("-10 points")
        cap = f"{figure(d.min, minus='-', none='−∞', exact=True)} … {figure(d.max, none='+∞', exact=True)}"
        lines.append(f"\n{d.name.get(lang)} ({d.id}), " + ("capped at " if en else "上下限 ") + cap)
        for r in p.rules:
            if r.dimension == d.id:
                lines.append("  • " + explain_rule(r, lang, loaded.record_catalog))
    if p.consent.categories:
        cats = ", ".join(p.consent.categories)
        when = p.consent.mandatory_from.isoformat() if p.consent.mandatory_from else ("never" if en else "无")
        lines.append(
            f"\nData needing consent: {cats}; enrollment mandatory from {when}."
            if en
            else f"\n需同意的数据类别：{cats}；强制纳入日期：{when}。"
        )
    for lst in p.lists:
        lines.append(f"\n{lst.name.get(lang)} ({lst.id}):")
        for c in lst.criteria:
            lines.append(f"  • {c.id}: {_criterion(c, lang, loaded.record_catalog)} — {c.reason.text(lang)}")
    if p.services:
        lines.append("\nServices:" if en else "\n服务：")
        for s in p.services:
            lines.append(f"  • {s.name.get(lang)} ({s.id}): " + ("granted if " if en else "准予条件 ") + s.grant_if)
    return "\n".join(lines)
