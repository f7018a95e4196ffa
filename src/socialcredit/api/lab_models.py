"""The bodies of the policy lab's answers (api/routes/catalogs.py, api/routes/lab.py), as Pydantic models: the
catalog's versions, a candidate catalog checked or published, the impact report, the disparity audit and drift.

The reports are the registry's own (docs/policy-lab.md): each model names what every report carries, and the
answer is the report as ``socialcredit policy impact --format json`` (``policy drift --json``, the audit of
``policy lint --db``) prints it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CatalogChecked",
    "CatalogPublished",
    "CatalogVersion",
    "CatalogVersions",
    "DisparityAudit",
    "Drift",
    "ImpactReport",
    "PublishedCatalog",
]


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


# --- the catalog -------------------------------------------------------------------------------------------------


class CatalogVersion(_Out):
    version: int = Field(description="1 is the catalog shipped with the program; each publication adds one.")
    sha256: str = Field(description="The SHA-256 of the version's text.")
    published_at: dt.datetime


class CatalogVersions(_Out):
    latest: int = Field(description="The version the store reads records, policies and pages with.")
    versions: list[CatalogVersion]


class PublishedCatalog(_Out):
    version: int
    sha256: str
    text: str = Field(description="The version's text (YAML), as published.")
    catalog: dict[str, Any] = Field(description="The same catalog read: sources, categories and record types.")


class CatalogChecked(_Out):
    """A candidate that is a valid catalog and compatible with every published policy (nothing is stored)."""

    base_version: int = Field(description="The store's latest version, which the candidate was checked against.")
    sha256: str
    record_types: int
    sources: int
    added: list[str] = Field(description="What the candidate adds to the store's latest version.")
    unchanged: bool = Field(description="The candidate is the text of the store's latest version.")


class CatalogPublished(_Out):
    version: int = Field(description="The store's catalog version now (the same as before when unchanged).")
    sha256: str
    added: list[str]
    published: bool = Field(description="False when the text was the store's latest version already.")


# --- the policy lab ----------------------------------------------------------------------------------------------


class ImpactSide(_Out):
    policy: str
    version: str
    sha256: str
    origin: str


class TierMove(_Out):
    from_: str = Field(alias="from")
    to: str
    n: int


class ImpactTiers(_Out):
    order: list[str]
    changed: int
    matrix: list[TierMove]


class ImpactList(_Out):
    list: str
    before: int
    after: int
    entered: int
    left: int
    new_cause: int
    cause_ended: int


class ImpactService(_Out):
    service: str
    grant_to_refuse: int
    refuse_to_grant: int


class ImpactGroup(_Out):
    dimension: str
    group: str
    n: int
    changed: int
    rate: float | None


class ImpactRule(_Out):
    rule: str
    subjects: int
    changed_subjects: int
    points_change: float
    in_current: bool
    in_candidate: bool


class ImpactReport(_Out):
    """What replacing ``current`` by ``candidate`` changes, as of ``as_of`` at change ``watermark`` (schema
    ``socialcredit.impact/1``, docs/policy-lab.md)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    schema_: str = Field(alias="schema")
    current: ImpactSide
    candidate: ImpactSide
    as_of: dt.date
    watermark: int
    subjects: int
    scored: dict[str, int]
    changed: int = Field(description="Subjects who change tier, a list or a service.")
    tiers: ImpactTiers
    lists: list[ImpactList]
    services: list[ImpactService]
    services_not_compared: list[str]
    overall: dict[str, Any]
    groups: dict[str, list[dict[str, Any]]] = Field(description="Per district, sex, age band and profession.")
    top_groups: list[ImpactGroup]
    rules: list[ImpactRule]
    criteria: list[dict[str, Any]]
    bounds: dict[str, Any]


class DisparityRow(_Out):
    metric: str
    dimension: str
    group: str
    n: int
    count: int
    rate: float
    rate_ci: list[float]
    overall_rate: float
    ratio: float
    ratio_ci: list[float]
    flagged: bool
    level: str | None = Field(description="warning, note, or null when the ratio is within the band.")


class DisparityAudit(_Out):
    """Rates of listing, refusal per service and tier by district, sex, age band and profession in one run, each
    with its ratio to the overall rate and a 95% interval; groups outside ``band`` flagged (docs/policy-lab.md)."""

    run_id: int
    policy: str
    version: str
    as_of: dt.date
    persons: int
    band: list[float]
    overall: dict[str, dict[str, Any]]
    # of each blacklist of the policy's run in force, how many persons the run listed are in its notice period or
    # ended since the run (not counted) or held (counted, as /ops counts them): none for any other run
    unapplied: dict[str, dict[str, int]] = {}
    rows: list[DisparityRow]
    flagged: list[DisparityRow]


class DriftRun(_Out):
    run_id: int
    version: str
    as_of: dt.date
    subjects: int


class RuleDrift(_Out):
    rule: str
    hit_rate_a: float
    hit_rate_b: float
    psi: float
    alert: bool


class Drift(_Out):
    """The population stability index of scores (binned over both runs' scale, ``score.scale``) and of the hit rate
    of every rule in both runs from ``run_a`` to ``run_b``; the rules ``added`` (only in ``run_b``) and ``removed``
    (only in ``run_a``); an alert for each PSI above ``threshold`` (docs/policy-lab.md)."""

    policy: str
    run_a: DriftRun
    run_b: DriftRun
    threshold: float
    epsilon: float
    score: dict[str, Any]
    rules: list[RuleDrift]
    added: list[str]
    removed: list[str]
    alerts: list[dict[str, Any]]
