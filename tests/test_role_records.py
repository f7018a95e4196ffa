"""The role records kept apart (`role_records`, store.note_role_records): every version of the registration
authority's company_role records as `records` holds them, through batches, corrections, withdrawals, the purge and
the migration that fills it for an existing store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from relation_world import (
    COMPANY,
    DIRECTOR,
    HOLDER,
    NEXT_REP,
    OTHER,
    OUTSIDER,
    REP,
    at_cause,
    beijing,
    build,
    entries,
    role,
)
from scoring_helpers import AS_OF, days_before, open_registry
from socialcredit.registry.due_process.retention import purge_expired
from socialcredit.registry.records.versions import withdraw_record
from socialcredit.store import MIGRATIONS, Store, open_store

_COLUMNS = (
    "record_key, source_id, record_id, version, subject_id, subject_key, event_date, withdrawn, "
    'org_id, "role", start_date, end_date'
)


def kept(store: Store) -> list[tuple[Any, ...]]:
    """The role table's rows, in key order; asserted equal to the role records of `records`."""
    rows = store.execute(f"SELECT {_COLUMNS} FROM role_records ORDER BY record_key").fetchall()
    expected = store.execute(
        f"SELECT {_COLUMNS} FROM records WHERE record_type = 'company_role' ORDER BY record_key"
    ).fetchall()
    assert rows == expected
    # one role_key a record (source, id), shared by all its versions: the least key of them
    keys = store.execute(
        "SELECT source_id, record_id, role_key, min(record_key) FROM role_records GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert len({(k[0], k[1]) for k in keys}) == len(keys) and all(k[2] == k[3] for k in keys)
    return rows


def role_keys(store: Store) -> list[tuple[Any, ...]]:
    return store.execute("SELECT record_key, role_key FROM role_records ORDER BY record_key").fetchall()


def test_the_role_table_follows_batches_corrections_and_withdrawals(tmp_path: Path) -> None:
    reg = open_registry(tmp_path)
    build(reg)  # five role records; a judgment, which is no role record
    assert [(r[2], r[3], r[4], r[8], r[9]) for r in kept(reg.store)] == [
        ("R1", 1, REP, COMPANY, "legal_representative"),
        ("R2", 1, DIRECTOR, COMPANY, "director"),
        ("R3", 1, HOLDER, COMPANY, "shareholder"),
        ("R4", 1, OUTSIDER, COMPANY, "senior_manager"),
        ("R5", 1, NEXT_REP, OTHER, "legal_representative"),
    ]
    # a resignation: a correction of R2 that sets its end date (version 2), in a batch with a new appointment
    ended = days_before(10)
    reg.send(
        "registration_authority",
        [
            role("R2", DIRECTOR, COMPANY, "director", days_before(1500), ended, correction="true"),
            role("R6", DIRECTOR, COMPANY, "senior_manager", days_before(5)),
        ],
    )
    # R1 withdrawn by the registry (version 2, withdrawn)
    withdraw_record(reg.store, "registration_authority", "R1", actor="test")
    rows = kept(reg.store)
    assert [(r[2], r[3], r[7], r[11]) for r in rows] == [
        ("R1", 1, False, None),
        ("R2", 1, False, None),
        ("R3", 1, False, None),
        ("R4", 1, False, dt.date.fromisoformat(days_before(400))),
        ("R5", 1, False, None),
        ("R2", 2, False, dt.date.fromisoformat(ended)),
        ("R6", 1, False, None),
        ("R1", 2, True, None),
    ]
    # the person's integer key is kept with each version (a live pass finds its persons' roles by it)
    assert {r[5] for r in rows if r[4] == DIRECTOR} == {
        reg.store.one("SELECT subject_key FROM subject_keys WHERE subject_id = ?", [DIRECTOR])
    }


def test_the_purge_deletes_role_versions_with_their_records(tmp_path: Path) -> None:
    reg = open_registry(tmp_path)
    build(reg)
    reg.score(beijing())  # the purge keeps what a policy in use can count
    before = len(kept(reg.store))
    out = purge_expired(reg.store, AS_OF + dt.timedelta(days=365 * 60))
    assert out["records"] > 0
    after = kept(reg.store)
    purged_roles = out["by_source"].get("registration_authority", 0)
    assert purged_roles > 0
    assert len(after) == before - purged_roles


def test_the_migration_fills_the_role_table_of_an_existing_store(tmp_path: Path) -> None:
    reg = open_registry(tmp_path)
    build(reg)
    reg.send(
        "registration_authority",
        [role("R2", DIRECTOR, COMPANY, "director", days_before(1500), days_before(9), correction="true")],
    )
    expected = kept(reg.store)
    assert len(expected) == 6
    keys = role_keys(reg.store)
    assert keys[-1] == (reg.record_key("R2", 2), reg.record_key("R2", 1))  # the correction took R2's role_key
    path = reg.store.path
    # the store as the program before the table left it: no role_records, schema version 37 (the later migrations
    # are applied again after 38: they apply as well to what they made)
    with reg.store.transaction():
        reg.store.execute("DROP TABLE role_records")
        reg.store.execute("DELETE FROM schema_version WHERE version >= 38")
    reg.store.close()
    with open_store(path, key="") as store:
        assert store.schema_version() == MIGRATIONS[-1][0]
        assert kept(store) == expected
        assert role_keys(store) == keys


def _role_ids(store: Store) -> list[str]:
    return [str(r[0]) for r in store.execute("SELECT DISTINCT record_id FROM role_records ORDER BY 1").fetchall()]


def test_the_purge_keeps_the_roles_a_list_reads_while_they_are_held(tmp_path: Path) -> None:
    """No rule counts a company_role record, so the purge took every one 90 days after its date (at `small`, 9,044
    of 9,061): the current legal representative and director of an organisation on the blacklist with them, and the
    restriction on high spending (``via`` the blacklist, ``when: current``) no longer reached them. A role a list
    reads stays while it is held and 90 days after it ends; a role no list reads (a shareholder's) goes as before."""
    reg = open_registry(tmp_path)
    build(reg)
    reg.score(beijing())
    # R4 (senior manager) ended 400 days before AS_OF: gone 90 days after its end; R3 (shareholder) is read by none
    out = purge_expired(reg.store, AS_OF + dt.timedelta(days=365 * 60))
    assert out["by_source"]["registration_authority"] == 2
    assert _role_ids(reg.store) == ["R1", "R2", "R5"]
    later = reg.score(beijing(), AS_OF + dt.timedelta(days=1))
    assert entries(reg, later.run_id) == sorted([(REP, "officer_of_defaulter"), (DIRECTOR, "officer_of_defaulter")])


def test_the_purge_keeps_for_good_the_roles_a_list_reads_as_held_at_its_cause(tmp_path: Path) -> None:
    """Read ``held_at_cause``, a role that has ended still counts: the cause may be any record of the organisation,
    counted as long as its own rule counts it. Only the roles no list reads go."""
    reg = open_registry(tmp_path)
    build(reg)
    reg.score(at_cause())
    out = purge_expired(reg.store, AS_OF + dt.timedelta(days=365 * 60))
    assert out["by_source"]["registration_authority"] == 1
    assert _role_ids(reg.store) == ["R1", "R2", "R4", "R5"]


def test_the_purge_takes_a_withdrawn_role_a_list_would_read(tmp_path: Path) -> None:
    """A withdrawn role record counts for no one: R1 (the legal representative, no end date) withdrawn was kept for
    ever as a role held (``when: current``) and, read ``held_at_cause``, as one read for good. It goes as any record
    no rule counts; R2, held, stays."""
    for policy, left in ((beijing, ["R2", "R5"]), (at_cause, ["R2", "R4", "R5"])):
        reg = open_registry(tmp_path / policy.__name__)
        build(reg)
        withdraw_record(reg.store, "registration_authority", "R1", actor="test")
        reg.score(policy())
        purge_expired(reg.store, AS_OF + dt.timedelta(days=365 * 60))
        stored = reg.store.execute(
            "SELECT DISTINCT record_id FROM records WHERE source_id = 'registration_authority' ORDER BY 1"
        ).fetchall()
        assert [str(r[0]) for r in stored] == left
        assert _role_ids(reg.store) == left
