"""Load a population folder written by the generator: subjects first, then every source's records, then consents.

Loading is idempotent and resumable. Each file is ingested in one transaction (registry/records/ingest.py), and a
file whose content a batch of the same source already brought (the same SHA-256) is not ingested again: a second
load of the same folder changes nothing — no batch, no audit entry, no record version, and no later correction is
overwritten by the original file —, and a load cut short by a crash is completed by running it again. Consents are
recorded only where they change a subject's latest choice (``consent.import_consents``).

A load checkpoints once, at its end, instead of after every file whose commit passes DuckDB's WAL threshold
(``_one_checkpoint``): a committed file stays durable in the write-ahead log until then, and a crash in between is
replayed from it when the store is next opened.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from socialcredit.errors import IngestError
from socialcredit.registry.records.consent import import_consents
from socialcredit.registry.records.ingest import BatchOptions, IngestReport, file_state, ingest_file
from socialcredit.sqltext import lit
from socialcredit.store import Store

__all__ = ["LoadedBefore", "PopulationLoad", "load_population"]


@dataclass(frozen=True)
class LoadedBefore:
    """A file of the folder that an earlier batch of its source brought with the same content."""

    file: str
    source: str
    batch_id: int


@dataclass
class PopulationLoad:
    """What a load did: the files ingested now, those loaded before, and the consents recorded and unchanged."""

    reports: list[IngestReport] = field(default_factory=list)
    skipped: list[LoadedBefore] = field(default_factory=list)
    consents: int = 0
    consents_unchanged: int = 0

    @property
    def accepted(self) -> int:
        return sum(r.accepted for r in self.reports)

    @property
    def rejected(self) -> int:
        return sum(r.rejected for r in self.reports)

    @property
    def changed(self) -> bool:
        """Whether the load wrote anything (a file ingested now writes its batch even if every row was unchanged)."""
        return bool(self.reports or self.consents)


def load_population(
    store: Store,
    folder: Path | str,
    *,
    today: dt.date | None = None,
    actor: str = "cli",
    on_file: Callable[[IngestReport], None] | None = None,
    on_skip: Callable[[LoadedBefore], None] | None = None,
) -> PopulationLoad:
    """Ingest ``folder``/subjects, ``folder``/records/<source>/ and ``folder``/consents.parquet, in that order,
    skipping the files loaded before."""
    folder = Path(folder)
    subjects = sorted((folder / "subjects").glob("*.parquet"))
    if not subjects:
        raise IngestError(f"{folder}: no subjects/*.parquet; is this a folder written by `socialcredit generate`?")
    load = PopulationLoad()
    batches = [(p, "civil_affairs") for p in subjects]
    for source_dir in sorted(p for p in (folder / "records").iterdir() if p.is_dir()):
        batches += [(p, source_dir.name) for p in sorted(source_dir.glob("*.parquet"))]
    with _one_checkpoint(store):
        _load_files(store, load, batches, today, actor, on_file, on_skip)
        if (folder / "consents.parquet").exists():
            load.consents, load.consents_unchanged = import_consents(
                store, str(folder / "consents.parquet"), actor=actor
            )
    return load


@contextmanager
def _one_checkpoint(store: Store) -> Iterator[None]:
    """No automatic checkpoint inside the block, one at its end. If the block fails, what it committed stays in the
    write-ahead log (and in the store), to be checkpointed by the store's next writer.

    DuckDB checkpoints after a commit that leaves more than ``checkpoint_threshold`` (16 MiB) in the write-ahead
    log, which every file of a population does: at ``city`` the commits and checkpoints of a load took 8.5 CPU s
    instead of 12.4 (docs/ingest.md). Until the end, the log holds what the commits wrote outside the row groups
    they appended to the store's file (78 MB at ``city``)."""
    before = str(store.one("SELECT current_setting('checkpoint_threshold')"))
    store.execute("SET checkpoint_threshold = '1TB'")
    try:
        yield
    finally:
        store.execute(f"SET checkpoint_threshold = {lit(before)}")
    store.execute("CHECKPOINT")


def _load_files(
    store: Store,
    load: PopulationLoad,
    batches: list[tuple[Path, str]],
    today: dt.date | None,
    actor: str,
    on_file: Callable[[IngestReport], None] | None,
    on_skip: Callable[[LoadedBefore], None] | None,
) -> None:
    """Ingest each (file, source) of ``batches`` in order, each in its own transaction, skipping those loaded
    before; ``load`` gets the reports and the skipped files."""
    for path, source in batches:
        state = file_state(path)  # as the file is when hashed: ingest refuses it if it is not so once read
        digest = _sha256(path)
        earlier = store.one(
            "SELECT min(batch_id) FROM batches WHERE source_id = ? AND file_sha256 = ?", [source, digest]
        )
        if earlier is not None:
            before = LoadedBefore(str(path), source, int(earlier))
            load.skipped.append(before)
            if on_skip:
                on_skip(before)
            continue
        report = ingest_file(
            store, path, source, today=today, actor=actor, batch=BatchOptions(file_sha256=digest, file_state=state)
        )
        load.reports.append(report)
        if on_file:
            on_file(report)


def _sha256(path: Path) -> str:
    """The file's SHA-256, as ingest records it with each batch (``batches.file_sha256``)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
