"""A policy's problems name the column beside the line (``FILE:LINE:COLUMN: …``, as YAML marks them): `policy check`
(the installed console script, in a subprocess) and the API's answer, whose ``located`` objects give both as numbers.
They named the line alone: a key in a flow mapping (``{id: civic, max: .inf}``) was one of many on its line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api_helpers import auth, serve
from socialcredit.api.app import create_app
from socialcredit.registry.access.parties import issue_key
from socialcredit.store import open_store

CLI = shutil.which("socialcredit", path=str(Path(sys.executable).parent)) or "socialcredit"

# Column 5 is each rule's keys; `max` of the dimension is at column 44 of line 8 (a character a column).
POLICY = """\
id: cols
version: "1"
name: {zh: 列, en: columns}
scale: {base: 100, min: 0, max: 200}
tiers:
  - {id: low, min: 0}
dimensions:
  - {id: civic, name: {zh: 公益, en: civic}, max: .inf}
rules:
  - id: tax.paid
    record_type: tax_payment
    dimension: civic
    pointz: 1
    reason: {code: TAX_PAID, zh: 按时纳税, en: taxes paid}
"""
PROBLEMS = [
    ("cols.yaml", 8, 44, "dimension civic: max: must be a finite number, not .inf"),
    ("cols.yaml", 10, 5, "rule tax.paid: points: is required"),
    ("cols.yaml", 13, 5, "rule tax.paid: pointz: is not a key of the policy language (see docs/policy-language.md)"),
]


def test_policy_check_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "cols.yaml"
    path.write_text(POLICY, encoding="utf-8")
    env = os.environ | {"COLUMNS": "200"}
    proc = subprocess.run(
        [CLI, "policy", "check", str(path), "--db", str(tmp_path / "none.duckdb")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    lines = [f"{tmp_path}/{file}:{line}:{column}: {text}" for file, line, column, text in PROBLEMS]
    assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", "error: " + "\n".join(lines) + "\n")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[httpx.Client, str]]:
    store = open_store(tmp_path / "store.duckdb", create=True)
    token = issue_key(store, "operator", "registry operations").token
    app = create_app(tmp_path / "store.duckdb", store=store)
    with serve(app) as c:
        yield c, token
    store.close()


def test_publishing_an_invalid_policy_answers_each_problem_with_its_line_and_column(
    client: tuple[httpx.Client, str],
) -> None:
    c, token = client
    answer = c.post("/v1/policies", content=POLICY.encode(), headers=auth(token) | {"Content-Type": "application/yaml"})
    assert answer.status_code == 422
    body = answer.json()
    texts = [f"request body:{line}:{column}: {text}" for _, line, column, text in PROBLEMS]
    assert body["problems"] == texts
    assert body["located"] == [
        {"problem": text, "line": line, "column": column}
        for text, (_, line, column, _) in zip(texts, PROBLEMS, strict=True)
    ]
    broken = c.post(
        "/v1/policies",
        content=b"id: x\n  version: 1\n",
        headers=auth(token) | {"Content-Type": "application/yaml"},
    )
    assert broken.status_code == 422
    assert broken.json()["located"] == [{"problem": broken.json()["problems"][0], "line": 2, "column": 10}]


def test_a_character_yaml_refuses_and_a_document_not_a_mapping_are_placed_where_they_are() -> None:
    """A character YAML does not take had no place in ``located``; a list for a document was put at 1:1 wherever
    it started."""
    from socialcredit.errors import PolicyError
    from socialcredit.policy import parse_policy

    with pytest.raises(PolicyError) as bell:
        parse_policy('id: x\nversion: "1"\nname: a\x07b\n', "p.yaml")
    assert bell.value.located() == [
        {
            "problem": "p.yaml:3: not valid YAML: the character '\\x07' is not allowed in a YAML file: remove it",
            "line": 3,
            "column": 8,
        }
    ]
    with pytest.raises(PolicyError) as listed:
        parse_policy("\n\n- a\n- b\n", "p.yaml")
    assert listed.value.problems == ["p.yaml:3:1: a policy must be a mapping with id, version, scale, tiers, ..."]
