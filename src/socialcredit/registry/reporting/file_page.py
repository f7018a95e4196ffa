"""The resident's file as one page to read, print or save: in words, never codes, and readable on a phone.

Every column has a heading in the page's language; a record's details read as "label: value" in words
(``catalog/labels.yaml``); a source, a record type, a list, a criterion, a service, a status each by its name; an
empty value is left empty, never Python's ``None``. Below 600px every table becomes one card per row.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from jinja2 import Template, select_autoescape
from markupsafe import Markup

from socialcredit.catalog import Catalog, load_catalog
from socialcredit.catalog.labels import Labels, labels_for
from socialcredit.errors import NotFoundError
from socialcredit.languages import grouped
from socialcredit.registry.scoring.policies import get_policy
from socialcredit.registry.words import PURPOSE_WORDS, STATUS_WORDS
from socialcredit.store import Store
from socialcredit.textcheck import page_environment

__all__ = ["file_names", "render_page"]


def file_names(store: Store, file: dict[str, Any], lang: str) -> dict[str, str]:
    """The names of the policies, grades, lists, criteria and services ``file`` names, keyed ``policy:ID``,
    ``tier:POLICY:TIER``, ``list:POLICY:LIST``, ``criterion:POLICY:LIST:CRITERION`` and ``service:ID``; and
    ``policy:ID:VERSION``, the name of each policy version an inquiry was decided under."""
    out: dict[str, str] = {}
    # an inquiry's policy by the name the version it was decided under gives it, as the portal's pages name it
    # (web/resident.py); the page showed its id ("beijing 2026.2")
    asked = {(str(q["policy_id"]), str(q["policy_version"])) for q in file.get("inquiries", []) if q.get("policy_id")}
    for pid, version in sorted(asked):
        try:
            out[f"policy:{pid}:{version}"] = get_policy(store, pid, version).policy.name.get(lang)
        except NotFoundError:
            continue
    pids = {str(s["policy"]) for s in file.get("scores", [])} | {str(n["policy_id"]) for n in file.get("notices", [])}
    for pid in sorted(pids):
        try:
            policy = get_policy(store, pid).policy
        except NotFoundError:
            continue
        out[f"policy:{pid}"] = policy.name.get(lang)
        for lst in policy.lists:
            out[f"list:{pid}:{lst.id}"] = lst.name.get(lang)
            for c in lst.criteria:
                out[f"criterion:{pid}:{lst.id}:{c.id}"] = c.reason.text(lang)
        for tier in policy.tiers:
            name = tier.name.get(lang) if tier.name else ""
            out[f"tier:{pid}:{tier.id}"] = (f"{tier.id} {name}" if name else tier.id) if tier.id.isupper() else name
        for svc in policy.services:
            out.setdefault(f"service:{svc.id}", svc.name.get(lang))
    return out


def _spoken(code: Any) -> str:
    return "" if code is None else str(code).replace("_", " ")


def _value(value: Any, lang: str, labels: Labels) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _WORDS[lang]["yes" if value else "no"]
    if isinstance(value, int | float):
        return grouped(value)
    return labels.value(str(value), lang) if str(value) in labels.values else str(value)


def _details(fields: dict[str, Any], lang: str, labels: Labels) -> str:
    sep = "；" if lang == "zh" else "; "
    colon = "：" if lang == "zh" else ": "
    return sep.join(
        f"{labels.field(k, lang)}{colon}{_value(v, lang, labels)}" for k, v in fields.items() if v is not None
    )


def _cells(lang: str, names: dict[str, str], catalog: Catalog) -> dict[str, Callable[[dict[str, Any]], str]]:
    """How each column of a row reads, where it is more than the value itself (sources, record types, fields and
    categories in ``catalog``'s words)."""
    labels = labels_for(catalog)
    w = _WORDS[lang]

    def word(prefix: str, col: str) -> Callable[[dict[str, Any]], str]:
        return lambda r: w.get(f"{prefix}_{r.get(col)}", _spoken(r.get(col)))

    def reviewed(r: dict[str, Any]) -> str:
        """What an operator's review overrode, in words: "inquiry:12" reads "inquiry 12", "查询 12"."""
        kind, _, number = str(r.get("target") or "").partition(":")
        return f"{w.get(f'target_{kind}', _spoken(kind))} {number}".strip()

    def decided_under(r: dict[str, Any]) -> str:
        """The policy (by its name) and version a decision was made under; an operator's view has none."""
        if not r.get("policy_version"):
            return ""
        pid, version = r["policy_id"], r["policy_version"]
        return f"{names.get(f'policy:{pid}:{version}', str(pid))} {version}"

    def source(r: dict[str, Any]) -> str:
        """The source in words: by ``source_id``, or ``source`` in a file exported before 2026-12-06 (a deprecated
        alias since)."""
        sid = r.get("source_id", r.get("source"))
        return catalog.sources[sid].name.get(lang) if sid in catalog.sources else ""

    return {
        "source": source,
        "record_type": lambda r: (
            catalog.record_types[r["record_type"]].name.get(lang)
            if r.get("record_type") in catalog.record_types
            else ""
        ),
        "fields": lambda r: _details(r.get("fields") or {}, lang, labels),
        "record_status": word("record", "status"),
        "list_id": lambda r: names.get(f"list:{r.get('policy_id')}:{r.get('list_id')}", _spoken(r.get("list_id"))),
        "criterion_id": lambda r: names.get(
            f"criterion:{r.get('policy_id')}:{r.get('list_id')}:{r.get('criterion_id')}", _spoken(r.get("criterion_id"))
        ),
        # a listing in effect that decisions no longer apply (``held_now``: the file's notices) says so, and why
        "listing_status": lambda r: (
            w["listing_held"].format(status=word("listing", "status")(r), since=r["held_since"], why=r["held_why"])
            if r.get("held_why")
            else word("listing", "status")(r)
        ),
        "dispute_status": word("dispute", "status"),
        "repair_status": word("repair", "status"),
        "severity": word("severity", "severity"),
        "service": lambda r: names.get(f"service:{r.get('service')}", _spoken(r.get("service"))),
        "purpose": word("purpose", "purpose"),
        "outcome": word("outcome", "outcome"),
        "category": lambda r: (
            catalog.categories[r["category"]].name.get(lang) if r.get("category") in catalog.categories else ""
        ),
        "granted": lambda r: w["consent_in" if r.get("granted") else "consent_out"],
        "kind": word("override", "kind"),
        "target": reviewed,
        "policy_version": decided_under,
        "policy": lambda r: names.get(f"policy:{r.get('policy_id')}", str(r.get("policy_id") or "")),
        # a dispute's note and a repair's reason in the page's language (the registry's own are kept in both)
        "note": lambda r: _value((r.get("note_zh") if lang == "zh" else None) or r.get("note"), lang, labels),
        "decision_reason": lambda r: _value(
            (r.get("decision_reason_zh") if lang == "zh" else None) or r.get("decision_reason"), lang, labels
        ),
    }


@functools.cache
def _templates() -> tuple[Template, Template]:
    """The table's and the page's templates, compiled once per process (compiling them took 10-15 ms a page)."""
    env = page_environment(autoescape=select_autoescape(default=True, default_for_string=True))
    return env.from_string(_TABLE), env.from_string(_TEMPLATE)


def render_page(
    file: dict[str, Any], lang: str = "en", names: dict[str, str] | None = None, catalog: Catalog | None = None
) -> str:
    """``file`` (``export_file``'s) as one self-contained HTML page in ``lang`` (every value escaped); ``names``
    (``file_names``) gives policies, lists, criteria and services their names, ``catalog`` (the store's: the
    shipped one by default) sources, record types, fields and categories theirs."""
    lang = "zh" if lang == "zh" else "en"
    names = names or {}
    words = _WORDS[lang]
    catalog = catalog or load_catalog()
    labels = labels_for(catalog)
    cells = _cells(lang, names, catalog)
    table, page = _templates()

    def cell(row: dict[str, Any], col: str) -> str:
        how = cells.get(col)
        return how(row) if how else _value(row.get(col), lang, labels)

    def render_table(rows: list[dict[str, Any]], cols: list[tuple[str, str]]) -> Markup:
        """``cols``: (how the cell reads, its heading's key)."""
        return Markup(
            table.render(rows=rows, cols=[(how, words[head]) for how, head in cols], cell=cell, empty=words["none"])
        )

    scores = []
    for s in file["scores"]:
        pid = s["policy"]
        entries = [
            {**e, "policy_id": pid, "list_id": e.get("list"), "criterion_id": e.get("criterion")} for e in s["lists"]
        ]
        tier = names.get(f"tier:{pid}:{s['tier']}") or _spoken(s["tier"])
        scores.append({**s, "name": names.get(f"policy:{pid}", pid), "tier_words": tier, "entries": entries})
    links = [{**x, "agreed": "; ".join(x["agreed"])} for x in file.get("links", [])]
    records = [
        ("event_date", "col_date"),
        ("record_type", "col_record_type"),
        ("record_id", "col_record_id"),
        ("source", "col_source"),
        ("fields", "col_details"),
        ("record_status", "col_status"),
    ]
    sections = [
        ("records", file["records"], records),
        (
            "notices",
            file["notices"],
            [
                ("policy", "col_policy"),  # two policies' blacklists may share their name
                ("list_id", "col_list"),
                ("criterion_id", "col_criterion"),
                ("record_id", "col_record_id"),
                ("noticed_on", "col_noticed_on"),
                ("effective_on", "col_effective_on"),
                ("listing_status", "col_status"),
            ],
        ),
        (
            "disputes",
            file["disputes"],
            [
                ("dispute_id", "col_number"),
                ("record_id", "col_record_id"),
                ("reason", "col_reason"),
                ("dispute_status", "col_status"),
                ("opened_at", "col_opened_at"),
                ("deadline", "col_deadline"),
                ("note", "col_note"),
            ],
        ),
        (
            "links",
            links,
            [
                ("region", "col_region"),
                ("number", "col_number"),
                ("how", "col_how"),
                ("linked_at", "col_linked_at"),
                ("agreed", "col_agreed"),
                ("contest", "col_contest"),
            ],
        ),
        (
            "link_disputes",
            file.get("link_disputes", []),
            [
                ("dispute_id", "col_number"),
                ("reason", "col_reason"),
                ("dispute_status", "col_status"),
                ("opened_at", "col_opened_at"),
                ("deadline", "col_deadline"),
                ("note", "col_note"),
            ],
        ),
        (
            "repairs",
            file["repairs"],
            [
                ("repair_id", "col_number"),
                ("record_id", "col_record_id"),
                ("severity", "col_severity"),
                ("repair_status", "col_status"),
                ("applied_on", "col_applied_on"),
                ("decision_reason", "col_decision"),
            ],
        ),
        (
            "inquiries",
            file["inquiries"],
            [
                ("asked_at", "col_asked_at"),
                ("requester", "col_requester"),
                ("service", "col_service"),
                ("purpose", "col_purpose"),
                ("outcome", "col_outcome"),
                ("policy_version", "col_policy"),
            ],
        ),
        (
            "overrides",
            file["overrides"],
            [
                ("on_date", "col_date"),
                ("kind", "col_kind"),
                ("target", "col_target"),
                ("outcome", "col_outcome"),
                ("justification", "col_justification"),
            ],
        ),
        (
            "consents",
            file["consents"]["history"],
            [("category", "col_category"), ("granted", "col_choice"), ("recorded_at", "col_recorded_at")],
        ),
        ("notifications", file["notifications"], [("created_on", "col_date"), ("text", "col_text")]),
    ]
    return page.render(
        f=file,
        lang=lang,
        scores=scores,
        sections=sections,
        t=lambda key, **values: str(words.get(key, key)).format(**values),
        table=render_table,
    )


_TEMPLATE = """<!doctype html>
<html lang="{{ 'zh-CN' if lang == 'zh' else 'en' }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ t('file') }} {{ f.subject_id }}</title>
<style>
*{box-sizing:border-box}
body{font-family:system-ui,"WenQuanYi Micro Hei",sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222;
line-height:1.5}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}th,td{border:1px solid #ccc;padding:.3rem .5rem;
text-align:left;vertical-align:top;font-size:.9rem;overflow-wrap:break-word}th{background:#f3f3f3}.empty{color:#595959}
.id{font-family:ui-monospace,Menlo,Consolas,monospace;white-space:nowrap}
@media (max-width:37.5rem){body{margin:1rem auto}table,tbody,tr,td{display:block;width:100%}tr:first-child{display:none}
tr{border:1px solid #ccc;border-radius:6px;margin:0 0 .6rem;padding:.3rem .6rem}td{border:0;padding:.1rem 0;
display:grid;grid-template-columns:minmax(5rem,32%) minmax(0,1fr);gap:.6rem}td::before{content:attr(data-label);
color:#595959}}
</style></head><body>
<main>
<h1>{{ t('file') }}: {{ f.subject.name or '' }} <span class="id">{{ f.subject_id }}</span></h1>
<p>{{ t('exported') }} {{ f.exported_at }}</p>
{% for s in scores %}
<h2>{{ s.name }} {{ s.policy_version }} · {{ t('score') }} {{ s.score }} · {{ t('tier') }} {{ s.tier_words }}</h2>
<p>{{ t('rank') }} {{ s.rank }} / {{ s.of }} · {{ t('as_of') }} {{ s.as_of }}</p>
<p data-testid="standing">{{ t('standing', run=s.run_id, watermark=s.watermark) }}</p>
{{ table(s.reasons, [('text', 'col_reason'), ('points', 'col_points'), ('advice', 'col_advice')]) }}
{{ table(s.entries, [('list_id', 'col_list'), ('reason', 'col_reason'), ('listing_status', 'col_status'),
                     ('effective_on', 'col_effective_on')]) }}
{% endfor %}
{% for title, rows, cols in sections %}
<h2>{{ t(title) }}</h2>
{{ table(rows, cols) }}
{% endfor %}
</main>
</body></html>
"""

_TABLE = """{% if rows %}<table><tr>{% for how, head in cols %}<th scope="col">{{ head }}</th>{% endfor %}</tr>
{% for r in rows %}<tr>{% for how, head in cols %}<td data-label="{{ head }}"{% if how in ('record_id', 'number') %}\
 class="id"{% endif %}>{{ cell(r, how) }}</td>{% endfor %}</tr>
{% endfor %}</table>{% else %}<p class="empty">{{ empty }}</p>{% endif %}"""

_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "file": "Resident's file",
        "exported": "Exported",
        "score": "score",
        "tier": "grade",
        "rank": "rank",
        "as_of": "as of",
        "standing": "Decisions stand on run {run} at change {watermark}",
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
        "yes": "yes",
        "no": "no",
        "none": "Nothing recorded.",
        "col_date": "Date",
        "col_record_type": "Record",
        "col_record_id": "Record number",
        "col_source": "Source",
        "col_details": "Details",
        "col_status": "Status",
        "col_list": "List",
        "col_criterion": "Grounds",
        "col_noticed_on": "Noticed on",
        "col_effective_on": "Takes effect on",
        "col_number": "Number",
        "col_reason": "Reason",
        "col_opened_at": "Filed on",
        "col_deadline": "Answer due by",
        "col_note": "Answer",
        "col_region": "Region",
        "col_how": "How it was linked",
        "col_linked_at": "Linked on",
        "col_agreed": "What agreed",
        "col_contest": "How to contest it",
        "col_severity": "Severity",
        "col_applied_on": "Applied on",
        "col_decision": "Decision",
        "col_asked_at": "When",
        "col_requester": "Who asked",
        "col_service": "Service",
        "col_purpose": "Purpose",
        "col_outcome": "Outcome",
        "col_policy": "Policy",
        "col_kind": "Kind",
        "col_target": "What was reviewed",
        "col_justification": "Justification",
        "col_category": "Data",
        "col_choice": "Your choice",
        "col_recorded_at": "Recorded at",
        "col_text": "Text",
        "col_points": "Points",
        "col_advice": "What changes it",
        "consent_in": "counted",
        "consent_out": "not counted",
        "severity_minor": "minor",
        "severity_general": "general",
        "severity_serious": "serious",
        "override_decision": "decision",
        "override_listing": "listing",
        "target_inquiry": "inquiry",
        "target_listing": "listing",
        "listing_held": "{status}; not applied by decisions since the score of {since}: {why}",
    },
    "zh": {
        "file": "个人信用档案",
        "exported": "导出时间",
        "score": "分数",
        "tier": "等级",
        "rank": "排名",
        "as_of": "截至",
        "standing": "决定依据评分批次 {run}，截至变更 {watermark}",
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
        "yes": "是",
        "no": "否",
        "none": "暂无记录。",
        "col_date": "日期",
        "col_record_type": "记录",
        "col_record_id": "记录编号",
        "col_source": "来源",
        "col_details": "内容",
        "col_status": "状态",
        "col_list": "名单",
        "col_criterion": "列入原因",
        "col_noticed_on": "告知日期",
        "col_effective_on": "生效日期",
        "col_number": "编号",
        "col_reason": "理由",
        "col_opened_at": "提出日期",
        "col_deadline": "答复期限",
        "col_note": "答复",
        "col_region": "地区",
        "col_how": "关联方式",
        "col_linked_at": "关联日期",
        "col_agreed": "一致的信息",
        "col_contest": "如何提出异议",
        "col_severity": "失信程度",
        "col_applied_on": "申请日期",
        "col_decision": "决定",
        "col_asked_at": "时间",
        "col_requester": "查询方",
        "col_service": "服务",
        "col_purpose": "目的",
        "col_outcome": "结果",
        "col_policy": "政策",
        "col_kind": "类别",
        "col_target": "复核对象",
        "col_justification": "理由",
        "col_category": "数据类别",
        "col_choice": "您的选择",
        "col_recorded_at": "记录时间",
        "col_text": "内容",
        "col_points": "分值",
        "col_advice": "如何改善",
        "consent_in": "同意计入",
        "consent_out": "不同意计入",
        "severity_minor": "轻微",
        "severity_general": "一般",
        "severity_serious": "严重",
        "override_decision": "查询结果",
        "override_listing": "名单认定",
        "target_inquiry": "查询",
        "target_listing": "名单条目",
        "listing_held": "{status}；自 {since} 的评分以来决定不再适用：{why}",
    },
}

# The statuses (record_*, listing_*, dispute_*, repair_*), a decision's outcome (outcome_*) and purposes in the
# registry's words (registry/words.py), as the site's pages and the organisation's printable file say them.
for _which, _lang in enumerate(("zh", "en")):
    _WORDS[_lang].update(
        {
            f"{kind.removesuffix('_status')}_{code}": pair[_which]
            for kind, table in STATUS_WORDS.items()
            for code, pair in table.items()
        }
    )
    # the purposes of inquiries and of operators' views ("lease" and "operator look-up" were said in English)
    _WORDS[_lang].update({f"purpose_{code}": pair[_which] for code, pair in PURPOSE_WORDS.items()})
