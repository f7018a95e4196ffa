"""What a reader sees on a page, and the raw identifiers that must never be among it.

Any page test can use it::

    assert raw_identifiers(visible_text(html), lang="zh") == []
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from socialcredit.catalog import load_catalog
from socialcredit.catalog.labels import load_labels
from socialcredit.policy import builtin_policy

__all__ = ["raw_identifiers", "visible_text"]

# a snake_case code of two parts or more (days_late, high_speed_rail), a dotted id (tax.late), Python's None,
# a comparison as a policy writes it
_SNAKE = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b")
_DOTTED = re.compile(r"\b[a-z]{2,}(?:\.[a-z_]{2,})+\b")
_SNAKE_UPPER = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")  # a reason code (COURT_UNFULFILLED)
_PYTHON = re.compile(r"\b(?:None|True|False)\b")
_OPERATORS = re.compile(r"==|!=|>=|<=")
_ASCII_WORD = re.compile(r"[A-Za-z_]+")


class _Text(HTMLParser):
    """The text nodes outside <script>, <style> and <head> (attributes such as href and id are not seen)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style", "head"}:
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "head"} and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def _field_names() -> set[str]:
    catalog = load_catalog()
    names = {name for rt in catalog.record_types.values() for name in rt.fields}
    return names | set(catalog.subject_fields) | {"record_type", "event_date", "subject_id", "record_id"}


def _codes() -> set[str]:
    """Codes a Chinese page must say in words: the catalog's values, sources, record types and data categories;
    the shipped policies' grades, dimensions and services named by a word; a run's modes and engines (the issue
    found "poor 信用较差", "（courts）", "(financial)", "方式 full / 引擎 duckdb"). A policy's id is not among them
    yet: the listing notices still say "根据 beijing 政策" (their wording is being rewritten with issue 18)."""
    catalog = load_catalog()
    codes = set(load_labels().values) | set(catalog.sources) | set(catalog.record_types) | set(catalog.categories)
    for pid in ("beijing", "sesame"):
        policy = builtin_policy(pid).policy
        codes |= {t.id for t in policy.tiers if not t.id.isupper()}
        codes |= {d.id for d in policy.dimensions} | {s.id for s in policy.services}
    return codes | {"full", "incremental", "rerun", "duckdb", "spark"}


def raw_identifiers(text: str, *, lang: str) -> list[str]:
    """Every raw identifier in ``text``: codes (snake_case, either case), dotted ids, ``None``, ``==``; in Chinese
    also any catalog field name or code written as a word (in English "the status is paid" may say "status" and
    "paid")."""
    found = _SNAKE.findall(text) + _DOTTED.findall(text) + _PYTHON.findall(text) + _OPERATORS.findall(text)
    found += _SNAKE_UPPER.findall(text)
    if lang == "zh":
        words = _field_names() | _codes()
        found += [w for w in _ASCII_WORD.findall(text) if w in words]
    return found
