"""A tiny registry for the due-process tests: three residents, a handful of records, dates chosen by hand.

* A (张三) has an unfulfilled court judgment J1 of 12 000 yuan dated 2026-01-10 with defaulter=true: Beijing takes
  100 points (court.unfulfilled, no decay) and the judgment puts A on the blacklist (judgment_defaulter, serious).
* B (李四) has a paid speeding ticket T1 of 2026-02-01 (traffic.minor −5, counted for 365 days) and an on-time
  platform repayment P1 of 2026-01-15 (commercial: counted by Sesame only with consent; +4).
* C (王五) has an unfulfilled civil judgment K1 of 2019-03-01 without defaulter (court.unfulfilled −100, expiring
  after 2555 days: it counts up to 2026-02-26 and stops on 2026-02-27) and a late tax payment X1 of 2021-03-01.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from socialcredit.clock import TODAY_ENV, resolve_today
from socialcredit.identifiers import make_ric
from socialcredit.policy import LoadedPolicy
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.due_process.daily import run_daily
from socialcredit.registry.due_process.outbox import sender_from_settings
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import RunSummary, score
from socialcredit.settings import get_settings
from socialcredit.store import Store, open_store
from store_copies import copy_of

A = make_ric("110105", dt.date(1980, 5, 1), 11)
B = make_ric("110105", dt.date(1985, 3, 2), 22)
C = make_ric("110105", dt.date(1990, 7, 7), 33)

# A bank's question about A (bank_headers asks it).
LOAN = {"subject_id": A, "service": "consumer_credit", "purpose": "loan application"}


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def ingest(store: Store, path: Path, source: str, today: dt.date) -> None:
    report = ingest_file(store, path, source, today=today)
    assert not report.errors, report.errors


def score_on_its_day(store: Store, loaded: LoadedPolicy, as_of: dt.date, **options: Any) -> RunSummary:
    """``score`` made on its as-of date, the registry's today then (a run gives its notices on the day it is made):
    a run dated ahead of the registry's today is made on that today, and stays a what-if."""
    return score(store, loaded, as_of, today=min(as_of, resolve_today()), **options)


JUDGMENT = ["record_id", "subject_id", "record_type", "event_date", "case_type", "amount", "status", "defaulter"]


def build(folder: Path) -> Store:
    store = open_store(folder / "due.duckdb", create=True, key="")
    subjects = [[A, "张三", "朝阳区", "retail"], [B, "李四", "朝阳区", "retail"], [C, "王五", "海淀区", "retail"]]
    ingest(
        store,
        write_csv(folder / "subjects.csv", ["subject_id", "name", "district", "profession"], subjects),
        "civil_affairs",
        dt.date(2026, 1, 1),
    )
    judgments = [
        ["J1", A, "court_judgment", "2026-01-10", "civil", "12000", "unfulfilled", "true"],
        ["K1", C, "court_judgment", "2019-03-01", "civil", "5000", "unfulfilled", "false"],
    ]
    ingest(store, write_csv(folder / "courts.csv", JUDGMENT, judgments), "courts", dt.date(2026, 1, 10))
    ticket = [["T1", B, "traffic_ticket", "2026-02-01", "speeding", "200", "paid"]]
    header = ["record_id", "subject_id", "record_type", "event_date", "offence", "fine", "status"]
    ingest(store, write_csv(folder / "traffic.csv", header, ticket), "traffic_police", dt.date(2026, 2, 1))
    tax = [["X1", C, "tax_payment", "2021-03-01", "5000", "late", "10"]]
    header = ["record_id", "subject_id", "record_type", "event_date", "amount", "status", "days_late"]
    ingest(store, write_csv(folder / "tax.csv", header, tax), "tax_bureau", dt.date(2026, 2, 1))
    platform = [["P1", B, "platform_repayment", "2026-01-15", "800", "on_time"]]
    header = ["record_id", "subject_id", "record_type", "event_date", "amount", "status"]
    ingest(store, write_csv(folder / "platform.csv", header, platform), "commercial_platforms", dt.date(2026, 2, 1))
    return store


def built(folder: Path) -> Store:
    """The world of :func:`build` in ``folder``, built once per process and copied (store_copies.copy_of): the same
    rows, in a store of its own, opened."""
    return copy_of(folder, "due_world.build", build, db="due.duckdb")


def scored(folder: Path, *days: str) -> Store:
    """The world built and scored under sesame as of each of ``days`` (ISO dates, in order), each on its day."""
    store = build(folder)
    sesame = resolve_policy(store, "sesame")
    for day in days:
        score_on_its_day(store, sesame, dt.date.fromisoformat(day))
    return store


def built_scored(folder: Path, *days: str) -> Store:
    """The world of :func:`scored` in ``folder``, built once per process for each of its runs (its as-of date and the
    day it is made on, the registry's today then) and copied (store_copies.copy_of)."""
    made = [(day, min(dt.date.fromisoformat(day), resolve_today()).isoformat()) for day in days]
    name = "due_world.scored-" + "-".join(f"{day}@{on}" for day, on in made)
    return copy_of(
        folder,
        name,
        lambda where: _then_scored(where, "sesame", days, lambda w, rest: built_scored(w, *rest)),
        db="due.duckdb",
    )


def _then_scored(
    folder: Path, policy: str, days: tuple[str, ...], before: Callable[[Path, tuple[str, ...]], Store]
) -> Store:
    """What :func:`run_under` makes in ``folder``, from copies: the world built (:func:`built`) or, with more than one
    day, ``before`` of all the days but the last (the built world scored as of each of them: built_scored, built_run),
    then scored under ``policy`` as of the last day on its day. The same rows as scoring the world built day after
    day, with each build and each run made once per process."""
    store = before(folder, days[:-1]) if len(days) > 1 else built(folder)
    loaded = resolve_policy(store, policy)
    if days:
        score_on_its_day(store, loaded, dt.date.fromisoformat(days[-1]))
    return store


def run_under(folder: Path, policy: str, *days: str) -> Store:
    """The world built and scored under ``policy`` as of each of ``days`` (ISO dates, in order), each on its day."""
    store = build(folder)
    loaded = resolve_policy(store, policy)
    for day in days:
        score_on_its_day(store, loaded, dt.date.fromisoformat(day))
    return store


def built_run(folder: Path, policy: str, *days: str) -> Store:
    """The world of :func:`run_under` in ``folder``, built once per process for its policy and each of its runs (its
    as-of date and the day it is made on, the registry's today then) and copied (store_copies.copy_of)."""
    made = [(day, min(dt.date.fromisoformat(day), resolve_today()).isoformat()) for day in days]
    name = f"due_world.run-{policy}-" + "-".join(f"{day}@{on}" for day, on in made)
    return copy_of(
        folder,
        name,
        lambda where: _then_scored(where, policy, days, lambda w, rest: built_run(w, policy, *rest)),
        db="due.duckdb",
    )


def made_city(folder: Path, batches: dict[str, str], *, as_of: str, today: str | None = None) -> Path:
    """The store ``city.duckdb`` that cli_helpers.scored_city makes by the console script, made in this process as its
    commands make it (for tests that check something else): a new store without a key, each of ``batches`` (a
    source's CSV text, by source) written as ``<source>.csv`` and ingested in their order, then ``beijing`` scored as
    of ``as_of``; every step on the registry's today ``today`` when given, else the run made on its day."""
    db = folder / "city.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        if today is not None:
            mp.setenv(TODAY_ENV, today)
        open_store(db, create=True, key="").close()
        for source, text in batches.items():
            path = folder / f"{source}.csv"
            path.write_text(text, encoding="utf-8")
            with open_store(db, key="") as store:
                report = ingest_file(store, path, source)
            assert not report.errors, report.errors
        day = dt.date.fromisoformat(as_of)
        mp.setenv(TODAY_ENV, today if today is not None else min(day, resolve_today()).isoformat())
        with open_store(db, key="") as store:
            score(store, resolve_policy(store, "beijing"), day)
    return db


@contextmanager
def opened_on(db: Path, day: str | None) -> Iterator[Store]:
    """The store ``db`` opened as a console command opens it on ``day`` (the registry's today then; None: the today
    the environment says), closed after."""
    with pytest.MonkeyPatch.context() as mp:
        if day is not None:
            mp.setenv(TODAY_ENV, day)
        with open_store(db, key="") as store:
            yield store


def daily_job(store: Store) -> None:
    """What `due run` does to the open ``store``: the daily due-process job, on the channel the settings name."""
    run_daily(store, None, channel=sender_from_settings(get_settings()).channel)


def due_run(db: Path, day: str) -> None:
    """What `due run` does on ``day`` (the registry's today then), made in this process on the store ``db``."""
    with opened_on(db, day) as store:
        daily_job(store)


def ingested(db: Path, path: Path | str, source: str, day: str | None = None) -> None:
    """What `ingest PATH --source SOURCE` does on ``day`` (the registry's today then; when not given, the today the
    environment says), made in this process on the store ``db`` (for a test that asserts what follows, not the
    command); no row may be rejected."""
    with opened_on(db, day) as store:
        report = ingest_file(store, path, source)
    assert not report.errors, report.errors


def scored_on(db: Path, day: str, *, policy: str = "beijing", as_of: str | None = None, **options: Any) -> RunSummary:
    """What `score --policy POLICY --as-of AS_OF` (``day`` when not given; ``options`` as its flags, e.g.
    ``from_records=True``) does on ``day`` (the registry's today then), made in this process on the store ``db``."""
    with opened_on(db, day) as store:
        return score(store, resolve_policy(store, policy), dt.date.fromisoformat(as_of or day), **options)


def bank_headers(store: Store) -> dict[str, str]:
    """The headers of a new bank's key, asking for consumer credit on loan applications (LOAN)."""
    key = issue_key(
        store,
        "relying_party",
        "a bank",
        services=["consumer_credit"],
        purposes=["loan application"],
        known_services={"consumer_credit"},
    )
    return {"Authorization": f"Bearer {key.token}"}
