"""The policy document: what it may say, as Pydantic models.

A policy is pure data. It knows nothing of engines: the compiler lowers it to SQL.
The reference for every key is docs/policy-language.md; each example there is validated by the tests.
"""

from __future__ import annotations

import builtins
import datetime as dt
import re
import unicodedata
from typing import Literal, NoReturn

from pydantic import BaseModel, ConfigDict, Field, field_validator

from socialcredit.catalog import Text
from socialcredit.policy.expr import READ_BACK

__all__ = [
    "JUSTIFICATION_MAX",
    "MAX_DAYS",
    "MAX_ID_LENGTH",
    "MAX_SCORE",
    "OVERRIDABLE_CHECKS",
    "PUBLIC_FIELDS",
    "RELATION_RECORD_TYPE",
    "ROLES",
    "Consent",
    "Decay",
    "Dimension",
    "Disputes",
    "Exchange",
    "LintOverride",
    "ListCriterion",
    "ListSpec",
    "Policy",
    "Reason",
    "RecordMatch",
    "Relation",
    "Retention",
    "Rule",
    "Scale",
    "Service",
    "Severity",
    "SeverityClass",
    "Tier",
    "check_id",
    "check_version",
    "version_in_quotes",
]

# Matched whole (fullmatch): with match, `$` also matched before a final newline, and "tax.late\n" was an id.
_ID = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)*")
_CODE = re.compile(r"[A-Z][A-Z0-9_]*")


class _Strict(BaseModel):
    # strict: YAML's true, "10" or 730.0 are not quietly turned into numbers of another kind
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# Ids and tier ids are parts of web addresses, anchors, messages and every run's rows: an id of 100 KB was accepted
# and repeated in each of them.
MAX_ID_LENGTH = 64


def _check_id(value: str) -> str:
    if READ_BACK.get():  # a text a store holds, published before ids were matched whole and bounded (expr.READ_BACK)
        if not _ID.fullmatch(value.removesuffix("\n")):
            raise ValueError(f"{value!r} is not a valid id")
        return value
    if len(value) > MAX_ID_LENGTH:
        raise ValueError(f"an id is at most {MAX_ID_LENGTH} characters, not {len(value)}")
    if not _ID.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid id: use lower-case letters, digits, '_' and '.', starting with a letter"
        )
    return value


def check_id(value: str) -> str:
    """``value`` if it is an id a policy may have (its own, a rule's, a list's …); ValueError saying what one is."""
    return _check_id(value)


# A score is a 32-bit integer in every engine (run_results.score, Spark's INT): a scale or a tier past this bound was
# accepted, and every run failed casting the score.
MAX_SCORE = 1_000_000_000
# Every count of days in a policy (a half-life, a window, an expiry, a grace or publication period, retention) is at
# most this, about 273 years: a date plus it stays a date, and a retention's sum of two stays a 32-bit integer (an
# expiry of 2^31 days was accepted, and the purge failed on every record of its type). Below retention's bound for
# a record that counts for good (registry/due_process/severity.py UNLIMITED).
MAX_DAYS = 100_000


class Scale(_Strict):
    """Points every subject starts with, and the range a score is clamped to."""

    base: int = Field(ge=-MAX_SCORE, le=MAX_SCORE)
    min: int = Field(ge=-MAX_SCORE, le=MAX_SCORE)
    max: int = Field(ge=-MAX_SCORE, le=MAX_SCORE)


class Tier(_Strict):
    """A grade given to scores at or above ``min``."""

    id: str
    min: int = Field(ge=-MAX_SCORE, le=MAX_SCORE)
    name: Text | None = None

    @field_validator("id")
    @classmethod
    def _shown(cls, value: str) -> str:
        # Free text, but text a page, a decision and a condition can show: an empty or blank id, one with a control
        # character or a newline, or one of any length was accepted as a grade.
        if READ_BACK.get():  # a text a store holds, published before tier ids were checked (expr.READ_BACK)
            return value
        if not value.isprintable():
            bad = next(c for c in value if not c.isprintable())
            raise ValueError(f"a tier id may not hold the character {bad!r}: write letters, digits or signs")
        if not value.strip():
            raise ValueError("a tier id may not be empty: write a short grade such as AAA")
        if value != value.strip():
            raise ValueError(f"a tier id has no space at either end: write {value.strip()!r}")
        if len(value) > MAX_ID_LENGTH:
            raise ValueError(f"a tier id is at most {MAX_ID_LENGTH} characters, not {len(value)}")
        return value


class Dimension(_Strict):
    """A group of rules whose points are summed and capped together."""

    id: str
    name: Text
    # finite: an infinite limit was accepted and lowered to SQL as a column named inf (the run failed)
    min: float | None = Field(default=None, allow_inf_nan=False)
    max: float | None = Field(default=None, allow_inf_nan=False)

    _id = field_validator("id")(_check_id)


class Decay(_Strict):
    """Points halve every ``half_life_days`` days after the event."""

    half_life_days: int = Field(gt=0, le=MAX_DAYS)


class Reason(_Strict):
    """A stable reason code and its plain-language text."""

    code: str
    zh: str
    en: str

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not _CODE.fullmatch(value.removesuffix("\n") if READ_BACK.get() else value):
            raise ValueError(f"{value!r} is not a valid reason code: use upper-case letters, digits and '_'")
        return value

    def text(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


Severity = Literal["minor", "general", "serious"]


# The lint checks that judge one rule (policy/lint.py), which the rule's author may set aside on the record: each
# with a written justification, shown by `policy explain` and on the public policy page (docs/policy-lint.md).
OVERRIDABLE_CHECKS = ("SC103", "SC104", "SC107", "SC301", "SC302")
JUSTIFICATION_MAX = 500  # characters


class LintOverride(_Strict):
    """A lint finding on a rule that its author overrides, and why, in writing."""

    check: str
    justification: str

    @field_validator("check")
    @classmethod
    def _known_check(cls, value: str) -> str:
        if value not in OVERRIDABLE_CHECKS:
            raise ValueError(f"{value!r} is not a lint check a rule may override ({', '.join(OVERRIDABLE_CHECKS)})")
        return value

    @field_validator("justification")
    @classmethod
    def _written(cls, value: str) -> str:
        text = value.strip()
        if not text:
            raise ValueError("an override needs a written justification")
        if len(text) > JUSTIFICATION_MAX:
            raise ValueError(f"a justification is at most {JUSTIFICATION_MAX} characters, not {len(text)}")
        return text


class Rule(_Strict):
    """Points given for each record (or each period with records) that matches a condition."""

    id: str
    record_type: str
    when: str | None = None
    dimension: str
    points: float
    per: Literal["occurrence", "month", "quarter", "year"] = "occurrence"
    decay: Decay | None = None
    window_days: int | None = Field(default=None, gt=0, le=MAX_DAYS)
    expires_after_days: int | None = Field(default=None, gt=0, le=MAX_DAYS)
    cap: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    professions: list[str] | None = None
    severity: Severity | None = None
    reason: Reason
    advice: Text | None = None
    lint_overrides: list[LintOverride] = Field(default_factory=list)

    _id = field_validator("id")(_check_id)

    @field_validator("lint_overrides")
    @classmethod
    def _once_each(cls, value: list[LintOverride]) -> list[LintOverride]:
        checks = [o.check for o in value]
        twice = sorted({c for c in checks if checks.count(c) > 1})
        if twice:
            raise ValueError(f"{', '.join(twice)} is overridden more than once")
        return value

    def overridden(self, check: str) -> str | None:
        """The justification of an override of lint check ``check`` on this rule, or None."""
        return next((o.justification for o in self.lint_overrides if o.check == check), None)


class RecordMatch(_Strict):
    """A list criterion met by holding a counting record of a type that matches a condition."""

    record_type: str
    when: str | None = None
    within_days: int | None = Field(default=None, gt=0, le=MAX_DAYS)


# The record type that says who holds which role in which organisation (catalog.yaml).
RELATION_RECORD_TYPE = "company_role"
# The roles a person may hold in an organisation (record type company_role, source registration_authority).
ROLES = ("legal_representative", "director", "supervisor", "senior_manager", "shareholder")
Role = Literal["legal_representative", "director", "supervisor", "senior_manager", "shareholder"]


class Relation(_Strict):
    """A list criterion met through an organisation: the person holds one of ``roles`` in an organisation that is
    on ``list`` by that list's own criteria (or by those named in ``criteria``), never by a relation: one step only.
    ``when: current`` (the default) while the person holds the role at the run's date; ``held_at_cause`` if they
    held it on the date of the record that put the organisation on the list (the run's date for a criterion on
    the score)."""

    list: str
    roles: builtins.list[Role] = Field(min_length=1)  # builtins: the field `list` shadows the type here
    when: Literal["current", "held_at_cause"] = "current"
    # Only the organisation's entries by these criteria of ``list`` (default: by any of its own criteria).
    criteria: builtins.list[str] | None = None


class ListCriterion(_Strict):
    """One way onto a list: a condition on the subject's score (``when``), a record (``record``), or a role in an
    organisation on a list (``via``)."""

    id: str
    when: str | None = None
    record: RecordMatch | None = None
    via: Relation | None = None
    severity: Severity | None = None
    reason: Reason
    advice: Text | None = None

    _id = field_validator("id")(_check_id)


# What a public look-up of a list may show; the identity number is always shown masked in the middle.
PUBLIC_FIELDS = ("name", "id_number", "list", "cause", "since")


class ListSpec(_Strict):
    """A blacklist or redlist and the criteria that put a subject on it (any one suffices).

    A blacklisting takes effect ``grace_days`` after the notice given at the run that first finds it, unless the
    cause is resolved first; ``public_fields`` are what a public look-up of the list shows (nothing by default).
    """

    id: str
    kind: Literal["black", "red"]
    name: Text
    grace_days: int = Field(default=0, ge=0, le=MAX_DAYS)
    public_fields: list[Literal["name", "id_number", "list", "cause", "since"]] = []
    criteria: list[ListCriterion]

    _id = field_validator("id")(_check_id)


class Service(_Strict):
    """A service a relying party asks about, the condition to grant it, and what a refusal says."""

    id: str
    name: Text
    grant_if: str
    refusal: Text
    # The context of life the service belongs to (transport, credit, housing, ...): the linter checks that its
    # refusals draw only on data from related contexts (docs/policy-lint.md). Known services have a default.
    context: str | None = None
    # New credit, a lease or a deposit-free service: refused with FROZEN while the resident's file is frozen
    # (docs/freeze.md). Transport and badges are not.
    freezable: bool = False

    _id = field_validator("id")(_check_id)


class SeverityClass(_Strict):
    """How long a breach of one class is published: repair may end it after the minimum; it ends at the maximum."""

    min_publication_days: int = Field(ge=0, le=MAX_DAYS)
    max_publication_days: int = Field(gt=0, le=MAX_DAYS)


class Disputes(_Strict):
    """Whether a disputed record counts while its dispute is open, and how long a source has to answer."""

    counts_while_open: bool = True
    answer_days: int = Field(default=30, gt=0, le=MAX_DAYS)
    extended_answer_days: int = Field(default=45, gt=0, le=MAX_DAYS)


class Retention(_Strict):
    """How long a record is kept after it stopped counting under every rule, before it is deleted for good."""

    purge_after_days: int = Field(default=0, ge=0, le=MAX_DAYS)


MANDATORY_EARLIEST, MANDATORY_LATEST = dt.date(1900, 1, 1), dt.date(2199, 12, 31)


class Consent(_Strict):
    """Data categories counted only with the subject's consent until enrollment becomes mandatory."""

    categories: list[str] = []
    mandatory_from: dt.date | None = None
    notice_days: int = Field(default=30, ge=0, le=MAX_DAYS)

    @field_validator("mandatory_from")
    @classmethod
    def _in_range(cls, value: dt.date | None) -> dt.date | None:
        # The daily notice is due notice_days before it: a date near the year 1 was accepted, then the daily due
        # process failed (no date lies before it), for every policy in use.
        if value is not None and not MANDATORY_EARLIEST <= value <= MANDATORY_LATEST:
            raise ValueError(f"{value} is out of range: a date from {MANDATORY_EARLIEST} to {MANDATORY_LATEST}")
        return value


class Exchange(_Strict):
    """What a region shares with other regions in its exchange bundles (docs/regions.md)."""

    shareable_record_types: list[str] = []
    lists: list[str] = []


VERSION_MAX = 64  # characters
_VERSION_BREAKS = frozenset("/\\?#%")  # what would end or escape a segment of an address
# The punctuation beyond ASCII a version may hold: a Chinese name's brackets and enumeration comma ('2026 年版（修订）')
_VERSION_CJK = "（）【】《》「」『』、"


def version_in_quotes(written: str, read: float) -> tuple[str, str]:
    """What is said of a version written as a number (``2026.10``, which reads as 2026.1), in English and Chinese:
    ``written`` as the file writes it where the reader knows it, else as the number prints."""
    return (
        f'write the version in quotes ("{written}": as a number it reads as {read})',
        f'请给版本加上引号（"{written}"：作为数字会读成 {read}）',
    )


def check_version(value: object) -> str:
    """A policy's version as written (a whole number is taken as its digits), or ValueError saying what is wrong:
    one segment of the policy's addresses and a line of every report, in letters and digits of any script."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        raise ValueError(version_in_quotes(str(value), value)[0])
    if isinstance(value, dt.date):
        raise ValueError(f'write the version in quotes ("{value}"): YAML reads {value} as a date')
    if not isinstance(value, str) or not value.strip():
        raise ValueError("version must be a non-empty text, e.g. '2026.1'")
    # The version is a segment of the policy's addresses (/policies/<id>/<version>, /v1/policies/<id>/<version>)
    # and a line of every report: '2026/01' made the public page unreachable, a control character broke lines.
    if len(value) > VERSION_MAX:
        raise ValueError(f"a version is at most {VERSION_MAX} characters, not {len(value)}")
    bad = next((c for c in value if c in _VERSION_BREAKS or not c.isprintable()), None)
    if bad is not None:
        raise ValueError(
            f"a version may not contain {bad!r} (it is part of the policy's web address); use letters, digits, "
            "'.', '-' or '_', e.g. '2026.1'"
        )
    if value != value.strip():
        raise ValueError("a version may not begin or end with a space")
    # A combining mark on an ASCII character draws over it: '2026.3' + U+0301 was published beside 2026.3, put in
    # force as the newer, and read as 2026.3 on every page. Marks of other scripts (Thai, Devanagari) belong to
    # their letters and are kept. A version a store holds was published before this check and keeps loading
    # (expr.READ_BACK): refusing it on reading stopped the service from starting.
    # A mark at the very start sits on nothing of its own and draws over what comes before the version.
    mark = next(
        (
            i
            for i in range(len(value))
            if unicodedata.category(value[i]) in ("Mn", "Me") and (i == 0 or value[i - 1].isascii())
        ),
        None,
    )
    if mark is not None and not READ_BACK.get():
        on = "at the start" if mark == 0 else f"on {value[mark - 1]!r}"
        raise ValueError(
            f"a version may not put the combining mark U+{ord(value[mark]):04X} {on}: it reads "
            f"as {value[:mark] + value[mark + 1 :]!r}; use letters, digits, '.', '-' or '_', e.g. '2026.1'"
        )
    # A symbol beyond ASCII (Unicode's S*: an emoji, a pictograph, a modifier, a sign of mathematics or currency)
    # is no part of a version's name: '2026-1 🎉' was published, and read as the font drew it; '2026−1' (U+2212) and
    # '2026¥1' read as other versions. Punctuation beyond ASCII likewise ('2026．1', full-width, and '2026․1',
    # U+2024, read as 2026.1), but for the brackets and the enumeration comma of a Chinese name (_VERSION_CJK).
    # Read back as a mark is (a store may hold one published before).
    odd = next((c for c in value if not c.isascii() and _lookalike(c)), None)
    if odd is not None and not READ_BACK.get():
        kind = "symbol" if unicodedata.category(odd).startswith("S") else "punctuation"
        raise ValueError(
            f"a version may not contain the {kind} {odd!r} (U+{ord(odd):04X}); use letters and digits of any "
            f"script, '.', '-' or '_' (and in a Chinese name {_VERSION_CJK}), e.g. '2026.1'"
        )
    if not READ_BACK.get():
        _check_reads_as_itself(value)
    return value


# Cyrillic and Greek letters drawn as Latin ones are: among Latin letters, the one a refusal names first; a version
# whose Cyrillic or Greek letters are all of them reads as a Latin one
_LATIN_LOOKING = frozenset("АВЕЅІЈКМНОРТХУҮԚԜаеһіјорԛѕԝхуԁсΑΒΕΖΗΙΚΜΝΟΡΤΥΧαινοϲ")


def _check_reads_as_itself(value: str) -> None:
    """ValueError unless ``value`` reads as no other version (``check_version``): a letter or digit beyond ASCII
    drawn as ASCII in another form (``_drawn_as_ascii``: '２０２６.1' reads as 2026.1, 'ﬁ' as fi, '²' as 2), a
    letter with its accent written apart (U+0301 after é's e: the composed é, NFC), a Cyrillic or Greek letter among
    Latin ones, a version whose Cyrillic or Greek letters are all drawn as Latin ones ('2026-а', 'ТОМ 2026'). A
    version wholly in one script is taken: Chinese, Thai ('ประจำปี 2026', whose ำ NFKC writes as two), Lao,
    Cyrillic and Greek in either case ('том 2026', 'ΝΟΜΟΣ 2026'), Portuguese ('2ª edição')."""
    odd = next((c for c in value if _drawn_as_ascii(c)), None)
    if odd is not None:
        read = "".join(unicodedata.normalize("NFKC", c) if _drawn_as_ascii(c) else c for c in value)
        _refuse_reading(value, odd, read)
    composed = unicodedata.normalize("NFC", value)
    if composed != value:
        at = next(i for i in range(len(value)) if unicodedata.normalize("NFC", value[: i + 1]) != value[: i + 1])
        _refuse_reading(value, value[at], composed)
    scripts = {c: _script(c) for c in value if c.isalpha()}
    foreign = [c for c, script in scripts.items() if script in ("CYRILLIC", "GREEK")]
    if foreign and "LATIN" in scripts.values():
        odd = next((c for c in foreign if c in _LATIN_LOOKING), foreign[0])
        raise ValueError(
            f"a version may not mix the {_script(odd).title()} letter {odd!r} (U+{ord(odd):04X}) with Latin "
            "letters; write a version in one script, e.g. '2026.1'"
        )
    # Wholly confusable (Unicode's UTS #39): every Cyrillic or Greek letter of the version drawn as a Latin one, so
    # the whole reads as a Latin version ('2026-а' as 2026-a, 'ТОМ 2026' as TOM 2026); 'том 2026' is taken
    if foreign and all(c in _LATIN_LOOKING for c in foreign):
        raise ValueError(
            f"the {_script(foreign[0]).title()} letter {foreign[0]!r} (U+{ord(foreign[0]):04X}) reads as a Latin "
            "letter, and every letter of the version does; write a version in one script with a letter of its own, "
            "e.g. '2026.1'"
        )


def _drawn_as_ascii(c: str) -> bool:
    """Whether ``c`` (beyond ASCII) is an ASCII letter or digit in another form: its compatibility form (NFKC) is
    ASCII (full-width '２', a ligature 'ﬁ', a superscript '²', a circled '①', a mathematical '𝐀', a roman numeral
    'Ⅻ'). A version is compared with others written in ASCII ('2026.1'), which these read as. Not a letter of its own
    (Unicode's Lo): the ordinal indicators 'ª' and 'º' of Portuguese, Spanish and Italian are letters on those
    keyboards, drawn raised and underlined ('2ª edição' does not read as '2a'); nor a Chinese name's brackets. A
    compatibility form beyond ASCII (Thai ำ, Lao ຳ, Hangul's compatibility jamo) is how that script writes a letter:
    taken."""
    return (
        not c.isascii()
        and c not in _VERSION_CJK
        and unicodedata.category(c) != "Lo"
        and unicodedata.normalize("NFKC", c).isascii()
    )


def _refuse_reading(value: str, odd: str, read: str) -> NoReturn:
    raise ValueError(
        f"a version may not contain {odd!r} (U+{ord(odd):04X}): {value!r} reads as {read!r}; "
        "use letters, digits, '.', '-' or '_', e.g. '2026.1'"
    )


def _script(c: str) -> str:
    """The first word of ``c``'s Unicode name: LATIN, CYRILLIC, GREEK, CJK ..."""
    return unicodedata.name(c, "").partition(" ")[0]


def _lookalike(c: str) -> bool:
    """Whether ``c`` (beyond ASCII) is a symbol, or punctuation a version's name does not need (``check_version``)."""
    category = unicodedata.category(c)
    return category.startswith("S") or (category.startswith("P") and c not in _VERSION_CJK)


class Policy(_Strict):
    """A published, versioned scoring policy."""

    id: str
    version: str
    name: Text
    description: Text | None = None
    kind: Literal["person", "org", "all"] = "all"
    scale: Scale
    tiers: list[Tier]
    dimensions: list[Dimension]
    rules: list[Rule]
    consent: Consent = Consent()
    severities: dict[Severity, SeverityClass] = {}
    disputes: Disputes = Disputes()
    retention: Retention = Retention()
    lists: list[ListSpec] = []
    services: list[Service] = []
    exchange: Exchange | None = None

    _id = field_validator("id")(_check_id)

    _version = field_validator("version", mode="before")(check_version)

    def tier_ids(self) -> list[str]:
        """Tier ids from best to worst."""
        return [t.id for t in sorted(self.tiers, key=lambda t: -t.min)]

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def service(self, service_id: str) -> Service:
        for s in self.services:
            if s.id == service_id:
                return s
        raise KeyError(service_id)

    def list_spec(self, list_id: str) -> ListSpec:
        for lst in self.lists:
            if lst.id == list_id:
                return lst
        raise KeyError(list_id)

    def criterion(self, list_id: str, criterion_id: str) -> ListCriterion:
        for lst in self.lists:
            if lst.id == list_id:
                for c in lst.criteria:
                    if c.id == criterion_id:
                        return c
        raise KeyError(f"{list_id}.{criterion_id}")
