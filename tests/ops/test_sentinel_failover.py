"""Redis behind Sentinel fails over under a `web` and a `worker` process that use it for holds and the broker.

Both roles are given only the Sentinel's address (`redis+sentinel://…/marquee`) as REDIS_URL and
BROKER_URL. The master crashes; the Sentinel promotes its replica; a payment made across the failover
and bookings made after it complete through the new master, without restarting either process.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from redis.exceptions import RedisError

from tests.flows.harness import wait_until
from tests.ops.deployment import Sandbox, Services
from tests.ops.redis_stage import (
    BOOKED_WITHIN,
    each_seat_sold_once,
    pay_and_settle,
    tickets_delivered,
    web_and_worker,
)
from tests.ops.shop import PAID
from tests.redis_topologies import SentinelGroup

pytestmark = pytest.mark.timeout(90)

FIRST_USER = 860_001
USERS = 4


async def test_web_and_worker_follow_the_new_master_after_a_failover(
    sandbox: Sandbox,
    http: aiohttp.ClientSession,
    ops_database: str,
    sentinel_group: SentinelGroup,
    tmp_path: Path,
) -> None:
    services = Services(ops_database, sentinel_group.url, broker_url=sentinel_group.url)
    # Given an 8-seat show, four customers wanting two seats each, one of whom has paid already
    async with web_and_worker(tmp_path, services, sandbox, http, FIRST_USER, USERS) as stage:
        shop, show, pairs, users = stage.shop, stage.show, stage.pairs, stage.users
        await pay_and_settle(shop, stage.web, await shop.open_booking(users[0].id, pairs[0], show.show_id))
        # (its ticket delivered: a delivery job in flight at the crash may wait for the outbox lease)
        await tickets_delivered(users[:1])
        # ... and a second holding seats, about to pay
        second = await shop.open_booking(users[1].id, pairs[1], show.show_id)
        sentinel_group.wait_replica_in_sync()

        # When the master crashes and the Sentinel promotes the replica, and the second pays as soon as
        # the Sentinels name the new master (the Stripe stand-in needs no Redis: paid in the gap, the
        # stored event would wait for the workers' requeue pass, REQUEUE_AFTER_SECONDS later)
        sentinel_group.fail_over()

        async def master_promoted() -> bool:
            try:
                return bool(await shop.core.redis.ping())
            except RedisError:
                return False

        await wait_until(master_promoted, within=BOOKED_WITHIN, what="the promoted master")
        status, page = await shop.pay(second.checkout_id)
        assert status == 200 and PAID in page, page

        # Then that payment completes, and so do bookings made after the failover
        await wait_until(lambda: shop.all_confirmed([second.booking_id]), within=BOOKED_WITHIN, what="second")
        for user, pair in list(zip(users, pairs, strict=True))[2:]:
            await pay_and_settle(shop, stage.web, await shop.open_booking(user.id, pair, show.show_id))
        await tickets_delivered(users)
        # And every seat is sold once, each customer has one booking and one Telegram ticket
        await each_seat_sold_once(shop, show, users)
        # And the holds and the broker's queues now live on the promoted replica
        assert sentinel_group.replica.client().dbsize() > 0
    # And both processes rode it out (healthy, alive) and stop cleanly: checked leaving the stage
