"""The Stripe adapter end to end: the official library over real HTTP against the local stand-in."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
import stripe

from adapters.payments.stripe_provider import SESSION_BACKSTOP, StripePaymentProvider
from booking_core.payments.port import (
    CheckoutNotFound,
    CheckoutNotOpen,
    PaymentEvent,
    PaymentEventKind,
    ProviderRejected,
    ProviderUnavailable,
    UnsupportedEvent,
    WebhookRejected,
)
from tests.payments import signing
from tests.payments.conftest import (
    PUBLIC_BASE_URL,
    WEBHOOK_SECRET,
    StripeStandIn,
    WebhookReceiver,
    checkout_request,
)


async def customer_action(
    standin: StripeStandIn, checkout_id: str, action: str
) -> tuple[bytes, dict[str, str]]:
    """Pay ("complete") or decline ("fail") on the stand-in's hosted page; returns the signed event."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{standin.base_url}/sandbox/stripe/sessions/{checkout_id}/{action}") as response,
    ):
        assert response.status == 200, await response.text()
        return await response.read(), dict(response.headers)


def parsed(provider: StripePaymentProvider, body: bytes, signature: str) -> PaymentEvent:
    """The event as the webhook handler would get it."""
    return provider.parse_webhook(body, {"Stripe-Signature": signature})


@pytest.fixture
async def retrying_provider(stripe_standin: StripeStandIn) -> AsyncIterator[StripePaymentProvider]:
    """The adapter with the library's own retries on."""
    provider = StripePaymentProvider(
        stripe_standin.state.api_key,
        WEBHOOK_SECRET,
        stripe_standin.base_url,
        PUBLIC_BASE_URL,
        max_network_retries=2,
    )
    yield provider
    await provider.aclose()


async def test_a_checkout_session_carries_the_booking(
    stripe_provider: StripePaymentProvider, stripe_standin: StripeStandIn
) -> None:
    request = checkout_request(booking_id=42, amount_minor=2400, currency="EUR")

    checkout = await stripe_provider.create_checkout(request)

    session = stripe_standin.state.sessions[checkout.checkout_id]
    assert checkout.checkout_id.startswith("cs_test_") and checkout.url == session["url"]
    assert (session["metadata"], session["amount_total"], session["currency"], session["mode"]) == (
        {"booking_id": "42"},
        2400,
        "eur",
        "payment",
    )
    assert session["success_url"].startswith(f"{PUBLIC_BASE_URL}/checkout/success")
    sent = stripe_standin.state.requests[-1]
    assert sent.idempotency_key == request.idempotency_key
    assert sent.stripe_version == stripe.api_version
    assert sent.params["line_items"][0]["price_data"]["product_data"]["name"] == request.description
    assert sent.params["payment_intent_data"]["metadata"] == {"booking_id": "42"}
    # A five-minute hold is shorter than Stripe allows a session: its expiry is only a backstop.
    assert session["expires_at"] == int((request.expires_at + SESSION_BACKSTOP).timestamp())


async def test_stripe_refuses_a_session_as_short_as_the_hold(stripe_standin: StripeStandIn) -> None:
    # The control for the backstop above: passing the hold's own expiry would fail every checkout.
    http = stripe.HTTPXClient()
    client = stripe.StripeClient(
        stripe_standin.state.api_key,
        base_addresses={"api": stripe_standin.base_url},
        max_network_retries=0,
        http_client=http,
    )
    params: stripe.params.checkout.SessionCreateParams = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {"currency": "eur", "unit_amount": 100, "product_data": {"name": "x"}},
            }
        ],
        "expires_at": int((datetime.now(UTC) + timedelta(minutes=5)).timestamp()),
    }

    try:
        with pytest.raises(stripe.InvalidRequestError, match="30 minutes"):
            await client.v1.checkout.sessions.create_async(params)
    finally:
        await http.close_async()


async def test_replaying_the_idempotency_key_returns_the_same_session(
    stripe_provider: StripePaymentProvider, stripe_standin: StripeStandIn
) -> None:
    request = checkout_request(idempotency_key="booking-42-attempt-1")

    first = await stripe_provider.create_checkout(request)
    again = await stripe_provider.create_checkout(request)

    assert first == again
    assert len(stripe_standin.state.sessions) == 1
    with pytest.raises(ProviderRejected, match="IdempotencyError"):
        await stripe_provider.create_checkout(replace(request, amount_minor=1))


async def test_a_paid_session_sends_a_completed_event_the_adapter_verifies(
    stripe_provider: StripePaymentProvider, stripe_standin: StripeStandIn
) -> None:
    checkout = await stripe_provider.create_checkout(checkout_request(booking_id=42, amount_minor=2400))

    body, headers = await customer_action(stripe_standin, checkout.checkout_id, "complete")
    event = stripe_provider.parse_webhook(body, headers)

    session = stripe_standin.state.sessions[checkout.checkout_id]
    assert (event.provider, event.kind, event.event_type) == (
        "stripe",
        "completed",
        "checkout.session.completed",
    )
    assert (event.checkout_id, event.booking_id, event.amount_minor, event.currency) == (
        checkout.checkout_id,
        42,
        2400,
        "EUR",
    )
    assert event.payment_id == session["payment_intent"]
    assert str(event.payment_id).startswith("pi_")
    assert event.event_id == json.loads(body)["id"] and event.raw == body


async def test_a_declined_card_sends_a_failed_event_naming_the_booking(
    stripe_provider: StripePaymentProvider, stripe_standin: StripeStandIn
) -> None:
    checkout = await stripe_provider.create_checkout(checkout_request(booking_id=8))

    body, headers = await customer_action(stripe_standin, checkout.checkout_id, "fail")
    event = stripe_provider.parse_webhook(body, headers)

    assert (event.kind, event.booking_id, event.checkout_id) == (PaymentEventKind.FAILED, 8, None)
    assert event.payment_id is not None and event.payment_id.startswith("pi_")


async def test_expiring_an_open_session_closes_it_and_is_announced(
    stripe_provider: StripePaymentProvider, stripe_standin: StripeStandIn
) -> None:
    checkout = await stripe_provider.create_checkout(checkout_request(booking_id=3))

    await stripe_provider.expire_checkout(checkout.checkout_id)
    await stripe_provider.expire_checkout(checkout.checkout_id)  # expiring twice is harmless

    assert stripe_standin.state.sessions[checkout.checkout_id]["status"] == "expired"
    [announced] = stripe_standin.state.events_of("checkout.session.expired")
    event = parsed(stripe_provider, announced.body, announced.signature)
    assert (event.kind, event.booking_id, event.checkout_id) == ("expired", 3, checkout.checkout_id)


async def test_a_paid_session_cannot_be_expired(
    stripe_provider: StripePaymentProvider, stripe_standin: StripeStandIn
) -> None:
    checkout = await stripe_provider.create_checkout(checkout_request())
    await customer_action(stripe_standin, checkout.checkout_id, "complete")

    with pytest.raises(CheckoutNotOpen) as refused:
        await stripe_provider.expire_checkout(checkout.checkout_id)

    assert refused.value.status == "complete"


async def test_an_unknown_session_is_not_found(stripe_provider: StripePaymentProvider) -> None:
    with pytest.raises(CheckoutNotFound):
        await stripe_provider.expire_checkout("cs_test_nope")
    with pytest.raises(CheckoutNotFound):
        await stripe_provider.refund("pi_nope", 100, "refund-x")


async def test_refunds_go_through_the_payment_intent_idempotently(
    stripe_provider: StripePaymentProvider, stripe_standin: StripeStandIn
) -> None:
    checkout = await stripe_provider.create_checkout(checkout_request(booking_id=6, amount_minor=2400))
    with pytest.raises(ProviderRejected, match="no payment"):
        await stripe_provider.refund(checkout.checkout_id, 2400, "refund-early")
    await customer_action(stripe_standin, checkout.checkout_id, "complete")
    payment_id = stripe_standin.state.sessions[checkout.checkout_id]["payment_intent"]

    first = await stripe_provider.refund(checkout.checkout_id, 1000, "refund-1")
    replay = await stripe_provider.refund(checkout.checkout_id, 1000, "refund-1")
    second = await stripe_provider.refund(payment_id, 1400, "refund-2")

    assert first == replay != second
    refunds = stripe_standin.state.refunds
    assert len(refunds) == 2 and {r["payment_intent"] for r in refunds.values()} == {payment_id}
    with pytest.raises(ProviderRejected, match="greater than"):
        await stripe_provider.refund(payment_id, 1, "refund-3")
    last = stripe_standin.state.events_of("charge.refunded")[-1]
    event = parsed(stripe_provider, last.body, last.signature)
    assert (event.kind, event.booking_id, event.payment_id, event.amount_minor) == (
        "refunded",
        6,
        payment_id,
        2400,
    )


async def test_bad_input_is_a_permanent_rejection(stripe_provider: StripePaymentProvider) -> None:
    with pytest.raises(ProviderRejected, match="InvalidRequestError"):
        await stripe_provider.create_checkout(checkout_request(currency="EURO"))


async def test_a_wrong_api_key_is_a_permanent_rejection(stripe_standin: StripeStandIn) -> None:
    provider = StripePaymentProvider(
        "sk_test_wrong", WEBHOOK_SECRET, stripe_standin.base_url, PUBLIC_BASE_URL
    )
    try:
        with pytest.raises(ProviderRejected, match="AuthenticationError"):
            await provider.create_checkout(checkout_request())
    finally:
        await provider.aclose()


@pytest.mark.parametrize("status", [500, 503, 429, 409])
async def test_server_errors_and_throttling_are_retryable(
    stripe_provider: StripePaymentProvider, stripe_standin: StripeStandIn, status: int
) -> None:
    stripe_standin.state.fail_next(status)

    with pytest.raises(ProviderUnavailable) as unavailable:
        await stripe_provider.create_checkout(checkout_request())

    assert unavailable.value.code == "provider_unavailable"
    assert stripe_standin.state.sessions == {}


async def test_an_unreachable_api_is_retryable() -> None:
    provider = StripePaymentProvider(
        "sk_test_x", WEBHOOK_SECRET, "http://127.0.0.1:9", PUBLIC_BASE_URL, max_network_retries=0
    )
    try:
        with pytest.raises(ProviderUnavailable, match="APIConnectionError"):
            await provider.create_checkout(checkout_request())
    finally:
        await provider.aclose()


async def test_the_library_retries_a_passing_outage_under_the_same_idempotency_key(
    retrying_provider: StripePaymentProvider, stripe_standin: StripeStandIn
) -> None:
    stripe_standin.state.fail_next(503)

    checkout = await retrying_provider.create_checkout(checkout_request(idempotency_key="k-outage"))

    assert list(stripe_standin.state.sessions) == [checkout.checkout_id]
    assert [r.idempotency_key for r in stripe_standin.state.requests] == ["k-outage", "k-outage"]
    assert stripe_standin.state.failures == []


async def test_an_event_type_we_do_not_handle_is_unsupported_not_rejected(
    stripe_provider: StripePaymentProvider,
) -> None:
    body = json.dumps(
        {
            "id": "evt_c",
            "object": "event",
            "type": "customer.created",
            "data": {"object": {"id": "cus_1", "object": "customer"}},
        }
    )
    signature = stripe.WebhookSignature.generate_signature_header(body, WEBHOOK_SECRET)

    with pytest.raises(UnsupportedEvent) as unsupported:
        parsed(stripe_provider, body.encode(), signature)

    assert (unsupported.value.event_id, unsupported.value.event_type) == ("evt_c", "customer.created")


async def test_an_unpaid_completion_waits_for_the_async_payment(
    stripe_provider: StripePaymentProvider,
) -> None:
    # Delayed payment methods complete the session unpaid; only async_payment_succeeded means money.
    session = {
        "id": "cs_1",
        "object": "checkout.session",
        "payment_status": "unpaid",
        "metadata": {"booking_id": "4"},
    }
    for event_type, outcome in [
        ("checkout.session.completed", None),
        ("checkout.session.async_payment_succeeded", PaymentEventKind.COMPLETED),
        ("checkout.session.async_payment_failed", PaymentEventKind.FAILED),
    ]:
        body = json.dumps({"id": "evt_a", "object": "event", "type": event_type, "data": {"object": session}})
        signature = signing.sign(body.encode(), WEBHOOK_SECRET)
        if outcome is None:
            with pytest.raises(UnsupportedEvent):
                parsed(stripe_provider, body.encode(), signature)
        else:
            assert parsed(stripe_provider, body.encode(), signature).kind is outcome


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": "evt_1", "type": "checkout.session.completed"',  # truncated JSON
        b'{"object": "event", "type": "checkout.session.completed", "data": {"object": {}}}',  # no id
        b'{"id": "evt_1", "object": "event", "type": "checkout.session.completed"}',  # no data.object
        # a refund event carrying a session instead of a charge
        b'{"id": "evt_1", "object": "event", "type": "charge.refunded", '
        b'"data": {"object": {"id": "cs_1", "object": "checkout.session"}}}',
    ],
)
async def test_a_malformed_but_signed_body_is_rejected(
    stripe_provider: StripePaymentProvider, body: bytes
) -> None:
    with pytest.raises(WebhookRejected) as rejected:
        parsed(
            stripe_provider,
            body,
            stripe.WebhookSignature.generate_signature_header(body.decode(), WEBHOOK_SECRET),
        )

    assert rejected.value.reason == "malformed_body"


async def test_the_stand_in_delivers_events_to_a_webhook_url(
    stripe_provider: StripePaymentProvider, stripe_standin: StripeStandIn, webhook_receiver: WebhookReceiver
) -> None:
    stripe_standin.state.webhook_url = webhook_receiver.url
    checkout = await stripe_provider.create_checkout(checkout_request(booking_id=11))

    await customer_action(stripe_standin, checkout.checkout_id, "complete")
    await stripe_standin.state.deliveries_done()

    [(body, headers)] = webhook_receiver.received
    assert stripe_provider.parse_webhook(body, headers).booking_id == 11
    assert stripe_standin.state.events[-1].delivery_status == 200
