"""Stores built once in a process (each pytest worker) under a name, then copied for every test that asks."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from socialcredit.store import Store, open_store

# The folders built by copied, each a folder of its own, by name.
_BUILT: dict[str, Path] = {}


def copied(folder: Path, name: str, build: Callable[[Path], None]) -> None:
    """What ``build`` makes in the folder it is given, built once per process for each ``name`` and copied into
    ``folder`` (made if need be): the stores with what lies beside them (the audit checkpoints
    ``<store>.checkpoints/``, the signing key ``<store>.signing.key``, the files they were made from). ``build``
    closes every store it opens."""
    template = _BUILT.get(name)
    if template is None:
        template = Path(tempfile.mkdtemp(prefix=f"{name}-"))
        atexit.register(shutil.rmtree, template, ignore_errors=True)
        build(template)
        _BUILT[name] = template
    folder.mkdir(parents=True, exist_ok=True)
    for kept in template.iterdir():
        (shutil.copytree if kept.is_dir() else shutil.copy2)(kept, folder / kept.name)


def copy_of(folder: Path, name: str, build: Callable[[Path], Store], db: str = "store.duckdb") -> Store:
    """The store ``build`` makes as ``db`` (``store.duckdb``) in the folder it is given, built once per process for
    each ``name``, closed, and copied into ``folder`` with what lies beside it (see copied): every caller gets the
    same rows, in a store of its own, opened."""
    copied(folder, name, lambda where: build(where).close())
    return open_store(folder / db, key="")
