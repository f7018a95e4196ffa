"""Load a population folder written by the generator: subjects first, then every source's records, then consents."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from socialcredit.errors import IngestError
from socialcredit.registry.records.consent import import_consents
from socialcredit.registry.records.ingest import IngestReport, ingest_file
from socialcredit.store import Store

__all__ = ["load_population"]


def load_population(
    store: Store,
    folder: Path | str,
    *,
    today: dt.date | None = None,
    actor: str = "cli",
    on_file: Callable[[IngestReport], None] | None = None,
) -> list[IngestReport]:
    """Ingest ``folder``/subjects, ``folder``/records/<source>/ and ``folder``/consents.parquet, in that order."""
    folder = Path(folder)
    subjects = sorted((folder / "subjects").glob("*.parquet"))
    if not subjects:
        raise IngestError(f"{folder}: no subjects/*.parquet; is this a folder written by `socialcredit generate`?")
    reports = []
    batches = [(p, "civil_affairs") for p in subjects]
    for source_dir in sorted(p for p in (folder / "records").iterdir() if p.is_dir()):
        batches += [(p, source_dir.name) for p in sorted(source_dir.glob("*.parquet"))]
    for path, source in batches:
        report = ingest_file(store, path, source, today=today, actor=actor)
        reports.append(report)
        if on_file:
            on_file(report)
    if (folder / "consents.parquet").exists():
        import_consents(store, str(folder / "consents.parquet"), actor=actor)
    return reports
