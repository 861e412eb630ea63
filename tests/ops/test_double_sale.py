"""Two paid bookings of the same seats through the whole stack, with Redis out of the way: SQL alone decides.

A `web` and a `worker` process on PostgreSQL. Redis is desynchronised as a lost write or a failover
leaves it: it forgot the first customer's hold of two seats, so a second customer held the same seats,
and then the first hold came back. Redis now vouches for both holds, so neither payment is turned away
by Redis. Both customers pay on the checkout page (webhook, broker, worker); the test holds both
bookings' row locks until both confirmations wait at them, so both have passed Redis before either
writes. Then only the UNIQUE (show, seat) constraint stands between them and a double sale: one booking
is confirmed, the other refunded. The control drops the constraint and shows the double sale happen.

Then the same at scale, as deployed: many such pairs paid at once to two workers that settle the
payments they have in flight together (SETTLE_PAYMENTS_TOGETHER, the default), so conflicting payments
meet inside one shared transaction as well as across the two processes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select, text

from booking_core.database import create_engine
from booking_core.holds.store import Hold
from booking_core.models import BookedSeat, Booking
from booking_core.redis_keys import ShowKeys
from tests.factories import make_show
from tests.flows.harness import wait_until
from tests.ops.deployment import Sandbox, Services, deployed
from tests.ops.invariants import read_sales
from tests.ops.locks import ports_waiting_on_locks, rows_locked
from tests.ops.shop import PAID, OpenBooking, Shop, open_shop

pytestmark = pytest.mark.timeout(120)

FIRST, SECOND = 845_001, 845_002
SETTLED_WITHIN = 30
# The race at scale: this many pairs of bookings, each pair of the same two seats.
PAIRS = 8
REFUNDED = ("refund_pending", "refunded")


async def desynchronised_pair(shop: Shop, show_id: int, seat_ids: list[int]) -> list[OpenBooking]:
    """Two bookings of the same seats, each with a hold Redis says is live."""
    return (await desynchronised_pairs(shop, show_id, [seat_ids], FIRST))[0]


async def desynchronised_pairs(
    shop: Shop, show_id: int, seat_groups: list[list[int]], first_user: int
) -> list[list[OpenBooking]]:
    """For each group of seats two bookings of them (users from `first_user` on), both held live in Redis."""
    keys = ShowKeys(show_id)
    users = iter(range(first_user, first_user + 2 * len(seat_groups)))
    firsts = [await shop.open_booking(next(users), seats, show_id) for seats in seat_groups]
    tokens = [await _hold_token(shop, first.booking_id) for first in firsts]
    remembered = [await shop.core.redis.hget(keys.key("holds"), token) for token in tokens]
    # Redis loses everything it knew about the show, so the same seats can be held again...
    lost = [key async for key in shop.core.redis.scan_iter(match=f"{keys.tag}:*")]
    await shop.core.redis.delete(*lost)
    seconds = [await shop.open_booking(next(users), seats, show_id) for seats in seat_groups]
    # ... and then the first holds come back (a replica promoted with an older copy of the hash)
    for token, hold in zip(tokens, remembered, strict=True):
        await shop.core.redis.hset(keys.key("holds"), token, hold)
    pairs = [list(pair) for pair in zip(firsts, seconds, strict=True)]
    for pair, seats in zip(pairs, seat_groups, strict=True):
        for booking in pair:
            live = await shop.core.holds.hold_by_token(show_id, await _hold_token(shop, booking.booking_id))
            assert isinstance(live, Hold) and sorted(live.seat_ids) == sorted(seats), live
    return pairs


async def _hold_token(shop: Shop, booking_id: int) -> str:
    async with shop.core.sessions() as session:
        token = await session.scalar(select(Booking.hold_token).where(Booking.id == booking_id))
    assert token is not None
    return token


async def sold_to(shop: Shop, show_id: int) -> list[tuple[int, int]]:
    """(seat, booking) for every booked_seats row of the show."""
    async with shop.core.sessions() as session:
        rows = await session.execute(
            select(BookedSeat.seat_id, BookedSeat.booking_id)
            .where(BookedSeat.show_id == show_id)
            .order_by(BookedSeat.seat_id, BookedSeat.booking_id)
        )
        return [(int(seat), int(booking)) for seat, booking in rows]


@dataclass(frozen=True)
class Stage:
    """Where the race runs: the session's sandbox, the test's PostgreSQL database and Redis db, a folder."""

    sandbox: Sandbox
    http: aiohttp.ClientSession
    database_url: str
    redis_url: str
    folder: Path


@pytest.fixture
def stage(
    sandbox: Sandbox, http: aiohttp.ClientSession, shared_postgres: str, shared_redis: str, tmp_path: Path
) -> Stage:
    """The race's services."""
    return Stage(sandbox, http, shared_postgres, shared_redis, tmp_path)


async def race_two_payments(
    stage: Stage,
) -> tuple[dict[int, str], list[tuple[int, int]], list[OpenBooking], list[int]]:
    """Both bookings paid through web, broker and worker; statuses, sold seats, bookings, seats asked."""
    database_url, redis_url = stage.database_url, stage.redis_url
    services = Services(database_url, redis_url)
    # Each confirmation in a transaction of its own, so both wait at the row locks where the test sees
    # them (settling together, the second would wait for its turn inside the worker, out of sight).
    async with deployed(
        stage.folder, services, stage.sandbox, stage.http, SETTLE_PAYMENTS_TOGETHER="false"
    ) as deployment:
        web = deployment.start_web("web")
        deployment.start_worker("worker")
        async with open_shop(database_url, redis_url, web.url, stage.sandbox) as shop:
            show = await make_show(shop.core.sessions, rows=1, seats_per_row=4)
            seats = show.seat_ids[1:3]
            bookings = await desynchronised_pair(shop, show.show_id, seats)
            ids = [booking.booking_id for booking in bookings]
            await deployment.ready()
            async with rows_locked(database_url, *ids):
                for booking in bookings:
                    status, page = await shop.pay(booking.checkout_id)
                    assert status == 200 and PAID in page, page
                # Both confirmations got past Redis and wait at their booking's row lock

                async def both_waiting() -> bool:
                    return len(await ports_waiting_on_locks(shop.core.sessions)) >= 2

                await wait_until(
                    both_waiting,
                    within=SETTLED_WITHIN,
                    what="both confirmations waiting at the row locks",
                )
                assert set((await shop.statuses(ids)).values()) == {"pending_payment"}
            statuses = await wait_until(
                lambda: _settled(shop, ids), within=SETTLED_WITHIN, what="both payments settled"
            )
            sold = await sold_to(shop, show.show_id)
        await deployment.shutdown()
    return statuses, sold, bookings, seats


async def _settled(shop: Shop, ids: list[int]) -> dict[int, str] | None:
    statuses = await shop.statuses(ids)
    return statuses if "pending_payment" not in statuses.values() else None


async def test_two_payments_for_the_same_seats_past_redis_sell_them_once(stage: Stage) -> None:
    # Given two customers whose holds of the same two seats Redis both vouches for, both paying
    statuses, sold, bookings, seats = await race_two_payments(stage)

    # Then one booking is confirmed and owns both seats, once each; the other is refunded, nothing sold
    assert sorted(statuses.values()) == ["confirmed", "refund_pending"], statuses
    winner = next(booking for booking, status in statuses.items() if status == "confirmed")
    assert sold == [(seat, winner) for seat in sorted(seats)]
    assert {booking.booking_id for booking in bookings} == set(statuses)


async def test_control_without_the_unique_constraint_the_same_payments_sell_the_seats_twice(
    stage: Stage,
) -> None:
    # Given the last line of defence switched off
    engine = create_engine(stage.database_url)
    async with engine.begin() as connection:
        await connection.execute(text("ALTER TABLE booked_seats DROP CONSTRAINT uq_booked_seats_show_id"))
    await engine.dispose()

    statuses, sold, bookings, seats = await race_two_payments(stage)

    # Then the race really reaches SQL: both are confirmed and every seat is sold twice
    assert sorted(statuses.values()) == ["confirmed", "confirmed"], statuses
    assert sold == sorted((seat, booking.booking_id) for seat in seats for booking in bookings)


async def test_pairs_paid_at_once_to_two_workers_settling_together_sell_each_seat_once(stage: Stage) -> None:
    # Given eight pairs of bookings, each pair of the same two seats with both holds vouched for by
    # Redis, and two workers settling the payments they have in flight in shared transactions
    services = Services(stage.database_url, stage.redis_url)
    async with deployed(
        stage.folder, services, stage.sandbox, stage.http, SETTLE_PAYMENTS_TOGETHER="true"
    ) as deployment:
        web = deployment.start_web("web")
        deployment.start_worker("worker-1")
        deployment.start_worker("worker-2")
        async with open_shop(stage.database_url, stage.redis_url, web.url, stage.sandbox) as shop:
            show = await make_show(shop.core.sessions, rows=1, seats_per_row=2 * PAIRS)
            groups = [show.seat_ids[2 * n : 2 * n + 2] for n in range(PAIRS)]
            pairs = await desynchronised_pairs(shop, show.show_id, groups, FIRST)
            await deployment.ready()

            # When every customer pays at the same moment
            paid = await asyncio.gather(*(shop.pay(b.checkout_id) for pair in pairs for b in pair))
            assert all(status == 200 and PAID in page for status, page in paid), paid

            # Then every payment settles: one booking of each pair confirmed, the other refunded
            ids = [booking.booking_id for pair in pairs for booking in pair]
            statuses = await wait_until(
                lambda: _settled(shop, ids), within=SETTLED_WITHIN, what="every payment settled"
            )
            sold = await sold_to(shop, show.show_id)
            sales = await read_sales(shop.core.sessions, show.show_id)
        await deployment.shutdown()
    for pair, seats in zip(pairs, groups, strict=True):
        outcome = sorted(statuses[booking.booking_id] for booking in pair)
        assert outcome[0] == "confirmed" and outcome[1] in REFUNDED, (pair, statuses)
        winner = next(b.booking_id for b in pair if statuses[b.booking_id] == "confirmed")
        assert [(seat, b) for seat, b in sold if seat in seats] == [(seat, winner) for seat in sorted(seats)]
    # and each seat is sold once, to a confirmed booking with one ticket, every event settled once
    # (these customers have no chat at the sandbox Bot API: their Telegram tickets cannot be delivered)
    assert sorted(sales.sold_seats) == sorted(show.seat_ids)
    assert [problem for problem in sales.problems if "Telegram ticket notifications" not in problem] == []
    assert sales.outcomes["confirmed"] == PAIRS
