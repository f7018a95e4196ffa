"""Errors of the matchmaking service, under the project's one tree.

SocialCreditError
└── MatchmakingError          a client, preference or consent request is invalid, or a client is unknown
    └── RegistryError         the registry refused or could not be reached (``code`` says which)
"""

from __future__ import annotations

from socialcredit.errors import SocialCreditError

__all__ = ["MatchmakingError", "RegistryError", "UnknownClientError"]


class MatchmakingError(SocialCreditError):
    """Bad input to the matchmaking service; the message names the field and what is allowed."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class UnknownClientError(MatchmakingError):
    """No client with that number."""


class RegistryError(MatchmakingError):
    """The registry answered with an error, or did not answer."""

    def __init__(self, message: str, *, code: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
