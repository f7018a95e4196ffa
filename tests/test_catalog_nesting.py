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
    assert str(exc.value) == "deep.yaml:1: the YAML nests deeper than 32 levels (SOCIALCREDIT_MAX_NESTING)"
    assert (exc.value.code, exc.value.limit) == ("too_deep", "SOCIALCREDIT_MAX_NESTING")


def test_a_catalog_repeating_an_alias_past_the_node_limit_is_refused_naming_it() -> None:
    lines = ["professions: [a]", "x: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)]
    with pytest.raises(LimitError) as exc:
        parse_catalog("\n".join(lines) + "\n", "laughs.yaml")
    # a0 is 11 nodes, each next one 1 + 10 times the one before: a4 (line 6) is 111 111
    assert (exc.value.code, exc.value.limit) == ("too_many_nodes", "SOCIALCREDIT_MAX_YAML_NODES")
    assert str(exc.value) == (
        "laughs.yaml:6: the YAML has more than 100000 values (nodes), aliases counted as what they repeat "
        "(SOCIALCREDIT_MAX_YAML_NODES)"
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
    assert (
        done.stderr.strip().splitlines()[-1]
        == f"error: {deep}:1: the YAML nests deeper than 32 levels (SOCIALCREDIT_MAX_NESTING)"
    )


def _aliased_catalog() -> str:
    """The shipped catalog and one record type more whose 101 fields repeat the first's spec: 101 aliases, one more
    than the limit (SOCIALCREDIT_MAX_YAML_ALIASES, 100), as a store published it before aliases were counted."""
    fields = ["      f0: &spec {type: integer, min: 0}"] + [f"      f{i}: *spec" for i in range(1, 61)]
    more = [f"      g{i}: *spec" for i in range(1, 41)]
    kinds = [
        "  aliased_one:\n    name: {zh: 别名一, en: aliased one}\n    category: government\n    subjects: [person]\n"
        "    fields:\n" + "\n".join(fields),
        "  aliased_two:\n    name: {zh: 别名二, en: aliased two}\n    category: government\n    subjects: [person]\n"
        "    fields:\n" + "\n".join(more) + "\n      h: *spec",
    ]
    text = shipped_catalog_text().replace("record_types:\n", "record_types:\n" + "\n".join(kinds) + "\n", 1)
    assert text.count("*spec") == 101
    return text


def test_a_store_whose_published_catalog_is_over_the_alias_limit_still_opens(tmp_path: Path) -> None:
    import duckdb

    from socialcredit.catalog import catalog_sha256

    text = _aliased_catalog()
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}
    env |= {"COLUMNS": "300", "SOCIALCREDIT_DB": str(tmp_path / "s.duckdb")}
    subprocess.run([CLI, "init"], capture_output=True, env=env, check=True, timeout=120)
    con = duckdb.connect(str(tmp_path / "s.duckdb"))
    # published as the program before the YAML limits did: the row as publish_catalog writes it
    con.execute(
        "INSERT INTO catalogs SELECT 2, ?, ?, now(), 'cli', shipped_sha256 FROM catalogs WHERE version = 1",
        [catalog_sha256(text), text],
    )
    con.close()
    done = subprocess.run([CLI, "catalog", "show"], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert text.endswith("\n") and done.stdout == text
    done = subprocess.run(
        [CLI, "catalog", "show", "--format", "json"], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert '"version": 2' in done.stdout and '"aliased_two"' in done.stdout
    # a candidate with the same aliases is still refused, naming the limit
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(text + "# again\n", "utf-8")
    done = subprocess.run(
        [CLI, "catalog", "publish", str(candidate)], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert done.returncode == 2, done.stderr
    line = next(n for n, t in enumerate(text.splitlines(), 1) if t.startswith("      h: *spec"))
    assert (
        done.stderr.strip().splitlines()[-1]
        == f"error: {candidate}:{line}: the YAML uses more than 100 aliases (SOCIALCREDIT_MAX_YAML_ALIASES)"
    )


def test_an_exports_catalog_over_the_alias_limit_is_read(tmp_path: Path) -> None:
    from socialcredit.backends.files import export_catalog

    (tmp_path / "manifest.json").write_text("{}", "utf-8")
    (tmp_path / "catalog.yaml").write_text(_aliased_catalog(), "utf-8")
    catalog = export_catalog(tmp_path)
    assert catalog is not None and len(catalog.record_types["aliased_two"].fields) == 41
    with pytest.raises(LimitError) as exc:
        parse_catalog(_aliased_catalog(), "candidate.yaml")
    assert exc.value.code == "too_many_aliases"
