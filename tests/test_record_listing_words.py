"""A record that gives no points but lists its subject (a list's criterion on the record, no scoring rule) reads as
what it does, on the console's `show` and on the resident's records page, in both languages: it is no record "not
counting". The worlds are made in this process as the console's commands make them (`init`, `policy publish`,
`ingest`, `score`, `override listing`: due_world); what is asserted is asked of the console's `show` and the
pages."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import httpx
import pytest

from api_helpers import serving
from cli_helpers import DEFAULTER, ONE_DEFAULTER, sc
from due_world import ingested, made_city, scored_on
from socialcredit.api.app import create_app
from socialcredit.policy import load_policy
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.due_process.overrides import override_listing
from socialcredit.registry.reporting.impact_record import publish
from socialcredit.store import open_store
from web_helpers import sign_in

# Beijing with no points for an unfulfilled judgment of 50 000 yuan or more: the defaulter's judgment (80 000) only
# lists him (the blacklist's judgment_defaulter criterion)
_RULE = "    when: \"status == 'unfulfilled'\"\n"


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("listing")
    text = (Path(__file__).parents[1] / "src/socialcredit/policies/beijing.yaml").read_text(encoding="utf-8")
    assert text.count(_RULE) == 1 and text.count('version: "2026.2"') == 1
    policy = folder / "beijing.yaml"
    policy.write_text(
        text.replace(_RULE, _RULE.replace("'unfulfilled'", "'unfulfilled' and amount < 50000")).replace(
            'version: "2026.2"', 'version: "2026.3"'
        ),
        encoding="utf-8",
    )
    db = folder / "city.duckdb"
    # what `init` and `policy publish POLICY --without-impact` do, then `ingest` of each batch and `score --as-of
    # 2026-07-01` on its day, made in this process
    with open_store(db, create=True, key="") as store:
        publish(store, load_policy(policy, store.catalog), None)
    for source, csv in ONE_DEFAULTER.items():
        (folder / f"{source}.csv").write_text(csv, encoding="utf-8")
        ingested(db, folder / f"{source}.csv", source)
    scored_on(db, "2026-07-01")
    return db


def _record_line(out: str) -> str:
    return next(line for line in out.splitlines() if "C-1 v1" in line)


# the run of 2026-07-01 noticed the listing: in effect 60 days later (the blacklist's grace), unless resolved before
_PENDING_EN = (
    "will put you on the blacklist (judgment defaulter) from 2026-08-30 unless the cause is resolved before then"
)
_PENDING_ZH = "将于2026-08-30起将您列入失信名单（失信被执行人），除非此前消除原因"


def test_show_says_the_judgment_will_list_him(city: Path) -> None:
    out = sc("show", DEFAULTER, db=city).stdout
    en = _record_line(out)
    assert "status=unfulfilled listing " + _PENDING_EN in " ".join(out.split())  # the table wraps the sentence
    assert "not counting" not in en
    zh = _record_line(sc("show", DEFAULTER, "--lang", "zh", db=city).stdout)
    assert zh.split()[-2:] == ["列入名单", _PENDING_ZH]
    assert "不计分" not in zh


@pytest.fixture(scope="module")
def listed(city: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The city scored again as of 2026-09-01, past the grace: the listing is in effect."""
    db = tmp_path_factory.mktemp("listed") / "city.duckdb"
    shutil.copyfile(city, db)
    scored_on(db, "2026-09-01")  # what `score --as-of 2026-09-01` does on its day, made in this process
    return db


def test_show_says_the_judgment_lists_him(listed: Path) -> None:
    en = _record_line(sc("show", DEFAULTER, db=listed).stdout)
    assert en.split()[-8:] == ["listing", "puts", "you", "on", "the", "blacklist", "(judgment", "defaulter)"]
    zh = _record_line(sc("show", DEFAULTER, "--lang", "zh", db=listed).stdout)
    assert zh.split()[-2:] == ["列入名单", "将您列入失信名单（失信被执行人）"]


def test_an_overridden_listing_lists_him_no_more(listed: Path, tmp_path: Path) -> None:
    """An operator's override removes the listing: the judgment lists no one, gives no points, and says the listing
    was removed, on which day and why (until 2026-12-06 it still said "puts you on the blacklist", then until
    2026-12-07 plain "not counting")."""
    db = tmp_path / "city.duckdb"
    shutil.copyfile(listed, db)
    store = open_store(db, key="")
    try:
        [row] = store.rows("SELECT listing_id, status FROM listings WHERE subject_id = ?", [DEFAULTER])
        lid, status = row["listing_id"], row["status"]
        assert status == "effective"
        # what `override listing LID --justification ...` does, made in this process
        override_listing(store, lid, "reviewed: the judgment was stayed on appeal", "operator")
        closed = store.one("SELECT closed_on FROM listings WHERE listing_id = ?", [lid]).isoformat()
    finally:
        store.close()
    records = json.loads(sc("show", DEFAULTER, "--json", db=db).stdout)["records"]
    rec = next(r for r in records if r["record_id"] == "C-1")
    # no longer plain "not counting": removed, when and why (until 2026-12-07 its ``lists`` were empty)
    en = f"removed from the blacklist (judgment defaulter) on {closed}: overridden by an operator"
    assert rec["status"] == "not counting"
    assert [(x["standing"], x["text"]) for x in rec["lists"]] == [("removed", en)]
    out = sc("show", DEFAULTER, db=db).stdout
    assert "not counting " + en in " ".join(out.split())  # the table wraps the sentence
    zh = _record_line(sc("show", DEFAULTER, "--lang", "zh", db=db).stdout)
    assert zh.split()[-2:] == ["不计分", f"已于{closed}将您移出失信名单（失信被执行人）：经运营人员人工复核撤销"]


def test_the_records_page_says_the_judgment_lists_him(city: Path) -> None:
    store = open_store(city, key="")
    key = issue_key(store, "resident", "the defaulter", subject=DEFAULTER).token
    app = create_app(city, store=store)
    try:
        with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
            assert sign_in(client, key).status_code in (200, 303)
            for lang, status, does in (
                ("zh", "列入名单", _PENDING_ZH),
                ("en", "puts you on a list", _PENDING_EN),
            ):
                page = client.get(f"/me/records?lang={lang}")
                assert page.status_code == 200
                row = page.text[page.text.index('data-testid="record"') :]
                cells = [re.sub(r"<[^>]+>|\s+", " ", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
                assert cells[4].startswith(status), cells
                assert cells[5] == does, cells
    finally:
        store.close()


def test_a_judgment_that_counts_points_and_lists_him_says_both(tmp_path: Path) -> None:
    """Under Beijing as published the defaulter's judgment takes points and lists him: `show` and the records page
    said only its points (until 2026-12-07); they say the listing too, as it stands (here in its notice period)."""
    # what `init`, `ingest` of each batch and `score --as-of 2026-07-01` make, made in this process
    db = made_city(tmp_path, ONE_DEFAULTER, as_of="2026-07-01")
    records = json.loads(sc("show", DEFAULTER, "--json", db=db).stdout)["records"]
    rec = next(r for r in records if r["record_id"] == "C-1")
    assert rec["status"] == "counting"
    assert rec["contribution"] == {
        "beijing": [{"rule_id": "court.unfulfilled", "points": -100, "counted": -100, "note": None}]
    }
    assert [(x["standing"], x["text"]) for x in rec["lists"]] == [("notice", _PENDING_EN)]
    out = " ".join(sc("show", DEFAULTER, db=db).stdout.split())
    assert "counting beijing: court.unfulfilled -100; " + _PENDING_EN in out
    zh = "".join(sc("show", DEFAULTER, "--lang", "zh", db=db).stdout.split())  # the table wraps the sentence
    assert "计分中beijing:court.unfulfilled-100;" + _PENDING_ZH in zh
    store = open_store(db, key="")
    key = issue_key(store, "resident", "the defaulter", subject=DEFAULTER).token
    app = create_app(db, store=store)
    try:
        with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
            assert sign_in(client, key).status_code in (200, 303)
            for lang, does in (("zh", _PENDING_ZH), ("en", _PENDING_EN)):
                page = client.get(f"/me/records?lang={lang}")
                assert page.status_code == 200
                row = page.text[page.text.index('data-testid="record"') :]
                cells = [re.sub(r"<[^>]+>|\s+", " ", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
                assert " ".join(cells[5].split()).endswith(" -100 " + does), cells
    finally:
        store.close()
