"""The words of a batch's per-row errors (registry/records/row_words.py): each English reason is said in Chinese."""

from __future__ import annotations

import string

import pytest

from socialcredit.registry.records.row_words import WORDS, in_chinese

# A value for each placeholder, as the registry's SQL fills it in
_SAMPLES = {
    "char": "U+200B",
    "n": "70",
    "first": "1900-01-01",
    "most": "64",
    "what": "a record id",
    "record_type": "court_judgment",
    "allowed": "fulfilled, unfulfilled",
}


@pytest.mark.parametrize("key", list(WORDS))
def test_each_reason_is_said_in_chinese_with_its_values(key: str) -> None:
    """Every template of the table, filled in, is told by its own Chinese words (no other template takes it)."""
    en, zh = WORDS[key]
    names = {name for _, name, _, _ in string.Formatter().parse(en) if name}
    values = {name: _SAMPLES.get(name, f"x{name}'s value") for name in names}
    expected = zh.format(**{**values, "what": "记录编号"} if "what" in values else values)
    assert in_chinese(en.format(**values)) == expected


def test_reasons_said_in_chinese_by_hand() -> None:
    assert in_chinese("'12,000' is not a whole number") == "“12,000”不是整数"
    assert in_chinese("has a control character (U+001B); an address is printable text") == (
        "含有控制字符（U+001B）；地址须为可打印的文字"
    )
    assert in_chinese(
        "has an invisible character (U+200B), so it looks like another id; a record id is visible text"
    ) == ("含有不可见字符（U+200B），看似另一个编号；记录编号须为可见的文字")
    # a reason the table does not know stays as it is
    assert in_chinese("something else went wrong") == "something else went wrong"
