"""Command-line faces of due process: disputes, repair, overrides, notices, the public look-up, the resident's
file, consents and the daily due-process run. Each command calls ``socialcredit.registry``; ``--today`` sets the
registry's clock (default: $SOCIALCREDIT_TODAY or the system date)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from socialcredit.cli_help import (
    DUE_PROCESS,
    RECORDS,
    DbOpt,
    ErrorsLangOpt,
    JsonOpt,
    LangOpt,
    OutputConsole,
    TodayOpt,
    compacted,
    today_option,
)
from socialcredit.errors import NotFoundError, SocialCreditError
from socialcredit.languages import counted
from socialcredit.opening import open_store
from socialcredit.registry.common import MAX_PAGE_ROWS, PAGE_ROWS
from socialcredit.settings import DEFAULT_DB

if TYPE_CHECKING:
    from socialcredit.store import Store

__all__ = ["register_due_process"]

out = OutputConsole(soft_wrap=True, markup=False, highlight=False)  # residents' and sources' texts are shown as written
err = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)

ActorOpt = Annotated[str, typer.Option("--actor", help="Who acts (recorded in the audit log).", metavar="NAME")]
# A page of a case list (notices, disputes, repairs), newest first, as the API's pages of them
LimitOpt = Annotated[
    int, typer.Option(help=f"At most so many (up to {MAX_PAGE_ROWS}).", metavar="N", min=1, max=MAX_PAGE_ROWS)
]
AfterOpt = Annotated[
    int | None, typer.Option(help="The last id of the page before (the next page is older).", metavar="ID", min=1)
]

dispute_app = typer.Typer(
    help="Disputes of records: file, add information and files, answer, withdraw, escalate and review, list.",
    no_args_is_help=True,
)
repair_app = typer.Typer(help="Credit repair: fulfilment reports, applications, decisions.", no_args_is_help=True)
override_app = typer.Typer(help="Human review: override a decision or a listing.", no_args_is_help=True)
file_app = typer.Typer(help="The resident's file.", no_args_is_help=True)
due_app = typer.Typer(help="The daily due-process run.", no_args_is_help=True)


def register_due_process(app: typer.Typer) -> None:
    """Add the due-process commands to the main CLI."""
    app.add_typer(dispute_app, name="dispute", rich_help_panel=DUE_PROCESS)
    app.add_typer(repair_app, name="repair", rich_help_panel=DUE_PROCESS)
    app.add_typer(override_app, name="override", rich_help_panel=DUE_PROCESS)
    app.add_typer(file_app, name="file", rich_help_panel=DUE_PROCESS)
    app.add_typer(due_app, name="due", rich_help_panel=DUE_PROCESS)
    app.command("notices", rich_help_panel=DUE_PROCESS)(notices)
    app.command("lookup", rich_help_panel=DUE_PROCESS)(lookup)
    app.command("consents", rich_help_panel=RECORDS)(consents)
    app.command("notifications", rich_help_panel=DUE_PROCESS)(notifications)
    app.command("contact", rich_help_panel=DUE_PROCESS)(contact)


@contextmanager
def _store(db: Path) -> Iterator[Store]:
    store = open_store(db)
    try:
        yield store
    finally:
        store.close()


def _today(value: str | None) -> dt.date | None:
    return today_option(value)


def _json(data: Any) -> None:
    out.print_json(json.dumps(data, ensure_ascii=False, default=str))


def _table(rows: list[dict[str, Any]], cols: list[str], empty: str) -> None:
    if not rows:
        out.print(empty)
        return
    table = Table(*cols, box=None)
    for r in rows:
        table.add_row(*("" if r.get(c) is None else str(r.get(c)) for c in cols))
    out.print(table)


def _page(
    rows: list[dict[str, Any]], cols: list[str], empty: str, limit: int, as_json: bool, after: int | None
) -> None:
    """A page of a case list, newest first, as JSON or a table; a full table says which it shows (the newest, or
    those older than ``--after``) and how to ask for the next (its first column is the id)."""
    if as_json:
        _json(rows)
        return
    _table(rows, cols, empty)
    if len(rows) == limit:
        shown = f"The newest {limit}" if after is None else f"The {limit} newest before {cols[0]} {after}"
        out.print(f"{shown} shown; the next page: --after {rows[-1][cols[0]]}.")


_DISPUTE_COLS = ["dispute_id", "subject_id", "source_id", "record_id", "status", "opened_at", "deadline", "note"]


def _dispute_line(d: dict[str, Any]) -> str:
    return (
        f"dispute {d['dispute_id']}: record {d['record_id']} ({d['source_id']}) of {d['subject_id']}: {d['status']}, "
        f"opened {d['opened_at']}, answer due by {d['deadline']}" + (f"; {d['note']}" if d["note"] else "")
    )


@dispute_app.command("file")
def dispute_file(
    subject: Annotated[str, typer.Argument(help="The resident's identity number.", callback=compacted)],
    source: Annotated[str, typer.Argument(help="The source of the record, e.g. courts.")],
    record: Annotated[str, typer.Argument(help="The record id.")],
    reason: Annotated[str, typer.Option(help="Why the record is wrong (required).", metavar="TEXT")],
    evidence: Annotated[str | None, typer.Option(help="Evidence, as text.", metavar="TEXT")] = None,
    actor: ActorOpt = "cli",
    today: TodayOpt = None,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Dispute a record: the source must answer within 30 days (45 with information added in the first 30)."""
    from socialcredit.registry.due_process.disputes import file_dispute

    with _store(db) as store:
        d = file_dispute(store, subject, source, record, reason, evidence, actor, today=_today(today))
    _json(d) if as_json else out.print(_dispute_line(d))


@dispute_app.command("info")
def dispute_info(
    dispute_id: Annotated[int, typer.Argument(help="The dispute.", metavar="DISPUTE_ID")],
    text: Annotated[str, typer.Argument(help="The information the resident adds.")],
    actor: ActorOpt = "cli",
    today: TodayOpt = None,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Add information to an open dispute (within the first 30 days this extends the deadline to 45)."""
    from socialcredit.registry.due_process.disputes import add_information

    with _store(db) as store:
        d = add_information(store, dispute_id, text, actor, today=_today(today))
    _json(d) if as_json else out.print(_dispute_line(d))


@dispute_app.command("answer")
def dispute_answer(
    dispute_id: Annotated[int, typer.Argument(help="The dispute.", metavar="DISPUTE_ID")],
    outcome: Annotated[str, typer.Argument(help="verified, corrected or withdrawn.")],
    note: Annotated[str, typer.Option(help="The source's explanation (required).", metavar="TEXT")],
    source: Annotated[str | None, typer.Option(help="Answer as this source (checked).")] = None,
    actor: ActorOpt = "cli",
    today: TodayOpt = None,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """The source's answer to a dispute."""
    from socialcredit.registry.due_process.disputes import answer_dispute

    with _store(db) as store:
        d = answer_dispute(store, dispute_id, outcome, note, actor, today=_today(today), source_id=source)
    _json(d) if as_json else out.print(_dispute_line(d))


@dispute_app.command("attach")
def dispute_attach(
    dispute_id: Annotated[int, typer.Argument(help="The dispute.", metavar="DISPUTE_ID")],
    file: Annotated[Path, typer.Argument(help="A PDF, PNG or JPEG file of at most 1 MiB.", metavar="FILE")],
    actor: ActorOpt = "cli",
    today: TodayOpt = None,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Attach an evidence file to an open dispute (three a dispute at most; kept in the store, encrypted with it)."""
    from socialcredit.registry.due_process.evidence import add_evidence, check_size

    try:
        check_size(file.stat().st_size)
        content = file.read_bytes()
    except OSError as exc:
        raise SocialCreditError(f"cannot read {file}: {exc.strerror or exc}") from None
    with _store(db) as store:
        e = add_evidence(store, dispute_id, content, file.name, actor, today=_today(today))
    if as_json:
        _json(e)
    else:
        out.print(
            f"dispute {dispute_id}: file {e['evidence_id']} {e['file_name']} ({e['media_type']}, {e['size']:,} bytes, "
            f"sha256 {e['sha256']})"
        )


@dispute_app.command("withdraw")
def dispute_withdraw(
    dispute_id: Annotated[int, typer.Argument(help="The dispute.", metavar="DISPUTE_ID")],
    subject: Annotated[
        str,
        typer.Option(
            help="The resident withdrawing it, or the legal representative of the organisation it is about (checked).",
            metavar="SUBJECT",
            callback=compacted,
        ),
    ],
    reason: Annotated[str | None, typer.Option(help="Why, in a few words.", metavar="TEXT")] = None,
    actor: ActorOpt = "cli",
    today: TodayOpt = None,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """The resident withdraws their open dispute: the record stays as it is, and counts again."""
    from socialcredit.registry.due_process.disputes import withdraw_dispute

    with _store(db) as store:
        d = withdraw_dispute(store, dispute_id, subject, actor, reason=reason, today=_today(today))
    _json(d) if as_json else out.print(_dispute_line(d))


@dispute_app.command("escalate")
def dispute_escalate(
    dispute_id: Annotated[int, typer.Argument(help="The dispute.", metavar="DISPUTE_ID")],
    reason: Annotated[str, typer.Option(help="Why it needs a human review (required).", metavar="TEXT")],
    actor: ActorOpt = "cli",
    today: TodayOpt = None,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Send a dispute (open, or verified by the source) to a human review; the source no longer answers it."""
    from socialcredit.registry.due_process.disputes import escalate_dispute

    with _store(db) as store:
        d = escalate_dispute(store, dispute_id, reason, actor, today=_today(today))
    _json(d) if as_json else out.print(_dispute_line(d) + "; under human review")


@dispute_app.command("review")
def dispute_review_cmd(
    dispute_id: Annotated[int, typer.Argument(help="The dispute.", metavar="DISPUTE_ID")],
    decision: Annotated[str, typer.Argument(help="upheld, corrected or withdrawn.", metavar="DECISION")],
    reasons: Annotated[str, typer.Option(help="The reviewer's written reasons (required).", metavar="TEXT")],
    actor: ActorOpt = "cli",
    today: TodayOpt = None,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
    lang: ErrorsLangOpt = "en",
) -> None:
    """The reviewer's decision on an escalated dispute, with its reasons (audited, told to the resident); its
    refusals in ``--lang``."""
    from socialcredit.registry.due_process.disputes import decide_review

    with _store(db) as store:
        d = decide_review(store, dispute_id, decision, reasons, actor, today=_today(today))
    _json(d) if as_json else out.print(_dispute_line(d) + f"; review: {decision}")


def contact(
    subject: Annotated[str, typer.Argument(help="The resident's identity number.", callback=compacted)],
    email: Annotated[str, typer.Option(help="Their e-mail address (messages go there when SMTP is set).")],
    actor: ActorOpt = "cli",
    db: DbOpt = DEFAULT_DB,
) -> None:
    """Record where a resident is reached by e-mail (a new sign-in link they ask for goes there)."""
    from socialcredit.identifiers import validate_subject_id
    from socialcredit.registry.due_process.outbox import set_contact

    number = validate_subject_id(subject).number
    address = email.strip()
    if "@" not in address or len(address) > 254 or any(c.isspace() for c in address):
        raise SocialCreditError(f"--email {email!r} is not an e-mail address")
    with _store(db) as store:
        if store.one("SELECT kind FROM current_subjects WHERE subject_id = ?", [number]) != "person":
            raise NotFoundError(f"no registered resident {number}")
        with store.transaction():
            set_contact(store, number, "email", address, actor)
    out.print(f"{number}: e-mail {address}")


def _link_dispute_line(d: dict[str, Any]) -> str:
    return (
        f"link dispute {d['dispute_id']}: identity {d['identity_id']} ({d['origin_region']} {d['origin_number']}) "
        f"linked to {d['subject_id']}: {d['status']}, opened {d['opened_at']}, answer due by {d['deadline']}"
        + (f"; {d['note']}" if d["note"] else "")
    )


@dispute_app.command("link")
def dispute_link(
    subject: Annotated[str, typer.Argument(help="The resident's identity number.", callback=compacted)],
    identity: Annotated[int, typer.Argument(help="The linked identity (as `show` lists it).", metavar="IDENTITY_ID")],
    reason: Annotated[str, typer.Option(help="Why the link is wrong (required).", metavar="TEXT")],
    actor: ActorOpt = "cli",
    today: TodayOpt = None,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Contest the link of another region's identity to the resident: an operator must answer within 30 days, or
    the link is reversed in the resident's favour."""
    from socialcredit.registry.due_process.links import file_link_dispute

    with _store(db) as store:
        d = file_link_dispute(store, subject, identity, reason, actor, today=_today(today))
    _json(d) if as_json else out.print(_link_dispute_line(d))


@dispute_app.command("list")
def dispute_list(
    subject: Annotated[str | None, typer.Option(help="Only this resident's.", callback=compacted)] = None,
    source: Annotated[str | None, typer.Option(help="Only this source's.")] = None,
    status: Annotated[str | None, typer.Option(help="open, verified, corrected, withdrawn or lapsed.")] = None,
    limit: LimitOpt = PAGE_ROWS,
    after: AfterOpt = None,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
    lang: ErrorsLangOpt = "en",
) -> None:
    """Disputes, newest first, a page at a time."""
    from socialcredit.registry.due_process.disputes import list_disputes

    with _store(db) as store:
        filters = {"subject_id": subject, "source_id": source, "status": status}
        rows = list_disputes(store, **filters, actor="cli", after=after, limit=limit)
    _page(rows, _DISPUTE_COLS, "No disputes.", limit, as_json, after)


_HELD_WHY = {
    "open_dispute": "under an open dispute",
    "human_review": "awaiting a human review",
    "pending_repair": "under a repair application not yet decided",
    "answer_not_sent": "until its answer goes to the region that asked",
}


def _held_back(held: dict[str, int]) -> str:
    """The records past retention the purge held back, and why (nothing when none was)."""
    if not held:
        return ""
    return f" ({', '.join(f'{n} held back {_HELD_WHY.get(why, why)}' for why, n in held.items())})"


@due_app.command("run")
def due_run(
    today: TodayOpt = None,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Resolve overdue disputes for the resident, notify of mandatory enrollment, purge records past retention, put
    back the listings a run not in force moved (as put-back-listings), put listings in effect and end them."""
    from socialcredit.registry.due_process.daily import run_daily
    from socialcredit.registry.due_process.outbox import sender_from_settings
    from socialcredit.settings import get_settings

    day = _today(today)
    channel = sender_from_settings(get_settings()).channel
    with _store(db) as store:
        result = run_daily(store, day, channel=channel)
    if as_json:
        _json(result)
        return
    lapsed = result["lapsed_disputes"]
    out.print(
        f"{counted(len(lapsed), 'overdue dispute')} resolved for the resident"
        + (f" ({', '.join(map(str, lapsed))})" if lapsed else "")
        + f"; {counted(result['notified_of_mandatory_enrollment'], 'resident')} notified of mandatory enrollment; "
        + f"{counted(result['purged']['records'], 'record')} purged"
        + _held_back(result["purged"].get("held") or {})
        + "."
    )
    links = result.get("lapsed_link_disputes") or []
    if links:
        out.print(
            f"{counted(len(links), 'overdue link dispute')} resolved for the resident ({', '.join(map(str, links))}): "
            + ("the link is reversed." if len(links) == 1 else "the links are reversed.")
        )
    put_back = result.get("listings_put_back") or []
    if put_back:
        out.print(
            f"{counted(len(put_back), 'listing')} moved by a run not in force put back "
            f"({', '.join(map(str, put_back))}); see due put-back-listings."
        )
    effective = result.get("listings_effective") or []
    if effective:
        out.print(
            f"{counted(len(effective), 'listing')} took effect at the end of "
            f"{'its' if len(effective) == 1 else 'their'} notice period."
        )
    published = result.get("publication_ended") or []
    if published:
        out.print(
            f"{counted(len(published), 'listing')} ended at the end of {'its' if len(published) == 1 else 'their'} "
            "longest publication."
        )
    overdue = result.get("overdue_repairs") or []
    if overdue:
        out.print(
            f"{len(overdue)} repair applications not answered by their deadline flagged as overdue "
            f"({', '.join(map(str, overdue))})."
        )


@due_app.command("put-back-listings")
def due_put_back_listings(
    today: TodayOpt = None,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Put back the listings a run not in force moved (a what-if of a release before 2026-12-05 put them in effect
    early) to what the run in force gives, each audited; each resident's notice is put in their file and queued in
    the outbox (not sent here). Safe to repeat."""
    from socialcredit.registry.due_process.outbox import sender_from_settings
    from socialcredit.registry.due_process.withdrawals import put_back_listings
    from socialcredit.settings import get_settings

    day = _today(today)
    channel = sender_from_settings(get_settings()).channel
    with _store(db) as store:
        done = put_back_listings(store, day, channel=channel)
    if as_json:
        _json(done)
        return
    if not done:
        out.print("No listing moved by a run not in force is left to put back.")
        return
    for x in done:
        out.print(
            f"listing {x['listing_id']} ({x['subject_id']}): {x['status_before']} -> {x['status']}, moved by run "
            f"{x['moved_by']} ({x['standing']}); run in force: {x['in_force'] if x['in_force'] is not None else 'none'}"
        )
    out.print(
        f"{counted(len(done), 'listing')} put back; each resident's notice is in their file and queued in the outbox "
        "(not sent by this command)."
    )


_REPAIR_COLS = ["repair_id", "subject_id", "record_id", "severity", "status", "applied_on", "decision_reason"]


@repair_app.command("fulfilled")
def repair_fulfilled(
    source: Annotated[str, typer.Argument(help="The source reporting.")],
    record: Annotated[str, typer.Argument(help="The record whose obligation is fulfilled.")],
    on: Annotated[str | None, typer.Option(help="Fulfilled on (default: today).", metavar="DATE")] = None,
    note: Annotated[str | None, typer.Option(help="A note.", metavar="TEXT")] = None,
    actor: ActorOpt = "cli",
    today: TodayOpt = None,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """A source reports an obligation fulfilled (judgment paid, tax settled)."""
    from socialcredit.registry.due_process.repair import report_fulfilment

    with _store(db) as store:
        f = report_fulfilment(
            store, source, record, fulfilled_on=_today(on), note=note, actor=actor, today=_today(today)
        )
    _json(f) if as_json else out.print(f"record {record} ({source}): fulfilled on {f['fulfilled_on']}.")


@repair_app.command("apply")
def repair_apply(
    subject: Annotated[str, typer.Argument(help="The resident.", callback=compacted)],
    source: Annotated[str, typer.Argument(help="The source of the record.")],
    record: Annotated[str, typer.Argument(help="The record.")],
    statement: Annotated[str, typer.Option(help="The resident's statement (required).", metavar="TEXT")],
    policy: Annotated[str | None, typer.Option(help="Under this policy (default: the strictest in use).")] = None,
    commitment: Annotated[
        str | None, typer.Option(help="The resident's written commitment (信用承诺).", metavar="TEXT")
    ] = None,
    evidence: Annotated[str | None, typer.Option(help="Evidence in support, as text.", metavar="TEXT")] = None,
    actor: ActorOpt = "cli",
    today: TodayOpt = None,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Apply for credit repair of a record (after its minimum publication period, once fulfilled)."""
    from socialcredit.registry.due_process.repair import apply_for_repair

    with _store(db) as store:
        r = apply_for_repair(
            store,
            subject,
            source,
            record,
            statement,
            actor,
            today=_today(today),
            policy_id=policy,
            commitment=commitment,
            evidence=evidence,
        )
    _json(r) if as_json else out.print(
        f"repair {r['repair_id']} ({r['severity']}): {r['status']}; answer due by {r['answer_due']}."
    )


@repair_app.command("eligibility")
def repair_eligibility_cmd(
    subject: Annotated[str, typer.Argument(help="The resident.", callback=compacted)],
    source: Annotated[str, typer.Argument(help="The source of the record.")],
    record: Annotated[str, typer.Argument(help="The record.")],
    policy: Annotated[str | None, typer.Option(help="Under this policy (default: the strictest in use).")] = None,
    today: TodayOpt = None,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Whether a resident may apply for repair of a record today, and from when; what stands in the way."""
    from socialcredit.registry.due_process.repair import repair_eligibility

    with _store(db) as store:
        e = repair_eligibility(
            store,
            subject,
            source,
            record,
            today=_today(today),
            policy_id=policy,
            actor="cli",
            purpose="repair eligibility",
        )  # a resident's record: audited (read_record), as its page is
    if as_json:
        _json(e)
        return
    out.print(
        f"record {record} ({source}): {e['severity'] or 'no severity class'}; repair may be asked from "
        f"{e['eligible_from'] or '—'}; publication ends by itself on {e['ends_on'] or '—'}; fulfilled "
        f"{e['fulfilled_on'] or 'not reported'}; "
        + ("eligible now." if e["eligible"] else f"not eligible ({', '.join(e['blockers'])}).")
    )


@repair_app.command("review")
def repair_review(
    repair_id: Annotated[int, typer.Argument(help="The application.")],
    actor: ActorOpt = "cli",
    today: TodayOpt = None,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """An operator takes a repair application under review (the resident is told)."""
    from socialcredit.registry.due_process.repair import start_review

    with _store(db) as store:
        r = start_review(store, repair_id, actor, today=_today(today))
    _json(r) if as_json else out.print(
        f"repair {r['repair_id']}: under review since {r['review_started_on']}; answer due by {r['answer_due']}."
    )


@repair_app.command("decide")
def repair_decide(
    repair_id: Annotated[int, typer.Argument(help="The application.")],
    outcome: Annotated[str, typer.Argument(help="approved or refused.")],
    reason: Annotated[str, typer.Option(help="The reason (required).", metavar="TEXT")],
    actor: ActorOpt = "operator",
    today: TodayOpt = None,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """An operator approves or refuses a repair application, with a reason."""
    from socialcredit.registry.due_process.repair import decide_repair

    with _store(db) as store:
        r = decide_repair(store, repair_id, outcome, reason, actor, today=_today(today))
    _json(r) if as_json else out.print(f"repair {r['repair_id']}: {r['status']} ({r['decision_reason']}).")


@repair_app.command("list")
def repair_list(
    subject: Annotated[str | None, typer.Option(help="Only this resident's.", callback=compacted)] = None,
    status: Annotated[str | None, typer.Option(help="pending, approved or refused.")] = None,
    limit: LimitOpt = PAGE_ROWS,
    after: AfterOpt = None,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
    lang: ErrorsLangOpt = "en",
) -> None:
    """Repair applications, newest first, a page at a time."""
    from socialcredit.registry.due_process.repair import list_repairs

    with _store(db) as store:
        rows = list_repairs(store, subject_id=subject, status=status, actor="cli", after=after, limit=limit)
    _page(rows, _REPAIR_COLS, "No repair applications.", limit, as_json, after)


JustOpt = Annotated[str, typer.Option("--justification", help="Why (required; shown to the resident).", metavar="TEXT")]


@override_app.command("decision")
def override_decision_cmd(
    inquiry_id: Annotated[int, typer.Argument(help="The decision (inquiry id).")],
    outcome: Annotated[str, typer.Argument(help="granted or refused.")],
    justification: JustOpt,
    actor: ActorOpt = "operator",
    today: TodayOpt = None,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Override one decision."""
    from socialcredit.registry.due_process.overrides import override_decision

    with _store(db) as store:
        o = override_decision(store, inquiry_id, outcome, justification, actor, today=_today(today))
    _json(o) if as_json else out.print(f"override {o['override_id']}: {o['target']} → {o['outcome']}.")


@override_app.command("listing")
def override_listing_cmd(
    listing_id: Annotated[int, typer.Argument(help="The listing (see `notices`).")],
    justification: JustOpt,
    restore: Annotated[
        bool, typer.Option("--restore", help="Reverse an operator's removal: the listing stands again as before.")
    ] = False,
    actor: ActorOpt = "operator",
    today: TodayOpt = None,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Take a subject off a list for one cause, or (--restore) reverse such a removal."""
    from socialcredit.registry.due_process.overrides import override_listing

    outcome = "restored" if restore else "removed"
    with _store(db) as store:
        o = override_listing(store, listing_id, justification, actor, outcome=outcome, today=_today(today))
    _json(o) if as_json else out.print(f"override {o['override_id']}: {o['target']} → {o['outcome']}.")


@file_app.command("export")
def file_export(
    subject: Annotated[str, typer.Argument(help="The resident.", callback=compacted)],
    output: Annotated[
        Path | None, typer.Option("--out", help="Write the JSON here (default: print).", metavar="FILE")
    ] = None,
    html: Annotated[Path | None, typer.Option(help="Also write a readable HTML report here.", metavar="FILE")] = None,
    lang: LangOpt = "en",
    db: DbOpt = DEFAULT_DB,
) -> None:
    """Everything held about a resident, as JSON (and HTML)."""
    from socialcredit.registry.private import create_private
    from socialcredit.registry.reporting.file_page import file_names
    from socialcredit.registry.reporting.resident_file import export_file, render_html

    with _store(db) as store:
        data = export_file(store, subject, lang=lang)
        names = file_names(store, data, lang)
        catalog = store.catalog
        encrypted = store.encrypted
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    written: list[tuple[Path, str]] = []
    if html is not None:
        written.append((html, render_html(data, lang, names, catalog)))
    if output is not None:
        written.append((output, text + "\n"))
    for path, content in written:  # 0600 whatever was there: the resident's whole file, in clear
        with create_private(path) as fh:
            fh.write(content.encode("utf-8"))
    if encrypted and written:
        err.print(
            f"warning: {' and '.join(str(p) for p, _ in written)} "
            f"{'hold' if len(written) > 1 else 'holds'} the resident's file in clear "
            "(identity number, records, who asked), though the store is encrypted; hand it over, then delete it."
        )
    if output is not None:
        out.print(f"Wrote the file of {subject} to {output}" + (f" and {html}" if html else "") + ".")
    else:
        out.print_json(text)


def notices(
    subject: Annotated[str | None, typer.Option(help="Only this subject's.", callback=compacted)] = None,
    status: Annotated[str | None, typer.Option(help="pending, effective, resolved, ...")] = None,
    limit: LimitOpt = PAGE_ROWS,
    after: AfterOpt = None,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
    lang: ErrorsLangOpt = "en",
) -> None:
    """Notices and listings: when each blacklisting was noticed, takes effect, and ended; newest first, a page at a
    time."""
    from socialcredit.registry.due_process.listings import list_listings

    with _store(db) as store:
        rows = list_listings(store, subject_id=subject, status=status, actor="cli", after=after, limit=limit)
    cols = ["listing_id", "subject_id", "list_id", "criterion_id", "record_id", "noticed_on", "effective_on", "status"]
    _page(rows, cols, "No notices.", limit, as_json, after)


def lookup(
    query: Annotated[str, typer.Argument(help="A full name, identity number or organisation code.")],
    list_id: Annotated[str | None, typer.Option("--list", help="Only this list.")] = None,
    lang: LangOpt = "en",
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """The public look-up of blacklists (effective listings, public fields only, identity numbers masked)."""
    from socialcredit.registry.due_process.public_lists import public_lookup

    with _store(db) as store:
        rows = public_lookup(store, query, list_id, lang=lang, actor="cli")  # audited as the command line's
    if as_json:
        _json(rows)
        return
    # The answer in the language asked for, as its causes are (it said "not on any public list" with --lang zh)
    nobody = f"{query}：不在任何公开名单上。" if lang == "zh" else f"{query}: not on any public list."
    if lang != "zh" or not rows:
        _table(rows, list(rows[0]) if rows else [], nobody)
        return
    # in Chinese, the columns and "under dispute" as /lists says them (the headings were the fields' English ids)
    shown = [{**r, "under_dispute": "异议处理中" if r.get("under_dispute") else None} for r in rows]
    table = Table(*(_LOOKUP_ZH.get(c, c) for c in rows[0]), box=None)
    for r in shown:
        table.add_row(*("" if r.get(c) is None else str(r.get(c)) for c in rows[0]))
    out.print(table)


# The public look-up's columns in Chinese, in the words of the page /lists (web/i18n.py, ``public_col_*``)
_LOOKUP_ZH = {
    "name": "名称",
    "id_number": "证件号码",
    "list": "名单",
    "cause": "列入原因",
    "since": "公示日期",
    "authority": "认定机关",
    "case_number": "案号/文号",
    "amount": "金额（元）",
    "decided_on": "日期",
    "under_dispute": "异议",
}


def consents(
    subject: Annotated[str, typer.Argument(help="The resident.", callback=compacted)],
    lang: LangOpt = "en",
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """A resident's consents: the current choice per category and the full history; a category a policy's run in
    force counts for everyone (mandatory enrollment, from its date) says so, whatever the choice."""
    from socialcredit.registry.access.parties import own_actors
    from socialcredit.registry.due_process.enrollment import mandatory_since
    from socialcredit.registry.records.consent import consent_history, current_consents
    from socialcredit.registry.records.versions import require_subject

    with _store(db) as store:
        require_subject(store, subject)  # a number no one has is not a resident without consents
        data: dict[str, Any] = {
            "current": current_consents(store, subject),
            "history": consent_history(store, subject, actor="cli"),
            "mandatory": mandatory_since(store),
        }
        own = own_actors(store, subject, "")  # the resident's keys and sign-in links: a choice made with one is theirs
    if as_json:
        _json(data)
        return
    zh = lang == "zh"
    # a category never chosen has a line too where a policy counts it all the same
    chosen = {**dict.fromkeys(data["mandatory"]), **data["current"]}
    for cat, granted in sorted(chosen.items(), key=lambda x: x[0] not in data["current"]):
        # an opt-out (or no choice) counts for nothing where a policy enrolls everyone: said, not "opted out" alone
        counted = [
            (
                f"；“{m['name_zh']}”（{m['policy_id']} 政策）自 {m['since']} 起强制纳入，"
                + ("所有人的此类数据均计入评分" if granted else "无论是否同意均计入评分")
            )
            if zh
            else f"; counted by {m['name_en']} (policy {m['policy_id']})"
            + (" for everyone" if granted else " all the same")
            + f", by mandatory enrollment since {m['since']}"
            for m in data["mandatory"].get(cat, [])
        ]
        said = {True: ("opted in", "已同意"), False: ("opted out", "已撤回同意"), None: ("never chosen", "未选择")}
        out.print(f"{cat}{'：' if zh else ': '}{said[granted][zh]}{''.join(counted)}")
    # who chose, in words as the site says it (the resident, or the registry), with the key or link it was made with
    history = [{**h, "actor": _chosen_by(str(h["actor"]), own, zh)} for h in data["history"]]
    _table(history, ["recorded_at", "category", "granted", "actor"], "No consent recorded.")


def _chosen_by(actor: str, own: set[str], zh: bool) -> str:
    """Who made a consent choice logged as ``actor``: the resident (``own``: with one of their keys or sign-in links)
    or the registry (an operator at the command line, or with another key), in the words of the resident's consents
    page ("you" / "本人", "the registry" / "登记机构"), then how, in words: never the code (``key:95441fcba167``)."""
    kind, _, ident = actor.partition(":")
    how = {
        "key": ("密钥 " if zh else "key ") + ident,
        "link": ("登录链接 " if zh else "sign-in link ") + ident,
        "cli": "命令行" if zh else "at the command line",
    }.get(kind if ident or kind == "cli" else "", actor)
    who = ("本人" if zh else "the resident") if actor in own else ("登记机构" if zh else "the registry")
    return f"{who}（{how}）" if zh else f"{who} ({how})"


def notifications(
    subject: Annotated[str, typer.Argument(help="The resident.", callback=compacted)],
    lang: LangOpt = "en",
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """What the registry told a resident: notices, dispute outcomes, repairs, overrides, enrollment."""
    from socialcredit.registry.due_process.notifications import list_notifications, listing_policies
    from socialcredit.registry.records.versions import require_subject

    with _store(db) as store:
        require_subject(store, subject)  # a number no one has is not a resident told nothing
        rows = list_notifications(store, subject, lang, actor="cli")
        policies = listing_policies(store, subject, rows, lang)  # a listing's notice names its policy, as /me does
    if as_json:
        _json(rows)
        return
    if not rows:
        out.print("No notifications.")
    for n in rows:
        policy = policies.get(int(n["notification_id"]))
        named = f"{policy} · " if policy and policy not in n["text"] else ""  # once: a notice may name it itself
        out.print(f"{n['created_on']} [{n['kind']}] {named}{n['text']}", markup=False, highlight=False)
