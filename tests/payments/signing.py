"""Signing webhook bodies in tests, by Stripe's documented scheme (any bytes, not only UTF-8 text)."""

from __future__ import annotations

import hashlib
import hmac
import time


def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header value for `body`: `t=<timestamp>,v1=<HMAC-SHA256(secret, "t.body")>`."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"
