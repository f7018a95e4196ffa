"""An operator's override of a decision is shown in the resident's list of who asked, beside the outcome it gave:
the outcome before the review and the operator's justification, in the page's language."""

from __future__ import annotations

import html
import re
from typing import Any

from api_helpers import auth, world
from web_helpers import signed_in

__all__ = ["world"]

WHY = "The resident showed the court's receipt of payment."


def test_the_list_of_who_asked_says_a_decision_was_changed_on_review(world: dict[str, Any]) -> None:
    """Until 2026-12-05 the page showed the outcome after review alone ("granted" for a ticket the railway had
    refused), with nothing saying that an operator had changed it, nor why."""
    client, keys, listed = world["client"], world["keys"], world["listed"]
    asked = {"subject_id": listed, "service": "high_speed_rail", "purpose": "ticket purchase"}
    refused = client.post("/v1/decisions", json=asked, headers=auth(keys["railway"]))
    assert refused.status_code == 200 and refused.json()["granted"] is False, refused.text
    with signed_in(world, "resident") as browser:
        before = browser.get("/me/inquiries?lang=en").text
        assert 'data-testid="reviewed"' not in before
    iid = client.get(f"/v1/subjects/{listed}/report", headers=auth(keys["operator"])).json()["inquiries"][0]
    assert iid["purpose"] == "ticket purchase" and iid["outcome"] == "refused"
    body = {"inquiry_id": iid["inquiry_id"], "outcome": "granted", "justification": WHY}
    r = client.post("/v1/overrides/decisions", json=body, headers=auth(keys["operator"]))
    assert r.status_code == 201, r.text
    with signed_in(world, "resident") as browser:
        for lang, said in (
            ("en", f"changed on review by an operator (it was refused): {WHY}"),
            ("zh", f"运营人员复核后改为此结果（原为拒绝）：{WHY}"),
        ):
            page = browser.get(f"/me/inquiries?lang={lang}").text
            shown = [html.unescape(s) for s in re.findall(r'<span data-testid="reviewed">([^<]*)</span>', page)]
            assert shown == [said]
