"""A linkage model as data: the columns compared, how each is standardised, the comparisons and their levels, the
blocking rules, the training and the thresholds, read from a YAML file (docs/linkage.md).

``load_model`` parses and validates a file (``parse_model`` a mapping); every refusal is a ``LinkModelError`` whose
message starts with the path of the value at fault, e.g. ``comparisons[2].levels[1]: unknown kind 'jarowinkler';
known: ...``. Nothing in the file is SQL run as written: standardisations are named steps, and an expression in a
blocking rule is parsed with sqlglot and accepted only if it reads declared columns through a few string functions.
``splink_settings`` turns a model into Splink's ``SettingsCreator``; ``regions/linkage.py`` runs it.

    >>> model = load_model(DEFAULT_MODEL)
    >>> [c.name for c in model.comparisons][:3]
    ['id17', 'name', 'dob']
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlglot
import yaml
from sqlglot import exp

from socialcredit.errors import LimitError, LinkModelError
from socialcredit.yamlsrc import load_located

__all__ = [
    "DEFAULT_MODEL",
    "LEVEL_KINDS",
    "STEPS",
    "TYPES",
    "Column",
    "Comparison",
    "Level",
    "LinkModel",
    "block_rule",
    "load_model",
    "parse_model",
    "splink_settings",
]

DEFAULT_MODEL = Path(__file__).parent / "models" / "residents.yaml"
TYPES = ("string", "date", "integer", "number")
# Level kinds and the parameter each takes (None: no parameter).
LEVEL_KINDS: dict[str, str | None] = {
    "null": None,
    "exact": None,
    "levenshtein": "max",
    "damerau_levenshtein": "max",
    "jaro_winkler": "min",
    "jaro": "min",
    "jaccard": "min",
    "date_within": "days",
    "difference_within": "max",
    "columns_reversed": "other",
    "all": "of",
}
# Standardisation steps; those with a parameter are written as a one-key mapping ({first: 17}).
STEPS: dict[str, str | None] = {
    "strip": None,
    "lower": None,
    "upper": None,
    "digits_only": None,
    "letters_only": None,
    "alnum_only": None,
    "remove_spaces": None,
    "collapse_spaces": None,
    "sort_chars": None,
    "split_sort": None,
    "pinyin": None,
    "pinyin_surname": None,
    "soundex": None,
    "first": "a count of characters (an integer >= 1)",
    "substr": "[start, length] (integers >= 1)",
    "pieces": "a list of [start, length]",
    "remove": "a regular expression",
}
_PY_STEPS = ("pinyin", "pinyin_surname", "soundex")  # computed in Python from an input column
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# What an expression in a blocking rule may be built from: declared columns, literals and a few string functions.
_EXPR_NODES = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Paren,
    exp.Substring,
    exp.Lower,
    exp.Upper,
    exp.Trim,
    exp.Left,
    exp.Right,
    exp.Length,
    exp.DPipe,
    exp.Concat,
    exp.Neg,
)


@dataclass(frozen=True)
class Column:
    """A column the model compares: read from ``source`` (an input column, or a column declared before it)."""

    name: str
    source: str
    type: str = "string"
    formats: tuple[str, ...] = ()
    output_format: str = "%Y-%m-%d"
    pattern: str | None = None
    mismatch: str = "null"  # what becomes of a value that does not fit the pattern: "null" or "keep" (reported)
    steps: tuple[tuple[str, Any], ...] = ()
    optional: bool = False

    @property
    def reads_input(self) -> bool:
        """A step computed in Python (pinyin, soundex) reads the input column ``source``, even when a column of that
        name is declared."""
        return bool(self.steps) and self.steps[0][0] in _PY_STEPS


@dataclass(frozen=True)
class Level:
    kind: str
    column: str
    value: Any = None
    term_frequency: bool = False
    label: str = ""


@dataclass(frozen=True)
class Comparison:
    name: str
    levels: tuple[Level, ...]  # the null level first, then from the strongest agreement down (else is implied)

    @property
    def agreeing(self) -> tuple[Level, ...]:
        return tuple(lv for lv in self.levels if lv.kind != "null")


Rule = tuple[str, ...]


@dataclass(frozen=True)
class LinkModel:
    id: str
    columns: tuple[Column, ...]
    comparisons: tuple[Comparison, ...]
    blocking: tuple[Rule, ...]
    prior_rules: tuple[Rule, ...]
    prior_recall: float
    em_rules: tuple[Rule, ...]
    u_max_pairs: float = 2e6
    em_max_pairs: float = 1e6
    seed: int = 1
    link: float = 0.99
    review: float = 0.5
    one_to_one: bool = False
    requires_any: dict[str, int] = field(default_factory=dict)
    source: str = "<model>"

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def inputs(self) -> list[str]:
        """The input columns the model reads (the id first)."""
        declared: set[str] = set()
        out = [self.id]
        for c in self.columns:
            if (c.source not in declared or c.reads_input) and c.source not in out:
                out.append(c.source)
            declared.add(c.name)
        return out


class _Reader:
    """Reads one mapping, naming the path of every value it refuses."""

    def __init__(self, data: Any, path: str) -> None:
        self.path = path
        if not isinstance(data, dict):
            raise LinkModelError(f"{path or 'the model'}: expected a mapping, got {_kind(data)}")
        self.data = data
        self.used: set[str] = set()

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str, default: Any = None, required: bool = False) -> Any:
        self.used.add(key)
        if key not in self.data or self.data[key] is None:
            if required:
                raise LinkModelError(f"{self.at(key)}: required")
            return default
        return self.data[key]

    def string(self, key: str, default: str | None = None, required: bool = False) -> Any:
        value = self.get(key, default, required)
        if value is not None and not isinstance(value, str):
            raise LinkModelError(f"{self.at(key)}: expected a string, got {_kind(value)}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.get(key, default)
        if not isinstance(value, bool):
            raise LinkModelError(f"{self.at(key)}: expected true or false, got {_kind(value)}")
        return value

    def number(self, key: str, default: float | None, low: float, high: float, integer: bool = False) -> Any:
        value = self.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
            raise LinkModelError(
                f"{self.at(key)}: expected {'an integer' if integer else 'a number'}, got {_kind(value)}"
            )
        if not low <= value <= high:
            raise LinkModelError(f"{self.at(key)}: {value} is out of range [{low:g}, {high:g}]")
        return value

    def items(self, key: str, required: bool = False) -> list[Any]:
        value = self.get(key, [], required)
        if not isinstance(value, list):
            raise LinkModelError(f"{self.at(key)}: expected a list, got {_kind(value)}")
        if required and not value:
            raise LinkModelError(f"{self.at(key)}: must not be empty")
        return value

    def done(self) -> None:
        unknown = [str(k) for k in self.data if str(k) not in self.used]
        if unknown:
            raise LinkModelError(f"{self.at(unknown[0])}: unknown key; known: {', '.join(sorted(self.used))}")


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "an integer"}.get(
        type(value), type(value).__name__
    )


def _name(value: Any, path: str) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise LinkModelError(
            f"{path}: {value!r} is not a valid name (lower-case letters, digits and _, starting with a letter)"
        )
    return value


def _step(raw: Any, path: str) -> tuple[str, Any]:
    if isinstance(raw, dict) and len(raw) == 1:
        ((name, value),) = raw.items()
    elif isinstance(raw, str):
        name, value = raw, None
    else:
        raise LinkModelError(f"{path}: expected a step name or a one-key mapping, got {_kind(raw)}")
    if name not in STEPS:
        raise LinkModelError(f"{path}: unknown step {name!r}; known: {', '.join(STEPS)}")
    need = STEPS[name]
    if need is None:
        if value is not None:
            raise LinkModelError(f"{path}: the step {name!r} takes no value")
        return name, None
    if name == "first":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise LinkModelError(f"{path}.{name}: expected {need}, got {value!r}")
        return name, value
    if name == "remove":
        if not isinstance(value, str):
            raise LinkModelError(f"{path}.{name}: expected {need}, got {_kind(value)}")
        _regex(value, f"{path}.{name}")
        return name, value
    pieces = [value] if name == "substr" else value
    if not isinstance(pieces, list) or not pieces:
        raise LinkModelError(f"{path}.{name}: expected {need}")
    for piece in pieces:
        ok = isinstance(piece, list) and len(piece) == 2
        if not ok or any(isinstance(x, bool) or not isinstance(x, int) or x < 1 for x in piece):
            raise LinkModelError(f"{path}.{name}: expected {need}, got {piece!r}")
    return name, tuple(tuple(p) for p in pieces)


def _regex(value: str, path: str) -> None:
    try:
        re.compile(value)
    except re.error as exc:
        raise LinkModelError(f"{path}: {value!r} is not a regular expression ({exc})") from None
    if len(value) > 500:
        raise LinkModelError(f"{path}: a regular expression of at most 500 characters")


def _column(raw: Any, path: str, declared: dict[str, Column]) -> Column:
    r = _Reader(raw, path)
    name = _name(r.get("name", required=True), r.at("name"))
    if name in declared:
        raise LinkModelError(f"{r.at('name')}: the column {name!r} is declared twice")
    source = r.string("from", name)
    if not source or len(source) > 200:
        raise LinkModelError(f"{r.at('from')}: expected a column name")
    type_ = r.string("type", "string")
    if type_ not in TYPES:
        raise LinkModelError(f"{r.at('type')}: unknown type {type_!r}; known: {', '.join(TYPES)}")
    fmt = r.get("format")
    formats: tuple[str, ...] = ()
    if fmt is not None:
        if type_ != "date":
            raise LinkModelError(f"{r.at('format')}: only a date has a format (the column is a {type_})")
        fmts = [fmt] if isinstance(fmt, str) else fmt
        if not isinstance(fmts, list) or not fmts or not all(isinstance(f, str) and "%" in f for f in fmts):
            raise LinkModelError(f"{r.at('format')}: expected a strptime format such as '%Y-%m-%d', or a list of them")
        formats = tuple(fmts)
    out_fmt = r.string("output_format", "%Y-%m-%d")
    if type_ != "date" and "output_format" in r.data:
        raise LinkModelError(f"{r.at('output_format')}: only a date has an output format")
    pattern = r.string("pattern")
    if pattern is not None:
        _regex(pattern, r.at("pattern"))
    mismatch = r.string("mismatch", "null")
    if mismatch not in ("null", "keep"):
        raise LinkModelError(f"{r.at('mismatch')}: expected 'null' or 'keep', got {mismatch!r}")
    steps = tuple(_step(s, f"{r.at('standardise')}[{i}]") for i, s in enumerate(r.items("standardise")))
    for i, (step, _) in enumerate(steps):
        if step in _PY_STEPS and i != 0:
            raise LinkModelError(f"{r.at('standardise')}[{i}]: {step!r} must be the first step")
    if steps and type_ in ("integer", "number"):
        raise LinkModelError(f"{r.at('standardise')}: standardisations apply to strings and dates, not a {type_}")
    optional = r.boolean("optional", False)
    r.done()
    return Column(name, source, type_, formats, out_fmt, pattern, mismatch, steps, optional)


def _level(raw: Any, path: str, comparison: str, columns: dict[str, Column]) -> Level:
    r = _Reader(raw, path)
    kind = r.string("kind", required=True)
    if kind not in LEVEL_KINDS:
        raise LinkModelError(f"{path}: unknown kind {kind!r}; known: {', '.join(LEVEL_KINDS)}")
    column = r.string("column", comparison)
    if column not in columns:
        raise LinkModelError(f"{r.at('column')}: no column {column!r} is declared; declared: {', '.join(columns)}")
    ctype = columns[column].type
    param = LEVEL_KINDS[kind]
    value: Any = None
    if param == "max":
        integer = kind != "difference_within"
        value = r.number("max", None, 0, 1e12, integer=integer) if "max" in r.data else r.get("max", required=True)
    elif param == "min":
        value = r.number("min", None, 0.0, 1.0) if "min" in r.data else r.get("min", required=True)
    elif param == "days":
        value = r.number("days", None, 0, 1e6, integer=True) if "days" in r.data else r.get("days", required=True)
    elif param == "other":
        value = r.string("other", required=True)
        if value not in columns:
            raise LinkModelError(f"{r.at('other')}: no column {value!r} is declared")
    elif param == "of":
        parts = r.items("of", required=True)
        if len(parts) < 2:
            raise LinkModelError(f"{r.at('of')}: all needs at least two levels that must all agree")
        subs = []
        for i, sub in enumerate(parts):
            where = f"{r.at('of')}[{i}]"
            if isinstance(sub, dict) and "column" not in sub:
                sub = {**sub, "column": column}
            level = _level(sub, where, comparison, columns)
            if level.kind in ("null", "all") or level.term_frequency:
                raise LinkModelError(f"{where}: a part of all is a plain level (not null, all or term frequencies)")
            subs.append(level)
        value = tuple(subs)
    if kind in ("levenshtein", "damerau_levenshtein", "jaro_winkler", "jaro", "jaccard") and ctype not in (
        "string",
        "date",
    ):
        raise LinkModelError(f"{r.at('kind')}: {kind} compares strings; the column {column!r} is a {ctype}")
    if kind == "date_within" and ctype != "date":
        raise LinkModelError(f"{r.at('kind')}: date_within compares dates; the column {column!r} is a {ctype}")
    if kind == "difference_within" and ctype not in ("integer", "number"):
        raise LinkModelError(f"{r.at('kind')}: difference_within compares numbers; the column {column!r} is a {ctype}")
    tf = r.boolean("term_frequency", False)
    if tf and kind != "exact":
        raise LinkModelError(f"{r.at('term_frequency')}: term-frequency adjustment applies to an exact level")
    label = r.string("label", "")
    r.done()
    if not label and kind != "null":
        exact = kind == "exact" or (kind == "all" and all(lv.kind == "exact" for lv in value))
        label = f"{comparison}=" if exact else f"{comparison}~"
    return Level(kind, column, value, tf, label)


def _comparison(raw: Any, path: str, columns: dict[str, Column]) -> Comparison:
    r = _Reader(raw, path)
    name = _name(r.get("name", required=True), r.at("name"))
    default_column = r.string("column", name)
    if default_column not in columns:
        raise LinkModelError(
            f"{r.at('column')}: no column {default_column!r} is declared; declared: {', '.join(columns)}"
        )
    levels = []
    for i, lv in enumerate(r.items("levels", required=True)):
        if isinstance(lv, dict) and "column" not in lv:
            lv = {**lv, "column": default_column}
        level = _level(lv, f"{r.at('levels')}[{i}]", name, columns)
        if level.kind == "null" and i != 0:
            raise LinkModelError(f"{r.at('levels')}[{i}]: a null level comes first")
        levels.append(level)
    r.done()
    if levels[0].kind != "null":
        levels.insert(0, Level("null", default_column))
    if len(levels) < 2:
        raise LinkModelError(f"{r.at('levels')}: needs at least one level besides null")
    return Comparison(name, tuple(levels))


def check_expression(text: str, path: str, columns: set[str]) -> str:
    """An expression in a blocking rule: a declared column, or string functions of declared columns."""
    try:
        tree = sqlglot.parse_one(text, read="duckdb")
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else "syntax error"
        raise LinkModelError(f"{path}: {text!r} does not parse ({first})") from None
    for node in tree.walk():
        if not isinstance(node, _EXPR_NODES):
            raise LinkModelError(
                f"{path}: {text!r}: {type(node).__name__.lower()} is not allowed; a rule reads declared columns "
                "through substr, left, right, lower, upper, trim, length and ||"
            )
        if isinstance(node, exp.Column) and (node.table or node.name not in columns):
            raise LinkModelError(f"{path}: {text!r} reads {node.sql()!r}, which is not a declared column")
    return tree.sql(dialect="duckdb")


def _rules(raw: Any, path: str, columns: set[str], required: bool) -> tuple[Rule, ...]:
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise LinkModelError(f"{path}: expected a list of rules, got {_kind(raw)}")
    if required and not raw:
        raise LinkModelError(f"{path}: needs at least one rule")
    out = []
    for i, rule in enumerate(raw):
        items = [rule] if isinstance(rule, str) else rule
        if not isinstance(items, list) or not items:
            raise LinkModelError(f"{path}[{i}]: expected a column, an expression or a list of them")
        parts = []
        for j, item in enumerate(items):
            where = f"{path}[{i}][{j}]" if isinstance(rule, list) else f"{path}[{i}]"
            if not isinstance(item, str):
                raise LinkModelError(f"{where}: expected a column or an expression, got {_kind(item)}")
            parts.append(item if item in columns else check_expression(item, where, columns))
        out.append(tuple(parts))
    return tuple(out)


def parse_model(data: Any, source: str = "<model>") -> LinkModel:
    """Validate a model given as a mapping (YAML parsed); raise ``LinkModelError`` naming the path at fault."""
    r = _Reader(data, "")
    r.number("version", 1, 1, 1, integer=True)
    id_ = r.string("id", required=True)
    declared: dict[str, Column] = {}
    for i, raw in enumerate(r.items("columns", required=True)):
        col = _column(raw, f"columns[{i}]", declared)
        declared[col.name] = col
    names = set(declared)
    comparisons: list[Comparison] = []
    for i, raw in enumerate(r.items("comparisons", required=True)):
        comp = _comparison(raw, f"comparisons[{i}]", declared)
        if any(c.name == comp.name for c in comparisons):
            raise LinkModelError(f"comparisons[{i}].name: the comparison {comp.name!r} is named twice")
        comparisons.append(comp)
    blocking = _rules(r.get("blocking"), "blocking", names, True)
    t = _Reader(r.get("training", {}), "training")
    p = _Reader(t.get("prior", {}), "training.prior")
    prior_rules = _rules(p.get("rules"), "training.prior.rules", names, True)
    recall = p.number("recall", 1.0, 0.01, 1.0)
    p.done()
    u = _Reader(t.get("u", {}), "training.u")
    u_max = u.number("max_pairs", 2e6, 1e3, 1e9)
    seed = u.number("seed", 1, 0, 2**31, integer=True)
    u.done()
    em = _Reader(t.get("em", {}), "training.em")
    em_rules = _rules(em.get("rules"), "training.em.rules", names, True)
    em_max = em.number("max_pairs", 1e6, 1e3, 1e9)
    em.done()
    t.done()
    th = _Reader(r.get("thresholds", {}), "thresholds")
    link = th.number("link", 0.99, 0.0, 1.0)
    review = th.number("review", 0.5, 0.0, 1.0)
    if review > link:
        raise LinkModelError(f"thresholds.review: {review} is above the link threshold {link}")
    one_to_one = th.boolean("one_to_one", False)
    req_raw = th.get("link_requires_any", {})
    if not isinstance(req_raw, dict):
        raise LinkModelError(f"thresholds.link_requires_any: expected a mapping, got {_kind(req_raw)}")
    requires: dict[str, int] = {}
    for key, n in req_raw.items():
        where = f"thresholds.link_requires_any.{key}"
        comp_ = next((c for c in comparisons if c.name == key), None)
        if comp_ is None:
            raise LinkModelError(
                f"{where}: no comparison {key!r}; comparisons: {', '.join(c.name for c in comparisons)}"
            )
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= len(comp_.agreeing):
            raise LinkModelError(f"{where}: expected how many of its first levels count, 1 to {len(comp_.agreeing)}")
        requires[key] = n
    th.done()
    r.done()
    return LinkModel(
        id=id_,
        columns=tuple(declared.values()),
        comparisons=tuple(comparisons),
        blocking=blocking,
        prior_rules=prior_rules,
        prior_recall=float(recall),
        em_rules=em_rules,
        u_max_pairs=float(u_max),
        em_max_pairs=float(em_max),
        seed=int(seed),
        link=float(link),
        review=float(review),
        one_to_one=one_to_one,
        requires_any=requires,
        source=source,
    )


def load_model(path: Path | str) -> LinkModel:
    """Read and validate a model file; errors name the file and the path within it."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    return model_from_text(text, str(path))


def model_from_text(text: str, source: str) -> LinkModel:
    try:
        doc = load_located(text, source)
    except yaml.YAMLError as exc:
        first = str(exc).replace("\n", " ")
        raise LinkModelError(f"{source}: not valid YAML ({first})") from None
    except LimitError:
        raise
    try:
        return parse_model(doc.data, source)
    except LinkModelError as exc:
        raise LinkModelError(f"{source}: {exc}") from None


def block_rule(rule: Rule) -> Any:
    """Splink's blocking rule for one of the model's rules (columns and checked expressions, all equal)."""
    from splink import block_on

    return block_on(*rule)


def splink_settings(model: LinkModel) -> Any:
    """Splink's settings for ``model`` (link only; the null level first, the else level last in every comparison)."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator

    types = {c.name: c for c in model.columns}

    def level(lv: Level) -> Any:
        col = lv.column
        if lv.kind == "null":
            return cll.NullLevel(col)
        if lv.kind == "exact":
            return cll.ExactMatchLevel(col, term_frequency_adjustments=lv.term_frequency)
        if lv.kind == "levenshtein":
            return cll.LevenshteinLevel(col, lv.value)
        if lv.kind == "damerau_levenshtein":
            return cll.DamerauLevenshteinLevel(col, lv.value)
        if lv.kind == "jaro_winkler":
            return cll.JaroWinklerLevel(col, lv.value)
        if lv.kind == "jaro":
            return cll.JaroLevel(col, lv.value)
        if lv.kind == "jaccard":
            return cll.JaccardLevel(col, lv.value)
        if lv.kind == "date_within":
            return cll.AbsoluteDateDifferenceLevel(
                col, input_is_string=True, threshold=lv.value, metric="day", datetime_format=types[col].output_format
            )
        if lv.kind == "difference_within":
            return cll.AbsoluteDifferenceLevel(col, lv.value)
        if lv.kind == "all":
            return cll.And(*(level(part) for part in lv.value))
        assert lv.kind == "columns_reversed"
        return cll.ColumnsReversedLevel(col, lv.value)

    comparisons: list[Any] = [
        cl.CustomComparison(
            output_column_name=c.name,
            comparison_levels=[*(level(lv) for lv in c.levels), cll.ElseLevel()],
        )
        for c in model.comparisons
    ]
    return SettingsCreator(
        link_type="link_only",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=[block_rule(r) for r in model.blocking],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=True,
    )
