"""An operator's override of a listing, and its reversal (registry/due_process/overrides.py ``override_listing``,
``outcome="restored"``): the removal is reversed on the record (an override, audited, the resident told in both
languages, in the file's overrides), over the API and the command line; one that changes nothing is refused 409
``outcome_unchanged``.

World (tests/due_world.py): 张三 (A) is on Beijing's blacklist for the judgment J1, scored on 2026-02-01 (notice) and
2026-04-02 (in effect): high-speed rail is refused to him.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_helpers import serving
from due_world import JUDGMENT, A, build, ingest, score_on_its_day, write_csv
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.errors import WorkflowError
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.decisions.decide import decide
from socialcredit.registry.due_process import overrides
from socialcredit.registry.due_process.notifications import list_notifications
from socialcredit.registry.reporting.report import subject_report
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import score
from web_helpers import csrf_of, sign_in

D = dt.date
CLI = str(Path(sys.executable).parent / "socialcredit")
REMOVE = "The resident showed the court's receipt of payment."
RESTORE = "The receipt was for another case; the judgment is unpaid."


def _listed(tmp_path: Path) -> tuple[object, int]:
    store = build(tmp_path)
    score_on_its_day(store, resolve_policy(store, "beijing"), D(2026, 2, 1))
    score_on_its_day(store, resolve_policy(store, "beijing"), D(2026, 4, 2))
    listing = int(store.one("SELECT listing_id FROM listings WHERE subject_id = ? AND status = 'effective'", [A]))
    return store, listing


def _rail(store: object) -> bool:
    return decide(store, A, "high_speed_rail", "ticket purchase", requester="railway").granted  # type: ignore[arg-type]


def test_a_listing_restored_by_an_override_is_never_closed_before_the_override(tmp_path: Path) -> None:
    """Restored on 2026-12-06, its cause gone by a run made on 2026-12-07 as of 2026-11-01: closed on 2026-12-07, the
    day the run is made and its notice given (until 2026-12-06 closed on 2026-11-01, a date before the override on its
    record; before notices were dated the day a run is made, on 2026-12-06, the restoration)."""
    store, lid = _listed(tmp_path)
    overrides.override_listing(store, lid, REMOVE, "operator", today=D(2026, 12, 6))
    overrides.override_listing(store, lid, RESTORE, "operator", outcome="restored", today=D(2026, 12, 6))
    paid = [["J1", A, "court_judgment", "2026-01-10", "civil", "12000", "fulfilled", "true", "true"]]
    ingest(store, write_csv(tmp_path / "paid.csv", [*JUDGMENT, "correction"], paid), "courts", D(2026, 12, 7))
    run = score(store, resolve_policy(store, "beijing"), D(2026, 11, 1), today=D(2026, 12, 7))
    assert run.standing == "ordinary"
    closed = store.one("SELECT status || '/' || closed_on::VARCHAR FROM listings WHERE listing_id = ?", [lid])
    assert closed == "delisted/2026-12-07"  # the day the run is made, after the override
    assert list_notifications(store, A)[-1]["kind"] == "listing_delisted"


def test_a_removal_is_reversed_on_the_record_and_one_changing_nothing_is_refused(tmp_path: Path) -> None:
    store, lid = _listed(tmp_path)
    assert _rail(store) is False
    with pytest.raises(WorkflowError) as same:
        overrides.override_listing(store, lid, RESTORE, "operator", outcome="restored", today=D(2026, 4, 3))
    assert (same.value.code, str(same.value)) == (
        "outcome_unchanged",
        f"listing {lid} stands as effective already (not removed); an override changes the outcome (give removed)",
    )
    overrides.override_listing(store, lid, REMOVE, "operator", today=D(2026, 4, 3))
    assert _rail(store) is True
    with pytest.raises(WorkflowError) as again:
        overrides.override_listing(store, lid, REMOVE, "operator", today=D(2026, 4, 4))
    assert (again.value.code, str(again.value)) == (
        "outcome_unchanged",
        f"listing {lid} stands as removed already after override 1; an override changes the outcome (give restored)",
    )
    back = overrides.override_listing(store, lid, RESTORE, "operator", outcome="restored", today=D(2026, 4, 5))
    assert (back["override_id"], back["target"], back["outcome"]) == (2, f"listing:{lid}", "restored")
    now = store.one(
        "SELECT status || '/' || coalesce(closed_on::VARCHAR, '-') FROM listings WHERE listing_id = ?", [lid]
    )
    assert now == "effective/-"
    assert _rail(store) is False  # refused again, as before the removal
    told = [n["text"] for n in list_notifications(store, A) if n["kind"] == "override"]
    assert told == [
        f"An operator took you off the blacklist (judgment defaulter): {REMOVE}",
        f"An operator reviewed the removal of your listing (override 1) and put you back on the blacklist "
        f"(judgment defaulter): {RESTORE}",
    ]
    told_zh = [n["text"] for n in list_notifications(store, A, "zh") if n["kind"] == "override"]
    assert told_zh[1] == f"运营人员复核了移出名单的决定（复核 1），恢复将您列入失信名单（失信被执行人）：{RESTORE}"
    shown = [(o["target"], o["outcome"], o["justification"]) for o in subject_report(store, A)["overrides"]]
    assert shown == [(f"listing:{lid}", "removed", REMOVE), (f"listing:{lid}", "restored", RESTORE)]
    audited = store.rows("SELECT detail FROM audit_log WHERE action = 'override_listing' ORDER BY seq")
    assert [json.loads(a["detail"])["outcome"] for a in audited] == ["removed", "restored"]
    store.close()


def test_the_api_and_the_command_reverse_a_removal_and_refuse_one_changing_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TODAY_ENV, "2026-04-03")
    store, lid = _listed(tmp_path)
    ops = {"Authorization": "Bearer " + issue_key(store, "operator", "registry operations").token}
    app = create_app(tmp_path / "due.duckdb", store=store)
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        body = {"listing_id": lid, "justification": RESTORE, "outcome": "restored"}
        r = client.post("/v1/overrides/listings", json=body, headers=ops)
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == "outcome_unchanged"
        r = client.post("/v1/overrides/listings", json={"listing_id": lid, "justification": REMOVE}, headers=ops)
        assert (r.status_code, r.json()["outcome"]) == (201, "removed")
        r = client.post("/v1/overrides/listings", json=body, headers=ops)
        assert (r.status_code, r.json()["outcome"]) == (201, "restored")
    store.close()
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_TODAY")}
    args = [CLI, "override", "listing", str(lid), "--restore", "--justification", RESTORE]
    args += ["--db", str(tmp_path / "due.duckdb"), "--today", "2026-04-04"]
    proc = subprocess.run(args, capture_output=True, text=True, env=env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        f"error: listing {lid} stands as effective already (not removed); an override changes the outcome "
        "(give removed)"
    )
    removal = [CLI, "override", "listing", str(lid), "--justification", REMOVE]
    removal += ["--db", str(tmp_path / "due.duckdb"), "--today", "2026-04-04"]
    proc = subprocess.run(removal, capture_output=True, text=True, env=env)
    assert (proc.returncode, proc.stdout.strip()) == (0, f"override 3: listing:{lid} → removed."), proc.stderr
    proc = subprocess.run(args, capture_output=True, text=True, env=env)
    assert (proc.returncode, proc.stdout.strip()) == (0, f"override 4: listing:{lid} → restored."), proc.stderr


@contextlib.contextmanager
def _operators_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, int, httpx.Client]]:
    """The store with the listing in effect (``_listed``, on 2026-04-03), its listing's id, and a client of the served
    app signed in with an operator's key."""
    monkeypatch.setenv(TODAY_ENV, "2026-04-03")
    store, lid = _listed(tmp_path)
    operator = issue_key(store, "operator", "registry operations").token
    app = create_app(tmp_path / "due.duckdb", store=store)
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as ops:
        sign_in(ops, operator)
        yield store, lid, ops


def test_the_operators_page_removes_and_restores_a_listing_and_refuses_a_change_of_nothing_in_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _operators_page(tmp_path, monkeypatch) as (store, lid, ops):
        page = ops.get(f"/ops/subjects/{A}", params={"lang": "en"})
        assert page.status_code == 200, page.text
        # the listing in effect offers its removal
        assert page.text.count('data-testid="override-listing"') == 1 and "Take off the list" in page.text
        csrf = csrf_of(page.text)
        url = f"/ops/listings/{lid}/override"
        for lang, said in (
            ("en", f"listing {lid} stands as effective already (not removed); an override changes the outcome"),
            ("zh", f"名单认定 {lid} 仍为已生效（未被移出）；复核须改变结果（应为移出名单）"),
        ):
            form = {"csrf": csrf, "outcome": "restored", "justification": RESTORE}
            r = ops.post(url, params={"lang": lang}, data=form)
            assert r.status_code == 409, r.text
            assert said in html.unescape(r.text)
        r = ops.post(url, data={"csrf": csrf, "outcome": "removed", "justification": REMOVE})
        assert r.status_code == 303, r.text
        page = ops.get(f"/ops/subjects/{A}", params={"lang": "zh"})
        assert "撤销移出，恢复列入" in page.text  # the removed listing offers its reversal
        r = ops.post(url, data={"csrf": csrf, "outcome": "restored", "justification": RESTORE})
        assert r.status_code == 303, r.text
    now = store.one("SELECT status FROM listings WHERE listing_id = ?", [lid])
    outcomes = [o["outcome"] for o in overrides.list_overrides(store, subject_id=A)]
    store.close()
    assert (now, outcomes) == ("effective", ["removed", "restored"])


def test_the_operators_page_in_chinese_refuses_an_override_in_chinese(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _operators_page(tmp_path, monkeypatch) as (store, lid, ops):
        csrf = csrf_of(ops.get(f"/ops/subjects/{A}", params={"lang": "zh"}).text)
        url = f"/ops/listings/{lid}/override"

        def refused(path: str, outcome: str, justification: str) -> tuple[int, str]:
            form = {"csrf": csrf, "outcome": outcome, "justification": justification}
            r = ops.post(path, params={"lang": "zh"}, data=form)
            return r.status_code, html.unescape(r.text)

        status, page = refused(url, "removed", "too short")
        assert status == 422 and "理由须至少 20 个字符说明原因（将向当事人展示）" in page
        assert "justification must say why" not in page
        status, page = refused(url, "removed", "   ")
        assert status == 422 and "必须填写理由：请用几句话说明" in page
        assert "justification is required" not in page
        status, page = refused("/ops/listings/999/override", "removed", REMOVE)
        assert status == 404 and "没有名单认定 999" in page
        assert "no listing 999" not in page
        r = ops.post(url, data={"csrf": csrf, "outcome": "removed", "justification": REMOVE})
        assert r.status_code == 303, r.text
        monkeypatch.setenv(TODAY_ENV, "2026-04-01")  # the registry's clock set back: before the removal
        status, page = refused(url, "restored", RESTORE)
        assert status == 409
        assert f"名单认定 {lid} 于 2026-04-03 被移除；其恢复不能早于该日，不能记为 2026-04-01" in page
        assert "cannot be dated" not in page
    store.close()
