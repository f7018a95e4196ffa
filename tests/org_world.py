"""A tiny registry for the organisation's file: one company, the persons in its roles, a judgment against it.

* ORG (北京示例科技有限公司) has an unfulfilled judgment J9 of 2026-01-10 with defaulter=true (blacklisted, in effect
  after the 60 days' grace) and a late tax payment X9 of 2025-06-01.
* REP (张三) is its legal representative since 2020-01-01; FORMER (王五) was until 2019-12-31; DIRECTOR (李四) is a
  director since 2021-05-01; STRANGER (赵六) holds no role in it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_helpers import serving
from due_world import ingest, score_on_its_day, write_csv
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.identifiers import make_ric, make_uscc
from socialcredit.registry.access.parties import IssuedKey, issue_key
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.store import Store, open_store

__all__ = [
    "DIRECTOR",
    "FORMER",
    "ORG",
    "OTHER_ORG",
    "PEOPLE",
    "REP",
    "STRANGER",
    "build_org_world",
    "resident_keys",
    "serving_org_world",
]

ORG = make_uscc("91110105MA01ABCD1")
OTHER_ORG = make_uscc("91110108MA02WXY32")
REP = make_ric("110105", dt.date(1975, 4, 1), 41)
DIRECTOR = make_ric("110105", dt.date(1982, 8, 8), 52)
FORMER = make_ric("110108", dt.date(1960, 2, 2), 63)
STRANGER = make_ric("110108", dt.date(1991, 9, 9), 74)
# who may sign in, by the name their key is issued to
PEOPLE = {
    "rep": (REP, "张三"),
    "director": (DIRECTOR, "李四"),
    "former": (FORMER, "王五丰"),
    "stranger": (STRANGER, "赵六"),
}
ROLE = ["record_id", "subject_id", "record_type", "event_date", "org_id", "role", "start_date", "end_date"]


def build_org_world(folder: Path, runs: tuple[dt.date, ...] = (dt.date(2026, 1, 20), dt.date(2026, 3, 25))) -> Store:
    """The world, scored at each of ``runs``: by default the notice, then a run after the 60 days' grace."""
    store = open_store(folder / "orgs.duckdb", create=True, key="")
    subjects = [
        [REP, "张三", "朝阳区", "retail"],
        [DIRECTOR, "李四", "朝阳区", "finance"],
        [FORMER, "王五丰", "海淀区", "retired"],
        [STRANGER, "赵六", "海淀区", "retail"],
        [ORG, "北京示例科技有限公司", "朝阳区", ""],
        [OTHER_ORG, "北京另一示例商贸有限公司", "海淀区", ""],
    ]
    header = ["subject_id", "name", "district", "profession"]
    ingest(store, write_csv(folder / "subjects.csv", header, subjects), "civil_affairs", dt.date(2026, 1, 1))
    roles = [
        ["R1", REP, "company_role", "2020-01-01", ORG, "legal_representative", "2020-01-01", ""],
        ["R2", DIRECTOR, "company_role", "2021-05-01", ORG, "director", "2021-05-01", ""],
        ["R3", FORMER, "company_role", "2015-03-01", ORG, "legal_representative", "2015-03-01", "2019-12-31"],
        ["R4", STRANGER, "company_role", "2022-01-01", OTHER_ORG, "legal_representative", "2022-01-01", ""],
    ]
    ingest(store, write_csv(folder / "roles.csv", ROLE, roles), "registration_authority", dt.date(2026, 1, 1))
    judgment = [["J9", ORG, "court_judgment", "2026-01-10", "commercial", "250000", "unfulfilled", "true"]]
    header = ["record_id", "subject_id", "record_type", "event_date", "case_type", "amount", "status", "defaulter"]
    ingest(store, write_csv(folder / "courts.csv", header, judgment), "courts", dt.date(2026, 1, 10))
    tax = [["X9", ORG, "tax_payment", "2025-06-01", "80000", "late", "20"]]
    header = ["record_id", "subject_id", "record_type", "event_date", "amount", "status", "days_late"]
    ingest(store, write_csv(folder / "tax.csv", header, tax), "tax_bureau", dt.date(2026, 1, 10))
    for as_of in runs:
        score_on_its_day(store, resolve_policy(store, "beijing"), as_of)
    return store


def resident_keys(store: Store) -> dict[str, IssuedKey]:
    """A resident's key for each of the world's people (``rep``, ``director``, ``former``, ``stranger``)."""
    return {who: issue_key(store, "resident", name, subject=sid) for who, (sid, name) in PEOPLE.items()}


@contextmanager
def serving_org_world(store: Store, folder: Path, today: str) -> Iterator[dict[str, Any]]:
    """The world's ``store`` (in ``folder``) served on loopback while the clock says ``today``: the store, a client,
    the folder, each person's key and its actor (by who), and the service. The store is closed after."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(TODAY_ENV, today)
        issued = resident_keys(store)
        app = create_app(folder / "orgs.duckdb", store=store)
        try:
            with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
                yield {
                    "store": store,
                    "client": client,
                    "folder": folder,
                    "keys": {who: k.token for who, k in issued.items()},
                    "actors": {who: f"key:{k.party.key_id}" for who, k in issued.items()},
                    "service": app.state.service,
                }
        finally:
            store.close()
