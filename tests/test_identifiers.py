"""Tests of socialcredit.identifiers: resident identity numbers and Unified Social Credit Codes."""

from __future__ import annotations

import doctest
import importlib.machinery
from datetime import date
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socialcredit import identifiers
from socialcredit.errors import IdentifierError
from socialcredit.identifiers import (
    OrgCode,
    ResidentId,
    make_ric,
    make_uscc,
    region_name,
    ric_check_char,
    subject_kind,
    validate_ric,
    validate_subject_id,
    validate_uscc,
)

TODAY = date(2025, 6, 1)
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def oracle_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2, written independently of stdnum: the test oracle."""
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(first17))
    check = (12 - total % 11) % 11
    return "X" if check == 10 else str(check)


def with_check(first17: str) -> str:
    return first17 + oracle_check_char(first17)


def raises(func: object, value: object, **kwargs: object) -> IdentifierError:
    assert callable(func)
    with pytest.raises(IdentifierError) as e:
        func(value, **kwargs)
    return e.value


# --- the oracle itself -------------------------------------------------------------------------


def test_oracle_agrees_with_published_examples() -> None:
    # stdnum's doctest example and the GB 11643 example number.
    assert oracle_check_char("36042619910101007") == "1"
    assert oracle_check_char("11010519491231002") == "X"


# --- resident identity numbers: valid ----------------------------------------------------------


@pytest.mark.parametrize(
    ("first17", "birth", "sex", "region_name"),
    [
        ("11010519491001001", date(1949, 10, 1), "M", "朝阳区"),
        ("11010519491001002", date(1949, 10, 1), "F", "朝阳区"),
        ("36042619910101007", date(1991, 1, 1), "M", "德安县"),
        ("11010519491231002", date(1949, 12, 31), "F", "朝阳区"),  # ends in X
        ("11011820160229123", date(2016, 2, 29), "M", "密云区"),
        ("11010119000101998", date(1900, 1, 1), "F", "东城区"),
    ],
)
def test_valid_ric(first17: str, birth: date, sex: str, region_name: str) -> None:
    number = with_check(first17)
    assert validate_ric(number, today=TODAY) == ResidentId(
        number=number, region_code=first17[:6], birth_date=birth, sex=sex, region_name=region_name
    )


def test_ric_ending_in_x() -> None:
    number = with_check("11010519491231002")
    assert number.endswith("X")
    assert validate_ric(number, today=TODAY).number == number
    assert validate_ric(number.lower(), today=TODAY).number == number


def test_ric_is_compacted() -> None:
    assert validate_ric("  110105 19491231 002x ", today=TODAY).number == "11010519491231002X"


@pytest.mark.parametrize(
    "value",
    [
        "１１０１０５１９４９１２３１００２ｘ",  # full-width digits and x, as a Chinese input method types them
        "110105\u3000１９４９1231002X",  # an ideographic space, some digits full-width
        "\ufeff11010519491231002X",  # a byte order mark, from a spreadsheet's export
        "110105\u200b19491231\u00ad002X\u2060",  # zero-width space, soft hyphen, word joiner
    ],
)
def test_ric_full_width_and_invisible_characters_are_compacted(value: str) -> None:
    assert validate_ric(value, today=TODAY).number == "11010519491231002X"
    assert validate_subject_id(value, today=TODAY).number == "11010519491231002X"
    assert subject_kind(value) == "person"


def test_uscc_full_width_and_invisible_characters_are_compacted() -> None:
    assert validate_uscc("９１１１００００６０００３７３４１ｌ").number == "91110000600037341L"
    assert validate_subject_id("\u200b91110000600037341l\ufeff").number == "91110000600037341L"


def test_full_width_characters_show_as_ascii_in_messages() -> None:
    error = raises(validate_ric, "１１０１０５１９４９１２３１００２")
    assert str(error) == "resident identity number '11010519491231002' has 17 characters; expected 18"
    error = raises(validate_uscc, "９１１１０Ｏ００６０００３７３４１Ｌ")
    assert str(error) == (
        "unified social credit code '91110O00600037341L' has 'O' at position 6; allowed are 0-9 and A-Z without I, O,"
        " S, V, Z"
    )


def test_birth_date_today_is_accepted() -> None:
    number = make_ric("110101", TODAY, 1)
    assert validate_ric(number, today=TODAY).birth_date == TODAY


def test_default_today_is_today() -> None:
    assert validate_ric(make_ric("110101", date.today(), 2)).sex == "F"


def test_ric_check_char() -> None:
    assert ric_check_char("11010519491231002") == "X"
    assert ric_check_char("36042619910101007") == "1"


def test_make_ric() -> None:
    assert make_ric("110105", date(1949, 10, 1), 1) == with_check("11010519491001001")
    assert make_ric("110105", date(1949, 10, 1), 0) == with_check("11010519491001000")
    assert make_ric("110105", date(1949, 10, 1), 999) == with_check("11010519491001999")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("11010", date(1990, 1, 1), 1), "region code '11010' must be 6 digits"),
        (("11010a", date(1990, 1, 1), 1), "region code '11010a' must be 6 digits"),
        (("110105", date(1990, 1, 1), 1000), "sequence 1000 must be from 0 to 999"),
        (("110105", date(1990, 1, 1), -1), "sequence -1 must be from 0 to 999"),
    ],
)
def test_make_ric_refuses(args: tuple[str, date, int], message: str) -> None:
    with pytest.raises(IdentifierError) as e:
        make_ric(*args)
    assert str(e.value) == message
    assert e.value.reason == "format"


@pytest.mark.parametrize("first17", ["1101051949100100", "1101051949100100A", "110105194910010011"])
def test_ric_check_char_refuses(first17: str) -> None:
    error = raises(ric_check_char, first17)
    assert str(error) == f"the first part of a resident identity number must be 17 digits; got {first17!r}"
    assert error.reason == "format"


# --- resident identity numbers: invalid --------------------------------------------------------


@pytest.mark.parametrize("value", ["", "   ", "\t\n", None, 110105194910010015])
def test_ric_empty(value: object) -> None:
    error = raises(validate_ric, value)
    assert str(error) == "resident identity number is empty"
    assert error.reason == "empty"


@pytest.mark.parametrize(
    ("value", "shown", "n"),
    [
        ("11010519491001001", "11010519491001001", 17),
        ("1101051949100100155", "1101051949100100155", 19),
        ("1", "1", 1),
        (" 1101051949 1001001 ", "11010519491001001", 17),
    ],
)
def test_ric_length(value: str, shown: str, n: int) -> None:
    error = raises(validate_ric, value)
    assert str(error) == f"resident identity number {shown!r} has {n} characters; expected 18"
    assert error.reason == "length"
    assert error.value == value


@pytest.mark.parametrize(
    "value",
    [
        "A10105194910010015",
        "1101051949100100A5",
        "11010519491001X015",
        "1101-5194910010015",
    ],
)
def test_ric_non_digit(value: str) -> None:
    error = raises(validate_ric, value)
    assert str(error) == f"resident identity number {value!r} has a non-digit in its first 17 characters"
    assert error.reason == "format"


@pytest.mark.parametrize(("value", "last"), [("11010519491001001A", "A"), ("11010519491001001-", "-")])
def test_ric_bad_last_character(value: str, last: str) -> None:
    error = raises(validate_ric, value)
    assert str(error) == (f"resident identity number {value!r} ends in {last!r}; the check character must be 0-9 or X")
    assert error.reason == "format"


@pytest.mark.parametrize(
    ("value", "got", "expected"),
    [
        ("110105194910010016", "6", "5"),
        ("110105194910010010", "0", "5"),
        ("11010519491001001X", "X", "5"),
        ("110105194912310020", "0", "X"),
        ("110105194912310021", "1", "X"),
    ],
)
def test_ric_checksum(value: str, got: str, expected: str) -> None:
    assert oracle_check_char(value[:17]) == expected
    error = raises(validate_ric, value)
    assert str(error) == f"resident identity number {value!r} has check character {got!r}; expected {expected!r}"
    assert error.reason == "checksum"


def test_ric_checksum_message_shows_compacted_lowercase_x() -> None:
    error = raises(validate_ric, "11010519491001001x")
    assert str(error) == ("resident identity number '11010519491001001X' has check character 'X'; expected '5'")


@pytest.mark.parametrize(
    "yyyymmdd",
    ["19490230", "19491301", "19490000", "19491000", "00000101", "18991231", "19000229", "20230229"],
)
def test_ric_impossible_birth_date(yyyymmdd: str) -> None:
    value = with_check(f"110105{yyyymmdd}001")
    error = raises(validate_ric, value, today=TODAY)
    assert str(error) == f"resident identity number {value!r} has an impossible birth date {yyyymmdd}"
    assert error.reason == "birth_date"


@pytest.mark.parametrize("yyyymmdd", ["20250602", "20260101", "99991231"])
def test_ric_birth_date_in_future(yyyymmdd: str) -> None:
    value = with_check(f"110105{yyyymmdd}001")
    error = raises(validate_ric, value, today=TODAY)
    assert str(error) == f"resident identity number {value!r} has a birth date in the future {yyyymmdd}"
    assert error.reason == "birth_date"


# --- the region-code trap ----------------------------------------------------------------------


def test_miyun_1960_with_the_1982_code_is_accepted() -> None:
    # 110228 (密云县) existed 1982-2015 only; a person born in 1960 got it at first card issue.
    value = "110228196001010017"
    assert oracle_check_char(value[:17]) == value[17]
    person = validate_ric(value, today=TODAY)
    assert (person.region_code, person.region_name, person.birth_date) == (
        "110228",
        "密云县",
        date(1960, 1, 1),
    )


def test_tongzhou_1990_with_the_county_code_is_accepted() -> None:
    value = make_ric("110223", date(1990, 5, 12), 2)
    assert value == with_check("11022319900512002")
    person = validate_ric(value, today=TODAY)
    assert (person.region_name, person.sex) == ("通县", "F")


def test_code_valid_only_after_birth_year_is_accepted() -> None:
    # 110118 (密云区) exists since 2015; a 1990 birth may carry it (valid between 1990 and today).
    person = validate_ric(make_ric("110118", date(1990, 1, 1), 5), today=TODAY)
    assert person.region_name == "密云区"


def test_code_not_yet_valid_on_today_is_refused() -> None:
    value = make_ric("110118", date(1990, 1, 1), 5)
    error = raises(validate_ric, value, today=date(2010, 1, 1))
    assert str(error) == (
        f"resident identity number {value!r} has region code 110118 (密云区), in use from 2015 only: not yet in 2010"
    )
    assert error.zh == f"居民身份证号码 {value!r} 的地区代码 110118（密云区）的使用期为 2015 年起，2010 年尚未启用"
    assert error.reason == "region"


def test_code_valid_in_birth_year_is_accepted() -> None:
    # 110208 (密云县) was valid until 1982.
    assert validate_ric(make_ric("110208", date(1960, 1, 1), 1), today=TODAY).region_name == "密云县"


@pytest.mark.parametrize(
    ("code", "birth", "said", "said_zh"),
    [
        ("110208", date(1990, 1, 1), "(密云县), in use until 1982", "（密云县）的使用期为 1982 年及以前"),
        ("110208", date(1983, 1, 1), "(密云县), in use until 1982", "（密云县）的使用期为 1982 年及以前"),
        ("110103", date(2011, 1, 1), "(崇文区), in use until 2010", "（崇文区）的使用期为 2010 年及以前"),
        ("110110", date(1987, 6, 1), "(燕山区), in use until 1986", "（燕山区）的使用期为 1986 年及以前"),
        ("110228", date(2016, 3, 1), "(密云县), in use 1982-2015", "（密云县）的使用期为 1982–2015 年"),
        # the table's empty period [1983-1982]梅州市 is not said (until 2026-12-06: "in use 1983-1982, 1983-1987")
        ("442401", date(1990, 1, 1), "(梅县市), in use 1983-1987", "（梅县市）的使用期为 1983–1987 年"),
    ],
)
def test_code_that_ended_before_the_birth_year_is_refused(code: str, birth: date, said: str, said_zh: str) -> None:
    """The code is known, and said so with its years (until 2026-12-06: "has an unknown region code 110228", "的地区代码
    110228 不存在", of a code the reference data names)."""
    value = make_ric(code, birth, 1)
    error = raises(validate_ric, value, today=TODAY)
    year = birth.year
    assert str(error) == (
        f"resident identity number {value!r} has region code {code} {said} only: gone before the birth year {year}"
    )
    assert error.zh == f"居民身份证号码 {value!r} 的地区代码 {code}{said_zh}，出生年份 {year} 年时已停用"
    assert error.reason == "region"


def test_code_that_ended_in_the_birth_year_is_accepted() -> None:
    assert validate_ric(make_ric("110208", date(1982, 12, 31), 1), today=TODAY).region_name == "密云县"
    assert validate_ric(make_ric("110103", date(2010, 1, 1), 1), today=TODAY).region_name == "崇文区"


@pytest.mark.parametrize("code", ["119999", "999999", "000000", "110299", "710199"])
def test_code_that_never_existed_is_refused(code: str) -> None:
    value = make_ric(code, date(1990, 1, 1), 1)
    error = raises(validate_ric, value, today=TODAY)
    assert str(error) == f"resident identity number {value!r} has an unknown region code {code}"
    assert error.reason == "region"


@pytest.mark.parametrize(
    ("birth", "name"),
    [
        (date(1980, 1, 1), "东郊区"),  # [-1991]东郊区
        (date(1991, 12, 31), "东郊区"),
        (date(1992, 1, 1), "东丽区"),  # [1992-]东丽区
        (date(2000, 1, 1), "东丽区"),
    ],
)
def test_region_name_of_the_period_of_birth(birth: date, name: str) -> None:
    assert validate_ric(make_ric("120110", birth, 1), today=TODAY).region_name == name


def test_region_name_skips_empty_periods() -> None:
    # stdnum's table has 210311 = "[1983-1982]郊区,[1983-1995]旧堡区,[1996-]千山区":
    # its first period is empty (ends before it starts).
    assert validate_ric(make_ric("210311", date(1970, 1, 1), 1), today=TODAY).region_name == "旧堡区"
    assert validate_ric(make_ric("210311", date(2000, 1, 1), 1), today=TODAY).region_name == "千山区"


# --- Unified Social Credit Codes ---------------------------------------------------------------


def test_stdnum_example_is_valid() -> None:
    assert validate_uscc("91110000600037341L") == OrgCode(
        number="91110000600037341L", region_code="110000", registry="9", entity_type="1"
    )


def test_uscc_is_compacted() -> None:
    assert validate_uscc(" 9 1 110000 600037341l ").number == "91110000600037341L"


def test_make_uscc() -> None:
    assert make_uscc("91110000600037341") == "91110000600037341L"
    assert validate_uscc(make_uscc("Y1ABCDEF123456789")).registry == "Y"


@pytest.mark.parametrize("first17", ["9111000060003734", "91110000600037341L", "9111000060003734I"])
def test_make_uscc_refuses(first17: str) -> None:
    with pytest.raises(IdentifierError) as e:
        make_uscc(first17)
    assert str(e.value) == (
        "the first part of a unified social credit code must be 17 characters from 0-9 and A-Z"
        f" without I, O, S, V, Z; got {first17!r}"
    )
    assert e.value.reason == "format"


@pytest.mark.parametrize("value", ["", "  ", None])
def test_uscc_empty(value: object) -> None:
    error = raises(validate_uscc, value)
    assert str(error) == "unified social credit code is empty"
    assert error.reason == "empty"


@pytest.mark.parametrize(("value", "n"), [("12345", 5), ("91110000600037341", 17), ("91110000600037341LL", 19)])
def test_uscc_length(value: str, n: int) -> None:
    error = raises(validate_uscc, value)
    assert str(error) == f"unified social credit code {value!r} has {n} characters; expected 18"
    assert error.reason == "length"


@pytest.mark.parametrize(
    ("value", "char", "position"),
    [
        ("I1110000600037341L", "I", 1),
        ("91110000O00037341L", "O", 9),
        ("91110000600037341S", "S", 18),
        ("9111000060003734V1", "V", 17),
        ("91Z10000600037341L", "Z", 3),
        ("91110000-00037341L", "-", 9),
        ("9111000060003734é1", "é", 17),  # only ASCII letters are upper-cased
        ("91110000600037341o", "O", 18),
        ("91110000٦00037341L", "٦", 9),  # an Arabic-Indic six: only full-width forms become ASCII
        ("9I1O0000600037341L", "I", 2),
    ],
)
def test_uscc_bad_character(value: str, char: str, position: int) -> None:
    error = raises(validate_uscc, value)
    shown = value.upper() if value.isascii() else value
    assert str(error) == (
        f"unified social credit code {shown!r} has {char!r} at position {position};"
        " allowed are 0-9 and A-Z without I, O, S, V, Z"
    )
    assert error.reason == "format"


@pytest.mark.parametrize(
    ("value", "got", "expected"), [("91110000600037341M", "M", "L"), ("911100006000373420", "0", "P")]
)
def test_uscc_checksum(value: str, got: str, expected: str) -> None:
    error = raises(validate_uscc, value)
    assert str(error) == f"unified social credit code {value!r} has check character {got!r}; expected {expected!r}"
    assert error.reason == "checksum"


# --- subjects: person or organisation ----------------------------------------------------------

ALL_DIGIT_USCC = "911100006000373060"  # a valid credit code whose 18 characters are all digits


def test_subject_person() -> None:
    value = "110228196001010017"
    assert validate_subject_id(value, today=TODAY) == validate_ric(value, today=TODAY)
    assert subject_kind(value) == "person"


@pytest.mark.parametrize("value", ["91110000600037341L", ALL_DIGIT_USCC, make_uscc("Y1ABCDEF123456789")])
def test_subject_org(value: str) -> None:
    assert validate_subject_id(value, today=TODAY) == validate_uscc(value)
    assert subject_kind(value) == "org"


def test_all_digit_uscc_is_also_ric_shaped() -> None:
    assert validate_uscc(ALL_DIGIT_USCC).region_code == "110000"
    assert raises(validate_ric, ALL_DIGIT_USCC).reason in {"checksum", "birth_date", "region"}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "110105194910010016",
            "resident identity number '110105194910010016' has check character '6'; expected '5'",
        ),
        (
            "91110000600037341M",
            "resident identity number '91110000600037341M' ends in 'M'; the check character must be 0-9 or X",
        ),
        (
            "91110000600037341",
            "unified social credit code '91110000600037341' has 17 characters; expected 18",
        ),
        ("", "unified social credit code is empty"),
        (
            "9111000060003734IL",
            "unified social credit code '9111000060003734IL' has 'I' at position 17;"
            " allowed are 0-9 and A-Z without I, O, S, V, Z",
        ),
    ],
)
def test_subject_errors(value: str, message: str) -> None:
    error = raises(validate_subject_id, value, today=TODAY)
    assert str(error) == message
    assert subject_kind(value) == "org"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("110105200101248673", "has check character '3'; expected '0'"),
        ("11010118991231001X", "has an impossible birth date 18991231"),
        (
            "110228201603010149",
            "has region code 110228 (密云县), in use 1982-2015 only: gone before the birth year 2016",
        ),
    ],
)
def test_a_mistyped_identity_number_is_no_credit_code(value: str, message: str) -> None:
    """Each of these is a valid credit code by its check character (mod 31, as 1 in 31 mistyped identity numbers
    is), but its region (characters 3-8: the number's digits 3-6 and the birth year's first two) is no division
    code: it was registered as an organisation, where it is a person's number with a mistake."""
    assert validate_uscc(value).region_code == value[2:8]
    error = raises(validate_subject_id, value, today=TODAY)
    assert str(error) == f"resident identity number {value!r} {message}"


@pytest.mark.parametrize("value", ["110105491001001", " 110105 491001 001 ", "１１０１０５４９１００１００１"])
def test_an_old_15_digit_number_is_named_as_such(value: str) -> None:
    error = raises(validate_subject_id, value, today=TODAY)
    assert str(error) == (
        "subject id '110105491001001' has 15 digits, the form of an identity number before 1999 (or of a business"
        " registration number before 2015); expected the 18-character resident identity number or unified social"
        " credit code"
    )
    assert (error.reason, error.value) == ("length", value)


@pytest.mark.parametrize(
    ("value", "shown"), [("1.10101E+17", "1.10101E+17"), (" 1.10105194910010e17", "1.10105194910010e17")]
)
def test_a_spreadsheets_scientific_notation_is_named_as_such(value: str, shown: str) -> None:
    error = raises(validate_subject_id, value, today=TODAY)
    assert str(error) == (
        f"subject id {shown!r} is a number in scientific notation, as a spreadsheet shows a long number: its last"
        " digits are lost; export the column as text"
    )
    assert error.reason == "format"


def test_subject_kind_of_non_string() -> None:
    assert subject_kind(None) == "org"  # type: ignore[arg-type]


def test_doctests() -> None:
    assert doctest.testmod(identifiers).failed == 0


# --- properties --------------------------------------------------------------------------------

CURRENT_CODES = [
    "110101",
    "110102",
    "110105",
    "110108",
    "110112",
    "110118",
    "120110",
    "310104",
    "360426",
    "440305",
    "510107",
    "650102",
]
dates = st.dates(min_value=date(1920, 1, 1), max_value=date(2020, 12, 31))
sequences = st.integers(min_value=0, max_value=999)


@given(code=st.sampled_from(CURRENT_CODES), birth=dates, sequence=sequences)
def test_make_ric_round_trip(code: str, birth: date, sequence: int) -> None:
    number = make_ric(code, birth, sequence)
    assert number[17] == oracle_check_char(number[:17])
    person = validate_ric(number, today=TODAY)
    assert person.number == number
    assert person.region_code == code
    assert person.birth_date == birth
    assert person.sex == ("M" if sequence % 2 else "F")
    assert person.region_name
    assert validate_subject_id(number, today=TODAY) == person


@given(
    code=st.sampled_from(CURRENT_CODES),
    birth=dates,
    sequence=sequences,
    position=st.integers(min_value=0, max_value=16),
    shift=st.integers(min_value=1, max_value=9),
)
def test_ric_single_digit_substitution_is_detected(
    code: str, birth: date, sequence: int, position: int, shift: int
) -> None:
    number = make_ric(code, birth, sequence)
    digit = str((int(number[position]) + shift) % 10)
    changed = number[:position] + digit + number[position + 1 :]
    error = raises(validate_ric, changed, today=TODAY)
    assert error.reason == "checksum"  # MOD 11-2 detects every single substitution


@given(
    code=st.sampled_from(CURRENT_CODES),
    birth=dates,
    sequence=sequences,
    check=st.sampled_from("0123456789X"),
)
def test_ric_wrong_check_character_is_detected(code: str, birth: date, sequence: int, check: str) -> None:
    number = make_ric(code, birth, sequence)
    if check != number[17]:
        assert raises(validate_ric, number[:17] + check, today=TODAY).reason == "checksum"


ric_like = st.text(alphabet="0123456789Xx ", min_size=15, max_size=20)
uscc_like = st.text(alphabet=USCC_ALPHABET + "IOSVZ -x", min_size=15, max_size=20)


@given(st.one_of(st.text(), ric_like, uscc_like, st.from_regex(r"\A[0-9]{17}[0-9X]\Z")))
def test_arbitrary_text_raises_only_identifier_error(text: str) -> None:
    for func in (validate_ric, validate_uscc, validate_subject_id):
        try:
            func(text)
        except IdentifierError as error:
            assert error.reason in {"empty", "length", "format", "checksum", "birth_date", "region"}
            assert str(error)
    assert subject_kind(text) in {"person", "org"}


@given(st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17))
def test_make_uscc_validates(first17: str) -> None:
    number = make_uscc(first17)
    org = validate_uscc(number)
    assert (org.number, org.registry, org.entity_type, org.region_code) == (
        number,
        first17[0],
        first17[1],
        first17[2:8],
    )
    # a credit code shaped as an identity number is an organisation's only with a region that is a division code
    division = org.region_code == "100000" or region_name(org.region_code, 1900, 2100) is not None
    ric_shaped = number[:17].isdigit() and number[17] in "0123456789X"
    if subject_kind(number) == "org" and ric_shaped and not division:
        assert raises(validate_subject_id, number).reason in {"checksum", "birth_date", "region"}
    else:
        assert validate_subject_id(number) == org or subject_kind(number) == "person"


@given(
    first17=st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17),
    position=st.integers(min_value=0, max_value=17),
    shift=st.integers(min_value=1, max_value=30),
)
def test_uscc_single_character_substitution_is_detected(first17: str, position: int, shift: int) -> None:
    number = make_uscc(first17)
    char = USCC_ALPHABET[(USCC_ALPHABET.index(number[position]) + shift) % 31]
    changed = number[:position] + char + number[position + 1 :]
    assert raises(validate_uscc, changed).reason == "checksum"


_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@settings(deadline=None)  # (DuckDB's first statement loads its extensions)
@given(
    st.one_of(
        st.text(_CODE_CHARS, min_size=17, max_size=17).map(identifiers.make_uscc),
        st.text(_CODE_CHARS, min_size=18, max_size=18),
        st.text(_CODE_CHARS + "abcxyzIOSVZ ＡＢ１", min_size=16, max_size=19),
        st.text(min_size=0, max_size=20),
    )
)
def test_the_sql_check_of_a_credit_code_agrees_with_validate_uscc(value: str) -> None:
    """``well_formed_uscc_sql`` (ingest's check of a role's org_id, and of the identifiers refused, in SQL) holds
    exactly where ``validate_uscc`` takes the value as it is written (no compaction: an org_id is compared as sent)."""
    try:
        valid = identifiers.validate_uscc(value).number == value
    except IdentifierError:
        valid = False
    sql = f"SELECT {identifiers.well_formed_uscc_sql('v')} FROM (SELECT ?::VARCHAR AS v)"
    assert duckdb.execute(sql, [value]).fetchone() == (valid,)


def test_the_registry_regions_are_those_a_credit_codes_check_takes() -> None:
    """``registry_regions`` (a table SQL joins) holds exactly the codes ``_is_registry_region`` takes, over every
    six-digit code."""
    regions = identifiers.registry_regions()
    assert "110105" in regions and "100000" in regions and "990000" not in regions
    assert {f"{n:06d}" for n in range(1_000_000) if identifiers._is_registry_region(f"{n:06d}")} == regions


@settings(max_examples=300)
@given(
    st.text("0123456789", min_size=17, max_size=17),
    st.text(USCC_ALPHABET, min_size=17, max_size=17),
)
def test_the_check_characters_are_stdnums(digits: str, chars: str) -> None:
    """The check characters computed here (stdnum's modules are not imported at a console start) are stdnum's."""
    from stdnum.cn import ric, uscc

    assert ric_check_char(digits) == ric.calc_check_digit(digits + "0") == oracle_check_char(digits)
    assert make_uscc(chars)[-1] == uscc.calc_check_digit(chars)


def stdnums_county(code: str) -> str | None:
    """The ``county`` text stdnum's own reader of its table gives a six-digit code."""
    from stdnum import numdb

    found = numdb.get("cn/loc").info(code)
    return found[-1][1].get("county") if sum(len(part) for part, _ in found) == 6 else None


def test_the_region_table_read_directly_is_stdnums() -> None:
    """The direct reader has the codes stdnum's reader has, each with stdnum's text."""
    from stdnum import numdb

    table = identifiers._county_table()
    assert table is not None and table["110105"] == "朝阳区" and len(table) > 3_000
    counties = {
        f"{province}{n:04d}"
        for _, province, _, _, under in numdb.get("cn/loc").prefixes
        for _, low, high, props, _ in under
        if "county" in props
        for n in range(int(low), int(high) + 1)
    }
    assert set(table) == counties
    assert {code: stdnums_county(code) for code in counties} == table


@settings(max_examples=500)
@given(st.integers(0, 999_999))
def test_any_six_digit_code_reads_as_stdnum_reads_it(number: int) -> None:
    code = f"{number:06d}"
    assert identifiers._county(code) == stdnums_county(code)


def test_a_region_table_of_another_form_is_read_by_stdnums_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A table with a line the direct reader does not know (here a range of codes) is left to stdnum's numdb."""
    (tmp_path / "cn").mkdir()
    (tmp_path / "cn" / "loc.dat").write_text('11 province="北京市"\n  0101-0102 county="东城区"\n', "utf-8")
    spec = importlib.machinery.ModuleSpec("stdnum", None, is_package=True)
    spec.submodule_search_locations = [str(tmp_path)]
    monkeypatch.setattr(identifiers.importlib.util, "find_spec", lambda name: spec)
    identifiers._county_table.cache_clear()
    try:
        assert identifiers._county_table() is None
        assert identifiers._county("110105") == "朝阳区" == stdnums_county("110105")  # stdnum's own file
        assert validate_ric(with_check("11010519800101001"), today=TODAY).region_name == "朝阳区"
    finally:
        monkeypatch.undo()
        identifiers._county_table.cache_clear()
        identifiers._region_periods.cache_clear()
    assert identifiers._county_table() is not None
