"""What the registration authority sends (company_role rows) and what each bad row is told, through the console
script (CSV and NDJSON, in English and Chinese) and the service (a batch over HTTP): a period that ends before it
starts or starts after the day it is received; an org_id that is a person's identity number; an organisation not
registered (taken, and said)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from api_helpers import auth, serve
from cli_helpers import CLI
from socialcredit.api.app import create_app
from socialcredit.catalog import parse_catalog, shipped_catalog_text
from socialcredit.clock import TODAY_ENV
from socialcredit.errors import IdentifierError
from socialcredit.identifiers import make_ric, make_uscc, ric_check_char, validate_subject_id
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.records import ingest
from socialcredit.store import open_store
from store_copies import copied

TODAY = dt.date(2026, 6, 30)
PERSON = make_ric("110105", dt.date(1980, 3, 4), 15)
COMPANY = make_uscc("91110105000000001")
LATER_COMPANY = make_uscc("91110105000000002")  # registered after its roles
OTHER = make_ric("110105", dt.date(1990, 1, 1), 11)  # a person registered
STRANGER = make_ric("110108", dt.date(1985, 5, 5), 23)  # a valid identity number nobody registered
HEADER = ("record_id", "subject_id", "record_type", "event_date", "org_id", "role", "start_date", "end_date")


def _run(db: Path, *args: str, today: dt.date = TODAY) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALCREDIT_")}
    env |= {TODAY_ENV: today.isoformat(), "COLUMNS": "400"}
    return subprocess.run([CLI, *args, "--db", str(db)], capture_output=True, text=True, env=env, check=False)


def _registered(folder: Path) -> None:
    """One person, another person and one company registered by civil_affairs on TODAY, in ``city.duckdb``."""
    subjects = folder / "subjects.csv"
    subjects.write_text(f"subject_id,name\n{PERSON},张三\n{OTHER},李四\n{COMPANY},某某科技有限公司\n", encoding="utf-8")
    with open_store(folder / "city.duckdb", create=True, key="") as store:
        report = ingest.ingest_file(store, subjects, "civil_affairs", today=TODAY)
    assert (report.accepted, report.errors) == (3, []), report.errors


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A store of two persons and one company, registered in process once per worker and copied for each test
    (what the console script's ``init`` and ``ingest`` of them would store: batch 1)."""
    copied(tmp_path, "role-rows-registered", _registered)
    return tmp_path / "city.duckdb"


def _role(record_id: str, start: str, end: str = "", **more: str) -> dict[str, str]:
    values = (record_id, PERSON, "company_role", "2026-01-01", COMPANY, "director", start, end)
    row = dict(zip(HEADER, values, strict=True))
    return row | more


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    if path.suffix == ".csv":
        cols = list(rows[0])
        path.write_text("\n".join([",".join(cols), *(",".join(r[c] for c in cols) for r in rows)]) + "\n")
    else:  # NDJSON: an empty end date is no key
        path.write_text("".join(json.dumps({k: v for k, v in r.items() if v}) + "\n" for r in rows))
    return path


def _ingest(
    db: Path, file: Path, lang: str, today: dt.date = TODAY, source: str = "registration_authority"
) -> tuple[int, list[str]]:
    """The exit code and what follows the summary (the file's name taken off each row's line; no reject file's)."""
    done = _run(db, "ingest", str(file), "--source", source, "--lang", lang, today=today)
    lines = [line for line in done.stdout.splitlines()[1:] if "rejects.csv" not in line]
    return done.returncode, [line.split(f"{file}: ", 1)[-1].split(f"{file}：", 1)[-1] for line in lines]


PERIODS = [
    _role("R-ENDS-BEFORE", "2026-01-01", "2025-12-31"),
    _role("R-LATER", "2026-07-01"),
    _role("R-SAME-DAY", "2026-03-01", "2026-03-01"),  # held for no day: a role counts until, not on, its end
    _role("R-TODAY", "2026-06-30"),
    _role("R-ONE-DAY", "2026-03-01", "2026-03-02"),  # held for its one day, 2026-03-01
]


def _ends_by_start(end: str, start: str) -> tuple[str, str]:
    return (
        f"end_date {end} is not after start_date {start}: a role is held from the day it starts until, not on, the "
        "day it ends",
        f"结束日期 end_date {end} 不晚于开始日期 start_date {start}：任职自开始之日起，至结束之日前一日止",
    )


ENDS_BEFORE = _ends_by_start("2025-12-31", "2026-01-01")
SAME_DAY = _ends_by_start("2026-03-01", "2026-03-01")
LATER = (
    "start_date 2026-07-01 is after 2026-06-30, the day the record is received: a period is sent once it has started",
    "开始日期 start_date 2026-07-01 晚于收到记录之日 2026-06-30：期间开始后才能报送",
)


@pytest.mark.parametrize("suffix", [".csv", ".ndjson"])
def test_a_role_ending_before_it_starts_or_starting_after_today_is_refused_naming_both_dates(
    db: Path, tmp_path: Path, suffix: str
) -> None:
    """Until 2026-12-07 both rows were stored silently: a role held for no day, and one not held yet that
    ``role_is_current`` would start counting on its own."""
    file = _write(tmp_path / f"roles{suffix}", PERIODS)
    said = {lang: _ingest(db, file, lang) for lang in ("en", "zh")}
    assert said["en"] == (
        1,
        [f"row 1: end_date: {ENDS_BEFORE[0]}", f"row 2: start_date: {LATER[0]}", f"row 3: end_date: {SAME_DAY[0]}"],
    )
    assert said["zh"] == (
        1,
        [
            f"第 1 行：end_date：{ENDS_BEFORE[1]}",
            f"第 2 行：start_date：{LATER[1]}",
            f"第 3 行：end_date：{SAME_DAY[1]}",
        ],
    )
    with open_store(db, key="") as store:
        stored = store.execute(
            "SELECT record_id FROM records WHERE record_type = 'company_role' ORDER BY record_id"
        ).fetchall()
    assert stored == [("R-ONE-DAY",), ("R-TODAY",)]


def test_a_withdrawal_of_a_role_is_not_asked_its_period(db: Path, tmp_path: Path) -> None:
    """A withdrawal sends the record as received, and a record received before a check holds its dates as they
    were: its withdrawal is taken (here a role starting on 2026-07-01, received when the registry's day was
    2026-08-01, withdrawn on 2026-06-30). A correction that makes a period end before it starts is refused."""
    sent = _write(tmp_path / "sent.csv", [_role("R-OLD", "2026-07-01"), _role("R-NEW", "2026-02-01")])
    assert _ingest(db, sent, "en", today=dt.date(2026, 8, 1)) == (0, [])
    file = _write(
        tmp_path / "withdraw.csv",
        [
            _role("R-OLD", "2026-07-01", withdrawn="true", correction="false"),
            _role("R-NEW", "2026-02-01", "2026-01-31", withdrawn="false", correction="true"),
        ],
    )
    assert _ingest(db, file, "en") == (
        1,
        [f"row 2: end_date: {_ends_by_start('2026-01-31', '2026-02-01')[0]}"],
    )
    with open_store(db, key="") as store:
        latest = store.execute(
            "SELECT record_id, max(version), bool_or(withdrawn) FROM records GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    assert latest == [("R-NEW", 1, False), ("R-OLD", 2, True)]


ORGS = [
    _role("R-STRANGER", "2026-01-01", org_id=STRANGER),
    _role("R-PERSON", "2026-01-01", org_id=OTHER),
    _role("R-LATER", "2026-01-01", org_id=LATER_COMPANY),
    _role("R-LATER-2", "2026-02-01", org_id=LATER_COMPANY, role="supervisor"),
    _role("R-COMPANY", "2026-01-01"),
]
STRANGER_SAID = (
    f"'{STRANGER}' is a person's identity number; a role names its organisation by its unified social credit code",
    f"“{STRANGER}”是个人的居民身份证号码；任职记录须以统一社会信用代码写明所在组织",
)
OTHER_SAID = (
    f"'{OTHER}' is a person's identity number; a role names its organisation by its unified social credit code",
    f"“{OTHER}”是个人的居民身份证号码；任职记录须以统一社会信用代码写明所在组织",
)
NOT_REGISTERED = (
    f"2 roles name an organisation not registered: {LATER_COMPANY} (taken; each links to its organisation once it is "
    "registered, and to none before)",
    f"2 条任职记录所写的组织尚未登记：{LATER_COMPANY}（记录已接受；组织登记后即与之关联，之前不关联任何组织）",
)


def test_a_role_naming_a_person_as_its_organisation_is_refused_and_one_not_registered_is_taken_and_said(
    db: Path, tmp_path: Path
) -> None:
    """Until 2026-12-07 a person's number (registered or not) was stored as a role's organisation, and an
    organisation not registered was taken without a word. The organisation registered later, the same file is
    unchanged (its org_id stored as sent) and says nothing more."""
    file = _write(tmp_path / "orgs.csv", ORGS)
    assert _ingest(db, file, "en") == (
        1,
        [NOT_REGISTERED[0], f"row 1: org_id: {STRANGER_SAID[0]}", f"row 2: org_id: {OTHER_SAID[0]}"],
    )
    assert _ingest(db, file, "zh") == (
        1,
        [NOT_REGISTERED[1], f"第 1 行：org_id：{STRANGER_SAID[1]}", f"第 2 行：org_id：{OTHER_SAID[1]}"],
    )
    later = tmp_path / "later.csv"
    later.write_text(f"subject_id,name\n{LATER_COMPANY},后来登记的公司\n", encoding="utf-8")
    assert _ingest(db, later, "en", source="civil_affairs") == (0, [])
    done = _run(db, "ingest", str(_write(tmp_path / "again.csv", ORGS[2:])), "--source", "registration_authority")
    assert (done.returncode, done.stdout.splitlines()) == (
        0,
        [f"{tmp_path / 'again.csv'}: 3 rows: 0 accepted, 3 unchanged, 0 rejected (batch 5)"],
    )


def test_a_batch_over_http_is_refused_for_a_period_as_a_file_is(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TODAY_ENV, TODAY.isoformat())
    store = open_store(db, key="")
    try:
        token = issue_key(store, "furnisher", "the market regulator", source="registration_authority").token
        rows = "".join(json.dumps({k: v for k, v in r.items() if v}) + "\n" for r in PERIODS).encode()
        with serve(create_app(db, store=store)) as client:
            said: dict[str, Any] = {}
            for lang in ("en", "zh"):
                r = client.post(
                    f"/v1/records?lang={lang}",
                    content=rows,
                    headers={**auth(token), "content-type": "application/x-ndjson"},
                )
                said[lang] = (r.status_code, r.json()["errors"])
            orgs = "".join(json.dumps(r) + "\n" for r in ORGS[2:]).encode()
            taken = client.post(
                "/v1/records", content=orgs, headers={**auth(token), "content-type": "application/x-ndjson"}
            )
    finally:
        store.close()
    assert said["en"] == (
        422,
        [
            {"row": 1, "field": "end_date", "message": ENDS_BEFORE[0]},
            {"row": 2, "field": "start_date", "message": LATER[0]},
            {"row": 3, "field": "end_date", "message": SAME_DAY[0]},
        ],
    )
    assert said["zh"] == (
        422,
        [
            {"row": 1, "field": "end_date", "message": ENDS_BEFORE[1]},
            {"row": 2, "field": "start_date", "message": LATER[1]},
            {"row": 3, "field": "end_date", "message": SAME_DAY[1]},
        ],
    )
    assert taken.status_code == 200, taken.text
    assert {k: v for k, v in taken.json().items() if k.startswith(("unregistered", "accepted"))} == {
        "accepted": 3,
        "unregistered_org_roles": 2,
        "unregistered_org_count": 1,
        "unregistered_orgs": [LATER_COMPANY],
    }


WRONG_CHECK = PERSON[:-1] + ("0" if PERSON[-1] != "0" else "1")
MALFORMED = [
    (
        WRONG_CHECK,
        f"resident identity number '{WRONG_CHECK}' has check character '{WRONG_CHECK[-1]}'; expected '{PERSON[-1]}'",
        f"居民身份证号码 '{WRONG_CHECK}' 的校验码为 '{WRONG_CHECK[-1]}'；应为 '{PERSON[-1]}'",
    ),
    (
        "990000198003040151",
        "resident identity number '990000198003040151' has an unknown region code 990000",
        "居民身份证号码 '990000198003040151' 的地区代码 990000 不存在",
    ),
    (
        "110105198013040159",
        "resident identity number '110105198013040159' has an impossible birth date 19801304",
        "居民身份证号码 '110105198013040159' 的出生日期 19801304 不可能",
    ),
    (
        STRANGER,  # well formed, registered by nobody
        f"no registered subject '{STRANGER}' (subjects are registered through the civil_affairs source)",
        f"没有已登记的当事人“{STRANGER}”（当事人经 civil_affairs 来源登记）",
    ),
]


@pytest.mark.parametrize("suffix", [".csv", ".ndjson"])
def test_a_row_naming_a_malformed_identity_number_is_told_why_it_is_none(db: Path, tmp_path: Path, suffix: str) -> None:
    """Until 2026-12-07 each was refused ``no registered subject``, where a decision on the same number says what
    is wrong with it; a well-formed number nobody registered keeps that reason."""
    rows = [_role(f"R-{i}", "2026-01-01", subject_id=sid) for i, (sid, _, _) in enumerate(MALFORMED)]
    file = _write(tmp_path / f"malformed{suffix}", rows)
    for lang, at in (("en", 1), ("zh", 2)):
        row = "row {n}: subject_id: " if lang == "en" else "第 {n} 行：subject_id："
        assert _ingest(db, file, lang) == (
            1,
            [row.format(n=n) + said[at] for n, said in enumerate(MALFORMED, start=1)],
        )


def _wrong_check(n: int) -> str:
    """The ``n``-th of distinct identity numbers with a wrong check character."""
    good = make_ric("110105", dt.date(1980, 1, 1) + dt.timedelta(days=n // 900), 100 + n % 900)
    return good[:-1] + ("0" if good[-1] != "0" else "1")


def test_only_the_first_identifiers_of_a_batch_are_told_why_they_are_none(db: Path, tmp_path: Path) -> None:
    """Until 2026-12-07 every distinct refused identifier was validated one by one in Python (a file of 200,000
    malformed ones took a minute more): the well-formed ones nobody registered are told apart in SQL, and of the
    others only the first ``PRECISE_SUBJECT_MOST`` are told why; the rest keep the generic reason."""
    most = ingest.PRECISE_SUBJECT_MOST
    sids = [STRANGER] + [_wrong_check(n) for n in range(most + 1)]
    assert len(set(sids)) == most + 2
    file = _write(tmp_path / "many.csv", [_role(f"R-{i}", "2026-01-01", subject_id=s) for i, s in enumerate(sids)])
    with open_store(db, key="") as store:
        report = ingest.ingest_file(store, file, "registration_authority", today=TODAY)
    said = {e.row: e.message for e in report.errors}
    assert len(said) == len(sids)
    generic = "no registered subject '{}' (subjects are registered through the civil_affairs source)"
    assert said[1] == generic.format(STRANGER)  # well formed: not one of the first to be validated
    first, last = sids[most], sids[most + 1]
    assert said[most + 1] == (
        f"resident identity number '{first}' has check character '{first[-1]}'; expected '{ric_check_char(first[:17])}'"
    )
    assert said[most + 2] == generic.format(last)
    assert sum(m.startswith("no registered subject") for m in said.values()) == 2


def test_a_role_stored_before_the_checks_sent_again_unchanged_is_unchanged_and_a_change_of_it_is_refused(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows stored before the period and organisation checks were made (2026-12-07), as ingest stored them then,
    sent again as they are: unchanged (until 2026-12-07 refused, where a record id stored before the id checks is
    taken). A correction of one is asked the checks."""
    stored = [
        _role("R-ENDS-BEFORE", "2026-01-01", "2025-12-31"),
        _role("R-LATER", "2026-07-01"),
        _role("R-PERSON", "2026-01-01", org_id=OTHER),
        _role("R-LOWER", "2026-01-01", org_id=LETTERED.lower()),  # no credit code as sent (org_malformed)
    ]
    file = _write(tmp_path / "stored.csv", stored)
    with monkeypatch.context() as before:
        before.setattr(ingest, "_period_checks", lambda *_: [])
        before.setattr(ingest, "_names_orgs", lambda *_: False)
        with open_store(db, key="") as store:
            assert ingest.ingest_file(store, file, "registration_authority", today=TODAY).accepted == 4
    assert _ingest(db, file, "en") == (0, [])
    with open_store(db, key="") as store:
        again = ingest.ingest_file(store, file, "registration_authority", today=TODAY)
    assert (again.accepted, again.unchanged, again.errors) == (0, 4, [])
    fixed = _write(tmp_path / "fixed.csv", [r | {"role": "supervisor", "correction": "true"} for r in stored])
    assert _ingest(db, fixed, "en") == (
        1,
        [
            f"row 1: end_date: {ENDS_BEFORE[0]}",
            f"row 2: start_date: {LATER[0]}",
            f"row 3: org_id: {OTHER_SAID[0]}",
            "row 4: org_id: " + BAD_ORGS[1][1].format(v=LETTERED.lower()),
        ],
    )


def test_a_catalogs_own_record_type_with_a_period_is_not_asked_a_roles(db: Path, tmp_path: Path) -> None:
    """A court's restriction ordered on 2026-06-29 to start on 2026-07-15: until 2026-12-07 refused as a role
    starting after the day it is received, though the catalog's record type is no role."""
    text = shipped_catalog_text().replace(
        "  company_role:\n",
        "  consumption_restriction:\n"
        "    name: {zh: 限制高消费令, en: consumption restriction order}\n"
        "    category: government\n"
        "    subjects: [person]\n"
        "    fields:\n"
        "      start_date: {type: date, required: true}\n"
        "      end_date: {type: date}\n"
        "  company_role:\n",
        1,
    )
    text = text.replace("record_types: [court_judgment]", "record_types: [court_judgment, consumption_restriction]")
    catalog = parse_catalog(text, "custom")
    file = tmp_path / "orders.csv"
    file.write_text(
        "record_id,subject_id,record_type,event_date,start_date,end_date\n"
        f"B-1,{PERSON},consumption_restriction,2026-06-29,2026-07-15,2027-07-15\n"
    )
    with open_store(db, key="") as store:
        report = ingest.ingest_file(store, file, "courts", today=TODAY, catalog=catalog)
    assert (report.accepted, report.errors) == (1, [])


def test_a_registered_organisation_whose_code_passes_as_an_identity_number_is_a_roles_organisation(
    db: Path, tmp_path: Path
) -> None:
    """911101198001010248 is a valid credit code whose check character also holds as an identity number's: until
    2026-12-07 a role naming that organisation, registered as one, was refused as naming a person."""
    code = "911101198001010248"
    assert make_uscc(code[:17]) == code and ric_check_char(code[:17]) == code[-1]
    subjects = tmp_path / "org.csv"
    subjects.write_text(f"subject_id,name\n{code},延庆某公司\n", encoding="utf-8")
    assert _ingest(db, subjects, "en", source="civil_affairs") == (0, [])
    assert _ingest(db, _write(tmp_path / "role.csv", [_role("R-1", "2026-01-01", org_id=code)]), "en") == (0, [])


def _no_region_numbers() -> tuple[str, str]:
    """Two values of an identity number's shape and check character whose region code 990000 is no region a
    resident's number can carry: the first also a well-formed credit code (its mod-31 check character is the same),
    the second not."""
    taken = refused = None
    for n in range(1000):
        first17 = f"99000019800304{n:03d}"
        value = first17 + ric_check_char(first17)
        if make_uscc(first17) == value:
            taken = taken or value
        else:
            refused = refused or value
        if taken and refused:
            return taken, refused
    raise AssertionError("no such numbers")


NO_REGION_CODE, NO_REGION_OTHER = _no_region_numbers()


def test_an_org_id_of_an_identity_numbers_shape_naming_no_region_is_judged_as_an_organisations_code(
    db: Path, tmp_path: Path
) -> None:
    """A person's number is one valid as one (its region too) or a registered person's. Until 2026-12-07 a value
    passing the identity number's shape and check character with the region 990000, which is none, was refused as a
    person's identity number: now it is judged as an organisation's code. One that has a credit code's check
    character still names no registering authority's region (characters 3-8, 000019), so no organisation can ever
    be registered under it (validate_subject_id refuses it): it is refused so, never taken as not registered; one
    that has not is refused with the credit code's reason."""
    with pytest.raises(IdentifierError, match="unknown region code 990000"):
        validate_subject_id(NO_REGION_CODE)
    rows = [
        _role("R-CODE", "2026-01-01", org_id=NO_REGION_CODE),
        _role("R-OTHER", "2026-01-01", org_id=NO_REGION_OTHER),
    ]
    expected = make_uscc(NO_REGION_OTHER[:17])[-1]
    file = _write(tmp_path / "no-region.csv", rows)
    assert _ingest(db, file, "en") == (
        1,
        [
            f"row 1: org_id: '{NO_REGION_CODE}' has a unified social credit code's check character but an identity "
            f"number's shape, and characters 3-8 ({NO_REGION_CODE[2:8]}) are no registering authority's region: no "
            "organisation can be registered under it; a role names its organisation by its code",
            f"row 2: org_id: unified social credit code '{NO_REGION_OTHER}' has check character "
            f"'{NO_REGION_OTHER[-1]}'; expected '{expected}'",
        ],
    )
    assert _ingest(db, _write(tmp_path / "no-region-zh.csv", rows), "zh") == (
        1,
        [
            f"第 1 行：org_id：“{NO_REGION_CODE}”的校验码符合统一社会信用代码，但其形式为身份证号码，"
            f"且第 3-8 位（{NO_REGION_CODE[2:8]}）不是任何登记管理机关的地区代码：任何组织都不能以此登记；"
            "任职记录须以统一社会信用代码写明所在组织",
            f"第 2 行：org_id：统一社会信用代码 '{NO_REGION_OTHER}' 的校验码为 '{NO_REGION_OTHER[-1]}'；"
            f"应为 '{expected}'",
        ],
    )


LETTERED = make_uscc("91110105MA0000001")
BAD_ORGS = [
    (
        COMPANY[:-1] + ("0" if COMPANY[-1] != "0" else "1"),
        "unified social credit code '{v}' has check character '{c}'; expected '" + COMPANY[-1] + "'",
        "统一社会信用代码 '{v}' 的校验码为 '{c}'；应为 '" + COMPANY[-1] + "'",
    ),
    (
        LETTERED.lower(),
        "'{v}' is written otherwise than a unified social credit code is registered: an org_id is compared as sent; "
        f"send it as '{LETTERED}'",
        f"“{{v}}”与统一社会信用代码的登记写法不同：org_id 按原样比对；请写作“{LETTERED}”",
    ),
    (
        COMPANY[:16],
        "unified social credit code '{v}' has 16 characters; expected 18",
        "统一社会信用代码 '{v}' 有 16 个字符；应为 18 个",
    ),
    (
        "91110105I00000001X",
        "unified social credit code '{v}' has 'I' at position 9; allowed are 0-9 and A-Z without I, O, S, V, Z",
        "统一社会信用代码 '{v}' 第 9 位是 'I'；只能是 0-9 和除 I、O、S、V、Z 以外的 A-Z",
    ),
]


def test_a_role_naming_an_org_code_that_can_never_be_registered_is_refused_with_the_codes_reason(
    db: Path, tmp_path: Path
) -> None:
    """Until 2026-12-07 a wrong check character, lower case letters (an org_id is compared as sent: never tidied, so
    never a registered code), a wrong length and a character outside the code's alphabet were taken, each named as
    an organisation not registered; only a well-formed code nobody registered is so now."""
    rows = [_role(f"R-{i}", "2026-01-01", org_id=v) for i, (v, _, _) in enumerate(BAD_ORGS)]
    rows.append(_role("R-LATER", "2026-01-01", org_id=LATER_COMPANY))
    file = _write(tmp_path / "bad-orgs.csv", rows)
    for lang, at in (("en", 1), ("zh", 2)):
        row = "row {n}: org_id: " if lang == "en" else "第 {n} 行：org_id："
        note = NOT_REGISTERED[at - 1].replace("2 roles name", "1 role names").replace("2 条", "1 条")
        assert _ingest(db, file, lang) == (
            1,
            [note]
            + [row.format(n=n) + said[at].format(v=said[0], c=said[0][-1]) for n, said in enumerate(BAD_ORGS, 1)],
        )


def test_well_formed_codes_nobody_registered_do_not_use_up_the_precise_reasons(db: Path, tmp_path: Path) -> None:
    """Well-formed credit codes nobody registered need no one-by-one check (they are told apart in SQL): until
    2026-12-07 they counted in ``PRECISE_SUBJECT_MOST``, and the malformed identifiers after them were told the
    generic reason sooner."""
    most = ingest.PRECISE_SUBJECT_MOST
    codes = [make_uscc(f"91110105MA{n:07d}") for n in range(5)] + [LATER_COMPANY]
    sids = codes + [_wrong_check(n) for n in range(most + 1)]
    assert len(set(sids)) == len(sids)
    file = _write(tmp_path / "many.csv", [_role(f"R-{i}", "2026-01-01", subject_id=s) for i, s in enumerate(sids)])
    with open_store(db, key="") as store:
        report = ingest.ingest_file(store, file, "registration_authority", today=TODAY)
    said = {e.row: e.message for e in report.errors}
    generic = "no registered subject '{}' (subjects are registered through the civil_affairs source)"
    assert [said[n] for n in range(1, len(codes) + 1)] == [generic.format(c) for c in codes]
    malformed = sids[len(codes) :]
    for n, sid in enumerate(malformed[:most], start=len(codes) + 1):
        expected = ric_check_char(sid[:17])
        assert said[n] == f"resident identity number '{sid}' has check character '{sid[-1]}'; expected '{expected}'"
    assert said[len(sids)] == generic.format(malformed[-1])
    assert len(said) == len(sids)


def test_a_batch_names_the_first_ten_organisations_not_registered_and_counts_them_all(db: Path, tmp_path: Path) -> None:
    """Eleven organisations not registered, one role each: the report names ten (the first by code) and says how
    many more; ``--json`` counts them all."""
    orgs = [make_uscc(f"91110105{n:09d}") for n in range(100, 111)]
    rows = [_role(f"R-{i}", "2026-01-01", org_id=o) for i, o in enumerate(reversed(orgs))]
    file = _write(tmp_path / "eleven.csv", rows)
    named = ", ".join(orgs[:10])
    assert _ingest(db, file, "en") == (
        0,
        [
            f"11 roles name an organisation not registered: {named} and 1 more (taken; each links to its "
            "organisation once it is registered, and to none before)"
        ],
    )
    again = _write(tmp_path / "eleven-again.csv", rows)
    done = _run(db, "ingest", str(again), "--source", "registration_authority", "--json")
    report = json.loads(done.stdout)
    assert (done.returncode, report["unregistered_org_roles"], report["unregistered_org_count"]) == (0, 11, 11)
    assert report["unregistered_orgs"] == orgs[:10]
    assert _ingest(db, _write(tmp_path / "eleven-zh.csv", rows), "zh")[1] == [
        f"11 条任职记录所写的组织尚未登记：{named} 等 11 个（记录已接受；组织登记后即与之关联，之前不关联任何组织）"
    ]
