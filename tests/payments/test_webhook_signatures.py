"""Stripe webhook signatures, checked through the Stripe adapter's parse_webhook.

Given a checkout.session.completed body, When it is signed in various right and wrong ways, Then
the adapter accepts exactly the genuine, fresh ones and rejects the rest with a stable reason.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import pytest
import stripe

from adapters.payments.stripe_provider import StripePaymentProvider
from booking_core.payments.port import PaymentEventKind, PaymentProvider, WebhookRejected
from tests.payments import signing
from tests.payments.conftest import PUBLIC_BASE_URL, WEBHOOK_SECRET

NOW = 1_900_000_000
BODY = json.dumps(
    {
        "id": "evt_1",
        "object": "event",
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": "cs_test_1",
                "object": "checkout.session",
                "metadata": {"booking_id": "7"},
                "amount_total": 2400,
                "currency": "eur",
                "payment_intent": "pi_1",
                "payment_status": "paid",
                "status": "complete",
            }
        },
    },
    indent=2,
).encode()


@pytest.fixture
async def provider() -> AsyncIterator[PaymentProvider]:
    """The Stripe adapter, configured with WEBHOOK_SECRET."""
    stripe_provider = StripePaymentProvider(
        "sk_test_unused", WEBHOOK_SECRET, "http://127.0.0.1:9", PUBLIC_BASE_URL
    )
    yield stripe_provider
    await stripe_provider.aclose()


def headers(signature: str) -> dict[str, str]:
    """Request headers carrying a signature."""
    return {"Content-Type": "application/json", "Stripe-Signature": signature}


def rejection(provider: PaymentProvider, body: bytes, signature: str | None, now: float = NOW) -> str:
    """The reason the provider rejects this webhook (fails the test if it accepts it)."""
    given = headers(signature) if signature is not None else {"Content-Type": "application/json"}
    with pytest.raises(WebhookRejected) as rejected:
        provider.parse_webhook(body, given, now=now)
    assert rejected.value.code == "webhook_rejected"
    return rejected.value.reason


def test_a_genuine_signature_is_accepted(provider: PaymentProvider) -> None:
    event = provider.parse_webhook(BODY, headers(signing.sign(BODY, WEBHOOK_SECRET, NOW)), now=NOW)

    assert (event.kind, event.booking_id, event.checkout_id) == (PaymentEventKind.COMPLETED, 7, "cs_test_1")
    assert event.raw == BODY


def test_a_signature_made_by_stripes_own_library_is_accepted(provider: PaymentProvider) -> None:
    signature = stripe.WebhookSignature.generate_signature_header(BODY.decode(), WEBHOOK_SECRET, NOW)

    event = provider.parse_webhook(BODY, headers(signature), now=NOW)

    assert event.event_id == "evt_1"


def test_our_signature_equals_stripes_own(provider: PaymentProvider) -> None:
    ours = signing.sign(BODY, WEBHOOK_SECRET, NOW)

    assert ours == stripe.WebhookSignature.generate_signature_header(BODY.decode(), WEBHOOK_SECRET, NOW)


def test_the_header_name_is_found_in_any_case(provider: PaymentProvider) -> None:
    event = provider.parse_webhook(
        BODY, {"stripe-signature": signing.sign(BODY, WEBHOOK_SECRET, NOW)}, now=NOW
    )

    assert event.event_id == "evt_1"


def test_a_forged_signature_is_rejected(provider: PaymentProvider) -> None:
    assert rejection(provider, BODY, f"t={NOW},v1={'ab' * 32}") == "bad_signature"


def test_a_signature_made_with_another_secret_is_rejected(provider: PaymentProvider) -> None:
    assert rejection(provider, BODY, signing.sign(BODY, "whsec_someone_else", NOW)) == "bad_signature"


def test_a_missing_header_is_rejected(provider: PaymentProvider) -> None:
    assert rejection(provider, BODY, None) == "missing_signature"
    assert rejection(provider, BODY, "") == "missing_signature"


@pytest.mark.parametrize(
    "garbled", ["v1=abc", "t=soon,v1=abc", f"t={NOW}", f"t={NOW},t={NOW},v1=ab", f"t={NOW},v1=é"]
)
def test_a_garbled_header_is_rejected(provider: PaymentProvider, garbled: str) -> None:
    assert rejection(provider, BODY, garbled) == "malformed_signature"


def test_a_signature_ten_minutes_old_is_rejected(provider: PaymentProvider) -> None:
    signature = signing.sign(BODY, WEBHOOK_SECRET, NOW - 600)

    assert rejection(provider, BODY, signature) == "stale_timestamp"


def test_a_signature_ten_minutes_ahead_is_rejected(provider: PaymentProvider) -> None:
    signature = signing.sign(BODY, WEBHOOK_SECRET, NOW + 600)

    assert rejection(provider, BODY, signature) == "future_timestamp"


def test_the_tolerance_is_exactly_300_seconds_either_way(provider: PaymentProvider) -> None:
    for offset in (-300, 300):
        provider.parse_webhook(BODY, headers(signing.sign(BODY, WEBHOOK_SECRET, NOW + offset)), now=NOW)
    assert rejection(provider, BODY, signing.sign(BODY, WEBHOOK_SECRET, NOW - 301)) == "stale_timestamp"
    assert rejection(provider, BODY, signing.sign(BODY, WEBHOOK_SECRET, NOW + 301)) == "future_timestamp"


def test_the_current_time_is_used_when_none_is_given(provider: PaymentProvider) -> None:
    fresh = signing.sign(BODY, WEBHOOK_SECRET)

    assert provider.parse_webhook(BODY, headers(fresh)).event_id == "evt_1"
    with pytest.raises(WebhookRejected):
        provider.parse_webhook(BODY, headers(signing.sign(BODY, WEBHOOK_SECRET, int(time.time()) - 600)))


def test_one_matching_signature_among_several_is_enough(provider: PaymentProvider) -> None:
    # During a secret roll Stripe signs with the old and the new secret at once.
    genuine = signing.sign(BODY, WEBHOOK_SECRET, NOW).split("v1=")[1]
    old = signing.sign(BODY, "whsec_retired", NOW).split("v1=")[1]

    for signature in (f"t={NOW},v1={old},v1={genuine}", f"t={NOW},v1={genuine},v1={old},v0=ignored"):
        assert provider.parse_webhook(BODY, headers(signature), now=NOW).event_id == "evt_1"
    assert rejection(provider, BODY, f"t={NOW},v1={old},v1={'0' * 64}") == "bad_signature"


def test_a_tampered_body_is_rejected(provider: PaymentProvider) -> None:
    signature = signing.sign(BODY, WEBHOOK_SECRET, NOW)
    tampered = BODY.replace(b'"amount_total": 2400', b'"amount_total": 1')
    assert tampered != BODY

    assert rejection(provider, tampered, signature) == "bad_signature"


def test_reserialised_json_no_longer_matches(provider: PaymentProvider) -> None:
    # The signature covers the raw bytes: the same JSON re-serialised is a different body.
    signature = signing.sign(BODY, WEBHOOK_SECRET, NOW)
    compact = json.dumps(json.loads(BODY), separators=(",", ":")).encode()

    assert rejection(provider, compact, signature) == "bad_signature"


def test_a_signed_body_that_is_not_json_is_rejected(provider: PaymentProvider) -> None:
    for body in (b"{not json", b"\xff\xfe", b"[1, 2]"):
        assert rejection(provider, body, signing.sign(body, WEBHOOK_SECRET, NOW)) == "malformed_body"
