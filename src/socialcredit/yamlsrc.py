"""Load YAML while remembering the line of every key, so errors can point at the file and line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["LocatedDoc", "load_located"]

Path_ = tuple[str | int, ...]


@dataclass
class LocatedDoc:
    """A parsed YAML document and the line (1-based) where each path starts."""

    data: Any
    source: str
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Path_) -> int | None:
        """The line of the longest prefix of ``path`` that is known."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None


def _convert(node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = yaml.safe_load(yaml.serialize(key_node))
            out[key] = _convert(value_node, (*path, str(key)), lines)
            lines[(*path, str(key))] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), lines) for i, item in enumerate(node.value)]
    return yaml.safe_load(yaml.serialize(node))


def load_located(text: str, source: str) -> LocatedDoc:
    """Parse ``text`` (YAML) with safe loading; raise ``yaml.YAMLError`` with a position on bad syntax."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    lines: dict[Path_, int] = {}
    data = None if node is None else _convert(node, (), lines)
    return LocatedDoc(data=data, source=source, lines=lines)


def read_located(path: Path) -> LocatedDoc:
    return load_located(path.read_text(encoding="utf-8"), str(path))
