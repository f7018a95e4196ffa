"""A resident without a working sign-in link asks for a new one; it goes through the notifications outbox.

The registry's function first (who gets a message, how many an hour), then a real service on 127.0.0.1: the same
answer whether or not the number is registered, the demonstration's outbox page only when it is switched on, the
link from the outbox signing in once, a used link's page offering a new one, an SMTP sender delivering to a local
SMTP sink written here (and a failed delivery kept as failed), and the requests throttled like failed sign-ins.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import html
import json
import os
import re
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_helpers import free_port
from socialcredit.api.app import create_app
from socialcredit.errors import IdentifierError
from socialcredit.example import AS_OF, write_example
from socialcredit.identifiers import make_ric
from socialcredit.registry.access.signin import REQUESTS_PER_HOUR, request_link
from socialcredit.registry.access.throttle import Limit, Throttle, service_limits
from socialcredit.registry.due_process.outbox import set_contact
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.settings import get_settings
from socialcredit.store import open_store
from web_helpers import csrf_of, serve

CLI = str(Path(sys.executable).parent / "socialcredit")
SENT = "如果该号码已登记且有联系方式，新的登录链接已经发出。请查看您的消息；链接一小时内有效，只能使用一次。"
BASE = "http://127.0.0.1:8000"
NOBODY = make_ric("110105", dt.date(1990, 1, 1), 997)  # a well-formed number no one has


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("outbox")
    files = write_example(folder / "example", residents=40)
    db = folder / "store.duckdb"
    store = open_store(db, create=True, key="")
    ingest_file(store, files.subjects, "civil_affairs", today=AS_OF)
    people = [
        r["subject_id"]
        for r in store.rows("SELECT subject_id FROM current_subjects WHERE kind = 'person' ORDER BY subject_id LIMIT 6")
    ]
    org = store.one("SELECT subject_id FROM current_subjects WHERE kind = 'org' ORDER BY subject_id LIMIT 1")
    assert NOBODY not in people
    app = create_app(db, store=store)
    with serve(app) as base:
        yield {"app": app, "service": app.state.service, "base": base, "people": people, "org": org}
    store.close()


def _rows(world: dict[str, Any], sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    with world["service"].writer() as store:
        return store.rows(sql, params)


def _ask(client: httpx.Client, subject: str) -> httpx.Response:
    page = client.get("/signin/new-link")
    return client.post("/signin/new-link", data={"csrf": csrf_of(page.text), "subject": subject})


def _settled(world: dict[str, Any], subject: str, count: int) -> list[dict[str, Any]]:
    """The resident's messages once ``count`` of them left the queue (delivery runs in the background)."""
    deadline = time.monotonic() + 10
    while True:
        found = _rows(world, "SELECT * FROM outbox WHERE subject_id = ? ORDER BY message_id", [subject])
        if (len(found) >= count and all(m["status"] != "queued" for m in found)) or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def _link(text: str) -> str:
    found = re.search(r"/signin/link\?token=(scl_[0-9a-f]{12}_[A-Za-z0-9_-]{43})", text)
    assert found, text
    return found.group(1)


# -- the registry ----------------------------------------------------------------------------------------------------
def test_who_gets_a_link_and_how_many_an_hour(world: dict[str, Any]) -> None:
    person = world["people"][0]
    with world["service"].writer() as store:
        assert request_link(store, NOBODY, BASE, "outbox") is None
        assert request_link(store, world["org"], BASE, "outbox") is None
        with pytest.raises(IdentifierError):
            request_link(store, "11010519900101123X", BASE, "outbox")
        sent = [request_link(store, person, BASE, "outbox") for _ in range(REQUESTS_PER_HOUR + 1)]
        assert store.one("SELECT count(*) FROM outbox WHERE subject_id IN (?, ?)", [NOBODY, world["org"]]) == 0
    assert [m is not None for m in sent] == [True] * REQUESTS_PER_HOUR + [False]
    first = sent[0]
    assert first is not None
    assert (first.channel, first.recipient, first.title) == (
        "outbox",
        f"resident {person}",
        "登录链接 / Your sign-in link",
    )
    assert f"{BASE}/signin/link?token=scl_" in first.body
    assert "valid once, until " in first.body and "If you did not ask for it, ignore this message." in first.body
    kept = _rows(world, "SELECT status, attempts, channel, kind FROM outbox WHERE subject_id = ?", [person])
    assert kept == [{"status": "queued", "attempts": 0, "channel": "outbox", "kind": "signin_link"}] * 3
    audited = _rows(
        world,
        "SELECT action, detail FROM audit_log WHERE subject_id = ? AND action LIKE 'signin_link_%' ORDER BY seq",
        [person],
    )
    assert [a["action"] for a in audited] == ["signin_link_issued", "signin_link_requested"] * 3 + [
        "signin_link_withheld"
    ]
    assert json.loads(audited[-1]["detail"]) == {"per_hour": 3}


# -- the pages -------------------------------------------------------------------------------------------------------
def test_the_same_answer_whether_or_not_the_number_is_registered(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOCIALCREDIT_SMTP_HOST", raising=False)
    person = world["people"][1]
    with httpx.Client(base_url=world["base"], timeout=30) as client:
        answers = [_ask(client, who) for who in (person, NOBODY, world["org"])]
        assert {(r.status_code, r.headers["location"]) for r in answers} == {(303, "/signin/new-link?sent=1")}
        page = client.get("/signin/new-link?sent=1")
        assert (page.status_code, SENT in page.text) == (200, True)
        r = _ask(client, "12345")
        assert r.status_code == 400
        assert "这不是有效的身份证号码" in r.text
    messages = _settled(world, person, 1)
    assert [(m["status"], m["attempts"]) for m in messages] == [("sent", 1)]
    assert _rows(world, "SELECT count(*) AS n FROM outbox WHERE subject_id = ?", [NOBODY]) == [{"n": 0}]


def test_a_number_that_is_none_is_told_why_in_the_pages_language(world: dict[str, Any]) -> None:
    """The reason was the registry's English, about another identifier: "这不是有效的身份证号码：unified social credit
    code is empty"."""
    person = world["people"][0]
    wrong = person[:-1] + ("0" if person[-1] != "0" else "1")
    cases = [
        ("", "请输入您的 18 位居民身份号码。", "Enter your resident identity number (18 characters)."),
        (
            "12345",
            "这不是有效的身份证号码：'12345' 不是 18 位",
            "That is not a valid identity number: '12345' does not have 18 characters",
        ),
        (
            wrong,
            f"这不是有效的身份证号码：'{wrong}' 的校验码（最后一位）不对，可能有一位输错了",
            f"That is not a valid identity number: the check character (the last) of '{wrong}' does not match; a "
            "character may be mistyped",
        ),
        (
            "9" * 5000,
            f"这不是有效的身份证号码：'{'9' * 24}…' 不是 18 位",
            f"That is not a valid identity number: '{'9' * 24}…' does not have 18 characters",
        ),
    ]
    for lang in ("zh", "en"):
        with httpx.Client(base_url=world["base"], timeout=30, params={"lang": lang}) as client:
            for sent, zh, en in cases:
                r = _ask(client, sent)
                said = html.unescape(r.text)
                assert (r.status_code, (zh if lang == "zh" else en) in said) == (400, True), (sent, lang, said)
                assert "unified social credit code" not in said and "expected 18" not in said


def test_a_number_of_a_region_code_not_in_use_is_told_the_registrys_words(tmp_path: Any) -> None:
    """The page said "the first 6 digits are not a region code" of a code retired before the birth year, where the
    registry says the code's name and years: it says the registry's words, in the page's language (an empty store:
    the number is refused before it is looked up, and the shared world's sign-in limit is left alone)."""
    cases = [
        (
            "110228201601011236",
            "这不是有效的身份证号码：居民身份证号码 '110228201601011236' 的地区代码 110228（密云县）的使用期为 "
            "1982–2015 年，出生年份 2016 年时已停用",
            "That is not a valid identity number: resident identity number '110228201601011236' has region code "
            "110228 (密云县), in use 1982-2015 only: gone before the birth year 2016",
        ),
        (
            "990000199001011239",
            "这不是有效的身份证号码：居民身份证号码 '990000199001011239' 的地区代码 990000 不存在",
            "That is not a valid identity number: resident identity number '990000199001011239' has an unknown "
            "region code 990000",
        ),
    ]
    store = open_store(tmp_path / "empty.duckdb", create=True, key="")
    app = create_app(tmp_path / "empty.duckdb", store=store)
    with serve(app) as base:
        for lang in ("zh", "en"):
            with httpx.Client(base_url=base, timeout=30, params={"lang": lang}) as client:
                for sent, zh, en in cases:
                    r = _ask(client, sent)
                    said = html.unescape(r.text)
                    assert (r.status_code, (zh if lang == "zh" else en) in said) == (400, True), (sent, lang, said)
    store.close()


def test_the_outbox_page_and_its_link_sign_in_once(world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOCIALCREDIT_SMTP_HOST", raising=False)
    monkeypatch.delenv("SOCIALCREDIT_OUTBOX_PAGE", raising=False)
    person = world["people"][2]
    with httpx.Client(base_url=world["base"], timeout=30) as client:
        assert client.get("/outbox").status_code == 404
        assert _ask(client, person).status_code == 303
        _settled(world, person, 1)
        monkeypatch.setenv("SOCIALCREDIT_OUTBOX_PAGE", "1")
        before = _rows(world, "SELECT max(seq) AS seq FROM audit_log")[0]["seq"]
        held = _rows(world, "SELECT count(*) AS n FROM outbox")[0]["n"]
        page = client.get("/outbox?lang=en")
        assert page.status_code == 200
        # the messages name residents and their addresses: the read is audited, by a reader not signed in as
        # "public" (until 2026-12-05 not at all); the page switched off (404 above) read nothing
        read = _rows(
            world, "SELECT actor, action, subject_id, detail FROM audit_log WHERE action = 'read_outbox' ORDER BY seq"
        )
        assert [(r["actor"], r["action"], r["subject_id"], json.loads(r["detail"])) for r in read] == [
            ("public", "read_outbox", None, {"messages": min(held, 100)})
        ]
        assert _rows(world, "SELECT min(seq) AS seq FROM audit_log WHERE action = 'read_outbox'")[0]["seq"] > before
        assert "Outbox of messages (demonstration)" in page.text
        assert f"resident {person}" in page.text
        token = _link(html.unescape(page.text))
        form = client.get(f"/signin/link?token={token}")
        r = client.post("/signin/link", data={"csrf": csrf_of(form.text), "token": token})
        assert (r.status_code, r.headers["location"]) == (303, "/me")
    with httpx.Client(base_url=world["base"], timeout=30) as again:
        form = again.get(f"/signin/link?token={token}")
        r = again.post("/signin/link", data={"csrf": csrf_of(form.text), "token": token})
        assert r.status_code == 401
        assert "此登录链接已使用过，请申请新的链接。" in r.text
        assert 'data-testid="new-link-form"' in r.text and 'action="/signin/new-link"' in r.text
        assert 'href="/signin/new-link"' in again.get("/signin").text


# -- SMTP --------------------------------------------------------------------------------------------------------------
class _Sink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.mails: list[tuple[str, list[str], bytes]] = []


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP to take a message: EHLO, MAIL, RCPT, DATA, QUIT."""

    def handle(self) -> None:
        assert isinstance(self.server, _Sink)
        self.wfile.write(b"220 sink ready\r\n")
        sender, rcpts = "", []
        while line := self.rfile.readline(10_000):
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.wfile.write(b"250 sink\r\n")
            elif verb == b"MAIL":
                sender = line.decode().split(":", 1)[1].strip()
                self.wfile.write(b"250 ok\r\n")
            elif verb == b"RCPT":
                rcpts.append(line.decode().split(":", 1)[1].strip())
                self.wfile.write(b"250 ok\r\n")
            elif verb == b"DATA":
                self.wfile.write(b"354 go on\r\n")
                data = b""
                while (part := self.rfile.readline(100_000)) not in (b".\r\n", b""):
                    data += part
                self.server.mails.append((sender, rcpts, data))
                self.wfile.write(b"250 kept\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def sink() -> Iterator[_Sink]:
    server = _Sink()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_smtp_delivers_the_link_to_the_address_on_file(
    world: dict[str, Any], sink: _Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    person, without = world["people"][3], world["people"][4]
    with world["service"].writer() as store, store.transaction():
        set_contact(store, person, "email", "wang.fang@example.org", "cli")
    monkeypatch.setenv("SOCIALCREDIT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SOCIALCREDIT_SMTP_PORT", str(sink.server_address[1]))
    monkeypatch.setenv("SOCIALCREDIT_SMTP_FROM", "registry@city.example")
    with httpx.Client(base_url=world["base"], timeout=30) as client:
        assert _ask(client, person).headers["location"] == "/signin/new-link?sent=1"
        assert _ask(client, without).headers["location"] == "/signin/new-link?sent=1"
        messages = _settled(world, person, 1)
        assert [(m["channel"], m["recipient"], m["status"], m["attempts"]) for m in messages] == [
            ("email", "wang.fang@example.org", "sent", 1)
        ]
        assert [(m["channel"], m["status"]) for m in _settled(world, without, 1)] == [("email", "no_address")]
        assert len(sink.mails) == 1
        sender, rcpts, data = sink.mails[0]
        assert (sender, rcpts) == ("<registry@city.example>", ["<wang.fang@example.org>"])
        mail = email.message_from_bytes(data, policy=email.policy.default)
        assert mail["To"] == "wang.fang@example.org"
        assert mail["Subject"] == "登录链接 / Your sign-in link"
        body = mail.get_body()
        assert body is not None
        token = _link(body.get_content())
        form = client.get(f"/signin/link?token={token}")
        r = client.post("/signin/link", data={"csrf": csrf_of(form.text), "token": token})
        assert (r.status_code, r.headers["location"]) == (303, "/me")


def test_a_failed_delivery_is_kept_as_failed(world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    person = world["people"][5]
    with world["service"].writer() as store, store.transaction():
        set_contact(store, person, "email", "li.na@example.org", "cli")
    closed = free_port()  # a port nobody listens on
    monkeypatch.setenv("SOCIALCREDIT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SOCIALCREDIT_SMTP_PORT", str(closed))
    with httpx.Client(base_url=world["base"], timeout=30) as client:
        assert _ask(client, person).headers["location"] == "/signin/new-link?sent=1"
    [message] = _settled(world, person, 1)
    assert (message["status"], message["attempts"], message["sent_at"]) == ("failed", 1, None)
    assert message["last_error"].startswith("ConnectionRefusedError: ")


def test_asking_for_links_is_throttled_like_signing_in(world: dict[str, Any], tmp_path: Any) -> None:
    limits = service_limits(get_settings())
    limits["signin"] = Limit("signin", 3, 60, "failed sign-ins")
    store = open_store(tmp_path / "empty.duckdb", create=True, key="")
    app = create_app(tmp_path / "empty.duckdb", store=store, throttle=Throttle(limits))
    with serve(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        codes = [_ask(client, NOBODY).status_code for _ in range(4)]
        assert codes == [303, 303, 303, 429]
        page = client.get("/signin/new-link")
        r = client.post("/signin/new-link", data={"csrf": csrf_of(page.text), "subject": NOBODY})
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) > 0
        assert "登录失败次数过多：同一地址每分钟最多 3 次登录失败" in r.text
    store.close()


def test_the_command_line_records_an_address(tmp_path: Any) -> None:
    files = write_example(tmp_path / "example", residents=20)
    db = tmp_path / "cli.duckdb"
    with open_store(db, create=True, key="") as store:
        ingest_file(store, files.subjects, "civil_affairs", today=AS_OF)
        person = store.one("SELECT subject_id FROM current_subjects WHERE kind = 'person' ORDER BY subject_id LIMIT 1")
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [CLI, "contact", *args, "--db", str(db)]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)

    r = cli(person, "--email", "wang.fang@example.org")
    assert (r.returncode, r.stdout.strip()) == (0, f"{person}: e-mail wang.fang@example.org")
    r = cli(NOBODY, "--email", "x@example.org")
    assert (r.returncode, r.stderr.strip().splitlines()[-1]) == (2, f"error: no registered resident {NOBODY}")
    r = cli(person, "--email", "not an address")
    assert (r.returncode, r.stderr.strip().splitlines()[-1]) == (
        2,
        "error: --email 'not an address' is not an e-mail address",
    )
    with open_store(db, key="") as store:
        assert store.rows("SELECT subject_id, channel, address FROM contacts") == [
            {"subject_id": person, "channel": "email", "address": "wang.fang@example.org"}
        ]
