"""Each run's histogram of scores (run_histogram, migration 49): how many subjects of each kind have each score, with
the rank and percentile of that score as the run's results have them. Written by every run; a store's older runs
take theirs from their results when the store is upgraded; a live pass moves subjects in it (registry/decisions/
live.py) instead of counting every row of the run."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from scoring_helpers import (
    AS_OF,
    EX_AS_OF,
    build_example_store,
    days_before,
    make_policy,
    open_registry,
    org,
    person,
    tax,
)
from socialcredit.policy import builtin_policy
from socialcredit.registry.scoring.runs import score
from socialcredit.store import MIGRATIONS, Store, open_store

A, B, C, D = (person(n) for n in (1, 3, 5, 7))
ORG1, ORG2 = org("000000001"), org("000000002")
RULES = """\
- id: twenty
  record_type: tax_payment
  dimension: civic
  points: 20
  when: "amount == 20"
  reason: {code: TWENTY, zh: 测试, en: test}
- id: ten
  record_type: tax_payment
  dimension: civic
  points: 10
  when: "amount == 10"
  reason: {code: TEN, zh: 测试, en: test}
"""
# persons: A 120, B and C 110, D 100; organisations: ORG2 110, ORG1 100 (tests/test_scoring.py, the ties test)
HISTOGRAM = [
    ("org", 100, 1, 2, 50.0),
    ("org", 110, 1, 1, 100.0),
    ("person", 100, 1, 4, 25.0),
    ("person", 110, 2, 2, 75.0),
    ("person", 120, 1, 1, 100.0),
]


def _histogram(store: Store, run_id: int) -> list[tuple[Any, ...]]:
    return [
        tuple(r.values())
        for r in store.rows(
            "SELECT kind, score, n, rank, percentile FROM run_histogram WHERE run_id = ? ORDER BY kind, score",
            [run_id],
        )
    ]


def _of_results(store: Store, run_id: int) -> list[tuple[Any, ...]]:
    """The histogram as the run's results give it: each (kind, score) once, with its rows' rank and percentile."""
    return [
        tuple(r.values())
        for r in store.rows(
            "SELECT kind, score, count(*) AS n, any_value(rank), any_value(percentile) FROM run_results "
            "WHERE run_id = ? GROUP BY kind, score HAVING count(DISTINCT (rank, percentile)) = 1 ORDER BY ALL",
            [run_id],
        )
    ]


def _send_the_ties(registry: Any) -> None:
    registry.register({A: None, B: None, C: None, D: None, ORG1: None, ORG2: None})
    registry.send(
        "tax_bureau",
        [
            tax("T1", A, days_before(1), amount=20),
            tax("T2", B, days_before(1), amount=10),
            tax("T3", C, days_before(1), amount=10),
            tax("T4", ORG2, days_before(1), amount=10),
        ],
    )


def test_a_run_writes_its_histogram_ranked_as_its_results(tmp_path: Path) -> None:
    registry = open_registry(tmp_path)
    try:
        _send_the_ties(registry)
        run = registry.score(make_policy(RULES)).run_id
        assert _histogram(registry.store, run) == HISTOGRAM
        assert _of_results(registry.store, run) == HISTOGRAM
    finally:
        registry.store.close()


def test_an_upgraded_store_counts_the_histogram_of_its_older_runs(tmp_path: Path) -> None:
    registry = open_registry(tmp_path)
    try:
        _send_the_ties(registry)
        loaded = make_policy(RULES)
        first = registry.score(loaded).run_id
        second = registry.score(loaded, AS_OF + dt.timedelta(days=1)).run_id
        # the store as a program before migration 49 left it: its runs have no histogram
        for table in ("run_results", "run_points", "run_result_keys"):
            registry.store.execute(f"DROP VIEW {table}")
            registry.store.execute(f"ALTER TABLE {table}_rows RENAME TO {table}")
        registry.store.execute("DROP TABLE run_histogram")
        registry.store.execute("DROP TABLE run_own")
        registry.store.execute("ALTER TABLE score_runs DROP COLUMN root_run_id")
        registry.store.execute("DELETE FROM schema_version WHERE version = 49")
    finally:
        registry.store.close()
    with open_store(tmp_path / "registry.duckdb", key="") as store:
        assert store.schema_version() == MIGRATIONS[-1][0]
        assert _histogram(store, first) == HISTOGRAM
        assert _histogram(store, second) == HISTOGRAM  # the points are a day old: no score moved
        assert store.one("SELECT count(*) FROM run_histogram") == 2 * len(HISTOGRAM)


def test_every_run_of_the_example_has_the_histogram_of_its_results(tmp_path: Path) -> None:
    store, base = build_example_store(tmp_path)
    try:
        loaded = builtin_policy("beijing")
        nextday = score(store, loaded, EX_AS_OF + dt.timedelta(days=1), incremental=True, max_share=1.0)
        for run_id in (base["beijing"], base["sesame"], nextday.run_id):
            got = _histogram(store, run_id)
            assert got == _of_results(store, run_id)
            assert sum(r[2] for r in got) == store.one("SELECT n_subjects FROM score_runs WHERE run_id = ?", [run_id])
    finally:
        store.close()
