"""A payment event failing every pass is parked (dead-lettered), shown in /metrics, not enqueued forever."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from booking_core.bookings.errors import ConfirmationDeferred
from booking_core.models import utc_now
from booking_core.payments.inbox import PARKED_OUTCOME, store_payment_event, unprocessed_payment_events
from booking_core.payments.port import PaymentEventKind
from booking_core.redis_keys import ShowKeys
from tests.flows.harness import BrokerPlan, Flow, FlowOpener, periodic_context
from workers.payments import process_payment_event
from workers.periodic import REQUEUE_GUARD_KEY, requeue_lost_payment_events

pytestmark = pytest.mark.timeout(90)

PASSES = 3


@pytest.fixture
async def web_flow(open_test_flow: FlowOpener, redis_broker: BrokerPlan) -> AsyncIterator[Flow]:
    """The web side and the actors, no worker: the test runs each pass's attempt itself."""
    async with open_test_flow(redis_broker, worker=False) as flow:
        yield flow


async def test_an_event_failing_every_pass_is_parked_counted_and_logged_once(
    web_flow: Flow, caplog: pytest.LogCaptureFixture
) -> None:
    flow = web_flow  # no worker: the test runs each pass's attempt itself
    # Given a late payment whose seats Redis cannot give back: the user's hold attempts are rate-limited
    # for the time being, so every attempt to settle it is deferred
    booked = await flow.book_lapsed(2801, flow.show.seat_ids[:2])
    await flow.core.redis.set(ShowKeys(flow.show.show_id).attempts(2801), 10**6, ex=3600)
    checkout = await flow.sandbox.get_checkout(booked.checkout_id)
    assert checkout is not None
    body, headers = flow.sandbox.build_event(checkout, PaymentEventKind.COMPLETED)
    event_id = await store_payment_event(
        flow.core.sessions, flow.sandbox.parse_webhook(body, headers), body.decode()
    )
    assert event_id is not None

    async with periodic_context(flow) as ctx:
        with caplog.at_level(logging.INFO):
            enqueued = []
            for _pass in range(PASSES + 3):
                # When the safety net passes again (its guard lapsed), and the worker's attempt fails again
                await flow.core.redis.delete(REQUEUE_GUARD_KEY.format(event_id))
                enqueued.append(
                    await requeue_lost_payment_events(
                        ctx, flow.jobs, older_than=timedelta(0), max_passes=PASSES
                    )
                )
                if enqueued[-1]:
                    with pytest.raises(ConfirmationDeferred):
                        await process_payment_event(ctx, event_id)

    # Then it was enqueued PASSES times, then parked and never enqueued again
    assert enqueued == [1] * PASSES + [0, 0, 0]
    (row,) = await flow.event_rows()
    assert row.outcome == PARKED_OUTCOME and row.passes == PASSES
    assert row.error is not None and "rate-limited" in row.error
    assert await unprocessed_payment_events(flow.core.sessions, utc_now() + timedelta(hours=1)) == []
    # And the parking was logged once, as an error
    parked = [r for r in caplog.records if "parked" in r.getMessage()]
    assert [r.levelno for r in parked] == [logging.ERROR]
    # And /metrics shows it
    async with flow.http.get(f"{flow.base_url}/metrics") as response:
        exposition = await response.text()
    assert "marquee_payment_events_parked 1.0" in exposition
