"""Load YAML while remembering the line and column of every key, so errors can point at the file, line and column.

Before a node is built, the text's events are counted (``check_limits``): its depth, its aliases, and its nodes with
every alias counted as the nodes it repeats, so a "billion laughs" of a few hundred bytes, or a thousand brackets, is
refused at once with the limit it passes (``LimitError``), never expanded.

The text is read by libyaml's parser where PyYAML has it (its wheels do): the same events as PyYAML's own reader, at
about a twentieth of the cost (a policy of 17 kB: 69 ms of CPU in Python, 3 ms in C). Where the two readers can differ
(``_in_c``: a tab, a byte order mark, a character PyYAML refuses; an empty value, ``_c_events``) and wherever libyaml
refuses the text, PyYAML's reader reads it, so every reading and every message about bad YAML is that reader's, as it
always was.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
import yaml.composer
import yaml.parser
import yaml.resolver
import yaml.scanner
from yaml.constructor import ConstructorError, SafeConstructor

from socialcredit.errors import LimitError
from socialcredit.settings import env_name, get_settings

__all__ = ["LocatedDoc", "check_limits", "load_located", "load_trusted", "safe_load_unique", "yaml_problem"]

Path_ = tuple[str | int, ...]


@dataclass
class LocatedDoc:
    """A parsed YAML document and the line and column (1-based) where each path starts."""

    data: Any
    source: str
    lines: dict[Path_, int] = field(default_factory=dict)
    columns: dict[Path_, int] = field(default_factory=dict)
    # The text of each plain value (a number, a word) as the file writes it: 99999999999999999999999, not the 1e+23
    # its float prints
    texts: dict[Path_, str] = field(default_factory=dict)

    def written(self, path: Path_) -> str | None:
        """The value at ``path`` as the file writes it (``1_000``, ``1.0e+3``, ``.inf``), or None when the path is
        no plain value of the file."""
        return self.texts.get(tuple(path))

    def line_of(self, path: Path_) -> int | None:
        """The line of the longest prefix of ``path`` that is known."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None

    def position_of(self, path: Path_) -> tuple[int, int] | None:
        """The line and column of the longest prefix of ``path`` that is known: a key's own, or where the item a
        missing key belongs in starts."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line, self.columns.get(tuple(path[:end]), 1)
        return None


def _scalar(node: yaml.ScalarNode) -> Any:
    """The value of a scalar node, as safe loading gives it (an empty value is None), built from the node itself so
    that an error keeps the node's own line. A value YAML recognises but Python cannot build (a date such as
    2027-02-29, a whole number of thousands of digits) is a ConstructorError at its line, as bad syntax is."""
    try:
        return SafeConstructor().construct_object(node, deep=True)
    except ValueError as exc:
        if node.tag.endswith(":timestamp"):
            problem, zh = f"{node.value} is not a date ({exc})", f"{node.value} 不是日期"
        elif node.tag.endswith(":int"):
            problem = f"a whole number of {len(node.value)} characters is too long to read"
            zh = f"{len(node.value)} 个字符的整数太长，无法读取"
        else:
            problem, zh = f"{node.value[:40]!r} cannot be read ({exc})", f"无法读取 {node.value[:40]!r}（{exc}）"
        raise _Refused(problem, zh, node.start_mark) from None


class _Refused(ConstructorError):
    """A value or key this reader refuses (a key given twice, a date that is none), in English and in Chinese."""

    def __init__(self, problem: str, zh: str, mark: yaml.Mark | None) -> None:
        super().__init__(None, None, problem, mark)
        self.zh = zh


def _given_twice(key: Any, first_line: int, key_node: yaml.Node) -> _Refused:
    """The refusal of a key given twice in one mapping, at its second place."""
    message = f"the key {key!r} is given twice (first on line {first_line}); give each key once"
    zh = f"键 {key!r} 出现了两次（第一次在第 {first_line} 行）；每个键只写一次"
    return _Refused(message, zh, key_node.start_mark)


def _convert(
    node: yaml.Node, path: Path_, lines: dict[Path_, int], columns: dict[Path_, int], texts: dict[Path_, str]
) -> Any:
    lines[path], columns[path] = node.start_mark.line + 1, node.start_mark.column + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        first: dict[Any, int] = {}  # key -> the line it was first given on
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise _Refused(
                    "a key must be a plain value, not a list or mapping",
                    "键须为简单值，不能是列表或映射",
                    key_node.start_mark,
                )
            key = _scalar(key_node)
            if key in first:
                # YAML keys are unique; safe loading would keep the last silently (a second `rules:` dropping the
                # first block's rules)
                raise _given_twice(key, first[key], key_node)
            first[key] = key_node.start_mark.line + 1
            out[key] = _convert(value_node, (*path, str(key)), lines, columns, texts)
            lines[(*path, str(key))] = key_node.start_mark.line + 1
            columns[(*path, str(key))] = key_node.start_mark.column + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), lines, columns, texts) for i, item in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)
    if node.style is None:  # plain, as numbers are written (a quoted text is a text)
        texts[path] = node.value
    return _scalar(node)


# libyaml's parser (PyYAML's C extension) when this PyYAML has it, else None
_C_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", None)


def _in_c(text: str) -> bool:
    """Whether libyaml may read ``text`` first: it has it, and the text holds neither a character PyYAML's reader
    refuses (the two readers' lists of allowed characters differ at their edges), nor a tab (libyaml takes a tab
    where PyYAML refuses it, as in ``a\t- a``), nor a byte order mark (libyaml drops one PyYAML reads as text):
    PyYAML's reader is the one whose readings and refusals the messages were written for."""
    return (
        _C_SAFE_LOADER is not None
        and "\t" not in text
        and "\ufeff" not in text
        and yaml.reader.Reader.NON_PRINTABLE.search(text) is None
    )


def _refuse_twice(loader: SafeConstructor, node: yaml.MappingNode, deep: bool) -> None:
    """Refuse a key ``node`` gives twice, at its second place (safe loading keeps the last silently)."""
    first: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            line = first.get(key)
        except TypeError:  # an unhashable key: the base class says so
            return
        if line is not None:
            raise _given_twice(key, line, key_node)
        first[key] = key_node.start_mark.line + 1


class _UniqueKeys(yaml.SafeLoader):
    """Safe loading that refuses a key given twice in one mapping (safe loading keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        _refuse_twice(self, node, deep)
        return super().construct_mapping(node, deep=deep)


if _C_SAFE_LOADER is not None:

    class _CUniqueKeys(_C_SAFE_LOADER):  # type: ignore[misc]
        """_UniqueKeys on libyaml's parser."""

        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
            _refuse_twice(self, node, deep)
            return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]


def safe_load_unique(text: str) -> Any:
    """``yaml.safe_load``, refusing a key given twice in one mapping (a ConstructorError at its line)."""
    if _in_c(text):
        with suppress(yaml.YAMLError):  # read again below: the error is raised as PyYAML's reader raises it
            return yaml.load(text, Loader=_CUniqueKeys)
    return yaml.load(text, Loader=_UniqueKeys)


def load_trusted(text: str) -> Any:
    """``yaml.safe_load`` of a text shipped with the package (its words, its catalog): in C where PyYAML can."""
    return yaml.load(text, Loader=_C_SAFE_LOADER or yaml.SafeLoader)


def check_limits(text: str, source: str, *, count_aliases: bool = True) -> None:
    """Refuse YAML that nests deeper than ``SOCIALCREDIT_MAX_NESTING``, uses more than ``SOCIALCREDIT_MAX_YAML_ALIASES``
    aliases (unless ``count_aliases`` is false), or has more than ``SOCIALCREDIT_MAX_YAML_NODES`` nodes once its
    aliases are expanded; the error names the line where the limit was passed. One pass over the parser's events,
    which builds nothing."""
    _checked_events(text, source, count_aliases=count_aliases)


def _checked_events(text: str, source: str, *, count_aliases: bool = True) -> list[yaml.Event]:
    """The parser's events of ``text``, read once and checked as they come (see check_limits): fewer than
    ``SOCIALCREDIT_MAX_YAML_NODES`` hold a node each, and every other one ends a collection or a document. Read by
    libyaml where it can (``_in_c``); a text it refuses is read again by PyYAML's reader, which raises its own
    error. A limit passed is refused as soon as it is passed, by either."""
    if _in_c(text):
        with suppress(yaml.YAMLError):
            events = _c_events(text, source, count_aliases)
            if events is not None:
                return events
    return _counted(yaml.parse(text, Loader=yaml.SafeLoader), source, count_aliases)


def _c_events(text: str, source: str, count_aliases: bool) -> list[yaml.Event] | None:
    """_checked_events by libyaml's parser (a text it refuses raises its error), or None when the text has an empty
    plain value (``key:`` with nothing after it): the two readers place such a value differently at times (after
    ``---`` and blank space, PyYAML says the line it ends on, libyaml the next), so PyYAML's reader reads it."""
    events = _counted(yaml.parse(text, Loader=_C_SAFE_LOADER), source, count_aliases)
    for event in events:
        if isinstance(event, yaml.ScalarEvent) and event.style == "":
            if event.value == "":
                return None
            event.style = None  # libyaml's word for a plain value; PyYAML's (and the composer's) is None
    return events


def _counted(parsed: Iterator[yaml.Event], source: str, count_aliases: bool) -> list[yaml.Event]:
    settings = get_settings()
    depth = nodes = aliases = 0
    sizes: dict[str, int] = {}  # anchor -> the nodes it stands for
    open_: list[tuple[str | None, int]] = []  # the collections being read: their anchor and the count at their start
    events: list[yaml.Event] = []
    for event in parsed:
        events.append(event)
        where = f"{source}:{event.start_mark.line + 1}" if event.start_mark is not None else source
        if isinstance(event, yaml.CollectionStartEvent):
            depth, nodes = depth + 1, nodes + 1
            if depth > settings.max_nesting:
                raise LimitError(
                    f"{where}: the YAML nests deeper than {settings.max_nesting} levels ({env_name('max_nesting')})",
                    code="too_deep",
                    limit=env_name("max_nesting"),
                )
            open_.append((event.anchor, nodes))
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
            anchor, start = open_.pop()
            if anchor is not None:
                sizes[anchor] = nodes - start + 1
        elif isinstance(event, yaml.ScalarEvent):
            nodes += 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            if count_aliases and aliases > settings.max_yaml_aliases:
                raise LimitError(
                    f"{where}: the YAML uses more than {settings.max_yaml_aliases} aliases "
                    f"({env_name('max_yaml_aliases')})",
                    code="too_many_aliases",
                    limit=env_name("max_yaml_aliases"),
                )
            nodes += sizes.get(str(event.anchor), 1)
        if nodes > settings.max_yaml_nodes:
            raise LimitError(
                f"{where}: the YAML has more than {settings.max_yaml_nodes} values (nodes), aliases counted as what "
                f"they repeat ({env_name('max_yaml_nodes')})",
                code="too_many_nodes",
                limit=env_name("max_yaml_nodes"),
            )
    return events


class _Replayed(yaml.composer.Composer, yaml.resolver.Resolver):
    """Safe loading's composer fed the events check_limits read, as its parser would give them again: the text is
    scanned once (the scanner, in Python, is most of the cost of reading a policy)."""

    def __init__(self, events: list[yaml.Event]) -> None:
        yaml.composer.Composer.__init__(self)
        yaml.resolver.Resolver.__init__(self)
        self._events = events
        self._next = 0

    def check_event(self, *choices: type[yaml.Event]) -> bool:
        if self._next >= len(self._events):
            return False
        return not choices or isinstance(self._events[self._next], choices)

    def peek_event(self) -> yaml.Event | None:
        return self._events[self._next] if self._next < len(self._events) else None

    def get_event(self) -> yaml.Event | None:
        event = self.peek_event()
        self._next += 1
        return event


def load_located(text: str, source: str) -> LocatedDoc:
    """Parse ``text`` (YAML) with safe loading; raise ``yaml.YAMLError`` with a position on bad syntax, and
    ``LimitError`` on YAML over a limit (``check_limits``). Read by libyaml where it can; a text refused there (bad
    syntax, an anchor given twice, a key given twice, a date that is none) is read again by PyYAML's reader alone, so
    every error is raised as that reader raises it, marks and all."""
    if _in_c(text):
        with suppress(yaml.YAMLError):
            events = _c_events(text, source, True)
            if events is not None:
                return _located(events, source)
    return _located(_counted(yaml.parse(text, Loader=yaml.SafeLoader), source, True), source)


def _located(events: list[yaml.Event], source: str) -> LocatedDoc:
    node = _Replayed(events).get_single_node()
    lines: dict[Path_, int] = {}
    columns: dict[Path_, int] = {}
    texts: dict[Path_, str] = {}
    data = None if node is None else _convert(node, (), lines, columns, texts)
    return LocatedDoc(data=data, source=source, lines=lines, columns=columns, texts=texts)


# The YAML reader's own words (its scanner's, parser's and composer's problems and what it was reading), in Chinese;
# %r stands for what it quotes, {0} for it in the Chinese (put in place as it is: the words may hold '{' and '}'). A
# problem not here is given in its English.
_READER_WORDS = {
    "mapping values are not allowed here": "此处不能有映射的值（冒号后的值；含冒号的文字请加引号）",
    "sequence entries are not allowed here": "此处不能有列表项",
    "mapping keys are not allowed here": "此处不能有映射的键",
    "could not find expected ':'": "找不到应有的 ':'",
    "found unexpected end of stream": "文件意外结束",
    "found unexpected document separator": "意外的文档分隔符",
    "invalid indentation or unclosed '[' or '{'": "缩进不对，或 '[' 或 '{' 未闭合",
    "expected a single document in the stream": "文件中应只有一个文档",
    "but found another document": "却又有一个文档",
    "found character %r that cannot start any token": "字符 {0} 不能作为任何记号的开头",
    "found unknown escape character %r": "未知的转义字符 {0}",
    "found undefined alias %r": "未定义的别名 {0}",
    "found duplicate anchor %r; first occurrence": "锚点 {0} 重复；第一次出现",
    "second occurrence": "此处是第二次出现",
    "expected ',' or ']', but got %r": "此处应为 ',' 或 ']'，却是 {0}",
    "expected ',' or '}', but got %r": "此处应为 ',' 或 '}'，却是 {0}",
    "expected <block end>, but found %r": "此处应为块的结尾，却是 {0}",
    "expected the node content, but found %r": "此处应为节点的内容，却是 {0}",
    "expected '<document start>', but found %r": "此处应为文档的开头，却是 {0}",
    "while parsing a block mapping": "读取一个块映射时",
    "while parsing a block collection": "读取一个块集合时",
    "while parsing a flow sequence": "读取一个方括号列表时",
    "while parsing a flow mapping": "读取一个花括号映射时",
    "while parsing a flow node": "读取一个方括号或花括号中的节点时",
    "while parsing a block node": "读取一个块节点时",
    "while parsing a node": "读取一个节点时",
    "while scanning a simple key": "读取一个简单键时",
    "while scanning a quoted scalar": "读取一个带引号的值时",
    "while scanning a double-quoted scalar": "读取一个双引号值时",
    "while scanning a block scalar": "读取一个块文字时",
    "while scanning an alias": "读取一个别名时",
    "while scanning an anchor": "读取一个锚点时",
    "while scanning a tag": "读取一个标签时",
    "while scanning a directive": "读取一条指令时",
    "while scanning for the next token": "读取下一个记号时",
    "while composing a mapping": "组成一个映射时",
}


def _reader_zh(words: str) -> str:
    """The YAML reader's ``words`` in Chinese (``_READER_WORDS``), or as they are where they have none."""
    for english, zh in _READER_WORDS.items():
        found = re.fullmatch(re.escape(english).replace("%r", "(.+)"), words, re.DOTALL)
        if found:
            return zh.replace("{0}", found.group(1)) if found.groups() else zh
    return words


def yaml_problem(exc: yaml.YAMLError, origin: str, text: str | None = None, lang: str = "en") -> str:
    """What YAML refused, located: ``FILE:LINE: not valid YAML: …``. A syntax error (one YAML's scanner or parser
    finds) also names its column, and the line where the block it broke starts: a quote left open or a key indented
    one space too few is seen lines later, or at a column that is not the first one's. A problem the composer finds
    after what it was doing (a second document, an anchor given twice) says that first, with its line. A character
    YAML does not take (NUL, most control characters) is named with its line when ``text`` is given (the reader's own
    message ran over two lines and named none); a merge key (``<<``) is not part of the language.

    In Chinese with ``lang`` zh: this reader's own refusals, and the YAML reader's problems and what it was reading
    that ``_READER_WORDS`` lists, are said in Chinese; a reader problem not listed there stays in its English, and so
    do the names of the tokens it quotes (``'<stream end>'``, ``'<block end>'``). The Chinese cannot fail the English:
    were building it to fail, the English is given."""
    if lang == "zh":
        try:
            return _yaml_problem(exc, origin, text, zh=True)
        except Exception:  # the words are data: a bad one must not turn a refusal into a crash
            pass
    return _yaml_problem(exc, origin, text, zh=False)


def _yaml_problem(exc: yaml.YAMLError, origin: str, text: str | None, zh: bool) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f"{origin}:{mark.line + 1}" if mark is not None else origin
    problem = getattr(exc, "problem", None) or str(exc)
    if zh:
        problem = exc.zh if isinstance(exc, _Refused) else _reader_zh(problem)
    invalid = "不是有效的 YAML" if zh else "not valid YAML"
    if isinstance(exc, yaml.reader.ReaderError):
        if text is not None:
            where = f"{origin}:{text[: exc.position].count(chr(10)) + 1}"
        character = repr(chr(exc.character))
        if zh:
            return f"{where}: {invalid}：YAML 文件中不能有字符 {character}：请删除它"
        return f"{where}: {invalid}: the character {character} is not allowed in a YAML file: remove it"
    if "tag:yaml.org,2002:merge" in problem:
        problem = (
            "合并键（<<）不属于策略语言：请把每个键写在它所属之处"
            if zh
            else "merge keys (<<) are not part of the policy language: write each key out where it belongs"
        )
    context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and zh:
        context = _reader_zh(context)
    if mark is None or not isinstance(exc, yaml.scanner.ScannerError | yaml.parser.ParserError):
        if isinstance(exc, yaml.composer.ComposerError) and context and start is not None:  # what it saw first
            before = f"{context}（第 {start.line + 1} 行）" if zh else f"{context} on line {start.line + 1}"
            problem = f"{before}{'，' if zh else ', '}{problem}"
        return f"{where}: {invalid}{'：' if zh else ': '}{problem}"
    if zh:
        within = f"（{context}，始于第 {start.line + 1} 行）" if context and start is not None else ""
        return f"{where}: {invalid}（第 {mark.column + 1} 列）：{problem}{within}"
    within = f" ({context} that starts on line {start.line + 1})" if context and start is not None else ""
    return f"{where}: {invalid} at column {mark.column + 1}: {problem}{within}"


def read_located(path: Path) -> LocatedDoc:
    return load_located(path.read_text(encoding="utf-8"), str(path))
