"""Races fought by several OS processes at once: every seat sold at most once, one booking per payment.

Overlapping bookings can only reach SQL together when Redis did not stop them (a late payment racing,
a lost Redis write): each process here gets its own Redis database, as if Redis had forgotten the
others' holds, so the UNIQUE (show, seat) constraint alone decides. The control test drops that
constraint and shows the same race overselling, so the first test can fail.
"""

from __future__ import annotations

import random
import sys
from collections import Counter
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from booking_core.bookings.checkout import record_checkout
from booking_core.database import SessionFactory, is_sqlite
from booking_core.holds.store import HoldStore
from booking_core.models import BookingStatus, Notification, Payment
from roles.redis_server import RedisEndpoint, open_redis, redis_client
from tests.bookings import race_process
from tests.bookings.builders import make_booking
from tests.bookings.flow import booking_row, buy_until_checkout, sold_seats, ticket_count
from tests.conftest import postgresql_only
from tests.factories import make_customer, make_show
from tests.support.racing import RacingPools

PROCESSES = 3


def _redis_db_url(url: str, db: int) -> str:
    """The same Redis server, another numbered database."""
    if "db=" in url:
        head, _, tail = url.partition("db=")
        rest = tail.split("&", 1)
        return head + f"db={db}" + (f"&{rest[1]}" if len(rest) > 1 else "")
    base, _, _current = url.rpartition("/")
    return f"{base}/{db}"


async def _run_processes(pools: RacingPools, jobs: list[dict[str, Any]]) -> list[list[list[Any]]]:
    """One process per job; every process connected (and its Redis warmed) before any of them starts."""
    return await pools.race([partial(race_process.confirm_at_once, job) for job in jobs])


async def _pending_booking(
    sessions: SessionFactory, show_id: int, user: int, seats: list[int]
) -> dict[str, Any]:
    """A booking awaiting payment whose hold Redis no longer knows, with its recorded checkout."""
    customer_id = await make_customer(sessions, user)
    booking_id = await make_booking(sessions, show_id, customer_id, seats)
    checkout_id = f"cs_race_{booking_id}"
    await record_checkout(sessions, booking_id, "stripe", checkout_id, "http://127.0.0.1/pay")
    return {
        "booking_id": booking_id,
        "checkout_id": checkout_id,
        "event_id": f"evt_race_{booking_id}",
        "payment_id": f"pi_race_{booking_id}",
        "amount_minor": 1200 * len(seats),
        "seats": seats,
    }


async def _overlapping_race(
    pools: RacingPools, sessions: SessionFactory, database_url: str, redis_endpoint: RedisEndpoint
) -> tuple[int, list[dict[str, Any]], dict[int, tuple[str, Any]]]:
    """Three processes confirm pair bookings that overlap across processes (disjoint within one).

    Processes 0 and 2 get the very same pairs, process 1 the pairs in between; each process's Redis
    knows only its own holds and sales, so every one of the 23 confirmations reaches SQL.
    """
    show = await make_show(sessions, rows=1, seats_per_row=16)
    seats = show.seat_ids
    jobs: list[dict[str, Any]] = []
    user = 1000
    for process in range(PROCESSES):
        offset = process % 2
        specs: list[dict[str, Any]] = []
        for start in range(offset, len(seats) - 1, 2):
            user += 1
            specs.append(await _pending_booking(sessions, show.show_id, user, seats[start : start + 2]))
        random.shuffle(specs)
        db = process + 1
        client = redis_client(_redis_db_url(redis_endpoint.url, db))
        await client.flushdb()
        await client.aclose()
        jobs.append(
            {
                "database_url": database_url,
                "redis_url": _redis_db_url(redis_endpoint.url, db),
                "concurrency": 6,
                "events": specs,
                "warm_show_id": show.show_id,
            }
        )
    outcomes = await _run_processes(pools, jobs)
    by_booking = {int(str(row[0])): (str(row[1]), row[2]) for result in outcomes for row in result}
    return show.show_id, [spec for job in jobs for spec in job["events"]], by_booking


async def test_overlapping_confirmations_from_several_processes_sell_each_seat_once(
    sessions: SessionFactory, database_url: str, race_redis: RedisEndpoint, racing_pools: RacingPools
) -> None:
    # Given 23 paid bookings of seat pairs, overlapping across three worker processes
    show_id, specs, outcomes = await _overlapping_race(racing_pools, sessions, database_url, race_redis)

    # Then every seat is sold at most once
    sold = await sold_seats(sessions, show_id)
    assert all(len(bookings) == 1 for bookings in sold.values()), sold
    # And every booking is either a whole sale or flagged for refund, never kept money without seats
    assert {outcome for outcome, _reason in outcomes.values()} == {"late_confirmed", "refund_pending"}
    confirmed = {booking for booking, (outcome, _reason) in outcomes.items() if outcome == "late_confirmed"}
    for spec in specs:
        booking = await booking_row(sessions, spec["booking_id"])
        owns = [seat for seat in spec["seats"] if sold.get(seat) == [spec["booking_id"]]]
        if spec["booking_id"] in confirmed:
            assert (booking.status, owns) == (BookingStatus.CONFIRMED, spec["seats"])
            assert await ticket_count(sessions, spec["booking_id"]) == 1
        else:
            # SQL, not Redis, turned these away
            assert outcomes[spec["booking_id"]][1] == "seats sold to someone else"
            assert (booking.status, owns) == (BookingStatus.REFUND_PENDING, [])
    async with sessions() as session:
        refunds = await session.scalar(select(func.count()).where(Payment.status == "refund_pending"))
    assert refunds == len(specs) - len(confirmed)
    # The identical pairs of processes 0 and 2 cannot both be sold
    assert len(confirmed) <= 15


async def test_control_without_the_unique_constraint_the_same_race_oversells(
    engine: AsyncEngine,
    sessions: SessionFactory,
    database_url: str,
    race_redis: RedisEndpoint,
    racing_pools: RacingPools,
) -> None:
    # Given the last line of defence switched off
    async with engine.begin() as connection:
        if is_sqlite(engine):
            await connection.execute(
                text(
                    "CREATE TABLE booked_seats_loose (id INTEGER PRIMARY KEY, show_id INTEGER NOT NULL,"
                    " seat_id INTEGER NOT NULL, booking_id INTEGER NOT NULL)"
                )
            )
            await connection.execute(text("DROP TABLE booked_seats"))
            await connection.execute(text("ALTER TABLE booked_seats_loose RENAME TO booked_seats"))
        else:
            await connection.execute(text("ALTER TABLE booked_seats DROP CONSTRAINT uq_booked_seats_show_id"))

    show_id, _specs, outcomes = await _overlapping_race(racing_pools, sessions, database_url, race_redis)

    # Then the race really happens: seats are sold twice
    sold = await sold_seats(sessions, show_id)
    assert any(len(bookings) > 1 for bookings in sold.values())
    assert {outcome for outcome, _reason in outcomes.values()} == {"late_confirmed"}


# The booking's row lock (FOR UPDATE) makes a duplicate wait for the first delivery's outcome.
@postgresql_only
async def test_duplicate_deliveries_raced_by_several_processes_make_one_booking_each(
    sessions: SessionFactory,
    holds: HoldStore,
    database_url: str,
    redis_endpoint: RedisEndpoint,
    racing_pools: RacingPools,
) -> None:
    # Given 9 bookings paid once each (3 of them after their hold was released), every event
    # delivered to each of three worker processes sharing one Redis
    show = await make_show(sessions, rows=2, seats_per_row=9)
    specs: list[dict[str, Any]] = []
    for n in range(9):
        seats = show.seat_ids[2 * n : 2 * n + 2]
        checkout = await buy_until_checkout(sessions, holds, show.show_id, 2000 + n, seats)
        if n % 3 == 0:
            await holds.release(show.show_id, checkout.hold.token)
        specs.append(
            {
                "booking_id": checkout.booking_id,
                "checkout_id": checkout.checkout_id,
                "event_id": f"evt_dup_{checkout.booking_id}",
                "payment_id": f"pi_dup_{checkout.booking_id}",
                "amount_minor": checkout.started.amount_minor,
            }
        )
    jobs = [
        {
            "database_url": database_url,
            "redis_url": redis_endpoint.url,
            "concurrency": 6,
            "events": random.sample(specs, len(specs)),
        }
        for _ in range(PROCESSES)
    ]

    outcomes = await _run_processes(racing_pools, jobs)

    # Then each booking was confirmed exactly once and repeated as already confirmed elsewhere
    per_booking: dict[int, Counter[str]] = {}
    for result in outcomes:
        for booking_id, outcome, _reason in result:
            per_booking.setdefault(int(str(booking_id)), Counter())[str(outcome)] += 1
    for n, spec in enumerate(specs):
        first = "late_confirmed" if n % 3 == 0 else "confirmed"
        assert per_booking[spec["booking_id"]] == Counter({first: 1, "already_confirmed": PROCESSES - 1})
        assert await ticket_count(sessions, spec["booking_id"]) == 1
    sold = await sold_seats(sessions, show.show_id)
    assert len(sold) == 18 and all(len(bookings) == 1 for bookings in sold.values())
    async with sessions() as session:
        rows = await session.scalar(select(func.count()).select_from(Notification))
    assert rows == 2 * len(specs)  # one Telegram ticket and one reminder per booking, not per delivery
    # And no hold taken by a repeated late delivery lingers in Redis
    for n in range(0, 9, 3):
        assert await holds.current_hold(show.show_id, 2000 + n) is None


@pytest.fixture
def race_redis(tmp_path: Path) -> Iterator[RedisEndpoint]:
    """An embedded Redis server of the test's own: the race takes its databases 1 to 3, which on the
    shared server belong to parallel test processes."""
    endpoint = open_redis(None, tmp_path / "race-redis")
    try:
        yield endpoint
    finally:
        endpoint.stop()


@pytest.fixture(autouse=True)
def _not_on_windows() -> None:
    if sys.platform == "win32":
        pytest.skip("the process races use the POSIX embedded Redis socket")
