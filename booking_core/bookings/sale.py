"""Recording a sale in SQL, inside the transaction that settles a payment: the booked seats (whose
UNIQUE (show, seat) decides every race), the ticket and its messages. Used by the confirmation of a
payment and by the later commits of a connected cinema's sales.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from booking_core.models import BookedSeat, Booking, BookingStatus, Ticket
from booking_core.tickets.codes import new_ticket_code
from booking_core.tickets.outbox import add_ticket_notifications

TICKET_CODE_ATTEMPTS = 5


async def locked_booking(session: AsyncSession, booking_id: int) -> Booking | None:
    """The booking with its lines and customer, its row locked until the transaction ends."""
    # FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already lets one writer in at a time.
    return await session.scalar(
        select(Booking)
        .where(Booking.id == booking_id)
        .with_for_update()
        .options(selectinload(Booking.lines), selectinload(Booking.customer))
        .execution_options(populate_existing=True)
    )


async def record_sale(
    session: AsyncSession,
    booking: Booking,
    show_starts_at: datetime,
    now: datetime,
    *,
    reminder_minutes: int,
    theatre_ticket_id: str | None = None,
) -> bool:
    """Within the transaction: sell the booking's seats, issue its ticket and its messages, confirm it.

    False, with nothing written, when a seat is already sold. `booking.lines` and `booking.customer`
    must be loaded.
    """
    if not await _insert_booked_seats(session, booking):
        return False
    await _issue_ticket(session, booking.id, now, theatre_ticket_id)
    add_ticket_notifications(
        session, booking.id, booking.customer, show_starts_at, reminder_minutes=reminder_minutes, now=now
    )
    booking.status = BookingStatus.CONFIRMED
    return True


async def _insert_booked_seats(session: AsyncSession, booking: Booking) -> bool:
    """The sale itself; False when any seat is already sold (the UNIQUE constraint said so)."""
    rows = [
        {"show_id": booking.show_id, "seat_id": seat_id, "booking_id": booking.id}
        # Sorted, so two sales of overlapping seats lock them in the same order and never deadlock.
        for seat_id in sorted(line.seat_id for line in booking.lines)
    ]
    try:
        async with session.begin_nested():
            # One INSERT of every seat (nothing reads the rows back).
            await session.execute(insert(BookedSeat), rows)
    except IntegrityError:
        return False
    return True


async def _issue_ticket(
    session: AsyncSession, booking_id: int, now: datetime, theatre_ticket_id: str | None
) -> None:
    # At a connected cinema the theatre's ticket id is the ticket; our code stays for support.
    for _attempt in range(TICKET_CODE_ATTEMPTS):
        try:
            async with session.begin_nested():
                ticket = Ticket(
                    booking_id=booking_id,
                    code=new_ticket_code(),
                    theatre_ticket_id=theatre_ticket_id,
                    issued_at=now,
                )
                session.add(ticket)
                await session.flush()
        except IntegrityError:
            continue  # a code collision (2^50 codes make it rare): draw another
        return
    raise RuntimeError(f"no free ticket code after {TICKET_CODE_ATTEMPTS} attempts")
