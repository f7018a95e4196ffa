"""Joint-punishment memoranda as data: which agencies apply which measures to the subjects on a policy's lists.

A memorandum (``policies/memoranda/*.yaml``, docs/policies/memoranda.md) names its issuing bodies, the document it
comes from, the agencies (relying parties) that signed it and, per list of the policy it applies to, the measures
each agency takes; every measure names a service of that policy, so a refusal of the service by that agency is
"refused under memorandum 发改财金〔2016〕141号, measure 12: …". Validation locates every problem (file, line).

>>> m = builtin_memorandum("fgcj_2016_141")
>>> m.memorandum.document_number, m.measure_for("blacklist", "high_speed_rail", "china_railway").number
('发改财金〔2016〕141号', 12)
"""

from __future__ import annotations

import builtins
import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from socialcredit.catalog import Text
from socialcredit.errors import NotFoundError, PolicyError
from socialcredit.policy.load import BUILTIN_POLICIES, LoadedPolicy, builtin_policy
from socialcredit.yamlsrc import load_located, yaml_problem

__all__ = [
    "BUILTIN_MEMORANDA",
    "Agency",
    "LoadedMemorandum",
    "Measure",
    "Memorandum",
    "builtin_memoranda_for",
    "builtin_memorandum",
    "parse_memorandum",
]

BUILTIN_MEMORANDA = ("fgcj_2016_141",)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _check_id(value: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", value):
        raise ValueError(f"{value!r} is not a valid id: use lower-case letters, digits and '_', starting with a letter")
    return value


class Source(_Strict):
    """The published document a memorandum is taken from."""

    citation: str = Field(min_length=1)
    url: str | None = None


class Agency(_Strict):
    """A signatory that applies measures: a relying party's key names it (``keys issue --agency``)."""

    id: str
    name: Text

    _id = field_validator("id")(_check_id)


class Measure(_Strict):
    """One measure: its number in the memorandum, the agency that applies it, the service it refuses, its text."""

    number: int = Field(gt=0)
    agency: str
    service: str
    text: Text


class ListMeasures(_Strict):
    """The measures taken against the subjects on one list of the policy."""

    list: str
    measures: builtins.list[Measure] = Field(min_length=1)


class Memorandum(_Strict):
    id: str
    version: str
    document_number: str = Field(min_length=1)
    title: Text
    date: dt.date
    issuing_bodies: list[Text] = Field(min_length=1)
    source: Source
    policy: str
    agencies: list[Agency] = Field(min_length=1)
    lists: list[ListMeasures] = Field(min_length=1)

    _id = field_validator("id")(_check_id)


@dataclass(frozen=True)
class LoadedMemorandum:
    memorandum: Memorandum
    text: str
    origin: str
    sha256: str

    def measure_for(self, list_id: str, service: str, agency: str) -> Measure | None:
        """The measure ``agency`` applies by refusing ``service`` to a subject on ``list_id``, if any."""
        for lm in self.memorandum.lists:
            if lm.list == list_id:
                for m in lm.measures:
                    if m.service == service and m.agency == agency:
                        return m
        return None

    def agency(self, agency_id: str) -> Agency | None:
        return next((a for a in self.memorandum.agencies if a.id == agency_id), None)


def _message(err: object) -> str:
    e = err if isinstance(err, dict) else {}
    kind = e.get("type")
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a key of a memorandum (see docs/organisations.md)"
    if kind == "date_type" or kind == "date_from_datetime_parsing":
        return f"must be a date (YYYY-MM-DD), not {e.get('input')!r}"
    if kind == "greater_than":
        return f"must be greater than {e.get('ctx', {}).get('gt')}, not {e.get('input')!r}"
    if kind == "int_type":
        return f"must be a whole number, not {e.get('input')!r}"
    if kind == "string_type":
        return f"must be a text, not {e.get('input')!r}"
    return str(e.get("msg", "is invalid")).removeprefix("Value error, ")


def parse_memorandum(text: str, origin: str = "<memorandum>", policy: LoadedPolicy | None = None) -> LoadedMemorandum:
    """Validate a memorandum (YAML text) against the policy it names; PolicyError lists every problem, located."""
    try:
        doc = load_located(text, origin)
    except yaml.YAMLError as exc:
        raise PolicyError([yaml_problem(exc, origin)]) from None
    if not isinstance(doc.data, dict):
        raise PolicyError([f"{origin}:1: a memorandum must be a mapping with id, version, title, agencies, lists, ..."])
    problems: list[str] = []

    def add(path: tuple[str | int, ...], message: str) -> None:
        line = doc.line_of(path)
        where = f"{origin}:{line}" if line else origin
        place = ".".join(str(p) for p in path)
        problems.append(f"{where}: {place}: {message}" if place else f"{where}: {message}")

    try:
        memo = Memorandum.model_validate(doc.data)
    except ValidationError as exc:
        for err in exc.errors():
            add(tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))), _message(err))
        raise PolicyError(problems) from None
    if policy is None:
        if memo.policy not in BUILTIN_POLICIES:
            raise PolicyError([f"{origin}:{doc.line_of(('policy',))}: policy: unknown policy {memo.policy!r}"])
        policy = builtin_policy(memo.policy)
    elif policy.policy.id != memo.policy:
        add(("policy",), f"the memorandum applies to policy {memo.policy}, not {policy.policy.id}")
        raise PolicyError(problems)
    p = policy.policy
    agencies = [a.id for a in memo.agencies]
    for i, a in enumerate(agencies):
        if a in agencies[:i]:
            add(("agencies", i, "id"), f"agency {a} is named twice")
    # A number names one measure: the same measure may apply to several lists (the defaulters and their officers)
    # under its one number, but a number is never given to two different measures nor twice in a list.
    numbers: dict[int, Measure] = {}
    lists = {lst.id: lst for lst in p.lists}
    services = {s.id for s in p.services}
    for i, lm in enumerate(memo.lists):
        if lm.list not in lists:
            add(("lists", i, "list"), f"policy {p.id} has no list {lm.list!r} (lists: {', '.join(lists)})")
        elif lists[lm.list].kind != "black":
            add(("lists", i, "list"), f"{lm.list} is a redlist: measures of joint punishment apply to blacklists")
        in_list: set[int] = set()
        for j, m in enumerate(lm.measures):
            at = ("lists", i, "measures", j)
            if m.number in in_list or numbers.get(m.number, m) != m:
                add((*at, "number"), f"measure {m.number} is numbered twice")
            in_list.add(m.number)
            numbers.setdefault(m.number, m)
            if m.agency not in agencies:
                add((*at, "agency"), f"agency {m.agency!r} is not among the memorandum's agencies")
            if m.service not in services:
                add((*at, "service"), f"policy {p.id} offers no service {m.service!r}")
    if problems:
        raise PolicyError(problems)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return LoadedMemorandum(memorandum=memo, text=text, origin=origin, sha256=digest)


def builtin_memorandum(memorandum_id: str) -> LoadedMemorandum:
    """A shipped memorandum, validated against the shipped policy it names."""
    if memorandum_id not in BUILTIN_MEMORANDA:
        raise NotFoundError(f"no shipped memorandum {memorandum_id!r}; shipped: {', '.join(BUILTIN_MEMORANDA)}")
    name = f"{memorandum_id}.yaml"
    text = resources.files("socialcredit.policies").joinpath("memoranda", name).read_text("utf-8")
    return parse_memorandum(text, f"memoranda/{name}")


def builtin_memoranda_for(policy_id: str) -> list[LoadedMemorandum]:
    """The shipped memoranda that apply to the shipped policy ``policy_id``."""
    return [m for m in map(builtin_memorandum, BUILTIN_MEMORANDA) if m.memorandum.policy == policy_id]
