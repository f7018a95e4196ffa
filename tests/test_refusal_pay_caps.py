"""What would change a refusal names the acts that give back enough under the rules' caps and the dimensions'
limits: paying what a cap still takes gives nothing back, and where no act gives anything back the refusal says so."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import socialcredit
from api_helpers import serving
from cli_helpers import sc
from due_world import JUDGMENT, C, built, ingest, score_on_its_day, write_csv
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.policy import LoadedPolicy, load_policy
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.decisions import actions
from socialcredit.registry.decisions.decide import decide
from socialcredit.registry.scoring.policies import publish_policy, resolve_policy
from socialcredit.store import Store, open_store

D = dt.date
LOANS = ["record_id", "subject_id", "record_type", "event_date", "amount", "status"]
UTILITIES = ["record_id", "subject_id", "record_type", "event_date", "utility", "amount", "status"]
TAX = ["record_id", "subject_id", "record_type", "event_date", "amount", "status", "days_late"]
PAY = "pay the outstanding judgment of 5,000 yuan (record {q} from courts); the court then records it fulfilled"
PAY_ZH = "履行未执行的判决（金额 5,000 元；记录 {q}，来源 人民法院），法院随后登记为已履行"
DISPUTE = "if a record counted against you is wrong, you can dispute it: its source then corrects or withdraws it"


def _judged(tmp_path: Path, rows: str) -> Path:
    """A store made in this process as `init`, `ingest` (on 2026-03-01) and `score` make it: 王五 (retail, 海淀区) with
    the court judgments ``rows`` (CSV lines of JUDGMENT's columns), scored under beijing as of 2026-04-02 on its
    day. What a test asks of it, it asks the console script."""
    batches = {
        "civil_affairs": f"subject_id,name,district,profession\n{C},王五,海淀区,retail\n",
        "courts": ",".join(JUDGMENT) + "\n" + rows,
    }
    db = tmp_path / "city.duckdb"
    with open_store(db, create=True, key="") as store:
        for source, text in batches.items():
            (tmp_path / f"{source}.csv").write_text(text, encoding="utf-8")
            ingest(store, tmp_path / f"{source}.csv", source, D(2026, 3, 1))
        score_on_its_day(store, resolve_policy(store, "beijing"), D(2026, 4, 2))
    return db


def test_the_judgments_named_under_a_cap_grant_the_loan(tmp_path: Path) -> None:
    """王五: four unfulfilled civil judgments Q0-Q3 of 2020-01-01 to 2023-01-01 (court.unfulfilled −100 each, cap
    300): score 1000 − 300 = 700, tier C; a bank loan needs tier B (850). Paying one leaves 300 taken, two 200
    (800, refused), three 100 (900, granted). Until 2026-12-06 the refusal named Q0 and Q1, each counted as 100
    given back, and the run after they were fulfilled still refused (score 800). Asked through the console script
    and the served API alike; done as said, the run on its day grants the loan."""
    rows = "".join(f"Q{i},{C},court_judgment,202{i}-01-01,civil,5000,unfulfilled,false\n" for i in range(4))
    db = _judged(tmp_path, rows)
    ask = ("decide", C, "bank_loan", "--purpose", "loan", "--policy", "beijing")
    en = sc(*ask, db=db, today="2026-04-02").stdout
    said = en[en.index("What would change it:") :].splitlines()[1:]
    assert [line.removeprefix("  - ") for line in said] == [
        *(PAY.format(q=q) for q in ("Q0", "Q1", "Q2")),
        "or wait until 2028-12-30, when enough of these records expire",
        DISPUTE,
    ]
    zh = sc(*ask, "--lang", "zh", db=db, today="2026-04-02").stdout
    said = zh[zh.index("如何改变结果：") :].splitlines()[1:4]
    assert [line.removeprefix("  - ") for line in said] == [PAY_ZH.format(q=q) for q in ("Q0", "Q1", "Q2")]
    # the served API says the same
    store = open_store(db, key="")
    operator = {"Authorization": "Bearer " + issue_key(store, "operator", "registry operations").token}
    app = create_app(db, store=store)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(TODAY_ENV, "2026-04-02")
        with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
            got = client.get(f"/v1/subjects/{C}/services/bank_loan", params={"policy": "beijing"}, headers=operator)
    assert got.status_code == 200, got.text
    assert got.json()["actions"][:3] == [PAY.format(q=q) for q in ("Q0", "Q1", "Q2")]
    store.close()
    # done as said: the court records Q0-Q2 fulfilled, and the run of that day grants the loan
    paid = "".join(f"Q{i},{C},court_judgment,202{i}-01-01,civil,5000,fulfilled,false,true\n" for i in range(3))
    (tmp_path / "paid.csv").write_text(",".join([*JUDGMENT, "correction"]) + "\n" + paid, encoding="utf-8")
    with open_store(db, key="") as store:  # as `ingest` and `score --as-of 2026-04-10` make them, on that day
        ingest(store, tmp_path / "paid.csv", "courts", D(2026, 4, 10))
        score_on_its_day(store, resolve_policy(store, "beijing"), D(2026, 4, 10))
    after = sc(*ask, db=db, today="2026-04-10").stdout
    assert "GRANTED" in after and "score 900, tier B" in after, after


def _tight(store: Store, folder: Path) -> LoadedPolicy:
    """beijing with the financial dimension's floor at −150 (not −600) and a bank loan granted on the total:
    "not blacklist and total >= 900", published as version 2026.9."""
    return _beijing(store, folder, "min: -150, max: 60", "total >= 900", "2026.9")


def _beijing(store: Store, folder: Path, financial: str, grant: str, version: str) -> LoadedPolicy:
    """beijing with the financial dimension's limits ``financial`` (``min: -600, max: 60`` in beijing) and a bank
    loan granted on ``grant`` (``"tier >= 'B'"``), published as ``version``."""
    text = (Path(socialcredit.__file__).parent / "policies" / "beijing.yaml").read_text(encoding="utf-8")
    changed = text.replace(
        "grant_if: \"not blacklist and tier >= 'B'\"", f'grant_if: "not blacklist and {grant}"', 1
    ).replace("en: financial}, min: -600, max: 60}", f"en: financial}}, {financial}}}", 1)
    assert changed.count(grant) == 1 and financial in changed
    (folder / "bj.yaml").write_text(changed.replace('version: "2026.2"', f'version: "{version}"'), encoding="utf-8")
    loaded = load_policy(folder / "bj.yaml", store.catalog)
    publish_policy(store, loaded)
    return loaded


def _loan(store: Store, day: dt.date, lang: str = "en") -> tuple[bool, int, list[str]]:
    d = decide(store, C, "bank_loan", "loan", requester="bank", policy_id="beijing", today=day, lang=lang)
    return d.granted, d.score, d.actions


def test_the_acts_named_under_a_dimension_floor_grant_a_loan_on_the_total(tmp_path: Path) -> None:
    """Under beijing with a financial floor of −150 and a loan on "total >= 900": C's civil judgment Q (2026-01-05,
    unfulfilled: −100, legal), loan defaults L1-L4 (2026-01-01..04: −50 each, capped at 200) and unpaid utility
    bills U1-U4 (−5 each, cap 20): financial −220 clamped to −150, total 1000 − 100 − 150 = 750, 150 short.
    Paying Q gives 100; repaying a loan ends its −50 and starts loan.late's −5 at the most: one gives nothing
    (−150 − 5 is still under the floor), two 20 (−130), three 65 (−85): Q and L1-L3 give 165. Until 2026-12-06 it
    named Q, L1 and L2 (100 + 45 + 45 counted), which give 120: refused at 870."""
    store = built(tmp_path)
    ingest(
        store,
        write_csv(
            tmp_path / "q.csv",
            JUDGMENT,
            [["Q", C, "court_judgment", "2026-01-05", "civil", "5000", "unfulfilled", "false"]],
        ),
        "courts",
        D(2026, 1, 20),
    )
    loans = [[f"L{i}", C, "loan_repayment", f"2026-01-0{i}", "10000", "default"] for i in (1, 2, 3, 4)]
    ingest(store, write_csv(tmp_path / "banks.csv", LOANS, loans), "banks", D(2026, 1, 20))
    bills = [[f"U{i}", C, "utility_payment", f"2026-02-0{i}", "water", "300", "unpaid"] for i in (1, 2, 3, 4)]
    ingest(store, write_csv(tmp_path / "bills.csv", UTILITIES, bills), "utilities", D(2026, 2, 20))
    loaded = _tight(store, tmp_path)
    score_on_its_day(store, loaded, D(2026, 4, 2))
    granted, points, actions = _loan(store, D(2026, 4, 2))
    assert (granted, points) == (False, 750)
    assert actions[:4] == [
        "pay the outstanding judgment of 5,000 yuan (record Q from courts); the court then records it fulfilled",
        *(f"repay the overdue loan of 10,000 yuan (record L{i} from banks)" for i in (1, 2, 3)),
    ]
    assert not any(a.startswith("raise") for a in actions)
    zh = _loan(store, D(2026, 4, 2), "zh")[2]
    assert zh[1] == "偿还逾期贷款（金额 10,000 元；记录 L1，来源 商业银行）"
    # done as said: granted on the run of that day
    ingest(
        store,
        write_csv(
            tmp_path / "paid.csv",
            [*JUDGMENT, "correction"],
            [["Q", C, "court_judgment", "2026-01-05", "civil", "5000", "fulfilled", "false", "true"]],
        ),
        "courts",
        D(2026, 4, 10),
    )
    repaid = [[f"L{i}", C, "loan_repayment", f"2026-01-0{i}", "10000", "late", "true"] for i in (1, 2, 3)]
    ingest(store, write_csv(tmp_path / "repaid.csv", [*LOANS, "correction"], repaid), "banks", D(2026, 4, 10))
    score_on_its_day(store, loaded, D(2026, 4, 10))
    assert _loan(store, D(2026, 4, 10))[0] is True


def test_no_act_is_named_where_none_gives_anything_back(tmp_path: Path) -> None:
    """Under the same version: C's tax evasions X7, X8 (2026-03-01: −100 each halving every 730 days, −193.9 on
    2026-04-02; settling them changes nothing) and unpaid bills U1-U4 (−20): financial −213.9 clamped to −150, total
    850, 50 short. Paying the bills gives nothing back while the evasions keep the floor: the refusal says so, in
    both languages, and names no act (until 2026-12-06 it named U1-U4, counted as 20 given back)."""
    store = built(tmp_path)
    tax = [[x, C, "tax_payment", "2026-03-01", "5000", "evaded", "0"] for x in ("X7", "X8")]
    ingest(store, write_csv(tmp_path / "tax2.csv", TAX, tax), "tax_bureau", D(2026, 3, 2))
    bills = [[f"U{i}", C, "utility_payment", f"2026-02-0{i}", "water", "300", "unpaid"] for i in (1, 2, 3, 4)]
    ingest(store, write_csv(tmp_path / "bills.csv", UTILITIES, bills), "utilities", D(2026, 2, 20))
    loaded = _tight(store, tmp_path)
    score_on_its_day(store, loaded, D(2026, 4, 2))
    granted, points, actions = _loan(store, D(2026, 4, 2))
    assert (granted, points) == (False, 850)
    assert actions == [
        "paying or fulfilling your records gives no points back: the rules' caps and the dimensions' limits "
        "still take as many",
        "raise the score by 50 points",
        "or wait until 2036-02-27, when enough of these records expire",
        DISPUTE,
    ]
    assert _loan(store, D(2026, 4, 2), "zh")[2][:2] == [NO_ACT_ZH, "将分数提高 50 分"]
    # done all the same: the bills paid on 2026-04-10 leave −192.5 of evasions (−96.3 each), under the floor
    _pay_bills(store, tmp_path, (1, 2, 3, 4))
    score_on_its_day(store, loaded, D(2026, 4, 10))
    assert _loan(store, D(2026, 4, 10))[:2] == (False, 850)


NO_ACT_ZH = "履行或缴清记录所载的义务不会增加分数：规则的扣分上限和维度下限仍扣除同样多的分数"


def _pay_bills(store: Store, folder: Path, bills: tuple[int, ...]) -> None:
    """The utility bills U<n> of ``bills`` (2026-02-0n, 300 yuan) recorded paid late on 2026-04-10."""
    paid = [[f"U{i}", C, "utility_payment", f"2026-02-0{i}", "water", "300", "late", "true"] for i in bills]
    ingest(store, write_csv(folder / "paid.csv", [*UTILITIES, "correction"], paid), "utilities", D(2026, 4, 10))


def _on_time(store: Store, folder: Path) -> None:
    """Twelve loan repayments M0-M11 on time, 2025-04-15 and every 30 days to 2026-03-11: loan.on_time gives +1 a
    month, 12 (its cap) within its 365 days of 2026-04-02."""
    rows = [
        [f"M{m}", C, "loan_repayment", (D(2025, 4, 15) + dt.timedelta(days=30 * m)).isoformat(), "1000", "on_time"]
        for m in range(12)
    ]
    ingest(store, write_csv(folder / "ontime.csv", LOANS, rows), "banks", D(2026, 3, 20))


def test_no_bill_is_named_that_a_dimension_ceiling_makes_worth_nothing(tmp_path: Path) -> None:
    """beijing with the financial dimension's ceiling at 5 and a loan on "total >= 1006": C's twelve loans repaid on
    time (+12) and an unpaid bill U1 (−5): financial +7 clamped to 5, total 1005. Paying U1 leaves +12, clamped to
    5 all the same: it gives nothing, and the refusal says so (until 2026-12-06 it named U1, its 5 counted with no
    reward: −5 to 0). Done all the same, the run of its day still refuses at 1005."""
    store = built(tmp_path)
    _on_time(store, tmp_path)
    bill = [["U1", C, "utility_payment", "2026-02-01", "water", "300", "unpaid"]]
    ingest(store, write_csv(tmp_path / "u.csv", UTILITIES, bill), "utilities", D(2026, 2, 20))
    loaded = _beijing(store, tmp_path, "min: -600, max: 5", "total >= 1006", "2026.10")
    score_on_its_day(store, loaded, D(2026, 4, 2))
    granted, points, actions = _loan(store, D(2026, 4, 2))
    assert (granted, points) == (False, 1005)
    assert actions == [
        "paying or fulfilling your records gives no points back: the rules' caps and the dimensions' limits "
        "still take as many",
        "raise the score by 1 point",
        DISPUTE,
    ]
    assert _loan(store, D(2026, 4, 2), "zh")[2][:2] == [NO_ACT_ZH, "将分数提高 1 分"]
    _pay_bills(store, tmp_path, (1,))
    score_on_its_day(store, loaded, D(2026, 4, 10))
    assert _loan(store, D(2026, 4, 10))[:2] == (False, 1005)


def test_the_bills_rewards_lift_over_a_dimension_floor_are_named(tmp_path: Path) -> None:
    """beijing with the financial floor at −180 and a loan on "total >= 822": C's tax evasions X7, X8 (2026-03-01:
    −97.0 each on 2026-04-02), taxes paid in 2023-2025 (+6) and twelve loans on time (+12), unpaid bills U1-U4
    (−20): financial −195.9 clamped to −180, total 820, 2 short. Paying the four bills gives −175.9: 4.1 back;
    three leave −180.9, nothing. The refusal names the four, in both languages (until 2026-12-06, counting no
    reward, −213.9 to −193.9 both under the floor, it said paying gave nothing back); paid, the loan is granted."""
    store = built(tmp_path)
    _on_time(store, tmp_path)
    tax = [[x, C, "tax_payment", "2026-03-01", "5000", "evaded", "0"] for x in ("X7", "X8")]
    tax += [[f"P{y}", C, "tax_payment", f"{y}-05-01", "5000", "paid", "0"] for y in (2023, 2024, 2025)]
    ingest(store, write_csv(tmp_path / "tax.csv", TAX, tax), "tax_bureau", D(2026, 3, 2))
    bills = [[f"U{i}", C, "utility_payment", f"2026-02-0{i}", "water", "300", "unpaid"] for i in (1, 2, 3, 4)]
    ingest(store, write_csv(tmp_path / "bills.csv", UTILITIES, bills), "utilities", D(2026, 2, 20))
    loaded = _beijing(store, tmp_path, "min: -180, max: 60", "total >= 822", "2026.11")
    score_on_its_day(store, loaded, D(2026, 4, 2))
    granted, points, actions = _loan(store, D(2026, 4, 2))
    assert (granted, points) == (False, 820)
    assert actions == [
        *(f"pay the utility bill of 300 yuan (record U{i} from utilities)" for i in (1, 2, 3, 4)),
        "or wait until 2036-02-27, when enough of these records expire",
        DISPUTE,
    ]
    zh = _loan(store, D(2026, 4, 2), "zh")[2]
    assert zh[0] == "缴纳欠缴的公用事业费（金额 300 元；记录 U1，来源 公用事业公司）"
    _pay_bills(store, tmp_path, (1, 2, 3, 4))
    score_on_its_day(store, loaded, D(2026, 4, 10))
    assert _loan(store, D(2026, 4, 10))[:2] == (True, 825)


_DRAWN = {  # beijing's rules of these records: a cap (court, loans, evasion), decay (evasion), a dimension's min,
    # a reward
    "court": (
        "courts",
        JUDGMENT,
        lambda rid, day, status: [rid, C, "court_judgment", day, "civil", "5000", status, "false"],
        "fulfilled",
    ),
    "loan": (
        "banks",
        LOANS,
        lambda rid, day, status: [rid, C, "loan_repayment", day, "10000", status],
        "late",
    ),
    "tax": (
        "tax_bureau",
        TAX,
        lambda rid, day, status: [rid, C, "tax_payment", day, "5000", status, "0"],
        "",
    ),
    "on_time": (  # a reward (loan.on_time +1 a month, cap 12), which no act touches: the sum counts it
        "banks",
        LOANS,
        lambda rid, day, status: [rid, C, "loan_repayment", day, "1000", status],
        "",
    ),
}
_FIRST = {"court": "unfulfilled", "loan": "default", "tax": "evaded", "on_time": "on_time"}


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(sorted(_DRAWN)), st.integers(0, 2400)), min_size=1, max_size=8))
@example([("court", 2251), ("court", 1885), ("court", 1520), ("court", 1155)])  # 2020-01-01 .. 2023-01-01
@example([("loan", 30), ("loan", 31), ("loan", 32), ("loan", 33), ("loan", 34), ("tax", 0), ("court", 10)])
@example([("court", 2251), ("court", 1885), ("court", 1520), ("court", 1155), ("on_time", 20), ("on_time", 50)])
def test_the_acts_named_grant_the_loan(tmp_path_factory: pytest.TempPathFactory, drawn: list[tuple[str, int]]) -> None:
    """A few of C's judgments, loan defaults, tax evasions and loans repaid on time, dated up to 2400 days before
    2026-03-01: where a bank loan is refused and acts are named that cover the gap (no points left to raise), doing
    them and scoring that day grants it; where no act is named though some record has one, the refusal says that
    none gives back."""
    folder = tmp_path_factory.mktemp("drawn")
    store = built(folder)
    made: dict[str, tuple[str, str]] = {}
    sent: dict[str, list[list[str]]] = {}  # one batch a source, each row as drawn
    for n, (kind, ago) in enumerate(drawn):
        source, header, row, _ = _DRAWN[kind]
        day = (D(2026, 3, 1) - dt.timedelta(days=ago)).isoformat()
        sent.setdefault(source, []).append(row(f"W{n}", day, _FIRST[kind]))
        made[f"W{n}"] = (kind, day)
    for source, rows in sent.items():
        header = next(h for s, h, _, _ in _DRAWN.values() if s == source)
        ingest(store, write_csv(folder / f"drawn-{source}.csv", header, rows), source, D(2026, 3, 2))
    beijing = resolve_policy(store, "beijing")
    score_on_its_day(store, beijing, D(2026, 4, 2))
    loan = decide(store, C, "bank_loan", "loan", requester="bank", today=D(2026, 4, 2))
    if loan.granted or loan.lists:
        store.close()
        return
    named = [m for a in loan.actions if a.startswith(("pay ", "repay ")) for m in re.findall(r"record (W\d+)", a)]
    if not named:  # a judgment counts 2555 days, a loan default 1825: one still counting has an act
        acts = any(
            k == "court" or (k == "loan" and D.fromisoformat(d) + dt.timedelta(1825) > D(2026, 4, 2))
            for k, d in made.values()
        )
        assert loan.actions[0].startswith("paying or fulfilling") == acts, loan.actions
    elif not any(a.startswith("raise") for a in loan.actions):
        fixed: dict[str, list[list[str]]] = {}  # one batch of corrections a source
        for rid in named:
            kind, day = made[rid]
            source, header, row, done = _DRAWN[kind]
            fixed.setdefault(source, []).append([*row(rid, day, done), "true"])
        for source, rows in fixed.items():
            header = next(h for s, h, _, _ in _DRAWN.values() if s == source)
            ingest(
                store, write_csv(folder / f"done-{source}.csv", [*header, "correction"], rows), source, D(2026, 4, 10)
            )
        score_on_its_day(store, beijing, D(2026, 4, 10))
        after = decide(store, C, "bank_loan", "loan", requester="bank", today=D(2026, 4, 10))
        assert after.granted, (loan.actions, after.score)
    store.close()


def test_the_acts_weighed_are_the_largest_few_hundred(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """1,000 unpaid bills (utility.unpaid −5 each, capped at 20): paying fewer than 997 gives nothing back. Only the
    ACTS_WEIGHED (200) acts that take most are weighed, each step once per act left and once kept: 200 steps of
    200, 199, ... 1 rises and one kept, 20,100 + 200 = 20,300 sums of one record's hits, none of all the records;
    none gives anything back, so none is named. Until 2026-12-06 every act was weighed, each by summing every
    record (3,000 parking tickets: 55 s under the service's writer lock)."""
    store = built(tmp_path)
    loaded = resolve_policy(store, "beijing")
    bills = [
        {"record_id": f"U{i}", "rules": [{"rule_id": "utility.unpaid", "points": -5.0}], "after": []}
        | {"kind": "utility_payment", "cured": -5.0}
        for i in range(1000)
    ]
    weighed: list[int] = []
    rise = actions._Sums.rise

    def counted(self: actions._Sums, before: list[dict[str, object]], *args: object, **kw: bool) -> float:
        weighed.append(id(before))
        return rise(self, before, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(actions._Sums, "rise", counted)
    assert actions._acts(loaded, bills, 10.0) == ([], 0.0)
    assert (len(weighed), len(set(weighed))) == (20_300, actions.ACTS_WEIGHED) == (20_300, 200)
    store.close()


def test_a_refusal_names_ten_acts_and_counts_the_rest(tmp_path: Path) -> None:
    """13 unfulfilled judgments under court.unfulfilled's cap of 300: the cap takes 300 until only two are left
    unpaid, so a loan (tier B, 850 of 700) needs twelve paid. The words name ten and count the other two with their
    source, in both languages (until 2026-12-06 a refusal named every act, thousands for thousands of fines)."""
    rows = "".join(f"Q{i:02d},{C},court_judgment,2024-01-{i + 1:02d},civil,5000,unfulfilled,false\n" for i in range(13))
    db = _judged(tmp_path, rows)
    ask = ("decide", C, "bank_loan", "--purpose", "loan", "--policy", "beijing")
    en = sc(*ask, db=db, today="2026-04-02").stdout
    said = [line.removeprefix("  - ") for line in en[en.index("What would change it:") :].splitlines()[1:]]
    named = [line for line in said if line.startswith("pay the outstanding judgment")]
    assert len(named) == 10 and len({re.search(r"record (Q\d+)", line)[1] for line in named}) == 10  # type: ignore[index]
    assert said[10] == "and pay or fulfil 2 more records like these (courts): your file lists them"
    zh = sc(*ask, "--lang", "zh", db=db, today="2026-04-02").stdout
    said = [line.removeprefix("  - ") for line in zh[zh.index("如何改变结果：") :].splitlines()[1:]]
    assert said[10] == "另需履行或缴清 2 条同类记录（人民法院），详见您的信用档案"
