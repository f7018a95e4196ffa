"""The public look-up's details and pages (registry/due_process/public_lists.py, GET /v1/lists/lookup, /lists).

World (tests/due_world.py, Beijing's blacklist: grace 60 days, public: name, masked id, list, cause, since): 张三 (A)
has the unfulfilled judgment J1 of 12 000 yuan of 2026-01-10 from the courts; three more residents named 张伟 have
unfulfilled defaulter judgments W1 (3 000.50 yuan, 2026-01-05), W2 (no amount, 2026-01-06), W3 (8 000, 2026-01-07).
Scored on 2026-02-01 (notice) and 2026-04-02 (in effect). A then disputes J1 on 2026-04-03: Beijing counts a
disputed record while the dispute is open (disputes.counts_while_open), so the listing stays, "under dispute".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import markupsafe
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api_helpers import serving
from due_world import JUDGMENT, A, build, ingest, score_on_its_day, write_csv
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.errors import WorkflowInputError
from socialcredit.identifiers import make_ric
from socialcredit.registry.due_process.disputes import file_dispute
from socialcredit.registry.due_process.public_lists import (
    MAX_PAGE,
    MAX_PAGE_SIZE,
    check_page,
    public_lookup,
    public_lookup_page,
)
from socialcredit.registry.scoring.policies import resolve_policy
from web_helpers import failure_of

W = [make_ric("110108", dt.date(1970 + i, 1, 1), 40 + i) for i in range(3)]  # the three 张伟, in id order
D = dt.date


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder: Path = tmp_path_factory.mktemp("lookup")
    store = build(folder)
    people = [[w, "张伟", "海淀区", "retail"] for w in W]
    header = ["subject_id", "name", "district", "profession"]
    ingest(store, write_csv(folder / "more.csv", header, people), "civil_affairs", D(2026, 1, 2))
    judgments = [
        ["W1", W[0], "court_judgment", "2026-01-05", "civil", "3000.50", "unfulfilled", "true"],
        ["W2", W[1], "court_judgment", "2026-01-06", "civil", "", "unfulfilled", "true"],
        ["W3", W[2], "court_judgment", "2026-01-07", "commercial", "8000", "unfulfilled", "true"],
    ]
    ingest(store, write_csv(folder / "w.csv", JUDGMENT, judgments), "courts", D(2026, 1, 10))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(TODAY_ENV, "2026-04-03")
        beijing = resolve_policy(store, "beijing")
        score_on_its_day(store, beijing, D(2026, 2, 1))
        score_on_its_day(store, beijing, D(2026, 4, 2))
        app = create_app(folder / "due.duckdb", store=store)
        try:
            with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
                yield {"store": store, "client": client, "lock": app.state.service.lock, "base": base}
        finally:
            store.close()


def entry(name: str, sid: str, case: str, amount: float | None, day: str, disputed: bool) -> dict[str, Any]:
    return {
        "name": name,
        "id_number": sid[:6] + "********" + sid[-4:],
        "list": "blacklist",
        "cause": "judgment defaulter",
        "since": "2026-04-02",
        "authority": "people's courts",
        "case_number": case,
        "amount": amount,
        "decided_on": day,
        "under_dispute": disputed,
    }


WEI = [
    entry("张伟", W[0], "W1", 3000.5, "2026-01-05", False),
    entry("张伟", W[1], "W2", None, "2026-01-06", False),
    entry("张伟", W[2], "W3", 8000.0, "2026-01-07", False),
]


def test_a_listing_names_its_authority_case_amount_and_date_and_the_dispute(world: dict[str, Any]) -> None:
    store = world["store"]
    with world["lock"]:
        assert public_lookup(store, "张三") == [entry("张三", A, "J1", 12000.0, "2026-01-10", False)]
        file_dispute(store, A, "courts", "J1", "I paid it", today=D(2026, 4, 3))
        assert public_lookup(store, A) == [entry("张三", A, "J1", 12000.0, "2026-01-10", True)]
        [zh] = public_lookup(store, "张三", lang="zh")
    assert (zh["authority"], zh["list"], zh["cause"], zh["under_dispute"]) == (
        "人民法院",
        "失信名单",
        "失信被执行人",
        True,
    )


def test_results_come_in_pages_with_the_totals(world: dict[str, Any]) -> None:
    store = world["store"]
    with world["lock"]:
        first = public_lookup_page(store, "张伟", page=1, page_size=2)
        second = public_lookup_page(store, "张伟", page=2, page_size=2)
        past = public_lookup_page(store, "张伟", page=3, page_size=2)
        whole = public_lookup_page(store, "张伟")
    assert {k: first[k] for k in ("q", "page", "page_size", "total", "pages")} == {
        "q": "张伟",
        "page": 1,
        "page_size": 2,
        "total": 3,
        "pages": 2,
    }
    assert (first["results"], second["results"], past["results"]) == (WEI[:2], WEI[2:], [])
    assert (whole["page_size"], whole["pages"], whole["results"]) == (20, 1, WEI)


def test_a_page_out_of_bounds_is_refused_naming_the_limit(world: dict[str, Any]) -> None:
    with pytest.raises(WorkflowInputError, match=r"^page_size must be from 1 to 100, not 101$"):
        check_page(1, 101)
    with pytest.raises(WorkflowInputError, match=r"^page must be from 1 to 10000, not 0$"):
        check_page(0, 20)
    client: httpx.Client = world["client"]
    r = client.get("/v1/lists/lookup", params={"q": "张伟", "page_size": 101})
    assert (r.status_code, r.json()["error"]) == (
        422,
        {
            "code": "invalid_request",
            "message": "query.page_size: Input should be less than or equal to 100",
            "field": "query.page_size",
        },
    )
    r = client.get("/v1/lists/lookup", params={"q": "张伟", "page": 0})
    assert (r.status_code, r.json()["error"]["message"]) == (
        422,
        "query.page: Input should be greater than or equal to 1",
    )
    r = client.get("/v1/lists/lookup", params={"q": "张伟", "page": MAX_PAGE + 1})
    assert (r.status_code, r.json()["error"]["message"]) == (
        422,
        "query.page: Input should be less than or equal to 10000",
    )


@settings(max_examples=60, deadline=None)
@given(page=st.integers(-(2**40), 2**40), size=st.integers(-(2**40), 2**40))
def test_check_page_admits_exactly_the_bounds(page: int, size: int) -> None:
    ok = 1 <= page <= MAX_PAGE and 1 <= size <= MAX_PAGE_SIZE
    try:
        check_page(page, size)
    except WorkflowInputError as exc:
        assert not ok and exc.code in ("bad_page", "bad_page_size")
    else:
        assert ok


def test_the_api_pages_over_http(world: dict[str, Any]) -> None:
    client: httpx.Client = world["client"]
    r = client.get("/v1/lists/lookup", params={"q": "张伟", "page": 2, "page_size": 2})
    assert r.status_code == 200, r.text
    assert r.json() == {"q": "张伟", "page": 2, "page_size": 2, "total": 3, "pages": 2, "results": WEI[2:]}


def test_the_page_shows_the_details(world: dict[str, Any]) -> None:
    with httpx.Client(base_url=world["base"], timeout=30) as client:
        en = client.get("/lists", params={"q": "张伟", "lang": "en"})
        assert en.status_code == 200
        for needle in (
            '<th scope="col">Authority</th><th scope="col">Case number</th><th scope="col">Amount (yuan)</th>',
            '<td data-label="Case number" class="id">W1</td><td data-label="Amount (yuan)">3,000.50</td>'
            '<td data-label="Date">2026-01-05</td>',
            "“张伟”: 3 published entries",
            # a whole sum is written as everywhere else (languages.grouped): it read 8,000.00 here
            '<td data-label="Case number" class="id">W3</td><td data-label="Amount (yuan)">8,000</td>',
        ):
            assert needle in en.text, needle
        assert "page-next" not in en.text  # 3 results: one page of 20
        # a page that is no whole number is refused quoting what was sent: it was said to be 0, and ² (a digit to
        # str.isdigit, not to int) was a 500
        for sent in ("x", "-1", "²", "99999999999999999999"):
            bad = client.get("/lists", params={"q": "张伟", "page": sent, "lang": "en"})
            said = str(markupsafe.escape(f"page must be from 1 to 10000, not {sent!r}"))
            assert bad.status_code == 400 and said in bad.text, (sent, bad.status_code)
        disputed = client.get("/lists", params={"q": "张三", "lang": "zh"})
        assert "异议处理中" in disputed.text and "人民法院" in disputed.text


def test_a_refused_search_is_told_in_the_page_s_language(world: dict[str, Any]) -> None:
    """A Chinese page said its refusals in English (the registry's words), and a page past the last was quoted bare
    (``not 20000``) where any other was quoted (``not 'x'``)."""
    with httpx.Client(base_url=world["base"], timeout=30) as client:
        cases = [
            (
                {"q": "张伟", "page": "20000"},
                "页码应为 1 至 10000 的整数，收到的是 '20000'",
                "page must be from 1 to 10000, not '20000'",
            ),
            (
                {"q": "张伟", "page": "١"},
                "页码应为 1 至 10000 的整数，收到的是 '١'",
                "page must be from 1 to 10000, not '١'",
            ),
            (
                {"q": "张"},
                "请输入完整的姓名、身份证号或统一社会信用代码（2 至 64 个字符）",
                "query must be a full name, identity number or organisation code (2 to 64 characters)",
            ),
        ]
        for params, zh, en in cases:
            for lang, said in (("zh", zh), ("en", en)):
                r = client.get("/lists", params={**params, "lang": lang})
                assert r.status_code == 400 and failure_of(r) == said, (params, lang, r.status_code)
            assert "must be" not in client.get("/lists", params={**params, "lang": "zh"}).text


def test_a_refused_search_over_the_api_is_told_in_the_language_asked(world: dict[str, Any]) -> None:
    """``GET /v1/lists/lookup?lang=zh`` said its own refusals in English (Content-Language: en) until 2026-12-06: the
    registry had no Chinese words for them (the page /lists had its own for the query's length, now the registry's)."""
    client: httpx.Client = world["client"]
    cases = [
        ({"q": "张"}, "bad_query", "请输入完整的姓名、身份证号或统一社会信用代码（2 至 64 个字符）"),
        ({"q": "张伟", "list_id": "blacklists"}, "unknown_list", "没有公开名单 'blacklists'"),
    ]
    for params, code, zh in cases:
        r = client.get("/v1/lists/lookup", params={**params, "lang": "zh"})
        assert (r.status_code, r.headers["content-language"], r.json()["error"]["code"]) == (422, "zh-CN", code)
        assert r.json()["error"]["message"] == zh
    with pytest.raises(WorkflowInputError) as info:
        check_page(0, 20)
    assert info.value.said_in("zh") == "页码应为 1 至 10000，收到的是 0"


def test_an_identity_number_is_found_as_typed(world: dict[str, Any]) -> None:
    """Spaces, a lower-case x and full-width digits, as over the API's other routes: before, the look-up found no one
    (it upper-cased only)."""
    typed = [W[0][:6] + " " + W[0][6:], W[0].translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"}) + "\n"]
    with world["lock"]:
        assert [public_lookup(world["store"], q) for q in typed] == [WEI[:1], WEI[:1]]
    r = world["client"].get("/v1/lists/lookup", params={"q": typed[0]})
    assert r.status_code == 200 and r.json()["results"] == WEI[:1]
    with httpx.Client(base_url=world["base"], timeout=30) as client:
        page = client.get("/lists", params={"q": typed[1], "lang": "en"})
    assert page.status_code == 200 and '<td data-label="Case number" class="id">W1</td>' in page.text


def test_a_name_is_looked_up_in_its_canonical_form(world: dict[str, Any]) -> None:
    """金 typed as the compatibility ideograph U+F90A is the same name as 金 (U+91D1) under NFC: a name stored so
    (before ingest stored names in NFC) is found by the name typed plainly, and a query so typed finds a plain one."""
    store = world["store"]
    with world["lock"]:
        try:
            for stored, asked in (("\uf90a伟", "\u91d1伟"), ("\u91d1伟", "\uf90a伟")):
                store.execute("UPDATE subjects SET name = ? WHERE subject_id = ?", [stored, W[0]])
                assert [e["case_number"] for e in public_lookup(store, asked)] == ["W1"]
        finally:
            store.execute("UPDATE subjects SET name = ? WHERE subject_id = ?", ["张伟", W[0]])
