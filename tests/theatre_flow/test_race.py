"""The last seats of a connected show, raced for by Marquee users and the theatre's box office at once."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import pytest
from sqlalchemy import select

from booking_core.bookings.confirmation import ConfirmationOutcome
from booking_core.bookings.customers import get_or_create_customer
from booking_core.holds.errors import HoldRefused
from booking_core.holds.inventory import SqlInventory
from booking_core.holds.store import Hold, HoldStore
from booking_core.models import BookedSeat, Seat
from tests.theatre_flow.stand import Stand

HALL = "riverside-2"  # rows A-E of 8 seats
SOLD_BEFORE = [f"{row}{n}" for row in "AB" for n in range(1, 9)] + ["C1", "C2", "C3", "C4"]
LAST_SEATS = ["C5", "C6", "C7", "C8"] + [f"{row}{n}" for row in "DE" for n in range(1, 9)]
MARQUEE_ATTEMPTS = 200
BOX_OFFICE_ATTEMPTS = 50
SPREAD_SECONDS = 1.0
# The box office's sales arrive from this moment of the window on: a Marquee hold (a Redis script, then the
# theatre's lock over HTTP) takes longer than a sale at the counter, and on a loaded machine the counter
# once sold all twenty seats before any Marquee lock landed. The rest of the window the two sides overlap.
BOX_OFFICE_FROM_SECONDS = 0.2


@pytest.fixture
async def busy_stand(make_stand: Callable[..., AbstractAsyncContextManager[Stand]]) -> AsyncIterator[Stand]:
    """The system with room for a crowd: theatre calls may queue for a while on a busy test machine."""
    async with make_stand(THEATRE_TIMEOUT_SECONDS=20, redis_connections=1000) as stand:
        yield stand


def picks(seed: int, count: int) -> list[list[str]]:
    """Random choices of one or two of the last seats."""
    rng = random.Random(seed)
    return [rng.sample(LAST_SEATS, rng.randint(1, 2)) for _ in range(count)]


async def race(
    stand: Stand, holds: HoldStore, show_id: int, theatre_show: str
) -> tuple[list[Hold], list[list[str]]]:
    """Everyone at once: (Marquee holds granted, seats the box office sold)."""
    users = range(1000, 1000 + MARQUEE_ATTEMPTS)
    for user in users:
        await get_or_create_customer(stand.core.sessions, user, chat_id=user)
    marquee = [
        (user, await stand.seats(show_id, *seats))
        for user, seats in zip(users, picks(1, MARQUEE_ATTEMPTS), strict=True)
    ]
    box_office = picks(2, BOX_OFFICE_ATTEMPTS)

    # Arrivals spread over a few hundred milliseconds, so that each side wins some seats.
    arrivals = random.Random(3)

    async def hold(user: int, seats: list[int]) -> Hold | HoldRefused:
        await asyncio.sleep(arrivals.uniform(0, SPREAD_SECONDS))
        return await holds.hold(show_id, user, seats)

    async def sell(seats: list[str]) -> list[str]:
        await asyncio.sleep(arrivals.uniform(BOX_OFFICE_FROM_SECONDS, SPREAD_SECONDS))
        return seats if await stand.box_office(theatre_show, *seats) == 201 else []

    results = await asyncio.gather(
        *(hold(user, seats) for user, seats in marquee), *(sell(seats) for seats in box_office)
    )
    granted = [result for result in results[:MARQUEE_ATTEMPTS] if isinstance(result, Hold)]
    sold = [seats for seats in results[MARQUEE_ATTEMPTS:] if isinstance(seats, list) and seats]
    return granted, sold


async def test_the_last_twenty_seats_are_each_sold_once_and_both_sides_agree(busy_stand: Stand) -> None:
    stand = busy_stand
    # Given a show with only its last 20 seats left
    show_id, theatre_show = await stand.show(hall=HALL)
    assert await stand.box_office(theatre_show, *SOLD_BEFORE) == 201

    # When 200 Marquee hold attempts and 50 box-office sales race for them, and every Marquee hold is paid
    granted, box_office = await race(stand, stand.holds, show_id, theatre_show)
    for hold in granted:
        result = await stand.pay(await stand.check_out(hold))
        assert result.outcome == ConfirmationOutcome.CONFIRMED, result

    # Then both sides won seats, and no seat was sold twice: not at the theatre, not across both sides
    at_theatre = [
        ticket for ticket in await stand.theatre_tickets(theatre_show) if ticket["status"] == "valid"
    ]
    seat_sales = Counter(seat for ticket in at_theatre for seat in ticket["seats"])
    assert seat_sales and max(seat_sales.values()) == 1
    assert granted and box_office
    marquee_seats = sorted(seat for ticket in (await stand.our_tickets(show_id)).values() for seat in ticket)
    box_office_seats = sorted(seat for seats in box_office for seat in seats)
    assert not set(marquee_seats) & set(box_office_seats)
    assert sorted(seat_sales) == sorted([*SOLD_BEFORE, *marquee_seats, *box_office_seats])
    # and the theatre's records and ours agree, ticket by ticket and seat by seat
    assert await stand.marquee_tickets_at_theatre(theatre_show) == await stand.our_tickets(show_id)
    async with stand.core.sessions() as session:
        booked = await session.scalars(
            select(Seat).join(BookedSeat, BookedSeat.seat_id == Seat.id).where(BookedSeat.show_id == show_id)
        )
        assert sorted(seat.label for seat in booked) == marquee_seats
    # with nothing left locked at the theatre
    assert all(kind == "sale" for kind, _owner in (await stand.claims(theatre_show)).values())


async def test_control_without_theatre_locks_the_same_race_sells_seats_twice(busy_stand: Stand) -> None:
    # The same race with holds taken in Redis only (the theatre never asked): Marquee "holds" seats
    # that the box office sells at the same moment, which is what the theatre locks prevent.
    stand = busy_stand
    show_id, theatre_show = await stand.show(hall=HALL, skip=1)
    assert await stand.box_office(theatre_show, *SOLD_BEFORE) == 201
    redis_only = HoldStore(
        stand.core.redis, SqlInventory(stand.core.sessions), stand.sink, attempts_per_minute=10**6
    )
    granted, box_office = await race(stand, redis_only, show_id, theatre_show)
    connected = await stand.theatre.connected(show_id)
    assert connected is not None
    marquee_seats = {connected.labels[seat] for hold in granted for seat in hold.seat_ids}
    box_office_seats = {seat for seats in box_office for seat in seats}
    assert marquee_seats & box_office_seats
