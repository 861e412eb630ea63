"""Sales written straight to SQL, as a committed payment would leave them (booked_seats rows)."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import delete

from booking_core.database import SessionFactory
from booking_core.models import BookedSeat, Booking, BookingStatus, Customer, utc_now

_telegram_ids = itertools.count(9_000_000)


async def sell_in_sql(sessions: SessionFactory, show_id: int, seat_ids: Sequence[int]) -> int:
    """A confirmed booking of these seats for a new customer; returns the booking id."""
    async with sessions() as session:
        telegram_id = next(_telegram_ids)
        customer = Customer(telegram_user_id=telegram_id, chat_id=telegram_id)
        booking = Booking(
            show_id=show_id,
            customer=customer,
            status=BookingStatus.CONFIRMED,
            hold_token=secrets.token_urlsafe(16),
            hold_expires_at=utc_now() + timedelta(minutes=5),
            amount_minor=1200 * len(seat_ids),
            currency="EUR",
        )
        session.add(booking)
        await session.flush()
        session.add_all(BookedSeat(show_id=show_id, seat_id=seat, booking_id=booking.id) for seat in seat_ids)
        await session.commit()
        return booking.id


async def unsell_in_sql(sessions: SessionFactory, show_id: int, seat_ids: Sequence[int]) -> None:
    """Cancel the sale of these seats (their booked_seats rows go)."""
    async with sessions() as session:
        await session.execute(
            delete(BookedSeat).where(BookedSeat.show_id == show_id, BookedSeat.seat_id.in_(list(seat_ids)))
        )
        await session.commit()
