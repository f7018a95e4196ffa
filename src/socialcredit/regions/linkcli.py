"""``socialcredit link``'s command line (docs/linkage.md): its options here, the work in ``linktables``, imported when
the command runs, so that the console script starts without pyarrow, Splink's settings and the linkage model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["link_command"]


def link_command(
    left: Annotated[Path, typer.Argument(help="The left table: a .csv (read as text) or .parquet file.")],
    right: Annotated[Path, typer.Argument(help="The right table: a .csv or .parquet file.")],
    out: Annotated[
        Path, typer.Option("--out", metavar="FILE", help="Where to write the pairs: a .parquet or .csv file.")
    ],
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            metavar="FILE",
            help="The linkage model (YAML; docs/linkage.md; default: the shipped model for resident numbers and "
            "Chinese names).",
        ),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold",
            min=0.0,
            max=1.0,
            help="Write pairs at or above this probability (default: the model's review threshold).",
        ),
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            metavar="MODEL_COLUMN=FILE_COLUMN",
            help="An input column the model reads, as both files name it (repeatable), e.g. birth_date=dob.",
        ),
    ] = None,
    left_map: Annotated[
        list[str] | None,
        typer.Option("--left-map", metavar="MODEL_COLUMN=FILE_COLUMN", help="As --map, for the left table only."),
    ] = None,
    right_map: Annotated[
        list[str] | None,
        typer.Option("--right-map", metavar="MODEL_COLUMN=FILE_COLUMN", help="As --map, for the right table only."),
    ] = None,
) -> None:
    """Link two tables with a linkage model and write the pairs with their match probabilities."""
    from socialcredit.regions.linkmodel import DEFAULT_MODEL, load_model
    from socialcredit.regions.linktables import link_tables, map_columns, read_table

    linkage_model = load_model(model or DEFAULT_MODEL)
    both = map_columns(map_ or [])
    tables = [
        read_table(left, "LEFT", both | map_columns(left_map or [])),
        read_table(right, "RIGHT", both | map_columns(right_map or [])),
    ]
    summary = link_tables(tables[0], tables[1], linkage_model, out, threshold=threshold)
    summary.sides[0].label = f"LEFT {left}"
    summary.sides[1].label = f"RIGHT {right}"
    for line in summary.lines(linkage_model):
        typer.echo(line)
