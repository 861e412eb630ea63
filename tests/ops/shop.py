"""The test's own hands on the system the roles run: seed a show, open bookings as the bot would, pay them
on a web process's sandbox checkout page, and read the outcome from SQL.

The core is opened through roles/resources.py on the same database and Redis as the roles, so a
booking opened here is one any web process can take payment for and any worker can settle.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
from sqlalchemy import func, select

from booking_core.bookings.checkout import CheckoutStarted
from booking_core.events import CollectingSink
from booking_core.holds.store import Hold
from booking_core.models import Booking, BookingStatus, PaymentEvent
from roles.resources import Core, open_core
from tests.factories import make_customer
from tests.support.settings import stand_settings

PAID = "Payment complete"
NOT_ACCEPTED = "did not accept the notice"


@dataclass(frozen=True)
class OpenBooking:
    """A booking awaiting payment, with its checkout at the sandbox provider."""

    booking_id: int
    user_id: int
    checkout_id: str
    seat_ids: tuple[int, ...]


@dataclass
class Shop:
    """The core on the roles' database and Redis, and an HTTP client for the checkout pages."""

    core: Core
    http: aiohttp.ClientSession

    async def open_booking(self, user_id: int, seat_ids: list[int], show_id: int) -> OpenBooking:
        """Hold the seats, start the checkout and open it at the provider, as the bot's checkout does."""
        await make_customer(self.core.sessions, user_id, name=f"Fan{user_id}")
        hold = await self.core.holds.hold(show_id, user_id, seat_ids)
        assert isinstance(hold, Hold), hold
        started = await self.core.bookings.start_checkout(hold)
        assert isinstance(started, CheckoutStarted), started
        provider = self.core.payment_provider
        checkout = await provider.create_checkout(started.checkout_request())
        await self.core.bookings.record_checkout(
            started.booking_id, provider.name, checkout.checkout_id, checkout.url
        )
        return OpenBooking(started.booking_id, user_id, checkout.checkout_id, tuple(seat_ids))

    async def pay(self, base_url: str, checkout_id: str) -> tuple[int, str]:
        """Press Pay on the checkout page served at `base_url`: the page's status and text."""
        async with self.http.post(f"{base_url}/sandbox/pay/{checkout_id}/pay") as answer:
            return answer.status, await answer.text()

    async def statuses(self, booking_ids: list[int]) -> dict[int, str]:
        """The bookings' statuses now."""
        async with self.core.sessions() as session:
            rows = await session.execute(
                select(Booking.id, Booking.status).where(Booking.id.in_(booking_ids))
            )
            return {booking_id: str(status) for booking_id, status in rows}

    async def all_confirmed(self, booking_ids: list[int]) -> bool:
        """Whether every one of the bookings is confirmed."""
        statuses = await self.statuses(booking_ids)
        return len(statuses) == len(booking_ids) and all(
            s == BookingStatus.CONFIRMED for s in statuses.values()
        )

    async def payment_event_ids(self) -> list[int]:
        """The stored payment events' ids, oldest first."""
        async with self.core.sessions() as session:
            return list(await session.scalars(select(PaymentEvent.id).order_by(PaymentEvent.id)))

    async def payment_event_count(self) -> int:
        """Stored payment events."""
        async with self.core.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(PaymentEvent)) or 0)


@asynccontextmanager
async def open_shop(database_url: str, redis_url: str, public_base_url: str) -> AsyncIterator[Shop]:
    """The test's core on the roles' services (checkout URLs pointing at `public_base_url`)."""
    settings = stand_settings(
        database_url,
        REDIS_URL=redis_url,
        PUBLIC_BASE_URL=public_base_url,
        TELEGRAM_BOT_TOKEN=None,
    )
    async with open_core(settings, redis_url, CollectingSink()) as core, aiohttp.ClientSession() as http:
        yield Shop(core, http)
