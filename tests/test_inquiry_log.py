"""The inquiry journal: every decision answered is in the store eventually, once, even across a crash."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from socialcredit.errors import StoreError
from socialcredit.registry.access.audit import verify_audit
from socialcredit.registry.decisions.inquiries import InquiryLog
from socialcredit.store import Store, open_store


def _store(tmp_path: Path) -> Store:
    return open_store(tmp_path / "s.duckdb", create=True, key="")


def _inquiries(store: Store) -> list[tuple[object, ...]]:
    return store.execute(
        "SELECT inquiry_id, requester, subject_id, service, purpose, outcome, run_id FROM inquiries ORDER BY 1"
    ).fetchall()


def test_journalled_inquiries_reach_the_store_with_their_fields(tmp_path: Path) -> None:
    store = _store(tmp_path)
    log = InquiryLog(tmp_path / "journal")
    log.record(7, ["110101199001011237"], "high_speed_rail", "ticket purchase", "key:railway", ["refused"])
    log.record(7, ["A", "B"], "loan", "credit check", "key:bank", ["granted", "refused"])
    assert log.pending == 3
    assert _inquiries(store) == []
    assert log.flush(store) == 3
    assert _inquiries(store) == [
        (1, "key:railway", "110101199001011237", "high_speed_rail", "ticket purchase", "refused", 7),
        (2, "key:bank", "A", "loan", "credit check", "granted", 7),
        (3, "key:bank", "B", "loan", "credit check", "refused", 7),
    ]
    assert log.flush(store) == 0
    detail = store.one("SELECT detail FROM audit_log WHERE action = 'inquiries'")
    assert '"inquiries": [1, 3]' in detail
    assert verify_audit(store) == []
    assert list((tmp_path / "journal").glob("*.closed")) == []
    log.close(store)
    assert list((tmp_path / "journal").iterdir()) == []


def test_a_crash_before_the_flush_loses_nothing(tmp_path: Path) -> None:
    store = _store(tmp_path)
    log = InquiryLog(tmp_path / "journal")
    log.record(1, ["A"], "s", "p", "key:x", ["granted"])
    log.record(1, ["B"], "s", "p", "key:x", ["refused"])
    # the process dies: the journal file was written to the operating system, never flushed into the store
    log.close()
    with log.segment.open("a", encoding="utf-8") as f:
        f.write('{"t": "2026-11-26T10:00:00", "q": "key:x", "s": "C"')  # cut short mid-write: never answered
    after = InquiryLog(tmp_path / "journal")
    assert after.recover(store) == 2
    assert [r[2] for r in _inquiries(store)] == ["A", "B"]
    after.close(store)
    again = InquiryLog(tmp_path / "journal")
    assert again.recover(store) == 0
    again.close(store)


def test_a_segment_committed_but_not_deleted_is_not_inserted_twice(tmp_path: Path) -> None:
    store = _store(tmp_path)
    log = InquiryLog(tmp_path / "journal")
    log.record(1, ["A", "B"], "s", "p", "key:x", ["granted", "granted"])
    segment = log.segment
    saved = tmp_path / "copy"
    shutil.copy(segment, saved)
    assert log.flush(store) == 2
    log.close(store)
    # a crash between the commit and the deletion leaves the segment behind
    shutil.copy(saved, segment.with_suffix(".closed"))
    after = InquiryLog(tmp_path / "journal")
    assert after.recover(store) == 0
    after.close(store)
    assert len(_inquiries(store)) == 2


def test_with_a_key_the_journal_is_sealed_and_a_crash_mid_frame_loses_only_that_frame(tmp_path: Path) -> None:
    store = _store(tmp_path)
    key = bytes(range(32))
    folder = tmp_path / "journal"
    log = InquiryLog(folder, key=key)
    log.record(3, ["110101199001011237"], "high_speed_rail", "ticket purchase", "key:railway", ["refused"])
    log.record(3, ["110101199001011245", "B"], "loan", "credit check", "key:bank", ["granted", "refused"])
    log.close()  # the process dies before any flush
    data = log.segment.read_bytes()
    assert data.startswith(b"SCS1")
    for clear in (b"110101199001011237", b"1101011990", b"key:railway", b"ticket purchase", b"credit check"):
        assert clear not in data
    assert oct(log.segment.stat().st_mode & 0o777) == "0o600"
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    with log.segment.open("ab") as f:
        f.write(data[-40:])  # a third frame cut short by the crash: never answered
    after = InquiryLog(folder, key=key)
    assert after.recover(store) == 3
    assert [r[2] for r in _inquiries(store)] == ["110101199001011237", "110101199001011245", "B"]
    assert _inquiries(store)[0][1:] == (
        "key:railway",
        "110101199001011237",
        "high_speed_rail",
        "ticket purchase",
        "refused",
        3,
    )
    detail = store.one("SELECT detail FROM audit_log WHERE action = 'inquiries'")
    assert '"unreadable_bytes": 40' in detail
    assert verify_audit(store) == []
    after.close(store)
    # nothing is left: no segment, no link to a segment decrypted in memory
    assert list(folder.iterdir()) == []
    again = InquiryLog(folder, key=key)
    assert again.recover(store) == 0
    again.close(store)
    assert len(_inquiries(store)) == 3


def test_a_sealed_frame_that_was_altered_and_everything_after_it_are_not_read(tmp_path: Path) -> None:
    store = _store(tmp_path)
    key = bytes(32)
    log = InquiryLog(tmp_path / "journal", key=key)
    log.record(1, ["A"], "s", "p", "key:x", ["granted"])
    first_end = log.segment.stat().st_size
    log.record(1, ["B"], "s", "p", "key:x", ["granted"])
    log.record(1, ["C"], "s", "p", "key:x", ["granted"])
    log.close()
    data = bytearray(log.segment.read_bytes())
    data[first_end + 10] ^= 1  # a bit of the second frame flipped
    log.segment.write_bytes(bytes(data))
    after = InquiryLog(tmp_path / "journal", key=key)
    assert after.recover(store) == 1
    assert [r[2] for r in _inquiries(store)] == ["A"]
    detail = store.one("SELECT detail FROM audit_log WHERE action = 'inquiries'")
    assert f'"unreadable_bytes": {len(data) - first_end}' in detail
    after.close(store)


def test_a_sealed_segment_without_the_key_is_refused_and_kept(tmp_path: Path) -> None:
    store = _store(tmp_path)
    log = InquiryLog(tmp_path / "journal", key=bytes(32))
    log.record(1, ["A"], "s", "p", "key:x", ["granted"])
    log.close()
    keyless = InquiryLog(tmp_path / "journal")
    with pytest.raises(StoreError, match=r"is sealed with the store's key: start the service with SOCIALCREDIT_DB_KEY"):
        keyless.recover(store)
    keyless.close()
    assert len(list((tmp_path / "journal").glob("*.closed"))) == 1
    assert _inquiries(store) == []
