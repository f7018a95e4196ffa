"""Disputes with evidence files, withdrawal by the resident, the furnisher's page, escalation to a human review.

A real service (uvicorn on 127.0.0.1) over an encrypted store: a resident files a dispute and attaches files over the
API and on the pages; limits answer 413 and 415 naming the limit or the types; the file is never in clear under the
store's folder; the resident, the furnisher of the source and an operator download it, nobody else. A withdrawn
dispute ends its hold; an escalated one is decided by a reviewer whose reasons go on the record. The command line's
exit codes come from the installed console script.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import due_world
from page_text import visible_text
from socialcredit.api.app import create_app
from socialcredit.errors import UnsupportedMediaError
from socialcredit.example import AS_OF, write_example
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.decisions.inquiries import who_asked
from socialcredit.registry.due_process.evidence import MAX_FILE_BYTES, MEDIA_TYPES, sniff_media_type
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.registry.scoring.holds import held_sources
from socialcredit.registry.scoring.policies import builtin_policy, resolve_policy
from socialcredit.registry.scoring.runs import score
from socialcredit.store import open_store
from socialcredit.web.codes import code_words
from socialcredit.web.uploads import parse_multipart
from web_helpers import browser, csrf_of, failure_of, serve, shots, sign_in

__all__ = ["browser", "shots"]

CLI = str(Path(sys.executable).parent / "socialcredit")
KEY = "evidence-test-key-51c0"
TODAY = AS_OF.isoformat()
# A PNG whose bytes are searched for on disk: its signature, then a marker no store would hold by chance.
MARKER = b"EVIDENCE-MARKER-7d1e5b0c9a"
PNG = MEDIA_TYPES["image/png"] + b"\x00\x00\x00\rIHDR" + MARKER * 40
PDF = b"%PDF-1.7\n" + b"receipt of payment\n" * 20
TOO_LARGE = "an evidence file is at most 1 MiB (1,048,576 bytes); this one is 1,048,577 bytes"  # the API's 413 message
BAD_TYPE = (
    "evidence must be a PDF, PNG or JPEG file (application/pdf, image/png, image/jpeg); this file is none of them"
)


def _records(store: Any, subject: str) -> list[dict[str, Any]]:
    return store.rows(
        "SELECT source_id, record_id FROM records WHERE subject_id = ? AND NOT withdrawn "
        "QUALIFY row_number() OVER (PARTITION BY source_id, record_id ORDER BY record_key DESC) = 1 "
        "ORDER BY source_id, record_id",
        [subject],
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("evidence")
    files = write_example(folder / "example", residents=120)
    db = folder / "store" / "store.duckdb"
    store = open_store(db, create=True, key=KEY)
    ingest_file(store, files.subjects, "civil_affairs", today=AS_OF)
    for source, path in files.sources.items():
        ingest_file(store, path, source, today=AS_OF)
    score(store, resolve_policy(store, "beijing"), AS_OF)
    people = store.rows(
        "SELECT subject_id, count(*) AS n FROM records GROUP BY subject_id HAVING count(DISTINCT source_id) >= 2 "
        "ORDER BY n DESC, subject_id LIMIT 2"
    )
    resident, other = people[0]["subject_id"], people[1]["subject_id"]
    records = _records(store, resident)
    source = records[0]["source_id"]
    elsewhere = next(r["source_id"] for r in records if r["source_id"] != source)
    keys = {
        "resident": issue_key(store, "resident", "王芳", subject=resident),
        "other": issue_key(store, "resident", "another resident", subject=other),
        "operator": issue_key(store, "operator", "registry operations"),
        "furnisher": issue_key(store, "furnisher", "the source's office", source=source),
        "elsewhere": issue_key(store, "furnisher", "another source's office", source=elsewhere),
    }
    app = create_app(db, store=store)
    with serve(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield {
            "client": client,
            "base": base,
            "service": app.state.service,
            "folder": db.parent,
            "resident": resident,
            "records": [r for r in records if r["source_id"] == source],
            "source": source,
            "keys": {k: v.token for k, v in keys.items()},
            "key_ids": {k: v.party.key_id for k, v in keys.items()},
        }
    store.close()


def _auth(world: dict[str, Any], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world['keys'][who]}"}


def _file(world: dict[str, Any], index: int, reason: str = "this fine was paid") -> dict[str, Any]:
    record = world["records"][index]
    r = world["client"].post(
        "/v1/disputes",
        headers=_auth(world, "resident"),
        json={"source_id": record["source_id"], "record_id": record["record_id"], "reason": reason},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def _rows(world: dict[str, Any], sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    with world["service"].writer() as store:
        return store.rows(sql, params)


# -- units ---------------------------------------------------------------------------------------------------------
@given(st.binary(max_size=64))
def test_a_file_is_typed_by_its_content_only(content: bytes) -> None:
    known = [t for t, magic in MEDIA_TYPES.items() if content.startswith(magic)]
    if known:
        assert sniff_media_type(content) == known[0]
    else:
        with pytest.raises(UnsupportedMediaError) as err:
            sniff_media_type(content)
        assert (err.value.status, err.value.code, str(err.value)) == (415, "unsupported_file_type", BAD_TYPE)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(content=st.binary(max_size=3000), csrf=st.text(alphabet="abcdefXYZ0189-_", min_size=1, max_size=40))
def test_a_multipart_form_gives_back_its_file_byte_for_byte(content: bytes, csrf: str) -> None:
    boundary = "----sc" + "7" * 20
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{csrf}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="scan.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    if f"--{boundary}".encode() in content:  # a browser picks a boundary that is not in the file
        return
    fields, files = parse_multipart(f"multipart/form-data; boundary={boundary}", body)
    assert fields == {"csrf": csrf}
    assert files == {"file": ("scan.png", content)}


def test_a_body_that_is_not_multipart_gives_nothing() -> None:
    assert parse_multipart("application/x-www-form-urlencoded", b"a=1") == ({}, {})
    assert parse_multipart("multipart/form-data; boundary=x", b"\xff\xfe not a form") == ({}, {})


# -- the API -------------------------------------------------------------------------------------------------------
def test_evidence_files_over_the_api_limits_and_who_reads_them(world: dict[str, Any]) -> None:
    client, d = world["client"], _file(world, 0)
    path = f"/v1/disputes/{d['dispute_id']}/evidence"
    r = client.post(path + "?name=receipt.png", headers=_auth(world, "resident"), content=PNG)
    assert r.status_code == 201, r.text
    added = r.json()
    assert {k: added[k] for k in ("file_name", "media_type", "size", "added_on")} == {
        "file_name": "receipt.png",
        "media_type": "image/png",
        "size": len(PNG),
        "added_on": dt.date.today().isoformat(),  # the service's clock: the system's date
    }
    # over the limit, by its declared length: 413 naming the limit, nothing kept
    r = client.post(path, headers=_auth(world, "resident"), content=b"%PDF-" + b"x" * (MAX_FILE_BYTES - 4))
    assert r.status_code == 413
    assert r.json()["error"] == {"code": "file_too_large", "message": TOO_LARGE, "field": "file"}

    # sent in chunks (no declared length): refused as it arrives
    def chunks() -> Iterator[bytes]:
        yield b"%PDF-"
        for _ in range(17):
            yield b"y" * 65536

    r = client.post(path, headers=_auth(world, "resident"), content=chunks())
    assert r.status_code == 413
    assert r.json()["error"]["message"] == ("an evidence file is at most 1 MiB (1,048,576 bytes); this one is larger")
    r = client.post(path + "?name=notes.txt", headers=_auth(world, "resident"), content=b"just some text")
    assert (r.status_code, r.json()["error"]) == (
        415,
        {"code": "unsupported_file_type", "message": BAD_TYPE, "field": "file"},
    )
    for content in (PDF, b"\xff\xd8\xff\xe0" + b"jpeg" * 10):
        assert client.post(path, headers=_auth(world, "resident"), content=content).status_code == 201
    r = client.post(path, headers=_auth(world, "resident"), content=PDF)
    assert (r.status_code, r.json()["error"]["code"], r.json()["error"]["message"]) == (
        409,
        "too_many_files",
        f"dispute {d['dispute_id']} has 3 files already, the most a dispute may have",
    )
    # listed on the dispute, in the order added
    shown = client.get(f"/v1/disputes/{d['dispute_id']}", headers=_auth(world, "resident")).json()
    assert [(f["file_name"], f["media_type"]) for f in shown["files"]] == [
        ("receipt.png", "image/png"),
        ("evidence.pdf", "application/pdf"),
        ("evidence.jpg", "image/jpeg"),
    ]
    # read back byte for byte by the resident, the source's furnisher and an operator; refused to anyone else
    one = f"{path}/{added['evidence_id']}"
    for who in ("resident", "furnisher", "operator"):
        r = client.get(one, headers=_auth(world, who))
        assert (r.status_code, r.content, r.headers["content-type"]) == (200, PNG, "image/png"), who
        assert r.headers["content-disposition"] == "attachment; filename=\"receipt.png\"; filename*=UTF-8''receipt.png"
    for who in ("other", "elsewhere"):
        r = client.get(one, headers=_auth(world, who))
        assert (r.status_code, r.json()["error"]["code"]) == (403, "not_your_dispute"), who
    r = client.post(path, headers=_auth(world, "other"), content=PNG)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "not_your_dispute")
    reads = _rows(
        world,
        "SELECT actor FROM audit_log WHERE action = 'dispute_evidence_read' AND subject_id = ? ORDER BY seq",
        [world["resident"]],
    )
    assert [r["actor"] for r in reads][-3:] == [
        f"key:{world['key_ids'][w]}" for w in ("resident", "furnisher", "operator")
    ]


def _checkpoint(world: dict[str, Any]) -> None:
    """Write the store's tables to its file; a live pass's read transaction (on its own connection) holds a
    checkpoint back until it ends, so try again for a while."""
    deadline = time.monotonic() + 30
    while True:
        with world["service"].writer() as store:
            try:
                store.execute("CHECKPOINT")
                return
            except duckdb.TransactionException:
                if time.monotonic() > deadline:
                    raise
        time.sleep(0.1)


def test_an_evidence_file_is_never_in_clear_under_the_stores_folder(world: dict[str, Any]) -> None:
    d = _file(world, 1)
    r = world["client"].post(f"/v1/disputes/{d['dispute_id']}/evidence", headers=_auth(world, "resident"), content=PNG)
    assert r.status_code == 201
    _checkpoint(world)
    read = 0
    for root, _dirs, names in os.walk(world["folder"]):
        for name in names:
            path = Path(root) / name
            if path.is_symlink() or not path.is_file():
                continue
            read += 1
            assert MARKER not in path.read_bytes(), path
    assert read >= 1
    # and the store holds it, whole
    kept = _rows(world, "SELECT content FROM dispute_evidence WHERE evidence_id = ?", [r.json()["evidence_id"]])
    assert bytes(kept[0]["content"]) == PNG


def _held(world: dict[str, Any], record_id: str) -> bool:
    """Whether a run now, under a policy that does not count disputed records (Sesame), would skip the record."""
    with world["service"].writer() as store:
        sesame = builtin_policy("sesame")
        assert not sesame.policy.disputes.counts_while_open
        watermark = store.one("SELECT value FROM counters WHERE name = 'seq'")
        held = store.rows(f"SELECT record_id FROM ({held_sources(sesame)})", {"w": int(watermark)})
    return record_id in {h["record_id"] for h in held}


def test_a_resident_withdraws_a_dispute_and_its_hold_ends(world: dict[str, Any]) -> None:
    client, d = world["client"], _file(world, 2)
    path = f"/v1/disputes/{d['dispute_id']}/withdraw"
    assert _held(world, d["record_id"])
    r = client.post(path, headers=_auth(world, "other"), json={})
    assert (r.status_code, r.json()["error"]) == (
        404,
        {"code": "not_found", "message": f"no dispute {d['dispute_id']}", "field": "dispute_id"},
    )
    r = client.post(path, headers=_auth(world, "resident"), json={"reason": "the source called me: it is right"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "retracted"
    row = _rows(world, "SELECT seq, closed_seq, answered_by FROM disputes WHERE dispute_id = ?", [d["dispute_id"]])[0]
    assert row["closed_seq"] is not None and row["closed_seq"] > row["seq"]
    assert not _held(world, d["record_id"])
    assert row["answered_by"] == f"key:{world['key_ids']['resident']}"
    told = _rows(
        world, "SELECT text_en FROM notifications WHERE kind = 'dispute_retracted' AND ref_id = ?", [d["dispute_id"]]
    )
    assert told[0]["text_en"].startswith(
        f"Dispute {d['dispute_id']} of record {d['record_id']} ({d['source_id']}): you withdrew"
    )
    r = client.post(path, headers=_auth(world, "resident"), json={})
    assert (r.status_code, r.json()["error"]["code"], r.json()["error"]["message"]) == (
        409,
        "dispute_closed",
        f"dispute {d['dispute_id']} is closed already (retracted); only an open dispute may be withdrawn",
    )
    # the record may be disputed again
    again = _file(world, 2, "still wrong")
    assert again["status"] == "open"


def test_an_operator_escalates_and_the_review_decides_on_the_record(world: dict[str, Any]) -> None:
    client, d = world["client"], _file(world, 3)
    did = d["dispute_id"]
    r = client.post(f"/v1/disputes/{did}/escalate", headers=_auth(world, "resident"), json={"reason": "x"})
    assert (r.status_code, r.json()["error"]["code"]) == (403, "role_not_allowed")
    r = client.post(
        f"/v1/disputes/{did}/review", headers=_auth(world, "operator"), json={"decision": "upheld", "reasons": "x"}
    )
    assert (r.status_code, r.json()["error"]["code"]) == (409, "not_escalated")
    # in Chinese under ?lang=zh (until 2026-12-06 in English whatever was asked)
    r = client.post(
        f"/v1/disputes/{did}/review",
        params={"lang": "zh"},
        headers=_auth(world, "operator"),
        json={"decision": "upheld", "reasons": "x"},
    )
    assert (r.status_code, r.json()["error"]) == (
        409,
        {"code": "not_escalated", "message": f"异议 {did} 未转交人工复核；请先转交", "field": "dispute_id"},
    )
    r = client.post(
        f"/v1/disputes/{did}/escalate", headers=_auth(world, "operator"), json={"reason": "the source does not answer"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["review"]["escalation_reason"] == "the source does not answer"
    # the source no longer answers it
    r = client.post(
        f"/v1/disputes/{did}/answer", headers=_auth(world, "furnisher"), json={"outcome": "verified", "note": "ok"}
    )
    assert (r.status_code, r.json()["error"]["code"]) == (409, "dispute_escalated")
    assert r.json()["error"]["message"].startswith(f"dispute {did} is under human review since ")
    r = client.post(
        f"/v1/disputes/{did}/review",
        headers=_auth(world, "operator"),
        json={"decision": "withdrawn", "reasons": "the court's register shows the case closed in 2025"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["review"]["decision"], body["review"]["reasons"]) == (
        "withdrawn",
        "withdrawn",
        "the court's register shows the case closed in 2025",
    )
    latest = _rows(
        world,
        "SELECT withdrawn FROM records WHERE source_id = ? AND record_id = ? ORDER BY record_key DESC LIMIT 1",
        [d["source_id"], d["record_id"]],
    )
    assert latest[0]["withdrawn"] is True
    audited = _rows(world, "SELECT detail FROM audit_log WHERE action = 'dispute_reviewed' ORDER BY seq DESC LIMIT 1")
    assert json.loads(audited[0]["detail"]) == {
        "decision": "withdrawn",
        "dispute_id": did,
        "reasons": {"kept_in": "dispute_reviews.reasons", "chars": 50},  # the words are kept with the review only
    }
    r = client.post(
        f"/v1/disputes/{did}/review", headers=_auth(world, "operator"), json={"decision": "upheld", "reasons": "again"}
    )
    decided = body["review"]["decided_on"]
    assert (r.status_code, r.json()["error"]) == (
        409,
        {
            "code": "review_decided",
            "message": f"the review of dispute {did} was decided already (withdrawn on {decided})",
            "field": "dispute_id",
        },
    )
    r = client.post(
        f"/v1/disputes/{did}/review",
        params={"lang": "zh"},
        headers=_auth(world, "operator"),
        json={"decision": "upheld", "reasons": "again"},
    )
    assert (r.status_code, r.json()["error"]) == (
        409,
        {
            "code": "review_decided",
            "message": f"异议 {did} 的复核已有结论（{decided}：该记录已撤回，不再计入）",
            "field": "dispute_id",
        },
    )


# -- the pages -----------------------------------------------------------------------------------------------------
def _multipart(csrf: str, name: str, content: bytes) -> tuple[dict[str, str], dict[str, tuple[str, bytes, str]]]:
    return {"csrf": csrf}, {"file": (name, content, "application/octet-stream")}


def test_the_pages_evidence_withdrawal_furnisher_and_review(world: dict[str, Any]) -> None:
    d = _file(world, 4, "the amount is wrong")
    did = d["dispute_id"]
    with httpx.Client(base_url=world["base"], timeout=30) as resident:
        sign_in(resident, world["keys"]["resident"])
        page = resident.get(f"/me/disputes/{did}?lang=en")
        assert page.status_code == 200
        assert "No evidence file." in page.text
        data, files = _multipart(csrf_of(page.text), "缴款回执.png", PNG)
        r = resident.post(f"/me/disputes/{did}/evidence", data=data, files=files)
        assert (r.status_code, r.headers["location"]) == (303, f"/me/disputes/{did}?added=1")
        page = resident.get(r.headers["location"])
        assert "The file was attached." in page.text
        assert f'href="/me/disputes/{did}/evidence/' in page.text
        data, files = _multipart(csrf_of(page.text), "big.pdf", b"%PDF-" + b"z" * MAX_FILE_BYTES)
        r = resident.post(f"/me/disputes/{did}/evidence", data=data, files=files)
        assert r.status_code == 413
        assert (
            f"An evidence file is at most 1 MiB (1,048,576 bytes); this one is {MAX_FILE_BYTES + 5:,} bytes." in r.text
        )
        data, files = _multipart(csrf_of(page.text), "notes.txt", b"hello")
        r = resident.post(f"/me/disputes/{did}/evidence", data=data, files=files)
        assert r.status_code == 415
        assert "Evidence must be a PDF, PNG or JPEG file; this file is none of them." in r.text
        # another resident's dispute is not found
        with httpx.Client(base_url=world["base"], timeout=30) as other:
            sign_in(other, world["keys"]["other"])
            assert other.get(f"/me/disputes/{did}").status_code == 404

    # the furnisher signs in with its key, sees the dispute with the file and its deadline, and answers it
    with httpx.Client(base_url=world["base"], timeout=30) as furnisher:
        r = sign_in(furnisher, world["keys"]["furnisher"])
        assert r.headers["location"] == "/furnisher"
        page = furnisher.get("/furnisher?lang=en")
        assert page.status_code == 200
        assert f"Dispute {did}" in page.text and d["deadline"] in page.text
        assert "the amount is wrong" in page.text
        link = f"/furnisher/disputes/{did}/evidence/"
        assert link in page.text
        evidence_id = page.text.split(link, 1)[1].split('"', 1)[0]
        got = furnisher.get(link + evidence_id)
        assert (got.status_code, got.content) == (200, PNG)
        assert furnisher.get("/me").status_code == 403  # a furnisher has no resident pages
        r = furnisher.post(
            f"/furnisher/disputes/{did}/answer",
            data={"csrf": csrf_of(page.text), "outcome": "verified", "note": "Checked against the ledger: it stands."},
        )
        assert (r.status_code, r.headers["location"]) == (303, f"/furnisher?answered={did}")
        assert f"Dispute {did} was answered." in furnisher.get(r.headers["location"] + "&lang=en").text
    with httpx.Client(base_url=world["base"], timeout=30) as elsewhere:
        sign_in(elsewhere, world["keys"]["elsewhere"])
        assert elsewhere.get(f"/furnisher/disputes/{did}/evidence/{evidence_id}").status_code == 404

    # the operator escalates the verified dispute; the reviewer upholds it with reasons; the resident reads them
    with httpx.Client(base_url=world["base"], timeout=30) as operator:
        sign_in(operator, world["keys"]["operator"])
        page = operator.get(f"/ops/disputes/{did}?lang=en")
        assert "Escalate to a human review" in page.text
        r = operator.post(
            f"/ops/disputes/{did}/escalate", data={"csrf": csrf_of(page.text), "reason": "the resident insists"}
        )
        assert r.status_code == 303
        page = operator.get(f"/ops/disputes/{did}?lang=en")
        r = operator.post(
            f"/ops/disputes/{did}/review",
            data={"csrf": csrf_of(page.text), "decision": "upheld", "reasons": "The ledger and the bank agree."},
        )
        assert r.status_code == 303
    with httpx.Client(base_url=world["base"], timeout=30) as resident:
        sign_in(resident, world["keys"]["resident"])
        page = resident.get(f"/me/disputes/{did}?lang=en").text
        assert "verified (the record stands)" in page
        assert "Checked against the ledger: it stands." in page
        assert "Sent to a human review on" in page and "the resident insists" in page
        assert "upheld: the record stands" in page and "The ledger and the bank agree." in page


def _file_elsewhere(world: dict[str, Any], index: int) -> int:
    """A dispute of the resident's ``index``-th record of another source (the browser test below disputes one of the
    source's records none has disputed): its number."""
    elsewhere = _rows(
        world,
        "SELECT DISTINCT source_id, record_id FROM records WHERE subject_id = ? AND source_id <> ? "
        "ORDER BY record_id LIMIT 1 OFFSET ?",
        [world["resident"], world["source"], index],
    )[0]
    r = world["client"].post(
        "/v1/disputes", headers=_auth(world, "resident"), json={**elsewhere, "reason": "the receipt shows it paid"}
    )
    assert r.status_code == 201, r.text
    return int(r.json()["dispute_id"])


def test_a_long_file_name_is_cut_in_its_stem_and_keeps_its_extension(world: dict[str, Any]) -> None:
    """A name over 100 characters lost its extension ("receipt-…-2026" for "receipt-…-2026.png"): the file then
    downloaded as nothing a phone opens. Over the API and on the page alike."""
    did = _file_elsewhere(world, 1)
    long_name = "收据-" + "x" * 150 + ".png"
    r = world["client"].post(
        f"/v1/disputes/{did}/evidence", params={"name": long_name}, headers=_auth(world, "resident"), content=PNG
    )
    assert r.status_code == 201, r.text
    assert r.json()["file_name"] == "收据-" + "x" * 93 + ".png"  # 3 + 93 + 4 = 100 characters
    with httpx.Client(base_url=world["base"], timeout=30) as resident:
        sign_in(resident, world["keys"]["resident"])
        page = resident.get(f"/me/disputes/{did}?lang=en")
        data, files = _multipart(csrf_of(page.text), "y" * 120 + ".jpeg", MEDIA_TYPES["image/jpeg"] + b"\x00" * 64)
        assert resident.post(f"/me/disputes/{did}/evidence", data=data, files=files).status_code == 303
    shown = world["client"].get(f"/v1/disputes/{did}", headers=_auth(world, "resident")).json()["files"]
    assert [f["file_name"] for f in shown] == ["收据-" + "x" * 93 + ".png", "y" * 95 + ".jpeg"]
    # a name without an extension is cut as it was
    short = world["client"].post(
        f"/v1/disputes/{did}/evidence", params={"name": "z" * 150}, headers=_auth(world, "resident"), content=PDF
    )
    assert short.json()["file_name"] == "z" * 100


def test_a_photo_over_the_limit_on_a_request_is_a_page_in_the_residents_language(world: dict[str, Any]) -> None:
    """A phone's photo of a receipt (3 MiB) is over the service's limit on a request (2 MiB), not only over the
    evidence file's: the page answers 413 in its language, naming both limits, and keeps nothing. It was the API's
    JSON, in English, pointing the resident to POST /v1/records."""
    did = _file_elsewhere(world, 0)
    photo = MEDIA_TYPES["image/jpeg"] + b"\x00" * (3 * 1024 * 1024)
    with httpx.Client(base_url=world["base"], timeout=30) as resident:
        sign_in(resident, world["keys"]["resident"])
        for lang, said in (
            (
                "zh",
                "提交的内容过大：一次提交（表单连同文件）不得超过 2 MiB（2,097,152 字节），未予接收；"
                "证据文件不得超过 1 MiB。",
            ),
            (
                "en",
                "What was sent is too large: a form with its files is at most 2 MiB (2,097,152 bytes), so it was "
                "not taken; an evidence file is at most 1 MiB.",
            ),
        ):
            page = resident.get(f"/me/disputes/{did}?lang={lang}")
            data, files = _multipart(csrf_of(page.text), "收据.jpg", photo)
            r = resident.post(f"/me/disputes/{did}/evidence", data=data, files=files)
            assert (r.status_code, r.headers["content-type"]) == (413, "text/html; charset=utf-8")
            assert r.headers["content-language"] == {"zh": "zh-CN", "en": "en"}[lang]
            assert said in visible_text(r.text)
            # a form that takes no file says nothing of evidence (every form's 413 named the evidence file's limit)
            r = resident.post(f"/signin?lang={lang}", data={"key": "k" * (3 * 1024 * 1024)})
            assert (r.status_code, r.headers["content-type"]) == (413, "text/html; charset=utf-8")
            # nor of files (it said "a form with its files" until 2026-12-06)
            plain = {
                "zh": "提交的内容过大：一次提交的表单不得超过 2 MiB（2,097,152 字节），未予接收。",
                "en": "What was sent is too large: a form is at most 2 MiB (2,097,152 bytes), so it was not taken.",
            }[lang]
            assert plain in visible_text(r.text)
            assert "1 MiB" not in visible_text(r.text)
        # the API's answer is unchanged: JSON naming the limit
        r = resident.post(f"/v1/disputes/{did}/evidence?name=x.jpg", headers=_auth(world, "resident"), content=photo)
        assert (r.status_code, r.json()["error"]["code"]) == (413, "body_too_large")
        assert "No evidence file." in resident.get(f"/me/disputes/{did}?lang=en").text


def test_the_resident_withdraws_on_the_page(world: dict[str, Any]) -> None:
    d = _file(world, 5)
    did = d["dispute_id"]
    with httpx.Client(base_url=world["base"], timeout=30) as resident:
        sign_in(resident, world["keys"]["resident"])
        page = resident.get(f"/me/disputes/{did}")
        r = resident.post(f"/me/disputes/{did}/withdraw", data={"csrf": csrf_of(page.text), "reason": ""})
        assert (r.status_code, r.headers["location"]) == (303, f"/me/disputes/{did}?withdrawn=1")
        page = resident.get(r.headers["location"])
        assert "异议已撤回。" in page.text and "本人已撤回" in page.text
        assert "撤回异议</button>" not in page.text


def test_a_refused_dispute_step_is_told_in_the_pages_language(world: dict[str, Any]) -> None:
    """A second dispute of a record, a form without a record, a withdrawal or information after the dispute closed:
    the pages answered in English only, whatever the page's language (the repair and freeze pages translate)."""
    d = _file(world, 6)
    did, record = d["dispute_id"], d["record_id"]
    with httpx.Client(base_url=world["base"], timeout=30) as resident:
        sign_in(resident, world["keys"]["resident"])

        def post(path: str, data: dict[str, str], lang: str = "zh") -> httpx.Response:
            csrf = csrf_of(resident.get("/me/disputes").text)
            return resident.post(path, params={"lang": lang}, data={**data, "csrf": csrf})

        again = post("/me/disputes", {"record": f"{d['source_id']}|{record}", "reason": "still wrong"})
        assert (again.status_code, failure_of(again)) == (
            400,
            f"记录 {record} 已有进行中的异议（异议 {did}）；请在该异议中补充信息。",
        )
        none = post("/me/disputes", {"record": "", "reason": "wrong"}, lang="en")
        assert (none.status_code, failure_of(none)) == (400, "Choose the record to dispute.")
        assert post(f"/me/disputes/{did}/withdraw", {"reason": ""}).status_code == 303
        closed = f"异议 {did} 已结束（本人已撤回）：只能对进行中的异议办理此步骤；如记录仍有误，请重新提出异议。"
        twice = post(f"/me/disputes/{did}/withdraw", {"reason": ""})
        assert (twice.status_code, failure_of(twice)) == (409, closed)
        added = post(f"/me/disputes/{did}/information", {"text": "a receipt"})
        assert (added.status_code, failure_of(added)) == (400, closed)
        english = post(f"/me/disputes/{did}/information", {"text": "a receipt"}, lang="en")
        assert failure_of(english) == (
            f"Dispute {did} is closed (withdrawn by you): only an open dispute takes this step; if the record is "
            "still wrong, file a new dispute."
        )


def test_a_refused_answer_is_told_in_the_furnisher_pages_language(world: dict[str, Any]) -> None:
    """The furnisher's page answered a refusal (no note, no correction sent, a closed dispute) in English only."""
    d = _file(world, 7)
    did, record = d["dispute_id"], d["record_id"]
    with httpx.Client(base_url=world["base"], timeout=30) as furnisher:
        sign_in(furnisher, world["keys"]["furnisher"])

        def answer(outcome: str, note: str, lang: str = "zh") -> httpx.Response:
            csrf = csrf_of(furnisher.get("/furnisher").text)
            data = {"outcome": outcome, "note": note, "csrf": csrf}
            return furnisher.post(f"/furnisher/disputes/{did}/answer", params={"lang": lang}, data=data)

        bare = answer("verified", " ")
        assert (bare.status_code, failure_of(bare)) == (422, "请写明答复说明。")
        uncorrected = answer("corrected", "fixed", lang="en")
        assert (uncorrected.status_code, failure_of(uncorrected)) == (
            409,
            f"No corrected version of record {record} was received since the dispute was filed: send it "
            "(correction=true) first, then answer “corrected”.",
        )
        assert answer("verified", "it stands").status_code == 303
        again = answer("withdrawn", "on second thought")
        assert (again.status_code, failure_of(again)) == (409, f"异议 {did} 已结束（已核实（记录保留））。")


def test_the_furnisher_page_audits_its_read_of_the_open_disputes(world: dict[str, Any]) -> None:
    """/furnisher shows the source's open disputes (each resident's record, reason, what they added, their files):
    the read is audited as the API's `GET /v1/disputes` of a furnisher is (`read_disputes`: the source, open, how
    many it named; until 2026-12-05 the page's was not)."""
    d = _file(world, 9, "not my fine")
    actor = f"key:{world['key_ids']['furnisher']}"
    [n] = [
        r["n"]
        for r in _rows(
            world, "SELECT count(*) AS n FROM disputes WHERE source_id = ? AND status = 'open'", [world["source"]]
        )
    ]
    assert n >= 1
    with httpx.Client(base_url=world["base"], timeout=30) as furnisher:
        sign_in(furnisher, world["keys"]["furnisher"])
        page = furnisher.get("/furnisher?lang=en")
        assert page.status_code == 200 and d["record_id"] in page.text and "not my fine" in page.text
    audit = _rows(
        world,
        "SELECT action, subject_id, detail FROM audit_log WHERE actor = ? AND action = 'read_disputes' "
        "ORDER BY seq DESC LIMIT 1",
        [actor],
    )
    assert [(a["subject_id"], json.loads(a["detail"])) for a in audit] == [
        (None, {"source_id": world["source"], "status": "open", "entries": n})
    ]


def test_a_refused_escalation_or_review_is_told_in_the_operator_pages_language(world: dict[str, Any]) -> None:
    """The operator's dispute page answered a refused escalation or review in English only."""
    d = _file(world, 8)
    did, record = d["dispute_id"], d["record_id"]
    with httpx.Client(base_url=world["base"], timeout=30) as operator:
        sign_in(operator, world["keys"]["operator"])

        def post(step: str, data: dict[str, str], lang: str = "zh") -> httpx.Response:
            csrf = csrf_of(operator.get(f"/ops/disputes/{did}").text)
            return operator.post(f"/ops/disputes/{did}/{step}", params={"lang": lang}, data={**data, "csrf": csrf})

        early = post("review", {"decision": "upheld", "reasons": "it stands"})
        assert (early.status_code, failure_of(early)) == (409, f"异议 {did} 未转交人工复核；请先转交。")
        bare = post("escalate", {"reason": " "})
        assert (bare.status_code, failure_of(bare)) == (422, "请写明转交复核的理由。")
        assert post("escalate", {"reason": "the resident insists"}).status_code == 303
        again = post("escalate", {"reason": "once more"}, lang="en")
        assert (again.status_code, failure_of(again)) == (409, f"Dispute {did} was escalated already.")
        unsent = post("review", {"decision": "corrected", "reasons": "it was wrong"})
        assert (unsent.status_code, failure_of(unsent)) == (
            409,
            f"来源尚未报送记录 {record} 的更正版本，不能作出“已更正”的结论。",
        )


def test_operator_views_are_in_who_looked_and_the_file_speaks_of_the_resident(world: dict[str, Any]) -> None:
    with httpx.Client(base_url=world["base"], timeout=30) as operator:
        sign_in(operator, world["keys"]["operator"])
        for lang in ("zh", "en"):
            page = operator.get(f"/ops/subjects/{world['resident']}?lang={lang}")
            assert page.status_code == 200
            text = page.text.split('<main id="main"', 1)[1]
            for word in ("您", "你", " you ", " your ", "You ", "Your "):
                assert word not in text, (lang, word)
    with httpx.Client(base_url=world["base"], timeout=30) as resident:
        sign_in(resident, world["keys"]["resident"])
        assert "运营方（registry operations）查看了您的档案" in resident.get("/me/inquiries?lang=zh").text
        assert "an operator (registry operations) viewed your file" in resident.get("/me/inquiries?lang=en").text


def test_an_operator_s_export_of_the_file_is_named_in_the_resident_s_language(world: dict[str, Any]) -> None:
    # the export's purpose ("resident file export") was shown in English on the Chinese page of who asked
    auth = {"Authorization": f"Bearer {world['keys']['operator']}"}
    with httpx.Client(base_url=world["base"], timeout=30, headers=auth) as operator:
        assert operator.get(f"/v1/subjects/{world['resident']}/file").status_code == 200
    with httpx.Client(base_url=world["base"], timeout=30) as resident:
        sign_in(resident, world["keys"]["resident"])
        zh = resident.get("/me/inquiries?lang=zh").text
        en = resident.get("/me/inquiries?lang=en").text
    assert "导出档案" in zh and "resident file export" not in zh
    assert "an export of the file" in en


def test_an_operator_s_download_of_an_evidence_file_is_shown_to_the_resident(world: dict[str, Any]) -> None:
    """A resident's evidence file (a bank statement, a receipt) downloaded by an operator, over the API or on the
    operators' pages, is in the resident's list of who asked, with what was read in their language; before, the
    download was only in the audit log (``dispute_evidence_read``), and the list showed the dispute's reading only.
    The resident's own download and the source's are not shown to them."""
    d = _file(world, 10, reason="the receipt shows it was paid")
    path = f"/v1/disputes/{d['dispute_id']}/evidence"
    added = world["client"].post(path + "?name=receipt.pdf", headers=_auth(world, "resident"), content=PDF).json()
    one = f"{path}/{added['evidence_id']}"

    def shown() -> list[tuple[Any, ...]]:
        report = world["client"].get(f"/v1/subjects/{world['resident']}/report", headers=_auth(world, "resident"))
        return [(i["requester"], i["purpose"], i["outcome"]) for i in report.json()["inquiries"]]

    before = shown()
    for who in ("resident", "furnisher", "operator"):
        assert world["client"].get(one, headers=_auth(world, who)).content == PDF, who
    # on the pages: each download's purpose names who made it, as a dispute's reading does (the resident's and the
    # source's were both "portal: dispute evidence")
    for who, face in (("resident", "me"), ("furnisher", "furnisher"), ("operator", "ops")):
        with httpx.Client(base_url=world["base"], timeout=30) as client:
            sign_in(client, world["keys"][who])
            page = client.get(f"/{face}/disputes/{d['dispute_id']}/evidence/{added['evidence_id']}")
            assert (page.status_code, page.content) == (200, PDF), who
    reads = _rows(
        world,
        "SELECT json_extract_string(detail, '$.purpose') AS purpose FROM audit_log "
        "WHERE action = 'dispute_evidence_read' AND subject_id = ? ORDER BY seq",
        [world["resident"]],
    )
    assert [r["purpose"] for r in reads][-6:] == [
        "resident dispute evidence",
        "furnisher dispute evidence",
        "operator dispute evidence",
        "resident portal: dispute evidence",
        "furnisher portal: dispute evidence",
        "operator look-up: dispute evidence",
    ]
    viewer = "an operator (registry operations) viewed your file"
    assert shown()[: len(shown()) - len(before)] == [
        (viewer, "operator look-up: dispute evidence", "viewed"),
        (viewer, "operator dispute evidence", "viewed"),
    ]
    with httpx.Client(base_url=world["base"], timeout=30) as resident:
        sign_in(resident, world["keys"]["resident"])
        zh = visible_text(resident.get("/me/inquiries?lang=zh").text)
        en = visible_text(resident.get("/me/inquiries?lang=en").text)
    assert "在运营后台下载异议证据文件" in zh and "通过接口下载异议证据文件" in zh
    assert "an evidence file of a dispute on the operators' pages" in en
    assert "an evidence file of a dispute over the API" in en


def test_a_download_logged_before_its_purpose_was_is_shown_with_one(tmp_path: Path) -> None:
    """An operator's download logged before 2026-12-06 has no purpose in its audit entry (which does not say whether
    it was over the API or on the operators' pages): the resident is told what was read, not an empty purpose."""
    store = due_world.build(tmp_path)
    key = issue_key(store, "operator", "registry operations")
    with store.transaction():  # the entry as evidence_file wrote it then
        detail = {"dispute_id": 1, "evidence_id": 1}
        append_audit(store, f"key:{key.party.key_id}", "dispute_evidence_read", due_world.A, detail)
    said = {"en": "an evidence file of a dispute", "zh": "下载异议证据文件"}
    for lang, viewer in (
        ("en", "an operator (registry operations) viewed your file"),
        ("zh", "运营方（registry operations）查看了您的档案"),
    ):
        [read], n = who_asked(store, due_world.A, lang)
        assert (n, read["requester"], read["purpose"], read["outcome"]) == (1, viewer, "dispute evidence", "viewed")
        assert code_words("purpose", read["purpose"], lang) == said[lang]


# -- the command line ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("evidence-cli")
    files = write_example(folder / "example", residents=30)
    db = folder / "cli.duckdb"
    with open_store(db, create=True, key="") as store:
        ingest_file(store, files.subjects, "civil_affairs", today=AS_OF)
        for source, path in files.sources.items():
            ingest_file(store, path, source, today=AS_OF)
        resolve_policy(store, "beijing")
        subject = store.one("SELECT subject_id FROM records ORDER BY subject_id LIMIT 1")
        record = _records(store, subject)[0]
    return {"db": db, "subject": subject, "record": record, "folder": folder}


def _cli(small: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}
    env |= {"COLUMNS": "200", "SOCIALCREDIT_TODAY": TODAY}
    return subprocess.run(
        [CLI, *args, "--db", str(small["db"])], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_the_command_line_attaches_withdraws_escalates_and_reviews(small_store: dict[str, Any]) -> None:
    s, rec = small_store, small_store["record"]
    r = _cli(s, "dispute", "file", s["subject"], rec["source_id"], rec["record_id"], "--reason", "wrong", "--json")
    assert r.returncode == 0, r.stderr
    did = str(json.loads(r.stdout)["dispute_id"])
    png = s["folder"] / "scan.png"
    png.write_bytes(PNG)
    r = _cli(s, "dispute", "attach", did, str(png))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"dispute {did}: file 1 scan.png (image/png, {len(PNG):,} bytes, sha256 ")
    text = s["folder"] / "notes.txt"
    text.write_bytes(b"plain words")
    r = _cli(s, "dispute", "attach", did, str(text))
    assert (r.returncode, r.stderr.strip().splitlines()[-1]) == (2, "error: " + BAD_TYPE)
    big = s["folder"] / "big.pdf"
    big.write_bytes(b"%PDF-" + b"0" * MAX_FILE_BYTES)
    r = _cli(s, "dispute", "attach", did, str(big))
    assert (r.returncode, r.stderr.strip().splitlines()[-1]) == (
        2,
        "error: an evidence file is at most 1 MiB (1,048,576 bytes); this one is 1,048,581 bytes",
    )
    r = _cli(s, "dispute", "withdraw", did, "--subject", "110101199003077777")
    assert (r.returncode, r.stderr.strip().splitlines()[-1]) == (2, f"error: no dispute {did}")
    r = _cli(s, "dispute", "escalate", did, "--reason", "no answer")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("; under human review")
    r = _cli(s, "dispute", "review", did, "maybe", "--reasons", "x")
    assert (r.returncode, r.stderr.strip().splitlines()[-1]) == (
        2,
        "error: decision must be one of upheld, corrected, withdrawn, not 'maybe'",
    )
    r = _cli(s, "dispute", "review", did, "maybe", "--reasons", "x", "--lang", "zh")  # it had no --lang
    assert (r.returncode, r.stderr.strip().splitlines()[-1]) == (
        2,
        "错误：复核决定须为 upheld、corrected、withdrawn 之一，而不是 'maybe'",
    )
    # a decision of 5,000 characters is quoted cut to 64 (63 and an ellipsis) in either language, not echoed whole
    for lang, refused in (
        ("en", "error: decision must be one of upheld, corrected, withdrawn, not "),
        ("zh", "错误：复核决定须为 upheld、corrected、withdrawn 之一，而不是 "),
    ):
        r = _cli(s, "dispute", "review", did, "m" * 5000, "--reasons", "x", "--lang", lang)
        assert (r.returncode, r.stderr.strip().splitlines()[-1]) == (2, refused + "'" + "m" * 63 + "…'")
    r = _cli(s, "dispute", "review", did, "upheld", "--reasons", "the record is right", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["review"]["decision"] == "upheld"
    r = _cli(s, "dispute", "withdraw", did, "--subject", s["subject"])
    assert (r.returncode, r.stderr.strip().splitlines()[-1]) == (
        2,
        f"error: dispute {did} is closed already (verified); only an open dispute may be withdrawn",
    )


# -- in a browser ------------------------------------------------------------------------------------------------------
@pytest.mark.browser
def test_a_resident_disputes_with_a_png_and_the_furnisher_answers_on_its_page(
    world: dict[str, Any], browser: Any, shots: Path
) -> None:
    disputed = {r["record_id"] for r in _rows(world, "SELECT record_id FROM disputes")}
    record = next(r for r in world["records"] if r["record_id"] not in disputed)
    resident = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=world["base"]).new_page()
    resident.goto("/signin")
    resident.get_by_label("API 密钥").fill(world["keys"]["resident"])
    resident.get_by_role("button", name="登录").click()
    resident.wait_for_url("**/me")
    resident.goto("/me/disputes")
    resident.get_by_label("哪一条记录？").select_option(f"{record['source_id']}|{record['record_id']}")
    resident.get_by_label("为什么有误？").fill("这笔款项已于 3 月 5 日付清，回执附后。")
    resident.get_by_role("button", name="提交异议").click()
    resident.wait_for_url("**/me/disputes?filed=*")
    did = _rows(world, "SELECT dispute_id FROM disputes WHERE record_id = ?", [record["record_id"]])[0]["dispute_id"]
    resident.locator(f'a[href="/me/disputes/{did}"]').click()
    resident.wait_for_url(f"**/me/disputes/{did}")
    resident.get_by_label("文件（PDF、PNG 或 JPEG，不超过 1 MiB）").set_input_files(
        {"name": "回执.png", "mimeType": "image/png", "buffer": PNG}
    )
    resident.get_by_role("button", name="上传").click()
    resident.wait_for_url(f"**/me/disputes/{did}?added=1")
    assert resident.get_by_role("status").inner_text() == "文件已上传。"
    assert resident.get_by_test_id("evidence-files").inner_text().startswith("回执.png（")
    resident.screenshot(path=str(shots / "dispute-evidence.png"), full_page=True)

    furnisher = browser.new_context(viewport={"width": 390, "height": 844}, base_url=world["base"]).new_page()
    furnisher.goto("/signin")
    furnisher.get_by_label("API 密钥").fill(world["keys"]["furnisher"])
    furnisher.get_by_role("button", name="登录").click()
    furnisher.wait_for_url("**/furnisher")
    card = furnisher.locator("article", has=furnisher.locator(f"h2#d-{did}"))
    assert "这笔款项已于 3 月 5 日付清，回执附后。" in card.inner_text()
    assert card.get_by_role("link", name=re.compile("^回执.png")).count() == 1
    card.get_by_label("核实无误，记录保留").check()
    card.get_by_label("说明（居民可见）").fill("经核对账簿，该笔款项仍未付清，记录保留。")
    card.get_by_role("button", name="提交答复").click()
    furnisher.wait_for_url(f"**/furnisher?answered={did}")
    assert furnisher.get_by_role("status").inner_text() == f"异议 {did} 已答复。"
    furnisher.screenshot(path=str(shots / "dispute-furnisher.png"), full_page=True)

    resident.goto(f"/me/disputes/{did}")
    assert resident.get_by_test_id("dispute-status").inner_text() == "已核实（记录保留）"
    assert "经核对账簿，该笔款项仍未付清，记录保留。" in resident.get_by_test_id("dispute-note").inner_text()
    resident.context.close()
    furnisher.context.close()
