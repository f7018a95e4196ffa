"""One record, whatever the width of its id's characters: ``（2024）京01民初123号`` and ``(2024)京01民初123号`` (and
``（２０２４）京０１民初１２３号``) name one record on every path: ingest (files and HTTP), corrections, withdrawals,
disputes, look-ups, ``score --input`` and a store migrated from before the fold (migration 43)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api_helpers import auth, world
from socialcredit.identifiers import make_ric
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.store import MIGRATIONS, Store, open_store

__all__ = ["world"]

CLI = str(Path(sys.executable).parent / "socialcredit")
PERSON = make_ric("110105", dt.date(1980, 3, 4), 15)
TODAY = dt.date(2026, 12, 1)
JUDGMENT = {"subject_id": PERSON, "record_type": "court_judgment", "event_date": "2026-06-01", "case_type": "civil",
            "amount": "80000", "status": "unfulfilled", "defaulter": "true"}  # fmt: skip
# The fold as Unicode's NFKC does it to these characters, written here by hand: U+FF01-U+FF5E to U+0021-U+007E,
# U+3000 to a space.
REFERENCE = {0x3000: " "} | {c: chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)}


def widened(text: str) -> str:
    """``text`` with each ASCII character but the space written full-width."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _cli(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALCREDIT_")}
    env |= {"SOCIALCREDIT_TODAY": TODAY.isoformat(), "COLUMNS": "200"}
    return subprocess.run([CLI, *args, "--db", str(db)], capture_output=True, text=True, env=env, check=False)


def _csv(path: Path, rows: list[dict[str, str]]) -> Path:
    cols = list(rows[0])
    path.write_text(
        ",".join(cols) + "\n" + "".join(",".join(r[c] for c in cols) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def _ndjson(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


# --- the console script: a correction under the other width ---------------------------------------------------------


def test_a_correction_sent_with_the_other_width_corrects_the_judgment(tmp_path: Path) -> None:
    """The court's judgment came with full-width brackets, its fulfilment as a correction with ASCII ones: one record
    in its second version, no longer unfulfilled. Until the fold the correction was refused ('nothing to correct'),
    and sent as a new record it was a second judgment."""
    db = tmp_path / "s.duckdb"
    assert _cli("init", db=db).returncode == 0
    _csv(tmp_path / "subjects.csv", [{"subject_id": PERSON, "name": "王伟"}])
    assert _cli("ingest", str(tmp_path / "subjects.csv"), "--source", "civil_affairs", db=db).returncode == 0
    first = _csv(tmp_path / "a.csv", [{"record_id": "（2024）京01民初123号", **JUDGMENT}])
    sent = _cli("ingest", str(first), "--source", "courts", db=db)
    assert (sent.returncode, sent.stdout.splitlines()[0]) == (0, f"{first}: 1 row: 1 accepted, 0 unchanged, 0 rejected "
                                                                  "(batch 2)"), sent.stdout + sent.stderr  # fmt: skip
    fulfilled = {**JUDGMENT, "status": "fulfilled", "defaulter": "false", "correction": "true"}
    fix = _csv(tmp_path / "b.csv", [{"record_id": "(2024)京01民初123号", **fulfilled}])
    corrected = _cli("ingest", str(fix), "--source", "courts", db=db)
    assert (corrected.returncode, corrected.stdout.splitlines()[0]) == (
        0,
        f"{fix}: 1 row: 1 accepted, 0 unchanged, 0 rejected (batch 3)",
    ), corrected.stdout + corrected.stderr
    # sent again in a third spelling (full-width digits too), the same content is that record, unchanged
    again = _csv(tmp_path / "c.csv", [{"record_id": "（２０２４）京０１民初１２３号", **fulfilled}])
    unchanged = _cli("ingest", str(again), "--source", "courts", db=db)
    assert (unchanged.returncode, unchanged.stdout.splitlines()[0]) == (
        0,
        f"{again}: 1 row: 0 accepted, 1 unchanged, 0 rejected (batch 4)",
    ), unchanged.stdout + unchanged.stderr
    shown = _cli("show", PERSON, "--json", db=db)
    assert shown.returncode == 0, shown.stderr
    records = json.loads(shown.stdout)["records"]
    assert [(r["record_id"], r["version"], r["fields"]["status"], r["status"]) for r in records] == [
        ("(2024)京01民初123号", 2, "fulfilled", "not counting"),
        ("(2024)京01民初123号", 1, "unfulfilled", "superseded"),
    ]


# --- the API: a withdrawal and a dispute by the other width -----------------------------------------------------------


def test_a_withdrawal_and_a_dispute_name_the_record_in_either_width_over_http(world: dict[str, Any]) -> None:
    client: httpx.Client = world["client"]
    furnisher = {**auth(world["keys"]["furnisher"]), "content-type": "application/json"}
    row = {**JUDGMENT, "subject_id": world["listed"], "status": "fulfilled", "defaulter": "false"}
    rows = [{"record_id": "（2025）京01民初77号", **row}, {"record_id": "［2025］京01民初78号", **row}]
    sent = client.post("/v1/records", content=json.dumps(rows, ensure_ascii=False).encode(), headers=furnisher)
    assert sent.status_code == 200, sent.text
    assert (sent.json()["accepted"], sent.json()["errors"]) == (2, [])
    # the resident disputes the first, naming it with ASCII brackets
    filed = client.post(
        "/v1/disputes",
        json={"source_id": "courts", "record_id": "(2025)京01民初77号", "reason": "I paid"},
        headers=auth(world["keys"]["resident"]),
    )
    assert filed.status_code == 201, filed.text
    assert (filed.json()["record_id"], filed.json()["status"]) == ("(2025)京01民初77号", "open")
    # the court withdraws the second, naming it with ASCII brackets and full-width digits
    withdrawn = client.delete("/v1/records/[２０２５]京01民初78号", headers=furnisher)
    assert withdrawn.status_code == 200, withdrawn.text
    assert (withdrawn.json()["accepted"], withdrawn.json()["errors"]) == (1, [])
    with world["service"].writer() as store:
        stored = store.execute(
            "SELECT record_id, version, withdrawn FROM records WHERE source_id = 'courts' "
            "AND record_id LIKE '%2025%京01民初7_号' ORDER BY record_id, version"
        ).fetchall()
    assert stored == [
        ("(2025)京01民初77号", 1, False),
        ("[2025]京01民初78号", 1, False),
        ("[2025]京01民初78号", 2, True),
    ]
    # a second withdrawal in the first spelling finds it withdrawn already
    twice = client.delete("/v1/records/［2025］京01民初78号", headers=furnisher)
    assert twice.status_code == 409, twice.text
    assert (twice.json()["error"]["code"], twice.json()["error"]["message"]) == (
        "already_withdrawn",
        "record '[2025]京01民初78号' is withdrawn already",
    )
    # a correction brings it back: its path and its body's record_id in two widths are one id
    fixed = {**row, "record_id": "［2025］京01民初78号", "amount": "1"}
    corrected = client.put("/v1/records/[2025]京01民初78号", json=fixed, headers=furnisher)
    assert corrected.status_code == 200, corrected.text
    assert (corrected.json()["accepted"], corrected.json()["errors"]) == (1, [])


# --- the fold itself: SQL and Python alike, and a twin is the same record ----------------------------------------

_CHARS = st.one_of(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    st.characters(min_codepoint=0xFF00, max_codepoint=0xFF60),  # the full-width forms and a character each side
    st.sampled_from("\u3000\u2003\u00a0京民初号（）"),
    st.characters(codec="utf-8", exclude_categories=("Cs",)),
)


@settings(max_examples=300, deadline=None)
@given(text=st.text(_CHARS, max_size=40))
def test_the_sql_fold_is_the_python_fold(text: str) -> None:
    from socialcredit.identifiers import fold_record_id, fold_record_id_sql

    # then the spaces at either end dropped, as ingest trims an id's ASCII spaces
    expected = text.translate(REFERENCE).strip(" ")
    assert fold_record_id(text) == expected
    assert len(fold_record_id(text)) <= len(text)  # one character for one: no expansion
    con = duckdb.connect()
    try:  # DuckDB's form, and the portable one (translate) a tree printed for Spark too has
        for portable in (False, True):
            assert con.execute(f"SELECT {fold_record_id_sql('$1', portable=portable)}", [text]).fetchone() == (
                expected,
            )
    finally:
        con.close()


def test_the_sql_fold_takes_a_narrow_id_as_it_is() -> None:
    """An id without a wide character, nearly every one, is not run through the fold: a ``regexp_matches`` tells
    it apart (a ``translate`` with the 95 characters' table costs some microseconds a row in DuckDB)."""
    import sqlglot

    from socialcredit.identifiers import RECORD_ID_TO_FOLD, fold_record_id_sql

    for portable in (False, True):
        tree = sqlglot.parse_one(f"SELECT {fold_record_id_sql('record_id', portable=portable)}", read="duckdb")
        case = tree.selects[0]
        assert isinstance(case, sqlglot.exp.Case)
        (when,) = case.args["ifs"]
        assert when.this.sql("duckdb") == f"REGEXP_MATCHES(record_id, '{RECORD_ID_TO_FOLD}')"
        assert case.args["default"].sql("duckdb") == "record_id"
        assert ("TRANSLATE" in when.args["true"].sql("duckdb")) is portable
    con = duckdb.connect()
    try:
        assert con.execute(f"SELECT {fold_record_id_sql('$1')}", ["（2024）京０１民初1号"]).fetchone() == (
            "(2024)京01民初1号",
        )
    finally:
        con.close()


def test_an_id_with_an_ideographic_space_at_an_end_is_the_id_without_it(tmp_path: Path) -> None:
    """Ingest trims an id's ASCII spaces (`` R-1`` is ``R-1``), and stores ``\u3000R-1`` as ``R-1`` too, but the
    fold of the paths that look a record up by its id (a correction or withdrawal by id, a dispute, the pages) made
    ``\u3000R-1`` `` R-1``: no such record. Now the fold drops the spaces at either end, as ingest does, in Python
    and in SQL alike."""
    db = tmp_path / "s.duckdb"
    assert _cli("init", db=db).returncode == 0
    subjects = _csv(tmp_path / "subjects.csv", [{"subject_id": PERSON, "name": "王伟"}])
    assert _cli("ingest", str(subjects), "--source", "civil_affairs", db=db).returncode == 0
    sent = [{"record_id": "\u3000R-1", **JUDGMENT}, {"record_id": "R-2\u3000\u3000", **JUDGMENT}]
    first = _cli("ingest", str(_ndjson(tmp_path / "a.ndjson", sent)), "--source", "courts", db=db)
    assert first.returncode == 0, first.stdout + first.stderr
    fixed = [{"record_id": " R-1", **JUDGMENT, "status": "fulfilled", "correction": "true"}]
    second = _cli("ingest", str(_ndjson(tmp_path / "b.ndjson", fixed)), "--source", "courts", db=db)
    assert second.returncode == 0, second.stdout + second.stderr
    blank = [{"record_id": "\u3000", **JUDGMENT}]
    third = _cli("ingest", str(_ndjson(tmp_path / "c.ndjson", blank)), "--source", "courts", "--json", db=db)
    assert json.loads(third.stdout)["errors"] == [{"row": 1, "field": "record_id", "message": "is required"}]
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            "SELECT record_id, version, status FROM records WHERE source_id = 'courts' ORDER BY record_id, version"
        ).fetchall()
    finally:
        con.close()
    assert rows == [("R-1", 1, "unfulfilled"), ("R-1", 2, "fulfilled"), ("R-2", 1, "unfulfilled")]
    from socialcredit.registry.records.versions import latest_record

    store = open_store(db, key="")
    try:  # looked up by the id as sent: the record ingest stored
        for sent, stored in (("\u3000R-1", "R-1"), ("R-1\u3000", "R-1"), ("\u3000R-2\u3000 ", "R-2")):
            assert latest_record(store, "courts", sent)["record_id"] == stored
    finally:
        store.close()


_ID_CHARS = st.one_of(st.characters(min_codepoint=0x21, max_codepoint=0x7E), st.sampled_from("京民初号"))


@st.composite
def _twins(draw: st.DrawFn) -> tuple[str, str]:
    """An id and its twin: some of its ASCII characters written full-width, some of its full-width ones ASCII."""
    plain = draw(st.text(_ID_CHARS, min_size=1, max_size=24))
    flips = draw(st.lists(st.booleans(), min_size=len(plain), max_size=len(plain)))
    first = "".join(widened(c) if f else c for c, f in zip(plain, flips, strict=True))
    again = draw(st.lists(st.booleans(), min_size=len(plain), max_size=len(plain)))
    twin = "".join(widened(c) if f else c for c, f in zip(plain, again, strict=True))
    return first, twin


@pytest.fixture(scope="module")
def twin_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    folder = tmp_path_factory.mktemp("twins")
    store = open_store(folder / "t.duckdb", create=True, key="")
    ingest_file(store, _csv(folder / "subjects.csv", [{"subject_id": PERSON, "name": "王伟"}]), "civil_affairs",
                today=TODAY)  # fmt: skip
    return store


_seen: set[str] = set()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pair=_twins())
def test_an_id_and_its_width_changed_twin_are_one_record_on_every_path(
    twin_store: Store, tmp_path: Path, pair: tuple[str, str]
) -> None:
    """Sent as ``first``, the record is corrected as ``twin`` and then read, disputed-looked-up and withdrawn by
    ``first`` again: one record of three versions, stored under the folded id."""
    from socialcredit.registry.records.versions import latest_record, withdraw_record

    first, twin = pair
    folded = first.translate(REFERENCE)
    if folded in _seen:  # hypothesis draws an id again: its record is there already
        return
    _seen.add(folded)
    report = ingest_file(twin_store, _ndjson(tmp_path / "a.ndjson", [{"record_id": first, **JUDGMENT}]), "courts",
                         today=TODAY)  # fmt: skip
    assert (report.accepted, report.errors) == (1, [])
    fixed = [{"record_id": twin, **JUDGMENT, "status": "fulfilled", "correction": "true"}]
    report = ingest_file(twin_store, _ndjson(tmp_path / "b.ndjson", fixed), "courts", today=TODAY)
    assert (report.accepted, report.errors) == (1, [])
    latest = latest_record(twin_store, "courts", first)
    assert (latest["record_id"], latest["version"], latest["status"]) == (folded, 2, "fulfilled")
    withdraw_record(twin_store, "courts", twin, actor="test", today=TODAY)
    rows = twin_store.execute(
        "SELECT record_id, version, withdrawn FROM records WHERE source_id = 'courts' AND "
        "(record_id = ? OR record_id = ? OR record_id = ?) ORDER BY version",
        [first, twin, folded],
    ).fetchall()
    assert rows == [(folded, 1, False), (folded, 2, False), (folded, 3, True)]


# --- a store of the schema before the fold ---------------------------------------------------------------------------


def test_the_migration_folds_stored_ids_and_makes_twins_one_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store written before ids were folded holds ``（2024）京01民初9号`` and its twin ``(2024)京01民初9号`` as two
    records, and ``（2024）京01民初10号`` with a fulfilment naming it so. Migrated, each id is folded; the twins are
    one record whose versions are both, in the order received (the later as a correction: it counts), nothing lost;
    the fulfilment names the folded id; a correction under either spelling is the record's next version."""
    from socialcredit.registry.records import ingest

    path = tmp_path / "old.duckdb"
    store = open_store(path, create=True, key="")
    ingest_file(store, _csv(tmp_path / "subjects.csv", [{"subject_id": PERSON, "name": "王伟"}]), "civil_affairs",
                today=TODAY)  # fmt: skip
    rows = [
        ("（2024）京01民初9号", "unfulfilled"),
        ("(2024)京01民初9号", "fulfilled"),
        ("（2024）京01民初10号", "unfulfilled"),
    ]
    with monkeypatch.context() as m:  # ingest as it was: ids stored as sent
        m.setattr(ingest, "_fold_record_ids", lambda _store: None, raising=False)
        for n, (record_id, status) in enumerate(rows):
            sent = _ndjson(tmp_path / f"{n}.ndjson", [{"record_id": record_id, **JUDGMENT, "status": status}])
            report = ingest_file(store, sent, "courts", today=TODAY)
            assert (report.accepted, report.errors) == (1, [])
    keys = [int(r[0]) for r in store.execute("SELECT record_key FROM records WHERE source_id = 'courts' "
                                             "ORDER BY record_key").fetchall()]  # fmt: skip
    store.execute(
        "INSERT INTO fulfilments VALUES (1, 'courts', ?, ?, DATE '2026-11-01', NULL, 'cli', now())",
        ["（2024）京01民初10号", PERSON],
    )
    # a kept score state (it counted both twins), with its table of personal rows
    store.execute("INSERT INTO score_states VALUES ('sha', 'beijing', '1', 'score_state_sha', 1, now(), 0)")
    store.execute("CREATE TABLE score_state_sha AS SELECT ? AS subject_id, 1 AS rows", [PERSON])
    # another region's record as received, and its listing there, the id wide as that region sent it
    store.execute(
        "INSERT INTO region_records VALUES ('120000', ?, 'courts', ?, 1, 'court_judgment', DATE '2026-06-01', false, "
        "'{}', 1, true)",
        [PERSON, "（2024）津01民初5号"],
    )
    store.execute(
        "INSERT INTO region_listings VALUES ('120000', ?, 'blacklist', 'judgment', 'courts', ?, DATE '2026-11-01', "
        "DATE '2026-12-31', 60, 'pending', NULL, 1)",
        [PERSON, "（2024）津01民初5号"],
    )
    # the store as it was before migration 43
    with store.transaction():
        store.execute("DELETE FROM schema_version WHERE version >= 43")
    store.close()
    with open_store(path, key="") as migrated:
        assert migrated.schema_version() == MIGRATIONS[-1][0]
        stored = migrated.execute(
            "SELECT record_key, record_id, version, status, is_correction, prev_key FROM records "
            "WHERE source_id = 'courts' ORDER BY record_key"
        ).fetchall()
        assert stored == [
            (keys[0], "(2024)京01民初9号", 1, "unfulfilled", False, None),
            (keys[1], "(2024)京01民初9号", 2, "fulfilled", True, keys[0]),
            (keys[2], "(2024)京01民初10号", 1, "unfulfilled", False, None),
        ]
        assert migrated.execute("SELECT record_id FROM fulfilments").fetchall() == [("(2024)京01民初10号",)]
        assert migrated.execute("SELECT count(*) FROM score_states").fetchone() == (0,)  # to be built again
        # its table gone too: no personal rows left that no purge or `state drop` reaches
        assert migrated.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'score_state_sha'"
        ).fetchone() == (0,)
        for table in ("region_records", "region_listings"):
            assert migrated.execute(f"SELECT record_id FROM {table}").fetchall() == [("(2024)津01民初5号",)]
        fix = [
            {"record_id": "（2024）京01民初9号", **JUDGMENT, "status": "fulfilled", "amount": "1"}
            | {"correction": "true"}
        ]
        report = ingest_file(migrated, _ndjson(tmp_path / "fix.ndjson", fix), "courts", today=TODAY)
        assert (report.accepted, report.errors) == (1, [])
        assert migrated.execute(
            "SELECT record_id, version, amount FROM records WHERE record_key > ? ORDER BY record_key", [keys[2]]
        ).fetchall() == [("(2024)京01民初9号", 3, 1.0)]
