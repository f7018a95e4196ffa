"""A synthetic Beijing: residents, employers and their records, drawn vectorised and written as Parquet.

Deterministic for a given seed (and chunk size). Every number that shapes the population is a named constant
below, and docs/generator.md gives its source or says it is our calibration.

Layout of the output folder::

    subjects/part-00000.parquet                  subject_id, name, district, profession, address
    records/<source>/part-00000.parquet          record_id, subject_id, record_type, event_date, <typed fields>
    consents.parquet                             subject_id, category, granted
    sources.parquet                              source_id, record_types
    truth/residents-00000.parquet                for tests and benchmarks only: sex, birth date, migrant, profile

>>> import tempfile
>>> summary = generate(1000, out=tempfile.mkdtemp(), seed=1)
>>> summary.residents, summary.records > 10000
(1000, True)
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from socialcredit.catalog import load_catalog
from socialcredit.example import districts

__all__ = ["AS_OF", "GenerateSummary", "generate", "write_outcomes"]

AS_OF = dt.date(2026, 11, 1)
Progress = Callable[[str, int, int], None]
NDArray = np.ndarray[Any, Any]

# Adult age pyramid (share of residents 18+ by 5-year band, from 18), shaped after Beijing's 2020 census:
# a bulge at 30-44 (working migrants), a long tail after 60.
AGE_BANDS = [
    (18, 24, 0.085),
    (25, 29, 0.105),
    (30, 34, 0.135),
    (35, 39, 0.120),
    (40, 44, 0.095),
    (45, 49, 0.090),
    (50, 54, 0.085),
    (55, 59, 0.075),
    (60, 64, 0.060),
    (65, 69, 0.055),
    (70, 74, 0.040),
    (75, 79, 0.025),
    (80, 89, 0.022),
    (90, 99, 0.008),
]
MIGRANT_SHARE = 0.34  # census 2020: 8.4M of 21.9M residents were registered elsewhere
CONSENT_SHARE = 0.25  # residents who opted in to commercial data while enrollment is voluntary
PROFESSIONS = {  # shares of working-age residents (our calibration after Beijing's employment mix)
    "medical": 0.035,
    "education": 0.045,
    "accounting": 0.025,
    "journalism": 0.006,
    "civil_service": 0.04,
    "manufacturing": 0.07,
    "construction": 0.06,
    "retail": 0.10,
    "hospitality": 0.07,
    "transport": 0.05,
    "information_technology": 0.09,
    "finance": 0.05,
    "agriculture": 0.01,
    "self_employed": 0.08,
    "student": 0.06,
    "unemployed": 0.04,
    "other": 0.169,
}
RETIREMENT_AGE = 60
# Behaviour profiles: the rate multiplier of negative events and the probability of each bad outcome.
PROFILES = ["model", "ordinary", "careless", "defaulter"]
PROFILE_SHARES = [0.15, 0.70, 0.14, 0.01]
BAD = np.array([0.01, 0.04, 0.25, 0.45])  # chance a payment is late/unpaid, per profile
# Records per resident per year for each record type, before profile multipliers (our calibration; about
# seven a year, so about 20 over the default three years).
RATES = {
    "tax_payment": 1.0,  # workers only: one annual settlement
    "utility_payment": 2.0,
    "loan_repayment": 4.0,  # borrowers only (BORROWER_SHARE): quarterly instalments
    "traffic_ticket": 0.25,
    "platform_repayment": 4.0,  # platform users only (PLATFORM_SHARE)
    "purchase": 3.0,  # platform users only
    "employment": 1.0,  # workers only: the current job, reported once
    "volunteering": 4.0,  # volunteers only (VOLUNTEER_SHARE)
    "blood_donation": 0.5,  # donors only (DONOR_SHARE)
    "connection_summary": 1.0,  # platform users only
    "professional_conduct": 0.15,  # the four stricter professions only
}
BORROWER_SHARE, PLATFORM_SHARE, VOLUNTEER_SHARE, DONOR_SHARE = 0.10, 0.30, 0.08, 0.04
DEGREE_SHARE, FORGED_SHARE = 0.35, 0.01
JUDGMENT_RATE = 0.005  # court judgments a year for residents outside the defaulter profile
EMPLOYERS_PER_RESIDENT = 1 / 40

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_RIC_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
_USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)
# Region-code history of Beijing's outer districts: (code, valid from, valid until) of each era, so numbers
# carry the code of the year they were first assigned (see shared reference data on the region-code trap).
_HISTORY = {
    "110111": [("110225", 1982, 1986), ("110111", 1986, 9999)],
    "110112": [("110223", 1982, 1997), ("110112", 1997, 9999)],
    "110113": [("110222", 1982, 1998), ("110113", 1998, 9999)],
    "110114": [("110221", 1982, 1999), ("110114", 1999, 9999)],
    "110115": [("110224", 1982, 2001), ("110115", 2001, 9999)],
    "110116": [("110227", 1982, 2001), ("110116", 2001, 9999)],
    "110117": [("110226", 1982, 2001), ("110117", 2001, 9999)],
    "110118": [("110228", 1982, 2015), ("110118", 2015, 9999)],
    "110119": [("110229", 1982, 2015), ("110119", 2015, 9999)],
}
FIRST_CARD_YEAR = 1984  # identity cards were first issued from 1984; older residents got the code of then


@dataclass
class GenerateSummary:
    out: Path
    residents: int
    organisations: int
    records: int
    by_type: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _name_parts() -> tuple[list[str], NDArray, list[str], list[str]]:
    from faker.providers.address.zh_CN import Provider as Address
    from faker.providers.person.zh_CN import Provider as Person

    surnames = list(Person.last_names)
    weights = np.array(list(Person.last_names.values()), dtype=np.float64)
    return surnames, weights / weights.sum(), list(Person.first_names), [str(s) for s in Address.street_suffixes]


def _migrant_codes() -> list[str]:
    """County-level codes of other provinces that have never changed (valid for any birth year)."""
    text = resources.files("stdnum.cn").joinpath("loc.dat").read_text("utf-8")
    codes, province = [], ""
    for line in text.splitlines():
        if m := re.match(r"^(\d\d) province=", line):
            province = m.group(1)
        elif (
            (m := re.match(r"^  (\d{4}) county=\"([^\[\"]+)\"", line))
            and province not in ("", "11")
            and not m.group(1).endswith("00")
        ):
            codes.append(province + m.group(1))
    return codes


def _ric_body(region: NDArray, birth: NDArray, seq: NDArray) -> NDArray:
    """The first 17 digits of identity numbers as integers: region, YYYYMMDD, sequence."""
    ymd = (birth.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970) * 10000
    months = birth.astype("datetime64[M]").astype(np.int64) % 12 + 1
    days = (birth.astype("datetime64[D]") - birth.astype("datetime64[M]")).astype(np.int64) + 1
    ymd = ymd + months * 100 + days
    body: NDArray = region.astype(np.int64) * 10**11 + ymd * 1000 + seq.astype(np.int64)
    return body


def _unique_bodies(body: NDArray, used: NDArray) -> NDArray:
    """Make every number unique, in this chunk and against ``used`` (sorted), by moving a clashing sequence
    number to the next free one of the same parity (so the sex it encodes is kept)."""
    body = body.copy()
    while True:
        pos = np.searchsorted(used, body)
        clash = used[np.minimum(pos, len(used) - 1)] == body if len(used) else np.zeros(len(body), dtype=bool)
        order = np.argsort(body, kind="stable")
        dup = np.zeros(len(body), dtype=bool)
        dup[order[1:]] = body[order[1:]] == body[order[:-1]]
        move = clash | dup
        if not move.any():
            return body
        seq = body[move] % 1000
        body[move] = body[move] - seq + (seq + 2) % 1000


def _ric_strings(body: NDArray) -> pa.Array:
    """Resident identity numbers from their first 17 digits, check character included, without a Python loop."""
    total = np.zeros(len(body), dtype=np.int64)
    rest = body.copy()
    for i in range(16, -1, -1):
        total += (rest % 10) * _RIC_WEIGHTS[i]
        rest //= 10
    check = (12 - total % 11) % 11
    chars = pa.array(np.array(list("0123456789X"))[check])
    return pc.binary_join_element_wise(pa.array(body).cast(pa.string()), chars, "")


def _uscc_strings(rng: np.random.Generator, district_codes: NDArray) -> pa.Array:
    n = len(district_codes)
    values = np.empty((n, 17), dtype=np.int64)
    values[:, 0], values[:, 1] = 9, 1  # registered by market regulation, enterprise
    region = district_codes.astype(np.int64)
    for i in range(7, 1, -1):
        values[:, i] = region % 10
        region //= 10
    values[:, 8:17] = rng.integers(0, 31, size=(n, 9))
    check = (31 - (values * _USCC_WEIGHTS).sum(axis=1) % 31) % 31
    alphabet = np.array(list(_USCC_ALPHABET))
    chars = alphabet[np.concatenate([values, check[:, None]], axis=1)]
    return pa.array(["".join(row) for row in chars])  # employers are few (1 in 40): a loop is fine here


def _exact_counts(n: int, shares: NDArray) -> NDArray:
    """Split n in proportion to shares exactly (largest remainder), so district shares match the census."""
    raw = shares / shares.sum() * n
    counts = np.floor(raw).astype(np.int64)
    counts[np.argsort(-(raw - counts))[: n - counts.sum()]] += 1
    result: NDArray = counts
    return result


def _names(rng: np.random.Generator, n: int, parts: tuple[list[str], NDArray, list[str], list[str]]) -> pa.Array:
    surnames, weights, given, _ = parts
    s = pa.array(surnames).take(pa.array(rng.choice(len(surnames), size=n, p=weights)))
    g1 = pa.array(given).take(pa.array(rng.integers(0, len(given), n)))
    g2 = pa.array(given + [""] * len(given)).take(pa.array(rng.integers(0, 2 * len(given), n)))
    return pc.binary_join_element_wise(s, g1, g2, "")


def generate(
    residents: int,
    *,
    years: int = 3,
    seed: int = 0,
    out: Path | str = "population",
    as_of: dt.date = AS_OF,
    chunk: int = 1_000_000,
    progress: Progress | None = None,
) -> GenerateSummary:
    """Write a synthetic population of ``residents`` adults and ``years`` of records into ``out``."""
    import time

    started = time.perf_counter()
    step = progress or (lambda _s, _d, _t: None)
    out = Path(out)
    for sub in ("subjects", "records", "truth"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    root = np.random.SeedSequence(seed)
    setup_seed, *chunk_seeds = root.spawn(1 + (residents + chunk - 1) // chunk)
    rng = np.random.default_rng(setup_seed)
    dist = districts()
    district_codes = np.array([int(d["code"]) for d in dist])
    district_names = np.array([d["name_zh"] for d in dist])
    district_of = np.repeat(
        np.arange(len(dist)),
        _exact_counts(residents, np.array([int(d["population_2020"]) for d in dist], dtype=np.float64)),
    )
    rng.shuffle(district_of)
    n_orgs = max(1, int(residents * EMPLOYERS_PER_RESIDENT))
    org_district = rng.choice(
        len(dist),
        n_orgs,
        p=np.array([int(d["population_2020"]) for d in dist]) / sum(int(d["population_2020"]) for d in dist),
    )
    org_ids = _uscc_strings(rng, district_codes[org_district])
    parts = _name_parts()
    org_names = pc.binary_join_element_wise(
        pa.array(["北京"] * n_orgs),
        _names(rng, n_orgs, parts),
        pa.array(np.array(["科技", "商贸", "建筑", "餐饮", "物流", "医药", "文化"])[rng.integers(0, 7, n_orgs)]),
        pa.array(["有限公司"] * n_orgs),
        "",
    )
    pq.write_table(
        pa.table(
            {
                "subject_id": org_ids,
                "name": org_names,
                "district": pa.array(district_names[org_district]),
                "profession": pa.nulls(n_orgs, pa.string()),
                "address": pa.nulls(n_orgs, pa.string()),
            }
        ),
        out / "subjects" / "orgs.parquet",
    )
    migrant_codes = np.array([int(c) for c in _migrant_codes()])
    catalog = load_catalog()
    pq.write_table(
        pa.table(
            {"source_id": list(catalog.sources), "record_types": [s.record_types for s in catalog.sources.values()]}
        ),
        out / "sources.parquet",
    )
    summary = GenerateSummary(out=out, residents=residents, organisations=n_orgs, records=0)
    # Who runs each organisation, drawn from a generator of its own: the draws above and below stay as they were.
    roles = _role_plan(
        np.random.default_rng(np.random.SeedSequence([seed, ROLES_STREAM])), n_orgs, residents, years, as_of
    )
    role_parts: list[pa.Table] = []
    consents: list[pa.Table] = []
    record_counter = 0
    used: NDArray = np.empty(0, dtype=np.int64)
    n_chunks = len(chunk_seeds)
    for ci, cseed in enumerate(chunk_seeds):
        step("residents", ci, n_chunks)
        crng = np.random.default_rng(cseed)
        lo, hi = ci * chunk, min(residents, (ci + 1) * chunk)
        n = hi - lo
        people = _residents(crng, n, district_of[lo:hi], district_codes, district_names, migrant_codes, parts, as_of)
        # Numbers must be unique across chunks too: clashes with earlier chunks move to a free sequence number.
        body = _unique_bodies(_ric_body(people.pop("region"), people["birth_date"], people.pop("seq")), used)
        used = np.sort(np.concatenate([used, body]), kind="stable")
        people["subject_id"] = _ric_strings(body)
        subjects = pa.table(
            {
                "subject_id": people["subject_id"],
                "name": people["name"],
                "district": people["district"],
                "profession": people["profession"],
                "address": people["address"],
            }
        )
        pq.write_table(subjects, out / "subjects" / f"part-{ci:05d}.parquet")
        pq.write_table(
            pa.table(
                {
                    "subject_id": people["subject_id"],
                    "sex": people["sex"],
                    "birth_date": pa.array(people["birth_date"].astype("datetime64[D]")),
                    "migrant": people["migrant"],
                    "profile": people["profile_name"],
                }
            ),
            out / "truth" / f"residents-{ci:05d}.parquet",
        )
        opted = crng.random(n) < CONSENT_SHARE
        consents.append(
            pa.table(
                {
                    "subject_id": people["subject_id"].filter(pa.array(opted)),
                    "category": pa.array(["commercial"] * int(opted.sum())),
                    "granted": pa.array([True] * int(opted.sum())),
                }
            )
        )
        role_parts.append(_roles_of_chunk(roles, org_ids, people["subject_id"], lo, hi))
        step("records", ci, n_chunks)
        tables = _records(crng, people, org_ids, years, as_of, record_counter, summary.by_type)
        for source, table in tables.items():
            folder = out / "records" / source
            folder.mkdir(exist_ok=True)
            pq.write_table(table, folder / f"part-{ci:05d}.parquet")
            record_counter += table.num_rows
            summary.records += table.num_rows
    # Organisations pay taxes too: one annual settlement each.
    org_tax = _org_taxes(rng, org_ids, years, as_of, record_counter)
    pq.write_table(org_tax, out / "records" / "tax_bureau" / "orgs.parquet")
    summary.records += org_tax.num_rows
    summary.by_type["tax_payment"] = summary.by_type.get("tax_payment", 0) + org_tax.num_rows
    # The registration authority's role records, and the judgments against organisations (their own generator).
    org_rng = np.random.default_rng(np.random.SeedSequence([seed, ORG_JUDGMENTS_STREAM]))
    extra = {
        "registration_authority": _role_records(pa.concat_tables(role_parts)),
        "courts": _org_judgments(org_rng, org_ids, years, as_of),
    }
    for source, table in extra.items():
        (out / "records" / source).mkdir(exist_ok=True)
        pq.write_table(table, out / "records" / source / "orgs.parquet")
        summary.records += table.num_rows
        record_type = str(table.column("record_type")[0]) if table.num_rows else source
        summary.by_type[record_type] = summary.by_type.get(record_type, 0) + table.num_rows
    pq.write_table(pa.concat_tables(consents), out / "consents.parquet")
    step("done", n_chunks, n_chunks)
    summary.seconds = time.perf_counter() - started
    return summary


def _residents(
    rng: np.random.Generator,
    n: int,
    district_idx: NDArray,
    district_codes: NDArray,
    district_names: NDArray,
    migrant_codes: NDArray,
    parts: tuple[list[str], NDArray, list[str], list[str]],
    as_of: dt.date,
) -> dict[str, Any]:
    shares = np.array([b[2] for b in AGE_BANDS])
    band = rng.choice(len(AGE_BANDS), n, p=shares / shares.sum())
    lo = np.array([b[0] for b in AGE_BANDS])[band]
    hi = np.array([b[1] for b in AGE_BANDS])[band]
    age_days = (rng.uniform(lo, hi + 1) * 365.25).astype(np.int64)
    birth = np.datetime64(as_of) - age_days.astype("timedelta64[D]")
    birth_year = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    migrant = rng.random(n) < MIGRANT_SHARE
    region = district_codes[district_idx].copy()
    assigned = np.maximum(birth_year, FIRST_CARD_YEAR)
    for today_code, eras in _HISTORY.items():
        mask = region == int(today_code)
        for code, start, end in eras:
            region[mask & (assigned >= start) & (assigned < end)] = int(code)
    # Dongcheng and Xicheng absorbed Chongwen (110103) and Xuanwu (110104) in 2010.
    for merged_into, old_code, share in ((110101, 110103, 0.35), (110102, 110104, 0.45)):
        old = (region == merged_into) & (assigned < 2010) & (rng.random(n) < share)
        region[old] = old_code
    region[migrant] = migrant_codes[rng.integers(0, len(migrant_codes), int(migrant.sum()))]
    sex_male = rng.random(n) < 0.51
    # Sequence: odd for men, even for women; random within 0-999 keeps collisions rare, and the rare
    # duplicate (same region, birth date, sequence) is moved later by _unique_bodies.
    seq = rng.integers(0, 500, n) * 2 + sex_male
    age = age_days // 365
    prof_names = np.array(list(PROFESSIONS))
    prof_p = np.array(list(PROFESSIONS.values()))
    profession = prof_names[rng.choice(len(prof_names), n, p=prof_p / prof_p.sum())]
    profession[age >= RETIREMENT_AGE + rng.integers(0, 6, n)] = "retired"
    profession[(profession == "student") & (age > 30)] = "other"
    profile = rng.choice(len(PROFILES), n, p=PROFILE_SHARES)
    streets = np.array(parts[3])
    address = pc.binary_join_element_wise(
        pa.array(np.char.add("北京市", district_names[district_idx])),
        _names(rng, n, parts).cast(pa.string()),
        pa.array(streets[rng.integers(0, len(streets), n)]),
        pa.array(rng.integers(1, 300, n).astype(str)),
        pa.array(["号"] * n),
        "",
    )
    return {
        "region": region,
        "birth_date": birth,
        "seq": seq,
        "sex": pa.array(np.where(sex_male, "M", "F")),
        "migrant": pa.array(migrant),
        "name": _names(rng, n, parts),
        "district": pa.array(district_names[district_idx]),
        "profession": pa.array(profession),
        "profile": profile,
        "profile_name": pa.array(np.array(PROFILES)[profile]),
        "address": address,
        "age": age,
    }


def _dates(rng: np.random.Generator, n: int, years: int, as_of: dt.date) -> pa.Array:
    days = rng.integers(0, years * 365, n)
    return pa.array((np.datetime64(as_of) - days.astype("timedelta64[D]")).astype("datetime64[D]"))


def _records(
    rng: np.random.Generator,
    people: dict[str, Any],
    org_ids: pa.Array,
    years: int,
    as_of: dt.date,
    start: int,
    by_type: dict[str, int],
) -> dict[str, pa.Table]:
    """Every record type for one chunk of residents, as one table per source."""
    n = len(people["profile"])
    profile = people["profile"]
    bad = BAD[profile]
    prof = np.asarray(people["profession"].to_numpy(zero_copy_only=False))
    working = ~np.isin(prof, ["student", "retired", "unemployed"])
    strict = np.isin(prof, ["medical", "education", "accounting", "journalism"])
    ids = people["subject_id"]
    out: dict[str, list[pa.Table]] = {}
    counter = [start]
    counts = by_type

    def emit(source: str, record_type: str, who: NDArray, when: pa.Array, **fields: Any) -> None:
        m = len(who)
        if m == 0:
            return
        rid = pc.binary_join_element_wise(
            pa.repeat(source[:3].upper() + "-", m),
            pa.array(np.arange(counter[0], counter[0] + m)).cast(pa.string()),
            "",
        )
        counter[0] += m
        counts[record_type] = counts.get(record_type, 0) + m
        cols: dict[str, Any] = {
            "record_id": rid,
            "subject_id": ids.take(pa.array(who)),
            "record_type": pa.repeat(record_type, m),
            "event_date": when,
        }
        for name, values in fields.items():
            cols[name] = values if isinstance(values, pa.Array) else pa.array(values)
        out.setdefault(source, []).append(pa.table(cols))

    def expand(mask: NDArray, rate: float) -> NDArray:
        """Indices of residents, each repeated by a Poisson number of events over the period."""
        counts = rng.poisson(rate * years, n) * mask
        return np.repeat(np.arange(n), counts)

    def pick(who: NDArray, p_bad: NDArray, good: str, bad_values: list[str]) -> NDArray:
        """A status per record: ``good``, or with the resident's bad-outcome probability one of ``bad_values``."""
        vocab = np.array([good, *bad_values], dtype="<U16")  # wide enough for any later override
        is_bad = rng.random(len(who)) < p_bad[who]
        return vocab[np.where(is_bad, rng.integers(1, len(vocab), len(who)), 0)]

    # Taxes: one settlement a year for workers.
    who = np.repeat(np.arange(n)[working], years)
    year_offset = np.tile(np.arange(years), int(working.sum()))
    when = pa.array(
        (np.datetime64(as_of) - (year_offset * 365 + rng.integers(150, 200, len(who))).astype("timedelta64[D]")).astype(
            "datetime64[D]"
        )
    )
    status = pick(who, bad * 0.6, "paid", ["late"])
    evaded = (profile[who] == 3) & (rng.random(len(who)) < 0.08)
    status[evaded] = "evaded"
    amount = np.round(rng.lognormal(8.5, 1.0, len(who)), 2)
    amount[evaded] = np.round(rng.uniform(20_000, 400_000, int(evaded.sum())), 2)
    days_late = np.where(status == "late", rng.integers(5, 120, len(who)), -1)
    emit(
        "tax_bureau",
        "tax_payment",
        who,
        when,
        amount=amount,
        status=status,
        days_late=pa.array(days_late, mask=days_late < 0),
    )

    who = expand(np.ones(n, dtype=bool), RATES["utility_payment"])
    status = pick(who, bad, "on_time", ["late", "late", "unpaid"])
    emit(
        "utilities",
        "utility_payment",
        who,
        _dates(rng, len(who), years, as_of),
        utility=np.array(["electricity", "water", "gas", "heating"])[rng.integers(0, 4, len(who))],
        amount=np.round(rng.uniform(40, 900, len(who)), 2),
        status=status,
    )

    borrower = (rng.random(n) < BORROWER_SHARE) | (profile == 3)
    who = expand(borrower, RATES["loan_repayment"])
    status = pick(who, bad * 0.5, "on_time", ["late"])
    status[(profile[who] == 3) & (rng.random(len(who)) < 0.08)] = "default"
    days_late = np.where(status != "on_time", rng.integers(3, 200, len(who)), -1)
    emit(
        "banks",
        "loan_repayment",
        who,
        _dates(rng, len(who), years, as_of),
        amount=np.round(rng.uniform(800, 12000, len(who)), 2),
        status=status,
        days_late=pa.array(days_late, mask=days_late < 0),
    )

    who = expand(np.ones(n, dtype=bool), RATES["traffic_ticket"])
    who = np.concatenate([who, expand(profile == 2, RATES["traffic_ticket"] * 2)])
    offence = np.array(["parking", "speeding", "red_light", "drunk_driving", "hit_and_run"])[
        rng.choice(5, len(who), p=[0.55, 0.28, 0.14, 0.025, 0.005])
    ]
    emit(
        "traffic_police",
        "traffic_ticket",
        who,
        _dates(rng, len(who), years, as_of),
        offence=offence,
        fine=np.array([100.0, 200.0, 500.0, 2000.0])[rng.integers(0, 4, len(who))],
        status=np.where(rng.random(len(who)) < 0.1 + bad[who] * 0.3, "unpaid", "paid"),
    )

    defaulter = profile == 3
    other = (~defaulter) & (rng.random(n) < JUDGMENT_RATE * years)
    who = np.concatenate([np.arange(n)[defaulter], np.arange(n)[other]])
    unfulfilled = np.concatenate([np.ones(int(defaulter.sum()), bool), rng.random(int(other.sum())) < 0.15])
    emit(
        "courts",
        "court_judgment",
        who,
        _dates(rng, len(who), years, as_of),
        case_type=np.array(["civil", "commercial", "administrative", "criminal"])[
            rng.choice(4, len(who), p=[0.7, 0.2, 0.07, 0.03])
        ],
        amount=np.round(rng.lognormal(10.5, 1.0, len(who)), 2),
        status=np.where(unfulfilled, "unfulfilled", "fulfilled"),
        defaulter=unfulfilled,
    )

    who = np.arange(n)[rng.random(n) < DEGREE_SHARE]
    emit(
        "universities",
        "degree_verification",
        who,
        _dates(rng, len(who), years, as_of),
        degree=np.array(["associate", "bachelor", "master", "doctor"])[
            rng.choice(4, len(who), p=[0.2, 0.55, 0.2, 0.05])
        ],
        result=np.where(rng.random(len(who)) < FORGED_SHARE, "forged", "verified"),
    )

    who = expand(strict, RATES["professional_conduct"])
    emit(
        "licensing_boards",
        "professional_conduct",
        who,
        _dates(rng, len(who), years, as_of),
        profession=prof[who],
        finding=np.array(["commendation", "warning", "misconduct", "serious_misconduct"])[
            rng.choice(4, len(who), p=[0.45, 0.35, 0.15, 0.05])
        ],
    )

    who = np.arange(n)[working]
    employer = org_ids.take(pa.array(rng.integers(0, len(org_ids), len(who))))
    emit(
        "employers",
        "employment",
        who,
        _dates(rng, len(who), 1, as_of),
        employer=employer,
        status=np.where(rng.random(len(who)) < 0.03, "ended", "active"),
        monthly_income=np.round(rng.lognormal(9.1, 0.5, len(who)), -1),
    )

    volunteer = (rng.random(n) < VOLUNTEER_SHARE) | ((profile == 0) & (rng.random(n) < 0.4))
    who = expand(volunteer, RATES["volunteering"])
    emit(
        "civil_affairs",
        "volunteering",
        who,
        _dates(rng, len(who), years, as_of),
        hours=rng.integers(1, 9, len(who)).astype(np.float64),
    )

    who = expand(rng.random(n) < DONOR_SHARE, RATES["blood_donation"])
    emit(
        "blood_centre",
        "blood_donation",
        who,
        _dates(rng, len(who), years, as_of),
        millilitres=np.array([200, 300, 400])[rng.integers(0, 3, len(who))],
    )

    platform = rng.random(n) < PLATFORM_SHARE
    who = expand(platform, RATES["platform_repayment"])
    status = pick(who, bad * 0.5, "on_time", ["late"])
    status[(profile[who] == 3) & (rng.random(len(who)) < 0.1)] = "default"
    tables_commercial = [
        ("platform_repayment", who, dict(amount=np.round(rng.uniform(50, 5000, len(who)), 2), status=status))
    ]
    who_p = expand(platform, RATES["purchase"])
    tables_commercial.append(
        (
            "purchase",
            who_p,
            dict(
                amount=np.round(rng.lognormal(5.5, 1.2, len(who_p)), 2),
                kind=np.array(
                    [
                        "groceries",
                        "utilities",
                        "household",
                        "travel",
                        "education",
                        "electronics",
                        "entertainment",
                        "luxury",
                    ]
                )[rng.integers(0, 8, len(who_p))],
                paid_on_delivery=rng.random(len(who_p)) > bad[who_p] * 0.2,
            ),
        )
    )
    who_f = np.repeat(np.arange(n)[platform], 2)
    tables_commercial.append(
        (
            "identity_fact",
            who_f,
            dict(
                fact=np.array(["phone_verified", "address_stable", "education_verified", "car_owner", "home_owner"])[
                    rng.integers(0, 5, len(who_f))
                ]
            ),
        )
    )
    who_c = expand(platform, RATES["connection_summary"])
    tables_commercial.append(
        ("connection_summary", who_c, dict(verified_contacts=rng.poisson(35, len(who_c)).astype(np.int64)))
    )
    for record_type, who, fields in tables_commercial:
        emit("commercial_platforms", record_type, who, _dates(rng, len(who), years, as_of), **fields)

    return {source: pa.concat_tables(parts, promote_options="default") for source, parts in out.items()}


def _org_taxes(rng: np.random.Generator, org_ids: pa.Array, years: int, as_of: dt.date, start: int) -> pa.Table:
    m = len(org_ids) * years
    who = np.repeat(np.arange(len(org_ids)), years)
    offsets = np.tile(np.arange(years), len(org_ids)) * 365 + 200
    status = np.where(rng.random(m) < 0.1, "late", "paid")
    return pa.table(
        {
            "record_id": pc.binary_join_element_wise(
                pa.array(["TAX-"] * m), pa.array(np.arange(start, start + m)).cast(pa.string()), ""
            ),
            "subject_id": org_ids.take(pa.array(who)),
            "record_type": pa.array(["tax_payment"] * m),
            "event_date": pa.array((np.datetime64(as_of) - offsets.astype("timedelta64[D]")).astype("datetime64[D]")),
            "amount": np.round(rng.lognormal(12, 1.2, m), 2),
            "status": status,
            "days_late": pa.array(np.where(status == "late", 30, -1), mask=status != "late"),
        }
    )


# -- Outcomes to learn scorecards from (docs/scorecard.md) ---------------------------------------------------------
# Whether each resident defaults within twelve months of the as-of date, drawn from a hidden propensity: the
# resident's profile (never written to the outcomes), their records of the two years before the as-of date, their
# income and their age. The draws come from a stream of their own (the seed and OUTCOME_STREAM), so writing outcomes
# changes no record of the population. Our calibration: about one resident in ten defaults.
OUTCOME_STREAM = 19
OUTCOME_FEATURE_DAYS = 730
OUTCOME_INTERCEPT = -2.6
OUTCOME_PROFILE_LOGIT = {"model": -0.9, "ordinary": 0.0, "careless": 1.0, "defaulter": 2.2}
OUTCOME_LOGIT = {  # per count (capped at 6), per 1,000 yuan of monthly income above 5,000, for the under-30s
    "loan_late": 0.45,
    "utility_late": 0.35,
    "platform_late": 0.40,
    "court_unfulfilled": 1.0,
    "income_k": -0.10,
    "young": 0.35,
}
OUTCOME_NOISE_SD = 0.5

_OUTCOME_FEATURES = """
WITH people AS (
    SELECT CAST(s.subject_id AS VARCHAR) AS subject_id, s.district, s.profession, t.sex, t.birth_date, t.profile
    FROM read_parquet($subjects) AS s JOIN read_parquet($truth) AS t USING (subject_id)
),
recs AS (
    SELECT CAST(subject_id AS VARCHAR) AS subject_id, record_type, status, monthly_income, hours, event_date
    FROM read_parquet($records, union_by_name = true)
    WHERE event_date <= $as_of AND event_date > $as_of - $days
),
per AS (
    SELECT subject_id,
        COUNT(*) FILTER (WHERE record_type = 'loan_repayment' AND status IN ('late', 'default')) AS loan_late,
        COUNT(*) FILTER (WHERE record_type = 'utility_payment' AND status IN ('late', 'unpaid')) AS utility_late,
        COUNT(*) FILTER (WHERE record_type = 'platform_repayment' AND status IN ('late', 'default')) AS platform_late,
        COUNT(*) FILTER (WHERE record_type = 'tax_payment' AND status IN ('late', 'evaded')) AS tax_late,
        COUNT(*) FILTER (WHERE record_type = 'traffic_ticket') AS traffic_tickets,
        COUNT(*) FILTER (WHERE record_type = 'court_judgment' AND status = 'unfulfilled') AS court_unfulfilled,
        COALESCE(SUM(hours) FILTER (WHERE record_type = 'volunteering'), 0) AS volunteering_hours,
        ARG_MAX(monthly_income, event_date) FILTER (WHERE record_type = 'employment') AS monthly_income
    FROM recs GROUP BY subject_id
)
SELECT p.subject_id, p.district, p.profession, p.sex, DATE_DIFF('year', p.birth_date, $as_of) AS age, p.profile,
    CAST(COALESCE(loan_late, 0) AS BIGINT) AS loan_late, CAST(COALESCE(utility_late, 0) AS BIGINT) AS utility_late,
    CAST(COALESCE(platform_late, 0) AS BIGINT) AS platform_late, CAST(COALESCE(tax_late, 0) AS BIGINT) AS tax_late,
    CAST(COALESCE(traffic_tickets, 0) AS BIGINT) AS traffic_tickets,
    CAST(COALESCE(court_unfulfilled, 0) AS BIGINT) AS court_unfulfilled,
    CAST(COALESCE(volunteering_hours, 0) AS DOUBLE) AS volunteering_hours,
    CAST(monthly_income AS DOUBLE) AS monthly_income
FROM people AS p LEFT JOIN per USING (subject_id)
ORDER BY p.subject_id
"""


def write_outcomes(
    population: Path | str, *, seed: int = 0, as_of: dt.date = AS_OF, out: Path | str | None = None
) -> Path:
    """Write ``outcomes.parquet`` (or ``out``) for a generated population: one row per resident with features
    derived from their records before ``as_of`` (counts of late payments, tickets, unfulfilled judgments,
    volunteering hours, the latest monthly income — missing for residents with no employment record), their
    district and profession, their sex and age (protected: a scorecard refuses them as features) and
    ``default_12m`` (1: defaulted within twelve months of ``as_of``). The profile that drives the default is hidden.

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> _ = generate(500, out=folder, seed=1)
    >>> pq.read_table(write_outcomes(folder, seed=1)).num_rows
    500
    """
    import duckdb

    folder = Path(population)
    subjects = sorted(str(p) for p in (folder / "subjects").glob("part-*.parquet"))
    truth = sorted(str(p) for p in (folder / "truth").glob("residents-*.parquet"))
    records = sorted(str(p) for p in (folder / "records").glob("*/*.parquet"))
    if not subjects or not truth or not records:
        raise FileNotFoundError(f"{folder}: not a generated population (subjects/, truth/ and records/ are needed)")
    con = duckdb.connect(":memory:")
    try:
        params = {
            "subjects": subjects,
            "truth": truth,
            "records": records,
            "as_of": as_of,
            "days": OUTCOME_FEATURE_DAYS,
        }
        table = con.execute(_OUTCOME_FEATURES, params).to_arrow_table()
    finally:
        con.close()
    rng = np.random.default_rng(np.random.SeedSequence([seed, OUTCOME_STREAM]))
    n = table.num_rows
    col = {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}
    income = np.nan_to_num(col["monthly_income"].astype(np.float64), nan=0.0)
    logit = (
        OUTCOME_INTERCEPT
        + np.array([OUTCOME_PROFILE_LOGIT[str(p)] for p in col["profile"]])
        + sum(OUTCOME_LOGIT[k] * np.minimum(col[k], 6) for k in ("loan_late", "utility_late", "platform_late"))
        + OUTCOME_LOGIT["court_unfulfilled"] * np.minimum(col["court_unfulfilled"], 6)
        + OUTCOME_LOGIT["income_k"] * np.clip(income - 5000.0, 0.0, 30000.0) / 1000.0
        + OUTCOME_LOGIT["young"] * (col["age"] < 30)
        + rng.normal(0.0, OUTCOME_NOISE_SD, n)
    )
    default = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    table = table.drop_columns(["profile"]).append_column("default_12m", pa.array(default.astype(np.int8)))
    target = Path(out) if out is not None else folder / "outcomes.parquet"
    pq.write_table(table, target)
    return target


# -- organisations: who runs them (registration_authority), judgments against them (courts) ------------------------
ROLES_STREAM = 20  # the generators of the additions of issue 20 (seeded from the population's seed and these)
ORG_JUDGMENTS_STREAM = 21
OFFICER_ROLES = np.array(["director", "supervisor", "senior_manager", "shareholder"])
TURNOVER = 0.05  # a year: organisations whose legal representative resigns and a new one is appointed
ORG_JUDGMENT_RATE = 0.004  # judgments against an organisation a year
ORG_DEFAULTER_SHARE = 0.3  # of those: unfulfilled, the debtor marked a defaulter


def _role_plan(rng: np.random.Generator, n_orgs: int, residents: int, years: int, as_of: dt.date) -> dict[str, NDArray]:
    """Every role of every organisation: a legal representative and 1-4 officers (residents drawn at random), and
    for ~5% of organisations a year a resignation of the representative and a new one appointed that day."""
    officers = rng.integers(1, 5, n_orgs)
    org = np.concatenate([np.arange(n_orgs), np.repeat(np.arange(n_orgs), officers)])
    role = np.concatenate([np.full(n_orgs, "legal_representative"), OFFICER_ROLES[rng.integers(0, 4, officers.sum())]])
    first_day = np.datetime64(as_of) - np.timedelta64(365 * years, "D")
    start = first_day - rng.integers(30, 365 * 12, len(org)).astype("timedelta64[D]")
    end = np.full(len(org), np.datetime64("NaT"), dtype="datetime64[D]")
    # turnover: the representative's role ends on a day of the window and a successor's begins the same day
    changes = rng.random((n_orgs, years)) < TURNOVER
    changed_org, year = np.nonzero(changes)
    keep = np.unique(changed_org, return_index=True)[1]  # one change per organisation: the first year drawn
    changed_org, year = changed_org[keep], year[keep]
    day = first_day + (year * 365 + rng.integers(0, 365, len(year))).astype("timedelta64[D]")
    end[changed_org] = day  # the representatives are the first n_orgs roles
    org = np.concatenate([org, changed_org])
    role = np.concatenate([role, np.full(len(changed_org), "legal_representative")])
    start = np.concatenate([start, day])
    end = np.concatenate([end, np.full(len(changed_org), np.datetime64("NaT"), dtype="datetime64[D]")])
    holder = rng.integers(0, residents, len(org))
    start = start.astype("datetime64[D]")
    # the record's date: its start, or the first day of the records' window for a role held since before it
    dated = np.maximum(start, first_day + np.timedelta64(1, "D"))
    return {"org": org, "role": role, "start": start, "end": end, "holder": holder, "dated": dated}


def _roles_of_chunk(plan: dict[str, NDArray], org_ids: pa.Array, ids: pa.Array, lo: int, hi: int) -> pa.Table:
    """The roles held by the residents ``lo`` to ``hi`` (one chunk), with the holder's identity number."""
    mine = np.nonzero((plan["holder"] >= lo) & (plan["holder"] < hi))[0]
    end = plan["end"][mine]
    return pa.table(
        {
            "index": pa.array(mine),
            "subject_id": ids.take(pa.array(plan["holder"][mine] - lo)),
            "org_id": org_ids.take(pa.array(plan["org"][mine])),
            "role": pa.array(plan["role"][mine]),
            "start_date": pa.array(plan["start"][mine]),
            "end_date": pa.array(end, mask=np.isnat(end)),
            "event_date": pa.array(plan["dated"][mine]),
        }
    )


def _role_records(roles: pa.Table) -> pa.Table:
    """Role records in the plan's order (the same for any chunk size), numbered ROLE-<n>."""
    roles = roles.sort_by("index")
    m = roles.num_rows
    return pa.table(
        {
            "record_id": pc.binary_join_element_wise(
                pa.repeat("ROLE-", m), pa.array(np.arange(m)).cast(pa.string()), ""
            ),
            "subject_id": roles.column("subject_id"),
            "record_type": pa.repeat("company_role", m),
            "event_date": roles.column("event_date"),
            "org_id": roles.column("org_id"),
            "role": roles.column("role"),
            "start_date": roles.column("start_date"),
            "end_date": roles.column("end_date"),
        }
    )


def _org_judgments(rng: np.random.Generator, org_ids: pa.Array, years: int, as_of: dt.date) -> pa.Table:
    """Court judgments against organisations: a few a year, some unfulfilled by a debtor marked a defaulter."""
    m = int(rng.binomial(len(org_ids) * years, ORG_JUDGMENT_RATE))
    who = rng.integers(0, len(org_ids), m)
    defaulter = rng.random(m) < ORG_DEFAULTER_SHARE
    return pa.table(
        {
            "record_id": pc.binary_join_element_wise(
                pa.repeat("ORGJ-", m), pa.array(np.arange(m)).cast(pa.string()), ""
            ),
            "subject_id": org_ids.take(pa.array(who)),
            "record_type": pa.repeat("court_judgment", m),
            "event_date": _dates(rng, m, years, as_of),
            "case_type": pa.array(np.array(["civil", "commercial", "administrative"])[rng.integers(0, 3, m)]),
            "amount": np.round(rng.lognormal(12, 1.5, m), 2),
            "status": pa.array(np.where(defaulter, "unfulfilled", "fulfilled")),
            "defaulter": pa.array(defaulter),
        }
    )
