"""Read and validate policy files; every problem names the file, the line and the rule.

>>> p = builtin_policy("beijing")
>>> p.policy.id, p.policy.scale.base
('beijing', 1000)
"""

from __future__ import annotations

import decimal
import hashlib
import math
import os
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from socialcredit.catalog import Catalog, FieldSpec, load_catalog
from socialcredit.errors import ExpressionError, NotFoundError, PolicyError
from socialcredit.policy import expr, reach
from socialcredit.policy.model import MAX_SCORE, RELATION_RECORD_TYPE, Policy, Relation, version_in_quotes
from socialcredit.yamlsrc import LocatedDoc, load_located, yaml_problem

__all__ = [
    "BUILTIN_POLICIES",
    "LoadedPolicy",
    "builtin_policy",
    "load_policy",
    "parse_policy",
    "record_env",
    "subject_env",
]

BUILTIN_POLICIES = ("beijing", "sesame")
# A run sums points as integers of micro-points (compiler/plan.py, MICRO): a rule's points are at least one
# micro-point (less would count as 0), and at most 100,000, so that no sum of a subject's hits overflows an
# engine's 64-bit integer (Spark's SUM of a BIGINT wraps) before 90 million hits.
MIN_POINTS = 0.000001
MAX_POINTS = 100_000
# A rule's cap and a dimension's min and max are counted in points too, and held to the same bound either way.
# A run keeps a subject's grants as a BIGINT bitmask, bit i for the i-th service (ScorePlan.grants): bit 63 is the
# sign, and a 64th service overflowed the run's insert.
MAX_SERVICES = 63

# The size a whole-number field of a record stays below: ingest refuses an integer of more than 15 digits
# (registry/records/limits.py MAX_NUMBER). A condition's calculation is bounded from it (expr.whole_span).
FIELD_LIMIT = 10**15
# The whole-number facts of a scored subject (rank, age, days since the latest negative record) are 32-bit integers
# in a run; the compiler widens them to 64 bits for a calculation (compiler/plan.py _fact).
_INT32 = (-(2**31), 2**31 - 1)

# Names a list or service condition may use, besides the policy's dimension ids (and, in services, list ids).
# (``score`` is bounded by the policy's scale: subject_env.)
SUBJECT_FACTS: dict[str, expr.Var] = {
    "score": expr.Var("number", whole=(-MAX_SCORE, MAX_SCORE)),
    "total": expr.Var("number"),
    "tier": expr.Var("tier"),
    "rank": expr.Var("number", whole=(1, _INT32[1])),
    "percentile": expr.Var("number"),
    "age": expr.Var("number", whole=_INT32),
    "last_negative_days": expr.Var("number", whole=_INT32),
    "kind": expr.Var("string", allowed=("person", "org")),
}

_FIELD_TYPES: dict[str, expr.Type] = {
    "string": "string",
    "integer": "number",
    "number": "number",
    "boolean": "boolean",
    "date": "date",
}


def record_env(fields: dict[str, FieldSpec]) -> dict[str, expr.Var]:
    """The variables a condition on a record of this type may use."""
    env = {"event_date": expr.Var("date")}
    for name, spec in fields.items():
        allowed = tuple(spec.allowed) if spec.allowed else None
        whole = None
        if spec.type == "integer":  # within the catalog's min and max, which ingest enforces, and ingest's limit
            low, high = -(FIELD_LIMIT - 1), FIELD_LIMIT - 1
            if spec.min is not None and math.isfinite(spec.min):
                low = min(high, max(low, math.ceil(spec.min)))
            if spec.max is not None and math.isfinite(spec.max):
                high = max(low, min(high, math.floor(spec.max)))
            whole = (low, high)
        env[name] = expr.Var(_FIELD_TYPES[spec.type], allowed=allowed, whole=whole)
    return env


def subject_env(policy: Policy, catalog: Catalog, *, with_lists: bool) -> dict[str, expr.Var]:
    """The variables a list criterion (``with_lists=False``) or a service condition may use."""
    env = dict(SUBJECT_FACTS)
    env["score"] = expr.Var("number", whole=(policy.scale.min, policy.scale.max))
    env["profession"] = expr.Var("string", allowed=tuple(catalog.professions))
    for d in policy.dimensions:
        env[d.id] = expr.Var("number")
    if with_lists:
        for lst in policy.lists:
            env[lst.id] = expr.Var("boolean")
    return env


@dataclass(frozen=True)
class LoadedPolicy:
    """A validated policy, its source text, the content hash, and its conditions parsed and typed."""

    policy: Policy
    text: str
    origin: str
    sha256: str
    conditions: dict[str, expr.Node] = field(default_factory=dict, compare=False)
    # The catalog it was validated against (a store's published catalog, or the shipped one): the compiler reads
    # record types and fields from it.
    catalog: Catalog | None = field(default=None, compare=False, repr=False)

    @property
    def record_catalog(self) -> Catalog:
        """The catalog the policy was validated against (the shipped one if none was named)."""
        return self.catalog or load_catalog()

    def condition(self, key: str) -> expr.Node | None:
        """Parsed condition by key: ``rule:<id>``, ``list:<list>.<criterion>``, ``service:<id>``."""
        return self.conditions.get(key)


# The largest policy file read, in bytes: as a policy published over HTTP (api/routes/scoring.py MAX_POLICY_BYTES).
MAX_POLICY_BYTES = 1024 * 1024


class _Problems:
    def __init__(self, doc: LocatedDoc) -> None:
        self.doc = doc
        self.items: list[str] = []
        self.items_zh: list[str] = []
        self.positions: list[tuple[int, int] | None] = []

    def error(self) -> PolicyError:
        return PolicyError(self.items, self.positions, self.items_zh)

    def number(self, path: tuple[str | int, ...], value: object) -> str:
        """A number of the policy as its file writes it (``99999999999999999999999``, ``1_000``, ``.inf``; not the
        ``1e+23`` its float prints), cut at 40 characters; as Python prints it where the file holds no plain value
        at ``path``."""
        written = self.doc.written(path)
        text = written if written is not None else str(value)
        return text if len(text) <= 40 else text[:39] + "…"

    def add(self, path: tuple[str | int, ...], message: str, zh: str | None = None) -> None:
        """A problem at ``path``, in English and in Chinese (``zh``; the English where it has no Chinese words)."""
        at = self.doc.position_of(path)  # the key at fault (or the item a missing key belongs in): line and column
        where = f"{self.doc.source}:{at[0]}:{at[1]}" if at else self.doc.source
        self.positions.append(at)
        owner = _owner(self.doc.data, path)
        rest = ".".join(str(p) for p in path[len(owner[1]) :]) if owner[0] else ".".join(map(str, path))
        parts = [where]
        if owner[0]:
            parts.append(owner[0])
        if rest:
            parts.append(rest)
        self.items.append(": ".join([*parts, message]))
        self.items_zh.append(": ".join([*parts, zh if zh is not None else message]))


def _owner(data: Any, path: tuple[str | int, ...]) -> tuple[str, tuple[str | int, ...]]:
    """Name the rule (or tier, list, criterion, service) a path lies in, e.g. 'rule tax.late'."""
    kinds = {"rules": "rule", "tiers": "tier", "dimensions": "dimension", "lists": "list", "services": "service"}
    if len(path) >= 2 and path[0] in kinds and isinstance(path[1], int) and isinstance(data, dict):
        items = data.get(str(path[0]))
        item = items[path[1]] if isinstance(items, list) and path[1] < len(items) else None
        ident = item.get("id") if isinstance(item, dict) else None
        label = f"{kinds[str(path[0])]} {_shown_id(ident)}" if ident else f"{kinds[str(path[0])]} #{path[1] + 1}"
        if path[0] == "lists" and len(path) >= 4 and path[2] == "criteria" and isinstance(path[3], int):
            crits = item.get("criteria") if isinstance(item, dict) else None
            crit = crits[path[3]] if isinstance(crits, list) and path[3] < len(crits) else None
            cid = crit.get("id") if isinstance(crit, dict) else None
            label += f" criterion {_shown_id(cid)}" if cid else f" criterion #{path[3] + 1}"
            return label, path[:4]
        return label, path[:2]
    return "", ()


def _shown_id(ident: object, limit: int = 64) -> str:
    """An item's id as a problem names it: as written when it is a short printable text, else quoted with its escapes
    and cut (an id with a newline broke the problem's line in two; one of 100 KB was repeated whole on every line)."""
    text = ident if isinstance(ident, str) else str(ident)
    if text.isprintable() and text == text.strip() and len(text) <= limit:
        return text
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


# What pydantic refuses of a policy's values, in both languages: its kind (``err["type"]``) → (English, Chinese)
_MUST = {
    "float_type": ("must be a number", "须为数字"),
    "float_parsing": ("must be a number", "须为数字"),
    "finite_number": ("must be a finite number", "须为有限的数字"),
    "int_type": ("must be a whole number", "须为整数"),
    "int_parsing": ("must be a whole number", "须为整数"),
    "int_from_float": ("must be a whole number", "须为整数"),
    "string_type": ("must be a text", "须为文字"),
    "bool_type": ("must be true or false", "须为 true 或 false"),
    "date_type": ("must be a date (YYYY-MM-DD)", "须为日期（YYYY-MM-DD）"),
    "list_type": ("must be a list", "须为列表"),
    "dict_type": ("must be a mapping of keys to values", "须为键值映射"),
    "model_type": ("must be a mapping of keys to values", "须为键值映射"),
}


def _pydantic_message(err: Any, lang: str = "en", written: str | None = None) -> str:
    """What pydantic refused, in ``lang``; a validator's own message is in English (it has no Chinese words yet). A
    number refused is quoted as ``written`` in the file (the YAML reader keeps it), not as Python prints it."""
    zh = lang == "zh"
    if err["type"] == "missing":
        return "缺少此项" if zh else "is required"
    if err["type"] == "extra_forbidden":
        return (
            "不是政策语言的键（见 docs/policy-language.md）"
            if zh
            else "is not a key of the policy language (see docs/policy-language.md)"
        )
    if err["type"] in _MUST:
        en_words, zh_words = _MUST[err["type"]]
        shown = written if written is not None and _is_number(err["input"]) else repr(err["input"])
        if zh:
            return f"{zh_words}，而不是 {shown}" + _exponent_hint(err["input"])
        return f"{en_words}, not {shown}" + _exponent_hint(err["input"])
    version = tuple(err["loc"]) == ("version",) and isinstance(err["input"], float)
    if err["type"] == "value_error" and version:  # check_version's words, with the number as written
        en_words, zh_words = version_in_quotes(written if written is not None else str(err["input"]), err["input"])
        return zh_words if zh else en_words

    if err["type"] == "literal_error":
        expected = str(err.get("ctx", {}).get("expected", "")).replace("'", "").replace(" or ", ", ")
        return f"{err['input']!r} 不是以下之一：{expected}" if zh else f"{err['input']!r} is not one of: {expected}"
    return str(err["msg"]).removeprefix("Value error, ")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _exponent_hint(value: object) -> str:
    """For a number YAML read as text because of its exponent (1e3, 1e-6: YAML 1.1 wants a dot and a signed
    exponent, 1.0e+3), how to write it; '' for anything else."""
    if not isinstance(value, str) or "e" not in value.lower():
        return ""
    try:
        number = decimal.Decimal(value.strip())
    except decimal.InvalidOperation:
        return ""
    if not number.is_finite():
        return ""
    if math.isinf(float(number)):  # written as YAML wants, it would be read as infinity, and refused as that
        return f" (YAML reads {value} as text, and no number of a policy is that large)"
    written = format(number, "f")
    if len(written) > 24:  # YAML's own form: a dot in the mantissa and a signed exponent
        mantissa, exponent = format(number, "e").split("e")
        written = f"{mantissa if '.' in mantissa else mantissa + '.0'}e{exponent}"
    return f" (YAML reads {value} as text: write {written})"


def parse_policy(
    text: str, origin: str = "<policy>", catalog: Catalog | None = None, *, published: bool = False
) -> LoadedPolicy:
    """Validate a policy given as YAML text; raise PolicyError listing every problem, located.

    ``published``: the text of a version a store already holds, read back: a calculation of whole numbers that can
    pass 18 digits is not refused in it (versions published before that check keep loading, and run as they ran:
    only a record past the bound fails the run); a policy being published is held to every check."""
    catalog = catalog or load_catalog()
    try:
        doc = load_located(text, origin)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = (mark.line + 1, mark.column + 1) if mark is not None else None
        if at is None and isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not take: its place
            before = text[: exc.position]
            at = (before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1)
        raise PolicyError([yaml_problem(exc, origin, text)], [at], [yaml_problem(exc, origin, text, "zh")]) from None
    problems = _Problems(doc)
    if not isinstance(doc.data, dict):
        line, column = doc.position_of(()) or (1, 1)
        raise PolicyError(
            [f"{origin}:{line}:{column}: a policy must be a mapping with id, version, scale, tiers, ..."],
            [(line, column)],
        )
    read_back = expr.READ_BACK.set(published)
    try:
        return _validated(doc, text, origin, catalog, problems, published)
    finally:
        expr.READ_BACK.reset(read_back)


def _validated(
    doc: LocatedDoc, text: str, origin: str, catalog: Catalog, problems: _Problems, published: bool
) -> LoadedPolicy:
    try:
        policy = Policy.model_validate(doc.data)
    except ValidationError as exc:
        for err in exc.errors():
            # "[key]" marks a bad key of a mapping (a severity class): the key's own path locates it
            loc = tuple(
                p for p in err["loc"] if not (isinstance(p, str) and (p.startswith("function-") or p == "[key]"))
            )
            written = problems.doc.written(loc)
            cut = written if written is None or len(written) <= 40 else written[:39] + "…"
            problems.add(loc, _pydantic_message(err, written=cut), _pydantic_message(err, "zh", cut))
        raise problems.error() from None
    conditions = _check_semantics(policy, catalog, problems, bound_whole=not published)
    if not published:  # a version a store holds from before is read back as it was accepted
        for j, t in enumerate(policy.tiers):
            if t.min > policy.scale.max:
                low, top = (
                    problems.number(("tiers", j, "min"), t.min),
                    problems.number(("scale", "max"), policy.scale.max),
                )
                problems.add(
                    ("tiers", j, "min"),
                    f"{low} is above the scale maximum {top}: no score reaches this tier",
                    f"{low} 高于分数上限 {top}：任何分数都达不到这一等级",
                )
        _check_bounds(policy, problems)
        _check_reach(policy, conditions, problems)
    if problems.items:
        raise problems.error()
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return LoadedPolicy(policy=policy, text=text, origin=origin, sha256=digest, conditions=conditions, catalog=catalog)


def _repeats(ids: list[str]) -> list[int]:
    """Positions of every value that already occurred earlier in the list."""
    seen: set[str] = set()
    out = []
    for j, value in enumerate(ids):
        if value in seen:
            out.append(j)
        seen.add(value)
    return out


def _check_semantics(
    policy: Policy, catalog: Catalog, problems: _Problems, *, bound_whole: bool = True
) -> dict[str, expr.Node]:
    p = policy
    conditions: dict[str, expr.Node] = {}
    tiers = p.tier_ids()

    def cond(key: str, text: str | None, env: dict[str, expr.Var], path: tuple[str | int, ...]) -> None:
        if text is None:
            return
        try:
            conditions[key] = expr.check(expr.parse(text), env, text=text, tiers=tiers, bound_whole=bound_whole)
        except ExpressionError as exc:
            problems.add(path, str(exc), exc.zh)

    if not (p.scale.min <= p.scale.base <= p.scale.max):
        base, low, top = (problems.number(("scale", k), getattr(p.scale, k)) for k in ("base", "min", "max"))
        problems.add(
            ("scale",),
            f"base {base} must lie between min {low} and max {top}",
            f"基准分 {base} 须在最低分 {low} 与最高分 {top} 之间",
        )
    # Each repeat is reported where it stands (the second and later occurrences), so the line points at it.
    for section, ids in (
        ("tiers", [t.id for t in p.tiers]),
        ("dimensions", [d.id for d in p.dimensions]),
        ("rules", [r.id for r in p.rules]),
        ("lists", [lst.id for lst in p.lists]),
        ("services", [s.id for s in p.services]),
    ):
        for j in _repeats(ids):
            problems.add((section, j), f"id {ids[j]!r} is used more than once", f"id {ids[j]!r} 被使用了不止一次")
    codes = [r.reason.code for r in p.rules]
    for j in _repeats(codes):
        problems.add(
            ("rules", j, "reason", "code"),
            f"reason code {codes[j]!r} is used by more than one rule",
            f"原因代码 {codes[j]!r} 被不止一条规则使用",
        )
    if not p.tiers:
        problems.add(("tiers",), "at least one tier is required", "至少须有一个等级")
    elif min(t.min for t in p.tiers) > p.scale.min:
        low = problems.number(("scale", "min"), p.scale.min)
        problems.add(
            ("tiers",),
            f"the lowest tier must start at or below the scale minimum {low}",
            f"最低等级的起点须不高于分数下限 {low}",
        )
    mins = [str(t.min) for t in p.tiers]
    for j in _repeats(mins):
        start = problems.number(("tiers", j, "min"), p.tiers[j].min)
        problems.add(("tiers", j, "min"), f"two tiers start at {start}", f"两个等级都从 {start} 起")
    dims = {d.id for d in p.dimensions}
    for i, d in enumerate(p.dimensions):
        if d.min is not None and d.max is not None and d.min > d.max:
            low, top = (
                problems.number(("dimensions", i, "min"), d.min),
                problems.number(("dimensions", i, "max"), d.max),
            )
            problems.add(("dimensions", i), f"min {low} is greater than max {top}", f"最小值 {low} 大于最大值 {top}")
        if d.id in SUBJECT_FACTS or d.id == "profession":
            problems.add(("dimensions", i, "id"), f"{d.id!r} is a reserved name", f"{d.id!r} 是保留的名称")
        elif not expr.is_name(d.id):
            problems.add(("dimensions", i, "id"), _not_a_name(d.id, "dimension"))
    for cat in p.consent.categories:
        if cat not in catalog.categories:
            problems.add(("consent", "categories"), f"unknown data category {cat!r}", f"未知的数据类别 {cat!r}")
    _check_due_process(p, problems)
    for i, r in enumerate(p.rules):
        path: tuple[str | int, ...] = ("rules", i)
        rt = catalog.record_types.get(r.record_type)
        if rt is None:
            problems.add((*path, "record_type"), *_unknown("record type", "记录类型", r.record_type))
        else:
            cond(f"rule:{r.id}", r.when, record_env(rt.fields), (*path, "when"))
        if r.dimension not in dims:
            problems.add((*path, "dimension"), *_unknown("dimension", "维度", r.dimension))
        for prof in r.professions or []:
            if prof not in catalog.professions:
                problems.add((*path, "professions"), *_unknown("profession", "职业", prof))
        if r.professions is not None and not r.professions:
            # [] read as "no restriction": the rule applied to everyone, where its author may have meant no one
            problems.add(
                (*path, "professions"),
                "name at least one profession, or leave 'professions' out for everyone",
                "请至少列出一种职业；如适用于所有人，请省略 'professions'",
            )
        if r.points == 0:
            problems.add(
                (*path, "points"), "a rule must give or take points; 0 does nothing", "规则须加分或减分；0 不起作用"
            )
        elif not MIN_POINTS <= abs(r.points) <= MAX_POINTS:  # also NaN and infinity
            shown = problems.number((*path, "points"), r.points)
            problems.add(
                (*path, "points"),
                f"points are counted in millionths of a point, from 0.000001 to {MAX_POINTS:,} either way; "
                f"{shown} is out of range",
                f"分数以百万分之一分计，正负均须在 0.000001 至 {MAX_POINTS:,} 之间；{shown} 超出范围",
            )
    facts = subject_env(p, catalog, with_lists=False)
    for i, lst in enumerate(p.lists):
        crit_ids = [c.id for c in lst.criteria]
        for j in _repeats(crit_ids):
            problems.add(
                ("lists", i, "criteria", j),
                f"criterion id {crit_ids[j]!r} is used more than once",
                f"条件 id {crit_ids[j]!r} 被使用了不止一次",
            )
        if lst.id in facts:
            problems.add(("lists", i, "id"), f"{lst.id!r} is a reserved name", f"{lst.id!r} 是保留的名称")
        elif not expr.is_name(lst.id):
            problems.add(("lists", i, "id"), _not_a_name(lst.id, "list"))
        for j, c in enumerate(lst.criteria):
            path = ("lists", i, "criteria", j)
            if sum(x is not None for x in (c.when, c.record, c.via)) != 1:
                problems.add(
                    path,
                    "a criterion needs exactly one of 'when' (on the score), 'record' or 'via'",
                    "一个条件须恰好有 'when'（关于分数）、'record' 或 'via' 之一",
                )
                continue
            if c.via is not None:
                _check_relation(p, lst.id, c.via, (*path, "via"), problems, catalog)
                continue
            if c.when is not None:
                cond(f"list:{lst.id}.{c.id}", c.when, facts, (*path, "when"))
            elif c.record is not None:
                rt = catalog.record_types.get(c.record.record_type)
                if rt is None:
                    problems.add(
                        (*path, "record", "record_type"), *_unknown("record type", "记录类型", c.record.record_type)
                    )
                else:
                    env = record_env(rt.fields)
                    cond(f"list:{lst.id}.{c.id}", c.record.when or "true", env, (*path, "record", "when"))
    if len(p.services) > MAX_SERVICES:
        problems.add(
            ("services",),
            f"a policy offers at most {MAX_SERVICES} services (a subject's grants are the bits of one 64-bit "
            f"number); this one offers {len(p.services)}",
        )
    service_env = subject_env(p, catalog, with_lists=True)
    for i, s in enumerate(p.services):
        cond(f"service:{s.id}", s.grant_if, service_env, ("services", i, "grant_if"))
    if p.exchange is not None:
        for i, t in enumerate(p.exchange.shareable_record_types):
            if t not in catalog.record_types:
                problems.add(("exchange", "shareable_record_types", i), *_unknown("record type", "记录类型", t))
        list_ids = [lst.id for lst in p.lists]
        for i, name in enumerate(p.exchange.lists):
            if name not in list_ids:
                problems.add(
                    ("exchange", "lists", i),
                    f"unknown list {name!r}; lists: {', '.join(list_ids)}",
                    f"未知的名单 {name!r}；名单：{', '.join(list_ids)}",
                )
    return conditions


def _check_bounds(p: Policy, problems: _Problems) -> None:
    """A rule's cap and a dimension's min and max are points, within MAX_POINTS either way as a rule's points are
    (a cap of 10^23 was accepted). Checked when a policy is checked or published; a version a store holds from
    before is read back as it was accepted."""
    for i, r in enumerate(p.rules):
        if r.cap is not None and r.cap > MAX_POINTS:  # a cap is above 0 (the model)
            shown = problems.number(("rules", i, "cap"), r.cap)
            problems.add(
                ("rules", i, "cap"),
                f"a cap is counted in points, at most {MAX_POINTS:,} as a rule's points are; {shown} is out of range",
                f"上限以分计，与规则的分数一样至多为 {MAX_POINTS:,}；{shown} 超出范围",
            )
    for i, d in enumerate(p.dimensions):
        for key, value in (("min", d.min), ("max", d.max)):
            if value is not None and abs(value) > MAX_POINTS:
                shown = problems.number(("dimensions", i, key), value)
                problems.add(
                    ("dimensions", i, key),
                    f"a dimension's {key} is counted in points, from -{MAX_POINTS:,} to {MAX_POINTS:,} as a rule's "
                    f"points are; {shown} is out of range",
                    f"维度的 {key} 以分计，与规则的分数一样须在 -{MAX_POINTS:,} 至 {MAX_POINTS:,} 之间；"
                    f"{shown} 超出范围",
                )


# The facts of a subject whose values a list criterion's condition is judged on (``_check_reach``): a percentile is
# a number of hundredths from 0 to 100 (compiler/plan.py), a rank a 32-bit integer from 1.
_RANK = reach.Domain(1, 2**31 - 1)
_PERCENTILE = reach.Domain(0, 10_000, 100)


def _check_reach(p: Policy, conditions: dict[str, expr.Node], problems: _Problems) -> None:
    """A list criterion on the score (or the rank, the percentile) that no value of it can meet is refused: it
    would put no one on the list (``score < 0`` on a scale from 0). A condition that reads other things, or
    calculates, is not judged (policy/reach.py) and is accepted."""
    low, top = problems.number(("scale", "min"), p.scale.min), problems.number(("scale", "max"), p.scale.max)
    domains = {"score": reach.Domain(p.scale.min, p.scale.max), "rank": _RANK, "percentile": _PERCENTILE}
    if p.scale.min > p.scale.max:  # the scale is refused on its own; a criterion on the score is not judged on it
        del domains["score"]
    ranges = {
        "score": (f"a score lies on the scale, from {low} to {top}", f"分数位于分数范围内，从 {low} 到 {top}"),
        "rank": (f"a rank is from 1 to {_RANK.last:,}", f"名次从 1 到 {_RANK.last:,}"),
        "percentile": ("a percentile is from 0 to 100", "百分位从 0 到 100"),
    }
    for i, lst in enumerate(p.lists):
        for j, c in enumerate(lst.criteria):
            node = conditions.get(f"list:{lst.id}.{c.id}")
            if c.when is None or node is None or reach.meets(node, domains) is not False:
                continue
            read = [name for name in ranges if name in expr.names_in(node)]
            condition = repr(c.when) if len(repr(c.when)) <= 120 else repr(c.when)[:119] + "…"
            problems.add(
                ("lists", i, "criteria", j, "when"),
                f"no subject can meet {condition}: {'; '.join(ranges[n][0] for n in read)}; the criterion would put "
                "no one on the list",
                f"没有任何对象能满足 {condition}：{'；'.join(ranges[n][1] for n in read)}；此条件不会将任何人列入名单",
            )


def _unknown(kind: str, kind_zh: str, name: str) -> tuple[str, str]:
    """A name the catalog or the policy does not have, in English and Chinese: ``unknown record type 'x'``."""
    return f"unknown {kind} {name!r}", f"未知的{kind_zh} {name!r}"


def _not_a_name(ident: str, kind: str) -> str:
    """Why a dimension's or a list's id cannot be named in a condition (conditions on subjects name them)."""
    why = "has a '.'" if "." in ident else "is a word of the condition language"
    return (
        f"{ident!r} {why}, so no condition could name the {kind}: a {kind}'s id is a name in conditions on "
        "subjects (letters, digits and '_'; not and, or, not, in, is, null, true, false, date)"
    )


def _check_relation(
    p: Policy, list_id: str, via: Relation, path: tuple[str | int, ...], problems: _Problems, catalog: Catalog
) -> None:
    """A relation names a list of the policy whose own criteria do not follow relations (one step, no cycle)."""
    if RELATION_RECORD_TYPE not in catalog.record_types:
        problems.add(
            path,
            f"the catalog has no record type {RELATION_RECORD_TYPE!r}: relations cannot be followed",
            f"目录中没有记录类型 {RELATION_RECORD_TYPE!r}：无法沿关系追溯",
        )
        return
    if p.kind != "all":
        # Under kind: person no organisation is scored, so none is on a list; under kind: org no person is: the
        # criterion was accepted and silently never held.
        problems.add(
            path,
            f"a relation lists persons through organisations on a list, so the policy must score both (kind: all, "
            f"not {p.kind})",
            f"关系经由名单上的组织将个人列入名单，因此政策须对两者都评分（kind: all，而不是 {p.kind}）",
        )
        return
    target = next((x for x in p.lists if x.id == via.list), None)
    if target is None:
        lists = ", ".join(x.id for x in p.lists)
        problems.add(
            (*path, "list"), f"unknown list {via.list!r}; lists: {lists}", f"未知的名单 {via.list!r}；名单：{lists}"
        )
        return
    own = {c.id: c for c in target.criteria}
    for j, cid in enumerate(via.criteria or []):
        if cid not in own:
            problems.add(
                (*path, "criteria", j),
                f"list {via.list!r} has no criterion {cid!r}; criteria: {', '.join(own)}",
                f"名单 {via.list!r} 没有条件 {cid!r}；条件：{', '.join(own)}",
            )
        elif own[cid].via is not None:
            problems.add(
                (*path, "criteria", j),
                f"criterion {cid!r} of list {via.list!r} follows a relation itself: a relation follows one step",
                f"名单 {via.list!r} 的条件 {cid!r} 本身沿关系追溯：关系只追溯一步",
            )
    if via.criteria is not None and not via.criteria:
        problems.add(
            (*path, "criteria"),
            "name at least one criterion, or leave 'criteria' out to follow them all",
            "请至少写出一个条件，或省略 'criteria' 以沿用全部条件",
        )
    if all(c.via is not None for c in target.criteria):
        problems.add(
            (*path, "list"),
            f"list {via.list!r} is entered only through relations: a relation follows one step, to an organisation "
            "on a list by its own criteria (a person -> organisation -> person cycle is refused)",
            f"名单 {via.list!r} 只能经由关系进入：关系只追溯一步，追溯到因其自身条件而在名单上的组织（个人 -> 组织 -> "
            "个人的循环不被接受）",
        )
    for j in _repeats(list(via.roles)):
        problems.add(
            (*path, "roles", j),
            f"role {via.roles[j]!r} is named more than once",
            f"角色 {via.roles[j]!r} 被写了不止一次",
        )


def _unknown_severity(severity: str, defined: str) -> tuple[str, str]:
    """A rule's or criterion's severity that is no class of the policy's, in English and Chinese."""
    return (
        f"severity {severity!r} is not in severities ({defined})",
        f"严重程度 {severity!r} 不在 severities 中（{defined}）",
    )


def _check_due_process(p: Policy, problems: _Problems) -> None:
    """Severity classes, dispute deadlines, notice and grace, public fields."""
    for name, cls in p.severities.items():
        if cls.min_publication_days > cls.max_publication_days:
            low = problems.number(("severities", name, "min_publication_days"), cls.min_publication_days)
            top = problems.number(("severities", name, "max_publication_days"), cls.max_publication_days)
            problems.add(
                ("severities", name, "min_publication_days"),
                f"{low} is more than max_publication_days {top}",
                f"{low} 大于 max_publication_days {top}",
            )
    if p.severities:
        defined = ", ".join(p.severities)
        for i, r in enumerate(p.rules):
            if r.severity is not None and r.severity not in p.severities:
                problems.add(("rules", i, "severity"), *_unknown_severity(r.severity, defined))
        for i, lst in enumerate(p.lists):
            for j, c in enumerate(lst.criteria):
                if c.severity is not None and c.severity not in p.severities:
                    problems.add(("lists", i, "criteria", j, "severity"), *_unknown_severity(c.severity, defined))
    if p.disputes.extended_answer_days < p.disputes.answer_days:
        extended = problems.number(("disputes", "extended_answer_days"), p.disputes.extended_answer_days)
        answer = problems.number(("disputes", "answer_days"), p.disputes.answer_days)
        problems.add(
            ("disputes", "extended_answer_days"),
            f"{extended} is less than answer_days {answer}",
            f"{extended} 小于 answer_days {answer}",
        )
    for i, lst in enumerate(p.lists):
        if lst.kind == "red" and lst.grace_days:
            problems.add(
                ("lists", i, "grace_days"), "notice and grace apply to blacklists only", "告知宽限期只适用于失信名单"
            )
        for j in _repeats(list(lst.public_fields)):
            named = lst.public_fields[j]
            problems.add(
                ("lists", i, "public_fields", j), f"{named!r} is named more than once", f"{named!r} 被写了不止一次"
            )


def load_policy(path: Path | str, catalog: Catalog | None = None) -> LoadedPolicy:
    """Load and validate a policy file."""
    path = Path(path)
    try:
        # At most MAX_POLICY_BYTES are read, as over HTTP (POST /v1/policies): a file of any size was read whole.
        with path.open("rb") as fh:
            data = fh.read(MAX_POLICY_BYTES + 1)
            if len(data) > MAX_POLICY_BYTES:
                size = os.fstat(fh.fileno()).st_size
                over = f"{size:,} bytes" if size > MAX_POLICY_BYTES else f"more than {MAX_POLICY_BYTES:,} bytes"
                raise PolicyError(
                    [f"{path}: the policy file is {over}; a policy is at most 1 MiB ({MAX_POLICY_BYTES:,} bytes)"]
                )
        text = data.decode("utf-8")
    except OSError as exc:
        raise PolicyError([f"{path}: cannot read the policy file: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise PolicyError([f"{path}: the policy file is not UTF-8 text"]) from None
    return parse_policy(text, str(path), catalog)


@lru_cache(maxsize=8)
def builtin_policy(policy_id: str) -> LoadedPolicy:
    """One of the policies shipped inside the package."""
    if policy_id not in BUILTIN_POLICIES:
        raise NotFoundError(f"no shipped policy {policy_id!r}; shipped: {', '.join(BUILTIN_POLICIES)}")
    text = resources.files("socialcredit.policies").joinpath(f"{policy_id}.yaml").read_text("utf-8")
    return parse_policy(text, f"socialcredit/policies/{policy_id}.yaml")
