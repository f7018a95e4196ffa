"""The score history (registry/reporting/history.py, GET /v1/subjects/{id}/history, /me/history) on a world whose
numbers are worked out by hand (tests/due_world.py, Beijing: base 1000, tiers A from 960, B from 850).

张三 (A) is scored three times:
* run 1, 2026-02-01: the unfulfilled judgment J1 takes 100 points (court.unfulfilled, no decay): 900, tier B, and
  J1 meets the blacklist's criterion (judgment_defaulter): A is given notice, listed from 2026-04-02 (60 days' grace)
  unless the cause goes before; the run's lists say it apart from the lists A is on (until 2026-12-06 it said A
  was on the blacklist from this run, as no decision and no public look-up did).
* run 2, 2026-04-02: a speeding ticket T2 of 2026-03-01 takes 5 more (traffic.minor): 895, still B; the listing
  takes effect: A enters the blacklist.
* run 3, 2026-04-20: the court records J1 fulfilled (a correction): court.unfulfilled gives 0, +100; 995, tier A,
  off the blacklist. The ticket still counts (365 days): 1000 − 5 = 995.

The three residents ranked by score, best first: run 1 B 995 (T1 −5), A 900, C 900 − 0.33 = 899.67 → 900 (K1 −100,
X1 late tax −10 halved every 365 days: 2021-03-01 to 2026-02-01 is 1798 days, −10 × 2^(−1798/365) = −0.33).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_helpers import serving
from due_world import JUDGMENT, A, B, build, ingest, score_on_its_day, write_csv
from page_text import raw_identifiers, visible_text
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.decisions.live import LiveView
from socialcredit.registry.due_process.listings import list_listings
from socialcredit.registry.due_process.overrides import override_listing
from socialcredit.registry.reporting.history import score_history
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.store import Store
from web_helpers import sign_in

D = dt.date


def _three_runs(store: Store, folder: Path) -> None:
    beijing = resolve_policy(store, "beijing")
    score_on_its_day(store, beijing, D(2026, 2, 1))
    ticket = [["T2", A, "traffic_ticket", "2026-03-01", "speeding", "200", "paid"]]
    header = ["record_id", "subject_id", "record_type", "event_date", "offence", "fine", "status"]
    ingest(store, write_csv(folder / "ticket.csv", header, ticket), "traffic_police", D(2026, 3, 1))
    score_on_its_day(store, beijing, D(2026, 4, 2))
    paid = [["J1", A, "court_judgment", "2026-01-10", "civil", "12000", "fulfilled", "true", "true"]]
    ingest(store, write_csv(folder / "paid.csv", [*JUDGMENT, "correction"], paid), "courts", D(2026, 4, 10))
    score_on_its_day(store, beijing, D(2026, 4, 20))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder: Path = tmp_path_factory.mktemp("history")
    store = build(folder)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(TODAY_ENV, "2026-04-20")
        _three_runs(store, folder)
        keys = {
            "resident": issue_key(store, "resident", "张三", subject=A).token,
            "other": issue_key(store, "resident", "李四", subject=B).token,
            "operator": issue_key(store, "operator", "registry operations").token,
            "traffic": issue_key(store, "furnisher", "traffic police", source="traffic_police").token,
            "relying_party": issue_key(
                store, "relying_party", "rail", services=["high_speed_rail"], purposes=["ticket purchase"]
            ).token,
        }
        app = create_app(folder / "due.duckdb", store=store)
        try:
            with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
                yield {"store": store, "client": client, "keys": keys, "lock": app.state.service.lock, "base": base}
        finally:
            store.close()


def _auth(world: dict[str, Any], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world['keys'][who]}"}


EXPECTED_RUNS = [
    # newest first: (run, as_of, score, tier, score change, rule changes, lists entered, lists left, lists)
    (3, "2026-04-20", 995, "A", 100, [("court.unfulfilled", -100.0, 0.0, 100.0)], [], ["blacklist"], []),
    (2, "2026-04-02", 895, "B", -5, [("traffic.minor", 0.0, -5.0, -5.0)], ["blacklist"], [], ["blacklist"]),
    (1, "2026-02-01", 900, "B", None, None, None, None, []),
]


def _summary(history: dict[str, Any]) -> list[tuple[Any, ...]]:
    [policy] = history["policies"]
    out = []
    for r in policy["runs"]:
        c = r["change"]
        out.append(
            (
                r["run_id"],
                r["as_of"],
                r["score"],
                r["tier"],
                c and c["score"],
                c and [(x["rule_id"], x["points_before"], x["points"], x["difference"]) for x in c["rules"]],
                c and [x["list"] for x in c["lists_entered"]],
                c and [x["list"] for x in c["lists_left"]],
                [x["list"] for x in r["lists"]],
            )
        )
    return out


def test_every_run_newest_first_with_what_changed(world: dict[str, Any]) -> None:
    with world["lock"]:
        history = score_history(world["store"], A)
    assert _summary(history) == EXPECTED_RUNS
    [policy] = history["policies"]
    assert [[x["list"] for x in r["lists_in_notice"]] for r in policy["runs"]] == [[], [], ["blacklist"]]
    assert (policy["policy"], policy["policy_name"], policy["live"]) == ("beijing", "Beijing social credit score", None)
    assert history["live_changes_kept"] is False
    newest = policy["runs"][0]
    assert (newest["tier_name"], newest["change"]["tier_before"], newest["change"]["rules"][0]["rule"]) == (
        "trustworthy",
        "B",
        "court judgment not fulfilled",
    )
    # ranks, best first among the three residents: run 1 B 995, then A and C at 900 (a tie shares the rank);
    # run 2 B 995, C 1000 − 100 = 900 (X1 now −0.29), A 895 last; run 3 C's K1 expired (2026-02-27): C 1000 − 0.28
    # = 1000, A 995 and B 995 share the second place
    assert [(r["run_id"], r["rank"]) for r in policy["runs"]] == [(3, 2), (2, 3), (1, 2)]
    assert [r["change"] and r["change"]["rank_before"] for r in policy["runs"]] == [3, 2, None]


def test_the_history_in_chinese_names_rules_and_lists_in_words(world: dict[str, Any]) -> None:
    with world["lock"]:
        history = score_history(world["store"], A, lang="zh")
    [policy] = history["policies"]
    change = policy["runs"][0]["change"]
    assert (policy["policy_name"], policy["runs"][0]["tier_name"]) == ("北京市社会信用评分", "诚信")
    assert (change["rules"][0]["rule"], change["lists_left"]) == (
        "未履行生效判决",
        [{"list": "blacklist", "name": "失信名单"}],
    )


def test_the_api_answers_the_resident_and_operators_only(world: dict[str, Any]) -> None:
    client: httpx.Client = world["client"]
    own = client.get(f"/v1/subjects/{A}/history", headers=_auth(world, "resident"))
    assert own.status_code == 200, own.text
    assert _summary(own.json()) == EXPECTED_RUNS
    assert [[x["list"] for x in r["lists_in_notice"]] for r in own.json()["policies"][0]["runs"]] == [
        [],
        [],
        ["blacklist"],
    ]
    op = client.get(f"/v1/subjects/{A}/history", headers=_auth(world, "operator"), params={"lang": "zh"})
    assert op.status_code == 200 and op.json()["policies"][0]["runs"][0]["tier_name"] == "诚信"
    other = client.get(f"/v1/subjects/{A}/history", headers=_auth(world, "other"))
    assert (other.status_code, other.json()["error"]["code"]) == (403, "not_your_file")
    rail = client.get(f"/v1/subjects/{A}/history", headers=_auth(world, "relying_party"))
    assert (rail.status_code, rail.json()["error"]["code"]) == (403, "role_not_allowed")
    assert client.get(f"/v1/subjects/{A}/history").status_code == 401
    missing = client.get("/v1/subjects/110105199001011237/history", headers=_auth(world, "operator"))
    assert missing.status_code == 404
    with world["lock"]:
        reads = world["store"].rows(
            "SELECT actor, detail FROM audit_log WHERE action = 'read_history' AND subject_id = ? ORDER BY seq", [A]
        )
    assert [r["detail"] for r in reads][-2:] == ['{"purpose": "resident history"}', '{"purpose": "operator history"}']


def _lists_by_run(history: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Each run's (as_of, lists, lists in notice, lists entered, lists left), newest first."""
    [policy] = history["policies"]

    def names(lists: list[dict[str, str]]) -> list[str]:
        return [x["list"] for x in lists]

    return [
        (
            r["as_of"],
            names(r["lists"]),
            names(r["lists_in_notice"]),
            r["change"] and names(r["change"]["lists_entered"]),
            r["change"] and names(r["change"]["lists_left"]),
        )
        for r in policy["runs"]
    ]


def _noticed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Store, Any]:
    """The due world on 2026-04-20 (the registry's today) with its run of 2026-02-01, which noticed J1's
    blacklisting (in effect from 2026-04-02 unless the cause goes away), and the policy beijing."""
    monkeypatch.setenv(TODAY_ENV, "2026-04-20")
    store = build(tmp_path)
    beijing = resolve_policy(store, "beijing")
    score_on_its_day(store, beijing, D(2026, 2, 1))
    return store, beijing


def test_a_listing_resolved_in_its_notice_period_was_never_on_the_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # J1 is recorded fulfilled on 2026-02-10, before the listing would take effect (2026-04-02): it is resolved, so
    # the run of 2026-02-20 finds no list, and nothing was left as nothing was entered
    store, beijing = _noticed(tmp_path, monkeypatch)
    paid = [["J1", A, "court_judgment", "2026-01-10", "civil", "12000", "fulfilled", "true", "true"]]
    ingest(store, write_csv(tmp_path / "paid.csv", [*JUDGMENT, "correction"], paid), "courts", D(2026, 2, 10))
    score_on_its_day(store, beijing, D(2026, 2, 20))
    assert _lists_by_run(score_history(store, A)) == [
        ("2026-02-20", [], [], [], []),
        ("2026-02-01", [], ["blacklist"], None, None),
    ]


def test_a_listing_overridden_while_its_cause_remains_is_left_at_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # in effect from 2026-04-02, overridden on 2026-04-05 while J1 is still unfulfilled: the run of 2026-04-10 still
    # finds the list, but decisions no longer count it, so neither does the history (it was judged by the
    # listing's present status alone); the run of 2026-04-02 keeps it, as it was in effect that day
    store, beijing = _noticed(tmp_path, monkeypatch)
    score_on_its_day(store, beijing, D(2026, 4, 2))
    [listing] = list_listings(store, subject_id=A)
    override_listing(store, int(listing["listing_id"]), "court confirmed a payment plan", "op", today=D(2026, 4, 5))
    score_on_its_day(store, beijing, D(2026, 4, 10))
    assert _lists_by_run(score_history(store, A)) == [
        ("2026-04-10", [], [], [], ["blacklist"]),
        ("2026-04-02", ["blacklist"], [], ["blacklist"], []),
        ("2026-02-01", [], ["blacklist"], None, None),
    ]


def test_a_listing_ended_after_the_latest_run_is_left_live_not_at_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the run of 2026-04-02 finds A on the blacklist (in effect that day), and the service rescores A live on it,
    # still on the list; the listing is overridden on 2026-04-05, after both: the live row (today 2026-04-20) says
    # the list left, judged by the listing's dates as the runs' rows are (it kept the live pass's list, whatever
    # the listing's status), and the run's row keeps the list it was on that day. The live view is the one the
    # service holds while its patch after the override waits (a policy judging on rank or percentile whose
    # explanations are loading, service.relisted); tests/test_history_live.py overrides through the service
    store, beijing = _noticed(tmp_path, monkeypatch)
    score_on_its_day(store, beijing, D(2026, 4, 2))
    run_id, watermark = store.rows("SELECT run_id, watermark FROM score_runs ORDER BY run_id DESC LIMIT 1")[0].values()
    view = LiveView({"score": 895, "tier": "B", "lists": ["blacklist"]}, [], [], 2, 50.0, int(watermark) + 1)
    [listing] = list_listings(store, subject_id=A)
    override_listing(store, int(listing["listing_id"]), "court confirmed a payment plan", "op", today=D(2026, 4, 5))
    history = score_history(store, A, live={int(run_id): view})
    assert _lists_by_run(history) == [
        ("2026-04-02", ["blacklist"], [], ["blacklist"], []),
        ("2026-02-01", [], ["blacklist"], None, None),
    ]
    live = history["policies"][0]["live"]
    left = [{"list": "blacklist", "name": "blacklist"}]
    assert (live["lists"], live["change"]["lists_entered"], live["change"]["lists_left"]) == ([], [], left)
    assert live["lists_in_notice"] == []


def test_the_page_shows_each_run_and_what_changed(world: dict[str, Any]) -> None:
    with httpx.Client(base_url=world["base"], timeout=30) as client:
        sign_in(client, world["keys"]["resident"])
        en = client.get("/me/history", params={"lang": "en"})
        assert en.status_code == 200, en.text
        text = en.text
        assert 'href="/me/history" aria-current="page"' in text
        for needle in (
            "Run of 2026-04-20",
            "<strong>Score 995</strong> · Tier A trustworthy · Rank 2",
            "+100 points since the run before · Tier B basically trustworthy became A trustworthy",
            "Left: blacklist",
            "<tr><td>court judgment not fulfilled</td><td>-100.0</td><td>0.0</td><td>+100.0</td></tr>",
            "-5 points since the run before",
            "<tr><td>minor traffic offences</td><td>0.0</td><td>-5.0</td><td>-5.0</td></tr>",
            "This is your first scoring run.",
            "Notice given, in the grace period (not listed): blacklist",
            "Entered: blacklist",
        ):
            assert needle in text, needle
        assert text.index("Run of 2026-04-20") < text.index("Run of 2026-04-02") < text.index("Run of 2026-02-01")
        # entered at the run the listing took effect; at the notice's run, in its grace period only
        assert text.index("Run of 2026-04-02") < text.index("Entered: blacklist") < text.index("Run of 2026-02-01")
        assert text.index("Run of 2026-02-01") < text.index("Notice given, in the grace period")
        assert "Lists: blacklist" not in text[text.index("Run of 2026-02-01") :]
        zh = client.get("/me/history", params={"lang": "zh"}).text
        assert "等级由 B 基本诚信 变为 A 诚信" in zh
        assert "移出：失信名单" in zh and "与上次相比 +100 分" in zh and "2026-04-20 的评分" in zh
        assert "列入：失信名单" in zh and "已通知、尚在宽限期内（未列入）：失信名单" in zh
        assert raw_identifiers(visible_text(zh), lang="zh") == []  # no rule id, list id or field name in Chinese


def _region_names(text: str) -> list[str]:
    """The accessible name of each region of a page, from the ids its aria-labelledby names."""
    said = dict(re.findall(r'<(?:h2|h3|p class="help"|caption) id="([^"]+)">([^<]*)<', text))
    regions = re.findall(r'role="region" aria-labelledby="([^"]+)"', text)
    return [" ".join(said[i] for i in ids.split()) for ids in regions]


def test_each_runs_table_of_rules_is_a_region_of_its_own_name(world: dict[str, Any]) -> None:
    """Each run's table of the rules that changed is a scrollable region named by its caption: every run's was
    "Rules whose points changed", two landmarks of one name (axe's landmark-unique) a screen reader cannot tell
    apart. It is named by its caption, its run (its date and number) and its policy."""
    with httpx.Client(base_url=world["base"], timeout=30) as client:
        sign_in(client, world["keys"]["resident"])
        for lang, name in (
            (
                "en",
                "Rules whose points changed Run of 2026-04-20 run 3 · policy version 2026.2 Beijing social credit "
                "score",
            ),
            ("zh", "分数有变化的规则 2026-04-20 的评分 第 3 次评分 · 政策版本 2026.2 北京市社会信用评分"),
        ):
            names = _region_names(client.get("/me/history", params={"lang": lang}).text)
            assert len(names) >= 2 and len(set(names)) == len(names) and name in names, names


def test_two_runs_of_one_date_are_regions_of_two_names(tmp_path: Path) -> None:
    """A re-run on the day of a run (after a late record) gave a second region of the first's name: the date told
    them apart no more. The run's number does."""
    store = build(tmp_path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(TODAY_ENV, "2026-04-20")
        _three_runs(store, tmp_path)
        late = [["T3", A, "traffic_ticket", "2026-04-15", "speeding", "200", "paid"]]
        header = ["record_id", "subject_id", "record_type", "event_date", "offence", "fine", "status"]
        ingest(store, write_csv(tmp_path / "late.csv", header, late), "traffic_police", D(2026, 4, 20))
        score_on_its_day(store, resolve_policy(store, "beijing"), D(2026, 4, 20))
        key = issue_key(store, "resident", "张三", subject=A).token
        app = create_app(tmp_path / "due.duckdb", store=store)
        with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
            sign_in(client, key)
            names = _region_names(client.get("/me/history", params={"lang": "en"}).text)
    runs = [n for n in names if "Run of 2026-04-20" in n]
    assert len(runs) == 2 and len(set(names)) == len(names), names


def test_a_record_sent_after_the_run_shows_live_with_its_watermark(world: dict[str, Any]) -> None:
    """A third ticket T3 of 2026-04-15 sent over the API is rescored live at the run's as-of date (2026-04-20):
    1000 − 5 − 5 = 990, still tier A (from 960), 5 points fewer than run 3; no run is added to the history."""
    client: httpx.Client = world["client"]
    body = (
        "record_id,subject_id,record_type,event_date,offence,fine,status\n"
        f"T3,{A},traffic_ticket,2026-04-15,parking,50,paid\n"
    )
    sent = client.post(
        "/v1/records",
        content=body.encode(),
        headers={**_auth(world, "traffic"), "content-type": "text/csv", "Idempotency-Key": "history-t3"},
    )
    assert sent.status_code == 200 and sent.json()["accepted"] == 1, sent.text
    deadline = time.monotonic() + 30
    while True:
        got = client.get(f"/v1/subjects/{A}/history", headers=_auth(world, "resident")).json()
        live = got["policies"][0]["live"]
        if live is not None or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert live is not None, "the service did not rescore the resident live within 30 s"
    with world["lock"]:
        run_watermark = world["store"].one("SELECT watermark FROM score_runs WHERE run_id = 3")
    assert (live["run_id"], live["score"], live["tier"], live["change"]["score"]) == (3, 990, "A", -5)
    assert live["watermark"] > run_watermark
    assert (live["change"]["lists_entered"], live["change"]["lists_left"], live["lists"]) == ([], [], [])
    assert [r["run_id"] for r in got["policies"][0]["runs"]] == [3, 2, 1]
    with httpx.Client(base_url=world["base"], timeout=30) as page:
        sign_in(page, world["keys"]["resident"])
        text = page.get("/me/history", params={"lang": "en"}).text
    assert f"(as of change number {live['watermark']})" in text
    assert "<strong>Score 990</strong> · Tier A trustworthy" in text and "-5 points since the run before" in text
    assert "Live changes are not kept one by one" in text


def _history_pages(folder: Path, latest: str) -> dict[str, str]:
    """A's history pages (en, zh) after a run under the shipped beijing 2026.2 (A graded B) and, once the
    judgment is fulfilled, a run under ``latest`` published as 2026.9 (A graded A); and A's overview (``me en``,
    ``me zh``)."""
    from socialcredit.policies import __file__ as shipped
    from socialcredit.policy.load import parse_policy
    from socialcredit.registry.scoring.policies import publish_policy

    store = build(folder)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv(TODAY_ENV, "2026-04-20")
            score_on_its_day(store, resolve_policy(store, "beijing"), D(2026, 2, 1))
            text = (Path(shipped).parent / "beijing.yaml").read_text(encoding="utf-8")
            publish_policy(store, parse_policy(latest_text(text, latest), "beijing.yaml", store.catalog))
            paid = [["J1", A, "court_judgment", "2026-01-10", "civil", "12000", "fulfilled", "true", "true"]]
            ingest(store, write_csv(folder / "paid.csv", [*JUDGMENT, "correction"], paid), "courts", D(2026, 4, 10))
            score_on_its_day(store, resolve_policy(store, "beijing"), D(2026, 4, 20))
            key = issue_key(store, "resident", "张三", subject=A).token
            app = create_app(folder / "due.duckdb", store=store)
            with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
                sign_in(client, key)
                pages = {lang: client.get("/me/history", params={"lang": lang}).text for lang in ("en", "zh")}
                return pages | {f"me {lang}": client.get("/me", params={"lang": lang}).text for lang in ("en", "zh")}
    finally:
        store.close()


def latest_text(text: str, latest: str) -> str:
    text = text.replace('version: "2026.2"', 'version: "2026.9"', 1)
    if latest == "unnamed":  # grades without names: "{id: B, min: 850}"
        head, tail = text.split("dimensions:", 1)
        assert head.count(", name: {zh:") == 6
        return re.sub(r", name: \{zh: [^}]*\}\}", "}", head) + "dimensions:" + tail
    # grade B renamed b: a run graded B under 2026.2 has a grade the latest version no longer has
    old = "{id: B, min: 850, name: {zh: 基本诚信, en: basically trustworthy}}"
    assert old in text and "tier >= 'B'" in text
    return text.replace(old, old.replace("id: B", "id: b")).replace("tier >= 'B'", "tier >= 'b'")


def test_a_grade_without_a_name_is_shown_once(tmp_path: Path) -> None:
    """Grades without names: the page once printed the id twice ("Tier B B became A A"), the registry giving the id
    as the name. The latest version's words are used, as for rules and lists."""
    pages = _history_pages(tmp_path, "unnamed")
    assert "<strong>Score 1000</strong> · Tier A · Rank" in pages["en"]
    assert "<strong>Score 900</strong> · Tier B · Rank" in pages["en"]
    assert "+100 points since the run before · Tier B became A</p>" in pages["en"]
    assert "<strong>分数 1000</strong> · 等级 A · 排名" in pages["zh"]
    assert "<strong>分数 900</strong> · 等级 B · 排名" in pages["zh"]
    assert "等级由 B 变为 A</p>" in pages["zh"]
    # and the overview gives the grade alone, no space after it for the name it does not have
    assert '<dt>Tier</dt><dd class="big">A</dd>' in pages["me en"]
    assert '<dt>等级</dt><dd class="big">A</dd>' in pages["me zh"]


def test_a_grade_the_latest_version_no_longer_has_keeps_its_name(tmp_path: Path) -> None:
    """A run under 2026.2 graded B, a grade 2026.9 no longer has (it has b): its name comes from 2026.2, as an
    older version's rules and lists do (the page once printed "Tier B B became A trustworthy")."""
    pages = _history_pages(tmp_path, "renamed")
    assert "<strong>Score 900</strong> · Tier B basically trustworthy · Rank" in pages["en"]
    assert "Tier B basically trustworthy became A trustworthy</p>" in pages["en"]
    assert "<strong>分数 900</strong> · 等级 B 基本诚信 · 排名" in pages["zh"]
    assert "等级由 B 基本诚信 变为 A 诚信</p>" in pages["zh"]
