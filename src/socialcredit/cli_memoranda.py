"""Command-line face of the joint-punishment memoranda (docs/organisations.md): check one against its policy (with
the linter's SC108), publish it into the store, show the published ones of a policy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from socialcredit.cli_help import SCORING, DbOpt, JsonOpt
from socialcredit.opening import open_store
from socialcredit.settings import DEFAULT_DB

if TYPE_CHECKING:
    from socialcredit.policy.memoranda import LoadedMemorandum

__all__ = ["memorandum_app"]

out = Console(soft_wrap=True, markup=False, highlight=False)
err = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)

memorandum_app = typer.Typer(
    help="Joint-punishment memoranda: check one against its policy, publish it, show the published ones.",
    no_args_is_help=True,
    rich_help_panel=SCORING,
)

MemoArg = Annotated[str, typer.Argument(help="A memorandum file, or a shipped memorandum's id.", metavar="MEMORANDUM")]


def _load(ref: str, policy_file: Path | None) -> LoadedMemorandum:
    from socialcredit.policy import load_policy
    from socialcredit.policy.memoranda import builtin_memorandum, parse_memorandum

    policy = load_policy(policy_file) if policy_file is not None else None
    if ref.endswith((".yaml", ".yml")) or Path(ref).is_file():
        path = Path(ref)
        return parse_memorandum(path.read_text("utf-8"), str(path), policy)
    return builtin_memorandum(ref)


@memorandum_app.command("check")
def check(
    memorandum: MemoArg,
    policy: Annotated[
        Path | None, typer.Option(help="The policy file it applies to (default: the shipped policy it names).")
    ] = None,
    profile: Annotated[str, typer.Option(help="Legal profile of the lint: cn, eu or us.")] = "cn",
    as_json: JsonOpt = False,
) -> None:
    """Validate a memorandum against its policy and lint its measures (SC108); exit 1 on a lint error."""
    from socialcredit.policy import builtin_policy, load_policy
    from socialcredit.policy.lint import PROFILES, lint_measures

    if profile not in PROFILES:
        raise typer.BadParameter(
            f"{profile!r} is not a profile; profiles: {', '.join(PROFILES)}", param_hint="--profile"
        )
    loaded = _load(memorandum, policy)
    m = loaded.memorandum
    pol = load_policy(policy) if policy is not None else builtin_policy(m.policy)
    findings = lint_measures(pol, loaded, profile)
    measures = len({x.number for lm in m.lists for x in lm.measures})  # a measure on several lists counts once
    if as_json:
        out.print(
            json.dumps(
                {
                    "memorandum": m.id,
                    "version": m.version,
                    "measures": measures,
                    "findings": [f.as_dict() for f in findings],
                },
                ensure_ascii=False,
            )
        )
    else:
        for f in findings:
            out.print(str(f))
        out.print(
            f"{m.id} {m.version} ({m.document_number}): {measures} measures on {len(m.lists)} "
            f"list{'s' if len(m.lists) != 1 else ''} of policy {m.policy}, "
            f"{len(findings)} finding{'s' if len(findings) != 1 else ''} under profile {profile}."
        )
    if any(f.level == "error" for f in findings):
        err.print(f"error: {m.id} {m.version}: measures that do not follow from their cause under profile {profile}")
        raise typer.Exit(1)


@memorandum_app.command("publish")
def publish(memorandum: MemoArg, db: DbOpt = DEFAULT_DB) -> None:
    """Publish a memorandum version into the store (validated against the policy's latest published version)."""
    import yaml

    from socialcredit.errors import SocialCreditError
    from socialcredit.policy.memoranda import parse_memorandum
    from socialcredit.registry.scoring.memoranda import publish_memorandum
    from socialcredit.registry.scoring.policies import resolve_policy

    store = open_store(db)
    try:
        if Path(memorandum).is_file():
            text = Path(memorandum).read_text("utf-8")
            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError:
                data = None
            named = data.get("policy") if isinstance(data, dict) else None
            if not isinstance(named, str):
                parse_memorandum(text, memorandum)  # raises the located problems
                raise SocialCreditError(f"{memorandum}: policy: is required")
            policy = resolve_policy(store, named)
            loaded = parse_memorandum(text, memorandum, policy)
        else:
            loaded = _load(memorandum, None)
            policy = resolve_policy(store, loaded.memorandum.policy)
        new = publish_memorandum(store, loaded)
    finally:
        store.close()
    m = loaded.memorandum
    said = "Published" if new else "Already published:"
    out.print(f"{said} memorandum {m.id} version {m.version} ({m.document_number}) for policy {policy.policy.id}.")


@memorandum_app.command("show")
def show(
    policy: Annotated[str, typer.Argument(help="The policy id.", metavar="POLICY")],
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """The memoranda published for a policy, with their measures."""
    from socialcredit.registry.scoring.memoranda import memoranda_for

    store = open_store(db)
    try:
        memos = memoranda_for(store, policy)
    finally:
        store.close()
    rows = [
        {
            "memorandum": x.memorandum.id,
            "version": x.memorandum.version,
            "document_number": x.memorandum.document_number,
            "list": lm.list,
            "measure": m.number,
            "agency": m.agency,
            "service": m.service,
            "text": m.text.en,
        }
        for x in memos
        for lm in x.memorandum.lists
        for m in lm.measures
    ]
    if as_json:
        out.print(json.dumps(rows, ensure_ascii=False))
        return
    if not rows:
        out.print(f"No memorandum is published for policy {policy}.")
    for r in rows:
        out.print(
            f"{r['document_number']} measure {r['measure']}: {r['agency']} refuses {r['service']} to the "
            f"{r['list']}: {r['text']}"
        )
