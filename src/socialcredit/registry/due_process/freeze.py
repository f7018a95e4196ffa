"""The resident's own controls: a security freeze and a fraud alert (docs/freeze.md).

A **freeze** refuses every freezable service (new credit, leases, deposit-free services: ``freezable: true`` in the
policy) with the reason FROZEN, from the moment it is placed until it is lifted: for good, for one relying party
(optionally until a date), or for everyone during a period. A **fraud alert** adds "verify identity" to every
decision for a year, or seven years with a police report. Both act at once: decisions read them at the moment they
are made (``Guard``), from the store (``guard_of``) or from memory (``load_guards``, held by the snapshots). Every
change is audited and listed in the resident's history (``history``).

>>> g = Guard(frozen_on=dt.date(2026, 1, 5), lifts=(Lift("bank", dt.date(2026, 1, 6), None),), alert_until=None)
>>> g.frozen_for("other", dt.date(2026, 1, 6)), g.frozen_for("bank", dt.date(2026, 1, 6))
(True, False)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from socialcredit.clock import resolve_today
from socialcredit.errors import WorkflowError, WorkflowInputError
from socialcredit.identifiers import no_subject
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.common import control_character
from socialcredit.registry.scoring.policies import policies_in_use
from socialcredit.store import Store

__all__ = [
    "ALERT_YEARS",
    "FROZEN_CODE",
    "VERIFY_CODE",
    "Guard",
    "Lift",
    "freezable_parties",
    "freeze_status",
    "guard_of",
    "history",
    "lift_freeze",
    "lift_party",
    "load_guards",
    "party_of",
    "place_fraud_alert",
    "place_freeze",
    "reason_text",
    "remove_fraud_alert",
]

FROZEN_CODE = "FROZEN"
VERIFY_CODE = "VERIFY_IDENTITY"
# How long a fraud alert lasts: a year, or seven with a police report.
ALERT_YEARS = {"initial": 1, "extended": 7}
_TEXTS = {
    FROZEN_CODE: ("the resident has frozen their file", "本人已冻结信用档案"),
    VERIFY_CODE: (
        "fraud alert: verify the resident's identity before granting anything",
        "欺诈警示：办理前须核实本人身份",
    ),
    "FROZEN_ADVICE": (
        "ask the resident to lift the freeze for you, or for a period",
        "请本人为贵机构或在一段时间内解冻",
    ),
}


def reason_text(code: str, lang: str) -> str:
    """The plain text of FROZEN, VERIFY_IDENTITY or FROZEN_ADVICE in ``lang`` (en or zh)."""
    en, zh = _TEXTS[code]
    return zh if lang == "zh" else en


def party_of(requester: str) -> str:
    """The relying party a requester names: ``key:abc`` and ``abc`` are the party ``abc``."""
    return requester.removeprefix("key:").strip()


def lift_party(store: Store, party: str | None) -> str | None:
    """The party a lift asked by a face names, if it is a relying party's key that is not revoked (``key:abc`` or
    ``abc``): a lift for any other text was stored and answered as done, and covered no one. Refused (422,
    ``unknown_party``) naming the text and how to list the parties; None (every party) and a blank party (refused
    by ``lift_freeze``, naming the field) pass as they are."""
    if party is None or not party_of(party):
        return party
    key_id = party_of(party)
    if not _relying_party(store, key_id):  # (the parties' own module is above this one: its table read as it is)
        raise WorkflowInputError(
            f"no relying party holds the key id {key_id[:64]!r}; name the party by its key id "
            "(`socialcredit keys list`); nothing was lifted",
            field="party",
            code="unknown_party",
            zh=f"没有机构持有密钥编号 {key_id[:64]!r}；请以密钥编号写明机构（`socialcredit keys list`）；未作任何解冻",
        )
    return party


@dataclass(frozen=True, slots=True)
class Lift:
    """A temporary lift of a freeze: for one party (``party``) or for everyone (None), from a day, until a day
    (inclusive; None: until the freeze itself is lifted)."""

    party: str | None
    from_on: dt.date
    until_on: dt.date | None

    def covers(self, party: str, today: dt.date) -> bool:
        if self.party is not None and self.party != party:
            return False
        return self.from_on <= today and (self.until_on is None or today <= self.until_on)


@dataclass(frozen=True, slots=True)
class Guard:
    """A subject's freeze and fraud alert as decisions see them."""

    frozen_on: dt.date | None
    lifts: tuple[Lift, ...]
    alert_until: dt.date | None
    alert_from: dt.date | None = None

    def frozen_for(self, party: str, today: dt.date) -> bool:
        """Whether a freezable service asked by ``party`` on ``today`` is refused as frozen."""
        if self.frozen_on is None or today < self.frozen_on:
            return False
        return not any(lift.covers(party, today) for lift in self.lifts)

    def verify_identity(self, today: dt.date) -> bool:
        """Whether decisions on ``today`` carry "verify identity"."""
        if self.alert_until is None:
            return False
        return (self.alert_from is None or self.alert_from <= today) and today <= self.alert_until


NO_GUARD = Guard(None, (), None)


def load_guards(store: Store, subject_id: str | None = None) -> dict[str, Guard]:
    """Every subject with an active freeze or fraud alert (or only ``subject_id``), as decisions see them."""
    where, params = ("AND subject_id = ?", [subject_id]) if subject_id else ("", [])
    freezes = store.execute(
        f"SELECT subject_id, freeze_id, placed_on FROM freezes WHERE lifted_at IS NULL {where}", params
    ).fetchall()
    lifts = store.execute(
        "SELECT l.freeze_id, l.party, l.from_on, l.until_on FROM freeze_lifts l JOIN freezes f USING (freeze_id) "
        f"WHERE f.lifted_at IS NULL {where.replace('subject_id', 'f.subject_id')} ORDER BY l.lift_id",
        params,
    ).fetchall()
    alerts = store.execute(
        f"SELECT subject_id, placed_on, until_on FROM fraud_alerts WHERE removed_at IS NULL {where} ORDER BY alert_id",
        params,
    ).fetchall()
    by_freeze: dict[int, list[Lift]] = {}
    for freeze_id, party, from_on, until_on in lifts:
        by_freeze.setdefault(int(freeze_id), []).append(Lift(party, from_on, until_on))
    out: dict[str, Guard] = {}
    for sid, freeze_id, placed_on in freezes:
        out[str(sid)] = Guard(placed_on, tuple(by_freeze.get(int(freeze_id), [])), None)
    for sid, placed_on, until_on in alerts:
        g = out.get(str(sid), NO_GUARD)
        out[str(sid)] = Guard(g.frozen_on, g.lifts, until_on, placed_on)
    return out


def guard_of(store: Store, subject_id: str) -> Guard:
    """The subject's freeze and fraud alert, read from the store."""
    return load_guards(store, subject_id).get(subject_id, NO_GUARD)


def _known(store: Store, subject_id: str) -> None:
    if not store.one("SELECT count(*) FROM subjects WHERE subject_id = ?", [subject_id]):
        refused = no_subject(subject_id)
        refused.field = "subject_id"
        raise refused


def _active_freeze(store: Store, subject_id: str) -> int | None:
    found = store.one("SELECT max(freeze_id) FROM freezes WHERE subject_id = ? AND lifted_at IS NULL", [subject_id])
    return None if found is None else int(found)


def place_freeze(store: Store, subject_id: str, *, actor: str, today: dt.date | None = None) -> dict[str, Any]:
    """Freeze the subject's file at once; refused (409, already_frozen) when it is frozen already."""
    day = resolve_today(today)
    with store.transaction():
        _known(store, subject_id)
        if _active_freeze(store, subject_id) is not None:
            raise WorkflowError(
                "the file is frozen already", field="subject_id", code="already_frozen", zh="档案已处于冻结状态"
            )
        freeze_id = store.take_ids("freeze", 1)
        store.execute(
            "INSERT INTO freezes (freeze_id, subject_id, placed_at, placed_on, placed_by) VALUES (?, ?, now(), ?, ?)",
            [freeze_id, subject_id, day, actor],
        )
        append_audit(store, actor, "freeze_place", subject_id, {"freeze_id": freeze_id, "on": day.isoformat()})
    return freeze_status(store, subject_id, today=day)


def lift_freeze(
    store: Store,
    subject_id: str,
    *,
    actor: str,
    party: str | None = None,
    until: dt.date | None = None,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """Lift the freeze: for good (no party, no date), for one party (until a day, or until lifted), or for
    everyone until a day. Refused (409, not_frozen) when the file is not frozen, and (422, not_freezable) for a
    relying party a freeze never acts on (``freezable_parties``: rail, flights): such a lift would change nothing,
    and every face (the API, the command line, the page) refuses it here."""
    day = resolve_today(today)
    party = party_of(party) if party is not None else None
    if party == "":
        raise WorkflowInputError(
            "name the party to lift the freeze for (its key id)", field="party", zh="请写明为哪个机构解冻（其密钥编号）"
        )
    if until is not None and until < day:
        raise WorkflowInputError(
            f"the lift must end today or later, not {until.isoformat()}",
            field="until",
            zh=f"解冻的截止日期须为今天或以后，而不是 {until.isoformat()}",
        )
    with store.transaction():
        _known(store, subject_id)
        if party is not None and party not in freezable_parties(store) and _relying_party(store, party):
            raise WorkflowInputError(
                f"a freeze never refuses the services the party {party!r} asks for (such as rail or flights): "
                "there is nothing to lift for it; nothing was lifted",
                field="party",
                code="not_freezable",
                zh=f"冻结不会拒绝机构 {party} 查询的服务（如铁路、航空），无需为其解冻；未作任何解冻",
            )
        freeze_id = _active_freeze(store, subject_id)
        if freeze_id is None:
            raise WorkflowError("the file is not frozen", field="subject_id", code="not_frozen", zh="档案未冻结")
        detail: dict[str, Any] = {"freeze_id": freeze_id, "on": day.isoformat()}
        if party is None and until is None:
            store.execute(
                "UPDATE freezes SET lifted_at = now(), lifted_on = ?, lifted_by = ? WHERE freeze_id = ?",
                [day, actor, freeze_id],
            )
            append_audit(store, actor, "freeze_lift", subject_id, detail)
        else:
            lift_id = store.take_ids("freeze", 1)
            store.execute(
                "INSERT INTO freeze_lifts VALUES (?, ?, ?, ?, ?, ?, now(), ?)",
                [lift_id, freeze_id, subject_id, party, day, until, actor],
            )
            detail |= {"lift_id": lift_id, "party": party, "until": until.isoformat() if until else None}
            append_audit(store, actor, "freeze_lift_temporary", subject_id, detail)
    return freeze_status(store, subject_id, today=day)


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February: the alert ends on the 28th
        return day.replace(year=day.year + years, day=28)


def place_fraud_alert(
    store: Store,
    subject_id: str,
    *,
    actor: str,
    police_report: str | None = None,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """Place a fraud alert for a year (seven with a police report's reference); it replaces an active one."""
    day = resolve_today(today)
    report = police_report.strip() if police_report is not None else None
    if report is not None and not 1 <= len(report) <= 100:
        raise WorkflowInputError(
            "a police report reference has 1 to 100 characters",
            field="police_report",
            zh="报案回执编号须为 1 至 100 个字符",
        )
    # a line or paragraph separator (U+2028, U+2029) breaks the line as a line break does
    control = control_character(report) or next((c for c in report if c in "\u2028\u2029"), None) if report else None
    if control is not None:  # kept, then printed by `fraud-alert`/`freeze status` and shown on the pages
        raise WorkflowInputError(
            f"a police report reference is one line of plain text; this one has a control character "
            f"(U+{ord(control):04X})",
            field="police_report",
            code="control_character",
            zh=f"报案回执编号须为一行纯文本；此编号含有控制字符（U+{ord(control):04X}）",
        )
    kind = "extended" if report else "initial"
    until = _add_years(day, ALERT_YEARS[kind])
    with store.transaction():
        _known(store, subject_id)
        replaced = store.rows(
            "UPDATE fraud_alerts SET removed_at = now(), removed_on = ?, removed_by = ? "
            "WHERE subject_id = ? AND removed_at IS NULL RETURNING alert_id",
            [day, actor, subject_id],
        )
        alert_id = store.take_ids("freeze", 1)
        store.execute(
            "INSERT INTO fraud_alerts (alert_id, subject_id, kind, police_report, placed_at, placed_on, until_on, "
            "placed_by) VALUES (?, ?, ?, ?, now(), ?, ?, ?)",
            [alert_id, subject_id, kind, report, day, until, actor],
        )
        detail = {"alert_id": alert_id, "kind": kind, "until": until.isoformat(), "police_report": report}
        if replaced:
            detail["replaced"] = [int(r["alert_id"]) for r in replaced]
        append_audit(store, actor, "fraud_alert_place", subject_id, detail)
    return freeze_status(store, subject_id, today=day)


def remove_fraud_alert(store: Store, subject_id: str, *, actor: str, today: dt.date | None = None) -> dict[str, Any]:
    """Remove the active fraud alert; refused (409, no_alert) when there is none."""
    day = resolve_today(today)
    with store.transaction():
        _known(store, subject_id)
        removed = store.rows(
            "UPDATE fraud_alerts SET removed_at = now(), removed_on = ?, removed_by = ? "
            "WHERE subject_id = ? AND removed_at IS NULL RETURNING alert_id",
            [day, actor, subject_id],
        )
        if not removed:
            raise WorkflowError(
                "there is no fraud alert on the file", field="subject_id", code="no_alert", zh="档案上没有欺诈警示"
            )
        append_audit(store, actor, "fraud_alert_remove", subject_id, {"alert_id": int(removed[0]["alert_id"])})
    return freeze_status(store, subject_id, today=day)


def history(store: Store, subject_id: str) -> list[dict[str, Any]]:
    """Every freeze, lift and fraud alert of the subject, newest first: when, what, who, and its terms."""
    events: list[dict[str, Any]] = []
    for r in store.rows("SELECT * FROM freezes WHERE subject_id = ?", [subject_id]):
        events.append({"at": r["placed_at"], "event": "freeze_placed", "by": r["placed_by"]})
        if r["lifted_at"] is not None:
            events.append({"at": r["lifted_at"], "event": "freeze_lifted", "by": r["lifted_by"]})
    for r in store.rows("SELECT * FROM freeze_lifts WHERE subject_id = ?", [subject_id]):
        events.append(
            {
                "at": r["created_at"],
                "event": "freeze_lifted_for_party" if r["party"] else "freeze_lifted_for_period",
                "by": r["created_by"],
                "party": r["party"],
                "from": r["from_on"],
                "until": r["until_on"],
            }
        )
    for r in store.rows("SELECT * FROM fraud_alerts WHERE subject_id = ?", [subject_id]):
        events.append(
            {"at": r["placed_at"], "event": "fraud_alert_placed", "by": r["placed_by"], "until": r["until_on"]}
        )
        if r["removed_at"] is not None:
            events.append({"at": r["removed_at"], "event": "fraud_alert_removed", "by": r["removed_by"]})
    return sorted(events, key=lambda e: e["at"], reverse=True)


def _relying_party(store: Store, key_id: str) -> bool:
    """Whether ``key_id`` is a relying party's key that is not revoked (``lift_party`` refuses any other)."""
    return bool(
        store.one(
            "SELECT count(*) FROM api_keys WHERE key_id = ? AND role = 'relying_party' AND revoked_at IS NULL",
            [key_id],
        )
    )


def freezable_parties(store: Store) -> dict[str, str]:
    """The relying parties a freeze acts on, key id → name: those not revoked whose key may ask a freezable service
    of a policy in use (a key naming no services may ask any). A freeze never refuses the others (rail, flights: not
    freezable), so a lift for them would change nothing: the resident's page offers only these."""
    freezable = sorted({s.id for lp in policies_in_use(store) for s in lp.policy.services if s.freezable})
    rows = store.execute(
        "SELECT key_id, name FROM api_keys WHERE role = 'relying_party' AND revoked_at IS NULL "
        "AND (services IS NULL OR len(services) = 0 OR list_has_any(services, ?)) ORDER BY created_at, key_id",
        [freezable],
    ).fetchall()
    return {str(k): str(n) for k, n in rows}


def freeze_status(
    store: Store, subject_id: str, *, today: dt.date | None = None, actor: str | None = None, purpose: str = ""
) -> dict[str, Any]:
    """The subject's freeze (since when, the lifts still in force) and fraud alert (kind, until), and its history.

    With ``actor``, a look-up of the file: audited (``read_freeze``, with ``purpose``); an operator's is shown in the
    resident's list of who asked (``inquiries.who_asked``). Without, the answer of a change already audited."""
    day = resolve_today(today)
    _known(store, subject_id)
    if actor is not None:
        with store.transaction():
            append_audit(store, actor, "read_freeze", subject_id, {"purpose": purpose})
    guard = guard_of(store, subject_id)
    alert = store.rows(
        "SELECT kind, police_report, placed_on, until_on FROM fraud_alerts WHERE subject_id = ? AND removed_at IS NULL "
        "ORDER BY alert_id DESC LIMIT 1",
        [subject_id],
    )
    return {
        "subject_id": subject_id,
        "frozen": guard.frozen_on is not None,
        "frozen_since": guard.frozen_on,
        "lifts": [
            {"party": x.party, "from": x.from_on, "until": x.until_on}
            for x in guard.lifts
            if x.until_on is None or x.until_on >= day
        ],
        "fraud_alert": (
            {
                "kind": alert[0]["kind"],
                "police_report": alert[0]["police_report"],
                "since": alert[0]["placed_on"],
                "until": alert[0]["until_on"],
                "in_force": guard.verify_identity(day),
            }
            if alert
            else None
        ),
        "history": history(store, subject_id),
    }
