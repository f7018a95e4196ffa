"""Ed25519 keys: the registry's signing key (audit checkpoints) and the regions' bundle keys, made and read alike.

A private key is a PEM file (PKCS #8, unencrypted, written 0600 and never overwritten); a public key travels as
its 32 raw bytes in base64, and is named by its fingerprint: the first 16 hex digits of the SHA-256 of those bytes.

The registry's own key (:func:`registry_key`) is the file ``$SOCIALCREDIT_SIGNING_KEY``, or ``<store>.signing.key``
beside the store; it is made on first use, and its public key is then recorded in the store (``store_info``), so a
checkpoint signed with any other key is refused.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from socialcredit.errors import CheckpointError
from socialcredit.store import Store

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

# cryptography is imported where a key is made, read or used (some 30 ms): a command that reads the store without
# signing or checking anything (`show`, `decide`, `runs`) does not import it.

__all__ = [
    "fingerprint",
    "load_private_key",
    "new_private_key",
    "parse_public_key",
    "public_key_text",
    "recorded_public_key",
    "registry_key",
    "registry_key_path",
    "write_private_key",
]

_INFO_KEY = "audit_signing_key"


def new_private_key() -> bytes:
    """A new Ed25519 private key as PEM (PKCS #8, unencrypted: keep the file private)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def write_private_key(path: Path) -> None:
    """Write a new private key to ``path`` (0600); an existing file is never overwritten (FileExistsError)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(new_private_key())


def load_private_key(path: Path | str, *, make_one: str = "`socialcredit audit checkpoint`") -> Ed25519PrivateKey:
    """The Ed25519 private key in the PEM file ``path``; ``make_one`` names the command that makes one."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = Path(path)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read the signing key: {exc.strerror}") from None
    except (ValueError, TypeError):
        raise CheckpointError(f"{path}: not an unencrypted PEM private key (make one with {make_one})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"{path}: not an Ed25519 key (make one with {make_one})")
    return key


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The raw 32-byte public key in base64: what another party keeps to check signatures."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def _raw(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValueError("not valid base64") from None


def fingerprint(public_text: str) -> str:
    """A short name for a public key: the first 16 hex digits of the SHA-256 of its raw bytes."""
    return hashlib.sha256(_raw(public_text)).hexdigest()[:16]


def parse_public_key(text: str) -> Ed25519PublicKey:
    """An Ed25519 public key from its base64 text; ValueError says what is wrong with the text."""
    raw = _raw(text)
    if len(raw) != 32:
        raise ValueError(f"the key is {len(raw)} bytes long, an Ed25519 public key is 32")
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    return Ed25519PublicKey.from_public_bytes(raw)


def registry_key_path(store: Store) -> Path:
    """Where the registry's signing key is: ``$SOCIALCREDIT_SIGNING_KEY``, else ``<store>.signing.key``."""
    from socialcredit.settings import get_settings

    configured = get_settings().signing_key
    return configured if configured is not None else store.path.parent / (store.path.name + ".signing.key")


def recorded_public_key(store: Store) -> str | None:
    """The public key this store's checkpoints are signed with (recorded with the first one), or None."""
    value = store.one("SELECT value FROM store_info WHERE key = ?", [_INFO_KEY])
    return None if value is None else str(value)


def registry_key(store: Store, *, create: bool = True) -> Ed25519PrivateKey | None:
    """The registry's signing key; with ``create`` it is made (0600) when its file does not exist yet.

    The first key used is recorded in the store; a key file that is not that key is refused, so that a lost or
    replaced key is noticed rather than silently starting a second series of checkpoints."""
    path = registry_key_path(store)
    if not path.exists():
        if not create:
            return None
        recorded = recorded_public_key(store)
        if recorded is not None:
            raise CheckpointError(
                f"the registry's signing key {path} is missing, but this store's checkpoints are signed with key "
                f"{fingerprint(recorded)}: restore that file (or set SOCIALCREDIT_SIGNING_KEY to it)"
            )
        with contextlib.suppress(FileExistsError):  # made by another process meanwhile: use it
            write_private_key(path)
    key = load_private_key(path)
    public = public_key_text(key)
    recorded = recorded_public_key(store)
    if recorded is None:
        with store.transaction():
            store.execute("INSERT OR IGNORE INTO store_info VALUES (?, ?)", [_INFO_KEY, public])
        recorded = recorded_public_key(store)
    if recorded != public:
        assert recorded is not None
        raise CheckpointError(
            f"the signing key {path} (key {fingerprint(public)}) is not the key this store's checkpoints are signed "
            f"with ({fingerprint(recorded)}): set SOCIALCREDIT_SIGNING_KEY to that key's file"
        )
    return key
