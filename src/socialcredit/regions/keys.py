"""The keys a region trusts other regions' bundles with, and their life: trust, rotation, expiry, revocation, untrust.

Each key a publisher was ever trusted with is a row of ``region_keys`` (migration 15); ``region_publishers`` keeps
the publisher's name (reasons name the region records came from) and its latest key. Trusting a new key for a region
already trusted is a rotation: the key it replaces stays valid for an overlap window (``DEFAULT_OVERLAP_DAYS``), so
bundles already on their way are still imported, and is refused from then on. A revoked key is refused at once and
never trusted again; an untrusted region's keys are all refused until one is trusted again. Every change, and every
refused command, is audited with the key's fingerprint. ``trusted_keys`` is what the importer checks a bundle with
(``bundle.open_bundle``). docs/regions.md, "Keys".
"""

from __future__ import annotations

import datetime as dt
import shlex
from dataclasses import asdict, dataclass
from typing import Any

from socialcredit.clock import check_day, day_option, in_span, resolve_today
from socialcredit.errors import BundleError, RegionError, SocialCreditError, cut, quoted
from socialcredit.regions.bundle import (
    Publisher,
    PublisherKey,
    encryption_point,
    fingerprint,
    parse_encryption_key,
    parse_public_key,
    region_problem,
)
from socialcredit.registry import append_audit, audited_refusal, kept_words
from socialcredit.store import Store

__all__ = [
    "DEFAULT_OVERLAP_DAYS",
    "MAX_OVERLAP_DAYS",
    "TrustResult",
    "Unkeyed",
    "encryption_recipients",
    "list_keys",
    "revoke_key",
    "trust_key",
    "trusted_keys",
    "untrust_region",
]

DEFAULT_OVERLAP_DAYS = 7
MAX_OVERLAP_DAYS = 366
_CODE_LEN = 6
_KEY_COLUMNS = (
    "region_code, public_key, fingerprint, expires_on, replaced_by, replaced_on, overlap_ends, revoked_on, "
    "revoked_reason, untrusted_on, untrusted_reason, encryption_key"
)


@dataclass(frozen=True)
class TrustResult:
    """A trusted key; when it replaced another, that key's fingerprint and the first day it is refused."""

    region_code: str
    name: str
    fingerprint: str
    expires_on: dt.date | None = None
    replaced: str | None = None
    overlap_ends: dt.date | None = None
    encryption_key: str | None = None  # the fingerprint of the encryption key trusted with it

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _words_not_kept(text: str) -> dict[str, Any]:
    """What a refused command's audit entry says of the operator's reason: its length, never the words (an entry of
    the chain holds no one's words, docs/audit.md; a refused command keeps them nowhere)."""
    return {"kept_in": None, "chars": len(text)}


def _publisher_keys(store: Store, code: str) -> list[PublisherKey]:
    return [
        _key(r)
        for r in store.rows(
            f"SELECT {_KEY_COLUMNS} FROM region_keys WHERE region_code = ? ORDER BY trusted_at, fingerprint", [code]
        )
    ]


def _key(r: dict[str, Any]) -> PublisherKey:
    return PublisherKey(**{k: v for k, v in r.items() if k != "region_code"})


def _check_code(code: str) -> None:
    if not (len(code) == _CODE_LEN and code.isascii() and code.isdigit()):
        raise RegionError(f"region code {code!r} must be six digits 0-9")


def _check_stored_code(store: Store, code: str) -> None:
    """Refuse a malformed code only when no key is stored under it: a region trusted before codes were checked (in
    full-width digits, say) can still be revoked and untrusted by the code it was trusted under."""
    if not store.one("SELECT count(*) FROM region_keys WHERE region_code = ?", [code]):
        _check_code(code)


def trust_key(
    store: Store,
    code: str,
    name: str,
    public_key: str,
    *,
    expires_on: dt.date | str | None = None,
    overlap_days: int = DEFAULT_OVERLAP_DAYS,
    encryption_key: str | None = None,
    today: dt.date | None = None,
    actor: str = "cli",
) -> TrustResult:
    """Trust bundles from region ``code`` signed with ``public_key`` (base64); ``encryption_key`` is the region's
    X25519 public key (base64, from the same `region keygen`): an encrypted store's bundles are encrypted to it.

    A region already trusted with another valid key rotates: that key stays valid for ``overlap_days`` days from
    today and is refused from then on. ``expires_on`` is the first day the new key is refused (None: no expiry; text
    is read as every command reads a date option, ``clock.day_option``, so that a mistyped date is refused and
    audited like every other refusal), within the registry's dates (``clock.check_day``).
    Refused: the store's own region, a key trusted for another region, a revoked key, an expiry not after today.
    """
    day = resolve_today(today)
    key = public_key.strip()
    try:
        parse_public_key(key)
        fp: str | None = fingerprint(key)
    except BundleError:
        fp = None
    enc = encryption_key.strip() if encryption_key is not None else None
    enc_wrong = ""
    try:
        if enc is not None:
            parse_encryption_key(enc)
        enc_fp = fingerprint(enc) if enc is not None else None
    except BundleError as exc:
        enc_fp, enc_wrong = None, str(exc).removeprefix("not a bundle: ")
    # what was asked, bounded: a refused name of 100 000 characters is not kept whole in the audit chain
    detail = {
        "code": cut(code),
        "name": cut(name),
        "name_chars": len(name),
        "key": fp,
        "expires_on": cut(expires_on) if isinstance(expires_on, str) else expires_on,
        "overlap_days": overlap_days,
    }
    if enc is not None:
        detail["encryption_key"] = enc_fp
    with audited_refusal(store, actor, "region_trust", detail, refused=RegionError):
        if fp is None:
            raise RegionError(
                f"{quoted(public_key)} is not an Ed25519 public key in base64 (as `region keygen` prints)"
            )
        if enc is not None and enc_fp is None:
            raise RegionError(
                f"{quoted(str(encryption_key))} is not an X25519 public key in base64 (as `region keygen` prints for "
                f"encryption): {enc_wrong}"
            )
        try:  # read as every command reads a date option, within the registry's dates
            if isinstance(expires_on, str):
                expires_on = day_option(expires_on, "--expires")
            if expires_on is not None:
                check_day(expires_on, "--expires")
        except SocialCreditError as exc:
            raise RegionError(str(exc)) from None
        # the code and the name each bundle encrypted to the region names it by: what an importer takes
        if (problem := region_problem(code, name.strip())) is not None:  # measured as it is stored
            raise RegionError(problem[0], zh=problem[1])
        own = store.one("SELECT value FROM store_info WHERE key = 'region_code'")
        if own == code:
            own_name = store.one("SELECT value FROM store_info WHERE key = 'region_name'")
            raise RegionError(
                f"region {code} is this store's own region ({own_name}); a region does not trust itself: its own "
                "bundles are never imported"
            )
        if not 0 <= overlap_days <= MAX_OVERLAP_DAYS:
            raise RegionError(f"--overlap {overlap_days} must be from 0 to {MAX_OVERLAP_DAYS} days")
        if expires_on is not None and expires_on <= day:
            raise RegionError(
                f"--expires {expires_on} is not after today ({day}): the key would be refused from the start"
            )
        elsewhere = store.rows(
            "SELECT k.region_code, p.name FROM region_keys k LEFT JOIN region_publishers p USING (region_code) "
            "WHERE k.fingerprint = ? AND k.region_code <> ? LIMIT 1",
            [fp, code],
        )
        if elsewhere:
            other = elsewhere[0]
            raise RegionError(
                f"key {fp} is already trusted for {other['name']} ({other['region_code']}); each region signs with "
                "its own key"
            )
        if enc is not None:
            shared = [r for r in _encryption_keys_elsewhere(store, code) if _same_point(r["encryption_key"], enc)]
            if shared:
                raise RegionError(
                    f"encryption key {enc_fp} is already trusted for {shared[0]['name']} ({shared[0]['region_code']}); "
                    "each region has its own"
                )
        keys = _publisher_keys(store, code)
        same = next((k for k in keys if k.fingerprint == fp), None)
        if same is not None and same.revoked_on is not None:
            raise RegionError(
                f"key {fp} of {name} ({code}) was revoked on {same.revoked_on} ({same.revoked_reason}); a revoked key "
                "is never trusted again: trust the region's new key"
            )
        current = next(
            (
                k
                for k in keys
                if k.fingerprint != fp and k.revoked_on is None and k.untrusted_on is None and k.replaced_by is None
            ),
            None,
        )
    overlap_ends = day + dt.timedelta(days=overlap_days) if current is not None else None
    if enc is None:  # the same key trusted again (a new expiry): it keeps the encryption key it was trusted with
        kept = store.execute(
            "SELECT encryption_key FROM region_keys WHERE region_code = ? AND fingerprint = ?", [code, fp]
        ).fetchone()
        enc = kept[0] if kept is not None else None
    with store.transaction():
        if current is not None:
            store.execute(
                "UPDATE region_keys SET replaced_by = ?, replaced_on = ?, overlap_ends = ? "
                "WHERE region_code = ? AND fingerprint = ?",
                [fp, day, overlap_ends, code, current.fingerprint],
            )
        store.execute("DELETE FROM region_keys WHERE region_code = ? AND fingerprint = ?", [code, fp])
        store.execute(
            "INSERT INTO region_keys (region_code, fingerprint, public_key, trusted_at, trusted_on, expires_on, "
            "encryption_key) VALUES (?, ?, ?, now(), ?, ?, ?)",
            [code, fp, key, day, expires_on, enc],
        )
        store.execute("DELETE FROM region_publishers WHERE region_code = ?", [code])
        store.execute("INSERT INTO region_publishers VALUES (?, ?, ?, now())", [code, name.strip(), key])
        append_audit(
            store,
            actor,
            "region_trust",
            None,
            {
                "code": code,
                "name": name.strip(),
                "key": fp,
                "expires_on": expires_on,
                "replaces": current.fingerprint if current else None,
                "overlap_ends": overlap_ends,
                **({"encryption_key": enc_fp} if enc_fp is not None else {}),
            },
        )
    return TrustResult(
        code, name.strip(), fp, expires_on, current.fingerprint if current else None, overlap_ends, enc_fp
    )


def _encryption_keys_elsewhere(store: Store, code: str) -> list[dict[str, Any]]:
    return store.rows(
        "SELECT k.region_code, p.name, k.encryption_key FROM region_keys k LEFT JOIN region_publishers p "
        "USING (region_code) WHERE k.encryption_key IS NOT NULL AND k.region_code <> ? ORDER BY 1",
        [code],
    )


def _same_point(recorded: str, given: str) -> bool:
    """Two encryption keys name one X25519 key: their text compares the encoding, and X25519 ignores the high bit (the
    same key in another encoding got past a comparison of the text)."""
    try:
        return encryption_point(recorded) == encryption_point(given)
    except BundleError:  # a key recorded before `region trust` checked keys: not this one
        return False


def _publisher_name(store: Store, code: str) -> str | None:
    name = store.one("SELECT name FROM region_publishers WHERE region_code = ?", [code])
    return None if name is None else str(name)


def revoke_key(
    store: Store, code: str, key_fingerprint: str, reason: str, *, today: dt.date | None = None, actor: str = "cli"
) -> PublisherKey:
    """Revoke one key of region ``code``: bundles signed with it are refused from now on, whatever their date."""
    day = resolve_today(today)
    fp = key_fingerprint.strip().lower()
    asked = {"code": code, "key": fp, "reason": _words_not_kept(reason)}
    with audited_refusal(store, actor, "region_key_revoked", asked, refused=RegionError):
        _check_stored_code(store, code)
        if not reason.strip():
            raise RegionError("say why the key is revoked: --reason TEXT (kept in the audit log)")
        name = _publisher_name(store, code)
        keys = _publisher_keys(store, code)
        if name is None or not keys:
            raise RegionError(f"region {code} has no trusted keys here; see `socialcredit region keys`")
        found = next((k for k in keys if k.fingerprint == fp), None)
        if found is None:
            raise RegionError(f"{name} ({code}) has no key {fp}; its keys: {', '.join(k.fingerprint for k in keys)}")
        if found.revoked_on is not None:
            raise RegionError(
                f"key {fp} of {name} ({code}) was already revoked on {found.revoked_on} ({found.revoked_reason})"
            )
    with store.transaction():
        store.execute(
            "UPDATE region_keys SET revoked_on = ?, revoked_reason = ? WHERE region_code = ? AND fingerprint = ?",
            [day, reason.strip(), code, fp],
        )
        append_audit(
            store,
            actor,
            "region_key_revoked",
            None,
            {"code": code, "name": name, "key": fp, "reason": kept_words("region_keys.revoked_reason", reason.strip())},
        )
    return next(k for k in _publisher_keys(store, code) if k.fingerprint == fp)


def untrust_region(
    store: Store, code: str, reason: str, *, today: dt.date | None = None, actor: str = "cli"
) -> list[str]:
    """Stop trusting region ``code``: every key of it is refused until a key is trusted again; returns their
    fingerprints. The region's name stays known (records it sent keep naming it)."""
    day = resolve_today(today)
    untrusting = {"code": code, "reason": _words_not_kept(reason)}
    with audited_refusal(store, actor, "region_untrust", untrusting, refused=RegionError):
        _check_stored_code(store, code)
        if not reason.strip():
            raise RegionError("say why the region is no longer trusted: --reason TEXT (kept in the audit log)")
        keys = [k for k in _publisher_keys(store, code) if k.untrusted_on is None]
        if not keys:
            raise RegionError(f"region {code} is not trusted here; nothing to untrust")
    name = _publisher_name(store, code)
    fps = [k.fingerprint for k in keys]
    with store.transaction():
        store.execute(
            "UPDATE region_keys SET untrusted_on = ?, untrusted_reason = ? WHERE region_code = ? "
            "AND untrusted_on IS NULL",
            [day, reason.strip(), code],
        )
        # kept apart from the keys: a key trusted again loses its untrust, the entry's reason stays readable
        untrust_id = int(store.one("SELECT coalesce(max(untrust_id), 0) + 1 FROM region_untrusts"))
        store.execute(
            "INSERT INTO region_untrusts VALUES (?, ?, ?, ?, ?)", [untrust_id, code, day, fps, reason.strip()]
        )
        append_audit(
            store,
            actor,
            "region_untrust",
            None,
            {
                "code": code,
                "name": name,
                "keys": fps,
                "untrust_id": untrust_id,
                "reason": kept_words("region_untrusts.reason", reason.strip()),
            },
        )
    return fps


def trusted_keys(store: Store) -> dict[str, Publisher]:
    """Every region this store has trusted, with all its keys in whatever state: what ``open_bundle`` checks."""
    names = dict(store.execute("SELECT region_code, name FROM region_publishers").fetchall())
    found: dict[str, list[PublisherKey]] = {}
    for r in store.rows(f"SELECT {_KEY_COLUMNS} FROM region_keys ORDER BY region_code, trusted_at, fingerprint"):
        found.setdefault(str(r["region_code"]), []).append(_key(r))
    return {code: Publisher(str(names.get(code, code)), tuple(keys)) for code, keys in found.items()}


@dataclass(frozen=True)
class Unkeyed:
    """A region an encrypted store's bundle goes to that has no usable encryption key here: its newest valid signing
    key was trusted without one (never given, or a rotation without ``--encryption-key``), or with one recorded
    before `region trust` checked it that nothing can be encrypted to (``unusable``: why)."""

    region_code: str
    name: str
    public_key: str  # the signing key it is trusted by, which the encryption key is to be trusted with
    expires_on: dt.date | None = None
    unusable: str | None = None  # why its recorded encryption key cannot be encrypted to (None: it has none)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.region_code})"

    def fix(self) -> str:
        """The command that records its encryption key with the same signing key (and keeps that key's expiry, when
        `region trust` takes it: one outside the registry's dates, recorded before they were checked, is left out,
        and the key is trusted without expiry)."""
        keep = self.expires_on is not None and in_span(self.expires_on)
        expires = f" --expires {self.expires_on}" if keep else ""
        return (
            f"socialcredit region trust {self.region_code} {shlex.quote(self.name)} --key {self.public_key}"
            f"{expires} --encryption-key KEY"
        )


def _unusable(encryption_key: str) -> str | None:
    """Why an encryption key recorded here cannot be encrypted to (as `region trust` refuses it), or None."""
    try:
        parse_encryption_key(encryption_key)
    except BundleError as exc:
        return str(exc).removeprefix("not a bundle: ")
    return None


def _misnamed(code: str, name: str) -> None:
    """Refuse to encrypt to a region trusted, before codes and names were checked, under a code or name no bundle can
    carry: every importer would refuse the bundle naming it as a recipient."""
    if (problem := region_problem(code, name)) is None:
        return
    raise RegionError(
        f"not exported: the store is encrypted and the region trusted here under the code {quoted(code)} and the "
        f"name {quoted(name)} cannot be named in a bundle ({problem[0]}): every region would refuse a bundle encrypted "
        f"to it. Stop sending to it with `socialcredit region untrust {shlex.quote(code)} --reason TEXT`, or trust it "
        "again under a valid code and name (`socialcredit region trust CODE NAME --key KEY --encryption-key KEY`); "
        "then export again. Nothing was written."
    )


def encryption_recipients(
    store: Store, *, today: dt.date | None = None
) -> tuple[dict[str, tuple[str, str]], list[Unkeyed]]:
    """The regions an encrypted store's bundle goes to — each region trusted here with a key valid on ``today`` —
    and the key each is encrypted to: the encryption key trusted with its newest valid key (code -> (name, key));
    and those of them without one, or with one that cannot be encrypted to (``Unkeyed``), to which `region export`
    refuses to write. A region none of whose keys is valid (revoked, expired, rotated out, untrusted) receives
    nothing: no key of it is encrypted to."""
    day = resolve_today(today)
    found: dict[str, tuple[str, str]] = {}
    without: list[Unkeyed] = []
    for code, publisher in sorted(trusted_keys(store).items()):
        if not publisher.trusted:
            continue
        valid = [k for k in publisher.keys if k.refusal(day) is None]
        if not valid:
            continue
        newest = valid[-1]
        _misnamed(code, publisher.name)
        unusable = _unusable(newest.encryption_key) if newest.encryption_key else None
        if newest.encryption_key and unusable is None:
            found[code] = (publisher.name, newest.encryption_key)
        else:
            without.append(Unkeyed(code, publisher.name, newest.public_key, newest.expires_on, unusable))
    return found, without


def list_keys(store: Store, *, today: dt.date | None = None) -> list[dict[str, Any]]:
    """Every key, in order of region and trust, with its state on ``today`` (`region keys`)."""
    day = resolve_today(today)
    out = []
    for r in store.rows(
        f"SELECT k.trusted_on, p.name, {', '.join('k.' + c.strip() for c in _KEY_COLUMNS.split(','))} "
        "FROM region_keys k LEFT JOIN region_publishers p USING (region_code) "
        "ORDER BY k.region_code, k.trusted_at, k.fingerprint"
    ):
        key = _key({k: v for k, v in r.items() if k not in ("trusted_on", "name")})
        refused = key.refusal(day)
        out.append(
            {
                "region_code": r["region_code"],
                "name": r["name"],
                "fingerprint": key.fingerprint,
                "public_key": key.public_key,
                "trusted_on": r["trusted_on"],
                "valid": refused is None,
                "state": key.state(day),
                "expires_on": key.expires_on,
                "replaced_by": key.replaced_by,
                "replaced_on": key.replaced_on,
                "overlap_ends": key.overlap_ends,
                "revoked_on": key.revoked_on,
                "revoked_reason": key.revoked_reason,
                "untrusted_on": key.untrusted_on,
                "untrusted_reason": key.untrusted_reason,
                **_encryption_key_shown(key.encryption_key),
            }
        )
    return out


def _encryption_key_shown(encryption_key: str | None) -> dict[str, str | None]:
    """A recorded encryption key as `region keys` shows it: its fingerprint, or why it cannot be read (one recorded
    before `region trust` checked keys that is not base64 has no fingerprint: it is listed as unreadable)."""
    if not encryption_key:
        return {"encryption_key": None, "encryption_key_unreadable": None}
    try:
        return {"encryption_key": fingerprint(encryption_key), "encryption_key_unreadable": None}
    except BundleError:
        return {"encryption_key": None, "encryption_key_unreadable": "not valid base64"}
