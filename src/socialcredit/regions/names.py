"""Names compared across regions: written in characters (simplified or variant) or in pinyin.

Both sides of a comparison go through the same normalisation: each character becomes its pinyin without tones
(pypinyin, first reading), anything already in Latin letters is lower-cased, and everything else (spaces, dots,
hyphens) is dropped. 张伟, 張偉, "Zhang Wei" and "ZHANG wei" all become ``zhangwei``; the surname is the first
character, or the first word of a name written in pinyin.
"""

from __future__ import annotations

import functools
import re

__all__ = ["VARIANTS", "name_pinyin", "pinyin_table", "surname_pinyin", "written_in_pinyin"]

# Traditional or variant forms of characters common in names; the generator writes names with them, and the
# pinyin normalisation makes them equal to their simplified forms.
VARIANTS = dict(
    zip(
        "张刘陈杨黄赵吴孙马罗郑谢韩冯邓伟丽军华红国强杰涛艳静兰凤龙飞鹏辉刚云",
        "張劉陳楊黃趙吳孫馬羅鄭謝韓馮鄧偉麗軍華紅國強傑濤艷靜蘭鳳龍飛鵬輝剛雲",
        strict=True,
    )
)
_LATIN = re.compile(r"[a-z]+")


@functools.lru_cache(maxsize=65536)
def _char_pinyin(char: str) -> str:
    from pypinyin import lazy_pinyin

    if char.isascii():
        return char.lower() if char.isalpha() else ""
    reading = lazy_pinyin(char, errors="ignore")
    return reading[0].lower() if reading else ""


def written_in_pinyin(name: str) -> bool:
    """True when the name has no Chinese characters (it is written in Latin letters)."""
    return name.isascii()


def name_pinyin(name: str | None) -> str | None:
    """The normalised pinyin of a name (``None`` for no name or nothing pronounceable)."""
    if not name:
        return None
    text = "".join(_char_pinyin(c) for c in name.strip())
    return text or None


def surname_pinyin(name: str | None) -> str | None:
    """The pinyin of the surname: the first character, or the first word of a name written in pinyin."""
    if not name or not name.strip():
        return None
    name = name.strip()
    if written_in_pinyin(name):
        words = _LATIN.findall(name.lower())
        return words[0] if words else None
    return _char_pinyin(name[0]) or None


def pinyin_table(names: list[str | None]) -> tuple[list[str | None], list[str | None]]:
    """``name_pinyin`` and ``surname_pinyin`` of many names (each distinct name converted once)."""
    full: dict[str | None, str | None] = {}
    first: dict[str | None, str | None] = {}
    for n in names:
        if n not in full:
            full[n] = name_pinyin(n)
            first[n] = surname_pinyin(n)
    return [full[n] for n in names], [first[n] for n in names]
