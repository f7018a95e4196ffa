"""Records a score run must not count because of due process: an open dispute (when the policy says disputed
records do not count while open) or an approved repair. Both are fixed by the run's watermark: a dispute counts
from the change number it was filed with until the one it was closed with; a repair from its decision's number.

A dispute resolved for the subject (unanswered in time) or withdrawn by the source leaves a withdrawn version of the
record instead, which no run counts (see ``registry/due_process/disputes.py``).
"""

from __future__ import annotations

from socialcredit.policy import LoadedPolicy
from socialcredit.store import Store

__all__ = ["HELD_CHANGES", "build_held"]


def build_held(store: Store, loaded: LoadedPolicy | None, watermark: int, subject_id: str | None = None) -> None:
    """Create temp table ``sc_held(record_key)``: the versions a run at ``watermark`` under ``loaded`` skips."""
    w = int(watermark)
    parts = ["SELECT source_id, record_id FROM repairs WHERE status = 'approved' AND decided_seq <= $w"]
    if loaded is not None and not loaded.policy.disputes.counts_while_open:
        parts.append(
            "SELECT source_id, record_id FROM disputes WHERE seq <= $w AND (closed_seq IS NULL OR closed_seq > $w)"
        )
    only = "AND r.subject_id = $sid" if subject_id is not None else ""
    params: dict[str, object] = {"w": w}
    if subject_id is not None:
        params["sid"] = subject_id
    # Usually nothing is held: then no scan of the records at all.
    if not store.one(f"SELECT count(*) FROM ({' UNION '.join(parts)})", {"w": w}):
        store.execute("CREATE OR REPLACE TEMP TABLE sc_held (record_key BIGINT)")
        return
    store.execute(
        f"""CREATE OR REPLACE TEMP TABLE sc_held AS
        SELECT r.record_key FROM records r JOIN ({" UNION ".join(parts)}) h USING (source_id, record_id)
        WHERE r.record_key <= $w {only}""",
        params,
    )


# Subjects whose held records changed between two watermarks $a < $b (for incremental runs).
HELD_CHANGES = """
    SELECT k.subject_key FROM (
        SELECT subject_id FROM disputes WHERE (seq > $a AND seq <= $b) OR (closed_seq > $a AND closed_seq <= $b)
        UNION SELECT subject_id FROM repairs WHERE decided_seq > $a AND decided_seq <= $b
    ) c JOIN (SELECT DISTINCT subject_id, subject_key FROM subjects) k USING (subject_id)
"""
