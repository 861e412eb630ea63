"""Money cannot leak through the payment path: forged completions and refunds in either order.

The web role's app takes the webhooks (Stripe's, from its stand-in, held back where a test sets their
order), a real Dramatiq worker settles them, and the state is read back from SQL and Redis (issue 12,
points 1 and 2).
"""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import select

from booking_core.bookings.confirmation import REFUNDED_AT_PROVIDER, REFUNDED_BEFORE_CONFIRMATION
from booking_core.events import BookingConfirmed, RefundStarted
from booking_core.holds.store import Hold
from booking_core.models import BookingStatus, Ticket
from sandbox.stripe_api import SignedEvent
from tests.flows.harness import (
    Booked,
    Flow,
    outcomes,
    paid_but_webhook_lost,
    published,
    settled,
    wait_until,
    withheld,
)

pytestmark = pytest.mark.timeout(90)

SEATS = 2
NO_SALE = {"seats": 0, "tickets": 0, "notifications": 0}


async def _post(flow: Flow, event: SignedEvent) -> None:
    status, answer = await flow.post_event(event)
    assert (status, answer["status"]) == (200, "accepted")


async def _settled_events(flow: Flow, count: int) -> list[str | None]:
    async def check() -> list[str | None] | None:
        found = await outcomes(flow)
        return found if len(found) == count and None not in found else None

    return await wait_until(check, what=f"{count} payment events settled")


async def _refund_at_provider(flow: Flow, booked: Booked) -> SignedEvent:
    """Stripe (its dashboard, a dispute) gives the whole payment back; its charge.refunded, not yet sent."""
    refund = flow.core.payment_provider.refund(
        booked.checkout_id, booked.amount_minor, f"dashboard-{secrets.token_hex(4)}"
    )
    refund_id, refunded = await withheld(flow, lambda: refund)
    assert flow.refunds_of(booked.checkout_id) == {refund_id: booked.amount_minor}
    assert refunded.event_type == "charge.refunded"
    return refunded


async def test_a_completion_for_a_checkout_marquee_never_recorded_confirms_nothing(flow: Flow) -> None:
    # Given a booking awaiting payment
    booked = await flow.book(3101, flow.show.seat_ids[:SEATS])
    # When a signed completion arrives for another session whose metadata names that booking
    forged = {
        **flow.session(booked.checkout_id),
        "id": "cs_forged_" + secrets.token_hex(8),
        "status": "complete",
        "payment_status": "paid",
        "payment_intent": "pi_forged_" + secrets.token_hex(8),
    }
    await _post(flow, flow.stripe.sign("checkout.session.completed", forged))
    # Then it is settled as belonging to no booking, and the booking still waits for its own payment
    assert await _settled_events(flow, 1) == ["unknown_booking"]
    assert (await flow.booking(booked.booking_id)).status == BookingStatus.PENDING_PAYMENT
    assert await flow.sale_counts(booked.booking_id) == NO_SALE
    assert not [e for e in flow.events.events if isinstance(e, BookingConfirmed)]


async def test_a_refund_that_arrives_before_the_completion_is_never_confirmed(flow: Flow) -> None:
    # Given a booking paid at the provider whose completion is delayed, and then refunded there
    booked = await flow.book(3102, flow.show.seat_ids[:SEATS])
    completed = await paid_but_webhook_lost(flow, booked)
    refunded = await _refund_at_provider(flow, booked)
    # When the refund arrives first, then the completion
    await _post(flow, refunded)
    assert await _settled_events(flow, 1) == ["refunded"]
    await _post(flow, completed)
    # Then the booking is refunded, never confirmed: no seats sold, no ticket, no message
    assert await _settled_events(flow, 2) == ["refunded", "refunded"]
    booking = await flow.booking(booked.booking_id)
    assert (booking.status, booking.status_reason) == (BookingStatus.REFUNDED, REFUNDED_BEFORE_CONFIRMATION)
    assert await flow.sale_counts(booked.booking_id) == NO_SALE
    # And the customer is told once; nothing is left to refund again
    told = await published(flow, lambda e: isinstance(e, RefundStarted | BookingConfirmed), what="a word")
    assert told == [RefundStarted(booked.booking_id, 3102, REFUNDED_BEFORE_CONFIRMATION)]
    assert {p.status for p in await flow.payments(booked.booking_id)} == {"refunded"}
    # And the seats are free again
    assert isinstance(await flow.core.holds.hold(flow.show.show_id, 3103, flow.show.seat_ids[:SEATS]), Hold)


async def test_a_refund_of_a_confirmed_booking_cancels_its_ticket_and_frees_its_seats(flow: Flow) -> None:
    # Given a confirmed booking
    booked = await flow.book(3104, flow.show.seat_ids[:SEATS])
    status, _page = await flow.page_action(booked.checkout_id, "pay")
    assert status == 200
    await settled(flow, booked.booking_id, BookingStatus.CONFIRMED)
    # When the provider refunds it (a dispute, the dashboard) and says so
    refunded = await _refund_at_provider(flow, booked)
    await _post(flow, refunded)
    # Then the booking is refunded, its seats are sold no more and its ticket is void
    await settled(flow, booked.booking_id, BookingStatus.REFUNDED)
    assert await _settled_events(flow, 2) == ["confirmed", "refunded"]
    counts = await flow.sale_counts(booked.booking_id)
    assert (counts["seats"], counts["tickets"]) == (0, 1)
    async with flow.core.sessions() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.booking_id == booked.booking_id))
        assert ticket is not None and ticket.cancelled_at is not None
    # And the customer is told
    refund_told = RefundStarted(booked.booking_id, 3104, REFUNDED_AT_PROVIDER)
    assert await published(flow, lambda event: event == refund_told, what="the refund told") == [refund_told]
    # And the seats go back (to the public, as nobody waits)
    again = await flow.core.holds.hold(flow.show.show_id, 3105, flow.show.seat_ids[:SEATS])
    assert isinstance(again, Hold), again
