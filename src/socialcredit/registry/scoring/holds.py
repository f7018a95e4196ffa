"""Records a score run must not count because of due process: an open dispute (when the policy says disputed
records do not count while open) or an approved repair. Both are fixed by the run's watermark: a dispute counts
from the change number it was filed with until the one it was closed with; a repair from its decision's number.

A dispute resolved for the subject (unanswered in time) or withdrawn by the source leaves a withdrawn version of the
record instead, which no run counts (see ``registry/due_process/disputes.py``).
"""

from __future__ import annotations

from socialcredit.policy import LoadedPolicy
from socialcredit.store import Store

__all__ = ["DISPUTED_RECORDS", "HELD_CHANGES", "any_held", "held_records", "held_sources"]

# (source_id, record_id) of the records under a dispute open at watermark $w.
_OPEN_DISPUTES = "SELECT source_id, record_id FROM disputes WHERE seq <= $w AND (closed_seq IS NULL OR closed_seq > $w)"

# record_key of the versions under a dispute open at watermark $w, whatever the policy: an export, which serves every
# policy, marks them, and a run on it leaves them out under a policy that does not count them (backends/files.py).
DISPUTED_RECORDS = (
    f"SELECT r.record_key FROM records r JOIN ({_OPEN_DISPUTES}) d USING (source_id, record_id) "
    "WHERE r.record_key <= $w"
)


def held_sources(loaded: LoadedPolicy | None) -> str:
    """(source_id, record_id) of what is held at watermark ``$w``: constant SQL, by policy."""
    parts = ["SELECT source_id, record_id FROM repairs WHERE status = 'approved' AND decided_seq <= $w"]
    if loaded is not None and not loaded.policy.disputes.counts_while_open:
        parts.append(_OPEN_DISPUTES)
    return " UNION ".join(parts)


def any_held(store: Store, loaded: LoadedPolicy | None, watermark: int) -> bool:
    """Whether a run at ``watermark`` under ``loaded`` skips any record at all (usually not)."""
    return bool(store.one(f"SELECT count(*) FROM ({held_sources(loaded)})", {"w": int(watermark)}))


def held_records(loaded: LoadedPolicy | None, *, one_subject: bool = False) -> str:
    """Constant SQL: ``record_key`` of the versions a run at watermark ``$w`` skips (of subject ``$sid`` only,
    with ``one_subject``)."""
    only = " AND r.subject_id = $sid" if one_subject else ""
    return (
        f"SELECT r.record_key FROM records r JOIN ({held_sources(loaded)}) h USING (source_id, record_id) "
        f"WHERE r.record_key <= $w{only}"
    )


# Subjects whose held records changed between two watermarks $a < $b (for incremental runs), keyed by subject_keys
# (one row per identifier): not by the distinct identifiers of every subject version, an aggregate of them all.
HELD_CHANGES = """
    SELECT k.subject_key FROM (
        SELECT subject_id FROM disputes WHERE (seq > $a AND seq <= $b) OR (closed_seq > $a AND closed_seq <= $b)
        UNION SELECT subject_id FROM repairs WHERE decided_seq > $a AND decided_seq <= $b
    ) c JOIN subject_keys k USING (subject_id)
"""
