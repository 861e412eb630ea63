"""A `web` and a `worker` process on a Redis Cluster, with RabbitMQ as their broker.

Both roles are given the cluster's URL (`redis+cluster://…`) as REDIS_URL and a RabbitMQ vhost as
BROKER_URL, as the README prescribes for a clustered deployment: bookings are held, paid on the
sandbox checkout page, confirmed by the worker and their tickets delivered, every seat sold once.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from tests.ops.deployment import Sandbox, Services
from tests.ops.redis_stage import each_seat_sold_once, pay_and_settle, tickets_delivered, web_and_worker
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
    # Given a 4-seat show and two customers wanting two seats each
    async with web_and_worker(tmp_path, services, sandbox, http, FIRST_USER, USERS) as stage:
        shop, show, users = stage.shop, stage.show, stage.users
        # When each holds, pays on the checkout page the web role serves from the cluster
        for user, pair in zip(users, stage.pairs, strict=True):
            await pay_and_settle(shop, stage.web, await shop.open_booking(user.id, pair, show.show_id))
        # Then the worker confirms both and delivers their tickets; every seat is sold once
        await tickets_delivered(users)
        await each_seat_sold_once(shop, show, users)
    # (and leaving the stage, both processes are healthy and alive, and stop cleanly)
