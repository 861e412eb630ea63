"""The Stripe stand-in's hosted checkout page, as a person uses it: sessions opened by the Stripe adapter.

Each press posts the signed webhook Stripe would, to a real HTTP endpoint; the adapter's own
parse_webhook reads what arrives.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from adapters.payments.stripe_provider import StripePaymentProvider
from booking_core.payments.port import Checkout, PaymentEventKind
from tests.payments.conftest import WEBHOOK_SECRET, StripeStandIn, WebhookReceiver, checkout_request


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """The customer's browser."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def checkout(
    stripe_standin: StripeStandIn, stripe_provider: StripePaymentProvider, webhook_receiver: WebhookReceiver
) -> Checkout:
    """An open session for booking 42 (24.00 EUR), its events posted to the receiver."""
    stripe_standin.state.webhook_url = webhook_receiver.url
    return await stripe_provider.create_checkout(checkout_request(booking_id=42, amount_minor=2400))


async def press(http: aiohttp.ClientSession, checkout: Checkout, action: str) -> tuple[int, str]:
    """Press a button of the hosted page (a form post to the page's own address)."""
    async with http.post(checkout.url, data={"action": action}) as answer:
        return answer.status, await answer.text()


async def open_page(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    """GET a page: its status and HTML."""
    async with http.get(url) as answer:
        return answer.status, await answer.text()


def received_types(receiver: WebhookReceiver) -> list[str]:
    """The event types the receiver was posted, in order."""
    return [json.loads(body)["type"] for body, _headers in receiver.received]


async def test_the_page_shows_what_is_paid_for_and_the_way_back(
    http: aiohttp.ClientSession, checkout: Checkout, stripe_provider: StripePaymentProvider
) -> None:
    status, page = await open_page(http, checkout.url)

    assert status == 200
    for shown in (
        "Metropolis, Hall 1",
        "24.00 EUR",
        ">Pay 24.00 EUR<",
        "Use a declined card",
        "<style>",
    ):
        assert shown in page, shown
    # The back link is the session's cancel_url, {CHECKOUT_SESSION_ID} filled in as Stripe does
    cancel = stripe_provider.cancel_url.replace("{CHECKOUT_SESSION_ID}", checkout.checkout_id)
    assert f'href="{cancel}"' in page
    # ... and nothing else is loaded from elsewhere
    assert "http" not in page.split("<body>")[1].replace(cancel, "")


async def test_pressing_pay_posts_the_completed_event_and_says_so(
    http: aiohttp.ClientSession,
    checkout: Checkout,
    stripe_provider: StripePaymentProvider,
    webhook_receiver: WebhookReceiver,
) -> None:
    # When the customer presses Pay
    status, page = await press(http, checkout, "pay")
    # Then the page answers once Marquee took the webhook, and leads back to the success_url
    assert status == 200 and "Payment complete" in page and "return to Telegram" in page
    success = stripe_provider.success_url.replace("{CHECKOUT_SESSION_ID}", checkout.checkout_id)
    assert f'href="{success}"' in page
    # And the adapter reads the signed event as this booking's payment
    ((body, headers),) = webhook_receiver.received
    event = stripe_provider.parse_webhook(body, headers)
    assert (event.kind, event.booking_id, event.checkout_id) == (
        PaymentEventKind.COMPLETED,
        42,
        checkout.checkout_id,
    )
    assert (event.amount_minor, event.currency) == (2400, "EUR")
    # And the page now says it is paid, with no Pay button left
    status, page = await open_page(http, checkout.url)
    assert "Paid" in page and ">Pay 24.00 EUR<" not in page


async def test_a_notice_marquee_refused_can_be_sent_again_with_the_same_event_id(
    http: aiohttp.ClientSession, checkout: Checkout, webhook_receiver: WebhookReceiver
) -> None:
    # Given Marquee answering 503 (its database down)
    webhook_receiver.answer = 503
    status, page = await press(http, checkout, "pay")
    # Then the page says the notice was not taken, and offers to send it again
    assert status == 200 and "did not accept the notice" in page and "HTTP 503" in page
    assert "Send the payment notice again" in page
    # When Marquee is back and the customer sends it again
    webhook_receiver.answer = 200
    status, page = await press(http, checkout, "resend")
    # Then it is taken: the same event, by id, as Stripe's retries are
    assert status == 200 and "Payment complete" in page
    first, second = (json.loads(body)["id"] for body, _headers in webhook_receiver.received)
    assert first == second


async def test_an_unreachable_marquee_is_reported_and_the_payment_kept(
    http: aiohttp.ClientSession, checkout: Checkout, stripe_standin: StripeStandIn
) -> None:
    stripe_standin.state.webhook_url = "http://127.0.0.1:9/unreachable"

    status, page = await press(http, checkout, "pay")

    assert status == 200 and "did not reach Marquee" in page
    assert stripe_standin.state.sessions[checkout.checkout_id]["status"] == "complete"


async def test_a_declined_card_posts_the_failure_and_leaves_the_session_payable(
    http: aiohttp.ClientSession,
    checkout: Checkout,
    stripe_provider: StripePaymentProvider,
    webhook_receiver: WebhookReceiver,
) -> None:
    status, page = await press(http, checkout, "decline")

    assert status == 200 and "Card declined" in page
    ((body, headers),) = webhook_receiver.received
    event = stripe_provider.parse_webhook(body, headers)
    assert (event.kind, event.booking_id) == (PaymentEventKind.FAILED, 42)
    status, page = await open_page(http, checkout.url)
    assert ">Pay 24.00 EUR<" in page


async def test_an_expired_session_cannot_be_paid_from_its_page(
    http: aiohttp.ClientSession,
    checkout: Checkout,
    stripe_provider: StripePaymentProvider,
    webhook_receiver: WebhookReceiver,
) -> None:
    # Given Marquee expired the session (its hold lapsed)
    await stripe_provider.expire_checkout(checkout.checkout_id)
    # When the customer presses Pay on a page still open in their browser
    status, page = await press(http, checkout, "pay")
    # Then nothing is charged and no completion is sent
    assert status == 409 and "This checkout is expired" in page and "Nothing changed" in page
    assert received_types(webhook_receiver) == ["checkout.session.expired"]
    status, page = await open_page(http, checkout.url)
    assert "This checkout has expired" in page and ">Pay 24.00 EUR<" not in page


async def test_presses_racing_on_one_session_pay_it_once(
    http: aiohttp.ClientSession, checkout: Checkout, webhook_receiver: WebhookReceiver
) -> None:
    answers = await asyncio.gather(*(press(http, checkout, "pay") for _ in range(5)))

    assert sorted(status for status, _page in answers) == [200, 409, 409, 409, 409]
    assert received_types(webhook_receiver) == ["checkout.session.completed"]


async def test_an_unknown_session_or_action_changes_nothing(
    http: aiohttp.ClientSession, checkout: Checkout, stripe_standin: StripeStandIn
) -> None:
    status, page = await open_page(http, checkout.url.replace(checkout.checkout_id, "cs_test_nope"))
    assert status == 404 and "No such checkout" in page
    status, page = await press(http, checkout, "refund-me")
    assert status == 400 and "Unknown action" in page
    assert stripe_standin.state.sessions[checkout.checkout_id]["status"] == "open"
    assert stripe_standin.state.events == []


async def test_without_a_webhook_url_events_go_to_the_marquee_that_opened_the_session(
    http: aiohttp.ClientSession, stripe_standin: StripeStandIn, webhook_receiver: WebhookReceiver
) -> None:
    # Given a Marquee whose PUBLIC_BASE_URL is the receiver's address, and no webhook_url set
    public_base_url = webhook_receiver.url.removesuffix("/webhooks/payments/stripe")
    provider = StripePaymentProvider(
        stripe_standin.state.api_key, WEBHOOK_SECRET, stripe_standin.base_url, public_base_url
    )
    try:
        checkout = await provider.create_checkout(checkout_request(booking_id=43))
        # When the customer pays
        status, _page = await press(http, checkout, "pay")
    finally:
        await provider.aclose()
    # Then the event went to that Marquee's Stripe webhook endpoint
    assert status == 200
    assert received_types(webhook_receiver) == ["checkout.session.completed"]
