"""One record whatever the width of its id's characters, between regions: a dispute or repair another region forwards
naming the record in the other width, copies of region records (link reversal, retention, listings) and twins an
origin holds (two spellings of one id, as a store before the fold or a region on an older release may)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from region_helpers import BEIJING, TIANJIN, build_regions
from socialcredit.regions import import_bundle
from socialcredit.registry.due_process.disputes import list_disputes

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
