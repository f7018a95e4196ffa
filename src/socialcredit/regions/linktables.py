"""``socialcredit link LEFT RIGHT --model FILE --out PAIRS``: link any two tables (CSV or Parquet) with a linkage
model (docs/linkage.md) and write the scored pairs.

The model is trained on the two tables (``linkprep.train``); every pair of the blocking rules whose match
probability reaches ``--threshold`` (the model's review threshold by default) is written with its probability, its
match weight, the levels that agreed and whether it is a link (probability at or above the model's link threshold,
the evidence ``link_requires_any`` asks for and, with ``one_to_one``, each side's best). The summary says how the
prior was found and which values did not fit the model.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from socialcredit.errors import LinkModelError
from socialcredit.regions.linkmodel import LinkModel, splink_settings
from socialcredit.regions.linkprep import SideReport, Training, decision_sql_parts, prepare_side, train

__all__ = ["LinkSummary", "link_tables", "map_columns", "read_table"]

_SIDES = ("left", "right")


@dataclass
class LinkSummary:
    sides: list[SideReport]
    pairs_compared: int
    pairs_written: int
    links: int
    seconds: float
    training: Training
    threshold: float
    out: Path
    stages: dict[str, float] = field(default_factory=dict)

    def lines(self, model: LinkModel) -> list[str]:
        out = []
        for side in self.sides:
            out.append(f"{side.label}: {side.rows:,} rows")
            for m in side.misfits:
                examples = ", ".join(repr(e) for e in m.examples)
                plural = "s" if m.count != 1 else ""
                out.append(
                    f"  {m.count:,} value{plural} of {m.source!r} (column {m.column!r}) {m.what}, e.g. {examples}: "
                    f"{m.action}"
                )
        t = self.training
        out.append(f"prior {t.prior:.3g} ({t.prior_method})")
        trained = [s["rule"] for s in t.em if s["trained"]]
        skipped = [f"{s['rule']} ({s['reason']})" for s in t.em if not s["trained"]]
        out.append(
            f"m by EM over {', '.join(trained) or 'no blocking'}"
            + (f"; skipped {', '.join(skipped)}" if skipped else "")
            + f"; u by random sampling ({model.u_max_pairs:,.0f} pairs at most)"
        )
        out.append(f"pairs compared {self.pairs_compared:,}")
        out.append(f"pairs written {self.pairs_written:,} (probability >= {self.threshold:g}) to {self.out}")
        out.append(
            f"links {self.links:,} (probability >= {model.link:g}"
            + (", the evidence the model requires" if model.requires_any else "")
            + (", one to one" if model.one_to_one else "")
            + ")"
        )
        stages = ", ".join(f"{k} {v:.1f} s" for k, v in self.stages.items())
        out.append(f"time {self.seconds:.1f} s ({stages})")
        return out


def read_table(path: Path, label: str, rename: dict[str, str]) -> pa.Table:
    """A CSV (every column read as text; the model types them) or Parquet file, with the columns of ``rename``
    (the model's input name -> the file's column) copied under the model's names."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise LinkModelError(f"{label}: {path} is not a file")
    con = duckdb.connect()
    try:
        if suffix == ".csv":
            table = con.execute("SELECT * FROM read_csv(?, all_varchar = true, header = true)", [str(path)]).arrow()
        elif suffix == ".parquet":
            table = con.execute("SELECT * FROM read_parquet(?)", [str(path)]).arrow()
        else:
            raise LinkModelError(f"{label}: {path.name}: give a .csv or .parquet file")
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise LinkModelError(f"{label}: {path} cannot be read as {suffix[1:]} ({first})") from None
    finally:
        con.close()
    table = table.read_all() if hasattr(table, "read_all") else table
    for model_name, file_name in rename.items():
        if file_name not in table.column_names:
            raise LinkModelError(
                f"{label}: --map {model_name}={file_name}: no column {file_name!r}; columns: "
                f"{', '.join(table.column_names)}"
            )
    # A copy, not a rename: the file's column may be read under its own name too (an id that is also a number).
    for model_name, file_name in rename.items():
        column = table[file_name]
        if model_name in table.column_names:
            table = table.set_column(table.column_names.index(model_name), model_name, column)
        else:
            table = table.append_column(model_name, column)
    return table


def link_tables(
    left: pa.Table, right: pa.Table, model: LinkModel, out: Path, *, threshold: float | None = None
) -> LinkSummary:
    """Link ``left`` and ``right`` with ``model``; write the pairs to ``out`` (.parquet or .csv)."""
    from splink import DuckDBAPI, Linker

    if out.suffix.lower() not in (".parquet", ".csv"):
        raise LinkModelError(f"--out {out}: give a .parquet or .csv file")
    threshold = model.review if threshold is None else threshold
    started = time.perf_counter()
    stages: dict[str, float] = {}
    con = duckdb.connect(":memory:")
    try:
        sides = [
            prepare_side(con, "sc_left", left, model, "LEFT"),
            prepare_side(con, "sc_right", right, model, "RIGHT"),
        ]
        stages["prepare"] = time.perf_counter() - started
        if not left.num_rows or not right.num_rows:
            raise LinkModelError(f"{'LEFT' if not left.num_rows else 'RIGHT'}: the table has no rows")
        db = DuckDBAPI(con)
        frames = [
            db.register("sc_left", dataset_display_name="left"),
            db.register("sc_right", dataset_display_name="right"),
        ]
        linker = Linker(
            frames,
            splink_settings(model),
            log_level=logging.ERROR,
        )
        t = time.perf_counter()
        training = train(
            linker,
            model,
            left.num_rows,
            right.num_rows,
            u_max_pairs=model.u_max_pairs,
            em_max_pairs=model.em_max_pairs,
            seed=model.seed,
        )
        stages["train"] = time.perf_counter() - t
        t = time.perf_counter()
        compared = _pairs_compared(frames, model)
        predictions = linker.inference.predict(threshold_match_probability=threshold)
        stages["predict"] = time.perf_counter() - t
        table = _pairs(con, predictions.physical_name, model, threshold)
        written = table.num_rows
        links = sum(1 for x in table["link"].to_pylist() if x)
        _write(table, out)
    finally:
        con.close()
    return LinkSummary(sides, compared, written, links, time.perf_counter() - started, training, threshold, out, stages)


def _pairs_compared(frames: list[Any], model: LinkModel) -> int:
    """The pairs the blocking rules bring together (each pair once), counted exactly by Splink."""
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    from socialcredit.regions.linkmodel import block_rule

    records = count_comparisons_from_blocking_rules(
        frames,
        blocking_rules=[block_rule(r) for r in model.blocking],
        link_type="link_only",
        record_sample_proportion=1.0,
    )
    return int(records[-1]["cumulative_comparison_count"]) if records else 0


def _pairs(con: duckdb.DuckDBPyConnection, predictions: str, model: LinkModel, threshold: float) -> pa.Table:
    beyond, evidence = decision_sql_parts(model)
    one_to_one = "AND pos_l = 1 AND pos_r = 1" if model.one_to_one else ""
    return con.execute(
        f"""
        WITH p AS (
            SELECT CASE WHEN source_dataset_l = 'left' THEN unique_id_l ELSE unique_id_r END AS left_id,
                   CASE WHEN source_dataset_l = 'left' THEN unique_id_r ELSE unique_id_l END AS right_id,
                   match_probability, match_weight, {beyond} AS evidence_ok, {evidence} AS agreed
            FROM {predictions} WHERE match_probability >= $threshold
        ), r AS (
            SELECT *,
                   row_number() OVER (PARTITION BY left_id ORDER BY match_probability DESC, right_id) AS pos_l,
                   row_number() OVER (PARTITION BY right_id ORDER BY match_probability DESC, left_id) AS pos_r
            FROM p
        )
        SELECT left_id, right_id, match_probability, match_weight, agreed,
               coalesce(match_probability >= $link AND evidence_ok {one_to_one}, false) AS link
        FROM r ORDER BY left_id, match_probability DESC, right_id
        """,
        {"threshold": threshold, "link": model.link},
    ).to_arrow_table()


def _write(table: pa.Table, out: Path) -> None:
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    if out.suffix.lower() == ".parquet":
        pq.write_table(table, out)
    else:
        pcsv.write_csv(table, out)


def map_columns(values: list[str]) -> dict[str, str]:
    out = {}
    for v in values:
        model_name, sep, file_name = v.partition("=")
        if not sep or not model_name or not file_name:
            raise LinkModelError(f"--map {v!r}: write MODEL_COLUMN=FILE_COLUMN, e.g. --map birth_date=dob")
        out[model_name] = file_name
    return out
