"""The policy linter: what a valid policy may still get wrong, judged against a legal profile.

``socialcredit policy lint FILE --profile cn|eu|us``. Validation (``load.py``) says whether a policy can run;
the linter says whether it should. Each finding has a stable rule id, a level (error, warning, note), the place
in the file, and a message that says what to change. The rules, and what each profile makes of them:

======  ==========================================================================  =====  =====  =====
id      finding                                                                     cn     eu     us
======  ==========================================================================  =====  =====  =====
SC101   a service is refused on data from a context unrelated to it                 note   error  warn
SC102   a sanction out of proportion: a minor breach refuses a service               warn   error  warn
SC103   a negative rule or a blacklist criterion without a severity class            error  warn   warn
SC104   a negative rule that never expires                                           error  error  error
SC105   a service refused without a stated reason (no or a generic refusal text)     error  error  error
SC106   consent-only data counted from a mandatory date without (enough) notice      error  error  error
SC107   a generic or repeated reason text                                            warn   warn   error
SC201   a blacklist without the notice and grace period of 1-3 months                 error  warn   note
SC202   severity classes outside the publication periods of the Chinese rules        error  note   note
SC301   a negative record counted longer than 7 years (10 for the gravest)           note   warn   error
SC302   a rule that lowers the score gives no advice on what would change it         note   note   error
======  ==========================================================================  =====  =====  =====

**Contexts.** Each record type is generated in one context of life (``RECORD_CONTEXTS``), and each service
belongs to one (``SERVICE_CONTEXTS``, or the service's ``context`` key). A service's condition depends on record
types through the names it uses: the score, tier, rank and percentile depend on every scoring rule; a dimension on
its rules; a list on its criteria (their record types, and the names in their conditions). A refusal that draws on
a context other than the service's own is the detrimental treatment "in social contexts unrelated to the contexts
in which the data was originally generated" that Art. 5(1)(c) of the EU AI Act prohibits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from socialcredit.policy import expr
from socialcredit.policy.load import LoadedPolicy
from socialcredit.policy.memoranda import LoadedMemorandum
from socialcredit.policy.model import ListCriterion, ListSpec, Policy, SeverityClass
from socialcredit.yamlsrc import load_located

__all__ = [
    "CAUSE_MEASURES",
    "MEASURE_CATEGORIES",
    "PROFILES",
    "RECORD_CONTEXTS",
    "RULES",
    "SERVICE_CONTEXTS",
    "Finding",
    "lint_counts",
    "lint_measures",
    "lint_policy",
]

PROFILES = ("cn", "eu", "us")

# rule id -> (title, level under cn, eu, us)
RULES: dict[str, tuple[str, dict[str, str]]] = {
    "SC101": ("cross-context sanction", {"cn": "note", "eu": "error", "us": "warning"}),
    "SC102": ("disproportionate sanction", {"cn": "warning", "eu": "error", "us": "warning"}),
    "SC103": ("no severity class", {"cn": "error", "eu": "warning", "us": "warning"}),
    "SC104": ("negative rule without expiry", {"cn": "error", "eu": "error", "us": "error"}),
    "SC105": ("refusal without a stated reason", {"cn": "error", "eu": "error", "us": "error"}),
    "SC106": ("mandatory enrollment without notice", {"cn": "error", "eu": "error", "us": "error"}),
    "SC107": ("generic reason text", {"cn": "warning", "eu": "warning", "us": "error"}),
    "SC201": ("notice and grace period", {"cn": "error", "eu": "warning", "us": "note"}),
    "SC202": ("publication periods", {"cn": "error", "eu": "note", "us": "note"}),
    "SC301": ("seven-year limit", {"cn": "note", "eu": "warning", "us": "error"}),
    "SC302": ("reason without advice", {"cn": "note", "eu": "note", "us": "error"}),
    # joint punishment (lint_measures): a memorandum's measure that does not follow from the list's causes
    "SC108": ("measure unrelated to the cause", {"cn": "warning", "eu": "error", "us": "error"}),
}

# The context of life each record type is generated in.
RECORD_CONTEXTS: dict[str, str] = {
    "tax_payment": "fiscal",
    "traffic_ticket": "road traffic",
    "court_judgment": "judicial",
    "loan_repayment": "credit",
    "platform_repayment": "credit",
    "degree_verification": "education",
    "professional_conduct": "professional",
    "utility_payment": "household bills",
    "employment": "employment",
    "volunteering": "civic",
    "blood_donation": "civic",
    "purchase": "consumption",
    "identity_fact": "identity",
    "connection_summary": "social network",
    "company_role": "company registration",
}

# The context each service belongs to, and the record contexts that are related to it (its own included).
SERVICE_CONTEXTS: dict[str, str] = {
    "high_speed_rail": "transport",
    "flight": "transport",
    "rail_priority": "transport",
    "bank_loan": "credit",
    "consumer_credit": "credit",
    "deposit_free_rental": "credit",
    "home_lease": "housing",
    "visa_support": "travel documents",
    "matchmaking_badge": "social",
}
# A context not listed here is related to itself only.
RELATED: dict[str, set[str]] = {
    "transport": {"road traffic"},
    "credit": {"credit", "household bills", "employment"},
    "housing": {"credit", "household bills"},
    "travel documents": {"identity"},
    "social": set(),
}

# Chinese rules on publishing breaches of trust (minimum and maximum publication, in days) and on notice.
# minor: at most 3 months; general: 3 to 12 months; serious: 1 to 3 years (a month's and a year's slack in days).
CN_PERIODS = {"minor": (0, 92), "general": (90, 366), "serious": (365, 1096)}
CN_GRACE = (28, 92)
US_LIMIT_DAYS, US_GRAVE_LIMIT_DAYS = 7 * 365 + 2, 10 * 365 + 3
SCORE_NAMES = {"score", "total", "tier", "rank", "percentile", "last_negative_days"}
GENERIC_TEXTS = {
    "bad behaviour",
    "bad behavior",
    "bad record",
    "negative record",
    "other",
    "misc",
    "miscellaneous",
    "untrustworthy",
    "low score",
    "score too low",
    "not allowed",
    "refused",
    "denied",
    "n/a",
    "不良行为",
    "不良记录",
    "其他",
    "失信",
    "拒绝",
    "不允许",
}


@dataclass(frozen=True)
class Finding:
    rule: str
    level: str  # error | warning | note
    where: str  # file:line: owner
    message: str
    # the author's written justification when the rule overrides this check (``lint_overrides``): the finding is
    # reported, but it does not fail the lint
    overridden: str | None = None

    def __str__(self) -> str:
        text = f"{self.where}: {self.level} {self.rule} ({RULES[self.rule][0]}): {self.message}"
        return text if self.overridden is None else f"{text} — overridden: {self.overridden}"

    @property
    def failing(self) -> bool:
        """An error the author has not overridden."""
        return self.level == "error" and self.overridden is None

    def as_dict(self) -> dict[str, str | None]:
        out: dict[str, str | None] = {"rule": self.rule, "level": self.level, "where": self.where}
        out["message"] = self.message
        if self.overridden is not None:
            out["overridden"] = self.overridden
        return out


class _Out:
    def __init__(self, loaded: LoadedPolicy, profile: str) -> None:
        self.profile = profile
        self.policy = loaded.policy
        self.doc = load_located(loaded.text, loaded.origin)
        self.origin = loaded.origin
        self.findings: list[Finding] = []

    def add(self, rule: str, path: tuple[str | int, ...], owner: str, message: str) -> None:
        line = self.doc.line_of(path)
        where = f"{self.origin}:{line}" if line else self.origin
        level = RULES[rule][1][self.profile]
        why = None
        if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int):  # a finding on a rule it may override
            why = self.policy.rules[path[1]].overridden(rule)
        self.findings.append(Finding(rule, level, f"{where}: {owner}" if owner else where, message, why))


def _negative(points: float) -> bool:
    return points < 0


def _rule_contexts(p: Policy, rule_ids: Iterable[str]) -> dict[str, set[str]]:
    """context -> the record types (of these rules) it comes from."""
    out: dict[str, set[str]] = {}
    for r in p.rules:
        if r.id in rule_ids:
            out.setdefault(RECORD_CONTEXTS.get(r.record_type, "unknown"), set()).add(r.record_type)
    return out


def _depends(loaded: LoadedPolicy, names: set[str], seen: frozenset[str] = frozenset()) -> dict[str, set[str]]:
    """The contexts (with their record types) the subject facts ``names`` draw on. A criterion's condition is read as
    the policy was loaded (a version a store holds, as published: ``expr.READ_BACK``), not parsed again."""
    p = loaded.policy
    out: dict[str, set[str]] = {}

    def merge(more: dict[str, set[str]]) -> None:
        for ctx, types in more.items():
            out.setdefault(ctx, set()).update(types)

    dims = {d.id for d in p.dimensions}
    if names & SCORE_NAMES or names & dims:
        affects_all = bool(names & SCORE_NAMES)
        merge(_rule_contexts(p, {r.id for r in p.rules if affects_all or r.dimension in names}))
    for lst in p.lists:
        if lst.id in names and lst.id not in seen:
            for c in lst.criteria:
                if c.record is not None:
                    ctx = RECORD_CONTEXTS.get(c.record.record_type, "unknown")
                    out.setdefault(ctx, set()).add(c.record.record_type)
                if c.when:
                    merge(_depends(loaded, _names(loaded, lst.id, c.id), seen | {lst.id}))
                if c.via is not None:  # the role records, and what puts the organisation on the list
                    out.setdefault(RECORD_CONTEXTS["company_role"], set()).add("company_role")
                    target = next((x for x in p.lists if x.id == c.via.list), None)
                    if target is not None:
                        for oc in target.criteria:
                            if c.via.criteria is not None and oc.id not in c.via.criteria:
                                continue
                            if oc.record is not None:
                                ctx = RECORD_CONTEXTS.get(oc.record.record_type, "unknown")
                                out.setdefault(ctx, set()).add(oc.record.record_type)
                            if oc.when:
                                merge(_depends(loaded, _names(loaded, target.id, oc.id), seen | {lst.id, target.id}))
    return out


def _names(loaded: LoadedPolicy, list_id: str, criterion_id: str) -> set[str]:
    node = loaded.condition(f"list:{list_id}.{criterion_id}")
    return expr.names_in(node) if node is not None else set()


def _service_context(p: Policy, service_id: str) -> str | None:
    return p.service(service_id).context or SERVICE_CONTEXTS.get(service_id)


def _is_generic(text: str) -> bool:
    t = re.sub(r"[\s.。!！]+$", "", text.strip().lower())
    return t in GENERIC_TEXTS or (len(t) < 4 and not re.search(r"[\u4e00-\u9fff]{2,}", t))


def lint_policy(loaded: LoadedPolicy, profile: str = "cn") -> list[Finding]:
    """Every finding on a valid policy under ``profile`` (cn, eu or us), in file order."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; profiles: {', '.join(PROFILES)}")
    p = loaded.policy
    out = _Out(loaded, profile)
    blacklists = {lst.id for lst in p.lists if lst.kind == "black"}

    # Services: context (SC101), proportion (SC102), stated reason (SC105).
    for i, svc in enumerate(p.services):
        node = loaded.condition(f"service:{svc.id}")
        names = expr.names_in(node) if node is not None else set()
        own = _service_context(p, svc.id)
        where = ("services", i, "grant_if")
        owner = f"service {svc.id}"
        if own is None:
            out.add(
                "SC101",
                where,
                owner,
                "no context is known for this service, so whether its refusals draw on unrelated data cannot be "
                "judged; give the service a context (e.g. context: transport)",
            )
        else:
            related = {own} | RELATED.get(own, set())
            foreign = {ctx: types for ctx, types in _depends(loaded, names).items() if ctx not in related}
            if foreign:
                listed = "; ".join(f"{ctx} ({', '.join(sorted(types))})" for ctx, types in sorted(foreign.items()))
                out.add(
                    "SC101",
                    where,
                    owner,
                    f"{'an' if own[:1] in 'aeiou' else 'a'} {own} service is refused on data from unrelated contexts: "
                    f"{listed}; base it on conduct "
                    f"in the {own} context, or drop the sanction",
                )
        for lst in p.lists:
            if lst.id in names and lst.id in blacklists:
                for j, c in enumerate(lst.criteria):
                    if c.severity == "minor":
                        out.add(
                            "SC102",
                            ("lists", p.lists.index(lst), "criteria", j, "severity"),
                            f"list {lst.id} criterion {c.id}",
                            f"a minor breach puts a subject on the {lst.id}, which refuses {svc.id}; "
                            "list only general or serious breaches, or grant the service",
                        )
        refusal = [t for t in (svc.refusal.en, svc.refusal.zh) if t is not None]
        if not refusal or any(not t.strip() or _is_generic(t) for t in refusal):
            out.add(
                "SC105",
                ("services", i, "refusal"),
                owner,
                "the refusal does not say why (write what the service needs, e.g. 'A bank loan needs grade B or "
                "better and no blacklisting.')",
            )

    # Rules: severity (SC103), expiry (SC104), seven years (SC301), reasons (SC107, SC302).
    for i, r in enumerate(p.rules):
        owner = f"rule {r.id}"
        if _negative(r.points):
            if r.severity is None:
                out.add(
                    "SC103",
                    ("rules", i),
                    owner,
                    "a negative rule needs a severity class (minor, general or serious)",
                )
            life = r.expires_after_days or r.window_days
            if life is None:
                out.add(
                    "SC104",
                    ("rules", i),
                    owner,
                    "a negative record counts for ever; give it expires_after_days (or window_days)"
                    + (" (decay lowers its weight but never ends it)" if r.decay else ""),
                )
            else:
                limit = US_GRAVE_LIMIT_DAYS if r.severity == "serious" else US_LIMIT_DAYS
                if life > limit:
                    years = 10 if r.severity == "serious" else 7
                    out.add(
                        "SC301",
                        ("rules", i, "expires_after_days" if r.expires_after_days else "window_days"),
                        owner,
                        f"counted for {life} days, more than {years} years"
                        + ("" if r.severity == "serious" else " (only the gravest, severity serious, may count 10)"),
                    )
            if r.advice is None:
                out.add("SC302", ("rules", i), owner, "a rule that lowers the score gives no advice on what to do")
        for lang in ("en", "zh"):
            text = getattr(r.reason, lang)
            if _is_generic(text):
                out.add("SC107", ("rules", i, "reason", lang), owner, f"the reason text {text!r} says nothing specific")
    # Lists: severity of blacklist criteria (SC103), notice and grace (SC201).
    for i, lst in enumerate(p.lists):
        if lst.kind != "black":
            continue
        for j, c in enumerate(lst.criteria):
            if c.severity is None:
                out.add(
                    "SC103",
                    ("lists", i, "criteria", j),
                    f"list {lst.id} criterion {c.id}",
                    "a blacklisting needs a severity class: it sets how long the listing may be published",
                )
            if _is_generic(c.reason.en) or _is_generic(c.reason.zh):
                out.add(
                    "SC107",
                    ("lists", i, "criteria", j, "reason"),
                    f"list {lst.id} criterion {c.id}",
                    "the reason text says nothing specific",
                )
        lo, hi = CN_GRACE
        if not lo <= lst.grace_days <= hi:
            out.add(
                "SC201",
                ("lists", i, "grace_days") if lst.grace_days else ("lists", i),
                f"list {lst.id}",
                f"grace_days is {lst.grace_days}: a subject must be notified and given 1-3 months "
                f"({lo}-{hi} days) before a blacklisting takes effect",
            )

    # Severity classes against the Chinese publication periods (SC202).
    classes: dict[str, SeverityClass] = {str(k): v for k, v in p.severities.items()}
    for sev, (lo, hi) in CN_PERIODS.items():
        cls = classes.get(sev)
        used = any(r.severity == sev for r in p.rules) or any(
            c.severity == sev for lst in p.lists for c in lst.criteria
        )
        if cls is None:
            if used:
                out.add("SC202", ("severities",), "severities", f"severity {sev} is used but has no publication period")
            continue
        if not (cls.min_publication_days >= lo and cls.max_publication_days <= hi):
            out.add(
                "SC202",
                ("severities", sev),
                f"severity {sev}",
                f"published {cls.min_publication_days}-{cls.max_publication_days} days; the rules allow "
                f"{lo}-{hi} days for a {sev} breach",
            )

    # Consent (SC106).
    consent = p.consent
    if consent.mandatory_from is not None and consent.categories and consent.notice_days < 30:
        out.add(
            "SC106",
            ("consent", "notice_days"),
            "consent",
            f"{', '.join(consent.categories)} data counts for everyone from {consent.mandatory_from} with only "
            f"{consent.notice_days} days' notice; give residents at least 30 days",
        )
    order = {"error": 0, "warning": 1, "note": 2}
    return sorted(out.findings, key=lambda f: (_line(f.where), order[f.level], f.rule))


def lint_counts(findings: Iterable[Finding]) -> dict[str, int]:
    """Findings by level; an overridden finding (``lint_overrides``, with its justification) is counted under
    ``overridden`` (a key present only when some finding is) instead of its level: it does not fail the lint."""
    counts = {"error": 0, "warning": 0, "note": 0}
    for f in findings:
        if f.overridden is not None:
            counts["overridden"] = counts.get("overridden", 0) + 1
        else:
            counts[f.level] += 1
    return counts


def _line(where: str) -> int:
    m = re.match(r"^[^:]*:(\d+)", where)
    return int(m.group(1)) if m else 0


# Joint punishment (issue 20): the proportionality profile's relation of a listing's cause to the measures that may
# follow from it. A cause is the context of the records that put a subject on the list (RECORD_CONTEXTS); a measure
# is the category of the service it refuses (MEASURE_CATEGORIES, else the service's context). A judgment debt may
# restrict high spending, credit, housing and travel abroad (the Supreme People's Court's rules on high spending and
# the joint-punishment memoranda); a traffic fine may restrict only transport, never, say, a child's school fees.
MEASURE_CATEGORIES: dict[str, str] = {
    "high_speed_rail": "high spending",
    "flight": "high spending",
    "air_travel": "high spending",
    "rail_business_class": "high spending",
    "rail_first_class": "high spending",
    "star_hotel": "high spending",
    "property_purchase": "high spending",
    "private_school_fees": "high spending",
    "company_registration": "office and registration",
    "legal_representative_registration": "office and registration",
    "bank_loan": "credit",
    "consumer_credit": "credit",
    "deposit_free_rental": "credit",
    "home_lease": "housing",
    "visa_support": "travel documents",
    "rail_priority": "transport",
    "matchmaking_badge": "social",
}
CAUSE_MEASURES: dict[str, set[str]] = {
    "judicial": {"high spending", "credit", "housing", "travel documents", "office and registration"},
    "fiscal": {"high spending", "credit", "travel documents", "office and registration"},
    "credit": {"credit"},
    "road traffic": {"transport"},
    "professional": {"office and registration"},
}


def _measure_category(p: Policy, service_id: str) -> str | None:
    return MEASURE_CATEGORIES.get(service_id) or _service_context(p, service_id)


def _causes(p: Policy, lst: ListSpec) -> list[ListCriterion]:
    """The criteria whose cause a measure against ``lst`` must follow from: its own, and for a criterion met
    through an organisation (``via``), the criteria of the organisation's list it names."""
    out: list[ListCriterion] = []
    for c in lst.criteria:
        if c.via is None:
            out.append(c)
            continue
        target = next((x for x in p.lists if x.id == c.via.list), None)
        if target is not None:
            out.extend(
                x for x in target.criteria if x.via is None and (c.via.criteria is None or x.id in c.via.criteria)
            )
    return out


def lint_measures(loaded: LoadedPolicy, memorandum: LoadedMemorandum, profile: str = "cn") -> list[Finding]:
    """SC108 on a memorandum's measures: each must follow from the cause of every record criterion of its list.

    A criterion on the score (not on records) has no cause of its own and is judged by SC101 instead.
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; profiles: {', '.join(PROFILES)}")
    p = loaded.policy
    doc = load_located(memorandum.text, memorandum.origin)
    findings: list[Finding] = []
    for i, lm in enumerate(memorandum.memorandum.lists):
        lst = next((x for x in p.lists if x.id == lm.list), None)
        if lst is None:
            continue
        for j, m in enumerate(lm.measures):
            category = _measure_category(p, m.service)
            for c in _causes(p, lst):
                if c.record is None:
                    continue
                cause = RECORD_CONTEXTS.get(c.record.record_type, "unknown")
                if category is not None and category in CAUSE_MEASURES.get(cause, set()):
                    continue
                line = doc.line_of(("lists", i, "measures", j, "service"))
                where = f"{memorandum.origin}:{line}" if line else memorandum.origin
                findings.append(
                    Finding(
                        "SC108",
                        RULES["SC108"][1][profile],
                        f"{where}: measure {m.number}",
                        f"refusing {m.service} ({category or 'no known category'}) does not follow from the cause "
                        f"of list {lst.id} criterion {c.id} ({cause}, {c.record.record_type}); a {cause} cause may "
                        f"lead to: {', '.join(sorted(CAUSE_MEASURES.get(cause, set()))) or 'no measure'}",
                    )
                )
    return findings
