"""`socialcredit store rotate-key`: the store encrypted under a new key, run through the installed console script.

A real encrypted store holds a scored resident, a dispute with an evidence file, and an inquiry journalled by the
service (a sealed segment beside the store) but not yet moved into it. After the rotation the new key opens all of
it, the old key is refused with the usual message, the audit chain is intact with the rotation in it, and nothing
of the resident is on disk in clear. A crash before the copy is renamed over the store leaves the store under its
old key with every row (and the next open says the old key still opens it); one after, the store under the new key.
Until 2026-12-06 there was no way to change the key at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import pty
import select
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import duckdb
import pytest

from crash_helpers import CLI, store_counts
from socialcredit.backends.files import export_catalog
from socialcredit.generate import AS_OF as GENERATED_AS_OF
from socialcredit.generate import generate
from socialcredit.identifiers import make_ric
from socialcredit.registry.access.storekey import rotate_store_key
from socialcredit.registry.decisions.inquiries import journal_folder, journal_of
from socialcredit.registry.due_process.disputes import file_dispute
from socialcredit.registry.due_process.evidence import MEDIA_TYPES, add_evidence, evidence_file
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.registry.records.population import load_population
from socialcredit.registry.scoring.export import export_inputs
from socialcredit.registry.scoring.files import score_files
from socialcredit.registry.scoring.policies import policy_without_store, resolve_policy
from socialcredit.registry.scoring.runs import score
from socialcredit.store import _objects, open_store
from store_copies import copied

OLD = "old-key-3f9a1c"
NEW = "new-key-b72e40"
TODAY = dt.date(2026, 7, 1)
# residents no other test's store holds, searched for on disk after the rotation
PERSON = make_ric("110105", dt.date(1973, 11, 29), 417)
ASKED_ABOUT = make_ric("110108", dt.date(1988, 2, 17), 263)
PNG = MEDIA_TYPES["image/png"] + b"\x00\x00\x00\rIHDR" + b"ROTATION-EVIDENCE-5c2d" * 20
DID_NOT_FINISH = (
    ": a rotation of its key did not finish, and it still opens with the key it had before (run `socialcredit "
    "store rotate-key` again)"
)


def _city(folder: Path, key: str | None) -> Path:
    """A store in ``folder/store`` (under ``key``) holding PERSON, defaulter of a court judgment, scored, with a
    dispute of it and an evidence file; and, journalled beside it and not yet moved in, an inquiry about
    ASKED_ABOUT. Built once per process for each key (see store_copies.copied) and copied into ``folder``."""
    named = hashlib.sha256((key or "").encode()).hexdigest()[:12]  # the key itself is never in a folder's name
    copied(folder, f"rotation-city-{named}", lambda where: _build_city(where, key))
    return folder / "store" / "city.duckdb"


def _build_city(folder: Path, key: str | None) -> None:
    """The store of _city, built in ``folder``. The batches are written outside the store's folder and removed once
    ingested."""
    db = folder / "store" / "city.duckdb"
    batches = folder / "batches"
    batches.mkdir()
    (batches / "civil.csv").write_text(
        f"subject_id,name,district,profession\n{PERSON},王伟,朝阳区,retail\n{ASKED_ABOUT},李娜,海淀区,education\n",
        encoding="utf-8",
    )
    (batches / "courts.csv").write_text(
        "record_id,subject_id,record_type,event_date,case_type,amount,status,defaulter\n"
        f"C-1,{PERSON},court_judgment,2026-06-01,civil,80000,unfulfilled,true\n",
        encoding="utf-8",
    )
    with open_store(db, create=True, key=key or "") as store:
        ingest_file(store, batches / "civil.csv", "civil_affairs", today=TODAY)
        ingest_file(store, batches / "courts.csv", "courts", today=TODAY)
        run = score(store, resolve_policy(store, "beijing"), TODAY)
        dispute = file_dispute(store, PERSON, "courts", "C-1", "paid in full", today=TODAY)
        add_evidence(store, int(dispute["dispute_id"]), PNG, "receipt.png", "cli", today=TODAY)
        journal = journal_of(store)
        journal.record(run.run_id, [ASKED_ABOUT], "loan", "credit check", "key:bank", ["granted"])
        journal.close()  # the service ended before it moved the inquiry into the store
    for batch in batches.iterdir():
        batch.unlink()


def _empty(db: Path, key: str) -> None:
    """A new store at ``db`` (named city.duckdb), empty, under ``key`` (empty: none), as ``open_store(db, create=True,
    key=key)`` makes it: made once per process for each key, and copied (see store_copies.copied)."""
    assert db.name == "city.duckdb", db
    named = hashlib.sha256(key.encode()).hexdigest()[:12]
    copied(
        db.parent, f"rotation-empty-{named}", lambda where: open_store(where / db.name, create=True, key=key).close()
    )


def _env(db: Path, key: str | None, hook: str | None) -> dict[str, str]:
    """The environment of the console script: ``key`` as SOCIALCREDIT_DB_KEY (None: no setting of ours); with
    ``hook``, a ``sitecustomize`` module (beside the store's folder) run at its start, and the temporary folder
    (where a crash log goes) a folder ``tmp`` beside the store's folder, not the system's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALCREDIT_")}
    env |= {"SOCIALCREDIT_DB_KEY": key} if key else {}
    if hook is not None:
        folder = db.parent.parent / "hook"
        folder.mkdir(exist_ok=True)
        (folder / "sitecustomize.py").write_text(hook, encoding="utf-8")
        env["PYTHONPATH"] = os.pathsep.join([str(folder), *filter(None, [os.environ.get("PYTHONPATH")])])
        temporary = db.parent.parent / "tmp"
        temporary.mkdir(exist_ok=True)
        env["TMPDIR"] = str(temporary)
    return env


def _cli(
    *args: str, db: Path, key: str | None, new_key: str | None = None, hook: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The console script on ``db`` with ``key`` as SOCIALCREDIT_DB_KEY and ``new_key`` as SOCIALCREDIT_NEW_DB_KEY
    (None: unset), no terminal; with ``hook``, a ``sitecustomize`` module run at its start."""
    env = _env(db, key, hook) | {"COLUMNS": "200"}
    env |= {"SOCIALCREDIT_NEW_DB_KEY": new_key} if new_key else {}
    return subprocess.run(
        [CLI, *args, "--db", str(db)],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=300,
        check=False,
    )


def _counts(db: Path, key: str) -> dict[str, int]:
    with open_store(db, key=key) as store:
        return store_counts(store)


def _refused(db: Path, key: str, said: str = "") -> None:
    """``audit verify`` with ``key`` exits 2 with the wrong-key message (and ``said`` after it)."""
    proc = _cli("audit", "verify", db=db, key=key)
    assert (proc.returncode, proc.stderr) == (
        2,
        f"error: the key in SOCIALCREDIT_DB_KEY does not open the store {db}{said}\n",
    )


def _verified(db: Path, key: str) -> str:
    proc = _cli("audit", "verify", db=db, key=key)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def _on_disk(text: bytes, folder: Path, since: float) -> list[Path]:
    """The files holding ``text``: under ``folder``, and in the temporary folder itself (where a crash log goes)
    written since ``since``."""
    found = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink() and text in p.read_bytes()]
    for path in Path(tempfile.gettempdir()).iterdir():
        try:
            if path.is_file() and not path.is_symlink() and path.stat().st_mtime >= since and text in path.read_bytes():
                found.append(path)
        except OSError:  # another process's file, gone or not ours to read
            continue
    return found


def test_the_new_key_opens_everything_and_the_old_one_nothing(tmp_path: Path) -> None:
    db = _city(tmp_path, OLD)
    journal = journal_folder(db)
    assert [p.suffix for p in journal.iterdir()] == [".open"]  # the sealed segment, not yet moved in
    before = _counts(db, OLD)
    with open_store(db, key=OLD) as store:
        store_id = store.store_id
        objects = store.rows("SELECT index_name FROM duckdb_indexes() WHERE database_name = 'registry' ORDER BY 1")
    started = time.time() - 1

    proc = _cli("store", "rotate-key", db=db, key=OLD, new_key=NEW)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    tables, rows = len(before), sum(before.values()) + 2  # the inquiry moved in, and its audit entry
    assert proc.stdout == (
        f"The store {db} is now encrypted with the new key: {tables} tables, {rows} rows copied and checked; 1 "
        f"journalled inquiry moved into it first (audit entry {before['audit_log'] + 2}). Set SOCIALCREDIT_DB_KEY "
        "to the new key: the old one no longer opens it.\n"
    )
    beside = ["city.duckdb", "city.duckdb.checkpoints", "city.duckdb.inquiries", "city.duckdb.signing.key"]
    assert sorted(p.name for p in db.parent.iterdir()) == beside  # no copy, no log, no spill left
    assert list(journal.iterdir()) == []  # nothing sealed under the old key is left
    _refused(db, OLD)
    verified = _verified(db, NEW)  # the chain, with the rotation's entry, and the checkpoints signed before it
    assert verified.startswith(f"The audit log is intact: {before['audit_log'] + 2} entries. It matches "), verified
    after = _counts(db, NEW)
    assert after == before | {"inquiries": before["inquiries"] + 1, "audit_log": before["audit_log"] + 2}
    with open_store(db, key=NEW) as store:
        assert store.store_id == store_id
        assert store.rows("SELECT index_name FROM duckdb_indexes() WHERE database_name = 'registry' ORDER BY 1") == (
            objects
        )
        entry = store.rows("SELECT actor, action, detail FROM audit_log ORDER BY seq DESC LIMIT 1")[0]
        assert (entry["actor"], entry["action"]) == ("cli", "store_key_rotated")
        assert json.loads(entry["detail"]) == {
            "encrypted_before": True,
            "inquiries_moved": 1,
            "rows": rows,
            "tables": tables,
        }
        asked = store.rows("SELECT subject_id, requester, outcome FROM inquiries")
        assert asked == [{"subject_id": ASKED_ABOUT, "requester": "key:bank", "outcome": "granted"}]
        dispute_id = int(store.one("SELECT dispute_id FROM disputes"))
        evidence_id = int(store.one("SELECT evidence_id FROM dispute_evidence"))
        assert evidence_file(store, dispute_id, evidence_id, "cli", purpose="test")[1] == PNG
        # what the service journals now is sealed under the new key's derived key, and moved in with it
        journal_now = journal_of(store)
        journal_now.record(1, [PERSON], "loan", "credit check", "key:bank", ["refused"])
        assert journal_now.flush(store) == 1
        journal_now.close()
    # nothing of the residents, and neither key, in clear: in the store's folder, or anywhere in the temporary folder
    for text in (PERSON.encode(), ASKED_ABOUT.encode(), OLD.encode(), NEW.encode(), b"ROTATION-EVIDENCE-5c2d"):
        assert _on_disk(text, tmp_path, started) == [], text


def test_a_store_without_a_key_is_encrypted(tmp_path: Path) -> None:
    db = _city(tmp_path, None)
    before = _counts(db, "")
    assert PERSON.encode() in db.read_bytes()

    proc = _cli("store", "rotate-key", db=db, key=None, new_key=NEW)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith(f"The store {db} is now encrypted (it had no key before): {len(before)} tables, ")
    assert PERSON.encode() not in db.read_bytes()
    refused = _cli("audit", "verify", db=db, key=None)
    assert (refused.returncode, refused.stderr) == (
        2,
        f"error: the store {db} is encrypted: set SOCIALCREDIT_DB_KEY to its key\n",
    )
    assert _counts(db, NEW)["inquiries"] == before["inquiries"] + 1
    assert "The audit log is intact: " in _verified(db, NEW)
    # under --lang zh (the store's commands had no --lang: English only), the refusal and the rotation alike
    refused_zh = _cli("audit", "verify", "--lang", "zh", db=db, key=None)
    assert (refused_zh.returncode, refused_zh.stderr) == (
        2,
        f"错误：存储 {db} 已加密：请将 SOCIALCREDIT_DB_KEY 设为其密钥\n",
    )
    again = _cli("store", "rotate-key", "--lang", "zh", db=db, key=NEW, new_key=OLD)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.startswith(f"存储 {db} 已用新密钥加密：复制并核对了 {len(before)} 个表、"), again.stdout
    assert again.stdout.endswith("。请将 SOCIALCREDIT_DB_KEY 设为新密钥：旧密钥已无法打开它。\n"), again.stdout


_CRASH = """
import os
import socialcredit.registry.access.storekey as storekey

swap = storekey._swap


def crash(copy, db):
    {before}
    os._exit(9)


storekey._swap = crash
"""


# where a rotation stops short of the rename: the module patched at the process's start, and what it is made to end
_STOPS = {
    "after the copy": ("socialcredit.store", "_objects"),  # written and checkpointed, before it is checked
    "after the check": ("socialcredit.registry.access.storekey", "_synced"),  # read back and audited
    "at the swap": ("socialcredit.registry.access.storekey", "_swap"),
}
_CRASH_AT = """
import os
import {module} as stopped


def crash(*args, **kwargs):
    os._exit(9)


stopped.{name} = crash
"""


@pytest.mark.parametrize("stop", list(_STOPS))
def test_a_crash_before_the_swap_leaves_the_old_store_whole(tmp_path: Path, stop: str) -> None:
    db = _city(tmp_path, OLD)
    before = _counts(db, OLD)
    beside = sorted(p.name for p in db.parent.iterdir())
    module, name = _STOPS[stop]

    proc = _cli("store", "rotate-key", db=db, key=OLD, new_key=NEW, hook=_CRASH_AT.format(module=module, name=name))

    assert proc.returncode == 9, proc.stdout + proc.stderr
    copy = db.with_name(db.name + ".rotating")
    assert copy.is_file()  # the copy, written under the new key, not renamed
    copy.with_name(copy.name + ".wal").write_bytes(b"the copy's log, as a crash amid its writes leaves it")
    _refused(db, NEW, DID_NOT_FINISH)
    # every row: the journalled inquiry moved in (and audited) before the copy, nothing else changed
    assert _counts(db, OLD) == before | {"inquiries": before["inquiries"] + 1, "audit_log": before["audit_log"] + 1}
    assert sorted(p.name for p in db.parent.iterdir()) == beside  # the copy and its log removed by that open
    _refused(db, NEW)
    again = _cli("store", "rotate-key", db=db, key=OLD, new_key=NEW)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "The audit log is intact: " in _verified(db, NEW)


def test_a_crash_after_the_swap_leaves_the_new_store(tmp_path: Path) -> None:
    db = _city(tmp_path, OLD)
    before = _counts(db, OLD)

    proc = _cli("store", "rotate-key", db=db, key=OLD, new_key=NEW, hook=_CRASH.format(before="swap(copy, db)"))

    assert proc.returncode == 9, proc.stdout + proc.stderr
    _refused(db, OLD)
    assert _counts(db, NEW) == before | {"inquiries": before["inquiries"] + 1, "audit_log": before["audit_log"] + 2}


def test_refused_while_another_process_holds_the_store(tmp_path: Path) -> None:
    db = _city(tmp_path, OLD)
    held = open_store(db, key=OLD)  # as a running service holds it
    try:
        proc = _cli("store", "rotate-key", db=db, key=OLD, new_key=NEW)
    finally:
        held.close()
    assert (proc.returncode, proc.stderr) == (
        2,
        f"error: the store {db} is in use by another process, such as a running `socialcredit serve` (only one "
        "process may write to it): stop that process, or go through the service's HTTP API\n",
    )
    assert "The audit log is intact: " in _verified(db, OLD)
    assert not db.with_name(db.name + ".rotating").exists()


REFUSED_NEW_KEYS: list[tuple[str | None, str]] = [
    (
        None,
        "set SOCIALCREDIT_NEW_DB_KEY to the new key (or run this at a terminal to be asked for it); a key is never "
        "given as an argument, where other users of the machine could read it",
    ),
    (OLD, "the new key is the key in SOCIALCREDIT_DB_KEY already: choose another"),
    ("k" * 1025, "the new key is 1,025 characters long; a key is at most 1,024"),
]


def test_refused_without_a_new_key(tmp_path: Path) -> None:
    """Unset, the same as the old, too long: each refused, and the store is as it was (one store for the three, the
    audit log verified once after them: a refusal that wrote an entry would show in the count)."""
    db = tmp_path / "store" / "city.duckdb"
    _empty(db, OLD)
    for new_key, said in REFUSED_NEW_KEYS:
        proc = _cli("store", "rotate-key", db=db, key=OLD, new_key=new_key)
        assert (proc.returncode, proc.stderr) == (2, f"error: {said}\n")
    assert "The audit log is intact: 0 entries." in _verified(db, OLD)


def test_a_copy_that_cannot_be_written_changes_nothing(tmp_path: Path) -> None:
    """The copy cannot be made (here a folder stands where it goes; a full disk ends the same way): exit 2 naming
    it, and the store is as it was under its old key, the journalled inquiry moved in."""
    db = _city(tmp_path, OLD)
    before = _counts(db, OLD)
    db.with_name(db.name + ".rotating").mkdir()

    proc = _cli("store", "rotate-key", db=db, key=OLD, new_key=NEW)

    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith(f"error: cannot write the copy under the new key at {db}.rotating: ")
    assert proc.stderr.endswith("; nothing changed\n")
    assert _counts(db, OLD) == before | {"inquiries": before["inquiries"] + 1, "audit_log": before["audit_log"] + 1}
    assert db.with_name(db.name + ".rotating").is_dir()  # not a copy the rotation wrote: that open left it alone
    _refused(db, NEW)


PROMPTS = {"en": [b"New key: ", b"Repeat for confirmation: "], "zh": ["新密钥: ".encode(), "再次输入以确认: ".encode()]}


def _at_a_terminal(
    db: Path, key: str | None, typed: list[bytes], hook: str | None = None, lang: str = "en"
) -> tuple[int, bytes]:
    """``store rotate-key --lang LANG`` at a terminal (a pseudo-terminal it is the session of), with no new key in
    its environment: each of ``typed`` is typed after the prompt before it. Its exit code and all it showed."""
    env = _env(db, key, hook)
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.execve(CLI, [CLI, "store", "rotate-key", "--lang", lang, "--db", str(db)], env)
    shown = b""
    prompts = list(PROMPTS[lang])
    while True:
        if select.select([fd], [], [], 120)[0] == []:
            break
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child ended: the terminal is closed
            break
        if not chunk:
            break
        shown += chunk
        while prompts and typed and shown.endswith(prompts[0]):
            prompts.pop(0)
            os.write(fd, typed.pop(0))
    os.close(fd)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), shown


def test_the_new_key_asked_for_at_a_terminal_is_not_shown(tmp_path: Path) -> None:
    db = tmp_path / "store" / "city.duckdb"
    _empty(db, OLD)

    code, shown = _at_a_terminal(db, OLD, [NEW.encode() + b"\n", NEW.encode() + b"\n"])

    assert code == 0, shown
    assert shown.startswith(b"New key: \r\nRepeat for confirmation: \r\nThe store "), shown
    assert NEW.encode() not in shown  # typed without an echo
    _refused(db, OLD)
    assert "The audit log is intact: 1 entry." in _verified(db, NEW)


RULE = "a store's key is printable ASCII (letters, digits, spaces, punctuation) without a backslash"
RULE_ZH = "存储的密钥须为可打印的 ASCII 字符（字母、数字、空格、标点），且不含反斜杠"
UNRULY = ["新的密钥2026", "pa\\ss\\x41word", "line\nbreak", "tab\there"]


def test_a_new_key_duckdb_would_misread_is_refused_unquoted(tmp_path: Path) -> None:
    """DuckDB reads a key as BLOB text (``\\x41`` is ``A``; other than ASCII refused, its message quoting the key):
    such a new key (Chinese, backslashes, a newline, a tab) is refused by the rule, never echoed, and the store is as
    it was (one store for the four, its audit log verified once after them)."""
    db = tmp_path / "store" / "city.duckdb"
    _empty(db, OLD)

    for new_key in UNRULY:
        proc = _cli("store", "rotate-key", db=db, key=OLD, new_key=new_key)

        assert (proc.returncode, proc.stdout, proc.stderr) == (
            2,
            "",
            f"error: the new key cannot be a store's key: {RULE}\n",
        ), new_key
        assert [p.name for p in db.parent.iterdir()] == ["city.duckdb"]  # nothing written beside it
    assert "The audit log is intact: 0 entries." in _verified(db, OLD)


@pytest.mark.parametrize("key", UNRULY[:2], ids=["chinese", "backslashes"])
def test_a_store_key_duckdb_would_misread_is_never_echoed(tmp_path: Path, key: str) -> None:
    """The same keys in SOCIALCREDIT_DB_KEY: opening a store says the key does not open it, by the rule; creating
    one is refused before anything is written."""
    db = tmp_path / "store" / "city.duckdb"
    _empty(db, OLD)
    opened = _cli("audit", "verify", db=db, key=key)
    assert (opened.returncode, opened.stdout, opened.stderr) == (
        2,
        "",
        f"error: the key in SOCIALCREDIT_DB_KEY does not open the store {db}: {RULE}\n",
    )
    new = tmp_path / "other" / "new.duckdb"
    created = _cli("init", db=new, key=key)
    assert (created.returncode, created.stdout, created.stderr) == (
        2,
        "",
        f"error: the key in SOCIALCREDIT_DB_KEY cannot be a store's key: {RULE}\n",
    )
    assert not new.parent.exists()


def test_a_key_with_a_backslash_escape_still_opens_its_store(tmp_path: Path) -> None:
    """A store whose key was given with DuckDB's escape (``\\x41`` for ``A``) before the rule opens with it still."""
    db = tmp_path / "store" / "city.duckdb"
    open_store(db, create=True, key="pa-A-word").close()
    with open_store(db, key="pa-\\x41-word") as store:
        assert store.encrypted
    assert "The audit log is intact: 0 entries." in _verified(db, "pa-\\x41-word")


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user takes root")
def test_the_store_keeps_its_owner_and_mode(tmp_path: Path) -> None:
    """A store of the service's user (uid 1000 here), readable by its group, rotated by root: the new file is still
    the service's, its mode narrowed to the owner's reading and writing (0600) as a store's is."""
    db = tmp_path / "store" / "city.duckdb"
    _empty(db, OLD)
    os.chown(db, 1000, 1000)
    db.chmod(0o640)

    proc = _cli("store", "rotate-key", db=db, key=OLD, new_key=NEW)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    now = db.stat()
    assert (now.st_uid, now.st_gid, stat.S_IMODE(now.st_mode)) == (1000, 1000, 0o600)
    assert "The audit log is intact: 1 entry." in _verified(db, NEW)


def test_the_copy_is_checked_by_what_makes_each_object_not_its_name_alone() -> None:
    """The check of a copy compares each table's, view's and index's SQL and each sequence's step and bounds: a copy
    by COPY FROM DATABASE (its sequence used) matches its store in all of it; one with the same names made otherwise
    differs in each."""
    con = duckdb.connect()
    for alias, (column, steps) in {"a": ("INTEGER", 1), "b": ("BIGINT", 3)}.items():
        con.execute(f"ATTACH ':memory:' AS {alias}")
        con.execute(f"CREATE TABLE {alias}.t (i {column})")
        con.execute(f"CREATE VIEW {alias}.v AS SELECT {steps} AS n")
        con.execute(f"CREATE INDEX ix ON {alias}.t ((i + {steps}))")
        con.execute(f"CREATE SEQUENCE {alias}.s INCREMENT {steps}")
        for _ in range(steps):
            con.execute(f"SELECT nextval('{alias}.s')")
    con.execute("ATTACH ':memory:' AS c")
    con.execute("COPY FROM DATABASE a TO c")
    a, b = _objects(con, "a"), _objects(con, "b")
    assert _objects(con, "c") == a
    assert {kind: sorted(name for name in a[kind] if a[kind][name] != b[kind][name]) for kind in a} == {
        "table": ["main.t"],
        "view": ["main.v"],
        "index": ["main.ix"],
        "sequence": ["main.s"],
    }


_UNSYNCED_FOLDER = """
import errno
import os
import socialcredit.registry.access.storekey as storekey

synced = storekey._synced


def failing(path):
    if path.is_dir():
        raise OSError(errno.EIO, os.strerror(errno.EIO))
    synced(path)


storekey._synced = failing
"""


def test_a_folder_not_written_to_the_disk_after_the_rename_is_a_warning(tmp_path: Path) -> None:
    """The rename is done but the folder's entry cannot be written to the disk: the key was changed (exit 0, the
    new key opens the store, nothing cleaned up), with a warning of what a crash may still undo and what to check."""
    db = tmp_path / "store" / "city.duckdb"
    _empty(db, OLD)

    proc = _cli("store", "rotate-key", db=db, key=OLD, new_key=NEW, hook=_UNSYNCED_FOLDER)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith(f"The store {db} is now encrypted with the new key: "), proc.stdout
    assert proc.stderr == (
        f"warning: the key was changed, but the folder {db.parent} could not be written to the disk (Input/output "
        "error): a crash of the machine before it is may bring back the store under its old key. Run `sync`, then "
        "check that `socialcredit audit verify` opens the store with the new key in SOCIALCREDIT_DB_KEY; keep the "
        "old key until it does.\n"
    )
    _refused(db, OLD)
    assert "The audit log is intact: 1 entry." in _verified(db, NEW)


def test_the_key_refusals_prompt_and_warning_are_said_in_chinese(tmp_path: Path) -> None:
    """Under --lang zh (until 2026-12-06 these were English whatever the language): a key breaking the rule (a
    Chinese key, the likeliest wrong one), a file that is no store, a new key equal to the old or breaking the rule,
    the prompt at a terminal and the warning of a folder not written to the disk."""
    db = tmp_path / "store" / "city.duckdb"
    _empty(db, OLD)
    not_a_store = tmp_path / "notes.duckdb"
    not_a_store.write_bytes(b"not a store" * 1000)

    said = {
        "wrong key": _cli("audit", "verify", "--lang", "zh", db=db, key="密钥"),
        "same key": _cli("store", "rotate-key", "--lang", "zh", db=db, key=OLD, new_key=OLD),
        "unruly key": _cli("store", "rotate-key", "--lang", "zh", db=db, key=OLD, new_key="新的密钥2026"),
    }
    assert {what: (proc.returncode, proc.stdout, proc.stderr) for what, proc in said.items()} == {
        "wrong key": (2, "", f"错误：SOCIALCREDIT_DB_KEY 中的密钥打不开存储 {db}：{RULE_ZH}\n"),
        "same key": (2, "", "错误：新密钥已是 SOCIALCREDIT_DB_KEY 中的密钥：请另选一个\n"),
        "unruly key": (2, "", f"错误：新密钥不能作为存储的密钥：{RULE_ZH}\n"),
    }
    unopened = _cli("audit", "verify", "--lang", "zh", db=not_a_store, key=None)
    assert unopened.returncode == 2
    assert unopened.stderr.startswith(f"错误：无法打开存储 {not_a_store}："), unopened.stderr

    code, shown = _at_a_terminal(db, OLD, [NEW.encode() + b"\n", NEW.encode() + b"\n"], lang="zh")
    assert code == 0, shown
    assert shown.startswith("新密钥: \r\n再次输入以确认: \r\n存储 ".encode()), shown.decode()

    proc = _cli("store", "rotate-key", "--lang", "zh", db=db, key=NEW, new_key=OLD, hook=_UNSYNCED_FOLDER)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == (
        f"警告：密钥已更换，但文件夹 {db.parent} 未能写入磁盘（Input/output error）：在此之前机器崩溃可能使存储回到旧"
        "密钥下。请运行 `sync`，再确认 `socialcredit audit verify` 能用 SOCIALCREDIT_DB_KEY 中的新密钥打开存储；"
        "在此之前请保留旧密钥。\n"
    )


_CRASH_WITH_THE_KEY = """
import socialcredit.registry.access.storekey as storekey


def crash(db, new_key, **kwargs):
    raise RuntimeError(f"cannot rotate under {new_key}")


storekey.rotate_store_key = crash
"""


def test_a_crash_after_a_key_typed_at_the_prompt_reports_frames_only(tmp_path: Path) -> None:
    """A store with no key yet, its new key typed at the prompt (no key in the settings at all): a crash that
    quotes the key is reported as one with a key set, the message left out of the terminal and the crash log."""
    db = tmp_path / "store" / "city.duckdb"
    _empty(db, "")
    typed = b"typed-key-9d41e7"
    started = time.time() - 1

    code, shown = _at_a_terminal(db, None, [typed + b"\n", typed + b"\n"], hook=_CRASH_WITH_THE_KEY)

    assert code == 3, shown
    assert b"RuntimeError (its message is not shown: a store key is set, and a message" in shown, shown
    assert typed not in shown
    assert _on_disk(typed, tmp_path, started) == []  # nor in the crash log
    (log,) = (tmp_path / "tmp").glob("socialcredit-crash-*.log")  # the crash log, in the test's temporary folder
    assert "builtins.RuntimeError: (its message is not written: a store key is set" in log.read_text("utf-8")


def test_results_of_an_export_made_before_a_rotation_name_it_when_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An export names subjects by pseudonyms keyed by the store's key: its results, published after a rotation,
    match none of the store's subjects, and the refusal names the rotation as the likely cause. (The store, its
    export and the results are made in process, as `load`, `export` and `score --input` make them.)"""
    generate(40, seed=5, out=tmp_path / "population")
    db, results, export = tmp_path / "store" / "city.duckdb", tmp_path / "results", tmp_path / "export"
    today = {"SOCIALCREDIT_TODAY": GENERATED_AS_OF.isoformat()}
    monkeypatch.setenv("SOCIALCREDIT_TODAY", GENERATED_AS_OF.isoformat())

    def run(*args: object, key: str = OLD) -> subprocess.CompletedProcess[str]:
        env = _env(db, key, None) | today
        return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, env=env, check=False)

    with open_store(db, create=True, key=OLD) as store:
        load_population(store, tmp_path / "population")
        assert export_inputs(store, export)["ids"] == "pseudonym"
    score_files(export, policy_without_store("sesame", export_catalog(export)), GENERATED_AS_OF, results)
    monkeypatch.setenv("SOCIALCREDIT_DB_KEY", OLD)  # rotated in process, as `store rotate-key` does it
    assert rotate_store_key(db, NEW).was_encrypted
    monkeypatch.delenv("SOCIALCREDIT_DB_KEY")

    proc = run("publish", results, "--db", db, key=NEW)

    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith(f"error: {results}: "), proc.stderr
    assert proc.stderr.endswith(
        " of the results do not match this store's subjects: the store's key was rotated (`socialcredit store "
        "rotate-key`), and an export made before names its subjects by the old key's pseudonyms; export again and "
        "score that export\n"
    ), proc.stderr
