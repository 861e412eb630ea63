"""The running system for the connected-cinema tests, and the small steps the tests combine.

Everything is the production wiring (roles/resources.open_core with THEATRE_SYSTEMS pointing at the
sandbox theatre over real HTTP); the only thing a test moves by hand is the theatre's clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import aiohttp
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from adapters.theatre.http import HttpTheatreSystem
from booking_core.bookings.confirmation import ConfirmationResult
from booking_core.bookings.customers import get_or_create_customer
from booking_core.bookings.theatre_commits import RetryReport
from booking_core.events import CollectingSink
from booking_core.holds.errors import HoldRefused
from booking_core.holds.seat_map import SeatMap
from booking_core.holds.store import Hold, HoldStore
from booking_core.holds.theatre_holds import TheatreHolds
from booking_core.models import Booking, BookingLine, Show, TheatreCommit, Ticket
from booking_core.models import PaymentEvent as PaymentEventRow
from booking_core.payments.port import PaymentEvent
from roles.resources import Core, open_core
from sandbox.theatre import SANDBOX_TOKEN, TheatreSandbox
from tests.support.clocks import TheatreClock
from tests.support.database import fresh_schema
from tests.support.sales import provider_event, recorded_checkout
from tests.support.settings import stand_settings
from workers.theatre import finish_paid_unconfirmed, sync_theatres

THEATRE = "northlight"
PROVIDER = "sandbox"


@dataclass(frozen=True)
class Checkout:
    """A booking awaiting payment, with the provider checkout recorded for it."""

    booking_id: int
    checkout_id: str
    amount_minor: int
    hold: Hold


@dataclass
class Stand:
    """The system under test, the sandbox theatre it sells for, and what users were told."""

    core: Core
    sandbox: TheatreSandbox
    clock: TheatreClock
    sink: CollectingSink

    @property
    def holds(self) -> HoldStore:
        """The production hold store (with its theatre side)."""
        return self.core.holds

    @property
    def theatre(self) -> TheatreHolds:
        """The hold store's theatre side."""
        assert self.core.holds.theatre is not None
        return self.core.holds.theatre

    @property
    def adapter(self) -> HttpTheatreSystem:
        """Marquee's HTTP client of the sandbox theatre."""
        return cast(HttpTheatreSystem, self.theatre.system(THEATRE))

    # -- the catalogue -------------------------------------------------------------------------------

    async def show(self, hall: str = "riverside-1", days: float = 2.0, skip: int = 0) -> tuple[int, str]:
        """(our id, the theatre's id) of a show in `hall` starting at least `days` from now."""
        store = self.sandbox.store
        after = (self.clock.now + timedelta(days=days)).timestamp()
        shows = [s["id"] for s in await store.call(store.upcoming_shows, 500) if s["starts_at"] > after]
        theatre_id = [show for show in shows if show.startswith(f"{hall}-")][skip]
        return await self.show_id(theatre_id), theatre_id

    async def show_id(self, theatre_show_id: str) -> int:
        """Our id of the theatre's show."""
        async with self.core.sessions() as session:
            found = await session.scalar(
                select(Show.id).where(Show.external_id == f"{THEATRE}:{theatre_show_id}")
            )
        assert found is not None, f"show {theatre_show_id} was not synced"
        return found

    async def seat_map_once(
        self, show_id: int, user_id: int, wanted: Callable[[SeatMap], bool], within: float
    ) -> SeatMap:
        """The first seat map (drawn every 50 ms) that is as `wanted`; fails after `within` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            seat_map = await self.holds.seat_map(show_id, user_id)
            if wanted(seat_map):
                return seat_map
            assert loop.time() < deadline, f"no such seat map within {within} s: {seat_map}"
            await asyncio.sleep(0.05)

    async def seats(self, show_id: int, *labels: str) -> list[int]:
        """Our seat ids of the labelled seats of a connected show."""
        connected = await self.theatre.connected(show_id)
        assert connected is not None
        return [connected.seat_ids[label] for label in labels]

    # -- buying --------------------------------------------------------------------------------------

    async def hold(self, show_id: int, user_id: int, *labels: str) -> Hold | HoldRefused:
        """The user (created if new) tries to hold these seats."""
        await get_or_create_customer(self.core.sessions, user_id, chat_id=user_id)
        return await self.holds.hold(show_id, user_id, await self.seats(show_id, *labels))

    async def check_out(self, hold: Hold) -> Checkout:
        """Start paying for a hold, with a provider checkout recorded."""
        started, checkout_id = await recorded_checkout(self.core.bookings, hold, PROVIDER)
        return Checkout(started.booking_id, checkout_id, started.amount_minor, hold)

    async def buy(self, show_id: int, user_id: int, *labels: str) -> Checkout:
        """Hold the seats and start paying."""
        hold = await self.hold(show_id, user_id, *labels)
        assert isinstance(hold, Hold), hold
        return await self.check_out(hold)

    def payment(self, checkout: Checkout, event_id: str | None = None) -> PaymentEvent:
        """The provider's event: the checkout was paid in full."""
        return provider_event(
            checkout.checkout_id,
            checkout.booking_id,
            checkout.amount_minor,
            provider=PROVIDER,
            event_id=event_id,
        )

    async def record(self, event: PaymentEvent) -> None:
        """Store the raw event, as the webhook does before a worker confirms it."""
        async with self.core.sessions() as session:
            session.add(
                PaymentEventRow(provider=PROVIDER, event_id=event.event_id, event_type="x", payload="{}")
            )
            await session.commit()

    async def pay(self, checkout: Checkout) -> ConfirmationResult:
        """The provider reports the checkout paid in full, and the worker confirms it."""
        event = self.payment(checkout)
        await self.record(event)
        return await self.core.bookings.confirm_payment(event)

    async def finish(self, now: datetime) -> RetryReport:
        """One pass of the worker that finishes paid bookings waiting for the theatre."""
        return await finish_paid_unconfirmed(self.core, now)

    async def sync(self) -> Any:
        """One schedule sync now, as the worker runs it; the theatre's report."""
        (report,) = await sync_theatres(self.core)
        return report

    async def wait_for_breaker(self) -> None:
        """Wait until the adapter's circuit breaker lets a probe through again."""
        await asyncio.sleep(self.adapter.breaker.seconds_until_probe() + 0.05)

    # -- the theatre's side --------------------------------------------------------------------------

    async def box_office(self, theatre_show_id: str, *labels: str) -> int:
        """Sell seats at the theatre's own till over HTTP; the status (201 sold, 409 taken)."""
        url = f"{self.sandbox.base_url}/boxoffice/shows/{theatre_show_id}/sell"
        async with aiohttp.ClientSession() as http, http.post(url, json={"seats": list(labels)}) as answer:
            return answer.status

    async def theatre_tickets(self, theatre_show_id: str) -> list[dict[str, Any]]:
        """Every ticket the theatre has for the show."""
        store = self.sandbox.store
        return await store.call(store.tickets, theatre_show_id)

    async def remove_show(self, theatre_show_id: str) -> None:
        """The theatre drops a show from its schedule (with whatever it had sold or locked of it)."""
        store = self.sandbox.store

        def remove() -> None:
            with store.transaction() as sql:
                ids = (theatre_show_id,)
                sql.execute("DELETE FROM seat_claims WHERE show_id = ?", ids)
                sql.execute(
                    "DELETE FROM lock_seats WHERE lock_id IN (SELECT id FROM locks WHERE show_id = ?)", ids
                )
                sql.execute("DELETE FROM locks WHERE show_id = ?", ids)
                sql.execute(
                    "DELETE FROM ticket_seats WHERE ticket_id IN (SELECT id FROM tickets WHERE show_id = ?)",
                    ids,
                )
                sql.execute("DELETE FROM tickets WHERE show_id = ?", ids)
                sql.execute("DELETE FROM show_prices WHERE show_id = ?", ids)
                sql.execute("DELETE FROM shows WHERE id = ?", ids)

        await store.call(remove)

    async def change_theatre(self, statement: str, *parameters: object) -> None:
        """Change the theatre's own database behind its back (to make its schedule say something)."""
        store = self.sandbox.store

        def change() -> None:
            with store.transaction() as sql:
                sql.execute(statement, parameters)

        await store.call(change)

    async def claims(self, theatre_show_id: str) -> dict[str, tuple[str, str]]:
        """Who has each taken seat at the theatre: label -> ("lock" | "sale", id)."""
        store = self.sandbox.store
        return await store.call(store.claims, theatre_show_id)

    async def marquee_tickets_at_theatre(self, theatre_show_id: str) -> dict[str, tuple[str, ...]]:
        """The theatre's valid tickets sold through Marquee: ticket id -> seats."""
        return {
            ticket["ticket_id"]: tuple(sorted(ticket["seats"]))
            for ticket in await self.theatre_tickets(theatre_show_id)
            if ticket["reference"].startswith("marquee-") and ticket["status"] == "valid"
        }

    # -- our records ---------------------------------------------------------------------------------

    async def our_tickets(self, show_id: int) -> dict[str, tuple[str, ...]]:
        """Our standing tickets of the show: the theatre's ticket id -> seats."""
        async with self.core.sessions() as session:
            tickets = await session.scalars(
                select(Ticket)
                .join(Booking, Booking.id == Ticket.booking_id)
                .where(Booking.show_id == show_id, Ticket.cancelled_at.is_(None))
                .options(
                    selectinload(Ticket.booking).selectinload(Booking.lines).selectinload(BookingLine.seat)
                )
            )
            return {
                str(ticket.theatre_ticket_id): tuple(sorted(line.seat.label for line in ticket.booking.lines))
                for ticket in tickets
            }

    async def booking(self, booking_id: int) -> Booking:
        """The booking as stored now, with its ticket."""
        async with self.core.sessions() as session:
            booking = await session.scalar(
                select(Booking).where(Booking.id == booking_id).options(selectinload(Booking.ticket))
            )
            assert booking is not None
            return booking

    async def waiting_for_theatre(self) -> int:
        """How many bookings still owe the theatre something (theatre_commits rows)."""
        async with self.core.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(TheatreCommit)) or 0)


@asynccontextmanager
async def open_stand(
    database_url: str,
    redis_url: str,
    sandbox: TheatreSandbox,
    clock: TheatreClock,
    *,
    redis_connections: int | None = None,
    **overrides: object,
) -> AsyncIterator[Stand]:
    """The system on an empty database, its catalogue synced from the sandbox theatre.

    `redis_connections` raises redis-py's pool limit (100 calls in flight by default) through the URL,
    as an operator would for a process serving more users at once.
    """
    if redis_connections is not None:
        redis_url += f"{'&' if '?' in redis_url else '?'}max_connections={redis_connections}"
    await fresh_schema(database_url)
    settings = stand_settings(
        database_url,
        **{
            "THEATRE_SYSTEMS": {THEATRE: {"base_url": sandbox.base_url, "token": SANDBOX_TOKEN}},
            "THEATRE_STATUS_SECONDS": 0.3,
            "HOLD_ATTEMPTS_PER_MINUTE": 100_000,
            **overrides,
        },
    )
    sink = CollectingSink()
    async with open_core(settings, redis_url, sink) as core:
        stand = Stand(core, sandbox, clock, sink)
        report = await stand.sync()
        assert report.ok, report.summary()
        yield stand
