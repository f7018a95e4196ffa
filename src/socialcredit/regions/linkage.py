"""Identity resolution across regions with Splink (DuckDB backend).

Incoming identities (from another region's bundle, or a benchmark file) are linked to the subjects of this region
by name (characters and pinyin), birth date, sex, region code, identity number, phone and address. The model is
a Fellegi-Sunter model trained on the data at hand with Splink's own estimation: the prior from a deterministic
rule, u by random sampling, m by expectation maximisation on two blockings. docs/regions.md documents the
blocking rules, the comparisons and the thresholds.

Each incoming identity gets its best candidate and a decision:

* ``link``: match probability >= ``threshold``, evidence beyond the name (identity number within one edit, the
  same birth date or the same phone), and no second candidate in the grey zone unless the best is at least
  ``rival_lead_bits`` ahead of it;
* ``review``: the best candidate is in the grey zone (>= ``review_floor``), or links on the name alone, or has
  a close rival; an operator accepts or rejects it;
* ``none``: no candidate reaches the grey zone.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from socialcredit.regions.names import pinyin_table

__all__ = ["COLUMNS", "LinkOptions", "LinkResult", "link_identities"]

# The columns an identity table must have (any may be null but ``key``); birth_date is a DATE.
COLUMNS = ("key", "subject_id", "name", "sex", "birth_date", "phone", "address")


@dataclass(frozen=True)
class LinkOptions:
    threshold: float = 0.99
    review_floor: float = 0.5
    # A rival candidate in the grey zone sends the link to review unless the best is this many bits (log2 of the
    # likelihood ratio) ahead: 10 bits is a thousand times likelier.
    rival_lead_bits: float = 10.0
    u_max_pairs: float = 2e6
    em_max_pairs: float = 1e6
    seed: int = 1
    memory_limit: str | None = None  # e.g. "6GB" for the linkage's own DuckDB


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


def _prepare(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> None:
    """Standardise one side into table ``name``: the columns every comparison and blocking rule reads."""
    missing = [c for c in COLUMNS if c not in table.column_names]
    if missing:
        raise ValueError(f"an identity table needs the columns {', '.join(COLUMNS)}; missing {', '.join(missing)}")
    names = table["name"].to_pylist()
    full, first = pinyin_table(names)
    py = pa.table({"_i": pa.array(range(len(names)), pa.int64()), "name_py": full, "surname_py": first})
    con.register("_src", table.select(list(COLUMNS)))
    con.register("_py", py)
    # A valid-looking number gives the region code; its first 17 digits are compared, and their sorted digits
    # block transpositions together. Pieces of the number block typos in any one of its three parts.
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {name} AS
        WITH s AS (SELECT row_number() OVER () - 1 AS _i, * FROM _src),
        n AS (
            SELECT s.*, p.name_py, p.surname_py,
                   CASE WHEN regexp_full_match(upper(trim(s.subject_id)), '[0-9]{{17}}[0-9X]')
                        THEN upper(trim(s.subject_id)) END AS idn
            FROM s JOIN _py p USING (_i)
        )
        SELECT key AS unique_id, name, name_py, surname_py, sex,
               strftime(birth_date, '%Y%m%d') AS dob,
               substr(idn, 1, 17) AS id17,
               substr(idn, 1, 6) AS region_code,
               array_to_string(list_sort(string_split(substr(idn, 1, 17), '')), '') AS id_sorted,
               substr(idn, 1, 14) AS id_rb,
               substr(idn, 7, 11) AS id_bs,
               substr(idn, 1, 6) || substr(idn, 15, 3) AS id_rs,
               nullif(regexp_replace(phone, '[^0-9]', '', 'g'), '') AS phone,
               nullif(trim(address), '') AS address
        FROM n
        """
    )
    con.unregister("_src")
    con.unregister("_py")


def _settings() -> Any:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    def levels(column: str, *middle: Any) -> Any:
        return cl.CustomComparison(
            output_column_name=column,
            comparison_levels=[cll.NullLevel(column), *middle, cll.ElseLevel()],
        )

    return SettingsCreator(
        link_type="link_only",
        comparisons=[
            levels("id17", cll.ExactMatchLevel("id17"), cll.DamerauLevenshteinLevel("id17", 1)),
            cl.CustomComparison(
                output_column_name="name",
                comparison_levels=[
                    cll.NullLevel("name_py"),
                    cll.ExactMatchLevel("name"),
                    cll.ExactMatchLevel("name_py"),
                    cll.JaroWinklerLevel("name_py", 0.9),
                    cll.ElseLevel(),
                ],
            ),
            levels("dob", cll.ExactMatchLevel("dob"), cll.DamerauLevenshteinLevel("dob", 1)),
            levels("sex", cll.ExactMatchLevel("sex")),
            levels("region_code", cll.ExactMatchLevel("region_code")),
            levels("phone", cll.ExactMatchLevel("phone")),
            levels("address", cll.ExactMatchLevel("address"), cll.JaroWinklerLevel("address", 0.9)),
        ],
        # Never the name alone: every rule holds a piece of the number, the birth date or the phone.
        blocking_rules_to_generate_predictions=[
            block_on("id17"),
            block_on("id_sorted", "sex"),
            block_on("id_rb"),
            block_on("id_bs"),
            block_on("id_rs", "surname_py"),
            block_on("dob", "surname_py"),
            block_on("phone"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=True,
    )


def link_identities(incoming: pa.Table, subjects: pa.Table, options: LinkOptions | None = None) -> LinkResult:
    """Link each incoming identity to at most one subject (see the module's docstring for the decisions)."""
    from splink import DuckDBAPI, Linker, block_on

    options = options or LinkOptions()
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    con = duckdb.connect(":memory:")
    if options.memory_limit:
        con.execute(f"SET memory_limit = '{options.memory_limit}'")
    con.execute("SET preserve_insertion_order = false")
    _prepare(con, "sc_link_incoming", incoming)
    _prepare(con, "sc_link_subjects", subjects)
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
        return LinkResult(empty, 0, seconds)
    db = DuckDBAPI(con)
    left = db.register("sc_link_incoming", dataset_display_name="incoming")
    right = db.register("sc_link_subjects", dataset_display_name="subjects")
    linker = Linker([left, right], _settings(), log_level=logging.ERROR)
    t = time.perf_counter()
    # The prior: pairs that agree on the number and birth date, or on name, birth date and sex, are taken as
    # matches, and scaled up by the share of true matches those rules find (PRIOR_RULES_RECALL).
    linker.training.estimate_probability_two_random_records_match(
        [block_on("id17", "dob"), block_on("name_py", "dob", "sex")], recall=PRIOR_RULES_RECALL
    )
    settings = linker._settings_obj
    if settings._probability_two_random_records_match <= 0:  # no sure pair at all: at most one match in all
        settings._probability_two_random_records_match = 1 / (n_in * n_sub)
    linker.training.estimate_u_using_random_sampling(max_pairs=options.u_max_pairs, seed=options.seed)
    for rule in (block_on("dob", "surname_py"), block_on("id17")):
        # A session that fails (too few pairs to train on) leaves the model as it was, starting values included.
        before = copy.deepcopy(settings.core_model_settings)
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, max_pairs=options.em_max_pairs if n_in * n_sub > options.em_max_pairs else None
            )
        except Exception as exc:
            settings.core_model_settings = before
            logging.getLogger(__name__).info("EM on %s skipped: %s", rule, exc)
    seconds["train"] = time.perf_counter() - t
    t = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=min(0.05, options.review_floor))
    table = predictions.physical_name
    seconds["predict"] = time.perf_counter() - t
    t = time.perf_counter()
    pairs = int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
    result = con.execute(
        f"""
        WITH p AS (
            SELECT CASE WHEN source_dataset_l = 'incoming' THEN unique_id_l ELSE unique_id_r END AS key,
                   CASE WHEN source_dataset_l = 'incoming' THEN unique_id_r ELSE unique_id_l END AS subject_key,
                   match_probability AS probability, match_weight AS weight,
                   gamma_id17 >= 1 OR gamma_dob = 2 OR gamma_phone = 1 AS beyond_name,
                   concat_ws(' ', CASE gamma_id17 WHEN 2 THEN 'id=' WHEN 1 THEN 'id~' END,
                             CASE gamma_name WHEN 3 THEN 'name=' WHEN 2 THEN 'pinyin=' WHEN 1 THEN 'pinyin~' END,
                             CASE gamma_dob WHEN 2 THEN 'birth=' WHEN 1 THEN 'birth~' END,
                             CASE gamma_sex WHEN 1 THEN 'sex=' END,
                             CASE gamma_region_code WHEN 1 THEN 'region=' END,
                             CASE gamma_phone WHEN 1 THEN 'phone=' END,
                             CASE gamma_address WHEN 2 THEN 'address=' WHEN 1 THEN 'address~' END) AS evidence,
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
        {"t": options.threshold, "g": options.review_floor, "margin": options.rival_lead_bits},
    ).to_arrow_table()
    seconds["decide"] = time.perf_counter() - t
    parameters = {
        "probability_two_random_records_match": linker._settings_obj._probability_two_random_records_match,
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


# Share of true matches found by the prior's two rules (the generator's error rates give about 0.85; docs/regions.md).
PRIOR_RULES_RECALL = 0.85
