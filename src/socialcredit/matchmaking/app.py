"""The matchmaking site: server-rendered pages (Chinese by default, ``?lang=en`` for English) to register a client,
set preferences, give or withdraw consent to share the credit tier, and see ranked matches with their reasons.

It is a separate application with its own store; it reaches the registry only through ``RegistryClient``.
The pages have no sign-in of their own: deployed, they sit behind the site's login.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import jinja2
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from socialcredit.errors import MatchmakingError, RegistryError, UnknownClientError
from socialcredit.languages import LANGUAGE_TAGS, invalid_zh
from socialcredit.matchmaking.explain import describe, formula_lines, part_label
from socialcredit.matchmaking.ranking import Badge
from socialcredit.matchmaking.reference import (
    DISTRICTS,
    EDUCATION,
    INCOME_BANDS,
    INTERESTS,
    JOB_STATUSES,
    SEXES,
    Label,
    label,
    parse_age,
)
from socialcredit.matchmaking.registry_client import RegistryClient
from socialcredit.matchmaking.service import Matchmaker
from socialcredit.matchmaking.store import MatchStore, Preferences, open_match_store, profile
from socialcredit.textcheck import page_environment

__all__ = ["MAX_MATCHES", "create_match_app"]

MAX_MATCHES = 100  # the most matches one page or answer holds
# A limit outside 1..MAX_MATCHES is refused (400 naming it), never cut to fit: a program asking for 500 would take
# the 100 it got for all there are.
Limit = Annotated[int, Query(ge=1, le=MAX_MATCHES, description="How many matches, best first.")]

_TABLES: dict[str, tuple[Label, ...]] = {
    "education": EDUCATION,
    "job": JOB_STATUSES,
    "income": INCOME_BANDS,
    "interests": INTERESTS,
}
# as the registry's pages: a stored name's control characters and direction overrides written as their codes (a
# client named with U+202E or \x1b was written raw until 2026-12-06), a form's values (|field) as they are
_env = page_environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def _lang(request: Request) -> str:
    return "en" if request.query_params.get("lang") == "en" else "zh"


# Starlette's refusals of a path or method, in Chinese
_HTTP_ZH = {404: "没有这个页面", 405: "此地址不接受这种请求方法"}


# A form field the site takes once (the checkbox groups, interests, seeks and districts, are sent once a box)
_ONCE = (
    "subject_id",
    "name",
    "district",
    "education",
    "job",
    "income",
    "age_min",
    "age_max",
    "min_education",
    "min_income",
    "min_tier",
    "granted",
)


def _sent_once(request: Request, form: Any) -> None:
    """Refuse a form that names a single-valued field more than once (``a=1&a=2``: which was meant is not known;
    Starlette kept the last), naming the field, in the page's language, as the registry's pages refuse it."""
    for name in _ONCE:
        if len(form.getlist(name)) > 1:
            if _lang(request) == "zh":
                said = (
                    f"表单中的字段“{name}”出现了不止一次，无法确定以哪个值为准；"
                    "每个字段只能提交一次：请返回，重新打开表单后再提交。"
                )
            else:
                said = (
                    f"The form names the field '{name}' more than once, so which value was meant is not known; a form "
                    "sends each field once: go back, open the form again and send it."
                )
            raise MatchmakingError(said, field=name)


def create_match_app(
    db: Path | str,
    *,
    registry: RegistryClient | None = None,
    store: MatchStore | None = None,
    today: dt.date | None = None,
) -> FastAPI:
    """The site over the matchmaking store at ``db``, asking ``registry`` for badges (None: no credit signal)."""
    mm = Matchmaker(store if store is not None else open_match_store(db), registry)
    app = FastAPI(title="Baihe matchmaking", version="1", docs_url=None, redoc_url=None)
    app.state.matchmaker = mm

    def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        lang = _lang(request)

        def label_of(table: str, item_id: str) -> str:
            return next((x.text(lang) for x in _TABLES[table] if x.id == item_id), item_id)

        helpers = {
            "lang": lang,
            "t": lambda key: label(key, lang),
            "label_of": label_of,
            "district_text": lambda code: next((d.text(lang) for d in DISTRICTS if d.code == code), code),
            "sex_text": lambda s: next((x.text(lang) for x in SEXES if x.id == s), s),
            "tier_text": lambda tier: next((x.text(lang) for x in mm.tiers.labels if x.id == tier), tier),
            "part_label": lambda part: part_label(part, lang),
            "describe": lambda part: describe(part, lang, mm.tiers),
            "districts": DISTRICTS,
            "education": EDUCATION,
            "jobs": JOB_STATUSES,
            "incomes": INCOME_BANDS,
            "interests": INTERESTS,
            "sexes": SEXES,
            "tiers": mm.tiers,
            "error": None,
        }
        html = _env.get_template(template).render({**helpers, **context})
        # the page says its language, as its <html lang> and the registry's pages do
        return HTMLResponse(html, status_code=status, headers={"Content-Language": LANGUAGE_TAGS[lang]})

    def failed(request: Request, status: int, code: str, message: str) -> HTMLResponse | JSONResponse:
        """An error as its caller reads it: JSON under /api/ (as the registry's API answers), else a page."""
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
        heading = {400: "error", 404: "not_found"}.get(status, "failed")  # the page's one heading: what happened
        return render(request, "error.html", status, message=message, heading=heading)

    @app.exception_handler(MatchmakingError)
    async def _bad(request: Request, exc: MatchmakingError) -> HTMLResponse | JSONResponse:
        status = 404 if isinstance(exc, UnknownClientError) else 502 if isinstance(exc, RegistryError) else 400
        return failed(request, status, exc.code, exc.said_in(_lang(request)))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> HTMLResponse | JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "path", "query"))
        if _lang(request) == "zh":  # pydantic's own words are English: the field and what it takes, in Chinese
            return failed(request, 400, "invalid_request", f"{where or '请求'}：{invalid_zh(first)}")
        return failed(request, 400, "invalid_request", f"{where or 'request'}: {first.get('msg')}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> HTMLResponse | JSONResponse:
        if _lang(request) == "zh":
            said = _HTTP_ZH.get(exc.status_code, "请求无法处理")
            return failed(request, exc.status_code, "http_error", f"{exc.status_code}：{said}")
        return failed(request, exc.status_code, "http_error", f"{exc.status_code}: {exc.detail}")

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "clients": mm.store.count()}

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        return render(request, "index.html", form={}, clients=mm.store.count())

    @app.get("/clients")
    def open_client(request: Request, client_id: int) -> RedirectResponse:
        return RedirectResponse(f"/clients/{client_id}?lang={_lang(request)}", status_code=303)

    @app.post("/clients")
    async def register(request: Request) -> Any:
        form = await request.form()
        _sent_once(request, form)
        fields = {k: str(form.get(k) or "") for k in ("subject_id", "name", "district", "education", "job", "income")}
        interests = [str(v) for v in form.getlist("interests")]
        try:
            p = profile(**fields, interests=interests, today=today)
            client_id = mm.store.register(p, tiers=mm.tiers, today=today)
        except MatchmakingError as exc:
            return render(
                request,
                "index.html",
                400,
                error=exc.said_in(_lang(request)),
                form={**fields, "interests": interests},
                clients=mm.store.count(),
            )
        return RedirectResponse(f"/clients/{client_id}?lang={_lang(request)}", status_code=303)

    @app.get("/clients/{client_id}", response_class=HTMLResponse)
    def client_page(request: Request, client_id: int) -> HTMLResponse:
        return client_view(request, client_id)

    def client_view(
        request: Request,
        client_id: int,
        status: int = 200,
        error: str | None = None,
        asked: dict[str, Any] | None = None,
    ) -> HTMLResponse:
        """The client's page; ``asked``: preferences refused, shown in the form as sent (with ``error``)."""
        c = mm.store.client(client_id, today=today)
        own: Badge | None = None
        notice = None
        try:
            own = mm.own_badge(c, _lang(request))
        except RegistryError as exc:
            notice = exc.said_in(_lang(request))
        sid = c.profile.subject_id
        masked = sid[:6] + "********" + sid[-4:]
        shown = asked or c.preferences
        return render(
            request, "client.html", status, c=c, own_badge=own, masked=masked, notice=notice, error=error, p=shown
        )

    @app.post("/clients/{client_id}/preferences")
    async def preferences(request: Request, client_id: int) -> Any:
        form = await request.form()
        _sent_once(request, form)
        sent = {k: str(form.get(k) or "") for k in ("age_min", "age_max", "min_education", "min_income", "min_tier")}
        # what was sent, to show again in the form when it is refused (it was lost: an error page linked to the
        # start); the copy shown holds at most what a field's input holds, a choice at most the boxes there are; what
        # is parsed and saved is what was sent, whole
        asked = {  # the ages as typed: shown, never saved
            "seeks": [str(v) for v in form.getlist("seeks")[: len(SEXES)]],
            "districts": [str(v) for v in form.getlist("districts")[: len(DISTRICTS)]],
            **{k: v[:16] for k, v in sent.items()},
        }
        try:
            # an age left empty is 0, out of range: refused as that
            age_min, age_max = (parse_age(sent[k] or "0", k) for k in ("age_min", "age_max"))
            prefs = Preferences(
                seeks=tuple(str(v) for v in form.getlist("seeks")),
                age_min=age_min,
                age_max=age_max,
                districts=tuple(str(v) for v in form.getlist("districts")),
                min_education=sent["min_education"] or None,
                min_income=sent["min_income"] or None,
                min_tier=sent["min_tier"] or None,
            )
            mm.store.set_preferences(client_id, prefs, tiers=mm.tiers)
        except UnknownClientError:
            raise
        except MatchmakingError as exc:
            # in the threadpool, as the routes declared with def run: the page asks the registry (a blocking request)
            # for a consenting client's badge, which on the event loop would hold every other request up
            return await run_in_threadpool(client_view, request, client_id, 400, exc.said_in(_lang(request)), asked)
        return RedirectResponse(f"/clients/{client_id}?lang={_lang(request)}", status_code=303)

    @app.post("/clients/{client_id}/consent")
    async def consent(request: Request, client_id: int) -> Any:
        form = await request.form()
        _sent_once(request, form)
        value = str(form.get("granted") or "")
        if value not in ("true", "false"):
            raise MatchmakingError(
                "granted: send true (give consent) or false (withdraw it)",
                field="granted",
                zh="granted：请发送 true（同意）或 false（撤回同意）",
            )
        mm.store.set_consent(client_id, value == "true", actor="client")
        return RedirectResponse(f"/clients/{client_id}?lang={_lang(request)}#consent", status_code=303)

    @app.get("/clients/{client_id}/matches", response_class=HTMLResponse)
    def matches(request: Request, client_id: int, limit: Limit = 20) -> HTMLResponse:
        page = mm.matches(client_id, limit=limit, today=today, lang=_lang(request))
        return render(request, "matches.html", page=page, formula=formula_lines(_lang(request)))

    @app.get("/api/clients/{client_id}/matches")
    def matches_json(request: Request, client_id: int, limit: Limit = 20) -> JSONResponse:
        lang = _lang(request)
        page = mm.matches(client_id, limit=limit, today=today, lang=lang)
        return JSONResponse(
            {
                "client_id": client_id,
                "candidates": page.ranking.candidates,
                "notice": page.notice,
                "matches": [
                    {
                        "client_id": m.client_id,
                        "name": page.candidates[m.client_id].profile.name,
                        "score": round(m.score, 6),
                        "badge": m.badge.granted if m.badge else None,
                        "why": [
                            {
                                "part": p.part,
                                "weight": p.weight,
                                "effective_weight": round(p.effective_weight, 6),
                                "value": None if p.value is None else round(p.value, 6),
                                "contribution": round(p.contribution, 6),
                                "text": describe(p, lang, mm.tiers),
                            }
                            for p in m.parts
                        ],
                    }
                    for m in page.ranking.matches
                ],
            }
        )

    return app
