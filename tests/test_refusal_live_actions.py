"""What would change a refusal, told as a relying party is answered at that moment (the service's snapshot as the
live thread left it): the actions name the records as they now stand, not as the run read them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest

from api_helpers import serving
from due_world import B, build, ingest, write_csv
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import score

LOANS = ["record_id", "subject_id", "record_type", "event_date", "amount", "status"]


def test_the_actions_name_the_records_as_they_stand_since_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """B (李四): a paid speeding ticket T1 (traffic.minor −5) and loan defaults L1, L2, L3 (loan.default −50 each):
    1000 − 5 − 150 = 845, tier C; beijing's bank loan needs tier B (850), 5 points short: repaying L1 (first of the
    largest) covers them. Then the bank withdraws L1 and sends a new default L4: still 845, still refused, and the
    act is now to repay L2. Until 2026-12-06 the answer (decided on the live row) still named L1, withdrawn: the
    actions read the records at the run's watermark."""
    monkeypatch.setenv(TODAY_ENV, "2026-02-02")
    store = build(tmp_path)
    loans = [[f"L{i}", B, "loan_repayment", f"2026-01-1{i}", f"{i}000", "default"] for i in (1, 2, 3)]
    ingest(store, write_csv(tmp_path / "banks.csv", LOANS, loans), "banks", dt.date(2026, 1, 20))
    score(store, resolve_policy(store, "beijing"), dt.date(2026, 2, 1))
    operator = {"Authorization": "Bearer " + issue_key(store, "operator", "registry operations").token}
    banks = {"Authorization": "Bearer " + issue_key(store, "furnisher", "a bank", source="banks").token}
    app = create_app(tmp_path / "due.duckdb", store=store)
    asked = f"/v1/subjects/{B}/services/bank_loan"
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        before = client.get(asked, params={"policy": "beijing"}, headers=operator).json()
        assert (before["granted"], before["score"], before["tier"]) == (False, 845, "C")
        assert before["actions"][0] == "repay the overdue loan of 1,000 yuan (record L1 from banks)"
        assert client.delete("/v1/records/L1", headers=banks).status_code == 200
        sent = client.post(
            "/v1/records",
            content=f"{','.join(LOANS)}\nL4,{B},loan_repayment,2026-01-25,4000,default\n".encode(),
            headers={**banks, "content-type": "text/csv"},
        )
        assert sent.status_code == 200, sent.text
        app.state.service.go_live()  # what the live thread does on its next pass, at once
        after = client.get(asked, params={"policy": "beijing"}, headers=operator).json()
        assert (after["granted"], after["score"], after["tier"]) == (False, 845, "C")
        assert after["watermark"] == sent.json()["watermark"]
        assert after["actions"][0] == "repay the overdue loan of 2,000 yuan (record L2 from banks)"
        assert not any("L1" in action for action in after["actions"])
    store.close()
