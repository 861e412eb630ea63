"""The sandbox payment provider: checkouts paid on our own page, with Stripe-shaped signed webhooks.

Checkouts live in Redis so any web process can serve the page and any worker can expire or refund:
    sandbox:{payments}:checkout:<id>          hash: booking_id, amount, currency, description, status
                                              (open | complete | expired), expires_at (unix s), payment_id,
                                              amount_refunded, complete_event_id, expired_event_id, closed_at
    sandbox:{payments}:payment:<payment id>   string: the checkout id (refunds may name either)
    sandbox:{payments}:idempotency:<key>      string: "<checkout id> <request fingerprint>"
    sandbox:{payments}:refunds:<checkout id>  hash: refund id -> amount
    sandbox:{payments}:refund-key:<key>       string: "<refund id> <request fingerprint>"
All expire after RETENTION_SECONDS. They share the hash tag `{payments}`, so the multi-key transactions
stay in one Redis Cluster slot (a stand-in needs no more than one node).

The webhooks it posts are the same JSON and signature as Stripe's, so the web handler and the worker
run one code path for both providers.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import aiohttp
import redis.asyncio as aioredis
from redis.exceptions import WatchError

from adapters.payments import stripe_signature
from adapters.payments.stripe_events import payment_event_from_body
from booking_core.payments.port import (
    Checkout,
    CheckoutNotFound,
    CheckoutNotOpen,
    CheckoutRequest,
    PaymentEvent,
    PaymentEventKind,
    ProviderRejected,
    ProviderUnavailable,
)

RETENTION_SECONDS = 30 * 24 * 3600
# Every key of the sandbox provider starts so (one hash tag: one Redis Cluster slot).
_PREFIX = "sandbox:{payments}"
DELIVERY_TIMEOUT_SECONDS = 10

# The Stripe event type the sandbox sends for each outcome.
EVENT_TYPES: dict[PaymentEventKind, str] = {
    PaymentEventKind.COMPLETED: "checkout.session.completed",
    PaymentEventKind.EXPIRED: "checkout.session.expired",
    PaymentEventKind.FAILED: "payment_intent.payment_failed",
    PaymentEventKind.REFUNDED: "charge.refunded",
}


@dataclass(frozen=True)
class SandboxCheckout:
    """A sandbox checkout as its page shows it; `status` already accounts for `expires_at`."""

    checkout_id: str
    url: str
    booking_id: int
    amount_minor: int
    currency: str
    description: str
    status: str
    expires_at: datetime
    payment_id: str
    amount_refunded: int

    @property
    def is_open(self) -> bool:
        """True while the customer can still pay."""
        return self.status == "open"


@dataclass(frozen=True)
class SandboxDelivery:
    """A webhook the sandbox posted: which event, and the HTTP status our endpoint answered."""

    event_id: str
    kind: PaymentEventKind
    status: int


class SandboxPaymentProvider:
    """PaymentProvider backed by Redis and our own checkout page (`/sandbox/pay/<id>`)."""

    name = "sandbox"

    def __init__(self, public_base_url: str, webhook_secret: str, store: aioredis.Redis) -> None:
        self._base_url = public_base_url.rstrip("/")
        self._secret = webhook_secret
        self._store = store

    # -- PaymentProvider -------------------------------------------------------------------------

    async def create_checkout(self, req: CheckoutRequest) -> Checkout:
        """Open a checkout (a replay of the idempotency key returns the first one)."""
        if req.amount_minor <= 0:
            raise ProviderRejected("amount_minor must be positive")
        if len(req.currency) != 3 or not req.currency.isalpha():
            raise ProviderRejected(f"not an ISO currency code: {req.currency!r}")
        fingerprint = _fingerprint(
            req.booking_id, req.amount_minor, req.currency.upper(), req.description, req.expires_at
        )
        idempotency_key = f"{_PREFIX}:idempotency:{req.idempotency_key}"
        token = secrets.token_hex(12)
        checkout_id, payment_id = f"cs_sandbox_{token}", f"pi_sandbox_{token}"
        async with self._store.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(idempotency_key)
                    earlier = cast(str | None, await pipe.get(idempotency_key))
                    if earlier is not None:
                        return self._replayed_checkout(earlier, fingerprint)
                    pipe.multi()
                    pipe.hset(
                        _checkout_key(checkout_id),
                        mapping={
                            "booking_id": req.booking_id,
                            "amount": req.amount_minor,
                            "currency": req.currency.upper(),
                            "description": req.description,
                            "status": "open",
                            "expires_at": int(req.expires_at.timestamp()),
                            "payment_id": payment_id,
                            "amount_refunded": 0,
                        },
                    )
                    pipe.expire(_checkout_key(checkout_id), RETENTION_SECONDS)
                    pipe.set(f"{_PREFIX}:payment:{payment_id}", checkout_id, ex=RETENTION_SECONDS)
                    pipe.set(idempotency_key, f"{checkout_id} {fingerprint}", ex=RETENTION_SECONDS)
                    await pipe.execute()
                    return Checkout(checkout_id=checkout_id, url=self.checkout_url(checkout_id))
                except WatchError:
                    continue  # a concurrent replay won: read its checkout on the next pass

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str], now: float | None = None
    ) -> PaymentEvent:
        """Verify the Stripe-style signature over the raw body and reduce the event."""
        stripe_signature.verify(body, stripe_signature.signature_header(headers), self._secret, now)
        return payment_event_from_body(self.name, body)

    async def expire_checkout(self, checkout_id: str) -> None:
        """Close an open checkout (no webhook is sent: the caller already knows)."""
        checkout, _ = await self._close(checkout_id, "expired")
        if checkout.status == "complete":
            raise CheckoutNotOpen(checkout_id, "complete")

    async def refund(self, payment_id_or_checkout_id: str, amount_minor: int, idempotency_key: str) -> str:
        """Record a refund of a completed checkout; returns its refund id (same key, same id)."""
        if amount_minor <= 0:
            raise ProviderRejected("refund amount must be positive")
        checkout_id = await self._checkout_id_of(payment_id_or_checkout_id)
        key, refund_key = _checkout_key(checkout_id), f"{_PREFIX}:refund-key:{idempotency_key}"
        fingerprint = _fingerprint(checkout_id, amount_minor)
        async with self._store.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key, refund_key)
                    earlier = cast(str | None, await pipe.get(refund_key))
                    if earlier is not None:
                        refund_id, _, earlier_fingerprint = earlier.partition(" ")
                        if earlier_fingerprint != fingerprint:
                            raise ProviderRejected("idempotency key reused with different parameters")
                        return str(refund_id)
                    fields = cast(dict[str, str], await pipe.hgetall(key))
                    if not fields:
                        raise CheckoutNotFound(f"no sandbox checkout {checkout_id}")
                    if fields["status"] != "complete":
                        raise ProviderRejected(f"checkout {checkout_id} was not paid: nothing to refund")
                    left = int(fields["amount"]) - int(fields["amount_refunded"])
                    if amount_minor > left:
                        raise ProviderRejected(f"refund of {amount_minor} exceeds the {left} left to refund")
                    refund_id = f"re_sandbox_{secrets.token_hex(12)}"
                    pipe.multi()
                    pipe.hincrby(key, "amount_refunded", amount_minor)
                    pipe.hset(f"{_PREFIX}:refunds:{checkout_id}", refund_id, amount_minor)
                    pipe.expire(f"{_PREFIX}:refunds:{checkout_id}", RETENTION_SECONDS)
                    pipe.set(refund_key, f"{refund_id} {fingerprint}", ex=RETENTION_SECONDS)
                    await pipe.execute()
                    return refund_id
                except WatchError:
                    continue

    async def aclose(self) -> None:
        """Nothing to release: the Redis client belongs to the caller."""

    # -- the sandbox checkout page ---------------------------------------------------------------

    def checkout_url(self, checkout_id: str) -> str:
        """Where the customer pays this checkout."""
        return f"{self._base_url}/sandbox/pay/{checkout_id}"

    async def get_checkout(self, checkout_id: str) -> SandboxCheckout | None:
        """The checkout for its page, or None if there is no such checkout."""
        fields = cast(dict[str, str], await self._store.hgetall(_checkout_key(checkout_id)))
        return self._checkout(checkout_id, fields) if fields else None

    async def refunds(self, checkout_id: str) -> dict[str, int]:
        """The refunds recorded for a checkout: refund id -> amount."""
        recorded = cast(dict[str, str], await self._store.hgetall(f"{_PREFIX}:refunds:{checkout_id}"))
        return {refund_id: int(amount) for refund_id, amount in recorded.items()}

    def build_event(
        self,
        checkout: SandboxCheckout,
        kind: PaymentEventKind,
        event_id: str | None = None,
        created: int | None = None,
        signed_at: int | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """A Stripe-shaped event about `checkout` and the headers (signature) to post it with."""
        body = json.dumps(
            {
                "id": event_id or f"evt_sandbox_{secrets.token_hex(12)}",
                "object": "event",
                "api_version": "2025-01-01",
                "created": int(time.time()) if created is None else created,
                "livemode": False,
                "type": EVENT_TYPES[kind],
                "data": {"object": _event_object(checkout, kind)},
            },
            separators=(",", ":"),
        ).encode()
        headers = {
            "Content-Type": "application/json",
            stripe_signature.SIGNATURE_HEADER: stripe_signature.sign(body, self._secret, signed_at),
        }
        return body, headers

    async def pay(self, checkout_id: str, webhook_url: str) -> SandboxDelivery:
        """The customer pays: complete the checkout and post `checkout.session.completed`.

        Paying a completed checkout posts the same event again (same id), so a lost webhook can be
        resent from the page; an expired checkout raises CheckoutNotOpen.
        """
        checkout, fields = await self._close(checkout_id, "complete")
        if checkout.status != "complete":
            raise CheckoutNotOpen(checkout_id, checkout.status)
        return await self._deliver(
            checkout, PaymentEventKind.COMPLETED, fields["complete_event_id"], fields, webhook_url
        )

    async def decline(self, checkout_id: str, webhook_url: str) -> SandboxDelivery:
        """The card is declined: post `payment_intent.payment_failed`; the checkout stays open."""
        checkout = await self.get_checkout(checkout_id)
        if checkout is None:
            raise CheckoutNotFound(f"no sandbox checkout {checkout_id}")
        if not checkout.is_open:
            raise CheckoutNotOpen(checkout_id, checkout.status)
        event_id = f"evt_sandbox_{secrets.token_hex(12)}"
        return await self._deliver(checkout, PaymentEventKind.FAILED, event_id, {}, webhook_url)

    async def abandon(self, checkout_id: str, webhook_url: str) -> SandboxDelivery:
        """The customer gives up: expire the checkout and post `checkout.session.expired`."""
        checkout, fields = await self._close(checkout_id, "expired")
        if checkout.status != "expired":
            raise CheckoutNotOpen(checkout_id, checkout.status)
        return await self._deliver(
            checkout, PaymentEventKind.EXPIRED, fields["expired_event_id"], fields, webhook_url
        )

    # -- internals -------------------------------------------------------------------------------

    async def _close(self, checkout_id: str, target: str) -> tuple[SandboxCheckout, dict[str, str]]:
        """Move an open checkout to `target` once, recording the id of the event that announces it.

        Returns the checkout afterwards and its raw fields; a checkout already closed is returned
        unchanged (a payment after the expiry time counts as closed, an expiry does not need it open).
        """
        key = _checkout_key(checkout_id)
        async with self._store.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    fields = cast(dict[str, str], await pipe.hgetall(key))
                    if not fields:
                        raise CheckoutNotFound(f"no sandbox checkout {checkout_id}")
                    lapsed = time.time() >= int(fields["expires_at"])
                    if fields["status"] != "open" or (target == "complete" and lapsed):
                        await pipe.unwatch()
                        return self._checkout(checkout_id, fields), fields
                    event_id, closed_at = f"evt_sandbox_{secrets.token_hex(12)}", str(int(time.time()))
                    changes: dict[Any, str] = {
                        "status": target,
                        f"{target}_event_id": event_id,
                        "closed_at": closed_at,
                    }
                    pipe.multi()
                    pipe.hset(key, mapping=changes)
                    await pipe.execute()
                    fields = {**fields, **changes}
                    return self._checkout(checkout_id, fields), fields
                except WatchError:
                    continue

    async def _deliver(
        self,
        checkout: SandboxCheckout,
        kind: PaymentEventKind,
        event_id: str,
        fields: Mapping[str, str],
        webhook_url: str,
    ) -> SandboxDelivery:
        created = int(fields["closed_at"]) if "closed_at" in fields else None
        body, headers = self.build_event(checkout, kind, event_id=event_id, created=created)
        timeout = aiohttp.ClientTimeout(total=DELIVERY_TIMEOUT_SECONDS)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(webhook_url, data=body, headers=headers) as response,
            ):
                await response.read()
                return SandboxDelivery(event_id=event_id, kind=kind, status=response.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ProviderUnavailable(f"webhook {webhook_url} not reachable: {exc!r}") from exc

    async def _checkout_id_of(self, payment_id_or_checkout_id: str) -> str:
        if payment_id_or_checkout_id.startswith("cs_"):
            return payment_id_or_checkout_id
        checkout_id = await self._store.get(f"{_PREFIX}:payment:{payment_id_or_checkout_id}")
        if checkout_id is None:
            raise CheckoutNotFound(f"no sandbox payment {payment_id_or_checkout_id}")
        return str(checkout_id)

    def _replayed_checkout(self, earlier: str, fingerprint: str) -> Checkout:
        checkout_id, _, earlier_fingerprint = earlier.partition(" ")
        if earlier_fingerprint != fingerprint:
            raise ProviderRejected("idempotency key reused with different parameters")
        return Checkout(checkout_id=checkout_id, url=self.checkout_url(checkout_id))

    def _checkout(self, checkout_id: str, fields: Mapping[str, str]) -> SandboxCheckout:
        expires_at = int(fields["expires_at"])
        status = fields["status"]
        if status == "open" and time.time() >= expires_at:
            status = "expired"
        return SandboxCheckout(
            checkout_id=checkout_id,
            url=self.checkout_url(checkout_id),
            booking_id=int(fields["booking_id"]),
            amount_minor=int(fields["amount"]),
            currency=fields["currency"],
            description=fields["description"],
            status=status,
            expires_at=datetime.fromtimestamp(expires_at, UTC),
            payment_id=fields["payment_id"],
            amount_refunded=int(fields["amount_refunded"]),
        )


def _checkout_key(checkout_id: str) -> str:
    return f"{_PREFIX}:checkout:{checkout_id}"


def _fingerprint(*parts: Any) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def _event_object(checkout: SandboxCheckout, kind: PaymentEventKind) -> dict[str, Any]:
    """The data.object Stripe would send for this outcome (the fields our parser and people read)."""
    metadata = {"booking_id": str(checkout.booking_id)}
    currency = checkout.currency.lower()
    if kind is PaymentEventKind.FAILED:
        return {
            "id": checkout.payment_id,
            "object": "payment_intent",
            "amount": checkout.amount_minor,
            "currency": currency,
            "status": "requires_payment_method",
            "metadata": metadata,
            "last_payment_error": {"code": "card_declined", "message": "Your card was declined."},
        }
    if kind is PaymentEventKind.REFUNDED:
        return {
            "id": checkout.payment_id.replace("pi_", "ch_", 1),
            "object": "charge",
            "amount": checkout.amount_minor,
            "amount_refunded": checkout.amount_refunded,
            "currency": currency,
            "payment_intent": checkout.payment_id,
            "refunded": checkout.amount_refunded >= checkout.amount_minor,
            "metadata": metadata,
        }
    completed = kind is PaymentEventKind.COMPLETED
    return {
        "id": checkout.checkout_id,
        "object": "checkout.session",
        "mode": "payment",
        "client_reference_id": str(checkout.booking_id),
        "metadata": metadata,
        "amount_total": checkout.amount_minor,
        "currency": currency,
        "payment_intent": checkout.payment_id if completed else None,
        "payment_status": "paid" if completed else "unpaid",
        "status": "complete" if completed else "expired",
        "expires_at": int(checkout.expires_at.timestamp()),
        "url": None if not checkout.is_open else checkout.url,
    }
