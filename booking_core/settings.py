"""Configuration: one settings object read from the environment (and `.env`).

The names in DESIGN.md section 7 are a contract with operators and tests: keep them stable.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import AnyUrl, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class ConfigurationError(Exception):
    """A setting has a value Marquee cannot use; the message names the variable."""


class Settings(BaseSettings):
    """Everything Marquee reads from its environment, with the defaults of DESIGN.md section 7."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=True)

    DATABASE_URL: str = "sqlite+aiosqlite:///data/marquee.db"
    REDIS_URL: str | None = None
    BROKER_URL: str | None = None
    DATA_DIR: Path = Path("data")

    TELEGRAM_BOT_TOKEN: str | None = None
    TELEGRAM_API_BASE_URL: str | None = None
    TELEGRAM_WEBHOOK_URL: str | None = None
    TELEGRAM_WEBHOOK_SECRET: str | None = None

    PAYMENT_PROVIDER: Literal["sandbox", "stripe"] = "sandbox"
    STRIPE_API_KEY: str | None = None
    STRIPE_WEBHOOK_SECRET: str | None = None
    STRIPE_API_BASE: str | None = None
    SANDBOX_WEBHOOK_SECRET: str = "whsec_marquee_sandbox"

    TWILIO_ACCOUNT_SID: str | None = None
    TWILIO_AUTH_TOKEN: str | None = None
    TWILIO_FROM_NUMBER: str | None = None
    SMTP_URL: str | None = None
    MAIL_FROM: str = "Marquee <tickets@marquee.example>"

    HOLD_SECONDS: int = Field(default=300, gt=0)
    OFFER_SECONDS: int = Field(default=120, gt=0)
    MAX_SEATS_PER_BOOKING: int = Field(default=10, gt=0, le=50)
    HOLD_ATTEMPTS_PER_MINUTE: int = Field(default=60, gt=0)
    CANCEL_CUTOFF_MINUTES: int = Field(default=60, ge=0)
    REMINDER_MINUTES: int = Field(default=120, ge=0)
    CATALOGUE_CACHE_SECONDS: int = Field(default=60, gt=0)

    PUBLIC_BASE_URL: AnyUrl = AnyUrl("http://127.0.0.1:8080")
    HTTP_HOST: str = "127.0.0.1"
    HTTP_PORT: int = Field(default=8080, ge=1, le=65535)
    LOG_FORMAT: Literal["text", "json"] = "text"

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
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://", "amqp://")):
            raise ValueError("expected redis://, rediss://, unix:// or amqp://")
        return value

    @property
    def hold_ttl(self) -> timedelta:
        """How long a seat hold lasts."""
        return timedelta(seconds=self.HOLD_SECONDS)

    @property
    def public_base_url(self) -> str:
        """PUBLIC_BASE_URL without a trailing slash, ready to join paths onto."""
        return str(self.PUBLIC_BASE_URL).rstrip("/")


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning a bad value into one ConfigurationError line naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or "settings"
        raise ConfigurationError(f"{name}: {first['msg']}") from None
