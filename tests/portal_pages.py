"""Every page of the site, as a table, over a world seeded so that every page has something to show.

The phone, axe and raw-identifier tests (tests/test_web_phone.py, tests/test_web_axe.py) walk ``PAGES``: a new page
is one line here — its path (``{listed}``, ``{token}``, ``{name}`` are filled from the world), who is signed in
(``None``, ``"resident"`` or ``"operator"``) and the status it answers with.

The world: the example city (200 residents) scored by both policies, then Beijing again 61 days later, so that the
listed resident's blacklisting is in effect (refused, listed, noticed, published). That resident disputed a record
and added to it, changed a consent, froze the file and placed a fraud alert; two relying parties asked about them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_helpers import auth, copy_of, serving
from socialcredit.api.app import create_app
from socialcredit.clock import resolve_today
from socialcredit.example import AS_OF
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.access.signin import issue_link
from socialcredit.registry.access.throttle import Limit, Throttle
from socialcredit.registry.due_process.disputes import add_information, file_dispute
from socialcredit.registry.due_process.freeze import place_fraud_alert, place_freeze
from socialcredit.registry.records.consent import set_consent
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.registry.scoring.memoranda import publish_shipped_memoranda
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.registry.scoring.runs import score
from socialcredit.store import Store
from web_helpers import scored_site, sign_in

__all__ = ["LANGS", "PAGES", "PortalPage", "portal", "role_tabs", "session_cookies"]

LANGS = ("zh", "en")
LATER = AS_OF + dt.timedelta(days=61)  # the blacklisting's 60 days of grace are over


@dataclass(frozen=True)
class PortalPage:
    path: str
    who: str | None = None  # None: nobody signed in; "resident"; "operator"; "furnisher" (of the disputed source)
    status: int = 200

    @property
    def id(self) -> str:
        return f"{self.who or 'anyone'}:{self.path}"

    def url(self, world: dict[str, Any], lang: str) -> str:
        path = self.path.format(**world["fill"])
        return path + ("&" if "?" in path else "?") + f"lang={lang}"


PAGES = [
    PortalPage("/signin"),
    PortalPage("/signin/link?token={token}"),
    PortalPage("/lists"),
    PortalPage("/lists?q={name}"),  # a listed person: one row
    PortalPage("/lists?q=110101190001010000"),  # nobody: "no published record"
    PortalPage("/policies"),
    PortalPage("/policies/beijing"),
    PortalPage("/policies/sesame"),
    PortalPage("/policies/beijing/2026.2"),
    PortalPage("/policies/nowhere", status=404),
    PortalPage("/me", "resident"),
    PortalPage("/me/records", "resident"),
    PortalPage("/me/disputes", "resident"),
    PortalPage("/me/inquiries", "resident"),
    PortalPage("/me/consents", "resident"),
    PortalPage("/me/freeze", "resident"),
    PortalPage("/me/file.html", "resident"),
    PortalPage("/me/history", "resident"),
    PortalPage("/me/listings/{listing}", "resident"),
    PortalPage("/me/records/detail?source={cause_source}&record={cause_record}", "resident"),
    PortalPage("/me/repair?source={cause_source}&record={cause_record}", "resident"),
    PortalPage("/me/disputes/{dispute}", "resident"),
    PortalPage("/signin/new-link"),
    PortalPage("/furnisher", "furnisher"),
    PortalPage("/ops", "resident", status=403),
    PortalPage("/ops", "operator"),
    PortalPage("/ops/subjects?q={name}", "operator"),
    PortalPage("/ops/subjects/{listed}", "operator"),
    PortalPage("/ops/cases", "operator"),
    PortalPage("/ops/repairs", "operator"),
    PortalPage("/ops/disputes/{dispute}", "operator"),
    PortalPage("/ops/policies", "operator"),
    PortalPage("/ops/policies/beijing", "operator"),
    PortalPage("/ops/policies/sesame", "operator"),
    PortalPage("/ops/subjects/110101199001011237", "operator", status=404),
    # an organisation's own file (issue 20): the listed resident is the legal representative of {org}
    PortalPage("/orgs?q={org_name}", "operator"),
    PortalPage("/orgs/{org}", "operator"),
    PortalPage("/orgs?q={org_name}", "resident"),
    PortalPage("/orgs/{org}", "resident"),
    PortalPage("/orgs/{org}?print=1", "resident"),  # the printable report: names, not codes
    PortalPage("/orgs/{other_org}", "resident", status=403),
    # the organisation's dispute the representative filed, on their own dispute page (docs/organisations.md)
    PortalPage("/me/disputes/{org_dispute}", "resident"),
    # the representative's repair application for the organisation's late tax payment; refused for another's
    PortalPage("/orgs/{org}/repair?source=tax_bureau&record=ORG-TAX-1", "resident"),
    PortalPage("/orgs/{other_org}/repair?source=tax_bureau&record=ORG-TAX-1", "resident", status=403),
    # the representative's form to dispute a record of the organisation (the resident's); refused for another's
    PortalPage("/orgs/{org}/disputes?record=tax_bureau|ORG-TAX-1", "resident"),
    PortalPage("/orgs/{other_org}/disputes", "resident", status=403),
]


def _generous() -> Throttle:
    """Limits no walk of every page in two languages reaches (the tests ask from one address)."""
    names = ("auth", "key_failures", "signin", "key", "lookup", "public", "audit")
    return Throttle({n: Limit(n, 1_000_000, 60, "requests") for n in names})


def _scored_portal(folder: Path) -> Store:
    """The shipped example (200 residents) ingested into a store in ``folder``, scored under each shipped policy,
    then under beijing on a later day: the store every module's portal copies (see api_helpers.copy_of). The first
    two runs are web_helpers' site, copied."""
    store = scored_site(folder)
    score(store, resolve_policy(store, "beijing"), LATER, today=LATER)  # a run of its day, not a what-if
    return store


def _seeded_portal(folder: Path) -> Store:
    """The portal's store (``_scored_portal``) in ``folder`` with the world of the module docstring made in it; the
    keys, the sign-in link and the ids the pages are filled with, written beside it to ``portal.json``."""
    store = copy_of(folder, "portal", _scored_portal)
    listed, name = store.execute(
        "SELECT l.subject_id, s.name FROM listings l JOIN current_subjects s USING (subject_id) "
        "WHERE l.status = 'effective' AND s.kind = 'person' ORDER BY l.subject_id LIMIT 1"
    ).fetchone()
    record = store.rows(
        "SELECT source_id, record_id FROM records WHERE subject_id = ? ORDER BY event_date DESC, record_id LIMIT 1",
        [listed],
    )[0]
    dispute = file_dispute(
        store,
        listed,
        record["source_id"],
        record["record_id"],
        "这条记录不是我的。",
        "收据编号 2026-0417",
        actor="resident",
    )
    add_information(store, int(dispute["dispute_id"]), "补充：付款凭证已上传。", actor="resident")
    set_consent(store, listed, next(iter(_categories())), False, actor="resident")
    place_freeze(store, listed, actor="resident")
    place_fraud_alert(store, listed, actor="resident")
    loan = {"services": ["bank_loan"], "purposes": ["loan"], "known_services": {"bank_loan"}}
    lenders = [issue_key(store, "relying_party", n, **loan) for n in ("Bank One", "北京农商银行")]  # type: ignore[arg-type]
    keys = {
        "resident": issue_key(store, "resident", "a resident", subject=listed).token,
        "operator": issue_key(store, "operator", "registry operations").token,
        "furnisher": issue_key(store, "furnisher", "the source's office", source=record["source_id"]).token,
    }
    listing, cause_source, cause_record = store.execute(
        "SELECT listing_id, source_id, record_id FROM listings WHERE subject_id = ? AND status = 'effective' "
        "AND record_id IS NOT NULL ORDER BY listing_id LIMIT 1",
        [listed],
    ).fetchone()
    token = issue_link(store, subject=listed).token
    orgs = store.execute(
        "SELECT subject_id, name FROM current_subjects WHERE kind = 'org' ORDER BY subject_id"
    ).fetchall()
    (org, org_name), (other_org, _) = orgs[0], orgs[1]
    roles = folder / "roles.csv"
    roles.write_text(
        "record_id,subject_id,record_type,event_date,org_id,role,start_date,end_date\n"
        f"ROLE1,{listed},company_role,2020-01-01,{org},legal_representative,2020-01-01,\n",
        "utf-8",
    )
    ingest_file(store, roles, "registration_authority", today=AS_OF)
    org_record = store.rows(
        "SELECT source_id, record_id FROM records WHERE subject_id = ? AND NOT withdrawn ORDER BY record_id LIMIT 1",
        [org],
    )[0]
    org_dispute = file_dispute(
        store,
        org,
        org_record["source_id"],
        org_record["record_id"],
        "该记录已更正。",
        actor="resident",
        representative_id=listed,
    )
    # a late tax payment of the organisation: its representative's repair page has a negative record to show
    late = folder / "org_tax.csv"
    late.write_text(
        "record_id,subject_id,record_type,event_date,amount,status,days_late\n"
        f"ORG-TAX-1,{org},tax_payment,{(AS_OF - dt.timedelta(days=40)).isoformat()},80000,late,20\n",
        "utf-8",
    )
    ingest_file(store, late, "tax_bureau", today=AS_OF)
    publish_shipped_memoranda(store, "beijing")  # the public policy page shows its memorandum
    made = {
        "keys": keys,
        "lenders": [lender.token for lender in lenders],
        "listed": listed,
        "fill": {
            "listed": listed,
            "name": name,
            "token": token,
            "listing": listing,
            "cause_source": cause_source,
            "cause_record": cause_record,
            "dispute": dispute["dispute_id"],
            "org": org,
            "org_name": org_name,
            "other_org": other_org,
            "org_dispute": org_dispute["dispute_id"],
        },
    }
    (folder / "portal.json").write_text(json.dumps(made), "utf-8")
    return store


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The world of the module docstring (made once per process and copied, with its keys: ``_seeded_portal``) on
    a server of the module's own, after two relying parties asked about the listed resident."""
    folder = tmp_path_factory.mktemp("portal")
    store = copy_of(folder, f"portal-seeded@{resolve_today().isoformat()}", _seeded_portal)
    made = json.loads((folder / "portal.json").read_text("utf-8"))
    lenders, listed = made["lenders"], made["listed"]
    body = {"subject_id": listed, "service": "bank_loan", "purpose": "loan"}
    with ExitStack() as stack:
        for _ in range(3):
            # serving() picks a free port and lets it go before uvicorn binds it: on a busy machine another test's
            # server may take it first, and our requests reach that one (our keys unknown there). Then again.
            app = create_app(folder / "store.duckdb", store=store, throttle=_generous())
            attempt = ExitStack()
            base = attempt.enter_context(serving(app))
            r = httpx.post(base + "/v1/decisions", json=body, headers=auth(lenders[0]), timeout=30)
            if r.status_code == 200:
                stack.push(attempt)
                break
            attempt.close()
        assert r.status_code == 200, r.text
        r = httpx.post(base + "/v1/decisions", json=body, headers=auth(lenders[1]), timeout=30)
        assert r.status_code == 200, r.text
        yield {"base": base, "service": app.state.service, "keys": made["keys"], "listed": listed, "fill": made["fill"]}
    store.close()


def _categories() -> list[str]:
    from socialcredit.catalog import load_catalog

    return list(load_catalog().categories)


def session_cookies(world: dict[str, Any], who: str | None) -> dict[str, str]:
    """The cookies of a session of ``who`` (none for nobody), signed in once per world and role."""
    if who is None:
        return {}
    cache = world.setdefault("sessions", {})
    if who not in cache:
        with httpx.Client(base_url=world["base"], timeout=30) as client:
            sign_in(client, world["keys"][who])
            cache[who] = dict(client.cookies)
    return dict(cache[who])


@contextmanager
def role_tabs(world: dict[str, Any], browser: Any, **context: Any) -> Iterator[dict[str | None, Any]]:
    """One browser tab per role the pages are seen as (nobody included), each signed in once; ``context`` is passed
    to the browser's new context (its viewport, for example)."""
    roles = {page.who for page in PAGES}
    contexts = []
    tabs: dict[str | None, Any] = {}
    try:
        for who in roles:
            opened = browser.new_context(base_url=world["base"], **context)
            contexts.append(opened)
            cookies = session_cookies(world, who)
            opened.add_cookies([{"name": k, "value": v, "url": world["base"]} for k, v in cookies.items()])
            tabs[who] = opened.new_page()
        yield tabs
    finally:
        for opened in contexts:
            opened.close()
