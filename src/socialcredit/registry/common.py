"""Small helpers every domain of the registry shares: how values are shown, how a person's free text is checked."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from socialcredit.errors import DecisionError, WorkflowInputError
from socialcredit.textcheck import (
    CJK_IDEOGRAPHS,
    CJK_SELECTORS,
    INVISIBLE_RANGES,
    MONGOLIAN_LETTERS,
    MONGOLIAN_SELECTORS,
    control_character,
)

if TYPE_CHECKING:
    from socialcredit.store import Store

__all__ = [
    "CONTROL_PATTERN",
    "INVISIBLE_PATTERN",
    "MAX_PAGE_ROWS",
    "MAX_PURPOSE",
    "MAX_TEXT",
    "PAGE_ROWS",
    "bad_status",
    "check_purpose",
    "check_requester",
    "check_text",
    "control_character",
    "finished_runs",
    "first_invisible_sql",
    "invisible_sql",
    "iso",
    "newest_first",
    "no_purpose",
    "shown_points",
    "with_values",
]

MAX_TEXT = 4000


def bad_status(status: str, statuses: Sequence[str]) -> WorkflowInputError:
    """The refusal of a case list's ``status`` that is none of ``statuses`` (422 ``bad_status``), in both languages:
    the lists of disputes, link disputes, notices and repairs."""
    return WorkflowInputError(
        f"status must be one of {', '.join(statuses)}, not {status!r}",
        field="status",
        code="bad_status",
        zh=f"状态须为 {'、'.join(statuses)} 之一，而不是 {status!r}",
    )


MAX_PURPOSE = 200  # as the API bounds a decision's purpose and a key's declared ones
# A page of the registry's case lists (notices, disputes, repairs): as many rows by default, at most so many, as the
# API's other pages (GET /v1/audit, GET /v1/lists/{id}/entries) give and take
PAGE_ROWS = 100
MAX_PAGE_ROWS = 1000

# The control characters and the bidirectional controls (socialcredit.textcheck) as a character class of DuckDB's
# regular expressions (RE2), for the checks ingest makes in SQL (registry/records/ingest.py). RE2's [:cntrl:] is
# ASCII's alone: the C1 controls (U+0080-U+009F, Unicode's Cc as textcheck's) are named.
CONTROL_PATTERN = r"[[:cntrl:]\x{80}-\x{9F}\x{202A}-\x{202E}\x{2066}-\x{2069}]"


def _char_class(ranges: tuple[tuple[int, int], ...]) -> str:
    return "[" + "".join(f"\\x{{{lo:X}}}" + (f"-\\x{{{hi:X}}}" if hi > lo else "") for lo, hi in ranges) + "]"


# The invisible characters (socialcredit.textcheck.INVISIBLE_RANGES) as such a class: refused in what names something
# (a record id, a subject's name and district, a record's text).
INVISIBLE_PATTERN = _char_class(INVISIBLE_RANGES)
# A variation sequence (textcheck: an ideograph and its selector, a Mongolian letter and its free variation
# selector), the base kept by ``\1`` or ``\2``: the text with its sequences' selectors removed is what the
# invisible characters are looked for in (RE2 has no look-behind to ask what precedes a selector).
_VARIATION_SEQUENCE = (
    f"({_char_class(CJK_IDEOGRAPHS)}){_char_class(CJK_SELECTORS)}"
    f"|({_char_class(MONGOLIAN_LETTERS)}){_char_class(MONGOLIAN_SELECTORS)}"
)


def _without_sequences(col: str) -> str:
    return f"regexp_replace({col}, '{_VARIATION_SEQUENCE}', '\\1\\2', 'g')"


def invisible_sql(col: str) -> str:
    """SQL: whether the text ``col`` holds an invisible character but a variation sequence's selector (the cheap
    test first: the sequences are removed only from text holding one)."""
    return (
        f"(regexp_matches({col}, '{INVISIBLE_PATTERN}') "
        f"AND regexp_matches({_without_sequences(col)}, '{INVISIBLE_PATTERN}'))"
    )


def first_invisible_sql(col: str) -> str:
    """SQL: the first invisible character of ``col`` that ``invisible_sql`` finds, as ``U+200B``."""
    return f"printf('U+%04X', unicode(regexp_extract({_without_sequences(col)}, '{INVISIBLE_PATTERN}')))"


def iso(value: Any) -> Any:
    """Dates and timestamps as ISO text (the form every face shows)."""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def shown_points(value: float, places: int = 2) -> float:
    """Points as every face shows them (a reason's, a dimension's, a record's contribution, a change between runs):
    to ``places`` decimals, halves upwards, as a score is rounded from its total (docs/policy-language.md,
    "floor(total + 0.5)"): 0.125 is 0.13, -0.125 is -0.12, 2.675 is 2.68. Python's ``round`` rounds halves to even
    and reads the double's binary digits (0.125 was 0.12, 2.675 was 2.67); the decimal digits the value reads as
    are rounded here."""
    number = decimal.Decimal(repr(float(value)))
    if not number.is_finite():
        return float(value)
    step = decimal.Decimal(1).scaleb(-places)
    rounded = ((number / step) + decimal.Decimal("0.5")).to_integral_value(rounding=decimal.ROUND_FLOOR) * step
    return float(rounded) + 0.0  # no -0.0


# the free texts check_text is given, named in Chinese (a refusal said in Chinese names the field so)
_FIELD_ZH = {
    "reason": "理由",
    "reasons": "理由",
    "justification": "理由",
    "evidence": "证据说明",
    "text": "补充材料",
    "note": "说明",
    "statement": "陈述",
    "commitment": "承诺",
}


def check_text(value: str | None, field: str, *, required: bool = True) -> str | None:
    """A free text given by a person: trimmed, at most 4000 characters, not empty when required, and with no control
    character but line breaks and tabs (a NUL byte or an escape sequence would be stored, then shown to an operator,
    in a file or on a terminal)."""
    text = (value or "").strip()
    named = _FIELD_ZH.get(field, field)
    if not text:
        if required:
            raise WorkflowInputError(
                f"{field} is required: write it in a few words",
                field=field,
                code="missing_field",
                zh=f"{named}为必填项：请用几句话写明",
            )
        return None
    if len(text) > MAX_TEXT:
        raise WorkflowInputError(
            f"{field} is longer than {MAX_TEXT} characters",
            field=field,
            code="too_long",
            zh=f"{named}超过 {MAX_TEXT} 个字符",
        )
    control = control_character(text, "\n\r\t")
    if control is not None:
        raise WorkflowInputError(
            f"{field} has a control character (U+{ord(control):04X}); write plain text",
            field=field,
            code="control_character",
            zh=f"{named}含有控制字符（U+{ord(control):04X}）；请写纯文本",
        )
    return text


def no_purpose() -> DecisionError:
    """The refusal of a decision asked without a purpose (or one of spaces)."""
    return DecisionError(
        "a purpose is required: say why the decision is asked (e.g. 'ticket purchase')",
        zh="须说明用途：为何询问此决定（例如“购买车票”）",
    )


def check_purpose(purpose: str | None) -> str:
    """The purpose of a decision, or one a relying party's key declares: trimmed, not empty, at most MAX_PURPOSE
    characters, one line of plain text. It is logged with each inquiry and shown to the resident (pages, files,
    `show` on a terminal): a control character (an escape sequence, a line break) or a text of any length was
    stored as given from the command line."""
    text = (purpose or "").strip()
    if not text:
        raise no_purpose()
    if len(text) > MAX_PURPOSE:
        raise DecisionError(
            f"a purpose is at most {MAX_PURPOSE} characters; this one has {len(text)}",
            code="invalid_purpose",
            field="purpose",
            zh=f"用途最多 {MAX_PURPOSE} 个字符；此用途有 {len(text)} 个",
        )
    control = control_character(text)
    if control is not None:
        raise DecisionError(
            f"a purpose is one line of plain text; this one has a control character (U+{ord(control):04X})",
            code="invalid_purpose",
            field="purpose",
            zh=f"用途须为一行纯文本；此用途含有控制字符（U+{ord(control):04X}）",
        )
    return text


def check_requester(requester: str) -> str:
    """Who asks a decision, as the resident is shown it (``key:<id>`` over the API, a name on the command line): one
    line of plain text of at most MAX_PURPOSE characters, as a purpose is."""
    if not requester.strip() or len(requester) > MAX_PURPOSE or control_character(requester) is not None:
        raise DecisionError(
            f"who asks is named in one line of plain text of at most {MAX_PURPOSE} characters",
            code="invalid_requester",
            field="requester",
        )
    return requester


def finished_runs(store: Store, run_id: int | None = None) -> tuple[tuple[Any, ...], ...]:
    """The finished runs (or the one ``run_id``, if finished) as keys for what a process keeps in memory per run.

    A finished run's results never change, but neither a store_id nor a run id names one: copies of one store file
    share the store_id and number their next runs alike. A run's start and finish moments, with them, do: two
    copies that each score a run of the same number do not do it at the same microsecond.
    """
    where = "" if run_id is None else " AND run_id = ?"
    rows = store.execute(
        f"SELECT run_id, started_at, finished_at FROM score_runs WHERE finished_at IS NOT NULL{where} ORDER BY 1",
        [] if run_id is None else [run_id],
    ).fetchall()
    sid = store.store_id
    return tuple((sid, int(r), started, finished) for r, started, finished in rows)


def with_values(
    store: Store, columns: Mapping[str, tuple[str, Sequence[Any]]], sql: str, params: dict[str, Any] | None = None
) -> list[tuple[Any, ...]]:
    """Run ``sql`` (an ``INSERT ... SELECT``, an ``UPDATE ... FROM``, a ``CREATE TEMP TABLE ... AS``) reading the
    rows given by ``columns`` as the relation ``sc_values``: each column by name, its Arrow type (``int64``,
    ``string``, ``date32``, ``bool``, ``timestamp[us]``) and its values, all of one length; ``params`` as
    ``Store.execute`` takes them. Returns the rows it gives. One statement however many rows: the registry's bulk
    writes (an audit entry, a notice, a message per listing) go through it, not a statement per row."""

    import pyarrow as pa

    values = pa.table({name: pa.array(v, type=pa.type_for_alias(kind)) for name, (kind, v) in columns.items()})
    store.con.register("sc_values", values)
    try:
        return store.execute(sql, params).fetchall()
    finally:
        store.con.unregister("sc_values")


def newest_first(
    table: str, key: str, filters: Sequence[tuple[str, Any]], *, after: int | None = None, limit: int | None = None
) -> tuple[str, list[Any]]:
    """The query of the rows of ``table`` whose columns equal the ``filters`` given (a value None is no filter),
    newest first (``key`` down), and its parameters: with ``after``, the last ``key`` of the page before, only the
    older rows; with ``limit``, at most so many (a page, whatever the store holds)."""
    where = [f"{col} = ?" for col, value in filters if value is not None]
    params = [value for _, value in filters if value is not None]
    if after is not None:
        where.append(f"{key} < ?")
        params.append(after)
    sql = f"SELECT * FROM {table}" + (" WHERE " + " AND ".join(where) if where else "") + f" ORDER BY {key} DESC"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return sql, params
