"""The command line, run as a user runs it: the installed console script against a real store file."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli_helpers import on_its_day
from due_world import score_on_its_day
from socialcredit.identifiers import make_ric
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.store import open_store

CLI = str(Path(sys.executable).parent / "socialcredit")
DEFAULTER = make_ric("110105", dt.date(1980, 3, 4), 15)
PAYER = make_ric("110108", dt.date(1990, 7, 8), 22)


def run(*args: str, db: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SOCIALCREDIT_DB_KEY"} | {"COLUMNS": "200"} | on_its_day(args)
    proc = subprocess.run([CLI, *args, "--db", str(db)], capture_output=True, text=True, env=env, check=False)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def ingest_rejecting(file: Path, source: str, *extra: str, db: Path) -> subprocess.CompletedProcess[str]:
    """Ingest a file of the fixture with rejected rows: the good rows are committed, and the command exits 1."""
    proc = run("ingest", str(file), "--source", source, *extra, db=db, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert re.fullmatch(rf"error: {re.escape(str(file))}: (1 of \d+ row|\d+ of \d+ rows) rejected\n", proc.stderr), (
        proc.stderr
    )
    return proc


# The rows the fixture's batches reject (the transcript test shows each refusal): courts.csv an unknown status and a
# subject not registered, tax.csv one row.
REJECTED = {"courts.csv": 2, "tax.csv": 1}


def through_the_registry(
    db: Path, *batches: tuple[Path, str], runs: tuple[str, ...] = (), policy: str = "beijing"
) -> None:
    """A test's set-up made in this process, as the commands would make it: each of ``batches`` (file, source)
    ingested, then ``policy`` scored as of each of ``runs``. What a test checks is run by the console script. Each
    batch's rejected rows are those the command said it rejected (REJECTED: the fixture's courts.csv and tax.csv each
    reject rows, test_ingest_score_show_decide_transcript reads them; a test's own file rejects none)."""
    with open_store(db, key="") as store:
        for path, source in batches:
            report = ingest_file(store, path, source)
            assert (report.rows - report.accepted - report.unchanged, len(report.errors)) == (
                REJECTED.get(path.name, 0),
                REJECTED.get(path.name, 0),
            ), report
        for as_of in runs:
            score_on_its_day(store, resolve_policy(store, policy), dt.date.fromisoformat(as_of))


@pytest.fixture(scope="module")
def pristine_city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a store made by `init`, its subjects ingested, and the batches the tests ingest; made once (two
    starts of the console script): ``city`` copies it."""
    folder = tmp_path_factory.mktemp("city")
    db = folder / "city.duckdb"
    init = run("init", db=db)
    assert "Created an UNENCRYPTED store" in init.stdout
    (folder / "subjects.csv").write_text(
        f"subject_id,name,district,profession\n{DEFAULTER},王伟,朝阳区,retail\n{PAYER},李娜,海淀区,education\n",
        encoding="utf-8",
    )
    run("ingest", str(folder / "subjects.csv"), "--source", "civil_affairs", db=db)
    (folder / "courts.csv").write_text(
        "record_id,subject_id,record_type,event_date,case_type,amount,status,defaulter\n"
        f"C-1,{DEFAULTER},court_judgment,2026-06-01,civil,80000,unfulfilled,true\n"
        f"C-2,{PAYER},court_judgment,2026-06-01,civil,80000,unfulfiled,false\n"
        f"C-3,110105199001011237,court_judgment,2026-06-01,civil,80000,fulfilled,false\n",
        encoding="utf-8",
    )
    (folder / "tax.csv").write_text(
        "record_id,subject_id,record_type,event_date,amount,status\n"
        f"T-1,{PAYER},tax_payment,2026-05-01,5000,paid\n"
        f"T-2,{PAYER},tax_payment,2026-05-02,lots,paid\n",
        encoding="utf-8",
    )
    return folder


@pytest.fixture
def city(pristine_city: Path, tmp_path: Path) -> Path:
    """A copy of ``pristine_city``'s files in the test's own folder: the store to change, the batches beside it."""
    for kept in pristine_city.iterdir():
        (shutil.copytree if kept.is_dir() else shutil.copy2)(kept, tmp_path / kept.name)
    return tmp_path / "city.duckdb"


@pytest.mark.slow
def test_ingest_score_show_decide_transcript(city: Path, tmp_path: Path) -> None:
    courts = ingest_rejecting(tmp_path / "courts.csv", "courts", db=city)
    assert courts.stderr == f"error: {tmp_path / 'courts.csv'}: 2 of 3 rows rejected\n"
    assert courts.stdout.splitlines()[:3] == [
        f"{tmp_path / 'courts.csv'}: 3 rows: 1 accepted, 0 unchanged, 2 rejected (batch 2)",
        f"  {tmp_path / 'courts.csv'}: row 2: status: 'unfulfiled' is not allowed; allowed: fulfilled, unfulfilled",
        # (a mistyped number is told what is wrong with it; until 2026-12-07 "no registered subject")
        f"  {tmp_path / 'courts.csv'}: row 3: subject_id: resident identity number '110105199001011237' has check "
        "character '7'; expected '2'",
    ]
    with (tmp_path / "courts.rejects.csv").open(encoding="utf-8") as fh:
        rejects = list(csv.reader(fh))
    header = "row field error record_id subject_id record_type event_date case_type amount status defaulter"
    assert rejects[0] == header.split()
    assert rejects[1][:4] == ["2", "status", "'unfulfiled' is not allowed; allowed: fulfilled, unfulfilled", "C-2"]
    assert len(rejects) == 3
    tax = ingest_rejecting(tmp_path / "tax.csv", "tax_bureau", "--json", db=city)
    report = json.loads(tax.stdout)
    assert (report["accepted"], report["rejected"]) == (1, 1)
    assert report["errors"] == [{"row": 2, "field": "amount", "message": "'lots' is not a number"}]

    # The first run gives the defaulter notice; the listing takes effect 60 days later (2026-10-30), at the next run.
    run("score", "--policy", "beijing", "--as-of", "2026-08-31", db=city)
    scored = json.loads(run("score", "--policy", "beijing", "--as-of", "2026-11-01", "--json", db=city).stdout)
    assert (scored["run_id"], scored["subjects"], scored["list_counts"]) == (2, 2, {"blacklist": 1})

    shown = json.loads(run("show", DEFAULTER, "--json", db=city).stdout)
    # the identifier as a person types it, with a space and full-width digits, is the one registered
    typed = f"{DEFAULTER[:6]} {DEFAULTER[6:]}".translate(str.maketrans("0123", "０１２３"))
    again = json.loads(run("show", typed, "--json", db=city).stdout)
    assert (again["subject"], again["scores"]) == (shown["subject"], shown["scores"])
    beijing = shown["scores"][0]
    # 1000 base − 100 (court.unfulfilled, legal) = 900: tier B (850–959); ranked below the payer's 1002.
    assert (beijing["score"], beijing["tier"], beijing["rank"], beijing["of"], beijing["percentile"]) == (
        900,
        "B",
        2,
        2,
        50.0,
    )
    assert [d["points"] for d in beijing["dimensions"]] == [0, -100, 0, 0]
    assert beijing["lists"][0]["code"] == "LIST_JUDGMENT_DEFAULTER"
    assert [r["code"] for r in beijing["reasons"]] == ["COURT_UNFULFILLED"]
    assert shown["records"][0]["status"] == "counting"
    assert shown["records"][0]["contribution"] == {
        "beijing": [{"rule_id": "court.unfulfilled", "points": -100.0, "counted": -100.0, "note": None}]
    }

    decided = run(
        "decide", DEFAULTER, "high_speed_rail", "--purpose", "ticket purchase", "--requester", "railway", db=city
    )
    assert decided.stdout.splitlines() == [
        f"high_speed_rail for {DEFAULTER}: REFUSED (policy beijing 2026.2, run 2, change 7, score 900, tier B, "
        "inquiry 1)",
        "People on the blacklist may not buy high-speed rail tickets.",
        "  1. [LIST_JUDGMENT_DEFAULTER] judgment defaulter — Fulfil the judgment to leave the list.",
        "  2. [COURT_UNFULFILLED] court judgment not fulfilled (-100) — Fulfil the judgment; once the court records "
        "it, the points and the listing end.",
        "What would change it:",  # as --json and the API give it (the text lacked it)
        "  - pay the outstanding judgment of 80,000 yuan (record C-1 from courts); the court then records it "
        "fulfilled; at the latest its publication ends on 2029-10-29",
    ]
    granted = json.loads(
        run("decide", PAYER, "high_speed_rail", "--purpose", "ticket purchase", "--json", db=city).stdout
    )
    assert granted["granted"] is True and granted["score"] == 1002 and granted["tier"] == "A"
    inquiries = json.loads(run("show", DEFAULTER, "--json", db=city).stdout)["inquiries"]
    # the two look-ups with `show` above are shown to the resident too, as an operator's at the command line
    at_cli = "an operator at the command line viewed your file"
    assert [(q["requester"], q["service"], q["purpose"], q["outcome"]) for q in inquiries] == [
        ("railway", "high_speed_rail", "ticket purchase", "refused"),
        (at_cli, "", "subject report", "viewed"),
        (at_cli, "", "subject report", "viewed"),
    ]
    assert "The audit log is intact" in run("audit", "verify", db=city).stdout
    zh = run("decide", DEFAULTER, "high_speed_rail", "--purpose", "ticket purchase", "--lang", "zh", db=city)
    # the header in the chosen language too, in the words of the resident's list of who asked (it said REFUSED)
    assert zh.stdout.splitlines()[0] == (
        f"high_speed_rail（{DEFAULTER}）：拒绝（政策 beijing 2026.2，评分编号 2，变更序号 7，分数 900，等级 B，"
        "查询编号 3）"
    )
    assert zh.stdout.splitlines()[-2:] == [
        "如何改变结果：",
        "  - 履行未执行的判决（金额 80,000 元；记录 C-1，来源 人民法院），法院随后登记为已履行；"
        "其公示最迟于 2029-10-29 结束",
    ]
    # decide and consent take the identifier as a person types it too, and answer with the one registered
    typed = f" {PAYER[:6]} {PAYER[6:]}".translate(str.maketrans("0123", "０１２３"))
    again = json.loads(
        run("decide", typed, "high_speed_rail", "--purpose", "ticket purchase", "--json", db=city).stdout
    )
    assert (again["subject_id"], again["granted"], again["score"]) == (PAYER, True, 1002)
    withdrawn = run("consent", typed, "commercial", "--withdraw", db=city).stdout
    assert withdrawn == f"{PAYER}: consent to commercial withdrawn; effective at the next run.\n"


@pytest.mark.slow
def test_an_unknown_profession_is_rejected_with_the_catalogs_professions(city: Path, tmp_path: Path) -> None:
    """A subject's profession not in the catalog names the ones it has, as a field's allowed values are named (it said
    only "'teacher' is not a profession of the catalog", and a new user had to read catalog.yaml)."""
    newcomer = make_ric("110101", dt.date(1975, 5, 6), 41)
    subjects = tmp_path / "more.csv"
    subjects.write_text(f"subject_id,name,district,profession\n{newcomer},赵敏,东城区,teacher\n", "utf-8")
    proc = ingest_rejecting(subjects, "civil_affairs", db=city)
    assert proc.stdout.splitlines()[1] == (
        f"  {subjects}: row 1: profession: 'teacher' is not a profession of the catalog; allowed: medical, education, "
        "accounting, journalism, civil_service, manufacturing, construction, retail, hospitality, transport, "
        "information_technology, finance, agriculture, self_employed, student, retired, unemployed, other"
    )


@pytest.mark.slow
def test_errors_are_messages_not_tracebacks(city: Path, tmp_path: Path) -> None:
    no_purpose = run("decide", DEFAULTER, "high_speed_rail", "--purpose", " ", db=city, check=False)
    assert no_purpose.returncode == 2
    assert "a purpose is required" in no_purpose.stderr and "Traceback" not in no_purpose.stderr
    unknown = run("ingest", str(tmp_path / "tax.csv"), "--source", "gossip", db=city, check=False)
    assert unknown.returncode == 2
    assert "unknown source 'gossip'; known sources: civil_affairs, tax_bureau" in unknown.stderr.replace("\n", " ")
    bad_policy = tmp_path / "bad.yaml"
    bad_policy.write_text("id: bad\nversion: 1\n", encoding="utf-8")
    checked = subprocess.run([CLI, "policy", "check", str(bad_policy)], capture_output=True, text=True, check=False)
    assert checked.returncode == 2 and "Traceback" not in checked.stderr
    assert f"{bad_policy}:1:1: name: is required" in checked.stderr.replace("\n", " ")


@functools.cache
def _help(*cmd: str) -> str:
    """``socialcredit CMD --help`` at 200 columns, which must exit 0 (run once in a process for each command: the
    tests below read the same helps)."""
    env = os.environ | {"COLUMNS": "200"}
    return subprocess.run([CLI, *cmd, "--help"], capture_output=True, text=True, check=True, env=env).stdout


@pytest.mark.slow
def test_help_everywhere() -> None:
    for cmd in (
        [],
        ["ingest"],
        ["score"],
        ["show"],
        ["decide"],
        ["list"],
        ["policy", "check"],
        ["policy", "explain"],
        ["state", "check"],
        ["init"],
    ):
        assert "Usage" in _help(*cmd), cmd


def test_help_groups_commands_by_area_with_the_main_job_first() -> None:
    top = _help()
    panels = ["The main job", "Records", "Scoring", "Decisions", "Due process", "Regions", "Service", "Administration"]
    where = [top.index(f"─ {p} ─") for p in panels]
    assert where == sorted(where)
    assert where[0] < top.index(" demo ") < where[1]
    for panel, command in [
        ("Records", "ingest"),
        ("Scoring", "state"),
        ("Due process", "dispute"),
        ("Regions", "region"),
        ("Service", "keys"),
        ("Scoring", "memorandum"),  # it was alone in an untitled panel above the main job
    ]:
        i = panels.index(panel)
        end = where[i + 1] if i + 1 < len(where) else len(top)
        assert where[i] < top.index(f" {command} ") < end, command
    assert "─ Commands ─" not in top


def test_a_group_lists_each_command_by_its_summary_on_one_line() -> None:
    """The summary of a command whose help wraps its first paragraph is one text, wrapped to the width: it kept the
    paragraph's line breaks (at 200 columns, "every problem names" ended a row and "file, line and rule." began the
    next)."""
    rows = {line.split()[1]: line for line in _help("policy").splitlines() if line.startswith("│ ")}
    assert rows["check"].split("│")[1].strip() == (
        "check    Validate a policy file (against the store's published catalog, when there is a store); every "
        "problem names file, line and rule."
    )


def _options(help_text: str) -> dict[str, list[str]]:
    """The Options panel of a help text: each option's first name and the words after it (no required mark)."""
    rows: dict[str, list[str]] = {}
    for line in help_text.split("─ Options ─")[1].splitlines():
        words = [w for w in line.replace("│", " ").split() if w != "*"]
        if words and words[0].startswith("--"):
            rows[words[0]] = words[1:]
    return rows


def test_help_names_values_as_users_read_them() -> None:
    for cmd, expected in [
        (["score"], {"--as-of": "DATE", "--engine": "[duckdb|spark]", "--rerun": "RUN", "--db": "FILE"}),
        (["ingest"], {"--source": "SOURCE", "--rejects": "FILE"}),
        (["decide"], {"--purpose": "TEXT", "--requester": "NAME", "--lang": "LANG"}),
        (["dispute", "file"], {"--today": "DATE", "--actor": "NAME"}),
        (["region", "export"], {"--key": "FILE"}),
    ]:
        text = _help(*cmd)
        assert not {"<bool>", "<str>", "<int>", "<path>"} & set(text.split()), cmd  # neither options nor arguments
        options = _options(text)
        assert {option: options[option][0] for option in expected} == expected, cmd
        assert options["--help"][0] == "Show", cmd  # a flag shows no type


def test_policy_explain_states_each_rule_in_plain_words() -> None:
    from page_text import raw_identifiers

    zh = subprocess.run(
        [CLI, "policy", "explain", "beijing", "--lang", "zh"], capture_output=True, text=True, check=True
    ).stdout
    assert (
        "  • 逾期纳税\n"
        "      依据的记录：纳税记录（状态为逾期）\n"
        "      分值：每条纳税记录减10分，计入经济信用\n"
        "      计入期限：分值每年减半；记录满5年后不再计入\n"
        "      上限：本条最多计60分\n"
    ) in zh
    assert "  • AAA · 诚信模范：1050分及以上\n" in zh
    assert raw_identifiers(zh, lang="zh") == []
    en = subprocess.run([CLI, "policy", "explain", "beijing"], capture_output=True, text=True, check=True).stdout
    assert "      Granted when: not on the blacklist and grade B or better\n" in en
    assert raw_identifiers(en, lang="en") == []
    codes = subprocess.run(
        [CLI, "policy", "explain", "beijing", "--codes"], capture_output=True, text=True, check=True
    ).stdout
    assert (
        "tax.late: -10 points (financial) for each tax payment record, where status == 'late', halving every 365 "
        'days, expiring after 1825 days, at most 60 points in all. Reason given: "taxes paid late" (TAX_LATE).'
    ) in codes
    assert "Tiers: AAA ≥ 1050, AA ≥ 1030, A ≥ 960, B ≥ 850, C ≥ 600, D ≥ 0" in codes
    # how the points become the score, in the public page's words (the table had none of them)
    assert (
        "Everyone starts at 1000 points; scores run from 0 to 1300.\nA weight that halves does so day by day: a record "
        "counts its points × 2^(−days since its date ÷ the days it takes to halve), a year being 365 days (10 points "
        "that halve every year count 7.08 after 182 days). Each dimension's points are added up within its limits; "
        "the score is the base and the dimensions, to the nearest whole point, a half upward (98.5 → 99, −2.5 → −2)."
        "\nTiers:"
    ) in codes
    # a list criterion on a record names the record type in words, in the reader's language
    assert (
        "  • judgment_defaulter: a court judgment record where defaulter and status == 'unfulfilled' — "
        "judgment defaulter\n"
    ) in codes
    codes_zh = subprocess.run(
        [CLI, "policy", "explain", "beijing", "--codes", "--lang", "zh"], capture_output=True, text=True, check=True
    ).stdout
    assert (
        "  • judgment_defaulter: 法院判决记录，条件：defaulter and status == 'unfulfilled' — 失信被执行人\n"
    ) in codes_zh
    assert (
        "初始1000分，分数范围0至1300。\n分值减半按天连续计算："
        "一条记录计其分值 × 2^(−记录日期至今的天数 ÷ 减半所需天数)，"
        "一年按365天计（每年减半的10分，182天后计7.08分）。"
        "各维度的分数相加后不超出其上下限；分数为初始分加各维度分数，"
        "取最接近的整数，恰为半分时向上取（98.5 → 99，−2.5 → −2）。\n等级："
    ) in codes_zh


@pytest.mark.slow
def test_list_blacklist_and_top(city: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    through_the_registry(
        city, (tmp_path / "courts.csv", "courts"), (tmp_path / "tax.csv", "tax_bureau"), runs=("2026-11-01",)
    )
    black = json.loads(run("list", "blacklist", "--json", db=city).stdout)
    assert [(b["subject_id"], b["score"], b["criteria"]) for b in black] == [(DEFAULTER, 900, "judgment_defaulter")]
    # Scored once: the defaulter is told (the notice), not yet listed; the list says so, as decisions and the public
    # look-up hold it (before, he was shown as any member, and a ticket then granted to him).
    assert [(b["listing"], b["effective_on"]) for b in black] == [("notice", "2026-12-31")]
    granted = run("decide", DEFAULTER, "high_speed_rail", "--purpose", "ticket purchase", db=city).stdout
    assert granted.startswith(f"high_speed_rail for {DEFAULTER}: GRANTED")
    monkeypatch.setenv("SOCIALCREDIT_TODAY", "2027-01-01")  # a run of its day (dated after today: a what-if)
    run("score", "--policy", "beijing", "--as-of", "2027-01-01", db=city)
    table = run("list", "blacklist", db=city).stdout.splitlines()
    assert [row.split() for row in table] == [  # the list and its criterion in the policy's words
        ["blacklist", "—", "Beijing", "social", "credit", "score", "2026.2"],
        ["subject_id", "name", "score", "tier", "criteria", "listing", "effective_on"],
        [DEFAULTER, "王伟", "900", "B", "judgment", "defaulter", "effective", "2026-12-31"],
    ]
    top = json.loads(run("list", "top", "--json", db=city).stdout)
    assert [(t["rank"], t["subject_id"], t["score"]) for t in top] == [(1, PAYER, 1002), (2, DEFAULTER, 900)]


@pytest.mark.slow
def test_list_redlist_shows_no_listing_columns(city: Path, tmp_path: Path) -> None:
    """A redlist has no notice, no grace period, no listing: its members are printed without the blacklist's
    listing and effective_on (they were empty columns in the table and null on every row of --json)."""
    from socialcredit.policy import builtin_policy

    text = builtin_policy("beijing").text.replace('id: beijing\nversion: "2026.2"', 'id: redtest\nversion: "1"', 1)
    exemplary = "when: \"tier == 'AAA' and (last_negative_days is null or last_negative_days >= 1095)\""
    assert exemplary in text
    (tmp_path / "redtest.yaml").write_text(text.replace(exemplary, 'when: "score >= 1000"'), encoding="utf-8")
    through_the_registry(
        city, (tmp_path / "tax.csv", "tax_bureau"), runs=("2026-11-01",), policy=str(tmp_path / "redtest.yaml")
    )
    red = json.loads(run("list", "redlist", "--policy", "redtest", "--json", db=city).stdout)
    assert red == [  # no court record here: the defaulter is at the base, 1000
        {"subject_id": DEFAULTER, "name": "王伟", "score": 1000, "tier": "A", "criteria": "exemplary"},
        {"subject_id": PAYER, "name": "李娜", "score": 1002, "tier": "A", "criteria": "exemplary"},
    ]
    table = run("list", "redlist", "--policy", "redtest", db=city).stdout.splitlines()
    assert [row.split() for row in table] == [
        ["redlist", "—", "Beijing", "social", "credit", "score", "1"],
        ["subject_id", "name", "score", "tier", "criteria"],
        [DEFAULTER, "王伟", "1000", "A", *["AAA", "with", "no", "negative", "record", "for", "three", "years"]],
        [PAYER, "李娜", "1002", "A", *["AAA", "with", "no", "negative", "record", "for", "three", "years"]],
    ]


@pytest.mark.slow
def test_a_rerun_reproduces_a_run_without_touching_anyones_listing(city: Path, tmp_path: Path) -> None:
    """`score --rerun 1` after a later run closed the later run's notices as "resolved during the notice period" and
    told the resident so, dated run 1's as-of date: a reproduction of the past is no news about anyone."""
    through_the_registry(city, runs=("2026-08-31",))  # run 1: before the judgment came in
    through_the_registry(city, (tmp_path / "courts.csv", "courts"), runs=("2026-08-31",))  # run 2: the notice
    told = run("notifications", DEFAULTER, "--json", db=city).stdout
    again = json.loads(run("score", "--rerun", "1", "--json", db=city).stdout)
    assert (again["run_id"], again["as_of"], again["list_counts"]) == (3, "2026-08-31", {})
    notices = json.loads(run("notices", "--subject", DEFAULTER, "--json", db=city).stdout)
    assert [(n["status"], n["noticed_on"], n["effective_on"]) for n in notices] == [
        ("pending", "2026-08-31", "2026-10-30")
    ]
    assert run("notifications", DEFAULTER, "--json", db=city).stdout == told  # nothing more told


@pytest.mark.slow
def test_score_from_the_state_or_the_records_and_the_state_commands(city: Path, tmp_path: Path) -> None:
    through_the_registry(city, (tmp_path / "courts.csv", "courts"))
    assert run("state", "show", db=city).stdout.startswith("No scoring state is kept yet")
    first = run("score", "--policy", "beijing", "--as-of", "2026-11-01", db=city).stdout
    assert first.startswith("Run 1: beijing 2026.2 as of 2026-11-01 (full, from the scoring state): 2 subjects")
    again = json.loads(run("score", "--policy", "beijing", "--as-of", "2026-11-01", "--json", db=city).stdout)
    records = run("score", "--policy", "beijing", "--as-of", "2026-11-01", "--from-records", "--json", db=city)
    assert (again["source"], json.loads(records.stdout)["source"]) == ("state", "records")
    # A rerun reads what it is told to: the records with --from-records, else the state (at the state's watermark).
    reruns = [
        json.loads(run("score", "--rerun", "1", *flag, "--json", db=city).stdout) for flag in (["--from-records"], [])
    ]
    assert [(r["run_id"], r["source"]) for r in reruns] == [(4, "records"), (5, "state")]

    # The state, kept through a later batch: one row (the judgment meets court.unfulfilled and the blacklist).
    ingest_rejecting(tmp_path / "tax.csv", "tax_bureau", db=city)  # T-1 meets tax.paid
    states = json.loads(run("state", "show", "--json", db=city).stdout)
    assert [(s["policy_id"], s["policy_version"], s["rows"]) for s in states] == [("beijing", "2026.2", 3)]
    table = run("state", "show", db=city).stdout.splitlines()
    assert table[0].split() == ["policy", "version", "watermark", "rows", "built", "at"]
    assert table[1].split()[:4] == ["beijing", "2026.2", str(states[0]["watermark"]), "3"]
    ok = run("state", "check", "beijing", db=city)
    assert ok.stdout.startswith("The scoring state of beijing 2026.2 equals a fresh build: 3 rows at change")

    # A row lost: check names it and exits 1, in JSON too; build makes it whole again.
    store = open_store(city, key="")
    store.execute(f'DELETE FROM "{states[0]["table_name"]}" WHERE record_key = (SELECT max(record_key) FROM records)')
    store.close()
    differs = run("state", "check", "beijing", db=city, check=False)
    assert differs.returncode == 1, differs.stderr
    assert "differs from a fresh build" in differs.stdout and "1 row missing, 0 rows extra" in differs.stdout
    assert "  rule:tax.paid: 1 missing, 0 extra" in differs.stdout.splitlines()
    as_json = run("state", "check", "beijing", "--json", db=city, check=False)
    assert as_json.returncode == 1
    assert {k: json.loads(as_json.stdout)[k] for k in ("ok", "missing", "extra")} == {
        "ok": False,
        "missing": 1,
        "extra": 0,
    }
    built = run("state", "build", "beijing", db=city).stdout
    assert built.startswith("Built the scoring state of beijing 2026.2: 3 rows at change")
    assert run("state", "check", "beijing", db=city, check=False).returncode == 0

    assert run("state", "drop", "beijing", db=city).stdout == "Dropped the scoring state of beijing 2026.2.\n"
    assert run("state", "drop", "beijing", db=city).stdout == "beijing 2026.2 has no scoring state.\n"
    gone = run("state", "check", "beijing", db=city, check=False)
    assert (gone.returncode, gone.stderr.strip()) == (2, "error: policy beijing 2026.2 has no scoring state")
    assert json.loads(run("state", "show", "--json", db=city).stdout) == []


@pytest.mark.slow
def test_a_lint_error_exits_1_from_the_console_script(tmp_path: Path) -> None:
    """typer.Exit(1) from a command is the process's exit code (click only returns it outside standalone mode)."""
    from socialcredit.policy import builtin_policy

    policy = tmp_path / "strict.yaml"
    policy.write_text(builtin_policy("beijing").text.replace("id: beijing\n", "id: strict\n", 1), encoding="utf-8")
    linted = subprocess.run([CLI, "policy", "lint", str(policy), "--profile", "eu"], capture_output=True, text=True)
    assert linted.returncode == 1 and " error" in linted.stdout
    clean = subprocess.run([CLI, "policy", "lint", "beijing", "--profile", "cn"], capture_output=True, text=True)
    assert clean.returncode == 0


@pytest.mark.slow
def test_the_demo_says_what_would_change_its_refusal(tmp_path: Path) -> None:
    """The demo's refused ticket ends with the actions that would change it, as `decide` gives them."""
    env = {k: v for k, v in os.environ.items() if k != "SOCIALCREDIT_DB_KEY"} | {"COLUMNS": "200"}
    demo = subprocess.run(
        [CLI, "demo", "--no-serve", "--residents", "300", "--db", "demo.duckdb"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    assert (demo.returncode, demo.stderr) == (0, ""), demo.stderr
    lines = demo.stdout.splitlines()
    # Styled, not printed with its markup ("[yellow]The demo store … is not encrypted[/]" before)
    assert lines[1] == "The demo store demo.duckdb is not encrypted (set SOCIALCREDIT_DB_KEY to encrypt it)."
    at = lines.index("What would change it:")
    assert lines[at - 1].startswith("  4. [") and lines[at + 1].startswith("  - pay the outstanding judgment of ")
    assert lines[at + 2] == ""  # then the file's command


@pytest.mark.slow
def test_a_name_with_brackets_is_shown_as_written(city: Path, tmp_path: Path) -> None:
    """Names come from the sources' files: `[/]` or `[bold]` in one is text, not the terminal's markup (before, list
    exited 3 with MarkupError and show dropped the brackets)."""
    renamed = tmp_path / "renamed.csv"
    renamed.write_text(f"subject_id,name,district,profession\n{DEFAULTER},王[/]伟 [bold]Wang,朝阳区,retail\n", "utf-8")
    through_the_registry(city, (renamed, "civil_affairs"), (tmp_path / "courts.csv", "courts"), runs=("2026-11-01",))
    listed = run("list", "blacklist", db=city, check=False)
    assert (listed.returncode, listed.stderr) == (0, "")
    assert listed.stdout.splitlines()[2].split() == [
        DEFAULTER,
        "王[/]伟",
        "[bold]Wang",
        "900",
        "B",
        "judgment",
        "defaulter",
        "notice",
        "2026-12-31",
    ]
    shown = run("show", DEFAULTER, db=city).stdout.splitlines()[0]
    assert shown == f"王[/]伟 [bold]Wang {DEFAULTER} (person, retail, 朝阳区)"


@pytest.mark.slow
def test_an_amount_with_fen_is_grouped_as_a_whole_one(city: Path, tmp_path: Path) -> None:
    """What would change a refusal groups the thousands of 39,367.29 yuan as of 80,000 yuan, and as the pages write a
    sum (languages.yuan; the command line grouped it with spaces, "39 367.29", until 2026-12-06, where the pages
    wrote "39,367.29")."""
    fen = tmp_path / "fen.csv"
    fen.write_text(
        (tmp_path / "courts.csv").read_text("utf-8").splitlines()[0]
        + "\n"
        + (f"C-9,{DEFAULTER},court_judgment,2026-06-01,civil,39367.29,unfulfilled,true\n"),
        "utf-8",
    )
    through_the_registry(city, (fen, "courts"), runs=("2026-08-31", "2026-11-01"))
    for lang, said in (("en", "of 39,367.29 yuan (record C-9 from courts)"), ("zh", "（金额 39,367.29 元；记录 C-9")):
        decided = run("decide", DEFAULTER, "high_speed_rail", "--purpose", "ticket purchase", "--lang", lang, db=city)
        assert said in decided.stdout, decided.stdout


@pytest.mark.slow
def test_output_to_a_pipe_keeps_every_value_whole(city: Path, tmp_path: Path) -> None:
    """Not a terminal, and no COLUMNS: a table is as wide as its values (it was cut at 80 columns, the identity
    number to '110105198003040…'); COLUMNS, when set, still decides."""
    through_the_registry(city, (tmp_path / "courts.csv", "courts"), runs=("2026-11-01",))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "SOCIALCREDIT_DB_KEY")}
    piped = subprocess.run(
        [CLI, "show", DEFAULTER, "--db", str(city)], capture_output=True, text=True, env=env, check=True
    ).stdout.splitlines()
    assert (
        "  1  COURT_UNFULFILLED  court judgment not fulfilled  -100    Fulfil the judgment; once the court records it, "
        "the points and the listing end. " in [f" {line}" for line in piped]
    ), piped
    rows = [line.split() for line in piped if line.startswith(" 2026-06-01")]
    assert rows == [
        [
            "2026-06-01",
            "courts",
            "C-1",
            "v1",
            "court_judgment",
            "amount=80000.0,",
            "case_type=civil,",
            "defaulter=True,",
            "status=unfulfilled",
            "counting",
            "beijing:",
            "court.unfulfilled",
            # and beside its points the listing it made, as it stands (noticed by the run; until 2026-12-07 only
            # its points)
            "-100;",
            *[
                "will",
                "put",
                "you",
                "on",
                "the",
                "blacklist",
                "(judgment",
                "defaulter)",
                "from",
                "2026-12-31",
                "unless",
                "the",
                "cause",
                "is",
                "resolved",
                "before",
                "then",
            ],
        ]
    ]
    narrow = subprocess.run(
        [CLI, "list", "blacklist", "--db", str(city)], capture_output=True, text=True, env=env | {"COLUMNS": "40"}
    ).stdout
    assert DEFAULTER not in narrow  # COLUMNS=40: cut to fit, as asked


def test_a_file_name_with_brackets_is_shown_in_the_progress_bar_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    # the label went through rich markup: `socialcredit ingest 'x[/].csv'` on a terminal ended in a MarkupError
    import io

    from rich.console import Console

    from socialcredit import cli

    screen = io.StringIO()
    monkeypatch.setattr(cli, "err", Console(file=screen, force_terminal=True, width=100))
    with cli._progress("ingest x[/].csv") as step:
        step("staging", 1, 2)
    assert "ingest x[/].csv" in screen.getvalue()
