"""The payment provider port: what the core asks of a checkout provider, in the cinema's words.

Adapters in `adapters/` implement `PaymentProvider` with a vendor's library (Stripe) or the local
sandbox. Money is integer minor units plus an upper-case ISO currency code, as in the models.
Webhook parsing is synchronous and pure (no I/O) so the web handler can verify and answer at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol


@dataclass(frozen=True)
class CheckoutRequest:
    """Open a checkout for one booking; the amount was computed on the server from seat prices."""

    booking_id: int
    amount_minor: int
    currency: str
    description: str
    # When the seat hold lapses: the provider may not honour it exactly (Stripe needs >= 30 minutes).
    expires_at: datetime
    # Replays of the same key return the first checkout instead of opening a second one.
    idempotency_key: str


@dataclass(frozen=True)
class Checkout:
    """An open checkout at the provider and the page where the customer pays."""

    checkout_id: str
    url: str


class PaymentEventKind(StrEnum):
    """What a provider's webhook tells us happened to a payment."""

    COMPLETED = "completed"
    EXPIRED = "expired"
    FAILED = "failed"
    REFUNDED = "refunded"


@dataclass(frozen=True)
class PaymentEvent:
    """A verified provider webhook, reduced to what the booking core needs.

    Events about a payment rather than a checkout (failed, refunded) may lack the checkout id, and
    events without our metadata lack the booking id: `payment_id` then identifies the payment.
    """

    provider: str
    event_id: str
    kind: PaymentEventKind
    checkout_id: str | None
    booking_id: int | None
    amount_minor: int | None
    currency: str | None
    payment_id: str | None
    raw: bytes = field(repr=False)
    # The provider's own name for the event, e.g. "checkout.session.completed" (stored with the raw body).
    event_type: str = ""


class PaymentError(Exception):
    """Base of the payment errors; `code` is stable and safe to branch on or show as a key."""

    code = "payment_error"


class WebhookRejected(PaymentError):
    """A webhook we must not trust: answer 400 and change nothing.

    `reason` is one of: missing_signature, malformed_signature, bad_signature, stale_timestamp,
    future_timestamp, malformed_body.
    """

    code = "webhook_rejected"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


class UnsupportedEvent(PaymentError):
    """A genuine (signed) event of a type we do not handle: acknowledge it with 2xx and ignore it."""

    code = "unsupported_event"

    def __init__(self, event_id: str, event_type: str) -> None:
        super().__init__(f"event {event_id} of type {event_type!r} is not handled")
        self.event_id = event_id
        self.event_type = event_type


class ProviderUnavailable(PaymentError):
    """The provider could not be reached or failed on its side (network, 409, 429, 5xx): retry later."""

    code = "provider_unavailable"


class ProviderRejected(PaymentError):
    """The provider refused the request itself (4xx): retrying the same request will not help."""

    code = "provider_rejected"


class CheckoutNotFound(ProviderRejected):
    """No checkout (or payment) with that id exists at the provider."""

    code = "checkout_not_found"


class CheckoutNotOpen(ProviderRejected):
    """The checkout can no longer be paid or expired; `status` is what it is now (complete, expired)."""

    code = "checkout_not_open"

    def __init__(self, checkout_id: str, status: str) -> None:
        super().__init__(f"checkout {checkout_id} is {status}, not open")
        self.checkout_id = checkout_id
        self.status = status


class PaymentProvider(Protocol):
    """A checkout provider: opens checkouts, verifies its webhooks, expires checkouts, refunds."""

    name: str

    async def create_checkout(self, req: CheckoutRequest) -> Checkout:
        """Open a checkout for a booking (idempotent on `req.idempotency_key`)."""
        ...

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str], now: float | None = None
    ) -> PaymentEvent:
        """Verify a webhook over its raw bytes and reduce it; raises WebhookRejected or UnsupportedEvent."""
        ...

    async def expire_checkout(self, checkout_id: str) -> None:
        """Close an open checkout; a no-op if already expired, CheckoutNotOpen('complete') if paid."""
        ...

    async def refund(self, payment_id_or_checkout_id: str, amount_minor: int, idempotency_key: str) -> str:
        """Refund part or all of a completed payment; returns the provider's refund id."""
        ...

    async def aclose(self) -> None:
        """Release the provider's connections (called at shutdown)."""
        ...
