"""A `web` and a `worker` process on a Redis Cluster, with RabbitMQ as their broker.

Both roles are given the cluster's URL (`redis+cluster://…`) as REDIS_URL and a RabbitMQ vhost as
BROKER_URL, as the README prescribes for a clustered deployment: bookings are held, paid on the
sandbox checkout page, confirmed by the worker and their tickets delivered, every seat sold once.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from tests.ops.deployment import Sandbox, Services, deployed
from tests.ops.shop import open_shop
from tests.ops.test_redis_restart import (
    each_seat_sold_once,
    health,
    pairs_for_new_users,
    pay_and_settle,
    tickets_delivered,
)
from tests.redis_topologies import RedisClusterServers

pytestmark = pytest.mark.timeout(90)

FIRST_USER = 850_001
USERS = 2


async def test_web_and_worker_sell_through_a_redis_cluster(
    sandbox: Sandbox,
    http: aiohttp.ClientSession,
    ops_database: str,
    redis_cluster: RedisClusterServers,
    rabbitmq: str,
    tmp_path: Path,
) -> None:
    redis_cluster.empty()  # show ids start again at 1 in this test's database
    services = Services(ops_database, redis_cluster.url, broker_url=rabbitmq)
    async with deployed(tmp_path, services, sandbox, http) as deployment:
        web = deployment.start_web("web")
        worker = deployment.start_worker("worker")
        async with open_shop(ops_database, redis_cluster.url, web.url, sandbox) as shop:
            # Given a 4-seat show and two customers wanting two seats each
            show, pairs, users = await pairs_for_new_users(shop, http, sandbox, FIRST_USER, USERS)
            await deployment.ready()
            # When each holds, pays on the checkout page the web role serves from the cluster
            for user, pair in zip(users, pairs, strict=True):
                await pay_and_settle(shop, web, await shop.open_booking(user.id, pair, show.show_id))
            # Then the worker confirms both and delivers their tickets; every seat is sold once
            await tickets_delivered(users)
            await each_seat_sold_once(shop, show, users)
            assert await health(http, web) == (200, {"database": "ok", "redis": "ok"})
        assert web.process.alive() and worker.alive()
        await deployment.shutdown()
