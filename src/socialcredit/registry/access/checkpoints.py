"""Signed checkpoints of the audit chain's head, kept outside the store (docs/audit.md).

The hash chain alone shows an entry edited in place, but not a chain cut at its end, nor one rewritten with every
later hash recomputed, nor entries renumbered: whoever can write the store can make a shorter or different chain
that is consistent with itself. A checkpoint is what the chain looked like at a moment — how many entries, the
number and hash of the last, a digest of that entry's content, the time and the store's identity — signed with the
registry's Ed25519 key (``signing.registry_key``) and appended to ``<store>.checkpoints/checkpoints.jsonl`` (one
JSON object a line, 0600). ``audit checkpoint --out FILE`` gives one to an outside auditor, and a region sends the
latest with its bundles. :func:`verify_audit_log` checks the chain and then the chain against a checkpoint.

Checkpoints are written by ``audit checkpoint``, after every score run (``save_run``) and with every bundle a
region exports; entries after the latest checkpoint are protected only by the chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from socialcredit.errors import CheckpointError
from socialcredit.registry.access.audit import GENESIS, AuditProblem, verify_audit
from socialcredit.registry.access.signing import (
    fingerprint,
    parse_public_key,
    public_key_text,
    recorded_public_key,
    registry_key,
)
from socialcredit.store import Store

__all__ = [
    "CHECKPOINT_FORMAT",
    "AuditCheck",
    "Checkpoint",
    "check_signature",
    "checkpoint_file",
    "checkpoints_at",
    "keep_checkpoint",
    "keep_received_checkpoint",
    "make_checkpoint",
    "parse_checkpoint",
    "read_checkpoints",
    "signed_checkpoint",
    "unkeep_checkpoint",
    "verify_audit_log",
    "write_checkpoint",
]

CHECKPOINT_FORMAT = "socialcredit-audit-checkpoint/1"
_SIGNED = ("format", "store_id", "count", "seq", "head", "head_at", "head_entry", "at")


@dataclass(frozen=True)
class Checkpoint:
    """The chain's head at ``at``: ``count`` entries, the last numbered ``seq`` with hash ``head``; ``head_entry``
    is a digest of that entry's content without its number and links, so it is found again if renumbered."""

    store_id: str
    count: int
    seq: int
    head: str
    head_at: str | None
    head_entry: str
    at: str
    key: str = ""
    signature: str = ""
    format: str = CHECKPOINT_FORMAT

    def body(self) -> bytes:
        """The bytes the signature covers: the signed fields as canonical JSON."""
        signed = {k: getattr(self, k) for k in _SIGNED}
        return json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @property
    def label(self) -> str:
        return f"the checkpoint of {self.at}"

    @property
    def label_zh(self) -> str:
        return f"{self.at} 的检查点"


def _content_digest(at: dt.datetime, actor: str, action: str, subject: str | None, detail: str) -> str:
    payload = json.dumps([at.isoformat(), actor, action, subject, detail], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def checkpoint_file(store: Store) -> Path:
    """The store's own checkpoints: ``<store>.checkpoints/checkpoints.jsonl`` beside the store file."""
    return checkpoints_at(store.path)


def checkpoints_at(db: Path) -> Path:
    """The file of the checkpoints of a store at ``db`` (whether or not a store is there)."""
    return db.parent / (db.name + ".checkpoints") / "checkpoints.jsonl"


def make_checkpoint(store: Store) -> Checkpoint:
    """Sign the chain's head as it is committed now (with the registry's key, made on first use).

    Read in a transaction of its own, so count and head belong together; it is never called inside another (a
    checkpoint of changes not yet committed could name entries that are then rolled back)."""
    try:
        store.execute("BEGIN TRANSACTION")
    except duckdb.TransactionException:
        raise RuntimeError("a checkpoint is made after a commit, never inside a transaction") from None
    try:
        count = int(store.one("SELECT count(*) FROM audit_log"))
        head = store.execute(
            "SELECT seq, hash, at_time, actor, action, subject_id, detail FROM audit_log ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        store_id = store.store_id
    finally:
        store.execute("COMMIT")
    key = registry_key(store, create=True)
    assert key is not None
    at = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    if head is None:
        cp = Checkpoint(store_id, 0, 0, GENESIS, None, "", at)
    else:
        seq, digest, head_at, actor, action, subject, detail = head
        content = _content_digest(head_at, actor, action, subject, detail)
        cp = Checkpoint(store_id, count, int(seq), str(digest), head_at.isoformat(), content, at)
    signed = Checkpoint(**{**cp.as_dict(), "key": public_key_text(key)})
    return Checkpoint(**{**signed.as_dict(), "signature": key.sign(signed.body()).hex()})


def _append_line(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def write_checkpoint(store: Store, out: Path | str | None = None) -> Checkpoint:
    """Make a checkpoint and append it to the store's checkpoints; with ``out``, also write it there (a new file).

    A log that no longer matches the previous checkpoint is not signed (CheckpointError): the new checkpoint would
    vouch for the cut or the rewrite."""
    cp = signed_checkpoint(store)
    keep_checkpoint(store, cp)
    if out is not None:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(cp.line() + "\n", encoding="utf-8")
    return cp


def signed_checkpoint(store: Store) -> Checkpoint:
    """A checkpoint of the chain's head, signed but not yet kept (:func:`keep_checkpoint` appends it): for a file that
    carries it, kept only once that file is written. A log that no longer matches the previous checkpoint is not
    signed (CheckpointError)."""
    path = checkpoint_file(store)
    if path.exists():
        previous = read_checkpoints(path)[-1]
        damage = compare_with_checkpoint(store, previous)
        if damage:
            raise CheckpointError(
                f"not signed: the audit log no longer matches {previous.label} ({damage[0].message}); see "
                "`socialcredit audit verify`"
            )
    return make_checkpoint(store)


def keep_checkpoint(store: Store, cp: Checkpoint) -> int | None:
    """Append a checkpoint made by :func:`signed_checkpoint` to the store's checkpoints; returns the size the file
    had before (None: there was none), which :func:`unkeep_checkpoint` takes it back to."""
    path = checkpoint_file(store)
    before = path.stat().st_size if path.exists() else None
    _append_line(path, cp.line())
    return before


def unkeep_checkpoint(store: Store, before: int | None) -> None:
    """Take back the checkpoint :func:`keep_checkpoint` appended (``before``: what it returned) when the transaction
    it was kept in failed after it, its COMMIT included: the checkpoints then keep no line for an export that did not
    happen. (The line names a head signed before the transaction, which the log has: left, it would be a valid but
    needless checkpoint, not one the next would refuse.)"""
    path = checkpoint_file(store)
    if before is None:
        path.unlink(missing_ok=True)
        return
    with path.open("r+b") as fh:
        fh.truncate(before)
        fh.flush()
        os.fsync(fh.fileno())


def keep_received_checkpoint(store: Store, publisher: str, cp: Checkpoint) -> Path:
    """Keep a checkpoint another registry sent (a region's bundle) in ``<store>.checkpoints/received-<publisher>
    .jsonl``: a copy outside its store that its auditor can verify that store against."""
    path = checkpoint_file(store).with_name(f"received-{publisher}.jsonl")
    _append_line(path, cp.line())
    return path


def parse_checkpoint(data: Any, where: str) -> Checkpoint:
    """A checkpoint from its JSON object; ``where`` names it in the message when it is not one."""
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{where}: not a {CHECKPOINT_FORMAT} document", zh=f"{where}: 不是 {CHECKPOINT_FORMAT} 文档"
        )
    kinds: dict[str, type | tuple[type, ...]] = {
        "store_id": str,
        "count": int,
        "seq": int,
        "head": str,
        "head_at": (str, type(None)),
        "head_entry": str,
        "at": str,
        "key": str,
        "signature": str,
    }
    for name, kind in kinds.items():
        value = data.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise CheckpointError(
                f"{where}: {name} is missing or not of the right type", zh=f"{where}: {name} 缺失或类型不对"
            )
    if data["count"] < 0 or data["seq"] < 0:
        raise CheckpointError(f"{where}: count and seq cannot be negative", zh=f"{where}: count 与 seq 不能为负数")
    return Checkpoint(**{k: data[k] for k in (*_SIGNED, "key", "signature")})


def read_checkpoints(path: Path | str) -> list[Checkpoint]:
    """Every checkpoint in a file of one JSON object a line, oldest first (a file of one is an auditor's copy)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CheckpointError(
            f"{path}: cannot read the checkpoint: {exc.strerror}", zh=f"{path}: 无法读取检查点：{exc.strerror}"
        ) from None
    except UnicodeDecodeError:
        raise CheckpointError(
            f"{path}: not a checkpoint (not UTF-8 text)", zh=f"{path}: 不是检查点（不是 UTF-8 文本）"
        ) from None
    found = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            raise CheckpointError(
                f"{path}:{n}: not a checkpoint (not JSON)", zh=f"{path}:{n}: 不是检查点（不是 JSON）"
            ) from None
        except RecursionError:  # (an internal error, exit 3)
            raise CheckpointError(
                f"{path}:{n}: not a checkpoint (JSON nested deeper than the parser follows)",
                zh=f"{path}:{n}: 不是检查点（JSON 嵌套之深超出解析器所能跟随）",
            ) from None
        found.append(parse_checkpoint(data, f"{path}:{n}"))
    if not found:
        raise CheckpointError(f"{path}: holds no checkpoint", zh=f"{path} 中没有检查点")
    return found


def check_signature(cp: Checkpoint, trusted_key: str) -> None:
    """Refuse a checkpoint signed with another key than ``trusted_key`` (forged) or changed after signing."""
    try:
        public = parse_public_key(cp.key)
    except ValueError as exc:
        raise CheckpointError(
            f"forged: {cp.label} carries no valid public key ({exc})", zh=f"伪造：{cp.label_zh}没有有效的公钥（{exc}）"
        ) from None
    if public_key_text(public) != trusted_key:
        raise CheckpointError(
            f"forged: {cp.label} is signed with key {fingerprint(public_key_text(public))}, not the registry's key "
            f"{fingerprint(trusted_key)}",
            zh=f"伪造：{cp.label_zh}由密钥 {fingerprint(public_key_text(public))} 签名，而不是登记机构的密钥 "
            f"{fingerprint(trusted_key)}",
        )
    from cryptography.exceptions import InvalidSignature

    try:
        public.verify(bytes.fromhex(cp.signature), cp.body())
    except (InvalidSignature, ValueError):
        raise CheckpointError(
            f"altered: the signature of {cp.label} does not verify with the registry's key {fingerprint(trusted_key)}; "
            "it was changed after it was signed",
            zh=f"被改动：{cp.label_zh}的签名无法用登记机构的密钥 {fingerprint(trusted_key)} 验证；它在签名后被改过",
        ) from None


def _entries(n: int) -> str:
    return f"{n} entr{'y' if n == 1 else 'ies'}"


def _moved_head(store: Store, cp: Checkpoint) -> int | None:
    """The number the checkpoint's last entry has now, if it is still in the log under another number."""
    if cp.head_at is None:
        return None
    for seq, at, actor, action, subject, detail in store.execute(
        "SELECT seq, at_time, actor, action, subject_id, detail FROM audit_log WHERE at_time = ? AND seq <> ? "
        "ORDER BY seq DESC",
        [dt.datetime.fromisoformat(cp.head_at), cp.seq],
    ).fetchall():
        if _content_digest(at, actor, action, subject, detail) == cp.head_entry:
            return int(seq)
    return None


def compare_with_checkpoint(store: Store, cp: Checkpoint) -> list[AuditProblem]:
    """What the log has lost or changed since ``cp`` was signed (its signature is checked by the caller)."""
    if cp.store_id != store.store_id:
        return [
            AuditProblem(
                0,
                f"{cp.label} is of another store ({cp.store_id}), not this one ({store.store_id})",
                f"{cp.label_zh}属于另一个存储（{cp.store_id}），而不是本存储（{store.store_id}）",
            )
        ]
    if cp.count == 0:
        return []
    last, total = store.execute("SELECT max(seq), count(*) FROM audit_log").fetchone() or (None, 0)
    head = store.execute(
        "SELECT hash, at_time, actor, action, subject_id, detail FROM audit_log WHERE seq = ?", [cp.seq]
    ).fetchone()
    if head is None or head[0] != cp.head:
        moved = _moved_head(store, cp)
        if moved is not None:
            return [
                AuditProblem(
                    moved,
                    f"renumbered: entry {cp.seq}, the last entry {cp.label} signed, is now entry {moved}; "
                    f"{_entries(cp.seq - moved)} before it {'was' if cp.seq - moved == 1 else 'were'} deleted and "
                    "the later ones renumbered"
                    if moved < cp.seq
                    else f"renumbered: entry {cp.seq}, the last entry {cp.label} signed, is now entry {moved}",
                    f"被重新编号：{cp.label_zh}签名的最后一条（第 {cp.seq} 条）现在是第 {moved} 条"
                    + (f"；它之前的 {cp.seq - moved} 条被删除，其后各条被重新编号" if moved < cp.seq else ""),
                )
            ]
        if head is None:
            ends = f"ends at entry {last} ({_entries(int(total))})" if last is not None else "is empty"
            ends_zh = f"止于第 {last} 条（共 {total} 条）" if last is not None else "为空"
            return [
                AuditProblem(
                    cp.seq,
                    f"cut: {cp.label} covers {_entries(cp.count)} up to entry {cp.seq}, but the log {ends}; "
                    "entries were deleted from its end",
                    f"被截断：{cp.label_zh}涵盖至第 {cp.seq} 条的 {cp.count} 条，而日志{ends_zh}；末尾的条目被删除了",
                )
            ]
        if _content_digest(*head[1:]) == cp.head_entry:
            return [
                AuditProblem(
                    cp.seq,
                    f"rewritten: entry {cp.seq} is the last entry {cp.label} signed, but its hash is "
                    f"{head[0][:16]}…, not {cp.head[:16]}…: an entry before it was changed and the later hashes "
                    "recomputed",
                    f"被改写：第 {cp.seq} 条是{cp.label_zh}签名的最后一条，但其哈希是 {head[0][:16]}…，而不是 "
                    f"{cp.head[:16]}…：它之前有一条被改动，其后的哈希被重新计算",
                )
            ]
        return [
            AuditProblem(
                cp.seq,
                f"rewritten: entry {cp.seq} is not the entry {cp.label} signed (hash {head[0][:16]}…, signed "
                f"{cp.head[:16]}…): the chain up to it was replaced",
                f"被改写：第 {cp.seq} 条不是{cp.label_zh}签名的那一条（哈希 {head[0][:16]}…，签名时为 "
                f"{cp.head[:16]}…）：到它为止的链被替换了",
            )
        ]
    covered = int(store.one("SELECT count(*) FROM audit_log WHERE seq <= ?", [cp.seq]))
    if covered != cp.count:
        return [
            AuditProblem(
                cp.seq,
                f"removed: {cp.label} counts {_entries(cp.count)} up to entry {cp.seq}, the log holds {covered}",
                f"被删除：{cp.label_zh}记至第 {cp.seq} 条共 {cp.count} 条，日志中只有 {covered} 条",
            )
        ]
    return []


@dataclass
class AuditCheck:
    """The outcome of ``audit verify``: every problem found, the entries, and the checkpoint compared with."""

    entries: int
    problems: list[AuditProblem] = field(default_factory=list)
    checkpoint: Checkpoint | None = None
    checkpoint_source: str | None = None
    checkpoints: int = 0

    @property
    def intact(self) -> bool:
        return not self.problems


def verify_audit_log(store: Store, checkpoint: Path | str | None = None, key: str | None = None) -> AuditCheck:
    """Check the chain, then the chain against every checkpoint (the latest one covers the most).

    With ``checkpoint`` (an auditor's file) its checkpoints are used, and refused (CheckpointError) unless signed
    with ``key`` (base64) or, without one, with the key recorded in the store. Without it, the store's own
    checkpoints are read; a problem with them is reported like a problem of the chain."""
    check = AuditCheck(int(store.one("SELECT count(*) FROM audit_log") or 0), verify_audit(store))
    recorded = recorded_public_key(store)
    if checkpoint is not None:
        trusted = key.strip() if key else recorded
        if trusted is None:
            raise CheckpointError(
                "this store records no signing key to check the checkpoint with: give the registry's public key "
                "(--key, as `socialcredit audit key` printed it)",
                zh="本存储没有记录可用来检查检查点的签名密钥：请给出登记机构的公钥（--key，即 `socialcredit audit key` "
                "打印的那个）",
            )
        try:
            trusted = public_key_text(parse_public_key(trusted))
        except ValueError as exc:
            raise CheckpointError(
                f"the key {trusted!r} is not an Ed25519 public key in base64 ({exc})",
                zh=f"密钥 {trusted!r} 不是 base64 形式的 Ed25519 公钥（{exc}）",
            ) from None
        kept = read_checkpoints(checkpoint)
        for cp in kept:
            check_signature(cp, trusted)
        check.checkpoint, check.checkpoint_source, check.checkpoints = kept[-1], str(checkpoint), len(kept)
        check.problems += _compare_all(store, kept)
        return check
    path = checkpoint_file(store)
    if not path.exists():
        if recorded is not None:
            check.problems.append(
                AuditProblem(
                    0,
                    f"no checkpoints at {path}, though this store signs them with key {fingerprint(recorded)}: "
                    "they were removed",
                    f"{path} 没有检查点，而本存储以密钥 {fingerprint(recorded)} 签署检查点：它们被删除了",
                )
            )
        return check
    try:
        found = read_checkpoints(path)
        if recorded is None:
            raise CheckpointError(
                f"{path} holds checkpoints, but this store records no key that signed them",
                zh=f"{path} 中有检查点，但本存储没有记录签署它们的密钥",
            )
        for cp in found:
            check_signature(cp, recorded)
    except CheckpointError as exc:
        check.problems.append(AuditProblem(0, str(exc), exc.zh))
        return check
    check.checkpoint, check.checkpoint_source, check.checkpoints = found[-1], str(path), len(found)
    check.problems += _compare_all(store, found)
    return check


def _compare_all(store: Store, found: list[Checkpoint]) -> list[AuditProblem]:
    """Compare the log with every checkpoint, not only the latest: a checkpoint made after the log was cut or
    rewritten signs the damage, and the earlier ones still hold what it replaced. The oldest that no longer
    matches is explained, with how many later ones fail with it."""
    heads = dict(
        store.execute(
            "SELECT seq, hash FROM audit_log WHERE seq IN (SELECT unnest(?::BIGINT[]))",
            [sorted({cp.seq for cp in found})],
        ).fetchall()
    )
    broken = [cp for cp in found if cp.count and heads.get(cp.seq) != cp.head]
    if not broken:
        return compare_with_checkpoint(store, found[-1])
    problems = compare_with_checkpoint(store, broken[0])
    if len(broken) > 1:
        later = len(broken) - 1
        problems.append(
            AuditProblem(
                broken[0].seq,
                f"{later} later checkpoints do not match either",
                f"其后的 {later} 个检查点也不一致",
            )
        )
    return problems
