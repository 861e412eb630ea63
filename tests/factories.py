"""Small builders of catalogue rows for tests that need a show and its hall."""

from __future__ import annotations

import itertools
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

from booking_core.database import SessionFactory
from booking_core.models import (
    Booking,
    BookingStatus,
    Cinema,
    City,
    Customer,
    Hall,
    Movie,
    Seat,
    Show,
    ShowPrice,
    utc_now,
)
from booking_core.tickets.outbox import TicketNotifications, add_ticket_notifications

_serial = itertools.count(1)


@dataclass(frozen=True)
class ShowFixture:
    """Ids of a show built for a test, with its seats in hall order."""

    show_id: int
    hall_id: int
    cinema_id: int
    seat_ids: list[int]


async def make_show(
    sessions: SessionFactory,
    *,
    rows: int = 5,
    seats_per_row: int = 8,
    aisle_after: int | None = None,
    starts_at: datetime | None = None,
    prices: dict[str, int] | None = None,
    wheelchair_seats: int = 0,
    system: str = "local",
    on_sale_at: datetime | None = None,
    sale_queue: bool = False,
) -> ShowFixture:
    """A city, cinema, hall of rows x seats_per_row (optional aisle), movie and one show."""
    n = next(_serial)
    async with sessions() as session:
        city = City(name=f"City {n}", latitude=52.5 + n / 100, longitude=13.4, timezone="Europe/Berlin")
        cinema = Cinema(
            city=city,
            name=f"Cinema {n}",
            address=f"{n} Main Street",
            latitude=52.5,
            longitude=13.4,
            timezone="Europe/Berlin",
            system=system,
            external_id=f"cinema-{n}",
        )
        hall = Hall(cinema=cinema, name=f"Hall {n}")
        for row in range(rows):
            for number in range(1, seats_per_row + 1):
                column = number + (1 if aisle_after and number > aisle_after else 0)
                wheelchair = row == rows - 1 and number <= wheelchair_seats
                hall.seats.append(
                    Seat(
                        row_index=row,
                        row_label=string.ascii_uppercase[row],
                        number=number,
                        column=column,
                        category="wheelchair" if wheelchair else "standard",
                    )
                )
        movie = Movie(
            external_id=f"movie-{n}", title=f"Movie {n}", runtime_minutes=120, age_rating="12", language="en"
        )
        show = Show(
            external_id=f"show-{n}",
            movie=movie,
            hall=hall,
            starts_at=starts_at or utc_now() + timedelta(days=1),
            currency="EUR",
            on_sale_at=on_sale_at,
            sale_queue=sale_queue,
        )
        for category, amount in (prices or {"standard": 1200, "wheelchair": 900}).items():
            show.prices.append(ShowPrice(category=category, amount_minor=amount))
        session.add(show)
        await session.commit()
        return ShowFixture(
            show_id=show.id, hall_id=hall.id, cinema_id=cinema.id, seat_ids=[seat.id for seat in hall.seats]
        )


async def make_customer(sessions: SessionFactory, telegram_user_id: int, **fields: object) -> int:
    """A customer for a Telegram user; returns its id."""
    async with sessions() as session:
        customer = Customer(telegram_user_id=telegram_user_id, chat_id=telegram_user_id, **fields)
        session.add(customer)
        await session.commit()
        return customer.id


async def make_ticketed_booking(sessions: SessionFactory, *, phone: str) -> int:
    """A confirmed booking (fresh show and customer with `phone`) with its ticket outbox rows; its id."""
    show = await make_show(sessions, rows=1, seats_per_row=2)
    customer_id = await make_customer(sessions, secrets.randbelow(10**9), phone=phone)
    async with sessions() as session:
        booking = Booking(
            show_id=show.show_id,
            customer_id=customer_id,
            status=BookingStatus.CONFIRMED,
            hold_token=secrets.token_hex(8),
            hold_expires_at=utc_now(),
            amount_minor=1200,
            currency="EUR",
        )
        session.add(booking)
        await session.flush()
        customer = await session.get(Customer, customer_id)
        assert customer is not None
        starts_at = utc_now() + timedelta(days=1)
        ticket = TicketNotifications(booking.id, customer, starts_at, utc_now(), reminder_minutes=0)
        await add_ticket_notifications(session, [ticket])
        await session.commit()
        return booking.id
