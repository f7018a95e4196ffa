"""Due process across borders, with two real stores (Beijing → Tianjin): a mover keeps exactly the grace Beijing gave;
a dispute filed in Tianjin goes to the Beijing court, which answers it under Beijing's rules; the answer, the
record's new version and the end of the listing come back, so both regions delist the same day; a record withdrawn
after a dispute comes back in neither region without its source's certification."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cli_helpers import sc
from region_helpers import BEIJING, EXCHANGE, TIANJIN, Regions, build_regions, regions_copied
from scoring_helpers import run_differences
from socialcredit.clock import TODAY_ENV
from socialcredit.errors import BundleError, WorkflowError
from socialcredit.regions import crossborder, export_bundle, import_bundle
from socialcredit.regions.keys import untrust_region
from socialcredit.registry.decisions.decide import decide
from socialcredit.registry.due_process.daily import run_daily
from socialcredit.registry.due_process.disputes import answer_dispute, file_dispute, get_dispute, list_disputes
from socialcredit.registry.due_process.listings import list_listings
from socialcredit.registry.due_process.retention import purge_expired
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import score
from socialcredit.store import open_store

D = dt.date
NOTICED, EFFECTIVE = D(2026, 11, 1), D(2026, 12, 31)  # Beijing's listing: notice, and 60 days' grace


@pytest.fixture
def regions(tmp_path: Path) -> Iterator[Regions]:
    world = build_regions(tmp_path, as_of=NOTICED)
    yield world
    world.close()


def _mover(world: Regions) -> dict[str, str]:
    mover = world.movers[0]
    assert (mover["from"], mover["to"], mover["defaulter"]) == (BEIJING, TIANJIN, "true")
    return mover


def _listing(world: Regions, code: str, subject_id: str) -> dict[str, Any]:
    rows = [r for r in list_listings(world.stores[code], subject_id=subject_id) if r["list_id"] == "blacklist"]
    assert len(rows) == 1, rows
    return rows[0]


def _move(world: Regions) -> Regions:
    """Beijing lists the mover (in grace), Tianjin imports Beijing's first bundle and scores."""
    mover = _mover(world)
    assert _listing(world, BEIJING, mover["subject_id_from"])["status"] == "pending"
    result = world.send(BEIJING, TIANJIN)
    assert result.linked + result.exact >= 1
    world.score(TIANJIN, D(2026, 11, 15))
    return world


@pytest.fixture
def moved(tmp_path: Path) -> Iterator[Regions]:
    """The two regions after _move (built once per process, and copied: see region_helpers.regions_copied)."""
    world = regions_copied(tmp_path, "regions-moved", lambda where: _move(build_regions(where, as_of=NOTICED)))
    yield world
    world.close()


def _moved_and_listed(world: Regions) -> tuple[dict[str, str], str, str]:
    """Of the regions after _move: the mover, and the judgment's record id in Beijing and in Tianjin."""
    mover = _mover(world)
    record_id = world.judgment(mover)["record_id"]
    return mover, record_id, f"{BEIJING}/{record_id}"


@pytest.mark.slow  # two regions built and linked: about 10 s
def test_a_mover_keeps_exactly_the_grace_beijing_gave(moved: Regions) -> None:
    """Failure 4 replayed: Tianjin's listing carries Beijing's notice and effective date, not a listing at once."""
    mover, _, local_id = _moved_and_listed(moved)
    bj, tj = mover["subject_id_from"], mover["subject_id_to"]
    listing = _listing(moved, TIANJIN, tj)
    assert (listing["record_id"], listing["noticed_on"], listing["effective_on"], listing["status"]) == (
        local_id,
        "2026-11-01",
        "2026-12-31",
        "pending",
    )
    assert moved.rail(BEIJING, bj) and moved.rail(TIANJIN, tj)
    notice = moved.stores[TIANJIN].one(
        "SELECT text_en FROM notifications WHERE subject_id = ? AND kind = 'listing_notice'", [tj]
    )
    assert (
        "The record was shared by region 110000, where notice was given on 2026-11-01: the listing takes effect "
        "on 2026-12-31 unless the cause is resolved before then." in notice
    )
    # The last day of grace: both grant rail.
    for code in (BEIJING, TIANJIN):
        moved.score(code, D(2026, 12, 30))
    assert moved.rail(BEIJING, bj) and moved.rail(TIANJIN, tj)
    # The first day after: both refuse.
    for code in (BEIJING, TIANJIN):
        moved.score(code, EFFECTIVE)
    assert not moved.rail(BEIJING, bj) and not moved.rail(TIANJIN, tj)
    assert _listing(moved, TIANJIN, tj)["status"] == _listing(moved, BEIJING, bj)["status"] == "effective"


@pytest.mark.slow  # two regions built and linked: about 10 s
def test_a_mover_first_scored_after_the_date_beijing_gave_is_told_the_listing_took_effect(regions: Regions) -> None:
    """Tianjin's first run after Beijing's effective date (2026-12-31) finds the mover's listing in effect: the notice,
    then the listing taking effect, each told (until 2026-12-05 it was written in effect at once, with only a notice
    of a grace period already over, and no ``listings_effective`` audit entry). The notice says Beijing's listing took
    effect on 2026-12-31 and that this one takes effect at once, and the listing is told in effect since the run's
    date, 2027-01-05 (until 2026-12-05 the notice said "takes effect on 2026-12-31", a past date as if to come, and
    the next "listed since 2026-12-31", when no decision here counted it before 2027-01-05)."""
    mover = _mover(regions)
    regions.judgment(mover)
    regions.send(BEIJING, TIANJIN)
    regions.score(TIANJIN, D(2027, 1, 5))
    tj = mover["subject_id_to"]
    listing = _listing(regions, TIANJIN, tj)
    assert (listing["noticed_on"], listing["effective_on"], listing["status"]) == (
        "2026-11-01",
        "2026-12-31",
        "effective",
    )
    tianjin = regions.stores[TIANJIN]
    told = tianjin.rows(
        "SELECT created_on, kind, text_en FROM notifications WHERE subject_id = ? AND ref_id = ? "
        "AND kind LIKE 'listing_%' ORDER BY notification_id",
        [tj, listing["listing_id"]],
    )
    assert [(r["created_on"], r["kind"]) for r in told] == [
        (D(2027, 1, 5), "listing_notice"),
        (D(2027, 1, 5), "listing_effective"),
    ]
    notice = tianjin.rows(
        "SELECT text_en, text_zh FROM notifications WHERE kind = 'listing_notice' AND ref_id = ?",
        [listing["listing_id"]],
    )[0]
    assert (
        "The record was shared by region 110000, where notice was given on 2026-11-01 and the listing took effect on "
        "2026-12-31: the listing takes effect here at once, on 2027-01-05. You may dispute the record"
    ) in notice["text_en"]
    assert (
        "该记录由地区 110000 共享，当地已于 2026-11-01 发出通知，并于 2026-12-31 起列入：本地区即时列入，自 2027-01-05 "
        "起生效。您可以对记录提出异议"
    ) in notice["text_zh"]
    assert "unless the cause is resolved" not in notice["text_en"] and "除非" not in notice["text_zh"]
    assert told[1]["text_en"] == (
        "blacklist (judgment defaulter): the notice period ended; you have been listed since 2027-01-05."
    )
    assert not regions.rail(TIANJIN, tj)
    entries = tianjin.execute("SELECT detail FROM audit_log WHERE action = 'listings_effective'").fetchall()
    named = [i for (detail,) in entries for i in json.loads(str(detail))["listings"]]
    assert named.count(listing["listing_id"]) == 1


@pytest.mark.slow  # two regions built and linked: about 10 s
def test_transcript_beijing_lists_tianjin_decides_the_dispute_goes_to_the_beijing_court_both_delist_the_same_day(
    moved: Regions,
) -> None:
    """The acceptance transcript, step by step, with the dates asserted."""
    mover, record_id, local_id = _moved_and_listed(moved)
    beijing, tianjin = moved.stores[BEIJING], moved.stores[TIANJIN]
    bj, tj = mover["subject_id_from"], mover["subject_id_to"]
    # Tianjin decides within the same grace, then after the effective date.
    moved.score(TIANJIN, D(2026, 12, 30))
    assert moved.rail(TIANJIN, tj)
    for code in (BEIJING, TIANJIN):
        moved.score(code, EFFECTIVE)
    assert not moved.rail(TIANJIN, tj) and not moved.rail(BEIJING, bj)
    # The person disputes in Tianjin: forwarded to Beijing, not answered by Tianjin's own court.
    filed = file_dispute(tianjin, tj, "courts", local_id, "I paid this judgment in 2026", today=D(2027, 1, 4))
    assert filed["deadline"] == "2027-02-03"
    with pytest.raises(WorkflowError) as refused:
        answer_dispute(tianjin, filed["dispute_id"], "verified", "checked", "source:courts", today=D(2027, 1, 5))
    assert str(refused.value) == (
        f"dispute {filed['dispute_id']} was forwarded to region 110000, which recorded the record; its source answers "
        "it there, and the answer arrives in that region's next bundle"
    )
    told = tianjin.one(
        "SELECT text_en FROM notifications WHERE kind = 'dispute_filed' AND ref_id = ?", [filed["dispute_id"]]
    )
    assert "the record was recorded in region 110000: the dispute is forwarded there" in told
    # Tianjin's next bundle carries it; Beijing opens it with its court, the same deadline.
    sent = moved.export(TIANJIN)
    import_bundle(beijing, sent)
    opened = list_disputes(beijing, source_id="courts", status="open")
    assert [(d["subject_id"], d["record_id"], d["opened_at"], d["deadline"]) for d in opened] == [
        (bj, record_id, "2027-01-04", "2027-02-03")
    ]
    # The Beijing court answers: withdrawn. Beijing's run that day delists.
    answer_dispute(
        beijing,
        opened[0]["dispute_id"],
        "withdrawn",
        "paid on 2026-12-20",
        "source:courts",
        source_id="courts",
        today=D(2027, 1, 20),
    )
    moved.score(BEIJING, D(2027, 1, 20))
    assert moved.rail(BEIJING, bj)
    # Beijing's next bundle: the answer, the withdrawn version, the listing ended; Tianjin delists the same day.
    moved.send(BEIJING, TIANJIN)
    closed = next(d for d in list_disputes(tianjin, subject_id=tj) if d["dispute_id"] == filed["dispute_id"])
    assert (closed["status"], closed["answered_at"]) == ("withdrawn", "2027-01-20")
    assert closed["note"] == "Answered in region 110000 on 2027-01-20: paid on 2026-12-20"
    assert closed["note_zh"] == "地区 110000 已于 2027-01-20 答复：paid on 2026-12-20"  # what a Chinese page shows
    assert tianjin.one(
        "SELECT [text_en, text_zh] FROM notifications WHERE kind = 'dispute_withdrawn' AND ref_id = ?",
        [filed["dispute_id"]],
    ) == [
        f"Dispute {filed['dispute_id']} of record {local_id} (people's courts): the source withdrew the record; it no "
        "longer counts. Answered in region 110000 on 2027-01-20: paid on 2026-12-20",
        f"异议 {filed['dispute_id']}（记录 {local_id}，人民法院）：来源已撤回该记录，不再计入。"
        "地区 110000 已于 2027-01-20 答复：paid on 2026-12-20",
    ]
    assert moved.rail(TIANJIN, tj)
    b, t = _listing(moved, BEIJING, bj), _listing(moved, TIANJIN, tj)
    assert (b["status"], b["closed_on"]) == (t["status"], t["closed_on"]) == ("delisted", "2027-01-20")
    assert tianjin.one(
        "SELECT withdrawn FROM records WHERE source_id = 'courts' AND record_id = ? ORDER BY version DESC LIMIT 1",
        [local_id],
    )
    # Tianjin's next run keeps it so.
    moved.score(TIANJIN, D(2027, 1, 21))
    assert moved.rail(TIANJIN, tj) and _listing(moved, TIANJIN, tj)["status"] == "delisted"


def _correction(world: Regions, mover: dict[str, str], *, certified: bool) -> Path:
    row = dict(world.judgment(mover))
    row.update(amount="1", correction="true", certified="true" if certified else "false")
    path = world.folder / f"correction-{certified}.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.DictWriter(fh, fieldnames=list(row))
        out.writeheader()
        out.writerow(row)
    return path


@pytest.mark.slow  # two regions built and linked: about 10 s
def test_an_unanswered_dispute_lapses_in_beijing_and_the_record_comes_back_nowhere_uncertified(
    moved: Regions,
) -> None:
    """Failure 3 replayed: the dispute lapses on both clocks at the same deadline, the uncertified correction is
    refused in Beijing and not applied in Tianjin; a certified one comes back in both."""
    mover, record_id, local_id = _moved_and_listed(moved)
    beijing, tianjin = moved.stores[BEIJING], moved.stores[TIANJIN]
    tj = mover["subject_id_to"]
    filed = file_dispute(tianjin, tj, "courts", local_id, "not my judgment", today=D(2026, 11, 20))
    assert filed["deadline"] == "2026-12-20"
    import_bundle(beijing, moved.export(TIANJIN))
    # Past the deadline, each region's daily job lapses its dispute for the resident.
    assert run_daily(tianjin, D(2026, 12, 21))["lapsed_disputes"] == [filed["dispute_id"]]
    lapsed = run_daily(beijing, D(2026, 12, 21))["lapsed_disputes"]
    assert len(lapsed) == 1
    # Beijing's court sends an uncertified correction: refused, as it is for a local dispute.
    report = ingest_file(beijing, _correction(moved, mover, certified=False), "courts", today=D(2026, 12, 22))
    assert report.accepted == 0
    assert [e.message for e in report.errors] == [
        f"'{record_id}' was withdrawn after a dispute; it comes back only with the source's certification that it "
        "is accurate (certified=true)"
    ]
    # The answer travels: Tianjin's dispute lapsed already, the record is withdrawn there.
    first = moved.export(BEIJING)
    import_bundle(tianjin, first)
    assert list_disputes(tianjin, subject_id=tj)[0]["status"] == "lapsed"
    latest = "SELECT withdrawn FROM records WHERE source_id = 'courts' AND record_id = ? ORDER BY version DESC LIMIT 1"
    assert tianjin.one(latest, [local_id])
    # Beijing's next bundle, changed to bring it back uncertified (as Beijing's exporter once did): imported, the
    # version held back.
    sent = json.loads(base64.b64decode(json.loads(first.read_bytes())["payload"]))["records"]
    withdrawn = [r for r in sent if r["record_id"] == record_id][-1]
    assert withdrawn["withdrawn"]

    def bring_back(payload: dict[str, Any]) -> None:
        payload["records"] = [{**withdrawn, "version": withdrawn["version"] + 1, "withdrawn": False}]

    crafted = moved.reseal(moved.export(BEIJING), BEIJING, bring_back)
    import_bundle(tianjin, crafted)
    assert tianjin.one(latest, [local_id])
    assert tianjin.one("SELECT count(*) FROM audit_log WHERE action = 'region_record_held_back'") == 1
    moved.score(TIANJIN, EFFECTIVE)
    assert moved.rail(TIANJIN, tj)
    # Certified in Beijing, it counts again in both.
    report = ingest_file(beijing, _correction(moved, mover, certified=True), "courts", today=D(2027, 1, 5))
    assert report.accepted == 1
    import_bundle(tianjin, moved.export(BEIJING))
    assert not tianjin.one(latest, [local_id])
    assert (
        tianjin.one("SELECT count(*) FROM notifications WHERE subject_id = ? AND kind = 'record_recertified'", [tj])
        == 1
    )


@pytest.mark.slow  # two regions built and linked: about 10 s
def test_a_held_back_version_sent_again_certified_with_the_same_content_comes_in(moved: Regions) -> None:
    """A version held back (uncertified, of a record withdrawn here after a dispute), sent again with the same content
    and certified: not a duplicate, it comes in and the resident is told; sent once more, it is one."""
    mover, record_id, local_id = _moved_and_listed(moved)
    beijing, tianjin = moved.stores[BEIJING], moved.stores[TIANJIN]
    tj = mover["subject_id_to"]
    file_dispute(tianjin, tj, "courts", local_id, "not my judgment", today=D(2026, 11, 20))
    import_bundle(beijing, moved.export(TIANJIN))
    assert len(run_daily(tianjin, D(2026, 12, 21))["lapsed_disputes"]) == 1
    assert len(run_daily(beijing, D(2026, 12, 21))["lapsed_disputes"]) == 1
    first = moved.export(BEIJING)
    import_bundle(tianjin, first)
    latest = "SELECT withdrawn FROM records WHERE source_id = 'courts' AND record_id = ? ORDER BY version DESC LIMIT 1"
    assert tianjin.one(latest, [local_id])
    sent = json.loads(base64.b64decode(json.loads(first.read_bytes())["payload"]))["records"]
    withdrawn = [r for r in sent if r["record_id"] == record_id][-1]
    back = {**withdrawn, "version": withdrawn["version"] + 1, "withdrawn": False}

    def bring_back(certified: bool) -> Callable[[dict[str, Any]], None]:
        return lambda payload: payload.update(records=[{**back, "certified": certified}])

    held = import_bundle(tianjin, moved.reseal(moved.export(BEIJING), BEIJING, bring_back(False)))
    assert (held.duplicates, held.due_process["records_held_back"]) == (0, 1)
    assert tianjin.one(latest, [local_id])
    recertified = "SELECT count(*) FROM notifications WHERE subject_id = ? AND kind = 'record_recertified'"
    assert tianjin.one(recertified, [tj]) == 0
    again = import_bundle(tianjin, moved.reseal(moved.export(BEIJING), BEIJING, bring_back(True)))
    assert (again.duplicates, again.due_process["records_held_back"], again.applied_records) == (0, 0, 1)
    assert not tianjin.one(latest, [local_id])
    assert tianjin.one(recertified, [tj]) == 1
    # the source by the catalog's name in either language, as every notice of a dispute names it (it was "地区 110000
    # 的来源 courts" in Chinese)
    told = "SELECT text_en, text_zh FROM notifications WHERE subject_id = ? AND kind = 'record_recertified'"
    assert tianjin.rows(told, [tj]) == [
        {
            "text_en": f"Record {local_id} was sent again by people's courts of region {BEIJING}, certifying that it "
            "is accurate; it counts again. You may dispute it again.",
            "text_zh": f"地区 {BEIJING} 的来源人民法院重新报送并书面确认记录 {local_id} 准确，该记录重新计入。"
            "您可再次提出异议。",
        }
    ]
    # Back in, the same certified version sent once more is a duplicate: nothing applied, nobody told again.
    once_more = import_bundle(tianjin, moved.reseal(moved.export(BEIJING), BEIJING, bring_back(True)))
    assert (once_more.duplicates, once_more.applied_records) == (1, 0)
    assert tianjin.one(recertified, [tj]) == 1


@pytest.mark.slow  # two regions built and linked: about 10 s
def test_a_bundle_without_the_new_sections_still_imports(regions: Regions) -> None:
    mover = _mover(regions)
    first = regions.export(BEIJING)

    def older(payload: dict[str, Any]) -> None:
        for key in crossborder.SECTIONS:
            del payload[key]
        for r in payload["records"]:
            del r["certified"]

    import_bundle(regions.stores[TIANJIN], regions.reseal(first, BEIJING, older))
    regions.score(TIANJIN, D(2026, 11, 15))
    # Without Beijing's dates, Tianjin gives its own notice and grace.
    listing = _listing(regions, TIANJIN, mover["subject_id_to"])
    assert (listing["noticed_on"], listing["effective_on"], listing["status"]) == (
        "2026-11-15",
        "2027-01-14",
        "pending",
    )


def test_bad_sections_are_refused_naming_the_field() -> None:
    good = {
        "to": "110000",
        "dispute_id": 3,
        "source_id": "courts",
        "record_id": "J1",
        "subject_id": "s",
        "filed_on": "2027-01-04",
        "deadline": "2027-02-03",
        "reason": "r",
    }
    crossborder.validate({"disputes": [good]})
    crossborder.validate({})
    for change, message in (
        ({"deadline": "2027-02-30"}, "malformed: disputes[0].deadline '2027-02-30' is not a date"),
        ({"to": "beijing"}, "malformed: disputes[0].to 'beijing' is not a six-digit region code"),
        ({"dispute_id": True}, "malformed: disputes[0].dispute_id true is not a whole number"),
        ({"reason": ""}, "malformed: disputes[0].reason '' is not a non-empty text"),
        # a value is quoted as JSON and cut at 40 characters (a 5,000-character date was quoted whole)
        ({"deadline": "9" * 5000}, f"malformed: disputes[0].deadline '{'9' * 38}… is not a date"),
        ({"dispute_id": [1] * 5000}, f"malformed: disputes[0].dispute_id [{'1, ' * 12}1,… is not a whole number"),
    ):
        with pytest.raises(BundleError) as err:
            crossborder.validate({"disputes": [{**good, **change}]})
        assert str(err.value) == message
    with pytest.raises(BundleError, match=r"^malformed: disputes\[0\] has no deadline$"):
        crossborder.validate({"disputes": [{k: v for k, v in good.items() if k != "deadline"}]})
    with pytest.raises(BundleError, match=r"^malformed: answers must be a list$"):
        crossborder.validate({"answers": {}})
    with pytest.raises(BundleError, match=r"^malformed: records\[0\]\.certified 'yes' is not true or false$"):
        crossborder.validate({"records": [{"certified": "yes"}]})
    listing = {
        "subject_id": "s",
        "list_id": "blacklist",
        "criterion_id": "c",
        "source_id": "courts",
        "record_id": "J1",
        "noticed_on": "2026-11-01",
        "effective_on": "2026-10-01",
        "grace_days": 0,
        "in_grace": False,
        "status": "effective",
    }
    with pytest.raises(BundleError) as err:
        crossborder.validate({"listings": [listing]})
    assert str(err.value) == "malformed: listings[0].effective_on '2026-10-01' is before noticed_on"


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\u202e", "\u2066", "\u2069"])
def test_an_id_or_a_text_of_a_section_with_a_control_character_or_a_bidi_control_is_refused(char: str) -> None:
    """Until 2026-12-05 the cross-border sections took any text: an escape sequence or a bidirectional control in a
    record id, an identity number or a dispute's reason was stored here and shown to an operator or the resident."""
    good = {
        "to": "110000",
        "dispute_id": 3,
        "source_id": "courts",
        "record_id": "J1",
        "subject_id": "s",
        "filed_on": "2027-01-04",
        "deadline": "2027-02-03",
        "reason": "paid\nin full\t(receipt attached)",  # lines and tabs: plain text, as the registry takes it
    }
    crossborder.validate({"disputes": [good]})
    code = f"U+{ord(char):04X}"
    for field, value, rule in (
        ("record_id", f"J{char}1", "an identifier is printable text"),
        ("subject_id", f"s{char}", "an identifier is printable text"),
        ("reason", f"paid{char}", "a text is plain text"),
    ):
        with pytest.raises(BundleError) as err:
            crossborder.validate({"disputes": [{**good, field: value}]})
        # the value quoted as Python writes it: the control shown escaped ('J\x1b1', 'J\u202e1')
        assert str(err.value) == f"malformed: disputes[0].{field} {value!r} has a control character ({code}); {rule}"


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(section=st.sampled_from(crossborder.SECTIONS), value=_JSON)
def test_property_validate_refuses_or_passes_never_crashes(section: str, value: Any) -> None:
    try:
        crossborder.validate({section: value})
    except BundleError as exc:
        assert str(exc).startswith("malformed: ")


CLI = str(Path(sys.executable).parent / "socialcredit")


def _sc(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_TODAY")}
    return subprocess.run([CLI, *args, "--db", str(db)], capture_output=True, text=True, env=env | {"COLUMNS": "200"})


@pytest.mark.slow  # two regions built and linked: about 10 s
def test_the_command_line_refuses_to_answer_a_forwarded_dispute_and_imports_report_due_process(
    moved: Regions,
) -> None:
    mover, _, local_id = _moved_and_listed(moved)
    filed = file_dispute(moved.stores[TIANJIN], mover["subject_id_to"], "courts", local_id, "paid", today=D(2027, 1, 4))
    sent = moved.export(TIANJIN)
    for store in moved.stores.values():
        store.close()
    tianjin, beijing = moved.folder / f"{TIANJIN}.duckdb", moved.folder / f"{BEIJING}.duckdb"
    answer = _sc(
        "dispute",
        "answer",
        str(filed["dispute_id"]),
        "verified",
        "--source",
        "courts",
        "--note",
        "checked",
        "--today",
        "2027-01-05",
        db=tianjin,
    )
    assert answer.returncode == 2
    assert answer.stderr.strip() == (
        f"error: dispute {filed['dispute_id']} was forwarded to region 110000, which recorded the record; its source "
        "answers it there, and the answer arrives in that region's next bundle"
    )
    imported = _sc("region", "import", str(sent), db=beijing)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.splitlines()[-1] == "Due process: disputes opened: 1."
    listed = _sc("dispute", "list", "--source", "courts", "--status", "open", "--json", db=beijing)
    assert [(d["record_id"], d["deadline"]) for d in json.loads(listed.stdout)] == [
        (local_id.split("/", 1)[1], "2027-02-03")
    ]


@pytest.mark.slow  # two regions built and linked: about 10 s
def test_a_region_that_shares_no_records_still_forwards_its_disputes(moved: Regions) -> None:
    mover, record_id, local_id = _moved_and_listed(moved)
    tianjin, beijing = moved.stores[TIANJIN], moved.stores[BEIJING]
    quiet = moved.folder / "quiet.yaml"
    text = (moved.folder / "tianjin.yaml").read_text(encoding="utf-8").replace("id: tianjin\n", "id: quiet\n", 1)
    quiet.write_text(text.replace(EXCHANGE, "\nexchange:\n  shareable_record_types: []\n  lists: []\n"), "utf-8")
    resolve_policy(tianjin, str(quiet))
    filed = file_dispute(tianjin, mover["subject_id_to"], "courts", local_id, "paid", today=D(2027, 1, 4))
    path = moved.folder / "quiet-1.json"
    summary = export_bundle(tianjin, "quiet", moved.keys[TIANJIN], path)
    assert (summary.records, summary.identities, summary.list_entries, summary.disputes) == (0, 0, 0, 1)
    result = import_bundle(beijing, path)
    assert result.due_process["disputes_opened"] == 1
    opened = list_disputes(beijing, source_id="courts", status="open")
    assert [(d["subject_id"], d["record_id"], d["deadline"]) for d in opened] == [
        (mover["subject_id_from"], record_id, filed["deadline"])
    ]
    # Sent once: the next bundle does not carry it again.
    again = export_bundle(tianjin, "quiet", moved.keys[TIANJIN], moved.folder / "quiet-2.json")
    assert again.disputes == 0


@pytest.mark.slow  # two regions built and linked: about 10 s
def test_a_forwarded_dispute_holds_the_record_and_a_repair_there_ends_the_listing_here(moved: Regions) -> None:
    mover, _, local_id = _moved_and_listed(moved)
    tianjin, tj = moved.stores[TIANJIN], mover["subject_id_to"]
    # Under a policy that does not count disputed records, the forwarded dispute holds the record as a local one does.
    held = moved.folder / "held.yaml"
    text = (moved.folder / "tianjin.yaml").read_text(encoding="utf-8").replace("id: tianjin\n", "id: held\n", 1)
    held.write_text(text.replace("counts_while_open: true", "counts_while_open: false"), "utf-8")
    file_dispute(tianjin, tj, "courts", local_id, "paid", today=D(2026, 12, 1))
    moved.score(TIANJIN, EFFECTIVE)
    score(tianjin, resolve_policy(tianjin, str(held)), EFFECTIVE, today=EFFECTIVE)  # a run of its day
    assert not decide(tianjin, tj, "high_speed_rail", "ticket purchase", policy_id="tianjin").granted
    assert decide(tianjin, tj, "high_speed_rail", "ticket purchase", policy_id="held").granted

    # Beijing grants a repair (its bundle reports the listing repaired on 2027-01-10): Tianjin's ends at once.
    def repaired(payload: dict[str, Any]) -> None:
        for item in payload["listings"]:
            if item["subject_id"] == mover["subject_id_from"]:
                item.update(status="repaired", closed_on="2027-01-10", in_grace=False)

    import_bundle(tianjin, moved.reseal(moved.export(BEIJING), BEIJING, repaired))
    rows = [r for r in list_listings(tianjin, subject_id=tj, policy_id="tianjin") if r["list_id"] == "blacklist"]
    assert [(r["status"], r["closed_on"]) for r in rows] == [("repaired", "2027-01-10")]
    assert decide(tianjin, tj, "high_speed_rail", "ticket purchase", policy_id="tianjin").granted
    assert tianjin.one(
        "SELECT text_en FROM notifications WHERE subject_id = ? AND kind = 'listing_repaired'", [tj]
    ) == (
        "blacklist (judgment defaulter): region 110000, which recorded the record, ended its listing on 2027-01-10 "
        "(credit repair was granted); the listing here ended the same day."
    )


@pytest.mark.slow  # two regions built and linked: about 10 s
def test_a_region_can_dispute_or_ask_to_repair_only_a_record_it_was_sent(moved: Regions) -> None:
    """Tianjin's bundle names Beijing's tax payment (a type Beijing does not share) and a judgment recorded after
    Beijing's last bundle: Beijing opens neither dispute nor repair (a lapse would have withdrawn its record)."""
    _moved_and_listed(moved)
    beijing = moved.stores[BEIJING]
    tax = beijing.rows("SELECT subject_id, source_id, record_id FROM records WHERE record_type = 'tax_payment' LIMIT 1")
    late = beijing.rows(
        "SELECT subject_id, source_id, record_id FROM records WHERE record_type = 'court_judgment' LIMIT 1"
    )
    later = dict(late[0], record_id="J-after-the-bundle")
    beijing.execute(
        "INSERT INTO records BY NAME SELECT * REPLACE (? AS record_key, ? AS record_id) FROM records "
        "WHERE record_id = ? LIMIT 1",
        [beijing.take_ids("seq", 1), later["record_id"], late[0]["record_id"]],
    )
    named = [tax[0], later, late[0]]

    def ask(payload: dict[str, Any]) -> None:
        payload["disputes"] = [
            {
                "to": BEIJING,
                "dispute_id": 90 + i,
                **r,
                "filed_on": "2026-11-20",
                "deadline": "2026-11-21",
                "reason": "not mine",
                "evidence": None,
            }
            for i, r in enumerate(named)
        ]
        payload["repairs"] = [
            {"to": BEIJING, "repair_id": 90 + i, **r, "applied_on": "2026-11-20", "statement": "paid"}
            for i, r in enumerate(named[:2])
        ]

    result = import_bundle(beijing, moved.reseal(moved.export(TIANJIN), TIANJIN, ask))
    assert (result.due_process["disputes_opened"], result.due_process["repairs_opened"]) == (1, 0)
    assert [d["record_id"] for d in list_disputes(beijing)] == [late[0]["record_id"]]
    unknown = [
        (r["action"], json.loads(r["detail"])["record"])
        for r in beijing.rows(
            "SELECT action, detail FROM audit_log WHERE action LIKE 'region_%_unknown_record' ORDER BY seq"
        )
    ]
    assert unknown == [
        ("region_dispute_unknown_record", f"tax_bureau/{tax[0]['record_id']}"),
        ("region_dispute_unknown_record", "courts/J-after-the-bundle"),
        ("region_repair_unknown_record", f"tax_bureau/{tax[0]['record_id']}"),
        ("region_repair_unknown_record", "courts/J-after-the-bundle"),
    ]
    # the one it was sent lapses as before, at the deadline of the rules: the day after filing, as sent, is clamped
    # to 30 days (a filing region does not cut the furnisher's time to answer)
    assert [d["deadline"] for d in list_disputes(beijing)] == ["2026-12-20"]
    assert run_daily(beijing, D(2026, 12, 21))["lapsed_disputes"] != []
    latest = "SELECT withdrawn FROM records WHERE record_id = ? ORDER BY version DESC LIMIT 1"
    assert not beijing.one(latest, [tax[0]["record_id"]])


@pytest.mark.slow  # two regions built and linked: about 10 s
def test_a_shared_record_under_a_forwarded_dispute_is_held_back_from_the_purge_until_answered(regions: Regions) -> None:
    """Until 2026-12-05 Tianjin's daily job purged a shared judgment past retention with the dispute its resident had
    forwarded to Beijing: the dispute vanished before Beijing's court answered it. It is held back now until the
    answer arrives, and goes at the next daily run."""
    tianjin, beijing = regions.stores[TIANJIN], regions.stores[BEIJING]

    def fulfilled(payload: dict[str, Any]) -> None:  # a fulfilled judgment (2026-03-15) counts for no rule here:
        for r in payload["records"]:  # it may be purged from 2026-03-15 + 90 days = 2026-06-13
            r["fields"] = {**r["fields"], "status": "fulfilled", "defaulter": False}

    import_bundle(tianjin, regions.reseal(regions.export(BEIJING), BEIJING, fulfilled))
    mover = _mover(regions)
    local_id = f"{BEIJING}/{regions.judgment(mover)['record_id']}"
    shared = "SELECT record_id FROM records WHERE origin_region IS NOT NULL ORDER BY 1"
    assert local_id in [r["record_id"] for r in tianjin.rows(shared)]
    filed = file_dispute(tianjin, mover["subject_id_to"], "courts", local_id, "paid", today=D(2026, 11, 20))
    # the other shared judgment and one of Tianjin's own, which no rule counts either, go; the disputed one stays
    daily = run_daily(tianjin, D(2026, 11, 22))
    assert daily["purged"] == {"records": 2, "versions": 2, "by_source": {"courts": 2}, "held": {"open_dispute": 1}}
    assert [r["record_id"] for r in tianjin.rows(shared)] == [local_id]
    assert get_dispute(tianjin, filed["dispute_id"])["status"] == "open"
    # Beijing's court answers (verified); its next bundle closes the dispute here, and the next daily run purges
    import_bundle(beijing, regions.export(TIANJIN))
    [opened] = list_disputes(beijing, source_id="courts", status="open")
    answer_dispute(
        beijing, opened["dispute_id"], "verified", "unpaid", "source:courts", source_id="courts", today=D(2026, 11, 25)
    )
    import_bundle(tianjin, regions.reseal(regions.export(BEIJING), BEIJING, fulfilled))
    assert get_dispute(tianjin, filed["dispute_id"])["status"] == "verified"
    daily = run_daily(tianjin, D(2026, 11, 26))
    assert daily["purged"] == {"records": 1, "versions": 1, "by_source": {"courts": 1}, "held": {}}
    assert tianjin.rows(shared) == [] and list_disputes(tianjin) == []
    # nor is the forwarded dispute kept as sent (region_disputes: the record's id and the resident's identity number)
    assert tianjin.one("SELECT count(*) FROM region_disputes WHERE dispute_id = ?", [filed["dispute_id"]]) == 0
    # the scores from the kept state and from the records agree after the purge
    loaded = resolve_policy(tianjin, str(regions.folder / "tianjin.yaml"))
    kept, records = score(tianjin, loaded, D(2026, 11, 27)), score(tianjin, loaded, D(2026, 11, 27), from_records=True)
    assert (kept.source, records.source) == ("state", "records")
    assert run_differences(tianjin, kept.run_id, records.run_id) == []


@pytest.mark.slow  # two regions built and linked: about 10 s
@pytest.mark.parametrize("ended", ["repaired", "overridden", "publication_ended"])
def test_a_listing_the_origin_ended_before_the_import_is_not_started_anew_here(regions: Regions, ended: str) -> None:
    """Beijing's bundle reports its listing of the mover's judgment ended (the judgment itself unchanged) before
    Tianjin has listed them: Tianjin's runs do not list them anew with its own grace."""
    mover = _mover(regions)
    tj = mover["subject_id_to"]

    def end(payload: dict[str, Any]) -> None:
        for item in payload["listings"]:
            if item["subject_id"] == mover["subject_id_from"]:
                item.update(status=ended, closed_on="2026-11-10", in_grace=False)

    assert import_bundle(regions.stores[TIANJIN], regions.reseal(regions.export(BEIJING), BEIJING, end)).linked >= 1
    for day in (D(2026, 11, 15), D(2027, 1, 15)):
        regions.score(TIANJIN, day)
        assert list_listings(regions.stores[TIANJIN], subject_id=tj) == []
    assert regions.rail(TIANJIN, tj)


@pytest.mark.slow  # two regions built and linked: about 10 s
def test_a_forwarded_deadline_outside_the_filing_region_rules_is_clamped_to_them(moved: Regions) -> None:
    """Tianjin publishes its answer periods (30 and 45 days) beside the dispute it forwards; Beijing opens a dispute
    whose deadline Tianjin sent 2 days after filing with the rules' earliest deadline instead, and audits it."""
    mover, record_id, local_id = _moved_and_listed(moved)
    tianjin, beijing = moved.stores[TIANJIN], moved.stores[BEIJING]
    filed = file_dispute(tianjin, mover["subject_id_to"], "courts", local_id, "paid", today=D(2027, 1, 4))
    assert filed["deadline"] == "2027-02-03"
    sent = moved.export(TIANJIN)
    payload = json.loads(base64.b64decode(json.loads(sent.read_bytes())["payload"]))
    assert payload["dispute_rules"] == {"answer_days": 30, "extended_answer_days": 45}

    def hurried(p: dict[str, Any]) -> None:
        p["disputes"][0]["deadline"] = "2027-01-06"

    result = import_bundle(beijing, moved.reseal(sent, TIANJIN, hurried))
    assert (result.due_process["disputes_opened"], result.due_process["deadlines_clamped"]) == (1, 1)
    opened = list_disputes(beijing, source_id="courts", status="open")
    assert [(d["record_id"], d["opened_at"], d["deadline"]) for d in opened] == [
        (record_id, "2027-01-04", "2027-02-03")
    ]
    [clamped] = [
        json.loads(d)
        for (d,) in beijing.execute(
            "SELECT detail FROM audit_log WHERE action = 'region_dispute_deadline_clamped'"
        ).fetchall()
    ]
    assert {k: clamped[k] for k in ("deadline_sent", "deadline", "answer_days", "extended_answer_days")} == {
        "deadline_sent": "2027-01-06",
        "deadline": "2027-02-03",
        "answer_days": 30,
        "extended_answer_days": 45,
    }
    # Within the rules a deadline stands (extended by information: 45 days); beyond them it is clamped to the latest;
    # a bundle without rules is held to this region's own.
    item = {"dispute_id": 9, "subject_id": "S", "filed_on": "2027-01-04"}
    for sent_deadline, periods, expected in [
        ("2027-02-18", (30, 45), ("2027-02-18", False)),
        ("2027-12-31", (30, 45), ("2027-02-18", True)),
        ("2027-01-14", (10, 20), ("2027-01-14", False)),
        ("2027-01-14", None, ("2027-02-03", True)),
    ]:
        deadline, was = crossborder._deadline(beijing, TIANJIN, {**item, "deadline": sent_deadline}, "t", periods)
        assert (deadline.isoformat(), was) == expected


def test_bad_dispute_rules_are_refused_naming_the_field() -> None:
    for rules, message in [
        ([30, 45], "malformed: dispute_rules is not an object"),
        (
            {"answer_days": 0, "extended_answer_days": 45},
            "malformed: dispute_rules.answer_days 0 is not a whole number",
        ),
        ({"answer_days": 30}, "malformed: dispute_rules.extended_answer_days null is not a whole number"),
        (
            {"answer_days": "3" * 5000, "extended_answer_days": 45},
            f"malformed: dispute_rules.answer_days '{'3' * 38}… is not a whole number from 1 to ",
        ),
        (
            {"answer_days": 30, "extended_answer_days": 20},
            "malformed: dispute_rules.extended_answer_days 20 is less than answer_days 30",
        ),
    ]:
        with pytest.raises(BundleError) as exc:
            crossborder.validate({"dispute_rules": rules})
        assert str(exc.value).startswith(message)


@pytest.mark.slow  # two regions built and linked: about 10 s
def test_a_forwarded_dispute_never_answered_lapses_in_the_filing_region_at_its_deadline(moved: Regions) -> None:
    """Beijing does not trust Tianjin's bundles (trust one-way): the dispute never reaches its court, and Tianjin's
    daily job lapses it the day after the deadline, as a local one; an answer that arrives later changes nothing."""
    mover, _, local_id = _moved_and_listed(moved)
    tianjin, beijing, tj = moved.stores[TIANJIN], moved.stores[BEIJING], mover["subject_id_to"]
    untrust_region(beijing, TIANJIN, reason="one-way")
    filed = file_dispute(tianjin, tj, "courts", local_id, "not my judgment", today=D(2027, 1, 4))
    assert filed["deadline"] == "2027-02-03"
    with pytest.raises(BundleError):
        import_bundle(beijing, moved.export(TIANJIN))
    latest = "SELECT withdrawn FROM records WHERE source_id = 'courts' AND record_id = ? ORDER BY version DESC LIMIT 1"
    assert run_daily(tianjin, D(2027, 2, 3))["lapsed_disputes"] == []  # the deadline day: still in time
    assert not tianjin.one(latest, [local_id])
    assert run_daily(tianjin, D(2027, 2, 4))["lapsed_disputes"] == [filed["dispute_id"]]
    closed = get_dispute(tianjin, filed["dispute_id"])
    assert (closed["status"], closed["note"]) == (
        "lapsed",
        "Not answered by 2027-02-03: no answer from region 110000, which recorded the record, arrived by then.",
    )
    assert tianjin.one(latest, [local_id])
    assert tianjin.one(
        "SELECT text_en FROM notifications WHERE kind = 'dispute_lapsed' AND ref_id = ?", [filed["dispute_id"]]
    ) == (
        f"Dispute {filed['dispute_id']} of record {local_id} (people's courts): the source did not answer in time; the "
        "dispute is resolved in your favour and the record no longer counts. Not answered by 2027-02-03: no answer "
        "from region 110000, which recorded the record, arrived by then."
    )
    assert tianjin.one(
        "SELECT text_zh FROM notifications WHERE kind = 'dispute_lapsed' AND ref_id = ?", [filed["dispute_id"]]
    ) == (
        f"异议 {filed['dispute_id']}（记录 {local_id}，人民法院）：来源未在期限内答复，异议按有利于您的方式处理，"
        "该记录不再计入。截至 2027-02-03 未获答复：记录该记录的地区 110000 未在此前传来答复。"
    )
    moved.score(TIANJIN, D(2027, 2, 4))
    assert moved.rail(TIANJIN, tj)

    # A verified answer that comes after: not applied (audited); the record stays withdrawn here.
    def verified(p: dict[str, Any]) -> None:
        p["answers"] = [
            {
                "to": TIANJIN,
                "dispute_id": filed["dispute_id"],
                "source_id": "courts",
                "record_id": local_id.split("/", 1)[1],
                "outcome": "verified",
                "answered_on": "2027-02-03",
                "note": "checked",
                "version": 1,
                "withdrawn": False,
            }
        ]

    result = import_bundle(tianjin, moved.reseal(moved.export(BEIJING), BEIJING, verified))
    assert result.due_process["answers_applied"] == 0
    assert get_dispute(tianjin, filed["dispute_id"])["status"] == "lapsed"
    assert tianjin.one(latest, [local_id])
    late = tianjin.one("SELECT detail FROM audit_log WHERE action = 'region_dispute_answer_late'")
    assert json.loads(late) == {
        "origin": BEIJING,
        "dispute_id": filed["dispute_id"],
        "outcome": "verified",
        "answered_on": "2027-02-03",
        "status": "lapsed",
    }


@pytest.mark.slow  # two regions built: about 10 s
def test_a_purged_shared_record_leaves_no_copy_as_received(regions: Regions) -> None:
    """A record another region shared is kept as received (region_records, its fields as JSON) besides its version in
    records: until 2026-12-05 the purge deleted only the version, so the record stayed in the store and was applied
    again if its identity was linked anew."""
    tianjin = regions.stores[TIANJIN]

    def fulfilled(payload: dict[str, Any]) -> None:  # a fulfilled judgment stops counting and is purged in time
        for r in payload["records"]:
            r["fields"] = {**r["fields"], "status": "fulfilled", "defaulter": False}

    import_bundle(tianjin, regions.reseal(regions.export(BEIJING), BEIJING, fulfilled))
    shared = tianjin.rows("SELECT record_id FROM records WHERE origin_region = ? ORDER BY 1", [BEIJING])
    kept = tianjin.one("SELECT count(*) FROM region_records")
    assert shared and kept > len(shared)  # the bundle's other records name no one here: kept, not applied
    # Beijing's listings of the shared records, as it reported them (the mover's judgment among them): until
    # 2026-12-05 they stayed after the purge, naming the record and the person's identity number
    of_shared = (
        "SELECT count(*) FROM region_listings WHERE origin_region || '/' || record_id "
        "IN (SELECT record_id FROM records)"
    )
    listed, listings = tianjin.one(of_shared), tianjin.one("SELECT count(*) FROM region_listings")
    assert listed >= 1
    purged = purge_expired(tianjin, NOTICED + dt.timedelta(days=365 * 10))
    assert purged["by_source"]["courts"] >= len(shared)
    assert tianjin.one("SELECT count(*) FROM records WHERE origin_region IS NOT NULL") == 0
    assert tianjin.one("SELECT count(*) FROM region_records WHERE applied") == 0
    assert tianjin.one("SELECT count(*) FROM region_records") == kept - len(shared)
    assert tianjin.one("SELECT count(*) FROM region_listings") == listings - listed


@pytest.mark.slow  # two regions built: about 10 s
def test_an_answer_not_yet_sent_to_the_filing_region_holds_its_record_back_from_the_purge(
    regions: Regions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beijing answers a dispute Tianjin forwarded; its record is past retention before Beijing's next bundle. The
    purge took the dispute and its region row with it, so the answer never went back: Tianjin's dispute stayed open
    (review finding). The record is held back until the bundle has carried the answer, then purged."""
    from socialcredit.registry.due_process import retention

    tianjin, beijing = regions.stores[TIANJIN], regions.stores[BEIJING]
    import_bundle(tianjin, regions.export(BEIJING))
    mover = _mover(regions)
    rid = regions.judgment(mover)["record_id"]
    filed = file_dispute(tianjin, mover["subject_id_to"], "courts", f"{BEIJING}/{rid}", "paid", today=D(2026, 11, 20))
    import_bundle(beijing, regions.export(TIANJIN))
    [opened] = list_disputes(beijing, source_id="courts", status="open")
    answer_dispute(
        beijing, opened["dispute_id"], "verified", "unpaid", "source:courts", source_id="courts", today=D(2026, 11, 25)
    )
    # the judgment is past retention in Beijing (stand-in: the expired records are exactly it)
    expired = f"SELECT 'courts' AS source_id, '{rid}' AS record_id WHERE $today IS NOT NULL"
    monkeypatch.setattr(retention, "_expired", lambda *_a, **_k: expired)
    held = purge_expired(beijing, D(2026, 11, 26))
    assert held == {"records": 0, "versions": 0, "by_source": {}, "held": {"answer_not_sent": 1}}
    import_bundle(tianjin, regions.export(BEIJING))  # the answer goes back
    assert get_dispute(tianjin, filed["dispute_id"])["status"] == "verified"
    purged = purge_expired(beijing, D(2026, 11, 27))
    assert (purged["records"], purged["held"]) == (1, {})
    assert beijing.one("SELECT count(*) FROM records WHERE source_id = 'courts' AND record_id = ?", [rid]) == 0


def _bundle_payload(path: Path) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(base64.b64decode(json.loads(path.read_bytes())["payload"]))
    return payload


def _blacklisted(path: Path) -> list[tuple[str, str]]:
    """The (subject, record) of each blacklist entry bundle ``path`` carries."""
    entries = _bundle_payload(path)["list_entries"]
    return sorted((e["subject_id"], e["record_id"]) for e in entries if e["kind"] == "black")


def _cli_exchange(world: Regions, n: int, *, exported_on: str, imported_on: str) -> tuple[Path, list[Any]]:
    """Beijing's bundle ``n`` written and imported into Tianjin, each on its day, as `region export` and `region
    import` do (through the registry's functions, on the registry's clock of that day); returns the bundle and
    Tianjin's open alerts as the console script's `region alerts --json` lists them (the stores are closed, and
    opened again after)."""
    path = world.folder / f"cli-{n}.json"
    with mock.patch.dict(os.environ, {TODAY_ENV: exported_on}):
        export_bundle(world.stores[BEIJING], world.policy(BEIJING), world.keys[BEIJING], path)
    with mock.patch.dict(os.environ, {TODAY_ENV: imported_on}):
        import_bundle(world.stores[TIANJIN], path)
    for store in world.stores.values():
        store.close()
    tianjin = world.folder / f"{TIANJIN}.duckdb"
    alerts = json.loads(sc("region", "alerts", "--json", db=tianjin, today=imported_on).stdout)
    world.stores = {code: open_store(world.folder / f"{code}.duckdb", key="") for code in (BEIJING, TIANJIN)}
    return path, alerts


@pytest.mark.slow  # two regions built and linked: about 10 s
def test_a_person_in_their_notice_period_is_sent_to_no_region_as_blacklisted(regions: Regions) -> None:
    """Beijing notices its judgment defaulters on 2026-11-01 (effective 2026-12-31): its bundle of 2026-11-01 blacklists
    none of them, and Tianjin raises no alert of the mover; the bundle after Beijing's run of 2026-12-31 blacklists each
    one whose listing took effect, and Tianjin's operator is alerted of the mover then. Until 2026-12-06 the first
    bundle blacklisted every one in notice and Tianjin alerted of the mover before their grace had ended."""
    mover = _mover(regions)
    bj, tj = mover["subject_id_from"], mover["subject_id_to"]
    record = f"courts/{regions.judgment(mover)['record_id']}"
    pending = [(r["subject_id"], r["record_id"]) for r in list_listings(regions.stores[BEIJING], status="pending")]
    assert (bj, regions.judgment(mover)["record_id"]) in pending
    first, alerts = _cli_exchange(regions, 1, exported_on="2026-11-01", imported_on="2026-11-15")
    assert _blacklisted(first) == []
    assert [a for a in alerts if a["subject_id"] == tj] == []
    regions.score(BEIJING, EFFECTIVE)
    effective = sorted(
        (r["subject_id"], f"{r['source_id']}/{r['record_id']}" if r["record_id"] else None)
        for r in list_listings(regions.stores[BEIJING], status="effective")
    )
    assert (bj, record) in effective
    second, alerts = _cli_exchange(regions, 2, exported_on="2026-12-31", imported_on="2026-12-31")
    assert _blacklisted(second) == effective
    assert [
        (a["list_id"], a["evidence"]["record_id"], a["evidence"]["listed_as_of"])
        for a in alerts
        if a["subject_id"] == tj
    ] == [("blacklist", record, "2026-12-31")]


def _blacklisting_in_notice(regions: Regions, mover: dict[str, Any], change: str) -> Path:
    """Beijing's bundle of the mover's judgment in notice, resealed as a region that still sends people in notice as
    blacklisted would send it: the blacklist entry added, its listing reported pending (``change`` "effective":
    reported in effect; "score_only": the entry names no record)."""
    record_id = regions.judgment(mover)["record_id"]
    first = regions.export(BEIJING)

    def older(payload: dict[str, Any]) -> None:
        (listing,) = [x for x in payload["listings"] if x["record_id"] == record_id]
        assert (listing["status"], listing["effective_on"]) == ("pending", "2026-12-31")
        if change == "effective":
            listing["status"] = "effective"
        payload["list_entries"].append(
            {
                "subject_id": mover["subject_id_from"],
                "list_id": "blacklist",
                "kind": "black",
                "criterion_id": listing["criterion_id"],
                "reason_en": "judgment defaulter",
                "reason_zh": "失信被执行人",
                "record_id": None if change == "score_only" else f"courts/{record_id}",
            }
        )

    return regions.reseal(first, BEIJING, older)


@pytest.mark.slow  # two regions built and linked: about 10 s
def test_a_bundle_that_blacklists_a_person_in_notice_raises_no_alert(regions: Regions) -> None:
    """A bundle from a region that still sends people in notice as blacklisted: the entry whose listing the same
    bundle reports pending is no evidence, and Tianjin raises no alert of the mover."""
    mover = _mover(regions)
    summary = import_bundle(regions.stores[TIANJIN], _blacklisting_in_notice(regions, mover, "none"))
    assert summary.alerts == 0
    assert (
        regions.stores[TIANJIN].one("SELECT count(*) FROM region_alerts WHERE subject_id = ?", [mover["subject_id_to"]])
        == 0
    )


@pytest.mark.slow  # two regions built and linked: about 10 s each
@pytest.mark.parametrize(
    ("change", "today"),
    [
        ("none", "2027-01-01"),  # imported after its listing took effect there: the bundle is old
        ("effective", None),  # a listing the bundle reports in effect (the positive control)
        ("score_only", None),  # an entry of no record: no listing says it is in notice (docs/regions.md)
    ],
)
def test_an_old_bundle_s_blacklisting_alerts_once_it_is_in_effect_there(
    regions: Regions, monkeypatch: pytest.MonkeyPatch, change: str, today: str | None
) -> None:
    """Until 2026-12-06 an entry whose listing the bundle reports pending raised no alert even when imported after
    the listing's ``effective_on``; an entry in effect, and one of no record, alerted and still do."""
    mover = _mover(regions)
    bundle = _blacklisting_in_notice(regions, mover, change)
    if today is not None:
        monkeypatch.setenv(TODAY_ENV, today)
    summary = import_bundle(regions.stores[TIANJIN], bundle)
    assert summary.alerts == 1
    assert (
        regions.stores[TIANJIN].one("SELECT count(*) FROM region_alerts WHERE subject_id = ?", [mover["subject_id_to"]])
        == 1
    )
