"""The payment actors: settle stored webhooks, refund payments that cannot stand, close lapsed checkouts.

Every actor is idempotent (Dramatiq delivers at least once, and the periodic passes may enqueue the
same work again): a processed event is skipped, a refund carries its idempotency key to the provider,
expiring a closed checkout changes nothing. Retry policies are stated in PAYMENT_ACTORS below.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import or_, select, update

from adapters.payments.stripe_events import payment_event_from_body
from booking_core import metrics
from booking_core.bookings.cancellation import RefundDue
from booking_core.bookings.checkout import PaymentStatus
from booking_core.bookings.confirmation import ConfirmationOutcome
from booking_core.database import SessionFactory
from booking_core.models import Booking, Payment, utc_now
from booking_core.payments.inbox import (
    StoredPaymentEvent,
    record_attempt_error,
    record_permanent_failure,
    stored_payment_events,
)
from booking_core.payments.port import (
    CheckoutNotFound,
    CheckoutNotOpen,
    PaymentError,
    PaymentEvent,
    ProviderRejected,
)
from workers.context import WorkerContext
from workers.jobs import (
    EXPIRE_CHECKOUT,
    PROCESS_PAYMENT_EVENT,
    PROCESS_PAYMENT_EVENTS,
    REFUND_PAYMENT,
    DramatiqJobs,
)
from workers.outbox_relay import relay_new
from workers.registry import ActorSpec

log = logging.getLogger(__name__)

PAYMENTS_QUEUE = "payments"
# Calls out to providers wait on their network: kept off the queue that confirms bookings.
PROVIDER_QUEUE = "payment_provider"

# A payments row whose refund the provider refused outright: for a person to look at.
REFUND_FAILED = "refund_failed"
# While this key lives, a refund has been asked for and is not asked for again (web, workers, passes).
REFUND_REQUEST_KEY = "marquee:jobs:refund-requested:{}"
REFUND_REQUEST_TTL_SECONDS = 600

_CONFIRMED = (ConfirmationOutcome.CONFIRMED, ConfirmationOutcome.LATE_CONFIRMED)
_REFUNDING = (ConfirmationOutcome.REFUND_PENDING, ConfirmationOutcome.AMOUNT_MISMATCH)

# How a stored body becomes a PaymentEvent again, by provider. It was verified when it arrived, and its
# signature may be older than the tolerance by now, so it is read without checking it again. Both
# providers send Stripe-shaped events; a provider with another format registers its reader here.
STORED_EVENT_READERS: dict[str, Callable[[str, bytes], PaymentEvent]] = {
    "stripe": payment_event_from_body,
    "sandbox": payment_event_from_body,
}


class PermanentFailure(Exception):
    """Retrying cannot help (recorded where it concerns, then the message is dropped)."""


def payment_event_from_stored(stored: StoredPaymentEvent) -> PaymentEvent:
    """The PaymentEvent of a stored webhook body; raises PaymentError when it cannot be read."""
    reader = STORED_EVENT_READERS.get(stored.provider, payment_event_from_body)
    return reader(stored.provider, stored.payload.encode("utf-8"))


async def process_payment_event(ctx: WorkerContext, payment_event_id: int) -> None:
    """Settle one stored event through the booking core; a no-op once it has an outcome."""
    # A read that needs no write lock (on SQLite): the settling transaction decides what still applies.
    if ctx.stored_events is not None:
        stored = await ctx.stored_events.submit(payment_event_id)
    else:
        [stored] = await stored_payment_events(ctx.bookings.reads or ctx.sessions, [payment_event_id])
    if stored is None:
        raise PermanentFailure(f"no payment event {payment_event_id}")
    if stored.outcome is not None:
        return  # a redelivery of an event already settled
    try:
        event = payment_event_from_stored(stored)
    except PaymentError as exc:
        await record_permanent_failure(ctx.sessions, stored.id, f"stored body unreadable: {exc}")
        raise PermanentFailure(f"payment event {stored.id}: {exc}") from exc
    try:
        result = await ctx.bookings.confirm_payment(event)
    except Exception as exc:
        await _note_attempt_error(ctx.sessions, stored.id, exc)
        raise
    metrics.CONFIRMATIONS.labels(outcome=result.outcome.value).inc()
    if result.outcome in _CONFIRMED:
        metrics.WEBHOOK_TO_CONFIRMATION.observe((utc_now() - stored.received_at).total_seconds())
        if result.booking_id is not None and ctx.broker is not None:
            await _deliver_ticket(ctx, result.booking_id)
    if result.outcome in _REFUNDING and result.booking_id is not None and ctx.jobs is not None:
        try:
            await request_refunds(ctx, ctx.jobs, booking_id=result.booking_id)
        except Exception:
            # The event is settled; the periodic refund pass asks for this refund soon anyway.
            log.warning("booking %s: refund not enqueued yet", result.booking_id, exc_info=True)


async def process_payment_events(ctx: WorkerContext, payment_event_ids: list[int]) -> None:
    """Settle the events the web server stored together, each as `process_payment_event` does, at once
    (so they share settling transactions).

    Should any fail for a reason retrying may cure, the job fails with it and is retried whole: the
    events settled by then are skipped as redeliveries. One that can never be processed is recorded as
    such and does not hold the others back.
    """
    outcomes = await asyncio.gather(
        *(process_payment_event(ctx, event_id) for event_id in payment_event_ids), return_exceptions=True
    )
    failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    retryable = [failure for failure in failures if not isinstance(failure, PermanentFailure)]
    if retryable:
        raise retryable[0]
    for failure in failures:
        log.warning("%s", failure)


async def _deliver_ticket(ctx: WorkerContext, booking_id: int) -> None:
    try:
        await relay_new(ctx, booking_id)
    except Exception:
        # The sale stands and its outbox rows are committed: the periodic relay sends them soon anyway.
        log.warning("booking %s: ticket delivery not enqueued yet", booking_id, exc_info=True)


async def _note_attempt_error(sessions: SessionFactory, payment_event_id: int, exc: Exception) -> None:
    try:
        await record_attempt_error(sessions, payment_event_id, f"{type(exc).__name__}: {exc}")
    except Exception:
        # Usually the same outage that failed the attempt; the retry matters more than the note.
        log.debug("could not note the error of payment event %s", payment_event_id, exc_info=True)


async def request_refunds(ctx: WorkerContext, jobs: DramatiqJobs, *, booking_id: int | None = None) -> int:
    """Enqueue a refund for each payment awaiting one (of one booking, if given) not asked for lately."""
    requested = 0
    for due in await ctx.bookings.refund_due():
        if booking_id is not None and due.booking_id != booking_id:
            continue
        key = REFUND_REQUEST_KEY.format(due.idempotency_key)
        if not await ctx.redis.set(key, "1", nx=True, ex=REFUND_REQUEST_TTL_SECONDS):
            continue
        try:
            await jobs.refund_payment(due)
        except Exception:
            await ctx.redis.delete(key)
            raise
        requested += 1
    return requested


async def refund_payment(ctx: WorkerContext, due_fields: dict[str, Any]) -> None:
    """Pay one payment back at its provider (idempotent on its key), then record the refund id."""
    due = RefundDue(**due_fields)
    if not await _refund_still_pending(ctx.sessions, due):
        return
    provider = ctx.payment_providers.get(due.provider)
    if provider is None:
        await _record_refund_failure(ctx.sessions, due, f"provider {due.provider!r} is not configured here")
        raise PermanentFailure(f"booking {due.booking_id}: no provider {due.provider!r}")
    try:
        refund_id = await provider.refund(due.payment_reference, due.amount_minor, due.idempotency_key)
    except ProviderRejected as exc:
        metrics.REFUNDS.labels(outcome="refused").inc()
        await _record_refund_failure(ctx.sessions, due, f"{exc.code}: {exc}")
        raise PermanentFailure(f"booking {due.booking_id}: refund refused: {exc}") from exc
    except Exception:
        metrics.REFUNDS.labels(outcome="retry").inc()
        raise
    reference = due.payment_reference
    if not await ctx.bookings.mark_refunded(due.booking_id, refund_id, payment_reference=reference):
        # The provider's own refund webhook (Stripe's charge.refunded) settled the payment first.
        await _remember_refund_id(ctx.sessions, due, refund_id)
    metrics.REFUNDS.labels(outcome="refunded").inc()
    log.info("booking %s: refunded %s %s as %s", due.booking_id, due.amount_minor, due.currency, refund_id)


def _payment_of(due: RefundDue) -> Any:
    return select(Payment).where(
        Payment.booking_id == due.booking_id,
        Payment.provider == due.provider,
        or_(
            Payment.provider_payment_id == due.payment_reference, Payment.checkout_id == due.payment_reference
        ),
    )


async def _refund_still_pending(sessions: SessionFactory, due: RefundDue) -> bool:
    # A refund asked for twice (a pass and a worker) may be done already; asking the provider again
    # after its idempotency window would be refused, and that refusal must not be recorded as a failure.
    async with sessions() as session:
        payment = await session.scalar(_payment_of(due))
        return payment is not None and payment.status == PaymentStatus.REFUND_PENDING


async def _remember_refund_id(sessions: SessionFactory, due: RefundDue, refund_id: str) -> None:
    async with sessions() as session, session.begin():
        payment = await session.scalar(_payment_of(due).with_for_update())
        if payment is not None and payment.refund_id is None:
            payment.refund_id = refund_id


async def _record_refund_failure(sessions: SessionFactory, due: RefundDue, error: str) -> None:
    async with sessions() as session, session.begin():
        payment = await session.scalar(_payment_of(due).with_for_update())
        if payment is None or payment.status != PaymentStatus.REFUND_PENDING:
            return
        payment.status = REFUND_FAILED
        await session.execute(
            update(Booking)
            .where(Booking.id == due.booking_id)
            .values(status_reason=f"refund failed, needs a person: {error}"[:300])
        )
    log.error("booking %s: refund of %s failed for good: %s", due.booking_id, due.payment_reference, error)


async def expire_checkout(ctx: WorkerContext, provider_name: str, checkout_id: str, booking_id: int) -> None:
    """Close a provider checkout whose hold lapsed, so nobody goes on to pay for seats they no longer hold."""
    provider = ctx.payment_providers.get(provider_name)
    if provider is None:
        raise PermanentFailure(f"booking {booking_id}: provider {provider_name!r} is not configured here")
    try:
        await provider.expire_checkout(checkout_id)
    except CheckoutNotOpen as closed:
        # Paid in the meantime: its `completed` event follows the core's late-payment rule.
        metrics.CHECKOUT_EXPIRIES.labels(outcome=closed.status).inc()
        log.info(
            "booking %s: checkout %s was %s before it could be expired",
            booking_id,
            checkout_id,
            closed.status,
        )
        return
    except CheckoutNotFound:
        metrics.CHECKOUT_EXPIRIES.labels(outcome="not_found").inc()
        log.warning("booking %s: checkout %s unknown at %s", booking_id, checkout_id, provider_name)
        return
    except ProviderRejected as exc:
        metrics.CHECKOUT_EXPIRIES.labels(outcome="refused").inc()
        raise PermanentFailure(f"booking {booking_id}: expiring {checkout_id} refused: {exc}") from exc
    metrics.CHECKOUT_EXPIRIES.labels(outcome="expired").inc()


# Retries cover a database or Redis outage (ConfirmationDeferred) of a few minutes; after that the
# event stays unprocessed with its last error and the periodic pass enqueues it again later.
_SETTLING_AN_EVENT = ActorSpec(
    PROCESS_PAYMENT_EVENT,
    process_payment_event,
    queue=PAYMENTS_QUEUE,
    max_retries=10,
    min_backoff_ms=500,
    max_backoff_ms=60_000,
    throws=(PermanentFailure,),
    time_limit_ms=60_000,
)

PAYMENT_ACTORS: list[ActorSpec] = [
    _SETTLING_AN_EVENT,
    # The same policy for the events stored together: a retry settles only those still unsettled.
    dataclasses.replace(_SETTLING_AN_EVENT, name=PROCESS_PAYMENT_EVENTS, fn=process_payment_events),
    # Provider outages can last longer: back off up to 10 minutes (below RabbitMQ's 30-minute
    # consumer_timeout); the refund pass asks again after REFUND_REQUEST_TTL_SECONDS if these run out.
    ActorSpec(
        REFUND_PAYMENT,
        refund_payment,
        queue=PROVIDER_QUEUE,
        max_retries=12,
        min_backoff_ms=2_000,
        max_backoff_ms=600_000,
        throws=(PermanentFailure,),
        time_limit_ms=60_000,
    ),
    # Worth retrying only while a customer could still pay: about ten minutes in all.
    ActorSpec(
        EXPIRE_CHECKOUT,
        expire_checkout,
        queue=PROVIDER_QUEUE,
        max_retries=8,
        min_backoff_ms=1_000,
        max_backoff_ms=120_000,
        throws=(PermanentFailure,),
        time_limit_ms=60_000,
    ),
]
