"""The hash-chained audit log: `audit verify` finds an altered, a removed and a reordered entry, and says where."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from socialcredit.cli import app
from socialcredit.registry.access.audit import AuditProblem, append_audit, verify_audit
from socialcredit.store import Store, open_store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    st = open_store(tmp_path / "a.duckdb", create=True, key="")
    with st.transaction():
        for i in range(1, 6):
            append_audit(st, "test", "read", None, {"n": i})
    return st


def test_an_intact_log_verifies(store: Store) -> None:
    assert verify_audit(store) == []


def test_an_altered_entry_is_found(store: Store, tmp_path: Path) -> None:
    store.execute("""UPDATE audit_log SET detail = '{"n": 99}' WHERE seq = 3""")
    assert verify_audit(store) == [AuditProblem(3, "entry 3 was altered")]
    store.close()
    result = CliRunner().invoke(app, ["audit", "verify", "--db", str(tmp_path / "a.duckdb")])
    assert result.exit_code == 1
    assert "entry 3 was altered" in result.output


def test_a_removed_entry_is_found(store: Store) -> None:
    store.execute("DELETE FROM audit_log WHERE seq = 2")
    assert verify_audit(store) == [
        AuditProblem(3, "entry 2 is missing (next entry is 3)"),
        AuditProblem(3, "entry 3 does not follow the entry before it"),
    ]


def test_a_gap_of_several_entries_names_them_all(store: Store) -> None:
    """Until 2026-12-05 a gap said "entry 2 is missing", however many entries it lacked."""
    store.execute("DELETE FROM audit_log WHERE seq IN (2, 3, 4)")
    assert verify_audit(store) == [
        AuditProblem(5, "entries 2 to 4 (3) are missing (next entry is 5)"),
        AuditProblem(5, "entry 5 does not follow the entry before it"),
    ]


def test_swapped_entries_are_found(store: Store) -> None:
    # swap the contents of entries 2 and 4 (as if reordered), keeping their numbers
    store.execute(
        "UPDATE audit_log a SET detail = b.detail, hash = b.hash, prev_hash = b.prev_hash FROM audit_log b "
        "WHERE (a.seq, b.seq) IN ((2, 4), (4, 2))"
    )
    found = verify_audit(store)
    assert [p.seq for p in found] == [2, 2, 3, 4, 4, 5]
    assert AuditProblem(2, "entry 2 was altered") in found


def test_reading_the_audit_log_is_itself_audited(tmp_path: Path) -> None:
    """Each page of `GET /v1/audit` is audited (`read_audit`: where it starts, its limit, how many entries it held
    and the last one's number; until 2026-12-05 not at all), after the page is read: the page does not hold its own
    entry, the next page does; the chain still verifies."""
    import httpx

    from api_helpers import auth, serving
    from socialcredit.api.app import create_app
    from socialcredit.registry.access.parties import issue_key

    st = open_store(tmp_path / "a.duckdb", create=True, key="")
    with st.transaction():
        for i in range(1, 6):
            append_audit(st, "test", "read", None, {"n": i})
    auditor = issue_key(st, "auditor", "the auditor")
    app = create_app(tmp_path / "a.duckdb", store=st)
    who = f"key:{auditor.party.key_id}"
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as c:
        first = c.get("/v1/audit?after=2&limit=3", headers=auth(auditor.token))
        assert first.status_code == 200
        assert [(e["seq"], e["detail"]) for e in first.json()["entries"]] == [
            (3, {"n": 3}),
            (4, {"n": 4}),
            (5, {"n": 5}),
        ]
        rest = c.get("/v1/audit?after=5", headers=auth(auditor.token)).json()["entries"]
        with app.state.service.writer() as store:
            last = store.rows("SELECT actor, action, subject_id, detail FROM audit_log ORDER BY seq DESC LIMIT 1")[0]
            problems = verify_audit(store)
    # entry 6 is the key's issue; 7 the first page's read; the second page's read (8) comes after it
    assert [(e["seq"], e["actor"], e["action"], e["subject_id"], e["detail"]) for e in rest][1:] == [
        (7, who, "read_audit", None, {"after": 2, "limit": 3, "entries": 3, "last": 5})
    ]
    assert (last["actor"], last["action"], last["subject_id"], json.loads(last["detail"])) == (
        who,
        "read_audit",
        None,
        {"after": 5, "limit": 100, "entries": 2, "last": 7},
    )
    assert problems == []
    st.close()


def test_verify_names_the_problems_in_the_language_asked(store: Store, tmp_path: Path) -> None:
    """`audit verify --lang zh` names each problem of the chain in Chinese (until 2026-12-06 only its last line was:
    the problems stayed in English); in English without it."""
    store.execute("DELETE FROM audit_log WHERE seq IN (2, 3)")
    store.execute("""UPDATE audit_log SET detail = '{"n": 99}' WHERE seq = 5""")
    store.close()
    said = {}
    for lang in ("en", "zh"):
        result = CliRunner().invoke(app, ["audit", "verify", "--db", str(tmp_path / "a.duckdb"), "--lang", lang])
        said[lang] = (result.exit_code, result.stdout.splitlines())
    assert said == {
        "en": (
            1,
            [
                "entries 2 to 3 (2) are missing (next entry is 4)",
                "entry 4 does not follow the entry before it",
                "entry 5 was altered",
            ],
        ),
        "zh": (1, ["第 2 至 3 条（2 条）缺失（下一条是第 4 条）", "第 4 条没有接续其前一条", "第 5 条已被篡改"]),
    }
