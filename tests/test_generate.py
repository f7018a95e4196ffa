"""The population generator: identities, census districts, region-code history, record schemas, volumes, lists.

One population of 20 000 residents is generated once (module fixture), read back from its Parquet files and
loaded into a store; the other generations (same seed, other seed, other chunk size) are compared with it.
The expected values come from the census (2020), stdnum's region-code table and the shipped catalog and
policies, written out here rather than taken from the generator's own constants where that is possible.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import socialcredit.generate as gen
from socialcredit.catalog import load_catalog
from socialcredit.errors import IdentifierError
from socialcredit.generate import AS_OF, GenerateSummary, generate
from socialcredit.identifiers import validate_ric, validate_uscc
from socialcredit.policy import builtin_policy
from socialcredit.registry.records.ingest import IngestReport
from socialcredit.registry.records.population import load_population
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import RunSummary, score
from socialcredit.store import Store, open_store

RESIDENTS = 20_000
SEED = 2026
YEARS = 3

# Seventh national census (2020): code, name and resident population of Beijing's 16 districts
# (/work/shared/data/beijing-districts-2020.csv); they add up to 21 893 095.
CENSUS = {
    "110101": ("东城区", 708_829),
    "110102": ("西城区", 1_106_214),
    "110105": ("朝阳区", 3_452_460),
    "110106": ("丰台区", 2_019_764),
    "110107": ("石景山区", 567_851),
    "110108": ("海淀区", 3_133_469),
    "110109": ("门头沟区", 392_606),
    "110111": ("房山区", 1_312_778),
    "110112": ("通州区", 1_840_295),
    "110113": ("顺义区", 1_324_044),
    "110114": ("昌平区", 2_269_487),
    "110115": ("大兴区", 1_993_591),
    "110116": ("怀柔区", 441_040),
    "110117": ("平谷区", 457_313),
    "110118": ("密云区", 527_683),
    "110119": ("延庆区", 345_671),
}
CENSUS_TOTAL = 21_893_095
CODE_OF_DISTRICT = {name: code for code, (name, _) in CENSUS.items()}

# Years (inclusive; None = open) in which each Beijing county-level code was valid, from stdnum/cn/loc.dat.
BEIJING_CODE_YEARS: dict[str, tuple[int | None, int | None]] = {
    **{code: (None, None) for code in ("110101", "110102", "110105", "110106", "110107", "110108", "110109")},
    "110103": (None, 2010),  # 崇文区, merged into Dongcheng
    "110104": (None, 2010),  # 宣武区, merged into Xicheng
    "110111": (1986, None),
    "110112": (1997, None),
    "110113": (1998, None),
    "110114": (1999, None),
    "110115": (2001, None),
    "110116": (2001, None),
    "110117": (2001, None),
    "110118": (2015, None),
    "110119": (2015, None),
    "110221": (1982, 1999),  # 昌平县
    "110222": (1982, 1998),  # 顺义县
    "110223": (1982, 1997),  # 通县
    "110224": (1982, 2001),  # 大兴县
    "110225": (1982, 1986),  # 房山县
    "110226": (1982, 2001),  # 平谷县
    "110227": (1982, 2001),  # 怀柔县
    "110228": (1982, 2015),  # 密云县
    "110229": (1982, 2015),  # 延庆县
}
# The county code each outer district had before it became a district, and the year it became one.
COUNTY_BEFORE = {
    "110111": ("110225", 1986),
    "110112": ("110223", 1997),
    "110113": ("110222", 1998),
    "110114": ("110221", 1999),
    "110115": ("110224", 2001),
    "110116": ("110227", 2001),
    "110117": ("110226", 2001),
    "110118": ("110228", 2015),
    "110119": ("110229", 2015),
}
MERGED_2010 = {"110101": "110103", "110102": "110104"}  # Dongcheng took Chongwen, Xicheng took Xuanwu


# --- helpers ------------------------------------------------------------------------------------------------


def read_all(paths: list[Path]) -> pa.Table:
    return pa.concat_tables([pq.read_table(p) for p in paths], promote_options="default")


def parquet_files(folder: Path) -> list[Path]:
    return sorted(p.relative_to(folder) for p in folder.rglob("*.parquet"))


def person_ids(folder: Path) -> list[str]:
    return read_all(sorted((folder / "subjects").glob("part-*.parquet"))).column("subject_id").to_pylist()


def invalid_rics(ids: list[str]) -> list[tuple[str, str]]:
    bad = []
    for sid in ids:
        try:
            validate_ric(sid, today=AS_OF)
        except IdentifierError as exc:
            bad.append((sid, str(exc)))
    return bad


def duplicates(values: list[str]) -> dict[str, int]:
    return {v: n for v, n in Counter(values).items() if n > 1}


def valid_in(code: str, year: int) -> bool:
    first, last = BEIJING_CODE_YEARS[code]
    return (first is None or first <= year) and (last is None or year <= last)


def valid_between(code: str, birth_year: int, this_year: int) -> bool:
    """The rule of validate_ric: the code was valid at some time from the birth year to this year."""
    first, last = BEIJING_CODE_YEARS[code]
    return max(birth_year, first or birth_year) <= min(this_year, last or this_year)


@dataclass(frozen=True)
class Population:
    folder: Path
    summary: GenerateSummary
    residents: list[dict[str, Any]]  # one per resident: subject columns joined with truth columns
    orgs: pa.Table
    records: dict[str, pa.Table]  # source -> all its record files
    consents: pa.Table


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Population:
    folder = tmp_path_factory.mktemp("population") / "pop"
    summary = generate(RESIDENTS, years=YEARS, seed=SEED, out=folder)
    subjects = read_all(sorted((folder / "subjects").glob("part-*.parquet")))
    truth = read_all(sorted((folder / "truth").glob("residents-*.parquet")))
    by_id = {row["subject_id"]: row for row in truth.to_pylist()}
    residents = [{**row, **by_id.get(row["subject_id"], {})} for row in subjects.to_pylist()]
    records = {
        d.name: read_all(sorted(d.glob("*.parquet"))) for d in sorted((folder / "records").iterdir()) if d.is_dir()
    }
    return Population(
        folder=folder,
        summary=summary,
        residents=residents,
        orgs=pq.read_table(folder / "subjects" / "orgs.parquet"),
        records=records,
        consents=pq.read_table(folder / "consents.parquet"),
    )


@pytest.fixture(scope="module")
def loaded(population: Population, tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, list[IngestReport]]:
    store = open_store(tmp_path_factory.mktemp("store") / "s.duckdb", create=True, key="")
    reports = load_population(store, population.folder, today=AS_OF).reports
    return store, reports


@pytest.fixture(scope="module")
def beijing_run(loaded: tuple[Store, list[IngestReport]]) -> RunSummary:
    store, _ = loaded
    return score(store, resolve_policy(store, "beijing"), AS_OF)


# --- 1. identifiers -----------------------------------------------------------------------------------------


def test_every_identity_number_is_valid(population: Population) -> None:
    ids = [r["subject_id"] for r in population.residents]
    assert len(ids) == RESIDENTS
    assert invalid_rics(ids) == []


def test_identity_number_agrees_with_truth(population: Population) -> None:
    mismatches = []
    for r in population.residents:
        parsed = validate_ric(r["subject_id"], today=AS_OF)
        if (parsed.birth_date, parsed.sex) != (r.get("birth_date"), r.get("sex")):
            mismatches.append((r["subject_id"], r.get("birth_date"), r.get("sex")))
    assert mismatches == []
    truth = read_all(sorted((population.folder / "truth").glob("residents-*.parquet")))
    assert sorted(truth.column("subject_id").to_pylist()) == sorted(r["subject_id"] for r in population.residents)


def test_residents_are_adults_under_a_hundred(population: Population) -> None:
    def age(born: dt.date) -> int:
        return AS_OF.year - born.year - ((AS_OF.month, AS_OF.day) < (born.month, born.day))

    ages = [age(r["birth_date"]) for r in population.residents]
    assert min(ages) >= 18
    assert max(ages) <= 99


def test_organisation_codes_are_valid_and_carry_their_district(population: Population) -> None:
    orgs = population.orgs.to_pylist()
    assert len(orgs) == population.summary.organisations > 0
    bad = []
    for org in orgs:
        try:
            parsed = validate_uscc(org["subject_id"])
        except IdentifierError as exc:
            bad.append((org["subject_id"], str(exc)))
            continue
        if (parsed.registry, parsed.entity_type, parsed.region_code) != ("9", "1", CODE_OF_DISTRICT[org["district"]]):
            bad.append((org["subject_id"], org["district"]))
    assert bad == []


def test_subject_ids_are_unique(population: Population) -> None:
    ids = [r["subject_id"] for r in population.residents] + population.orgs.column("subject_id").to_pylist()
    assert duplicates(ids) == {}


# --- 2. districts -------------------------------------------------------------------------------------------


def test_census_reference_adds_up() -> None:
    assert sum(p for _, p in CENSUS.values()) == CENSUS_TOTAL


def test_district_counts_match_the_census_exactly(population: Population) -> None:
    counts = Counter(r["district"] for r in population.residents)
    assert set(counts) <= set(CODE_OF_DISTRICT)
    for name, pop in CENSUS.values():
        share = pop / CENSUS_TOTAL
        expected = RESIDENTS * share
        # The requirement: within one percentage point of the census share ...
        assert abs(counts[name] / RESIDENTS - share) < 0.01, name
        # ... and what the generator promises: an exact split, each district rounded down or up.
        assert math.floor(expected) <= counts[name] <= math.ceil(expected), (name, counts[name], expected)
    assert sum(counts.values()) == RESIDENTS


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=50_000_000))
def test_exact_counts_rounds_each_district_down_or_up(n: int) -> None:
    shares = np.array([p for _, p in CENSUS.values()], dtype=np.float64)
    counts = gen._exact_counts(n, shares)
    assert int(counts.sum()) == n
    expected = shares / CENSUS_TOTAL * n
    assert np.all(np.abs(counts - expected) < 1)


# --- 3. determinism -----------------------------------------------------------------------------------------


def test_same_seed_gives_identical_files(population: Population, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate(RESIDENTS, years=YEARS, seed=SEED, out=again)
    files = parquet_files(population.folder)
    assert parquet_files(again) == files
    for rel in files:
        assert pq.read_table(again / rel).equals(pq.read_table(population.folder / rel), check_metadata=True), rel


def test_other_seed_gives_other_subjects(population: Population, tmp_path: Path) -> None:
    other = tmp_path / "other"
    generate(RESIDENTS, years=YEARS, seed=SEED + 1, out=other)
    ids = set(person_ids(other))
    mine = {r["subject_id"] for r in population.residents}
    assert len(ids) == RESIDENTS
    assert len(ids & mine) < RESIDENTS // 100  # a few coincidences at most
    theirs = pq.read_table(other / "subjects" / "orgs.parquet").column("subject_id").to_pylist()
    assert set(theirs).isdisjoint(population.orgs.column("subject_id").to_pylist())


# --- 4. records against the policies and the catalog -------------------------------------------------------


def policy_record_types(policy_id: str) -> set[str]:
    policy = builtin_policy(policy_id).policy
    types = {rule.record_type for rule in policy.rules}
    types |= {c.record.record_type for lst in policy.lists for c in lst.criteria if c.record is not None}
    return types


@pytest.mark.parametrize("policy_id", ["beijing", "sesame"])
def test_every_record_type_of_a_shipped_policy_is_generated(population: Population, policy_id: str) -> None:
    generated = set()
    for table in population.records.values():
        generated |= set(pc.unique(table.column("record_type")).to_pylist())
    assert policy_record_types(policy_id) - generated == set()


def test_every_catalog_record_type_is_generated(population: Population) -> None:
    generated = {t for t, n in population.summary.by_type.items() if n > 0}
    # scorecard_feature records are written by `scorecard fit --records` from an outcome file, not drawn
    assert generated == set(load_catalog().record_types) - {"scorecard_feature"}


def test_records_come_from_the_sources_the_catalog_allows(population: Population) -> None:
    catalog = load_catalog()
    assert set(population.records) <= set(catalog.sources)
    for source, table in population.records.items():
        types = set(pc.unique(table.column("record_type")).to_pylist())
        assert types <= set(catalog.sources[source].record_types), source


def test_sources_file_is_the_catalog(population: Population) -> None:
    table = pq.read_table(population.folder / "sources.parquet")
    written = dict(zip(table.column("source_id").to_pylist(), table.column("record_types").to_pylist(), strict=True))
    assert written == {sid: s.record_types for sid, s in load_catalog().sources.items()}


TYPE_CHECKS = {
    "string": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t),
    "integer": pa.types.is_integer,
    "number": lambda t: pa.types.is_floating(t) or pa.types.is_integer(t),
    "boolean": pa.types.is_boolean,
    "date": pa.types.is_date,
}
BASE = ("record_id", "subject_id", "record_type", "event_date")


def test_record_fields_match_the_catalog_schema(population: Population) -> None:
    catalog = load_catalog()
    problems: list[str] = []
    for source, table in population.records.items():
        for record_type in pc.unique(table.column("record_type")).to_pylist():
            rows = table.filter(pc.equal(table.column("record_type"), record_type))
            spec = catalog.record_types[record_type]
            where = f"{source}/{record_type}"
            for name, field in spec.fields.items():
                if name not in rows.column_names:
                    if field.required:
                        problems.append(f"{where}: required field {name} missing")
                    continue
                col = rows.column(name)
                if col.null_count == len(col):  # an all-null column may have any type
                    if field.required:
                        problems.append(f"{where}: required field {name} is all null")
                    continue
                if not TYPE_CHECKS[field.type](col.type):
                    problems.append(f"{where}: {name} is {col.type}, catalog says {field.type}")
                if field.required and col.null_count:
                    problems.append(f"{where}: {name} has {col.null_count} nulls")
                if field.allowed is not None:
                    extra = set(pc.unique(col.drop_null()).to_pylist()) - set(field.allowed)
                    if extra:
                        problems.append(f"{where}: {name} has values {sorted(extra)} not allowed")
                if field.min is not None and pc.min(col).as_py() < field.min:
                    problems.append(f"{where}: {name} min {pc.min(col).as_py()} < {field.min}")
                if field.max is not None and pc.max(col).as_py() > field.max:
                    problems.append(f"{where}: {name} max {pc.max(col).as_py()} > {field.max}")
            for name in set(rows.column_names) - set(spec.fields) - set(BASE):
                if rows.column(name).null_count != rows.num_rows:
                    problems.append(f"{where}: {name} is not a field of {record_type} but has values")
    assert problems == []


def test_records_have_unique_ids_and_dates_in_the_period(population: Population) -> None:
    earliest = AS_OF - dt.timedelta(days=YEARS * 365)
    for source, table in population.records.items():
        for name in BASE:
            assert table.column(name).null_count == 0, (source, name)
        assert duplicates(table.column("record_id").to_pylist()) == {}, source
        assert pa.types.is_date(table.column("event_date").type), source
        dates = table.column("event_date")
        assert earliest < pc.min(dates).as_py() and pc.max(dates).as_py() <= AS_OF, source


def test_records_are_about_generated_subjects(population: Population) -> None:
    persons = {r["subject_id"] for r in population.residents}
    orgs = set(population.orgs.column("subject_id").to_pylist())
    catalog = load_catalog()
    for source, table in population.records.items():
        for record_type, sid in zip(
            table.column("record_type").to_pylist(), table.column("subject_id").to_pylist(), strict=True
        ):
            kind = "person" if sid in persons else "org" if sid in orgs else None
            assert kind in catalog.record_types[record_type].subjects, (source, record_type, sid)


# --- 5. migrants and region-code history --------------------------------------------------------------------


def test_a_third_are_migrants_with_codes_outside_beijing(population: Population) -> None:
    outside = [r["subject_id"][:2] != "11" for r in population.residents]
    assert 0.32 <= sum(outside) / RESIDENTS <= 0.36
    assert outside == [r["migrant"] for r in population.residents]  # the truth agrees with the code


def beijing_born(population: Population) -> list[tuple[str, str, int]]:
    """(today's district code, code in the number, birth year) of every resident with a Beijing code."""
    return [
        (CODE_OF_DISTRICT[r["district"]], r["subject_id"][:6], r["birth_date"].year)
        for r in population.residents
        if r["subject_id"][:2] == "11"
    ]


def test_beijing_codes_were_valid_between_birth_and_today(population: Population) -> None:
    people = beijing_born(population)
    assert len(people) > RESIDENTS // 2
    unknown = {code for _, code, _ in people} - set(BEIJING_CODE_YEARS)
    assert unknown == set()
    assert [p for p in people if not valid_between(p[1], p[2], AS_OF.year)] == []
    # ... and, more strictly, valid in the year the number was first assigned (birth, or the 1984 first card).
    assert [p for p in people if not valid_in(p[1], max(p[2], 1984))] == []


def test_region_codes_follow_the_history_of_the_district(population: Population) -> None:
    wrong = []
    for district, code, born in beijing_born(population):
        assigned = max(born, 1984)
        if district in COUNTY_BEFORE:
            county, became = COUNTY_BEFORE[district]
            # In the year of the change both codes were valid; before it the county's, after it the district's.
            ok = {county, district} if assigned == became else {county} if assigned < became else {district}
        elif district in MERGED_2010:
            ok = {district, MERGED_2010[district]} if assigned < 2010 else {district}
        else:
            ok = {district}
        if code not in ok:
            wrong.append((district, code, born))
    assert wrong == []


def test_region_codes_as_implemented(population: Population) -> None:
    """The exact rule of the generator: the era of _HISTORY covering max(birth year, FIRST_CARD_YEAR)."""
    assert gen.FIRST_CARD_YEAR == 1984
    wrong = []
    for district, code, born in beijing_born(population):
        assigned = max(born, gen.FIRST_CARD_YEAR)
        eras = gen._HISTORY.get(district)
        if eras is None:
            expected = {district, MERGED_2010[district]} if district in MERGED_2010 and assigned < 2010 else {district}
        else:
            expected = {c for c, start, end in eras if start <= assigned < end}
        if code not in expected:
            wrong.append((district, code, born))
    assert wrong == []


def test_history_table_agrees_with_the_region_code_table() -> None:
    assert set(gen._HISTORY) == set(COUNTY_BEFORE)
    for district, eras in gen._HISTORY.items():
        covered = []
        for code, start, end in eras:
            years = range(max(start, gen.FIRST_CARD_YEAR), min(end, AS_OF.year + 1))
            assert all(valid_in(code, y) for y in years), (district, code)
            covered += list(years)
        assert covered == list(range(gen.FIRST_CARD_YEAR, AS_OF.year + 1)), district


@pytest.mark.parametrize(
    ("district", "born", "code"),
    [
        ("110118", range(1900, 1984), "110228"),  # Miyun, before the first cards: the code of 1984
        ("110118", range(1984, 2015), "110228"),  # Miyun county until 2015
        ("110112", range(1900, 1984), "110223"),  # Tongzhou: 通县 in 1984
        ("110112", range(1984, 1997), "110223"),
        ("110112", range(1998, 2027), "110112"),
        ("110111", range(1900, 1986), "110225"),  # Fangshan county until 1986
        ("110115", range(2002, 2027), "110115"),  # Daxing district since 2001
        ("110119", range(1900, 2015), "110229"),  # Yanqing county until 2015
        ("110105", range(1900, 2027), "110105"),  # Chaoyang never changed
    ],
)
def test_region_code_examples(population: Population, district: str, born: range, code: str) -> None:
    group = [c for d, c, b in beijing_born(population) if d == district and b in born]
    assert len(group) >= 10  # the sample has such people
    assert Counter(group) == {code: len(group)}


def test_some_old_numbers_keep_chongwen_and_xuanwu(population: Population) -> None:
    codes = Counter(c for _, c, _ in beijing_born(population))
    assert codes["110103"] > 0
    assert codes["110104"] > 0


# --- 6. volume, ingest and the blacklist --------------------------------------------------------------------


def test_records_per_resident(population: Population) -> None:
    total = sum(t.num_rows for t in population.records.values())
    persons = {r["subject_id"] for r in population.residents}
    about_persons = sum(
        sum(1 for s in t.column("subject_id").to_pylist() if s in persons) for t in population.records.values()
    )
    assert 15 <= total / RESIDENTS <= 25
    assert 15 <= about_persons / RESIDENTS <= 25


def test_summary_matches_the_files(population: Population) -> None:
    s = population.summary
    assert s.residents == RESIDENTS
    assert s.out == population.folder
    assert s.organisations == population.orgs.num_rows
    assert s.records == sum(t.num_rows for t in population.records.values())
    on_disk: Counter[str] = Counter()
    for table in population.records.values():
        on_disk.update(table.column("record_type").to_pylist())
    assert {k: v for k, v in s.by_type.items() if v} == dict(on_disk)


def test_ingest_rejects_nothing(population: Population, loaded: tuple[Store, list[IngestReport]]) -> None:
    _, reports = loaded
    errors = [(Path(r.file).name, str(e)) for r in reports for e in r.errors[:3]]
    assert errors == []
    assert sum(r.rejected for r in reports) == 0
    subjects = [r for r in reports if r.kind == "subjects"]
    assert sum(r.accepted for r in subjects) == RESIDENTS + population.orgs.num_rows
    assert sum(r.accepted for r in reports if r.kind == "records") == population.summary.records


def test_store_derives_birth_date_and_sex_as_the_truth(
    population: Population, loaded: tuple[Store, list[IngestReport]]
) -> None:
    store, _ = loaded
    stored = {
        r["subject_id"]: (r["birth_date"], r["sex"], r["region_code"])
        for r in store.rows("SELECT subject_id, birth_date, sex, region_code FROM subjects WHERE kind = 'person'")
    }
    assert len(stored) == RESIDENTS
    truth = {r["subject_id"]: (r["birth_date"], r["sex"], r["subject_id"][:6]) for r in population.residents}
    assert stored == truth


def test_blacklist_share_is_about_one_percent(
    loaded: tuple[Store, list[IngestReport]], beijing_run: RunSummary
) -> None:
    store, _ = loaded
    persons = store.one("SELECT count(*) FROM run_results WHERE run_id = ? AND kind = 'person'", [beijing_run.run_id])
    listed = store.one(
        "SELECT count(DISTINCT e.subject_id) FROM run_list_entries e JOIN run_results r "
        "ON r.run_id = e.run_id AND r.subject_id = e.subject_id "
        "WHERE e.run_id = ? AND e.list_id = 'blacklist' AND r.kind = 'person'",
        [beijing_run.run_id],
    )
    assert persons == RESIDENTS
    assert 0.005 <= listed / persons <= 0.02


# --- 7. consents ----------------------------------------------------------------------------------------------


def test_consent_share_and_persons_only(population: Population, loaded: tuple[Store, list[IngestReport]]) -> None:
    consents = population.consents.to_pylist()
    persons = {r["subject_id"] for r in population.residents}
    ids = [c["subject_id"] for c in consents]
    assert 0.22 <= len(consents) / RESIDENTS <= 0.28
    assert duplicates(ids) == {}
    assert set(ids) <= persons
    assert set(ids).isdisjoint(population.orgs.column("subject_id").to_pylist())
    assert {(c["category"], c["granted"]) for c in consents} == {("commercial", True)}
    assert "commercial" in builtin_policy("sesame").policy.consent.categories
    store, _ = loaded
    assert store.one("SELECT count(*) FROM consents") == len(consents)


# --- 8. chunks ------------------------------------------------------------------------------------------------


def test_chunked_generation_gives_the_same_population_size_with_unique_valid_ids(
    population: Population, tmp_path: Path
) -> None:
    folder = tmp_path / "chunked"
    summary = generate(RESIDENTS, years=YEARS, seed=SEED, out=folder, chunk=7000)
    assert summary.residents == RESIDENTS
    assert len(list((folder / "subjects").glob("part-*.parquet"))) == 3
    subjects = read_all(sorted((folder / "subjects").glob("part-*.parquet")))
    ids = subjects.column("subject_id").to_pylist()
    assert len(ids) == RESIDENTS
    assert duplicates(ids) == {}
    assert invalid_rics(ids) == []
    assert Counter(subjects.column("district").to_pylist()) == Counter(r["district"] for r in population.residents)
    for source in (folder / "records").iterdir():
        rids = read_all(sorted(source.glob("*.parquet"))).column("record_id").to_pylist()
        assert duplicates(rids) == {}, source.name


@pytest.mark.parametrize("chunk", [1_000_000, 10_000])
def test_ids_do_not_collide_across_chunks_at_scale(tmp_path: Path, chunk: int) -> None:
    """With more residents, more of them share region code and birth date; their numbers must stay distinct
    whatever the chunk size (a full Beijing is 21.9 million residents in chunks of a million)."""
    generate(100_000, years=1, seed=SEED, out=tmp_path, chunk=chunk)
    ids = person_ids(tmp_path)
    assert len(ids) == 100_000
    assert duplicates(ids) == {}
