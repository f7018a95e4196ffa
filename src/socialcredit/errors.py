"""Every error a user of socialcredit can meet, in one tree.

    SocialCreditError                 base: the message says what is wrong and where            400 bad_request
    ├── IdentifierError               a resident identity number or credit code is invalid      422 invalid_identifier
    ├── PolicyError                   a policy file is invalid (file, line, rule id)            422 invalid_policy
    ├── ExpressionError               a condition does not parse or type-check                  422 invalid_expression
    ├── CatalogError                  the record-type catalog is invalid                        422 invalid_catalog
    │   └── CatalogIncompatibleError  a candidate drops or retypes what a policy uses           409 catalog_incompatible
    ├── StoreError                    the store cannot be opened or migrated (e.g. wrong key)   503 store_unavailable
    ├── IngestError                   a batch cannot be read at all (bad rows are rejected)     422 unreadable_batch
    ├── NotFoundError                 a subject, run, policy or service does not exist          404 not_found
    ├── UnsupportedError              an engine cannot run a construct (names rule and engine)  422 unsupported
    ├── BackendError                  an engine failed to run a statement (carries the SQL)     500 engine_failed
    │   └── SparkUnavailableError     PySpark or Java is missing                                503 spark_unavailable
    ├── DecisionError                 a decision request is invalid (e.g. no purpose)           400 bad_decision_request
    ├── AuthError                     the caller is not who they say (key, link, session)       401 (code says why)
    ├── ForbiddenError                the caller may not do this (role, scope)                  403 (code says why)
    ├── TooManyRequestsError          over a limit of requests (names it; Retry-After)          429 too_many_requests
    ├── InvalidRequestError           a request's content is wrong (names the field)            422 invalid_request
    │   ├── PayloadTooLargeError      a body over the limit (names the limit)                   413 body_too_large
    │   │   └── LimitError            an input over a limit: columns, keys, rows, a value's     413 limit_exceeded
    │   │                             length, nesting, YAML nodes or aliases (names the limit)
    │   └── UnsupportedMediaError     a body in a format not taken                        415 unsupported_media_type
    ├── ConflictError                 the request is valid but the state refuses it             409 conflict
    │   └── WorkflowError             a due-process step is refused (names the field)           409 refused
    │       └── WorkflowInputError    ... because of what was sent, not the state               422 (code says why)
    ├── CheckpointError               an audit checkpoint or the signing key is refused:        422 checkpoint_refused
    │                                 unreadable, of another store, forged or altered
    ├── RegionError                   a region's set-up or an identity link is invalid          422 region_refused
    │   ├── BundleError               an exchange bundle is refused: malformed, untrusted,      422 bundle_refused
    │   │                             wrongly signed, tampered or replayed
    │   └── LinkModelError            a linkage model file is invalid (names the path), or a     422 invalid_link_model
    │                                 table does not fit it (names the table, column and type)
    └── MatchmakingError              bad input to the matchmaking site (names the field)       422 invalid_request
        ├── UnknownClientError        no client with that number                                404 unknown_client
        └── RegistryError             the registry answered with an error, or did not answer    502 (code says why)

Each class has a stable ``code`` (an instance may carry a more precise one) and the HTTP ``status`` the API
answers with: the status is chosen by the error's class, never by its message or code. Messages are written for
the person at the terminal: what was wrong, where, and what to do; an error may carry the same message in Chinese
(``zh``), which the command line prints under ``--lang zh``.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AuthError",
    "BackendError",
    "BundleError",
    "CatalogError",
    "CatalogIncompatibleError",
    "CheckpointError",
    "ConflictError",
    "DecisionError",
    "ExpressionError",
    "ForbiddenError",
    "IdentifierError",
    "IngestError",
    "InvalidRequestError",
    "LimitError",
    "LinkModelError",
    "MatchmakingError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PolicyError",
    "PolicyNoticeError",
    "RegionError",
    "RegistryError",
    "SocialCreditError",
    "SparkUnavailableError",
    "StoreError",
    "TooManyRequestsError",
    "UnknownClientError",
    "UnsupportedError",
    "UnsupportedMediaError",
    "WorkflowError",
    "WorkflowInputError",
    "cut",
    "quoted",
]

# A message quotes at most this many characters of what a user typed (then …)
SHOWN = 64


def quoted(value: str, limit: int = SHOWN) -> str:
    """What a user typed as a message quotes it: in quotes, escaped (a control character shows as its code), cut at
    ``limit`` characters with an ellipsis: an id of 5,000 characters is not echoed back whole.

    >>> quoted("R-1"), quoted("x" * 100, 8)
    ("'R-1'", "'xxxxxxx…'")
    """
    return repr(cut(value, limit))


def cut(value: str, limit: int = SHOWN) -> str:
    """``value`` at most ``limit`` characters long, the last of them an ellipsis when it was longer (``quoted``
    without the quotes: what an audit entry keeps of a refused value)."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


class SocialCreditError(Exception):
    """Base of every error socialcredit raises on purpose.

    ``code`` is stable and machine-readable; ``status`` is the HTTP status of the class; ``field`` names the part
    of a request at fault, when there is one; ``zh`` is the message in Chinese, when the raiser gives it.
    """

    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "bad_request"

    def __init__(
        self, message: str = "", *, code: str | None = None, field: str | None = None, zh: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code or self.default_code
        self.field = field
        self.zh = zh

    @property
    def message(self) -> str:
        return str(self)

    def said_in(self, lang: str) -> str:
        """The message in ``lang`` (en or zh): in English when it has no Chinese."""
        return self.zh if lang == "zh" and self.zh else str(self)


class IdentifierError(SocialCreditError, ValueError):
    """An identifier failed validation; ``reason`` is the short machine-readable cause."""

    status = 422
    default_code = "invalid_identifier"

    def __init__(
        self, message: str, *, reason: str, value: str, zh: str | None = None, field: str | None = None
    ) -> None:
        super().__init__(message, field=field, zh=zh)
        self.reason = reason
        self.value = value


class PolicyError(SocialCreditError):
    """A policy is invalid. ``problems`` lists every problem found, each already located (``FILE:LINE:COLUMN: …``);
    ``positions`` gives each one's line and column as numbers (None where it has none), for an answer's objects."""

    status = 422
    default_code = "invalid_policy"

    def __init__(
        self,
        problems: list[str],
        positions: list[tuple[int, int] | None] | None = None,
        zh: list[str] | None = None,
    ) -> None:
        self.problems = problems
        self.positions = positions if positions is not None else [None] * len(problems)
        # the same problems in Chinese where their words have it (the quoted source as written)
        self.problems_zh = zh if zh is not None else problems
        super().__init__("\n".join(problems), zh="\n".join(zh) if zh is not None and zh != problems else None)

    def located(self) -> list[dict[str, object]]:
        """Every problem with its line and column: ``{"problem", "line", "column"}``."""
        return [
            {"problem": text, "line": at[0] if at else None, "column": at[1] if at else None}
            for text, at in zip(self.problems, self.positions, strict=False)
        ]


class PolicyNoticeError(PolicyError):
    """A new version of a policy would make consent-only data count for everyone with less notice than it publishes
    (``registry/scoring/policies.py``): invalid where it is published, as any invalid policy (422), not a version
    conflict."""


class ExpressionError(SocialCreditError):
    """A condition does not parse or refers to something that does not exist."""

    status = 422
    default_code = "invalid_expression"

    def __init__(self, message: str, *, text: str = "", position: int | None = None, zh: str | None = None) -> None:
        if position is not None and text:
            message = f"{message} (at character {position + 1} of {text!r})"
            zh = f"{zh}（{text!r} 的第 {position + 1} 个字符）" if zh is not None else None
        super().__init__(message, zh=zh)
        self.text = text
        self.position = position


class CatalogError(SocialCreditError):
    """The record-type catalog is invalid."""

    status = 422
    default_code = "invalid_catalog"


class CatalogIncompatibleError(CatalogError):
    """A candidate catalog removes or retypes what a published policy (or the store's records) uses.
    ``problems`` lists each: the policy, its rule and the field."""

    status = 409
    default_code = "catalog_incompatible"

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class StoreError(SocialCreditError):
    """The store cannot be opened, created or migrated."""

    status = 503
    default_code = "store_unavailable"


class IngestError(SocialCreditError):
    """A batch cannot be read at all (unreadable file, unknown source)."""

    status = 422
    default_code = "unreadable_batch"


class NotFoundError(SocialCreditError):
    """A subject, run, policy, source or service does not exist."""

    status = 404
    default_code = "not_found"


class UnsupportedError(SocialCreditError):
    """An engine cannot run a construct of a policy."""

    status = 422
    default_code = "unsupported"


class BackendError(SocialCreditError):
    """An engine failed to run a statement; ``sql`` is the statement."""

    status = 500
    default_code = "engine_failed"

    def __init__(self, message: str, sql: str) -> None:
        super().__init__(f"{message}\n-- while running:\n{sql}")
        self.sql = sql


class SparkUnavailableError(SocialCreditError):
    """PySpark (or Java) is missing."""

    status = 503
    default_code = "spark_unavailable"


class DecisionError(SocialCreditError):
    """A decision request is invalid."""

    status = 400
    default_code = "bad_decision_request"


class AuthError(SocialCreditError):
    """The caller is not who they say (401): ``code`` says why (key_missing, link_used, session_expired, …)."""

    status = 401
    default_code = "unauthorized"

    def __init__(self, code: str, message: str, *, zh: str | None = None) -> None:
        """``zh``: the API's words in Chinese for a key refused (``?lang=zh``, read by ``api.deps.require`` once the
        key is refused, whether or not the route takes ``lang``); the pages say a failed sign-in in their own words
        (``auth_<code>`` in web/i18n.py)."""
        super().__init__(message, code=code, zh=zh)


class ForbiddenError(SocialCreditError):
    """The caller is known but may not do this (403): ``code`` says why (role_not_allowed, out_of_scope, …)."""

    status = 403
    default_code = "forbidden"


class TooManyRequestsError(SocialCreditError):
    """A client is over a limit of requests (429): the message names the limit, ``retry_after`` is the whole seconds
    to wait (the ``Retry-After`` header) and ``limit`` the limit's name."""

    status = 429
    default_code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int, limit: str) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.limit = limit


class InvalidRequestError(SocialCreditError):
    """A request's content is wrong (422); ``field`` names the part at fault."""

    status = 422
    default_code = "invalid_request"


class PayloadTooLargeError(InvalidRequestError):
    """A body is over the limit (413); the message names the limit."""

    status = 413
    default_code = "body_too_large"


class LimitError(PayloadTooLargeError):
    """An input is over one of the limits checked before any work (413): ``limit`` names the setting (docs/api.md,
    "Limits on inputs"), ``code`` which limit (too_many_columns, too_many_keys, too_many_rows, value_too_long, too_deep,
    too_many_nodes, too_many_aliases, bad_column_name); the message says the limit and how far it was passed."""

    default_code = "limit_exceeded"

    def __init__(self, message: str, *, code: str, limit: str, field: str | None = None, zh: str | None = None) -> None:
        super().__init__(message, code=code, field=field, zh=zh)
        self.limit = limit


class UnsupportedMediaError(InvalidRequestError):
    """A body is in a format that is not taken (415); the message names the formats that are."""

    status = 415
    default_code = "unsupported_media_type"


class ConflictError(SocialCreditError):
    """The request is well formed, but the registry's state refuses it (409)."""

    status = 409
    default_code = "conflict"


class WorkflowError(ConflictError):
    """A due-process step (dispute, repair, override, consent) is refused by the state of things (409);
    ``field`` names what was wrong and ``code`` why."""

    default_code = "refused"

    def __init__(self, message: str, *, field: str | None = None, code: str = "refused", zh: str | None = None) -> None:
        super().__init__(message, code=code, field=field, zh=zh)


class WorkflowInputError(WorkflowError):
    """A due-process step is refused because of what was sent (422): a missing or too long text, a date in the
    future, a record that is not in the subject's file."""

    status = 422


class CheckpointError(SocialCreditError):
    """An audit checkpoint cannot be read or is refused (of another store, signed with another key, altered after
    it was signed), or the registry's signing key cannot be used; the message says which."""

    status = 422
    default_code = "checkpoint_refused"


class RegionError(SocialCreditError):
    """A region is not set up, or an identity link cannot be changed as asked."""

    status = 422
    default_code = "region_refused"


class BundleError(RegionError):
    """An exchange bundle is refused; the message says why (and nothing of it was imported)."""

    default_code = "bundle_refused"


class LinkModelError(RegionError):
    """A linkage model is invalid (the message starts with the path of the value at fault), or a table to link does
    not fit it (the message names the table, the column and its type)."""

    default_code = "invalid_link_model"


class MatchmakingError(SocialCreditError):
    """Bad input to the matchmaking service; the message names the field and what is allowed."""

    status = 422
    default_code = "invalid_request"

    def __init__(self, message: str, *, field: str | None = None, zh: str | None = None) -> None:
        super().__init__(message, field=field, zh=zh)


class UnknownClientError(MatchmakingError):
    """No client with that number."""

    status = 404
    default_code = "unknown_client"


class RegistryError(MatchmakingError):
    """The registry answered with an error, or did not answer; ``upstream_status`` is its HTTP status, if any."""

    status = 502
    default_code = "registry_error"

    def __init__(self, message: str, *, code: str, status: int | None = None, zh: str | None = None) -> None:
        super().__init__(message, zh=zh)
        self.code = code
        self.upstream_status = status
