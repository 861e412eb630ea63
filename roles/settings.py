"""Marquee's settings: the core's, the bot's and the adapters' composed, and the deployment decided.

Each layer owns its variables (booking_core.settings, bot.settings, adapters.payments.settings,
adapters.sms_twilio); the names in DESIGN.md section 7 are a contract with operators and tests.
"""

from __future__ import annotations

from typing import Self

from pydantic import ValidationError, model_validator

from adapters.payments.settings import PaymentSettings
from adapters.sms_twilio import TwilioSettings
from booking_core.settings import ENVIRONMENT, ConfigurationError
from bot.settings import BotSettings


class MarqueeSettings(TwilioSettings, PaymentSettings, BotSettings):
    """Everything Marquee reads from its environment, with the defaults of DESIGN.md section 7."""

    model_config = ENVIRONMENT

    @model_validator(mode="after")
    def _deployment_is_decided(self) -> Self:
        """Settle MODE and the payment provider; a real deployment never falls back to a stand-in.

        Raises ConfigurationError (not wrapped by pydantic) so that the one line names the setting.
        """
        if self.TELEGRAM_WEBHOOK_URL and not self.TELEGRAM_WEBHOOK_SECRET:
            # Without it the webhook would be registered but never served: every update a 404.
            raise ConfigurationError(
                "TELEGRAM_WEBHOOK_SECRET: required with TELEGRAM_WEBHOOK_URL (1-256 of A-Z a-z 0-9 _ -)"
            )
        if self.MODE is None:
            if self.TELEGRAM_BOT_TOKEN:
                raise ConfigurationError(
                    "MODE: TELEGRAM_BOT_TOKEN is set, so choose MODE=production (real services only) "
                    "or MODE=demo (sandbox stand-ins and demo data)"
                )
            self.MODE = "demo"
        if self.MODE == "demo":
            self.PAYMENT_PROVIDER = self.PAYMENT_PROVIDER or "stripe"
            return self
        if not self.TELEGRAM_BOT_TOKEN:
            raise ConfigurationError("TELEGRAM_BOT_TOKEN: required with MODE=production")
        if self.PAYMENT_PROVIDER != "stripe":
            raise ConfigurationError("PAYMENT_PROVIDER: required with MODE=production: set it to stripe")
        if "PUBLIC_BASE_URL" not in self.model_fields_set:
            raise ConfigurationError(
                "PUBLIC_BASE_URL: required with MODE=production (where Stripe and customers reach us)"
            )
        return self


def load_settings(**overrides: object) -> MarqueeSettings:
    """Read the settings, turning a bad value into one ConfigurationError line naming the variable."""
    try:
        return MarqueeSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or "settings"
        raise ConfigurationError(f"{name}: {first['msg']}") from None
