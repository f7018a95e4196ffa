"""Running a linkage model (``linkmodel``): each side standardised as the model declares, and the model trained
on the data at hand with Splink's own estimation (the prior from deterministic rules and an assumed recall, u by
random sampling, m by expectation maximisation over named blockings).

Every statement is built from sqlglot trees: a standardisation step is a fixed template whose only inputs are the
column and literals from the (validated) model. A value that does not fit its column (a pattern, a date format, a
number) is counted and reported with a few examples (``SideReport.misfits``), never dropped in silence.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp

from socialcredit.errors import LinkModelError
from socialcredit.regions.linkmodel import Column, Comparison, LinkModel, Rule
from socialcredit.regions.names import pinyin_table

__all__ = ["Misfit", "SideReport", "Training", "decision_sql_parts", "prepare_side", "soundex", "train"]

_STEP_SQL = {
    "strip": "trim(__x)",
    "lower": "lower(__x)",
    "upper": "upper(__x)",
    "digits_only": "regexp_replace(__x, '[^0-9]', '', 'g')",
    "letters_only": "regexp_replace(__x, '[^\\p{L} ]', '', 'g')",
    "alnum_only": "regexp_replace(__x, '[^\\p{L}\\p{N}]', '', 'g')",
    "remove_spaces": "regexp_replace(__x, '\\s+', '', 'g')",
    "collapse_spaces": "trim(regexp_replace(__x, '\\s+', ' ', 'g'))",
    "sort_chars": "array_to_string(list_sort(string_split(__x, '')), '')",
    "split_sort": "array_to_string(list_sort(string_split_regex(trim(__x), '\\s+')), ' ')",
    "first": "substr(__x, 1, __a)",
    "substr": "substr(__x, __a, __b)",
    "remove": "regexp_replace(__x, __a, '', 'g')",
}


_SOUNDEX = {c: str(d) for d, letters in enumerate(("", "bfpv", "cgjkqsxz", "dt", "l", "mn", "r")) for c in letters}


def soundex(text: str) -> str | None:
    """American Soundex of the text's Latin letters (Robert and Rupert → r163); None when it has none."""
    letters = [c for c in text.lower() if "a" <= c <= "z"]
    if not letters:
        return None
    out, last = letters[0], _SOUNDEX.get(letters[0], "")
    for c in letters[1:]:
        code = _SOUNDEX.get(c, "")
        if code and code != last:
            out += code
        if c not in "hw":  # h and w do not separate two letters of the same code
            last = code
    return (out + "000")[:4]


def _fill(template: str, **values: exp.Expression) -> exp.Expression:
    tree = sqlglot.parse_one(template, read="duckdb")

    def put(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and node.name.startswith("__"):
            return values[node.name[2:]].copy()
        return node

    return tree.transform(put)


def _lit(value: Any) -> exp.Expression:
    return exp.Literal.number(value) if isinstance(value, int) else exp.Literal.string(str(value))


def _col(name: str) -> exp.Expression:
    return exp.column(name, quoted=True)


@dataclass
class Misfit:
    """Values of one column that do not fit what the model declares (a pattern, a date format, a number)."""

    column: str
    source: str
    what: str
    count: int
    examples: list[str]
    action: str = "not compared"


@dataclass
class SideReport:
    label: str
    rows: int
    misfits: list[Misfit] = field(default_factory=list)


def _arrow_kind(t: pa.DataType) -> str:
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "text"
    if pa.types.is_integer(t):
        return "an integer"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "a number"
    if pa.types.is_date(t) or pa.types.is_timestamp(t):
        return "a date"
    if pa.types.is_null(t):
        return "empty"
    return str(t)


def _declares(col: Column) -> str:
    if col.type == "date":
        return f"a date with format {' or '.join(col.formats)}" if col.formats else "a date (with no format)"
    return f"a {col.type}" if col.type != "integer" else "an integer"


def _typed(col: Column, src: exp.Expression, kind: str, label: str) -> exp.Expression:
    """The value of ``src`` (an input column of kind ``kind``) as the column's type: a date as text in its output
    format, a string as text, numbers as BIGINT or DOUBLE (text that does not parse becomes null, and is counted)."""
    if col.type == "string":
        return src if kind == "text" else exp.cast(src, "VARCHAR")
    if col.type == "date":
        if kind == "a date":
            value: exp.Expression = exp.cast(src, "DATE")
        elif kind in ("text", "an integer", "empty") and (col.formats or kind == "empty"):
            text = _fill("trim(CAST(__x AS VARCHAR))", x=src)
            tries = [_fill("CAST(try_strptime(__x, __a) AS DATE)", x=text, a=_lit(f)) for f in col.formats]
            value = exp.Coalesce(this=tries[0], expressions=tries[1:]) if tries else exp.Null()
        else:
            raise LinkModelError(
                f"{label}: column {col.source!r} is {kind}; the model declares it {_declares(col)}"
                + ("; give its format (e.g. format: '%Y-%m-%d')" if kind in ("text", "an integer") else "")
            )
        return _fill("strftime(__x, __a)", x=value, a=_lit(col.output_format))
    target = "BIGINT" if col.type == "integer" else "DOUBLE"
    if kind in ("text", "an integer", "a number", "empty"):
        return exp.TryCast(this=_fill("trim(CAST(__x AS VARCHAR))", x=src), to=exp.DataType.build(target))
    raise LinkModelError(f"{label}: column {col.source!r} is {kind}; the model declares it {_declares(col)}")


def _steps(col: Column, value: exp.Expression, pinyin: exp.Expression | None) -> exp.Expression:
    for name, arg in col.steps:
        if name in ("pinyin", "pinyin_surname", "soundex"):
            assert pinyin is not None
            value = pinyin
        elif name == "pieces":
            parts = [_fill(_STEP_SQL["substr"], x=value, a=_lit(s), b=_lit(n)) for s, n in arg]
            joined = parts[0]
            for part in parts[1:]:
                joined = exp.DPipe(this=joined, expression=part)
            value = joined
        elif name == "substr":
            ((start, length),) = arg
            value = _fill(_STEP_SQL["substr"], x=value, a=_lit(start), b=_lit(length))
        elif arg is not None:
            value = _fill(_STEP_SQL[name], x=value, a=_lit(arg))
        else:
            value = _fill(_STEP_SQL[name], x=value)
    return value


def prepare_side(
    con: duckdb.DuckDBPyConnection, name: str, table: pa.Table, model: LinkModel, label: str
) -> SideReport:
    """Write table ``name``: ``unique_id`` and every column the model declares, standardised; raise
    ``LinkModelError`` naming the side (``label``), the column and its type when the table cannot fit the model."""
    present = set(table.column_names)
    if model.id not in present:
        raise LinkModelError(
            f"{label}: no column {model.id!r} (the model's id); columns: {', '.join(table.column_names)}"
        )
    inputs = model.inputs()[1:]
    optional = {c.source for c in model.columns if c.optional}
    for source in inputs:
        if source not in present and source not in optional:
            users = [c.name for c in model.columns if c.source == source]
            raise LinkModelError(
                f"{label}: no column {source!r} (the model's column {users[0]!r} reads it); "
                f"columns: {', '.join(table.column_names)}"
            )
    n = table.num_rows
    kinds = {c: _arrow_kind(table.schema.field(c).type) for c in table.column_names}
    src = table.select([model.id, *(c for c in inputs if c in present)])
    src = src.rename_columns([f"i{j}" for j in range(src.num_columns)]).append_column(
        "_i", pa.array(range(n), pa.int64())
    )
    alias = {c: f"i{j}" for j, c in enumerate([model.id, *(c for c in inputs if c in present)])}
    py_cols: dict[str, Any] = {"_i": pa.array(range(n), pa.int64())}
    py_cache: dict[str, tuple[list[str | None], list[str | None]]] = {}
    # Columns are computed in layers, so that a column read by others (the shipped model's identity number) is
    # computed once: a column from an input is in layer 0, one from a declared column a layer after it; a column
    # with a pattern takes two (its value before the check, then the check).
    layer: dict[str, int] = {}
    layers: dict[int, list[Any]] = {}
    checks: list[tuple[Column, str, Any, exp.Expression]] = []  # column, what, misfit condition, raw value

    def ref(column: str) -> exp.Expression:
        return _col(f"m_{column}")

    for col in model.columns:
        if col.source in layer and not col.reads_input:
            at = layer[col.source] + 1
            base_raw = ref(col.source)
            typed = base_raw if col.type == "string" else _typed(col, base_raw, "text", label)
        elif col.source in present:
            at = 0
            base_raw = _col(alias[col.source])
            typed = _typed(col, base_raw, kinds[col.source], label)
        else:  # an optional column that is absent
            at, base_raw, typed = 0, exp.Null(), exp.Null()
        pinyin = None
        if col.steps and col.steps[0][0] in ("pinyin", "pinyin_surname", "soundex"):
            names = table[col.source].to_pylist() if col.source in present else [None] * n
            texts = [None if v is None else str(v) for v in names]
            if col.steps[0][0] == "soundex":
                computed = [None if v is None else soundex(v) for v in texts]
            else:
                if col.source not in py_cache:
                    py_cache[col.source] = pinyin_table(texts)
                full, first = py_cache[col.source]
                computed = full if col.steps[0][0] == "pinyin" else first
            py_cols[f"py_{col.name}"] = pa.array(computed, pa.string())
            pinyin = _col(f"py_{col.name}")
        value = _steps(col, typed, pinyin)
        if col.type in ("string", "date"):
            value = exp.Nullif(this=value, expression=exp.Literal.string(""))
        if col.type != "string" and col.source in present and (col.source not in layer or col.reads_input):
            not_null = exp.Not(this=exp.Is(this=base_raw.copy(), expression=exp.Null()))
            bad = exp.and_(not_null, exp.Is(this=typed.copy(), expression=exp.Null()))
            checks.append((col, f"not {_declares(col)}", bad, base_raw))
        if col.pattern is not None:
            layers.setdefault(2 * at, []).append(value.as_(f"pre_{col.name}", quoted=True))
            pre = _col(f"pre_{col.name}")
            fits = _fill("regexp_full_match(__x, __a)", x=pre, a=_lit(col.pattern))
            bad = exp.and_(exp.Not(this=exp.Is(this=pre.copy(), expression=exp.Null())), exp.Not(this=fits.copy()))
            checks.append((col, f"not matching the pattern {col.pattern!r}", bad, base_raw))
            value = exp.Case().when(fits, pre.copy()) if col.mismatch == "null" else pre.copy()
            layers.setdefault(2 * at + 1, []).append(value.as_(f"m_{col.name}", quoted=True))
        else:
            layers.setdefault(2 * at, []).append(value.as_(f"m_{col.name}", quoted=True))
        layer[col.name] = at
    query = exp.select("*").from_("_src s")
    if len(py_cols) > 1:
        query = query.join("_py p", using=["_i"])
    for k in sorted(layers):
        query = exp.select("*", *layers[k]).from_(query.subquery(f"l{k}"))
    selects = [exp.cast(_col(alias[model.id]), "VARCHAR").as_("unique_id"), _col("_i")]
    selects += [ref(c.name).as_(c.name, quoted=True) for c in model.columns]
    selects += [
        exp.Coalesce(this=cond, expressions=[exp.false()]).as_(f"_bad{k}") for k, (_, _, cond, _) in enumerate(checks)
    ]
    selects += [exp.cast(r, "VARCHAR").as_(f"_raw{k}") for k, (_, _, _, r) in enumerate(checks)]
    query = exp.select(*selects).from_(query.subquery("l"))
    stage = f"{name}_stage" if checks else name
    con.register("_src", src)
    con.register("_py", pa.table(py_cols))
    try:
        con.execute(f"CREATE OR REPLACE TABLE {stage} AS {query.sql(dialect='duckdb')}")
    finally:
        con.unregister("_src")
        con.unregister("_py")
    report = SideReport(label, n)
    if checks:
        counts = con.execute(
            "SELECT " + ", ".join(f"count(*) FILTER (WHERE _bad{k})" for k in range(len(checks))) + f" FROM {stage}"
        ).fetchone()
        assert counts is not None
        for k, (col, what, _, _) in enumerate(checks):
            if counts[k]:
                examples = [
                    r[0]
                    for r in con.execute(f"SELECT _raw{k} FROM {stage} WHERE _bad{k} ORDER BY _i LIMIT 3").fetchall()
                ]
                action = "kept as they are" if "pattern" in what and col.mismatch == "keep" else "not compared"
                report.misfits.append(Misfit(col.name, col.source, what, int(counts[k]), examples, action))
        keep = ", ".join(['"unique_id"', *(exp.to_identifier(c.name, quoted=True).sql() for c in model.columns)])
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT {keep} FROM {stage}")
        con.execute(f"DROP TABLE {stage}")
    dup = con.execute(
        f"SELECT unique_id, count(*) FROM {name} GROUP BY 1 HAVING count(*) > 1 OR unique_id IS NULL LIMIT 1"
    ).fetchone()
    if dup is not None:
        raise LinkModelError(
            f"{label}: the id column {model.id!r} must hold a distinct value on every row; "
            + ("it is empty on a row" if dup[0] is None else f"{dup[0]!r} is on {dup[1]} rows")
        )
    return report


@dataclass
class Training:
    prior: float
    prior_method: str
    prior_estimated: bool
    em: list[dict[str, Any]] = field(default_factory=list)


def _rule_text(rule: Rule) -> str:
    return "[" + ", ".join(rule) + "]"


# The largest prior taken: half of all pairs matching, where the evidence of each pair still decides
PRIOR_MAX = 0.5


def train(
    linker: Any, model: LinkModel, n_left: int, n_right: int, *, u_max_pairs: float, em_max_pairs: float, seed: int
) -> Training:
    """Train ``linker``: the prior from the model's deterministic rules and recall (and, when no pair meets them,
    1/(n·m), said so in ``prior_method``), u by random sampling, m by EM over each of the model's EM rules."""
    from splink import block_on

    settings = linker._settings_obj
    rules = "; ".join(_rule_text(r) for r in model.prior_rules)
    estimated, reason = True, ""
    try:
        linker.training.estimate_probability_two_random_records_match(
            [block_on(*r) for r in model.prior_rules], recall=model.prior_recall
        )
    except Exception as exc:  # Splink refuses, e.g., a prior above 1 (a recall too low for the pairs found)
        estimated, reason = False, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    prior = settings._probability_two_random_records_match
    if estimated and prior <= 0:
        estimated, reason = False, "no pair meets the deterministic rules"
    if estimated:
        method = (
            f"estimated from the data: pairs meeting {rules} taken as matches, assumed recall {model.prior_recall:g}"
        )
    else:
        prior = 1 / (n_left * n_right)
        settings._probability_two_random_records_match = prior
        method = f"not estimated ({reason}; rules {rules}); used 1/(n·m) = {prior:.3g}: at most one match in all"
    if prior > PRIOR_MAX:
        # A prior of 1 (one pair in all, and it meets the rules; or 1/(n·m) of one record each side) is an infinite
        # weight: Splink wrote it into its SQL as 'inf' and the import failed. The evidence decides instead.
        prior = PRIOR_MAX
        settings._probability_two_random_records_match = prior
        method += f"; at most {PRIOR_MAX:g} taken ({n_left}×{n_right} pairs: a prior of 1 would decide alone)"
    linker.training.estimate_u_using_random_sampling(max_pairs=u_max_pairs, seed=seed)
    sessions = []
    for rule in model.em_rules:
        # A session that fails (too few pairs to train on) leaves the model as it was, starting values included.
        before = copy.deepcopy(settings.core_model_settings)
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*rule), max_pairs=em_max_pairs if n_left * n_right > em_max_pairs else None
            )
            sessions.append({"rule": _rule_text(rule), "trained": True})
        except Exception as exc:
            settings.core_model_settings = before
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            sessions.append({"rule": _rule_text(rule), "trained": False, "reason": first})
            logging.getLogger(__name__).info("EM on %s skipped: %s", rule, exc)
    return Training(prior, method, estimated, sessions)


def decision_sql_parts(model: LinkModel) -> tuple[str, str]:
    """SQL over Splink's predictions (its ``gamma_*`` columns): whether a pair has the evidence a link requires
    (``link_requires_any``; true when none is required), and the evidence: the label of each level that agreed."""

    def gamma(c: Comparison) -> str:
        return exp.column(f"gamma_{c.name}", quoted=True).sql(dialect="duckdb")

    needs = []
    for c in model.comparisons:
        if c.name in model.requires_any:
            k = len(c.agreeing)
            needs.append(f"{gamma(c)} >= {k - model.requires_any[c.name] + 1}")
    beyond = " OR ".join(needs) if needs else "true"
    cases = []
    for c in model.comparisons:
        k = len(c.agreeing)
        whens = " ".join(
            f"WHEN {k - i} THEN {exp.Literal.string(lv.label).sql(dialect='duckdb')}" for i, lv in enumerate(c.agreeing)
        )
        cases.append(f"CASE {gamma(c)} {whens} END")
    return f"({beyond})", f"concat_ws(' ', {', '.join(cases)})"
