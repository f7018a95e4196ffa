"""Synthetic regions for tests and benchmarks: residents of several regions, people who moved between them, and
records whose identities carry the errors that real furnishers make. Everything written here includes the ground
truth of who is who; it is for tests and benchmarks only, never for a real registry.

Two products:

* ``generate_regions`` writes one folder per region (subjects and a few sources' records, ready for ``ingest``)
  plus ``truth.csv``: each mover, the region they came from and went to, their number in each, and the error
  their registration in the new region carries.
* ``generate_linkage`` writes a region's residents and a file of incoming identities to link against them
  (``benchmarks/linkage.py``), plus the true subject of each incoming identity (or none).

The identity errors (docs/regions.md gives the shares): a missing identity number, one digit mistyped, two
adjacent digits transposed, the name written in pinyin, variant characters (張 for 张), a changed phone, and the
address of the new home. Numbers registered in a region stay valid (a clerk's typo that passed the check
character: the check character is recomputed), while incoming records may carry invalid ones.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from socialcredit.identifiers import ric_check_char
from socialcredit.regions.names import VARIANTS

__all__ = ["REGIONS", "LinkageFiles", "Region", "generate_linkage", "generate_regions"]

NDArray = np.ndarray[Any, Any]
AS_OF = dt.date(2026, 11, 1)


@dataclass(frozen=True)
class Region:
    code: str
    name_zh: str
    name_en: str
    county_codes: tuple[str, ...]  # birthplace codes valid for every birth year


REGIONS = {
    "110000": Region("110000", "北京", "Beijing", ("110101", "110102", "110105", "110106", "110107", "110108")),
    "120000": Region("120000", "天津", "Tianjin", ("120101", "120102", "120103", "120104", "120105", "120106")),
    "130000": Region("130000", "河北", "Hebei", ("130102", "130104", "130203", "130602", "131002", "130702")),
}
# Incoming identities (generate_linkage): the share of each error, drawn independently per field.
ID_ERRORS = {"correct": 0.60, "missing": 0.20, "mistyped": 0.12, "transposed": 0.08}
NAME_ERRORS = {"same": 0.88, "pinyin": 0.05, "variant": 0.05, "typo": 0.02}
BIRTH_TYPO = 0.02  # one digit of the stated birth date mistyped
PHONE = {"same": 0.45, "changed": 0.10, "missing": 0.45}
MOVED_ADDRESS = 0.6
NAMESAKE_SHARE = 0.25  # incoming strangers who share a resident's name and sex (the hard non-matches)
# Movers registered in a new region (generate_regions): the error their new registration carries.
MOVER_ERRORS = ["transposed", "mistyped", "pinyin", "variant", "none"]


def _parts() -> tuple[list[str], NDArray, list[str], list[str]]:
    from socialcredit.generate import _name_parts

    return _name_parts()


def _people(rng: np.random.Generator, n: int, region: Region, parts: Any) -> dict[str, Any]:
    """``n`` adult residents of ``region``: identity number, name, sex, birth date, phone, address."""
    from socialcredit.generate import _names, _ric_body, _ric_strings, _unique_bodies

    age_days = rng.integers(18 * 365, 90 * 365, n)
    birth = (np.datetime64(AS_OF) - age_days.astype("timedelta64[D]")).astype("datetime64[D]")
    male = rng.random(n) < 0.51
    seq = rng.integers(0, 500, n) * 2 + male
    codes = np.array([int(c) for c in region.county_codes])[rng.integers(0, len(region.county_codes), n)]
    body = _unique_bodies(_ric_body(codes, birth, seq), np.empty(0, dtype=np.int64))
    streets = np.array(parts[3])
    address = pc.binary_join_element_wise(
        pa.array([region.name_zh + "市"] * n),
        _names(rng, n, parts),
        pa.array(streets[rng.integers(0, len(streets), n)]),
        pa.array(rng.integers(1, 300, n).astype(str)),
        pa.array(["号"] * n),
        "",
    )
    phone = np.char.add("1", np.char.zfill(rng.integers(3_000_000_000, 9_999_999_999, n).astype(str), 10))
    return {
        "body": body,
        "subject_id": np.array(_ric_strings(body).to_pylist(), dtype=object),
        "name": np.array(_names(rng, n, parts).to_pylist(), dtype=object),
        "sex": np.where(male, "M", "F"),
        "birth_date": birth,
        "phone": phone.astype(object),
        "address": np.array(address.to_pylist(), dtype=object),
    }


def mistype(number: str, rng: np.random.Generator, *, keep_valid: bool, transpose: bool) -> str:
    """``number`` with one digit replaced (or two adjacent digits swapped) among its first 17.

    With ``keep_valid`` the change stays in the sequence digits (15-16, so birth date and sex are kept) and the
    check character is recomputed: a typo that the check character did not catch.
    """
    digits = list(number[:17])
    lo, hi = (14, 16) if keep_valid else (0, 17)
    for _ in range(20):
        if transpose:
            i = int(rng.integers(lo, hi - 1))
            if digits[i] == digits[i + 1]:
                continue
            digits[i], digits[i + 1] = digits[i + 1], digits[i]
        else:
            i = int(rng.integers(lo, hi))
            digits[i] = str((int(digits[i]) + int(rng.integers(1, 10))) % 10)
        break
    first17 = "".join(digits)
    check = ric_check_char(first17) if keep_valid else number[17]
    return first17 + check


def to_pinyin(name: str) -> str:
    """How a name is written in Latin letters on a form: "Zhang Wei"."""
    from pypinyin import lazy_pinyin

    syllables = lazy_pinyin(name)
    return " ".join(s for s in (syllables[0].capitalize(), "".join(syllables[1:]).capitalize()) if s)


def to_variant(name: str) -> str:
    return "".join(VARIANTS.get(c, c) for c in name)


def _name_typo(name: str, rng: np.random.Generator, given: list[str]) -> str:
    if len(name) < 2:
        return name
    i = int(rng.integers(1, len(name)))
    return name[:i] + given[int(rng.integers(0, len(given)))][0] + name[i + 1 :]


def _shift_date(d: np.datetime64, rng: np.random.Generator) -> np.datetime64:
    """A birth date with one digit of its day or month mistyped (always a real date)."""
    day = dt.date.fromisoformat(str(d))
    for _ in range(20):
        text = day.strftime("%Y%m%d")
        i = int(rng.integers(4, 8))
        changed = text[:i] + str(int(rng.integers(0, 10))) + text[i + 1 :]
        try:
            new = dt.datetime.strptime(changed, "%Y%m%d").date()
        except ValueError:
            continue
        if new != day:
            return np.datetime64(new)
    return np.datetime64(day + dt.timedelta(days=1))


@dataclass(frozen=True)
class LinkageFiles:
    residents: Path
    incoming: Path
    truth: Path
    n_residents: int
    n_incoming: int


def generate_linkage(
    out: Path | str, *, residents: int, incoming: int, match_share: float = 0.8, seed: int = 0
) -> LinkageFiles:
    """A region of ``residents`` people and ``incoming`` identities from other regions' records to link to them.

    A share ``match_share`` of the incoming identities are residents (each at most once), written with the errors
    of ``ID_ERRORS``, ``NAME_ERRORS``, ``PHONE`` and ``MOVED_ADDRESS``; the rest are strangers, a quarter of them
    namesakes of a resident. Files (Parquet): residents, incoming, truth (incoming_key, subject_id or null).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    parts = _parts()
    region = REGIONS["120000"]
    people = _people(rng, residents, region, parts)
    has_phone = rng.random(residents) < 0.7
    pq.write_table(
        pa.table(
            {
                "subject_id": pa.array(people["subject_id"], pa.string()),
                "name": pa.array(people["name"], pa.string()),
                "sex": pa.array(people["sex"], pa.string()),
                "birth_date": pa.array(people["birth_date"]),
                "phone": pa.array(np.where(has_phone, people["phone"], None), pa.string()),
                "address": pa.array(people["address"], pa.string()),
            }
        ),
        out / "residents.parquet",
    )
    n_match = min(residents, round(incoming * match_share))
    n_strange = incoming - n_match
    who = rng.permutation(residents)[:n_match]
    strangers = _people(rng, n_strange, REGIONS["130000"], parts)
    # Namesakes: a resident's name and sex, someone else's number, birth date and phone.
    namesake = rng.random(n_strange) < NAMESAKE_SHARE
    twin = rng.integers(0, residents, n_strange)
    strangers["name"][namesake] = people["name"][twin[namesake]]
    strangers["sex"][namesake] = people["sex"][twin[namesake]]

    ids = np.concatenate([people["subject_id"][who], strangers["subject_id"]])
    names = np.concatenate([people["name"][who], strangers["name"]])
    sex = np.concatenate([people["sex"][who], strangers["sex"]])
    birth = np.concatenate([people["birth_date"][who], strangers["birth_date"]])
    phone = np.concatenate([people["phone"][who], strangers["phone"]])
    moved = np.concatenate([rng.random(n_match) < MOVED_ADDRESS, np.ones(n_strange, dtype=bool)])
    address = np.concatenate([people["address"][who], strangers["address"]])
    other_address = _people(rng, incoming, REGIONS["110000"], parts)["address"]
    address = np.where(moved, other_address, address)
    kinds = list(ID_ERRORS)
    id_error = np.array(kinds)[rng.choice(len(kinds), incoming, p=list(ID_ERRORS.values()))]
    name_kinds = list(NAME_ERRORS)
    name_error = np.array(name_kinds)[rng.choice(len(name_kinds), incoming, p=list(NAME_ERRORS.values()))]
    phone_kinds = list(PHONE)
    phone_error = np.array(phone_kinds)[rng.choice(len(phone_kinds), incoming, p=list(PHONE.values()))]
    ids = ids.copy()
    for i in np.flatnonzero((id_error == "mistyped") | (id_error == "transposed")):
        ids[i] = mistype(ids[i], rng, keep_valid=False, transpose=id_error[i] == "transposed")
    ids[id_error == "missing"] = None
    names = names.copy()
    given = parts[2]
    for i in np.flatnonzero(name_error != "same"):
        kind = name_error[i]
        names[i] = (
            to_pinyin(names[i])
            if kind == "pinyin"
            else to_variant(names[i])
            if kind == "variant"
            else _name_typo(names[i], rng, given)
        )
    birth = birth.copy()
    for i in np.flatnonzero(rng.random(incoming) < BIRTH_TYPO):
        birth[i] = _shift_date(birth[i], rng)
    fresh_phone = _people(rng, incoming, REGIONS["130000"], parts)["phone"]
    phone = np.where(phone_error == "changed", fresh_phone, phone)
    phone[phone_error == "missing"] = None
    order = rng.permutation(incoming)
    keys = np.array([f"in{i:08d}" for i in range(incoming)], dtype=object)
    truth_subject = np.concatenate([people["subject_id"][who], np.full(n_strange, None, dtype=object)])
    pq.write_table(
        pa.table(
            {
                "incoming_key": pa.array(keys, pa.string()),
                "subject_id": pa.array(ids[order], pa.string()),
                "name": pa.array(names[order], pa.string()),
                "sex": pa.array(sex[order], pa.string()),
                "birth_date": pa.array(birth[order]),
                "phone": pa.array(phone[order], pa.string()),
                "address": pa.array(address[order], pa.string()),
            }
        ),
        out / "incoming.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "incoming_key": pa.array(keys, pa.string()),
                "true_subject_id": pa.array(truth_subject[order], pa.string()),
                "id_error": pa.array(id_error[order], pa.string()),
                "name_error": pa.array(name_error[order], pa.string()),
                "phone_error": pa.array(phone_error[order], pa.string()),
                "namesake": pa.array(np.concatenate([np.zeros(n_match, dtype=bool), namesake])[order]),
            }
        ),
        out / "truth.parquet",
    )
    return LinkageFiles(out / "residents.parquet", out / "incoming.parquet", out / "truth.parquet", residents, incoming)


@dataclass(frozen=True)
class RegionsSummary:
    out: Path
    residents: dict[str, int]
    movers: list[dict[str, str]]


def generate_regions(
    out: Path | str,
    *,
    residents: int = 150,
    regions: tuple[str, ...] = ("110000", "120000", "130000"),
    movers: int = 12,
    seed: int = 0,
) -> RegionsSummary:
    """One folder per region (``subjects.csv``, ``records/<source>.csv``) and ``truth.csv`` of the movers.

    Each region's residents pay taxes (tax_bureau); one in ten has a court judgment, and the defaulters among
    them are unfulfilled (they land on the blacklist). ``movers`` residents register again in another region,
    half of them defaulters. The first mover always goes from the first region to the second, is a defaulter,
    and is registered there under a number with two digits transposed.
    """
    out = Path(out)
    rng = np.random.default_rng(seed)
    parts = _parts()
    pop = {code: _people(rng, residents, REGIONS[code], parts) for code in regions}
    defaulter = {code: rng.random(residents) < 0.05 for code in regions}
    registered: dict[str, list[dict[str, str]]] = {}
    for code in regions:
        p = pop[code]
        registered[code] = [
            {
                "subject_id": p["subject_id"][i],
                "name": p["name"][i],
                "address": p["address"][i],
                "phone": p["phone"][i],
            }
            for i in range(residents)
        ]
    truth: list[dict[str, str]] = []
    for m in range(movers):
        if m == 0 and len(regions) > 1:
            src, dst, kind = regions[0], regions[1], "transposed"
        else:
            src, dst = (str(c) for c in rng.choice(regions, 2, replace=False))
            kind = str(rng.choice(MOVER_ERRORS))
        i = int(rng.integers(0, residents))
        while any(t["from"] == src and t["index"] == str(i) for t in truth):
            i = (i + 1) % residents
        if m == 0 or rng.random() < 0.5:
            defaulter[src][i] = True
        person = pop[src]
        number, name = str(person["subject_id"][i]), str(person["name"][i])
        if kind in ("transposed", "mistyped"):
            new_number = mistype(number, rng, keep_valid=True, transpose=kind == "transposed")
        else:
            new_number = number
        new_name = to_pinyin(name) if kind == "pinyin" else to_variant(name) if kind == "variant" else name
        new_address = str(_people(rng, 1, REGIONS[dst], parts)["address"][0])
        registered[dst].append(
            {"subject_id": new_number, "name": new_name, "address": new_address, "phone": str(person["phone"][i])}
        )
        truth.append(
            {
                "index": str(i),
                "from": src,
                "to": dst,
                "error": kind,
                "subject_id_from": number,
                "subject_id_to": new_number,
                "name_from": name,
                "name_to": new_name,
                "defaulter": str(bool(defaulter[src][i])).lower(),
            }
        )
    for code in regions:
        folder = out / code
        (folder / "records").mkdir(parents=True, exist_ok=True)
        _write_csv(folder / "subjects.csv", registered[code])
        p = pop[code]
        taxes, judgments = [], []
        for i in range(residents):
            sid = str(p["subject_id"][i])
            for year in (2024, 2025):
                taxes.append(
                    {
                        "record_id": f"T{code}-{i}-{year}",
                        "subject_id": sid,
                        "record_type": "tax_payment",
                        "event_date": f"{year}-05-31",
                        "amount": str(int(rng.integers(1000, 50000))),
                        "status": "paid",
                    }
                )
            if defaulter[code][i] or rng.random() < 0.05:
                judgments.append(
                    {
                        "record_id": f"J{code}-{i}",
                        "subject_id": sid,
                        "record_type": "court_judgment",
                        "event_date": "2026-03-15",
                        "case_type": "civil",
                        "amount": str(int(rng.integers(10000, 500000))),
                        "status": "unfulfilled" if defaulter[code][i] else "fulfilled",
                        "defaulter": "true" if defaulter[code][i] else "false",
                    }
                )
        _write_csv(folder / "records" / "tax_bureau.csv", taxes)
        _write_csv(folder / "records" / "courts.csv", judgments)
    for t in truth:
        del t["index"]
    _write_csv(out / "truth.csv", truth)
    return RegionsSummary(out, {c: len(registered[c]) for c in regions}, truth)


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["record_id"])
        writer.writeheader()
        writer.writerows(rows)
