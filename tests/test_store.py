"""The store: schema migrations, encryption at rest, clear errors for a wrong or missing key."""

from __future__ import annotations

from pathlib import Path

import pytest

from socialcredit.errors import StoreError
from socialcredit.store import KEY_ENV, MEMORY_ENV, MIGRATIONS, open_store


def test_new_store_is_migrated_to_the_newest_schema(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.duckdb", create=True, key="") as store:
        assert store.schema_version() == MIGRATIONS[-1][0]
        assert store.created and not store.encrypted
    with open_store(tmp_path / "s.duckdb", key="") as store:  # reopening applies nothing twice
        assert store.one("SELECT count(*) FROM schema_version") == len(MIGRATIONS)


def test_encrypted_store_round_trip_and_wrong_key(tmp_path: Path) -> None:
    path = tmp_path / "enc.duckdb"
    with open_store(path, create=True, key="s3cret'key") as store:
        assert store.encrypted
        store.execute("INSERT INTO policies VALUES ('p', '1', 'abc', 'secret_policy_text_甲', now())")
    raw = path.read_bytes()
    assert b"secret_policy_text" not in raw and b"tax_payment" not in raw  # nothing readable in the file
    with open_store(path, key="s3cret'key") as store:
        assert store.one("SELECT text FROM policies WHERE policy_id = 'p'") == "secret_policy_text_甲"
        assert store.one("SELECT record_types FROM sources WHERE source_id = 'courts'") == ["court_judgment"]
    with pytest.raises(StoreError) as wrong:
        open_store(path, key="other")
    assert str(wrong.value) == f"the key in {KEY_ENV} does not open the store {path}"
    with pytest.raises(StoreError) as missing:
        open_store(path, key="")
    assert str(missing.value) == f"the store {path} is encrypted: set {KEY_ENV} to its key"


def test_plain_store_shows_its_content_in_the_file(tmp_path: Path) -> None:
    """The control for the encryption test: without a key, the same text is readable in the file."""
    path = tmp_path / "plain.duckdb"
    with open_store(path, create=True, key="") as store:
        store.execute("INSERT INTO policies VALUES ('p', '1', 'abc', 'secret_policy_text_甲', now())")
    assert b"secret_policy_text" in path.read_bytes()


def test_plain_store_refuses_a_key(tmp_path: Path) -> None:
    path = tmp_path / "plain.duckdb"
    open_store(path, create=True, key="").close()
    with pytest.raises(StoreError) as exc:
        open_store(path, key="k")
    assert str(exc.value) == f"the store {path} is not encrypted, but {KEY_ENV} is set; unset it to open it"


def test_missing_store_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as exc:
        open_store(tmp_path / "none.duckdb")
    assert (
        str(exc.value) == f"no store at {tmp_path / 'none.duckdb'}; create one with `socialcredit init --db "
        f"{tmp_path / 'none.duckdb'}`"
    )


def test_key_is_read_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "from-env")
    with open_store(tmp_path / "e.duckdb", create=True) as store:
        assert store.encrypted
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(StoreError):
        open_store(tmp_path / "e.duckdb")


def test_memory_limit_and_spill_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MEMORY_ENV, "1GB")
    store = open_store(tmp_path / "m.duckdb", create=True, key="")
    assert store.one("SELECT current_setting('memory_limit')") in ("953.6 MiB", "1.0 GiB", "1000.0 MB")
    assert store.one("SELECT current_setting('temp_directory')") == str(tmp_path / "m.duckdb.tmp")
    store.close()
    monkeypatch.setenv(MEMORY_ENV, "lots")
    with pytest.raises(StoreError) as info:
        open_store(tmp_path / "m.duckdb", key="")
    assert str(info.value) == "SOCIALCREDIT_MEMORY_LIMIT='lots' is not a memory size such as 12GB"


def test_a_store_held_by_another_process_is_refused_plainly(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    db = tmp_path / "held.duckdb"
    open_store(db, create=True, key="").close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from socialcredit.store import open_store; s = open_store({str(db)!r}, key=''); "
            "print('open', flush=True); import time; time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(StoreError) as info:
            open_store(db, key="")
        assert str(info.value) == (
            f"the store {db} is in use by another process, such as a running `socialcredit serve` (only one "
            "process may write to it): stop that process, or go through the service's HTTP API"
        )
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    time.sleep(0.1)
    open_store(db, key="").close()  # free again once the holder is gone
