"""A person in their notice period is not counted as blacklisted by the operator's figures: the dashboard's list sizes
count a blacklist as decisions did on each run's day, and show those in notice apart.

World (tests/due_world.py): 张三 (A) meets Sesame's blacklist for the judgment J1; the run of 2026-02-01 gives notice
(30 days' grace: in effect on 2026-03-03), the run of 2026-04-02 finds it in effect.
"""

from __future__ import annotations

import html
from pathlib import Path

import httpx
import pytest

from api_helpers import serving
from cli_helpers import DEFAULTER, ONE_DEFAULTER, scored_city
from due_world import scored
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.due_process.listings import list_listings
from socialcredit.registry.reporting import dashboard
from socialcredit.store import open_store
from web_helpers import sign_in


def test_the_dashboard_counts_a_blacklist_as_decisions_did_on_each_run_s_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Until 2026-12-06 the run of 2026-02-01 counted 张三 on the blacklist, in his grace period, where every decision
    granted (the list sizes, and the figures by district, profession and age band)."""
    monkeypatch.setenv(TODAY_ENV, "2026-04-02")
    store = scored(tmp_path, "2026-02-01", "2026-04-02")
    runs = dashboard.runs(store)
    assert [(r["as_of"].isoformat(), r["lists"]) for r in runs] == [
        ("2026-04-02", {"blacklist": 1}),
        ("2026-02-01", {"blacklist": 0}),
    ]
    assert [r.get("in_notice") for r in runs] == [{}, {"blacklist": 1}]
    # and so do the figures by district (张三 lives in 朝阳区), by profession and by age band
    for run in runs:
        chaoyang = next(d for d in dashboard.by_district(store, run["run_id"]) if d["name_zh"] == "朝阳区")
        retail = next(p for p in dashboard.by_profession(store, run["run_id"]) if p["profession"] == "retail")
        ages = sum(a["blacklist"] for a in dashboard.by_age_band(store, run["run_id"]))
        n = run["lists"]["blacklist"]
        assert (chaoyang["blacklist"], retail["blacklist"], ages) == (n, n, n)
    operator = issue_key(store, "operator", "registry operations").token
    app = create_app(tmp_path / "due.duckdb", store=store)
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as ops:
        sign_in(ops, operator)
        for lang, said in (("en", "(1 more in notice)"), ("zh", "（另有 1 人在告知期内）")):
            page = html.unescape(ops.get("/ops", params={"lang": lang}).text)
            page = page[page.index('<section class="card" id="runs">') :]  # the score runs, newest first
            cells = [c.split("</td>")[0] for c in page.split('class="num" data-label="')[1:]]
            listed = [c.split(">", 1)[1] for c in cells if c.startswith(('Blacklist"', '失信名单"'))]
            assert listed == ["1", f'0 <span class="help" data-testid="in-notice">{said}</span>'], lang
    store.close()


def test_a_refusal_of_someone_in_their_notice_period_names_no_blacklist_measure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """王伟 is noticed on 2026-06-01 (60 days' grace) and refused a bank loan for his grade: the decision names no
    memorandum (he is not blacklisted yet), and his inquiries say the same. Until 2026-12-06 his inquiries named
    measure 21 of 发改财金〔2016〕141号 (a judgment defaulter's listing), as if the blacklist had refused him."""
    # and a second judgment, without defaulter: grade C, below the loan's B
    courts = ONE_DEFAULTER["courts"] + f"C-2,{DEFAULTER},court_judgment,2026-05-01,civil,5000,unfulfilled,false\n"
    db = scored_city(tmp_path, {**ONE_DEFAULTER, "courts": courts}, as_of="2026-06-01", today="2026-06-01")
    monkeypatch.setenv(TODAY_ENV, "2026-06-01")
    store = open_store(db, key="")
    assert [(x["status"], x["effective_on"]) for x in list_listings(store, subject_id=DEFAULTER)] == [
        ("pending", "2026-07-31")
    ]
    bank = issue_key(
        store,
        "relying_party",
        "a bank",
        services=["bank_loan"],
        purposes=["loan application"],
        policy="beijing",
        agency="banking_regulator",
    ).token
    resident = issue_key(store, "resident", "王伟", subject=DEFAULTER).token
    app = create_app(db, store=store)
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as site:
        body = {"subject_id": DEFAULTER, "service": "bank_loan", "purpose": "loan application"}
        answer = site.post("/v1/decisions", json=body, headers={"Authorization": f"Bearer {bank}"}).json()
        said = (answer["granted"], answer["tier"], answer["lists"], answer["joint_punishment"])
        assert said == (False, "C", [], None)
        app.state.service.flush_inquiries()
        report = site.get(f"/v1/subjects/{DEFAULTER}/report", headers={"Authorization": f"Bearer {resident}"})
        assert report.status_code == 200, report.text
        asked = [(q["service"], q["outcome"], q.get("joint_punishment")) for q in report.json()["inquiries"]]
        assert ("bank_loan", "refused", None) in asked
        assert all(q.get("joint_punishment") is None for q in report.json()["inquiries"])
    store.close()


def test_the_dashboard_s_blacklist_standing_joins_listings_on_equalities(tmp_path: Path) -> None:
    """Until 2026-12-06 the join of a run's entries to their listings said ``ON e.black AND …``, which DuckDB planned
    as a nested loop over every entry and listing (list sizes took 1.2 s at 5,000 entries instead of 3 ms); the
    standing of a list that is no blacklist is settled by its ``CASE`` alone."""
    store = scored(tmp_path, "2026-02-01")
    sql = f"SELECT * FROM ({dashboard._standing_sql('s.finished_at IS NOT NULL')})"
    plan = " ".join(str(r[1]) for r in store.execute("EXPLAIN " + sql, {"black": ["sesame/blacklist"]}).fetchall())
    assert "HASH_JOIN" in plan
    assert not [op for op in ("NESTED_LOOP_JOIN", "BLOCKWISE_NL_JOIN", "PIECEWISE_MERGE_JOIN") if op in plan]
    store.close()
