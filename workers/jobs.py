"""Handing work to the payment actors over Dramatiq: the web server's JobQueue and the workers' own.

The actors are declared on the process's broker by `register_actors(broker, PAYMENT_ACTORS, ...)`
(workers/payments.py); `DramatiqJobs` only sends messages to them, so the web role declares the same
specs with a context provider that is never called.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import dramatiq

from booking_core.bookings.cancellation import RefundDue
from booking_core.bookings.checkout import OpenCheckout
from workers.registry import send

# Actor names: the message format between web and worker processes, so keep them stable.
PROCESS_PAYMENT_EVENT = "process_payment_event"
PROCESS_PAYMENT_EVENTS = "process_payment_events"
REFUND_PAYMENT = "refund_payment"
EXPIRE_CHECKOUT = "expire_checkout"
PAYMENT_ACTOR_NAMES = frozenset(
    {PROCESS_PAYMENT_EVENT, PROCESS_PAYMENT_EVENTS, REFUND_PAYMENT, EXPIRE_CHECKOUT}
)


class DramatiqJobs:
    """`webhooks.keys.JobQueue` over Dramatiq, plus the follow-up jobs of payments (refunds, expiries)."""

    def __init__(self, actors: Mapping[str, dramatiq.Actor[Any, Any]]) -> None:
        missing = PAYMENT_ACTOR_NAMES - actors.keys()
        if missing:
            raise ValueError(f"payment actors not declared on the broker: {sorted(missing)}")
        self._actors = actors

    def send_payment_events(self, payment_event_ids: list[int]) -> None:
        """Ask workers to process stored payment events (blocking: from a worker thread).

        A lone event gets a job of its own; events stored together get one job for the lot, which a
        worker settles together: one small message is what the web server pays for a batch, rather than
        a message, a middleware pass and an encoding per event.
        """
        if len(payment_event_ids) == 1:
            self._actors[PROCESS_PAYMENT_EVENT].send_with_options(args=(payment_event_ids[0],))
        elif payment_event_ids:
            self._actors[PROCESS_PAYMENT_EVENTS].send_with_options(args=(payment_event_ids,))

    async def payment_event_received(self, payment_event_id: int) -> None:
        """Ask a worker to process a stored payment event."""
        await send(self._actors[PROCESS_PAYMENT_EVENT], payment_event_id)

    async def refund_payment(self, due: RefundDue) -> None:
        """Ask a worker to pay back one payment at its provider."""
        await send(self._actors[REFUND_PAYMENT], dataclasses.asdict(due))

    async def expire_checkout(self, checkout: OpenCheckout) -> None:
        """Ask a worker to close a provider checkout whose hold lapsed."""
        await send(
            self._actors[EXPIRE_CHECKOUT], checkout.provider, checkout.checkout_id, checkout.booking_id
        )
