"""Identity resolution across regions with Splink (DuckDB backend).

Incoming identities (from another region's bundle, or a benchmark file) are linked to the subjects of this region
by name (characters and pinyin), birth date, sex, region code, identity number, phone and address. The model is
a Fellegi-Sunter model written as data (the shipped linkage model, regions/models/residents.yaml; docs/linkage.md)
trained on the data at hand with Splink's own estimation: the prior from deterministic
rule, u by random sampling, m by expectation maximisation on two blockings. docs/regions.md documents the
blocking rules, the comparisons and the thresholds.

Each incoming identity gets its best candidate and a decision:

* ``link``: match probability >= ``threshold``, evidence beyond the name (identity number within one edit, the
  same birth date or the same phone), and no second candidate in the grey zone unless the best is at least
  ``rival_lead_bits`` ahead of it;
* ``review``: the best candidate is in the grey zone (>= ``review_floor``), or links on the name alone, or has
  a close rival; an operator accepts or rejects it;
* ``none``: no candidate reaches the grey zone.

``threshold`` and ``review_floor`` are the model file's ``thresholds.link`` and ``thresholds.review`` unless
LinkOptions gives them: the file is their one source.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from socialcredit.regions.linkmodel import DEFAULT_MODEL, LinkModel, block_rule, load_model, splink_settings
from socialcredit.regions.linkprep import SideReport, decision_sql_parts, prepare_side, train

__all__ = ["COLUMNS", "LinkOptions", "LinkResult", "default_model", "link_identities", "link_identities_kept"]

# The columns an identity table must have (any may be null but ``key``); birth_date is a DATE.
COLUMNS = ("key", "subject_id", "name", "sex", "birth_date", "phone", "address")


@dataclass(frozen=True)
class LinkOptions:
    # None: the model file's thresholds (``thresholds.link``, ``thresholds.review``), its one source.
    threshold: float | None = None
    review_floor: float | None = None
    # A rival candidate in the grey zone sends the link to review unless the best is this many bits (log2 of the
    # likelihood ratio) ahead: 10 bits is a thousand times likelier.
    rival_lead_bits: float = 10.0
    u_max_pairs: float = 2e6
    em_max_pairs: float = 1e6
    seed: int = 1
    memory_limit: str | None = None  # e.g. "6GB" for the linkage's own DuckDB
    # True: when no pair of an incoming identity and a subject meets a blocking rule, Splink would score nothing, so
    # nothing is trained (``parameters`` then holds the misfits and ``trained: False`` only). An import sets it.
    skip_without_pairs: bool = False


@dataclass
class LinkResult:
    """One row per incoming identity with a candidate: key, subject_id, probability, rival, decision, evidence."""

    table: pa.Table
    pairs_scored: int
    seconds: dict[str, float] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)

    def decided(self, decision: str) -> pa.Table:
        import pyarrow.compute as pc

        return self.table.filter(pc.equal(self.table["decision"], decision))


_default: LinkModel | None = None


def default_model() -> LinkModel:
    """The shipped model (regions/models/residents.yaml), read once."""
    global _default
    if _default is None:
        _default = load_model(DEFAULT_MODEL)
    return _default


def link_identities(
    incoming: pa.Table, subjects: pa.Table, options: LinkOptions | None = None, model: LinkModel | None = None
) -> LinkResult:
    """Link each incoming identity to at most one subject (see the module's docstring for the decisions), with the
    shipped model unless ``model`` is given; ``parameters`` holds the trained model, the prior's method and the
    values that did not fit a column (``misfits``)."""
    from splink import DuckDBAPI, Linker

    options = options or LinkOptions()
    model = model or default_model()
    link_at = model.link if options.threshold is None else options.threshold
    review_at = model.review if options.review_floor is None else options.review_floor
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    con = duckdb.connect(":memory:")
    if options.memory_limit:
        con.execute(f"SET memory_limit = '{options.memory_limit}'")
    con.execute("SET preserve_insertion_order = false")
    reports = [
        prepare_side(con, "sc_link_incoming", incoming, model, "incoming"),
        prepare_side(con, "sc_link_subjects", subjects, model, "subjects"),
    ]
    seconds["prepare"] = time.perf_counter() - started
    n_in = int(con.execute("SELECT count(*) FROM sc_link_incoming").fetchone()[0])  # type: ignore[index]
    n_sub = int(con.execute("SELECT count(*) FROM sc_link_subjects").fetchone()[0])  # type: ignore[index]
    empty = pa.table(
        {
            "key": pa.array([], pa.string()),
            "subject_id": pa.array([], pa.string()),
            "probability": pa.array([], pa.float64()),
            "rival_probability": pa.array([], pa.float64()),
            "decision": pa.array([], pa.string()),
            "evidence": pa.array([], pa.string()),
        }
    )
    if n_in == 0 or n_sub == 0:
        con.close()
        return LinkResult(empty, 0, seconds, {"misfits": []})
    if options.skip_without_pairs and not _any_blocked_pair(con, model):
        con.close()
        return LinkResult(empty, 0, seconds, {"trained": False, "misfits": _misfits(reports)})
    db = DuckDBAPI(con)
    left = db.register("sc_link_incoming", dataset_display_name="incoming")
    right = db.register("sc_link_subjects", dataset_display_name="subjects")
    linker = Linker([left, right], splink_settings(model), log_level=logging.ERROR)
    t = time.perf_counter()
    training = train(
        linker,
        model,
        n_in,
        n_sub,
        u_max_pairs=options.u_max_pairs,
        em_max_pairs=options.em_max_pairs,
        seed=options.seed,
    )
    seconds["train"] = time.perf_counter() - t
    t = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=min(0.05, review_at))
    table = predictions.physical_name
    seconds["predict"] = time.perf_counter() - t
    t = time.perf_counter()
    pairs = int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
    beyond, evidence = decision_sql_parts(model)
    result = con.execute(
        f"""
        WITH p AS (
            SELECT CASE WHEN source_dataset_l = 'incoming' THEN unique_id_l ELSE unique_id_r END AS key,
                   CASE WHEN source_dataset_l = 'incoming' THEN unique_id_r ELSE unique_id_l END AS subject_key,
                   match_probability AS probability, match_weight AS weight,
                   {beyond} AS beyond_name,
                   {evidence} AS evidence,
                   row_number() OVER (PARTITION BY key ORDER BY match_probability DESC, subject_key) AS pos
            FROM {table}
        ), best AS (
            SELECT b.key, b.subject_key, b.probability, b.beyond_name, b.evidence, r.probability AS rival,
                   b.weight - r.weight AS lead_bits
            FROM p b LEFT JOIN p r ON r.key = b.key AND r.pos = 2 WHERE b.pos = 1
        )
        SELECT key, subject_key AS subject_id, probability, rival AS rival_probability,
               CASE WHEN probability >= $t AND beyond_name AND (coalesce(rival, 0) < $g OR lead_bits >= $margin)
                    THEN 'link'
                    WHEN probability >= $g THEN 'review' ELSE 'none' END AS decision,
               evidence
        FROM best ORDER BY key
        """,
        {"t": link_at, "g": review_at, "margin": options.rival_lead_bits},
    ).to_arrow_table()
    seconds["decide"] = time.perf_counter() - t
    parameters = {
        "probability_two_random_records_match": linker._settings_obj._probability_two_random_records_match,
        "prior_method": training.prior_method,
        "em": training.em,
        "misfits": _misfits(reports),
        "comparisons": {
            c.output_column_name: [
                {"level": lv.label_for_charts, "m": lv.m_probability, "u": lv.u_probability}
                for lv in c.comparison_levels
                if not lv.is_null_level
            ]
            for c in linker._settings_obj.comparisons
        },
    }
    con.close()
    return LinkResult(result.cast(empty.schema), pairs, seconds, parameters)


def _misfits(reports: list[SideReport]) -> list[dict[str, Any]]:
    return [
        {
            "side": r.label,
            "column": m.column,
            "source": m.source,
            "what": m.what,
            "count": m.count,
            "examples": m.examples,
            "action": m.action,
        }
        for r in reports
        for m in r.misfits
    ]


def _any_blocked_pair(con: duckdb.DuckDBPyConnection, model: LinkModel) -> bool:
    """Whether a pair of an incoming identity and a subject meets one of the model's blocking rules, each as Splink
    writes it (its predictions are the pairs that meet one; it adds conditions, never removes any)."""
    for rule in model.blocking:
        on = block_rule(rule).get_blocking_rule("duckdb").blocking_rule_sql
        found = con.execute(f"SELECT EXISTS (SELECT 1 FROM sc_link_incoming l JOIN sc_link_subjects r ON {on})")
        if found.fetchone()[0]:  # type: ignore[index]
            return True
    return False


# The results of the last linkages link_identities_kept ran in this process, by the digest of their inputs.
_KEPT: OrderedDict[str, LinkResult] = OrderedDict()
KEPT_RESULTS = 8


def _digest(*tables: pa.Table, options: LinkOptions, model: LinkModel) -> str:
    h = hashlib.sha256(repr((options, model)).encode("utf-8"))

    class Sink:
        closed = False

        def write(self, data: bytes) -> int:
            h.update(data)
            return len(data)

        def flush(self) -> None:
            pass

    for table in tables:
        with pa.ipc.new_stream(pa.PythonFile(Sink(), mode="w"), table.schema) as out:
            out.write_table(table)
    return h.hexdigest()


def link_identities_kept(incoming: pa.Table, subjects: pa.Table, options: LinkOptions | None = None) -> LinkResult:
    """``link_identities`` with the shipped model, or the result of an earlier call in this process on the same
    rows, in the same order, with the same options (Splink is trained with a fixed seed: the same inputs give the
    same links): an import that tries again the identities it could not link, against residents who have not
    changed, does not train again. The last ``KEPT_RESULTS`` results are kept."""
    options = options or LinkOptions()
    key = _digest(incoming, subjects, options=options, model=default_model())
    kept = _KEPT.get(key)
    if kept is None:
        kept = _KEPT[key] = link_identities(incoming, subjects, options)
        while len(_KEPT) > KEPT_RESULTS:
            _KEPT.popitem(last=False)
    else:
        _KEPT.move_to_end(key)
    return LinkResult(kept.table, kept.pairs_scored, {"kept": 0.0}, copy.deepcopy(kept.parameters))
