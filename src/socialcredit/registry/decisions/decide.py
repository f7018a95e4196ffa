"""Decisions: may this subject have this service? Granted or refused, with at most four ranked reasons and
what would change the outcome. Every decision is logged as an inquiry the subject can see."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from socialcredit.clock import resolve_today
from socialcredit.compiler.plan import MAX_REASONS, MICRO, micro
from socialcredit.errors import DecisionError, IdentifierError, NotFoundError
from socialcredit.identifiers import compact_subject_id, no_subject, validate_subject_id
from socialcredit.policy import LoadedPolicy, expr
from socialcredit.policy.model import RELATION_RECORD_TYPE
from socialcredit.policy.words import FLIPPED, comparison_words, exact_number, number_words, subject_condition_words
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.common import check_purpose, check_requester, shown_points
from socialcredit.registry.decisions.actions import actions_for_refusal, score_short
from socialcredit.registry.decisions.inquiries import write_inquiries
from socialcredit.registry.due_process.freeze import (
    FROZEN_CODE,
    VERIFY_CODE,
    Guard,
    guard_of,
    party_of,
    reason_text,
)
from socialcredit.registry.due_process.listings import effective_lists
from socialcredit.registry.due_process.relations import relation_notes
from socialcredit.registry.hooks import plugin_manager
from socialcredit.registry.records.origin import origin_note
from socialcredit.registry.scoring.facts import facts_of, grants_with
from socialcredit.registry.scoring.policies import get_policy
from socialcredit.registry.scoring.runs import in_force_sql, no_run_in_force
from socialcredit.store import Store, listed_strings, run_rows

if TYPE_CHECKING:
    import pyarrow as pa

    from socialcredit.registry.decisions.live import LiveView

__all__ = [
    "Decision",
    "Reason",
    "Served",
    "ambiguous_service",
    "decide",
    "explain_rows",
    "guarded",
    "not_offered_under",
    "policies_offering",
    "run_entries",
    "run_entries_of",
    "run_for_service",
    "served_since_run",
    "subject_result",
]


@dataclass(frozen=True)
class Reason:
    """One principal reason: a stable code, a plain text, its effect in points, and what would change it."""

    code: str
    text: str
    points: float | None = None
    advice: str | None = None
    source: str = "score"  # score | list | condition


@dataclass
class Decision:
    subject_id: str
    service: str
    purpose: str
    granted: bool
    policy_id: str
    policy_version: str
    run_id: int
    score: int
    tier: str
    lists: list[str]
    reasons: list[Reason] = field(default_factory=list)
    refusal: str | None = None
    inquiry_id: int | None = None
    # what would change a refusal: the smallest set of actions (registry/decisions/actions.py)
    actions: list[str] = field(default_factory=list)
    # the change number the decision stands on: the run's watermark, or the latest change patched in since
    watermark: int | None = None
    # the resident's own controls (registry/due_process/freeze.py): refused as frozen; asked to verify identity
    frozen: bool = False
    verify_identity: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Served:
    """How the running service answers relying parties about one subject on a service: the run its snapshot holds,
    the change number it stands on (its watermark), and the subject as decisions on it see the subject
    (``Snapshot.served_view``: as rescored since the run, else the run's row with the lists in effect in memory; None
    if the run did not score it). A decision given ``served`` tells what a relying party is answered at that moment
    (``Service.served``)."""

    run_id: int
    watermark: int
    view: LiveView | None = None


def served_since_run(store: Store, run: dict[str, Any], subject_id: str) -> Served:
    """What a relying party is answered about ``subject_id`` on ``run`` (a row of ``score_runs``) at this moment,
    for a caller holding no service (the console): the subject, if changed since the run, rescored as a live pass
    has it (``views_since_run``: a record disputed, corrected or withdrawn counts no more, and the listing it held up
    is held), at the change it was rescored to; else the run's row as of the run's watermark. Changes nothing in the
    store; never inside a service (its faces ask ``Service.served``: that fold beside the live thread's conflicts)."""
    from socialcredit.registry.decisions.live import views_since_run  # live.py builds on this module

    view = views_since_run(store, run, [subject_id]).get(subject_id)
    return Served(int(run["run_id"]), int(run["watermark"]) if view is None else view.watermark, view)


def run_for_service(store: Store, service: str, policy_id: str | None) -> dict[str, Any]:
    """The run in force of ``policy_id`` (or of the newest policy that offers ``service``): decisions stand on it
    as the listings, pages and reports do (``registry/scoring/runs.py: run_in_force``). A policy scored only by
    what-ifs or reruns is refused saying so (``no_run_in_force``)."""
    mine = " WHERE policy_id = ?" if policy_id else ""
    params = [policy_id] if policy_id else []
    runs = store.rows(f"SELECT * FROM ({in_force_sql()}){mine} ORDER BY run_id DESC", params)

    def offers(run: dict[str, Any]) -> bool:
        return any(s.id == service for s in get_policy(store, run["policy_id"], run["policy_version"]).policy.services)

    for run in runs:
        if offers(run):
            return run
    # none in force offers it: a policy that does, scored but with no run in force, is named with why
    in_force = {r["policy_id"] for r in runs}
    scored = store.rows(
        f"SELECT * FROM score_runs{mine or ' WHERE true'} AND finished_at IS NOT NULL "
        "QUALIFY row_number() OVER (PARTITION BY policy_id ORDER BY run_id DESC) = 1 ORDER BY run_id DESC",
        params,
    )
    for run in scored:
        if run["policy_id"] not in in_force and (policy_id or offers(run)):
            raise no_run_in_force(store, str(run["policy_id"]))
    if policy_id and (runs or store.rows(f"SELECT 1 FROM ({in_force_sql()}) LIMIT 1")):
        raise not_offered_under(policy_id, service)
    if not runs:
        raise NotFoundError(
            "no score run yet" + (f" for policy {policy_id}" if policy_id else ""),
            zh=(f"政策 {policy_id} " if policy_id else "") + "还没有评分",
        )
    raise NotFoundError(f"no scored policy offers the service {service!r}", zh=f"没有已评分的政策提供服务 {service!r}")


def not_offered_under(policy_id: str, service: str) -> NotFoundError:
    """A service asked under a policy no run in force offers it under (none of that id, or one without the service),
    when others are scored: the same words where the service's snapshots decide and where the run in force does."""
    return NotFoundError(
        f"no scored run of policy {policy_id} offers the service {service!r}",
        field="policy",
        zh=f"政策 {policy_id} 没有提供服务 {service!r} 的评分",
    )


def policies_offering(store: Store, service: str) -> list[str]:
    """The policies in use (with a run in force) whose run in force offers ``service``, by id."""
    runs = store.rows(f"SELECT policy_id, policy_version FROM ({in_force_sql()}) ORDER BY policy_id")
    return [
        str(r["policy_id"])
        for r in runs
        if any(s.id == service for s in get_policy(store, r["policy_id"], r["policy_version"]).policy.services)
    ]


def ambiguous_service(service: str, policies: Sequence[str]) -> DecisionError:
    """The refusal of a decision that does not say which of the policies defining ``service`` it relies on."""
    return DecisionError(
        f"the service {service} is defined by {len(policies)} policies in use ({', '.join(policies)}): name the "
        f"policy you rely on with ?policy=ID (API) or --policy ID (command line), or have your key bound to one "
        f"(socialcredit keys issue ... --policy ID)",
        zh=f"服务 {service} 由 {len(policies)} 项在用政策定义（{'、'.join(policies)}）：请用 ?policy=ID（API）或 "
        f"--policy ID（命令行）指明所依据的政策，或将密钥限定于一项政策（socialcredit keys issue ... --policy ID）",
        code="ambiguous_service",
        field="policy",
    )


def subject_result(store: Store, run_id: int, subject_id: str) -> dict[str, Any]:
    rows = store.rows(f"SELECT * FROM {run_rows(store, 'run_results', run_id)} WHERE subject_id = ?", [subject_id])
    if not rows:
        known = store.one("SELECT count(*) FROM subjects WHERE subject_id = ?", [subject_id])
        if not known:
            if not subject_id:
                raise no_subject(subject_id)
            try:  # a number that cannot be anyone's is told as such, as over HTTP (Snapshot.unscored)
                validate_subject_id(subject_id, today=resolve_today())
            except IdentifierError as invalid:
                invalid.field = "subject_id"
                raise
            raise no_subject(subject_id)
        raise NotFoundError(f"subject {subject_id} was not scored in run {run_id}")
    return rows[0]


def _failed_parts(node: expr.Node, facts: dict[str, Any], ranks: dict[str, int]) -> list[expr.Node]:
    """The atomic conditions that make a refused service condition false."""
    if expr.evaluate(node, facts, tier_rank=ranks) is True:
        return []
    if isinstance(node, expr.Binary) and node.op == "and":
        return _failed_parts(node.left, facts, ranks) + _failed_parts(node.right, facts, ranks)
    return [node]


def _literal(node: expr.Node) -> expr.Lit | None:
    """A literal, a negative number too (the parser reads ``-1`` as a minus before 1)."""
    if isinstance(node, expr.Lit):
        return node
    if isinstance(node, expr.Unary) and node.op == "-" and isinstance(node.operand, expr.Lit):
        value = node.operand.value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return expr.Lit(-value, type=node.operand.type)
    return None


def _fact_and_values(node: expr.Node) -> tuple[expr.Name, str, tuple[expr.Lit, ...], expr.Node] | None:
    """A condition that compares a fact with values (``money < -1``, ``150 <= score``, ``kind in ['person']``): the
    fact, the comparison as the fact on its left reads it (``in``, ``not in`` for a list), the values, and the
    condition put so. None for any other (``age is null``, a sum, two facts)."""
    if isinstance(node, expr.In) and isinstance(node.operand, expr.Name):
        return node.operand, "not in" if node.negated else "in", node.values, node
    if not isinstance(node, expr.Binary) or node.op not in FLIPPED:
        return None
    for fact, other, op in ((node.left, node.right, node.op), (node.right, node.left, FLIPPED[node.op])):
        lit = _literal(other)
        if isinstance(fact, expr.Name) and lit is not None:
            return fact, op, (lit,), expr.Binary(op, fact, lit, type=node.type)
    return None


def _en_value(value: Any) -> str:
    """A value as an English refusal names it: a number as the policy's pages write it (−4.948, not -4.948)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return number_words(value, "en") if isinstance(value, int | float) else str(value)


def _explain_part(node: expr.Node, facts: dict[str, Any], loaded: LoadedPolicy, lang: str) -> list[Reason]:
    p = loaded.policy
    if isinstance(node, expr.Unary) and node.op == "not" and isinstance(node.operand, expr.Name):
        name = node.operand.name
        lst = next((x for x in p.lists if x.id == name), None)
        if lst is not None:
            return []  # explained by the list's own criteria
    if isinstance(node, expr.Name):
        lst = next((x for x in p.lists if x.id == node.name), None)
        if lst is not None:
            en, zh = f"not on the {lst.name.en}", f"未列入{lst.name.zh}"
            return [Reason("NOT_ON_" + lst.id.upper(), en if lang == "en" else zh, source="condition")]
    compared = _fact_and_values(node)
    if compared is not None:
        field, op, values, plain = compared
        name, want = field.name, values[0].value
        have = facts.get(name)
        gap = ""
        # Only points fall short by points: the score (whole), the total and a dimension (micro-points). An age, a
        # rank or a percentile is no number of points ("needs age >= 18; ... is 15 (3 points short)"), and a total
        # or a dimension above 0 is reached by more than its gap, not by one point more ("money > 0" at -4.948 was
        # "5.948 points short").
        points = name in ("score", "total") or any(d.id == name for d in p.dimensions)
        if points and isinstance(have, int | float) and isinstance(want, int | float) and op in (">=", ">"):
            whole = name == "score" or op == ">="
            # a whole score: to the least score that meets the condition; a total or a dimension: in micro-points
            short: float = score_short(op, want, int(have)) if name == "score" else (micro(want) - micro(have)) / MICRO
            number = exact_number(short)
            if whole:
                unit = "point" if short == 1 else "points"
                gap = f" ({number} {unit} short)" if lang == "en" else f"（差{number}分）"
            else:
                gap = f" (more than {number} points short)" if lang == "en" else f"（差距大于{number}分）"
        # in words, as the policy's pages say the condition ("要求 score >= 650" until 2026-12-06), and the subject's
        # value as the condition words its own ("当前主体类别为org", "-4.948" until 2026-12-06)
        condition, fact, shown = comparison_words(loaded, plain, field, have, lang)
        if have is None:  # a fact the subject does not have (an organisation's age, no negative record) is unknown
            shown = "unknown" if lang == "en" else "未知"
        if lang == "en":
            wanted = ", ".join(_en_value(v.value) for v in values)
            text = f"needs {name} {op} {'[' + wanted + ']' if op.endswith('in') else wanted}"
            # a yes or no fact: the condition says all ("this subject's top is True" said it twice)
            text += "" if isinstance(have, bool) else f"; this subject's {name} is {shown}{gap}"
        else:
            text = f"要求{condition}" + ("" if isinstance(have, bool) else f"；当前{fact}为{shown}{gap}")
        return [Reason("CONDITION_" + name.upper(), text, source="condition")]
    # any other part (`age is null`, `not (…)`, a sum, two facts, an `or`) in words too ("条件不满足" until 2026-12-06)
    words = subject_condition_words(loaded, node, lang)
    return [Reason("CONDITION", f"needs that {words}" if lang == "en" else f"要求{words}", source="condition")]


def explain(
    store: Store,
    loaded: LoadedPolicy,
    run_id: int,
    subject_id: str,
    result: dict[str, Any],
    lang: str,
    service: str | None = None,
    as_of: dt.date | None = None,
) -> list[Reason]:
    """Ranked reasons: for a refusal, list criteria and unmet conditions first, then score reasons."""
    entries = run_entries(store, run_id, loaded, subject_id).get(subject_id, [])
    # Every rule that gave or took points, ranked as run_reasons ranks them (largest points first, ties by rule id): a
    # refusal tells the rules that lowered the score most, which need not be among the four largest either way.
    scored = store.execute(
        f"SELECT rule_id, points FROM {run_rows(store, 'run_rule_points', run_id)} "
        "WHERE subject_id = ? AND points <> 0 ORDER BY abs(points) DESC, rule_id",
        [subject_id],
    ).fetchall()
    return explain_rows(loaded, result, entries, scored, lang, service=service, as_of=as_of)


ListEntry = tuple[str, str, tuple[str, str] | None]  # list, criterion, where a shared record came from (en, zh)


# A run's list entries with what their notes need: "company_role" for a role record (an entry through a relation: its
# words name the organisation), and the record type and region of a record another region shared (records with an
# origin_region, few). A join of every entry with every record read all the records' keys: at beijing, 1.7-2.4 CPU s
# for a run's 304,239 entries, against 0.8 s.
_RUN_ENTRIES = f"""
SELECT e.subject_id, e.list_id, e.criterion_id,
    CASE WHEN ro.record_key IS NOT NULL THEN '{RELATION_RECORD_TYPE}' ELSE sh.record_type END AS record_type,
    sh.origin_region, e.record_key
FROM run_list_entries e
LEFT JOIN role_records ro ON ro.record_key = e.record_key
LEFT JOIN (SELECT record_key, record_type, origin_region FROM records WHERE origin_region IS NOT NULL) sh
    ON sh.record_key = e.record_key
WHERE e.run_id = $run AND ($subject IS NULL OR e.subject_id = $subject)
ORDER BY e.subject_id, e.list_id, e.criterion_id
"""


def run_entries(
    store: Store, run_id: int, loaded: LoadedPolicy | None, subject_id: str | None = None
) -> dict[str, list[ListEntry]]:
    """The list entries of a run (of one subject, if given) by subject, each with its note
    (:func:`entries_with_origin`)."""
    rows = store.execute(_RUN_ENTRIES, {"run": run_id, "subject": subject_id}).fetchall()
    return entries_with_origin(store, rows, loaded)


def run_entries_table(store: Store, run_id: int) -> pa.Table:
    """Every list entry of a run as ``run_entries`` reads them (sorted by subject, list, criterion), as Arrow: the
    columns subject_id, list_id, criterion_id, record_type, origin_region, record_key; their notes by
    :func:`entry_notes`, of the rows that have one."""
    return store.execute(_RUN_ENTRIES, {"run": run_id, "subject": None}).to_arrow_table()


# The same, of the subjects listed in place of {subjects} only: as constants, which DuckDB pushes into the scan of
# run_list_entries before the joins to the records (a join to unnest($subjects) cost a single decision 6.7 CPU ms at a
# million subjects, against 1.7; docs/benchmarks.md).
_RUN_ENTRIES_OF = _RUN_ENTRIES.replace("($subject IS NULL OR e.subject_id = $subject)", "e.subject_id IN ({subjects})")


def run_entries_of(
    store: Store, run_id: int, loaded: LoadedPolicy | None, subject_ids: Sequence[str]
) -> dict[str, list[ListEntry]]:
    """``run_entries`` of these subjects only, in one query (a batch of decisions)."""
    query = _RUN_ENTRIES_OF.replace("{subjects}", listed_strings(subject_ids))
    rows = store.execute(query, {"run": run_id}).fetchall()
    return entries_with_origin(store, rows, loaded)


def entries_with_origin(
    store: Store, rows: Sequence[Sequence[Any]], loaded: LoadedPolicy | None = None
) -> dict[str, list[ListEntry]]:
    """List entries by subject from rows of (subject, list, criterion, record type, origin region) and, with the
    policy, the entry's record key: an entry through a relation then notes the organisation, the role and the cause
    (registry/due_process/relations.py)."""
    out: dict[str, list[ListEntry]] = {}
    for (sid, list_id, criterion, *_more), note in zip(rows, entry_notes(store, rows, loaded), strict=True):
        out.setdefault(str(sid), []).append((str(list_id), str(criterion), note))
    return out


def entry_notes(
    store: Store, rows: Sequence[Sequence[Any]], loaded: LoadedPolicy | None = None
) -> list[tuple[str, str] | None]:
    """The note of each entry of :func:`entries_with_origin`'s rows, in their order (en, zh), or None: an entry
    through a relation (with the policy and the record key) names the organisation, the role and the cause; an entry
    by a record another region shared says where it was recorded."""
    notes: dict[tuple[str, str], tuple[str, str]] = {}
    # Every entry through a relation worded at once (four queries, however many entries: a snapshot of a whole run
    # may hold thousands, and a query each read the records thousands of times).
    through = [
        (i, (str(row[1]), str(row[2]), row[5]))
        for i, row in enumerate(rows)
        if loaded is not None and len(row) > 5 and row[3] == RELATION_RECORD_TYPE
    ]
    related = (
        dict(zip([i for i, _ in through], relation_notes(store, loaded, [e for _, e in through]), strict=True))
        if loaded is not None and through
        else {}
    )
    out: list[tuple[str, str] | None] = []
    for i, (_sid, _list_id, _criterion, record_type, origin, *more) in enumerate(rows):
        note = None
        if loaded is not None and more and record_type == RELATION_RECORD_TYPE:
            note = related[i]
        elif origin:
            key = (str(record_type), str(origin))
            if key not in notes:
                notes[key] = (origin_note(store, key[0], key[1], "en"), origin_note(store, key[0], key[1], "zh"))
            note = notes[key]
        out.append(note)
    return out


def explain_rows(
    loaded: LoadedPolicy,
    result: dict[str, Any],
    list_entries: Sequence[ListEntry],
    rule_reasons: Sequence[tuple[str, float]],
    lang: str,
    *,
    service: str | None = None,
    as_of: dt.date | None = None,
) -> list[Reason]:
    """The reasons from a subject's result, list entries (list, criterion) and ranked rule reasons (rule, points)."""
    p = loaded.policy
    reasons: list[Reason] = []
    if service is not None and as_of is not None:
        node = loaded.condition(f"service:{service}")
        assert node is not None
        facts = facts_of(loaded, result, as_of)
        ranks = {t: len(p.tiers) - i for i, t in enumerate(p.tier_ids())}
        failed = _failed_parts(node, facts, ranks)
        blocking_lists = {
            part.operand.name for part in failed if isinstance(part, expr.Unary) and isinstance(part.operand, expr.Name)
        }
        for entry in sorted(list_entries, key=lambda e: (e[0], e[1])):
            list_id, criterion_id = str(entry[0]), str(entry[1])
            if list_id in blocking_lists:
                c = p.criterion(list_id, criterion_id)
                text = c.reason.text(lang)
                origin = entry[2] if len(entry) > 2 else None
                if isinstance(origin, tuple):  # a record another region shared: say where it was recorded
                    text += origin[0] if lang == "en" else origin[1]
                reasons.append(Reason(c.reason.code, text, None, c.advice.get(lang) if c.advice else None, "list"))
        for part in failed:
            reasons.extend(_explain_part(part, facts, loaded, lang))
    # Every rule point may come (a refusal tells the rules that lowered the score most, however many rewards rank
    # above them): each is looked at only until four reasons are found, and a reward skipped before its rule is read.
    for rule_id, points in rule_reasons:
        if len(reasons) >= MAX_REASONS:
            break
        # A refusal is explained by what lowered the score; a grant by everything that counted.
        if service is not None and reasons and points > 0:
            continue
        try:
            rule = p.rule(rule_id)
        except KeyError:  # pragma: no cover - runs keep their policy version
            continue
        reasons.append(
            Reason(
                rule.reason.code,
                rule.reason.text(lang),
                shown_points(points),
                rule.advice.get(lang) if rule.advice else None,
                "score",
            )
        )
    return reasons[:MAX_REASONS]


def guarded(decision: Decision, guard: Guard, freezable: bool, requester: str, today: dt.date, lang: str) -> Decision:
    """The decision as the resident's freeze and fraud alert on ``today`` make it: a freezable service asked by a
    party the freeze is not lifted for is refused with FROZEN first; an alert adds VERIFY_IDENTITY to every one."""
    frozen = freezable and guard.frozen_for(party_of(requester), today)
    verify = guard.verify_identity(today)
    if not (frozen or verify):
        return decision
    lines = []
    if frozen:
        lines.append(
            Reason(FROZEN_CODE, reason_text(FROZEN_CODE, lang), None, reason_text("FROZEN_ADVICE", lang), "freeze")
        )
    if verify:
        lines.append(Reason(VERIFY_CODE, reason_text(VERIFY_CODE, lang), None, None, "alert"))
    decision.reasons = (lines + decision.reasons)[:MAX_REASONS]
    decision.verify_identity = verify
    if frozen:
        decision.frozen = True
        decision.granted = False
        decision.refusal = reason_text(FROZEN_CODE, lang)
        decision.actions = [reason_text("FROZEN_ADVICE", lang), *decision.actions]
    return decision


def decide(
    store: Store,
    subject_id: str,
    service: str,
    purpose: str,
    *,
    requester: str = "cli",
    policy_id: str | None = None,
    lang: str = "en",
    today: dt.date | None = None,
    served: Served | None = None,
    since_run: bool = False,
) -> Decision:
    """Grant or refuse ``service`` to ``subject_id`` from the run in force; logged as an inquiry.

    With ``served`` (the running service's snapshot of the service: ``Service.served``), decided as a relying party
    is answered at that moment: on the snapshot's run, the subject as the live thread rescored it since (a record
    held out while its dispute is open, a listing overridden, count at once), named by the snapshot's watermark.
    With ``since_run`` instead (a caller holding no service: the console), the same answer without a service: the
    subject changed since the run rescored as a live pass has it (``served_since_run``).

    The resident's freeze and fraud alert apply as they stand on ``today`` (the registry's clock)."""
    purpose = check_purpose(purpose)
    check_requester(requester)
    subject_id = compact_subject_id(subject_id)  # as ingest stored it: `11010519800501011x` is `11010519800501011X`
    if policy_id is None:
        offering = policies_offering(store, service)
        if len(offering) > 1:
            raise ambiguous_service(service, offering)
    run = run_for_service(store, service, policy_id)
    if served is not None and served.run_id != int(run["run_id"]):  # the snapshot relying parties are answered from
        held = store.rows("SELECT * FROM score_runs WHERE run_id = ?", [served.run_id])
        run = held[0] if held else run
    if served is not None and served.run_id != int(run["run_id"]):
        served = None
    if served is None and since_run:
        served = served_since_run(store, run, subject_id)
    loaded = get_policy(store, run["policy_id"], run["policy_version"])
    p = loaded.policy
    result = subject_result(store, run["run_id"], subject_id)
    index = [s.id for s in p.services].index(service)
    view = served.view if served is not None else None
    if view is not None:
        # as rescored since the run: its lists are those decisions see, its grants to match (Snapshot._row_at)
        result = {**result, **view.result, "rank": view.rank, "percentile": view.percentile}
        granted = bool(int(result["grants"]) >> index & 1)
        reasons = explain_rows(
            loaded,
            result,
            view.entries,
            view.reasons,
            lang,
            service=None if granted else service,
            as_of=run["as_of"],
        )
    else:
        granted = bool(int(result["grants"]) >> index & 1)
        # Only effective listings refuse: a blacklisting in its notice period (or ended) does not
        # (registry/due_process/listings.py).
        lists = effective_lists(store, run, subject_id, list(result["lists"]))
        if lists != list(result["lists"]):
            result = {**result, "lists": lists}
            granted = bool(grants_with(loaded, facts_of(loaded, result, run["as_of"])) >> index & 1)
        reasons = explain(
            store,
            loaded,
            run["run_id"],
            subject_id,
            result,
            lang,
            service=None if granted else service,
            as_of=run["as_of"],
        )
    svc = p.service(service)
    actions: list[str] = []
    if not granted:
        node = loaded.condition(f"service:{service}")
        assert node is not None
        facts = facts_of(loaded, result, run["as_of"])
        ranks = {t: len(p.tiers) - i for i, t in enumerate(p.tier_ids())}
        failed = _failed_parts(node, facts, ranks)
        # the records as the facts count them: as rescored since the run, at the snapshot's watermark
        counted = run if served is None else {**run, "watermark": served.watermark}
        actions = actions_for_refusal(store, loaded, counted, subject_id, failed, facts, lang, today=today)
    decision = Decision(
        subject_id=subject_id,
        service=service,
        purpose=purpose.strip(),
        granted=granted,
        policy_id=p.id,
        policy_version=p.version,
        run_id=int(run["run_id"]),
        watermark=int(run["watermark"]) if served is None else served.watermark,
        score=int(result["score"]),
        tier=str(result["tier"]),
        lists=list(result["lists"]),
        reasons=reasons,
        refusal=None if granted else svc.refusal.get(lang),
        actions=actions,
    )
    decision = guarded(decision, guard_of(store, subject_id), svc.freezable, requester, resolve_today(today), lang)
    granted = decision.granted
    with store.transaction():
        # asked now by the store's clock (DuckDB's now(), in the session's time zone), as decisions always were
        inquiry_id = write_inquiries(
            store,
            "SELECT 1 AS pos, now() AS asked_at, ? AS requester, ? AS subject_id, ? AS service, ? AS purpose, "
            "? AS outcome, ? AS run_id, CAST(? AS VARCHAR[]) AS lists",
            1,
            [
                requester,
                subject_id,
                service,
                decision.purpose,
                "granted" if granted else "refused",
                decision.run_id,
                decision.lists,
            ],
        )
        append_audit(
            store,
            requester,
            "decide",
            subject_id,
            {
                "service": service,
                "purpose": decision.purpose,
                "granted": granted,
                "run_id": decision.run_id,
                "inquiry_id": inquiry_id,
            },
        )
        decision.inquiry_id = inquiry_id
        # Plugins (regions' alerts; docs/hooks.md) act in the same transaction as the inquiry.
        plugin_manager().hook.decision_made(
            store=store, decision=decision, subject_id=subject_id, service=service, requester=requester
        )
    return decision
