"""Repairs and added information cross borders, with two real stores (Beijing → Tianjin): a repair applied for in
Tianjin of a listing Beijing's record caused is forwarded to Beijing, decided there under Beijing's rules, and the
decision and the end of the listing come back; Tianjin's operator cannot decide it. Information a resident adds in
Tianjin to a dispute already forwarded travels in the next bundle and extends the deadline in Beijing too."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from region_helpers import BEIJING, TIANJIN, Regions, build_regions, regions_copied
from socialcredit.errors import BundleError, WorkflowError
from socialcredit.regions import crossborder, import_bundle
from socialcredit.registry.due_process.disputes import add_information, file_dispute, get_dispute, list_disputes
from socialcredit.registry.due_process.listings import list_listings
from socialcredit.registry.due_process.repair import (
    apply_for_repair,
    decide_repair,
    list_repairs,
    report_fulfilment,
)
from socialcredit.registry.reporting.file_page import file_names
from socialcredit.registry.reporting.resident_file import export_file, render_html
from socialcredit.store import open_store

D = dt.date
NOTICED, EFFECTIVE = D(2026, 11, 1), D(2026, 12, 31)  # Beijing's listing: notice, and 60 days' grace
CLI = str(Path(sys.executable).parent / "socialcredit")


def _sent_and_scored(world: Regions) -> Regions:
    """Beijing's first bundle imported in Tianjin, and both regions scored on the effective date."""
    world.send(BEIJING, TIANJIN)
    for code in (BEIJING, TIANJIN):
        world.score(code, EFFECTIVE)
    return world


@pytest.fixture
def regions(tmp_path: Path) -> Iterator[Regions]:
    """The two regions after _sent_and_scored (built once per process, and copied: see
    region_helpers.regions_copied)."""
    world = regions_copied(
        tmp_path, "regions-sent-and-scored", lambda where: _sent_and_scored(build_regions(where, as_of=NOTICED))
    )
    yield world
    world.close()


def _blacklist(world: Regions, code: str, subject_id: str) -> dict[str, Any]:
    rows = [r for r in list_listings(world.stores[code], subject_id=subject_id) if r["list_id"] == "blacklist"]
    assert len(rows) == 1, rows
    return rows[0]


def _listed_in_both(world: Regions) -> tuple[str, str, str, str]:
    """Beijing lists the mover, Tianjin imports and both run on the effective date (the regions fixture); returns
    the subject ids and the judgment's record id in Beijing and in Tianjin."""
    mover = world.movers[0]
    assert (mover["from"], mover["to"], mover["defaulter"]) == (BEIJING, TIANJIN, "true")
    record_id = world.judgment(mover)["record_id"]
    bj, tj = mover["subject_id_from"], mover["subject_id_to"]
    assert not world.rail(BEIJING, bj) and not world.rail(TIANJIN, tj)
    return bj, tj, record_id, f"{BEIJING}/{record_id}"


@pytest.mark.slow  # two regions built and linked: about 10 s
def test_a_repair_applied_for_in_tianjin_is_decided_in_beijing_and_both_delist_the_same_day(regions: Regions) -> None:
    bj, tj, record_id, local_id = _listed_in_both(regions)
    beijing, tianjin = regions.stores[BEIJING], regions.stores[TIANJIN]
    # Too early by Beijing's rules (a serious breach is published for 365 days): Tianjin forwards it anyway, and
    # Beijing refuses it on arrival with its reason, which comes back.
    early = apply_for_repair(tianjin, tj, "courts", local_id, "I paid", today=D(2027, 6, 1))
    assert early["status"] == "pending"
    assert tianjin.one(
        "SELECT text_en FROM notifications WHERE kind = 'repair_forwarded' AND ref_id = ?", [early["repair_id"]]
    ) == (
        f"Your repair application {early['repair_id']} (record {local_id}) was received; the record was recorded in "
        "region 110000: the application is forwarded there and decided under its rules."
    )
    sent = regions.export(TIANJIN)
    result = import_bundle(beijing, sent)
    assert result.due_process["repairs_opened"] == 1
    there = list_repairs(beijing, subject_id=bj)
    assert [(r["record_id"], r["status"], r["applied_on"], r["decision_reason"]) for r in there] == [
        (
            record_id,
            "refused",
            "2027-06-01",
            "a serious breach is published for at least 365 days (from 2026-12-31); you may apply for repair from "
            "2027-12-31",
        )
    ]
    result = regions.send(BEIJING, TIANJIN)
    assert result.due_process["repair_decisions_applied"] == 1
    back = list_repairs(tianjin, subject_id=tj)
    assert [(r["status"], r["decided_on"], r["decision_reason"]) for r in back] == [
        (
            "refused",
            "2027-06-01",
            "decided in region 110000 on 2027-06-01: a serious breach is published for at least 365 days (from "
            "2026-12-31); you may apply for repair from 2027-12-31",
        )
    ]
    # the refusal travels in both languages, as list entries' reasons do (until 2026-12-05 in English only, and the
    # Chinese notice and pages here gave Beijing's refusal in English)
    assert [r["decision_reason_zh"] for r in back] == [
        "地区 110000 已于 2027-06-01 决定：严重失信行为至少公示 365 天（自 2026-12-31 起）；"
        "可自 2027-12-31 起申请信用修复"
    ]
    # the Chinese notice tells who decided and why in Chinese, as the English one does in English
    assert tianjin.one(
        "SELECT [text_en, text_zh] FROM notifications WHERE kind = 'repair_refused' AND ref_id = ?",
        [early["repair_id"]],
    ) == [
        f"Your repair application {early['repair_id']} (record {local_id}) was refused. Reason: decided in region "
        "110000 on 2027-06-01: a serious breach is published for at least 365 days (from 2026-12-31); you may "
        "apply for repair from 2027-12-31",
        f"您的信用修复申请 {early['repair_id']}（记录 {local_id}）未获批准。理由：地区 110000 已于 2027-06-01 决定："
        "严重失信行为至少公示 365 天（自 2026-12-31 起）；可自 2027-12-31 起申请信用修复",
    ]
    assert _blacklist(regions, TIANJIN, tj)["status"] == "effective"

    # The Beijing court reports the judgment paid; the resident applies again in Tianjin, in time.
    report_fulfilment(beijing, "courts", record_id, fulfilled_on=D(2027, 11, 20), today=D(2027, 11, 20))
    again = apply_for_repair(tianjin, tj, "courts", local_id, "Paid in full", today=D(2028, 1, 5))
    with pytest.raises(WorkflowError) as refused:
        decide_repair(tianjin, again["repair_id"], "approved", "looks paid", "operator", today=D(2028, 1, 6))
    assert str(refused.value) == (
        f"repair application {again['repair_id']} was forwarded to region 110000, which recorded the record; it is "
        "decided there, under its rules, and the decision arrives in that region's next bundle"
    )
    assert refused.value.code == "repair_forwarded"
    import_bundle(beijing, regions.export(TIANJIN))
    pending = list_repairs(beijing, subject_id=bj, status="pending")
    assert [(r["record_id"], r["applied_on"], r["statement"]) for r in pending] == [
        (record_id, "2028-01-05", "Paid in full")
    ]
    # Beijing's operator approves; Beijing delists that day, and its next bundle brings both the decision and the end.
    decide_repair(
        beijing, pending[0]["repair_id"], "approved", "court confirms payment", "operator", today=D(2028, 1, 10)
    )
    assert regions.rail(BEIJING, bj)
    result = regions.send(BEIJING, TIANJIN)
    assert (result.due_process["repair_decisions_applied"], result.due_process["listings_ended"]) == (1, 1)
    decided = next(r for r in list_repairs(tianjin, subject_id=tj) if r["repair_id"] == again["repair_id"])
    assert (decided["status"], decided["decided_on"], decided["decision_reason"]) == (
        "approved",
        "2028-01-10",
        "decided in region 110000 on 2028-01-10: court confirms payment",
    )
    # kept in Chinese too, for the Chinese pages and printable file (they showed the English); an operator's own
    # reason is the same in both; the refusal on arrival is Beijing's own, kept in Chinese too (until 2026-12-05
    # none was, and Beijing's Chinese pages showed the English refusal)
    assert decided["decision_reason_zh"] == "地区 110000 已于 2028-01-10 决定：court confirms payment"
    assert [r["decision_reason_zh"] for r in list_repairs(beijing, subject_id=bj)] == [
        "court confirms payment",
        "严重失信行为至少公示 365 天（自 2026-12-31 起）；可自 2027-12-31 起申请信用修复",
    ]
    file = export_file(tianjin, tj, lang="zh", actor="test")
    printable = render_html(file, "zh", file_names(tianjin, file, "zh"), tianjin.catalog)
    assert "地区 110000 已于 2028-01-10 决定：court confirms payment" in printable
    assert "decided in region" not in printable
    assert tianjin.one(
        "SELECT text_zh FROM notifications WHERE kind = 'repair_approved' AND ref_id = ?", [again["repair_id"]]
    ) == (
        f"您的信用修复申请 {again['repair_id']}（记录 {local_id}）已批准：该记录不再计入，相关名单停止公示。"
        "理由：地区 110000 已于 2028-01-10 决定：court confirms payment"
    )
    b, t = _blacklist(regions, BEIJING, bj), _blacklist(regions, TIANJIN, tj)
    assert (b["status"], b["closed_on"]) == (t["status"], t["closed_on"]) == ("repaired", "2028-01-10")
    assert regions.rail(TIANJIN, tj)
    # Sent once each way: the next bundles carry neither again.
    for code in (TIANJIN, BEIJING):
        path = regions.export(code)
        import_bundle(regions.stores[BEIJING if code == TIANJIN else TIANJIN], path)
    assert len(list_repairs(beijing, subject_id=bj)) == 2
    assert [r["status"] for r in list_repairs(tianjin, subject_id=tj)] == ["approved", "refused"]


@pytest.mark.slow  # two regions built and linked: about 10 s
def test_information_added_to_a_forwarded_dispute_travels_and_extends_the_deadline_in_beijing(
    regions: Regions,
) -> None:
    _, tj, _, local_id = _listed_in_both(regions)
    beijing, tianjin = regions.stores[BEIJING], regions.stores[TIANJIN]
    filed = file_dispute(tianjin, tj, "courts", local_id, "I paid this judgment", today=D(2027, 1, 4))
    import_bundle(beijing, regions.export(TIANJIN))
    (opened,) = list_disputes(beijing, source_id="courts", status="open")
    assert opened["deadline"] == "2027-02-03"
    # Within the first 30 days: the deadline becomes filing + 45 days, here and (with the next bundle) there.
    added = add_information(
        tianjin, filed["dispute_id"], "bank receipt of 2026-12-20", "resident", today=D(2027, 1, 10)
    )
    assert added["deadline"] == "2027-02-18"
    sent = regions.export(TIANJIN)
    result = import_bundle(beijing, sent)
    assert result.due_process["dispute_information_added"] == 1
    there = get_dispute(beijing, opened["dispute_id"])
    assert there["deadline"] == "2027-02-18"
    assert (
        beijing.one(
            "SELECT text FROM dispute_information WHERE dispute_id = ? AND added_at = '2027-01-10'",
            [opened["dispute_id"]],
        )
        == "bank receipt of 2026-12-20"
    )
    # Sent once.
    result = import_bundle(beijing, regions.export(TIANJIN))
    assert result.due_process["dispute_information_added"] == 0
    assert beijing.one("SELECT count(*) FROM dispute_information WHERE dispute_id = ?", [opened["dispute_id"]]) == 1


@pytest.mark.slow  # two regions built and linked: about 10 s
def test_information_added_extends_the_origin_deadline_under_the_filing_region_rules(regions: Regions) -> None:
    """Tianjin, where the resident filed, publishes a 60-day extended period (Beijing's own is 45): the information
    extends Beijing's deadline to the filing date plus 60 days, as Tianjin's rules set it, not plus 45."""
    _, tj, _, local_id = _listed_in_both(regions)
    beijing, tianjin = regions.stores[BEIJING], regions.stores[TIANJIN]
    filed = file_dispute(tianjin, tj, "courts", local_id, "I paid this judgment", today=D(2027, 1, 4))
    import_bundle(beijing, regions.export(TIANJIN))
    (opened,) = list_disputes(beijing, source_id="courts", status="open")
    assert (opened["opened_at"], opened["deadline"]) == ("2027-01-04", "2027-02-03")
    add_information(tianjin, filed["dispute_id"], "bank receipt of 2026-12-20", "resident", today=D(2027, 1, 10))

    def longer(p: dict[str, Any]) -> None:
        p["dispute_rules"] = {"answer_days": 30, "extended_answer_days": 60}

    result = import_bundle(beijing, regions.reseal(regions.export(TIANJIN), TIANJIN, longer))
    assert result.due_process["dispute_information_added"] == 1
    # 2027-01-04 + 60 days: 27 days to 2027-01-31, 28 to 2027-02-28, 5 to 2027-03-05
    assert get_dispute(beijing, opened["dispute_id"])["deadline"] == "2027-03-05"


@pytest.mark.slow  # two regions built and linked: about 10 s
def test_a_record_under_a_forwarded_repair_application_is_held_back_from_the_purge_until_decided(
    regions: Regions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Until 2026-12-05 Tianjin's purge deleted a shared record past retention with the repair application its
    resident had forwarded to Beijing: the application vanished before Beijing decided it, and Beijing's decision
    found nothing here. It is held back now until the decision arrives, and goes at the next purge."""
    from socialcredit.registry.due_process import retention
    from socialcredit.registry.due_process.retention import purge_expired

    _, tj, _, local_id = _listed_in_both(regions)
    beijing, tianjin = regions.stores[BEIJING], regions.stores[TIANJIN]
    applied = apply_for_repair(tianjin, tj, "courts", local_id, "I paid", today=D(2027, 6, 1))
    # the shared judgment is past retention in Tianjin (stand-in: the expired records are exactly it)
    expired = f"SELECT 'courts' AS source_id, '{local_id}' AS record_id WHERE $today IS NOT NULL"
    monkeypatch.setattr(retention, "_expired", lambda *_a, **_k: expired)
    held = purge_expired(tianjin, D(2027, 6, 2))
    assert held == {"records": 0, "versions": 0, "by_source": {}, "held": {"pending_repair": 1}}
    assert [r["status"] for r in list_repairs(tianjin, subject_id=tj)] == ["pending"]
    # Beijing refuses it on arrival (too early by its rules); its next bundle brings the decision, then the purge
    import_bundle(beijing, regions.export(TIANJIN))
    regions.send(BEIJING, TIANJIN)
    assert [r["status"] for r in list_repairs(tianjin, subject_id=tj)] == ["refused"]
    purged = purge_expired(tianjin, D(2027, 6, 3))
    assert (purged["records"], purged["held"]) == (1, {})
    assert tianjin.one("SELECT count(*) FROM records WHERE record_id = ?", [local_id]) == 0
    assert tianjin.one("SELECT count(*) FROM region_repairs WHERE repair_id = ?", [applied["repair_id"]]) == 0


def _sc(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_TODAY")}
    return subprocess.run([CLI, *args, "--db", str(db)], capture_output=True, text=True, env=env | {"COLUMNS": "200"})


@pytest.mark.slow  # two regions built and linked: about 10 s
def test_the_command_line_refuses_to_decide_a_forwarded_repair_and_reports_what_crossed(regions: Regions) -> None:
    _, tj, record_id, local_id = _listed_in_both(regions)
    applied = apply_for_repair(regions.stores[TIANJIN], tj, "courts", local_id, "I paid", today=D(2028, 1, 5))
    for store in regions.stores.values():
        store.close()
    tianjin, beijing = regions.folder / f"{TIANJIN}.duckdb", regions.folder / f"{BEIJING}.duckdb"
    decided = _sc(
        "repair", "decide", str(applied["repair_id"]), "approved", "--reason", "ok", "--today", "2028-01-06", db=tianjin
    )
    assert decided.returncode == 2
    assert decided.stderr.strip() == (
        f"error: repair application {applied['repair_id']} was forwarded to region 110000, which recorded the record; "
        "it is decided there, under its rules, and the decision arrives in that region's next bundle"
    )
    out = regions.folder / "tianjin-cli.json"
    exported = _sc(
        "region", "export", "--policy", "tianjin", "--key", str(regions.keys[TIANJIN]), "--out", str(out), db=tianjin
    )
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.splitlines()[-1] == "Repairs forwarded: 1, repair decisions: 0, dispute information: 0."
    imported = _sc("region", "import", str(out), db=beijing)
    assert imported.returncode == 0, imported.stderr
    # Beijing's court has not reported the judgment paid: refused on arrival, by Beijing's rules, said in both
    # languages (the Chinese pages showed the English refusal until 2026-12-05)
    assert imported.stdout.splitlines()[-1] == "Due process: repairs opened: 1."
    store = open_store(beijing, key="")
    refused = store.rows("SELECT decision_reason, decision_reason_zh FROM repairs")
    store.close()
    assert [(r["decision_reason"][:44], r["decision_reason_zh"]) for r in refused] == [
        (
            "source courts has not reported the obligatio",
            f"人民法院尚未报告记录 {record_id} 所涉义务已履行；请履行义务（履行判决、补缴税款）并请来源报告后再申请",
        )
    ]


def test_bad_repair_sections_are_refused_naming_the_field() -> None:
    repair = {
        "to": "110000",
        "repair_id": 3,
        "source_id": "courts",
        "record_id": "J1",
        "subject_id": "s",
        "applied_on": "2028-01-05",
        "statement": "paid",
    }
    answer = {
        "to": "120000",
        "repair_id": 3,
        "source_id": "courts",
        "record_id": "J1",
        "outcome": "approved",
        "decided_on": "2028-01-10",
        "reason": "paid",
    }
    info = {"to": "110000", "dispute_id": 4, "added_on": "2027-01-10", "text": "receipt"}
    crossborder.validate({"repairs": [repair], "repair_answers": [answer], "dispute_information": [info]})
    cases: list[tuple[dict[str, Any], str]] = [
        ({"repairs": [{**repair, "statement": ""}]}, "malformed: repairs[0].statement '' is not a non-empty text"),
        (
            {"repairs": [{k: v for k, v in repair.items() if k != "applied_on"}]},
            "malformed: repairs[0] has no applied_on",
        ),
        (
            {"repairs": [{**repair, "to": "beijing"}]},
            "malformed: repairs[0].to 'beijing' is not a six-digit region code",
        ),
        ({"repairs": [{**repair, "repair_id": -1}]}, "malformed: repairs[0].repair_id -1 is not a whole number"),
        (
            {"repair_answers": [{**answer, "outcome": "maybe"}]},
            "malformed: repair_answers[0].outcome 'maybe' is not one of approved, refused",
        ),
        (
            {"repair_answers": [{**answer, "decided_on": "soon"}]},
            "malformed: repair_answers[0].decided_on 'soon' is not a date",
        ),
        ({"repair_answers": {"a": 1}}, "malformed: repair_answers must be a list"),
        ({"dispute_information": [7]}, "malformed: dispute_information[0] is not an object"),
        (
            {"dispute_information": [{**info, "dispute_id": "4"}]},
            "malformed: dispute_information[0].dispute_id '4' is not a whole number",
        ),
    ]
    for payload, message in cases:
        with pytest.raises(BundleError) as refused:
            crossborder.validate(payload)
        assert str(refused.value) == message
