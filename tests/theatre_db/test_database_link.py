"""What only the database link has (docs/theatre-db.md), on SQLite, PostgreSQL and MariaDB.

The behaviour every kind of link shares is the port's contract suite (tests/theatre_contract/).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import delete, event
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.theatre.database import DatabaseTheatreSystem
from adapters.theatre.db_tables import show_prices
from booking_core.theatre.port import ScheduleRefused, SeatsUnavailable, TheatreRejected
from sandbox.theatre_db import boxoffice
from tests.support.clocks import TheatreClock


def key() -> str:
    return str(uuid.uuid4())


async def test_a_schedule_with_a_bad_row_is_refused_naming_it(
    theatre: DatabaseTheatreSystem, theatre_db: AsyncEngine, show_id: str, theatre_clock: TheatreClock
) -> None:
    async with theatre_db.begin() as connection:
        await connection.execute(
            delete(show_prices).where(show_prices.c.show_id == show_id, show_prices.c.category == "premium")
        )
    with pytest.raises(ScheduleRefused) as refused:
        await theatre.schedule(theatre_clock.now, theatre_clock.now + timedelta(days=8))
    [problem] = refused.value.problems
    assert problem.startswith(f"show {show_id} (") and "no price for premium" in problem
    assert theatre.breaker.consecutive_failures == 0


async def test_the_box_office_cancels_a_marquee_ticket_and_the_seat_is_free_again(
    theatre: DatabaseTheatreSystem, theatre_db: AsyncEngine, show_id: str
) -> None:
    lock = await theatre.lock(show_id, ["B1"], 300, "booking-b1", key())
    sale = await theatre.commit(lock.lock_id, "booking-b1", 1100, "EUR", key())
    await boxoffice.cancel(theatre_db, sale.ticket_id)
    assert (await theatre.seat_status(show_id)).taken == frozenset()
    await theatre.cancel_ticket(sale.ticket_id, key())  # Marquee cancelling it too is fine


async def test_a_seat_whose_category_has_no_price_is_not_locked(
    theatre: DatabaseTheatreSystem, theatre_db: AsyncEngine, show_id: str
) -> None:
    async with theatre_db.begin() as connection:
        await connection.execute(
            delete(show_prices).where(show_prices.c.show_id == show_id, show_prices.c.category == "premium")
        )
    with pytest.raises(TheatreRejected) as refused:
        await theatre.lock(show_id, ["F5", "G1"], 60, "r", key())  # G1 is premium
    assert (refused.value.status, refused.value.reason) == (422, "no_price")
    assert "premium" in str(refused.value)
    assert (await theatre.seat_status(show_id)).taken == frozenset()


@pytest.fixture
def statements(theatre: DatabaseTheatreSystem) -> Iterator[list[str]]:
    """The first word of every statement the link sends, as it sends them."""
    sent: list[str] = []

    def note(_connection: object, _cursor: object, statement: str, *_args: object) -> None:
        sent.append(statement.split()[0].upper())

    event.listen(theatre.engine.sync_engine, "before_cursor_execute", note)
    yield sent
    event.remove(theatre.engine.sync_engine, "before_cursor_execute", note)


async def test_a_lock_is_one_read_and_three_writes_a_refusal_one_read_a_release_three_writes(
    theatre: DatabaseTheatreSystem, rival: DatabaseTheatreSystem, show_id: str, statements: list[str]
) -> None:
    # A lock: read the show, the seats, their prices and claims and the request key at once; then bump
    # the version, add the lock, claim the seats.
    lock = await theatre.lock(show_id, ["C3", "C4"], 60, "r", key())
    assert statements == ["SELECT", "UPDATE", "INSERT", "INSERT"]
    # A refusal is the read alone: nothing is written, no row of the show is waited for.
    await rival.lock(show_id, ["C5"], 60, "theirs", key())
    statements.clear()
    with pytest.raises(SeatsUnavailable):
        await theatre.lock(show_id, ["C4", "C5"], 60, "r", key())
    assert statements == ["SELECT"]
    # A release: mark the lock released, bump the version, free the seats.
    statements.clear()
    await theatre.release(lock.lock_id)
    assert statements == ["UPDATE", "UPDATE", "DELETE"]
