"""The sandbox speaks Stripe: its events parse like Stripe's own, through either provider.

So the webhook handler and the worker run one code path, and what passes in the sandbox passes
against Stripe.
"""

from __future__ import annotations

from dataclasses import replace

import aiohttp
import pytest
import stripe

from adapters.payments.stripe_provider import StripePaymentProvider
from adapters.payments_sandbox import SandboxPaymentProvider
from booking_core.payments.port import PaymentEvent, PaymentEventKind
from tests.payments.conftest import StripeStandIn, WebhookReceiver, checkout_request


def comparable(event: PaymentEvent) -> tuple[object, ...]:
    """What the core acts on, leaving out ids that each provider makes up."""
    return (event.kind, event.event_type, event.booking_id, event.amount_minor, event.currency)


@pytest.mark.parametrize("kind", list(PaymentEventKind))
async def test_a_sandbox_event_parses_the_same_through_both_providers(
    sandbox_provider: SandboxPaymentProvider,
    stripe_provider: StripePaymentProvider,
    webhook_receiver: WebhookReceiver,
    kind: PaymentEventKind,
) -> None:
    created = await sandbox_provider.create_checkout(checkout_request(booking_id=21, amount_minor=1800))
    checkout = await sandbox_provider.get_checkout(created.checkout_id)
    assert checkout is not None
    # Re-signed by stripe's own library: the sandbox provider must accept what Stripe would send.
    body, _ = sandbox_provider.build_event(checkout, kind)
    signature = stripe.WebhookSignature.generate_signature_header(body.decode(), "whsec_test_payments")

    by_sandbox = sandbox_provider.parse_webhook(body, {"Stripe-Signature": signature})
    by_stripe = stripe_provider.parse_webhook(body, {"Stripe-Signature": signature})

    assert by_sandbox.provider == "sandbox" and by_stripe.provider == "stripe"
    assert replace(by_sandbox, provider="stripe") == by_stripe
    assert by_sandbox.booking_id == 21 and by_sandbox.kind is kind


async def test_a_sandbox_payment_reads_like_a_stripe_payment_of_the_same_booking(
    sandbox_provider: SandboxPaymentProvider,
    stripe_provider: StripePaymentProvider,
    stripe_standin: StripeStandIn,
    webhook_receiver: WebhookReceiver,
) -> None:
    request = checkout_request(booking_id=21, amount_minor=1800, currency="GBP")
    in_sandbox = await sandbox_provider.create_checkout(request)
    at_stripe = await stripe_provider.create_checkout(request)

    await sandbox_provider.pay(in_sandbox.checkout_id, webhook_receiver.url)
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{stripe_standin.base_url}/sandbox/stripe/sessions/{at_stripe.checkout_id}/complete"
        ) as answer,
    ):
        stripe_body, stripe_headers = await answer.read(), dict(answer.headers)
    sandbox_body, sandbox_headers = webhook_receiver.received[0]

    from_sandbox = sandbox_provider.parse_webhook(sandbox_body, sandbox_headers)
    from_stripe = stripe_provider.parse_webhook(stripe_body, stripe_headers)

    assert comparable(from_sandbox) == comparable(from_stripe)
    assert comparable(from_stripe) == (
        PaymentEventKind.COMPLETED,
        "checkout.session.completed",
        21,
        1800,
        "GBP",
    )
    assert (
        from_sandbox.checkout_id == in_sandbox.checkout_id
        and from_stripe.checkout_id == at_stripe.checkout_id
    )
    assert from_sandbox.payment_id and from_stripe.payment_id
