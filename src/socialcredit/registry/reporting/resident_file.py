"""The resident's file: everything the registry holds about one subject, free and on demand, as data (JSON) and as
a readable HTML page.

It holds every version of the subject's registration; every record with its status and contribution; every run's
results, reasons and list entries; notices and listings; disputes; repairs; fulfilment reports; consents; every
inquiry (with any override); overrides; notifications. Purged records are gone from all of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from socialcredit.catalog import Catalog
from socialcredit.compiler import MAX_REASONS
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.common import iso
from socialcredit.registry.reporting.file_page import render_page
from socialcredit.registry.reporting.report import subject_key, subject_report
from socialcredit.store import Store

if TYPE_CHECKING:
    from socialcredit.registry.decisions.live import LiveView

__all__ = ["export_file", "render_html"]

FILE_FORMAT = "socialcredit-resident-file"
# The runs a file shows: finished ones. A run being written, or one a crash left, has no finished_at: it is not shown
# (its results, reasons and list entries neither), as the report and the score history show only finished runs.
_FINISHED = "(SELECT run_id FROM score_runs WHERE finished_at IS NOT NULL)"


def _plain(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: iso(v) for k, v in r.items()} for r in rows]


def export_file(
    store: Store,
    subject_id: str,
    *,
    lang: str = "en",
    actor: str = "cli",
    live: Mapping[int, LiveView] | None = None,
    watermarks: Mapping[int, int] | None = None,
) -> dict[str, Any]:
    """The complete file of ``subject_id`` (the export is audited).

    Each score names the state its decisions stand on, as a decision does: its ``run_id`` and ``watermark``. The
    running service gives ``live`` (the subject as rescored since each run, by run id: ``Service.live_views``) and
    ``watermarks`` (by run id, the change number its decisions stand on for the subject: ``Service.watermarks``),
    rescored since the run or not; without them (the command line) the run's own. Its services are granted as a
    decision grants them (a blacklisting in its notice period refuses nothing)."""
    # an unknown subject is refused by the report (NotFoundError "no registered subject ..."), before any audit
    key = subject_key(store, subject_id)
    key_or_none = -1 if key is None else key  # rows are found by the subject's key, then checked by its identifier
    # the run_reasons view, read by the subject's key: the view ranks every subject of every run before it filters
    ranked = store.rows(
        f"""SELECT run_id, position, rule_id, points FROM (
                   SELECT p.run_id, r.rule_id, p.points,
                          row_number() OVER (PARTITION BY p.run_id ORDER BY abs(p.points) DESC, r.rule_id) AS position
                   FROM run_points p JOIN run_rules r ON r.run_id = p.run_id AND r.rule_index = p.rule_index
                   WHERE p.subject_key = ? AND p.points <> 0 AND p.run_id IN {_FINISHED}
               ) WHERE position <= {int(MAX_REASONS)} ORDER BY run_id, position""",
        [key_or_none],
    )
    # the subject's results of every run, read once: for the scores of the file and for its run results
    rows = store.rows(
        f"SELECT * FROM run_results WHERE subject_id = ? AND run_id IN {_FINISHED} ORDER BY run_id", [subject_id]
    )
    report = subject_report(
        store,
        subject_id,
        lang=lang,
        actor=actor,
        purpose="resident file export",
        result_rows=rows,
        reason_rows=ranked,
        live=live,
    )
    for shown in report["scores"]:
        if watermarks is not None and int(shown["run_id"]) in watermarks:
            shown["watermark"] = watermarks[int(shown["run_id"])]
    versions = _plain(
        store.rows(
            "SELECT seq AS version_seq, kind, name, birth_date, sex, region_code, district, profession, address, "
            "batch_id, recorded_at FROM subjects WHERE subject_key = ? AND subject_id = ? ORDER BY seq",
            [key_or_none, subject_id],
        )
    )
    runs = {
        int(r["run_id"]): r
        for r in store.rows(
            "SELECT run_id, policy_id, policy_version, as_of, standing FROM score_runs WHERE finished_at IS NOT NULL"
        )
    }
    results = _plain(
        [
            {
                "run_id": r["run_id"],
                # standing: ordinary, or a run no decision or list stands on (what_if, rerun, past_dated, behind)
                **{k: runs[int(r["run_id"])][k] for k in ("policy_id", "policy_version", "as_of", "standing")},
                **{k: r[k] for k in ("score", "tier", "rank", "percentile", "total")},
                "dimensions": r["dims"],
                "lists": r["lists"],
            }
            for r in rows
            if int(r["run_id"]) in runs  # each with its run (as a join with score_runs)
        ]
    )
    reasons = _plain(ranked)
    entries = _plain(
        store.rows(
            f"""SELECT e.run_id, e.list_id, e.criterion_id, r.source_id, r.record_id FROM run_list_entries e
               LEFT JOIN records r USING (record_key) WHERE e.subject_id = ? AND e.run_id IN {_FINISHED}
               ORDER BY e.run_id, e.list_id""",
            [subject_id],
        )
    )
    fulfilments = _plain(
        store.rows(
            "SELECT fulfilment_id, source_id, record_id, fulfilled_on, note FROM fulfilments WHERE subject_id = ? "
            "ORDER BY fulfilment_id",
            [subject_id],
        )
    )
    out = {
        "format": FILE_FORMAT,
        "version": 1,
        "subject_id": subject_id,
        "exported_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "subject": report["subject"],
        "subject_versions": versions,
        "scores": report["scores"],
        "records": report["records"],
        "run_results": results,
        "run_reasons": reasons,
        "list_entries": entries,
        "notices": report["notices"],
        "disputes": report["disputes"],
        "links": report["links"],
        "link_disputes": report["link_disputes"],
        "repairs": report["repairs"],
        "fulfilments": fulfilments,
        "consents": report["consents"],
        "inquiries": report["inquiries"],
        "overrides": report["overrides"],
        "notifications": report["notifications"],
    }
    with store.transaction():
        append_audit(store, actor, "export_file", subject_id, {"sections": len(out)})
    return out


def render_html(
    file: dict[str, Any], lang: str = "en", names: dict[str, str] | None = None, catalog: Catalog | None = None
) -> str:
    """The file as one self-contained HTML page, in words (registry/reporting/file_page.py; ``names`` from its
    ``file_names``, ``catalog`` the store's)."""
    return render_page(file, lang, names, catalog)
