"""An organisation's own file: its records, scores, listings and due process, the persons registered in its roles,
and who looked it up (docs/organisations.md).

Looked up by unified social credit code (its check digit validated) or by name (bounded and paged), by an operator
or by the organisation's representative: a person who holds ``legal_representative`` in a current ``company_role``
record for it (the registration authority's records; a role is current from its start date while it has no end date
or until the day it ended). Every look-up is audited (``read_org_file``) and shown on the file as a look-up.

Related persons are shown masked to anyone but an operator: the identity number keeps its first six and last four
characters (as the public look-up of the lists shows it), the name its family name (the first character). The rule
follows the practice of the public credit registers, which publish an organisation's legal representative by name
but never the identity numbers of its officers or shareholders.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import sqlglot
from jinja2 import select_autoescape

from socialcredit.clock import resolve_today
from socialcredit.errors import InvalidRequestError, NotFoundError
from socialcredit.identifiers import validate_uscc
from socialcredit.policy.model import ROLES
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.due_process.public_lists import mask_id
from socialcredit.registry.records.roles import (
    is_representative,
    represented_orgs,
    require_representative,
    role_is_current,
    role_records,
)
from socialcredit.registry.reporting.report import subject_report
from socialcredit.registry.scoring.policies import get_policy, name_listings
from socialcredit.registry.words import ROLE_WORDS, STATUS_WORDS
from socialcredit.store import Store, latest_subjects
from socialcredit.textcheck import page_environment

__all__ = [
    "MAX_PAGE",
    "MAX_QUERY",
    "PAGE_SIZE",
    "ROLES",
    "find_orgs",
    "is_representative",
    "mask_name",
    "org_file",
    "related_persons",
    "render_org_html",
    "represented_orgs",
    "require_representative",
]

# marks the listings (rows of ``listings``) in effect that decisions no longer apply, in a language:
# ``Service.mark_held``, given by the faces
MarkHeld = Callable[[Store, list[dict[str, Any]], str], object]
PAGE_SIZE = 20
MAX_PAGE = 500
MAX_QUERY = 64


def mask_name(name: str | None) -> str | None:
    """The family name (the first character) and one * for each other character: 张三丰 → 张**."""
    if not name:
        return name
    return name[0] + "*" * (len(name) - 1)


def _org(store: Store, org_id: str) -> dict[str, Any]:
    code = validate_uscc(org_id).number
    rows = store.rows(
        "SELECT subject_id, name, district, region_code FROM current_subjects WHERE subject_id = ? AND kind = 'org'",
        [code],
    )
    if not rows:
        raise NotFoundError(f"no registered organisation {code}", field="org_id", zh=f"没有登记的企业 {code}")
    return rows[0]


_LATEST_OF_HITS = latest_subjects(
    ("subject_id", "kind", "name", "district"), where=sqlglot.condition("subject_id IN (SELECT subject_id FROM hits)")
).sql(dialect="duckdb")


def find_orgs(
    store: Store,
    query: str,
    *,
    page: int = 1,
    actor: str = "cli",
    only: list[str] | None = None,
) -> dict[str, Any]:
    """Organisations whose code is ``query`` (a valid USCC) or whose name contains it, a page of PAGE_SIZE by name;
    ``only`` restricts the answer to those codes (a representative's own organisations). Audited."""
    q = (query or "").strip()
    if not 2 <= len(q) <= MAX_QUERY:
        raise InvalidRequestError(
            f"q must be a unified social credit code or a part of a name (2 to {MAX_QUERY} characters)",
            field="q",
            code="bad_query",
        )
    if not 1 <= page <= MAX_PAGE:
        raise InvalidRequestError(f"page must be between 1 and {MAX_PAGE}", field="page", code="bad_page")
    by_code = len(q) == 18 and q.isalnum() and q.isascii()
    params: list[Any]
    if by_code:
        where, params = "subject_id = ?", [validate_uscc(q).number]
    else:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where, params = "name LIKE ? ESCAPE '\\'", [f"%{escaped}%"]
    if only is not None:
        where += " AND list_contains(?, subject_id)"
        params.append(only)
    # By name: the organisations some version of which matches, then the latest version of those only, matched
    # again (a former name does not find it); the view current_subjects would rank every version of every subject
    # before the name is filtered (1.1 s a search at the city scale; docs/organisations.md).
    # A code is found through the view (its filter on the key is pushed below the ranking).
    hits = "" if by_code else f"WITH hits AS (SELECT DISTINCT subject_id FROM subjects WHERE kind = 'org' AND {where}) "
    rows = store.rows(
        f"{hits}SELECT subject_id AS org_id, name, district FROM "
        f"{'current_subjects' if by_code else f'({_LATEST_OF_HITS})'} WHERE kind = 'org' AND {where} "
        "ORDER BY name, subject_id LIMIT ? OFFSET ?",
        [*([] if by_code else params), *params, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE],
    )
    with store.transaction():
        append_audit(store, actor, "search_orgs", None, {"query": q, "page": page, "by": "code" if by_code else "name"})
    return {
        "query": q,
        "page": page,
        "results": rows[:PAGE_SIZE],
        "next_page": page + 1 if len(rows) > PAGE_SIZE else None,
    }


def related_persons(
    store: Store, org_id: str, *, masked: bool, today: dt.date | None = None, lang: str = "en"
) -> list[dict[str, Any]]:
    """The persons registered in a role of ``org_id`` (current first), masked unless ``masked`` is False."""
    today = resolve_today(today)
    roles = role_records(store, "r.org_id = ?", [org_id])
    ids = sorted({str(r["person_id"]) for r in roles})
    names = {
        str(s): n
        for s, n in store.execute(
            "SELECT subject_id, name FROM current_subjects WHERE list_contains(?, subject_id)", [ids]
        ).fetchall()
    }
    out = []
    for r in roles:
        pid = str(r["person_id"])
        name = names.get(pid)
        out.append(
            {
                "person_id": mask_id(pid) if masked else pid,
                "name": mask_name(name) if masked else name,
                "role": r["role"],
                "role_name": ROLE_WORDS.get(str(r["role"]), (r["role"], r["role"]))[0 if lang == "zh" else 1],
                "start_date": r["start_date"].isoformat() if r["start_date"] else None,
                "end_date": r["end_date"].isoformat() if r["end_date"] else None,
                "current": role_is_current(r, today),
            }
        )
    return sorted(out, key=lambda p: (not p["current"], ROLES.index(p["role"]) if p["role"] in ROLES else 9))


def _lookups(store: Store, org_id: str) -> list[dict[str, Any]]:
    """Earlier look-ups of the file, newest first: when, and as whom (an operator by name; the representative)."""
    rows = store.execute(
        "SELECT a.at_time, json_extract_string(a.detail, '$.as'), k.name, json_extract_string(a.detail, '$.purpose') "
        "FROM audit_log a LEFT JOIN api_keys k ON a.actor = 'key:' || k.key_id "
        "WHERE a.action = 'read_org_file' AND a.subject_id = ? ORDER BY a.seq DESC LIMIT 200",
        [org_id],
    ).fetchall()
    out = []
    for at, role, name, purpose in rows:
        rep = role == "representative"
        by = "the legal representative" if rep else (f"an operator ({name})" if name else "an operator")
        out.append(
            {
                "at": at.isoformat(sep=" "),
                "role": "representative" if rep else "operator",
                "name": None if rep else name,
                "by": by,
                "purpose": purpose or "",
            }
        )
    return out


def _acting(row: dict[str, Any], as_operator: bool) -> dict[str, Any]:
    """A dispute or repair of the organisation with the person who acted for it (``representative_id``), masked
    unless ``as_operator``."""
    rep = row.get("representative_id")
    return {**row, "representative_id": rep if as_operator or rep is None else mask_id(str(rep))}


def org_file(
    store: Store,
    org_id: str,
    *,
    actor: str,
    as_operator: bool,
    purpose: str = "organisation's file",
    lang: str = "en",
    today: dt.date | None = None,
    held: MarkHeld | None = None,
) -> dict[str, Any]:
    """The organisation's file: who it is, its scores and listings, records, due process, related persons (masked
    unless ``as_operator``) and the earlier look-ups. The caller has checked who may read it; this look-up is
    audited. With ``held`` (``Service.mark_held``: the service's decisions as they now stand), a listing in effect
    that decisions no longer apply (its record withdrawn, corrected or disputed since the run) says so, as the
    resident's file does: ``held``, the change since which, and ``held_why``, the cause in ``lang``."""
    org = _org(store, org_id)
    code = str(org["subject_id"])
    report = subject_report(
        store, code, lang=lang, actor=actor, purpose=purpose, parts=("scores", "records", "due_process")
    )
    lookups = _lookups(store, code)
    if held is not None:
        held(store, report["notices"], lang)
    with store.transaction():
        append_audit(
            store,
            actor,
            "read_org_file",
            code,
            {"as": "operator" if as_operator else "representative", "purpose": purpose},
        )
    out = {
        "organisation": {"org_id": code, "name": org["name"], "district": org["district"]},
        "scores": report["scores"],
        "records": report["records"],
        "listings": report["notices"],
        # who acted for the organisation in each, masked as the related persons are
        "disputes": [_acting(d, as_operator) for d in report["disputes"]],
        "repairs": [_acting(r, as_operator) for r in report["repairs"]],
        "related_persons": related_persons(store, code, masked=not as_operator, today=today, lang=lang),
        "persons_masked": not as_operator,
        "lookups": lookups,
    }
    _name(store, out, lang)
    return out


def _name(store: Store, file: dict[str, Any], lang: str) -> None:
    """Names in the reader's language beside the codes, for the pages and the printable report: each score's and
    listing's ``policy_name``, a listing's ``list_name`` and ``criterion_text``, a record's ``source_name`` and
    ``type_name`` (the code where the policy or catalog no longer knows it)."""
    for s in file["scores"]:
        try:
            s["policy_name"] = get_policy(store, str(s["policy"]), s.get("policy_version")).policy.name.get(lang)
        except NotFoundError:
            s["policy_name"] = s["policy"]
    name_listings(store, file["listings"], lang)
    catalog = store.catalog
    for r in file["records"]:
        source, kind = catalog.sources.get(r["source_id"]), catalog.record_types.get(r["record_type"])
        r["source_name"] = source.name.get(lang) if source else r["source_id"]
        r["type_name"] = kind.name.get(lang) if kind else r["record_type"]
    for case in (*file["disputes"], *file["repairs"]):
        source = catalog.sources.get(case.get("source_id"))
        case["source_name"] = source.name.get(lang) if source else case.get("source_id")


_PAGE = """<!doctype html>
<html lang="{{ 'zh-CN' if zh else 'en' }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ t.title }}: {{ org.name }}</title>
<style>
*{box-sizing:border-box}
body{font-family:system-ui,"WenQuanYi Micro Hei",sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem;color:#111}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}th,td{border:1px solid #999;padding:.3rem .5rem;
text-align:left;vertical-align:top}h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:1.5rem}
@media print{body{margin:0;max-width:none;font-size:10pt}h2{break-after:avoid}tr{break-inside:avoid}
a{color:inherit;text-decoration:none}}
@media (max-width:37.5rem){body{padding:0 .5rem}table{table-layout:fixed;font-size:.85rem}th,td{padding:.2rem .3rem;
overflow-wrap:anywhere}}
</style></head><body><main>
<h1>{{ t.title }}: {{ org.name }}</h1>
<p>{{ t.code }}: {{ org.org_id }}{% if org.district %} · {{ t.district }}: {{ org.district }}{% endif %}</p>
<h2>{{ t.scores }}</h2>
{% if file.scores %}<table><thead><tr><th>{{ t.policy }}</th><th>{{ t.score }}</th><th>{{ t.tier }}</th>
<th>{{ t.lists }}</th></tr></thead><tbody>
{% for s in file.scores %}<tr><td>{{ s.policy_name }} {{ s.policy_version }}</td><td>{{ s.score }}</td>
<td>{{ s.tier }}</td><td>{% for l in s.lists %}{{ l.reason }} ({{ t.listing_status.get(l.status,
l.status) }}){% if not loop.last %}; {% endif %}{% else %}—{% endfor %}</td>
</tr>{% endfor %}</tbody></table>{% else %}<p>{{ t.none }}</p>{% endif %}
<h2>{{ t.listings }}</h2>
{% if file.listings %}<table><thead><tr><th>{{ t.list }}</th><th>{{ t.cause }}</th><th>{{ t.noticed }}</th>
<th>{{ t.effective }}</th><th>{{ t.status }}</th></tr></thead><tbody>
{% for l in file.listings %}<tr><td>{{ l.list_name }}</td>
<td>{{ l.criterion_text }} ({{ t.record }} {{ l.record_id }})</td>
<td>{{ l.noticed_on }}</td><td>{{ l.effective_on }}</td>
{%- set status = t.listing_status.get(l.status, l.status) -%}
<td>{{ t.held.format(status=status, since=l.held_since, why=l.held_why) if l.held_why else status }}</td></tr>
{% endfor %}
</tbody></table>{% else %}<p>{{ t.none }}</p>{% endif %}
<h2>{{ t.records }}</h2>
{% if file.records %}<table><thead><tr><th>{{ t.date }}</th><th>{{ t.source }}</th><th>{{ t.type }}</th>
<th>{{ t.status }}</th></tr></thead><tbody>
{% for r in file.records %}<tr><td>{{ r.event_date }}</td><td>{{ r.source_name }} {{ r.record_id }}</td>
<td>{{ r.type_name }}</td><td>{{ t.record_status.get(r.status, r.status) }}</td></tr>{% endfor %}</tbody></table>
{% else %}<p>{{ t.none }}</p>{% endif %}
<h2>{{ t.disputes }}</h2>
{% if file.disputes %}<table><thead><tr><th>{{ t.number }}</th><th>{{ t.source }}</th><th>{{ t.opened }}</th>
<th>{{ t.status }}</th><th>{{ t.acting_for }}</th></tr></thead><tbody>
{% for d in file.disputes %}<tr><td>{{ d.dispute_id }}</td><td>{{ d.source_name }} {{ d.record_id }}</td>
<td>{{ d.opened_at }}</td><td>{{ t.dispute_status.get(d.status,
d.status) }}</td><td>{{ d.representative_id or "—" }}</td></tr>{% endfor %}
</tbody></table>{% else %}<p>{{ t.none }}</p>{% endif %}
<h2>{{ t.repairs }}</h2>
{% if file.repairs %}<table><thead><tr><th>{{ t.number }}</th><th>{{ t.source }}</th><th>{{ t.applied }}</th>
<th>{{ t.status }}</th><th>{{ t.acting_for }}</th></tr></thead><tbody>
{% for r in file.repairs %}<tr><td>{{ r.repair_id }}</td><td>{{ r.source_name }} {{ r.record_id }}</td>
<td>{{ r.applied_on }}</td><td>{{ t.repair_status.get(r.status,
r.status) }}</td><td>{{ r.representative_id or "—" }}</td></tr>{% endfor %}
</tbody></table>{% else %}<p>{{ t.none }}</p>{% endif %}
<h2>{{ t.persons }}</h2>
{% if file.related_persons %}<table><thead><tr><th>{{ t.name }}</th><th>{{ t.id }}</th><th>{{ t.role }}</th>
<th>{{ t.since }}</th><th>{{ t.until }}</th></tr></thead><tbody>
{% for p in file.related_persons %}<tr><td>{{ p.name or "—" }}</td><td>{{ p.person_id }}</td><td>{{ p.role_name }}</td>
<td>{{ p.start_date }}</td><td>{{ p.end_date or "—" }}</td></tr>{% endfor %}</tbody></table>
{% if file.persons_masked %}<p>{{ t.masked }}</p>{% endif %}{% else %}<p>{{ t.none }}</p>{% endif %}
<h2>{{ t.lookups }}</h2>
{% if file.lookups %}<ul>{% for q in file.lookups %}<li>{{ q.at }}: {{ t.by_rep if q.role == "representative"
else t.by_operator ~ (" (" ~ q.name ~ ")" if q.name else "") }}</li>{% endfor %}</ul>
{% else %}<p>{{ t.none }}</p>{% endif %}
</main></body></html>
"""

_WORDS = {
    "en": {
        "title": "Credit report of an organisation",
        "code": "Unified social credit code",
        "district": "district",
        "scores": "Scores and lists",
        "policy": "Policy",
        "score": "Score",
        "tier": "Grade",
        "lists": "Lists",
        "listings": "Listings",
        "list": "List",
        "cause": "Cause",
        "noticed": "Notice",
        "effective": "In effect from",
        "status": "Status",
        "records": "Records",
        "date": "Date",
        "source": "Source",
        "type": "Type",
        "record": "record",
        "disputes": "Disputes",
        "repairs": "Credit repair applications",
        "number": "Number",
        "opened": "Opened",
        "applied": "Applied",
        "acting_for": "Acting for the organisation",
        "persons": "Related persons",
        "name": "Name",
        "id": "Identity number",
        "role": "Role",
        "since": "From",
        "until": "Until",
        "masked": "Names and identity numbers are shown masked: only an operator sees them in full.",
        "lookups": "Look-ups of this file",
        "by_rep": "the legal representative",
        "by_operator": "an operator",
        "none": "Nothing recorded.",
        "held": "{status}; not applied by decisions since the score of {since}: {why}",
    },
    "zh": {
        "title": "企业信用报告",
        "code": "统一社会信用代码",
        "district": "区",
        "scores": "评分与名单",
        "policy": "政策",
        "score": "分数",
        "tier": "等级",
        "lists": "名单",
        "listings": "列入名单记录",
        "list": "名单",
        "cause": "原因",
        "noticed": "告知日期",
        "effective": "生效日期",
        "status": "状态",
        "records": "信用记录",
        "date": "日期",
        "source": "来源",
        "type": "类型",
        "record": "记录",
        "disputes": "异议",
        "repairs": "信用修复申请",
        "number": "编号",
        "opened": "提出日期",
        "applied": "申请日期",
        "acting_for": "代表企业办理人",
        "persons": "关联人员",
        "name": "姓名",
        "id": "身份证号",
        "role": "职务",
        "since": "起",
        "until": "止",
        "masked": "姓名与身份证号已作遮蔽处理：仅运营方可见全文。",
        "lookups": "本报告的查询记录",
        "by_rep": "法定代表人",
        "by_operator": "运营方",
        "none": "无。",
        "held": "{status}；自 {since} 的评分以来决定不再适用：{why}",
    },
}


def render_org_html(file: dict[str, Any], lang: str = "en") -> str:
    """The organisation's file as one self-contained printable HTML page."""
    env = page_environment(autoescape=select_autoescape(default=True, default_for_string=True))
    which = 0 if lang == "zh" else 1
    words: dict[str, Any] = {
        **_WORDS["zh" if lang == "zh" else "en"],
        **{kind: {k: v[which] for k, v in table.items()} for kind, table in STATUS_WORDS.items()},
    }
    return env.from_string(_PAGE).render(file=file, org=file["organisation"], t=words, zh=lang == "zh")
