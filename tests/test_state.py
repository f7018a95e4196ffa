"""The scoring state (registry/scoring/state.py) against the records it stands for.

A run that reads the kept state and one that reads the records (``from_records=True``) must give the same rows in
every column of run_results, run_rule_points, run_list_entries and run_reasons:

* on the shipped example (whose states were built by its first runs and then kept through a later batch), under
  beijing and sesame, at dates before, at and after the example's as-of date;
* after each kind of change, one at a time, on a copy of that example: a correction, a withdrawal, a dispute under
  a policy that does not count disputed records while open (filed, then closed each way), an approved repair, a
  consent withdrawn, a profession changed, the purge of expired records;
* after random streams of all of these under a small policy that uses every feature of a rule and a list
  (hypothesis).

After every change the kept state must equal a state built afresh: the same multiset of rows (subject_id, item,
event_date, record_key, first_key), ``score_states.rows`` counting the table, the watermark at the store's latest
change.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from scoring_helpers import (
    AS_OF,
    EX_AS_OF,
    Registry,
    amount_rule,
    build_example_store,
    make_policy,
    open_registry,
    person,
    policy_text,
    run_differences,
    tax,
    write_csv,
)
from socialcredit.compiler import ScorePlan
from socialcredit.errors import ConflictError, NotFoundError
from socialcredit.identifiers import make_ric, make_uscc
from socialcredit.policy import LoadedPolicy, builtin_policy, parse_policy
from socialcredit.registry.due_process import disputes, repair
from socialcredit.registry.due_process.retention import purge_expired
from socialcredit.registry.due_process.severity import matching
from socialcredit.registry.records.consent import set_consent
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.registry.records.versions import withdraw_record
from socialcredit.registry.reporting.report import record_fields
from socialcredit.registry.scoring.inputs import prepare_inputs
from socialcredit.registry.scoring.policies import get_policy, publish_policy
from socialcredit.registry.scoring.runs import RunSummary, score
from socialcredit.registry.scoring.state import build_state, catch_up, check_state, list_states, state_info
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
    rows = store.execute(f"SELECT subject_id, item, event_date, record_key, first_key FROM {_quoted(info.table_name)}")
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
        ("beijing", "2026.2"),
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
        # An incremental run on the run from before the purge rescores the subjects whose records it deleted (they
        # have no change number; the purge notes them) and gives the full run's rows.
        purged = int(world.one("SELECT count(DISTINCT subject_key) FROM purged_subjects"))
        incremental = score(world, loaded, past, incremental=True, base_run_id=before[policy_id], max_share=1.0)
        assert incremental.mode == "incremental" and incremental.rescored >= purged > 0
        assert run_differences(world, incremental.run_id, run.run_id) == []


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
    world.execute(f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?)", list(first.values()))
    world.execute(f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?)", list(last.values()))
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


# --------------------------------------------------------------------------------------------------------
# Random streams of changes under a small policy that uses every feature of a rule and a list
# --------------------------------------------------------------------------------------------------------
def _reason(code: str) -> str:
    return f"reason: {{code: {code}, zh: 测试, en: test}}"


PROPERTY_RULES = f"""\
- id: tax.late
  record_type: tax_payment
  when: "status == 'late'"
  dimension: money
  points: -8
  decay: {{half_life_days: 90}}
  expires_after_days: 400
  severity: minor
  {_reason("TAX_LATE")}
- id: tax.paid
  record_type: tax_payment
  when: "status == 'paid'"
  dimension: money
  points: 3
  per: month
  window_days: 200
  cap: 10
  {_reason("TAX_PAID")}
- id: tax.paid_big
  record_type: tax_payment
  when: "status == 'paid' and amount >= 50"
  dimension: civic
  points: 2.5
  per: quarter
  {_reason("TAX_PAID_BIG")}
- id: sector.evaded
  record_type: tax_payment
  when: "status == 'evaded'"
  professions: [accounting]
  dimension: money
  points: -20
  severity: serious
  {_reason("SECTOR_EVADED")}
- id: volunteering
  record_type: volunteering
  dimension: civic
  points: 4
  per: year
  window_days: 730
  decay: {{half_life_days: 365}}
  {_reason("VOLUNTEERING")}
- id: shopping
  record_type: purchase
  when: "amount >= 10"
  dimension: civic
  points: 1.5
  window_days: 120
  cap: 4
  {_reason("SHOPPING")}
- id: platform.late
  record_type: platform_repayment
  when: "status != 'on_time'"
  dimension: money
  points: -6
  expires_after_days: 300
  severity: general
  {_reason("PLATFORM_LATE")}
- id: court
  record_type: court_judgment
  when: "status == 'unfulfilled'"
  dimension: civic
  points: -30
  decay: {{half_life_days: 200}}
  severity: serious
  {_reason("COURT")}
"""
PROPERTY_LISTS = f"""\
- id: blacklist
  kind: black
  name: {{zh: 黑名单, en: blacklist}}
  criteria:
    - id: defaulter
      record: {{record_type: court_judgment, when: "defaulter and status == 'unfulfilled'"}}
      severity: serious
      {_reason("LIST_DEFAULTER")}
    - id: evasion
      record: {{record_type: tax_payment, when: "status == 'evaded'", within_days: 90}}
      {_reason("LIST_EVASION")}
    - id: platform_default
      record: {{record_type: platform_repayment, when: "status == 'default'", within_days: 180}}
      {_reason("LIST_PLATFORM_DEFAULT")}
    - id: low_score
      when: "score < 85"
      {_reason("LIST_LOW")}
- id: redlist
  kind: red
  name: {{zh: 红名单, en: redlist}}
  criteria:
    - id: good
      when: "tier >= 'silver'"
      {_reason("LIST_GOOD")}
"""
PROPERTY_SERVICES = """\
- id: rail
  name: {zh: 高铁, en: rail}
  grant_if: "not blacklist"
  refusal: {zh: 拒绝, en: refused}
- id: loan
  name: {zh: 贷款, en: loan}
  grant_if: "tier >= 'silver' and not blacklist and money >= 0"
  refusal: {zh: 拒绝, en: refused}
- id: priority
  name: {zh: 优先, en: priority}
  grant_if: "redlist"
  refusal: {zh: 拒绝, en: refused}
"""
PROPERTY_AS_OF = dt.date(2026, 1, 1)  # the registry's date throughout a stream; every record is dated by then
PERSONS = [make_ric("110105", dt.date(1980 + i, 1, 1), 2 * i + 1) for i in range(4)]
SUBJECTS = [*PERSONS, make_uscc("91110105000000001")]  # the last one is an organisation
PROFESSIONS = [None, "accounting", "retail", "medical"]
# The records a stream may send, each of one source for good: R0 tax, R1 volunteering, R2 purchase, ...; a
# commercial platform's record may be sent (or corrected) as a purchase or a repayment.
RECORD_TYPES = ["tax_payment", "volunteering", "purchase", "platform_repayment", "court_judgment"]
SOURCES = {
    "tax_payment": "tax_bureau",
    "volunteering": "civil_affairs",
    "purchase": "commercial_platforms",
    "platform_repayment": "commercial_platforms",
    "court_judgment": "courts",
}
N_RECORDS = 10


def property_policy(kind: str, counts_while_open: bool, mandatory_from: dt.date | None) -> LoadedPolicy:
    consent = "categories: [commercial]\n" + (f"mandatory_from: {mandatory_from}\n" if mandatory_from else "")
    text = policy_text(
        PROPERTY_RULES, lists=PROPERTY_LISTS, services=PROPERTY_SERVICES, consent=consent, policy_id="prop"
    ).replace("kind: all\n", f"kind: {kind}\n", 1)
    text += f"disputes: {{counts_while_open: {str(counts_while_open).lower()}}}\n"
    return parse_policy(text, "prop.yaml")


def _fields(record_type: str, variant: int) -> dict[str, Any]:
    """The fields of a record of ``record_type``; ``variant`` picks among values that meet different conditions."""
    v = variant
    if record_type == "tax_payment":
        return {"amount": (10, 60, 150000)[v % 3], "status": ("paid", "late", "evaded")[v // 3 % 3]}
    if record_type == "volunteering":
        return {"hours": (1, 4)[v % 2]}
    if record_type == "purchase":
        return {"amount": (5, 50)[v % 2], "kind": "groceries"}
    if record_type == "platform_repayment":
        return {"amount": 100, "status": ("on_time", "late", "default")[v % 3]}
    return {
        "case_type": "civil",
        "amount": 1000,
        "status": ("unfulfilled", "fulfilled")[v % 2],
        "defaulter": ("true", "false")[v // 2 % 2],
    }


# A row of a batch: record number, subject number, age in days on PROPERTY_AS_OF, field variant, withdrawn.
rows_st = st.lists(
    st.tuples(
        st.integers(0, N_RECORDS - 1),
        st.integers(0, len(SUBJECTS) - 1),
        st.sampled_from([0, 1, 10, 45, 89, 90, 100, 200, 365, 500, 800]),
        st.integers(0, 8),
        st.sampled_from([False, False, False, True]),  # a withdrawal sent in the batch, now and then
    ),
    min_size=1,
    max_size=6,
)
operations = st.one_of(
    st.tuples(st.just("send"), rows_st),
    st.tuples(st.just("withdraw"), st.integers(0, N_RECORDS - 1)),
    st.tuples(st.just("dispute"), st.integers(0, N_RECORDS - 1)),
    st.tuples(st.just("close"), st.integers(0, 3), st.sampled_from(["verified", "corrected", "withdrawn", "lapsed"])),
    st.tuples(st.just("repair"), st.integers(0, N_RECORDS - 1)),
    st.tuples(st.just("consent"), st.integers(0, len(PERSONS) - 1), st.booleans()),
    st.tuples(st.just("profession"), st.integers(0, len(PERSONS) - 1), st.sampled_from(PROFESSIONS)),
    st.tuples(st.just("purge"), st.sampled_from([0, 120, 400, 900])),  # as of that many days after the stream's date
    st.tuples(st.just("catch_up")),
    st.tuples(st.just("rebuild")),
)
as_of_st = st.one_of(
    st.sampled_from([-400, -100, -1, 0, 1, 30, 89, 90, 120, 200, 400, 800]).map(
        lambda d: PROPERTY_AS_OF + dt.timedelta(days=d)
    ),
    st.dates(PROPERTY_AS_OF - dt.timedelta(days=900), PROPERTY_AS_OF + dt.timedelta(days=900)),
)


class Stream:
    """A copy of the template registry and the changes made to it, one operation at a time."""

    def __init__(self, folder: Path, template: Path) -> None:
        shutil.copyfile(template, folder / "registry.duckdb")
        self.reg = Registry(open_store(folder / "registry.duckdb"), folder, PROPERTY_AS_OF)
        self.store = self.reg.store

    def send(self, rows: list[tuple[int, int, int, int, bool]]) -> None:
        by_source: dict[str, list[dict[str, Any]]] = {}
        for number, subject, age, variant, withdrawn in rows:
            record_type = RECORD_TYPES[number % len(RECORD_TYPES)]
            if record_type in ("purchase", "platform_repayment") and variant >= 6:  # a correction may change it
                record_type = "platform_repayment" if record_type == "purchase" else "purchase"
            record_id = f"R{number}"
            sent = self.store.one("SELECT count(*) FROM records WHERE record_id = ?", [record_id])
            row = {
                "record_id": record_id,
                # organisations have tax payments and judgments only
                "subject_id": SUBJECTS[subject]
                if record_type in ("tax_payment", "court_judgment")
                else PERSONS[subject % len(PERSONS)],
                "record_type": record_type,
                "event_date": (PROPERTY_AS_OF - dt.timedelta(days=age)).isoformat(),
                **_fields(record_type, variant),
                "correction": "true" if sent else "",
                "certified": "true" if sent else "",
                "withdrawn": "true" if withdrawn else "",
            }
            rows_of = by_source.setdefault(SOURCES[record_type], [])
            rows_of[:] = [r for r in rows_of if r["record_id"] != record_id] + [row]  # one row per record a batch
        for source, batch in by_source.items():
            report = self.reg.ingest(source, batch)
            # refusals a stream may cause: correcting or withdrawing what was never sent or is withdrawn already
            assert {e.field for e in report.errors} <= {"record_id", "certified"}, report.errors

    def latest(self, number: int) -> dict[str, Any] | None:
        """The latest version of the ``number``-th record the registry holds (counting round), if it holds any."""
        ids = [r[0] for r in self.store.execute("SELECT DISTINCT record_id FROM records ORDER BY 1").fetchall()]
        if not ids:
            return None
        rows = self.store.rows(
            "SELECT * FROM records WHERE record_id = ? ORDER BY version DESC LIMIT 1", [ids[number % len(ids)]]
        )
        return rows[0]

    def apply(self, op: tuple[Any, ...]) -> None:
        kind, *args = op
        try:
            if kind == "send":
                self.send(args[0])
            elif kind in ("withdraw", "dispute", "repair"):
                record = self.latest(args[0])
                if record is None:
                    event(f"{kind}: no record yet")
                    return
                source, record_id, subject = record["source_id"], record["record_id"], record["subject_id"]
                if kind == "withdraw":
                    withdraw_record(self.store, source, record_id, actor="source", today=PROPERTY_AS_OF)
                elif kind == "dispute":
                    disputes.file_dispute(
                        self.store, subject, source, record_id, "Wrong.", actor="resident", today=PROPERTY_AS_OF
                    )
                else:
                    on = PROPERTY_AS_OF
                    repair.report_fulfilment(self.store, source, record_id, actor="source", today=on)
                    applied = repair.apply_for_repair(
                        self.store, subject, source, record_id, "Done.", "resident", today=on, policy_id="prop"
                    )
                    repair.decide_repair(self.store, applied["repair_id"], "approved", "Yes.", "operator", today=on)
            elif kind == "close":
                open_ = self.store.rows("SELECT dispute_id FROM disputes WHERE status = 'open' ORDER BY dispute_id")
                if not open_:
                    event("close: no open dispute")
                    return
                if args[1] == "lapsed":
                    disputes.lapse_overdue(self.store, PROPERTY_AS_OF + dt.timedelta(days=31))
                else:
                    dispute_id = open_[args[0] % len(open_)]["dispute_id"]
                    disputes.answer_dispute(self.store, dispute_id, args[1], "Answer.", "source", today=PROPERTY_AS_OF)
            elif kind == "consent":
                set_consent(self.store, PERSONS[args[0]], "commercial", args[1])
            elif kind == "profession":
                self.reg.send(
                    "civil_affairs",
                    [{"subject_id": PERSONS[args[0]], "name": "某人", "district": "朝阳区", "profession": args[1]}],
                )
            elif kind == "purge":
                purge_expired(self.store, PROPERTY_AS_OF + dt.timedelta(days=args[0]))
            elif kind == "catch_up":
                catch_up(self.store)
            elif kind == "rebuild":
                build_state(self.store, get_policy(self.store, "prop", "1"))
        except (ConflictError, NotFoundError):
            event(f"{kind}: refused")  # already disputed, nothing to repair, no correction yet, ...: no change
            return
        event(f"{kind}: done")


def expected_state(store: Store, loaded: LoadedPolicy, watermark: int) -> Counter[tuple[Any, ...]]:
    """The state worked out in Python, not in SQL: for the latest version of each record at ``watermark``, unless
    withdrawn or held by due process, a row per rule or list criterion whose condition it meets (the conditions
    evaluated by the policy's own evaluator, ``severity.matching``)."""
    held = {
        (r["source_id"], r["record_id"])
        for r in store.rows(
            "SELECT source_id, record_id FROM repairs WHERE status = 'approved' AND decided_seq <= ?", [watermark]
        )
    }
    if not loaded.policy.disputes.counts_while_open:
        held |= {
            (r["source_id"], r["record_id"])
            for r in store.rows(
                "SELECT source_id, record_id FROM disputes WHERE seq <= ? AND (closed_seq IS NULL OR closed_seq > ?)",
                [watermark, watermark],
            )
        }
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    # the key each record was first stored at: its first version's, or the version's after a withdrawal or a move
    # onto another subject (sent again, moved: first stored anew)
    first: dict[tuple[str, str], int] = {}
    for r in store.rows("SELECT * FROM records WHERE record_key <= ? ORDER BY version", [watermark]):
        key = (r["source_id"], r["record_id"])
        prev = latest.get(key)
        if prev is None or prev["withdrawn"] or prev["subject_key"] != r["subject_key"]:
            first[key] = r["record_key"]
        latest[key] = r
    items = {i.condition_key: i.index for i in ScorePlan(loaded, as_of=PROPERTY_AS_OF).state_items()}
    return Counter(
        (r["subject_key"], items[lim.key], r["event_date"], r["record_key"], first[key])
        for key, r in latest.items()
        if not r["withdrawn"] and key not in held
        for lim in matching(loaded, r)
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry with the stream's subjects registered (four persons, one organisation), copied by each example."""
    folder = tmp_path_factory.mktemp("template")
    reg = Registry(open_store(folder / "registry.duckdb", create=True), folder, PROPERTY_AS_OF)
    reg.register(dict(zip(SUBJECTS, [*PROFESSIONS, None], strict=True)))
    reg.store.execute("CHECKPOINT")
    reg.store.close()
    return folder / "registry.duckdb"


@pytest.mark.slow
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    kind=st.sampled_from(["all", "person"]),
    counts_while_open=st.booleans(),
    mandatory_from=st.sampled_from([None, PROPERTY_AS_OF - dt.timedelta(days=50), PROPERTY_AS_OF + dt.timedelta(30)]),
    first=rows_st,
    ops=st.lists(operations, min_size=1, max_size=8),
    dates=st.lists(as_of_st, min_size=2, max_size=3, unique=True),
)
def test_random_streams_of_changes_keep_the_state_equal_to_the_records(
    template: Path,
    kind: str,
    counts_while_open: bool,
    mandatory_from: dt.date | None,
    first: list[tuple[int, int, int, int, bool]],
    ops: list[tuple[Any, ...]],
    dates: list[dt.date],
) -> None:
    loaded = property_policy(kind, counts_while_open, mandatory_from)
    with tempfile.TemporaryDirectory() as folder:
        stream = Stream(Path(folder), template)
        store = stream.store
        try:
            stream.send(first)
            publish_policy(store, loaded)
            first_run = score(store, loaded, PROPERTY_AS_OF)  # the state is built here, then kept
            assert first_run.source == "state"
            for op in ops:
                stream.apply(op)
            for as_of in dates:
                full = compare_runs(store, loaded, as_of)
            # An incremental run from the state (every subject it finds changed computed, the rest merged from the
            # first run) equals the full one, after a purge too: the purge notes the subjects whose records it
            # deleted (purged_subjects), which have no change number of their own.
            incremental = score(store, loaded, as_of, incremental=True, base_run_id=first_run.run_id, max_share=1.0)
            assert (incremental.mode, incremental.source) == ("incremental", "state")
            assert run_differences(store, incremental.run_id, full.run_id) == []
            catch_up(store)
            info = state_info(store, loaded)
            assert info is not None and info.watermark == current_seq(store)
            kept = kept_rows(store, loaded)
            assert info.rows == sum(kept.values())
            expected = expected_state(store, loaded, info.watermark)
            assert (kept - expected, expected - kept) == (Counter(), Counter())
            fresh = fresh_rows(store, loaded, info.watermark)
            assert (fresh - expected, expected - fresh) == (Counter(), Counter())
        finally:
            store.close()
