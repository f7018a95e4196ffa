"""Plain words for the catalog's fields and values and for a scored subject's facts (``labels.yaml``).

>>> load_labels().value("on_time", "en")
'on time'
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

__all__ = ["Labels", "load_labels"]


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

    def fact_null(self, name: str, lang: str) -> str | None:
        """How a fact that is not known reads (``last_negative_days`` is unknown when nothing negative happened)."""
        return self.facts.get(name, {}).get("null_en" if lang == "en" else "null_zh")


@lru_cache(maxsize=1)
def load_labels() -> Labels:
    text = resources.files("socialcredit.catalog").joinpath("labels.yaml").read_text("utf-8")
    return Labels(yaml.safe_load(text))
