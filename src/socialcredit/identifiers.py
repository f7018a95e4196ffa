"""Validate the two Chinese subject identifiers: resident identity numbers and credit codes.

* Resident identity number (居民身份号码, GB 11643-1999): 6-digit region code, birth date YYYYMMDD,
  3-digit sequence (odd = male, even = female), check character 0-9 or X (ISO 7064 MOD 11-2).
* Unified Social Credit Code (统一社会信用代码, GB 32100-2015): 18 characters from 0-9 and A-Z
  without I, O, S, V, Z; the last one is a check character (mod 31).

The region-code table comes from python-stdnum (``stdnum/cn/loc.dat``); the two check characters are computed
here as the standards define them, and tests hold them equal to ``stdnum.cn.ric``'s and ``stdnum.cn.uscc``'s
for any input (importing those modules imports ``stdnum.util``, which imports ``ssl``, ``pydoc`` and ``pkgutil``
for its online look-ups: about 0.1 CPU s at every console start, for nothing the registry uses). Every failure
raises :class:`IdentifierError` with a message for a person and a short machine-readable ``reason``: ``empty``,
``length``, ``format``, ``checksum``, ``birth_date`` or ``region``.

Before validation an input is compacted: all whitespace and the invisible characters a copy and paste
brings along (zero-width space and joiners, word joiner, soft hyphen, byte order mark) are removed, full-width
forms (``１１０１０５…``, ``Ｌ``, as Chinese input methods type them) become their ASCII characters, and letters are
upper-cased (for a resident identity number only a final ``x``). Messages quote the compacted value, so that
character counts and positions in them refer to what is quoted.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import string
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

from socialcredit.errors import IdentifierError, NotFoundError, SocialCreditError, WorkflowInputError, quoted

__all__ = [
    "RECORD_ID_TO_FOLD",
    "RECORD_ID_WIDE_CHAR",
    "OrgCode",
    "ResidentId",
    "SubjectKind",
    "compact_subject_id",
    "fold_record_id",
    "fold_record_id_sql",
    "given_record_id",
    "make_ric",
    "make_uscc",
    "no_subject",
    "region_name",
    "registry_regions",
    "ric_check_char",
    "squeeze",
    "subject_kind",
    "validate_ric",
    "validate_subject_id",
    "validate_uscc",
    "well_formed_uscc_sql",
]

SubjectKind = Literal["person", "org"]

_RIC = "resident identity number"
_USCC = "unified social credit code"
_RIC_ZH = "居民身份证号码"
_USCC_ZH = "统一社会信用代码"
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 0-9 and A-Z without I, O, S, V, Z
# GB 11643-1999 (ISO 7064 MOD 11-2): digit i of the first 17 weighs 2^(17-i) mod 11; the sum mod 11 names the check.
_RIC_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_RIC_CHECK = "10X98765432"
# GB 32100-2015: character i of the first 17 weighs 3^i mod 31; the check is the character worth (31 - sum) mod 31.
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_CHARS = frozenset(_USCC_ALPHABET)
_ASCII_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)
_EARLIEST_BIRTH = date(1900, 1, 1)
# 1.10101E+17: an identifier a spreadsheet took for a number (a "." or "+", which no identifier has)
_SCIENTIFIC = re.compile(r"[0-9](\.[0-9]+[Ee]\+?|[Ee]\+)[0-9]+")

# A period of a region code: first year, last year (both inclusive, None = open), name.
_Period = tuple[int | None, int | None, str]


@dataclass(frozen=True, slots=True)
class ResidentId:
    """A valid resident identity number and its parts."""

    number: str
    region_code: str
    birth_date: date
    sex: str  # "M" or "F"
    region_name: str


@dataclass(frozen=True, slots=True)
class OrgCode:
    """A valid Unified Social Credit Code and its parts."""

    number: str
    region_code: str
    registry: str
    entity_type: str


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


# Full-width forms U+FF01-FF5E to ASCII; the invisible characters to nothing.
_COMPACT = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | dict.fromkeys(
    (0x00AD, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF), None
)


def squeeze(value: str) -> str:
    """``value`` as a person meant to paste it: full-width forms made ASCII, invisible characters (a zero-width
    space, a soft hyphen, a byte order mark) and spaces removed; an identifier, an API key, a sign-in link's token.

    >>> squeeze(" sc_０１\u200b2 ")
    'sc_012'
    """
    return "".join(value.translate(_COMPACT).split())


_squeeze = squeeze


def _compact_ric(value: str) -> str:
    number = _squeeze(value)
    if number.endswith("x"):
        number = number[:-1] + "X"
    return number


def _compact_uscc(value: str) -> str:
    return _squeeze(value).translate(_ASCII_UPPER)


def compact_subject_id(value: str) -> str:
    """The compacted form of a person's or an organisation's identifier: the ``number`` that
    :func:`validate_subject_id` gives for it when it is valid (a record's subject is looked up by it).

    >>> compact_subject_id(" 11010519491231 002x"), compact_subject_id("９１１１００００６０００３７３４１ｌ")
    ('11010519491231002X', '91110000600037341L')
    """
    return _compact_uscc(value)  # a valid identity number's only letter is its last, X


# A record id's width fold: the full-width forms of ASCII (U+FF01-U+FF5E) to their ASCII characters (U+0021-U+007E)
# and the ideographic space (U+3000) to a space, as Unicode's NFKC folds them, and nothing else (NFKC changes other
# characters too). One character for one, so an id keeps its length and the fold is linear in it.
_WIDE = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"
_NARROW = "".join(chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)) + " "
_FOLD_WIDTH = str.maketrans(_WIDE, _NARROW)


# A character fold_record_id changes, as a regular expression (RE2's, DuckDB's regexp_matches).
RECORD_ID_WIDE_CHAR = r"[\x{FF01}-\x{FF5E}\x{3000}]"
# An id fold_record_id changes: one with a wide character, or a space at either end (the ideographic space folded).
RECORD_ID_TO_FOLD = RECORD_ID_WIDE_CHAR + "|^ | $"


def fold_record_id(value: str) -> str:
    """A record id as it is stored, compared and looked up: its full-width forms of ASCII made ASCII and its
    ideographic spaces plain ones (what NFKC does to them, and only that), so that a source's two spellings of one id
    name one record; then the spaces at either end dropped, as ingest trims an id's ASCII spaces (an id sent as
    ``\u3000R-1`` is ``R-1``, as `` R-1`` is; until 2026-12-05 it was `` R-1``, another record).
    :func:`fold_record_id_sql` is the same fold in SQL.

    >>> fold_record_id("（2024）京０１民初123号"), fold_record_id("\u3000R-1 ")
    ('(2024)京01民初123号', 'R-1')
    """
    return value.translate(_FOLD_WIDTH).strip(" ")


def given_record_id(value: str) -> str:
    """A record id as typed, folded (:func:`fold_record_id`); one that is nothing once folded (spaces, full-width
    spaces) is refused as such: it was looked up as '' and told "no record ''"."""
    record_id = fold_record_id(value)
    if not record_id:
        raise WorkflowInputError(
            "the record id is empty once its spaces are trimmed (full-width ones too): give the record's id as its "
            "source sent it",
            field="record_id",
            code="empty_record_id",
            zh="记录编号去掉空格（含全角空格）后为空：请按来源报送的编号填写",
        )
    return record_id


def no_subject(subject_id: str) -> SocialCreditError:
    """The refusal of a subject no one registered, by its compacted identifier; one that is nothing once compacted
    (spaces, full-width spaces) is told as such (it was told "no registered subject ''")."""
    if not subject_id:
        return IdentifierError(
            "the subject's identifier is empty once its spaces are removed (full-width ones too): give an identity "
            "number or a unified social credit code",
            reason="empty",
            value=subject_id,
            field="subject_id",
            zh="主体证件号码去掉空格（含全角空格）后为空：请填写身份证号码或统一社会信用代码",
        )
    return NotFoundError(f"no registered subject {quoted(subject_id)}", zh=f"没有登记的主体 {quoted(subject_id)}")


def fold_record_id_sql(column: str, *, portable: bool = False) -> str:
    """SQL folding the record ids of ``column`` as :func:`fold_record_id` folds one.

    An id without a character to fold nor a space at an end (:data:`RECORD_ID_TO_FOLD`), nearly every one, is taken
    as it is: a
    ``regexp_matches`` costs a fraction of a fold. A wide one is folded character by character in DuckDB's SQL, which
    is faster there than a ``translate`` with the 95 characters' table; ``portable`` gives ``translate`` instead, for a
    tree sqlglot prints for Spark too (backends/files.py)."""
    if portable:
        wide, narrow = (text.replace("'", "''") for text in (_WIDE, _NARROW))
        fold = f"translate({column}, '{wide}', '{narrow}')"
    else:
        fold = (
            f"array_to_string(list_transform(string_split({column}, ''), sc_char -> CASE "
            f"WHEN unicode(sc_char) BETWEEN {ord(_WIDE[0])} AND {ord(_WIDE[-2])} THEN chr(unicode(sc_char) - {0xFEE0}) "
            f"WHEN unicode(sc_char) = {ord(_WIDE[-1])} THEN ' ' ELSE sc_char END), '')"
        )
    return f"CASE WHEN regexp_matches({column}, '{RECORD_ID_TO_FOLD}') THEN trim({fold}, ' ') ELSE {column} END"


def _raw(value: object) -> str:
    return value if isinstance(value, str) else repr(value)


# stdnum's region table, cn/loc.dat, is lines of a province (`11 province="北京市"`) each followed by its counties,
# indented (`  0101 county="东城区"`). Importing stdnum to read it costs a console start about 0.2 CPU s: the package
# imports stdnum.util, which imports ssl, pydoc and pkgutil for its online look-ups (0.1 s), and numdb's general
# reader takes 0.1 s for the file's 6,900 lines. A file of that simple form is read here directly (a few ms); one
# with anything else (a range of codes, a deeper level, more properties) is read by stdnum's numdb, as before.
_LOC_LINE = re.compile(r'( {2})?([0-9]+) (province|county)="([^"]*)"')


@functools.cache
def _county_table() -> dict[str, str] | None:
    """Every 6-digit code of stdnum's table with its ``county`` text; None where the file is not of the simple form
    (then :func:`_county` asks stdnum's numdb)."""
    spec = importlib.util.find_spec("stdnum")  # finds the package without importing it
    folders = spec.submodule_search_locations if spec is not None else None
    if not folders:
        return None
    table: dict[str, str] = {}
    province: str | None = None
    with (Path(next(iter(folders))) / "cn" / "loc.dat").open(encoding="utf-8") as lines:
        for line in lines:
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            match = _LOC_LINE.fullmatch(line)
            if match is None:
                return None
            indent, code, key, value = match.groups()
            if not indent and len(code) == 2 and key == "province":
                province = code
            elif indent and len(code) == 4 and key == "county" and province is not None:
                table[province + code] = value
            else:
                return None
    return table


def _county(code: str) -> str | None:
    """The ``county`` text of the 6-digit ``code`` in stdnum's table, None if the table has no such county."""
    table = _county_table()
    if table is not None:
        return table.get(code)
    from stdnum import numdb

    results = numdb.get("cn/loc").info(code)
    if sum(len(part) for part, _ in results) != 6:
        return None
    return results[-1][1].get("county")


@functools.lru_cache(maxsize=16384)
def _region_periods(code: str) -> tuple[_Period, ...]:
    """The periods of a 6-digit region code in stdnum's table; empty if the code is unknown.

    The ``county`` property reads like ``[1982-2015]密云县`` or ``[-1991]东郊区,[1992-]东丽区``
    (years inclusive, either may be missing); a name without brackets is valid at all times.
    """
    if len(code) != 6 or not _is_digits(code) or (county := _county(code)) is None:
        return ()
    periods: list[_Period] = []
    for entry in county.split(","):
        if entry.startswith("[") and "]" in entry:
            span, name = entry[1:].split("]", 1)
            start, _, end = span.partition("-")
            periods.append((int(start) if start else None, int(end) if end else None, name))
        else:
            periods.append((None, None, entry))
    return tuple(periods)


def _region_name(code: str, birth_year: int, this_year: int) -> str | None:
    """The name of ``code`` for a person born in ``birth_year``; None if it cannot be theirs.

    The code must have been valid at some time from the birth year to this year. The name is that
    of the period covering the birth year, or else of the earliest period after it.
    """
    best: tuple[int, str] | None = None
    for start, end, name in _region_periods(code):
        first = max(birth_year, start if start is not None else birth_year)
        last = min(this_year, end if end is not None else this_year)
        if first > last:  # no overlap (or an empty period such as [1983-1982])
            continue
        if best is None or first < best[0]:
            best = (first, name)
    return None if best is None else best[1]


def region_name(code: str, birth_year: int, this_year: int) -> str | None:
    """The name of region ``code`` for a resident identity number of someone born in ``birth_year``; None if the
    code cannot be theirs (see :func:`validate_ric` for the rule). Set-based checks call it once per pair.

    >>> region_name("110228", 1960, 2024)
    '密云县'
    """
    return _region_name(code, birth_year, this_year)


def ric_check_char(first17: str) -> str:
    """The check character (0-9 or X) for the first 17 digits of a resident identity number.

    >>> ric_check_char("11010519491001001")
    '5'
    """
    if len(first17) != 17 or not _is_digits(first17):
        raise IdentifierError(
            f"the first part of a {_RIC} must be 17 digits; got {first17!r}", reason="format", value=first17
        )
    return _ric_check(first17)


def _ric_check(first17: str) -> str:
    """The check character of 17 ASCII digits (checked by the caller)."""
    return _RIC_CHECK[sum(int(digit) * weight for digit, weight in zip(first17, _RIC_WEIGHTS, strict=True)) % 11]


def _uscc_check(first17: str) -> str:
    """The check character of 17 characters of the code's alphabet (checked by the caller)."""
    total = sum(_USCC_ALPHABET.index(char) * weight for char, weight in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total) % 31]


def make_ric(region_code: str, birth_date: date, sequence: int) -> str:
    """Build a valid resident identity number (for generators and tests).

    >>> make_ric("110105", date(1949, 10, 1), 1)
    '110105194910010015'
    """
    if len(region_code) != 6 or not _is_digits(region_code):
        raise IdentifierError(f"region code {region_code!r} must be 6 digits", reason="format", value=region_code)
    if not 0 <= sequence <= 999:
        raise IdentifierError(f"sequence {sequence} must be from 0 to 999", reason="format", value=str(sequence))
    first17 = f"{region_code}{birth_date.year:04d}{birth_date.month:02d}{birth_date.day:02d}{sequence:03d}"
    return first17 + ric_check_char(first17)


def _region_refused(number: str, value: str, code: str, birth_year: int, this_year: int) -> IdentifierError:
    """Why region ``code`` cannot be that of a number of someone born in ``birth_year``: no such code, or a code in
    use only before that year (``110228``, 密云县, 1982-2015, in a number of 2016) or only after ``this_year``. An
    empty period of the reference table (``[1983-1982]郊区`` of 210311, one of 14 such codes) is no use: not said, as
    ``_region_name`` skips it."""
    periods = tuple(p for p in _region_periods(code) if p[0] is None or p[1] is None or p[0] <= p[1])
    if not periods:
        return IdentifierError(
            f"{_RIC} {number!r} has an unknown region code {code}",
            reason="region",
            value=value,
            zh=f"{_RIC_ZH} {number!r} 的地区代码 {code} 不存在",
        )
    spans = [
        (f"{start}-{end}", f"{start}–{end} 年")
        if start is not None and end is not None
        else (f"until {end}", f"{end} 年及以前")
        if end is not None
        else (f"from {start}", f"{start} 年起")
        for start, end, _ in periods
    ]
    en, zh = ", ".join(en for en, _ in spans), "、".join(zh for _, zh in spans)
    name = periods[-1][2]
    if all(end is not None and end < birth_year for _, end, _ in periods):
        why, why_zh = f"gone before the birth year {birth_year}", f"出生年份 {birth_year} 年时已停用"
    else:
        why, why_zh = f"not yet in {this_year}", f"{this_year} 年尚未启用"
    return IdentifierError(
        f"{_RIC} {number!r} has region code {code} ({name}), in use {en} only: {why}",
        reason="region",
        value=value,
        zh=f"{_RIC_ZH} {number!r} 的地区代码 {code}（{name}）的使用期为 {zh}，{why_zh}",
    )


def validate_ric(value: str, *, today: date | None = None) -> ResidentId:
    """Validate a resident identity number and return its parts.

    Region rule: a number keeps the region code of the place where it was first assigned (at birth
    registration, or at the first card issue from 1984 for older people; the 18-digit numbers of 1999
    kept the codes of the 15-digit ones). So a code is accepted if it was valid at some time from the
    birth year up to ``today`` (default: today), even if it did not exist in the birth year —
    stdnum's ``get_birth_place`` is stricter and would refuse such numbers.

    >>> person = validate_ric("110228196001010017", today=date(2024, 1, 1))
    >>> person.birth_date, person.sex, person.region_name
    (datetime.date(1960, 1, 1), 'M', '密云县')
    """
    if not isinstance(value, str) or not (number := _compact_ric(value)):
        raise IdentifierError(f"{_RIC} is empty", reason="empty", value=_raw(value), zh=f"{_RIC_ZH}为空")
    if len(number) != 18:
        raise IdentifierError(
            f"{_RIC} {quoted(number)} has {len(number)} characters; expected 18",
            reason="length",
            value=value,
            zh=f"{_RIC_ZH} {quoted(number)} 有 {len(number)} 个字符；应为 18 个",
        )
    if not _is_digits(number[:17]):
        raise IdentifierError(
            f"{_RIC} {number!r} has a non-digit in its first 17 characters",
            reason="format",
            value=value,
            zh=f"{_RIC_ZH} {number!r} 的前 17 位中有非数字字符",
        )
    got = number[17]
    if got not in "0123456789X":
        raise IdentifierError(
            f"{_RIC} {number!r} ends in {got!r}; the check character must be 0-9 or X",
            reason="format",
            value=value,
            zh=f"{_RIC_ZH} {number!r} 以 {got!r} 结尾；校验码应为 0-9 或 X",
        )
    expected = _ric_check(number[:17])
    if got != expected:
        raise IdentifierError(
            f"{_RIC} {number!r} has check character {got!r}; expected {expected!r}",
            reason="checksum",
            value=value,
            zh=f"{_RIC_ZH} {number!r} 的校验码为 {got!r}；应为 {expected!r}",
        )
    yyyymmdd = number[6:14]
    try:
        birth = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        birth = None
    if birth is None or birth < _EARLIEST_BIRTH:
        raise IdentifierError(
            f"{_RIC} {number!r} has an impossible birth date {yyyymmdd}",
            reason="birth_date",
            value=value,
            zh=f"{_RIC_ZH} {number!r} 的出生日期 {yyyymmdd} 不可能",
        )
    today = today if today is not None else date.today()
    if birth > today:
        raise IdentifierError(
            f"{_RIC} {number!r} has a birth date in the future {yyyymmdd}",
            reason="birth_date",
            value=value,
            zh=f"{_RIC_ZH} {number!r} 的出生日期 {yyyymmdd} 在将来",
        )
    code = number[:6]
    name = _region_name(code, birth.year, today.year)
    if name is None:
        raise _region_refused(number, value, code, birth.year, today.year)
    sex = "M" if int(number[16]) % 2 else "F"
    return ResidentId(number=number, region_code=code, birth_date=birth, sex=sex, region_name=name)


def make_uscc(first17: str) -> str:
    """Append the check character to the first 17 characters of a Unified Social Credit Code.

    >>> make_uscc("91110000600037341")
    '91110000600037341L'
    """
    if len(first17) != 17 or not _USCC_CHARS.issuperset(first17):
        raise IdentifierError(
            f"the first part of a {_USCC} must be 17 characters from 0-9 and A-Z without I, O, S, V, Z;"
            f" got {first17!r}",
            reason="format",
            value=first17,
        )
    return first17 + _uscc_check(first17)


def validate_uscc(value: str) -> OrgCode:
    """Validate a Unified Social Credit Code and return its parts.

    >>> validate_uscc("91110000600037341L")
    OrgCode(number='91110000600037341L', region_code='110000', registry='9', entity_type='1')
    """
    if not isinstance(value, str) or not (number := _compact_uscc(value)):
        raise IdentifierError(f"{_USCC} is empty", reason="empty", value=_raw(value), zh=f"{_USCC_ZH}为空")
    if len(number) != 18:
        # quoted as given (its spaces aside: the count is of what is quoted), not upper-cased: no letter of a code
        # of the wrong length is known to be one, and a binary Parquet value's text escapes ("\xff") read "\XFF"
        given = _squeeze(value)
        raise IdentifierError(
            f"{_USCC} {quoted(given)} has {len(given)} characters; expected 18",
            reason="length",
            value=value,
            zh=f"{_USCC_ZH} {quoted(given)} 有 {len(given)} 个字符；应为 18 个",
        )
    for position, char in enumerate(number, start=1):
        if char not in _USCC_CHARS:
            raise IdentifierError(
                f"{_USCC} {number!r} has {char!r} at position {position};"
                " allowed are 0-9 and A-Z without I, O, S, V, Z",
                reason="format",
                value=value,
                zh=f"{_USCC_ZH} {number!r} 第 {position} 位是 {char!r}；只能是 0-9 和除 I、O、S、V、Z 以外的 A-Z",
            )
    got = number[17]
    expected = _uscc_check(number[:17])
    if got != expected:
        raise IdentifierError(
            f"{_USCC} {number!r} has check character {got!r}; expected {expected!r}",
            reason="checksum",
            value=value,
            zh=f"{_USCC_ZH} {number!r} 的校验码为 {got!r}；应为 {expected!r}",
        )
    return OrgCode(number=number, region_code=number[2:8], registry=number[0], entity_type=number[1])


def _is_registry_region(code: str) -> bool:
    """Whether ``code`` can be the region of a credit code's registering authority (its characters 3-8): an
    administrative division code of some time (GB/T 2260, stdnum's table), or 100000 for the central authorities.

    """
    return code == "100000" or bool(_region_periods(code))


@functools.cache
def registry_regions() -> frozenset[str]:
    """Every code :func:`_is_registry_region` takes: the 6-digit codes of stdnum's table, and 100000 (SQL checks
    join on them instead of asking for each code)."""
    table = _county_table()
    if table is not None:
        return frozenset({"100000", *table})
    from stdnum import numdb

    codes = {"100000"}
    for _, province, _, _, counties in numdb.get("cn/loc").prefixes:
        for _, low, high, props, _ in counties:
            if "county" in props:
                codes.update(f"{province}{n:04d}" for n in range(int(low), int(high) + 1))
    return frozenset(codes)


def well_formed_uscc_sql(column: str) -> str:
    """SQL true where ``column`` is a valid unified social credit code exactly as written (18 characters of the
    code's alphabet, upper case, its check character right): what :func:`validate_uscc` accepts of a value that
    needs no compaction. False for anything else, NULL included."""
    chars = "".join(_USCC_ALPHABET)
    total = " + ".join(
        f"{w} * (strpos('{chars}', substr({column}, {i + 1}, 1)) - 1)" for i, w in enumerate(_USCC_WEIGHTS)
    )
    return (
        f"coalesce(regexp_full_match({column}, '[{chars}]{{18}}') "
        f"AND substr('{chars}', ((31 - (({total}) % 31)) % 31) + 1, 1) = substr({column}, 18, 1), false)"
    )


def _looks_like_ric(value: str) -> bool:
    number = _squeeze(value)
    return len(number) == 18 and _is_digits(number[:17])


def subject_kind(value: str) -> SubjectKind:
    """Whether a valid identifier is a person's (``"person"``) or an organisation's (``"org"``).

    It is a person's if it is a valid resident identity number (see :func:`validate_subject_id`).

    >>> subject_kind("110105194910010015"), subject_kind("91110000600037341L")
    ('person', 'org')
    """
    if not isinstance(value, str) or not _looks_like_ric(value):
        return "org"
    try:
        validate_ric(value)
    except IdentifierError:
        return "org"
    return "person"


def validate_subject_id(value: str, *, today: date | None = None) -> ResidentId | OrgCode:
    """Validate a person's or an organisation's identifier.

    18 characters whose first 17 are digits are validated as a resident identity number, anything
    else as a Unified Social Credit Code. Most real credit codes also have 17 digits first (the
    stdnum example ``91110000600037341L`` does), so a value of that shape that fails as a resident
    identity number but is a valid credit code whose region (characters 3-8) is a division code (or
    100000) is returned as an :class:`OrgCode`; if it is neither, the error is the resident identity
    number's (an identity number mistyped is a valid credit code 1 time in 31: its region, the
    number's digits 3-6 and its birth year's first two, is no division code). 15 digits are refused as
    the old form of either, and a number in scientific notation as a spreadsheet's.

    >>> validate_subject_id("91110000600037341L").registry
    '9'
    """
    if isinstance(value, str) and _SCIENTIFIC.fullmatch(_squeeze(value)):
        raise IdentifierError(
            f"subject id {_squeeze(value)!r} is a number in scientific notation, as a spreadsheet shows a long"
            " number: its last digits are lost; export the column as text",
            reason="format",
            value=value,
            zh=f"主体证件号码 {_squeeze(value)!r} 是科学计数法的数字（电子表格显示长数字的方式）：末几位已丢失；"
            "请将该列导出为文本",
        )
    if isinstance(value, str) and len(old := _squeeze(value)) == 15 and _is_digits(old):
        raise IdentifierError(
            f"subject id {old!r} has 15 digits, the form of an identity number before 1999 (or of a business"
            " registration number before 2015); expected the 18-character resident identity number or unified social"
            " credit code",
            reason="length",
            value=value,
            zh=f"主体证件号码 {old!r} 为 15 位，是 1999 年以前身份证号码（或 2015 年以前工商注册号）的格式；"
            "应为 18 位的居民身份证号码或统一社会信用代码",
        )
    if not isinstance(value, str) or not _looks_like_ric(value):
        return validate_uscc(value)
    try:
        return validate_ric(value, today=today)
    except IdentifierError as person_error:
        try:
            org = validate_uscc(value)
        except IdentifierError:
            raise person_error from None
        # An identity number of a wrong check digit, birth date or region code is a valid credit code 1 time in
        # 31 (its check character is mod 31): only one whose registering authority's region code (characters 3-8)
        # is a division code, or 100000 (the central authorities), is taken as an organisation's.
        if not _is_registry_region(org.region_code):
            raise person_error from None
        return org
