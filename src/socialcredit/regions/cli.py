"""``socialcredit region ...``: set up a region, keys and trusted publishers, export and import bundles, the review
queue of identity links, and alerts. Every command calls ``socialcredit.regions``; errors are SocialCreditErrors
(printed without a stack trace by the main CLI)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from socialcredit.clock import today_option
from socialcredit.errors import RegionError
from socialcredit.languages import counted, lang_option
from socialcredit.opening import open_store

__all__ = ["region_app"]

region_app = typer.Typer(
    help="Regions: share records in signed bundles, link identities, alerts.", no_args_is_help=True
)
out = Console(soft_wrap=True, markup=False)  # texts from sources and clients are shown as written
err = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)

DbOpt = Annotated[Path, typer.Option("--db", help="The store file.", envvar="SOCIALCREDIT_DB", metavar="FILE")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
_DEFAULT_DB = Path("socialcredit.duckdb")
# ``--lang`` of a command whose only texts in a language are its errors (a region's code or name it refuses)
ErrorsLangOpt = Annotated[
    str, typer.Option("--lang", help="Language of its errors: en or zh.", metavar="LANG", callback=lang_option)
]


def _print_json(data: Any) -> None:
    out.print_json(json.dumps(data, ensure_ascii=False, default=str))


@region_app.command()
def setup(
    code: Annotated[str, typer.Argument(help="Six-digit region code, e.g. 120000.", metavar="CODE")],
    name: Annotated[str, typer.Argument(help="The region's name, e.g. Tianjin.")],
    db: DbOpt = _DEFAULT_DB,
    lang: ErrorsLangOpt = "en",
) -> None:
    """Name this store's region."""
    from socialcredit.regions.exchange import set_region

    with open_store(db) as store:
        set_region(store, code, name)
    out.print(f"This store is the region {name} ({code}).")


@region_app.command()
def keygen(
    out_file: Annotated[Path, typer.Option("--out", help="Where to write the private key (PEM).", metavar="FILE")],
) -> None:
    """Make the region's signing key, and its encryption key beside it (FILE.x25519); prints the public keys other
    regions trust. For a signing key made before, only the encryption key is made."""
    from socialcredit.regions.bundle import (
        KeyFileTooOpen,
        encryption_key_path,
        encryption_public_text,
        fingerprint,
        load_encryption_key,
        load_private_key,
        new_encryption_key,
        new_private_key,
        public_key_text,
    )

    enc_file = encryption_key_path(out_file)
    if out_file.exists() and enc_file.exists():
        raise RegionError(f"{out_file} and {enc_file} exist already; a region's keys are never overwritten")
    if enc_file.exists():  # a new signing key would be paired with an encryption key made before it
        raise RegionError(
            f"{enc_file} exists already, without the signing key {out_file} it was made with; a region's keys are "
            f"never overwritten, and a new signing key is not paired with an older encryption key: move {enc_file} "
            "away (or choose another --out) and run `region keygen` again"
        )
    if out_file.exists():  # a signing key made before encryption keys: checked before its encryption key is made
        try:
            load_private_key(out_file)
        except KeyFileTooOpen:
            raise  # a signing key readable by others: said as every command says it, with the fix
        except RegionError as exc:
            raise RegionError(
                f"{out_file} exists already and is not a signing key this region can read (an unencrypted Ed25519 "
                "key in PEM, as `region keygen` writes it); no encryption key is made beside it and no file is "
                "overwritten: choose another --out"
            ) from exc
    made = []
    out_file.parent.mkdir(parents=True, exist_ok=True)
    for path, pem in ((out_file, new_private_key), (enc_file, new_encryption_key)):
        if path.exists():
            continue
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem())
        made.append(str(path))
    public = public_key_text(load_private_key(out_file))
    enc_public = encryption_public_text(load_encryption_key(enc_file, out_file))
    out.print(f"Wrote {' and '.join(made)} (keep them private).")
    out.print(f"Public key {fingerprint(public)}, for `region trust --key`:")
    out.print(public, highlight=False)
    out.print(f"Encryption key {fingerprint(enc_public)}, for `region trust --encryption-key`:")
    out.print(enc_public, highlight=False)


@region_app.command()
def trust(
    code: Annotated[str, typer.Argument(help="The publishing region's code.")],
    name: Annotated[str, typer.Argument(help="Its name.")],
    key: Annotated[str, typer.Option("--key", help="Its public key (base64, as `region keygen` printed it).")],
    expires: Annotated[
        str | None,
        typer.Option(
            "--expires", help="The first day the key is refused (YYYY-MM-DD); none by default.", metavar="DATE"
        ),
    ] = None,
    overlap: Annotated[
        int,
        typer.Option(
            "--overlap",
            help="When the key replaces another: the days the old key is still accepted (from today).",
            metavar="DAYS",
        ),
    ] = 7,
    encryption_key: Annotated[
        str | None,
        typer.Option(
            "--encryption-key",
            help="Its encryption key (base64, as `region keygen` printed it): an encrypted store's bundles are "
            "encrypted to it.",
            metavar="KEY",
        ),
    ] = None,
    db: DbOpt = _DEFAULT_DB,
    lang: ErrorsLangOpt = "en",
) -> None:
    """Trust bundles from another region signed with its key; a new key for a trusted region is a rotation."""
    from socialcredit.regions.keys import trust_key

    with open_store(db) as store:
        t = trust_key(store, code, name, key, expires_on=expires, overlap_days=overlap, encryption_key=encryption_key)
    line = f"Trusting bundles from {t.name} ({t.region_code}) signed with key {t.fingerprint}"
    out.print(line + (f", refused from {t.expires_on}." if t.expires_on else "."), highlight=False)
    if t.encryption_key:
        out.print(
            f"An encrypted store's bundles are encrypted to its encryption key {t.encryption_key}.", highlight=False
        )
    if t.replaced and t.overlap_ends:
        last = t.overlap_ends - dt.timedelta(days=1)
        out.print(
            f"It replaces key {t.replaced}, accepted until {last} and refused from {t.overlap_ends}.", highlight=False
        )


@region_app.command()
def revoke(
    code: Annotated[str, typer.Argument(help="The publishing region's code.")],
    key: Annotated[
        str, typer.Option("--key", help="The key's fingerprint (as `region keys` lists it).", metavar="FINGERPRINT")
    ],
    reason: Annotated[
        str, typer.Option("--reason", help="Why (kept in the audit log and told on refusals).", metavar="TEXT")
    ],
    db: DbOpt = _DEFAULT_DB,
) -> None:
    """Revoke one of a region's keys: bundles signed with it are refused from now on, whatever their date."""
    from socialcredit.regions.keys import revoke_key

    with open_store(db) as store:
        k = revoke_key(store, code, key, reason)
    out.print(
        f"Revoked key {k.fingerprint} of region {code} on {k.revoked_on} ({k.revoked_reason}); bundles signed with "
        "it are refused.",
        highlight=False,
    )


@region_app.command()
def untrust(
    code: Annotated[str, typer.Argument(help="The publishing region's code.")],
    reason: Annotated[
        str, typer.Option("--reason", help="Why (kept in the audit log and told on refusals).", metavar="TEXT")
    ],
    db: DbOpt = _DEFAULT_DB,
) -> None:
    """Stop trusting a region: every key of it is refused until a key is trusted again."""
    from socialcredit.regions.keys import untrust_region

    with open_store(db) as store:
        fps = untrust_region(store, code, reason)
    out.print(
        f"Region {code} is no longer trusted ({reason.strip()}); its bundles are refused (keys {', '.join(fps)}).",
        highlight=False,
    )


@region_app.command("keys")
def keys_cmd(db: DbOpt = _DEFAULT_DB, as_json: JsonOpt = False) -> None:
    """Every key trusted for another region, with its state today."""
    from socialcredit.regions.keys import Unkeyed, list_keys

    with open_store(db, read_only=False) as store:
        rows = list_keys(store)
    if as_json:
        _print_json(rows)
        return
    table = Table("region", "key", "trusted on", "state", "encryption key")
    for r in rows:
        enc = r["encryption_key"] or (
            f"unreadable ({r['encryption_key_unreadable']})" if r["encryption_key_unreadable"] else "none"
        )
        table.add_row(f"{r['name']} ({r['region_code']})", r["fingerprint"], str(r["trusted_on"]), r["state"], enc)
    out.print(table if rows else "No keys are trusted yet: `socialcredit region trust CODE NAME --key KEY`.")
    for r in rows:
        if r["encryption_key_unreadable"]:
            out.print(
                f"The encryption key recorded for {r['name']} ({r['region_code']}) with key {r['fingerprint']} is "
                f"unreadable ({r['encryption_key_unreadable']}): record it again with "
                f"`{Unkeyed(r['region_code'], str(r['name']), r['public_key'], r['expires_on']).fix()}` (KEY: the "
                "encryption key its `region keygen` printed).",
                highlight=False,
            )


@region_app.command("export")
def export_cmd(
    policy: Annotated[str, typer.Option("--policy", help="The region's published policy (its exchange block).")],
    key: Annotated[Path, typer.Option("--key", help="The region's private key file.", metavar="FILE")],
    out_file: Annotated[Path, typer.Option("--out", help="The bundle file to write.", metavar="FILE")],
    db: DbOpt = _DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Write the next signed bundle: shareable records since the last one, and the shared lists. From an encrypted
    store it is encrypted to every region trusted here (refused while one has no encryption key)."""
    from socialcredit.regions.exchange import export_bundle

    with open_store(db) as store:
        s = export_bundle(store, policy, key, out_file)
    if as_json:
        _print_json(s.as_dict())
        return
    out.print(
        f"Bundle #{s.sequence} written to {s.path}: {counted(s.records, 'record')}, {counted(s.identities, 'person')}, "
        f"{counted(s.list_entries, 'list entry', 'list entries')}"
        + (
            f"; disputes forwarded: {s.disputes}, answers: {s.answers}, listings: {s.listings}."
            if s.disputes or s.answers or s.listings
            else "."
        )
    )
    if s.repairs or s.repair_answers or s.dispute_information:
        out.print(
            f"Repairs forwarded: {s.repairs}, repair decisions: {s.repair_answers}, "
            f"dispute information: {s.dispute_information}."
        )
    if s.encrypted_for:
        out.print(f"Encrypted for {', '.join(s.encrypted_for)}.")


@region_app.command("import")
def import_cmd(
    bundle: Annotated[Path, typer.Argument(help="The bundle file.", metavar="FILE")],
    key: Annotated[
        Path | None,
        typer.Option(
            "--key",
            help="The region's private key file: an encrypted bundle is decrypted with the encryption key beside it "
            "(FILE.x25519).",
            metavar="FILE",
        ),
    ] = None,
    db: DbOpt = _DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Verify and import another region's bundle (decrypted with --key when encrypted); link the persons it names;
    raise alerts."""
    from socialcredit.regions.exchange import import_bundle

    with open_store(db) as store:
        s = import_bundle(store, bundle, key_path=key)
    if as_json:
        _print_json(s.as_dict())
        return
    out.print(
        f"Imported bundle {s.publisher}#{s.sequence}: {counted(s.records, 'record')} about "
        f"{counted(s.identities, 'person')}; "
        f"{s.exact} by the same number, {s.linked} linked, {s.review} for review, {s.unmatched} unmatched; "
        f"{counted(s.applied_records, 'record')} applied, {counted(s.alerts, 'alert')}."
    )
    if s.retried:
        out.print(
            f"Tried again: {s.retried} person(s) left unmatched by earlier bundles; {s.still_unmatched} still "
            f"unmatched, {s.retried - s.still_unmatched} matched now (counted above)."
        )
    if s.reversed_to_review:
        out.print(
            f"Reversed: {s.reversed_to_review} earlier link(s) to a subject an exact match names; their records "
            "withdrawn, sent to review."
        )
    if s.duplicates:
        out.print(
            f"Duplicates: {s.duplicates} record version(s) received before, with the same content; not applied again."
        )
    for m in s.misfits:
        out.print(
            f"Linkage: {m['count']} {m['field']} value(s) {'of the bundle' if m['side'] == 'bundle' else 'here'} "
            f"{m['what']} ({m['action']}), e.g. {', '.join(m['examples'])}."
        )
    done = {k: v for k, v in s.due_process.items() if v}
    if done:
        out.print("Due process: " + ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in done.items()) + ".")


@region_app.command()
def review(db: DbOpt = _DEFAULT_DB, as_json: JsonOpt = False) -> None:
    """The identity links waiting for an operator."""
    from socialcredit.regions.exchange import list_review_queue

    with open_store(db, read_only=False) as store:
        rows = list_review_queue(store, actor="cli")  # names residents: audited, as dispute list is
    if as_json:
        _print_json(rows)
        return
    table = Table("id", "from", "as known there", "candidate here", "probability", "evidence", "records")
    for r in rows:
        table.add_row(
            str(r["identity_id"]),
            r["origin_region"],
            f"{r['origin_subject_id']} {r['name']} {r['birth_date']}",
            f"{r['candidate_id']} {r['candidate_name']} {r['candidate_birth_date']}",
            f"{r['probability']:.3f}",
            r["evidence"] or "",
            str(r["records"]),
        )
    out.print(table if rows else "No links wait for review.")


@region_app.command()
def accept(
    identity: Annotated[int, typer.Argument(help="The identity's id (from `region review`).", metavar="IDENTITY_ID")],
    subject: Annotated[str | None, typer.Option("--subject", help="Link to this subject instead.")] = None,
    db: DbOpt = _DEFAULT_DB,
) -> None:
    """Apply a link from the review queue (audited, reversible)."""
    from socialcredit.regions.exchange import accept_link

    with open_store(db) as store:
        n = accept_link(store, identity, subject_id=subject)
    out.print(f"Linked identity {identity}; {counted(n, 'record')} applied.")


@region_app.command()
def reject(
    identity: Annotated[int, typer.Argument(help="The identity's id (from `region review`).", metavar="IDENTITY_ID")],
    db: DbOpt = _DEFAULT_DB,
) -> None:
    """Reject a proposed link."""
    from socialcredit.regions.exchange import reject_link

    with open_store(db) as store:
        reject_link(store, identity)
    out.print(f"Rejected the link of identity {identity}.")


@region_app.command()
def unlink(
    identity: Annotated[int, typer.Argument(help="The identity's id.", metavar="IDENTITY_ID")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit log).", metavar="TEXT")] = "",
    db: DbOpt = _DEFAULT_DB,
) -> None:
    """Reverse an applied link: its records are withdrawn."""
    from socialcredit.regions.exchange import reverse_link

    with open_store(db) as store:
        n = reverse_link(store, identity, reason=reason)
    out.print(f"Reversed the link of identity {identity}; {counted(n, 'record')} withdrawn.")


@region_app.command("answer-link")
def answer_link(
    dispute: Annotated[int, typer.Argument(help="The link dispute.", metavar="DISPUTE_ID")],
    uphold: Annotated[bool, typer.Option("--uphold", help="The link stands.")] = False,
    unlink_: Annotated[bool, typer.Option("--unlink", help="Reverse the link: its records are withdrawn.")] = False,
    reason: Annotated[str, typer.Option("--reason", help="Why (the person is told).", metavar="TEXT")] = "",
    actor: Annotated[str, typer.Option("--actor", help="Who answers (audited).", metavar="NAME")] = "cli",
    today: Annotated[str | None, typer.Option("--today", help="The registry's date.", metavar="DATE")] = None,
    db: DbOpt = _DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Answer a person's dispute of a link: --uphold or --unlink, with --reason."""
    from socialcredit.regions.contest import answer_link_dispute

    if uphold == unlink_:
        raise RegionError("answer with exactly one of --uphold and --unlink")
    day = today_option(today)
    with open_store(db) as store:
        d = answer_link_dispute(store, dispute, "uphold" if uphold else "unlink", reason, actor, today=day)
    if as_json:
        _print_json(d)
        return
    verb = "upheld: the link stands" if uphold else "unlinked: the link is reversed and its records withdrawn"
    out.print(f"Link dispute {dispute} {verb}.", markup=False, highlight=False)


@region_app.command("link-disputes")
def link_disputes(
    status: Annotated[str | None, typer.Option(help="open, upheld, unlinked or lapsed.")] = None,
    db: DbOpt = _DEFAULT_DB,
    as_json: JsonOpt = False,
    lang: ErrorsLangOpt = "en",
) -> None:
    """Disputes of identity links, newest first (the open ones wait for an operator's answer)."""
    from socialcredit.registry import list_link_disputes

    with open_store(db) as store:
        rows = list_link_disputes(store, status=status, actor="cli")
    if as_json:
        _print_json(rows)
        return
    if not rows:
        out.print("No link disputes.")
        return
    cols = ["dispute_id", "subject_id", "identity_id", "origin_region", "status", "opened_at", "deadline", "reason"]
    table = Table(*cols, box=None)
    for r in rows:
        table.add_row(*("" if r.get(c) is None else str(r[c]) for c in cols))
    out.print(table)


@region_app.command()
def alerts(
    db: DbOpt = _DEFAULT_DB,
    all_: Annotated[bool, typer.Option("--all", help="Include acknowledged alerts.")] = False,
    ack: Annotated[int | None, typer.Option("--ack", help="Acknowledge this alert.", metavar="ALERT_ID")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Alerts: people blacklisted in another region who appear here."""
    from socialcredit.regions.alerts import acknowledge_alert, list_alerts

    with open_store(db) as store:
        if ack is not None:
            acknowledge_alert(store, ack)
            out.print(f"Alert {ack} acknowledged.")
            return
        rows = list_alerts(store, include_acknowledged=all_, actor="cli")
    if as_json:
        _print_json(rows)
        return
    table = Table("alert", "raised", "trigger", "subject", "listed in", "reason", "record", "link")
    for r in rows:
        ev = r["evidence"]
        table.add_row(
            str(r["alert_id"]),
            f"{r['raised_at']:%Y-%m-%d %H:%M}",
            r["trigger"],
            r["subject_id"],
            f"{ev['origin']} {ev['list']}",
            ev["reason"],
            ev["record_id"] or "",
            f"{ev['link']} {ev['link_evidence'] or ''}",
        )
    out.print(table if rows else "No open alerts.")
