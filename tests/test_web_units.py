"""The parts of the pages that need no browser: the message catalogue, the rate limiter, the SVG charts,
sign-in links and sessions, and the dashboard's figures on hand-made runs."""

from __future__ import annotations

import json
import os
import re
import string
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from api_helpers import serving
from socialcredit.catalog import load_catalog
from socialcredit.errors import AuthError, NotFoundError, SocialCreditError, TooManyRequestsError
from socialcredit.example import AS_OF, write_example
from socialcredit.registry.access.parties import issue_key, revoke_key
from socialcredit.registry.access.signin import (
    WEB_ROLES,
    end_session,
    issue_link,
    redeem_link,
    session_principal,
    sign_in_with_key,
    start_session,
)
from socialcredit.registry.due_process.disputes import STATUSES
from socialcredit.registry.due_process.listings import LISTING_STATUSES
from socialcredit.registry.due_process.repair import REPAIR_STATUSES
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.registry.reporting import dashboard
from socialcredit.store import Store, open_store
from socialcredit.web.charts import Bar, bars, diverging, histogram
from socialcredit.web.core import ACCEPT_ENTRIES, ACCEPT_LONGEST, accepted_language
from socialcredit.web.disputes_page import answer_refusal, dispute_refusal, review_refusal
from socialcredit.web.i18n import MESSAGES, translate

WEB = Path(__file__).resolve().parent.parent / "src" / "socialcredit" / "web"

# -- the message catalogue ------------------------------------------------------------------------------------


def _used_keys() -> set[str]:
    """Every literal key a template or a page module asks for (t('key') or t("key"), not t('prefix_' + x))."""
    used: set[str] = set()
    for path in [*WEB.glob("templates/*.html"), *WEB.glob("*.py")]:
        used |= set(re.findall(r"\bt\(\s*['\"]([a-z0-9_]+)['\"]\s*[,)]", path.read_text("utf-8")))
    return used


def test_every_key_a_page_uses_exists_in_both_languages() -> None:
    used = _used_keys()
    assert len(used) > 150  # the scan found the templates
    assert sorted(used - set(MESSAGES["zh"])) == []
    assert sorted(used - set(MESSAGES["en"])) == []
    assert set(MESSAGES["zh"]) == set(MESSAGES["en"])


def test_keys_built_from_data_exist_for_every_value() -> None:
    """Keys made of a prefix and a value: professions, roles, statuses, outcomes, kinds, lists, refusals."""
    needed = [f"profession_{p}" for p in load_catalog().professions]
    needed += [f"role_{r}" for r in WEB_ROLES] + [f"forbidden_{r}" for r in WEB_ROLES]
    needed += [
        f"status_{s}"
        for s in ("counting", "not_counting", "withdrawn", "superseded", "disputed", "expired", "repaired")
    ]
    needed += [f"dispute_status_{s}" for s in STATUSES] + [f"repair_status_{s}" for s in REPAIR_STATUSES]
    needed += [f"listing_status_{s}" for s in LISTING_STATUSES]
    needed += ["outcome_granted", "outcome_refused", "kind_person", "kind_org", "list_blacklist", "list_redlist"]
    src = WEB.parent / "registry" / "access"
    codes = set()
    for module in ("parties.py", "signin.py"):
        codes |= set(re.findall(r'AuthError\(\s*"([a-z_]+)"', (src / module).read_text("utf-8")))
    assert {"key_missing", "link_used", "session_expired", "role_has_no_pages"} <= codes
    needed += [f"auth_{c}" for c in codes]
    assert sorted(k for k in needed if k not in MESSAGES["zh"]) == []


def test_both_languages_fill_the_same_placeholders_and_none_is_empty() -> None:
    fields = string.Formatter()
    for key, zh in MESSAGES["zh"].items():
        en = MESSAGES["en"][key]
        assert zh.strip() and en.strip(), key
        assert {f for _, f, _, _ in fields.parse(zh) if f} == {f for _, f, _, _ in fields.parse(en) if f}, key


def test_a_dispute_refusal_the_page_has_no_words_for_is_said_in_its_chinese_when_it_has_one() -> None:
    """The registry's own message stands in for a refusal the form has no words for: its Chinese on a Chinese page
    (it was its English on both)."""
    exc = SocialCreditError("the moon is in the way", code="lunar", zh="月亮挡住了")
    said = {lang: dispute_refusal(cast(Any, SimpleNamespace(lang=lang)), exc) for lang in ("en", "zh")}
    assert said == {"en": "the moon is in the way", "zh": "月亮挡住了"}
    plain = SocialCreditError("no Chinese here", code="lunar")
    assert dispute_refusal(cast(Any, SimpleNamespace(lang="zh")), plain) == "no Chinese here"


def test_a_furnishers_answer_or_an_operators_review_refused_without_words_is_said_in_its_chinese() -> None:
    """The same for a furnisher's answer and an operator's review of a dispute refused by a code those forms have
    no words for."""
    exc = SocialCreditError("the moon is in the way", code="lunar", zh="月亮挡住了")
    d = {"dispute_id": 1, "status": "open", "record_id": "R1", "deadline": "2026-05-01"}
    for refusal in (answer_refusal, review_refusal):
        said = {lang: refusal(cast(Any, SimpleNamespace(lang=lang)), exc, d) for lang in ("en", "zh")}
        assert said == {"en": "the moon is in the way", "zh": "月亮挡住了"}


def test_translate_fills_placeholders_and_falls_back() -> None:
    assert translate("zh", "records_caption", n="200") == "共 200 条记录"
    assert translate("en", "records_caption", n="200") == "200 records"
    assert translate("en", "no_such_key", default="plain") == "plain"
    assert translate("fr", "sign_in") == "登录"  # an unknown language reads Chinese, the default


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("en-US,en;q=0.9", "en"),
        ("EN", "en"),
        ("en-GB", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("zh-Hant-TW, en;q=0.5", "zh"),
        ("de-DE,de;q=0.9,en;q=0.7,zh;q=0.6", "en"),  # of the pages' languages, English weighs more
        ("zh;q=0.5, en;q=0.8", "en"),  # by weight, not by order
        ("fr;q=1.0, zh;q=0.4, en;q=0.400", "zh"),  # equal weights: the first
        ("en;q=0, *", "zh"),  # q=0: not English; anything else: the default
        ("*;q=0.5, en;q=0.6", "en"),
        ("en; q=0.9", "en"),  # a space before the weight
        ("en;q=1.5, zh;q=0.1", "zh"),  # no weight above 1: the entry is not read
        ("en;q=0.1234, zh;q=0.1", "zh"),  # at most three decimals
        ("en;q=abc", None),
        ("en;level=1", None),  # no parameter but the weight
        ("fr-FR, de", None),
        ("", None),
        (None, None),
        (";;;,,,q=,==", None),
        ("\x00en\u202e", None),
    ],
)
def test_accept_language_is_read_by_weight(header: str | None, lang: str | None) -> None:
    assert accepted_language(header) == lang


def test_a_long_accept_language_is_not_read_past_its_bounds() -> None:
    assert accepted_language("en," + "x" * (ACCEPT_LONGEST - 3)) == "en"  # as long as may be read
    assert accepted_language("en," + "x" * (ACCEPT_LONGEST - 2)) is None  # a character longer: not read at all
    padding = "x," * (ACCEPT_ENTRIES - 1)
    assert accepted_language(padding + "en") == "en"  # the last entry read
    assert accepted_language(padding + "x,en") is None  # the first entry not read


# -- charts ---------------------------------------------------------------------------------------------------


def _heights(svg: str) -> list[float]:
    return [float(h) for h in re.findall(r'<rect class="bar[^"]*"[^>]* height="([\d.]+)"', svg)]


def test_a_histogram_draws_bars_in_proportion_to_counts() -> None:
    svg = str(histogram([(0, 10, 5), (10, 20, 10), (20, 30, 0)], title="t", desc="d", x_label="score"))
    assert _heights(svg) == [94.0, 188.0, 0.0]  # the plot is 188 units tall; the peak fills it
    assert re.findall(r"<title>([^<]+)</title>", svg)[1:] == ["0–9: 5", "10–19: 10", "20–29: 0"]
    assert 'role="img"' in svg and 'aria-label="t"' in svg


def test_bars_escape_their_labels_and_start_where_asked() -> None:
    svg = str(bars([Bar("<b>x</b>", 1000.0), Bar("y", 950.0)], title="a & b", desc="d", lo=900.0))
    assert "<b>" not in svg and "&lt;b&gt;x&lt;/b&gt;" in svg and 'aria-label="a &amp; b"' in svg
    widths = [float(w) for w in re.findall(r'<rect class="bar[^"]*" x="[\d.]+" y="[\d.]+" width="([\d.]+)"', svg)]
    assert widths[0] == pytest.approx(2 * widths[1])  # 100 and 50 above 900


def test_a_diverging_chart_puts_losses_left_of_zero() -> None:
    svg = str(diverging([("lost", -50.0, -100.0, 0.0), ("gained", 25.0, 0.0, 50.0)], title="t", desc="d"))
    zero = float(re.search(r'<line class="zero" x1="([\d.]+)"', svg).group(1))  # type: ignore[union-attr]
    bars_ = re.findall(r'<rect class="bar (\w+)" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', svg)
    (tone1, x1, w1), (tone2, x2, w2) = bars_
    assert (tone1, tone2) == ("warn", "good")
    # (coordinates are printed to a tenth of a unit)
    assert float(x1) + float(w1) == pytest.approx(zero, abs=0.15) and float(x2) == pytest.approx(zero, abs=0.15)
    assert float(w1) == pytest.approx(2 * float(w2), abs=0.15)


# -- sign-in links and sessions -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    folder = tmp_path_factory.mktemp("signin")
    files = write_example(folder / "example", residents=20)
    s = open_store(folder / "store.duckdb", create=True, key="")
    ingest_file(s, files.subjects, "civil_affairs", today=AS_OF)
    yield s
    s.close()


def _person(store: Store, n: int = 0) -> str:
    return str(
        store.one("SELECT subject_id FROM subjects WHERE kind = 'person' ORDER BY subject_id LIMIT 1 OFFSET ?", [n])
    )


def test_a_link_signs_a_resident_in_once(store: Store) -> None:
    sid = _person(store)
    link = issue_link(store, subject=sid)
    assert link.token.startswith(f"scl_{link.link_id}_") and link.role == "resident"
    who = redeem_link(store, link.token)
    assert (who.actor, who.role, who.subject_id, who.key_id) == (f"link:{link.link_id}", "resident", sid, None)
    with pytest.raises(AuthError, match="was used at") as used:
        redeem_link(store, link.token)
    assert used.value.code == "link_used"
    assert store.one("SELECT count(*) FROM signin_links WHERE token_hash LIKE '%' || ? || '%'", [link.token]) == 0
    for bad, code in (
        ("", "link_malformed"),
        (link.token[:-1] + ("A" if link.token[-1] != "A" else "B"), "link_unknown"),
    ):
        with pytest.raises(AuthError) as err:
            redeem_link(store, bad)
        assert err.value.code == code


def test_an_expired_link_or_one_of_a_revoked_key_does_not_sign_in(store: Store) -> None:
    link = issue_link(store, subject=_person(store, 1), hours=1)
    store.execute("UPDATE signin_links SET expires_at = now() - INTERVAL 1 MINUTE WHERE link_id = ?", [link.link_id])
    with pytest.raises(AuthError, match="expired") as err:
        redeem_link(store, link.token)
    assert err.value.code == "link_expired"
    op = issue_key(store, "operator", "ops")
    link = issue_link(store, key_id=op.party.key_id)
    assert (link.role, link.name) == ("operator", "ops")
    revoke_key(store, op.party.key_id)
    with pytest.raises(AuthError) as err:
        redeem_link(store, link.token)
    assert err.value.code == "key_revoked"


def test_links_are_refused_for_what_has_no_pages(store: Store) -> None:
    auditor = issue_key(store, "auditor", "audit")
    with pytest.raises(SocialCreditError, match=r"^an auditor key has no web pages"):
        issue_link(store, key_id=auditor.party.key_id)
    org = store.one("SELECT subject_id FROM subjects WHERE kind = 'org' LIMIT 1")
    with pytest.raises(SocialCreditError, match="is an organisation; sign-in links are for residents"):
        issue_link(store, subject=org)
    with pytest.raises(NotFoundError, match="no registered subject '110101199001011237'"):
        issue_link(store, subject="110101199001011237")
    with pytest.raises(SocialCreditError, match="not both"):
        issue_link(store, subject=_person(store), key_id=auditor.party.key_id)
    with pytest.raises(SocialCreditError, match=r"name the resident \(their identity number\) or the key"):
        issue_link(store)
    with pytest.raises(SocialCreditError, match="from 1 hour to 30 days, not 0 hours"):
        issue_link(store, subject=_person(store), hours=0)
    with pytest.raises(AuthError, match="no web pages") as err:
        sign_in_with_key(store, auditor.token)
    assert err.value.code == "role_has_no_pages"


def test_a_resident_key_is_refused_as_a_link_is(store: Store) -> None:
    """As a sign-in link: a key for an unregistered number opened nothing (every page "not found"), and one for an
    organisation's code let the organisation read its own file as a resident (its legal representative acts for it).
    Before, both were issued."""
    org = store.one("SELECT subject_id FROM subjects WHERE kind = 'org' LIMIT 1")
    with pytest.raises(SocialCreditError, match=f"^{org} is an organisation; resident keys are for residents$"):
        issue_key(store, "resident", "an organisation", subject=org.lower())
    with pytest.raises(NotFoundError, match=r"^no registered subject '110101199001011237'$") as err:
        issue_key(store, "resident", "no one", subject="110101 199001011237")
    assert err.value.field == "subject"
    # and in Chinese (these refusals had none until 2026-12-06)
    assert err.value.said_in("zh") == "没有登记的主体 '110101199001011237'"
    with pytest.raises(SocialCreditError) as refused:
        issue_key(store, "resident", "an organisation", subject=org)
    assert refused.value.said_in("zh") == f"{org} 是企业；居民密钥只发给居民"
    with pytest.raises(SocialCreditError) as refused:
        issue_link(store, subject=org)
    assert refused.value.said_in("zh") == f"{org} 是企业；登录链接只发给居民"
    with pytest.raises(SocialCreditError) as refused:
        issue_key(store, "resident", "no number")
    assert refused.value.said_in("zh") == "居民密钥须指明 --subject（其身份证号码）"
    sid = _person(store)
    assert issue_key(store, "resident", "me", subject=f" {sid[:6]} {sid[6:]}").party.subject_id == sid
    assert store.one("SELECT count(*) FROM api_keys WHERE name IN ('an organisation', 'no one')") == 0


def test_a_session_lasts_until_it_ends_or_expires(store: Store) -> None:
    key = issue_key(store, "resident", "me", subject=_person(store, 2))
    who = sign_in_with_key(store, key.token)
    token, signed = start_session(store, who, method="key")
    assert signed.csrf and session_principal(store, token) == signed
    forged = token.split(".")[0] + ".not-the-secret"
    with pytest.raises(AuthError) as err:
        session_principal(store, forged)
    assert err.value.code == "session_unknown"
    end_session(store, token)
    with pytest.raises(AuthError) as err:
        session_principal(store, token)
    assert err.value.code == "session_ended"
    token, _ = start_session(store, who, method="key")
    store.execute("UPDATE web_sessions SET expires_at = now() - INTERVAL 1 SECOND WHERE session_id = ?", [token[:16]])
    with pytest.raises(AuthError) as err:
        session_principal(store, token)
    assert err.value.code == "session_expired"
    actions = [r[0] for r in store.execute("SELECT action FROM audit_log ORDER BY seq DESC LIMIT 3").fetchall()]
    assert actions == ["signin", "signout", "signin"]


def test_a_key_keeps_at_most_its_sessions_open_the_oldest_ended(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A key's sign-ins beyond SOCIALCREDIT_MAX_SESSIONS_PER_KEY end its oldest sessions (audited), and the rows of
    its ended sessions beyond as many go: before, every sign-in kept a session open for eight hours."""
    monkeypatch.setenv("SOCIALCREDIT_MAX_SESSIONS_PER_KEY", "3")
    key = issue_key(store, "resident", "me", subject=_person(store, 5))
    who = sign_in_with_key(store, key.token)
    tokens = [start_session(store, who, method="key")[0] for _ in range(5)]
    for token in tokens[:2]:
        with pytest.raises(AuthError) as err:
            session_principal(store, token)
        assert err.value.code == "session_unknown"
    assert [session_principal(store, t).key_id for t in tokens[2:]] == [key.party.key_id] * 3
    ended = store.execute(
        "SELECT detail FROM audit_log WHERE action = 'session_ended' AND actor = ? ORDER BY seq", [who.actor]
    ).fetchall()
    assert [json.loads(str(d[0])) for d in ended] == [
        {"session": t[:16], "limit": "max_sessions_per_key"} for t in tokens[:2]
    ]
    for _ in range(6):  # signing in and out: the ended sessions' rows are bounded too
        end_session(store, start_session(store, who, method="key")[0])
    rows = store.execute(
        "SELECT count(*) FILTER (ended_at IS NULL), count(*) FROM web_sessions WHERE key_id = ?", [key.party.key_id]
    ).fetchone()
    assert rows == (2, 6)  # two left open, the last sign-out's and the three newest ended before it
    # a resident signed in by links counts as one party too
    sid = _person(store, 6)
    links = [start_session(store, redeem_link(store, issue_link(store, subject=sid).token), method="link")[0]]
    links += [start_session(store, redeem_link(store, issue_link(store, subject=sid).token), method="link")[0]]
    links += [start_session(store, redeem_link(store, issue_link(store, subject=sid).token), method="link")[0]]
    links += [start_session(store, redeem_link(store, issue_link(store, subject=sid).token), method="link")[0]]
    with pytest.raises(AuthError):
        session_principal(store, links[0])
    assert [session_principal(store, t).subject_id for t in links[1:]] == [sid] * 3


def test_every_party_together_keeps_at_most_max_sessions_open(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond SOCIALCREDIT_MAX_SESSIONS open sessions a sign-in is refused 429, naming the setting and the wait."""
    now_open = int(store.one("SELECT count(*) FROM web_sessions WHERE ended_at IS NULL AND expires_at > now()"))
    monkeypatch.setenv("SOCIALCREDIT_MAX_SESSIONS", str(now_open + 1))
    who = sign_in_with_key(store, issue_key(store, "resident", "me", subject=_person(store, 7)).token)
    start_session(store, who, method="key")
    other = sign_in_with_key(store, issue_key(store, "resident", "me", subject=_person(store, 8)).token)
    with pytest.raises(TooManyRequestsError) as err:
        start_session(store, other, method="key")
    said = (
        f"{now_open + 1:,} web sessions are open, the most this registry keeps (SOCIALCREDIT_MAX_SESSIONS = "
        f"{now_open + 1:,}); sign in again after {err.value.retry_after} s, when one has ended"
    )
    assert str(err.value) == said
    assert err.value.status == 429 and err.value.limit == "sessions_full"
    assert 1 <= err.value.retry_after <= 8 * 3600
    assert store.one("SELECT count(*) FROM web_sessions WHERE actor = ?", [other.actor]) == 0
    # the same key signs in again: its own oldest session makes room
    monkeypatch.setenv("SOCIALCREDIT_MAX_SESSIONS_PER_KEY", "1")
    token, _ = start_session(store, who, method="key")
    assert session_principal(store, token).actor == who.actor


# -- the dashboard's figures ----------------------------------------------------------------------------------


def _hand_made_run(store: Store, run_id: int, people: list[tuple[str, int, int, list[str]]]) -> None:
    """A finished run with (subject, score, age, lists) per resident; profession 'other' for all."""
    store.execute(
        "INSERT INTO score_runs (run_id, policy_id, policy_version, policy_sha256, as_of, watermark, mode, engine, "
        "started_at, finished_at, n_subjects) VALUES (?, 'beijing', '2026.2', 'x', DATE '2026-11-01', 1000000, "
        "'full', 'duckdb', now(), now(), ?)",
        [run_id, len(people)],
    )
    for sid, score, age, lists in people:
        store.execute(
            "INSERT INTO run_results_rows "
            "VALUES (?, ?, 'person', 'other', ?, [0.0], 0, ?, 'A', 1, 1, 50.0, NULL, ?, 0)",
            [run_id, sid, age, score, lists],
        )
        for lst in lists:
            store.execute("INSERT INTO run_list_entries VALUES (?, ?, ?, 'hand', NULL)", [run_id, sid, lst])


def test_histogram_age_bands_and_list_sizes_of_a_hand_made_run(store: Store) -> None:
    ids = [_person(store, n) for n in range(6)]
    _hand_made_run(
        store,
        900,
        [
            (ids[0], 600, 18, ["blacklist"]),
            (ids[1], 601, 24, []),
            (ids[2], 619, 25, []),
            (ids[3], 620, 64, ["redlist"]),
            (ids[4], 700, 65, ["blacklist"]),
            (ids[5], 700, 99, []),
        ],
    )
    h = dashboard.histogram(store, 900)
    # 600 … 700 spans 101 points: bands of 5 (21 bands) are the first round width that fits in 40
    assert (h["width"], h["n"], len(h["bins"])) == (5, 6, 21)
    assert {b["lo"]: b["n"] for b in h["bins"] if b["n"]} == {600: 2, 615: 1, 620: 1, 700: 2}
    ages = {a["band"]: (a["residents"], a["mean_score"], a["blacklist"]) for a in dashboard.by_age_band(store, 900)}
    assert ages == {
        "18–24": (2, 600.5, 1),
        "25–34": (1, 619.0, 0),
        "35–44": (0, None, 0),
        "45–54": (0, None, 0),
        "55–64": (1, 620.0, 0),
        "65+": (2, 700.0, 1),
    }
    assert dashboard.list_sizes(store)[0][900] == {"blacklist": 2, "redlist": 1}  # a version not published here
    assert dashboard.by_profession(store, 900) == [
        {"profession": "other", "residents": 6, "mean_score": 640.0, "blacklist": 2, "held": 0,
         "redlist": 1, "blacklist_per_10k": 3333.3}
    ]  # fmt: skip
    for n, (sid, status) in enumerate([(ids[0], "pending"), (ids[4], "effective"), (ids[0], "resolved")]):
        store.execute(
            "INSERT INTO listings VALUES (?, ?, 'beijing', 'blacklist', 'hand', 'courts', ?, NULL, 900, "
            "DATE '2026-11-01', DATE '2026-11-16', ?, NULL, true, 900)",
            [9000 + n, sid, f"R{n}", status],
        )
    assert dashboard.listing_counts(store) == [
        {"policy_id": "beijing", "list_id": "blacklist", "status": s, "subjects": 1}
        for s in ("effective", "pending", "resolved")
    ]
    districts = dashboard.by_district(store, 900)
    assert [d["code"] for d in districts][:3] == ["110101", "110102", "110105"] and len(districts) == 16
    assert sum(d["residents"] for d in districts) == 6


def test_residents_of_no_district_of_beijing_are_counted_apart_and_the_districts_add_up(store: Store) -> None:
    """A district stored before districts were checked at ingest (宣武区, merged into 西城区 in 2010; Narnia), or
    none, dropped its residents from the dashboard's districts: the run's 4 residents showed as 1."""
    ids = [_person(store, n) for n in (6, 7, 8, 9)]
    _hand_made_run(store, 901, [(ids[0], 600, 30, ["blacklist"]), (ids[1], 610, 30, []), (ids[2], 620, 30, []),
                                (ids[3], 700, 30, ["redlist"])])  # fmt: skip
    before = store.rows("SELECT subject_id, district FROM subjects WHERE subject_id IN (?, ?, ?)", ids[:3])
    try:
        for sid, district in zip(ids[:3], ["宣武区", "Narnia", None], strict=True):
            store.execute("UPDATE subjects SET district = ? WHERE subject_id = ?", [district, sid])
        districts = dashboard.by_district(store, 901)
        assert sum(d["residents"] for d in districts) == 1
        assert dashboard.outside_districts(store, 901) == {
            "residents": 3, "mean_score": 610.0, "blacklist": 1, "held": 0, "redlist": 0,
            "blacklist_per_10k": 3333.3
        }  # fmt: skip
    finally:
        for row in before:
            store.execute("UPDATE subjects SET district = ? WHERE subject_id = ?", [row["district"], row["subject_id"]])
    assert dashboard.outside_districts(store, 901)["residents"] == 0


def test_a_name_search_is_in_the_canonical_form(store: Store) -> None:
    """A name is stored in NFC (ingest); a search typed with a compatibility ideograph (金 as U+F90A) finds it."""
    sid = _person(store, 10)
    before = store.one("SELECT name FROM subjects WHERE subject_id = ?", [sid])
    try:
        store.execute("UPDATE subjects SET name = ? WHERE subject_id = ?", ["\u91d1\u5c0f\u660e", sid])
        assert [f["subject_id"] for f in dashboard.search_subjects(store, "\uf90a\u5c0f", actor="key:abc")] == [sid]
    finally:
        store.execute("UPDATE subjects SET name = ? WHERE subject_id = ?", [before, sid])


def test_a_subject_search_is_audited(store: Store) -> None:
    sid = _person(store)
    name = store.one("SELECT name FROM subjects WHERE subject_id = ?", [sid])
    found = dashboard.search_subjects(store, sid[:10], actor="key:abc")
    assert sid in [f["subject_id"] for f in found] and all(f["subject_id"].startswith(sid[:10]) for f in found)
    assert [f["subject_id"] for f in dashboard.search_subjects(store, name, actor="key:abc")].count(sid) == 1
    assert dashboard.search_subjects(store, "  ", actor="key:abc") == []
    last = store.rows("SELECT actor, action, detail FROM audit_log ORDER BY seq DESC LIMIT 1")[0]
    assert (last["actor"], last["action"]) == ("key:abc", "search_subjects")
    assert name in last["detail"]


# -- the command line and the demo ----------------------------------------------------------------------------


@pytest.mark.slow
def test_keys_link_prints_a_one_time_link(tmp_path: Path) -> None:
    files = write_example(tmp_path / "example", residents=10)
    with open_store(tmp_path / "s.duckdb", create=True, key="") as s:
        ingest_file(s, files.subjects, "civil_affairs", today=AS_OF)
        sid = _person(s)
    cli = [sys.executable, "-m", "socialcredit.cli", "keys", "link", "--db", str(tmp_path / "s.duckdb")]
    env = {k: v for k, v in os.environ.items() if k != "SOCIALCREDIT_DB_KEY"} | {"COLUMNS": "200"}
    done = subprocess.run([*cli, sid, "--base-url", "http://127.0.0.1:9000/"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    first, url = done.stdout.strip().splitlines()
    assert re.fullmatch(r"Sign-in link [0-9a-f]{12} for .+ \(resident\), valid once until .+ UTC:", first)
    assert re.fullmatch(r"http://127\.0\.0\.1:9000/signin/link\?token=scl_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", url)
    refused = subprocess.run(cli, capture_output=True, text=True, env=env)
    assert refused.returncode == 2 and "name the resident (their identity number) or the key" in refused.stderr


@pytest.mark.slow
def test_the_demo_serves_the_pages_behind_the_links_it_prints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's last step serves the app until Ctrl-C (serving.serve_until_stopped): here it serves on a free port
    while the test follows the links."""
    import httpx
    from rich.console import Console

    from socialcredit import demo
    from socialcredit.demo import run_demo

    console = Console(record=True, width=200)
    seen: dict[str, Any] = {}

    def serve(app: Any, host: str, port: int, **_: Any) -> None:
        seen.update(host=host, port=port)
        links = re.findall(
            rf"http://127\.0\.0\.1:{port}(/signin/link\?token=scl_\S+)", console.export_text(clear=False)
        )
        assert len(links) == 2  # the operator's and a blacklisted resident's
        with serving(app) as base:
            for link, home in zip(links, ("/ops", "/me"), strict=True):
                with httpx.Client(base_url=base) as client:
                    form = client.get(link)
                    token = link.split("token=")[1]
                    r = client.post("/signin/link", data={"token": token, "csrf": _csrf(form.text)})
                    assert (r.status_code, r.headers["location"]) == (303, home)
                    seen[home] = client.get(home).status_code

    monkeypatch.setattr(demo, "serve_until_stopped", serve)
    run_demo(tmp_path / "demo.duckdb", residents=300, console=console, port=8123)
    assert seen == {"host": "127.0.0.1", "port": 8123, "/ops": 200, "/me": 200}
    # scored before and after the grace period: the blacklisted resident's ticket is refused, with the reason
    text = console.export_text()
    assert re.search(r"high_speed_rail for \S+: REFUSED: People on the blacklist may not buy high-speed rail", text)
    quiet = Console(record=True, width=200)
    seen.clear()
    run_demo(tmp_path / "quiet.duckdb", residents=300, console=quiet, serve=False)
    assert seen == {} and "signin/link" not in quiet.export_text()


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def test_what_the_faces_read_comes_from_registry_functions(store: Store) -> None:
    """The pages and the CLI hold no SQL: the policies, runs and audit length they show come from the registry."""
    from socialcredit.data import districts
    from socialcredit.policy import builtin_policy
    from socialcredit.registry.access.audit import append_audit, audit_length
    from socialcredit.registry.scoring.policies import publish_policy, published_policy_ids, published_versions
    from socialcredit.registry.scoring.runs import list_runs, scored_policy_ids

    publish_policy(store, builtin_policy("beijing"))
    assert "beijing" in {p["policy_id"] for p in published_versions(store, newest_first=True)}
    assert "beijing" in published_policy_ids(store) and "no-such-policy" not in published_policy_ids(store)
    before = audit_length(store)
    with store.transaction():
        append_audit(store, "test", "probe", None, {})
    assert audit_length(store) == before + 1
    runs = list_runs(store)
    assert [r["run_id"] for r in runs] == sorted(r["run_id"] for r in runs)
    assert scored_policy_ids(store) == sorted({str(r["policy_id"]) for r in runs})
    codes = [d["code"] for d in districts()]
    assert len(codes) == 16 and codes == sorted(codes) and codes[0] == "110101"


@pytest.mark.parametrize(("number", "written"), [(12000.004, "12,000"), (39367.29, "39,367.29"), (3000, "3,000")])
def test_a_number_is_written_one_way_on_every_page(number: float, written: str) -> None:
    """A record's value on the portal, in a printable file and through a template's filter is written as the command
    line and the API write it (``languages.grouped``): 12000.004 read "12,000.00" on the pages, "12,000" elsewhere."""
    from socialcredit.catalog.labels import load_labels
    from socialcredit.registry.reporting.file_page import _value
    from socialcredit.textcheck import page_environment
    from socialcredit.web.codes import value_words

    assert value_words(number, "zh") == written
    assert _value(number, "en", load_labels()) == written
    assert page_environment().from_string("{{ n|grouped }}").render(n=number) == written


def test_a_rank_among_organisations_counts_them_as_organisations() -> None:
    """`show` and the pages say a rank with one function: an organisation's read "排名第 2 名（共 2 人）"."""
    from socialcredit.languages import rank_of
    from socialcredit.textcheck import page_environment

    assert rank_of(2, 2, "zh", "org") == "第 2 名（共 2 家）"
    assert rank_of(3000, 12345, "zh") == "第 3,000 名（共 12,345 人）"
    assert rank_of(3000, 12345, "en", "org") == "3,000 of 12,345"
    page = page_environment().from_string("{{ rank_of(s.rank, s.of, lang, kind) }}")
    assert page.render(s={"rank": 2, "of": 2}, lang="zh", kind="org") == "第 2 名（共 2 家）"
