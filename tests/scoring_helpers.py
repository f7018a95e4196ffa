"""Helpers for tests/test_scoring.py and tests/test_state.py: a tiny registry in tmp_path, hand-made CSV batches,
small policies; the comparison of two runs, row by row; the shipped example with a later batch of changes.

Every test builds its own store, registers 2-6 subjects, writes a few records as CSV and scores them
under a small inline policy, so that each expected number can be worked out by hand.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from due_world import score_on_its_day
from socialcredit import example
from socialcredit.identifiers import make_ric, make_uscc
from socialcredit.policy import LoadedPolicy, builtin_policy, parse_policy
from socialcredit.registry.records.consent import set_consent
from socialcredit.registry.records.ingest import IngestReport, ingest_file
from socialcredit.registry.reporting.report import record_fields
from socialcredit.registry.scoring.policies import publish_policy
from socialcredit.registry.scoring.runs import RunSummary
from socialcredit.settings import get_settings
from socialcredit.store import Store, open_store
from store_copies import copied

AS_OF = dt.date(2026, 1, 1)
# The options of the driver JVMs the Spark tests start (conftest.py's ``spark``, the command line's Spark run): a JVM
# that lives a few minutes spends less CPU compiling with the JIT's first tier only and the serial GC.
TEST_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


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
            return score_on_its_day(self.store, loaded, as_of, **kw)  # a run made on its day
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
    """A registry in ``folder``: its store ``registry.duckdb`` as ``open_store(create=True)`` makes it (the key
    from the settings), or the one already there. A new store is a copy of one created once per process (creating
    the schema costs about half a second, a copy a tenth of that): see fresh_copy."""
    path = folder / "registry.duckdb"
    if path.exists():
        return Registry(open_store(path, create=True), folder, today)
    key = get_settings().key()
    name = "empty-registry-" + hashlib.sha256((key or "").encode("utf-8")).hexdigest()[:12]
    store = fresh_copy(
        folder, name, lambda where: open_store(where / "registry.duckdb", create=True, key=key), "registry.duckdb", key
    )
    return Registry(store, folder, today)


def fresh_copy(
    folder: Path, name: str, build: Callable[[Path], Store], db: str = "store.duckdb", key: str | None = ""
) -> Store:
    """The store ``build`` makes as ``db`` in the folder it is given, built once per process for each ``name`` and
    copied into ``folder`` with what lies beside it (store_copies.copied), opened with ``key``, and given an identity
    of its own as a store created afresh has (copies of one store share its store_id, on which the registry keys
    what it keeps per run)."""
    copied(folder, name, lambda where: build(where).close())
    store = open_store(folder / db, key=key)
    store.execute("UPDATE store_info SET value = CAST(uuid() AS VARCHAR) WHERE key = 'store_id'")
    return store


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


# --------------------------------------------------------------------------------------------------------
# Comparing runs; the shipped example with a later batch of changes
# --------------------------------------------------------------------------------------------------------
EX_AS_OF = example.AS_OF
COMPARED = {
    "run_results": ("subject_id",),
    "run_rule_points": ("subject_id", "rule_id"),
    "run_list_entries": ("subject_id", "list_id", "criterion_id", "record_key"),
    "run_reasons": ("subject_id", "position"),
}


def run_rows(store: Any, table: str, run_id: int) -> dict[tuple[Any, ...], dict[str, Any]]:
    key = COMPARED[table]
    rows = store.rows(f"SELECT * EXCLUDE (run_id) FROM {table} WHERE run_id = ?", [run_id])
    out = {tuple(r[k] for k in key): r for r in rows}
    assert len(out) == len(rows), f"{table}: duplicate keys in run {run_id}"
    return out


def run_differences(store: Any, run_a: int, run_b: int, tables: tuple[str, ...] = tuple(COMPARED)) -> list[str]:
    """Every row and column in which two runs differ: exactly, to the last bit of a double (points are summed as
    integers of micro-points, so no order of summation may move a digit)."""
    diffs: list[str] = []
    for table in tables:
        a, b = run_rows(store, table, run_a), run_rows(store, table, run_b)
        for key in sorted(a.keys() ^ b.keys(), key=str):
            diffs.append(f"{table} {key}: only in run {run_a if key in a else run_b}")
        for key in sorted(a.keys() & b.keys(), key=str):
            for col, value in a[key].items():
                if value != b[key][col]:
                    diffs.append(f"{table} {key} {col}: {value!r} != {b[key][col]!r}")
    return diffs


def build_example_store(folder: Path) -> tuple[Store, dict[str, int]]:
    """The shipped example in ``folder``, scored under beijing and sesame (the returned base runs), then sent a
    later batch: a correction, a withdrawal, new judgments and tax evasion, a new volunteering record, a platform
    repayment, and a consent withdrawn. Built once per process (_example_with_later_batch) and copied, with the
    files it was made from, into ``folder``: every caller gets the same rows in a store of its own, opened."""
    copied(folder, "example-later-batch", _example_with_later_batch)
    base = json.loads((folder / "base-runs.json").read_text("utf-8"))
    return open_store(folder / "example.duckdb"), base


def _example_with_later_batch(folder: Path) -> None:
    """What build_example_store gives, made in ``folder``: the store, closed, and its base runs in base-runs.json."""
    files = example.write_example(folder / "files")
    store = open_store(folder / "example.duckdb", create=True)
    ingest_file(store, files.subjects, "civil_affairs", today=EX_AS_OF)
    for source, path in files.sources.items():
        ingest_file(store, path, source, today=EX_AS_OF)
    for subject_id, category, granted in files.consents:
        set_consent(store, subject_id, category, granted)
    base: dict[str, int] = {}
    for policy_id in ("beijing", "sesame"):
        loaded = builtin_policy(policy_id)
        publish_policy(store, loaded)
        base[policy_id] = score_on_its_day(store, loaded, EX_AS_OF).run_id

    # The new batch: sent 400 days later, so it may carry events after the base run's as-of date.
    later = EX_AS_OF + dt.timedelta(days=400)
    late_tax = store.rows(
        "SELECT * FROM records WHERE source_id = 'tax_bureau' AND status = 'late' ORDER BY record_id LIMIT 1"
    )[0]
    clean = [
        r["subject_id"]
        for r in store.rows(
            "SELECT subject_id FROM run_results WHERE run_id = ? AND kind = 'person' AND lists = [] "
            "ORDER BY subject_id LIMIT 3",
            [base["beijing"]],
        )
    ]
    an_org = store.one(
        f"SELECT subject_id FROM run_results WHERE run_id = {base['beijing']} AND kind = 'org' "
        "ORDER BY subject_id LIMIT 1"
    )
    ticket = store.rows("SELECT * FROM records WHERE source_id = 'traffic_police' ORDER BY record_id LIMIT 1")[0]
    consenting = sorted({s for s, _, g in files.consents if g})

    def send(source: str, rows: list[dict[str, Any]], name: str) -> None:
        report = ingest_file(store, write_csv(folder / name, rows), source, today=later)
        assert report.errors == [], report.errors
        assert report.accepted == len(rows)

    amount = record_fields(late_tax)["amount"]
    send(
        "tax_bureau",
        [
            # a correction: a late payment was in fact paid on time
            {
                **tax(
                    late_tax["record_id"],
                    late_tax["subject_id"],
                    late_tax["event_date"].isoformat(),
                    amount=amount,
                    status="paid",
                ),
                "correction": "true",
            },
            # major tax evasion by an organisation, 10 days after the base as-of
            tax("NEW-T1", an_org, (EX_AS_OF + dt.timedelta(days=10)).isoformat(), amount=500000, status="evaded"),
        ],
        "new_tax.csv",
    )
    judgment = {
        "record_type": "court_judgment",
        "case_type": "civil",
        "amount": 80000,
        "status": "unfulfilled",
        "defaulter": "true",
    }
    send(
        "courts",
        [
            {
                "record_id": "NEW-J1",
                "subject_id": clean[0],
                "event_date": (EX_AS_OF - dt.timedelta(days=5)).isoformat(),
                **judgment,
            },  # a new judgment defaulter, before the base as-of
            {
                "record_id": "NEW-J2",
                "subject_id": clean[1],
                "event_date": (EX_AS_OF + dt.timedelta(days=20)).isoformat(),
                **judgment,
            },  # and one after it
        ],
        "new_courts.csv",
    )
    send(
        "traffic_police",
        [
            {
                "record_id": ticket["record_id"],
                "subject_id": ticket["subject_id"],
                "record_type": "traffic_ticket",
                "event_date": ticket["event_date"].isoformat(),
                **record_fields(ticket),
                "withdrawn": "true",
            }
        ],
        "new_traffic.csv",
    )
    send(
        "civil_affairs",
        [volunteering("NEW-V1", clean[2], (EX_AS_OF - dt.timedelta(days=3)).isoformat(), hours=4)],
        "new_volunteering.csv",
    )
    send(
        "commercial_platforms",
        [
            {
                "record_id": "NEW-P1",
                "subject_id": consenting[0],
                "record_type": "platform_repayment",
                "event_date": (EX_AS_OF + dt.timedelta(days=15)).isoformat(),
                "amount": 900,
                "status": "late",
            }
        ],
        "new_platform.csv",
    )
    set_consent(store, consenting[1], "commercial", False)
    store.close()
    (folder / "base-runs.json").write_text(json.dumps(base), "utf-8")
