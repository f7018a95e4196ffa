"""What printable text may not hold, shared by the registry and the matchmaking site (which may not import the
registry): control characters and the bidirectional controls; and what text that names something (an identifier, a
name) may not hold: invisible characters."""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from jinja2 import Environment

__all__ = [
    "BIDI_CONTROLS",
    "CJK_IDEOGRAPHS",
    "CJK_SELECTORS",
    "INVISIBLE_RANGES",
    "MONGOLIAN_LETTERS",
    "MONGOLIAN_SELECTORS",
    "Entered",
    "control_character",
    "escaped",
    "invisible_character",
    "page_environment",
    "shown",
]

# The bidirectional controls (embeddings, overrides, isolates: U+202A-U+202E, U+2066-U+2069). Shown to an operator or
# a resident, one reorders the text after it ("Trojan Source"): a name or a reason would read as something else.
BIDI_CONTROLS = frozenset(map(chr, (*range(0x202A, 0x202F), *range(0x2066, 0x206A))))


def control_character(text: str, allowed: str = "") -> str | None:
    """The first control character (Unicode category Cc) or bidirectional control in ``text`` not in ``allowed``."""
    return next((c for c in text if (unicodedata.category(c) == "Cc" or c in BIDI_CONTROLS) and c not in allowed), None)


def escaped(text: str) -> str:
    """``text`` safe to print on a terminal: each character Python does not count printable (a control character, a
    bidirectional control, a line or paragraph separator, an invisible character) written as its code, \\x1b or
    \\u202e; any other character (Chinese too) as it is. For a text a store holds from before it was checked."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _code(c) for c in text)


def _code(c: str) -> str:
    return c.encode("unicode_escape").decode("ascii")


# What a page writes as its code (``shown``): what the registry refuses in a text (``control_character``: Unicode's Cc
# but the line breaks and tabs a page lays out, the bidirectional controls), the marks of direction (U+200E, U+200F)
# and the line and paragraph separators (U+2028, U+2029), which reorder or break the text around them. Nothing else:
# a zero-width joiner in an emoji sequence or a Persian word, a soft hyphen, a variation selector are text the
# registry takes, and a page shows them as written.
_MARKS = frozenset("\u200e\u200f\u2028\u2029")


def _coded(c: str) -> bool:
    return c not in "\n\r\t" and (unicodedata.category(c) == "Cc" or c in BIDI_CONTROLS or c in _MARKS)


class Entered(str):
    """A text a form holds (an input's or option's value, a hidden field, a textarea's text), which ``shown`` writes
    as it is: sent back, it is the text the registry gave or the user typed, not its codes (a record id holding a
    soft hyphen still names its record). Marked in a template by its ``field`` filter."""

    __slots__ = ()


Written = TypeVar("Written")


def shown(value: Written) -> Written:
    """A value as a page writes it (Jinja's ``finalize``, each ``{{ }}`` of a template): a text with what ``_coded``
    names written as its code (\\x1b, \\u202e), so that a stored name holding U+202E or \\x1b shows the code, not
    text reversed or hidden; a form's value (``Entered``) and any other value as it is. A text marked safe (Jinja's
    Markup, a subclass of str) stays so: the codes are a backslash, letters and digits, nothing HTML reads."""
    if not isinstance(value, str) or isinstance(value, Entered) or value.isprintable() or not any(map(_coded, value)):
        return value  # (a printable text, most of them, has none of them)
    coded: Written = type(value)("".join(_code(c) if _coded(c) else c for c in value))
    return coded


def entered(value: Any) -> Any:
    """A template's ``field`` filter: a text a form holds (a value attribute, a textarea), written as it is."""
    return Entered(value) if isinstance(value, str) else value


def page_environment(**options: Any) -> Environment:
    """The Jinja environment of every page (the portal's, a file's, the matchmaking site's), with ``options``: each
    ``{{ }}`` written by ``shown`` (a stored text's control characters and direction overrides as their codes), but a
    form's values, marked by the ``field`` filter, sent back as they are; the ``grouped`` filter writes a number
    (``languages.grouped``)."""
    from jinja2 import Environment

    from socialcredit.languages import grouped, rank_of

    env = Environment(finalize=shown, **options)
    env.filters["field"] = entered
    env.filters["grouped"] = grouped  # a number as every face writes it: {{ n|grouped }}
    env.globals["rank_of"] = rank_of  # a rank as every face says it
    return env


# The invisible characters (Unicode's default-ignorable code points, DerivedCoreProperties.txt) but the bidirectional
# controls, refused as controls: a soft hyphen, the zero-width space and joiners, the marks of direction, the word
# joiner and invisible operators, the Hangul fillers, the variation selectors, the byte order mark, the tags. A
# record id or a name holding one shows as the text without it: "R\u200b1" reads "R1", and is another id.
INVISIBLE_RANGES = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x2060, 0x2065),
    (0x206A, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
_INVISIBLE = frozenset(chr(c) for lo, hi in INVISIBLE_RANGES for c in range(lo, hi + 1))

# A variation selector right after a character it modifies is part of how that character is written, not an
# invisible character: an ideographic variation sequence (a CJK ideograph and U+FE00-U+FE0F or U+E0100-U+E01EF, as
# registered in Unicode's Ideographic Variation Database for the glyphs of residents' names: 葛 U+E0100) and a
# Mongolian letter's free variation selector or vowel separator (U+180B-U+180F: FVS1 in ᠮᠣᠩᠭ U+180B ᠣᠯ). Anywhere else
# (after a Latin letter, a digit, another selector) one is still refused.
CJK_IDEOGRAPHS = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x323AF))
CJK_SELECTORS = ((0xFE00, 0xFE0F), (0xE0100, 0xE01EF))
MONGOLIAN_LETTERS = ((0x1820, 0x1878), (0x1880, 0x18AA))
MONGOLIAN_SELECTORS = ((0x180B, 0x180F),)


def _within(c: str, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(lo <= ord(c) <= hi for lo, hi in ranges)


def _modifies(selector: str, base: str) -> bool:
    """Whether ``selector`` right after ``base`` is a variation sequence (above)."""
    if _within(selector, CJK_SELECTORS):
        return _within(base, CJK_IDEOGRAPHS)
    return _within(selector, MONGOLIAN_SELECTORS) and _within(base, MONGOLIAN_LETTERS)


def invisible_character(text: str) -> str | None:
    """The first invisible character in ``text`` (``INVISIBLE_RANGES``) not part of a variation sequence (a
    selector right after a character it modifies), if any."""
    return next(
        (c for i, c in enumerate(text) if c in _INVISIBLE and not (i and _modifies(c, text[i - 1]))),
        None,
    )
