"""A subject's file says of each service what a decision answers: a blacklisting in its notice period refuses
nothing yet (docs/due-process.md, "Notice and grace"), so `decide` grants high-speed rail to a judgment defaulter
noticed today, and `show --json` and `file export` must say so too. They read the run's own grants, which count
every list the run found, and said "refused" for every service a blacklisting refuses, beside a decision that
granted it (until 2026-12-06). The installed console script, in a subprocess, on the store `scored_city` makes
(made in process: due_world.made_city)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from cli_helpers import DEFAULTER, ONE_DEFAULTER
from cli_helpers import sc as console
from due_world import made_city


def sc(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    return console(*args, db=db, today="2026-07-01")


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("services")
    return made_city(folder, ONE_DEFAULTER, as_of="2026-07-01", today="2026-07-01")


def _granted(report: dict[str, object]) -> dict[str, bool]:
    (score,) = report["scores"]  # type: ignore[attr-defined]
    return {s["service"]: s["granted"] for s in score["services"]}


def test_a_blacklisting_in_its_notice_period_refuses_no_service_in_the_file(city: Path) -> None:
    report = json.loads(sc("show", DEFAULTER, "--json", db=city).stdout)
    (score,) = report["scores"]
    # the run found the judgment defaulter: noticed on the run's day, in effect 60 days later
    assert [(x["list"], x["status"], x["effective_on"]) for x in score["lists"]] == [
        ("blacklist", "pending", "2026-08-30")
    ]
    assert score["score"] == 900 and score["tier"] == "B"  # 1000 - 100 for the unfulfilled judgment
    granted = _granted(report)
    for service in ("high_speed_rail", "flight", "air_travel", "home_lease", "star_hotel"):
        asked = sc("decide", DEFAULTER, service, "--purpose", "ticket purchase", "--json", db=city)
        decision = json.loads(asked.stdout)
        assert decision["granted"] is True, service
        assert granted[service] is True, service  # it said False: the listing is not in effect
    # what the blacklist does not decide stays as the run found it: tier B is below AA, not on the redlist
    assert granted["bank_loan"] is True
    assert granted["deposit_free_rental"] is False
    assert granted["rail_priority"] is False


def test_the_exported_file_says_the_same(city: Path, tmp_path: Path) -> None:
    out = tmp_path / "file.json"
    sc("file", "export", DEFAULTER, "--out", str(out), db=city)
    granted = _granted(json.loads(out.read_text("utf-8")))
    assert granted["high_speed_rail"] is True
    assert granted["flight"] is True
    assert granted["deposit_free_rental"] is False
