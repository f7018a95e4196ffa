"""The registry's clock: one calendar date, injectable everywhere.

Every workflow takes ``today`` explicitly (tests and the CLI's ``--today``); when it is not given,
``$SOCIALCREDIT_TODAY`` (YYYY-MM-DD) is used if set, else the system date, so a running service can be put on a
controlled clock for a demonstration (read through ``socialcredit.settings`` at every call, so a change is seen at
once). A business date — a deadline, a notice, a purge, the "future" an ingested record may not be dated in — comes
from here; a moment in the audit log or a sign-in's expiry is wall-clock time and does not.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

from socialcredit.errors import SocialCreditError, WorkflowInputError

__all__ = [
    "EARLIEST_DAY",
    "LATEST_DAY",
    "MONTHS",
    "SPAN_SAID",
    "TODAY_ENV",
    "NotADay",
    "check_day",
    "day_option",
    "in_span",
    "parse_day",
    "resolve_today",
    "today_option",
]

EARLIEST_DAY = dt.date(1990, 1, 1)
LATEST_DAY = dt.date(2199, 12, 31)
# what a refusal says after the date: "--today 9999-12-20 is out of range: ..."
SPAN_SAID = f"is out of range: the registry's dates run from {EARLIEST_DAY} to {LATEST_DAY}"

TODAY_ENV = "SOCIALCREDIT_TODAY"
_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
MONTHS = [
    "",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def in_span(day: dt.date) -> bool:
    """``day`` is within the registry's dates (1990-01-01 to 2199-12-31)."""
    return EARLIEST_DAY <= day <= LATEST_DAY


def check_day(day: dt.date, name: str = "date") -> dt.date:
    """``day``, or a refusal naming ``name`` (an option, a field) when it is outside the registry's dates."""
    if not in_span(day):
        raise WorkflowInputError(f"{name} {day.isoformat()} {SPAN_SAID}", field="today", code="date_out_of_range")
    return day


def resolve_today(today: dt.date | None = None) -> dt.date:
    """``today`` if given, else ``$SOCIALCREDIT_TODAY``, else the system date; a given date outside the registry's
    dates is refused (:func:`check_day`)."""
    if today is not None:
        return check_day(today)
    # Imported here: the command line's start does not pay for the settings' model until a date is needed.
    from socialcredit.settings import get_settings

    return get_settings().today or dt.date.today()


class NotADay(ValueError):
    """A text that is no date, and why: ``form`` (not YYYY-MM-DD), ``year`` (year 0), ``month`` (past 12) or
    ``days`` (past the month's ``days``: ``year`` and ``month`` say which)."""

    def __init__(self, value: str, said: str, why: str, year: int = 0, month: int = 0, days: int = 0) -> None:
        super().__init__(f"{value[:40]!r} {said}")
        self.said = said  # what is wrong, after the value quoted: "is not a date: a year has 12 months"
        self.why, self.year, self.month, self.days = why, year, month, days
        self.value = value

    @property
    def zh(self) -> str:
        """The same in Chinese, in the words of the site's pages (web/i18n.py, ``date_why_*``)."""
        why = _WHY_ZH[self.why].format(year=self.year, month=self.month, days=self.days)
        return f"{self.value[:40]!r} 不是有效日期：{why}"


# Why a text is no date, in Chinese (the site's ``date_why_*``)
_WHY_ZH = {
    "form": "请按年-月-日填写，如 2026-12-31",
    "year": "没有0年",
    "month": "一年只有12个月",
    "days": "{year}年{month}月只有{days}天",
}


def parse_day(value: str) -> dt.date:
    """A date written YYYY-MM-DD, as every face takes one (an option, a query string, a form, a JSON body); a
    ValueError that says what is wrong otherwise: not of that form, no such month, or a day past the month's end.

    >>> parse_day("2026-12-31")
    datetime.date(2026, 12, 31)
    >>> for text in ("2026-02-30", "2026-13-01", "20261231", "2026-W01-1"):
    ...     try:
    ...         parse_day(text)
    ...     except ValueError as exc:
    ...         print(exc)
    '2026-02-30' is not a date: February 2026 has 28 days
    '2026-13-01' is not a date: a year has 12 months
    '20261231' is not a date of the form YYYY-MM-DD
    '2026-W01-1' is not a date of the form YYYY-MM-DD
    """
    match = _DAY.fullmatch(value)
    if match is None:
        raise NotADay(value, "is not a date of the form YYYY-MM-DD", "form")
    year, month, day = (int(part) for part in match.groups())
    if year < dt.MINYEAR:
        raise NotADay(value, "is not a date: there is no year 0", "year")
    if not 1 <= month <= 12:
        raise NotADay(value, "is not a date: a year has 12 months", "month")
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        raise NotADay(value, f"is not a date: {MONTHS[month]} {year} has {days} days", "days", year, month, days)
    return dt.date(year, month, day)


def day_option(value: str | None, option: str) -> dt.date | None:
    """An option's date written YYYY-MM-DD (None when not given); anything else is refused saying what is wrong
    (``--until '2026-02-30' is not a date: February 2026 has 28 days``), as every face says it (here, not in
    ``cli_help``: the region commands, a layer below the command line, read ``--today`` alike)."""
    if value is None:
        return None
    try:
        return parse_day(value)
    except NotADay as exc:
        raise SocialCreditError(f"{option} {exc}", zh=f"{option} {exc.zh}") from None


def today_option(value: str | None) -> dt.date | None:
    """``--today`` (None when not given): a date as :func:`day_option` takes one, within the registry's dates
    (``--today 9999-12-31 is out of range: the registry's dates run from 1990-01-01 to 2199-12-31``)."""
    day = day_option(value, "--today")
    return None if day is None else check_day(day, "--today")
