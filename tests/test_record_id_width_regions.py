"""One record whatever the width of its id's characters, between regions: a dispute or repair another region forwards
naming the record in the other width, copies of region records (link reversal, retention, listings) and twins an
origin holds (two spellings of one id, as a store before the fold or a region on an older release may)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from region_helpers import BEIJING, TIANJIN, Regions, build_regions
from socialcredit.identifiers import fold_record_id_sql
from socialcredit.regions import import_bundle
from socialcredit.regions.exchange import reverse_link
from socialcredit.registry.due_process.disputes import list_disputes
from socialcredit.registry.due_process.listings import list_listings
from socialcredit.registry.due_process.retention import purge_expired

D = dt.date


def widened(text: str) -> str:
    """``text`` with each ASCII character but the space written full-width."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def test_a_forwarded_dispute_and_repair_name_the_record_in_either_width(tmp_path: Path) -> None:
    w = build_regions(tmp_path, as_of=D(2026, 11, 1))
    try:
        rid = w.judgment(w.movers[0])["record_id"]
        assert widened(rid) != rid
        w.send(BEIJING, TIANJIN)
        w.score(TIANJIN, D(2026, 11, 15))
        bj = w.stores[BEIJING]
        rec = bj.rows("SELECT subject_id, source_id, record_id FROM records WHERE record_id = ? LIMIT 1", [rid])[0]
        wide = dict(rec, record_id=widened(rid))

        def ask(payload: dict[str, Any]) -> None:
            payload["disputes"] = [
                {"to": BEIJING, "dispute_id": 91, **wide, "filed_on": "2026-11-20", "deadline": "2026-12-20",
                 "reason": "not mine", "evidence": None}
            ]  # fmt: skip
            payload["repairs"] = [
                {"to": BEIJING, "repair_id": 91, **wide, "applied_on": "2026-11-20", "statement": "paid"}
            ]

        result = import_bundle(bj, w.reseal(w.export(TIANJIN), TIANJIN, ask))
        assert (result.due_process["disputes_opened"], result.due_process["repairs_opened"]) == (1, 1)
        assert [d["record_id"] for d in list_disputes(bj)] == [rid]
        assert bj.rows("SELECT record_id FROM repairs") == [{"record_id": rid}]
        assert bj.one("SELECT count(*) FROM audit_log WHERE action LIKE 'region_%_unknown_record'") == 0
    finally:
        w.close()


def _widened_bundle(w: Regions, change: Any = None) -> Path:
    """Beijing's next bundle as a region on a release before the fold, holding its ids wide, sends it: every record
    id of its records, list entries and listings full-width."""

    def widen(payload: dict[str, Any]) -> None:
        for section in ("records", "list_entries", "listings"):
            for item in payload.get(section, []):
                if item.get("record_id"):
                    item["record_id"] = widened(item["record_id"])
        if change is not None:
            change(payload)

    return w.reseal(w.export(BEIJING), BEIJING, widen)


def test_copies_of_records_another_region_sends_wide_meet_their_record(tmp_path: Path) -> None:
    """The copies as received (region_records, region_listings) hold the id folded, as the record here
    (``110000/<id>``): the mover keeps Beijing's grace, and reversing the link withdraws the record."""
    w = build_regions(tmp_path, as_of=D(2026, 11, 1))
    try:
        mover = w.movers[0]
        rid = w.judgment(mover)["record_id"]
        tj = w.stores[TIANJIN]
        import_bundle(tj, _widened_bundle(w))
        local = f"{BEIJING}/{rid}"
        assert tj.rows("SELECT record_id, version, withdrawn FROM records WHERE origin_region = ? AND record_id = ?",
                       [BEIJING, local]) == [{"record_id": local, "version": 1, "withdrawn": False}]  # fmt: skip
        w.score(TIANJIN, D(2026, 11, 15))
        listings = [x for x in list_listings(tj, subject_id=mover["subject_id_to"]) if x["list_id"] == "blacklist"]
        assert [(x["record_id"], x["noticed_on"], x["effective_on"], x["status"]) for x in listings] == [
            (local, "2026-11-01", "2026-12-31", "pending")
        ]
        identity = tj.one("SELECT identity_id FROM region_identities WHERE origin_subject_id = ?",
                          [mover["subject_id_from"]])  # fmt: skip
        assert reverse_link(tj, int(identity), "test", "wrong person", today=D(2026, 11, 16)) == 1
        assert tj.rows("SELECT version, withdrawn FROM records WHERE record_id = ? ORDER BY version", [local]) == [
            {"version": 1, "withdrawn": False},
            {"version": 2, "withdrawn": True},
        ]
        # kept as received with the id folded, as the record here names it
        assert tj.one("SELECT count(*) FROM region_records WHERE record_id = ?", [rid]) == 1
        assert tj.one("SELECT count(*) FROM region_listings WHERE record_id = ?", [rid]) == 1
    finally:
        w.close()


def test_a_purge_deletes_the_copies_of_a_record_another_region_sent_wide(tmp_path: Path) -> None:
    w = build_regions(tmp_path, as_of=D(2026, 11, 1))
    try:
        tj = w.stores[TIANJIN]

        def fulfilled(payload: dict[str, Any]) -> None:  # a fulfilled judgment stops counting and is purged in time
            for r in payload["records"]:
                r["fields"] = {**r["fields"], "status": "fulfilled", "defaulter": False}

        import_bundle(tj, _widened_bundle(w, fulfilled))
        shared = [r["record_id"] for r in tj.rows("SELECT record_id FROM records WHERE origin_region = ?", [BEIJING])]
        assert shared
        # the copies of the shared records, in either width
        marks = ", ".join("?" for _ in shared)
        copies = f"TABLE WHERE '{BEIJING}/' || {fold_record_id_sql('record_id')} IN ({marks})"
        assert tj.one("SELECT count(*) FROM " + copies.replace("TABLE", "region_records"), shared) == len(shared)
        assert tj.one("SELECT count(*) FROM " + copies.replace("TABLE", "region_listings"), shared) >= 1
        purge_expired(tj, D(2026, 11, 1) + dt.timedelta(days=365 * 10))
        assert tj.one("SELECT count(*) FROM records WHERE origin_region IS NOT NULL") == 0
        assert tj.one("SELECT count(*) FROM " + copies.replace("TABLE", "region_records"), shared) == 0
        assert tj.one("SELECT count(*) FROM " + copies.replace("TABLE", "region_listings"), shared) == 0
    finally:
        w.close()


def test_twins_from_another_region_are_one_record_here(tmp_path: Path) -> None:
    """Beijing holds twins (``rid`` and its wide spelling, both version 1), as a store before the fold may: here they
    are one record, of one version 1, the one received last counting (the fulfilled one)."""
    w = build_regions(tmp_path, as_of=D(2026, 11, 1))
    try:
        rid = w.judgment(w.movers[0])["record_id"]
        bj, tj = w.stores[BEIJING], w.stores[TIANJIN]
        key = bj.take_ids("seq", 1)
        bj.execute(
            "INSERT INTO records BY NAME SELECT * REPLACE (? AS record_key, ? AS record_id, 'fulfilled' AS status) "
            "FROM records WHERE record_id = ?",
            [key, widened(rid), rid],
        )
        w.send(BEIJING, TIANJIN)
        assert tj.rows("SELECT record_id, version, status FROM records WHERE record_id LIKE ?", ["%/" + rid]) == [
            {"record_id": f"{BEIJING}/{rid}", "version": 1, "status": "fulfilled"}
        ]
        assert tj.one("SELECT count(*) FROM region_records WHERE record_id = ? AND applied", [rid]) == 2
    finally:
        w.close()
