"""An operator's override of a decision, and its reversal: each override changes the outcome the decision stands
at, and the resident is told what it stood at before (the decision's own outcome, or an earlier review's)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from due_world import A, build, score_on_its_day
from socialcredit.errors import WorkflowError
from socialcredit.registry.decisions.decide import decide
from socialcredit.registry.due_process import overrides
from socialcredit.registry.due_process.notifications import list_notifications
from socialcredit.registry.reporting.report import subject_report
from socialcredit.registry.scoring.policies import resolve_policy

D = dt.date
CLI = str(Path(sys.executable).parent / "socialcredit")
GRANT = "The resident showed the court's receipt of payment."
REVERSE = "The receipt was for another case; the judgment is unpaid."


def test_a_reversal_tells_the_outcome_it_reverses_and_an_override_changing_nothing_is_refused(
    tmp_path: Path,
) -> None:
    """Until 2026-12-05 a second override (the reversal of the first) told the resident the decision had been
    "refused" before it was "changed it to refused" — the decision's own outcome, not the granted one the first
    override gave it — and an override to the outcome a decision already stood at was taken and told as a change."""
    store = build(tmp_path)
    score_on_its_day(store, resolve_policy(store, "beijing"), D(2026, 2, 1))
    score_on_its_day(store, resolve_policy(store, "beijing"), D(2026, 4, 2))
    refused = decide(store, A, "high_speed_rail", "ticket purchase", requester="railway")
    assert refused.granted is False and refused.inquiry_id is not None
    iid = refused.inquiry_id
    asked = store.one("SELECT asked_at FROM inquiries WHERE inquiry_id = ?", [iid]).date().isoformat()
    with pytest.raises(WorkflowError) as same:
        overrides.override_decision(store, iid, "refused", GRANT, "operator", today=D(2026, 4, 3))
    assert (same.value.code, str(same.value)) == (
        "outcome_unchanged",
        f"decision (inquiry) {iid} stands as refused already; an override changes the outcome (give granted)",
    )
    overrides.override_decision(store, iid, "granted", GRANT, "operator", today=D(2026, 4, 3))
    with pytest.raises(WorkflowError) as again:
        overrides.override_decision(store, iid, "granted", GRANT, "operator", today=D(2026, 4, 4))
    assert str(again.value) == (
        f"decision (inquiry) {iid} stands as granted already after override 1; an override changes the outcome "
        "(give refused)"
    )
    overrides.override_decision(store, iid, "refused", REVERSE, "operator", today=D(2026, 4, 5))
    told = [n for n in list_notifications(store, A) if n["kind"] == "override"]
    assert [n["text"] for n in told] == [
        f"An operator reviewed the high-speed rail ticket decision of {asked} (refused) and changed it to granted: "
        f"{GRANT}",
        f"An operator reviewed the high-speed rail ticket decision of {asked} (granted after an earlier review) and "
        f"changed it to refused: {REVERSE}",
    ]
    told_zh = [n["text"] for n in list_notifications(store, A, "zh") if n["kind"] == "override"]
    assert told_zh[1] == f"运营人员复核了 {asked} 的高铁购票决定（复核后为准予），改为拒绝：{REVERSE}"
    [reviewed] = [q for q in subject_report(store, A)["inquiries"] if q["inquiry_id"] == iid]
    assert (reviewed["outcome"], reviewed["override"]["override_id"]) == ("refused", 2)
    assert store.one("SELECT count(*) FROM overrides") == 2


def test_the_command_refuses_an_override_that_changes_nothing(tmp_path: Path) -> None:
    store = build(tmp_path)
    score_on_its_day(store, resolve_policy(store, "beijing"), D(2026, 2, 1))
    score_on_its_day(store, resolve_policy(store, "beijing"), D(2026, 4, 2))  # the listing takes effect: refused
    iid = decide(store, A, "high_speed_rail", "ticket purchase", requester="railway").inquiry_id
    store.close()
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_TODAY")}
    args = [CLI, "override", "decision", str(iid), "refused", "--justification", GRANT]
    proc = subprocess.run([*args, "--db", str(tmp_path / "due.duckdb")], capture_output=True, text=True, env=env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        f"error: decision (inquiry) {iid} stands as refused already; an override changes the outcome (give granted)"
    )
