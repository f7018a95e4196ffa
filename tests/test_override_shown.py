"""An operator's override of a decision is shown in the resident's list of who asked, beside the outcome it gave:
the outcome before the review and the operator's justification, in the page's language."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

from api_helpers import auth, world
from socialcredit.registry.due_process import overrides
from web_helpers import signed_in

__all__ = ["world"]

D = dt.date
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


REVERSE = "The receipt was for another case; the judgment is still unpaid."
KEPT = "Reviewed the refusal of this rental; the listing stands as it is."


def _reviewed_rows(page: str) -> dict[str, tuple[str, str]]:
    """The rows of the list with an override, by the override's justification: (the outcome shown, the line saying
    it was reviewed)."""
    out = {}
    for row in re.findall(r"<tr>(.*?)</tr>", page, flags=re.S):
        span = re.search(r'<span data-testid="reviewed">([^<]*)</span>', row)
        if span:
            outcome = re.search(r'<td data-label="[^"]*">([^<]*)<br><span data-testid="reviewed">', row)
            assert outcome is not None, row
            text = html.unescape(span.group(1))
            [why] = [w for w in (WHY, REVERSE, KEPT) if text.endswith(w)]
            out[why] = (html.unescape(outcome.group(1)), text)
    return out


def test_a_reversal_shows_the_outcome_it_reversed_and_an_override_that_changed_nothing_no_change(
    world: dict[str, Any],
) -> None:
    """Until 2026-12-06 a decision refused, granted on review, then reversed to refused was shown "refused" and
    "changed on review by an operator (it was refused)": the decision's own outcome, not the granted one it was
    reversed from. An override to the outcome a decision had already (kept by older stores, before such an override
    was refused) was shown as a change."""
    client, keys, listed = world["client"], world["keys"], world["listed"]
    asked = {"subject_id": listed, "service": "high_speed_rail", "purpose": "ticket purchase"}
    ids = []
    for _ in range(2):
        r = client.post("/v1/decisions", json=asked, headers=auth(keys["railway"]))
        assert r.status_code == 200 and r.json()["granted"] is False, r.text
        report = client.get(f"/v1/subjects/{listed}/report", headers=auth(keys["operator"])).json()
        ids.append(max(q["inquiry_id"] for q in report["inquiries"] if q["inquiry_id"] is not None))
    reversed_id, kept_id = ids
    assert reversed_id < kept_id
    for outcome, why in (("granted", WHY), ("refused", REVERSE)):
        body = {"inquiry_id": reversed_id, "outcome": outcome, "justification": why}
        r = client.post("/v1/overrides/decisions", json=body, headers=auth(keys["operator"]))
        assert r.status_code == 201, r.text
    # an override to the outcome the decision had already, as older stores may hold one
    with world["service"].writer() as store, store.transaction():
        overrides._insert(store, listed, "decision", f"inquiry:{kept_id}", "refused", KEPT, "operator", D(2026, 4, 3))
    with signed_in(world, "resident") as browser:
        for lang, reversal, kept in (
            (
                "en",
                ("refused", f"changed on review by an operator (it was granted after an earlier review): {REVERSE}"),
                ("refused", f"reviewed by an operator, the outcome kept (it was refused already): {KEPT}"),
            ),
            (
                "zh",
                ("拒绝", f"运营人员复核后改为此结果（原为此前复核后的准予）：{REVERSE}"),
                ("拒绝", f"运营人员复核，结果未变（原已为拒绝）：{KEPT}"),
            ),
        ):
            rows = _reviewed_rows(browser.get(f"/me/inquiries?lang={lang}").text)
            assert (rows[REVERSE], rows[KEPT]) == (reversal, kept)
    report = client.get(f"/v1/subjects/{listed}/report", headers=auth(keys["operator"])).json()
    [reversed_q] = [q for q in report["inquiries"] if q["inquiry_id"] == reversed_id]
    assert (reversed_q["outcome"], reversed_q["outcome_before_review"]) == ("refused", "refused")
    assert {k: reversed_q["override"][k] for k in ("before", "earlier_review", "changed")} == {
        "before": "granted",
        "earlier_review": True,
        "changed": True,
    }
