"""How `region export` puts its bundle at `--out`: the sequence, the checkpoint line and the file go together (a
failure anywhere leaves none of them), a failed rename is said naming `--out`, a name near the longest a name may be
is written, a file that cannot be made private leaves nothing behind, and an `--out` in a folder where no new file may
be made is refused naming that case. Also: a private key file of another owner is taken, as ssh takes one."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from region_helpers import BEIJING, TIANJIN, Regions, build_regions
from socialcredit.errors import RegionError
from socialcredit.regions import crossborder, exchange, import_bundle
from socialcredit.regions.bundle import KeyFileTooOpen, load_private_key, new_private_key
from socialcredit.registry.access.checkpoints import checkpoint_file
from socialcredit.store import Store


@pytest.fixture
def world(tmp_path: Path) -> Iterator[Regions]:
    w = build_regions(tmp_path, as_of=dt.date(2026, 11, 1), residents=10, movers=1)
    yield w
    for store in w.stores.values():
        store.close()


def _lines(store: Store) -> int:
    path = checkpoint_file(store)
    return path.read_text().count("\n") if path.exists() else 0


def _sequences(store: Store) -> list[int]:
    return [int(s) for (s,) in store.execute("SELECT sequence FROM region_exports ORDER BY 1").fetchall()]


def _audit(store: Store, action: str) -> list[dict[str, Any]]:
    rows = store.execute("SELECT detail FROM audit_log WHERE action = ? ORDER BY seq", [action]).fetchall()
    return [json.loads(d) for (d,) in rows]


def test_a_failure_in_the_transaction_that_records_the_sequence_leaves_no_bundle_and_no_checkpoint(
    world: Regions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bundle was renamed to --out and its checkpoint kept before the transaction that records its sequence: when
    that transaction failed, the bundle stayed at --out and the next export took its sequence again, so the next
    bundle was refused as a replay where the first had been taken. Now nothing is left, and the next export is #1."""
    bj, out = world.stores[BEIJING], world.folder / "out" / "beijing-1.json"
    lines = _lines(bj)

    def boom(*_: Any, **__: Any) -> None:
        raise RuntimeError("the store failed")

    monkeypatch.setattr(crossborder, "mark_sent", boom)
    with pytest.raises(RuntimeError, match="the store failed"):
        exchange.export_bundle(bj, "beijing", world.keys[BEIJING], out)
    assert sorted(p.name for p in out.parent.iterdir()) == []
    assert (_lines(bj), _sequences(bj), _audit(bj, "region_export")) == (lines, [], [])
    assert _audit(bj, "region_export_refused") == [
        {"policy": "beijing", "file": "beijing-1.json", "message": "internal error (RuntimeError)"}
    ]
    monkeypatch.undo()
    again = world.folder / "out" / "beijing-1-again.json"
    done = exchange.export_bundle(bj, "beijing", world.keys[BEIJING], again)
    assert (done.sequence, _lines(bj), _sequences(bj)) == (1, lines + 1, [1])
    assert sorted(p.name for p in out.parent.iterdir()) == ["beijing-1-again.json"]
    assert import_bundle(world.stores[TIANJIN], again).sequence == 1


def test_a_failed_rename_keeps_no_checkpoint_and_names_out(world: Regions, monkeypatch: pytest.MonkeyPatch) -> None:
    """The checkpoint line was kept before the bundle was renamed to --out, and a rename that failed (a file of
    another user in a sticky folder) left it with no bundle, said with the hidden temporary name."""
    bj, out = world.stores[BEIJING], world.folder / "out" / "beijing-1.json"
    out.parent.mkdir()
    lines = _lines(bj)

    def refuse(src: Any, dst: Any) -> None:
        raise PermissionError(1, "Operation not permitted", str(src))

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(RegionError) as refused:
        exchange.export_bundle(bj, "beijing", world.keys[BEIJING], out)
    assert str(refused.value) == (
        f"not exported: the bundle cannot be written to {out} (it cannot be replaced: Operation not permitted); give "
        "--out a file in a folder this user may write. Nothing was written."
    )
    assert (_lines(bj), _sequences(bj), sorted(out.parent.iterdir())) == (lines, [], [])
    assert [r["message"] for r in _audit(bj, "region_export_refused")] == [str(refused.value)]


def test_a_failure_after_the_rename_takes_the_bundle_away_again(
    world: Regions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the bundle is at --out, a failure before the sequence is committed (here: keeping the checkpoint line)
    removes it: no bundle is left whose sequence the next export takes again."""
    bj, out = world.stores[BEIJING], world.folder / "out" / "beijing-1.json"

    def boom(*_: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(exchange, "keep_checkpoint", boom)
    with pytest.raises(OSError, match="No space left on device"):
        exchange.export_bundle(bj, "beijing", world.keys[BEIJING], out)
    assert (_sequences(bj), sorted(out.parent.iterdir())) == ([], [])


class _FailingCommit:
    """A store's connection whose COMMIT fails once ``armed`` (a disk full at the last write): the transaction is
    rolled back and the COMMIT raises, as DuckDB's does."""

    def __init__(self, con: Any) -> None:
        self._con = con
        self.armed = False

    def execute(self, sql: str, *args: Any) -> Any:
        if sql == "COMMIT" and self.armed:
            self._con.execute("ROLLBACK")
            raise OSError(28, "No space left on device")
        return self._con.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


@pytest.mark.parametrize("first", [False, True], ids=["after_earlier_lines", "the_first_line"])
def test_a_failed_commit_takes_back_the_checkpoint_line(
    world: Regions, monkeypatch: pytest.MonkeyPatch, first: bool
) -> None:
    """The checkpoint line was kept in the transaction, before its COMMIT: a COMMIT that failed removed the bundle
    but left the line, a checkpoint kept for an export that did not happen (valid: it names a head signed before the
    transaction, so the next export still went through). Now the line is taken back (the file too, if it was the
    first)."""
    bj, out = world.stores[BEIJING], world.folder / "out" / "beijing-1.json"
    path = checkpoint_file(bj)
    if first:
        path.unlink(missing_ok=True)
    else:
        exchange.export_bundle(bj, "beijing", world.keys[BEIJING], world.folder / "out" / "beijing-0.json")
    before = path.read_bytes() if path.exists() else None
    assert before is None if first else before
    failing = _FailingCommit(bj.con)
    keep = exchange.keep_checkpoint

    def keep_then_fail(*args: Any) -> Any:  # the COMMIT after the line is kept fails
        failing.armed = True
        return keep(*args)

    monkeypatch.setattr(bj, "con", failing)
    monkeypatch.setattr(exchange, "keep_checkpoint", keep_then_fail)
    with pytest.raises(OSError, match="No space left on device"):
        exchange.export_bundle(bj, "beijing", world.keys[BEIJING], out)
    monkeypatch.undo()
    assert (path.read_bytes() if path.exists() else None) == before
    assert not out.exists()
    done = exchange.export_bundle(bj, "beijing", world.keys[BEIJING], out)
    assert done.sequence == (1 if first else 2)
    assert _lines(bj) == (0 if before is None else before.count(b"\n")) + 1


def test_an_out_name_near_the_longest_a_name_may_be_is_written(world: Regions) -> None:
    """The file written first was named `.NAME.TOKEN.part`, 19 characters longer than --out's: a valid name of 237
    to 255 characters was refused ("File name too long")."""
    bj = world.stores[BEIJING]
    out = world.folder / "out" / ("b" * 250 + ".json")
    done = exchange.export_bundle(bj, "beijing", world.keys[BEIJING], out)
    assert (done.sequence, sorted(p.name for p in out.parent.iterdir())) == (1, [out.name])
    assert os.stat(out).st_mode & 0o777 == 0o600


def test_a_bundle_file_that_cannot_be_made_private_is_refused_and_left_nowhere(
    world: Regions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """os.fchmod refused (a file system without modes) raised PermissionError past the refusal's message and left
    the temporary file and its descriptor open."""
    bj, out = world.stores[BEIJING], world.folder / "fat" / "beijing-1.json"
    out.parent.mkdir()
    lines = _lines(bj)
    closed: list[int] = []
    real_close = os.close
    refused: list[int] = []

    def refuse(fd: int, mode: int) -> None:
        refused.append(fd)
        raise PermissionError(1, "Operation not permitted")

    def close(fd: int) -> None:
        real_close(fd)
        closed.append(fd)  # once it is closed

    monkeypatch.setattr(os, "fchmod", refuse)
    monkeypatch.setattr(os, "close", close)
    with pytest.raises(RegionError) as error:
        exchange.export_bundle(bj, "beijing", world.keys[BEIJING], out)
    monkeypatch.undo()
    assert str(error.value) == (
        f"not exported: the bundle cannot be written to {out} (Operation not permitted); give --out a file in a folder "
        "this user may write. Nothing was written."
    )
    # The descriptor fchmod was refused for was closed, once. (Asked of os.fstat afterwards, its number may already
    # be another file's: the next file opened takes the lowest free number.)
    assert len(refused) == 1 and closed == refused
    assert (_lines(bj), _sequences(bj), sorted(out.parent.iterdir())) == (lines, [], [])


def test_an_out_that_may_be_written_in_a_folder_where_no_file_may_be_made_is_refused_naming_that(
    world: Regions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An --out the user may write in a folder where they may make no file was written in place before the bundle
    was written to a new file beside it; it is refused naming that case and what to do, the file left as it was."""
    bj, out = world.stores[BEIJING], world.folder / "ro" / "beijing-1.json"
    out.parent.mkdir()
    out.write_text("an older bundle")
    real_open = os.open

    def no_new_file(path: Any, flags: int, mode: int = 0o777, **kw: Any) -> int:
        if flags & os.O_CREAT and str(path).endswith(".part"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, mode, **kw)

    monkeypatch.setattr(os, "open", no_new_file)
    with pytest.raises(RegionError) as refused:
        exchange.export_bundle(bj, "beijing", world.keys[BEIJING], out)
    monkeypatch.undo()
    assert str(refused.value) == (
        f"not exported: the bundle cannot be written to {out} (no new file may be made in its folder {out.parent}: "
        "Permission denied; the bundle is written to a new file beside it and renamed to beijing-1.json once whole, "
        "never written over the file in place); give --out a file in a folder this user may write. Nothing was "
        "written."
    )
    assert (out.read_text(), _sequences(bj), sorted(p.name for p in out.parent.iterdir())) == (
        "an older bundle",
        [],
        ["beijing-1.json"],
    )


def test_a_key_file_of_another_owner_that_the_caller_may_read_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key file whose group may read it was refused whoever owned it: root's key, 0640, group of the service that
    runs the export, was refused with a `chmod 600` the service cannot run and that would lock it out. As ssh, only
    the caller's own file is refused."""
    key = tmp_path / "beijing.key"
    key.write_bytes(new_private_key())
    key.chmod(0o640)
    with pytest.raises(KeyFileTooOpen, match=r"has mode 0640: a private key file must be readable by its owner only"):
        load_private_key(key)
    monkeypatch.setattr(os, "geteuid", lambda: key.stat().st_uid + 1)
    assert load_private_key(key) is not None
