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

__all__ = ["dump", "lacking", "with_additions"]


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
