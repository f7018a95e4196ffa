"""Signed checkpoints of the audit chain: the four cuts the chain alone let through — the last entry deleted, the
last three deleted with the counter lowered, an entry edited with every later hash recomputed, an entry deleted and
the later ones renumbered — are each named by `audit verify` (the installed console script, exit 1); a forged or
altered checkpoint is refused; any deletion, edit or renumbering of a random chain is caught (hypothesis)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialcredit import example
from socialcredit.errors import CheckpointError
from socialcredit.policy import builtin_policy
from socialcredit.registry.access.audit import GENESIS, _entry_hash, append_audit
from socialcredit.registry.access.checkpoints import (
    Checkpoint,
    checkpoint_file,
    make_checkpoint,
    read_checkpoints,
    verify_audit_log,
    write_checkpoint,
)
from socialcredit.registry.access.signing import fingerprint, public_key_text, recorded_public_key
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.registry.scoring.policies import publish_policy
from socialcredit.registry.scoring.runs import score
from socialcredit.store import Store, open_store

CLI = str(Path(sys.executable).parent / "socialcredit")
ENTRIES = 8


def run(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_SIGNING_KEY")}
    return subprocess.run(
        [CLI, *args, "--db", str(db)], capture_output=True, text=True, env=env | {"COLUMNS": "400"}, check=False
    )


def _append(store: Store, n: int, start: int = 1) -> None:
    with store.transaction():
        for i in range(start, start + n):
            append_audit(store, "test", "read", None, {"n": i})


def _rechain(store: Store, first: int = 1) -> None:
    """Recompute every hash from entry ``first`` on, as someone who rewrites the chain would."""
    prev = store.one("SELECT hash FROM audit_log WHERE seq = ?", [first - 1]) or GENESIS
    for seq, at, actor, action, subject, detail in store.execute(
        "SELECT seq, at_time, actor, action, subject_id, detail FROM audit_log WHERE seq >= ? ORDER BY seq", [first]
    ).fetchall():
        digest = _entry_hash(seq, at.isoformat(), actor, action, subject, detail, prev)
        store.execute("UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?", [prev, digest, seq])
        prev = digest


def _delete_and_renumber(store: Store, seq: int) -> None:
    store.execute("DELETE FROM audit_log WHERE seq = ?", [seq])
    store.execute("UPDATE audit_log SET seq = seq - 1 WHERE seq > ?", [seq])
    store.execute("UPDATE counters SET value = value - 1 WHERE name = 'audit'")
    _rechain(store, seq)


@pytest.fixture(scope="module")
def checkpointed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a store of eight audit entries and a checkpoint of them made by `audit checkpoint` (its signing
    key and the checkpoints beside the store, the auditor's copy in auditor.json), made once: `db` copies it."""
    folder = tmp_path_factory.mktemp("checkpointed")
    path = folder / "a.duckdb"
    with open_store(path, create=True, key="") as store:
        _append(store, ENTRIES)
    made = run("audit", "checkpoint", "--out", str(folder / "auditor.json"), db=path)
    assert made.returncode == 0, made.stdout + made.stderr
    return folder


@pytest.fixture
def db(checkpointed: Path, tmp_path: Path) -> Path:
    """A copy of ``checkpointed``'s files in the test's own folder, for a test that cuts or changes them."""
    for kept in checkpointed.iterdir():
        (shutil.copytree if kept.is_dir() else shutil.copy2)(kept, tmp_path / kept.name)
    return tmp_path / "a.duckdb"


def _checkpoint(db: Path) -> Checkpoint:
    with open_store(db, key="") as store:
        return read_checkpoints(checkpoint_file(store))[-1]


def _key_fp(db: Path) -> str:
    with open_store(db, key="") as store:
        recorded = recorded_public_key(store)
    assert recorded is not None
    return fingerprint(recorded)


def test_the_checkpoint_command_writes_a_signed_line_beside_the_store(db: Path, tmp_path: Path) -> None:
    cp = _checkpoint(db)
    assert (cp.count, cp.seq) == (ENTRIES, ENTRIES)
    made = run("audit", "checkpoint", db=db)
    assert made.stdout.strip() == (
        f"Checkpoint of {_checkpoint(db).at}: {ENTRIES} entries up to entry {ENTRIES}, head {cp.head[:16]}…, signed "
        f"with key {_key_fp(db)}; written to {db}.checkpoints/checkpoints.jsonl."
    )
    assert len((tmp_path / "a.duckdb.checkpoints" / "checkpoints.jsonl").read_text().splitlines()) == 2
    for path in (tmp_path / "a.duckdb.checkpoints" / "checkpoints.jsonl", tmp_path / "a.duckdb.signing.key"):
        assert path.stat().st_mode & 0o777 == 0o600, path
    assert (tmp_path / "a.duckdb.checkpoints").stat().st_mode & 0o777 == 0o700
    key = run("audit", "key", db=db)
    assert key.returncode == 0
    assert key.stdout.splitlines()[0] == f"Key {_key_fp(db)} ({db}.signing.key):"


def test_an_intact_chain_with_entries_after_the_checkpoint_verifies(db: Path) -> None:
    with open_store(db, key="") as store:
        _append(store, 3, start=ENTRIES + 1)
    done = run("audit", "verify", db=db)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == (
        f"The audit log is intact: {ENTRIES + 3} entries. It matches {_checkpoint(db).label} ({ENTRIES} entries up "
        f"to entry {ENTRIES}, from {db}.checkpoints/checkpoints.jsonl); 3 entries after it rest on the chain alone."
    )
    zh = run("audit", "verify", "--lang", "zh", db=db)  # it had no --lang: English only
    assert (zh.returncode, zh.stdout.strip()) == (
        0,
        f"审计日志完整：共 {ENTRIES + 3} 条。与 {_checkpoint(db).at} 的检查点一致（至第 {ENTRIES} 条，共 {ENTRIES} 条，"
        f"来自 {db}.checkpoints/checkpoints.jsonl）；其后的 3 条仅由哈希链保证。",
    )


def test_without_a_checkpoint_the_chain_is_checked_alone(tmp_path: Path) -> None:
    db = tmp_path / "b.duckdb"
    with open_store(db, create=True, key="") as store:
        _append(store, 2)
    done = run("audit", "verify", db=db)
    assert (done.returncode, done.stdout.strip()) == (
        0,
        "The audit log is intact: 2 entries. No checkpoint yet: make one with `socialcredit audit checkpoint`.",
    )
    zh = run("audit", "verify", "--lang", "zh", db=db)
    assert (zh.returncode, zh.stdout.strip()) == (
        0,
        "审计日志完整：共 2 条。尚无检查点：请用 `socialcredit audit checkpoint` 生成。",
    )
    key = run("audit", "key", db=db)
    assert (key.returncode, key.stderr.strip()) == (
        2,
        f"error: this store has signed no checkpoint yet (its key would be {db}.signing.key): run "
        "`socialcredit audit checkpoint` first",
    )
    made = run("audit", "checkpoint", "--json", db=db)
    assert made.returncode == 0
    assert json.loads(made.stdout) == _checkpoint(db).as_dict()


# --- the four cuts of issue 16: each went through as "intact" before checkpoints ------------------------------


def _verify_fails(db: Path, expected: list[str], expected_zh: list[str]) -> None:
    """`audit verify` finds ``expected``, and under --lang zh ``expected_zh`` (the comparisons with a checkpoint
    were said in English under it)."""
    done = run("audit", "verify", db=db)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines() == expected
    n = len(expected)
    assert done.stderr == f"error: the audit log is not intact: {n} problem{'s' if n != 1 else ''} found\n"
    zh = run("audit", "verify", "--lang", "zh", db=db)
    assert (zh.returncode, zh.stdout.splitlines(), zh.stderr) == (
        1,
        expected_zh,
        f"错误：审计日志不完整：发现 {n} 个问题\n",
    )


def test_the_last_entry_deleted_is_a_cut(db: Path) -> None:
    with open_store(db, key="") as store:
        store.execute("DELETE FROM audit_log WHERE seq = ?", [ENTRIES])
    label = _checkpoint(db).label
    _verify_fails(
        db,
        [
            f"cut: {label} covers 8 entries up to entry 8, but the log ends at entry 7 (7 entries); entries were "
            "deleted from its end"
        ],
        [
            f"被截断：{_checkpoint(db).at} 的检查点涵盖至第 8 条的 8 条，而日志止于第 7 条（共 7 条）；"
            "末尾的条目被删除了"
        ],
    )


def test_the_last_three_deleted_with_the_counter_lowered_is_a_cut(db: Path) -> None:
    with open_store(db, key="") as store:
        store.execute("DELETE FROM audit_log WHERE seq > ?", [ENTRIES - 3])
        store.execute("UPDATE counters SET value = value - 3 WHERE name = 'audit'")
        _append(store, 1, start=100)  # the next entry follows on as if nothing had been there
        assert store.one("SELECT max(seq) FROM audit_log") == ENTRIES - 2
    label = _checkpoint(db).label
    _verify_fails(
        db,
        [
            f"cut: {label} covers 8 entries up to entry 8, but the log ends at entry 6 (6 entries); entries were "
            "deleted from its end"
        ],
        [
            f"被截断：{_checkpoint(db).at} 的检查点涵盖至第 8 条的 8 条，而日志止于第 6 条（共 6 条）；"
            "末尾的条目被删除了"
        ],
    )


def test_an_edited_entry_with_every_later_hash_recomputed_is_a_rewrite(db: Path) -> None:
    cp = _checkpoint(db)
    with open_store(db, key="") as store:
        store.execute("""UPDATE audit_log SET detail = '{"n": 99}' WHERE seq = 3""")
        _rechain(store, 3)
        head = str(store.one("SELECT hash FROM audit_log WHERE seq = ?", [ENTRIES]))
    _verify_fails(
        db,
        [
            f"rewritten: entry 8 is the last entry {cp.label} signed, but its hash is {head[:16]}…, not "
            f"{cp.head[:16]}…: an entry before it was changed and the later hashes recomputed"
        ],
        [
            f"被改写：第 8 条是{cp.at} 的检查点签名的最后一条，但其哈希是 {head[:16]}…，而不是 {cp.head[:16]}…："
            "它之前有一条被改动，其后的哈希被重新计算"
        ],
    )


def test_an_entry_deleted_and_the_later_ones_renumbered_is_found(db: Path) -> None:
    with open_store(db, key="") as store:
        _delete_and_renumber(store, 3)
    label = _checkpoint(db).label
    _verify_fails(
        db,
        [
            f"renumbered: entry 8, the last entry {label} signed, is now entry 7; 1 entry before it was deleted and "
            "the later ones renumbered"
        ],
        [
            f"被重新编号：{_checkpoint(db).at} 的检查点签名的最后一条（第 8 条）现在是第 7 条；它之前的 1 条被删除，"
            "其后各条被重新编号"
        ],
    )


def test_an_auditors_copy_catches_a_cut_when_the_stores_checkpoints_are_cut_too(db: Path, tmp_path: Path) -> None:
    with open_store(db, key="") as store:
        public = recorded_public_key(store)
        store.execute("DELETE FROM audit_log WHERE seq > 5")
        store.execute("UPDATE counters SET value = 5 WHERE name = 'audit'")
    (tmp_path / "a.duckdb.checkpoints" / "checkpoints.jsonl").unlink()
    alone = run("audit", "verify", db=db)
    assert alone.returncode == 1
    assert alone.stdout.strip() == (
        f"no checkpoints at {db}.checkpoints/checkpoints.jsonl, though this store signs them with key "
        f"{_key_fp(db)}: they were removed"
    )
    assert public is not None
    kept = tmp_path / "auditor.json"
    done = run("audit", "verify", "--checkpoint", str(kept), "--key", public, db=db)
    assert done.returncode == 1
    label = read_checkpoints(kept)[-1].label
    assert done.stdout.strip() == (
        f"cut: {label} covers 8 entries up to entry 8, but the log ends at entry 5 (5 entries); entries were deleted "
        "from its end"
    )


def test_the_api_says_a_cut_in_the_language_asked(db: Path) -> None:
    """`GET /v1/audit/verify` took no ``lang``: its problems were English under ``?lang=zh``."""
    import httpx

    from api_helpers import serving
    from socialcredit.api.app import create_app
    from socialcredit.registry.access.parties import issue_key

    with open_store(db, key="") as store:
        token = issue_key(store, "auditor", "the auditor").token  # (an entry of its own: cut with the last one)
        store.execute("DELETE FROM audit_log WHERE seq >= ?", [ENTRIES])
        store.execute("UPDATE counters SET value = ? WHERE name = 'audit'", [ENTRIES - 1])
    at = _checkpoint(db).at
    with (
        open_store(db, key="") as store,
        serving(create_app(db, store=store)) as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        said = {
            lang: client.get("/v1/audit/verify", params={"lang": lang}, headers={"Authorization": f"Bearer {token}"})
            for lang in ("en", "zh")
        }
    assert [(r.status_code, r.headers["content-language"], r.json()) for r in said.values()] == [
        (
            200,
            tag,
            {"ok": False, "problems": [{"seq": ENTRIES, "message": message}]},
        )
        for tag, message in (
            (
                "en",
                f"cut: the checkpoint of {at} covers 8 entries up to entry 8, but the log ends at entry 7 (7 entries); "
                "entries were deleted from its end",
            ),
            ("zh-CN", f"被截断：{at} 的检查点涵盖至第 8 条的 8 条，而日志止于第 7 条（共 7 条）；末尾的条目被删除了"),
        )
    ]


# --- checkpoints that are not the registry's ------------------------------------------------------------------


def test_an_altered_checkpoint_is_refused(db: Path, tmp_path: Path) -> None:
    kept = tmp_path / "auditor.json"
    data = json.loads(kept.read_text())
    data["count"], data["seq"] = 5, 5  # as if the log had been 5 entries long: a cut would pass
    altered = tmp_path / "altered.json"
    altered.write_text(json.dumps(data))
    done = run("audit", "verify", "--checkpoint", str(altered), db=db)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip() == (
        f"error: altered: the signature of the checkpoint of {data['at']} does not verify with the registry's key "
        f"{_key_fp(db)}; it was changed after it was signed"
    )
    zh = run("audit", "verify", "--checkpoint", str(altered), "--lang", "zh", db=db)
    assert (zh.returncode, zh.stderr.strip()) == (
        2,
        f"错误：被改动：{data['at']} 的检查点的签名无法用登记机构的密钥 {_key_fp(db)} 验证；它在签名后被改过",
    )


def test_a_checkpoint_signed_with_another_key_is_refused(db: Path, tmp_path: Path) -> None:
    cp = _checkpoint(db)
    other = Ed25519PrivateKey.generate()
    forged = Checkpoint(**{**cp.as_dict(), "count": 5, "seq": 5, "key": public_key_text(other)})
    forged = Checkpoint(**{**forged.as_dict(), "signature": other.sign(forged.body()).hex()})
    path = tmp_path / "forged.json"
    path.write_text(forged.line() + "\n")
    done = run("audit", "verify", "--checkpoint", str(path), db=db)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: forged: the checkpoint of {cp.at} is signed with key {fingerprint(public_key_text(other))}, not the "
        f"registry's key {_key_fp(db)}"
    )
    # the same forgery written into the store's own checkpoints is a finding of `audit verify` (exit 1)
    with (tmp_path / "a.duckdb.checkpoints" / "checkpoints.jsonl").open("a") as fh:
        fh.write(forged.line() + "\n")
    found = run("audit", "verify", db=db)
    assert found.returncode == 1
    assert found.stdout.strip() == (
        f"forged: the checkpoint of {cp.at} is signed with key {fingerprint(public_key_text(other))}, not the "
        f"registry's key {_key_fp(db)}"
    )


def test_a_checkpoint_of_another_store_is_named(db: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.duckdb"
    with open_store(other, create=True, key="") as store:
        _append(store, 2)
    done = run("audit", "verify", "--checkpoint", str(tmp_path / "auditor.json"), "--key", "x", db=other)
    assert (done.returncode, done.stderr.strip()) == (
        2,
        "error: the key 'x' is not an Ed25519 public key in base64 (not valid base64)",
    )
    with open_store(db, key="") as store:
        public = recorded_public_key(store)
    assert public is not None
    done = run("audit", "verify", "--checkpoint", str(tmp_path / "auditor.json"), "--key", public, db=other)
    with open_store(other, key="") as store:
        other_id = store.store_id
    assert done.returncode == 1
    assert done.stdout.strip() == (
        f"{_checkpoint(db).label} is of another store ({_checkpoint(db).store_id}), not this one ({other_id})"
    )


def test_an_unreadable_checkpoint_file_is_refused(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "nonsense.json"
    path.write_text("{not json\n")
    done = run("audit", "verify", "--checkpoint", str(path), db=db)
    assert (done.returncode, done.stderr.strip()) == (2, f"error: {path}:1: not a checkpoint (not JSON)")
    zh = run("audit", "verify", "--checkpoint", str(path), "--lang", "zh", db=db)
    assert (zh.returncode, zh.stderr.strip()) == (2, f"错误：{path}:1: 不是检查点（不是 JSON）")


# --- when checkpoints are written -----------------------------------------------------------------------------


def test_every_score_run_writes_a_checkpoint_of_the_committed_chain(tmp_path: Path) -> None:
    files = example.write_example(tmp_path / "files", residents=20)
    with open_store(tmp_path / "s.duckdb", create=True, key="") as store:
        ingest_file(store, files.subjects, "civil_affairs", today=example.AS_OF)
        loaded = builtin_policy("sesame")
        publish_policy(store, loaded)
        assert not checkpoint_file(store).exists()
        score(store, loaded, example.AS_OF)
        first = read_checkpoints(checkpoint_file(store))
        assert [(c.count, c.seq) for c in first] == [(n := int(store.one("SELECT count(*) FROM audit_log")), n)]
        score(store, loaded, example.AS_OF)
        found = read_checkpoints(checkpoint_file(store))
        assert len(found) == 2 and found[-1].count == int(store.one("SELECT count(*) FROM audit_log")) > n
        assert verify_audit_log(store).problems == []
        # never inside a transaction: the head read there might yet be rolled back
        with pytest.raises(RuntimeError, match="never inside a transaction"), store.transaction():
            write_checkpoint(store)


def test_a_replaced_signing_key_is_refused(db: Path, tmp_path: Path) -> None:
    (tmp_path / "a.duckdb.signing.key").unlink()
    done = run("audit", "checkpoint", db=db)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: the registry's signing key {db}.signing.key is missing, but this store's checkpoints are signed "
        f"with key {_key_fp(db)}: restore that file (or set SOCIALCREDIT_SIGNING_KEY to it)"
    )


# --- any cut of a random chain, under a checkpoint, is found --------------------------------------------------


@pytest.fixture(scope="module")
def scratch() -> Iterator[Store]:
    with tempfile.TemporaryDirectory() as folder, open_store(Path(folder) / "h.duckdb", create=True, key="") as store:
        yield store


_CUTS = (
    "tail",
    "tail_regrown",
    "edit",
    "edit_rechained",
    "delete",
    "delete_renumbered",
    "insert_renumbered",
    "swap_rechained",
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    n=st.integers(1, 25),
    cut=st.sampled_from(_CUTS),
    pick=st.integers(0, 10_000),
    k=st.integers(1, 5),
    later=st.integers(0, 4),
)
def test_any_cut_of_a_chain_under_a_checkpoint_is_found(
    scratch: Store, n: int, cut: str, pick: int, k: int, later: int
) -> None:
    store = scratch
    store.execute("DELETE FROM audit_log")
    store.execute("UPDATE counters SET value = 0 WHERE name = 'audit'")
    checkpoint_file(store).unlink(missing_ok=True)
    _append(store, n)
    write_checkpoint(store)
    _append(store, later, start=1000)  # entries after the checkpoint: the chain alone protects them
    assert verify_audit_log(store).problems == []
    i = 1 + pick % n  # an entry the checkpoint covers
    if cut == "tail":
        store.execute("DELETE FROM audit_log WHERE seq > ?", [n - min(k, n)])
    elif cut == "tail_regrown":
        gone = min(k, n)
        store.execute("DELETE FROM audit_log WHERE seq > ?", [n - gone])
        store.execute("UPDATE counters SET value = ? WHERE name = 'audit'", [n - gone])
        _append(store, gone + later, start=2000)  # as many new entries as were deleted, and more
    elif cut == "edit":
        store.execute("UPDATE audit_log SET detail = '{\"n\": -1}' WHERE seq = ?", [i])
    elif cut == "edit_rechained":
        store.execute("UPDATE audit_log SET actor = 'someone else' WHERE seq = ?", [i])
        _rechain(store, i)
    elif cut == "delete":
        store.execute("DELETE FROM audit_log WHERE seq = ?", [i])
    elif cut == "delete_renumbered":
        _delete_and_renumber(store, i)
    elif cut == "insert_renumbered":  # an entry slipped in before entry i, the later ones moved up
        store.execute("UPDATE audit_log SET seq = seq + 1 WHERE seq >= ?", [i])
        store.execute(
            "INSERT INTO audit_log SELECT ?, at_time, 'someone', 'read', NULL, '{}', '', '' FROM audit_log "
            "WHERE seq = ?",
            [i, i + 1],
        )
        store.execute("UPDATE counters SET value = value + 1 WHERE name = 'audit'")
        _rechain(store, i)
    else:  # two covered entries change places, numbers and hashes made consistent again
        j = 1 + (pick // 7) % n
        if i == j:
            j = i % n + 1
        if i == j:  # one entry: nothing to swap, so edit it instead
            store.execute("UPDATE audit_log SET action = 'write' WHERE seq = ?", [i])
        else:
            store.execute(
                "UPDATE audit_log a SET detail = b.detail, at_time = b.at_time FROM audit_log b "
                "WHERE (a.seq, b.seq) IN ((?, ?), (?, ?))",
                [i, j, j, i],
            )
        _rechain(store, min(i, j))
    problems = verify_audit_log(store).problems
    assert problems, (cut, n, i, k, later)


def test_the_hypothesis_cuts_would_pass_without_the_checkpoint(scratch: Store) -> None:
    """The chain alone misses each kind of cut above that keeps it consistent (what issue 16 found)."""
    from socialcredit.registry.access.audit import verify_audit

    for cut in ("tail", "edit_rechained", "delete_renumbered"):
        scratch.execute("DELETE FROM audit_log")
        scratch.execute("UPDATE counters SET value = 0 WHERE name = 'audit'")
        _append(scratch, 6)
        if cut == "tail":
            scratch.execute("DELETE FROM audit_log WHERE seq > 3")
        elif cut == "edit_rechained":
            scratch.execute("UPDATE audit_log SET actor = 'x' WHERE seq = 2")
            _rechain(scratch, 2)
        else:
            _delete_and_renumber(scratch, 2)
        assert verify_audit(scratch) == [], cut


def test_checkpoint_times_are_utc(db: Path) -> None:
    at = dt.datetime.fromisoformat(_checkpoint(db).at)
    assert at.utcoffset() == dt.timedelta(0)
    with pytest.raises(CheckpointError, match="holds no checkpoint"):
        empty = db.parent / "empty.jsonl"
        empty.write_text("\n")
        read_checkpoints(empty)


# --- regions: a bundle carries the publisher's latest checkpoint, and the importer keeps it --------------------


def test_a_bundle_carries_a_checkpoint_that_the_importing_region_keeps(tmp_path: Path) -> None:
    from socialcredit.regions import export_bundle, import_bundle, set_region, trust_publisher
    from socialcredit.regions.bundle import load_private_key, new_private_key
    from socialcredit.registry.scoring.policies import resolve_policy

    policy = tmp_path / "beijing.yaml"
    policy.write_text(
        builtin_policy("beijing").text
        + "\nexchange:\n  shareable_record_types: [court_judgment]\n  lists: [blacklist]\n",
        encoding="utf-8",
    )
    key = tmp_path / "beijing.key"
    key.write_bytes(new_private_key())
    key.chmod(0o600)  # a private key file is its owner's only (as `region keygen` writes it)
    beijing_db, tianjin_db = tmp_path / "beijing.duckdb", tmp_path / "tianjin.duckdb"
    with open_store(beijing_db, create=True, key="") as beijing, open_store(tianjin_db, create=True, key="") as tj:
        set_region(beijing, "110000", "Beijing")
        set_region(tj, "120000", "Tianjin")
        trust_publisher(tj, "110000", "Beijing", public_key_text(load_private_key(key)))
        resolve_policy(beijing, str(policy))
        export_bundle(beijing, "beijing", key, tmp_path / "beijing-1.json")
        sent = read_checkpoints(checkpoint_file(beijing))[-1]
        # the checkpoint was made before the export's own entry, which is the one entry after it
        assert sent.count == int(beijing.one("SELECT count(*) FROM audit_log")) - 1
        payload = json.loads(
            __import__("base64").b64decode(json.loads((tmp_path / "beijing-1.json").read_bytes())["payload"])
        )
        assert payload["audit_checkpoint"] == sent.as_dict()
        import_bundle(tj, tmp_path / "beijing-1.json")
        kept = tmp_path / "tianjin.duckdb.checkpoints" / "received-110000.jsonl"
        assert read_checkpoints(kept) == [sent]
        detail = json.loads(tj.one("SELECT detail FROM audit_log WHERE action = 'region_import'"))
        assert detail["audit_checkpoint"] == {
            "count": sent.count,
            "seq": sent.seq,
            "head": sent.head,
            "at": sent.at,
            "key": fingerprint(sent.key),
        }
        beijing_key = recorded_public_key(beijing)
        beijing.execute("DELETE FROM audit_log WHERE seq >= ?", [sent.seq])
    assert beijing_key is not None
    # Beijing's log cut: Tianjin's copy, checked with Beijing's public key, names the cut
    done = run("audit", "verify", "--checkpoint", str(kept), "--key", beijing_key, db=beijing_db)
    assert done.returncode == 1
    assert done.stdout.strip() == (
        f"cut: {sent.label} covers {sent.count} entries up to entry {sent.seq}, but the log ends at entry "
        f"{sent.seq - 1} ({sent.seq - 1} entr{'y' if sent.seq == 2 else 'ies'}); entries were deleted from its end"
    )


def test_a_cut_log_is_not_signed_and_a_checkpoint_that_signed_one_does_not_hide_it(db: Path, tmp_path: Path) -> None:
    first = _checkpoint(db)
    with open_store(db, key="") as store:
        _delete_and_renumber(store, 2)
    refused = run("audit", "checkpoint", db=db)
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        f"error: not signed: the audit log no longer matches {first.label} (renumbered: entry 8, the last entry "
        f"{first.label} signed, is now entry 7; 1 entry before it was deleted and the later ones renumbered); see "
        "`socialcredit audit verify`"
    )
    # someone with the key signs the renumbered log anyway: the earlier checkpoint still tells
    with open_store(db, key="") as store:
        later = make_checkpoint(store)
    with (tmp_path / "a.duckdb.checkpoints" / "checkpoints.jsonl").open("a") as fh:
        fh.write(later.line() + "\n")
    _verify_fails(
        db,
        [
            f"renumbered: entry 8, the last entry {first.label} signed, is now entry 7; 1 entry before it was deleted "
            "and the later ones renumbered"
        ],
        [
            f"被重新编号：{first.at} 的检查点签名的最后一条（第 8 条）现在是第 7 条；它之前的 1 条被删除，"
            "其后各条被重新编号"
        ],
    )
