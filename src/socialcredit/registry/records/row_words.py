"""The words of a batch's per-row errors, in English and Chinese: one table, ``WORDS``, each reason's two templates.

A reason is built in SQL, in English, over the rows a check faults (``sql``: the English template, its placeholders
filled by SQL expressions of the row); the errors found, few, are said in Chinese afterwards (``in_chinese``: the
message matched against the English templates, its values carried into the Chinese one). The SQL is what it was, one
concatenation a faulted row: a batch's valid rows cost nothing more. A reason the table does not know stays as it is.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

__all__ = ["WORDS", "in_chinese", "said", "sql"]

# key: (English, Chinese). Placeholders are {name}; a value quoted in English ('x') is quoted “x” in Chinese. A reason
# is told by the first template it fits: one that fits another's words too comes first (not_subject_field).
WORDS: dict[str, tuple[str, str]] = {
    "required": ("is required", "为必填项"),
    "required_for": ("is required for {record_type}", "{record_type} 记录须有此项"),
    "not_record_type": ("'{value}' is not a record type", "“{value}”不是记录类型"),
    "may_not_send": (
        "source {source} may not send {record_type} (it may send: {allowed})",
        "来源 {source} 不得发送 {record_type}（它可发送：{allowed}）",
    ),
    "not_date": ("'{value}' is not a date (YYYY-MM-DD)", "“{value}”不是日期（YYYY-MM-DD）"),
    "in_future": ("{value} is in the future", "{value} 是将来的日期"),
    "before_first": ("{value} is before {first}, the earliest date", "{value} 早于最早的日期 {first}"),
    "ends_before_start": (
        "end_date {end} is not after start_date {start}: a role is held from the day it starts until, not on, the "
        "day it ends",
        "结束日期 end_date {end} 不晚于开始日期 start_date {start}：任职自开始之日起，至结束之日前一日止",
    ),
    "starts_after_receipt": (
        "start_date {start} is after {today}, the day the record is received: a period is sent once it has started",
        "开始日期 start_date {start} 晚于收到记录之日 {today}：期间开始后才能报送",
    ),
    "before_birth": ("{value} is before the subject's birth ({birth})", "{value} 早于当事人的出生日期（{birth}）"),
    "invisible_id": (
        "has an invisible character ({char}), so it looks like another id; a record id is visible text",
        "含有不可见字符（{char}），看似另一个编号；记录编号须为可见的文字",
    ),
    "control": (
        "has a control character ({char}); {what} is printable text",
        "含有控制字符（{char}）；{what}须为可打印的文字",
    ),
    "invisible": (
        "has an invisible character ({char}); {what} is visible text",
        "含有不可见字符（{char}）；{what}须为可见的文字",
    ),
    "lookalike": (
        "has {char}, which looks like ' '; a record id is written with the plain character",
        "含有 {char}，看似空格“ ”；记录编号须以普通字符书写",
    ),
    "combining": (
        "is written with a combining mark or a compatibility character, so it looks like '{nfc}', another id; send "
        "it in that form (Unicode's NFC)",
        "以组合符号或兼容字符书写，看似另一个编号“{nfc}”；请以该形式发送（Unicode 的 NFC）",
    ),
    "id_too_long": ("has {n} characters; a record id has at most {most}", "有 {n} 个字符；记录编号至多 {most} 个字符"),
    "unknown_subject": (
        "no registered subject '{subject}' (subjects are registered through the civil_affairs source)",
        "没有已登记的当事人“{subject}”（当事人经 civil_affairs 来源登记）",
    ),
    "org_is_person": (
        "'{value}' is a person's identity number; a role names its organisation by its unified social credit code",
        "“{value}”是个人的居民身份证号码；任职记录须以统一社会信用代码写明所在组织",
    ),
    "org_malformed": (
        "'{value}' is not a unified social credit code as one is registered (18 characters of 0-9 and A-Z without I, "
        "O, S, V, Z, the last a check character); a role names its organisation by its code",
        "“{value}”不是登记所用的统一社会信用代码（18 位，由 0-9 和除 I、O、S、V、Z 以外的 A-Z 组成，末位为校验码）；"
        "任职记录须以统一社会信用代码写明所在组织",
    ),
    "org_no_region": (
        "'{value}' has a unified social credit code's check character but an identity number's shape, and "
        "characters 3-8 ({region}) are no registering authority's region: no organisation can be registered under "
        "it; a role names its organisation by its code",
        "“{value}”的校验码符合统一社会信用代码，但其形式为身份证号码，且第 3-8 位（{region}）不是任何登记管理机关的"
        "地区代码：任何组织都不能以此登记；任职记录须以统一社会信用代码写明所在组织",
    ),
    "org_not_as_registered": (
        "'{value}' is written otherwise than a unified social credit code is registered: an org_id is compared as "
        "sent; send it as '{number}'",
        "“{value}”与统一社会信用代码的登记写法不同：org_id 按原样比对；请写作“{number}”",
    ),
    "not_about_persons": ("a {record_type} record cannot be about persons", "{record_type} 记录不能关于个人"),
    "not_about_orgs": ("a {record_type} record cannot be about organisations", "{record_type} 记录不能关于组织"),
    "not_boolean": ("'{value}' is not true or false", "“{value}”不是 true 或 false"),
    "not_whole": ("'{value}' is not a whole number", "“{value}”不是整数"),
    "not_number": ("'{value}' is not a number", "“{value}”不是数字"),
    "not_allowed": ("'{value}' is not allowed; allowed: {allowed}", "“{value}”不是允许的值；允许的值：{allowed}"),
    "out_of_range": (
        "'{value}' is out of range: a number has at most {n} digits before its point",
        "“{value}”超出范围：数字的整数部分至多 {n} 位",
    ),
    "below_min": ("'{value}' is below the minimum {min}", "“{value}”小于最小值 {min}"),
    "above_max": ("'{value}' is above the maximum {max}", "“{value}”大于最大值 {max}"),
    "not_subject_field": ("is not a field of a subject", "不是当事人的字段"),
    "not_field_of": ("is not a field of {record_type}", "不是 {record_type} 记录的字段"),
    "not_profession": (
        "'{value}' is not a profession of the catalog; allowed: {allowed}",
        "“{value}”不是目录中的职业；允许的值：{allowed}",
    ),
    "repeated_id": (
        "'{record_id}' appears more than once in this file (first at row {first})",
        "“{record_id}”在此文件中出现了不止一次（首次在第 {first} 行）",
    ),
    "repeated": (
        "appears more than once in this file (first at row {first})",
        "在此文件中出现了不止一次（首次在第 {first} 行）",
    ),
    "changed": (
        "'{record_id}' was already received with different content; send it with correction=true to correct it",
        "“{record_id}”已收到过，但内容不同；要更正它，请以 correction=true 发送",
    ),
    "withdrawn_changed": (
        "'{record_id}' was received with other content; a withdrawal sends the record as received (with "
        "correction=true, corrected and withdrawn)",
        "“{record_id}”收到时的内容不同；撤回须按收到时的内容发送该记录（带 correction=true 则为更正并撤回）",
    ),
    "nothing_to_withdraw": (
        "nothing to withdraw: '{record_id}' was never received from this source",
        "没有可撤回的记录：从未从此来源收到“{record_id}”",
    ),
    "nothing_to_correct": (
        "nothing to correct: '{record_id}' was never received from this source",
        "没有可更正的记录：从未从此来源收到“{record_id}”",
    ),
    "was_withdrawn": (
        "'{record_id}' was withdrawn; only a correction can bring it back",
        "“{record_id}”已撤回；只有更正能使它恢复",
    ),
    "withdrawn_disputed": (
        "'{record_id}' was withdrawn after a dispute; it comes back only with the source's certification that it is "
        "accurate (certified=true)",
        "“{record_id}”因异议而撤回；只有来源证明其准确（certified=true）才能恢复",
    ),
}

# What a placeholder holds in an English message when it is not the sender's text: the values the registry or the
# table puts there, of known form (anything else: any text). A fullmatch of one of these on one value is linear.
_MATCHES = {
    "char": re.compile(r"U\+[0-9A-F]{4,6}"),
    "n": re.compile(r"\d{1,20}"),
    "most": re.compile(r"\d{1,20}"),
    "first": re.compile(r"[0-9-]{1,20}"),
    "birth": re.compile(r"[0-9-]{1,20}"),
    "start": re.compile(r"[0-9-]{1,20}"),
    "end": re.compile(r"[0-9-]{1,20}"),
    "today": re.compile(r"[0-9-]{1,20}"),
    "record_type": re.compile(r"[^\s']{1,200}"),  # a catalog's name (a sender's unknown type is {value})
    "source": re.compile(r"[^\s']{1,200}"),
}
# The things a template names by their English words ({what}, the table's words only), in Chinese.
_TERMS = {
    "a value": "值",
    "a record id": "记录编号",
    "an identifier": "标识号",
    "a name": "姓名",
    "a district": "区县",
    "an address": "地址",
    "a phone": "电话",
}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _quoted(text: str) -> str:
    """``text`` (the table's own words) as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def sql(key: str, **parts: str) -> str:
    """SQL of the English reason ``key``: its template's words, each placeholder the SQL expression given for it
    (``sql("not_whole", value="amount")``: ``'''' || amount || ''' is not a whole number'``)."""
    pieces = _PLACEHOLDER.split(WORDS[key][0])  # words, name, words, name, ...
    out = [_quoted(p) if i % 2 == 0 else f"({parts[p]})" for i, p in enumerate(pieces) if p or i % 2]
    return " || ".join(out)


@cache
def _templates() -> list[tuple[list[str], list[str], str]]:
    """Each template as its words and its placeholders' names (words, name, words, ..., words), with its Chinese."""
    out = []
    for en, zh in WORDS.values():
        pieces = _PLACEHOLDER.split(en)
        out.append((pieces[0::2], pieces[1::2], zh))
    return out


def _values(message: str, words: list[str], names: list[str]) -> dict[str, str] | None:
    """The placeholders' values of ``message`` if it fits the template (``words`` around ``names``), else None.

    No pattern runs over the sender's text: the first and last words are the message's ends, and the values are cut
    from the right, each at the last place its next words occur (a sender's value comes first in a template, before
    the values the registry puts, so words the sender repeats inside it stay in it). Each step is one scan: the cost
    is linear in the message whatever it holds."""
    if not names:
        return {} if message == words[0] else None
    first, last = words[0], words[-1]
    if len(message) < len(first) + len(last) or not message.startswith(first) or not message.endswith(last):
        return None
    rest = message[len(first) : len(message) - len(last)]
    values: dict[str, str] = {}
    for name, before in zip(reversed(names), reversed(["", *words[1:-1]]), strict=True):
        # ``before`` is the words ahead of the value ``name`` ("" for the first placeholder: the rest is its value)
        at = rest.rfind(before) if before else 0
        if at < 0:
            return None
        values[name], rest = rest[at + len(before) :], rest[:at]
        if (form := _MATCHES.get(name)) is not None and form.fullmatch(values[name]) is None:
            return None
    return values


def in_chinese(message: str) -> str:
    """A per-row reason in Chinese (its values as they are); a reason the table does not know, as it is.

    A sender's value may hold another template's words (``'x' is not allowed; allowed: y`` as a profession): of the
    templates the message fits, the one that leaves the least to the values after the first (the registry's: the
    allowed values, a date, a row) tells it, and of those the first in the table."""
    fits = []
    for i, (words, names, zh) in enumerate(_templates()):
        if (found := _values(message, words, names)) is not None:
            fits.append((sum(len(v) for k, v in found.items() if k != names[0]), i, found, zh))
    if not fits:
        return message
    _, _, found, zh = min(fits, key=lambda fit: fit[:2])
    if "what" in found:
        found["what"] = _TERMS.get(found["what"], found["what"])
    return zh.format(**found)


def said(errors: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """A batch's row errors (``IngestReport.as_dict``'s) as they are answered: each reason in ``lang``, the Chinese
    its raiser gave (``zh``: an identifier's) or else the table's, and no other key."""
    return [
        {
            "row": e["row"],
            "field": e["field"],
            "message": (e.get("zh") or in_chinese(e["message"])) if lang == "zh" else e["message"],
        }
        for e in errors
    ]
