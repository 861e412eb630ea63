"""Fixtures for the payment provider: the Stripe stand-in, the Stripe adapter, a webhook receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web

from adapters.payments.stripe_provider import StripePaymentProvider
from booking_core.payments.port import CheckoutRequest
from sandbox.stripe_api import StripeSandboxState, start_stripe_sandbox

WEBHOOK_SECRET = "whsec_test_payments"
PUBLIC_BASE_URL = "http://127.0.0.1:8080"


def checkout_request(
    booking_id: int = 42,
    amount_minor: int = 2400,
    currency: str = "EUR",
    hold_seconds: int = 300,
    idempotency_key: str | None = None,
) -> CheckoutRequest:
    """A request for two 12.00 EUR seats whose hold lapses in `hold_seconds`."""
    return CheckoutRequest(
        booking_id=booking_id,
        amount_minor=amount_minor,
        currency=currency,
        description="2 seats: Metropolis, Hall 1, 20:00",
        expires_at=datetime.now(UTC) + timedelta(seconds=hold_seconds),
        idempotency_key=idempotency_key or f"booking-{booking_id}-checkout",
    )


@dataclass
class StripeStandIn:
    """The running stand-in: its base URL and its state."""

    base_url: str
    state: StripeSandboxState


@dataclass
class WebhookReceiver:
    """A local endpoint that keeps every webhook it is sent and answers `answer`."""

    url: str
    received: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    answer: int = 200


@pytest.fixture
async def stripe_standin() -> AsyncIterator[StripeStandIn]:
    """The Stripe stand-in on a free local port, signing events with WEBHOOK_SECRET."""
    runner, base_url, state = await start_stripe_sandbox(webhook_secret=WEBHOOK_SECRET)
    yield StripeStandIn(base_url=base_url, state=state)
    await runner.cleanup()


@pytest.fixture
async def stripe_provider(stripe_standin: StripeStandIn) -> AsyncIterator[StripePaymentProvider]:
    """The Stripe adapter talking to the stand-in over real HTTP (no retries: errors show at once)."""
    provider = StripePaymentProvider(
        stripe_standin.state.api_key,
        WEBHOOK_SECRET,
        stripe_standin.base_url,
        PUBLIC_BASE_URL,
        max_network_retries=0,
    )
    yield provider
    await provider.aclose()


@pytest.fixture
async def webhook_receiver() -> AsyncIterator[WebhookReceiver]:
    """An HTTP endpoint standing in for our webhooks/ server."""
    receiver = WebhookReceiver(url="")

    async def receive(request: web.Request) -> web.Response:
        receiver.received.append((await request.read(), dict(request.headers)))
        return web.Response(status=receiver.answer)

    app = web.Application()
    app.router.add_post("/webhooks/payments/stripe", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    receiver.url = f"http://127.0.0.1:{runner.addresses[0][1]}/webhooks/payments/stripe"
    yield receiver
    await runner.cleanup()
