"""A small world with relations (tests/test_relations.py, tests/test_spark_relations.py): a company, its legal
representative, a director, a shareholder and a later representative; a judgment against the company."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from scoring_helpers import AS_OF, Registry, days_before, open_registry, org, person
from socialcredit.clock import resolve_today
from socialcredit.policy import LoadedPolicy, builtin_policy, parse_policy
from socialcredit.store import open_store
from store_copies import copied

COMPANY = org("000000001")
OTHER = org("000000002")
REP, DIRECTOR, HOLDER, NEXT_REP, OUTSIDER = (person(n) for n in (11, 12, 13, 14, 15))


def role(
    record_id: str, subject_id: str, company: str, role_name: str, start: str, end: str = "", **more: Any
) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "subject_id": subject_id,
        "record_type": "company_role",
        "event_date": start,
        "org_id": company,
        "role": role_name,
        "start_date": start,
        "end_date": end,
        **more,
    }


def judgment(
    record_id: str, subject_id: str, event_date: str, status: str = "unfulfilled", **more: Any
) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "subject_id": subject_id,
        "record_type": "court_judgment",
        "event_date": event_date,
        "case_type": "commercial",
        "amount": 500000,
        "status": status,
        "defaulter": "true",
        **more,
    }


def build(reg: Registry) -> None:
    """The company (and another one), four persons with roles and one without; a judgment against the company."""
    reg.register(
        {
            COMPANY: None,
            OTHER: None,
            REP: "finance",
            DIRECTOR: "finance",
            HOLDER: "retired",
            NEXT_REP: "finance",
            OUTSIDER: "retail",
        }
    )
    reg.send(
        "registration_authority",
        [
            role("R1", REP, COMPANY, "legal_representative", days_before(2000)),
            role("R2", DIRECTOR, COMPANY, "director", days_before(1500)),
            role("R3", HOLDER, COMPANY, "shareholder", days_before(1500)),
            # a role that ended before the run's date does not count
            role("R4", OUTSIDER, COMPANY, "senior_manager", days_before(900), days_before(400)),
            # a role in another company, which is not listed
            role("R5", NEXT_REP, OTHER, "legal_representative", days_before(700)),
        ],
    )
    reg.send("courts", [judgment("J1", COMPANY, days_before(200))])


def built(folder: Path) -> Registry:
    """``open_registry(folder)`` with ``build`` done: built once per process and copied into ``folder`` (the store
    and the files sent), the batch files' count carried on, so that what a test sends next is named as before."""

    def made(where: Path) -> None:
        reg = open_registry(where)
        build(reg)
        reg.store.close()
        (where / "batch-files.txt").write_text(str(reg._files), "utf-8")

    copied(folder, "relation-world", made)
    files = int((folder / "batch-files.txt").read_text("utf-8"))
    return Registry(open_store(folder / "registry.duckdb"), folder, _files=files)


def scored(folder: Path, *days: dt.date) -> tuple[Registry, list[int]]:
    """``built(folder)`` scored under :func:`beijing` as of each of ``days`` in turn (``reg.score``: each run made on
    its day), built once per process for each of them (with the registry's today then) and copied into ``folder``;
    the runs' ids, in order."""
    made = [(day, min(day, resolve_today())) for day in days]
    name = "relation-world-scored-" + "-".join(f"{day}@{on}" for day, on in made)

    def make(where: Path) -> None:
        reg = built(where)
        for day in days:
            reg.score(beijing(), day)
        reg.store.close()
        (where / "batch-files.txt").write_text(str(reg._files), "utf-8")

    copied(folder, name, make)
    files = int((folder / "batch-files.txt").read_text("utf-8"))
    reg = Registry(open_store(folder / "registry.duckdb"), folder, _files=files)
    runs = [int(r) for (r,) in reg.store.execute("SELECT run_id FROM score_runs ORDER BY run_id").fetchall()]
    assert len(runs) == len(days), runs
    return reg, runs


def beijing() -> LoadedPolicy:
    return builtin_policy("beijing")


def at_cause() -> LoadedPolicy:
    """The shipped policy with the relation followed to whoever held the role when the judgment was given."""
    text = beijing().text.replace("when: current}", "when: held_at_cause}")
    assert "held_at_cause" in text
    return parse_policy(text, "beijing-at-cause.yaml")


def entries(reg: Registry, run_id: int, list_id: str = "high_spending_restriction") -> list[tuple[str, str]]:
    return [(s, c) for s, lst, c, _ in reg.list_entries(run_id) if lst == list_id]


LATER = AS_OF + dt.timedelta(days=1)
