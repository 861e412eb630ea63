"""The sandbox payment provider on a real Redis, posting real webhooks over HTTP."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from adapters.payments_sandbox import SandboxPaymentProvider
from booking_core.payments.port import (
    CheckoutNotFound,
    CheckoutNotOpen,
    PaymentEventKind,
    ProviderRejected,
    ProviderUnavailable,
)
from roles.redis_server import RedisEndpoint
from tests.payments.conftest import PUBLIC_BASE_URL, WEBHOOK_SECRET, WebhookReceiver, checkout_request

pytestmark = pytest.mark.on_a_redis_cluster_too


async def test_a_checkout_is_stored_in_redis_for_any_process(
    sandbox_provider: SandboxPaymentProvider, redis_endpoint: RedisEndpoint
) -> None:
    request = checkout_request(booking_id=42, amount_minor=2400)

    checkout = await sandbox_provider.create_checkout(request)

    assert checkout.url == f"{PUBLIC_BASE_URL}/sandbox/pay/{checkout.checkout_id}"
    # Another process, with its own client and provider, serves the same checkout page.
    other_client = redis_endpoint.client()
    try:
        other = SandboxPaymentProvider(PUBLIC_BASE_URL, WEBHOOK_SECRET, other_client)
        seen = await other.get_checkout(checkout.checkout_id)
        raw = await other_client.hgetall(f"sandbox:{{payments}}:checkout:{checkout.checkout_id}")
    finally:
        await other_client.aclose()
    assert seen is not None
    assert (seen.booking_id, seen.amount_minor, seen.currency, seen.status) == (42, 2400, "EUR", "open")
    assert seen.description == request.description
    assert seen.expires_at == request.expires_at.replace(microsecond=0)
    assert raw["status"] == "open" and raw["booking_id"] == "42"


async def test_an_unknown_checkout_is_none(sandbox_provider: SandboxPaymentProvider) -> None:
    assert await sandbox_provider.get_checkout("cs_sandbox_nope") is None
    with pytest.raises(CheckoutNotFound):
        await sandbox_provider.expire_checkout("cs_sandbox_nope")


async def test_the_same_idempotency_key_returns_the_first_checkout_even_when_racing(
    sandbox_provider: SandboxPaymentProvider, redis: aioredis.Redis
) -> None:
    request = checkout_request(idempotency_key="booking-42-attempt-1")

    checkouts = await asyncio.gather(*(sandbox_provider.create_checkout(request) for _ in range(20)))

    assert len({c.checkout_id for c in checkouts}) == 1
    assert len([key async for key in redis.scan_iter("sandbox:{payments}:checkout:*")]) == 1


async def test_reusing_an_idempotency_key_for_another_request_is_refused(
    sandbox_provider: SandboxPaymentProvider,
) -> None:
    await sandbox_provider.create_checkout(checkout_request(amount_minor=2400, idempotency_key="k"))

    with pytest.raises(ProviderRejected, match="idempotency key"):
        await sandbox_provider.create_checkout(checkout_request(amount_minor=999, idempotency_key="k"))


@pytest.mark.parametrize(("amount", "currency"), [(0, "EUR"), (-5, "EUR"), (100, "EURO"), (100, "E1R")])
async def test_nonsense_checkouts_are_refused(
    sandbox_provider: SandboxPaymentProvider, amount: int, currency: str
) -> None:
    with pytest.raises(ProviderRejected):
        await sandbox_provider.create_checkout(checkout_request(amount_minor=amount, currency=currency))


async def test_paying_posts_a_signed_completed_event_that_parses(
    sandbox_provider: SandboxPaymentProvider, webhook_receiver: WebhookReceiver
) -> None:
    checkout = await sandbox_provider.create_checkout(checkout_request(booking_id=42, amount_minor=2400))

    delivery = await sandbox_provider.pay(checkout.checkout_id, webhook_receiver.url)

    assert delivery.status == 200 and delivery.kind is PaymentEventKind.COMPLETED
    body, headers = webhook_receiver.received[0]
    event = sandbox_provider.parse_webhook(body, headers)
    paid = await sandbox_provider.get_checkout(checkout.checkout_id)
    assert paid is not None and paid.status == "complete"
    assert event.event_id == delivery.event_id
    assert (event.provider, event.kind, event.event_type) == (
        "sandbox",
        "completed",
        "checkout.session.completed",
    )
    assert (event.checkout_id, event.booking_id, event.amount_minor, event.currency) == (
        checkout.checkout_id,
        42,
        2400,
        "EUR",
    )
    assert event.payment_id == paid.payment_id
    assert json.loads(body)["data"]["object"]["status"] == "complete"


async def test_paying_again_resends_the_same_event(
    sandbox_provider: SandboxPaymentProvider, webhook_receiver: WebhookReceiver
) -> None:
    # A lost webhook can be resent from the page; the receiver de-duplicates on the event id.
    checkout = await sandbox_provider.create_checkout(checkout_request())
    webhook_receiver.answer = 500
    first = await sandbox_provider.pay(checkout.checkout_id, webhook_receiver.url)
    webhook_receiver.answer = 200

    second = await sandbox_provider.pay(checkout.checkout_id, webhook_receiver.url)

    assert (first.status, second.status) == (500, 200)
    assert first.event_id == second.event_id
    bodies = [body for body, _ in webhook_receiver.received]
    assert bodies[0] == bodies[1]


async def test_concurrent_payments_complete_the_checkout_once(
    sandbox_provider: SandboxPaymentProvider, webhook_receiver: WebhookReceiver
) -> None:
    checkout = await sandbox_provider.create_checkout(checkout_request())

    deliveries = await asyncio.gather(
        *(sandbox_provider.pay(checkout.checkout_id, webhook_receiver.url) for _ in range(10))
    )

    assert len({d.event_id for d in deliveries}) == 1


async def test_an_unreachable_webhook_is_reported_and_the_payment_kept(
    sandbox_provider: SandboxPaymentProvider, webhook_receiver: WebhookReceiver
) -> None:
    checkout = await sandbox_provider.create_checkout(checkout_request())

    with pytest.raises(ProviderUnavailable):
        await sandbox_provider.pay(checkout.checkout_id, "http://127.0.0.1:9/webhooks/payments")

    paid = await sandbox_provider.get_checkout(checkout.checkout_id)
    assert paid is not None and paid.status == "complete"
    assert (await sandbox_provider.pay(checkout.checkout_id, webhook_receiver.url)).status == 200


async def test_an_expired_checkout_cannot_be_paid(
    sandbox_provider: SandboxPaymentProvider, webhook_receiver: WebhookReceiver
) -> None:
    checkout = await sandbox_provider.create_checkout(checkout_request())

    await sandbox_provider.expire_checkout(checkout.checkout_id)
    await sandbox_provider.expire_checkout(checkout.checkout_id)  # expiring twice is harmless

    with pytest.raises(CheckoutNotOpen) as refused:
        await sandbox_provider.pay(checkout.checkout_id, webhook_receiver.url)
    assert (refused.value.status, refused.value.code) == ("expired", "checkout_not_open")
    expired = await sandbox_provider.get_checkout(checkout.checkout_id)
    assert expired is not None and expired.status == "expired"
    assert webhook_receiver.received == []


async def test_a_checkout_past_its_expiry_time_cannot_be_paid_before_anyone_expires_it(
    sandbox_provider: SandboxPaymentProvider, webhook_receiver: WebhookReceiver
) -> None:
    checkout = await sandbox_provider.create_checkout(checkout_request(hold_seconds=-1))

    shown = await sandbox_provider.get_checkout(checkout.checkout_id)
    with pytest.raises(CheckoutNotOpen):
        await sandbox_provider.pay(checkout.checkout_id, webhook_receiver.url)
    assert shown is not None and shown.status == "expired" and not shown.is_open


async def test_a_paid_checkout_cannot_be_expired(
    sandbox_provider: SandboxPaymentProvider, webhook_receiver: WebhookReceiver
) -> None:
    checkout = await sandbox_provider.create_checkout(checkout_request())
    await sandbox_provider.pay(checkout.checkout_id, webhook_receiver.url)

    with pytest.raises(CheckoutNotOpen) as refused:
        await sandbox_provider.expire_checkout(checkout.checkout_id)

    assert refused.value.status == "complete"


async def test_a_declined_card_posts_a_failure_and_leaves_the_checkout_open(
    sandbox_provider: SandboxPaymentProvider, webhook_receiver: WebhookReceiver
) -> None:
    checkout = await sandbox_provider.create_checkout(checkout_request(booking_id=9))

    await sandbox_provider.decline(checkout.checkout_id, webhook_receiver.url)
    await sandbox_provider.decline(checkout.checkout_id, webhook_receiver.url)

    events = [sandbox_provider.parse_webhook(body, headers) for body, headers in webhook_receiver.received]
    assert [e.kind for e in events] == [PaymentEventKind.FAILED, PaymentEventKind.FAILED]
    assert events[0].event_id != events[1].event_id
    assert (events[0].booking_id, events[0].checkout_id, events[0].event_type) == (
        9,
        None,
        "payment_intent.payment_failed",
    )
    still = await sandbox_provider.get_checkout(checkout.checkout_id)
    assert still is not None and still.is_open
    assert events[0].payment_id == still.payment_id


async def test_abandoning_expires_the_checkout_and_says_so(
    sandbox_provider: SandboxPaymentProvider, webhook_receiver: WebhookReceiver
) -> None:
    checkout = await sandbox_provider.create_checkout(checkout_request(booking_id=9))

    await sandbox_provider.abandon(checkout.checkout_id, webhook_receiver.url)

    body, headers = webhook_receiver.received[0]
    event = sandbox_provider.parse_webhook(body, headers)
    assert (event.kind, event.booking_id, event.checkout_id) == ("expired", 9, checkout.checkout_id)
    with pytest.raises(CheckoutNotOpen):
        await sandbox_provider.decline(checkout.checkout_id, webhook_receiver.url)


async def test_refunds_are_recorded_idempotently_and_never_exceed_the_payment(
    sandbox_provider: SandboxPaymentProvider, webhook_receiver: WebhookReceiver
) -> None:
    checkout = await sandbox_provider.create_checkout(checkout_request(amount_minor=2400))
    with pytest.raises(ProviderRejected, match="not paid"):
        await sandbox_provider.refund(checkout.checkout_id, 2400, "refund-early")
    await sandbox_provider.pay(checkout.checkout_id, webhook_receiver.url)
    paid = await sandbox_provider.get_checkout(checkout.checkout_id)
    assert paid is not None

    first = await sandbox_provider.refund(checkout.checkout_id, 1000, "refund-1")
    replay = await sandbox_provider.refund(checkout.checkout_id, 1000, "refund-1")
    second = await sandbox_provider.refund(paid.payment_id, 1400, "refund-2")

    assert first == replay and first != second and first.startswith("re_")
    assert await sandbox_provider.refunds(checkout.checkout_id) == {first: 1000, second: 1400}
    with pytest.raises(ProviderRejected, match="exceeds"):
        await sandbox_provider.refund(checkout.checkout_id, 1, "refund-3")
    with pytest.raises(ProviderRejected, match="idempotency"):
        await sandbox_provider.refund(checkout.checkout_id, 5, "refund-1")
    with pytest.raises(CheckoutNotFound):
        await sandbox_provider.refund("pi_sandbox_nope", 5, "refund-4")


async def test_racing_refunds_cannot_refund_more_than_was_paid(
    sandbox_provider: SandboxPaymentProvider, webhook_receiver: WebhookReceiver
) -> None:
    checkout = await sandbox_provider.create_checkout(checkout_request(amount_minor=1000))
    await sandbox_provider.pay(checkout.checkout_id, webhook_receiver.url)

    outcomes = await asyncio.gather(
        *(sandbox_provider.refund(checkout.checkout_id, 400, f"refund-{n}") for n in range(8)),
        return_exceptions=True,
    )

    refunded = [o for o in outcomes if isinstance(o, str)]
    assert len(refunded) == 2
    assert all(isinstance(o, ProviderRejected) for o in outcomes if not isinstance(o, str))
    after = await sandbox_provider.get_checkout(checkout.checkout_id)
    assert after is not None and after.amount_refunded == 800


async def test_a_refund_event_describes_the_refund(
    sandbox_provider: SandboxPaymentProvider, webhook_receiver: WebhookReceiver
) -> None:
    checkout = await sandbox_provider.create_checkout(checkout_request(booking_id=5, amount_minor=2400))
    await sandbox_provider.pay(checkout.checkout_id, webhook_receiver.url)
    await sandbox_provider.refund(checkout.checkout_id, 2400, "refund-all")
    refunded = await sandbox_provider.get_checkout(checkout.checkout_id)
    assert refunded is not None

    body, headers = sandbox_provider.build_event(refunded, PaymentEventKind.REFUNDED)
    event = sandbox_provider.parse_webhook(body, headers)

    assert (event.kind, event.booking_id, event.amount_minor, event.payment_id) == (
        "refunded",
        5,
        2400,
        refunded.payment_id,
    )


async def test_the_checkout_keeps_the_expiry_given(sandbox_provider: SandboxPaymentProvider) -> None:
    expires_at = datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
    request = checkout_request()
    checkout = await sandbox_provider.create_checkout(
        type(request)(**{**request.__dict__, "expires_at": expires_at})
    )

    stored = await sandbox_provider.get_checkout(checkout.checkout_id)

    assert stored is not None and stored.expires_at == expires_at
    assert stored.expires_at - datetime.now(UTC) > timedelta(days=365)
