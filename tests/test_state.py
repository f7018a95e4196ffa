"""The scoring state (registry/scoring/state.py) against the records it stands for.

A run that reads the kept state and one that reads the records (``from_records=True``) must give the same rows in
every column of run_results, run_rule_points, run_list_entries and run_reasons:

* on the shipped example (whose states were built by its first runs and then kept through a later batch), under
  beijing and sesame, at dates before, at and after the example's as-of date;
* after each kind of change, one at a time, on a copy of that example: a correction, a withdrawal, a dispute under
  a policy that does not count disputed records while open (filed, then closed each way), an approved repair, a
  consent withdrawn, a profession changed, the purge of expired records.

After every change the kept state must equal a state built afresh: the same multiset of rows (subject_id, item,
event_date, record_key), ``score_states.rows`` counting the table, the watermark at the store's latest change.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scoring_helpers import (
    AS_OF,
    EX_AS_OF,
    amount_rule,
    build_example_store,
    make_policy,
    open_registry,
    person,
    run_differences,
    tax,
    write_csv,
)
from socialcredit.compiler import ScorePlan
from socialcredit.errors import NotFoundError
from socialcredit.policy import LoadedPolicy, builtin_policy
from socialcredit.registry.due_process import disputes, repair
from socialcredit.registry.due_process.retention import purge_expired
from socialcredit.registry.due_process.severity import matching
from socialcredit.registry.records.consent import set_consent
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.registry.records.versions import withdraw_record
from socialcredit.registry.reporting.report import record_fields
from socialcredit.registry.scoring.inputs import prepare_inputs
from socialcredit.registry.scoring.policies import publish_policy
from socialcredit.registry.scoring.runs import RunSummary, score
from socialcredit.registry.scoring.state import catch_up, check_state, list_states, state_info
from socialcredit.store import Store, open_store

POLICIES = ("beijing", "sesame")
# The later batch of the example was sent 400 days after its as-of date; the changes below are made that day.
LATER = EX_AS_OF + dt.timedelta(days=400)


# --------------------------------------------------------------------------------------------------------
# Comparing a run from the state with a run from the records; the kept state with a fresh build
# --------------------------------------------------------------------------------------------------------
def compare_runs(store: Store, loaded: LoadedPolicy, as_of: dt.date) -> RunSummary:
    """Score from the state and from the records; they must agree row for row. Returns the run from the state."""
    kept = score(store, loaded, as_of)
    records = score(store, loaded, as_of, from_records=True)
    assert (kept.source, records.source) == ("state", "records")
    assert run_differences(store, kept.run_id, records.run_id) == []
    assert (kept.subjects, kept.list_counts) == (records.subjects, records.list_counts)
    return kept


def _quoted(name: str) -> str:
    return '"' + name + '"'


def kept_rows(store: Store, loaded: LoadedPolicy) -> Counter[tuple[Any, ...]]:
    info = state_info(store, loaded)
    assert info is not None
    rows = store.execute(f"SELECT subject_id, item, event_date, record_key FROM {_quoted(info.table_name)}")
    return Counter(tuple(r) for r in rows.fetchall())


def fresh_rows(store: Store, loaded: LoadedPolicy, watermark: int) -> Counter[tuple[Any, ...]]:
    """The rows of a state built afresh from the records at ``watermark`` (the compiler's state_matches)."""
    plan = ScorePlan(loaded, as_of=EX_AS_OF)
    with prepare_inputs(store, loaded, watermark) as inputs:
        return Counter(tuple(r) for r in inputs.execute(plan.state_matches()).fetchall())


def current_seq(store: Store) -> int:
    return int(store.one("SELECT value FROM counters WHERE name = 'seq'"))


def assert_state_is_fresh(store: Store, loaded: LoadedPolicy) -> None:
    """The kept state, caught up, equals a fresh build: same rows (as a multiset), counted, at the latest change."""
    catch_up(store)
    info = state_info(store, loaded)
    assert info is not None
    assert info.watermark == current_seq(store)
    kept, fresh = kept_rows(store, loaded), fresh_rows(store, loaded, info.watermark)
    assert (kept - fresh, fresh - kept) == (Counter(), Counter())
    assert info.rows == sum(kept.values()) > 0


# --------------------------------------------------------------------------------------------------------
# The shipped example: states kept through the later batch
# --------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """The store file of the example with its later batch (both states built by the base runs, kept since), and a
    run of each policy as of the example's date that the change tests compare with."""
    folder = tmp_path_factory.mktemp("example")
    store, _ = build_example_store(folder)
    reference = {p: score(store, builtin_policy(p), EX_AS_OF).run_id for p in POLICIES}
    store.execute("CHECKPOINT")
    store.close()
    return folder / "example.duckdb", reference


def _open_copy(pristine: tuple[Path, dict[str, int]], folder: Path) -> Store:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(pristine[0], folder / "example.duckdb")
    return open_store(folder / "example.duckdb")


@pytest.fixture(scope="module")
def example_store(pristine: tuple[Path, dict[str, int]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """One copy of the example for the comparisons at several dates (they add runs, never change the inputs)."""
    store = _open_copy(pristine, tmp_path_factory.mktemp("dates"))
    yield store
    store.close()


@pytest.fixture
def world(pristine: tuple[Path, dict[str, int]], tmp_path: Path) -> Iterator[Store]:
    """A copy of the example of its own, for one change."""
    store = _open_copy(pristine, tmp_path / "world")
    yield store
    store.close()


@pytest.fixture
def reference(pristine: tuple[Path, dict[str, int]]) -> dict[str, int]:
    """The run of each policy as of the example's date before any change (in every copy)."""
    return pristine[1]


@pytest.mark.parametrize("days", [-200, 0, 1, 30, 400])
@pytest.mark.parametrize("policy_id", POLICIES)
def test_a_run_from_the_state_equals_a_run_from_the_records(example_store: Store, policy_id: str, days: int) -> None:
    loaded = builtin_policy(policy_id)
    before = state_info(example_store, loaded)
    assert before is not None  # built by the base run, kept through the later batch: no rebuild here
    run = compare_runs(example_store, loaded, EX_AS_OF + dt.timedelta(days=days))
    assert run.subjects == (312 if policy_id == "beijing" else 300)  # sesame scores persons only
    after = state_info(example_store, loaded)
    assert after is not None and after.built_at == before.built_at


def test_the_states_kept_through_the_later_batch_equal_fresh_builds(example_store: Store) -> None:
    assert [(s.policy_id, s.policy_version) for s in list_states(example_store)] == [
        ("beijing", "2026.1"),
        ("sesame", "2026.1"),
    ]
    for policy_id in POLICIES:
        assert_state_is_fresh(example_store, builtin_policy(policy_id))


# --------------------------------------------------------------------------------------------------------
# One change at a time
# --------------------------------------------------------------------------------------------------------
def _counting(store: Store, where: str, *params: Any) -> list[dict[str, Any]]:
    """Latest versions, not withdrawn, dated by the example's as-of date, of the records that meet ``where``
    (constant SQL on ``r``, the record, and ``s``, its subject), in record order."""
    return store.rows(
        "SELECT r.* FROM records r JOIN current_subjects s USING (subject_id) "
        "WHERE NOT r.withdrawn AND r.event_date <= ? AND " + where + " "
        "QUALIFY r.version = max(r.version) OVER (PARTITION BY r.source_id, r.record_id) ORDER BY r.record_key",
        [EX_AS_OF, *params],
    )


def _defaulter_judgment(store: Store) -> dict[str, Any]:
    """A person's unfulfilled judgment as a defaulter: -200 and the blacklist under sesame, listed under beijing."""
    rows = _counting(
        store,
        "r.record_type = 'court_judgment' AND r.defaulter AND r.status = 'unfulfilled' AND s.kind = 'person' "
        "AND r.event_date > DATE '2024-01-01'",
    )
    assert rows
    return rows[0]


def _send(store: Store, folder: Path, source: str, rows: list[dict[str, Any]]) -> None:
    report = ingest_file(store, write_csv(folder / f"{source}-{current_seq(store)}.csv", rows), source, today=LATER)
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


def _compare_after(
    store: Store, reference: dict[str, int], changed: tuple[str, ...], policies: tuple[str, ...] = POLICIES
) -> None:
    """Under each policy both sources agree, and the state equals a fresh build; the change did change the results
    (against the reference run before it) under the policies ``changed``, and only under them."""
    for policy_id in policies:
        loaded = builtin_policy(policy_id)
        run = compare_runs(store, loaded, EX_AS_OF)
        moved = run_differences(store, reference[policy_id], run.run_id, ("run_results", "run_rule_points"))
        assert bool(moved) == (policy_id in changed), (policy_id, moved)
        assert_state_is_fresh(store, loaded)


def test_a_correction(world: Store, reference: dict[str, int], tmp_path: Path) -> None:
    judgment = _defaulter_judgment(world)
    # Another person's record moves to the judgment's subject: a correction may change whose record it is.
    ticket = _counting(world, "r.record_type = 'traffic_ticket' AND r.subject_id <> ?", judgment["subject_id"])
    _send(world, tmp_path, "courts", [_record_row(judgment, status="fulfilled", correction="true")])
    _send(
        world,
        tmp_path,
        "traffic_police",
        [_record_row(ticket[0], subject_id=judgment["subject_id"], correction="true")],
    )
    _compare_after(world, reference, changed=POLICIES)


def test_a_withdrawal(world: Store, reference: dict[str, int]) -> None:
    judgment = _defaulter_judgment(world)
    withdraw_record(world, "courts", judgment["record_id"], actor="courts", today=LATER)
    _compare_after(world, reference, changed=POLICIES)


@pytest.mark.parametrize("outcome", ["verified", "corrected", "withdrawn", "lapsed"])
def test_a_dispute_while_open_and_once_closed(
    world: Store, reference: dict[str, int], tmp_path: Path, outcome: str
) -> None:
    """sesame does not count a disputed record while its dispute is open; beijing does."""
    assert not builtin_policy("sesame").policy.disputes.counts_while_open
    assert builtin_policy("beijing").policy.disputes.counts_while_open
    judgment = _defaulter_judgment(world)
    filed = disputes.file_dispute(
        world, judgment["subject_id"], "courts", judgment["record_id"], "Paid", actor="resident", today=LATER
    )
    _compare_after(world, reference, changed=("sesame",), policies=("sesame",))  # beijing: nothing is held

    if outcome == "lapsed":
        assert disputes.lapse_overdue(world, LATER + dt.timedelta(days=31)) == [filed["dispute_id"]]
    else:
        if outcome == "corrected":
            _send(world, tmp_path, "courts", [_record_row(judgment, status="fulfilled", correction="true")])
        disputes.answer_dispute(world, filed["dispute_id"], outcome, "Checked.", "courts", today=LATER)
    assert disputes.get_dispute(world, filed["dispute_id"])["status"] == outcome
    # verified: the record counts again, as before the dispute; otherwise it no longer counts under either policy
    _compare_after(world, reference, changed=() if outcome == "verified" else POLICIES)


def test_an_approved_repair(world: Store, reference: dict[str, int]) -> None:
    judgment = _defaulter_judgment(world)
    subject, record_id = judgment["subject_id"], judgment["record_id"]
    on = dt.date(2031, 1, 1)  # past every minimum publication period
    repair.report_fulfilment(world, "courts", record_id, fulfilled_on=on, actor="courts", today=on)
    applied = repair.apply_for_repair(world, subject, "courts", record_id, "Paid in full", "resident", today=on)
    decided = repair.decide_repair(world, applied["repair_id"], "approved", "Paid.", "operator", today=on)
    assert decided["status"] == "approved"
    _compare_after(world, reference, changed=POLICIES)


def test_a_consent_withdrawn(world: Store, reference: dict[str, int]) -> None:
    """sesame counts commercial records only with consent (until 2027-07-01); beijing reads none."""
    rows = world.rows(
        "SELECT c.subject_id FROM current_consents c JOIN records r USING (subject_id) "
        "WHERE c.category = 'commercial' AND c.granted AND r.record_type = 'platform_repayment' "
        "AND r.event_date <= ? ORDER BY 1 LIMIT 1",
        [EX_AS_OF],
    )
    set_consent(world, rows[0]["subject_id"], "commercial", False)
    _compare_after(world, reference, changed=("sesame",))


def test_a_profession_changed(world: Store, reference: dict[str, int], tmp_path: Path) -> None:
    """A subject with a record that a sector rule of beijing counts is sent again with another profession."""
    beijing = builtin_policy("beijing")
    sector = {f"rule:{r.id}": r.professions or [] for r in beijing.policy.rules if r.professions}
    types = sorted({r.record_type for r in beijing.policy.rules if r.professions})
    candidates = _counting(world, "list_contains(?, r.record_type)", types)
    record, professions = next(
        (r, sector[lim.key]) for r in candidates for lim in matching(beijing, r) if lim.key in sector
    )
    subject = world.rows("SELECT * FROM current_subjects WHERE subject_id = ?", [record["subject_id"]])[0]
    profession = "retail" if subject["profession"] in professions else professions[0]
    row = {k: subject[k] for k in ("subject_id", "name", "district")} | {"profession": profession}
    _send(world, tmp_path, "civil_affairs", [row])
    _compare_after(world, reference, changed=("beijing",))


def test_a_purge(world: Store) -> None:
    """The purge deletes the records no policy in use can count any more, without a change number: their rows
    leave the kept states with them; runs as of a date when they still counted agree."""
    past = EX_AS_OF - dt.timedelta(days=200)
    before = {p: score(world, builtin_policy(p), past).run_id for p in POLICIES}
    assert purge_expired(world, LATER)["records"] > 1000
    for policy_id in POLICIES:
        loaded = builtin_policy(policy_id)
        run = compare_runs(world, loaded, past)
        assert run_differences(world, before[policy_id], run.run_id, ("run_results", "run_rule_points")) != []
        assert_state_is_fresh(world, loaded)


def test_check_state_names_every_difference_from_a_fresh_build(world: Store) -> None:
    sesame = builtin_policy("sesame")
    consenting = world.one("SELECT min(subject_id) FROM current_consents WHERE granted")
    set_consent(world, consenting, "commercial", False)  # a change with nothing to fold: the state is one behind
    unfolded = check_state(world, sesame, fold=False)
    assert (unfolded["ok"], unfolded["behind"]) == (True, 1)
    checked = check_state(world, sesame)
    assert (checked["ok"], checked["behind"], checked["missing"], checked["extra"], checked["by_item"]) == (
        True,
        0,
        0,
        0,
        {},
    )
    assert checked["rows"] == checked["rows_recorded"] == checked["fresh_rows"] > 0

    info = state_info(world, sesame)
    assert info is not None
    table = _quoted(info.table_name)
    items = {i.index: i.condition_key for i in ScorePlan(sesame, as_of=EX_AS_OF).state_items()}
    first, last = (
        world.rows(f"SELECT * FROM {table} ORDER BY record_key {order}, item {order} LIMIT 1")[0]
        for order in ("ASC", "DESC")
    )
    # One row lost, another kept twice: the same count of rows, two differences.
    world.execute(f"DELETE FROM {table} WHERE record_key = ? AND item = ?", [first["record_key"], first["item"]])
    world.execute(
        f"INSERT INTO {table} SELECT * FROM {table} WHERE record_key = ? AND item = ?",
        [
            last["record_key"],
            last["item"],
        ],
    )
    tampered = check_state(world, sesame)
    assert (tampered["ok"], tampered["missing"], tampered["extra"]) == (False, 1, 1)
    assert tampered["by_item"] == (
        {items[first["item"]]: {"missing": 1, "extra": 1}}
        if first["item"] == last["item"]
        else {items[first["item"]]: {"missing": 1, "extra": 0}, items[last["item"]]: {"missing": 0, "extra": 1}}
    )
    assert tampered["rows"] == tampered["rows_recorded"] == tampered["fresh_rows"]
    # The rows restored, but the count of score_states wrong: not ok either.
    world.execute(f"DELETE FROM {table} WHERE record_key = ? AND item = ?", [last["record_key"], last["item"]])
    world.execute(f"INSERT INTO {table} VALUES (?, ?, ?, ?)", list(first.values()))
    world.execute(f"INSERT INTO {table} VALUES (?, ?, ?, ?)", list(last.values()))
    assert check_state(world, sesame)["ok"]
    world.execute("UPDATE score_states SET rows = rows + 1 WHERE policy_sha256 = ?", [sesame.sha256])
    miscounted = check_state(world, sesame)
    assert (miscounted["ok"], miscounted["missing"], miscounted["extra"]) == (False, 0, 0)
    assert miscounted["rows_recorded"] == miscounted["rows"] + 1


def test_a_policy_version_not_published_gets_no_state_and_ingest_goes_on(tmp_path: Path) -> None:
    """Every batch folds each kept state under its published text: a state of a version never published would
    make every later batch fail, so none is built (a run of it is refused, as the registry needs it published)."""
    reg = open_registry(tmp_path)
    try:
        reg.register({person(1): None})
        loaded = make_policy(amount_rule("ten", 5, 10))
        with pytest.raises(NotFoundError, match=r"^policy test 1 is not published with this text"):
            score(reg.store, loaded, AS_OF)
        assert list_states(reg.store) == []
        assert reg.send("tax_bureau", [tax("T1", person(1), "2025-06-01", amount=10)]).accepted == 1
        publish_policy(reg.store, loaded)
        run = score(reg.store, loaded, AS_OF)
        assert run.source == "state" and reg.points(run.run_id, person(1), "ten") == 5.0
    finally:
        reg.store.close()
