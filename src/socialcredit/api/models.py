"""The bodies of the API's answers, as Pydantic models: the OpenAPI spec describes every successful answer.

Each model names the fields every answer of its kind carries. Models allow extra fields: an answer built by the
registry may carry more (a policy's public fields, a record type's own fields), and they reach the caller as they
are. Dates and times are ISO text.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AuditEntries",
    "AuditEntry",
    "AuditProblem",
    "AuditVerification",
    "BatchAnswer",
    "BatchDecision",
    "BatchDecisions",
    "Consent",
    "ConsentChange",
    "ConsentSet",
    "Decision",
    "Dispute",
    "ErrorDetail",
    "FraudAlert",
    "FreezeEvent",
    "FreezeLift",
    "FreezeStatus",
    "Fulfilment",
    "Health",
    "IssuedKey",
    "Job",
    "KeyRow",
    "Keys",
    "ListEntry",
    "ListPage",
    "Listing",
    "Override",
    "OwnDecision",
    "PolicyPublished",
    "PublicListing",
    "PublishedPolicies",
    "PublishedPolicy",
    "Reason",
    "Repair",
    "ResidentFile",
    "Revoked",
    "RowError",
    "Run",
    "Runs",
    "StartedJob",
    "SubjectReport",
]


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


# --- service -----------------------------------------------------------------------------------------------------


class Health(_Out):
    status: str
    runs: list[int]
    journal_pending: int
    explanations: dict[str, str] = Field(
        description="By run id: whether the explanations of its decisions (reasons, list entries) are held in memory "
        "('loaded'), still loading after the service started answering ('loading': full decisions read them from "
        "the store meanwhile, the same answers a little slower), or could not be loaded ('failed': they are read "
        "from the store; see the service's log)."
    )


# --- decisions -----------------------------------------------------------------------------------------------------


class Reason(_Out):
    code: str
    text: str
    points: float | None
    advice: str | None
    source: str


class JointPunishment(_Out):
    """The memorandum and measure under which the asking agency refuses (docs/organisations.md)."""

    memorandum_id: str
    memorandum_version: str
    document_number: str
    title: str
    list: str
    measure: int
    agency: str
    text: str = Field(description="e.g. 'refused under memorandum 发改财金〔2016〕141号, measure 12: …'")


class Decision(_Out):
    """A decision as a relying party sees it: never the score, nor the actions (they name the subject's records)."""

    subject_id: str
    service: str
    purpose: str
    granted: bool
    policy_id: str
    policy_version: str
    run_id: int
    watermark: int | None = Field(
        None, description="The change number the decision stands on: the run's, or the latest one patched in since."
    )
    tier: str
    lists: list[str]
    reasons: list[Reason]
    refusal: str | None
    frozen: bool = Field(False, description="Refused because the resident froze the file (reason FROZEN).")
    verify_identity: bool = Field(
        False, description="The resident placed a fraud alert: verify their identity (reason VERIFY_IDENTITY)."
    )
    joint_punishment: JointPunishment | None = Field(
        None, description="A refusal by a party acting for an agency: the memorandum and measure it applies."
    )


class OwnDecision(Decision):
    """A decision on one's own file: with the score, the inquiry and what would change a refusal."""

    score: int
    inquiry_id: int | None
    actions: list[str]


class ErrorDetail(_Out):
    code: str
    message: str


class BatchDecision(_Out):
    """One item of a batch: the fields of a single Decision, or (for an identity number the run did not score)
    ``granted: null`` with an error."""

    subject_id: str
    granted: bool | None
    tier: str | None
    service: str | None = None
    purpose: str | None = None
    policy_id: str | None = None
    policy_version: str | None = None
    run_id: int | None = None
    watermark: int | None = None
    lists: list[str] | None = None
    reasons: list[Reason] | None = None
    refusal: str | None = None
    error: ErrorDetail | None = None  # only for an identity number the run did not score
    frozen: bool | None = None  # true when refused because the resident froze the file
    verify_identity: bool | None = None  # true when the resident placed a fraud alert
    joint_punishment: JointPunishment | None = None  # a refusal by an agency's key: the memorandum's measure


class BatchDecisions(_Out):
    run_id: int
    watermark: int = Field(description="The change number the decisions stand on (see Decision.watermark).")
    service: str
    decisions: list[BatchDecision]


class SubjectReport(_Out):
    """A resident's file as scored: the subject, scores, records and inquiries."""

    subject: dict[str, Any]


# --- furnishers ----------------------------------------------------------------------------------------------------


class RowError(_Out):
    row: int
    field: str
    message: str


class BatchAnswer(_Out):
    """What came of a batch: rows sent, accepted (new versions), unchanged, rejected (with every error)."""

    file: str
    source: str
    kind: str
    batch_id: int | None
    rows: int
    accepted: int
    unchanged: int
    rejected: int
    errors: list[RowError]
    replayed: bool
    unregistered_org_roles: int = Field(
        0,
        description="The batch's roles (company_role) taken that name an organisation not registered: each links to "
        "its organisation once it is registered, and to none before (docs/ingest.md).",
    )
    unregistered_org_count: int = Field(0, description="How many organisations those roles name.")
    unregistered_orgs: list[str] = Field([], description="The first of those organisations (at most 10), in order.")
    watermark: int | None = Field(
        None,
        description="The last change number the batch took (null when it committed nothing new): a decision whose "
        "watermark is at least this one counts every record of the batch.",
    )


# --- operators -----------------------------------------------------------------------------------------------------


class Job(_Out):
    job_id: int
    policy: str
    as_of: str
    incremental: bool
    requested_by: str
    from_records: bool
    status: str
    stage: str | None
    done: int
    total: int
    run_id: int | None
    error: str | None
    started_at: str | None
    finished_at: str | None
    summary: dict[str, Any]


class StartedJob(Job):
    follow: str


class Run(_Out):
    run_id: int
    policy_id: str
    policy_version: str
    # Decided when the run was made: ordinary, what_if (dated after the registry's today), rerun, past_dated (dated
    # before an ordinary run made before it) or behind (fewer changes read than one). Only an ordinary run comes
    # into force.
    standing: str
    # The policy's run in force: its newest-made ordinary finished run, which decisions and lists stand on.
    in_force: bool


class Runs(_Out):
    runs: list[Run]


class PublishedPolicy(_Out):
    policy_id: str
    version: str
    sha256: str
    # The version a run of the policy uses: its newest published, by version order (2026.10 after 2026.9).
    in_force: bool


class PolicyPublished(_Out):
    """A policy version just published (``published``), or published before with the same text."""

    policy_id: str
    version: str
    sha256: str
    published: bool
    # The policy's version in force now: this one, unless a newer version was published before it.
    in_force: str


class PublishedPolicies(_Out):
    policies: list[PublishedPolicy]


class ListEntry(_Out):
    subject_id: str
    name: str | None
    criteria: list[str]
    listing: str | None = Field(
        None,
        description="A blacklist's entry: where its listing stands. effective (decisions count it), notice (told, in "
        "its grace period until effective_on: decisions and the public look-up do not count it yet), held (in effect "
        "in the register, but decisions no longer apply it: its record withdrawn, corrected or disputed since the "
        "run; the next run closes it) or ended since the run. Null for a redlist (it has no listings), and for a "
        "blacklist entry with no listing here: the run found it through another region's record whose listing there "
        "has ended (repaired, overridden…), so none was made here.",
    )
    effective_on: dt.date | None = Field(None, description="A blacklist's entry: the day its listing takes effect.")


class ListPage(_Out):
    run_id: int
    policy: str
    list_id: str
    total: int
    entries: list[ListEntry]
    next: str | None


class KeyRow(_Out):
    key_id: str
    role: str
    name: str
    policy_id: str | None = Field(None, description="A relying party's policy: its decisions come from its runs.")
    agency: str | None = Field(
        None, description="A relying party's agency in a joint-punishment memorandum: its refusals name the measure."
    )


class Keys(_Out):
    keys: list[KeyRow]
    roles: list[str]


class IssuedKey(KeyRow):
    key: str = Field(description="The key (shown once), as `keys issue --json` names it.")
    token: str = Field(
        deprecated=True, description="The same key under its first name, kept for clients written before `key`."
    )


class Revoked(_Out):
    key_id: str
    revoked: bool


# --- auditors ------------------------------------------------------------------------------------------------------


class AuditProblem(_Out):
    seq: int
    message: str


class AuditVerification(_Out):
    ok: bool
    problems: list[AuditProblem]


class AuditEntry(_Out):
    seq: int
    actor: str
    action: str
    subject_id: str | None
    detail: Any


class AuditEntries(_Out):
    entries: list[AuditEntry]


# --- due process ---------------------------------------------------------------------------------------------------


class Dispute(_Out):
    dispute_id: int
    subject_id: str
    source_id: str
    record_id: str
    status: str
    opened_at: str
    deadline: str
    # who filed it for the organisation (its legal representative's identity number, masked in the organisation's
    # file as its related persons are); None when the subject acted for themselves
    representative_id: str | None = None
    # the legal representative who withdrew the organisation's dispute (status retracted); None otherwise
    retracted_by_representative: str | None = None
    # the answer to filing it: the notice the subject was sent, in the language asked (``lang``); None otherwise
    notice: str | None = None


class LinkDispute(_Out):
    """A resident's dispute of the link of another region's identity to them (docs/regions.md)."""

    dispute_id: int
    subject_id: str
    identity_id: int
    origin_region: str
    origin_number: str
    reason: str
    status: str
    opened_at: str
    deadline: str
    answered_at: str | None = None
    note: str | None = None


class Fulfilment(_Out):
    fulfilment_id: int
    source_id: str
    record_id: str
    fulfilled_on: str


class Repair(_Out):
    repair_id: int
    subject_id: str
    source_id: str
    record_id: str
    status: str
    # submitted, under_review, granted or refused (docs/due-process.md, "The credit repair workflow")
    stage: str | None = None
    answer_due: str | None = None
    # who applied for the organisation (as Dispute.representative_id)
    representative_id: str | None = None


class Override(_Out):
    override_id: int
    subject_id: str
    kind: str
    justification: str
    actor: str
    on_date: str


class ConsentChange(_Out):
    recorded_at: str


class Consent(_Out):
    current: dict[str, bool]
    history: list[ConsentChange]


class ConsentSet(_Out):
    category: str
    granted: bool
    current: dict[str, bool]


class ResidentFile(_Out):
    """Everything held about a resident."""

    subject: Any
    records: list[Any]
    inquiries: list[Any]
    disputes: list[Dispute]
    notices: list[Any]
    repairs: list[Repair]


class Listing(_Out):
    listing_id: int
    subject_id: str
    policy_id: str
    list_id: str
    status: str
    held: int | None = Field(
        None,
        description="For a listing in effect: the change since which decisions no longer apply it (its cause no "
        "longer holds: the record withdrawn, corrected or disputed); relying parties asking now are not told it, and "
        "the next score run closes it. Null when decisions apply the listing as its status says.",
    )
    held_since: str | None = Field(
        None,
        description="With held: the as-of date (YYYY-MM-DD) of the score whose decisions applied it before, the day a "
        "reader is told ('not applied by decisions since the score of 2026-07-01').",
    )
    held_why: str | None = Field(None, description="Why decisions no longer apply it, in the reader's language.")


class PublicListing(_Out):
    """A public blacklist entry: the fields its policy makes public (name, masked identity number, list, cause…)."""


class FreezeLift(_Out):
    party: str | None = Field(description="The relying party (key id) the freeze is lifted for; null: every party.")
    from_: dt.date = Field(alias="from")
    until: dt.date | None = Field(description="The last day of the lift; null: until the freeze is lifted.")


class FraudAlert(_Out):
    kind: str = Field(description="initial (a year) or extended (seven years, with a police report).")
    police_report: str | None
    since: dt.date
    until: dt.date
    in_force: bool


class FreezeEvent(_Out):
    at: dt.datetime
    event: str
    by: str
    party: str | None = None
    from_: dt.date | None = Field(None, alias="from")
    until: dt.date | None = None


class FreezeStatus(_Out):
    """A resident's security freeze and fraud alert (docs/freeze.md)."""

    subject_id: str
    frozen: bool
    frozen_since: dt.date | None
    lifts: list[FreezeLift]
    fraud_alert: FraudAlert | None
    history: list[FreezeEvent]


# --- score history and the public look-up's pages (issue 18) -------------------------------------------------------


class HistoryList(_Out):
    list: str
    name: str


class RuleChange(_Out):
    rule_id: str
    rule: str = Field(description="The rule's reason, in words.")
    points_before: float
    points: float
    difference: float


class HistoryChange(_Out):
    """What changed from the run before (or, live, from the latest run)."""

    from_run_id: int
    score: int = Field(description="Points gained (positive) or lost since that run.")
    tier_before: str
    rank_before: int
    rules: list[RuleChange] = Field(default=[], description="Rules whose points moved, the largest move first.")
    lists_entered: list[HistoryList]
    lists_left: list[HistoryList]


class HistoryRun(_Out):
    run_id: int
    policy_version: str
    as_of: dt.date
    mode: str
    watermark: int
    score: int
    tier: str
    tier_name: str
    rank: int
    percentile: float
    lists: list[HistoryList] = Field(
        description=(
            "The lists the subject was on at the run's date (a listing in effect then and not yet closed), "
            "judged from the listings' own dates."
        )
    )
    lists_in_notice: list[HistoryList] = Field(
        default=[],
        description="The lists the run found the subject meets only in a notice's grace period: not yet on them.",
    )
    change: HistoryChange | None = Field(description="Null for the first run of the policy.")


class HistoryLive(_Out):
    """The subject as rescored since the latest run (not kept one by one: where it stands now)."""

    run_id: int
    watermark: int
    score: int
    tier: str
    rank: int
    percentile: float
    lists: list[HistoryList] = Field(
        description=(
            "The lists the subject is on now: those the live rescoring found, judged from the listings' own dates on "
            "the registry's today, as a run's are."
        )
    )
    lists_in_notice: list[HistoryList] = Field(
        default=[], description="The lists the subject meets now only in a notice's grace period: not yet on them."
    )
    change: HistoryChange


class PolicyHistory(_Out):
    policy: str
    policy_name: str
    live: HistoryLive | None
    runs: list[HistoryRun] = Field(description="Newest first.")


class ScoreHistory(_Out):
    """Every run of every policy that scored the subject, with what changed each time."""

    subject_id: str
    live_changes_kept: bool = Field(description="False: live rescoring keeps no row per change, only where it stands.")
    policies: list[PolicyHistory]


class PublicLookupPage(_Out):
    """One page of a public look-up, with the totals."""

    q: str
    page: int
    page_size: int
    total: int
    pages: int
    results: list[PublicListing]


# --- organisations (docs/organisations.md) ------------------------------------------------------------------------


class OrgHit(_Out):
    org_id: str
    name: str | None
    district: str | None


class OrgSearch(_Out):
    """A page of organisations found by credit code or name."""

    query: str
    page: int
    results: list[OrgHit]
    next_page: int | None


class RelatedPerson(_Out):
    person_id: str = Field(description="Masked (first six and last four characters) for anyone but an operator.")
    name: str | None = Field(description="Masked (the family name) for anyone but an operator.")
    role: str
    role_name: str
    start_date: str | None
    end_date: str | None
    current: bool


class OrgLookup(_Out):
    at: str
    role: str = Field(description="operator or representative")
    name: str | None = Field(description="The operator's name (none for the representative).")
    by: str
    purpose: str


class OrgFile(_Out):
    """An organisation's file: scores and lists, records, listings, due process, related persons, look-ups."""

    organisation: OrgHit
    scores: list[dict[str, Any]]
    records: list[dict[str, Any]]
    listings: list[dict[str, Any]]
    disputes: list[dict[str, Any]]
    repairs: list[dict[str, Any]]
    related_persons: list[RelatedPerson]
    persons_masked: bool
    lookups: list[OrgLookup]
