"""What the bot needs of the booking core. The process that runs the bot hands one in (roles' Core)."""

from __future__ import annotations

from typing import Protocol

import redis.asyncio as aioredis

from booking_core.bookings.service import Bookings
from booking_core.catalogue.queries import CatalogueQueries
from booking_core.database import SessionFactory
from booking_core.holds.store import HoldStore
from booking_core.payments.port import PaymentProvider
from booking_core.settings import Settings


class BookingCore(Protocol):
    """The booking core as the bot uses it: catalogue, holds, bookings, payments, SQL and Redis."""

    catalogue: CatalogueQueries
    holds: HoldStore
    bookings: Bookings
    payment_provider: PaymentProvider
    settings: Settings
    sessions: SessionFactory
    redis: aioredis.Redis
