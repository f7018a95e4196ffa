"""Plain words for the catalog's fields and values and for a scored subject's facts (``labels.yaml``).

>>> load_labels().value("on_time", "en")
'on time'
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from socialcredit.catalog import Catalog

__all__ = ["Labels", "labels_for", "load_labels"]


class Labels:
    """Look-ups that never answer with a code: an unknown name is spoken with spaces for underscores."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.fields: dict[str, dict[str, str]] = data.get("fields", {})
        self.values: dict[str, dict[str, str]] = data.get("values", {})
        self.facts: dict[str, dict[str, str]] = data.get("facts", {})

    @staticmethod
    def _get(table: dict[str, dict[str, str]], key: str, lang: str) -> str:
        entry = table.get(key)
        if entry is None:
            return key.replace("_", " ").replace(".", " ")
        return entry["en" if lang == "en" else "zh"]

    def field(self, name: str, lang: str) -> str:
        return self._get(self.fields, name, lang)

    def value(self, value: str, lang: str) -> str:
        return self._get(self.values, value, lang)

    def fact(self, name: str, lang: str) -> str:
        return self._get(self.facts, name, lang)

    def with_catalog(self, catalog: Catalog) -> Labels:
        """These words, with the words a catalog gives its fields and values (``label``, ``value_labels``): a record
        type a store's catalog adds reads in words too. A catalog's own words win over labels.yaml's."""
        fields = dict(self.fields)
        values = dict(self.values)
        for rt in catalog.record_types.values():
            for name, spec in rt.fields.items():
                if spec.label is not None:
                    fields[name] = {"zh": spec.label.zh, "en": spec.label.en}
                for value, text in (spec.value_labels or {}).items():
                    values[value] = {"zh": text.zh, "en": text.en}
        return Labels({"fields": fields, "values": values, "facts": self.facts})

    def fact_null(self, name: str, lang: str) -> str | None:
        """How a fact that is not known reads (``last_negative_days`` is unknown when nothing negative happened)."""
        return self.facts.get(name, {}).get("null_en" if lang == "en" else "null_zh")


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
    return Labels(yaml.safe_load(text))
