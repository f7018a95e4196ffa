"""Files that hold personal data beside the store: readable by their owner only, kept in memory where they can be,
sealed with a key derived from the store's key where they must outlive a crash.

* :func:`create_private` makes a new file with mode 0600 whatever the umask (its folder 0700 when made here).
* :class:`MemoryFile` holds bytes in anonymous memory (Linux's ``memfd_create``) and gives them a path DuckDB can
  read: a symbolic link to the process's descriptor, which names no data. The bytes are never in a folder, and are
  gone when the file is closed or the process dies; the link left by a crash points nowhere.
* :class:`Sealer` seals a stream of frames with AES-GCM (the inquiry journal): each frame is whole or dropped, so a
  crash mid-write loses only the frame being written, and frames cannot be dropped, reordered or moved to another
  file unseen.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

__all__ = ["SEALED_MAGIC", "MemoryFile", "Sealer", "create_private", "private_folder", "unseal"]

SEALED_MAGIC = b"SCS1"  # a sealed file starts with it, then the 16-byte salt of its key
_SALT = 16
_HEADER = len(SEALED_MAGIC) + _SALT
_LENGTH = struct.Struct(">I")


def private_folder(folder: Path) -> Path:
    """``folder``, made with mode 0700 if it does not exist (an existing folder keeps its mode)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def create_private(path: Path, *, append: bool = False) -> BinaryIO:
    """A new file at ``path`` open for binary writing, mode 0600 (``append``: opened for appending, and created only
    if missing). Whatever was at ``path`` is replaced, unless ``append``."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)  # a file that was there already keeps its mode through os.open
        return os.fdopen(fd, "ab" if append else "wb")
    except BaseException:
        os.close(fd)
        raise


def _proc_fd(fd: int) -> Path | None:
    folder = Path(f"/proc/{os.getpid()}/fd")
    return folder / str(fd) if folder.is_dir() else None


def _chunks(data: bytes | BinaryIO) -> Iterator[bytes]:
    if isinstance(data, bytes):
        yield data
        return
    while chunk := data.read(1 << 20):
        yield chunk


class MemoryFile:
    """``data`` readable at ``folder/name`` until :meth:`close`, held in memory where the system can (Linux).

    Without ``memfd_create`` (another system) the bytes are written to a private file there instead, removed at
    :meth:`close`.
    """

    def __init__(self, data: bytes | BinaryIO, folder: Path, name: str) -> None:
        """``data``: the bytes, or a file read from where it stands to its end (in chunks, never whole)."""
        private_folder(folder)
        self.path = folder / name
        self.in_memory = False
        self._fd: int | None = None
        memfd = getattr(os, "memfd_create", None)
        if memfd is not None and _proc_fd(0) is not None:
            fd = memfd(name, getattr(os, "MFD_CLOEXEC", 0))
            try:
                for chunk in _chunks(data):
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(fd, view) :]
                target = _proc_fd(fd)
                assert target is not None
                os.symlink(target, self.path)
            except BaseException:
                os.close(fd)
                raise
            self._fd = fd
            self.in_memory = True
        else:  # pragma: no cover - systems without memfd_create
            with create_private(self.path) as fh:
                for chunk in _chunks(data):
                    fh.write(chunk)

    def close(self) -> None:
        self.path.unlink(missing_ok=True)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> MemoryFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def _frame_key(key: bytes, salt: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"socialcredit sealed frames").derive(key)


class Sealer:
    """Seals frames for one file with a key of its own, derived from ``key`` and a random salt.

    The file is :attr:`header` (written first), then for each frame its length (4 bytes) and its AES-GCM ciphertext.
    The nonce is the frame's number, so no two frames under one key share one; the header is authenticated with
    every frame."""

    def __init__(self, key: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        salt = os.urandom(_SALT)
        self.header = SEALED_MAGIC + salt
        self._aead = AESGCM(_frame_key(key, salt))
        self._count = 0

    def seal(self, plain: bytes) -> bytes:
        """The bytes to append for the frame ``plain``."""
        nonce = self._count.to_bytes(12, "big")
        self._count += 1
        sealed = self._aead.encrypt(nonce, plain, self.header)
        return _LENGTH.pack(len(sealed)) + sealed


def unseal(data: bytes, key: bytes) -> tuple[bytes, int]:
    """The frames of a sealed file's bytes, joined, and how many bytes at its end could not be read: a frame cut
    short by a crash, or one that does not authenticate (and everything after it)."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if len(data) < _HEADER:
        return b"", len(data)
    if not data.startswith(SEALED_MAGIC):
        raise ValueError("not a sealed file")
    header = data[:_HEADER]
    aead = AESGCM(_frame_key(key, header[len(SEALED_MAGIC) :]))
    out: list[bytes] = []
    at, number = _HEADER, 0
    while at + _LENGTH.size <= len(data):
        (size,) = _LENGTH.unpack_from(data, at)
        end = at + _LENGTH.size + size
        if end > len(data):
            break
        try:
            out.append(aead.decrypt(number.to_bytes(12, "big"), data[at + _LENGTH.size : end], header))
        except InvalidTag:
            break
        at, number = end, number + 1
    return b"".join(out), len(data) - at
