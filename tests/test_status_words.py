"""Every status and role the store can hold has words in both languages, defined once (registry/words.py): the
organisation's printable file and the site's pages say the same words."""

from __future__ import annotations

import pytest

from socialcredit.policy.model import ROLES
from socialcredit.registry.due_process.disputes import STATUSES as DISPUTE_STATUSES
from socialcredit.registry.due_process.listings import LISTING_STATUSES
from socialcredit.registry.due_process.relations import ROLE_WORDS as RELATION_ROLE_WORDS
from socialcredit.registry.due_process.repair import REPAIR_STATUSES
from socialcredit.registry.words import RECORD_STATUSES, ROLE_WORDS, STATUS_WORDS
from socialcredit.web.i18n import MESSAGES

HELD = {
    "record_status": (RECORD_STATUSES, "status_{}"),
    "listing_status": (LISTING_STATUSES, "listing_status_{}"),
    "dispute_status": (DISPUTE_STATUSES, "dispute_status_{}"),
    "repair_status": (REPAIR_STATUSES, "repair_status_{}"),
    # an inquiry's outcome: the list of who asked, an override's notice and `decide --lang` say the same words
    # (and an operator's override of a listing: the listing removed, or its removal reversed)
    "outcome": (("granted", "refused", "viewed", "removed", "restored"), "outcome_{}"),
}
# what a page says differently to its reader: their own dispute, withdrawn, reads "withdrawn by you"
READER_WORDS = {"dispute_status_retracted": ("本人已撤回", "withdrawn by you")}


@pytest.mark.parametrize("kind", sorted(HELD))
def test_every_status_has_words_in_both_languages_and_the_pages_say_them(kind: str) -> None:
    held, page_key = HELD[kind]
    assert sorted(STATUS_WORDS[kind]) == sorted(held)
    for status in held:
        zh, en = STATUS_WORDS[kind][status]
        assert zh.strip() and en.strip() and zh != en, status
        key = page_key.format(status.replace(" ", "_"))
        assert (MESSAGES["zh"][key], MESSAGES["en"][key]) == READER_WORDS.get(key, (zh, en))


def test_every_role_has_words_in_both_languages_and_one_definition() -> None:
    assert sorted(ROLE_WORDS) == sorted(ROLES)
    for role, (zh, en) in ROLE_WORDS.items():
        assert zh.strip() and en.strip() and zh != en, role
        assert (MESSAGES["zh"][f"role_{role}"], MESSAGES["en"][f"role_{role}"]) == (zh, en)
    assert RELATION_ROLE_WORDS is ROLE_WORDS


def test_the_printable_file_says_the_registrys_words() -> None:
    from socialcredit.registry.reporting import org_file

    assert not hasattr(org_file, "ROLE_NAMES") and not hasattr(org_file, "_STATUS")
    assert org_file.STATUS_WORDS is STATUS_WORDS and org_file.ROLE_WORDS is ROLE_WORDS


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_residents_printable_file_says_the_registrys_words(lang: str) -> None:
    from socialcredit.catalog import load_catalog
    from socialcredit.registry.reporting.file_page import _cells

    cells = _cells(lang, {}, load_catalog())
    which = 0 if lang == "zh" else 1
    for kind, (held, _page_key) in HELD.items():
        for status in held:
            row = {"outcome": status} if kind == "outcome" else {"status": status}
            assert cells[kind](row) == STATUS_WORDS[kind][status][which], (kind, status)
    # a dispute the resident withdrew read as its code ("retracted", in English on the Chinese page too)
    assert cells["dispute_status"]({"status": "retracted"}) == ("已撤回异议", "dispute withdrawn")[which]
