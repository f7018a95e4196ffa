"""The whole-bundle check an importing region makes before it writes one row (docs/regions.md, "What an importer
refuses").

``open_bundle`` checks the envelope, the signature and the payload's shape; this module checks its content against
the catalog: each record's type exists and its source may send it, each field is a field of that type and holds a
value of the field's type (``amount: "lots"`` is refused, not cast), versions are whole numbers from 1, dates are
dates, flags are true or false, texts are bounded; list entries are black or red; the identities' fields have
their shapes; and a new version of a record already imported from the same region keeps its record type. The first
problem found is refused as ``malformed: <place> <value> <rule>``, a :class:`BundleError`.

>>> record = {"subject_id": "S", "source_id": "courts", "record_id": "J1", "version": 1, "withdrawn": False,
...           "record_type": "court_judgment", "event_date": "2026-03-15", "fields": {"amount": "lots"}}
>>> try:
...     check_payload({"identities": [], "records": [record], "list_entries": []})
... except BundleError as exc:
...     print(exc)
malformed: records[0].fields.amount 'lots' is not a number (court_judgment.amount is a number)
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from socialcredit.catalog import Catalog, FieldSpec, load_catalog
from socialcredit.errors import BundleError
from socialcredit.identifiers import fold_record_id
from socialcredit.registry import MAX_NUMBER  # a number field's bound, whole or not, as ingest's
from socialcredit.settings import env_name, get_settings
from socialcredit.store import Store
from socialcredit.textcheck import control_character

__all__ = [
    "MAX_BUNDLE_BYTES",
    "MAX_VERSION",
    "MIN_EVENT_DATE",
    "check_bundle_size",
    "check_payload",
    "check_record_types",
    "resent_versions",
]

MAX_BUNDLE_BYTES = 256 * 1024 * 1024  # the largest bundle file read: a day's records of a large region fit many times
# The earliest event date, as ingest's (registry.records.limits.MIN_EVENT_DATE; regions reach the registry only
# through its public surface, and a test holds the two equal).
MIN_EVENT_DATE = dt.date(1900, 1, 1)
MAX_VERSION = 2**31 - 1  # a record version is stored as a 32-bit integer
_SHOWN = 40  # characters of a refused value quoted in a message
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
_SEXES = ("M", "F")
_KINDS = ("black", "red")
_TYPE_NAMES = {
    "string": "a text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "date": "a date (YYYY-MM-DD)",
}


def _refuse(message: str) -> BundleError:
    return BundleError(f"malformed: {message}")


def shown(value: Any) -> str:
    """A value as a message quotes it: a text in quotes, anything else as JSON; cut at 40 characters."""
    text = repr(value) if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def check_bundle_size(n_bytes: int, name: str) -> None:
    """Refuse a bundle file larger than ``MAX_BUNDLE_BYTES`` before it is read."""
    if n_bytes > MAX_BUNDLE_BYTES:
        raise BundleError(
            f"not a bundle: {name} is {n_bytes} bytes; a bundle may be at most {MAX_BUNDLE_BYTES} bytes "
            "(ask the publisher to export more often)"
        )


def _text(
    value: Any, where: str, *, required: bool = True, identifier: bool = False, printable: str | None = None
) -> None:
    """A non-empty text within the field size limit (``SOCIALCREDIT_MAX_FIELD_BYTES``); an identifier is printable,
    and so is a text ``printable`` names (as "a name"): no control character nor bidirectional control
    (socialcredit.textcheck), which on a page or a terminal would hide or reorder what follows it."""
    if value is None and not required:
        return
    if not isinstance(value, str) or not value:
        raise _refuse(f"{where} must be a non-empty text")
    limit = get_settings().max_field_bytes
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise _refuse(f"{where} is {size} bytes long; a text may be at most {limit} ({env_name('max_field_bytes')})")
    what = "an identifier" if identifier else printable
    control = control_character(value) if what else None
    if control is not None:
        raise _refuse(
            f"{where} {shown(value)} has a control character (U+{ord(control):04X}); {what} is printable text"
        )


def _folds_to_text(value: str, where: str) -> None:
    """A record id is stored folded (``identifiers.fold_record_id``: full-width forms as ASCII, spaces at its ends
    dropped), as a region's own ingest stores it: one of spaces only (U+3000 among them) would be stored empty."""
    if not fold_record_id(value):
        raise _refuse(f"{where} {shown(value)} is only spaces; a record id must be a non-empty text")


def _date(value: Any, where: str, *, required: bool = True, earliest: dt.date | None = None) -> None:
    if value is None and not required:
        return
    try:
        ok = isinstance(value, str) and _DATE.fullmatch(value) is not None
        day = dt.date.fromisoformat(value) if ok else None
    except ValueError:
        day = None
    if day is None:
        raise _refuse(f"{where} {shown(value)} is not a date")
    if earliest is not None and day < earliest:
        raise _refuse(f"{where} {shown(value)} is before {earliest.isoformat()}, the earliest date")


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _field(value: Any, spec: FieldSpec, where: str, owner: str) -> None:
    """One field's value against its catalog entry; ``owner`` is ``record_type.field`` as messages name it."""
    kind = _TYPE_NAMES[spec.type]
    rule = f"({owner} is {kind})"
    if spec.type == "string":
        if not isinstance(value, str):
            raise _refuse(f"{where} {shown(value)} is not a text {rule}")
        _text(value, where)
    elif spec.type == "integer":
        if not _whole(value) or abs(value) >= MAX_NUMBER:
            raise _refuse(f"{where} {shown(value)} is not a whole number {rule}")
    elif spec.type == "number":
        number_ok = _whole(value) or (isinstance(value, float) and math.isfinite(value))
        if not number_ok:
            raise _refuse(f"{where} {shown(value)} is not a number {rule}")
    elif spec.type == "boolean":
        if not isinstance(value, bool):
            raise _refuse(f"{where} {shown(value)} is not true or false ({owner} is a boolean)")
    elif spec.type == "date":
        if not isinstance(value, str) or _DATE.fullmatch(value) is None:
            raise _refuse(f"{where} {shown(value)} is not a date {rule}")
        _date(value, where)
    if spec.allowed is not None and value not in spec.allowed:
        raise _refuse(f"{where} {shown(value)} is not allowed ({owner} is one of: {', '.join(spec.allowed)})")
    if spec.type in ("integer", "number"):
        if spec.min is not None and value < spec.min:
            raise _refuse(f"{where} {shown(value)} is below the minimum {spec.min:g} of {owner}")
        if spec.max is not None and value > spec.max:
            raise _refuse(f"{where} {shown(value)} is above the maximum {spec.max:g} of {owner}")
        if abs(value) >= MAX_NUMBER:  # as ingest refuses it: 1e308 yuan is no amount
            digits = len(str(MAX_NUMBER)) - 1
            raise _refuse(
                f"{where} {shown(value)} is out of range: a number has at most {digits} digits before its point"
            )


def _record(record: Mapping[str, Any], i: int, catalog: Catalog) -> None:
    at = f"records[{i}]"
    for name in ("subject_id", "source_id", "record_id", "record_type"):
        _text(record[name], f"{at}.{name}", identifier=True)
    _folds_to_text(record["record_id"], f"{at}.record_id")
    source, record_type = record["source_id"], record["record_type"]
    if source not in catalog.sources:
        raise _refuse(f"{at}.source_id {shown(source)} is not a source of the catalog")
    if record_type not in catalog.record_types:
        raise _refuse(f"{at}.record_type {shown(record_type)} is not a record type of the catalog")
    sends = catalog.sources[source].record_types
    if record_type not in sends:
        raise _refuse(
            f"{at}.record_type {shown(record_type)}: source {source} may not send it (it sends: {', '.join(sends)})"
        )
    version = record["version"]
    if not _whole(version) or not 1 <= version <= MAX_VERSION:
        raise _refuse(f"{at}.version {shown(version)} is not a whole number from 1 to {MAX_VERSION}")
    _date(record["event_date"], f"{at}.event_date", earliest=MIN_EVENT_DATE)
    if not isinstance(record["withdrawn"], bool):
        raise _refuse(f"{at}.withdrawn {shown(record['withdrawn'])} is not true or false")
    fields = record["fields"]
    if not isinstance(fields, dict):
        raise _refuse(f"{at}.fields must be an object")
    specs = catalog.record_types[record_type].fields
    for name, value in fields.items():
        if name not in specs:
            place = f"{at}.fields.{name}" if _NAME.fullmatch(name) else f"{at}.fields[{shown(name)}]"
            raise _refuse(f"{place} is not a field of {record_type} (its fields: {', '.join(specs)})")
        if value is not None:
            _field(value, specs[name], f"{at}.fields.{name}", f"{record_type}.{name}")
    if not record["withdrawn"]:
        for name, spec in specs.items():
            if spec.required and fields.get(name) is None:
                raise _refuse(f"{at}.fields has no {name} ({record_type}.{name} is required)")


def _identity(row: Mapping[str, Any], i: int) -> None:
    at = f"identities[{i}]"
    _text(row["subject_id"], f"{at}.subject_id", identifier=True)
    _text(row["name"], f"{at}.name", required=False, printable="a name")  # shown beside a subject here, for review
    for name in ("phone", "address"):
        _text(row[name], f"{at}.{name}", required=False)
    if row["sex"] is not None and row["sex"] not in _SEXES:
        raise _refuse(f"{at}.sex {shown(row['sex'])} is not M or F")
    _date(row["birth_date"], f"{at}.birth_date", required=False)


def _list_entry(entry: Mapping[str, Any], i: int) -> None:
    at = f"list_entries[{i}]"
    for name in ("subject_id", "list_id", "criterion_id"):
        _text(entry[name], f"{at}.{name}", identifier=True)
    if entry["kind"] not in _KINDS:
        raise _refuse(f"{at}.kind {shown(entry['kind'])} is not black or red")
    for name in ("reason_en", "reason_zh"):  # shown to operators (an alert's evidence): one line of plain text
        _text(entry[name], f"{at}.{name}", printable="a reason")
    _text(entry["record_id"], f"{at}.record_id", required=False, identifier=True)
    if entry["record_id"] is not None:
        _folds_to_text(entry["record_id"], f"{at}.record_id")


def check_payload(payload: Mapping[str, Any], catalog: Catalog | None = None) -> None:
    """Refuse the first value of an opened payload (``Bundle.payload``) that the catalog or the store would not take.

    ``open_bundle`` has checked the shape already: the three lists exist and each item has its keys."""
    catalog = catalog or load_catalog()
    for i, row in enumerate(payload["identities"]):
        _identity(row, i)
    seen: dict[tuple[str, str, int], int] = {}
    types: dict[tuple[str, str], tuple[str, int]] = {}
    for i, record in enumerate(payload["records"]):
        _record(record, i, catalog)
        key = (record["source_id"], record["record_id"])
        earlier = seen.setdefault((*key, record["version"]), i)
        if earlier != i:
            raise _refuse(f"records[{i}] repeats version {record['version']} of {key[0]}/{key[1]} (records[{earlier}])")
        first_type, first = types.setdefault(key, (record["record_type"], i))
        if first_type != record["record_type"]:
            raise _refuse(
                f"records[{i}].record_type {shown(record['record_type'])}: {key[0]}/{key[1]} is a {first_type} in "
                f"records[{first}]; a new version may not change its record type"
            )
    lists_as_of = payload.get("lists_as_of")
    _date(lists_as_of, "lists_as_of", required=False)
    for i, entry in enumerate(payload["list_entries"]):
        _list_entry(entry, i)
    if payload["list_entries"] and lists_as_of is None:
        created = payload.get("created_at")
        _date(created[:10] if isinstance(created, str) else created, "created_at (the lists' date)")


def check_record_types(store: Store, origin: str, origin_name: str, records: list[dict[str, Any]]) -> None:
    """Refuse a record that is a new version of one imported before from ``origin`` under another record type."""
    import pyarrow as pa

    if not records:
        return
    pairs = sorted({(r["source_id"], r["record_id"]) for r in records})
    table = pa.table({"source_id": [p[0] for p in pairs], "record_id": [p[1] for p in pairs]})
    name = "_bundle_record_ids"
    store.con.register(name, table)
    try:
        rows = store.execute(
            "SELECT rr.source_id, rr.record_id, arg_max(rr.record_type, rr.version), max(rr.version) "
            f"FROM region_records rr JOIN {name} b USING (source_id, record_id) WHERE rr.origin_region = ? "
            "GROUP BY 1, 2",
            [origin],
        ).fetchall()
    finally:
        store.con.unregister(name)
    known = {(str(s), str(r)): (str(t), int(v)) for s, r, t, v in rows}
    for i, record in enumerate(records):
        found = known.get((record["source_id"], record["record_id"]))
        if found is not None and found[0] != record["record_type"]:
            raise _refuse(
                f"records[{i}].record_type {shown(record['record_type'])}: {record['source_id']}/"
                f"{record['record_id']} from {origin_name} is a {found[0]} here (version {found[1]}); a new version "
                "may not change its record type"
            )


def resent_versions(store: Store, origin: str, records: list[dict[str, Any]]) -> set[int]:
    """The places in ``records`` of versions received before from ``origin`` with the same content (the person, type,
    date, withdrawn flag and fields): a re-sent version is a duplicate, kept out of the import. A version received
    before with other content is not one: it is imported as any version is (a version held back here, then sent by
    its source certified with other content, must come in). Nor is a certified one of a record withdrawn here after
    a dispute (a version held back, sent again certified with the same content): the certification is what it
    lacked, and it must come in too."""
    import pyarrow as pa

    if not records:
        return set()
    keys = sorted({(r["source_id"], r["record_id"], int(r["version"])) for r in records})
    table = pa.table(
        {
            "source_id": [k[0] for k in keys],
            "record_id": [k[1] for k in keys],
            "version": pa.array([k[2] for k in keys], pa.int32()),
        }
    )
    name = "_bundle_record_versions"
    store.con.register(name, table)
    try:
        rows = store.execute(
            "SELECT rr.source_id, rr.record_id, rr.version, rr.origin_subject_id, rr.record_type, rr.event_date, "
            f"rr.withdrawn, rr.fields FROM region_records rr JOIN {name} b USING (source_id, record_id, version) "
            "WHERE rr.origin_region = ?",
            [origin],
        ).fetchall()
    finally:
        store.con.unregister(name)
    known: dict[tuple[str, str, int], list[tuple[Any, ...]]] = {}
    for s, r, v, subject, rtype, event_date, withdrawn, fields in rows:
        known.setdefault((str(s), str(r), int(v)), []).append(
            (subject, rtype, event_date.isoformat(), bool(withdrawn), json.loads(fields))
        )
    duplicates: set[int] = set()
    for i, record in enumerate(records):
        content = (
            record["subject_id"],
            record["record_type"],
            record["event_date"],
            bool(record["withdrawn"]),
            record["fields"],
        )
        if content in known.get((record["source_id"], record["record_id"], int(record["version"])), []):
            duplicates.add(i)
    certified = [i for i in duplicates if records[i].get("certified") is True and not records[i]["withdrawn"]]
    if certified:
        duplicates -= set(_withdrawn_after_dispute(store, origin, records, certified))
    return duplicates


def _withdrawn_after_dispute(store: Store, origin: str, records: list[dict[str, Any]], places: list[int]) -> list[int]:
    """Those of ``places`` in ``records`` whose record here (``<origin>/<record id>``) is withdrawn after a dispute
    (its latest version withdrawn, a dispute of it withdrawn or lapsed): what holds back an uncertified version."""
    import pyarrow as pa

    wanted: dict[tuple[str, str], list[int]] = {}
    for i in places:
        wanted.setdefault((records[i]["source_id"], f"{origin}/{records[i]['record_id']}"), []).append(i)
    name = "_bundle_certified_records"
    store.con.register(name, pa.table({"source_id": [k[0] for k in wanted], "record_id": [k[1] for k in wanted]}))
    try:
        rows = store.execute(
            f"""SELECT r.source_id, r.record_id FROM (
                SELECT source_id, record_id, withdrawn FROM records JOIN {name} USING (source_id, record_id)
                QUALIFY row_number() OVER (PARTITION BY source_id, record_id ORDER BY version DESC) = 1) r
            WHERE r.withdrawn AND EXISTS (SELECT 1 FROM disputes d WHERE d.source_id = r.source_id
                  AND d.record_id = r.record_id AND d.status IN ('withdrawn', 'lapsed'))"""
        ).fetchall()
    finally:
        store.con.unregister(name)
    return sorted(i for s, r in rows for i in wanted[(str(s), str(r))])
