"""Reference data shipped with the package: facts about the world, not generated and not about residents."""

from __future__ import annotations

import csv
from importlib import resources

__all__ = ["districts"]


def districts() -> list[dict[str, str]]:
    """Beijing's 16 districts in code order, each with its ``code``, names and 2020 census population.

    Read from ``beijing-districts-2020.csv``; the columns are the file's header, every value a string.
    """
    text = resources.files(__name__).joinpath("beijing-districts-2020.csv").read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))
