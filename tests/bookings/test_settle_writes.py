"""What the settling transaction writes, and how many statements it takes to write it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from booking_core.bookings.confirmation import ConfirmationOutcome, ConfirmationResult
from booking_core.bookings.sale import Sale, locked_bookings, record_sales
from booking_core.database import SessionFactory
from booking_core.events import CollectingSink
from booking_core.holds.store import HoldStore
from booking_core.models import BookedSeat, BookingStatus, Notification, Ticket, utc_now
from tests.bookings.builders import make_booking
from tests.bookings.flow import (
    booking_row,
    buy_until_checkout,
    confirm,
    payment,
    sold_seats,
    statements_of,
    store_event,
    ticket_count,
)
from tests.factories import make_customer, make_show

# A plain sale: the one read before the transaction (the checkout's booking with its customer and
# seats), its locked load of the booking with its customer, the payments, the show, the booked seats,
# the ticket, the outbox rows (ticket and reminder, one INSERT), the payment, the booking and the
# event's outcome, plus SQLite's BEGINs (12 there, 10 on PostgreSQL). Payments settling together take
# the same statements in their shared transaction as one alone (tests/bookings/test_settling.py).
MOST_STATEMENTS_PER_SALE = 12


async def test_a_sale_is_settled_in_few_statements_and_without_savepoints(
    engine: AsyncEngine, sessions: SessionFactory, holds: HoldStore, sink: CollectingSink
) -> None:
    # Given a booking paid for
    show = await make_show(sessions)
    checkout = await buy_until_checkout(sessions, holds, show.show_id, 3300, show.seat_ids[:2])
    paid = payment(checkout)
    await store_event(sessions, paid)

    # When it is confirmed
    with statements_of(engine) as sent:
        result = await confirm(sessions, holds, sink, paid)

    # Then it is a sale, written without a savepoint and in no more statements than it needs
    assert result == ConfirmationResult(ConfirmationOutcome.CONFIRMED, checkout.booking_id)
    assert not [statement for statement in sent if "SAVEPOINT" in statement]
    assert len(sent) <= MOST_STATEMENTS_PER_SALE, "\n".join(sent)


async def test_a_sale_that_finds_one_of_its_seats_sold_writes_nothing_of_itself(
    sessions: SessionFactory, holds: HoldStore, sink: CollectingSink
) -> None:
    # Given a booking of two seats on a live hold, and one of the seats sold in SQL behind Redis's back
    # (a sale Redis lost), to another booking
    show = await make_show(sessions)
    first, second = show.seat_ids[:2]
    buyer = await buy_until_checkout(sessions, holds, show.show_id, 3310, [first, second])
    other = await buy_until_checkout(sessions, holds, show.show_id, 3311, [show.seat_ids[5]])
    async with sessions() as session, session.begin():
        session.add(BookedSeat(show_id=show.show_id, seat_id=second, booking_id=other.booking_id))

    # When the buyer's payment arrives
    result = await confirm(sessions, holds, sink, payment(buyer))

    # Then the payment goes back, and neither seat is sold to the buyer (the free one stays free)
    assert result.outcome == ConfirmationOutcome.REFUND_PENDING
    assert result.reason == "seats sold to someone else"
    assert await sold_seats(sessions, show.show_id) == {second: [other.booking_id]}
    assert (await booking_row(sessions, buyer.booking_id)).status == BookingStatus.REFUND_PENDING
    async with sessions() as session:
        assert await session.scalar(select(Ticket.id).where(Ticket.booking_id == buyer.booking_id)) is None


async def test_sales_written_together_stand_or_fall_each_as_if_written_alone(
    sessions: SessionFactory,
) -> None:
    # Given three bookings sold in one transaction: the first wants seats A and B, B sold already to
    # someone else; the second wants A too (it would get it after the first failed, written alone);
    # the third wants C
    show = await make_show(sessions)
    seat_a, seat_b, seat_c = show.seat_ids[:3]
    customer = await make_customer(sessions, 3320)
    first = await make_booking(sessions, show.show_id, customer, [seat_a, seat_b])
    second = await make_booking(sessions, show.show_id, customer, [seat_a])
    third = await make_booking(sessions, show.show_id, customer, [seat_c])
    other = await make_booking(sessions, show.show_id, customer, [seat_b], status=BookingStatus.CONFIRMED)
    async with sessions() as session, session.begin():
        session.add(BookedSeat(show_id=show.show_id, seat_id=seat_b, booking_id=other))

    # When their sales are written together
    async with sessions() as session, session.begin():
        locked = await locked_bookings(session, [first, second, third])
        now = utc_now()
        sales = [
            Sale(locked[booking_id], seats, now + timedelta(days=1), now, reminder_minutes=120)
            for booking_id, seats in ((first, [seat_a, seat_b]), (second, [seat_a]), (third, [seat_c]))
        ]
        sold = await record_sales(session, sales)

    # Then the first is not sold and nothing of it is written; the second and third are sold, each
    # with its ticket and messages
    assert sold == {second, third}
    assert await sold_seats(sessions, show.show_id) == {seat_a: [second], seat_b: [other], seat_c: [third]}
    assert [await ticket_count(sessions, booking_id) for booking_id in (first, second, third)] == [0, 1, 1]
    assert (await booking_row(sessions, first)).status == BookingStatus.PENDING_PAYMENT
    assert (await booking_row(sessions, third)).status == BookingStatus.CONFIRMED
    async with sessions() as session:
        messaged = await session.scalars(select(Notification.booking_id).distinct())
        assert sorted(messaged) == sorted([second, third])
