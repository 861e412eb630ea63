"""Closing provider checkouts the bot made obsolete (a newer checkout, a cancelled booking)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from booking_core.bookings.checkout import OpenCheckout
from booking_core.payments.port import PaymentError, PaymentProvider

log = logging.getLogger(__name__)


async def expire_checkouts(provider: PaymentProvider, checkouts: Iterable[OpenCheckout]) -> None:
    """Expire each open checkout of this provider so it cannot be paid; failures are only logged.

    A checkout of another provider, or one that failed here, is closed by the workers' periodic pass
    once its booking lapses, and a payment that slips through is refunded by the core.
    """
    for checkout in checkouts:
        if checkout.provider != provider.name:
            continue
        try:
            await provider.expire_checkout(checkout.checkout_id)
        except PaymentError as error:
            log.info(
                "checkout %s of booking %s not expired: %s", checkout.checkout_id, checkout.booking_id, error
            )
