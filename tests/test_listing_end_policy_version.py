"""The day a refusal says a blocking listing ends at the latest reads the listing's own policy version (that of the
run that last judged it), not the version of the run the decision reads (registry/decisions/actions.py).

World (tests/due_world.py): 张三 (A) is on Beijing's blacklist (2026.2) for the judgment J1 of 2026-01-10, scored on
2026-02-01 (notice) and 2026-04-02 (in effect, run 2; serious: published for at most 1095 days, to 2029-04-01).
Version 2026.3 counts such a judgment for 200 days only (``within_days: 200``: to 2026-07-29); its run of
2026-04-03 (run 3) still finds J1 and keeps the listing. A decision on run 2 (a snapshot loaded before run 3) says
the listing ends on 2026-07-29, as the listing's own version says, not on 2029-04-01.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from due_world import A, build, score_on_its_day
from socialcredit.policy import builtin_policy, parse_policy
from socialcredit.registry.decisions.decide import Served, decide
from socialcredit.registry.scoring.policies import publish_policy, resolve_policy

D = dt.date


def test_the_listings_end_reads_the_version_of_the_run_that_last_judged_it(tmp_path: Path) -> None:
    store = build(tmp_path)
    score_on_its_day(store, resolve_policy(store, "beijing"), D(2026, 2, 1))
    old = score_on_its_day(store, resolve_policy(store, "beijing"), D(2026, 4, 2))
    text = builtin_policy("beijing").text.replace('version: "2026.2"', 'version: "2026.3"', 1)
    criterion = "record: {record_type: court_judgment, when: \"defaulter and status == 'unfulfilled'\"}"
    assert text.count(criterion) == 1
    text = text.replace(criterion, criterion[:-1] + ", within_days: 200}")
    newer = parse_policy(text, "beijing.yaml")
    publish_policy(store, newer)
    score_on_its_day(store, newer, D(2026, 4, 3))
    listing = store.rows("SELECT status, last_run_id FROM listings WHERE subject_id = ?", [A])
    assert [(x["status"], x["last_run_id"]) for x in listing] == [("effective", old.run_id + 1)]
    served = Served(old.run_id, int(store.one("SELECT value FROM counters WHERE name = 'seq'")))
    for lang, said in (
        ("en", "at the latest its publication ends on 2026-07-29"),
        ("zh", "其公示最迟于 2026-07-29 结束"),
    ):
        d = decide(store, A, "high_speed_rail", "ticket purchase", requester="railway", served=served, lang=lang)
        assert (d.granted, d.run_id) == (False, old.run_id)
        assert [a for a in d.actions if said in a] != [], d.actions
        assert not [a for a in d.actions if "2029-04-01" in a], d.actions
    store.close()
