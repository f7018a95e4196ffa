"""The operator dashboard: the city at a glance, runs and lists, finding a subject (audited), policies' rules."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from socialcredit.clock import resolve_today
from socialcredit.errors import NotFoundError, WorkflowError, quoted
from socialcredit.policy import LoadedPolicy
from socialcredit.policy.explain import explain_rule
from socialcredit.policy.model import ListCriterion, Policy
from socialcredit.policy.words import figure
from socialcredit.regions.alerts import list_alerts
from socialcredit.regions.exchange import list_review_queue
from socialcredit.registry.due_process.disputes import list_disputes
from socialcredit.registry.due_process.links import list_link_disputes
from socialcredit.registry.due_process.listings import list_listings, took_effect_days
from socialcredit.registry.due_process.overrides import LISTING_OUTCOMES, override_listing
from socialcredit.registry.due_process.public_lists import Held
from socialcredit.registry.due_process.repair import list_repairs
from socialcredit.registry.reporting import dashboard
from socialcredit.registry.reporting.disparity import difference_text
from socialcredit.registry.reporting.lab_panels import lab_panels
from socialcredit.registry.reporting.listing_details import held_now
from socialcredit.registry.reporting.policy_text import Item, condition_words, policy_text
from socialcredit.registry.scoring.policies import get_policy, published_policy_ids, published_versions
from socialcredit.store import Store
from socialcredit.web.charts import Bar, bars, histogram
from socialcredit.web.codes import district_words, name_listings, policy_names, tier_label
from socialcredit.web.core import Page, Web
from socialcredit.web.resident import file_context, inquiries_page

__all__ = ["add_routes"]

CASES_SHOWN = 200  # the most urgent of each kind; the CLI and the API page through the rest


def _latest_runs(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The run in force of each policy (the run decisions, lists and pages stand on) among ``runs``
    (``dashboard.runs``), by policy id."""
    out: dict[str, dict[str, Any]] = {}
    for r in runs:
        if r["in_force"]:
            out.setdefault(r["policy_id"], r)
    return out


def _list_names(store: Store, policy_ids: list[str], page: Page) -> dict[str, str]:
    """Every list of the runs' policies by its name in the page's language, as the policy gives it (the restriction
    on high spending, say); the blacklist and the redlist in the site's own words, whichever policy holds them."""
    out: dict[str, str] = {}
    for pid in sorted(set(policy_ids)):
        try:
            lists = get_policy(store, pid).policy.lists
        except NotFoundError:
            continue
        for lst in lists:
            out.setdefault(lst.id, lst.name.get(page.lang))
    return {**out, "blacklist": page.t("list_blacklist"), "redlist": page.t("list_redlist")}


def _dashboard(store: Store, page: Page, held: Held) -> dict[str, Any]:
    # with their list sizes, and how many decisions no longer apply as the service decides now: worked out once
    runs = dashboard.runs(store, held=held)
    latest = _latest_runs(runs)
    # policies scored only by what-ifs or reruns: none of their runs is in force, and the page says so
    not_in_force = sorted({str(r["policy_id"]) for r in runs} - set(latest))
    if not latest:
        return {"run": None, "policies": [], "not_in_force": not_in_force}
    chosen = page.query("policy")
    run = latest.get(chosen) or latest.get("beijing") or next(iter(latest.values()))
    run_id = int(run["run_id"])
    policy = get_policy(store, run["policy_id"], run["policy_version"]).policy
    t = page.t
    hist = dashboard.histogram(store, run_id)
    tiers = dashboard.tier_counts(store, run_id)
    for tier in tiers:
        tier["label"] = tier["tier"] + (f" · {tier['name'].get(page.lang)}" if tier["name"] else "")
    # the blacklisted decisions no longer apply, as the run's list size says them apart: apart here too
    apart_ids = run["held_subjects"].get("blacklist", [])
    districts, outside = dashboard.district_figures(store, run_id, apart_ids)
    name_key = "name_zh" if page.lang == "zh" else "name_en"
    scored = [d for d in districts if d["residents"]]
    professions = dashboard.by_profession(store, run_id, apart_ids)
    ages = dashboard.by_age_band(store, run_id, apart_ids)

    def apart(text: str, n: int) -> str:
        """A bar's figure, with how many of those it counts decisions no longer apply."""
        return f"{text} {t('held_short', n=f'{n:,}')}" if n else text

    # where each chart of means starts (a round number below its lowest mean), as its description says
    lo_districts = _floor(min((d["mean_score"] for d in scored), default=0.0))
    lo_professions = _floor(min((p["mean_score"] for p in professions), default=0.0))
    lo_ages = _floor(min((a["mean_score"] for a in ages if a["residents"]), default=0.0))
    list_ids = sorted({k for r in runs for k in r["lists"]})
    names = policy_names(store, [r["policy_id"] for r in runs], page.lang)
    list_names = _list_names(store, [r["policy_id"] for r in runs], page)
    return {
        "run": run,
        "not_in_force": not_in_force,
        "policy": policy,
        "policy_name": policy.name.get(page.lang),
        "policies": sorted(latest),
        "names": names,
        "hist": hist,
        "hist_chart": histogram(
            [(b["lo"], b["hi"], b["n"]) for b in hist["bins"]],
            title=t("chart_histogram_title", policy=policy.name.get(page.lang)),
            desc=t("chart_histogram_desc", n=hist["n"], width=hist["width"]),
            x_label=t("score"),
        ),
        "tiers": tiers,
        "tiers_chart": bars(
            [Bar(x["label"], x["n"], f"{x['n']:,}") for x in tiers],
            title=t("chart_tiers_title"),
            desc=t("chart_tiers_desc"),
        ),
        "districts": districts,
        "outside_districts": outside,
        "district_name": name_key,
        "districts_chart": bars(
            [Bar(d[name_key], d["mean_score"] or 0, f"{d['mean_score']:.1f}") for d in scored],
            title=t("chart_districts_title"),
            desc=t("chart_districts_desc", low=f"{lo_districts:g}"),
            lo=lo_districts,
        ),
        "districts_black_chart": bars(
            [
                Bar(d[name_key], d["blacklist_per_10k"] or 0, apart(f"{d['blacklist_per_10k']:.1f}", d["held"]), "warn")
                for d in scored
            ],
            title=t("chart_districts_black_title"),
            desc=t("chart_districts_black_desc"),
        ),
        "professions": professions,
        "professions_chart": bars(
            [
                Bar(t(f"profession_{p['profession']}"), p["mean_score"] or 0, f"{p['mean_score']:.1f}")
                for p in professions
            ],
            title=t("chart_professions_title"),
            desc=t("chart_districts_desc", low=f"{lo_professions:g}"),
            lo=lo_professions,
        ),
        "ages": ages,
        "ages_chart": bars(
            [Bar(a["band"], a["mean_score"] or 0, f"{a['mean_score']:.1f}") for a in ages if a["residents"]],
            title=t("chart_ages_title"),
            desc=t("chart_districts_desc", low=f"{lo_ages:g}"),
            lo=lo_ages,
        ),
        "runs": runs,
        # the policy lab (_lab_panels.html), the held worked out above passed in
        "lab": _lab_words(store, lab_panels(store, run_id, held_subjects=run["held_subjects"]), policy, page),
        "listings": dashboard.listing_counts(store),
        "list_ids": list_ids,
        "list_names": list_names,
        "lists_chart": bars(
            [
                Bar(
                    f"#{r['run_id']} {names.get(r['policy_id'], r['policy_id'])} · {list_names.get(lst, lst)}",
                    r["lists"].get(lst, 0),
                    apart(f"{r['lists'].get(lst, 0):,}", r["held"].get(lst, 0)),
                    "warn" if lst == "blacklist" else "good",
                )
                for r in reversed(runs)
                for lst in list_ids
            ],
            title=t("chart_lists_title"),
            desc=t("chart_lists_desc"),
            width=960,
        ),
    }


def _lab_words(store: Store, lab: dict[str, Any], policy: Policy, page: Page) -> dict[str, Any]:
    """The lab panels' codes in words: each measure by its list, service or tier, each rule by its reason, each
    drift alert by its policy's words (the panels show no raw identifier)."""
    lang, t = page.lang, page.t

    def rule_words(p: Policy) -> dict[str, str]:
        return {r.id: getattr(r.reason, lang) for r in p.rules}

    lists = {x.id: x.name.get(lang) for x in policy.lists}
    services = {x.id: x.name.get(lang) for x in policy.services}
    tiers = {x.id: tier_label(x.id, x.name.get(lang) if x.name else "") for x in policy.tiers}
    rules = rule_words(policy)
    rows = []
    for f in lab["disparity"]["rows"]:
        kind, _, code = f["metric"].partition(":")
        name = {"list": lists, "refused": services, "tier": tiers}[kind].get(code, code)
        group = f["group"]
        if f["dimension"] == "profession":
            group = t("profession_" + group, default=group)
        elif f["dimension"] == "district":
            group = district_words(group, lang)
        elif f["dimension"] == "sex":
            group = t("lab_sex_" + group, default=group)
        named = [
            {**r, "name": rules.get(r["rule"], r["rule"]), "difference_text": difference_text(r["difference"])}
            for r in f.get("rules", [])
        ]
        rows.append({**f, "measure": t("lab_measure_" + kind, name=name), "group_words": group, "rules": named})
    drifts = []
    sep = "、" if lang == "zh" else ", "
    for d in lab["drift"]:
        words = rule_words(get_policy(store, d["policy"], d["run_b"]["version"]).policy)
        alerts = [
            {**a, "words": t("lab_drift_score") if a["rule"] is None else words.get(a["rule"], a["rule"])}
            for a in d["alerts"]
        ]
        # a rule in one run only (the version changed): by its words in the version that has it
        before = (
            words
            if d["run_a"]["version"] == d["run_b"]["version"]
            else rule_words(get_policy(store, d["policy"], d["run_a"]["version"]).policy)
        )
        added = sep.join(words.get(r, r) for r in d["added"])
        removed = sep.join(before.get(r, r) for r in d["removed"])
        drifts.append({**d, "alerts": alerts, "added_words": added, "removed_words": removed})
    # what each blacklist's rate counts: whom decisions count, and how many of those the run listed it leaves out
    overall = lab["disparity"]["overall"]
    counts = [
        {"list": lists.get(k, k), "counted": overall.get(f"list:{k}", {}).get("count", 0), **whys}
        for k, whys in lab["disparity"]["unapplied"].items()
    ]
    return {"disparity": {**lab["disparity"], "rows": rows, "counts": counts}, "drift": drifts}


def _floor(value: float) -> float:
    """A round number a little below ``value``: where a bar chart of close averages starts."""
    return float(int(value // 50) * 50 - 50)


def _rule_words(item: Item | None, lang: str) -> str:
    """A rule's facets from the public policy page, as one sentence (its record, points, how long it counts)."""
    if item is None:
        return ""
    colon, sep = ("：", "；") if lang == "zh" else (": ", "; ")
    return sep.join(f"{label}{colon}{words}" for label, words in item.lines[:3])


def _criterion_words(loaded: LoadedPolicy, list_id: str, c: ListCriterion, lang: str) -> str:
    """When a criterion lists a subject, in words as on the public policy page (a record's type first)."""
    words = condition_words(loaded, f"list:{list_id}.{c.id}", lang, record=c.record is not None) or ""
    if c.record is None:
        return words
    record = loaded.record_catalog.record_types[c.record.record_type].name.get(lang)
    if not c.record.when:
        return record
    return f"{record}（{words}）" if lang == "zh" else f"{record} ({words})"


def _policy_table(store: Store, page: Page, policy_id: str) -> dict[str, Any]:
    loaded = get_policy(store, policy_id)
    p = loaded.policy
    catalog = store.catalog
    lang = page.lang
    # the rules in words, as the public policy page says them (no condition written as code)
    items = {i.key: i for s in policy_text(loaded, lang).sections for i in s.items}
    dims = []
    for d in p.dimensions:
        rules = [
            {
                "id": r.id,
                "record_type": catalog.record_types[r.record_type].name.get(lang),
                "points": r.points,
                "sentence": _rule_words(items.get(f"rule:{r.id}"), lang) or explain_rule(r, lang, catalog),
                "reason": r.reason.text(lang),
                "advice": r.advice.get(lang) if r.advice else "",
            }
            for r in p.rules
            if r.dimension == d.id
        ]
        # as every face writes a dimension's range, with the hyphen of the rules' points beside it (%+g)
        lo, hi = figure(d.min, minus="-", none="−∞", exact=True), figure(d.max, none="+∞", exact=True)
        dims.append({"id": d.id, "name": d.name.get(lang), "min": lo, "max": hi, "rules": rules})
    lists = [
        {
            "id": lst.id,
            "name": lst.name.get(lang),
            "criteria": [
                {
                    "id": c.id,
                    "when": _criterion_words(loaded, lst.id, c, lang),
                    "reason": c.reason.text(lang),
                    "advice": c.advice.get(lang) if c.advice else "",
                }
                for c in lst.criteria
            ],
        }
        for lst in p.lists
    ]
    return {
        "loaded": loaded,
        "policy": p,
        "policy_name": p.name.get(lang),
        "description": p.description.get(lang) if p.description else "",
        "tiers": sorted(p.tiers, key=lambda t: -t.min),
        "dims": dims,
        "lists": lists,
        "services": [
            {"id": s.id, "name": s.name.get(lang), "grant_if": condition_words(loaded, f"service:{s.id}", lang) or ""}
            for s in p.services
        ],
        "tier_labels": {t.id: tier_label(t.id, t.name.get(lang) if t.name else "") for t in p.tiers},
    }


# The registry words an operator's view for the resident's "who looked" list; the operator reads it of the resident,
# or of the organisation when the subject is one (it read "查看了该居民的档案" of a company)
_VIEWED = {
    "person": {"viewed your file": "viewed the resident's file", "查看了您的档案": "查看了该居民的档案"},
    "org": {"viewed your file": "viewed the organisation's file", "查看了您的档案": "查看了该单位的档案"},
}


def _views_in_third_person(report: dict[str, Any]) -> None:
    viewed = _VIEWED["org" if report.get("subject", {}).get("kind") == "org" else "person"]
    for q in report.get("inquiries", []):
        if q.get("outcome") == "viewed":
            for said, third in viewed.items():
                q["requester"] = str(q["requester"]).replace(said, third)


def add_routes(router: APIRouter, web: Web) -> None:
    @router.get("/ops")
    @web.page("operator")
    def overview(page: Page) -> Response:
        with web.service.writer() as store:
            context = _dashboard(store, page, web.service.held_listings)
        return page.render("ops_dashboard.html", section="dashboard", **context)

    @router.get("/ops/subjects")
    @web.page("operator")
    def search(page: Page) -> Response:
        q = page.query("q").strip()
        found: list[dict[str, Any]] = []
        if q:
            assert page.who is not None
            with web.service.writer() as store:
                found = dashboard.search_subjects(store, q, actor=page.who.actor)
        return page.render("ops_search.html", section="subjects", q=q, found=found)

    @router.get("/ops/subjects/{subject_id}")
    @web.page("operator")
    def subject(page: Page) -> Response:
        subject_id = page.subject_in_path()
        page.voice = "third"  # the file speaks of the resident, not to them
        assert page.who is not None
        with web.service.writer() as store:
            # the page shows the scores, records and who asked; its listings and disputes are read below, once
            web.service.flush_for_reading()  # who asked includes the journal's inquiries (as the API's file)
            try:
                report = file_context(
                    store,
                    page,
                    subject_id,
                    "operator look-up",
                    web.service.live_views(subject_id),
                    ("scores", "records", "inquiries"),
                )
            except NotFoundError:  # in the page's language, quoting the subject as compacted
                raise NotFoundError(page.t("notfound_subject", subject=quoted(subject_id))) from None
            if report["subject"]["kind"] == "org":
                page.voice = "third_org"  # of the organisation ("该单位"), not of a resident
            # audited as reads of the resident (read_disputes, read_notices) of the same look-up; the resident's
            # list of who asked shows the look-up once, as the file's read (read_report) above
            who, why = page.who.actor, "operator look-up"
            disputes = list_disputes(store, subject_id=subject_id, actor=who, purpose=why)
            listings = list_listings(store, subject_id=subject_id, actor=who, purpose=why)
            name_listings(store, listings, page.lang)
            took_effect_days(store, listings)  # the day each took effect, as the resident's page says it
            # as decisions stand now: a listing whose cause the live thread no longer finds says so
            held_now(store, listings, web.service.live_views(subject_id), page.lang)
        _views_in_third_person(report)
        paging = inquiries_page(page, report, f"/ops/subjects/{subject_id}")  # who asked, a page at a time
        if isinstance(paging, Response):
            return paging
        return page.render(
            "ops_subject.html",
            section="subjects",
            report=report,
            disputes=disputes,
            listings=listings,
            paging=paging,
        )

    @router.post("/ops/listings/{listing_id}/override")
    @web.page("operator")
    def override_listing_form(page: Page) -> Response:
        """An operator removes a listing, or reverses such a removal (``outcome`` removed or restored), with a
        justification shown to the resident; refused (409) in the page's language when nothing would change."""
        assert page.who is not None
        raw = str(page.request.path_params["listing_id"])
        listing_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None
        outcome = page.form.get("outcome", "")
        if listing_id is None:
            raise NotFoundError(f"no listing {quoted(raw)}", zh=f"没有名单认定 {quoted(raw)}")
        if outcome not in LISTING_OUTCOMES:
            return page.error(400, "error_bad_request_title", page.t("override_err_outcome"))
        try:
            with web.service.writer() as store:
                done = override_listing(
                    store,
                    listing_id,
                    page.form.get("justification", ""),
                    page.who.actor,
                    outcome=outcome,
                    today=resolve_today(),
                )
                web.service.relisted(store, [str(done["subject_id"])])  # decisions follow it, as over the API
        except WorkflowError as exc:  # nothing would change, or the listing ended otherwise: 409, in words
            return page.error(exc.status, "error_bad_request_title", exc.said_in(page.lang))
        return page.redirect(f"/ops/subjects/{done['subject_id']}?overridden={done['override_id']}#h-listings")

    @router.get("/ops/cases")
    @web.page("operator")
    def cases(page: Page) -> Response:
        assert page.who is not None
        who = page.who.actor  # each list names residents: its read is audited, as the API's page of it is
        with web.service.writer() as store:
            found = list_disputes(store, status="open", actor=who)
            disputes = sorted(found, key=lambda d: (d["deadline"], d["dispute_id"]))
            waiting = list_listings(store, status="pending", actor=who)
            pending = sorted(waiting, key=lambda x: (x["effective_on"], x["listing_id"]))
            # In grace are the listings whose effective date is still ahead; the daily job makes the others
            # effective (listings.activate_due), and until it runs they are counted apart, not shown as in grace.
            today = resolve_today().isoformat()
            past_due = [x for x in pending if x["effective_on"] <= today]
            pending = [x for x in pending if x["effective_on"] > today]
            applied = list_repairs(store, status="pending", actor=who)
            repairs = sorted(applied, key=lambda r: (r["applied_on"], r["repair_id"]))
            review = list_review_queue(store, actor=who)
            alerts = list_alerts(store, actor=who)
            opened = list_link_disputes(store, status="open", actor=who)
            contested = sorted(opened, key=lambda d: (d["deadline"], d["dispute_id"]))
            name_listings(store, pending[:CASES_SHOWN], page.lang)
            names = policy_names(store, [r["policy_id"] for r in repairs[:CASES_SHOWN]], page.lang)
        return page.render(
            "ops_cases.html",
            section="cases",
            disputes=disputes[:CASES_SHOWN],
            n_disputes=len(disputes),
            contested=contested[:CASES_SHOWN],
            n_contested=len(contested),
            pending=pending[:CASES_SHOWN],
            n_pending=len(pending),
            n_past_due=len(past_due),
            repairs=repairs[:CASES_SHOWN],
            n_repairs=len(repairs),
            review=review[:CASES_SHOWN],
            n_review=len(review),
            alerts=alerts[-CASES_SHOWN:][::-1],
            n_alerts=len(alerts),
            shown=CASES_SHOWN,
            names=names,
        )

    @router.get("/ops/policies")
    @web.page("operator")
    def policies(page: Page) -> Response:
        with web.service.writer() as store:
            rows = published_versions(store, newest_first=True)
            names = policy_names(store, [r["policy_id"] for r in rows], page.lang)
        return page.render("ops_policies.html", section="policies", rows=rows, names=names)

    @router.get("/ops/policies/{policy_id}")
    @web.page("operator")
    def policy(page: Page) -> Response:
        policy_id = str(page.request.path_params["policy_id"])[:64]
        with web.service.writer() as store:
            if policy_id not in published_policy_ids(store):
                raise NotFoundError(page.t("notfound_policy", policy=repr(policy_id)))
            context = _policy_table(store, page, policy_id)
        return page.render("ops_policy.html", section="policies", **context)
