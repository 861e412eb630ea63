"""The payment adapters' settings: which provider takes payments, and Stripe's keys and address."""

from __future__ import annotations

from typing import Literal

from pydantic_settings import BaseSettings

from booking_core.settings import ENVIRONMENT


class PaymentSettings(BaseSettings):
    """PAYMENT_PROVIDER and STRIPE_*; composed with the rest in roles.settings."""

    model_config = ENVIRONMENT

    # Unset: stripe in a demo (a demo's `run` points it at the Stripe stand-in); production must name it.
    PAYMENT_PROVIDER: Literal["stripe"] | None = None
    STRIPE_API_KEY: str | None = None
    STRIPE_WEBHOOK_SECRET: str | None = None
    STRIPE_API_BASE: str | None = None
