"""The resident's own controls in the registry: a security freeze refuses freezable services with FROZEN unless a
lift covers the party or the day; a fraud alert adds "verify identity" for a year (seven with a police report).
The stored decision and the snapshot's paths (one decision, one quick decision, a batch) agree on any history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from due_world import A, B, C, build
from socialcredit.errors import NotFoundError, WorkflowError, WorkflowInputError
from socialcredit.registry.decisions.decide import decide
from socialcredit.registry.decisions.snapshot import Snapshot
from socialcredit.registry.due_process.freeze import (
    freeze_status,
    lift_freeze,
    place_fraud_alert,
    place_freeze,
    remove_fraud_alert,
)
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import score
from socialcredit.store import Store

D0 = dt.date(2026, 3, 2)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s = build(tmp_path_factory.mktemp("freeze"))
    score(s, resolve_policy(s, "beijing"), dt.date(2026, 3, 1))
    yield s
    s.close()


@pytest.fixture(autouse=True)
def clean(store: Store) -> None:
    for table in ("freezes", "freeze_lifts", "fraud_alerts"):
        store.execute(f"DELETE FROM {table}")


def test_a_frozen_file_refuses_credit_with_frozen_and_not_transport(store: Store) -> None:
    assert decide(store, B, "bank_loan", "loan", requester="key:lender1", today=D0).granted
    status = place_freeze(store, B, actor="resident:B", today=D0)
    assert status["frozen"] and status["frozen_since"] == D0
    d = decide(store, B, "bank_loan", "loan", requester="key:lender1", today=D0)
    assert (d.granted, d.frozen, d.verify_identity) == (False, True, False)
    assert d.refusal == "the resident has frozen their file"
    assert (d.reasons[0].code, d.reasons[0].text, d.reasons[0].source) == (
        "FROZEN",
        "the resident has frozen their file",
        "freeze",
    )
    assert d.actions[0] == "ask the resident to lift the freeze for you, or for a period"
    zh = decide(store, B, "home_lease", "租房", requester="key:lender1", lang="zh", today=D0)
    assert (zh.granted, zh.refusal, zh.reasons[0].text) == (False, "本人已冻结信用档案", "本人已冻结信用档案")
    rail = decide(store, B, "high_speed_rail", "ticket", requester="key:lender1", today=D0)
    assert rail.granted and not rail.frozen
    outcome = store.one("SELECT outcome FROM inquiries WHERE inquiry_id = ?", [d.inquiry_id])
    assert outcome == "refused"


def test_a_lift_for_one_party_or_a_period(store: Store) -> None:
    start = store.one("SELECT max(seq) FROM audit_log")
    place_freeze(store, B, actor="resident:B", today=D0)
    lift_freeze(store, B, actor="resident:B", party="key:lender1", until=D0 + dt.timedelta(days=2), today=D0)
    assert decide(store, B, "bank_loan", "loan", requester="key:lender1", today=D0).granted
    assert not decide(store, B, "bank_loan", "loan", requester="key:lender2", today=D0).granted
    # the lift ends with its last day
    assert decide(store, B, "bank_loan", "loan", requester="key:lender1", today=D0 + dt.timedelta(days=2)).granted
    assert not decide(store, B, "bank_loan", "loan", requester="key:lender1", today=D0 + dt.timedelta(days=3)).granted
    lift_freeze(store, B, actor="resident:B", until=D0 + dt.timedelta(days=10), today=D0 + dt.timedelta(days=5))
    assert decide(store, B, "bank_loan", "loan", requester="key:lender2", today=D0 + dt.timedelta(days=6)).granted
    assert not decide(store, B, "bank_loan", "loan", requester="key:l2", today=D0 + dt.timedelta(days=11)).granted
    lift_freeze(store, B, actor="resident:B", today=D0 + dt.timedelta(days=12))
    status = freeze_status(store, B, today=D0 + dt.timedelta(days=12))
    assert (status["frozen"], status["lifts"]) == (False, [])
    assert decide(store, B, "bank_loan", "loan", requester="key:l2", today=D0 + dt.timedelta(days=12)).granted
    events = [e["event"] for e in status["history"]]
    assert sorted(events) == sorted(
        ["freeze_placed", "freeze_lifted_for_party", "freeze_lifted_for_period", "freeze_lifted"]
    )
    audited = store.execute(
        "SELECT action FROM audit_log WHERE seq > ? AND subject_id = ? AND action LIKE 'freeze%' ORDER BY seq",
        [start, B],
    ).fetchall()
    assert [a for (a,) in audited] == [
        "freeze_place",
        "freeze_lift_temporary",
        "freeze_lift_temporary",
        "freeze_lift",
    ]


def test_refusals_of_the_controls(store: Store) -> None:
    with pytest.raises(WorkflowError, match=r"^the file is not frozen$") as exc:
        lift_freeze(store, B, actor="r", today=D0)
    assert (exc.value.code, exc.value.status) == ("not_frozen", 409)
    place_freeze(store, B, actor="r", today=D0)
    with pytest.raises(WorkflowError, match=r"^the file is frozen already$") as exc:
        place_freeze(store, B, actor="r", today=D0)
    assert exc.value.code == "already_frozen"
    with pytest.raises(WorkflowInputError, match=r"^the lift must end today or later, not 2026-03-01$") as inp:
        lift_freeze(store, B, actor="r", until=dt.date(2026, 3, 1), today=D0)
    assert (inp.value.status, inp.value.field) == (422, "until")
    with pytest.raises(WorkflowError, match=r"^there is no fraud alert on the file$") as exc:
        remove_fraud_alert(store, B, actor="r", today=D0)
    assert exc.value.code == "no_alert"
    with pytest.raises(NotFoundError, match=r"^no registered subject '110105199901010000'$"):
        place_freeze(store, "110105199901010000", actor="r", today=D0)


def test_a_fraud_alert_lasts_a_year_or_seven_with_a_police_report(store: Store) -> None:
    start = store.one("SELECT max(seq) FROM audit_log")
    status = place_fraud_alert(store, C, actor="resident:C", today=D0)
    assert status["fraud_alert"] == {
        "kind": "initial",
        "police_report": None,
        "since": D0,
        "until": dt.date(2027, 3, 2),
        "in_force": True,
    }
    d = decide(store, C, "high_speed_rail", "ticket", requester="key:rail", today=dt.date(2027, 3, 2))
    assert d.granted and d.verify_identity
    assert (d.reasons[0].code, d.reasons[0].text) == (
        "VERIFY_IDENTITY",
        "fraud alert: verify the resident's identity before granting anything",
    )
    zh = decide(store, C, "high_speed_rail", "购票", requester="key:rail", lang="zh", today=D0)
    assert zh.reasons[0].text == "欺诈警示：办理前须核实本人身份"
    assert not decide(store, C, "high_speed_rail", "ticket", requester="k", today=dt.date(2027, 3, 3)).verify_identity
    status = place_fraud_alert(store, C, actor="resident:C", police_report="京公(朝)2026-0042", today=D0)
    assert status["fraud_alert"]["kind"] == "extended"
    assert status["fraud_alert"]["until"] == dt.date(2033, 3, 2)
    assert decide(store, C, "bank_loan", "loan", requester="k", today=dt.date(2033, 3, 2)).verify_identity
    remove_fraud_alert(store, C, actor="resident:C", today=D0)
    assert not decide(store, C, "bank_loan", "loan", requester="k", today=D0).verify_identity
    actions = store.execute(
        "SELECT action FROM audit_log WHERE seq > ? AND subject_id = ? AND action LIKE 'fraud%' ORDER BY seq",
        [start, C],
    ).fetchall()
    assert [a for (a,) in actions] == ["fraud_alert_place", "fraud_alert_place", "fraud_alert_remove"]


def test_a_leap_day_alert_ends_on_the_28th(store: Store) -> None:
    status = place_fraud_alert(store, A, actor="r", today=dt.date(2028, 2, 29))
    assert status["fraud_alert"]["until"] == dt.date(2029, 2, 28)


PARTIES = ["key:p1", "key:p2"]
DAYS = st.integers(min_value=0, max_value=40).map(lambda n: D0 + dt.timedelta(days=n))
OPS = st.one_of(
    st.tuples(st.just("place"), st.sampled_from([A, B, C])),
    st.tuples(
        st.just("lift"),
        st.sampled_from([A, B, C]),
        st.sampled_from([None, *PARTIES]),
        st.one_of(st.none(), st.integers(min_value=0, max_value=15)),
    ),
    st.tuples(st.just("alert"), st.sampled_from([A, B, C]), st.sampled_from([None, "R-1"])),
    st.tuples(st.just("unalert"), st.sampled_from([A, B, C])),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=st.lists(st.tuples(DAYS, OPS), max_size=8), asked=DAYS, party=st.sampled_from(PARTIES))
def test_the_stored_decision_and_the_snapshot_agree(
    store: Store, history: list[tuple[dt.date, tuple[object, ...]]], asked: dt.date, party: str
) -> None:
    for table in ("freezes", "freeze_lifts", "fraud_alerts"):
        store.execute(f"DELETE FROM {table}")
    for day, op in sorted(history, key=lambda h: h[0]):
        subject = str(op[1])
        try:
            if op[0] == "place":
                place_freeze(store, subject, actor="r", today=day)
            elif op[0] == "lift":
                until = None if op[3] is None else day + dt.timedelta(days=int(str(op[3])))
                lift_freeze(store, subject, actor="r", party=op[2] and str(op[2]), until=until, today=day)
            elif op[0] == "alert":
                place_fraud_alert(store, subject, actor="r", police_report=op[2] and str(op[2]), today=day)
            else:
                remove_fraud_alert(store, subject, actor="r", today=day)
        except WorkflowError:
            pass  # refused steps (lifting what is not frozen) leave nothing behind
    snap = Snapshot.load(store, "beijing", explain=True)
    subjects = [A, B, C]
    for service in ("bank_loan", "high_speed_rail"):
        stored = [decide(store, s, service, "p", requester=party, today=asked) for s in subjects]
        batch = snap.decide_rows(snap.rows_of(subjects), subjects, service, "p", requester=party, today=asked)
        frozen, verify = snap.guard_flags(subjects, service, party, asked)
        for k, s in enumerate(subjects):
            one = snap.decision(s, service, "p", requester=party, today=asked)
            quick = snap.decide(s, service, "p", requester=party, today=asked)
            want = (stored[k].granted, stored[k].frozen, stored[k].verify_identity)
            assert (one.granted, one.frozen, one.verify_identity) == want
            assert (quick.granted, quick.frozen, quick.verify_identity) == want
            assert (bool(batch[k]), frozen[k], verify[k]) == want
            assert [r.code for r in one.reasons] == [r.code for r in stored[k].reasons]
            if service == "high_speed_rail":
                assert not stored[k].frozen


def test_decisions_read_a_new_freeze_at_once_from_a_loaded_snapshot(store: Store, tmp_path: Path) -> None:
    snap = Snapshot.load(store, "beijing", explain=True)
    assert snap.decide(B, "bank_loan", "loan", requester="key:p1", today=D0).granted
    place_freeze(store, B, actor="r", today=D0)
    snap.refresh_guards(store)
    quick = snap.decide(B, "bank_loan", "loan", requester="key:p1", today=D0)
    assert (quick.granted, quick.frozen) == (False, True)


def test_freezable_is_validated_like_every_policy_field() -> None:
    from importlib.resources import files

    from socialcredit.errors import PolicyError
    from socialcredit.policy.load import parse_policy

    text = (files("socialcredit.policies") / "beijing.yaml").read_text(encoding="utf-8")
    line = text.splitlines().index("    freezable: true") + 1
    with pytest.raises(PolicyError) as info:
        parse_policy(text.replace("    freezable: true\n", "    freezable: sometimes\n", 1), "beijing.yaml")
    assert info.value.problems == [
        f"beijing.yaml:{line}:5: service bank_loan: freezable: must be true or false, not 'sometimes'"
    ]
    shipped = parse_policy(text, "beijing.yaml").policy
    assert [s.id for s in shipped.services if s.freezable] == ["bank_loan", "home_lease", "deposit_free_rental"]
