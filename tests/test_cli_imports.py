"""What a command imports: the console's commands run as the installed console script runs them (``socialcredit.cli``'s
``main`` in a fresh interpreter, on the sources under test), with a hook at exit that writes down whether pandas and
numpy were imported. DuckDB imports pandas (and numpy) for the first statement executed with parameters; the console
refuses it that import (opening.refuse_pandas_to_duckdb), and a command that uses pandas itself still gets it."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import socialcredit
from cli_helpers import DEFAULTER, ONE_DEFAULTER, scored_city
from socialcredit.clock import TODAY_ENV

SOURCES = str(Path(socialcredit.__file__).parent.parent)
WATCHED = ("pandas", "numpy", "pyarrow", "duckdb", "sqlglot", "stdnum", "ssl", "cryptography")


def driver(watched: tuple[str, ...] = WATCHED) -> str:
    """`socialcredit ARGS` as the console script runs it (its main(), exit code and all); at exit, whether each of
    ``watched`` was imported is written as JSON to the file named first."""
    return f"""import atexit, json, sys
out = sys.argv.pop(1)
def written():
    with open(out, "w") as fh:
        json.dump({{m: m in sys.modules for m in {watched!r}}}, fh)
atexit.register(written)
sys.argv[0] = "socialcredit"
from socialcredit.cli import main
main()
"""


DRIVER = driver()


def run(tmp_path: Path, *args: str | Path) -> tuple[subprocess.CompletedProcess[str], dict[str, bool]]:
    """``socialcredit ARGS`` run by :data:`DRIVER`, the registry's today 2026-12-01: the process and the modules."""
    out = tmp_path / "modules.json"
    out.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}
    env |= {"PYTHONPATH": SOURCES, "COLUMNS": "200", TODAY_ENV: "2026-12-01"}
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, str(out), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    return proc, json.loads(out.read_text("utf-8"))


# A command on a store: DuckDB and sqlglot, no pandas, numpy or pyarrow; no stdnum (its package imports ssl, pydoc
# and pkgutil: the identifiers read its region table and compute its check characters without importing it), and
# cryptography only where a key is made or used (a score run signs an audit checkpoint).
NEITHER = {
    "pandas": False,
    "numpy": False,
    "pyarrow": False,
    "duckdb": True,
    "sqlglot": True,
    "stdnum": False,
    "ssl": False,
    "cryptography": False,
}
SIGNED = NEITHER | {"cryptography": True}


def test_help_and_a_usage_error_import_no_store() -> None:
    said = {
        ("--help",): (0, "socialcredit: an accountable credit registry.", ""),
        ("due", "run", "--bogus"): (
            2,
            "",
            "Usage: socialcredit due run [OPTIONS]\nTry 'socialcredit due run --help' for help.\n\n"
            "Error: No such option: --bogus\n",
        ),
    }
    for args, (code, out, err) in said.items():
        with tempfile.TemporaryDirectory() as folder:
            proc, modules = run(Path(folder), *args)
        assert proc.returncode == code, proc.stdout + proc.stderr
        assert out in proc.stdout
        assert proc.stderr == err
        assert modules == dict.fromkeys(WATCHED, False), args


def test_commands_on_a_store_import_neither_pandas_nor_numpy(tmp_path: Path) -> None:
    made, modules = run(tmp_path, "init", "--db", tmp_path / "new.duckdb")
    assert made.returncode == 0, made.stderr
    assert modules == NEITHER
    # the region keys read the limits' bounds (registry.records.limits), whose file readers import numpy and pyarrow
    keys, modules = run(tmp_path, "region", "keys", "--db", tmp_path / "new.duckdb")
    assert (keys.returncode, keys.stdout) == (
        0,
        "No keys are trusted yet: `socialcredit region trust CODE NAME --key KEY`.\n",
    )
    assert modules == SIGNED  # the regions' commands read and check their bundles' keys
    db = scored_city(tmp_path, ONE_DEFAULTER, as_of="2026-07-01", today="2026-07-01")
    due, modules = run(tmp_path, "due", "run", "--db", db)
    assert due.returncode == 0, due.stderr
    assert due.stdout == (
        "0 overdue disputes resolved for the resident; 0 residents notified of mandatory enrollment; 0 records "
        "purged.\n1 listing took effect at the end of its notice period.\n"
    )
    assert modules == NEITHER
    notices, modules = run(tmp_path, "notices", "--json", "--db", db)
    assert notices.returncode == 0, notices.stderr
    listed = json.loads(notices.stdout)
    assert [(n["list_id"], n["record_id"], n["effective_on"], n["status"]) for n in listed] == [
        ("blacklist", "C-1", "2026-08-30", "effective")
    ]
    assert modules == NEITHER
    scored, modules = run(tmp_path, "score", "--policy", "beijing", "--as-of", "2026-11-01", "--db", db)
    assert scored.returncode == 0, scored.stderr
    assert "2 subjects scored" in scored.stdout
    assert modules == SIGNED  # a run signs an audit checkpoint
    # a resident's file reads the live views (registry.decisions.live): pyarrow is imported only where a score
    # histogram is rebuilt
    shown, modules = run(tmp_path, "show", DEFAULTER, "--db", db)
    assert shown.returncode == 0, shown.stderr
    assert "王伟" in shown.stdout
    assert modules == NEITHER


def test_a_command_that_prints_no_help_imports_no_help_module(tmp_path: Path) -> None:
    """Typer's help module (with Rich's Markdown, a tenth of a second of every start) is imported as a help is first
    printed, with this command line's folding of its tables put in then (tests/test_help_width.py reads the helps); a
    command that prints none never imports it (cli_help imported it, and replaced its functions, at every start)."""
    with_help = driver((*WATCHED, "typer.rich_utils"))
    out = tmp_path / "modules.json"
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}
    env |= {"PYTHONPATH": SOURCES, "COLUMNS": "60", TODAY_ENV: "2026-12-01"}
    said = {}
    for args in (("init", "--db", str(tmp_path / "new.duckdb")), ("score", "--help")):
        proc = subprocess.run(
            [sys.executable, "-c", with_help, str(out), *args], capture_output=True, text=True, env=env, check=False
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        said[args[-1]] = (json.loads(out.read_text("utf-8"))["typer.rich_utils"], proc.stdout)
    assert said[str(tmp_path / "new.duckdb")][0] is False
    helped, text = said["--help"]
    assert helped is True
    # the folding is in: at 60 columns score's help cuts no word with an ellipsis (Typer's own tables cut several:
    # "--increment…", "SOCIALCREDI…"; its text's own "spark://…" is no cut word)
    assert "--increment" in text and "spark://…" in text and re.search(r"\w…", text) is None, text


def test_a_scorecard_fitted_by_the_console_imports_pandas_itself(tmp_path: Path) -> None:
    rng = random.Random(7)
    rows = ["income,outcome"]
    for _ in range(600):
        income = rng.randrange(1_000, 20_000)
        rows.append(f"{income},{'bad' if rng.random() < (0.5 if income < 5_000 else 0.1) else 'good'}")
    loans = tmp_path / "loans.csv"
    loans.write_text("\n".join(rows) + "\n", encoding="utf-8")
    report = tmp_path / "report.json"
    fitted, modules = run(
        tmp_path, "scorecard", "fit", loans, "--target", "outcome", "--event", "bad", "--report", report
    )
    assert fitted.returncode == 0, fitted.stdout + fitted.stderr
    assert [f["column"] for f in json.loads(report.read_text("utf-8"))["features"]] == ["income"]
    assert (modules["pandas"], modules["numpy"]) == (True, True)


PANDAS_AFTER = """import sys
from pathlib import Path
from socialcredit.opening import refuse_pandas_to_duckdb
from socialcredit.store import open_store
refuse_pandas_to_duckdb()
store = open_store(Path(sys.argv[1]), create=True)
print(store.one("SELECT ? + 1", [41]), "pandas" in sys.modules, "numpy" in sys.modules)
import pandas as pd
frame = pd.DataFrame({"x": [1, 2, 3]})
summed = store.con.execute("SELECT sum(x) FROM frame").fetchone()[0]
print(summed, store.one("SELECT ? IS NULL", [pd.NA]), store.execute("SELECT 7 AS a").df().a[0])
"""


def script(code: str, tmp_path: Path) -> str:
    """What ``code`` prints, run in a fresh interpreter on the sources under test with a new store's path as its
    argument; it must exit 0."""
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}
    env["PYTHONPATH"] = SOURCES
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "s.duckdb")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_duckdb_uses_pandas_once_code_imports_it_under_the_refusal(tmp_path: Path) -> None:
    assert script(PANDAS_AFTER, tmp_path) == "42 False False\n6 True 7\n"


MANY_VALUES = """import sys
from pathlib import Path
from socialcredit.opening import refuse_pandas_to_duckdb
from socialcredit.store import open_store
refuse_pandas_to_duckdb()
store = open_store(Path(sys.argv[1]), create=True)
print(store.one("SELECT len(?)", [list(range(1000))]), "pandas" in sys.modules)
store.execute("CREATE TABLE t (a INTEGER, b INTEGER)")
store.executemany("INSERT INTO t VALUES (?, ?)", [(i, i) for i in range(500)])
print(store.one("SELECT count(*) FROM t"), "pandas" in sys.modules)
store.executemany("INSERT INTO t VALUES (?, ?)", [(i, i) for i in range(501)])
print(store.one("SELECT count(*) FROM t"), "pandas" in sys.modules)
"""


def test_a_statement_of_more_values_than_the_refusal_takes_runs_with_pandas(tmp_path: Path) -> None:
    """DuckDB asks for pandas again at every value it binds while the import fails (some 10-25 µs each): a statement
    of up to 1,000 values runs refused, one of more imports pandas once rather than retry at every value."""
    assert script(MANY_VALUES, tmp_path) == "1000 False\n500 False\n1001 True\n"


GROUPS = (
    "socialcredit.cli_catalog",
    "socialcredit.cli_due_process",
    "socialcredit.cli_freeze",
    "socialcredit.cli_lab",
    "socialcredit.cli_memoranda",
    "socialcredit.cli_scorecard",
    "socialcredit.matchmaking.cli",
    "socialcredit.regions.cli",
)


def test_a_command_imports_the_module_of_its_own_group_alone(tmp_path: Path) -> None:
    """A command line imports the module of the command group it names, and no other group's; the root's help (and a
    name no command has, whose error suggests the commands like it) imports them all. A help or a usage error reads no
    setting: it builds no model of the settings (imported at the first get_settings())."""
    watched = (*GROUPS, "socialcredit.settings_model")
    groups = driver(watched)
    out = tmp_path / "modules.json"
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}
    env |= {"PYTHONPATH": SOURCES, "COLUMNS": "200", TODAY_ENV: "2026-12-01"}
    imported = {}
    lines = {
        "init": (0, "init", "--db", str(tmp_path / "new.duckdb")),
        "score --help": (0, "score", "--help"),
        "region --help": (0, "region", "--help"),
        "policy --help": (0, "policy", "--help"),
        "due run --bogus": (2, "due", "run", "--bogus"),
        "--help": (0, "--help"),
        "scor": (2, "scor"),
    }
    for said, (code, *args) in lines.items():
        proc = subprocess.run(
            [sys.executable, "-c", groups, str(out), *args], capture_output=True, text=True, env=env, check=False
        )
        assert proc.returncode == code, proc.stdout + proc.stderr
        modules = json.loads(out.read_text("utf-8"))
        imported[said] = (sorted(m for m in GROUPS if modules[m]), modules["socialcredit.settings_model"])
    assert imported == {
        "init": ([], True),
        "score --help": ([], False),
        "region --help": (["socialcredit.regions.cli"], False),
        "policy --help": (["socialcredit.cli_lab"], False),
        "due run --bogus": (["socialcredit.cli_due_process"], False),
        "--help": (list(GROUPS), False),
        "scor": (list(GROUPS), False),
    }


TREE = """import json, sys
from typer.main import get_command
from socialcredit import cli
for words in sys.argv[1:]:
    cli._registered(words.split())
def tree(command, path):
    panel = getattr(command, "rich_help_panel", None)
    yield [path, panel if isinstance(panel, str) else None, command.help]
    for name in command.list_commands(None) if hasattr(command, "list_commands") else ():
        yield from tree(command.commands[name], f"{path} {name}")
print(json.dumps(list(tree(get_command(cli.app), "socialcredit"))))
"""


def test_the_commands_are_in_one_order_whatever_order_their_groups_are_registered_in() -> None:
    """The help lists the commands in the order they are registered: the groups that command lines named one by one
    in a process (in-process callers of main()) take their places as when all are registered at once."""
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}
    env["PYTHONPATH"] = SOURCES
    trees = []
    for order in ((), ("catalog", "policy check", "link", "due run", "init", "matchmaking")):
        proc = subprocess.run(
            [sys.executable, "-c", TREE, *order], capture_output=True, text=True, env=env, timeout=120, check=False
        )
        assert proc.returncode == 0, proc.stderr
        trees.append(json.loads(proc.stdout))
    at_once, one_by_one = trees
    assert one_by_one == at_once
    names = [path for path, _panel, _help in at_once]
    assert len(names) == 111 and names[:3] == ["socialcredit", "socialcredit demo", "socialcredit ingest"], names
    assert [n for n in names if n.startswith("socialcredit policy ")] == [
        f"socialcredit policy {c}" for c in ("check", "explain", "lint", "impact", "publish", "history", "drift")
    ]
