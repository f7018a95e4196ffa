"""What would change a refusal: the smallest set of actions, each concrete ("pay the outstanding judgment of
12 000 yuan", "wait until 2027-03-01 when the record expires").

* A blocking (effective) listing is lifted by resolving its cause: the action names the record and what to pay
  or fix, or the day its publication ends at the latest.
* A score or tier short of the service's condition: the fewest records whose points cover the gap, largest
  first (taking away the largest points first needs the fewest actions), or the day enough of them expire.
  Points are taken per record before caps and dimension limits, so the set is an estimate when those bind.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from socialcredit.backends.duckdb import DuckDBBackend
from socialcredit.compiler import ScorePlan
from socialcredit.policy import LoadedPolicy, expr
from socialcredit.registry.due_process.severity import counts_until
from socialcredit.registry.scoring.inputs import prepare_inputs
from socialcredit.store import Store

__all__ = ["actions_for_refusal", "record_action", "yuan"]


def yuan(amount: float) -> str:
    """12000 → '12 000 yuan' (a thin space would not survive every terminal; a plain space does)."""
    whole = round(amount)
    return f"{whole:,}".replace(",", " ") + " yuan" if abs(amount - whole) < 0.005 else f"{amount:,.2f} yuan"


def record_action(record: dict[str, Any]) -> str:
    """The act that fulfils or cures one negative record, in plain words."""
    rt, rid, src = record["record_type"], record["record_id"], record["source_id"]
    amount = record.get("amount")
    money = f" of {yuan(float(amount))}" if isinstance(amount, int | float) and amount else ""
    fine = record.get("fine")
    where = f"(record {rid} from {src})"
    if rt == "court_judgment":
        return f"pay the outstanding judgment{money} {where}; the court then records it fulfilled"
    if rt == "tax_payment":
        return f"settle the tax{money} and its penalties {where}"
    if rt == "traffic_ticket" and record.get("status") == "unpaid":
        fine_text = f" of {yuan(float(fine))}" if isinstance(fine, int | float) and fine else ""
        return f"pay the traffic fine{fine_text} {where}"
    if rt in ("loan_repayment", "platform_repayment"):
        return f"repay the overdue loan{money} {where}"
    if rt == "utility_payment":
        return f"pay the utility bill{money} {where}"
    return f"have {src} correct record {rid} if it is wrong (or dispute it)"


def _contributions(store: Store, loaded: LoadedPolicy, run: dict[str, Any], subject_id: str) -> list[dict[str, Any]]:
    """Each counting record of the subject with its points (summed over rules), most negative first."""
    with prepare_inputs(store, loaded, int(run["watermark"]), subject_id=subject_id) as inputs:
        inputs.create("sc_affected", "SELECT subject_id FROM sc_subjects")
        backend = DuckDBBackend(store)
        plan = ScorePlan(loaded, as_of=run["as_of"], dialect=backend.dialect)
        inputs.materialize(backend, "sc_contributions", plan.record_contributions())
        return inputs.rows(
            """SELECT r.*, c.points FROM (SELECT record_key, sum(points) AS points FROM sc_contributions GROUP BY 1) c
               JOIN records r USING (record_key) WHERE c.points < 0 ORDER BY c.points, r.record_key"""
        )


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
) -> list[str]:
    """The actions that would turn this refusal into a grant (empty when none can be named)."""
    p = loaded.policy
    actions: list[str] = []
    named: set[tuple[str, str]] = set()  # records an action names already
    blocking = {
        part.operand.name
        for part in failed
        if isinstance(part, expr.Unary) and isinstance(part.operand, expr.Name) and facts.get(part.operand.name)
    }
    score_gap = max([g for g in (_gap(part, facts, loaded) for part in failed) if g is not None], default=None)
    for listing in store.rows(
        "SELECT * FROM listings WHERE policy_id = ? AND subject_id = ? AND status = 'effective' ORDER BY listing_id",
        [p.id, subject_id],
    ):
        if listing["list_id"] not in blocking:
            continue
        sev = p.severities.get(listing["severity"]) if listing["severity"] else None
        last = listing["effective_on"] + dt.timedelta(days=sev.max_publication_days) if sev else None
        ends = f"; at the latest its publication ends on {last}" if last else ""
        if listing["record_id"]:
            rec = store.rows(
                "SELECT * FROM records WHERE source_id = ? AND record_id = ? ORDER BY version DESC LIMIT 1",
                [listing["source_id"], listing["record_id"]],
            )
            if rec:
                actions.append(record_action(rec[0]) + ends)
                named.add((listing["source_id"], listing["record_id"]))
        else:
            crit = p.criterion(listing["list_id"], listing["criterion_id"])
            floor = _floor(loaded, crit.when)
            if floor is not None:
                score_gap = max(score_gap or 0.0, floor - float(facts["score"]))
    if score_gap is not None and score_gap > 0:
        records = _contributions(store, loaded, run, subject_id)
        chosen, covered = [], 0.0
        for r in records:
            if covered >= score_gap:
                break
            chosen.append(r)
            covered += -float(r["points"])
        actions.extend(record_action(r) for r in chosen if (r["source_id"], r["record_id"]) not in named)
        if covered < score_gap:
            further = "a further " if chosen else ""
            actions.append(f"raise the score by {further}{score_gap - covered:g} points")
        else:
            dated = sorted(
                ((counts_until(loaded, r), -float(r["points"])) for r in records), key=lambda x: x[0] or dt.date.max
            )
            total = 0.0
            for until, pts in dated:
                if until is None:
                    break
                total += pts
                if total >= score_gap:
                    actions.append(f"or wait until {until.isoformat()}, when enough of these records expire")
                    break
    return actions


def _floor(loaded: LoadedPolicy, when: str | None) -> float | None:
    """For a criterion ``score < n``: n (the score that ends the listing)."""
    if when is None:
        return None
    node = expr.parse(when)
    if not (isinstance(node, expr.Binary) and isinstance(node.left, expr.Name) and isinstance(node.right, expr.Lit)):
        return None
    if node.left.name == "score" and node.op in ("<", "<=") and isinstance(node.right.value, int | float):
        return float(node.right.value) + (1 if node.op == "<=" else 0)
    return None
