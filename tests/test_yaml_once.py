"""Reading YAML with its lines (yamlsrc.load_located) scans the text once: the composer is fed the events the limits'
check read (it scanned the text a second time, in Python, until 2026-12-07: most of the cost of reading a policy).
What it gives, and every error it raises, is what checking the limits and then composing the text gives.

The text is read by libyaml's parser where PyYAML has it, and again by PyYAML's own reader only when libyaml refuses
it: what every reading gives and every error it raises is what PyYAML's reader alone gives (the properties below
compare the two, and run with both readers)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from socialcredit import yamlsrc
from socialcredit.policy import builtin_policy
from socialcredit.yamlsrc import LocatedDoc, _convert, check_limits, load_located, safe_load_unique

needs_libyaml = pytest.mark.skipif(not yaml.__with_libyaml__, reason="this PyYAML has no libyaml")


@pytest.fixture(params=["libyaml", "python"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test that takes it runs with libyaml's parser first (where PyYAML has it) and with PyYAML's alone."""
    if request.param == "python":
        monkeypatch.setattr(yamlsrc, "_C_SAFE_LOADER", None)
    elif not yaml.__with_libyaml__:
        pytest.skip("this PyYAML has no libyaml")
    return str(request.param)


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


def test_the_text_is_scanned_once(monkeypatch: pytest.MonkeyPatch, reader: str) -> None:
    text = builtin_policy("beijing").text
    scans = []
    parses = []
    start = yaml.scanner.Scanner.__init__
    parse = yaml.parse

    def counted(self: Any) -> None:
        scans.append(self)
        start(self)

    def parsed(text: str, Loader: Any) -> Any:
        parses.append(Loader)
        return parse(text, Loader=Loader)

    monkeypatch.setattr(yaml.scanner.Scanner, "__init__", counted)
    monkeypatch.setattr(yaml, "parse", parsed)
    doc = load_located(text, "beijing.yaml")
    assert doc.data["id"] == "beijing"
    # libyaml's parser scans it (PyYAML's scanner never runs), or PyYAML's own scanner does, once
    assert (len(parses), len(scans)) == ((1, 0) if reader == "libyaml" else (1, 1))
    assert parses == [yaml.CSafeLoader if reader == "libyaml" else yaml.SafeLoader]


PIECES = ["a", "b: ", ": ", "- ", "\n", "  ", "[", "]", "{", "}", ", ", "&x ", "*x", "*y", "1", "'q'", '"d"', "---\n"]
PIECES += ["...\n", "? ", "|\n  t\n", "!!int ", "#c\n", "\t", "1e3", "2027-02-29", "~", "\x07", "%YAML 1.1\n"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join))
def test_reading_once_gives_what_checking_then_composing_gave(text: str) -> None:
    assert _outcome(load_located, text) == _outcome(_composed, text)


# more of what trips a reader: a key as long as libyaml's simple-key limit, a tab in an indentation, a byte order
# mark inside the text, a character each reader's list of allowed ones draws the line at, a flow key, Chinese
MORE = ["k" * 1025 + ": 1\n", "\t- a\n", "\ufeff", "\x85", "\u2028", "\ue000", "\U0001f600", "x:\n\t- 1\n", "[a: 1]"]
MORE += ["{? a}", "'it''s'", '"\\x41"', "名字: 张三\n", ">-\n  f\n", "!!binary aGk=", "!t ", "0o17", "0x1F", ".nan"]
MORE += ["\r\n", "  - ", "a:\n", "|-\n", "|+\n  x\n\n", "%TAG ! tag:x,2000:\n", "\u3000", "k:\n  - 1\n  - 2\n"]


def _python_alone(read: Any, text: str) -> tuple[Any, ...]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(yamlsrc, "_C_SAFE_LOADER", None)
        return _outcome(read, text)


def _unique(text: str, source: str) -> LocatedDoc:
    return LocatedDoc(data=safe_load_unique(text), source=source)


@needs_libyaml
@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES + MORE), max_size=40).map("".join))
def test_libyaml_first_gives_what_pyyaml_alone_gives(text: str) -> None:
    assert _outcome(load_located, text) == _python_alone(load_located, text)
    assert _outcome(_unique, text) == _python_alone(_unique, text)


@needs_libyaml
@pytest.mark.parametrize(
    "path",
    ["policies/beijing.yaml", "policies/sesame.yaml", "catalog/catalog.yaml", "catalog/labels.yaml"],
)
def test_the_shipped_files_read_alike(path: str) -> None:
    from importlib import resources

    text = resources.files("socialcredit").joinpath(path).read_text("utf-8")
    assert _outcome(load_located, text) == _python_alone(load_located, text)
    assert _outcome(_unique, text) == _python_alone(_unique, text)
    assert yamlsrc.load_trusted(text) == yaml.safe_load(text)


@pytest.mark.parametrize(
    "text", ["a: 1\n---\nb: 2\n", "a: &x [1]\nb: &x 2\n", "a: *u\n", "", "x: [" * 120, "k: 1\nk: 2\n"]
)
def test_refusals_are_the_same(text: str, reader: str) -> None:
    assert _outcome(load_located, text) == _outcome(_composed, text)
