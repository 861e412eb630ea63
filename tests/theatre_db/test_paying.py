"""Selling a database-linked cinema through the whole system: open_core with a `database_url` theatre.

The theatre's lock lapses while its holder pays (the theatre's time passes: its lock rows say so), and
the payment is honoured by locking again, or refunded when the cinema's till sold a seat meanwhile.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.theatre.db_tables import seat_claims, seat_locks
from booking_core.bookings.checkout import CheckoutStarted
from booking_core.bookings.confirmation import ConfirmationOutcome
from booking_core.bookings.customers import get_or_create_customer
from booking_core.events import CollectingSink
from booking_core.holds.store import Hold
from booking_core.models import Booking, BookingStatus, Seat, Show, Ticket
from booking_core.payments.port import PaymentEvent, PaymentEventKind
from roles.redis_server import RedisEndpoint
from roles.resources import Core, open_core
from sandbox.theatre_db import boxoffice
from tests.support.database import fresh_schema
from tests.support.settings import stand_settings
from workers.theatre import sync_theatres

THEATRE = "elbe"


@pytest.fixture
async def core(
    theatre_db: AsyncEngine,
    theatre_db_url: str,
    tmp_path: Path,
    redis_endpoint: RedisEndpoint,
    redis: aioredis.Redis,
) -> AsyncIterator[Core]:
    """The production wiring, selling the theatre database's shows; its schedule synced."""
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'marquee.db'}"
    await fresh_schema(database_url)
    settings = stand_settings(
        database_url,
        THEATRE_SYSTEMS={THEATRE: {"database_url": theatre_db_url}},
        THEATRE_STATUS_SECONDS=0.3,
        THEATRE_TIMEOUT_SECONDS=10,
    )
    async with open_core(settings, redis_endpoint.url, CollectingSink()) as core:
        (report,) = await sync_theatres(core)
        assert report.ok, report.summary()
        yield core


async def buy(core: Core, theatre_show: str, user: int, *labels: str) -> PaymentEvent:
    """Hold the seats of the synced show and start paying; the provider's event for paying in full."""
    async with core.sessions() as session:
        show = await session.scalar(select(Show).where(Show.external_id == f"{THEATRE}:{theatre_show}"))
        assert show is not None
        seats = await session.scalars(select(Seat).where(Seat.hall_id == show.hall_id))
        ids = {seat.label: seat.id for seat in seats}
    await get_or_create_customer(core.sessions, user, chat_id=user)
    hold = await core.holds.hold(show.id, user, [ids[label] for label in labels])
    assert isinstance(hold, Hold), hold
    started = await core.bookings.start_checkout(hold)
    assert isinstance(started, CheckoutStarted), started
    checkout_id = f"cs_test_{started.booking_id}_{secrets.token_hex(4)}"
    await core.bookings.record_checkout(started.booking_id, "stripe", checkout_id, "http://127.0.0.1/pay")
    return PaymentEvent(
        provider="stripe",
        event_id=f"evt_{secrets.token_hex(6)}",
        kind=PaymentEventKind.COMPLETED,
        checkout_id=checkout_id,
        booking_id=started.booking_id,
        amount_minor=started.amount_minor,
        currency="eur",
        payment_id=f"pi_{checkout_id}",
        raw=b"{}",
    )


async def lapse_locks(theatre_db: AsyncEngine) -> None:
    """The theatre's time passes every lock's expiry (nobody is told)."""
    past = datetime(2000, 1, 1)
    async with theatre_db.begin() as connection:
        await connection.execute(update(seat_locks).values(expires_at=past))
        await connection.execute(
            update(seat_claims).where(seat_claims.c.lock_id.is_not(None)).values(expires_at=past)
        )


async def test_a_paid_hold_becomes_the_theatres_ticket(
    core: Core, theatre_db: AsyncEngine, show_id: str
) -> None:
    payment = await buy(core, show_id, 10, "C1", "C2")
    assert (await core.holds.theatre.system(THEATRE).seat_status(show_id)).locked == {"C1", "C2"}  # type: ignore[union-attr]
    result = await core.bookings.confirm_payment(payment)
    assert result.outcome == ConfirmationOutcome.CONFIRMED
    [ticket] = await boxoffice.tickets(theatre_db, show_id)
    async with core.sessions() as session:
        ours = await session.scalar(
            select(Ticket.theatre_ticket_id).where(Ticket.booking_id == payment.booking_id)
        )
    assert ours == ticket["id"] and ticket["seats"] == "C1,C2" and ticket["application"] == "marquee"


async def test_a_lock_that_lapsed_while_its_holder_paid_is_taken_again_and_sold(
    core: Core, theatre_db: AsyncEngine, show_id: str
) -> None:
    payment = await buy(core, show_id, 11, "B3", "B4")
    await lapse_locks(theatre_db)
    result = await core.bookings.confirm_payment(payment)
    assert result.outcome == ConfirmationOutcome.CONFIRMED
    [ticket] = await boxoffice.tickets(theatre_db, show_id)
    assert ticket["seats"] == "B3,B4"


async def test_a_lock_that_lapsed_is_refunded_when_the_till_sold_a_seat_meanwhile(
    core: Core, theatre_db: AsyncEngine, show_id: str
) -> None:
    payment = await buy(core, show_id, 12, "B5", "B6")
    await lapse_locks(theatre_db)
    await boxoffice.sell(theatre_db, show_id, ["B6"])
    result = await core.bookings.confirm_payment(payment)
    assert result.outcome == ConfirmationOutcome.REFUND_PENDING and "B6" in (result.reason or "")
    tickets = await boxoffice.tickets(theatre_db, show_id)
    assert [ticket["application"] for ticket in tickets] == ["boxoffice"]
    async with core.sessions() as session:
        booking = await session.get(Booking, payment.booking_id)
        assert booking is not None and booking.status == BookingStatus.REFUND_PENDING
