"""The insert of records casts each typed field with TRY_CAST (registry/records/ingest.py ``_typed``: a rejected
row's text may be cast before the filter that drops it, and must not fail the batch). A value the validator
(``_field_checks``) lets through and the cast could not convert would be stored NULL without a word: the two must
agree, for any text a file can hold, for every type a field has. Each property runs the validator's own SQL and the
insert's own cast on the text, in DuckDB."""

from __future__ import annotations

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialcredit.catalog import FieldSpec
from socialcredit.registry.records.ingest import _Binds, _field_checks, _Staged, _typed

# text near each type's forms (digits, signs, points, exponents, separators, words DuckDB's cast reads) and any text
_PIECES = ["0", "1", "9", "-", "+", ".", "e", "E", "_", " ", "T", ":", "/", "３", "inf", "nan", "epoch", "00:00"]
near = st.lists(st.sampled_from(_PIECES), min_size=1, max_size=12).map("".join)
dates = st.dates().map(lambda d: d.isoformat()) | st.builds(
    lambda y, m, d, t: f"{y:04d}-{m:02d}-{d:02d}{t}",
    st.integers(0, 9999),
    st.integers(0, 13),
    st.integers(0, 32),
    st.sampled_from(["", " 00:00", "T00:00:00", "T00:00:00.000", " 00:00:00.", "T12:00"]),
)
numbers = st.from_regex(r"[-+]?([0-9]{1,25}[.]?[0-9]{0,25}|[.][0-9]{1,25})([eE][-+]?[0-9]{1,25})?", fullmatch=True)
texts = near | dates | numbers | st.text(max_size=20)

_con = duckdb.connect()


def _passes_and_casts(kind: str, text: str) -> tuple[bool, bool]:
    """Whether ``text`` in a field of type ``kind`` passes every check of the validator, and whether the insert's
    cast gives a value."""
    bind = _Binds()
    staged = _Staged(["v"])
    checks = _field_checks("v", FieldSpec(type=kind), "t", staged, bind)  # type: ignore[arg-type]
    typed = _typed("v", FieldSpec(type=kind), staged, bind)  # type: ignore[arg-type]
    fails = " OR ".join(f"coalesce({c.cond}, false)" for c in checks) or "false"
    sql = f"SELECT NOT ({fails}), ({typed}) IS NOT NULL FROM (SELECT $text::VARCHAR AS v)"
    row = _con.execute(sql, {"text": text, **bind.used(sql)}).fetchone()
    assert row is not None
    return bool(row[0]), bool(row[1])


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(kind=st.sampled_from(["integer", "number", "date", "boolean"]), text=texts)
def test_a_value_the_validator_passes_is_one_the_insert_casts(kind: str, text: str) -> None:
    passes, casts = _passes_and_casts(kind, text)
    assert casts or not passes, f"{text!r} passes as {kind} but the insert casts it to NULL"


def test_the_forms_each_type_takes_pass_and_cast() -> None:
    taken = {
        "integer": ["0", "-7", "000000000000042", "999999999999999"],
        "number": ["1e14", "1" + "0" * 400 + "e-400", ".5", "5.", "+5", "1e-999"],
        "date": ["2026-02-28", "2026-02-28 00:00", "2026-02-28T00:00:00.000"],
        "boolean": ["true", "FALSE"],
    }
    refused = {
        "integer": ["1_000", "３０", "1e3", "1234567890123456"],
        "number": ["inf", "NaN", "1_000", "1e999", "1e308"],
        "date": ["2026-02-30", "2026/02/28", "epoch", "2026-02-28T12:00"],
        "boolean": ["yes?"],
    }
    for kind, forms in taken.items():
        assert [_passes_and_casts(kind, t) for t in forms] == [(True, True)] * len(forms), kind
    for kind, forms in refused.items():
        assert [_passes_and_casts(kind, t)[0] for t in forms] == [False] * len(forms), kind
