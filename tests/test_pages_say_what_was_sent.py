"""What a resident's page refuses is said as it was sent, in the page's language: a 23-digit listing or dispute
number is quoted whole in its 404 (it was cut to its first 20 digits, another number, with no sign of the cut:
``errors.quoted`` cuts only past 64 characters, with "…"), and an evidence form posted without its file (not
multipart/form-data) is a 415 saying the form must carry its file, not "the form has expired".

World (tests/due_world.py): 张三 (A) signs in; he disputes the judgment J1.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api_helpers import serving
from due_world import A, build
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.due_process.disputes import file_dispute
from socialcredit.store import Store
from web_helpers import csrf_of, sign_in

LONG = "12345678901234567890123"


def _message(r: httpx.Response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", r.text)))


@pytest.fixture
def resident(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[httpx.Client, Store, int]]:
    monkeypatch.setenv(TODAY_ENV, "2026-04-02")
    store = build(tmp_path)
    token = issue_key(store, "resident", "张三", subject=A).token
    dispute = file_dispute(store, A, "courts", "J1", "paid", actor="resident")["dispute_id"]
    app = create_app(tmp_path / "due.duckdb", store=store)
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as site:
        sign_in(site, token)
        yield site, store, dispute
    store.close()


def test_a_long_number_is_quoted_whole_in_its_404(resident: tuple[httpx.Client, Store, int]) -> None:
    site, _, _ = resident
    for path, zh, en in (
        (f"/me/listings/{LONG}", f"您的档案中没有名单条目 '{LONG}'", f"no listing '{LONG}' in your file"),
        (f"/me/disputes/{LONG}", f"没有异议 '{LONG}'", f"no dispute '{LONG}'"),
        (f"/me/listings/{'9' * 70}", f"您的档案中没有名单条目 '{'9' * 63}…'", f"no listing '{'9' * 63}…' in your file"),
    ):
        for lang, said in (("zh", zh), ("en", en)):
            r = site.get(path, params={"lang": lang})
            assert r.status_code == 404 and said in _message(r), (path, lang, _message(r))


def test_an_evidence_form_without_its_file_says_so(resident: tuple[httpx.Client, Store, int]) -> None:
    site, store, dispute = resident
    for lang, said in (
        (
            "en",
            "This form must carry its file (sent as multipart/form-data); what was sent carries none. Go back to the "
            "page, choose the file and send it again.",
        ),
        ("zh", "此表单须附带文件提交（multipart/form-data），收到的内容不含文件。请返回页面，选择文件后再提交。"),
    ):
        page = site.get(f"/me/disputes/{dispute}", params={"lang": lang})
        # the form's fields, CSRF token included, sent url-encoded: no file can travel so
        r = site.post(f"/me/disputes/{dispute}/evidence", params={"lang": lang}, data={"csrf": csrf_of(page.text)})
        assert r.status_code == 415 and said in _message(r), _message(r)
        assert "expired" not in _message(r) and "已过期" not in _message(r)
    assert store.one("SELECT count(*) FROM dispute_evidence") == 0


def test_a_signed_out_evidence_form_without_its_file_is_sent_to_sign_in_first(
    resident: tuple[httpx.Client, Store, int],
) -> None:
    # who sends it comes before what was sent: a visitor signed out is sent to sign in, not told the form's format
    site, store, dispute = resident
    with httpx.Client(base_url=str(site.base_url), timeout=30) as visitor:
        r = visitor.post(f"/me/disputes/{dispute}/evidence", params={"lang": "en"}, data={"csrf": "x"})
    assert (r.status_code, r.headers.get("location")) == (303, "/signin?next=/"), r.text
    assert store.one("SELECT count(*) FROM dispute_evidence") == 0
