"""Command-line face of scorecards learned from outcomes (docs/scorecard.md): ``scorecard fit`` and
``scorecard outcomes``. A refused outcome file or option prints one line and exits with the code of its case
(``socialcredit.scorecard.EXIT_CODES``), never a traceback."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from socialcredit.cli_help import ASKED, SCORING, JsonOpt, lang_option
from socialcredit.errors import InvalidRequestError, LimitError, SocialCreditError

__all__ = ["register_scorecard", "scorecard_app"]

# Column names, category values and file names are printed as written: no Rich markup (markup=True to style)
out = Console(soft_wrap=True, markup=False, highlight=False)
err = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)

_EPILOG = (
    "Exit codes of fit: 0 fitted; 2 a usage error; 10 the file cannot be read; 11 no rows or no features; "
    "12 no such target column; 13 the target is not binary (or --event is needed); 14 the target has one value; "
    "15 a feature has one value; 16 a protected attribute named as a feature; 17 over a limit (size, rows, "
    "columns, categories, a value's length); 18 an option names no column; 19 too few rows; 20 an invalid option; "
    "21 no feature tells the outcomes apart; 22 optbinning cannot fit the rows."
)

scorecard_app = typer.Typer(
    help="Scorecards learned from outcomes: fit one on a CSV or Parquet file and export it as a policy.",
    no_args_is_help=True,
)


def register_scorecard(app: typer.Typer) -> None:
    """Add ``scorecard`` to the main CLI."""
    app.add_typer(scorecard_app, name="scorecard", rich_help_panel=SCORING)


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def _refused(exc: InvalidRequestError) -> typer.Exit:
    from socialcredit.scorecard.options import EXIT_CODES

    said = (
        "[bold red]错误：[/]" if ASKED.lang == "zh" and exc.zh else "[bold red]error:[/] "
    )  # as every command says it
    err.print(f"{said}{escape(exc.said_in(ASKED.lang))}", markup=True, highlight=False)
    code = EXIT_CODES["limit_exceeded"] if isinstance(exc, LimitError) else EXIT_CODES.get(exc.code, 2)
    return typer.Exit(code)


_WORDS = {
    "en": {
        "head": "Scorecard on {file} (target {target}, event {event}): {rows:,} rows, {train:,} to fit, "
        "{holdout:,} held out (seed {seed}); scale {scale}.",
        "model": "model",
        "card": "scorecard (optbinning)",
        "plain": "plain logistic regression",
        "engine": "Exported policy {id} {version}: {rules} rules. The engine scores the {n:,} held-out rows within "
        "{max} points of optbinning's scorecard (mean {mean}).",
        "feature": "feature",
        "bin": "bin",
        "holds": "holds",
        "count": "rows",
        "rate": "event rate",
        "points": "points",
        "missing": "missing",
        "proxy": "Proxy: {feature} is associated with {protected} (Cramér's V {v} > {t}).",
        "no_proxy": "No feature is a proxy of a protected attribute in the file (Cramér's V ≤ {t}).",
        "no_protected": "The file has no protected attribute to check proxies against.",
        "wrote": "Wrote {path}.",
    },
    "zh": {
        "head": "评分卡：{file}（目标 {target}，事件值 {event}）：{rows:,} 行，{train:,} 行用于拟合，"
        "{holdout:,} 行留作检验（种子 {seed}）；分数范围 {scale}。",
        "model": "模型",
        "card": "评分卡（optbinning）",
        "plain": "普通逻辑回归",
        "engine": "导出的政策 {id} {version}：{rules} 条规则。本系统引擎对 {n:,} 行检验数据的评分与 optbinning "
        "评分卡相差最多 {max} 分（平均 {mean} 分）。",
        "feature": "特征",
        "bin": "档",
        "holds": "取值",
        "count": "行数",
        "rate": "事件率",
        "points": "分值",
        "missing": "缺失",
        "proxy": "代理变量：{feature} 与受保护属性 {protected} 相关（Cramér's V {v} > {t}）。",
        "no_proxy": "文件中没有特征是受保护属性的代理变量（Cramér's V ≤ {t}）。",
        "no_protected": "文件中没有可用于检查代理变量的受保护属性。",
        "wrote": "已写入 {path}。",
    },
}


def _holds(b: dict[str, Any], words: dict[str, str]) -> str:
    if b["kind"] == "missing":
        return words["missing"]
    if b["kind"] == "values":
        return ", ".join(b["values"][:6]) + (" …" if len(b["values"]) > 6 else "")
    low = "-inf" if b["low"] is None else f"{b['low']:,.4g}"
    high = "inf" if b["high"] is None else f"{b['high']:,.4g}"
    return f"[{low}, {high})"


def _print(report: dict[str, Any], lang: str) -> None:
    words = _WORDS[lang]
    scale = report["scale"]
    shown = (
        f"{scale['min']:g}–{scale['max']:g}"
        if scale["method"] == "min_max"
        else f"PDO {scale['pdo']:g}, odds {scale['odds']:g}, {scale['scorecard_points']:g}"
    )
    out.print(
        words["head"].format(
            file=report["outcomes"],
            target=report["target"],
            event=report["event"],
            rows=report["rows"],
            train=report["train_rows"],
            holdout=report["holdout_rows"],
            seed=report["seed"],
            scale=shown,
        ),
        markup=False,
    )
    metrics = Table("", "AUC", "KS", "Gini", title=None)
    for name, key in (("card", "scorecard"), ("plain", "logistic_regression")):
        m = report[key]
        metrics.add_row(words[name], f"{m['auc']:.4f}", f"{m['ks']:.4f}", f"{m['gini']:.4f}")
    out.print(metrics)
    policy, engine = report["policy"], report["engine"]
    out.print(
        words["engine"].format(
            id=policy["id"],
            version=policy["version"],
            rules=policy["rules"],
            n=engine["subjects"],
            max=engine["max_difference"],
            mean=engine["mean_difference"],
        ),
        markup=False,
    )
    bins = Table(words["feature"], words["bin"], words["holds"], words["count"], words["rate"], words["points"])
    for feature, rows in report["bins"].items():
        for b in rows:
            bins.add_row(
                feature,
                str(b["bin"]),
                _holds(b, words),
                f"{b['count']:,}",
                f"{b['event_rate']:.4f}",
                f"{b['points']:.2f}",
            )
    out.print(bins)
    t = report["proxy_threshold"]
    if not report["protected"]:
        out.print(words["no_protected"], markup=False)
    else:
        flagged = [p for p in report["proxies"] if p["proxy"]]
        for p in flagged:
            out.print(
                words["proxy"].format(feature=p["feature"], protected=p["protected"], v=p["cramers_v"], t=t),
                markup=False,
            )
        if not flagged:
            out.print(words["no_proxy"].format(t=t), markup=False)
    for note in report["notes"]:
        out.print(f"- {note[lang]}", markup=False)


@scorecard_app.command("fit", epilog=_EPILOG)
def fit(
    outcomes: Annotated[Path, typer.Argument(help="The outcome file: CSV or Parquet.", metavar="OUTCOMES")],
    target: Annotated[str, typer.Option("--target", help="The binary target column.", metavar="COLUMN")],
    features: Annotated[
        list[str] | None,
        typer.Option("--features", help="The features, comma-separated (default: every other column).", metavar="A,B"),
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="Columns left out, comma-separated.", metavar="A,B")
    ] = None,
    event: Annotated[
        str | None, typer.Option("--event", help="The target's value of the event (when not 0/1).", metavar="VALUE")
    ] = None,
    id_column: Annotated[
        str | None, typer.Option("--id", help="An identifier column, not a feature (default: subject_id).")
    ] = None,
    monotonic: Annotated[
        list[str] | None,
        typer.Option("--monotonic", help="COLUMN=ascending|descending|auto: the event rate's trend over bins."),
    ] = None,
    holdout: Annotated[float, typer.Option("--holdout", help="Share of rows held out (0.05–0.5).")] = 0.3,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the holdout split.")] = 0,
    scale_min: Annotated[float | None, typer.Option("--scale-min", help="Lowest score (default 350).")] = None,
    scale_max: Annotated[float | None, typer.Option("--scale-max", help="Highest score (default 950).")] = None,
    pdo: Annotated[float | None, typer.Option("--pdo", help="Points to double the odds.")] = None,
    odds: Annotated[float | None, typer.Option("--odds", help="Odds (good:bad) at --base-points.")] = None,
    base_points: Annotated[float | None, typer.Option("--base-points", help="Score at --odds.")] = None,
    profile: Annotated[
        str, typer.Option("--profile", help="Protected attributes of cn (sex, ethnicity), eu or us (and age).")
    ] = "cn",
    policy_id: Annotated[
        str, typer.Option("--policy-id", help="The exported policy's id.", metavar="ID")
    ] = "scorecard",
    output: Annotated[
        Path | None, typer.Option("--output", help="Write the exported policy (YAML) here.", metavar="FILE")
    ] = None,
    report_path: Annotated[
        Path | None, typer.Option("--report", help="Write the report (JSON) here.", metavar="FILE")
    ] = None,
    records: Annotated[
        Path | None,
        typer.Option("--records", help="Write every row as records for `score --input DIR`.", metavar="DIR"),
    ] = None,
    lang: Annotated[
        str,
        typer.Option("--lang", help="Language of the printed report and of errors: en or zh.", callback=lang_option),
    ] = "en",
    as_json: JsonOpt = False,
) -> None:
    """Fit a points scorecard on OUTCOMES (optbinning: bins, a logistic model, points on the scale), beside a plain
    logistic regression, and export it as a policy whose rules give each bin's points."""
    from socialcredit.scorecard.options import check_holdout, parse_monotonic, scale_from_options

    if records is not None and records.exists() and (not records.is_dir() or any(records.iterdir())):
        # checked before fitting (minutes on a large file) and before --output or --report is written
        raise SocialCreditError(
            f"{records} is not an empty folder; --records writes into an empty or new folder",
            zh=f"{records} 不是空文件夹；--records 写入空的或新的文件夹",
        )
    try:
        # the options are checked before pandas and optbinning are loaded (about a second): a refusal is at once
        trends = parse_monotonic(_split(monotonic) or [])
        scale = scale_from_options(scale_min, scale_max, pdo, odds, base_points)
        check_holdout(holdout)
    except InvalidRequestError as exc:
        raise _refused(exc) from None
    from socialcredit.scorecard import fit_outcomes
    from socialcredit.scorecard.export import write_records

    try:
        result = fit_outcomes(
            outcomes,
            target,
            features=_split(features),
            exclude=_split(exclude),
            event=event,
            id_column=id_column,
            monotonic=trends,
            holdout=holdout,
            seed=seed,
            scale=scale,
            profile=profile,
            policy_id=policy_id,
        )
    except InvalidRequestError as exc:
        raise _refused(exc) from None
    if output is not None:
        output.write_text(result.policy_text, "utf-8")
    if report_path is not None:
        report_path.write_text(json.dumps(result.report, indent=2, ensure_ascii=False) + "\n", "utf-8")
    if records is not None:
        write_records(result.fitted, result.fitted.outcomes.X, records)
    if as_json:
        out.print_json(json.dumps(result.report, ensure_ascii=False))
        return
    _print(result.report, lang)
    for path in (output, report_path, records):
        if path is not None:
            out.print(_WORDS[lang]["wrote"].format(path=path), markup=False)


@scorecard_app.command("outcomes")
def outcomes_command(
    population: Annotated[Path, typer.Argument(help="A folder written by `socialcredit generate`.", metavar="DIR")],
    seed: Annotated[int, typer.Option("--seed", help="Seed of the outcome draws.")] = 0,
    as_of: Annotated[str, typer.Option("--as-of", help="Defaults within twelve months of this date.")] = "2026-11-01",
    output: Annotated[
        Path | None, typer.Option("--output", help="Default: DIR/outcomes.parquet.", metavar="FILE")
    ] = None,
) -> None:
    """Write outcomes to learn from for a generated population: features per resident and default_12m."""
    from socialcredit.generate import write_outcomes

    try:
        date = dt.date.fromisoformat(as_of)
    except ValueError:
        raise SocialCreditError(f"--as-of {as_of!r} is not a date of the form YYYY-MM-DD") from None
    try:
        path = write_outcomes(population, seed=seed, as_of=date, out=output)
    except FileNotFoundError as exc:
        raise SocialCreditError(str(exc)) from None
    out.print(f"Wrote {path}.", markup=False)
