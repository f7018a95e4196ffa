"""A decision asked at the command line (`socialcredit decide`, no --requester) is shown to the resident as an
operator's at the command line, in the page's language: it was shown as "cli", the command line's actor, on a
Chinese page too (until 2026-12-06). A decision of a named requester keeps its name. The installed console script,
in a subprocess, on the store `scored_city` makes (made in process: due_world.made_city)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest

from cli_helpers import sc as console
from due_world import made_city
from socialcredit.identifiers import make_ric

RESIDENT = make_ric("110105", dt.date(1980, 3, 4), 15)


def sc(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    return console(*args, db=db, today="2026-07-01")


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    subjects = {"civil_affairs": f"subject_id,name\n{RESIDENT},王伟\n"}
    db = made_city(tmp_path_factory.mktemp("asked"), subjects, as_of="2026-07-01", today="2026-07-01")
    sc("decide", RESIDENT, "flight", "--purpose", "ticket purchase", db=db)
    sc("decide", RESIDENT, "high_speed_rail", "--purpose", "ticket purchase", "--requester", "12306", db=db)
    return db


@pytest.mark.parametrize(("lang", "said"), [("en", "an operator at the command line"), ("zh", "运营方（命令行）")])
def test_a_decision_at_the_command_line_is_shown_as_an_operators(
    city: Path, tmp_path: Path, lang: str, said: str
) -> None:
    out = tmp_path / "file.json"
    sc("file", "export", RESIDENT, "--out", str(out), "--lang", lang, db=city)
    asked = [(q["requester"], q["service"]) for q in json.loads(out.read_text("utf-8"))["inquiries"] if q["service"]]
    assert asked == [("12306", "high_speed_rail"), (said, "flight")]
