"""Baseline: the per-record loop of ``python_baseline`` with every condition evaluated by zen-engine (GoRules).

What a user who picks an off-the-shelf rules engine would write. From the policy we build one JDM decision
graph per record type (input node -> one expression node with one boolean output per rule and list
criterion of that type -> output node) and one for the list criteria on a subject's score; the graphs are
served by a static loader, and every record is evaluated with ``engine.evaluate(record_type, record)``
(``ZenEngine.evaluate`` reuses the compiled graph; ``create_decision(...).evaluate`` measured about 20x
slower per call in zen-engine 2.1, so we use the loader, as zen's documentation suggests for reuse). Points,
caps, dimensions, ranks and lists are then accumulated in Python exactly as in ``python_baseline``.

Reads the same files as ``python_baseline``: subjects/*.parquet, records/*/*.parquet, consents.parquet.

Translating the policy language to the ZEN expression language:

* SQL's three-valued logic: ZEN compares a missing value as an ordinary value (``not (x == 'a')`` is true
  when x is null) and fails on ``null >= 1``, so each condition is written as the ZEN expression "is
  TRUE", built with its dual "is FALSE": ``not`` swaps the two, ``and``/``or`` follow Kleene's tables, and
  every comparison, ``in`` and arithmetic is guarded by ``<name> != null`` for the names it reads (and
  ``<divisor> != 0`` for a division, NULL in SQL). Only conditions that come out true count, as in SQL.
* Dates are passed as day numbers (``date.toordinal()``) and ``date('...')`` literals become day numbers.
* Tiers compare by rank: ``tier`` is passed as ``tier_rank`` and tier names become their ranks.
* ZEN has no escape in string literals: a text holding both quote characters, or a backslash, cannot be
  written; such a condition (none in beijing or sesame) is evaluated with ``socialcredit.policy.expr.evaluate``
  instead. ZEN computes with decimals, SQL with doubles: arithmetic in a condition may differ in the last
  digits (no shipped policy does arithmetic in a condition).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import zen

from socialcredit.policy import LoadedPolicy
from socialcredit.policy import expr as x
from socialcredit.policy.expr import evaluate

from .python_baseline import record_conditions, score_criteria, score_with

__all__ = ["ZenChecker", "decision_graph", "score", "to_zen"]

_SUBJECT_KEY = "__subject__"


class Unsupported(Exception):
    """A condition the ZEN expression language cannot state exactly."""


def _text(value: str) -> str:
    if "\\" in value:
        raise Unsupported(f"text with a backslash: {value!r}")
    if '"' not in value:
        return f'"{value}"'
    if "'" not in value:
        return f"'{value}'"
    raise Unsupported(f"text with both quote characters: {value!r}")


def _literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"({value})" if value < 0 else str(value)
    if isinstance(value, float):
        text = format(Decimal(repr(value)), "f")
        return f"({text})" if value < 0 else text
    if isinstance(value, dt.date):
        return str(value.toordinal())
    return _text(str(value))


class _Translate:
    """A checked condition as ZEN expressions: ``true(n)`` holds exactly when SQL would say TRUE."""

    def __init__(self, tier_rank: dict[str, int]) -> None:
        self.ranks = tier_rank

    def lit(self, lit: x.Lit, other: x.Node) -> str:
        if other.type == "tier" and isinstance(lit.value, str):
            return str(self.ranks[lit.value])
        return _literal(lit.value)

    def value(self, n: x.Node, other: x.Node | None = None) -> tuple[str, list[str]]:
        """The expression of a value and the guards under which it is not null."""
        if isinstance(n, x.Lit):
            text = self.lit(n, other) if other is not None else _literal(n.value)
            return text, (["false"] if n.value is None else [])
        if isinstance(n, x.Name):
            name = "tier_rank" if n.type == "tier" else n.name
            if n.type == "boolean":
                return f"({name} == true)", [f"{name} != null"]
            return name, [f"{name} != null"]
        if isinstance(n, x.Unary) and n.op == "-":
            inner, guards = self.value(n.operand)
            return f"(-{inner})", guards
        if isinstance(n, x.Binary) and n.op in ("+", "-", "*", "/"):
            (a, ga), (b, gb) = self.value(n.left), self.value(n.right)
            guards = ga + gb + ([f"{b} != 0"] if n.op == "/" else [])
            return f"({a} {n.op} {b})", guards
        # A condition used as a value (e.g. compared with another): known when it is TRUE or FALSE.
        t, f = self.true(n), self.false(n)
        return f"({t})", [f"({t} or {f})"]

    def _guarded(self, guards: list[str], test: str) -> tuple[str, str]:
        if not guards:
            return f"({test})", f"(not ({test}))"
        known = " and ".join(guards)
        return f"({known} and {test})", f"({known} and not ({test}))"

    def both(self, n: x.Node) -> tuple[str, str]:
        """(is TRUE, is FALSE) of a boolean node."""
        if isinstance(n, x.Lit):
            if n.value is None:
                return "false", "false"
            return ("true", "false") if n.value else ("false", "true")
        if isinstance(n, x.Name):
            return f"({n.name} == true)", f"({n.name} == false)"
        if isinstance(n, x.Unary) and n.op == "not":
            t, f = self.both(n.operand)
            return f, t
        if isinstance(n, x.Binary) and n.op in ("and", "or"):
            (lt, lf), (rt, rf) = self.both(n.left), self.both(n.right)
            if n.op == "and":
                return f"({lt} and {rt})", f"({lf} or {rf})"
            return f"({lt} or {rt})", f"({lf} and {rf})"
        if isinstance(n, x.Binary):
            a, ga = self.value(n.left, n.right)
            b, gb = self.value(n.right, n.left)
            return self._guarded(ga + gb, f"{a} {n.op} {b}")
        if isinstance(n, x.In):
            v, guards = self.value(n.operand)
            values = ", ".join(self.lit(lit, n.operand) for lit in n.values)
            t, f = self._guarded(guards, f"{v} in [{values}]")
            return (f, t) if n.negated else (t, f)
        if isinstance(n, x.IsNull):
            _, guards = self.value(n.operand)
            known = " and ".join(guards) if guards else "true"
            t, f = f"(not ({known}))", f"({known})"
            return (f, t) if n.negated else (t, f)
        raise Unsupported(type(n).__name__)

    def true(self, n: x.Node) -> str:
        return self.both(n)[0]

    def false(self, n: x.Node) -> str:
        return self.both(n)[1]


def to_zen(node: x.Node, tier_rank: dict[str, int] | None = None) -> str:
    """A checked condition as a ZEN expression that is true exactly when the condition is TRUE in SQL."""
    return _Translate(tier_rank or {}).true(node)


def decision_graph(outputs: list[tuple[str, str]]) -> dict[str, Any]:
    """A JDM graph: input -> one expression node computing each (key, expression) -> output."""
    position = {"x": 0, "y": 0}
    return {
        "nodes": [
            {"id": "input", "type": "inputNode", "name": "record", "position": position, "content": {}},
            {
                "id": "conditions",
                "type": "expressionNode",
                "name": "conditions",
                "position": position,
                "content": {
                    "expressions": [
                        {"id": f"e{i}", "key": key, "value": value} for i, (key, value) in enumerate(outputs)
                    ]
                },
            },
            {"id": "output", "type": "outputNode", "name": "conditions", "position": position, "content": {}},
        ],
        "edges": [
            {"id": "in", "sourceId": "input", "targetId": "conditions", "type": "edge"},
            {"id": "out", "sourceId": "conditions", "targetId": "output", "type": "edge"},
        ],
    }


def _zen_value(value: Any) -> Any:
    return value.toordinal() if isinstance(value, dt.date) else value


class ZenChecker:
    """Conditions evaluated by zen-engine: one decision per record type, one for the score criteria."""

    def __init__(self, loaded: LoadedPolicy, as_of: dt.date) -> None:
        ids = loaded.policy.tier_ids()
        self.tier_rank = {t: len(ids) - i for i, t in enumerate(ids)}
        translate = _Translate(self.tier_rank)
        graphs: dict[str, dict[str, Any]] = {}
        self.names: dict[str, list[str]] = {}  # inputs each decision reads
        self.size: dict[str, int] = {}
        self.fallback: dict[str, list[tuple[int, x.Node]]] = {}  # conditions zen cannot state
        conditions = {rt: rc.nodes for rt, rc in record_conditions(loaded, as_of).items()}
        conditions[_SUBJECT_KEY] = [node for _, _, node in score_criteria(loaded)]
        for key, nodes in conditions.items():
            outputs, names, fallback = [], set(), []
            for i, node in enumerate(nodes):
                if node is None:
                    outputs.append((f"c{i}", "true"))
                    continue
                try:
                    outputs.append((f"c{i}", translate.true(node)))
                    names |= x.names_in(node)
                except Unsupported:
                    fallback.append((i, node))
            graphs[key] = decision_graph(outputs)
            self.names[key] = sorted(names)
            self.size[key] = len(nodes)
            self.fallback[key] = fallback
        self.engine = zen.ZenEngine({"loader": {"type": "static", "content": graphs}})
        for key, graph in graphs.items():  # fail early, with the graph, if zen refuses one
            try:
                self.engine.create_decision(json.dumps(graph)).validate()
            except Exception as exc:
                raise ValueError(f"zen-engine refused the decision for {key}: {exc}") from None

    def _run(self, key: str, values: dict[str, Any], tier_rank: dict[str, int] | None = None) -> list[bool]:
        context = {name: _zen_value(values.get(name)) for name in self.names[key]}
        if "tier" in context:
            context["tier_rank"] = self.tier_rank.get(context.pop("tier"))
        result = self.engine.evaluate(key, context)["result"]
        flags = [result.get(f"c{i}") is True for i in range(self.size[key])]
        for i, node in self.fallback[key]:
            flags[i] = evaluate(node, values, tier_rank=tier_rank) is True
        return flags

    def record(self, record_type: str, record: dict[str, Any]) -> list[bool]:
        return self._run(record_type, record)

    def subject(self, facts: dict[str, Any]) -> list[bool]:
        return self._run(_SUBJECT_KEY, facts, self.tier_rank)


def score(folder: Path, loaded_policy: LoadedPolicy, as_of: dt.date) -> pd.DataFrame:
    """One row per subject: subject_id, kind, total, score, tier, rank, percentile and a flag per list."""
    return score_with(folder, loaded_policy, as_of, ZenChecker)
