"""A region import says which identifiers did not fit the linkage model (count, three masked examples), on its
summary line and in its ``region_import`` audit entry; and the link/review thresholds come from the model file."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from region_helpers import BEIJING, TIANJIN, Regions, build_regions
from socialcredit.regions import import_bundle
from socialcredit.regions.linkage import LinkOptions, default_model

CLI = str(Path(sys.executable).parent / "socialcredit")
STRANGERS = ["P12345678", "E987654321AB", "X11010519491001001Z", "G0000000000"]


@pytest.fixture
def regions(tmp_path: Path) -> Iterator[Regions]:
    world = build_regions(tmp_path, as_of=dt.date(2026, 11, 1))
    yield world
    world.close()


def _with_strangers(payload: dict[str, Any]) -> None:
    """Four visitors whose numbers are not resident identity numbers (passports, permits)."""
    for i, number in enumerate(STRANGERS):
        payload["identities"].append(
            {
                "subject_id": number,
                "name": f"Visitor {i}",
                "sex": "F",
                "birth_date": "1990-01-0" + str(i + 1),
                "phone": None,
                "address": None,
            }
        )


def test_the_thresholds_come_from_the_model_file() -> None:
    assert (LinkOptions().threshold, LinkOptions().review_floor) == (None, None)
    model = default_model()
    assert (model.link, model.review) == (0.99, 0.5)


@pytest.mark.slow  # two regions built and linked: about 10 s
def test_identifiers_not_fitting_the_model_are_reported_masked_on_the_summary_and_in_the_audit(
    regions: Regions,
) -> None:
    bundle = regions.reseal(regions.export(BEIJING), BEIJING, _with_strangers)
    for store in regions.stores.values():
        store.close()
    tianjin = regions.folder / f"{TIANJIN}.duckdb"
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_TODAY")}
    done = subprocess.run(
        [CLI, "region", "import", str(bundle), "--db", str(tianjin)],
        capture_output=True,
        text=True,
        env=env | {"COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Imported bundle 110000#1: ")
    assert lines[1] == (
        "Linkage: 4 subject_id value(s) of the bundle not matching the pattern '[0-9]{17}[0-9X]' (not compared), "
        "e.g. *********, E98765**21AB, X11010*********001Z."
    )
    from socialcredit.store import open_store

    with open_store(tianjin) as store:
        detail = json.loads(store.one("SELECT detail FROM audit_log WHERE action = 'region_import'"))
    assert detail["linkage_misfits"] == [
        {
            "side": "bundle",
            "column": "idn",
            "field": "subject_id",
            "what": "not matching the pattern '[0-9]{17}[0-9X]'",
            "count": 4,
            "examples": ["*********", "E98765**21AB", "X11010*********001Z"],
            "action": "not compared",
        }
    ]


@pytest.mark.slow  # two regions built and linked: about 10 s
def test_a_bundle_whose_identifiers_all_fit_reports_none(regions: Regions) -> None:
    result = import_bundle(regions.stores[TIANJIN], regions.export(BEIJING))
    assert result.misfits == []
    detail = json.loads(regions.stores[TIANJIN].one("SELECT detail FROM audit_log WHERE action = 'region_import'"))
    assert "linkage_misfits" not in detail
