"""A sale's steps the way the bot and the payment provider take them, for stands that skip the clicks."""

from __future__ import annotations

import secrets

from booking_core.bookings.checkout import CheckoutStarted
from booking_core.bookings.service import Bookings
from booking_core.holds.store import Hold
from booking_core.payments.port import PaymentEvent, PaymentEventKind

SANDBOX = "sandbox"


async def recorded_checkout(
    bookings: Bookings, hold: Hold, provider: str = SANDBOX
) -> tuple[CheckoutStarted, str]:
    """Start paying for `hold` and record a provider checkout for it: the started checkout and its id.

    Fails the test if the checkout is refused.
    """
    started = await bookings.start_checkout(hold)
    assert isinstance(started, CheckoutStarted), started
    checkout_id = f"cs_test_{started.booking_id}_{secrets.token_hex(4)}"
    await bookings.record_checkout(
        started.booking_id, provider, checkout_id, f"http://127.0.0.1/pay/{checkout_id}"
    )
    return started, checkout_id


def provider_event(
    checkout_id: str,
    booking_id: int,
    amount_minor: int | None,
    *,
    kind: PaymentEventKind = PaymentEventKind.COMPLETED,
    currency: str | None = "eur",
    provider: str = SANDBOX,
    event_id: str | None = None,
    payment_id: str | None = None,
) -> PaymentEvent:
    """The provider's event about a checkout (by default: paid in full, the currency in lower case like
    Stripe's)."""
    return PaymentEvent(
        provider=provider,
        event_id=event_id or f"evt_{secrets.token_hex(8)}",
        kind=kind,
        checkout_id=checkout_id,
        booking_id=booking_id,
        amount_minor=amount_minor,
        currency=currency,
        payment_id=payment_id or f"pi_{checkout_id}",
        raw=b"{}",
    )
