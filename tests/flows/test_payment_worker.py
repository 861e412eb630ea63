"""Payment events settled by a real Dramatiq worker: confirmations, repeats, late payments, refunds.

The web role's app takes the webhooks (posted by the Stripe stand-in when a customer presses Pay on its
hosted page), a worker in this process consumes the broker, and the state is read back from SQL, Redis
and the stand-in.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from booking_core.events import BookingConfirmed, RefundStarted
from booking_core.holds.errors import HoldRefusalReason, HoldRefused
from booking_core.holds.store import Hold
from booking_core.models import BookingStatus, PaymentEvent, utc_now
from booking_core.payments.inbox import unprocessed_payment_events
from tests.conftest import postgresql_only
from tests.flows.finished_messages import FinishedMessages
from tests.flows.harness import (
    BrokerPlan,
    Flow,
    FlowOpener,
    outcomes,
    paid_but_webhook_lost,
    published,
    settled,
    wait_until,
)
from workers.jobs import PROCESS_PAYMENT_EVENT

pytestmark = pytest.mark.timeout(90)

SEATS = 2
PRICE = 2400  # two standard seats at 12.00 EUR
# A ticket on each channel the customer has (Telegram, SMS, email) and the Telegram reminder.
OUTBOX_ROWS = 4
ONE_SALE = {"seats": SEATS, "tickets": 1, "notifications": OUTBOX_ROWS}
NO_SALE = {"seats": 0, "tickets": 0, "notifications": 0}


@pytest.fixture
async def any_broker_flow(open_test_flow: FlowOpener, broker: BrokerPlan) -> AsyncIterator[Flow]:
    """Web app and a worker on each broker (RabbitMQ when TEST_RABBITMQ_URL is set)."""
    async with open_test_flow(broker) as flow:
        yield flow


async def test_paying_on_the_hosted_page_confirms_the_booking(any_broker_flow: Flow) -> None:
    flow = any_broker_flow
    # Given a booking awaiting payment
    booked = await flow.book(2001, flow.show.seat_ids[:SEATS])
    # When the customer pays on the checkout page
    status, page = await flow.page_action(booked.checkout_id, "pay")
    assert status == 200 and "Payment complete" in page
    # Then a worker confirms it: seats sold, one ticket, its outbox rows, the user told
    await settled(flow, booked.booking_id, BookingStatus.CONFIRMED)
    assert await flow.sale_counts(booked.booking_id) == ONE_SALE
    assert await outcomes(flow) == ["confirmed"]
    # (the worker publishes the event just after its transaction commits)
    confirmed = BookingConfirmed(booking_id=booked.booking_id, user_id=2001)

    async def told() -> bool:
        return confirmed in flow.events.events

    await wait_until(told, within=5, what="BookingConfirmed published")
    (payment,) = await flow.payments(booked.booking_id)
    assert (payment.provider, payment.status) == ("stripe", "paid")
    assert payment.provider_payment_id == flow.session(booked.checkout_id)["payment_intent"]
    # And Redis knows the seats are sold
    refused = await flow.core.holds.hold(flow.show.show_id, 2002, flow.show.seat_ids[:1])
    assert refused == HoldRefused(HoldRefusalReason.SEAT_SOLD, (flow.show.seat_ids[0],))


@postgresql_only
async def test_the_same_completed_event_ten_times_at_once_makes_one_sale(any_broker_flow: Flow) -> None:
    flow = any_broker_flow
    finished = FinishedMessages()
    flow.broker.add_middleware(finished)
    # Given a booking paid on Stripe, whose completed event has not reached us yet
    booked = await flow.book(2101, flow.show.seat_ids[:SEATS])
    completed = await paid_but_webhook_lost(flow, booked)
    # When it is delivered ten times concurrently
    answers = await asyncio.gather(*(flow.post_event(completed) for _ in range(10)))
    # Then one delivery is accepted and nine are acknowledged as duplicates
    assert sorted(answer["status"] for _status, answer in answers) == ["accepted"] + ["duplicate"] * 9
    assert {status for status, _answer in answers} == {200}
    # And even with its job enqueued ten more times at once, there is one booking, one ticket, one outbox set
    (row,) = await flow.event_rows()
    await asyncio.gather(*(flow.jobs.payment_event_received(row.id) for _ in range(10)))
    await settled(flow, booked.booking_id, BookingStatus.CONFIRMED)
    # ... once all eleven jobs (the webhook's and the ten repeats) have run to their end
    await asyncio.to_thread(finished.wait_for, PROCESS_PAYMENT_EVENT, 11, 30)
    assert await flow.sale_counts(booked.booking_id) == ONE_SALE
    assert await flow.sold_seat_rows() == SEATS
    # (a repeat that ran alongside the first may have recorded itself as the one already confirmed)
    assert await outcomes(flow) in (["confirmed"], ["already_confirmed"])
    assert sum(isinstance(event, BookingConfirmed) for event in flow.events.events) == 1


async def test_an_expiry_arriving_after_the_payment_changes_nothing(flow: Flow) -> None:
    # Given a paid, confirmed booking
    booked = await flow.book(2201, flow.show.seat_ids[:SEATS])
    await flow.page_action(booked.checkout_id, "pay")
    await settled(flow, booked.booking_id, BookingStatus.CONFIRMED)
    # When an expiry event for the same session arrives late (out of order)
    expired = flow.stripe.sign(
        "checkout.session.expired", {**flow.session(booked.checkout_id), "status": "expired"}
    )
    assert await flow.post_event(expired) == (200, {"status": "accepted"})
    # Then it is settled as ignored and the sale stands
    await wait_until(lambda: _last_outcome(flow), what="the expiry settled")
    assert await outcomes(flow) == ["confirmed", "ignored"]
    assert (await flow.booking(booked.booking_id)).status == BookingStatus.CONFIRMED
    assert await flow.sale_counts(booked.booking_id) == ONE_SALE


async def _last_outcome(flow: Flow) -> str | None:
    rows = await flow.event_rows()
    return rows[-1].outcome if rows else None


async def test_a_payment_after_the_hold_expired_is_honoured_while_the_seats_are_free(flow: Flow) -> None:
    # Given a booking whose hold lapsed, its Stripe session still payable (sessions outlive holds)
    booked = await flow.book_lapsed(2301, flow.show.seat_ids[:SEATS])
    assert await flow.core.holds.hold_by_token(flow.show.show_id, booked.hold.token) is None
    # When the customer pays anyway
    await flow.page_action(booked.checkout_id, "pay")
    # Then the seats, still free, are sold to them
    await settled(flow, booked.booking_id, BookingStatus.CONFIRMED)
    assert await outcomes(flow) == ["late_confirmed"]
    assert await flow.sale_counts(booked.booking_id) == ONE_SALE


async def test_a_late_payment_for_seats_taken_meanwhile_is_refunded(any_broker_flow: Flow) -> None:
    flow = any_broker_flow
    seats = flow.show.seat_ids[:SEATS]
    # Given a booking whose hold lapsed, and someone else holding the same seats since
    booked = await flow.book_lapsed(2401, seats)
    await flow.core.holds.sweep()
    other = await flow.core.holds.hold(flow.show.show_id, 2402, seats)
    assert isinstance(other, Hold)
    # When the first customer pays anyway
    await flow.page_action(booked.checkout_id, "pay")
    # Then the booking is marked for refund, the user told, and the money goes back through the provider
    await settled(flow, booked.booking_id, BookingStatus.REFUND_PENDING, BookingStatus.REFUNDED)
    await settled(flow, booked.booking_id, BookingStatus.REFUNDED)

    async def both_settled() -> bool:  # the payment, then Stripe's charge.refunded for the refund
        return await outcomes(flow) == ["refund_pending", "refunded"]

    await wait_until(both_settled, what="the payment and Stripe's refund event settled")
    await published(
        flow,
        lambda e: isinstance(e, RefundStarted) and e.booking_id == booked.booking_id,
        what="the refund told",
    )
    (payment,) = await flow.payments(booked.booking_id)
    assert payment.status == "refunded" and payment.refund_id
    assert flow.refunds_of(booked.checkout_id) == {payment.refund_id: PRICE}
    # And nothing was sold; the other customer's hold stands
    assert await flow.sale_counts(booked.booking_id) == NO_SALE
    assert await flow.core.holds.hold_by_token(flow.show.show_id, other.token) == other


@pytest.mark.parametrize(
    ("amount", "currency"), [(PRICE + 100, "EUR"), (PRICE, "USD")], ids=["amount", "currency"]
)
async def test_a_payment_of_another_amount_or_currency_is_flagged_not_confirmed(
    flow: Flow, amount: int, currency: str
) -> None:
    # Given a checkout opened for another amount or currency than the booking's
    booked = await flow.book(2501, flow.show.seat_ids[:SEATS], amount_minor=amount, currency=currency)
    # When the customer pays it
    await flow.page_action(booked.checkout_id, "pay")
    # Then the booking is not confirmed but flagged, and what was paid is given back
    await settled(flow, booked.booking_id, BookingStatus.REFUNDED)

    async def both_settled() -> bool:  # the payment, then Stripe's charge.refunded for the refund
        return await outcomes(flow) == ["amount_mismatch", "refunded"]

    await wait_until(both_settled, what="the payment and Stripe's refund event settled")
    booking = await flow.booking(booked.booking_id)
    assert booking.status_reason is not None and booking.status_reason.startswith("amount mismatch")
    (payment,) = await flow.payments(booked.booking_id)
    assert (payment.status, payment.amount_minor, payment.currency) == ("refunded", amount, currency)
    assert await flow.sale_counts(booked.booking_id) == NO_SALE
    # And the seats are free for anyone
    assert isinstance(await flow.core.holds.hold(flow.show.show_id, 2502, flow.show.seat_ids[:SEATS]), Hold)


async def test_an_unreadable_stored_event_is_recorded_as_failed_not_retried(flow: Flow) -> None:
    # Given a stored event whose body cannot be read back (written by hand, or by an older version)
    async with flow.core.sessions() as session, session.begin():
        row = PaymentEvent(provider="stripe", event_id="evt_garbled", event_type="?", payload="{not json")
        session.add(row)
    # When a worker is asked to process it
    await flow.jobs.payment_event_received(row.id)

    # Then the failure is recorded on the event's row, and it is no longer owed processing
    async def failed() -> bool:
        return await outcomes(flow) == ["failed"]

    await wait_until(failed, what="the event marked failed")
    (stored,) = await flow.event_rows()
    assert stored.processed_at is not None
    assert stored.error is not None and "malformed_body" in stored.error
    assert await unprocessed_payment_events(flow.core.sessions, utc_now() + timedelta(hours=1)) == []


async def test_a_refund_the_provider_refuses_is_recorded_on_the_payment(flow: Flow) -> None:
    # Given a booking marked for refund whose money the provider says it never took: a completed event,
    # of another amount, naming the payment of a card Stripe declined
    booked = await flow.book(2701, flow.show.seat_ids[:SEATS])
    status, _page = await flow.page_action(booked.checkout_id, "decline")
    assert status == 200
    (declined,) = [pi for pi in flow.stripe.payment_intents.values() if pi["_session"] == booked.checkout_id]
    session = flow.session(booked.checkout_id)
    forged = {
        **session,
        "status": "complete",
        "payment_status": "paid",
        "payment_intent": declined["id"],
        "amount_total": PRICE + 1,
    }
    # When it is processed and the refund is attempted
    assert await flow.post_event(flow.stripe.sign("checkout.session.completed", forged)) == (
        200,
        {"status": "accepted"},
    )

    # Then the refusal is recorded on the payment and the booking, for a person to look at
    async def refund_refused() -> bool:
        return [payment.status for payment in await flow.payments(booked.booking_id)] == ["refund_failed"]

    await wait_until(refund_refused, what="the refund recorded as refused")
    booking = await flow.booking(booked.booking_id)
    assert booking.status == BookingStatus.REFUND_PENDING
    assert booking.status_reason is not None and booking.status_reason.startswith("refund failed")
    # And the periodic refund pass does not ask again
    assert await flow.core.bookings.refund_due() == []
