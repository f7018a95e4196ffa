"""Reading YAML with its lines (yamlsrc.load_located) scans the text once: the composer is fed the events the limits'
check read (it scanned the text a second time, in Python, until 2026-12-07: most of the cost of reading a policy).
What it gives, and every error it raises, is what checking the limits and then composing the text gives."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from socialcredit.policy import builtin_policy
from socialcredit.yamlsrc import LocatedDoc, _convert, check_limits, load_located


def _composed(text: str, source: str) -> LocatedDoc:
    """The reading as it was: the limits checked over one scan, then the text composed over another."""
    check_limits(text, source)
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    lines: dict[Any, int] = {}
    columns: dict[Any, int] = {}
    texts: dict[Any, str] = {}
    data = None if node is None else _convert(node, (), lines, columns, texts)
    return LocatedDoc(data=data, source=source, lines=lines, columns=columns, texts=texts)


def _outcome(read: Any, text: str) -> tuple[Any, ...]:
    try:
        doc = read(text, "p.yaml")
    except Exception as exc:  # every error: its kind, its words (with the line and column) and its Chinese
        return ("refused", type(exc).__name__, str(exc), getattr(exc, "zh", None))
    return ("read", repr(doc.data), doc.lines, doc.columns, doc.texts)


def test_the_text_is_scanned_once(monkeypatch: pytest.MonkeyPatch) -> None:
    text = builtin_policy("beijing").text
    scans = []
    start = yaml.scanner.Scanner.__init__

    def counted(self: Any) -> None:
        scans.append(self)
        start(self)

    monkeypatch.setattr(yaml.scanner.Scanner, "__init__", counted)
    doc = load_located(text, "beijing.yaml")
    assert doc.data["id"] == "beijing"
    assert len(scans) == 1


PIECES = ["a", "b: ", ": ", "- ", "\n", "  ", "[", "]", "{", "}", ", ", "&x ", "*x", "*y", "1", "'q'", '"d"', "---\n"]
PIECES += ["...\n", "? ", "|\n  t\n", "!!int ", "#c\n", "\t", "1e3", "2027-02-29", "~", "\x07", "%YAML 1.1\n"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join))
def test_reading_once_gives_what_checking_then_composing_gave(text: str) -> None:
    assert _outcome(load_located, text) == _outcome(_composed, text)


@pytest.mark.parametrize(
    "text", ["a: 1\n---\nb: 2\n", "a: &x [1]\nb: &x 2\n", "a: *u\n", "", "x: [" * 120, "k: 1\nk: 2\n"]
)
def test_refusals_are_the_same(text: str) -> None:
    assert _outcome(load_located, text) == _outcome(_composed, text)
