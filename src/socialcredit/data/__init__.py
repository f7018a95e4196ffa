"""Reference data shipped with the package: facts about the world, not generated and not about residents."""

from __future__ import annotations

import csv
from importlib import resources

__all__ = ["FORMER_DISTRICTS", "district_names", "districts"]


def districts() -> list[dict[str, str]]:
    """Beijing's 16 districts in code order, each with its ``code``, names and 2020 census population.

    Read from ``beijing-districts-2020.csv``; the columns are the file's header, every value a string.
    """
    text = resources.files(__name__).joinpath("beijing-districts-2020.csv").read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


# Former districts and counties of Beijing, each absorbed whole by (or renamed as) one of today's 16: the 2010
# mergers (崇文区 into 东城区, 宣武区 into 西城区), the counties made districts from 1986 to 2015, and their region
# codes (as identity numbers carried them: 110228 was 密云县 from 1982 to 2015). Each maps to its successor's name.
FORMER_DISTRICTS = {
    "崇文区": "东城区",
    "110103": "东城区",
    "chongwen": "东城区",
    "宣武区": "西城区",
    "110104": "西城区",
    "xuanwu": "西城区",
    "燕山区": "房山区",
    "房山县": "房山区",
    "110225": "房山区",
    "通县": "通州区",
    "110223": "通州区",
    "顺义县": "顺义区",
    "110222": "顺义区",
    "昌平县": "昌平区",
    "110221": "昌平区",
    "大兴县": "大兴区",
    "110224": "大兴区",
    "平谷县": "平谷区",
    "110226": "平谷区",
    "怀柔县": "怀柔区",
    "110227": "怀柔区",
    "密云县": "密云区",
    "110228": "密云区",
    "延庆县": "延庆区",
    "110229": "延庆区",
}


def district_names() -> dict[str, str]:
    """Every way a subject's district may be written, lower-cased, to the district's Chinese name as the registry
    stores it: the name (东城区), its English name (dongcheng), its code (110101), and a former district or county
    absorbed by it (宣武区 → 西城区, 密云县 → 密云区; ``FORMER_DISTRICTS``)."""
    names = {}
    for d in districts():
        for alias in (d["name_zh"], d["name_en"], d["code"]):
            names[alias.lower()] = d["name_zh"]
    return names | FORMER_DISTRICTS
