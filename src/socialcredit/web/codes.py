"""Codes said in words: what a page shows instead of a field name, a value code, a run's mode or engine, a purpose.

A record's details read as label and value pairs in the page's language (``catalog/labels.yaml``); a yes/no field
reads 是/否 (yes/no); a field with no value is left out, never printed as Python's ``None``.

>>> record_details({"amount": 1401.0, "status": "on_time", "days_late": None}, "zh")
[('金额（元）', '1,401'), ('状态', '按时')]
>>> record_details({"defaulter": True, "fact": "phone_verified"}, "en")
[('named a judgment defaulter', 'yes'), ('fact checked', 'phone number verified')]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from socialcredit.catalog.labels import Labels, load_labels
from socialcredit.errors import NotFoundError
from socialcredit.languages import grouped
from socialcredit.policy.words import figure
from socialcredit.registry.scoring.policies import get_policy, name_listings
from socialcredit.store import Store
from socialcredit.web.i18n import translate

__all__ = [
    "code_words",
    "district_words",
    "name_codes",
    "name_listings",
    "policy_names",
    "record_details",
    "template_globals",
    "tier_label",
    "value_words",
]


def value_words(value: Any, lang: str, labels: Labels | None = None) -> str:
    """One value in words: yes/no, a number with its thousands, a code by its label (``labels``: the store's
    catalog's words, ``catalog.labels.labels_for``; the shipped words by default), free text as it is."""
    if isinstance(value, bool):
        return translate(lang, "value_yes" if value else "value_no")
    if isinstance(value, int | float):
        return grouped(value)
    text = str(value)
    labels = labels or load_labels()
    return labels.value(text, lang) if text in labels.values else text


def record_details(fields: Mapping[str, Any], lang: str, labels: Labels | None = None) -> list[tuple[str, str]]:
    """A record's fields as (label, value) pairs in words (``labels`` as for :func:`value_words`); fields without
    a value are left out."""
    labels = labels or load_labels()
    return [(labels.field(k, lang), value_words(v, lang, labels)) for k, v in fields.items() if v is not None]


def code_words(kind: str, code: str | None, lang: str) -> str:
    """A code of ``kind`` (``mode``, ``engine``, ``purpose``) in words; an unknown one with spaces for underscores."""
    if code is None:
        return ""
    return translate(lang, f"{kind}_{code}", default=code.replace("_", " "))


@cache
def _district_names() -> dict[str, str]:
    from socialcredit.data import districts

    return {d["name_zh"]: d["name_en"] for d in districts()}


def district_words(name: str | None, lang: str) -> str:
    """A district as the subjects file names it (东城区), in ``lang``: in English by the census table's name
    (Dongcheng), as the dashboard's chart of districts says it; a name the table does not hold is kept as written.

    >>> district_words("东城区", "en"), district_words("东城区", "zh"), district_words("Gotham", "en")
    ('Dongcheng', '东城区', 'Gotham')
    """
    if not name:
        return ""
    return _district_names().get(name, name) if lang == "en" else name


def tier_label(tier: str, name: str) -> str:
    """A grade of letters keeps its letters beside its name ("AAA 诚信模范"); a grade named by a word is its name
    alone (sesame's ``poor`` is "信用较差", never "poor 信用较差")."""
    if not name:
        return tier
    return f"{tier} {name}" if tier.isupper() else name


def name_codes(report: dict[str, Any], lang: str) -> None:
    """A subject's report as the pages show it: each policy by its name, each inquiry's service by the name its
    policy gives it and its purpose in words (``policy_names``, ``service_name``, ``purpose_words``)."""
    names = {s["policy"]: s["policy_name"] for s in report.get("scores", []) if s.get("policy_name")}
    services = {svc["service"]: svc["name"] for s in report.get("scores", []) for svc in s.get("services", [])}
    report["policy_names"] = names
    for q in report.get("inquiries", []):
        service = q.get("service")
        q["service_name"] = services.get(service, code_words("service", service, lang)) if service else ""
        q["purpose_words"] = code_words("purpose", q.get("purpose"), lang)


def policy_names(store: Store, policy_ids: Iterable[str], lang: str) -> dict[str, str]:
    """Each published policy's name in ``lang`` (an unknown id is kept as it is)."""
    out: dict[str, str] = {}
    for pid in set(policy_ids):
        try:
            out[pid] = get_policy(store, pid).policy.name.get(lang)
        except NotFoundError:
            out[pid] = pid
    return out


def template_globals() -> dict[str, Any]:
    """What every template may call: ``details(fields, lang)``, ``words(value, lang)``, ``code(kind, c, lang)``,
    ``district(name, lang)``."""
    return {
        "details": record_details,
        "words": value_words,
        "code": code_words,
        "district": district_words,
        "figure": figure,  # a dimension's points and range, as every face writes them (policy/words.py)
    }
