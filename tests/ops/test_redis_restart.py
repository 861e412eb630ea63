"""Redis restarted mid-run under a `web` and a `worker` process that use it for holds, caches and the broker.

The Redis is a redis-server of the test's own on a fixed port with an append-only file, so the roles'
REDIS_URL stays valid across restarts. First it is stopped while a payment is provably in flight (the
test holds the booking's row lock in PostgreSQL, so the worker's confirmation waits inside its
transaction, which PostgreSQL shows) and a hold waits to be paid; the payment is let go while Redis is
down, so SQL alone settles it, and Redis comes back with its data. Then it comes back empty, as a
replaced server would: the sold-seat cache must rebuild from SQL, so sold seats stay sold. Bookings made
before, across and after complete; no seat is sold twice; nothing is lost or doubled; both processes
ride it out.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from booking_core.holds.errors import HoldRefusalReason, HoldRefused
from booking_core.holds.seat_map import SeatState
from tests.flows.harness import wait_until
from tests.ops.deployment import Sandbox, Services
from tests.ops.locks import ports_waiting_on_locks, rows_locked
from tests.ops.redis_stage import (
    BOOKED_WITHIN,
    each_seat_sold_once,
    health,
    pay_and_settle,
    tickets_delivered,
    web_and_worker,
)
from tests.ops.services import PrivateRedis
from tests.ops.shop import PAID

pytestmark = pytest.mark.timeout(90)

FIRST_USER = 830_001
USERS = 6


async def test_bookings_before_across_and_after_redis_restarts_all_complete_once(
    sandbox: Sandbox,
    http: aiohttp.ClientSession,
    shared_postgres: str,
    private_redis: PrivateRedis,
    tmp_path: Path,
) -> None:
    services = Services(shared_postgres, private_redis.url)
    # Given a 12-seat show, six customers wanting two seats each, and a web and a worker process
    async with web_and_worker(tmp_path, services, sandbox, http, FIRST_USER, USERS) as stage:
        shop, show, pairs, users = stage.shop, stage.show, stage.pairs, stage.users
        # ... two of whom have paid already
        for user, pair in list(zip(users, pairs, strict=True))[:2]:
            await pay_and_settle(shop, stage.web, await shop.open_booking(user.id, pair, show.show_id))

        # When a third pays and the worker is inside the confirmation, held at the booking's row lock,
        # while a fourth holds seats waiting to pay
        third = await shop.open_booking(users[2].id, pairs[2], show.show_id)
        fourth = await shop.open_booking(users[3].id, pairs[3], show.show_id)
        async with rows_locked(shared_postgres, third.booking_id):
            status, page = await shop.pay(third.checkout_id)
            assert status == 200 and PAID in page, page
            await wait_until(
                lambda: ports_waiting_on_locks(shop.core.sessions),
                within=BOOKED_WITHIN,
                what="the worker's confirmation waiting at the booking's row lock",
            )
            assert await shop.statuses([third.booking_id]) == {third.booking_id: "pending_payment"}
            # ... and Redis stops right then
            private_redis.stop()
            # Then the web process says Redis is down while it is
            assert await health(http, stage.web) == (503, {"database": "ok", "redis": "down"})
        # When the payment in flight goes on with Redis still down: SQL alone settles it
        await wait_until(lambda: shop.all_confirmed([third.booking_id]), within=BOOKED_WITHIN, what="third")
        private_redis.start()

        # ... and once Redis is back, the bookings after it complete too
        await pay_and_settle(shop, stage.web, fourth)
        await pay_and_settle(shop, stage.web, await shop.open_booking(users[4].id, pairs[4], show.show_id))
        await tickets_delivered(users[:5])

        # When Redis comes back empty, as a replaced server would
        private_redis.stop()
        private_redis.wipe()
        private_redis.start()
        # Then the sold seats are still sold: the cache is rebuilt from SQL
        refused = await shop.core.holds.hold(show.show_id, users[5].id, pairs[0])
        assert isinstance(refused, HoldRefused) and refused.reason == HoldRefusalReason.SEAT_SOLD
        seat_map = await shop.core.holds.seat_map(show.show_id, users[5].id)
        sold = sorted(seat for seat, state in seat_map.states.items() if state == SeatState.SOLD)
        assert sold == sorted(seat for pair in pairs[:5] for seat in pair)
        # ... and the last free seats can still be booked and paid for
        await pay_and_settle(shop, stage.web, await shop.open_booking(users[5].id, pairs[5], show.show_id))
        await tickets_delivered(users)

        # And every seat is sold once, each customer has one booking, one ticket, one Telegram ticket
        await each_seat_sold_once(shop, show, users)
    # And both processes rode it out (healthy, alive) and stop cleanly: checked leaving the stage
