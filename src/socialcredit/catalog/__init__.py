"""The record-type catalog: sources, the record types each may send, and their field schemas.

>>> cat = load_catalog()
>>> cat.record_types["tax_payment"].fields["status"].allowed
['paid', 'late', 'evaded']
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from socialcredit.errors import CatalogError
from socialcredit.yamlsrc import check_limits, safe_load_unique

__all__ = [
    "CATEGORY_ID",
    "LIMITS",
    "Catalog",
    "FieldSpec",
    "RecordType",
    "Source",
    "Text",
    "catalog_from_text",
    "catalog_sha256",
    "load_catalog",
    "parse_catalog",
    "shipped_catalog_text",
]

# Bounds on a catalog given as data (`socialcredit catalog check|publish`): every field of every record type is a
# column of the records table, so their number is bounded as well as the text's size.
LIMITS = {"bytes": 1_000_000, "record_types": 200, "fields_per_type": 64, "fields": 1000, "sources": 200}

_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# Columns of records a field cannot be, and file_row_number: the row numbers ingest's Parquet reader adds
# (registry/records/limits.py, RESERVED_COLUMNS).
_RESERVED_FIELDS = (
    "record_id",
    "subject_id",
    "record_type",
    "event_date",
    "record_key",
    "first_key",
    "attrs",
    "file_row_number",
)
# A field's name is a column of records; a category's id is a consent column of the subjects a run reads.
CATEGORY_ID = _FIELD_NAME
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
    # How the field and its allowed values read to a resident (policy explain, the public policy pages): a field a
    # store's catalog adds is spoken in words, not as its name. The shipped fields' words are in labels.yaml.
    label: Text | None = None
    value_labels: dict[str, Text] | None = None
    # The field names a subject (an organisation's code, a person's identity number: an employer, the organisation
    # a role is held in): an export with pseudonyms writes the subject's pseudonym in it (registry/scoring/export.py).
    names_subject: bool = False

    @model_validator(mode="after")
    def _check_value_labels(self) -> FieldSpec:
        if self.names_subject and self.type != "string":
            # a subject is named by text (an identity number, an organisation's code); a pseudonym is text too
            raise ValueError(f"names_subject is for a text field (type: string), not one of type {self.type}")
        if self.value_labels and self.allowed is not None:
            unknown = sorted(set(self.value_labels) - set(self.allowed))
            if unknown:
                raise ValueError(f"value_labels name values the field does not allow: {', '.join(unknown)}")
        return self


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
        for cid in self.categories:
            # a category names a consent column of the subjects a run reads (consent_<category>)
            if not _FIELD_NAME.match(cid):
                raise ValueError(f"category id {cid!r} must be lower-case letters, digits, _ (at most 63)")
        for name, rt in self.record_types.items():
            if rt.category not in self.categories:
                raise ValueError(f"record type {name}: unknown category {rt.category!r}")
            for reserved in _RESERVED_FIELDS:
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

    def fields_naming_subjects(self) -> set[str]:
        """The names of the record fields that name a subject (``names_subject``), in any record type."""
        return {f for rt in self.record_types.values() for f, spec in rt.fields.items() if spec.names_subject}

    def source_of(self, record_type: str) -> list[str]:
        return [sid for sid, s in self.sources.items() if record_type in s.record_types]


def _check_limits(data: object, origin: str) -> None:
    """Refuse a catalog over a limit before validating it, naming the limit."""
    if not isinstance(data, dict):
        return
    types = data.get("record_types")
    if isinstance(types, dict):
        if len(types) > LIMITS["record_types"]:
            raise CatalogError(
                f"{origin}: {len(types)} record types; a catalog may have at most {LIMITS['record_types']}"
            )
        total = 0
        for name, rt in types.items():
            fields = rt.get("fields") if isinstance(rt, dict) else None
            if isinstance(fields, dict):
                if len(fields) > LIMITS["fields_per_type"]:
                    raise CatalogError(
                        f"{origin}: record type {name} has {len(fields)} fields; a record type may have at most "
                        f"{LIMITS['fields_per_type']}"
                    )
                total += len(fields)
        if total > LIMITS["fields"]:
            raise CatalogError(f"{origin}: {total} fields in all; a catalog may have at most {LIMITS['fields']}")
    sources = data.get("sources")
    if isinstance(sources, dict) and len(sources) > LIMITS["sources"]:
        raise CatalogError(f"{origin}: {len(sources)} sources; a catalog may have at most {LIMITS['sources']}")


def parse_catalog(text: str, origin: str, *, candidate: bool = True) -> Catalog:
    """Validate a catalog given as YAML text; CatalogError (naming ``origin``) on anything wrong.

    A ``candidate`` (a file or body to check or publish) is also held to the YAML limits (nesting, aliases, nodes:
    ``LimitError``); a text already published, or an export's copy of one, is not: it was taken under the limits of
    its day, and a store whose catalog a later limit refuses must still open, show it and publish its successor.

    >>> parse_catalog("professions: [a]", "x.yaml")
    Traceback (most recent call last):
    ...
    socialcredit.errors.CatalogError: x.yaml: invalid catalog: ...
    """
    size = len(text.encode("utf-8", errors="replace"))
    if size > LIMITS["bytes"]:
        raise CatalogError(f"{origin}: {size} bytes; a catalog may be at most {LIMITS['bytes']} bytes")
    try:
        # nesting, aliases and nodes counted over the parser's events before a node is built, as a policy's are: a
        # catalog nested 1000 deep was refused as "not valid YAML: maximum recursion depth exceeded", naming no limit
        if candidate:
            check_limits(text, origin)
        data = safe_load_unique(text)  # a record type or field given twice is refused, not the first dropped
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        raise CatalogError(f"{origin}: invalid catalog: not valid YAML: {exc}") from None
    _check_limits(data, origin)
    try:
        return Catalog.model_validate(data)
    except ValidationError as exc:
        raise CatalogError(f"{origin}: invalid catalog: {_problems(exc)}") from None
    except (ValueError, TypeError) as exc:
        raise CatalogError(f"{origin}: invalid catalog: {exc}") from None


def _problems(exc: ValidationError) -> str:
    """Each problem as ``where: what`` (the first ten), without pydantic's own wording around them."""
    errors = exc.errors()
    said = []
    for err in errors[:10]:
        where = ".".join(str(p) for p in err["loc"])
        what = str(err["msg"]).removeprefix("Value error, ")
        said.append(f"{where}: {what}" if where else what)
    more = f"; and {len(errors) - 10} more" if len(errors) > 10 else ""
    return "; ".join(said) + more


def catalog_sha256(text: str) -> str:
    """The hash a catalog version is stored under: SHA-256 of its text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def catalog_from_text(text: str) -> Catalog:
    """A published catalog's text parsed once per process: the same text is the same instance (a store opens with
    its latest version; the shipped catalog is version 1, always the one instance, however many other texts were
    parsed since)."""
    if text == shipped_catalog_text():
        return _shipped_catalog()
    return _parsed_catalog(text)


@lru_cache(maxsize=16)
def _parsed_catalog(text: str) -> Catalog:
    return parse_catalog(text, "the catalog", candidate=False)


@lru_cache(maxsize=1)
def _shipped_catalog() -> Catalog:
    return parse_catalog(shipped_catalog_text(), "the catalog", candidate=False)


@lru_cache(maxsize=1)
def shipped_catalog_text() -> str:
    """The text of the catalog shipped with the package: a new store's version 1."""
    return resources.files("socialcredit.catalog").joinpath("catalog.yaml").read_text("utf-8")


@lru_cache(maxsize=4)
def load_catalog(path: Path | None = None) -> Catalog:
    """Load the catalog shipped with the package (or another file). A store's own catalog is ``store.catalog``:
    its latest published version (registry/scoring/catalogs.py), which may add record types to this one."""
    if path is None:
        return _shipped_catalog()
    return parse_catalog(path.read_text("utf-8"), str(path))
