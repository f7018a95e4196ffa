"""A run made after its as-of date (the registry's today later than it) dates everything it does to the day it is
made: the notices it gives, the listings it puts in effect or ends, and the days they are closed on."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest

from api_helpers import serving
from due_world import JUDGMENT, A, build, ingest, write_csv
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.due_process.listings import complete_missed, list_listings, took_effect_days
from socialcredit.registry.due_process.notifications import list_notifications
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import score

D = dt.date


def test_a_late_run_ends_a_listing_on_the_day_it_is_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A's blacklisting (notice 2026-02-01, 60 days' grace) is in effect from 2026-04-02; the judgment is paid on
    2026-04-10, and the run as of 2026-04-20 is made on 2026-06-01: the listing is delisted and closed on 2026-06-01,
    the day its notice is dated (it was closed on 2026-04-20, a day before anyone was told, and decisions made
    until 2026-06-01 counted a listing the registry said had ended before them)."""
    monkeypatch.setenv(TODAY_ENV, "2026-06-01")
    store = build(tmp_path)
    beijing = resolve_policy(store, "beijing")
    score(store, beijing, D(2026, 2, 1), today=D(2026, 2, 1))
    score(store, beijing, D(2026, 4, 2), today=D(2026, 4, 2))
    paid = [["J1", A, "court_judgment", "2026-01-10", "civil", "12000", "fulfilled", "true", "true"]]
    ingest(store, write_csv(tmp_path / "paid.csv", [*JUDGMENT, "correction"], paid), "courts", D(2026, 4, 10))
    score(store, beijing, D(2026, 4, 20))  # made on 2026-06-01
    [listing] = list_listings(store, subject_id=A)
    assert (listing["status"], listing["noticed_on"], listing["effective_on"], listing["closed_on"]) == (
        "delisted",
        "2026-02-01",
        "2026-04-02",
        "2026-06-01",
    )
    told = [(str(n["created_on"]), n["kind"]) for n in list_notifications(store, A)]
    assert told == [
        ("2026-02-01", "listing_notice"),
        ("2026-04-02", "listing_effective"),
        ("2026-06-01", "listing_delisted"),
    ]


def test_the_late_run_that_noticed_a_resident_shows_the_list_in_notice_in_their_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run as of 2026-11-01 made on 2026-12-06 notices A (notice 2026-12-06): A's history shows that run with the
    blacklist in notice (it showed neither on nor in notice: the notice is dated after the run's date)."""
    monkeypatch.setenv(TODAY_ENV, "2026-12-06")
    store = build(tmp_path)
    score(store, resolve_policy(store, "beijing"), D(2026, 11, 1))
    resident = {"Authorization": f"Bearer {issue_key(store, 'resident', '张三', subject=A).token}"}
    app = create_app(tmp_path / "due.duckdb", store=store)
    try:
        with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
            got = client.get(f"/v1/subjects/{A}/history", headers=resident)
            assert got.status_code == 200, got.text
            [run] = got.json()["policies"][0]["runs"]
            assert (run["as_of"], run["lists"], run["lists_in_notice"]) == (
                "2026-11-01",
                [],
                [{"list": "blacklist", "name": "blacklist"}],
            )
    finally:
        store.close()


def test_a_run_left_without_its_notices_is_completed_on_the_day_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run as of 2026-02-01 whose notices a crash lost (no listing, no ``listings`` audit entry) is completed by the
    next run made on 2026-02-01: its notice is dated that day, the ``today`` the run passes, not the machine's
    2026-06-01 (the listing took effect 60 days after 2026-06-01 instead of on 2026-04-02)."""
    monkeypatch.setenv(TODAY_ENV, "2026-06-01")
    store = build(tmp_path)
    score(store, resolve_policy(store, "beijing"), D(2026, 2, 1), today=D(2026, 2, 1))
    with store.transaction():  # as a crash between the run and its listings left it, before they were one commit
        store.execute("DELETE FROM notifications")
        store.execute("DELETE FROM listings")
        store.execute("DELETE FROM audit_log WHERE action = 'listings'")
        assert complete_missed(store, "beijing", today=D(2026, 2, 1)) == [1]
    [listing] = list_listings(store, subject_id=A)
    assert (listing["status"], listing["noticed_on"], listing["effective_on"]) == (
        "pending",
        "2026-02-01",
        "2026-04-02",
    )


def test_a_late_run_puts_a_listing_in_effect_on_the_day_it_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A's notice of 2026-02-01 (60 days' grace) runs out on 2026-04-02; the run as of 2026-04-10 is made on
    2026-05-01: the listing takes effect that day, and A is told so that day (not "since 2026-04-10", a day no
    decision counted it)."""
    monkeypatch.setenv(TODAY_ENV, "2026-05-01")
    store = build(tmp_path)
    beijing = resolve_policy(store, "beijing")
    score(store, beijing, D(2026, 2, 1), today=D(2026, 2, 1))
    score(store, beijing, D(2026, 4, 10))  # made on 2026-05-01
    listings = list_listings(store, subject_id=A)
    took_effect_days(store, listings)
    [listing] = listings
    assert (listing["status"], listing["effective_on"], listing["took_effect_on"]) == (
        "effective",
        "2026-04-02",
        "2026-05-01",
    )
    told = [(str(n["created_on"]), n["kind"], n["text"]) for n in list_notifications(store, A)]
    assert told[1:] == [
        (
            "2026-05-01",
            "listing_effective",
            "blacklist (judgment defaulter): the notice period ended; you have been listed since 2026-05-01.",
        )
    ]
