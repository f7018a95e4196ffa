"""``socialcredit matchmaking …``: register clients, set preferences, give or withdraw consent, see matches,
generate a client base, serve the site. Errors are MatchmakingError (a SocialCreditError): plain messages."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from socialcredit.errors import MatchmakingError
from socialcredit.languages import counted, lang_option
from socialcredit.matchmaking.settings import DB_ENV, DEFAULT_MATCH_DB, DEFAULT_REGISTRY_URL, KEY_ENV, URL_ENV
from socialcredit.serving import serve_until_stopped

if TYPE_CHECKING:
    from socialcredit.matchmaking.reference import Label
    from socialcredit.matchmaking.registry_client import RegistryClient
    from socialcredit.matchmaking.store import Preferences

# The main CLI imports this module: the store, the ranking and httpx are imported by the commands that use them.

__all__ = ["match_app"]

match_app = typer.Typer(
    help="Baihe matchmaking: a relying party of the registry (its own store; the registry only over HTTP).",
    no_args_is_help=True,
)
out = Console(soft_wrap=True, markup=False)  # texts from sources and clients are shown as written
err = Console(stderr=True, soft_wrap=True, markup=False)  # a URL or a file as written; markup=True to style

DbOpt = Annotated[
    Path, typer.Option("--db", help="The matchmaking store (not the registry's).", envvar=DB_ENV, metavar="FILE")
]
UrlOpt = Annotated[str, typer.Option("--registry-url", help="The registry's HTTP API.", envvar=URL_ENV, metavar="URL")]
KeyOpt = Annotated[
    str, typer.Option("--key", help=f"Relying-party key for matchmaking_badge (or ${KEY_ENV}).", show_default=False)
]


# The language of the answer, its labels and the command's errors (languages.ASKED, which the command line's reads);
# register, prefs and consent take it too (they spoke English only, their refusals too), English by default
LangOpt = Annotated[
    str,
    typer.Option("--lang", help="Language of the answer and errors: zh or en.", metavar="LANG", callback=lang_option),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _split(values: list[str]) -> list[str]:
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def _registry(url: str, key: str) -> RegistryClient:
    from socialcredit.matchmaking.registry_client import RegistryClient
    from socialcredit.settings import get_settings

    env_key = get_settings().matchmaking_key
    return RegistryClient(url, key or (env_key.get_secret_value() if env_key else ""))


@match_app.command()
def register(
    subject: Annotated[str, typer.Option("--subject", help="The client's identity number.", metavar="SUBJECT")],
    name: Annotated[str, typer.Option(help="Name shown to matches.")],
    district: Annotated[str, typer.Option(help="District: code, 海淀区 or Haidian.")],
    education: Annotated[
        str, typer.Option(help="junior_high, high_school, associate, bachelor, master, doctorate.", metavar="LEVEL")
    ],
    job: Annotated[str, typer.Option(help="employed, self_employed, student, retired, unemployed.")],
    income: Annotated[
        str, typer.Option(help="under_5k, 5k_10k, 10k_20k, 20k_50k, over_50k (monthly).", metavar="BAND")
    ],
    interests: Annotated[list[str], typer.Option("--interest", help="An interest (repeat, or comma-separated).")],
    db: DbOpt = DEFAULT_MATCH_DB,
    lang: LangOpt = "en",
) -> None:
    """Register a client (sex and birth date are read from the identity number); prints the client id."""
    from socialcredit.matchmaking.reference import credit_tiers
    from socialcredit.matchmaking.store import open_match_store, profile

    p = profile(subject, name, district, education, job, income, _split(interests))
    with open_match_store(db) as store:
        client_id = store.register(p, tiers=credit_tiers())
    if lang == "zh":
        out.print(f"已登记客户 {client_id}（{p.name}）；分享信用等级的同意：未给出。")
    else:
        out.print(f"Registered client {client_id} ({p.name}); consent to share the credit tier: not given.")


@match_app.command()
def prefs(
    client_id: Annotated[int, typer.Argument(help="The client.")],
    seeks: Annotated[list[str] | None, typer.Option("--seeks", help="F and/or M.", metavar="SEX")] = None,
    age: Annotated[str | None, typer.Option(help="Age range, e.g. 25-35.", metavar="MIN-MAX")] = None,
    districts: Annotated[list[str] | None, typer.Option("--district", help="Acceptable district (repeat).")] = None,
    any_district: Annotated[bool, typer.Option("--any-district", help="Clear the districts: anywhere.")] = False,
    min_education: Annotated[str | None, typer.Option(help="Minimum education ('' for none).", metavar="LEVEL")] = None,
    min_income: Annotated[str | None, typer.Option(help="Minimum income band ('' for none).", metavar="BAND")] = None,
    min_tier: Annotated[
        str | None, typer.Option(help="Minimum credit tier of those who share ('' for none).", metavar="TIER")
    ] = None,
    db: DbOpt = DEFAULT_MATCH_DB,
    lang: LangOpt = "en",
) -> None:
    """Change a client's partner preferences (options not given keep their value)."""
    from socialcredit.matchmaking.reference import credit_tiers, parse_age, shown
    from socialcredit.matchmaking.store import Preferences, open_match_store

    with open_match_store(db, create=False) as store:
        now = store.client(client_id).preferences
        lo, hi = now.age_min, now.age_max
        if age is not None:
            try:
                lo, hi = (parse_age(x, "age") for x in age.split("-", 1))
            except (ValueError, MatchmakingError):  # (one age alone, or either not ASCII digits)
                raise MatchmakingError(
                    f"--age: give a range such as 25-35, not {shown(age)}",
                    field="age",
                    zh=f"--age：请给出年龄范围，例如 25-35，而不是 {shown(age)}",
                ) from None
        new = Preferences(
            tuple(_split(seeks)) if seeks else now.seeks,
            lo,
            hi,
            () if any_district else tuple(_split(districts)) if districts else now.districts,
            now.min_education if min_education is None else (min_education or None),
            now.min_income if min_income is None else (min_income or None),
            now.min_tier if min_tier is None else (min_tier or None),
        )
        saved = store.set_preferences(client_id, new, tiers=credit_tiers())
    out.print(_preferences_line(client_id, saved, lang))


def _preferences_line(client_id: int, saved: Preferences, lang: str = "en") -> str:
    """What a client now seeks, in the words and values the options take (it printed the Python object:
    "Client 1: Preferences(seeks=('F',), age_min=25, …)"); in Chinese, the site's words with each option's value."""
    from socialcredit.matchmaking.reference import (
        DISTRICTS,
        EDUCATION,
        INCOME_BANDS,
        SEXES,
        credit_tiers,
        district_index,
    )

    if lang == "zh":

        def named(table: tuple[Label, ...], value: str | None) -> str:
            return next((f"{x.zh}（{x.id}）" for x in table if x.id == value), value or "不限")

        places = "、".join(f"{DISTRICTS[district_index(c)].zh}（{c}）" for c in saved.districts) or "不限"
        return (
            f"客户 {client_id} 寻找{'或'.join(named(SEXES, x) for x in saved.seeks)}，"
            f"年龄 {saved.age_min}-{saved.age_max}，"
            f"所在区：{places}；最低学历：{named(EDUCATION, saved.min_education)}，最低月收入："
            f"{named(INCOME_BANDS, saved.min_income)}，最低信用等级：{named(credit_tiers().labels, saved.min_tier)}"
            "（仅对分享等级者）。"
        )
    places = ", ".join(f"{DISTRICTS[district_index(c)].en} ({c})" for c in saved.districts)
    where = f"in {places}" if places else "anywhere"
    return (
        f"Client {client_id} seeks {' or '.join(saved.seeks)}, aged {saved.age_min}-{saved.age_max}, {where}; "
        f"minimum education: {saved.min_education or 'none'}, minimum income: {saved.min_income or 'none'}, "
        f"minimum credit tier: {saved.min_tier or 'none'} (of those who share it)."
    )


@match_app.command()
def consent(
    client_id: Annotated[int, typer.Argument(help="The client.")],
    give: Annotated[bool, typer.Option("--give/--withdraw", help="Give or withdraw consent to share the tier.")],
    db: DbOpt = DEFAULT_MATCH_DB,
    lang: LangOpt = "en",
) -> None:
    """Give or withdraw a client's consent to share their credit tier; takes effect at the next ranking."""
    from socialcredit.matchmaking.store import open_match_store

    with open_match_store(db, create=False) as store:
        store.set_consent(client_id, give, actor="cli")
        history = store.consent_history(client_id)
    if lang == "zh":
        out.print(f"客户 {client_id}：{'已同意' if give else '已撤回同意'}（记录共 {len(history)} 条）。")
    else:
        out.print(
            f"Client {client_id}: consent {'given' if give else 'withdrawn'} "
            f"({counted(len(history), 'entry', 'entries')} in history)."
        )


@match_app.command()
def matches(
    client_id: Annotated[int, typer.Argument(help="The client.")],
    registry_url: UrlOpt = DEFAULT_REGISTRY_URL,
    key: KeyOpt = "",
    limit: Annotated[int, typer.Option(help="How many matches.", metavar="N", min=1)] = 10,
    lang: LangOpt = "zh",
    as_json: JsonOpt = False,
    db: DbOpt = DEFAULT_MATCH_DB,
) -> None:
    """Ranked matches for a client, each with the weight and value of every part ("why this match")."""
    from socialcredit.matchmaking.explain import describe, part_label
    from socialcredit.matchmaking.reference import credit_tiers, label
    from socialcredit.matchmaking.service import Matchmaker
    from socialcredit.matchmaking.store import open_match_store

    with open_match_store(db, create=False) as store, _registry(registry_url, key) as registry:
        page = Matchmaker(store, registry).matches(client_id, limit=limit, lang=lang)
    tiers = credit_tiers()
    if as_json:
        data: list[dict[str, Any]] = [
            {
                "client_id": m.client_id,
                "score": round(m.score, 6),
                "why": [
                    {"part": p.part, "weight": p.weight, "value": p.value, "contribution": round(p.contribution, 6)}
                    for p in m.parts
                ],
            }
            for m in page.ranking.matches
        ]
        out.print_json(json.dumps({"client_id": client_id, "candidates": page.ranking.candidates, "matches": data}))
    else:
        n = len(page.ranking.matches)
        if lang == "en":
            meets = "meets" if page.ranking.candidates == 1 else "meet"
            out.print(f"{counted(page.ranking.candidates, 'candidate')} {meets} both sides' preferences; best {n}:")
        else:  # the table's words in the language asked for, as its rows (they were English above Chinese rows)
            out.print(f"{label('candidates', lang).format(n=page.ranking.candidates)}；前{n}位：")
        for i, m in enumerate(page.ranking.matches, start=1):
            c = page.candidates[m.client_id]
            title = f"{i}. #{m.client_id} {c.profile.name}, {c.age}: {m.score * 100:.1f}"
            table = Table(title=title, title_justify="left")
            for col in ("part", "weight", "value", "contribution", "why"):
                table.add_column(col if lang == "en" else label(col, lang))
            for p in m.parts:
                table.add_row(
                    part_label(p.part, lang),
                    f"{p.weight:.2f}→{p.effective_weight:.3f}",
                    "—" if p.value is None else f"{p.value:.2f}",
                    f"{p.contribution * 100:.1f}",
                    describe(p, lang, tiers),
                )
            out.print(table)
    if page.notice:  # the registry was not asked (it did not answer, or refused the key): a failure, told last
        said = "[bold red]错误：[/]" if lang == "zh" else "[bold red]error:[/] "  # as the command line's errors
        err.print(f"{said}{escape(page.notice)}", markup=True, highlight=False)
        raise typer.Exit(1)


@match_app.command()
def generate(
    source: Annotated[
        Path, typer.Argument(help="A generated population folder, or a subjects .csv/.parquet.", metavar="PATH")
    ],
    clients: Annotated[int, typer.Option(help="How many clients.", metavar="N", min=1)] = 50_000,
    seed: Annotated[int, typer.Option(help="Random seed.", metavar="N")] = 0,
    today: Annotated[str | None, typer.Option(help="Ages as of this date (YYYY-MM-DD).", metavar="DATE")] = None,
    db: DbOpt = DEFAULT_MATCH_DB,
) -> None:
    """Draw a client base from synthetic residents (for tests and benchmarks)."""
    from socialcredit.matchmaking.generate import generate_clients
    from socialcredit.matchmaking.reference import shown
    from socialcredit.matchmaking.store import open_match_store

    try:
        day = dt.date.fromisoformat(today) if today else None
    except ValueError:
        raise MatchmakingError(f"--today: {shown(str(today))} is not a date (YYYY-MM-DD)", field="today") from None
    with open_match_store(db) as store:
        made = generate_clients(store, source, clients, seed=seed, today=day)
    share = "shares their" if made.consenting == 1 else "share their"
    out.print(f"Added {counted(made.clients, 'client')} ({made.consenting} {share} credit tier) to {db}.")


@match_app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.", metavar="ADDRESS")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.", min=1, max=65535)] = 8100,
    registry_url: UrlOpt = DEFAULT_REGISTRY_URL,
    key: KeyOpt = "",
    db: DbOpt = DEFAULT_MATCH_DB,
) -> None:
    """Run the matchmaking site (it owns its store while it runs)."""
    from socialcredit.matchmaking.app import create_match_app

    app = create_match_app(db, registry=_registry(registry_url, key))
    err.print(f"Matchmaking site on http://{host}:{port}, asking the registry at {registry_url}.")
    serve_until_stopped(app, host, port, what="the site", proxy_headers=True)
