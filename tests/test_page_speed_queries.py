"""The queries behind the resident's records page, the printable file and the operator's file, as changed for speed
(issue 18): the same rows as before, read by the subject's key (found through the identifier index of store
migration 28), on the due-process world (tests/due_world.py) with a correction, a record moved to another subject by
a correction, a withdrawal and an open dispute.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from due_world import JUDGMENT, A, B, C, ingest, score_on_its_day, write_csv
from due_world import built as build_world
from record_helpers import statements
from socialcredit.clock import resolve_today
from socialcredit.errors import NotFoundError
from socialcredit.identifiers import make_ric
from socialcredit.registry.due_process.disputes import file_dispute
from socialcredit.registry.records.versions import withdraw_record
from socialcredit.registry.relations import OwnedRelations
from socialcredit.registry.reporting.history import score_history
from socialcredit.registry.reporting.listing_details import negative_records
from socialcredit.registry.reporting.report import subject_report
from socialcredit.registry.reporting.resident_file import export_file
from socialcredit.registry.scoring.inputs import prepare_inputs
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.state import index_states
from socialcredit.store import Store
from store_copies import copy_of

D = dt.date

# negative_records as it read the records before: by the identifier's text, the latest version of each record
OLD_NEGATIVE_ROWS = (
    "SELECT source_id, record_id, version FROM (SELECT *, max(version) OVER (PARTITION BY source_id, record_id) "
    "AS latest FROM records WHERE subject_id = ?) WHERE version = latest AND NOT withdrawn ORDER BY 1, 2"
)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """The world of _world, built once per process (for the registry's today, which the runs are made on when it is
    before their dates) and copied: each test has a store of its own."""
    return copy_of(tmp_path, f"page-speed-queries@{resolve_today()}", _world, db="due.duckdb")


def _world(tmp_path: Path) -> Store:
    """The world, then: J1 corrected (a second version, still A's), K1 corrected from C to A (moved), X1 withdrawn
    (C's), T1 disputed by B, and Beijing scored on 2026-02-01 and 2026-04-02."""
    s = build_world(tmp_path)
    corrected = [
        ["J1", A, "court_judgment", "2026-01-10", "civil", "15000", "unfulfilled", "true", "true"],
        ["K1", A, "court_judgment", "2019-03-01", "civil", "5000", "unfulfilled", "false", "true"],
    ]
    header = [*JUDGMENT, "correction"]
    ingest(s, write_csv(tmp_path / "courts2.csv", header, corrected), "courts", D(2026, 1, 20))
    withdraw_record(s, "tax_bureau", "X1", actor="test", today=D(2026, 2, 2))
    # filed 2026-03-20, due by 2026-04-19: still open at the run of 2026-04-02 (a dispute overdue by a run's date
    # lapses before the run reads)
    file_dispute(s, B, "traffic_police", "T1", "It was not my car.", actor="test", today=D(2026, 3, 20))
    score_on_its_day(s, resolve_policy(s, "beijing"), D(2026, 2, 1))
    score_on_its_day(s, resolve_policy(s, "beijing"), D(2026, 4, 2))
    return s


def test_the_world_has_what_the_queries_must_get_right(store: Store) -> None:
    versions = store.rows(
        "SELECT record_id, subject_id, version, withdrawn FROM records WHERE record_id IN ('J1', 'K1', 'X1') "
        "ORDER BY 1, 3"
    )
    assert [(r["record_id"], r["subject_id"], r["version"], r["withdrawn"]) for r in versions] == [
        ("J1", A, 1, False),
        ("J1", A, 2, False),
        ("K1", C, 1, False),
        ("K1", A, 2, False),
        ("X1", C, 1, False),
        ("X1", C, 2, True),
    ]


@pytest.mark.parametrize("who", [A, B, C])
def test_negative_records_from_the_file_s_rows_are_those_read_by_identifier(store: Store, who: str) -> None:
    rows: list[dict[str, Any]] = []
    subject_report(store, who, parts=("records",), record_rows=rows)
    from_file = negative_records(store, who, rows)
    assert from_file == negative_records(store, who)  # read again, by the subject's key
    old = store.rows(OLD_NEGATIVE_ROWS, [who])
    assert set(from_file) <= {(r["source_id"], r["record_id"]) for r in old}


def test_negative_records_by_hand(store: Store) -> None:
    rows: list[dict[str, Any]] = []
    subject_report(store, A, parts=("records",), record_rows=rows)
    # J1 v1 is superseded and not handed on; K1 (moved to A) counts against A now, no longer against C
    assert sorted((r["record_id"], r["version"], r["superseded"]) for r in rows) == [
        ("J1", 1, True),
        ("J1", 2, False),
        ("K1", 2, False),
    ]
    assert negative_records(store, A, rows) == {
        ("courts", "J1"): {"severity": "serious", "ends_on": None},
        ("courts", "K1"): {"severity": "serious", "ends_on": "2026-02-27"},
    }
    # X1 withdrawn; K1's first version, the latest C holds, is superseded by the version that moved it to A: no
    # record of C's any more (the identifier's read, and the file until 2026-12-06, kept it as C's, to repair)
    assert negative_records(store, C) == {}
    assert [(r["record_id"], r["version"]) for r in store.rows(OLD_NEGATIVE_ROWS, [C])] == [("K1", 1)]
    assert negative_records(store, B) == {("traffic_police", "T1"): {"severity": "minor", "ends_on": "2027-02-01"}}


def test_the_file_s_runs_ranks_and_sizes_are_the_stored_ones(store: Store, tmp_path: Path) -> None:
    for who in (A, B, C):
        stored = store.rows(
            "SELECT score, tier, rank FROM run_results WHERE run_id = (SELECT max(run_id) FROM score_runs) "
            "AND subject_id = ?",
            [who],
        )
        [s] = subject_report(store, who, parts=("scores",))["scores"]
        assert [{"score": s["score"], "tier": s["tier"], "rank": s["rank"]}] == stored
        assert s["of"] == 3
    # a fourth resident, a new run: the size of a rank is the new run's, not the one read before
    d = make_ric("110105", D(1995, 1, 1), 44)
    ingest(
        store,
        write_csv(
            tmp_path / "more.csv", ["subject_id", "name", "district", "profession"], [[d, "赵六", "朝阳区", "retail"]]
        ),
        "civil_affairs",
        D(2026, 4, 3),
    )
    score_on_its_day(store, resolve_policy(store, "beijing"), D(2026, 4, 3))
    assert [s["of"] for s in subject_report(store, A, parts=("scores",))["scores"]] == [4]
    assert [s["of"] for s in subject_report(store, d, parts=("scores",))["scores"]] == [4]


def test_the_file_s_and_history_s_runs_are_every_run_of_the_subject(store: Store) -> None:
    plain = store.rows(
        "SELECT r.run_id, r.score, r.tier, r.rank FROM run_results r JOIN score_runs s USING (run_id) "
        "WHERE r.subject_id = ? ORDER BY r.run_id",
        [A],
    )
    assert len(plain) == 2
    exported = export_file(store, A)["run_results"]
    assert [{k: r[k] for k in ("run_id", "score", "tier", "rank")} for r in exported] == plain
    history = score_history(store, A)
    assert sorted(run["run_id"] for p in history["policies"] for run in p["runs"]) == [r["run_id"] for r in plain]


def test_an_unknown_subject_s_file_is_refused_before_any_audit(store: Store) -> None:
    before = store.one("SELECT count(*) FROM audit_log")
    with pytest.raises(NotFoundError, match=r"^no registered subject '110105199901019999'$"):
        export_file(store, "110105199901019999")
    assert store.one("SELECT count(*) FROM audit_log") == before


def test_the_indexes_are_those_of_look_ups_by_subject_and_no_others(store: Store) -> None:
    # subject_keys is indexed by identifier; what a live pass reads by subject is indexed by subject (migration 39,
    # and each scoring state once the service serves it: registry/scoring/state.py); records and run results are
    # not (an index slows their writes)
    states = [str(t) for (t,) in store.execute("SELECT table_name FROM score_states").fetchall()]
    assert states  # the world is scored from its state
    by_subject = [
        ("consents", "consents_subject_id"),
        ("role_records", "role_records_org_id"),
        ("role_records", "role_records_role_key"),
        ("role_records", "role_records_subject_id"),
        ("role_records", "role_records_subject_key"),
        ("subject_keys", "subject_keys_subject_id"),
        ("subjects", "subjects_subject_key"),
    ]
    indexes = "SELECT table_name, index_name FROM duckdb_indexes() ORDER BY 1, 2"
    assert [(r["table_name"], r["index_name"]) for r in store.rows(indexes)] == by_subject
    assert index_states(store) == len(states)
    assert [(r["table_name"], r["index_name"]) for r in store.rows(indexes)] == sorted(
        by_subject + [(t, f"{t}_subject") for t in states]
    )


@pytest.mark.parametrize("who", [A, B, C])
def test_the_mine_relation_from_the_file_s_versions_is_the_one_read_from_records(store: Store, who: str) -> None:
    # every watermark at which some record of the world was written (before, between and after the corrections)
    marks = [int(w) for (w,) in store.execute("SELECT DISTINCT record_key FROM records ORDER BY 1").fetchall()]
    loaded = resolve_policy(store, "beijing")
    seen = set()
    with OwnedRelations(store, frozenset({"sc_versions"})) as owned:
        owned.create("sc_versions", "SELECT * FROM records WHERE subject_id = ?", [who])
        for w in [0, *marks]:
            got = []
            for versions in (None, owned.name("sc_versions")):
                with prepare_inputs(store, loaded, w, subject_id=who, versions=versions) as inputs:
                    got.append(
                        [
                            inputs.rows(f"SELECT * FROM {name} ORDER BY record_key")
                            for name in ("sc_mine", "sc_superseded", "sc_records")
                        ]
                    )
            assert got[0] == got[1]
            seen.add(len(got[0][0]))
    assert len(seen) > 1  # the watermark cut the subject's versions somewhere


@pytest.mark.parametrize("who", [A, B, C])
def test_a_file_without_points_lists_the_same_records(store: Store, who: str) -> None:
    full = subject_report(store, who, parts=("records",))["records"]
    named = subject_report(store, who, parts=("records",), points=False)["records"]
    # a record's listings are what it does under the runs, as its points are: a file without points reads neither
    assert [{**r, "status": None, "contribution": {}, "lists": []} for r in full] == [
        {**r, "status": None} for r in named
    ]
    assert any(r["lists"] for r in full) == (who == A)
    kept = ("superseded", "withdrawn", "repaired", "disputed")
    assert [r["status"] if r["status"] in kept else None for r in full] == [r["status"] for r in named]
    assert all(r["contribution"] == {} and r["lists"] == [] for r in named)


def test_a_file_without_points_reads_no_run(store: Store) -> None:
    with statements(store) as read:
        records = subject_report(store, B, parts=("records",), points=False)["records"]
    assert [(r["record_id"], r["status"]) for r in records] == [("T1", "disputed"), ("P1", None)]
    assert not [q for q in read if "run_results" in q or "_mine" in q]
    # the versions read once, by the subject's key; then which of them a later version names (prev_key), moved or not
    assert len([q for q in read if "FROM records WHERE subject_key" in q]) == 1
    assert len([q for q in read if "FROM records" in q]) == 2


def test_the_exported_file_s_scores_from_its_own_reads_are_the_report_s(store: Store) -> None:
    # the export hands the report the results and ranked rule points it read for itself; the report reads its own
    runs = [r["run_id"] for r in store.rows("SELECT run_id FROM score_runs ORDER BY run_id")]
    reasons = []
    for who in (A, B, C):
        exported = export_file(store, who)
        report = subject_report(store, who)
        assert exported["scores"] == report["scores"]
        assert exported["records"] == report["records"]
        assert [r["run_id"] for r in exported["run_results"]] == runs
        reasons.extend(r for s in report["scores"] for r in s["reasons"])
    assert reasons  # something to compare
