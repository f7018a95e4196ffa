"""Refusals of the pages said in the page's language, on a real server on loopback: a form or an address naming what
is not there or is not valid was answered with the registry's English on the Chinese page."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

from web_helpers import csrf_of, sign_in, site

__all__ = ["site"]  # the module-scoped fixture


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
