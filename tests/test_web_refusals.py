"""Refusals of the pages said in the page's language, on a real server on loopback: a form or an address naming what
is not there or is not valid was answered with the registry's English on the Chinese page."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from api_helpers import serving
from scoring_helpers import days_before, open_registry, person, tax
from socialcredit.api.app import create_app
from socialcredit.clock import TODAY_ENV
from socialcredit.policy import builtin_policy, parse_policy
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.scoring.policies import get_policy, publish_policy
from web_helpers import csrf_of, sign_in, site

__all__ = ["site"]  # the module-scoped fixture

FORM = {"content-type": "application/x-www-form-urlencoded"}


def _said(response: httpx.Response) -> str:
    """The page's main text, tags dropped and spaces folded."""
    main = response.text[response.text.index("<main") : response.text.index("</main>")]
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main)))


def test_contesting_a_link_the_resident_does_not_have_is_told_in_the_pages_language(site: dict[str, Any]) -> None:
    with httpx.Client(base_url=site["base"], timeout=30) as client:
        sign_in(client, site["keys"]["resident"])
        token = csrf_of(client.get("/me/records").text)
        for ident, quoted in (("1", "'1'"), ("99999999999999999999", "'99999999999999999999'"), ("١", "'١'")):
            for lang, said in (
                ("zh", f"您的档案中没有与其他地区身份 {quoted} 的关联"),
                ("en", f"no link to identity {quoted} of another region in your file"),
            ):
                r = client.post(
                    f"/me/links/{ident}/dispute", params={"lang": lang}, data={"reason": "不是我", "csrf": token}
                )
                assert r.status_code == 404, r.text
                text = _said(r)
                assert said in text and "has no link" not in text, (ident, lang, text)


REPEATED = {
    "zh": "表单中的字段“{field}”出现了不止一次，无法确定以哪个值为准；"
    "每个字段只能提交一次：请返回，重新打开表单后再提交。",
    "en": "The form names the field '{field}' more than once, so which value was meant is not known; a form sends each "
    "field once: go back, open the form again and send it.",
}


def test_a_form_naming_a_field_twice_is_refused_naming_the_field(site: dict[str, Any]) -> None:
    """``key=A&key=B``: the pages took the last value (Starlette's form), so a form could mean one thing to one
    reader and another to the registry. Now it is 400, naming the field, in the page's language, and nothing is
    done: the sign-in signs no one in, a resident's form is not read."""
    with httpx.Client(base_url=site["base"], timeout=30) as client:
        token = csrf_of(client.get("/signin").text)
        for lang in ("zh", "en"):
            body = [("key", site["keys"]["other"]), ("key", site["keys"]["resident"]), ("csrf", token), ("next", "")]
            r = client.post("/signin", params={"lang": lang}, content=urlencode(body), headers=FORM)
            assert r.status_code == 400, r.text
            assert REPEATED[lang].format(field="key") in _said(r)
            assert "sc_session" not in r.cookies
        assert client.get("/me", follow_redirects=False).status_code == 303  # not signed in
        sign_in(client, site["keys"]["resident"])
        token = csrf_of(client.get("/me/records").text)
        for lang in ("zh", "en"):
            body = [("reason", "不是我"), ("csrf", token), ("reason", "我")]
            r = client.post("/me/links/1/dispute", params={"lang": lang}, content=urlencode(body), headers=FORM)
            assert r.status_code == 400, r.text  # refused before the page reads the form (404: no such link)
            assert REPEATED[lang].format(field="reason") in _said(r)
        # a multipart form (an evidence file) naming its file twice
        files = [("file", ("a.png", b"\x89PNG", "image/png")), ("file", ("b.png", b"\x89PNG", "image/png"))]
        r = client.post("/me/disputes/1/evidence", params={"lang": "en"}, data={"csrf": token}, files=files)
        assert r.status_code == 400, r.text
        assert REPEATED["en"].format(field="file") in _said(r)
        # each field once: the form is read (no such link here)
        r = client.post("/me/links/1/dispute", params={"lang": "en"}, data={"reason": "不是我", "csrf": token})
        assert r.status_code == 404, r.text


def test_a_multipart_form_naming_a_field_twice_is_refused() -> None:
    from socialcredit.web.uploads import RepeatedField, parse_multipart

    def part(name: str, value: str, filename: str | None = None) -> str:
        more = f'; filename="{filename}"' if filename is not None else ""
        return f'--b\r\nContent-Disposition: form-data; name="{name}"{more}\r\n\r\n{value}\r\n'

    kind = "multipart/form-data; boundary=b"
    assert parse_multipart(kind, (part("a", "1") + part("f", "x", "f.txt") + "--b--\r\n").encode()) == (
        {"a": "1"},
        {"f": ("f.txt", b"x")},
    )
    for twice, name in (
        (part("a", "1") + part("a", "2"), "a"),
        (part("f", "x", "f.txt") + part("f", "y", "g.txt"), "f"),
        (part("f", "", "") + part("f", "y", "g.txt"), "f"),  # an empty file part is named too
        (part("a", "1") + part("a", "z", "a.txt"), "a"),
    ):
        with pytest.raises(RepeatedField) as refused:
            parse_multipart(kind, (twice + "--b--\r\n").encode())
        assert refused.value.name == name


def test_an_address_with_no_page_or_taking_a_form_only_is_a_page_in_its_language(site: dict[str, Any]) -> None:
    """A mistyped address, or a form's address opened in the address bar (it shows there after a refused upload),
    was the API's JSON in English ({"error": {"code": "not_found", "message": "Not Found"}}); an address of the API
    is still answered in JSON."""
    with httpx.Client(base_url=site["base"], timeout=30) as client:
        sign_in(client, site["keys"]["resident"])
        for lang, no_page, form_only in (
            (
                "zh",
                "此地址没有页面：/me/dispute",
                "此地址只接收页面上提交的表单；请返回上一页重新提交。",
            ),
            (
                "en",
                "There is no page at this address: /me/dispute",
                "This address takes a form sent from a page only; go back to the page and send it again.",
            ),
        ):
            r = client.get("/me/dispute", params={"lang": lang})
            assert (r.status_code, r.headers["content-type"]) == (404, "text/html; charset=utf-8")
            assert no_page in _said(r)
            r = client.get("/me/disputes/1/evidence", params={"lang": lang})
            assert (r.status_code, r.headers["content-type"], r.headers["allow"]) == (
                405,
                "text/html; charset=utf-8",
                "POST",
            )
            assert form_only in _said(r)
        api = client.get("/v1/nothing")
        assert (api.status_code, api.json()) == (404, {"error": {"code": "not_found", "message": "Not Found"}})
        api = client.get("/v1/decisions")
        assert (api.status_code, api.json()["error"]["code"], api.headers["allow"]) == (
            405,
            "method_not_allowed",
            "POST",
        )


def test_a_records_effect_names_its_policy_in_the_pages_language(site: dict[str, Any]) -> None:
    """/me/records reads no scores, and each record's effect was labelled by the policy's id ("beijing -50" on a
    Chinese page); it is named as the overview and the policy pages name it."""
    with httpx.Client(base_url=site["base"], timeout=30) as client:
        sign_in(client, site["keys"]["resident"])
        for lang, name, sesame in (
            ("zh", "北京市社会信用评分", "芝麻式商业信用分"),
            ("en", "Beijing social credit score", "Sesame-style commercial score"),
        ):
            page = client.get("/me/records", params={"lang": lang}).text
            effects = re.findall(r'<span class="contribution">([^<]*?) <span class="points', page)
            assert effects and set(effects) <= {name, sesame}, set(effects)


def test_a_records_effect_names_its_policy_as_the_run_it_counts_under_does(tmp_path: Any) -> None:
    """/me/records named a record's policy by the policy's newest version, the overview by the version of the run
    that scored the record: a version published since the run under a new name gave the same policy two names on
    the resident's pages. Both name it as the run's version does."""
    registry = open_registry(tmp_path)
    who = person(1)
    registry.register({who: "other"})
    registry.send("tax_bureau", [tax("T1", who, days_before(10), status="late", days_late=30)])
    registry.score(builtin_policy("beijing"))
    text = builtin_policy("beijing").text
    for old, new in (
        ('version: "2026.2"', 'version: "2026.3"'),
        ("北京市社会信用评分", "北京市信用分"),
        ("Beijing social credit score", "Beijing credit score"),
    ):
        assert old in text
        text = text.replace(old, new, 1)
    publish_policy(registry.store, parse_policy(text, "beijing.yaml"))
    assert get_policy(registry.store, "beijing").policy.name.get("en") == "Beijing credit score"
    key = issue_key(registry.store, "resident", "张三", subject=who).token
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(TODAY_ENV, "2026-01-01")
        app = create_app(tmp_path / "registry.duckdb", store=registry.store)
        with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
            sign_in(client, key)
            for lang, name in (("zh", "北京市社会信用评分"), ("en", "Beijing social credit score")):
                page = client.get("/me/records", params={"lang": lang}).text
                effects = re.findall(r'<span class="contribution">([^<]*?) <span class="points', page)
                assert effects == [name], effects
                assert name in client.get("/me", params={"lang": lang}).text
