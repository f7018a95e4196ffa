"""What would change a refusal: the smallest set of actions, each concrete ("pay the outstanding judgment of
12,000 yuan", "wait until 2027-03-01 when the record expires").

* A blocking (effective) listing is lifted by resolving its cause: the action names the record and what to pay
  or fix, or the day its publication ends at the latest.
* A score or tier short of the service's condition: the records whose acts cover the gap, largest first, each
  kept only if the rest falls short without it; the whole points still missing; or the day enough of them expire;
  and apart, counted toward nothing, that a wrong record can be disputed. What the acts give back is summed as
  the run summed the total, rewards counted (``_Sums``), the day with no reward (``_summing``: a reward may lapse
  meanwhile); both cap each rule's points at its cap and clamp each dimension to its limits, so an act whose points
  a cap or a limit still takes is worth nothing, and where no act gives anything back the refusal says so instead
  of naming them. An act takes away only the points of the rules its change (the record's status, ``_ENDS``) ends.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Callable, Iterable
from typing import Any

from socialcredit.backends.duckdb import DuckDBBackend
from socialcredit.catalog import load_catalog
from socialcredit.compiler import ScorePlan
from socialcredit.errors import NotFoundError
from socialcredit.languages import yuan
from socialcredit.policy import LoadedPolicy, expr
from socialcredit.registry.due_process.repair import repair_eligibility
from socialcredit.registry.due_process.severity import counted_until, counts_until
from socialcredit.registry.scoring.inputs import prepare_inputs
from socialcredit.registry.scoring.policies import get_policy
from socialcredit.store import Store

__all__ = ["actions_for_refusal", "record_action"]


# Each action in both languages: {money} is " of 12,000 yuan" (or nothing), {where} names the record (and in zh the
# amount: "（金额 12,000 元；记录 J1，来源 人民法院）").
_ACTIONS: dict[str, tuple[str, str]] = {
    "court_judgment": (
        "pay the outstanding judgment{money} {where}; the court then records it fulfilled",
        "履行未执行的判决{money}{where}，法院随后登记为已履行",
    ),
    "tax_payment": ("settle the tax{money} and its penalties {where}", "补缴税款{money}及滞纳金{where}"),
    "traffic_ticket": ("pay the traffic fine{money} {where}", "缴纳交通罚款{money}{where}"),
    "loan": ("repay the overdue loan{money} {where}", "偿还逾期贷款{money}{where}"),
    "utility_payment": ("pay the utility bill{money} {where}", "缴纳欠缴的公用事业费{money}{where}"),
    "other": (
        "have {src} correct record {rid} if it is wrong (or dispute it)",
        "如记录有误，请{src}更正记录 {rid}（或提出异议）",
    ),
    # the source reported the obligation fulfilled: the listing ends by a repair (or at its publication's end)
    "repair_from": (
        "apply for credit repair from {day}: {src} reported record {rid} fulfilled on {done}",
        "自 {day} 起申请信用修复：{src}已于 {done} 报告记录 {rid} 已履行",
    ),
    "repair_now": (
        "apply for credit repair: {src} reported record {rid} fulfilled on {done}",
        "申请信用修复：{src}已于 {done} 报告记录 {rid} 已履行",
    ),
    "repair_pending": (
        "await the decision on repair application {n}: {src} reported record {rid} fulfilled on {done}",
        "等待信用修复申请 {n} 的决定：{src}已于 {done} 报告记录 {rid} 已履行",
    ),
    "ends": ("; at the latest its publication ends on {day}", "；其公示最迟于 {day} 结束"),
    # whole points, rounded up so that doing it suffices (the engine rounds a score half up: _whole_points)
    "raise": ("raise the score by {points} {unit}", "将分数提高 {points} 分"),
    "raise_further": ("raise the score by a further {points} {unit}", "将分数再提高 {points} 分"),
    "wait": (
        "or wait until {day}, when enough of these records expire",
        "或等到 {day}，届时这些记录中足够多的已过期",
    ),
    # a listing blocks too: waiting changes the outcome only once its publication has ended as well
    "wait_listed": (
        "or wait until {day}, when the publication of these listings has ended and enough of these records expire",
        "或等到 {day}，届时上述名单公示均已结束，且这些记录中足够多的已过期",
    ),
    # acts there are, but doing them all gives nothing back: the caps and limits take their points still
    "no_act": (
        "paying or fulfilling your records gives no points back: the rules' caps and the dimensions' limits "
        "still take as many",
        "履行或缴清记录所载的义务不会增加分数：规则的扣分上限和维度下限仍扣除同样多的分数",
    ),
    # the acts named past the first ACTS_SAID, counted with their sources (a resident's file lists every record)
    "more_acts": (
        "and pay or fulfil {n} more {unit} like these ({sources}): your file lists them",
        "另需履行或缴清 {n} 条同类记录（{sources}），详见您的信用档案",
    ),
    # apart from the acts, counted toward nothing: a record taken away because it is wrong is no act to advise
    "dispute": (
        "if a record counted against you is wrong, you can dispute it: its source then corrects or withdraws it",
        "如计入的记录有误，可以提出异议，由其来源更正或撤回",
    ),
}


_RECORD_KINDS = frozenset({"court_judgment", "tax_payment", "traffic_ticket", "loan", "utility_payment"})

# What paying or fulfilling what a record records does to it, by record type (the catalog's statuses): the statuses
# the act ends, the status its source then reports, and the act (an ``_ACTIONS`` key). Nothing paid now ends a tax
# paid late, a loan repaid late or a finding of tax evasion (beijing's tax.late, loan.late, tax.evaded; sesame's
# credit.platform_late): their statuses are not here.
_ENDS: dict[str, tuple[frozenset[str], str, str]] = {
    "court_judgment": (frozenset({"unfulfilled"}), "fulfilled", "court_judgment"),
    "traffic_ticket": (frozenset({"unpaid"}), "paid", "traffic_ticket"),
    "utility_payment": (frozenset({"unpaid"}), "late", "utility_payment"),
    "loan_repayment": (frozenset({"default"}), "late", "loan"),
    "platform_repayment": (frozenset({"default"}), "late", "loan"),
}


def _said(key: str, lang: str, **values: object) -> str:
    en, zh = _ACTIONS[key]
    return (zh if lang == "zh" else en).format(**values)


def source_said(store: Store, source_id: str, lang: str) -> str:
    """A source as an action names it: in Chinese by the catalog's Chinese name (人民法院), which a Chinese sentence
    once gave as the code (``来源 courts``); in English by its code, as ``show`` prints it. A source the catalog
    does not have (another region's) by its code."""
    if lang != "zh":
        return source_id
    source = store.catalog.sources.get(source_id)
    return source.name.get("zh") if source is not None else source_id


def _action_kind(record: dict[str, Any]) -> str:
    """Which act cures ``record``: one of ``_RECORD_KINDS`` (paying or fulfilling what it records, which changes its
    ``status``), or ``other`` (having it corrected if it is wrong)."""
    rt = record["record_type"]
    if rt in ("loan_repayment", "platform_repayment"):
        rt = "loan"
    if (rt == "traffic_ticket" and record.get("status") != "unpaid") or rt not in _RECORD_KINDS:
        rt = "other"
    return str(rt)


def record_action(
    record: dict[str, Any], lang: str = "en", source: str | None = None, *, kind: str | None = None
) -> str:
    """The act that fulfils or cures one negative record, in plain words in ``lang`` (en or zh); ``source`` is its
    source as said (:func:`source_said`), its code when not given; ``kind`` the act (:func:`_action_kind`'s)."""
    rt, rid = record["record_type"], record["record_id"]
    src = source or record["source_id"]
    amount = record.get("fine") if rt == "traffic_ticket" else record.get("amount")
    sum_ = yuan(float(amount), lang) if isinstance(amount, int | float) and amount else ""
    if lang == "zh":  # one bracket: （金额 12 000 元；记录 J1，来源 人民法院）
        money, where = "", f"（{f'金额 {sum_}；' if sum_ else ''}记录 {rid}，来源 {src}）"
    else:
        money, where = f" of {sum_}" if sum_ else "", f"(record {rid} from {src})"
    return _said(kind or _action_kind(record), lang, money=money, where=where, src=src, rid=rid)


def _contributions(store: Store, loaded: LoadedPolicy, run: dict[str, Any], subject_id: str) -> list[dict[str, Any]]:
    """Each counting record of the subject, rewards too, with its points (summed over rules: ``points``, all gone
    when it expires; ``least``, its least hit's: one taking points has it below 0)
    and the act that cures it (``kind``) with the points that act takes away (``cured``) and the rules it then
    still meets or starts to meet with their points (``after``, as ``rules`` is), most cured first.

    Paying or fulfilling what a record records changes its ``status`` (``_ENDS``): it takes away the points of the
    rules the record with its new status no longer meets (court.unfulfilled), not of those that read what happened
    alone (court.criminal, on the case type), and a rule the new status starts to meet gives back its points at the
    most (beijing's loan.late, of a defaulted loan repaid). A record no act takes anything from has ``kind`` None,
    ``cured`` 0 and ``after`` its ``rules``: only its expiry (or, if it is wrong, a dispute) takes it away."""
    with prepare_inputs(store, loaded, int(run["watermark"]), subject_id=subject_id) as inputs:
        inputs.create("sc_affected", "SELECT subject_id FROM sc_subjects")
        plan = ScorePlan(loaded, as_of=run["as_of"], dialect=DuckDBBackend(store).dialect)
        # built and printed once per policy text, catalog and as-of date (it cost more than the query, at every
        # refusal a registry decision explains)
        catalog = hashlib.sha256((loaded.catalog or load_catalog()).model_dump_json().encode("utf-8")).hexdigest()
        key = ("record contributions", loaded.sha256, catalog, run["as_of"])
        inputs.create_once("sc_contributions", key, plan.record_contributions)
        records = inputs.rows(
            """SELECT r.*, c.points, c.least, c.rules FROM (SELECT record_key, sum(points) AS points,
                      min(points) AS least, list(struct_pack(rule_id := rule_id, points := points)) AS rules
                      FROM sc_contributions GROUP BY 1) c
               JOIN records r USING (record_key) ORDER BY c.points, r.record_key"""
        )
    for r in records:
        hits = r["rules"]
        ends, status, kind = _ENDS.get(r["record_type"], (frozenset(), "", ""))
        after = _after(loaded, r, hits, status) if r.get("status") in ends else hits
        cured = sum(float(hit["points"]) for hit in hits) - sum(float(hit["points"]) for hit in after)
        r["kind"], r["cured"], r["after"] = (kind, cured, after) if cured < 0 else (None, 0.0, hits)
    return sorted(records, key=lambda r: (r["cured"], r["record_key"]))


def _meets(loaded: LoadedPolicy, rule_id: str, record: dict[str, Any]) -> bool:
    node = loaded.condition(f"rule:{rule_id}")
    return node is None or expr.evaluate(node, record) is True


def _after(
    loaded: LoadedPolicy, record: dict[str, Any], hits: list[dict[str, Any]], status: str
) -> list[dict[str, Any]]:
    """The rules ``record`` meets once its status is ``status``, with their points: those of ``hits`` (the rules it
    meets, each with its points as scored) it still meets, and the rules of its type it then starts to meet, at
    their most (before decay) and no reward counted."""
    changed = {**record, "status": status}
    met = {str(hit["rule_id"]) for hit in hits}
    kept = [hit for hit in hits if _meets(loaded, str(hit["rule_id"]), changed)]
    started = [
        {"rule_id": rule.id, "points": min(rule.points, 0.0)}
        for rule in loaded.policy.rules
        if rule.record_type == record["record_type"] and rule.id not in met and _meets(loaded, rule.id, changed)
    ]
    return kept + started


def _whole_points(points: float) -> dict[str, object]:
    """``points`` to raise a score by as said: whole, rounded up (a score is its total rounded half up, so a total
    raised by the whole points above a gap meets it), with its unit."""
    whole = math.ceil(round(points, 6))
    return {"points": whole, "unit": "point" if whole == 1 else "points"}


def score_short(op: str, want: float, have: int) -> int:
    """How many points a whole score of ``have`` needs to meet ``score >= want`` or ``score > want``: to the least
    whole score that meets it (``score > 100.5`` from 99 is 2, not 1.5 or 2.5)."""
    return (math.floor(want) + 1 if op == ">" else math.ceil(want)) - int(have)


def _gap(node: expr.Node, facts: dict[str, Any], loaded: LoadedPolicy) -> float | None:
    """Points of score needed for an unmet ``score >= n`` / ``tier >= 'X'`` condition (None for anything else)."""
    if not (isinstance(node, expr.Binary) and isinstance(node.left, expr.Name) and isinstance(node.right, expr.Lit)):
        return None
    name, want, op = node.left.name, node.right.value, node.op
    if op not in (">=", ">", "=="):
        return None
    if name == "tier" and isinstance(want, str):
        tiers = {t.id: t.min for t in loaded.policy.tiers}
        return float(tiers[want] - facts["score"]) if want in tiers else None
    have = facts.get(name)
    if name == "score" and op != "==" and isinstance(want, int | float) and isinstance(have, int | float):
        return float(score_short(op, want, int(have)))  # as the refusal's reason says it
    if name in ("score", "total") and isinstance(want, int | float) and isinstance(have, int | float):
        return float(want - have + (1 if op == ">" else 0))
    return None


def actions_for_refusal(
    store: Store,
    loaded: LoadedPolicy,
    run: dict[str, Any],
    subject_id: str,
    failed: list[expr.Node],
    facts: dict[str, Any],
    lang: str = "en",
    *,
    today: dt.date | None = None,
) -> list[str]:
    """The actions that would turn this refusal into a grant (empty when none can be named), in ``lang``, as they
    stand on ``today`` (the registry's clock: whether credit repair may be asked yet)."""
    p = loaded.policy
    actions: list[str] = []
    named: set[tuple[str, str]] = set()  # records an action names already
    blocking = {
        part.operand.name
        for part in failed
        if isinstance(part, expr.Unary) and isinstance(part.operand, expr.Name) and facts.get(part.operand.name)
    }
    score_gap = max([g for g in (_gap(part, facts, loaded) for part in failed) if g is not None], default=None)
    # the last day a blocking listing on a record lasts at the latest: waiting for the records to expire changes
    # nothing before it (None: no such listing; a listing that ends by no date leaves no day to wait for)
    listed_until: dt.date | None = None
    endless = False
    for listing in store.rows(
        "SELECT * FROM listings WHERE policy_id = ? AND subject_id = ? AND status = 'effective' ORDER BY listing_id",
        [p.id, subject_id],
    ):
        if listing["list_id"] not in blocking:
            continue
        if listing["record_id"]:
            rec = store.rows(
                "SELECT * FROM records WHERE source_id = ? AND record_id = ? ORDER BY version DESC LIMIT 1",
                [listing["source_id"], listing["record_id"]],
            )
            last = _listing_ends(_listing_policy(store, loaded, listing), listing, rec[0] if rec else None)
            if last is None:
                endless = True
            else:
                listed_until = max(listed_until or last, last)
            if rec:
                ends = _said("ends", lang, day=last) if last else ""
                actions.append(_listed_record_action(store, p.id, rec[0], lang, today) + ends)
                named.add((listing["source_id"], listing["record_id"]))
        else:
            crit = p.criterion(listing["list_id"], listing["criterion_id"])
            floor = _floor(loaded, listing["list_id"], crit.id) if crit.when is not None else None
            if floor is not None:
                score_gap = max(score_gap or 0.0, floor - float(facts["score"]))
    if score_gap is not None and score_gap > 0:
        counting = _contributions(store, loaded, run, subject_id)
        records = [r for r in counting if float(r["least"]) < 0]  # those taking points
        least_total = _summing(loaded, records)
        # the total that meets every condition failed: a score is its total rounded half up (and clamped to the
        # scale), so a score of s + gap needs a total of s + gap - 0.5; a condition on the total needs total + gap
        total = float(facts.get("total", facts["score"]))
        want = max(float(facts["score"]) + score_gap - 0.5, total + score_gap)
        # the acts only: a record is not taken away by advising that it may be wrong
        chosen, given = _acts(loaded, counting, want - total)
        acts = [r for r in chosen if (r["source_id"], r["record_id"]) not in named]
        actions.extend(
            record_action(r, lang, source_said(store, r["source_id"], lang), kind=r["kind"]) for r in acts[:ACTS_SAID]
        )
        if len(acts) > ACTS_SAID:
            rest = acts[ACTS_SAID:]
            sources = ("、" if lang == "zh" else ", ").join(
                source_said(store, src, lang) for src in sorted({str(r["source_id"]) for r in rest})
            )
            unit = "record" if len(rest) == 1 else "records"
            actions.append(_said("more_acts", lang, n=len(rest), unit=unit, sources=sources))
        if round(given - (want - total), 6) < 0:
            # "no act gives back" only where every act was weighed (_acts weighs the ACTS_WEIGHED that take most)
            weighed_all = sum(r["kind"] is not None for r in counting) <= ACTS_WEIGHED
            if not chosen and weighed_all and any(r["kind"] is not None for r in records):
                actions.append(_said("no_act", lang))
            key = "raise_further" if chosen else "raise"
            actions.append(_said(key, lang, **_whole_points(score_gap - given)))
        wait = _wait(least_total, loaded, records, want, listed_until, endless)
        if wait is not None:
            actions.append(_said(wait[0], lang, day=wait[1].isoformat()))
        if records:
            actions.append(_said("dispute", lang))
    return actions


def _taken(counting: Iterable[list[dict[str, Any]]]) -> dict[str, float]:
    """Each rule's points taken (no reward) by the records whose hits (each a record's rules and points) are
    ``counting``."""
    by_rule: dict[str, float] = {}
    for hits in counting:
        for hit in hits:
            if float(hit["points"]) < 0:
                by_rule[str(hit["rule_id"])] = by_rule.get(str(hit["rule_id"]), 0.0) + float(hit["points"])
    return by_rule


def _summing(loaded: LoadedPolicy, records: list[dict[str, Any]]) -> Callable[[Iterable[list[dict[str, Any]]]], float]:
    """The least total the score sums from records still counting with their hits (``rules`` of ``records``, or as
    an act leaves them: ``after``): each rule's points capped at the rule's ``cap``, each dimension's sum clamped to
    its min and max, and no point given (a reward may lapse meanwhile). A rule counted per month, quarter or year
    keeps its points as on the run's day while any of its records counts. O(hits) a call."""
    p = loaded.policy
    limits = {d.id: d for d in p.dimensions}
    whole = _taken(r["rules"] for r in records)  # all its records counting (as on the run's day)

    def least_total(counting: Iterable[list[dict[str, Any]]]) -> float:
        by_dimension: dict[str, float] = {}
        for rule_id, points in _taken(counting).items():
            rule = p.rule(rule_id)
            if rule.per != "occurrence":  # as counted on the run's day while any of its records counts
                points = whole.get(rule_id, points)
            capped = max(points, -rule.cap) if rule.cap is not None else points
            by_dimension[rule.dimension] = by_dimension.get(rule.dimension, 0.0) + capped
        total = float(p.scale.base)
        for dim_id, points in by_dimension.items():
            d = limits.get(dim_id)
            low = d.min if d is not None and d.min is not None else -math.inf
            high = d.max if d is not None and d.max is not None else math.inf
            total += min(max(points, low), high)
        return total

    return least_total


# The acts an advice weighs: those that take away most, as many as a refusal could ask of anyone (a resident with
# thousands of parking tickets is told of the largest few hundred, not made to wait while every one is summed).
ACTS_WEIGHED = 200
# The acts a refusal's words name one by one; the rest are counted with their sources (``more_acts``).
ACTS_SAID = 10


class _Sums:
    """The run's total as the score summed it, rewards counted: each rule's points of the records counting (hits:
    ``rules`` of each record, or as an act leaves them: ``after``) capped at the rule's ``cap``, each dimension
    clamped to its min and max. Kept as running sums per rule and per dimension, so what changing one record's hits
    does to the total costs O(its hits). A rule counted per month, quarter or year keeps its points as on the run's
    day while any of its records counts."""

    def __init__(self, loaded: LoadedPolicy, records: list[dict[str, Any]]) -> None:
        self.policy = loaded.policy
        self.limits = {d.id: d for d in self.policy.dimensions}
        self.raw: dict[str, float] = {}
        self.hits: dict[str, int] = {}
        for r in records:
            self._add(self.raw, self.hits, r["rules"], 1)
        self.whole = dict(self.raw)  # all its records counting (as on the run's day)
        self.dims: dict[str, float] = {}
        for rule_id, raw in self.raw.items():
            dim = self.policy.rule(rule_id).dimension
            self.dims[dim] = self.dims.get(dim, 0.0) + self._rule(rule_id, raw, self.hits[rule_id])
        self.weighed = 0  # how many changes were summed

    @staticmethod
    def _add(raw: dict[str, float], hits: dict[str, int], points: list[dict[str, Any]], sign: int) -> None:
        for hit in points:
            rule_id = str(hit["rule_id"])
            raw[rule_id] = raw.get(rule_id, 0.0) + sign * float(hit["points"])
            hits[rule_id] = hits.get(rule_id, 0) + sign

    def _rule(self, rule_id: str, raw: float, hits: int) -> float:
        rule = self.policy.rule(rule_id)
        if hits <= 0:
            return 0.0
        if rule.per != "occurrence":
            raw = self.whole.get(rule_id, raw)
        return max(min(raw, rule.cap), -rule.cap) if rule.cap is not None else raw

    def _dimension(self, dim_id: str, points: float) -> float:
        d = self.limits.get(dim_id)
        low = d.min if d is not None and d.min is not None else -math.inf
        high = d.max if d is not None and d.max is not None else math.inf
        return min(max(points, low), high)

    def rise(self, before: list[dict[str, Any]], after: list[dict[str, Any]], *, keep: bool = False) -> float:
        """What the total rises by when a record's hits ``before`` become ``after`` (kept so if ``keep``)."""
        self.weighed += 1
        raw: dict[str, float] = {}
        hits: dict[str, int] = {}
        self._add(raw, hits, before, -1)
        self._add(raw, hits, after, 1)
        dims: dict[str, float] = {}
        rules: dict[str, tuple[float, int]] = {}
        for rule_id, change in raw.items():
            was_raw, was_hits = self.raw.get(rule_id, 0.0), self.hits.get(rule_id, 0)
            rules[rule_id] = (was_raw + change, was_hits + hits[rule_id])
            dim = self.policy.rule(rule_id).dimension
            dims[dim] = (
                dims.get(dim, self.dims.get(dim, 0.0))
                + self._rule(rule_id, *rules[rule_id])
                - self._rule(rule_id, was_raw, was_hits)
            )
        rise = sum(self._dimension(d, v) - self._dimension(d, self.dims.get(d, 0.0)) for d, v in dims.items())
        if keep:
            for rule_id, (now_raw, now_hits) in rules.items():
                self.raw[rule_id], self.hits[rule_id] = now_raw, now_hits
            self.dims.update(dims)
        return rise


def _acts(loaded: LoadedPolicy, records: list[dict[str, Any]], need: float) -> tuple[list[dict[str, Any]], float]:
    """The records whose acts give back ``need`` points of the run's total (summed as the run summed it, rewards
    counted, under caps and dimension limits: :class:`_Sums`), with what they give back; short of it, those that
    give back all the acts give, which may be nothing (no act named). Of the ``ACTS_WEIGHED`` acts that take away
    most, taken at each step the one that raises the total most (where none raises it alone, as where a cap still
    binds, the next largest) until they give enough, then each dropped, smallest first, whose act the rest do
    without. O(ACTS_WEIGHED² x hits) at the most, whatever the number of records."""
    sums = _Sums(loaded, records)
    left = [i for i, r in enumerate(records) if r["kind"] is not None][:ACTS_WEIGHED]  # most cured first
    chosen: list[int] = []
    given = 0.0
    while left and round(given - need, 6) < 0:
        rises = [sums.rise(records[i]["rules"], records[i]["after"]) for i in left]
        best = max(range(len(left)), key=lambda k: (round(rises[k], 6), -k))
        i = left.pop(best if round(rises[best], 6) > 0 else 0)
        given += sums.rise(records[i]["rules"], records[i]["after"], keep=True)
        chosen.append(i)
    enough = min(given, need)
    if round(enough, 6) <= 0:
        return [], 0.0
    for i in sorted(chosen, key=lambda i: (-records[i]["cured"], -i)):  # smallest first
        back = sums.rise(records[i]["after"], records[i]["rules"])
        if round(given + back - enough, 6) >= 0:
            given += sums.rise(records[i]["after"], records[i]["rules"], keep=True)
            chosen.remove(i)
    return [records[i] for i in sorted(chosen)], given


def _wait(
    least_total: Callable[[Iterable[list[dict[str, Any]]]], float],
    loaded: LoadedPolicy,
    records: list[dict[str, Any]],
    want: float,
    listed_until: dt.date | None,
    endless: bool,
) -> tuple[str, dt.date] | None:
    """The first day a record of ``records`` (those taking points) stops counting from which the total is ``want``
    at the least, for good (and the blocking listings' publication has ended: ``listed_until``), as the action that
    says it; None when no day does (a listing or a record without end).

    The total is bounded from below by ``least_total`` (:func:`_summing`) of the records still counting (as on the
    run's day: they only fade). The day named may be late (points fade, rewards stay), never early. The search is a
    bisection over the records' distinct last days: O(hits x log records)."""
    if endless:
        return None
    # each record with the first day it no longer counts (one counted for good: never)
    dated = [(counts_until(loaded, r) or dt.date.max, r) for r in records]

    def on(day: dt.date) -> float:
        """The least the total can be on ``day``: every record whose last day is after it still counts."""
        return least_total(r["rules"] for until, r in dated if until > day)

    days = sorted({until for until, _ in dated if until != dt.date.max})
    if not days or round(on(days[-1]) - want, 6) < 0:
        return None
    low, high = -1, len(days) - 1  # on(days[high]) >= want; it never falls from one day to a later one
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if round(on(days[mid]) - want, 6) >= 0 else (mid, high)
    day = days[high]
    if listed_until is None:
        return "wait", day
    return "wait_listed", max(day, listed_until)


def _listing_policy(store: Store, loaded: LoadedPolicy, listing: dict[str, Any]) -> LoadedPolicy:
    """The policy version of a listing: that of the run that last judged it (``last_run_id``: the run that found its
    cause last, whose criterion and severity class the listing stands on), which may not be the version of the run a
    decision reads (a snapshot's run before a new version's run, a run named by id); ``loaded`` when it is that
    version, or the run's version is no longer stored."""
    found = store.rows("SELECT policy_id, policy_version FROM score_runs WHERE run_id = ?", [listing["last_run_id"]])
    if not found or (found[0]["policy_id"], found[0]["policy_version"]) == (loaded.policy.id, loaded.policy.version):
        return loaded
    try:
        return get_policy(store, str(found[0]["policy_id"]), str(found[0]["policy_version"]))
    except NotFoundError:
        return loaded


def _listing_ends(loaded: LoadedPolicy, listing: dict[str, Any], record: dict[str, Any] | None) -> dt.date | None:
    """The day a listing on a record ends at the latest: the end of its publication (its severity class's
    ``max_publication_days`` from the day it took effect), or sooner the day its criterion stops counting the record
    (a criterion with ``within_days``: the run of that day no longer finds the cause and delists it). None: neither
    ends it (no severity, no window)."""
    sev = loaded.policy.severities.get(listing["severity"]) if listing["severity"] else None
    published = listing["effective_on"] + dt.timedelta(days=sev.max_publication_days) if sev else None
    key = f"list:{listing['list_id']}.{listing['criterion_id']}"
    gone = counted_until(loaded, key, record) if record is not None else None
    return min([d for d in (published, gone) if d is not None], default=None)


def _listed_record_action(
    store: Store, policy_id: str, record: dict[str, Any], lang: str, today: dt.date | None = None
) -> str:
    """The act that ends a listing caused by ``record``: fulfil the obligation, or, once its source reported it
    fulfilled (a fulfilment report: the record itself stays as it was), apply for credit repair (from the first day
    repair may be asked), or wait for the decision on the application made."""
    src, rid = record["source_id"], record["record_id"]
    if (
        record.get("withdrawn")
        or store.one("SELECT count(*) FROM fulfilments WHERE source_id = ? AND record_id = ?", [src, rid]) == 0
    ):
        return record_action(record, lang, source_said(store, src, lang))
    check = repair_eligibility(store, record["subject_id"], src, rid, today=today, policy_id=policy_id, record=record)
    values = {"src": source_said(store, src, lang), "rid": rid, "done": check["fulfilled_on"]}
    if check["open_repair"] is not None:
        return _said("repair_pending", lang, n=check["open_repair"], **values)
    if "too_early" in check["blockers"] and check["eligible_from"]:
        return _said("repair_from", lang, day=check["eligible_from"], **values)
    return _said("repair_now", lang, **values)


def _floor(loaded: LoadedPolicy, list_id: str, criterion_id: str) -> float | None:
    """For a criterion ``score < n``: n (the score that ends the listing). Its condition as the policy was loaded
    (a version a store holds is read back as it was published: ``expr.READ_BACK``), not parsed again."""
    node = loaded.condition(f"list:{list_id}.{criterion_id}")
    if not (isinstance(node, expr.Binary) and isinstance(node.left, expr.Name) and isinstance(node.right, expr.Lit)):
        return None
    if node.left.name == "score" and node.op in ("<", "<=") and isinstance(node.right.value, int | float):
        return float(node.right.value) + (1 if node.op == "<=" else 0)
    return None
