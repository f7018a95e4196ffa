"""``live._changed_among`` finds, among the subjects a console's decision or report asks about, exactly those a live
pass rescores (``live.changes``: a subject whose own inputs changed, or one relation away from one that did),
reading only their rows and their relations' (what ``views_since_run`` asks instead of every change since the run).

Random streams of records, corrections (one moving a record to another subject), withdrawals, consents, disputes
and their answers, repairs, registrations and role records (a person's role in the stream's organisation, or in one
never registered) on the property tests' small registry (tests/test_state.py), then random windows (since, until]
between the stream's steps and random sets of subjects asked.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relation_world import role
from socialcredit.identifiers import make_uscc
from socialcredit.registry.decisions.live import _changed_among, changes
from socialcredit.registry.due_process import disputes, repair
from socialcredit.registry.records.consent import set_consent
from socialcredit.registry.scoring.policies import publish_policy
from test_state import (
    PERSONS,
    PROPERTY_AS_OF,
    SUBJECTS,
    Stream,
    current_seq,
    operations,
    property_policy,
    rows_st,
    template,
)

__all__ = ["template"]  # the fixture, used below by name

ELSEWHERE = make_uscc("91110105000000002")  # an organisation never registered, named by role records only
ASKABLE = [*SUBJECTS, ELSEWHERE]

# a role record: its number (a later one with the same number corrects it), the person, which organisation, ended
roles_st = st.tuples(
    st.just("role"),
    st.integers(0, 3),
    st.integers(0, len(PERSONS) - 1),
    st.sampled_from([SUBJECTS[-1], ELSEWHERE]),
    st.booleans(),
)


def _role(stream: Stream, number: int, person: int, company: str, ended: bool) -> None:
    start = (PROPERTY_AS_OF.replace(year=2020)).isoformat()
    end = PROPERTY_AS_OF.replace(year=2025).isoformat() if ended else ""
    sent = stream.store.one("SELECT count(*) FROM records WHERE record_id = ?", [f"O{number}"])
    row = role(f"O{number}", PERSONS[person], company, "director", start, end)
    report = stream.reg.ingest(
        "registration_authority", [{**row, "correction": "true" if sent else "", "certified": "true" if sent else ""}]
    )
    assert not report.errors, report.errors


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    first=rows_st,
    ops=st.lists(st.one_of(operations, roles_st), min_size=1, max_size=10),
    data=st.data(),
)
def test_the_changed_among_the_asked_are_those_a_live_pass_finds(
    template: Path, first: list[tuple[int, int, int, int, bool]], ops: list[tuple[Any, ...]], data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        stream = Stream(Path(folder), template)
        store = stream.store
        try:
            publish_policy(store, property_policy("all", False, None))  # what a repair is asked under
            marks = [current_seq(store)]
            stream.send(first)
            marks.append(current_seq(store))
            for op in ops:
                if op[0] == "role":
                    _role(stream, *op[1:])
                elif op[0] not in ("purge", "rebuild", "catch_up"):  # no change of inputs a pass rescores
                    stream.apply(op)
                marks.append(current_seq(store))
            for _ in range(4):
                since = data.draw(st.sampled_from(marks), label="since")
                until = data.draw(st.sampled_from([m for m in marks if m >= since]), label="until")
                asked = data.draw(st.lists(st.sampled_from(ASKABLE), max_size=4, unique=True), label="asked")
                everyone = set(changes(store, since, until).subjects)
                assert _changed_among(store, since, until, asked) == everyone & set(asked)
                # asked about everyone, it finds every changed subject the stream can name
                assert _changed_among(store, since, until, ASKABLE) == everyone & set(ASKABLE)
        finally:
            store.close()


# One change of each kind, alone in the window (since, until], with the exact subjects expected: each fails if the
# matching clause of ``_CHANGED_AMONG`` or step of ``_changed_among`` is dropped (what 15 random streams may miss).
P0, P1, P2 = PERSONS[0], PERSONS[1], PERSONS[2]
ORG = SUBJECTS[-1]


def _step(stream: Stream, op: tuple[Any, ...]) -> None:
    """One change, made directly (``Stream.apply`` records hypothesis events, which a plain test may not)."""
    kind, *args = op
    store, on = stream.store, PROPERTY_AS_OF
    if kind == "send":
        stream.send(args[0])
    elif kind == "role":
        _role(stream, *args)
    elif kind == "dispute":  # a dispute of the judgment ``args[0]`` of ``args[1]``
        disputes.file_dispute(store, args[1], "courts", args[0], "Wrong.", actor="resident", today=on)
    elif kind == "answer":
        dispute_id = store.one("SELECT dispute_id FROM disputes WHERE status = 'open'")
        disputes.answer_dispute(store, dispute_id, args[0], "Answer.", "source", today=on)
    elif kind == "ask_repair":  # a repair asked for (the judgment fulfilled), not yet decided
        repair.report_fulfilment(store, "courts", args[0], actor="source", today=on)
        repair.apply_for_repair(store, args[1], "courts", args[0], "Done.", "resident", today=on)
    elif kind == "decide_repair":
        repair_id = store.one("SELECT repair_id FROM repairs WHERE status = 'pending'")
        repair.decide_repair(store, repair_id, "approved", "Yes.", "operator", today=on)
    elif kind == "consent":
        set_consent(store, args[0], "commercial", args[1])
    else:
        assert kind == "profession"
        stream.reg.send(
            "civil_affairs", [{"subject_id": args[0], "name": "某人", "district": "朝阳区", "profession": args[1]}]
        )


def _window(
    template: Path, folder: str, before: list[tuple[Any, ...]], within: list[tuple[Any, ...]]
) -> tuple[Any, int, int]:
    """A stream with ``before`` applied, then ``within``: its store and the window (since, until] of ``within``."""
    stream = Stream(Path(folder), template)
    publish_policy(stream.store, property_policy("all", False, None))
    for op in before:
        _step(stream, op)
    since = current_seq(stream.store)
    for op in within:
        _step(stream, op)
    return stream.store, since, current_seq(stream.store)


CASES = {
    # a dispute opened before the window and answered inside it
    "dispute answered": (
        [("send", [(4, 0, 10, 0, False)]), ("dispute", "R4", P0)],
        [("answer", "verified")],
        [P0, P1],
        {P0},
    ),
    # a correction moving a record from P0 to P1, asked about the subject it left
    "record moved away": ([("send", [(0, 0, 10, 1, False)])], [("send", [(0, 1, 10, 1, False)])], [P0, P2], {P0}),
    # a repair asked for before the window, decided inside it
    "repair decided": (
        [("send", [(4, 0, 800, 0, False)]), ("ask_repair", "R4", P0)],
        [("decide_repair",)],
        [P0, P1],
        {P0},
    ),
    # a re-registration changing a profession, alone
    "profession": ([], [("profession", P0, "retail")], [P0, P1], {P0}),
    # a consent withdrawn, alone
    "consent": ([], [("consent", P1, False)], [P1, P2], {P1}),
    # a person's role in the organisation ended, asked about the organisation only
    "role ended": ([("role", 0, 0, ORG, False)], [("role", 0, 0, ORG, True)], [ORG], {ORG}),
    # a person's role in the organisation added, asked about the person only (and one not related)
    "role added": ([], [("role", 1, 2, ORG, False)], [P2, P1], {P2}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_kind_of_change_alone_is_found_among_the_asked(template: Path, case: str) -> None:
    before, within, asked, expected = CASES[case]
    with tempfile.TemporaryDirectory() as folder:
        store, since, until = _window(template, folder, before, within)
        try:
            assert until > since
            assert set(changes(store, since, until).subjects) & set(asked) == expected
            assert _changed_among(store, since, until, asked) == expected
        finally:
            store.close()
