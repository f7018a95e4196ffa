"""Subject files: identifiers are checked set-based in SQL with Python only for the ones that fail there; the
outcome of every row must be exactly what the one-by-one validator says."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialcredit.catalog import load_catalog
from socialcredit.errors import IdentifierError
from socialcredit.identifiers import make_ric, make_uscc, validate_subject_id
from socialcredit.registry.records.ingest import RowError, ingest_file
from socialcredit.store import Store, open_store

TODAY = dt.date(2026, 1, 1)
GOOD = make_ric("110101", dt.date(1985, 1, 2), 3)  # a man (sequence 003 is odd)
WOMAN = make_ric("110105", dt.date(1990, 6, 30), 12)
MIGRANT = make_ric("510104", dt.date(1979, 2, 28), 101)  # Chengdu, Jinjiang: a migrant's birthplace code
ORG = make_uscc("91110000600037341")
OLD_CODE = make_ric("110228", dt.date(1960, 1, 1), 1)  # 密云县 until 2015: valid for someone born in 1960
GONE_CODE = make_ric("110228", dt.date(2020, 1, 1), 1)  # ...but not for someone born in 2020
GONE = "(密云县), in use 1982-2015 only: gone before the birth year"


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(header)
        out.writerows(rows)
    return path


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return open_store(tmp_path / "s.duckdb", create=True, key="")


def test_each_kind_of_bad_subject_row_gets_its_message(store: Store, tmp_path: Path) -> None:
    bad_check = GOOD[:17] + ("0" if GOOD[17] != "0" else "1")
    future = make_ric("110101", dt.date(2027, 1, 1), 5)
    rows = [
        [GOOD, "张三", "dongcheng", "education"],
        [WOMAN.lower(), "李四", "xicheng", ""],
        [f" {MIGRANT[:9]} {MIGRANT[9:]}", "王五", "haidian", "medical"],
        [ORG, "北京某公司", "chaoyang", ""],
        [OLD_CODE, "赵六", "miyun", ""],
        [bad_check, "钱七", "", ""],
        [GONE_CODE, "孙八", "", ""],
        [future, "周九", "", ""],
        ["", "吴十", "", ""],
        [make_ric("110101", dt.date(1970, 3, 3), 7), "", "", "astronaut"],
        [GOOD, "张三", "dongcheng", "education"],
    ]
    path = _write(tmp_path / "subjects.csv", ["subject_id", "name", "district", "profession"], rows)
    report = ingest_file(store, path, "civil_affairs", today=TODAY)

    def msg(value: str) -> str:
        with pytest.raises(IdentifierError) as info:
            validate_subject_id(value, today=TODAY)
        return str(info.value)

    professions = ", ".join(load_catalog().professions)
    assert report.errors == [
        RowError(6, "subject_id", msg(bad_check)),
        RowError(7, "subject_id", f"resident identity number '{GONE_CODE}' has region code 110228 {GONE} 2020"),
        RowError(8, "subject_id", f"resident identity number '{future}' has a birth date in the future 20270101"),
        RowError(9, "subject_id", "is required"),
        RowError(10, "name", "is required"),
        RowError(10, "profession", f"'astronaut' is not a profession of the catalog; allowed: {professions}"),
        RowError(11, "subject_id", "appears more than once in this file (first at row 1)"),
    ]
    assert (report.accepted, report.unchanged, report.rejected) == (5, 0, 6)
    got = store.rows(
        "SELECT subject_id, kind, birth_date, sex, region_code, subject_key FROM subjects ORDER BY subject_key"
    )
    assert [(r["subject_id"], r["kind"], r["birth_date"], r["sex"], r["region_code"]) for r in got] == [
        (GOOD, "person", dt.date(1985, 1, 2), "M", "110101"),
        (WOMAN, "person", dt.date(1990, 6, 30), "F", "110105"),
        (MIGRANT, "person", dt.date(1979, 2, 28), "M", "510104"),
        (ORG, "org", None, None, "110000"),
        (OLD_CODE, "person", dt.date(1960, 1, 1), "M", "110228"),
    ]
    assert [r["subject_key"] for r in got] == [1, 2, 3, 4, 5]
    assert store.one("SELECT count(*) FROM subject_keys") == 5


def test_a_mistyped_identity_number_is_never_registered_as_an_organisation(store: Store, tmp_path: Path) -> None:
    """An identity number with a wrong check digit, an impossible birth date or a region code gone before the birth
    year is a valid credit code 1 time in 31 (these three are): it was registered as an organisation's, its person
    under a number that is not theirs, and their records refused as 'cannot be about organisations'."""
    mistyped = ["110105200101248673", "11010118991231001X", "110228201603010149"]
    rows = [[mistyped[0], "张三"], [mistyped[1], "李四"], [mistyped[2], "王五"], [ORG, "公司"]]
    path = _write(tmp_path / "subjects.csv", ["subject_id", "name"], rows)
    report = ingest_file(store, path, "civil_affairs", today=TODAY)
    number = "resident identity number"
    assert report.errors == [
        RowError(1, "subject_id", f"{number} '110105200101248673' has check character '3'; expected '0'"),
        RowError(2, "subject_id", f"{number} '11010118991231001X' has an impossible birth date 18991231"),
        RowError(3, "subject_id", f"{number} '110228201603010149' has region code 110228 {GONE} 2016"),
    ]
    assert store.rows("SELECT subject_id, kind FROM subjects") == [{"subject_id": ORG, "kind": "org"}]


def test_resending_is_unchanged_and_a_change_keeps_the_key(store: Store, tmp_path: Path) -> None:
    header = ["subject_id", "name", "district"]
    first = _write(tmp_path / "a.csv", header, [[GOOD, "张三", "dongcheng"], [WOMAN, "李四", "xicheng"]])
    assert ingest_file(store, first, "civil_affairs", today=TODAY).accepted == 2
    again = ingest_file(store, first, "civil_affairs", today=TODAY)
    assert (again.accepted, again.unchanged) == (0, 2)
    moved = _write(tmp_path / "b.csv", header, [[WOMAN, "李四", "haidian"], [MIGRANT, "王五", "fengtai"]])
    report = ingest_file(store, moved, "civil_affairs", today=TODAY)
    assert (report.accepted, report.unchanged) == (2, 0)
    keys = store.rows("SELECT subject_id, subject_key, district FROM subjects ORDER BY seq")
    assert [(r["subject_id"], r["subject_key"], r["district"]) for r in keys] == [
        (GOOD, 1, "东城区"),  # (an English name is stored as the district's name)
        (WOMAN, 2, "西城区"),
        (WOMAN, 2, "海淀区"),
        (MIGRANT, 3, "丰台区"),
    ]


def test_a_column_the_file_lacks_keeps_each_subjects_value(store: Store, tmp_path: Path) -> None:
    """A file of names alone says nothing of a district or a profession: each subject keeps those it has (an
    accountant's stricter rules still apply). Until 2026-12-06 such a file made a new version of every subject with
    no district and no profession. A column present with an empty value still clears it."""
    full = _write(
        tmp_path / "a.csv",
        ["subject_id", "name", "district", "profession"],
        [[GOOD, "张三", "东城区", "accounting"], [WOMAN, "李四", "西城区", "medical"]],
    )
    assert ingest_file(store, full, "civil_affairs", today=TODAY).accepted == 2
    names = _write(tmp_path / "b.csv", ["subject_id", "name"], [[GOOD, "张三"], [WOMAN, "李思"], [MIGRANT, "王五"]])
    report = ingest_file(store, names, "civil_affairs", today=TODAY)
    assert (report.accepted, report.unchanged) == (2, 1)  # 李四 renamed, 王五 new; 张三 as he was
    cleared = _write(tmp_path / "c.csv", ["subject_id", "name", "profession"], [[GOOD, "张三", ""]])
    assert ingest_file(store, cleared, "civil_affairs", today=TODAY).accepted == 1
    rows = store.rows("SELECT subject_id, name, district, profession FROM subjects ORDER BY seq")
    assert [(r["subject_id"], r["name"], r["district"], r["profession"]) for r in rows] == [
        (GOOD, "张三", "东城区", "accounting"),
        (WOMAN, "李四", "西城区", "medical"),
        (WOMAN, "李思", "西城区", "medical"),
        (MIGRANT, "王五", None, None),
        (GOOD, "张三", "东城区", None),
    ]


def test_a_key_a_record_lacks_keeps_the_subjects_value_record_by_record(store: Store, tmp_path: Path) -> None:
    """In NDJSON a record says what it sends by its keys, whatever the file's other records hold: one without a
    district keeps the subject's, one with ``"district": null`` clears it. Until 2026-12-06 the file's columns (the
    keys of all its records) decided: 李四's record of a name alone cleared her district and profession when another
    record of the file had those keys, and kept them when sent alone."""
    full = [
        {"subject_id": GOOD, "name": "张三", "district": "东城区", "profession": "accounting"},
        {"subject_id": WOMAN, "name": "李四", "district": "西城区", "profession": "medical"},
    ]
    path = tmp_path / "a.ndjson"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in full), encoding="utf-8")
    assert ingest_file(store, path, "civil_affairs", today=TODAY).accepted == 2
    same = [full[0], {"subject_id": WOMAN, "name": "李四"}]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in same), encoding="utf-8")
    report = ingest_file(store, path, "civil_affairs", today=TODAY)
    assert (report.accepted, report.unchanged) == (0, 2)
    changed = [
        {"subject_id": GOOD, "name": "张三", "district": None},
        {"subject_id": WOMAN, "name": "李思"},
        {"subject_id": MIGRANT, "name": "王五", "profession": "education"},
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in changed), encoding="utf-8")
    report = ingest_file(store, path, "civil_affairs", today=TODAY)
    assert (report.accepted, report.unchanged) == (3, 0)
    rows = store.rows("SELECT subject_id, name, district, profession FROM subjects ORDER BY seq")
    assert [(r["subject_id"], r["name"], r["district"], r["profession"]) for r in rows][2:] == [
        (GOOD, "张三", None, "accounting"),
        (WOMAN, "李思", "西城区", "medical"),
        (MIGRANT, "王五", None, "education"),
    ]


# Identifiers near valid ones: one character changed, dropped, doubled or swapped, a lower-case x, spaces, a
# full-width digit or x, a zero-width space.
def _mutate(base: str, how: int, pos: int, char: str) -> str:
    pos %= len(base)
    if how == 0:
        return base[:pos] + char + base[pos + 1 :]
    if how == 1:
        return base[:pos] + base[pos + 1 :]
    if how == 2:
        return base[:pos] + base[pos] + base[pos:]
    if how == 3 and pos < len(base) - 1:
        return base[:pos] + base[pos + 1] + base[pos] + base[pos + 2 :]
    if how == 4:
        return base[:pos] + " " + base[pos:]
    return base.replace("X", "x")


identifiers = st.one_of(
    st.builds(
        make_ric,
        st.sampled_from(["110101", "110228", "510104", "999999", "110000", "130101"]),
        st.dates(dt.date(1890, 1, 1), dt.date(2030, 12, 31)),
        st.integers(0, 999),
    ).flatmap(
        lambda ric: st.builds(
            _mutate, st.just(ric), st.integers(0, 6), st.integers(0, 17), st.sampled_from("0123456789XxA１ｘ\u200b")
        )
    ),
    st.builds(make_uscc, st.sampled_from(["91110000600037341", "12100000400000624"])),
    st.text(alphabet="0123456789X", min_size=17, max_size=19),
)


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(identifiers, min_size=1, max_size=25, unique=True))
def test_set_based_checks_agree_with_the_validator(tmp_path_factory: pytest.TempPathFactory, values: list) -> None:
    folder = tmp_path_factory.mktemp("ids")
    store = open_store(folder / "s.duckdb", create=True, key="")
    path = _write(folder / "s.csv", ["subject_id", "name"], [[v, "某"] for v in values])
    report = ingest_file(store, path, "civil_affairs", today=TODAY)
    expected_errors = []
    expected_rows = {}
    for row, value in enumerate(values, start=1):
        try:
            parsed = validate_subject_id(value.strip(), today=TODAY)
        except IdentifierError as exc:
            expected_errors.append(RowError(row, "subject_id", str(exc)))
            continue
        if parsed.number in expected_rows:
            first = next(i for i, v in enumerate(values, 1) if validate_subject_id_or_none(v) == parsed.number)
            expected_errors.append(
                RowError(row, "subject_id", f"appears more than once in this file (first at row {first})")
            )
            continue
        expected_rows[parsed.number] = parsed
    assert report.errors == expected_errors
    stored = {r["subject_id"]: r for r in store.rows("SELECT * FROM subjects")}
    assert set(stored) == set(expected_rows)
    for number, parsed in expected_rows.items():
        assert stored[number]["region_code"] == parsed.region_code
        assert stored[number]["birth_date"] == getattr(parsed, "birth_date", None)
        assert stored[number]["sex"] == getattr(parsed, "sex", None)


def validate_subject_id_or_none(value: str) -> str | None:
    try:
        return validate_subject_id(value.strip(), today=TODAY).number
    except IdentifierError:
        return None


def test_full_width_and_invisible_characters_in_a_subjects_file(store: Store, tmp_path: Path) -> None:
    full_width = GOOD.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    rows = [[full_width, "张三"], [f"\ufeff{WOMAN}", "李四"], [f"{ORG.lower()}\u200b", "北京某公司"], [GOOD, "张三"]]
    path = _write(tmp_path / "subjects.csv", ["subject_id", "name"], rows)
    report = ingest_file(store, path, "civil_affairs", today=TODAY)
    assert report.errors == [RowError(4, "subject_id", "appears more than once in this file (first at row 1)")]
    assert [r["subject_id"] for r in store.rows("SELECT subject_id FROM subjects ORDER BY subject_key")] == [
        GOOD,
        WOMAN,
        ORG,
    ]


def test_a_records_subject_id_is_compacted_as_in_a_subjects_file(store: Store, tmp_path: Path) -> None:
    person = make_ric("110101", dt.date(1985, 1, 2), 8)
    assert person.endswith("X")
    subjects = _write(tmp_path / "subjects.csv", ["subject_id", "name"], [[person, "张三"], [ORG, "北京某公司"]])
    assert ingest_file(store, subjects, "civil_affairs", today=TODAY).accepted == 2
    sent = [
        person.lower(),
        f" {person[:6]} {person[6:14]} {person[14:]} ",
        person.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")),
        f"\u200b{person}",
        ORG.lower(),
        "\u200b",
        "110101850102008",
    ]
    header = ["record_id", "subject_id", "record_type", "event_date", "amount", "status"]
    rows = [[f"r{i}", sid, "tax_payment", "2025-01-01", "10", "paid"] for i, sid in enumerate(sent, start=1)]
    report = ingest_file(store, _write(tmp_path / "records.csv", header, rows), "tax_bureau", today=TODAY)
    assert report.errors == [
        RowError(6, "subject_id", "is required"),
        RowError(
            7,
            "subject_id",
            "subject id '110101850102008' has 15 digits, the form of an identity number before 1999 (or of a "
            "business registration number before 2015); expected the 18-character resident identity number or "
            "unified social credit code",
        ),
    ]
    stored = store.rows("SELECT record_id, subject_id, subject_key FROM records ORDER BY record_id")
    assert [(r["record_id"], r["subject_id"], r["subject_key"]) for r in stored] == [
        ("r1", person, 1),
        ("r2", person, 1),
        ("r3", person, 1),
        ("r4", person, 1),
        ("r5", ORG, 2),
    ]


def test_a_control_character_in_a_name_or_district_is_refused(store: Store, tmp_path: Path) -> None:
    people = [make_ric("110101", dt.date(1985, 1, 2), n) for n in (1, 3, 5, 7, 9, 11, 13)]
    rows = [
        [people[0], "张三", "东城区"],
        [people[1], "张\x00三", "东城区"],
        [people[2], "李\n四", "西城区"],
        [people[3], "\x1b[31m王五", "海淀区"],
        [people[4], "赵六", "朝阳\x7f区"],
        # a bidirectional override or isolate reorders what follows it on a page: "Trojan Source"
        [people[5], "Li\u202eeW", "东城区"],
        [people[6], "孙七", "西城\u2066区"],
    ]
    path = _write(tmp_path / "subjects.csv", ["subject_id", "name", "district"], rows)
    report = ingest_file(store, path, "civil_affairs", today=TODAY)
    assert report.errors == [
        RowError(2, "name", "has a control character (U+0000); a name is printable text"),
        RowError(3, "name", "has a control character (U+000A); a name is printable text"),
        RowError(4, "name", "has a control character (U+001B); a name is printable text"),
        RowError(5, "district", "has a control character (U+007F); a district is printable text"),
        RowError(6, "name", "has a control character (U+202E); a name is printable text"),
        RowError(7, "district", "has a control character (U+2066); a district is printable text"),
    ]
    assert [r["name"] for r in store.rows("SELECT name FROM subjects")] == ["张三"]


def test_a_district_of_beijing_written_otherwise_is_stored_as_its_name(store: Store, tmp_path: Path) -> None:
    """A district of Beijing written otherwise (its English name in any case, its code, a former district or county
    absorbed whole) is stored as its name, so that the dashboard counts its residents there; any other district is
    stored as sent (another city's catalog names its own: 荣成市's stores are scored under their own districts)."""
    people = [make_ric("110101", dt.date(1985, 1, 2), n) for n in range(1, 20, 2)]
    sent = ["海淀区", "Haidian", "HAIDIAN", "110108", "宣武区", "密云县", "110228", "Narnia", "北京市海淀区", "荣成市"]
    rows = [[p, f"居民{i}", d] for i, (p, d) in enumerate(zip(people, sent, strict=True))]
    report = ingest_file(
        store, _write(tmp_path / "s.csv", ["subject_id", "name", "district"], rows), "civil_affairs", today=TODAY
    )
    assert (report.accepted, report.errors) == (10, [])
    stored = store.rows("SELECT subject_id, district FROM subjects ORDER BY subject_id")
    expected = ["海淀区"] * 4 + ["西城区", "密云区", "密云区", "Narnia", "北京市海淀区", "荣成市"]
    assert [(r["subject_id"], r["district"]) for r in stored] == sorted(zip(people, expected, strict=True))


def test_a_name_is_stored_in_its_canonical_form(store: Store, tmp_path: Path) -> None:
    """A name typed with a compatibility ideograph (金 as U+F90A) or a letter and a combining accent is stored in
    NFC, so that it is one name with the same name typed plainly: sent again plainly, it is unchanged."""
    people = [make_ric("110101", dt.date(1985, 1, 2), n) for n in (1, 3)]
    odd = _write(tmp_path / "a.csv", ["subject_id", "name"], [[people[0], "\uf90a三"], [people[1], "Jose\u0301 Li"]])
    assert ingest_file(store, odd, "civil_affairs", today=TODAY).accepted == 2
    names = store.rows("SELECT name FROM subjects ORDER BY subject_id")
    assert [r["name"] for r in names] == ["\u91d1三", "Jos\u00e9 Li"]
    plain = _write(tmp_path / "b.csv", ["subject_id", "name"], [[people[0], "\u91d1三"], [people[1], "Jos\u00e9 Li"]])
    again = ingest_file(store, plain, "civil_affairs", today=TODAY)
    assert (again.accepted, again.unchanged) == (0, 2)


@pytest.mark.parametrize("suffix", [".csv", ".ndjson"])
def test_a_value_of_spaces_alone_is_missing(store: Store, tmp_path: Path, suffix: str) -> None:
    """A name of spaces (ASCII or ideographic) was stored as '', a subject of no name; a district of spaces was ''."""
    people = [make_ric("110101", dt.date(1985, 1, 2), n) for n in (1, 3)]
    rows = [[people[0], "   ", "海淀区"], [people[1], "李四", "\u3000 "]]
    if suffix == ".csv":
        path = _write(tmp_path / "s.csv", ["subject_id", "name", "district"], rows)
    else:
        path = tmp_path / "s.ndjson"
        lines = [json.dumps(dict(zip(["subject_id", "name", "district"], r, strict=True))) for r in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = ingest_file(store, path, "civil_affairs", today=TODAY)
    assert report.errors == [RowError(1, "name", "is required")]
    stored = store.rows("SELECT subject_id, name, district FROM subjects")
    assert [(r["subject_id"], r["name"], r["district"]) for r in stored] == [(people[1], "李四", None)]
