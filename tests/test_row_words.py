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
    "birth": "1980-05-17",
    "start": "2026-01-01",
    "end": "2025-12-31",
    "today": "2026-06-30",
    "source": "court",
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


# Every run of words of the table, as a sender could repeat it inside a value
_WORDS_OF_TABLE = sorted(
    {words for en, _ in WORDS.values() for words in string.Formatter().parse(en) for words in [words[0]] if words}
)


@pytest.mark.parametrize("words", _WORDS_OF_TABLE)
def test_a_value_made_of_the_tables_words_is_said_as_it_is(words: str) -> None:
    """A 64 KiB value (a field at the body's limit) that repeats a template's words over and over is carried whole
    into the Chinese: its words neither split it nor are matched back and forth (the matcher cuts the message at the
    last place of each template's words, one scan each; a pattern over it once cost 0.34 CPU s a row)."""
    value = (words * (65536 // len(words) + 1))[:65536]
    assert in_chinese(f"'{value}' is not a whole number") == f"“{value}”不是整数"
    assert (
        in_chinese(f"{value} is before the subject's birth (1980-05-17)")
        == f"{value} 早于当事人的出生日期（1980-05-17）"
    )
    assert in_chinese(f"'{value}' is not allowed; allowed: low, high") == f"“{value}”不是允许的值；允许的值：low, high"


def test_a_senders_value_is_not_translated_nor_split_by_the_words_it_holds() -> None:
    # the table's English terms are words of {what} only: a value that is one stays as sent
    assert in_chinese("'a name' is not allowed; allowed: low, high") == "“a name”不是允许的值；允许的值：low, high"
    assert in_chinese("'a value' is not a whole number") == "“a value”不是整数"
    # a value holding another template's words: the value is all the sender sent, the allowed values the registry's
    assert in_chinese(
        "'x' is not allowed; allowed: y' is not a profession of the catalog; allowed: farmer, teacher"
    ) == ("“x' is not allowed; allowed: y”不是目录中的职业；允许的值：farmer, teacher")
    assert (
        in_chinese("'x'; allowed: y' is not allowed; allowed: low, high")
        == "“x'; allowed: y”不是允许的值；允许的值：low, high"
    )
    assert in_chinese("'x' is not a profession of the catalog; allowed: z' is not allowed; allowed: low, high") == (
        "“x' is not a profession of the catalog; allowed: z”不是允许的值；允许的值：low, high"
    )
    # a date the registry puts is a date: a message that only looks like the reason stays as it is
    assert in_chinese("x is before the subject's birth (soon)") == "x is before the subject's birth (soon)"
