"""The Stripe stand-in beside a test stand: the settings that point the real Stripe adapter at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sandbox.stripe_api import MARQUEE_WEBHOOK_PATH, StripeSandboxState, start_stripe_sandbox

WEBHOOK_SECRET = "whsec_test_stand"


@dataclass(frozen=True)
class StripeStand:
    """A running stand-in: its state (sessions, events, refunds) and the settings that use it."""

    state: StripeSandboxState
    settings: dict[str, Any]


@asynccontextmanager
async def serving_stripe(public_base_url: str) -> AsyncIterator[StripeStand]:
    """The Stripe stand-in on a free port, posting its events to `public_base_url`'s Stripe webhook."""
    runner, api_base, state = await start_stripe_sandbox(webhook_secret=WEBHOOK_SECRET)
    state.webhook_url = public_base_url.rstrip("/") + MARQUEE_WEBHOOK_PATH
    settings = {
        "PAYMENT_PROVIDER": "stripe",
        "STRIPE_API_KEY": state.api_key,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": api_base,
    }
    try:
        yield StripeStand(state, settings)
    finally:
        await runner.cleanup()
