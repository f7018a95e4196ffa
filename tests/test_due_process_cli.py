"""The due-process commands, run as a user runs them: the story of a disputed blacklisting, on a set clock."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from due_world import A
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import score
from socialcredit.store import open_store
from store_copies import copied

CLI = str(Path(sys.executable).parent / "socialcredit")


def sc(*args: str, db: Path, check: bool = True, today: str | None = None) -> subprocess.CompletedProcess[str]:
    """``socialcredit ARGS --db DB``: no store key; the registry's today ``today`` when given, else the machine's."""
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_TODAY")}
    env |= {"SOCIALCREDIT_TODAY": today} if today else {}
    proc = subprocess.run([CLI, *args, "--db", str(db)], capture_output=True, text=True, env=env | {"COLUMNS": "200"})
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _make_defaulter(folder: Path) -> None:
    """A store ``t.duckdb`` in ``folder``, as `init` and `ingest` make it: A (张三) and A's unpaid judgment J1 of
    2026-01-10, which puts A on Beijing's blacklist (60 days' grace)."""
    (folder / "s.csv").write_text(f"subject_id,name,district,profession\n{A},张三,朝阳区,retail\n", encoding="utf-8")
    (folder / "c.csv").write_text(
        "record_id,subject_id,record_type,event_date,case_type,amount,status,defaulter\n"
        f"J1,{A},court_judgment,2026-01-10,civil,12000,unfulfilled,true\n",
        encoding="utf-8",
    )
    with open_store(folder / "t.duckdb", create=True, key="") as store:
        for name, source in (("s.csv", "civil_affairs"), ("c.csv", "courts")):
            # The console steps these replace ran on the machine's date (sc drops SOCIALCREDIT_TODAY).
            report = ingest_file(store, folder / name, source, today=dt.date.today())
            assert (report.accepted, report.errors) == (1, []), report


def _defaulter(folder: Path) -> Path:
    """The store of _make_defaulter in ``folder``, made once per process and copied: the steps under test (scoring,
    the due-process commands) are the console script's."""
    copied(folder, "due-cli-defaulter", _make_defaulter)
    return folder / "t.duckdb"


def _listed(folder: Path) -> None:
    """The store of _make_defaulter scored under beijing as `score` does on 2026-02-01 and on 2026-04-02, each on its
    day: A is on the blacklist from 2026-04-02."""
    copied(folder, "due-cli-defaulter", _make_defaulter)
    with open_store(folder / "t.duckdb", key="") as store:
        for day in (dt.date(2026, 2, 1), dt.date(2026, 4, 2)):
            score(store, resolve_policy(store, "beijing"), day, today=day)


@pytest.mark.slow
def test_a_disputed_blacklisting_from_the_command_line(tmp_path: Path) -> None:
    # scored as `score` does on 2026-02-01 and on 2026-04-02, each on its day (_listed)
    copied(tmp_path, "due-cli-defaulter-listed", _listed)
    db = tmp_path / "t.duckdb"
    listed = json.loads(sc("notices", "--subject", A, "--json", db=db).stdout)
    assert [(n["status"], n["effective_on"]) for n in listed] == [("effective", "2026-04-02")]
    filed = sc("dispute", "file", A, "courts", "J1", "--reason", "Paid [receipt 7]", "--today", "2026-04-03", db=db)
    assert filed.stdout.strip() == (
        f"dispute 1: record J1 (courts) of {A}: open, opened 2026-04-03, answer due by 2026-05-03"
    )
    assert "1 overdue dispute resolved" in sc("due", "run", "--today", "2026-05-04", db=db).stdout
    sc("score", "--policy", "beijing", "--as-of", "2026-05-04", db=db, today="2026-05-04")
    assert sc("lookup", "张三", db=db).stdout.strip() == "张三: not on any public list."
    assert sc("lookup", "张三", "--lang", "zh", db=db).stdout == "张三：不在任何公开名单上。\n"
    late = sc("dispute", "answer", "1", "verified", "--note", "late", "--today", "2026-05-05", db=db, check=False)
    assert late.returncode == 2 and "dispute 1 is closed already (lapsed)" in late.stderr
    bare = sc("override", "listing", "1", "--justification", " ", db=db, check=False)
    assert bare.returncode == 2 and "justification is required" in bare.stderr
    html = tmp_path / "file.html"
    sc("file", "export", A, "--out", str(tmp_path / "file.json"), "--html", str(html), db=db)
    exported = json.loads((tmp_path / "file.json").read_text("utf-8"))
    assert exported["disputes"][0]["status"] == "lapsed" and "Paid [receipt 7]" in html.read_text("utf-8")
    told = sc("notifications", A, db=db).stdout.splitlines()
    assert told[0].startswith(
        "2026-02-01 [listing_notice] Notice: under the Beijing social credit score you meet a criterion"
    )
    assert told[-1] == (
        "2026-05-04 [listing_delisted] Beijing social credit score · blacklist (judgment defaulter): the cause was "
        "resolved; the listing has ended."
    )


def test_a_late_run_from_the_command_line_gives_its_notice_on_the_day_it_is_made(tmp_path: Path) -> None:
    """``score --as-of 2026-11-01`` run on 2026-12-06: A's notice is of 2026-12-06 and the listing waits the whole
    60 days, to 2027-02-04 (until 2026-12-06 the notice was dated 2026-11-01 and the listing took effect on
    2026-12-31, 25 days after it was made)."""
    db = _defaulter(tmp_path)
    sc("score", "--policy", "beijing", "--as-of", "2026-11-01", db=db, today="2026-12-06")
    listed = json.loads(sc("notices", "--subject", A, "--json", db=db).stdout)
    assert [(n["status"], n["noticed_on"], n["effective_on"]) for n in listed] == [
        ("pending", "2026-12-06", "2027-02-04")
    ]
    assert sc("notifications", A, db=db).stdout.splitlines() == [
        "2026-12-06 [listing_notice] Notice: under the Beijing social credit score you meet a criterion of the "
        "blacklist: judgment defaulter (record J1), as found as of 2026-11-01. The listing takes effect on 2027-02-04 "
        "unless the cause is resolved before then. You may dispute the record, or fulfil the obligation."
    ]
    zh = sc("notifications", A, "--lang", "zh", db=db).stdout
    assert zh == (
        "2026-12-06 [listing_notice] 通知：根据北京市社会信用评分，您符合失信名单的列入条件：失信被执行人"
        "（记录 J1）（截至 2026-11-01 的评分结果）。除非在此之前原因消除，将于 2027-02-04 起列入。"
        "您可以对记录提出异议或履行义务。\n"
    )
    # the day before the new date the cause is still there and the listing still waits; on it, it takes effect
    sc("score", "--policy", "beijing", "--as-of", "2027-02-03", db=db, today="2027-02-03")
    assert [n["status"] for n in json.loads(sc("notices", "--subject", A, "--json", db=db).stdout)] == ["pending"]
    sc("score", "--policy", "beijing", "--as-of", "2027-02-04", db=db, today="2027-02-04")
    assert [n["status"] for n in json.loads(sc("notices", "--subject", A, "--json", db=db).stdout)] == ["effective"]


def test_the_due_process_commands_compact_an_identity_number_as_typed(tmp_path: Path) -> None:
    """A lower-case x, spaces, full-width digits or a line break pasted from a spreadsheet name the registered
    resident, as over the API: before, each command said "no registered subject" or found nothing."""
    from typer.testing import CliRunner

    from due_world import built
    from socialcredit.cli import app

    built(tmp_path).close()
    db = ["--db", str(tmp_path / "due.duckdb")]
    spaced = A[:6] + " " + A[6:-1] + "x"  # 110105 19800501011x
    wide = A.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789X"})  # as a Chinese input method types it

    def run(*args: str) -> str:
        result = CliRunner().invoke(app, [*args, *db])
        assert result.exit_code == 0, result.output
        return result.output

    filed = run("dispute", "file", spaced, "courts", "J1", "--reason", "paid", "--today", "2026-04-03")
    assert filed.strip() == f"dispute 1: record J1 (courts) of {A}: open, opened 2026-04-03, answer due by 2026-05-03"
    listed = json.loads(run("dispute", "list", "--subject", wide, "--json"))
    assert [(d["dispute_id"], d["subject_id"]) for d in listed] == [(1, A)]
    withdrawn = run("dispute", "withdraw", "1", "--subject", A.lower() + "\n", "--today", "2026-04-04")
    assert withdrawn.startswith(f"dispute 1: record J1 (courts) of {A}: retracted")
    assert run("freeze", "status", A.lower()).strip() == f"{A}: not frozen."
    run("file", "export", spaced, "--out", str(tmp_path / "file.json"))
    assert json.loads((tmp_path / "file.json").read_text("utf-8"))["subject"]["subject_id"] == A


def test_the_daily_job_says_how_many_records_it_held_back_from_the_purge(tmp_path: Path) -> None:
    """K1 (2019-03-01) may be purged from 2026-05-28; C's open dispute of it holds it back, and the job says so."""
    from due_world import C, built, score_on_its_day
    from socialcredit.registry.due_process.disputes import file_dispute

    store = built(tmp_path)
    # as `score --as-of 2026-02-26` on its day and `dispute file --today 2026-05-20` make them
    score_on_its_day(store, resolve_policy(store, "beijing"), dt.date(2026, 2, 26))
    file_dispute(store, C, "courts", "K1", "Not my case", actor="cli", today=dt.date(2026, 5, 20))
    db = store.path
    store.close()
    assert sc("due", "run", "--today", "2026-05-28", db=db).stdout.splitlines()[0] == (
        "0 overdue disputes resolved for the resident; 0 residents notified of mandatory enrollment; 1 record "
        "purged (1 held back under an open dispute)."
    )


def test_a_registry_date_outside_its_span_is_refused_before_anything_is_done(tmp_path: Path) -> None:
    """The registry's dates run from 1990-01-01 to 2199-12-31, as a run's as-of date does. The daily job of a mistyped
    9999-12-31 purged all five records of the world for good (exit 0), and a dispute filed on 9999-12-20, whose
    deadline cannot be written, ended in an internal error (exit 3)."""
    from due_world import C, built

    built(tmp_path).close()
    db = tmp_path / "due.duckdb"
    said = "is out of range: the registry's dates run from 1990-01-01 to 2199-12-31"
    for args, day in [
        (("due", "run"), "9999-12-31"),
        (("due", "run"), "1989-12-31"),
        (("dispute", "file", C, "courts", "K1", "--reason", "Not my case"), "9999-12-20"),
        (("freeze", "place", C), "2200-01-01"),
    ]:
        refused = sc(*args, "--today", day, db=db, check=False)
        assert (refused.returncode, refused.stderr.splitlines()[-1:]) == (2, [f"error: --today {day} {said}"])
    env = {k: v for k, v in os.environ.items() if k != "SOCIALCREDIT_DB_KEY"} | {"SOCIALCREDIT_TODAY": "2200-01-01"}
    proc = subprocess.run([CLI, "due", "run", "--db", str(db)], capture_output=True, text=True, env=env, check=False)
    assert (proc.returncode, proc.stderr.splitlines()[-1:]) == (2, [f"error: SOCIALCREDIT_TODAY='2200-01-01' {said}"])
    assert json.loads(sc("dispute", "list", "--json", db=db).stdout) == []
    with open_store(db, key="") as store:
        assert store.one("SELECT count(DISTINCT record_id) FROM records") == 5  # none purged


def test_notices_refuse_a_status_no_listing_has(tmp_path: Path) -> None:
    """As `dispute list` and `repair list` do: before, `notices --status efective` answered "No notices." (exit 0),
    as if no listing were in effect."""
    from due_world import built

    built(tmp_path).close()
    typo = sc("notices", "--status", "efective", db=tmp_path / "due.duckdb", check=False)
    statuses = "pending, effective, resolved, delisted, publication_ended, repaired, overridden"
    assert (typo.returncode, typo.stderr.strip()) == (2, f"error: status must be one of {statuses}, not 'efective'")
    assert sc("notices", "--status", "effective", db=tmp_path / "due.duckdb").stdout.strip() == "No notices."


def test_consents_and_notifications_refuse_a_number_no_one_has(tmp_path: Path) -> None:
    """As `file export` and `freeze status` do: before, a mistyped number answered "No consent recorded." and
    "No notifications." (exit 0), as if a resident had chosen nothing and been told nothing."""
    from due_world import built

    built(tmp_path).close()
    ghost = "110101199001011237"  # valid, registered to no one
    for command in ("consents", "notifications"):
        refused = sc(command, ghost, db=tmp_path / "due.duckdb", check=False)
        assert (refused.returncode, refused.stderr.strip()) == (2, f"error: no registered subject '{ghost}'"), command
    assert sc("notifications", A, db=tmp_path / "due.duckdb").stdout.strip() == "No notifications."


def test_listing_the_members_of_a_list_is_audited(tmp_path: Path) -> None:
    """`list blacklist` and `list top` name residents with their scores: each read is audited, as an operator's page
    of a list over the API is (until 2026-12-05 neither was)."""
    from typer.testing import CliRunner

    from due_world import built
    from socialcredit.cli import app
    from socialcredit.registry.scoring.policies import resolve_policy
    from socialcredit.registry.scoring.runs import score
    from socialcredit.store import open_store

    store = built(tmp_path)
    run_id = score(store, resolve_policy(store, "beijing"), dt.date(2026, 4, 2)).run_id
    db = store.path
    store.close()
    runner = CliRunner()
    for which in ("blacklist", "top"):
        shown = runner.invoke(app, ["list", which, "--json", "--db", str(db)], env={"SOCIALCREDIT_DB_KEY": ""})
        assert shown.exit_code == 0, shown.output
    with open_store(db, key="") as store:
        read = store.rows("SELECT actor, detail FROM audit_log WHERE action = 'read_list' ORDER BY seq")
    assert [(r["actor"], json.loads(r["detail"])) for r in read] == [
        ("cli", {"run_id": run_id, "list": "blacklist", "after": "", "entries": 1}),
        ("cli", {"run_id": run_id, "list": "top", "after": "", "entries": 3}),
    ]


def test_reading_a_residents_consents_and_notifications_is_audited(tmp_path: Path) -> None:
    """`consents SUBJECT` and `notifications SUBJECT` read one resident's file: audited, as `show` is (until
    2026-12-05 neither was)."""
    from typer.testing import CliRunner

    from due_world import B, built
    from socialcredit.cli import app
    from socialcredit.registry.records.consent import set_consent
    from socialcredit.store import open_store

    store = built(tmp_path)
    set_consent(store, B, "commercial", True, actor="resident")
    db = store.path
    store.close()
    runner = CliRunner()
    for command in ("consents", "notifications"):
        shown = runner.invoke(app, [command, B, "--json", "--db", str(db)], env={"SOCIALCREDIT_DB_KEY": ""})
        assert shown.exit_code == 0, shown.output
    with open_store(db, key="") as store:
        read = store.rows("SELECT actor, action, subject_id, detail FROM audit_log ORDER BY seq DESC LIMIT 2")
    assert [(r["actor"], r["action"], r["subject_id"], json.loads(r["detail"])) for r in read] == [
        ("cli", "read_notifications", B, {"entries": 0}),
        ("cli", "read_consents", B, {"entries": 1}),
    ]


def test_listing_notices_disputes_and_repairs_is_audited(tmp_path: Path) -> None:
    """`notices`, `dispute list` and `repair list` name residents: each read is audited (actor `cli`, the filters and
    how many it named), as the API's pages are (until 2026-12-05 none was)."""
    from typer.testing import CliRunner

    from due_world import built
    from socialcredit.cli import app
    from socialcredit.registry.scoring.policies import resolve_policy
    from socialcredit.registry.scoring.runs import score
    from socialcredit.store import open_store

    store = built(tmp_path)
    score(store, resolve_policy(store, "beijing"), dt.date(2026, 4, 2))  # A noticed for the blacklist
    db = store.path
    store.close()
    runner = CliRunner()
    for command in (["notices", "--subject", A], ["dispute", "list", "--status", "open"], ["repair", "list"]):
        shown = runner.invoke(app, [*command, "--json", "--db", str(db)], env={"SOCIALCREDIT_DB_KEY": ""})
        assert shown.exit_code == 0, shown.output
    with open_store(db, key="") as store:
        read = store.rows("SELECT actor, action, subject_id, detail FROM audit_log ORDER BY seq DESC LIMIT 3")
    assert [(r["actor"], r["action"], r["subject_id"], json.loads(r["detail"])) for r in reversed(read)] == [
        ("cli", "read_notices", A, {"policy_id": None, "status": None, "entries": 1}),
        ("cli", "read_disputes", None, {"source_id": None, "status": "open", "entries": 0}),
        ("cli", "read_repairs", None, {"status": None, "entries": 0}),
    ]


def test_listing_the_keys_is_audited_on_the_command_line_and_over_http(tmp_path: Path) -> None:
    """`keys list` and `GET /v1/keys` name the residents who hold a key (their name, their identity number): each
    read is audited (`read_keys`: how many it named), the command line's as `cli`, the API's as the operator's key
    (until 2026-12-05 neither was)."""
    import httpx
    from typer.testing import CliRunner

    from api_helpers import auth, serving
    from due_world import built
    from socialcredit.api.app import create_app
    from socialcredit.cli import app
    from socialcredit.registry.access.parties import issue_key
    from socialcredit.store import open_store

    store = built(tmp_path)
    issue_key(store, "resident", "张三", subject=A)
    operator = issue_key(store, "operator", "registry operations")
    db = store.path
    store.close()
    shown = CliRunner().invoke(app, ["keys", "list", "--json", "--db", str(db)], env={"SOCIALCREDIT_DB_KEY": ""})
    assert shown.exit_code == 0, shown.output
    assert [k["subject_id"] for k in json.loads(shown.output)] == [A, None]
    store = open_store(db, key="")
    served = create_app(db, store=store)
    with serving(served) as base, httpx.Client(base_url=base, timeout=30) as client:
        assert len(client.get("/v1/keys", headers=auth(operator.token)).json()["keys"]) == 2
        with served.state.service.writer() as st:
            read = st.rows("SELECT actor, subject_id, detail FROM audit_log WHERE action = 'read_keys' ORDER BY seq")
    store.close()
    assert [(r["actor"], r["subject_id"], json.loads(r["detail"])) for r in read] == [
        ("cli", None, {"entries": 2}),
        (f"key:{operator.party.key_id}", None, {"entries": 2}),
    ]


def test_list_of_a_list_the_policy_does_not_have_is_refused_naming_its_lists(tmp_path: Path) -> None:
    """`list redlist` for a policy with no redlist is refused as the API's page of that list is (404 there): not
    found, exit 2, naming the policy's lists (until 2026-12-05 it said "No one on the redlist." and exited 0)."""
    from due_world import built, score_on_its_day
    from socialcredit.policy import builtin_policy

    store = built(tmp_path)
    db = store.path
    text = builtin_policy("beijing").text.replace('id: beijing\nversion: "2026.2"', 'id: honours\nversion: "1"', 1)
    assert text.count("redlist") == 4  # the list's id and name, and the service that grants it
    (tmp_path / "honours.yaml").write_text(text.replace("redlist", "honour_roll"), encoding="utf-8")
    # as `score --policy honours.yaml --as-of 2026-04-02` makes it on its day
    score_on_its_day(store, resolve_policy(store, str(tmp_path / "honours.yaml")), dt.date(2026, 4, 2))
    store.close()
    refused = sc("list", "redlist", "--policy", "honours", db=db, check=False)
    lists = "blacklist, honour_roll, high_spending_restriction"
    assert (refused.returncode, refused.stderr.strip()) == (
        2,
        f"error: policy honours 1 has no list 'redlist' (lists: {lists})",
    )
    assert sc("list", "blacklist", "--policy", "honours", db=db).returncode == 0


def test_the_public_lookup_in_chinese_has_the_pages_column_words(tmp_path: Path) -> None:
    """`lookup --lang zh` heads its columns as /lists does in Chinese, and says a disputed entry is 异议处理中: the
    headings were the fields' English ids (name id_number list cause … under_dispute) and the last column False/True.
    In English the columns stay the fields' ids, as scripts read them."""
    copied(tmp_path, "due-cli-defaulter-listed", _listed)
    db = tmp_path / "t.duckdb"
    masked = A[:6] + "********" + A[-4:]
    zh = [line.split() for line in sc("lookup", "张三", "--lang", "zh", db=db).stdout.splitlines()]
    assert zh == [
        ["名称", "证件号码", "名单", "列入原因", "公示日期", "认定机关", "案号/文号", "金额（元）", "日期", "异议"],
        ["张三", masked, "失信名单", "失信被执行人", "2026-04-02", "人民法院", "J1", "12000.0", "2026-01-10"],
    ]
    en = [line.split() for line in sc("lookup", "张三", db=db).stdout.splitlines()]
    assert en[0] == [
        "name", "id_number", "list", "cause", "since", "authority", "case_number", "amount", "decided_on",
        "under_dispute",
    ]  # fmt: skip
    from socialcredit.registry.due_process.disputes import file_dispute

    with open_store(db, key="") as store:  # as `dispute file --today 2026-04-03` files it
        file_dispute(store, A, "courts", "J1", "Paid", actor="cli", today=dt.date(2026, 4, 3))
    disputed = sc("lookup", A, "--lang", "zh", db=db).stdout.splitlines()
    assert disputed[1].split()[-1] == "异议处理中"


def test_notifications_name_a_listing_notice_s_policy(tmp_path: Path) -> None:
    """A listing's notices name the policy they were given under, as the resident's page does (two policies' lists
    may share a name): once, where the notice does not name it itself; before, the command line printed the
    effective listing's notice without its policy."""
    from due_world import built, score_on_its_day
    from socialcredit.registry.scoring.policies import resolve_policy

    store = built(tmp_path)
    score_on_its_day(store, resolve_policy(store, "beijing"), dt.date(2026, 2, 1))
    score_on_its_day(store, resolve_policy(store, "beijing"), dt.date(2026, 4, 2))
    db = store.path
    store.close()
    assert sc("notifications", A, db=db).stdout.splitlines() == [
        "2026-02-01 [listing_notice] Notice: under the Beijing social credit score you meet a criterion of the "
        "blacklist: judgment defaulter (record J1). The listing takes effect on 2026-04-02 unless the cause is "
        "resolved before then. You may dispute the record, or fulfil the obligation.",
        "2026-04-02 [listing_effective] Beijing social credit score · blacklist (judgment defaulter): the notice "
        "period ended; you have been listed since 2026-04-02.",
    ]
    assert sc("notifications", A, "--lang", "zh", db=db).stdout.splitlines() == [
        "2026-02-01 [listing_notice] 通知：根据北京市社会信用评分，您符合失信名单的列入条件：失信被执行人（记录 J1）。"
        "除非在此之前原因消除，将于 2026-04-02 起列入。您可以对记录提出异议或履行义务。",
        "2026-04-02 [listing_effective] 北京市社会信用评分 · 失信名单（失信被执行人）："
        "通知期已满，自 2026-04-02 起已被列入。",
    ]


def test_a_disputes_notifications_name_its_source_in_the_residents_language(tmp_path: Path) -> None:
    """Every notification about a dispute names the source in words, in the language it is read in, as the one
    telling the dispute was received does: before, the source's answer, a human review's escalation, a withdrawal
    (and a dispute forwarded from another region, a record sent again) named it by its code, "（记录 J1，courts）"
    in a Chinese sentence."""
    from due_world import built
    from socialcredit.registry.due_process import disputes

    store = built(tmp_path)
    # as `dispute file`, `dispute answer` and `dispute escalate` make them, each on its --today
    disputes.file_dispute(store, A, "courts", "J1", "Paid", actor="cli", today=dt.date(2026, 4, 3))
    disputes.answer_dispute(store, 1, "verified", "Checked", "cli", today=dt.date(2026, 4, 5))
    disputes.escalate_dispute(store, 1, "The receipt was not read", "cli", today=dt.date(2026, 4, 6))
    db = store.path
    store.close()
    told_zh = sc("notifications", A, "--lang", "zh", db=db).stdout.splitlines()
    assert told_zh == [
        "2026-04-03 [dispute_filed] 您对记录 J1（人民法院）的异议 1 已受理；来源须于 2026-05-03 前答复。",
        "2026-04-05 [dispute_verified] 异议 1（记录 J1，人民法院）：来源核实该记录无误，记录保留。Checked",
        "2026-04-06 [dispute_escalated] 异议 1（记录 J1，人民法院）已转交人工复核：The receipt was not read",
    ]
    told_en = sc("notifications", A, db=db).stdout.splitlines()
    assert told_en[1:] == [
        "2026-04-05 [dispute_verified] Dispute 1 of record J1 (people's courts): the source checked the record and "
        "confirmed it; it stands. Checked",
        "2026-04-06 [dispute_escalated] Dispute 1 of record J1 (people's courts) was sent to a human review: "
        "The receipt was not read",
    ]


def test_consents_name_who_chose_in_words(tmp_path: Path) -> None:
    """`consents` says who made each choice as the resident's consents page does (the resident, or the registry),
    with the key or the command line in words, in both languages: it printed the codes it logs (`cli`,
    `key:95441fcba167`)."""
    from due_world import built
    from socialcredit.registry.access.parties import issue_key
    from socialcredit.registry.records.consent import set_consent

    store = built(tmp_path)
    own = issue_key(store, "resident", "张三", subject=A).party.key_id
    other = issue_key(store, "operator", "registry operations").party.key_id  # a key not the resident's
    set_consent(store, A, "commercial", False, actor=f"key:{own}")
    set_consent(store, A, "commercial", True, actor=f"key:{other}")
    set_consent(store, A, "commercial", False)  # at the command line
    store.close()
    db = tmp_path / "due.duckdb"
    for lang, said in (
        ("en", ["the resident (key {own})", "the registry (key {other})", "the registry (at the command line)"]),
        ("zh", ["本人（密钥 {own}）", "登记机构（密钥 {other}）", "登记机构（命令行）"]),
    ):
        lines = sc("consents", A, "--lang", lang, db=db).stdout.splitlines()
        chosen = [
            line.split("commercial", 1)[1].split(maxsplit=1)[1].strip() for line in lines if " commercial " in line
        ]
        assert chosen[-3:] == [x.format(own=own, other=other) for x in said]
