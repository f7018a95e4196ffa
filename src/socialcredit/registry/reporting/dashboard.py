"""The city at a glance, for operators: a run's score distribution, tiers, districts, professions and age bands;
list sizes across runs; and finding a subject (audited)."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Collection
from typing import Any

import sqlglot

from socialcredit.data import districts
from socialcredit.identifiers import compact_subject_id
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.due_process.listings import blacklist_ids
from socialcredit.registry.due_process.public_lists import Held
from socialcredit.registry.scoring.policies import get_policy
from socialcredit.registry.scoring.runs import in_force_sql
from socialcredit.sqltext import lit
from socialcredit.store import Store, latest_subjects, run_rows

__all__ = [
    "AGE_BANDS",
    "by_age_band",
    "by_district",
    "by_profession",
    "district_figures",
    "held_counts",
    "held_subjects",
    "histogram",
    "list_sizes",
    "listing_counts",
    "outside_districts",
    "runs",
    "runs_in_force",
    "search_subjects",
    "tier_counts",
    "unapplied_subjects",
]

# (label, lowest age, highest age); the last band is open
AGE_BANDS: list[tuple[str, int, int | None]] = [
    ("18–24", 18, 24),
    ("25–34", 25, 34),
    ("35–44", 35, 44),
    ("45–54", 45, 54),
    ("55–64", 55, 64),
    ("65+", 65, None),
]
_NICE = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000)


def runs(store: Store, *, held: Held | None = None) -> list[dict[str, Any]]:
    """Every finished score run, newest first, with its policy, its standing (``ordinary``, ``what_if``, ``rerun``,
    ``past_dated``, ``behind``), whether it is its policy's run in force, how many subjects are on each list
    (``lists``), of a blacklist of the run in force how many are in their notice period besides (``in_notice``) and,
    with ``held`` (``Service.held_listings``), how many of those counted decisions no longer apply (``held``:
    ``held_counts``; who they are: ``held_subjects``, by list, for the figures by district, profession and age band
    to say them apart too), and the blacklists of another run, counted as the run found them (``met``: who met the
    criteria; ``list_sizes``)."""
    rows = store.rows(
        "SELECT run_id, policy_id, policy_version, as_of, mode, engine, started_at, finished_at, n_subjects, "
        f"watermark, standing, run_id IN (SELECT run_id FROM ({in_force_sql()})) AS in_force "
        "FROM score_runs WHERE finished_at IS NOT NULL ORDER BY run_id DESC"
    )
    sizes, noticed = list_sizes(store)
    black = _blacklists(store)
    for r in rows:
        r["lists"] = sizes.get(int(r["run_id"]), {})
        r["in_notice"] = noticed.get(int(r["run_id"]), {})
        r["held_subjects"] = held_subjects(store, r, held) if r["in_force"] and held is not None else {}
        r["held"] = {k: len(v) for k, v in r["held_subjects"].items()}
        r["met"] = [] if r["in_force"] else sorted(k for k in r["lists"] if f"{r['policy_id']}/{k}" in black)
    return rows


def held_counts(store: Store, run: dict[str, Any], held: Held) -> dict[str, int]:
    """Of each blacklist of ``run`` (its policy's run in force), how many of the subjects ``list_sizes`` counts in
    effect decisions no longer apply (``held_subjects``). Writes nothing."""
    return {k: len(v) for k, v in held_subjects(store, run, held).items()}


def held_subjects(store: Store, run: dict[str, Any], held: Held) -> dict[str, list[str]]:
    """Of each blacklist of ``run`` (its policy's run in force), the subjects ``list_sizes`` counts in effect that
    decisions no longer apply, sorted: every listing of theirs in effect on it is one ``held`` finds (a service's:
    ``Service.held_listings``, what decisions apply right now, as the list pages mark them); one listing still applied
    keeps the subject applied. Only the subjects changed since the run can be held (the record behind a listing
    withdrawn, corrected or disputed, or a rescoring): their listings alone are read, so nothing is read per
    blacklisted subject while none changed. Writes nothing."""
    from socialcredit.registry.decisions.live import changed_subjects

    black = [b.split("/", 1)[1] for b in _blacklists(store) if b.split("/", 1)[0] == run["policy_id"]]
    until = int(store.one("SELECT value FROM counters WHERE name = 'seq'"))
    changed = changed_subjects(store, int(run["watermark"]), until) if black else []
    if not changed:
        return {}
    listings = store.rows(
        "SELECT * FROM listings l WHERE policy_id = ? AND list_contains(?, list_id) AND status = 'effective' "
        "AND subject_id IN (SELECT unnest(?)) AND EXISTS (SELECT 1 FROM run_list_entries e WHERE e.run_id = ? "
        "AND e.list_id = l.list_id AND e.subject_id = l.subject_id) ORDER BY listing_id",
        [run["policy_id"], black, changed, run["run_id"]],
    )
    withheld = set(held(store, listings)) if listings else set()
    applied = {(x["list_id"], x["subject_id"]) for x in listings if int(x["listing_id"]) not in withheld}
    out: dict[str, list[str]] = {}
    for list_id, subject_id in sorted({(x["list_id"], x["subject_id"]) for x in listings} - applied):
        out.setdefault(str(list_id), []).append(str(subject_id))
    return out


def unapplied_subjects(store: Store, run: dict[str, Any], held: Held | None) -> dict[str, dict[str, list[str]]]:
    """Of each blacklist of ``run`` (a row of ``score_runs``), the subjects it lists that decisions do not count, as
    ``list_sizes`` and the figures by district, profession and age band leave them out of a blacklist's count or
    say them apart: by why, ``notice`` (their listing in its notice period), ``ended`` (ended since the run, or none
    here) and, with ``held``, ``held`` (``held_subjects``). None but for its policy's run in force: any other run
    counts who met the criteria as it found them. Writes nothing."""
    if int(run["run_id"]) not in runs_in_force(store):
        return {}
    black = sorted(b.split("/", 1)[1] for b in _blacklists(store) if b.split("/", 1)[0] == run["policy_id"])
    out: dict[str, dict[str, list[str]]] = {b: {} for b in black}
    for r in store.rows(
        f"""SELECT list_id, subject_id, coalesce(standing, 'ended') AS why
            FROM ({_standing_sql("s.run_id = $run")}) WHERE standing IS DISTINCT FROM 'effective' ORDER BY ALL""",
        {"run": int(run["run_id"]), "black": sorted(_blacklists(store)) or [""]},
    ):
        out.setdefault(str(r["list_id"]), {}).setdefault(str(r["why"]), []).append(str(r["subject_id"]))
    for list_id, subjects in (held_subjects(store, run, held) if held is not None else {}).items():
        out.setdefault(list_id, {})["held"] = subjects
    return out


def runs_in_force(store: Store) -> set[int]:
    """The run in force of each policy (``registry/scoring/runs.py: run_in_force``), by run id."""
    return {int(r[0]) for r in store.execute(f"SELECT run_id FROM ({in_force_sql()})").fetchall()}


def list_sizes(store: Store) -> tuple[dict[int, dict[str, int]], dict[int, dict[str, int]]]:
    """Per finished run: how many subjects are on each list, and how many a blacklist's entries hold in their notice
    period. The run in force counts a blacklist as decisions count it now (``listings.effective_lists``): a subject
    whose listing on it is in effect; one whose listing is in its notice period is counted apart, one whose listing
    ended (or who has none here: another region's record whose listing there ended) in neither. Any other run (an
    earlier one, a what-if, a rerun) counts who met the criteria on its date, as it found them: its listings were
    never its own to count (a what-if records none; an earlier run's were moved since by the daily job, overrides
    and later runs). Until 2026-12-06 every run counted the listings in effect on its date as they are recorded now,
    which neither decisions nor the run itself had counted."""
    sizes: dict[int, dict[str, int]] = {}
    noticed: dict[int, dict[str, int]] = {}
    for row in store.rows(
        f"""SELECT run_id, list_id, count(*) FILTER (WHERE standing = 'effective') AS n,
                   count(*) FILTER (WHERE standing = 'notice') AS notice
            FROM ({_standing_sql("s.finished_at IS NOT NULL")}) GROUP BY ALL ORDER BY ALL""",
        {"black": sorted(_blacklists(store)) or [""]},
    ):
        sizes.setdefault(int(row["run_id"]), {})[str(row["list_id"])] = int(row["n"])
        if row["notice"]:
            noticed.setdefault(int(row["run_id"]), {})[str(row["list_id"])] = int(row["notice"])
    return sizes, noticed


def _standing_sql(runs: str) -> str:
    """SQL of each subject on a list of the runs ``runs`` picks (a condition on ``score_runs s``) and how
    ``list_sizes`` counts them: ``effective`` (any list of a run not in force, or but a blacklist; on a blacklist of
    the run in force, when one of their listings on it is in effect), ``notice`` (a blacklist of the run in force,
    only in its notice period) or NULL (ended, or no listing here). Columns run_id, list_id, subject_id, standing;
    parameter ``$black`` (``_blacklists``)."""
    return f"""WITH e AS (
                SELECT DISTINCT e.run_id, s.policy_id, e.list_id, e.subject_id,
                       list_contains($black, s.policy_id || '/' || e.list_id)
                         AND s.run_id IN (SELECT run_id FROM ({in_force_sql()})) AS now
                FROM run_list_entries e JOIN score_runs s USING (run_id) WHERE {runs}
            ), l AS (
                -- a subject listed by several causes: in effect by any of them, else in notice
                SELECT policy_id, list_id, subject_id, bool_or(status = 'effective') AS effective
                FROM listings WHERE status IN ('pending', 'effective') GROUP BY ALL
            )
            SELECT e.run_id, e.list_id, e.subject_id,
                   CASE WHEN NOT e.now OR l.effective THEN 'effective' WHEN NOT l.effective THEN 'notice' END
                     AS standing
            FROM e LEFT JOIN l ON l.policy_id = e.policy_id AND l.list_id = e.list_id AND l.subject_id = e.subject_id"""


def _blacklists(store: Store) -> set[str]:
    """The blacklists of every policy version a finished run was made under, each as ``policy/list`` (none of a
    version not published here: its runs' lists count as they found them)."""
    versions = "SELECT DISTINCT policy_id, policy_version FROM score_runs WHERE finished_at IS NOT NULL"
    return blacklist_ids(store, store.execute(versions).fetchall())


def listing_counts(store: Store) -> list[dict[str, Any]]:
    """How many subjects each policy's blacklists hold now, by listing status (pending in their grace period,
    effective, ended in one of several ways)."""
    return store.rows(
        "SELECT policy_id, list_id, status, count(DISTINCT subject_id) AS subjects FROM listings "
        "GROUP BY policy_id, list_id, status "
        "ORDER BY policy_id, list_id, CASE status WHEN 'effective' THEN 0 WHEN 'pending' THEN 1 ELSE 2 END, status"
    )


def histogram(store: Store, run_id: int, *, kind: str = "person", bins: int = 40) -> dict[str, Any]:
    """Scores of a run in bins of a round width (1, 2, 5, 10, 20, 25, 50 … points) covering the lowest to the
    highest score: ``{"width", "bins": [{"lo", "hi", "n"}], "n"}``; ``hi`` is exclusive."""
    results = run_rows(store, "run_results", run_id)
    lo, hi, n = store.execute(
        f"SELECT min(score), max(score), count(*) FROM {results} WHERE kind = ?", [kind]
    ).fetchone() or (None, None, 0)
    if not n:
        return {"width": 0, "bins": [], "n": 0}
    span = int(hi) - int(lo) + 1
    width = next((w for w in _NICE if math.ceil(span / w) <= bins), _NICE[-1])
    start = (int(lo) // width) * width
    counts = dict(
        store.execute(
            f"SELECT (score - ?) // ? AS b, count(*) FROM {results} WHERE kind = ? GROUP BY b",
            [start, width, kind],
        ).fetchall()
    )
    last = (int(hi) - start) // width
    return {
        "width": width,
        "n": int(n),
        "bins": [
            {"lo": start + b * width, "hi": start + (b + 1) * width, "n": int(counts.get(b, 0))}
            for b in range(last + 1)
        ],
    }


def tier_counts(store: Store, run_id: int, *, kind: str = "person") -> list[dict[str, Any]]:
    """Each tier of the run's policy, best first, with its lower bound and how many subjects it holds."""
    run = store.rows("SELECT policy_id, policy_version FROM score_runs WHERE run_id = ?", [run_id])[0]
    policy = get_policy(store, run["policy_id"], run["policy_version"]).policy
    counts = dict(
        store.execute(
            f"SELECT tier, count(*) FROM {run_rows(store, 'run_results', run_id)} WHERE kind = ? GROUP BY tier", [kind]
        ).fetchall()
    )
    return [
        {"tier": t.id, "min": t.min, "name": t.name, "n": int(counts.get(t.id, 0))}
        for t in sorted(policy.tiers, key=lambda t: -t.min)
    ]


def _group_stats(
    store: Store, run_id: int, key_sql: str, join: str = "", held: Collection[str] = ()
) -> dict[str, dict[str, Any]]:
    """Residents, mean score and list counts of a run by ``key_sql``; the blacklist counts as ``list_sizes`` does
    (until 2026-12-06 also those in their notice period), and of those counted how many are among ``held`` (the
    subjects of its blacklist decisions no longer apply: ``runs``' ``held_subjects``), as the run's list size says
    them apart (until 2026-12-07 not: they were counted in effect without a word). ``held`` is joined, not searched
    per resident (``list_contains`` over it cost a scan of the list per resident: seconds at a few thousand held)."""
    rows = store.rows(
        f"""SELECT {key_sql} AS k, count(*) AS residents, avg(r.score) AS mean_score,
                   count(*) FILTER (WHERE b.standing = 'effective') AS blacklist,
                   count(*) FILTER (WHERE b.standing = 'effective' AND h.subject_id IS NOT NULL) AS held,
                   count(*) FILTER (WHERE list_contains(r.lists, 'redlist')) AS redlist
            FROM {run_rows(store, "run_results", run_id)} r {join}
            LEFT JOIN ({_standing_sql("s.run_id = $run")}) b
              ON b.run_id = r.run_id AND b.subject_id = r.subject_id AND b.list_id = 'blacklist'
            LEFT JOIN (SELECT unnest($held) AS subject_id) h ON h.subject_id = r.subject_id
            WHERE r.run_id = $run AND r.kind = 'person' GROUP BY k""",
        {"run": run_id, "black": sorted(_blacklists(store)) or [""], "held": sorted(set(held)) or [""]},
    )
    return {str(r["k"]): r for r in rows if r["k"] is not None}


def _stats(found: dict[str, Any] | None) -> dict[str, Any]:
    if not found:
        return {"residents": 0, "mean_score": None, "blacklist": 0, "held": 0, "redlist": 0, "blacklist_per_10k": None}
    n = int(found["residents"])
    return {
        "residents": n,
        "mean_score": round(float(found["mean_score"]), 1),
        "blacklist": int(found["blacklist"]),
        "held": int(found["held"]),
        "redlist": int(found["redlist"]),
        "blacklist_per_10k": round(10_000 * int(found["blacklist"]) / n, 1),
    }


def by_district(store: Store, run_id: int, held: Collection[str] = ()) -> list[dict[str, Any]]:
    """Beijing's 16 districts (in code order) with their 2020 census population and, for the residents living
    there (the district of their address, not the region code of their identity number), the count, mean score
    and how many are on each list (of the blacklisted, how many ``held``: ``_group_stats``)."""
    return district_figures(store, run_id, held)[0]


def outside_districts(store: Store, run_id: int, held: Collection[str] = ()) -> dict[str, Any]:
    """The residents of the run whose district is none of the 16 (none on file, a misspelling, another city's):
    the rest of the run's residents, so that the districts' residents and these add up to the run's."""
    return district_figures(store, run_id, held)[1]


def district_figures(
    store: Store, run_id: int, held: Collection[str] = ()
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``by_district`` and ``outside_districts`` from one query (the dashboard shows both)."""
    found = _district_stats(store, run_id, held)
    rows = [
        {
            "code": d["code"],
            "name_zh": d["name_zh"],
            "name_en": d["name_en"],
            "population_2020": int(d["population_2020"]),
            **_stats(found.get(d["name_zh"])),
        }
        for d in districts()
    ]
    return rows, _stats(found.get(""))


def _district_stats(store: Store, run_id: int, held: Collection[str]) -> dict[str, dict[str, Any]]:
    """``_group_stats`` by the district of each resident's address, ``""`` for none of the 16."""
    watermark = int(store.one("SELECT watermark FROM score_runs WHERE run_id = ?", [run_id]))
    # the address as it stood when the run read it, not as it is now
    current = latest_subjects(("subject_id", "district"), watermark=watermark).sql(dialect="duckdb")
    join = f"LEFT JOIN ({current}) s USING (subject_id)"
    names = ", ".join(lit(d["name_zh"]) for d in districts())
    return _group_stats(store, run_id, f"CASE WHEN s.district IN ({names}) THEN s.district ELSE '' END", join, held)


def by_profession(store: Store, run_id: int, held: Collection[str] = ()) -> list[dict[str, Any]]:
    """Residents by profession, most numerous first (``held``: as ``by_district``)."""
    found = _group_stats(store, run_id, "r.profession", held=held)
    rows = [{"profession": k, **_stats(v)} for k, v in found.items()]
    return sorted(rows, key=lambda r: (-r["residents"], r["profession"]))


def by_age_band(store: Store, run_id: int, held: Collection[str] = ()) -> list[dict[str, Any]]:
    """Residents by age band (age at the run's as-of date; ``held``: as ``by_district``)."""
    cases = " ".join(
        f"WHEN r.age BETWEEN {lo} AND {hi} THEN '{label}'" if hi is not None else f"WHEN r.age >= {lo} THEN '{label}'"
        for label, lo, hi in AGE_BANDS
    )
    found = _group_stats(store, run_id, f"CASE {cases} END", held=held)
    return [{"band": label, **_stats(found.get(label))} for label, _, _ in AGE_BANDS]


_DIGITS = re.compile(r"[0-9A-Za-z]+")
_ID_PREFIX = sqlglot.condition("upper(subject_id) LIKE upper(?) || '%'", dialect="duckdb")
_NAME_CONTAINS = sqlglot.condition("contains(name, ?)", dialect="duckdb")


def search_subjects(store: Store, query: str, *, actor: str, limit: int = 20) -> list[dict[str, Any]]:
    """Subjects whose identity number / organisation code starts with ``query`` (compacted: at least 6 characters, a
    digit among them) or whose name contains it (at least one character); the search is audited with what was asked
    and how many matched."""
    q = unicodedata.normalize("NFC", query.strip())  # as ingest stores a name
    if not q:
        return []
    # An identifier is compacted as over the API (`110105 19491231002x`, full-width digits); it has a digit, a name not
    key = compact_subject_id(q)
    by_id = bool(_DIGITS.fullmatch(key)) and len(key) >= 6 and any(c.isdigit() for c in key)
    # The match is on the versions (a former name finds the subject too), before the latest matching is chosen.
    matches = _ID_PREFIX if by_id else _NAME_CONTAINS
    found = latest_subjects(("subject_id", "kind", "name", "district", "profession", "birth_date"), where=matches)
    rows = store.rows(f"{found.sql(dialect='duckdb')} ORDER BY subject_id LIMIT ?", [key if by_id else q, limit])
    with store.transaction():
        append_audit(store, actor, "search_subjects", None, {"query": q, "matches": len(rows)})
    return rows
