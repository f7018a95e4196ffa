"""The persons in an organisation's roles, from the registration authority's ``company_role`` records
(docs/organisations.md): who holds which role, and who is today its legal representative.

A role is current from its start date while it has no end date, or until the day it ended; only the latest version
of a record counts, and a withdrawn one not at all.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from socialcredit.clock import resolve_today
from socialcredit.errors import ForbiddenError
from socialcredit.store import Store

__all__ = ["is_representative", "represented_orgs", "require_representative", "role_is_current", "role_records"]


def role_records(store: Store, where: str, params: list[Any]) -> list[dict[str, Any]]:
    """The latest version of every company_role record matching ``where`` (withdrawn ones left out)."""
    kind = store.catalog.record_types.get("company_role")
    if kind is None or "org_id" not in kind.fields:
        return []  # a catalog without the registration authority's record type: no roles are known
    return store.rows(
        f"""SELECT r.subject_id AS person_id, r.org_id, r.role, r.start_date, r.end_date, r.source_id, r.record_id
            FROM records r
            WHERE r.record_type = 'company_role' AND {where}
              AND r.version = (SELECT max(v.version) FROM records v
                               WHERE v.source_id = r.source_id AND v.record_id = r.record_id)
              AND NOT r.withdrawn
            ORDER BY r.start_date, r.record_id""",
        params,
    )


def role_is_current(role: dict[str, Any], today: dt.date) -> bool:
    """Whether a role (a row of :func:`role_records`) is held on ``today``."""
    start, end = role["start_date"], role["end_date"]
    return start is not None and start <= today and (end is None or end > today)


def is_representative(store: Store, person_id: str, org_id: str, today: dt.date | None = None) -> bool:
    """Whether ``person_id`` holds legal_representative of ``org_id`` on ``today``."""
    today = resolve_today(today)
    rows = role_records(
        store, "r.subject_id = ? AND r.org_id = ? AND r.role = 'legal_representative'", [person_id, org_id]
    )
    return any(role_is_current(r, today) for r in rows)


def represented_orgs(store: Store, person_id: str, today: dt.date | None = None) -> list[str]:
    """The organisations ``person_id`` is the legal representative of on ``today``."""
    today = resolve_today(today)
    rows = role_records(store, "r.subject_id = ? AND r.role = 'legal_representative'", [person_id])
    return sorted({str(r["org_id"]) for r in rows if role_is_current(r, today)})


def require_representative(store: Store, person_id: str | None, org_id: str, today: dt.date | None = None) -> None:
    """ForbiddenError ``not_representative`` unless ``person_id`` may act for ``org_id`` today."""
    if person_id is None or not is_representative(store, person_id, org_id, today):
        raise not_representative(org_id)


def not_representative(org_id: str) -> ForbiddenError:
    """The refusal of anyone but the current legal representative acting for ``org_id`` (the API's and the pages')."""
    return ForbiddenError(
        f"only the current legal representative of organisation {org_id} may act for it",
        code="not_representative",
        zh=f"只有企业{org_id}的现任法定代表人可以代表企业查询和办理",
    )
