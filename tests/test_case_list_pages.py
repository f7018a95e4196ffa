"""The operator's case lists come a page at a time: GET /v1/notices, /v1/disputes and /v1/repairs (and the console's
``notices``, ``dispute list`` and ``repair list``) answered every row at once, one unbounded answer for a store of a
million notices. Now: newest first, ``limit`` rows (100 by default, at most 1000, a 422 naming the limit above it),
``after`` the last id of the page before, and a full page's ``Link`` header names the next.

World (tests/due_world.py): A's listing for J1 (scored 2026-02-01 and 2026-04-02), a dispute of B's T1 and A's
repair application of J1 (2027-04-02); each copied under new ids to make a store of many.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from api_helpers import serving
from cli_helpers import CLI
from due_world import A, B, built_scored
from socialcredit.api.app import create_app
from socialcredit.clock import resolve_today
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.due_process.disputes import file_dispute
from socialcredit.registry.due_process.repair import apply_for_repair, report_fulfilment
from socialcredit.store import Store
from store_copies import copy_of

# table, its id, how many rows after the copies
CASES = {"listings": ("listing_id", 105), "disputes": ("dispute_id", 5), "repairs": ("repair_id", 5)}


def _world(folder: Path) -> Store:
    """The world of the module docstring in ``folder`` (as ``due.duckdb``), built once per process and copied."""
    return copy_of(folder, f"case-lists@{resolve_today().isoformat()}", _build, db="due.duckdb")


def _build(folder: Path) -> Store:
    store = built_scored(folder, "2026-02-01", "2026-04-02")
    file_dispute(store, B, "traffic_police", "T1", "not me", actor="resident", today=dt.date(2026, 4, 3))
    paid = dt.date(2026, 5, 1)
    report_fulfilment(store, "courts", "J1", fulfilled_on=paid, actor="courts", today=paid)
    apply_for_repair(store, A, "courts", "J1", "Paid in full", "resident", today=dt.date(2027, 4, 2))
    for table, (key, total) in CASES.items():
        first = int(store.one(f"SELECT min({key}) FROM {table}"))
        store.execute(
            f"""INSERT INTO {table} SELECT c.* REPLACE (c.{key} + t.k AS {key})
                FROM (SELECT * FROM {table} WHERE {key} = ?) c, range(1000, 1000 + ?) t(k)""",
            [first, total - int(store.one(f"SELECT count(*) FROM {table}"))],
        )
        assert store.one(f"SELECT count(*) FROM {table}") == total
    return store


def _ids(store: Store, table: str, key: str) -> list[int]:
    return [int(r[key]) for r in store.rows(f"SELECT {key} FROM {table} ORDER BY {key} DESC")]


def test_the_operators_case_lists_come_in_pages(tmp_path: Path) -> None:
    store = _world(tmp_path)
    operator = {"Authorization": f"Bearer {issue_key(store, 'operator', 'operations').token}"}
    ids = {table: _ids(store, table, key) for table, (key, _) in CASES.items()}
    app = create_app(tmp_path / "due.duckdb", store=store)
    with serving(app) as base, httpx.Client(base_url=base, timeout=30, headers=operator) as api:
        for path, table in (("/v1/notices", "listings"), ("/v1/disputes", "disputes"), ("/v1/repairs", "repairs")):
            key, total = CASES[table]
            # the default page: 100 rows, newest first, all of a small store's (and no Link then)
            r = api.get(path)
            assert r.status_code == 200, r.text
            assert [x[key] for x in r.json()] == ids[table][:100]
            assert ("Link" in r.headers) == (total >= 100)
            # page by page: two, two, the last one; each full page names the next
            seen, url = [], f"{path}?limit=2"
            while True:
                r = api.get(url)
                assert r.status_code == 200, r.text
                page = [x[key] for x in r.json()]
                seen += page
                if "Link" not in r.headers:
                    break
                assert r.headers["Link"] == f'<{path}?after={page[-1]}&limit=2>; rel="next"'
                url = r.headers["Link"][1:].split(">")[0]
            assert seen == ids[table]
            r = api.get(path, params={"limit": 1001})
            assert (r.status_code, r.json()["error"]["message"]) == (
                422,
                "query.limit: Input should be less than or equal to 1000",
            )
    store.close()


@pytest.mark.parametrize(
    ("args", "table"),
    [(["notices"], "listings"), (["dispute", "list"], "disputes"), (["repair", "list"], "repairs")],
)
def test_the_console_lists_a_page_of_cases(tmp_path: Path, args: list[str], table: str) -> None:
    store = _world(tmp_path)
    key, _ = CASES[table]
    ids = _ids(store, table, key)
    store.close()
    env = {k: v for k, v in os.environ.items() if k != "SOCIALCREDIT_DB_KEY"} | {"COLUMNS": "200"}

    def cli(*more: str) -> subprocess.CompletedProcess[str]:
        command = [CLI, *args, "--db", str(tmp_path / "due.duckdb"), *more]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)

    r = cli("--json", "--limit", "2", "--after", str(ids[1]))
    assert r.returncode == 0, r.stderr
    assert [x[key] for x in json.loads(r.stdout)] == ids[2:4]
    # a full page says which it shows: the newest, or those before the id given
    lines = cli("--limit", "2").stdout.splitlines()
    assert lines[-1] == f"The newest 2 shown; the next page: --after {ids[1]}."
    lines = cli("--limit", "2", "--after", str(ids[1])).stdout.splitlines()
    assert lines[-1] == f"The 2 newest before {key} {ids[1]} shown; the next page: --after {ids[3]}."
    r = cli("--limit", "1001")
    assert r.returncode == 2
    assert "Error: Invalid value for '--limit': Input should be less than or equal to 1000" in r.stderr


@pytest.mark.parametrize(
    ("args", "statuses"),
    [
        (["notices"], "pending、effective、resolved、delisted、publication_ended、repaired、overridden"),
        (["dispute", "list"], "open、verified、corrected、withdrawn、lapsed、retracted"),
        (["repair", "list"], "pending、approved、refused"),
    ],
)
def test_the_console_refuses_a_status_in_the_language_asked(tmp_path: Path, args: list[str], statuses: str) -> None:
    """``--lang zh``: a status there is none of is refused in Chinese (the lists took no --lang before 2026-12-06,
    and the notices' and repairs' refusal had no Chinese words), exit 2 as in English."""
    store = _world(tmp_path)
    store.close()
    env = {k: v for k, v in os.environ.items() if k != "SOCIALCREDIT_DB_KEY"} | {"COLUMNS": "200"}
    command = [CLI, *args, "--db", str(tmp_path / "due.duckdb"), "--status", "closed"]
    told = []
    for lang in ("zh", "en"):
        r = subprocess.run(
            [*command, "--lang", lang], capture_output=True, text=True, env=env, timeout=120, check=False
        )
        told.append((r.returncode, r.stderr.strip().splitlines()[-1]))
    assert told == [
        (2, f"错误：状态须为 {statuses} 之一，而不是 'closed'"),
        (2, f"error: status must be one of {statuses.replace('、', ', ')}, not 'closed'"),
    ]
