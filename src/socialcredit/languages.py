"""The two languages the registry speaks, English and Chinese, as the faces name them: by code (``en``, ``zh``: the
``lang`` of the API, the pages and the command line) and by the tag an answer or a page says its language with
(``Content-Language``, ``<html lang>``); and the check of ``--lang``, one for the registry's command line and the
matchmaking site's (which may not import the command line's modules). Not in a layer: the faces and the matchmaking
site may all import it."""

from __future__ import annotations

from typing import Any

__all__ = [
    "ASKED",
    "LANGUAGES",
    "LANGUAGE_TAGS",
    "SHOWN",
    "counted",
    "grouped",
    "invalid_zh",
    "lang_option",
    "language_option",
    "rank_of",
    "yuan",
]

LANGUAGES = ("en", "zh")
# The language of a text as an answer says it (Content-Language) and a page declares it (<html lang>).
LANGUAGE_TAGS = {"en": "en", "zh": "zh-CN"}
# An unknown --lang is quoted with at most this many characters (then …), as the matchmaking site's errors quote a
# typed value: a 10,000-character value is not echoed whole.
SHOWN = 80


def grouped(n: float) -> str:
    """A number as the pages write it, in either language: thousands with commas, a sum of money with its fen
    (``grouped(3000)`` "3,000", ``grouped(39367.29)`` "39,367.29", ``grouped(12000.0)`` "12,000"). The pages, the
    command line and the API's texts write numbers so (the command line wrote "排名 3000" and "87 952 yuan" until
    2026-12-06, where the pages wrote "第 3,000 名" and "87,952")."""
    whole = round(n)
    return f"{whole:,}" if abs(n - whole) < 0.005 else f"{n:,.2f}"


def yuan(amount: float, lang: str = "en") -> str:
    """A sum of money as the pages write it: ``yuan(12000)`` "12,000 yuan", "12,000 元" in Chinese."""
    return f"{grouped(amount)} {'元' if lang == 'zh' else 'yuan'}"


def rank_of(rank: int, of: int, lang: str, kind: str = "person") -> str:
    """A subject's rank among those its run scored, as the pages and ``show`` say it: "3,000 of 12,345", "第 3,000 名
    （共 12,345 人）", among organisations (``kind`` org) "（共 12,345 家）" (it said 人 of organisations)."""
    if lang != "zh":
        return f"{grouped(rank)} of {grouped(of)}"
    return f"第 {grouped(rank)} 名（共 {grouped(of)} {'家' if kind == 'org' else '人'}）"


def counted(n: int, noun: str, plural: str | None = None, *, grouped: bool = False) -> str:
    """A count and its noun in English, the noun agreeing with the count: ``counted(1, "candidate")`` is "1 candidate",
    ``counted(2, "entry", "entries")`` "2 entries", ``counted(0, "row")`` "0 rows" ("1 candidates" was printed).
    ``grouped`` writes thousands with commas (1,234). Chinese nouns have no plural: their texts count without it."""
    number = f"{n:,}" if grouped else str(n)  # as grouped() writes a whole number
    return f"{number} {noun if n == 1 else (plural if plural is not None else noun + 's')}"


_BOUNDS = {"greater_than_equal": "不小于", "less_than_equal": "不大于", "greater_than": "大于", "less_than": "小于"}


def invalid_zh(error: Any) -> str:
    """What pydantic refused (an item of ``RequestValidationError.errors()``), in Chinese: the kinds of value the
    parameters and bodies of the API and the matchmaking site take (whole numbers, in range, texts of a length,
    present); another kind is said with pydantic's English words (``无效的值（…）``)."""
    kind, ctx = str(error.get("type", "")), error.get("ctx") or {}
    if kind == "int_parsing":
        return "须为整数"
    if kind in _BOUNDS:
        return f"须{_BOUNDS[kind]} {next(iter(ctx.values()), '')}"
    if kind == "string_too_long":
        return f"须不超过 {ctx.get('max_length')} 个字符"
    if kind == "string_too_short":
        return f"须至少 {ctx.get('min_length')} 个字符"
    if kind == "string_type":
        return "须为文字"
    if kind == "missing":
        return "缺少此项"
    return f"无效的值（{error.get('msg')}）"


def language_option(value: str) -> str:
    """``--lang``'s callback: en or zh; anything else is a usage error (it printed Chinese for ``--lang fr``)."""
    if value not in LANGUAGES:
        import typer

        quoted = repr(value if len(value) <= SHOWN else value[: SHOWN - 1] + "…")
        raise typer.BadParameter(f"{quoted}: give en or zh")
    return value


class _Asked:
    """The ``--lang`` of the command running (en until its option is read): the language its errors are told in."""

    lang = "en"


ASKED = _Asked()


def lang_option(value: str) -> str:
    """``--lang``'s callback: the language (``language_option``), kept for the command's error message (a command
    with a ``--lang`` of its own words, such as ``scorecard fit`` or ``matchmaking matches``, takes it too)."""
    ASKED.lang = language_option(value)
    return ASKED.lang
