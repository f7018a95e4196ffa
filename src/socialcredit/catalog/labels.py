"""Plain words for the catalog's fields and values and for a scored subject's facts (``labels.yaml``).

>>> load_labels().value("on_time", "en")
'on time'
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from socialcredit.yamlsrc import load_trusted

if TYPE_CHECKING:
    from socialcredit.catalog import Catalog

__all__ = ["Labels", "labels_for", "load_labels"]


class Labels:
    """Look-ups that never answer with a code: an unknown name is spoken with spaces for underscores."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.fields: dict[str, dict[str, str]] = data.get("fields", {})
        self.values: dict[str, dict[str, str]] = data.get("values", {})
        self.facts: dict[str, dict[str, str]] = data.get("facts", {})
        # A catalog's words for the fields and values of one record type, by (record type, field) and (record
        # type, field, value); the shipped words (labels.yaml) before any catalog's, for the other types.
        self.typed_fields: dict[tuple[str, str], dict[str, str]] = data.get("typed_fields", {})
        self.typed_values: dict[tuple[str, str, str], dict[str, str]] = data.get("typed_values", {})
        self.shipped_fields: dict[str, dict[str, str]] = data.get("shipped_fields", self.fields)
        self.shipped_values: dict[str, dict[str, str]] = data.get("shipped_values", self.values)

    @staticmethod
    def _get(table: dict[str, dict[str, str]], key: str, lang: str) -> str:
        entry = table.get(key)
        if entry is None:
            return key.replace("_", " ").replace(".", " ")
        return entry["en" if lang == "en" else "zh"]

    def field(self, name: str, lang: str, record_type: str | None = None) -> str:
        """A field's words; of a field of ``record_type``, the words its catalog gives that type's field, else the
        shipped words (not another type's). Without a record type, any catalog's words for the name."""
        if record_type is None:
            return self._get(self.fields, name, lang)
        own = self.typed_fields.get((record_type, name))
        return own["en" if lang == "en" else "zh"] if own else self._get(self.shipped_fields, name, lang)

    def value(self, value: str, lang: str, record_type: str | None = None, field: str | None = None) -> str:
        """A value's words; of a value of ``record_type``'s ``field``, as :meth:`field` chooses."""
        if record_type is None or field is None:
            return self._get(self.values, value, lang)
        own = self.typed_values.get((record_type, field, value))
        return own["en" if lang == "en" else "zh"] if own else self._get(self.shipped_values, value, lang)

    def fact(self, name: str, lang: str) -> str:
        return self._get(self.facts, name, lang)

    def with_catalog(self, catalog: Catalog) -> Labels:
        """These words, with the words a catalog gives its fields and values (``label``, ``value_labels``): a record
        type a store's catalog adds reads in words too. A catalog's own words win over labels.yaml's: for the field of
        that record type (:meth:`field` with a record type), and for any field of the name where the type is not
        known."""
        fields = dict(self.fields)
        values = dict(self.values)
        typed_fields: dict[tuple[str, str], dict[str, str]] = {}
        typed_values: dict[tuple[str, str, str], dict[str, str]] = {}
        for rt_name, rt in catalog.record_types.items():
            for name, spec in rt.fields.items():
                if spec.label is not None:
                    fields[name] = typed_fields[(rt_name, name)] = {"zh": spec.label.zh, "en": spec.label.en}
                for value, text in (spec.value_labels or {}).items():
                    values[value] = typed_values[(rt_name, name, value)] = {"zh": text.zh, "en": text.en}
        return Labels(
            {
                "fields": fields,
                "values": values,
                "facts": self.facts,
                "typed_fields": typed_fields,
                "typed_values": typed_values,
                "shipped_fields": self.fields,
                "shipped_values": self.values,
            }
        )

    def fact_null(self, name: str, lang: str, *, negated: bool = False) -> str | None:
        """How a fact that is not known reads (``last_negative_days`` is unknown when nothing negative happened), or,
        ``negated``, one that is known ("there has been a negative record")."""
        key = ("notnull_" if negated else "null_") + ("en" if lang == "en" else "zh")
        return self.facts.get(name, {}).get(key)


_WITH_CATALOG: dict[int, tuple[Catalog, Labels]] = {}


def labels_for(catalog: Catalog) -> Labels:
    """The shipped words with ``catalog``'s (one object per catalog object: a store's catalog is loaded once)."""
    found = _WITH_CATALOG.get(id(catalog))
    if found is None or found[0] is not catalog:
        if len(_WITH_CATALOG) >= 16:
            _WITH_CATALOG.clear()
        found = _WITH_CATALOG[id(catalog)] = (catalog, load_labels().with_catalog(catalog))
    return found[1]


@lru_cache(maxsize=1)
def load_labels() -> Labels:
    text = resources.files("socialcredit.catalog").joinpath("labels.yaml").read_text("utf-8")
    return Labels(load_trusted(text))
