"""A policy in plain Chinese and English: every rule, list and service in words, with no field name, code or
condition as written in the policy (``status == 'paid'`` reads "the status is paid").

The policy layer's own words, needing nothing of the registry: ``policy explain`` prints them
(:func:`policy_plain_text`), and the registry's public policy pages lay out the same :func:`policy_text`
(registry/reporting/policy_text.py adds the versions, who published them and what changed).

>>> from socialcredit.policy import builtin_policy
>>> text = policy_text(builtin_policy("beijing"), "en")
>>> text.sections[1].items[1].title
'taxes paid late'
"""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass
from typing import Any

from socialcredit.catalog.labels import Labels, labels_for, load_labels
from socialcredit.policy import expr
from socialcredit.policy.load import LoadedPolicy
from socialcredit.policy.model import ListCriterion, ListSpec, Policy, Relation, Rule

__all__ = [
    "FLIPPED",
    "Change",
    "Item",
    "PolicyText",
    "Section",
    "a_or_an",
    "anchor_of",
    "comparison_words",
    "condition_words",
    "exact_number",
    "figure",
    "how_summed",
    "number_words",
    "policy_href",
    "policy_plain_text",
    "policy_text",
    "reason_anchors",
    "span",
    "subject_condition_words",
    "tier_label",
]


@dataclass(frozen=True)
class Item:
    """One rule, tier, list criterion or service: a title and its facets (label, words)."""

    key: str
    anchor: str
    title: str
    lines: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    lead: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class PolicyText:
    policy_id: str
    version: str
    name: str
    description: str
    sections: tuple[Section, ...]


@dataclass(frozen=True)
class Change:
    """An item added, removed or changed; ``details`` are (facet, old words, new words)."""

    kind: str
    section: str
    title: str
    details: tuple[tuple[str, str, str], ...] = ()

    def line(self, lang: str) -> str:
        en = lang == "en"
        if self.kind == "added":
            return f"Added to {self.section}: {self.title}." if en else f"新增（{self.section}）：{self.title}。"
        if self.kind == "removed":
            return f"Removed from {self.section}: {self.title}." if en else f"删除（{self.section}）：{self.title}。"
        parts = [
            (f"{facet}: " if facet else "") + f"{old or '—'} → {(new or '—').rstrip('.。')}"
            for facet, old, new in self.details
        ]
        if en:
            return f"Changed in {self.section}: {self.title} — " + "; ".join(parts) + "."
        return f"修改（{self.section}）：{self.title}——" + "；".join(p.replace(": ", "：", 1) for p in parts) + "。"


def tier_label(policy: Policy, tier_id: str, lang: str) -> str:
    """A grade as residents know it: the letters (AAA, B) as they are, a worded id ("very_good") by its name."""
    if tier_id.isupper() and tier_id.isalpha():
        return tier_id
    for t in policy.tiers:
        if t.id == tier_id and t.name is not None:
            return t.name.get(lang)
    return tier_id.replace("_", " ")


def anchor_of(kind: str, item_id: str) -> str:
    """The HTML anchor of a rule (``rule``), list criterion (``list``), service (``service``) or tier."""
    return f"{kind}-" + item_id.replace(".", "-").replace("_", "-")


def policy_href(policy_id: str, version: str | None = None, anchor: str | None = None) -> str:
    """The public page of a policy (its current version unless one is named), at a rule's anchor if given."""
    path = f"/policies/{policy_id}" + (f"/{version}" if version else "")
    return path + (f"#{anchor}" if anchor else "")


def reason_anchors(policy: Policy) -> dict[str, str]:
    """Each reason code of the policy → the anchor of the rule or list criterion that gives it."""
    out: dict[str, str] = {}
    for r in policy.rules:
        out.setdefault(r.reason.code, anchor_of("rule", r.id))
    for lst in policy.lists:
        for c in lst.criteria:
            out.setdefault(c.reason.code, anchor_of("list", f"{lst.id}.{c.id}"))
    return out


# --- small words -------------------------------------------------------------------------------------------


# Words that begin with a vowel letter but sound a consonant ("a utility", "a one-off") and the reverse ("an hour").
_A_DESPITE_VOWEL = ("one", "once", "uni", "use", "usu", "uti", "ure", "eu", "ewe", "ubi", "uku")
_AN_DESPITE_CONSONANT = ("hour", "honest", "honou", "honor", "heir")


def a_or_an(words: str) -> str:
    """The English indefinite article for ``words``, by how their first word sounds, then the words.

    >>> a_or_an("illegal private lending"), a_or_an("utility fee"), a_or_an("hourly wage"), a_or_an("tax")
    ('an illegal private lending', 'a utility fee', 'an hourly wage', 'a tax')
    """
    first = words.lstrip().lower()
    if first.startswith(_AN_DESPITE_CONSONANT):
        return f"an {words}"
    if first.startswith(_A_DESPITE_VOWEL):
        return f"a {words}"
    return f"an {words}" if first[:1] in ("a", "e", "i", "o", "u") else f"a {words}"


def exact_number(value: float, *, grouped: bool = False) -> str:
    """``value`` with every digit it has and no exponent: 1234.567, 0.000001, 2345678.5 (the shortest text that reads
    back as the same number). ``%g`` kept six digits: a rule of −1234.567 points read −1,234.57, one of 0.000001 read
    1e−06, and a limit of 2345678.5 lost its half."""
    if float(value).is_integer():
        return f"{int(value):,}" if grouped else str(int(value))
    return format(decimal.Decimal(repr(float(value))), ",f" if grouped else "f")


def figure(
    value: float | None,
    *,
    minus: str = "\u2212",
    signed: bool = False,
    grouped: bool = False,
    none: str = "",
    exact: bool = False,
) -> str:
    """A dimension's points, floor or cap as every face writes it for people (`show`, the resident's and operator's
    pages and their chart, the policy pages, `policy explain`; the JSON keeps the number): a whole number without
    ".0", else to at most two decimals without trailing zeros, halves upward as points are shown
    (registry/common.py ``shown_points``). ``minus`` signs a negative one as the text around it does: a true minus
    (−) on the policy pages, whose rules read −10 points, a hyphen in `show`, `policy explain --codes` and on the
    score cards, whose reasons read -100; ``signed`` puts + before a positive one; ``grouped`` writes thousands with
    commas, as an English policy page writes its numbers (1,000); ``none`` is said for no bound; ``exact`` writes
    every digit (``exact_number``), for a policy's own numbers (a dimension's floor and cap on its public page, its
    operator page and in `policy explain`, where a resident checks a score by hand: a cap of −200.126 read −200.13);
    not a number reads NaN. Until 2026-12-07 one dimension read -13 in `show`, -13.0 on the pages and -300.0 … 50.0
    as its range.

    >>> [figure(x) for x in (-13.0, -300, 50.0, 2.5, -7.125, 2.675, -0.004, None)]
    ['−13', '−300', '50', '2.5', '−7.12', '2.68', '0', '']
    >>> figure(-13.0, minus="-"), figure(3.0, signed=True), figure(-1000.5, grouped=True), figure(None, none="+∞")
    ('-13', '+3', '−1,000.5', '+∞')
    >>> figure(-200.126, exact=True), figure(1234.5, exact=True, grouped=True, signed=True), figure(float("nan"))
    ('−200.126', '+1,234.5', 'NaN')
    """
    if value is None:
        return none
    number = decimal.Decimal(repr(float(value)))
    if number.is_nan():  # compared with nothing: Decimal refuses it
        return "NaN"
    if not number.is_finite():
        return ("+" if signed else "") + "∞" if number > 0 else minus + "∞"
    if exact:
        text = exact_number(float(abs(number)), grouped=grouped)
        return minus + text if number < 0 else ("+" if signed and number > 0 else "") + text
    step = decimal.Decimal("0.01")
    rounded = ((number / step) + decimal.Decimal("0.5")).to_integral_value(rounding=decimal.ROUND_FLOOR) * step
    text = format(abs(rounded), ",f" if grouped else "f")
    text = text.rstrip("0").rstrip(".") if "." in text else text
    if rounded < 0:
        return minus + text
    return ("+" if signed and rounded > 0 else "") + text


# A comparison read from its other side (``150 <= score`` is ``score >= 150``)
FLIPPED = {">": "<", "<": ">", ">=": "<=", "<=": ">=", "==": "==", "!=": "!="}


def number_words(value: float, lang: str) -> str:
    """A number as the policy's pages write it: every digit, a true minus sign, grouped in English (−1,234.5)."""
    text = exact_number(value, grouped=True).replace("-", "−")
    return text if lang == "en" else text.replace(",", "")


_num = number_words  # the short name the words below use


def _points(value: float, lang: str) -> str:
    sign = "+" if value > 0 else "−" if value < 0 else ""
    n = _num(abs(value), lang)
    if lang == "en":
        return f"{sign}{n} point" + ("" if abs(value) == 1 else "s")
    return f"{'加' if value > 0 else '减' if value < 0 else ''}{n}分"


def how_summed(p: Policy, lang: str) -> str:
    """How the points become the score, exactly enough to check a score by hand: a weight that halves does so day by
    day (a reader of "halves every year" counted a late tax payment of 182 days at −10 where the score counts −7.08),
    from a period's latest record for a rule counted per month, quarter or year, the dimensions within their limits,
    the score to the nearest whole point with a half upward, also below zero (FLOOR(total + 0.5) in compiler/plan.py:
    −2.5 → −2, where "rounded half up" or 四舍五入 reads −3 to many). The example is the same for every policy with
    a rule whose weight halves: a version that changes a rule's points changes its rule only. ``policy explain
    --codes`` says the same words under the scale (it had no word of how the points become the score)."""
    en = lang == "en"
    said = ""
    if any(r.decay is not None for r in p.rules):
        example = _num(round(10 * 2 ** (-182 / 365), 2), lang)  # 7.08
        said = (
            "A weight that halves does so day by day: a record counts its points × 2^(−days since its date ÷ the days "
            f"it takes to halve), a year being 365 days (10 points that halve every year count {example} after 182 "
            "days). "
            if en
            else "分值减半按天连续计算：一条记录计其分值 × 2^(−记录日期至今的天数 ÷ 减半所需天数)，一年按365天计"
            f"（每年减半的10分，182天后计{example}分）。"
        )
    if any(r.decay is not None and r.per != "occurrence" for r in p.rules):
        said += (
            "A rule counted for each month (quarter, year) with a record counts each such period once, its weight "
            "halving from the period's latest record. "
            if en
            else "按月（季度、年份）计分的规则每个期间只计一次，其分值自该期间最近一条记录的日期起减半。"
        )
    if en:
        return said + (
            "Each dimension's points are added up within its limits; the score is the base and the dimensions, "
            "to the nearest whole point, a half upward (98.5 → 99, −2.5 → −2). "
        )
    return said + (
        "各维度的分数相加后不超出其上下限；分数为初始分加各维度分数，取最接近的整数，恰为半分时向上取"
        "（98.5 → 99，−2.5 → −2）。"
    )


def span(days: int, lang: str) -> str:
    """A number of days in words: whole years as years, else days ("2 years", "90 days", "2年", "90天")."""
    if days and days % 365 == 0:
        years = days // 365
        return (f"{years} year" + ("" if years == 1 else "s")) if lang == "en" else f"{years}年"
    return (f"{days} day" + ("" if days == 1 else "s")) if lang == "en" else f"{days}天"


def _join(items: list[str], lang: str, word: str = "or") -> str:
    if lang != "en":
        if len(items) <= 1:
            return "".join(items)
        return "、".join(items[:-1]) + ("或" if word == "or" else "和") + items[-1]
    if len(items) <= 2:
        return f" {word} ".join(items)
    return ", ".join(items[:-1]) + f" {word} " + items[-1]


# --- conditions in words -----------------------------------------------------------------------------------

_CMP_EN = {
    "==": "is",
    "!=": "is not",
    ">=": "is at least",
    ">": "is more than",
    "<=": "is at most",
    "<": "is below",
}
_CMP_ZH = {"==": "为", "!=": "不为", ">=": "不低于", ">": "高于", "<=": "不高于", "<": "低于"}
_ARITH = {"+": ("plus", "加"), "-": ("minus", "减"), "*": ("times", "乘以"), "/": ("divided by", "除以")}


_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


def _binds_looser(child: expr.Node, op: str, *, right: bool) -> bool:
    """Whether an arithmetic ``child`` of ``op`` needs brackets to keep its grouping when said in a row: its operator
    binds more loosely (``(a + b) * 2``), or it is the right side at the same level (``a - (b - c)``; also
    ``a + (b + c)``, which adds up to the same but is said as written)."""
    if not (isinstance(child, expr.Binary) and child.op in _PRECEDENCE):
        return False
    if _PRECEDENCE[child.op] != _PRECEDENCE[op]:
        return _PRECEDENCE[child.op] < _PRECEDENCE[op]
    return right


class _Words:
    """Speaks a parsed condition: on a record (``record=True``: field names) or on a scored subject."""

    def __init__(
        self, policy: Policy, labels: Labels, lang: str, *, record: bool, record_type: str | None = None
    ) -> None:
        self.policy = policy
        self.labels = labels
        self.lang = lang
        self.record = record
        self.record_type = record_type if record else None  # whose fields: a catalog may word each type's own
        self.lists = {lst.id: lst.name.get(lang) for lst in policy.lists}
        self.dims = {d.id: d.name.get(lang) for d in policy.dimensions}

    @property
    def en(self) -> bool:
        return self.lang == "en"

    def name(self, name: str) -> str:
        if name in self.lists:
            return self.lists[name]
        if name in self.dims:
            return f"the points for {self.dims[name]}" if self.en else f"{self.dims[name]}得分"
        if self.record:
            label = self.labels.field(name, self.lang, self.record_type)
            return f"the {label}" if self.en and name not in {"defaulter", "paid_on_delivery"} else label
        return self.labels.fact(name, self.lang)

    def lit(self, node: expr.Node, field: expr.Node | None = None) -> str:
        """A literal in words; ``field``: what it is compared with (a record's field words its own values)."""
        if not isinstance(node, expr.Lit):
            return self.words(node)
        v = node.value
        if isinstance(v, bool):
            return ("yes" if v else "no") if self.en else ("是" if v else "否")
        if isinstance(v, int | float):
            return _num(v, self.lang)
        if isinstance(v, dt.date):
            return v.isoformat()
        if v is None:
            return "nothing" if self.en else "空"
        if node.type == "tier" or (field is not None and field.type == "tier"):
            # a grade by its name, also where only the field it is compared with is a grade (`tier in ['gold']`: the
            # literals of a list are typed strings; it read "信用等级为gold或silver")
            return tier_label(self.policy, str(v), self.lang)
        if self.record_type is not None and isinstance(field, expr.Name):
            return self.labels.value(str(v), self.lang, self.record_type, field.name)
        return self.labels.value(str(v), self.lang)

    def flag(self, name: str, negated: bool) -> str:
        """A boolean name alone: a list ("on the blacklist") or a yes/no field."""
        if name in self.lists:
            if self.en:
                return f"{'not ' if negated else ''}on the {self.lists[name]}"
            return f"{'不' if negated else ''}在{self.lists[name]}上"
        label = self.name(name)
        if self.en:
            return f"not {label}" if negated else label
        return f"未{label}" if negated else label

    def words(self, node: expr.Node) -> str:
        en = self.en
        if isinstance(node, expr.Binary) and node.op in {"and", "or"}:
            parts = [self._grouped(side, node.op) for side in (node.left, node.right)]
            return f" {node.op} ".join(parts) if en else ("且" if node.op == "and" else "或").join(parts)
        if isinstance(node, expr.Unary) and node.op == "not":
            if isinstance(node.operand, expr.Name):
                return self.flag(node.operand.name, True)
            inner = self.words(node.operand)
            return f"not ({inner})" if en else f"并非（{inner}）"
        if isinstance(node, expr.Unary) and node.op == "-":
            operand = self._bracket(node.operand, isinstance(node.operand, expr.Binary))
            return f"minus {operand}" if en else f"负{operand}"
        if isinstance(node, expr.Name):
            return self.flag(node.name, False)
        if isinstance(node, expr.Lit):
            return self.lit(node)
        if isinstance(node, expr.IsNull):
            if isinstance(node.operand, expr.Name):
                # A fact's own words for unknown and known ("there has been a negative record", not "the days since
                # the last negative record is given")
                null = (
                    self.labels.fact_null(node.operand.name, self.lang, negated=node.negated)
                    if not self.record
                    else None
                )
                if null:
                    return null
            what = self.words(node.operand)
            if en:
                return f"{what} is {'given' if node.negated else 'not given'}"
            return f"{'已填写' if node.negated else '未填写'}{what}"
        if isinstance(node, expr.In):
            values = _join([self.lit(v, node.operand) for v in node.values], self.lang)
            what = self.words(node.operand)
            if en:
                return f"{what} is {'not ' if node.negated else ''}{values}"
            return f"{what}{'不为' if node.negated else '为'}{values}"
        if isinstance(node, expr.Binary) and node.op in _CMP_EN:
            return self._compare(node)
        if isinstance(node, expr.Binary) and node.op in _ARITH:
            word = _ARITH[node.op][0 if en else 1]
            left = self._bracket(node.left, _binds_looser(node.left, node.op, right=False))
            right = self._bracket(node.right, _binds_looser(node.right, node.op, right=True))
            return f"{left} {word} {right}" if en else f"{left}{word}{right}"
        return "—"

    def _bracket(self, node: expr.Node, needed: bool) -> str:
        """A part of a sum in words, in brackets where it would otherwise read as a different grouping."""
        text = self.words(node)
        if not needed:
            return text
        return f"({text})" if self.en else f"（{text}）"

    def _grouped(self, node: expr.Node, op: str) -> str:
        text = self.words(node)
        if isinstance(node, expr.Binary) and node.op in {"and", "or"} and node.op != op:
            return f"({text})" if self.en else f"（{text}）"
        return text

    def _compare(self, node: expr.Binary) -> str:
        en = self.en
        left, right, op = node.left, node.right, node.op
        if isinstance(left, expr.Lit) and not isinstance(right, expr.Lit):
            left, right, op = right, left, FLIPPED[op]
        if left.type == "tier" or right.type == "tier":
            grade = self.lit(right, left)  # the grade's words, as lit() names a grade beside a tier
            if en:
                phrase = {
                    ">=": f"grade {grade} or better",
                    ">": f"a grade better than {grade}",
                    "<=": f"grade {grade} or lower",
                    "<": f"a grade below {grade}",
                    "==": f"grade {grade}",
                    "!=": f"a grade other than {grade}",
                }[op]
            else:
                phrase = {
                    ">=": f"信用等级{grade}及以上",
                    ">": f"信用等级高于{grade}",
                    "<=": f"信用等级{grade}及以下",
                    "<": f"信用等级低于{grade}",
                    "==": f"信用等级为{grade}",
                    "!=": f"信用等级不为{grade}",
                }[op]
            return phrase
        if isinstance(left, expr.Name) and isinstance(right, expr.Lit) and isinstance(right.value, bool):
            return self.flag(left.name, negated=(right.value is False) == (op == "=="))
        what, value = self.words(left), self.lit(right, left)
        return f"{what} {_CMP_EN[op]} {value}" if en else f"{what}{_CMP_ZH[op]}{value}"


def condition_words(loaded: LoadedPolicy, key: str, lang: str, *, record: bool | None = None) -> str | None:
    """A parsed condition of the policy (``rule:<id>``, ``list:<list>.<criterion>``, ``service:<id>``) in words;
    ``record``: whether it is a condition on a record (a list criterion's ``record.when``), not on the subject."""
    node = loaded.condition(key)
    if node is None:
        return None
    if record is None:
        record = key.startswith("rule:") or key.startswith("record:")
    labels = labels_for(loaded.record_catalog)
    return _Words(loaded.policy, labels, lang, record=record, record_type=_record_type_of(loaded, key)).words(node)


def comparison_words(
    loaded: LoadedPolicy, node: expr.Node, field: expr.Name, value: Any, lang: str
) -> tuple[str, str, str]:
    """A comparison of a fact ``field`` of a scored subject with a value (a service's condition a refusal names) in
    words, the words of the fact and of the subject's ``value`` of it, as the condition words its own values:
    ("信用分不低于650", "信用分", "612"), ("信用等级B及以上", "信用等级", "C"),
    ("主体类别为个人", "主体类别", "机构")."""
    words = _Words(loaded.policy, labels_for(loaded.record_catalog), lang, record=False)
    return words.words(node), words.name(field.name), words.lit(expr.Lit(value, type=field.type), field)


def subject_condition_words(loaded: LoadedPolicy, node: expr.Node, lang: str) -> str:
    """Any condition on a scored subject (a part of a service's condition a refusal names: ``age is null``, ``not
    (…)``, a sum, two facts, an ``or``) in words, as the policy's pages say it."""
    return _Words(loaded.policy, labels_for(loaded.record_catalog), lang, record=False).words(node)


def _record_type_of(loaded: LoadedPolicy, key: str) -> str | None:
    """The record type a rule or a list criterion on records reads (None for a condition on the subject)."""
    kind, _, item = key.partition(":")
    if kind == "rule":
        return next((r.record_type for r in loaded.policy.rules if r.id == item), None)
    if kind == "list":
        list_id, _, criterion = item.partition(".")
        for lst in loaded.policy.lists:
            for c in lst.criteria if lst.id == list_id else ():
                if c.id == criterion and c.record is not None:
                    return c.record.record_type
    return None


# --- the policy in words -----------------------------------------------------------------------------------

_PER = {
    "occurrence": ("for each {rt} record", "每条{rt}"),
    "month": ("for each month with {a_rt} record", "每个有{rt}的月份"),
    "quarter": ("for each quarter with {a_rt} record", "每个有{rt}的季度"),
    "year": ("for each year with {a_rt} record", "每个有{rt}的年份"),
}
_SEVERITY = {"minor": ("minor", "轻微"), "general": ("general", "一般"), "serious": ("serious", "严重")}
# The lint checks a rule may override (model.OVERRIDABLE_CHECKS), as what each asks of a rule.
_OVERRIDDEN = {
    "SC103": ("a rule that lowers the score has a class of breach", "减分规则须定失信程度"),
    "SC104": ("a record that lowers the score stops counting some day", "减分记录须有失效期限"),
    "SC107": ("a reason says something specific", "理由须具体"),
    "SC301": ("a negative record counts no longer than seven years", "不良记录计入不超过七年"),
    "SC302": ("a rule that lowers the score says what to do", "减分规则须说明如何改善"),
}


def _facet(key: str, lang: str) -> str:
    table = {
        "reads": ("What it reads", "依据的记录"),
        "points": ("Points", "分值"),
        "how_long": ("For how long", "计入期限"),
        "cap": ("At most", "上限"),
        "who": ("Applies to", "适用对象"),
        "severity": ("Class of breach", "失信程度"),
        "advice": ("What to do", "如何改善"),
        "range": ("Range", "范围"),
        "criterion": ("Put on the list when", "列入条件"),
        "notice": ("Notice", "告知"),
        "grace": ("Grace period", "宽限期"),
        "public": ("The public look-up shows", "公示内容"),
        "requires": ("Granted when", "准予条件"),
        "refusal": ("A refusal says", "拒绝理由"),
        "freeze": ("While your file is frozen", "信用档案冻结期间"),
        "score": ("Score", "分数"),
        "record": ("On the record", "备案说明"),
    }
    en, zh = table[key]
    return en if lang == "en" else zh


_FROZEN = {
    "en": "refused to every relying party you have not lifted the freeze for",
    "zh": "您未对其解除冻结的查询方一律不予办理",
}


def _record_noun(rt: str, lang: str) -> str:
    return rt if lang == "en" or rt.endswith("记录") else rt + "记录"


def _rule_item(loaded: LoadedPolicy, rule: Rule, lang: str, labels: Labels) -> Item:
    p = loaded.policy
    en = lang == "en"
    rt = _record_noun(loaded.record_catalog.record_types[rule.record_type].name.get(lang), lang)
    cond = condition_words(loaded, f"rule:{rule.id}", lang)
    where = (f" where {cond}" if en else f"（{cond}）") if cond else ""
    reads = f"{a_or_an(rt)} record{where}" if en else rt + where
    per_en, per_zh = _PER[rule.per]
    dim = (
        p.dimensions[[d.id for d in p.dimensions].index(rule.dimension)].name.get(lang)
        if any(d.id == rule.dimension for d in p.dimensions)
        else rule.dimension
    )
    if en:
        points = f"{_points(rule.points, lang)} {per_en.format(rt=rt, a_rt=a_or_an(rt))}, counted in {dim}"
    else:
        points = f"{per_zh.format(rt=rt, a_rt=rt)}{_points(rule.points, lang)}，计入{dim}"
    how: list[str] = []
    if rule.window_days:
        how.append(
            f"only records of the last {span(rule.window_days, lang)} count"
            if en
            else f"只计最近{span(rule.window_days, lang)}内的记录"
        )
    if rule.decay:
        half = span(rule.decay.half_life_days, lang)
        if rule.decay.half_life_days == 365:
            half = "year" if en else "年"  # "every year", not "every 1 year"
        how.append(f"its weight halves every {half}" if en else f"分值每{half}减半")
    if rule.expires_after_days:
        ends = span(rule.expires_after_days, lang)
        how.append(f"a record stops counting {ends} after its date" if en else f"记录满{ends}后不再计入")
    if not how:
        how.append("as long as the record is kept" if en else "记录保存期间一直计入")
    lines: list[tuple[str, str]] = [
        (_facet("reads", lang), reads),
        (_facet("points", lang), points),
        (_facet("how_long", lang), ("; " if en else "；").join(how)),
    ]
    if rule.cap:
        lines.append(
            (
                _facet("cap", lang),
                f"{_num(rule.cap, lang)} points from this rule" if en else f"本条最多计{_num(rule.cap, lang)}分",
            )
        )
    if rule.professions:
        jobs = _join([labels.value(j, lang) for j in rule.professions], lang)
        lines.append((_facet("who", lang), f"only people working in {jobs}" if en else f"仅适用于从事{jobs}的人员"))
    if rule.severity:
        lines.append((_facet("severity", lang), _severity_words(p, rule.severity, lang)))
    if rule.advice:
        lines.append((_facet("advice", lang), rule.advice.get(lang)))
    for o in rule.lint_overrides:  # a check of the linter the author set aside, in writing (docs/policy-lint.md)
        what = _OVERRIDDEN[o.check][0 if en else 1]
        said = (
            f"the policy's authors set aside the check that {what}, and wrote why: {o.justification}"
            if en
            else f"制定者未采纳“{what}”这一检查，书面说明如下：{o.justification}"
        )
        lines.append((_facet("record", lang), said))
    return Item(f"rule:{rule.id}", anchor_of("rule", rule.id), rule.reason.text(lang), tuple(lines))


def _severity_words(p: Policy, severity: str, lang: str) -> str:
    en = lang == "en"
    name = _SEVERITY[severity][0 if en else 1]
    cls = p.severities.get(severity)  # type: ignore[call-overload]
    if cls is None:
        return f"{name} breach" if en else f"{name}失信"
    low, high = cls.min_publication_days, cls.max_publication_days
    if en:
        repair = "repair may be asked at once" if low == 0 else f"repair may be asked after {span(low, lang)}"
        return f"{name} breach: a listing for it ends by itself after {span(high, lang)}; {repair}"
    repair = "可随时申请信用修复" if low == 0 else f"满{span(low, lang)}后可申请信用修复"
    return f"{name}失信：名单认定满{span(high, lang)}自动结束；{repair}"


def _criterion_item(loaded: LoadedPolicy, list_id: str, c: ListCriterion, lang: str) -> Item:
    en = lang == "en"
    if c.record is not None:
        rt = _record_noun(loaded.record_catalog.record_types[c.record.record_type].name.get(lang), lang)
        # as the policy was loaded (a version a store holds is read back as published: expr.READ_BACK), not parsed again
        node = loaded.condition(f"list:{list_id}.{c.id}") if c.record.when else None
        labels = labels_for(loaded.record_catalog)
        words = _Words(loaded.policy, labels, lang, record=True, record_type=c.record.record_type)
        cond = words.words(node) if node is not None else None
        within = (
            (
                f", dated within the last {span(c.record.within_days, lang)}"
                if en
                else f"，且在最近{span(c.record.within_days, lang)}内"
            )
            if c.record.within_days
            else ""
        )
        text = (
            (f"holding {a_or_an(rt)} record" + (f" where {cond}" if cond else "") + within)
            if en
            else (f"有{rt}" + (f"（{cond}）" if cond else "") + within)
        )
    elif c.via is not None:
        text = _via_words(loaded.policy, c.via, lang)
    else:
        text = condition_words(loaded, f"list:{list_id}.{c.id}", lang) or "—"
    lines = [(_facet("criterion", lang), text)]
    if c.severity:
        lines.append((_facet("severity", lang), _severity_words(loaded.policy, c.severity, lang)))
    if c.advice:
        lines.append((_facet("advice", lang), c.advice.get(lang)))
    return Item(f"list:{list_id}.{c.id}", anchor_of("list", f"{list_id}.{c.id}"), c.reason.text(lang), tuple(lines))


def _via_words(p: Policy, via: Relation, lang: str) -> str:
    """A criterion met through an organisation, in words: the roles, the organisation's list and the criteria that
    put it there, and whether the role counts while held or when the cause arose."""
    en = lang == "en"
    labels = load_labels()
    roles = _join([labels.value(r, lang) for r in via.roles], lang)
    target = next(lst for lst in p.lists if lst.id == via.list)  # the validator checked the list exists
    causes = [c.reason.text(lang) for c in target.criteria if via.criteria is None or c.id in via.criteria]
    listed = target.name.get(lang)
    if en:
        why = f" as {_join(causes, lang)}" if via.criteria is not None and causes else ""
        when = (
            "while the person holds the role"
            if via.when == "current"
            else "if the person held the role when the cause arose, even after leaving it"
        )
        return f"holding the role of {roles} in an organisation on the {listed}{why}, {when}"
    why = f"（因{_join(causes, lang)}）" if via.criteria is not None and causes else ""
    when = "任职期间" if via.when == "current" else "列入原因发生时担任该职务的，卸任后亦同"
    return f"在被列入{listed}{why}的单位担任{roles}，{when}"


_PUBLIC_FIELDS = {
    "name": ("name", "姓名"),
    "id_number": ("identity number (middle digits hidden)", "证件号码（中间几位隐去）"),
    "list": ("the list", "名单"),
    "cause": ("the grounds", "列入原因"),
    "since": ("the date", "公示日期"),
}


def _list_item(lst: ListSpec, lang: str) -> Item:
    """How a blacklisting takes effect: the notice, the grace period, what the public look-up shows."""
    en = lang == "en"
    notice = "the person is told as soon as a score run finds the cause" if en else "评分发现列入原因后立即告知本人"
    if lst.grace_days:
        days = span(lst.grace_days, lang)
        grace = (
            f"{days}; the listing takes effect after it unless the cause is resolved or disputed first"
            if en
            else f"{days}；宽限期满后名单认定生效，在此之前消除原因或提出异议的除外"
        )
    else:
        grace = "none; the listing takes effect at once" if en else "无；名单认定立即生效"
    shown = [_PUBLIC_FIELDS[f][0 if en else 1] for f in lst.public_fields]
    public = (
        (_join(shown, lang, "and") if en else "、".join(shown))
        if shown
        else ("nothing: the list is not published" if en else "不对外公示")
    )
    lines = (
        (_facet("notice", lang), notice),
        (_facet("grace", lang), grace),
        (_facet("public", lang), public),
    )
    title = "How a listing takes effect" if en else "名单认定如何生效"
    return Item(f"listspec:{lst.id}", anchor_of("list", lst.id), title, lines)


def policy_text(loaded: LoadedPolicy, lang: str) -> PolicyText:
    """The whole policy in words, in sections: the score, each dimension's rules, the lists, the services,
    disputes and consent."""
    p = loaded.policy
    en = lang == "en"
    labels = labels_for(loaded.record_catalog)
    sections: list[Section] = []
    tiers = tuple(
        Item(
            f"tier:{t.id}",
            anchor_of("tier", t.id.lower()),
            tier_label(p, t.id, lang)
            # a grade in letters (AAA) with its name beside it; a grade named in words ("excellent") once
            + (
                f" · {t.name.get(lang)}"
                if t.name and tier_label(p, t.id, lang) == t.id and t.name.get(lang) != t.id
                else ""
            ),
            ((_facet("score", lang), f"{_num(t.min, lang)} points or more" if en else f"{_num(t.min, lang)}分及以上"),),
        )
        for t in sorted(p.tiers, key=lambda t: -t.min)
    )
    # Who is scored at all: a version that stops scoring organisations (or persons) is a change (it showed none).
    scores_only = {
        "person": ("This policy scores people only. ", "本政策只评个人，不评单位。"),
        "org": ("This policy scores organisations only. ", "本政策只评单位，不评个人。"),
    }.get(p.kind, ("", ""))
    lead = scores_only[0 if en else 1] + (
        f"Everyone starts at {_num(p.scale.base, lang)} points; rules add and take away points, and the score runs "
        f"from {_num(p.scale.min, lang)} to {_num(p.scale.max, lang)}. "
        if en
        else f"每个人的初始分为{_num(p.scale.base, lang)}分；规则加分或减分，分数范围为{_num(p.scale.min, lang)}至"
        f"{_num(p.scale.max, lang)}分。"
    )
    lead += how_summed(p, lang) + ("The grades:" if en else "信用等级如下：")
    sections.append(Section("score", "The score and the grades" if en else "分数与信用等级", lead, tiers))
    for d in p.dimensions:
        # as every face writes a dimension's range (a cap below zero read "+−10" until 2026-12-07)
        low = figure(d.min, grouped=en, exact=True) if d.min is not None else None
        high = figure(d.max, signed=True, grouped=en, exact=True) if d.max is not None else None
        if en:
            bounds = f"no less than {low}" if low else ""
            bounds += (" and " if bounds and high else "") + (f"no more than {high}" if high else "")
            dlead = f"The points of these rules are added up; together they count {bounds}." if bounds else ""
        else:
            bounds = f"最低{low}分" if low else ""
            bounds += ("、" if bounds and high else "") + (f"最高{high}分" if high else "")
            dlead = f"以下各条规则的分数相加，合计{bounds}。" if bounds else ""
        rules = tuple(_rule_item(loaded, r, lang, labels) for r in p.rules if r.dimension == d.id)
        sections.append(Section(f"dimension:{d.id}", d.name.get(lang), dlead, rules))
    for lst in p.lists:
        items = [_list_item(lst, lang)] if lst.kind == "black" else []
        slead = (
            ("A list that restricts services." if en else "限制服务的名单。")
            if lst.kind == "black"
            else ("A list that brings benefits; it takes effect at once." if en else "享受激励的名单，立即生效。")
        )
        items += [_criterion_item(loaded, lst.id, c, lang) for c in lst.criteria]
        sections.append(Section(f"list:{lst.id}", lst.name.get(lang), slead, tuple(items)))
    if p.services:
        services = tuple(
            Item(
                f"service:{s.id}",
                anchor_of("service", s.id),
                s.name.get(lang),
                (
                    (_facet("requires", lang), condition_words(loaded, f"service:{s.id}", lang) or "—"),
                    (_facet("refusal", lang), s.refusal.get(lang)),
                    # A freezable service is refused while the file is frozen (docs/freeze.md): said here, so that
                    # a version that makes a service freezable, or no longer so, shows in what changed.
                    *(((_facet("freeze", lang), _FROZEN[lang]),) if s.freezable else ()),
                ),
            )
            for s in p.services
        )
        slead = (
            "What a relying party (a bank, a landlord, a ticket office) is told when it asks about a service."
            if en
            else "银行、房东、售票机构等查询某项服务时得到的答复。"
        )
        sections.append(Section("services", "Services" if en else "服务", slead, services))
    sections.append(Section("rights", "Your rights" if en else "您的权利", _rights(loaded, lang), ()))
    return PolicyText(
        p.id, p.version, p.name.get(lang), p.description.get(lang) if p.description else "", tuple(sections)
    )


def _rights(loaded: LoadedPolicy, lang: str) -> str:
    p = loaded.policy
    en = lang == "en"
    d = p.disputes
    parts = [
        (
            f"You may dispute any record. The source answers within {d.answer_days} days "
            f"({d.extended_answer_days} when it asks for more time); "
            + (
                "the record keeps counting until the answer."
                if d.counts_while_open
                else "the record does not count until the answer."
            )
        )
        if en
        else (
            f"您可以对任何记录提出异议。信息提供单位须在{d.answer_days}天内答复（延期时{d.extended_answer_days}天）；"
            + ("答复前该记录仍计入。" if d.counts_while_open else "答复前该记录暂不计入。")
        )
    ]
    if p.retention.purge_after_days:
        n = span(p.retention.purge_after_days, lang)
        parts.append(
            f"A record that no rule counts any more is deleted {n} later."
            if en
            else f"不再计入任何规则的记录，{n}后删除。"
        )
    if p.consent.categories:
        cat = loaded.record_catalog  # the store's: a category it adds has its name
        names = [cat.categories[c].name.get(lang) if c in cat.categories else c for c in p.consent.categories]
        when = p.consent.mandatory_from.isoformat() if p.consent.mandatory_from else None
        # The notice is published with the policy (docs/policy-language.md, "Consent"): said, it is also a change.
        days = p.consent.notice_days
        if en:
            notice = f"you are told {span(days, lang)} before" if days else "without notice beforehand"
            parts.append(
                f"{_join(names, lang, 'and').capitalize()} count only with your consent"
                + (f" until {when}, when enrollment becomes mandatory ({notice})." if when else ".")
            )
        else:
            notice = f"提前{span(days, lang)}告知" if days else "不另行提前告知"
            mandatory = f"，{when}起强制纳入（{notice}）。" if when else "。"
            parts.append(f"{'、'.join(names)}仅在您同意后计入" + mandatory)
    return " ".join(parts) if en else "".join(parts)


def policy_plain_text(loaded: LoadedPolicy, lang: str) -> str:
    """The policy in words as plain text (``policy explain``): the same words as the public page."""
    text = policy_text(loaded, lang)
    colon = ": " if lang == "en" else "："
    lines = [f"{text.name} — {text.version}" if lang == "en" else f"{text.name}（{text.version}版）"]
    if text.description:
        lines.append(text.description)
    for s in text.sections:
        lines += ["", s.title]
        if s.lead:
            lines.append(s.lead)
        for item in s.items:
            if s.key == "score":
                lines.append(f"  • {item.title}{colon}{item.lines[0][1]}")
                continue
            lines.append(f"  • {item.title}")
            lines += [f"      {label}{colon}{words}" for label, words in item.lines]
    return "\n".join(lines)


def policy_changes(old: LoadedPolicy, new: LoadedPolicy, lang: str) -> list[Change]:
    """What changed from ``old`` to ``new``: items added, removed, and changed facet by facet, in words."""
    before = {i.key: (s.title, i) for s in policy_text(old, lang).sections for i in s.items}
    after = {i.key: (s.title, i) for s in policy_text(new, lang).sections for i in s.items}
    changes: list[Change] = []
    old_leads = {s.key: s for s in policy_text(old, lang).sections}
    for s in policy_text(new, lang).sections:
        o = old_leads.get(s.key)
        if o is not None and o.lead != s.lead:
            changes.append(Change("changed", s.title, s.title, (("", o.lead, s.lead),)))
    for key, (section, item) in after.items():
        if key not in before:
            changes.append(Change("added", section, item.title))
            continue
        prev = before[key][1]
        facets_old, facets_new = dict(prev.lines), dict(item.lines)
        details = [
            (facet, facets_old.get(facet, ""), facets_new.get(facet, ""))
            for facet in dict.fromkeys([*facets_old, *facets_new])
            if facets_old.get(facet) != facets_new.get(facet)
        ]
        if prev.title != item.title:
            details.insert(0, ("Name" if lang == "en" else "名称", prev.title, item.title))
        if details:
            changes.append(Change("changed", section, item.title, tuple(details)))
    changes.extend(
        Change("removed", section, item.title) for key, (section, item) in before.items() if key not in after
    )
    return changes
