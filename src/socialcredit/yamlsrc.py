"""Load YAML while remembering the line and column of every key, so errors can point at the file, line and column.

Before a node is built, the text's events are counted (``check_limits``): its depth, its aliases, and its nodes with
every alias counted as the nodes it repeats, so a "billion laughs" of a few hundred bytes, or a thousand brackets, is
refused at once with the limit it passes (``LimitError``), never expanded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
import yaml.parser
import yaml.scanner
from yaml.constructor import ConstructorError, SafeConstructor

from socialcredit.errors import LimitError
from socialcredit.settings import env_name, get_settings

__all__ = ["LocatedDoc", "check_limits", "load_located", "safe_load_unique", "yaml_problem"]

Path_ = tuple[str | int, ...]


@dataclass
class LocatedDoc:
    """A parsed YAML document and the line and column (1-based) where each path starts."""

    data: Any
    source: str
    lines: dict[Path_, int] = field(default_factory=dict)
    columns: dict[Path_, int] = field(default_factory=dict)

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
            problem = f"{node.value} is not a date ({exc})"
        elif node.tag.endswith(":int"):
            problem = f"a whole number of {len(node.value)} characters is too long to read"
        else:
            problem = f"{node.value[:40]!r} cannot be read ({exc})"
        raise ConstructorError(None, None, problem, node.start_mark) from None


def _given_twice(key: Any, first_line: int, key_node: yaml.Node) -> ConstructorError:
    """The refusal of a key given twice in one mapping, at its second place."""
    message = f"the key {key!r} is given twice (first on line {first_line}); give each key once"
    return ConstructorError(None, None, message, key_node.start_mark)


def _convert(node: yaml.Node, path: Path_, lines: dict[Path_, int], columns: dict[Path_, int]) -> Any:
    lines[path], columns[path] = node.start_mark.line + 1, node.start_mark.column + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        first: dict[Any, int] = {}  # key -> the line it was first given on
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConstructorError(
                    None, None, "a key must be a plain value, not a list or mapping", key_node.start_mark
                )
            key = _scalar(key_node)
            if key in first:
                # YAML keys are unique; safe loading would keep the last silently (a second `rules:` dropping the
                # first block's rules)
                raise _given_twice(key, first[key], key_node)
            first[key] = key_node.start_mark.line + 1
            out[key] = _convert(value_node, (*path, str(key)), lines, columns)
            lines[(*path, str(key))] = key_node.start_mark.line + 1
            columns[(*path, str(key))] = key_node.start_mark.column + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), lines, columns) for i, item in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)
    return _scalar(node)


class _UniqueKeys(yaml.SafeLoader):
    """Safe loading that refuses a key given twice in one mapping (safe loading keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                line = first.get(key)
            except TypeError:  # an unhashable key: the base class says so
                break
            if line is not None:
                raise _given_twice(key, line, key_node)
            first[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def safe_load_unique(text: str) -> Any:
    """``yaml.safe_load``, refusing a key given twice in one mapping (a ConstructorError at its line)."""
    return yaml.load(text, Loader=_UniqueKeys)


def check_limits(text: str, source: str, *, count_aliases: bool = True) -> None:
    """Refuse YAML that nests deeper than ``SOCIALCREDIT_MAX_NESTING``, uses more than ``SOCIALCREDIT_MAX_YAML_ALIASES``
    aliases (unless ``count_aliases`` is false), or has more than ``SOCIALCREDIT_MAX_YAML_NODES`` nodes once its
    aliases are expanded; the error names the line where the limit was passed. One pass over the parser's events,
    which builds nothing."""
    settings = get_settings()
    depth = nodes = aliases = 0
    sizes: dict[str, int] = {}  # anchor -> the nodes it stands for
    open_: list[tuple[str | None, int]] = []  # the collections being read: their anchor and the count at their start
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
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


def load_located(text: str, source: str) -> LocatedDoc:
    """Parse ``text`` (YAML) with safe loading; raise ``yaml.YAMLError`` with a position on bad syntax, and
    ``LimitError`` on YAML over a limit (``check_limits``)."""
    check_limits(text, source)
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    lines: dict[Path_, int] = {}
    columns: dict[Path_, int] = {}
    data = None if node is None else _convert(node, (), lines, columns)
    return LocatedDoc(data=data, source=source, lines=lines, columns=columns)


def yaml_problem(exc: yaml.YAMLError, origin: str, text: str | None = None, lang: str = "en") -> str:
    """What YAML refused, located: ``FILE:LINE: not valid YAML: …``. A syntax error (one YAML's scanner or parser
    finds) also names its column, and the line where the block it broke starts: a quote left open or a key indented
    one space too few is seen lines later, or at a column that is not the first one's. A character YAML does not take
    (NUL, most control characters) is named with its line when ``text`` is given (the reader's own message ran over
    two lines and named none); a merge key (``<<``) is not part of the language. In Chinese with ``lang`` zh (the
    words of the YAML reader's own problem, such as ``expected ',' or ']'``, stay as it gives them)."""
    zh = lang == "zh"
    mark = getattr(exc, "problem_mark", None)
    where = f"{origin}:{mark.line + 1}" if mark is not None else origin
    problem = getattr(exc, "problem", None) or str(exc)
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
    if mark is None or not isinstance(exc, yaml.scanner.ScannerError | yaml.parser.ParserError):
        return f"{where}: {invalid}{'：' if zh else ': '}{problem}"
    context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if zh:
        within = f"（{context}，始于第 {start.line + 1} 行）" if context and start is not None else ""
        return f"{where}: {invalid}（第 {mark.column + 1} 列）：{problem}{within}"
    within = f" ({context} that starts on line {start.line + 1})" if context and start is not None else ""
    return f"{where}: {invalid} at column {mark.column + 1}: {problem}{within}"


def read_located(path: Path) -> LocatedDoc:
    return load_located(path.read_text(encoding="utf-8"), str(path))
