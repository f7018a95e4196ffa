"""The scoring state: what every counting record contributes to a policy's rules, kept at ingest.

A score run used to read every record and evaluate every rule's condition on its fields. Whether a record meets a
rule's or a list criterion's condition does not depend on the run's date, so it is decided once, when the record
arrives: the state of a policy version is a table with a row (subject_id, item, event_date, record_key, first_key:
the key its record was first stored at) per counting record version and item it meets (``ScorePlan.state_matches``;
an *item* is a rule, or a list criterion on records).
A run at any date reads those rows (``ScorePlan(source="state")``) and applies what does depend on the date —
expiry, windows, decay, calendar periods, consent becoming mandatory — and on the subject — profession, consent,
kind — which it joins from the subjects, one row each.

The state is kept at a watermark, the change number it reflects. :func:`catch_up` folds every change since then:

* a new record version retracts the version it replaces (``records.prev_key``) and, if it counts, inserts its
  matches — a correction or a withdrawal is a retraction plus an insertion;
* a record whose due-process hold changed (a dispute filed or closed, when the policy does not count disputed
  records; a repair approved) is retracted and, if it counts again, inserted anew.

A record deleted for good (the purge, ``registry/due_process/retention.py``) takes no change number: its rows are
removed from every state in the purge's transaction (:func:`forget_records`).

Consents, professions and kinds are not in the state (they are read per subject at the run), so a consent change
or a new profession needs no fold. Ingest folds in the transaction that commits a batch (the ``records_ingested``
hook, registry/scoring/plugin.py); every other change is folded before the state is next read.

:func:`check_state` compares a kept state with one built afresh from the records at the same watermark.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import partial
from typing import Any

import sqlglot
import sqlglot.expressions as exp

from socialcredit.compiler import ScorePlan
from socialcredit.errors import NotFoundError
from socialcredit.policy import LoadedPolicy
from socialcredit.registry.relations import OwnedRelations
from socialcredit.registry.scoring.holds import held_sources
from socialcredit.registry.scoring.inputs import prepare_inputs
from socialcredit.registry.scoring.policies import get_policy
from socialcredit.store import Store

__all__ = [
    "StateInfo",
    "build_state",
    "catch_up",
    "check_state",
    "drop_state",
    "fold_all",
    "forget_records",
    "index_states",
    "kept_state_at",
    "list_states",
    "state_info",
    "state_rows",
    "table_name",
]

# Any date: the state does not depend on it (ScorePlan needs one).
_ANY_DATE = dt.date(2000, 1, 1)

_FOLD_RELATIONS = frozenset({"sc_delta", "sc_hold_changed", "sc_records", "sc_held", "sc_matches"})


@dataclass(frozen=True)
class StateInfo:
    policy_sha256: str
    policy_id: str
    policy_version: str
    table_name: str
    watermark: int
    rows: int
    built_at: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "built_at": self.built_at.isoformat(timespec="seconds")}


def table_name(loaded: LoadedPolicy) -> str:
    """The state table of a policy version: named after the hash of its text."""
    return f"score_state_{loaded.sha256[:16]}"


def _quoted(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect="duckdb")


def state_info(store: Store, loaded: LoadedPolicy) -> StateInfo | None:
    """The kept state of a policy version, or None if there is none."""
    rows = store.rows("SELECT * FROM score_states WHERE policy_sha256 = ?", [loaded.sha256])
    if not rows:
        return None
    return _info(rows[0])


def _info(row: dict[str, Any]) -> StateInfo:
    return StateInfo(
        row["policy_sha256"],
        row["policy_id"],
        row["policy_version"],
        row["table_name"],
        int(row["watermark"]),
        int(row["rows"]),
        row["built_at"],
    )


def list_states(store: Store) -> list[StateInfo]:
    return [_info(r) for r in store.rows("SELECT * FROM score_states ORDER BY policy_id, policy_version")]


def _current_seq(store: Store) -> int:
    return int(store.one("SELECT value FROM counters WHERE name = 'seq'"))


def build_state(store: Store, loaded: LoadedPolicy) -> StateInfo:
    """Build (or rebuild) the state of a published policy version from the records, at the current watermark.

    NotFoundError if the version is not published with this text: every later batch folds the state under the
    published text, and a state it could not find that text for would refuse every batch.
    """
    published = store.one(
        "SELECT sha256 FROM policies WHERE policy_id = ? AND version = ?", [loaded.policy.id, loaded.policy.version]
    )
    if published != loaded.sha256:
        raise NotFoundError(
            f"policy {loaded.policy.id} {loaded.policy.version} is not published with this text; publish it before "
            "it is scored"
        )
    name = table_name(loaded)
    with store.transaction():
        wm = _current_seq(store)
        plan = ScorePlan(loaded, as_of=_ANY_DATE)
        with prepare_inputs(store, loaded, wm) as inputs:
            body = inputs.bind(plan.state_matches())
            query = exp.select("*").from_(exp.Subquery(this=body, alias=exp.TableAlias(this=exp.to_identifier("m"))))
            ordered = query.order_by("item", "record_key")
            store.execute(f"CREATE OR REPLACE TABLE {_quoted(name)} AS {ordered.sql(dialect='duckdb')}")
        # Not indexed here: only a live pass reads a state by subject, and the service indexes the states it serves
        # (index_states). A run, a fold at ingest and a checkpoint of the state are cheaper without the index.
        n = int(store.one(f"SELECT count(*) FROM {_quoted(name)}"))
        store.execute("DELETE FROM score_states WHERE policy_sha256 = ?", [loaded.sha256])
        store.execute(
            "INSERT INTO score_states VALUES (?, ?, ?, ?, ?, now(), ?)",
            [loaded.sha256, loaded.policy.id, loaded.policy.version, name, wm, n],
        )
    info = state_info(store, loaded)
    assert info is not None
    return info


def drop_state(store: Store, loaded: LoadedPolicy) -> bool:
    """Drop the kept state of a policy version; returns whether there was one."""
    info = state_info(store, loaded)
    if info is None:
        return False
    with store.transaction():
        store.execute(f"DROP TABLE IF EXISTS {_quoted(info.table_name)}")
        store.execute("DELETE FROM score_states WHERE policy_sha256 = ?", [loaded.sha256])
    return True


# The rows of the kept state (kept) and of a fresh build (sc_fresh) that the other lacks, counted by item; equal
# rows are matched one to one (EXCEPT ALL), so a row kept twice is a difference too.
_DIFFERENCE = """
SELECT 'extra' AS side, item, count(*) AS n FROM (
    SELECT subject_id, item, event_date, record_key, first_key FROM kept
    EXCEPT ALL SELECT subject_id, item, event_date, record_key, first_key FROM sc_fresh
) GROUP BY item
UNION ALL
SELECT 'missing' AS side, item, count(*) AS n FROM (
    SELECT subject_id, item, event_date, record_key, first_key FROM sc_fresh
    EXCEPT ALL SELECT subject_id, item, event_date, record_key, first_key FROM kept
) GROUP BY item
"""


def check_state(store: Store, loaded: LoadedPolicy, *, fold: bool = True) -> dict[str, Any]:
    """Compare the kept state of a policy version with a state built afresh from the records at its watermark
    (after folding in what changed since, unless ``fold`` is false). NotFoundError if it has none.

    Returns the policy version, the watermark, ``behind`` (changes not folded in yet), the rows of the kept table
    (``rows``), the count ``score_states`` keeps of them (``rows_recorded``), the rows of the fresh build
    (``fresh_rows``), the rows only in the kept state (``extra``) and only in the fresh build (``missing``), both
    also by item (``by_item``: rule:<id> or list:<list>.<criterion>), and ``ok``: no difference at all.
    """
    if fold:
        catch_up(store)
    name = state_rows(store, loaded)  # NotFoundError without a state
    plan = ScorePlan(loaded, as_of=_ANY_DATE)
    keys = {i.index: i.condition_key for i in plan.state_items()}
    with store.transaction():
        info = state_info(store, loaded)
        assert info is not None
        with (
            prepare_inputs(store, loaded, info.watermark) as inputs,
            OwnedRelations(store, frozenset({"sc_fresh"})) as rel,
        ):
            rel.create("sc_fresh", inputs.bind(plan.state_matches()))
            query = sqlglot.parse_one(_DIFFERENCE, read="duckdb").transform(
                lambda n: exp.to_table(name) if isinstance(n, exp.Table) and n.name == "kept" else n
            )
            differences = rel.rows(query)
            fresh = rel.count("sc_fresh")
        rows = int(store.one(f"SELECT count(*) FROM {name}"))
        behind = _current_seq(store) - info.watermark
    by_item: dict[str, dict[str, int]] = {}
    for d in sorted(differences, key=lambda d: (int(d["item"]), str(d["side"]))):
        key = keys.get(int(d["item"]), f"item {d['item']}")
        by_item.setdefault(key, {"missing": 0, "extra": 0})[str(d["side"])] = int(d["n"])
    extra = sum(v["extra"] for v in by_item.values())
    missing = sum(v["missing"] for v in by_item.values())
    return {
        "policy_id": info.policy_id,
        "policy_version": info.policy_version,
        "watermark": info.watermark,
        "behind": behind,
        "rows": rows,
        "rows_recorded": info.rows,
        "fresh_rows": fresh,
        "missing": missing,
        "extra": extra,
        "by_item": by_item,
        "ok": missing == 0 and extra == 0 and rows == info.rows,
    }


def state_rows(store: Store, loaded: LoadedPolicy) -> str:
    """The quoted table name of a policy version's state (NotFoundError if it has none)."""
    info = state_info(store, loaded)
    if info is None:
        raise NotFoundError(f"policy {loaded.policy.id} {loaded.policy.version} has no scoring state")
    return _quoted(info.table_name)


# The versions committed since the state's watermark ($a, $b]: ranges of the append-ordered record key are cheap.
_DELTA = """
SELECT record_key, prev_key, source_id, record_id FROM records WHERE record_key > $a AND record_key <= $b
"""

# Counting rows for the fold: typed field columns are added to the SELECT (as in registry/scoring/inputs.py).
_FOLD_RECORDS = """
SELECT r.subject_key AS subject_id, r.record_key, r.record_type, r.event_date,
       coalesce(r.first_key, r.record_key) AS first_key
FROM records r
WHERE NOT r.withdrawn AND NOT EXISTS (
    SELECT 1 FROM sc_held h WHERE h.source_id = r.source_id AND h.record_id = r.record_id
)
"""


def _fold_records(*, delta: bool, fields: tuple[str, ...]) -> exp.Select:
    """The counting versions the fold inserts: the delta's latest versions, or the latest versions of the records
    whose hold changed."""
    query = sqlglot.parse_one(_FOLD_RECORDS, read="duckdb")
    assert isinstance(query, exp.Select)
    query = query.select(*[exp.column(exp.to_identifier(n, quoted=True), "r") for n in fields])
    if delta:
        # Of several versions of one record inside the delta, only the last counts; records whose hold changed
        # are inserted by the second pass, whole.
        return query.where(
            "r.record_key > $a AND r.record_key <= $b AND r.record_key NOT IN "
            "(SELECT prev_key FROM sc_delta WHERE prev_key IS NOT NULL) AND NOT EXISTS "
            "(SELECT 1 FROM sc_hold_changed c WHERE c.source_id = r.source_id AND c.record_id = r.record_id)",
            dialect="duckdb",
        )
    return query.where(
        "r.record_key IN (SELECT max(x.record_key) FROM records x JOIN sc_hold_changed c "
        "USING (source_id, record_id) WHERE x.record_key <= $b GROUP BY x.source_id, x.record_id)",
        dialect="duckdb",
    )


def _hold_changes(loaded: LoadedPolicy) -> str:
    """Constant SQL: (source_id, record_id) of the records whose hold changed in ($a, $b] under ``loaded``."""
    parts = [
        "SELECT source_id, record_id FROM repairs WHERE status = 'approved' AND decided_seq > $a AND decided_seq <= $b"
    ]
    if not loaded.policy.disputes.counts_while_open:
        parts.append(
            "SELECT source_id, record_id FROM disputes "
            "WHERE (seq > $a AND seq <= $b) OR (closed_seq > $a AND closed_seq <= $b)"
        )
    return " UNION ".join(parts)


def fold(store: Store, loaded: LoadedPolicy, info: StateInfo, upto: int) -> int:
    """Fold the changes in (info.watermark, upto] into a state; call inside a transaction. Returns the rows
    inserted minus the rows retracted."""
    a, b = info.watermark, upto
    if b <= a:
        return 0
    table = _quoted(info.table_name)
    if not _records_changed(store, loaded, a, b):  # registrations, consents, keys...: nothing the state holds
        store.execute("UPDATE score_states SET watermark = ? WHERE policy_sha256 = ?", [b, info.policy_sha256])
        return 0
    change = 0
    fields = tuple(store.catalog.field_columns())
    with OwnedRelations(store, _FOLD_RELATIONS) as rel:
        rel.create("sc_delta", _DELTA, {"a": a, "b": b})
        rel.create("sc_hold_changed", _hold_changes(loaded), {"a": a, "b": b})
        rel.create("sc_held", held_sources(loaded), {"w": b})
        counts = rel.execute("SELECT (SELECT count(prev_key) FROM sc_delta), (SELECT count(*) FROM sc_hold_changed)")
        replaced, holds = counts.fetchone() or (0, 0)
        if replaced:  # new records replace nothing: no retraction, no scan of the state
            retracted = rel.execute(
                f"DELETE FROM {table} WHERE record_key IN (SELECT prev_key FROM sc_delta WHERE prev_key IS NOT NULL)"
            ).fetchone()
            change -= int(retracted[0]) if retracted else 0
        if holds:
            retracted = rel.execute(
                f"DELETE FROM {table} WHERE record_key IN (SELECT r.record_key FROM records r "
                "JOIN sc_hold_changed c USING (source_id, record_id) WHERE r.record_key <= $b)",
                {"b": b},
            ).fetchone()
            change -= int(retracted[0]) if retracted else 0
        for delta in (True, False) if holds else (True,):
            # Built and printed once per policy version (and catalog): a small batch's fold is a few statements.
            rel.create_once(
                "sc_records",
                ("fold", delta, fields),
                partial(_fold_records, delta=delta, fields=fields),
                {"a": a, "b": b} if delta else {"b": b},
            )
            rel.create_once(
                "sc_matches",
                ("fold", loaded.sha256, fields),
                lambda: ScorePlan(loaded, as_of=_ANY_DATE).state_matches(),
            )
            inserted = rel.execute(f"INSERT INTO {table} SELECT * FROM sc_matches").fetchone()
            change += int(inserted[0]) if inserted else 0
    store.execute(
        "UPDATE score_states SET watermark = ?, rows = rows + ? WHERE policy_sha256 = ?",
        [b, change, info.policy_sha256],
    )
    return change


def _records_changed(store: Store, loaded: LoadedPolicy, a: int, b: int) -> bool:
    """Whether any record version was added, or any hold changed, in (a, b]."""
    params = {"a": a, "b": b}
    if store.one("SELECT count(*) FROM records WHERE record_key > $a AND record_key <= $b", params):
        return True
    return bool(store.one(f"SELECT count(*) FROM ({_hold_changes(loaded)})", params))


def forget_records(store: Store, versions: exp.Query) -> int:
    """Remove from every kept state the rows of the record versions ``versions`` selects (a query of one column,
    record_key, bound to the caller's relations); call inside the transaction that deletes them, before it does.
    Returns the rows removed.

    Their subjects are noted in ``purged_subjects`` with the current change number, so that an incremental run
    based on a run from before the purge rescores them (the purge gives them no change number of their own)."""
    store.execute(
        "INSERT INTO purged_subjects SELECT DISTINCT subject_key, (SELECT value FROM counters WHERE name = 'seq') "
        f"FROM records WHERE record_key IN ({versions.sql(dialect='duckdb')})"
    )
    removed = 0
    for info in list_states(store):
        deleted = store.execute(
            f"DELETE FROM {_quoted(info.table_name)} WHERE record_key IN ({versions.sql(dialect='duckdb')})"
        ).fetchone()
        n = int(deleted[0]) if deleted else 0
        if n:
            store.execute("UPDATE score_states SET rows = rows - ? WHERE policy_sha256 = ?", [n, info.policy_sha256])
        removed += n
    return removed


def fold_all(store: Store, upto: int | None = None) -> int:
    """Fold every change since each kept state's watermark (up to ``upto``, by default the latest change) into
    it; call inside a transaction (ingest does, in the one that commits a batch). Returns how many states moved."""
    b = _current_seq(store) if upto is None else upto
    behind = [s for s in list_states(store) if s.watermark < b]
    for info in behind:
        fold(store, _loaded(store, info), info, b)
    return len(behind)


def _index(store: Store, name: str) -> None:
    """Index a state table by subject: a live pass reads the rows of a few hundred subjects spread over the registry,
    which no row group's bounds exclude (at beijing, 154 million rows: 736 ms of CPU a pass by a scan, 28 by the
    index). The index costs its build (48 s at beijing on a quiet machine, two minutes and more with its first
    checkpoint), about 2 GB of file, and each later change to the table more at its checkpoint (about 1 s against
    0.05 s): so only the service, which makes live passes, indexes the states (:func:`index_states`)."""
    store.execute(f"CREATE INDEX IF NOT EXISTS {_quoted(name + '_subject')} ON {_quoted(name)} (subject_id)")


def index_states(store: Store) -> int:
    """Index every kept state not yet indexed (:func:`_index`): the service does it when it starts and after each score
    job it runs (a job may build a state), before live passes read them; returns how many it indexed."""
    indexed = {
        str(t)
        for (t,) in store.execute(
            "SELECT table_name FROM duckdb_indexes() WHERE index_name = table_name || '_subject'"
        ).fetchall()
    }
    missing = [s.table_name for s in list_states(store) if s.table_name not in indexed]
    for name in missing:
        with store.transaction():
            _index(store, name)
    if missing:
        # the index written to the file now, not left in the write-ahead log: a service killed (-9) after indexing
        # a state at its start left a store DuckDB 1.5.5 could not open ("Failure while replaying WAL file …: Could
        # not write file …: Bad file descriptor", an encrypted store: tests/test_plaintext.py); not reduced further
        store.execute("CHECKPOINT")
    return len(missing)


def catch_up(store: Store, upto: int | None = None) -> list[StateInfo]:
    """:func:`fold_all` in its own transaction; returns the states as they now stand."""
    if any(s.watermark < (_current_seq(store) if upto is None else upto) for s in list_states(store)):
        with store.transaction():
            fold_all(store, upto)
    return list_states(store)


def kept_state_at(store: Store, loaded: LoadedPolicy, watermark: int) -> str | None:
    """The quoted name of the state kept for a published policy version, folded up to ``watermark`` as a run
    folds it; None if none is kept or it is already past ``watermark`` (then only the records tell that past)."""
    info = state_info(store, loaded)
    if info is not None and info.watermark < watermark:
        catch_up(store, watermark)
        info = state_info(store, loaded)
    return _quoted(info.table_name) if info is not None and info.watermark == watermark else None


def _loaded(store: Store, info: StateInfo) -> LoadedPolicy:
    loaded = get_policy(store, info.policy_id, info.policy_version)
    if loaded.sha256 != info.policy_sha256:  # pragma: no cover - published versions never change
        raise NotFoundError(f"policy {info.policy_id} {info.policy_version} changed since its state was built")
    return loaded
