"""An outcome file read and checked before a scorecard is fitted: bounds, the target, the features, protected ones.

Every refusal is an :class:`~socialcredit.errors.InvalidRequestError` (a :class:`~socialcredit.errors.LimitError`
for a bound) whose ``code`` names the case; the command line gives each code its own exit code (``EXIT_CODES``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from socialcredit.errors import InvalidRequestError, LimitError
from socialcredit.scorecard.options import EXIT_CODES, MONOTONIC, check_holdout, parse_monotonic

__all__ = [
    "EXIT_CODES",
    "LIMITS",
    "MONOTONIC",
    "PROFILES",
    "PROTECTED",
    "Outcomes",
    "check_holdout",
    "parse_monotonic",
    "protected_kind",
    "read_outcomes",
]

# The bounds of an outcome file, checked before any fitting (docs/scorecard.md, "Limits").
LIMITS = {
    "bytes": 256 * 1024 * 1024,
    "rows": 1_000_000,
    "columns": 200,
    "categories": 100,  # distinct values of one categorical feature
    "value_chars": 200,  # characters of one categorical value
    # characters of all the values of one categorical feature, quoted and separated: the exported policy names them
    # in one condition (of at most 2000 characters) to give an unseen value the Missing bin's points
    "category_chars": 1700,
}
MIN_ROWS = 20
MAX_NUMBER = 1e15

# Protected attributes by legal profile (the profiles of `policy lint`): sex and ethnicity everywhere; age under
# the EU's and the US's (the Equal Credit Opportunity Act; the EU's non-discrimination law), not under China's.
PROTECTED = {"sex": "sex", "ethnicity": "ethnicity", "age": "age"}
PROFILES: dict[str, tuple[str, ...]] = {
    "cn": ("sex", "ethnicity"),
    "eu": ("sex", "ethnicity", "age"),
    "us": ("sex", "ethnicity", "age"),
}
# Column names (lower case, any of " -." read as "_") taken for each protected attribute.
_PROTECTED_NAMES = {
    "sex": {"sex", "gender", "性别", "personal_status_sex"},
    "ethnicity": {"ethnicity", "ethnic_group", "ethnic", "race", "nation", "民族", "种族"},
    "age": {"age", "birth_date", "date_of_birth", "dob", "birth_year", "year_of_birth", "年龄", "出生日期", "age_band"},
}
_TRUE = {"1", "1.0", "true", "yes", "y"}
_FALSE = {"0", "0.0", "false", "no", "n"}


def _error(code: str, message: str, field_name: str | None = None) -> InvalidRequestError:
    return InvalidRequestError(message, code=code, field=field_name)


def _norm(name: str) -> str:
    return re.sub(r"[ \-.]+", "_", name.strip().lower())


def protected_kind(column: str) -> str | None:
    """The protected attribute a column's name stands for (sex, ethnicity, age), or None.

    >>> protected_kind("Gender"), protected_kind("date-of-birth"), protected_kind("income")
    ('sex', 'age', None)
    """
    name = _norm(column)
    return next((kind for kind, names in _PROTECTED_NAMES.items() if name in names), None)


@dataclass
class Outcomes:
    """The rows to learn from: ``X`` (the features, numeric ones as floats, categorical ones as text or missing),
    ``y`` (1 for the event), the features' kinds, the protected columns set aside (``protected``: column ->
    attribute, with their values in ``aside``) and what was dropped or decided on the way (``notes``)."""

    path: Path
    target: str
    event: str
    X: pd.DataFrame
    y: pd.Series
    numeric: list[str]
    categorical: list[str]
    protected: dict[str, str]
    aside: pd.DataFrame
    notes: list[dict[str, str]] = field(default_factory=list)  # each in en and zh

    @property
    def features(self) -> list[str]:
        return list(self.X.columns)


def _read_frame(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise _error("unreadable_outcomes", f"{path}: no such file; give a CSV or Parquet file of outcomes", "outcomes")
    size = path.stat().st_size
    if size > LIMITS["bytes"]:
        raise LimitError(
            f"{path}: {size:,} bytes; an outcome file may have at most {LIMITS['bytes']:,}",
            code="file_too_large",
            limit="bytes",
            field="outcomes",
        )
    if size == 0:
        raise _error("empty_outcomes", f"{path}: the file is empty; give a header and at least one row", "outcomes")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            meta = pq.read_metadata(path)
            _check_shape(path, meta.num_rows, meta.num_columns)
            return pq.read_table(path).to_pandas()
        if suffix in (".csv", ".txt"):
            with path.open("rb") as fh:
                header = fh.readline()
            if header.count(b",") + 1 > LIMITS["columns"]:
                _check_shape(path, 0, header.count(b",") + 1)
            frame = pd.read_csv(
                path, dtype=str, keep_default_na=True, nrows=LIMITS["rows"] + 1, encoding="utf-8", on_bad_lines="error"
            )
            _check_shape(path, len(frame), len(frame.columns))
            return frame
    except (InvalidRequestError, LimitError):
        raise
    except pd.errors.EmptyDataError:
        raise _error(
            "empty_outcomes", f"{path}: the file is empty; give a header and at least one row", "outcomes"
        ) from None
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        first = next(iter(str(exc).splitlines()), type(exc).__name__)
        raise _error("unreadable_outcomes", f"{path}: cannot be read as {suffix[1:]}: {first}", "outcomes") from None
    except Exception as exc:  # pyarrow's errors: a file that is not Parquet
        first = next(iter(str(exc).splitlines()), type(exc).__name__)
        raise _error("unreadable_outcomes", f"{path}: cannot be read as {suffix[1:]}: {first}", "outcomes") from None
    raise _error(
        "unreadable_outcomes", f"{path}: not a .csv or .parquet file; give outcomes as CSV or Parquet", "outcomes"
    )


def _check_shape(path: Path, rows: int, columns: int) -> None:
    if columns > LIMITS["columns"]:
        raise LimitError(
            f"{path}: {columns} columns; an outcome file may have at most {LIMITS['columns']}",
            code="too_many_columns",
            limit="columns",
            field="outcomes",
        )
    if rows > LIMITS["rows"]:
        raise LimitError(
            f"{path}: more than {LIMITS['rows']:,} rows; an outcome file may have at most {LIMITS['rows']:,}",
            code="too_many_rows",
            limit="rows",
            field="outcomes",
        )


def _as_number(series: pd.Series) -> pd.Series | None:
    """The column as floats if every present value is a finite number (or a boolean), else None."""
    if pd.api.types.is_bool_dtype(series):
        return series.astype(float)
    if pd.api.types.is_numeric_dtype(series):
        out = series.astype(float)
    else:
        text = series.dropna().astype(str).str.strip()
        low = text.str.lower()
        if len(low) and low.isin(_TRUE | _FALSE).all() and not low.isin({"1", "0", "1.0", "0.0"}).all():
            return series.map(lambda v: None if pd.isna(v) else float(str(v).strip().lower() in _TRUE)).astype(float)
        out = pd.to_numeric(series.map(lambda v: v.strip() if isinstance(v, str) else v), errors="coerce")
        if out.notna().sum() != len(text):
            return None
        out = out.astype(float)
    if not out.dropna().map(math.isfinite).all():
        return None
    return out


def _check_range(path: Path, column: str, values: pd.Series) -> None:
    big = values[values.abs() >= MAX_NUMBER]
    if len(big):
        raise LimitError(
            f"{path}: {column!r} holds {big.iloc[0]:g}; a number of an outcome file must lie within ±{MAX_NUMBER:g} "
            "(the exported policy writes bin bounds as decimals of at most 18 characters): rescale it",
            code="number_out_of_range",
            limit="numbers",
            field=column,
        )


def _target(
    frame: pd.DataFrame, target: str, event: str | None, path: Path
) -> tuple[pd.Series, str, list[dict[str, str]]]:
    if target not in frame.columns:
        shown = ", ".join(map(str, list(frame.columns)[:12])) + (", …" if len(frame.columns) > 12 else "")
        raise _error("target_missing", f"{path}: no column {target!r}; the file's columns are {shown}", "target")
    column = frame[target]
    notes = []
    missing = int(column.isna().sum())
    if missing:
        notes.append(
            {
                "en": f"{missing} rows without a value of {target} were left out",
                "zh": f"{missing} 行没有 {target} 的值，未计入",
            }
        )
    values = column.dropna().map(lambda v: str(v).strip())
    distinct = sorted(set(values))
    if len(distinct) > 2:
        shown = ", ".join(repr(v) for v in distinct[:5]) + (", …" if len(distinct) > 5 else "")
        raise _error(
            "target_not_binary",
            f"{path}: {target} takes {len(distinct)} values ({shown}); a target has two (0 and 1, or two values "
            "and --event naming the event)",
            "target",
        )
    if len(distinct) < 2:
        only = f" ({distinct[0]!r})" if distinct else ""
        raise _error(
            "target_one_class",
            f"{path}: {target} takes one value{only}; a scorecard needs rows of both outcomes",
            "target",
        )
    as_num = {v: _float(v) for v in distinct}
    if event is not None:
        chosen = next((v for v in distinct if v == event.strip() or as_num[v] == _float(event)), None)
        if chosen is None:
            raise _error(
                "target_not_binary",
                f"--event {event!r} is not a value of {target}; its values are {distinct[0]!r} and {distinct[1]!r}",
                "event",
            )
    elif {as_num[v] for v in distinct} == {0.0, 1.0}:
        chosen = next(v for v in distinct if as_num[v] == 1.0)
    elif {v.lower() for v in distinct} == {"true", "false"}:
        chosen = next(v for v in distinct if v.lower() == "true")
    else:
        raise _error(
            "target_not_binary",
            f"{path}: {target} takes {distinct[0]!r} and {distinct[1]!r}, not 0 and 1; say which is the event "
            "with --event VALUE",
            "event",
        )
    y = (values == chosen).astype(int)
    return y, chosen, notes


def _value(value: Any) -> str:
    """A value as a message shows it: a number as written (1, 2.5), a text quoted."""
    if isinstance(value, str):
        return repr(value)
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def _float(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def read_outcomes(
    path: Path | str,
    target: str,
    *,
    features: list[str] | None = None,
    exclude: list[str] | None = None,
    event: str | None = None,
    id_column: str | None = None,
    profile: str = "cn",
) -> Outcomes:
    """Read and check an outcome file (CSV or Parquet): the bounds, a binary target, the features (all columns but
    the target, the identifier and the excluded ones, unless ``features`` names them), protected ones refused when
    named and otherwise set aside. Refusals are :class:`InvalidRequestError` with the codes of ``EXIT_CODES``."""
    if profile not in PROFILES:
        raise _error("invalid_option", f"--profile {profile!r}: profiles are {', '.join(PROFILES)}", "profile")
    path = Path(path)
    frame = _read_frame(path)
    frame.columns = [str(c) for c in frame.columns]
    if len(frame.columns) == 0 or len(frame) == 0:
        raise _error("empty_outcomes", f"{path}: no rows; give a header and at least one row", "outcomes")
    repeated = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    if repeated:
        raise _error("unreadable_outcomes", f"{path}: column {repeated[0]!r} appears twice; name each once", "outcomes")
    y, chosen, notes = _target(frame, target, event, path)
    frame = frame.loc[y.index]
    named = list(dict.fromkeys(features or []))  # a column named twice is one feature
    excluded = list(dict.fromkeys(exclude or []))
    for column in [*named, *excluded] + ([id_column] if id_column else []):
        if column not in frame.columns:
            raise _error("unknown_column", f"{path}: no column {column!r} (named by an option)", "features")
    if target in named:
        raise _error("invalid_option", f"--features names the target {target!r}; a target cannot be a feature")
    if id_column == target:  # the default identifier (subject_id) would then be taken for a feature
        raise _error("invalid_option", f"--id names the target {target!r}; the identifier is another column", "id")
    protected_here = {c: k for c in frame.columns if (k := protected_kind(c)) and k in PROFILES[profile]}
    for column in named:
        if column in protected_here:
            raise _error(
                "protected_feature",
                f"{column!r} is a protected attribute ({protected_here[column]}) under the {profile} profile; "
                "it cannot be a feature of a scorecard. Leave it out of --features (it is then used only to "
                "report proxies)",
                "features",
            )
    ident = id_column or ("subject_id" if "subject_id" in frame.columns else None)
    if named:
        chosen_features = named
    else:
        skip = {target, *excluded, *protected_here} | ({ident} if ident else set())
        chosen_features = [c for c in frame.columns if c not in skip]
        if protected_here:
            listed = ", ".join(f"{c} ({k})" for c, k in protected_here.items())
            notes.append(
                {
                    "en": f"protected attributes set aside (used only to report proxies): {listed}",
                    "zh": f"受保护属性不作为特征（仅用于检查代理变量）：{listed}",
                }
            )
    chosen_features = [c for c in chosen_features if c not in excluded]
    if not chosen_features:
        raise _error("empty_outcomes", f"{path}: no feature left to learn from; name some with --features", "features")
    if len(frame) < MIN_ROWS:
        raise _error(
            "too_few_rows",
            f"{path}: {len(frame)} rows with a target; a scorecard needs at least {MIN_ROWS}",
            "outcomes",
        )
    X, numeric, categorical = _features(frame, chosen_features, path)
    aside = frame[[c for c in protected_here if c in frame.columns]].copy()
    return Outcomes(path, target, chosen, X, y, numeric, categorical, protected_here, aside, notes)


def _features(frame: pd.DataFrame, columns: list[str], path: Path) -> tuple[pd.DataFrame, list[str], list[str]]:
    data: dict[str, Any] = {}
    numeric, categorical = [], []
    for column in columns:
        series = frame[column]
        as_num = _as_number(series)
        if as_num is not None:
            _check_range(path, column, as_num.dropna())
            data[column] = as_num
            numeric.append(column)
            present = as_num.dropna()
        else:
            text = series.map(lambda v: None if pd.isna(v) else str(v).strip())
            present = text.dropna()
            long = present[present.str.len() > LIMITS["value_chars"]]
            if len(long):
                raise LimitError(
                    f"{path}: a value of {column!r} has {len(long.iloc[0])} characters; a category may have at most "
                    f"{LIMITS['value_chars']}",
                    code="value_too_long",
                    limit="value_chars",
                    field=column,
                )
            n = present.nunique()
            if n > LIMITS["categories"]:
                raise LimitError(
                    f"{path}: {column!r} has {n} distinct values; a categorical feature may have at most "
                    f"{LIMITS['categories']} (leave it out with --exclude, or group its values)",
                    code="too_many_categories",
                    limit="categories",
                    field=column,
                )
            written = sum(len(v) + v.count("'") + v.count("\\") + 4 for v in present.unique())
            if written > LIMITS["category_chars"]:
                raise LimitError(
                    f"{path}: the {n} values of {column!r} take {written} characters written out; a categorical "
                    f"feature's values may take at most {LIMITS['category_chars']} (the exported policy names them "
                    "in one condition): shorten or group them, or leave it out with --exclude",
                    code="values_too_long",
                    limit="category_chars",
                    field=column,
                )
            data[column] = text.astype(object)
            categorical.append(column)
        if present.nunique() < 2:
            raise _error(
                "feature_constant",
                f"{path}: feature {column!r} takes one value"
                + (f" ({_value(present.iloc[0])})" if len(present) else " (it is always missing)")
                + "; it cannot tell outcomes apart. Leave it out with --exclude",
                column,
            )
    return pd.DataFrame(data, index=frame.index), numeric, categorical
