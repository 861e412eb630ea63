"""The payment adapters' settings: which provider takes payments, Stripe's keys, the sandbox's secret."""

from __future__ import annotations

from typing import Literal

from pydantic_settings import BaseSettings

from booking_core.settings import ENVIRONMENT


class PaymentSettings(BaseSettings):
    """PAYMENT_PROVIDER, STRIPE_* and SANDBOX_WEBHOOK_SECRET; composed with the rest in roles.settings."""

    model_config = ENVIRONMENT

    # Unset: the sandbox in a demo; a production deployment must name its provider.
    PAYMENT_PROVIDER: Literal["sandbox", "stripe"] | None = None
    STRIPE_API_KEY: str | None = None
    STRIPE_WEBHOOK_SECRET: str | None = None
    STRIPE_API_BASE: str | None = None
    SANDBOX_WEBHOOK_SECRET: str = "whsec_marquee_sandbox"
