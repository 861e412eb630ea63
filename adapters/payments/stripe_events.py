"""Reading Stripe-shaped webhook events into PaymentEvents (Stripe's own and the sandbox's alike).

Only call this after the signature was verified: it trusts what the body says.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from booking_core.payments.port import PaymentEvent, PaymentEventKind, UnsupportedEvent, WebhookRejected

# The event types we act on. Delayed payment methods complete a session unpaid and settle later
# with an async_payment_* event, so those count as the outcome, not the unpaid completion.
EVENT_KINDS: dict[str, PaymentEventKind] = {
    "checkout.session.completed": PaymentEventKind.COMPLETED,
    "checkout.session.async_payment_succeeded": PaymentEventKind.COMPLETED,
    "checkout.session.expired": PaymentEventKind.EXPIRED,
    "checkout.session.async_payment_failed": PaymentEventKind.FAILED,
    "payment_intent.payment_failed": PaymentEventKind.FAILED,
    "charge.refunded": PaymentEventKind.REFUNDED,
}


def payment_event_from_body(provider: str, body: bytes) -> PaymentEvent:
    """Reduce a verified Stripe-shaped event body; raises WebhookRejected or UnsupportedEvent."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookRejected("malformed_body", "body is not JSON") from None
    return payment_event_from_payload(provider, payload, body)


def payment_event_from_payload(provider: str, payload: Any, raw: bytes) -> PaymentEvent:
    """Reduce an already decoded Stripe-shaped event (as in `payment_event_from_body`)."""
    if not isinstance(payload, dict):
        raise WebhookRejected("malformed_body", "event is not a JSON object")
    event_id = _required_str(payload, "id")
    event_type = _required_str(payload, "type")
    data = payload.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        raise WebhookRejected("malformed_body", "event has no data.object")
    kind = EVENT_KINDS.get(event_type)
    if kind is None:
        raise UnsupportedEvent(event_id, event_type)
    if event_type == "checkout.session.completed" and obj.get("payment_status") == "unpaid":
        raise UnsupportedEvent(event_id, f"{event_type} (unpaid)")
    # The object type is the event type's prefix: checkout.session, payment_intent or charge.
    expected_object = event_type.rsplit(".", 1)[0]
    if obj.get("object") != expected_object:
        raise WebhookRejected("malformed_body", f"{event_type} must carry a {expected_object} object")
    object_id = _required_str(obj, "id")

    checkout_id: str | None = None
    if expected_object == "checkout.session":
        checkout_id, amount = object_id, obj.get("amount_total")
        payment_id = _id_of(obj.get("payment_intent"))
    elif expected_object == "payment_intent":
        payment_id, amount = object_id, obj.get("amount")
    else:
        # A charge: the payment intent is the payment; refunded amount is the running total.
        payment_id, amount = _id_of(obj.get("payment_intent")) or object_id, obj.get("amount_refunded")
    currency = obj.get("currency")
    return PaymentEvent(
        provider=provider,
        event_id=event_id,
        kind=kind,
        checkout_id=checkout_id,
        booking_id=_booking_id(obj.get("metadata")),
        amount_minor=amount if isinstance(amount, int) and not isinstance(amount, bool) else None,
        currency=currency.upper() if isinstance(currency, str) else None,
        payment_id=payment_id,
        raw=raw,
        event_type=event_type,
    )


def _required_str(mapping: Mapping[str, Any], key: str) -> str:
    value = mapping.get(key)
    if not isinstance(value, str) or not value:
        raise WebhookRejected("malformed_body", f"event has no {key}")
    return value


def _id_of(value: Any) -> str | None:
    # Expanded objects arrive as dicts with an id; plain references as strings.
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _booking_id(metadata: Any) -> int | None:
    # Metadata is ours, but a hand-edited or foreign object must not make a genuine event unreadable:
    # the worker can still find the booking through the checkout or payment id.
    if not isinstance(metadata, dict):
        return None
    value = metadata.get("booking_id")
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
