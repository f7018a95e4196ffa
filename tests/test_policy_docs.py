"""The policy documentation is checked against the code, so it cannot fall behind.

* Every YAML example in docs/policy-language.md is validated according to its first line
  (``# example: full | fragment | rule | condition <ctx> | refused <ctx> | invalid``).
* Every key of the policy models is mentioned in docs/policy-language.md.
* docs/policies/<id>.md documents every rule, list, criterion and service of the shipped policy, and its
  tables state the same numbers as the policy file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from socialcredit.catalog import load_catalog
from socialcredit.errors import ExpressionError, PolicyError
from socialcredit.policy import builtin_policy, expr, parse_policy
from socialcredit.policy.load import record_env, subject_env
from socialcredit.policy.model import (
    Consent,
    Decay,
    Dimension,
    Disputes,
    ListCriterion,
    ListSpec,
    Policy,
    Reason,
    RecordMatch,
    Relation,
    Retention,
    Rule,
    Scale,
    Service,
    SeverityClass,
    Tier,
)

DOCS = Path(__file__).resolve().parent.parent / "docs"
LANGUAGE_DOC = DOCS / "policy-language.md"

# The minimal valid policy that `rule` and `fragment` examples are placed into. Tiers as in Beijing.
SKELETON = """\
id: skeleton
version: "1"
name: {zh: 测试政策, en: test policy}
scale: {base: 1000, min: 0, max: 1300}
tiers:
  - {id: AAA, min: 1050}
  - {id: AA, min: 1030}
  - {id: A, min: 960}
  - {id: B, min: 850}
  - {id: C, min: 600}
  - {id: D, min: 0}
dimensions:
  - {id: financial, name: {zh: 经济信用, en: financial}, min: -600, max: 60}
  - {id: civic, name: {zh: 社会公益, en: civic}, min: -100, max: 60}
rules: []
"""

KINDS = ("full", "fragment", "rule", "condition", "refused", "invalid")
HEADER = re.compile(r"^# example: (?P<kind>[a-z]+)(?: (?P<context>\S+))?\s*$")


@dataclass(frozen=True)
class Block:
    lang: str
    body: str  # without the fences
    line: int  # line of the opening fence in the markdown file


@dataclass(frozen=True)
class Example:
    kind: str
    context: str | None
    body: str
    line: int
    expected: tuple[str, ...] | None = None  # for `invalid`: the problems in the following text block

    @property
    def id(self) -> str:
        return f"{self.kind}{'-' + self.context if self.context else ''}@line{self.line}"


def fenced_blocks(markdown: str) -> list[Block]:
    blocks: list[Block] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\S*)\s*$", lines[i])
        if m is None:
            i += 1
            continue
        start, lang, body = i, m.group(1), []
        i += 1
        while i < len(lines) and lines[i].rstrip() != "```":
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise AssertionError(f"{LANGUAGE_DOC.name}:{start + 1}: code block is not closed")
        blocks.append(Block(lang, "\n".join(body) + "\n", start + 1))
        i += 1
    return blocks


def examples() -> list[Example]:
    blocks = fenced_blocks(LANGUAGE_DOC.read_text("utf-8"))
    out: list[Example] = []
    for n, block in enumerate(blocks):
        if block.lang != "yaml":
            continue
        first = block.body.splitlines()[0] if block.body.strip() else ""
        m = HEADER.match(first)
        assert m is not None and m.group("kind") in KINDS, (
            f"{LANGUAGE_DOC.name}:{block.line}: a yaml block must start with '# example: <kind>' "
            f"(kinds: {', '.join(KINDS)}), not {first!r}"
        )
        kind, context = m.group("kind"), m.group("context")
        expected = None
        if kind == "invalid":
            after = blocks[n + 1] if n + 1 < len(blocks) else None
            assert after is not None and after.lang == "text", (
                f"{LANGUAGE_DOC.name}:{block.line}: an invalid example must be followed by a text block "
                "holding the problems it gives"
            )
            expected = tuple(line for line in after.body.splitlines() if line.strip())
        out.append(Example(kind, context, block.body, block.line, expected))
    return out


EXAMPLES = examples()


def of_kind(*kinds: str) -> list[Any]:
    return [pytest.param(e, id=e.id) for e in EXAMPLES if e.kind in kinds]


def body_lines(example: Example) -> list[str]:
    """The non-empty lines of a condition block, without its header and comments."""
    return [ln.strip() for ln in example.body.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def validate(text: str, origin: str) -> None:
    try:
        parse_policy(text, origin)
    except PolicyError as exc:
        raise AssertionError("the example does not validate:\n" + "\n".join(exc.problems)) from None


def with_rule(rule_text: str) -> str:
    """SKELETON with ``rule_text`` (a rule mapping at column 0) as its only rule."""
    lines = [ln for ln in rule_text.splitlines() if not HEADER.match(ln)]
    while lines and not lines[0].strip():
        lines.pop(0)
    item = ["  - " + lines[0]] + [("    " + ln) if ln.strip() else "" for ln in lines[1:]]
    assert SKELETON.endswith("rules: []\n")
    return SKELETON.removesuffix("rules: []\n") + "rules:\n" + "\n".join(item) + "\n"


def condition_env(context: str | None) -> tuple[dict[str, expr.Var], tuple[str, ...]]:
    catalog = load_catalog()
    assert context, "a condition block needs a context: record:<record_type>, subject or service"
    if context.startswith("record:"):
        record_type = context.removeprefix("record:")
        assert record_type in catalog.record_types, f"unknown record type {record_type!r} in the context"
        return record_env(catalog.record_types[record_type].fields), ()
    beijing = builtin_policy("beijing").policy
    assert context in ("subject", "service"), f"unknown context {context!r}"
    env = subject_env(beijing, catalog, with_lists=context == "service")
    return env, tuple(beijing.tier_ids())


# -- the examples ----------------------------------------------------------------------------------------


def test_the_docs_have_examples_of_every_kind() -> None:
    kinds = {e.kind for e in EXAMPLES}
    assert kinds == set(KINDS)
    contexts = {e.context.split(":")[0] for e in EXAMPLES if e.kind == "condition" and e.context}
    assert contexts == {"record", "subject", "service"}


def test_the_skeleton_is_a_valid_policy() -> None:
    validate(SKELETON, "skeleton.yaml")
    validate(
        with_rule("id: x.y\nrecord_type: volunteering\ndimension: civic\npoints: 1\nreason: {code: X, zh: x, en: x}\n"),
        "skeleton.yaml",
    )


@pytest.mark.parametrize("example", of_kind("full"))
def test_full_example_validates(example: Example) -> None:
    validate(example.body, f"docs-line-{example.line}.yaml")


@pytest.mark.parametrize("example", of_kind("fragment"))
def test_fragment_example_validates_in_the_skeleton(example: Example) -> None:
    fragment = yaml.safe_load(example.body)
    assert isinstance(fragment, dict) and fragment, "a fragment is a mapping of top-level keys"
    unknown = set(fragment) - set(Policy.model_fields)
    assert not unknown, f"a fragment holds only top-level keys, not {sorted(unknown)}"
    merged = {**yaml.safe_load(SKELETON), **fragment}
    validate(yaml.safe_dump(merged, allow_unicode=True, sort_keys=False), f"docs-line-{example.line}.yaml")


@pytest.mark.parametrize("example", of_kind("rule"))
def test_rule_example_validates_in_the_skeleton(example: Example) -> None:
    rule = yaml.safe_load(example.body)
    assert isinstance(rule, dict) and "id" in rule, "a rule example is one rule mapping"
    validate(with_rule(example.body), f"docs-line-{example.line}.yaml")


@pytest.mark.parametrize("example", of_kind("condition"))
def test_condition_examples_parse_and_check(example: Example) -> None:
    env, tiers = condition_env(example.context)
    lines = body_lines(example)
    assert lines, "a condition block holds at least one condition"
    for text in lines:
        try:
            node = expr.check(expr.parse(text), env, text=text, tiers=tiers)
        except ExpressionError as exc:
            raise AssertionError(f"{text!r} is refused in context {example.context}: {exc}") from None
        assert node.type == "boolean"


@pytest.mark.parametrize("example", of_kind("refused"))
def test_refused_examples_are_refused(example: Example) -> None:
    env, tiers = condition_env(example.context)
    lines = body_lines(example)
    assert lines
    for text in lines:
        with pytest.raises(ExpressionError):
            expr.check(expr.parse(text), env, text=text, tiers=tiers)


@pytest.mark.parametrize("example", of_kind("invalid"))
def test_invalid_example_gives_the_documented_problems(example: Example) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(example.body, "example.yaml")
    assert tuple(info.value.problems) == example.expected


# -- every key is documented -----------------------------------------------------------------------------

MODELS: list[type[BaseModel]] = [
    Policy,
    Scale,
    Tier,
    Dimension,
    Decay,
    Reason,
    Rule,
    RecordMatch,
    Relation,
    ListCriterion,
    ListSpec,
    Service,
    Consent,
    SeverityClass,
    Disputes,
    Retention,
]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_key_is_documented(model: type[BaseModel]) -> None:
    text = LANGUAGE_DOC.read_text("utf-8")
    missing = [key for key in model.model_fields if f"`{key}`" not in text]
    assert not missing, f"docs/policy-language.md does not mention these keys of {model.__name__}: {missing}"


def test_every_record_type_of_the_catalog_is_documented() -> None:
    text = LANGUAGE_DOC.read_text("utf-8")
    missing = [rt for rt in load_catalog().record_types if f"`{rt}`" not in text]
    assert not missing, f"docs/policy-language.md does not list these record types: {missing}"


# -- the shipped policies' pages -------------------------------------------------------------------------


def markdown_tables(markdown: str) -> list[list[dict[str, str]]]:
    """Every table as a list of rows, each a mapping from header to cell text."""
    tables: list[list[dict[str, str]]] = []
    lines = markdown.splitlines()

    def cells(line: str) -> list[str]:
        return [c.strip() for c in line.strip().strip("|").split("|")]

    i = 0
    while i + 1 < len(lines):
        if lines[i].startswith("|") and re.match(r"^\|\s*:?-{3,}", lines[i + 1]):
            header = cells(lines[i])
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                row = cells(lines[i])
                assert len(row) == len(header), f"table row has {len(row)} cells, not {len(header)}: {lines[i]}"
                rows.append(dict(zip(header, row, strict=True)))
                i += 1
            tables.append(rows)
        else:
            i += 1
    return tables


def table_with(markdown: str, *columns: str) -> list[dict[str, str]]:
    found = [t for t in markdown_tables(markdown) if t and all(c in t[0] for c in columns)]
    assert len(found) == 1, f"expected one table with the columns {columns}, found {len(found)}"
    return found[0]


def unquote(cell: str) -> str | None:
    cell = cell.strip()
    if cell in ("—", "-", ""):
        return None
    if cell.startswith("`") and cell.endswith("`") and cell.count("`") == 2:
        return cell[1:-1]
    return cell


def number(cell: str) -> float | None:
    value = unquote(cell)
    return None if value is None else float(value.replace("−", "-").replace(",", ""))


def _via_words(via: Relation) -> str:
    """How the policy page writes a relation: via `list` (`criterion`): `role`, `role` (when)."""
    only = f" ({', '.join(f'`{c}`' for c in via.criteria)})" if via.criteria else ""
    return f"via `{via.list}`{only}: " + ", ".join(f"`{r}`" for r in via.roles) + f" ({via.when.replace('_', ' ')})"


def first_code(cell: str) -> str | None:
    m = re.search(r"`([^`]+)`", cell)
    return m.group(1) if m else None


def by_id(rows: list[dict[str, str]], column: str) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for row in rows:
        key = unquote(row[column])
        assert key is not None and key not in out, f"row {key!r} is missing or repeated in the {column} table"
        out[key] = row
    return out


POLICY_IDS = ["beijing", "sesame"]


def policy_page(policy_id: str) -> str:
    return (DOCS / "policies" / f"{policy_id}.md").read_text("utf-8")


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_policy_page_mentions_every_id(policy_id: str) -> None:
    p = builtin_policy(policy_id).policy
    text = policy_page(policy_id)
    ids = [r.id for r in p.rules] + [lst.id for lst in p.lists] + [s.id for s in p.services]
    ids += [c.id for lst in p.lists for c in lst.criteria]
    missing = [i for i in ids if f"`{i}`" not in text]
    assert not missing, f"docs/policies/{policy_id}.md does not mention {missing}"


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_policy_page_rule_table_matches_the_policy(policy_id: str) -> None:
    p = builtin_policy(policy_id).policy
    rows = by_id(table_with(policy_page(policy_id), "Rule", "Record type", "Points"), "Rule")
    assert list(rows) == [r.id for r in p.rules], "the rule table lists the rules in the policy's order"
    for r in p.rules:
        row = rows[r.id]
        documented = {
            "record type": unquote(row["Record type"]),
            "condition": unquote(row["Condition"]),
            "dimension": unquote(row["Dimension"]),
            "points": number(row["Points"]),
            "per": unquote(row["Per"]),
            "half-life": number(row["Half-life (days)"]),
            "window": number(row["Window (days)"]),
            "expiry": number(row["Expiry (days)"]),
            "cap": number(row["Cap"]),
            "professions": None
            if unquote(row["Professions"]) is None
            else [x.strip() for x in row["Professions"].split(",")],
            "severity": unquote(row["Severity"]),
            "reason code": first_code(row["Reason"]),
        }
        actual = {
            "record type": r.record_type,
            "condition": r.when,
            "dimension": r.dimension,
            "points": r.points,
            "per": r.per,
            "half-life": r.decay.half_life_days if r.decay else None,
            "window": r.window_days,
            "expiry": r.expires_after_days,
            "cap": r.cap,
            "professions": r.professions,
            "severity": r.severity,
            "reason code": r.reason.code,
        }
        assert documented == actual, f"rule {r.id}"


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_policy_page_scale_tiers_and_dimensions_match_the_policy(policy_id: str) -> None:
    p = builtin_policy(policy_id).policy
    page = policy_page(policy_id)
    tiers = by_id(table_with(page, "Tier", "From"), "Tier")
    assert {t: number(row["From"]) for t, row in tiers.items()} == {t.id: t.min for t in p.tiers}
    dims = by_id(table_with(page, "Dimension", "Min", "Max"), "Dimension")
    assert {d: (number(row["Min"]), number(row["Max"])) for d, row in dims.items()} == {
        d.id: (d.min, d.max) for d in p.dimensions
    }
    scale = table_with(page, "Base", "Min", "Max")
    assert len(scale) == 1
    assert (number(scale[0]["Base"]), number(scale[0]["Min"]), number(scale[0]["Max"])) == (
        p.scale.base,
        p.scale.min,
        p.scale.max,
    )


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_policy_page_lists_and_services_match_the_policy(policy_id: str) -> None:
    p = builtin_policy(policy_id).policy
    page = policy_page(policy_id)
    rows = table_with(page, "List", "Criterion", "Condition")
    documented = [
        (
            unquote(row["List"]),
            unquote(row["Kind"]),
            unquote(row["Criterion"]),
            unquote(row["Record type"]),
            unquote(row["Condition"]),
            number(row["Within (days)"]),
            first_code(row["Reason"]),
        )
        for row in rows
    ]
    actual = [
        (
            lst.id,
            lst.kind,
            c.id,
            c.record.record_type if c.record else None,
            (c.when if c.record is None else c.record.when) if c.via is None else _via_words(c.via),
            c.record.within_days if c.record else None,
            c.reason.code,
        )
        for lst in p.lists
        for c in lst.criteria
    ]
    assert documented == actual
    services = by_id(table_with(page, "Service", "Granted if"), "Service")
    assert {s: unquote(row["Granted if"]) for s, row in services.items()} == {s.id: s.grant_if for s in p.services}
