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

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relation_world import role
from socialcredit.identifiers import make_uscc
from socialcredit.registry.decisions.live import _changed_among, changes
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
