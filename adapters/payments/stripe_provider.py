"""The Stripe payment provider: Checkout Sessions, refunds and webhooks through the official library.

`api_base` points the library at another host (the local stand-in in tests, sandbox/stripe_api.py).
Stripe sessions live at least 30 minutes, longer than a seat hold: the session's own expiry is only
a backstop, and the worker closes the session through `expire_checkout` when the hold lapses.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import stripe
from stripe.params import RefundCreateParams
from stripe.params.checkout import SessionCreateParams

from adapters.payments import stripe_signature
from adapters.payments.stripe_events import payment_event_from_body
from booking_core.payments.port import (
    Checkout,
    CheckoutNotFound,
    CheckoutNotOpen,
    CheckoutRequest,
    PaymentError,
    PaymentEvent,
    ProviderRejected,
    ProviderUnavailable,
    WebhookRejected,
)

# Stripe refuses a session expiring sooner than 30 minutes after creation; derive the backstop from
# the hold (not from "now") so a retried create sends the same parameters under its idempotency key.
SESSION_BACKSTOP = timedelta(minutes=35)
SESSION_LONGEST = timedelta(hours=23)


class StripePaymentProvider:
    """PaymentProvider for Stripe Checkout (test or live keys, or a stand-in via `api_base`)."""

    name = "stripe"

    def __init__(
        self,
        api_key: str,
        webhook_secret: str,
        api_base: str | None,
        public_base_url: str,
        *,
        max_network_retries: int = 2,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._webhook_secret = webhook_secret
        base_url = public_base_url.rstrip("/")
        self.success_url = f"{base_url}/checkout/success?session_id={{CHECKOUT_SESSION_ID}}"
        self.cancel_url = f"{base_url}/checkout/cancel?session_id={{CHECKOUT_SESSION_ID}}"
        # The library's default async client waits 80 s; a customer waiting on the bot should not.
        self._http = stripe.HTTPXClient(timeout=timeout_seconds)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=max_network_retries,
            http_client=self._http,
        )

    async def create_checkout(self, req: CheckoutRequest) -> Checkout:
        """Create a Checkout Session for the booking (Idempotency-Key: the request's key)."""
        booking = str(req.booking_id)
        params: SessionCreateParams = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": req.currency.lower(),
                        "unit_amount": req.amount_minor,
                        "product_data": {"name": req.description},
                    },
                }
            ],
            "client_reference_id": booking,
            "metadata": {"booking_id": booking},
            # Copied to the payment so failure and refund events name the booking too.
            "payment_intent_data": {"metadata": {"booking_id": booking}},
            "success_url": self.success_url,
            "cancel_url": self.cancel_url,
        }
        backstop = req.expires_at + SESSION_BACKSTOP
        if backstop - datetime.now(UTC) <= SESSION_LONGEST:
            params["expires_at"] = int(backstop.timestamp())
        with _translated_errors():
            session = await self._client.v1.checkout.sessions.create_async(
                params, {"idempotency_key": req.idempotency_key}
            )
        if not session.url:
            raise ProviderRejected(f"session {session.id} has no hosted page URL")
        return Checkout(checkout_id=session.id, url=session.url)

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str], now: float | None = None
    ) -> PaymentEvent:
        """Verify with stripe's own WebhookSignature, check the timestamp window, reduce the event."""
        header = stripe_signature.signature_header(headers)
        timestamp, _ = stripe_signature.parse_header(header)
        try:
            # The library's check of the signature alone: its construct_event would also build a
            # StripeObject tree that nothing reads (most of a webhook's CPU time). tolerance=None turns
            # off its age check: ours also refuses future timestamps and takes `now` from the caller.
            stripe.WebhookSignature.verify_header(body, header, self._webhook_secret, tolerance=None)
        except stripe.SignatureVerificationError as exc:
            raise WebhookRejected("bad_signature", str(exc)) from None
        except UnicodeDecodeError as exc:
            raise WebhookRejected("malformed_body", f"not a Stripe event: {exc}") from None
        stripe_signature.check_timestamp(timestamp, now)
        return payment_event_from_body(self.name, body)

    async def expire_checkout(self, checkout_id: str) -> None:
        """Expire an open session; a no-op if expired already, CheckoutNotOpen('complete') if paid."""
        try:
            with _translated_errors():
                await self._client.v1.checkout.sessions.expire_async(checkout_id)
        except CheckoutNotFound:
            raise
        except ProviderRejected as refused:
            # Only open sessions can be expired: ask what it is now to tell "done" from "paid".
            status = await self._session_status(checkout_id)
            if status == "expired":
                return
            raise CheckoutNotOpen(checkout_id, status) from refused

    async def refund(self, payment_id_or_checkout_id: str, amount_minor: int, idempotency_key: str) -> str:
        """Refund through the Refund API (payment intent, charge, or a session's payment intent)."""
        params: RefundCreateParams = {"amount": amount_minor}
        if payment_id_or_checkout_id.startswith("ch_"):
            params["charge"] = payment_id_or_checkout_id
        else:
            params["payment_intent"] = await self._payment_intent_of(payment_id_or_checkout_id)
        with _translated_errors():
            refund = await self._client.v1.refunds.create_async(params, {"idempotency_key": idempotency_key})
        return refund.id

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._http.close_async()

    async def _session_status(self, checkout_id: str) -> str:
        with _translated_errors():
            session = await self._client.v1.checkout.sessions.retrieve_async(checkout_id)
        return str(session.status)

    async def _payment_intent_of(self, payment_id_or_checkout_id: str) -> str:
        if not payment_id_or_checkout_id.startswith("cs_"):
            return payment_id_or_checkout_id
        with _translated_errors():
            session = await self._client.v1.checkout.sessions.retrieve_async(payment_id_or_checkout_id)
        intent = session.payment_intent
        if intent is None:
            raise ProviderRejected(f"session {payment_id_or_checkout_id} has no payment to refund")
        return intent if isinstance(intent, str) else intent.id


@contextmanager
def _translated_errors() -> Iterator[None]:
    """Turn stripe's errors into the port's: retryable (unavailable) or permanent (rejected)."""
    try:
        yield
    except stripe.StripeError as exc:
        raise _translated(exc) from exc


def _translated(exc: stripe.StripeError) -> PaymentError:
    status = exc.http_status
    message = f"{type(exc).__name__}: {exc.user_message or exc}"
    # No answer, lock conflicts, rate limits and server errors may pass; Stripe retries these too.
    if isinstance(exc, stripe.APIConnectionError) or status is None or status in (409, 429) or status >= 500:
        return ProviderUnavailable(message)
    if status == 404:
        return CheckoutNotFound(message)
    return ProviderRejected(message)
