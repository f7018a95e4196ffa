"""Every environment variable the package reads, in one place (docs/settings.md).

``get_settings()`` reads the environment each time it is called: nothing is cached, so a test that changes a
variable (``monkeypatch.setenv``) or a demonstration that moves ``SOCIALCREDIT_TODAY`` is seen by the next call.
A value that cannot be read is a :class:`~socialcredit.errors.SocialCreditError` naming the variable, never a
stack trace. The command line's ``--db`` and ``--registry-url`` options also take their defaults from the
variables named here (Typer reads them); the test suite's own switches (``SOCIALCREDIT_REQUIRE_*``,
``SOCIALCREDIT_SCREENSHOTS``) are not settings of the package.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from socialcredit.errors import SocialCreditError

if TYPE_CHECKING:
    from socialcredit.settings_model import Settings

__all__ = ["DEFAULT_DB", "ENV_PREFIX", "KEY_ENV", "LOG_LEVELS", "Settings", "env_name", "get_settings", "log_level"]

ENV_PREFIX = "SOCIALCREDIT_"
# The store's default file and its key's variable (socialcredit.store names them too): here, where a command's
# options read them without importing the store.
DEFAULT_DB = Path("socialcredit.duckdb")
KEY_ENV = "SOCIALCREDIT_DB_KEY"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
NOT_A_LEVEL = "is not a log level: give DEBUG, INFO, WARNING or ERROR"


def env_name(field: str) -> str:
    """The environment variable of a settings field: ``db_key`` → ``SOCIALCREDIT_DB_KEY``."""
    return ENV_PREFIX + field.upper()


def get_settings() -> Settings:
    """The settings as the environment says now: read at every call, so a changed variable is seen at once.

    Parsing is done once per distinct set of ``SOCIALCREDIT_*`` values (half a millisecond each time otherwise,
    and the clock asks on every workflow).
    """
    from socialcredit.settings_model import parsed

    return parsed(tuple(sorted((k, v) for k, v in os.environ.items() if k.upper().startswith(ENV_PREFIX))))


def level_of(value: str) -> str | None:
    """A log level, in any case: the name logging knows; None when ``value`` is none."""
    level = value.strip().upper()
    return level if level in LOG_LEVELS else None


def log_level() -> str:
    """The command line's log level, read before any command runs: ``SOCIALCREDIT_LOG`` alone is read (a command
    reads the other settings when it needs them), and a value that is not a level is a plain error (it was a stack
    trace out of ``logging.basicConfig``, for 'LOUD', for 'info' and for an empty variable)."""
    value = os.environ.get(env_name("log")) or "WARNING"  # an empty variable counts as unset
    level = level_of(value)
    if level is None:
        raise SocialCreditError(f"{env_name('log')}={value!r} {NOT_A_LEVEL}")
    return level


def __getattr__(name: str) -> type[Settings]:
    """``Settings``, the model of the settings, imported at its first use (socialcredit/settings_model.py): pydantic
    is imported with it, which a command that reads no setting (a help, a usage error) does without."""
    if name == "Settings":
        from socialcredit.settings_model import Settings

        return Settings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
