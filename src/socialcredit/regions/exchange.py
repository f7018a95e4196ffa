"""Regions exchange records: set-up, trusted publishers, export and import of signed bundles, identity links.

A region is a store with a region code and name (``set_region``) and a policy whose ``exchange`` block says which
record types and lists it shares. ``export_bundle`` writes the shareable records recorded here since the last
bundle, and the current entries of the shared lists, signed with the region's key. ``import_bundle`` refuses what
``bundle.open_bundle`` refuses, replays, and content the catalog does not allow (``validate``), then links each
person the bundle names to a subject here: by the same identity number, or with Splink (``linkage``). Records of
linked persons go into ``records`` with their ``origin_region``, and count under this region's own policy; links in
the grey zone wait for an operator. An import is one transaction, and a refused one leaves only its audit entry.
Every applied link is audited and can be reversed (its records are withdrawn, as new versions).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import secrets
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import sqlglot.expressions as exp

from socialcredit.clock import resolve_today
from socialcredit.errors import BundleError, CheckpointError, NotFoundError, RegionError, SocialCreditError
from socialcredit.identifiers import compact_subject_id, fold_record_id, fold_record_id_sql, no_subject
from socialcredit.policy import LoadedPolicy
from socialcredit.regions import crossborder
from socialcredit.regions.alerts import origin_label, raise_alerts
from socialcredit.regions.bundle import (
    PAYLOAD_FORMAT,
    Bundle,
    Recipient,
    encryption_key_path,
    fingerprint,
    load_encryption_key,
    open_bundle,
    region_problem,
    seal_bundle,
)
from socialcredit.regions.bundle import load_private_key as _load_key
from socialcredit.regions.keys import encryption_recipients, trust_key, trusted_keys
from socialcredit.regions.linkage import LinkOptions, link_identities_kept
from socialcredit.regions.validate import (
    check_bundle_size,
    check_payload,
    check_record_types,
    resent_versions,
    shown,
)
from socialcredit.registry import (
    Checkpoint,
    append_audit,
    check_signature,
    end_withdrawn_listings,
    get_policy,
    in_force_sql,
    keep_checkpoint,
    keep_received_checkpoint,
    mask_id,
    parse_checkpoint,
    resolve_displaced_link_disputes,
    signed_checkpoint,
    unkeep_checkpoint,
)
from socialcredit.sqltext import ident, lit
from socialcredit.store import (
    SQL_TYPES,
    Store,
    latest_subjects,
    next_first_key_sql,
    note_record_ids,
    note_role_records,
)

__all__ = [
    "ExportSummary",
    "ImportSummary",
    "accept_link",
    "export_bundle",
    "import_bundle",
    "list_review_queue",
    "region_of",
    "reject_link",
    "reverse_link",
    "set_region",
    "trust_publisher",
    "trusted_publishers",
]

_CODE_LEN = 6


def set_region(store: Store, code: str, name: str, actor: str = "cli") -> None:
    """Name this store's region (a six-digit administrative code, e.g. 120000, and a name, e.g. Tianjin)."""
    # the code and the name its bundles name it by: what an importer takes
    if (problem := region_problem(code, name.strip())) is not None:
        raise RegionError(problem[0], zh=problem[1])
    with store.transaction():
        store.execute("DELETE FROM store_info WHERE key IN ('region_code', 'region_name')")
        store.execute("INSERT INTO store_info VALUES ('region_code', ?), ('region_name', ?)", [code, name.strip()])
        append_audit(store, actor, "region_setup", None, {"code": code, "name": name.strip()})


def region_of(store: Store) -> tuple[str, str]:
    rows = dict(store.execute("SELECT key, value FROM store_info WHERE key LIKE 'region_%'").fetchall())
    if "region_code" not in rows:
        raise RegionError(
            "this store is not a region yet: run `socialcredit region setup CODE NAME` first",
            zh="此存储还不是一个地区：请先运行 `socialcredit region setup CODE NAME`",
        )
    return str(rows["region_code"]), str(rows["region_name"])


def trust_publisher(store: Store, code: str, name: str, public_key: str, actor: str = "cli") -> str:
    """Trust bundles from region ``code`` signed with ``public_key`` (base64); returns the key's fingerprint.
    A new key for a region already trusted is a rotation (``keys.trust_key`` has the options)."""
    return trust_key(store, code, name, public_key, actor=actor).fingerprint


def trusted_publishers(store: Store) -> dict[str, tuple[str, str]]:
    """Each trusted region's name and latest key (``keys.trusted_keys`` has every key and its state)."""
    return {code: (p.name, p.keys[-1].public_key) for code, p in trusted_keys(store).items() if p.trusted}


# --- export -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportSummary:
    path: str
    sequence: int
    sha256: str
    records: int
    identities: int
    list_entries: int
    disputes: int = 0  # forwarded to the regions that recorded their records (regions/crossborder.py)
    answers: int = 0  # to disputes other regions forwarded here
    listings: int = 0
    repairs: int = 0  # repair applications forwarded to the regions that recorded their records
    repair_answers: int = 0  # decisions on applications other regions forwarded here
    dispute_information: int = 0  # added to disputes forwarded before
    # From an encrypted store: the regions the bundle is encrypted to, each as "Name (code)" (every region trusted
    # here with a valid key: an export that would leave one out is refused). Empty: the bundle is in clear.
    encrypted_for: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _exchange_policy(store: Store, policy_id: str) -> LoadedPolicy:
    loaded = get_policy(store, policy_id)
    if loaded.policy.exchange is None:
        raise RegionError(
            f"policy {policy_id} shares nothing: add an `exchange:` block (shareable_record_types, lists) to it",
            zh=f"政策 {policy_id} 不共享任何内容：请为其加上 `exchange:` 部分（shareable_record_types、lists）",
        )
    return loaded


def export_bundle(
    store: Store, policy_id: str, key_path: Path | str, out: Path | str, actor: str = "cli"
) -> ExportSummary:
    """Write the next bundle of this region to ``out``: records since the last bundle, current list entries.

    A refused export (no exchange block, a key that cannot be read, a region with no encryption key, an ``out`` that
    cannot be written, ...) writes no bundle, takes no sequence number and keeps no checkpoint; it leaves one audit
    entry, ``region_export_refused``, with the policy, the file's name and the message, as a refused import does."""
    out = Path(out)
    try:
        return _export(store, policy_id, key_path, out, actor)
    except Exception as exc:
        message = str(exc) if isinstance(exc, SocialCreditError) else f"internal error ({type(exc).__name__})"
        with store.transaction():
            append_audit(
                store, actor, "region_export_refused", None, {"policy": policy_id, "file": out.name, "message": message}
            )
        raise


def _not_written(out: Path, why: str) -> RegionError:
    return RegionError(
        f"not exported: the bundle cannot be written to {out} ({why}); give --out a file in a folder this user "
        "may write. Nothing was written.",
        zh=f"未导出：数据包无法写入 {out}（{why}）；请让 --out 指向此用户可写的文件夹中的文件。未写入任何内容。",
    )


def _bundle_file(out: Path) -> tuple[Path, BinaryIO]:
    """A new private file (0600) beside ``out`` that the bundle is written to and then renamed to ``out``: made before
    anything of the export is kept, so an ``out`` that cannot be written refuses the export (naming it) before a
    checkpoint is kept or a sequence taken (until 2026-12-05 the checkpoint was kept, then the write failed).

    Its name is short whatever ``out``'s (``.<token>.part``): a name near the 255 bytes a name may have stays valid.
    An ``out`` that exists and may be written, in a folder where no file may be made, is refused naming that case:
    the bundle is never written in place, where a failed export would leave half of one at ``out``."""
    if out.is_dir():
        raise _not_written(out, "it is a folder")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise _not_written(out, f"{out.parent} is not a folder") from None
    except OSError as exc:
        raise _not_written(out, f"its folder {out.parent} cannot be made: {exc.strerror}") from None
    if not out.parent.is_dir():
        raise _not_written(out, f"{out.parent} is not a folder")
    temp = out.with_name(f".{secrets.token_hex(6)}.part")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        if out.is_file() and os.access(out, os.W_OK):
            why = (
                f"no new file may be made in its folder {out.parent}: {why}; the bundle is written to a new file "
                f"beside it and renamed to {out.name} once whole, never written over the file in place"
            )
        raise _not_written(out, why) from None
    try:
        os.fchmod(fd, 0o600)
        return temp, os.fdopen(fd, "wb")
    except OSError as exc:
        os.close(fd)
        temp.unlink(missing_ok=True)
        raise _not_written(out, exc.strerror or type(exc).__name__) from None


def _export(store: Store, policy_id: str, key_path: Path | str, out: Path, actor: str) -> ExportSummary:
    code, name = region_of(store)
    key = _load_key(key_path)
    loaded = _exchange_policy(store, policy_id)
    # An encrypted store writes nothing personal in clear: its bundle is encrypted to every region it goes to, and
    # refused, before anything is written (no sequence, no checkpoint; the refusal is audited as region_export_refused),
    # when one has no encryption key.
    recipients = _encryption_recipients(store) if store.encrypted else {}
    exchange = loaded.policy.exchange
    assert exchange is not None
    catalog = store.catalog
    last = store.execute("SELECT max(sequence), max(watermark) FROM region_exports").fetchone()
    sequence = int(last[0] or 0) + 1 if last else 1
    since = int(last[1] or 0) if last else 0
    watermark = int(store.one("SELECT value FROM counters WHERE name = 'seq'"))
    types = exchange.shareable_record_types
    field_names = list(catalog.field_columns())
    cols = "".join(f", {ident(f)}" for f in field_names)
    rows = (
        store.rows(
            "SELECT subject_id, source_id, record_id, version, record_type, event_date, withdrawn"
            f"{cols} FROM records WHERE origin_region IS NULL AND record_key > ? AND record_key <= ? "
            f"AND record_type IN ({', '.join(map(lit, types))}) ORDER BY record_key",
            [since, watermark],
        )
        if types
        else []
    )
    certified = crossborder.certified_versions(store, since, watermark)
    records = [
        {
            "subject_id": r["subject_id"],
            "source_id": r["source_id"],
            "record_id": r["record_id"],
            "version": int(r["version"]),
            "record_type": r["record_type"],
            "event_date": r["event_date"].isoformat(),
            "withdrawn": bool(r["withdrawn"]),
            "certified": (r["source_id"], r["record_id"], int(r["version"])) in certified,
            "fields": {
                f: (r[f].isoformat() if isinstance(r[f], dt.date) else r[f])
                for f in catalog.record_types[r["record_type"]].fields
                if r.get(f) is not None
            },
        }
        for r in rows
    ]
    entries: list[dict[str, Any]] = []
    as_of: str | None = None
    # the lists as they stand: the policy's run in force (the run decisions and the public list stand on)
    run = store.rows(f"SELECT run_id, as_of FROM ({in_force_sql()}) WHERE policy_id = ?", [policy_id])
    if run and exchange.lists:
        as_of = run[0]["as_of"].isoformat()
        kinds = {lst.id: lst.kind for lst in loaded.policy.lists}
        black = sorted(x for x in exchange.lists if kinds.get(x) == "black")
        # A blacklist entry only once its listing is in effect, as decisions and the public look-up here count it
        # (registry/due_process/listings.py): a person in the notice period is blacklisted nowhere, and another
        # region that imports the record lists them on the day this region's listing takes effect (the `listings`
        # section carries its dates). Until 2026-12-06 a person in notice was sent as blacklisted, and the region
        # that imported the bundle alerted its operator of them before their grace had ended.
        for e in store.rows(
            "SELECT e.subject_id, e.list_id, e.criterion_id, r.source_id, r.record_id, r.origin_region "
            "FROM run_list_entries e LEFT JOIN records r ON r.record_key = e.record_key "
            f"WHERE e.run_id = $run AND e.list_id IN ({', '.join(map(lit, exchange.lists))}) "
            "AND (NOT list_contains($black, e.list_id) OR EXISTS ("
            "SELECT 1 FROM listings l WHERE l.policy_id = $policy AND l.list_id = e.list_id "
            "AND l.subject_id = e.subject_id AND l.criterion_id = e.criterion_id "
            "AND l.source_id = coalesce(r.source_id, '') AND l.record_id = coalesce(r.record_id, '') "
            "AND l.status = 'effective')) ORDER BY 1, 2, 3",
            {"run": run[0]["run_id"], "black": black, "policy": loaded.policy.id},
        ):
            if e["origin_region"]:
                continue  # another region's record: that region publishes it
            c = loaded.policy.criterion(e["list_id"], e["criterion_id"])
            entries.append(
                {
                    "subject_id": e["subject_id"],
                    "list_id": e["list_id"],
                    "kind": kinds[e["list_id"]],
                    "criterion_id": e["criterion_id"],
                    "reason_en": c.reason.en,
                    "reason_zh": c.reason.zh,
                    "record_id": f"{e['source_id']}/{e['record_id']}" if e["record_id"] else None,
                }
            )
    people = sorted({r["subject_id"] for r in records} | {e["subject_id"] for e in entries})
    identities = []
    if people:
        store.con.register("_people", pa.table({"subject_id": people}))
        # the people of this bundle only, filtered before the latest version is chosen
        named = latest_subjects(
            ("subject_id", "name", "sex", "birth_date", "phone", "address"),
            where=exp.column("subject_id").isin(query=exp.select("subject_id").from_("_people")),
        ).sql(dialect="duckdb")
        try:
            for s in store.rows(f"{named} ORDER BY subject_id"):
                identities.append({**s, "birth_date": s["birth_date"].isoformat() if s["birth_date"] else None})
        finally:
            store.con.unregister("_people")
    sections = crossborder.export_sections(store, policy_id, list(exchange.lists), list(types))
    temp, fh = _bundle_file(out)  # before anything is kept: an `out` that cannot be written keeps nothing
    replaced = line_kept = False
    kept: int | None = None
    try:
        with fh:
            # The registry's signed audit head travels with the bundle: the importer keeps a copy outside this store.
            # It is kept here only once the bundle is at `out`, in the transaction that records its sequence.
            checkpoint = signed_checkpoint(store)
            payload = {
                "format": PAYLOAD_FORMAT,
                "publisher": {"region": code, "name": name},
                "sequence": sequence,
                "created_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
                "policy": {"id": loaded.policy.id, "version": loaded.policy.version},
                # the catalog its records were written under (a receiving store must have their record types)
                "catalog": {"version": store.catalog_version, "sha256": _catalog_sha(store)},
                "lists_as_of": as_of,
                "identities": identities,
                "records": records,
                "list_entries": entries,
                **sections,
                "audit_checkpoint": checkpoint.as_dict(),
            }
            # From a store without a key the bundle is in clear, as before encryption (recipients is empty).
            data = seal_bundle(payload, key, recipients=recipients)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        sha = hashlib.sha256(data).hexdigest()
        # One transaction records the sequence and what the bundle carried, then puts the bundle at `out` and keeps
        # its checkpoint: if any of it fails, even the COMMIT, no bundle is left at `out`, the checkpoint line is
        # taken back and the sequence is not taken (until 2026-12-05 the bundle was at `out` and its checkpoint kept
        # before this transaction, so one that failed left a bundle whose sequence the next export took again).
        with store.transaction():
            store.execute(
                "INSERT INTO region_exports VALUES (?, ?, ?, now(), ?, ?)",
                [sequence, sha, watermark, len(records), len(entries)],
            )
            crossborder.mark_sent(store, sequence, sections)
            append_audit(
                store,
                actor,
                "region_export",
                None,
                {
                    "sequence": sequence,
                    "records": len(records),
                    "list_entries": len(entries),
                    "file": out.name,
                    **({"encrypted_for": sorted(recipients)} if recipients else {}),
                },
            )
            # 0600 whatever was there (an unencrypted store's bundle is in clear): the new file replaces it
            try:
                os.replace(temp, out)
            except OSError as exc:
                raise _not_written(out, f"it cannot be replaced: {exc.strerror or type(exc).__name__}") from None
            replaced = True
            kept = keep_checkpoint(store, checkpoint)
            line_kept = True
    except BaseException:
        if line_kept:  # the COMMIT failed: the line goes with the export it was kept for (until 2026-12-05 it stayed)
            unkeep_checkpoint(store, kept)
        if replaced:
            out.unlink(missing_ok=True)
        temp.unlink(missing_ok=True)
        raise
    return ExportSummary(
        str(out),
        sequence,
        sha,
        len(records),
        len(identities),
        len(entries),
        **{k: len(sections[k]) for k in ("disputes", "answers", "listings")},
        **{k: len(sections[k]) for k in ("repairs", "repair_answers", "dispute_information")},
        encrypted_for=[f"{n} ({c})" for c, (n, _) in sorted(recipients.items())],
    )


def _encryption_recipients(store: Store) -> dict[str, tuple[str, str]]:
    """The regions an encrypted store's bundle is encrypted to (``keys.encryption_recipients``); refused when there
    is none, or when one of the regions it goes to has no encryption key here, or one that cannot be encrypted to:
    it would be written in clear, or unreadable to that region (or fail once its checkpoint was written)."""
    recipients, without = encryption_recipients(store)
    if without:
        none = [u for u in without if u.unusable is None]
        # a key recorded before `region trust` checked it (a low-order point): told apart, fixed alike
        unusable = [u for u in without if u.unusable is not None]
        said = [f"{', '.join(u.label for u in none)} {'has' if len(none) == 1 else 'have'} no encryption key here"]
        said = (said if none else []) + [
            f"{u.label} has an encryption key here that cannot be encrypted to ({u.unusable})" for u in unusable
        ]
        fixes = "; ".join(f"`{u.fix()}`" for u in none + unusable)  # in the order the regions are named
        raise RegionError(
            f"not exported: the store is encrypted and {' and '.join(said)}, so the bundle could not "
            "be encrypted to every region it goes to (an encrypted store writes no bundle in clear); record the "
            "encryption key with the signing key the region is trusted by (KEY: the encryption key its `region "
            f"keygen` printed): {fixes}; then export again. Nothing was written."
        )
    if not recipients:
        raise RegionError(
            "not exported: the store is encrypted and no region is trusted here with a valid key, so the bundle could "
            "be encrypted to no one (an encrypted store writes no bundle in clear); trust each region that receives "
            "this region's bundles with both its keys: `socialcredit region trust CODE NAME --key KEY "
            "--encryption-key KEY`; then export again. Nothing was written."
        )
    return recipients


# --- import -----------------------------------------------------------------------------------------------


@dataclass
class ImportSummary:
    publisher: str
    sequence: int
    records: int
    identities: int
    exact: int = 0
    linked: int = 0
    review: int = 0
    unmatched: int = 0  # persons first named by this bundle that no subject here matched
    retried: int = 0  # persons left unmatched by earlier bundles, tried again by this import
    still_unmatched: int = 0  # of those, the ones still unmatched (the others are counted in exact, linked, review)
    # earlier links of other persons that an exact match here displaced: reversed (records withdrawn), sent to review
    reversed_to_review: int = 0
    applied_records: int = 0
    duplicates: int = 0  # record versions received before with the same content (re-sent): not applied again
    alerts: int = 0
    due_process: dict[str, int] = field(default_factory=dict)  # what crossborder.apply did
    # values the linkage model's columns did not fit (a pattern, a date), per side: count and three masked examples
    misfits: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_replay(store: Store, bundle: Bundle) -> None:
    done = store.execute(
        "SELECT imported_at FROM region_imports WHERE publisher = ? AND sequence = ?",
        [bundle.publisher, bundle.sequence],
    ).fetchone()
    if done is not None:
        raise BundleError(
            f"replayed: bundle {bundle.label} from {bundle.publisher_name} was already imported on "
            f"{done[0]:%Y-%m-%d %H:%M}; a bundle is imported once",
            zh=f"重放：来自{bundle.publisher_name}的数据包 {bundle.label} 已于 {done[0]:%Y-%m-%d %H:%M} 导入；"
            "一个数据包只导入一次",
        )
    last = int(
        store.one("SELECT coalesce(max(sequence), 0) FROM region_imports WHERE publisher = ?", [bundle.publisher])
    )
    if bundle.sequence > last + 1:
        # Each bundle carries the records since the one before: none may be skipped.
        raise BundleError(
            f"out of order: bundle {bundle.label} cannot be imported before #{last + 1} from {bundle.publisher_name}",
            zh=f"顺序错误：数据包 {bundle.label} 不能先于来自{bundle.publisher_name}的 #{last + 1} 导入",
        )


@dataclass
class _Attempt:
    """What is known of a bundle being imported, for the audit entry of its refusal."""

    file: str
    file_sha256: str | None = None
    publisher: str | None = None
    sequence: int | None = None


def import_bundle(
    store: Store,
    path: Path | str,
    *,
    options: LinkOptions | None = None,
    key_path: Path | str | None = None,
    actor: str = "cli",
) -> ImportSummary:
    """Verify and import one bundle; link the persons it names; apply their records; raise alerts.

    All or nothing: the bundle is checked whole (``open_bundle``, replays, ``validate.check_payload``) before one
    row is written, and then written, linked and applied in one transaction. A refused bundle leaves one audit entry
    (``region_import_refused``) and nothing else, so a corrected bundle with the same sequence can follow.
    ``key_path`` is this region's signing key file: an encrypted bundle is decrypted with the encryption key beside
    it (``bundle.encryption_key_path``); a bundle in clear needs none."""
    code, name = region_of(store)
    path = Path(path)
    attempt = _Attempt(path.name)
    try:
        recipient = Recipient(code, name)
        if key_path is not None:  # read only when there: a bundle in clear needs no encryption key
            enc_path = encryption_key_path(key_path)
            enc_key = load_encryption_key(enc_path, key_path) if enc_path.exists() else None
            recipient = Recipient(code, name, enc_key, str(enc_path))
        summary, received = _import(store, path, code, options or LinkOptions(), actor, attempt, recipient)
    except Exception as exc:
        _audit_refusal(store, actor, attempt, exc)
        raise
    # Kept outside the store, so only once the import is committed.
    if received is not None:
        keep_received_checkpoint(store, summary.publisher, received)
    return summary


def _folded_record_ids(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` with the record ids of its records, list entries and listings folded (identifiers.fold_record_id),
    as this store holds and compares them: a region on a release before the fold may send ``（2024）京01民初1号``,
    and a copy kept as received (region_records, region_listings) then meets its record here
    (``<region>/(2024)京01民初1号``). Folded after the checks, which see the ids as sent: twins (two spellings of one
    id a store before the fold held) are two versions 1 of one record here, the later received counting
    (``_apply_records``)."""

    def folded(items: Any) -> Any:
        if not isinstance(items, list):
            return items
        return [
            {**item, "record_id": fold_record_id(item["record_id"])}
            if isinstance(item, dict) and isinstance(item.get("record_id"), str)
            else item
            for item in items
        ]

    return payload | {
        name: folded(payload[name]) for name in ("records", "list_entries", "listings") if name in payload
    }


def _import(
    store: Store, path: Path, code: str, options: LinkOptions, actor: str, attempt: _Attempt, recipient: Recipient
) -> tuple[ImportSummary, Checkpoint | None]:
    """The import's checks, then its one transaction; returns the summary and the publisher's checkpoint."""
    try:
        check_bundle_size(path.stat().st_size, path.name)
        data = path.read_bytes()
    except OSError as exc:
        raise BundleError(
            f"{path}: cannot read the bundle: {exc.strerror}", zh=f"{path}：无法读取数据包：{exc.strerror}"
        ) from None
    attempt.file_sha256 = hashlib.sha256(data).hexdigest()
    attempt.publisher = _claimed_publisher(data)
    bundle = open_bundle(data, trusted_keys(store), recipient=recipient)
    attempt.publisher, attempt.sequence = bundle.publisher, bundle.sequence
    if bundle.publisher == code:
        raise BundleError(
            f"bundle {bundle.label} was published by this region; a region does not import its own",
            zh=f"数据包 {bundle.label} 由本地区发布；地区不导入自己的数据包",
        )
    _check_replay(store, bundle)
    received = _received_checkpoint(bundle)
    p = bundle.payload
    _check_catalog(store, bundle)
    check_payload(p, store.catalog)
    crossborder.validate(p)
    p = _folded_record_ids(p)
    origin = bundle.publisher
    summary = ImportSummary(origin, bundle.sequence, len(p["records"]), len(p["identities"]))
    with store.transaction():
        check_record_types(store, origin, bundle.publisher_name, p["records"])
        # A version received before (re-sent under a new sequence) is a duplicate: neither kept again nor applied.
        resent = resent_versions(store, origin, p["records"])
        summary.duplicates = len(resent)
        if resent:
            p = {**p, "records": [r for i, r in enumerate(p["records"]) if i not in resent]}
        _write_bundle(store, bundle, p)
        summary.due_process = crossborder.apply(store, origin, p, actor)
        _resolve(store, origin, summary, options, actor)
        append_audit(
            store,
            actor,
            "region_import",
            None,
            {
                "publisher": origin,
                "sequence": bundle.sequence,
                "sha256": bundle.sha256,
                "records": summary.records,
                **({"duplicates": summary.duplicates} if summary.duplicates else {}),
                **({"reversed_to_review": summary.reversed_to_review} if summary.reversed_to_review else {}),
                **({} if received is None else {"audit_checkpoint": _checkpoint_note(received)}),
                **({"linkage_misfits": summary.misfits} if summary.misfits else {}),
            },
        )
        _withdraw_moved_away(store, origin)
        summary.applied_records = _apply_records(store, origin)
        for (subject_id,) in store.execute(
            "SELECT DISTINCT subject_id FROM region_identities WHERE origin_region = ? AND status = 'exact'", [origin]
        ).fetchall():
            summary.alerts += raise_alerts(store, subject_id, "import", actor, {"bundle": bundle.label})
        store.execute(
            "UPDATE region_imports SET n_exact = ?, n_linked = ?, n_review = ?, n_unmatched = ? "
            "WHERE publisher = ? AND sequence = ?",
            [summary.exact, summary.linked, summary.review, summary.unmatched, origin, bundle.sequence],
        )
    return summary, received


def _write_bundle(store: Store, bundle: Bundle, p: dict[str, Any]) -> None:
    """The bundle as received (``p``: its payload less the versions received before): its identities, record
    versions, list entries and the import's row."""
    origin = bundle.publisher
    _upsert_identities(store, origin, p["identities"])
    if p["records"]:
        store.con.register(
            "_incoming_records",
            pa.table(
                {
                    "subject_id": [r["subject_id"] for r in p["records"]],
                    "source_id": [r["source_id"] for r in p["records"]],
                    "record_id": [r["record_id"] for r in p["records"]],
                    "version": pa.array([int(r["version"]) for r in p["records"]], pa.int32()),
                    "record_type": [r["record_type"] for r in p["records"]],
                    "event_date": pa.array([dt.date.fromisoformat(r["event_date"]) for r in p["records"]]),
                    "withdrawn": [bool(r["withdrawn"]) for r in p["records"]],
                    "fields": [json.dumps(r["fields"], ensure_ascii=False) for r in p["records"]],
                }
            ),
        )
        try:
            store.execute(
                "INSERT INTO region_records SELECT ?, subject_id, source_id, record_id, version, record_type, "
                "event_date, withdrawn, fields, ?, false FROM _incoming_records",
                [origin, bundle.sequence],
            )
        finally:
            store.con.unregister("_incoming_records")
    store.execute("DELETE FROM region_list_entries WHERE origin_region = ?", [origin])
    if p["list_entries"]:
        # one statement for the whole list (each bundle carries it whole: one row at a time took ~1 ms a row)
        columns = ("subject_id", "list_id", "kind", "criterion_id", "reason_en", "reason_zh", "record_id")
        store.con.register(
            "_incoming_entries",
            pa.table({c: pa.array([e[c] for e in p["list_entries"]], pa.string()) for c in columns}),
        )
        try:
            store.execute(
                f"INSERT INTO region_list_entries SELECT ?, {', '.join(columns)}, CAST(? AS DATE) "
                "FROM _incoming_entries",
                [origin, p.get("lists_as_of") or bundle.created_at[:10]],
            )
        finally:
            store.con.unregister("_incoming_entries")
    store.execute(
        "INSERT INTO region_imports VALUES (?, ?, ?, now(), ?, ?, 0, 0, 0, 0)",
        [origin, bundle.sequence, bundle.sha256, len(bundle.payload["records"]), len(p["identities"])],
    )


def _checkpoint_note(received: Checkpoint) -> dict[str, Any]:
    return {
        "count": received.count,
        "seq": received.seq,
        "head": received.head,
        "at": received.at,
        "key": fingerprint(received.key),
    }


def _claimed_publisher(data: bytes) -> str | None:
    """The region code a bundle's envelope claims, if it is one (for the audit entry of a refusal)."""
    try:
        claimed = json.loads(data.decode("utf-8")).get("publisher")
    except (ValueError, AttributeError, RecursionError):
        return None
    return claimed if isinstance(claimed, str) and len(claimed) == _CODE_LEN and claimed.isdigit() else None


def _audit_refusal(store: Store, actor: str, attempt: _Attempt, exc: Exception) -> None:
    """The one trace a refused import leaves: an audit entry with what was known of the bundle, and why."""
    message = str(exc) if isinstance(exc, SocialCreditError) else f"internal error ({type(exc).__name__})"
    with store.transaction():
        append_audit(
            store,
            actor,
            "region_import_refused",
            None,
            {
                "file": attempt.file,
                "file_sha256": attempt.file_sha256,
                "publisher": attempt.publisher,
                "sequence": attempt.sequence,
                "message": message,
            },
        )


def _received_checkpoint(bundle: Bundle) -> Checkpoint | None:
    """The publisher's signed audit checkpoint, if the bundle carries one (bundles before checkpoints do not)."""
    data = bundle.payload.get("audit_checkpoint")
    if data is None:
        return None
    try:
        cp = parse_checkpoint(data, "audit_checkpoint")
        check_signature(cp, cp.key)  # the bundle's signature vouches for the key; this checks the checkpoint's own
    except CheckpointError as exc:
        raise BundleError(f"malformed: {exc}") from None
    return cp


def _upsert_identities(store: Store, origin: str, rows: list[dict[str, Any]]) -> None:
    """Keep each person a bundle names: update one known from an earlier bundle, add a new one (``new``), in the
    bundle's order; a person named twice keeps the last values. Set-based: a bundle names every person of its lists
    (a full picture), and one statement per person took ~1 ms each."""
    if not rows:
        return
    columns = ("name", "sex", "birth_date", "phone", "address")
    last = {row["subject_id"]: {c: row.get(c) for c in columns} for row in rows}
    order = list(last)  # in order of first appearance (a dict keeps it): the order ids were taken in
    table = pa.table(
        {
            "pos": pa.array(range(len(order)), pa.int64()),
            "subject_id": pa.array(order, pa.string()),
            **{c: pa.array([last[s][c] for s in order], pa.string()) for c in columns},
        }
    )
    store.con.register("_incoming_identities", table)
    try:
        store.execute(
            f"""UPDATE region_identities i SET {", ".join(f"{c} = n.{c}" for c in columns if c != "birth_date")},
                   birth_date = CAST(n.birth_date AS DATE), updated_at = now()
            FROM _incoming_identities n WHERE i.origin_region = ? AND i.origin_subject_id = n.subject_id""",
            [origin],
        )
        store.execute(
            """CREATE OR REPLACE TEMP TABLE _new_identities AS
            SELECT n.*, row_number() OVER (ORDER BY n.pos) AS k FROM _incoming_identities n
            WHERE NOT EXISTS (SELECT 1 FROM region_identities i WHERE i.origin_region = ?
                              AND i.origin_subject_id = n.subject_id)""",
            [origin],
        )
    finally:
        store.con.unregister("_incoming_identities")
    n = int(store.one("SELECT count(*) FROM _new_identities"))
    if n:
        first = store.take_ids("identity", n)
        store.execute(
            """INSERT INTO region_identities SELECT ? + k - 1, ?, subject_id, name, sex, CAST(birth_date AS DATE),
                   phone, address, 'new', NULL, NULL, NULL, NULL, now()
            FROM _new_identities ORDER BY k""",
            [first, origin],
        )
    store.execute("DROP TABLE _new_identities")


def _resolve(store: Store, origin: str, summary: ImportSummary, options: LinkOptions, actor: str) -> None:
    """Link the identities of ``origin`` that are new or still unmatched; call inside the import's transaction
    (Splink runs on its own connection, on the tables read here, and its links are written in that transaction).

    The summary counts what this import did: ``exact``, ``linked`` and ``review`` of the persons it tried (new, or
    left unmatched before); ``unmatched`` of the new ones only; ``retried`` and ``still_unmatched`` of the others;
    ``reversed_to_review`` the earlier links (of persons it did not try) its exact matches displaced."""
    retried = {
        int(r[0])
        for r in store.execute(
            "SELECT identity_id FROM region_identities WHERE origin_region = ? AND status = 'unmatched'", [origin]
        ).fetchall()
    }
    summary.retried = len(retried)
    exact = store.execute(
        """UPDATE region_identities i SET status = 'exact', subject_id = i.origin_subject_id, probability = 1.0,
                  evidence = 'same identity number', updated_at = now()
           WHERE i.origin_region = ? AND i.status IN ('new', 'unmatched')
             AND EXISTS (SELECT 1 FROM subject_keys k WHERE k.subject_id = i.origin_subject_id)
           RETURNING identity_id""",
        [origin],
    ).fetchall()
    summary.exact = len(exact)
    if exact:
        summary.reversed_to_review = _exact_displaces_links(store, origin, [int(r[0]) for r in exact], actor)
    incoming = store.execute(
        "SELECT CAST(identity_id AS VARCHAR) AS key, origin_subject_id AS subject_id, name, sex, birth_date, phone, "
        "address FROM region_identities WHERE origin_region = ? AND status IN ('new', 'unmatched') "
        "ORDER BY identity_id",
        [origin],
    ).to_arrow_table()
    if incoming.num_rows == 0:
        return
    subjects = store.execute(
        "SELECT subject_id AS key, subject_id, name, sex, birth_date, phone, address FROM current_subjects "
        "WHERE kind = 'person' ORDER BY subject_id"
    ).to_arrow_table()
    # In order, so that the same identities and residents are the same inputs: linked once in a process (an import
    # that only retries who it could not link before, against residents who have not changed, trains nothing), and
    # not at all when no pair meets a blocking rule.
    linked = link_identities_kept(incoming, subjects, replace(options, skip_without_pairs=True))
    result = linked.table
    summary.misfits = [
        {
            "side": "bundle" if m["side"] == "incoming" else "here",
            "column": m["column"],
            "field": m["source"],
            "what": m["what"],
            "count": m["count"],
            "examples": [mask_id(str(e)) for e in m["examples"][:3]],
            "action": m["action"],
        }
        for m in linked.parameters.get("misfits", [])
    ]
    keys = ", ".join(incoming["key"].to_pylist())
    store.con.register("_links", result)
    try:
        store.execute(
            """UPDATE region_identities i SET
                   status = CASE l.decision WHEN 'link' THEN 'linked' WHEN 'review' THEN 'review'
                                            ELSE 'unmatched' END,
                   subject_id = CASE WHEN l.decision = 'link' THEN l.subject_id END,
                   candidate_id = l.subject_id, probability = l.probability, evidence = l.evidence,
                   updated_at = now()
               FROM _links l WHERE CAST(i.identity_id AS VARCHAR) = l.key"""
        )
    finally:
        store.con.unregister("_links")
    store.execute(
        "UPDATE region_identities SET status = 'unmatched', updated_at = now() "
        "WHERE origin_region = ? AND status = 'new'",
        [origin],
    )
    _one_person_each(store, origin, keys, actor)
    for row in store.rows(
        "SELECT identity_id, subject_id, origin_subject_id, probability, evidence FROM region_identities "
        f"WHERE origin_region = ? AND status = 'linked' AND identity_id IN ({keys})",
        [origin],
    ):
        append_audit(
            store,
            actor,
            "region_link",
            row["subject_id"],
            {
                "identity_id": row["identity_id"],
                "origin": origin,
                "origin_subject_id": row["origin_subject_id"],
                "probability": row["probability"],
                "evidence": row["evidence"],
                "method": "splink",
            },
        )
        summary.alerts += raise_alerts(
            store, row["subject_id"], "link", actor, {"identity_id": row["identity_id"], "method": "splink"}
        )
    tried = store.execute(
        f"SELECT identity_id, status FROM region_identities WHERE origin_region = ? AND identity_id IN ({keys})",
        [origin],
    ).fetchall()
    summary.linked = sum(status == "linked" for _, status in tried)
    summary.review = sum(status == "review" for _, status in tried)
    summary.unmatched = sum(status == "unmatched" and int(i) not in retried for i, status in tried)
    summary.still_unmatched = sum(status == "unmatched" and int(i) in retried for i, status in tried)


def _exact_displaces_links(store: Store, origin: str, exact: list[int], actor: str) -> int:
    """Reverse each earlier link (Splink's or an operator's) of another identity of ``origin`` to a subject that one
    of the ``exact`` identities (just matched by the same identity number) lands on, and send it to review: the
    number says who the subject is there, and two people of one region are not one person here. Its records are
    withdrawn (``reverse_in_transaction``) and an open dispute of the link is resolved for the person (closed as
    ``unlinked``, told, audited); an operator who knows better accepts it again (not to a person whose dispute of it
    was resolved so). Returns how many."""
    displaced = store.rows(
        f"""SELECT o.*, i.identity_id AS exact_identity FROM region_identities i
        JOIN region_identities o ON o.origin_region = i.origin_region AND o.subject_id = i.subject_id
             AND o.identity_id <> i.identity_id AND o.status = 'linked'
        WHERE i.origin_region = ? AND i.identity_id IN ({", ".join(str(x) for x in exact)})
        ORDER BY o.identity_id""",
        [origin],
    )
    today = resolve_today()
    for row in displaced:
        reason = (
            f"identity {row['exact_identity']} of region {origin} has this subject's identity number; two people "
            "there are not one here"
        )
        reason_zh = f"地区 {origin} 的身份 {row['exact_identity']} 与该主体身份号码相同；那里的两个人在此不是同一人"
        reverse_in_transaction(store, row, actor, reason, today)
        # the link a resident contested is gone: their dispute is resolved in their favour, as an unlink would be
        resolve_displaced_link_disputes(store, int(row["identity_id"]), reason, actor, today, note_zh=reason_zh)
        store.execute(
            "UPDATE region_identities SET status = 'review', updated_at = now() WHERE identity_id = ?",
            [row["identity_id"]],
        )
        append_audit(
            store,
            actor,
            "region_link_held_for_review",
            row["subject_id"],
            {
                "identity_id": row["identity_id"],
                "origin": origin,
                "origin_subject_id": row["origin_subject_id"],
                "also_linked": [row["exact_identity"]],
                "reason": reason,
            },
        )
    return len(displaced)


def _one_person_each(store: Store, origin: str, keys: str, actor: str) -> None:
    """Send to review each link just made (of identities ``keys``) to a subject here that another person of the same
    region is linked to as well: two subjects of one region are two people there, and a link must not merge them into
    one here. An operator who knows better accepts it (``accept_link``)."""
    shared = store.rows(
        f"""SELECT i.identity_id, i.subject_id, i.origin_subject_id,
               list_sort(list(o.identity_id)) AS also
        FROM region_identities i JOIN region_identities o ON o.origin_region = i.origin_region
             AND o.subject_id = i.subject_id AND o.identity_id <> i.identity_id AND o.status IN ('exact', 'linked')
        WHERE i.origin_region = ? AND i.status = 'linked' AND i.identity_id IN ({keys})
        GROUP BY ALL ORDER BY i.identity_id""",
        [origin],
    )
    if not shared:
        return
    ids = ", ".join(str(int(r["identity_id"])) for r in shared)
    store.execute(
        "UPDATE region_identities SET status = 'review', subject_id = NULL, updated_at = now() "
        f"WHERE identity_id IN ({ids})"
    )
    for r in shared:
        append_audit(
            store,
            actor,
            "region_link_held_for_review",
            r["subject_id"],
            {
                "identity_id": r["identity_id"],
                "origin": origin,
                "origin_subject_id": r["origin_subject_id"],
                "also_linked": r["also"],
                "reason": f"the subject is linked to another person of region {origin} too (identity "
                f"{', '.join(str(x) for x in r['also'])}); two people there are not one here",
            },
        )


def _catalog_sha(store: Store) -> str | None:
    sha = store.one("SELECT sha256 FROM catalogs WHERE version = ?", [store.catalog_version])
    return None if sha is None else str(sha)


_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")


def _named(value: Any) -> str:
    """A name a bundle gives, as a message says it: as it is when it is a catalog's kind of name (or a version
    number), quoted and cut at 40 characters (``shown``) otherwise: a name of any length or with control characters
    went whole into the refusal and its audit entry."""
    if (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, str) and _NAME.fullmatch(value)):
        return str(value)
    return shown(value)


def _check_catalog(store: Store, bundle: Bundle) -> None:
    """Refuse a bundle written under another catalog whose records have record types, sources or fields this store's
    catalog lacks, saying so plainly; a bundle whose records all fit is taken, whatever its version. (Under the same
    catalog, such a record is malformed: ``check_payload`` says where.)"""
    theirs = bundle.payload.get("catalog")
    if not isinstance(theirs, dict) or theirs.get("sha256") == _catalog_sha(store):
        return
    catalog = store.catalog
    missing: set[str] = set()
    records = bundle.payload.get("records")
    for r in records if isinstance(records, list) else []:
        if not isinstance(r, dict):
            continue
        rtype, source, fields = r.get("record_type"), r.get("source_id"), r.get("fields")
        if isinstance(rtype, str) and rtype not in catalog.record_types:
            missing.add(f"record type {_named(rtype)}")
        elif isinstance(rtype, str) and isinstance(fields, dict):
            missing |= {f"field {rtype}.{_named(f)}" for f in fields if f not in catalog.record_types[rtype].fields}
        if isinstance(source, str) and source not in catalog.sources:
            missing.add(f"source {_named(source)}")
    if not missing:
        return
    version = theirs.get("version")
    made = f" was made with catalog version {_named(version)} of region {bundle.publisher}" if version else ""
    raise BundleError(
        f"bundle {bundle.label}{made}: its records have {', '.join(sorted(missing)[:10])}"
        f"{' and more' if len(missing) > 10 else ''}, which this store's catalog (version {store.catalog_version}) "
        "lacks; publish a catalog that has them (socialcredit catalog publish FILE) and import the bundle again"
    )


def _drop_stale_versions(store: Store) -> None:
    """Keep out of ``_apply`` each version older than one of the same record already applied from its region.

    The origin's version numbers order a record's versions, not the order bundles arrive in: a version 1 that comes
    after its version 2 (a withdrawal) must not bring the record back. Such a version is marked applied with the rest
    (never copied) and audited (``region_record_stale``)."""
    stale = store.rows(
        """SELECT a.origin_region, a.source_id, a.record_id, a.version, a.local_subject, max(rr.version) AS newest
        FROM _apply a JOIN region_records rr ON rr.origin_region = a.origin_region AND rr.source_id = a.source_id
             AND rr.record_id = a.record_id AND rr.applied
        GROUP BY ALL HAVING max(rr.version) > a.version ORDER BY 1, 2, 3"""
    )
    if not stale:
        return
    store.execute(
        """DELETE FROM _apply a WHERE EXISTS (
            SELECT 1 FROM region_records rr WHERE rr.origin_region = a.origin_region AND rr.source_id = a.source_id
              AND rr.record_id = a.record_id AND rr.applied AND rr.version > a.version)"""
    )
    for row in stale:
        append_audit(
            store,
            "region:" + str(row["origin_region"]),
            "region_record_stale",
            row["local_subject"],
            {
                "origin": row["origin_region"],
                "record_id": f"{row['source_id']}/{row['origin_region']}/{row['record_id']}",
                "version": row["version"],
                "applied_version": row["newest"],
                "reason": "older than the version already applied from the region that recorded it",
            },
        )


def _note_restarts(store: Store) -> None:
    """Mark in ``_apply`` (column ``restarts``) each version whose record restarted among the versions received
    since the last one applied, the latest of which alone is applied: one of them withdrawn, or of another subject at
    the origin. Its first key is its own (store.next_first_key_sql), as at the origin: a record withdrawn and sent
    again, or moved onto the subject, between two bundles is a new cause here too (until 2026-12-06 it kept its first
    key from the version applied before, took the cause back and ended the listing of the cause the origin kept)."""
    store.execute(
        """UPDATE _apply a SET restarts = true WHERE EXISTS (
            SELECT 1 FROM region_records p
            WHERE p.origin_region = a.origin_region AND p.source_id = a.source_id AND p.record_id = a.record_id
              AND NOT p.applied AND p.version < a.version
              AND (p.withdrawn OR p.origin_subject_id <> a.origin_subject_id)
              AND p.version > coalesce((
                  SELECT max(q.version) FROM region_records q
                  WHERE q.origin_region = p.origin_region AND q.source_id = p.source_id AND q.record_id = p.record_id
                    AND q.applied), 0))"""
    )


def _withdraw_moved_away(store: Store, origin: str) -> int:
    """Withdraw here each record of ``origin`` whose newest version received is of a person there no identity links
    here yet (a correction at the origin moved it onto them): a withdrawal version of the local copy, as a furnisher's
    withdrawal makes, audited as moved by the origin region (``region_record_moved_away``); the listing it caused ends
    as any withdrawn cause's does. The version stays pending, applied (a new cause) once that identity is linked.
    Until 2026-12-06 the record, and its listing, stayed on the subject it left. Returns how many it withdrew."""
    fold = fold_record_id_sql("rr.record_id")
    store.execute(
        f"""CREATE OR REPLACE TEMP TABLE _withdraw AS
        SELECT r.* FROM records r JOIN (
            SELECT * FROM (
                SELECT rr.source_id, rr.origin_region || '/' || {fold} AS record_id, rr.applied, rr.origin_region,
                       rr.origin_subject_id, rr.version
                FROM region_records rr WHERE rr.origin_region = ?
                QUALIFY row_number() OVER (PARTITION BY rr.source_id, {fold}
                                           ORDER BY rr.version DESC, rr.sequence DESC, rr.rowid DESC) = 1
            ) n
            WHERE NOT n.applied AND NOT EXISTS (
                SELECT 1 FROM region_identities i WHERE i.origin_region = n.origin_region
                  AND i.origin_subject_id = n.origin_subject_id AND i.status IN ('exact', 'linked'))
        ) moved USING (source_id, record_id)
        WHERE r.origin_region = ?
        QUALIFY row_number() OVER (PARTITION BY r.source_id, r.record_id ORDER BY r.version DESC) = 1""",
        [origin, origin],
    )
    moved = store.rows("SELECT subject_id, record_id FROM _withdraw WHERE NOT withdrawn ORDER BY source_id, record_id")
    n = _add_withdrawals(store)
    for row in moved:
        append_audit(
            store,
            "region:" + origin,
            "region_record_moved_away",
            row["subject_id"],
            {
                "origin": origin,
                "record_id": row["record_id"],
                "reason": "moved by the region that recorded it onto a person not linked here",
            },
        )
    return n


def _apply_records(store: Store, origin: str | None = None, identity_id: int | None = None) -> int:
    """Copy the not-yet-applied records of linked identities into ``records``; call inside a transaction."""
    catalog = store.catalog
    fields = catalog.field_columns()
    where = "i.status IN ('exact', 'linked') AND NOT rr.applied"
    params: list[Any] = []
    if origin is not None:
        where += " AND rr.origin_region = ?"
        params.append(origin)
    if identity_id is not None:
        where += " AND i.identity_id = ?"
        params.append(identity_id)
    store.execute(
        f"""CREATE OR REPLACE TEMP TABLE _apply AS
        SELECT rr.*, i.subject_id AS local_subject, k.subject_key,
               rr.origin_region || '/' || {fold_record_id_sql("rr.record_id")} AS local_record_id,
               false AS restarts
        FROM region_records rr
        JOIN region_identities i ON i.origin_region = rr.origin_region AND i.origin_subject_id = rr.origin_subject_id
        JOIN (SELECT DISTINCT subject_id, subject_key FROM subject_keys) k ON k.subject_id = i.subject_id
        WHERE {where}
        -- one record per folded id: an origin's twins (two spellings of one id, both version 1 there) are one here,
        -- the version received last counting (by the origin's version, the bundle, the order in the bundle)
        QUALIFY row_number() OVER (PARTITION BY rr.origin_region, rr.source_id, {fold_record_id_sql("rr.record_id")}
                                   ORDER BY rr.version DESC, rr.sequence DESC, rr.rowid DESC) = 1""",
        params,
    )
    _drop_stale_versions(store)
    _note_restarts(store)
    n = int(store.one("SELECT count(*) FROM _apply"))
    if n:
        first = store.take_ids("seq", n)
        typed = ", ".join(
            f"CAST(json_extract_string(a.fields, {lit('$.' + f)}) AS {SQL_TYPES[t]})" for f, t in fields.items()
        )
        store.execute(
            f"""INSERT INTO records (record_key, source_id, record_id, version, subject_id, subject_key, record_type,
                                     event_date, content_hash, is_correction, withdrawn, batch_id, recorded_at,
                                     origin_region, prev_key, first_key, {", ".join(ident(f) for f in fields)})
            SELECT ? + row_number() OVER (ORDER BY a.origin_region, a.source_id, a.record_id) - 1, a.source_id,
                   a.local_record_id, coalesce(l.version, 0) + 1, a.local_subject, a.subject_key, a.record_type,
                   a.event_date,
                   md5_number(a.local_subject || '|' || a.record_type || '|' || CAST(a.event_date AS VARCHAR)
                              || '|' || a.fields),
                   l.version IS NOT NULL, a.withdrawn, NULL, now(), a.origin_region, l.prev_key,
                   CASE WHEN a.restarts THEN NULL ELSE {next_first_key_sql("l", "a.subject_key")} END,
                   {typed}
            FROM _apply a LEFT JOIN (
                SELECT source_id, record_id, max(version) AS version, arg_max(record_key, version) AS prev_key,
                       arg_max(coalesce(first_key, record_key), version) AS first_key,
                       arg_max(withdrawn, version) AS withdrawn, arg_max(subject_key, version) AS subject_key
                FROM records
                WHERE record_id IN (SELECT local_record_id FROM _apply) GROUP BY 1, 2
            ) l ON l.source_id = a.source_id AND l.record_id = a.local_record_id""",
            [first],
        )
        note_record_ids(store, "SELECT source_id, local_record_id AS record_id FROM _apply")
        note_role_records(store, first, first + n - 1)
    # Every pending version of the applied records is now in (the latest one stands for the older).
    store.execute(
        f"""UPDATE region_records rr SET applied = true FROM region_identities i
        WHERE i.origin_region = rr.origin_region AND i.origin_subject_id = rr.origin_subject_id AND {where}""",
        params,
    )
    return n


# --- the review queue, and reversing a link ---------------------------------------------------------------


def list_review_queue(store: Store, *, actor: str | None = None) -> list[dict[str, Any]]:
    """Identities waiting for an operator: the person as another region knows them, and the proposed subject. With
    ``actor``, a look-up audited as ``read_review_queue`` (how many it named), as a list of disputes is."""
    rows = store.rows(
        """SELECT i.identity_id, i.origin_region, i.origin_subject_id, i.name, i.sex, i.birth_date, i.phone,
                  i.address, i.candidate_id, s.name AS candidate_name, s.birth_date AS candidate_birth_date,
                  s.address AS candidate_address, i.probability, i.evidence,
                  (SELECT count(*) FROM region_records r WHERE r.origin_region = i.origin_region
                     AND r.origin_subject_id = i.origin_subject_id) AS records
           FROM region_identities i LEFT JOIN current_subjects s ON s.subject_id = i.candidate_id
           WHERE i.status = 'review' ORDER BY i.probability DESC, i.identity_id"""
    )
    if actor is not None:
        with store.transaction():
            append_audit(store, actor, "read_review_queue", None, {"entries": len(rows)})
    return rows


def _identity(store: Store, identity_id: int) -> dict[str, Any]:
    rows = store.rows("SELECT * FROM region_identities WHERE identity_id = ?", [identity_id])
    if not rows:
        raise NotFoundError(
            f"no identity {identity_id} from another region", zh=f"没有来自其他地区的身份 {identity_id}"
        )
    return rows[0]


def _not_waiting(identity_id: int, status: str) -> RegionError:
    return RegionError(
        f"identity {identity_id} is {status}, not waiting for review",
        zh=f"身份 {identity_id} 的状态为 {status}，不在等待审核",
    )


def accept_link(store: Store, identity_id: int, actor: str = "cli", subject_id: str | None = None) -> int:
    """Apply a grey-zone link (to its candidate, or to ``subject_id``); returns the records applied."""
    row = _identity(store, identity_id)
    if row["status"] not in ("review", "unmatched", "rejected", "reversed"):
        raise _not_waiting(identity_id, row["status"])
    # the subject an operator typed, compacted as everywhere (`110105 19800501011x`): the subject as registered
    target = compact_subject_id(subject_id) if subject_id else row["candidate_id"]
    if not target:
        raise RegionError(
            f"identity {identity_id} has no candidate: name the subject to link it to",
            zh=f"身份 {identity_id} 没有候选主体：请指明要关联的主体",
        )
    if not store.one("SELECT count(*) FROM subject_keys WHERE subject_id = ?", [target]):
        raise no_subject(target)
    won = store.execute(
        "SELECT dispute_id, status FROM link_disputes WHERE identity_id = ? AND subject_id = ? "
        "AND status IN ('unlinked', 'lapsed') ORDER BY dispute_id DESC LIMIT 1",
        [identity_id, target],
    ).fetchone()
    if won is not None:
        # as a record withdrawn after a dispute does not come back by an operator's hand
        raise RegionError(
            f"identity {identity_id} was unlinked from {target} by link dispute {won[0]} ({won[1]}): the person "
            "contested the link and it was reversed in their favour; it is not linked to them again",
            zh=f"身份 {identity_id} 已因关联异议 {won[0]}（{won[1]}）与 {target} 解除关联：本人对关联提出异议，"
            "已作出有利于本人的撤销；不再与其关联",
        )
    with store.transaction():
        store.execute(
            "UPDATE region_identities SET status = 'linked', subject_id = ?, updated_at = now() WHERE identity_id = ?",
            [target, identity_id],
        )
        append_audit(
            store,
            actor,
            "region_link",
            target,
            {
                "identity_id": identity_id,
                "origin": row["origin_region"],
                "origin_subject_id": row["origin_subject_id"],
                "probability": row["probability"],
                "evidence": row["evidence"],
                "method": "operator",
            },
        )
        n = _apply_records(store, identity_id=identity_id)
        raise_alerts(store, target, "link", actor, {"identity_id": identity_id, "method": "operator"})
    return n


def reject_link(store: Store, identity_id: int, actor: str = "cli") -> None:
    row = _identity(store, identity_id)
    if row["status"] != "review":
        raise _not_waiting(identity_id, row["status"])
    with store.transaction():
        store.execute(
            "UPDATE region_identities SET status = 'rejected', updated_at = now() WHERE identity_id = ?", [identity_id]
        )
        append_audit(
            store,
            actor,
            "region_link_rejected",
            row["candidate_id"],
            {"identity_id": identity_id, "origin": row["origin_region"], "origin_subject_id": row["origin_subject_id"]},
        )


def reverse_link(
    store: Store, identity_id: int, actor: str = "cli", reason: str = "", *, today: dt.date | None = None
) -> int:
    """Undo an applied link: its records are withdrawn (new versions), the identity waits for review again."""
    row = _identity(store, identity_id)
    if row["status"] not in ("linked", "exact"):
        raise RegionError(
            f"identity {identity_id} is {row['status']}; only an applied link can be reversed",
            zh=f"身份 {identity_id} 的状态为 {row['status']}；只有已生效的关联可以撤销",
        )
    day = resolve_today(today)
    with store.transaction():
        n = reverse_in_transaction(store, row, actor, reason, day)
        # a dispute the person had open of this link is decided by the reversal, in their favour (it stayed open,
        # and an operator could link the identity to them again meanwhile)
        note = reason or "an operator reversed the link"
        resolve_displaced_link_disputes(store, identity_id, note, actor, day, by_operator=True)
        return n


def reverse_in_transaction(store: Store, row: dict[str, Any], actor: str, reason: str, today: dt.date) -> int:
    """``reverse_link``'s work, inside the caller's transaction (``contest`` closes a dispute in the same one).

    The subject's listings caused by the withdrawn records end at once (``end_withdrawn_listings``): decisions
    stop counting the link right after it is reversed, without waiting for the next run."""
    identity_id = int(row["identity_id"])
    # the latest version of each record the identity brought, if it is still the linked subject's: a correction
    # from the origin may have moved a record to another person since, and that person's record stays
    store.execute(
        """CREATE OR REPLACE TEMP TABLE _withdraw AS
        SELECT * FROM (
            SELECT r.* FROM records r JOIN (
                SELECT DISTINCT origin_region || '/' || record_id AS record_id, source_id FROM region_records
                WHERE origin_region = ? AND origin_subject_id = ?
            ) x USING (source_id, record_id)
            WHERE r.origin_region = ?
            QUALIFY row_number() OVER (PARTITION BY r.source_id, r.record_id ORDER BY r.version DESC) = 1
        ) WHERE subject_id = ?""",
        [row["origin_region"], row["origin_subject_id"], row["origin_region"], row["subject_id"]],
    )
    n = _add_withdrawals(store)
    store.execute(
        "UPDATE region_records SET applied = false WHERE origin_region = ? AND origin_subject_id = ?",
        [row["origin_region"], row["origin_subject_id"]],
    )
    store.execute(
        "UPDATE region_identities SET status = 'reversed', subject_id = NULL, candidate_id = ?, updated_at = now() "
        "WHERE identity_id = ?",
        [row["subject_id"], identity_id],
    )
    append_audit(
        store,
        actor,
        "region_link_reversed",
        row["subject_id"],
        {
            "identity_id": identity_id,
            "origin": row["origin_region"],
            "origin_subject_id": row["origin_subject_id"],
            "withdrawn_records": n,
            "reason": reason,
        },
    )
    end_withdrawn_listings(store, row["subject_id"], today, actor)
    return n


def _add_withdrawals(store: Store) -> int:
    """Store a withdrawal version (the record's next, with its first key) of each version in the temporary table
    ``_withdraw`` (rows of ``records``, the latest version of each record) not withdrawn already; returns how many."""
    n = int(store.one("SELECT count(*) FROM _withdraw WHERE NOT withdrawn"))
    if n:
        first = store.take_ids("seq", n)
        store.execute(
            """UPDATE _withdraw SET prev_key = record_key, first_key = coalesce(first_key, record_key),
                      record_key = ? + k - 1, version = version + 1,
                      withdrawn = true,
                      is_correction = false, recorded_at = now()
               FROM (SELECT record_key AS old, row_number() OVER (ORDER BY record_key) AS k FROM _withdraw
                     WHERE NOT withdrawn) o
               WHERE _withdraw.record_key = o.old""",
            [first],
        )
        store.execute(
            "INSERT INTO records BY NAME SELECT * FROM _withdraw WHERE withdrawn AND record_key >= ?", [first]
        )
        note_role_records(store, first, first + n - 1)
    return n


def describe_origin(store: Store, region_code: str | None) -> str | None:
    return origin_label(store, region_code)
