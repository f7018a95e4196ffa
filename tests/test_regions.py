"""Regions: signed bundles (refused when tampered, replayed or wrongly signed), identity links with Splink, alerts,
and the three-region story of a defaulter who moves from Beijing to Tianjin under a mistyped number."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from socialcredit.example import AS_OF
from socialcredit.policy import builtin_policy
from socialcredit.regions import (
    export_bundle,
    import_bundle,
    list_alerts,
    set_region,
    trust_publisher,
)
from socialcredit.regions.bundle import new_private_key, public_key_text
from socialcredit.regions.generate import REGIONS, generate_regions
from socialcredit.registry.decide import decide
from socialcredit.registry.ingest import ingest_file
from socialcredit.registry.policies import resolve_policy
from socialcredit.registry.report import subject_report
from socialcredit.registry.score import score
from socialcredit.store import Store, open_store

EXCHANGE = "\nexchange:\n  shareable_record_types: [court_judgment]\n  lists: [blacklist]\n"


def region_policy(code: str) -> str:
    """The shipped Beijing policy under the region's own id, sharing court judgments and the blacklist."""
    pid = REGIONS[code].name_en.lower()
    text = builtin_policy("beijing").text.replace("id: beijing\n", f"id: {pid}\n", 1)
    return text + EXCHANGE


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("regions")
    summary = generate_regions(folder / "data", residents=120, movers=10, seed=5)
    stores: dict[str, Store] = {}
    keys: dict[str, Path] = {}
    for code, region in REGIONS.items():
        store = open_store(folder / f"{code}.duckdb", create=True, key="")
        set_region(store, code, region.name_en)
        data = folder / "data" / code
        ingest_file(store, data / "subjects.csv", "civil_affairs", today=AS_OF)
        for source in ("tax_bureau", "courts"):
            ingest_file(store, data / "records" / f"{source}.csv", source, today=AS_OF)
        policy = folder / f"{region.name_en.lower()}.yaml"
        policy.write_text(region_policy(code), encoding="utf-8")
        score(store, resolve_policy(store, str(policy)), AS_OF)
        keys[code] = folder / f"{code}.key"
        keys[code].write_bytes(new_private_key())
        stores[code] = store
    from socialcredit.regions.bundle import load_private_key

    for code, store in stores.items():
        for other in stores:
            if other != code:
                trust_publisher(store, other, REGIONS[other].name_en, public_key_text(load_private_key(keys[other])))
    yield {"folder": folder, "stores": stores, "keys": keys, "movers": summary.movers}
    for store in stores.values():
        store.close()


def test_a_defaulter_who_moves_under_a_mistyped_number_is_linked_refused_and_alerted(world: dict[str, Any]) -> None:
    beijing, tianjin = world["stores"]["110000"], world["stores"]["120000"]
    mover = world["movers"][0]
    assert (mover["from"], mover["to"], mover["error"], mover["defaulter"]) == (
        "110000",
        "120000",
        "transposed",
        "true",
    )
    assert mover["subject_id_to"] != mover["subject_id_from"]
    # Before the exchange Tianjin knows nothing against him.
    assert decide(tianjin, mover["subject_id_to"], "high_speed_rail", "ticket purchase").granted
    bundle = world["folder"] / "beijing-1.json"
    exported = export_bundle(beijing, "beijing", world["keys"]["110000"], bundle)
    assert exported.sequence == 1 and exported.list_entries >= 1
    result = import_bundle(tianjin, bundle)
    assert result.publisher == "110000" and result.linked >= 1
    link = tianjin.rows(
        "SELECT status, subject_id, probability, evidence FROM region_identities WHERE origin_subject_id = ?",
        [mover["subject_id_from"]],
    )[0]
    assert link["status"] == "linked" and link["subject_id"] == mover["subject_id_to"]
    assert link["probability"] >= 0.99 and "id~" in link["evidence"]
    score(tianjin, resolve_policy(tianjin, "tianjin"), AS_OF)
    d = decide(tianjin, mover["subject_id_to"], "high_speed_rail", "ticket purchase", requester="railway")
    assert not d.granted
    assert d.reasons[0].code == "LIST_JUDGMENT_DEFAULTER"
    assert d.reasons[0].text == "judgment defaulter: court judgment recorded in Beijing (110000)"
    assert decide(tianjin, mover["subject_id_to"], "high_speed_rail", "购票", lang="zh").reasons[0].text == (
        "失信被执行人：Beijing (110000)记录的法院判决"
    )
    alerts = [a for a in list_alerts(tianjin) if a["subject_id"] == mover["subject_id_to"]]
    assert [a["trigger"] for a in alerts] == ["link", "decision"]
    evidence = alerts[0]["evidence"]
    assert evidence["origin"] == "Beijing (110000)"
    assert evidence["origin_subject_id"] == mover["subject_id_from"]
    assert (evidence["list"], evidence["criterion"], evidence["reason"]) == (
        "blacklist",
        "judgment_defaulter",
        "judgment defaulter",
    )
    assert evidence["record_id"] == f"courts/J110000-{_index(world, mover)}"
    assert alerts[1]["evidence"]["service"] == "high_speed_rail" and alerts[1]["evidence"]["requester"] == "railway"
    # The resident's own file shows where the record was recorded.
    report = subject_report(tianjin, mover["subject_id_to"])
    origins = {r["record_id"]: r["origin"] for r in report["records"]}
    assert origins[f"110000/J110000-{_index(world, mover)}"] == "Beijing (110000)"


def _index(world: dict[str, Any], mover: dict[str, str]) -> str:
    with (world["folder"] / "data" / "110000" / "subjects.csv").open(encoding="utf-8") as fh:
        ids = [row["subject_id"] for row in csv.DictReader(fh)]
    return str(ids.index(mover["subject_id_from"]))
