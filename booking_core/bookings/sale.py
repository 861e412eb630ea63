"""Recording a sale in SQL, inside the transaction that settles a payment: the booked seats (whose
UNIQUE (show, seat) decides every race), the ticket and its messages. Used by the confirmation of a
payment and by the later commits of a connected cinema's sales, which also share how they read and
lock the booking.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from booking_core.database import insert_or_skip
from booking_core.models import BookedSeat, Booking, BookingLine, BookingStatus, Customer, Ticket
from booking_core.tickets.codes import new_ticket_code
from booking_core.tickets.outbox import TicketNotifications, add_ticket_notifications

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
    """The facts of these bookings (unknown ids left out), in one Core statement, without locking."""
    if not booking_ids:
        return []
    rows = await session.execute(booking_facts_query().where(Booking.id.in_(booking_ids)))
    return list(booking_facts_of(rows).values())


def booking_facts_query() -> Select[*tuple[Any, ...]]:
    """The Core statement reading bookings' facts, a row per seat (`booking_facts_of` reads them back);
    add the where clause, and any columns to join more by."""
    # A Core statement rather than ORM loads: a profile of a confirmation burst showed the loads'
    # object building among its largest costs.
    return (
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
            BookingLine.seat_id,
        )
        .join(Customer, Customer.id == Booking.customer_id)
        .outerjoin(BookingLine, BookingLine.booking_id == Booking.id)
    )


def booking_facts_of(rows: Iterable[Any]) -> dict[int, BookingFacts]:
    """The bookings in the rows of a `booking_facts_query`, by id."""
    bookings: dict[int, Any] = {}
    seats: dict[int, list[int]] = {}
    for row in rows:
        bookings.setdefault(row.id, row)
        if row.seat_id is not None:
            seats.setdefault(row.id, []).append(row.seat_id)
    return {
        row.id: BookingFacts(
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
        for row in bookings.values()
    }


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


@dataclass(frozen=True)
class Sale:
    """A booking to sell inside its settling transaction: its locked row (customer loaded), its seats,
    when its show starts, when it is sold and the reminder it gets; at a connected cinema the theatre's
    ticket id."""

    booking: Booking
    seat_ids: Sequence[int]
    show_starts_at: datetime
    now: datetime
    reminder_minutes: int
    theatre_ticket_id: str | None = None


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
    sale = Sale(booking, seat_ids, show_starts_at, now, reminder_minutes, theatre_ticket_id)
    return bool(await record_sales(session, [sale]))


async def record_sales(session: AsyncSession, sales: Sequence[Sale]) -> set[int]:
    """Within the transaction: `record_sale` for several bookings at once; the ids of those sold.

    One INSERT each for all their seats, tickets and messages. A booking one of whose seats is sold
    already is not sold, and nothing of it is written; the others' sales stand.
    """
    if not sales:
        return set()
    sold = await _insert_booked_seats(session, sales)
    done = [sale for sale in sales if sale.booking.id in sold]
    await _issue_tickets(session, done)
    await add_ticket_notifications(
        session,
        [
            TicketNotifications(
                sale.booking.id, sale.booking.customer, sale.show_starts_at, sale.now, sale.reminder_minutes
            )
            for sale in done
        ],
    )
    for sale in done:
        sale.booking.status = BookingStatus.CONFIRMED
    return sold


async def _insert_booked_seats(session: AsyncSession, sales: Sequence[Sale]) -> set[int]:
    """The sales themselves; the ids of the bookings all of whose seats went in (the UNIQUE constraint
    said which were sold already)."""
    wanted = [(sale.booking.show_id, seat_id) for sale in sales for seat_id in sale.seat_ids]
    if len(set(wanted)) < len(wanted):
        # Two of these sales want one seat: one at a time, so that the first one's failure (another
        # of its seats is sold) leaves that seat to the second, as it would in transactions of their own.
        sold: set[int] = set()
        for sale in sales:
            sold |= await _insert_booked_seats(session, [sale])
        return sold
    rows = sorted(
        (
            {"show_id": sale.booking.show_id, "seat_id": seat_id, "booking_id": sale.booking.id}
            for sale in sales
            for seat_id in sale.seat_ids
        ),
        # Sorted, so two sales of overlapping seats lock them in the same order and never deadlock.
        key=lambda row: (row["show_id"], row["seat_id"]),
    )
    # One INSERT of every seat; a seat sold already is skipped, and RETURNING tells which went in. The
    # rows go as parameters, not as multi-row VALUES: that statement is compiled once, not every time.
    inserted = await session.execute(
        insert_or_skip(session, BookedSeat)
        .on_conflict_do_nothing()
        .returning(BookedSeat.booking_id, BookedSeat.seat_id),
        rows,
    )
    taken: dict[int, list[int]] = {}
    for booking_id, seat_id in inserted:
        taken.setdefault(booking_id, []).append(seat_id)
    sold = set()
    for sale in sales:
        went_in = taken.get(sale.booking.id, [])
        if len(went_in) == len(sale.seat_ids):
            sold.add(sale.booking.id)
        elif went_in:
            # Some seat was sold: take back the ones that did go in, so nothing of this sale is written.
            await session.execute(
                delete(BookedSeat).where(
                    BookedSeat.show_id == sale.booking.show_id, BookedSeat.seat_id.in_(went_in)
                )
            )
    return sold


async def _issue_tickets(session: AsyncSession, sales: Sequence[Sale]) -> None:
    """One ticket per sale, in one INSERT (a code drawn twice is drawn again for its booking)."""
    waiting = {sale.booking.id: sale for sale in sales}
    for _attempt in range(TICKET_CODE_ATTEMPTS):
        if not waiting:
            return
        issued = await session.scalars(
            insert_or_skip(session, Ticket)
            # A code collision (2^50 codes make it rare) inserts nothing: draw another.
            .on_conflict_do_nothing(index_elements=[Ticket.code])
            .returning(Ticket.booking_id),
            [
                {
                    "booking_id": booking_id,
                    "code": new_ticket_code(),
                    # At a connected cinema the theatre's ticket id is the ticket; our code stays for support.
                    "theatre_ticket_id": sale.theatre_ticket_id,
                    "issued_at": sale.now,
                }
                for booking_id, sale in waiting.items()
            ],
        )
        for booking_id in issued:
            del waiting[booking_id]
    if waiting:
        raise RuntimeError(f"no free ticket code after {TICKET_CODE_ATTEMPTS} attempts")
