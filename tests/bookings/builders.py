"""Rows the bookings tests start from, written straight to SQL (the way a past run would have left them)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from booking_core.database import SessionFactory
from booking_core.models import Booking, BookingLine, BookingStatus, utc_now


async def make_booking(
    sessions: SessionFactory,
    show_id: int,
    customer_id: int,
    seat_ids: list[int],
    *,
    status: BookingStatus = BookingStatus.PENDING_PAYMENT,
    price_minor: int = 1200,
    hold_seconds: int = 300,
) -> int:
    """A booking of standard seats at `price_minor` each, with a made-up hold token; returns its id."""
    async with sessions() as session:
        booking = Booking(
            show_id=show_id,
            customer_id=customer_id,
            status=status,
            hold_token=secrets.token_urlsafe(16),
            hold_expires_at=utc_now() + timedelta(seconds=hold_seconds),
            amount_minor=price_minor * len(seat_ids),
            currency="EUR",
            lines=[
                BookingLine(seat_id=seat, category="standard", price_minor=price_minor) for seat in seat_ids
            ],
        )
        session.add(booking)
        await session.commit()
        return booking.id
