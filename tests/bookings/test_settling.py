"""Payments settling at the same time share transactions, and each still stands or fails on its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from booking_core.bookings.confirmation import (
    ConfirmationOutcome,
    ConfirmationResult,
    ConfirmationTurns,
    confirm_payment,
)
from booking_core.database import SessionFactory, create_engine, create_session_factory
from booking_core.events import CollectingSink
from booking_core.holds.store import HoldStore
from booking_core.models import Booking, BookingStatus
from booking_core.models import PaymentEvent as PaymentEventRow
from booking_core.payments.port import PaymentEvent
from tests.bookings.flow import (
    Checkout,
    booking_row,
    buy_until_checkout,
    payment,
    sold_seats,
    statements_of,
    store_event,
)
from tests.factories import make_show

BUYERS = 12
# More than any column holds: the transaction that writes it fails (what the provider took goes back,
# so an amount that does not match is written onto the payment).
UNWRITABLE_AMOUNT = 10**20


@dataclass
class Transactions:
    """The transactions that write which an engine committed and rolled back."""

    commit: int = 0
    rollback: int = 0
    committed: list[list[str]] = field(default_factory=list)  # each committed one's statements


@contextmanager
def settling_transactions(engine: AsyncEngine) -> Iterator[Transactions]:
    """The transactions that write the engine commits and rolls back while the block runs."""
    counts = Transactions()
    sent: dict[int, list[str]] = {}  # by connection, since its transaction began
    writing: set[int] = set()  # the connections inside such a transaction now

    def note(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.setdefault(id(conn), []).append(statement)
        if statement.startswith(("INSERT", "UPDATE")):
            writing.add(id(conn))

    def end(kind: str) -> Callable[[Any], None]:
        def ended(conn: Any) -> None:
            statements = sent.pop(id(conn), [])
            if id(conn) in writing:
                writing.discard(id(conn))
                setattr(counts, kind, getattr(counts, kind) + 1)
                if kind == "commit":
                    counts.committed.append(statements)

        return ended

    listeners = {"before_cursor_execute": note, "commit": end("commit"), "rollback": end("rollback")}
    for name, listener in listeners.items():
        event.listen(engine.sync_engine, name, listener)
    try:
        yield counts
    finally:
        for name, listener in listeners.items():
            event.remove(engine.sync_engine, name, listener)


@pytest.fixture
async def reads(database_url: str) -> AsyncIterator[SessionFactory]:
    """Sessions for the reads before a settling transaction, as the worker has them (never waiting)."""
    engine = create_engine(database_url, read_only=True)
    yield create_session_factory(engine)
    await engine.dispose()


async def _paying_buyers(
    sessions: SessionFactory, holds: HoldStore, user_base: int
) -> tuple[int, list[Checkout]]:
    """BUYERS + 1 bookings of one seat each awaiting payment, on live holds; the first is the pilot's."""
    show = await make_show(sessions)
    checkouts = [
        await buy_until_checkout(sessions, holds, show.show_id, user_base + n, [show.seat_ids[n]])
        for n in range(BUYERS + 1)
    ]
    return show.show_id, checkouts


async def _store(sessions: SessionFactory, events: list[PaymentEvent]) -> None:
    for paid in events:
        await store_event(sessions, paid)


async def _confirm_at_once(
    sessions: SessionFactory,
    reads: SessionFactory,
    holds: HoldStore,
    sink: CollectingSink,
    pilot: PaymentEvent,
    events: list[PaymentEvent],
) -> list[ConfirmationResult | BaseException]:
    """Settle `events` at once in one process, all of them waiting for the database meanwhile.

    The pilot's settling transaction goes first and waits on a lock the test holds until every one
    of `events` waits for its turn.
    """
    turns = ConfirmationTurns(sessions, holds, reads)  # one worker process's

    def confirming(paid: PaymentEvent) -> Awaitable[ConfirmationResult]:
        return confirm_payment(sessions, holds, sink, paid, reminder_minutes=120, reads=reads, turns=turns)

    pilot_at_the_database = asyncio.Event()

    def note_the_pilot(*_args: Any) -> None:
        pilot_at_the_database.set()

    async with sessions() as blocker, blocker.begin():
        # The database's write lock (SQLite) or the bookings' rows (PostgreSQL), until all wait their turn
        await blocker.execute(select(Booking.id).with_for_update())
        writer = sessions.kw["bind"].sync_engine
        event.listen(writer, "before_cursor_execute", note_the_pilot)  # its reads go through `reads`
        first = asyncio.create_task(confirming(pilot))
        await pilot_at_the_database.wait()
        event.remove(writer, "before_cursor_execute", note_the_pilot)
        others = asyncio.gather(*(confirming(paid) for paid in events), return_exceptions=True)
        for _tick in range(3000):  # 30 s at most: each queues for a turn of its process
            if turns.waiting == len(events):
                break
            await asyncio.sleep(0.01)
    assert await first == ConfirmationResult(ConfirmationOutcome.CONFIRMED, pilot.booking_id)
    return await others


async def test_payments_settling_at_once_share_transactions_and_each_is_sold(
    engine: AsyncEngine,
    sessions: SessionFactory,
    reads: SessionFactory,
    holds: HoldStore,
    sink: CollectingSink,
) -> None:
    # Given BUYERS bookings on live holds, each paid (and the pilot's)
    show_id, [piloting, *checkouts] = await _paying_buyers(sessions, holds, 3400)
    pilot, events = payment(piloting), [payment(checkout) for checkout in checkouts]
    await _store(sessions, [pilot, *events])

    # When one process settles all their payments at once
    with settling_transactions(engine) as transactions, statements_of(reads.kw["bind"]) as read:
        results = await _confirm_at_once(sessions, reads, holds, sink, pilot, events)

    # Then each booking is sold, its seat to it alone, each event's outcome recorded
    assert results == [
        ConfirmationResult(ConfirmationOutcome.CONFIRMED, checkout.booking_id) for checkout in checkouts
    ]
    assert await sold_seats(sessions, show_id) == {
        checkout.hold.seat_ids[0]: [checkout.booking_id] for checkout in [piloting, *checkouts]
    }
    async with sessions() as session:
        outcomes = await session.scalars(select(PaymentEventRow.outcome))
        assert sorted(outcomes) == [ConfirmationOutcome.CONFIRMED.value] * (1 + BUYERS)
    # And the payments that waited together were written together: the pilot's alone, then theirs
    assert (transactions.commit, transactions.rollback) == (2, 0)
    # And in as many statements, of the same kinds, as the pilot's alone (one INSERT per table, one
    # read of their payments, one UPDATE per table for them all)
    alone, together = transactions.committed
    assert _kinds(together) == _kinds(alone), "\n".join(together)
    # And their bookings were read before it in one statement, as the pilot's alone was
    assert _kinds([statement for statement in read if statement.startswith("SELECT")]) == 2 * [
        "SELECT bookings.id, bookings.show_id,"
    ]


def _kinds(statements: list[str]) -> list[str]:
    return sorted(" ".join(statement.split()[:3]) for statement in statements)


async def test_a_payment_that_cannot_be_written_fails_alone_and_the_others_are_sold(
    engine: AsyncEngine,
    sessions: SessionFactory,
    reads: SessionFactory,
    holds: HoldStore,
    sink: CollectingSink,
) -> None:
    # Given BUYERS paid bookings (and the pilot's), one of whose payments cannot be written (an amount
    # no column holds)
    show_id, [piloting, *checkouts] = await _paying_buyers(sessions, holds, 3500)
    poisoned = BUYERS // 2
    events = [
        payment(checkout, amount_minor=UNWRITABLE_AMOUNT if n == poisoned else None)
        for n, checkout in enumerate(checkouts)
    ]
    pilot = payment(piloting)
    await _store(sessions, [pilot, *events])

    # When one process settles all of them at once
    with settling_transactions(engine) as transactions:
        results = await _confirm_at_once(sessions, reads, holds, sink, pilot, events)

    # Then that payment's confirmation fails, and only it: every other booking is sold
    assert isinstance(results.pop(poisoned), Exception)
    fine = checkouts[:poisoned] + checkouts[poisoned + 1 :]
    assert results == [
        ConfirmationResult(ConfirmationOutcome.CONFIRMED, checkout.booking_id) for checkout in fine
    ]
    assert await sold_seats(sessions, show_id) == {
        checkout.hold.seat_ids[0]: [checkout.booking_id] for checkout in [piloting, *fine]
    }
    # And nothing of the failing one was written: its booking waits, its event is still owed processing
    assert (await booking_row(sessions, checkouts[poisoned].booking_id)).status == (
        BookingStatus.PENDING_PAYMENT
    )
    async with sessions() as session:
        stored = await session.scalar(
            select(PaymentEventRow).where(PaymentEventRow.event_id == events[poisoned].event_id)
        )
        assert stored is not None and stored.outcome is None and stored.processed_at is None
    # And it had shared a transaction with the others: rolled back, then each settled alone (the pilot's
    # alone before)
    assert (transactions.commit, transactions.rollback) == (1 + BUYERS - 1, 2)
