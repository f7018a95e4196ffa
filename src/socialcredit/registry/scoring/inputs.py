"""The inputs of a score run, or of one subject's explanation, as relations owned by their caller.

The compiler's plan reads and writes relations by their logical names (``sc_records``, ``sc_subjects``,
``sc_affected`` and its stages ``sc_rule_points`` … ``sc_results``). :class:`RunInputs` gives each caller its own
copies of them on the store's shared connection (see ``socialcredit.registry.relations``), so a decision explaining
a refusal while a score run is under way never reads that run's inputs, nor the run the decision's.

>>> with prepare_inputs(store, loaded, watermark) as inputs:  # doctest: +SKIP
...     inputs.materialize(backend, "sc_rule_points", plan.rule_points())
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from functools import partial

import sqlglot
import sqlglot.expressions as exp

from socialcredit.catalog import CATEGORY_ID, Catalog
from socialcredit.compiler import STAGES, ScorePlan
from socialcredit.policy import LoadedPolicy
from socialcredit.policy.model import RELATION_RECORD_TYPE
from socialcredit.registry.relations import OwnedRelations
from socialcredit.registry.scoring.holds import any_held, held_records
from socialcredit.store import Store, listed_integers, listed_strings, subject_keys_of

__all__ = ["RELATIONS", "RunInputs", "prepare_inputs", "role_records_at"]

_ANY_DATE = dt.date(2000, 1, 1)  # whether a policy follows relations does not depend on a date

# Every logical name a run's statements may use; each caller's copies are named after them.
RELATIONS = frozenset(
    {
        "sc_records",
        "sc_subjects",
        "sc_superseded",
        "sc_mine",
        "sc_held",
        "sc_changed",
        "sc_affected",
        "sc_time_affected",
        "sc_contributions",
        "sc_state",
        "sc_histogram",
        "sc_role_records",
        "sc_own",
        "sc_extras",
        "sc_kept",
        "sc_ranked_all",
        *STAGES,
    }
)


class RunInputs(OwnedRelations):
    """A caller's own score-run relations (:data:`RELATIONS`); dropped when its ``with`` block ends (unless kept:
    :class:`OwnedRelations`)."""

    def __init__(self, store: Store, *, prefix: str | None = None, kept: bool = False, fill: bool = False) -> None:
        super().__init__(store, RELATIONS, prefix=prefix, kept=kept, fill=fill)


# Versions replaced by a later one (at or below the watermark). Corrections are rare, so this is small.
_SUPERSEDED = """
SELECT o.record_key FROM records o JOIN (
    SELECT source_id, record_id, max(version) AS latest FROM records
    WHERE record_key <= $w AND version > 1 GROUP BY source_id, record_id
) n USING (source_id, record_id)
WHERE o.record_key <= $w AND o.version < n.latest
"""

# One subject's record versions at the watermark, and those a later version replaces (the later one may name
# another subject: a correction that moved the record); the same rows as _SUPERSEDED gives for them.
_MINE = "SELECT * FROM records WHERE subject_key = $key AND subject_id = $sid AND record_key <= $w"
_MINE_SUPERSEDED = """
SELECT o.record_key FROM sc_mine o JOIN (
    SELECT r.source_id, r.record_id, max(r.version) AS latest FROM records r
    JOIN (SELECT DISTINCT source_id, record_id FROM sc_mine) m USING (source_id, record_id)
    WHERE r.record_key <= $w AND r.version > 1 GROUP BY r.source_id, r.record_id
) n USING (source_id, record_id)
WHERE o.version < n.latest
"""

# The counting version of every record, with the key its record was first stored at (records.first_key, NULL on a
# first version); the typed field columns of the catalog are added to the SELECT.
_RECORDS = """
SELECT subject_key AS subject_id, record_key, record_type, event_date, coalesce(first_key, record_key) AS first_key
FROM records
WHERE record_key <= $w AND NOT withdrawn
  AND record_key NOT IN (SELECT record_key FROM sc_superseded)
  AND record_key NOT IN (SELECT record_key FROM sc_held)
"""

# Each subject's latest version; one consent column per category is added to the SELECT. Partitioned by the
# integer key (one per identifier), not by the 18-character identifier: the same partitions, cheaper to hash.
_SUBJECT_COLUMNS = "s.subject_key AS subject_id, s.subject_id AS sid, s.kind, s.profession, s.birth_date"
_SUBJECTS = f"""
SELECT {_SUBJECT_COLUMNS}
FROM (
    SELECT *, row_number() OVER (PARTITION BY subject_key ORDER BY seq DESC) AS rn FROM subjects WHERE seq <= $w
) s
WHERE s.rn = 1
"""

# The same for every subject: the versions of a subject registered once (nearly all) taken as they are, only the few
# registered again ranked by the window (which otherwise partitions and sorts every subject's versions).
# (A key is never NULL: ingest sets it; were one NULL, ``again`` leaves it out so that NOT IN keeps everyone else.)
_ALL_SUBJECTS = f"""
SELECT {_SUBJECT_COLUMNS}
FROM (
    WITH again AS (
        SELECT subject_key FROM subjects WHERE seq <= $w AND subject_key IS NOT NULL
        GROUP BY subject_key HAVING count(*) > 1
    )
    SELECT *, 1 AS rn FROM subjects WHERE seq <= $w AND subject_key NOT IN (SELECT subject_key FROM again)
    UNION ALL
    SELECT *, row_number() OVER (PARTITION BY subject_key ORDER BY seq DESC) AS rn FROM subjects
    WHERE seq <= $w AND subject_key IN (SELECT subject_key FROM again)
) s
WHERE s.rn = 1
"""

# Each subject's latest consent answer per category; one pivoted column per category is added to the SELECT.
_CONSENTS = """
SELECT subject_id FROM (
    SELECT *, row_number() OVER (PARTITION BY subject_id, category ORDER BY seq DESC) AS rn
    FROM consents WHERE seq <= $w
) WHERE rn = 1 GROUP BY subject_id
"""


def prepare_inputs(
    store: Store,
    loaded: LoadedPolicy | None,
    watermark: int,
    subject_id: str | None = None,
    categories: Sequence[str] | None = None,
    *,
    state_table: str | None = None,
    subjects: Sequence[str] | None = None,
    subject_key: int | None = None,
    versions: str | None = None,
    known_keys: Mapping[str, int] | None = None,
    into: RunInputs | None = None,
) -> RunInputs:
    """The records and subjects as they stood at ``watermark`` (for one subject, if named), as the caller's own
    ``sc_records`` and ``sc_subjects``; use the result in a ``with`` block, which drops them at its end.

    Inside a run, ``subject_id`` is the subject's integer key (grouping and joining on it is much cheaper than on
    the 18-character identifier); ``sc_subjects.sid`` maps it back for everything that is stored or shown.
    ``sc_subjects`` has a consent column per category of the policy (or of ``categories``, for an export).

    With ``state_table`` (the quoted name of the policy's scoring state, folded up to ``watermark``), the records
    are not read at all: ``sc_state`` stands for them (registry/scoring/state.py). With ``subjects`` (identifiers),
    ``sc_subjects`` holds only those (live rescoring of the subjects a batch touched). ``subject_key``, the key of
    ``subject_id`` when the caller has it, saves looking it up. ``versions``, the name of the caller's own relation
    holding every stored version of ``subject_id``'s records (as ``records`` has them), is read for that subject's
    versions instead of ``records``: a file that has read them already does not scan the records again.
    ``known_keys``, the integer keys of some of ``subjects`` when the caller has them (subject_keys' key of each
    identifier), saves looking those up. ``into``: the caller's relations to make them as (kept ones, or filled:
    a live pass on the tables its connection keeps); by default new ones.
    """
    if categories is None:
        categories = loaded.policy.consent.categories if loaded is not None else []
    w = int(watermark)
    inputs = RunInputs(store) if into is None else into
    try:
        key = None
        if subject_id is not None:
            key = _subject_key(store, subject_id) if subject_key is None else subject_key
        if state_table is None:
            if subject_id is None:
                inputs.create("sc_superseded", _SUPERSEDED, {"w": w})
            else:  # one subject's file: its versions read once (by its integer key), and which of them are replaced
                if versions is None:
                    inputs.create("sc_mine", _MINE, {"w": w, "key": key, "sid": subject_id})
                else:  # the same rows, from the versions the caller read (at or below the watermark)
                    inputs.create("sc_mine", _mine_of(versions, w))
                inputs.create("sc_superseded", _MINE_SUPERSEDED, {"w": w})
            _create_held(inputs, loaded, w, subject_id)
            # a whole run reads the records through a view (each rule scans its own record type); one subject's
            # few records are read once into a table, not once per rule
            inputs.create("sc_records", _records_query(w, subject_id, store.catalog), view=subject_id is None)
        else:
            inputs.create("sc_state", f"SELECT * FROM {state_table}", view=True)
        subject_keys: list[int] | None = None
        if subject_id is None and subjects is not None:  # printed once; the identifiers filled in as literals
            known = known_keys or {}
            subject_keys = [known[s] for s in subjects if s in known]
            subject_keys += _keys_of(store, [s for s in subjects if s not in known])
            inputs.create_once(
                "sc_subjects",
                ("subjects", tuple(categories)),
                partial(_subjects_query, categories, [_IDS], keys=[_KEYS]),
                {"w": w},
                fill=partial(_filled, ids=subjects, keys=subject_keys),
            )
        else:
            only = [subject_id] if subject_id is not None else None
            inputs.create("sc_subjects", _subjects_query(categories, only, key), {"w": w})
        if state_table is not None and loaded is not None and ScorePlan(loaded, as_of=_ANY_DATE).has_relations():
            _create_role_records(inputs, loaded, w, subject_keys=subject_keys)
    except BaseException:
        inputs.close()
        raise
    return inputs


# The counting version of every role record at the watermark (the latest version, not withdrawn, not held): the
# rows a run from records takes from its records view (ScorePlan.relation_records), read from the role records kept
# apart (store.note_role_records: every version of the records of type $type, and only those).
_ROLE_RECORDS = """
SELECT subject_key AS subject_id, record_key, $type AS record_type, event_date, org_id, "role", start_date, end_date
FROM (
    SELECT *, row_number() OVER (PARTITION BY role_key ORDER BY version DESC) AS rn
    FROM role_records WHERE record_key <= $w
) WHERE rn = 1 AND NOT withdrawn AND record_key NOT IN (SELECT record_key FROM sc_held)
"""


# The same for the persons of ``sc_subjects`` (a live pass): every version of the role records any version of which
# is about one of them (a correction may move a record to another person), then their counting version if it is
# about one of them; the stage that reads them joins both the person and the organisation to sc_subjects. From the
# role records kept apart, their versions found by role_key (one number a record), not by its two identifiers; the
# role keys written into the statement (``{role_keys}``), so that they are found through the index on role_key.
_SOME_ROLE_RECORDS = """
SELECT subject_key AS subject_id, record_key, $type AS record_type, event_date, org_id, "role", start_date, end_date
FROM (
    SELECT *, row_number() OVER (PARTITION BY role_key ORDER BY version DESC) AS rn
    FROM (SELECT * FROM role_records WHERE role_key IN ({role_keys})) WHERE record_key <= $w
) WHERE rn = 1 AND NOT withdrawn AND record_key NOT IN (SELECT record_key FROM sc_held)
  AND subject_key IN (SELECT subject_id FROM sc_subjects)
"""


def _create_role_records(
    inputs: RunInputs, loaded: LoadedPolicy, w: int, *, subject_keys: Sequence[int] | None = None
) -> None:
    """A run from the state: ``sc_role_records`` as a run from records takes them from its records view (with
    ``subject_keys``: those of these persons only, for a live pass of a few subjects)."""
    _create_held(inputs, loaded, w, None)
    params = {"type": RELATION_RECORD_TYPE, "w": w}
    if subject_keys is None:
        inputs.create("sc_role_records", _ROLE_RECORDS, params)
        return
    # the records any version of which is about one of them, by the subjects' index; the statement printed once,
    # its role keys written in afterwards (parsing it anew for each pass's keys cost a live pass ~5 ms of Python)
    found = inputs.store.execute(
        f"SELECT DISTINCT role_key FROM role_records WHERE subject_key IN ({listed_integers(subject_keys)})"
    ).fetchall()
    template = _SOME_ROLE_RECORDS.format(role_keys=f"'{_ROLE_KEYS}'")
    inputs.create_once(
        "sc_role_records",
        ("some role records",),
        lambda: sqlglot.parse_one(template, read="duckdb"),
        params,
        fill=lambda text: text.replace(f"'{_ROLE_KEYS}'", listed_integers([k for (k,) in found])),
    )


def role_records_at(inputs: RunInputs, loaded: LoadedPolicy, watermark: int) -> None:
    """``sc_role_records`` as a run at ``watermark`` from the state reads them: every organisation's role records
    at that watermark, their counting version (withdrawn ones and those ``sc_held`` holds out left out). For a reader
    that must see the roles a run saw (the decision snapshot's entries through organisations)."""
    _create_role_records(inputs, loaded, int(watermark))


def _mine_of(versions: str, w: int) -> exp.Select:
    """``_MINE`` read from the relation ``versions`` (the subject's versions): its rows at or below ``w``."""
    source = exp.Table(this=exp.to_identifier(versions, quoted=True))
    return exp.select("*").from_(source).where(exp.column("record_key") <= exp.Literal.number(w))


def _create_held(inputs: RunInputs, loaded: LoadedPolicy | None, w: int, subject_id: str | None) -> None:
    """Due process: records under an open dispute (when the policy says so) or repaired do not count."""
    if not any_held(inputs.store, loaded, w):  # usually nothing is held: then no scan of the records at all
        inputs.create("sc_held", "SELECT CAST(NULL AS BIGINT) AS record_key WHERE false")
        return
    params: dict[str, object] = {"w": w}
    if subject_id is not None:
        params["sid"] = subject_id
    inputs.create("sc_held", held_records(loaded, one_subject=subject_id is not None), params)


def _subject_key(store: Store, subject_id: str) -> int:
    """The subject's integer key (-1 if it has none): an integer constant is the filter a scan of records takes
    cheapest, before the identifier is compared on the few rows left."""
    row = store.execute("SELECT max(subject_key) FROM subject_keys WHERE subject_id = ?", [subject_id]).fetchone()
    return int(row[0]) if row is not None and row[0] is not None else -1


def _records_query(w: int, subject_id: str | None, catalog: Catalog) -> exp.Select:
    """The records view: read through a view, so that every rule's query scans only its own record type.

    A view cannot take parameters, so the watermark and subject are sqlglot literals in it.
    """
    query = exp.replace_placeholders(sqlglot.parse_one(_RECORDS, read="duckdb"), w=w)
    assert isinstance(query, exp.Select)
    fields = [exp.column(exp.to_identifier(name, quoted=True)) for name in catalog.field_columns()]
    query = query.select(*fields)
    if subject_id is not None:  # from the subject's own versions (sc_mine), read once
        query = query.from_(exp.to_table("sc_mine"))
    return query


# Stand for the lists of a pass's subject identifiers and of their integer keys in the printed text of
# ``sc_subjects`` (``_filled``).
_IDS = "sc-subject-ids"
_KEYS = "sc-subject-keys"
_ROLE_KEYS = "sc-role-keys"  # and of the role keys in ``sc_role_records`` (``_create_role_records``)


def _keys_of(store: Store, subject_ids: Sequence[str]) -> list[int]:
    """The integer keys of the registered subjects among ``subject_ids`` (subject_keys gives each identifier one)."""
    if not subject_ids:
        return []
    return [int(r[0]) for r in store.execute(subject_keys_of(subject_ids)).fetchall()]


def _filled(text: str, ids: Sequence[str], keys: Sequence[int] = ()) -> str:
    """``text`` with the identifiers ``ids`` in place of ``_IDS`` (string literals as sqlglot prints them for DuckDB:
    a quote doubled) and the keys ``keys`` in place of ``_KEYS``, each list NULL when empty."""
    marker, keys_marker = f"'{_IDS}'", f"'{_KEYS}'"
    assert marker in text or keys_marker in text
    text = text.replace(marker, listed_strings(ids))
    return text.replace(keys_marker, listed_integers(keys))


def _subjects_query(
    categories: Sequence[str],
    subject_ids: Sequence[str] | None,
    key: int | None = None,
    *,
    keys: Sequence[int | str] | None = None,
) -> exp.Select:
    """Subjects with one ``consent_<category>`` column each (false when never granted); binds ``$w``. ``keys``: the
    integer keys of ``subject_ids`` (or the marker ``_KEYS`` for them), when the caller has them."""
    query = sqlglot.parse_one(_SUBJECTS if subject_ids is not None else _ALL_SUBJECTS, read="duckdb")
    assert isinstance(query, exp.Select)
    if subject_ids is not None:
        inner = query.find(exp.Subquery)
        assert inner is not None and isinstance(inner.this, exp.Select)
        if key is not None:  # one subject: subjects are registered in the order of their keys (blocks are skipped)
            ids: list[exp.Expr] = [exp.Literal.string(s) for s in subject_ids] or [exp.Null()]
            only = exp.and_(
                exp.column("subject_key", "subjects").eq(exp.Literal.number(key)),
                exp.column("subject_id", "subjects").isin(*ids),
            )
            inner.set("this", inner.this.where(only))
        else:  # a live pass's few, by their keys written out, found through the index on subjects' keys (a join on
            # the keys, or the keys beside seq <= $w in one filter, read every subject: at beijing 452 against 21 ms
            # of CPU for 500 subjects spread over the registry)
            assert keys is not None, "a list of subjects is read by their keys"
            listed: list[exp.Expr] = [
                exp.Literal.number(k) if isinstance(k, int) else exp.Literal.string(k) for k in keys
            ]
            _probe(query, inner.this, "subjects", "subject_key", listed)
    if not categories:
        return query
    consents = sqlglot.parse_one(_CONSENTS, read="duckdb")
    assert isinstance(consents, exp.Select)
    if subject_ids is not None:  # the consents of those subjects only, not every subject's pivoted
        latest = consents.find(exp.Subquery)
        assert latest is not None and isinstance(latest.this, exp.Select)
        named: list[exp.Expr] = [exp.Literal.string(x) for x in subject_ids]
        _probe(query, latest.this, "consents", "subject_id", named)
    for category in categories:
        granted = exp.Filter(
            this=exp.func("bool_or", exp.column("granted")),
            expression=exp.Where(this=exp.column("category").eq(exp.Literal.string(category))),
        )
        consents = consents.select(exp.alias_(granted, _consent_col(category), quoted=True))
        query = query.select(
            exp.alias_(
                exp.func("coalesce", exp.column(_consent_col(category), "c", quoted=True), exp.false()),
                _consent_col(category),
                quoted=True,
            )
        )
    pivot = exp.Subquery(this=consents, alias=exp.TableAlias(this=exp.to_identifier("c")))
    return query.join(pivot, using=["subject_id"], join_type="left")


def _probe(query: exp.Select, reader: exp.Select, table: str, column: str, values: Sequence[exp.Expr]) -> None:
    """Make ``reader`` (a SELECT within ``query``) read ``table`` narrowed to the rows whose ``column`` is among
    ``values``, found first in a materialized CTE of ``query``: DuckDB 1.5.5 finds them through the column's index
    (store.py: subjects' keys, consents' subjects) only when no other condition joins the same scan's filter, and
    it would push ``reader``'s ``seq <= $w`` down into a plain subquery (then it scanned all 22 million subjects: at
    beijing, 452 ms of CPU for a pass of 500 subjects spread over the registry, against 21 through the index)."""
    name = f"probed_{table}"
    body = exp.select("*").from_(table).where(exp.column(column).isin(*(values or [exp.Null()])))
    query.with_(name, as_=body, materialized=True, copy=False)
    reader.from_(
        exp.Table(this=exp.to_identifier(name), alias=exp.TableAlias(this=exp.to_identifier(table))), copy=False
    )


def _consent_col(category: str) -> str:
    """The consent column of a category. The categories are the policy's, validated against the catalog it was read
    with (the store's published one: a category it adds counts like a shipped one); refuse anything else."""
    if not CATEGORY_ID.match(category):
        raise ValueError(f"not a category id: {category!r}")
    return f"consent_{category}"
