"""An organisation's legal representative acts on the organisation's open dispute as a resident acts on their own:
adds information, attaches evidence (bounded as a resident's), withdraws it, over HTTP and on the pages; each step
keeps the representative's identity number and is audited. A director, a former representative and a stranger are
refused each step, and so is the representative once they resigned (a real server on loopback).

And the notice written when a listing through an organisation takes effect names the organisation, the role and
its cause, in both languages, as the resident's report does."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from due_world import write_csv
from org_world import DIRECTOR, FORMER, ORG, REP, ROLE, STRANGER, build_org_world, serving_org_world
from socialcredit.clock import TODAY_ENV
from socialcredit.registry.due_process.disputes import file_dispute
from socialcredit.registry.due_process.evidence import MAX_FILE_BYTES
from socialcredit.registry.due_process.listings import activate_due
from socialcredit.registry.records.ingest import ingest_file
from web_helpers import csrf_of, signed_in

TODAY = "2026-04-01"
PNG = b"\x89PNG\r\n\x1a\n" + b"receipt" * 10
OTHERS = ("director", "former", "stranger")

pytestmark = pytest.mark.slow  # one world, built and scored, and a server


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder: Path = tmp_path_factory.mktemp("org_acting")
    store = build_org_world(folder)
    with serving_org_world(store, folder, TODAY) as world:
        yield world


def _headers(world: dict[str, Any], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world['keys'][who]}"}


def _post(world: dict[str, Any], who: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    return world["client"].post(path, json=body or {}, headers=_headers(world, who))


def _attach(world: dict[str, Any], who: str, dispute_id: int, content: bytes, name: str) -> httpx.Response:
    return world["client"].post(
        f"/v1/disputes/{dispute_id}/evidence", params={"name": name}, content=content, headers=_headers(world, who)
    )


def _file_for_org(world: dict[str, Any], source_id: str, record_id: str) -> int:
    body = {"source_id": source_id, "record_id": record_id, "reason": "the obligation was met on 2026-03-30"}
    filed = _post(world, "rep", f"/v1/orgs/{ORG}/disputes", body)
    assert filed.status_code == 201, filed.text
    assert (filed.json()["subject_id"], filed.json()["representative_id"]) == (ORG, REP)
    return int(filed.json()["dispute_id"])


def _audit(world: dict[str, Any], action: str) -> list[tuple[str, dict[str, Any]]]:
    with world["service"].writer() as store:
        rows = store.rows(
            "SELECT actor, detail FROM audit_log WHERE action = ? AND subject_id = ? ORDER BY seq",
            [
                action,
                ORG,
            ],
        )
    return [(r["actor"], json.loads(r["detail"])) for r in rows]


def _refused_everything(world: dict[str, Any], who: str, dispute_id: int) -> None:
    """``who`` may not add information, attach evidence, withdraw or read the dispute: the codes a resident gets
    for someone else's dispute (withdrawal answers as for a dispute that does not exist, as before)."""
    not_yours = {"code": "not_your_dispute", "message": f"dispute {dispute_id} is not yours to see"}
    refused = _post(world, who, f"/v1/disputes/{dispute_id}/information", {"text": "I am acting for it"})
    assert (refused.status_code, refused.json()["error"]) == (403, not_yours)
    refused = _attach(world, who, dispute_id, PNG, "receipt.png")
    assert (refused.status_code, refused.json()["error"]) == (403, not_yours)
    refused = world["client"].get(f"/v1/disputes/{dispute_id}", headers=_headers(world, who))
    assert (refused.status_code, refused.json()["error"]) == (403, not_yours)
    refused = _post(world, who, f"/v1/disputes/{dispute_id}/withdraw", {"reason": "not needed"})
    assert (refused.status_code, refused.json()["error"]) == (
        404,
        {"code": "not_found", "message": f"no dispute {dispute_id}", "field": "dispute_id"},
    )


def test_the_representative_adds_information_attaches_evidence_and_withdraws(world: dict[str, Any]) -> None:
    dispute_id = _file_for_org(world, "courts", "J9")
    refusals_before = len(_audit_refusals(world))
    for who in OTHERS:
        _refused_everything(world, who, dispute_id)
    # each refusal of information, evidence and reading is audited (the withdrawal's 404 is not a refusal)
    assert len(_audit_refusals(world)) == refusals_before + 3 * len(OTHERS)

    added = _post(world, "rep", f"/v1/disputes/{dispute_id}/information", {"text": "the court's receipt: 2026-03-30"})
    assert added.status_code == 200, added.text
    # filed on 2026-04-01, answer due in 30 days; information within them extends it to 45 days
    assert (added.json()["opened_at"], added.json()["deadline"]) == ("2026-04-01", "2026-05-16")
    assert added.json()["information"] == [
        {"added_at": "2026-04-01", "text": "the court's receipt: 2026-03-30", "representative_id": REP}
    ]

    attached = _attach(world, "rep", dispute_id, PNG, "回执.png")
    assert attached.status_code == 201, attached.text
    file = attached.json()
    assert (file["dispute_id"], file["media_type"], file["size"], file["representative_id"]) == (
        dispute_id,
        "image/png",
        len(PNG),
        REP,
    )
    # bounded as a resident's: the size before anything is read, the type from the content
    too_big = _attach(world, "rep", dispute_id, b"%PDF-" + b"z" * MAX_FILE_BYTES, "big.pdf")
    assert (too_big.status_code, too_big.json()["error"]) == (
        413,
        {
            "code": "file_too_large",
            "message": f"an evidence file is at most 1 MiB (1,048,576 bytes); this one is {MAX_FILE_BYTES + 5:,} bytes",
            "field": "file",
        },
    )
    not_a_file = _attach(world, "rep", dispute_id, b"hello", "notes.txt")
    assert (not_a_file.status_code, not_a_file.json()["error"]["code"]) == (415, "unsupported_file_type")
    got = world["client"].get(
        f"/v1/disputes/{dispute_id}/evidence/{file['evidence_id']}", headers=_headers(world, "rep")
    )
    assert (got.status_code, got.content) == (200, PNG)

    withdrawn = _post(world, "rep", f"/v1/disputes/{dispute_id}/withdraw", {"reason": "the court corrects it"})
    assert withdrawn.status_code == 200, withdrawn.text
    assert (withdrawn.json()["status"], withdrawn.json()["retracted_by_representative"]) == ("retracted", REP)

    rep = world["actors"]["rep"]
    info = _audit(world, "dispute_information")[-1]
    assert info == (rep, {"dispute_id": dispute_id, "deadline": "2026-05-16", "extended": True, "representative": REP})
    evidence = _audit(world, "dispute_evidence_added")[-1]
    assert evidence == (
        rep,
        {
            "dispute_id": dispute_id,
            "evidence_id": file["evidence_id"],
            "media_type": "image/png",
            "size": len(PNG),
            "representative": REP,
        },
    )
    retracted = _audit(world, "dispute_retracted")[-1]
    assert retracted == (
        rep,
        {
            "dispute_id": dispute_id,
            "source": "courts",
            "record_id": "J9",
            # the words are kept with the dispute, not copied into the audit log (the purge deletes them with it)
            "note": {"kept_in": "disputes.note", "chars": len("the court corrects it")},
            "representative": REP,
        },
    )
    assert _audit(world, "read_for_org")[-1] == (rep, {"dispute_id": dispute_id, "as": "representative"})
    with world["service"].writer() as store:
        assert store.rows("SELECT representative_id FROM dispute_information WHERE dispute_id = ?", [dispute_id]) == [
            {"representative_id": REP}
        ]
        assert store.one("SELECT representative_id FROM dispute_evidence WHERE dispute_id = ?", [dispute_id]) == REP


def _audit_refusals(world: dict[str, Any]) -> list[dict[str, Any]]:
    with world["service"].writer() as store:
        return store.rows(
            "SELECT detail FROM audit_log WHERE action = 'access_refused' AND detail LIKE '%not_your_dispute%'"
        )


def test_the_representative_acts_on_the_pages(world: dict[str, Any]) -> None:
    dispute_id = _file_for_org(world, "tax_bureau", "X9")
    page_path = f"/me/disputes/{dispute_id}"
    with signed_in(world, "rep") as rep:
        org = rep.get(f"/orgs/{ORG}", params={"lang": "en"})
        assert f'<a href="/me/disputes/{dispute_id}" data-testid="org-dispute-link">{dispute_id}</a>' in org.text
        page = rep.get(page_path, params={"lang": "en"})
        assert page.status_code == 200
        assert (
            f"You act on this dispute as the current legal representative of organisation {ORG}; each step you take "
            "is recorded under your identity."
        ) in page.text
        assert f'<a href="/orgs/{ORG}">' in page.text
        form = {"csrf": csrf_of(page.text), "from": "dispute", "text": "the tax was settled on 2026-03-30"}
        r = rep.post(f"{page_path}/information", data=form)
        assert (r.status_code, r.headers["location"]) == (303, f"{page_path}?informed=1")
        page = rep.get(r.headers["location"] + "&lang=en")
        assert f"Your information was added to dispute {dispute_id}." in page.text
        assert "2026-04-01: the tax was settled on 2026-03-30" in page.text
        files = {"file": ("缴款回执.png", PNG, "image/png")}
        r = rep.post(f"{page_path}/evidence", data={"csrf": csrf_of(page.text)}, files=files)
        assert (r.status_code, r.headers["location"]) == (303, f"{page_path}?added=1")
        for who in OTHERS:  # as for anyone else's dispute on the pages: as if it did not exist
            with signed_in(world, who) as other:
                assert other.get(page_path).status_code == 404
                token = csrf_of(other.get("/me/disputes").text)
                refused = other.post(f"{page_path}/information", data={"csrf": token, "from": "dispute", "text": "x"})
                assert refused.status_code == 404
                refused = other.post(f"{page_path}/withdraw", data={"csrf": token, "reason": ""})
                assert refused.status_code == 404
        page = rep.get(page_path)
        r = rep.post(f"{page_path}/withdraw", data={"csrf": csrf_of(page.text), "reason": "settled"})
        assert (r.status_code, r.headers["location"]) == (303, f"{page_path}?withdrawn=1")
    with world["service"].writer() as store:
        row = store.rows("SELECT status, retracted_by_representative FROM disputes WHERE dispute_id = ?", [dispute_id])[
            0
        ]
        assert row == {"status": "retracted", "retracted_by_representative": REP}
        assert store.one("SELECT representative_id FROM dispute_information WHERE dispute_id = ?", [dispute_id]) == REP
        assert store.one("SELECT representative_id FROM dispute_evidence WHERE dispute_id = ?", [dispute_id]) == REP


def test_a_representative_who_resigned_is_refused_the_next_step(world: dict[str, Any]) -> None:
    dispute_id = _file_for_org(world, "courts", "J9")  # disputed again after the withdrawal above
    added = _post(world, "rep", f"/v1/disputes/{dispute_id}/information", {"text": "before I resign"})
    assert added.status_code == 200, added.text
    # the registration authority records that the representative resigned yesterday
    resigned = [["R1", REP, "company_role", "2020-01-01", ORG, "legal_representative", "2020-01-01", "2026-03-31"]]
    path = write_csv(world["folder"] / "resigned.csv", [*ROLE, "correction"], [[*resigned[0], "true"]])
    with world["service"].writer() as store:
        report = ingest_file(store, path, "registration_authority", today=dt.date(2026, 4, 1))
    assert not report.errors, report.errors
    world["service"].changed()
    _refused_everything(world, "rep", dispute_id)
    with signed_in(world, "rep") as rep:
        assert rep.get(f"/me/disputes/{dispute_id}").status_code == 404


def test_the_notice_of_a_listing_taking_effect_names_the_organisation(tmp_path: Path) -> None:
    """A listing through an organisation, noticed by the run of 2026-01-20, takes effect by the daily job after the
    60 days' grace (no run since): its notice names the organisation, the role and the cause."""
    store = build_org_world(tmp_path, runs=(dt.date(2026, 1, 20),))
    try:
        activated = activate_due(store, dt.date(2026, 3, 21))
        assert len(activated) == 3  # the company on the dishonest list, its representative and its director
        rows = store.rows(
            "SELECT subject_id, text_en, text_zh FROM notifications WHERE kind = 'listing_effective' "
            "ORDER BY subject_id"
        )
    finally:
        store.close()
    told = {r["subject_id"]: (r["text_en"], r["text_zh"]) for r in rows}
    organisation_en = f"北京示例科技有限公司 (USCC {ORG}), which is a judgment defaulter"
    organisation_zh = f"北京示例科技有限公司（统一社会信用代码 {ORG}）的{{role}}，该单位为失信被执行人"
    for person, role_en, role_zh in ((REP, "legal representative", "法定代表人"), (DIRECTOR, "director", "董事")):
        assert told[person] == (
            "restriction on high spending (legal representative or principal officer of an organisation that is a "
            f"judgment defaulter: {role_en} of {organisation_en}): the notice period ended; you have been listed "
            "since 2026-03-21.",
            "限制高消费名单（失信被执行单位的法定代表人或主要负责人："
            + organisation_zh.format(role=role_zh)
            + "）：通知期已满，自 2026-03-21 起已被列入。",
        )
    # the company's own listing is not through a relation: its criterion alone
    assert told[ORG][0] == (
        "blacklist (judgment defaulter): the notice period ended; you have been listed since 2026-03-21."
    )


def test_the_command_line_withdraws_for_the_organisation_only_as_its_representative(tmp_path: Path) -> None:
    """``dispute withdraw --subject`` asks the same check: the current representative withdraws the organisation's
    dispute (kept as retracted_by_representative); a director or a former representative is told it is not found."""
    store = build_org_world(tmp_path, runs=(dt.date(2026, 1, 20),))
    try:
        filed = file_dispute(store, ORG, "courts", "J9", "paid", actor="test", representative_id=REP)
    finally:
        store.close()
    dispute_id = str(filed["dispute_id"])
    cli = Path(sys.executable).parent / "socialcredit"
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}
    env |= {"COLUMNS": "200", TODAY_ENV: TODAY}

    def withdraw(subject: str) -> subprocess.CompletedProcess[str]:
        args = [str(cli), "dispute", "withdraw", dispute_id, "--subject", subject, "--json"]
        return subprocess.run(
            [*args, "--db", str(tmp_path / "orgs.duckdb")], capture_output=True, text=True, env=env, timeout=120
        )

    for subject in (DIRECTOR, FORMER, STRANGER):
        refused = withdraw(subject)
        assert (refused.returncode, refused.stderr.strip().splitlines()[-1]) == (2, f"error: no dispute {dispute_id}")
    done = withdraw(REP)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert (out["status"], out["retracted_by_representative"]) == ("retracted", REP)
