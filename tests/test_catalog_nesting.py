"""A candidate catalog's YAML is counted over the parser's events before a node is built, as a policy's is: nesting,
aliases and nodes have their limits, named in the refusal. A catalog nested 1000 deep was refused as "invalid
catalog: not valid YAML: maximum recursion depth exceeded" (422 over HTTP), naming no limit."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from socialcredit.catalog import parse_catalog, shipped_catalog_text
from socialcredit.errors import LimitError

CLI = shutil.which("socialcredit", path=str(Path(sys.executable).parent)) or "socialcredit"
DEEP = "professions: " + "[" * 1000 + "]" * 1000 + "\n"


def test_a_catalog_nested_deeper_than_the_limit_is_refused_naming_it() -> None:
    with pytest.raises(LimitError) as exc:
        parse_catalog(DEEP, "deep.yaml")
    assert str(exc.value) == "deep.yaml:1: the YAML nests deeper than 32 levels"
    assert (exc.value.code, exc.value.limit) == ("too_deep", "SOCIALCREDIT_MAX_NESTING")


def test_a_catalog_repeating_an_alias_past_the_node_limit_is_refused_naming_it() -> None:
    lines = ["professions: [a]", "x: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)]
    with pytest.raises(LimitError) as exc:
        parse_catalog("\n".join(lines) + "\n", "laughs.yaml")
    # a0 is 11 nodes, each next one 1 + 10 times the one before: a4 (line 6) is 111 111
    assert (exc.value.code, exc.value.limit) == ("too_many_nodes", "SOCIALCREDIT_MAX_YAML_NODES")
    assert str(exc.value) == (
        "laughs.yaml:6: the YAML has more than 100000 values (nodes), aliases counted as what they repeat"
    )


def test_the_shipped_catalog_is_within_the_limits() -> None:
    assert "court_judgment" in parse_catalog(shipped_catalog_text(), "catalog.yaml").record_types


def test_catalog_check_refuses_it_with_exit_code_2(tmp_path: Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text(DEEP, "utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}
    env |= {"COLUMNS": "300", "SOCIALCREDIT_DB": str(tmp_path / "s.duckdb")}
    subprocess.run([CLI, "init"], capture_output=True, env=env, check=True, timeout=120)
    done = subprocess.run(
        [CLI, "catalog", "check", str(deep)], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1] == f"error: {deep}:1: the YAML nests deeper than 32 levels"
