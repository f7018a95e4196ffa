"""Decisions from the in-memory snapshot agree with the registry's decisions and are all logged as inquiries."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from due_world import score_on_its_day
from socialcredit.compiler import ScorePlan
from socialcredit.errors import DecisionError, IdentifierError, NotFoundError
from socialcredit.example import AS_OF, write_example
from socialcredit.registry.decisions import actions
from socialcredit.registry.decisions.decide import decide
from socialcredit.registry.decisions.snapshot import Snapshot
from socialcredit.registry.due_process.listings import effective_results
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.store import Store, open_store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    folder = tmp_path_factory.mktemp("snap")
    files = write_example(folder, residents=120)
    st = open_store(folder / "s.duckdb", create=True, key="")
    ingest_file(st, files.subjects, "civil_affairs", today=AS_OF)
    for source, path in files.sources.items():
        ingest_file(st, path, source, today=AS_OF)
    # A blacklisting takes effect after its notice's grace period (60 days in Beijing): score before and after it.
    score_on_its_day(st, resolve_policy(st, "beijing"), AS_OF - dt.timedelta(days=61))
    score_on_its_day(st, resolve_policy(st, "beijing"), AS_OF)
    return st


@pytest.mark.slow
def test_snapshot_agrees_with_the_registry_for_every_subject_and_service(store: Store) -> None:
    snap = Snapshot.load(store, "beijing")
    subjects = snap.subject_ids
    for service in ("high_speed_rail", "bank_loan", "deposit_free_rental", "rail_priority"):
        fast = snap.decide_many(subjects, service, "check", requester="test")
        slow = [decide(store, s, service, "check", requester="test", policy_id="beijing").granted for s in subjects]
        assert fast.tolist() == slow
    refused = int((~snap.decide_many(subjects, "high_speed_rail", "check", requester="t")).sum())
    # Only effective listings refuse; those still in their notice period do not.
    blacklisted = store.one(
        "SELECT count(DISTINCT subject_id) FROM listings WHERE policy_id = 'beijing' AND list_id = 'blacklist' "
        "AND status = 'effective'"
    )
    assert refused == blacklisted > 0


def test_every_snapshot_decision_becomes_an_inquiry_on_flush(store: Store) -> None:
    snap = Snapshot.load(store, "beijing")
    before = store.one("SELECT count(*) FROM inquiries")
    one = snap.subject_ids[0]
    d = snap.decide(one, "high_speed_rail", "ticket purchase", requester="railway")
    snap.decide_many(snap.subject_ids[:5], "flight", "boarding", requester="airline")
    assert store.one("SELECT count(*) FROM inquiries") == before  # buffered until flush
    assert snap.flush(store) == 6
    rows = store.rows(
        "SELECT requester, subject_id, service, purpose, outcome, run_id FROM inquiries "
        "ORDER BY inquiry_id DESC LIMIT 6"
    )
    assert rows[-1] == {
        "requester": "railway",
        "subject_id": one,
        "service": "high_speed_rail",
        "purpose": "ticket purchase",
        "outcome": "granted" if d.granted else "refused",
        "run_id": snap.run_id,
    }
    assert {r["requester"] for r in rows[:5]} == {"airline"}
    assert snap.flush(store) == 0


def test_snapshot_refuses_what_the_registry_refuses(store: Store, tmp_path: Path) -> None:
    snap = Snapshot.load(store, "beijing")
    with pytest.raises(DecisionError, match="a purpose is required"):
        snap.decide(snap.subject_ids[0], "high_speed_rail", " ", requester="x")
    with pytest.raises(NotFoundError, match="offers no service 'teleport'"):
        snap.decide(snap.subject_ids[0], "teleport", "p", requester="x")
    with pytest.raises(NotFoundError, match="was not scored"):
        snap.decide_many(["110105199001011237"], "flight", "p", requester="x")


def test_the_registry_and_a_snapshot_decide_a_number_as_typed_and_refuse_an_invalid_one_alike(store: Store) -> None:
    """`socialcredit decide` (the registry) and the service (a snapshot) find `…x` and a number with spaces as the
    stored `…X`, and name a number no one can have as invalid, with the field: neither says `not scored`."""
    snap = Snapshot.load(store, "beijing", explain=True)
    sid = next(s for s in snap.subject_ids if s.endswith("X"))
    for typed in (sid[:-1] + "x", f"{sid[:6]} {sid[6:]}"):
        fast = snap.decision(typed, "high_speed_rail", "check", requester="t").as_dict()
        slow = decide(store, typed, "high_speed_rail", "check", requester="t", policy_id="beijing").as_dict()
        assert fast["subject_id"] == slow["subject_id"] == sid
        assert (fast["granted"], fast["tier"]) == (slow["granted"], slow["tier"])
    message = f"resident identity number '{sid[:-1]}0' has check character '0'; expected 'X'"
    with pytest.raises(IdentifierError, match=message) as fast_error:
        snap.decision(sid[:-1] + "0", "high_speed_rail", "check", requester="t")
    with pytest.raises(IdentifierError, match=message) as slow_error:
        decide(store, sid[:-1] + "0", "high_speed_rail", "check", requester="t", policy_id="beijing")
    assert fast_error.value.field == slow_error.value.field == "subject_id"
    with pytest.raises(NotFoundError, match="subject 110101199001011237 was not scored in run"):
        snap.decision("110101199001011237", "high_speed_rail", "check", requester="t")
    with pytest.raises(NotFoundError, match="no registered subject '110101199001011237'"):
        decide(store, "110101199001011237", "high_speed_rail", "check", requester="t", policy_id="beijing")


def test_a_quick_decision_finds_and_refuses_a_number_as_a_full_one_does(store: Store) -> None:
    """`Snapshot.decide` (the quick decision, no reasons) finds `…x` as the stored `…X`, names a number no one can
    have as invalid with its field, and says an unscored one in both languages, as `Snapshot.decision` does (it said
    "not scored" in English alone, of an invalid number too)."""
    snap = Snapshot.load(store, "beijing")
    sid = next(s for s in snap.subject_ids if s.endswith("X"))
    typed = snap.decide(sid[:-1] + "x", "high_speed_rail", "check", requester="t")
    assert typed == snap.decide(sid, "high_speed_rail", "check", requester="t")
    with pytest.raises(IdentifierError, match=f"'{sid[:-1]}0' has check character '0'; expected 'X'") as invalid:
        snap.decide(sid[:-1] + "0", "high_speed_rail", "check", requester="t")
    assert invalid.value.field == "subject_id"
    with pytest.raises(NotFoundError) as unscored:
        snap.decide("110101199001011237", "high_speed_rail", "check", requester="t")
    assert str(unscored.value) == f"subject 110101199001011237 was not scored in run {snap.run_id}"
    assert unscored.value.said_in("zh") == f"第 {snap.run_id} 次评分没有主体 110101199001011237"


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_full_decisions_from_memory_equal_the_registrys_with_every_reason(store: Store, lang: str) -> None:
    snap = Snapshot.load(store, "beijing", explain=True)
    for service in ("high_speed_rail", "bank_loan", "rail_priority"):
        for sid in snap.subject_ids:
            fast = snap.decision(sid, service, "check", requester="test", lang=lang).as_dict()
            slow = decide(store, sid, service, "check", requester="test", policy_id="beijing", lang=lang).as_dict()
            slow.pop("inquiry_id")
            fast.pop("inquiry_id")
            # the concrete actions name the subject's records: only the registry's own path (the subject's view)
            # computes them; the snapshot answers relying parties, who never get them
            assert fast.pop("actions") == []
            slow.pop("actions")
            assert fast == slow
    snap.flush(store)


def test_the_record_contributions_a_refusal_reads_are_built_once_for_a_policy_and_date(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A registry decision refused for its score names the records that would cure it from the policy's record
    contributions, whose SQL was built and printed again at every such refusal (it cost more than the query): it is
    built once per policy text, catalog and as-of date."""
    built: list[dt.date] = []
    explained: list[str] = []
    plan_of = ScorePlan.record_contributions
    contributions_of = actions._contributions
    monkeypatch.setattr(ScorePlan, "record_contributions", lambda plan: built.append(plan.as_of) or plan_of(plan))
    monkeypatch.setattr(actions, "_contributions", lambda *a: explained.append(a[3]) or contributions_of(*a))
    subjects = Snapshot.load(store, "beijing").subject_ids
    for service in ("bank_loan", "high_speed_rail", "deposit_free_rental", "rail_priority"):
        for sid in subjects:
            if len(explained) < 2:
                decide(store, sid, service, "check", requester="test", policy_id="beijing")
    assert len(explained) == 2  # two refusals that read the records' contributions
    assert len(built) <= 1  # built for the first at most (once in the process for beijing as of the run's date)


def test_the_reasons_held_are_the_run_reasons_view_for_every_subject(store: Store) -> None:
    """The snapshot ranks each subject's reasons by key and rule index; they are the view run_reasons' rows, for
    subjects with more rules than reasons and with points tied in size (ranked by rule id)."""
    snap = Snapshot.load(store, "beijing", explain=True)
    view: dict[str, list[tuple[str, float]]] = {}
    for sid, rule_id, points in store.execute(
        "SELECT subject_id, rule_id, points FROM run_reasons WHERE run_id = ? ORDER BY subject_id, position",
        [snap.run_id],
    ).fetchall():
        view.setdefault(sid, []).append((rule_id, points))
    held = {sid: snap.reasons_of(i) for i, sid in enumerate(snap.subject_ids)}
    assert held == {sid: view.get(sid, []) for sid in snap.subject_ids}
    nonzero = store.execute(
        "SELECT subject_id, count(*) AS n, count(DISTINCT abs(points)) AS sizes FROM run_rule_points "
        "WHERE run_id = ? AND points <> 0 GROUP BY subject_id",
        [snap.run_id],
    ).fetchall()
    assert any(n > 4 for _, n, _ in nonzero)  # more rules than reasons: cut at four
    assert any(sizes < n for _, n, sizes in nonzero)  # two points of one size: ranked by rule id


def test_a_snapshot_without_explanations_refuses_full_decisions(store: Store) -> None:
    snap = Snapshot.load(store, "beijing")
    with pytest.raises(RuntimeError, match="loaded without explanations"):
        snap.decision(snap.subject_ids[0], "high_speed_rail", "check", requester="t")


def test_a_subject_is_found_by_a_binary_search_of_the_sorted_identifiers(store: Store) -> None:
    snap = Snapshot.load(store, "beijing")
    ids = list(snap.subject_ids)
    assert len(snap) == len(ids) == len(set(ids)) > 100 and ids == sorted(ids)
    assert snap.subject_ids[-1] == ids[-1] and snap.subject_ids[2:5] == ids[2:5]
    assert [snap.row_of(s) for s in ids] == list(range(len(ids)))
    strangers = ["110105199001011237", ids[0] + "X", ids[0][:-1], ids[0] + "\x00", "é" * 3, ""]
    asked = ids[::-1] + strangers + ids[:3]
    assert snap.rows_of(asked).tolist() == list(range(len(ids)))[::-1] + [-1] * len(strangers) + [0, 1, 2]
    assert all(snap.row_of(s) is None for s in strangers)
    assert snap.rows_of([]).tolist() == []
    # an Arrow array of scored identifiers (a query's answer), in any order: searched sorted, answered in its order
    import pyarrow as pa

    shuffled = ids[1::2][::-1] + ids[::2]
    assert snap._rows_of_array(pa.array(shuffled)).tolist() == [ids.index(s) for s in shuffled]
    with pytest.raises(ValueError, match="did not score"):
        snap._rows_of_array(pa.array([ids[2], ids[0] + "X", ids[1]]))
    with pytest.raises(ValueError, match="did not score"):
        snap._rows_of_array(pa.array([ids[2], ids[0][:-1] + "Z", ids[1]]))
    with pytest.raises(NotFoundError, match=f"subject {ids[0]}X was not scored in run {snap.run_id}"):
        snap.decide_many([ids[1], ids[0] + "X", "é"], "flight", "p", requester="x")
    # the arrays are writable, indexed by row: a subject's grants can be patched in place
    row = snap.row_of(ids[3])
    assert row is not None
    snap.grants[row] = 0
    assert not snap.decide(ids[3], "high_speed_rail", "p", requester="x").granted
    assert not snap.decide_many([ids[3]], "high_speed_rail", "p", requester="x")[0]


def test_a_run_is_written_in_subject_order_so_a_snapshot_loads_with_a_plain_scan(store: Store) -> None:
    """run_results rows are written in subject order; read without ORDER BY (one thread or several), they come back
    in that order, and a snapshot of a run written in another order sorts it itself."""
    run_id = int(store.one("SELECT max(run_id) FROM score_runs"))
    ids = [r[0] for r in store.execute("SELECT subject_id FROM run_results_rows WHERE run_id = ?", [run_id]).fetchall()]
    assert len(ids) > 100 and ids == sorted(ids)
    # an older run, written in another order: the snapshot sorts its rows (every column alike)
    shuffled = run_id + 1000
    store.execute(
        "INSERT INTO score_runs SELECT * REPLACE (? AS run_id) FROM score_runs WHERE run_id = ?", [shuffled, run_id]
    )
    store.execute(
        "INSERT INTO run_results_rows SELECT * REPLACE (? AS run_id) FROM run_results WHERE run_id = ? "
        "ORDER BY subject_id DESC",
        [shuffled, run_id],
    )
    try:
        run = store.rows("SELECT * FROM score_runs WHERE run_id = ?", [run_id])[0]
        older = store.rows("SELECT * FROM score_runs WHERE run_id = ?", [shuffled])[0]
        a, b = Snapshot(store, run), Snapshot(store, older)
        assert list(b.subject_ids) == list(a.subject_ids) == ids
        assert (b.scores.tolist(), b.grants.tolist()) == (a.scores.tolist(), a.grants.tolist())
        assert [b.effective_lists(i) for i in range(len(b))] == [a.effective_lists(i) for i in range(len(a))]
        assert b.histogram.equals(a.histogram)
    finally:
        store.execute("DELETE FROM run_results_rows WHERE run_id = ?", [shuffled])
        store.execute("DELETE FROM score_runs WHERE run_id = ?", [shuffled])


def test_the_histogram_is_counted_from_the_arrays_as_the_store_counts_it(store: Store) -> None:
    snap = Snapshot.load(store, "beijing")
    expected = store.execute(
        "SELECT kind, score, count(*) AS n FROM run_results WHERE run_id = ? GROUP BY ALL ORDER BY ALL", [snap.run_id]
    ).to_arrow_table()
    assert snap.histogram.num_rows > 10 and snap.histogram.equals(expected)
    assert sum(snap.histogram.column("n").to_pylist()) == len(snap)


def test_kinds_read_as_numbers_equal_the_stored_names_and_one_unknown_kind_is_read_by_name(store: Store) -> None:
    """The load reads each subject's kind as its place among the known kinds; a kind outside them (an older or
    extended store) makes it read the names instead: the kinds, old scores and histogram are the store's either way."""
    run_id = int(store.one("SELECT max(run_id) FROM score_runs WHERE policy_id = 'beijing'"))
    stored = store.execute(
        "SELECT subject_id, kind, score FROM run_results WHERE run_id = ? ORDER BY subject_id", [run_id]
    ).fetchall()
    snap = Snapshot.load(store, "beijing")
    assert snap.kinds.to_pylist() == [k for _, k, _ in stored]
    assert {"person", "org"} == set(snap.kinds.to_pylist())
    assert snap.old_scores([stored[0][0], stored[-1][0]]) == {s: (k, v) for s, k, v in (stored[0], stored[-1])}
    other = stored[3][0]
    store.execute("UPDATE run_results_rows SET kind = 'trust' WHERE run_id = ? AND subject_id = ?", [run_id, other])
    try:
        odd = Snapshot.load(store, "beijing")
        assert odd.kinds.to_pylist() == [("trust" if s == other else k) for s, k, _ in stored]
        assert odd.old_scores([other]) == {other: ("trust", stored[3][2])}
        expected = store.execute(
            "SELECT kind, score, count(*) AS n FROM run_results WHERE run_id = ? GROUP BY ALL ORDER BY ALL", [run_id]
        ).to_arrow_table()
        assert odd.histogram.equals(expected) and "trust" in odd.histogram.column("kind").to_pylist()
    finally:
        store.execute(
            "UPDATE run_results_rows SET kind = ? WHERE run_id = ? AND subject_id = ?", [stored[3][1], run_id, other]
        )


def test_subjects_in_their_notice_period_keep_their_grants_and_lose_the_list_in_a_snapshot(store: Store) -> None:
    """A blacklisting not yet effective: the snapshot grants what the list would refuse and shows the lists without
    it, for exactly the subjects the store's query names (found by row, with no object per subject)."""
    run = store.rows("SELECT * FROM score_runs WHERE run_id = (SELECT max(run_id) FROM score_runs)")[0]
    listed = [
        r[0]
        for r in store.execute(
            "SELECT listing_id FROM listings WHERE status = 'effective' AND list_id = 'blacklist' ORDER BY 1 LIMIT 3"
        ).fetchall()
    ]
    assert len(listed) == 3
    store.execute("UPDATE listings SET status = 'pending' WHERE list_contains(?, listing_id)", [listed])
    try:  # three blacklistings back in their notice period
        snap = Snapshot(store, run)
        adjusted = effective_results(store, run).to_pylist()
    finally:
        store.execute("UPDATE listings SET status = 'effective' WHERE list_contains(?, listing_id)", [listed])
    assert 1 <= len(adjusted) <= 3
    expected = {r["subject_id"]: (r["lists"], r["grants"]) for r in adjusted}
    for i, sid in enumerate(snap.subject_ids):
        lists = snap.effective_lists(i)
        assert lists == (expected[sid][0] if sid in expected else None)
        if sid in expected:
            assert "blacklist" not in lists and int(snap.grants[i]) == expected[sid][1]
            assert snap.decide(sid, "high_speed_rail", "p", requester="t").granted
    assert Snapshot(store, run).effective_lists(snap.row_of(next(iter(expected)))) is None


def test_identifiers_of_any_length_become_fixed_width_bytes_in_order() -> None:
    import pyarrow as pa

    from socialcredit.registry.decisions.snapshot import _fixed_width

    words = ["b", "abc", "", "ab", "abcd", "é"]
    for array in (pa.array(words), pa.array(words, pa.large_string()), pa.array(["zz", *words])[1:]):
        keys = _fixed_width(array)
        assert keys.dtype.itemsize == 4
        assert [k.decode() for k in keys.tolist()] == words
    same = _fixed_width(pa.array(["110105199001011237", "91110000600037341L"]))
    assert same.tolist() == [b"110105199001011237", b"91110000600037341L"]


def _plain(store: Store, run: dict[str, object]) -> dict[str, object]:
    """What a snapshot of ``run`` holds, read the plain way: one sorted query, the effective results by identifier."""
    rows = store.execute(
        "SELECT subject_id, kind, score, tier_rank, grants FROM run_results WHERE run_id = ? ORDER BY subject_id",
        [run["run_id"]],
    ).fetchall()
    adjusted = {r["subject_id"]: r for r in effective_results(store, run).to_pylist()}
    return {
        "ids": [r[0] for r in rows],
        "kinds": [r[1] for r in rows],
        "scores": [r[2] for r in rows],
        "tier_ranks": [r[3] for r in rows],
        "grants": [adjusted[r[0]]["grants"] if r[0] in adjusted else r[4] for r in rows],
        "lists": [adjusted[r[0]]["lists"] if r[0] in adjusted else None for r in rows],
    }


def _held(snap: Snapshot) -> dict[str, object]:
    return {
        "ids": list(snap.subject_ids),
        "kinds": snap.kinds.to_pylist(),
        "scores": snap.scores.tolist(),
        "tier_ranks": snap.tier_ranks.tolist(),
        "grants": snap.grants.tolist(),
        "lists": [snap.effective_lists(i) for i in range(len(snap))],
    }


@pytest.mark.parametrize("batch_rows", [7, 122_880])
@pytest.mark.parametrize("explain", [False, True])
def test_a_snapshot_read_batch_by_batch_holds_what_the_plain_query_reads(
    store: Store, monkeypatch: pytest.MonkeyPatch, batch_rows: int, explain: bool
) -> None:
    """The results read a batch at a time into arrays of the whole run equal one sorted query's, for persons and
    organisations, a kind the load does not know, subjects in their notice period and with an effective listing, a
    run written out of order whose identifiers are of several lengths (later batches wider than the first), and a
    load inside a transaction (its effective lists then read on the same connection, which sees its changes)."""
    import socialcredit.registry.decisions.snapshot as snapshot_module

    monkeypatch.setattr(snapshot_module, "BATCH_ROWS", batch_rows)
    run = store.rows("SELECT * FROM score_runs WHERE run_id = (SELECT max(run_id) FROM score_runs)")[0]
    odd = int(run["run_id"]) + 2000
    store.execute(
        "INSERT INTO score_runs SELECT * REPLACE (? AS run_id) FROM score_runs WHERE run_id = ?", [odd, run["run_id"]]
    )
    # identifiers 18 to 20 bytes long, the shortest read first (rows written in descending order), one kind unknown
    store.execute(
        "INSERT INTO run_results_rows SELECT * REPLACE (? AS run_id, subject_id || repeat('z', (2 - (row_number() OVER "
        "(ORDER BY subject_id) - 1) * 3 // (count(*) OVER ()))::INTEGER) AS subject_id) FROM run_results "
        "WHERE run_id = ? ORDER BY subject_id DESC",
        [odd, run["run_id"]],
    )
    store.execute(
        "UPDATE run_results_rows SET kind = 'trust' WHERE run_id = ? AND subject_id = "
        "(SELECT min(subject_id) FROM run_results WHERE run_id = ? AND kind = 'org')",
        [odd, odd],
    )
    listed, blacklisted = store.execute(
        "SELECT listing_id, subject_id FROM listings WHERE status = 'effective' AND list_id = 'blacklist' "
        "ORDER BY 1 LIMIT 1"
    ).fetchone()
    try:
        older = store.rows("SELECT * FROM score_runs WHERE run_id = ?", [odd])[0]
        widths = {len(s) for s in _plain(store, older)["ids"]}  # type: ignore[union-attr]
        assert widths == {18, 19, 20}
        held = {}
        for each in (run, older):
            held[each["run_id"]] = _held(Snapshot(store, each, explain=explain))
            assert held[each["run_id"]] == _plain(store, each)
            assert {"person", "org"} <= set(held[each["run_id"]]["kinds"])  # type: ignore[arg-type]
        # the effective blacklisting refuses as the run did; in the odd run no identifier has a listing
        ids = held[run["run_id"]]["ids"]
        assert held[run["run_id"]]["lists"][ids.index(blacklisted)] is None  # type: ignore[index,union-attr]
        assert sum(x is not None for x in held[odd]["lists"]) > 0  # type: ignore[union-attr]
        assert "trust" in held[odd]["kinds"]  # type: ignore[operator]
        # inside a transaction: a blacklisting put back in its notice period there is seen by the load
        with store.transaction():
            store.execute("UPDATE listings SET status = 'pending' WHERE listing_id = ?", [listed])
            inside, plain = _held(Snapshot(store, run, explain=explain)), _plain(store, run)
            store.execute("UPDATE listings SET status = 'effective' WHERE listing_id = ?", [listed])
        assert inside == plain and inside != _held(Snapshot(store, run))
    finally:
        store.execute("DELETE FROM run_results_rows WHERE run_id = ?", [odd])
        store.execute("DELETE FROM score_runs WHERE run_id = ?", [odd])


def test_the_order_check_compares_whole_identifiers_as_bytes() -> None:
    import numpy as np

    from socialcredit.registry.decisions.snapshot import _increasing

    for width in (1, 2, 3, 7, 8, 9, 18, 20):
        base = [bytes([65 + (i // 7) % 26]) * (width - 1) + bytes([48 + i % 7]) for i in range(40)]
        keys = np.array(sorted(set(base)), dtype=f"S{width}")
        assert _increasing(keys) and _increasing(keys[:1]) and _increasing(keys[:0])
        assert not _increasing(keys[::-1])
        for i in (0, len(keys) // 2, len(keys) - 2):  # two equal neighbours, or two swapped, anywhere
            same, swapped = keys.copy(), keys.copy()
            same[i + 1] = same[i]
            swapped[[i, i + 1]] = swapped[[i + 1, i]]
            assert not _increasing(same) and not _increasing(swapped)
    # a shorter identifier is padded with NUL: it sorts before the longer ones it begins
    assert _increasing(np.array([b"91", b"91A", b"91B"], dtype="S3"))
    assert not _increasing(np.array([b"91A", b"91"], dtype="S3"))


def _reasons_held(snap: Snapshot) -> dict[str, list[tuple[str, float]]]:
    return {sid: snap.reasons_of(i) for i, sid in enumerate(snap.subject_ids)}


def test_a_run_writes_its_subjects_keys_in_the_order_of_its_results_and_an_older_run_is_explained_alike(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """run_result_keys holds the subject key of each row of run_results, in its order; a snapshot finds each row's
    rule points, written by subject key, with it. A run without them (written before migration 40, or in a store
    opened read-only before it: no table) searches the identifiers as before, and a run whose rows are put in order
    at the load puts its keys alike; a run whose points lie in the order of its results (written before they were
    written by key), or in no order, is explained alike: the same reasons each way, the view's, for subjects with
    no points, more rules than reasons and points tied in size."""
    import socialcredit.registry.decisions.snapshot as snapshot_module

    run_id = int(store.one("SELECT max(run_id) FROM score_runs"))
    written = [
        r[0] for r in store.execute("SELECT subject_key FROM run_result_keys WHERE run_id = ?", [run_id]).fetchall()
    ]
    expected = store.execute(
        "SELECT k.subject_key FROM run_results r JOIN subject_keys k USING (subject_id) WHERE r.run_id = ? "
        "ORDER BY r.subject_id",
        [run_id],
    ).fetchall()
    assert written == [r[0] for r in expected] and len(written) == len(set(written)) > 100
    # its rule points by subject key, each subject's by rule index, as a plain scan reads them (not in the order of
    # the results: the keys are not in the identifiers' order)
    row_of = {key: row for row, key in enumerate(written)}
    points = store.execute("SELECT subject_key, rule_index FROM run_points WHERE run_id = ?", [run_id]).fetchall()
    assert points == sorted(points) and len(points) > 100
    assert [(row_of[k], i) for k, i in points] != sorted((row_of[k], i) for k, i in points)

    searched: list[int] = []
    search = Snapshot._rows_of_identifiers

    def spy(self: Snapshot, st: Store) -> object:
        searched.append(self.run_id)
        return search(self, st)

    monkeypatch.setattr(snapshot_module.Snapshot, "_rows_of_identifiers", spy)
    snap = Snapshot.load(store, "beijing", explain=True)
    assert searched == []
    assert snap._reason_slot is not None and not snap._reasons_ranked  # found by key, ranked per decision
    held = _reasons_held(snap)
    view: dict[str, list[tuple[str, float]]] = {sid: [] for sid in snap.subject_ids}
    for sid, rule_id, points in store.execute(
        "SELECT subject_id, rule_id, points FROM run_reasons WHERE run_id = ? ORDER BY subject_id, position", [run_id]
    ).fetchall():
        view[sid].append((rule_id, points))
    assert held == view
    assert any(not r for r in held.values())  # a subject with no points has no reasons
    assert any(len(r) == 4 for r in held.values())
    sample = snap.subject_ids[::7]
    decisions = [snap.decision(s, "high_speed_rail", "check", requester="t").as_dict() for s in sample]

    store.execute("CREATE TABLE kept_keys AS SELECT * FROM run_result_keys WHERE run_id = ?", [run_id])
    store.execute("DELETE FROM run_result_keys_rows WHERE run_id = ?", [run_id])
    try:
        older = Snapshot.load(store, "beijing", explain=True)  # a run written before its keys were
        assert searched == [run_id] and _reasons_held(older) == held
        assert [older.decision(s, "high_speed_rail", "check", requester="t").as_dict() for s in sample] == decisions
        store.execute("ALTER TABLE run_result_keys_rows RENAME TO run_result_keys_away")
        try:  # a store before migration 40 (opened read-only, not migrated): no table
            assert _reasons_held(Snapshot.load(store, "beijing", explain=True)) == held and len(searched) == 2
        finally:
            store.execute("ALTER TABLE run_result_keys_away RENAME TO run_result_keys_rows")
    finally:
        store.execute("INSERT INTO run_result_keys_rows SELECT * FROM kept_keys")
        store.execute("DROP TABLE kept_keys")

    def copy_run(copy_id: int) -> None:
        store.execute(
            "INSERT INTO score_runs SELECT * REPLACE (? AS run_id) FROM score_runs WHERE run_id = ?", [copy_id, run_id]
        )
        for table in ("run_rules", "run_list_entries"):
            copy = f"INSERT INTO {table} SELECT * REPLACE (? AS run_id) FROM {table} WHERE run_id = ?"
            store.execute(copy, [copy_id, run_id])

    def drop_run(copy_id: int) -> None:
        for table in ("run_results_rows", "run_rules", "run_points_rows", "run_list_entries", "run_result_keys_rows"):
            store.execute(f"DELETE FROM {table} WHERE run_id = ?", [copy_id])
        store.execute("DELETE FROM score_runs WHERE run_id = ?", [copy_id])

    # a run written before its points were written by key: in the order of its results, each subject's by rule
    # index; found by row, as they lie
    by_row = run_id + 2000
    copy_run(by_row)
    for table in ("run_results_rows", "run_result_keys_rows"):  # as the run lies in the tables
        store.execute(
            f"INSERT INTO {table} SELECT * REPLACE (? AS run_id) FROM {table} WHERE run_id = ?", [by_row, run_id]
        )
    store.execute(
        "INSERT INTO run_points_rows SELECT p.* REPLACE (? AS run_id) FROM run_points p "
        "JOIN (SELECT subject_key, rowid AS pos FROM run_result_keys_rows WHERE run_id = ?) k USING (subject_key) "
        "WHERE p.run_id = ? ORDER BY k.pos, p.rule_index",
        [by_row, run_id, run_id],
    )
    try:
        run = store.rows("SELECT * FROM score_runs WHERE run_id = ?", [by_row])[0]
        in_result_order = Snapshot(store, run, explain=True)
        assert in_result_order._reason_slot is None and not in_result_order._reasons_ranked
        assert _reasons_held(in_result_order) == held
        assert [in_result_order.decision(s, "high_speed_rail", "check", requester="t").as_dict() for s in sample] == [
            {**d, "run_id": by_row} for d in decisions
        ]
    finally:
        drop_run(by_row)

    # a run written out of byte order, its keys in the same order: both put in order at the load
    shuffled = run_id + 3000
    copy_run(shuffled)
    # its points in no order either (as runs wrote them before they were written in the order of the results)
    store.execute(
        "INSERT INTO run_points_rows SELECT * REPLACE (? AS run_id) FROM run_points WHERE run_id = ? "
        "ORDER BY hash(subject_key, rule_index)",
        [shuffled, run_id],
    )
    store.execute(
        "INSERT INTO run_results_rows SELECT * REPLACE (? AS run_id) FROM run_results WHERE run_id = ? "
        "ORDER BY subject_id DESC",
        [shuffled, run_id],
    )
    store.execute(
        "INSERT INTO run_result_keys_rows SELECT ?, k.subject_key FROM run_results r "
        "JOIN subject_keys k USING (subject_id) "
        "WHERE r.run_id = ? ORDER BY r.subject_id DESC",
        [shuffled, run_id],
    )
    try:
        run = store.rows("SELECT * FROM score_runs WHERE run_id = ?", [shuffled])[0]
        out_of_order = Snapshot(store, run, explain=True)
        assert list(out_of_order.subject_ids) == list(snap.subject_ids) and len(searched) == 2
        assert out_of_order._reasons_ranked and out_of_order._reason_slot is None  # sorted by the store
        assert _reasons_held(out_of_order) == held
        assert [out_of_order.decision(s, "high_speed_rail", "check", requester="t").as_dict() for s in sample] == [
            {**d, "run_id": shuffled} for d in decisions
        ]
    finally:
        drop_run(shuffled)


def test_an_explained_snapshot_holds_every_column_of_every_result_as_stored(store: Store) -> None:
    """The text columns a snapshot holds as arrays (identifiers, kinds) are not read twice: a decision's result takes
    them from the arrays, the others from the Arrow table read beside; every row equals the stored one, column by
    column and in the table's order (grants as the run wrote them, before listings)."""
    from socialcredit.registry.decisions.snapshot import _value

    snap = Snapshot.load(store, "beijing", explain=True)
    stored = store.rows("SELECT * FROM run_results WHERE run_id = ? ORDER BY subject_id", [snap.run_id])
    assert snap.results is not None and not {"subject_id", "kind"} & set(snap.results.column_names)
    held = [{name: _value(col, i) for name, col in snap._columns.items()} for i in range(len(snap))]
    assert [list(r) for r in held[:1]] == [list(r) for r in stored[:1]]
    assert held == stored
