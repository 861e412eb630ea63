"""Choosing and building the payment provider named by PAYMENT_PROVIDER, once at start-up."""

from __future__ import annotations

import redis.asyncio as aioredis

from adapters.payments.stripe_provider import StripePaymentProvider
from adapters.payments_sandbox import SandboxPaymentProvider
from booking_core.payments.port import PaymentProvider
from booking_core.settings import ConfigurationError, Settings


def open_payment_provider(settings: Settings, store: aioredis.Redis) -> PaymentProvider:
    """The configured provider (the sandbox keeps its checkouts in `store`); close it with aclose()."""
    if settings.PAYMENT_PROVIDER == "stripe":
        if not settings.STRIPE_API_KEY or not settings.STRIPE_WEBHOOK_SECRET:
            raise ConfigurationError("PAYMENT_PROVIDER=stripe needs STRIPE_API_KEY and STRIPE_WEBHOOK_SECRET")
        return StripePaymentProvider(
            settings.STRIPE_API_KEY,
            settings.STRIPE_WEBHOOK_SECRET,
            settings.STRIPE_API_BASE,
            settings.public_base_url,
        )
    if not settings.is_demo:
        # Settings refuse this already; the sandbox accepts any payment signed with a published secret.
        raise ConfigurationError("PAYMENT_PROVIDER: the sandbox provider serves MODE=demo only")
    return SandboxPaymentProvider(settings.public_base_url, settings.SANDBOX_WEBHOOK_SECRET, store)
