"""The policy lab on the command line (docs/policy-lab.md): ``policy impact``, ``policy publish``, ``policy history``,
``policy drift``, and the disparity audit that ``policy lint --db`` prints beside lint's findings. Each command calls
``socialcredit.registry``; a refusal exits 2, an alert or an error finding exits 1."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from socialcredit.cli_help import DbOpt, JsonOpt, LangOpt, as_of_date
from socialcredit.errors import InvalidRequestError
from socialcredit.languages import counted
from socialcredit.opening import open_store
from socialcredit.settings import DEFAULT_DB

if TYPE_CHECKING:
    from socialcredit.store import Store

__all__ = ["disparity_for_lint", "register_lab"]

# Reports name groups (districts, professions), rules and versions from the store as written: "[/b]" is text here,
# never Rich markup (it ended `policy impact` in an internal error).
out = Console(soft_wrap=True, highlight=False, markup=False)
err = Console(stderr=True, soft_wrap=True, highlight=False, markup=False)

FORMATS = ("table", "json", "html")


def register_lab(policy_app: typer.Typer) -> None:
    """Add ``impact``, ``publish``, ``history`` and ``drift`` to the ``policy`` group."""
    policy_app.command("impact")(policy_impact)
    policy_app.command("publish")(policy_publish)
    policy_app.command("history")(policy_history)
    policy_app.command("drift")(policy_drift)


@contextmanager
def _store(db: Path) -> Iterator[Store]:
    store = open_store(db)
    try:
        yield store
    finally:
        store.close()


def _published(store: Store, ref: str) -> Any:
    from socialcredit.registry.scoring.policies import get_policy

    policy_id, _, version = ref.partition("@")
    return get_policy(store, policy_id, version or None)


def policy_impact(
    current: Annotated[str, typer.Argument(help="A published policy: ID@VERSION, or ID for its latest version.")],
    candidate: Annotated[Path, typer.Argument(help="The candidate policy file (YAML).", metavar="CANDIDATE")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="Score both as of this date (default today).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, json or html.")] = "table",
    output: Annotated[Path | None, typer.Option("--output", help="Write the report to this file.")] = None,
    db: DbOpt = DEFAULT_DB,
) -> None:
    """Score a candidate beside a published policy on the same records, without publishing it or writing a run:
    who changes tier, list and service, by group, and the rules that drive it."""
    from socialcredit.policy import load_policy
    from socialcredit.registry.reporting.impact import impact
    from socialcredit.registry.reporting.impact_page import impact_html

    if fmt not in FORMATS:
        raise typer.BadParameter(f"{fmt!r} is not a format; formats: {', '.join(FORMATS)}", param_hint="--format")
    date = as_of_date(as_of)
    with _store(db) as store:
        # validated as `policy check` does, against the store's published catalog: errors name file, line and rule
        loaded = load_policy(candidate, store.catalog)
        report = impact(store, _published(store, current), loaded, date)
    if fmt == "json":
        text = json.dumps(report, ensure_ascii=False, indent=1, default=str)
    elif fmt == "html":
        text = impact_html(report)
    else:
        console = Console(record=True, soft_wrap=True, highlight=False, markup=False, width=120, file=io.StringIO())
        _print_impact(console, report)
        text = console.export_text()
    if output is None:
        out.print(text, markup=False, highlight=False, end="" if text.endswith("\n") else "\n")
    else:
        output.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        err.print(f"Wrote the impact report ({fmt}) to {output}: {_changed(report['changed'], report['subjects'])}.")


def _changed(changed: int, subjects: int) -> str:
    """ "1 of 3 subjects changes", "2 of 3 subjects change", "1 of 1 subject changes"."""
    return f"{changed} of {counted(subjects, 'subject')} change{'s' if changed == 1 else ''}"


def _print_impact(console: Console, r: dict[str, Any]) -> None:
    cur, cand = r["current"], r["candidate"]
    console.print(
        f"Impact of {cand['policy']} {cand['version']} ({cand['origin']}, sha256 {cand['sha256'][:12]}) against "
        f"{cur['policy']} {cur['version']}, as of {r['as_of']} at change {r['watermark']}: "
        f"{_changed(r['changed'], r['subjects'])}.",
        markup=False,
    )
    moved = r["tiers"]["changed"]
    tiers = Table(
        title=f"Tiers: {counted(moved, 'subject')} change{'s' if moved == 1 else ''} tier "
        "(rows: current; columns: candidate)"
    )
    order = r["tiers"]["order"]
    tiers.add_column("from \\ to")
    for t in order:
        tiers.add_column(t, justify="right")
    cells = {(m["from"], m["to"]): m["n"] for m in r["tiers"]["matrix"]}
    for t in order:
        tiers.add_row(t, *[str(cells.get((t, u), 0)) for u in order])
    console.print(tiers)
    lists = Table(title="Lists")
    for c in ("list", "before", "after", "entered", "left", "new cause", "cause ended"):
        lists.add_column(c, justify="left" if c == "list" else "right")
    for x in r["lists"]:
        lists.add_row(
            x["list"], *[str(x[k]) for k in ("before", "after", "entered", "left", "new_cause", "cause_ended")]
        )
    console.print(lists)
    if r["criteria"]:
        crit = Table(title="Causes (list criteria) that change")
        for c in ("list", "criterion", "entered", "left"):
            crit.add_column(c, justify="left" if c in ("list", "criterion") else "right")
        for c in r["criteria"]:
            crit.add_row(c["list"], c["criterion"], str(c["entered"]), str(c["left"]))
        console.print(crit)
    services = Table(title="Services")
    for c in ("service", "grant → refuse", "refuse → grant"):
        services.add_column(c, justify="left" if c == "service" else "right")
    for s in r["services"]:
        services.add_row(s["service"], str(s["grant_to_refuse"]), str(s["refuse_to_grant"]))
    console.print(services)
    top = Table(title=f"The groups most changed (of at least {counted(r['bounds']['min_group'], 'person')})")
    for c in ("dimension", "group", "persons", "changed", "rate"):
        top.add_column(c, justify="left" if c in ("dimension", "group") else "right")
    for g in r["top_groups"]:
        top.add_row(g["dimension"], g["group"], str(g["n"]), str(g["changed"]), f"{100 * g['rate']:.3f}%")
    console.print(top)
    for dim, rows in r["groups"].items():
        t = Table(title=f"By {dim.replace('_', ' ')}: persons who change")
        for c in ("group", "persons", "changed", "rate", "tier", "list in/out", "new causes", "services flipped"):
            t.add_column(c, justify="left" if c == "group" else "right")
        for g in rows:
            counts = g["counts"]
            lists_moved = sum(v for k, v in counts.items() if k.startswith(("enters:", "leaves:")))
            causes = sum(v for k, v in counts.items() if k.startswith("new_cause:"))
            flipped = sum(v for k, v in counts.items() if k.startswith(("grant_to_refuse:", "refuse_to_grant:")))
            t.add_row(
                g["group"],
                str(g["n"]),
                str(counts["changed"]),
                f"{100 * (g['rates']['changed'] or 0):.3f}%",
                str(counts["tier"]),
                str(lists_moved),
                str(causes),
                str(flipped),
            )
        console.print(t)
    rules = Table(title="Rules that drive the changes")
    for c in ("rule", "subjects whose points differ", "of them who change", "points change"):
        rules.add_column(c, justify="left" if c == "rule" else "right")
    for x in r["rules"]:
        rules.add_row(x["rule"], str(x["subjects"]), str(x["changed_subjects"]), f"{x['points_change']:+.2f}")
    console.print(rules if r["rules"] else "No rule gives anyone different points.")


def policy_publish(
    file: Annotated[Path, typer.Argument(help="The policy file to publish.", metavar="FILE")],
    impact: Annotated[
        Path | None, typer.Option("--impact", help="The impact report (policy impact --format json) of this file.")
    ] = None,
    without_impact: Annotated[
        bool, typer.Option("--without-impact", help="Publish without an impact report (recorded in the audit log).")
    ] = False,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
    lang: LangOpt = "en",
) -> None:
    """Publish a policy version with the impact report it was assessed with (the report's candidate hash must be
    the file's); without a report only when --without-impact says so. A file that is not a valid policy is refused
    with its problems, in ``--lang`` where their words have Chinese."""
    from socialcredit.policy import load_policy
    from socialcredit.registry.reporting.impact_record import publish, read_report
    from socialcredit.registry.scoring.policies import policy_in_force

    if impact is not None and without_impact:
        raise InvalidRequestError("give either --impact REPORT.json or --without-impact, not both")
    if impact is None and not without_impact:
        with _store(db) as store:
            loaded = load_policy(file, store.catalog)
            first = policy_in_force(store, loaded.policy.id) is None
        if first:  # nothing to assess it against: `policy impact` needs a published version
            raise InvalidRequestError(
                f"{file} is the first version of policy {loaded.policy.id}: no version of it is published or shipped "
                "to assess it against with `socialcredit policy impact`, so publish it with --without-impact, which "
                "the audit log records"
            )
        raise InvalidRequestError(
            f"publishing {file} needs its impact report: run `socialcredit policy impact CURRENT {file} --format json "
            "--output REPORT.json` and publish with --impact REPORT.json (or publish with --without-impact, which the "
            "audit log records)"
        )
    report = read_report(impact) if impact is not None else None
    with _store(db) as store:
        loaded = load_policy(file, store.catalog)  # a policy is validated against the store's published catalog
        done = publish(store, loaded, report, report_name=str(impact) if impact else "the impact report")
    if as_json:
        out.print_json(json.dumps(done))
        return
    what = "Published" if done["published"] else "Already published (same text):"
    with_report = " with its impact report" if done["impact_recorded"] else ""
    if report is not None and not done["impact_recorded"]:
        with_report = " (an impact report was recorded for it before; kept)"
    out.print(f"{what} {done['policy']} {done['version']} (sha256 {loaded.sha256[:12]}){with_report}.", markup=False)
    if done["in_force"] != done["version"]:
        out.print(
            f"{done['policy']} {done['in_force']} stays in force: it is newer than {done['version']} (versions "
            f"compare part by part, numbers as numbers); score under this one with --policy "
            f"{done['policy']}@{done['version']}.",
            markup=False,
        )


def policy_history(
    policy: Annotated[str, typer.Argument(help="A published policy id.")],
    version: Annotated[
        str | None, typer.Option("--version", help="Print the impact report this version was published with (JSON).")
    ] = None,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Every published version of a policy, each with the impact report it was published with."""
    from socialcredit.registry.reporting.impact_record import policy_history as history
    from socialcredit.registry.reporting.impact_record import recorded_impact

    with _store(db) as store:
        if version is not None:
            out.print_json(json.dumps(recorded_impact(store, policy, version), ensure_ascii=False, default=str))
            return
        rows = history(store, policy)
    if as_json:
        out.print_json(json.dumps(rows, ensure_ascii=False, default=str))
        return
    table = Table(title=f"Published versions of {policy} (the last, newest by version, is in force)")
    for c in ("version", "sha256", "published", "impact report"):
        table.add_column(c)
    for i, r in enumerate(rows):
        imp = r["impact"]
        said = (
            "none"
            if imp is None
            else f"against {imp['against']} as of {imp['as_of']}: {imp['changed']} of {imp['subjects']} change "
            f"(report sha256 {imp['report_sha256'][:12]})"
        )
        version = f"{r['version']} (in force)" if i == len(rows) - 1 else r["version"]
        table.add_row(version, r["sha256"][:12], str(r["published_at"])[:19], said)
    out.print(table)


def policy_drift(
    run_a: Annotated[int, typer.Argument(help="The earlier run.", metavar="RUN_A")],
    run_b: Annotated[int, typer.Argument(help="The later run.", metavar="RUN_B")],
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """The population stability index (PSI) of scores and of every rule's hit rate between two runs of one policy;
    exit 1 when one is above 0.25 (an alert)."""
    from socialcredit.registry.reporting.drift import run_drift

    with _store(db) as store:
        d = run_drift(store, run_a, run_b)
    if as_json:
        out.print_json(json.dumps(d, ensure_ascii=False, default=str))
    else:
        a, b = d["run_a"], d["run_b"]
        out.print(
            f"Drift of {d['policy']} from run {a['run_id']} ({a['version']}, as of {a['as_of']}) to run {b['run_id']} "
            f"({b['version']}, as of {b['as_of']}): score PSI {d['score']['psi']:.4f} "
            f"(both runs' scores in {counted(len(d['score']['bins']), 'bin')} over {d['score']['scale']['lo']:g}–"
            f"{d['score']['scale']['hi']:g}).",
            markup=False,
        )
        table = Table(title="Rules by PSI of their hit rate")
        for c in ("rule", "hit rate A", "hit rate B", "PSI"):
            table.add_column(c, justify="left" if c == "rule" else "right")
        for r in d["rules"]:
            mark = " ALERT" if r["alert"] else ""
            table.add_row(
                r["rule"], f"{100 * r['hit_rate_a']:.2f}%", f"{100 * r['hit_rate_b']:.2f}%", f"{r['psi']:.4f}{mark}"
            )
        out.print(table)
        for key, words in (("added", "only in run B (added)"), ("removed", "only in run A (removed)")):
            if d[key]:
                out.print(f"Rules {words}, no drift: {', '.join(d[key])}", markup=False)
        for alert in d["alerts"]:
            out.print(f"alert: {alert['what']}: PSI {alert['psi']:.4f} > {d['threshold']}", markup=False)
        if not d["alerts"]:
            out.print(f"No PSI above {d['threshold']}.", markup=False)
    if d["alerts"]:
        raise typer.Exit(1)


def disparity_for_lint(db: Path, policy_id: str, sha256: str) -> tuple[dict[str, Any] | None, list[dict[str, str]]]:
    """The disparity audit of the latest run of this policy version in the store at ``db`` and its flagged groups as
    lint findings (rule ``SC901``; a warning when the ratio's whole interval is outside 0.8–1.25, a note when
    chance could explain it); (None, []) when the store has no run of that version."""
    from socialcredit.registry.reporting.disparity import difference_text, disparity_audit

    with _store(db) as store:
        run = store.one(
            "SELECT max(run_id) FROM score_runs WHERE policy_id = ? AND policy_sha256 = ? AND finished_at IS NOT NULL",
            [policy_id, sha256],
        )
        if run is None:
            return None, []
        audit = disparity_audit(store, int(run))
    findings = []
    for f in audit["flagged"]:
        rules = ", ".join(f"{x['rule']} {difference_text(x['difference'])}" for x in f.get("rules", []))
        lo, hi = f["ratio_ci"]
        findings.append(
            {
                "rule": "SC901",
                "level": f["level"],
                "where": f"{db}: run {audit['run_id']}: {f['dimension']} {f['group']}",
                "message": (
                    f"{f['metric']}: {100 * f['rate']:.2f}% of {counted(f['n'], 'person')} against "
                    f"{100 * f['overall_rate']:.2f}% overall, ratio {f['ratio']:.2f} (95% CI {lo:.2f}–{hi:.2f}) "
                    "outside 0.8–1.25" + (f"; mean points against everyone's: {rules}" if rules else "")
                ),
            }
        )
    return audit, findings
