"""Rotating the store's key (`socialcredit store rotate-key`; docs/settings.md, "Rotating the store's key").

The store is copied whole into a new file beside it, ``<db>.rotating``, encrypted with the new key; the copy is
checked (the same tables, views, indexes and sequences, as many rows in every table; opened again with the new key),
audited, written to disk (fsync) and then renamed over the store. A crash before the rename leaves the store as it
was, under its old key (the next open removes the unfinished copy); after it, the store is the copy, under the new
key: nothing in between. The store is held throughout, so no other process writes to it meanwhile.

The files beside the store that are sealed with keys derived from its key: the inquiry journal
(``<db>.inquiries/``) is moved into the store first, so that none is left to seal again, and what the service
journals afterwards is sealed under the new key. Evidence files are in the store. The store's id is copied, so keys
derived from the new key are salted as before; but they are other keys: an export's pseudonyms differ after a
rotation.
"""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from socialcredit.errors import SocialCreditError, StoreError
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.decisions.inquiries import journal_folder, journal_of
from socialcredit.store import (
    KEY_ENV,
    Store,
    check_new_key,
    copy_under_key,
    drop_rotating_copy,
    open_store,
    rotating_path,
    row_counts,
)

__all__ = ["MAX_KEY_CHARS", "NEW_KEY_ENV", "KeyRotation", "rotate_store_key"]

NEW_KEY_ENV = "SOCIALCREDIT_NEW_DB_KEY"  # the new key's variable (a settings field), for messages
MAX_KEY_CHARS = 1024  # a passphrase's length is bounded like any input


@dataclass(frozen=True)
class KeyRotation:
    """What a rotation did: the store had a key before (else it is encrypted now), the tables and rows copied and
    checked, the journalled inquiries moved into the store first, the number of its audit entry; and, if the store
    (renamed: under the new key) could not be written to the disk in its folder, why."""

    path: Path
    was_encrypted: bool
    tables: int
    rows: int
    inquiries: int
    audit_seq: int
    unsynced: str | None = None  # why the folder's entry of the renamed store was not written to the disk


def rotate_store_key(db: Path | str, new_key: str, *, actor: str = "cli") -> KeyRotation:
    """Encrypt the store at ``db`` with ``new_key`` in place of its key ($SOCIALCREDIT_DB_KEY; unset: the store is
    not encrypted, and is encrypted now). Refused while another process holds the store."""
    db = Path(db)
    if not new_key:
        raise SocialCreditError(
            f"the new key is empty: set {NEW_KEY_ENV} to it, or type it when asked",
            zh=f"新密钥为空：请将 {NEW_KEY_ENV} 设为新密钥，或在提示时输入",
        )
    if len(new_key) > MAX_KEY_CHARS:
        raise SocialCreditError(
            f"the new key is {len(new_key):,} characters long; a key is at most {MAX_KEY_CHARS:,}",
            zh=f"新密钥长 {len(new_key):,} 个字符；密钥最多 {MAX_KEY_CHARS:,} 个字符",
        )
    check_new_key(new_key, "the new key", "新密钥")  # before anything is moved or written
    store = open_store(db)
    copy = rotating_path(db)
    try:
        if store.key == new_key:
            raise SocialCreditError(
                f"the new key is the key in {KEY_ENV} already: choose another",
                zh=f"新密钥已是 {KEY_ENV} 中的密钥：请另选一个",
            )
        inquiries = _flush_journal(store)
        store.execute("CHECKPOINT")  # nothing of the store left in its log (a log is never renamed with it)
        try:
            rows = copy_under_key(store, copy, new_key)
            seq = _checked(copy, new_key, rows, actor, was_encrypted=store.encrypted, inquiries=inquiries)
            _owned_like(copy, db)
            _synced(copy)
            unsynced = _swap(copy, db)
        except BaseException:
            drop_rotating_copy(db)
            raise
        return KeyRotation(db, store.encrypted, len(rows), sum(rows.values()), inquiries, seq, unsynced)
    finally:
        store.close()


def _flush_journal(store: Store) -> int:
    """Move the inquiries journalled beside the store into it; returns how many."""
    if not journal_folder(store.path).is_dir():  # none to move, and none made
        return 0
    journal = journal_of(store)
    try:
        return journal.recover(store)
    finally:
        journal.close()


def _checked(copy: Path, key: str, rows: dict[str, int], actor: str, *, was_encrypted: bool, inquiries: int) -> int:
    """Open the copy with the new key, check its rows once more, and audit the rotation in it (no key in the entry);
    returns the entry's number."""
    with open_store(copy, key=key) as new:
        if row_counts(new.con, rows) != rows:
            raise StoreError(
                f"the copy under the new key does not read back as written ({copy}); nothing changed",
                zh=f"新密钥下的副本读回的内容与写入的不同（{copy}）；未作任何更改",
            )
        with new.transaction():
            detail = {"encrypted_before": was_encrypted, "tables": len(rows), "rows": sum(rows.values())}
            seq = append_audit(new, actor, "store_key_rotated", None, {**detail, "inquiries_moved": inquiries})
        new.execute("CHECKPOINT")
    if copy.with_name(copy.name + ".wal").exists():
        raise StoreError(
            f"the copy under the new key kept a write-ahead log ({copy}.wal); nothing changed",
            zh=f"新密钥下的副本留下了预写日志（{copy}.wal）；未作任何更改",
        )
    return seq


def _owned_like(copy: Path, db: Path) -> None:
    """Give the copy the store's owner and group (where this process may: a store of the service's user, rotated
    by root, stays the service's) and its mode, no wider than the owner's reading and writing."""
    was = db.stat()
    if (was.st_uid, was.st_gid) != (os.getuid(), os.getgid()):
        with contextlib.suppress(PermissionError):  # not root: the copy stays the caller's
            os.chown(copy, was.st_uid, was.st_gid)
    os.chmod(copy, stat.S_IMODE(was.st_mode) & 0o600)


def _synced(path: Path) -> None:
    """Write ``path`` (a file or a folder's entries) to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _swap(copy: Path, db: Path) -> str | None:
    """Put the copy in the store's place in one step (a rename), and write the folder's entry to the disk; returns
    why that could not be written (the store is the copy, under the new key, all the same), or None."""
    os.replace(copy, db)
    try:
        _synced(db.parent)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None
