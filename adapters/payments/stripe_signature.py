"""The Stripe-Signature header as the Stripe adapter reads it, beside stripe's own verification.

`Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{raw body}")>[,v1=...]`.
stripe's `WebhookSignature.verify_header` checks the signature over the raw request bytes; this
module finds the header, tells a missing or garbled one apart, and accepts a timestamp at most
TOLERANCE_SECONDS old or ahead: stripe-python rejects only old ones, but a signature dated in the
future can only come from a wrong clock or someone holding the secret.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from booking_core.payments.port import WebhookRejected

SIGNATURE_HEADER = "Stripe-Signature"
SCHEME = "v1"
TOLERANCE_SECONDS = 300


def signature_header(headers: Mapping[str, str]) -> str | None:
    """The Stripe-Signature header from any mapping, whatever the case of its name."""
    value = headers.get(SIGNATURE_HEADER)
    if value is not None:
        return value
    wanted = SIGNATURE_HEADER.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def parse_header(header: str | None) -> tuple[int, list[str]]:
    """The timestamp and the v1 signatures of a header; raises WebhookRejected when absent or garbled."""
    if not header:
        raise WebhookRejected("missing_signature", f"no {SIGNATURE_HEADER} header")
    if not header.isascii():
        raise WebhookRejected("malformed_signature", "signature header is not ASCII")
    timestamps: list[str] = []
    signatures: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            timestamps.append(value)
        elif key == SCHEME:
            signatures.append(value)
    if len(timestamps) != 1 or not timestamps[0].isdigit():
        raise WebhookRejected("malformed_signature", "signature header needs exactly one numeric t=")
    if not signatures:
        raise WebhookRejected("malformed_signature", f"signature header has no {SCHEME}= signature")
    return int(timestamps[0]), signatures


def check_timestamp(timestamp: int, now: float | None = None, tolerance: int = TOLERANCE_SECONDS) -> None:
    """Reject a signature dated more than `tolerance` seconds before or after `now`."""
    current = time.time() if now is None else now
    if timestamp < current - tolerance:
        raise WebhookRejected("stale_timestamp", f"signed {int(current - timestamp)} s ago")
    if timestamp > current + tolerance:
        raise WebhookRejected("future_timestamp", f"signed {int(timestamp - current)} s in the future")
