"""Lower a checked condition (policy.expr) to a sqlglot expression tree. Never a string.

Names resolve through a callback the caller supplies (a record field, or a fact of a scored subject),
literals become sqlglot literals (which the printer quotes and escapes), so neither a policy nor a record
can change the shape of the SQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

import sqlglot.expressions as exp

from socialcredit.policy import expr

__all__ = ["date_literal", "literal", "lower"]

Resolver = Callable[[str], exp.Expr]

_COMPARE: dict[str, type[exp.Binary]] = {
    "==": exp.EQ,
    "!=": exp.NEQ,
    "<": exp.LT,
    "<=": exp.LTE,
    ">": exp.GT,
    ">=": exp.GTE,
}
_ARITH: dict[str, type[exp.Binary]] = {"+": exp.Add, "-": exp.Sub, "*": exp.Mul}


def date_literal(value: dt.date) -> exp.Expr:
    return exp.Cast(this=exp.Literal.string(value.isoformat()), to=exp.DataType.build("date"))


def literal(value: object) -> exp.Expr:
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        num = exp.Literal.number(repr(abs(value)) if isinstance(value, float) else str(abs(value)))
        return exp.Neg(this=num) if value < 0 else num
    if isinstance(value, dt.date):
        return date_literal(value)
    return exp.Literal.string(str(value))


def _condition_literal(value: object) -> exp.Expr:
    # A decimal of a condition is a double, as in policy.expr.evaluate and in the DOUBLE columns of number
    # fields. A bare 0.1 would be a DECIMAL, and the engines would compute 0.1 + 0.2 == 0.3 exactly (true)
    # where the evaluator says false; Spark would also divide decimals with its own scale rules. The text of
    # repr() reads back as the very same double in every engine.
    if isinstance(value, float):
        return exp.Cast(this=exp.Literal.string(repr(value)), to=exp.DataType.build("double"))
    return literal(value)


def lower(node: expr.Node, resolve: Resolver, *, tier_rank: Mapping[str, int] | None = None) -> exp.Expr:
    """Build the SQL tree of a checked condition.

    Tier names compare by rank (higher is better): ``tier >= 'A'`` becomes ``tier_rank >= <rank of A>``;
    the resolver maps the name ``tier`` to the rank column.
    """
    ranks = tier_rank or {}

    def lit_for(other: expr.Node, value: object) -> exp.Expr:
        if other.type == "tier" and isinstance(value, str):
            return exp.Literal.number(ranks[value])
        return _condition_literal(value)

    def operand(n: expr.Node) -> exp.Expr:
        # NOT, IN and IS print without brackets, and SQL binds NOT looser than IS and a comparison (and
        # Spark takes no predicate as an operand of another): `(not b) is null` must not become
        # `NOT b IS NULL`, which is `NOT (b IS NULL)`.
        tree = go(n)
        return exp.Paren(this=tree) if isinstance(tree, exp.Not | exp.In | exp.Is) else tree

    def go(n: expr.Node) -> exp.Expr:
        if isinstance(n, expr.Lit):
            return _condition_literal(n.value)
        if isinstance(n, expr.Name):
            return resolve(n.name)
        if isinstance(n, expr.Unary):
            inner = go(n.operand)
            return exp.Not(this=exp.Paren(this=inner)) if n.op == "not" else exp.Neg(this=exp.Paren(this=inner))
        if isinstance(n, expr.Binary):
            constant = expr.whole_constant(n)
            if constant is not None:  # computed here, exactly: the engines' whole-number literals are 32-bit
                return literal(constant)
            if n.op in ("and", "or"):
                cls = exp.And if n.op == "and" else exp.Or
                return exp.Paren(this=cls(this=go(n.left), expression=go(n.right)))
            if n.op in _COMPARE:
                left = lit_for(n.right, n.left.value) if isinstance(n.left, expr.Lit) else operand(n.left)
                right = lit_for(n.left, n.right.value) if isinstance(n.right, expr.Lit) else operand(n.right)
                # Bracketed, so a comparison of comparisons ((a > 1) == (b > 2)) prints as it parses.
                return exp.Paren(this=_COMPARE[n.op](this=left, expression=right))
            if n.op == "/":
                # x / 0 is NULL on every engine (Spark in ANSI mode would otherwise fail the run).
                divisor = exp.Nullif(this=go(n.right), expression=exp.Literal.number(0))
                return exp.Paren(this=exp.Div(this=go(n.left), expression=divisor, typed=False, safe=False))
            return exp.Paren(this=_ARITH[n.op](this=go(n.left), expression=go(n.right)))
        if isinstance(n, expr.In):
            values = [lit_for(n.operand, v.value) for v in n.values]
            test = exp.In(this=operand(n.operand), expressions=values)
            return exp.Not(this=exp.Paren(this=test)) if n.negated else test
        if isinstance(n, expr.IsNull):
            is_null = exp.Is(this=operand(n.operand), expression=exp.Null())
            return exp.Not(this=exp.Paren(this=is_null)) if n.negated else is_null
        raise TypeError(type(n).__name__)  # pragma: no cover - the parser makes no other node

    return go(node)
