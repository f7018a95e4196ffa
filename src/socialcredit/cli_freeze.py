"""Command-line faces of the resident's own controls: the security freeze and the fraud alert (docs/freeze.md).
Each command calls ``socialcredit.registry``; a refusal (not registered, not frozen, frozen already) exits 2."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console

from socialcredit.cli_help import DUE_PROCESS, DbOpt, JsonOpt, TodayOpt, compacted, day_option, today_option
from socialcredit.opening import open_store
from socialcredit.settings import DEFAULT_DB
from socialcredit.textcheck import escaped

__all__ = ["register_freeze"]

out = Console(soft_wrap=True, markup=False, highlight=False)

ActorOpt = Annotated[str, typer.Option("--actor", help="Who acts (recorded in the audit log).", metavar="NAME")]
Subject = Annotated[str, typer.Argument(help="The resident (identity number).", callback=compacted)]

freeze_app = typer.Typer(
    help="The resident's security freeze: place, lift (for good, for a party, or until a date), status.",
    no_args_is_help=True,
)
alert_app = typer.Typer(help="The resident's fraud alert: place (a year; seven with a police report), remove.")
alert_app.info.no_args_is_help = True


def register_freeze(app: typer.Typer) -> None:
    """Add ``freeze`` and ``fraud-alert`` to the main CLI."""
    app.add_typer(freeze_app, name="freeze", rich_help_panel=DUE_PROCESS)
    app.add_typer(alert_app, name="fraud-alert", rich_help_panel=DUE_PROCESS)


_date = day_option


def _say(status: dict[str, Any], as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps(status, ensure_ascii=False, default=str))
        return
    sid = status["subject_id"]
    if status["frozen"]:
        out.print(f"{sid}: frozen since {status['frozen_since']}.")
        for lift in status["lifts"]:
            who = f"for party {lift['party']}" if lift["party"] else "for every party"
            until = f" until {lift['until']}" if lift["until"] else " until the freeze is lifted"
            out.print(f"  lifted {who} from {lift['from']}{until}")
    else:
        out.print(f"{sid}: not frozen.")
    alert = status["fraud_alert"]
    if alert:
        # a reference kept before control characters were refused is printed escaped, never raw to the terminal
        report = f", police report {escaped(alert['police_report'])}" if alert["police_report"] else ""
        out.print(f"fraud alert ({alert['kind']}{report}): verify identity until {alert['until']}.")


@freeze_app.command("place")
def freeze_place(
    subject: Subject, actor: ActorOpt = "cli", today: TodayOpt = None, db: DbOpt = DEFAULT_DB, as_json: JsonOpt = False
) -> None:
    """Freeze the file at once: freezable services (credit, leases, deposit-free) are refused as frozen."""
    from socialcredit.registry.due_process.freeze import place_freeze

    with open_store(db) as store:
        _say(place_freeze(store, subject, actor=actor, today=today_option(today)), as_json)


@freeze_app.command("lift")
def freeze_lift(
    subject: Subject,
    party: Annotated[
        str | None, typer.Option(help="Lift only for this relying party (its key id: socialcredit keys list).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Lift only until this day (YYYY-MM-DD), inclusive.")] = None,
    actor: ActorOpt = "cli",
    today: TodayOpt = None,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Lift the freeze: for good, or for one party (--party), or for everyone until a day (--until)."""
    from socialcredit.registry.due_process.freeze import lift_freeze, lift_party

    with open_store(db) as store:
        status = lift_freeze(
            store,
            subject,
            actor=actor,
            party=lift_party(store, party),
            until=_date(until, "--until"),
            today=today_option(today),
        )
    _say(status, as_json)


@freeze_app.command("status")
def freeze_status_cmd(
    subject: Subject, today: TodayOpt = None, db: DbOpt = DEFAULT_DB, as_json: JsonOpt = False
) -> None:
    """Whether the file is frozen, the lifts in force, and the fraud alert."""
    from socialcredit.registry.due_process.freeze import freeze_status

    with open_store(db) as store:
        _say(freeze_status(store, subject, today=today_option(today), actor="cli", purpose="freeze status"), as_json)


@alert_app.command("place")
def alert_place(
    subject: Subject,
    police_report: Annotated[
        str | None, typer.Option("--police-report", help="A police report's reference: the alert lasts seven years.")
    ] = None,
    actor: ActorOpt = "cli",
    today: TodayOpt = None,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Place a fraud alert: every decision carries "verify identity" for a year (seven with a police report)."""
    from socialcredit.registry.due_process.freeze import place_fraud_alert

    with open_store(db) as store:
        status = place_fraud_alert(store, subject, actor=actor, police_report=police_report, today=today_option(today))
    _say(status, as_json)


@alert_app.command("remove")
def alert_remove(
    subject: Subject, actor: ActorOpt = "cli", today: TodayOpt = None, db: DbOpt = DEFAULT_DB, as_json: JsonOpt = False
) -> None:
    """Remove the fraud alert."""
    from socialcredit.registry.due_process.freeze import remove_fraud_alert

    with open_store(db) as store:
        _say(remove_fraud_alert(store, subject, actor=actor, today=today_option(today)), as_json)
