"""Building the payment provider named by PAYMENT_PROVIDER, once at start-up."""

from __future__ import annotations

from adapters.payments.stripe_provider import StripePaymentProvider
from booking_core.payments.port import PaymentProvider
from booking_core.settings import ConfigurationError
from roles.settings import MarqueeSettings


def open_payment_provider(settings: MarqueeSettings) -> PaymentProvider:
    """The configured provider, Stripe (a demo's `run` points it at its stand-in); close it with aclose()."""
    if not settings.STRIPE_API_KEY or not settings.STRIPE_WEBHOOK_SECRET:
        raise ConfigurationError(
            "PAYMENT_PROVIDER=stripe needs STRIPE_API_KEY and STRIPE_WEBHOOK_SECRET "
            "(in a demo of separate roles: the ones the `sandbox` process prints)"
        )
    return StripePaymentProvider(
        settings.STRIPE_API_KEY,
        settings.STRIPE_WEBHOOK_SECRET,
        settings.STRIPE_API_BASE,
        settings.public_base_url,
    )
