#!/usr/bin/env python3
"""Write the service's OpenAPI spec to docs/openapi.json (tests/test_api.py checks it is current)."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def spec() -> str:
    from socialcredit.api.app import create_app
    from socialcredit.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "spec.duckdb", create=True, key="")
        app = create_app(Path(tmp) / "spec.duckdb", store=store)
        try:
            return json.dumps(app.openapi(), indent=2) + "\n"
        finally:
            app.state.service.close()
            store.close()


if __name__ == "__main__":
    (ROOT / "docs" / "openapi.json").write_text(spec(), "utf-8")
    sys.exit(0)
