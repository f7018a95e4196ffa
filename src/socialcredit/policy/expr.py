"""The condition language of policies: a small, safe, typed expression language.

Grammar (lowest precedence first)::

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := sum [("==" | "!=" | "<" | "<=" | ">" | ">=") sum]
             | sum ["not"] "in" "[" literal ("," literal)* "]"
             | sum "is" ["not"] "null"
    sum     := product (("+" | "-") product)*
    product := unary (("*" | "/") unary)*
    unary   := "-" unary | atom
    atom    := NUMBER | STRING | "true" | "false" | "null" | "date" "(" STRING ")" | NAME | "(" expr ")"

Names are checked against the variables a context offers (the fields of a record type, or the facts of a
scored subject); there are no function calls, no attribute access and no way to reach anything else, so a
condition can only ever become the SQL expression tree the compiler builds from it.

>>> env = {"amount": Var("number"), "status": Var("string", allowed=("paid", "late"))}
>>> check(parse("status == 'late' and amount >= 1000"), env).type
'boolean'
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal

from socialcredit.errors import ExpressionError

__all__ = [
    "Binary",
    "In",
    "IsNull",
    "Lit",
    "Name",
    "Node",
    "Unary",
    "Var",
    "check",
    "evaluate",
    "is_name",
    "names_in",
    "parse",
    "whole_constant",
    "whole_span",
]

Type = Literal["number", "string", "boolean", "date", "tier", "null"]
# Each type as a condition's errors name it in Chinese ("needs a number, not a text": 需要数字，而不是文字)
_ZH: dict[str, str] = {
    "number": "数字",
    "string": "文字",
    "boolean": "真假值",
    "date": "日期",
    "tier": "等级",
    "null": "null",
}


@dataclass(frozen=True)
class Var:
    """A variable a condition may use: its type, for strings the values it can take, and for whole numbers (an
    integer field, a score) the least and greatest value it can hold: a calculation's worst case is bounded from
    them (see ``whole_span``)."""

    type: Type
    allowed: tuple[str, ...] | None = None
    whole: tuple[int, int] | None = None


@dataclass(frozen=True)
class Node:
    pos: int = field(default=0, compare=False, kw_only=True)
    type: Type = field(default="null", compare=False, kw_only=True)


@dataclass(frozen=True)
class Lit(Node):
    value: Any


@dataclass(frozen=True)
class Name(Node):
    name: str


@dataclass(frozen=True)
class Unary(Node):
    op: str
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class In(Node):
    operand: Node
    values: tuple[Lit, ...]
    negated: bool = False


@dataclass(frozen=True)
class IsNull(Node):
    operand: Node
    negated: bool = False


# Digits are ASCII ([0-9], not \d): \d also took other scripts' digits, and `amount > ١٠٠` or a full-width `１` was read
# as the number 100 or 1 in a condition that shows other characters.
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>[0-9]+(?:\.[0-9]+)?)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|<|>|\+|-|\*|/|\(|\)|\[|\]|,)
    """,
    re.VERBOSE,
)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A policy text a store already holds, read back (``load.parse_policy(published=True)``): the checks added after such a
# text could be published (ASCII digits and YYYY-MM-DD dates here; ids matched whole, their length and tier ids in
# policy/model.py) do not refuse it, so it keeps loading and runs as it ran; a policy being published meets them all.
READ_BACK: ContextVar[bool] = ContextVar("policy_read_back", default=False)
_TOKEN_READ_BACK = re.compile(_TOKEN.pattern.replace("[0-9]", r"\d"), re.VERBOSE)
_KEYWORDS = {"and", "or", "not", "in", "is", "null", "true", "false", "date"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_LENGTH = 2000


def is_name(word: str) -> bool:
    """Whether a condition can use ``word`` as a name (a dimension's or a list's id is one): letters, digits and
    '_', and not a word of the language (``and``, ``null``, ``date``, ...)."""
    return _NAME.fullmatch(word) is not None and word not in _KEYWORDS


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"condition is longer than {MAX_LENGTH} characters", zh=f"条件超过 {MAX_LENGTH} 个字符")
    toks: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = (_TOKEN_READ_BACK if READ_BACK.get() else _TOKEN).match(text, pos)
        if m is None:
            if text[pos].isdigit():
                raise ExpressionError(
                    f"{text[pos]!r} is not a digit of the condition language: write numbers with 0-9",
                    text=text,
                    position=pos,
                    zh=f"{text[pos]!r} 不是条件语言的数字：请用 0-9 书写数字",
                )
            raise ExpressionError(
                f"unexpected character {text[pos]!r}", text=text, position=pos, zh=f"意外的字符 {text[pos]!r}"
            )
        kind = m.lastgroup or ""
        if kind == "string" and "\x00" in m.group():
            # Engines end a SQL text at NUL; refusing it keeps the compiled literal whole.
            raise ExpressionError(
                "a text may not contain the NUL character", text=text, position=pos, zh="文字中不能有 NUL 字符"
            )
        if kind == "number" and len(m.group()) > 18:
            raise ExpressionError("a number may have at most 18 digits", text=text, position=pos, zh="数字最多 18 位")
        if kind != "ws":
            word = m.group()
            if kind == "name" and word in _KEYWORDS:
                kind = word
            toks.append(_Tok(kind, word, pos))
        pos = m.end()
    toks.append(_Tok("end", "", len(text)))
    return toks


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self, kind: str | None = None, text: str | None = None) -> _Tok:
        tok = self.toks[self.i]
        if (kind is not None and tok.kind != kind) or (text is not None and tok.text != text):
            wanted = text or kind
            found, found_zh = _found(tok)
            raise ExpressionError(
                f"expected {wanted!r} but found {found}",
                text=self.text,
                position=tok.pos,
                zh=f"此处应为 {wanted!r}，却是{found_zh}",
            )
        self.i += 1
        return tok

    def at(self, kind: str, text: str | None = None) -> bool:
        tok = self.peek()
        return tok.kind == kind and (text is None or tok.text == text)

    def parse(self) -> Node:
        node = self.or_()
        tok = self.peek()
        if tok.kind != "end":
            raise ExpressionError(
                f"unexpected {tok.text!r}", text=self.text, position=tok.pos, zh=f"意外的 {tok.text!r}"
            )
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.at("or"):
            pos = self.take().pos
            node = Binary("or", node, self.and_(), pos=pos)
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.at("and"):
            pos = self.take().pos
            node = Binary("and", node, self.not_(), pos=pos)
        return node

    def not_(self) -> Node:
        # Prefix operators are read in a loop, not by recursion, so a long run of them cannot exhaust the stack.
        positions = []
        while self.at("not"):
            positions.append(self.take().pos)
        node = self.compare()
        for pos in reversed(positions):
            node = Unary("not", node, pos=pos)
        return node

    def compare(self) -> Node:
        left = self.sum_()
        tok = self.peek()
        if tok.kind == "op" and tok.text in ("==", "!=", "<", "<=", ">", ">="):
            self.take()
            return Binary(tok.text, left, self.sum_(), pos=tok.pos)
        if tok.kind == "not" and self.toks[self.i + 1].kind == "in":
            self.take()
            self.take("in")
            return In(left, self.literal_list(), negated=True, pos=tok.pos)
        if tok.kind == "in":
            self.take()
            return In(left, self.literal_list(), pos=tok.pos)
        if tok.kind == "is":
            self.take()
            negated = self.at("not")
            if negated:
                self.take()
            self.take("null")
            return IsNull(left, negated=negated, pos=tok.pos)
        return left

    def literal_list(self) -> tuple[Lit, ...]:
        self.take("op", "[")
        values = [self.literal()]
        while self.at("op", ","):
            self.take()
            values.append(self.literal())
        self.take("op", "]")
        return tuple(values)

    def literal(self) -> Lit:
        tok = self.peek()
        if tok.kind == "op" and tok.text == "-":
            self.take()
            num = self.take("number")
            return Lit(-_number(num.text), pos=tok.pos)
        node = self.atom()
        if not isinstance(node, Lit):
            raise ExpressionError(
                "a list may hold only literal values", text=self.text, position=tok.pos, zh="列表中只能是字面值"
            )
        return node

    def sum_(self) -> Node:
        node = self.product()
        while self.at("op", "+") or self.at("op", "-"):
            tok = self.take()
            node = Binary(tok.text, node, self.product(), pos=tok.pos)
        return node

    def product(self) -> Node:
        node = self.unary()
        while self.at("op", "*") or self.at("op", "/"):
            tok = self.take()
            node = Binary(tok.text, node, self.unary(), pos=tok.pos)
        return node

    def unary(self) -> Node:
        positions = []
        while self.at("op", "-"):
            positions.append(self.take().pos)
        node = self.atom()
        for pos in reversed(positions):
            node = Unary("-", node, pos=pos)
        return node

    def atom(self) -> Node:
        tok = self.take()
        if tok.kind == "number":
            return Lit(_number(tok.text), pos=tok.pos)
        if tok.kind == "string":
            return Lit(_unquote(tok.text), pos=tok.pos)
        if tok.kind in ("true", "false"):
            return Lit(tok.kind == "true", pos=tok.pos)
        if tok.kind == "null":
            return Lit(None, pos=tok.pos)
        if tok.kind == "date":
            self.take("op", "(")
            arg = self.take("string")
            self.take("op", ")")
            try:
                # Only YYYY-MM-DD: date.fromisoformat also reads 20260101 and the week date 2026-W01-1 (2025-12-29).
                written = _unquote(arg.text)
                if not _DATE.fullmatch(written) and not READ_BACK.get():
                    raise ValueError(written)
                return Lit(dt.date.fromisoformat(written), pos=tok.pos)
            except ValueError:
                raise ExpressionError(
                    f"date({arg.text}) is not a date of the form 'YYYY-MM-DD'",
                    text=self.text,
                    position=arg.pos,
                    zh=f"date({arg.text}) 不是 'YYYY-MM-DD' 形式的日期",
                ) from None
        if tok.kind == "name":
            return Name(tok.text, pos=tok.pos)
        if tok.kind == "op" and tok.text == "(":
            self.depth += 1
            if self.depth > 50:
                raise ExpressionError(
                    "condition is nested too deeply", text=self.text, position=tok.pos, zh="条件嵌套过深"
                )
            node = self.or_()
            self.take("op", ")")
            self.depth -= 1
            return node
        found, found_zh = _found(tok)
        raise ExpressionError(
            f"expected a value but found {found}",
            text=self.text,
            position=tok.pos,
            zh=f"此处应为一个值，却是{found_zh}",
        )


def _found(tok: _Tok) -> tuple[str, str]:
    """What the parser found where it wanted something else, in English and in Chinese."""
    return ("the end", "结尾") if tok.kind == "end" else (repr(tok.text), f" {tok.text!r}")


def _number(text: str) -> int | float:
    return float(text) if "." in text else int(text)


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


MAX_DEPTH = 64


def _depth(node: Node) -> int:
    """Depth of a tree, computed without recursion (trees arrive here before any depth limit is known)."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        n, d = stack.pop()
        deepest = max(deepest, d)
        if isinstance(n, Unary | In | IsNull):
            stack.append((n.operand, d + 1))
        elif isinstance(n, Binary):
            stack += [(n.left, d + 1), (n.right, d + 1)]
    return deepest


def parse(text: str) -> Node:
    """Parse a condition into an (untyped) tree; raise ExpressionError with the position on bad syntax."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("condition is empty", zh="条件为空")
    node = _Parser(text).parse()
    if _depth(node) > MAX_DEPTH:
        raise ExpressionError(
            f"condition is nested too deeply (more than {MAX_DEPTH} levels); split it up",
            text=text,
            zh=f"条件嵌套过深（超过 {MAX_DEPTH} 层）；请拆分它",
        )
    return node


def _lit_type(value: Any) -> Type:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, dt.date):
        return "date"
    return "string"


# A calculation of whole numbers alone (100000 * 100000) is computed once, exactly, as the evaluator computes it, and
# given to the engines as one number: their whole-number literals are 32-bit, and the product failed the run. Its
# value is bounded as a written number is (at most 18 digits), so it stays a 64-bit integer in every engine.
MAX_WHOLE = 10**18 - 1


def whole_constant(node: Node) -> int | None:
    """The exact value of ``node`` if it is a calculation (+, -, *) of whole-number literals alone, else None.

    A bare literal, or a negated one, is not a calculation: None (the engines read those as written)."""
    if not (isinstance(node, Binary) and node.op in ("+", "-", "*")):
        return None

    def value(n: Node) -> int | None:
        if isinstance(n, Lit):
            return n.value if isinstance(n.value, int) and not isinstance(n.value, bool) else None
        if isinstance(n, Unary) and n.op == "-":
            inner = value(n.operand)
            return None if inner is None else -inner
        if isinstance(n, Binary) and n.op in ("+", "-", "*"):
            a, b = value(n.left), value(n.right)
            if a is None or b is None:
                return None
            return int(_apply(n.op, a, b))
        return None

    return value(node)


def whole_span(node: Node, env: Mapping[str, Var]) -> tuple[int, int] | None:
    """The least and greatest value a calculation (+, -, *) of whole numbers can come to, from the bounds of the
    whole-number variables in ``env`` and the literals; None if any part is not a whole number (a decimal field or
    literal, a division: those are computed as doubles, which do not overflow).

    The engines compute a calculation of whole numbers in 64-bit integers (integer fields are BIGINT): one whose
    worst case passes 18 digits failed the run with an overflow, so the validator refuses it (``check``)."""
    if isinstance(node, Lit):
        v = node.value
        return (v, v) if isinstance(v, int) and not isinstance(v, bool) else None
    if isinstance(node, Name):
        var = env.get(node.name)
        return var.whole if var is not None else None
    if isinstance(node, Unary) and node.op == "-":
        inner = whole_span(node.operand, env)
        return None if inner is None else (-inner[1], -inner[0])
    if isinstance(node, Binary) and node.op in ("+", "-", "*"):
        a, b = whole_span(node.left, env), whole_span(node.right, env)
        if a is None or b is None:
            return None
        if node.op == "+":
            return (a[0] + b[0], a[1] + b[1])
        if node.op == "-":
            return (a[0] - b[1], a[1] - b[0])
        corners = [x * y for x in a for y in b]
        return (min(corners), max(corners))
    return None


def _with_type(node: Node, t: Type) -> Node:
    object.__setattr__(node, "type", t)
    return node


def check(
    node: Node, env: Mapping[str, Var], *, text: str = "", tiers: Sequence[str] = (), bound_whole: bool = True
) -> Node:
    """Type-check ``node`` against the variables in ``env``; return it with types filled in.

    ``bound_whole``: refuse a calculation of whole numbers that can pass 18 digits (``whole_span``); False only for
    a text published before that check, read back as it was accepted then.

    String literals compared with a variable that has allowed values must be one of them, and tier
    literals must name a tier of the policy, so a typo is caught when the policy is checked.
    """

    def fail(msg: str, at: Node, zh: str) -> ExpressionError:
        return ExpressionError(msg, text=text, position=at.pos, zh=zh)

    def value_ok(var_node: Node, lit: Lit) -> None:
        if not isinstance(var_node, Name) or lit.value is None:
            return
        var = env[var_node.name]
        if var.type == "tier" and lit.value not in tiers:
            raise fail(
                f"{lit.value!r} is not a tier of this policy (tiers: {', '.join(tiers)})",
                lit,
                f"{lit.value!r} 不是本政策的等级（等级：{'、'.join(tiers)}）",
            )
        if var.allowed is not None and lit.value not in var.allowed:
            raise fail(
                f"{var_node.name} is never {lit.value!r}; it takes one of: {', '.join(var.allowed)}",
                lit,
                f"{var_node.name} 从不为 {lit.value!r}；它取以下之一：{'、'.join(var.allowed)}",
            )

    def comparable(a: Type, b: Type) -> bool:
        if "null" in (a, b):
            return True
        if "tier" in (a, b):
            return {a, b} <= {"tier", "string"}
        return a == b

    def walk(n: Node) -> Type:
        if isinstance(n, Lit):
            t = _lit_type(n.value)
        elif isinstance(n, Name):
            if n.name not in env:
                known = ", ".join(sorted(env)) or "none"
                known_zh = "、".join(sorted(env)) or "无"
                raise fail(
                    f"unknown name {n.name!r}; known here: {known}", n, f"未知的名称 {n.name!r}；此处可用：{known_zh}"
                )
            t = env[n.name].type
        elif isinstance(n, Unary):
            inner = walk(n.operand)
            want: Type = "boolean" if n.op == "not" else "number"
            if inner != want:
                raise fail(
                    f"'{n.op}' needs a {want}, not a {inner}", n, f"'{n.op}' 需要{_ZH[want]}，而不是{_ZH[inner]}"
                )
            t = want
        elif isinstance(n, Binary):
            lt, rt = walk(n.left), walk(n.right)
            if n.op in ("and", "or"):
                if lt != "boolean" or rt != "boolean":
                    other = lt if lt != "boolean" else rt
                    raise fail(f"'{n.op}' joins conditions, not a {other}", n, f"'{n.op}' 连接条件，而不是{_ZH[other]}")
                t = "boolean"
            elif n.op in ("+", "-", "*", "/"):
                if lt != "number" or rt != "number":
                    raise fail(
                        f"'{n.op}' needs numbers, not {lt} and {rt}",
                        n,
                        f"'{n.op}' 需要数字，而不是{_ZH[lt]}和{_ZH[rt]}",
                    )
                constant = whole_constant(n)
                if constant is not None and abs(constant) > MAX_WHOLE:
                    raise fail(
                        "a calculation of whole numbers alone may come to at most 18 digits",
                        n,
                        "只含整数的计算结果最多 18 位",
                    )
                span = whole_span(n, env) if constant is None and bound_whole else None
                if span is not None and max(-span[0], span[1]) > MAX_WHOLE:
                    worst = span[1] if span[1] > -span[0] else span[0]
                    raise fail(
                        f"this calculation of whole numbers can reach {worst} with the values its fields and facts may "
                        "hold, and the engines compute whole numbers to at most 18 digits: write one of its numbers "
                        "with a decimal point (1000.0) to compute it in decimals",
                        n,
                        f"按其字段和事实可能的取值，这个整数计算可达 {worst}，而引擎计算整数最多 18 位："
                        "请把其中一个数字写成带小数点的形式（1000.0），以小数计算",
                    )
                t = "number"
            else:
                if not comparable(lt, rt):
                    raise fail(f"cannot compare a {lt} with a {rt}", n, f"不能比较{_ZH[lt]}与{_ZH[rt]}")
                if n.op not in ("==", "!=") and "boolean" in (lt, rt):
                    raise fail(
                        f"'{n.op}' does not order true and false; use == or !=",
                        n,
                        f"'{n.op}' 不能比较 true 与 false 的大小；请用 == 或 !=",
                    )
                if "null" in (lt, rt):
                    raise fail(
                        "compare with null using 'is null' or 'is not null'",
                        n,
                        "与 null 比较请用 'is null' 或 'is not null'",
                    )
                if n.op not in ("==", "!=") and "string" in (lt, rt) and "tier" not in (lt, rt):
                    raise fail(
                        f"'{n.op}' does not order texts; use ==, != or in",
                        n,
                        f"'{n.op}' 不能比较文字的大小；请用 ==、!= 或 in",
                    )
                for a, b in ((n.left, n.right), (n.right, n.left)):
                    if a.type == "tier" and b.type == "string" and not isinstance(b, Lit):
                        raise fail(
                            "a tier compares only with a tier name such as 'A'", n, "等级只能与等级名称（如 'A'）比较"
                        )
                if isinstance(n.right, Lit):
                    value_ok(n.left, n.right)
                if isinstance(n.left, Lit):
                    value_ok(n.right, n.left)
                t = "boolean"
        elif isinstance(n, In):
            ot = walk(n.operand)
            for lit in n.values:
                lt = walk(lit)
                if not comparable(ot, lt) or lt == "null":
                    raise fail(
                        f"a {ot} cannot be in a list holding a {lt}", lit, f"{_ZH[ot]}不能在含有{_ZH[lt]}的列表中"
                    )
                value_ok(n.operand, lit)
            t = "boolean"
        elif isinstance(n, IsNull):
            walk(n.operand)
            t = "boolean"
        else:  # pragma: no cover - the parser makes no other node
            raise fail(f"unknown node {type(n).__name__}", n, f"未知的节点 {type(n).__name__}")
        _with_type(n, t)
        return t

    result = walk(node)
    if result != "boolean":
        raise ExpressionError(
            f"a condition must be true or false, but this is a {result}",
            text=text,
            zh=f"条件须为真或假，而这是{_ZH[result]}",
        )
    return node


def names_in(node: Node) -> set[str]:
    """Every variable name a condition uses."""
    if isinstance(node, Name):
        return {node.name}
    if isinstance(node, Unary):
        return names_in(node.operand)
    if isinstance(node, Binary):
        return names_in(node.left) | names_in(node.right)
    if isinstance(node, In | IsNull):
        return names_in(node.operand)
    return set()


def evaluate(node: Node, values: Mapping[str, Any], *, tier_rank: Mapping[str, int] | None = None) -> Any:
    """Evaluate a checked condition in Python with SQL's three-valued logic (None is unknown).

    Used to explain decisions (which part of a service's condition failed); scoring itself runs in SQL.
    Tier values compare by their rank in ``tier_rank`` (higher is better).
    """
    ranks = tier_rank or {}

    def val(n: Node) -> Any:
        if isinstance(n, Lit):
            return n.value
        if isinstance(n, Name):
            return values.get(n.name)
        if isinstance(n, Unary):
            v = val(n.operand)
            if v is None:
                return None
            return (not v) if n.op == "not" else -v
        if isinstance(n, Binary):
            if n.op == "and":
                a, b = val(n.left), val(n.right)
                if a is False or b is False:
                    return False
                return None if a is None or b is None else True
            if n.op == "or":
                a, b = val(n.left), val(n.right)
                if a is True or b is True:
                    return True
                return None if a is None or b is None else False
            a, b = val(n.left), val(n.right)
            if a is None or b is None:
                return None
            if "tier" in (n.left.type, n.right.type):
                a, b = ranks.get(a, 0), ranks.get(b, 0)
            return _apply(n.op, a, b)
        if isinstance(n, In):
            v = val(n.operand)
            if v is None:
                return None
            vals = [lit.value for lit in n.values]
            if n.operand.type == "tier":
                v, vals = ranks.get(v, 0), [ranks.get(x, 0) for x in vals]
            hit = v in vals
            return (not hit) if n.negated else hit
        if isinstance(n, IsNull):
            is_null = val(n.operand) is None
            return (not is_null) if n.negated else is_null
        raise TypeError(type(n).__name__)  # pragma: no cover

    return val(node)


def _apply(op: str, a: Any, b: Any) -> Any:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return None if b == 0 else a / b
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b
