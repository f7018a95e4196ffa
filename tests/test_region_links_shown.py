"""The link shown to the person and contested by them: `show`, the file and the resident's pages name the region,
the number there, how the link was made and what agreed; a contest is answered by an operator (the link stands, or
it is reversed and the next decision counts it no more, with no new run) or lapses in the person's favour."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_helpers import auth, serving
from due_world import score_on_its_day
from socialcredit.api.app import create_app
from socialcredit.example import AS_OF
from socialcredit.regions import accept_link, export_bundle, import_bundle, reverse_link, set_region, trust_publisher
from socialcredit.regions.bundle import load_private_key, new_private_key, public_key_text
from socialcredit.regions.generate import REGIONS, generate_regions
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.due_process.daily import run_daily
from socialcredit.registry.due_process.links import file_link_dispute, linked_identities
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import score
from socialcredit.store import Store, open_store
from test_regions import BEIJING_EFFECTIVE, region_policy
from web_helpers import csrf_of, sign_in

CLI = shutil.which("socialcredit", path=str(Path(sys.executable).parent)) or "socialcredit"
BEIJING, TIANJIN = "110000", "120000"
TODAY = "2027-01-01"  # the registry's date in these tests: the day after Tianjin's run


def sc(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """The console script, as a user runs it (PYTHONPATH is inherited: the code under test)."""
    base = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}
    return subprocess.run(
        [CLI, *map(str, args)],
        capture_output=True,
        text=True,
        env=base | {"COLUMNS": "400", "SOCIALCREDIT_TODAY": TODAY},
        timeout=180,
        check=False,
    )


def last_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stderr.rstrip("\n").splitlines()[-1]


@pytest.fixture(autouse=True)
def _on_the_day_the_listing_takes_effect(monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry's clock on 2026-12-31, the day Beijing's listing takes effect: the runs of that day are in force
    (a run dated after today is a what-if, not in force: docs/due-process.md)."""
    monkeypatch.setenv("SOCIALCREDIT_TODAY", "2026-12-31")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Beijing and Tianjin; Beijing's bundle imported and Tianjin scored: the first mover is linked and refused."""
    folder = tmp_path_factory.mktemp("links")
    summary = generate_regions(folder / "data", residents=120, movers=10, seed=5)
    stores: dict[str, Store] = {}
    keys: dict[str, Path] = {}
    for code in (BEIJING, TIANJIN):
        region = REGIONS[code]
        store = open_store(folder / f"{code}.duckdb", create=True, key="")
        set_region(store, code, region.name_en)
        data = folder / "data" / code
        ingest_file(store, data / "subjects.csv", "civil_affairs", today=AS_OF)
        for source in ("tax_bureau", "courts"):
            ingest_file(store, data / "records" / f"{source}.csv", source, today=AS_OF)
        policy = folder / f"{region.name_en.lower()}.yaml"
        policy.write_text(region_policy(code), encoding="utf-8")
        score_on_its_day(store, resolve_policy(store, str(policy)), AS_OF)
        keys[code] = folder / f"{code}.key"
        keys[code].write_bytes(new_private_key())
        keys[code].chmod(0o600)  # a private key file is its owner's only (as `region keygen` writes it)
        stores[code] = store
    trust_publisher(stores[TIANJIN], BEIJING, "Beijing", public_key_text(load_private_key(keys[BEIJING])))
    # Beijing's defaulters' listings in effect: a bundle blacklists no one in notice
    policy = folder / f"{REGIONS[BEIJING].name_en.lower()}.yaml"
    score(stores[BEIJING], resolve_policy(stores[BEIJING], str(policy)), BEIJING_EFFECTIVE, today=BEIJING_EFFECTIVE)
    export_bundle(stores[BEIJING], "beijing", keys[BEIJING], folder / "beijing-1.json")
    import_bundle(stores[TIANJIN], folder / "beijing-1.json")
    # scored when Beijing's grace has ended: the mover is listed in Tianjin from the day Beijing lists him (a run of
    # that day: on the registry's clock of that day, as every test here runs)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOCIALCREDIT_TODAY", "2026-12-31")
        score_on_its_day(stores[TIANJIN], resolve_policy(stores[TIANJIN], "tianjin"), BEIJING_EFFECTIVE)
    mover = summary.movers[0]
    tianjin = stores[TIANJIN]
    link = tianjin.rows(
        "SELECT identity_id, status, probability, evidence FROM region_identities WHERE origin_subject_id = ?",
        [mover["subject_id_from"]],
    )[0]
    other = tianjin.one(
        "SELECT min(subject_id) FROM current_subjects WHERE kind = 'person' AND subject_id <> ?",
        [mover["subject_id_to"]],
    )
    for store in stores.values():
        store.close()
    yield {"folder": folder, "db": folder / f"{TIANJIN}.duckdb", "mover": mover, "link": link, "other": other}


@pytest.fixture
def tianjin(world: dict[str, Any], tmp_path: Path) -> Path:
    """A copy of Tianjin's store (with the files kept beside it) for a test that changes it."""
    db: Path = world["db"]
    for kept in db.parent.glob(db.name + "*"):
        (shutil.copytree if kept.is_dir() else shutil.copy)(kept, tmp_path / kept.name)
    return tmp_path / db.name


def _masked(number: str) -> str:
    return number[:6] + "********" + number[-4:]


def test_show_and_the_file_name_the_region_the_number_the_probability_and_the_evidence(
    world: dict[str, Any], tianjin: Path, tmp_path: Path
) -> None:
    mover, link = world["mover"], world["link"]
    evidence = ["id~", "name=", "birth=", "sex=", "region=", "phone="]
    assert link["status"] == "linked" and link["evidence"].split() == evidence
    who = mover["subject_id_to"]
    shown = sc("show", who, "--db", tianjin)
    assert shown.returncode == 0, shown.stderr
    ident = link["identity_id"]
    assert (
        f"Linked to Beijing (110000) — number there {_masked(mover['subject_id_from'])} (identity {ident}): matched "
        f"by the record linkage model (Splink), match probability > 0.9999"
    ) in shown.stdout
    assert (
        "  agreed: the identity number within one edit (one digit mistyped, or two adjacent digits swapped); the "
        "name (same characters); the birth date; the sex; the region code of the number; the phone number"
    ) in shown.stdout
    assert (
        f"  If this is not you, contest the link (`socialcredit dispute link {who} {ident} --reason ...`, or on your "
        "page); a person answers within 30 days, and if no one does, the link is reversed in your favour."
    ) in shown.stdout
    as_json = json.loads(sc("show", who, "--db", tianjin, "--json").stdout)
    (one,) = as_json["links"]
    assert {k: one[k] for k in ("identity_id", "region", "number", "method", "evidence", "open_dispute")} == {
        "identity_id": ident,
        "region": "Beijing (110000)",
        "number": _masked(mover["subject_id_from"]),
        "method": "splink",
        "evidence": evidence,
        "open_dispute": None,
    }
    assert one["probability"] == link["probability"] > 0.9999 and one["probability_text"] == "> 0.9999"
    assert len(one["records"]) == 1 and one["records"][0].startswith("110000/")
    # the file export: JSON and the printable page, in both languages
    out, html = tmp_path / "file.json", tmp_path / "file.html"
    done = sc("file", "export", who, "--out", out, "--html", html, "--lang", "zh", "--db", tianjin)
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["links"][0]["region"] == "Beijing (110000)"
    assert data["links"][0]["how"] == "由记录关联模型（Splink）匹配"
    assert data["links"][0]["agreed"] == [
        "身份证号仅差一处（错录一位或相邻两位颠倒）",
        "姓名（汉字相同）",
        "出生日期相同",
        "性别相同",
        "身份证号的地区码相同",
        "电话号码相同",
    ]
    page = html.read_text(encoding="utf-8")
    assert "与您关联的其他地区身份" in page and _masked(mover["subject_id_from"]) in page
    assert "身份证号仅差一处（错录一位或相邻两位颠倒）; 姓名（汉字相同）" in page


def _decide(db: Path, who: str) -> str:
    done = sc("decide", who, "high_speed_rail", "--purpose", "ticket purchase", "--db", db)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()[0]


def _contest(db: Path, who: str, ident: int) -> subprocess.CompletedProcess[str]:
    return sc("dispute", "link", who, str(ident), "--reason", "I have never lived in Beijing", "--db", db)


def _contested(db: Path, who: str, ident: int) -> int:
    """The link contested as ``_contest`` does it (`dispute link` on TODAY, actor cli), in process, for a test
    about what follows (on the registry's clock the console script runs on); returns the dispute's id."""
    with pytest.MonkeyPatch.context() as mp, open_store(db, key="") as store:
        mp.setenv("SOCIALCREDIT_TODAY", TODAY)
        filed = file_link_dispute(store, who, ident, "I have never lived in Beijing", "cli")
    return int(filed["dispute_id"])


def test_contested_then_unlinked_by_an_operator_the_next_decision_grants_without_a_run(
    world: dict[str, Any], tianjin: Path
) -> None:
    who, ident = world["mover"]["subject_id_to"], world["link"]["identity_id"]
    assert "REFUSED" in _decide(tianjin, who)
    filed = _contest(tianjin, who, ident)
    assert filed.returncode == 0, filed.stderr
    did = int(filed.stdout.split()[2].rstrip(":"))
    assert filed.stdout.strip() == (
        f"link dispute {did}: identity {ident} (110000 {_masked(world['mover']['subject_id_from'])}) linked to {who}: "
        "open, opened 2027-01-01, answer due by 2027-01-31"
    )
    again = _contest(tianjin, who, ident)
    assert again.returncode == 2
    assert last_error(again) == f"error: the link of identity {ident} is already contested (dispute {did})"
    listed = sc("region", "link-disputes", "--status", "open", "--db", tianjin, "--json")
    assert [d["dispute_id"] for d in json.loads(listed.stdout)] == [did]
    # a status it does not know is refused in the language asked (until 2026-12-06 it took no --lang)
    unknown = sc("region", "link-disputes", "--status", "closed", "--db", tianjin, "--lang", "zh")
    assert (unknown.returncode, last_error(unknown)) == (
        2,
        "错误：状态须为 open、upheld、unlinked、lapsed 之一，而不是 'closed'",
    )
    neither = sc("region", "answer-link", str(did), "--reason", "checked", "--db", tianjin)
    assert neither.returncode == 2
    assert last_error(neither) == "error: answer with exactly one of --uphold and --unlink"
    answered = sc("region", "answer-link", str(did), "--unlink", "--reason", "different birth place", "--db", tianjin)
    assert answered.returncode == 0, answered.stderr
    assert answered.stdout.strip() == f"Link dispute {did} unlinked: the link is reversed and its records withdrawn."
    runs_before = _runs(tianjin)
    assert "GRANTED" in _decide(tianjin, who)
    assert _runs(tianjin) == runs_before  # no new run
    # The command line rescores him as the service's live pass does (his records withdrawn with the link): the
    # judgment counts no more, and no note says the score predates the listing's end (until 2026-12-07 it decided
    # on the run's row and said so)
    told = sc("decide", who, "high_speed_rail", "--purpose", "ticket purchase", "--db", tianjin).stdout.splitlines()
    assert told[0].startswith(f"high_speed_rail for {who}: GRANTED (policy tianjin 2026.2, run 2, change ")
    assert told[0].endswith(", score 1000, tier A, inquiry 3)")
    assert not any(line.startswith("Note:") for line in told)
    told_zh = sc("decide", who, "high_speed_rail", "--purpose", "ticket purchase", "--lang", "zh", "--db", tianjin)
    assert not any(line.startswith("注：") for line in told_zh.stdout.splitlines())
    closed = sc("region", "answer-link", str(did), "--uphold", "--reason", "again", "--db", tianjin)
    assert closed.returncode == 2 and last_error(closed) == f"error: link dispute {did} is closed already (unlinked)"
    store = open_store(tianjin, key="")
    try:
        assert store.one("SELECT status FROM region_identities WHERE identity_id = ?", [ident]) == "reversed"
        actions = [r[0] for r in store.execute("SELECT action FROM audit_log ORDER BY seq").fetchall()]
        assert actions.index("link_dispute_filed") < actions.index("region_link_reversed")
        assert actions.index("region_link_reversed") < actions.index("link_dispute_unlinked")
        assert "listings_ended" in actions
        texts = [r[0] for r in store.execute(_NOTES, [who]).fetchall()]
        assert (
            f"Dispute {did} of the link to 110000/{_masked(world['mover']['subject_id_from'])}: an operator reversed "
            "the link; the records it brought no longer count. different birth place"
        ) in texts
    finally:
        store.close()
    shown = json.loads(sc("show", who, "--db", tianjin, "--json").stdout)
    assert shown["links"] == [] and shown["link_disputes"][0]["status"] == "unlinked"


_NOTES = "SELECT text_en FROM notifications WHERE subject_id = ? ORDER BY notification_id"


def _runs(db: Path) -> int:
    store = open_store(db, key="", read_only=True)
    try:
        return int(store.one("SELECT count(*) FROM score_runs"))
    finally:
        store.close()


def test_contested_and_not_answered_it_lapses_in_the_persons_favour(world: dict[str, Any], tianjin: Path) -> None:
    who, ident = world["mover"]["subject_id_to"], world["link"]["identity_id"]
    did = _contested(tianjin, who, ident)  # `dispute link`'s own answer is asserted in the test above
    early = sc("due", "run", "--today", "2027-01-31", "--db", tianjin, "--json")
    assert json.loads(early.stdout)["lapsed_link_disputes"] == []
    assert "REFUSED" in _decide(tianjin, who)
    late = sc("due", "run", "--today", "2027-02-01", "--db", tianjin)
    assert late.returncode == 0, late.stderr
    assert f"1 overdue link dispute resolved for the resident ({did}): the link is reversed." in late.stdout
    assert "GRANTED" in _decide(tianjin, who)
    shown = json.loads(sc("show", who, "--db", tianjin, "--json").stdout)
    assert shown["links"] == []
    assert {k: shown["link_disputes"][0][k] for k in ("dispute_id", "status", "note", "note_zh", "answered_at")} == {
        "dispute_id": did,
        "status": "lapsed",
        "note": "Not answered by 2027-01-31.",
        "note_zh": "截至 2027-01-31 未获答复。",  # kept beside it: a Chinese page says it in Chinese
        "answered_at": None,
    }
    # told in Chinese wholly (the note was pasted in English into the Chinese text)
    told = json.loads(sc("notifications", who, "--lang", "zh", "--db", tianjin, "--json").stdout)
    lapsed = [n["text"] for n in told if n["kind"] == "link_dispute_lapsed"]
    assert len(lapsed) == 1 and lapsed[0].endswith("。截至 2027-01-31 未获答复。") and "Not answered" not in lapsed[0]
    late_answer = sc("region", "answer-link", str(did), "--uphold", "--reason", "it is him", "--db", tianjin)
    assert late_answer.returncode == 2
    assert last_error(late_answer) == f"error: link dispute {did} is closed already (lapsed)"


def _lapse_dated(store: Store, did: int) -> tuple[Any, ...]:
    """When the lapse of link dispute ``did`` says it happened: the notice's date, the audit's ``lapsed_on``."""
    created = store.one("SELECT created_on FROM notifications WHERE kind = 'link_dispute_lapsed' AND ref_id = ?", [did])
    detail = json.loads(
        str(store.one("SELECT detail FROM audit_log WHERE action = 'link_dispute_lapsed' ORDER BY seq DESC LIMIT 1"))
    )
    return created, detail["lapsed_on"]


def test_a_link_dispute_lapses_as_of_the_day_after_its_deadline_when_the_job_skipped_days(
    world: dict[str, Any], tianjin: Path
) -> None:
    """Filed 2027-01-01, due by 2027-01-31: the job of 2027-02-20 lapses it as of 2027-02-01, as a record's dispute
    (until 2026-12-05 the lapse, the notice and the listing's end were dated the day the job ran)."""
    who, ident = world["mover"]["subject_id_to"], world["link"]["identity_id"]
    store = open_store(tianjin, key="")
    try:
        did = int(file_link_dispute(store, who, ident, "not me", "resident", today=dt.date(2027, 1, 1))["dispute_id"])
        assert run_daily(store, dt.date(2027, 2, 20))["lapsed_link_disputes"] == [did]
        assert _lapse_dated(store, did) == (dt.date(2027, 2, 1), "2027-02-01")
        ended = store.rows(
            "SELECT status, closed_on FROM listings WHERE subject_id = ? AND list_id = 'blacklist'", [who]
        )
        assert ended == [{"status": "delisted", "closed_on": dt.date(2027, 2, 1)}]
    finally:
        store.close()


def test_a_score_run_dated_after_a_link_disputes_deadline_lapses_it_first(
    world: dict[str, Any], tianjin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No daily job since the deadline (2027-01-31): a run as of 2027-02-10 lapses the link dispute first, as of
    2027-02-01, and does not count the records the link brought (until 2026-12-05 the run counted them: the person
    stayed listed until the daily job next ran)."""
    monkeypatch.setenv("SOCIALCREDIT_TODAY", "2027-02-10")
    who, ident = world["mover"]["subject_id_to"], world["link"]["identity_id"]
    store = open_store(tianjin, key="")
    try:
        did = int(file_link_dispute(store, who, ident, "not me", "resident", today=dt.date(2027, 1, 1))["dispute_id"])
        score_on_its_day(store, resolve_policy(store, "tianjin"), dt.date(2027, 2, 10))
        assert store.one("SELECT status FROM link_disputes WHERE dispute_id = ?", [did]) == "lapsed"
        assert _lapse_dated(store, did) == (dt.date(2027, 2, 1), "2027-02-01")
        listed = store.rows(
            "SELECT status FROM listings WHERE subject_id = ? AND status IN ('pending', 'effective')", [who]
        )
        assert listed == []
    finally:
        store.close()


def test_a_late_answer_lapses_the_link_dispute_as_of_the_day_after_its_deadline(
    world: dict[str, Any], tianjin: Path
) -> None:
    """An operator's answer of 2027-02-05 to a dispute due by 2027-01-31 is refused, and the dispute lapses as of
    2027-02-01 (until 2026-12-05 it was dated the day of the late answer)."""
    from socialcredit.errors import WorkflowError
    from socialcredit.regions.contest import answer_link_dispute

    who, ident = world["mover"]["subject_id_to"], world["link"]["identity_id"]
    store = open_store(tianjin, key="")
    try:
        did = int(file_link_dispute(store, who, ident, "not me", "resident", today=dt.date(2027, 1, 1))["dispute_id"])
        with pytest.raises(WorkflowError) as late:
            answer_link_dispute(store, did, "uphold", "it is him", "operator", today=dt.date(2027, 2, 5))
        assert late.value.code == "deadline_passed"
        assert _lapse_dated(store, did) == (dt.date(2027, 2, 1), "2027-02-01")
    finally:
        store.close()


def test_contested_and_upheld_the_link_stays(world: dict[str, Any], tianjin: Path) -> None:
    who, ident = world["mover"]["subject_id_to"], world["link"]["identity_id"]
    did = _contested(tianjin, who, ident)
    upheld = sc("region", "answer-link", str(did), "--uphold", "--reason", "same person: birth record", "--db", tianjin)
    assert upheld.returncode == 0, upheld.stderr
    assert upheld.stdout.strip() == f"Link dispute {did} upheld: the link stands."
    assert "REFUSED" in _decide(tianjin, who)
    shown = json.loads(sc("show", who, "--db", tianjin, "--json").stdout)
    assert [x["identity_id"] for x in shown["links"]] == [ident]
    assert shown["link_disputes"][0]["status"] == "upheld"
    assert shown["link_disputes"][0]["note"] == "same person: birth record"


def test_a_link_disputes_answer_is_not_dated_before_it_was_filed(world: dict[str, Any], tianjin: Path) -> None:
    """The registry's clock set back: an answer dated before the link dispute was filed was taken (answered before it
    was asked), as an answer to a record's dispute is not; it is refused naming both dates, and taken the day of
    the filing."""
    from socialcredit.errors import WorkflowError
    from socialcredit.regions.contest import answer_link_dispute

    who, ident = world["mover"]["subject_id_to"], world["link"]["identity_id"]
    store = open_store(tianjin)
    try:
        did = int(file_link_dispute(store, who, ident, "not me", "resident", today=dt.date(2026, 9, 10))["dispute_id"])
        with pytest.raises(WorkflowError) as info:
            answer_link_dispute(store, did, "uphold", "it is him", "operator", today=dt.date(2026, 9, 9))
        assert (info.value.code, info.value.field, str(info.value)) == (
            "before_filing",
            "today",
            f"link dispute {did} was filed on 2026-09-10; an answer cannot be dated 2026-09-09, before that",
        )
        done = answer_link_dispute(store, did, "uphold", "it is him", "operator", today=dt.date(2026, 9, 10))
        assert (done["status"], done["answered_at"]) == ("upheld", "2026-09-10")
    finally:
        store.close()


def test_answer_link_reads_today_as_every_command_does(world: dict[str, Any], tianjin: Path) -> None:
    """``region answer-link --today`` had its own reading: out of the registry's dates it said "date 9999-12-31 …"
    and an impossible day "is not a date of the form YYYY-MM-DD", where every other command names ``--today`` and
    says what is wrong."""
    for day, said in (
        ("9999-12-31", "error: --today 9999-12-31 is out of range: the registry's dates run from 1990-01-01 to "
         "2199-12-31"),
        ("2026-02-30", "error: --today '2026-02-30' is not a date: February 2026 has 28 days"),
    ):  # fmt: skip
        done = sc("region", "answer-link", "1", "--uphold", "--reason", "it is him", "--today", day, "--db", tianjin)
        assert done.returncode == 2 and last_error(done) == said


def test_a_link_that_is_not_the_persons_cannot_be_contested(world: dict[str, Any], tianjin: Path) -> None:
    other = sc("dispute", "link", world["mover"]["subject_id_from"], str(world["link"]["identity_id"]), "--reason",
               "not me", "--db", tianjin)  # fmt: skip
    assert other.returncode == 2
    assert last_error(other) == f"error: no registered subject {world['mover']['subject_id_from']!r}"
    stranger = sc("dispute", "link", world["other"], str(world["link"]["identity_id"]), "--reason", "not me",
                  "--db", tianjin)  # fmt: skip
    assert stranger.returncode == 2
    assert (
        last_error(stranger)
        == f"error: {world['other']} has no link to identity {world['link']['identity_id']} of another region"
    )
    no_reason = sc("dispute", "link", world["mover"]["subject_id_to"], str(world["link"]["identity_id"]), "--reason",
                   " ", "--db", tianjin)  # fmt: skip
    assert no_reason.returncode == 2
    assert last_error(no_reason) == "error: reason is required: write it in a few words"
    missing = sc("region", "answer-link", "999", "--unlink", "--reason", "x", "--db", tianjin)
    assert missing.returncode == 2 and last_error(missing) == "error: no link dispute 999"


def test_over_http_the_resident_contests_the_operator_unlinks_and_the_next_decision_grants_live(
    world: dict[str, Any], tianjin: Path
) -> None:
    """A real service on loopback: the unlink goes live (registry/decisions/live.py) with no new run."""
    who, ident = world["mover"]["subject_id_to"], world["link"]["identity_id"]
    store = open_store(tianjin, key="")
    keys = {
        "railway": issue_key(
            store, "relying_party", "Tianjin railway", services=["high_speed_rail"], purposes=["ticket purchase"]
        ).token,
        "resident": issue_key(store, "resident", "the mover", subject=who).token,
        "other": issue_key(store, "resident", "someone else", subject=world["other"]).token,
        "operator": issue_key(store, "operator", "Tianjin operations").token,
    }
    app = create_app(tianjin, store=store)
    try:
        with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:

            def decide() -> dict[str, Any]:
                r = client.post(
                    "/v1/decisions",
                    json={"subject_id": who, "service": "high_speed_rail", "purpose": "ticket purchase"},
                    headers=auth(keys["railway"]),
                )
                assert r.status_code == 200, r.text
                body: dict[str, Any] = r.json()
                return body

            before = decide()
            assert before["granted"] is False and before["lists"] == ["blacklist"]
            assert "Beijing (110000)" in before["reasons"][0]["text"]
            body = {"identity_id": ident, "reason": "I have never lived in Beijing"}
            filed = client.post("/v1/link-disputes", json=body, headers=auth(keys["resident"]))
            assert filed.status_code == 201, filed.text
            did = filed.json()["dispute_id"]
            assert filed.json()["status"] == "open" and filed.json()["origin_region"] == "110000"
            not_theirs = client.post("/v1/link-disputes", json=body, headers=auth(keys["other"]))
            assert not_theirs.status_code == 404
            assert not_theirs.json()["error"]["message"] == (
                f"{world['other']} has no link to identity {ident} of another region"
            )
            by_resident = client.post(
                f"/v1/link-disputes/{did}/answer",
                json={"answer": "unlink", "reason": "mine"},
                headers=auth(keys["resident"]),
            )
            assert by_resident.status_code == 403
            listed = client.get("/v1/link-disputes?status=open", headers=auth(keys["operator"]))
            assert [d["dispute_id"] for d in listed.json()] == [did]
            answered = client.post(
                f"/v1/link-disputes/{did}/answer",
                json={"answer": "unlink", "reason": "born elsewhere"},
                headers=auth(keys["operator"]),
            )
            assert answered.status_code == 200, answered.text
            assert answered.json()["status"] == "unlinked" and answered.json()["note"] == "born elsewhere"
            deadline = time.monotonic() + 10
            after = decide()
            while after["watermark"] <= before["watermark"] and time.monotonic() < deadline:
                time.sleep(0.05)
                after = decide()
            assert after["run_id"] == before["run_id"]  # no new run
            assert after["granted"] is True and after["lists"] == []
            # the judgment's points are gone too, not only the listing: tier B (with -100 for it) becomes A
            assert [r["code"] for r in before["reasons"]] == ["LIST_JUDGMENT_DEFAULTER", "COURT_UNFULFILLED"]
            assert (before["tier"], after["tier"], after["reasons"]) == ("B", "A", [])
            again = client.post(
                f"/v1/link-disputes/{did}/answer",
                json={"answer": "uphold", "reason": "x"},
                headers=auth(keys["operator"]),
            )
            assert again.status_code == 409
            assert again.json()["error"]["message"] == f"link dispute {did} is closed already (unlinked)"
    finally:
        store.close()


def test_reading_the_link_disputes_over_http_is_audited(world: dict[str, Any], tianjin: Path) -> None:
    """`GET /v1/link-disputes` names residents (every one, to an operator): each read is audited
    (`read_link_disputes`: the status asked, how many it named), a resident's and an operator's alike, as
    `GET /v1/disputes` is (until 2026-12-05 neither was)."""
    who, ident = world["mover"]["subject_id_to"], world["link"]["identity_id"]
    store = open_store(tianjin, key="")
    resident = issue_key(store, "resident", "the mover", subject=who)
    operator = issue_key(store, "operator", "Tianjin operations")
    file_link_dispute(store, who, ident, "I have never lived in Beijing", "cli", today=dt.date(2027, 1, 1))
    app = create_app(tianjin, store=store)
    try:
        with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
            mine = client.get("/v1/link-disputes", headers=auth(resident.token))
            assert [d["subject_id"] for d in mine.json()] == [who]
            every = client.get("/v1/link-disputes?status=open", headers=auth(operator.token))
            assert [d["subject_id"] for d in every.json()] == [who]
            closed = client.get("/v1/link-disputes?status=upheld", headers=auth(operator.token))
            assert closed.json() == []
            with app.state.service.writer() as st:
                read = st.rows(
                    "SELECT actor, action, subject_id, detail FROM audit_log WHERE action = 'read_link_disputes' "
                    "ORDER BY seq"
                )
    finally:
        store.close()
    by_resident, by_operator = f"key:{resident.party.key_id}", f"key:{operator.party.key_id}"
    assert [(r["actor"], r["subject_id"], json.loads(r["detail"])) for r in read] == [
        (by_resident, who, {"status": None, "entries": 1}),
        (by_operator, None, {"status": "open", "entries": 1}),
        (by_operator, None, {"status": "upheld", "entries": 0}),
    ]


def test_the_command_line_s_lists_of_a_region_s_cases_are_audited(world: dict[str, Any], tianjin: Path) -> None:
    """`region review`, `region alerts` and `region link-disputes` name residents (as another region knows them, the
    candidates here, the people an alert is about): each read is audited with the actor `cli` (`read_review_queue`,
    `read_region_alerts`, `read_link_disputes`: what was asked, how many it named), as `dispute list` is (until
    2026-12-05 none was)."""
    who, ident = world["mover"]["subject_id_to"], world["link"]["identity_id"]
    _contested(tianjin, who, ident)
    for args in (("review",), ("alerts", "--all"), ("link-disputes", "--status", "open")):
        assert sc("region", *args, "--db", tianjin, "--json").returncode == 0, args
    store = open_store(tianjin, key="")
    try:
        review = store.one("SELECT count(*) FROM region_identities WHERE status = 'review'")
        alerts = store.one("SELECT count(*) FROM region_alerts")
        read = store.rows(
            "SELECT actor, action, subject_id, detail FROM audit_log "
            "WHERE action IN ('read_review_queue', 'read_region_alerts', 'read_link_disputes') ORDER BY seq"
        )
    finally:
        store.close()
    assert alerts > 0  # the mover, blacklisted in Beijing, asked about here
    assert [(r["actor"], r["action"], r["subject_id"], json.loads(r["detail"])) for r in read] == [
        ("cli", "read_review_queue", None, {"entries": review}),
        ("cli", "read_region_alerts", None, {"acknowledged": True, "entries": alerts}),
        ("cli", "read_link_disputes", None, {"status": "open", "entries": 1}),
    ]


def test_the_records_page_shows_the_link_in_both_languages_and_takes_a_contest(
    world: dict[str, Any], tianjin: Path
) -> None:
    who, ident = world["mover"]["subject_id_to"], world["link"]["identity_id"]
    masked = _masked(world["mover"]["subject_id_from"])
    store = open_store(tianjin, key="")
    key = issue_key(store, "resident", "the mover", subject=who).token
    operator = issue_key(store, "operator", "Tianjin operations").token
    app = create_app(tianjin, store=store)
    try:
        with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
            assert sign_in(client, key).status_code in (200, 303)
            zh = client.get("/me/records?lang=zh")
            assert zh.status_code == 200
            block = zh.text[zh.text.index('id="links"') : zh.text.index("</section>", zh.text.index('id="links"'))]
            for text in (
                "与您关联的其他地区身份",
                "Beijing (110000)",
                masked,
                "由记录关联模型（Splink）匹配",
                "&gt; 0.9999",
                "身份证号仅差一处（错录一位或相邻两位颠倒）；姓名（汉字相同）；出生日期相同；性别相同；身份证号的地区码相同；"
                "电话号码相同",
                "工作人员须在 30 天内答复",
            ):
                assert text in block, text
            # no raw code of the evidence or of the method in the Chinese block
            visible = re.sub(r"<[^>]+>", " ", block)
            assert not any(code in visible for code in ("id~", "name=", "birth=", "phone=", "splink ", "exact"))
            en = client.get("/me/records?lang=en")
            block = en.text[en.text.index('id="links"') : en.text.index("</section>", en.text.index('id="links"'))]
            for text in (
                "Identities in other regions linked to you",
                "matched by the record linkage model (Splink)",
                "the identity number within one edit (one digit mistyped, or two adjacent digits swapped); the name "
                "(same characters)",
            ):
                assert text in block, text
            form = {"reason": "我从未在北京居住", "csrf": csrf_of(en.text)}
            sent = client.post(f"/me/links/{ident}/dispute", data=form, follow_redirects=False)
            assert sent.status_code == 303, sent.text
            did = int(sent.headers["location"].split("contested=")[1].split("#")[0])
            after = client.get(f"/me/records?contested={did}&lang=en")
            assert f"Dispute {did} of the link is filed." in after.text
            assert f"Your dispute {did} of this link is open; an operator must answer by " in after.text
            again = client.post(f"/me/links/{ident}/dispute", data=form, follow_redirects=False)
            assert again.status_code == 400
            # in the page's language (it was the registry's English on either page)
            assert "Your dispute of this link is open already; wait for its answer." in again.text
            assert f"Your dispute {did} of this link is open; an operator must answer by " in again.text
            # the operator's cases page lists it, with its deadline
            with httpx.Client(base_url=base, timeout=30) as ops:
                assert sign_in(ops, operator).status_code in (200, 303)
                cases = ops.get("/ops/cases?lang=en")
                assert cases.status_code == 200
                table = cases.text[cases.text.index('data-testid="open-link-disputes"') :]
                table = table[: table.index("</table>")]
                assert "Contested identity links (1)" in cases.text
                assert f'<td data-label="#">{did}</td>' in table and masked in table and "我从未在北京居住" in table
    finally:
        store.close()


def test_a_link_an_operator_accepted_says_who_and_when(world: dict[str, Any], tianjin: Path) -> None:
    who, ident = world["mover"]["subject_id_to"], world["link"]["identity_id"]
    store = open_store(tianjin, key="")
    try:
        reverse_link(store, ident, actor="operator:zhao", reason="checking by hand")
        accept_link(store, ident, actor="operator:zhao")
        (link,) = linked_identities(store, who)
        at = store.one("SELECT max(at_time) FROM audit_log WHERE action = 'region_link'")
        assert {k: link[k] for k in ("method", "how", "linked_by", "linked_at", "probability_text")} == {
            "method": "operator",
            "how": "accepted by an operator",
            "linked_by": "operator:zhao",
            "linked_at": at.isoformat(sep=" "),
            "probability_text": "> 0.9999",
        }
        assert linked_identities(store, who, "zh")[0]["how"] == "由工作人员确认"
    finally:
        store.close()
    when = at.isoformat(sep=" ")
    shown = sc("show", who, "--db", tianjin)
    assert (
        f"Linked to Beijing (110000) — number there {_masked(world['mover']['subject_id_from'])} (identity {ident}): "
        f"accepted by an operator, match probability > 0.9999 (by operator:zhao on {when} UTC)"
    ) in shown.stdout


def test_a_link_by_the_same_number_says_so(world: dict[str, Any], tianjin: Path) -> None:
    store = open_store(tianjin, key="")
    try:
        ident, who = store.execute(
            "SELECT identity_id, subject_id FROM region_identities WHERE status = 'exact' ORDER BY 1 LIMIT 1"
        ).fetchone()  # type: ignore[misc]
        (link,) = linked_identities(store, who)
        zh = linked_identities(store, who, "zh")[0]
    finally:
        store.close()
    assert {k: link[k] for k in ("identity_id", "method", "how", "agreed", "number", "linked_by")} == {
        "identity_id": ident,
        "method": "exact",
        "how": "same identity number",
        "agreed": ["the same identity number"],
        "number": _masked(who),
        "linked_by": None,
    }
    assert (zh["how"], zh["agreed"]) == ("身份证号相同", ["身份证号相同"])
    shown = sc("show", who, "--db", tianjin)
    assert f"Linked to Beijing (110000) — number there {_masked(who)} (identity {ident}): same identity number\n" in (
        shown.stdout
    )


def test_a_link_reversed_by_the_persons_dispute_is_not_accepted_again(world: dict[str, Any], tianjin: Path) -> None:
    """After the dispute lapsed in the person's favour, an operator cannot put the link back with `region accept`."""
    who, ident = world["mover"]["subject_id_to"], world["link"]["identity_id"]
    did = _contested(tianjin, who, ident)
    with pytest.MonkeyPatch.context() as mp, open_store(tianjin, key="") as store:  # as `due run --today 2027-02-01`
        mp.setenv("SOCIALCREDIT_TODAY", TODAY)
        assert run_daily(store, dt.date(2027, 2, 1))["lapsed_link_disputes"] == [did]
    again = sc("region", "accept", str(ident), "--db", tianjin)
    assert again.returncode == 2
    assert last_error(again) == (
        f"error: identity {ident} was unlinked from {who} by link dispute {did} (lapsed): the person contested the "
        "link and it was reversed in their favour; it is not linked to them again"
    )
    assert "GRANTED" in _decide(tianjin, who)
    assert json.loads(sc("show", who, "--db", tianjin, "--json").stdout)["links"] == []
