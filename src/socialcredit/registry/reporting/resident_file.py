"""The resident's file: everything the registry holds about one subject, free and on demand, as data (JSON) and as
a readable HTML page.

It holds every version of the subject's registration; every record with its status and contribution; every run's
results, reasons and list entries; notices and listings; disputes; repairs; fulfilment reports; consents; every
inquiry (with any override); overrides; notifications. Purged records are gone from all of it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from socialcredit.compiler import MAX_REASONS
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.common import iso
from socialcredit.registry.records.versions import require_subject
from socialcredit.registry.reporting.file_page import render_page
from socialcredit.registry.reporting.report import subject_key, subject_report
from socialcredit.store import Store

__all__ = ["export_file", "render_html"]

FILE_FORMAT = "socialcredit-resident-file"


def _plain(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: iso(v) for k, v in r.items()} for r in rows]


def export_file(store: Store, subject_id: str, *, lang: str = "en", actor: str = "cli") -> dict[str, Any]:
    """The complete file of ``subject_id`` (the export is audited)."""
    require_subject(store, subject_id)
    report = subject_report(store, subject_id, lang=lang, actor=actor, purpose="resident file export")
    key = subject_key(store, subject_id)
    key_or_none = -1 if key is None else key  # rows are found by the subject's key, then checked by its identifier
    versions = _plain(
        store.rows(
            "SELECT seq AS version_seq, kind, name, birth_date, sex, region_code, district, profession, address, "
            "batch_id, recorded_at FROM subjects WHERE subject_key = ? AND subject_id = ? ORDER BY seq",
            [key_or_none, subject_id],
        )
    )
    results = _plain(
        store.rows(
            """SELECT r.run_id, s.policy_id, s.policy_version, s.as_of, r.score, r.tier, r.rank, r.percentile, r.total,
                      r.dims AS dimensions, r.lists
               FROM run_results r JOIN score_runs s USING (run_id) WHERE r.subject_id = ? ORDER BY r.run_id""",
            [subject_id],
        )
    )
    # the run_reasons view, read by the subject's key: the view ranks every subject of every run before it filters
    reasons = _plain(
        store.rows(
            f"""SELECT run_id, position, rule_id, points FROM (
                   SELECT p.run_id, r.rule_id, p.points,
                          row_number() OVER (PARTITION BY p.run_id ORDER BY abs(p.points) DESC, r.rule_id) AS position
                   FROM run_points p JOIN run_rules r ON r.run_id = p.run_id AND r.rule_index = p.rule_index
                   WHERE p.subject_key = ? AND p.points <> 0
               ) WHERE position <= {int(MAX_REASONS)} ORDER BY run_id, position""",
            [key_or_none],
        )
    )
    entries = _plain(
        store.rows(
            """SELECT e.run_id, e.list_id, e.criterion_id, r.source_id, r.record_id FROM run_list_entries e
               LEFT JOIN records r USING (record_key) WHERE e.subject_id = ? ORDER BY e.run_id, e.list_id""",
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


_TEMPLATE = """<!doctype html>
<html lang="{{ 'zh' if lang == 'zh' else 'en' }}"><head><meta charset="utf-8">
<title>{{ t('file') }} {{ f.subject_id }}</title>
<style>
body{font-family:system-ui,"WenQuanYi Micro Hei",sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}th,td{border:1px solid #ccc;padding:.3rem .5rem;
text-align:left;vertical-align:top;font-size:.9rem}th{background:#f3f3f3}.empty{color:#777}
</style></head><body>
<h1>{{ t('file') }}: {{ f.subject.name or '' }} ({{ f.subject_id }})</h1>
<p>{{ t('exported') }} {{ f.exported_at }}</p>
{% for s in f.scores %}
<h2>{{ s.policy }} {{ s.policy_version }} · {{ t('score') }} {{ s.score }} · {{ s.tier }}</h2>
<p>{{ t('rank') }} {{ s.rank }} / {{ s.of }} · {{ t('as_of') }} {{ s.as_of }}</p>
{{ table(s.reasons, ['code', 'text', 'points', 'advice']) }}
{{ table(s.lists, ['list', 'criterion', 'reason', 'status', 'effective_on']) }}
{% endfor %}
{% for title, rows, cols in sections %}
<h2>{{ t(title) }}</h2>
{{ table(rows, cols) }}
{% endfor %}
</body></html>
"""

_TABLE = """{% if rows %}<table><tr>{% for c in cols %}<th>{{ c }}</th>{% endfor %}</tr>
{% for r in rows %}<tr>{% for c in cols %}<td>{{ r.get(c) if r.get(c) is not none else '' }}</td>{% endfor %}</tr>
{% endfor %}</table>{% else %}<p class="empty">—</p>{% endif %}"""

_WORDS = {
    "en": {
        "file": "Resident's file",
        "exported": "Exported",
        "score": "score",
        "rank": "rank",
        "as_of": "as of",
        "records": "Records",
        "notices": "Notices and listings",
        "disputes": "Disputes",
        "links": "Identities in other regions linked to you",
        "link_disputes": "Disputes of links",
        "repairs": "Credit repair",
        "inquiries": "Who asked about you",
        "overrides": "Human review",
        "consents": "Consents",
        "notifications": "Notifications",
    },
    "zh": {
        "file": "个人信用档案",
        "exported": "导出时间",
        "score": "分数",
        "rank": "排名",
        "as_of": "截至",
        "records": "记录",
        "notices": "通知与名单",
        "disputes": "异议",
        "links": "与您关联的其他地区身份",
        "link_disputes": "对关联的异议",
        "repairs": "信用修复",
        "inquiries": "查询记录",
        "overrides": "人工复核",
        "consents": "授权",
        "notifications": "通知",
    },
}


def render_html(file: dict[str, Any], lang: str = "en", names: dict[str, str] | None = None) -> str:
    """The file as one self-contained HTML page, in words (registry/reporting/file_page.py; ``names`` from its
    ``file_names``)."""
    return render_page(file, lang, names)
