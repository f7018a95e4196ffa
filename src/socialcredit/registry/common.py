"""Small helpers every domain of the registry shares: how values are shown, how a person's free text is checked."""

from __future__ import annotations

import datetime as dt
from typing import Any

from socialcredit.errors import WorkflowInputError

__all__ = ["MAX_TEXT", "check_text", "iso"]

MAX_TEXT = 4000


def iso(value: Any) -> Any:
    """Dates and timestamps as ISO text (the form every face shows)."""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def check_text(value: str | None, field: str, *, required: bool = True) -> str | None:
    """A free text given by a person: trimmed, at most 4000 characters, not empty when required."""
    text = (value or "").strip()
    if not text:
        if required:
            raise WorkflowInputError(f"{field} is required: write it in a few words", field=field, code="missing_field")
        return None
    if len(text) > MAX_TEXT:
        raise WorkflowInputError(f"{field} is longer than {MAX_TEXT} characters", field=field, code="too_long")
    return text
