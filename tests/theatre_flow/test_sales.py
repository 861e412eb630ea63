"""Paying for seats of a connected cinema: the theatre's ticket, late and lost commits, outages, refunds."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from booking_core.bookings.cancellation import Cancelled
from booking_core.bookings.confirmation import ConfirmationOutcome
from booking_core.bookings.errors import CancelRefusal, CancelRefused
from booking_core.events import BookingConfirmed, RefundStarted
from booking_core.holds.seat_map import SeatState
from booking_core.models import BookingStatus, utc_now
from tests.conftest import postgresql_only
from tests.theatre_flow.stand import Stand


def refunds_started(stand: Stand, booking_id: int) -> list[RefundStarted]:
    return [e for e in stand.sink.events if isinstance(e, RefundStarted) and e.booking_id == booking_id]


async def test_a_paid_hold_becomes_the_theatres_ticket_with_our_code_beside_it(stand: Stand) -> None:
    show_id, theatre_show = await stand.show()
    checkout = await stand.buy(show_id, 10, "C1", "C2")
    assert (await stand.claims(theatre_show))["C1"][0] == "lock"

    result = await stand.pay(checkout)

    assert result.outcome == ConfirmationOutcome.CONFIRMED
    booking = await stand.booking(checkout.booking_id)
    assert booking.ticket is not None and booking.ticket.theatre_ticket_id and booking.ticket.code
    at_theatre = await stand.marquee_tickets_at_theatre(theatre_show)
    assert at_theatre == {booking.ticket.theatre_ticket_id: ("C1", "C2")} == await stand.our_tickets(show_id)
    view = await stand.core.bookings.ticket_view(checkout.booking_id)
    assert view is not None and view.theatre_ticket_id == booking.ticket.theatre_ticket_id
    (c1,) = await stand.seats(show_id, "C1")
    assert (await stand.holds.seat_map(show_id, 99)).states[c1] == SeatState.SOLD
    assert await stand.holds.current_hold(show_id, 10) is None


async def test_a_lock_that_lapsed_at_the_theatre_is_taken_again_and_committed_while_the_seats_are_free(
    stand: Stand,
) -> None:
    # Given a booking whose theatre lock lapses before the payment arrives
    show_id, theatre_show = await stand.show()
    checkout = await stand.buy(show_id, 10, "B3", "B4")
    first_lock = (await stand.claims(theatre_show))["B3"][1]
    stand.clock.advance(stand.core.settings.HOLD_SECONDS + 60)
    # When the payment arrives
    result = await stand.pay(checkout)
    # Then the seats are locked again and sold: one ticket, the same at the theatre and with us
    assert result.outcome == ConfirmationOutcome.CONFIRMED
    booking = await stand.booking(checkout.booking_id)
    assert booking.status == BookingStatus.CONFIRMED and booking.theatre_lock_id != first_lock
    assert booking.ticket is not None
    assert await stand.marquee_tickets_at_theatre(theatre_show) == {
        booking.ticket.theatre_ticket_id: ("B3", "B4")
    }
    assert await stand.our_tickets(show_id) == {booking.ticket.theatre_ticket_id: ("B3", "B4")}


async def test_a_lock_that_lapsed_is_refunded_when_its_seats_went_to_the_box_office(stand: Stand) -> None:
    # Given a booking whose lock lapsed, and the box office selling one of its seats meanwhile
    show_id, theatre_show = await stand.show()
    checkout = await stand.buy(show_id, 11, "B5", "B6")
    stand.clock.advance(stand.core.settings.HOLD_SECONDS + 60)
    assert await stand.box_office(theatre_show, "B6") == 201
    # When the payment arrives
    result = await stand.pay(checkout)
    # Then it goes the late-payment way: refund pending, the user told why, no ticket anywhere
    assert result.outcome == ConfirmationOutcome.REFUND_PENDING and "B6" in (result.reason or "")
    booking = await stand.booking(checkout.booking_id)
    assert booking.status == BookingStatus.REFUND_PENDING and booking.ticket is None
    assert len(refunds_started(stand, checkout.booking_id)) == 1
    assert [due.booking_id for due in await stand.core.bookings.refund_due()] == [checkout.booking_id]
    assert await stand.marquee_tickets_at_theatre(theatre_show) == {}
    claims = await stand.claims(theatre_show)
    assert "B5" not in claims and claims["B6"][0] == "sale"
    assert await stand.holds.current_hold(show_id, 11) is None


@postgresql_only
async def test_the_same_payment_event_twice_at_once_yields_one_ticket(stand: Stand) -> None:
    show_id, theatre_show = await stand.show()
    # Given a booking and its payment event, delivered twice at once
    checkout = await stand.buy(show_id, 12, "D1", "D2")
    event = stand.payment(checkout, "evt_twice")
    await stand.record(event)
    results = await asyncio.gather(*(stand.core.bookings.confirm_payment(event) for _ in range(2)))
    # Then one delivery confirms it (the booking's row lock keeps the other waiting) and one ticket exists
    outcomes = sorted(result.outcome for result in results)
    assert ConfirmationOutcome.CONFIRMED in outcomes and len(set(outcomes)) == 2
    at_theatre = await stand.marquee_tickets_at_theatre(theatre_show)
    assert sorted(at_theatre.values()) == [("D1", "D2")]
    assert await stand.our_tickets(show_id) == at_theatre


async def test_a_commit_whose_answer_was_lost_is_sent_again_and_yields_one_ticket(stand: Stand) -> None:
    show_id, theatre_show = await stand.show()
    # Given a commit whose answer is lost on the way, so the adapter sends it again with the same key
    checkout = await stand.buy(show_id, 13, "D5")
    stand.sandbox.faults.lose_next = 1
    assert (await stand.pay(checkout)).outcome == ConfirmationOutcome.CONFIRMED
    # Then there is one ticket, at the theatre and with us
    at_theatre = await stand.marquee_tickets_at_theatre(theatre_show)
    assert sorted(at_theatre.values()) == [("D5",)]
    assert await stand.our_tickets(show_id) == at_theatre


async def paid_while_the_theatre_was_down(stand: Stand) -> tuple[int, str, int]:
    """A booking paid while its theatre was down, still waiting after a retry, the theatre back now.

    Its show id, the theatre's show id and the booking id.
    """
    show_id, theatre_show = await stand.show()
    checkout = await stand.buy(show_id, 14, "G1", "G2")
    await stand.sandbox.stop()
    assert (await stand.pay(checkout)).outcome == ConfirmationOutcome.PAID_UNCONFIRMED
    booking = await stand.booking(checkout.booking_id)
    assert booking.status == BookingStatus.PAID_UNCONFIRMED and booking.ticket is None
    # the worker keeps trying, and it keeps waiting
    assert (await stand.finish(utc_now() + timedelta(minutes=1))).waiting == 1
    assert (await stand.booking(checkout.booking_id)).status == BookingStatus.PAID_UNCONFIRMED
    await stand.sandbox.start()
    await stand.wait_for_breaker()
    return show_id, theatre_show, checkout.booking_id


async def assert_completed_once(stand: Stand, show_id: int, theatre_show: str, booking_id: int) -> None:
    """The booking is confirmed with one ticket, here and at the theatre, the customer told once."""
    booking = await stand.booking(booking_id)
    assert booking.status == BookingStatus.CONFIRMED and booking.ticket is not None
    assert await stand.marquee_tickets_at_theatre(theatre_show) == {
        booking.ticket.theatre_ticket_id: ("G1", "G2")
    }
    assert await stand.our_tickets(show_id) == {booking.ticket.theatre_ticket_id: ("G1", "G2")}
    confirmed = [e for e in stand.sink.events if isinstance(e, BookingConfirmed)]
    assert [e.booking_id for e in confirmed] == [booking_id]
    assert await stand.waiting_for_theatre() == 0


async def test_a_paid_booking_waits_while_the_theatre_is_down_and_completes_once_when_it_returns(
    stand: Stand,
) -> None:
    # Given a booking paid while its theatre was down, and the theatre back
    show_id, theatre_show, booking_id = await paid_while_the_theatre_was_down(stand)
    # When the worker's next pass runs, and another after it
    later = utc_now() + timedelta(minutes=2)
    assert (await stand.finish(later)).confirmed == 1
    assert (await stand.finish(later + timedelta(minutes=5))).confirmed == 0
    # Then the sale is completed exactly once
    await assert_completed_once(stand, show_id, theatre_show, booking_id)


@postgresql_only
async def test_two_workers_finishing_a_paid_booking_at_once_complete_it_once(stand: Stand) -> None:
    # Given a booking paid while its theatre was down, and the theatre back
    show_id, theatre_show, booking_id = await paid_while_the_theatre_was_down(stand)
    # When two workers run their pass at once (SKIP LOCKED gives the booking to one of them)
    later = utc_now() + timedelta(minutes=2)
    reports = await asyncio.gather(stand.finish(later), stand.finish(later))
    # Then the sale is completed exactly once
    assert sum(report.confirmed for report in reports) == 1
    await assert_completed_once(stand, show_id, theatre_show, booking_id)


async def test_a_sale_the_theatre_never_confirms_is_refunded_after_the_deadline_and_undone_there(
    stand: Stand,
) -> None:
    # Given a commit that went through at the theatre but whose every answer was lost
    show_id, theatre_show = await stand.show()
    checkout = await stand.buy(show_id, 15, "H1")
    stand.sandbox.faults.lose_next = 3
    assert (await stand.pay(checkout)).outcome == ConfirmationOutcome.PAID_UNCONFIRMED
    assert len(await stand.marquee_tickets_at_theatre(theatre_show)) == 1
    # When the theatre stays unreachable past the deadline
    await stand.sandbox.stop()
    deadline = stand.core.settings.THEATRE_COMMIT_DEADLINE_MINUTES
    report = await stand.finish(utc_now() + timedelta(minutes=deadline + 1))
    # Then the money goes back and the user is told
    assert report.refunded == 1
    booking = await stand.booking(checkout.booking_id)
    assert booking.status == BookingStatus.REFUND_PENDING and booking.ticket is None
    assert len(refunds_started(stand, checkout.booking_id)) == 1
    assert [due.booking_id for due in await stand.core.bookings.refund_due()] == [checkout.booking_id]
    # and once the theatre answers, the ticket it issued after all is cancelled there
    await stand.sandbox.start()
    await stand.wait_for_breaker()
    assert (await stand.finish(utc_now() + timedelta(minutes=deadline + 2))).released == 1
    assert await stand.marquee_tickets_at_theatre(theatre_show) == {}
    assert "H1" not in await stand.claims(theatre_show)
    assert await stand.waiting_for_theatre() == 0


async def test_cancelling_a_booking_cancels_the_theatres_ticket(stand: Stand) -> None:
    show_id, theatre_show = await stand.show()
    checkout = await stand.buy(show_id, 16, "E5", "E6")
    assert (await stand.pay(checkout)).outcome == ConfirmationOutcome.CONFIRMED
    upcoming, _ = await stand.core.bookings.list_tickets(16)
    assert [ticket.can_cancel for ticket in upcoming] == [True]

    # While the theatre is down the cancellation is refused and nothing changes
    await stand.sandbox.stop()
    refused = await stand.core.bookings.cancel(checkout.booking_id, 16)
    assert refused == CancelRefused(CancelRefusal.THEATRE_UNAVAILABLE)
    assert (await stand.booking(checkout.booking_id)).status == BookingStatus.CONFIRMED
    await stand.sandbox.start()
    await stand.wait_for_breaker()

    # Once it answers, the ticket is cancelled there and here, the seats are free, the money goes back
    result = await stand.core.bookings.cancel(checkout.booking_id, 16)
    assert isinstance(result, Cancelled) and result.refund_started
    assert await stand.marquee_tickets_at_theatre(theatre_show) == {}
    assert "E5" not in await stand.claims(theatre_show)
    booking = await stand.booking(checkout.booking_id)
    assert booking.status == BookingStatus.CANCELLED
    assert booking.ticket is not None and booking.ticket.cancelled_at is not None
    (e5,) = await stand.seats(show_id, "E5")
    assert (await stand.holds.seat_map(show_id, 99)).states[e5] == SeatState.FREE


async def test_a_redis_flush_between_checkout_and_payment_still_sells_the_paid_seats(stand: Stand) -> None:
    # Given a checkout at a connected cinema, its seats locked at the theatre for the hold
    show_id, theatre_show = await stand.show()
    checkout = await stand.buy(show_id, 14, "E1", "E2")
    lock_id = (await stand.claims(theatre_show))["E1"][1]
    # When Redis loses everything (our hold and our record of the theatre lock with it)
    await stand.core.redis.flushdb()
    # and the payment arrives while the lock is still live at the theatre
    result = await stand.pay(checkout)
    # Then that very lock is committed: a ticket, no refund, and no lock left behind at the theatre
    assert result.outcome == ConfirmationOutcome.CONFIRMED, result
    booking = await stand.booking(checkout.booking_id)
    assert booking.status == BookingStatus.CONFIRMED and booking.theatre_lock_id == lock_id
    assert booking.ticket is not None
    assert refunds_started(stand, checkout.booking_id) == []
    assert await stand.core.bookings.refund_due() == []
    assert await stand.marquee_tickets_at_theatre(theatre_show) == {
        booking.ticket.theatre_ticket_id: ("E1", "E2")
    }
    assert all(kind == "sale" for kind, _id in (await stand.claims(theatre_show)).values())
