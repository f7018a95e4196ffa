"""Signed exchange bundles: the envelope, Ed25519 signatures, and the checks an importing region makes.

A bundle is one JSON document (UTF-8)::

    {"format": "socialcredit-bundle/1", "publisher": "110000",
     "key": "<publisher's Ed25519 public key, base64>",
     "payload": "<the payload's exact bytes, base64>", "signature": "<Ed25519 signature of those bytes, base64>"}

The signature covers the payload's bytes as they travel (no re-serialisation before verifying). The payload is
JSON: format, publisher (region code and name), sequence (1, 2, ... per publisher), created_at, policy, and the
lists ``identities``, ``records`` and ``list_entries`` (docs/regions.md has every field).

``open_bundle`` refuses, each with its own message: what is not a bundle; a publisher this region does not trust
(never trusted, or untrusted); a bundle signed with a key other than the publisher's (wrongly signed); a signature
that does not verify with the publisher's key (tampered); a payload that is malformed or names another publisher;
and a bundle signed with one of the publisher's keys that is no longer valid on the import date (revoked, untrusted,
expired, or rotated out after its overlap window; ``Publisher`` and ``PublisherKey``, kept by ``regions.keys``).
Replays are refused by the importer, which knows what it imported.

From an encrypted store, the signed bytes are a sealed document (``socialcredit-sealed/1``) instead of the payload:
the payload sealed with AES-GCM under a random content key (``registry.private.Sealer``), and that key wrapped for
each recipient region with HPKE (X25519, HKDF-SHA256, AES-128-GCM) to the encryption public key it was trusted
with. ``open_bundle`` verifies the signature first, then unwraps the content key with the importing region's own
encryption key (``Recipient``). Each region's encryption key is an X25519 private key in PEM beside its signing key
(``encryption_key_path``), made by `region keygen`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from socialcredit.clock import resolve_today
from socialcredit.errors import BundleError, CheckpointError, RegionError
from socialcredit.regions.validate import shown
from socialcredit.registry import load_private_key as _load_key_file
from socialcredit.registry import new_private_key as _new_key
from socialcredit.registry import public_key_text as _public_text
from socialcredit.registry.private import Sealer, unseal
from socialcredit.textcheck import control_character

__all__ = [
    "ENCRYPTION_KEY_SUFFIX",
    "ENVELOPE_FORMAT",
    "MAX_KEY_FILE_BYTES",
    "MAX_REGION_NAME",
    "PAYLOAD_FORMAT",
    "SEALED_FORMAT",
    "Bundle",
    "KeyFileTooOpen",
    "Publisher",
    "PublisherKey",
    "Recipient",
    "encryption_key_path",
    "encryption_point",
    "encryption_public_text",
    "fingerprint",
    "load_encryption_key",
    "load_private_key",
    "new_encryption_key",
    "new_private_key",
    "open_bundle",
    "parse_encryption_key",
    "public_key_text",
    "region_problem",
    "seal_bundle",
]

ENVELOPE_FORMAT = "socialcredit-bundle/1"
PAYLOAD_FORMAT = "socialcredit-exchange/1"
SEALED_FORMAT = "socialcredit-sealed/1"
ENCRYPTION_KEY_SUFFIX = ".x25519"  # beijing.key (signing) -> beijing.key.x25519 (encryption)
_SUITE_NAME = "HPKE-X25519-HKDF-SHA256-AES-128-GCM"
_SEALED_KEYS = ("format", "publisher", "sequence", "suite", "recipients", "content")
_ENVELOPE_KEYS = ("format", "publisher", "key", "payload", "signature")
_PAYLOAD_LISTS = {
    "identities": ("subject_id", "name", "sex", "birth_date", "phone", "address"),
    "records": ("subject_id", "source_id", "record_id", "version", "record_type", "event_date", "withdrawn", "fields"),
    "list_entries": ("subject_id", "list_id", "kind", "criterion_id", "reason_en", "reason_zh", "record_id"),
}


def new_private_key() -> bytes:
    """A new Ed25519 private key as PEM (PKCS #8, unencrypted: keep the file private)."""
    return _new_key()


MAX_KEY_FILE_BYTES = 64 * 1024  # a key's PEM is a few hundred bytes


class KeyFileTooOpen(RegionError):
    """A private key file that its group or others may read or write: refused, as ssh refuses one."""


def _check_key_file(path: Path | str) -> None:
    """A key file is read whole: one that is not a regular file (a device, a pipe) or is larger than any key is
    refused before it is read (``--key /dev/zero`` read until memory ran out). A private key its group or others may
    read or write (0644: whoever reads it signs or decrypts as this region) is refused, naming the fix, as ssh
    refuses one; `region keygen` writes its keys 0600. As ssh, only the caller's own file is refused: a file of
    another owner that the caller may read (root's key, group-readable by the service's group) is taken."""
    path = Path(path)
    try:
        st = path.stat()
    except OSError:
        return  # reading it says why it cannot be read
    if stat.S_ISREG(st.st_mode) and st.st_size <= MAX_KEY_FILE_BYTES:
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o077 and st.st_uid == os.geteuid():
            raise KeyFileTooOpen(
                f"{path} has mode {mode:04o}: a private key file must be readable by its owner only (whoever can "
                f"read it signs or decrypts as this region); run `chmod 600 {path}` and try again"
            )
        return
    what = f"is {st.st_size} bytes" if stat.S_ISREG(st.st_mode) else "is not a regular file"
    raise RegionError(
        f"{path} {what}; a key file is a PEM file of a few hundred bytes (at most {MAX_KEY_FILE_BYTES}), as "
        "`region keygen` writes it"
    )


def load_private_key(path: Path | str) -> Ed25519PrivateKey:
    _check_key_file(path)
    try:
        return _load_key_file(path, make_one="`region keygen`")
    except CheckpointError as exc:
        raise RegionError(str(exc)) from None


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The raw 32-byte public key in base64: what another region adds to its trusted publishers."""
    return _public_text(key)


def fingerprint(public_text: str) -> str:
    """A short name for a public key: the first 16 hex digits of the SHA-256 of its raw bytes."""
    return hashlib.sha256(_b64(public_text, "key")).hexdigest()[:16]


def parse_public_key(text: str) -> Ed25519PublicKey:
    raw = _b64(text, "key")
    if len(raw) != 32:
        raise BundleError(f"not a bundle: the key is {len(raw)} bytes long, an Ed25519 public key is 32")
    return Ed25519PublicKey.from_public_bytes(raw)


def encryption_key_path(signing_key: Path | str) -> Path:
    """Where a region's encryption key lives: beside its signing key, the same name with ``.x25519`` added."""
    path = Path(signing_key)
    return path.with_name(path.name + ENCRYPTION_KEY_SUFFIX)


def new_encryption_key() -> bytes:
    """A new X25519 private key as PEM (PKCS #8, unencrypted: keep the file private)."""
    return X25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_encryption_key(path: Path | str, signing_key: Path | str | None = None) -> X25519PrivateKey:
    """The X25519 private key in the PEM file ``path`` (``signing_key``: the key it lives beside, for the message)."""
    path = Path(path)
    make = f"`region keygen --out {signing_key}`" if signing_key is not None else "`region keygen`"
    _check_key_file(path)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise RegionError(
            f"{path}: cannot read this region's encryption key: {exc.strerror} (make it with {make})"
        ) from None
    except (ValueError, TypeError):
        raise RegionError(f"{path}: not an unencrypted PEM private key (make one with {make})") from None
    if not isinstance(key, X25519PrivateKey):
        raise RegionError(f"{path}: not an X25519 key (make one with {make})")
    return key


def encryption_public_text(key: X25519PrivateKey | X25519PublicKey) -> str:
    """The raw 32-byte X25519 public key in base64: what another region records with `region trust`."""
    public = key.public_key() if isinstance(key, X25519PrivateKey) else key
    return base64.b64encode(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()


def parse_encryption_key(text: str) -> X25519PublicKey:
    raw = _b64(text, "encryption key")
    if len(raw) != 32:
        raise BundleError(f"the encryption key is {len(raw)} bytes long, an X25519 public key is 32")
    key = X25519PublicKey.from_public_bytes(raw)
    try:  # a low-order point (all zeros, and the like) gives no shared secret: nothing can be encrypted to it
        X25519PrivateKey.generate().exchange(key)
    except ValueError:
        raise BundleError("the encryption key is a low-order point, which nothing can be encrypted to") from None
    return key


_X25519_P = 2**255 - 19


def encryption_point(text: str) -> int:
    """The point an X25519 public key (base64) names: its u-coordinate as X25519 reads the 32 bytes (RFC 7748: the
    high bit cleared, then taken modulo 2^255 - 19), so that two encodings of one key compare equal."""
    raw = _b64(text, "encryption key")
    return (int.from_bytes(raw, "little") & (2**255 - 1)) % _X25519_P


def _suite() -> Any:
    from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

    return Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_128_GCM)


def _wrap_info(publisher: str, sequence: int, region: str) -> bytes:
    """What a wrapped content key is bound to: the bundle (publisher, sequence) and the region it is for."""
    return f"{SEALED_FORMAT} {publisher}#{sequence} for {region}".encode()


def _seal_payload(body: bytes, payload: dict[str, Any], recipients: Mapping[str, tuple[str, str]]) -> bytes:
    """The sealed document of ``body``: its content sealed under a random key, wrapped for each recipient
    (region code -> (name, encryption public key in base64))."""
    publisher, sequence = payload["publisher"]["region"], int(payload["sequence"])
    content_key = os.urandom(32)
    sealer = Sealer(content_key)
    content = sealer.header + sealer.seal(body)
    suite = _suite()
    wrapped = [
        {
            "region": code,
            "name": name,
            "key": fingerprint(public),
            "wrapped": base64.b64encode(
                suite.encrypt(content_key, parse_encryption_key(public), info=_wrap_info(publisher, sequence, code))
            ).decode("ascii"),
        }
        for code, (name, public) in sorted(recipients.items())
    ]
    sealed = {
        "format": SEALED_FORMAT,
        "publisher": publisher,
        "sequence": sequence,
        "suite": _SUITE_NAME,
        "recipients": wrapped,
        "content": base64.b64encode(content).decode("ascii"),
    }
    return json.dumps(sealed, sort_keys=True, separators=(",", ":")).encode()


def seal_bundle(
    payload: dict[str, Any], key: Ed25519PrivateKey, *, recipients: Mapping[str, tuple[str, str]] | None = None
) -> bytes:
    """Sign ``payload`` and wrap it in the envelope; returns the bundle's bytes. With ``recipients`` (region code ->
    (name, encryption public key in base64)), the payload is encrypted to them and the sealed document signed."""
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode()
    if recipients:
        body = _seal_payload(body, payload, recipients)
    envelope = {
        "format": ENVELOPE_FORMAT,
        "publisher": payload["publisher"]["region"],
        "key": public_key_text(key),
        "payload": base64.b64encode(body).decode("ascii"),
        "signature": base64.b64encode(key.sign(body)).decode("ascii"),
    }
    return json.dumps(envelope, indent=0).encode()


@dataclass(frozen=True)
class Bundle:
    """A verified bundle: who published it, its sequence number, the SHA-256 of its payload, and the payload."""

    publisher: str
    publisher_name: str
    sequence: int
    sha256: str
    created_at: str
    payload: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.publisher}#{self.sequence}"


def _b64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise BundleError(f"not a bundle: '{what}' must be base64 text")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise BundleError(f"not a bundle: '{what}' is not valid base64") from None


@dataclass(frozen=True)
class PublisherKey:
    """One of a publisher's keys and its life: an expiry, a rotation's overlap, a revocation, an untrust.

    Dates are business dates (``socialcredit.clock``); each names the first day the key is refused for that cause.
    A revocation or an untrust holds whatever the date: it refuses from the moment it is made.
    """

    public_key: str
    fingerprint: str
    expires_on: dt.date | None = None
    replaced_by: str | None = None
    replaced_on: dt.date | None = None
    overlap_ends: dt.date | None = None
    revoked_on: dt.date | None = None
    revoked_reason: str | None = None
    untrusted_on: dt.date | None = None
    untrusted_reason: str | None = None
    encryption_key: str | None = None  # the X25519 public key (base64) it was trusted with; None before 2026-12-05

    def refusal(self, today: dt.date) -> tuple[str, str] | None:
        """Why a bundle signed with this key is refused on ``today`` — (kind, what follows "key <fp>, ") — or None."""
        if self.revoked_on is not None:
            return "revoked", f"revoked on {self.revoked_on} ({self.revoked_reason})"
        if self.untrusted_on is not None:
            return "untrusted", f"untrusted on {self.untrusted_on} ({self.untrusted_reason})"
        ends = [
            (d, kind)
            for d, kind in ((self.expires_on, "expired"), (self.overlap_ends, "rotated"))
            if d is not None and today >= d
        ]
        if not ends:
            return None
        when, kind = min(ends)
        if kind == "expired":
            return kind, f"which expired on {when}"
        return kind, f"which was replaced by {self.replaced_by} on {self.replaced_on} and its overlap ended on {when}"

    def state(self, today: dt.date) -> str:
        """The key's state on ``today`` as `region keys` prints it."""
        refused = self.refusal(today)
        if refused is not None:
            kind = refused[0]
            if kind == "revoked":
                return f"revoked on {self.revoked_on}: {self.revoked_reason}"
            if kind == "untrusted":
                return f"untrusted on {self.untrusted_on}: {self.untrusted_reason}"
            if kind == "expired":
                return f"expired on {self.expires_on}"
            return f"replaced by {self.replaced_by} on {self.replaced_on}, overlap ended on {self.overlap_ends}"
        parts = []
        if self.overlap_ends is not None:
            parts.append(
                f"in overlap until {self.overlap_ends - dt.timedelta(days=1)} "
                f"(replaced by {self.replaced_by} on {self.replaced_on}; refused from {self.overlap_ends})"
            )
        else:
            parts.append("valid")
        if self.expires_on is not None:
            parts.append(f"expires on {self.expires_on}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Publisher:
    """A region this store has trusted: its name and every key it was trusted with (any state)."""

    name: str
    keys: tuple[PublisherKey, ...]

    @property
    def trusted(self) -> bool:
        """Trusted while one of its keys has not been untrusted (revoked or expired keys still leave it trusted)."""
        return any(k.untrusted_on is None for k in self.keys)

    @classmethod
    def of(cls, entry: Publisher | tuple[str, str]) -> Publisher:
        """A publisher from ``(name, public key)``: one key, valid without end."""
        if isinstance(entry, Publisher):
            return entry
        name, key = entry
        return cls(name, (PublisherKey(key, fingerprint(key)),))


@dataclass(frozen=True)
class Recipient:
    """The importing region, for an encrypted bundle: its code and name, and its encryption key (None: none was
    given) with the file it was read from."""

    region: str
    name: str
    key: X25519PrivateKey | None = None
    key_file: str | None = None


def open_bundle(
    data: bytes,
    trusted: Mapping[str, Publisher | tuple[str, str]],
    *,
    today: dt.date | None = None,
    recipient: Recipient | None = None,
) -> Bundle:
    """Check a bundle's envelope, publisher, signature, payload and key; ``trusted`` maps region code to the
    publisher (``Publisher``, or ``(name, key)`` for one key valid without end). The key must be valid on ``today``
    (the registry's clock when not given). An encrypted bundle is decrypted, once its signature is verified, with
    ``recipient``'s key: refused when there is none, or when the bundle is not encrypted for it."""
    try:
        envelope = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):  # nested too deep to decode: not ours
        raise BundleError("not a bundle: the file is not JSON text") from None
    if not isinstance(envelope, dict):
        raise BundleError("not a bundle: expected a JSON object with format, publisher, key, payload and signature")
    missing = [k for k in _ENVELOPE_KEYS if k not in envelope]
    if missing:
        raise BundleError(f"not a bundle: missing {', '.join(missing)}")
    if envelope["format"] != ENVELOPE_FORMAT:
        raise BundleError(f"not a bundle: format {shown(envelope['format'])} is not {ENVELOPE_FORMAT!r}")
    publishers = {code: Publisher.of(entry) for code, entry in trusted.items()}
    publisher = envelope["publisher"]
    if not isinstance(publisher, str) or publisher not in publishers or not publishers[publisher].trusted:
        known = ", ".join(sorted(c for c, p in publishers.items() if p.trusted)) or "none yet"
        untrusted = ""
        if isinstance(publisher, str) and publisher in publishers:
            last = max(publishers[publisher].keys, key=lambda k: k.untrusted_on or dt.date.min)
            untrusted = f": {publishers[publisher].name} was untrusted on {last.untrusted_on} ({last.untrusted_reason})"
        raise BundleError(
            f"the publisher {shown(publisher)} is not trusted by this region (trusted: {known}){untrusted}; add its "
            "public key with `socialcredit region trust` if it should be"
        )
    day = resolve_today(today)
    name, keys = publishers[publisher].name, publishers[publisher].keys
    public = parse_public_key(envelope["key"])
    body = _b64(envelope["payload"], "payload")
    signature = _b64(envelope["signature"], "signature")
    signer = next((k for k in keys if k.public_key == public_key_text(public)), None)
    if signer is None:
        named = [k.fingerprint for k in keys if k.refusal(day) is None] or [k.fingerprint for k in keys]
        whose = f"{name}'s key {named[0]}" if len(named) == 1 else f"one of {name}'s keys {', '.join(named)}"
        raise BundleError(
            f"wrongly signed: the bundle claims to come from {name} ({publisher}) but is signed with key "
            f"{fingerprint(public_key_text(public))}, not {whose}"
        )
    try:
        public.verify(signature, body)
    except InvalidSignature:
        raise BundleError(
            f"tampered: the signature does not verify with {name}'s key {signer.fingerprint}; the bundle was "
            "changed after it was signed"
        ) from None
    sealed_sequence = None
    refused = signer.refusal(day)
    if body.startswith(_SEALED_START):
        if refused is not None:  # a revoked or expired key's bundle is refused before this region's key opens it
            kind, why = refused
            raise BundleError(
                f"{kind}: bundle {_sealed_label(body, publisher)} is signed with {name}'s key {signer.fingerprint}, "
                f"{why}"
            )
        body, sealed_sequence = _open_sealed(body, publisher, name, recipient)
    bundle = _payload(body, publisher, name)
    if sealed_sequence is not None and sealed_sequence != bundle.sequence:
        raise BundleError(
            f"malformed: the sealed document is bundle #{sealed_sequence}, its payload #{bundle.sequence}"
        )
    if refused is not None:
        kind, why = refused
        raise BundleError(f"{kind}: bundle {bundle.label} is signed with {name}'s key {signer.fingerprint}, {why}")
    return bundle


# A sealed document is written with sorted keys: "content" comes first; a payload in clear never starts so.
_SEALED_START = b'{"content":'


def _sealed_label(body: bytes, publisher: str) -> str:
    """The label of the bundle a signed sealed document names (its sequence is in clear), without opening it."""
    try:
        sequence = json.loads(body.decode("utf-8")).get("sequence")
    except (ValueError, AttributeError, RecursionError):  # nested too deep to decode: the label says '?'
        sequence = None
    return f"{publisher}#{sequence if isinstance(sequence, int) else '?'}"


_MAX_RECIPIENTS = 1000  # regions a sealed document may name (a region trusts a few dozen)
_NAMED = 5  # recipients a message names before "and N more"
MAX_REGION_NAME = 200  # characters of a region's name, as a bundle names its publisher and its recipients
_MAX_NAME = MAX_REGION_NAME
_FINGERPRINT = re.compile(r"[0-9a-f]{16}")


def region_problem(code: str, name: str) -> tuple[str, str] | None:
    """What makes ``code`` and ``name`` no region as a bundle names one (its publisher, a recipient), in English and
    Chinese, or None: six ASCII digits, and printable text of 1 to :data:`MAX_REGION_NAME` characters. ``region
    setup`` and ``region trust`` refuse any other, as every importer refuses a bundle naming one (a recipient's name
    of 201 characters made every bundle encrypted to it unreadable to all its recipients)."""
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        return (
            f"region code {shown(code)} must be six digits 0-9, e.g. 110000 for Beijing",
            f"地区代码 {shown(code)} 须为六位数字 0-9，如北京为 110000",
        )
    said = f"printable text of 1 to {MAX_REGION_NAME} characters, e.g. Tianjin"
    said_zh = f"1 至 {MAX_REGION_NAME} 个字符的可打印文字，如“天津”"
    if not name.strip():
        return f"a region needs a name, {said}", f"地区须有名称，即 {said_zh}"
    if len(name) > MAX_REGION_NAME:
        return (
            f"a region's name is {said}; this one has {len(name)}",
            f"地区名称须为 {said_zh}；此名称有 {len(name)} 个字符",
        )
    if (char := control_character(name)) is not None:
        return (
            f"a region's name is {said}; this one holds the control character U+{ord(char):04X}",
            f"地区名称须为 {said_zh}；此名称含有控制字符 U+{ord(char):04X}",
        )
    return None


def _recipients(value: Any) -> list[dict[str, str]]:
    """A sealed document's recipients, each checked: shown in messages, they are short printable text."""
    if not isinstance(value, list) or not all(
        isinstance(r, dict) and all(isinstance(r.get(k), str) for k in ("region", "name", "key", "wrapped"))
        for r in value
    ):
        raise BundleError("malformed: the sealed document's recipients must each have region, name, key and wrapped")
    if len(value) > _MAX_RECIPIENTS:
        raise BundleError(
            f"malformed: the sealed document names {len(value)} recipients; a bundle is encrypted to at most "
            f"{_MAX_RECIPIENTS} regions"
        )
    for i, r in enumerate(value):
        if not (len(r["region"]) == 6 and r["region"].isascii() and r["region"].isdigit()):
            raise BundleError(f"malformed: recipients[{i}].region {shown(r['region'])} is not a six-digit region code")
        if _FINGERPRINT.fullmatch(r["key"]) is None:
            raise BundleError(f"malformed: recipients[{i}].key {shown(r['key'])} is not a key's fingerprint")
        if not r["name"].strip() or len(r["name"]) > _MAX_NAME or control_character(r["name"]) is not None:
            raise BundleError(
                f"malformed: recipients[{i}].name {shown(r['name'])} is not a region's name (printable text of 1 to "
                f"{_MAX_NAME} characters)"
            )
    return value


def _open_sealed(body: bytes, publisher: str, name: str, recipient: Recipient | None) -> tuple[bytes, int]:
    """The payload's bytes in a signed sealed document, and the sequence the document names."""
    try:
        sealed = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise BundleError(f"malformed: the sealed document signed by {name} is not JSON") from None
    if not isinstance(sealed, dict) or sealed.get("format") != SEALED_FORMAT:
        raise BundleError(f"malformed: the signed document is not a {SEALED_FORMAT} document")
    missing = [k for k in _SEALED_KEYS if k not in sealed]
    if missing:
        raise BundleError(f"malformed: the sealed document has no {', '.join(missing)}")
    sequence = sealed["sequence"]
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
        raise BundleError("malformed: sequence must be a whole number from 1")
    if sealed["publisher"] != publisher:
        raise BundleError(
            f"malformed: the sealed document names the publisher {shown(sealed['publisher'])}, the envelope {publisher}"
        )
    label = f"{publisher}#{sequence}"
    if sealed["suite"] != _SUITE_NAME:
        raise BundleError(
            f"malformed: bundle {label} from {name} is encrypted with the suite {shown(sealed['suite'])}; this "
            f"registry opens {_SUITE_NAME} only"
        )
    recipients = _recipients(sealed["recipients"])
    named = [f"{r['name']} ({r['region']}) with key {r['key']}" for r in recipients[:_NAMED]]
    more = f" and {len(recipients) - _NAMED} more" if len(recipients) > _NAMED else ""
    for_whom = (", ".join(named) + more) or "no one"
    if recipient is not None and recipient.key is None and recipient.key_file is not None:
        raise BundleError(
            f"encrypted: bundle {label} from {name} is encrypted for {for_whom}; this region has no encryption key "
            f"{recipient.key_file} (`region keygen --out` its signing key file makes one beside it)"
        )
    if recipient is None or recipient.key is None:
        raise BundleError(
            f"encrypted: bundle {label} from {name} is encrypted for {for_whom}; import it with this region's key "
            f"(--key FILE: the encryption key beside it, FILE{ENCRYPTION_KEY_SUFFIX}, decrypts it)"
        )
    own = fingerprint(encryption_public_text(recipient.key))
    mine = next((r for r in recipients if r["key"] == own), None)
    if mine is None:
        raise BundleError(
            f"not addressed to this region: bundle {label} from {name} is encrypted for {for_whom}, not for "
            f"{recipient.name} ({recipient.region}) with key {own} ({recipient.key_file}); {name} must trust this "
            "region's encryption key (`region trust ... --encryption-key`) before it exports"
        )
    try:  # bound to this region: a key wrapped for another region does not open here, whatever its entry says
        wrapped = base64.b64decode(mine["wrapped"].encode("ascii"), validate=True)
        content_key = _suite().decrypt(wrapped, recipient.key, info=_wrap_info(publisher, sequence, recipient.region))
    except (ValueError, InvalidTag):
        if mine["region"] != recipient.region:  # the publisher trusted this region's keys under another code
            raise BundleError(
                f"not addressed to this region: the content key of bundle {label} from {name} for key {own} is "
                f"wrapped for region {mine['region']}; this store is {recipient.region}: {name} must trust this "
                f"region's keys under {recipient.region}"
            ) from None
        raise BundleError(
            f"malformed: the content key of bundle {label} from {name} wrapped for key {own} does not open with "
            f"this region's encryption key {recipient.key_file} (for {recipient.name}, {recipient.region}); ask "
            f"{name} to export it again"
        ) from None
    try:
        content = base64.b64decode(sealed["content"].encode("ascii"), validate=True)
        plain, left = unseal(content, content_key)
    except (ValueError, AttributeError):  # not base64 text, or not a sealed file
        plain, left = b"", 1
    if left or not plain:
        raise BundleError(
            f"malformed: the content of bundle {label} from {name} does not decrypt with its content key; ask {name} "
            "to export it again"
        )
    return plain, sequence


def _publisher_name(said: Any, trusted: str) -> str:
    """The publisher's name as its payload gives it, when that is a region's name (printable text of 1 to
    ``_MAX_NAME`` characters), else the name it is trusted under here: messages name it (a name of any length, or
    with control characters, went whole into refusals)."""
    if isinstance(said, str) and said.strip() and len(said) <= _MAX_NAME and control_character(said) is None:
        return said
    return trusted


def _payload(body: bytes, publisher: str, name: str) -> Bundle:
    """The signed payload, checked field by field (a publisher's software can have bugs too)."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):  # nested too deep to decode: not ours
        raise BundleError(f"malformed: the payload signed by {name} is not JSON") from None
    if not isinstance(payload, dict) or payload.get("format") != PAYLOAD_FORMAT:
        raise BundleError(f"malformed: the payload is not a {PAYLOAD_FORMAT} document")
    head = payload.get("publisher")
    if not isinstance(head, dict) or head.get("region") != publisher:
        raise BundleError(f"malformed: the payload names another publisher than the envelope ({publisher})")
    sequence = payload.get("sequence")
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
        raise BundleError("malformed: sequence must be a whole number from 1")
    for key, fields in _PAYLOAD_LISTS.items():
        items = payload.get(key)
        if not isinstance(items, list):
            raise BundleError(f"malformed: {key} must be a list")
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise BundleError(f"malformed: {key}[{i}] is not an object")
            absent = [f for f in fields if f not in item]
            if absent:
                raise BundleError(f"malformed: {key}[{i}] has no {', '.join(absent)}")
            for f in ("subject_id", "source_id", "record_id", "record_type", "list_id", "criterion_id"):
                required = f in fields and not (f == "record_id" and key == "list_entries")
                if required and (not isinstance(item[f], str) or not item[f]):
                    raise BundleError(f"malformed: {key}[{i}].{f} must be a non-empty text")
            for f in ("event_date", "birth_date"):
                if f in item and item[f] is not None:
                    try:
                        dt.date.fromisoformat(str(item[f]))
                    except ValueError:
                        raise BundleError(f"malformed: {key}[{i}].{f} {shown(item[f])} is not a date") from None
            if key == "records" and not isinstance(item["fields"], dict):
                raise BundleError(f"malformed: records[{i}].fields must be an object")
    return Bundle(
        publisher=publisher,
        publisher_name=_publisher_name(head.get("name"), name),
        sequence=sequence,
        sha256=hashlib.sha256(body).hexdigest(),
        created_at=str(payload.get("created_at", "")),
        payload=payload,
    )
