"""The record-type catalog: sources, the record types each may send, and their field schemas.

>>> cat = load_catalog()
>>> cat.record_types["tax_payment"].fields["status"].allowed
['paid', 'late', 'evaded']
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from socialcredit.errors import CatalogError

__all__ = ["Catalog", "FieldSpec", "RecordType", "Source", "Text", "load_catalog"]

_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
FieldType = Literal["string", "integer", "number", "boolean", "date"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    """A text in Simplified Chinese and English."""

    zh: str
    en: str

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


class FieldSpec(_Strict):
    type: FieldType
    required: bool = False
    allowed: list[str] | None = None
    min: float | None = None
    max: float | None = None


class RecordType(_Strict):
    name: Text
    category: str
    subjects: list[Literal["person", "org"]]
    fields: dict[str, FieldSpec]


class Source(_Strict):
    name: Text
    record_types: list[str]
    # Where a resident reaches the source about one of its records (shown with each listing and negative record).
    contact: Text | None = None


class Category(_Strict):
    name: Text


class Catalog(_Strict):
    professions: list[str]
    categories: dict[str, Category]
    record_types: dict[str, RecordType]
    sources: dict[str, Source]
    subject_fields: dict[str, FieldSpec]

    @model_validator(mode="after")
    def _check_references(self) -> Catalog:
        for name, rt in self.record_types.items():
            if rt.category not in self.categories:
                raise ValueError(f"record type {name}: unknown category {rt.category!r}")
            for reserved in ("record_id", "subject_id", "record_type", "event_date", "record_key", "attrs"):
                if reserved in rt.fields:
                    raise ValueError(f"record type {name}: field {reserved!r} is reserved")
        for name, rt in self.record_types.items():
            for fname in rt.fields:
                if not _FIELD_NAME.match(fname):
                    raise ValueError(f"record type {name}: field name {fname!r} must be lower-case letters, digits, _")
        types: dict[str, tuple[str, str]] = {}
        for name, rt in self.record_types.items():
            for fname, spec in rt.fields.items():
                seen = types.setdefault(fname, (spec.type, name))
                if seen[0] != spec.type:
                    raise ValueError(
                        f"field {fname!r} is {spec.type} in {name} but {seen[0]} in {seen[1]}; "
                        "a field name has one type"
                    )
        for sid, src in self.sources.items():
            for rt_name in src.record_types:
                if rt_name != "subject" and rt_name not in self.record_types:
                    raise ValueError(f"source {sid}: unknown record type {rt_name!r}")
        return self

    def field_columns(self) -> dict[str, FieldType]:
        """Every field name of every record type, with its type (one type per name, checked on load)."""
        out: dict[str, FieldType] = {}
        for rt in self.record_types.values():
            for name, spec in rt.fields.items():
                out.setdefault(name, spec.type)
        return dict(sorted(out.items()))

    def source_of(self, record_type: str) -> list[str]:
        return [sid for sid, s in self.sources.items() if record_type in s.record_types]


def parse_catalog(text: str, origin: str) -> Catalog:
    try:
        return Catalog.model_validate(yaml.safe_load(text))
    except (yaml.YAMLError, ValidationError) as exc:
        raise CatalogError(f"{origin}: invalid catalog: {exc}") from None


@lru_cache(maxsize=4)
def load_catalog(path: Path | None = None) -> Catalog:
    """Load the catalog shipped with the package (or another file)."""
    if path is None:
        text = resources.files("socialcredit.catalog").joinpath("catalog.yaml").read_text("utf-8")
        return parse_catalog(text, "socialcredit/catalog/catalog.yaml")
    return parse_catalog(path.read_text("utf-8"), str(path))
