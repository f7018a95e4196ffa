"""A score run's inputs belong to their caller: unique names on the shared connection, dropped when done.

Two callers on one connection (a decision explaining a refusal while a run is under way) must not read each
other's ``sc_records`` / ``sc_subjects``, and nothing a run or a report builds may stay behind on the connection.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from scoring_helpers import Registry, amount_rule, days_before, make_policy, open_registry, person, tax
from socialcredit.registry.reporting.report import subject_report
from socialcredit.registry.scoring.inputs import RunInputs, prepare_inputs
from socialcredit.store import Store

A, B, C = (person(n) for n in (1, 3, 5))
POLICY = make_policy(amount_rule("paid", 10, 100) + amount_rule("big", -20, 900))


@pytest.fixture
def reg(tmp_path: Path) -> Iterator[Registry]:
    registry = open_registry(tmp_path)
    registry.register({A: None, B: None, C: None})
    registry.send("tax_bureau", [tax("T1", A, days_before(3)), tax("T2", B, days_before(5), amount=900)])
    yield registry
    registry.store.close()


def _owned(store: Store) -> list[str]:
    """The temporary tables and views of the connection that some caller's RunInputs made (other workflows, such
    as ingestion, keep scratch tables of their own there)."""
    rows = store.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary "
        "UNION ALL SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal"
    ).fetchall()
    return sorted(str(r[0]) for r in rows if re.match(r"sc_[0-9a-f]{12}_", str(r[0])))


def _watermark(store: Store) -> int:
    return int(store.one("SELECT value FROM counters WHERE name = 'seq'"))


def test_a_run_and_a_report_leave_no_relation_behind(reg: Registry) -> None:
    run = reg.score(POLICY)
    assert run.subjects == 3
    subject_report(reg.store, B)
    assert _owned(reg.store) == []


def test_interleaved_inputs_have_their_own_names_and_rows(reg: Registry) -> None:
    store = reg.store
    with prepare_inputs(store, POLICY, _watermark(store)) as everyone:
        with prepare_inputs(store, POLICY, _watermark(store), subject_id=A) as one:
            assert everyone.name("sc_subjects") != one.name("sc_subjects")
            assert (everyone.count("sc_subjects"), one.count("sc_subjects")) == (3, 1)
            assert (everyone.count("sc_records"), one.count("sc_records")) == (2, 1)
        # The subject's inputs are gone; the run's are intact.
        assert all(name.startswith(everyone.prefix) for name in _owned(store))
        assert everyone.count("sc_subjects") == 3
        # A report explaining one subject in the middle of a run does not touch the run's inputs.
        subject_report(store, B)
        assert everyone.count("sc_records") == 2
    assert _owned(store) == []


def test_a_failing_statement_still_drops_what_was_made(reg: Registry) -> None:
    store = reg.store
    with pytest.raises(RuntimeError), RunInputs(store) as inputs:
        inputs.create("sc_affected", "SELECT 1 AS subject_id")
        assert inputs.count("sc_affected") == 1
        raise RuntimeError("interrupted")
    assert _owned(store) == []


def test_only_logical_names_are_renamed(reg: Registry) -> None:
    inputs = RunInputs(reg.store)
    sql = inputs.parse("SELECT s.sid FROM sc_subjects s JOIN subjects USING (subject_id)").sql(dialect="duckdb")
    assert f'"{inputs.name("sc_subjects")}" AS s' in sql and "JOIN subjects" in sql
    with pytest.raises(ValueError, match="not one of"):
        inputs.name("records")


def test_each_pass_of_named_subjects_reads_its_own_subjects(reg: Registry) -> None:
    """The SQL of a pass's subjects is printed once; each pass fills in its own identifiers (none: no row)."""
    store = reg.store
    w = _watermark(store)
    for subjects, expected in (([A, C], [A, C]), ([B], [B]), ([], []), ([C, "X'1"], [C])):
        with prepare_inputs(store, POLICY, w, subjects=subjects) as inputs:
            rows = inputs.rows("SELECT sid FROM sc_subjects ORDER BY sid")
            assert [r["sid"] for r in rows] == sorted(expected)
    assert _owned(store) == []


def test_every_subject_as_registered_at_the_watermark(reg: Registry) -> None:
    """A whole run's subjects: one row each, the version registered last at or below the watermark (a subject
    registered again is ranked by its versions; one registered once is taken as it is)."""
    store = reg.store
    d = person(7)
    before = _watermark(store)
    reg.register({A: "accounting", d: "retail"})  # d: registered once, after ``before``
    between = _watermark(store)  # A's second version at or below it, its third above
    reg.register({A: "education", B: "medical"})
    after = _watermark(store)
    for w, expected in (
        (before, {A: None, B: None, C: None}),
        (between, {A: "accounting", B: None, C: None, d: "retail"}),
        (after, {A: "education", B: "medical", C: None, d: "retail"}),
    ):
        with prepare_inputs(store, POLICY, w) as inputs:
            rows = inputs.rows("SELECT sid, profession FROM sc_subjects ORDER BY sid")
            assert {r["sid"]: r["profession"] for r in rows} == expected
            assert len(rows) == len(expected)
    assert _owned(store) == []
