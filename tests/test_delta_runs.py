"""A next-day run stored as its changes (migration 49): an incremental run that computed only the subjects it
rescored stores rows for its own subjects only, over a root run stored whole (one link: a delta of a delta has the
same root); the views run_results, run_points (run_rule_points, run_reasons) and run_result_keys give its full rows,
rank and percentile from its histogram. Read through them, every run equals the full run at its date, table by
table, whatever came between: a correction, a withdrawal, a new judgment (tests/test_scoring.py checks the
comparison itself)."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from scoring_helpers import (
    AS_OF,
    EX_AS_OF,
    Registry,
    build_example_store,
    days_before,
    make_policy,
    open_registry,
    person,
    run_differences,
    tax,
    write_csv,
)
from socialcredit.policy import builtin_policy, parse_policy
from socialcredit.registry.decisions.decide import explain, subject_result
from socialcredit.registry.decisions.snapshot import Snapshot
from socialcredit.registry.due_process.listings import ended_since_run
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.registry.reporting import dashboard
from socialcredit.registry.reporting.drift import run_drift
from socialcredit.registry.reporting.report import record_fields, run_in_force
from socialcredit.registry.scoring.policies import publish_policy
from socialcredit.registry.scoring.runs import score
from socialcredit.store import Store, run_rows


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("delta")
    store, base = build_example_store(folder)
    yield store, base, folder
    store.close()


def _send(store: Store, folder: Path, source: str, rows: list[dict[str, Any]], day: dt.date) -> None:
    seq = store.one("SELECT value FROM counters WHERE name = 'seq'")
    name = f"{source}-{seq}.csv"
    report = ingest_file(store, write_csv(folder / name, rows), source, today=day)
    assert (report.errors, report.accepted) == ([], len(rows))


def _record_row(record: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {
        "record_id": record["record_id"],
        "subject_id": record["subject_id"],
        "record_type": record["record_type"],
        "event_date": record["event_date"].isoformat(),
        **{k: ("true" if v is True else "false" if v is False else v) for k, v in record_fields(record).items()},
        **changes,
    }


def _keys(store: Store, run_id: int) -> list[int]:
    return sorted(
        int(r[0])
        for r in store.execute("SELECT subject_key FROM run_result_keys WHERE run_id = ?", [run_id]).fetchall()
    )


def _histogram(store: Store, run_id: int) -> list[tuple[Any, ...]]:
    sql = "SELECT kind, score, n, rank, percentile FROM run_histogram WHERE run_id = ? ORDER BY kind, score"
    return [tuple(r) for r in store.execute(sql, [run_id]).fetchall()]


def _same_as_full(store: Store, delta: int, full: int) -> None:
    assert run_differences(store, delta, full) == []
    assert _keys(store, delta) == _keys(store, full)
    assert _histogram(store, delta) == _histogram(store, full)
    assert store.one("SELECT n_subjects FROM score_runs WHERE run_id = ?", [delta]) == store.one(
        "SELECT n_subjects FROM score_runs WHERE run_id = ?", [full]
    )


@pytest.mark.parametrize("policy_id", ["beijing", "sesame"])
def test_a_chain_of_next_day_runs_equals_the_full_runs_with_one_root(example: Any, policy_id: str) -> None:
    store, base, folder = example
    loaded = builtin_policy(policy_id)
    root = base[policy_id]
    previous = root
    once = "version = 1 AND NOT withdrawn AND record_id NOT IN (SELECT record_id FROM records WHERE version > 1)"
    late = store.rows(
        f"SELECT * FROM records WHERE source_id = 'tax_bureau' AND status = 'paid' AND {once} ORDER BY record_id"
    )
    tickets = store.rows(f"SELECT * FROM records WHERE source_id = 'traffic_police' AND {once} ORDER BY record_id")
    at = 3 + ["beijing", "sesame"].index(policy_id)  # each policy's chain corrects and withdraws records of its own
    for day in range(1, 4):
        as_of = EX_AS_OF + dt.timedelta(days=day)
        if day == 2:  # a correction (paid on time was late) and a withdrawal between two next-day runs
            _send(store, folder, "tax_bureau", [_record_row(late[at], status="late", correction="true")], as_of)
            _send(store, folder, "traffic_police", [_record_row(tickets[at], withdrawn="true")], as_of)
        if day == 3:  # a new record of a subject the runs before did not rescore
            other = store.one(
                "SELECT subject_id FROM run_results WHERE run_id = $run AND kind = 'person' AND subject_id NOT IN "
                "(SELECT subject_id FROM run_own WHERE run_id = $run) ORDER BY 1 LIMIT 1",
                {"run": previous},
            )
            _send(
                store,
                folder,
                "tax_bureau",
                [tax(f"DELTA-{policy_id}-{day}", other, as_of.isoformat(), amount=500000, status="evaded")],
                as_of,
            )
        delta = score(store, loaded, as_of, incremental=True, base_run_id=previous, max_share=1.0)
        full = score(store, loaded, as_of)
        run = store.rows("SELECT * FROM score_runs WHERE run_id = ?", [delta.run_id])[0]
        assert (run["mode"], run["base_run_id"], run["root_run_id"]) == ("incremental", previous, root)
        own = store.one("SELECT count(*) FROM run_results_rows WHERE run_id = ?", [delta.run_id])
        assert 0 < own < full.subjects  # stored as its changes, not whole
        assert own <= store.one("SELECT count(*) FROM run_own WHERE run_id = ?", [delta.run_id])
        assert delta.subjects == full.subjects
        _same_as_full(store, delta.run_id, full.run_id)
        previous = delta.run_id


def test_a_snapshot_of_a_delta_run_decides_and_explains_as_one_of_the_full_run(example: Any) -> None:
    store, base, _ = example
    loaded = builtin_policy("beijing")
    as_of = EX_AS_OF + dt.timedelta(days=1)
    delta = score(store, loaded, as_of, incremental=True, base_run_id=base["beijing"], max_share=1.0)
    full = score(store, loaded, as_of)
    assert store.one("SELECT root_run_id FROM score_runs WHERE run_id = ?", [delta.run_id]) == base["beijing"]
    ids = [
        r[0]
        for r in store.execute(
            "SELECT subject_id FROM run_results WHERE run_id = ? ORDER BY 1", [full.run_id]
        ).fetchall()
    ]
    runs = [store.rows("SELECT * FROM score_runs WHERE run_id = ?", [r])[0] for r in (delta.run_id, full.run_id)]
    snaps = [Snapshot(store, run, explain=True) for run in runs]
    for sid in ids:
        a, b = (s.decision(sid, "bank_loan", "credit", requester="test") for s in snaps)
        assert (a.granted, a.score, a.tier, a.lists, a.reasons) == (b.granted, b.score, b.tier, b.lists, b.reasons)
        quick = [s.decide(sid, "flight", "travel", requester="test") for s in snaps]
        assert (quick[0].granted, quick[0].score) == (quick[1].granted, quick[1].score)


def test_a_policy_granting_on_rank_is_stored_whole(example: Any) -> None:
    store, _, _ = example
    text = builtin_policy("sesame").text.replace("id: sesame", "id: ranked", 1)
    text = text.replace('grant_if: "', 'grant_if: "rank <= 100000 and ', 1)
    loaded = parse_policy(text, "sesame-ranked.yaml")
    publish_policy(store, loaded)
    first = score(store, loaded, EX_AS_OF)
    nextday = score(store, loaded, EX_AS_OF + dt.timedelta(days=1), incremental=True, base_run_id=first.run_id)
    run = store.rows("SELECT * FROM score_runs WHERE run_id = ?", [nextday.run_id])[0]
    assert (run["mode"], run["root_run_id"]) == ("incremental", None)
    assert nextday.rescored < nextday.subjects
    assert store.one("SELECT count(*) FROM run_results_rows WHERE run_id = ?", [nextday.run_id]) == nextday.subjects


def test_run_rows_reads_a_run_as_its_view_with_its_ids_as_constants(example: Any) -> None:
    store, base, _ = example
    loaded = builtin_policy("beijing")
    delta = score(store, loaded, EX_AS_OF + dt.timedelta(days=1), incremental=True, base_run_id=base["beijing"])
    root = store.one("SELECT root_run_id FROM score_runs WHERE run_id = ?", [delta.run_id])
    assert root == base["beijing"]
    for view, order in (
        ("run_results", "subject_id"),
        ("run_points", "subject_key, rule_index"),
        ("run_result_keys", "subject_key"),
    ):
        for run in (root, delta.run_id):
            relation = run_rows(store, view, run)
            got = store.execute(f"SELECT * FROM {relation} ORDER BY {order}").fetchall()
            want = store.execute(f"SELECT * FROM {view} WHERE run_id = ? ORDER BY {order}", [run]).fetchall()
            assert got == want and got
    # the root's rows are chosen by the root's id, not by a join to score_runs the run id filter would not reach
    assert run_rows(store, "run_results", root) == f"(SELECT * FROM run_results_rows WHERE run_id = {root})"
    assert f"WHERE r.run_id = {root})" in run_rows(store, "run_results", delta.run_id)
    assert "score_runs" not in run_rows(store, "run_results", delta.run_id)

    with pytest.raises(
        ValueError,
        match="run_rows reads one of run_results, run_points, run_result_keys, run_rule_points, not 'score_runs'",
    ):
        run_rows(store, "score_runs", root)


@pytest.mark.slow
def test_a_snapshot_decides_on_a_store_before_migration_49(tmp_path: Path) -> None:
    # a store opened read-only before migration 49: its runs' rows in the tables of old, score_runs without root_run_id
    store, _ = build_example_store(tmp_path)
    try:
        run = run_in_force(store, "beijing")
        ids = [
            str(r[0])
            for r in store.execute(
                "SELECT subject_id FROM run_results_rows WHERE run_id = ? ORDER BY 1", [run["run_id"]]
            ).fetchall()
        ]

        def decisions() -> list[tuple[Any, ...]]:
            snap = Snapshot(store, run, explain=True)
            out = []
            for sid in ids:
                d = snap.decision(sid, "bank_loan", "credit", requester="test")
                out.append((sid, d.granted, d.score, d.tier, d.lists, d.reasons))
            return out

        migrated = decisions()
        for table in ("run_results", "run_points", "run_result_keys"):
            store.execute(f"DROP VIEW {table}")
            store.execute(f"ALTER TABLE {table}_rows RENAME TO {table}")
        store.execute("DROP TABLE run_histogram")
        store.execute("DROP TABLE run_own")
        store.execute("ALTER TABLE score_runs DROP COLUMN root_run_id")
        assert decisions() == migrated and len(migrated) == 312
    finally:
        store.close()


RULES = """\
- id: late
  record_type: tax_payment
  when: "status == 'late'"
  dimension: money
  points: -5
  reason: {code: LATE, zh: 逾期, en: late}
"""
SERVICES = """\
- id: loan
  name: {zh: 贷款, en: loan}
  grant_if: "%s"
  refusal: {zh: 不符合, en: not met}
"""


def _clean(when: str) -> str:
    return f"""\
- id: clean
  kind: red
  name: {{zh: 清白, en: clean}}
  criteria:
    - id: long_ago
      when: "{when}"
      reason: {{code: LONG_AGO, zh: 久无失信, en: long ago}}
"""


def _late_payments_chain(tmp_path: Path, when: str) -> tuple[Registry, list[str], int, list[int]]:
    """Ten persons, person i's late payment 6 + i days old at AS_OF, a list ``clean`` on ``when``; a full run at AS_OF
    (the root) and a chain of delta runs on each of the five days after, no record sent between: each delta run is
    over the root, rescores nothing, owns the subjects the date moved across 12 days (person 6 - d on day d) and
    equals the full run of its day. The registry, the persons, the root and the delta runs."""
    reg = open_registry(tmp_path)
    people = [person(i + 1) for i in range(10)]
    reg.register({p: None for p in people})
    reg.send("tax_bureau", [tax(f"T{i}", p, days_before(6 + i), status="late") for i, p in enumerate(people)])
    loaded = make_policy(RULES, lists=_clean(when), services=SERVICES % "clean")
    root = previous = reg.score(loaded).run_id
    deltas = []
    for day in range(1, 6):
        as_of = AS_OF + dt.timedelta(days=day)
        delta = reg.score(loaded, as_of, incremental=True, base_run_id=previous, max_share=1.0)
        full = reg.score(loaded, as_of)
        assert reg.store.one("SELECT root_run_id FROM score_runs WHERE run_id = ?", [delta.run_id]) == root
        assert delta.rescored == 0  # no record came: the subjects it owns are those the date moved across 12 days
        owned = reg.store.execute(
            "SELECT subject_id FROM run_own WHERE run_id = ? ORDER BY 1", [delta.run_id]
        ).fetchall()
        assert [r[0] for r in owned] == sorted(people[6 - d] for d in range(1, day + 1))
        _same_as_full(reg.store, delta.run_id, full.run_id)
        deltas.append(delta.run_id)
        previous = delta.run_id
    return reg, people, root, deltas


def test_a_list_on_the_days_since_a_negative_record_crosses_day_by_day_in_a_delta_run(tmp_path: Path) -> None:
    # day d of the chain, person 6 - d reaches the list's 12 days
    reg, _, _, deltas = _late_payments_chain(tmp_path, "last_negative_days >= 12")
    for day, run_id in enumerate(deltas, start=1):
        listed = reg.store.one(
            "SELECT count(*) FROM run_results WHERE run_id = ? AND list_contains(lists, 'clean')", [run_id]
        )
        assert listed == 4 + day  # 6 + i + day >= 12


def test_a_subject_not_rescored_leaves_a_list_by_the_date_in_a_delta_run(tmp_path: Path) -> None:
    # on the list while 6 + i + d < 12, so on day d of the chain persons 0 to 5 - d are on it and person 6 - d leaves
    # it, a subject no record rescored whose root run listed it
    reg, people, root, deltas = _late_payments_chain(tmp_path, "last_negative_days < 12")
    sql = "SELECT subject_id FROM run_results WHERE run_id = ? AND list_contains(lists, 'clean') ORDER BY 1"
    assert [r[0] for r in reg.store.execute(sql, [root]).fetchall()] == sorted(people[:6])
    for day, run_id in enumerate(deltas, start=1):
        assert [r[0] for r in reg.store.execute(sql, [run_id]).fetchall()] == sorted(people[: 6 - day])


def test_a_delta_run_names_its_own_subjects_as_the_subjects_it_read_not_by_subject_keys(tmp_path: Path) -> None:
    reg = open_registry(tmp_path)
    people = [person(i + 1) for i in range(10)]
    reg.register({p: None for p in people})
    reg.send("tax_bureau", [tax(f"T{i}", p, days_before(6 + i), status="late") for i, p in enumerate(people)])
    loaded = make_policy(RULES, lists=_clean("last_negative_days < 12"), services=SERVICES % "clean")
    root = reg.score(loaded).run_id
    first = reg.score(loaded, AS_OF + dt.timedelta(days=1), incremental=True, base_run_id=root, max_share=1.0)
    assert reg.store.execute("SELECT subject_id FROM run_own WHERE run_id = ?", [first.run_id]).fetchall() == [
        (people[5],)
    ]
    # the key of a subject the next run owns (its base owned it) missing from subject_keys: its identifier is the
    # one of the subjects the run read, as a full run's, and the run is stored (it was refused on a NULL identifier)
    reg.store.execute("DELETE FROM subject_keys WHERE subject_id = ?", [people[5]])
    as_of = AS_OF + dt.timedelta(days=2)
    delta = reg.score(loaded, as_of, incremental=True, base_run_id=first.run_id, max_share=1.0)
    full = reg.score(loaded, as_of)
    owned = reg.store.execute("SELECT subject_id FROM run_own WHERE run_id = ? ORDER BY 1", [delta.run_id]).fetchall()
    assert owned == [(people[4],), (people[5],)]
    _same_as_full(reg.store, delta.run_id, full.run_id)


@pytest.mark.parametrize(
    ("when", "grant"), [("percentile >= 50", "clean"), ("last_negative_days >= 12", "last_negative_days >= 12")]
)
def test_a_policy_whose_lists_or_grants_move_for_everyone_is_stored_whole(
    tmp_path: Path, when: str, grant: str
) -> None:
    reg = open_registry(tmp_path)
    people = [person(i + 1) for i in range(4)]
    reg.register({p: None for p in people})
    reg.send("tax_bureau", [tax(f"T{i}", p, days_before(6 + i), status="late") for i, p in enumerate(people)])
    loaded = make_policy(RULES, lists=_clean(when), services=SERVICES % grant)
    first = reg.score(loaded).run_id
    nextday = reg.score(loaded, AS_OF + dt.timedelta(days=1), incremental=True, base_run_id=first)
    run = reg.store.rows("SELECT * FROM score_runs WHERE run_id = ?", [nextday.run_id])[0]
    assert (run["mode"], run["root_run_id"]) == ("incremental", None)
    assert reg.store.one("SELECT count(*) FROM run_results_rows WHERE run_id = ?", [nextday.run_id]) == 4


class _ScanCounting:
    """A store's connection that adds up the rows every table scan of each statement hands on (DuckDB's profile:
    the rows left after the filters the scan applies itself), to tell a read filtered by its run from one that
    takes every run's rows and filters them later."""

    def __init__(self, con: Any) -> None:
        self.con = con
        self.rows = 0

    def execute(self, sql: str, params: Any = None) -> Any:
        cur = self.con.execute(sql, params) if params is not None else self.con.execute(sql)
        self.rows += _scanned(json.loads(self.con.get_profiling_information(format="json")))
        return cur

    def __getattr__(self, name: str) -> Any:
        return getattr(self.con, name)


def _scanned(node: dict[str, Any]) -> int:
    own = int(node.get("operator_cardinality", 0)) if node.get("operator_type") == "TABLE_SCAN" else 0
    return own + sum(_scanned(child) for child in node.get("children", []))


def _rows_read(store: Store, run_id: int, subject_id: str) -> dict[str, int]:
    """The rows every reader of one run scans to read run ``run_id`` (for one subject where it reads one)."""
    loaded = builtin_policy("beijing")
    store.con.execute("PRAGMA enable_profiling = 'no_output'")
    try:
        out = {}
        readers = {
            "histogram": lambda s: dashboard.histogram(s, run_id),
            "tier counts": lambda s: dashboard.tier_counts(s, run_id),
            "drift": lambda s: run_drift(s, run_id, run_id),
            "reasons": lambda s: explain(s, loaded, run_id, subject_id, subject_result(s, run_id, subject_id), "en"),
            "ended listings": lambda s: ended_since_run(s, run_id, subject_id),
        }
        for name, read in readers.items():
            counting = _ScanCounting(store.con)
            read(replace(store, con=counting))
            out[name] = counting.rows
        return out
    finally:
        store.con.execute("PRAGMA disable_profiling")


@pytest.mark.slow
def test_a_read_of_one_run_does_not_grow_with_the_runs_stored(example: Any) -> None:
    # Each reader of a run, stored whole or as its changes, reads it through store.run_rows, each scan filtered by a
    # constant run id: the views' filter on run_id did not reach their second branch, whose anti join read run_own of
    # every delta run stored (and a run stored whole read through the views paid that anti join too).
    store, base, _ = example
    loaded = builtin_policy("beijing")
    previous = base["beijing"]
    first = score(store, loaded, EX_AS_OF + dt.timedelta(days=1), incremental=True, base_run_id=previous)
    assert store.one("SELECT root_run_id FROM score_runs WHERE run_id = ?", [first.run_id]) == previous
    subject = str(store.one("SELECT min(subject_id) FROM run_own WHERE run_id = ?", [first.run_id]))
    before = _rows_read(store, first.run_id, subject)
    whole_before = _rows_read(store, base["beijing"], subject)
    previous = first.run_id
    for day in (2, 3):
        later = score(store, loaded, EX_AS_OF + dt.timedelta(days=day), incremental=True, base_run_id=previous)
        assert store.one("SELECT count(*) FROM run_own WHERE run_id = ?", [later.run_id]) > 0
        previous = later.run_id
    score(store, loaded, EX_AS_OF + dt.timedelta(days=3))
    after = _rows_read(store, first.run_id, subject)
    whole_after = _rows_read(store, base["beijing"], subject)
    assert whole_after == whole_before
    assert after == before
    assert all(before.values()) and all(whole_before.values())


class _ScansByStatement:
    """A store's connection that keeps, for every statement, the rows each table scan hands on (DuckDB's profile),
    by the table's name."""

    def __init__(self, con: Any) -> None:
        self.con = con
        self.statements: list[tuple[str, dict[str, int]]] = []

    def execute(self, sql: str, params: Any = None) -> Any:
        cur = self.con.execute(sql, params) if params is not None else self.con.execute(sql)
        tables: dict[str, int] = {}
        _scans(json.loads(self.con.get_profiling_information(format="json")), tables)
        self.statements.append((sql, tables))
        return cur

    def __getattr__(self, name: str) -> Any:
        return getattr(self.con, name)


def _scans(node: dict[str, Any], tables: dict[str, int]) -> None:
    if node.get("operator_type") == "TABLE_SCAN":
        name = str(node.get("extra_info", {}).get("Table", "")).rsplit(".", 1)[-1].strip('"')
        tables[name] = tables.get(name, 0) + int(node.get("operator_cardinality", 0))
    for child in node.get("children", []):
        _scans(child, tables)


def test_a_delta_run_scores_its_own_subjects_reading_them_alone(example: Any) -> None:
    # The local scores of a delta run read its own subjects (sc_own carries the columns they need) and their rule
    # points: they scanned every subject of sc_subjects and kept the own ones (a million rows at city, for 161
    # thousand), the largest part of the stage that grew with the population.
    store, base, _ = example
    loaded = builtin_policy("beijing")
    as_of = EX_AS_OF + dt.timedelta(days=1)
    counting = _ScansByStatement(store.con)
    store.con.execute("PRAGMA enable_profiling = 'no_output'")
    try:
        delta = score(
            replace(store, con=counting), loaded, as_of, incremental=True, base_run_id=base["beijing"], max_share=1.0
        )
    finally:
        store.con.execute("PRAGMA disable_profiling")
    full = score(store, loaded, as_of)
    assert store.one("SELECT root_run_id FROM score_runs WHERE run_id = ?", [delta.run_id]) == base["beijing"]
    _same_as_full(store, delta.run_id, full.run_id)
    own = store.one("SELECT count(*) FROM run_own WHERE run_id = ?", [delta.run_id])
    points = store.one("SELECT count(*) FROM run_points_rows WHERE run_id = ?", [delta.run_id])
    assert 0 < own < full.subjects
    local = [tables for sql, tables in counting.statements if re.search(r"\bsc_\w+_local\b AS\b", sql)]
    assert len(local) == 1
    # each table by the logical name it stands for (the caller's prefix taken off)
    scanned = {re.sub(r"^sc_[0-9a-f]+_", "sc_", name): rows for name, rows in local[0].items()}
    assert scanned == {"sc_own": own, "sc_rule_points": points}
