"""What must hold after any run, read from SQL: nothing lost, nothing doubled.

- no seat of a show is sold twice, and every sold seat belongs to a confirmed booking;
- every confirmed booking sold exactly its own seats, has exactly one ticket and exactly one Telegram
  ticket notification, sent;
- every stored payment event was settled, once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select

from booking_core.database import SessionFactory
from booking_core.models import (
    BookedSeat,
    Booking,
    BookingLine,
    BookingStatus,
    Customer,
    Notification,
    NotificationStatus,
    PaymentEvent,
    Ticket,
)
from booking_core.tickets.outbox import Channel, NotificationKind

DELIVERED = (NotificationStatus.SENT, NotificationStatus.DELIVERED)


@dataclass(frozen=True)
class Sales:
    """The sales of one show as SQL has them."""

    confirmed: dict[int, int]  # booking id -> Telegram user id
    sold_seats: list[int]  # one entry per booked_seats row
    outcomes: Counter[str]  # settled payment events (of every show) by outcome
    problems: list[str]

    @property
    def buyers(self) -> Counter[int]:
        """Confirmed bookings per Telegram user."""
        return Counter(self.confirmed.values())


async def read_sales(sessions: SessionFactory, show_id: int) -> Sales:
    """Check every invariant of the show's sales; the problems found are listed, not raised."""
    problems: list[str] = []
    async with sessions() as session:
        bookings = (
            await session.execute(
                select(Booking.id, Booking.status, Customer.telegram_user_id)
                .join(Customer, Customer.id == Booking.customer_id)
                .where(Booking.show_id == show_id)
            )
        ).all()
        confirmed = {b.id: int(b.telegram_user_id) for b in bookings if b.status == BookingStatus.CONFIRMED}
        booked = (
            await session.execute(
                select(BookedSeat.seat_id, BookedSeat.booking_id).where(BookedSeat.show_id == show_id)
            )
        ).all()
        lines = (
            await session.execute(
                select(BookingLine.booking_id, BookingLine.seat_id).where(
                    BookingLine.booking_id.in_(confirmed)
                )
            )
        ).all()
        tickets = Counter(
            await session.scalars(select(Ticket.booking_id).where(Ticket.booking_id.in_(confirmed)))
        )
        notices = (
            await session.execute(
                select(Notification.booking_id, Notification.status).where(
                    Notification.booking_id.in_(confirmed),
                    Notification.channel == Channel.TELEGRAM,
                    Notification.kind == NotificationKind.TICKET,
                )
            )
        ).all()
        events = (await session.execute(select(PaymentEvent.id, PaymentEvent.outcome))).all()

    sold_seats = [row.seat_id for row in booked]
    twice = [seat for seat, n in Counter(sold_seats).items() if n > 1]
    if twice:
        problems.append(f"seats sold twice: {twice}")
    if stray := sorted({row.booking_id for row in booked} - set(confirmed)):
        problems.append(f"sold seats of bookings that are not confirmed: {stray}")
    for booking_id in confirmed:
        own = sorted(row.seat_id for row in lines if row.booking_id == booking_id)
        sold = sorted(row.seat_id for row in booked if row.booking_id == booking_id)
        if own != sold:
            problems.append(f"booking {booking_id} bought {own} but sold {sold}")
        if tickets[booking_id] != 1:
            problems.append(f"booking {booking_id} has {tickets[booking_id]} tickets")
        statuses = [row.status for row in notices if row.booking_id == booking_id]
        if len(statuses) != 1 or statuses[0] not in DELIVERED:
            problems.append(f"booking {booking_id}: Telegram ticket notifications {statuses}")
    if unsettled := [event.id for event in events if event.outcome is None]:
        problems.append(f"payment events never settled: {unsettled}")
    outcomes = Counter(str(event.outcome) for event in events if event.outcome is not None)
    return Sales(confirmed, sold_seats, outcomes, problems)


async def settled_sales(sessions: SessionFactory, show_id: int, confirmed: int) -> Sales | None:
    """The show's sales once `confirmed` bookings are confirmed with nothing amiss (for `wait_until`)."""
    sales = await read_sales(sessions, show_id)
    return sales if len(sales.confirmed) == confirmed and not sales.problems else None
