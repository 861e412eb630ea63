"""Recording a sale in SQL, inside the transaction that settles a payment: the booked seats (whose
UNIQUE (show, seat) decides every race), the ticket and its messages. Used by the confirmation of a
payment and by the later commits of a connected cinema's sales, which also share how they read and
lock the booking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from booking_core.database import insert_or_skip
from booking_core.models import BookedSeat, Booking, BookingLine, BookingStatus, Customer, Ticket
from booking_core.tickets.codes import new_ticket_code
from booking_core.tickets.outbox import add_ticket_notifications

TICKET_CODE_ATTEMPTS = 5


@dataclass(frozen=True)
class BookingFacts:
    """A booking as read before its settling transaction: whose, which seats, what price, which hold."""

    id: int
    show_id: int
    user_id: int  # the customer's Telegram user id
    status: BookingStatus
    hold_token: str
    hold_expires_at: datetime
    seat_ids: tuple[int, ...]  # sorted
    amount_minor: int
    currency: str
    theatre_lock_id: str | None


async def booking_facts(session: AsyncSession, booking_ids: Sequence[int]) -> list[BookingFacts]:
    """The facts of these bookings (unknown ids left out), in two Core statements, without locking."""
    if not booking_ids:
        return []
    # Core statements rather than ORM loads: a profile of a confirmation burst showed the loads'
    # object building among its largest costs.
    rows = await session.execute(
        select(
            Booking.id,
            Booking.show_id,
            Customer.telegram_user_id,
            Booking.status,
            Booking.hold_token,
            Booking.hold_expires_at,
            Booking.amount_minor,
            Booking.currency,
            Booking.theatre_lock_id,
        )
        .join(Customer, Customer.id == Booking.customer_id)
        .where(Booking.id.in_(booking_ids))
    )
    lines = await session.execute(
        select(BookingLine.booking_id, BookingLine.seat_id).where(BookingLine.booking_id.in_(booking_ids))
    )
    seats: dict[int, list[int]] = {}
    for booking_id, seat_id in lines:
        seats.setdefault(booking_id, []).append(seat_id)
    return [
        BookingFacts(
            id=row.id,
            show_id=row.show_id,
            user_id=row.telegram_user_id,
            status=BookingStatus(row.status),
            hold_token=row.hold_token,
            hold_expires_at=row.hold_expires_at,
            seat_ids=tuple(sorted(seats.get(row.id, ()))),
            amount_minor=row.amount_minor,
            currency=row.currency,
            theatre_lock_id=row.theatre_lock_id,
        )
        for row in rows
    ]


async def locked_booking(session: AsyncSession, booking_id: int) -> Booking | None:
    """The booking with its customer (one statement), its row locked until the transaction ends."""
    return (await locked_bookings(session, [booking_id])).get(booking_id)


async def locked_bookings(session: AsyncSession, booking_ids: Sequence[int]) -> dict[int, Booking]:
    """These bookings (unknown ids left out) with their customers, by id, in one statement, their rows
    locked until the transaction ends."""
    # FOR UPDATE on PostgreSQL, in id order so that two transactions never wait on each other's rows
    # in opposite orders; SQLite's BEGIN IMMEDIATE already lets one writer in at a time.
    found = await session.scalars(
        select(Booking)
        .where(Booking.id.in_(booking_ids))
        .order_by(Booking.id)
        .with_for_update(of=Booking)
        .options(joinedload(Booking.customer, innerjoin=True))
        .execution_options(populate_existing=True)
    )
    return {booking.id: booking for booking in found}


async def record_sale(
    session: AsyncSession,
    booking: Booking,
    seat_ids: Sequence[int],
    show_starts_at: datetime,
    now: datetime,
    *,
    reminder_minutes: int,
    theatre_ticket_id: str | None = None,
) -> bool:
    """Within the transaction: sell the booking's seats, issue its ticket and its messages, confirm it.

    False, with nothing written, when a seat is already sold. `booking.customer` must be loaded
    (`locked_booking` does).
    """
    if not await _insert_booked_seats(session, booking, seat_ids):
        return False
    await _issue_ticket(session, booking.id, now, theatre_ticket_id)
    await add_ticket_notifications(
        session, booking.id, booking.customer, show_starts_at, reminder_minutes=reminder_minutes, now=now
    )
    booking.status = BookingStatus.CONFIRMED
    return True


async def _insert_booked_seats(session: AsyncSession, booking: Booking, seat_ids: Sequence[int]) -> bool:
    """The sale itself; False when any seat is already sold (the UNIQUE constraint said so)."""
    rows = [
        {"show_id": booking.show_id, "seat_id": seat_id, "booking_id": booking.id}
        # Sorted, so two sales of overlapping seats lock them in the same order and never deadlock.
        for seat_id in sorted(seat_ids)
    ]
    # One INSERT of every seat; a seat sold already is skipped, and RETURNING tells which went in. The
    # rows go as parameters, not as multi-row VALUES: that statement is compiled once, not every time.
    inserted = await session.scalars(
        insert_or_skip(session, BookedSeat).on_conflict_do_nothing().returning(BookedSeat.seat_id),
        rows,
    )
    taken = inserted.all()
    if len(taken) == len(rows):
        return True
    if taken:
        # Some seat was sold: take back the ones that did go in, so nothing of this sale is written.
        await session.execute(
            delete(BookedSeat).where(BookedSeat.show_id == booking.show_id, BookedSeat.seat_id.in_(taken))
        )
    return False


async def _issue_ticket(
    session: AsyncSession, booking_id: int, now: datetime, theatre_ticket_id: str | None
) -> None:
    # At a connected cinema the theatre's ticket id is the ticket; our code stays for support.
    for _attempt in range(TICKET_CODE_ATTEMPTS):
        issued = await session.scalar(
            insert_or_skip(session, Ticket)
            .values(
                booking_id=booking_id,
                code=new_ticket_code(),
                theatre_ticket_id=theatre_ticket_id,
                issued_at=now,
            )
            # A code collision (2^50 codes make it rare) inserts nothing: draw another.
            .on_conflict_do_nothing(index_elements=[Ticket.code])
            .returning(Ticket.id)
        )
        if issued is not None:
            return
    raise RuntimeError(f"no free ticket code after {TICKET_CODE_ATTEMPTS} attempts")
