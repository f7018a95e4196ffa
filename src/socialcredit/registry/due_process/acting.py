"""Who may act on a subject's case — a dispute, a repair application: the one check every face and service asks
before acting on a case. (Reading an organisation's file is another question, asked of ``roles.require_representative``
by the API and the pages alike: only its current legal representative, and never the organisation itself.)

A person acts on a case of subject S when they are S, or when S is an organisation and they are its legal
representative on the day of the request (a current ``legal_representative`` role, ``registry/records/roles.py``).
A director, a former representative (from the day the role ended) or anyone else may not. Acting for an
organisation, the person's identity number is kept with what they do (``representative_id``), as the key they used
may later be revoked and the role change hands (docs/organisations.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.records.roles import is_representative
from socialcredit.store import Store

__all__ = ["Acting", "acting_on", "audit_case_read", "audit_read_for_org"]


@dataclass(frozen=True)
class Acting:
    """How ``person_id`` acts on a case of ``subject_id``: for themselves (``representative_id`` None), or as the
    legal representative of the organisation ``subject_id`` (``representative_id`` is ``person_id``)."""

    person_id: str
    subject_id: str
    representative_id: str | None = None


def acting_on(store: Store, person_id: str | None, subject_id: str, today: dt.date | None = None) -> Acting | None:
    """How ``person_id`` may act on a case of ``subject_id`` on ``today`` (the clock's day by default), or None if
    they may not."""
    if person_id is None:
        return None
    if person_id == subject_id:
        return Acting(person_id, subject_id)
    if not (subject_id.isascii() and len(subject_id) == 18):  # not a unified social credit code
        return None
    if store.one("SELECT kind FROM current_subjects WHERE subject_id = ?", [subject_id]) != "org":
        return None
    if is_representative(store, person_id, subject_id, today):
        return Acting(person_id, subject_id, person_id)
    return None


def audit_read_for_org(store: Store, actor: str, acting: Acting, detail: dict[str, Any]) -> None:
    """Audit the representative's reading of the organisation's case (``read_for_org``, the organisation as
    subject)."""
    with store.transaction():
        append_audit(store, actor, "read_for_org", acting.subject_id, {**detail, "as": "representative"})


def audit_case_read(
    store: Store, actor: str, kind: Literal["dispute", "repair"], case: dict[str, Any], purpose: str
) -> None:
    """Audit a look-up of one case (a dispute, a repair application) by someone the face let see it: ``read_dispute``
    or ``read_repair``, the case's subject as subject, its number and ``purpose``. An operator's is shown in the
    resident's list of who asked (``inquiries.who_asked``); the legal representative's reading of their
    organisation's case is ``read_for_org`` instead."""
    with store.transaction():
        detail = {f"{kind}_id": case[f"{kind}_id"], "purpose": purpose}
        append_audit(store, actor, f"read_{kind}", str(case["subject_id"]), detail)
