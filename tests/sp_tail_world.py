"""The store of cli_helpers.scored_city made in process through the registry, for tests that read it with the
installed console script but are about another command than the ones that make it (init, ingest, score): the same
store, without the four starts of the console script (about a second each, `init` two)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from socialcredit.clock import TODAY_ENV
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import score
from socialcredit.store import open_store


@contextmanager
def _registry_today(today: str) -> Iterator[dt.date]:
    """The registry's today set to ``today`` (as the console script is given it, in its environment) while the
    store is made, then put back."""
    before = os.environ.get(TODAY_ENV)
    os.environ[TODAY_ENV] = today
    try:
        yield dt.date.fromisoformat(today)
    finally:
        if before is None:
            del os.environ[TODAY_ENV]
        else:
            os.environ[TODAY_ENV] = before


def scored_city_in_process(folder: Path, batches: dict[str, str], *, as_of: str, today: str) -> Path:
    """``city.duckdb`` in ``folder`` as ``scored_city(folder, batches, as_of=as_of, today=today)`` makes it: a new
    store without a key, each of ``batches`` written as ``<source>.csv`` and ingested in their order (every row
    taken), then ``beijing`` scored as of ``as_of``; all on the registry's day ``today``, by the actor the console
    script records ("cli")."""
    db = folder / "city.duckdb"
    with _registry_today(today) as day, open_store(db, create=True, key="") as store:
        for source, text in batches.items():
            path = folder / f"{source}.csv"
            path.write_text(text, encoding="utf-8")
            report = ingest_file(store, path, source, today=day)
            assert (report.rejected, report.errors) == (0, []), report.errors
        score(store, resolve_policy(store, "beijing"), dt.date.fromisoformat(as_of), today=day)
    return db
