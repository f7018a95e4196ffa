"""Exit codes, as a script sees them: the installed console script run in a subprocess against real stores.

0 done (a refused decision is an answer); 1 the command ran and reports a failure (rows rejected, errors found, a
chain or a state that does not hold); 2 refused or could not run (a usage error, invalid input, not found); 3 an
internal error. Each failing path ends with one line on stderr that says what failed, and no stack trace.
The tests that need a store are marked slow (each run of the script takes seconds to start).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from api_helpers import free_port
from cli_helpers import on_its_day
from due_world import score_on_its_day
from socialcredit.cli_help import EXIT_CODES
from socialcredit.identifiers import make_ric

CLI = shutil.which("socialcredit", path=str(Path(sys.executable).parent)) or "socialcredit"
ROOT = Path(__file__).resolve().parent.parent
DEFAULTER = make_ric("110105", dt.date(1980, 3, 4), 15)
PAYER = make_ric("110108", dt.date(1990, 7, 8), 22)
UNKNOWN = make_ric("110101", dt.date(1970, 1, 1), 31)
COURTS_HEADER = "record_id,subject_id,record_type,event_date,case_type,amount,status,defaulter\n"
BAD_STATUS = "status: 'unfulfiled' is not allowed; allowed: fulfilled, unfulfilled"


def sc(*args: str | Path, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The console script, as a user runs it (PYTHONPATH is inherited: the code under test)."""
    base = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}
    return subprocess.run(
        [CLI, *map(str, args)],
        capture_output=True,
        text=True,
        env=base | {"COLUMNS": "200"} | on_its_day(args) | (env or {}),
        timeout=timeout,
        check=False,
    )


def last_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The last line on stderr: where every failure is told."""
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stderr.rstrip("\n").splitlines()[-1]


def _build(db: Path, folder: Path) -> None:
    """Two residents, the defaulter's unfulfilled judgment, scored twice (the notice, then the listing in effect)."""
    from socialcredit.regions.exchange import set_region
    from socialcredit.registry.records.ingest import ingest_file
    from socialcredit.registry.scoring.policies import resolve_policy
    from socialcredit.store import open_store

    (folder / "subjects.csv").write_text(
        f"subject_id,name,district,profession\n{DEFAULTER},王伟,朝阳区,retail\n{PAYER},李娜,海淀区,education\n",
        encoding="utf-8",
    )
    (folder / "courts.csv").write_text(
        COURTS_HEADER + f"C-1,{DEFAULTER},court_judgment,2026-06-01,civil,80000,unfulfilled,true\n", encoding="utf-8"
    )
    store = open_store(db, create=True, key="")
    try:
        assert ingest_file(store, folder / "subjects.csv", "civil_affairs").rejected == 0
        assert ingest_file(store, folder / "courts.csv", "courts").rejected == 0
        loaded = resolve_policy(store, "beijing")
        score_on_its_day(store, loaded, dt.date(2026, 8, 31))
        score_on_its_day(store, loaded, dt.date(2026, 11, 1))
        set_region(store, "110000", "Beijing")
    finally:
        store.close()


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("city")
    db = folder / "city.duckdb"
    _build(db, folder)
    return db


@pytest.fixture
def copy_of_city(city: Path, tmp_path: Path) -> Path:
    """A store of its own, for a test that breaks it (with the files kept beside it: the audit checkpoints, the key)."""
    db = tmp_path / city.name
    for kept in city.parent.glob(city.name + "*"):
        if kept.is_dir():
            shutil.copytree(kept, tmp_path / kept.name)
        else:
            shutil.copy(kept, tmp_path / kept.name)
    return db


def _population(folder: Path, bad_rows: int) -> Path:
    """A folder as `socialcredit generate` writes it: subjects, one source's records; ``bad_rows`` of them bad."""
    (folder / "subjects").mkdir(parents=True)
    (folder / "records" / "courts").mkdir(parents=True)
    con = duckdb.connect()
    con.sql(
        f"SELECT * FROM (VALUES ('{DEFAULTER}', '王伟', '朝阳区', 'retail'), "
        f"('{PAYER}', '李娜', '海淀区', 'education')) t(subject_id, name, district, profession)"
    ).write_parquet(str(folder / "subjects" / "part-0.parquet"))
    rows = [("C-1", DEFAULTER, "unfulfilled")] + [(f"C-{i + 2}", PAYER, "unfulfiled") for i in range(bad_rows)]
    values = ", ".join(
        f"('{r}', '{s}', 'court_judgment', '2026-06-01', 'civil', '80000', '{st}', 'false')" for r, s, st in rows
    )
    con.sql(
        f"SELECT * FROM (VALUES {values}) "
        "t(record_id, subject_id, record_type, event_date, case_type, amount, status, defaulter)"
    ).write_parquet(str(folder / "records" / "courts" / "part-0.parquet"))
    con.close()
    return folder


# --- 1: the command ran and reports a failure --------------------------------------------------------------------


@pytest.mark.slow
def test_ingest_with_rejected_rows_exits_1(city: Path, tmp_path: Path) -> None:
    bad = tmp_path / "courts-bad.csv"
    bad.write_text(COURTS_HEADER + f"C-9,{PAYER},court_judgment,2026-06-01,civil,80000,unfulfiled,false\n")
    proc = sc("ingest", bad, "--source", "courts", "--rejects", tmp_path / "rejects.csv", "--db", city)
    assert proc.returncode == 1, proc.stderr
    assert last_error(proc) == f"error: {bad}: 1 of 1 row rejected"
    assert f"  {bad}: row 1: {BAD_STATUS}" in proc.stdout.splitlines()
    assert (tmp_path / "rejects.csv").read_text(encoding="utf-8").count("\n") == 2  # header and the row


@pytest.mark.slow
def test_ingest_with_rejected_rows_exits_1_with_json_too(city: Path, tmp_path: Path) -> None:
    bad = tmp_path / "courts-bad.csv"
    bad.write_text(
        COURTS_HEADER
        + f"C-1,{DEFAULTER},court_judgment,2026-06-01,civil,80000,unfulfilled,true\n"
        + f"C-9,{PAYER},court_judgment,2026-06-01,civil,80000,unfulfiled,false\n"
    )
    proc = sc("ingest", bad, "--source", "courts", "--rejects", tmp_path / "rejects.csv", "--json", "--db", city)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert (report["rows"], report["accepted"], report["unchanged"], report["rejected"]) == (2, 0, 1, 1)
    assert proc.stderr == f"error: {bad}: 1 of 2 rows rejected\n"


def _records(db: Path) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return int(con.execute("SELECT count(*) FROM records").fetchone()[0])  # type: ignore[index]
    finally:
        con.close()


@pytest.mark.slow
def test_a_reject_file_in_no_folder_is_refused_before_anything_is_committed(copy_of_city: Path, tmp_path: Path) -> None:
    """The good row was committed, then writing the rejected one failed: exit 2 ("refused or could not run"), and
    the last line named the reject file alone (`error: No such file or directory: ...`), as if nothing was stored."""
    mixed = tmp_path / "courts-mixed.csv"
    mixed.write_text(
        COURTS_HEADER
        + f"C-2,{DEFAULTER},court_judgment,2026-06-02,civil,90000,unfulfilled,true\n"
        + f"C-9,{PAYER},court_judgment,2026-06-01,civil,80000,unfulfiled,false\n"
    )
    before = _records(copy_of_city)
    nowhere = tmp_path / "no such folder" / "rejects.csv"
    proc = sc("ingest", mixed, "--source", "courts", "--rejects", nowhere, "--db", copy_of_city)
    assert proc.returncode == 2, proc.stderr
    assert last_error(proc) == (
        f"error: {nowhere}: the reject file is in no folder there is; name a file in a folder that exists"
    )
    assert _records(copy_of_city) == before


@pytest.mark.slow
def test_a_reject_file_that_cannot_be_written_leaves_the_committed_batch_told(
    copy_of_city: Path, tmp_path: Path
) -> None:
    """Beside the file, where its reject file goes, a folder of that name (a folder of the furnisher's that this
    user may not write to is told the same): the good row is committed, the report printed, the reject file's
    failure warned of, exit 1 for the rejected row. It was exit 2 with the error alone, as if nothing was stored."""
    mixed = tmp_path / "courts-mixed.csv"
    mixed.write_text(
        COURTS_HEADER
        + f"C-2,{DEFAULTER},court_judgment,2026-06-02,civil,90000,unfulfilled,true\n"
        + f"C-9,{PAYER},court_judgment,2026-06-01,civil,80000,unfulfiled,false\n"
    )
    (tmp_path / "courts-mixed.rejects.csv").mkdir()
    before = _records(copy_of_city)
    proc = sc("ingest", mixed, "--source", "courts", "--db", copy_of_city)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith(f"{mixed}: 2 rows: 1 accepted, 0 unchanged, 1 rejected")
    assert f"warning: the rejected rows were not written: {tmp_path / 'courts-mixed.rejects.csv'}: Is a directory" in (
        proc.stderr
    )
    assert last_error(proc) == f"error: {mixed}: 1 of 2 rows rejected"
    assert _records(copy_of_city) == before + 1


@pytest.mark.slow
def test_ingest_without_rejects_exits_0(city: Path, tmp_path: Path) -> None:
    proc = sc("ingest", city.parent / "courts.csv", "--source", "courts", "--db", city)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout.startswith(f"{city.parent / 'courts.csv'}: 1 row: 0 accepted, 1 unchanged, 0 rejected")


@pytest.mark.slow
def test_load_with_rejected_rows_exits_1(tmp_path: Path) -> None:
    folder = _population(tmp_path / "population", bad_rows=2)
    proc = sc("load", folder, "--db", tmp_path / "loaded.duckdb")
    assert proc.returncode == 1, proc.stderr
    assert (
        proc.stdout == f"Loaded {folder}: 3 rows accepted, 2 rejected from 2 files; 0 consents recorded, 0 unchanged.\n"
    )
    assert last_error(proc) == f"error: {folder}: 2 rows rejected, in 1 of 2 files"


@pytest.mark.slow
def test_load_without_rejects_exits_0(tmp_path: Path) -> None:
    folder = _population(tmp_path / "population", bad_rows=0)
    proc = sc("load", folder, "--db", tmp_path / "loaded.duckdb")
    assert proc.returncode == 0, proc.stderr
    assert (
        proc.stdout == f"Loaded {folder}: 3 rows accepted, 0 rejected from 2 files; 0 consents recorded, 0 unchanged.\n"
    )
    assert "error" not in proc.stderr


@pytest.mark.slow
def test_policy_lint_with_errors_exits_1_and_without_exits_0() -> None:
    from socialcredit.policy import builtin_policy

    version = builtin_policy("sesame").policy.version
    linted = sc("policy", "lint", "sesame", "--profile", "eu")
    assert linted.returncode == 1, linted.stderr
    assert last_error(linted) == f"error: sesame {version}: 4 errors under profile eu"
    assert linted.stdout.splitlines()[-1] == f"sesame {version} under profile eu: 4 errors, 0 warnings, 0 notes."
    as_json = sc("policy", "lint", "sesame", "--profile", "eu", "--json")
    assert (as_json.returncode, json.loads(as_json.stdout)["counts"]["error"]) == (1, 4)
    assert as_json.stderr == f"error: sesame {version}: 4 errors under profile eu\n"
    clean = sc("policy", "lint", "beijing", "--profile", "cn")
    assert (clean.returncode, clean.stderr) == (0, "")


@pytest.mark.slow
def test_audit_verify_of_an_altered_log_exits_1(copy_of_city: Path) -> None:
    from socialcredit.store import open_store

    intact = sc("audit", "verify", "--db", copy_of_city)
    assert (intact.returncode, intact.stderr) == (0, "")
    assert intact.stdout.startswith("The audit log is intact: ")
    store = open_store(copy_of_city, key="")
    store.execute("""UPDATE audit_log SET detail = '{"n": 99}' WHERE seq = 3""")
    store.close()
    proc = sc("audit", "verify", "--db", copy_of_city)
    assert proc.returncode == 1, proc.stderr
    assert "entry 3 was altered" in proc.stdout.splitlines()
    assert proc.stderr == "error: the audit log is not intact: 1 problem found\n"


@pytest.mark.slow
def test_state_check_of_a_state_that_differs_exits_1(copy_of_city: Path) -> None:
    from socialcredit.store import open_store

    same = sc("state", "check", "beijing", "--db", copy_of_city)
    assert (same.returncode, same.stderr) == (0, "")
    store = open_store(copy_of_city, key="")
    table = store.one("SELECT table_name FROM score_states")
    store.execute(f'DELETE FROM "{table}"')
    store.close()
    proc = sc("state", "check", "beijing", "--db", copy_of_city)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith("The scoring state of beijing 2026.2 differs from a fresh build")
    assert proc.stderr == "error: the scoring state of beijing 2026.2 differs from a fresh build\n"
    as_json = sc("state", "check", "beijing", "--json", "--db", copy_of_city)
    assert (as_json.returncode, json.loads(as_json.stdout)["ok"]) == (1, False)
    assert last_error(as_json) == "error: the scoring state of beijing 2026.2 differs from a fresh build"


@pytest.mark.slow
def test_matches_ranked_without_the_registry_exit_1(tmp_path: Path) -> None:
    from socialcredit.matchmaking.reference import credit_tiers
    from socialcredit.matchmaking.store import Preferences, open_match_store, profile

    db = tmp_path / "match.duckdb"
    with open_match_store(db) as store:
        for sid in (DEFAULTER, make_ric("110108", dt.date(1991, 2, 3), 24)):
            p = profile(sid, "甲", "海淀区", "bachelor", "employed", "10k_20k", ["reading"])
            cid = store.register(p, tiers=credit_tiers())
            store.set_preferences(cid, Preferences(("F", "M"), 18, 100, (), None, None, None), tiers=credit_tiers())
            store.set_consent(cid, True, actor="test")
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    proc = sc("matchmaking", "matches", "1", "--registry-url", url, "--key", "sc_0_x", "--json", "--db", db)
    assert proc.returncode == 1, proc.stderr
    assert [m["client_id"] for m in json.loads(proc.stdout)["matches"]] == [2]  # ranked all the same
    assert last_error(proc) == (  # in the language asked (Chinese, the command's default), as the table is
        f"错误：无法连接 {url} 的登记系统：ConnectError: [Errno 111] Connection refused；排序未使用任何信用信息"
    )
    english = sc("matchmaking", "matches", "1", "--registry-url", url, "--key", "sc_0_x", "--lang", "en", "--db", db)
    assert (english.returncode, last_error(english)) == (
        1,
        f"error: cannot reach the registry at {url}: ConnectError: [Errno 111] Connection refused; "
        "ranked without any credit signal",
    )


# --- 2: refused, or could not run ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("--bogus",), "Error: No such option: --bogus"),
        (
            ("list", "purplelist"),
            "Error: Invalid value for 'LIST': 'purplelist' is not one of 'blacklist', 'redlist', 'top'.",
        ),
        (
            ("score", "--policy", "beijing", "--engine", "spork"),
            "Error: Invalid value for '--engine': 'spork' is not one of 'duckdb', 'spark'.",
        ),
        (("decide", DEFAULTER, "high_speed_rail"), "Error: Missing option '--purpose'."),
        (
            ("score", "--policy", "beijing", "--out", "results"),
            "Error: Invalid value for '--out': --out is for scoring --input files (or on --engine spark)",
        ),
        # a language neither en nor zh: it printed Chinese (show) or the matches' labels in Chinese
        (("show", DEFAULTER, "--lang", "fr"), "Error: Invalid value for '--lang': 'fr': give en or zh"),
        # one check and one message for both (socialcredit/languages.py), a long value cut at 80 characters
        (("matchmaking", "matches", "1", "--lang", "EN"), "Error: Invalid value for '--lang': 'EN': give en or zh"),
        (
            ("decide", DEFAULTER, "high_speed_rail", "--purpose", "p", "--lang", "x" * 500),
            f"Error: Invalid value for '--lang': '{'x' * 79}…': give en or zh",
        ),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...], error: str) -> None:
    proc = sc(*args)
    assert proc.returncode == 2, proc.stderr
    assert last_error(proc).startswith(error)
    assert proc.stdout == ""


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ("list", "blacklist", "--limit", "-1", "--db", "{tmp}/s.duckdb"),
            "Error: Invalid value for '--limit': ",
        ),  # was exit 3, SQL's LIMIT
        (
            ("list", "top", "--limit", "0", "--db", "{tmp}/s.duckdb"),
            "Error: Invalid value for '--limit': ",
        ),  # was 'No one on the top.'
        (("generate", "--years", "0", "--out", "{tmp}/city"), "Error: Invalid value for '--years': "),  # was exit 3
        (
            ("demo", "--residents", "0", "--no-serve", "--db", "{tmp}/d.duckdb"),
            "Error: Invalid value for '--residents': ",
        ),
        # it made the matchmaking store, then was refused by the generator (which added 10 clients before)
        (
            ("matchmaking", "generate", "{tmp}/population", "--clients", "0", "--db", "{tmp}/m.duckdb"),
            "Error: Invalid value for '--clients': ",
        ),
    ],
    ids=["negative-limit", "zero-limit", "no-years", "no-residents", "no-clients"],
)
def test_a_count_below_one_is_a_usage_error(tmp_path: Path, args: tuple[str, ...], error: str) -> None:
    proc = sc(*(a.format(tmp=tmp_path) for a in args))
    assert (proc.returncode, last_error(proc), proc.stdout) == (
        2,
        error + "Input should be greater than or equal to 1",
        "",
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written


@pytest.mark.parametrize(
    ("args", "error"),
    [
        # 99999 was taken modulo 65536: 'Serving ... on http://127.0.0.1:99999' while it listened on port 34463
        (("serve", "--port", "99999"), "less than or equal to 65535"),
        (("serve", "--port", "0"), "greater than or equal to 1"),  # any free port, while it said :0
        (("demo", "--port", "65536"), "less than or equal to 65535"),
        (("matchmaking", "serve", "--port", "-1"), "greater than or equal to 1"),
    ],
    ids=["serve-over", "serve-zero", "demo-over", "matchmaking-negative"],
)
def test_a_port_out_of_range_is_a_usage_error(tmp_path: Path, args: tuple[str, ...], error: str) -> None:
    proc = sc(*(a.format(tmp=tmp_path) for a in args), "--db", tmp_path / "s.duckdb", timeout=60)
    assert (proc.returncode, last_error(proc), proc.stdout) == (
        2,
        f"Error: Invalid value for '--port': Input should be {error}",
        "",
    )
    assert list(tmp_path.iterdir()) == []  # nothing made, nothing served


def test_a_group_without_its_command_prints_its_help_and_exits_2() -> None:
    proc = sc("region")
    assert proc.returncode == 2
    assert "Usage: socialcredit region [OPTIONS] COMMAND [ARGS]..." in proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("show", UNKNOWN), f"error: no registered subject '{UNKNOWN}'"),
        (
            ("decide", PAYER, "high_speed_rail", "--purpose", " "),
            "error: a purpose is required: say why the decision is asked (e.g. 'ticket purchase')",
        ),
        (("keys", "revoke", "0123456789ab"), "error: no key '0123456789ab'"),
        (("region", "import", "{folder}/garbage.bundle"), "error: not a bundle: the file is not JSON text"),
        (("dispute", "answer", "99", "verified", "--note", "checked"), "error: no dispute 99"),
    ],
    ids=["not-found", "invalid-decision", "no-such-key", "bundle-refused", "no-such-dispute"],
)
def test_refusals_exit_2(city: Path, args: tuple[str, ...], error: str) -> None:
    (city.parent / "garbage.bundle").write_text("garbage\n", encoding="utf-8")
    proc = sc(*(a.format(folder=city.parent) for a in args), "--db", city)
    assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", error + "\n")


def test_a_store_that_cannot_be_opened_exits_2(tmp_path: Path) -> None:
    proc = sc("runs", "--db", tmp_path / "none.duckdb")
    assert proc.returncode == 2
    none = tmp_path / "none.duckdb"
    assert last_error(proc) == f"error: no store at {none}; create one with `socialcredit init --db {none}`"


@pytest.mark.slow
def test_a_file_that_cannot_be_written_exits_2(city: Path, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    target = tmp_path / "a-file" / "resident.json"
    proc = sc("file", "export", PAYER, "--out", target, "--db", city)
    assert (proc.returncode, proc.stderr) == (2, f"error: Not a directory: {target}\n")


def test_an_invalid_policy_file_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad\nversion: 1\n", encoding="utf-8")
    proc = sc("policy", "check", bad)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: {bad}:1:1: name: is required")


@pytest.mark.parametrize("level", ["LOUD", "info", ""])
def test_a_log_level_is_read_as_a_setting(tmp_path: Path, level: str) -> None:
    """SOCIALCREDIT_LOG went to logging as typed: 'LOUD', 'info' and an empty variable each ended every command
    with a stack trace (ValueError: Unknown level), exit 1. A level is taken in any case, empty is unset."""
    db = tmp_path / "none.duckdb"
    proc = sc("runs", "--db", db, env={"SOCIALCREDIT_LOG": level})
    said = (
        "error: SOCIALCREDIT_LOG='LOUD' is not a log level: give DEBUG, INFO, WARNING or ERROR\n"
        if level == "LOUD"
        else f"error: no store at {db}; create one with `socialcredit init --db {db}`\n"  # the command ran
    )
    assert (proc.returncode, proc.stderr) == (2, said)


def test_a_typo_in_a_policy_file_names_its_line_and_column(tmp_path: Path) -> None:
    """A quote left open is noticed lines later: the message names that line and column, and the line where the
    broken rule starts (it named the later line alone)."""
    from socialcredit.policy import builtin_policy

    text = builtin_policy("beijing").text
    rule = text[: text.index("  - id: tax.paid\n")].count("\n") + 1
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("when: \"status == 'paid'\"", "when: \"status == 'paid'", 1), encoding="utf-8")
    proc = sc("policy", "check", bad)
    assert (proc.returncode, proc.stderr) == (
        2,
        f"error: {bad}:{rule + 11}: not valid YAML at column 12: expected <block end>, but found '<scalar>' (while "
        f"parsing a block mapping that starts on line {rule})\n",
    )


def test_a_policy_file_with_a_date_that_does_not_exist_exits_2(tmp_path: Path) -> None:
    # 2027 is not a leap year: YAML reads the date, Python cannot build it (it was an internal error, exit 3)
    from socialcredit.policy import builtin_policy

    bad = tmp_path / "bad.yaml"
    text = builtin_policy("sesame").text.replace("mandatory_from: 2027-07-01", "mandatory_from: 2027-02-29")
    bad.write_text(text, encoding="utf-8")
    line = text[: text.index("mandatory_from")].count("\n") + 1
    proc = sc("policy", "check", bad)
    assert (proc.returncode, proc.stderr) == (
        2,
        f"error: {bad}:{line}: not valid YAML: 2027-02-29 is not a date (day is out of range for month)\n",
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("command", "what"), [(("serve",), "the service"), (("matchmaking", "serve", "--key", "sc_0_x"), "the site")]
)
def test_serve_on_a_taken_port_exits_2(city: Path, tmp_path: Path, command: tuple[str, ...], what: str) -> None:
    db = city if command == ("serve",) else tmp_path / "match.duckdb"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = sc(*command, "--port", str(port), "--db", db)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.rstrip("\n").splitlines()
    assert lines[-2].endswith(
        f"error while attempting to bind on address ('127.0.0.1', {port}): address already in use"
    )
    assert last_error(proc) == f"error: {what} did not start on http://127.0.0.1:{port}; the line above says why"


# --- 3: internal error --------------------------------------------------------------------------------------------


@pytest.fixture
def broken_runs(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A fault put into the registry of the subprocess (sitecustomize runs at its start): `runs` then crashes."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import socialcredit.registry.scoring.runs as runs\n\n\n"
        "def list_runs(*_args, **_kwargs):\n"
        "    raise RuntimeError('the fault\\nput in by the test')\n\n\n"
        "runs.list_runs = list_runs\n",
        encoding="utf-8",
    )
    yield {"PYTHONPATH": os.pathsep.join([str(hook), os.environ.get("PYTHONPATH", "")])}


@pytest.mark.slow
def test_an_unexpected_exception_is_one_line_and_exits_3(city: Path, broken_runs: dict[str, str]) -> None:
    proc = sc("runs", "--db", city, env=broken_runs)
    assert proc.returncode == 3, proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr
    found = re.fullmatch(
        r"internal error: RuntimeError: the fault\. Details were written to (\S+); please report it\.\n", proc.stderr
    )
    assert found is not None, proc.stderr
    crash = Path(found.group(1))
    try:
        assert "Traceback" in crash.read_text(encoding="utf-8")
        assert "put in by the test" in crash.read_text(encoding="utf-8")
    finally:
        crash.unlink()


# --- 0: done, and answers that are not failures -------------------------------------------------------------------


@pytest.mark.slow
def test_a_refused_decision_is_an_answer_and_exits_0(city: Path) -> None:
    proc = sc("decide", DEFAULTER, "high_speed_rail", "--purpose", "ticket purchase", "--db", city)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout.startswith(f"high_speed_rail for {DEFAULTER}: REFUSED")
    granted = sc("decide", PAYER, "high_speed_rail", "--purpose", "ticket purchase", "--json", "--db", city)
    assert (granted.returncode, json.loads(granted.stdout)["granted"]) == (0, True)


@pytest.mark.slow
def test_a_look_up_that_finds_no_one_exits_0(city: Path) -> None:
    proc = sc("lookup", "李四", "--db", city)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "李四: not on any public list.\n", "")


# --- the codes are documented where users look ---------------------------------------------------------------------


def test_the_codes_are_in_the_help_and_the_readme() -> None:
    shown = sc("--help")
    assert shown.returncode == 0
    help_text = " ".join(shown.stdout.split())
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Exit codes") :]
    for line in EXIT_CODES.splitlines()[1:6]:
        code = line.split()[0]
        assert " ".join(line.split()) in help_text, line
        assert f"| {code} |" in section, code


def test_a_count_past_its_bound_is_a_usage_error(tmp_path: Path) -> None:
    # past 64 bits it reached the store's LIMIT and was an internal error (exit 3, a crash log)
    proc = sc("list", "blacklist", "--limit", "99999999999999999999", "--db", tmp_path / "s.duckdb")
    assert (proc.returncode, last_error(proc), proc.stdout) == (
        2,
        "Error: Invalid value for '--limit': Input should be less than or equal to 1000000",
        "",
    )


def test_show_of_a_policy_not_scored_is_refused(city: Path) -> None:
    """`show --policy sesame` of a store that scored beijing alone: refused, naming the policies scored (it showed the
    file without a score, every record "not counting")."""
    proc = sc("show", DEFAULTER, "--policy", "sesame", "--db", city)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert last_error(proc) == "error: no score run of policy 'sesame'; the policies scored are beijing"
    shown = sc("show", DEFAULTER, "--policy", "beijing", "--db", city)
    assert shown.returncode == 0 and "beijing 2026.2 run 2 as of 2026-11-01" in shown.stdout


def test_show_of_a_policy_scored_by_a_what_if_alone_says_so(copy_of_city: Path) -> None:
    """`score` had just said "Run 3: sesame …" (a what-if), and `show --policy sesame` answered "no score run of
    policy 'sesame'": it now says the policy's runs are what-ifs, as a decision does."""
    today = {"SOCIALCREDIT_TODAY": "2026-11-02"}
    run = sc("score", "--policy", "sesame", "--as-of", "2027-01-01", "--db", copy_of_city, env=today)
    assert run.returncode == 0 and run.stdout.startswith("Run 3: sesame 2026.1 as of 2027-01-01"), run.stderr
    proc = sc("show", DEFAULTER, "--policy", "sesame", "--db", copy_of_city, env=today)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert last_error(proc) == (
        "error: no run in force for policy sesame: its runs are what-ifs or reruns (run 3: a what-if as of "
        "2027-01-01), which no decision, list or listing stands on; score it as of the registry's today or before: "
        "`socialcredit score --policy sesame`"
    )


@pytest.mark.parametrize("name", ["[/]x.duckdb", "[red]x[/].duckdb"])
def test_a_store_named_like_markup_is_named_as_written(tmp_path: Path, name: str) -> None:
    # the line that says what is served printed the store's name as Rich markup: "[/]" ended `serve` with an
    # internal error (MarkupError, exit 3), "[red]x[/]" printed "x"
    db = tmp_path / name  # "[/]x.duckdb" is a file "]x.duckdb" in a folder "["
    db.parent.mkdir(exist_ok=True)
    missing = sc("serve", "--db", db, "--port", str(free_port()))
    # a store that is not there is not said to be served ("Serving … on http://…" came first)
    assert (missing.returncode, missing.stderr) == (
        2,
        f"error: no store at {db}; create one with `socialcredit init --db {db}`\n",
    )
    assert sc("init", "--db", db).returncode == 0
    with socket.socket() as taken:  # the store opens, then the service cannot start: it ends at once
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = sc("serve", "--db", db, "--port", str(port))
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"Serving {db} on http://127.0.0.1:{port} (docs at /docs).\n")


@pytest.mark.parametrize(
    "args", [("file", "export", "110105199001011234"), ("notifications", "110105199001011234"), ("lookup", "李四")]
)
def test_a_language_other_than_en_or_zh_is_a_usage_error(tmp_path: Path, args: tuple[str, ...]) -> None:
    # these printed English for --lang fr and exited 0, where every other command refuses it
    done = sc(*args, "--lang", "fr", "--db", tmp_path / "none.duckdb")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "'fr': give en or zh" in done.stderr
    assert not (tmp_path / "none.duckdb").exists()


def test_the_matchmaking_site_names_a_registry_url_like_markup_as_written(tmp_path: Path) -> None:
    # "[/x]" in the registry's address ended `matchmaking serve` in an internal error (MarkupError, exit 3)
    url = "http://127.0.0.1:9/[/x]"
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}
    env["SOCIALCREDIT_MATCHMAKING_KEY"] = "sc_x_y"
    args = [CLI, "matchmaking", "serve", "--registry-url", url, "--db", str(tmp_path / "m.duckdb")]
    proc = subprocess.Popen(
        [*args, "--port", str(free_port())], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        assert first.startswith("Matchmaking site on http://127.0.0.1:") and first.endswith(f"registry at {url}.\n")
        assert proc.poll() is None  # serving
    finally:
        proc.terminate()
        proc.communicate(timeout=30)  # and its pipe closed


def test_a_version_below_the_one_in_force_may_not_bring_consent_data_in_sooner(copy_of_city: Path) -> None:
    """Only a version newer than the one in force was checked for notice: sesame 2025.1 (below the shipped 2026.1,
    the store having published no sesame) counting commercial data for everyone from today was published by
    `score --policy FILE` and put in force, and so was one published before the check, run as `sesame@VERSION`."""
    from socialcredit.policy import builtin_policy, parse_policy
    from socialcredit.store import open_store

    today = {"SOCIALCREDIT_TODAY": "2026-12-06"}
    old = builtin_policy("sesame").text.replace('version: "2026.1"', 'version: "2025.1"', 1)
    old = old.replace("mandatory_from: 2027-07-01", "mandatory_from: 2026-12-06", 1)
    path = copy_of_city.parent / "sesame-2025.1.yaml"
    path.write_text(old, encoding="utf-8")
    refusal = (
        "consent: commercial data would count for everyone from 2026-12-06, without consent and sooner than under "
        "version 2026.1 in force (from 2027-07-01), with less than the 60 days' notice the policy publishes "
        "(consent.notice_days): keep commercial in consent.categories and give consent.mandatory_from a date on or "
        "after 2027-02-04"
    )
    proc = sc("score", "--policy", path, "--as-of", "2026-11-01", "--db", copy_of_city, env=today)
    assert (proc.returncode, proc.stdout, last_error(proc)) == (2, "", f"error: {path}:30:3: {refusal}")
    store = open_store(copy_of_city, key="")
    try:  # a store that published it before versions below the one in force were checked
        assert store.one("SELECT count(*) FROM policies WHERE policy_id = 'sesame'") == 0
        store.execute(
            "INSERT INTO policies VALUES ('sesame', '2025.1', ?, ?, now())", [parse_policy(old, "x").sha256, old]
        )
    finally:
        store.close()
    proc = sc("score", "--policy", "sesame@2025.1", "--as-of", "2026-11-01", "--db", copy_of_city, env=today)
    assert (proc.returncode, proc.stdout, last_error(proc)) == (2, "", f"error: sesame@2025.1:30:3: {refusal}")
    store = open_store(copy_of_city, key="")
    try:
        assert store.one("SELECT string_agg(policy_id, ',' ORDER BY run_id) FROM score_runs") == "beijing,beijing"
    finally:
        store.close()
