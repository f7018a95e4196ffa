"""The registry's clock: one calendar date, injectable everywhere.

Every workflow takes ``today`` explicitly (tests and the CLI's ``--today``); when it is not given,
``$SOCIALCREDIT_TODAY`` (YYYY-MM-DD) is used if set, else the system date, so a running service can be put on a
controlled clock for a demonstration.
"""

from __future__ import annotations

import datetime as dt
import os

from socialcredit.errors import SocialCreditError

__all__ = ["TODAY_ENV", "resolve_today"]

TODAY_ENV = "SOCIALCREDIT_TODAY"


def resolve_today(today: dt.date | None = None) -> dt.date:
    """``today`` if given, else ``$SOCIALCREDIT_TODAY``, else the system date."""
    if today is not None:
        return today
    value = os.environ.get(TODAY_ENV)
    if value:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise SocialCreditError(f"{TODAY_ENV}={value!r} is not a date (YYYY-MM-DD)") from None
    return dt.date.today()
