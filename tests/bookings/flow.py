"""The customer's path through the real services, in small steps the bookings tests combine."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from booking_core.bookings.checkout import CheckoutStarted, record_checkout, start_checkout
from booking_core.bookings.confirmation import ConfirmationResult, confirm_payment
from booking_core.bookings.customers import get_or_create_customer
from booking_core.database import SessionFactory
from booking_core.events import EventSink
from booking_core.holds.store import Hold, HoldStore
from booking_core.models import BookedSeat, Booking, Payment, Ticket
from booking_core.models import PaymentEvent as PaymentEventRow
from booking_core.payments.port import PaymentEvent, PaymentEventKind
from tests.support.sales import provider_event

PROVIDER = "stripe"


@dataclass(frozen=True)
class Checkout:
    """A booking awaiting payment and the provider checkout recorded for it."""

    user_id: int
    hold: Hold
    started: CheckoutStarted
    checkout_id: str

    @property
    def booking_id(self) -> int:
        """The booking being paid for."""
        return self.started.booking_id


async def hold_seats(
    sessions: SessionFactory, holds: HoldStore, show_id: int, user_id: int, seats: list[int]
) -> Hold:
    """The user (created if new) holds the seats; fails the test if the hold is refused."""
    await get_or_create_customer(sessions, user_id, chat_id=user_id)
    hold = await holds.hold(show_id, user_id, seats)
    assert isinstance(hold, Hold), hold
    return hold


async def check_out(sessions: SessionFactory, holds: HoldStore, hold: Hold) -> Checkout:
    """Start the checkout for a hold and record a provider checkout for it."""
    started = await start_checkout(sessions, holds, hold)
    assert isinstance(started, CheckoutStarted), started
    checkout_id = f"cs_test_{started.booking_id}_{secrets.token_hex(4)}"
    await record_checkout(
        sessions, started.booking_id, PROVIDER, checkout_id, f"http://127.0.0.1/pay/{checkout_id}"
    )
    return Checkout(hold.user_id, hold, started, checkout_id)


async def buy_until_checkout(
    sessions: SessionFactory, holds: HoldStore, show_id: int, user_id: int, seats: list[int]
) -> Checkout:
    """Hold the seats and start paying."""
    return await check_out(sessions, holds, await hold_seats(sessions, holds, show_id, user_id, seats))


def payment(
    checkout: Checkout,
    kind: PaymentEventKind = PaymentEventKind.COMPLETED,
    *,
    amount_minor: int | None = None,
    currency: str = "eur",
    event_id: str | None = None,
) -> PaymentEvent:
    """The provider's event for this checkout (by default: paid in full, in lower case like Stripe)."""
    amount = checkout.started.amount_minor if amount_minor is None else amount_minor
    return provider_event(
        checkout.checkout_id, checkout.booking_id, amount, kind=kind, currency=currency, event_id=event_id
    )


async def store_event(sessions: SessionFactory, event: PaymentEvent) -> None:
    """Record the raw event the way the webhook does before a worker confirms it."""
    async with sessions() as session:
        session.add(
            PaymentEventRow(
                provider=event.provider, event_id=event.event_id, event_type=event.kind, payload="{}"
            )
        )
        await session.commit()


async def confirm(
    sessions: SessionFactory, holds: HoldStore, sink: EventSink, event: PaymentEvent
) -> ConfirmationResult:
    """Confirm as the worker does (reminders two hours before)."""
    return await confirm_payment(sessions, holds, sink, event, reminder_minutes=120)


async def sold_seats(sessions: SessionFactory, show_id: int) -> dict[int, list[int]]:
    """seat id -> the bookings it is sold to (more than one would be an oversale)."""
    async with sessions() as session:
        rows = await session.execute(
            select(BookedSeat.seat_id, BookedSeat.booking_id).where(BookedSeat.show_id == show_id)
        )
        sold: dict[int, list[int]] = {}
        for seat_id, booking_id in rows:
            sold.setdefault(seat_id, []).append(booking_id)
        return sold


async def booking_row(sessions: SessionFactory, booking_id: int) -> Booking:
    """The booking as stored now."""
    async with sessions() as session:
        booking = await session.get(Booking, booking_id)
        assert booking is not None
        return booking


async def payments_of(sessions: SessionFactory, booking_id: int) -> list[Payment]:
    """The booking's payment rows, oldest first."""
    async with sessions() as session:
        query = select(Payment).where(Payment.booking_id == booking_id).order_by(Payment.id)
        return list(await session.scalars(query))


async def ticket_count(sessions: SessionFactory, booking_id: int) -> int:
    """How many tickets the booking has (never more than one)."""
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).where(Ticket.booking_id == booking_id)) or 0)


@contextmanager
def statements_of(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every SQL statement the engine sends while the block runs."""
    sent: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", note)
