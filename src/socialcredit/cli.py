"""The command line: tables for people, --json for scripts. Every command calls the registry."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.main import get_group
from typer.models import CommandInfo, TyperInfo

from socialcredit.cli_help import (
    ADMINISTRATION,
    ASKED,
    DECISIONS,
    EXIT_CODES,
    MAIN_JOB,
    RECORDS,
    REGIONS,
    SCORING,
    SERVICE,
    DbOpt,
    HelpGroup,
    JsonOpt,
    LangOpt,
    OutputConsole,
    as_of_date,
)
from socialcredit.errors import SocialCreditError
from socialcredit.languages import counted, rank_of
from socialcredit.opening import open_store, refuse_pandas_to_duckdb
from socialcredit.settings import DEFAULT_DB, KEY_ENV, get_settings, log_level
from socialcredit.textcheck import escaped

if TYPE_CHECKING:
    from socialcredit.store import Store

_app = typer.Typer(
    cls=HelpGroup,
    help="socialcredit: an accountable credit registry.",
    epilog=EXIT_CODES,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
policy_app = typer.Typer(help="Check and explain policies.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys of the parties that call the service.", no_args_is_help=True)
store_app = typer.Typer(help="The store file itself: its encryption key.", no_args_is_help=True)
state_app = typer.Typer(
    help="The scoring states kept at ingest: what each record contributes, per policy version.", no_args_is_help=True
)
_app.add_typer(policy_app, name="policy", rich_help_panel=SCORING)
_app.add_typer(state_app, name="state", rich_help_panel=SCORING)
_app.add_typer(audit_app, name="audit", rich_help_panel=ADMINISTRATION)
_app.add_typer(store_app, name="store", rich_help_panel=ADMINISTRATION)
_app.add_typer(keys_app, name="keys", rich_help_panel=SERVICE)

out = OutputConsole(soft_wrap=True, markup=False)  # names and texts from sources as written: markup=True to style
err = Console(stderr=True, soft_wrap=True, markup=False)  # as `out`: file names as written; markup=True to style
log = logging.getLogger("socialcredit")


def _json(data: Any) -> None:
    out.print_json(json.dumps(data, ensure_ascii=False, default=str))


def _failed(message: str, lang: str = "en") -> NoReturn:
    """The command ran and reports a failure (rows rejected, errors found): one line on stderr, exit 1; headed
    错误： under --lang zh, as an error is."""
    said = "[bold red]错误：[/]" if lang == "zh" else "[bold red]error:[/] "
    err.print(f"{said}{escape(message)}", markup=True, highlight=False)
    raise typer.Exit(1)


@contextmanager
def _store(db: Path, create: bool = False) -> Iterator[Store]:
    store = open_store(db, create=create)
    try:
        yield store
    finally:
        store.close()


@contextmanager
def _progress(label: str, enabled: bool = True) -> Iterator[Callable[[str, int, int], None]]:
    if not enabled or not err.is_terminal:
        yield lambda _s, _d, _t: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn(escape(label) + " [bold]{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=1)

        def update(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        yield update


def _list_counts(counts: dict[str, int], lang: str = "en") -> str:
    """How many entries each list has, in ``lang`` ("blacklist 3, redlist 1"; "blacklist 3，redlist 1")."""
    if lang == "zh":
        return "，".join(f"{k} {v}" for k, v in sorted(counts.items())) or "没有名单条目"
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "no list entries"


def _met(counts: dict[str, int], lang: str = "en") -> str:
    """How many subjects of a run met each list's criteria, said as such ("met the criteria: blacklist 1"): a
    blacklisting takes effect only after its notice period, so the run in force's blacklist as decisions count it
    (``/ops``: "0 (1 more in notice)") may be smaller (until 2026-12-06 `score` said "blacklist 1" alone)."""
    if not counts:
        return _list_counts(counts, lang)
    return f"符合条件：{_list_counts(counts, lang)}" if lang == "zh" else f"met the criteria: {_list_counts(counts)}"


_date = as_of_date  # the --as-of options of this module's commands (cli_help.py)


@_app.command(rich_help_panel=ADMINISTRATION)
def init(db: DbOpt = DEFAULT_DB) -> None:
    """Create a store (encrypted when $SOCIALCREDIT_DB_KEY is set)."""
    from socialcredit.registry.access.checkpoints import checkpoints_at

    if db.exists():
        raise SocialCreditError(f"{db} exists already; choose another --db or remove it")
    left = checkpoints_at(db)
    if left.exists():
        # a removed store's checkpoints: a new store here would be told by `audit verify` that it holds checkpoints
        # no key of it signed, as if its log had been tampered with
        raise SocialCreditError(
            f"{left} holds the audit checkpoints of a store that was at {db} before; move the folder {left.parent} "
            "away (keep it while that store's audit log may be asked about) or choose another --db"
        )
    with _store(db, create=True) as store:
        if store.encrypted:
            out.print(f"Created an encrypted store (AES-GCM) at {db}.")
        else:
            out.print(
                f"[bold yellow]Created an UNENCRYPTED store at {escape(str(db))}.[/] It will hold personal data: "
                f"set {KEY_ENV} to a secret key before `init` to encrypt it.",
                markup=True,
            )


class ListName(StrEnum):
    blacklist = "blacklist"
    redlist = "redlist"
    top = "top"


@store_app.command("rotate-key")
def store_rotate_key(db: DbOpt = DEFAULT_DB, lang: LangOpt = "en") -> None:
    """Encrypt the store with a new key in place of $SOCIALCREDIT_DB_KEY (unset: encrypt a store that has none): the
    new key from $SOCIALCREDIT_NEW_DB_KEY, or asked for at a terminal, never as an argument. The store is copied
    whole under the new key, checked and renamed over the old file in one step; refused while another process (the
    service) holds it. Audited."""
    from socialcredit.registry.access.storekey import NEW_KEY_ENV, rotate_store_key

    new_key = get_settings().new_key()
    if new_key is None:
        if not sys.stdin.isatty():
            raise SocialCreditError(
                f"set {NEW_KEY_ENV} to the new key (or run this at a terminal to be asked for it); a key is never "
                "given as an argument, where other users of the machine could read it",
                zh=f"请将 {NEW_KEY_ENV} 设为新密钥（或在终端运行以便输入）；密钥从不作为参数给出，以免本机其他用户读到",
            )
        asked, again = ("新密钥", "再次输入以确认") if lang == "zh" else ("New key", "Repeat for confirmation")
        new_key = typer.prompt(asked, hide_input=True, confirmation_prompt=again, err=True)
        _KEYS_TYPED.add("new")  # a crash report then keeps frames only, as with a key in the settings
    done = rotate_store_key(db, new_key)
    if lang == "zh":
        what = "已用新密钥加密" if done.was_encrypted else "已加密（此前没有密钥）"
        moved = f"；先移入了 {done.inquiries} 条日志中的查询记录" if done.inquiries else ""
        said = (
            f"存储 {db} {what}：复制并核对了 {done.tables} 个表、{done.rows} 行{moved}（审计条目 {done.audit_seq}）。"
            f"请将 {KEY_ENV} 设为新密钥：旧密钥已无法打开它。"
        )
    else:
        what = "encrypted with the new key" if done.was_encrypted else "encrypted (it had no key before)"
        moved = f"; {counted(done.inquiries, 'journalled inquiry', 'journalled inquiries')} moved into it first"
        said = (
            f"The store {db} is now {what}: {counted(done.tables, 'table')}, {counted(done.rows, 'row')} copied and "
            f"checked{moved if done.inquiries else ''} (audit entry {done.audit_seq}). Set {KEY_ENV} to the new key: "
            "the old one no longer opens it."
        )
    out.print(said, highlight=False)
    if done.unsynced:  # renamed, not written to the disk: a power cut may still bring back the old file
        folder, why = escape(str(db.parent)), escape(done.unsynced)
        warned = (
            f"[bold yellow]警告：[/]密钥已更换，但文件夹 {folder} 未能写入磁盘（{why}）：在此之前机器崩溃可能使存储"
            f"回到旧密钥下。请运行 `sync`，再确认 `socialcredit audit verify` 能用 {KEY_ENV} 中的新密钥打开存储；"
            "在此之前请保留旧密钥。"
            if lang == "zh"
            else f"[bold yellow]warning:[/] the key was changed, but the folder {folder} could not be written to the "
            f"disk ({why}): a crash of the machine before it is may bring back the store under its old key. Run "
            f"`sync`, then check that `socialcredit audit verify` opens the store with the new key in {KEY_ENV}; "
            "keep the old key until it does."
        )
        err.print(warned, markup=True, highlight=False)


# What `ingest` says, in --lang: the registry's words (a file, a count, a row's field and reason come as they are)
_INGEST_WORDS = {
    "en": {
        "not_written": "[bold yellow]warning:[/] the rejected rows were not written: {why}",
        "in_clear": "[bold yellow]warning:[/] {file} holds the rejected rows in clear (identity numbers included), "
        "though the store is encrypted; delete it once they are fixed.",
        "summary": "{file}: {rows}: [green]{accepted} accepted[/], {unchanged} unchanged, [red]{rejected} rejected[/] "
        "(batch {batch})",
        "error": "  {file}: row {row}: {field}: {message}",
        "more": "  … and {more} more",
        "written": "Rejected rows written to {file}",
        "no_file": "No reject file: the store is encrypted and one holds the rows in clear; --rejects FILE writes one.",
        "failed": "{file}: {rejected} of {rows} rejected",
    },
    "zh": {
        "not_written": "[bold yellow]警告：[/]被拒绝的行未能写出：{why}",
        "in_clear": "[bold yellow]警告：[/]{file} 以明文保存被拒绝的行（含身份证号码），而存储已加密；改正后请删除它。",
        "summary": "{file}：{n} 行：[green]{accepted} 行已接受[/]，{unchanged} 行未变，[red]{rejected} 行被拒绝[/]"
        "（批次 {batch}）",
        "error": "  {file}：第 {row} 行：{field}：{message}",
        "more": "  …… 另有 {more} 条",
        "written": "被拒绝的行已写入 {file}",
        "no_file": "未写出拒绝文件：存储已加密，而拒绝文件以明文保存各行；--rejects FILE 可写出一份。",
        "failed": "{file}：{n} 行中有 {rejected} 行被拒绝",
    },
}


@_app.command(rich_help_panel=RECORDS)
def ingest(
    file: Annotated[Path, typer.Argument(help="CSV, NDJSON or Parquet file.", metavar="FILE")],
    source: Annotated[str, typer.Option("--source", help="The furnisher sending the file.")],
    rejects: Annotated[
        Path | None,
        typer.Option(
            help="Where to write rejected rows, in clear (default: FILE.rejects.csv beside FILE; when the store has "
            "a key, none unless this is given).",
            metavar="FILE",
        ),
    ] = None,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
    lang: LangOpt = "en",
) -> None:
    """Validate a batch; commit the good rows atomically, report and write the rejected ones (its report, errors
    and the reject file's reasons in --lang)."""
    from socialcredit.registry.records.ingest import BatchOptions, ingest_file
    from socialcredit.registry.records.row_words import said

    w = _INGEST_WORDS[lang]
    with _store(db) as store, _progress(f"ingest {file.name}", not as_json) as step:
        batch = BatchOptions(lang=lang)
        report = ingest_file(store, file, source, reject_path=rejects, progress=step, batch=batch)
        encrypted = store.encrypted
    if report.reject_error:
        err.print(w["not_written"].format(why=escape(report.reject_error)), markup=True)
    if encrypted and report.reject_file:
        err.print(w["in_clear"].format(file=escape(str(report.reject_file))), markup=True)
    found = report.as_dict()["errors"]
    errors = said(found if as_json else found[:20], lang)  # only what is printed is worded (the file words its own)
    counts = {"rows": counted(report.rows, "row"), "n": report.rows, "rejected": report.rejected}
    if as_json:
        _json({**report.as_dict(), "errors": errors})
    else:
        out.print(
            w["summary"].format(
                file=escape(str(file)),
                accepted=report.accepted,
                unchanged=report.unchanged,
                batch=report.batch_id,
                **counts,
            ),
            markup=True,
        )
        if note := report.unregistered_note(lang):
            out.print(note, markup=False, highlight=False)
        for e in errors:
            out.print(w["error"].format(file=file, **e))
        if len(found) > 20:
            out.print(w["more"].format(more=len(found) - 20))
        if report.reject_file:
            out.print(w["written"].format(file=report.reject_file))
        elif errors and encrypted:
            out.print(w["no_file"])
    if report.rejected:
        _failed(w["failed"].format(file=file, **counts), lang)


class Engine(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


@_app.command(rich_help_panel=SCORING)
def score(
    ctx: typer.Context,
    policy: Annotated[
        str,
        typer.Option(
            help="A policy id (its newest published version; a shipped one is published on first use), ID@VERSION, "
            "or a policy file."
        ),
    ] = "beijing",
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Score as of this date (default today).", metavar="DATE")
    ] = None,
    incremental: Annotated[bool, typer.Option(help="Rescore only subjects whose inputs changed.")] = False,
    rerun: Annotated[int | None, typer.Option(help="Reproduce a past run exactly.", metavar="RUN")] = None,
    engine: Annotated[
        Engine,
        typer.Option(
            help="duckdb: the store itself, or the --input files in memory; spark: Parquet --input to Parquet --out.",
            metavar="[duckdb|spark]",
        ),
    ] = Engine.duckdb,
    master: Annotated[
        str, typer.Option(help="Spark master URL: local[N], spark://…, yarn, k8s://…", metavar="URL")
    ] = "local[2]",
    input_dir: Annotated[
        Path | None,
        typer.Option(
            "--input", help="Score a registry export or a generated population, without a store.", metavar="DIR"
        ),
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="With --input: an empty folder for the results.", metavar="DIR")
    ] = None,
    from_records: Annotated[
        bool, typer.Option("--from-records", help="Read the records, not the kept scoring state (the same results).")
    ] = False,
    lang: LangOpt = "en",
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Score every subject under a policy: points, tier, rank, percentile, lists and reasons."""
    if input_dir is not None and engine is Engine.duckdb:
        store_only = {"--incremental": incremental, "--rerun": rerun is not None, "--db": _given(ctx, "db")}
        _score_files(policy, _date(as_of), input_dir, out_dir, [k for k, v in store_only.items() if v], as_json, lang)
        return
    if out_dir is not None and engine is Engine.duckdb:
        # a run of the store is saved in the store; a folder given here would be silently left empty
        raise typer.BadParameter("--out is for scoring --input files (or on --engine spark)", param_hint="'--out'")
    from socialcredit.registry.scoring import runs as scoring
    from socialcredit.registry.scoring.policies import resolve_policy

    if engine is Engine.spark:
        _score_on_spark(
            policy,
            _date(as_of),
            master,
            input_dir,
            out_dir,
            incremental or rerun is not None,
            from_records,
            as_json,
            lang,
        )
        return

    with _store(db) as store, _progress("score", not as_json) as step:
        if rerun is not None:
            summary = scoring.rerun(store, rerun, from_records=from_records)
        else:
            loaded = resolve_policy(store, policy)
            summary = scoring.score(
                store, loaded, _date(as_of), incremental=incremental, progress=step, from_records=from_records
            )
    if as_json:
        _json(summary.as_dict())
        return
    for line in _run_said(summary, lang):
        out.print(line, markup=False, highlight=False)


def _run_said(summary: Any, lang: str) -> list[str]:
    """What `score` says of its run (a ``RunSummary``), in ``lang``: the run, why it is full when it was asked to be
    incremental, and its standing when it is not in force."""
    if lang == "zh":
        lists = _met(summary.list_counts, lang)
        read = "评分状态" if summary.source == "state" else "记录"
        lines = [
            f"第 {summary.run_id} 次评分：{summary.policy_id} {summary.policy_version}，评分日期 {summary.as_of}"
            f"（{_MODE_ZH.get(summary.mode, summary.mode)}，读取{read}）：{summary.subjects} 个主体已评分，"
            f"{summary.rescored} 个重新计算；{lists}。"
        ]
        if summary.full_because_zh:
            lines.append(f"全量而非增量：{summary.full_because_zh}。")
        if summary.standing != "ordinary":
            lines.append(
                f"此次评分为{_STANDING_SAID_ZH.get(summary.standing, summary.standing)}：不生效，不改变任何名单，"
                "决定和名单仍以该政策生效的评分为准（docs/due-process.md，“The run in force”）。"
            )
        return lines
    read = "the scoring state" if summary.source == "state" else "the records"
    lines = [
        f"Run {summary.run_id}: {summary.policy_id} {summary.policy_version} as of {summary.as_of} "
        f"({summary.mode}, from {read}): {counted(summary.subjects, 'subject')} scored, {summary.rescored} computed; "
        f"{_met(summary.list_counts)}."
    ]
    if summary.full_because:
        lines.append(f"Full, not incremental: {summary.full_because}.")
    if summary.standing != "ordinary":
        lines.append(
            f"It is {_STANDING_SAID.get(summary.standing, summary.standing)}: not in force, it moves no listing, and "
            'decisions and lists stay on the policy\'s run in force (docs/due-process.md, "The run in force").'
        )
    return lines


_STANDING_WORDS = {  # a run's standing in the `runs` table
    "ordinary": "superseded",
    "what_if": "what-if",
    "rerun": "rerun",
    "past_dated": "past-dated",
    "behind": "behind",
}

_STANDING_SAID = {
    "what_if": "a what-if (dated after the registry's today)",
    "rerun": "a rerun",
    "past_dated": "past-dated (dated before a run already made)",
    "behind": "behind (fewer changes read than a run already made)",
}
_STANDING_SAID_ZH = {
    "what_if": "假设评分（日期在登记系统当日之后）",
    "rerun": "重算",
    "past_dated": "追溯日期（早于已有的评分）",
    "behind": "落后（读取的变更少于已有的评分）",
}
_MODE_ZH = {"full": "全量计算", "incremental": "增量计算", "rerun": "重新计算"}


# The words of `show` and of a subject's linked identities, in --lang (the policy's texts come in it from the
# registry; these are the command's own): its headings and labels were English under Chinese reasons.
_SHOW_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "about": "{id} ({kind}, {profession}, {district})",
        "person": "person",
        "org": "org",
        "list": "{list} ({reason})",
        # a listing in its notice period (the page's "Notice: these listings are in their grace period")
        "list_pending": "{list} ({reason}; notice only: in effect from {date}, unless the cause goes away)",
        "comma": ", ",
        "run": "{head} {at} as of {as_of}: score {score}, tier {tier}, rank {rank}, percentile "
        "{percentile}; lists: {lists}",
        # the run's figures, or those of the subject rescored since it, as `decide` names them ("run 2, change 9")
        "at_run": "run {run}",
        "at_change": "run {run}, change {change},",
        "none": "none",
        "dimension": "dimension",
        "points": "points",
        "cap": "cap",
        "code": "code",
        "reason": "reason",
        "advice": "what would change it",
        "records": "records",
        "date": "date",
        "source": "source",
        "record": "record",
        "type": "type",
        "fields": "fields",
        "status": "status",
        "contribution": "contribution",
        "inquiries": "inquiries about this subject",
        "when": "when",
        "who": "who",
        "service": "service",
        "purpose": "purpose",
        "outcome": "outcome",
        "no_inquiries": "No inquiries about this subject.",
        "linked": "Linked to {region}",
        "linked_rest": " — number there {number} (identity {identity}): {how}",
        "probability": ", match probability {p}",
        "linked_by": " (by {who} on {at} UTC)",
        "agreed": "  agreed: ",
        "brought": "  records it brought: ",
        "contested": "  contested: dispute {dispute} is open",
        "link_dispute": "link dispute {dispute} (identity {identity}, {region} {number}): {status}, opened {opened}, "
        "answer due by {deadline}",
    },
    "zh": {
        "about": "{id}（{kind}，{profession}，{district}）",
        "person": "个人",
        "org": "机构",
        "list": "{list}（{reason}）",
        "list_pending": "{list}（{reason}；仅为告知：{date} 起生效，除非在此之前原因消除）",
        "comma": "，",
        "run": "{head} {at}，截至 {as_of}：分数 {score}，等级 {tier}，排名{rank}，百分位 {percentile}；名单：{lists}",
        "at_run": "评分编号 {run}",
        "at_change": "评分编号 {run}，变更序号 {change}",
        "none": "无",
        "dimension": "维度",
        "points": "分值",
        "cap": "上下限",
        "code": "代码",
        "reason": "原因",
        "advice": "如何改变",
        "records": "记录",
        "date": "日期",
        "source": "来源",
        "record": "记录",
        "type": "类型",
        "fields": "字段",
        "status": "状态",
        "contribution": "计分",
        "inquiries": "查询本主体的记录",
        "when": "时间",
        "who": "查询方",
        "service": "服务",
        "purpose": "用途",
        "outcome": "结果",
        "no_inquiries": "没有查询本主体的记录。",
        "linked": "已关联{region}",
        "linked_rest": "的身份：当地编号 {number}（身份编号 {identity}）：{how}",
        "probability": "，匹配概率 {p}",
        "linked_by": "（由 {who} 于 {at} UTC 关联）",
        "agreed": "  一致项：",
        "brought": "  带来的记录：",
        "contested": "  已提出异议：异议 {dispute} 处理中",
        "link_dispute": "身份关联异议 {dispute}（身份编号 {identity}，{region} {number}）：{status}，{opened} 提出，"
        "{deadline} 前答复",
    },
}


def _word(kind: str, value: str, lang: str) -> str:
    """A status the store holds (a record's, an inquiry's outcome) in --lang, in the registry's words."""
    from socialcredit.registry.words import STATUS_WORDS

    pair = STATUS_WORDS[kind].get(value)
    return value if pair is None or lang != "zh" else pair[0]


def _grade_words(store: Store, policy_id: str, version: str, tier: str, lang: str) -> str:
    """A grade in Chinese as the pages name it: by its name (信用较差, not poor), a letter grade by its letter; in
    English its id, as it was."""
    if lang != "zh":
        return tier
    from socialcredit.policy.words import tier_label
    from socialcredit.registry.scoring.policies import get_policy

    return tier_label(get_policy(store, policy_id, version).policy, tier, lang)


def _list_names_of(store: Store, report: dict[str, Any], lang: str) -> dict[tuple[str, str], str]:
    """Each list of a subject's report by its name in ``lang``, keyed by (policy id, list id)."""
    from socialcredit.registry.scoring.policies import name_listings

    named = [
        {
            "policy_id": sc["policy"],
            "policy_version": sc["policy_version"],
            "list_id": x["list"],
            "criterion_id": x["criterion"],
        }
        for sc in report["scores"]
        for x in sc["lists"]
    ]
    name_listings(store, named, lang)
    return {(str(x["policy_id"]), str(x["list_id"])): str(x["list_name"]) for x in named}


@_app.command(rich_help_panel=SCORING)
def show(
    subject: Annotated[str, typer.Argument(help="Identity number or credit code.")],
    policy: Annotated[list[str] | None, typer.Option(help="Only these policies.")] = None,
    lang: LangOpt = "en",
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """A subject's file: scores, reasons, lists, records with their contribution, inquiries.

    As decisions now stand (as `decide` answers and the service's report says): a subject changed since a run is
    rescored as the service's live pass has it, so a record disputed or withdrawn since counts no more, and the
    listing it made reads held until the next run closes it."""
    from socialcredit.identifiers import compact_subject_id
    from socialcredit.policy.words import figure
    from socialcredit.registry.decisions.live import views_of_subject
    from socialcredit.registry.reporting.report import subject_report
    from socialcredit.registry.words import PROFESSION_WORDS

    with _store(db) as store:  # compacted as in a subjects file: '110105 19800304015x' is the subject registered
        subject_id = compact_subject_id(subject)
        # as decisions now stand on the subject, as `decide` answers and the service's report says: the subject
        # changed since a run rescored as a live pass has it (a record disputed or withdrawn since counts no more,
        # and the listing it held up is held); until 2026-12-07 the run's, so `show` said "puts you on the
        # blacklist" of a listing `decide` no longer applied
        live = views_of_subject(store, subject_id, policy)
        report = subject_report(store, subject_id, policy_ids=policy, lang=lang, live=live)
        # a record type by its name in the catalog (in Chinese as the pages name it; in English as it was, its code)
        types = {k: t.name.get(lang) for k, t in store.catalog.record_types.items()} if lang == "zh" else {}
        # and a source (furnisher) by its name, as the pages name it (in English its code, as it was)
        sources = {k: src.name.get(lang) for k, src in store.catalog.sources.items()} if lang == "zh" else {}
        # a list by its name in its policy in Chinese ("失信名单", as `decide --lang zh` and the pages name it)
        list_names = _list_names_of(store, report, lang) if lang == "zh" else {}
        grades = {
            sc["policy"]: _grade_words(store, sc["policy"], sc["policy_version"], str(sc["tier"]), lang)
            for sc in report["scores"]
        }
    if as_json:
        _json(report)
        return
    w = _SHOW_WORDS[lang]
    s = report["subject"]
    kind = w.get(str(s["kind"]), str(s["kind"]))
    profession = s["profession"] or "-"
    if lang == "zh" and profession in PROFESSION_WORDS:
        profession = PROFESSION_WORDS[profession][0]
    about = w["about"].format(id=s["subject_id"], kind=kind, profession=profession, district=s["district"] or "-")
    out.print(f"[bold]{escape(str(s['name']))}[/] {escape(about)}", markup=True)
    for sc in report["scores"]:
        lists = w["comma"].join(
            w["list_pending" if x["status"] == "pending" else "list"].format(
                list=list_names.get((sc["policy"], x["list"]), x["list"]), reason=x["reason"], date=x["effective_on"]
            )
            for x in sc["lists"]
        )
        lists = lists or w["none"]
        head = escape(f"{sc['policy']} {sc['policy_version']}")
        # rescored since its run (a live view, as `decide` answers): the change it stands on, as `decide` says it;
        # until 2026-12-07 "run 2" beside the live score, which run 2 never gave
        at = w["at_change" if sc["run_id"] in live else "at_run"].format(run=sc["run_id"], change=sc["watermark"])
        out.print(
            "\n"
            + w["run"].format(
                head=f"[bold]{head}[/]",
                at=at,
                as_of=sc["as_of"],
                score=f"[bold]{sc['score']}[/]",
                tier=f"[bold]{escape(grades[sc['policy']])}[/]",
                rank=rank_of(sc["rank"], sc["of"], lang, str(s["kind"])),  # as the pages say it
                percentile=sc["percentile"],
                lists=escape(lists),
            ),
            markup=True,
        )
        dims = Table(w["dimension"], w["points"], w["cap"], title=None, box=None)
        for d in sc["dimensions"]:
            dims.add_row(
                d["name"],  # as the pages write a dimension's figures (figure), with the hyphen of the reasons below
                figure(d["points"], minus="-"),
                f"{figure(d['min'], minus='-', exact=True)}…{figure(d['max'], minus='-', exact=True)}",
            )
        out.print(dims)
        reasons = Table("#", w["code"], w["reason"], w["points"], w["advice"], box=None)
        for i, r in enumerate(sc["reasons"], 1):
            reasons.add_row(
                str(i), r["code"], r["text"], "" if r["points"] is None else f"{r['points']:+g}", r["advice"] or ""
            )
        out.print(reasons)
    recs = Table(
        *(w[c] for c in ("date", "source", "record", "type", "fields", "status", "contribution")),
        title=w["records"],
        box=None,
    )
    for r in report["records"]:
        contrib = "; ".join(
            f"{pid}: " + ", ".join(_hit_text(h) for h in hits) for pid, hits in r["contribution"].items()
        )
        # and the listings it made, as each stands (in effect, in its notice period, held, removed)
        contrib = "; ".join([*([contrib] if contrib else []), *(x["text"] for x in r.get("lists", []))])
        fields = ", ".join(f"{k}={v}" for k, v in r["fields"].items() if v is not None)
        recs.add_row(
            r["event_date"],
            sources.get(r["source_id"]) or r["source_id"],
            f"{r['record_id']} v{r['version']}",
            types.get(r["record_type"]) or r["record_type"],
            fields,
            _word("record_status", str(r["status"]), lang),
            contrib,
        )
    out.print(recs)
    _print_links(report, lang)
    inq = Table(*(w[c] for c in ("when", "who", "service", "purpose", "outcome")), title=w["inquiries"], box=None)
    for q in report["inquiries"]:
        # who asked and why as sent (one line of plain text since they are checked; a store may hold older ones): a
        # control character is shown as its code, never sent to the terminal
        inq.add_row(
            _when(q["asked_at"]),
            escaped(str(q["requester"])),
            escaped(str(q["service"])),
            escaped(_purpose(q["purpose"], lang)),
            _word("outcome", str(q["outcome"]), lang),
        )
    out.print(inq if report["inquiries"] else w["no_inquiries"])


def _when(asked_at: Any) -> str:
    """An inquiry's time as the resident's page shows it, to the minute (``2026-06-02 11:30``): the file's times
    came with seconds, and with microseconds when they had any, in one table."""
    try:
        return dt.datetime.fromisoformat(str(asked_at)).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return str(asked_at)[:16]


def _purpose(purpose: Any, lang: str) -> str:
    """An inquiry's purpose as the resident's pages say it in Chinese when it is one the registry has words for (a
    relying party's own words are shown as sent)."""
    from socialcredit.registry.words import PURPOSE_WORDS

    pair = PURPOSE_WORDS.get(str(purpose))
    return str(purpose) if pair is None or lang != "zh" else pair[0]


def _hit_text(hit: dict[str, Any]) -> str:
    """A record's hit of a rule in `show`: the rule and what the record counted, with the note when the rule's cap
    cut it ("court.judgment +0 (counts 0 of −100: rule court.judgment counts at most −300 in all)")."""
    text = f"{hit['rule_id']} {hit['counted']:+g}"
    return escape(text if hit["note"] is None else f"{text} ({hit['note']})")


def _print_links(report: dict[str, Any], lang: str = "en") -> None:
    """The identities of other regions linked to the subject: where from, how, the evidence, how to contest (the
    registry gives the how and the contest in ``lang``; the labels are the command's)."""
    w = _SHOW_WORDS[lang]
    for link in report.get("links", []):
        how = link["how"] + (w["probability"].format(p=link["probability_text"]) if link["method"] != "exact" else "")
        if link["linked_by"]:
            how += w["linked_by"].format(who=link["linked_by"], at=link["linked_at"])
        rest = w["linked_rest"].format(number=link["number"], identity=link["identity_id"], how=how)
        out.print(
            f"\n[bold]{escape(w['linked'].format(region=link['region']))}[/]{escape(rest)}",
            markup=True,
            highlight=False,
        )
        out.print(w["agreed"] + "; ".join(link["agreed"]), markup=False, highlight=False)
        out.print(w["brought"] + (", ".join(link["records"]) or w["none"]), markup=False, highlight=False)
        if link["open_dispute"] is not None:
            out.print(w["contested"].format(dispute=link["open_dispute"]), markup=False, highlight=False)
        else:
            out.print("  " + link["contest"], markup=False, highlight=False)
    for d in report.get("link_disputes", []):
        out.print(
            w["link_dispute"].format(
                dispute=d["dispute_id"],
                identity=d["identity_id"],
                region=d["origin_region"],
                number=d["origin_number"],
                status=_word("link_dispute_status", str(d["status"]), lang),
                opened=d["opened_at"],
                deadline=d["deadline"],
            )
            + ((f"; {d['note']}" if lang == "en" else f"；{d.get('note_zh') or d['note']}") if d["note"] else ""),
            markup=False,
            highlight=False,
        )


@_app.command(rich_help_panel=DECISIONS)
def decide(
    subject: Annotated[str, typer.Argument(help="Identity number or credit code.")],
    service: Annotated[str, typer.Argument(help="Service id, e.g. high_speed_rail.")],
    purpose: Annotated[str, typer.Option(help="Why the decision is asked (required).", metavar="TEXT")],
    policy: Annotated[str | None, typer.Option(help="Policy whose run in force decides.")] = None,
    requester: Annotated[str, typer.Option(help="Who asks.", metavar="NAME")] = "cli",
    lang: LangOpt = "en",
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """May this subject have this service? Granted or refused, with reasons; logged as an inquiry.

    Answered as the running service answers a relying party now: a subject changed since the run is rescored as its
    live pass has it (a listing `list blacklist` marks held refuses nothing), naming the run and the change."""
    from socialcredit.identifiers import compact_subject_id
    from socialcredit.registry.decisions.decide import decide as decide_
    from socialcredit.registry.due_process.listings import ended_since_run
    from socialcredit.registry.scoring.policies import name_listings
    from socialcredit.registry.words import STATUS_WORDS

    subject = compact_subject_id(subject)  # as in a subjects file: spaces, full-width digits, a lower-case x
    with _store(db) as store:
        # as a relying party is answered now: the subject changed since the run rescored as the service's live pass
        # has it (a listing `list blacklist` marks held is not applied), at the change it stands on
        d = decide_(store, subject, service, purpose, requester=requester, policy_id=policy, lang=lang, since_run=True)
        # decided on the run's row (the subject unchanged since, or a policy without state): a listing ended since
        # the run (an override, an unlink, a repair) is not counted, but the run's score and reasons still count
        # its record: say so (a rescored subject's score counts its records as they stand)
        rescored = d.watermark != store.one("SELECT watermark FROM score_runs WHERE run_id = ?", [d.run_id])
        # the number as stored (`…x` is `…X`)
        ended = [] if rescored else ended_since_run(store, d.run_id, d.subject_id)
        # the text names the list and the criterion in the words the run's policy gives them in --lang, as the
        # pages do (name_listings); the JSON keeps their ids
        named = [{**e, "policy_id": d.policy_id, "policy_version": d.policy_version} for e in ended]
        name_listings(store, named, lang)
        grade = _grade_words(store, d.policy_id, d.policy_version, d.tier, lang)
    if as_json:
        _json({**d.as_dict(), "listings_ended_since_run": ended})
        return
    # the outcome in the registry's words, as the resident's list of who asked says it (registry/words.py)
    zh_word, en_word = STATUS_WORDS["outcome"]["granted" if d.granted else "refused"]
    verdict = f"[bold {'green' if d.granted else 'red'}]{zh_word if lang == 'zh' else en_word.upper()}[/]"
    policy_words = escape(f"{d.policy_id} {d.policy_version}")
    out.print(
        f"{escape(service)}（{d.subject_id}）：{verdict}（政策 {policy_words}，评分编号 {d.run_id}，变更序号 "
        f"{d.watermark}，分数 {d.score}，等级 {escape(grade)}，查询编号 {d.inquiry_id}）"
        if lang == "zh"
        else f"{escape(service)} for {d.subject_id}: {verdict} (policy {policy_words}, run {d.run_id}, change "
        f"{d.watermark}, score {d.score}, tier {escape(d.tier)}, inquiry {d.inquiry_id})",
        markup=True,
    )
    if d.refusal:
        out.print(d.refusal)
    for i, r in enumerate(d.reasons, 1):
        pts = "" if r.points is None else f" ({r.points:+g})"
        out.print(f"  {i}. [{r.code}] {r.text}{pts}" + (f" — {r.advice}" if r.advice else ""))
    if d.actions:  # what would change a refusal, as --json and the API give it (in --lang)
        out.print("如何改变结果：" if lang == "zh" else "What would change it:", markup=False)
        for action in d.actions:
            out.print(f"  - {action}", markup=False)
    for e in named:
        status_zh = STATUS_WORDS["listing_status"].get(str(e["status"]), (str(e["status"]),))[0]
        out.print(
            f"注：分数和原因来自评分编号 {d.run_id}（截至 {e['as_of']}）；此后{e['list_name']}的列入（"
            f"{e['criterion_text']}，记录 {e['record_id']}）已于 {e['closed_on']} 结束（{status_zh}），本决定不再计入；"
            "该记录在下次评分前仍计入分数。"
            if lang == "zh"
            else f"Note: the score and reasons are from run {d.run_id} (as of {e['as_of']}); since then the "
            f"{e['list_name']} listing ({e['criterion_text']}, record {e['record_id']}) ended on {e['closed_on']} "
            f"({e['status']}), so this decision no longer counts it; its record counts in the score until the next "
            "run.",
            markup=False,
        )


@_app.command("list", rich_help_panel=SCORING)
def list_(
    which: Annotated[ListName, typer.Argument(help="blacklist, redlist or top.", metavar="LIST")],
    policy: Annotated[str | None, typer.Option(help="Policy (default: latest run).")] = None,
    limit: Annotated[int, typer.Option(help="How many rows.", metavar="N", min=1, max=1_000_000)] = 50,
    lang: LangOpt = "en",
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Members of the blacklist or redlist, or the top-ranked subjects, from the latest run: the list and its
    criteria named in the policy's words in --lang, the headers and listings' standing in it too (--json keeps ids).

    A blacklist member's listing is `effective` (decisions count it), `notice` (told, in effect from effective_on;
    decisions and the public look-up do not count it yet), `held` (in effect in the register, but decisions no
    longer apply it: its record withdrawn, corrected or disputed since the run; the next run closes it) or `ended`
    since the run. A redlist has no listing: its rows have no listing nor effective_on."""
    from socialcredit.registry.reporting.report import list_members, top_subjects

    held: list[dict[str, Any]] = []
    with _store(db) as store:
        if which is ListName.top:
            rows = top_subjects(store, policy_id=policy, limit=limit, actor="cli")
        elif which is ListName.blacklist:  # (a redlist has no listings to hold)
            rows, held = _members_as_decided(store, which.value, policy, limit, lang)
        else:
            rows = list_members(store, which.value, policy_id=policy, limit=limit, actor="cli")
        if as_json:
            _json(rows)
            return
        named, policy_named, criteria = _list_named(store, which.value, policy, lang)
    w = _LIST_WORDS[lang]
    if not rows:
        out.print(w["empty"].format(list=named), markup=False)
        return
    out.print(f"{named} — {policy_named}", markup=False)
    table = Table(*(w.get(k, k) for k in rows[0]), box=None)
    for r in rows:  # a value none has (a name not registered, the day an ended listing took effect): "—"
        r = r | {"tier": criteria.get(f"tier_{r['tier']}", r["tier"])}
        r = r | {"listing": w.get(f"listing_{r['listing']}", r["listing"])} if r.get("listing") else r
        if r.get("criteria"):
            r = r | {"criteria": w["comma"].join(criteria.get(c, c) for c in str(r["criteria"]).split(", "))}
        table.add_row(*("—" if v is None else str(v) for v in r.values()))
    out.print(table)
    for x in held:  # as GET /v1/notices says it: the day of the score decisions applied it on (until 2026-12-06 the
        # change number decisions stand on, which a reader cannot place), and the cause
        said = {k: x[k] for k in ("listing_id", "subject_id", "held_since", "held_why")}
        out.print(
            w["held"].format(criterion=criteria.get(str(x["criterion_id"]), x["criterion_id"]), **said), markup=False
        )


# The words of `list`, in --lang: its headers (the columns of --json), a listing's standing (list_members) and its
# lines; the list and its criteria come in the policy's words (``_list_named``)
_LIST_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "empty": "No one on the {list}.",
        "comma": ", ",
        "held": "held: listing {listing_id} of {subject_id} ({criterion}) is not applied by decisions since the score "
        "of {held_since}: {held_why}; the next run closes it.",
    },
    "zh": {
        "empty": "{list}上没有人。",
        "comma": "、",
        "held": "暂不适用：{subject_id} 的名单认定 {listing_id}（{criterion}）自 {held_since} 的评分以来决定不再适用："
        "{held_why}；下次评分时结束。",
        "subject_id": "身份证号/统一社会信用代码",
        "name": "名称",
        "score": "分数",
        "tier": "等级",
        "criteria": "标准",
        "listing": "状态",
        "effective_on": "生效日期",
        "rank": "排名",
        "percentile": "百分位",
        "listing_effective": "已生效",
        "listing_notice": "告知期内",
        "listing_held": "暂不适用",
        "listing_ended": "已结束",
    },
}


def _list_named(store: Store, list_id: str, policy: str | None, lang: str) -> tuple[str, str, dict[str, str]]:
    """A list of the run in force of ``policy`` by its name ("失信名单"), its policy's name and version ("北京市社会
    信用评分 2026.2"), and the words of its cells by code: its criteria's reasons and, in Chinese, its grades as `show`
    names them (信用较差, not poor), in the policy's words in ``lang``, as the pages name them (``name_listings``)."""
    from socialcredit.policy.words import tier_label
    from socialcredit.registry.scoring.policies import get_policy, name_listings
    from socialcredit.registry.scoring.runs import run_in_force

    run = run_in_force(store, policy)
    loaded = get_policy(store, str(run["policy_id"]), str(run["policy_version"])).policy
    policy_named = f"{loaded.name.get(lang)} {run['policy_version']}"
    words = {f"tier_{t.id}": tier_label(loaded, t.id, lang) for t in loaded.tiers} if lang == "zh" else {}
    if list_id == "top":
        return ("排名" if lang == "zh" else "top"), policy_named, words
    head = {"policy_id": run["policy_id"], "policy_version": run["policy_version"], "list_id": list_id}
    named = [head | {"criterion_id": c.id} for c in loaded.list_spec(list_id).criteria]
    name_listings(store, named, lang)
    words |= {str(x["criterion_id"]): str(x["criterion_text"]) for x in named}
    return loaded.list_spec(list_id).name.get(lang), policy_named, words


def _members_as_decided(
    store: Store, list_id: str, policy: str | None, limit: int, lang: str = "en"
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A list's members (``list_members``) with their listings as decisions now stand, as the API's page of a list
    says them: the listed subjects changed since the run rescored as a live pass has them (``live_since_run``), by
    the same rule (``held_now``). Reads the store only, and only that policy's run: the rows, and the listings in
    effect decisions no longer apply, each with ``held`` and ``held_why``."""
    from socialcredit.registry.reporting.listing_details import held_ids, held_now, live_since_run
    from socialcredit.registry.reporting.report import list_members
    from socialcredit.registry.scoring.runs import run_in_force

    run = run_in_force(store, policy)
    listings = store.rows(
        "SELECT * FROM listings WHERE policy_id = ? AND list_id = ? AND status = 'effective' ORDER BY listing_id",
        [run["policy_id"], list_id],
    )
    live = live_since_run(store, listings)
    rows = list_members(
        store, list_id, policy_id=policy, limit=limit, actor="cli", held=lambda s, xs: held_ids(s, xs, live)
    )
    shown = {r["subject_id"] for r in rows if r.get("listing") == "held"}
    mine = [x for x in listings if x["subject_id"] in shown]
    runs = {str(run["policy_id"]): int(run["run_id"])}
    held = [x for x in held_now(store, mine, live, lang, runs=runs) if "held" in x]
    return rows, held


@_app.command(rich_help_panel=RECORDS)
def consent(
    subject: Annotated[str, typer.Argument(help="Identity number.")],
    category: Annotated[str, typer.Argument(help="Data category, e.g. commercial.")],
    grant: Annotated[bool, typer.Option("--grant/--withdraw", help="Opt in or out.")] = True,
    db: DbOpt = DEFAULT_DB,
) -> None:
    """Record a resident's consent (or its withdrawal) for a data category; effective at the next run."""
    from socialcredit.identifiers import compact_subject_id
    from socialcredit.registry.records.consent import set_consent

    subject = compact_subject_id(subject)  # as in a subjects file: spaces, full-width digits, a lower-case x
    with _store(db) as store:
        set_consent(store, subject, category, grant)
    out.print(f"{subject}: consent to {category} {'granted' if grant else 'withdrawn'}; effective at the next run.")


_RUN_COLUMNS = (
    "run_id",
    "policy_id",
    "policy_version",
    "as_of",
    "mode",
    "base_run_id",
    "watermark",
    "n_subjects",
    "n_rescored",
    "standing",
    "finished_at",
    "in_force",
)


@_app.command(rich_help_panel=SCORING)
def runs(db: DbOpt = DEFAULT_DB, as_json: JsonOpt = False) -> None:
    """Score runs: policy version, as-of date, watermark, mode, and which is in force (what-ifs, reruns, past-dated
    runs and runs behind are not)."""
    from socialcredit.registry.scoring.runs import list_runs

    with _store(db) as store:
        rows = [{k: r[k] for k in _RUN_COLUMNS} for r in list_runs(store)]
    if as_json:
        _json(rows)
        return
    header = ("run", "policy", "version", "as of", "mode", "base", "watermark", "subjects", "computed", "standing")
    table = Table(*header, box=None)
    for r in rows:
        said = "in force" if r["in_force"] else _STANDING_WORDS.get(str(r["standing"]), str(r["standing"]))
        table.add_row(*(str(r[k]) if r[k] is not None else "" for k in _RUN_COLUMNS[:9]), said)
    out.print(table)


@state_app.command("show")
def state_show(db: DbOpt = DEFAULT_DB, as_json: JsonOpt = False) -> None:
    """Every kept scoring state: policy version, the change it reflects (watermark), rows, when it was built."""
    from socialcredit.registry.scoring.state import list_states

    with _store(db) as store:
        states = list_states(store)
    if as_json:
        _json([s.as_dict() for s in states])
        return
    if not states:
        out.print("No scoring state is kept yet: a score run builds one for its policy version.")
        return
    table = Table("policy", "version", "watermark", "rows", "built at", box=None)
    for s in states:
        table.add_row(s.policy_id, s.policy_version, str(s.watermark), str(s.rows), f"{s.built_at:%Y-%m-%d %H:%M:%S}")
    out.print(table)


PolicyArg = Annotated[
    str, typer.Argument(help="A policy id (its newest published version), ID@VERSION, or a policy file.")
]


@state_app.command("build")
def state_build(policy: PolicyArg, db: DbOpt = DEFAULT_DB, as_json: JsonOpt = False) -> None:
    """Build a policy version's scoring state from the records (or build it again), at the latest change."""
    from socialcredit.registry.scoring.policies import resolve_policy
    from socialcredit.registry.scoring.state import build_state

    with _store(db) as store:
        info = build_state(store, resolve_policy(store, policy))
    if as_json:
        _json(info.as_dict())
        return
    out.print(
        f"Built the scoring state of {info.policy_id} {info.policy_version}: {counted(info.rows, 'row')} at change "
        f"{info.watermark}."
    )


@state_app.command("check")
def state_check(policy: PolicyArg, db: DbOpt = DEFAULT_DB, as_json: JsonOpt = False) -> None:
    """Compare a kept scoring state with a fresh build from the records; exit 1 if they differ."""
    from socialcredit.registry.scoring.policies import resolve_policy
    from socialcredit.registry.scoring.state import check_state

    with _store(db) as store:
        checked = check_state(store, resolve_policy(store, policy))
    name = f"{checked['policy_id']} {checked['policy_version']}"
    if as_json:
        _json(checked)
    elif checked["ok"]:
        out.print(
            f"The scoring state of {name} equals a fresh build: {counted(checked['rows'], 'row')} at change "
            f"{checked['watermark']}."
        )
    else:
        out.print(
            f"The scoring state of {name} differs from a fresh build at change {checked['watermark']}: "
            f"{counted(checked['missing'], 'row')} missing, {counted(checked['extra'], 'row')} extra; "
            f"{counted(checked['rows'], 'row')} kept "
            f"(score_states counts {checked['rows_recorded']}), {checked['fresh_rows']} built afresh."
        )
        for item, n in checked["by_item"].items():
            out.print(f"  {item}: {n['missing']} missing, {n['extra']} extra", markup=False, highlight=False)
        out.print(f"`socialcredit state build {policy}` builds it again.", markup=False, highlight=False)
    if not checked["ok"]:
        _failed(f"the scoring state of {name} differs from a fresh build")


@state_app.command("drop")
def state_drop(policy: PolicyArg, db: DbOpt = DEFAULT_DB) -> None:
    """Drop a policy version's scoring state: ingest no longer keeps it; the next score run builds it again."""
    from socialcredit.registry.scoring.policies import resolve_policy
    from socialcredit.registry.scoring.state import drop_state

    with _store(db) as store:
        loaded = resolve_policy(store, policy)
        dropped = drop_state(store, loaded)
    name = f"{loaded.policy.id} {loaded.policy.version}"
    out.print(f"Dropped the scoring state of {name}." if dropped else f"{name} has no scoring state.")


@policy_app.command("check")
def policy_check(
    file: Annotated[Path, typer.Argument(help="Policy YAML file.", metavar="FILE")], db: DbOpt = DEFAULT_DB
) -> None:
    """Validate a policy file (against the store's published catalog, when there is a store); every problem names
    file, line and rule."""
    from socialcredit.cli_catalog import store_catalog
    from socialcredit.policy import load_policy

    version, catalog = store_catalog(db)
    loaded = load_policy(file, catalog)
    p = loaded.policy
    against = f" against the store's catalog version {version}" if catalog is not None else ""
    out.print(
        f"{file}: policy {p.id} version {p.version} is valid{against}: {counted(len(p.rules), 'rule')}, "
        f"{counted(len(p.lists), 'list')}, {counted(len(p.services), 'service')} (sha256 {loaded.sha256[:12]})."
    )


def _in_force(db: Path, ref: str) -> Any:
    """The policy ``ref`` (ID or ID@VERSION) as the store at ``db`` has it in force (its newest published version) or
    names it, read without writing; the shipped policy when the store has no version of it (or there is no store)."""
    from socialcredit.errors import NotFoundError
    from socialcredit.policy import BUILTIN_POLICIES, builtin_policy
    from socialcredit.registry.scoring.policies import get_policy, newest_version
    from socialcredit.store import open_store

    policy_id, at, version = ref.partition("@")
    shipped = builtin_policy(policy_id).policy.version if policy_id in BUILTIN_POLICIES else None
    if db.is_file():  # a store that cannot be read is said so (in use, encrypted): not explained as shipped
        with open_store(db, read_only=True) as store:
            if at:
                try:
                    return get_policy(store, policy_id, version)
                except NotFoundError:
                    if version != shipped:  # the shipped version is explained unpublished, as it is scored
                        raise
            elif newest_version(store, policy_id) is not None:
                return get_policy(store, policy_id)
    if at and version != shipped:
        raise NotFoundError(f"no store at {db} to read {ref} from (a published version lives in a store)")
    return builtin_policy(policy_id)


@policy_app.command("explain")
def policy_explain(
    policy: Annotated[
        str,
        typer.Argument(
            help="A policy id (the version the store has in force, else the shipped one), ID@VERSION, or a policy file."
        ),
    ],
    lang: LangOpt = "en",
    codes: Annotated[
        bool, typer.Option("--codes", help="The operators' table: rule ids, conditions as written, reason codes.")
    ] = False,
    db: DbOpt = DEFAULT_DB,
) -> None:
    """A policy in plain words, as its public page says it (or, with --codes, the operators' rule table): by id, the
    version a score run would use; a policy file is read against the store's published catalog when there is a
    store."""
    from socialcredit.cli_catalog import store_catalog
    from socialcredit.policy import load_policy
    from socialcredit.policy.explain import explain_policy, explain_words

    is_file = policy.endswith((".yaml", ".yml"))
    loaded = load_policy(policy, store_catalog(db)[1]) if is_file else _in_force(db, policy)
    text = explain_policy(loaded, lang) if codes else explain_words(loaded, lang)
    out.print(text, markup=False, highlight=False)


@policy_app.command("lint")
def policy_lint(
    policy: Annotated[str, typer.Argument(help="Shipped policy id or a policy file.")],
    profile: Annotated[str, typer.Option(help="Legal profile: cn, eu or us.")] = "cn",
    as_json: JsonOpt = False,
    db: Annotated[
        Path | None,
        typer.Option(
            "--db", help="A store with a run of this policy version: add its disparity audit.", metavar="FILE"
        ),
    ] = None,
    lang: LangOpt = "en",
) -> None:
    """What a valid policy may still get wrong, with rule ids (docs/policy-lint.md); exit 1 on any error. With --db,
    the disparity audit of the policy's latest run in that store too (docs/policy-lab.md). A file that is not a
    valid policy is refused with its problems, in ``--lang`` where their words have Chinese."""
    from socialcredit.cli_catalog import store_catalog
    from socialcredit.policy import builtin_policy, load_policy
    from socialcredit.policy.lint import PROFILES, lint_counts, lint_policy

    if profile not in PROFILES:
        raise typer.BadParameter(
            f"{profile!r} is not a profile; profiles: {', '.join(PROFILES)}", param_hint="--profile"
        )
    if policy.endswith((".yaml", ".yml")):  # a file is read against the store's catalog (--db or the default store)
        loaded = load_policy(policy, store_catalog(db if db is not None else DEFAULT_DB)[1])
    else:
        loaded = builtin_policy(policy)
    lint_findings = lint_policy(loaded, profile)
    counts = lint_counts(lint_findings)  # an overridden finding (with its written justification) fails nothing
    from socialcredit.cli_lab import disparity_for_lint

    audit, disparities = disparity_for_lint(db, loaded.policy.id, loaded.sha256) if db else (None, [])
    for d in disparities:  # the disparity audit's findings are warnings and notes, never errors
        counts[d["level"]] += 1
    findings: list[dict[str, Any]] = [f.as_dict() for f in lint_findings] + list(disparities)
    if as_json:
        _json(
            {
                "policy": loaded.policy.id,
                "profile": profile,
                "counts": counts,
                "findings": findings,
                **({"disparity_run": audit["run_id"] if audit else None} if db else {}),
            }
        )
    else:
        for f in findings:
            out.print(_finding_text(f), markup=False, highlight=False, emoji=False)
        if db and audit is None:
            out.print(f"{db} has no run of {loaded.policy.id} {loaded.policy.version}: no disparity audit.")
        summary = ", ".join(f"{n} {lvl}{'s' if n != 1 else ''}" for lvl, n in counts.items() if lvl != "overridden")
        summary += f", {counts['overridden']} overridden" if "overridden" in counts else ""
        out.print(f"{loaded.policy.id} {loaded.policy.version} under profile {profile}: {summary}.", highlight=False)
    if counts["error"]:
        n = counts["error"]
        _failed(f"{loaded.policy.id} {loaded.policy.version}: {n} error{'s' if n != 1 else ''} under profile {profile}")


def _finding_text(f: dict[str, Any]) -> str:
    """A finding as one line, as ``str(Finding)`` writes it (a disparity finding is a dict of the same keys)."""
    from socialcredit.policy.lint import RULES

    name = RULES[f["rule"]][0] if f["rule"] in RULES else "disparity across groups"
    text = f"{f['where']}: {f['level']} {f['rule']} ({name}): {f['message']}"
    return text if f.get("overridden") is None else f"{text} — overridden: {f['overridden']}"


@audit_app.command("verify")
def audit_verify(
    db: DbOpt = DEFAULT_DB,
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint",
            help="Verify against this checkpoint file (an auditor's copy) instead of the store's own checkpoints.",
            metavar="FILE",
        ),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            help="The registry's public key (base64, from `audit key`) the checkpoint must be signed with; "
            "default: the key recorded in the store.",
            metavar="PUBLIC_KEY",
        ),
    ] = None,
    lang: LangOpt = "en",
) -> None:
    """Recompute the hash chain; name every altered, removed or reordered entry; then compare the chain with the
    latest signed checkpoint (a cut end, a rewritten chain, renumbered entries). Exits 1 on any problem."""
    from socialcredit.registry.access.checkpoints import verify_audit_log

    with _store(db) as store:
        check = verify_audit_log(store, checkpoint, key)
    if check.problems:
        for p in check.problems:
            out.print(f"[red]{escape(p.said_in(lang))}[/]", markup=True, highlight=False)
        n = len(check.problems)
        _failed(
            f"审计日志不完整：发现 {n} 个问题"
            if lang == "zh"
            else f"the audit log is not intact: {counted(n, 'problem')} found",
            lang,
        )
    cp = check.checkpoint
    if lang == "zh":
        said = f"审计日志完整：共 {check.entries} 条。"
        if cp is None:
            said += "尚无检查点：请用 `socialcredit audit checkpoint` 生成。"
        else:
            said += (
                f"与 {cp.at} 的检查点一致（至第 {cp.seq} 条，共 {cp.count} 条，来自 {check.checkpoint_source}）；"
                f"其后的 {check.entries - cp.count} 条仅由哈希链保证。"
            )
        out.print(said, highlight=False)
        return
    later = f"{check.entries - cp.count} entr{'y' if check.entries - cp.count == 1 else 'ies'}" if cp else ""
    if cp is None:
        out.print(
            f"The audit log is intact: {counted(check.entries, 'entry', 'entries')}. No checkpoint yet: make one with "
            "`socialcredit audit checkpoint`.",
            highlight=False,
        )
        return
    out.print(
        f"The audit log is intact: {counted(check.entries, 'entry', 'entries')}. It matches {cp.label} "
        f"({counted(cp.count, 'entry', 'entries')} up to entry "
        f"{cp.seq}, from {check.checkpoint_source}); {later} after it {'rests' if later == '1 entry' else 'rest'} on "
        "the chain alone.",
        highlight=False,
    )


@audit_app.command("checkpoint")
def audit_checkpoint(
    db: DbOpt = DEFAULT_DB,
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="Also write the checkpoint to this file, for an outside auditor.", metavar="FILE"),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Sign the audit chain's head with the registry's key (made on first use) and append it to the store's
    checkpoints (<db>.checkpoints/); keep a copy elsewhere to catch a cut or rewritten chain later."""
    from socialcredit.registry.access.checkpoints import checkpoint_file, write_checkpoint
    from socialcredit.registry.access.signing import fingerprint

    with _store(db) as store:
        cp = write_checkpoint(store, out_file)
        kept = checkpoint_file(store)
    if as_json:
        _json(cp.as_dict())
        return
    where = f"{kept}" + (f" and {out_file}" if out_file else "")
    out.print(
        f"Checkpoint of {cp.at}: {counted(cp.count, 'entry', 'entries')} up to entry {cp.seq}, head {cp.head[:16]}…, "
        f"signed with key {fingerprint(cp.key)}; written to {where}.",
        highlight=False,
    )


@audit_app.command("key")
def audit_key(db: DbOpt = DEFAULT_DB) -> None:
    """Print the registry's public key that signs its checkpoints (for `audit verify --key`)."""
    from socialcredit.errors import CheckpointError
    from socialcredit.registry.access.signing import fingerprint, recorded_public_key, registry_key_path

    with _store(db) as store:
        public = recorded_public_key(store)
        path = registry_key_path(store)
    if public is None:
        raise CheckpointError(
            f"this store has signed no checkpoint yet (its key would be {path}): run `socialcredit audit checkpoint` "
            "first"
        )
    out.print(f"Key {fingerprint(public)} ({path}):", highlight=False)
    out.print(public, highlight=False)


@_app.command(rich_help_panel=RECORDS)
def generate(
    residents: Annotated[int, typer.Option(help="How many residents (adults).", metavar="N")] = 200_000,
    years: Annotated[int, typer.Option(help="Years of records.", metavar="N", min=1)] = 3,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same population.", metavar="N")] = 0,
    folder: Annotated[Path, typer.Option("--out", help="Folder to write Parquet files into.", metavar="DIR")] = Path(
        "population"
    ),
    as_json: JsonOpt = False,
) -> None:
    """Write a synthetic Beijing (residents, employers, records of every source) as Parquet."""
    from socialcredit.generate import generate as generate_

    if residents < 1:
        raise SocialCreditError("--residents must be at least 1")
    with _progress("generate", not as_json) as step:
        summary = generate_(residents, years=years, seed=seed, out=folder, progress=step)
    if as_json:
        _json({**summary.__dict__, "out": str(summary.out)})
        return
    out.print(
        f"{counted(summary.residents, 'resident')}, {counted(summary.organisations, 'organisation')}, "
        f"{counted(summary.records, 'record')} "
        f"({summary.records / summary.residents:.1f} per resident) in {summary.seconds:.1f} s, written to {folder}/"
    )


def _score_files(
    policy: str,
    as_of: dt.date,
    input_dir: Path,
    out_dir: Path | None,
    store_only: list[str],
    as_json: bool,
    lang: str = "en",
) -> None:
    """`score --input DIR`: the files scored by DuckDB in memory; no store is opened (nor created). ``store_only``
    names the options given that are about the store: a usage error (exit 2)."""
    from socialcredit.registry.scoring.files import score_files
    from socialcredit.registry.scoring.policies import policy_without_store

    if store_only:
        raise typer.BadParameter(
            f"cannot be used with {' or '.join(store_only)}: --input scores the files in memory, without a store",
            param_hint="--input",
        )
    from socialcredit.backends.files import export_catalog

    loaded = policy_without_store(policy, export_catalog(input_dir))
    with _progress("score", not as_json) as step:
        manifest = score_files(input_dir, loaded, as_of, out_dir, progress=step)
    if as_json:
        _json({k: v for k, v in manifest.items() if k != "policy_text"})
        return
    export = manifest["input"]["kind"] == "export"
    p, n, took, lists = loaded.policy, manifest["summary"]["subjects"], manifest["seconds"], manifest["lists"]
    if lang == "zh":
        kind = "导出数据" if export else "生成的人口"
        written = f"结果在 {out_dir}" if out_dir is not None else "未写入任何文件（--out DIR 写入结果）"
        said = (
            f"已在内存中按 {p.id} {p.version}（评分日期 {as_of}）为 {input_dir}（{kind}）的 {n} 个主体评分，"
            f"用时 {took:.1f} 秒；{_list_counts(lists, lang)}；{written}。"
        )
    else:
        kind = "an export" if export else "a generated population"
        written = f"results in {out_dir}" if out_dir is not None else "nothing written (--out DIR writes the results)"
        said = (
            f"Scored {counted(n, 'subject')} of {input_dir} ({kind}) under {p.id} {p.version} as of {as_of} in "
            f"memory in {took:.1f} s; {_list_counts(lists)}; {written}."
        )
    out.print(said)
    headings = ("类型", "主体数", "最低", "p25", "中位数", "p75", "最高", "平均", "等级") if lang == "zh" else ()
    table = Table(*(headings or ("kind", "subjects", "min", "p25", "median", "p75", "max", "mean", "tiers")), box=None)
    for k in manifest["summary"]["kinds"]:
        tiers = ", ".join(f"{tier} {n}" for tier, n in k["tiers"].items())
        table.add_row(*(str(k[c]) for c in ("kind", "subjects", "min", "p25", "median", "p75", "max", "mean")), tiers)
    out.print(table)


def _given(ctx: typer.Context, param: str) -> bool:
    """Whether the option ``param`` was typed on the command line (not its default, nor from the environment)."""
    source = ctx.get_parameter_source(param)
    return source is not None and source.name == "COMMANDLINE"


def _score_on_spark(
    policy: str,
    as_of: dt.date,
    master: str,
    input_dir: Path | None,
    out_dir: Path | None,
    store_only: bool,
    from_records: bool,
    as_json: bool,
    lang: str = "en",
) -> None:
    from socialcredit.registry.scoring.export import score_on_spark
    from socialcredit.registry.scoring.policies import policy_without_store

    if store_only:
        raise SocialCreditError(
            "--incremental and --rerun are runs of the store itself; use --engine duckdb",
            zh="--incremental 与 --rerun 是对存储本身的评分；请用 --engine duckdb",
        )
    if input_dir is None or out_dir is None:
        raise SocialCreditError(
            "--engine spark needs --input (a folder from `socialcredit export` or `socialcredit generate`) and --out",
            zh="--engine spark 需要 --input（`socialcredit export` 或 `socialcredit generate` 生成的文件夹）和 --out",
        )
    from socialcredit.backends.files import export_catalog

    loaded = policy_without_store(policy, export_catalog(input_dir))
    err.print(
        f"正在 Spark（{master}）上为 {input_dir} 评分……"
        if lang == "zh"
        else f"Scoring {input_dir} on Spark ({master}) …"
    )
    manifest = score_on_spark(input_dir, loaded, as_of, out_dir, master=master, from_records=from_records)
    if as_json:
        _json({k: v for k, v in manifest.items() if k != "policy_text"})
        return
    lists = _list_counts(manifest["lists"], lang)
    if lang == "zh":
        read = f"由记录生成的评分状态（{manifest['state_rows']} 行）" if manifest["source"] == "state" else "记录"
        out.print(
            f"已在 Spark {manifest['spark']}（{manifest['master']}）上按 {loaded.policy.id} {loaded.policy.version}"
            f"（评分日期 {as_of}）为 {input_dir} 的 {manifest['counts']['results']} 个主体评分，用时 "
            f"{manifest['seconds']:.1f} 秒，读取{read}；{lists}。结果在 {out_dir}"
            + ("；请用 `socialcredit publish` 载入存储。" if manifest["input"]["kind"] == "export" else "。")
        )
        return
    read = (
        f"the scoring state built from it ({counted(manifest['state_rows'], 'row')})"
        if manifest["source"] == "state"
        else "the records"
    )
    out.print(
        f"Scored {counted(manifest['counts']['results'], 'subject')} of {input_dir} under {loaded.policy.id} "
        f"{loaded.policy.version} as of {as_of} on Spark {manifest['spark']} ({manifest['master']}) in "
        f"{manifest['seconds']:.1f} s, reading {read}; {lists}. Results in {out_dir}"
        + ("; load them into the store with `socialcredit publish`." if manifest["input"]["kind"] == "export" else ".")
    )


class ExportFormat(StrEnum):
    parquet = "parquet"


@_app.command(rich_help_panel=SCORING)
def export(
    out_dir: Annotated[Path, typer.Option("--out", help="An empty folder for the export.", metavar="DIR")],
    fmt: Annotated[
        ExportFormat, typer.Option("--format", help="Only parquet for now.", metavar="[parquet]")
    ] = ExportFormat.parquet,
    clear_ids: Annotated[
        bool,
        typer.Option(
            "--clear-ids",
            help="Write identity numbers in clear; by default an encrypted store's export names subjects by keyed "
            "pseudonyms (publish maps them back).",
        ),
    ] = False,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Export what a score run reads (subjects, counting records, consents) as Parquet, for Spark."""
    from socialcredit.registry.scoring.export import export_inputs

    with _store(db) as store:
        manifest = export_inputs(store, out_dir, clear_ids=clear_ids)
        encrypted = store.encrypted
    if encrypted:
        named = "identity numbers in clear" if manifest["ids"] == "clear" else "subjects by keyed pseudonyms"
        err.print(
            f"[bold yellow]The store is encrypted; the export in {escape(str(out_dir))} is not[/] (it names {named}). "
            "Keep it as safe.",
            markup=True,
        )
    if as_json:
        _json(manifest)
        return
    out.print(
        f"Exported {counted(manifest['subjects'], 'subject')} and {counted(manifest['records'], 'record')} (watermark "
        f"{manifest['watermark']}) to {out_dir}."
    )


@_app.command(rich_help_panel=SCORING)
def publish(
    results: Annotated[Path, typer.Argument(help="The --out folder of `score --engine spark`.", metavar="DIR")],
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Load results computed on Spark into the store as a run (decisions and reports then use it)."""
    from socialcredit.registry.scoring.export import publish_results

    with _store(db) as store:
        summary = publish_results(store, results)
    if as_json:
        _json(summary.as_dict())
        return
    lists = _list_counts(summary.list_counts)
    out.print(
        f"Run {summary.run_id}: {summary.policy_id} {summary.policy_version} as of {summary.as_of} "
        f"(published from {results}): {counted(summary.subjects, 'subject')}; {lists}."
    )


@keys_app.command("issue")
def keys_issue(
    role: Annotated[str, typer.Option(help="furnisher, relying_party, resident, operator or auditor.")],
    name: Annotated[str, typer.Option(help="Who the party is (e.g. 'China Railway 12306').", metavar="NAME")],
    source: Annotated[str | None, typer.Option(help="Furnisher: its source.")] = None,
    service: Annotated[list[str] | None, typer.Option(help="Relying party: a service it may ask (repeat).")] = None,
    purpose: Annotated[list[str] | None, typer.Option(help="Relying party: a declared purpose (repeat).")] = None,
    subject: Annotated[str | None, typer.Option(help="Resident: their identity number.")] = None,
    policy: Annotated[
        str | None, typer.Option(help="Relying party: the policy it relies on (its decisions use its runs).")
    ] = None,
    agency: Annotated[
        str | None, typer.Option(help="Relying party: the memorandum's agency it acts for (docs/organisations.md).")
    ] = None,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Register a party and issue its API key (shown once; the store keeps only its hash)."""
    from socialcredit.registry.access.parties import issue_key

    with _store(db) as store:
        issued = issue_key(
            store,
            role,
            name,
            source=source,
            services=service,
            purposes=purpose,
            subject=subject,
            policy=policy,
            agency=agency,
        )
    if as_json:
        _json({**issued.party.as_dict(), "key": issued.token})
        return
    bound = f", bound to policy {issued.party.policy_id}" if issued.party.policy_id else ""
    out.print(
        f"Issued key {issued.party.key_id} to {issued.party.name} ({issued.party.role}{bound}). The key, shown once:",
        markup=False,
        highlight=False,
    )
    out.print(issued.token, markup=False, highlight=False)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (the 12 hex digits after sc_).", metavar="KEY_ID")],
    db: DbOpt = DEFAULT_DB,
) -> None:
    """Revoke a key: every later request with it is refused (401) and audited."""
    from socialcredit.registry.access.parties import revoke_key

    with _store(db) as store:
        revoke_key(store, key_id)
    out.print(f"Revoked key {key_id}.")


@keys_app.command("list")
def keys_list(db: DbOpt = DEFAULT_DB, as_json: JsonOpt = False) -> None:
    """Every key: party, role, scope, issued and revoked (never the secret)."""
    from socialcredit.registry.access.parties import list_keys

    with _store(db) as store:
        rows = list_keys(store, actor="cli")  # a resident's key names the resident: audited, as dispute list is
    if as_json:
        _json(rows)
        return
    table = Table("key", "role", "name", "scope", "issued", "revoked")
    for r in rows:
        scope = r["source_id"] or r["subject_id"] or ", ".join([*(r["services"] or []), *(r["purposes"] or [])])
        scope = escaped(scope)  # declared purposes as sent (a store may hold some from before they were checked)
        if r.get("policy_id"):
            scope += f" (policy {r['policy_id']})"
        table.add_row(  # a name as a store holds it: maybe one from before names were checked, as purposes
            r["key_id"],
            r["role"],
            escaped(r["name"]),
            scope or "",
            f"{r['created_at']:%Y-%m-%d}",
            str(r["revoked_at"] or ""),
        )
    out.print(table)


@keys_app.command("link")
def keys_link(
    subject: Annotated[str | None, typer.Argument(help="The resident's identity number.")] = None,
    key: Annotated[
        str | None, typer.Option("--key", help="Instead: a link for the party of this key id.", metavar="KEY_ID")
    ] = None,
    hours: Annotated[int, typer.Option(help="Hours the link stays valid (1 to 720).", metavar="N")] = 24,
    base_url: Annotated[
        str, typer.Option(help="Address of the running service.", metavar="URL")
    ] = "http://127.0.0.1:8000",
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """A one-time sign-in link to the web pages, for a resident or for the party of a key (operator)."""
    from socialcredit.registry.access.signin import issue_link

    with _store(db) as store:
        link = issue_link(store, subject=subject, key_id=key, hours=hours)
    url = f"{base_url.rstrip('/')}/signin/link?token={link.token}"
    if as_json:
        _json(
            {"link_id": link.link_id, "role": link.role, "name": link.name, "expires_at": link.expires_at, "url": url}
        )
        return
    out.print(f"Sign-in link {link.link_id} for {link.name} ({link.role}), valid once until {link.expires_at} UTC:")
    out.print(url, markup=False, highlight=False)


@_app.command(rich_help_panel=SERVICE)
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.", metavar="ADDRESS")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.", min=1, max=65535)] = 8000,
    db: DbOpt = DEFAULT_DB,
) -> None:
    """Run the HTTP service (it owns the store while it runs; the OpenAPI spec is at /openapi.json)."""
    from socialcredit.api.app import create_app

    service = create_app(db)  # the store opened first: a store that is missing or in use is not said to be served
    err.print(f"Serving {db} on http://{host}:{port} (docs at /docs).")
    # the limits are per client address: X-Forwarded-For is not believed (uvicorn believes it from loopback)
    from socialcredit.serving import serve_until_stopped

    serve_until_stopped(service, host, port, proxy_headers=False)


@_app.command(rich_help_panel=RECORDS)
def load(
    folder: Annotated[Path, typer.Argument(help="A folder written by `socialcredit generate`.", metavar="DIR")],
    db: DbOpt = DEFAULT_DB,
) -> None:
    """Ingest a generated population: subjects, every source's records, consents.

    Loading the same folder again changes nothing: files loaded before are skipped, consents already chosen kept.
    After a crash, loading it again completes it.
    """
    from socialcredit.registry.records.population import load_population

    def report(r: Any) -> None:
        err.print(f"  {r.file}: {r.accepted} accepted, {r.unchanged} unchanged, {r.rejected} rejected")
        if r.reject_error:
            err.print(
                f"  [bold yellow]warning:[/] the rejected rows were not written: {escape(r.reject_error)}", markup=True
            )

    def skipped(s: Any) -> None:
        err.print(f"  {s.file}: loaded before (batch {s.batch_id}), skipped")

    with _store(db, create=True) as store:
        done = load_population(store, folder, on_file=report, on_skip=skipped)
    consents = f"{counted(done.consents, 'consent')} recorded, {done.consents_unchanged} unchanged"
    if not done.changed:
        out.print(
            f"Loaded {folder} before: nothing changed ({counted(len(done.skipped), 'file')} skipped, {consents})."
        )
        return
    out.print(
        f"Loaded {folder}: {counted(done.accepted, 'row')} accepted, {done.rejected} rejected from "
        f"{counted(len(done.reports), 'file')}"
        + (f" ({len(done.skipped)} loaded before, skipped)" if done.skipped else "")
        + f"; {consents}."
    )
    if done.rejected:
        files = sum(1 for r in done.reports if r.rejected)
        _failed(
            f"{folder}: {counted(done.rejected, 'row')} rejected, in {files} of {counted(len(done.reports), 'file')}"
        )


@_app.command(rich_help_panel=MAIN_JOB)
def demo(
    db: Annotated[Path, typer.Option("--db", help="Store to build.", metavar="FILE")] = Path(
        "socialcredit-demo.duckdb"
    ),
    residents: Annotated[int, typer.Option(help="Residents of the generated city.", metavar="N", min=1)] = 200_000,
    seed: Annotated[int, typer.Option(help="Random seed of the generated city.", metavar="N")] = 0,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Stop after scoring; do not serve the pages.")] = False,
    port: Annotated[int, typer.Option(help="Port of the pages (on 127.0.0.1).", min=1, max=65535)] = 8000,
) -> None:
    """The main job: a district-sized Beijing, scored under both policies, then its web pages.

    Generate the city, ingest it, score it under both policies and summarise.
    Then serve the web pages on 127.0.0.1, with sign-in links for an operator and a resident, until Ctrl-C.
    """
    from socialcredit.demo import run_demo

    run_demo(db, residents=residents, seed=seed, console=out, serve=not no_serve, port=port)


def _matchmaking() -> None:
    from socialcredit.matchmaking.cli import match_app

    _app.add_typer(match_app, name="matchmaking", rich_help_panel=DECISIONS)


def _regions() -> None:
    from socialcredit.regions.cli import region_app
    from socialcredit.regions.linkcli import link_command

    _app.add_typer(region_app, name="region", rich_help_panel=REGIONS)
    _app.command("link", rich_help_panel=REGIONS)(link_command)  # link any two tables with a model (docs/linkage.md)


def _due_process() -> None:
    from socialcredit.cli_due_process import register_due_process

    register_due_process(_app)  # dispute, repair, override, file, due, notices, lookup, consents (cli_due_process.py)


def _freeze() -> None:
    from socialcredit.cli_freeze import register_freeze

    register_freeze(_app)  # freeze, fraud-alert (cli_freeze.py)


def _lab() -> None:
    from socialcredit.cli_lab import register_lab

    register_lab(policy_app)  # policy impact, publish, history, drift (cli_lab.py)


def _memoranda() -> None:
    from socialcredit.cli_memoranda import memorandum_app

    _app.add_typer(memorandum_app, name="memorandum", rich_help_panel=SCORING)  # joint-punishment memoranda


def _scorecard() -> None:
    from socialcredit.cli_scorecard import register_scorecard

    register_scorecard(_app)  # scorecard fit, scorecard outcomes (cli_scorecard.py)


def _catalog() -> None:
    from socialcredit.cli_catalog import register_catalog

    register_catalog(_app)  # catalog show, check, publish (cli_catalog.py)


# The command groups of the other modules, each with the names it gives the root (policy: the subcommands it adds to
# `policy`): a command line that names one imports that module alone (_registered). In the help, the root lists its
# commands, then its groups, each in the order registered: the regions' commands first (`link`), then this module's,
# then the others' in this order; its groups this module's first, then these in this order.
_GROUPS: tuple[tuple[Callable[[], None], frozenset[str]], ...] = (
    (_matchmaking, frozenset({"matchmaking"})),
    (_regions, frozenset({"region", "link"})),
    (
        _due_process,
        frozenset(
            {
                "dispute",
                "repair",
                "override",
                "file",
                "due",
                "notices",
                "lookup",
                "consents",
                "notifications",
                "contact",
            }
        ),
    ),
    (_freeze, frozenset({"freeze", "fraud-alert"})),
    (_lab, frozenset({"policy"})),
    (_memoranda, frozenset({"memorandum"})),
    (_scorecard, frozenset({"scorecard"})),
    (_catalog, frozenset({"catalog"})),
)
_FIRST = _regions  # the group whose commands come before this module's
# What each group registered: the root's commands, the root's groups, policy's commands (in the order of _GROUPS).
_ADDED: dict[Callable[[], None], tuple[list[CommandInfo], list[TyperInfo], list[CommandInfo]]] = {}
_OWN: list[tuple[list[CommandInfo], list[TyperInfo], list[CommandInfo]]] = []  # this module's, as at its import


def _name(command: CommandInfo) -> str:
    """The name a root command is called by (Typer's: its function's name, dashed, unless it was given one)."""
    return command.name or getattr(command.callback, "__name__", "").replace("_", "-")


def _registered(args: list[str] | None = None) -> typer.Typer:
    """The root app with the commands a command line needs: of ``args`` (a command line's words) naming a command or
    a group, that one alone (and the module that registers it imported alone); anything else (no command, an option
    first, a name no command has: a help or an error that lists or suggests the commands), under shell completion or
    with ``args`` None, every command. The groups of other modules are registered in the order of _GROUPS whatever
    the order asked in, so that every help lists its commands as it did when the root registered them all at its
    import; Typer builds the commands of the root alone that the command line may run."""
    if not _OWN:
        _OWN.append(
            (list(_app.registered_commands), list(_app.registered_groups), list(policy_app.registered_commands))
        )
    own_commands, own_groups, own_policy = _OWN[0]
    first = args[0] if args else ""
    named = [group for group, names in _GROUPS if first in names]
    own = {_name(c) for c in own_commands} | {g.name for g in own_groups}
    completing = any(k.startswith("_") and k.endswith("_COMPLETE") for k in os.environ)
    every = args is None or completing or not (named or first in own)
    if every:
        named = [group for group, _names in _GROUPS]
    for group in named:
        if group not in _ADDED:
            _app.registered_commands, _app.registered_groups, policy_app.registered_commands = [], [], []
            group()
            _ADDED[group] = (_app.registered_commands, _app.registered_groups, policy_app.registered_commands)
    done = [_ADDED[group] for group, _names in _GROUPS if group in _ADDED]
    first_commands = _ADDED[_FIRST][0] if _FIRST in _ADDED else []
    commands = [
        *first_commands,
        *own_commands,
        *(c for added, _groups, _policy in done if added is not first_commands for c in added),
    ]
    groups = [*own_groups, *(g for _commands, added, _policy in done for g in added)]
    if not every:
        commands = [c for c in commands if _name(c) == first]
        groups = [g for g in groups if g.name == first]
    _app.registered_commands, _app.registered_groups = commands, groups
    policy_app.registered_commands = [*own_policy, *(c for _commands, _groups, added in done for c in added)]
    return _app


def __getattr__(name: str) -> typer.Typer:
    """``app``: the root app with every command (for callers other than :func:`main`: tests, scripts)."""
    if name == "app":
        return _registered()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


INTERRUPTED = 130  # the exit code of a command stopped by Ctrl-C (SIGINT), as in EXIT_CODES


class _Sigint:
    """Python's SIGINT handler that also notes the signal: an interrupt does not always end a command as a
    KeyboardInterrupt (DuckDB answers one within a query with its own RuntimeError, "Query interrupted"; uvicorn
    shuts down and returns), and the exit code must say it was interrupted whatever it ended as."""

    seen = False

    def __call__(self, sig: int, frame: FrameType | None) -> None:
        self.seen = True
        signal.default_int_handler(sig, frame)


def main() -> None:
    """Entry point: exit codes as in :data:`EXIT_CODES`; known errors print a plain message (exit 2), an unexpected
    one a line naming the file with its details (exit 3), Ctrl-C a line saying so (exit 130); nothing prints a stack
    trace."""
    refuse_pandas_to_duckdb()  # no command imports pandas for DuckDB's parameters alone (opening.with_params)
    try:
        logging.basicConfig(level=log_level())
    except SocialCreditError as exc:
        _exit_with(exc)
    os.umask(0o077)  # every file a command writes (the store, its WAL and spill, exports, rejects) is the owner's only
    sigint = _Sigint()
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not where SIGINT is ignored (nohup, `&`)
        signal.signal(signal.SIGINT, sigint)
    try:
        # Outside standalone mode click returns the code of a typer.Exit raised by a command rather than exiting
        # with it: a finding (policy lint, audit verify, state check) exits 1 here. Typer answers a
        # KeyboardInterrupt with the code 130, silently. The root is a group even when the command line's command is
        # the one it holds (Typer's app(), get_command, would make that command the root).
        code = get_group(_registered(sys.argv[1:]))(standalone_mode=False)
        if code == INTERRUPTED or sigint.seen:
            raise KeyboardInterrupt
        if isinstance(code, int) and code:
            sys.exit(code)
    except BaseException as exc:
        if sigint.seen or isinstance(exc, (typer.Abort, KeyboardInterrupt)):
            # A transaction under way is rolled back (a store's every write is one); what was committed stays.
            err.print("interrupted (Ctrl-C): what was committed before stays in the store", highlight=False)
            sys.exit(INTERRUPTED)
        _exit_with(exc)


def _frames_only(exc: BaseException) -> str:
    """The traceback of ``exc`` (and of the exceptions it came from) without their messages: with a store key set,
    nothing the store holds may land on disk in clear, and a message can quote it (a value a query could not
    convert, a subject's identity number), where the crash log is a file in the temporary folder."""
    chain: list[traceback.TracebackException] = []
    te: traceback.TracebackException | None = traceback.TracebackException.from_exception(exc)
    while te is not None:
        chain.append(te)
        te = te.__cause__ or (None if te.__suppress_context__ else te.__context__)
    parts: list[str] = []
    for link in reversed(chain):
        if parts:
            parts.append("\nThe exception above led to this one:\n\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(link.stack.format())
        kind = link.exc_type
        name = f"{kind.__module__}.{kind.__qualname__}" if kind is not None else "an exception"
        parts.append(f"{name}: (its message is not written: a store key is set, and a message may quote the store)\n")
    return "".join(parts)


def _exit_with(exc: BaseException) -> NoReturn:
    """The exit code and the one line on stderr for how a command ended."""
    try:
        raise exc
    except SocialCreditError as known:
        # in the language of the command's --lang, when the error has the message in it (Click's own usage errors,
        # a missing or bad option, print themselves in English)
        said = "[bold red]错误：[/]" if ASKED.lang == "zh" and known.zh else "[bold red]error:[/] "
        err.print(f"{said}{escape(known.said_in(ASKED.lang))}", markup=True, highlight=False)
        sys.exit(2)
    except typer.Exit as ended:
        sys.exit(ended.exit_code)
    except OSError as failed:
        # A file given on the command line that cannot be read or written (no such folder, not a folder, no
        # space left): the command could not run; no bug to report.
        where = f": {failed.filename}" if failed.filename else ""
        err.print(
            f"[bold red]error:[/] {escape((failed.strerror or str(failed)) + where)}", markup=True, highlight=False
        )
        sys.exit(2)
    except Exception:
        # Usage errors (missing option, bad value) come from Typer's click; they print themselves.
        show = getattr(exc, "show", None)
        if callable(show) and isinstance(getattr(exc, "exit_code", None), int):
            # Typer checks a choice (a Literal or an Enum) with pydantic, whose message begins "Value error, ": the
            # user reads "Invalid value for '--engine': 'spork' is not one of 'duckdb', 'spark'."
            message = getattr(exc, "message", None)
            if isinstance(message, str) and message.startswith("Value error, "):
                exc.message = message.removeprefix("Value error, ")  # type: ignore[attr-defined]
            show()
            sys.exit(int(getattr(exc, "exit_code", 2)))
        keyed = _key_set()
        import tempfile  # a crash alone writes a file there

        with tempfile.NamedTemporaryFile("w", prefix="socialcredit-crash-", suffix=".log", delete=False) as fh:
            if keyed:
                fh.write(_frames_only(exc))
            else:
                traceback.print_exc(file=fh)
        if keyed:  # the message may quote what the store holds: its type alone, here as in the file
            said = f"{type(exc).__name__} (its message is not shown: a store key is set, and a message may quote "
            said += "the store)"
        else:  # one line: the rest is in the file
            said = f"{type(exc).__name__}: {escape(next(iter(str(exc).splitlines()), ''))}"
        err.print(
            f"[bold red]internal error:[/] {said}. Details were written to {fh.name}; please report it.",
            markup=True,
            highlight=False,
        )
        sys.exit(3)


_KEYS_TYPED: set[str] = set()  # the store keys this process was given at a terminal (their names, not them)


def _key_set() -> bool:
    """Whether a store key is set, as the settings read it (their names in any case: ``socialcredit_db_key`` opens an
    encrypted store as ``SOCIALCREDIT_DB_KEY`` does) or as typed at a terminal; settings that cannot be read count as
    a key set."""
    if _KEYS_TYPED:
        return True
    try:
        settings = get_settings()
        return bool(settings.key() or settings.new_key())  # the new key alone: a store being encrypted
    except Exception:  # a crash report never fails on the settings: it then keeps frames only
        return True


if __name__ == "__main__":
    main()
