"""A connected cinema's sale refunded at the payment provider is undone at the theatre too (issue 12)."""

from __future__ import annotations

import dataclasses
import secrets

from booking_core.bookings.confirmation import REFUNDED_AT_PROVIDER, ConfirmationOutcome
from booking_core.events import RefundStarted
from booking_core.holds.seat_map import SeatState
from booking_core.models import BookingStatus
from booking_core.payments.port import PaymentEventKind
from tests.theatre_flow.stand import Stand


async def test_a_refund_at_the_provider_cancels_the_theatres_ticket_and_frees_the_seats(stand: Stand) -> None:
    # Given a confirmed booking at a connected cinema: the theatre's ticket stands
    show_id, theatre_show = await stand.show()
    checkout = await stand.buy(show_id, 31, "D3", "D4")
    assert (await stand.pay(checkout)).outcome == ConfirmationOutcome.CONFIRMED
    assert len(await stand.marquee_tickets_at_theatre(theatre_show)) == 1

    # When the provider reports the whole payment refunded (a dispute, the dashboard)
    refund = dataclasses.replace(
        stand.payment(checkout, f"evt_{secrets.token_hex(6)}"),
        kind=PaymentEventKind.REFUNDED,
        checkout_id=None,
    )
    await stand.record(refund)
    result = await stand.core.bookings.confirm_payment(refund)

    # Then the booking is refunded, its ticket void here and cancelled at the theatre, the seats free
    assert result.outcome == ConfirmationOutcome.REFUNDED
    booking = await stand.booking(checkout.booking_id)
    assert booking.status == BookingStatus.REFUNDED
    assert booking.ticket is not None and booking.ticket.cancelled_at is not None
    assert await stand.marquee_tickets_at_theatre(theatre_show) == {}
    (d3,) = await stand.seats(show_id, "D3")
    assert (await stand.holds.seat_map(show_id, 99)).states[d3] == SeatState.FREE
    # And the customer is told
    assert RefundStarted(checkout.booking_id, 31, REFUNDED_AT_PROVIDER) in stand.sink.events
