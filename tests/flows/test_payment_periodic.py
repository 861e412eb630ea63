"""The workers' periodic passes with a real worker: lapsed holds close their checkouts, lost events come back.

The sweeper and the requeue pass run here on the test's loop with a worker context of their own, as
a worker process runs them beside its actors; the jobs they enqueue are consumed by a real worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from booking_core.events import HoldExpired
from booking_core.models import BookingStatus, utc_now
from booking_core.payments.inbox import store_payment_event
from booking_core.payments.port import PaymentEventKind
from tests.flows.harness import (
    Flow,
    counter,
    outcomes,
    paid_but_webhook_lost,
    periodic_context,
    settled,
    wait_until,
)
from workers.context import WorkerContext
from workers.periodic import requeue_lost_payment_events, run_periodic_tasks, sweep_once

pytestmark = pytest.mark.timeout(90)

SEATS = 2


@pytest.fixture
async def periodic_ctx(flow: Flow) -> AsyncIterator[WorkerContext]:
    """A worker context on the test's loop for the periodic passes."""
    async with periodic_context(flow) as ctx:
        yield ctx


async def test_an_event_stored_but_never_enqueued_is_processed_by_the_requeue_pass(
    flow: Flow, periodic_ctx: WorkerContext
) -> None:
    # Given a completed event stored by a web process that died before enqueueing its job
    booked = await flow.book(2601, flow.show.seat_ids[:SEATS])
    await paid_but_webhook_lost(flow, booked)
    checkout = await flow.sandbox.get_checkout(booked.checkout_id)
    assert checkout is not None
    body, headers = flow.sandbox.build_event(checkout, PaymentEventKind.COMPLETED)
    event = flow.sandbox.parse_webhook(body, headers)
    assert await store_payment_event(flow.core.sessions, event, body.decode()) is not None
    # When the periodic pass looks for events left unprocessed
    assert await requeue_lost_payment_events(periodic_ctx, flow.jobs, older_than=timedelta(0)) == 1
    # Then a worker settles it, and the next pass does not enqueue it again
    await settled(flow, booked.booking_id, BookingStatus.CONFIRMED)
    assert await requeue_lost_payment_events(periodic_ctx, flow.jobs, older_than=timedelta(0)) == 0
    assert await outcomes(flow) == ["confirmed"]


async def test_a_lapsed_hold_closes_its_checkout_at_the_provider(
    flow: Flow, periodic_ctx: WorkerContext
) -> None:
    # Given a booking whose hold lapsed while its checkout is open
    booked = await flow.book_lapsed(2701, flow.show.seat_ids[:SEATS])
    # When the sweeper runs (past the grace the core allows an in-flight payment)
    report = await sweep_once(periodic_ctx, flow.jobs, now=utc_now() + timedelta(seconds=31))
    # Then the hold is freed, the booking expired, and a worker expires the provider's checkout
    assert (report.holds_freed, report.checkouts_to_expire) == (1, 1)
    assert (await flow.booking(booked.booking_id)).status == BookingStatus.EXPIRED

    async def checkout_expired() -> bool:
        checkout = await flow.sandbox.get_checkout(booked.checkout_id)
        return checkout is not None and checkout.status == "expired"

    await wait_until(checkout_expired, what="the sandbox checkout expired")
    # So nobody goes on to pay for seats they no longer hold
    status, page = await flow.page_action(booked.checkout_id, "pay")
    assert status == 409 and "expired" in page
    assert any(isinstance(event, HoldExpired) and event.user_id == 2701 for event in flow.events.events)


async def test_a_payment_that_beats_the_expiry_call_follows_the_late_payment_rule(flow: Flow) -> None:
    # Given a booking the core has just marked expired, its checkout not yet closed at the provider
    booked = await flow.book_lapsed(2801, flow.show.seat_ids[:SEATS])
    (lapsed,) = await flow.core.bookings.expire_lapsed(utc_now() + timedelta(seconds=31))
    assert lapsed.checkout_id == booked.checkout_id
    # When the customer pays before the expiry call reaches the provider
    await flow.page_action(booked.checkout_id, "pay")
    await settled(flow, booked.booking_id, BookingStatus.CONFIRMED)
    refused_before = counter("marquee_checkout_expiries_total", outcome="complete")
    await flow.jobs.expire_checkout(lapsed)

    async def expiry_refused() -> bool:
        return counter("marquee_checkout_expiries_total", outcome="complete") > refused_before

    await wait_until(expiry_refused, what="the expiry call answered")
    # Then the payment was honoured by the late-payment rule (seats still free) and the sale stands
    assert await outcomes(flow) == ["late_confirmed"]
    assert (await flow.booking(booked.booking_id)).status == BookingStatus.CONFIRMED
    checkout = await flow.sandbox.get_checkout(booked.checkout_id)
    assert checkout is not None and checkout.status == "complete"


async def test_the_periodic_loop_sweeps_and_requeues_until_stopped(
    flow: Flow, periodic_ctx: WorkerContext
) -> None:
    # Given a lapsed hold, and an event stored without its job
    await flow.short_holds().hold(flow.show.show_id, 2901, flow.show.seat_ids[-1:])
    booked = await flow.book(2902, flow.show.seat_ids[:SEATS])
    await paid_but_webhook_lost(flow, booked)
    checkout = await flow.sandbox.get_checkout(booked.checkout_id)
    assert checkout is not None
    body, headers = flow.sandbox.build_event(checkout, PaymentEventKind.COMPLETED)
    await store_payment_event(flow.core.sessions, flow.sandbox.parse_webhook(body, headers), body.decode())
    # When the periodic loop runs for a while
    stop = asyncio.Event()
    loop = asyncio.create_task(run_periodic_tasks(periodic_ctx, stop, requeue_after=timedelta(0)))
    try:
        await settled(flow, booked.booking_id, BookingStatus.CONFIRMED)

        async def swept() -> bool:
            return any(isinstance(e, HoldExpired) and e.user_id == 2901 for e in flow.events.events)

        await wait_until(swept, within=5, what="the lapsed hold swept")
    finally:
        stop.set()
        # Then it stops promptly when told
        await asyncio.wait_for(loop, timeout=3)
