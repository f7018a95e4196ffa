"""Two real regions for due-process tests: Beijing and Tianjin stores built from the regions generator, each trusting
the other, with the shipped Beijing policy under each region's own id sharing court judgments and the blacklist."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from socialcredit.policy import builtin_policy
from socialcredit.regions import export_bundle, import_bundle, set_region, trust_publisher
from socialcredit.regions.bundle import load_private_key, new_private_key, public_key_text, seal_bundle
from socialcredit.regions.generate import REGIONS, generate_regions
from socialcredit.registry.decisions.decide import decide
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import score
from socialcredit.store import Store, open_store
from store_copies import copied

EXCHANGE = "\nexchange:\n  shareable_record_types: [court_judgment]\n  lists: [blacklist]\n"
BEIJING, TIANJIN = "110000", "120000"


def region_policy(code: str) -> str:
    """The shipped Beijing policy under the region's own id, sharing court judgments and the blacklist."""
    pid = REGIONS[code].name_en.lower()
    text = builtin_policy("beijing").text.replace("id: beijing\n", f"id: {pid}\n", 1)
    return text + EXCHANGE


@dataclass
class Regions:
    folder: Path
    stores: dict[str, Store]
    keys: dict[str, Path]
    movers: list[dict[str, str]]
    exported: dict[str, int] = field(default_factory=dict)

    def policy(self, code: str) -> str:
        return REGIONS[code].name_en.lower()

    def score(self, code: str, on: dt.date) -> None:
        store = self.stores[code]
        # a run of its day, on the registry's clock of that day (one dated after today is a what-if, not in force)
        score(store, resolve_policy(store, str(self.folder / f"{self.policy(code)}.yaml")), on, today=on)

    def rail(self, code: str, subject_id: str) -> bool:
        return decide(self.stores[code], subject_id, "high_speed_rail", "ticket purchase").granted

    def export(self, code: str) -> Path:
        """Export ``code``'s next bundle; returns its path."""
        n = self.exported.get(code, 0) + 1
        self.exported[code] = n
        path = self.folder / f"{code}-{n}.json"
        export_bundle(self.stores[code], self.policy(code), self.keys[code], path)
        return path

    def send(self, origin: str, to: str) -> Any:
        """Export ``origin``'s next bundle and import it into ``to``."""
        return import_bundle(self.stores[to], self.export(origin))

    def reseal(self, path: Path, code: str, change: Any) -> Path:
        """A copy of bundle ``path`` with its payload changed by ``change`` and signed again with ``code``'s key."""
        envelope = json.loads(path.read_bytes())
        payload = json.loads(base64.b64decode(envelope["payload"]))
        change(payload)
        out = path.with_name(path.stem + "-changed.json")
        out.write_bytes(seal_bundle(payload, load_private_key(self.keys[code])))
        return out

    def judgment(self, mover: dict[str, str]) -> dict[str, str]:
        """The mover's court judgment row in Beijing's courts file."""
        with (self.folder / "data" / BEIJING / "records" / "courts.csv").open(encoding="utf-8") as fh:
            rows = [r for r in csv.DictReader(fh) if r["subject_id"] == mover["subject_id_from"]]
        assert len(rows) == 1, rows
        return rows[0]

    def close(self) -> None:
        for store in self.stores.values():
            store.close()


def build_regions(folder: Path, *, as_of: dt.date, residents: int = 60, movers: int = 4, seed: int = 5) -> Regions:
    """Beijing and Tianjin, each ingested and scored at ``as_of``; nothing exchanged yet (built once per process for
    each set of arguments, and copied: see regions_copied)."""
    return regions_copied(
        folder,
        f"regions-{as_of}-{residents}-{movers}-{seed}",
        lambda where: _build_regions(where, as_of, residents, movers, seed),
    )


# What Regions holds besides its folder's files, of each world regions_copied built, by its name.
_MADE: dict[str, tuple[list[dict[str, str]], dict[str, int]]] = {}


def regions_copied(folder: Path, name: str, build: Callable[[Path], Regions]) -> Regions:
    """The two regions ``build`` makes in the folder it is given, built once per process for each ``name``, closed,
    and copied into ``folder`` (see store_copies.copied): every caller gets the same stores, its own, opened."""

    def made(where: Path) -> None:
        world = build(where)
        _MADE[name] = (world.movers, world.exported)
        world.close()

    copied(folder, f"regions-{name}", made)
    movers, exported = _MADE[name]
    codes = (BEIJING, TIANJIN)
    stores = {code: open_store(folder / f"{code}.duckdb", key="") for code in codes}
    keys = {code: folder / f"{code}.key" for code in codes}
    return Regions(folder, stores, keys, [dict(m) for m in movers], dict(exported))


def _build_regions(folder: Path, as_of: dt.date, residents: int, movers: int, seed: int) -> Regions:
    codes = (BEIJING, TIANJIN)
    summary = generate_regions(folder / "data", residents=residents, movers=movers, seed=seed, regions=codes)
    stores: dict[str, Store] = {}
    keys: dict[str, Path] = {}
    for code in codes:
        region = REGIONS[code]
        store = open_store(folder / f"{code}.duckdb", create=True, key="")
        set_region(store, code, region.name_en)
        data = folder / "data" / code
        ingest_file(store, data / "subjects.csv", "civil_affairs", today=as_of)
        for source in ("tax_bureau", "courts"):
            ingest_file(store, data / "records" / f"{source}.csv", source, today=as_of)
        policy = folder / f"{region.name_en.lower()}.yaml"
        policy.write_text(region_policy(code), encoding="utf-8")
        score(store, resolve_policy(store, str(policy)), as_of, today=as_of)  # a run of its day
        keys[code] = folder / f"{code}.key"
        keys[code].write_bytes(new_private_key())
        keys[code].chmod(0o600)  # a private key file is its owner's only (as `region keygen` writes it)
        stores[code] = store
    for code, store in stores.items():
        for other in codes:
            if other != code:
                trust_publisher(store, other, REGIONS[other].name_en, public_key_text(load_private_key(keys[other])))
    return Regions(folder, stores, keys, summary.movers)
