"""The core's configuration, read from the environment (and `.env`).

The names in DESIGN.md section 7 are a contract with operators and tests: keep them stable. The bot's
and the adapters' variables live with them (bot.settings, adapters.payments.settings,
adapters.sms_twilio); roles.settings composes them all and decides the deployment.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AnyHttpUrl,
    AnyUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from booking_core.redis_url import RedisUrlError, parse_redis_url


class ConfigurationError(Exception):
    """A setting has a value Marquee cannot use; the message names the variable."""


class TheatreSystemConfig(BaseModel):
    """How Marquee reaches a connected theatre: its Theatre API (`base_url` and the bearer `token`), or
    its database (`database_url`, Theatre DB v1, where Marquee's locks and tickets carry `application`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: AnyHttpUrl | None = None
    token: SecretStr | None = Field(default=None, min_length=1)
    database_url: SecretStr | None = None
    application: str = Field(default="marquee", pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")

    @model_validator(mode="after")
    def _one_link(self) -> TheatreSystemConfig:
        if (self.base_url is None) == (self.database_url is None):
            raise ValueError("give either base_url (with token) or database_url")
        if self.base_url is not None and self.token is None:
            raise ValueError("base_url needs a token")
        if self.database_url is not None:
            try:
                drivername = make_url(self.database_url.get_secret_value()).drivername
            except ArgumentError:
                raise ValueError("database_url: not a database URL") from None
            if drivername not in THEATRE_DATABASE_DRIVERS:
                raise ValueError(f"database_url: use one of {', '.join(THEATRE_DATABASE_DRIVERS)}")
        return self

    @property
    def url(self) -> str:
        """base_url without a trailing slash, ready to join `/v1/...` onto."""
        return str(self.base_url).rstrip("/")


THEATRE_DATABASE_DRIVERS = ("postgresql+asyncpg", "mysql+asyncmy", "mariadb+asyncmy", "sqlite+aiosqlite")

_SYSTEM_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")

Mode = Literal["demo", "production"]
# How every part of the settings is read: the environment, then `.env`; names as written; others ignored.
ENVIRONMENT = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=True)


class Settings(BaseSettings):
    """The core's variables, with the defaults of DESIGN.md section 7 (MODE is settled in roles.settings)."""

    model_config = ENVIRONMENT

    # demo: stand-ins (the Stripe one included) and demo data may serve; production: real services only.
    # Unset means demo on embedded defaults, and is refused once a real bot token is configured.
    MODE: Mode | None = None

    DATABASE_URL: str = "sqlite+aiosqlite:///data/marquee.db"
    REDIS_URL: str | None = None
    BROKER_URL: str | None = None
    DATA_DIR: Path = Path("data")

    SMTP_URL: str | None = None
    MAIL_FROM: str = "Marquee <tickets@marquee.example>"

    HOLD_SECONDS: int = Field(default=300, gt=0)
    OFFER_SECONDS: int = Field(default=120, gt=0)
    MAX_SEATS_PER_BOOKING: int = Field(default=10, gt=0, le=50)
    HOLD_ATTEMPTS_PER_MINUTE: int = Field(default=60, gt=0)
    # A user's holds of one show end this long after their first seat at the latest (then a pause).
    HOLD_MAX_SECONDS: int = Field(default=900, gt=0)
    MAX_SHOWS_HELD: int = Field(default=3, gt=0)
    # The on-sale queue of premieres (README: "On-sale queue").
    SALE_QUEUE_TURNS: int = Field(default=50, gt=0)
    SALE_QUEUE_TURN_SECONDS: int = Field(default=180, gt=0)
    SALE_QUEUE_TURNS_PER_USER: int = Field(default=1, gt=0)
    SALE_QUEUE_ADMISSIONS_PER_SECOND: float = Field(default=5.0, gt=0)
    # Updates (messages, button presses) one user may send the bot per minute before "slow down".
    BOT_UPDATES_PER_MINUTE: int = Field(default=60, gt=0)
    CANCEL_CUTOFF_MINUTES: int = Field(default=60, ge=0)
    REMINDER_MINUTES: int = Field(default=120, ge=0)
    # Payments a worker process confirms at the same time share their reads, Redis lookups and one
    # transaction (bookings.confirmation.ConfirmationTurns); off: each its own, all at the database at once.
    SETTLE_PAYMENTS_TOGETHER: bool = True
    CATALOGUE_CACHE_SECONDS: int = Field(default=60, gt=0)

    PUBLIC_BASE_URL: AnyUrl = AnyUrl("http://127.0.0.1:8080")
    HTTP_HOST: str = "127.0.0.1"
    HTTP_PORT: int = Field(default=8080, ge=1, le=65535)
    # `run` and `sandbox` serve the stand-ins of Telegram, Twilio and a theatre here, SMTP one port up.
    SANDBOX_PORT: int = Field(default=8081, ge=1, le=65534)
    # Where `run` serves the demo's sandbox theatre (its Theatre API and box office).
    DEMO_THEATRE_PORT: int = Field(default=8090, ge=1, le=65535)
    LOG_FORMAT: Literal["text", "json"] = "text"
    # The seat-map Mini App: where its page is (default PUBLIC_BASE_URL/app; Telegram opens only https),
    # and how old the initData a page presents may be before the API refuses it.
    MINIAPP_URL: AnyHttpUrl | None = None
    MINIAPP_INIT_DATA_MAX_AGE_SECONDS: int = Field(default=3600, gt=0)

    # Connected theatres by the name a Cinema row carries in `system` (DESIGN.md section 10), as JSON:
    # {"northlight": {"base_url": "https://tickets.example/api", "token": "..."}} for a Theatre API,
    # {"elbe": {"database_url": "postgresql+asyncpg://marquee:...@db.elbe.example/boxoffice"}} for a
    # Theatre DB v1 database (docs/theatre-db.md).
    # NoDecode: our validator parses the JSON, so bad JSON becomes a ConfigurationError like any other.
    THEATRE_SYSTEMS: Annotated[dict[str, TheatreSystemConfig], NoDecode] = Field(default_factory=dict)
    THEATRE_SYNC_SECONDS: int = Field(default=300, gt=0)
    # How far ahead a theatre's schedule is synced (the Theatre API allows at most 62 days).
    THEATRE_SYNC_DAYS: int = Field(default=14, gt=0, le=62)
    # How long a connected show's sold/locked seats are reused before the theatre is asked again.
    THEATRE_STATUS_SECONDS: float = Field(default=1.0, gt=0, le=30)
    # One call to a theatre, retries included; past it the theatre counts as unavailable.
    THEATRE_TIMEOUT_SECONDS: float = Field(default=1.0, gt=0, le=60)
    # A paid booking waits this long for its theatre to confirm the sale before it is refunded.
    THEATRE_COMMIT_DEADLINE_MINUTES: int = Field(default=30, gt=0)

    @field_validator("DATABASE_URL")
    @classmethod
    def _database_url_parses(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL: {exc}") from None
        if url.drivername not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
            raise ValueError("use sqlite+aiosqlite:/// or postgresql+asyncpg://")
        return value

    @field_validator("REDIS_URL", "BROKER_URL")
    @classmethod
    def _queue_url_parses(cls, value: str | None) -> str | None:
        if value is None or value.startswith("amqp://"):
            return value
        try:
            parse_redis_url(value)
        except RedisUrlError as exc:
            raise ValueError(f"{exc} (or amqp:// for the broker)") from None
        return value

    @field_validator("THEATRE_SYSTEMS", mode="before")
    @classmethod
    def _theatre_systems_json(cls, value: object) -> object:
        # The environment gives JSON text; code and tests may pass the mapping itself.
        if isinstance(value, str | bytes):
            try:
                return json.loads(value or "{}")
            except json.JSONDecodeError as exc:
                raise ValueError(f"not JSON: {exc.msg}") from None
        return value

    @field_validator("THEATRE_SYSTEMS")
    @classmethod
    def _theatre_system_names(cls, value: dict[str, TheatreSystemConfig]) -> dict[str, TheatreSystemConfig]:
        for name in value:
            if name == "local" or not _SYSTEM_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a system name: lowercase a-z 0-9 _ -, not 'local'")
        return value

    @property
    def is_demo(self) -> bool:
        """True when stand-ins (the Stripe one included) and demo data may serve."""
        return self.MODE == "demo"

    @property
    def hold_ttl(self) -> timedelta:
        """How long a seat hold lasts."""
        return timedelta(seconds=self.HOLD_SECONDS)

    @property
    def public_base_url(self) -> str:
        """PUBLIC_BASE_URL without a trailing slash, ready to join paths onto."""
        return str(self.PUBLIC_BASE_URL).rstrip("/")
