"""The matchmaking service's own store (a DuckDB file of its own, never the registry's): client profiles,
partner preferences, and the history of each client's consent to share their credit tier.

Sex and birth date are read from the identity number, so they cannot disagree with it. Consent is an
append-only history; the latest entry counts, and ``ClientIndex`` is rebuilt after every write, so a withdrawal
takes effect at the very next ranking.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from socialcredit.binding import with_params
from socialcredit.errors import IdentifierError, MatchmakingError, UnknownClientError
from socialcredit.identifiers import ResidentId, validate_subject_id
from socialcredit.matchmaking.ranking import ClientIndex
from socialcredit.matchmaking.reference import (
    DISTRICTS,
    EDUCATION,
    INCOME_BANDS,
    INTERESTS,
    JOB_STATUSES,
    SEXES,
    SHOWN,
    Tiers,
    parse_district,
    parse_education,
    parse_income,
    parse_interests,
    parse_job,
    shown,
)
from socialcredit.matchmaking.settings import DEFAULT_MATCH_DB
from socialcredit.sqltext import lit
from socialcredit.textcheck import control_character, invisible_character

__all__ = [
    "DEFAULT_MATCH_DB",
    "MIN_AGE",
    "Client",
    "MatchStore",
    "Preferences",
    "Profile",
    "age_on",
    "default_preferences",
    "open_match_store",
    "profile",
]

MIN_AGE = 18
MAX_AGE = 100

_SCHEMA = """
CREATE TABLE IF NOT EXISTS clients (
    client_id BIGINT PRIMARY KEY, subject_id VARCHAR NOT NULL UNIQUE, name VARCHAR NOT NULL, sex VARCHAR NOT NULL,
    birth_date DATE NOT NULL, district VARCHAR NOT NULL, education VARCHAR NOT NULL, job VARCHAR NOT NULL,
    income VARCHAR NOT NULL, interests VARCHAR[] NOT NULL, registered_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS preferences (
    client_id BIGINT PRIMARY KEY, seeks VARCHAR[] NOT NULL, age_min INTEGER NOT NULL, age_max INTEGER NOT NULL,
    districts VARCHAR[] NOT NULL, min_education VARCHAR, min_income VARCHAR, min_tier VARCHAR,
    updated_at TIMESTAMP NOT NULL
);
-- Consent to share the credit tier with the matchmaking service: append-only, the latest entry counts.
CREATE TABLE IF NOT EXISTS consents (
    seq BIGINT PRIMARY KEY, client_id BIGINT NOT NULL, granted BOOLEAN NOT NULL, actor VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
CREATE SEQUENCE IF NOT EXISTS client_ids START 1;
CREATE SEQUENCE IF NOT EXISTS consent_seq START 1;
"""


@dataclass(frozen=True)
class Profile:
    subject_id: str
    name: str
    sex: str  # "M" or "F", from the identity number
    birth_date: dt.date  # from the identity number
    district: str  # district code
    education: str
    job: str
    income: str
    interests: tuple[str, ...]


@dataclass(frozen=True)
class Preferences:
    seeks: tuple[str, ...]  # sexes sought
    age_min: int
    age_max: int
    districts: tuple[str, ...] = ()  # district codes; empty: any
    min_education: str | None = None
    min_income: str | None = None
    min_tier: str | None = None  # applies only to candidates who share their tier


@dataclass(frozen=True)
class Client:
    client_id: int
    profile: Profile
    preferences: Preferences
    consent: bool
    age: int
    registered_at: dt.datetime
    history: list[dict[str, Any]] = field(default_factory=list)


def age_on(birth: dt.date, today: dt.date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def profile(
    subject_id: str,
    name: str,
    district: str,
    education: str,
    job: str,
    income: str,
    interests: list[str],
    *,
    today: dt.date | None = None,
) -> Profile:
    """A validated profile; every error names its field."""
    today = today or dt.date.today()
    if len(subject_id.strip()) > SHOWN:  # the identifier's own errors quote it whole
        raise MatchmakingError(
            f"subject_id: {shown(subject_id.strip())} has {len(subject_id.strip())} characters; a resident identity "
            "number has 18",
            field="subject_id",
            zh=f"subject_id：{shown(subject_id.strip())} 有 {len(subject_id.strip())} 个字符；居民身份证号码为 18 位",
        )
    try:
        rid = validate_subject_id(subject_id.strip())
    except IdentifierError as exc:
        raise MatchmakingError(
            f"subject_id: {exc}", field="subject_id", zh=f"subject_id：{exc.said_in('zh')}"
        ) from None
    if not isinstance(rid, ResidentId):
        raise MatchmakingError(
            "subject_id: a client is a person; this is an organisation's code",
            field="subject_id",
            zh="subject_id：客户须是个人；这是组织机构的代码",
        )
    if age_on(rid.birth_date, today) < MIN_AGE:
        raise MatchmakingError(
            f"subject_id: a client must be {MIN_AGE} or older",
            field="subject_id",
            zh=f"subject_id：客户须年满 {MIN_AGE} 岁",
        )
    if not name.strip() or len(name.strip()) > 40:
        raise MatchmakingError(
            "name: give a name of 1 to 40 characters", field="name", zh="name：姓名须为 1 至 40 个字符"
        )
    control = control_character(name.strip())
    if control is not None:  # shown to every match, as the registry's ingest refuses one in a name; a bidi control
        # (U+202A–U+202E, U+2066–U+2069) would reorder the text around the name on every match's page
        raise MatchmakingError(
            f"name: has a control character (U+{ord(control):04X}); a name is printable text",
            field="name",
            zh=f"name：含有控制字符（U+{ord(control):04X}）；姓名须为可打印的文字",
        )
    hidden = invisible_character(name.strip())
    if (
        hidden is not None
    ):  # a name of a zero-width space alone showed every match a blank; one inside it ("王\u200b芳")
        # reads as another name: refused as the registry's ingest refuses one in a name (textcheck)
        raise MatchmakingError(
            f"name: has an invisible character (U+{ord(hidden):04X}); a name is visible text",
            field="name",
            zh=f"name：含有不可见字符（U+{ord(hidden):04X}）；姓名须为可见的文字",
        )
    fields: dict[str, Callable[[], Any]] = {
        "district": lambda: parse_district(district),
        "education": lambda: EDUCATION[parse_education(education) - 1].id,
        "job": lambda: JOB_STATUSES[parse_job(job) - 1].id,
        "income": lambda: INCOME_BANDS[parse_income(income) - 1].id,
        "interests": lambda: tuple(parse_interests(interests)),
    }
    values: dict[str, Any] = {}
    for key, parse in fields.items():
        try:
            values[key] = parse()
        except MatchmakingError as exc:
            raise MatchmakingError(f"{key}: {exc}", field=key, zh=f"{key}：{exc.said_in('zh')}") from None
    return Profile(rid.number, name.strip(), rid.sex, rid.birth_date, **values)


def default_preferences(p: Profile, today: dt.date | None = None) -> Preferences:
    """What a new client starts with: the other sex, five years either side (within the ages a range may name, so
    a client of 106 starts with 100-100), anywhere in Beijing."""
    age = age_on(p.birth_date, today or dt.date.today())
    low = min(MAX_AGE, max(MIN_AGE, age - 5))
    return Preferences(("F" if p.sex == "M" else "M",), low, min(MAX_AGE, max(low, age + 5)))


def _check_preferences(prefs: Preferences, tiers: Tiers) -> Preferences:
    def bad(fieldname: str, message: str, zh: str | None = None) -> MatchmakingError:
        return MatchmakingError(f"{fieldname}: {message}", field=fieldname, zh=f"{fieldname}：{zh or message}")

    seeks = tuple(sorted(set(prefs.seeks)))
    if not seeks or any(s not in ("F", "M") for s in seeks):
        raise bad("seeks", "choose F (women), M (men) or both", "请选择 F（女）、M（男）或两者")
    if not MIN_AGE <= prefs.age_min <= prefs.age_max <= MAX_AGE:
        raise bad(
            "age_min",
            f"the age range must lie within {MIN_AGE}-{MAX_AGE}, lowest first",
            f"年龄范围须在 {MIN_AGE}-{MAX_AGE} 之内，小的在前",
        )
    try:
        districts = tuple(sorted({parse_district(d) for d in prefs.districts}))
        min_edu = EDUCATION[parse_education(prefs.min_education) - 1].id if prefs.min_education else None
    except MatchmakingError as exc:
        raise bad("districts" if "district" in str(exc) else "min_education", str(exc), exc.zh) from None
    try:
        min_income = INCOME_BANDS[parse_income(prefs.min_income) - 1].id if prefs.min_income else None
    except MatchmakingError as exc:
        raise bad("min_income", str(exc), exc.zh) from None
    try:
        min_tier = tiers.parse(prefs.min_tier) if prefs.min_tier else None
    except MatchmakingError as exc:
        raise bad("min_tier", str(exc), exc.zh) from None
    return Preferences(seeks, prefs.age_min, prefs.age_max, districts, min_edu, min_income, min_tier)


class MatchStore:
    """An open matchmaking store; one connection, used under a lock (the web app answers from threads)."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection) -> None:
        self.path, self.con = path, con
        self.lock = threading.RLock()
        self._index: ClientIndex | None = None
        self._index_day: dt.date | None = None
        self._index_tiers: Tiers | None = None

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> MatchStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.lock:
            self.con.execute("BEGIN TRANSACTION")
            try:
                yield self.con
            except BaseException:
                self.con.execute("ROLLBACK")
                raise
            self.con.execute("COMMIT")

    # --- writes -------------------------------------------------------------------------------------------------
    def register(
        self, p: Profile, prefs: Preferences | None = None, *, tiers: Tiers, today: dt.date | None = None
    ) -> int:
        """Add a client with their preferences (default: see ``default_preferences``); returns the client id."""
        prefs = _check_preferences(prefs or default_preferences(p, today), tiers)
        with self.transaction() as con:
            taken = _run(con, "SELECT client_id FROM clients WHERE subject_id = ?", [p.subject_id]).fetchone()
            if taken:
                raise MatchmakingError(
                    f"subject_id: this identity number is already client {taken[0]}",
                    field="subject_id",
                    zh=f"subject_id：此身份证号码已是第 {taken[0]} 号客户",
                )
            row = con.execute("SELECT nextval('client_ids')").fetchone()
            client_id = int(row[0]) if row else 0
            _run(
                con,
                "INSERT INTO clients VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
                [
                    client_id,
                    p.subject_id,
                    p.name,
                    p.sex,
                    p.birth_date,
                    p.district,
                    p.education,
                    p.job,
                    p.income,
                    list(p.interests),
                ],
            )
            self._write_preferences(con, client_id, prefs)
        self._refresh(client_id)
        return client_id

    def set_preferences(self, client_id: int, prefs: Preferences, *, tiers: Tiers) -> Preferences:
        prefs = _check_preferences(prefs, tiers)
        with self.transaction() as con:
            self._require(con, client_id)
            _run(con, "DELETE FROM preferences WHERE client_id = ?", [client_id])
            self._write_preferences(con, client_id, prefs)
        self._refresh(client_id)
        return prefs

    @staticmethod
    def _write_preferences(con: duckdb.DuckDBPyConnection, client_id: int, prefs: Preferences) -> None:
        _run(
            con,
            "INSERT INTO preferences VALUES (?, ?, ?, ?, ?, ?, ?, ?, now())",
            [
                client_id,
                list(prefs.seeks),
                prefs.age_min,
                prefs.age_max,
                list(prefs.districts),
                prefs.min_education,
                prefs.min_income,
                prefs.min_tier,
            ],
        )

    def set_consent(self, client_id: int, granted: bool, *, actor: str = "client") -> int:
        """Give (``granted=True``) or withdraw consent to share the credit tier; effective at the next ranking."""
        with self.transaction() as con:
            self._require(con, client_id)
            row = con.execute("SELECT nextval('consent_seq')").fetchone()
            seq = int(row[0]) if row else 0
            _run(con, "INSERT INTO consents VALUES (?, ?, ?, ?, now())", [seq, client_id, granted, actor])
        self._refresh(client_id)
        return seq

    # --- reads --------------------------------------------------------------------------------------------------
    @staticmethod
    def _require(con: duckdb.DuckDBPyConnection, client_id: int) -> None:
        if not _run(con, "SELECT 1 FROM clients WHERE client_id = ?", [client_id]).fetchone():
            raise UnknownClientError(f"no client {client_id}", field="client_id", zh=f"没有第 {client_id} 号客户")

    def _rows(self, sql: str) -> list[dict[str, Any]]:
        cur = self.con.execute(sql)
        cols = [d[0] for d in cur.description or []]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

    def count(self) -> int:
        with self.lock:
            row = self.con.execute("SELECT count(*) FROM clients").fetchone()
        return int(row[0]) if row else 0

    def consent_history(self, client_id: int) -> list[dict[str, Any]]:
        with self.lock:
            cur = _run(
                self.con,
                "SELECT seq, granted, actor, recorded_at FROM consents WHERE client_id = ? ORDER BY seq",
                [client_id],
            )
            return [dict(zip(("seq", "granted", "actor", "recorded_at"), r, strict=True)) for r in cur.fetchall()]

    def clients(self, client_ids: list[int], *, today: dt.date | None = None) -> dict[int, Client]:
        """Profiles, preferences and current consent of some clients (unknown ids are left out)."""
        today = today or dt.date.today()
        if not client_ids:
            return {}
        # Three point queries joined here: DuckDB answers each from its index in about a millisecond, where one
        # joined query scans every client and every consent (tens of milliseconds at 50 000 clients).
        wanted = ", ".join(str(int(c)) for c in client_ids)
        with self.lock:
            rows = self._rows(f"SELECT * FROM clients WHERE client_id IN ({wanted})")
            prefs_of = {
                r["client_id"]: r for r in self._rows(f"SELECT * FROM preferences WHERE client_id IN ({wanted})")
            }
            consent_of = dict(
                self.con.execute(
                    f"SELECT client_id, arg_max(granted, seq) FROM consents WHERE client_id IN ({wanted}) "
                    "GROUP BY client_id"
                ).fetchall()
            )
        for r in rows:
            r.update({k: v for k, v in prefs_of[r["client_id"]].items() if k != "client_id"})
            r["consent"] = bool(consent_of.get(r["client_id"], False))
        out = {}
        for r in rows:
            p = Profile(
                r["subject_id"],
                r["name"],
                r["sex"],
                r["birth_date"],
                r["district"],
                r["education"],
                r["job"],
                r["income"],
                tuple(r["interests"]),
            )
            prefs = Preferences(
                tuple(r["seeks"]),
                r["age_min"],
                r["age_max"],
                tuple(r["districts"]),
                r["min_education"],
                r["min_income"],
                r["min_tier"],
            )
            cid = int(r["client_id"])
            out[cid] = Client(cid, p, prefs, bool(r["consent"]), age_on(p.birth_date, today), r["registered_at"])
        return out

    def client(self, client_id: int, *, today: dt.date | None = None) -> Client:
        found = self.clients([client_id], today=today).get(client_id)
        if found is None:
            raise UnknownClientError(f"no client {client_id}", field="client_id", zh=f"没有第 {client_id} 号客户")
        return Client(**{**found.__dict__, "history": self.consent_history(client_id)})

    def index(self, tiers: Tiers, *, today: dt.date | None = None) -> ClientIndex:
        """Every client as columns for ranking, built once a day (ages move) and patched by every write, so a
        ranking never sees a consent, preference or profile older than the last write."""
        today = today or dt.date.today()
        with self.lock:
            if self._index is None or self._index_day != today or self._index_tiers != tiers:
                self._index = self._load_index(tiers, today)
                self._index_day, self._index_tiers = today, tiers
            return self._index

    def _refresh(self, client_id: int) -> None:
        """Patch one client's row into a copy of the index (a ranking under way keeps the copy it started with)."""
        with self.lock:
            old = self._index
            if old is None or self._index_day is None or self._index_tiers is None:
                return
            one = self._load_index(self._index_tiers, self._index_day, client_id=client_id)
            names = [n for n in ClientIndex.__dataclass_fields__ if n != "row_of"]
            row = old.row_of.get(client_id)
            if row is None:
                arrays = {n: np.concatenate([getattr(old, n), getattr(one, n)]) for n in names}
                self._index = ClientIndex(**arrays, row_of={**old.row_of, client_id: len(old)})
                return
            arrays = {n: getattr(old, n).copy() for n in names}
            for n in names:
                arrays[n][row] = getattr(one, n)[0]
            self._index = ClientIndex(**arrays, row_of=old.row_of)

    def _load_index(self, tiers: Tiers, today: dt.date, *, client_id: int | None = None) -> ClientIndex:
        def pos(values: list[str], column: str) -> str:
            return f"coalesce(list_position({_lit_list(values)}, {column}), 0)"

        def mask(values: list[str], column: str) -> str:
            return (
                f"coalesce(list_sum(list_transform({column}, lambda x: (1::BIGINT << "
                f"(list_position({_lit_list(values)}, x) - 1)))), 0)::BIGINT"
            )

        only = f"WHERE client_id = {int(client_id)}" if client_id is not None else ""
        sql = f"""
            SELECT c.client_id, c.subject_id,
                {pos([s.id for s in SEXES], "c.sex")} - 1 AS sex,
                {mask([s.id for s in SEXES], "p.seeks")} AS seeks,
                year(?::DATE) - year(c.birth_date) - (strftime(c.birth_date, '%m%d') > ?)::INTEGER AS age,
                p.age_min, p.age_max,
                {pos([d.code for d in DISTRICTS], "c.district")} - 1 AS district,
                {mask([d.code for d in DISTRICTS], "p.districts")} AS district_ok,
                {pos([e.id for e in EDUCATION], "c.education")} AS education,
                {pos([e.id for e in EDUCATION], "p.min_education")} AS min_education,
                {pos([i.id for i in INCOME_BANDS], "c.income")} AS income,
                {pos([i.id for i in INCOME_BANDS], "p.min_income")} AS min_income,
                {pos([j.id for j in JOB_STATUSES], "c.job")} AS job,
                {mask([i.id for i in INTERESTS], "c.interests")} AS interests,
                {pos([t.id for t in tiers.labels], "p.min_tier")} AS min_tier,
                coalesce(k.granted, false) AS consent
            FROM (SELECT * FROM clients {only}) c JOIN (SELECT * FROM preferences {only}) p USING (client_id)
            LEFT JOIN (SELECT client_id, arg_max(granted, seq) AS granted FROM consents {only} GROUP BY client_id) k
                USING (client_id)
            ORDER BY c.client_id
        """
        cols = _run(self.con, sql, [today, today.strftime("%m%d")]).fetchnumpy()
        arrays: dict[str, Any] = {}
        for name, col in cols.items():
            values = np.asarray(col)
            if name == "subject_id":
                arrays[name] = values.astype(object)
            elif name == "consent":
                arrays[name] = values.astype(bool)
            else:
                arrays[name] = values.astype(np.int64)
        return ClientIndex(**arrays)

    # --- bulk (the client-base generator) -----------------------------------------------------------------------
    def insert_many(self, clients: Any, preferences: Any, consents: Any) -> None:
        """Append Arrow tables of clients, preferences and consents (columns as the tables); one transaction."""
        with self.transaction() as con:
            for name, table in (("clients", clients), ("preferences", preferences), ("consents", consents)):
                con.register("incoming", table)
                try:
                    con.execute(f"INSERT INTO {name} SELECT * FROM incoming")
                finally:
                    con.unregister("incoming")
            for seq, table in (("client_ids", "clients"), ("consent_seq", "consents")):
                key = "client_id" if table == "clients" else "seq"
                row = con.execute(f"SELECT coalesce(max({key}), 0) FROM {table}").fetchone()
                top = int(row[0]) if row else 0
                # a sequence cannot be reset in place: recreate it past the rows just added
                con.execute(f"DROP SEQUENCE {seq}")
                con.execute(f"CREATE SEQUENCE {seq} START {top + 1}")
            self._index = None

    def next_ids(self) -> tuple[int, int]:
        """The first free client id and consent number (for bulk appends)."""
        with self.lock:
            a = self.con.execute("SELECT coalesce(max(client_id), 0) + 1 FROM clients").fetchone()
            b = self.con.execute("SELECT coalesce(max(seq), 0) + 1 FROM consents").fetchone()
        return (int(a[0]) if a else 1, int(b[0]) if b else 1)


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: Any) -> duckdb.DuckDBPyConnection:
    """``con.execute(sql, params)`` as the registry's store runs a statement with parameters (binding.with_params):
    DuckDB's import of pandas for them is refused where the console refuses it, so that a console start of
    ``matchmaking register``, ``prefs``, ``consent`` or ``matches`` does not import pandas (some 0.7 CPU s) it never
    uses."""
    return with_params(con.execute, sql, params)


def _lit_list(values: list[str]) -> str:
    return "[" + ", ".join(lit(v) for v in values) + "]"


def open_match_store(path: Path | str = DEFAULT_MATCH_DB, *, create: bool = True) -> MatchStore:
    """Open (or create) the matchmaking store at ``path`` (":memory:" for a store that lives in memory)."""
    path = Path(path)
    memory = str(path) == ":memory:"
    if not memory and not path.exists() and not create:
        raise MatchmakingError(
            f"no matchmaking store at {path}; register a client or generate a client base first",
            zh=f"{path} 没有婚恋网站的数据库：请先登记客户或生成客户库",
        )
    if not memory:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path))
    except duckdb.Error as exc:
        if "lock" in str(exc).lower():
            raise MatchmakingError(
                f"the matchmaking store {path} is in use by another process (a running `matchmaking serve`?)"
            ) from None
        raise MatchmakingError(f"cannot open the matchmaking store {path}: {exc}") from None
    con.execute(_SCHEMA)
    return MatchStore(path, con)
