"""Signed exchange bundles: the envelope, Ed25519 signatures, and the checks an importing region makes.

A bundle is one JSON document (UTF-8)::

    {"format": "socialcredit-bundle/1", "publisher": "110000",
     "key": "<publisher's Ed25519 public key, base64>",
     "payload": "<the payload's exact bytes, base64>", "signature": "<Ed25519 signature of those bytes, base64>"}

The signature covers the payload's bytes as they travel (no re-serialisation before verifying). The payload is
JSON: format, publisher (region code and name), sequence (1, 2, ... per publisher), created_at, policy, and the
lists ``identities``, ``records`` and ``list_entries`` (docs/regions.md has every field).

``open_bundle`` refuses, each with its own message: what is not a bundle; a publisher this region does not trust;
a bundle signed with a key other than the publisher's (wrongly signed); a signature that does not verify with the
publisher's key (tampered); a payload that is malformed or names another publisher. Replays are refused by the
importer, which knows what it imported.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from socialcredit.errors import BundleError, CheckpointError, RegionError
from socialcredit.registry import load_private_key as _load_key_file
from socialcredit.registry import new_private_key as _new_key
from socialcredit.registry import public_key_text as _public_text

__all__ = [
    "ENVELOPE_FORMAT",
    "PAYLOAD_FORMAT",
    "Bundle",
    "fingerprint",
    "load_private_key",
    "new_private_key",
    "open_bundle",
    "public_key_text",
    "seal_bundle",
]

ENVELOPE_FORMAT = "socialcredit-bundle/1"
PAYLOAD_FORMAT = "socialcredit-exchange/1"
_ENVELOPE_KEYS = ("format", "publisher", "key", "payload", "signature")
_PAYLOAD_LISTS = {
    "identities": ("subject_id", "name", "sex", "birth_date", "phone", "address"),
    "records": ("subject_id", "source_id", "record_id", "version", "record_type", "event_date", "withdrawn", "fields"),
    "list_entries": ("subject_id", "list_id", "kind", "criterion_id", "reason_en", "reason_zh", "record_id"),
}


def new_private_key() -> bytes:
    """A new Ed25519 private key as PEM (PKCS #8, unencrypted: keep the file private)."""
    return _new_key()


def load_private_key(path: Path | str) -> Ed25519PrivateKey:
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


def seal_bundle(payload: dict[str, Any], key: Ed25519PrivateKey) -> bytes:
    """Sign ``payload`` and wrap it in the envelope; returns the bundle's bytes."""
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode()
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


def open_bundle(data: bytes, trusted: dict[str, tuple[str, str]]) -> Bundle:
    """Check a bundle's envelope, publisher, signature and payload; ``trusted`` maps region code to (name, key)."""
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
        raise BundleError(f"not a bundle: format {envelope['format']!r} is not {ENVELOPE_FORMAT!r}")
    publisher = envelope["publisher"]
    if not isinstance(publisher, str) or publisher not in trusted:
        known = ", ".join(sorted(trusted)) or "none yet"
        raise BundleError(
            f"the publisher {publisher!r} is not trusted by this region (trusted: {known}); add its public key "
            "with `socialcredit region trust` if it should be"
        )
    name, trusted_key = trusted[publisher]
    public = parse_public_key(envelope["key"])
    body = _b64(envelope["payload"], "payload")
    signature = _b64(envelope["signature"], "signature")
    if public_key_text(public) != trusted_key:
        raise BundleError(
            f"wrongly signed: the bundle claims to come from {name} ({publisher}) but is signed with key "
            f"{fingerprint(public_key_text(public))}, not {name}'s key {fingerprint(trusted_key)}"
        )
    try:
        public.verify(signature, body)
    except InvalidSignature:
        raise BundleError(
            f"tampered: the signature does not verify with {name}'s key {fingerprint(trusted_key)}; the bundle was "
            "changed after it was signed"
        ) from None
    return _payload(body, publisher, name)


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
                        raise BundleError(f"malformed: {key}[{i}].{f} {item[f]!r} is not a date") from None
            if key == "records" and not isinstance(item["fields"], dict):
                raise BundleError(f"malformed: records[{i}].fields must be an object")
    return Bundle(
        publisher=publisher,
        publisher_name=str(head.get("name") or name),
        sequence=sequence,
        sha256=hashlib.sha256(body).hexdigest(),
        created_at=str(payload.get("created_at", "")),
        payload=payload,
    )
