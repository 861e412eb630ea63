"""Payment events stored together are settled by one job (`process_payment_events`), each by its own rules.

The web server sends one message for the events of one inbox batch (`DramatiqJobs.send_payment_events`);
a worker settles them at once. These tests store the events as the web server does, send the batch's
job through the real broker to a real worker, or run the actor's function where a failure is the point.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from booking_core.bookings.errors import ConfirmationDeferred
from booking_core.models import BookingStatus
from booking_core.redis_keys import ShowKeys
from tests.flows.finished_messages import FinishedMessages
from tests.flows.harness import (
    BrokerPlan,
    Flow,
    FlowOpener,
    outcomes,
    periodic_context,
    settled,
    stored_but_not_enqueued,
)
from workers.jobs import PROCESS_PAYMENT_EVENT, PROCESS_PAYMENT_EVENTS
from workers.payments import process_payment_events

pytestmark = pytest.mark.timeout(90)

SEATS = 2
BOOKINGS = 4
ONE_SALE = {"seats": SEATS, "tickets": 1, "notifications": 4}
NO_SUCH_EVENT = 10**9


@pytest.fixture
async def any_broker_flow(open_test_flow: FlowOpener, broker: BrokerPlan) -> AsyncIterator[Flow]:
    """Web app and a worker on each broker (RabbitMQ when TEST_RABBITMQ_URL is set)."""
    async with open_test_flow(broker) as flow:
        yield flow


@pytest.fixture
async def web_flow(open_test_flow: FlowOpener, redis_broker: BrokerPlan) -> AsyncIterator[Flow]:
    """The web side and the actors, no worker: the test runs the job's function itself."""
    async with open_test_flow(redis_broker, worker=False) as flow:
        yield flow


@pytest.fixture
def finished(any_broker_flow: Flow) -> FinishedMessages:
    """Counts the messages the flow's worker has finished, by actor."""
    counter = FinishedMessages()
    any_broker_flow.broker.add_middleware(counter)
    return counter


async def test_events_stored_together_are_confirmed_by_one_job(
    any_broker_flow: Flow, finished: FinishedMessages
) -> None:
    flow = any_broker_flow
    # Given four paid bookings whose completed events were stored in one batch, not yet sent to a worker
    booked = [
        await flow.book(2501 + n, flow.show.seat_ids[n * SEATS : (n + 1) * SEATS]) for n in range(BOOKINGS)
    ]
    event_ids = [await stored_but_not_enqueued(flow, one) for one in booked]
    # When the web server sends the batch's job
    await asyncio.to_thread(flow.jobs.send_payment_events, event_ids)
    # Then a worker runs it once, and every booking is confirmed with one sale
    await asyncio.to_thread(finished.wait_for, PROCESS_PAYMENT_EVENTS, 1, 30)
    for one in booked:
        await settled(flow, one.booking_id, BookingStatus.CONFIRMED)
        assert await flow.sale_counts(one.booking_id) == ONE_SALE
    assert await outcomes(flow) == ["confirmed"] * BOOKINGS


async def test_a_lone_event_gets_a_job_of_its_own(any_broker_flow: Flow, finished: FinishedMessages) -> None:
    flow = any_broker_flow
    # Given one paid booking whose event was stored alone
    booked = await flow.book(2511, flow.show.seat_ids[:SEATS])
    event_id = await stored_but_not_enqueued(flow, booked)
    # When the web server sends its job
    await asyncio.to_thread(flow.jobs.send_payment_events, [event_id])
    # Then the single-event job settles it
    await asyncio.to_thread(finished.wait_for, PROCESS_PAYMENT_EVENT, 1, 30)
    await settled(flow, booked.booking_id, BookingStatus.CONFIRMED)
    assert await outcomes(flow) == ["confirmed"]


async def test_an_event_that_cannot_be_processed_does_not_hold_the_others_back(
    web_flow: Flow, caplog: pytest.LogCaptureFixture
) -> None:
    flow = web_flow
    booked = await flow.book(2521, flow.show.seat_ids[:SEATS])
    event_id = await stored_but_not_enqueued(flow, booked)
    async with periodic_context(flow) as ctx:
        # When a batch names an event that is not stored, beside a genuine one
        with caplog.at_level(logging.WARNING):
            await process_payment_events(ctx, [NO_SUCH_EVENT, event_id])
    # Then the genuine one is confirmed, and the other is logged and not retried (the job returns)
    assert (await flow.booking(booked.booking_id)).status == BookingStatus.CONFIRMED
    assert await outcomes(flow) == ["confirmed"]
    assert any(f"no payment event {NO_SUCH_EVENT}" in record.getMessage() for record in caplog.records)


async def test_a_retried_batch_settles_only_what_is_still_unsettled(web_flow: Flow) -> None:
    flow = web_flow
    # Given a paid booking, and a late payment whose seats Redis cannot give back for now (the user's
    # hold attempts are rate-limited), both stored in one batch
    paid = await flow.book(2531, flow.show.seat_ids[:SEATS])
    late = await flow.book_lapsed(2532, flow.show.seat_ids[SEATS : 2 * SEATS])
    attempts = ShowKeys(flow.show.show_id).attempts(2532)
    await flow.core.redis.set(attempts, 10**6, ex=3600)
    batch = [await stored_but_not_enqueued(flow, paid), await stored_but_not_enqueued(flow, late)]
    async with periodic_context(flow) as ctx:
        # When the batch's job runs: the late one is deferred, so the job fails (and would be retried)
        with pytest.raises(ConfirmationDeferred):
            await process_payment_events(ctx, batch)
        # Then the other one was confirmed all the same
        assert (await flow.booking(paid.booking_id)).status == BookingStatus.CONFIRMED
        assert await outcomes(flow) == ["confirmed", None]
        # And once Redis can give the seats back, the retry settles the late one and sells nothing twice
        await flow.core.redis.delete(attempts)
        await process_payment_events(ctx, batch)
    assert (await flow.booking(late.booking_id)).status == BookingStatus.CONFIRMED
    assert await outcomes(flow) == ["confirmed", "late_confirmed"]
    assert await flow.sale_counts(paid.booking_id) == ONE_SALE
    assert await flow.sale_counts(late.booking_id) == ONE_SALE
