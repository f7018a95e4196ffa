"""Relations between subjects: the registration authority's role records, list criteria that follow them (``via``),
the restriction on high spending of the shipped policy, and the acceptance transcript through the console script.

The transcript test prints what a user sees; docs/organisations-relations.md quotes it.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from relation_world import (
    COMPANY,
    DIRECTOR,
    HOLDER,
    NEXT_REP,
    OTHER,
    OUTSIDER,
    REP,
    at_cause,
    beijing,
    built,
    entries,
    judgment,
    role,
    scored,
)
from scoring_helpers import AS_OF, days_before, run_differences, tax
from socialcredit.errors import PolicyError
from socialcredit.policy import parse_policy
from socialcredit.registry.decisions.decide import decide
from socialcredit.registry.decisions.live import changed_subjects, changes, related_subjects, rescore
from socialcredit.registry.decisions.snapshot import Snapshot

CLI = shutil.which("socialcredit", path=str(Path(sys.executable).parent)) or "socialcredit"
HSR = "high_spending_restriction"


# -- validation ------------------------------------------------------------------------------------------
def _policy_with(criterion: str) -> str:
    text = beijing().text
    roles = "[legal_representative, director, senior_manager]"
    old = f"via: {{list: blacklist, criteria: [judgment_defaulter], roles: {roles}, when: current}}"
    assert old in text
    return text.replace(old, criterion)


def _problems(text: str) -> list[str]:
    with pytest.raises(PolicyError) as info:
        parse_policy(text, "beijing.yaml")
    return [p.split(": ", 2)[-1] for p in info.value.problems]


def test_a_relation_to_an_unknown_list_is_refused() -> None:
    assert _problems(_policy_with("via: {list: dishonest, roles: [legal_representative]}")) == [
        "via.list: unknown list 'dishonest'; lists: blacklist, redlist, high_spending_restriction"
    ]


def test_an_unknown_role_is_refused() -> None:
    assert _problems(_policy_with("via: {list: blacklist, roles: [chairman]}")) == [
        "via.roles.0: 'chairman' is not one of: legal_representative, director, supervisor, senior_manager, shareholder"
    ]


def test_a_role_named_twice_and_no_role_are_refused() -> None:
    assert _problems(_policy_with("via: {list: blacklist, roles: [director, director]}")) == [
        "via.roles.1: role 'director' is named more than once"
    ]
    assert _problems(_policy_with("via: {list: blacklist, roles: []}")) == [
        "via.roles: List should have at least 1 item after validation, not 0"
    ]


def test_a_list_entered_only_through_relations_cannot_be_followed() -> None:
    """person -> organisation -> person: a list whose only criteria are relations would follow a second step."""
    assert _problems(_policy_with("via: {list: high_spending_restriction, roles: [director]}")) == [
        "via.list: list 'high_spending_restriction' is entered only through relations: a relation follows one step, "
        "to an organisation on a list by its own criteria (a person -> organisation -> person cycle is refused)"
    ]


def test_a_relation_names_only_known_criteria_of_its_list_that_are_not_relations() -> None:
    assert _problems(_policy_with("via: {list: blacklist, criteria: [tax_evader], roles: [director]}")) == [
        "via.criteria.0: list 'blacklist' has no criterion 'tax_evader'; criteria: judgment_defaulter, "
        "major_tax_evasion, score_floor"
    ]
    assert _problems(_policy_with("via: {list: blacklist, criteria: [], roles: [director]}")) == [
        "via.criteria: name at least one criterion, or leave 'criteria' out to follow them all"
    ]


@pytest.mark.parametrize(
    ("via", "chinese"),
    [
        (
            "via: {list: dishonest, roles: [legal_representative]}",
            "via.list: 未知的名单 'dishonest'；名单：blacklist, redlist, high_spending_restriction",
        ),
        ("via: {list: blacklist, roles: [director, director]}", "via.roles.1: 角色 'director' 被写了不止一次"),
        (
            "via: {list: high_spending_restriction, roles: [director]}",
            "via.list: 名单 'high_spending_restriction' 只能经由关系进入：关系只追溯一步，追溯到因其自身条件而在名单上"
            "的组织（个人 -> 组织 -> 个人的循环不被接受）",
        ),
        (
            "via: {list: blacklist, criteria: [tax_evader], roles: [director]}",
            "via.criteria.0: 名单 'blacklist' 没有条件 'tax_evader'；条件：judgment_defaulter, major_tax_evasion, "
            "score_floor",
        ),
        (
            "via: {list: blacklist, criteria: [], roles: [director]}",
            "via.criteria: 请至少写出一个条件，或省略 'criteria' 以沿用全部条件",
        ),
    ],
)
def test_a_relations_problem_is_said_in_chinese(via: str, chinese: str) -> None:
    """Each relation check words its problem in Chinese too (``policy lint --lang zh``, publish under ``lang=zh``):
    until 2026-12-06 it was English in either language. The names as written."""
    with pytest.raises(PolicyError) as info:
        parse_policy(_policy_with(via), "beijing.yaml")
    assert [p.split(": ", 2)[-1] for p in info.value.problems_zh] == [chinese]


def test_via_and_record_together_are_refused() -> None:
    text = _policy_with("via: {list: blacklist, roles: [director]}\n        record: {record_type: court_judgment}")
    assert _problems(text) == ["a criterion needs exactly one of 'when' (on the score), 'record' or 'via'"]


# -- runs ------------------------------------------------------------------------------------------------
def test_officers_of_a_listed_company_are_listed_from_state_and_from_records_alike(tmp_path: Path) -> None:
    reg = built(tmp_path)
    state = reg.score(beijing())
    records = reg.score(beijing(), from_records=True)
    assert (state.source, records.source) == ("state", "records")
    # the legal representative and the director; not the shareholder, not the manager who left, not the
    # representative of the other company
    assert entries(reg, state.run_id) == sorted([(REP, "officer_of_defaulter"), (DIRECTOR, "officer_of_defaulter")])
    assert run_differences(reg.store, state.run_id, records.run_id) == []
    # the entry's record is the role record
    keys = {s: k for s, lst, c, k in reg.list_entries(state.run_id) if lst == HSR}
    assert keys[REP] == reg.record_key("R1")
    # the blacklist does not follow relations: only the company is on it
    assert entries(reg, state.run_id, "blacklist") == [(COMPANY, "judgment_defaulter")]


def test_a_roles_org_id_is_stored_and_compared_as_sent(tmp_path: Path) -> None:
    # An org_id is not tidied as a record's subject_id is (a tidied one was compared with the stored value and
    # refused as different content): one written otherwise than as registered would name no organisation, and is
    # refused, told the code as registered (until 2026-12-07 it was taken, and its relation never held); one holding
    # an invisible character is refused, never taken as the code.
    reg = built(tmp_path)
    typed = COMPANY[:8] + " " + COMPANY[8:].lower()
    otherwise = reg.ingest("registration_authority", [role("R9", HOLDER, typed, "director", days_before(300))])
    assert (otherwise.accepted, [(e.field, e.message) for e in otherwise.errors]) == (
        0,
        [
            (
                "org_id",
                f"'{typed}' is written otherwise than a unified social credit code is registered: an org_id is "
                f"compared as sent; send it as '{COMPANY}'",
            )
        ],
    )
    hidden = reg.ingest(
        "registration_authority",
        [role("R10", HOLDER, COMPANY[:8] + "\u200b" + COMPANY[8:], "director", days_before(300))],
    )
    assert (hidden.accepted, [(e.field, e.message) for e in hidden.errors]) == (
        0,
        [("org_id", "has an invisible character (U+200B); a value is visible text")],
    )


def test_a_resignation_ends_the_restriction_and_it_passes_to_the_successor(tmp_path: Path) -> None:
    reg = built(tmp_path)
    reg.send(
        "registration_authority",
        [
            role("R1", REP, COMPANY, "legal_representative", days_before(2000), days_before(10), correction="true"),
            role("R6", NEXT_REP, COMPANY, "legal_representative", days_before(10), correction=""),
        ],
    )
    for source in ({}, {"from_records": True}):
        run = reg.score(beijing(), **source)
        assert entries(reg, run.run_id) == sorted(
            [(DIRECTOR, "officer_of_defaulter"), (NEXT_REP, "officer_of_defaulter")]
        )


def test_held_at_cause_keeps_the_former_representative_and_spares_the_successor(tmp_path: Path) -> None:
    reg = built(tmp_path)
    reg.send(
        "registration_authority",
        [
            role("R1", REP, COMPANY, "legal_representative", days_before(2000), days_before(10), correction="true"),
            role("R6", NEXT_REP, COMPANY, "legal_representative", days_before(10), correction=""),
        ],
    )
    state = reg.score(at_cause())
    records = reg.score(at_cause(), from_records=True)
    # the judgment is 200 days old: the representative then was REP; the manager had left 400 days before
    assert entries(reg, state.run_id) == sorted([(REP, "officer_of_defaulter"), (DIRECTOR, "officer_of_defaulter")])
    assert run_differences(reg.store, state.run_id, records.run_id) == []


def test_a_fulfilled_judgment_releases_every_related_person_in_the_same_run(tmp_path: Path) -> None:
    reg, (first,) = scored(tmp_path, AS_OF)
    assert len(entries(reg, first)) == 2
    reg.send("courts", [judgment("J1", COMPANY, days_before(200), status="fulfilled", correction="true")])
    incremental = reg.score(beijing(), incremental=True)
    full = reg.score(beijing(), from_records=True)
    assert entries(reg, incremental.run_id) == [] == entries(reg, full.run_id)
    assert run_differences(reg.store, incremental.run_id, full.run_id) == []


def test_an_incremental_run_lists_the_officers_of_a_newly_listed_company(tmp_path: Path) -> None:
    reg, (first,) = scored(tmp_path, AS_OF)
    reg.send("courts", [judgment("J2", OTHER, days_before(5))])
    incremental = reg.score(beijing(), incremental=True, max_share=1.0)
    full = reg.score(beijing(), from_records=True)
    assert (NEXT_REP, "officer_of_defaulter") in entries(reg, incremental.run_id)
    assert run_differences(reg.store, incremental.run_id, full.run_id) == []
    assert first < incremental.run_id


def test_a_disputed_role_record_that_is_withdrawn_ends_the_entry(tmp_path: Path) -> None:
    """A role record is a record: the registration authority withdraws a wrong registration and the entry ends."""
    reg = built(tmp_path)
    report = reg.ingest(
        "registration_authority",
        [{**role("R2", DIRECTOR, COMPANY, "director", days_before(1500)), "withdrawn": "true"}],
    )
    assert report.errors == [], report.errors
    run = reg.score(beijing())
    assert (DIRECTOR, "officer_of_defaulter") not in entries(reg, run.run_id)


def test_the_live_pass_takes_the_related_subjects_of_a_changed_one(tmp_path: Path) -> None:
    reg = built(tmp_path)
    assert related_subjects(reg.store, [COMPANY]) == {REP, DIRECTOR, HOLDER, OUTSIDER}
    assert related_subjects(reg.store, [NEXT_REP]) == {OTHER}
    assert related_subjects(reg.store, []) == set()


def test_a_live_pass_follows_a_role_moved_to_another_person(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A live pass reads the role records of its own persons only. A correction that moves the director's role to
    another person releases the one and lists the other, as a full run from the records does (every version of a
    role record one version of which is about a person of the pass is read: the latest may name someone else)."""
    reg, _ = scored(tmp_path, AS_OF)
    snap = Snapshot.load(reg.store, "beijing", explain=True)
    moved = {**role("R2", OUTSIDER, COMPANY, "director", days_before(1500)), "correction": "true"}
    report = reg.ingest("registration_authority", [moved])
    assert report.errors == [], report.errors
    seq = int(reg.store.one("SELECT value FROM counters WHERE name = 'seq'"))
    subjects = changed_subjects(reg.store, snap.watermark, seq)
    assert {DIRECTOR, OUTSIDER} <= set(subjects)
    # the keys the changed records carry are subject_keys' keys of their subjects (the new version's: OUTSIDER);
    # the subject of the version replaced, and the related ones, are looked up by the pass
    changed = changes(reg.store, snap.watermark, seq)
    assert changed.subjects == subjects
    registered = {
        str(s): int(k) for s, k in reg.store.execute("SELECT subject_id, subject_key FROM subject_keys").fetchall()
    }
    assert changed.keys == {OUTSIDER: registered[OUTSIDER]}
    # every listing counted as effective: the rows show the lists as a run computes them, before notice and grace
    monkeypatch.setattr(
        "socialcredit.registry.decisions.live._effective_listings",
        lambda _store, loaded, ids: {(i, lst.id) for i in ids for lst in loaded.policy.lists},
    )
    out = rescore(
        reg.store, snap.loaded, snap.as_of, subjects, snap.histogram, snap.old_scores(subjects), keys=changed.keys
    )
    assert out is not None
    watermark, rows, _ = out
    full = reg.score(beijing(), snap.as_of, from_records=True, watermark=watermark)
    assert (OUTSIDER, "officer_of_defaulter") in entries(reg, full.run_id)
    assert (DIRECTOR, "officer_of_defaulter") not in entries(reg, full.run_id)
    runs = reg.results(full.run_id)
    for person in (DIRECTOR, OUTSIDER):
        assert rows[person].result["lists"] == runs[person]["lists"], person
    assert HSR in rows[OUTSIDER].result["lists"]
    assert HSR not in rows[DIRECTOR].result["lists"]
    # A later pass that takes the former director without the new one (a record of theirs changed, say): the
    # role's latest version names someone outside the pass, so the former director holds it no more.
    alone = [COMPANY, DIRECTOR]
    out = rescore(reg.store, snap.loaded, snap.as_of, alone, snap.histogram, snap.old_scores(alone))
    assert out is not None
    assert out[1][DIRECTOR].result["lists"] == runs[DIRECTOR]["lists"]
    assert HSR not in out[1][DIRECTOR].result["lists"]


def test_the_refusal_names_the_company_the_role_and_the_cause(tmp_path: Path) -> None:
    reg, _ = scored(tmp_path, AS_OF, AS_OF + dt.timedelta(days=61))  # the second past the notice's 60 days of grace
    today = AS_OF + dt.timedelta(days=61)
    en = decide(reg.store, REP, "air_travel", "ticket", today=today)
    zh = decide(reg.store, REP, "air_travel", "ticket", lang="zh", today=today)
    assert not en.granted
    assert en.reasons[0].code == "HSR_OFFICER_OF_DEFAULTER"
    assert en.reasons[0].text == (
        "legal representative or principal officer of an organisation that is a judgment defaulter: "
        f"legal representative of subject 1 (USCC {COMPANY}), which is a judgment defaulter"
    )
    assert zh.reasons[0].text == (
        f"失信被执行单位的法定代表人或主要负责人：subject 1（统一社会信用代码 {COMPANY}）的法定代表人，"
        "该单位为失信被执行人"
    )
    assert len(en.reasons) <= 4
    assert decide(reg.store, REP, "rail_second_class", "ticket", today=today).granted
    director = decide(reg.store, DIRECTOR, "rail_first_class", "ticket", today=today)
    assert not director.granted
    assert ": director of subject 1" in director.reasons[0].text


def test_the_cause_named_is_read_from_the_run_in_force_not_a_later_what_if(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The organisation's cause a relation's reason names is its entry in the policy's ordinary runs: a what-if
    (dated after the registry's today) made later, in which the company is on the blacklist for tax evasion only
    (its judgment fulfilled since), does not change what the run in force says of it (the cause was read from the
    newest run with an entry of the company, whatever its standing)."""
    from socialcredit.clock import TODAY_ENV
    from socialcredit.registry.scoring.runs import run_in_force

    reg = built(tmp_path)
    reg.send("tax_bureau", [tax("T1", COMPANY, days_before(100), amount=200_000, status="evaded")])
    today = AS_OF + dt.timedelta(days=61)  # past the notice's 60 days of grace
    monkeypatch.setenv(TODAY_ENV, today.isoformat())
    reg.score(beijing())
    in_force = reg.score(beijing(), today)
    assert in_force.standing == "ordinary"
    assert entries(reg, in_force.run_id, "blacklist") == [
        (COMPANY, "judgment_defaulter"),
        (COMPANY, "major_tax_evasion"),
    ]
    reg.send("courts", [judgment("J1", COMPANY, days_before(200), status="fulfilled", correction="true")])
    what_if = reg.score(beijing(), today + dt.timedelta(days=30))
    assert what_if.standing == "what_if"
    assert entries(reg, what_if.run_id, "blacklist") == [(COMPANY, "major_tax_evasion")]
    assert run_in_force(reg.store, "beijing")["run_id"] == in_force.run_id
    refused = decide(reg.store, REP, "air_travel", "ticket", today=today)
    assert (refused.granted, refused.run_id) == (False, in_force.run_id)
    assert refused.reasons[0].text == (
        "legal representative or principal officer of an organisation that is a judgment defaulter: "
        f"legal representative of subject 1 (USCC {COMPANY}), which is a judgment defaulter"
    )


def test_a_snapshot_words_every_entry_through_a_relation_with_four_queries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The snapshot of a whole run words its entries through relations all at once: four statements however many
    there are (one entry at a time, a snapshot of beijing's thousands read the records thousands of times)."""
    reg, (run,) = scored(tmp_path, AS_OF)
    through = [(s, lst, c) for s, lst, c, _ in reg.list_entries(run) if lst == HSR]
    assert sorted(s for s, _, _ in through) == sorted([REP, DIRECTOR])
    statements: list[str] = []
    plain = type(reg.store).execute

    def counted(self: Any, sql: str, params: Any = None) -> Any:
        statements.append(" ".join(sql.split()))
        return plain(self, sql, params)

    monkeypatch.setattr(type(reg.store), "execute", counted)
    snap = Snapshot.load(reg.store, "beijing", explain=True)
    worded = [q for q in statements if "FROM role_records" in q or "FROM run_list_entries e JOIN score_runs" in q]
    assert len(worded) == 2  # the role records and the organisations' causes, once each
    # and their names: their keys, then the latest version of those keys
    assert len([q for q in statements if q.startswith("SELECT subject_key FROM subject_keys WHERE subject_id IN")]) == 1
    assert len([q for q in statements if "name" in q and "subject_key IN (" in q]) == 1
    assert snap.entries[REP] == [
        (
            HSR,
            "officer_of_defaulter",
            (
                f": legal representative of subject 1 (USCC {COMPANY}), which is a judgment defaulter",
                f"：subject 1（统一社会信用代码 {COMPANY}）的法定代表人，该单位为失信被执行人",
            ),
        )
    ]
    assert snap.entries[DIRECTOR][0][2] is not None and ": director of subject 1" in snap.entries[DIRECTOR][0][2][0]


# -- the acceptance transcript through the console script ------------------------------------------------
class Transcript:
    def __init__(self, db: Path) -> None:
        self.db = db
        self.folder = str(db.parent) + "/"
        self.lines: list[str] = []

    def run(self, *args: str | Path, today: dt.date, ok: bool = True) -> subprocess.CompletedProcess[str]:
        base = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}
        env = base | {"COLUMNS": "200", "SOCIALCREDIT_DB": str(self.db), "SOCIALCREDIT_TODAY": today.isoformat()}
        proc = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, env=env, timeout=180, check=False)
        words = [a.name if isinstance(a, Path) else str(a) for a in args]
        shown = " ".join(w if " " not in w else repr(w) for w in words)
        self.lines.append(f"$ SOCIALCREDIT_TODAY={today} socialcredit {shown}")
        self.lines += [line.rstrip().replace(self.folder, "") for line in proc.stdout.rstrip("\n").splitlines()]
        assert "Traceback" not in proc.stderr, proc.stderr
        if ok:
            assert proc.returncode == 0, proc.stderr
        return proc

    def note(self, text: str) -> None:
        self.lines.append(f"# {text}")


def _csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    cols = list(dict.fromkeys(k for r in rows for k in r))
    path.write_text(
        "\n".join([",".join(cols), *(",".join(str(r.get(c, "")) for c in cols) for r in rows)]) + "\n", "utf-8"
    )
    return path


def _decision(
    t: Transcript, subject: str, service: str, today: dt.date, lang: str = "en", purpose: str = "ticket purchase"
) -> str:
    proc = t.run("decide", subject, service, "--purpose", purpose, "--lang", lang, today=today, ok=False)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.stdout


def test_acceptance_transcript(tmp_path: Path) -> None:
    t = Transcript(tmp_path / "registry.duckdb")
    d0 = dt.date(2026, 1, 5)
    grace_over = d0 + dt.timedelta(days=61)
    resigned = grace_over + dt.timedelta(days=9)
    successor_listed = resigned + dt.timedelta(days=61)
    people = [
        {"subject_id": COMPANY, "name": "北京某某科技有限公司", "district": "朝阳区", "profession": ""},
        {"subject_id": REP, "name": "张伟", "district": "朝阳区", "profession": "finance"},
        {"subject_id": DIRECTOR, "name": "李娜", "district": "朝阳区", "profession": "finance"},
        {"subject_id": NEXT_REP, "name": "王芳", "district": "海淀区", "profession": "finance"},
        {"subject_id": OUTSIDER, "name": "刘洋", "district": "海淀区", "profession": "retail"},
    ]
    t.run("init", today=d0)
    t.note("the company, its legal representative and a director; a later representative; a person on the blacklist")
    t.run("ingest", _csv(tmp_path / "subjects.csv", people), "--source", "civil_affairs", today=d0)
    roles = [
        role("R1", REP, COMPANY, "legal_representative", "2020-03-01"),
        role("R2", DIRECTOR, COMPANY, "director", "2021-06-01"),
    ]
    t.run("ingest", _csv(tmp_path / "roles.csv", roles), "--source", "registration_authority", today=d0)
    t.note("a court finds the company a judgment defaulter; another court the person 刘洋")
    judgments = [judgment("J1", COMPANY, "2025-12-20"), judgment("J9", OUTSIDER, "2025-12-01")]
    t.run("ingest", _csv(tmp_path / "courts.csv", judgments), "--source", "courts", today=d0)
    t.run("score", "--policy", "beijing", "--as-of", d0, today=d0)
    t.note("notice given: the restriction is not in effect during the 60 days of grace")
    assert "granted" in _decision(t, REP, "air_travel", d0).lower()
    t.note("after notice and grace")
    t.run("score", "--policy", "beijing", "--as-of", grace_over, today=grace_over)
    business = _decision(t, REP, "rail_first_class", grace_over)
    flight = _decision(t, REP, "air_travel", grace_over)
    second = _decision(t, REP, "rail_second_class", grace_over)
    zh = _decision(t, REP, "air_travel", grace_over, lang="zh")
    assert "REFUSED" in business.upper() and "REFUSED" in flight.upper(), (business, flight)
    assert "GRANTED" in second.upper(), second
    assert f"legal representative of 北京某某科技有限公司 (USCC {COMPANY}), which is a judgment defaulter" in flight
    assert f"北京某某科技有限公司（统一社会信用代码 {COMPANY}）的法定代表人" in zh
    t.note("a person on the blacklist asks to be registered as a company's legal representative")
    registration = _decision(
        t, OUTSIDER, "legal_representative_registration", grace_over, purpose="company registration"
    )
    assert "REFUSED" in registration.upper() and "judgment defaulter" in registration, registration
    t.note("the representative resigns; the registration authority registers the new one")
    change = [
        role("R1", REP, COMPANY, "legal_representative", "2020-03-01", resigned.isoformat(), correction="true"),
        role("R3", NEXT_REP, COMPANY, "legal_representative", resigned.isoformat(), correction=""),
    ]
    t.run("ingest", _csv(tmp_path / "change.csv", change), "--source", "registration_authority", today=resigned)
    t.run("score", "--policy", "beijing", "--as-of", resigned, today=resigned)
    assert "GRANTED" in _decision(t, REP, "air_travel", resigned).upper()
    t.note("the policy follows the role (when: current): the new representative is noticed, then restricted")
    t.run("score", "--policy", "beijing", "--as-of", successor_listed, today=successor_listed)
    assert "REFUSED" in _decision(t, NEXT_REP, "air_travel", successor_listed).upper()
    t.note("the company fulfils the judgment; the court corrects its record; the same day's run")
    fulfilled = [judgment("J1", COMPANY, "2025-12-20", status="fulfilled", correction="true")]
    t.run("ingest", _csv(tmp_path / "fulfilled.csv", fulfilled), "--source", "courts", today=successor_listed)
    t.run("score", "--policy", "beijing", "--as-of", successor_listed, today=successor_listed)
    for person_id in (NEXT_REP, DIRECTOR):
        assert "GRANTED" in _decision(t, person_id, "air_travel", successor_listed).upper()
    print("\n".join(t.lines))
    # docs/organisations-relations.md quotes the transcript as printed (it had gone stale: no "change N")
    doc = (Path(__file__).resolve().parents[1] / "docs" / "organisations-relations.md").read_text("utf-8")
    quoted = doc.split("## The acceptance transcript", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    assert quoted == "\n".join(t.lines) + "\n"


# -- live: the company fulfils the judgment over HTTP and every related person is released in the same pass --------
def test_a_live_pass_releases_every_related_person_when_the_company_is_delisted(tmp_path: Path) -> None:
    import time

    import httpx
    from tests.api_helpers import auth, serving

    from socialcredit.api.app import create_app
    from socialcredit.registry.access.parties import issue_key

    reg, _ = scored(tmp_path, AS_OF, AS_OF + dt.timedelta(days=61))  # the second: the listings take effect
    store = reg.store
    airline = issue_key(store, "relying_party", "an airline", services=["air_travel"], purposes=["ticket"]).token
    courts = issue_key(store, "furnisher", "the courts", source="courts").token
    app = create_app(store.path, store=store, max_body=256 * 1024)

    def asked(client: httpx.Client, subject: str) -> dict[str, Any]:
        r = client.post(
            "/v1/decisions",
            json={"subject_id": subject, "service": "air_travel", "purpose": "ticket"},
            headers=auth(airline),
        )
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        before = {s: asked(client, s) for s in (COMPANY, REP, DIRECTOR)}
        assert [b["granted"] for b in before.values()] == [False, False, False]
        row = judgment("J1", COMPANY, days_before(200), status="fulfilled", correction="true")
        text = ",".join(row) + "\n" + ",".join(str(v) for v in row.values()) + "\n"
        r = client.post("/v1/records", content=text.encode(), headers={**auth(courts), "content-type": "text/csv"})
        assert r.status_code in (200, 201), r.text
        watermark = before[REP]["watermark"]
        deadline = time.monotonic() + 10
        while True:  # the live thread patches the snapshot on its next tick
            after = {s: asked(client, s) for s in (COMPANY, REP, DIRECTOR)}
            if all(a["watermark"] > watermark for a in after.values()) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    # one pass: the company and both persons stand on the same watermark, all released
    assert len({a["watermark"] for a in after.values()}) == 1
    assert after[COMPANY]["watermark"] > watermark
    assert [a["granted"] for a in after.values()] == [True, True, True]
    assert [a["run_id"] for a in after.values()] == [b["run_id"] for b in before.values()]
    store.close()


# -- the generator's relations ---------------------------------------------------------------------------
def test_the_generator_gives_every_organisation_a_representative_and_officers_with_turnover(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from socialcredit.generate import AS_OF as GENERATED_AS_OF
    from socialcredit.generate import generate
    from socialcredit.policy import builtin_policy
    from socialcredit.registry.records.population import load_population
    from socialcredit.registry.scoring.policies import publish_policy
    from socialcredit.registry.scoring.runs import score
    from socialcredit.store import open_store

    summary = generate(20_000, seed=5, out=tmp_path / "pop", chunk=7_000)
    roles = pq.read_table(tmp_path / "pop" / "records" / "registration_authority" / "orgs.parquet").to_pylist()
    orgs = {str(r["subject_id"]) for r in pq.read_table(tmp_path / "pop" / "subjects" / "orgs.parquet").to_pylist()}
    assert summary.by_type["company_role"] == len(roles)
    held: dict[str, list[dict[str, Any]]] = {}
    officers: dict[str, int] = {}
    changed: set[str] = set()
    for r in roles:
        if r["role"] == "legal_representative":
            if r["end_date"] is None or r["end_date"] > GENERATED_AS_OF:
                held.setdefault(r["org_id"], []).append(r)
            else:
                changed.add(r["org_id"])
        else:
            officers[r["org_id"]] = officers.get(r["org_id"], 0) + 1
    assert set(held) == orgs and all(len(v) == 1 for v in held.values())  # one representative each, today
    assert set(officers) == orgs and set(officers.values()) <= {1, 2, 3, 4}
    # ~5% a year over the three years of records: 1 - 0.95^3 = 14%
    assert 0.08 < len(changed) / len(orgs) < 0.21, len(changed) / len(orgs)
    store = open_store(tmp_path / "store.duckdb", create=True, key="")
    reports = load_population(store, tmp_path / "pop", today=GENERATED_AS_OF)
    assert [r.errors for r in reports.reports if r.errors] == []
    loaded = builtin_policy("beijing")
    publish_policy(store, loaded)
    state = score(store, loaded, GENERATED_AS_OF)
    records = score(store, loaded, GENERATED_AS_OF, from_records=True)
    assert state.list_counts == records.list_counts
    assert run_differences(store, state.run_id, records.run_id) == []
    store.close()


def test_a_disputed_role_record_stops_counting_while_open_when_the_policy_says_so(tmp_path: Path) -> None:
    """A role record is disputable like any record: under a policy that does not count disputed records, the
    director's entry through it ends while the dispute is open, from the state and from records alike."""
    from socialcredit.registry.due_process.disputes import file_dispute

    reg = built(tmp_path)
    text = beijing().text.replace("counts_while_open: true", "counts_while_open: false")
    assert "counts_while_open: false" in text
    strict = parse_policy(text, "beijing-strict.yaml")
    before = reg.score(strict)
    assert (DIRECTOR, "officer_of_defaulter") in entries(reg, before.run_id)
    file_dispute(reg.store, DIRECTOR, "registration_authority", "R2", "I resigned as director in 2023", today=AS_OF)
    state = reg.score(strict)
    records = reg.score(strict, from_records=True)
    assert entries(reg, state.run_id) == [(REP, "officer_of_defaulter")]
    assert run_differences(reg.store, state.run_id, records.run_id) == []


def test_a_live_pass_of_one_company_keeps_an_officers_entry_through_another(tmp_path: Path) -> None:
    """The representative of the defaulting company is also a director of another one. A tax record of the other
    company puts it and its persons in a live pass; the representative's entry through the defaulting company, which
    is not in the pass, stays: the pass scores every company its persons hold a role in beside them (not patching
    their rows). Before, the pass dropped the entry, and decisions granted air travel the next run refuses."""
    reg = built(tmp_path)
    reg.send("registration_authority", [role("R9", REP, OTHER, "director", days_before(300))])
    reg.score(beijing())
    later = AS_OF + dt.timedelta(days=61)
    reg.score(beijing(), later)  # the listings take effect
    snap = Snapshot.load(reg.store, "beijing", explain=True)
    assert not snap.decide(REP, "air_travel", "ticket", requester="test").granted
    since = snap.watermark
    reg.send("tax_bureau", [tax("T1", OTHER, days_before(10), amount=100, status="paid")])
    seq = int(reg.store.one("SELECT value FROM counters WHERE name = 'seq'"))
    changed = changes(reg.store, since, seq)
    assert changed.subjects == sorted({OTHER, REP, NEXT_REP})
    old = snap.old_scores(changed.subjects)
    out = rescore(reg.store, snap.loaded, snap.as_of, changed.subjects, snap.histogram, old, keys=changed.keys)
    assert out is not None
    watermark, rows, histogram = out
    assert sorted(rows) == changed.subjects  # the defaulting company was scored beside them, not returned
    assert rows[REP].result["lists"] == [HSR]
    snap.patch(rows, watermark, histogram)
    assert not snap.decide(REP, "air_travel", "ticket", requester="test").granted
    assert snap.decide(NEXT_REP, "air_travel", "ticket", requester="test").granted
    full = reg.score(beijing(), later, from_records=True)
    assert reg.results(full.run_id)[REP]["lists"] == [HSR]
    # the histogram moved the changed company only (the one scored beside it is not counted twice)
    counts = "SELECT kind, score, count(*) FROM run_results WHERE run_id = ? GROUP BY ALL ORDER BY ALL"
    assert histogram.to_pylist() == [
        {"kind": k, "score": s, "n": n} for k, s, n in reg.store.execute(counts, [full.run_id]).fetchall()
    ]
