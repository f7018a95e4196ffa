"""Crashes injected into the installed console script, and what a store holds, for the crash tests.

The crash comes from a plugin: :func:`cli` writes a ``sitecustomize`` module, which Python imports at start from
the child's PYTHONPATH, that registers the given plugin class (source code, named ``Crash``) with the registry's
plugin manager. The plugin ends the process with ``os._exit`` — no rollback, no cleanup, as a kill would — where
it chooses; what it saw first it may write to ``$SC_TEST_CRASH_OUT`` (JSON).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from cli_helpers import on_its_day
from socialcredit.store import Store, open_store

CLI = str(Path(sys.executable).parent / "socialcredit")

_SITECUSTOMIZE = """
import json, os
from socialcredit.registry.hooks import hookimpl, plugin_manager

OUT = os.environ["SC_TEST_CRASH_OUT"]


def die(seen):
    with open(OUT, "w") as fh:
        json.dump(seen, fh)
    os._exit(9)


{plugin}

plugin_manager().register(Crash())
"""


def cli(*args: str, db: Path, crash: str | None = None, folder: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed ``socialcredit`` on ``db`` (unencrypted); with ``crash`` (a plugin class ``Crash``, as
    source code) injected from ``folder``."""
    env = {k: v for k, v in os.environ.items() if k != "SOCIALCREDIT_DB_KEY"} | {"COLUMNS": "200"} | on_its_day(args)
    if crash is not None:
        assert folder is not None
        folder.mkdir(exist_ok=True)
        code = _SITECUSTOMIZE.format(plugin=textwrap.dedent(crash))
        (folder / "sitecustomize.py").write_text(code, encoding="utf-8")
        (folder / "seen.json").unlink(missing_ok=True)
        path = [str(folder), *filter(None, [os.environ.get("PYTHONPATH")])]
        env |= {"PYTHONPATH": os.pathsep.join(path), "SC_TEST_CRASH_OUT": str(folder / "seen.json")}
    return subprocess.run([CLI, *args, "--db", str(db)], capture_output=True, text=True, env=env, check=False)


def seen(folder: Path) -> dict[str, Any]:
    """What the injected plugin saw before it ended the process."""
    out: dict[str, Any] = json.loads((folder / "seen.json").read_text(encoding="utf-8"))
    return out


def table_counts(db: Path) -> dict[str, int]:
    """The rows of every table of the store at ``db``."""
    with open_store(db, key="") as store:
        return store_counts(store)


def store_counts(store: Store) -> dict[str, int]:
    names = [
        str(r[0])
        for r in store.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND NOT temporary "
            "ORDER BY 1"
        ).fetchall()
    ]
    return {name: int(store.one(f'SELECT count(*) FROM "{name}"')) for name in names}
