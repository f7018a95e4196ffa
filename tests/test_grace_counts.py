"""A person in their notice period is not counted as blacklisted by the operator's figures: the dashboard's run in
force counts a blacklist as decisions count it now, and shows those in notice apart; another run counts who met the
criteria on its date, and says so.

World (tests/due_world.py): 张三 (A) meets Sesame's blacklist for the judgment J1; the run of 2026-02-01 gives notice
(30 days' grace: in effect on 2026-03-03), the run of 2026-04-02 finds it in effect.
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_helpers import serving
from cli_helpers import DEFAULTER, ONE_DEFAULTER, PAYER
from due_world import JUDGMENT, A, B, built, built_scored, ingest, made_city, write_csv
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.registry.access.parties import IssuedKey, issue_key
from socialcredit.registry.decisions.decide import decide
from socialcredit.registry.decisions.inquiries import RUN_LISTS, InquiryLog, with_run_lists
from socialcredit.registry.decisions.snapshot import Snapshot
from socialcredit.registry.due_process.listings import activate_due, effective_lists, inquiry_lists, list_listings
from socialcredit.registry.due_process.overrides import override_listing
from socialcredit.registry.reporting import dashboard
from socialcredit.registry.reporting.listing_details import held_since_run
from socialcredit.registry.reporting.report import subject_report
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import score
from socialcredit.registry.service import Service
from socialcredit.store import MIGRATIONS, Store, open_store
from socialcredit.web.i18n import translate
from store_copies import copied
from web_helpers import sign_in


def _bank(store: Store) -> IssuedKey:
    """A bank's key for loans under beijing, acting for the banking regulator (whose measures a refusal names)."""
    return issue_key(
        store,
        "relying_party",
        "a bank",
        services=["bank_loan"],
        purposes=["loan application"],
        policy="beijing",
        agency="banking_regulator",
    )


def _make_noticed(folder: Path) -> None:
    made_city(folder, ONE_DEFAULTER, as_of="2026-06-01", today="2026-06-01")


def _noticed(folder: Path) -> Path:
    """The store of ``scored_city`` of ONE_DEFAULTER as of 2026-06-01, on its day (王伟 noticed, in effect on
    2026-07-31), made in this process as the console script makes it (due_world.made_city) once per process and copied
    into ``folder``."""
    copied(folder, "grace-counts-noticed", _make_noticed)
    return folder / "city.duckdb"


def _runs(store: Store) -> list[tuple[str, str, bool, dict[str, int], dict[str, int], list[str]]]:
    """Each run, newest first: its date, standing, whether in force, list sizes, those in notice, lists counted as
    met."""
    return [
        (r["as_of"].isoformat(), r["standing"], r["in_force"], r["lists"], r["in_notice"], r["met"])
        for r in dashboard.runs(store)
    ]


def test_the_dashboard_counts_the_run_in_force_as_decisions_do_and_others_as_met(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Until 2026-12-06 the run of 2026-02-01 counted 张三 on the blacklist, in his grace period, where every decision
    granted (the list sizes, and the figures by district, profession and age band); then it counted 0 (1 more in
    notice), replaying listings it never counted itself. It is an earlier run: it counts who met the criteria."""
    monkeypatch.setenv(TODAY_ENV, "2026-04-02")
    store = built_scored(tmp_path, "2026-02-01", "2026-04-02")
    runs = dashboard.runs(store)
    assert _runs(store) == [
        ("2026-04-02", "ordinary", True, {"blacklist": 1}, {}, []),
        ("2026-02-01", "ordinary", False, {"blacklist": 1}, {}, ["blacklist"]),
    ]
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
        for lang, said in (("en", "(met the criteria)"), ("zh", "（符合条件人数）")):
            page = html.unescape(ops.get("/ops", params={"lang": lang}).text)
            page = page[page.index('<section class="card" id="runs">') :]  # the score runs, newest first
            cells = [c.split("</td>")[0] for c in page.split('class="num" data-label="')[1:]]
            listed = [c.split(">", 1)[1] for c in cells if c.startswith(('Blacklist"', '失信名单"'))]
            assert listed == ["1", f'1 <span class="help" data-testid="met">{said}</span>'], lang
    store.close()


def test_the_run_in_force_counts_a_listing_the_daily_job_put_in_effect(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Until 2026-12-06 the run in force of 2026-02-01 read "0 (1 more in notice)" once the daily job had put 张三's
    listing in effect on 2026-03-03, while decisions counted him blacklisted."""
    monkeypatch.setenv(TODAY_ENV, "2026-03-10")
    store = built_scored(tmp_path, "2026-02-01")
    assert _runs(store) == [("2026-02-01", "ordinary", True, {"blacklist": 0}, {"blacklist": 1}, [])]
    activate_due(store, dt.date(2026, 3, 10))
    run = store.rows("SELECT * FROM score_runs")[0]
    assert effective_lists(store, run, A, ["blacklist"]) == ["blacklist"]
    assert _runs(store) == [("2026-02-01", "ordinary", True, {"blacklist": 1}, {}, [])]
    chaoyang = next(d for d in dashboard.by_district(store, run["run_id"]) if d["name_zh"] == "朝阳区")
    assert chaoyang["blacklist"] == 1
    store.close()


def test_a_what_if_run_counts_who_met_the_criteria(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A what-if records no listing: until 2026-12-06 it read 0 with no one in notice (and, once an ordinary run had
    noticed 张三, 1 in notice that it never gave)."""
    monkeypatch.setenv(TODAY_ENV, "2026-02-01")
    store = built(tmp_path)
    sesame = resolve_policy(store, "sesame")
    score(store, sesame, dt.date(2026, 4, 2))  # dated after today: a what-if
    assert _runs(store) == [("2026-04-02", "what_if", False, {"blacklist": 1}, {}, ["blacklist"])]
    score(store, sesame, dt.date(2026, 2, 1))
    assert _runs(store) == [
        ("2026-02-01", "ordinary", True, {"blacklist": 0}, {"blacklist": 1}, []),
        ("2026-04-02", "what_if", False, {"blacklist": 1}, {}, ["blacklist"]),
    ]
    store.close()


def test_an_override_moves_the_run_in_force_s_count_not_an_earlier_run_s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Until 2026-12-06 the run of 2026-02-01 read 0 (1 more in notice), replaying listings as recorded now; an
    override removing 张三's listing and its restoration move only the run in force, as they move decisions."""
    monkeypatch.setenv(TODAY_ENV, "2026-04-02")
    store = built_scored(tmp_path, "2026-02-01", "2026-04-02")
    listing = int(list_listings(store, subject_id=A)[0]["listing_id"])
    why = "a justification long enough to pass"
    override_listing(store, listing, why, "op", outcome="removed", today=dt.date(2026, 4, 10))
    monkeypatch.setenv(TODAY_ENV, "2026-04-20")
    score(store, resolve_policy(store, "sesame"), dt.date(2026, 4, 20))
    earlier = [
        ("2026-04-02", "ordinary", False, {"blacklist": 1}, {}, ["blacklist"]),
        ("2026-02-01", "ordinary", False, {"blacklist": 1}, {}, ["blacklist"]),
    ]
    assert _runs(store) == [("2026-04-20", "ordinary", True, {"blacklist": 0}, {}, []), *earlier]
    override_listing(store, listing, why, "op", outcome="restored", today=dt.date(2026, 5, 1))
    assert _runs(store) == [("2026-04-20", "ordinary", True, {"blacklist": 1}, {}, []), *earlier]
    store.close()


def test_a_refusal_of_someone_in_their_notice_period_names_no_blacklist_measure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """王伟 is noticed on 2026-06-01 (60 days' grace) and refused a bank loan for his grade: the decision names no
    memorandum (he is not blacklisted yet), and his inquiries say the same. Until 2026-12-06 his inquiries named
    measure 21 of 发改财金〔2016〕141号 (a judgment defaulter's listing), as if the blacklist had refused him."""
    # and a second judgment, without defaulter: grade C, below the loan's B
    courts = ONE_DEFAULTER["courts"] + f"C-2,{DEFAULTER},court_judgment,2026-05-01,civil,5000,unfulfilled,false\n"
    db = made_city(tmp_path, {**ONE_DEFAULTER, "courts": courts}, as_of="2026-06-01", today="2026-06-01")
    monkeypatch.setenv(TODAY_ENV, "2026-06-01")
    store = open_store(db, key="")
    assert [(x["status"], x["effective_on"]) for x in list_listings(store, subject_id=DEFAULTER)] == [
        ("pending", "2026-07-31")
    ]
    bank = _bank(store).token
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
    store = built_scored(tmp_path, "2026-02-01")
    sql = f"SELECT * FROM ({dashboard._standing_sql('s.finished_at IS NOT NULL')})"
    plan = " ".join(str(r[1]) for r in store.execute("EXPLAIN " + sql, {"black": ["sesame/blacklist"]}).fetchall())
    assert "HASH_JOIN" in plan
    assert not [op for op in ("NESTED_LOOP_JOIN", "BLOCKWISE_NL_JOIN", "PIECEWISE_MERGE_JOIN") if op in plan]
    store.close()


def test_an_inquiry_on_a_run_of_a_policy_version_not_published_here_keeps_its_lists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run made under a policy version this registry does not hold has no blacklist it knows: its inquiries' lists
    are the run's, as the dashboard counts its lists (until 2026-12-06 ``inquiry_lists`` raised NotFoundError)."""
    monkeypatch.setenv(TODAY_ENV, "2026-04-02")
    store = built_scored(tmp_path, "2026-02-01")
    store.execute(
        "INSERT INTO score_runs (run_id, policy_id, policy_version, policy_sha256, as_of, watermark, mode, engine, "
        "started_at, finished_at, n_subjects) VALUES (900, 'sesame', '1999.1', 'x', DATE '2026-03-01', 1, 'full', "
        "'duckdb', now(), now(), 1)"
    )
    store.execute("INSERT INTO run_list_entries VALUES (900, ?, 'blacklist', 'elsewhere', NULL)", [A])
    store.execute(
        "INSERT INTO inquiries VALUES (9000, TIMESTAMP '2026-03-02 10:00:00', 'key:x', ?, 'consumer_credit', "
        "'loan application', 'refused', 900, NULL)",
        [A],
    )
    assert inquiry_lists(store, A, [9000]) == {9000: ["blacklist"]}
    store.close()


def test_the_dashboard_says_apart_a_listing_decisions_no_longer_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """张三 disputes J1 after the run of 2026-04-02 (Sesame does not count a disputed record while the dispute is open):
    `list blacklist` marks his listing ``held``, decisions grant, and the dashboard counted him in effect as if nothing
    had changed. It counts him still (the register holds the listing until the next run), and says him held apart, in
    both languages; reading writes nothing, and nothing is rescored while no listed subject changed since the run."""
    from socialcredit.registry.decisions import live
    from socialcredit.registry.due_process.disputes import file_dispute

    monkeypatch.setenv(TODAY_ENV, "2026-04-03")
    store = built_scored(tmp_path, "2026-02-01", "2026-04-02")

    def unfolded(*_: object, **__: object) -> None:
        raise AssertionError("rescored although no listed subject changed since the run")

    with monkeypatch.context() as m:
        m.setattr(live, "fold_all", unfolded)
        assert [r["held"] for r in dashboard.runs(store, held=held_since_run)] == [{}, {}]
    file_dispute(store, A, "courts", "J1", "paid", actor="resident", today=dt.date(2026, 4, 3))
    kept = [store.rows(f"SELECT * FROM {t} ORDER BY ALL") for t in ("listings", "score_states", "audit_log")]
    assert [(r["in_force"], r["lists"], r["held"]) for r in dashboard.runs(store, held=held_since_run)] == [
        (True, {"blacklist": 1}, {"blacklist": 1}),
        (False, {"blacklist": 1}, {}),
    ]
    assert [store.rows(f"SELECT * FROM {t} ORDER BY ALL") for t in ("listings", "score_states", "audit_log")] == kept
    operator = issue_key(store, "operator", "registry operations").token
    app = create_app(tmp_path / "due.duckdb", store=store)
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as ops:
        sign_in(ops, operator)
        app.state.service.go_live()  # the dispute made live now, not when the live thread next wakes
        for lang, said in (
            ("en", "(1 not applied now: the record behind it changed or is disputed; the next run closes it)"),
            ("zh", "（其中 1 人暂不适用：其依据的记录已变更或有异议，下次评分时结束）"),
        ):
            page = html.unescape(ops.get("/ops", params={"lang": lang}).text)
            page = page[page.index('<section class="card" id="runs">') :]  # the score runs, newest first
            cells = [c.split("</td>")[0] for c in page.split('class="num" data-label="')[1:]]
            listed = [c.split(">", 1)[1] for c in cells if c.startswith(('Blacklist"', '失信名单"'))]
            assert listed[0] == f'1 <span class="help" data-testid="held">{said}</span>', lang
    store.close()


def _held_on_ops(ops: httpx.Client) -> list[str]:
    """The held counts the dashboard's runs say (English), newest run first."""
    page = ops.get("/ops", params={"lang": "en"})
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    text = text[text.index('<section class="card" id="runs">') :]
    return [x.split("</span>")[0] for x in text.split('data-testid="held">')[1:]]


def test_the_dashboard_of_a_service_says_held_as_its_list_page_and_folds_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside the service the dashboard asks the service what decisions apply now (``Service.held_listings``), as the
    list page does. Until 2026-12-06 it folded the scoring states itself on a connection of its own
    (``views_since_run``, a write it rolled back) beside the live thread's and ingest's folds under the writer: one
    /ops load could make a batch or a live pass fail with a conflict, or answer 500."""
    from socialcredit.registry.decisions import live
    from socialcredit.registry.due_process.disputes import file_dispute

    monkeypatch.setenv(TODAY_ENV, "2026-04-03")
    store = built_scored(tmp_path, "2026-02-01", "2026-04-02")
    operator = issue_key(store, "operator", "registry operations").token
    # no live thread: its first pass, due 0.2 s after the service starts, could come after the dispute on a loaded
    # machine and fold it (seen once); the test makes the change live itself
    monkeypatch.setattr(Service, "_live_loop", lambda _self: None)
    app = create_app(tmp_path / "due.duckdb", store=store)
    service = app.state.service

    def folding(*_: object, **__: object) -> None:
        raise AssertionError("the dashboard rescored on a connection of its own")

    monkeypatch.setattr(live, "views_since_run", folding)
    bearer = {"Authorization": f"Bearer {operator}"}
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as ops:
        sign_in(ops, operator)

        def listed() -> list[str]:
            page = ops.get("/v1/lists/blacklist/entries", params={"policy": "sesame"}, headers=bearer)
            return [e["listing"] for e in page.json()["entries"]]

        with service.writer() as st:
            file_dispute(st, A, "courts", "J1", "paid", actor="resident", today=dt.date(2026, 4, 3))
            states = st.rows("SELECT * FROM score_states ORDER BY ALL")
        # not live yet: decisions still apply the listing, and both pages say so
        assert (_held_on_ops(ops), listed()) == ([], ["effective"])
        with service.writer() as st:
            assert st.rows("SELECT * FROM score_states ORDER BY ALL") == states  # the dashboard folded nothing
        service.go_live()
        assert (_held_on_ops(ops), listed()) == (
            ["(1 not applied now: the record behind it changed or is disputed; the next run closes it)"],
            ["held"],
        )
    store.close()


def test_the_dashboard_counts_held_per_policy_and_subject_and_reads_no_one_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """张三 is on the blacklists of both policies (runs of 2026-02-01 and 2026-04-02). A change to 李四, on no list,
    rescores no one; 张三's dispute of J1 holds his Sesame listing (Sesame does not count a disputed record) and not
    his Beijing one; a second judgment of his with the defaulter mark meets Sesame's criterion again: 0 held."""
    from socialcredit.registry.decisions import live
    from socialcredit.registry.due_process.disputes import file_dispute

    monkeypatch.setenv(TODAY_ENV, "2026-04-03")
    store = built(tmp_path)
    for day in (dt.date(2026, 2, 1), dt.date(2026, 4, 2)):
        for policy in ("sesame", "beijing"):
            score(store, resolve_policy(store, policy), day, today=day)

    def held() -> list[tuple[str, bool, dict[str, int]]]:
        return [(r["policy_id"], r["in_force"], r["held"]) for r in dashboard.runs(store, held=held_since_run)]

    none = [("beijing", True, {}), ("sesame", True, {}), ("beijing", False, {}), ("sesame", False, {})]

    def unfolded(*_: object, **__: object) -> None:
        raise AssertionError("rescored although no listed subject changed since the run")

    ticket = [["T2", B, "traffic_ticket", "2026-04-02", "speeding", "200", "paid"]]
    header = ["record_id", "subject_id", "record_type", "event_date", "offence", "fine", "status"]
    ingest(store, write_csv(tmp_path / "t2.csv", header, ticket), "traffic_police", dt.date(2026, 4, 3))
    with monkeypatch.context() as m:
        m.setattr(live, "fold_all", unfolded)
        assert held() == none
    file_dispute(store, A, "courts", "J1", "paid", actor="resident", today=dt.date(2026, 4, 3))
    assert held() == [("beijing", True, {}), ("sesame", True, {"blacklist": 1}), *none[2:]]
    j2 = [["J2", A, "court_judgment", "2026-04-01", "civil", "8000", "unfulfilled", "true"]]
    ingest(store, write_csv(tmp_path / "j2.csv", JUDGMENT, j2), "courts", dt.date(2026, 4, 3))
    assert held() == none
    store.close()


def _asked(store: Store, inquiry_id: int | None) -> dict[str, Any]:
    """The inquiry ``inquiry_id`` as 王伟's file shows it."""
    (asked,) = [
        q
        for q in subject_report(store, DEFAULTER, parts={"inquiries"})["inquiries"]
        if q.get("inquiry_id") == inquiry_id
    ]
    return asked


def test_a_refusal_s_measure_follows_the_lists_its_decision_counted_not_the_listing_since(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """王伟's listing took effect on 2026-07-31; on the registry's 2026-08-15 (a today set apart from the machine's
    date) a bank acting for the banking regulator is refused a loan for him on the blacklist, and the decision counts
    it. An override removes the listing on 2026-08-20: his file still names the measure of the refusal, as the
    decision counted it. Until 2026-12-06 the file worked the lists out again by the listing as it then stood, on
    the UTC date of the inquiry (the machine's), and named no measure."""
    db = _noticed(tmp_path)
    monkeypatch.setenv(TODAY_ENV, "2026-08-15")
    store = open_store(db, key="")
    activate_due(store, dt.date(2026, 8, 15))
    (listing,) = list_listings(store, subject_id=DEFAULTER)
    assert listing["status"] == "effective"
    bank = _bank(store).party
    decision = decide(store, DEFAULTER, "bank_loan", "loan application", requester=f"key:{bank.key_id}")
    assert (decision.granted, decision.lists) == (False, ["blacklist"])
    why = "a justification long enough to pass"
    override_listing(store, int(listing["listing_id"]), why, "op", outcome="removed", today=dt.date(2026, 8, 20))
    asked = _asked(store, decision.inquiry_id)
    measure = asked.get("joint_punishment") or {}
    assert (asked["outcome"], measure.get("memorandum_id"), measure.get("list"), measure.get("measure")) == (
        "refused",
        "fgcj_2016_141",
        "blacklist",
        21,
    )
    # kept with the inquiry as the decision counted them
    said = store.rows("SELECT outcome, lists FROM inquiries WHERE inquiry_id = ?", [decision.inquiry_id])
    assert said == [{"outcome": "refused", "lists": ["blacklist"]}]
    # a store of schema 47, whose inquiries kept no lists: migration 48 leaves them NULL, and the file works them out
    # again by the listing as it now stands (removed: no measure)
    with store.transaction():
        store.execute("ALTER TABLE inquiries DROP COLUMN lists")
        store.execute("DELETE FROM schema_version WHERE version >= 48")
    store.close()
    store = open_store(db, key="")
    assert store.rows("SELECT lists FROM inquiries") == [{"lists": None}]
    assert (
        store.one("SELECT max(version) FROM schema_version") == MIGRATIONS[-1][0]
    )  # 48 and every migration after it taken again
    asked = _asked(store, decision.inquiry_id)
    assert (asked["outcome"], asked.get("joint_punishment")) == ("refused", None)
    store.close()


def test_a_batch_and_a_quick_refusal_keep_the_run_s_lists_whatever_becomes_of_the_listing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bank acting for the banking regulator is refused a loan for 王伟, on the blacklist, in a batch and in a quick
    decision, on a snapshot's buffer and through the service's journal (sealed); an override removes his listing
    before the file is read. His lists are the run's: each refusal is given them when it is written, and his file
    names the measure each counted. Until 2026-12-07 such a refusal kept none (NULL): the file worked its lists out
    again by the listing as it then stood (removed), and named no measure."""
    db = _noticed(tmp_path)
    monkeypatch.setenv(TODAY_ENV, "2026-08-15")
    store = open_store(db, key="")
    activate_due(store, dt.date(2026, 8, 15))
    (listing,) = list_listings(store, subject_id=DEFAULTER)
    bank = _bank(store).party
    requester = f"key:{bank.key_id}"
    journal = InquiryLog(tmp_path / "journal", key=b"k" * 32)
    for sink in (None, journal.record):
        snap = Snapshot.load(store, "beijing", explain=False, sink=sink)
        granted = snap.decide_many([DEFAULTER, PAYER], "bank_loan", "loan application", requester=requester)
        assert granted.tolist() == [False, True]
        assert not snap.decide(DEFAULTER, "bank_loan", "loan application", requester=requester).granted
        assert (snap.flush(store) if sink is None else journal.flush(store)) == 3
    journal.close()
    why = "a justification long enough to pass"
    override_listing(store, int(listing["listing_id"]), why, "op", outcome="removed", today=dt.date(2026, 8, 20))
    kept = store.execute("SELECT inquiry_id, subject_id, outcome, lists FROM inquiries ORDER BY inquiry_id").fetchall()
    assert [k[1:] for k in kept] == [
        (DEFAULTER, "refused", ["blacklist"]),
        (PAYER, "granted", None),
        (DEFAULTER, "refused", ["blacklist"]),
    ] * 2
    for inquiry_id in [k[0] for k in kept if k[2] == "refused"]:
        measure = _asked(store, inquiry_id).get("joint_punishment") or {}
        said = (measure.get("memorandum_id"), measure.get("list"), measure.get("measure"))
        assert said == ("fgcj_2016_141", "blacklist", 21), inquiry_id
    store.close()


def test_a_snapshot_s_and_the_journal_s_inquiries_keep_the_lists_a_full_decision_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A snapshot's full decision keeps the lists it counted, in its own buffer and through the service's journal
    (sealed: the same lines): [] for 李娜's grant, on no list. A batch or a quick refusal, explained or not, keeps the
    run's lists, given it from the run's entries when it is written (building each refused subject's row would cost a
    batch of refusals ~90 times what it did before inquiries kept lists); a grant keeps none (NULL)."""
    db = _noticed(tmp_path)
    monkeypatch.setenv(TODAY_ENV, "2026-08-15")
    store = open_store(db, key="")
    activate_due(store, dt.date(2026, 8, 15))
    journal = InquiryLog(tmp_path / "journal", key=b"k" * 32)
    kept = []
    for explain, sink in ((True, None), (True, journal.record), (False, None)):
        snap = Snapshot.load(store, "beijing", explain=explain, sink=sink)
        snap.decide_many([DEFAULTER, PAYER], "bank_loan", "loan application", requester="bank")
        snap.decide(DEFAULTER, "bank_loan", "loan application", requester="bank")
        if explain:
            snap.decision(PAYER, "bank_loan", "loan application", requester="bank")
        assert (snap.flush(store) if sink is None else journal.flush(store)) == 3 + explain
        kept.append(
            store.execute(
                "SELECT subject_id, outcome, lists FROM inquiries WHERE inquiry_id > ? ORDER BY inquiry_id",
                [sum(len(k) for k in kept)],
            ).fetchall()
        )
    journal.close()
    quick = [(DEFAULTER, "refused", ["blacklist"]), (PAYER, "granted", None), (DEFAULTER, "refused", ["blacklist"])]
    assert kept == [[*quick, (PAYER, "granted", [])], [*quick, (PAYER, "granted", [])], quick]
    store.close()


def test_a_quick_refusal_reads_nothing_while_explanations_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While explanations load (or after they failed) a refused quick or batch decision reads nothing from the
    store: the lists it keeps are the live ones, or marked the run's (``RUN_LISTS``), filled when written."""
    db = _noticed(tmp_path)
    monkeypatch.setenv(TODAY_ENV, "2026-08-15")
    store = open_store(db, key="")
    activate_due(store, dt.date(2026, 8, 15))
    snap = Snapshot.load(store, "beijing", explain=True)
    snap.wait_explained()
    snap.results = None  # as while they load

    def unread(*_: object, **__: object) -> None:
        raise AssertionError("a quick decision read the store")

    snap._stored_rows = unread  # type: ignore[method-assign]
    assert not snap.decide(DEFAULTER, "bank_loan", "loan application", requester="bank").granted
    assert snap.decide_many([DEFAULTER], "bank_loan", "loan application", requester="bank").tolist() == [False]
    assert snap.pending.lists == [RUN_LISTS, RUN_LISTS]
    store.close()


def test_a_refusal_in_notice_keeps_its_own_lists_never_the_marker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The defaulter in his notice period on 2026-06-15: his run lists him, decisions do not count it. A batch and a
    quick refusal of his keep his own lists (none in effect: []), not the run's, in the buffer and the journal."""
    db = _noticed(tmp_path)
    monkeypatch.setenv(TODAY_ENV, "2026-06-15")
    store = open_store(db, key="")
    assert [x["status"] for x in list_listings(store, subject_id=DEFAULTER)] == ["pending"]
    journal = InquiryLog(tmp_path / "journal")
    for sink in (None, journal.record):
        snap = Snapshot.load(store, "beijing", explain=False, sink=sink)
        assert snap.decide_many([DEFAULTER], "rail_priority", "p", requester="bank").tolist() == [False]
        assert not snap.decide(DEFAULTER, "rail_priority", "p", requester="bank").granted
        snap.flush(store) if sink is None else journal.flush(store)
    journal.close()
    kept = store.execute("SELECT subject_id, outcome, lists FROM inquiries ORDER BY inquiry_id").fetchall()
    assert kept == [(DEFAULTER, "refused", [])] * 4
    store.close()


def test_the_marker_is_filled_from_the_inquiry_s_run_not_the_run_in_force_when_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refusals decided on the run of 2026-06-01, written after a run of 2026-08-15 took force (its entries of the
    defaulter removed, so that the two differ): each keeps the entries of the run it was decided on."""
    db = _noticed(tmp_path)
    monkeypatch.setenv(TODAY_ENV, "2026-08-15")
    store = open_store(db, key="")
    day = dt.date(2026, 8, 15)
    activate_due(store, day)
    journal = InquiryLog(tmp_path / "journal")
    snaps = [Snapshot.load(store, "beijing", explain=False, sink=s) for s in (None, journal.record)]
    decided_on = snaps[0].run_id
    for snap in snaps:
        assert snap.decide_many([DEFAULTER, PAYER], "rail_priority", "p", requester="bank").tolist() == [False, False]
    newer = score(store, resolve_policy(store, "beijing"), day, today=day).run_id
    store.execute("DELETE FROM run_list_entries WHERE run_id = ? AND subject_id = ?", [newer, DEFAULTER])
    snaps[0].flush(store)
    journal.flush(store)
    journal.close()
    kept = store.execute("SELECT run_id, subject_id, lists FROM inquiries ORDER BY inquiry_id").fetchall()
    assert newer != decided_on
    assert kept == [(decided_on, DEFAULTER, ["blacklist"]), (decided_on, PAYER, [])] * 2
    store.close()


def test_journal_segments_left_open_by_a_crash_are_recovered_with_no_marker_in_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process journals a batch refusal and dies before flushing; beside its segment lies one written before
    refusals were marked (no "l"). The next process recovers both: the marked refusal gets its run's lists, the old
    one keeps none (NULL, as it always did); "=run" never reaches the store."""
    db = _noticed(tmp_path)
    monkeypatch.setenv(TODAY_ENV, "2026-08-15")
    store = open_store(db, key="")
    activate_due(store, dt.date(2026, 8, 15))
    folder = tmp_path / "journal"
    journal = InquiryLog(folder)
    snap = Snapshot.load(store, "beijing", explain=False, sink=journal.record)
    snap.decide_many([DEFAULTER], "rail_priority", "p", requester="bank")
    journal.close()  # nothing flushed: the segment stays open, as a crash leaves it
    text = journal.segment.read_text()
    assert journal.segment.suffix == ".open" and text.endswith(', "l": ["=run"]}\n'), text
    (folder / "old.open").write_text(text.replace(', "l": ["=run"]', ""))
    recovered = InquiryLog(folder)
    assert recovered.recover(store) == 2
    kept = store.execute("SELECT subject_id, lists FROM inquiries ORDER BY inquiry_id").fetchall()
    assert sorted(kept, key=str) == sorted([(DEFAULTER, None), (DEFAULTER, ["blacklist"])], key=str)
    recovered.close()
    store.close()


def test_the_run_s_lists_marker_cannot_be_changed_and_grants_are_written_as_they_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``RUN_LISTS``, handed to every sink, is immutable (until 2026-12-07 a shared list: a sink appending to the lists
    it was given changed the marker of every later refusal). Rows with no marker (a batch of grants) are written as
    they are: no look-up of the run's entries (until 2026-12-07 every flush paid for it)."""
    assert RUN_LISTS == ("=run",)
    with pytest.raises(AttributeError):
        RUN_LISTS.append("blacklist")  # type: ignore[attr-defined]
    assert with_run_lists("SELECT * FROM rows", marked=False) == "SELECT * FROM rows"
    assert "run_list_entries" in with_run_lists("SELECT * FROM rows", marked=True)
    db = _noticed(tmp_path)
    monkeypatch.setenv(TODAY_ENV, "2026-08-15")
    store = open_store(db, key="")
    activate_due(store, dt.date(2026, 8, 15))
    snap = Snapshot.load(store, "beijing", explain=False)
    assert snap.decide_many([PAYER], "bank_loan", "p", requester="bank").tolist() == [True]
    assert not snap.pending.marked
    assert snap.decide_many([DEFAULTER], "bank_loan", "p", requester="bank").tolist() == [False]
    assert snap.pending.marked
    assert snap.flush(store) == 2
    kept = store.execute("SELECT subject_id, outcome, lists FROM inquiries ORDER BY inquiry_id").fetchall()
    assert kept == [(PAYER, "granted", None), (DEFAULTER, "refused", ["blacklist"])]
    store.close()


def test_the_figures_say_the_held_as_a_count_of_residents() -> None:
    """Beside a rate per 10 000, "10000.0 (of which 1 not applied now)" read as 1 of 10000.0 (until 2026-12-07)."""
    said = [translate(lang, "held_short", n=n) for lang in ("en", "zh") for n in ("1", "1,204")]
    assert said == [
        "(1 resident not applied now)",
        "(1,204 residents not applied now)",
        "（其中 1 人暂不适用）",
        "（其中 1,204 人暂不适用）",
    ]


def test_the_journal_refuses_a_call_whose_lengths_differ(tmp_path: Path) -> None:
    """One outcome and one entry of lists a subject, or nothing is journalled (a line would lose its subject)."""
    journal = InquiryLog(tmp_path / "journal")
    with pytest.raises(ValueError, match=r"^2 subjects, 1 outcomes and no lists$"):
        journal.record(1, [DEFAULTER, PAYER], "bank_loan", "loan", "bank", ["refused"])
    with pytest.raises(ValueError, match=r"^1 subjects, 1 outcomes and 2 lists$"):
        journal.record(1, [DEFAULTER], "bank_loan", "loan", "bank", ["refused"], [None, None])
    assert journal.pending == 0
    journal.close()


def test_the_dashboard_s_figures_by_district_profession_and_age_say_held_apart_as_its_headline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beijing blacklists 张三 twice (the judgment J1, and the tax of 200 000 yuan he evaded, X2) and 李四 once (X2'
    of his). The tax bureau corrects both taxes to paid after the run of 2026-04-02: decisions no longer apply 李四's
    listing, and still apply 张三's by J1. The run's list size says 1 of its 2 apart (held), and so, until
    2026-12-07, did none of the figures by district, profession and age band, nor the charts: they counted 李四 in
    effect without a word. Reading writes nothing."""
    monkeypatch.setenv(TODAY_ENV, "2026-04-03")
    store = built(tmp_path)
    header = ["record_id", "subject_id", "record_type", "event_date", "amount", "status", "days_late"]
    evaded = [[f"X2{s}", s, "tax_payment", "2026-01-20", "200000", "evaded", "0"] for s in (A, B)]
    ingest(store, write_csv(tmp_path / "x2.csv", header, evaded), "tax_bureau", dt.date(2026, 1, 20))
    for day in (dt.date(2026, 2, 1), dt.date(2026, 4, 2)):  # noticed on the first, in effect by the second
        score(store, resolve_policy(store, "beijing"), day, today=day)
    listed = "SELECT subject_id, criterion_id FROM listings WHERE list_id = 'blacklist' AND status = 'effective'"
    assert sorted(map(tuple, store.execute(listed + " ORDER BY ALL").fetchall())) == sorted(
        [(A, "judgment_defaulter"), (A, "major_tax_evasion"), (B, "major_tax_evasion")]
    )
    paid = [[f"X2{s}", s, "tax_payment", "2026-01-20", "200000", "paid", "0", "true"] for s in (A, B)]
    ingest(store, write_csv(tmp_path / "x2b.csv", [*header, "correction"], paid), "tax_bureau", dt.date(2026, 4, 3))
    kept = [store.rows(f"SELECT * FROM {t} ORDER BY ALL") for t in ("listings", "score_states", "audit_log")]
    (run,) = [r for r in dashboard.runs(store, held=held_since_run) if r["in_force"]]
    assert (run["lists"]["blacklist"], run["held"], run["held_subjects"]) == (2, {"blacklist": 1}, {"blacklist": [B]})
    held = run["held_subjects"]["blacklist"]
    chaoyang = next(d for d in dashboard.by_district(store, run["run_id"], held) if d["name_zh"] == "朝阳区")
    retail = next(p for p in dashboard.by_profession(store, run["run_id"], held) if p["profession"] == "retail")
    ages = [(a["band"], a["blacklist"], a["held"]) for a in dashboard.by_age_band(store, run["run_id"], held)]
    assert (chaoyang["blacklist"], chaoyang["held"], retail["blacklist"], retail["held"]) == (2, 1, 2, 1)
    assert [a for a in ages if a[1]] == [("35–44", 1, 1), ("45–54", 1, 0)]  # 李四 born 1985, 张三 1980
    assert [store.rows(f"SELECT * FROM {t} ORDER BY ALL") for t in ("listings", "score_states", "audit_log")] == kept
    operator = issue_key(store, "operator", "registry operations").token
    app = create_app(tmp_path / "due.duckdb", store=store)
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as ops:
        sign_in(ops, operator)
        app.state.service.go_live()  # the correction made live now, not when the live thread next wakes
        for lang, said in (("en", "(1 resident not applied now)"), ("zh", "（其中 1 人暂不适用）")):
            page = html.unescape(ops.get("/ops", params={"lang": lang, "policy": "beijing"}).text)
            runs_at = page.index('<section class="card" id="runs">')
            figures = page[:runs_at].split('data-testid="held">')[1:]
            # the districts' table (朝阳区), professions' (retail), age bands' (35–44), and the two charts' bars
            assert [x.split("</span>")[0] for x in figures] == [said] * 3, lang
            # and the bars of 朝阳区 (2 of its 2 residents blacklisted) and of the run's blacklist
            bars = [x.split("</text>")[0].split(">", 1)[1] for x in page[:runs_at].split('<text class="value"')[1:]]
            assert [b for b in bars if said in b] == [f"10000.0 {said}", f"2 {said}"], lang
    store.close()
