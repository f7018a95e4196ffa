"""Helpers for tests/test_scoring.py: a tiny registry in tmp_path, hand-made CSV batches, small policies.

Every test builds its own store, registers 2-6 subjects, writes a few records as CSV and scores them
under a small inline policy, so that each expected number can be worked out by hand.
"""

from __future__ import annotations

import csv
import datetime as dt
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from socialcredit.identifiers import make_ric, make_uscc
from socialcredit.policy import LoadedPolicy, parse_policy
from socialcredit.registry.records.ingest import IngestReport, ingest_file
from socialcredit.registry.scoring.policies import publish_policy
from socialcredit.registry.scoring.runs import RunSummary, score
from socialcredit.store import Store, open_store

AS_OF = dt.date(2026, 1, 1)


def days_before(days: int, as_of: dt.date = AS_OF) -> str:
    """The ISO date ``days`` days before ``as_of`` (a record of that age on ``as_of``)."""
    return (as_of - dt.timedelta(days=days)).isoformat()


def person(sequence: int, birth: dt.date = dt.date(1990, 1, 1)) -> str:
    """A valid resident identity number (Beijing Chaoyang, born 1990-01-01 unless told)."""
    return make_ric("110105", birth, sequence)


def org(serial: str = "000000000") -> str:
    """A valid unified social credit code (enterprise, Beijing Chaoyang)."""
    return make_uscc("91110105" + serial)


# --------------------------------------------------------------------------------------------------------
# Policies: a fixed frame (base 100, scale 0..200, three tiers, two dimensions) around inline YAML parts.
# --------------------------------------------------------------------------------------------------------
TIERS = """\
- {id: gold, min: 150}
- {id: silver, min: 110}
- {id: bronze, min: 0}
"""
# `money` is capped to [-50, 30]; `civic` is not capped, so the scale clamp can be reached through it.
DIMENSIONS = """\
- {id: money, name: {zh: 经济, en: money}, min: -50, max: 30}
- {id: civic, name: {zh: 公益, en: civic}}
"""


def policy_text(
    rules: str,
    *,
    lists: str = "",
    services: str = "",
    consent: str = "",
    scale: str = "{base: 100, min: 0, max: 200}",
    tiers: str = TIERS,
    dimensions: str = DIMENSIONS,
    policy_id: str = "test",
) -> str:
    """The YAML of a test policy; ``rules``, ``lists``, ``services`` are YAML sequences, ``consent`` a mapping."""
    parts = [
        f"id: {policy_id}",
        'version: "1"',
        "name: {zh: 测试, en: test policy}",
        "kind: all",
        f"scale: {scale}",
        "tiers:\n" + textwrap.dedent(tiers),
        "dimensions:\n" + textwrap.dedent(dimensions),
        "rules:\n" + textwrap.dedent(rules),
    ]
    if consent:
        parts.append("consent:\n" + textwrap.indent(textwrap.dedent(consent), "  "))
    if lists:
        parts.append("lists:\n" + textwrap.dedent(lists))
    if services:
        parts.append("services:\n" + textwrap.dedent(services))
    return "\n".join(p.rstrip("\n") for p in parts) + "\n"


def make_policy(rules: str, **kw: Any) -> LoadedPolicy:
    return parse_policy(policy_text(rules, **kw), "test.yaml")


def amount_rule(rule_id: str, points: float, amount: int, *, dimension: str = "civic", code: str = "") -> str:
    """A rule giving ``points`` for each paid tax record of exactly ``amount`` (a way to give each subject
    its own points in one policy)."""
    code = code or rule_id.upper().replace(".", "_")
    return f"""\
- id: {rule_id}
  record_type: tax_payment
  when: "status == 'paid' and amount == {amount}"
  dimension: {dimension}
  points: {points}
  reason: {{code: {code}, zh: 测试, en: test}}
"""


# --------------------------------------------------------------------------------------------------------
# The registry in tmp_path
# --------------------------------------------------------------------------------------------------------
def write_csv(path: Path, rows: list[dict[str, Any]], columns: list[str] | None = None) -> Path:
    """Write ``rows`` as CSV; columns are the union of the rows' keys (in order of first use) unless given."""
    cols = columns or list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, cols)
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if v is None else v) for k, v in r.items()})
    return path


@dataclass
class Registry:
    """A store in a temporary folder, with helpers to register subjects, send batches and score."""

    store: Store
    folder: Path
    today: dt.date = AS_OF
    _files: int = field(default=0)
    engine: str = "duckdb"
    session_factory: Callable[[], Any] = field(default=lambda: None)

    def _path(self, name: str | None, suffix: str = ".csv") -> Path:
        self._files += 1
        return self.folder / (name or f"batch{self._files}{suffix}")

    def register(self, subjects: dict[str, str | None]) -> IngestReport:
        """Register subjects (id -> profession) through the civil_affairs source."""
        rows = [
            {"subject_id": sid, "name": f"subject {i}", "district": "朝阳区", "profession": prof}
            for i, (sid, prof) in enumerate(subjects.items(), 1)
        ]
        report = self.ingest("civil_affairs", rows)
        assert report.errors == [], report.errors
        return report

    def ingest(
        self,
        source: str,
        rows: list[dict[str, Any]],
        *,
        name: str | None = None,
        columns: list[str] | None = None,
        today: dt.date | None = None,
    ) -> IngestReport:
        path = write_csv(self._path(name), rows, columns)
        return ingest_file(self.store, path, source, today=today or self.today)

    def send(self, source: str, rows: list[dict[str, Any]], **kw: Any) -> IngestReport:
        """Ingest rows that must all be accepted."""
        report = self.ingest(source, rows, **kw)
        assert report.errors == [], report.errors
        return report

    def score(self, loaded: LoadedPolicy, as_of: dt.date = AS_OF, **kw: Any) -> RunSummary:
        publish_policy(self.store, loaded)
        if self.engine == "duckdb":
            return score(self.store, loaded, as_of, **kw)
        # Another engine: the registry's inputs exported as Parquet, scored there, the results published back.
        if kw:
            pytest.skip(f"{', '.join(kw)}: runs of the store's own engine only")
        from socialcredit.registry.scoring.export import export_inputs, publish_results, score_on_spark

        n = self._files = self._files + 1
        export_inputs(self.store, self.folder / f"export{n}")
        score_on_spark(
            self.folder / f"export{n}", loaded, as_of, self.folder / f"results{n}", session=self.session_factory()
        )
        return publish_results(self.store, self.folder / f"results{n}")

    # -- reading a run back --------------------------------------------------------------------------------
    def results(self, run_id: int) -> dict[str, dict[str, Any]]:
        return {r["subject_id"]: r for r in self.store.rows("SELECT * FROM run_results WHERE run_id = ?", [run_id])}

    def rule_points(self, run_id: int) -> dict[tuple[str, str], dict[str, Any]]:
        rows = self.store.rows("SELECT * FROM run_rule_points WHERE run_id = ?", [run_id])
        return {(r["subject_id"], r["rule_id"]): r for r in rows}

    def points(self, run_id: int, subject_id: str, rule_id: str) -> float | None:
        """The points of one rule for one subject, None when the rule gave that subject nothing."""
        row = self.rule_points(run_id).get((subject_id, rule_id))
        return None if row is None else row["points"]

    def reasons(self, run_id: int, subject_id: str) -> list[tuple[int, str, float]]:
        rows = self.store.rows(
            "SELECT position, rule_id, points FROM run_reasons WHERE run_id = ? AND subject_id = ? ORDER BY position",
            [run_id, subject_id],
        )
        return [(r["position"], r["rule_id"], r["points"]) for r in rows]

    def list_entries(self, run_id: int) -> list[tuple[str, str, str, int | None]]:
        rows = self.store.rows(
            "SELECT subject_id, list_id, criterion_id, record_key FROM run_list_entries WHERE run_id = ? ORDER BY ALL",
            [run_id],
        )
        return [(r["subject_id"], r["list_id"], r["criterion_id"], r["record_key"]) for r in rows]

    def record_key(self, record_id: str, version: int = 1) -> int:
        return int(
            self.store.one("SELECT record_key FROM records WHERE record_id = ? AND version = ?", [record_id, version])
        )

    def count(self, table: str) -> int:
        return int(self.store.one(f"SELECT count(*) FROM {table}"))  # table names are constants of the tests

    def table_exists(self, table: str) -> bool:
        return bool(
            self.store.one("SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND NOT temporary", [table])
        )


def open_registry(folder: Path, today: dt.date = AS_OF) -> Registry:
    return Registry(open_store(folder / "registry.duckdb", create=True), folder, today)


# --------------------------------------------------------------------------------------------------------
# Record rows
# --------------------------------------------------------------------------------------------------------
def volunteering(record_id: str, subject_id: str, event_date: str, hours: float = 2, **flags: Any) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "subject_id": subject_id,
        "record_type": "volunteering",
        "event_date": event_date,
        "hours": hours,
        **flags,
    }


def tax(
    record_id: str, subject_id: str, event_date: str, *, amount: float = 100, status: str = "paid", **more: Any
) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "subject_id": subject_id,
        "record_type": "tax_payment",
        "event_date": event_date,
        "amount": amount,
        "status": status,
        **more,
    }
