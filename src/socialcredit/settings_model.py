"""The model of the package's settings (docs/settings.md): :class:`Settings`, read from the environment by
``socialcredit.settings.get_settings()``, which imports this module (and pydantic with it) at its first call; a
command that reads no setting imports neither."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from socialcredit.clock import SPAN_SAID, NotADay, in_span, parse_day
from socialcredit.errors import SocialCreditError
from socialcredit.settings import DEFAULT_DB, ENV_PREFIX, NOT_A_LEVEL, env_name, level_of

__all__ = ["Settings", "parsed"]


class Settings(BaseModel):
    """The package's configuration from ``SOCIALCREDIT_*`` environment variables (in any case); an empty variable
    counts as unset. Read by get_settings(): every field is one text value, validated by pydantic as given (a plain
    model, not pydantic-settings: without its import the command line starts in about 7% less CPU time)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    db: Path = Field(
        default=DEFAULT_DB,
        description="The registry's store file, the default of every command's `--db`.",
    )
    db_key: SecretStr | None = Field(
        default=None,
        description="The key that encrypts the store at rest (AES-GCM); unset: the store is not encrypted.",
    )
    new_db_key: SecretStr | None = Field(
        default=None,
        description="The store's next key, read by `store rotate-key` only (unset: it asks for it at a terminal).",
    )
    signing_key: Path | None = Field(
        default=None,
        description="The registry's Ed25519 private key (PEM) that signs audit checkpoints; unset: `<db>.signing.key`.",
    )
    memory_limit: str | None = Field(
        default=None,
        description="The most memory DuckDB may use, such as `12GB`; unset: DuckDB's own default (80% of RAM).",
    )
    threads: int | None = Field(
        default=None,
        ge=1,
        le=256,
        description="The most threads DuckDB uses for a store this process opens, from 1 to 256; unset: DuckDB's "
        "own default (one per core).",
    )
    today: dt.date | None = Field(
        default=None,
        description=(
            "The registry's date (YYYY-MM-DD, from 1990-01-01 to 2199-12-31) for every workflow not given one; unset: "
            "the system date."
        ),
    )
    log: str = Field(
        default="WARNING",
        description="The command line's log level (DEBUG, INFO, WARNING, ERROR).",
    )
    spark_driver_memory: str = Field(
        default="4g",
        description="Memory of the Spark driver for `--engine spark` runs (Spark's `spark.driver.memory`).",
    )
    registry_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The registry's HTTP API as the matchmaking site reaches it (`--registry-url`).",
    )
    matchmaking_db: Path = Field(
        default=Path("matchmaking.duckdb"),
        description="The matchmaking site's own store (not the registry's), the default of its `--db`.",
    )
    matchmaking_key: SecretStr | None = Field(
        default=None,
        description="The matchmaking site's relying-party key for the registry (when `--key` is not given).",
    )
    max_batch_columns: int = Field(
        default=64,
        ge=8,
        description="The most columns a batch may have: a CSV header's, a Parquet schema's, the keys of its JSON "
        "records together.",
    )
    max_field_bytes: int = Field(
        default=64 * 1024,
        ge=64,
        description="The longest value a batch's field may hold, in bytes of UTF-8.",
    )
    max_batch_rows: int = Field(
        default=1_000_000,
        ge=1,
        description="The most rows of a batch sent over HTTP (a file given to `ingest` or `load` has no such limit).",
    )
    ingest_queue: int = Field(
        default=32,
        ge=1,
        description="The most batches a running service holds waiting to be committed; beyond, a batch is refused "
        "with 429 (`ingest_queue`) and sent again. Each waits in one of the service's 40 worker threads: keep it "
        "below that, so that other requests find a thread.",
    )
    max_yaml_nodes: int = Field(
        default=100_000,
        ge=100,
        description="The most values (nodes) a policy's YAML may have, every alias counted as what it repeats.",
    )
    max_yaml_aliases: int = Field(
        default=100,
        ge=0,
        description="The most aliases (`*name`) a policy's YAML may use.",
    )
    max_nesting: int = Field(
        default=32,
        ge=4,
        description="The deepest a policy's YAML may nest its lists and mappings.",
    )

    max_sessions_per_key: int = Field(
        default=10,
        ge=1,
        le=1000,
        description="The most web sessions one key (or one resident signed in by links) keeps open at once; a "
        "sign-in beyond it ends that party's oldest session.",
    )
    max_sessions: int = Field(
        default=100_000,
        ge=1,
        description="The most web sessions open at once, for every party together; a sign-in beyond it is refused "
        "with 429 (`sessions_full`) until one ends or expires.",
    )

    throttle_auth: str = Field(
        default="20/60",
        description="Failed API-key authentications allowed per client address, as COUNT/SECONDS; over it, the "
        "address's requests with a key are answered 429 until its window closes.",
    )
    throttle_key_failures: str = Field(
        default="20/60",
        description="Failed authentications naming one key id (a known key with a wrong secret) from any address, "
        "as COUNT/SECONDS; over it, wrong secrets for that key are answered 429 (the right one still passes).",
    )
    throttle_signin: str = Field(
        default="20/60",
        description="Failed web sign-ins (with a key or a one-time link) allowed per client address, as COUNT/SECONDS.",
    )
    throttle_key: str = Field(
        default="120000/60",
        description="Requests per API key, as COUNT/SECONDS (authenticated calls; a decision batch counts as one).",
    )
    throttle_lookup: str = Field(
        default="30/60",
        description="Searches of the published lists per client address (`/lists` and `/v1/lists/lookup` together), "
        "as COUNT/SECONDS.",
    )
    throttle_public: str = Field(
        default="600/60",
        description="Other requests needing no key per client address (policy texts, `/healthz`, `/metrics`, pages "
        "seen signed out), as COUNT/SECONDS.",
    )
    throttle_audit: str = Field(
        default="300/60",
        description="Refusals of callers who are not known (401s, failed sign-ins, forms refused before sign-in) "
        "audited one row each, from all addresses together, as COUNT/SECONDS; beyond it they are answered the "
        "same and summarised in one audit row per window.",
    )
    smtp_host: str | None = Field(
        default=None,
        description="An SMTP server (host) that delivers messages to residents by e-mail (sign-in links); unset: "
        "messages stay in the outbox.",
    )
    smtp_port: int = Field(default=25, ge=1, le=65535, description="The SMTP server's port.")
    smtp_from: str = Field(
        default="registry@localhost", description="The sender address of the registry's e-mail messages."
    )
    smtp_user: str | None = Field(default=None, description="The SMTP login's user; unset: no login.")
    smtp_password: SecretStr | None = Field(default=None, description="The SMTP login's password.")
    smtp_starttls: bool = Field(default=False, description="Whether to upgrade the SMTP connection with STARTTLS.")
    outbox_page: bool = Field(
        default=False,
        description="Show the outbox of messages at `/outbox` to anyone (for a demonstration only: it shows "
        "sign-in links); unset: the page does not exist.",
    )
    throttle_clients: int = Field(
        default=10_000,
        ge=1,
        description="The most clients (addresses or keys) each limit tracks, and the most refused floods awaiting "
        "their summary; the least recently seen client is forgotten first.",
    )

    @field_validator(
        "throttle_auth",
        "throttle_key_failures",
        "throttle_signin",
        "throttle_key",
        "throttle_lookup",
        "throttle_public",
        "throttle_audit",
    )
    @classmethod
    def _rate(cls, value: str) -> str:
        count, _, seconds = value.strip().partition("/")
        if not (count.strip().isdecimal() and seconds.strip().isdecimal() and int(count) > 0 and int(seconds) > 0):
            raise PydanticCustomError("rate_format", "is not a rate COUNT/SECONDS such as 20/60")
        return f"{int(count)}/{int(seconds)}"

    @field_validator("log")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = level_of(value)
        if level is None:
            raise PydanticCustomError("log_level", NOT_A_LEVEL)
        return level

    @field_validator("today", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        # Only YYYY-MM-DD: pydantic alone would also take a Unix timestamp, which no one means by a date.
        if isinstance(value, str):
            try:
                value = parse_day(value)  # as every face reads a date: 2026-W50-1 and 20261230 are not taken
            except NotADay as exc:
                raise PydanticCustomError("date_format", "{said}", {"said": exc.said}) from None
            if not in_span(value):
                raise PydanticCustomError("date_range", "{said}", {"said": SPAN_SAID})
        return value

    def key(self) -> str | None:
        """The store's key in clear, or None."""
        return self.db_key.get_secret_value() if self.db_key else None

    def new_key(self) -> str | None:
        """The store's next key (`store rotate-key`) in clear, or None."""
        return self.new_db_key.get_secret_value() if self.new_db_key else None


@functools.lru_cache(maxsize=8)
def parsed(environment: tuple[tuple[str, str], ...]) -> Settings:
    given = {k[len(ENV_PREFIX) :].lower(): v for k, v in environment if v}  # an empty variable counts as unset
    try:
        return Settings.model_validate({name: given[name] for name in Settings.model_fields if name in given})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        # pydantic's own messages are sentences ("Input should be greater than or equal to 4"): after a colon
        said = f": {first['msg']}" if first["msg"][:1].isupper() else f" {first['msg']}"
        raise SocialCreditError(f"{env_name(field)}={first['input']!r}{said}") from None
