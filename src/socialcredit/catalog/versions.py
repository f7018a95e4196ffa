"""Comparing catalogs: what a candidate removes or retypes, and the shipped catalog's additions to a store's.

Pure functions on parsed catalogs; the registry decides what may be published (registry/scoring/catalogs.py).

>>> from socialcredit.catalog import load_catalog
>>> lacking(load_catalog(), load_catalog())
[]
"""

from __future__ import annotations

from typing import Any

import yaml

from socialcredit.catalog import Catalog
from socialcredit.errors import CatalogError

__all__ = ["MERGE_MARK", "dump", "lacking", "merged_text", "with_additions"]

# The comment that marks what a newer program added to an author's catalog text (docs/catalog.md).
MERGE_MARK = "# added by a newer socialcredit from the catalog it ships"


def lacking(have: Catalog, want: Catalog) -> list[str]:
    """What ``want`` defines that ``have`` does not: record types, fields, sources, a source's record types,
    categories, professions and subject fields, each as a short phrase."""
    out = [f"profession {p}" for p in want.professions if p not in have.professions]
    out += [f"category {c}" for c in want.categories if c not in have.categories]
    for name, rt in want.record_types.items():
        mine = have.record_types.get(name)
        if mine is None:
            out.append(f"record type {name}")
            continue
        out += [f"field {name}.{f}" for f in rt.fields if f not in mine.fields]
    for sid, src in want.sources.items():
        theirs = have.sources.get(sid)
        if theirs is None:
            out.append(f"source {sid}")
            continue
        out += [f"record type {t} of source {sid}" for t in src.record_types if t not in theirs.record_types]
    out += [f"subject field {f}" for f in want.subject_fields if f not in have.subject_fields]
    return out


def with_additions(base: Catalog, extra: Catalog) -> dict[str, Any]:
    """``base`` with everything ``extra`` adds (never changing what ``base`` has), as plain data to dump as YAML.

    A store that published its own catalog keeps it when a newer program ships new record types: they are added
    to the store's latest version as the next one.
    """
    data = base.model_dump(mode="json", exclude_none=True)
    add = extra.model_dump(mode="json", exclude_none=True)
    data["professions"] += [p for p in add["professions"] if p not in data["professions"]]
    for key in ("categories", "subject_fields"):
        for name, value in add[key].items():
            data[key].setdefault(name, value)
    for name, rt in add["record_types"].items():
        mine = data["record_types"].setdefault(name, rt)
        for fname, spec in rt["fields"].items():
            mine["fields"].setdefault(fname, spec)
    for sid, src in add["sources"].items():
        mine = data["sources"].setdefault(sid, src)
        mine["record_types"] += [t for t in src["record_types"] if t not in mine["record_types"]]
    return data


def dump(data: dict[str, Any]) -> str:
    """A catalog's plain data as YAML text (keys in the catalog's order)."""
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=120)


def merged_text(base_text: str, extra: Catalog) -> str:
    """``base_text`` (a published catalog, as its author wrote it) with everything ``extra`` adds, inserted into the
    text without rewriting it: the author's comments, order and layout stay, each addition goes at the end of the
    mapping or list it belongs to, marked with :data:`MERGE_MARK`.

    The result must read as exactly :func:`with_additions` of the two; if an unusual layout defeats the insertion
    (a block scalar at the end of a section, say), the merged catalog is dumped afresh instead, as it always was.
    """
    from socialcredit.catalog import catalog_from_text

    base = catalog_from_text(base_text)
    want = with_additions(base, extra)
    try:
        text = _insert_additions(base_text, base.model_dump(mode="json", exclude_none=True), want)
        if catalog_from_text(text).model_dump(mode="json", exclude_none=True) == want:
            return text
    except (CatalogError, yaml.YAMLError, ValueError, KeyError, IndexError, TypeError):
        pass
    return dump(want)


def _insert_additions(text: str, have: dict[str, Any], want: dict[str, Any]) -> str:
    root = yaml.compose(text)
    if not isinstance(root, yaml.MappingNode):
        raise ValueError("a catalog is a mapping")
    edits: list[tuple[int, str]] = []  # (where in the text, what goes there)
    top = _entries(root)
    new_professions = [p for p in want["professions"] if p not in have["professions"]]
    if new_professions:
        edits += _add_items(text, top["professions"], new_professions)
    for key in ("categories", "subject_fields"):
        added = {k: v for k, v in want[key].items() if k not in have[key]}
        if added:
            edits += _add_entries(text, top[key], added)
    for section, inner in (("record_types", "fields"), ("sources", "record_types")):
        node = top[section]
        added = {k: v for k, v in want[section].items() if k not in have[section]}
        for name, spec in want[section].items():
            if name in have[section]:
                old, new = have[section][name][inner], spec[inner]
                more = (
                    [x for x in new if x not in old]
                    if isinstance(new, list)
                    else {k: v for k, v in new.items() if k not in old}
                )
                if more:
                    at = _entries(_entries(node)[name])[inner]
                    edits += _add_items(text, at, more) if isinstance(more, list) else _add_entries(text, at, more)
        if added:
            edits += _add_entries(text, node, added)
    out, last = [], 0
    for index, piece in sorted(edits, key=lambda e: e[0]):  # stable: at one place, in the order made
        out += [text[last:index], piece]
        last = index
    return "".join([*out, text[last:]])


def _entries(node: yaml.Node) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        raise ValueError("expected a mapping")
    return {str(k.value): v for k, v in node.value}


def _end(node: yaml.Node) -> int:
    """Just after the last character of a node's own content (a block collection ends where its next token begins,
    after any comment that follows it: go down to its last scalar or flow collection instead)."""
    if isinstance(node, yaml.MappingNode) and not node.flow_style and node.value:
        return _end(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
        return _end(node.value[-1])
    return int(node.end_mark.index)


def _flow(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, default_flow_style=True, width=10**6).strip()[1:-1]


def _after_line(text: str, node: yaml.Node) -> int:
    end = _end(node)
    nl = text.find("\n", end)
    return len(text) if nl < 0 else nl + 1


def _block_yaml(data: Any) -> str:
    """Block style at the top, the author's flow style for the innermost mappings and lists (``{zh: .., en: ..}``)."""
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=120, default_flow_style=None)
    if text.startswith(("{", "[")):
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=120, default_flow_style=False)
    return text


def _block(text: str, at: int, column: int, body: str) -> list[tuple[int, str]]:
    pad = " " * column
    lines = [pad + MERGE_MARK, *(pad + line for line in body.splitlines())]
    lead = "" if at == 0 or text[at - 1] == "\n" else "\n"
    return [(at, lead + "\n".join(lines) + "\n")]


def _closing(text: str, node: yaml.Node, piece: str) -> list[tuple[int, str]]:
    """Insert into a flow collection just before its closing bracket, and mark the line if it has no comment."""
    end = int(node.end_mark.index)
    if text[end - 1] not in "]}":
        raise ValueError("a flow collection ends with its bracket")
    edits = [(end - 1, (", " if node.value else "") + piece)]
    nl = text.find("\n", end)
    nl = len(text) if nl < 0 else nl
    if not text[end:nl].strip():
        edits.append((nl, "  " + MERGE_MARK))
    return edits


def _add_entries(text: str, node: yaml.Node, added: dict[str, Any]) -> list[tuple[int, str]]:
    if not isinstance(node, yaml.MappingNode) or not (node.value or node.flow_style):
        raise ValueError("expected a mapping with entries")
    if node.flow_style:
        return _closing(text, node, _flow(added))
    return _block(text, _after_line(text, node), int(node.value[0][0].start_mark.column), _block_yaml(added))


def _add_items(text: str, node: yaml.Node, items: list[Any]) -> list[tuple[int, str]]:
    if not isinstance(node, yaml.SequenceNode) or not (node.value or node.flow_style):
        raise ValueError("expected a list with items")
    if node.flow_style:
        return _closing(text, node, _flow(items))
    return _block(text, _after_line(text, node), int(node.start_mark.column), _block_yaml(items))
