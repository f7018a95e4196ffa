"""The dashboard's disparity panel counts a blacklist as decisions apply it, as the figures by district, profession
and age band do (registry/reporting/lab_panels.py ``applied_audit``): until 2026-12-07 it counted the run's own list
flags, so a listing still in its notice period, or held (its record disputed since the run), counted as applied.

World (tests/due_world.py, scored under Sesame, grace 30 days): 王五 (C) has a second judgment K2 of 2026-01-20 that
makes him a judgment defaulter, 李四 (B) one of 2026-03-20 (J2). Scored 2026-02-01 and 2026-04-02: A's and C's
listings are in effect (since 2026-03-03), B's in its notice period (until 2026-05-02). Then A disputes J1, which
Sesame does not count while the dispute is open: A's listing is held. The figures by district count A and C (A
held, said apart) and leave B out: so does the panel (until its review it left A out too). A is 45 on the run's
day (born 1980-05-01), B 41 and C 35.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest

from api_helpers import serving
from due_world import JUDGMENT, A, B, C, build, ingest, score_on_its_day, write_csv
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.due_process.disputes import file_dispute, withdraw_dispute
from socialcredit.registry.reporting import dashboard
from socialcredit.registry.reporting import lab_panels as lab_panels_module
from socialcredit.registry.reporting.lab_panels import applied_audit, lab_panels
from socialcredit.registry.reporting.listing_details import held_ids, live_since_run
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.store import Store
from web_helpers import sign_in


def _world(folder: Path) -> tuple[Store, int]:
    store = build(folder)
    sesame = resolve_policy(store, "sesame")
    k2 = [["K2", C, "court_judgment", "2026-01-20", "civil", "9000", "unfulfilled", "true"]]
    ingest(store, write_csv(folder / "k2.csv", JUDGMENT, k2), "courts", dt.date(2026, 2, 1))
    score_on_its_day(store, sesame, dt.date(2026, 2, 1))
    j2 = [["J2", B, "court_judgment", "2026-03-20", "civil", "7000", "unfulfilled", "true"]]
    ingest(store, write_csv(folder / "j2.csv", JUDGMENT, j2), "courts", dt.date(2026, 4, 1))
    run = score_on_its_day(store, sesame, dt.date(2026, 4, 2)).run_id
    file_dispute(store, A, "courts", "J1", "paid", actor="resident", today=dt.date(2026, 4, 3))
    return store, run


def test_the_panel_counts_the_blacklist_as_decisions_apply_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TODAY_ENV, "2026-04-03")
    store, run = _world(tmp_path)
    listed = store.rows("SELECT subject_id, status FROM listings WHERE policy_id = 'sesame' ORDER BY subject_id")
    assert sorted((x["subject_id"], x["status"]) for x in listed) == sorted(
        [(A, "effective"), (B, "pending"), (C, "effective")]
    )
    # the service's way of finding what decisions no longer apply, on its API and its dashboard
    operator = issue_key(store, "operator", "operations").token
    app = create_app(store.path, store=store)
    with serving(app) as base, httpx.Client(base_url=base, timeout=60) as client:
        app.state.service.go_live()  # the dispute made live now, not when the live thread next wakes
        audit = client.get("/v1/policies/sesame/2026.1/disparity", headers={"Authorization": f"Bearer {operator}"})
        sign_in(client, operator)
        pages = {lang: client.get("/ops", params={"policy": "sesame", "lang": lang}).text for lang in ("en", "zh")}
    assert audit.status_code == 200, audit.text
    assert audit.json()["overall"]["list:blacklist"] == {"count": 2, "rate": 2 / 3}  # A (held) and C, of A, B, C
    assert audit.json()["unapplied"] == {"blacklist": {"notice": 1, "held": 1, "ended": 0}}
    assert (
        '<p class="help" data-testid="disparity-counts">blacklist: counted as the figures by district, profession '
        "and age band count it — 2 persons, of which 1 held (listed in effect, decisions no longer apply it); left "
        "out: 1 in the notice period, 0 ended since the run. The refusal rates per service count the lists as the "
        "run found them.</p>"
    ) in pages["en"]
    assert (
        '<p class="help" data-testid="disparity-counts">失信名单：与按区、职业和年龄段的统计一样计数——计入 2 人，'
        "其中暂不适用（名单仍生效，决定不再适用）1 人；未计入：告知期内 1 人，评分后已结束 0 人。"
        "各项服务的拒绝率按评分时的名单计算。</p>"
    ) in pages["zh"]
    # the console's way (it holds no service): the same counts
    panel = lab_panels(store, run, lambda s, xs: held_ids(s, xs, live_since_run(s, xs)))["disparity"]
    store.close()
    assert panel["overall"]["list:blacklist"] == {"count": 2, "rate": 2 / 3}
    assert panel["unapplied"] == {"blacklist": {"notice": 1, "held": 1, "ended": 0}}
    # by age band, B's notice taken off the run's counts: A (45–54) counted, held; of B and C (35–44), C
    rows = {r["group"]: (r["n"], r["count"]) for r in panel["rows"] if r["metric"] == "list:blacklist"}
    assert {g: rows[g] for g in ("45–54", "35–44")} == {"45–54": (1, 1), "35–44": (2, 1)}


def test_the_panel_and_the_figures_by_district_count_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The panel's sentence says it counts as the figures by district do: the same count, the same held."""
    monkeypatch.setenv(TODAY_ENV, "2026-04-03")
    store, run = _world(tmp_path)
    held = lambda s, xs: held_ids(s, xs, live_since_run(s, xs))  # noqa: E731
    row = next(r for r in dashboard.runs(store, held=held) if r["run_id"] == run)
    districts, outside = dashboard.district_figures(store, run, row["held_subjects"].get("blacklist", []))
    panel = lab_panels(store, run, held_subjects=row["held_subjects"])["disparity"]
    store.close()
    by_district = sum(d["blacklist"] for d in districts) + outside["blacklist"]
    held_there = sum(d["held"] for d in districts) + outside["held"]
    assert (by_district, held_there) == (2, 1)
    assert (panel["overall"]["list:blacklist"]["count"], panel["unapplied"]["blacklist"]["held"]) == (2, 1)


def test_the_runs_counts_are_kept_and_what_changes_is_taken_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dispute withdrawn since the last look changes who is held, not the run: the run's counts are worked out
    once, and the held subject counted either way."""
    monkeypatch.setenv(TODAY_ENV, "2026-04-03")
    store, run = _world(tmp_path)
    made: list[int] = []
    real = lab_panels_module.audit_counts
    monkeypatch.setattr(lab_panels_module, "audit_counts", lambda s, r: made.append(r) or real(s, r))
    held = lambda s, xs: held_ids(s, xs, live_since_run(s, xs))  # noqa: E731
    first = applied_audit(store, run, held)
    withdraw_dispute(store, 1, A, "resident", today=dt.date(2026, 4, 3))
    second = applied_audit(store, run, held)
    store.close()
    assert made == [run]
    assert first["unapplied"] == {"blacklist": {"notice": 1, "held": 1, "ended": 0}}
    assert second["unapplied"] == {"blacklist": {"notice": 1, "held": 0, "ended": 0}}
    assert first["overall"]["list:blacklist"] == second["overall"]["list:blacklist"] == {"count": 2, "rate": 2 / 3}
