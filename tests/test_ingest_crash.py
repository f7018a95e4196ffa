"""A crash in the middle of a batch leaves no partial batch behind; a failure inside the commit neither."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from socialcredit.identifiers import make_ric
from socialcredit.registry.records import ingest as ingest_mod
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.store import open_store

PERSON = make_ric("110101", dt.date(1985, 1, 2), 3)


def _store_with_subject(tmp_path: Path) -> Path:
    db = tmp_path / "s.duckdb"
    subjects = tmp_path / "subjects.csv"
    subjects.write_text(f"subject_id,name\n{PERSON},张三\n", encoding="utf-8")
    with open_store(db, create=True, key="") as store:
        ingest_file(store, subjects, "civil_affairs", today=dt.date(2026, 1, 1))
    batch = tmp_path / "tax.csv"
    rows = "".join(f"T-{i},{PERSON},tax_payment,2025-0{1 + i % 9}-01,{100 + i},paid\n" for i in range(500))
    batch.write_text("record_id,subject_id,record_type,event_date,amount,status\n" + rows, encoding="utf-8")
    return db


def _counts(db: Path) -> tuple[int, int, int]:
    with open_store(db, key="") as store:
        return (
            int(store.one("SELECT count(*) FROM records")),
            int(store.one("SELECT count(*) FROM batches")),
            int(store.one("SELECT count(*) FROM audit_log")),
        )


def test_process_killed_inside_the_commit_leaves_nothing(tmp_path: Path) -> None:
    db = _store_with_subject(tmp_path)
    before = _counts(db)
    # The child process inserts the batch's records, then dies (os._exit: no rollback, no cleanup) before commit.
    script = textwrap.dedent(
        f"""
        import datetime as dt, os
        from socialcredit.registry.records import ingest
        from socialcredit.store import open_store
        def die(*args, **kwargs):
            os._exit(9)
        ingest.append_audit = die
        store = open_store({str(db)!r}, key="")
        ingest.ingest_file(store, {str(tmp_path / "tax.csv")!r}, "tax_bureau", today=dt.date(2026, 1, 1))
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert proc.returncode == 9, proc.stderr
    assert _counts(db) == before
    with open_store(db, key="") as store:  # and the same batch goes in whole afterwards
        report = ingest_file(store, tmp_path / "tax.csv", "tax_bureau", today=dt.date(2026, 1, 1))
    assert report.accepted == 500
    assert _counts(db) == (before[0] + 500, before[1] + 1, before[2] + 1)


def test_error_inside_the_commit_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = _store_with_subject(tmp_path)
    before = _counts(db)

    def fail(*args: object, **kwargs: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(ingest_mod, "append_audit", fail)
    with open_store(db, key="") as store, pytest.raises(RuntimeError, match="disk full"):
        ingest_file(store, tmp_path / "tax.csv", "tax_bureau", today=dt.date(2026, 1, 1))
    assert _counts(db) == before
