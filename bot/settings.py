"""The bot's settings: its Telegram token, the Bot API server it talks to, and webhook mode."""

from __future__ import annotations

import re

from pydantic import field_validator
from pydantic_settings import BaseSettings

from booking_core.settings import ENVIRONMENT, Settings

# Telegram's rule for a webhook's secret_token (Bot API, setWebhook).
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


class TelegramSettings(BaseSettings):
    """TELEGRAM_*: unset, a demo talks to the sandbox Bot API; composed with the rest in roles.settings."""

    model_config = ENVIRONMENT

    TELEGRAM_BOT_TOKEN: str | None = None
    TELEGRAM_API_BASE_URL: str | None = None
    TELEGRAM_WEBHOOK_URL: str | None = None
    TELEGRAM_WEBHOOK_SECRET: str | None = None
    # Ticket deliveries ask for Telegram's paid broadcast allowance (allow_paid_broadcast: up to 1,000
    # messages a second, each message beyond the free 30 a second paid in Telegram Stars from the bot's
    # balance). Off: tickets go out within the free budget.
    TELEGRAM_ALLOW_PAID_BROADCAST: bool = False

    @field_validator("TELEGRAM_WEBHOOK_SECRET")
    @classmethod
    def _webhook_secret_is_telegrams(cls, value: str | None) -> str | None:
        if value is not None and not _WEBHOOK_SECRET.fullmatch(value):
            raise ValueError("1 to 256 characters of A-Z a-z 0-9 _ -")
        return value


class BotSettings(TelegramSettings, Settings):
    """What the bot reads: the core's settings and its own (roles.settings adds the adapters')."""

    model_config = ENVIRONMENT

    @property
    def miniapp_url(self) -> str | None:
        """The Mini App's base URL for `web_app` buttons; None where Telegram could not open it.

        Telegram opens only https pages; the sandbox Bot API (no TELEGRAM_BOT_TOKEN) opens http ones too.
        """
        url = str(self.MINIAPP_URL).rstrip("/") if self.MINIAPP_URL else f"{self.public_base_url}/app"
        return url if url.startswith("https://") or not self.TELEGRAM_BOT_TOKEN else None
