"""Imports all or nothing: a bundle is checked whole against the catalog before one row is written, written in one
transaction, and a refused one leaves exactly one audit entry (region_import_refused) and nothing else, so the
corrected bundle with the same sequence, and the ones after it, still import."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from due_world import score_on_its_day
from socialcredit.catalog import load_catalog
from socialcredit.errors import BundleError
from socialcredit.example import AS_OF
from socialcredit.regions import exchange, export_bundle, import_bundle, linkage, set_region, trust_publisher, validate
from socialcredit.regions.bundle import load_private_key, new_private_key, public_key_text
from socialcredit.regions.generate import REGIONS, generate_regions
from socialcredit.registry.decisions.decide import decide
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.registry.reporting.report import subject_report
from socialcredit.registry.reporting.resident_file import export_file
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import score
from socialcredit.store import Store, open_store
from test_regions import _reseal, region_policy

CLI = shutil.which("socialcredit", path=str(Path(sys.executable).parent)) or "socialcredit"
TABLES = ("region_imports", "region_records", "records", "region_identities", "region_list_entries")
BEIJING, TIANJIN = "110000", "120000"


@pytest.fixture(autouse=True)
def _on_the_day_the_listing_takes_effect(monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry's clock on 2026-12-31, the day Beijing's listing takes effect: the runs of that day are in force
    (a run dated after today is a what-if, not in force: docs/due-process.md)."""
    monkeypatch.setenv("SOCIALCREDIT_TODAY", "2026-12-31")


@pytest.fixture(scope="module")
def border(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Beijing with its first bundle, and Tianjin as it stands before any import (a store file copied per test)."""
    folder = tmp_path_factory.mktemp("border")
    summary = generate_regions(folder / "data", residents=60, movers=6, seed=5)
    keys: dict[str, Path] = {}
    for code in (BEIJING, TIANJIN):
        keys[code] = folder / f"{code}.key"
        keys[code].write_bytes(new_private_key())
        keys[code].chmod(0o600)  # a private key file is its owner's only (as `region keygen` writes it)
    for code in (BEIJING, TIANJIN):
        region = REGIONS[code]
        with open_store(folder / f"{code}.duckdb", create=True, key="") as store:
            set_region(store, code, region.name_en)
            data = folder / "data" / code
            ingest_file(store, data / "subjects.csv", "civil_affairs", today=AS_OF)
            for source in ("tax_bureau", "courts"):
                ingest_file(store, data / "records" / f"{source}.csv", source, today=AS_OF)
            policy = folder / f"{region.name_en.lower()}.yaml"
            policy.write_text(region_policy(code), encoding="utf-8")
            score_on_its_day(store, resolve_policy(store, str(policy)), AS_OF)
            other = TIANJIN if code == BEIJING else BEIJING
            trust_publisher(store, other, REGIONS[other].name_en, public_key_text(load_private_key(keys[other])))
            if code == BEIJING:
                # its defaulters' listings in effect (60 days' grace): a bundle blacklists no one in notice
                effective = AS_OF + dt.timedelta(days=60)
                score(store, resolve_policy(store, str(policy)), effective, today=effective)
                export_bundle(store, "beijing", keys[code], folder / "beijing-1.json")
    yield {"folder": folder, "keys": keys, "movers": summary.movers, "bundle": folder / "beijing-1.json"}


def _copy_tianjin(folder: Path, to: Path, name: str = TIANJIN) -> Path:
    """Tianjin's store in ``folder`` copied into ``to`` as ``name``.duckdb (with its checkpoints beside it); returns
    the copy's path."""
    for item in folder.glob(f"{TIANJIN}.duckdb*"):
        (shutil.copytree if item.is_dir() else shutil.copy2)(item, to / item.name.replace(TIANJIN, name, 1))
    return to / f"{name}.duckdb"


@pytest.fixture(scope="module")
def imported(border: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with Tianjin's store after Beijing's first bundle, imported on the registry's 2026-12-31."""
    folder = tmp_path_factory.mktemp("imported")
    _copy_tianjin(border["folder"], folder)
    with pytest.MonkeyPatch.context() as mp, open_store(folder / f"{TIANJIN}.duckdb", key="") as store:
        mp.setenv("SOCIALCREDIT_TODAY", "2026-12-31")  # as _on_the_day_the_listing_takes_effect sets it for a test
        import_bundle(store, border["bundle"])
    return folder


# A test so marked has Tianjin's store after Beijing's first bundle (the imported fixture), not before it.
AFTER_THE_FIRST_BUNDLE = pytest.mark.parametrize("tianjin", ["after the first bundle"], indirect=True)


@pytest.fixture
def tianjin(border: dict[str, Any], tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Store]:
    """A fresh copy of Tianjin's store (with its checkpoints beside it): as it stands before any import, or after
    Beijing's first bundle (AFTER_THE_FIRST_BUNDLE)."""
    after = getattr(request, "param", None) == "after the first bundle"
    _copy_tianjin(request.getfixturevalue("imported") if after else border["folder"], tmp_path)
    with open_store(tmp_path / f"{TIANJIN}.duckdb", key="") as store:
        yield store


def _beijing_key(border: dict[str, Any]) -> Any:
    return load_private_key(border["keys"][BEIJING])


def _bundle(border: dict[str, Any], out: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    """Beijing's first bundle changed by ``change`` and signed again with Beijing's key (as its software would)."""
    out.write_bytes(_reseal(border["bundle"].read_bytes(), change, _beijing_key(border)))
    return out


def _counts(store: Store) -> dict[str, int]:
    return {t: int(store.one(f"SELECT count(*) FROM {t}")) for t in TABLES}


def _audit(store: Store) -> list[tuple[str, dict[str, Any]]]:
    return [
        (r["action"], json.loads(r["detail"])) for r in store.rows("SELECT action, detail FROM audit_log ORDER BY seq")
    ]


def _judgment(payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The first court judgment of a defaulter in the payload, and its place in ``records``."""
    return next((i, r) for i, r in enumerate(payload["records"]) if r["fields"].get("defaulter") is True)


def _refused(store: Store, path: Path, message: str) -> dict[str, Any]:
    """Import ``path``, expect ``message``, and prove nothing but one audit entry was written; returns its detail."""
    before, audit = _counts(store), _audit(store)
    with pytest.raises(BundleError) as exc:
        import_bundle(store, path)
    assert str(exc.value) == message
    assert _counts(store) == before
    after = _audit(store)
    assert after[: len(audit)] == audit and len(after) == len(audit) + 1
    action, detail = after[-1]
    assert action == "region_import_refused" and detail["message"] == message and detail["file"] == path.name
    return detail


def _set_field(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(payload: dict[str, Any]) -> None:
        _judgment(payload)[1]["fields"][name] = value

    return change


def _at(border: dict[str, Any]) -> int:
    return _judgment(json.loads(_payload_text(border)))[0]


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (_set_field("amount", "lots"), "fields.amount 'lots' is not a number (court_judgment.amount is a number)"),
        (
            _set_field("defaulter", "maybe"),
            "fields.defaulter 'maybe' is not true or false (court_judgment.defaulter is a boolean)",
        ),
        (
            lambda p: _judgment(p)[1].update(record_type="no_such_type"),
            "record_type 'no_such_type' is not a record type of the catalog",
        ),
        (lambda p: _judgment(p)[1].update(version="x"), "version 'x' is not a whole number from 1 to 2147483647"),
        (
            _set_field("status", "pending"),
            "fields.status 'pending' is not allowed (court_judgment.status is one of: fulfilled, unfulfilled)",
        ),
        (_set_field("amount", -3), "fields.amount -3 is below the minimum 0 of court_judgment.amount"),
        (
            _set_field("amount", 1e308),
            "fields.amount 1e+308 is out of range: a number has at most 15 digits before its point",
        ),
        (
            _set_field("amount", 10**15),
            "fields.amount 1000000000000000 is out of range: a number has at most 15 digits before its point",
        ),
        (
            _set_field("judge", "Bao"),
            "fields.judge is not a field of court_judgment (its fields: case_type, amount, status, defaulter)",
        ),
        (lambda p: _judgment(p)[1]["fields"].pop("status"), "fields has no status (court_judgment.status is required)"),
        (lambda p: _judgment(p)[1].update(withdrawn="no"), "withdrawn 'no' is not true or false"),
        (lambda p: _judgment(p)[1].update(event_date="15/03/2026"), "event_date '15/03/2026' is not a date"),
        (
            lambda p: _judgment(p)[1].update(event_date="1899-12-31"),
            "event_date '1899-12-31' is before 1900-01-01, the earliest date",
        ),
        (
            lambda p: _judgment(p)[1].update(source_id="tax_bureau"),
            "record_type 'court_judgment': source tax_bureau may not send it (it sends: tax_payment)",
        ),
    ],
    ids=[
        "amount-lots",
        "defaulter-maybe",
        "no-such-type",
        "version-x",
        "not-allowed",
        "below-minimum",
        "amount-1e308",
        "amount-10-to-the-15",
        "unknown-field",
        "required-missing",
        "withdrawn-no",
        "event-date",
        "too-early",
        "source-may-not-send",
    ],
)
def test_a_bad_record_is_refused_whole_and_the_corrected_bundle_imports(
    border: dict[str, Any], tianjin: Store, tmp_path: Path, change: Callable[[dict[str, Any]], None], rule: str
) -> None:
    bad = _bundle(border, tmp_path / "beijing-1-bad.json", change)
    detail = _refused(tianjin, bad, f"malformed: records[{_at(border)}].{rule}")
    # a date that is no date at all is refused as the payload is opened, before its sequence is taken as known
    assert (detail["publisher"], detail["sequence"]) == (BEIJING, None if "15/03/2026" in rule else 1)
    assert detail["file_sha256"] == hashlib.sha256(bad.read_bytes()).hexdigest()
    # Nothing of the refused bundle was kept: the correct one, with the same sequence, imports (no `replayed`) ...
    good = import_bundle(tianjin, border["bundle"])
    assert (good.sequence, good.records) == (1, len(json.loads(_payload_text(border))["records"]))
    assert good.applied_records >= 1
    # ... and the next one is not blocked.
    second = _bundle(border, tmp_path / "beijing-2.json", lambda p: p.update(sequence=2, records=[]))
    assert import_bundle(tianjin, second).sequence == 2
    assert [a for a, _ in _audit(tianjin)].count("region_import") == 2


def _payload_text(border: dict[str, Any]) -> str:
    return base64.b64decode(json.loads(border["bundle"].read_bytes())["payload"]).decode()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda p: p["list_entries"][0].update(kind="purple"),
            "malformed: list_entries[0].kind 'purple' is not black or red",
        ),
        (
            lambda p: p["list_entries"][0].update(reason_en=""),
            "malformed: list_entries[0].reason_en must be a non-empty text",
        ),
        (lambda p: p["identities"][0].update(sex="X"), "malformed: identities[0].sex 'X' is not M or F"),
        (
            lambda p: p["identities"][0].update(birth_date="19800304"),
            "malformed: identities[0].birth_date '19800304' is not a date",
        ),
        (lambda p: p.update(lists_as_of="yesterday"), "malformed: lists_as_of 'yesterday' is not a date"),
        (
            lambda p: p["records"].append(dict(p["records"][0])),
            "malformed: records[{n}] repeats version {v} of {sid}",
        ),
    ],
    ids=["kind-purple", "reason-empty", "sex", "birth-date", "lists-as-of", "repeated-version"],
)
def test_bad_list_entries_and_identities_are_refused(
    border: dict[str, Any], tianjin: Store, tmp_path: Path, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    payload = json.loads(_payload_text(border))
    assert payload["list_entries"], "Beijing's bundle lists its defaulters"
    first = payload["records"][0]
    message = message.format(
        n=len(payload["records"]), v=first["version"], sid=f"{first['source_id']}/{first['record_id']} (records[0])"
    )
    _refused(tianjin, _bundle(border, tmp_path / "bad.json", change), message)
    assert import_bundle(tianjin, border["bundle"]).sequence == 1


def test_the_earliest_event_date_is_ingest_s() -> None:
    from socialcredit.registry.records import limits

    assert validate.MIN_EVENT_DATE == limits.MIN_EVENT_DATE


@pytest.mark.parametrize("amount", [10**15 - 1, 10**15, 1e15])
def test_a_number_of_a_bundle_is_bounded_as_ingest_bounds_it(amount: float) -> None:
    """The bound is ingest's own (limits.MAX_NUMBER), not a copy of it: 15 digits before the point."""
    from socialcredit.registry.records import limits

    assert validate.MAX_NUMBER is limits.MAX_NUMBER
    record = {
        "subject_id": "S",
        "source_id": "courts",
        "record_id": "J1",
        "version": 1,
        "withdrawn": False,
        "record_type": "court_judgment",
        "event_date": "2026-03-15",
        "fields": {"case_type": "civil", "status": "fulfilled", "defaulter": False, "amount": amount},
    }
    payload = {"identities": [], "records": [record], "list_entries": []}
    if abs(amount) < limits.MAX_NUMBER:
        validate.check_payload(payload)
        return
    with pytest.raises(BundleError) as info:
        validate.check_payload(payload)
    assert str(info.value) == (
        f"malformed: records[0].fields.amount {amount!r} is out of range: a number has at most 15 digits before its "
        "point"
    )


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x85", "\u202a", "\u202e", "\u2066", "\u2069"])
def test_an_id_or_a_name_with_a_control_character_or_a_bidi_control_is_refused(char: str) -> None:
    """Ids refused control characters but not bidirectional controls (U+202A-U+202E, U+2066-U+2069), which reorder
    what follows them on a page ("Trojan Source"), and an identity's name, shown beside a subject here for review,
    refused neither (until 2026-12-05). The registry's ingest refuses both in a record id and a name."""
    record = {
        "subject_id": "S",
        "source_id": "courts",
        "record_id": "J1",
        "version": 1,
        "withdrawn": False,
        "record_type": "court_judgment",
        "event_date": "2026-03-15",
        "fields": {"case_type": "civil", "status": "fulfilled", "defaulter": False, "amount": 100},
    }
    identity = {"subject_id": "S", "name": "李四", "sex": "M", "birth_date": None, "phone": None, "address": None}
    entry = {
        "subject_id": "S",
        "list_id": "blacklist",
        "kind": "black",
        "criterion_id": "c",
        "reason_en": "r",
        "reason_zh": "r",
        "record_id": "J1",
    }
    validate.check_payload(
        {"identities": [identity], "records": [record], "list_entries": [entry], "lists_as_of": "2026-12-01"}
    )
    code = f"U+{ord(char):04X}"
    for section, item, field, value, rule in (
        ("records", record, "record_id", f"J{char}1", "an identifier"),
        ("records", record, "subject_id", f"S{char}", "an identifier"),
        ("identities", identity, "subject_id", f"S{char}", "an identifier"),
        ("identities", identity, "name", f"李{char}四", "a name"),
        ("list_entries", entry, "criterion_id", f"c{char}", "an identifier"),
        ("list_entries", entry, "record_id", f"{char}J1", "an identifier"),
        # a list entry's reasons become an import alert's evidence, shown on /ops/cases and by `region alerts`
        ("list_entries", entry, "reason_en", f"judgment{char} defaulter", "a reason"),
        ("list_entries", entry, "reason_zh", f"失信{char}被执行人", "a reason"),
    ):
        payload = {"identities": [identity], "records": [record], "list_entries": [entry], "lists_as_of": "2026-12-01"}
        payload[section] = [{**item, field: value}]
        with pytest.raises(BundleError) as info:
            validate.check_payload(payload)
        assert str(info.value) == (
            f"malformed: {section}[0].{field} {value!r} has a control character ({code}); {rule} is printable text"
        )


@pytest.mark.parametrize("value", ["\u3000", " \u3000 ", "\u3000\u3000"])
def test_a_record_id_of_spaces_only_is_refused_before_it_is_folded_to_nothing(value: str) -> None:
    """A record id is stored folded (full-width forms as ASCII, spaces at its ends dropped), as the region's own
    ingest stores it: an id of ideographic spaces passed the check as a non-empty text and was stored empty."""
    record = {
        "subject_id": "S",
        "source_id": "courts",
        "record_id": "J1",
        "version": 1,
        "withdrawn": False,
        "record_type": "court_judgment",
        "event_date": "2026-03-15",
        "fields": {"case_type": "civil", "status": "fulfilled", "defaulter": False, "amount": 100},
    }
    entry = {
        "subject_id": "S",
        "list_id": "blacklist",
        "kind": "black",
        "criterion_id": "c",
        "reason_en": "r",
        "reason_zh": "r",
        "record_id": "J1",
    }
    for section, item in (("records", record), ("list_entries", entry)):
        payload = {"identities": [], "records": [record], "list_entries": [entry], "lists_as_of": "2026-12-01"}
        payload[section] = [{**item, "record_id": value}]
        with pytest.raises(BundleError) as info:
            validate.check_payload(payload)
        assert str(info.value) == (
            f"malformed: {section}[0].record_id {value!r} is only spaces; a record id must be a non-empty text"
        )


def test_a_text_over_the_field_limit_is_refused(border: dict[str, Any], tianjin: Store, tmp_path: Path) -> None:
    long = "x" * (64 * 1024 + 1)
    _refused(
        tianjin,
        _bundle(border, tmp_path / "long.json", lambda p: p["identities"][0].update(address=long)),
        "malformed: identities[0].address is 65537 bytes long; a text may be at most 65536 "
        "(SOCIALCREDIT_MAX_FIELD_BYTES)",
    )


@AFTER_THE_FIRST_BUNDLE
def test_a_refused_no_such_type_bundle_leaves_the_defaulter_blacklisted(
    border: dict[str, Any], tianjin: Store, tmp_path: Path
) -> None:
    mover = border["movers"][0]
    assert mover["defaulter"] == "true" and (mover["from"], mover["to"]) == (BEIJING, TIANJIN)
    # Beijing's listing was noticed on AS_OF with 60 days' grace; Tianjin's keeps its dates (test_region_due_process)
    effective = AS_OF + dt.timedelta(days=60)
    score_on_its_day(tianjin, resolve_policy(tianjin, "tianjin"), effective)
    refused = decide(tianjin, mover["subject_id_to"], "high_speed_rail", "ticket purchase")
    assert not refused.granted and refused.reasons[0].code == "LIST_JUDGMENT_DEFAULTER"
    payload = json.loads(_payload_text(border))
    theirs = next(r for r in payload["records"] if r["subject_id"] == mover["subject_id_from"])

    def replace_judgment(p: dict[str, Any]) -> None:
        p["sequence"] = 2
        p["records"] = [{**theirs, "version": theirs["version"] + 1, "record_type": "no_such_type"}]

    _refused(
        tianjin,
        _bundle(border, tmp_path / "beijing-2.json", replace_judgment),
        "malformed: records[0].record_type 'no_such_type' is not a record type of the catalog",
    )
    score_on_its_day(tianjin, resolve_policy(tianjin, "tianjin"), effective)
    again = decide(tianjin, mover["subject_id_to"], "high_speed_rail", "ticket purchase")
    assert not again.granted and again.reasons[0].code == "LIST_JUDGMENT_DEFAULTER"


def test_a_failure_after_the_links_rolls_the_whole_import_back(
    border: dict[str, Any], tianjin: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The half-import of the issue: a failure while applying, after identities, records and links are written."""
    applied: list[int] = []
    real = exchange._apply_records

    def apply_then_fail(store: Store, origin: str | None = None, identity_id: int | None = None) -> int:
        applied.append(real(store, origin, identity_id))
        raise RuntimeError("Conversion Error: Could not convert string 'lots' to DOUBLE")

    monkeypatch.setattr(exchange, "_apply_records", apply_then_fail)
    received = tianjin.path.parent / f"{tianjin.path.name}.checkpoints" / f"received-{BEIJING}.jsonl"
    before, audit = _counts(tianjin), _audit(tianjin)
    with pytest.raises(RuntimeError):
        import_bundle(tianjin, border["bundle"])
    assert applied and applied[0] >= 1  # it got that far
    assert _counts(tianjin) == before
    assert tianjin.one("SELECT count(*) FROM region_identities WHERE status IN ('linked', 'exact')") == 0
    assert _audit(tianjin)[len(audit) :] == [
        (
            "region_import_refused",
            {
                "file": border["bundle"].name,
                "file_sha256": hashlib.sha256(border["bundle"].read_bytes()).hexdigest(),
                "publisher": BEIJING,
                "sequence": 1,
                "message": "internal error (RuntimeError)",
            },
        )
    ]
    assert not received.exists()  # the publisher's checkpoint is kept only with a committed import
    monkeypatch.undo()
    summary = import_bundle(tianjin, border["bundle"])
    assert summary.applied_records == applied[0]
    assert received.exists()


IDENTITIES = (
    "SELECT identity_id, origin_subject_id, status, subject_id, candidate_id, probability, evidence "
    "FROM region_identities ORDER BY identity_id"
)


def test_an_import_trains_splink_once_for_the_same_identities_and_never_without_a_pair_to_score(
    border: dict[str, Any], tianjin: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beijing's first bundle imported into two copies of Tianjin trains Splink once in the process and links alike;
    the next bundle (no records) tries again only the persons left unmatched, none with a pair meeting a blocking
    rule: it trains nothing, scores nothing, and leaves them unmatched, as Splink trained on them would."""
    trained: list[int] = []
    calls: list[tuple[Any, ...]] = []
    real_train, real_link = linkage.train, linkage.link_identities

    def counted(*args: Any, **kwargs: Any) -> Any:
        trained.append(len(trained) + 1)
        return real_train(*args, **kwargs)

    def seen(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real_link(*args, **kwargs)

    monkeypatch.setattr(linkage, "train", counted)
    monkeypatch.setattr(linkage, "link_identities", seen)
    monkeypatch.setattr(linkage, "_KEPT", OrderedDict(), raising=False)  # nothing linked before in this process
    first = import_bundle(tianjin, border["bundle"])
    assert first.linked + first.review >= 1 and first.unmatched >= 1
    assert len(trained) == 1
    (tmp_path / "again").mkdir()
    with open_store(_copy_tianjin(border["folder"], tmp_path / "again"), key="") as again:
        assert import_bundle(again, border["bundle"]) == first
        assert len(trained) == 1  # the same identities against the same residents
        assert len(calls) == 1
        assert again.execute(IDENTITIES).fetchall() == tianjin.execute(IDENTITIES).fetchall()

    before = tianjin.execute(IDENTITIES).fetchall()
    second = import_bundle(tianjin, _bundle(border, tmp_path / "b2.json", lambda p: p.update(sequence=2, records=[])))
    assert (second.retried, second.still_unmatched, second.linked, second.review) == (first.unmatched,) * 2 + (0, 0)
    assert len(trained) == 1  # tried, not trained
    assert len(calls) == 2
    assert [r[:3] for r in tianjin.execute(IDENTITIES).fetchall()] == [r[:3] for r in before]
    incoming, subjects, options = calls[1]
    assert incoming.num_rows == first.unmatched and options.skip_without_pairs
    trained_anyway = real_link(incoming, subjects, replace(options, skip_without_pairs=False))
    assert len(trained) == 2 and trained_anyway.pairs_scored == 0 and trained_anyway.table.num_rows == 0


def test_refusals_before_the_payload_is_opened_are_audited_too(
    border: dict[str, Any], tianjin: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"[" * 100_000)  # nested deeper than a JSON decoder goes: refused, not a RecursionError
    detail = _refused(tianjin, garbage, "not a bundle: the file is not JSON text")
    assert (detail["publisher"], detail["sequence"]) == (None, None)
    tampered = tmp_path / "tampered.json"
    tampered.write_bytes(_reseal(border["bundle"].read_bytes(), _set_field("status", "fulfilled")))
    detail = _refused(
        tianjin,
        tampered,
        f"tampered: the signature does not verify with Beijing's key "
        f"{exchange.fingerprint(public_key_text(_beijing_key(border)))}; the bundle was changed after it was signed",
    )
    assert (detail["publisher"], detail["sequence"]) == (BEIJING, None)
    monkeypatch.setattr(validate, "MAX_BUNDLE_BYTES", 1000)
    size = border["bundle"].stat().st_size
    _refused(
        tianjin,
        border["bundle"],
        f"not a bundle: beijing-1.json is {size} bytes; a bundle may be at most 1000 bytes (ask the publisher to "
        "export more often)",
    )
    monkeypatch.undo()
    import_bundle(tianjin, border["bundle"])
    when = tianjin.one("SELECT imported_at FROM region_imports")
    _refused(
        tianjin,
        border["bundle"],
        f"replayed: bundle 110000#1 from Beijing was already imported on {when:%Y-%m-%d %H:%M}; a bundle is imported "
        "once",
    )


@AFTER_THE_FIRST_BUNDLE
def test_a_new_version_may_not_change_its_record_type(border: dict[str, Any], tianjin: Store) -> None:
    """With the shipped catalog a source sends one type (caught as `may not send`); the rule holds for any catalog."""
    cat = load_catalog()
    both = cat.model_copy(
        update={
            "sources": {
                **cat.sources,
                "courts": cat.sources["courts"].model_copy(update={"record_types": ["court_judgment", "tax_payment"]}),
            }
        }
    )
    payload = json.loads(_payload_text(border))
    i, record = _judgment(payload)
    payload["records"].append(
        {
            **record,
            "version": record["version"] + 1,
            "record_type": "tax_payment",
            "fields": {"amount": 1, "status": "paid"},
        }
    )
    n = len(payload["records"]) - 1
    with pytest.raises(BundleError) as exc:
        validate.check_payload(payload, both)
    assert str(exc.value) == (
        f"malformed: records[{n}].record_type 'tax_payment': courts/{record['record_id']} is a court_judgment in "
        f"records[{i}]; a new version may not change its record type"
    )
    later = [{**record, "version": record["version"] + 1, "record_type": "tax_payment"}]
    with pytest.raises(BundleError) as exc:
        validate.check_record_types(tianjin, BEIJING, "Beijing", later)
    assert str(exc.value) == (
        f"malformed: records[0].record_type 'tax_payment': courts/{record['record_id']} from Beijing is a "
        f"court_judgment here (version {record['version']}); a new version may not change its record type"
    )
    validate.check_record_types(tianjin, BEIJING, "Beijing", [{**record, "version": record["version"] + 1}])


def test_a_version_older_than_the_one_applied_does_not_bring_the_record_back(
    border: dict[str, Any], tianjin: Store, tmp_path: Path
) -> None:
    """The origin's version numbers order a record's versions, not the order its bundles arrive in: a withdrawal
    (version 2) that comes before the record (version 1) leaves the record withdrawn."""
    mover = border["movers"][0]
    record = next(
        r for r in json.loads(_payload_text(border))["records"] if r["subject_id"] == mover["subject_id_from"]
    )
    here = f"{BEIJING}/{record['record_id']}"

    def only(version: int, withdrawn: bool, sequence: int) -> Callable[[dict[str, Any]], None]:
        def change(p: dict[str, Any]) -> None:
            same = [r for r in p["records"] if r["record_id"] == record["record_id"]]
            p.update(sequence=sequence, records=[{**same[0], "version": version, "withdrawn": withdrawn}])

        return change

    def versions() -> list[tuple[int, bool]]:
        q = "SELECT version, withdrawn FROM records WHERE record_id = ? ORDER BY version"
        return [(int(v), bool(w)) for v, w in tianjin.execute(q, [here]).fetchall()]

    assert import_bundle(tianjin, _bundle(border, tmp_path / "b1.json", only(2, True, 1))).applied_records >= 1
    assert versions() == [(1, True)]
    assert import_bundle(tianjin, _bundle(border, tmp_path / "b2.json", only(1, False, 2))).applied_records == 0
    assert versions() == [(1, True)]
    stale = [d for a, d in _audit(tianjin) if a == "region_record_stale"]
    assert [(d["record_id"], d["version"], d["applied_version"]) for d in stale] == [(f"courts/{here}", 1, 2)]
    decision = decide(tianjin, mover["subject_id_to"], "high_speed_rail", "ticket purchase")
    assert decision.granted
    # a newer version is applied as before
    assert import_bundle(tianjin, _bundle(border, tmp_path / "b4.json", only(3, False, 3))).applied_records == 1
    assert versions() == [(1, True), (2, False)]


def test_a_link_never_makes_two_people_of_one_region_one_person_here(
    border: dict[str, Any], tianjin: Store, tmp_path: Path
) -> None:
    """Beijing names a Tianjin resident by their own number and, as another person, by that number with two digits
    swapped: the first links exactly; the second, which Splink alone would also link to them, waits for review."""
    movers = {m["subject_id_to"] for m in border["movers"]}
    resident = next(
        r
        for r in tianjin.rows("SELECT * FROM current_subjects WHERE kind = 'person' ORDER BY subject_id")
        if r["subject_id"] not in movers
    )
    own = resident["subject_id"]
    swapped = own[:14] + own[15] + own[14] + own[16:]
    assert swapped != own and not tianjin.one("SELECT count(*) FROM subject_keys WHERE subject_id = ?", [swapped])

    def two(p: dict[str, Any]) -> None:
        person = {k: resident[k] for k in ("name", "sex", "phone", "address")}
        born = resident["birth_date"].isoformat()
        p["identities"] += [{"subject_id": s, **person, "birth_date": born} for s in (own, swapped)]

    summary = import_bundle(tianjin, _bundle(border, tmp_path / "two.json", two))
    rows = tianjin.rows(
        "SELECT origin_subject_id, status, subject_id, candidate_id FROM region_identities "
        "WHERE origin_subject_id IN (?, ?) ORDER BY identity_id",
        [own, swapped],
    )
    assert [(r["origin_subject_id"], r["status"], r["subject_id"], r["candidate_id"]) for r in rows] == [
        (own, "exact", own, None),
        (swapped, "review", None, own),
    ]
    assert summary.review >= 1
    held = [d for a, d in _audit(tianjin) if a == "region_link_held_for_review"]
    exact_id = tianjin.one("SELECT identity_id FROM region_identities WHERE origin_subject_id = ?", [own])
    assert [(d["origin_subject_id"], d["also_linked"], d["reason"]) for d in held] == [
        (
            swapped,
            [exact_id],
            f"the subject is linked to another person of region {BEIJING} too (identity {exact_id}); two people "
            "there are not one here",
        )
    ]
    assert not [d for a, d in _audit(tianjin) if a == "region_link" and d["origin_subject_id"] == swapped]


def test_region_import_of_a_refused_bundle_exits_2_with_its_message(border: dict[str, Any], tmp_path: Path) -> None:
    db = _copy_tianjin(border["folder"], tmp_path, "tianjin")
    bad = _bundle(border, tmp_path / "beijing-1.json", _set_field("amount", "lots"))
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}

    def run(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CLI, "region", "import", str(path), "--db", str(db)],
            capture_output=True,
            text=True,
            env=env | {"COLUMNS": "200"},
            timeout=120,
            check=False,
        )

    proc = run(bad)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip() == (
        f"error: malformed: records[{_at(border)}].fields.amount 'lots' is not a number (court_judgment.amount is a "
        "number)"
    )
    ok = run(border["bundle"])
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("Imported bundle 110000#1: ")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=4,
)
GOOD = {
    "case_type": st.sampled_from(["civil", "commercial", "administrative", "criminal"]),
    "amount": st.floats(min_value=0, max_value=1e12) | st.integers(0, 10**12),
    "status": st.sampled_from(["fulfilled", "unfulfilled"]),
    "defaulter": st.booleans(),
}
PYTHON_TYPES = {"string": str, "number": float, "boolean": bool}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_property_any_field_values_are_applied_with_their_types_or_refused_whole(
    border: dict[str, Any], tianjin: Store, tmp_path: Path, data: st.DataObject
) -> None:
    """Field values drawn from arbitrary JSON: accepted and applied with the catalog's types, or refused with
    `malformed:` and nothing but the audit log changed (the subject is Tianjin's own: linked by the same number)."""
    subject = tianjin.one("SELECT subject_id FROM current_subjects WHERE kind = 'person' ORDER BY 1 LIMIT 1")
    sequence = int(tianjin.one("SELECT coalesce(max(sequence), 0) FROM region_imports")) + 1
    # each value is one of its field's (four times in five) or any JSON value; now and then a key of no field
    fields = {n: data.draw(JSON if data.draw(st.integers(0, 4)) == 0 else GOOD[n], label=n) for n in GOOD}
    if data.draw(st.booleans(), label="no amount"):
        del fields["amount"]
    if data.draw(st.integers(0, 4), label="extra") == 0:
        fields |= data.draw(st.dictionaries(st.text(max_size=6), JSON, min_size=1, max_size=1), label="extra")
    record_id = f"H{sequence}"

    def change(p: dict[str, Any]) -> None:
        p["sequence"] = sequence
        p["identities"] = [{**p["identities"][0], "subject_id": subject}]
        p["records"] = [
            {
                **p["records"][0],
                "subject_id": subject,
                "record_id": record_id,
                "version": 1,
                "record_type": "court_judgment",
                "source_id": "courts",
                "withdrawn": False,
                "fields": fields,
            }
        ]
        p["list_entries"] = []

    path = _bundle(border, tmp_path / f"h-{sequence}.json", change)
    before, audit = _counts(tianjin), len(_audit(tianjin))
    try:
        summary = import_bundle(tianjin, path)
    except BundleError as exc:
        event("refused")
        assert str(exc).startswith("malformed: records[0].fields"), str(exc)
        assert _counts(tianjin) == before and len(_audit(tianjin)) == audit + 1
        return
    event("accepted")
    assert summary.applied_records == 1
    row = tianjin.rows("SELECT * FROM records WHERE record_id = ?", [f"{BEIJING}/{record_id}"])[0]
    for name, spec in load_catalog().record_types["court_judgment"].fields.items():
        value = row[name]
        sent = fields.get(name)
        if sent is None:
            assert value is None
            continue
        assert isinstance(value, PYTHON_TYPES[spec.type]), (name, value)
        assert value == sent and (spec.type != "number" or math.isfinite(value))


def test_show_and_the_file_export_survive_a_record_type_the_catalog_lacks(tianjin: Store) -> None:
    """Belt and braces: no import writes such a row now, but one written before is shown without its fields."""
    subject = tianjin.one("SELECT subject_id FROM records WHERE record_type = 'court_judgment' LIMIT 1")
    with tianjin.transaction():
        key = tianjin.take_ids("seq", 1)
        tianjin.execute(
            "INSERT INTO records BY NAME SELECT * REPLACE (? AS record_key, 'no_such_type' AS record_type, "
            "record_id || '-x' AS record_id) FROM records WHERE subject_id = ? AND record_type = 'court_judgment' "
            "LIMIT 1",
            [key, subject],
        )
    report = subject_report(tianjin, subject)
    odd = [r for r in report["records"] if r["record_type"] == "no_such_type"]
    assert len(odd) == 1 and odd[0]["fields"] == {}
    exported = export_file(tianjin, subject)
    assert any(r["record_type"] == "no_such_type" for r in exported["records"])


def test_a_version_sent_again_under_a_new_sequence_is_a_duplicate_and_changes_nothing(
    border: dict[str, Any], tianjin: Store, tmp_path: Path
) -> None:
    """Beijing sends its first bundle's records again as bundle #2: no new version, no notice, counted as duplicates;
    the same version with other content is refused whole (a changed record is a new version)."""
    first = import_bundle(tianjin, border["bundle"])
    assert first.applied_records >= 1 and first.duplicates == 0

    def snapshot() -> tuple[Any, ...]:
        return (
            tianjin.execute(
                "SELECT source_id, record_id, version, withdrawn FROM records WHERE origin_region IS NOT NULL "
                "ORDER BY 1, 2, 3"
            ).fetchall(),
            int(tianjin.one("SELECT count(*) FROM notifications")),
            int(tianjin.one("SELECT count(*) FROM region_records")),
        )

    before = snapshot()
    n = len(json.loads(_payload_text(border))["records"])
    again = import_bundle(tianjin, _bundle(border, tmp_path / "b2.json", lambda p: p.update(sequence=2)))
    assert (again.records, again.duplicates, again.applied_records) == (n, n, 0)
    assert snapshot() == before
    assert [d.get("duplicates") for a, d in _audit(tianjin) if a == "region_import"] == [None, n]

    # The same version with other content is no duplicate: it is imported as any version is.
    mover = border["movers"][0]
    at, record = next(
        (i, r)
        for i, r in enumerate(json.loads(_payload_text(border))["records"])
        if r["subject_id"] == mover["subject_id_from"]
    )

    def changed(p: dict[str, Any]) -> None:
        p["sequence"] = 3
        p["records"][at]["fields"]["amount"] = record["fields"]["amount"] + 1

    other = import_bundle(tianjin, _bundle(border, tmp_path / "b3.json", changed))
    assert (other.duplicates, other.applied_records) == (n - 1, 1)
    here = f"{BEIJING}/{record['record_id']}"
    assert tianjin.execute(
        "SELECT version, amount FROM records WHERE record_id = ? ORDER BY version", [here]
    ).fetchall() == [(1, record["fields"]["amount"]), (2, record["fields"]["amount"] + 1)]


def test_the_summary_counts_what_this_import_did_not_every_identity_tried_again(
    border: dict[str, Any], tmp_path: Path
) -> None:
    """Persons left unmatched by bundle #1 are tried again by #2 and #3: they are counted as tried again (and still
    unmatched), not as unmatched anew; only a person first named by #3 is unmatched there."""
    db = _copy_tianjin(border["folder"], tmp_path, "tianjin")
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}

    def run(path: Path) -> dict[str, Any]:
        proc = subprocess.run(
            [CLI, "region", "import", str(path), "--db", str(db), "--json"],
            capture_output=True,
            text=True,
            env=env | {"COLUMNS": "200"},
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        summary: dict[str, Any] = json.loads(proc.stdout)
        return summary

    first = run(border["bundle"])
    with open_store(db, key="") as store:
        unmatched = int(store.one("SELECT count(*) FROM region_identities WHERE status = 'unmatched'"))
    assert unmatched > 0
    assert (first["unmatched"], first["retried"], first["still_unmatched"]) == (unmatched, 0, 0)

    def empty(p: dict[str, Any]) -> None:
        p.update(sequence=2, records=[], identities=[])

    second = run(_bundle(border, tmp_path / "b2.json", empty))
    assert {k: second[k] for k in ("exact", "linked", "review", "unmatched", "retried", "still_unmatched")} == {
        "exact": 0,
        "linked": 0,
        "review": 0,
        "unmatched": 0,
        "retried": unmatched,
        "still_unmatched": unmatched,
    }
    stranger = {
        "subject_id": "110101190001010012",
        "name": "欧阳无名",
        "sex": "M",
        "birth_date": "1900-01-01",
        "phone": None,
        "address": "北京市",
    }

    def one_stranger(p: dict[str, Any]) -> None:
        p.update(sequence=3, records=[], identities=[stranger])

    third = subprocess.run(
        [CLI, "region", "import", str(_bundle(border, tmp_path / "b3.json", one_stranger)), "--db", str(db)],
        capture_output=True,
        text=True,
        env=env | {"COLUMNS": "200"},
        timeout=120,
        check=False,
    )
    assert third.returncode == 0, third.stderr
    assert third.stdout.splitlines()[:2] == [
        "Imported bundle 110000#3: 0 records about 1 person; 0 by the same number, 0 linked, 0 for review, "
        "1 unmatched; 0 records applied, 0 alerts.",
        f"Tried again: {unmatched} person(s) left unmatched by earlier bundles; {unmatched} still unmatched, 0 "
        "matched now (counted above).",
    ]
    with open_store(db, key="") as store:
        rows = store.execute(
            "SELECT sequence, n_unmatched FROM region_imports WHERE publisher = ? ORDER BY 1", [BEIJING]
        ).fetchall()
    assert rows == [(1, unmatched), (2, 0), (3, 1)]


def test_an_acknowledged_import_alert_is_not_raised_again_unless_something_new_happens(
    border: dict[str, Any], tianjin: Store, tmp_path: Path
) -> None:
    """Beijing blacklists a person registered in Tianjin under the same number: the import alerts once; acknowledged,
    the next bundles with the same entry raise nothing; an entry for another record raises a new alert."""
    from socialcredit.regions.alerts import acknowledge_alert, list_alerts

    resident = tianjin.rows("SELECT * FROM current_subjects WHERE kind = 'person' ORDER BY subject_id LIMIT 1")[0]
    person = {k: resident[k] for k in ("subject_id", "name", "sex", "phone", "address")}
    person["birth_date"] = resident["birth_date"].isoformat()

    def listed(sequence: int, record_id: str) -> Callable[[dict[str, Any]], None]:
        def change(p: dict[str, Any]) -> None:
            entry = {
                "subject_id": person["subject_id"],
                "list_id": "blacklist",
                "kind": "black",
                "criterion_id": "judgment_defaulter",
                "reason_en": "judgment defaulter",
                "reason_zh": "失信被执行人",
                "record_id": record_id,
            }
            p.update(sequence=sequence, records=[], identities=[person], list_entries=[entry])

        return change

    def imported(n: int, record_id: str) -> int:
        return import_bundle(tianjin, _bundle(border, tmp_path / f"b{n}.json", listed(n, record_id))).alerts

    assert imported(1, "courts/J1") == 1
    [alert] = [a for a in list_alerts(tianjin) if a["subject_id"] == person["subject_id"]]
    assert (alert["trigger"], alert["evidence"]["record_id"]) == ("import", "courts/J1")
    acknowledge_alert(tianjin, alert["alert_id"])
    assert imported(2, "courts/J1") == 0
    assert imported(3, "courts/J1") == 0
    assert list_alerts(tianjin) == []
    assert imported(4, "courts/J2") == 1
    [new] = list_alerts(tianjin)
    assert (new["subject_id"], new["trigger"], new["evidence"]["record_id"]) == (
        person["subject_id"],
        "import",
        "courts/J2",
    )


def _mover_identity(border: dict[str, Any], tianjin: Store) -> tuple[dict[str, Any], dict[str, Any]]:
    """Of Tianjin after bundle #1 (AFTER_THE_FIRST_BUNDLE): the first mover's identity (linked by Splink to the mover
    here) and judgment record."""
    mover = border["movers"][0]
    [identity] = tianjin.rows("SELECT * FROM region_identities WHERE origin_subject_id = ?", [mover["subject_id_from"]])
    assert (identity["status"], identity["subject_id"]) == ("linked", mover["subject_id_to"])
    record = next(
        r for r in json.loads(_payload_text(border))["records"] if r["subject_id"] == mover["subject_id_from"]
    )
    return identity, record


def _resident(tianjin: Store, subject_id: str) -> dict[str, Any]:
    """A person registered here, as another region's bundle would name them (the same identity number)."""
    row = tianjin.rows("SELECT * FROM current_subjects WHERE subject_id = ?", [subject_id])[0]
    return {
        **{k: row[k] for k in ("subject_id", "name", "sex", "phone", "address")},
        "birth_date": row["birth_date"].isoformat(),
    }


def _latest(tianjin: Store, record_id: str) -> tuple[str, int, bool]:
    subject, version, withdrawn = tianjin.execute(
        "SELECT subject_id, version, withdrawn FROM records WHERE record_id = ? ORDER BY version DESC LIMIT 1",
        [record_id],
    ).fetchone()
    return str(subject), int(version), bool(withdrawn)


@AFTER_THE_FIRST_BUNDLE
def test_a_later_exact_match_on_the_same_resident_sends_the_earlier_link_to_review(
    border: dict[str, Any], tianjin: Store, tmp_path: Path
) -> None:
    """Bundle #1 links a Beijing person to the mover here by Splink; bundle #2 names another Beijing person with the
    mover's own identity number: that exact match says who the mover is there, so the earlier link is reversed (its
    records withdrawn) and waits for review."""
    identity, record = _mover_identity(border, tianjin)
    mover = identity["subject_id"]
    here = f"{BEIJING}/{record['record_id']}"
    assert _latest(tianjin, here) == (mover, 1, False)
    same = _resident(tianjin, mover)
    second = _bundle(border, tmp_path / "b2.json", lambda p: p.update(sequence=2, records=[], identities=[same]))
    # The command says so, on a copy of the store as it stands.
    tianjin.execute("CHECKPOINT")
    (tmp_path / "cli").mkdir()
    copy = _copy_tianjin(tmp_path, tmp_path / "cli")
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}
    printed = subprocess.run(
        [CLI, "region", "import", str(second), "--db", str(copy)],
        capture_output=True,
        text=True,
        env=env | {"COLUMNS": "200"},
        timeout=120,
        check=False,
    )
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.splitlines()[:3] == [
        "Imported bundle 110000#2: 0 records about 1 person; 1 by the same number, 0 linked, 0 for review, "
        "0 unmatched; 0 records applied, 0 alerts.",
        "Tried again: 8 person(s) left unmatched by earlier bundles; 8 still unmatched, 0 matched now (counted above).",
        "Reversed: 1 earlier link(s) to a subject an exact match names; their records withdrawn, sent to review.",
    ]
    summary = import_bundle(tianjin, second)
    # The reversed link is not one of the persons this import tried (review 0) but is counted apart.
    assert (summary.exact, summary.review, summary.reversed_to_review) == (1, 0, 1)
    [imported] = [d for a, d in _audit(tianjin) if a == "region_import" and d["sequence"] == 2]
    assert imported["reversed_to_review"] == 1
    states = dict(
        tianjin.execute(
            "SELECT origin_subject_id, status FROM region_identities WHERE identity_id IN (?, "
            "(SELECT identity_id FROM region_identities WHERE origin_subject_id = ?))",
            [identity["identity_id"], mover],
        ).fetchall()
    )
    assert states == {identity["origin_subject_id"]: "review", mover: "exact"}
    assert _latest(tianjin, here) == (mover, 2, True)
    exact_id = tianjin.one("SELECT identity_id FROM region_identities WHERE origin_subject_id = ?", [mover])
    held = [d for a, d in _audit(tianjin) if a == "region_link_held_for_review"]
    assert [(d["identity_id"], d["also_linked"], d["reason"]) for d in held] == [
        (
            identity["identity_id"],
            [exact_id],
            f"identity {exact_id} of region {BEIJING} has this subject's identity number; two people there are not one "
            "here",
        )
    ]
    assert [q["identity_id"] for q in exchange.list_review_queue(tianjin)] == [identity["identity_id"]]


@AFTER_THE_FIRST_BUNDLE
def test_a_link_displaced_by_a_later_exact_match_resolves_its_open_dispute(
    border: dict[str, Any], tianjin: Store, tmp_path: Path
) -> None:
    """The mover contested the Splink link; bundle #2's exact match reverses it: the dispute it contested is closed in
    the mover's favour (unlinked, with the reason), the mover told, audited; the identity waits for review."""
    from socialcredit.registry.due_process.links import file_link_dispute, get_link_dispute

    identity, _ = _mover_identity(border, tianjin)
    mover = identity["subject_id"]
    filed = file_link_dispute(
        tianjin, mover, identity["identity_id"], "that person is not me", today=dt.date(2027, 1, 4)
    )
    assert filed["status"] == "open"
    same = _resident(tianjin, mover)
    import_bundle(
        tianjin, _bundle(border, tmp_path / "b2.json", lambda p: p.update(sequence=2, records=[], identities=[same]))
    )
    exact_id = tianjin.one("SELECT identity_id FROM region_identities WHERE origin_subject_id = ?", [mover])
    reason = (
        f"identity {exact_id} of region {BEIJING} has this subject's identity number; two people there are not one here"
    )
    closed = get_link_dispute(tianjin, filed["dispute_id"])
    assert (closed["status"], closed["note"]) == ("unlinked", reason)
    told = tianjin.one(
        "SELECT text_en FROM notifications WHERE kind = 'link_dispute_unlinked' AND ref_id = ?", [filed["dispute_id"]]
    )
    label = f"{BEIJING}/{closed['origin_number']}"
    assert told == (
        f"Dispute {filed['dispute_id']} of the link to {label}: the link was reversed: a later match by the same "
        "identity number shows that the person there is another; the records it brought no longer count. " + reason
    )
    told_zh = tianjin.one(
        "SELECT text_zh FROM notifications WHERE kind = 'link_dispute_unlinked' AND ref_id = ?", [filed["dispute_id"]]
    )
    assert told_zh.endswith(f"。地区 {BEIJING} 的身份 {exact_id} 与该主体身份号码相同；那里的两个人在此不是同一人")
    audited = [d for a, d in _audit(tianjin) if a == "link_dispute_unlinked"]
    # the note is kept with the dispute, not copied into the audit log (it goes when the purge deletes the dispute)
    note = {"kept_in": "link_disputes.note", "chars": len(reason)}
    assert audited == [{"dispute_id": filed["dispute_id"], "identity_id": identity["identity_id"], "note": note}]
    assert [q["identity_id"] for q in exchange.list_review_queue(tianjin)] == [identity["identity_id"]]


@AFTER_THE_FIRST_BUNDLE
def test_an_operator_s_unlink_resolves_the_person_s_open_dispute_of_the_link(
    border: dict[str, Any], tianjin: Store
) -> None:
    """`region unlink` reversed a link the mover had contested and left the dispute open, so an operator could link
    the identity to the mover again meanwhile (second review). The reversal decides the dispute for the mover: closed
    as unlinked with the operator's reason, told in the usual words; the identity cannot come back to them."""
    from socialcredit.errors import RegionError
    from socialcredit.registry.due_process.links import file_link_dispute, get_link_dispute

    identity, _ = _mover_identity(border, tianjin)
    mover = identity["subject_id"]
    filed = file_link_dispute(
        tianjin, mover, identity["identity_id"], "that person is not me", today=dt.date(2027, 1, 4)
    )
    exchange.reverse_link(tianjin, identity["identity_id"], reason="wrong person", today=dt.date(2027, 1, 5))
    closed = get_link_dispute(tianjin, filed["dispute_id"])
    assert (closed["status"], closed["note"]) == ("unlinked", "wrong person")
    told = tianjin.one(
        "SELECT text_en FROM notifications WHERE kind = 'link_dispute_unlinked' AND ref_id = ?", [filed["dispute_id"]]
    )
    assert told == (
        f"Dispute {filed['dispute_id']} of the link to {BEIJING}/{closed['origin_number']}: an operator reversed the "
        "link; the records it brought no longer count. wrong person"
    )
    with pytest.raises(RegionError):
        exchange.accept_link(tianjin, identity["identity_id"], subject_id=mover)


@AFTER_THE_FIRST_BUNDLE
def test_reversing_a_link_leaves_a_record_a_correction_moved_to_someone_else(
    border: dict[str, Any], tianjin: Store, tmp_path: Path
) -> None:
    """Beijing corrects the mover's judgment to another person (registered here under the same number): the record's
    latest version here is that person's. Reversing the mover's link withdraws nothing of theirs."""
    identity, record = _mover_identity(border, tianjin)
    here = f"{BEIJING}/{record['record_id']}"
    other = tianjin.one(
        "SELECT min(subject_id) FROM current_subjects WHERE kind = 'person' AND subject_id <> ?",
        [identity["subject_id"]],
    )
    person = _resident(tianjin, other)

    def moved(p: dict[str, Any]) -> None:
        p.update(
            sequence=2,
            identities=[person],
            records=[{**record, "version": record["version"] + 1, "subject_id": other}],
        )

    assert import_bundle(tianjin, _bundle(border, tmp_path / "b2.json", moved)).applied_records == 1
    assert _latest(tianjin, here) == (other, 2, False)
    assert exchange.reverse_link(tianjin, identity["identity_id"], reason="not me") == 0
    assert _latest(tianjin, here) == (other, 2, False)
    [reversed_] = [d for a, d in _audit(tianjin) if a == "region_link_reversed"]
    assert reversed_["withdrawn_records"] == 0


@pytest.mark.parametrize("db_key", ["the store's own key", ""])
def test_a_bundle_is_written_0600_and_an_encrypted_store_with_no_region_to_encrypt_to_writes_none(
    tmp_path: Path, db_key: str
) -> None:
    """A bundle holds the persons it names (identity numbers, names, birth dates, phones, addresses) (docs/regions.md).
    Until 2026-12-05 it was written with the umask's mode (0644: readable by every user); then, from an encrypted
    store with no region trusted to encrypt it to, it was written in clear with a warning: it is refused, and the
    file at the path is left as it was."""
    db, key, out = tmp_path / "beijing.duckdb", tmp_path / "beijing.key", tmp_path / "beijing-1.json"
    key.write_bytes(new_private_key())
    key.chmod(0o600)
    with open_store(db, create=True, key=db_key) as store:
        assert store.encrypted is bool(db_key)
        set_region(store, "110000", "Beijing")
        policy = tmp_path / "beijing.yaml"
        policy.write_text(region_policy("110000"), encoding="utf-8")
        resolve_policy(store, str(policy))
    out.write_text("an older file, readable by all")
    out.chmod(0o644)
    env = {k: v for k, v in os.environ.items() if k != "SOCIALCREDIT_DB_KEY"}
    done = subprocess.run(
        [CLI, "region", "export", "--policy", "beijing", "--key", str(key), "--out", str(out), "--db", str(db)],
        capture_output=True,
        text=True,
        env=env | {"SOCIALCREDIT_DB_KEY": db_key, "COLUMNS": "300"},
    )
    if db_key:
        assert done.returncode == 2
        assert done.stderr.strip() == (
            "error: not exported: the store is encrypted and no region is trusted here with a valid key, so the "
            "bundle could be encrypted to no one (an encrypted store writes no bundle in clear); trust each region "
            "that receives this region's bundles with both its keys: `socialcredit region trust CODE NAME --key KEY "
            "--encryption-key KEY`; then export again. Nothing was written."
        )
        assert out.read_text() == "an older file, readable by all"
        with open_store(db, key=db_key, read_only=True) as store:
            assert store.one("SELECT count(*) FROM region_exports") == 0
        return
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Bundle #1 written to {out}")
    assert out.stat().st_mode & 0o777 == 0o600
    assert done.stderr == ""


def test_names_a_bundle_gives_are_quoted_cut_in_refusals(tmp_path: Path) -> None:
    """A record type, source, field or catalog version a bundle names went whole into refusals and their audit
    entries, control characters too: a name that is no catalog name is quoted and cut at 40 characters."""
    from socialcredit.regions.bundle import Bundle

    long_type = "t" * 5000
    record = {"record_type": long_type, "source_id": "src\x1b[2J", "fields": {}}
    payload = {"catalog": {"version": "v" * 5000, "sha256": "their catalog's"}, "records": [record]}
    with open_store(tmp_path / "s.duckdb", create=True, key="") as store, pytest.raises(BundleError) as refused:
        exchange._check_catalog(store, Bundle(BEIJING, "Beijing", 3, "0" * 64, "", payload))
    assert str(refused.value) == (
        f"bundle 110000#3 was made with catalog version '{'v' * 38}… of region 110000: its records have record type "
        f"'{'t' * 38}…, source 'src\\x1b[2J', which this store's catalog (version 1) lacks; publish a catalog that "
        "has them (socialcredit catalog publish FILE) and import the bundle again"
    )


def test_a_publishers_name_that_is_no_regions_name_is_not_what_messages_say() -> None:
    """The publisher's name a payload gives went whole into refusals (replayed, out of order, a record type changed),
    of any length and with control characters: one that is no region's name (printable text of 1 to 200 characters)
    is replaced by the name the publisher is trusted under here."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from socialcredit.regions.bundle import open_bundle, seal_bundle

    signing = Ed25519PrivateKey.generate()
    trusted = {BEIJING: ("Beijing", public_key_text(signing))}
    for said, named in (("北京", "北京"), ("B" * 201, "Beijing"), ("Bei\x1b[2Jjing", "Beijing"), (7, "Beijing")):
        body = {
            "format": "socialcredit-exchange/1",
            "publisher": {"region": BEIJING, "name": said},
            "sequence": 1,
            "identities": [],
            "records": [],
            "list_entries": [],
        }
        assert open_bundle(seal_bundle(body, signing), trusted).publisher_name == named
