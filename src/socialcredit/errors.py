"""Every error a user of socialcredit can meet, in one tree.

    SocialCreditError                 base: the message says what is wrong and where
    ├── IdentifierError               a resident identity number or credit code is invalid
    ├── PolicyError                   a policy file is invalid (file, line, rule id)
    ├── ExpressionError               a condition does not parse or type-check (PolicyError carries it located)
    ├── CatalogError                  the record-type catalog is invalid
    ├── StoreError                    the store cannot be opened or migrated (e.g. wrong key)
    ├── IngestError                   a batch cannot be read at all (rows with errors are rejected, not raised)
    ├── NotFoundError                 a subject, run, policy or service does not exist
    ├── UnsupportedError              an engine cannot run a construct (names rule and engine)
    ├── DecisionError                 a decision request is invalid (e.g. no purpose)
    └── WorkflowError                 a due-process step is refused (names the field; e.g. a deadline passed)
    └── RegionError                   a region's set-up or an identity link is invalid (regions/)
        └── BundleError               an exchange bundle is refused: malformed, untrusted, wrongly signed,
                                      tampered or replayed

Messages are written for the person at the terminal: what was wrong, where, and what to do.
"""

from __future__ import annotations

__all__ = [
    "BundleError",
    "CatalogError",
    "DecisionError",
    "ExpressionError",
    "IdentifierError",
    "IngestError",
    "NotFoundError",
    "PolicyError",
    "RegionError",
    "SocialCreditError",
    "StoreError",
    "UnsupportedError",
    "WorkflowError",
]


class SocialCreditError(Exception):
    """Base of every error socialcredit raises on purpose."""


class IdentifierError(SocialCreditError, ValueError):
    """An identifier failed validation; ``reason`` is the short machine-readable cause."""

    def __init__(self, message: str, *, reason: str, value: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.value = value


class PolicyError(SocialCreditError):
    """A policy is invalid. ``problems`` lists every problem found, each already located."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class ExpressionError(SocialCreditError):
    """A condition does not parse or refers to something that does not exist."""

    def __init__(self, message: str, *, text: str = "", position: int | None = None) -> None:
        if position is not None and text:
            message = f"{message} (at character {position + 1} of {text!r})"
        super().__init__(message)
        self.text = text
        self.position = position


class CatalogError(SocialCreditError):
    """The record-type catalog is invalid."""


class StoreError(SocialCreditError):
    """The store cannot be opened, created or migrated."""


class IngestError(SocialCreditError):
    """A batch cannot be read at all (unreadable file, unknown source)."""


class NotFoundError(SocialCreditError):
    """A subject, run, policy, source or service does not exist."""


class UnsupportedError(SocialCreditError):
    """An engine cannot run a construct of a policy."""


class DecisionError(SocialCreditError):
    """A decision request is invalid."""


class WorkflowError(SocialCreditError):
    """A due-process step (dispute, repair, override, consent) is refused; ``field`` names what was wrong."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "refused") -> None:
        super().__init__(message)
        self.field = field
        self.code = code


class RegionError(SocialCreditError):
    """A region is not set up, or an identity link cannot be changed as asked."""


class BundleError(RegionError):
    """An exchange bundle is refused; the message says why (and nothing of it was imported)."""
