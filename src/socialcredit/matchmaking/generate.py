"""A synthetic client base for tests and benchmarks, drawn from the synthetic residents of a generated population
(``socialcredit generate``: its ``subjects/*.parquet``) or of a subjects file (CSV or Parquet, such as the
example world's ``subjects.csv``).

Residents aged 20 to 65 with a valid identity number are drawn at random (seeded); name, district and profession
come from the resident, sex and birth date from the identity number. Education, income, interests, preferences and
consent are drawn here, with plausible dependencies (younger residents hold more degrees, income follows education
and job). No registry record is read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from socialcredit.binding import with_params
from socialcredit.errors import IdentifierError, MatchmakingError
from socialcredit.identifiers import validate_ric
from socialcredit.matchmaking.reference import (
    DISTRICTS,
    EDUCATION,
    INCOME_BANDS,
    INTERESTS,
    Tiers,
    credit_tiers,
    district_km,
)
from socialcredit.matchmaking.store import MatchStore, age_on
from socialcredit.sqltext import lit

__all__ = ["CONSENT_SHARE", "GeneratedBase", "generate_clients", "read_residents"]

CONSENT_SHARE = 0.40  # clients who agree to share their credit tier
_AGES = (20, 65)
_EDUCATION_BY_AGE = {  # junior high … doctorate, by age band (our calibration)
    35: [0.08, 0.17, 0.22, 0.38, 0.13, 0.02],
    50: [0.15, 0.25, 0.22, 0.28, 0.08, 0.02],
    200: [0.35, 0.30, 0.15, 0.15, 0.04, 0.01],
}
_JOB_OF_PROFESSION = {"self_employed": 2, "student": 3, "retired": 4, "unemployed": 5}  # 1-based ranks in JOB_STATUSES
_INTEREST_WEIGHTS = np.array([5, 6, 5, 4, 6, 5, 3, 3, 4, 2, 2, 3, 1, 1, 2, 3, 3, 2, 3, 2, 1, 2, 2, 1], dtype=float)


@dataclass(frozen=True)
class GeneratedBase:
    clients: int
    consenting: int
    first_client_id: int


def _years_before(day: dt.date, years: int) -> dt.date:
    """The same day ``years`` earlier; 29 February in a year without one is the 28th (a person born then turns a year
    older on the 28th as ``age_on`` counts)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def read_residents(source: Path | str, n: int, *, seed: int = 0, today: dt.date) -> list[tuple[str, str, str, str]]:
    """Up to ``n`` residents (subject id, name, district code, profession) aged 20-65, drawn at random."""
    source = Path(source)
    if source.is_dir():
        files = sorted((source / "subjects").glob("*.parquet")) or sorted(source.glob("*.parquet"))
        if not files:
            raise MatchmakingError(f"{source}: no subjects/*.parquet (a folder written by `socialcredit generate`)")
        relation = f"read_parquet([{', '.join(lit(str(f)) for f in files)}])"
    elif source.suffix == ".parquet":
        relation = f"read_parquet({lit(str(source))})"
    elif source.suffix == ".csv":
        relation = f"read_csv({lit(str(source))}, all_varchar = true)"
    else:
        raise MatchmakingError(f"{source}: give a population folder, a .parquet or a .csv file of residents")
    names = {d.zh: d.code for d in DISTRICTS}
    con = duckdb.connect()
    try:
        rows = with_params(
            con.execute,
            f"""
            WITH people AS (
                SELECT subject_id, name, district, coalesce(profession, 'other') AS profession,
                    try_strptime(substr(subject_id, 7, 8), '%Y%m%d')::DATE AS birth
                FROM {relation}
                WHERE regexp_full_match(subject_id, '[0-9]{{17}}[0-9X]') AND district IN (SELECT unnest(?))
            )
            SELECT subject_id, name, district, profession FROM people
            WHERE birth IS NOT NULL AND birth BETWEEN ? AND ?
            ORDER BY hash(subject_id || ?::VARCHAR), subject_id
            LIMIT ?
            """,
            [
                list(names),
                _years_before(today, _AGES[1] + 1) + dt.timedelta(days=1),
                _years_before(today, _AGES[0]),
                seed,
                int(n * 1.05) + 10,
            ],
        ).fetchall()
    except duckdb.Error as exc:
        raise MatchmakingError(
            f"{source}: cannot read residents (subject_id, name, district, profession): {exc}"
        ) from None
    finally:
        con.close()
    out = []
    for sid, name, district, profession in rows:
        try:
            validate_ric(sid, today=today)
        except IdentifierError:
            continue  # a mistyped number in the source: the registry would not know it either
        out.append((str(sid), str(name), names[district], str(profession)))
        if len(out) == n:
            break
    return out


def _nearest(code: str, k: int) -> list[str]:
    return sorted((d.code for d in DISTRICTS), key=lambda c: (district_km(code, c), c))[:k]


def generate_clients(
    store: MatchStore,
    source: Path | str,
    n: int,
    *,
    seed: int = 0,
    today: dt.date | None = None,
    tiers: Tiers | None = None,
) -> GeneratedBase:
    """Add ``n`` clients drawn from the residents in ``source`` to ``store`` (fewer if the source has fewer)."""
    if n < 1:  # it drew the ten spare residents it reads beyond n, or some of them
        raise MatchmakingError(f"clients: give how many clients to add, 1 or more (not {n})", field="clients")
    today = today or dt.date.today()
    tiers = tiers or credit_tiers()
    people = read_residents(source, n, seed=seed, today=today)
    taken = {str(r[0]) for r in store.con.execute("SELECT subject_id FROM clients").fetchall()}
    people = [p for p in people if p[0] not in taken]
    m = len(people)
    if m == 0:
        raise MatchmakingError(f"{source}: no new residents aged 20-65 to draw clients from")
    rng = np.random.default_rng(seed)
    first, first_seq = store.next_ids()
    ids = np.arange(first, first + m)
    sid = [p[0] for p in people]
    sex = np.array(["M" if int(s[16]) % 2 else "F" for s in sid])
    birth = [dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14])) for s in sid]
    age = np.array([age_on(b, today) for b in birth])
    edu = np.empty(m, dtype=np.int64)
    for limit, shares in sorted(_EDUCATION_BY_AGE.items(), reverse=True):
        band = age < limit
        edu[band] = rng.choice(len(EDUCATION), int(band.sum()), p=shares) + 1
    job = np.array([_JOB_OF_PROFESSION.get(p[3], 1) for p in people])
    job[(job == 1) & (rng.random(m) < 0.08)] = 2  # some employed residents run their own business too
    income = np.clip(edu // 2 + rng.integers(0, 3, m), 1, len(INCOME_BANDS))
    income[job >= 4] = np.minimum(income[job >= 4], 2)
    income[job == 3] = 1
    weights = _INTEREST_WEIGHTS / _INTEREST_WEIGHTS.sum()
    interests = [
        [INTERESTS[i].id for i in sorted(rng.choice(len(INTERESTS), k, replace=False, p=weights))]
        for k in rng.integers(2, 7, m)
    ]
    men = sex == "M"
    lo = np.where(men, age - 8, age - 2) - rng.integers(0, 3, m)
    hi = np.where(men, age + 2, age + 8) + rng.integers(0, 3, m)
    lo, hi = np.clip(lo, 18, 100), np.clip(hi, 18, 100)
    near = {d.code: _nearest(d.code, 3) for d in DISTRICTS}
    local = rng.random(m) < 0.4
    districts = [near[p[2]] if local[i] else [] for i, p in enumerate(people)]
    min_edu = np.where(rng.random(m) < 0.5, np.maximum(1, edu - 1), 0)
    min_income = np.where(rng.random(m) < 0.3, rng.integers(2, 4, m), 0)
    tier_ids = [t.id for t in tiers.labels]
    wants_tier = rng.random(m) < 0.15
    tier_pick = rng.integers(len(tier_ids) // 2, len(tier_ids) - 1, m)
    consent = rng.random(m) < CONSENT_SHARE
    now = dt.datetime.now()
    clients = pa.table(
        {
            "client_id": pa.array(ids, pa.int64()),
            "subject_id": sid,
            "name": [p[1] for p in people],
            "sex": sex.tolist(),
            "birth_date": pa.array(birth, pa.date32()),
            "district": [p[2] for p in people],
            "education": [EDUCATION[e - 1].id for e in edu],
            "job": [("employed", "self_employed", "student", "retired", "unemployed")[j - 1] for j in job],
            "income": [INCOME_BANDS[i - 1].id for i in income],
            "interests": pa.array(interests, pa.list_(pa.string())),
            "registered_at": pa.array([now] * m, pa.timestamp("us")),
        }
    )
    preferences = pa.table(
        {
            "client_id": pa.array(ids, pa.int64()),
            "seeks": pa.array([["F"] if s == "M" else ["M"] for s in sex], pa.list_(pa.string())),
            "age_min": pa.array(lo, pa.int32()),
            "age_max": pa.array(hi, pa.int32()),
            "districts": pa.array(districts, pa.list_(pa.string())),
            "min_education": [EDUCATION[e - 1].id if e else None for e in min_edu],
            "min_income": [INCOME_BANDS[i - 1].id if i else None for i in min_income],
            "min_tier": [tier_ids[t] if w else None for t, w in zip(tier_pick, wants_tier, strict=True)],
            "updated_at": pa.array([now] * m, pa.timestamp("us")),
        }
    )
    who = ids[consent]
    consents = pa.table(
        {
            "seq": pa.array(np.arange(first_seq, first_seq + len(who)), pa.int64()),
            "client_id": pa.array(who, pa.int64()),
            "granted": pa.array([True] * len(who)),
            "actor": pa.array(["generator"] * len(who)),
            "recorded_at": pa.array([now] * len(who), pa.timestamp("us")),
        }
    )
    store.insert_many(clients, preferences, consents)
    return GeneratedBase(m, len(who), first)
