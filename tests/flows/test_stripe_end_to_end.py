"""The Stripe path end to end: the official stripe library against the local Stripe stand-in.

The checkout is created by StripePaymentProvider (stripe's own client, over HTTP); the stand-in signs
its events with stripe's own WebhookSignature and posts them to our webhook endpoint; a real worker
settles them, expires sessions and refunds through the same client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from booking_core.holds.store import Hold
from booking_core.models import BookingStatus, utc_now
from sandbox.stripe_api import StripeSandboxState, start_stripe_sandbox
from tests.flows.harness import (
    BrokerPlan,
    Flow,
    FlowOpener,
    outcomes,
    periodic_context,
    settled,
    wait_until,
)
from workers.periodic import sweep_once

pytestmark = pytest.mark.timeout(90)

STRIPE_WEBHOOK_SECRET = "whsec_flows_stripe"
SEATS = 2
PRICE = 2400


@pytest.fixture
async def stripe_state() -> AsyncIterator[StripeSandboxState]:
    """The Stripe stand-in on a free local port."""
    runner, _base_url, state = await start_stripe_sandbox(webhook_secret=STRIPE_WEBHOOK_SECRET)
    yield state
    await runner.cleanup()


@pytest.fixture
async def flow(
    open_test_flow: FlowOpener, redis_broker: BrokerPlan, stripe_state: StripeSandboxState
) -> AsyncIterator[Flow]:
    """Marquee configured for Stripe (PAYMENT_PROVIDER=stripe), with a worker; the stand-in posts to us."""
    async with open_test_flow(
        redis_broker,
        PAYMENT_PROVIDER="stripe",
        STRIPE_API_KEY=stripe_state.api_key,
        STRIPE_WEBHOOK_SECRET=STRIPE_WEBHOOK_SECRET,
        STRIPE_API_BASE=stripe_state.base_url,
    ) as flow:
        stripe_state.webhook_url = f"{flow.base_url}/webhooks/payments/stripe"
        yield flow


async def pay_on_stripe(flow: Flow, state: StripeSandboxState, checkout_id: str) -> None:
    """The customer pays on Stripe's hosted page (the stand-in's test control)."""
    async with flow.http.post(f"{state.base_url}/sandbox/stripe/sessions/{checkout_id}/complete") as response:
        assert response.status == 200, await response.text()
    await state.deliveries_done()


async def test_a_stripe_payment_confirms_the_booking(flow: Flow, stripe_state: StripeSandboxState) -> None:
    # Given a booking whose checkout was opened through stripe's own client
    booked = await flow.book(4001, flow.show.seat_ids[:SEATS])
    session = stripe_state.sessions[booked.checkout_id]
    assert (session["amount_total"], session["currency"], session["status"]) == (PRICE, "eur", "open")
    (create,) = [r for r in stripe_state.requests if r.path == "/v1/checkout/sessions"]
    assert create.idempotency_key == f"marquee-checkout-{booked.booking_id}"
    # When the customer pays on Stripe
    await pay_on_stripe(flow, stripe_state, booked.checkout_id)
    # Then Stripe's signed event was accepted by our endpoint and a worker confirmed the booking
    (completed,) = stripe_state.events_of("checkout.session.completed")
    assert completed.delivery_status == 200
    await settled(flow, booked.booking_id, BookingStatus.CONFIRMED)
    assert await outcomes(flow) == ["confirmed"]
    (payment,) = await flow.payments(booked.booking_id)
    assert (payment.provider, payment.status) == ("stripe", "paid")
    assert payment.provider_payment_id == stripe_state.sessions[booked.checkout_id]["payment_intent"]


async def test_a_lapsed_hold_expires_the_stripe_session(flow: Flow, stripe_state: StripeSandboxState) -> None:
    # Given a booking whose hold lapsed while its Stripe session is open
    booked = await flow.book_lapsed(4101, flow.show.seat_ids[:SEATS])
    # When the sweeper runs
    async with periodic_context(flow) as ctx:
        report = await sweep_once(ctx, flow.jobs, now=utc_now() + timedelta(seconds=31))
    assert report.checkouts_to_expire == 1

    # Then a worker expires the session through Stripe's expire call
    async def session_expired() -> bool:
        return bool(stripe_state.sessions[booked.checkout_id]["status"] == "expired")

    await wait_until(session_expired, what="the Stripe session expired")
    # And Stripe's checkout.session.expired event comes back and is settled
    await stripe_state.deliveries_done()
    (expired,) = stripe_state.events_of("checkout.session.expired")
    assert expired.delivery_status == 200

    async def settled_expiry() -> bool:
        return await outcomes(flow) == ["expired"]

    await wait_until(settled_expiry, what="the expiry event settled")
    assert (await flow.booking(booked.booking_id)).status == BookingStatus.EXPIRED
    assert [payment.status for payment in await flow.payments(booked.booking_id)] == ["expired"]
    # So the customer can no longer pay
    async with flow.http.post(
        f"{stripe_state.base_url}/sandbox/stripe/sessions/{booked.checkout_id}/complete"
    ) as response:
        assert response.status == 400


async def test_a_late_stripe_payment_for_taken_seats_is_refunded_through_stripe(
    flow: Flow, stripe_state: StripeSandboxState
) -> None:
    seats = flow.show.seat_ids[:SEATS]
    # Given a booking whose hold lapsed, and someone else holding its seats since
    booked = await flow.book_lapsed(4201, seats)
    await flow.core.holds.sweep()
    assert isinstance(await flow.core.holds.hold(flow.show.show_id, 4202, seats), Hold)
    # When the customer pays on Stripe anyway
    await pay_on_stripe(flow, stripe_state, booked.checkout_id)
    # Then the money goes back through Stripe's Refund API, and Stripe's charge.refunded is settled too
    await settled(flow, booked.booking_id, BookingStatus.REFUNDED)
    (refund,) = stripe_state.refunds.values()
    intent = stripe_state.sessions[booked.checkout_id]["payment_intent"]
    assert (refund["payment_intent"], refund["amount"]) == (intent, PRICE)
    (refund_request,) = [r for r in stripe_state.requests if r.path == "/v1/refunds"]
    assert refund_request.idempotency_key is not None
    assert refund_request.idempotency_key.startswith("marquee-refund-")

    async def both_settled() -> bool:
        return sorted(str(o) for o in await outcomes(flow)) == ["refund_pending", "refunded"]

    await wait_until(both_settled, what="the payment and Stripe's refund event settled")
    (payment,) = await flow.payments(booked.booking_id)
    assert (payment.status, payment.refund_id) == ("refunded", refund["id"])
    assert await flow.sale_counts(booked.booking_id) == {"seats": 0, "tickets": 0, "notifications": 0}
