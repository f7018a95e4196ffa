"""Alerts for a region's operator: someone on another region's blacklist appears here.

Three triggers: ``import`` (a bundle brings records of a subject known here by the same number), ``link`` (an
identity link is applied, automatically or by an operator) and ``decision`` (a decision is asked about such a
subject). The evidence names the other region, its list entry and reason, the record, and how the identity was
linked. An alert that is not yet acknowledged is not raised twice for the same trigger, subject, region and list;
an ``import`` alert is not raised again, acknowledged or not, for the entry it reported (``_reported_before``).

This module is a built-in plugin of the registry (``socialcredit.registry.hooks``): the registry calls
``decision_made`` and ``watched_subjects``, and never imports the regions package. ``origin_label`` and
``origin_note`` live in ``socialcredit.registry.records.origin`` and are re-exported here.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from socialcredit.clock import resolve_today
from socialcredit.errors import NotFoundError
from socialcredit.registry import append_audit, hookimpl, origin_label, origin_note
from socialcredit.store import Store

if TYPE_CHECKING:  # pragma: no cover - types only
    from socialcredit.registry import Decision

__all__ = [
    "acknowledge_alert",
    "alerts_for_subject",
    "list_alerts",
    "on_decision",
    "origin_label",
    "origin_note",
    "raise_alerts",
]


def _blacklist_evidence(store: Store, subject_id: str) -> list[dict[str, Any]]:
    """Other regions' blacklist entries of the identities linked to ``subject_id``, in effect there: an entry whose
    listing the same bundle reports in its notice period (``region_listings``: a bundle from a region that sent
    people in notice as blacklisted, until 2026-12-06) is no evidence, as such a person is blacklisted nowhere, until
    the listing's ``effective_on`` (today on the registry's clock): an old bundle imported later still says
    ``pending`` of a listing in effect there by now (until 2026-12-06 it raised no alert)."""
    return store.rows(
        """SELECT i.identity_id, i.origin_region, i.origin_subject_id, i.status AS link, i.probability,
                  i.evidence AS link_evidence, e.list_id, e.criterion_id, e.reason_en, e.reason_zh, e.record_id,
                  e.as_of
           FROM region_identities i JOIN region_list_entries e
             ON e.origin_region = i.origin_region AND e.origin_subject_id = i.origin_subject_id
           WHERE i.subject_id = ? AND i.status IN ('exact', 'linked') AND e.list_kind = 'black'
             AND NOT EXISTS (
                 SELECT 1 FROM region_listings l WHERE l.origin_region = e.origin_region
                   AND l.origin_subject_id = e.origin_subject_id AND l.list_id = e.list_id
                   AND l.criterion_id = e.criterion_id AND l.source_id || '/' || l.record_id = e.record_id
                   AND l.status = 'pending' AND l.effective_on > ?)
           ORDER BY i.origin_region, e.list_id, e.criterion_id""",
        [subject_id, resolve_today()],
    )


def _reported_before(store: Store, subject_id: str, ev: dict[str, Any]) -> bool:
    """Whether an import alert (open or acknowledged) reported this entry already: the same subject, region, list,
    criterion and record, through the same identity there. Each import looks at every subject linked by number; an
    alert the operator acknowledged is raised again only for something new (another entry or identity)."""
    return bool(
        store.one(
            """SELECT count(*) FROM region_alerts WHERE trigger = 'import' AND subject_id = ? AND origin_region = ?
               AND list_id = ? AND json_extract_string(evidence, '$.criterion') = ?
               AND json_extract_string(evidence, '$.record_id') IS NOT DISTINCT FROM ?
               AND json_extract_string(evidence, '$.origin_subject_id') = ?""",
            [
                subject_id,
                ev["origin_region"],
                ev["list_id"],
                ev["criterion_id"],
                ev["record_id"],
                ev["origin_subject_id"],
            ],
        )
    )


def raise_alerts(store: Store, subject_id: str, trigger: str, actor: str, context: dict[str, Any]) -> int:
    """Raise one alert per other region and list that has ``subject_id`` blacklisted; call inside a transaction."""
    raised = 0
    for ev in _blacklist_evidence(store, subject_id):
        open_already = store.one(
            "SELECT count(*) FROM region_alerts WHERE trigger = ? AND subject_id = ? AND origin_region = ? "
            "AND list_id = ? AND acknowledged_at IS NULL",
            [trigger, subject_id, ev["origin_region"], ev["list_id"]],
        )
        if open_already or (trigger == "import" and _reported_before(store, subject_id, ev)):
            continue
        evidence = {
            "origin": origin_label(store, ev["origin_region"]),
            "origin_subject_id": ev["origin_subject_id"],
            "list": ev["list_id"],
            "criterion": ev["criterion_id"],
            "reason": ev["reason_en"],
            "record_id": ev["record_id"],
            "listed_as_of": ev["as_of"],
            "link": ev["link"],
            "link_probability": ev["probability"],
            "link_evidence": ev["link_evidence"],
            **context,
        }
        alert_id = store.take_ids("alert", 1)
        store.execute(
            "INSERT INTO region_alerts VALUES (?, now(), ?, ?, ?, ?, ?, NULL)",
            [
                alert_id,
                trigger,
                subject_id,
                ev["origin_region"],
                ev["list_id"],
                json.dumps(evidence, ensure_ascii=False, default=str),
            ],
        )
        append_audit(store, actor, "region_alert", subject_id, {"alert_id": alert_id, "trigger": trigger})
        raised += 1
    return raised


def on_decision(store: Store, subject_id: str, service: str, requester: str) -> int:
    """A decision about someone blacklisted elsewhere alerts (call inside the decision's transaction)."""
    linked = store.one(
        "SELECT count(*) FROM region_identities WHERE subject_id = ? AND status IN ('exact', 'linked')", [subject_id]
    )
    if not linked:
        return 0
    return raise_alerts(store, subject_id, "decision", requester, {"service": service, "requester": requester})


@hookimpl
def decision_made(store: Store, decision: Decision | None, subject_id: str, service: str, requester: str) -> None:
    """The registry's hook: every recorded decision may raise alerts."""
    on_decision(store, subject_id, service, requester)


@hookimpl
def watched_subjects(store: Store) -> list[str]:
    """The registry's hook: decisions about subjects linked to another region's identities must be reported."""
    rows = store.execute(
        "SELECT DISTINCT subject_id FROM region_identities WHERE status IN ('exact', 'linked')"
    ).fetchall()
    return [str(r[0]) for r in rows]


def _alert_rows(store: Store, where: str, params: list[Any]) -> list[dict[str, Any]]:
    rows = store.rows(
        "SELECT alert_id, raised_at, trigger, subject_id, origin_region, list_id, evidence, acknowledged_at "
        f"FROM region_alerts {where} ORDER BY alert_id",
        params,
    )
    for r in rows:
        r["evidence"] = json.loads(r["evidence"])
    return rows


def list_alerts(store: Store, *, include_acknowledged: bool = False, actor: str | None = None) -> list[dict[str, Any]]:
    """The region's alerts, oldest first (open ones only unless asked). With ``actor``, a look-up audited as
    ``read_region_alerts`` (whether acknowledged ones were asked for, how many it named), as a list of disputes is."""
    rows = _alert_rows(store, "" if include_acknowledged else "WHERE acknowledged_at IS NULL", [])
    if actor is not None:
        with store.transaction():
            detail = {"acknowledged": include_acknowledged, "entries": len(rows)}
            append_audit(store, actor, "read_region_alerts", None, detail)
    return rows


def alerts_for_subject(store: Store, subject_id: str) -> list[dict[str, Any]]:
    return _alert_rows(store, "WHERE subject_id = ?", [subject_id])


def acknowledge_alert(store: Store, alert_id: int, actor: str = "cli") -> None:
    state = store.execute("SELECT acknowledged_at FROM region_alerts WHERE alert_id = ?", [alert_id]).fetchone()
    if state is None:
        raise NotFoundError(f"no alert {alert_id}")
    if state[0] is not None:
        return
    with store.transaction():
        store.execute("UPDATE region_alerts SET acknowledged_at = now() WHERE alert_id = ?", [alert_id])
        append_audit(store, actor, "region_alert_acknowledged", None, {"alert_id": alert_id})
