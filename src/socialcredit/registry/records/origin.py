"""Where a shared record came from: the region that recorded it, as the registry explains it.

Records another region shared keep their ``origin_region``; the regions this store trusts are in
``region_publishers``. Both are store tables, so the registry reads them here itself rather than asking the
regions package (which builds on the registry, never the other way round; docs/hooks.md).
"""

from __future__ import annotations

from socialcredit.identifiers import fold_record_id_sql
from socialcredit.store import Store

__all__ = ["origin_label", "origin_note", "origin_reference"]


def origin_label(store: Store, region_code: str | None) -> str | None:
    """ "Beijing (110000)" for a region this store trusts; the bare code otherwise; None for local records."""
    if not region_code:
        return None
    name = store.one("SELECT name FROM region_publishers WHERE region_code = ?", [region_code])
    return f"{name} ({region_code})" if name else region_code


def origin_note(store: Store, record_type: str, region_code: str, lang: str) -> str:
    """What a reason adds for a record another region shared: ": court judgment recorded in Beijing (110000)"."""
    rt = store.catalog.record_types.get(record_type)
    label = origin_label(store, region_code)
    if lang == "en":
        return f": {rt.name.en if rt else record_type} recorded in {label}"
    return f"：{label}记录的{rt.name.zh if rt else record_type}"


def origin_reference(store: Store, region_code: str, source_id: str, record_id: str) -> tuple[str, str]:
    """A shared record as its origin region knows it: its record id there (without the ``<region>/`` prefix it
    carries here) and the subject id there ("" if no bundle named it). Forwarded disputes and repairs travel by it."""
    prefix = region_code + "/"
    origin_record_id = record_id[len(prefix) :] if record_id.startswith(prefix) else record_id
    subject = store.one(
        "SELECT origin_subject_id FROM region_records WHERE origin_region = ? AND source_id = ? "
        f"AND {fold_record_id_sql('record_id')} = ? ORDER BY sequence DESC LIMIT 1",  # its id here is folded
        [region_code, source_id, origin_record_id],
    )
    return origin_record_id, str(subject or "")
