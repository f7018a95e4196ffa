"""The registry's clock: one calendar date, injectable everywhere.

Every workflow takes ``today`` explicitly (tests and the CLI's ``--today``); when it is not given,
``$SOCIALCREDIT_TODAY`` (YYYY-MM-DD) is used if set, else the system date, so a running service can be put on a
controlled clock for a demonstration (read through ``socialcredit.settings`` at every call, so a change is seen at
once). A business date — a deadline, a notice, a purge, the "future" an ingested record may not be dated in — comes
from here; a moment in the audit log or a sign-in's expiry is wall-clock time and does not.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["TODAY_ENV", "resolve_today"]

TODAY_ENV = "SOCIALCREDIT_TODAY"


def resolve_today(today: dt.date | None = None) -> dt.date:
    """``today`` if given, else ``$SOCIALCREDIT_TODAY``, else the system date."""
    if today is not None:
        return today
    # Imported here: the command line's start does not pay for pydantic-settings until a date is needed.
    from socialcredit.settings import get_settings

    return get_settings().today or dt.date.today()
